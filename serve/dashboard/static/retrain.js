// Retrain: start the retrain command with a preset and param overrides, follow it stage by stage with
// its CPU and memory and the GPU's use, cancel it, and draw the MLP's losses as they are logged.
"use strict";

const token = document.getElementById("token");
token.value = sessionStorage.getItem("admin-token") || "";
const presetField = document.getElementById("preset");
const paramsField = document.getElementById("params");
const cancelButton = document.getElementById("cancel");
const LOSS_TITLE = "MLP loss per epoch";

let running = false; // the latest status says a retrain runs: the losses and the GPU are polled while it does
let cancelling = false;
let lossDrawn = false;

const authorised = () => ({ Authorization: `Bearer ${token.value}` });

// A refusal of the form itself, shaped like the API's: details naming the field.
function refusal(field, message) {
  const error = new Error(message);
  error.details = [{ field, message }];
  return error;
}

// The override editor's lines as the API takes them, {"train.mlp.epochs": 50}: each value read as JSON
// where it is JSON (numbers, lists, true, null) and as text otherwise, as `dvc exp run -S` reads YAML.
function overrides() {
  const params = {};
  paramsField.value.split("\n").forEach((line, index) => {
    const text = line.trim();
    if (!text || text.startsWith("#")) return;
    const equals = text.indexOf("=");
    if (equals < 1) throw refusal("params", `line ${index + 1}: expected key=value, e.g. train.mlp.epochs=50 (got "${text}")`);
    const value = text.slice(equals + 1).trim();
    try {
      params[text.slice(0, equals).trim()] = JSON.parse(value);
    } catch {
      params[text.slice(0, equals).trim()] = value;
    }
  });
  return params;
}

// Mark the fields a refusal names (the preset, or the overrides: `params.<name>`) and say why, under the form.
function markFields(details) {
  const named = new Set(details.map((detail) => detail.field.split(".")[0]));
  for (const [field, element] of [["preset", presetField], ["params", paramsField]]) {
    element.classList.toggle("invalid", named.has(field));
    element.setAttribute("aria-invalid", String(named.has(field)));
  }
  const problem = document.getElementById("params-problem");
  problem.textContent = details.length ? `Refused, nothing ran: ${details.map((d) => d.message).join("; ")}` : "";
  problem.hidden = !details.length;
}

function stageRows(last) {
  const stages = last.stages || { ran: [], skipped: [] };
  const rows = stages.ran.map((name) => [name, "done"]);
  if (last.current_stage) rows.push([last.current_stage, "running now"]);
  if (last.interrupted_stage) rows.push([last.interrupted_stage, "interrupted by the cancel"]);
  rows.push(...stages.skipped.map((name) => [name, "skipped: unchanged"]));
  if (rows.length) return rows;
  if (last.state === "running") return [["–", "deciding: DVC has started no stage of the retrain yet"]];
  return [["–", last.dry_run ? "none: a dry run decides and trains nothing" : "none: it did not retrain"]];
}

function recordRows(last) {
  const overridden = Object.entries(last.overrides || {}).map(([name, value]) => `${name}=${JSON.stringify(value)}`);
  const rows = [
    ["started", localTime(last.started_at)],
    ["finished", last.finished_at ? localTime(last.finished_at) : "–"],
    ["preset", last.preset || "default"],
    ["overrides", overridden.join(", ") || "none"],
    ["reasons", (last.reasons || []).join("; ") || "–"],
  ];
  if (last.experiment) {
    const params = last.params_restored ? "put back as it was, since the retrain did not finish" : "holds the preset and overrides now (uncommitted)";
    rows.push(["DVC experiment", `${last.experiment}: params.yaml ${params}`]);
  }
  if (last.outcome?.comparison?.summary) rows.push(["promotion gate", last.outcome.comparison.summary]);
  if (last.cancelled_by) rows.push(["cancelled", `by ${last.cancelled_by} during ${last.interrupted_stage || "the decision"}`]);
  if (last.cancel_too_late) rows.push(["cancel", `too late: ${last.cancel_too_late}`]);
  if (last.error) rows.push(["error", last.error]);
  return rows;
}

function decision(last) {
  if (last.retrain === undefined) return "–";
  if (!last.retrain) return "no retrain";
  return last.dry_run ? "retrain (dry run)" : "retrain";
}

function showStatus(status) {
  const last = status.last;
  running = status.running && last?.state === "running";
  cancelling = cancelling && running;
  document.getElementById("no-token").hidden = true;
  document.getElementById("no-retrain").hidden = Boolean(last);
  document.getElementById("last-retrain").hidden = !last;
  document.getElementById("start").disabled = status.running;
  cancelButton.disabled = !running || cancelling;
  cancelButton.textContent = cancelling ? "Cancelling…" : "Cancel retrain";
  const usage = status.usage;
  setText("cpu", usage ? `${decimal.format(usage.cpu_percent)} %` : "– (not running)");
  setText("memory", usage ? `${decimal.format(usage.memory_mb)} MB in ${usage.processes} processes` : "– (not running)");
  if (!last) return;
  setText("state", cancelling ? "cancelling…" : last.state);
  setText("current-stage", last.current_stage || "–");
  setText("decision", decision(last));
  setText("outcome", last.outcome ? `v${last.outcome.version} ${last.outcome.alias}` : last.error ? "failed" : "–");
  fillTable(document.getElementById("record"), recordRows(last));
  fillTable(document.getElementById("stages"), stageRows(last));
}

