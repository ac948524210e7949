"""Model cards: one document (``assay.model-card``, built by the service layer from the store) rendered as
Markdown, HTML (static SVG charts, no script), PDF (the same HTML through WeasyPrint, offline) and exported to the
SageMaker Model Card JSON schema and to a Hugging Face model card (YAML metadata + Markdown).

The sections follow Mitchell et al., "Model Cards for Model Reporting" (2019), with the governance record
added: model details, intended use, factors, metrics, training data, evaluation data, risks and ethical
considerations, caveats and recommendations, approvals, gate results, and for a system flagged generative: its
foundation model and provenance, the newest generative evaluation (scores by slice with their intervals, red-team
attack success by category), the guardrail policies bound to it and the generative-AI disclosure.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources
from typing import Any, Final

import yaml

from assay.reports._jinja import template as _template
from assay.reports._static_charts import calibration_svg, metric_interval_svg, performance_svg

__all__ = [
    "CARD_SECTIONS",
    "GENERATIVE_SECTIONS",
    "KEY_METRICS",
    "genai_table",
    "render_card_html",
    "render_card_markdown",
    "render_card_pdf",
    "to_huggingface_card",
    "to_sagemaker_model_card",
    "validate_sagemaker_model_card",
]

CARD_SECTIONS: Final = (
    ("details", "Model details"),
    ("intended_use", "Intended use"),
    ("factors", "Factors"),
    ("metrics", "Metrics"),
    ("training_data", "Training data"),
    ("evaluation_data", "Evaluation data"),
    ("risks", "Risks and ethical considerations"),
    ("caveats", "Caveats and recommendations"),
    ("approvals", "Approvals"),
    ("gates", "Gate results"),
)
DISCLOSURE_SECTION: Final = ("disclosure", "Generative-AI disclosure")
GENERATIVE_SECTIONS: Final = (
    ("foundation_model", "Foundation model and provenance"),
    ("genai_evaluation", "Generative evaluation"),
    ("guardrails", "Guardrail policies"),
)
KEY_METRICS: Final = ("CI", "DPL", "DPPL", "DI", "AD", "RD")
_PARITY: Final = {"DI": 1.0}
_RATES: Final = ("accuracy", "selection_rate", "fpr", "fnr")


def _number(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, str):
        return {"Infinity": "∞", "-Infinity": "−∞"}.get(value, value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.4g}" if math.isfinite(value) else ("∞" if value > 0 else "−∞")
    return str(value)


def _interval(ci: Any) -> str:
    if not ci:
        return ""
    return f"[{_number(ci[0])}, {_number(ci[1])}]"


def sections(card: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The card's sections in order (the foundation model, the generative evaluation, the guardrail policies and
    the disclosure only for a generative system)."""
    out = list(CARD_SECTIONS)
    if card["system"].get("generative"):
        foundation, evaluation, guardrails = GENERATIVE_SECTIONS
        out.insert(out.index(("intended_use", "Intended use")), foundation)
        out.insert(out.index(("training_data", "Training data")), evaluation)
        out.insert(out.index(("caveats", "Caveats and recommendations")), guardrails)
        out.append(DISCLOSURE_SECTION)
    return out


def _score_text(score: Mapping[str, Any] | None) -> str:
    if not score:
        return ""
    interval = f" [{_number(score.get('low'))}, {_number(score.get('high'))}]" if score.get("low") is not None else ""
    return f"{_number(score.get('value'))}{interval} n={_number(score.get('n'))}"


def genai_table(card: Mapping[str, Any]) -> dict[str, Any]:
    """The newest generative evaluation as a table: one row for ``overall`` and one per slice, one column per metric
    measured; each cell the score with its interval and n (blank where a metric was not scored on a slice)."""
    evaluation = ((card.get("generative") or {}).get("evaluation")) or {}
    scores = evaluation.get("scores", [])
    metrics = [item["metric"] for item in scores]
    rows = [{"slice": "overall", "cells": [_score_text(item["overall"]) for item in scores]}]
    for key in evaluation.get("slices", []):
        cells = []
        for item in scores:
            found = next((row for row in item["slices"] if row["slice"] == key), None)
            cells.append(_score_text(found))
        rows.append({"slice": key, "cells": cells})
    return {"metrics": metrics, "rows": rows}


