"""The audit ledger in the database, on SQLite and on PostgreSQL.

The tables refuse UPDATE, DELETE (and TRUNCATE) by themselves; someone with database access who drops those
triggers and edits, deletes, inserts, reorders, truncates or rewrites events is named by ``assay audit verify``,
down to the first bad sequence number. Exports verify offline with the public key alone. Concurrent writers in
separate processes keep the chain linear, a writer killed with SIGKILL loses nothing it reported as committed,
and a transaction that fails leaves neither its change nor its event.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from assay.cli import main
from assay.config import load_settings
from assay.errors import Conflict, IntegrityViolation, InvalidInput
from assay.services.audit import AuditLog, verify_export
from assay.services.workspace import Workspace
from assay.store import audit
from assay.store import ledger as ledger_rules
from assay.store.ledger import (
    Checkpoint,
    Event,
    append_event,
    canonical_json,
    generate_signing_key,
    key_id,
    next_event,
    sign_checkpoint,
    stored_hash,
    verify_chain,
)
from assay.store.models import System
from tests.support.ledger import drop_triggers, insert_event, rewrite_from, sql, table_rows

WORKER = Path(__file__).resolve().parents[1] / "support" / "ledger_worker.py"
EVERY = 4  # the ledger fixture signs a checkpoint every 4 events: at 4 and 8


@pytest.fixture
def ledger(tmp_path: Path, database_url: str | None) -> Iterator[Workspace]:
    """A workspace whose ledger holds 8 events (the workspace's mode, set by init, then systems system-1 ..
    system-7), with checkpoints at 4 and 8."""
    settings = load_settings(actor="alice", workspace=None, checkpoint_every=EVERY)
    ws = Workspace.init(tmp_path / "ws", settings, database_url=database_url)
    assert [e.action for e in ws.audit.log()] == ["workspace.mode"]
    for i in range(1, 8):
        ws.systems.create({"name": f"system-{i}"})
    yield ws
    ws.close()


def new_system(name: str) -> System:
    return System(name=name, lifecycle_stage="inception", eu_ai_act_category="minimal", oversight="human_in_the_loop")


# -- forged events (raw database access is in tests/support/ledger.py) ------------------------------------------------


def forged(seq: int, prev_hash: str) -> Event:
    """A well-formed event (its hash matches its content) that Assay never recorded."""
    return next_event(
        seq - 1,
        prev_hash,
        time="2026-11-26T12:00:00.000000Z",
        actor="mallory",
        action="system.delete",
        object_type="systems",
        object_id="1",
        before=None,
        after=None,
        payload={},
    )


def resign_checkpoints(ws: Workspace, chain: list[Event], *, keep_key_id: bool) -> None:
    """Sign checkpoints of the forged chain with the attacker's own key (the workspace key is not in the database)."""
    attacker = generate_signing_key()
    with ws.store.engine.begin() as connection:
        for row in connection.execute(text("SELECT id, seq, time, key_id FROM audit_checkpoints")).all():
            signed = sign_checkpoint(chain[row.seq - 1], row.time, attacker)
            if keep_key_id:  # claim the workspace's key, sign the claim with another
                claim = Checkpoint(signed.seq, signed.head_hash, row.time, row.key_id, "")
                signed = dataclasses.replace(claim, signature=attacker.sign(claim.message()).hex())
            connection.execute(
                text("UPDATE audit_checkpoints SET head_hash = :h, key_id = :k, signature = :s WHERE id = :id"),
                {"h": signed.head_hash, "k": signed.key_id, "s": signed.signature, "id": row.id},
            )


def verify_cli(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["--workspace", str(ws.root), "audit", "verify"])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


# -- 1. append-only tables --------------------------------------------------------------------------------------


