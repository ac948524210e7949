"""A model behind an HTTP endpoint: JSON in and out, in batches, with a timeout and retries.

The request is ``POST {url}`` with ``{"instances": [{feature: value, ...}, ...]}`` (one object per row, the
model's features only; missing values as ``null``). The answer is a JSON list with one item per row, or an
object holding that list under ``"predictions"`` (or ``response_key``). An item is the probability of the
positive class, a list of class probabilities, or a label.

Connection errors, timeouts and the statuses 408, 429, 500, 502, 503 and 504 are retried ``retries`` times,
waiting ``backoff * 2**attempt`` seconds; any other status fails at once.
"""

from __future__ import annotations

import json
import math
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from assay.adapters._base import Output
from assay.adapters._callable import _RawModel
from assay.errors import InvalidInput

__all__ = ["RETRY_STATUSES", "HttpModel"]

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


def _json_value(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, str | int | float | bool):
        return value
    return str(value)


class HttpModel(_RawModel):
    """A JSON endpoint as a model (see the module's docstring for the protocol)."""

    kind = "http"

    def __init__(
        self,
        url: str,
        feature_names: Sequence[str] | None,
        *,
        batch_size: int = 100,
        timeout: float = 30.0,
        retries: int = 3,
        backoff: float = 0.5,
        headers: Mapping[str, str] | None = None,
        response_key: str = "predictions",
        output: Output = "auto",
        classes: Sequence[Any] | None = None,
        positive: Any = None,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise InvalidInput(f"endpoint {url!r} must start with http:// or https://")
        if batch_size < 1:
            raise InvalidInput(f"batch size {batch_size} must be at least 1")
        if timeout <= 0:
            raise InvalidInput(f"timeout {timeout} must be positive (seconds)")
        if retries < 0 or backoff < 0:
            raise InvalidInput("retries and backoff must not be negative")
        super().__init__(url, feature_names, classes=classes, positive=positive, output=output)
        self.url = url
        self.batch_size = batch_size
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.headers = dict(headers or {})
        self.response_key = response_key
        self.requests = 0  # requests sent, retries included
        self.retried = 0

    def _raw(self, x: pd.DataFrame) -> NDArray[Any]:
        columns = list(x.columns)
        items: list[Any] = []
        for start in range(0, len(x), self.batch_size):
            chunk = x.iloc[start : start + self.batch_size]
            records = [
                {c: _json_value(v) for c, v in zip(columns, row, strict=True)}
                for row in chunk.itertuples(index=False, name=None)
            ]
            answer = self._post(records)
            if len(answer) != len(records):
                raise InvalidInput(f"endpoint {self.url!r} answered {len(answer)} predictions for {len(records)} rows")
            items.extend(answer)
        try:
            return np.asarray(items)
        except ValueError:
            raise InvalidInput(f"endpoint {self.url!r} answered predictions of different shapes") from None

    def _post(self, records: list[dict[str, Any]]) -> list[Any]:
        body = json.dumps({"instances": records}, allow_nan=False).encode("utf-8")
        headers = {"Content-Type": "application/json", "Accept": "application/json", **self.headers}
        attempts = self.retries + 1
        payload = b""
        for attempt in range(attempts):
            request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
            self.requests += 1
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    payload = response.read()
                break
            except urllib.error.HTTPError as exc:
                detail = exc.read()[:200].decode("utf-8", "replace").strip()
                exc.close()
                if exc.code in RETRY_STATUSES and attempt + 1 < attempts:
                    self._wait(attempt)
                    continue
                tried = f" after {attempt + 1} attempts" if attempt else ""
                raise InvalidInput(
                    f"endpoint {self.url!r} answered HTTP {exc.code}{tried}" + (f": {detail}" if detail else "")
                ) from None
            except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                if attempt + 1 < attempts:
                    self._wait(attempt)
                    continue
                reason = getattr(exc, "reason", exc)
                raise InvalidInput(
                    f"endpoint {self.url!r} did not answer after {attempts} attempts (timeout {self.timeout:g} s): "
                    f"{reason}"
                ) from None
        try:
            data = json.loads(payload)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise InvalidInput(f"endpoint {self.url!r} did not answer JSON: {payload[:80]!r}") from None
        if isinstance(data, Mapping):
            if self.response_key not in data:
                raise InvalidInput(
                    f"endpoint {self.url!r} answered an object without {self.response_key!r}; keys: "
                    + ", ".join(str(k) for k in list(data)[:10])
                )
            data = data[self.response_key]
        if not isinstance(data, list):
            raise InvalidInput(f"endpoint {self.url!r} answered {type(data).__name__}, not a list of predictions")
        return data

    def _wait(self, attempt: int) -> None:
        self.retried += 1
        time.sleep(self.backoff * 2**attempt)

    def describe(self) -> dict[str, Any]:
        out = super().describe()
        out["http"] = {
            "batch_size": self.batch_size,
            "timeout": self.timeout,
            "retries": self.retries,
            "requests": self.requests,
            "retried": self.retried,
        }
        return out
