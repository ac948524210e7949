"""Anonymisation as a recorded run: ``workspace.anonymisation.run(data, out, options)`` (``assay anonymise``).

Pseudonymises identifiers with HMAC-SHA256 under the workspace's anonymisation key (``.assay/keys/anonymise.key``,
32 random bytes made on first use, mode 0600, never recorded: back it up to keep pseudonyms stable across runs),
generalises and suppresses quasi-identifiers (:mod:`assay.privacy.anonymise`), measures k-anonymity, l-diversity and
the re-identification risk before and after, and the utility lost: the pre-training bias metrics of a stated facet and
label (:mod:`assay.metrics`) before and after. Writes the anonymised data (Parquet or CSV) and
``anonymisation.json``; with a system, records the document (its settings, never the key) as an assessment.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

from assay.documents import head, now
from assay.errors import InvalidInput
from assay.privacy.options import AnonymiseOptions
from assay.services.compute import Kind, Progress, output_folder

if TYPE_CHECKING:
    import pandas as pd

    from assay.services.workspace import Workspace
    from assay.store.models import Assessment

__all__ = ["KIND", "Anonymisation", "AnonymisationResult", "anonymise", "write_outputs"]

SCHEMA: Final = "assay.anonymisation"
_KEY_FILE: Final = "anonymise.key"
PSEUDONYM: Final = "HMAC-SHA256 of the value's text, first 20 hex characters; key kept in the workspace, never recorded"


@dataclass(frozen=True)
class AnonymisationResult:
    frame: pd.DataFrame
    source: str
    options: AnonymiseOptions
    rows: int
    suppressed: int
    before: dict[str, Any]
    after: dict[str, Any]
    utility: dict[str, Any] | None
    output_format: str = "parquet"
    created_at: str = field(default_factory=now)

    @property
    def passed(self) -> bool:
        k = self.after.get("k")
        return k is None or k >= self.options.k

    def to_dict(self) -> dict[str, Any]:
        after, before = self.after, self.before
        l_text = f", l-diversity {after['l']} ({after['l_sensitive']})" if "l" in after else ""
        return {
            **head(SCHEMA, created_at=self.created_at),
            "data": {"source": self.source, "rows": self.rows, "columns": len(self.frame.columns)},
            "spec": {**self.options.options_only(), "pseudonym": PSEUDONYM, "output_format": self.output_format},
            "status": "pass" if self.passed else "fail",
            "summary": (
                f"k-anonymity {before['k']} -> {after['k']}{l_text}; unique records {before['unique_share']:.2%} -> "
                f"{(after['unique_share'] or 0):.2%}; {self.suppressed} of {self.rows} rows suppressed"
            ),
            "result": {
                "before": before,
                "after": after,
                "suppressed": self.suppressed,
                "suppressed_share": round(self.suppressed / self.rows, 6) if self.rows else 0.0,
                "utility": self.utility,
            },
            "warnings": [],
        }


def _utility(before: pd.DataFrame, after: pd.DataFrame, o: AnonymiseOptions) -> dict[str, Any] | None:
    """The pre-training bias metrics of the facet and label on the data before and after (utility kept)."""
    if o.facet is None or o.label is None:
        return None
    if o.facet in o.drop or o.label in o.drop or o.label in o.identifiers:
        raise InvalidInput("the facet and label of the utility comparison must stay in the output")
    from assay.services.assessments import assess

    label, facet = o.label, o.facet

    def metrics(frame: pd.DataFrame) -> list[dict[str, Any]]:
        if len(frame) == 0:
            return []
        report = assess(frame, label=label, positive=o.positive, facets=[facet], bootstrap=0, min_group_size=1)
        return [
            {"value": entry["value_or_threshold"], "n_d": entry["n_d"],
             **{m["name"]: m["value"] for m in entry["metrics"]}}
            for entry in report.to_dict()["facets"]
        ]  # fmt: skip

    return {"facet": o.facet, "label": o.label, "before": metrics(before), "after": metrics(after)}


def anonymise(
    data: Any, *, key: bytes | None, options: AnonymiseOptions | Mapping[str, Any], progress: Progress | None = None,
    output_format: Literal["parquet", "csv"] = "parquet",
) -> AnonymisationResult:  # fmt: skip
    """Anonymise ``data`` (a path or a frame) with ``options`` under ``key`` (see the module's text)."""
    from assay.frames import open as open_frame
    from assay.privacy.anonymise import anonymise_frame

    o = options if isinstance(options, AnonymiseOptions) else AnonymiseOptions.parse(dict(options), "anonymise")
    frame = open_frame(data)
    if progress is not None:
        progress("reading the data")
    table = frame.lazy.collect().to_pandas()
    if progress is not None:
        progress("anonymising")
    done = anonymise_frame(
        table, key=key, identifiers=o.identifiers, generalise=o.generalise, quasi_identifiers=o.quasi_identifiers,
        drop=o.drop, k=o.k, sensitive=o.sensitive,
    )  # fmt: skip
    if progress is not None and o.facet is not None:
        progress("measuring the utility kept")
    return AnonymisationResult(
        frame=done.frame, source=frame.source, options=o, rows=done.rows, suppressed=done.suppressed,
        before=done.before, after=done.after, utility=_utility(table, done.frame, o), output_format=output_format,
    )  # fmt: skip


def write_outputs(result: AnonymisationResult, out: str | Path) -> dict[str, Path]:
    """The anonymised data (``anonymised.parquet`` or ``.csv``) and ``anonymisation.json``."""
    folder = output_folder(out)
    data = folder / f"anonymised.{result.output_format}"
    if result.output_format == "csv":
        result.frame.to_csv(data, index=False)
    else:
        result.frame.to_parquet(data, index=False)
    document = folder / "anonymisation.json"
    document.write_text(json.dumps(result.to_dict(), indent=2, allow_nan=False) + "\n", encoding="utf-8")
    return {"data": data, "anonymisation": document}


def _compute(inputs: Any, o: AnonymiseOptions) -> AnonymisationResult:
    raise InvalidInput("anonymisation needs the workspace's key: run it with `assay anonymise` or "
                       "workspace.anonymisation.run")  # fmt: skip


#: The kind a recorded anonymisation is filed under (not in ``KINDS``: it needs the workspace's key to compute).
KIND: Final = Kind(
    name="anonymisation", title="the anonymisation", options=AnonymiseOptions, compute=_compute,
    write=write_outputs, schema=SCHEMA,
)  # fmt: skip


class Anonymisation:
    """Anonymisation runs of a workspace (its key stays in the workspace)."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws

    def key(self) -> bytes:
        """The workspace's anonymisation key (``.assay/keys/anonymise.key``), made on first use."""
        return self.ws.secret_key(_KEY_FILE, "anonymisation")

    def run(
        self, data: Any, out: str | Path, options: AnonymiseOptions | Mapping[str, Any], *, system: str | None = None,
        dataset_version: str | None = None, progress: Progress | None = None,
        output_format: Literal["parquet", "csv"] = "parquet",
    ) -> tuple[AnonymisationResult, dict[str, Path], Assessment | None]:  # fmt: skip
        """Anonymise ``data`` into the folder ``out``; with ``system``, record the document (never the key)."""
        if system is not None:
            self.ws.assessments.check_target(system, dataset_version=dataset_version)
        elif dataset_version is not None:
            raise InvalidInput("a dataset version needs the system to record against")
        o = options if isinstance(options, AnonymiseOptions) else AnonymiseOptions.parse(dict(options), "anonymise")
        key = self.key() if o.identifiers else None
        result = anonymise(data, key=key, options=o, progress=progress, output_format=output_format)
        paths = write_outputs(result, out)
        recorded = None
        if system is not None:
            recorded = self.ws.runs.record(
                KIND, system, result, paths={"anonymisation": paths["anonymisation"]}, dataset_version=dataset_version
            )
        return result, paths, recorded
