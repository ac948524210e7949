"""Agreement with smclarify, the library a SageMaker Clarify job runs (expected values in tests/data/oracle,
made by tests/oracle/make_expected.py in a separate virtualenv; see tests/oracle/README.md)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

import assay
from assay.errors import InvalidInput
from assay.metrics.results import FacetEntry
from tests.support.oracle_cases import REAL_CASES, SYNTHETIC_EXPECTED, RealCase, load_real, synthetic_case

SYNTHETIC = json.loads(SYNTHETIC_EXPECTED.read_text())["cases"]
REAL_DIR = SYNTHETIC_EXPECTED.parent / "real"
DISTRIBUTIONS = ("KL", "JS", "LP", "TVD", "KS")


def check(name: str, expected: Any, entry: FacetEntry, tol: float = 1e-12) -> None:
    got = entry.metric(name)
    if expected is None:
        assert got.error is not None, f"{name}: smclarify errors, Assay gives {got.value}"
    elif expected in ("Infinity", "-Infinity"):
        assert got.value == (math.inf if expected == "Infinity" else -math.inf), (name, got)
    else:
        assert got.error is None, f"{name}: smclarify gives {expected}, Assay errors: {got.error}"
        assert got.value is not None
        assert abs(got.value - expected) <= tol, (name, got.value, expected)


def synthetic_entry(case: dict[str, Any], divergence: str) -> FacetEntry:
    df, spec = synthetic_case(case["i"])
    report = assay.assess(
        df, label="label", positive=[1], facets={"facet": spec["facet_values"]}, predicted="pred", group="group",
        features=spec["features"], bootstrap=0, divergence=divergence,  # type: ignore[arg-type]
    )  # fmt: skip
    return report.result.entries[0]


@pytest.mark.parametrize("case", SYNTHETIC, ids=lambda c: f"{c['i']}-{c['scenario']}")
def test_synthetic_case_agrees_with_smclarify(case: dict[str, Any]) -> None:
    direct = case["direct"]
    if case["properties"]["facet_d_empty"] or case["properties"]["all_label_neg"]:
        # a facet or positive label value that matches no row: smclarify computes on (facet set empty: errors
        # per metric; no positive label: numbers on an empty class), Assay refuses the value as a likely typo
        with pytest.raises(InvalidInput, match=r"value .* matches no row"):
            synthetic_entry(case, "clarify")
        return
    entry = synthetic_entry(case, "clarify")
    for stage in ("pre_training", "post_training"):
        for name, expected in direct[stage].items():
            check(name, expected, entry, tol=0.0 if name == "FT" else 1e-12)


def test_synthetic_cases_cover_the_edges() -> None:
    props = [c["properties"] for c in SYNTHETIC]
    assert len(SYNTHETIC) >= 200
    for flag in ("tiny_n", "facet_a_empty", "facet_d_size_1", "all_pred_pos", "all_pred_neg", "all_label_pos",
                 "all_false_negative", "d_no_pos_label", "group_without_pos_label"):  # fmt: skip
        assert sum(p[flag] for p in props) >= 5, flag


@pytest.mark.parametrize("case", SYNTHETIC[::3], ids=lambda c: f"{c['i']}-{c['scenario']}")
def test_sound_divergences_equal_clarify_when_both_facets_hold_both_labels(case: dict[str, Any]) -> None:
    p = case["properties"]
    if p["facet_d_empty"] or p["facet_a_empty"] or p["all_label_neg"]:
        return
    entry = synthetic_entry(case, "sound")
    complete = not (p["d_no_pos_label"] or p["d_no_neg_label"] or p["a_no_pos_label"] or p["a_no_neg_label"])
    for name in DISTRIBUTIONS:
        expected = case["direct"]["pre_training"][name]
        if complete:
            check(name, expected, entry)
        else:  # full support: still defined, never negative
            value = entry.metric(name).value
            assert value is not None
            assert value >= 0


def real_facets(case: RealCase) -> list[Any]:
    if case.facet_threshold is not None:
        return [assay.Facet(case.facet, threshold=case.facet_threshold)]
    if case.facet_values is None:
        return [case.facet]
    return [{case.facet: case.facet_values}]


@pytest.mark.realdata
@pytest.mark.parametrize("case", REAL_CASES, ids=lambda c: c.name)
def test_real_dataset_agrees_with_smclarify(case: RealCase, shared_data: Path) -> None:
    expected = json.loads((REAL_DIR / f"{case.name}.json").read_text())
    frame = load_real(case, shared_data)
    report = assay.assess(
        frame, label="label" if "label" in frame else case.label, positive=case.label_values,
        facets=real_facets(case), predicted=case.predicted, group=case.group, features=case.features,
        bootstrap=0,
    )  # fmt: skip
    entries = report.result.entries
    clarify = expected["report"]
    keys = list(clarify["pre_training"])
    assert len(entries) == len(keys)
    by_key = dict(zip(keys, entries, strict=True)) if case.facet_threshold is not None else None
    for key in keys:
        entry = by_key[key] if by_key is not None else report.result.entry(case.facet, key)
        for stage in ("pre_training", "post_training"):
            for name, value in clarify[stage][key].items():
                if name != "FT":
                    check(name, value, entry)
        check("FT", expected["flip_test"]["report"][key], entry, tol=0.0)
    assert report.result.label_value_or_threshold == clarify["label_value_or_threshold"]
