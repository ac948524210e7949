"""Compute kinds without the store: what a kind is (:class:`Kind`), what it is given (:class:`Inputs`, for a run on
registered inputs a :class:`Target`), and the two steps every shell shares, :func:`compute` and :func:`write`.

Light on purpose (no SQLAlchemy, no numeric stack until a kind computes): the command line's runs on the user's own
files use these directly; :mod:`assay.services.runs` adds the store (checks, registered inputs, records).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NotRequired, TypedDict

from assay.errors import Cancelled, InvalidInput

if TYPE_CHECKING:
    from assay.frames.options import Options
    from assay.services.access import Action

__all__ = [
    "TARGET_FIELDS",
    "Inputs",
    "Kind",
    "Metric",
    "Outcome",
    "Progress",
    "Target",
    "Violation",
    "compute",
    "kind_of",
    "options_of",
    "output_folder",
    "watched",
    "write",
]

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Target:
    """What a run on registered inputs reads and records against."""

    system: str
    dataset_version: str
    model_version: str | None = None
    reference_version: str | None = None  # a second dataset version (the leakage check)
    baseline_id: int | None = None  # a recorded baseline check (the validate check)
    new_version: str | None = None  # the version a mitigated model is registered as
    score_with_model: bool = False  # a bias assessment scored by the model of model_version


#: The fields of a :class:`Target` besides its system: what a request body or a job's params may name.
TARGET_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Target) if f.name != "system")


@dataclass
class Inputs:
    """What a kind's ``compute`` gets: the data (a path or a frame), and the other inputs it declared."""

    data: Any
    model: Any = None
    reference: Any = None
    baseline: Path | None = None  # a baseline check's files (constraints.json, statistics.json)
    baseline_source: str | None = None
    baseline_document: Mapping[str, Any] | None = None  # the recorded baseline's document (any baseline kind)
    progress: Progress | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # what the kind's ``opens`` took from the workspace


@dataclass(frozen=True)
class Kind:
    """A computation Assay runs: one options model, one pure compute, one writer of its files; the server's route
    (``POST /api/systems/{system}/ROUTE``, its body the options model plus the target fields the kind declares), its
    permission entry and its job kind are derived from this registration.

    ``model`` says whether a model version is an input (``required``), may be (``optional``: the bias assessment
    scores the data with it when asked), or is not (``none``); ``file``: the model version is required and its
    stored file is handed to the computation as it is (``Inputs.model`` is its path, never loaded: a generative
    model's endpoint description). A kind with ``baseline`` compares against a recorded
    assessment (``Target.baseline_id``) of one of the kinds named in ``baseline_of``. ``record`` replaces the plain
    record of the document for a kind that writes more in the same transaction (the mitigation registers the mitigated
    model). ``outcome`` (kinds a monitor can run) reads a document's verdict, violations and metrics. ``opens``
    takes what else a run on registered inputs needs from the workspace (``(workspace, target, options) ->
    mapping``, into ``Inputs.extra``: e.g. a compiled guardrail policy)."""

    name: str
    title: str
    options: type[Options]
    compute: Callable[[Inputs, Any], Any]
    write: Callable[[Any, Path], dict[str, Path]]
    schema: str
    model: Literal["none", "optional", "required", "file"] = "none"
    reference: bool | Literal["optional"] = False  # a second dataset version (Target.reference_version)
    baseline: bool | Literal["optional"] = False  # a recorded baseline (Target.baseline_id)
    baseline_of: tuple[str, ...] = ("baseline",)  # the kinds whose recorded documents may serve as its baseline
    registers_model: bool = False  # the run registers a new model version (Target.new_version names it)
    route: str = ""  # the server's route under /api/systems/{system}/ (default runs/NAME)
    action: Action = "write"  # what a user must be allowed to do on the system to run it
    record: Callable[..., Any] | None = None
    precheck: Callable[[Any, Target, Any], None] | None = None
    summary: Callable[[Mapping[str, Any]], dict[str, Any]] = field(default=lambda document: {})
    outcome: Callable[[Mapping[str, Any]], Outcome] | None = None  # how a monitor reads its document
    opens: Callable[[Any, Target, Any], Mapping[str, Any]] | None = None

    @property
    def path(self) -> str:
        """The route of the kind under ``/api/systems/{system}/``."""
        return self.route or f"runs/{self.name}"


class Violation(TypedDict):
    """One violation a monitored check found: Model Monitor's ``constraint_check_type`` (``baseline_drift_check``,
    ``LessThanThreshold``, ``bias_drift_check``, ``feature_attribution_drift_check``, ...), what it concerns (a
    feature, a metric, ``facet=value metric``), the sentence, and the value against its threshold when there is one."""

    check_type: str
    subject: str
    description: str
    value: float | None
    threshold: float | None


class Metric(TypedDict):
    """One number a monitor keeps over windows (and ``/metrics`` exports): ``name`` (``ks``, ``psi``, ``accuracy``,
    ``DPPL``, ``ndcg``, ...), ``subject`` (the feature, facet or ``""``) and its value; ``threshold``, when the check
    judges the metric against one (charts draw it)."""

    name: str
    subject: str
    value: float
    threshold: NotRequired[float | None]


class Outcome(TypedDict):
    """What a monitor reads from a document of a kind that can be monitored: ``status`` is ``pass``, ``fail`` (a
    violation) or ``warn`` (not enough data to judge: never an alert)."""

    status: Literal["pass", "fail", "warn"]
    violations: list[Violation]
    metrics: list[Metric]


def kind_of(name: str) -> Kind:
    """The registered kind ``name``, or :class:`InvalidInput` naming the kinds there are."""
    from assay.services.kinds import KINDS

    kind = KINDS.get(name)
    if kind is None:
        raise InvalidInput(f"unknown compute kind {name!r}: one of {', '.join(sorted(KINDS))}")
    return kind


def options_of(kind: Kind, options: Options | Mapping[str, Any]) -> Any:
    """``options`` validated as ``kind``'s options model (a mapping is parsed; errors name the option)."""
    if isinstance(options, kind.options):
        return options
    if isinstance(options, Mapping):
        return kind.options.parse(dict(options), kind.title)
    raise InvalidInput(f"the options of {kind.title} must be a {kind.options.__name__} or a mapping")


def watched(progress: Progress | None, cancelled: Callable[[], bool] | None) -> Progress:
    def say(stage: str) -> None:
        if cancelled is not None and cancelled():
            raise Cancelled(f"cancelled while {stage}")
        if progress is not None:
            progress(stage)

    return say


def compute(kind: str | Kind, inputs: Inputs, options: Options | Mapping[str, Any]) -> Any:
    """Run ``kind``'s pure computation on ``inputs`` (the result object; ``result.to_dict()`` is its document)."""
    chosen = kind if isinstance(kind, Kind) else kind_of(kind)
    return chosen.compute(inputs, options_of(chosen, options))


def output_folder(out: str | Path) -> Path:
    """The folder ``out``, made if missing; a file there is refused (every kind's writer starts here)."""
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise InvalidInput(f"--out {str(folder)!r} is a file; give a folder")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def write(kind: str | Kind, result: Any, out: str | Path) -> dict[str, Path]:
    """Write ``kind``'s files for ``result`` into the folder ``out`` (refused if ``out`` is a file)."""
    chosen = kind if isinstance(kind, Kind) else kind_of(kind)
    return chosen.write(result, output_folder(out))
