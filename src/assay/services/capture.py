"""Capture of a deployed model version's inference records, and the ground-truth labels that arrive later.

A model version's capture is configured once (:meth:`Capture.configure`, audited): the fields a record must fit,
the inference id column that labels join on, the label column, the record's own event-time column (default: the
time it was captured), the columns dropped or hashed at capture (personal data) and the retention in days.

Records arrive in batches (:meth:`Capture.ingest`; the HTTP endpoint, the Python client and ``assay capture
ingest`` all end here). A batch is **all or nothing**: when any record does not fit, none is stored and the error
lists every rejected record (its index, the field, the value and why); the Python client then resends the others
as a batch of their own, so the partial acceptance is explicit. A batch is idempotent on its ``batch_id``: stored
once, answered the same every time. It is acknowledged only when durable: each day's Parquet file is written to a
temporary file, fsynced and renamed, then listed with its SHA-256 in that day's ``manifest.jsonl`` (fsynced), then
the batch's marker (the answer) is written the same way. A crash at any point before the marker leaves the batch
unacknowledged, and its retry rewrites the same files under the same names: nothing is lost or stored twice.

Layout under the workspace (``.assay/capture``; nothing here is in the database)::

    system=<id>/model_version=<id>/records/day=YYYY-MM-DD/<batch>.parquet + manifest.jsonl
    system=<id>/model_version=<id>/labels/day=YYYY-MM-DD/<batch>.parquet + manifest.jsonl
    system=<id>/model_version=<id>/batches/<xx>/<batch>.json      the answer to each acknowledged batch

A window (:meth:`Capture.window`) reads the partitions of the days it covers with DuckDB (or Spark), joins the
latest label of each inference id, and says which files it read (their SHA-256, for the result document's
``inputs``). :func:`folder_window` reads files in dated folders (CSV, Parquet, JSON Lines, including SageMaker's
data capture format) the same way.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import fcntl
import hashlib
import hmac
import io
import json
import os
import re
import secrets
import shutil
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

from sqlalchemy import select

from assay.errors import Conflict, InvalidInput, NotFound
from assay.services import _lookup
from assay.services._base import Service
from assay.services.access import model_target
from assay.store.audit import identity
from assay.store.models import (
    Assessment,
    AuditEvent,
    CaptureConfig,
    DatasetVersion,
    ModelPause,
    ModelVersion,
    System,
    utcnow,
)

if TYPE_CHECKING:
    import pyarrow as pa
    from sqlalchemy.orm import Session

    from assay.frames import Frame

__all__ = [
    "FIELD_TYPES",
    "Capture",
    "CaptureWindow",
    "RejectedRecords",
    "folder_window",
    "parse_field",
]

FIELD_TYPES: Final = ("integer", "float", "string", "boolean", "timestamp", "date")
Engine = Literal["duckdb", "spark"]
_SHOWN_REJECTIONS: Final = 20
_KEY_FILE: Final = "capture.key"
_INTERNAL: Final = ("_stored_at", "_row")  # columns of label files that order relabels; never shown


class RejectedRecords(InvalidInput):
    """Records of a batch that do not fit the capture's fields; nothing of the batch was stored. ``rejected`` lists
    each problem as ``{"index", "field", "value", "reason"}``."""

    def __init__(self, message: str, rejected: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.rejected = rejected


# -- fields ------------------------------------------------------------------------------------------------------


def _field_type(dtype: str) -> str:
    """A capture field type from a registered column's type (narwhals' names, e.g. ``Int64``, ``Datetime(...)``)."""
    name = dtype.split("(")[0].strip().lower()
    if name.startswith(("int", "uint")) or name in ("integer", "bigint"):
        return "integer"
    if name.startswith(("float", "decimal", "double")):
        return "float"
    if name in ("boolean", "bool"):
        return "boolean"
    if name.startswith("datetime") or name == "timestamp":
        return "timestamp"
    if name == "date":
        return "date"
    return "string"


def _check_fields(fields: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    checked: list[dict[str, Any]] = []
    seen: set[str] = set()
    for given in fields:
        name, kind = given.get("name"), given.get("type", "string")
        if not isinstance(name, str) or not name.strip():
            raise InvalidInput(f"capture field {dict(given)!r}: give it a name")
        if kind not in FIELD_TYPES:
            raise InvalidInput(f"capture field {name!r}: type {kind!r} is not one of {', '.join(FIELD_TYPES)}")
        if name in seen:
            raise InvalidInput(f"capture field {name!r} is given twice")
        unknown = set(given) - {"name", "type", "required"}
        if unknown:
            keys = ", ".join(sorted(unknown))
            raise InvalidInput(f"capture field {name!r}: unknown keys {keys} (give name, type, required)")
        seen.add(name)
        checked.append({"name": name, "type": kind, "required": bool(given.get("required", False))})
    return checked


def parse_field(text: str) -> dict[str, Any]:
    """``NAME:TYPE`` or ``NAME:TYPE:optional`` (the CLI's ``--field``); required unless marked optional."""
    parts = text.split(":")
    if len(parts) not in (2, 3) or not parts[0] or (len(parts) == 3 and parts[2] not in ("optional", "required")):
        raise InvalidInput(f"--field {text!r}: write NAME:TYPE or NAME:TYPE:optional (types: {', '.join(FIELD_TYPES)})")
    return {"name": parts[0], "type": parts[1], "required": len(parts) == 2 or parts[2] == "required"}


# -- validation (pyarrow, column by column; a slow path only to name the records that do not fit) ----------------


def _arrow_type(kind: str) -> pa.DataType:
    import pyarrow as pa

    return {
        "integer": pa.int64(),
        "float": pa.float64(),
        "string": pa.string(),
        "boolean": pa.bool_(),
        "timestamp": pa.timestamp("us", tz="UTC"),
        "date": pa.date32(),
    }[kind]


def _one(value: Any, kind: str) -> tuple[Any, str | None]:
    """One value as the field's type, or the reason it is not one."""
    if kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None, "is not an integer"
        if isinstance(value, float) and not value.is_integer():
            return None, "is not an integer"
        return int(value), None
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None, "is not a number"
        return float(value), None
    if kind == "string":
        return (value, None) if isinstance(value, str) else (None, "is not a string")
    if kind == "boolean":
        return (value, None) if isinstance(value, bool) else (None, "is not true or false")
    if kind == "timestamp":
        if isinstance(value, dt.datetime):
            stamp = value
        elif isinstance(value, str):
            try:
                stamp = dt.datetime.fromisoformat(value)
            except ValueError:
                return None, "is not an ISO 8601 time (e.g. 2025-01-31T12:00:00Z)"
        else:
            return None, "is not an ISO 8601 time (e.g. 2025-01-31T12:00:00Z)"
        return (stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)).astimezone(dt.UTC), None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value, None
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value), None
        except ValueError:
            pass
    return None, "is not a date (YYYY-MM-DD)"