def _metric_rows(card: Mapping[str, Any]) -> list[dict[str, Any]]:
    evaluation = card.get("evaluation") or {}
    rows = []
    for entry in evaluation.get("facets", []):
        by_name = {m["name"]: m for m in entry["metrics"]}
        cells = {}
        for name in KEY_METRICS:
            metric = by_name.get(name)
            if metric is None:
                cells[name] = {"value": None, "ci": None, "error": None, "present": False}
            else:
                cells[name] = {**metric, "present": True}
        rows.append(
            {
                "label": f"{entry['facet']} = {entry['value_or_threshold']}",
                "n_d": entry["n_d"],
                "n_a": entry["n_a"],
                "cells": cells,
            }
        )
    return rows


def _performance_rows(card: Mapping[str, Any]) -> list[dict[str, Any]]:
    evaluation = card.get("evaluation") or {}
    rows = []
    for group in evaluation.get("performance", []):
        label = "all rows" if group["facet"] == "all" else f"{group['facet']} = {group['value']}"
        rows.append({"label": label, "metrics": group["metrics"], "score": group.get("score") or {}})
    return rows


def _charts(card: Mapping[str, Any]) -> dict[str, Any]:
    metric_rows = _metric_rows(card)
    charts: dict[str, Any] = {}
    for name in ("DI", "DPPL"):
        points = [
            {"label": r["label"], "value": r["cells"][name]["value"], "ci": r["cells"][name]["ci"]}
            for r in metric_rows
            if r["cells"][name]["present"] and not r["cells"][name]["error"]
        ]
        charts[name] = metric_interval_svg(points, name, _PARITY.get(name, 0.0)) if points else None
    performance = _performance_rows(card)
    charts["performance"] = performance_svg(performance, _RATES) if performance else None
    overall = next((r for r in performance if r["label"] == "all rows"), None)
    reliability = (overall or {}).get("score", {}).get("reliability") if overall else None
    charts["calibration"] = calibration_svg(reliability) if reliability else None
    return charts


def render_card_html(card: Mapping[str, Any], *, for_print: bool = False) -> str:
    """A self-contained page: no script, no external resource; charts are inline SVG."""
    template = _template("model_card.html.j2", card_num=_number, interval=_interval)
    return template.render(
        card=card,
        sections=sections(card),
        genai=genai_table(card),
        metric_rows=_metric_rows(card),
        key_metrics=KEY_METRICS,
        performance=_performance_rows(card),
        rates=_RATES,
        charts=_charts(card),
        for_print=for_print,
    )


def render_card_pdf(card: Mapping[str, Any]) -> bytes:
    """The HTML card printed to PDF by WeasyPrint (no browser, no network: every resource is inline)."""
    try:
        from weasyprint import HTML
    except ImportError as exc:  # pragma: no cover - the extra is part of the default install
        raise RuntimeError("PDF output needs WeasyPrint: pip install 'assay[pdf]'") from exc
    document: bytes = HTML(string=render_card_html(card, for_print=True), base_url=None).write_pdf()
    return document


def _md(value: Any) -> str:
    text = _number(value) if not isinstance(value, str) else value
    return text.replace("|", "\\|").replace("\n", " ").replace("<", "&lt;")


def _md_list(items: Sequence[Any]) -> list[str]:
    return [f"- {_md(item)}" for item in items] or ["- (none recorded)"]


