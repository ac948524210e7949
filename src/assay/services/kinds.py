"""The registry of compute kinds: each computation Assay runs, registered once (see :mod:`assay.services.runs`).

Adding a kind takes its module in a sibling package (a frozen options model and a pure compute returning a result
with ``to_dict()``) and one :class:`~assay.services.runs.Kind` entry here. The server's compute routes and jobs,
``workspace.runs.run`` and the command line find it by name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, cast

from assay.checks.options import CHECK_OPTIONS, CheckOptions
from assay.errors import InvalidInput
from assay.explain.options import AttributionDriftOptions, ExplanationOptions, StabilityOptions
from assay.frames.options import as_values
from assay.genai.options import EvalOptions
from assay.metrics.options import BiasDriftOptions, BiasOptions, GuardRateOptions, QualityOptions, SatisfactionOptions
from assay.mitigate.options import MitigationOptions
from assay.privacy.options import ExtractionOptions, MembershipOptions, PoisoningOptions
from assay.robustness.options import AdversarialOptions, RobustnessOptions
from assay.services.compute import Inputs, Kind, Metric, Outcome, Target, Violation

if TYPE_CHECKING:
    from assay.services.workspace import Workspace
    from assay.store.models import Assessment

__all__ = ["KINDS", "check_kind"]


def _bias(inputs: Inputs, o: BiasOptions) -> Any:
    from assay.services.assessments import assess

    return assess(
        inputs.data, label=o.label_role(), facets=o.facet_roles(), predicted=o.predicted, score=o.score,
        threshold=o.threshold, group=o.group, intersect=o.intersect, metrics=o.metrics, features=o.features,
        bootstrap=o.bootstrap, confidence=o.confidence, seed=o.seed, min_group_size=o.min_group_size,
        divergence=o.divergence, progress=inputs.progress, model=inputs.model,
        ft_max_rows=o.ft_max_rows, ft_exact=o.ft_exact,
    )  # fmt: skip


def _write_bias(result: Any, folder: Path) -> dict[str, Path]:
    from assay.services.assessments import write_outputs

    return write_outputs(result, folder)


def _explanations(inputs: Inputs, o: ExplanationOptions) -> Any:
    from assay.services.explanations import explain

    return explain(
        inputs.data, inputs.model, label=o.label_role(), facets=o.facet_roles(), rows=o.rows, sample=o.sample,
        background=o.background, method=o.method, pdp=o.pdp, grid_resolution=o.grid_resolution, seed=o.seed,
        progress=inputs.progress,
    )  # fmt: skip


def _write_explanations(result: Any, folder: Path) -> dict[str, Path]:
    from assay.services.explanations import write_explanations

    return write_explanations(result, folder)


def _mitigation(inputs: Inputs, o: MitigationOptions) -> Any:
    from assay.services.mitigation import mitigate

    given = o.model_dump(exclude={"label", "positive", "label_threshold", "facet"})
    return mitigate(
        inputs.data, inputs.model, label=o.label_role(), facet=o.facet.facet(), progress=inputs.progress, **given
    )


def _write_mitigation(result: Any, folder: Path) -> dict[str, Path]:
    from assay.services.mitigation import write_outputs

    return write_outputs(result, folder)


def _record_mitigation(
    ws: Workspace, target: Target, result: Any, document: Mapping[str, Any], paths: Mapping[str, Path]
) -> tuple[Assessment, str]:
    recorded = ws.mitigation.record(
        result, target.system, model_version=target.model_version or "", new_version=target.new_version,
        dataset_version=target.dataset_version, model_file=paths["model"], document=document,
        files={"mitigation.json": paths["mitigation"], "report.html": paths["report"]},
    )  # fmt: skip
    return recorded.assessment, recorded.ref


def _precheck_mitigation(ws: Workspace, target: Target, o: MitigationOptions) -> None:
    ws.mitigation.check_target(
        target.system, model_version=target.model_version or "", new_version=target.new_version, method=o.method
    )


def _baseline_document(inputs: Inputs, *names: str) -> Mapping[str, Any] | None:
    """The baseline's document: the recorded one (a run on registered inputs), or read from the baseline folder (or
    file) given on the command line (``assay run KIND DATA --baseline FOLDER``: its ``NAME.json``)."""
    if inputs.baseline_document is not None or inputs.baseline is None:
        return inputs.baseline_document
    import json

    given = Path(inputs.baseline)
    found = [given] if given.is_file() else [given / name for name in names if (given / name).is_file()]
    if not found:
        raise InvalidInput(
            f"baseline {str(given)!r} holds none of {', '.join(names)}: give the folder a baseline run wrote"
        )
    try:
        document = json.loads(found[0].read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"cannot read the baseline document {str(found[0])!r}: {exc}") from None
    if not isinstance(document, dict):
        raise InvalidInput(f"the baseline document {str(found[0])!r} is not a JSON object")
    return document


def _model_quality(inputs: Inputs, o: QualityOptions) -> Any:
    from assay.metrics.quality import model_quality

    if inputs.progress is not None:
        inputs.progress("measuring model quality")
    return model_quality(
        inputs.data, label=o.label, positive=as_values(o.positive), label_threshold=o.label_threshold,
        predicted=o.predicted, score=o.score, threshold=o.threshold, problem=o.problem,
        baseline=_baseline_document(inputs, "model_quality.json"), min_rows=o.min_rows, tolerance=o.tolerance,
        judge_estimate=o.judge_estimate, bootstrap=o.bootstrap or 0, confidence=o.confidence or 0.95,
        seed=o.seed or 0,
    )  # fmt: skip


def _write_model_quality(result: Any, folder: Path) -> dict[str, Path]:
    from assay.reports.monitoring import write_monitoring

    extra: dict[str, Any] = {"statistics.json": result.statistics}
    if result.constraints is not None:
        extra["constraints.json"] = result.constraints
    if result.to_dict()["baseline"] is not None:
        extra["constraint_violations.json"] = result.constraint_violations()
    return write_monitoring(result.to_dict(), folder, "model_quality", extra)


def _quality_outcome(document: Mapping[str, Any]) -> Outcome:
    from assay.metrics.quality import quality_outcome

    return cast(Outcome, quality_outcome(document))


def _bias_drift(inputs: Inputs, o: BiasDriftOptions) -> Any:
    from assay.metrics.bias_drift import bias_drift

    baseline = _baseline_document(inputs, "assessment.json")
    if baseline is None:
        raise InvalidInput("the bias drift check needs a baseline: a recorded bias assessment (baseline_id)")
    window = _bias(inputs, o).to_dict()
    return bias_drift(window, baseline, band=o.band, min_count=o.min_count)


def _write_violations(name: str) -> Callable[[Any, Path], dict[str, Path]]:
    """The writer of a drift check: its document as ``NAME.json``, Clarify's ``constraint_violations.json`` and the
    report."""

    def write(result: Any, folder: Path) -> dict[str, Path]:
        from assay.reports.monitoring import write_monitoring

        extra = {"constraint_violations.json": result.constraint_violations()}
        return write_monitoring(result.to_dict(), folder, name, extra)

    return write


def _bias_drift_outcome(document: Mapping[str, Any]) -> Outcome:
    from assay.metrics.bias_drift import bias_drift_outcome

    return cast(Outcome, bias_drift_outcome(document))


def _attribution_drift(inputs: Inputs, o: AttributionDriftOptions) -> Any:
    from assay.explain.drift import attribution_drift

    baseline = _baseline_document(inputs, "explanations.json")
    if baseline is None:
        raise InvalidInput("the attribution drift check needs a baseline: a recorded explanation (baseline_id)")
    window = _explanations(inputs, o).to_dict()
    return attribution_drift(window, baseline, threshold=o.threshold, min_rows=o.min_rows)


def _attribution_drift_outcome(document: Mapping[str, Any]) -> Outcome:
    from assay.explain.drift import attribution_drift_outcome

    return cast(Outcome, attribution_drift_outcome(document))


def _satisfaction(inputs: Inputs, o: SatisfactionOptions) -> Any:
    from assay.metrics.satisfaction import satisfaction

    if inputs.progress is not None:
        inputs.progress("measuring satisfaction")
    return satisfaction(inputs.data, baseline=_baseline_document(inputs, "satisfaction.json"), **o.model_dump())


def _satisfaction_outcome(document: Mapping[str, Any]) -> Outcome:
    from assay.metrics.satisfaction import satisfaction_outcome

    return cast(Outcome, satisfaction_outcome(document))


def _guard_block_rate(inputs: Inputs, o: GuardRateOptions) -> Any:
    from assay.metrics.guard_rate import guard_block_rate

    return guard_block_rate(inputs.data, **o.model_dump())


def _guard_rate_outcome(document: Mapping[str, Any]) -> Outcome:
    from assay.metrics.guard_rate import guard_rate_outcome

    return cast(Outcome, guard_rate_outcome(document))


def _monitor_summary(document: Mapping[str, Any]) -> dict[str, Any]:
    violations = document.get("violations") or []
    text = "; ".join(str(v.get("description")) for v in violations[:3]) + (" ..." if len(violations) > 3 else "")
    return {
        "status": document.get("status"),
        "summary": f"{len(violations)} violations" + (f": {text}" if text else ""),
    }


def _check_compute(name: str) -> Any:
    def run(inputs: Inputs, o: CheckOptions) -> Any:
        from assay.services.checks import CHECKS

        arguments = o.arguments()
        if inputs.reference is not None:
            arguments["reference"] = inputs.reference
        if inputs.baseline is not None:
            arguments["baseline_folder"] = inputs.baseline
            arguments["baseline_source"] = inputs.baseline_source
        if inputs.progress is not None:
            inputs.progress(f"checking ({name})")
        return CHECKS[name](inputs.data, **arguments)

    return run


def _write_check(result: Any, folder: Path) -> dict[str, Path]:
    from assay.services.checks import write_check

    return write_check(result, folder)


def _check_summary(document: Mapping[str, Any]) -> dict[str, Any]:
    return {"status": document.get("status"), "summary": document.get("summary")}


_VALIDATE_METRICS = ("completeness", "type_mismatch_share", "unknown_value_share")


def _validate_outcome(document: Mapping[str, Any]) -> Outcome:
    """Data quality as a monitor reads it: Model Monitor's violations, and per feature its completeness, the shares of
    mistyped and unknown values and the drift distance."""
    result = document.get("result") or {}
    violations = [
        Violation(check_type=v["constraint_check_type"], subject=v["feature_name"], description=v["description"],
                  value=None, threshold=None)
        for v in result.get("violations") or []
    ]  # fmt: skip
    metrics: list[Metric] = []
    for feature in result.get("features") or []:
        for name in _VALIDATE_METRICS:
            if isinstance(feature.get(name), int | float):
                metrics.append(Metric(name=name, subject=feature["name"], value=float(feature[name])))
        drift = feature.get("drift") or {}
        if isinstance(drift.get("distance"), int | float):
            metrics.append(Metric(name="baseline_drift", subject=feature["name"], value=float(drift["distance"]),
                                  threshold=drift.get("threshold")))  # fmt: skip
    return Outcome(status="fail" if violations else "pass", violations=violations, metrics=metrics)


def _check_outcome(document: Mapping[str, Any]) -> Outcome:
    """A data check as a monitor reads it: its verdict, and its summary as the one violation when it failed."""
    failed = document.get("status") == "fail"
    check = str(document.get("check", "check"))
    violations = (
        [Violation(check_type=f"{check}_check", subject="", description=str(document.get("summary", "")),
                   value=None, threshold=None)]
        if failed
        else []
    )  # fmt: skip
    return Outcome(status="fail" if failed else "pass", violations=violations, metrics=[])


def _drift_outcome(document: Mapping[str, Any]) -> Outcome:
    from assay.checks.drift import outcome

    return cast(Outcome, outcome(document))


def _membership(inputs: Inputs, o: MembershipOptions) -> Any:
    from assay.privacy.membership import membership_inference

    if inputs.progress is not None:
        inputs.progress("attacking the model (membership inference)")
    label = o.label_role()
    model = inputs.model.with_positive(label.values) if inputs.model is not None else None
    return membership_inference(
        inputs.data, inputs.reference, model, label=label, facet=o.facet, sample_size=o.sample, attack=o.attack,
        max_auc=o.max_auc, bootstrap=o.bootstrap, confidence=o.confidence, min_group_size=o.min_group_size,
        seed=o.seed,
    )  # fmt: skip


def _poisoning(inputs: Inputs, o: PoisoningOptions) -> Any:
    from assay.privacy.poisoning import poisoning_indicators

    if inputs.progress is not None:
        inputs.progress("looking for poisoning indicators")
    return poisoning_indicators(inputs.data, **o.arguments())


def _write_document(name: str) -> Callable[[Any, Path], dict[str, Path]]:
    """The writer of a kind whose only file is its document (``NAME.json``)."""

    def write(result: Any, folder: Path) -> dict[str, Path]:
        import json

        path = folder / f"{name}.json"
        path.write_text(json.dumps(result.to_dict(), indent=2, allow_nan=False) + "\n", encoding="utf-8")
        return {name: path}

    return write


def _privacy_outcome(document: Mapping[str, Any]) -> Outcome:
    from assay.privacy.membership import outcome

    return cast(Outcome, outcome(document))


def _robustness(inputs: Inputs, o: RobustnessOptions) -> Any:
    from assay.services.robustness import robustness

    label = o.label_role()
    model = inputs.model.with_positive(label.values) if inputs.model is not None else None
    return robustness(
        inputs.data, model, label=label, facet=o.facet, corruptions=o.corruptions, severities=o.severities,
        columns=o.columns, immutable=o.immutable, at=o.at, max_accuracy_drop=o.max_accuracy_drop,
        group_tolerance=o.group_tolerance, min_group_size=o.min_group_size, sample_size=o.sample, seed=o.seed,
        per_column=o.per_column, column_severity=o.column_severity, progress=inputs.progress,
    )  # fmt: skip


def _write_robustness(result: Any, folder: Path) -> dict[str, Path]:
    from assay.reports.robustness import write_robustness

    return write_robustness(result.to_dict(), folder)


def _robustness_outcome(document: Mapping[str, Any]) -> Outcome:
    from assay.services.robustness import outcome

    return cast(Outcome, outcome(document))


def _adversarial(inputs: Inputs, o: AdversarialOptions) -> Any:
    from assay.services.adversarial import adversarial

    label = o.label_role()
    model = inputs.model.with_positive(label.values) if inputs.model is not None else None
    return adversarial(
        inputs.data, model, label=label, facet=o.facet, immutable=o.immutable, ranges=o.ranges, attacks=o.attacks,
        max_distance=o.max_distance, max_changes=o.max_changes, max_success=o.max_success, iterations=o.iterations,
        min_confidence=o.min_confidence,
        group_tolerance=o.group_tolerance, alpha=o.alpha, min_group_size=o.min_group_size, confidence=o.confidence,
        sample_size=o.sample, seed=o.seed, progress=inputs.progress,
    )  # fmt: skip


def _write_adversarial(result: Any, folder: Path) -> dict[str, Path]:
    from assay.reports.adversarial import write_adversarial

    return write_adversarial(result.to_dict(), folder)


def _adversarial_outcome(document: Mapping[str, Any]) -> Outcome:
    from assay.services.adversarial import outcome

    return cast(Outcome, outcome(document))


def _stability(inputs: Inputs, o: StabilityOptions) -> Any:
    from assay.services.stability import explanation_stability

    return explanation_stability(
        inputs.data, inputs.model, label=o.label_role(), facet=o.facet, sample_size=o.sample,
        perturbations=o.perturbations, severity=o.severity, swap=o.swap, columns=o.columns, immutable=o.immutable,
        background=o.background, method=o.method, top_k=o.top_k, min_rank_correlation=o.min_rank_correlation,
        group_tolerance=o.group_tolerance, min_group_size=o.min_group_size, bootstrap=o.bootstrap,
        confidence=o.confidence, seed=o.seed, progress=inputs.progress,
    )  # fmt: skip


def _write_stability(result: Any, folder: Path) -> dict[str, Path]:
    from assay.reports.stability import write_stability

    return write_stability(result.to_dict(), folder)


def _stability_outcome(document: Mapping[str, Any]) -> Outcome:
    from assay.services.stability import outcome

    return cast(Outcome, outcome(document))


def _extraction(inputs: Inputs, o: ExtractionOptions) -> Any:
    from assay.frames import Label
    from assay.privacy.extraction import extraction

    label = None if o.label is None else Label(o.label, as_values(o.positive), o.label_threshold)
    model = inputs.model
    if model is not None and label is not None:
        model = model.with_positive(label.values)
    if inputs.progress is not None:
        inputs.progress("extracting the model (queries through its adapter)")
    given = o.arguments()
    for name in ("label", "positive", "label_threshold"):
        given.pop(name)
    return extraction(inputs.data, model, public=inputs.reference, label=label, progress=inputs.progress, **given)


def _extraction_outcome(document: Mapping[str, Any]) -> Outcome:
    from assay.privacy.extraction import outcome

    return cast(Outcome, outcome(document))


def _genai_eval(inputs: Inputs, o: EvalOptions) -> Any:
    from assay.genai.evaluate import evaluate

    return evaluate(
        inputs.data, inputs.model, o, guardrail=inputs.extra.get("guardrail"), progress=inputs.progress,
        registered=bool(inputs.extra.get("registered")), disclosure=inputs.extra.get("disclosure"),
        corpus=inputs.extra.get("corpus"),
    )  # fmt: skip


def _write_genai_eval(result: Any, folder: Path) -> dict[str, Path]:
    from assay.reports.genai_eval import write_genai_eval

    return write_genai_eval(result.to_dict(), folder)


def _guard_service(ws: Workspace, o: EvalOptions) -> Any:
    service = getattr(ws.genai, "guard", None)  # the guardrail policies' service (services/genai/guard.py)
    if service is None:
        raise InvalidInput(f"guardrail {o.guardrail!r}: this Assay has no guardrail policy service (ws.genai.guard)")
    return service


def _precheck_genai_eval(ws: Workspace, target: Target, o: EvalOptions) -> None:
    if o.endpoint is not None:
        raise InvalidInput(
            "a registered evaluation reads its endpoint from the model version's file: register the endpoint file "
            "(kind, url, model, headers_env) as a model version; the endpoint option is for your own test set files"
        )
    if o.guardrail is not None:
        _guard_service(ws, o).policy(o.guardrail, o.guardrail_version)  # NotFound before the job is queued
    if o.disclosure == "system" or o.corpus is not None:
        ws.genai.evaluations.checks(target.system, o)  # no disclosure text, an unknown corpus: refused at once


def _opens_genai_eval(ws: Workspace, target: Target, o: EvalOptions) -> dict[str, Any]:
    opened: dict[str, Any] = {"registered": True}  # the endpoint's headers come only from ASSAY_ENDPOINT_* variables
    if o.guardrail is not None:
        opened["guardrail"] = _guard_service(ws, o).guardrail(o.guardrail, o.guardrail_version)
    return {**opened, **ws.genai.evaluations.checks(target.system, o)}  # the disclosure text, the protected corpus


def check_kind(name: str) -> Kind:
    """The kind of the data check ``name`` (its options model is :data:`assay.checks.options.CHECK_OPTIONS`)."""
    options = CHECK_OPTIONS[name]
    return Kind(
        name=name,
        title=f"the {name} check",
        options=options,
        compute=_check_compute(name),
        write=_write_check,
        schema="assay.data-check",
        reference=True if name == "leakage" else "optional" if name == "label-issues" else False,
        baseline=name == "validate",
        route=f"checks/{name}",
        summary=_check_summary,
        outcome=_validate_outcome if name == "validate" else None if name == "baseline" else _check_outcome,
    )


#: Every compute kind by name (the name of its jobs, too).
KINDS: Final[dict[str, Kind]] = {
    "bias": Kind(
        name="bias", title="the bias assessment", options=BiasOptions, compute=_bias, write=_write_bias,
        schema="assay.assessment", model="optional", route="assessments/run",
    ),
    "explanations": Kind(
        name="explanations", title="the explanation", options=ExplanationOptions, compute=_explanations,
        write=_write_explanations, schema="assay.explanations", model="required", route="explanations",
    ),
    "mitigation": Kind(
        name="mitigation", title="the mitigation", options=MitigationOptions, compute=_mitigation,
        write=_write_mitigation, schema="assay.mitigation", model="required", record=_record_mitigation,
        precheck=_precheck_mitigation, registers_model=True, route="mitigations",
    ),
    "model-quality": Kind(
        name="model-quality", title="the model-quality check", options=QualityOptions, compute=_model_quality,
        write=_write_model_quality, schema="assay.model-quality", baseline="optional", baseline_of=("model-quality",),
        summary=_monitor_summary, outcome=_quality_outcome,
    ),
    "bias-drift": Kind(
        name="bias-drift", title="the bias drift check", options=BiasDriftOptions, compute=_bias_drift,
        write=_write_violations("bias_drift"), schema="assay.bias-drift", model="optional", baseline=True,
        baseline_of=("bias",), summary=_monitor_summary, outcome=_bias_drift_outcome,
    ),
    "attribution-drift": Kind(
        name="attribution-drift", title="the attribution drift check", options=AttributionDriftOptions,
        compute=_attribution_drift, write=_write_violations("attribution_drift"), schema="assay.attribution-drift",
        model="required", baseline=True, baseline_of=("explanations",), summary=_monitor_summary,
        outcome=_attribution_drift_outcome,
    ),
    "satisfaction": Kind(
        name="satisfaction", title="the satisfaction check", options=SatisfactionOptions, compute=_satisfaction,
        write=_write_violations("satisfaction"), schema="assay.satisfaction", baseline="optional",
        baseline_of=("satisfaction",), summary=_monitor_summary, outcome=_satisfaction_outcome,
    ),
    "membership-inference": Kind(
        name="membership-inference", title="the membership inference test", options=MembershipOptions,
        compute=_membership, write=_write_document("membership_inference"), schema="assay.membership-inference",
        model="required", reference=True, summary=_check_summary, outcome=_privacy_outcome,
    ),
    "poisoning": Kind(
        name="poisoning", title="the poisoning indicators", options=PoisoningOptions, compute=_poisoning,
        write=_write_document("poisoning"), schema="assay.poisoning", summary=_check_summary,
        outcome=_check_outcome,
    ),
    "robustness": Kind(
        name="robustness", title="the perturbation robustness suite", options=RobustnessOptions,
        compute=_robustness, write=_write_robustness, schema="assay.robustness", model="required",
        summary=_check_summary, outcome=_robustness_outcome,
    ),
    **{name: check_kind(name) for name in CHECK_OPTIONS},
    # drift compares with raw reference data or with a recorded baseline check's sketches (one of the two)
    "drift": replace(check_kind("drift"), reference="optional", baseline="optional", outcome=_drift_outcome),
    "adversarial": Kind(
        name="adversarial", title="the adversarial robustness test", options=AdversarialOptions,
        compute=_adversarial, write=_write_adversarial, schema="assay.adversarial", model="required",
        summary=_check_summary, outcome=_adversarial_outcome,
    ),
    "explanation-stability": Kind(
        name="explanation-stability", title="the explanation stability test", options=StabilityOptions,
        compute=_stability, write=_write_stability, schema="assay.explanation-stability", model="required",
        summary=_check_summary, outcome=_stability_outcome,
    ),
    # the reference, when given, is the attacker's public data (the rows queried); agreement is judged on the data
    "extraction": Kind(
        name="extraction", title="the model extraction test", options=ExtractionOptions, compute=_extraction,
        write=_write_document("extraction"), schema="assay.extraction", model="required", reference="optional",
        summary=_check_summary, outcome=_extraction_outcome,
    ),
    # a monitor of source guard: a guardrail policy's block rate against a ceiling and the previous window
    "guard-block-rate": Kind(
        name="guard-block-rate", title="the guardrail block-rate check", options=GuardRateOptions,
        compute=_guard_block_rate, write=_write_violations("guard_block_rate"), schema="assay.guard-block-rate",
        summary=_monitor_summary, outcome=_guard_rate_outcome,
    ),
    # the data is a test set in JSON Lines; the model version's stored file describes the endpoint (genai.chat)
    "genai-eval": Kind(
        name="genai-eval", title="the generative evaluation", options=EvalOptions, compute=_genai_eval,
        write=_write_genai_eval, schema="assay.genai-eval", model="file", summary=_check_summary,
        precheck=_precheck_genai_eval, opens=_opens_genai_eval,
    ),
}  # fmt: skip
