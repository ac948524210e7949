"""The audit ledger's integrity: a SHA-256 hash chain over canonical JSON, and signed checkpoints.

Each event carries the hash of the event before it (``prev_hash``) and its own ``hash`` over every other
field in canonical JSON (sorted keys, no spaces, UTF-8, no NaN). A checkpoint signs (Ed25519) the sequence
number and hash of the head at a moment, so that an export can be verified offline with the public key alone
and a truncated tail is detected against the last checkpoint.

:func:`verify_chain` names the first bad sequence number and what is wrong: an edited event (its hash does not
match its content), a deleted, inserted or reordered event (sequence numbers or ``prev_hash`` links break), a
truncated tail (a checkpoint covers events that are gone), or a checkpoint whose signature or head does not match.

Verification streams (:class:`ChainVerifier`), from the database or from an export (:func:`verify_export`). An
event stored as Assay wrote it is checked on its stored text (:func:`stored_hash`, or the export line itself),
without parsing its payload; any other is parsed and decided by the full rules, which name the problem.
"""

from __future__ import annotations

import hashlib
import json
import json.encoder
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
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
    "RecordProblem",
    "Verification",
    "append_event",
    "canonical_json",
    "generate_signing_key",
    "key_id",
    "load_private_key",
    "load_public_key",
    "next_event",
    "read_export",
    "sign_checkpoint",
    "stored_hash",
    "verify_chain",
    "verify_export",
    "write_export",
]

GENESIS = "0" * 64  # prev_hash of the first event
_encode_string = json.encoder.encode_basestring  # a str as json.dumps(ensure_ascii=False) writes it
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
    if previous is None:
        return next_event(0, GENESIS, **fields)
    return next_event(previous.seq, previous.hash, **fields)


def next_event(head_seq: int, head_hash: str, **fields: Any) -> Event:
    """The event after the head ``(head_seq, head_hash)`` (``(0, GENESIS)`` for an empty chain), with its hash."""
    draft = Event(seq=head_seq + 1, prev_hash=head_hash, **fields)
    content = draft.content()
    digest = hashlib.sha256(canonical_json(content)).hexdigest()  # refuses a non-JSON payload before it is stored
    return Event(**{**content, "hash": digest})


_FIELDS_JSON = (
    '{{"action":{},"actor":{},"after":{},"before":{},"object_id":{},"object_type":{},"payload":{},'
    '"prev_hash":{},"seq":{},"time":{}}}'
)


def _text(value: str | None) -> str:
    return "null" if value is None else _encode_string(value)


def stored_hash(
    seq: int,
    time: str,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    before: str | None,
    after: str | None,
    payload_json: str,
    prev_hash: str,
) -> str:
    """:meth:`Event.computed_hash` of an event whose payload is kept as its canonical JSON text (as the database
    keeps it), without parsing the payload: the fast path of verification.

    It equals ``computed_hash`` whenever ``payload_json`` is canonical; a payload stored in another spelling gives
    another digest, so a caller that finds a mismatch must decide on the parsed event (:meth:`ChainVerifier.feed`).
    """
    text = _FIELDS_JSON.format(
        _text(action),
        _text(actor),
        _text(after),
        _text(before),
        _text(object_id),
        _text(object_type),
        payload_json,
        _text(prev_hash),
        seq,
        _text(time),
    )
    return hashlib.sha256(text.encode()).hexdigest()


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
class RecordProblem:
    """A governed record whose current state is not the one the ledger last recorded for it."""

    table: str
    id: str
    problem: str  # what is wrong, e.g. "changed outside Assay: its state differs from event 12's"
    seq: int | None  # the last event that touched it (None: no event)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        return f"{self.table} {self.id}: {self.problem}"