def render_card_markdown(card: Mapping[str, Any]) -> str:
    system, model = card["system"], card["model"]
    lines = [f"# Model card: {_md(system['name'])} / {_md(model['ref'])}", ""]
    lines += [f"Generated {card['generated_at']} by Assay {card['assay_version']} from the governance store.", ""]
    for key, title in sections(card):
        lines += [f"## {title}", ""]
        lines += _MARKDOWN[key](card)
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _md_details(card: Mapping[str, Any]) -> list[str]:
    system, model = card["system"], card["model"]
    rows = [
        ("System", system["name"]),
        ("Purpose", system["purpose"] or "(not recorded)"),
        ("Model version", model["ref"]),
        ("Framework", model["framework"] or "(not recorded)"),
        ("Stage", model["stage"]),
        ("Artifact SHA-256", model["artifact_sha256"] or "(not registered)"),
        ("Lineage", " ← ".join(model["lineage"])),
        ("Owner", system["owner"] or "(not recorded)"),
        ("EU AI Act category", system["category_text"]),
        ("Life cycle stage", system["lifecycle_stage"]),
        ("Registered", model["created_at"]),
    ]
    return ["| field | value |", "|---|---|", *(f"| {k} | {_md(v)} |" for k, v in rows)]


def _md_intended(card: Mapping[str, Any]) -> list[str]:
    system = card["system"]
    out = ["Intended uses:", *_md_list(system["intended_uses"]), "", "Out-of-scope uses:"]
    out += _md_list(system["out_of_scope_uses"])
    out += ["", "People affected:", *_md_list(system["affected_people"]), ""]
    out += [f"Deployment context: {_md(system['deployment_context'] or '(not recorded)')}"]
    out += [f"Human oversight: {_md(system['oversight'])}"]
    if card.get("contested"):
        out += ["", f"Contested decisions: {_md(card['contested']['summary'])}."]
    return out


def _md_factors(card: Mapping[str, Any]) -> list[str]:
    evaluation = card.get("evaluation")
    if not evaluation:
        return ["No assessment is recorded for this model version, so no factors were evaluated."]
    return [f"Facets evaluated (facet d against all other rows): {', '.join(evaluation['factors'])}."]


def _md_metrics(card: Mapping[str, Any]) -> list[str]:
    evaluation = card.get("evaluation")
    if not evaluation:
        return ["No assessment is recorded for this model version."]
    header = "| facet d | n_d | " + " | ".join(KEY_METRICS) + " |"
    out = [f"From assessment {evaluation['assessment_id']} ({evaluation['created_at']}); label "
           f"{_md(evaluation['label'])}; {evaluation['confidence']} intervals in brackets.", "",
           header, "|" + "---|" * (len(KEY_METRICS) + 2)]  # fmt: skip
    for row in _metric_rows(card):
        cells = []
        for name in KEY_METRICS:
            cell = row["cells"][name]
            if not cell["present"]:
                cells.append("")
            elif cell["error"]:
                cells.append("n/a")
            else:
                cells.append(f"{_number(cell['value'])} {_interval(cell['ci'])}".strip())
        out.append(f"| {_md(row['label'])} | {row['n_d']:,} | " + " | ".join(cells) + " |")
    out += ["", "| group | " + " | ".join(_RATES) + " | ROC AUC | ECE |", "|" + "---|" * (len(_RATES) + 3)]
    for group in _performance_rows(card):
        values = [_number(group["metrics"].get(r)) for r in _RATES]
        score = group["score"]
        values += [_number(score.get("roc_auc")), _number(score.get("ece"))]
        out.append(f"| {_md(group['label'])} | " + " | ".join(values) + " |")
    return out


def _md_dataset(item: Mapping[str, Any] | None, missing: str) -> list[str]:
    if not item:
        return [missing]
    rows = [
        ("Dataset version", item["ref"]),
        ("Source", item["source"] or "(not recorded)"),
        ("Licence", item["licence"] or "(not recorded)"),
        ("Collection method", item["collection_method"] or "(not recorded)"),
        ("Period", item["period"] or "(not recorded)"),
        ("Rows", item["row_count"]),
        ("Fingerprint", item["fingerprint"] or "(none)"),
        ("Personal data", ", ".join(item["personal_data_categories"]) if item["pii"] else "none declared"),
    ]
    return ["| field | value |", "|---|---|", *(f"| {k} | {_md(v)} |" for k, v in rows)]


def _md_risks(card: Mapping[str, Any]) -> list[str]:
    if not card["risks"]:
        return ["No risks are recorded for this system."]
    out = ["| id | risk | level | treatment | residual | status |", "|---|---|---|---|---|---|"]
    for r in card["risks"]:
        out.append(
            f"| {r['id']} | {_md(r['title'])} | {r['level']} | {r['treatment']} | {r['residual_level'] or '–'} "
            f"| {r['status']} |"
        )
    return out


