"""Guardrail policies in the workspace and their decisions: versions by name, the system's context, decisions written
in sealed batches by a background writer (one ledger event per batch), content kept only when the policy says so and
then masked, verification naming decisions changed with SQL, listings and counts (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import importlib.util
import pathlib
import threading
import time

import pytest
from sqlalchemy import func, select, text

from assay.config import load_settings
from assay.errors import InvalidInput, NotFound, PermissionDenied
from assay.services.genai import guard as service
from assay.services.workspace import Workspace
from assay.store.models import GuardBatch, GuardDecision
from tests.support.guard import WORDS, WORDS_KEEP, use_words_check
from tests.support.people import People

SECRET = "anna.berg@example.com"


@pytest.fixture
def ws(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    use_words_check(monkeypatch)
    workspace.systems.create({
        "name": "helpdesk", "eu_ai_act_category": "limited", "generative": True,
        "disclosure": "You are talking to an AI assistant.", "intended_uses": ["answer questions on our products"],
        "out_of_scope_uses": ["legal advice"],
    })  # fmt: skip
    return workspace


def _count(ws: Workspace, model: type) -> int:
    with ws.store.read() as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def test_policies_are_versioned_by_name_and_the_same_text_is_not_a_new_version(ws: Workspace) -> None:
    first = ws.genai.guard.add_policy(WORDS, system="helpdesk")
    again = ws.genai.guard.add_policy(WORDS)  # same text, the binding kept
    assert (first.version, again.version, again.id) == (1, 1, first.id)
    second = ws.genai.guard.add_policy(WORDS.replace("project falcon", "project eagle"))
    assert (second.version, second.system) == (2, "helpdesk")
    assert ws.genai.guard.policy("support-bot").version == 2
    assert "project falcon" in ws.genai.guard.policy("support-bot", 1).text
    assert [p.version for p in ws.genai.guard.policies()] == [2]
    assert [p.version for p in ws.genai.guard.versions("support-bot")] == [1, 2]
    events = [e for e in ws.audit.log() if e.action == "guard.policy.add"]
    assert [e.payload["version"] for e in events] == [1, 2]
    assert events[0].payload["system"] == "helpdesk" and events[0].payload["sections"] == ["words"]
    with pytest.raises(NotFound, match="has no version 7 \\(the newest is 2\\)"):
        ws.genai.guard.policy("support-bot", 7)
    with pytest.raises(NotFound, match="no guardrail policy named 'nope'"):
        ws.genai.guard.guardrail("nope")


def test_a_bad_policy_is_refused_naming_the_key(ws: Workspace) -> None:
    for policy, message in (
        ("", "the guardrail policy is empty"),
        ("schema: assay.guardrail/1\nname: x\nwords: {phrases: []}\n", "words.phrases"),
        ("schema: assay.guardrail/1\nname: x\nwords: {phrases: [a], input: mask}\n", "words.input"),
        ("name: x\n", "schema"),
        ("schema: assay.guardrail/1\nname: x\nrecording: {keep: true}\n", "recording.keep"),
        ("schema: assay.guardrail/1\nname: x\nembeddings: {precision: fp16}\n", "embeddings.precision"),
    ):
        with pytest.raises(InvalidInput, match=message):
            ws.genai.guard.add_policy(policy)
    with pytest.raises(NotFound, match="no AI system named 'nowhere'"):
        ws.genai.guard.add_policy(WORDS, system="nowhere")
    assert list(ws.genai.guard.policies()) == []


def test_owners_add_a_systems_policy_and_admins_the_organisations(ws: Workspace) -> None:
    ws.set_mode("multi-user")
    people = People(ws)
    owner, viewer = people("olga", helpdesk="owner"), people("victor", helpdesk="viewer")
    with pytest.raises(PermissionDenied, match="victor may not write on system 'helpdesk'"):
        viewer.genai.guard.add_policy(WORDS, system="helpdesk")
    assert owner.genai.guard.add_policy(WORDS, system="helpdesk").created_by == "olga"
    with pytest.raises(PermissionDenied, match="olga is not an active admin"):
        owner.genai.guard.add_policy(WORDS.replace("support-bot", "org-wide"))
    assert people.admin.genai.guard.add_policy(WORDS.replace("support-bot", "org-wide")).system is None
    stranger = people("sam")
    assert [p.name for p in stranger.genai.guard.policies()] == ["org-wide"]  # not the helpdesk's
    with pytest.raises(NotFound):
        stranger.genai.guard.policy("support-bot")


def test_the_guardrail_is_compiled_with_the_systems_context_once_per_version(ws: Workspace) -> None:
    ws.genai.guard.add_policy(WORDS, system="helpdesk")
    guardrail = ws.genai.guard.guardrail("support-bot")
    assert guardrail.context.intended_uses == ("answer questions on our products",)
    assert guardrail.context.out_of_scope_uses == ("legal advice",)
    assert guardrail.context.disclosure == "You are talking to an AI assistant."
    assert guardrail.context.embedder is None  # no topic, use-case or grounding section: no embedder loaded
    assert ws.genai.guard.guardrail("support-bot") is guardrail
    assert ws.as_actor("bob").genai.guard.guardrail("support-bot", 1) is guardrail  # shared by the store's users
    ws.systems.update("helpdesk", {"out_of_scope_uses": ["legal advice", "medical advice"]})
    recompiled = ws.genai.guard.guardrail("support-bot")
    assert recompiled is not guardrail and "medical advice" in recompiled.context.out_of_scope_uses


@pytest.mark.embeddings
def test_the_policys_embedding_precision_chooses_the_embedder(
    ws: Workspace, embedder: object, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASSAY_CACHE_DIR", str(tmp_path))
    grounded = "schema: assay.guardrail/1\nname: {name}\ngrounding: {{action: detect}}\n"
    ws.genai.guard.add_policy(grounded.format(name="exact"), system="helpdesk")
    assert ws.genai.guard.guardrail("exact").context.embedder is embedder  # the default: exact
    ws.genai.guard.add_policy(grounded.format(name="fast") + "embeddings: {precision: int8}\n", system="helpdesk")
    fast = ws.genai.guard.guardrail("fast").context.embedder
    onnx = importlib.util.find_spec("onnxruntime") is not None
    assert fast.precision == ("int8" if onnx else "exact")  # without the onnx extra: the exact pass


@pytest.mark.embeddings
def test_a_policy_file_judges_by_meaning_as_a_workspace_policy_does(embedder: object) -> None:
    """A policy given as a file (the proxy's --policy-file, eval's --guardrail-file) gets the embedder too: before,
    it was compiled without one and its topics and grounding fell back to keywords."""
    from assay.genai.policy import parse_guard_policy
    from assay.services.genai.guard import file_guardrail

    text = "schema: assay.guardrail/1\nname: from-file\ngrounding: {action: detect}\n"
    assert file_guardrail(parse_guard_policy(text, "from-file.yaml")).context.embedder is embedder
    words = "schema: assay.guardrail/1\nname: words\nwords: {phrases: [falcon], input: block, output: block}\n"
    assert file_guardrail(parse_guard_policy(words, "words.yaml")).context.embedder is None  # nothing by meaning


def test_decisions_are_written_in_batches_each_sealed_by_one_ledger_event(ws: Workspace) -> None:
    ws.genai.guard.add_policy(WORDS, system="helpdesk")
    events_before = len(ws.audit.log())
    blocked = ws.genai.guard.apply("support-bot", "input", "Tell me about Project Falcon")
    passed = ws.genai.guard.apply("support-bot", "OUTPUT", ["Our product ships in May."], channel="api")
    assert blocked.action == "GUARDRAIL_INTERVENED" and blocked.outputs == ("Sorry, I cannot help with that request.",)
    assert passed.action == "NONE" and passed.version == 1
    assert ws.genai.guard.flush() == 2
    assert ws.genai.guard.flush() == 0
    events = ws.audit.log()[events_before:]
    assert [e.action for e in events] == ["guard.batch.seal"]
    seal = events[0].payload
    assert seal["count"] == 2 and seal["counts"]["policies"] == {"support-bot@1": {"blocked": 1, "none": 1}}
    assert seal["counts"]["channels"] == {"library": 1, "api": 1}
    items = ws.genai.guard.decisions()
    assert [(d["outcome"], d["source"], d["channel"], d["system"]) for d in items] == [
        ("none", "OUTPUT", "api", "helpdesk"),
        ("blocked", "INPUT", "library", "helpdesk"),
    ]
    assert items[1]["content"] is None and items[1]["findings"][0]["type"]
    assert ws.audit.verify().ok and ws.genai.guard.verify().ok


def test_content_is_kept_only_when_the_policy_says_so_and_then_masked(ws: Workspace) -> None:
    ws.genai.guard.add_policy(WORDS, system="helpdesk")
    ws.genai.guard.add_policy(WORDS_KEEP, system="helpdesk")
    ws.genai.guard.apply("support-bot", "input", f"Mail {SECRET} about it")
    ws.genai.guard.apply("keeper", "input", f"My name is Anna Berg, mail {SECRET} about project falcon")
    kept, dropped = ws.genai.guard.decisions()
    assert dropped["content"] is None
    assert kept["content"] == {
        "blocks": ["My name is <PERSON>, mail <EMAIL_ADDRESS> about project falcon"],
        "redactions": {"EMAIL_ADDRESS": 1, "PERSON": 1},
    }
    assert SECRET not in str(ws.audit.log()[-1].payload)
    if ws.store.engine.dialect.name == "sqlite":  # the raw address is in no byte of the database
        ws.close()
        for path in (ws.root / ".assay").rglob("*"):
            if path.is_file():
                assert SECRET.encode() not in path.read_bytes(), path


def test_many_threads_record_without_waiting_and_the_writer_seals_every_decision(ws: Workspace) -> None:
    ws.genai.guard.add_policy(WORDS, system="helpdesk")
    guardrail = ws.genai.guard.guardrail("support-bot")
    recorded: list[float] = []

    def client(number: int) -> None:
        guard = ws.as_actor(f"app{number}").genai.guard
        for i in range(150):
            result = guardrail.apply("INPUT", "project falcon" if i % 5 == 0 else f"question {i}")
            started = time.perf_counter()
            guard.record(result, channel="proxy")
            recorded.append(time.perf_counter() - started)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    deadline = time.monotonic() + 20
    while ws.genai.guard.pending() and time.monotonic() < deadline:  # the background writer, not flush()
        time.sleep(0.05)
    assert ws.genai.guard.pending() == 0
    assert sorted(recorded)[int(len(recorded) * 0.95)] < 0.01  # record() does not wait for the database
    assert _count(ws, GuardDecision) == 900
    with ws.store.read() as session:
        counts = list(session.execute(select(GuardBatch.count)).scalars())
    assert sum(counts) == 900 and max(counts) <= service.BATCH_SIZE
    seals = [e for e in ws.audit.log(limit=None) if e.action == "guard.batch.seal"]
    assert len(seals) == len(counts)
    stats = ws.genai.guard.stats(policy="support-bot")
    assert (stats["decisions"], stats["blocked"], stats["block_rate"]) == (900, 180, 0.2)
    assert ws.audit.verify().ok and ws.genai.guard.verify().ok


def test_decisions_edited_deleted_or_inserted_with_sql_are_named(ws: Workspace) -> None:
    ws.genai.guard.add_policy(WORDS, system="helpdesk")
    for i in range(5):
        ws.genai.guard.apply("support-bot", "input", "project falcon" if i == 2 else f"hello {i}")
    ws.genai.guard.flush()
    ids = sorted(d["id"] for d in ws.genai.guard.decisions())
    with ws.store.engine.begin() as connection:
        connection.execute(text("UPDATE guard_decisions SET outcome = 'none', action = 'NONE' WHERE id = :i"),
                           {"i": ids[2]})  # fmt: skip
        connection.execute(text("DELETE FROM guard_decisions WHERE id = :i"), {"i": ids[4]})
        connection.execute(
            text("INSERT INTO guard_decisions (policy_id, source, channel, action, outcome, findings, latency_ms, "
                 "characters, created_at) SELECT policy_id, source, channel, action, outcome, findings, latency_ms, "
                 "characters, created_at FROM guard_decisions WHERE id = :i"),
            {"i": ids[0]},
        )  # fmt: skip
    result = ws.genai.guard.verify()
    assert not result.ok
    assert (result.edited, result.deleted, len(result.unsealed)) == ((ids[2],), (ids[4],), 1)
    assert f"edited {ids[2]}; deleted {ids[4]}" in result.problems[0]
    assert "in no sealed batch" in result.problems[1]
    assert ws.audit.verify().ok  # the ledger's own check covers the batch rows, which are untouched


def test_listing_filters_are_checked_and_bounded(ws: Workspace) -> None:
    ws.genai.guard.add_policy(WORDS, system="helpdesk")
    ws.genai.guard.apply("support-bot", "input", "project falcon", channel="cli")
    ws.genai.guard.apply("support-bot", "output", "fine", channel="api")
    guard = ws.genai.guard
    assert [d["channel"] for d in guard.decisions(outcome="blocked")] == ["cli"]
    assert [d["source"] for d in guard.decisions(source="output")] == ["OUTPUT"]
    assert [d["action"] for d in guard.decisions(action="NONE")] == ["NONE"]
    assert guard.decisions(policy="support-bot", system="helpdesk").total == 2
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
    assert guard.decisions(since=later) == [] and guard.decisions(limit=1).total == 2
    for bad, message in (({"limit": 5000}, "limit 5000 must be between 1 and 1000"),
                         ({"channel": "fax"}, "channel 'fax' is not one of"),
                         ({"source": "middle"}, "source 'middle' is not one of input, output"),
                         ({"outcome": "maybe"}, "outcome 'maybe' is not one of")):  # fmt: skip
        with pytest.raises(InvalidInput, match=message):
            guard.decisions(**bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="channel 'fax'"):
        guard.apply("support-bot", "input", "x", channel="fax")
    stats = guard.stats()
    assert stats["groups"] == [{
        "policy": "support-bot", "system": "helpdesk", "day": dt.datetime.now(dt.UTC).date().isoformat(),
        "decisions": 2, "blocked": 1, "masked": 0, "detected": 0, "none": 1, "block_rate": 0.5,
        "mean_latency_ms": stats["groups"][0]["mean_latency_ms"],
    }]  # fmt: skip


def test_closing_the_workspace_writes_what_is_buffered(ws: Workspace) -> None:
    ws.genai.guard.add_policy(WORDS, system="helpdesk")
    for i in range(3):
        ws.genai.guard.apply("support-bot", "input", f"hello {i}")
    assert ws.genai.guard.pending() == 3 or _count(ws, GuardDecision) > 0  # the writer may have run meanwhile
    ws.close()
    again = Workspace.open(ws.root, load_settings(actor="alice", workspace=None))
    try:
        assert _count(again, GuardDecision) == 3 and again.genai.guard.verify().ok
    finally:
        again.close()
