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

// The review pages: claim, release and decide through the JSON API (session cookie and CSRF header); results and
// errors are shown in the page's message line; after a decision the reviewer moves on to the next open item.
document.addEventListener("DOMContentLoaded", () => {
  const token = document.querySelector('meta[name="csrf-token"]');
  const message = document.getElementById("review-message");
  const show = (text) => {
    if (!message) return;
    message.textContent = text;
    message.hidden = false;
    message.scrollIntoView({ block: "nearest" });
  };
  const post = async (url, body) => {
    const response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": token ? token.content : "" },
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
    });
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) {
      throw new Error((answer.error && answer.error.message) || `the server answered ${response.status}`);
    }
    return answer;
  };
  const busy = (button, on) => { if (button) button.disabled = on; };

  for (const button of document.querySelectorAll("button.review-claim, button.review-action")) {
    button.addEventListener("click", async () => {
      busy(button, true);
      try {
        await post(button.dataset.endpoint);
        if (button.dataset.next) window.location.assign(button.dataset.next);
        else window.location.reload();
      } catch (error) {
        show(error.message);
        busy(button, false);
      }
    });
  }

  const form = document.getElementById("decide");
  if (!form) return;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const decision = event.submitter ? event.submitter.value : "accept";
    const field = form.elements.namedItem("outcome");
    const reason = form.elements.namedItem("reason").value.trim();
    let outcome = null;
    if (decision === "change") {
      const raw = field ? field.value.trim() : "";
      if (!raw) { show("Change: choose the outcome that replaces the model's."); field && field.focus(); return; }
      if (field.tagName === "SELECT") outcome = JSON.parse(raw);
      else if (field.dataset.numeric === "true" && raw !== "" && Number.isFinite(Number(raw))) outcome = Number(raw);
      else outcome = raw;
    }
    if (decision !== "accept" && !reason) {
      show(`${decision === "change" ? "Change" : "Escalate"}: give the reason (auditors and the override statistics read it).`);
      form.elements.namedItem("reason").focus();
      return;
    }
    for (const b of form.querySelectorAll("button")) b.disabled = true;
    try {
      await post(form.dataset.endpoint, { decision, outcome, reason });
    } catch (error) {
      show(error.message);
      for (const b of form.querySelectorAll("button")) b.disabled = false;
      return;
    }
    // the next open item nobody else holds (escalated ones only for those who oversee), else back to the queue
    const here = Number(form.dataset.item);
    const queue = `/systems/${encodeURIComponent(form.dataset.system)}/review`;
    let next = null;
    try {
      const response = await fetch(form.dataset.queue, { credentials: "same-origin" });
      const listed = response.ok ? await response.json() : { items: [] };
      const name = form.dataset.user;
      next = listed.items.find((item) => item.id !== here
        && (item.status === "pending" || form.dataset.oversee === "true")
        && (item.claimed_by.length === 0 || item.claimed_by.includes(name)));
    } catch (_) { next = null; }
    window.location.assign(next ? `${queue}/${next.id}?decided=${here}` : `${queue}?decided=${here}`);
  });
});

// A review item's local explanation: the largest contributions as horizontal bars (Plotly served here, no CDN).
document.addEventListener("DOMContentLoaded", () => {
  const data = document.getElementById("explanation-data");
  const target = document.getElementById("explanation-chart");
  if (!data || !target || typeof Plotly === "undefined") return;
  const rows = JSON.parse(data.textContent).slice().reverse(); // the largest at the top
  const label = (r) => (r.masked || r.value === null || r.value === undefined ? r.feature : `${r.feature} = ${r.value}`);
  Plotly.newPlot(target, [{
    type: "bar", orientation: "h", y: rows.map(label), x: rows.map((r) => r.shap),
    marker: { color: rows.map((r) => (r.shap > 0 ? "#b2182b" : "#2166ac")) },
    text: rows.map((r) => (r.shap > 0 ? "▶ +" : "◀ ") + r.shap.toFixed(3)), textposition: "auto",
    hovertemplate: "%{y}: %{x:.4f}<extra></extra>",
  }], {
    margin: { t: 10, r: 10, b: 30, l: 10 }, height: 60 + 28 * rows.length, autosize: true,
    yaxis: { automargin: true }, xaxis: { zeroline: true, title: { text: "contribution to the score" } },
  }, { displayModeBar: false, responsive: true });
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

// browser: the charts follow the window's width (a phone turned, a window narrowed), so they never make the page
// scroll sideways; Plotly draws each at its box's width when the page loads and not again by itself.
window.addEventListener("resize", () => {
  if (typeof Plotly === "undefined") return;
  for (const chart of document.querySelectorAll(".js-plotly-plot")) Plotly.Plots.resize(chart);
});

// browser: a table that scrolls inside its own box on a narrow screen (style.css) can be reached and scrolled from
// the keyboard: it takes the focus (tabindex 0) while it is wider than its box, as ui.table's .table-wrap does.
{
  const markScrollingTables = () => {
    for (const table of document.querySelectorAll("main table")) {
      if (table.closest(".table-wrap")) continue;
      if (table.scrollWidth > table.clientWidth + 1) table.setAttribute("tabindex", "0");
      else if (table.getAttribute("tabindex") === "0") table.removeAttribute("tabindex");
    }
  };
  document.addEventListener("DOMContentLoaded", markScrollingTables);
  window.addEventListener("resize", markScrollingTables);
  document.addEventListener("htmx:afterSettle", markScrollingTables);
}
