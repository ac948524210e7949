"""Capture: configuration (audited), batches all or nothing and idempotent, labels joined (latest wins), hashing and
dropping, retention, windows on DuckDB and Spark, files in dated folders (SageMaker's capture format), and the Python
client flushing on exit in a real subprocess. On SQLite and PostgreSQL through the ``workspace`` fixture."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from assay.errors import Conflict, InvalidInput, NotFound
from assay.services.capture import RejectedRecords, folder_window
from assay.services.workspace import Workspace
from assay.store.audit import EventFilter
from tests.support.env import ROOT

NOW = dt.datetime.now(dt.UTC)
HOUR = dt.timedelta(hours=1)


@pytest.fixture
def ws(workspace: Workspace, tmp_path: Path) -> Workspace:
    train = tmp_path / "train.csv"
    pd.DataFrame({"age": [30, 40], "income": [1.5, 2.5], "email": ["a@b.org", "c@d.org"], "y": [0, 1]}).to_csv(
        train, index=False
    )
    workspace.systems.create({"name": "credit"})
    workspace.datasets.register_version({"dataset": "train", "version": "1"}, system="credit", file=train)
    workspace.models.register_version("credit", {"model": "scorer", "version": "1", "training_dataset": "train@1"})
    return workspace


PREDICTION = [{"name": "prediction", "type": "integer", "required": True}]


def records(n: int, start: int = 0) -> list[dict[str, Any]]:
    return [
        {"inference_id": f"i{i}", "age": 20 + i % 50, "income": i * 1.5, "email": f"p{i}@x.org", "prediction": i % 2}
        for i in range(start, start + n)
    ]


def rows(ws: Workspace, start: dt.datetime = NOW - HOUR, end: dt.datetime = NOW + HOUR) -> pd.DataFrame:
    with ws.capture.window("credit", "scorer@1", start, end) as window:
        return window.frame.lazy.collect().to_pandas().sort_values("inference_id").reset_index(drop=True)


def test_configuration_defaults_to_the_training_columns_and_is_audited(ws: Workspace) -> None:
    with pytest.raises(NotFound, match="capture is not configured for credit scorer@1"):
        ws.capture.show("credit", "scorer@1")
    config = ws.capture.configure("credit", "scorer@1", add_fields=PREDICTION, label_column="y", optional=["email"])
    assert config.fields == [
        {"name": "age", "type": "integer", "required": True},
        {"name": "income", "type": "float", "required": True},
        {"name": "email", "type": "string", "required": False},
        {"name": "y", "type": "integer", "required": True},
        {"name": "prediction", "type": "integer", "required": True},
    ]
    ws.capture.configure("credit", "scorer@1", add_fields=PREDICTION, label_column="y", retention_days=30)
    events = ws.audit.log(EventFilter(action="capture.configure"))
    assert len(events) == 2 and events[1].before is not None  # the second replaced the first
    assert ws.capture.show("credit", "scorer@1").retention_days == 30
    with pytest.raises(InvalidInput, match="label column 'score' is not a field of the capture"):
        ws.capture.configure("credit", "scorer@1", label_column="score")
    with pytest.raises(InvalidInput, match="type 'int' is not one of integer, float"):
        ws.capture.configure("credit", "scorer@1", fields=[{"name": "a", "type": "int"}])
    with pytest.raises(InvalidInput, match="column 'phone' is not a field of the capture"):
        ws.capture.configure("credit", "scorer@1", hash=["phone"])


def test_a_batch_that_does_not_fit_is_refused_whole_naming_each_record_field_and_value(ws: Workspace) -> None:
    ws.capture.configure("credit", "scorer@1", add_fields=PREDICTION, label_column="y")
    batch = records(5)
    batch[1]["age"] = "forty"
    batch[3]["prediction"] = 1.5
    del batch[4]["income"]
    batch[2]["colour"] = "red"
    batch[0]["y"] = 1
    with pytest.raises(RejectedRecords) as refused:
        ws.capture.ingest("credit", "scorer@1", batch, "b1")
    message = str(refused.value)
    assert message.startswith("5 of 5 records do not fit the capture's fields; nothing of the batch was stored")
    assert "record 1: field 'age' = 'forty' is not an integer" in message
    assert "record 3: field 'prediction' = 1.5 is not an integer" in message
    assert "record 4: field 'income' is required" in message
    assert "record 2: field 'colour' = 'red' is not a field of the capture" in message
    assert "record 0: field 'y' = 1 is the label column: send labels with labels()" in message
    assert {(p["index"], p["field"]) for p in refused.value.rejected} == {
        (0, "y"), (1, "age"), (2, "colour"), (3, "prediction"), (4, "income")
    }  # fmt: skip
    assert rows(ws).empty  # nothing stored
    ws.capture.ingest("credit", "scorer@1", records(5), "b1")  # the same batch id, fixed, is then stored
    assert len(rows(ws)) == 5
    with pytest.raises(InvalidInput, match=r"at most 10000 records \(ASSAY_CAPTURE_MAX_RECORDS\), not 10001"):
        ws.capture.ingest("credit", "scorer@1", records(10001), "big")


def test_the_same_batch_is_stored_once_and_answered_the_same(ws: Workspace) -> None:
    ws.capture.configure("credit", "scorer@1", add_fields=PREDICTION, label_column="y")
    first = ws.capture.ingest("credit", "scorer@1", records(100), "b1")
    assert first == {"batch_id": "b1", "records": 100, "days": [NOW.date().isoformat()]}
    assert ws.capture.ingest("credit", "scorer@1", records(100), "b1") == first
    assert len(rows(ws)) == 100
    with pytest.raises(Conflict, match="batch 'b1' was already stored with other records"):
        ws.capture.ingest("credit", "scorer@1", records(100, start=1), "b1")
    ws.capture.ingest("credit", "scorer@1", records(10, start=100), "b2")
    assert list(rows(ws)["inference_id"]) == sorted(f"i{i}" for i in range(110))
    events = [e.action for e in ws.audit.log(EventFilter())]
    assert "capture.configure" in events and not [e for e in events if "ingest" in e]  # batches: not in the ledger


def test_late_labels_join_on_the_inference_id_and_the_latest_wins(ws: Workspace) -> None:
    ws.capture.configure("credit", "scorer@1", add_fields=PREDICTION, label_column="y")
    ws.capture.ingest("credit", "scorer@1", records(4), "b1")
    ws.capture.labels("credit", "scorer@1", [{"inference_id": "i1", "y": 1}, {"inference_id": "i2", "y": 0}], "l1")
    ws.capture.labels("credit", "scorer@1", [{"inference_id": "i1", "y": 0}], "l2")  # relabelled: latest wins
    stamp = (NOW - dt.timedelta(days=2)).isoformat()
    ws.capture.labels("credit", "scorer@1", [{"inference_id": "i2", "y": 1, "labelled_at": stamp}], "l3")  # older
    ws.capture.labels("credit", "scorer@1", [{"inference_id": "i9", "y": 1}], "l4")  # no such record: not joined
    found = rows(ws)
    assert list(found["inference_id"]) == ["i0", "i1", "i2", "i3"]
    assert found["y"].tolist()[1:3] == [0, 0] and found["y"].isna().tolist() == [True, False, False, True]
    with pytest.raises(RejectedRecords, match="record 0: field 'y' = 'yes' is not an integer"):
        ws.capture.labels("credit", "scorer@1", [{"inference_id": "i3", "y": "yes"}], "l5")


def test_columns_are_hashed_with_the_workspace_key_or_dropped(ws: Workspace) -> None:
    ws.capture.configure("credit", "scorer@1", add_fields=PREDICTION, label_column="y", hash=["email"], drop=["income"])
    ws.capture.ingest("credit", "scorer@1", records(3), "b1")
    found = rows(ws)
    assert "income" not in found.columns
    key = (ws.home / "keys" / "capture.key").read_bytes()
    assert len(key) == 32 and (ws.home / "keys" / "capture.key").stat().st_mode & 0o077 == 0
    assert found["email"][0] == hmac.new(key, b"p0@x.org", hashlib.sha256).hexdigest()
    stored = b"".join(p.read_bytes() for p in (ws.home / "capture").rglob("*") if p.is_file())
    assert b"p0@x.org" not in stored and key.hex().encode() not in stored
    ledger = json.dumps([dict(e.payload) for e in ws.audit.log(EventFilter())])
    assert key.hex() not in ledger


def test_pii_findings_of_the_training_data_choose_the_hashed_columns(ws: Workspace) -> None:
    document = {"schema": "assay.data-check", "check": "pii", "result": {"flagged_columns": ["email"]}, "data": {}}
    ws.assessments.record("credit", document, dataset_version="train@1")
    config = ws.capture.configure("credit", "scorer@1", add_fields=PREDICTION, label_column="y", pii="hash")
    assert config.hash_columns == ["email"] and config.drop_columns == []
    dropping = ws.capture.configure("credit", "scorer@1", add_fields=PREDICTION, label_column="y", pii="drop")
    assert dropping.drop_columns == ["email"]


def test_retention_removes_old_days_and_records_the_counts(ws: Workspace) -> None:
    fields = [{"name": "t", "type": "timestamp", "required": True}, {"name": "x", "type": "float"}]
    ws.capture.configure("credit", "scorer@1", fields=fields, time_column="t", retention_days=7)
    for age in (1, 10, 20):
        stamp = (NOW - dt.timedelta(days=age)).isoformat()
        ws.capture.ingest("credit", "scorer@1", [{"t": stamp, "x": 1.0}] * 3, f"day-{age}")
    with ws.capture.window("credit", "scorer@1", NOW - dt.timedelta(days=30), NOW) as window:
        assert window.frame.lazy.collect().shape[0] == 9 and window.inputs()["files"] == 3
    done = ws.capture.purge()
    assert len(done) == 1 and done[0]["record_files"] == 2 and done[0]["records"] == 6
    (event,) = ws.audit.log(EventFilter(action="capture.purge"))
    assert event.payload["records"] == 6 and event.payload["before"] == (NOW.date() - dt.timedelta(days=7)).isoformat()
    with ws.capture.window("credit", "scorer@1", NOW - dt.timedelta(days=30), NOW) as window:
        assert window.frame.lazy.collect().shape[0] == 3
    assert ws.capture.purge() == []  # nothing more to remove: no event


def test_a_window_is_the_rows_in_its_time_span_with_a_fingerprint_of_its_files(ws: Workspace) -> None:
    fields = [{"name": "t", "type": "timestamp", "required": True}, {"name": "x", "type": "float"}]
    ws.capture.configure("credit", "scorer@1", fields=fields, time_column="t")
    day = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
    batch = [{"inference_id": f"r{h}", "t": (day + h * HOUR).isoformat(), "x": float(h)} for h in range(48)]
    ws.capture.ingest("credit", "scorer@1", batch, "two-days")
    with ws.capture.window("credit", "scorer@1", day + 6 * HOUR, "2025-03-02T06:00:00Z") as window:
        got = window.frame.lazy.collect().to_pandas()
        first = window.inputs()
    assert sorted(got["x"]) == [float(h) for h in range(6, 30)]
    assert first["files"] == 2 and len(first["sha256"]) == 64 and first["ref"] == "capture:credit/scorer@1"
    ws.capture.ingest("credit", "scorer@1", [{"t": (day + HOUR).isoformat(), "x": 0.5}], "more")
    with ws.capture.window("credit", "scorer@1", day + 6 * HOUR, "2025-03-02T06:00:00Z") as window:
        assert window.inputs()["sha256"] != first["sha256"]  # another file in the window's days
    with pytest.raises(InvalidInput, match="is not after its start"), ws.capture.window("credit", "scorer@1", day, day):
        pass


@pytest.mark.spark
def test_spark_reads_the_same_rows_as_duckdb(ws: Workspace, spark: Any) -> None:
    ws.capture.configure("credit", "scorer@1", add_fields=PREDICTION, label_column="y", hash=["email"])
    ws.capture.ingest("credit", "scorer@1", records(50), "b1")
    ws.capture.configure(
        "credit", "scorer@1", add_fields=[*PREDICTION, {"name": "score", "type": "float"}], label_column="y",
        hash=["email"],
    )  # fmt: skip
    ws.capture.ingest("credit", "scorer@1", [{**r, "score": 0.5} for r in records(20, start=50)], "b2")
    ws.capture.labels("credit", "scorer@1", [{"inference_id": f"i{i}", "y": i % 2} for i in range(0, 70, 3)], "l1")
    ws.capture.labels("credit", "scorer@1", [{"inference_id": "i3", "y": 0}], "l2")
    with ws.capture.window("credit", "scorer@1", NOW - HOUR, NOW + HOUR) as window:
        duck = window.frame.lazy.collect().to_pandas()
        duck_inputs = window.inputs()
    with ws.capture.window("credit", "scorer@1", NOW - HOUR, NOW + HOUR, engine="spark", spark=spark) as window:
        assert window.frame.engine == "pyspark"
        sparked = window.frame.lazy.collect().to_pandas()
        assert window.inputs()["sha256"] == duck_inputs["sha256"]
    assert list(sparked.columns) == list(duck.columns)
    key = "inference_id"
    duck, sparked = (f.sort_values(key).reset_index(drop=True) for f in (duck, sparked))
    for frame in (duck, sparked):
        for column in ("captured_at", "labelled_at"):
            frame[column] = pd.to_datetime(frame[column], utc=True)
    pd.testing.assert_frame_equal(duck, sparked, check_dtype=False)
    assert len(duck) == 70 and duck.loc[duck[key] == "i3", "y"].item() == 0


def _sagemaker_line(ident: str, when: str, features: str, prediction: str) -> str:
    return json.dumps(
        {
            "captureData": {
                "endpointInput": {"observedContentType": "text/csv", "mode": "INPUT", "data": features,
                                  "encoding": "CSV"},
                "endpointOutput": {"observedContentType": "text/csv; charset=utf-8", "mode": "OUTPUT",
                                   "data": prediction, "encoding": "CSV"},
            },
            "eventMetadata": {"eventId": f"e-{ident}", "inferenceId": ident, "inferenceTime": when},
            "eventVersion": "0",
        }
    )  # fmt: skip


def test_files_in_dated_folders_including_sagemaker_data_capture(tmp_path: Path) -> None:
    root = tmp_path / "endpoint" / "AllTraffic"
    for hour in (9, 10, 11):
        folder = root / "2025" / "03" / "01" / f"{hour:02d}"
        folder.mkdir(parents=True)
        lines = [_sagemaker_line(f"h{hour}-{m}", f"2025-03-01T{hour:02d}:{m:02d}:00Z", f"{hour},{m}.5,a", "0.75")
                 for m in (0, 30)]  # fmt: skip
        (folder / "capture-1.jsonl").write_text("\n".join(lines) + "\n")
    base64_line = json.loads(_sagemaker_line("b64", "2025-03-01T10:45:00Z", "", "1"))
    base64_line["captureData"]["endpointInput"] = {
        "observedContentType": "application/json", "mode": "INPUT", "encoding": "BASE64",
        "data": "eyJhZ2UiOiA1LCAiaW5jb21lIjogMi4wLCAia2luZCI6ICJiIn0=",  # {"age": 5, "income": 2.0, "kind": "b"}
    }  # fmt: skip
    (root / "2025" / "03" / "01" / "10" / "capture-2.jsonl").write_text(json.dumps(base64_line) + "\n")
    with folder_window(root.parent, "2025-03-01T10:00:00Z", "2025-03-01T11:00:00Z",
                       columns=["age", "income", "kind"]) as window:  # fmt: skip
        got = window.frame.lazy.collect().to_pandas().sort_values("inference_id").reset_index(drop=True)
        assert window.inputs()["files"] == 2
    assert got["inference_id"].tolist() == ["b64", "h10-0", "h10-30"]
    assert got["age"].tolist() == [5, 10, 10] and got["income"].tolist() == [2.0, 0.5, 30.5]
    assert got["prediction"].tolist() == [1, 0.75, 0.75] and got["kind"].tolist() == ["b", "a", "a"]
    days = tmp_path / "days"
    for day, values in (("2025-03-01", [1, 2]), ("2025-03-02", [3])):
        (days / f"day={day}").mkdir(parents=True)
        pq.write_table(pa.table({"x": values}), days / f"day={day}" / "part.parquet")
    with folder_window(days, "2025-03-02T00:00:00Z", "2025-03-03T00:00:00Z") as window:
        assert window.frame.lazy.collect()["x"].to_list() == [3]
    empty = folder_window(days, "2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z")
    with pytest.raises(InvalidInput, match="no CSV, Parquet or JSON Lines file in a dated folder"), empty:
        pass


def test_the_client_flushes_its_buffer_when_the_process_exits(ws: Workspace) -> None:
    ws.capture.configure("credit", "scorer@1", add_fields=PREDICTION, label_column="y")
    script = textwrap.dedent(
        f"""
        import assay
        capture = assay.capture("credit", "scorer@1", workspace={str(ws.root)!r}, batch_size=400, interval=60)
        for i in range(2500):
            capture.record({{"inference_id": f"i{{i}}", "age": 30, "income": 1.0, "email": "e", "prediction": 1}})
        print("buffered", flush=True)
        """
    )  # no flush() and no close(): the interval is long, so only the exit hook can send the last batches
    environment = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run([sys.executable, "-c", script], env=environment, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "buffered"
    found = rows(ws)
    assert len(found) == 2500 and found["inference_id"].nunique() == 2500


def test_the_client_is_light_and_drops_when_its_buffer_is_full() -> None:
    code = (
        "import sys, assay\n"
        "client = assay.capture('s', 'm@1', url='http://127.0.0.1:9', token='t', batch_size=10, max_buffered=10,"
        " interval=60, max_backoff=60)\n"
        "kept = [client.record({'x': i}) for i in range(15)]\n"
        "print(kept.count(False), client.dropped, sorted({'pyarrow', 'sqlalchemy', 'numpy'} & set(sys.modules)))\n"
        "import os; os._exit(0)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT / "src")}).stdout  # fmt: skip
    dropped, counted, heavy = out.split(" ", 2)
    assert int(dropped) == int(counted) >= 5 and heavy.strip() == "[]"
