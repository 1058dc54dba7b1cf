// Models: the registry's versions and their recorded scores, the latest pipeline run's candidates side by
// side, and live RMSE over time from feedback.
"use strict";

const bucket = document.getElementById("bucket");
const score = (value) => (value === undefined || value === null ? "–" : Number(decimal.format(value)));
// A difference as `make repro` prints it: signed, four decimals.
const signed = (value) => `${value >= 0 ? "+" : ""}${value.toFixed(4)}`;
const STATUS_CLASS = { FINISHED: "ok", RUNNING: "warn", SCHEDULED: "warn", FAILED: "bad", KILLED: "bad" };
const TELEMETRY = {
  gpu_utilisation_mean_pct: (v) => `GPU ${v}% mean`,
  gpu_memory_peak_mb: (v) => `GPU ${v} MB peak`,
  gpu_power_mean_w: (v) => `${v} W mean`,
  gpu_temperature_max_c: (v) => `${v} °C max`,
  torch_peak_memory_mb: (v) => `torch ${v} MB peak`,
  process_peak_rss_mb: (v) => `RSS ${v} MB peak`,
};

async function loadVersions() {
  const registry = await api("/models");
  setText("model-name", registry.name);
  if (registry.problem) throw new Error(`registry: ${registry.problem}`);
  const none = registry.versions.length === 0;
  document.getElementById("versions-empty").hidden = !none;
  document.getElementById("versions-table").hidden = none;
  fillTable(document.getElementById("versions"), registry.versions.map((v) => {
    const aliases = document.createElement("span");
    aliases.append(...v.aliases.map(badge));
    return [v.version, aliases, v.model_family, localTime(v.created_at), score(v.metrics.val_rmse),
      score(v.metrics.test_rmse), score(v.metrics.test_mae), score(v.metrics.test_r2), (v.run_id || "").slice(0, 8),
      v.tags["gate.summary"] || "–"];
  }));
  const scored = registry.versions.filter((v) => v.metrics.test_rmse !== undefined).reverse();
  if (!scored.length) {
    emptyChart("scores", "Test RMSE at registration ($100,000)",
      "No registered version with a test RMSE yet: make repro registers one with its scores.");
    return;
  }
  const labels = scored.map((v) => `v${v.version} ${v.aliases.join(" ")}`.trim());
  chart("scores", [{ type: "bar", x: labels, y: scored.map((v) => v.metrics.test_rmse), marker: { color: "#6c757d" } }],
    { title: { text: "Test RMSE at registration ($100,000)" }, xaxis: { type: "category" } },
    `Test RMSE at registration: ${scored.map((v, i) => `${labels[i]} ${decimal.format(v.metrics.test_rmse)}`).join(", ")}.`);
}

// "+0.0123 [+0.0011, +0.0036]", and "noise" when the interval covers 0; the chosen one is the reference.
function intervalCell(candidate) {
  if (candidate.selected) return "reference";
  if (!candidate.interval) return "–";
  const { difference, low, high, noise } = candidate.interval;
  const cell = document.createElement("span");
  cell.append(`${signed(difference)} [${signed(low)}, ${signed(high)}]`);
  if (noise) cell.append(" ", badge("noise"));
  return cell;
}

function candidateCell(candidate) {
  const cell = document.createElement("span");
  cell.append(candidate.candidate);
  if (candidate.selected) cell.append(" ", badge("chosen"));
  return cell;
}

function statusCell(status) {
  const cell = document.createElement("span");
  cell.className = STATUS_CLASS[status] || "";
  cell.textContent = status;
  return cell;
}

function deviceText(candidate) {
  if (!candidate.device) return "–";
  return candidate.device_name ? `${candidate.device} (${candidate.device_name})` : candidate.device;
}

function telemetryText(telemetry) {
  const known = Object.entries(telemetry).map(([name, value]) => (TELEMETRY[name] || ((v) => `${name} ${v}`))(value));
  return known.join(", ") || "–";
}

function runLink(candidate) {
  const link = document.createElement("a");
  link.href = candidate.link;
  link.target = "_blank";
  link.rel = "noopener";
  link.textContent = `run ${candidate.run_id.slice(0, 8)}`;
  return link;
}

