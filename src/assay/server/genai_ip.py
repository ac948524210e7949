"""Licences and protected content over HTTP: thin routes over :mod:`assay.services.genai.licences` and
:mod:`assay.services.genai.corpora`.

- ``GET /api/licences``: the licences the check knows;
- ``GET /api/systems/{system}/licences``: the findings of the licence check (the risk register untouched);
- ``POST /api/systems/{system}/licences/check``: run the check, each finding kept as a risk;
- ``GET /api/guardrails/corpora``: the protected corpora (every version);
- ``POST /api/guardrails/corpora``: register a new version of a corpus from the documents in the body;
- ``GET /api/guardrails/corpora/{corpus}``: the versions of one corpus;
- ``POST /api/guardrails/corpora/{corpus}/match``: how much of a text is copied from it (spans quoted by a few
  words only).

This router goes before the guardrail policies' (``/api/guardrails/{policy}``) in ``server/app.py`` ROUTERS.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from assay.server import schemas as out
from assay.server.deps import Auth, Page, page

__all__ = ["router"]

router = APIRouter(prefix="/api")


class Corpus(out.Out):
    id: int
    name: str
    version: int
    system_id: int | None
    description: str
    artifact_sha256: str
    documents: int
    created_by: str
    created_at: out.Timestamp


class Licence(out.Out):
    id: str = Field(description="The SPDX id where SPDX has one.")
    title: str
    kind: str = Field(description="permissive, share-alike, non-commercial, no-derivatives, model-licence, ...")
    commercial: bool | None = Field(description="Commercial use allowed (null: unknown).")
    share_alike: bool
    derivatives: bool


class LicenceFinding(out.Out):
    key: str = Field(description="Stable across runs: the rule and its subject.")
    rule: str
    title: str = Field(description="The title of the risk it is kept as.")
    subject: str
    description: str
    controls: list[str]
    risk_id: int | None = None


class LicenceFindings(out.Out):
    system: str
    findings: list[LicenceFinding]


class RiskChanges(out.Out):
    created: list[int]
    updated: list[int]
    reopened: list[int]
    closed: list[int]
    unchanged: list[int]


class LicenceCheck(LicenceFindings):
    commercial: bool
    risks: RiskChanges


class CopiedSpan(out.Out):
    span: list[int] = Field(description="Characters start and end in the text.")
    words: int
    document: str
    quote: str = Field(description="The first words of the span only.")


class NearCopy(out.Out):
    similarity: float
    document: str | None


class CorpusMatch(out.Out):
    corpus: str
    words: int
    share: float = Field(description="Share of the text's words in verbatim spans of 8 words or more.")
    longest_words: int
    spans: list[CopiedSpan]
    near: NearCopy | None


class Document(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, max_length=200, description="How findings name it (default: its line).")
    text: str = Field(description="The document's text.")


class CorpusBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100, description="The corpus's name (a new version if it exists).")
    documents: list[Document] = Field(min_length=1, max_length=100_000)
    system: str | None = Field(default=None, max_length=100, description="The AI system it protects.")
    description: str = Field(default="", max_length=2000)


class MatchBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(max_length=1_000_000, description="The text to compare with the corpus.")
    version: int | None = Field(default=None, ge=1, description="The corpus version (default: the latest).")
    near: bool = Field(default=False, description="Also look for near copies (MinHash LSH).")


@router.get("/licences", tags=["licences"])
def list_licences(auth: Auth, paging: Page) -> out.Page[Licence]:
    """The licences the check knows (SPDX ids where SPDX has one) and what they allow."""
    from assay.governance.licences import known_licences

    rows = [
        {"id": t.id, "title": t.title, "kind": t.kind, "commercial": t.commercial, "share_alike": t.share_alike,
         "derivatives": t.derivatives}
        for t in known_licences()
    ]  # fmt: skip
    return page(Licence, rows, paging)


@router.get("/systems/{system}/licences", tags=["licences"])
def licence_findings(auth: Auth, system: str) -> LicenceFindings:
    """What the licence check finds in the system's model versions and training data, without keeping it as risks."""
    found = auth.ws.genai.licences.findings(system)
    return LicenceFindings.of({
        "system": system,
        "findings": [
            {"key": f.key, "rule": f.rule, "title": f.title, "subject": f.subject, "description": f.description,
             "controls": list(f.controls)}
            for f in found
        ],
    })  # fmt: skip


@router.post("/systems/{system}/licences/check", tags=["licences"])
def licence_check(auth: Auth, system: str) -> LicenceCheck:
    """Run the licence check: each finding becomes a risk (created, updated, reopened), resolved ones are closed."""
    return LicenceCheck.of(auth.ws.genai.licences.check(system).to_dict())


@router.get("/guardrails/corpora", tags=["guardrails"])
def list_corpora(auth: Auth, paging: Page) -> out.Page[Corpus]:
    """The protected corpora you may see, every version, by name."""
    return page(Corpus, auth.ws.genai.corpora.list(), paging)


@router.post("/guardrails/corpora", status_code=201, tags=["guardrails"])
def add_corpus(auth: Auth, body: CorpusBody) -> Corpus:
    """Register the documents as the next version of the named corpus (stored in the artifact store, audited)."""
    with tempfile.TemporaryDirectory(prefix="assay-corpus-") as folder:
        path = Path(folder) / "corpus.jsonl"
        with path.open("w", encoding="utf-8") as handle:
            for number, document in enumerate(body.documents, start=1):
                row = {"name": document.name or f"document {number}", "text": document.text}
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        corpus = auth.ws.genai.corpora.add(body.name, path, system=body.system, description=body.description)
    return Corpus.of(corpus)


@router.get("/guardrails/corpora/{corpus}", tags=["guardrails"])
def corpus_versions(auth: Auth, corpus: str, paging: Page) -> out.Page[Corpus]:
    """The versions of one corpus."""
    auth.ws.genai.corpora.get(corpus)  # 404 when there is none
    return page(Corpus, auth.ws.genai.corpora.list(name=corpus), paging)


@router.post("/guardrails/corpora/{corpus}/match", tags=["guardrails"])
def match_corpus(auth: Auth, corpus: str, body: MatchBody) -> CorpusMatch:
    """How much of the text is copied from the corpus: the share of its words in verbatim spans of 8 words or more,
    the longest span and the spans (each quoted by its first words only)."""
    match = auth.ws.genai.corpora.index(corpus, body.version).overlap(body.text, near=body.near)
    return CorpusMatch.of(
        {
            "corpus": corpus,
            "words": match.words,
            "share": round(match.share, 4),
            "longest_words": match.longest_words,
            "spans": [span.to_dict() for span in match.spans[:100]],
            "near": None
            if match.near is None
            else {"similarity": round(match.near, 4), "document": match.near_document},
        }
    )
