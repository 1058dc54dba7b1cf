// History: the prediction log with filters and pages, and the filtered rows exported as CSV or JSON.
// The page's address holds the view (the API's own query: filters, limit, offset), so a view can be
// bookmarked and shared, opening such an address shows it, and back and forward step through views.
"use strict";

const form = document.getElementById("filters");
const limit = document.getElementById("limit");
const rows = document.getElementById("rows");
const noRows = document.getElementById("no-rows");
const FILTERS = [...form.elements].filter((field) => field.name).map((field) => field.name);
const EXPORTS = { csv: document.getElementById("export-csv"), json: document.getElementById("export-json") };
const DEFAULT_LIMIT = 50;

// The filter inputs are labelled UTC: a datetime-local value is read as UTC, and shown back so.
const utcIso = (value) => `${value.length === 16 ? `${value}:00` : value}Z`;
function inputTime(iso) {
  const time = new Date(iso);
  return Number.isNaN(time.getTime()) ? "" : time.toISOString().slice(0, 19);
}

const viewQuery = () => new URLSearchParams(location.search);
const hasFilters = (query) => FILTERS.some((name) => query.has(name));

// The form's filters and page size as the API's query: empty fields left out.
function formQuery() {
  const query = new URLSearchParams();
  for (const [name, value] of new FormData(form)) {
    if (value === "") continue;
    query.set(name, form.elements[name].type === "datetime-local" ? utcIso(value) : value);
  }
  query.set("limit", limit.value);
  return query;
}

// Show the address's view in the form.
function showInForm(query) {
  for (const name of FILTERS) {
    const field = form.elements[name];
    const value = query.get(name) ?? "";
    field.value = field.type === "datetime-local" && value ? inputTime(value) : value;
  }
  limit.value = query.get("limit") || String(DEFAULT_LIMIT);
}

// Mark the fields a refusal names (and only those), for the eye and for screen readers.
function markInvalid(details) {
  const named = new Set(details.map((detail) => detail.field));
  for (const field of [...FILTERS.map((name) => form.elements[name]), limit]) {
    const bad = named.has(field.name || field.id);
    field.classList.toggle("invalid", bad);
    if (bad) {
      field.setAttribute("aria-invalid", "true");
      field.setAttribute("aria-describedby", "problem");
    } else {
      field.removeAttribute("aria-invalid");
      field.removeAttribute("aria-describedby");
    }
  }
}

// Point the export links at the view's rows, or disable them (null) while the view is refused.
function linkExports(query) {
  for (const [format, link] of Object.entries(EXPORTS)) {
    if (!query) {
      link.removeAttribute("href");
      link.setAttribute("aria-disabled", "true");
      continue;
    }
    const exported = new URLSearchParams(query);
    exported.delete("limit");
    exported.delete("offset");
    exported.set("format", format);
    link.href = `/predictions/export?${exported}`;
    link.removeAttribute("aria-disabled");
  }
}

// A refused view shows no rows at all: what was on screen belonged to another view.
function showRefused(details) {
  fillTable(rows, []);
  setText("count", "no rows: a filter is not valid (marked)");
  noRows.hidden = true;
  markInvalid(details);
  linkExports(null);
  document.getElementById("previous").disabled = true;
  document.getElementById("next").disabled = true;
}

function explainNoRows(query) {
  noRows.textContent = hasFilters(query)
    ? "No logged predictions match these filters: widen them, or Clear to see every row."
    : "No predictions are logged yet: every answer of POST /predict is logged here (the form at / makes one).";
}

async function load() {
  const query = viewQuery();
  const offset = Number(query.get("offset") || 0);
  const pageSize = Number(query.get("limit") || DEFAULT_LIMIT);
  let page;
  try {
    page = await api(`/predictions?${query}`);
  } catch (error) {
    if (error.status === 422) showRefused(error.details);
    else rows.classList.add("stale");
    throw error;
  }
  rows.classList.remove("stale");
  markInvalid([]);
  linkExports(query);
  const shown = page.predictions.length;
  setText("count", page.total ? `rows ${offset + 1} to ${offset + shown} of ${page.total}` : "no logged predictions match");
  noRows.hidden = page.total > 0;
  if (!page.total) {
    explainNoRows(query);
    if (!hasFilters(query)) await checkModel();
  }
  document.getElementById("previous").disabled = offset === 0;
  document.getElementById("next").disabled = offset + pageSize >= page.total;
  fillTable(rows, page.predictions.map((p) => [
    localTime(p.created_at), p.request_id, p.row, p.model_version, badge(p.role), p.inputs.ocean_proximity,
    p.inputs.median_income, `${p.inputs.longitude}, ${p.inputs.latitude}`, dollars.format(p.prediction),
    Number(p.latency_ms.toFixed(1)),
  ]));
}

// Show another view: into the address (a new history entry), then load it.
function go(query) {
  const address = `?${query}`;
  if (address === location.search) history.replaceState(null, "", address);
  else history.pushState(null, "", address);
  refreshing(load, 0);
}

function turnPage(step) {
  const query = viewQuery();
  const pageSize = Number(query.get("limit") || DEFAULT_LIMIT);
  query.set("offset", Math.max(0, Number(query.get("offset") || 0) + step * pageSize));
  go(query);
}

form.addEventListener("submit", (event) => { event.preventDefault(); go(formQuery()); });
form.addEventListener("reset", () => setTimeout(() => go(formQuery())));
limit.addEventListener("change", () => go(formQuery()));
document.getElementById("previous").addEventListener("click", () => turnPage(-1));
document.getElementById("next").addEventListener("click", () => turnPage(1));
window.addEventListener("popstate", () => { showInForm(viewQuery()); refreshing(load, 0); });
showInForm(viewQuery());
refreshing(load, 0);
