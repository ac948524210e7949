"""The HTML report and the Jupyter summary, rendered from documents made by the real API on small data."""

from __future__ import annotations

import copy
import html
import json
import re
from html.parser import HTMLParser
from typing import Any

import numpy as np
import pandas as pd
import pytest
from plotly.offline import get_plotlyjs

import assay
from assay.reports.html import render_report_html, render_summary_html

XSS = "<script>alert(1)</script>"
XSS_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
FIGURE = re.compile(r'<div id="(assay-f\d+-[a-z]+)" class="plotly-graph-div"')


# ---- data -------------------------------------------------------------------------------------------------


def _frame(seed: int = 7, n: int = 600) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    facet = rng.choice(["a", "b", XSS], n).astype(object)
    facet[:20] = "rare"  # under min_group_size (30): small-group warnings
    score = rng.random(n)
    return pd.DataFrame(
        {
            "y": (rng.random(n) < 0.2 + 0.6 * score).astype(int),
            "f": facet,
            "p": (score > 0.5).astype(int),
            "s": score,
            "g": rng.choice(["g1", "g2"], n),
            "x1": rng.normal(size=n),
        }
    )


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return _frame()


@pytest.fixture(scope="module")
def post_doc(frame: pd.DataFrame) -> dict[str, Any]:
    return assay.assess(frame, label="y", facets=["f"], predicted="p", group="g", bootstrap=50).to_dict()


@pytest.fixture(scope="module")
def score_doc(frame: pd.DataFrame) -> dict[str, Any]:
    return assay.assess(frame, label="y", facets=["f"], score="s", bootstrap=50).to_dict()


@pytest.fixture(scope="module")
def pre_doc(frame: pd.DataFrame) -> dict[str, Any]:
    return assay.assess(frame[["y", "f", "g"]], label="y", facets=["f"], group="g", bootstrap=50).to_dict()


@pytest.fixture(scope="module")
def inf_doc(frame: pd.DataFrame) -> dict[str, Any]:
    """Only facet value "a" ever gets a positive prediction: its DI is +inf, TE and DCA are infinite."""
    rng = np.random.default_rng(1)
    df = frame.copy()
    df["p"] = ((df["f"] == "a") & (rng.random(len(df)) < 0.6)).astype(int)
    return assay.assess(df, label="y", facets=["f"], predicted="p", bootstrap=50).to_dict()


@pytest.fixture(scope="module")
def post_html(post_doc: dict[str, Any]) -> str:
    return render_report_html(post_doc)


# ---- helpers ----------------------------------------------------------------------------------------------


