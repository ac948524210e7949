"""The bias assessment: one grouped pass on the engine, then numpy on the small count table.

Flow: validate the spec against the schema -> (with a score: one pass over (facets, label, score) for the
score metrics and the score range) -> one pass over (facets, label, prediction, group) counts -> facet
entries (one-vs-all, given values, thresholds, intersections) -> Clarify metrics with bootstrap intervals
-> per-group performance -> the flip test on the feature rows (only when FT is asked for).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import product
from typing import Any

import numpy as np
from numpy.typing import NDArray

from assay._version import __version__
from assay.documents import Note
from assay.errors import InvalidInput
from assay.frames import Frame
from assay.frames.roles import describe_values
from assay.metrics._cells import _Cells, _count, _joint_mask, _side_tensor
from assay.metrics._neighbours import _cores
from assay.metrics._plan import _FacetKey, _features, _Plan, _plan
from assay.metrics._rows import _flip_rows, _ft, _score_for, _score_table
from assay.metrics._stats import MISSING
from assay.metrics.bias import METRICS, Counts
from assay.metrics.bootstrap import interval, resample
from assay.metrics.flip import ft_cost
from assay.metrics.performance import rates
from assay.metrics.results import BiasResult, FacetEntry, GroupPerformance, MetricResult
from assay.metrics.spec import BiasSpec

__all__ = ["Progress", "assess_bias"]

Progress = Callable[[str], None]
_RATE_CI = ("base_rate", "selection_rate", "accuracy", "precision", "recall", "fpr", "fnr", "f1")


def _counts(batch: NDArray[np.int64], has_group: bool, divergence: Any) -> Counts:
    """From (b, side, y, p, g) to the metric tensors pre[b, g, f, y] and post[b, g, f, y, p]."""
    pre = batch.sum(axis=3).transpose(0, 3, 1, 2)
    post = batch[:, :, :, :2, :].transpose(0, 4, 1, 2, 3)
    return Counts(pre=np.ascontiguousarray(pre), post=np.ascontiguousarray(post), has_group=has_group,
                  divergence=divergence)  # fmt: skip


def _entry_metrics(
    spec: BiasSpec, side: NDArray[np.int64], has_group: bool, stream: int, names: list[str]
) -> list[MetricResult]:
    point = _counts(side[None], has_group, spec.divergence)
    replicates = resample(side, spec.bootstrap, [spec.seed, stream]) if spec.bootstrap else None
    boot = None if replicates is None else _counts(replicates, has_group, spec.divergence)
    out = []
    for name in names:
        m = METRICS[name]
        if m.compute is None:
            continue
        res = m.compute(point)
        reason = res.reason(0)
        if reason is not None:
            out.append(MetricResult(name, m.description, m.stage, None, None, reason))
            continue
        ci = None
        if boot is not None:
            b = m.compute(boot)
            ci = interval(b.value, b.invalid(), spec.confidence)
        out.append(MetricResult(name, m.description, m.stage, float(res.value[0]), ci, None))
    return out


def _side_counts(side: NDArray[np.int64], predicts: bool) -> dict[str, dict[str, int]]:
    """Labelled rows of facet d and facet a by label, and the confusion cells of the rows with a prediction."""
    out = {}
    for who, index in (("d", 1), ("a", 0)):
        yp = side[index].sum(axis=-1)  # (y, p: 0, 1, missing)
        cells = {"label_negative": int(yp[0].sum()), "label_positive": int(yp[1].sum())}
        if predicts:
            cells.update(TN=int(yp[0, 0]), FP=int(yp[0, 1]), FN=int(yp[1, 0]), TP=int(yp[1, 1]))
        out[who] = cells
    return out


def _group_performance(
    spec: BiasSpec, target: _Target, d_side: NDArray[np.int64], total: int, stream: int
) -> GroupPerformance:
    """Performance of the rows in ``d_side`` (2 y, 3 p, G + 1)."""
    yp = d_side.sum(axis=2)  # (y, p)
    pre_y = yp.sum(axis=1)[None]
    post = yp[None, :, :2] if spec.predicts else np.zeros((1, 0, 0), dtype=np.int64)
    point = rates(pre_y, post, np.asarray([total]))
    metrics: dict[str, float | None] = {k: (None if math.isnan(v[0]) else float(v[0])) for k, v in point.items()}
    metrics["count"] = int(pre_y.sum())
    intervals: dict[str, tuple[float, float]] = {}
    if spec.bootstrap and pre_y.sum() > 0:
        reps = resample(yp, spec.bootstrap, [spec.seed, stream])
        boot_post = reps[:, :, :2] if spec.predicts else np.zeros((len(reps), 0, 0), dtype=np.int64)
        boot = rates(reps.sum(axis=2), boot_post, np.full(len(reps), total))
        for k in _RATE_CI:
            if k in boot and metrics.get(k) is not None:
                ci = interval(boot[k], np.isnan(boot[k]), spec.confidence)
                if ci is not None:
                    intervals[k] = ci
    return GroupPerformance(target.facet, target.columns, target.label, metrics, intervals)


@dataclass(frozen=True)
class _Target:
    """A set of rows named by facet levels: ``parts`` = (facet index, boolean vector over its levels)."""

    facet: str
    columns: tuple[str, ...]
    label: str
    parts: tuple[tuple[int, NDArray[np.bool_]], ...]

    def allowed(self, facets: Sequence[_FacetKey]) -> list[tuple[int, set[Any]]]:
        return [(i, {v for v, on in zip(facets[i].levels, vec, strict=True) if on}) for i, vec in self.parts]


def _combinations(
    plan: _Plan, cells: _Cells, per_facet: Sequence[Sequence[tuple[str, NDArray[np.bool_]]]]
) -> list[_Target]:
    """With ``intersect``, every non-empty combination of one named level set per facet (e.g. race × sex)."""
    if not plan.spec.intersect or len(plan.facets) < 2:
        return []
    name, cols = "×".join(fk.facet.column for fk in plan.facets), tuple(fk.facet.column for fk in plan.facets)
    out = []
    for combo in product(*per_facet):
        parts = tuple((i, vec) for i, (_, vec) in enumerate(combo))
        if cells.cells[_joint_mask(cells.facet_shape, parts)].sum():
            out.append(_Target(name, cols, " × ".join(label for label, _ in combo), parts))
    return out


def _bias_targets(plan: _Plan, cells: _Cells) -> list[_Target]:
    """Each facet's facet-d sets, then (with intersect) every non-empty combination of them."""
    per_facet = [fk.d_sets() for fk in plan.facets]
    targets = [
        _Target(fk.facet.column, (fk.facet.column,), label, ((i, vec),))
        for i, (fk, dsets) in enumerate(zip(plan.facets, per_facet, strict=True))
        for label, vec in dsets
    ]
    return targets + _combinations(plan, cells, per_facet)