async function loadStatus() {
  showStatus(await api("/admin/retrain", { headers: authorised() }));
}

async function loadGpu() {
  const system = await api("/system");
  const gpus = system.gpus.map((gpu) =>
    `${gpu.utilization_percent} % · ${decimal.format(gpu.memory_used_mb)} of ${decimal.format(gpu.memory_total_mb)} MB`);
  setText("gpu", gpus.join("; ") || "none");
  setText("gpu-problem", gpus.length ? "" : system.gpu_problem || "no NVIDIA GPU on the server's host");
}

function lossSummary(loss) {
  const trained = loss.epochs.filter((epoch) => epoch.val_rmse !== null);
  if (!trained.length) return `${loss.epochs.length} epochs logged, none with a validation RMSE.`;
  const best = trained.reduce((low, epoch) => (epoch.val_rmse < low.val_rmse ? epoch : low));
  const first = trained[0];
  const latest = trained[trained.length - 1];
  return `${loss.epochs.length} epochs of run ${loss.run_name}${running ? " so far" : ""}: validation RMSE from `
    + `${decimal.format(first.val_rmse)} at epoch ${first.epoch} to ${decimal.format(latest.val_rmse)} at epoch ${latest.epoch}, `
    + `the best ${decimal.format(best.val_rmse)} at epoch ${best.epoch}.`;
}

async function loadLoss() {
  const loss = await api("/training/loss");
  if (!loss.run_id) {
    setText("loss-run", "No MLP training run in the tracking store yet.");
    emptyChart("loss", LOSS_TITLE, "No MLP has trained yet: a retrain (or make repro) trains one, and its losses appear here epoch by epoch while it trains.");
    return;
  }
  setText("loss-run", `Run ${loss.run_name} (${loss.run_id.slice(0, 8)}), started ${localTime(loss.started_at)}: ${loss.epochs.length} epochs logged${running ? " so far, redrawn every few seconds" : ""}.`);
  if (!loss.epochs.length) {
    emptyChart("loss", LOSS_TITLE, loss.problem || "This run has logged no epoch yet.");
    return;
  }
  const epochs = loss.epochs.map((e) => e.epoch);
  const scale = !loss.target_transform || loss.target_transform === "none" ? "$100,000" : `${loss.target_transform} of price in $100,000`;
  chart("loss", [
    { type: "scatter", mode: "lines", name: "training loss (standardised MSE)", x: epochs, y: loss.epochs.map((e) => e.train_loss) },
    { type: "scatter", mode: "lines", name: `validation RMSE (${scale})`, x: epochs, y: loss.epochs.map((e) => e.val_rmse), yaxis: "y2" },
  ], { title: { text: LOSS_TITLE }, margin: { t: 30, r: 70, b: 50, l: 60 }, xaxis: { title: { text: "epoch" } }, yaxis: { title: { text: "training loss" } },
    yaxis2: { title: { text: "validation RMSE" }, overlaying: "y", side: "right" }, legend: { orientation: "h", y: -0.2 } }, lossSummary(loss));
}

// Every few seconds: the retrain's status (with the token), and while it runs (and once more when it
// ends) the losses and the GPU; the losses and the GPU once on opening too.
async function poll() {
  const wasRunning = running;
  if (token.value) await loadStatus();
  if (running || wasRunning || !lossDrawn) {
    await Promise.all([loadLoss(), loadGpu()]);
    lossDrawn = true;
  }
  if (wasRunning && !running) await checkModel();  // a finished retrain may have registered the first champion
}

async function start() {
  sessionStorage.setItem("admin-token", token.value);
  let body;
  try {
    body = {
      dry_run: document.getElementById("dry-run").checked,
      force: document.getElementById("force").checked,
      preset: presetField.value,
      params: overrides(),
    };
  } catch (error) {
    markFields(error.details);
    return;
  }
  try {
    showStatus(await api("/admin/retrain", {
      method: "POST", headers: { ...authorised(), "Content-Type": "application/json" }, body: JSON.stringify(body),
    }));
    markFields([]);
  } catch (error) {
    if (error.status !== 422) throw error;
    markFields(error.details);
  }
  await poll();
}

async function cancel() {
  cancelling = true;
  cancelButton.disabled = true;
  try {
    showStatus(await api("/admin/retrain/cancel", { method: "POST", headers: authorised() }));
  } catch (error) {
    cancelling = false;
    await loadStatus();
    throw error;
  }
}

// An action's failure goes to the problem banner; a refused start marks its fields instead.
const act = (action) => () => action().then(() => showProblem(""), (error) => showProblem(error.message));

document.getElementById("retrain").addEventListener("submit", (event) => {
  event.preventDefault();
  act(start)();
});
cancelButton.addEventListener("click", act(cancel));
token.addEventListener("change", () => {
  sessionStorage.setItem("admin-token", token.value);
  act(poll)();
});
refreshing(poll, 3);
