"""Typed options of Assay's computations: the base class and the field types every compute kind shares.

Each compute kind (bias assessment, explanation, mitigation, every data check, ...) declares ONE frozen options
model in its own package (``metrics.options``, ``explain.options``, ``mitigate.options``, ``checks.options``):
names, types, bounds, defaults and help text. The server's request bodies subclass it, the CLI takes its help texts
and defaults from it (``Options.help``/``Options.default``), the web forms validate through it, and
``tests/.../test_options_parity.py`` checks the shells against it, so they cannot drift.

A default that is also a setting (``ASSAY_BOOTSTRAP_REPLICATES``, ``ASSAY_CONFIDENCE``, ``ASSAY_SEED``,
``ASSAY_MIN_GROUP_SIZE``, ...) is read from :class:`~assay.config.Settings` when the options are built, so the
environment is honoured by every shell alike; such a field is declared with :func:`setting`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Final, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.fields import FieldInfo

if TYPE_CHECKING:
    from assay.frames.roles import Facet, Label

from assay.config import Settings, load_settings
from assay.errors import InvalidInput

__all__ = [
    "Column",
    "Columns",
    "FacetOption",
    "Finite",
    "Labelled",
    "Options",
    "Seed",
    "Share",
    "Value",
    "Values",
    "as_values",
    "facet_option",
    "label_option",
    "parse_role",
    "setting",
]

Column = Annotated[str, Field(min_length=1, max_length=300)]
Columns = Annotated[list[Column], Field(max_length=10_000)]
Finite = Annotated[float, Field(allow_inf_nan=False)]
Share = Annotated[float, Field(ge=0, le=1)]
Seed = Annotated[int, Field(ge=0, le=2**32 - 1)]
Value = Annotated[str, Field(max_length=1_000)] | bool | int | Finite
Values = Value | Annotated[list[Value], Field(min_length=1, max_length=1_000)]

_SETTING = "assay_setting"


def setting(name: str, description: str, **bounds: Any) -> Any:
    """A field whose default is the setting ``name`` of :class:`~assay.config.Settings` (``ASSAY_<NAME>``)."""
    if name not in Settings.model_fields:
        raise ValueError(f"no setting {name!r}")
    return Field(default=None, description=description, json_schema_extra={_SETTING: name}, **bounds)


def as_values(given: Values | None) -> tuple[Any, ...] | None:
    """``None``, one value, or a list of values -> ``None`` or a tuple."""
    return None if given is None else tuple(given) if isinstance(given, list) else (given,)


class Options(BaseModel):
    """Base of every kind's options: frozen, unknown names refused, settings-backed defaults filled in."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Fields of the request/target that are not options (subclasses used as request bodies add them).
    target_fields: ClassVar[frozenset[str]] = frozenset()
    #: Fields that name columns of the data (checked against a registered dataset version before a run is queued).
    column_fields: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="before")
    @classmethod
    def _settings_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        missing = {
            name: setting_name
            for name, info in cls.model_fields.items()
            if (setting_name := _setting_of(info)) and data.get(name) is None
        }
        if not missing:
            return data
        settings = load_settings()
        return {**data, **{name: getattr(settings, key) for name, key in missing.items()}}

    @classmethod
    def parse(cls, values: dict[str, Any], what: str | None = None, *, flags: bool = False) -> Self:
        """Validate ``values`` into the options, every problem in one :class:`InvalidInput` naming the option, what
        it must be and what was given (``the pii check: sample must be at least 1 (given 0)``); with ``flags`` the
        option is named as the command line spells it (``--sample``)."""
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            errors = [e for e in exc.errors() if not (e["type"] == "string_type" and isinstance(e["input"], dict))]
            problems = list(dict.fromkeys(_problem(error, flags) for error in errors or exc.errors()))
            raise InvalidInput(f"{what or cls.kind_title()}: " + "; ".join(problems)) from None

    @classmethod
    def kind_title(cls) -> str:
        return f"the {cls.__name__.removesuffix('Options').lower()} options"

    @classmethod
    def help(cls, name: str) -> str:
        """The help text of option ``name`` (with the setting that gives its default, if any)."""
        info = cls.model_fields[name]
        text = info.description or ""
        key = _setting_of(info)
        if key:
            text += f" Default: the setting ASSAY_{key.upper()} ({Settings.model_fields[key].default})."
        return text

    @classmethod
    def default(cls, name: str) -> Any:
        """The declared default of option ``name`` (``None`` for a setting-backed one: the setting applies)."""
        info = cls.model_fields[name]
        if info.is_required():
            raise KeyError(f"option {name!r} is required")
        return info.get_default(call_default_factory=True)

    @classmethod
    def setting_of(cls, name: str) -> str | None:
        """The setting that gives option ``name`` its default, or ``None``."""
        return _setting_of(cls.model_fields[name])

    @classmethod
    def option_names(cls) -> tuple[str, ...]:
        return tuple(name for name in cls.model_fields if name not in cls.target_fields)

    def named_columns(self) -> list[str]:
        """The data columns these options name (the label, facets, features, ...), in order, without repeats."""
        found: list[str] = []
        for name in self.column_fields:
            value = getattr(self, name)
            items = list(value) if isinstance(value, list | dict) else [value]
            for item in items:
                column = item.column if isinstance(item, FacetOption) else item
                if isinstance(column, str) and column not in found:
                    found.append(column)
        return found

    def options_only(self) -> dict[str, Any]:
        """The options as plain values, without the target fields of a request body."""
        return self.model_dump(include=set(self.option_names()))


