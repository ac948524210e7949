"""``assay system``, ``assay model``, ``assay dataset`` and ``assay assessment``: the inventory."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from assay.cli._shell import JsonOption, open_workspace, parse_date, print_json, print_record, table
from assay.governance.records import (
    ANNEX_III_AREAS,
    EU_AI_ACT_CATEGORIES,
    LIFECYCLE_STAGES,
    MODEL_STAGES,
    OVERSIGHT_MODES,
)

if TYPE_CHECKING:
    from assay.services.registry import DatasetInfo

__all__ = ["register"]

system_app = typer.Typer(help="AI systems: create, list, show, update.", no_args_is_help=True)
model_app = typer.Typer(help="Models and their versions.", no_args_is_help=True)
dataset_app = typer.Typer(
    help="Datasets and their versions, each dataset owned by an AI system and shared with others.", no_args_is_help=True
)
assessment_app = typer.Typer(help="Assessments recorded against a system.", no_args_is_help=True)

_Stage = Annotated[
    str | None, typer.Option("--stage", help=f"Life cycle stage (ISO/IEC 22989): {', '.join(LIFECYCLE_STAGES)}.")
]
_Category = Annotated[
    str | None, typer.Option("--eu-category", help=f"EU AI Act category: {', '.join(EU_AI_ACT_CATEGORIES)}.")
]
_Area = Annotated[
    int | None,
    typer.Option(
        "--annex-iii-area",
        help="Annex III area of a high-risk system: "
        + "; ".join(f"{number} {title}" for number, title in ANNEX_III_AREAS.items()),
    ),
]
_Oversight = Annotated[str | None, typer.Option(help=f"Human oversight: {', '.join(OVERSIGHT_MODES)}.")]
_Items = Annotated[list[str] | None, typer.Option(show_default=False)]
_Licence = Annotated[
    str | None,
    typer.Option(help="Licence: an SPDX id where one exists (e.g. Apache-2.0, CC-BY-NC-4.0), proprietary or unknown."),
]
_Terms = Annotated[str | None, typer.Option(help="Terms of use beyond the licence.")]
_FoundationModel = Annotated[str | None, typer.Option(help="The foundation model it is or is built on.")]
_Provider = Annotated[str | None, typer.Option(help="Who supplies the foundation model.")]
_ModelSource = Annotated[str | None, typer.Option(help="Provenance: where the model or its weights came from.")]


def _warn_licence(licence: str | None) -> None:
    """Say on stderr that a licence is not one Assay knows (it is kept as written)."""
    from assay.governance.licences import licence_note

    note = licence_note(licence)
    if note is not None:
        typer.echo(f"warning: {note}", err=True)


def _system_fields(**given: Any) -> dict[str, Any]:
    renames = {"stage": "lifecycle_stage", "eu_category": "eu_ai_act_category", "context": "deployment_context"}
    renames |= {"intended_use": "intended_uses", "out_of_scope": "out_of_scope_uses", "affected": "affected_people"}
    return {renames.get(key, key): value for key, value in given.items() if value is not None}


@system_app.command("create")
def system_create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Short unique name (letters, digits, . _ -).")],
    purpose: Annotated[str | None, typer.Option(help="What the system is for.")] = None,
    intended_use: Annotated[list[str] | None, typer.Option(help="An intended use. Repeatable.")] = None,
    out_of_scope: Annotated[list[str] | None, typer.Option(help="An out-of-scope use. Repeatable.")] = None,
    affected: Annotated[list[str] | None, typer.Option(help="A group of people affected. Repeatable.")] = None,
    context: Annotated[str | None, typer.Option(help="Deployment context.")] = None,
    stage: _Stage = None,
    owner: Annotated[str | None, typer.Option(help="Accountable owner.")] = None,
    eu_category: _Category = None,
    annex_iii_area: _Area = None,
    generative: Annotated[bool | None, typer.Option("--generative", help="A generative-AI system.")] = None,
    disclosure: Annotated[str | None, typer.Option(help="Text disclosed to users of a generative system.")] = None,
    commercial: Annotated[
        bool | None, typer.Option("--commercial", help="Used commercially (non-commercial licences are then flagged).")
    ] = None,
    oversight: _Oversight = None,
    as_json: JsonOption = False,
) -> None:
    """Register an AI system."""
    fields = _system_fields(
        name=name, purpose=purpose, intended_use=intended_use, out_of_scope=out_of_scope, affected=affected,
        context=context, stage=stage, owner=owner, eu_category=eu_category, annex_iii_area=annex_iii_area,
        generative=generative, disclosure=disclosure, commercial=commercial, oversight=oversight,
    )  # fmt: skip
    system = open_workspace(ctx).systems.create(fields)
    print_record(system.state(), title=f"AI system {system.name}", as_json=as_json)


@system_app.command("update")
def system_update(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The system's name.")],
    purpose: Annotated[str | None, typer.Option(help="What the system is for.")] = None,
    intended_use: Annotated[list[str] | None, typer.Option(help="Intended uses (replaces the list).")] = None,
    out_of_scope: Annotated[list[str] | None, typer.Option(help="Out-of-scope uses (replaces the list).")] = None,
    affected: Annotated[list[str] | None, typer.Option(help="People affected (replaces the list).")] = None,
    context: Annotated[str | None, typer.Option(help="Deployment context.")] = None,
    stage: _Stage = None,
    owner: Annotated[str | None, typer.Option(help="Accountable owner.")] = None,
    eu_category: _Category = None,
    annex_iii_area: _Area = None,
    generative: Annotated[bool | None, typer.Option("--generative/--not-generative", show_default=False)] = None,
    disclosure: Annotated[str | None, typer.Option(help="Text disclosed to users of a generative system.")] = None,
    commercial: Annotated[
        bool | None,
        typer.Option("--commercial/--not-commercial", help="Used commercially.", show_default=False),
    ] = None,
    oversight: _Oversight = None,
    as_json: JsonOption = False,
) -> None:
    """Change fields of an AI system (each change is audited)."""
    fields = _system_fields(
        purpose=purpose, intended_use=intended_use, out_of_scope=out_of_scope, affected=affected, context=context,
        stage=stage, owner=owner, eu_category=eu_category, annex_iii_area=annex_iii_area, generative=generative,
        disclosure=disclosure, commercial=commercial, oversight=oversight,
    )  # fmt: skip
    system = open_workspace(ctx).systems.update(name, fields)
    print_record(system.state(), title=f"AI system {system.name}", as_json=as_json)


@system_app.command("list")
def system_list(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List AI systems."""
    rows = [s.state() for s in open_workspace(ctx).systems.list()]
    columns = ["name", "eu_ai_act_category", "annex_iii_area", "lifecycle_stage", "owner", "oversight", "generative"]
    table(rows, columns, title="AI systems", as_json=as_json)


