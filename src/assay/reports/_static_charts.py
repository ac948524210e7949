"""Static SVG charts (matplotlib) for documents that must print: model cards in HTML and PDF.

The interactive report uses Plotly; a model card is a document that is read, printed and archived, so its
charts are plain SVG embedded in the page, the same in the browser and in the PDF.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ParamSpec

from markupsafe import Markup

__all__ = ["calibration_svg", "metric_interval_svg", "performance_svg"]

_BLUE = "#4C72B0"
_ORANGE = "#DD8452"
_GREY = "#9a9a9a"
_NO_METADATA = {"Date": None, "Creator": None, "Format": None, "Type": None}  # no RDF block, same bytes every run


_P = ParamSpec("_P")
_KEPT = 256  # charts kept: a chart is a pure function of its numbers, drawn once per set of them
_kept: OrderedDict[str, Markup | None] = OrderedDict()
_kept_lock = threading.Lock()


def _drawn_once(draw: Callable[_P, Markup | None]) -> Callable[_P, Markup | None]:
    """Keep the last :data:`_KEPT` charts by a digest of the function and its arguments: matplotlib takes 30-60 ms a
    chart, and a model card's page draws the same charts on every view until its assessment changes."""

    @functools.wraps(draw)
    def drawn(*args: _P.args, **kwargs: _P.kwargs) -> Markup | None:
        given = json.dumps([draw.__name__, args, kwargs], sort_keys=True, default=repr)
        key = hashlib.sha256(given.encode()).hexdigest()
        with _kept_lock:
            if key in _kept:
                _kept.move_to_end(key)
                return _kept[key]
        chart = draw(*args, **kwargs)
        with _kept_lock:
            _kept[key] = chart
            while len(_kept) > _KEPT:
                _kept.popitem(last=False)
        return chart

    return drawn


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _svg(figure: Any) -> Markup:
    plt = _pyplot()
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight", metadata=_NO_METADATA)
    plt.close(figure)
    text = buffer.getvalue()
    return Markup(text[text.index("<svg") :])  # drop the XML prolog and doctype: the SVG is inlined


def _finite(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


@_drawn_once
def metric_interval_svg(rows: Sequence[Mapping[str, Any]], metric: str, parity: float) -> Markup | None:
    """A forest plot: one row per facet value with the metric's value and interval, a line at parity."""
    points = [(r["label"], _finite(r.get("value")), r.get("ci")) for r in rows]
    points = [(label, value, ci) for label, value, ci in points if value is not None]
    if not points:
        return None
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(6.2, 0.42 * len(points) + 0.9))
    for position, (_label, value, ci) in enumerate(points):
        low = _finite(ci[0]) if ci else None
        high = _finite(ci[1]) if ci else None
        if low is not None and high is not None:
            axis.plot([low, high], [position, position], color=_BLUE, linewidth=2)
        axis.plot(
            [value],
            [position],
            "o",
            color=_ORANGE if ci and low is not None and (low > parity or (high or parity) < parity) else _BLUE,
        )
    axis.axvline(parity, color=_GREY, linestyle="--", linewidth=1)
    axis.set_yticks(range(len(points)), [label for label, _, _ in points])
    axis.invert_yaxis()
    axis.set_xlabel(f"{metric} (parity = {parity:g}); line: confidence interval")
    axis.spines[["top", "right"]].set_visible(False)
    return _svg(figure)


@_drawn_once
def performance_svg(groups: Sequence[Mapping[str, Any]], rates: Sequence[str]) -> Markup | None:
    """Grouped bars: each rate (accuracy, FPR, FNR, ...) by group."""
    present = [r for r in rates if any(_finite(g["metrics"].get(r)) is not None for g in groups)]
    if not groups or not present:
        return None
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(6.2, 2.8))
    width = 0.8 / len(groups)
    colours = plt.get_cmap("tab10")
    for index, group in enumerate(groups):
        values = [_finite(group["metrics"].get(r)) or 0.0 for r in present]
        offsets = [x + (index - (len(groups) - 1) / 2) * width for x in range(len(present))]
        axis.bar(offsets, values, width=width, label=group["label"], color=colours(index % 10))
    axis.set_xticks(range(len(present)), present)
    axis.set_ylim(0, 1)
    axis.legend(fontsize=7, ncols=min(len(groups), 4), loc="upper center", bbox_to_anchor=(0.5, -0.12), frameon=False)
    axis.spines[["top", "right"]].set_visible(False)
    return _svg(figure)


@_drawn_once
def calibration_svg(bins: Sequence[Mapping[str, Any]]) -> Markup | None:
    """A reliability diagram: observed positive rate against mean score per bin, with the diagonal."""
    points = [(_finite(b.get("mean_score")), _finite(b.get("observed_rate")), int(b.get("count") or 0)) for b in bins]
    points = [(x, y, n) for x, y, n in points if x is not None and y is not None and n > 0]
    if not points:
        return None
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(3.4, 3.2))
    axis.plot([0, 1], [0, 1], color=_GREY, linestyle="--", linewidth=1)
    axis.plot([p[0] for p in points], [p[1] for p in points], "o-", color=_BLUE)
    axis.set_xlim(0, 1)
    axis.set_ylim(0, 1)
    axis.set_xlabel("mean score")
    axis.set_ylabel("observed positive rate")
    axis.spines[["top", "right"]].set_visible(False)
    return _svg(figure)
