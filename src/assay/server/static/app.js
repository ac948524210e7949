// Assay's only script: approval decisions from the system page, sent to the JSON API with the CSRF token.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const token = document.querySelector('meta[name="csrf-token"]');
  for (const form of document.querySelectorAll("form.decide")) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const decision = event.submitter ? event.submitter.value : "approve";
      const comment = form.querySelector('input[name="comment"]').value;
      const response = await fetch(form.dataset.endpoint, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": token ? token.content : "" },
        body: JSON.stringify({ decision, comment }),
        credentials: "same-origin",
      });
      if (response.ok) {
        window.location.reload();
      } else {
        const body = await response.json().catch(() => ({}));
        alert((body.error && body.error.message) || `failed: ${response.status}`);
      }
    });
  }
});

// The dashboard's heat map of open risks, drawn with the Plotly served by this server (no CDN).
document.addEventListener("DOMContentLoaded", () => {
  const data = document.getElementById("heat-data");
  const target = document.getElementById("heat-chart");
  if (!data || !target || typeof Plotly === "undefined") return;
  const heat = JSON.parse(data.textContent);
  Plotly.newPlot(target, [{
    type: "heatmap", z: heat.counts, x: [1, 2, 3, 4, 5], y: [1, 2, 3, 4, 5], colorscale: "YlOrRd",
    hovertemplate: "likelihood %{x}, impact %{y}: %{z} open risks<extra></extra>",
  }], {
    margin: { t: 10, r: 10, b: 40, l: 40 }, height: 260, width: 320,
    xaxis: { title: { text: "likelihood" }, dtick: 1 }, yaxis: { title: { text: "impact" }, dtick: 1 },
  }, { displayModeBar: false, staticPlot: false });
});

// The monitoring page: each metric over its windows (one line per feature or facet), its threshold dashed.
document.addEventListener("DOMContentLoaded", () => {
  if (typeof Plotly === "undefined") return;
  for (const data of document.querySelectorAll("script.monitor-chart-data")) {
    const chart = JSON.parse(data.textContent);
    const target = document.getElementById(data.dataset.target);
    if (!target) continue;
    const shapes = chart.threshold === null ? [] : [{
      type: "line", xref: "paper", x0: 0, x1: 1, y0: chart.threshold, y1: chart.threshold,
      line: { dash: "dash", color: "#b2182b", width: 1 },
    }];
    Plotly.newPlot(target, chart.traces.map((t) => ({ type: "scatter", mode: "lines+markers", name: t.name, x: t.x, y: t.y })), {
      margin: { t: 10, r: 10, b: 30, l: 50 }, height: 260, shapes, showlegend: chart.traces.length > 1,
      legend: { orientation: "h", y: -0.25 }, xaxis: { type: "date", nticks: 4 },
    }, { displayModeBar: false });
  }
});

// A contested case: each feature's SHAP contribution to this decision, as horizontal bars (raised: blue, lowered: red).
document.addEventListener("DOMContentLoaded", () => {
  const data = document.getElementById("contest-chart-data");
  const target = document.getElementById("contest-chart");
  if (!data || !target || typeof Plotly === "undefined") return;
  const chart = JSON.parse(data.textContent);
  Plotly.newPlot(target, [{
    type: "bar", orientation: "h", x: chart.values, y: chart.features,
    marker: { color: chart.values.map((v) => (v >= 0 ? "#2166ac" : "#b2182b")) },
    hovertemplate: "%{y}: %{x:.3g}<extra></extra>",
  }], {
    margin: { t: 10, r: 10, b: 30, l: 140 }, height: 40 + 24 * chart.features.length,
    xaxis: { zeroline: true, title: { text: "raised (right) or lowered (left) the chance" } },
  }, { displayModeBar: false });
});
