"""The compute pages: run a test (`/systems/{s}/run`), follow its job (`/jobs/{id}`), read its result
(`/systems/{s}/assessments/{id}`).

The run page offers every registered compute kind (:data:`assay.services.kinds.KINDS`); its options form is
generated from the kind's options model (:class:`~assay.frames.options.Options`: each field's type, bounds, default
and help), with pickers filled from the store: the dataset and model versions the person may use, the chosen
dataset version's columns and, for a label's positive value and a facet's group, that column's most frequent values
(:meth:`~assay.services.registry.Datasets.column_values`). Changing a picker reloads the form (htmx ``hx-get`` with
``hx-select``), so every state of the form is a URL. The options are validated by the options model, and a refused
form comes back with the values kept and each problem next to its field. See docs/web.md.
"""

from __future__ import annotations

import math
import types
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Annotated, Any, Final, Literal, Union, get_args, get_origin

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from pydantic.fields import FieldInfo
from starlette.concurrency import run_in_threadpool

from assay.errors import AssayError, InvalidInput, NotFound
from assay.frames.options import FacetOption, Options, facet_option
from assay.metrics.options import BiasOptions
from assay.reports.jsonable import jsonable
from assay.server import web
from assay.server.deps import Auth, page_user
from assay.server.format import metric_name, words
from assay.server.ui import FormAuth
from assay.services.access import allowed
from assay.services.compute import Kind, Target
from assay.services.kinds import KINDS

__all__ = ["CONVENTIONAL", "REPORT_CSP", "router"]

router = APIRouter(include_in_schema=False)

# A stored report is a self-contained page with its own inline scripts (Plotly). It is served in a CSP sandbox:
# a unique origin that cannot read the session or call the API, so its scripts run and nothing else does.
REPORT_CSP: Final = (
    "sandbox allow-scripts; default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "img-src data:; frame-ancestors 'self'"
)

_FIRST: Final = ("bias", "explanations", "mitigation")  # the run page lists these first, then the data checks
_FACET_ROWS_MAX: Final = 20
_LIST_MAX: Final = 200


# -- the kinds and their options, in words ---------------------------------------------------------------------------


_ACRONYMS: Final = {"pii ": "PII ", "genai ": "GenAI "}


def _kind_title(kind: Kind) -> str:
    title = kind.title.removeprefix("the ")
    for word, written in _ACRONYMS.items():
        title = title.replace(word, written)
    return title[:1].upper() + title[1:]


def _kind_line(kind: Kind) -> str:
    """The one-line description of a kind: the first paragraph of its options model's docstring."""
    doc = (kind.options.__doc__ or "").strip().split("\n\n")[0]
    return " ".join(doc.split())


def _ordered_kinds() -> list[Kind]:
    from assay.checks.options import CHECK_OPTIONS

    first = [KINDS[name] for name in _FIRST]
    checks = [KINDS[name] for name in KINDS if name in CHECK_OPTIONS and name not in _FIRST]
    rest = sorted((k for k in KINDS.values() if k not in first and k not in checks), key=lambda k: k.name)
    return [*first, *checks, *rest]


def _kind_view(kind: Kind) -> dict[str, Any]:
    return {
        "name": kind.name, "title": _kind_title(kind), "description": _kind_line(kind), "model": kind.model,
        "reference": kind.reference, "baseline": kind.baseline, "registers_model": kind.registers_model,
    }  # fmt: skip


@dataclass(frozen=True)
class OptionField:
    """One option of a kind as the form shows it: its widget (``checkbox``, ``select``, ``multiselect``,
    ``number``, ``text``, ``list``, ``column``, ``columns``, ``positive``, ``facets``, ``facet``), its label, help,
    default, bounds and choices."""

    name: str
    label: str
    widget: str
    help: str
    required: bool
    default: Any = None
    choices: list[tuple[str, str]] = field(default_factory=list)
    attrs: dict[str, str] = field(default_factory=dict)
    item: str = "str"  # the type of a list's items, or of a number (int, float)
    single: bool = False  # a list option that also takes one value as it is (``rows``: N, or these rows)
    reloads: bool = False  # choosing a value reloads the form (the label's values, a facet's values)


def _unwrap(annotation: Any) -> tuple[Any, list[Any], bool]:
    """``annotation`` without ``Annotated`` and ``| None``: (the type, the constraints met on the way, optional)."""
    meta: list[Any] = []
    optional = False
    current = annotation
    while True:
        origin = get_origin(current)
        if origin is Annotated:
            current, *extra = get_args(current)
            meta.extend(extra)
            continue
        if origin in (Union, types.UnionType):
            args = get_args(current)
            rest = [a for a in args if a is not type(None)]
            optional = optional or len(rest) < len(args)
            if len(rest) == 1:
                current = rest[0]
                continue
        return current, meta, optional