@system_app.command("show")
def system_show(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="The system's name.")], as_json: JsonOption = False
) -> None:
    """Show an AI system."""
    system = open_workspace(ctx).systems.get(name)
    print_record(system.state(), title=f"AI system {system.name}", as_json=as_json)


@model_app.command("register")
def model_register(
    ctx: typer.Context,
    system: Annotated[str, typer.Argument(help="The AI system.")],
    ref: Annotated[str, typer.Argument(help="MODEL@VERSION (the model is created with its first version).")],
    artifact: Annotated[
        Path | None, typer.Option(help="Model file: copied into the artifact store, stored by SHA-256.")
    ] = None,
    artifact_sha256: Annotated[str | None, typer.Option(help="SHA-256 of a model file kept elsewhere.")] = None,
    framework: Annotated[str | None, typer.Option(help="e.g. scikit-learn 1.7.")] = None,
    training_data: Annotated[str | None, typer.Option(help="Training dataset version, DATASET@VERSION.")] = None,
    parent: Annotated[str | None, typer.Option(help="The version this one derives from (VERSION or MODEL@V).")] = None,
    stage: Annotated[str | None, typer.Option(help=f"Stage: {', '.join(MODEL_STAGES)}.")] = None,
    description: Annotated[str | None, typer.Option(help="Description of the model (first version only).")] = None,
    licence: _Licence = None,
    source: _ModelSource = None,
    terms: _Terms = None,
    foundation_model: _FoundationModel = None,
    provider: _Provider = None,
    as_json: JsonOption = False,
) -> None:
    """Register a model version, with its licence and provenance."""
    from assay.services._lookup import split_ref

    model, version = split_ref(ref, "model version")
    given = {
        "model": model, "version": version, "artifact_sha256": artifact_sha256, "framework": framework,
        "training_dataset": training_data, "parent": parent, "stage": stage, "description": description,
        "licence": licence, "source": source, "terms": terms, "foundation_model": foundation_model,
        "provider": provider,
    }  # fmt: skip
    fields = {key: value for key, value in given.items() if value is not None}
    _warn_licence(licence)
    registered = open_workspace(ctx).models.register_version(system, fields, artifact=artifact)
    print_record(registered.state(), title=f"model version {ref}", as_json=as_json)


