"""The review queue and the kill switch: routing rules (band, slice, feature rules, reproducible audit sample),
versioned configuration, claims, decisions (single and double review, escalation to an overseer), masking of personal
columns by role, labels sent to capture, pause and resume. On SQLite and PostgreSQL through the ``workspace``
fixture, with real users (``people``)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from assay.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from assay.governance.oversight import condition, parse_review, routes, sampled
from assay.services.review import read_records
from assay.services.workspace import Workspace
from assay.store.audit import EventFilter
from tests.support.people import People

CONFIG = """
schema: assay.review/1
sla: 1h
claim_timeout: 30m
personal_columns: [email]
outcomes: [0, 1]
rules:
  - name: uncertain
    score_between: [0.4, 0.6]
  - name: young
    slice: {age_group: "<25"}
  - name: large
    when: ["amount > 10000"]
"""


@pytest.fixture
def team(workspace: Workspace, tmp_path: Path, people: People) -> dict[str, Any]:
    train = tmp_path / "train.csv"
    pd.DataFrame(
        {"age_group": ["<25", "25-60"], "amount": [10, 20], "email": ["a@b.org", "c@d.org"], "y": [0, 1]}
    ).to_csv(train, index=False)
    admin = people.admin
    admin.systems.create({"name": "credit", "eu_ai_act_category": "high", "annex_iii_area": 5})
    admin.datasets.register_version({"dataset": "train", "version": "1"}, system="credit", file=train)
    admin.models.register_version("credit", {"model": "scorer", "version": "1", "training_dataset": "train@1"})
    owner = people("olga", credit="owner")
    owner.review.configure("credit", text=CONFIG)
    return {
        "admin": admin,
        "owner": owner,
        "rita": people("rita", credit="reviewer"),
        "rob": people("rob", credit="reviewer"),
        "otto": people("otto", credit="overseer"),
        "vic": people("vic", credit="viewer"),
    }


def ask(ws: Workspace, ident: str, score: float | None = 0.9, age: str = "25-60", amount: int = 100) -> dict[str, Any]:
    features = {"age_group": age, "amount": amount, "email": f"{ident}@x.org"}
    return ws.review.route("credit", "scorer@1", ident, features, {"prediction": 1, "score": score})


def test_conditions_parse_and_hold() -> None:
    assert condition("amount > 10000").holds(10001)
    assert not condition("amount > 10000").holds(10000)
    assert condition("purpose in [car, business]").holds("car")
    assert condition("purpose not in [car, business]").holds("home")
    assert condition('region != "north"').holds("south")
    assert condition("flag == true").holds(True)
    assert condition("amount <= 5").holds(5.0)
    with pytest.raises(ValueError, match="COLUMN OP VALUE"):
        condition("amount >> 5")
    with pytest.raises(ValueError, match="takes a list"):
        condition("purpose in car")


def test_configuration_errors_name_the_key() -> None:
    with pytest.raises(InvalidInput, match=r"rules\[0\]: rule .nothing. states no condition"):
        parse_review("rules: [{name: nothing}]")
    with pytest.raises(InvalidInput, match=r"rules\[0\]\.score_between: the band"):
        parse_review("rules: [{name: band, score_between: [0.7, 0.3]}]")
    with pytest.raises(InvalidInput, match=r"double_review"):
        parse_review("double_review: 2\nrules: [{name: s, sample: 0.1}]")
    with pytest.raises(InvalidInput, match=r"unknown: is not a known key"):
        parse_review("unknown: 1\nrules: [{name: s, sample: 0.1}]")
    with pytest.raises(InvalidInput, match=r"given twice"):
        parse_review("rules: [{name: s, sample: 0.1}, {name: s, sample: 0.2}]")
    with pytest.raises(InvalidInput, match=r"sla"):
        parse_review("sla: forever\nrules: [{name: s, sample: 0.1}]")


def test_the_audit_sample_is_reproducible_and_near_its_share() -> None:
    settings = parse_review("rules: [{name: audit, sample: 0.05}]").model_dump(mode="json", by_alias=True)
    chosen = [i for i in range(20_000) if routes(settings, "k", str(i), {}, None)]
    assert 0.045 < len(chosen) / 20_000 < 0.055
    assert chosen == [i for i in range(20_000) if routes(settings, "k", str(i), {}, None)]  # the same ids again
    assert sampled("a", "x", 1.0)


def test_routing_answers_proceed_review_and_finds_the_same_item(team: dict[str, Any]) -> None:
    owner = team["owner"]
    assert ask(owner, "a1")["status"] == "proceed"
    held = ask(owner, "a2", score=0.5, age="<25")
    assert held["status"] == "review" and held["review"] is True
    assert held["reasons"] == ["uncertain", "young"]
    assert ask(owner, "a2", score=0.5, age="<25")["item_id"] == held["item_id"]  # asked again: the same item
    assert ask(owner, "a3", amount=20_000)["reasons"] == ["large"]
    with pytest.raises(InvalidInput, match="'amount'"):
        owner.review.route("credit", "scorer@1", "a4", {"age_group": "x"}, {"prediction": 1, "score": 0.9})
    with pytest.raises(InvalidInput, match="score"):
        ask(owner, "a5", score=None)
    with pytest.raises(InvalidInput, match="prediction"):
        owner.review.route("credit", "scorer@1", "a6", {}, {"score": 0.5})
    with pytest.raises(PermissionDenied):
        ask(team["rita"], "a7")  # a reviewer is not the deployed service
    events = owner.audit.log(EventFilter(action="review.item"))
    assert len(events) == 2


def test_the_configuration_is_versioned_and_can_be_switched_off(team: dict[str, Any]) -> None:
    owner = team["owner"]
    with pytest.raises(PermissionDenied):
        team["rita"].review.configure("credit", text=CONFIG)
    off = owner.review.switch("credit", active=False, reason="pilot ended")
    assert off["version"] == 2 and off["active"] is False
    assert ask(owner, "b1", score=0.5)["status"] == "proceed"
    with pytest.raises(Conflict):
        owner.review.switch("credit", active=False, reason="again")
    owner.review.switch("credit", active=True, reason="back")
    assert ask(owner, "b2", score=0.5)["status"] == "review"
    assert [c["version"] for c in owner.review.configs("credit")] == [3, 2, 1]


def test_a_reviewer_claims_and_decides_and_personal_columns_are_masked(team: dict[str, Any]) -> None:
    owner, rita, rob = team["owner"], team["rita"], team["rob"]
    item_id = ask(owner, "c1", score=0.5)["item_id"]
    shown = rita.review.item("credit", item_id)
    assert shown["features"]["email"] == "•••" and shown["masked"] == ["email"]
    assert owner.review.item("credit", item_id)["features"]["email"] == "c1@x.org"
    assert team["otto"].review.item("credit", item_id)["features"]["email"] == "c1@x.org"
    with pytest.raises(PermissionDenied):
        team["vic"].review.item("credit", item_id)
    rita.review.claim("credit", item_id)
    assert [i["id"] for i in rita.review.queue("credit", mine=True)] == [item_id]
    assert rob.review.queue("credit", mine=True).total == 0
    with pytest.raises(Conflict, match="claimed by rita"):
        rob.review.claim("credit", item_id)
    with pytest.raises(Conflict, match="claimed by rita"):
        rob.review.decide("credit", item_id, "accept")
    with pytest.raises(InvalidInput, match="reason"):
        rita.review.decide("credit", item_id, "change", outcome=0)
    with pytest.raises(InvalidInput, match="not one of the outcomes"):
        rita.review.decide("credit", item_id, "change", outcome=7, reason="r")
    with pytest.raises(InvalidInput, match="accept it instead"):
        rita.review.decide("credit", item_id, "change", outcome=1, reason="r")
    decided = rita.review.decide("credit", item_id, "change", outcome=0, reason="income verified by phone")
    assert decided["status"] == "decided" and decided["final"] == {"prediction": 0} and decided["overridden"] is True
    assert decided["decisions"][0]["reviewer"] == "rita"
    with pytest.raises(Conflict, match="decided already"):
        rob.review.decide("credit", item_id, "accept")
    assert owner.review.labels("credit") == [
        {"model_version": "scorer@1", "inference_id": "c1", "label": 0, "overridden": True,
         "decided_at": decided["decided_at"]}
    ]  # fmt: skip
    assert [i["id"] for i in rita.review.queue("credit", status="decided")] == [item_id]
    assert rita.review.queue("credit").total == 0


def test_escalation_goes_to_an_overseer(team: dict[str, Any]) -> None:
    owner, rita, otto = team["owner"], team["rita"], team["otto"]
    item_id = ask(owner, "d1", score=0.5)["item_id"]
    assert rita.review.decide("credit", item_id, "escalate", reason="unsure")["status"] == "escalated"
    with pytest.raises(PermissionDenied):
        team["rob"].review.decide("credit", item_id, "accept")
    decided = otto.review.decide("credit", item_id, "accept")
    assert decided["status"] == "decided" and decided["overridden"] is False


def test_double_review_agreement_decides_and_disagreement_escalates(team: dict[str, Any]) -> None:
    owner, rita, rob = team["owner"], team["rita"], team["rob"]
    owner.review.configure("credit", text=CONFIG + "double_review: 1\n")
    first = ask(owner, "e1", score=0.5)["item_id"]
    second = ask(owner, "e2", score=0.5)["item_id"]
    assert owner.review.item("credit", first)["reviews_needed"] == 2
    rita.review.claim("credit", first)
    rob.review.claim("credit", first)  # two reviewers may hold a doubly reviewed item
    assert rita.review.decide("credit", first, "accept")["status"] == "pending"
    with pytest.raises(Conflict, match="already"):
        rita.review.decide("credit", first, "accept")
    assert rob.review.decide("credit", first, "accept")["status"] == "decided"
    rita.review.decide("credit", second, "accept")
    assert rob.review.decide("credit", second, "change", outcome=0, reason="x")["status"] == "escalated"


def test_overdue_items_are_flagged(team: dict[str, Any]) -> None:
    owner = team["owner"]
    item_id = ask(owner, "f1", score=0.5)["item_id"]
    from sqlalchemy import update

    from assay.store.models import ReviewItem

    with owner.store.write("test") as tx:  # the deadline passed (an hour's SLA, two hours ago)
        tx.session.execute(
            update(ReviewItem)
            .where(ReviewItem.id == item_id)
            .values(due_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=2))
        )
    overdue = owner.review.queue("credit", overdue=True)
    assert [i["id"] for i in overdue] == [item_id] and overdue[0]["overdue"] is True
    assert owner.review.queue("credit", overdue=False).total == 0


def test_a_decision_becomes_the_capture_label(team: dict[str, Any]) -> None:
    owner, rita = team["owner"], team["rita"]
    owner.capture.configure(
        "credit", "scorer@1", add_fields=[{"name": "prediction", "type": "integer"}], label_column="y"
    )
    item_id = ask(owner, "g1", score=0.5)["item_id"]
    decided = rita.review.decide("credit", item_id, "change", outcome=0, reason="checked")
    assert decided["label"] == "sent"
    now = dt.datetime.now(dt.UTC)
    owner.capture.ingest(
        "credit", "scorer@1",
        [{"inference_id": "g1", "age_group": "<25", "amount": 5, "email": "x", "prediction": 1}], "b1",
    )  # fmt: skip
    with owner.capture.window("credit", "scorer@1", now - dt.timedelta(hours=1), now + dt.timedelta(hours=1)) as w:
        frame = w.frame.lazy.collect().to_pandas()
    assert frame.loc[frame["inference_id"] == "g1", "y"].tolist() == [0]


def test_the_kill_switch_pauses_routing_and_is_audited(team: dict[str, Any]) -> None:
    owner, otto, rita = team["owner"], team["otto"], team["rita"]
    with pytest.raises(PermissionDenied):
        rita.review.pause("credit", "scorer@1", reason="x")
    paused = otto.review.pause("credit", "scorer@1", reason="complaints spike", fallback="route to the branch office")
    assert paused["active"] and paused["notified"][0]["channel"] == "log"
    answer = ask(owner, "h1")
    assert answer["status"] == "paused" and answer["fallback"] == "route to the branch office"
    with pytest.raises(Conflict, match="paused already"):
        otto.review.pause("credit", "scorer@1", reason="again")
    with pytest.raises(Conflict, match="paused"):
        owner.review.submit("credit", "scorer@1", [{"inference_id": "s", "prediction": 1}])
    resumed = otto.review.resume("credit", "scorer@1", reason="fixed")
    assert resumed["active"] is False and resumed["resumed_by"] == "otto"
    assert ask(owner, "h1")["status"] == "proceed"
    actions = [e.action for e in owner.audit.log(EventFilter(object_type="model_pauses"))]
    assert actions == ["model.pause", "model.resume"]
    assert owner.review.overseers("credit") == ["otto"]


def test_submit_routes_a_file(team: dict[str, Any], tmp_path: Path) -> None:
    owner = team["owner"]
    path = tmp_path / "batch.csv"
    pd.DataFrame(
        {"inference_id": ["s1", "s2", "s3"], "prediction": [1, 0, 1], "score": [0.5, 0.9, 0.1],
         "age_group": ["25-60", "<25", "25-60"], "amount": [1, 2, 3], "email": ["a", "b", "c"]}
    ).to_csv(path, index=False)  # fmt: skip
    answer = owner.review.submit("credit", "scorer@1", read_records(path), score_column="score")
    assert (answer["held"], answer["proceed"]) == (2, 1)
    again = owner.review.submit("credit", "scorer@1", read_records(path), score_column="score", everything=True)
    assert (again["held"], again["already_held"]) == (1, 2)
    with pytest.raises(InvalidInput, match="record 0: no column 'score'"):
        owner.review.submit("credit", "scorer@1", [{"inference_id": "x", "prediction": 1}], score_column="score")
    with pytest.raises(NotFound):
        owner.review.item("credit", 10_000)


def test_decisions_and_the_kill_switch_need_an_authenticated_user(team: dict[str, Any], workspace: Workspace) -> None:
    item_id = ask(team["owner"], "u1", score=0.5)["item_id"]
    rita_by_name = workspace.as_actor("rita")  # --actor rita: her word, not her password
    with pytest.raises(PermissionDenied, match="authenticated"):
        rita_by_name.review.decide("credit", item_id, "accept")
    with pytest.raises(PermissionDenied, match="authenticated"):
        workspace.as_actor("otto").review.pause("credit", "scorer@1", reason="x")
    with pytest.raises(PermissionDenied, match="needs the reviewer role"):
        team["vic"].review.claim("credit", item_id)


def test_the_oversight_report_counts_the_queue_s_decisions(team: dict[str, Any]) -> None:
    owner, rita, rob = team["owner"], team["rita"], team["rob"]
    owner.review.configure("credit", text=CONFIG + "double_review: 1\n")
    first, second = ask(owner, "o1", score=0.5)["item_id"], ask(owner, "o2", score=0.5)["item_id"]
    for item_id in (first, second):
        rita.review.decide("credit", item_id, "accept")
    rob.review.decide("credit", first, "accept")
    rob.review.decide("credit", second, "change", outcome=0, reason="x")  # disagreement: escalated
    team["otto"].review.decide("credit", second, "change", outcome=0, reason="checked")
    report = owner.oversight.summary("credit")
    assert report["items"]["total"] == 2 and report["items"]["decided"] == 2
    assert report["overrides"]["overall"]["overridden"] == 1
    by_reviewer = {r["key"]: r["overridden"] for r in report["overrides"]["by_reviewer"]}
    assert by_reviewer == {"rita": 0, "rob": 1, "otto": 1}
    # agreement on the independent reviews only (the overseer settling a disagreement is not a third rater)
    assert [(p["reviewers"], p["n"], p["observed_agreement"]) for p in report["agreement"]["pairs"]] == [
        (["rita", "rob"], 2, 0.5)
    ]


def test_the_explanation_is_masked_like_the_features(team: dict[str, Any]) -> None:
    owner, rita = team["owner"], team["rita"]
    item_id = ask(owner, "m1", score=0.5)["item_id"]
    explanation = {  # the shape explain.decision writes (DecisionExplanation.to_dict)
        "features": {"age_group": "25-60", "amount": 100, "email": "m1@x.org"},
        "summary": "The decision was approval (the model gave a 50% chance of approval).",
        "shap": {"values": {"email": 0.2, "amount": -0.1}},
        "factors": [
            {"feature": "email", "value": "m1@x.org", "contribution": 0.2, "sentence": "Your email m1@x.org raised it"},
            {"feature": "amount", "value": 100, "contribution": -0.1, "sentence": "Your amount of 100 lowered it"},
        ],
        "counterfactual": {"found": True, "changes": [{"feature": "email", "from": "m1@x.org", "to": "a@b.c"}],
                           "sentence": "If your email were a@b.c instead of m1@x.org, ..."},
        "notes": ["m1@x.org looks odd"],
    }  # fmt: skip
    from sqlalchemy import update

    from assay.store.models import ReviewItem

    with owner.store.write("test") as tx:
        tx.session.execute(update(ReviewItem).where(ReviewItem.id == item_id).values(explanation=explanation))
    shown = rita.review.item("credit", item_id)["explanation"]
    assert "m1@x.org" not in repr(shown)
    assert shown["features"]["email"] == "•••" and shown["factors"][0]["value"] == "•••"
    assert shown["factors"][1]["sentence"] == "Your amount of 100 lowered it"  # not masked: amount is not personal
    assert shown["shap"]["values"] == {"email": 0.2, "amount": -0.1}  # how much, not what
    assert "m1@x.org" in repr(owner.review.item("credit", item_id)["explanation"])  # the owner may see it
