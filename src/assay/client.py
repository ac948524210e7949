"""``assay.capture(...)``: send a deployed model's inference records (and later labels) to Assay without slowing
the caller. Standard library only, so importing it (and ``import assay``) stays light.

::

    capture = assay.capture("credit", "scorer@3", url="https://assay.example.org", token=os.environ["ASSAY_TOKEN"])
    capture.record({"inference_id": request_id, "age": 41, "income": 52000.0, "prediction": 1})
    ...
    capture.label(request_id, 0)          # the ground truth, when it is known

``record`` and ``label`` only append to a bounded in-memory buffer; a background thread sends batches (up to
``batch_size`` records, or whatever is there every ``interval`` seconds) to ``POST
/api/systems/{system}/models/{ref}/capture`` (and ``/labels``) with an ingest token, or, without ``url``, straight
into a local workspace. A batch that fails on the way (connection refused, timeout, 5xx: the server restarting)
is retried with **the same batch id** until it is acknowledged, so the server stores it exactly once; records are
sent in order. A batch the server refuses in part (422: records that do not fit) is split: the refused records are
kept in :attr:`CaptureClient.rejected` with their reasons (and logged), the others are sent again as a batch of
their own (batch id + ``.ok``). When the buffer is full (``max_buffered`` records waiting, the batch being sent
included), a new record is **dropped and counted** (:attr:`CaptureClient.dropped`, logged once per burst) so that
the caller never waits; ``block=True`` makes the caller wait for room instead.

``flush()`` waits until everything buffered is acknowledged; ``close()`` flushes and stops; both run at interpreter
exit (``atexit``). A process killed outright (SIGKILL, power loss) loses what was still in its buffer; what was
acknowledged is durable on the server.
"""

from __future__ import annotations

import atexit
import http.client
import json
import logging
import threading
import time
import uuid
import weakref
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

__all__ = ["CaptureClient", "ReviewClient", "Routing", "capture", "review"]

log = logging.getLogger("assay.capture")


class _Failed(Exception):
    """A batch that cannot be delivered by retrying (wrong token, unknown system, capture not configured)."""


class _Rejected(Exception):
    def __init__(self, rejected: list[dict[str, Any]], message: str) -> None:
        super().__init__(message)
        self.rejected = rejected