def _md_caveats(card: Mapping[str, Any]) -> list[str]:
    return _md_list(card["caveats"])


def _md_approvals(card: Mapping[str, Any]) -> list[str]:
    if not card["approvals"]:
        return ["No approval has been requested for this model version."]
    out = ["| id | stage | status | requested by | decisions | stale |", "|---|---|---|---|---|---|"]
    for a in card["approvals"]:
        decisions = "; ".join(f"{d['approver']}: {d['decision']}" for d in a["decisions"]) or "–"
        out.append(
            f"| {a['id']} | {a['stage']} | {a['status']} | {_md(a['requested_by'])} | {_md(decisions)} "
            f"| {'yes' if a['stale'] else 'no'} |"
        )
    return out


def _md_gates(card: Mapping[str, Any]) -> list[str]:
    if not card["gates"]:
        return ["No policy gate has been evaluated for this model version."]
    out = ["| run | policy | stage | outcome | passed | failed | waived | at |", "|---|---|---|---|---|---|---|---|"]
    for g in card["gates"]:
        out.append(
            f"| {g['id']} | {_md(g['policy'])} | {g['stage']} | {g['outcome']} | {g['passed']} | {g['failed']} "
            f"| {g['waived']} | {g['created_at']} |"
        )
    return out


def _md_disclosure(card: Mapping[str, Any]) -> list[str]:
    return [f"> {_md(card['system']['disclosure'])}"]


def _md_foundation(card: Mapping[str, Any]) -> list[str]:
    found = (card.get("generative") or {}).get("foundation_model") or {}
    rows = [
        ("Foundation model", found.get("foundation_model")),
        ("Provider", found.get("provider")),
        ("Licence", found.get("licence")),
        ("Source", found.get("source")),
        ("Terms of use", found.get("terms")),
    ]
    return ["| field | value |", "|---|---|", *(f"| {k} | {_md(v or '(not recorded)')} |" for k, v in rows)]


def _md_genai(card: Mapping[str, Any]) -> list[str]:
    evaluation = (card.get("generative") or {}).get("evaluation")
    if not evaluation:
        return ["No generative evaluation is recorded for this model version."]
    target = evaluation.get("target") or {}
    tests = evaluation.get("test_set") or {}
    guard = f"; through guardrail policy {evaluation['guardrail']}" if evaluation.get("guardrail") else ""
    out = [
        f"From evaluation {evaluation['assessment_id']} ({evaluation['created_at']}, {evaluation.get('status')}) of "
        f"{_md(str(target.get('model') or target.get('kind') or 'the target'))} on "
        f"{_md(str(tests.get('source') or 'a test set'))} ({tests.get('items', '?')} items){guard}; intervals in "
        "brackets.",
        "",
    ]
    table = genai_table(card)
    if table["metrics"]:
        out += ["| slice | " + " | ".join(table["metrics"]) + " |", "|" + "---|" * (len(table["metrics"]) + 1)]
        out += [f"| {_md(row['slice'])} | " + " | ".join(row["cells"]) + " |" for row in table["rows"]]
    for item in evaluation.get("unmeasured", []):
        out.append(f"- {item['metric']} not measured: {_md(item['reason'])}")
    if evaluation.get("red_team"):
        out += ["", "Red-team attack success by category:", "",
                "| category | attempts | successes | rate | interval |", "|---|---|---|---|---|"]  # fmt: skip
        for row in evaluation["red_team"]:
            out.append(
                f"| {_md(row['category'])} | {_number(row['attempts'])} | {_number(row['successes'])} | "
                f"{_number(row['rate'])} | [{_number(row['low'])}, {_number(row['high'])}] |"
            )
    return out


