"use strict";

// Every page's behaviour is set up with onPage(setup): on the first load, and again after each htmx swap (boosted
// links and forms replace the body without a new DOMContentLoaded, and without the new page's <head> scripts).
// A setup binds each element once (data-bound) and draws each chart once (data-drawn), so running it again is safe.
const onPage = (setup) => {
  document.addEventListener("DOMContentLoaded", setup);
  document.addEventListener("htmx:afterSettle", setup);
};
const once = (element, mark = "bound") => {
  if (!element || element.dataset[mark]) return false;
  element.dataset[mark] = "1";
  return true;
};
// Plotly (served by Assay from the installed plotly package, cached a day), loaded the first time a page needs it.
const withPlotly = (draw) => {
  if (typeof Plotly !== "undefined") { draw(); return; }
  let script = document.getElementById("plotly-js");
  if (!script) {
    script = document.createElement("script");
    script.id = "plotly-js";
    script.src = "/static/plotly.min.js";
    document.head.appendChild(script);
  }
  script.addEventListener("load", draw);
};

// The monitoring page: each metric over its windows (one line per feature or facet), its threshold dashed.
onPage(() => {
  if (!document.querySelector("script.monitor-chart-data")) return;
  withPlotly(() => { for (const data of document.querySelectorAll("script.monitor-chart-data")) {
    const chart = JSON.parse(data.textContent);
    const target = document.getElementById(data.dataset.target);
    if (!once(target, "drawn")) continue;
    const shapes = chart.threshold === null ? [] : [{
      type: "line", xref: "paper", x0: 0, x1: 1, y0: chart.threshold, y1: chart.threshold,
      line: { dash: "dash", color: "#b2182b", width: 1 },
    }];
    Plotly.newPlot(target, chart.traces.map((t) => ({ type: "scatter", mode: "lines+markers", name: t.name, x: t.x, y: t.y })), {
      margin: { t: 10, r: 10, b: 30, l: 50 }, height: 260, shapes, showlegend: chart.traces.length > 1,
      legend: { orientation: "h", y: -0.25 }, xaxis: { type: "date", nticks: 4 },
    }, { displayModeBar: false });
  } });
});

// The review pages: claim, release and decide through the JSON API (session cookie and CSRF header); results and
// errors are shown in the page's message line; after a decision the reviewer moves on to the next open item.
onPage(() => {
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
    if (!once(button)) continue;
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
  if (!once(form)) return;
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
onPage(() => {
  const data = document.getElementById("explanation-data");
  const target = document.getElementById("explanation-chart");
  if (!data || !once(target, "drawn")) return;
  withPlotly(() => {
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
});

// The oversight page: override rates over time (one line per slice value) and by reviewer, each with its interval.
onPage(() => {
  if (!document.querySelector("script.oversight-chart-data, script.oversight-bar-data")) return;
  withPlotly(() => {
  const errors = (t) => ({ type: "data", symmetric: false, array: t.upper, arrayminus: t.lower, thickness: 1 });
  for (const data of document.querySelectorAll("script.oversight-chart-data")) {
    const chart = JSON.parse(data.textContent);
    const target = document.getElementById(data.dataset.target);
    if (!once(target, "drawn")) continue;
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
    if (!once(target, "drawn")) continue;
    Plotly.newPlot(target, [{ type: "bar", x: chart.x, y: chart.y, error_y: errors(chart) }], {
      margin: { t: 10, r: 10, b: 30, l: 50 }, height: 260, yaxis: { tickformat: ".0%", rangemode: "tozero" },
    }, { displayModeBar: false });
  }
  });
});

// A contested case: each feature's SHAP contribution to this decision, as horizontal bars (raised: blue, lowered: red).
onPage(() => {
  const data = document.getElementById("contest-chart-data");
  const target = document.getElementById("contest-chart");
  if (!data || !once(target, "drawn")) return;
  const chart = JSON.parse(data.textContent);
  withPlotly(() => {
  Plotly.newPlot(target, [{
    type: "bar", orientation: "h", x: chart.values, y: chart.features,
    marker: { color: chart.values.map((v) => (v >= 0 ? "#2166ac" : "#b2182b")) },
    hovertemplate: "%{y}: %{x:.3g}<extra></extra>",
  }], {
    margin: { t: 10, r: 10, b: 30, l: 140 }, height: 40 + 24 * chart.features.length,
    xaxis: { zeroline: true, title: { text: "raised (right) or lowered (left) the chance" } },
  }, { displayModeBar: false });
  });
});

// admin: a new API token's "Copy to the clipboard" button (the token is shown once, in a read-only field).
document.addEventListener("click", async (event) => {
  const button = event.target.closest ? event.target.closest("button[data-copy]") : null;
  if (!button) return;
  const field = document.getElementById(button.dataset.copy);
  if (!field) return;
  field.select();
  try {
    await navigator.clipboard.writeText(field.value);
    button.textContent = "Copied";
  } catch (_) {
    button.textContent = "Select the field and copy it";
  }
});
// compute: the assessment page's charts (each judged metric by group, its interval, the thresholds dashed), drawn
// from the page's data with the Plotly file the server serves once (cached by the browser), loaded only where needed.
(() => {
  const draw = () => {
    const blocks = document.querySelectorAll("script.assessment-chart-data");
    if (!blocks.length) return;
    if (typeof Plotly === "undefined") {
      if (!document.getElementById("plotly-js")) {
        const script = document.createElement("script");
        script.id = "plotly-js";
        script.src = "/static/plotly.min.js";
        script.addEventListener("load", draw);
        document.head.appendChild(script);
      }
      return;
    }
    const ink = getComputedStyle(document.body).color;
    for (const block of blocks) {
      const chart = JSON.parse(block.textContent);
      const target = document.getElementById(block.dataset.target);
      if (!target || target.dataset.drawn) continue;
      target.dataset.drawn = "1";
      const colours = chart.verdicts.map((v) => (v === "fail" ? "#b2182b" : v === "pass" ? "#2166ac" : "#888"));
      const withCi = chart.low.some((v) => v !== null);
      const trace = {
        type: "bar", orientation: "h", y: chart.groups, x: chart.values, marker: { color: colours },
        hovertemplate: "%{y}: %{x:.4g}<extra></extra>",
      };
      if (withCi) {
        trace.error_x = {
          type: "data", symmetric: false, color: ink,
          array: chart.high.map((h, i) => (h === null ? 0 : h - chart.values[i])),
          arrayminus: chart.low.map((l, i) => (l === null ? 0 : chart.values[i] - l)),
        };
      }
      const l = chart.limits;
      const at = [l.min, l.max, l.abs_max, l.abs_max === undefined ? undefined : -l.abs_max].filter((x) => x !== undefined);
      const shapes = at.map((x) => ({ type: "line", yref: "paper", y0: 0, y1: 1, x0: x, x1: x,
        line: { dash: "dash", color: "#b2182b", width: 1 } }));
      Plotly.newPlot(target, [trace], {
        margin: { t: 10, r: 10, b: 30, l: 10 }, height: 70 + 28 * chart.groups.length, shapes,
        yaxis: { automargin: true }, paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)", font: { color: ink },
      }, { displayModeBar: false, responsive: true });
    }
  };
  document.addEventListener("DOMContentLoaded", draw);
  document.addEventListener("htmx:afterSettle", draw);
})();
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