def _performance_targets(plan: _Plan, cells: _Cells) -> list[_Target]:
    """All rows, every level of each facet, and (with intersect) every non-empty combination of levels."""
    targets = [_Target("all", (), "all", ())]
    per_facet = []
    for i, fk in enumerate(plan.facets):
        levels = [(fk.level_name(v), np.asarray([w == v for w in fk.levels], dtype=bool)) for v in fk.levels]
        per_facet.append(levels)
        targets += [_Target(fk.facet.column, (fk.facet.column,), name, ((i, vec),)) for name, vec in levels]
    return targets + _combinations(plan, cells, per_facet)


def _row_warnings(spec: BiasSpec, cells: _Cells) -> tuple[dict[str, int], list[Note]]:
    side_all = cells.cells.sum(axis=0)  # (y, p, g)
    rows = {"total": cells.total, "used": cells.total - cells.missing_label, "missing_label": cells.missing_label}
    warnings: list[Note] = []
    if cells.missing_label:
        warnings.append(Note("missing_label", f"{cells.missing_label} rows without a label were excluded"))
    if spec.predicts:
        missing = int(side_all[:, MISSING].sum())
        rows["missing_prediction"] = missing
        if missing:
            warnings.append(
                Note("missing_prediction", f"{missing} rows without a prediction were excluded from "
                        "post-training metrics")
            )  # fmt: skip
    if cells.has_group:
        missing = int(side_all[..., -1].sum())
        rows["missing_group"] = missing
        if missing:
            warnings.append(
                Note("missing_group", f"{missing} rows without a group value are left out of CDDL and CDDPL")
            )
    return rows, warnings