@dataclass(frozen=True)
class Verification:
    """The outcome of a verification: ``ok``, or the first bad sequence number and what is wrong; for a database,
    also how many governed records were checked against the ledger and which differ from it."""

    ok: bool
    events: int
    checkpoints: int
    first_bad_seq: int | None = None
    problem: str | None = None
    records: int = 0
    record_problems: tuple[RecordProblem, ...] = ()
    head_checkpoint_time: str | None = None  # an export: when the checkpoint of its last event was signed

    def with_records(self, records: int, problems: Sequence[RecordProblem]) -> Verification:
        """This chain verification and the check of the governed records' current state."""
        if not problems:
            return replace(self, records=records)
        count = f"{len(problems):,} governed record{'s' if len(problems) > 1 else ''}"
        summary = f"{count} differ{'s' if len(problems) == 1 else ''} from the ledger (first: {problems[0]})"
        return replace(
            self,
            ok=False,
            problem=self.problem if self.problem is not None else summary,
            records=records,
            record_problems=tuple(problems),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "events": self.events,
            "checkpoints": self.checkpoints,
            "first_bad_seq": self.first_bad_seq,
            "problem": self.problem,
            "records": self.records,
            "record_problems": [p.to_dict() for p in self.record_problems],
            "head_checkpoint_time": self.head_checkpoint_time,
        }


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

    def accept_intact(self, seq: int, prev_hash: str, stored: str, computed: str) -> bool:
        """Accept the next event when its position, hash (``computed``, e.g. by :func:`stored_hash`, equals the
        ``stored`` one) and link are all right. ``False`` decides nothing: :meth:`feed` the parsed event then, which
        names the problem if there is one."""
        if (
            self.problem is not None
            or computed != stored
            or type(seq) is not int
            or seq != self._count + 1
            or prev_hash != self._previous_hash
        ):
            return False
        self._count = seq
        self._previous_hash = stored
        if self._wanted is None or seq in self._wanted:
            self._hashes[seq] = stored
        return True

    def feed(self, event: Event) -> bool:
        """Check one event; ``False`` once a problem is found (see :attr:`problem`)."""
        if self.problem is not None:
            return False
        position = self._count + 1
        if type(event.seq) is not int:  # only an edited export holds anything else
            self.problem = (position, f"its sequence number {event.seq!r} is not a number: the event was edited")
        elif event.seq != position:
            what = "an event is missing or inserted before it" if event.seq > position else "events are out of order"
            self.problem = (position, f"expected sequence number {position}, found {event.seq}: {what}")
        elif not _hash_matches(event):
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

    def finish(self, checkpoints: Sequence[Checkpoint], *, signed_head: bool = False) -> Verification:
        """The verdict once every event was fed. ``signed_head`` (an export): also require a signed checkpoint of
        the last event, so that nothing after the last signature can have been cut or added."""
        if self.problem is not None:
            return Verification(False, self._count, len(checkpoints), *self.problem)
        public_key = self._public_key
        wanted = None if public_key is None else key_id(public_key)
        for checkpoint in checkpoints:
            problem = self._check(checkpoint, public_key, wanted)
            if problem is not None:
                return Verification(False, self._count, len(checkpoints), *problem)
        if not signed_head:
            return Verification(True, self._count, len(checkpoints))
        head = self._head_checkpoint(checkpoints)
        if isinstance(head, tuple):
            return Verification(False, self._count, len(checkpoints), *head)
        return Verification(True, self._count, len(checkpoints), head_checkpoint_time=head.time)

    def _head_checkpoint(self, checkpoints: Sequence[Checkpoint]) -> Checkpoint | tuple[int, str]:
        """The latest-signed checkpoint of the last event, or what is wrong (every checkpoint is valid here)."""
        if self._public_key is None:
            return 1, "no public key was given: an export is verified against its signed checkpoints"
        if not checkpoints:
            return 1, (
                "the export holds no signed checkpoint: an export ends at a checkpoint of its last event "
                "(checkpoints.jsonl was emptied, or the chain was forged)"
            )
        last = max(c.seq for c in checkpoints)
        if last != self._count:
            return last + 1, (
                f"events {last + 1} to {self._count} are not covered by a signed checkpoint: an export ends at a "
                "checkpoint of its last event (the tail was cut with its checkpoint, or events were added)"
            )
        return max((c for c in checkpoints if c.seq == last), key=lambda c: c.time)

    def _check(
        self, checkpoint: Checkpoint, public_key: Ed25519PublicKey | None, wanted: str | None
    ) -> tuple[int, str] | None:
        texts = (checkpoint.head_hash, checkpoint.time, checkpoint.key_id, checkpoint.signature)
        if type(checkpoint.seq) is not int or not all(isinstance(text, str) for text in texts):
            return self._count + 1, f"a checkpoint is malformed (only an edited export holds one): {checkpoint!r}"
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


