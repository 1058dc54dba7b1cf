// History: the prediction log with filters and pages, and the filtered rows exported as CSV or JSON.
"use strict";

const form = document.getElementById("filters");
const limit = document.getElementById("limit");
let offset = 0;

// The form's filters as query parameters: empty fields left out, local times sent with their offset.
function filters() {
  const query = new URLSearchParams();
  for (const [name, value] of new FormData(form)) {
    if (value === "") continue;
    query.set(name, form.elements[name].type === "datetime-local" ? new Date(value).toISOString() : value);
  }
  return query;
}

async function load() {
  const query = filters();
  for (const format of ["csv", "json"]) {
    const exported = new URLSearchParams(query);
    exported.set("format", format);
    document.getElementById(`export-${format}`).href = `/predictions/export?${exported}`;
  }
  query.set("limit", limit.value);
  query.set("offset", offset);
  const page = await api(`/predictions?${query}`);
  const shown = page.predictions.length;
  setText("count", page.total ? `rows ${offset + 1} to ${offset + shown} of ${page.total}` : "no logged predictions match");
  document.getElementById("previous").disabled = offset === 0;
  document.getElementById("next").disabled = offset + shown >= page.total;
  fillTable(document.getElementById("rows"), page.predictions.map((p) => [
    localTime(p.created_at), p.request_id, p.row, p.model_version, badge(p.role), p.inputs.ocean_proximity,
    p.inputs.median_income, `${p.inputs.longitude}, ${p.inputs.latitude}`, dollars.format(p.prediction),
    Number(p.latency_ms.toFixed(1)),
  ]));
}

function reload(newOffset) {
  offset = Math.max(0, newOffset);
  refreshing(load, 0);
}

form.addEventListener("submit", (event) => { event.preventDefault(); reload(0); });
form.addEventListener("reset", () => setTimeout(() => reload(0)));
limit.addEventListener("change", () => reload(0));
document.getElementById("previous").addEventListener("click", () => reload(offset - Number(limit.value)));
document.getElementById("next").addEventListener("click", () => reload(offset + Number(limit.value)));
reload(0);
