"""The audit ledger's integrity: a SHA-256 hash chain over canonical JSON, and signed checkpoints.

Each event carries the hash of the event before it (``prev_hash``) and its own ``hash`` over every other
field in canonical JSON (sorted keys, no spaces, UTF-8, no NaN). A checkpoint signs (Ed25519) the sequence
number and hash of the head at a moment, so that an export can be verified offline with the public key alone
and a truncated tail is detected against the last checkpoint.

:func:`verify_chain` names the first bad sequence number and what is wrong: an edited event (its hash does not
match its content), a deleted, inserted or reordered event (sequence numbers or ``prev_hash`` links break), a
truncated tail (a checkpoint covers events that are gone), or a checkpoint whose signature or head does not match.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from assay.errors import IntegrityViolation, InvalidInput

__all__ = [
    "GENESIS",
    "ChainVerifier",
    "Checkpoint",
    "Event",
    "Verification",
    "append_event",
    "canonical_json",
    "generate_signing_key",
    "key_id",
    "load_private_key",
    "load_public_key",
    "read_export",
    "sign_checkpoint",
    "verify_chain",
    "write_export",
]

GENESIS = "0" * 64  # prev_hash of the first event
_EVENTS_FILE = "events.jsonl"
_CHECKPOINTS_FILE = "checkpoints.jsonl"


def canonical_json(value: Any) -> bytes:
    """The one byte encoding every hash and signature is computed over."""
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"audit payload is not plain JSON: {exc}") from exc


@dataclass(frozen=True)
class Event:
    """One change of governed state."""

    seq: int
    time: str
    actor: str
    action: str
    object_type: str
    object_id: str
    before: str | None  # digest of the state before (None: created)
    after: str | None  # digest of the state after (None: deleted)
    payload: Mapping[str, Any] = field(default_factory=dict)
    prev_hash: str = GENESIS
    hash: str = ""

    def content(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "time": self.time,
            "actor": self.actor,
            "action": self.action,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "before": self.before,
            "after": self.after,
            "payload": dict(self.payload),
            "prev_hash": self.prev_hash,
        }

    def computed_hash(self) -> str:
        return hashlib.sha256(canonical_json(self.content())).hexdigest()


def append_event(previous: Event | None, **fields: Any) -> Event:
    """The next event of the chain after ``previous`` (``None`` for the first), with its hash."""
    seq = 1 if previous is None else previous.seq + 1
    prev_hash = GENESIS if previous is None else previous.hash
    draft = Event(seq=seq, prev_hash=prev_hash, **fields)
    canonical_json(draft.content())  # refuse non-JSON payloads before anything is stored
    return Event(**{**draft.content(), "payload": dict(draft.payload), "hash": draft.computed_hash()})


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement that event ``seq`` with hash ``head_hash`` was the head at ``time``."""

    seq: int
    head_hash: str
    time: str
    key_id: str
    signature: str  # hex

    def message(self) -> bytes:
        return canonical_json({"seq": self.seq, "head_hash": self.head_hash, "time": self.time, "key_id": self.key_id})


