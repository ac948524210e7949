"""Model cards built from the store: one ``assay.model-card`` document per model version, rendered by
:mod:`assay.reports.model_card` as Markdown, HTML, PDF, JSON, SageMaker Model Card content or a Hugging Face
model card."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import select

from assay._version import __version__
from assay.errors import InvalidInput
from assay.governance.records import ANNEX_III_AREAS
from assay.reports import model_card
from assay.services import _lookup
from assay.services._base import Service
from assay.services.contests import contest_counts, contest_summary
from assay.services.risks import risk_record
from assay.store.models import (
    Assessment,
    Dataset,
    DatasetVersion,
    GuardPolicy,
    Incident,
    Model,
    ModelVersion,
    Risk,
    System,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


__all__ = ["CARD_FORMATS", "GENAI_EVAL", "Cards", "category_text", "genai_evaluation", "guard_policies", "provenance"]

CARD_FORMATS: Final = ("md", "html", "pdf", "json", "sagemaker", "huggingface")
_SUFFIX: Final = {"md": ".md", "html": ".html", "pdf": ".pdf", "json": ".json", "sagemaker": ".sagemaker.json",
                  "huggingface": ".README.md"}  # fmt: skip


def category_text(system: System) -> str:
    if system.eu_ai_act_category == "high" and system.annex_iii_area is not None:
        return f"high-risk (Annex III area {system.annex_iii_area}: {ANNEX_III_AREAS[system.annex_iii_area]})"
    return {"prohibited": "prohibited practice (Art. 5)", "limited": "limited risk (transparency, Art. 50)",
            "minimal": "minimal risk"}.get(system.eu_ai_act_category, system.eu_ai_act_category)  # fmt: skip


GENAI_EVAL: Final = "assay.genai-eval"
#: The order in which a generative evaluation's scores are shown (others follow, sorted).
_GENAI_ORDER: Final = (
    "groundedness", "relevance", "refusal_correct", "over_refusal", "under_refusal", "attack_success", "pii_leakage",
    "protected_content", "exact_match", "fuzzy_match", "length", "latency_ms",
)  # fmt: skip
_SCORE_KEYS: Final = ("value", "low", "high", "n")


def provenance(version: ModelVersion) -> dict[str, str]:
    """A model version's licence and provenance (for a generative system: its foundation model and provider)."""
    return {
        "foundation_model": version.foundation_model,
        "provider": version.provider,
        "licence": version.licence,
        "source": version.source,
        "terms": version.terms,
    }


def _score(row: Any) -> dict[str, Any] | None:
    if not isinstance(row, dict) or not isinstance(row.get("value"), int | float) or isinstance(row["value"], bool):
        return None
    return {key: row.get(key) for key in _SCORE_KEYS}


