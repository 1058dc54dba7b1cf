// System: whether the API answers and since when it last did; requests/s by status class, the 4xx and
// 5xx counts and latency percentiles over a chosen window; which alert rules would fire; the recent
// error answers; and the host (workers, memory, GPUs).
//
// A figure is only shown as current while the API answers: when a request gets no answer, every
// figure is greyed (.stale), health and ready say "unreachable" (never "ok" from an old answer), and
// the page counts the seconds since its last good answer until the API is back.
"use strict";

const REFRESH_SECONDS = 5;
const CLASS_COLOURS = { "2xx": "#1b7a2f", "3xx": "#1f6fb2", "4xx": "#d08000", "5xx": "#b00020" };
const PERCENTILES = { p50_ms: "#1f6fb2", p95_ms: "#d08000", p99_ms: "#b00020" };
const FIGURES = "main .card .value, main tbody, main .chart-frame, main .figure";

const windowSelect = document.getElementById("window");
let lastReached = null;
let lastAlerts = null;
let reachable = true;

const ref = (model) => (model ? `v${model.version}` : "none");
const milliseconds = (value) => (value === null ? "–" : `${value.toFixed(value < 10 ? 2 : 0)} ms`);
const secondsSince = (moment) => Math.max(0, Math.round((Date.now() - moment) / 1000));

// "last good answer N s ago", ticking each second.
function showLastGood() {
  setText("last-good", lastReached ? `last good answer ${secondsSince(lastReached)} s ago` : "no answer since this page opened");
}
setInterval(showLastGood, 1000);

function setReachable(answered) {
  reachable = answered;
  if (answered) lastReached = Date.now();
  const state = document.getElementById("reachability");
  state.textContent = answered ? "reachable" : "unreachable";
  state.className = `value ${answered ? "ok" : "bad"}`;
  for (const element of document.querySelectorAll(FIGURES)) {
    if (element !== state) element.classList.toggle("stale", !answered);
  }
  if (!answered) {
    for (const id of ["health", "ready"]) {
      setText(id, "unreachable");
      document.getElementById(id).className = "value bad";
    }
    if (lastAlerts) showAlerts(lastAlerts);
  }
  showLastGood();
}

// An error with no HTTP status is a request that got no answer at all (common.js's api()).
async function reaching(path) {
  try {
    return await api(path);
  } catch (error) {
    if (error.status === undefined) setReachable(false);
    throw error;
  }
}

function showHost(status) {
  for (const id of ["health", "ready"]) document.getElementById(id).className = "value";
  setText("health", status.health);
  setText("ready", status.ready ? "yes" : "no");
  setText("champion", ref(status.model));
  setText("challenger", ref(status.challenger));
  setText("uptime", `${Math.round(status.uptime_s)} s`);
  setText("load", status.load_average.map((value) => value.toFixed(2)).join(", "));
  setText("memory", `${(status.memory_available_mb / 1024).toFixed(1)} of ${(status.memory_total_mb / 1024).toFixed(1)} GB`);
  setText("versions", Object.entries(status.versions).map(([name, v]) => `${name} ${v}`).join(" · "));
  setText("gpu-problem", status.gpu_problem || "");
  fillTable(document.getElementById("workers"), status.workers.map((w) => [
    w.pid, Number(w.rss_mb.toFixed(1)), Number(w.cpu_percent.toFixed(1)), w.this_worker ? "this request" : "",
  ]));
  fillTable(document.getElementById("gpus"), status.gpus.map((g) => [
    `${g.index}: ${g.name}`, `${g.memory_used_mb.toFixed(0)} / ${g.memory_total_mb.toFixed(0)}`, g.utilization_percent,
    g.temperature_c, g.power_w === null ? "–" : Number(g.power_w.toFixed(1)),
  ]));
  const total = status.workers.reduce((sum, w) => sum + w.rss_mb, 0);
  chart("worker-memory", [{ type: "bar", x: status.workers.map((w) => String(w.pid)), y: status.workers.map((w) => w.rss_mb),
    marker: { color: "#1f6fb2" } }], { title: { text: "Resident memory per worker (MB)" }, xaxis: { type: "category", title: { text: "pid" } } },
  `${status.workers.length} workers hold ${total.toFixed(0)} MB of resident memory together.`);
}

// Say what the figures cover: the whole window, or the part of it this worker has observed.
function coverage(figures) {
  const whole = figures.minutes * 60;
  const part = figures.covered_s >= whole - 2 * REFRESH_SECONDS
    ? `Over the last ${figures.minutes} min`
    : `Over the ${Math.round(figures.covered_s)} s of the ${figures.minutes} min window the answering worker has observed (it started recently)`;
  return `${part}: ${figures.scope}. Percentiles are estimates, interpolated inside the latency histogram's buckets.`;
}

