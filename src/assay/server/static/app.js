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

// The oversight page: override rates over time (one line per slice value) and by reviewer, each with its interval.
document.addEventListener("DOMContentLoaded", () => {
  if (typeof Plotly === "undefined") return;
  const errors = (t) => ({ type: "data", symmetric: false, array: t.upper, arrayminus: t.lower, thickness: 1 });
  for (const data of document.querySelectorAll("script.oversight-chart-data")) {
    const chart = JSON.parse(data.textContent);
    const target = document.getElementById(data.dataset.target);
    if (!target) continue;
    Plotly.newPlot(target, chart.traces.map((t) => ({
      type: "scatter", mode: "lines+markers", name: t.name, x: t.x, y: t.y, error_y: errors(t), customdata: t.n,
      hovertemplate: "%{x}: %{y:.1%} of %{customdata}<extra>%{fullData.name}</extra>",
    })), {
      margin: { t: 10, r: 10, b: 30, l: 50 }, height: 260, showlegend: chart.traces.length > 1,
      legend: { orientation: "h", y: -0.25 }, xaxis: { type: "category" }, yaxis: { tickformat: ".0%", rangemode: "tozero" },
    }, { displayModeBar: false });
  }
  for (const data of document.querySelectorAll("script.oversight-bar-data")) {
    const chart = JSON.parse(data.textContent);
    const target = document.getElementById(data.dataset.target);
    if (!target) continue;
    Plotly.newPlot(target, [{ type: "bar", x: chart.x, y: chart.y, error_y: errors(chart) }], {
      margin: { t: 10, r: 10, b: 30, l: 50 }, height: 260, yaxis: { tickformat: ".0%", rangemode: "tozero" },
    }, { displayModeBar: false });
  }
});