def test_the_ledger_tables_refuse_update_delete_replace_and_truncate(ledger: Workspace) -> None:
    events, checkpoints = table_rows(ledger, "audit_events"), table_rows(ledger, "audit_checkpoints")
    assert (len(events), [row[1] for row in checkpoints]) == (8, [4, 8])
    statements = [
        "UPDATE audit_events SET actor = 'mallory' WHERE seq = 3",
        "UPDATE audit_events SET seq = seq + 100",
        "DELETE FROM audit_events WHERE seq = 8",
        "DELETE FROM audit_events",
        "UPDATE audit_checkpoints SET signature = '00' WHERE seq = 4",
        "DELETE FROM audit_checkpoints",
        # an upsert on an existing event is an update
        "INSERT INTO audit_events SELECT * FROM audit_events WHERE seq = 2 ON CONFLICT (seq) DO UPDATE SET actor = 'x'",
    ]
    if ledger.store.engine.dialect.name == "sqlite":  # REPLACE deletes without DELETE triggers: refused on insert
        statements += [
            "INSERT OR REPLACE INTO audit_events SELECT * FROM audit_events WHERE seq = 2",
            "REPLACE INTO audit_checkpoints SELECT * FROM audit_checkpoints WHERE seq = 4",
        ]
    else:
        statements += [
            "TRUNCATE audit_events",
            "TRUNCATE audit_checkpoints",
            "TRUNCATE audit_events, audit_checkpoints",
        ]
    for statement in statements:
        with pytest.raises(DBAPIError, match=r"append-only: ((UPDATE|DELETE|TRUNCATE) is not allowed|a stored row)"):
            sql(ledger, statement)
    assert table_rows(ledger, "audit_events") == events
    assert table_rows(ledger, "audit_checkpoints") == checkpoints
    ledger.systems.create({"name": "appending-still-works"})
    assert ledger.audit.verify().events == 9


# -- 2. tampering by someone with database access ------------------------------------------------------------


def _edit_and_rehash(ws: Workspace) -> None:
    event = ws.audit.log(audit.EventFilter(after_seq=4), limit=1)[0]
    fields = {k: v for k, v in event.content().items() if k not in ("seq", "prev_hash")}
    edited = next_event(4, event.prev_hash, **{**fields, "payload": {"forged": True}})
    sql(ws, "UPDATE audit_events SET payload = :p, hash = :h WHERE seq = 5", p='{"forged":true}', h=edited.hash)


def _insert_with_renumbering(ws: Workspace) -> None:
    head4 = ws.audit.log(audit.EventFilter(after_seq=3), limit=1)[0]
    sql(ws, "UPDATE audit_events SET seq = -seq WHERE seq >= 5", "UPDATE audit_events SET seq = 1 - seq WHERE seq < 0")
    insert_event(ws, forged(5, head4.hash))  # links to event 4 and is well-formed itself


def _append_with_wrong_link(ws: Workspace) -> None:
    insert_event(ws, forged(9, "ab" * 32))


def _append_after_a_gap(ws: Workspace) -> None:
    insert_event(ws, forged(10, ws.audit.log(audit.EventFilter(after_seq=7))[0].hash))


def _swap(ws: Workspace) -> None:
    sql(
        ws,
        "UPDATE audit_events SET seq = -1 WHERE seq = 3",
        "UPDATE audit_events SET seq = 3 WHERE seq = 4",
        "UPDATE audit_events SET seq = 4 WHERE seq = -1",
    )


def _store_bytes(ws: Workspace) -> None:
    """SQLite keeps any type in any column: bytes where Assay wrote text (PostgreSQL converts them to text)."""
    value = "X'6D616C6C6F7279'" if ws.store.engine.dialect.name == "sqlite" else "'mallory'"
    sql(ws, f"UPDATE audit_events SET actor = {value} WHERE seq = 7")


def _flip_signature(ws: Workspace) -> None:
    signature = table_rows(ws, "audit_checkpoints")[1][5]
    flipped = ("1" if signature[0] == "0" else "0") + signature[1:]
    sql(ws, "UPDATE audit_checkpoints SET signature = :s WHERE seq = 8", s=flipped)