def _missing_facet_warnings(plan: _Plan, cells: _Cells) -> list[Note]:
    """Rows without a facet value, when given values or a threshold put them in facet a."""
    out = []
    per_facet = cells.cells.sum(axis=(1, 2, 3)).reshape(cells.facet_shape)
    for i, fk in enumerate(plan.facets):
        if fk.facet.values is None and not fk.thresholded:
            continue  # one-vs-all: missing is its own entry
        missing_level = MISSING if fk.thresholded else None
        if missing_level not in fk.levels:
            continue
        axis_sums = per_facet.sum(axis=tuple(j for j in range(per_facet.ndim) if j != i))
        n = int(axis_sums[fk.levels.index(missing_level)])
        if n:
            out.append(
                Note("missing_facet", f"{n} rows have no value in facet {fk.facet.column!r}; they count in "
                        "facet a (all other rows)")
            )  # fmt: skip
    return out


def _comparable(plan: _Plan, cells: _Cells) -> list[Note]:
    """Refuse a facet without a value in any labelled row, and given values or a threshold that leave facet d
    without a labelled row. Warn when a facet has one value only or given values or a threshold leave facet a
    empty (the performance of its rows and CI are still measured; every comparison is n/a), and when a one-vs-all
    value has no labelled row."""
    out = []
    per_facet = cells.cells.sum(axis=(1, 2, 3)).reshape(cells.facet_shape)  # labelled rows by joint facet level
    for i, fk in enumerate(plan.facets):
        counts = per_facet.sum(axis=tuple(j for j in range(per_facet.ndim) if j != i))
        column = fk.facet.column
        present = {fk.level_name(v): int(n) for v, n in zip(fk.levels, counts, strict=True) if n}
        found = ", ".join(f"{name}: {n} rows" for name, n in present.items()) or "no labelled row"
        if fk.facet.values is None and not fk.thresholded:
            if set(present) <= {"null"}:
                raise InvalidInput(
                    f"facet {column!r} has no value in any labelled row (every one is missing: {found}): there is "
                    "nothing to compare"
                )
            if len(present) < 2:
                out.append(
                    Note("single_value_facet", f"facet {column} has one value in every labelled row ({found}): "
                            "facet a is empty, so every metric that compares two groups is n/a")
                )  # fmt: skip
            for v, n in zip(fk.levels, counts, strict=True):
                if not n:
                    out.append(
                        Note("empty_group", f"facet {column} = {fk.level_name(v)}: none of its rows has a "
                                "label, so its metrics are n/a")
                    )  # fmt: skip
            continue
        for label, vec in fk.d_sets():
            n_d, n_a = int(counts[vec].sum()), int(counts[~vec].sum())
            if not n_d:
                raise InvalidInput(
                    f"facet {column!r} {label if fk.thresholded else '= ' + label} leaves facet d without a labelled "
                    f"row (values found: {found}): give values or a threshold that some labelled rows meet"
                )
            if not n_a:
                out.append(
                    Note("empty_group", f"facet {column} = {label}: facet a (all other rows) has no labelled "
                            "row, so every metric that compares the two is n/a")
                )  # fmt: skip
    return out


def _ft_cost(plan: _Plan, rows: dict[str, int]) -> str:
    """FT's cost, stated before it starts (the CLI prints it): its rows (sampled or not) x features, estimated."""
    spec = plan.spec
    total = rows["used"] - rows.get("missing_prediction", 0)
    n = total if spec.ft_max_rows is None else min(total, spec.ft_max_rows)
    return ft_cost(n, total, len(_features(plan, set())), spec.ft_max_rows, spec.seed, _cores())