_BOUNDS = {"greater_than_equal": "at least {ge}", "less_than_equal": "at most {le}", "greater_than": "more than {gt}",
           "less_than": "less than {lt}"}  # fmt: skip


#: the command-line flag of an option whose flag is not ``--`` + its name
_FLAGS: Final = {"positive": "--label", "label_threshold": "--label", "facets": "--facet",
                 "populations": "--population"}  # fmt: skip


def _problem(error: Any, flags: bool = False) -> str:
    """One validation error as ``option must be ... (given X)``."""
    parts = [p for p in error["loc"] if isinstance(p, int) or (p.isidentifier() and p[:1].islower())]  # no union tags
    if flags and parts and isinstance(parts[0], str):
        first = _FLAGS.get(parts[0], "--" + parts[0].replace("_", "-"))
        parts = [first, *parts[1:]]
    where = ".".join(str(part) for part in parts)
    context = {k: v if isinstance(v, str) else _number(v) for k, v in (error.get("ctx") or {}).items()}
    kind = error["type"]
    if kind == "extra_forbidden":
        return f"{where} is not a known option"
    if kind == "missing":
        return f"{where} is required"
    given = _number(error["input"])
    if kind in _BOUNDS:
        return f"{where} must be {_BOUNDS[kind].format(**context)} (given {given})"
    if kind == "literal_error":
        return f"{where} must be {context.get('expected', 'one of the allowed values')} (given {given})"
    message = error["msg"].removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


def _number(value: Any) -> Any:
    """A bound or a given value as the message shows it: integers with thousands separators, text quoted."""
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return repr(value) if isinstance(value, str) else value


def _setting_of(info: FieldInfo) -> str | None:
    extra = info.json_schema_extra
    if isinstance(extra, dict):
        value = extra.get(_SETTING)
        return value if isinstance(value, str) else None
    return None


class FacetOption(BaseModel):
    """A facet: its column, and the values of facet d (or a threshold); neither means one-vs-all."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    column: Column
    values: Annotated[list[Value], Field(max_length=1_000)] | None = Field(
        default=None, description="The values of facet d (the group compared with the rest)."
    )
    threshold: Finite | None = Field(default=None, description="Facet d is the rows with a value above this.")

    def facet(self) -> Facet:
        from assay.frames.roles import Facet

        return Facet(self.column, as_values(self.values), self.threshold)

    @classmethod
    def of(cls, given: str | FacetOption) -> FacetOption:
        return cls(column=given) if isinstance(given, str) else given


class Labelled(Options):
    """Options with a label column and its positive values (or a threshold)."""

    label: Column = Field(description="Label column.")
    positive: Values | None = Field(default=None, description="The positive (favourable) label values.")
    label_threshold: Finite | None = Field(default=None, description="Positive when the label is above this.")

    def label_role(self) -> Label:
        from assay.frames.roles import Label

        return Label(self.label, as_values(self.positive), self.label_threshold)


# -- the text syntax of roles, shared by the command line and the web forms ----------------------------------------


def parse_role(text: str, option: str) -> tuple[str, tuple[str, ...] | None, float | None]:
    """``COL``, ``COL=V1,V2`` (values) or ``COL>T`` (threshold) -> (column, values, threshold)."""
    if "=" in text:
        column, _, raw = text.partition("=")
        values = tuple(v.strip() for v in raw.split(","))
        if not column.strip() or not raw.strip() or any(v == "" for v in values):
            raise InvalidInput(f"{option} {text!r}: write COLUMN=VALUE[,VALUE...]")
        return column.strip(), values, None
    if ">" in text:
        column, _, raw = text.partition(">")
        try:
            threshold = float(raw)
        except ValueError:
            raise InvalidInput(f"{option} {text!r}: the threshold after '>' must be a number") from None
        if not column.strip():
            raise InvalidInput(f"{option} {text!r}: give a column name before '>'")
        return column.strip(), None, threshold
    if not text.strip():
        raise InvalidInput(f"{option}: give a column name")
    return text.strip(), None, None


def label_option(text: str, option: str = "--label") -> dict[str, Any]:
    """The label fields of :class:`Labelled` options from ``COL=V[,V...]``, ``COL>T`` or ``COL``."""
    column, values, threshold = parse_role(text, option)
    return {"label": column, "positive": None if values is None else list(values), "label_threshold": threshold}


def facet_option(text: str, option: str = "--facet") -> FacetOption:
    """A :class:`FacetOption` from ``COL``, ``COL=V[,V...]`` or ``COL>T``."""
    column, values, threshold = parse_role(text, option)
    return FacetOption(column=column, values=None if values is None else list(values), threshold=threshold)
