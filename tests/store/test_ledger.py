"""The audit ledger's hash chain and signed checkpoints: one test per kind of tampering, done as an attacker
with write access to the events would do it (rewriting the stored records, not calling Assay)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from assay.errors import IntegrityViolation, InvalidInput
from assay.store import (
    Checkpoint,
    Event,
    append_event,
    generate_signing_key,
    load_public_key,
    read_export,
    sign_checkpoint,
    verify_chain,
    write_export,
)


def chain(n: int = 6) -> list[Event]:
    events: list[Event] = []
    for i in range(n):
        events.append(
            append_event(
                events[-1] if events else None,
                time=f"2026-11-26T10:00:0{i}+00:00",
                actor="ana" if i % 2 else "ben",
                action="update" if i else "create",
                object_type="risk",
                object_id=f"R-{i % 3}",
                before=None if i == 0 else f"sha256:{i - 1:064d}",
                after=f"sha256:{i:064d}",
                payload={"likelihood": i % 5 + 1, "note": "ünïcode ok"},
            )
        )
    return events


@pytest.fixture
def signed() -> tuple[list[Event], list[Checkpoint], object]:
    key = generate_signing_key()
    events = chain()
    checkpoints = [sign_checkpoint(events[2], "t3", key), sign_checkpoint(events[-1], "t6", key)]
    return events, checkpoints, key


def test_an_untouched_chain_verifies(signed: tuple[list[Event], list[Checkpoint], object]) -> None:
    events, checkpoints, key = signed
    result = verify_chain(events, checkpoints, key.public_key())  # type: ignore[attr-defined]
    assert result.ok
    assert (result.events, result.checkpoints) == (6, 2)


def test_edited_event(signed: tuple[list[Event], list[Checkpoint], object]) -> None:
    events, checkpoints, key = signed
    events[3] = dataclasses.replace(events[3], actor="mallory")
    result = verify_chain(events, checkpoints, key.public_key())  # type: ignore[attr-defined]
    assert (result.ok, result.first_bad_seq) == (False, 4)
    assert "edited" in str(result.problem)


def test_edited_event_with_its_hash_recomputed(signed: tuple[list[Event], list[Checkpoint], object]) -> None:
    events, checkpoints, key = signed
    forged = dataclasses.replace(events[3], payload={"likelihood": 1})
    events[3] = dataclasses.replace(forged, hash=forged.computed_hash())
    result = verify_chain(events, checkpoints, key.public_key())  # type: ignore[attr-defined]
    assert (result.ok, result.first_bad_seq) == (False, 5)  # the next event no longer links to it
    assert "link" in str(result.problem)


def test_deleted_event(signed: tuple[list[Event], list[Checkpoint], object]) -> None:
    events, checkpoints, key = signed
    del events[2]
    result = verify_chain(events, checkpoints, key.public_key())  # type: ignore[attr-defined]
    assert (result.ok, result.first_bad_seq) == (False, 3)
    assert "missing or inserted" in str(result.problem)


def test_inserted_event(signed: tuple[list[Event], list[Checkpoint], object]) -> None:
    events, checkpoints, key = signed
    events.insert(2, dataclasses.replace(events[1], actor="mallory"))
    result = verify_chain(events, checkpoints, key.public_key())  # type: ignore[attr-defined]
    assert (result.ok, result.first_bad_seq) == (False, 3)


def test_reordered_events(signed: tuple[list[Event], list[Checkpoint], object]) -> None:
    events, checkpoints, key = signed
    events[2], events[3] = events[3], events[2]
    result = verify_chain(events, checkpoints, key.public_key())  # type: ignore[attr-defined]
    assert (result.ok, result.first_bad_seq) == (False, 3)


def test_renumbered_chain_after_a_deletion_is_caught_by_the_checkpoint(
    signed: tuple[list[Event], list[Checkpoint], object],
) -> None:
    """An attacker deletes event 2 and rebuilds every later hash: only the signed checkpoint can tell."""
    events, checkpoints, key = signed
    rebuilt: list[Event] = [events[0]]
    for e in events[2:]:
        fields = {k: v for k, v in e.content().items() if k not in {"seq", "prev_hash"}}
        rebuilt.append(append_event(rebuilt[-1], **fields))
    assert verify_chain(rebuilt, []).ok  # without checkpoints the forgery is consistent
    result = verify_chain(rebuilt, checkpoints, key.public_key())  # type: ignore[attr-defined]
    assert (result.ok, result.first_bad_seq) == (False, 3)
    assert "differs from the one the checkpoint signed" in str(result.problem)


def test_truncated_tail(signed: tuple[list[Event], list[Checkpoint], object]) -> None:
    events, checkpoints, key = signed
    result = verify_chain(events[:4], checkpoints, key.public_key())  # type: ignore[attr-defined]
    assert (result.ok, result.first_bad_seq) == (False, 5)
    assert "truncated" in str(result.problem)


def test_forged_checkpoint_and_wrong_key(signed: tuple[list[Event], list[Checkpoint], object]) -> None:
    events, checkpoints, key = signed
    forged = dataclasses.replace(checkpoints[1], time="t7")
    result = verify_chain(events, [checkpoints[0], forged], key.public_key())  # type: ignore[attr-defined]
    assert (result.ok, result.first_bad_seq, result.problem) == (False, 6, "a checkpoint's signature is not valid")
    other = generate_signing_key().public_key()
    assert verify_chain(events, checkpoints, other).problem == "a checkpoint was signed with another key"


def test_export_verifies_offline_with_the_public_key_alone(
    signed: tuple[list[Event], list[Checkpoint], object], tmp_path: Path
) -> None:
    events, checkpoints, key = signed
    write_export(tmp_path / "export", events, checkpoints)
    pem = key.public_key().public_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (tmp_path / "key.pem").write_bytes(pem)
    got_events, got_checkpoints = read_export(tmp_path / "export")
    assert got_events == events
    public = load_public_key((tmp_path / "key.pem").read_bytes())
    assert verify_chain(got_events, got_checkpoints, public).ok
    # tamper with the file as text
    lines = (tmp_path / "export" / "events.jsonl").read_text().splitlines()
    record = json.loads(lines[1])
    record["action"] = "delete"
    lines[1] = json.dumps(record)
    (tmp_path / "export" / "events.jsonl").write_text("\n".join(lines) + "\n")
    bad = verify_chain(*read_export(tmp_path / "export"), public)
    assert (bad.ok, bad.first_bad_seq) == (False, 2)


def test_bad_inputs(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="not plain JSON"):
        append_event(None, time="t", actor="a", action="x", object_type="o", object_id="1", before=None,
                     after=None, payload={"x": float("nan")})  # fmt: skip
    with pytest.raises(InvalidInput, match="is missing"):
        read_export(tmp_path)
    (tmp_path / "events.jsonl").write_text("{not json\n")
    (tmp_path / "checkpoints.jsonl").write_text("")
    with pytest.raises(IntegrityViolation, match=r"events\.jsonl line 1"):
        read_export(tmp_path)
    with pytest.raises(InvalidInput, match="cannot read the public key"):
        load_public_key(b"nonsense")


def test_times_out_of_order_verify() -> None:
    """A documented limit: an event's time is the writer's clock; the chain proves the order, not the times."""
    first = append_event(None, time="2026-11-26T12:00:00.000000Z", actor="a", action="x", object_type="o",
                         object_id="1", before=None, after=None)  # fmt: skip
    second = append_event(first, time="2020-01-01T00:00:00.000000Z", actor="a", action="x", object_type="o",
                          object_id="1", before=None, after=None)  # fmt: skip
    assert verify_chain([first, second], []).ok