def assess_bias(frame: Frame, spec: BiasSpec, *, progress: Progress | None = None) -> BiasResult:
    """Run a bias assessment of ``frame`` as ``spec`` says. See the module docstring for the flow."""
    say = progress or (lambda _stage: None)
    say("checking columns")
    plan = _plan(frame, spec)
    names = spec.selected()
    score_table = None
    if spec.score is not None:
        say("reading scores")
        score_table = _score_table(plan)
    say("counting")
    cells = _count(plan)
    rows, warnings = _row_warnings(spec, cells)
    warnings += _missing_facet_warnings(plan, cells)
    warnings += _comparable(plan, cells)

    flip_rows = None
    if "FT" in names:
        say(_ft_cost(plan, rows))
        say("reading flip-test features")
        flip_rows = _flip_rows(plan, cells.label_positives)
        if flip_rows.sampled:
            warnings.append(
                Note("ft_sample", f"FT computed on a random sample of {len(flip_rows.predicted):,} of "
                        f"{flip_rows.total:,} rows (seed {spec.seed}): more rows than ft_max_rows "
                        f"({spec.ft_max_rows:,}); ask for the exact run (--ft-exact) to use every row")
            )  # fmt: skip
    say("computing metrics")
    order = {n: i for i, n in enumerate(names)}
    entries = []
    for stream, target in enumerate(_bias_targets(plan, cells)):
        side = _side_tensor(cells.cells, _joint_mask(cells.facet_shape, target.parts))
        results = _entry_metrics(spec, side, cells.has_group, stream, names)
        if flip_rows is not None:
            say(f"flip test: nearest neighbours for {target.facet} = {target.label}")
            value, why = _ft(plan, flip_rows, target.allowed(plan.facets), set(target.columns))
            say("computing metrics")
            ft = METRICS["FT"]
            results.append(MetricResult("FT", ft.description, ft.stage, value, None, why))
            results.sort(key=lambda m: order[m.name])
        n_d, n_a = int(side[1].sum()), int(side[0].sum())
        entries.append(FacetEntry(target.facet, target.columns, target.label, n_d, n_a, tuple(results),
                                  _side_counts(side, spec.predicts)))  # fmt: skip
        for who, n in (("d", n_d), ("a", n_a)):
            if 0 < n < spec.min_group_size:
                warnings.append(
                    Note("small_group", f"facet {target.facet} = {target.label}: facet {who} has only {n} "
                            f"rows (< {spec.min_group_size}); its metrics are uncertain")
                )  # fmt: skip

    say("group performance")
    perf: list[GroupPerformance] = []
    for stream, target in enumerate(_performance_targets(plan, cells), start=100_000):
        d_side = cells.cells[_joint_mask(cells.facet_shape, target.parts)].sum(axis=0)
        gp = _group_performance(spec, target, d_side, rows["used"], stream)
        if score_table is not None:
            scores = _score_for(plan, score_table, cells.label_positives, target.allowed(plan.facets))
            gp = GroupPerformance(gp.facet, gp.columns, gp.value, gp.metrics, gp.intervals, scores)
        perf.append(gp)
        n = int(d_side.sum())
        if target.facet != "all" and 0 < n < spec.min_group_size:
            warnings.append(
                Note("small_group", f"group {target.facet} = {target.label} has only {n} rows "
                        f"(< {spec.min_group_size})")
            )  # fmt: skip

    label_vot = (
        f"> {spec.label.threshold:g}"
        if spec.label.threshold is not None
        else describe_values(cells.label_positives or ())
    )
    return BiasResult(
        spec=spec.to_dict(),
        data={
            "source": frame.source,
            "engine": frame.engine,
            "fingerprint": cells.fingerprint,
            "columns": {c: str(t) for c, t in frame.schema.items()},
        },
        rows=rows,
        label=spec.label.column,
        label_value_or_threshold=label_vot,
        entries=tuple(entries),
        performance=tuple(perf),
        warnings=tuple(dict.fromkeys(warnings)),
        assay_version=__version__,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
