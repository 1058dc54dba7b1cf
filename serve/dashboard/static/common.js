// What every dashboard page shares: reading the API, the problem banner, "updated N s ago",
// formatting, tables and charts.
//
// Updates are polled, not pushed. The server runs sync gunicorn workers (serve/gunicorn.conf.py
// says why): a Server-Sent Events stream would hold one of those prediction workers for as long as
// a tab stays open, so a few open dashboards would take the service's capacity. A poll holds a
// worker for the milliseconds of one answer. Polling pauses while the tab is hidden and catches up
// as soon as it is shown again; every page says how old its figures are, ticking each second.
"use strict";

const dollars = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD", maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat("en-US", { maximumFractionDigits: 4 });

let lastGoodAnswer = null;
let lastUpdate = null;

// An error answer's body as JSON, or a stand-in when it is not JSON (a proxy's HTML page, say).
async function answerBody(response) {
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    return { error: `${response.status} ${response.statusText}`.trim() };
  }
}

// fetch, where no answer at all (the server down, the network gone) says the API is unreachable.
async function reach(path, options = {}) {
  try {
    return await fetch(path, options);
  } catch (cause) {
    throw new Error(`the API is unreachable (${cause.message})`);
  }
}

// GET (or send) JSON from the app. An error answer becomes an Error carrying the API's own message,
// its status and its details (the fields a 422 names); no answer at all says the API is unreachable.
async function api(path, options = {}) {
  const response = await reach(path, options);
  const body = await answerBody(response);
  if (!response.ok) {
    const details = body.details || [];
    const named = details.map((d) => `${d.field}: ${d.message}`).join("; ");
    const error = new Error(`${body.error || response.status}${named ? ` (${named})` : ""}`);
    error.status = response.status;
    error.details = details;
    throw error;
  }
  lastGoodAnswer = new Date();
  return body;
}

function showProblem(message) {
  const problem = document.getElementById("problem");
  problem.textContent = message || "";
  problem.hidden = !message;
}

// A failed load's message, with when the API last answered so the figures on screen can be dated.
function problemSince(error) {
  const last = lastGoodAnswer ? `last good answer at ${localTime(lastGoodAnswer)}` : "no good answer since this page opened";
  return `${error.message}; ${last}`;
}

// "updated N s ago" under the page title: how old the figures on screen are, greyed once a load fails.
function showUpdated() {
  const updated = document.getElementById("updated");
  if (!updated || !lastUpdate) return;
  const seconds = Math.max(0, Math.round((Date.now() - lastUpdate) / 1000));
  updated.textContent = `updated ${seconds} s ago`;
}
setInterval(showUpdated, 1000);

function markUpdated(ok) {
  if (ok) lastUpdate = Date.now();
  const updated = document.getElementById("updated");
  if (updated) updated.classList.toggle("stale", !ok);
  showUpdated();
}

// Run `load` now and every `seconds` while the page is visible (0: once); a hidden tab is not
// polled, and catches up the moment it is shown if a refresh fell due meanwhile. What goes wrong is
// shown in the problem banner instead of failing silently.
function refreshing(load, seconds) {
  let lastRun = 0;
  const run = () => {
    lastRun = Date.now();
    return load().then(
      () => { showProblem(""); markUpdated(true); },
      (error) => { showProblem(problemSince(error)); markUpdated(false); },
    );
  };
  run();
  if (!seconds) return;
  setInterval(() => { if (!document.hidden) run(); }, seconds * 1000);
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && Date.now() - lastRun >= seconds * 1000) run();
  });
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

// One time zone everywhere, named: UTC, the zone the server logs in, so a time on a page matches
// the same time in the logs, the API's answers and the exports ("2026-12-05 01:02:03 UTC").
function localTime(iso) {
  if (iso === null || iso === undefined || iso === "") return "–";
  const time = new Date(iso);
  if (Number.isNaN(time.getTime())) return String(iso);
  return `${time.toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

// Plotly's mode bar shows only on hover and holds four buttons; chart titles are drawn above the
// plot in HTML (chartFrame), so neither can cover the other, on a phone either.
const chartConfig = {
  displaylogo: false,
  responsive: true,
  displayModeBar: "hover",
  modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d", "toggleSpikelines",
    "hoverClosestCartesian", "hoverCompareCartesian", "zoomIn2d", "zoomOut2d"],
};
// The axes make room for their tick labels and titles.
const chartLayout = (extra) => ({
  margin: { t: 30, r: 20, b: 50, l: 60 }, font: { size: 12 }, ...extra,
  xaxis: { automargin: true, ...extra.xaxis }, yaxis: { automargin: true, ...extra.yaxis },
});

// A time axis with a label per 120 px of the chart's width at most. Plotly's own choice never goes
// under five labels, which a phone's narrow plot fits only by turning them upright, into the title.
function timeAxis(id, extra = {}) {
  const labels = Math.max(2, Math.floor(chartFrame(id).clientWidth / 120));
  return { type: "date", title: { text: "time (UTC)" }, nticks: labels, ...extra };
}

// The <figure> around a chart's element, made on first use: the title above it, the plot, an
// explanation shown instead when there is nothing to draw, and a one-sentence summary under it
// (the chart's text alternative, for screen readers and for a glance on a phone).
function chartFrame(id) {
  const plot = document.getElementById(id);
  if (plot.parentElement.classList.contains("chart-frame")) return plot.parentElement;
  const figure = document.createElement("figure");
  figure.className = "chart-frame";
  const caption = document.createElement("figcaption");
  const empty = document.createElement("p");
  empty.className = "empty";
  empty.hidden = true;
  const summary = document.createElement("p");
  summary.className = "chart-summary";
  summary.setAttribute("aria-live", "polite");
  plot.replaceWith(figure);
  figure.append(caption, plot, empty, summary);
  summary.id = `${id}-summary`;
  plot.setAttribute("role", "img");
  plot.setAttribute("aria-describedby", summary.id);
  return figure;
}

// Draw (or redraw) a chart. `layout.title.text` becomes the frame's caption; `summary` is one
// sentence computed from the data, shown under the chart.
function chart(id, traces, layout = {}, summary = "") {
  const figure = chartFrame(id);
  const { title, ...rest } = layout;
  const titleText = typeof title === "string" ? title : title?.text;
  if (titleText) {
    figure.querySelector("figcaption").textContent = titleText;
    figure.querySelector(`#${id}`).setAttribute("aria-label", titleText);
  }
  figure.querySelector(".empty").hidden = true;
  figure.querySelector(`#${id}`).hidden = false;
  figure.querySelector(".chart-summary").textContent = summary;
  return Plotly.react(id, traces, chartLayout(rest), chartConfig);
}

// In place of a chart with no data (no fake axes): the title, and a sentence saying why it is empty
// and what would fill it.
function emptyChart(id, title, explanation) {
  const figure = chartFrame(id);
  const plot = figure.querySelector(`#${id}`);
  if (plot.data) Plotly.purge(plot);
  plot.hidden = true;
  figure.querySelector("figcaption").textContent = title;
  const empty = figure.querySelector(".empty");
  empty.textContent = explanation;
  empty.hidden = false;
  figure.querySelector(".chart-summary").textContent = "";
}

// Show or hide the frame's "no model is loaded yet" notice from /system/ready (GET /ready's answer,
// always a 200 and left out of the System page's figures: a page left open counts as no traffic).
async function checkModel() {
  const readiness = await api("/system/ready");
  document.getElementById("no-model").hidden = readiness.ready;
  return readiness.ready;
}