TAMPERING: dict[str, tuple[Callable[[Workspace], Any], int, str]] = {
    "payload edited": (
        lambda ws: sql(ws, "UPDATE audit_events SET payload = :p WHERE seq = 3", p='{"purpose":"forged"}'),
        3,
        "its content does not match its hash: the event was edited",
    ),
    "actor edited": (
        lambda ws: sql(ws, "UPDATE audit_events SET actor = 'mallory' WHERE seq = 6"),
        6,
        "the event was edited",
    ),
    "a value of another type stored": (_store_bytes, 7, "the event was edited"),
    "edited and its own hash recomputed": (_edit_and_rehash, 6, "it does not link to the event before it"),
    "middle event deleted": (
        lambda ws: sql(ws, "DELETE FROM audit_events WHERE seq = 5"),
        5,
        "expected sequence number 5, found 6: an event is missing or inserted before it",
    ),
    "forged event inserted, later ones renumbered": (_insert_with_renumbering, 6, "the event was edited"),
    "forged event appended with a wrong prev_hash": (_append_with_wrong_link, 9, "does not link to the event before"),
    "forged event appended after a gap": (_append_after_a_gap, 9, "an event is missing or inserted before it"),
    "two events swapped": (_swap, 3, "the event was edited"),
    "tail cut after a checkpoint": (
        lambda ws: sql(ws, "DELETE FROM audit_events WHERE seq >= 7"),
        7,
        "the checkpoint at 8 covers events that are gone: the tail was truncated",
    ),
    "whole chain rewritten after an edit": (
        lambda ws: rewrite_from(ws, 2, payload={"purpose": "forged"}),
        4,
        "the event differs from the one the checkpoint signed",
    ),
    "checkpoint signature forged": (_flip_signature, 8, "a checkpoint's signature is not valid"),
    "chain rewritten and checkpoints re-signed with another key": (
        lambda ws: resign_checkpoints(ws, rewrite_from(ws, 2, actor="mallory"), keep_key_id=False),
        4,
        "a checkpoint was signed with another key",
    ),
    "chain rewritten and checkpoints re-signed claiming the workspace key": (
        lambda ws: resign_checkpoints(ws, rewrite_from(ws, 6, actor="mallory"), keep_key_id=True),
        4,  # the checkpoint at 4 still has the right head, but its signature no longer matches
        "a checkpoint's signature is not valid",
    ),
}