def _bounds(meta: Iterable[Any]) -> dict[str, str]:
    found: dict[str, str] = {}
    flat: list[Any] = []
    for item in meta:
        flat.extend(item.metadata if isinstance(item, FieldInfo) else [item])
    for item in flat:
        for attribute, key in (("ge", "min"), ("gt", "min"), ("le", "max"), ("lt", "max")):
            value = getattr(item, attribute, None)
            if isinstance(value, int | float) and not isinstance(value, bool):
                found[key] = f"{value:g}" if isinstance(value, float) else str(value)
    return found


def _label(name: str) -> str:
    words = name.replace("_", " ")
    return words[:1].upper() + words[1:]


def _one_or_list(union: Any) -> Any:
    """``int`` for ``int | list[int]`` (one value or several; the same for float and str), else None."""
    parts = [_unwrap(a)[0] for a in get_args(union)]
    scalars = [p for p in parts if p in (int, float, str)]
    lists = [_unwrap(get_args(p)[0])[0] for p in parts if get_origin(p) is list]
    return scalars[0] if len(parts) == 2 and len(scalars) == 1 and lists == scalars else None


def option_fields(options: type[Options]) -> tuple[list[OptionField], list[str]]:
    """The form's fields of ``options`` and the names of the options the form does not offer (set through the
    API: a mapping such as the adversarial test's ranges)."""
    fields_: list[OptionField] = []
    skipped: list[str] = []
    for name in options.option_names():
        info = options.model_fields[name]
        kind, meta, _ = _unwrap(info.annotation)
        meta = [*info.metadata, *meta]
        required = info.is_required()
        default = None if required else options.default(name)
        common: dict[str, Any] = {"name": name, "label": _label(name), "help": options.help(name),
                                  "required": required, "default": jsonable(default)}  # fmt: skip
        columns = name in options.column_fields
        origin = get_origin(kind)
        if name == "facets":
            fields_.append(OptionField(**common, widget="facets"))
        elif name == "facet" and kind is FacetOption:
            fields_.append(OptionField(**common, widget="facet"))
        elif name == "positive":
            fields_.append(OptionField(**common, widget="positive"))
        elif kind is bool:
            fields_.append(OptionField(**common, widget="checkbox"))
        elif origin is Literal:
            choices = [(str(v), words(v)) for v in get_args(kind)]
            item = "int" if all(isinstance(v, int) for v in get_args(kind)) else "str"
            fields_.append(OptionField(**common, widget="select", choices=choices, item=item))
        elif kind in (int, float):
            attrs = {**_bounds(meta), "step": "1" if kind is int else "any"}
            fields_.append(OptionField(**common, widget="number", attrs=attrs, item=kind.__name__))
        elif kind is str:
            fields_.append(OptionField(**common, widget="column" if columns else "text", reloads=name == "label"))
        elif origin in (Union, types.UnionType) and _one_or_list(kind) is not None:
            item = _one_or_list(kind)
            fields_.append(OptionField(**common, widget="list", item=item.__name__, single=True))
        elif origin is tuple and len(set(get_args(kind))) == 1:
            item, _, _ = _unwrap(get_args(kind)[0])
            fields_.append(OptionField(**common, widget="list", item=getattr(item, "__name__", "str")))
        elif origin is list:
            item, _, _ = _unwrap(get_args(kind)[0])
            if item is str and columns:
                fields_.append(OptionField(**common, widget="columns"))
            elif get_origin(item) is Literal:
                choices = [(str(v), words(v)) for v in get_args(item)]
                fields_.append(OptionField(**common, widget="multiselect", choices=choices))
            elif item in (str, int, float):
                fields_.append(OptionField(**common, widget="list", item=item.__name__))
            else:
                skipped.append(name)
        else:
            skipped.append(name)
    return fields_, skipped


# -- the form's values -----------------------------------------------------------------------------------------------

Given = Mapping[str, list[str]]  # a form or query string: each name with its values