def generate_signing_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def key_id(public_key: Ed25519PublicKey) -> str:
    """SHA-256 of the raw public key: names the key a checkpoint was signed with."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def sign_checkpoint(head: Event, time: str, private_key: Ed25519PrivateKey) -> Checkpoint:
    unsigned = Checkpoint(head.seq, head.hash, time, key_id(private_key.public_key()), "")
    return Checkpoint(head.seq, head.hash, time, unsigned.key_id, private_key.sign(unsigned.message()).hex())


def load_private_key(pem: bytes) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise InvalidInput("the signing key is not an Ed25519 private key")
    return key


def load_public_key(pem: bytes) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(pem)
    except ValueError as exc:
        raise InvalidInput(f"cannot read the public key: {exc}") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise InvalidInput("the public key is not an Ed25519 key")
    return key


@dataclass(frozen=True)
class Verification:
    """The outcome of :func:`verify_chain`: ``ok``, or the first bad sequence number and what is wrong."""

    ok: bool
    events: int
    checkpoints: int
    first_bad_seq: int | None = None
    problem: str | None = None


class ChainVerifier:
    """Verify a chain as it streams by: :meth:`feed` each event in order, then :meth:`finish` with the checkpoints.

    Only the hashes of events that a checkpoint names are kept, so a million-event ledger verifies in little memory.
    """

    def __init__(self, public_key: Ed25519PublicKey | None = None) -> None:
        self._public_key = public_key
        self._count = 0
        self._previous_hash = GENESIS
        self._hashes: dict[int, str] = {}
        self._wanted: set[int] | None = None
        self.problem: tuple[int, str] | None = None

    def expect_checkpoints(self, seqs: set[int]) -> None:
        """Keep only the hashes of these sequence numbers (the ones the checkpoints name)."""
        self._wanted = seqs

    def feed(self, event: Event) -> bool:
        """Check one event; ``False`` once a problem is found (see :attr:`problem`)."""
        if self.problem is not None:
            return False
        position = self._count + 1
        if event.seq != position:
            what = "an event is missing or inserted before it" if event.seq > position else "events are out of order"
            self.problem = (position, f"expected sequence number {position}, found {event.seq}: {what}")
        elif event.computed_hash() != event.hash:
            self.problem = (event.seq, "its content does not match its hash: the event was edited")
        elif event.prev_hash != self._previous_hash:
            self.problem = (event.seq, "it does not link to the event before it")
        if self.problem is not None:
            return False
        self._count = position
        self._previous_hash = event.hash
        if self._wanted is None or event.seq in self._wanted:
            self._hashes[event.seq] = event.hash
        return True

    def finish(self, checkpoints: Sequence[Checkpoint]) -> Verification:
        if self.problem is not None:
            return Verification(False, self._count, len(checkpoints), *self.problem)
        public_key = self._public_key
        wanted = None if public_key is None else key_id(public_key)
        for checkpoint in checkpoints:
            problem = self._check(checkpoint, public_key, wanted)
            if problem is not None:
                return Verification(False, self._count, len(checkpoints), *problem)
        return Verification(True, self._count, len(checkpoints))

    def _check(
        self, checkpoint: Checkpoint, public_key: Ed25519PublicKey | None, wanted: str | None
    ) -> tuple[int, str] | None:
        if public_key is not None:
            if checkpoint.key_id != wanted:
                return checkpoint.seq, "a checkpoint was signed with another key"
            try:
                public_key.verify(bytes.fromhex(checkpoint.signature), checkpoint.message())
            except (InvalidSignature, ValueError):
                return checkpoint.seq, "a checkpoint's signature is not valid"
        head = self._hashes.get(checkpoint.seq)
        if head is None:
            return (
                self._count + 1,
                f"the checkpoint at {checkpoint.seq} covers events that are gone: the tail was truncated",
            )
        if head != checkpoint.head_hash:
            return checkpoint.seq, "the event differs from the one the checkpoint signed"
        return None


def verify_chain(
    events: Iterable[Event], checkpoints: Sequence[Checkpoint], public_key: Ed25519PublicKey | None = None
) -> Verification:
    """Check every hash and link of the chain, then every checkpoint (signature, head, truncation)."""
    verifier = ChainVerifier(public_key)
    verifier.expect_checkpoints({c.seq for c in checkpoints})
    for event in events:
        if not verifier.feed(event):
            break
    return verifier.finish(checkpoints)


def write_export(folder: Path, events: Sequence[Event], checkpoints: Sequence[Checkpoint]) -> dict[str, Path]:
    """Write ``events.jsonl`` and ``checkpoints.jsonl`` (one canonical JSON object per line)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"events": folder / _EVENTS_FILE, "checkpoints": folder / _CHECKPOINTS_FILE}
    paths["events"].write_bytes(b"".join(canonical_json({**e.content(), "hash": e.hash}) + b"\n" for e in events))
    paths["checkpoints"].write_bytes(b"".join(canonical_json(asdict(c)) + b"\n" for c in checkpoints))
    return paths


def read_export(folder: Path) -> tuple[list[Event], list[Checkpoint]]:
    """Read an export written by :func:`write_export`; a malformed line is an :class:`IntegrityViolation`."""
    events: list[Event] = []
    checkpoints: list[Checkpoint] = []
    for name, kind, out in ((_EVENTS_FILE, Event, events), (_CHECKPOINTS_FILE, Checkpoint, checkpoints)):
        path = folder / name
        if not path.is_file():
            raise InvalidInput(f"{path} is missing: give the folder written by the audit export")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            try:
                out.append(kind(**json.loads(line)))  # type: ignore[arg-type]
            except (ValueError, TypeError) as exc:
                raise IntegrityViolation(f"{name} line {number} is not a valid record: {exc}") from exc
    return events, checkpoints
