"""How the web pages show values: numbers rounded for reading with full precision on hover, counts as whole
numbers, times without microseconds, codes and metric abbreviations in words. The ``.json`` twins and CSV
exports keep the stored values; only the pages use these filters."""

from __future__ import annotations

import datetime as dt
import math
from functools import cache
from typing import Any, Final

from markupsafe import Markup, escape

__all__ = ["FILTERS", "metric_name", "number", "words"]

# codes whose words are not the code with its underscores and hyphens as spaces
_WORDS: Final = {
    "iso42001": "ISO/IEC 42001",
    "nist-ai-rmf": "NIST AI RMF",
    "nist-ai-600-1": "NIST AI 600-1",
    "eu-ai-act": "EU AI Act",
    "high": "high",
    "unacceptable": "unacceptable (prohibited)",
    "limited": "limited (transparency duties)",
    "minimal": "minimal",
    "gpai": "general-purpose AI",
    "pre_training": "before training (data)",
    "post_training": "after training (predictions)",
    "not_applicable": "not applicable",
    "in_progress": "in progress",
    "n/a": "not applicable",
    "ok": "OK",
    "pii": "personal data",
    "ml": "machine learning",
}


def words(value: Any) -> str:
    """A stored code in words (``post_training`` -> ``after training (predictions)``, ``in_progress`` -> ``in
    progress``); anything else as it is."""
    if value is None:
        return "–"
    text = str(value)
    if text in _WORDS:
        return _WORDS[text]
    if text.isidentifier() or ("-" in text and " " not in text):
        return text.replace("_", " ").replace("-", " ") if text.islower() else text
    return text


def _plain(value: float, digits: int) -> str:
    if value == 0:
        return "0"
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 1:
        places = max(digits - (math.floor(math.log10(magnitude)) + 1), 0)
        return f"{value:.{places}f}".rstrip("0").rstrip(".") if places else f"{value:.0f}"
    places = max(digits, -math.floor(math.log10(magnitude)) + digits - 1)
    return f"{value:.{min(places, 12)}f}".rstrip("0").rstrip(".")


def number(value: Any, digits: int = 3) -> Markup:
    """A number for reading: counts whole (``1288.0`` -> ``1,288``), others to ``digits`` significant places at
    most, the full value on hover; ``–`` for none, the text for a non-number."""
    if value is None or value == "":
        return Markup("–")
    if isinstance(value, bool):
        return Markup("yes" if value else "no")
    if isinstance(value, str):
        try:
            parsed = float(value)
        except ValueError:
            return escape(value)
        value = parsed
    if not isinstance(value, (int, float)):
        return escape(str(value))
    if isinstance(value, float) and math.isnan(value):
        return Markup('<span class="num" title="undefined">–</span>')
    shown = _plain(float(value), digits) if isinstance(value, float) else f"{value:,}"
    if isinstance(value, int) or float(value).is_integer() or shown == repr(value):
        return Markup('<span class="num">{}</span>').format(shown)
    return Markup('<span class="num" title="{}">{}</span>').format(repr(value), shown)


def percent(value: Any, digits: int = 1) -> Markup:
    """A share (0..1) as a percentage, the share on hover."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return number(value)
    return Markup('<span class="num" title="{}">{}</span>').format(repr(value), f"{100 * value:.{digits}f} %")


@cache
def _metric_names() -> dict[str, str]:
    from assay.metrics.bias import METRICS

    names = {code: definition.description for code, definition in METRICS.items()}
    names.update({"accuracy": "Accuracy", "roc_auc": "ROC AUC (area under the ROC curve)", "brier": "Brier score",
                  "ece": "Expected calibration error (ECE)", "fpr": "False positive rate (FPR)",
                  "fnr": "False negative rate (FNR)", "selection_rate": "Selection rate"})  # fmt: skip
    return names


def metric_name(code: Any) -> str:
    """A metric's name in words with its abbreviation (``DI`` -> ``Disparate Impact (DI)``)."""
    text = str(code)
    return _metric_names().get(text, words(text))


def when(value: Any) -> Markup:
    """A stored time to the minute (UTC), the full value on hover."""
    if value is None or value == "":
        return Markup("–")
    moment = value
    if isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            return escape(value)
    if isinstance(moment, dt.datetime):
        shown = moment.strftime("%Y-%m-%d %H:%M") + (" UTC" if moment.utcoffset() in (None, dt.timedelta(0)) else "")
        return Markup('<time datetime="{}" title="{}">{}</time>').format(moment.isoformat(), moment.isoformat(), shown)
    if isinstance(moment, dt.date):
        return Markup('<time datetime="{}">{}</time>').format(moment.isoformat(), moment.isoformat())
    return escape(str(value))


FILTERS: Final = {"num": number, "pct": percent, "words": words, "metric": metric_name, "when": when}
