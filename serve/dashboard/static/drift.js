// Drift: served-traffic drift per feature against the champion's own training profile.
"use strict";

const number = (value) => (value === null ? "–" : Number(decimal.format(value)));

async function load() {
  const report = await api("/drift");
  setText("drift-model", report.model ? `v${report.model.version} ${report.model.alias}` : "none");
  setText("drift-rows", report.rows);
  setText("drift-count", report.problem ? "–" : report.drifted.length);
  if (report.problem) throw new Error(`nothing to compare yet: ${report.problem}`);
  const names = Object.keys(report.features);
  const features = names.map((name) => report.features[name]);
  chart("psi", [{ type: "bar", x: names, y: features.map((f) => f.psi),
    marker: { color: features.map((f) => (f.drifted ? "#b00020" : "#1f6fb2")) } }],
    { title: { text: "Population stability index per feature (red: drifted)" }, yaxis: { rangemode: "tozero" } });
  fillTable(document.getElementById("features"), names.map((name, i) => {
    const f = features[i];
    const verdict = document.createElement("span");
    verdict.textContent = f.drifted ? "drifted" : "no";
    if (f.drifted) verdict.className = "drifted";
    return [name, f.test, f.rows, number(f.psi), number(f.effect), number(f.p_value), verdict];
  }));
}

refreshing(load, 30);