// How a candidate's test RMSE compares with the chosen one's, in words, for the chart's summary.
function verdict(candidate) {
  if (candidate.selected) return "chosen";
  if (!candidate.interval) return "no interval";
  if (candidate.interval.noise) return "noise against the chosen";
  return candidate.interval.low > 0 ? "worse than the chosen" : "better than the chosen";
}

// Test RMSE per candidate, with the 95% interval of its difference from the chosen one drawn around
// it: an error bar that reaches the chosen one's dashed line is noise.
function drawCandidates(candidates) {
  const title = "Test RMSE per candidate ($100,000), with the 95% interval against the chosen one";
  const scored = candidates.filter((c) => c.test_rmse !== null);
  if (!scored.length) {
    emptyChart("candidates", title, "No evaluated candidate in the tracking store yet: run make repro.");
    return;
  }
  const chosen = scored.find((c) => c.selected);
  const around = (c, end) => (c.interval ? Math.abs(c.interval[end] - c.interval.difference) : 0);
  const trace = {
    type: "scatter", mode: "markers", x: scored.map((c) => c.candidate), y: scored.map((c) => c.test_rmse),
    marker: { size: 11, color: scored.map((c) => (c.selected ? "#1b7a2f" : "#1f3b57")) },
    error_y: { type: "data", symmetric: false, array: scored.map((c) => around(c, "high")),
      arrayminus: scored.map((c) => around(c, "low")) },
  };
  const line = chosen ? [{ type: "line", xref: "paper", x0: 0, x1: 1, y0: chosen.test_rmse, y1: chosen.test_rmse,
    line: { dash: "dash", color: "#1b7a2f", width: 1 } }] : [];
  const summary = `Test RMSE per candidate, in $100,000: ${scored.map((c) =>
    `${c.candidate} ${decimal.format(c.test_rmse)} (${verdict(c)})`).join(", ")}.`;
  chart("candidates", [trace], { title: { text: title }, xaxis: { type: "category" }, shapes: line, showlegend: false },
    summary);
}

async function loadRuns() {
  const run = await api("/training/runs");
  const empty = document.getElementById("runs-empty");
  empty.textContent = run.problem ? `Latest pipeline run: ${run.problem}.` : "";
  empty.hidden = !run.problem;
  document.getElementById("runs-table").hidden = Boolean(run.problem);
  setText("evaluated-at", localTime(run.evaluated_at));
  const missing = document.getElementById("runs-missing");
  missing.textContent = run.missing.length ? `Not in this tracking store: the training runs of ${run.missing.join(", ")}`
    + " (DVC restored them from its run cache, or the models were pulled); their figures are in metrics/ only." : "";
  missing.hidden = !run.missing.length;
  fillTable(document.getElementById("runs"), run.candidates.map((c) => [candidateCell(c), statusCell(c.status),
    localTime(c.started_at), score(c.val_rmse), score(c.val_mae), score(c.val_r2), score(c.test_rmse),
    score(c.test_mae), score(c.test_r2), intervalCell(c), score(c.fit_seconds), deviceText(c),
    telemetryText(c.telemetry), Object.entries(c.params).map(([name, value]) => `${name}=${value}`).join(", ") || "–",
    runLink(c)]));
  drawCandidates(run.candidates);
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
  const title = "Live RMSE (dollars, UTC)";
  if (!series.size) {
    emptyChart("accuracy", title, "No feedback yet: live RMSE needs actual prices, sent to POST /feedback with the"
      + " request id and row of each prediction.");
    return;
  }
  const traces = [...series].map(([name, line]) => ({ type: "scatter", mode: "lines+markers", name, ...line }));
  const latest = traces.map((t) => `${t.name} ${dollars.format(t.y[t.y.length - 1])}`).join(", ");
  chart("accuracy", traces, { xaxis: timeAxis("accuracy", { range: paddedRange(traces.flatMap((t) => t.x)) }),
    title: { text: title }, yaxis: { tickprefix: "$", tickformat: "~s", rangemode: "tozero" } },
    `Live RMSE per ${bucket.value}, latest: ${latest}.`);
}

bucket.addEventListener("change", () => refreshing(loadAccuracy, 0));
refreshing(() => Promise.all([loadVersions(), loadRuns(), loadAccuracy(), checkModel()]), 30);