def _given(items: Iterable[tuple[str, Any]]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for key, value in items:
        if isinstance(value, str) and key != "csrf":
            found.setdefault(key, []).append(value[:1000])
    return found


def _one(given: Given, name: str) -> str:
    values = given.get(name) or [""]
    return values[0].strip()


def _number(text: str, item: str, name: str, errors: dict[str, str]) -> int | float | None:
    if text == "":
        return None
    try:
        value = float(text)
    except ValueError:
        errors[name] = f"a number, not {text!r}"
        return None
    if not math.isfinite(value):
        errors[name] = "a finite number"
        return None
    if item == "int":
        if not value.is_integer():
            errors[name] = f"a whole number, not {text!r}"
            return None
        return int(value)
    return value


def _facet_rows(given: Given) -> int:
    try:
        rows = int(_one(given, "facet_rows") or "1")
    except ValueError:
        rows = 1
    if _one(given, "add_facet"):
        rows += 1
    return max(1, min(rows, _FACET_ROWS_MAX))


def _facet_from(given: Given, index: int, errors: dict[str, str], name: str) -> dict[str, Any] | None:
    column = _one(given, f"facet_column_{index}")
    if not column:
        return None
    values = [v for v in given.get(f"facet_values_{index}", []) if v != ""]
    threshold = _number(_one(given, f"facet_threshold_{index}"), "float", f"facet_threshold_{index}", errors)
    if values and threshold is not None:
        errors[f"facet_threshold_{index}"] = "give the group's values or a threshold, not both"
    facet: dict[str, Any] = {"column": column, "values": values or None, "threshold": threshold}
    return facet


def options_from(fields_: Sequence[OptionField], given: Given, *, shown: bool) -> tuple[dict[str, Any], dict[str, str]]:
    """The options a form gave (what was left empty is left out: its default applies) and the problems found
    before the options model is asked (a number that is not one)."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    rows = _facet_rows(given)
    for f in fields_:
        text = _one(given, f.name)
        if f.widget == "checkbox":
            if shown:
                values[f.name] = text not in ("", "0", "false", "off")
        elif f.widget in ("select", "column", "text"):
            if text:
                values[f.name] = int(text) if f.item == "int" and text.lstrip("-").isdigit() else text
        elif f.widget == "number":
            number = _number(text, f.item, f.name, errors)
            if number is not None:
                values[f.name] = number
        elif f.widget in ("multiselect", "columns", "positive"):
            chosen = [v for v in given.get(f.name, []) if v != ""]
            if chosen:
                values[f.name] = chosen
        elif f.widget == "list":
            parts = [p.strip() for p in text.split(",") if p.strip()][:_LIST_MAX]
            if parts:
                items = [_number(p, f.item, f.name, errors) for p in parts] if f.item != "str" else parts
                kept = [i for i in items if i is not None]
                values[f.name] = kept[0] if f.single and len(kept) == 1 else kept
        elif f.widget == "facets":
            facets = [found for i in range(rows) if (found := _facet_from(given, i, errors, f.name)) is not None]
            if facets:
                values[f.name] = facets
        elif f.widget == "facet":
            found = _facet_from(given, 0, errors, f.name)
            if found is not None:
                values[f.name] = found
    return values, errors


def parse_options(kind: Kind, values: Mapping[str, Any], errors: Mapping[str, str]) -> Options:
    """The kind's options from the form's ``values`` (:meth:`Options.parse`); every problem an InvalidInput with
    ``fields`` naming the form's field it concerns."""
    fields_ = dict(errors)
    if fields_:
        raise InvalidInput(f"{kind.title}: " + "; ".join(f"{k}: {v}" for k, v in fields_.items()), fields=fields_)
    try:
        return kind.options.model_validate(dict(values))
    except ValidationError as exc:
        for error in exc.errors():
            loc = [p for p in error["loc"] if isinstance(p, int) or (p.isidentifier() and p[:1].islower())]
            where = _field_of(loc)
            message = error["msg"].removeprefix("Value error, ")
            fields_.setdefault(where, message)
        try:
            kind.options.parse(dict(values), kind.title)
        except InvalidInput as refused:
            raise InvalidInput(str(refused), fields=fields_) from None
        raise  # pragma: no cover - parse refuses what model_validate refused


def _field_of(loc: Sequence[Any]) -> str:
    """The form field of an error's location: a facet's column, values or threshold; else the option."""
    if not loc:
        return "options"
    name = str(loc[0])
    if name == "facets" and len(loc) >= 3 and isinstance(loc[1], int):
        part = str(loc[2])
        return f"facet_{'column' if part == 'column' else 'values' if part == 'values' else 'threshold'}_{loc[1]}"
    if name == "facet" and len(loc) >= 2 and isinstance(loc[1], str):
        part = loc[1]
        return f"facet_{'column' if part == 'column' else 'values' if part == 'values' else 'threshold'}_0"
    return name


# -- the run page ----------------------------------------------------------------------------------------------------


def _usable_datasets(auth: Auth, system: str) -> list[dict[str, Any]]:
    """The dataset versions with a stored copy that the person may read and that ``system`` may use (it owns the
    dataset or it is shared with it): the choices of the dataset pickers."""
    ws, who = auth.ws, auth.principal
    infos = {info.dataset.name: info for info in ws.datasets.list(principal=who)}
    found = []
    for dataset, version in ws.datasets.list_versions(principal=who):
        info = infos.get(dataset.name)
        if info is None or version.artifact_sha256 is None:
            continue
        if info.system != system and system not in info.shared_with:
            continue
        columns = [
            {"name": str(c.get("name")), "type": str(c.get("type", ""))}
            for c in version.columns or []
            if isinstance(c, Mapping)
        ]
        found.append({"ref": f"{dataset.name}@{version.version}", "rows": version.row_count, "columns": columns})
    return found


def _baselines(auth: Auth, system: str, kind: Kind) -> list[tuple[str, str]]:
    from assay.services.runs import is_of_kind

    if not kind.baseline:
        return []
    wanted = kind.baseline_of
    found = []
    for recorded in auth.ws.assessments.list(system):
        if any(is_of_kind(recorded, name) for name in wanted):
            when = recorded.created_at.strftime("%Y-%m-%d %H:%M")
            found.append(
                (str(recorded.id), f"{recorded.id}: {recorded.document.get('check') or recorded.kind} ({when})")
            )
    return found[::-1]


def _value_choices(auth: Auth, ref: str | None, column: str, problems: dict[str, str], name: str) -> list[Any]:
    """The picker of a column's values: (value, "value (count)") for its most frequent values."""
    if not ref or not column:
        return []
    try:
        found = auth.ws.datasets.column_values(ref, column, principal=auth.principal)
    except AssayError as exc:
        problems[name] = str(exc)
        return []
    return [(str(value), f"{value} ({count:,})") for value, count in found]


def _run_context(auth: Auth, system: str, given: Given) -> dict[str, Any]:
    ws, who = auth.ws, auth.principal
    ws.systems.get(system)  # 404 for whoever may not see it
    kinds = _ordered_kinds()
    chosen = KINDS.get(_one(given, "kind")) or KINDS["bias"]
    datasets = _usable_datasets(auth, system)
    refs = [d["ref"] for d in datasets]
    ref = _one(given, "dataset_version")
    if ref not in refs:
        ref = refs[0] if refs else ""
    columns: list[dict[str, str]] = next((d["columns"] for d in datasets if d["ref"] == ref), [])
    models = [f"{m.name}@{v.version}" for m, v in ws.models.list_versions(system)]
    fields_, skipped = option_fields(chosen.options)
    shown = bool(_one(given, "shown"))
    values: dict[str, Any] = {}
    for f in fields_:  # what the form shows: what was given, else the default
        if f.widget in ("multiselect", "columns", "positive"):
            values[f.name] = given.get(f.name, [] if shown else _as_list(f.default))
        elif f.widget == "checkbox":
            values[f.name] = bool(_one(given, f.name)) if shown else bool(f.default)
        elif f.widget == "list":
            values[f.name] = _one(given, f.name) if shown else ", ".join(str(v) for v in _as_list(f.default))
        elif f.widget not in ("facets", "facet"):
            default = "" if f.default is None else str(f.default)
            values[f.name] = _one(given, f.name) if f.name in given else default
    for key in ("model_version", "reference_version", "baseline_id", "new_version"):
        values[key] = _one(given, key)
    values["score_with_model"] = bool(_one(given, "score_with_model"))
    values["kind"], values["dataset_version"] = chosen.name, ref
    problems: dict[str, str] = {}
    label = _one(given, "label")
    positive = (
        _value_choices(auth, ref, label, problems, "positive") if any(f.widget == "positive" for f in fields_) else []
    )
    has_facets = any(f.widget in ("facets", "facet") for f in fields_)
    rows = []
    count = _facet_rows(given) if any(f.widget == "facets" for f in fields_) else 1
    if _one(given, "remove_facet").isdigit() and count > 1:
        removed = int(_one(given, "remove_facet"))
        kept = [i for i in range(count) if i != removed]
        given = _renumbered(given, kept)
        count -= 1
    for i in range(count if has_facets else 0):
        column = _one(given, f"facet_column_{i}")
        rows.append({
            "index": i, "column": column, "values": given.get(f"facet_values_{i}", []),
            "threshold": _one(given, f"facet_threshold_{i}"),
            "choices": _value_choices(auth, ref, column, problems, f"facet_values_{i}"),
        })  # fmt: skip
        values[f"facet_column_{i}"] = column
        values[f"facet_values_{i}"] = given.get(f"facet_values_{i}", [])
        values[f"facet_threshold_{i}"] = _one(given, f"facet_threshold_{i}")
    form = web.empty_form(values)
    form["errors"] = problems
    return {
        "page": "run",
        "user": page_user(who),
        "system": system,
        "kinds": [_kind_view(k) for k in kinds],
        "kind": _kind_view(chosen),
        "datasets": datasets,
        "dataset_version": ref,
        "columns": columns,
        "column_choices": [(c["name"], c["name"]) for c in columns],
        "dataset_choices": [(d["ref"], d["ref"]) for d in datasets],
        "models": [(m, m) for m in models],
        "baselines": _baselines(auth, system, chosen),
        "fields": [asdict(f) for f in fields_],
        "unsupported": skipped,
        "positive_choices": positive,
        "facet_rows": rows,
        "can_run": allowed(who, chosen.action, system),
        "form": form,
    }


def _renumbered(given: Given, kept: list[int]) -> dict[str, list[str]]:
    """The form's values with facet row ``kept[j]`` renumbered ``j`` (after a row was removed)."""
    out = {k: v for k, v in given.items() if not k.startswith("facet_") and k not in ("remove_facet", "facet_rows")}
    for new, old in enumerate(kept):
        for part in ("column", "values", "threshold"):
            if f"facet_{part}_{old}" in given:
                out[f"facet_{part}_{new}"] = list(given[f"facet_{part}_{old}"])
    out["facet_rows"] = [str(len(kept))]
    return out


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


@router.get("/systems/{system}/run.json")
def run_json(request: Request, auth: Auth, system: str) -> Response:
    return web.twin(_run_context(auth, system, _given(request.query_params.multi_items())))


@router.get("/systems/{system}/run")
def run_page(request: Request, auth: Auth, system: str) -> Response:
    """Choose what to run (a compute kind), on which dataset and model version, with which options. Changing a
    picker reloads the form's fields (htmx) with the choices that follow from it."""
    return web.render(request, "run", _run_context(auth, system, _given(request.query_params.multi_items())))


def _target(kind: Kind, system: str, given: Given, errors: dict[str, str]) -> Target:
    ref = _one(given, "dataset_version")
    if not ref:
        errors["dataset_version"] = "choose the dataset version to run on"
    model = _one(given, "model_version") or None
    if kind.model in ("required", "file") and model is None:
        errors["model_version"] = f"{_kind_title(kind).lower()} needs a model version"
    baseline_text = _one(given, "baseline_id")
    if kind.baseline is True and not baseline_text:
        errors["baseline_id"] = "choose the recorded result to compare with"
    return Target(
        system, ref, model_version=model if kind.model != "none" else None,
        reference_version=(_one(given, "reference_version") or None) if kind.reference else None,
        baseline_id=int(baseline_text) if kind.baseline and baseline_text.isdigit() else None,
        new_version=(_one(given, "new_version") or None) if kind.registers_model else None,
        score_with_model=kind.model == "optional" and bool(_one(given, "score_with_model")) and model is not None,
    )  # fmt: skip


@router.post("/systems/{system}/run")
async def run_submit(request: Request, auth: FormAuth, system: str) -> Response:
    """Queue the chosen kind as a job (``ws.runs.submit``), then its job page; a refused form comes back with
    what was chosen and each problem next to its field."""
    form = await request.form()
    given = _given(form.multi_items())
    given["shown"] = ["1"]
    kind = KINDS.get(_one(given, "kind"))
    if kind is None:
        raise InvalidInput(f"choose what to run: {_one(given, 'kind')!r} is not a kind this server runs",
                           fields={"kind": "not a kind this server runs"})  # fmt: skip

    def submit() -> Response:
        auth.ws.systems.get(system)  # 404 for whoever may not see it: an error page, not the form
        fields_, _ = option_fields(kind.options)
        errors: dict[str, str] = {}
        try:
            target = _target(kind, system, given, errors)
            values, problems = options_from(fields_, given, shown=True)
            errors.update(problems)
            options = parse_options(kind, values, errors)
            job = auth.ws.runs.submit(kind, target, options, principal=auth.principal)
        except (InvalidInput, NotFound) as exc:
            context = _run_context(auth, system, given)
            return web.failed(request, "run", context, exc, context["form"]["values"])
        return web.done(
            request, f"/jobs/{job.id}", f"{_kind_title(kind)} queued as job {job.id} on {target.dataset_version}"
        )

    return await run_in_threadpool(submit)


@router.post("/systems/{system}/assessments")
def assessment_run_form(
    request: Request,
    auth: FormAuth,
    system: str,
    dataset_version: Annotated[str, Form(max_length=201)],
    label: Annotated[str, Form(max_length=200)],
    positive: Annotated[str, Form(max_length=200)],
    facet: Annotated[str, Form(max_length=400)],
    model_version: Annotated[str, Form(max_length=201)] = "",
    score: Annotated[str, Form(max_length=200)] = "",
    threshold: Annotated[float, Form()] = BiasOptions.default("threshold"),
) -> Response:
    """The system page's short bias assessment form (facet: COLUMN, COLUMN=VALUE[,VALUE] or COLUMN>T), kept for
    its links; the run page (``/systems/{s}/run``) offers every kind with pickers."""
    options = BiasOptions.parse(
        {
            "label": label.strip(),
            "positive": [positive.strip()] if positive.strip() else None,
            "facets": [facet_option(facet, "facet")],
            "score": score.strip() or None,
            "threshold": threshold,
        }
    )
    target = Target(system, dataset_version.strip(), model_version=model_version.strip() or None)
    job = auth.ws.runs.submit("bias", target, options, principal=auth.principal)  # a bad target: an error page now
    return web.done(request, f"/jobs/{job.id}", f"Bias assessment queued as job {job.id}")


# -- the job page ----------------------------------------------------------------------------------------------------


def _job(auth: Auth, job_id: int) -> dict[str, Any]:
    from assay.services.jobs import FINISHED

    view = auth.ws.jobs.get(job_id, principal=auth.principal)
    data = view.as_dict()
    result = data.get("result") or {}
    link = None
    if view.system and "assessment_id" in result:
        link = f"/systems/{view.system}/assessments/{result['assessment_id']}"
    kind = KINDS.get(view.kind)
    who = auth.principal
    running = view.status not in FINISHED
    may_cancel = who.name == view.requested_by or (
        view.system is not None and allowed(who, kind.action if kind else "write", view.system)
    )
    target = (view.params or {}).get("target") or {}
    return {
        "page": "job",
        "user": page_user(who),
        "job": jsonable(data),
        "title": _kind_title(kind) if kind else view.kind,
        "target": {k: v for k, v in target.items() if v not in (None, False, "")},
        "result_link": link,
        "running": running,
        "can_cancel": running and not view.cancel_requested and may_cancel,
    }


@router.get("/jobs/{job_id}.json")
def job_json(auth: Auth, job_id: int) -> Response:
    return web.twin(_job(auth, job_id))


@router.get("/jobs/{job_id}")
def job_page(request: Request, auth: Auth, job_id: int) -> Response:
    """A job: its status, progress bar and stages, refreshed every second while it is queued or running (htmx
    polls the page's live part, and stops when the job has ended); its result, or its error, when done."""
    return web.render(request, "job", _job(auth, job_id))


@router.post("/jobs/{job_id}/cancel")
def job_cancel(request: Request, auth: FormAuth, job_id: int) -> Response:
    """Cancel a queued job, or ask a running one to stop (who requested it, or who may run it on its system)."""
    view = auth.ws.jobs.cancel(job_id, principal=auth.principal)
    said = "cancelled" if view.status == "cancelled" else "asked to stop: it stops at its next stage"
    return web.done(request, f"/jobs/{job_id}", f"Job {job_id} {said}")


# -- the result pages ------------------------------------------------------------------------------------------------

#: Clarify's conventional thresholds where the system's gate policy judges none: the four-fifths rule for DI, and
#: a difference of at most 0.1 for the difference metrics (SageMaker Clarify's documentation's usual reading).
CONVENTIONAL: Final[dict[str, dict[str, float]]] = {
    "DI": {"min": 0.8, "max": 1.25},
    **{name: {"abs_max": 0.1} for name in ("DPL", "DPPL", "DCA", "DCR", "RD", "SD", "DAR", "DRR", "AD", "CDDL",
                                           "CDDPL")},
}  # fmt: skip


def _limits_text(limits: Mapping[str, float]) -> str:
    parts = []
    if "min" in limits and "max" in limits:
        parts.append(f"between {limits['min']:g} and {limits['max']:g}")
    elif "min" in limits:
        parts.append(f"at least {limits['min']:g}")
    elif "max" in limits:
        parts.append(f"at most {limits['max']:g}")
    if "abs_max" in limits:
        parts.append(f"within ±{limits['abs_max']:g}")
    return " and ".join(parts)


def _meets(value: float, limits: Mapping[str, float]) -> bool:
    if "min" in limits and value < limits["min"]:
        return False
    if "max" in limits and value > limits["max"]:
        return False
    return not ("abs_max" in limits and abs(value) > limits["abs_max"])


def _policy_limits(auth: Auth, system: str) -> tuple[dict[tuple[str, str | None], dict[str, float]], dict[str, Any]]:
    """The metric limits of the gate policy in force for production ((metric, facet or None) -> limits) and what
    the page says of it."""
    policy, _ = auth.ws.gates.policy_for(system)
    stored = auth.ws.gates.policies(system, limit=1).total > 0
    limits: dict[tuple[str, str | None], dict[str, float]] = {}
    for rule in policy.rules:
        if rule.metric is None:
            continue
        given = {k: float(v) for k in ("min", "max", "abs_max") if (v := getattr(rule, k)) is not None}
        facets: list[str | None] = list(rule.facets) if rule.facets else [None]
        for facet in facets:
            limits[(rule.metric, facet)] = given
    return limits, {"name": policy.name, "stored": stored, "judge": policy.judge}


def _finite(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def _bias_view(auth: Auth, system: str, document: Mapping[str, Any]) -> dict[str, Any]:
    """The bias metrics as rows, each judged against the thresholds in force; performance by slice; the charts'
    data (drawn by static/app.js with the Plotly file served once)."""
    policy, about = _policy_limits(auth, system)
    rows = []
    judged_by_policy = False
    for entry in document.get("facets") or []:
        group = f"{entry.get('facet')} = {entry.get('value_or_threshold')}"
        for m in entry.get("metrics") or []:
            name = str(m.get("name"))
            limits = policy.get((name, str(entry.get("facet")))) or policy.get((name, None))
            source = "policy" if limits else None
            if limits is None and name in CONVENTIONAL:
                limits, source = CONVENTIONAL[name], "conventional"
            value = _finite(m.get("value"))
            ci = m.get("ci") if isinstance(m.get("ci"), list) else None
            verdict = None
            if limits is not None and value is not None:
                judged = [value]
                if (
                    source == "policy"
                    and about["judge"] == "interval"
                    and ci
                    and all(_finite(c) is not None for c in ci)
                ):
                    judged = [float(c) for c in ci]
                verdict = "pass" if all(_meets(v, limits) for v in judged) else "fail"
                judged_by_policy = judged_by_policy or source == "policy"
            rows.append({
                "group": group, "facet": entry.get("facet"), "value_or_threshold": entry.get("value_or_threshold"),
                "n_d": entry.get("n_d"), "n_a": entry.get("n_a"), "metric": name, "name": metric_name(name),
                "value": m.get("value"), "ci": ci, "error": m.get("error"),
                "limits": None if limits is None else _limits_text(limits), "source": source, "verdict": verdict,
            })  # fmt: skip
    performance = [
        {"group": f"{g.get('facet')} = {g.get('value')}", **(g.get("metrics") or {})}
        for g in document.get("performance") or []
    ]
    keys = [k for k in ("count", "accuracy", "selection_rate", "precision", "recall", "fpr", "fnr", "roc_auc")
            if any(k in p for p in performance)]  # fmt: skip
    charts = []
    for name in dict.fromkeys(r["metric"] for r in rows if r["limits"] is not None):
        chosen = [r for r in rows if r["metric"] == name and _finite(r["value"]) is not None]
        if not chosen:
            continue
        limits = next(
            (policy.get((name, str(r["facet"]))) or policy.get((name, None)) or CONVENTIONAL.get(name)) for r in chosen
        )
        charts.append({
            "id": f"chart-{name}", "title": metric_name(name), "groups": [r["group"] for r in chosen],
            "values": [r["value"] for r in chosen],
            "low": [r["ci"][0] if r["ci"] else None for r in chosen],
            "high": [r["ci"][1] if r["ci"] else None for r in chosen],
            "limits": limits or {}, "verdicts": [r["verdict"] for r in chosen],
        })  # fmt: skip
    failing = sum(1 for r in rows if r["verdict"] == "fail")
    return {
        "metrics": rows,
        "performance": performance,
        "performance_keys": keys,
        "charts": charts,
        "thresholds": {**about, "used": judged_by_policy},
        "failing": failing,
        "warnings": [_warning(w) for w in document.get("warnings") or []],
        "rows": document.get("rows"),
        "spec": document.get("spec"),
    }


def _warning(item: Any) -> str:
    if isinstance(item, Mapping):
        return str(item.get("message") or item.get("text") or item.get("code") or item)
    return str(item)


_MAIN_TABLES: Final = ("features", "results", "findings", "violations", "checks", "groups", "columns", "metrics")


def _main_table(document: Mapping[str, Any]) -> dict[str, Any] | None:
    """The main table of a result of another kind: its largest list of records (features, groups, findings...),
    with the columns that hold plain values."""
    best: tuple[str, list[Mapping[str, Any]]] | None = None

    def visit(node: Any, path: str, depth: int) -> None:
        nonlocal best
        if depth > 3:
            return
        if isinstance(node, Mapping):
            for key, value in node.items():
                visit(value, f"{path}.{key}" if path else str(key), depth + 1)
        elif (
            isinstance(node, list)
            and node
            and all(isinstance(i, Mapping) for i in node)
            and (best is None or len(node) > len(best[1]))
        ):
            best = (path, node)

    for key in _MAIN_TABLES:  # the tables a result's reader looks for first
        for node, path in ((document.get(key), key), ((document.get("result") or {}).get(key), f"result.{key}")):
            if isinstance(node, list) and node and all(isinstance(i, Mapping) for i in node):
                best = best or (path, node)
    if best is None:
        visit(document, "", 0)
    if best is None:
        return None
    path, records = best
    columns: list[str] = []
    for record in records[:50]:
        for key, value in record.items():
            if key not in columns and (value is None or isinstance(value, str | int | float | bool)):
                columns.append(key)
    title = words(path.rsplit(".", 1)[-1])
    return {"path": path, "title": title[:1].upper() + title[1:], "columns": columns[:12],
            "rows": [dict(r) for r in records[:500]], "total": len(records)}  # fmt: skip


def _other_view(document: Mapping[str, Any]) -> dict[str, Any]:
    status = document.get("status")
    summary = document.get("summary")
    warnings = [_warning(w) for w in document.get("warnings") or []]
    plain = (str, int, float, bool)
    skip = ("schema", "status", "summary", "check")
    scalars = {k: v for k, v in document.items() if isinstance(v, plain) and k not in skip}
    return {"status": status, "summary": summary, "warnings": warnings, "facts": scalars,
            "table": _main_table(document)}  # fmt: skip


def _kind_of_record(kind: str, document: Mapping[str, Any]) -> Kind | None:
    check = document.get("check")
    for candidate in KINDS.values():
        if candidate.schema == kind and (kind != "assay.data-check" or candidate.name == check):
            return candidate
    return None


def _assessment(auth: Auth, system: str, assessment_id: int) -> dict[str, Any]:
    recorded = auth.ws.assessments.get(system, assessment_id)
    record = recorded.state()
    document = record.pop("document")
    kind = _kind_of_record(recorded.kind, document)
    bias = recorded.kind == "assay.assessment"
    return {
        "page": "assessment",
        "user": page_user(auth.principal),
        "system": system,
        "assessment": jsonable(record),
        "title": _kind_title(kind) if kind else recorded.kind,
        "has_report": _has_report(recorded),
        "bias": _bias_view(auth, system, document) if bias else None,
        "result": None if bias else _other_view(document),
        "document": document,
    }


def _has_report(recorded: Any) -> bool:
    document = recorded.document
    needed = {"facets", "performance", "spec", "rows", "data", "label"}
    if document.get("schema") == "assay.assessment" and needed <= set(document):
        return True
    return "report.html" in (recorded.attachments or {})


@router.get("/systems/{system}/assessments/{assessment_id}.json")
def assessment_json(auth: Auth, system: str, assessment_id: int) -> Response:
    return web.twin(_assessment(auth, system, assessment_id))


@router.get("/systems/{system}/assessments/{assessment_id}")
def assessment_page(request: Request, auth: Auth, system: str, assessment_id: int) -> Response:
    """A recorded result in the app's layout: a bias assessment's metrics in words, rounded, each group judged
    against the thresholds in force, performance by slice and the charts; another kind's verdict, warnings and
    main table."""
    context = _assessment(auth, system, assessment_id)
    return web.render(request, "assessment", {k: v for k, v in context.items() if k != "document"})


@router.get("/systems/{system}/assessments/{assessment_id}/report")
def assessment_report(auth: Auth, system: str, assessment_id: int) -> Response:
    """The stand-alone report (its own page, sandboxed): kept for links; the assessment page is the main view."""
    from assay.reports.html import render_report_html

    recorded = auth.ws.assessments.get(system, assessment_id)
    document = recorded.document
    needed = {"facets", "performance", "spec", "rows", "data", "label"}
    if document.get("schema") == "assay.assessment" and needed <= set(document):
        return HTMLResponse(render_report_html(document), headers={"Content-Security-Policy": REPORT_CSP})
    stored = (recorded.attachments or {}).get("report.html")
    if stored is None:
        raise NotFound(f"assessment {assessment_id} has no report")
    page = auth.ws.artifacts.path_of(stored).read_bytes()  # the report its run wrote (a check, a drift report, ...)
    return HTMLResponse(page, headers={"Content-Security-Policy": REPORT_CSP})