@model_app.command("list")
def model_list(
    ctx: typer.Context, system: Annotated[str, typer.Argument(help="The AI system.")], as_json: JsonOption = False
) -> None:
    """List the model versions of a system."""
    rows = [
        {"model": model.name, **version.state()} for model, version in open_workspace(ctx).models.list_versions(system)
    ]
    columns = ["model", "version", "stage", "framework", "licence", "foundation_model", "artifact_sha256", "parent_id"]
    table(rows, columns, as_json=as_json)


@model_app.command("show")
def model_show(
    ctx: typer.Context,
    system: Annotated[str, typer.Argument(help="The AI system.")],
    ref: Annotated[str, typer.Argument(help="MODEL@VERSION.")],
    as_json: JsonOption = False,
) -> None:
    """Show a model version and its lineage (newest first)."""
    chain = open_workspace(ctx).models.lineage(system, ref)
    record = {**chain[0].state(), "lineage": [v.version for v in chain]}
    print_record(record, title=f"model version {ref}", as_json=as_json)


@model_app.command("update")
def model_update(
    ctx: typer.Context,
    system: Annotated[str, typer.Argument(help="The AI system.")],
    ref: Annotated[str, typer.Argument(help="MODEL@VERSION.")],
    framework: Annotated[str | None, typer.Option(help="e.g. scikit-learn 1.7.")] = None,
    training_data: Annotated[str | None, typer.Option(help="Training dataset version, DATASET@VERSION.")] = None,
    licence: _Licence = None,
    source: _ModelSource = None,
    terms: _Terms = None,
    foundation_model: _FoundationModel = None,
    provider: _Provider = None,
    as_json: JsonOption = False,
) -> None:
    """Change a model version's framework, training data, licence or provenance (its approvals become stale)."""
    given = {
        "framework": framework, "training_dataset": training_data, "licence": licence, "source": source,
        "terms": terms, "foundation_model": foundation_model, "provider": provider,
    }  # fmt: skip
    fields = {key: value for key, value in given.items() if value is not None}
    _warn_licence(licence)
    updated = open_workspace(ctx).models.update_version(system, ref, fields)
    print_record(updated.state(), title=f"model version {ref}", as_json=as_json)


@model_app.command("stage")
def model_stage(
    ctx: typer.Context,
    system: Annotated[str, typer.Argument(help="The AI system.")],
    ref: Annotated[str, typer.Argument(help="MODEL@VERSION.")],
    stage: Annotated[str, typer.Argument(help="development, staging or retired (production needs an approval).")],
    reason: Annotated[str, typer.Option(help="Why.")] = "",
) -> None:
    """Move a model version to another stage."""
    version = open_workspace(ctx).models.set_stage(system, ref, stage, reason=reason)
    typer.echo(f"{ref} is now in {version.stage}")


@model_app.command("rollback")
def model_rollback(
    ctx: typer.Context,
    system: Annotated[str, typer.Argument(help="The AI system.")],
    reason: Annotated[str, typer.Option(help="Why (required; kept in the audit log).")],
    model: Annotated[
        str | None, typer.Option(help="The model, when the system has several in production.", show_default=False)
    ] = None,
) -> None:
    """Move production back to the previous approved version (an approver decides; the current one goes to staging)."""
    version = open_workspace(ctx).models.rollback(system, reason=reason, model=model)
    typer.echo(f"{system}: version {version.version} is in production again")


@model_app.command("pause")
def model_pause(
    ctx: typer.Context,
    system: Annotated[str, typer.Argument(help="The AI system.")],
    ref: Annotated[str, typer.Argument(help="MODEL@VERSION.")],
    reason: Annotated[str, typer.Option(help="Why (required; kept in the audit log and announced).")],
    fallback: Annotated[str, typer.Option(help="The manual path services take while it is paused.")] = "",
) -> None:
    """The kill switch: pause a model version (an overseer). Review routing answers "paused" with the fallback and
    capture reports it, until it is resumed; announced on the channels of the version's monitors."""
    pause = open_workspace(ctx).review.pause(system, ref, reason=reason, fallback=fallback)
    typer.echo(f"{system} {ref} is paused by {pause['paused_by']}")


