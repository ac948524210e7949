"""The envelope every result document of Assay carries, whatever computed it.

Every compute kind's result serialises to a plain-JSON document that starts with the same envelope::

    {"schema": "assay.explanations", "schema_version": 1, "assay_version": "0.1.0",
     "created_at": "2026-12-06T03:00:00+00:00", ...the kind's own fields...,
     "inputs": {"data": {"ref": "adult@1", "sha256": "..."}, "model": {...}},   # when run on registered inputs
     "warnings": [{"code": "small_group", "message": "..."}]}                  # the notes

:func:`head` builds the first four fields, :class:`Note` is a note (a short code and a sentence; documents keep
their notes under ``warnings``), :func:`with_inputs` adds the fingerprints of the registered inputs a run used and
:func:`read_head` checks a document's envelope when one is given back to Assay (e.g. recorded from a file).

A leaf module: it imports nothing of Assay's but the version, so every package may use it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from assay._version import __version__
from assay.errors import InvalidInput

__all__ = ["SCHEMAS", "Head", "Note", "head", "now", "read_head", "with_inputs"]

#: The document schemas Assay writes, with their current versions.
SCHEMAS: Final[dict[str, int]] = {
    "assay.assessment": 1,  # a bias assessment (metrics)
    "assay.explanations": 1,  # explanations (explain)
    "assay.mitigation": 1,  # a bias mitigation (mitigate)
    "assay.data-check": 1,  # a data check (checks)
    "assay.model-quality": 1,  # model quality of a window, with labels or estimated (metrics.quality)
    "assay.bias-drift": 1,  # bias metrics of a window against a bias baseline (metrics.bias_drift)
    "assay.attribution-drift": 1,  # NDCG of a window's SHAP ranking against a baseline's (explain.drift)
    "assay.oversight-report": 1,  # human review statistics of a system over a period (services.oversight)
    "assay.satisfaction": 1,  # end users' ratings against a floor and a baseline (metrics.satisfaction)
    "assay.membership-inference": 1,  # how well an attacker tells training rows from held-out rows (privacy)
    "assay.robustness": 1,  # accuracy and the bias metrics under corruptions at stated severities, per group
    "assay.adversarial": 1,  # black-box attacks with valid features: success rate and change needed, per group
    "assay.poisoning": 1,  # indicators of data poisoning in a training set (privacy)
    "assay.anonymisation": 1,  # an anonymisation run and the privacy and utility it left (services.anonymisation)
    "assay.explanation-stability": 1,  # how much SHAP explanations move under small perturbations (services.stability)
    "assay.extraction": 1,  # queries a surrogate needs to reach a stated agreement with a model (privacy)
    "assay.guard-block-rate": 1,  # a guardrail's block rate in a window against a ceiling and the previous window
    "assay.genai-eval": 1,  # a generative model's answers to a test set, scored per slice (genai.evaluate)
    "assay.genai-eval-comparison": 1,  # two genai-eval runs compared item by item, a paired test per slice and metric
}


@dataclass(frozen=True)
class Note:
    """A note on a result (a warning the reader should weigh): a short code and a sentence."""

    code: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


@dataclass(frozen=True)
class Head:
    """The envelope's first fields."""

    schema: str
    schema_version: int
    assay_version: str
    created_at: str


def now() -> str:
    """The time stamp documents carry: UTC, to the second."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def head(schema: str, *, created_at: str | None = None) -> dict[str, Any]:
    """The first four fields of a new document of ``schema`` (one of :data:`SCHEMAS`)."""
    if schema not in SCHEMAS:
        raise ValueError(f"unknown document schema {schema!r}")
    return {
        "schema": schema,
        "schema_version": SCHEMAS[schema],
        "assay_version": __version__,
        "created_at": created_at or now(),
    }


def read_head(document: Mapping[str, Any], expected: str | None = None) -> Head:
    """The envelope of ``document``, or :class:`InvalidInput` saying what is wrong with it."""
    schema = document.get("schema")
    if not isinstance(schema, str) or not schema:
        raise InvalidInput("not an Assay result document: it has no 'schema' field")
    if expected is not None and schema != expected:
        raise InvalidInput(f"not an {expected} document (schema {schema!r})")
    version = document.get("schema_version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise InvalidInput(f"schema_version {version!r} of the {schema} document must be a positive integer")
    known = SCHEMAS.get(schema)
    if known is not None and version > known:
        raise InvalidInput(
            f"the {schema} document has schema_version {version}; this Assay reads up to {known}: upgrade Assay"
        )
    return Head(schema, version, str(document.get("assay_version", "")), str(document.get("created_at", "")))


def with_inputs(document: Mapping[str, Any], inputs: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """``document`` with the fingerprints of the registered inputs it was computed on (name -> ref and sha256)."""
    if not inputs:
        return dict(document)
    return {**document, "inputs": {name: dict(value) for name, value in inputs.items()}}
