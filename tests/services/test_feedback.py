"""End users' feedback through the service: validation naming the field, the comment redacted before it is stored
(the raw text nowhere: not in the database, not in the ledger), summaries with intervals, imports, and a monitor of
source feedback whose satisfaction check opens and resolves an alert."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest

from assay.config import load_settings
from assay.errors import InvalidInput, NotFound
from assay.services.monitors import window_at
from assay.services.workspace import Workspace

SECRET = "anna.berg@example.com"


@pytest.fixture
def ws(workspace: Workspace) -> Workspace:
    workspace.systems.create({"name": "credit", "eu_ai_act_category": "limited"})
    workspace.models.register_version("credit", {"model": "gbm", "version": "3"})
    workspace.models.register_version("credit", {"model": "gbm", "version": "4"})
    return workspace


def test_submit_redacts_the_comment_before_anything_is_stored(ws: Workspace) -> None:
    item = ws.feedback.submit(
        "credit",
        {"rating": 0, "scale": 2, "category": "unfair", "comment": f"My name is Anna Berg, write to {SECRET}",
         "model_version": "gbm@3", "inference_id": "inf-1", "attributes": {"channel": "web", "age_band": 3}},
        source="snippet",
    )  # fmt: skip
    stored = item.to_dict()
    assert stored["comment"] == "My name is <PERSON>, write to <EMAIL_ADDRESS>"
    assert stored["redactions"] == {"EMAIL_ADDRESS": 1, "PERSON": 1}
    assert (stored["model_version"], stored["source"], stored["created_by"]) == ("gbm@3", "snippet", "alice")
    event = ws.audit.log()[-1]
    payload = json.dumps(event.payload)
    assert event.action == "feedback.submit" and "Anna" not in payload and SECRET not in payload
    assert event.payload["redactions"] == {"EMAIL_ADDRESS": 1, "PERSON": 1}
    if ws.store.engine.dialect.name == "sqlite":  # the raw text is in no byte of the database file
        ws.close()
        for path in (ws.root / ".assay").rglob("*"):
            if path.is_file():
                assert SECRET.encode() not in path.read_bytes(), path
    assert ws.audit.verify().ok


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"rating": 6}, "rating: 6 is outside scale 5 (stars: 1 to 5)"),
        ({"rating": 2, "scale": 2}, "rating: 2 is outside scale 2 (thumbs: 0 (down) or 1 (up))"),
        ({"rating": 1, "scale": 3}, "scale: Input should be 2 or 5"),
        ({"rating": "5"}, "rating: Input should be a valid integer"),
        ({"category": "slow"}, "category: 'slow' is not one of wrong, unclear, unfair, offensive, other"),
        ({"rating": 5, "comment": "x" * 2001}, "comment: String should have at most 2000 characters"),
        ({"rating": 5, "attributes": {f"k{i}": i for i in range(21)}}, "attributes: Dictionary should have at most 20"),
        ({"rating": 5, "attributes": {"a b": 1}}, "attributes: key 'a b' must start"),
        ({"rating": 5, "attributes": {"k": "v" * 201}}, "attributes.k"),
        ({"rating": 5, "inference_id": ""}, "inference_id: String should have at least 1 character"),
        ({"rating": 5, "mood": "sad"}, "mood: is not a known field"),
        ({}, "give a rating, a category or a comment"),
        ({"rating": 5, "created_at": "2026-01-01T00:00:00Z"}, "created_at: only imported feedback gives its time"),
    ],
)
def test_bad_feedback_is_refused_naming_the_field(ws: Workspace, record: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        ws.feedback.submit("credit", record)
    assert message in str(caught.value)
    assert ws.feedback.list("credit") == []


def test_model_version_system_and_source_are_checked(ws: Workspace) -> None:
    with pytest.raises(NotFound, match="has no model 'lr'"):
        ws.feedback.submit("credit", {"rating": 5, "model_version": "lr@1"})
    with pytest.raises(NotFound, match="no AI system named 'nope'"):
        ws.feedback.submit("nope", {"rating": 5})
    with pytest.raises(InvalidInput, match="source 'web' is not one of api, snippet, client, file"):
        ws.feedback.submit("credit", {"rating": 5}, source="web")


def test_categories_and_origins_come_from_the_settings(tmp_path: Path) -> None:
    settings = load_settings(
        actor="alice", workspace=None, feedback_categories={"credit": ["slow", "wrong"], "*": ["other"]},
        feedback_origins={"*": ["https://shop.example.org/"]},
    )  # fmt: skip
    with Workspace.init(tmp_path / "ws", settings) as ws:
        ws.systems.create({"name": "credit", "eu_ai_act_category": "limited"})
        assert ws.feedback.categories("CREDIT") == ("slow", "wrong") and ws.feedback.categories("x") == ("other",)
        assert ws.feedback.origins("credit") == ("https://shop.example.org",)
        assert ws.feedback.submit("credit", {"category": "slow"}).feedback.category == "slow"
        with pytest.raises(InvalidInput, match="'unfair' is not one of slow, wrong"):
            ws.feedback.submit("credit", {"category": "unfair"})


def test_summary_per_version_slice_and_week_with_intervals(ws: Workspace) -> None:
    rng = np.random.default_rng(2)
    for version, share in (("gbm@3", 0.8), ("gbm@4", 0.5)):
        for k in range(60):
            ws.feedback.submit("credit", {"rating": int(rng.random() < share), "scale": 2, "model_version": version,
                                          "attributes": {"channel": "web" if k % 3 else "app"}})  # fmt: skip
    ws.feedback.submit("credit", {"rating": 4, "scale": 5, "category": "unclear", "model_version": "gbm@4"})
    summary = ws.feedback.summary("credit", by="channel", every="week")
    assert summary["feedback"] == 121
    versions = {v["model_version"]: v for v in summary["model_versions"]}
    thumbs = versions["gbm@3"]["scales"][0]
    assert thumbs["scale"] == 2 and thumbs["count"] == 60 and thumbs["positive"]["method"] == "wilson"
    low, high = thumbs["positive"]["interval"]
    assert low < thumbs["positive"]["share"] < high
    stars = next(s for s in versions["gbm@4"]["scales"] if s["scale"] == 5)
    assert stars["count"] == 1 and stars["mean"]["method"] == "t" and versions["gbm@4"]["categories"] == {"unclear": 1}
    assert {s["value"] for s in summary["slices"]} == {"web", "app", None}
    assert sum(s["feedback"] for s in summary["slices"]) == 121
    assert len(summary["periods"]) == 1 and dt.date.fromisoformat(summary["periods"][0]["period"]).weekday() == 0
    only = ws.feedback.summary("credit", model_version="gbm@3")
    assert only["feedback"] == 60 and len(only["model_versions"]) == 1
    later = ws.feedback.summary("credit", since=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1))
    assert later["feedback"] == 0 and later["overall"]["scales"] == []
    with pytest.raises(InvalidInput, match="every 'month' is not one of day, week"):
        ws.feedback.summary("credit", every="month")  # type: ignore[arg-type]
    page = ws.feedback.list("credit", model_version="gbm@4", limit=5)
    assert len(page) == 5 and page.total == 61 and page[0].feedback.id > page[1].feedback.id


def test_import_is_all_or_nothing_and_keeps_the_time(ws: Workspace, tmp_path: Path) -> None:
    good = tmp_path / "survey.csv"
    good.write_text(
        "rating,scale,category,comment,model_version,created_at,attributes.channel\n"
        "5,5,,great,gbm@3,2026-01-05T10:00:00+00:00,web\n"
        f"1,5,wrong,mail {SECRET},gbm@3,2026-01-06T10:00:00+00:00,app\n",
        encoding="utf-8",
    )
    assert ws.feedback.import_file("credit", good) == 2
    items = ws.feedback.list("credit")
    assert items[0].feedback.comment == "mail <EMAIL_ADDRESS>" and items[0].feedback.attributes == {"channel": "app"}
    assert items[1].feedback.created_at == dt.datetime(2026, 1, 5, 10, tzinfo=dt.UTC)
    assert {i.feedback.source for i in items} == {"file"}
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"rating": 5}\n{"rating": 9}\n', encoding="utf-8")
    with pytest.raises(InvalidInput, match="feedback at line 2: rating: 9 is outside scale 5"):
        ws.feedback.import_file("credit", bad)
    future = tmp_path / "future.jsonl"
    future.write_text('{"rating": 5, "created_at": "2999-01-01T00:00:00Z"}\n', encoding="utf-8")
    with pytest.raises(InvalidInput, match="is in the future"):
        ws.feedback.import_file("credit", future)
    for name, text, message in (("x.txt", "r", "give a .csv or .jsonl"), ("e.jsonl", "", "no feedback records"),
                                ("n.jsonl", "[1]\n", "line 1 is not a JSON object"),
                                ("r.csv", "rating\nfive\n", "rating 'five' is not a whole")):  # fmt: skip
        (tmp_path / name).write_text(text, encoding="utf-8")
        with pytest.raises(InvalidInput, match=message):
            ws.feedback.import_file("credit", tmp_path / name)
    assert ws.feedback.list("credit").total == 2


def test_a_monitor_of_feedback_alerts_when_satisfaction_falls(ws: Workspace, tmp_path: Path) -> None:
    end = window_at(dt.datetime.now(dt.UTC), 86400)[1] - dt.timedelta(days=1)
    rng = np.random.default_rng(7)
    lines = []
    for day, share in ((3, 0.85), (2, 0.4), (1, 0.85)):  # a good day, a fall, a recovery
        start = end - dt.timedelta(days=day)
        for k in range(120):
            lines.append(json.dumps({"rating": int(rng.random() < share), "scale": 2, "model_version": "gbm@3",
                                     "created_at": (start + dt.timedelta(minutes=10 * k)).isoformat(),
                                     "attributes": {"channel": "web"}}))  # fmt: skip
    lines.append(
        json.dumps(
            {
                "rating": 0,
                "scale": 2,
                "model_version": "gbm@4",  # another version: not judged
                "created_at": (end - dt.timedelta(days=2, hours=-1)).isoformat(),
            }
        )
    )
    (tmp_path / "fb.jsonl").write_text("\n".join(lines), encoding="utf-8")
    ws.feedback.import_file("credit", tmp_path / "fb.jsonl")
    ws.monitors.create(
        "credit",
        {"name": "happy", "model_version": "gbm@3", "source": {"type": "feedback"}, "window": "1d",
         "checks": [{"kind": "satisfaction", "options": {"floor": 0.7}}]},
    )  # fmt: skip
    runs = [ws.monitors.run("credit", "happy", end=end - dt.timedelta(days=day - 1)) for day in (3, 2, 1)]
    assert [r.status for r in runs] == ["ok", "violations", "ok"] and [r.rows for r in runs] == [120, 120, 120]
    failed = runs[1].results[0]
    assert failed["status"] == "fail" and failed["violations"][0]["check_type"] == "satisfaction_floor"
    document = ws.assessments.get("credit", failed["assessment_id"]).document
    assert document["schema"] == "assay.satisfaction" and document["inputs"]["data"]["rows"] == 120
    alert = ws.alerts.list("credit")[0]
    assert (alert.kind, alert.subject, alert.status) == ("satisfaction", "share_positive", "resolved")
    empty = ws.monitors.run("credit", "happy", end=end - dt.timedelta(days=5))
    assert empty.status == "no_data"
    assert ws.audit.verify().ok