@model_app.command("resume")
def model_resume(
    ctx: typer.Context,
    system: Annotated[str, typer.Argument(help="The AI system.")],
    ref: Annotated[str, typer.Argument(help="MODEL@VERSION.")],
    reason: Annotated[str, typer.Option(help="Why (required; kept in the audit log and announced).")],
) -> None:
    """Resume a paused model version (an overseer)."""
    pause = open_workspace(ctx).review.resume(system, ref, reason=reason)
    typer.echo(f"{system} {ref} runs again (resumed by {pause['resumed_by']})")


@model_app.command("pauses")
def model_pauses(
    ctx: typer.Context,
    system: Annotated[str, typer.Argument(help="The AI system.")],
    active: Annotated[bool, typer.Option("--active", help="Only the pauses in force.")] = False,
    as_json: JsonOption = False,
) -> None:
    """The pauses of a system's model versions, newest first."""
    rows = open_workspace(ctx).review.pauses(system, active=True if active else None)
    if as_json:
        print_json(rows)
        return
    table(rows, ["model_version", "active", "reason", "fallback", "paused_by", "paused_at", "resumed_by",
                 "resumed_at"], title=f"{system}: pauses")  # fmt: skip


def _period(text: str | None) -> tuple[Any, Any]:
    if text is None:
        return None, None
    start, sep, end = text.partition("..")
    if not sep:
        return parse_date(text, "--period"), None
    return parse_date(start or None, "--period"), parse_date(end or None, "--period")