def _md_guardrails(card: Mapping[str, Any]) -> list[str]:
    policies = (card.get("generative") or {}).get("guardrails") or []
    if not policies:
        return ["No guardrail policy is bound to this system."]
    out = ["| policy | version | checks | disclosure required | SHA-256 | since |", "|---|---|---|---|---|---|"]
    for p in policies:
        out.append(
            f"| {_md(p['name'])} | {p['version']} | {_md(', '.join(p['sections']) or 'none')} | "
            f"{'yes' if p['disclosure_required'] else 'no'} | {p['sha256'][:12]} | {p['created_at']} |"
        )
    return out


_MARKDOWN: Final = {
    "details": _md_details,
    "intended_use": _md_intended,
    "factors": _md_factors,
    "metrics": _md_metrics,
    "training_data": lambda card: _md_dataset(card["training_data"], "No training dataset version is recorded."),
    "evaluation_data": lambda card: _md_dataset(
        (card.get("evaluation") or {}).get("dataset"), "No evaluation dataset version is recorded."
    ),
    "risks": _md_risks,
    "caveats": _md_caveats,
    "approvals": _md_approvals,
    "gates": _md_gates,
    "disclosure": _md_disclosure,
    "foundation_model": _md_foundation,
    "genai_evaluation": _md_genai,
    "guardrails": _md_guardrails,
}


# -- exports ------------------------------------------------------------------------------------------------

_RISK_RATING: Final = {"high": "High", "limited": "Medium", "minimal": "Low", "prohibited": "High"}


def _metric_groups(card: Mapping[str, Any]) -> list[dict[str, Any]]:
    groups = []
    for row in _metric_rows(card):
        data = []
        for name in KEY_METRICS:
            cell = row["cells"][name]
            value = cell["value"]
            if not cell["present"] or cell["error"] or not isinstance(value, int | float) or not math.isfinite(value):
                continue
            entry: dict[str, Any] = {"name": name, "type": "number", "value": float(value)}
            if cell["ci"]:
                entry["notes"] = f"interval {_interval(cell['ci'])}"
            data.append(entry)
        if data:
            groups.append({"name": _clip(f"bias: {row['label']}", 63), "metric_data": data})
    for group in _performance_rows(card):
        data = [
            {"name": r, "type": "number", "value": float(v)}
            for r in _RATES
            if isinstance((v := group["metrics"].get(r)), int | float) and math.isfinite(v)
        ]
        if data:
            groups.append({"name": _clip(f"performance: {group['label']}", 63), "metric_data": data})
    return groups


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _sagemaker_name(*parts: str) -> str:
    name = re.sub(r"[^A-Za-z0-9]+", "-", "-".join(parts)).strip("-")
    return name[:63].rstrip("-") or "model"


