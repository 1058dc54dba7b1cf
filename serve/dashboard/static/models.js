// Models: the registry's versions, their recorded scores, and live RMSE over time from feedback.
"use strict";

const bucket = document.getElementById("bucket");
const score = (value) => (value === undefined ? "–" : Number(decimal.format(value)));

async function loadVersions() {
  const registry = await api("/models");
  setText("model-name", registry.name);
  if (registry.problem) throw new Error(`registry: ${registry.problem}`);
  fillTable(document.getElementById("versions"), registry.versions.map((v) => {
    const aliases = document.createElement("span");
    aliases.append(...v.aliases.map(badge));
    return [v.version, aliases, v.model_family, localTime(v.created_at), score(v.metrics.val_rmse),
      score(v.metrics.test_rmse), score(v.metrics.test_mae), score(v.metrics.test_r2), (v.run_id || "").slice(0, 8),
      v.tags["gate.summary"] || "–"];
  }));
  const scored = registry.versions.filter((v) => v.metrics.test_rmse !== undefined).reverse();
  chart("scores", [{ type: "bar", x: scored.map((v) => `v${v.version} ${v.aliases.join(" ")}`),
    y: scored.map((v) => v.metrics.test_rmse), marker: { color: "#6c757d" } }],
    { title: { text: "Test RMSE at registration ($100,000)" }, xaxis: { type: "category" } });
}

// The time axis spans the buckets plus one bucket either side, so a single bucket is not drawn over milliseconds.
function paddedRange(periods) {
  if (!periods.length) return undefined;
  const step = { minute: 60e3, hour: 3600e3, day: 86400e3 }[bucket.value];
  const times = periods.map((p) => Date.parse(`${p.length === 10 ? `${p}T00:00` : p}Z`));
  const iso = (t) => new Date(t).toISOString().slice(0, 16).replace("T", " ");
  return [iso(Math.min(...times) - step), iso(Math.max(...times) + step)];
}

async function loadAccuracy() {
  const accuracy = await api(`/predictions/accuracy?bucket=${bucket.value}&days=30`);
  const series = new Map();
  for (const point of accuracy.points) {
    const key = `v${point.model_version} ${point.role}`;
    if (!series.has(key)) series.set(key, { x: [], y: [], text: [] });
    const line = series.get(key);
    line.x.push(point.period.length === 13 ? `${point.period}:00` : point.period);
    line.y.push(point.rmse);
    line.text.push(`${point.count} with feedback`);
  }
  const traces = [...series].map(([name, line]) => ({ type: "scatter", mode: "lines+markers", name, ...line }));
  chart("accuracy", traces, { title: { text: traces.length ? "Live RMSE (dollars)" : "Live RMSE: no feedback yet" },
    xaxis: { type: "date", title: { text: "UTC" }, range: paddedRange(traces.flatMap((t) => t.x)) },
    yaxis: { tickprefix: "$", tickformat: "~s", rangemode: "tozero" } });
}

bucket.addEventListener("change", () => refreshing(loadAccuracy, 0));
refreshing(() => Promise.all([loadVersions(), loadAccuracy()]), 30);