@dataset_app.command("register")
def dataset_register(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="DATASET@VERSION (the dataset is created with its first version).")],
    system: Annotated[
        str,
        typer.Option(
            "--system", help="The AI system that owns the dataset (its owners may change it; required, every version)."
        ),
    ],
    file: Annotated[
        Path | None, typer.Option(help="CSV or Parquet file: fingerprint, columns and rows are read from it.")
    ] = None,
    copy: Annotated[bool, typer.Option(help="Keep a copy of --file in the artifact store.")] = False,
    uri: Annotated[str | None, typer.Option(help="Where the data lives.")] = None,
    source: Annotated[str | None, typer.Option(help="Provenance: where it came from.")] = None,
    licence: _Licence = None,
    terms: _Terms = None,
    collection_method: Annotated[str | None, typer.Option(help="Provenance: how it was collected.")] = None,
    period: Annotated[str | None, typer.Option(help="Period covered: START..END (YYYY-MM-DD).")] = None,
    pii: Annotated[bool, typer.Option(help="It holds personal data.")] = False,
    personal_data: Annotated[list[str] | None, typer.Option(help="A personal-data category. Repeatable.")] = None,
    scan_pii: Annotated[
        bool,
        typer.Option(
            "--scan-pii", help="Scan --file for personal data (offline) and set the PII flag and categories from it."
        ),
    ] = False,
    parent: Annotated[
        list[str] | None, typer.Option(help="Version it derives from, DATASET@VERSION. Repeatable.")
    ] = None,
    description: Annotated[str | None, typer.Option(help="Description (first version only).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Register a dataset version with its provenance, in a dataset owned by --system."""
    from assay.services._lookup import split_ref

    name, version = split_ref(ref, "dataset version")
    start, end = _period(period)
    given = {
        "dataset": name, "version": version, "uri": uri, "source": source, "licence": licence, "terms": terms,
        "collection_method": collection_method, "period_start": start, "period_end": end, "pii": pii or None,
        "personal_data_categories": personal_data, "parents": parent, "description": description,
    }  # fmt: skip
    fields = {key: value for key, value in given.items() if value is not None}
    _warn_licence(licence)
    registered = open_workspace(ctx).datasets.register_version(
        fields, system=system, file=file, copy=copy, scan_pii=scan_pii
    )
    print_record(registered.state(), title=f"dataset version {ref}", as_json=as_json)


@dataset_app.command("update")
def dataset_update(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="DATASET@VERSION.")],
    uri: Annotated[str | None, typer.Option(help="Where the data lives.")] = None,
    source: Annotated[str | None, typer.Option(help="Provenance: where it came from.")] = None,
    licence: _Licence = None,
    terms: _Terms = None,
    collection_method: Annotated[str | None, typer.Option(help="Provenance: how it was collected.")] = None,
    period: Annotated[str | None, typer.Option(help="Period covered: START..END (YYYY-MM-DD).")] = None,
    pii: Annotated[
        bool | None, typer.Option("--pii/--no-pii", help="It holds personal data.", show_default=False)
    ] = None,
    personal_data: Annotated[
        list[str] | None, typer.Option(help="Personal-data categories (replaces the list). Repeatable.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Change a dataset version's provenance, location or personal-data fields."""
    start, end = _period(period)
    given = {
        "uri": uri, "source": source, "licence": licence, "terms": terms, "collection_method": collection_method,
        "period_start": start, "period_end": end, "pii": pii, "personal_data_categories": personal_data,
    }  # fmt: skip
    fields = {key: value for key, value in given.items() if value is not None}
    _warn_licence(licence)
    updated = open_workspace(ctx).datasets.update_version(ref, fields)
    print_record(updated.state(), title=f"dataset version {ref}", as_json=as_json)


@dataset_app.command("list")
def dataset_list(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List dataset versions, with the system that owns each dataset and those it is shared with."""
    datasets = open_workspace(ctx).datasets
    owners = {info.dataset.name: info for info in datasets.list()}
    rows = [
        {"dataset": d.name, "system": owners[d.name].system, "shared_with": ", ".join(owners[d.name].shared_with),
         **v.state()}
        for d, v in datasets.list_versions()
    ]  # fmt: skip
    columns = ["dataset", "version", "system", "shared_with", "row_count", "source", "licence", "pii", "fingerprint"]
    table(rows, columns, as_json=as_json)


@dataset_app.command("show")
def dataset_show(
    ctx: typer.Context, ref: Annotated[str, typer.Argument(help="DATASET@VERSION.")], as_json: JsonOption = False
) -> None:
    """Show a dataset version, with the system that owns the dataset and those it is shared with."""
    datasets = open_workspace(ctx).datasets
    version = datasets.get_version(ref)
    info = datasets.get(ref.partition("@")[0])
    record = {**version.state(), "system": info.system, "shared_with": list(info.shared_with)}
    print_record(record, title=f"dataset version {ref}", as_json=as_json)


def _print_dataset(info: DatasetInfo, as_json: bool) -> None:
    print_record(info.to_dict(), title=f"dataset {info.dataset.name}", as_json=as_json)


@dataset_app.command("share")
def dataset_share(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The dataset (all its versions).")],
    system: Annotated[str, typer.Option("--with", help="The AI system to share it with.")],
    as_json: JsonOption = False,
) -> None:
    """Share a dataset with another AI system: its members may read it and use it in the system's records."""
    _print_dataset(open_workspace(ctx).datasets.share(name, system), as_json)


@dataset_app.command("unshare")
def dataset_unshare(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The dataset.")],
    system: Annotated[str, typer.Option("--with", help="The AI system to stop sharing it with.")],
    as_json: JsonOption = False,
) -> None:
    """Stop sharing a dataset with an AI system (the records it made keep naming the versions they used)."""
    _print_dataset(open_workspace(ctx).datasets.unshare(name, system), as_json)


@dataset_app.command("assign")
def dataset_assign(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The dataset.")],
    system: Annotated[str, typer.Option("--system", help="The AI system that owns it from now on.")],
    as_json: JsonOption = False,
) -> None:
    """Move a dataset to another owning AI system (e.g. from unassigned-datasets after the upgrade)."""
    _print_dataset(open_workspace(ctx).datasets.assign(name, system), as_json)


@assessment_app.command("list")
def assessment_list(
    ctx: typer.Context, system: Annotated[str, typer.Argument(help="The AI system.")], as_json: JsonOption = False
) -> None:
    """List the assessments recorded for a system."""
    rows = [
        {k: v for k, v in a.state().items() if k != "document"} for a in open_workspace(ctx).assessments.list(system)
    ]
    columns = ["id", "kind", "model_version_id", "dataset_version_id", "created_by", "created_at", "document_sha256"]
    table(rows, columns, title=f"Assessments of {system}", as_json=as_json)


@assessment_app.command("show")
def assessment_show(
    ctx: typer.Context,
    system: Annotated[str, typer.Argument(help="The AI system.")],
    assessment_id: Annotated[int, typer.Argument(help="The assessment's id.")],
    document: Annotated[bool, typer.Option(help="Print the whole result document (JSON).")] = False,
    as_json: JsonOption = False,
) -> None:
    """Show an assessment (its document with --document)."""
    record = open_workspace(ctx).assessments.get(system, assessment_id).state()
    if document:
        print_json(record["document"])
        return
    record.pop("document")
    print_record(record, title=f"assessment {assessment_id}", as_json=as_json)


def register(app: typer.Typer) -> None:
    app.add_typer(system_app, name="system")
    app.add_typer(model_app, name="model")
    app.add_typer(dataset_app, name="dataset")
    app.add_typer(assessment_app, name="assessment")