function showRequests(figures) {
  const perSecond = Object.values(figures.per_second).reduce((sum, value) => sum + value, 0);
  setText("coverage", coverage(figures));
  setText("rate", perSecond.toFixed(2));
  setText("count-4xx", String(figures.counts["4xx"]));
  setText("count-5xx", String(figures.counts["5xx"]));
  setText("p50", milliseconds(figures.latency.p50_ms));
  setText("p95", milliseconds(figures.latency.p95_ms));
  setText("p99", milliseconds(figures.latency.p99_ms));
  document.getElementById("no-requests").hidden = figures.requests > 0;
  const ratesTitle = "Requests per second by status class";
  const latencyTitle = "Latency percentiles (ms, estimated from buckets)";
  if (figures.requests === 0 || figures.series.length === 0) {
    emptyChart("rates-chart", ratesTitle, "no requests in this window yet");
    emptyChart("latency-chart", latencyTitle, "no requests in this window yet");
    return;
  }
  const times = figures.series.map((point) => point.at);
  chart("rates-chart", Object.entries(CLASS_COLOURS).map(([name, colour]) => ({
    type: "scatter", mode: "lines+markers", stackgroup: "classes", name, x: times,
    y: figures.series.map((point) => point.per_second[name]), line: { color: colour },
  })), { title: { text: ratesTitle }, xaxis: timeAxis("rates-chart"), yaxis: { title: { text: "requests/s" }, rangemode: "tozero" } },
  `${figures.requests} requests in the window (${perSecond.toFixed(2)}/s): ` +
    Object.entries(figures.counts).map(([name, count]) => `${count} ${name}`).join(", ") + ".");
  chart("latency-chart", Object.entries(PERCENTILES).map(([key, colour]) => ({
    type: "scatter", mode: "lines+markers", name: key.replace("_ms", ""), x: times,
    y: figures.series.map((point) => point.latency[key]), line: { color: colour },
  })), { title: { text: latencyTitle }, xaxis: timeAxis("latency-chart"), yaxis: { title: { text: "ms" }, rangemode: "tozero" } },
  `Over the window: p50 ${milliseconds(figures.latency.p50_ms)}, p95 ${milliseconds(figures.latency.p95_ms)}, ` +
    `p99 ${milliseconds(figures.latency.p99_ms)} (estimates bounded by the histogram's buckets).`);
}

function state(text, className) {
  const span = document.createElement("span");
  span.className = className;
  span.textContent = text;
  return span;
}

// The rules as the server evaluated them; while the API does not answer, HousingApiDown is this page's
// own verdict (the server cannot report itself down) and the only row that is current.
function showAlerts(answer) {
  lastAlerts = answer;
  const rows = answer.alerts.map((rule) => {
    const down = rule.name === "HousingApiDown" && !reachable;
    const firing = rule.firing || down;
    const why = down ? `this page has had no answer for ${secondsSince(lastReached || Date.now())} s` : rule.why;
    const verdict = !firing ? state("not firing", "ok")
      : state(rule.lasts ? `holds now: would fire if it lasts ${rule.lasts}` : "firing", "bad");
    return [rule.name, rule.severity, verdict, why];
  });
  const tbody = document.getElementById("alerts");
  fillTable(tbody, rows);
  if (!reachable) {
    const index = answer.alerts.findIndex((rule) => rule.name === "HousingApiDown");
    tbody.classList.remove("stale");
    [...tbody.rows].forEach((row, i) => row.classList.toggle("stale", i !== index));
  }
}

function showErrors(answer) {
  setText("errors-kept", `The newest of the ${answer.kept} error answers the prediction log keeps, from every worker.`);
  document.getElementById("no-errors").hidden = answer.errors.length > 0;
  fillTable(document.getElementById("errors"), answer.errors.map((e) => {
    const id = document.createElement("code");
    id.textContent = e.request_id;
    return [localTime(e.created_at), e.status, e.method, e.path, id, e.details ? `${e.error}: ${e.details}` : e.error];
  }));
}

async function load() {
  const status = await reaching("/system");
  const [requests, alerts, errors] = await Promise.all([
    reaching(`/system/requests?minutes=${windowSelect.value}`), reaching("/system/alerts"), reaching("/system/errors?limit=50"),
  ]);
  setReachable(true);
  showHost(status);
  showRequests(requests);
  showAlerts(alerts);
  showErrors(errors);
  document.getElementById("no-model").hidden = status.ready;
  if (!status.ready) throw new Error(`no model loaded: ${status.problem}`);
}

windowSelect.addEventListener("change", () => load().catch((error) => showProblem(error.message)));
refreshing(load, REFRESH_SECONDS);
