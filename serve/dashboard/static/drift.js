// Drift: served-traffic drift per feature against the champion's own training profile.
"use strict";

const PSI_TITLE = "Population stability index per feature (red: drifted)";
const number = (value) => (value === null ? "–" : Number(decimal.format(value)));

// Nothing to compare yet (no model, or no served rows): say which and what fills the page.
function showNothingToCompare(report) {
  const why = report.model
    ? "No served predictions are logged yet: drift compares the latest inputs POST /predict answered"
      + " with the champion's training data, so it fills once the model has answered some."
    : `No model is loaded, so there is no training data to compare with (see above for what to run). The server says: ${report.problem}.`;
  emptyChart("psi", PSI_TITLE, why);
  fillTable(document.getElementById("features"), []);
  const noFeatures = document.getElementById("no-features");
  noFeatures.textContent = why;
  noFeatures.hidden = false;
}

async function load() {
  const report = await api("/drift");
  document.getElementById("no-model").hidden = Boolean(report.model);
  setText("drift-model", report.model ? `v${report.model.version} ${report.model.alias}` : "none loaded");
  setText("drift-rows", report.rows);
  setText("drift-count", report.problem ? "–" : report.drifted.length);
  if (report.problem) {
    showNothingToCompare(report);
    return;
  }
  document.getElementById("no-features").hidden = true;
  const names = Object.keys(report.features);
  const features = names.map((name) => report.features[name]);
  const worst = names[features.reduce((top, f, i) => (f.psi > features[top].psi ? i : top), 0)];
  const drifted = report.drifted.length ? `drifted: ${report.drifted.join(", ")}` : "none drifted";
  chart("psi", [{ type: "bar", x: names, y: features.map((f) => f.psi),
    marker: { color: features.map((f) => (f.drifted ? "#b00020" : "#1f6fb2")) } }],
    { title: { text: PSI_TITLE }, yaxis: { rangemode: "tozero", title: { text: "PSI" } } },
    `${names.length} features over ${report.rows} served rows, ${drifted}; the highest PSI is ${worst}'s, ${number(report.features[worst].psi)}.`);
  fillTable(document.getElementById("features"), names.map((name, i) => {
    const f = features[i];
    const verdict = document.createElement("span");
    verdict.textContent = f.drifted ? "drifted" : "no";
    if (f.drifted) verdict.className = "drifted";
    return [name, f.test, f.rows, number(f.psi), number(f.effect), number(f.p_value), verdict];
  }));
}

refreshing(load, 30);