class CaptureClient:
    """A buffered, background sender of one model version's inference records and labels (see the module)."""

    def __init__(
        self,
        system: str,
        model_version: str,
        *,
        url: str | None = None,
        token: str | None = None,
        workspace: str | None = None,
        id_column: str = "inference_id",
        label_column: str | None = None,
        batch_size: int = 1000,
        interval: float = 1.0,
        max_buffered: int = 100_000,
        block: bool = False,
        timeout: float = 30.0,
        max_backoff: float = 5.0,
        exit_timeout: float = 30.0,
    ) -> None:
        if url is not None and not token:
            raise ValueError("a url needs an API token (assay user token create NAME --scope ingest)")
        if batch_size < 1 or max_buffered < batch_size:
            raise ValueError("batch_size must be at least 1 and max_buffered at least batch_size")
        self.system, self.model_version = system, model_version
        self.url, self.token, self.workspace = url, token, workspace
        self.id_column, self.label_column = id_column, label_column
        self.batch_size, self.interval, self.max_buffered, self.block = batch_size, interval, max_buffered, block
        self.timeout, self.max_backoff, self.exit_timeout = timeout, max_backoff, exit_timeout
        self.sent = 0  # records and labels acknowledged
        self.dropped = 0  # records and labels dropped because the buffer was full
        self.rejected: list[dict[str, Any]] = []  # {"kind", "record", "problems"} refused by the server
        self.failed: list[dict[str, Any]] = []  # {"kind", "batch_id", "records", "error"}: not deliverable
        self.paused: dict[str, Any] | None = None  # the pause in force, as the last acknowledged batch said
        self._queue: deque[tuple[str, dict[str, Any]]] = deque()
        self._condition = threading.Condition()
        self._in_flight = 0
        self._closing = False
        self._flushing = 0  # callers waiting in flush(): send what there is without waiting for a full batch
        self._prefix = uuid.uuid4().hex[:16]
        self._sequence = 0
        self._warned_full = False
        self._connection: http.client.HTTPConnection | None = None
        self._local: Any = None
        if url is None:
            self._open_local()  # now, not in the sender: imports are refused once the interpreter is shutting down
        self._thread = threading.Thread(target=self._run, name="assay-capture", daemon=True)
        self._thread.start()
        atexit.register(_close_at_exit, weakref.ref(self))

    # -- the caller's side (never blocks unless block=True) -------------------------------------------------------

    def record(self, record: Mapping[str, Any]) -> bool:
        """Buffer one inference record; False when it was dropped (the buffer was full)."""
        return self._put("records", dict(record))

    def label(self, inference_id: str, value: Any, *, labelled_at: str | None = None) -> bool:
        """Buffer the ground truth of ``inference_id`` (sent as the capture's ``label_column``, given to the
        client)."""
        if self.label_column is None:
            raise ValueError("give the client the capture's label_column to send labels")
        entry = {self.id_column: inference_id, self.label_column: value}
        if labelled_at is not None:
            entry["labelled_at"] = labelled_at
        return self._put("labels", entry)

    def _put(self, kind: str, entry: dict[str, Any]) -> bool:
        with self._condition:
            if self._closing:
                raise RuntimeError("the capture client is closed")
            while len(self._queue) + self._in_flight >= self.max_buffered:  # in flight: still held here
                if not self.block:
                    self.dropped += 1
                    if not self._warned_full:
                        log.warning("capture buffer full (%d records): dropping new records", self.max_buffered)
                        self._warned_full = True
                    return False
                self._condition.wait()
            self._warned_full = False
            self._queue.append((kind, entry))
            if len(self._queue) >= self.batch_size:
                self._condition.notify_all()
        return True

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every buffered record is acknowledged (or failed); False when ``timeout`` passed first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._condition:
            self._flushing += 1
            self._condition.notify_all()
            try:
                while self._queue or self._in_flight:
                    left = None if deadline is None else deadline - time.monotonic()
                    if left is not None and left <= 0:
                        return False
                    self._condition.wait(timeout=0.5 if left is None else min(left, 0.5))
            finally:
                self._flushing -= 1
        return True

    def close(self, timeout: float | None = None) -> bool:
        """Flush (waiting at most ``timeout`` seconds, default ``exit_timeout``) and stop the sender."""
        done = self.flush(self.exit_timeout if timeout is None else timeout)
        with self._condition:
            self._closing = True
            self._condition.notify_all()
        self._thread.join(timeout=5)
        self._disconnect()
        if not done:
            log.error("capture client closed with %d records not acknowledged", len(self._queue) + self._in_flight)
        return done

    def __enter__(self) -> CaptureClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- the sender thread ----------------------------------------------------------------------------------------

    def _take(self) -> tuple[str, list[dict[str, Any]]] | None:
        """The next batch: up to ``batch_size`` entries of one kind, in order (waits up to ``interval``)."""
        with self._condition:
            if len(self._queue) < self.batch_size and not self._closing and not self._flushing:
                self._condition.wait(timeout=self.interval)
            if not self._queue:
                return None
            kind = self._queue[0][0]
            batch: list[dict[str, Any]] = []
            while self._queue and self._queue[0][0] == kind and len(batch) < self.batch_size:
                batch.append(self._queue.popleft()[1])
            self._in_flight = len(batch)
            self._condition.notify_all()
            return kind, batch

    def _run(self) -> None:
        while True:
            with self._condition:
                if self._closing and not self._queue:
                    return
            taken = self._take()
            if taken is None:
                continue
            kind, batch = taken
            self._sequence += 1
            self._deliver(kind, batch, f"{self._prefix}-{self._sequence}")
            with self._condition:
                self._in_flight = 0
                self._condition.notify_all()

    def _deliver(self, kind: str, batch: list[dict[str, Any]], batch_id: str) -> None:
        backoff = 0.1
        while True:
            try:
                self._send(kind, batch, batch_id)
                self.sent += len(batch)
                return
            except _Rejected as refused:
                bad = {i for p in refused.rejected if isinstance(i := p.get("index"), int) and 0 <= i < len(batch)}
                if not bad:
                    self.failed.append({"kind": kind, "batch_id": batch_id, "records": len(batch),
                                        "error": str(refused)})  # fmt: skip
                    return
                for index in sorted(bad):
                    problems = [p for p in refused.rejected if p.get("index") == index]
                    self.rejected.append({"kind": kind, "record": batch[index], "problems": problems})
                log.warning("capture: %d %s refused: %s", len(bad), kind, str(refused)[:500])
                batch = [r for i, r in enumerate(batch) if i not in bad]
                if not batch:
                    return
                batch_id += ".ok"
            except _Failed as failed:
                log.error("capture: batch %s of %d %s cannot be delivered: %s", batch_id, len(batch), kind, failed)
                self.failed.append({"kind": kind, "batch_id": batch_id, "records": len(batch), "error": str(failed)})
                return
            except (OSError, http.client.HTTPException, _Retry) as exc:
                log.info("capture: batch %s not delivered yet (%s); retrying in %.1f s", batch_id, exc, backoff)
                self._disconnect()
                time.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff)
            except Exception as exc:  # never let the sender die: the caller's records would pile up unseen
                log.exception("capture: batch %s of %d %s failed", batch_id, len(batch), kind)
                self.failed.append({"kind": kind, "batch_id": batch_id, "records": len(batch), "error": repr(exc)})
                return

    def _disconnect(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _send(self, kind: str, batch: list[dict[str, Any]], batch_id: str) -> None:
        if self.url is None:
            self._send_local(kind, batch, batch_id)
            return
        parts = urlsplit(self.url)
        if self._connection is None:
            kind_of = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
            self._connection = kind_of(parts.netloc, timeout=self.timeout)
        route = "capture" if kind == "records" else "labels"
        path = (
            f"{parts.path.rstrip('/')}/api/systems/{quote(self.system, safe='')}/models/"
            f"{quote(self.model_version, safe='@')}/{route}"
        )
        body = json.dumps({"batch_id": batch_id, "records": batch}, default=str).encode()
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        self._connection.request("POST", path, body=body, headers=headers)
        response = self._connection.getresponse()
        text = response.read()
        if response.status == 200:
            if kind == "records":
                self._note_pause(json.loads(text).get("paused"))
            return
        try:
            answer = json.loads(text)
        except ValueError:
            answer = {}
        message = str(answer.get("error", {}).get("message", text[:200]))
        if response.status == 422 and isinstance(answer.get("rejected"), list):
            raise _Rejected(answer["rejected"], message)
        if response.status >= 500 or response.status in (408, 429):
            raise _Retry(f"HTTP {response.status}: {message}")
        raise _Failed(f"HTTP {response.status}: {message}")

    def _note_pause(self, paused: dict[str, Any] | None) -> None:
        if paused is not None and self.paused is None:
            log.warning("capture: %s %s is paused by its overseer (%s): take the manual path: %s", self.system,
                        self.model_version, paused.get("reason"), paused.get("fallback"))  # fmt: skip
        self.paused = paused

    def _open_local(self) -> None:
        """The local workspace, with everything ingesting needs imported."""
        import pyarrow
        import pyarrow.compute
        import pyarrow.parquet

        from assay.services.workspace import Workspace

        pyarrow.array([0])  # pyarrow imports pandas on first use, if it is installed
        self._local = Workspace.open(self.workspace)
        self._local.capture.show(self.system, self.model_version)  # fails early when capture is not configured

    def _send_local(self, kind: str, batch: list[dict[str, Any]], batch_id: str) -> None:
        from assay.errors import AssayError
        from assay.services.capture import RejectedRecords

        method = self._local.capture.ingest if kind == "records" else self._local.capture.labels
        try:
            answer = method(self.system, self.model_version, batch, batch_id)
            if kind == "records":
                self._note_pause(answer.get("paused"))
        except RejectedRecords as exc:
            raise _Rejected(exc.rejected, str(exc)) from None
        except AssayError as exc:
            raise _Failed(str(exc)) from None


class _Retry(Exception):
    """A transient failure: the same batch is sent again."""


def _close_at_exit(reference: weakref.ref[CaptureClient]) -> None:
    client = reference()
    if client is not None and not client._closing:
        client.close()


def capture(
    system: str,
    model_version: str,
    *,
    url: str | None = None,
    token: str | None = None,
    workspace: str | None = None,
    **options: Any,
) -> CaptureClient:
    """A :class:`CaptureClient` for ``model_version`` (``MODEL@VERSION``) of ``system``: to the server at ``url``
    with an ingest ``token``, or, without ``url``, into the workspace at ``workspace`` (default: the current
    folder's). ``options``: ``batch_size`` (1000), ``interval`` (1 s), ``max_buffered`` (100,000), ``block``
    (False: drop when full), ``timeout`` (30 s per request), ``max_backoff`` (5 s), ``exit_timeout`` (30 s)."""
    return CaptureClient(system, model_version, url=url, token=token, workspace=workspace, **options)


# -- "does this need review?" -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Routing:
    """The answer for one prediction. ``manual``: do not act on the model's outcome, take the manual path
    (``fallback``): the model version is paused (the kill switch), or Assay could not be asked and the client was
    told to fail safe (``on_error="manual"``, the default). ``review``: a person decides (``item_id``; ask again with
    the same inference id to learn the ``final`` outcome). Otherwise the outcome takes effect."""

    status: str  # proceed, review, paused, error
    review: bool
    manual: bool
    item_id: int | None = None
    reasons: tuple[str, ...] = ()
    fallback: str | None = None
    final: dict[str, Any] | None = None
    error: str | None = None


class ReviewClient:
    """Asks Assay, for each prediction, whether it needs a person before it takes effect (see :class:`Routing`).
    Synchronous (the answer decides what the service does next), one keep-alive connection per thread, a short
    ``timeout``. When Assay cannot be reached or refuses the call, ``on_error`` decides: ``"manual"`` (fail safe:
    the prediction goes the manual path) or ``"proceed"`` (fail open; say so in the system's documentation)."""

    def __init__(
        self,
        system: str,
        model_version: str,
        *,
        url: str | None = None,
        token: str | None = None,
        workspace: str | None = None,
        timeout: float = 2.0,
        on_error: str = "manual",
        fallback: str | None = None,
    ) -> None:
        if url is not None and not token:
            raise ValueError("a url needs an API token (assay user token create NAME --scope ingest)")
        if on_error not in ("manual", "proceed"):
            raise ValueError("on_error must be 'manual' or 'proceed'")
        self.system, self.model_version, self.url, self.token = system, model_version, url, token
        self.timeout, self.on_error, self.fallback = timeout, on_error, fallback
        self._local_connections = threading.local()
        self._connections: list[http.client.HTTPConnection] = []  # every thread's, closed by close()
        self._lock = threading.Lock()
        self._local: Any = None
        if url is None:
            from assay.services.workspace import Workspace

            self._local = Workspace.open(workspace)
        else:
            parts = urlsplit(url)
            self._netloc, self._https = parts.netloc, parts.scheme == "https"
            self._path = (
                f"{parts.path.rstrip('/')}/api/systems/{quote(system, safe='')}/models/"
                f"{quote(model_version, safe='@')}/review"
            )

    def route(self, inference_id: str, features: Mapping[str, Any], output: Mapping[str, Any]) -> Routing:
        """Whether this prediction (``output``: ``{"prediction", "score"}``) needs review; never raises for a
        failure to reach Assay (see ``on_error``), only for what the caller must fix (a ``ValueError``: a rule needs a
        feature that was not sent, a malformed output)."""
        try:
            answer = self._ask(inference_id, dict(features), dict(output))
        except _Failed as exc:
            raise ValueError(str(exc)) from None
        except Exception as exc:  # unreachable, timed out, 5xx: fail as configured
            log.warning("review: %s %s could not be asked (%s): %s", self.system, self.model_version, exc,
                        "manual path" if self.on_error == "manual" else "proceeding")  # fmt: skip
            manual = self.on_error == "manual"
            return Routing("error", manual, manual, fallback=self.fallback, error=str(exc))
        status = str(answer["status"])
        if status == "paused":
            return Routing(status, True, True, reasons=("paused",), fallback=answer.get("fallback") or self.fallback)
        return Routing(status, bool(answer["review"]), False, answer.get("item_id"), tuple(answer.get("reasons", ())),
                       final=answer.get("final"))  # fmt: skip

    def _ask(self, inference_id: str, features: dict[str, Any], output: dict[str, Any]) -> dict[str, Any]:
        if self._local is not None:
            from assay.errors import InvalidInput, NotFound, PermissionDenied

            try:
                answer: dict[str, Any] = self._local.review.route(
                    self.system, self.model_version, inference_id, features, output, source="client"
                )
            except (InvalidInput, NotFound, PermissionDenied) as exc:
                raise _Failed(str(exc)) from None
            return answer
        connection = getattr(self._local_connections, "connection", None)
        if connection is None:
            kind_of = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            connection = kind_of(self._netloc, timeout=self.timeout)
            self._local_connections.connection = connection
            with self._lock:
                self._connections.append(connection)
        body = json.dumps({"inference_id": inference_id, "features": features, "output": output}, default=str)
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        try:
            connection.request("POST", self._path, body=body.encode(), headers=headers)
            response = connection.getresponse()
            text = response.read()
        except Exception:
            connection.close()
            self._local_connections.connection = None
            raise
        answer = json.loads(text) if text else {}
        if response.status == 200:
            return dict(answer)
        message = str(answer.get("error", {}).get("message", text[:200]) if isinstance(answer, dict) else text[:200])
        if response.status in (400, 404, 422):
            raise _Failed(f"HTTP {response.status}: {message}")
        raise OSError(f"HTTP {response.status}: {message}")

    def close(self) -> None:
        """Close the connections (every thread's) or the local workspace."""
        with self._lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()
        if self._local is not None:
            self._local.close()

    def __enter__(self) -> ReviewClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def review(
    system: str,
    model_version: str,
    *,
    url: str | None = None,
    token: str | None = None,
    workspace: str | None = None,
    **options: Any,
) -> ReviewClient:
    """A :class:`ReviewClient` for ``model_version`` of ``system``: the server at ``url`` with an ``ingest`` token, or
    the local workspace. ``options``: ``timeout`` (2 s), ``on_error`` ("manual"), ``fallback`` (the manual path's
    text when Assay cannot say)."""
    return ReviewClient(system, model_version, url=url, token=token, workspace=workspace, **options)