def genai_evaluation(session: Session, version: ModelVersion) -> dict[str, Any] | None:
    """The newest generative evaluation (``assay.genai-eval``) of ``version``: its scores overall and by slice, in a
    fixed order (metrics it did not measure are listed with the reason), and the red-team attack success by
    category; ``None`` when none is recorded."""
    latest = session.execute(
        select(Assessment)
        .where(Assessment.model_version_id == version.id, Assessment.kind == GENAI_EVAL)
        .order_by(Assessment.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if latest is None:
        return None
    document = latest.document
    metrics = document.get("metrics") or {}
    order = [m for m in _GENAI_ORDER if m in metrics] + sorted(m for m in metrics if m not in _GENAI_ORDER)
    scores, unmeasured = [], []
    for name in order:
        entry = metrics[name] if isinstance(metrics[name], dict) else {}
        overall = _score(entry.get("overall"))
        if overall is None:
            unmeasured.append({"metric": name, "reason": str(entry.get("reason") or "no item was scored")})
            continue
        slices = [
            {"slice": key, **found}
            for key, row in sorted((entry.get("slices") or {}).items())
            if (found := _score(row)) is not None
        ]
        scores.append({"metric": name, "overall": overall, "slices": slices})
    red_team = [
        {"category": name, **{k: row.get(k) for k in ("attempts", "successes", "rate", "low", "high")}}
        for name, row in sorted(((document.get("red_team") or {}).get("categories") or {}).items())
        if isinstance(row, dict)
    ]
    spec = document.get("spec") or {}
    return {
        "assessment_id": latest.id,
        "created_at": latest.created_at.isoformat(timespec="seconds"),
        "document_sha256": latest.document_sha256,
        "status": document.get("status"),
        "target": document.get("target"),
        "test_set": document.get("test_set"),
        "guardrail": spec.get("guardrail"),
        "confidence": spec.get("confidence"),
        "slices": sorted({row["slice"] for item in scores for row in item["slices"]}),
        "scores": scores,
        "unmeasured": unmeasured,
        "red_team": red_team,
    }


def guard_policies(session: Session, owner: System) -> list[dict[str, Any]]:
    """The guardrail policies bound to ``owner`` (``guard_policies`` rows with its ``system_id``): the newest version
    of each name, with the sections it checks."""
    from assay.genai.policy import parse_guard_policy

    rows = session.execute(
        select(GuardPolicy).where(GuardPolicy.system_id == owner.id).order_by(GuardPolicy.name, GuardPolicy.version)
    ).scalars()
    newest: dict[str, tuple[GuardPolicy, int]] = {}
    for row in rows:
        count = newest[row.name][1] + 1 if row.name in newest else 1
        newest[row.name] = (row, count)
    out = []
    for name, (row, count) in sorted(newest.items()):
        try:
            parsed = parse_guard_policy(row.text, f"guardrail policy {name} version {row.version}")
            sections = list(parsed.sections)
            description = parsed.description
            disclosure = bool(parsed.disclosure and parsed.disclosure.required)
        except InvalidInput as exc:  # stored by an older Assay whose schema differed: shown, not hidden
            sections, description, disclosure = [], f"(cannot be read by this Assay: {exc})", False
        out.append(
            {
                "name": name,
                "version": row.version,
                "versions": count,
                "sha256": row.sha256,
                "created_at": row.created_at.isoformat(timespec="seconds"),
                "created_by": row.created_by,
                "description": description,
                "sections": sections,
                "disclosure_required": disclosure,
            }
        )
    return out


def _dataset(session: Session, version_id: int | None) -> dict[str, Any] | None:
    if version_id is None:
        return None
    version = session.get(DatasetVersion, version_id)
    assert version is not None
    dataset = session.get(Dataset, version.dataset_id)
    assert dataset is not None
    period = None
    if version.period_start or version.period_end:
        period = f"{version.period_start or '…'} to {version.period_end or '…'}"
    return {
        "ref": f"{dataset.name}@{version.version}",
        "uri": version.uri,
        "source": version.source,
        "licence": version.licence,
        "collection_method": version.collection_method,
        "period": period,
        "row_count": version.row_count,
        "fingerprint": version.fingerprint,
        "pii": version.pii,
        "personal_data_categories": list(version.personal_data_categories),
        "columns": list(version.columns),
    }


def _evaluation(session: Session, version: ModelVersion) -> tuple[dict[str, Any] | None, list[str]]:
    latest = session.execute(
        select(Assessment)
        .where(Assessment.model_version_id == version.id, Assessment.kind == "assay.assessment")
        .order_by(Assessment.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if latest is None:
        return None, ["No bias assessment is recorded for this model version: its fairness is not evidenced."]
    document = latest.document
    spec = document.get("spec", {})
    bootstrap = spec.get("bootstrap") or {}
    caveats = [w["message"] for w in document.get("warnings", [])]
    for entry in document.get("facets", []):
        for metric in entry["metrics"]:
            if metric.get("error") and metric["name"] in model_card.KEY_METRICS:
                caveats.append(
                    f"{metric['name']} is undefined for {entry['facet']} = {entry['value_or_threshold']}: "
                    f"{metric['error']}"
                )
    factors = list(dict.fromkeys(entry["facet"] for entry in document.get("facets", [])))
    evaluation = {
        "assessment_id": latest.id,
        "created_at": latest.created_at.isoformat(timespec="seconds"),
        "document_sha256": latest.document_sha256,
        "label": f"{document.get('label')} = {document.get('label_value_or_threshold')}",
        "confidence": f"{round(100 * float(bootstrap.get('confidence', 0.95)))}%"
        if bootstrap.get("replicates")
        else "no",
        "factors": factors,
        "facets": document.get("facets", []),
        "performance": document.get("performance", []),
        "rows": document.get("rows", {}),
        "dataset": _dataset(session, latest.dataset_version_id),
    }
    return evaluation, caveats


class Cards(Service):
    def build(self, system: str, ref: str) -> dict[str, Any]:
        """The model card document of model version ``ref`` of ``system``, from what the store holds now."""
        with self._read() as session:
            owner = _lookup.system(session, system)
            version = _lookup.model_version(session, owner, ref)
            model = session.get(Model, version.model_id)
            assert model is not None
            versions = list(
                session.execute(
                    select(ModelVersion.id).where(ModelVersion.model_id == model.id).order_by(ModelVersion.id)
                ).scalars()
            )
            lineage = []
            current: ModelVersion | None = version
            while current is not None and current.version not in lineage:
                lineage.append(current.version)
                current = None if current.parent_id is None else session.get(ModelVersion, current.parent_id)
            evaluation, caveats = _evaluation(session, version)
            risks = [
                risk_record(r)
                for r in session.execute(select(Risk).where(Risk.system_id == owner.id).order_by(Risk.id)).scalars()
            ]
            incidents = session.execute(
                select(Incident).where(Incident.system_id == owner.id, Incident.status != "closed")
            ).scalars()
            caveats += [f"Open incident {i.id} ({i.severity}): {i.title}" for i in incidents]
            training = _dataset(session, version.training_dataset_version_id)
            contested = contest_counts(session, owner.id, version.id)
            system_state = owner.state()
            generative = None
            if owner.generative:
                generative = {
                    "foundation_model": provenance(version),
                    "disclosure": owner.disclosure,
                    "evaluation": genai_evaluation(session, version),
                    "guardrails": guard_policies(session, owner),
                }
                if generative["evaluation"] is None:
                    caveats.append(
                        "No generative evaluation is recorded for this model version: groundedness, privacy leakage "
                        "and attack success are not evidenced (assay eval run)."
                    )
                if not generative["guardrails"]:
                    caveats.append("No guardrail policy is bound to this system.")
                if not version.foundation_model:
                    caveats.append("The foundation model of this model version is not recorded.")
        full_ref = f"{model.name}@{version.version}"
        approvals = [a.to_dict() for a in self.ws.approvals.list(system) if a.ref == full_ref]
        caveats += [
            f"Approval {a['id']} ({a['stage']}) is stale: the approved state has changed."
            for a in approvals
            if a["stale"]
        ]
        if training is None:
            caveats.append("No training dataset version is recorded for this model version.")
        return {
            "schema": "assay.model-card",
            "schema_version": 1,
            "assay_version": __version__,
            "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "system": {**system_state, "category_text": category_text(owner)},
            "model": {
                "name": model.name,
                "description": model.description,
                "version": version.version,
                "ref": full_ref,
                "sequence": versions.index(version.id) + 1,
                "framework": version.framework,
                "artifact_sha256": version.artifact_sha256,
                "stage": version.stage,
                **provenance(version),
                "lineage": lineage,
                "created_at": version.created_at.isoformat(timespec="seconds"),
            },
            "training_data": training,
            "evaluation": evaluation,
            "generative": generative,
            "risks": [
                {
                    k: r[k]
                    for k in ("id", "title", "source", "level", "treatment", "residual_level", "status", "affected")
                }
                for r in risks
            ],
            "caveats": caveats,
            "approvals": approvals,
            "gates": self.ws.gates.runs(system, ref),
            "contested": {**contested, "summary": contest_summary(contested)},
        }

    def render(self, card: dict[str, Any], fmt: str) -> bytes:
        """The card in one format: md, html, pdf, json, sagemaker or huggingface."""
        if fmt == "md":
            return model_card.render_card_markdown(card).encode()
        if fmt == "html":
            return model_card.render_card_html(card).encode()
        if fmt == "pdf":
            return model_card.render_card_pdf(card)
        if fmt == "json":
            return (json.dumps(card, indent=2, ensure_ascii=False) + "\n").encode()
        if fmt == "sagemaker":
            return (json.dumps(model_card.to_sagemaker_model_card(card), indent=2, ensure_ascii=False) + "\n").encode()
        if fmt == "huggingface":
            return model_card.to_huggingface_card(card).encode()
        raise InvalidInput(f"card format {fmt!r} is not one of {', '.join(CARD_FORMATS)}")

    def write(self, system: str, ref: str, out: Path, formats: tuple[str, ...] = ("html",)) -> dict[str, Path]:
        """Build the card once and write it in each format to ``out/`` (``model-card.<suffix>``)."""
        unknown = [f for f in formats if f not in CARD_FORMATS]
        if unknown:
            raise InvalidInput(f"card format {unknown[0]!r} is not one of {', '.join(CARD_FORMATS)}")
        card = self.build(system, ref)
        out.mkdir(parents=True, exist_ok=True)
        paths = {}
        for fmt in formats:
            path = out / f"model-card{_SUFFIX[fmt]}"
            path.write_bytes(self.render(card, fmt))
            paths[fmt] = path
        return paths