@pytest.mark.parametrize("kind", TAMPERING)
def test_tampering_is_named_by_its_first_bad_sequence_number(
    ledger: Workspace, kind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    tamper, first_bad, problem = TAMPERING[kind]
    assert verify_cli(ledger, capsys) == (
        0,
        "the audit ledger verifies: 8 events, 2 signed checkpoints; 8 governed records match their last event\n",
    )
    drop_triggers(ledger)
    tamper(ledger)
    result = ledger.audit.verify()
    assert (result.ok, result.first_bad_seq) == (False, first_bad), result
    assert problem in str(result.problem)
    auditor = ledger.audit.verify(ledger.public_key_path)  # an auditor's own copy of the public key
    assert (auditor.first_bad_seq, auditor.problem) == (result.first_bad_seq, result.problem)
    code, printed = verify_cli(ledger, capsys)
    assert code == 1
    assert f"does NOT verify: first bad sequence number {first_bad}: {result.problem}" in printed


def test_a_consistent_rewrite_fools_the_chain_but_not_the_checkpoint(ledger: Workspace) -> None:
    drop_triggers(ledger)
    chain = rewrite_from(ledger, 2, payload={"purpose": "forged"})
    assert verify_chain(ledger.audit.log(), []).ok  # every hash and link is right: only a signed head can tell
    assert [e.hash for e in ledger.audit.log()] == [e.hash for e in chain]
    assert ledger.audit.verify().first_bad_seq == 4


def test_a_tail_cut_after_the_last_checkpoint_is_only_caught_once_a_checkpoint_covers_it(
    ledger: Workspace, tmp_path: Path
) -> None:
    ledger.systems.create({"name": "system-9"})  # event 9 (system 8), after the last checkpoint (8)
    drop_triggers(ledger)
    sql(ledger, "DELETE FROM audit_events WHERE seq = 9")
    cut = ledger.audit.verify()
    assert (cut.events, cut.first_bad_seq) == (8, None)  # the chain is fine: nothing signed says event 9 existed ...
    assert [str(p) for p in cut.record_problems] == ["systems 8: no audit event records it: inserted outside Assay"]
    sql(ledger, "DELETE FROM systems WHERE id = 8")  # ... and with the record it created gone, nothing tells
    cut = ledger.audit.verify()
    assert (cut.ok, cut.events) == (True, 8)
    ledger.systems.create({"name": "system-9b"})  # event 9 again
    ledger.audit.export(tmp_path / "export")  # signs a checkpoint of the head (9) first
    sql(ledger, "DELETE FROM audit_events WHERE seq = 9")
    result = ledger.audit.verify()
    assert (result.ok, result.first_bad_seq) == (False, 9)
    assert "truncated" in str(result.problem)


# -- 3. export and offline verification ----------------------------------------------------------------------


def test_export_verifies_offline_with_the_public_key_alone(
    ledger: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger.systems.create({"name": "system-9"})  # after the last automatic checkpoint
    out = tmp_path / "export"
    assert main(["--workspace", str(ledger.root), "audit", "export", "--out", str(out)]) == 0
    assert f"assay audit verify --export {out} --public-key {out / 'ledger.pub'}" in capsys.readouterr().out
    events = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    checkpoints = [json.loads(line) for line in (out / "checkpoints.jsonl").read_text().splitlines()]
    assert [e["seq"] for e in events] == list(range(1, 10))
    assert [c["seq"] for c in checkpoints] == [4, 8, 9]  # the export signed the head first
    assert (out / "ledger.pub").read_bytes() == ledger.public_key_path.read_bytes()

    offline = ["audit", "verify", "--export", str(out), "--public-key", str(out / "ledger.pub")]
    assert main(offline) == 0  # no workspace, no database
    assert f"export {out} verifies: 9 events, 3 signed checkpoints" in capsys.readouterr().out

    original = (out / "events.jsonl").read_text()
    lines = original.splitlines()
    record = json.loads(lines[4])
    record["actor"] = "mallory"
    lines[4] = json.dumps(record)
    (out / "events.jsonl").write_text("\n".join(lines) + "\n")
    assert main(offline) == 1
    assert "first bad sequence number 5: its content does not match its hash" in capsys.readouterr().err

    (out / "events.jsonl").write_text("\n".join(original.splitlines()[:-1]) + "\n")  # the last event cut
    assert main(offline) == 1
    assert "first bad sequence number 9" in capsys.readouterr().err

    (out / "events.jsonl").write_text(original)
    other = generate_signing_key().public_key()
    (tmp_path / "other.pub").write_bytes(
        other.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    assert main(["audit", "verify", "--export", str(out), "--public-key", str(tmp_path / "other.pub")]) == 1
    assert "first bad sequence number 4: a checkpoint was signed with another key" in capsys.readouterr().err

    assert main(["audit", "verify", "--export", str(out), "--public-key", str(tmp_path / "none.pub")]) == 2
    assert "none.pub does not exist" in capsys.readouterr().err
    assert main(["audit", "verify", "--export", str(out)]) == 2
    assert "--export needs --public-key" in capsys.readouterr().err


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


def test_an_export_must_end_at_a_signed_checkpoint_of_its_last_event(
    ledger: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Defect 5 of issue 13: a cut tail with its checkpoint line, a chain rehashed from seq 1 without checkpoints,
    and an emptied export all verified."""
    for i in (9, 10, 11):
        ledger.systems.create({"name": f"system-{i}"})
    out = tmp_path / "export"
    ledger.audit.export(out)  # checkpoints at 4, 8 and (the export's) 11
    key = ledger.public_key_path
    events, checkpoints = out / "events.jsonl", out / "checkpoints.jsonl"
    original_events, original_checkpoints = _lines(events), _lines(checkpoints)
    assert [json.loads(line)["seq"] for line in original_checkpoints] == [4, 8, 11]
    complete = verify_export(out, key)
    assert (complete.ok, complete.events, complete.head_checkpoint_time) == (
        True,
        11,
        json.loads(original_checkpoints[-1])["time"],
    )
    offline = ["audit", "verify", "--export", str(out), "--public-key", str(key)]

    # the last two events and the last checkpoint line removed
    events.write_text("".join(original_events[:9]), encoding="utf-8")
    checkpoints.write_text("".join(original_checkpoints[:2]), encoding="utf-8")
    result = verify_export(out, key)
    assert (result.ok, result.first_bad_seq) == (False, 9)
    assert result.problem == (
        "events 9 to 9 are not covered by a signed checkpoint: an export ends at a checkpoint of its last event "
        "(the tail was cut with its checkpoint, or events were added)"
    )
    assert main(offline) == 1
    assert "does NOT verify: first bad sequence number 9: events 9 to 9 are not covered" in capsys.readouterr().err

    # a chain forged from seq 1 with Assay's own functions, and no checkpoint
    forged_chain: list[Event] = []
    for line in original_events:
        fields = {k: v for k, v in json.loads(line).items() if k not in ("seq", "prev_hash", "hash")}
        forged_chain.append(append_event(forged_chain[-1] if forged_chain else None, **{**fields, "actor": "mallory"}))
    events.write_text("".join(canonical_json({**e.content(), "hash": e.hash}).decode() + "\n" for e in forged_chain))
    checkpoints.write_text("", encoding="utf-8")
    assert verify_chain(forged_chain, []).ok  # consistent in itself: only a signature can tell
    result = verify_export(out, key)
    assert (result.ok, result.first_bad_seq) == (False, 1)
    assert str(result.problem).startswith("the export holds no signed checkpoint")
    assert main(offline) == 1
    assert "first bad sequence number 1: the export holds no signed checkpoint" in capsys.readouterr().err

    # both files emptied
    events.write_text("", encoding="utf-8")
    result = verify_export(out, key)
    assert (result.ok, result.events, result.first_bad_seq) == (False, 0, 1)
    assert str(result.problem).startswith("the export holds no signed checkpoint")

    # a cut exactly at an earlier checkpoint is an earlier export: it verifies, and says when its head was signed
    events.write_text("".join(original_events[:8]), encoding="utf-8")
    checkpoints.write_text("".join(original_checkpoints[:2]), encoding="utf-8")
    earlier = verify_export(out, key)
    assert (earlier.ok, earlier.events) == (True, 8)
    assert earlier.head_checkpoint_time == json.loads(original_checkpoints[1])["time"]
    assert main(offline) == 0
    assert f"verifies: 8 events, 2 signed checkpoints, the last event's signed at {earlier.head_checkpoint_time}" in (
        capsys.readouterr().out
    )


def test_offline_verification_needs_the_public_key(ledger: Workspace, tmp_path: Path) -> None:
    ledger.audit.export(tmp_path / "export")
    with pytest.raises(InvalidInput, match=r"an export is verified with the ledger's public key: give it"):
        ledger_rules.verify_export(tmp_path / "export", None)  # type: ignore[arg-type]


def test_an_export_holds_the_events_up_to_the_checkpoint_it_signed(
    ledger: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A write committed between the export's checkpoint and its reading belongs to the next export."""
    sign = AuditLog.checkpoint

    def sign_then_someone_writes(self: AuditLog) -> Checkpoint | None:
        signed = sign(self)
        ledger.as_actor("bob").systems.create({"name": "meanwhile"})
        return signed

    monkeypatch.setattr(AuditLog, "checkpoint", sign_then_someone_writes)
    ledger.audit.export(tmp_path / "export")
    result = verify_export(tmp_path / "export", ledger.public_key_path)
    assert (result.ok, result.events, result.checkpoints) == (True, 8, 3)
    assert len(ledger.audit.log()) == 9
    monkeypatch.undo()

    empty = Workspace.init(tmp_path / "empty", ledger.settings)
    empty.store.downgrade("alice", "base")  # a database emptied and migrated again: no event at all
    empty.store.upgrade("alice")
    try:
        assert main(["--workspace", str(empty.root), "audit", "export", "--out", str(tmp_path / "e")]) == 2
        assert capsys.readouterr().err == "error: the audit ledger is empty: there is nothing to export yet\n"
    finally:
        empty.close()


def _rewrite_line(path: Path, index: int, change: Callable[[dict[str, Any]], Any]) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    record = json.loads(lines[index])
    changed = change(record)
    lines[index] = json.dumps(record if changed is None else changed)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_offline_verification_decides_on_content_not_spelling_and_names_malformed_lines(
    ledger: Workspace, tmp_path: Path
) -> None:
    out = tmp_path / "export"
    ledger.audit.export(out)
    key = ledger.public_key_path
    events, checkpoints = out / "events.jsonl", out / "checkpoints.jsonl"
    original = events.read_text(encoding="utf-8")

    # Spelled differently, same content: the parsed event decides, and it is intact.
    respelled = [json.dumps(json.loads(line), indent=1).replace("\n", "") for line in original.splitlines()]
    events.write_text("\r\n".join(respelled) + "\r\n", encoding="utf-8")
    assert verify_export(out, key).ok

    events.write_text(original, encoding="utf-8")
    _rewrite_line(events, 4, lambda r: r.update(seq="5"))
    result = verify_export(out, key)
    assert (result.first_bad_seq, result.problem) == (
        5,
        "its sequence number '5' is not a number: the event was edited",
    )

    for change, message in [
        (lambda r: [r], r"events\.jsonl line 3 is not a valid record: not a JSON object"),
        (lambda r: r.update(colour="red"), r"events\.jsonl line 3 is not a valid record: .*colour"),
    ]:
        events.write_text(original, encoding="utf-8")
        _rewrite_line(events, 2, change)
        with pytest.raises(IntegrityViolation, match=message):
            verify_export(out, key)

    events.write_text(original, encoding="utf-8")
    _rewrite_line(checkpoints, 0, lambda r: r.update(seq=[4]))
    result = verify_export(out, key)
    assert (result.ok, result.first_bad_seq) == (False, 9)
    assert str(result.problem).startswith("a checkpoint is malformed")
    assert main(["audit", "verify", "--export", str(out), "--public-key", str(key)]) == 1


def test_checkpoints_kept_from_an_earlier_export_catch_a_rewrite_whose_checkpoints_were_deleted(
    ledger: Workspace, tmp_path: Path
) -> None:
    ledger.audit.export(tmp_path / "first")  # the auditor keeps this one
    drop_triggers(ledger)
    rewrite_from(ledger, 2, actor="mallory")
    sql(ledger, "DELETE FROM audit_checkpoints")
    assert ledger.audit.verify().ok  # nothing left in the database tells: a documented limit
    second = tmp_path / "second"
    ledger.audit.export(second)  # signs the forged head: this export verifies on its own
    key = ledger.public_key_path
    assert verify_export(second, key).ok
    with (second / "checkpoints.jsonl").open("a", encoding="utf-8") as handle:
        handle.write((tmp_path / "first" / "checkpoints.jsonl").read_text(encoding="utf-8"))
    result = verify_export(second, key)
    assert (result.ok, result.first_bad_seq) == (False, 4)
    assert result.problem == "the event differs from the one the checkpoint signed"


# -- 4. concurrent writers ---------------------------------------------------------------------------------------


@contextmanager
def workers(*argvs: list[str], env: dict[str, str] | None = None) -> Iterator[list[subprocess.Popen[str]]]:
    processes = [
        subprocess.Popen(
            [sys.executable, str(WORKER), *argv],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
        )
        for argv in argvs
    ]
    try:
        yield processes
    finally:
        for process in processes:
            if process.returncode is None:  # not waited for by the test: a failure path
                process.kill()
                process.communicate(timeout=60)


def test_concurrent_writers_in_separate_processes_keep_the_chain_linear(workspace: Workspace) -> None:
    assert [e.seq for e in workspace.audit.log()] == [1]  # the workspace's mode, set by init
    root = str(workspace.root)
    argvs = [[root, f"w{k}", "50", "--wait", *(["--services"] if k % 2 else [])] for k in range(4)]
    with workers(*argvs, env={"ASSAY_CHECKPOINT_EVERY": "25"}) as processes:
        for process in processes:
            assert process.stdout is not None and process.stdin is not None
            assert process.stdout.readline() == "ready\n", process.stderr.read() if process.stderr else ""
        for process in processes:  # all start appending at once
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
        outputs = [process.communicate(timeout=120) for process in processes]
    for process, (_, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, err
    log = workspace.audit.log(audit.EventFilter(after_seq=1))
    assert [e.seq for e in log] == list(range(2, 202))
    assert Counter(e.actor for e in log) == {f"w{k}": 50 for k in range(4)}
    reported = [int(seq) for k in (0, 2) for seq in outputs[k][0].split()]  # the Store.write workers print seqs
    assert sorted(reported) == [e.seq for e in log if e.actor in ("w0", "w2")]
    assert sorted(outputs[1][0].split() + outputs[3][0].split()) == sorted(
        s.name for s in workspace.systems.list() if s.name[:2] in ("w1", "w3")
    )
    result = workspace.audit.verify()
    assert (result.ok, result.events, result.checkpoints) == (True, 201, 8)  # one checkpoint at each 25
    with workspace.store.engine.connect() as connection:
        assert [c.seq for c in audit.list_checkpoints(connection)] == list(range(25, 201, 25))


def test_write_transactions_run_one_at_a_time(workspace: Workspace) -> None:
    """A writer that has begun holds the write lock (BEGIN IMMEDIATE; the advisory lock on PostgreSQL) until it
    commits: a second writer reads only after that, so a check made inside a transaction stays true."""
    seen: list[int] = []
    started = threading.Event()

    def second_writer() -> None:
        started.wait()
        with workspace.store.write("bob") as tx:
            seen.append(tx.session.execute(select(func.count()).select_from(System)).scalar_one())

    thread = threading.Thread(target=second_writer)
    thread.start()
    with workspace.store.write("alice") as tx:
        assert tx.session.execute(select(func.count()).select_from(System)).scalar_one() == 0
        started.set()
        time.sleep(0.3)  # the second writer is waiting now
        system = new_system("first")
        tx.session.add(system)
        tx.record("system.create", system, before=None)
    thread.join(timeout=30)
    assert seen == [1]


# -- 5. a writer killed in the middle ---------------------------------------------------------------------------


def test_a_writer_killed_with_sigkill_loses_nothing_it_reported(workspace: Workspace) -> None:
    reported: list[int] = []
    for round_ in range(2):
        with workers([str(workspace.root), f"crash{round_}", "0"]) as (process,):
            assert process.stdout is not None
            lines = [process.stdout.readline() for _ in range(30)]
            assert all(line.endswith("\n") for line in lines), process.stderr.read() if process.stderr else ""
            os.kill(process.pid, signal.SIGKILL)  # most likely in the middle of the next transaction
            rest, _ = process.communicate(timeout=30)
        assert process.returncode == -signal.SIGKILL
        reported += [int(line) for line in [*lines, *rest.splitlines(keepends=True)] if line.endswith("\n")]
    log = workspace.audit.log()
    assert [e.seq for e in log] == list(range(1, len(log) + 1))
    assert reported == sorted(reported) and set(reported) <= {e.seq for e in log}
    written = [e for e in log if e.actor.startswith("crash")]  # not the mode set by init
    assert len(written) - len(reported) <= 2  # at most the one transaction each kill interrupted after its commit
    assert workspace.audit.verify().ok
    workspace.systems.create({"name": "after-the-crash"})
    result = workspace.audit.verify()
    assert (result.ok, result.events) == (True, len(log) + 1)


# -- 6. rollback ------------------------------------------------------------------------------------------------


def _record_then_fail(ws: Workspace) -> None:
    with ws.store.write("alice") as tx:
        system = new_system("ghost")
        tx.session.add(system)
        event = tx.record("system.create", system, before=None)
        assert event.seq == 4  # and a checkpoint is signed for it, in this transaction
        raise RuntimeError("boom")


def _insert_a_duplicate(ws: Workspace) -> None:
    with ws.store.write("alice") as tx:
        tx.session.add(new_system("two"))
        tx.session.flush()  # the duplicate name fails in the database


def test_a_failed_transaction_leaves_neither_the_change_nor_its_event(tmp_path: Path, database_url: str | None) -> None:
    settings = load_settings(actor="alice", workspace=None, checkpoint_every=4)
    with Workspace.init(tmp_path / "ws", settings, database_url=database_url) as ws:  # event 1: its mode
        ws.systems.create({"name": "one"})
        ws.systems.create({"name": "two"})
        with pytest.raises(RuntimeError, match="boom"):
            _record_then_fail(ws)
        with pytest.raises(Conflict, match="conflicts with stored data"):
            _insert_a_duplicate(ws)
        assert [s.name for s in ws.systems.list()] == ["one", "two"]
        assert [e.seq for e in ws.audit.log()] == [1, 2, 3]
        assert table_rows(ws, "audit_checkpoints") == []
        ws.systems.create({"name": "three"})  # takes seq 4 and its checkpoint: no gap, no stale head
        result = ws.audit.verify()
        assert (result.ok, result.events, result.checkpoints) == (True, 4, 1)


# -- the fast path of verification agrees with the event's own hash -----------------------------------------------


def test_verification_reads_stored_text_exactly_as_the_event_hash_defines_it(workspace: Workspace) -> None:
    payload = {
        "note": 'ünïcode "quoted" \\ back\nslash \u2028 \x00 \U0001f600',
        "nested": {"b": [1, 2.5, None, True, -0.0, 1e300], "a": {}},
        "big": 10**20,
    }
    with workspace.store.write('Zoë "Ω" \\ O\'Brien') as tx:
        system = new_system("odd")
        tx.session.add(system)
        event = tx.record("system.create", system, before=None, payload=payload)
    stored = {**payload, "authenticated": False}  # an actor who did not log in: the payload says so
    with workspace.store.engine.connect() as connection:  # event 1 is the workspace's mode, set by init
        row = connection.execute(text("SELECT * FROM audit_events WHERE seq = 2")).one()
    assert row.payload == canonical_json(stored).decode()
    assert stored_hash(*(row[:10])) == event.hash == event.computed_hash()
    assert workspace.audit.verify().ok
    drop_triggers(workspace)
    # the same content spelled differently is still the same event (the parsed event decides) ...
    sql(workspace, "UPDATE audit_events SET payload = :p WHERE seq = 2", p=json.dumps(stored, indent=1))
    assert workspace.audit.verify().ok
    # ... other content is not
    sql(workspace, "UPDATE audit_events SET payload = :p WHERE seq = 2", p=json.dumps({**stored, "big": 1}))
    assert workspace.audit.verify().first_bad_seq == 2
    sql(workspace, "UPDATE audit_events SET payload = 'not json' WHERE seq = 2")
    assert workspace.audit.verify().first_bad_seq == 2


def test_checkpoints_name_the_workspace_key(ledger: Workspace) -> None:
    with ledger.store.engine.connect() as connection:
        checkpoints = audit.list_checkpoints(connection)
    assert ledger.store.public_key is not None
    assert {c.key_id for c in checkpoints} == {key_id(ledger.store.public_key)}
    heads = {e.seq: e.hash for e in ledger.audit.log()}
    assert [(c.seq, c.head_hash) for c in checkpoints] == [(4, heads[4]), (8, heads[8])]