def _fast(values: list[Any], kind: str) -> pa.Array | None:
    """The column as the field's type when every value is plainly of it (the common case), else None."""
    import pyarrow as pa
    import pyarrow.compute as pc

    target = _arrow_type(kind)
    try:
        inferred = pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    if pa.types.is_null(inferred.type):
        return pa.nulls(len(values), target)
    if kind == "integer":
        if pa.types.is_integer(inferred.type):
            return inferred.cast(target)
        if pa.types.is_floating(inferred.type):
            whole = pc.equal(pc.floor(inferred), inferred)
            if pc.all(pc.or_kleene(whole, pc.is_null(inferred))).as_py() is not False:
                return inferred.cast(target)
        return None
    if kind == "float":
        numeric = pa.types.is_integer(inferred.type) or pa.types.is_floating(inferred.type)
        return inferred.cast(target) if numeric else None
    if kind in ("string", "boolean"):
        return inferred if inferred.type == target else None
    if pa.types.is_string(inferred.type):
        try:
            return inferred.cast(target)  # timestamps with a zone offset, dates as YYYY-MM-DD
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None
    return None


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


@dataclass
class _Validated:
    table: pa.Table
    problems: list[dict[str, Any]]


def _column(name: str, kind: str, required: bool, values: list[Any], problems: list[dict[str, Any]]) -> pa.Array:
    import pyarrow as pa

    array = _fast(values, kind)
    if array is not None and (not required or array.null_count == 0):
        return array
    converted: list[Any] = []
    for index, value in enumerate(values):
        if value is None:
            if required:
                problems.append({"index": index, "field": name, "value": None, "reason": "is required"})
            converted.append(None)
            continue
        good, reason = _one(value, kind) if array is None else (value, None)
        if reason is not None:
            problems.append({"index": index, "field": name, "value": _shown(value), "reason": reason})
        converted.append(good)
    return array if array is not None else pa.array(converted, type=_arrow_type(kind))


def _validate(config: CaptureConfig, records: Sequence[Any], batch_id: str, key: bytes | None) -> _Validated:
    """The records as an Arrow table of the stored columns (dropped columns out, hashed ones hashed, the inference
    id filled in, ``captured_at`` added), with every problem found."""
    import pyarrow as pa

    problems: list[dict[str, Any]] = []
    fields = {f["name"]: f for f in config.fields if f["name"] != config.label_column}
    allowed_names = set(fields) | set(config.drop_columns) | {config.id_column}
    seen: set[str] = set()
    for index, record in enumerate(records):
        if type(record) is not dict:
            problems.append({"index": index, "field": None, "value": _shown(record), "reason": "is not an object"})
            continue
        seen.update(record)
    for extra in sorted(seen - allowed_names):
        reason = (
            "is the label column: send labels with labels()"
            if extra == config.label_column
            else f"is not a field of the capture (fields: {', '.join(sorted(fields)) or 'none'})"
        )
        for index, record in enumerate(records):
            if type(record) is dict and extra in record:
                problems.append({"index": index, "field": extra, "value": _shown(record[extra]), "reason": reason})
    rows = [r if type(r) is dict else {} for r in records]
    columns: dict[str, pa.Array] = {}
    raw_ids = [r.get(config.id_column) for r in rows]
    ids: list[str | None] = []
    for index, value in enumerate(raw_ids):
        if value is None:
            ids.append(f"{batch_id}:{index}")  # deterministic, so a retried batch stores the same ids
        elif isinstance(value, str | int) and not isinstance(value, bool) and str(value):
            ids.append(str(value))
        else:
            problems.append({"index": index, "field": config.id_column, "value": _shown(value),
                             "reason": "is not a string or integer inference id"})  # fmt: skip
            ids.append(None)
    columns[config.id_column] = pa.array(ids, type=pa.string())
    hashed = set(config.hash_columns)
    for name, spec in fields.items():
        if name in config.drop_columns or name == config.id_column:
            continue
        array = _column(name, spec["type"], spec["required"], [r.get(name) for r in rows], problems)
        if name in hashed and key is not None:
            array = pa.array([None if v is None else _hmac(key, v) for v in array.to_pylist()], type=pa.string())
        columns[name] = array
    now = dt.datetime.now(dt.UTC)
    columns["captured_at"] = pa.array([now] * len(rows), type=pa.timestamp("us", tz="UTC"))
    return _Validated(pa.table(columns), problems)


def _hmac(key: bytes, value: Any) -> str:
    text = value.isoformat() if isinstance(value, dt.date | dt.datetime) else str(value)
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def _refusal(what: str, count: int, problems: list[dict[str, Any]]) -> RejectedRecords:
    problems.sort(key=lambda p: (p["index"], p["field"] or ""))
    indices = sorted({p["index"] for p in problems})
    shown = "; ".join(
        f"record {p['index']}: " + (f"field {p['field']!r} " if p["field"] else "") + f"= {p['value']} {p['reason']}"
        if p["value"] is not None
        else f"record {p['index']}: field {p['field']!r} {p['reason']}"
        for p in problems[:_SHOWN_REJECTIONS]
    )
    more = f" (and {len(problems) - _SHOWN_REJECTIONS} more problems)" if len(problems) > _SHOWN_REJECTIONS else ""
    return RejectedRecords(
        f"{len(indices)} of {count} {what} do not fit the capture's fields; nothing of the batch was stored: "
        f"{shown}{more}",
        problems,
    )


# -- durable files -----------------------------------------------------------------------------------------------


