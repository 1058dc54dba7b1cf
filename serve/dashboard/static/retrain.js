// Retrain: start the retrain trigger with the admin token, follow its status, and draw the MLP's losses.
"use strict";

const token = document.getElementById("token");
token.value = sessionStorage.getItem("admin-token") || "";

const authorised = () => ({ Authorization: `Bearer ${token.value}` });

function showStatus(status) {
  const last = status.last || {};
  setText("running", status.running ? "yes" : "no");
  setText("state", last.state || "never ran");
  setText("decision", last.retrain === undefined ? "–" : last.retrain ? (last.dry_run ? "retrain (dry run)" : "retrain") : "no retrain");
  setText("outcome", last.outcome ? `v${last.outcome.version} ${last.outcome.alias}` : last.error ? "failed" : "–");
  setText("comparison", last.outcome?.comparison?.summary || "–");
  setText("reasons", last.error || (last.reasons || []).join("; "));
  const stages = last.stages || { ran: [], skipped: [] };
  const rows = [...stages.ran.map((name) => [name, "ran"]), ...stages.skipped.map((name) => [name, "skipped: unchanged"])];
  const none = last.state ? (last.dry_run ? "none: a dry run decides and trains nothing" : "none: it did not retrain") : "";
  fillTable(document.getElementById("stages"), rows.length ? rows : [["–", none]]);
}

async function loadStatus() {
  if (!token.value) return;
  showStatus(await api("/admin/retrain", { headers: authorised() }));
}

async function loadLoss() {
  const loss = await api("/training/loss");
  if (loss.run_id) setText("loss-run", `Run ${loss.run_name} (${loss.run_id.slice(0, 8)}), started ${localTime(loss.started_at)}.`);
  if (loss.problem) throw new Error(`loss curves: ${loss.problem}`);
  const epochs = loss.epochs.map((e) => e.epoch);
  const scale = !loss.target_transform || loss.target_transform === "none" ? "$100,000" : `${loss.target_transform} of price in $100,000`;
  chart("loss", [
    { type: "scatter", mode: "lines", name: "training loss (standardised MSE)", x: epochs, y: loss.epochs.map((e) => e.train_loss) },
    { type: "scatter", mode: "lines", name: `validation RMSE (${scale})`, x: epochs, y: loss.epochs.map((e) => e.val_rmse), yaxis: "y2" },
  ], { title: { text: "MLP loss per epoch" }, margin: { t: 40, r: 70, b: 50, l: 60 }, xaxis: { title: { text: "epoch" } }, yaxis: { title: { text: "training loss" } },
    yaxis2: { title: { text: "validation RMSE" }, overlaying: "y", side: "right" }, legend: { orientation: "h", y: -0.2 } });
}

document.getElementById("retrain").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem("admin-token", token.value);
  const options = { dry_run: document.getElementById("dry-run").checked, force: document.getElementById("force").checked };
  refreshing(async () => showStatus(await api("/admin/retrain", {
    method: "POST", headers: { ...authorised(), "Content-Type": "application/json" }, body: JSON.stringify(options),
  })), 0);
});
document.getElementById("check").addEventListener("click", () => {
  sessionStorage.setItem("admin-token", token.value);
  refreshing(loadStatus, 0);
});
refreshing(loadLoss, 0);
setInterval(() => { if (token.value && !document.hidden) loadStatus().catch((error) => showProblem(error.message)); }, 5000);
loadStatus().catch((error) => showProblem(error.message));
