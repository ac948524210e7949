"""What a bias assessment is asked to compute (:class:`BiasSpec`), validated before any data is read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal

from assay.errors import InvalidInput
from assay.frames import Facet, Label, Prediction, Score
from assay.metrics.bias import METRICS, POST_TRAINING, PRE_TRAINING

__all__ = ["FT_MAX_ROWS", "MAX_BOOTSTRAP", "BiasSpec"]

MAX_BOOTSTRAP: Final = 10_000  # the server's cap too; replicates x facet cells x 8 bytes stay in memory
FT_MAX_ROWS: Final = 1_000_000  # FT's default row limit (ASSAY_FT_MAX_ROWS): about 20-30 s on 2 cores


@dataclass(frozen=True)
class BiasSpec:
    """Column roles and options of one bias assessment."""

    label: Label
    facets: tuple[Facet, ...]
    prediction: Prediction | None = None
    score: Score | None = None
    group: str | None = None
    intersect: bool = False
    metrics: tuple[str, ...] | None = None
    features: tuple[str, ...] | None = None
    bootstrap: int = 1000
    confidence: float = 0.95
    seed: int = 0
    min_group_size: int = 30
    divergence: Literal["sound", "clarify"] = "sound"
    max_facet_values: int = 100
    calibration_bins: int = 10
    ft_max_rows: int | None = FT_MAX_ROWS  # FT on a seeded random sample of this many rows; None: every row

    def __post_init__(self) -> None:
        if not self.facets:
            raise InvalidInput("give at least one facet column")
        if self.prediction is not None and self.score is not None:
            raise InvalidInput("give a predicted-label column or a score column, not both")
        columns = [f.column for f in self.facets]
        if len(set(columns)) != len(columns):
            raise InvalidInput(f"a facet column is given twice: {columns}")
        roles = {self.label.column: "label"}
        for name, role in (
            (self.prediction.column if self.prediction else None, "predicted label"),
            (self.score.column if self.score else None, "score"),
            (self.group, "group"),
        ):
            if name is not None:
                if name in roles:
                    raise InvalidInput(f"column {name!r} cannot be both the {roles[name]} and the {role}")
                roles[name] = role
        for c in columns:
            if c in roles:
                raise InvalidInput(f"column {c!r} cannot be both a facet and the {roles[c]}")
        if self.divergence not in ("sound", "clarify"):
            raise InvalidInput(f"divergence must be 'sound' or 'clarify', not {self.divergence!r}")
        if self.bootstrap < 0:
            raise InvalidInput(f"bootstrap replicates must be >= 0, not {self.bootstrap}")
        if self.bootstrap > MAX_BOOTSTRAP:
            raise InvalidInput(
                f"bootstrap replicates must be at most {MAX_BOOTSTRAP:,}, not {self.bootstrap:,} (more make no "
                "interval better and may not fit in memory)"
            )
        if self.ft_max_rows is not None and self.ft_max_rows < 1:
            raise InvalidInput(
                f"ft_max_rows must be 1 or more, not {self.ft_max_rows} (ask for the exact run to use every row)"
            )
        if self.seed < 0:
            raise InvalidInput(f"seed must be 0 or more, not {self.seed}")
        if self.min_group_size < 0:
            raise InvalidInput(
                f"min_group_size must be 0 or more (0: no small-group warning), not {self.min_group_size}"
            )
        if not 0 < self.confidence < 1:
            raise InvalidInput(f"confidence must lie between 0 and 1, not {self.confidence}")
        if self.metrics is not None:
            names = tuple(m.strip().upper() for m in self.metrics if m.strip())
            unknown = [m for m in names if m not in METRICS]
            if unknown:
                raise InvalidInput(f"unknown metric {unknown[0]!r}; known metrics: {', '.join(METRICS)}")
            if not self.predicts:
                post = [m for m in names if METRICS[m].stage == "post_training"]
                if post:
                    raise InvalidInput(f"metric {post[0]} needs predictions: give a predicted-label or a score column")
            object.__setattr__(self, "metrics", names)

    @property
    def predicts(self) -> bool:
        return self.prediction is not None or self.score is not None

    def selected(self) -> list[str]:
        """Names of the metrics to compute, in Clarify's registry order."""
        wanted = self.metrics
        defs = PRE_TRAINING + (POST_TRAINING if self.predicts else ())
        return [m.name for m in defs if wanted is None or m.name in wanted]

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": {"column": self.label.column, "values": _jsonable(self.label.values),
                      "threshold": self.label.threshold},
            "facets": [{"column": f.column, "values": _jsonable(f.values), "threshold": f.threshold}
                       for f in self.facets],
            "intersect": self.intersect,
            "predicted": None if self.prediction is None else {"column": self.prediction.column},
            "score": None if self.score is None else {"column": self.score.column,
                                                      "threshold": self.score.threshold},
            "group": self.group,
            "metrics": self.selected(),
            "features": None if self.features is None else list(self.features),
            "bootstrap": {"replicates": self.bootstrap, "confidence": self.confidence, "seed": self.seed},
            "min_group_size": self.min_group_size,
            "divergence": self.divergence,
            "calibration_bins": self.calibration_bins,
            "ft_max_rows": self.ft_max_rows,
        }  # fmt: skip


def _jsonable(values: tuple[Any, ...] | None) -> list[Any] | None:
    if values is None:
        return None
    return [v if isinstance(v, str | int | float | bool) or v is None else str(v) for v in values]
