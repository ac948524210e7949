"""The model card's static SVG charts: drawn once per set of numbers, drawn again when a number changes."""

from __future__ import annotations

import pytest

from assay.reports import _static_charts as charts

ROWS = [{"label": "female", "value": 0.61, "ci": [0.55, 0.67]}, {"label": "male", "value": 1.0, "ci": None}]


def test_a_chart_is_drawn_once_per_set_of_numbers() -> None:
    first = charts.metric_interval_svg(ROWS, "DI", 1.0)
    assert first is not None and first.startswith("<svg")
    assert charts.metric_interval_svg(ROWS, "DI", 1.0) is first  # kept: the same numbers, the same chart
    changed = [{**ROWS[0], "value": 0.62}, ROWS[1]]
    second = charts.metric_interval_svg(changed, "DI", 1.0)
    assert second is not None and second is not first and second != first  # one number changed: drawn again
    assert charts.metric_interval_svg(ROWS, "DI", 0.8) != first  # the parity line is an argument too
    assert charts.calibration_svg([]) is None  # nothing to draw stays nothing


def test_the_kept_charts_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(charts, "_KEPT", 3)
    for i in range(6):
        charts.calibration_svg([{"mean_score": 0.5, "observed_rate": i / 10, "count": 10}])
    assert len(charts._kept) == 3
