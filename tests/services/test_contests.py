"""Contested decisions on a real model (a scikit-learn pipeline trained on adult, saved with skops): found by
inference id in the review queue, in the capture, or given by the operator; explained by the explain-decisions job
(SHAP factors and a verified counterfactual); decided by an overseer (not a reviewer) with the letter; counted in
the model card and the Annex IV documentation. On SQLite and PostgreSQL through the ``workspace`` fixture."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from assay.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from assay.reports.techdocs import render_techdocs_markdown
from assay.services.decisions import JOB_KIND, queue_explanations
from assay.services.jobs import run_next
from assay.services.workspace import Workspace
from assay.store.audit import EventFilter
from tests.support.contests import SETTINGS, add_review_item, credit_system, negatives, row
from tests.support.people import People

pytestmark = pytest.mark.realdata


@pytest.fixture
def ws(workspace: Workspace, shared_data: Path, tmp_path: Path) -> Workspace:
    credit_system(workspace, shared_data, tmp_path / "files")
    return workspace


def _run_jobs(ws: Workspace) -> list[int]:
    done = []
    while (job := run_next(ws, threading.Event())) is not None:
        done.append(job)
    return done


def test_a_case_on_a_review_item_is_explained_decided_and_its_letter_names_the_factors(
    ws: Workspace, shared_data: Path
) -> None:
    people = negatives(shared_data, 1)
    add_review_item(ws, "credit", "inf-1", row(people, 0), 0)
    case = ws.contests.open("credit", "inf-1", requester="ref-778", grounds="I work more hours now")
    assert case.item_id is not None and case.decision["prediction"] == 0 and case.explanation is None
    assert (case.due_at - case.created_at).days == 30
    queued = ws.jobs.list(system="credit", status="queued")[0]
    assert [j.kind for j in queued] == [JOB_KIND]
    assert queue_explanations(ws, "credit") is None  # one queued job is enough
    job = ws.jobs.submit(JOB_KIND, SETTINGS, system="credit")  # with the system's words and actionable features
    ws.jobs.cancel(queued[0].id)
    assert _run_jobs(ws) == [job.id] and ws.jobs.get(job.id).status == "succeeded"
    assert ws.jobs.get(job.id).result == {"items": 1, "cases": 1, "errors": 0}
    case = ws.contests.get("credit", case.id)
    factors = case.explanation["factors"]
    assert (
        factors
        and factors[0]["sentence"].startswith("Your ")
        and "chance of approval the most" in factors[0]["sentence"]
    )
    counterfactual = case.counterfactual
    assert counterfactual["found"] and counterfactual["verified"]
    assert {c["feature"] for c in counterfactual["changes"]} <= set(SETTINGS["actionable"])
    assert counterfactual["sentence"].endswith("the outcome would have been approval.")
    events = [e.action for e in ws.audit.log(EventFilter(object_type="contested_cases"))]
    assert events == ["contest.open", "contest.explain"]

    decided = ws.contests.decide("credit", case.id, outcome="overturned", new_decision=1,
                                 rationale="Payslips show 50 hours a week.")  # fmt: skip
    assert decided.status == "decided" and decided.new_decision == {"prediction": 1}
    letter = ws.contests.letter("credit", case.id)
    assert factors[0]["sentence"] in letter and counterfactual["sentence"] in letter
    assert "changed it. The new decision is: 1." in letter and "GDPR Art. 77" in letter and "ref-778" in letter
    with pytest.raises(Conflict, match="decided"):
        ws.contests.decide("credit", case.id, outcome="upheld", rationale="again")
    assert ws.contests.counts("credit")["overturned"] == 1


def test_a_decision_is_found_in_the_capture_or_given_and_an_unknown_id_is_named(
    ws: Workspace, shared_data: Path
) -> None:
    people = negatives(shared_data, 3)
    fields = [{"name": "prediction", "type": "integer", "required": True},
              {"name": "score", "type": "float", "required": True}]  # fmt: skip
    ws.capture.configure("credit", "gbm@1", add_fields=fields, optional=["y"])
    ws.capture.ingest("credit", "gbm@1", [{"inference_id": f"c{i}", **row(people, i), "prediction": 0, "score": 0.1}
                                          for i in range(3)], "b1")  # fmt: skip
    case = ws.contests.open("credit", "c2")
    assert case.decision["prediction"] == 0 and case.decision["score"] == 0.1 and case.item_id is None
    assert case.features == {**row(people, 2), "y": None}  # every captured field but the id and the decision
    with pytest.raises(NotFound, match="'nope'"):
        ws.contests.open("credit", "nope")
    given = ws.contests.open("credit", "nope", decision=0, features=row(people, 0))
    assert given.decision == {"prediction": 0}
    with pytest.raises(Conflict, match="already contested"):
        ws.contests.open("credit", "c2")
    withdrawn = ws.contests.withdraw("credit", given.id, reason="resolved by phone")
    assert withdrawn.status == "withdrawn"
    assert [c.id for c in ws.contests.list("credit", status="open")] == [case.id]
    with pytest.raises(InvalidInput, match="rationale is required"):
        ws.contests.decide("credit", case.id, outcome="upheld", rationale=" ")
    with pytest.raises(InvalidInput, match="new decision"):
        ws.contests.decide("credit", case.id, outcome="overturned", rationale="x")


def test_a_model_version_without_training_data_gets_the_reason_and_the_other_rows_are_explained(
    ws: Workspace, shared_data: Path, tmp_path: Path
) -> None:
    people = negatives(shared_data, 2)
    ws.models.register_version("credit", {"model": "gbm", "version": "2"}, artifact=tmp_path / "files" / "gbm.skops")
    ws.contests.open("credit", "a", model_version="gbm@2", decision=0, features=row(people, 0), queue=False)
    ws.contests.open("credit", "b", model_version="gbm@1", decision=0, features=row(people, 1), queue=False)
    job = queue_explanations(ws, "credit", SETTINGS)
    assert job is not None
    _run_jobs(ws)
    assert ws.jobs.get(job.id).result == {"items": 0, "cases": 2, "errors": 1}
    by_id = {c.inference_id: c for c in ws.contests.list("credit")}
    assert "no training dataset version" in by_id["a"].explanation["error"]
    assert by_id["b"].counterfactual["found"]


def test_a_reviewer_may_not_decide_a_case_an_overseer_may(ws: Workspace, shared_data: Path) -> None:
    people = People(ws)
    people("olga", credit="overseer")
    rita = people("rita", credit="reviewer")
    case = people.admin.contests.open("credit", "x1", decision=0, features=row(negatives(shared_data, 1), 0),
                                      queue=False)  # fmt: skip
    with pytest.raises(PermissionDenied, match="reviewers may not decide contested cases"):
        rita.contests.decide("credit", case.id, outcome="upheld", rationale="fine")
    with pytest.raises(PermissionDenied):
        rita.contests.open("credit", "x2", decision=0, features={"age": 1})
    decided = people("olga").contests.decide("credit", case.id, outcome="upheld", rationale="The rules were applied.")
    assert decided.reviewer == "olga" and "it stands" in (decided.letter or "")
    assert "could not prepare an explanation" in decided.letter  # the job has not run: said plainly


def test_cases_are_counted_in_the_model_card_and_the_annex_iv_documentation(ws: Workspace, shared_data: Path) -> None:
    people = negatives(shared_data, 2)
    first = ws.contests.open("credit", "m1", decision=0, features=row(people, 0), queue=False)
    ws.contests.open("credit", "m2", decision=0, features=row(people, 1), queue=False)
    ws.contests.decide("credit", first.id, outcome="overturned", new_decision=1, rationale="Income evidence.")
    card = ws.cards.build("credit", "gbm@1")
    assert card["contested"]["opened"] == 2 and card["contested"]["overturned"] == 1
    assert card["contested"]["median_days_to_decision"] is not None
    assert "Contested decisions: 2 opened, 1 decided, 1 overturned" in ws.cards.render(card, "md").decode()
    text = render_techdocs_markdown(ws.techdocs.build("credit"))
    assert "**Contested decisions (GDPR Art. 22(3), EU AI Act Art. 86)**: 2 opened, 1 decided, 1 overturned" in text


def test_a_held_prediction_is_explained_by_the_job_and_masked_for_a_reviewer(ws: Workspace, shared_data: Path) -> None:
    """The whole path: the review service holds a prediction and queues the explain-decisions job; a worker explains
    it with the system's words; a reviewer sees the explanation with the personal column (age) masked everywhere."""
    import yaml

    team = People(ws)
    owner = team("olga", credit="owner")
    reviewer = team("rita", credit="reviewer")
    owner.review.configure(
        "credit",
        text=yaml.safe_dump(
            {"rules": [{"name": "every case", "sample": 1.0}], "personal_columns": ["age"], "explanation": SETTINGS}
        ),
    )
    features = row(negatives(shared_data, 1), 0)
    held = owner.review.route("credit", "gbm@1", "p-1", features, {"prediction": 0, "score": 0.3})
    assert held["status"] == "review"
    assert [j.kind for j in ws.jobs.list(system="credit", status="queued")[0]] == [JOB_KIND]
    _run_jobs(ws)
    seen_by_owner = owner.review.item("credit", held["item_id"])["explanation"]
    assert seen_by_owner["factors"] and "refusal" in seen_by_owner["summary"]
    seen = reviewer.review.item("credit", held["item_id"])
    assert seen["features"]["age"] == "•••" and seen["explanation"]["features"]["age"] == "•••"
    age = next(f for f in seen["explanation"]["factors"] if f["feature"] == "age")
    assert age["value"] == "•••" and str(features["age"]) not in age["sentence"]
