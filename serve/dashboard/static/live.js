// Live: predictions per minute, the distribution of predicted prices, and a map of the latest ones.
"use strict";

const minutes = document.getElementById("minutes");

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.floor(sorted.length / 2)] : null;
}

async function load() {
  const summary = await api(`/predictions/summary?minutes=${minutes.value}&points=500`);
  const counts = summary.per_minute.map((m) => m.count);
  const prices = summary.answers.map((a) => a.prediction);
  setText("last-minute", counts[counts.length - 1]);
  setText("in-window", counts.reduce((a, b) => a + b, 0));
  setText("median-price", prices.length ? dollars.format(median(prices)) : "–");

  chart("rate", [{ type: "bar", x: summary.per_minute.map((m) => m.minute), y: counts, marker: { color: "#1f6fb2" } }],
    { title: { text: "Predictions per minute" }, xaxis: { type: "date", title: { text: "UTC" } }, yaxis: { rangemode: "tozero" } });
  const edges = summary.prices.edges;
  chart("prices", [{ type: "bar", x: edges.slice(0, -1).map((e, i) => (e + edges[i + 1]) / 2), y: summary.prices.counts,
    width: edges[1] - edges[0], marker: { color: "#2a9d8f" } }],
    { title: { text: "Predicted prices (latest answers)" }, xaxis: { tickprefix: "$", tickformat: "~s" }, bargap: 0.05 });

  const california = { type: "scatter", mode: "markers", name: "training data", hoverinfo: "skip",
    x: summary.california.map((c) => c[0]), y: summary.california.map((c) => c[1]),
    marker: { size: 4, color: "#d5d9de", symbol: "square" } };
  const answered = { type: "scatter", mode: "markers", name: "predictions",
    x: summary.answers.map((a) => a.longitude), y: summary.answers.map((a) => a.latitude),
    text: summary.answers.map((a) => `${dollars.format(a.prediction)} · v${a.model_version} ${a.role}`),
    hovertemplate: "%{text}<br>%{x}, %{y}<extra></extra>",
    marker: { size: 8, color: prices, colorscale: "Viridis", cmin: 0, cmax: 500001, opacity: 0.85,
      colorbar: { title: { text: "price" }, tickprefix: "$", tickformat: "~s" } } };
  chart("map", [california, answered], { title: { text: "Latest predictions, coloured by price" },
    xaxis: { title: { text: "longitude" } }, yaxis: { title: { text: "latitude" }, scaleanchor: "x", scaleratio: 1.25 },
    showlegend: false });

  fillTable(document.getElementById("latest"), summary.answers.slice(0, 15).map((a) => [
    localTime(a.created_at), a.model_version, badge(a.role), a.ocean_proximity,
    `${a.longitude}, ${a.latitude}`, dollars.format(a.prediction),
  ]));
}

minutes.addEventListener("change", () => refreshing(load, 0));
refreshing(load, 5);
