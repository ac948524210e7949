"""The oversight report (``workspace.oversight``): override rates by slice, reviewer and period from stored review
items and decisions, kappa per reviewer pair, time to decision and overdue items, contested cases and feedback;
degenerate input as warnings; recorded as evidence for the oversight controls; the ``oversight-report`` job kind.
On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from assay.errors import InvalidInput
from assay.services.jobs import run_next
from assay.services.workspace import Workspace
from assay.store.audit import EventFilter
from tests.support.oversight import T0, add_contested, add_feedback, add_item

NOW = T0 + dt.timedelta(days=20)


@pytest.fixture
def ws(workspace: Workspace) -> Workspace:
    workspace.systems.create({"name": "loans", "eu_ai_act_category": "high", "annex_iii_area": 5})
    workspace.models.register_version("loans", {"model": "lr", "version": "1"})
    return workspace


def codes(document: dict[str, Any]) -> list[str]:
    return [w["code"] for w in document["warnings"]]


def test_no_items_is_a_warning_not_a_number(ws: Workspace) -> None:
    doc = ws.oversight.summary("loans", now=NOW)
    assert doc["schema"] == "assay.oversight-report" and doc["schema_version"] == 1
    assert doc["items"]["total"] == 0 and doc["overrides"]["overall"]["rate"] is None
    assert doc["overrides"]["overall"]["ci"] is None
    assert codes(doc) == ["no_items"]
    assert doc["time_to_decision"]["p50"] is None and doc["overdue"]["share"] is None


def test_rates_agreement_time_and_counts(ws: Workspace) -> None:
    # 40 items reviewed twice by ann and ben (they agree but on 4), 40 once by cat; women's outcomes are changed
    # more often; one pending item past its deadline
    for i in range(40):
        sex = "F" if i % 2 else "M"
        change = sex == "F" and i % 4 == 1
        second = ("ben", "change", 0) if change and i != 1 else ("ben", "accept", None)
        if i in (2, 4, 6):
            second = ("ben", "escalate", None)
        add_item(ws, "loans", "lr@1", f"a{i}", features={"sex": sex, "age": 20 + i},
                 decisions=[("ann", "change", 0) if change else ("ann", "accept", None), second],
                 final=0 if change else 1, created_at=T0 + dt.timedelta(hours=i))  # fmt: skip
    for i in range(40):
        add_item(ws, "loans", "lr@1", f"c{i}", features={"sex": "F" if i < 10 else "M", "age": 30},
                 decisions=[("cat", "accept", None)], created_at=T0 + dt.timedelta(days=8, hours=i),
                 decided_after=dt.timedelta(hours=30))  # fmt: skip
    add_item(ws, "loans", "lr@1", "open", features={"sex": "M", "age": 40})
    add_contested(ws, "loans", "lr@1", "a1", outcome="overturned")
    add_contested(ws, "loans", "lr@1", "a3")
    for rating in (5, 4, 4, 2):
        add_feedback(ws, "loans", rating)
    add_feedback(ws, "loans", None)

    doc = ws.oversight.summary("loans", now=NOW)
    assert doc["items"] == {"total": 81, "decided": 80, "pending": 1, "claimed": 0, "escalated": 0,
                            "by_source": {"api": 81}, "doubly_reviewed": 40}  # fmt: skip
    overall = doc["overrides"]["overall"]
    assert (overall["n"], overall["overridden"], overall["rate"]) == (80, 10, 0.125)
    assert overall["ci"][0] < 0.125 < overall["ci"][1]
    sex = next(s for s in doc["overrides"]["by_slice"] if s["slice"] == "sex")
    assert {r["key"]: (r["n"], r["overridden"]) for r in sex["rates"]} == {"F": (30, 10), "M": (50, 0)}
    assert [s["slice"] for s in doc["overrides"]["by_slice"]] == ["sex"]  # age has too many values for a slice
    assert "many_values" in codes(doc)
    reviewers = {r["key"]: r for r in doc["overrides"]["by_reviewer"]}
    assert (reviewers["ann"]["n"], reviewers["ann"]["overridden"]) == (40, 10)
    assert (reviewers["ben"]["decisions"], reviewers["ben"]["escalated"], reviewers["ben"]["overridden"]) == (40, 3, 9)
    assert reviewers["cat"]["seconds"]["p50"] == 30 * 3600
    assert doc["overrides"]["by_model_version"][0]["key"] == "lr@1"
    # over time: 40 items on the first two days, 40 on days 9-10: by day (the span is under a month)
    over = doc["overrides"]["over_time"]
    assert over["bucket"] == "day" and over["overall"][0]["key"] == "2026-03-02"
    assert sum(r["n"] for r in over["overall"]) == 80
    series = {s["value"]: s["rates"] for s in over["by_slice"][0]["series"]}
    assert set(series) == {"F", "M"}
    # agreement: ann and ben on 40 shared items
    (pair,) = doc["agreement"]["pairs"]
    assert pair["reviewers"] == ["ann", "ben"] and pair["n"] == 40
    assert set(pair["categories"]) == {"0", "1", "escalate"}
    assert 0.5 < pair["kappa"] < 1 and pair["ci"][0] < pair["kappa"] < pair["ci"][1]
    # time to decision: 40 in one hour, 40 in thirty
    assert doc["time_to_decision"] == {"unit": "seconds", "n": 80, "p50": 55800.0, "p90": 108000.0, "max": 108000.0}
    assert doc["overdue"]["decided_late"] == 40 and doc["overdue"]["open_overdue"] == 1
    assert "overdue" in codes(doc)
    assert doc["contested"] == {"opened": 2, "open": 1, "decided": 1, "withdrawn": 0, "upheld": 0, "overturned": 1}
    assert doc["feedback"]["count"] == 5 and doc["feedback"]["rated"] == 4
    (stars,) = doc["feedback"]["ratings"]
    assert stars["scale"] == 5 and stars["mean"] == 3.75 and stars["interval"] == "student-t"
    # the bias signal: F's override rate (1/3) against M's (0) on 30 and 50 items
    female = next(t for t in doc["bias_signal"]["slices"] if t["value"] == "F")
    assert female["verdict"] == "flagged" and female["p_adjusted"] < 0.01
    assert doc["bias_signal"]["flagged"] == [{"slice": "sex", "value": "F"}]
    assert "override_bias_signal" in codes(doc)

    # a period and explicit slices
    early = ws.oversight.summary("loans", since="2026-03-01", until=dt.date(2026, 3, 5), slices=["sex*age"], now=NOW)
    assert early["items"]["total"] == 41 and early["period"]["since"] == "2026-03-01T00:00:00+00:00"
    assert early["overrides"]["by_slice"][0]["slice"] == "sex×age"
    assert "small_slice" in codes(early)  # every sex×age value has one item
    weekly = ws.oversight.summary("loans", bucket="week", now=NOW)
    assert [r["key"] for r in weekly["overrides"]["over_time"]["overall"]] == ["2026-W10", "2026-W11"]


def test_one_reviewer_and_one_slice_value_are_warnings(ws: Workspace) -> None:
    for i in range(5):
        add_item(ws, "loans", "lr@1", f"x{i}", features={"sex": "F"}, decisions=[("ann", "accept", None)])
    doc = ws.oversight.summary("loans", now=NOW)
    assert {"one_reviewer", "one_slice"} <= set(codes(doc))
    assert doc["agreement"]["pairs"] == [] and doc["bias_signal"]["slices"] == []


def test_bad_input_names_the_field(ws: Workspace) -> None:
    add_item(ws, "loans", "lr@1", "x", features={"sex": "F"}, decisions=[("ann", "accept", None)])
    with pytest.raises(InvalidInput, match=r"slice column 'region' is not a feature .* \(features: sex\)"):
        ws.oversight.summary("loans", slices=["region"])
    with pytest.raises(InvalidInput, match="since 'yesterday' is not an ISO 8601"):
        ws.oversight.summary("loans", since="yesterday")
    with pytest.raises(InvalidInput, match=r"until .* must be after since"):
        ws.oversight.summary("loans", since="2026-03-02", until="2026-03-01")
    with pytest.raises(InvalidInput, match="slice 'a\\*b\\*c'"):
        ws.oversight.summary("loans", slices=["a*b*c"])


def test_record_links_the_oversight_controls(ws: Workspace) -> None:
    for i in range(3):
        add_item(ws, "loans", "lr@1", f"x{i}", features={"sex": "F"}, decisions=[("ann", "accept", None)])
    recorded = ws.oversight.record("loans", now=NOW)
    assert recorded.kind == "assay.oversight-report" and recorded.document["items"]["total"] == 3
    linked = {(e.framework, e.control_id) for e in ws.controls.list_evidence("loans")}
    assert {("iso42001", "A.9.2"), ("iso42001", "A.8.4"), ("nist-ai-rmf", "GOVERN 3.2"),
            ("nist-ai-rmf", "MANAGE 4.1"), ("eu-ai-act", "Art. 14.ob4")} <= linked  # fmt: skip
    assert ws.audit.log(EventFilter(action="assessment.record"))[-1].payload["kind"] == "assay.oversight-report"
    assert ws.audit.verify().ok


def test_the_oversight_report_job_records_it(ws: Workspace) -> None:
    add_item(ws, "loans", "lr@1", "recent", features={"sex": "F"}, decisions=[("ann", "accept", None)],
             created_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=1))  # fmt: skip
    add_item(ws, "loans", "lr@1", "old", features={"sex": "F"}, decisions=[("ann", "accept", None)],
             created_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=30))  # fmt: skip
    with pytest.raises(InvalidInput, match=r"params\.days 0 must be"):
        ws.jobs.submit("oversight-report", {"days": 0}, system="loans")
    with pytest.raises(InvalidInput, match=r"params\.window"):
        ws.jobs.submit("oversight-report", {"window": 3}, system="loans")
    job = ws.jobs.submit("oversight-report", {"days": 7, "slices": ["sex"]}, system="loans")
    assert run_next(ws) is not None
    done = ws.jobs.get(job.id)
    assert done.status == "succeeded", done.error
    assert done.result["items"] == 1 and done.result["override_rate"] == 0.0
    assessment = ws.assessments.get("loans", done.result["assessment"])
    assert assessment.document["overrides"]["by_slice"][0]["slice"] == "sex"