def _hash_matches(event: Event) -> bool:
    try:
        return event.computed_hash() == event.hash
    except InvalidInput:  # a field that is not plain JSON (e.g. bytes stored in a text column) was not written by Assay
        return False


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


def write_export(folder: Path, events: Iterable[Event], checkpoints: Iterable[Checkpoint]) -> dict[str, Path]:
    """Write ``events.jsonl`` and ``checkpoints.jsonl`` (one canonical JSON object per line), streaming: the events
    may be an iterator over a ledger of any size."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"events": folder / _EVENTS_FILE, "checkpoints": folder / _CHECKPOINTS_FILE}
    with paths["events"].open("wb") as handle:
        for e in events:
            handle.write(canonical_json({**e.content(), "hash": e.hash}) + b"\n")
    with paths["checkpoints"].open("wb") as handle:
        for c in checkpoints:
            handle.write(canonical_json(asdict(c)) + b"\n")
    return paths


def _export_paths(folder: Path) -> tuple[Path, Path]:
    paths = folder / _EVENTS_FILE, folder / _CHECKPOINTS_FILE
    for path in paths:
        if not path.is_file():
            raise InvalidInput(f"{path} is missing: give the folder written by the audit export")
    return paths


def _lines(path: Path) -> Iterator[tuple[int, str, dict[str, Any]]]:
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            try:
                record = json.loads(line)
            except ValueError as exc:
                raise IntegrityViolation(f"{path.name} line {number} is not a valid record: {exc}") from exc
            if not isinstance(record, dict):
                raise IntegrityViolation(f"{path.name} line {number} is not a valid record: not a JSON object")
            yield number, line, record


def _record(path: Path, number: int, kind: type[Event] | type[Checkpoint], record: dict[str, Any]) -> Any:
    try:
        return kind(**record)
    except TypeError as exc:
        raise IntegrityViolation(f"{path.name} line {number} is not a valid record: {exc}") from exc


def _line_hash(line: str, stored: Any) -> str:
    """:meth:`Event.computed_hash` of an export line, on the line itself: a canonical line is the canonical content
    with its ``"hash":"..."`` member (the first, as keys are sorted and the values before it are plain) added. Any
    other spelling gives another digest, and the parsed event decides."""
    member = f'"hash":"{stored}",'
    if not isinstance(stored, str) or member not in line:
        return ""
    return hashlib.sha256(line.rstrip("\n").replace(member, "", 1).encode()).hexdigest()


def verify_export(folder: Path, public_key: Ed25519PublicKey) -> Verification:
    """Verify an export written by :func:`write_export`, streaming its events (constant memory at any size).

    An export always ends at a checkpoint of its last event (``assay audit export`` signs one first), so on top
    of the chain this requires the public key, at least one checkpoint, and a valid one of the last event."""
    if not isinstance(public_key, Ed25519PublicKey):
        raise InvalidInput("an export is verified with the ledger's public key: give it (--public-key FILE)")
    events_path, checkpoints_path = _export_paths(folder)
    checkpoints = [_record(checkpoints_path, n, Checkpoint, r) for n, _, r in _lines(checkpoints_path)]
    verifier = ChainVerifier(public_key)
    verifier.expect_checkpoints({c.seq for c in checkpoints if type(c.seq) is int})
    for number, line, record in _lines(events_path):
        seq, prev_hash, stored = record.get("seq"), record.get("prev_hash"), record.get("hash")
        if verifier.accept_intact(seq, prev_hash, stored, _line_hash(line, stored)):  # type: ignore[arg-type]
            continue
        if not verifier.feed(_record(events_path, number, Event, record)):
            break
    return verifier.finish(checkpoints, signed_head=True)


def read_export(folder: Path) -> tuple[list[Event], list[Checkpoint]]:
    """Read an export written by :func:`write_export`; a malformed line is an :class:`IntegrityViolation`."""
    events_path, checkpoints_path = _export_paths(folder)
    events = [_record(events_path, n, Event, r) for n, _, r in _lines(events_path)]
    return events, [_record(checkpoints_path, n, Checkpoint, r) for n, _, r in _lines(checkpoints_path)]
