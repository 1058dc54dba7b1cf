// What every dashboard page shares: reading the API, formatting, tables and chart defaults.
"use strict";

const dollars = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD", maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat("en-US", { maximumFractionDigits: 4 });

// GET (or send) JSON from the app; an error answer becomes an Error carrying the API's own message.
async function api(path, options = {}) {
  const response = await fetch(path, options);
  const body = await response.json();
  if (!response.ok) {
    const details = (body.details || []).map((d) => `${d.field}: ${d.message}`).join("; ");
    throw new Error(`${body.error || response.status}${details ? ` (${details})` : ""}`);
  }
  return body;
}

function showProblem(message) {
  const problem = document.getElementById("problem");
  problem.textContent = message || "";
  problem.hidden = !message;
}

// Run `load` now and every `seconds` while the page is visible; show what goes wrong instead of failing silently.
function refreshing(load, seconds) {
  const run = () => load().then(() => showProblem(""), (error) => showProblem(error.message));
  run();
  if (seconds) {
    setInterval(() => { if (!document.hidden) run(); }, seconds * 1000);
  }
}

// Replace a table body's rows: one array of cells per row (numbers right-aligned, text escaped).
function fillTable(tbody, rows) {
  tbody.replaceChildren(...rows.map((cells) => {
    const tr = document.createElement("tr");
    for (const cell of cells) {
      const td = document.createElement("td");
      if (cell instanceof Node) td.append(cell); else td.textContent = cell ?? "";
      if (typeof cell === "number") td.className = "number";
      tr.append(td);
    }
    return tr;
  }));
}

function badge(text) {
  const span = document.createElement("span");
  span.className = `badge ${text}`;
  span.textContent = text;
  return span;
}

function setText(id, text) {
  document.getElementById(id).textContent = text;
}

function localTime(iso) {
  return new Date(iso).toLocaleString();
}

const chartLayout = (extra) => ({ margin: { t: 40, r: 20, b: 50, l: 60 }, font: { size: 12 }, ...extra });
const chartConfig = { displaylogo: false, responsive: true };

function chart(id, traces, layout) {
  return Plotly.react(id, traces, chartLayout(layout), chartConfig);
}
