"""Technical documentation along the EU AI Act Annex IV headings, filled from the store, with every gap marked.

Each heading gets the facts the store holds (the items) and what it does not (the gaps), plus the evidence
attached to that heading (``eu-ai-act:Annex IV.N``). What no store can know (e.g. the declaration of
conformity) is a gap until evidence is attached to its heading.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import select

from assay._version import __version__
from assay.governance.catalogues import load_catalogue
from assay.services import _lookup
from assay.services._base import Service
from assay.services.cards import GENAI_EVAL, category_text, genai_evaluation, guard_policies
from assay.services.contests import contest_counts, contest_summary
from assay.store.models import (
    Assessment,
    CorrectiveAction,
    Dataset,
    DatasetVersion,
    GateRun,
    ImpactAssessment,
    Incident,
    Model,
    ModelVersion,
    Risk,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from assay.store.models import System

__all__ = ["ANNEX_IV", "TechnicalDocs"]

ANNEX_IV: Final = tuple(f"Annex IV.{n}" for n in range(1, 10))

Item = tuple[str, Any]


def _item(label: str, value: Any) -> dict[str, Any]:
    return {"label": label, "value": value}


class _Facts:
    """Everything the headings draw on, read once."""

    def __init__(self, session: Session, owner: System) -> None:
        self.owner = owner
        self.contests = contest_counts(session, owner.id)
        rows = session.execute(
            select(Model, ModelVersion)
            .join(ModelVersion, ModelVersion.model_id == Model.id)
            .where(Model.system_id == owner.id)
            .order_by(Model.name, ModelVersion.id)
        ).all()
        self.versions = [(row[0], row[1]) for row in rows]
        by_id = {v.id: f"{m.name}@{v.version}" for m, v in self.versions}
        self.version_refs = by_id
        dataset_ids = {v.training_dataset_version_id for _, v in self.versions if v.training_dataset_version_id}
        self.assessments = list(
            session.execute(
                select(Assessment).where(Assessment.system_id == owner.id).order_by(Assessment.id)
            ).scalars()
        )
        dataset_ids |= {a.dataset_version_id for a in self.assessments if a.dataset_version_id}
        self.datasets = {
            version.id: (dataset, version)
            for dataset, version in session.execute(
                select(Dataset, DatasetVersion)
                .join(DatasetVersion, DatasetVersion.dataset_id == Dataset.id)
                .where(DatasetVersion.id.in_(dataset_ids or {-1}))
            ).all()
        }
        self.risks = list(session.execute(select(Risk).where(Risk.system_id == owner.id).order_by(Risk.id)).scalars())
        self.impacts = list(
            session.execute(select(ImpactAssessment).where(ImpactAssessment.system_id == owner.id)).scalars()
        )
        self.incidents = list(session.execute(select(Incident).where(Incident.system_id == owner.id)).scalars())
        incident_ids = [i.id for i in self.incidents] or [-1]
        self.actions = list(
            session.execute(select(CorrectiveAction).where(CorrectiveAction.incident_id.in_(incident_ids))).scalars()
        )
        self.gates = list(session.execute(select(GateRun).where(GateRun.system_id == owner.id)).scalars())
        # a generative system: the newest evaluation of each model version and the guardrail policies bound to it
        self.genai = {v.id: genai_evaluation(session, v) for _, v in self.versions} if owner.generative else {}
        self.guardrails = guard_policies(session, owner) if owner.generative else []

    def dataset_ref(self, version_id: int | None) -> str | None:
        if version_id is None or version_id not in self.datasets:
            return None
        dataset, version = self.datasets[version_id]
        return f"{dataset.name}@{version.version}"


def _general(f: _Facts) -> tuple[list[dict[str, Any]], list[str]]:
    s = f.owner
    items = [
        _item("Intended purpose", s.purpose or None),
        _item("Provider / owner", s.owner or None),
        _item("EU AI Act category", category_text(s)),
        _item("Intended uses", s.intended_uses or None),
        _item("Out-of-scope uses", s.out_of_scope_uses or None),
        _item("People affected", s.affected_people or None),
        _item("Deployment context", s.deployment_context or None),
        _item("Human oversight", s.oversight),
        _item("Life cycle stage", s.lifecycle_stage),
        _item(
            "Versions and their relation to previous versions",
            [
                f"{ref} ({v.stage})" + (f", derived from {f.version_refs[v.parent_id]}" if v.parent_id else "")
                for (_, v), ref in ((mv, f.version_refs[mv[1].id]) for mv in f.versions)
            ]
            or None,
        ),
    ]
    if s.generative:
        items.append(_item("Disclosure to users (generative AI)", s.disclosure))
        for _, v in f.versions:
            ref = f.version_refs[v.id]
            described = [
                part
                for part in (
                    v.foundation_model and f"foundation model {v.foundation_model}",
                    v.provider and f"provider {v.provider}",
                    v.licence and f"licence {v.licence}",
                    v.terms and f"terms {v.terms}",
                )
                if part
            ]
            items.append(_item(f"Foundation model of {ref}", "; ".join(described) or None))
    gaps = [f"{i['label']} is not recorded" for i in items if i["value"] is None]
    gaps.append("Forms in which the system is placed on the market, hardware, and instructions for use: attach them")
    return items, gaps


def _development(f: _Facts) -> tuple[list[dict[str, Any]], list[str]]:
    items, gaps = [], []
    for model, version in f.versions:
        ref = f"{model.name}@{version.version}"
        training = f.dataset_ref(version.training_dataset_version_id)
        items.append(
            _item(
                f"Model version {ref}",
                f"framework {version.framework or '(not recorded)'}; artifact "
                f"{version.artifact_sha256 or '(not registered)'}; training data {training or '(not recorded)'}",
            )
        )
        if training is None:
            gaps.append(f"{ref}: no training dataset version recorded")
        if not version.framework:
            gaps.append(f"{ref}: framework not recorded")
    for _, (dataset, data) in sorted(f.datasets.items()):
        ref = f"{dataset.name}@{data.version}"
        missing = [name for name in ("source", "licence", "collection_method") if not getattr(data, name)]
        items.append(
            _item(
                f"Dataset {ref}",
                f"source {data.source or '?'}; licence {data.licence or '?'}; "
                f"{data.row_count if data.row_count is not None else '?'} rows; personal data "
                f"{', '.join(data.personal_data_categories) if data.pii else 'none declared'}",
            )
        )
        gaps += [f"{ref}: {name.replace('_', ' ')} not recorded" for name in missing]
    tests = [a for a in f.assessments if a.kind == "assay.assessment"]
    items.append(
        _item(
            "Validation and testing (dated, recorded in the signed audit ledger)",
            [
                f"assessment {a.id} of {f.version_refs.get(a.model_version_id or -1, 'no model version')} on "
                f"{a.created_at.date()} by {a.created_by} (sha256 {a.document_sha256[:12]})"
                for a in tests
            ]
            or None,
        )
    )
    if f.owner.generative:
        evaluations = [a for a in f.assessments if a.kind == GENAI_EVAL]
        items.append(
            _item(
                "Generative evaluations (test set, scores by slice; recorded in the signed audit ledger)",
                [
                    f"evaluation {a.id} of {f.version_refs.get(a.model_version_id or -1, 'no model version')} on "
                    f"{a.created_at.date()} by {a.created_by} (sha256 {a.document_sha256[:12]})"
                    for a in evaluations
                ]
                or None,
            )
        )
        if not evaluations:
            gaps.append(
                "no generative evaluation is recorded (assay eval run): confabulation, personal-data leakage and "
                "attack success are untested"
            )
    if not f.versions:
        gaps.append("no model version is registered")
    if not tests:
        gaps.append("no bias and performance assessment is recorded (potentially discriminatory impacts untested)")
    gaps.append("design specifications, architecture and cybersecurity measures: attach them as evidence")
    return items, gaps


def _monitoring(f: _Facts) -> tuple[list[dict[str, Any]], list[str]]:
    items, gaps = [], []
    latest = next((a for a in reversed(f.assessments) if a.kind == "assay.assessment"), None)
    if latest is None:
        gaps.append("accuracy for specific persons or groups is not measured")
    else:
        overall = [g for g in latest.document.get("performance", []) if g["facet"] != "all"]
        accuracy = [
            f"{g['facet']} = {g['value']}: accuracy {g['metrics'].get('accuracy'):.3f}"
            for g in overall
            if isinstance(g["metrics"].get("accuracy"), float)
        ]
        items.append(_item(f"Accuracy by group (assessment {latest.id})", accuracy or None))
    discrimination = [r for r in f.risks if r.status == "open"]
    items.append(_item("Open risks (health, safety, fundamental rights, discrimination)", [
        f"{r.id} {r.title} ({r.level})" for r in discrimination] or None))  # fmt: skip
    items.append(_item("Human oversight", f.owner.oversight))
    if f.owner.generative:
        for _, v in f.versions:
            evaluation = f.genai.get(v.id)
            if evaluation is None:
                continue
            ref = f.version_refs[v.id]
            scores = [
                f"{s['metric']} {s['overall']['value']:.3g} [{_bound(s['overall']['low'])}, "
                f"{_bound(s['overall']['high'])}] (n={s['overall']['n']})"
                for s in evaluation["scores"]
            ]
            items.append(_item(f"Generative evaluation of {ref} (evaluation {evaluation['assessment_id']})", scores))
            if evaluation["red_team"]:
                items.append(
                    _item(
                        f"Red-team attack success of {ref} by category",
                        [
                            f"{r['category']}: {r['successes']} of {r['attempts']} ({_bound(r['rate'])}, "
                            f"[{_bound(r['low'])}, {_bound(r['high'])}])"
                            for r in evaluation["red_team"]
                        ],
                    )
                )
        items.append(
            _item(
                "Guardrail policies controlling inputs and outputs",
                [
                    f"{p['name']} version {p['version']}: {', '.join(p['sections']) or 'no checks'}"
                    + ("; disclosure required" if p["disclosure_required"] else "")
                    for p in f.guardrails
                ]
                or None,
            )
        )
        if not f.guardrails:
            gaps.append("no guardrail policy is bound to this generative system: its inputs and outputs are unguarded")
    items.append(_item("Contested decisions (GDPR Art. 22(3), EU AI Act Art. 86)", contest_summary(f.contests)))
    if not f.risks:
        gaps.append("no risk is recorded: foreseeable unintended outcomes and sources of risk are not documented")
    return items, gaps


def _bound(value: Any) -> str:
    return "?" if not isinstance(value, int | float) else f"{value:.3g}"


def _metrics(f: _Facts) -> tuple[list[dict[str, Any]], list[str]]:
    items = [
        _item(
            "Policy gates evaluated",
            [
                f"run {g.id}: {g.policy_name} for {f.version_refs.get(g.model_version_id, '?')} → {g.outcome}"
                for g in f.gates
            ]
            or None,
        )
    ]
    gaps = [] if f.gates else ["no policy gate has been evaluated: the metrics' thresholds are not documented"]
    return items, gaps


def _risk_management(f: _Facts) -> tuple[list[dict[str, Any]], list[str]]:
    levels = Counter(r.level for r in f.risks if r.status == "open")
    treatments = Counter(r.treatment for r in f.risks)
    final = [i for i in f.impacts if i.status == "final"]
    items = [
        _item("Risks recorded", len(f.risks)),
        _item("Open risks by level", dict(levels) or None),
        _item("Treatments", dict(treatments) or None),
        _item("Impact assessments (ISO/IEC 42005)", [f"{i.id} {i.title} ({i.status})" for i in f.impacts] or None),
    ]
    gaps = []
    if not f.risks:
        gaps.append("the risk register is empty")
    if not final:
        gaps.append("no final impact assessment")
    unreviewed = [r for r in f.risks if r.status == "open" and r.review_date is None]
    gaps += [f"risk {r.id} has no review date" for r in unreviewed]
    return items, gaps


def _changes(f: _Facts) -> tuple[list[dict[str, Any]], list[str]]:
    items = [
        _item("Model versions and stages", [f"{f.version_refs[v.id]}: {v.stage}" for _, v in f.versions] or None),
        _item("Change history", "every change is an event of the signed audit ledger: assay audit log"),
    ]
    return items, []


def _standards(f: _Facts) -> tuple[list[dict[str, Any]], list[str]]:
    return [], ["list the harmonised standards applied, or attach the solutions adopted, as evidence for this heading"]


def _conformity(f: _Facts) -> tuple[list[dict[str, Any]], list[str]]:
    return [], ["attach the EU declaration of conformity (Art. 47) as evidence for this heading"]


def _post_market(f: _Facts) -> tuple[list[dict[str, Any]], list[str]]:
    open_actions = [a for a in f.actions if a.status != "done"]
    items = [
        _item("Incidents", [f"{i.id} {i.title} ({i.severity}, {i.status})" for i in f.incidents] or None),
        _item("Open corrective actions", len(open_actions)),
    ]
    return items, ["attach the post-market monitoring plan (Art. 72(3)) as evidence for this heading"]


_HEADINGS: Final = dict(
    zip(ANNEX_IV, (_general, _development, _monitoring, _metrics, _risk_management, _changes, _standards,
                   _conformity, _post_market), strict=True)
)  # fmt: skip


class TechnicalDocs(Service):
    def build(self, system: str) -> dict[str, Any]:
        """The ``assay.technical-documentation`` document of ``system``."""
        catalogue = load_catalogue("eu-ai-act")
        with self._read() as session:
            owner = _lookup.system(session, system)
            facts = _Facts(session, owner)
        sections = []
        for heading, fill in _HEADINGS.items():
            items, gaps = fill(facts)
            evidence = [
                {"id": e.id, "kind": e.kind, "description": e.description, "state": e.state, "via": e.via}
                for e in self.ws.controls.list_evidence(system, "eu-ai-act", heading)
            ]
            current = [e for e in evidence if e["state"] == "current"]
            if current and heading in ("Annex IV.7", "Annex IV.8", "Annex IV.9"):
                gaps = [g for g in gaps if "attach" not in g]
            sections.append(
                {
                    "id": heading,
                    "title": catalogue.control(heading).title,
                    "items": items,
                    "evidence": evidence,
                    "gaps": gaps,
                }
            )
        return {
            "schema": "assay.technical-documentation",
            "schema_version": 1,
            "assay_version": __version__,
            "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "system": owner.name,
            "category": category_text(owner),
            "sections": sections,
            "gaps": sum(len(s["gaps"]) for s in sections),
        }