@cache
def _sagemaker_schema() -> dict[str, Any]:
    text = (resources.files("assay.reports") / "schemas" / "sagemaker-model-card.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def validate_sagemaker_model_card(content: Mapping[str, Any]) -> None:
    """Check SageMaker Model Card content against the field definitions Assay ships; ValueError naming the field."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(_sagemaker_schema())
    errors = sorted(validator.iter_errors(content), key=lambda e: list(e.absolute_path))
    if errors:
        where = "/".join(str(p) for p in errors[0].absolute_path) or "(top)"
        raise ValueError(f"SageMaker model card field {where}: {errors[0].message}")


def _clipped(value: Any) -> Any:
    """Every string within SageMaker's limits (2048 for free text; the schema checks the tighter ones)."""
    if isinstance(value, str):
        return _clip(value, 1024)
    if isinstance(value, dict):
        return {
            k: (_clip(v, 2048) if k in _LONG_TEXT and isinstance(v, str) else _clipped(v)) for k, v in value.items()
        }
    if isinstance(value, list):
        return [_clipped(v) for v in value]
    return value


_LONG_TEXT: Final = {
    "purpose_of_model", "intended_uses", "factors_affecting_model_efficiency", "explanations_for_risk_rating",
    "business_problem", "business_stakeholders", "ethical_considerations", "caveats_and_recommendations",
    "evaluation_observation",
}  # fmt: skip


def to_sagemaker_model_card(card: Mapping[str, Any]) -> dict[str, Any]:
    """The card as SageMaker Model Card content (its JSON schema's snake_case fields), validated."""
    content = _clipped(_sagemaker_content(card))
    validate_sagemaker_model_card(content)
    return dict(content)


def _sagemaker_content(card: Mapping[str, Any]) -> dict[str, Any]:
    system, model = card["system"], card["model"]
    content: dict[str, Any] = {
        "model_overview": {
            "model_name": _sagemaker_name(system["name"], model["name"], model["version"]),
            "model_description": system["purpose"] or model["description"] or system["name"],
            "model_version": float(model["sequence"]),
            "problem_type": "Binary Classification",
            "algorithm_type": model["framework"] or "unknown",
            "model_creator": system["owner"] or "unknown",
            "model_owner": system["owner"] or "unknown",
            "model_artifact": [model["artifact_sha256"]] if model["artifact_sha256"] else [],
        },
        "intended_uses": {
            "purpose_of_model": system["purpose"] or "",
            "intended_uses": _uses(system),
            "factors_affecting_model_efficiency": ", ".join((card.get("evaluation") or {}).get("factors", [])),
            "risk_rating": _RISK_RATING[system["eu_ai_act_category"]],
            "explanations_for_risk_rating": system["category_text"],
        },
        "business_details": {
            "business_problem": system["purpose"] or "",
            "business_stakeholders": system["owner"] or "",
        },
        "additional_information": {
            "ethical_considerations": "; ".join(
                f"{r['title']} ({r['level']}, {r['treatment']})" for r in card["risks"]
            ),
            "caveats_and_recommendations": "; ".join(card["caveats"]),
            "custom_details": {
                "eu_ai_act_category": system["eu_ai_act_category"],
                "human_oversight": system["oversight"],
                "lifecycle_stage": system["lifecycle_stage"],
                "assay_card_schema": f"{card['schema']}/{card['schema_version']}",
                **_provenance_details(card),
            },
        },
    }
    training = card.get("training_data")
    if training:
        content["training_details"] = {
            "training_observations": f"{training['ref']}: {training['source'] or 'source not recorded'}",
            "training_job_details": {"training_datasets": [training["uri"] or training["ref"]][:15]},
        }
    evaluation = card.get("evaluation")
    if evaluation:
        dataset = evaluation.get("dataset")
        detail: dict[str, Any] = {
            "name": _clip(f"assay assessment {evaluation['assessment_id']}", 63),
            "evaluation_observation": f"label {evaluation['label']}; facets {', '.join(evaluation['factors'])}",
            "metric_groups": _metric_groups(card),
        }
        if dataset:
            detail["datasets"] = [dataset["uri"] or dataset["ref"]]
        content["evaluation_details"] = [detail]
    if card.get("generative"):
        _sagemaker_generative(card, content)
    return content


def _uses(system: Mapping[str, Any]) -> str:
    uses = "; ".join(system["intended_uses"])
    if system.get("out_of_scope_uses"):
        uses += ("; " if uses else "") + "out of scope: " + "; ".join(system["out_of_scope_uses"])
    return uses


_PROVENANCE: Final = (
    ("foundation_model", "foundation_model"), ("provider", "foundation_model_provider"), ("licence", "licence"),
    ("source", "model_source"), ("terms", "terms_of_use"),
)  # fmt: skip


def _provenance_details(card: Mapping[str, Any]) -> dict[str, str]:
    """The model version's licence and provenance as SageMaker custom details (those recorded)."""
    model = card["model"]
    return {key: str(model[field]) for field, key in _PROVENANCE if model.get(field)}


def _score_notes(score: Mapping[str, Any]) -> str:
    interval = _interval([score["low"], score["high"]]) if score.get("low") is not None else ""
    return " ".join(part for part in (f"interval {interval}" if interval else "", f"n={score.get('n')}") if part)


def _score_metric(name: str, score: Mapping[str, Any]) -> dict[str, Any]:
    return {"name": name, "type": "number", "value": float(score["value"]), "notes": _score_notes(score)}


def _sagemaker_generative(card: Mapping[str, Any], content: dict[str, Any]) -> None:
    """A generative system's parts where SageMaker has a place for them: the problem type, the foundation model as
    the algorithm, the disclosure and the guardrail policies as custom details, the newest generative evaluation
    (scores overall and by slice with their intervals, red-team attack success by category) as evaluation details."""
    generative = card["generative"]
    overview, details = content["model_overview"], content["additional_information"]["custom_details"]
    overview["problem_type"] = "Text Generation"
    if card["model"].get("foundation_model"):
        overview["algorithm_type"] = f"foundation model {card['model']['foundation_model']}"
    if generative.get("disclosure"):
        details["genai_disclosure"] = str(generative["disclosure"])
    policies = generative.get("guardrails") or []
    details["guardrail_policies"] = (
        "; ".join(
            f"{p['name']} version {p['version']} ({', '.join(p['sections']) or 'no checks'}; disclosure "
            f"{'required' if p['disclosure_required'] else 'not required'}; sha256 {p['sha256'][:12]})"
            for p in policies
        )
        or "none bound to this system"
    )
    evaluation = generative.get("evaluation")
    if not evaluation:
        return
    scores = evaluation.get("scores", [])
    overall = [_score_metric(s["metric"], s["overall"]) for s in scores]
    groups = [{"name": "generative: overall", "metric_data": overall}] if overall else []
    for key in evaluation.get("slices", []):
        data = [_score_metric(s["metric"], row) for s in scores for row in s["slices"] if row["slice"] == key]
        groups.append({"name": _clip(f"generative: {key}", 63), "metric_data": data})
    red = [
        {"name": f"attack success: {r['category']}", "type": "number", "value": float(r["rate"]),
         "notes": f"{r['successes']} of {r['attempts']} attacks succeeded; interval {_interval([r['low'], r['high']])}"}
        for r in evaluation.get("red_team", [])
        if isinstance(r.get("rate"), int | float)
    ]  # fmt: skip
    if red:
        groups.append({"name": "red team", "metric_data": red})
    target, tests = evaluation.get("target") or {}, evaluation.get("test_set") or {}
    observation = (
        f"generative evaluation {evaluation['assessment_id']} ({evaluation.get('status')}) of "
        f"{target.get('model') or target.get('kind') or 'the model'} on {tests.get('source') or 'a test set'} "
        f"({tests.get('items', '?')} items)"
        + (f" through guardrail policy {evaluation['guardrail']}" if evaluation.get("guardrail") else "")
        + (f"; intervals at confidence {evaluation['confidence']}" if evaluation.get("confidence") else "")
        + "".join(f"; {u['metric']} not measured: {u['reason']}" for u in evaluation.get("unmeasured", []))
    )
    detail: dict[str, Any] = {
        "name": _clip(f"assay genai evaluation {evaluation['assessment_id']}", 63),
        "evaluation_observation": observation,
        "metric_groups": groups,
        "metadata": {"created_at": str(evaluation["created_at"]),
                     "document_sha256": str(evaluation.get("document_sha256") or "")},
    }  # fmt: skip
    if tests.get("source"):
        detail["datasets"] = [str(tests["source"])]
    content.setdefault("evaluation_details", []).append(detail)


#: Assay's licence ids (governance.licences, lower case) -> the Hugging Face Hub's licence identifiers.
_HF_LICENCES: Final = {
    "apache-2.0": "apache-2.0", "mit": "mit", "bsd-2-clause": "bsd-2-clause", "bsd-3-clause": "bsd-3-clause",
    "bsd-3-clause-clear": "bsd-3-clause-clear", "cc0-1.0": "cc0-1.0", "cc-by-4.0": "cc-by-4.0",
    "cc-by-sa-4.0": "cc-by-sa-4.0", "cc-by-nc-4.0": "cc-by-nc-4.0", "cc-by-nc-sa-4.0": "cc-by-nc-sa-4.0",
    "cc-by-nd-4.0": "cc-by-nd-4.0", "cc-by-nc-nd-4.0": "cc-by-nc-nd-4.0", "gpl-3.0-only": "gpl-3.0",
    "gpl-3.0-or-later": "gpl-3.0", "agpl-3.0-only": "agpl-3.0", "odbl-1.0": "odbl",
    "cdla-permissive-2.0": "cdla-permissive-2.0", "openrail-m": "openrail", "llama-3-community": "llama3",
    "gemma": "gemma", "unknown": "unknown",
}  # fmt: skip
_HUB_ID: Final = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")


def _huggingface_licence(licence: Any) -> dict[str, str]:
    """The ``license`` metadata: the Hub's identifier of a licence it lists; ``other`` with ``license_name`` (a
    slug of the licence as recorded) for the rest; nothing when no licence is recorded."""
    text = str(licence or "").strip()
    if not text:
        return {}
    known = _HF_LICENCES.get(text.lower())
    if known is not None:
        return {"license": known}
    return {"license": "other", "license_name": re.sub(r"[^a-z0-9.]+", "-", text.lower()).strip("-") or "other"}


def _huggingface_genai(evaluation: Mapping[str, Any]) -> dict[str, Any]:
    """The newest generative evaluation as a model-index result: each metric overall and by slice, and the red
    team's attack success by category."""
    metrics: list[dict[str, Any]] = []
    for score in evaluation.get("scores", []):
        metrics.append({"type": score["metric"], "value": float(score["overall"]["value"]), "name": score["metric"]})
        metrics += [
            {"type": score["metric"], "value": float(row["value"]), "name": f"{score['metric']} {row['slice']}"}
            for row in score["slices"]
        ]
    metrics += [
        {"type": "attack_success", "value": float(r["rate"]), "name": f"attack success {r['category']}"}
        for r in evaluation.get("red_team", [])
        if isinstance(r.get("rate"), int | float)
    ]
    source = str((evaluation.get("test_set") or {}).get("source") or "generative test set")
    return {
        "task": {"type": "text-generation", "name": "Text generation"},
        "dataset": {"type": source, "name": source},
        "metrics": metrics,
    }


def to_huggingface_card(card: Mapping[str, Any]) -> str:
    """A Hugging Face model card: YAML metadata (model-index with the evaluation results) and Markdown."""
    system, model = card["system"], card["model"]
    evaluation = card.get("evaluation") or {}
    results = []
    if evaluation:
        dataset = evaluation.get("dataset") or {}
        metrics = []
        for row in _metric_rows(card):
            for name in ("DI", "DPPL"):
                cell = row["cells"][name]
                value = cell["value"]
                if cell["present"] and not cell["error"] and isinstance(value, int | float) and math.isfinite(value):
                    metrics.append({"type": name.lower(), "value": float(value), "name": f"{name} {row['label']}"})
        overall = next((g for g in _performance_rows(card) if g["label"] == "all rows"), None)
        if overall and isinstance(overall["metrics"].get("accuracy"), float):
            metrics.append({"type": "accuracy", "value": overall["metrics"]["accuracy"], "name": "accuracy"})
        if metrics:
            results.append(
                {
                    "task": {"type": "tabular-classification", "name": "Binary classification"},
                    "dataset": {
                        "type": dataset.get("ref") or "unregistered",
                        "name": dataset.get("ref") or "evaluation data",
                    },
                    "metrics": metrics,
                }
            )
    generative = card.get("generative")
    task = "text-generation" if generative else "tabular-classification"
    metadata: dict[str, Any] = {
        "library_name": "sklearn" if "scikit" in (model["framework"] or "").lower() else "other",
        "tags": [task, "assay", f"eu-ai-act-{system['eu_ai_act_category']}"],
        "pipeline_tag": task,
        **_huggingface_licence(model.get("licence")),
    }
    foundation = str(model.get("foundation_model") or "")
    if generative and _HUB_ID.fullmatch(foundation):
        metadata["base_model"] = foundation
    if card.get("training_data"):
        metadata["datasets"] = [card["training_data"]["ref"]]
    if generative and generative.get("evaluation"):
        results.append(_huggingface_genai(generative["evaluation"]))
    if results:
        metadata["model-index"] = [{"name": f"{system['name']}/{model['ref']}", "results": results}]
    front = yaml.safe_dump(metadata, sort_keys=False, allow_unicode=True)
    return f"---\n{front}---\n\n{render_card_markdown(card)}"
