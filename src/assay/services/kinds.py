"""The registry of compute kinds: each computation Assay runs, registered once (see :mod:`assay.services.runs`).

Adding a kind takes its module in a sibling package (a frozen options model and a pure compute returning a result
with ``to_dict()``) and one :class:`~assay.services.runs.Kind` entry here. The server's compute routes and jobs,
``workspace.runs.run`` and the command line find it by name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, cast

from assay.checks.options import CHECK_OPTIONS, CheckOptions
from assay.explain.options import ExplanationOptions
from assay.metrics.options import BiasOptions
from assay.mitigate.options import MitigationOptions
from assay.services.compute import Inputs, Kind, Outcome, Target

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


def _drift_outcome(document: Mapping[str, Any]) -> Outcome:
    from assay.checks.drift import outcome

    return cast(Outcome, outcome(document))


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
        reference=name == "leakage",
        baseline=name == "validate",
        route=f"checks/{name}",
        summary=_check_summary,
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
    **{name: check_kind(name) for name in CHECK_OPTIONS},
    # drift compares with raw reference data or with a recorded baseline check's sketches (one of the two)
    "drift": replace(check_kind("drift"), reference="optional", baseline="optional", outcome=_drift_outcome),
}  # fmt: skip
