// Live: predictions per minute, the distribution of predicted prices, and a map of the latest ones.
"use strict";

const minutes = document.getElementById("minutes");
const CHART_TITLES = {
  rate: "Predictions per minute",
  prices: "Predicted prices (latest answers)",
  map: "Latest predictions, coloured by price",
};

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.floor(sorted.length / 2)] : null;
}

const windowName = () => minutes.selectedOptions[0].textContent;
const range = (values) => [Math.min(...values), Math.max(...values)];

// No answers in the window: say why, in place of each chart and the table, instead of empty axes.
function showNoTraffic(modelLoaded) {
  const why = modelLoaded
    ? `No predictions in the last ${windowName()}: the charts fill as POST /predict answers (the form at / makes one).`
    : "No model is loaded, so nothing has been predicted yet (see above for what to run).";
  for (const [id, title] of Object.entries(CHART_TITLES)) emptyChart(id, title, why);
  fillTable(document.getElementById("latest"), []);
  const noLatest = document.getElementById("no-latest");
  noLatest.textContent = why;
  noLatest.hidden = false;
}

function drawRate(summary, counts) {
  const total = counts.reduce((a, b) => a + b, 0);
  const busiest = counts.indexOf(Math.max(...counts));
  const summaryText = `${total} predictions in the last ${windowName()}, ${counts[counts.length - 1]} in the last minute;`
    + ` the busiest minute had ${counts[busiest]} (${summary.per_minute[busiest].minute.replace("T", " ")} UTC).`;
  chart("rate", [{ type: "bar", x: summary.per_minute.map((m) => m.minute), y: counts, marker: { color: "#1f6fb2" } }],
    { title: { text: CHART_TITLES.rate }, xaxis: timeAxis("rate"), yaxis: { rangemode: "tozero" } },
    summaryText);
}

function drawPrices(summary, prices) {
  const edges = summary.prices.edges;
  const [low, high] = range(prices);
  chart("prices", [{ type: "bar", x: edges.slice(0, -1).map((e, i) => (e + edges[i + 1]) / 2), y: summary.prices.counts,
    width: edges[1] - edges[0], marker: { color: "#2a9d8f" } }],
    { title: { text: CHART_TITLES.prices }, xaxis: { tickprefix: "$", tickformat: "~s", title: { text: "predicted price" } }, bargap: 0.05 },
    `The latest ${prices.length} answers: median ${dollars.format(median(prices))}, from ${dollars.format(low)} to ${dollars.format(high)}.`);
}

function drawMap(summary, prices) {
  const answers = summary.answers;
  const california = { type: "scatter", mode: "markers", name: "training data", hoverinfo: "skip",
    x: summary.california.map((c) => c[0]), y: summary.california.map((c) => c[1]),
    marker: { size: 4, color: "#d5d9de", symbol: "square" } };
  const answered = { type: "scatter", mode: "markers", name: "predictions",
    x: answers.map((a) => a.longitude), y: answers.map((a) => a.latitude),
    text: answers.map((a) => `${dollars.format(a.prediction)} · v${a.model_version} ${a.role}`),
    hovertemplate: "%{text}<br>%{x}, %{y}<extra></extra>",
    marker: { size: 8, color: prices, colorscale: "Viridis", cmin: 0, cmax: 500001, opacity: 0.85,
      colorbar: { title: { text: "price" }, tickprefix: "$", tickformat: "~s" } } };
  const highest = answers[prices.indexOf(Math.max(...prices))];
  const [west, east] = range(answers.map((a) => a.longitude));
  const [south, north] = range(answers.map((a) => a.latitude));
  chart("map", [california, answered], { title: { text: CHART_TITLES.map },
    xaxis: { title: { text: "longitude" } }, yaxis: { title: { text: "latitude" }, scaleanchor: "x", scaleratio: 1.25 },
    showlegend: false },
    `${answers.length} latest predictions, longitude ${west} to ${east}, latitude ${south} to ${north};`
    + ` the highest, ${dollars.format(highest.prediction)}, at ${highest.longitude}, ${highest.latitude}.`);
}

async function load() {
  const [summary, modelLoaded] = await Promise.all([
    api(`/predictions/summary?minutes=${minutes.value}&points=500`), checkModel(),
  ]);
  const counts = summary.per_minute.map((m) => m.count);
  const prices = summary.answers.map((a) => a.prediction);
  setText("last-minute", counts[counts.length - 1]);
  setText("in-window", counts.reduce((a, b) => a + b, 0));
  setText("median-price", prices.length ? dollars.format(median(prices)) : "none yet");
  if (!prices.length) {
    showNoTraffic(modelLoaded);
    return;
  }
  document.getElementById("no-latest").hidden = true;
  drawRate(summary, counts);
  drawPrices(summary, prices);
  drawMap(summary, prices);
  fillTable(document.getElementById("latest"), summary.answers.slice(0, 15).map((a) => [
    localTime(a.created_at), a.model_version, badge(a.role), a.ocean_proximity,
    `${a.longitude}, ${a.latitude}`, dollars.format(a.prediction),
  ]));
}

minutes.addEventListener("change", () => refreshing(load, 0));
refreshing(load, 5);