class _Tags(HTMLParser):
    """Every start tag and every URL-bearing attribute (script and style contents are not parsed)."""

    URL_ATTRIBUTES = frozenset({"src", "href", "action", "formaction", "data", "poster", "srcset", "xlink:href"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.urls += [v for k, v in attrs if k in self.URL_ATTRIBUTES and v is not None]


def _tags(page: str) -> _Tags:
    parser = _Tags()
    parser.feed(page)
    parser.close()
    return parser


def _without_plotly_js(page: str) -> str:
    return page.replace(get_plotlyjs(), "")


def _figures(page: str) -> list[str]:
    return FIGURE.findall(page)


def _figure_json(page: str, div_id: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The data and layout that the page hands to ``Plotly.newPlot`` for one figure."""
    match = re.search(rf'Plotly\.newPlot\(\s*"{re.escape(div_id)}",\s*', page)
    assert match is not None, div_id
    decoder = json.JSONDecoder()
    data, end = decoder.raw_decode(page, match.end())
    rest = page[end:].lstrip().removeprefix(",").lstrip()
    layout, _ = decoder.raw_decode(rest)
    return data, layout


def _metric_names(document: dict[str, Any]) -> set[str]:
    return {m["name"] for e in document["facets"] for m in e["metrics"]}


# ---- the page -----------------------------------------------------------------------------------------------


def test_page_embeds_plotly_once_and_loads_nothing(post_html: str) -> None:
    assert post_html.startswith("<!DOCTYPE html>")
    assert post_html.count(get_plotlyjs()) == 1
    head = post_html[: post_html.index("</head>")]
    assert get_plotlyjs() in head
    tags = _tags(post_html)
    assert "link" not in tags.tags and "iframe" not in tags.tags and "img" not in tags.tags
    assert all(url.startswith("#") for url in tags.urls), tags.urls  # in-page anchors only
    page = _without_plotly_js(post_html)
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page, re.IGNORECASE)
    assert not re.search(r"@import|url\(", page)
    assert "http://" not in page and "https://" not in page
    assert "<script src" not in page.lower()


def test_a_figure_per_facet_and_stage(post_html: str) -> None:
    assert _figures(post_html) == ["assay-f1-pre", "assay-f1-post", "assay-f1-perf"]
    assert post_html.count("Plotly.newPlot(") == 3


def test_metric_figure_has_one_panel_per_metric_with_ci_error_bars(post_html: str, post_doc: dict[str, Any]) -> None:
    data, layout = _figure_json(post_html, "assay-f1-pre")
    bars = [t for t in data if t["type"] == "bar"]
    names = [m["name"] for m in post_doc["facets"][0]["metrics"] if m["stage"] == "pre_training"]
    assert [b["name"] for b in bars] == names
    values = [html.escape(e["value_or_threshold"], quote=False) for e in post_doc["facets"]]
    entry = post_doc["facets"][0]
    dpl = next(m for m in entry["metrics"] if m["name"] == "DPL")
    bar = bars[names.index("DPL")]
    assert bar["orientation"] == "h" and bar["y"] == values
    assert bar["x"][0] == pytest.approx(dpl["value"])
    assert bar["error_x"]["array"][0] == pytest.approx(dpl["ci"][1] - dpl["value"])
    assert bar["error_x"]["arrayminus"][0] == pytest.approx(dpl["value"] - dpl["ci"][0])
    assert all(layout[k]["type"] == "category" for k in layout if k.startswith("yaxis"))


def test_every_metric_name_and_description_appear(post_html: str, post_doc: dict[str, Any]) -> None:
    assert len(_metric_names(post_doc)) == 21
    for entry in post_doc["facets"]:
        for m in entry["metrics"]:
            assert f"<strong>{m['name']}</strong>" in post_html
            assert html.escape(m["description"]) in post_html


def test_summary_box(post_html: str, post_doc: dict[str, Any]) -> None:
    for text in (
        "Bias report: y",
        "pandas.DataFrame",
        post_doc["data"]["fingerprint"],
        post_doc["assay_version"],
        post_doc["created_at"],
        "predicted label: p",
        "50 replicates, 95% confidence, seed",
        "<dt>Group</dt><dd>g</dd>",
        "<dt>Total</dt><dd>600</dd>",
    ):
        assert text in post_html, text


def test_warnings_are_listed(post_html: str, post_doc: dict[str, Any]) -> None:
    assert post_doc["warnings"]
    assert f"Warnings ({len(post_doc['warnings'])})" in post_html
    for w in post_doc["warnings"]:
        assert html.escape(w["message"]) in post_html


def test_metric_table_shows_values_with_four_significant_digits(post_html: str, post_doc: dict[str, Any]) -> None:
    for entry in post_doc["facets"]:
        for m in entry["metrics"]:
            if isinstance(m["value"], float):
                assert f'<span class="v">{m["value"]:.4g}</span>' in post_html
            if m["ci"] is not None and all(isinstance(c, float) for c in m["ci"]):
                assert f"[{m['ci'][0]:.4g}, {m['ci'][1]:.4g}]" in post_html


def test_group_performance_chart_and_table(post_html: str, post_doc: dict[str, Any]) -> None:
    data, _ = _figure_json(post_html, "assay-f1-perf")
    assert [t["name"] for t in data] == ["all rows"] + [
        html.escape(p["value"], quote=False) for p in post_doc["performance"][1:]
    ]
    assert data[0]["x"] == ["Selection rate", "Base rate", "Accuracy", "FPR", "FNR", "Precision", "Recall (TPR)"]
    assert all("error_y" in t for t in data)
    for header in ("Count", "Share", "Base rate", "Selection rate", "Accuracy", "Precision", "F1"):
        assert f">{header}</th>" in post_html
    overall = post_doc["performance"][0]
    assert f"{overall['metrics']['accuracy']:.4g}" in post_html


def test_escaping(post_html: str, post_doc: dict[str, Any]) -> None:
    assert any(e["value_or_threshold"] == XSS for e in post_doc["facets"])
    assert XSS not in post_html
    assert XSS_ESCAPED in post_html
    assert _tags(post_html).tags.count("script") == 1 + len(_figures(post_html))
    # inside the figures the value is escaped for Plotly, which would otherwise interpret the tags
    data, _ = _figure_json(post_html, "assay-f1-pre")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in data[0]["y"]


def test_escaping_of_every_document_string(post_doc: dict[str, Any]) -> None:
    doc = copy.deepcopy(post_doc)
    doc["label"] = XSS
    doc["label_value_or_threshold"] = XSS
    doc["data"]["source"] = XSS
    doc["facets"][0]["facet"] = XSS
    doc["facets"][0]["metrics"][0]["error"] = XSS
    doc["facets"][0]["metrics"][0]["value"] = None
    doc["warnings"].append({"code": XSS, "message": XSS})
    page = render_report_html(doc)
    assert XSS not in page
    assert XSS not in render_summary_html(doc)


def test_infinity_renders(inf_doc: dict[str, Any]) -> None:
    a = next(e for e in inf_doc["facets"] if e["value_or_threshold"] == "a")
    di = next(m for m in a["metrics"] if m["name"] == "DI")
    assert di["value"] == "Infinity"
    page = render_report_html(inf_doc)
    assert '<span class="v">∞</span>' in page
    assert '<span class="v">-∞</span>' in page
    data, _ = _figure_json(page, "assay-f1-post")
    di_bar = next(t for t in data if t["type"] == "bar" and t["name"] == "DI")
    row = di_bar["y"].index("a")
    assert di_bar["x"][row] is None  # no bar for an infinite value ...
    marks = [t for t in data if t["type"] == "scatter" and "a" in t["y"] and t["xaxis"] == di_bar["xaxis"]]
    assert any(t["text"][t["y"].index("a")] == "∞" for t in marks)  # ... a "∞" mark instead
    assert "Infinity" not in _without_plotly_js(page)
    summary = render_summary_html(inf_doc)
    assert "∞" in summary and "Infinity" not in summary


def test_hand_made_nulls_and_infinities_do_not_crash(post_doc: dict[str, Any]) -> None:
    doc = copy.deepcopy(post_doc)
    metrics = doc["facets"][0]["metrics"]
    metrics[0].update(value="Infinity", ci=[1.0, "Infinity"])
    metrics[1].update(value="-Infinity", ci=None)
    metrics[2].update(value=None, ci=None, status="error", error="facet d has no rows")
    metrics[3].update(value=0.5, ci=["-Infinity", "Infinity"])  # JS
    metrics[4].update(value=0.25, ci=[None, None])
    doc["performance"][1]["metrics"] = dict.fromkeys(doc["performance"][1]["metrics"])
    doc["performance"][1]["ci"] = {"base_rate": ["-Infinity", "Infinity"]}
    doc["spec"]["bootstrap"] = None
    page = render_report_html(doc)
    assert "facet d has no rows" in page
    assert '<span class="v">n/a</span>' in page
    assert "[1, ∞]" in page and "[-∞, ∞]" in page
    assert "off (no confidence intervals)" in page
    data, layout = _figure_json(page, "assay-f1-pre")
    panel = next(t for t in data if t["type"] == "bar" and t["name"] == "JS")
    lo, hi = layout[panel["xaxis"].replace("x", "xaxis")]["range"]
    # an infinite CI end runs past the edge of the axis, which clips it
    assert panel["x"][0] + panel["error_x"]["array"][0] > hi
    assert panel["x"][0] - panel["error_x"]["arrayminus"][0] < lo
    render_summary_html(doc)


def test_pre_training_only(pre_doc: dict[str, Any]) -> None:
    assert {m["stage"] for e in pre_doc["facets"] for m in e["metrics"]} == {"pre_training"}
    page = render_report_html(pre_doc)
    assert _figures(page) == ["assay-f1-pre", "assay-f1-perf"]
    assert "Post-training metrics" not in page
    assert "none (pre-training metrics only)" in page
    data, _ = _figure_json(page, "assay-f1-perf")
    assert data[0]["x"] == ["Base rate"]
    for name in _metric_names(pre_doc):
        assert f"<strong>{name}</strong>" in page


def test_score_adds_calibration(score_doc: dict[str, Any]) -> None:
    page = render_report_html(score_doc)
    assert _figures(page) == ["assay-f1-pre", "assay-f1-post", "assay-f1-perf", "assay-f1-cal"]
    for header in ("ROC AUC", "Brier score", "ECE (equal width)", "ECE (equal mass)"):
        assert f"<th>{header}</th>" in page
    for row in score_doc["performance"]:
        assert f"<td>{row['score']['roc_auc']:.4g}</td>" in page
        assert f"<td>{row['score']['ece_equal_mass']:.4g}</td>" in page
    data, _ = _figure_json(page, "assay-f1-cal")
    diagonals = [t for t in data if t["name"] == "perfect calibration"]
    assert len(diagonals) == 2 and diagonals[0]["x"] == [0, 1] == diagonals[0]["y"]
    curves = [t for t in data if t["name"] != "perfect calibration"]
    assert len(curves) == 2 * len(score_doc["performance"])  # every value and "all rows", both binnings
    first = score_doc["performance"][1]
    expected = [b["mean_score"] for b in first["score"]["reliability"] if b["mean_score"] is not None]
    assert curves[1]["x"] == pytest.approx(expected)
    assert "CDDL" in page and "needs a group column" in page  # no group: undefined, with the reason


def test_documents_without_facets_performance_or_spec() -> None:
    bare: dict[str, Any] = {"label": "y", "label_value_or_threshold": "1", "facets": [], "warnings": []}
    page = render_report_html(bare)
    assert "Bias report: y" in page and _figures(page) == []
    assert "No warnings." in render_summary_html(bare)
    assert "Bias report" in render_report_html({})
    render_summary_html({})


def test_performance_without_bias_entries(post_doc: dict[str, Any]) -> None:
    doc = copy.deepcopy(post_doc)
    doc["facets"] = []
    page = render_report_html(doc)
    assert _figures(page) == ["assay-f1-perf"]


def test_report_is_deterministic(post_doc: dict[str, Any], post_html: str) -> None:
    assert render_report_html(copy.deepcopy(post_doc)) == post_html


def test_intersections_get_their_own_section(frame: pd.DataFrame) -> None:
    df = frame.assign(h=np.where(frame["x1"] > 0, "hi", "lo"))
    doc = assay.assess(df, label="y", facets=["f", "h"], predicted="p", intersect=True, bootstrap=20).to_dict()
    page = render_report_html(doc)
    assert len({e["facet"] for e in doc["facets"]}) == 3
    assert [f for f in _figures(page) if f.endswith("-post")] == ["assay-f1-post", "assay-f2-post", "assay-f3-post"]
    assert "Facet f×h" in page


# ---- the Jupyter summary ------------------------------------------------------------------------------------


def test_summary_fragment(post_doc: dict[str, Any]) -> None:
    fragment = render_summary_html(post_doc)
    tags = _tags(fragment)
    assert "html" not in tags.tags and "script" not in tags.tags and "body" not in tags.tags
    assert tags.urls == []
    assert len(fragment) < 100_000
    for name in _metric_names(post_doc):
        assert f"<strong>{name}</strong>" in fragment
    for entry in post_doc["facets"]:
        assert html.escape(entry["value_or_threshold"]) in fragment
        for m in entry["metrics"]:
            if isinstance(m["value"], float):
                assert f'<span class="v">{m["value"]:.4g}</span>' in fragment
            if m["ci"] is not None and all(isinstance(c, float) for c in m["ci"]):
                assert f"[{m['ci'][0]:.4g}, {m['ci'][1]:.4g}]" in fragment
    for w in post_doc["warnings"]:
        assert html.escape(w["message"]) in fragment
    assert XSS not in fragment and XSS_ESCAPED in fragment


def test_summary_shows_errors_and_is_the_notebook_repr(frame: pd.DataFrame) -> None:
    report = assay.assess(frame, label="y", facets=["f"], predicted="p", bootstrap=20)
    fragment = report._repr_html_()
    assert fragment == render_summary_html(report.to_dict())
    assert "needs a group column" in fragment  # CDDL without a group