def _fsync_dir(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _write_durably(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, fsync it, rename it over ``path`` and fsync the folder."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    with open(temporary, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    _fsync_dir(path.parent)


def _append_durably(path: Path, line: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(descriptor, line.encode())
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _parquet_bytes(table: pa.Table) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return bytes(sink.getvalue().to_pybytes())


def _manifest(folder: Path) -> dict[str, dict[str, Any]]:
    """The files of a day folder's manifest by name (a file listed twice, by a retried batch: the last entry)."""
    entries: dict[str, dict[str, Any]] = {}
    path = folder / "manifest.jsonl"
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                entry = json.loads(line)
                entries[entry["file"]] = entry
    return entries


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _day_folders(root: Path) -> list[tuple[dt.date, Path]]:
    found = []
    if root.is_dir():
        for folder in root.iterdir():
            match = re.fullmatch(r"day=(\d{4}-\d{2}-\d{2})", folder.name)
            if match and folder.is_dir():
                found.append((dt.date.fromisoformat(match.group(1)), folder))
    return sorted(found)


def _utc(moment: dt.datetime | str) -> dt.datetime:
    if isinstance(moment, str):
        try:
            moment = dt.datetime.fromisoformat(moment)
        except ValueError:
            raise InvalidInput(f"time {moment!r} is not ISO 8601 (e.g. 2025-01-31T00:00:00Z)") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


# -- windows -----------------------------------------------------------------------------------------------------


@dataclass
class CaptureWindow:
    """The captured rows in ``[start, end)``: ``frame`` (an :class:`assay.frames.Frame` on DuckDB or Spark), the
    ``files`` read (path -> SHA-256) and their ``fingerprint``; :meth:`inputs` is the entry a result document
    records."""

    frame: Frame
    ref: str
    start: dt.datetime
    end: dt.datetime
    files: dict[str, str] = field(default_factory=dict)

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the sorted (file, SHA-256) pairs read: the same files give the same fingerprint."""
        text = json.dumps(sorted(self.files.items()), separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    def inputs(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "sha256": self.fingerprint,
            "files": len(self.files),
            "start": self.start.isoformat().replace("+00:00", "Z"),
            "end": self.end.isoformat().replace("+00:00", "Z"),
        }


def _spark_session(spark: Any) -> Any:
    if spark is not None:
        return spark
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise InvalidInput("engine 'spark' needs PySpark (pip install 'assay[spark]')") from None
    return SparkSession.builder.getOrCreate()


def _open_frame(data: Any, source: str) -> Frame:
    from assay.frames import open as open_frame

    return open_frame(data, source=source)


# -- the service -------------------------------------------------------------------------------------------------


class Capture(Service):
    """Capture configuration (audited), batches of records and labels (durable files), windows and retention."""

    # -- configuration --------------------------------------------------------------------------------------------

    def configure(
        self,
        system: str,
        model_version: str,
        *,
        fields: Sequence[Mapping[str, Any]] | None = None,
        add_fields: Sequence[Mapping[str, Any]] = (),
        optional: Sequence[str] = (),
        id_column: str = "inference_id",
        label_column: str | None = None,
        time_column: str | None = None,
        drop: Sequence[str] = (),
        hash: Sequence[str] = (),
        pii: Literal["drop", "hash"] | None = None,
        retention_days: int | None = None,
        enabled: bool = True,
    ) -> CaptureConfig:
        """Set how ``model_version``'s records are captured (replacing an earlier configuration; audited).

        ``fields`` (each ``{"name", "type", "required"}``), default the registered columns of the model version's
        training dataset version (all required but those named in ``optional``); ``add_fields`` adds or replaces
        some (a prediction, a score). ``drop`` and ``hash`` name columns dropped or hashed (HMAC-SHA256 with the
        workspace's capture key) at capture; ``pii`` drops or hashes the columns the PII check found in the
        training data. ``retention_days``: captured days older than this are removed by :meth:`purge`."""
        if retention_days is not None and not 1 <= retention_days <= 36500:
            raise InvalidInput(f"retention_days must be 1 to 36500 days, not {retention_days}")
        if pii not in (None, "drop", "hash"):
            raise InvalidInput(f"pii {pii!r}: write drop or hash")
        for name, value in (("id_column", id_column), ("label_column", label_column), ("time_column", time_column)):
            if value is not None and (not value.strip() or len(value) > 200):
                raise InvalidInput(f"{name} {value!r}: give a column name of 1 to 200 characters")
        with self._write() as tx:
            owner, version = self._target(tx.session, system, model_version, "write")
            given = list(fields) if fields is not None else self._training_fields(tx.session, version, optional)
            names = {f.get("name") for f in add_fields}
            checked = _check_fields([f for f in given if f.get("name") not in names] + list(add_fields))
            known = {f["name"]: f for f in checked}
            dropped, hashed = list(dict.fromkeys(drop)), list(dict.fromkeys(hash))
            if pii is not None:
                found = [c for c in self._pii_columns(tx.session, version) if c in known]
                (dropped if pii == "drop" else hashed).extend(c for c in found if c not in dropped + hashed)
            for name in [*dropped, *hashed]:
                if name not in known:
                    raise InvalidInput(f"column {name!r} is not a field of the capture ({', '.join(known) or 'none'})")
            if set(dropped) & set(hashed):
                raise InvalidInput(f"columns {sorted(set(dropped) & set(hashed))} are both dropped and hashed")
            if label_column is not None and label_column not in known:
                raise InvalidInput(
                    f"label column {label_column!r} is not a field of the capture: add it with its type "
                    f"(e.g. add_fields=[{{'name': {label_column!r}, 'type': 'integer'}}])"
                )
            if time_column is not None:
                if known.get(time_column, {}).get("type") != "timestamp":
                    raise InvalidInput(f"time column {time_column!r} must be a field of type timestamp")
                if time_column in dropped or time_column in hashed:
                    raise InvalidInput(f"time column {time_column!r} cannot be dropped or hashed")
            if id_column in known and known[id_column]["type"] not in ("string", "integer"):
                raise InvalidInput(f"inference id column {id_column!r} must be a string or integer field")
            if id_column in dropped or id_column in hashed or id_column == label_column:
                raise InvalidInput(f"inference id column {id_column!r} cannot be dropped, hashed or the label")
            config = tx.session.execute(
                select(CaptureConfig).where(CaptureConfig.model_version_id == version.id)
            ).scalar_one_or_none()
            before = None if config is None else config.state()
            if config is None:
                config = CaptureConfig(system_id=owner.id, model_version_id=version.id, created_by=tx.actor)
                tx.session.add(config)
            config.fields, config.id_column, config.label_column = checked, id_column, label_column
            config.time_column, config.drop_columns, config.hash_columns = time_column, dropped, hashed
            config.retention_days, config.enabled, config.updated_at = retention_days, enabled, utcnow()
            tx.record(
                "capture.configure",
                config,
                before=before,
                payload={"system": owner.name, "model_version": model_version, "fields": len(checked),
                         "dropped": dropped, "hashed": hashed, "retention_days": retention_days},
            )  # fmt: skip
        if hashed:
            self._key()  # made now, so that the first batch does not race to make it
        return config

    def show(self, system: str, model_version: str) -> CaptureConfig:
        with self._read() as session:
            owner, version = self._target(session, system, model_version, "read")
            return self._config_of(session, owner, version, model_version)

    @staticmethod
    def _config_of(session: Session, owner: System, version: ModelVersion, ref: str) -> CaptureConfig:
        config = session.execute(
            select(CaptureConfig).where(CaptureConfig.model_version_id == version.id)
        ).scalar_one_or_none()
        if config is None:
            raise NotFound(
                f"capture is not configured for {owner.name} {ref}: run `assay capture configure {owner.name} {ref}`"
            )
        return config

    @staticmethod
    def _target(session: Session, system: str, model_version: str, action: Any) -> tuple[System, ModelVersion]:
        return model_target(session, system, model_version, action)

    @staticmethod
    def _training_fields(session: Session, version: ModelVersion, optional: Sequence[str]) -> list[dict[str, Any]]:
        data = (
            None
            if version.training_dataset_version_id is None
            else session.get(DatasetVersion, version.training_dataset_version_id)
        )
        if data is None or not data.columns:
            raise InvalidInput(
                "the model version has no training dataset version with registered columns: give the fields "
                "(--field NAME:TYPE, or fields=[{'name', 'type', 'required'}])"
            )
        names = {c["name"] for c in data.columns}
        for name in optional:
            if name not in names:
                raise InvalidInput(f"optional column {name!r} is not a column of the training data")
        return [{"name": c["name"], "type": _field_type(str(c.get("type", "string"))),
                 "required": c["name"] not in optional} for c in data.columns]  # fmt: skip

    @staticmethod
    def _pii_columns(session: Session, version: ModelVersion) -> list[str]:
        """The columns the PII check flagged in the model version's training data: its latest recorded ``pii``
        check, else the scan made when the dataset version was registered."""
        if version.training_dataset_version_id is None:
            raise InvalidInput("pii: the model version has no training dataset version whose PII findings to use")
        checks = session.execute(
            select(Assessment)
            .where(Assessment.dataset_version_id == version.training_dataset_version_id)
            .where(Assessment.kind == "assay.data-check")
            .order_by(Assessment.id.desc())
        ).scalars()
        for check in checks:
            if check.document.get("check") == "pii":
                return list(check.document.get("result", {}).get("flagged_columns", []))
        data = session.get(DatasetVersion, version.training_dataset_version_id)
        assert data is not None
        event = session.execute(
            select(AuditEvent.payload)
            .where(AuditEvent.object_type == "dataset_versions", AuditEvent.object_id == identity(data))
            .where(AuditEvent.action == "dataset_version.create")
        ).scalar_one_or_none()
        scan = None if event is None else json.loads(event).get("pii_scan")
        if scan is None:
            raise InvalidInput(
                "pii: the training dataset version has no PII findings: run `assay check pii` on it (or register it "
                "with its file and --scan-pii), or name the columns with --drop/--hash"
            )
        return list(scan.get("columns", {}))

    # -- where things are kept ------------------------------------------------------------------------------------

    def _folder(self, config: CaptureConfig) -> Path:
        return self.ws.home / "capture" / f"system={config.system_id}" / f"model_version={config.model_version_id}"

    def _key(self) -> bytes:
        """The workspace's capture key (``.assay/keys/capture.key``), made on first use."""
        return self.ws.secret_key(_KEY_FILE, "capture")

    def _load(self, system: str, model_version: str, action: str) -> CaptureConfig:
        with self._read() as session:
            owner, version = self._target(session, system, model_version, action)
            config = self._config_of(session, owner, version, model_version)
        if not config.enabled:
            raise Conflict(f"capture of {system} {model_version} is disabled: configure it with enabled=True")
        return config

    @contextmanager
    def _locked(self, folder: Path, key: str) -> Iterator[None]:
        """An exclusive lock on one of 256 stripes (the batch key's first byte): two deliveries of the same batch,
        in any process, never write at once. Released by the kernel if the process dies."""
        locks = folder / "locks"
        locks.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(locks / f"{key[:2]}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            yield
        finally:
            os.close(descriptor)

    # -- batches --------------------------------------------------------------------------------------------------

    def ingest(
        self, system: str, model_version: str, records: Sequence[Any], batch_id: str, *, digest: str | None = None
    ) -> dict[str, Any]:
        """Store a batch of inference records, all or nothing, once per ``batch_id``; the answer (``batch_id``,
        ``records``, ``days``, and ``paused`` while the model version is paused by its overseer: the records are
        stored, the service should be on its manual path) is returned only when the batch is durable, and the same
        answer for a repeat.
        ``digest`` identifies the batch's content (default: the SHA-256 of its canonical JSON); the same batch id
        with other content is a :class:`~assay.errors.Conflict`. A record that does not fit refuses the batch
        (:class:`RejectedRecords`, naming every record, field and value)."""
        answer = self._batch("records", system, model_version, records, batch_id, digest)
        with self._read() as session:  # the kill switch: the service is told its model version is paused
            owner = _lookup.system(session, system)
            version = _lookup.model_version(session, owner, model_version)
            pause = (
                session.execute(
                    select(ModelPause).where(ModelPause.model_version_id == version.id, ModelPause.resumed_at.is_(None))
                )
                .scalars()
                .first()
            )
            if pause is not None:
                answer = {
                    **answer,
                    "paused": {
                        "reason": pause.reason,
                        "fallback": pause.fallback,
                        "paused_by": pause.paused_by,
                        "paused_at": pause.paused_at.isoformat(),
                    },
                }
        return answer

    def labels(
        self, system: str, model_version: str, records: Sequence[Any], batch_id: str, *, digest: str | None = None
    ) -> dict[str, Any]:
        """Store a batch of ground-truth labels (each ``{id_column: ..., label_column: ...}``, optionally
        ``labelled_at``), joined to the captured records on the inference id when a window is read; a later label
        of the same id replaces the earlier one. All or nothing and idempotent as :meth:`ingest`."""
        return self._batch("labels", system, model_version, records, batch_id, digest)

    def _batch(
        self, what: str, system: str, model_version: str, records: Sequence[Any], batch_id: str, digest: str | None
    ) -> dict[str, Any]:
        if not isinstance(batch_id, str) or not 1 <= len(batch_id) <= 200:
            raise InvalidInput("batch_id must be a string of 1 to 200 characters")
        if not isinstance(records, Sequence) or isinstance(records, str | bytes):
            raise InvalidInput("records must be a list of objects")
        limit = self.ws.settings.capture_max_records
        if len(records) > limit:
            raise InvalidInput(
                f"a batch holds at most {limit} records (ASSAY_CAPTURE_MAX_RECORDS), not {len(records)}: split it"
            )
        config = self._load(system, model_version, "ingest")
        if what == "labels" and config.label_column is None:
            raise InvalidInput(f"capture of {system} {model_version} has no label column: configure --label COLUMN")
        digest = (
            digest
            or hashlib.sha256(
                json.dumps(list(records), sort_keys=True, default=str, separators=(",", ":")).encode()
            ).hexdigest()
        )
        folder = self._folder(config)
        key = hashlib.sha256(f"{what}\0{batch_id}".encode()).hexdigest()
        marker = folder / "batches" / key[:2] / f"{key}.json"
        answer = _answer(marker, batch_id, digest)
        if answer is not None:
            return answer
        if what == "records":
            secret = self._key() if config.hash_columns else None
            validated = _validate(config, records, batch_id, secret)
            times = config.time_column or "captured_at"
        else:
            validated = _validate_labels(config, records)
            times = "labelled_at"
        if validated.problems:
            raise _refusal(what, len(records), validated.problems)
        with self._locked(folder, key):
            answer = _answer(marker, batch_id, digest)  # a concurrent delivery of the same batch stored it first
            if answer is not None:
                return answer
            days = _store(folder / what, validated.table, times, key[:40], batch_id, validated.table.num_rows)
            answer = {"batch_id": batch_id, what: validated.table.num_rows, "days": days}
            marker.parent.mkdir(parents=True, exist_ok=True)
            _write_durably(marker, json.dumps({**answer, "digest": digest}).encode())
        return answer

    # -- windows --------------------------------------------------------------------------------------------------

    @contextmanager
    def window(
        self,
        system: str,
        model_version: str,
        start: dt.datetime | str,
        end: dt.datetime | str,
        *,
        engine: Engine = "duckdb",
        spark: Any = None,
    ) -> Iterator[CaptureWindow]:
        """The captured rows whose event time is in ``[start, end)`` (UTC; a time without zone is UTC), with the
        latest label of each inference id joined (``label_column`` and ``labelled_at``; null when none yet), as a
        frame on DuckDB (one machine) or Spark (``spark``: a session, default the active one) over the same
        Parquet partitions."""
        begin, stop = _utc(start), _utc(end)
        if stop <= begin:
            raise InvalidInput(f"the window's end {stop.isoformat()} is not after its start {begin.isoformat()}")
        config = self._load(system, model_version, "read")
        folder = self._folder(config)
        records = _files_between(folder / "records", begin.date(), (stop - dt.timedelta(microseconds=1)).date())
        labels = _files_between(folder / "labels", begin.date() - dt.timedelta(days=1), None)
        files = {**records, **labels}
        shown = {str(Path(p).relative_to(self.ws.home)): sha for p, sha in files.items()}
        ref = f"capture:{system}/{model_version}"
        schema = _stored_schema(config)
        times = config.time_column or "captured_at"
        if engine == "duckdb":
            with _duckdb_window(config, schema, list(records), list(labels), times, begin, stop) as relation:
                yield CaptureWindow(_open_frame(relation, ref), ref, begin, stop, shown)
        elif engine == "spark":
            frame = _spark_window(_spark_session(spark), config, schema, list(records), list(labels), times,
                                  begin, stop)  # fmt: skip
            yield CaptureWindow(_open_frame(frame, ref), ref, begin, stop, shown)
        else:
            raise InvalidInput(f"engine {engine!r} is not duckdb or spark")

    # -- retention ------------------------------------------------------------------------------------------------

    def purge(
        self, system: str | None = None, model_version: str | None = None, *, now: dt.datetime | None = None
    ) -> list[dict[str, Any]]:
        """Remove the captured and label partitions (and batch answers) older than each capture's retention (every
        configured capture, or one): one audit event per capture that lost data, with the counts removed."""
        today = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).date()
        with self._read() as session:
            if system is not None and model_version is not None:
                owner, version = self._target(session, system, model_version, "write")
                configs = [self._config_of(session, owner, version, model_version)]
            else:
                query = select(CaptureConfig).where(CaptureConfig.retention_days.is_not(None))
                if system is not None:
                    owner = _lookup.system(session, system)
                    query = query.where(CaptureConfig.system_id == owner.id)
                configs = list(session.execute(query.order_by(CaptureConfig.id)).scalars())
        done = []
        for config in configs:
            if config.retention_days is None:
                continue
            cutoff = today - dt.timedelta(days=config.retention_days)
            counts = _remove_before(self._folder(config), cutoff)
            if not any(counts.values()):
                continue
            with self._write() as tx:
                current = tx.session.get(CaptureConfig, config.id)
                assert current is not None
                owner_name = tx.session.get(System, current.system_id)
                target = tx.session.get(ModelVersion, current.model_version_id)
                payload = {
                    "system": owner_name.name if owner_name else None,
                    "model_version": f"{target.model.name}@{target.version}" if target else None,
                    "before": cutoff.isoformat(),
                    "retention_days": current.retention_days,
                    **counts,
                }
                tx.record("capture.purge", current, before=current.state(), payload=payload)
            done.append(payload)
        return done


def _answer(marker: Path, batch_id: str, digest: str) -> dict[str, Any] | None:
    if not marker.is_file():
        return None
    stored = json.loads(marker.read_text(encoding="utf-8"))
    if stored.pop("digest", digest) != digest:
        raise Conflict(f"batch {batch_id!r} was already stored with other records: give a new batch id")
    return dict(stored)


def _store(root: Path, table: pa.Table, times: str, name: str, batch_id: str, count: int) -> list[str]:
    """Write ``table`` as one Parquet file per day of ``times`` (durably), each listed in its day's manifest."""
    import pyarrow.compute as pc

    if count == 0:
        return []
    days = pc.strftime(table[times], format="%Y-%m-%d")
    distinct = sorted(pc.unique(days).to_pylist())
    written = []
    for day in distinct:
        part = table if len(distinct) == 1 else table.filter(pc.equal(days, day))
        folder = root / f"day={day}"
        folder.mkdir(parents=True, exist_ok=True)
        data = _parquet_bytes(part)
        path = folder / f"{name}.parquet"
        _write_durably(path, data)
        entry = {"file": path.name, "sha256": hashlib.sha256(data).hexdigest(), "rows": part.num_rows,
                 "batch_id": batch_id, "stored_at": dt.datetime.now(dt.UTC).isoformat()}  # fmt: skip
        _append_durably(folder / "manifest.jsonl", json.dumps(entry) + "\n")
        written.append(day)
    return written


def _validate_labels(config: CaptureConfig, records: Sequence[Any]) -> _Validated:
    import pyarrow as pa

    label = config.label_column
    assert label is not None
    kind = next(f["type"] for f in config.fields if f["name"] == label)
    problems: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    for index, record in enumerate(records):
        if type(record) is not dict:
            problems.append({"index": index, "field": None, "value": _shown(record), "reason": "is not an object"})
            rows.append({})
            continue
        extra = set(record) - {config.id_column, label, "labelled_at"}
        problems.extend({"index": index, "field": name, "value": _shown(record[name]),
                         "reason": f"is not part of a label (give {config.id_column}, {label}, labelled_at)"}
                        for name in sorted(extra))  # fmt: skip
        rows.append(record)
    ids: list[str | None] = []
    for index, record in enumerate(rows):
        value = record.get(config.id_column)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
            ids.append(str(value))
        else:
            problems.append({"index": index, "field": config.id_column, "value": _shown(value),
                             "reason": "is required: the inference id the label belongs to"})  # fmt: skip
            ids.append(None)
    values = _column(label, kind, False, [r.get(label) for r in rows], problems)
    now = dt.datetime.now(dt.UTC)
    given = [r.get("labelled_at") for r in rows]
    stamps = _column("labelled_at", "timestamp", False, given, problems) if any(g is not None for g in given) else None
    labelled = [now if s is None else s for s in (stamps.to_pylist() if stamps is not None else [None] * len(rows))]
    table = pa.table(
        {
            config.id_column: pa.array(ids, type=pa.string()),
            label: values,
            "labelled_at": pa.array(labelled, type=pa.timestamp("us", tz="UTC")),
            "_stored_at": pa.array([now] * len(rows), type=pa.timestamp("us", tz="UTC")),
            "_row": pa.array(range(len(rows)), type=pa.int64()),
        }
    )
    return _Validated(table, problems)


def _files_between(root: Path, first: dt.date, last: dt.date | None) -> dict[str, str]:
    """The Parquet files of the day folders from ``first`` to ``last`` (None: every later day) -> SHA-256 (from the
    manifest, written when the file was; a file missing from it, left by a batch never acknowledged, is hashed)."""
    found: dict[str, str] = {}
    for day, folder in _day_folders(root):
        if day < first or (last is not None and day > last):
            continue
        listed = _manifest(folder)
        for path in sorted(folder.glob("*.parquet")):
            entry = listed.get(path.name)
            found[str(path)] = entry["sha256"] if entry else _sha256_file(path)
    return found


def _stored_schema(config: CaptureConfig) -> pa.Schema:
    """The columns a window has: the id, the kept fields (hashed ones as strings), ``captured_at``, the label and
    ``labelled_at``."""
    import pyarrow as pa

    columns = [pa.field(config.id_column, pa.string())]
    for spec in config.fields:
        name = spec["name"]
        if name in config.drop_columns or name in (config.id_column, config.label_column):
            continue
        columns.append(pa.field(name, pa.string() if name in config.hash_columns else _arrow_type(spec["type"])))
    columns.append(pa.field("captured_at", pa.timestamp("us", tz="UTC")))
    if config.label_column is not None:
        kind = next(f["type"] for f in config.fields if f["name"] == config.label_column)
        columns.append(pa.field(config.label_column, _arrow_type(kind)))
        columns.append(pa.field("labelled_at", pa.timestamp("us", tz="UTC")))
    return pa.schema(columns)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@contextmanager
def _duckdb_window(
    config: CaptureConfig,
    schema: pa.Schema,
    records: list[str],
    labels: list[str],
    times: str,
    start: dt.datetime,
    end: dt.datetime,
) -> Iterator[Any]:
    import duckdb
    import pyarrow as pa

    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        kept = [f for f in schema if f.name not in (config.label_column, "labelled_at")]
        empty = pa.Table.from_batches([], pa.schema(kept))
        con.register("_empty", empty)
        source = (
            f"read_parquet({_list(records)}, union_by_name = true, hive_partitioning = false)" if records else "_empty"
        )
        present = (
            {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
            if records
            else {f.name for f in kept}
        )  # a field added after earlier files were written is null in them
        columns = ", ".join(f"CAST({_quote(f.name)} AS {_duck_type(f.type)}) AS {_quote(f.name)}"
                            if f.name in present else
                            f"CAST(NULL AS {_duck_type(f.type)}) AS {_quote(f.name)}" for f in kept)  # fmt: skip
        captured = f"SELECT {columns} FROM {source} WHERE {_quote(times)} >= $start AND {_quote(times)} < $end"
        if config.label_column is None:
            query = captured
        else:
            label, ident = _quote(config.label_column), _quote(config.id_column)
            label_type = _duck_type(schema.field(config.label_column).type)
            if labels:
                latest = (
                    f"SELECT {ident}, CAST({label} AS {label_type}) AS {label}, labelled_at FROM ("
                    f"SELECT *, row_number() OVER (PARTITION BY {ident} ORDER BY labelled_at DESC, _stored_at DESC, "
                    f"_row DESC) AS _n FROM read_parquet({_list(labels)}, union_by_name = true, "
                    "hive_partitioning = false)) WHERE _n = 1"
                )
            else:
                latest = (
                    f"SELECT CAST(NULL AS VARCHAR) AS {ident}, CAST(NULL AS {label_type}) AS {label}, "
                    "CAST(NULL AS TIMESTAMPTZ) AS labelled_at WHERE false"
                )
            query = (
                f"SELECT c.*, l.{label}, l.labelled_at FROM ({captured}) c LEFT JOIN ({latest}) l "
                f"ON c.{ident} = l.{ident}"
            )
        relation = con.sql(query, params={"start": start, "end": end})
        yield relation
    finally:
        con.close()


def _list(paths: Iterable[str]) -> str:
    return "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in paths) + "]"


#: pyarrow type test -> (DuckDB type, Spark type) of a captured column; anything else is text.
_ENGINE_TYPES: Final = (
    ("is_int64", "BIGINT", "bigint"),
    ("is_float64", "DOUBLE", "double"),
    ("is_boolean", "BOOLEAN", "boolean"),
    ("is_timestamp", "TIMESTAMPTZ", "timestamp"),
    ("is_date32", "DATE", "date"),
)


def _engine_type(kind: pa.DataType, engine: int) -> str:
    """The type of a captured column on DuckDB (``engine`` 0) or Spark (1)."""
    import pyarrow as pa

    for test, *names in _ENGINE_TYPES:
        if getattr(pa.types, test)(kind):
            return names[engine]
    return ("VARCHAR", "string")[engine]


def _duck_type(kind: pa.DataType) -> str:
    return _engine_type(kind, 0)


def _spark_window(
    spark: Any,
    config: CaptureConfig,
    schema: pa.Schema,
    records: list[str],
    labels: list[str],
    times: str,
    start: dt.datetime,
    end: dt.datetime,
) -> Any:
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    def typed(frame: Any, fields: Iterable[pa.Field]) -> Any:
        present = set(frame.columns)
        return frame.select(
            *[
                (F.col(f"`{f.name}`") if f.name in present else F.lit(None)).cast(_spark_type(f.type)).alias(f.name)
                for f in fields
            ]
        )

    kept = [f for f in schema if f.name not in (config.label_column, "labelled_at")]
    if records:
        captured = typed(spark.read.option("mergeSchema", "true").parquet(*records), kept)
    else:
        captured = spark.createDataFrame([], ", ".join(f"`{f.name}` {_spark_type(f.type)}" for f in kept))
    captured = captured.where((F.col(f"`{times}`") >= F.lit(start)) & (F.col(f"`{times}`") < F.lit(end)))
    if config.label_column is None:
        return captured
    label_fields = [schema.field(config.id_column), schema.field(config.label_column), schema.field("labelled_at")]
    if not labels:
        latest = spark.createDataFrame([], ", ".join(f"`{f.name}` {_spark_type(f.type)}" for f in label_fields))
    else:
        raw = spark.read.option("mergeSchema", "true").parquet(*labels)
        order = Window.partitionBy(f"`{config.id_column}`").orderBy(
            F.col("labelled_at").desc(), F.col("_stored_at").desc(), F.col("_row").desc()
        )
        latest = typed(raw.withColumn("_n", F.row_number().over(order)).where(F.col("_n") == 1), label_fields)
    return captured.join(latest, on=config.id_column, how="left").select(*[f"`{f.name}`" for f in schema])


def _spark_type(kind: pa.DataType) -> str:
    return _engine_type(kind, 1)


def _remove_before(folder: Path, cutoff: dt.date) -> dict[str, int]:
    """Remove the day folders before ``cutoff`` (records and labels) and the batch answers written before it."""
    counts = {"record_files": 0, "records": 0, "label_files": 0, "labels": 0, "batches": 0}
    for what in ("records", "labels"):
        for day, path in _day_folders(folder / what):
            if day >= cutoff:
                continue
            listed = _manifest(path)
            files = list(path.glob("*.parquet"))
            counts[f"{what[:-1]}_files"] += len(files)
            counts[what] += sum(int(listed[f.name]["rows"]) for f in files if f.name in listed)
            shutil.rmtree(path)
    limit = dt.datetime.combine(cutoff, dt.time(), dt.UTC).timestamp()
    for marker in (folder / "batches").glob("*/*.json") if (folder / "batches").is_dir() else []:
        if marker.stat().st_mtime < limit:
            marker.unlink()
            counts["batches"] += 1
    return counts


# -- files in dated folders --------------------------------------------------------------------------------------

_HOUR_PATH: Final = re.compile(r"(?:^|/)(\d{4})/(\d{2})/(\d{2})/(\d{2})(?:/|$)")
_DAY_PATH: Final = re.compile(r"(?:^|/)(?:day|date|dt)=(\d{4}-\d{2}-\d{2})(?:/|$)")
_FORMATS: Final = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl", ".json": "jsonl"}


def _span_of(relative: str) -> tuple[dt.datetime, dt.datetime] | None:
    """The time a dated path covers: an hour for ``YYYY/MM/DD/HH`` (SageMaker's data capture), a day for
    ``day=YYYY-MM-DD``."""
    hour = _HOUR_PATH.search(relative)
    if hour:
        year, month, day, at = (int(g) for g in hour.groups())
        begin = dt.datetime(year, month, day, at, tzinfo=dt.UTC)
        return begin, begin + dt.timedelta(hours=1)
    day_match = _DAY_PATH.search(relative)
    if day_match:
        begin = dt.datetime.combine(dt.date.fromisoformat(day_match.group(1)), dt.time(), dt.UTC)
        return begin, begin + dt.timedelta(days=1)
    return None


def _sagemaker_rows(line: dict[str, Any], columns: Sequence[str] | None, where: str) -> list[dict[str, Any]]:
    """The rows of one SageMaker data capture line (``captureData.endpointInput/endpointOutput``, CSV or JSON,
    possibly base64, several rows per request), with ``inference_id`` and ``event_time`` from ``eventMetadata``."""
    capture = line["captureData"]
    meta = line.get("eventMetadata", {})
    ident = meta.get("inferenceId") or meta.get("eventId")
    stamp = meta.get("inferenceTime") or line.get("eventTime") or meta.get("eventTime")
    inputs = _payload(capture.get("endpointInput"), where)
    outputs = _payload(capture.get("endpointOutput"), where)
    rows: list[dict[str, Any]] = []
    for index, values in enumerate(inputs):
        if isinstance(values, dict):
            row = dict(values)
        else:
            if columns is None:
                columns = [f"_c{i}" for i in range(len(values))]
            if len(values) != len(columns):
                raise InvalidInput(
                    f"{where}: a captured CSV input has {len(values)} values but {len(columns)} columns are named"
                )
            row = dict(zip(columns, values, strict=True))
        prediction = outputs[index] if index < len(outputs) else None
        if isinstance(prediction, list):
            if len(prediction) == 1:
                row["prediction"] = prediction[0]
            else:
                row.update({f"prediction_{i}": v for i, v in enumerate(prediction)})
        elif isinstance(prediction, dict):
            row.update(prediction)
        elif prediction is not None:
            row["prediction"] = prediction
        suffix = f"-{index}" if len(inputs) > 1 else ""
        row["inference_id"] = f"{ident}{suffix}" if ident else None
        row["event_time"] = stamp
        rows.append(row)
    return rows


def _payload(part: Mapping[str, Any] | None, where: str) -> list[Any]:
    if not part:
        return []
    data = part.get("data", "")
    if str(part.get("encoding", "")).upper() == "BASE64":
        data = base64.b64decode(data).decode()
    kind = str(part.get("observedContentType", "")).lower()
    encoding = str(part.get("encoding", "")).upper()
    if "json" in kind or encoding == "JSON":
        value = json.loads(data) if isinstance(data, str) else data
        if isinstance(value, dict):
            for key in ("instances", "predictions", "features", "inputs", "outputs"):
                if isinstance(value.get(key), list):
                    value = value[key]
                    break
            else:
                return [value]
        if isinstance(value, list) and value and not isinstance(value[0], list | dict):
            return [value]
        return list(value) if isinstance(value, list) else [value]
    reader = csv.reader(io.StringIO(str(data)))
    return [[_number(v) for v in row] for row in reader if row]


def _number(text: str) -> Any:
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


@contextmanager
def folder_window(
    folder: str | Path,
    start: dt.datetime | str,
    end: dt.datetime | str,
    *,
    columns: Sequence[str] | None = None,
    engine: Engine = "duckdb",
    spark: Any = None,
) -> Iterator[CaptureWindow]:
    """The rows of the CSV, Parquet and JSON Lines files under ``folder`` whose dated sub-folder
    (``YYYY/MM/DD/HH`` as SageMaker's data capture writes, or ``day=YYYY-MM-DD``) overlaps ``[start, end)``.
    SageMaker capture lines become rows of the input's columns (``columns`` names a CSV payload's values; default
    ``_c0``, ``_c1``, ...), ``prediction`` and ``inference_id``/``event_time``; their rows are then kept only when
    ``event_time`` is in the window."""
    import pyarrow as pa

    root = Path(folder)
    if not root.is_dir():
        raise NotFound(f"no folder {root}")
    begin, stop = _utc(start), _utc(end)
    chosen: dict[str, list[Path]] = {"csv": [], "parquet": [], "jsonl": []}
    for path in sorted(root.rglob("*")):
        kind = _FORMATS.get(path.suffix.lower())
        if kind is None or not path.is_file() or path.name.startswith("."):
            continue
        span = _span_of(path.relative_to(root).as_posix())
        if span is not None and span[0] < stop and span[1] > begin:
            chosen[kind].append(path)
    files = {str(p.relative_to(root)): _sha256_file(p) for paths in chosen.values() for p in paths}
    ref = f"files:{root}"
    if sum(1 for paths in chosen.values() if paths) > 1:
        formats = ", ".join(k for k in chosen if chosen[k])
        raise InvalidInput(f"{root}: the window holds files of several formats ({formats}); keep one format per folder")
    rows: list[dict[str, Any]] = []
    sagemaker = False
    for path in chosen["jsonl"]:
        for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not text.strip():
                continue
            try:
                line = json.loads(text)
            except json.JSONDecodeError as exc:
                raise InvalidInput(f"{path} line {number} is not JSON: {exc.msg}") from None
            if isinstance(line, dict) and "captureData" in line:
                sagemaker = True
                rows.extend(_sagemaker_rows(line, columns, f"{path} line {number}"))
            elif isinstance(line, dict):
                rows.append(line)
            else:
                raise InvalidInput(f"{path} line {number} is not a JSON object")
    if sagemaker:
        table = pa.Table.from_pylist(rows)
        stamps = pa.array([_utc(s) if s else None for s in table["event_time"].to_pylist()],
                          type=pa.timestamp("us", tz="UTC"))  # fmt: skip
        table = table.set_column(table.schema.get_field_index("event_time"), "event_time", stamps)
        import pyarrow.compute as pc

        inside = pc.and_(
            pc.greater_equal(stamps, pa.scalar(begin, stamps.type)), pc.less(stamps, pa.scalar(stop, stamps.type))
        )
        table = table.filter(inside)
    elif chosen["jsonl"]:
        table = pa.Table.from_pylist(rows)
    else:
        table = None
    if engine == "duckdb":
        import duckdb

        con = duckdb.connect()
        try:
            if table is not None:
                relation = con.from_arrow(table)
            elif chosen["parquet"]:
                relation = con.sql(f"SELECT * FROM read_parquet({_list(map(str, chosen['parquet']))}, "
                                   "union_by_name = true, hive_partitioning = false)")  # fmt: skip
            elif chosen["csv"]:
                relation = con.sql(f"SELECT * FROM read_csv({_list(map(str, chosen['csv']))}, union_by_name = true, "
                                   "hive_partitioning = false)")  # fmt: skip
            else:
                raise InvalidInput(f"{root}: no CSV, Parquet or JSON Lines file in a dated folder within the window")
            yield CaptureWindow(_open_frame(relation, ref), ref, begin, stop, files)
        finally:
            con.close()
    elif engine == "spark":
        session = _spark_session(spark)
        if table is not None:
            frame = session.createDataFrame(table.to_pandas())
        elif chosen["parquet"]:
            frame = session.read.option("mergeSchema", "true").parquet(*map(str, chosen["parquet"]))
        elif chosen["csv"]:
            frame = session.read.option("header", "true").option("inferSchema", "true").csv(*map(str, chosen["csv"]))
        else:
            raise InvalidInput(f"{root}: no CSV, Parquet or JSON Lines file in a dated folder within the window")
        yield CaptureWindow(_open_frame(frame, ref), ref, begin, stop, files)
    else:
        raise InvalidInput(f"engine {engine!r} is not duckdb or spark")
