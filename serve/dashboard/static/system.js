// System: health, readiness, gunicorn's workers, memory, and the GPUs through NVML where there are any.
"use strict";

const ref = (model) => (model ? `v${model.version}` : "none");

async function load() {
  const status = await api("/system");
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
    w.pid, Number(w.rss_mb.toFixed(1)), Number(w.cpu_percent.toFixed(1)), w.this_worker ? "answered this" : "",
  ]));
  fillTable(document.getElementById("gpus"), status.gpus.map((g) => [
    `${g.index}: ${g.name}`, `${g.memory_used_mb.toFixed(0)} / ${g.memory_total_mb.toFixed(0)}`, g.utilization_percent,
    g.temperature_c, g.power_w === null ? "–" : Number(g.power_w.toFixed(1)),
  ]));
  chart("worker-memory", [{ type: "bar", x: status.workers.map((w) => String(w.pid)), y: status.workers.map((w) => w.rss_mb),
    marker: { color: "#1f6fb2" } }], { title: { text: "Resident memory per worker (MB)" }, xaxis: { type: "category", title: { text: "pid" } } });
  if (!status.ready) throw new Error(`no model loaded: ${status.problem}`);
}

refreshing(load, 5);
