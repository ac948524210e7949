"""Adversarial robustness: black-box attacks on a model through its adapter (:mod:`assay.robustness.adversarial`),
with constraints that keep features valid, judged overall and per group of a facet.

It lives here rather than in :mod:`assay.robustness` because it uses the privacy tests' sampling and label reading
(siblings stay independent of each other, as the perturbation suite does).

Flow: a seeded pool of labelled rows (``4 × sample``) -> the model's predictions -> up to ``sample`` correctly
predicted rows -> the constraints (immutable columns: the facet and those named; ranges: given, or observed in the
data; integers; categories seen in the data) -> each attack -> each row's smallest valid flip (by L2 size in spreads,
then by columns changed) -> a success is a valid flip within budget (``max_distance`` for numeric changes,
``max_changes`` for the greedy search) -> the success rate with a Wilson interval, overall and per group, the median
size of the flips found, and the verdict on the *judged* rows, those the model gives their class with probability at
least ``min_confidence`` (rows near the boundary flip under any model and say nothing of brittleness): ``fail`` when
their success rate is above ``max_success`` with its whole Wilson interval, or a group's rate exceeds the other
judged rows' by more than ``group_tolerance`` and significantly (one-sided Fisher exact test at ``alpha``, Bonferroni
over the groups compared) while being above ``max_success`` itself; ``warn`` when fewer than :data:`MIN_ROWS` rows
were judged (groups too small to compare are named in a note); ``pass`` otherwise. The defaults were chosen on the
shared datasets (``benchmarks/verdicts.py``, docs/robustness.md).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import narwhals as nw
import numpy as np
import pandas as pd

from assay.documents import Note, head, now
from assay.errors import InvalidInput
from assay.frames import Label
from assay.frames import open as open_frame
from assay.privacy._data import binary, require, sample
from assay.robustness.adversarial import ATTACKS, QUERY_CAP, Space, attack_rows, spread_of
from assay.robustness.corrupt import kind_of

__all__ = ["BUDGETS", "MIN_ROWS", "SCHEMA", "Adversarial", "adversarial", "outcome"]

SCHEMA: Final = "assay.adversarial"
MIN_ROWS: Final = 30  # judged rows below which the verdict is "warn"
MAX_GROUPS: Final = 20
BUDGETS: Final = (0.1, 0.25, 0.5, 1.0, 2.0, 4.0)  # distances (spreads) of the success curve


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None or not math.isfinite(value) else round(float(value), digits)


def wilson(successes: int, n: int, confidence: float) -> tuple[float, float] | None:
    """The Wilson score interval of a proportion (None without rows)."""
    if n == 0:
        return None
    from scipy.stats import norm

    z = float(norm.ppf(0.5 + confidence / 2))
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class Adversarial:
    model: dict[str, Any]
    data: dict[str, Any]
    spec: dict[str, Any]
    overall: dict[str, Any]
    attacks: tuple[dict[str, Any], ...]
    groups: tuple[dict[str, Any], ...]
    findings: tuple[dict[str, Any], ...]
    small_groups: tuple[str, ...]
    queries: dict[str, Any]
    examples: tuple[dict[str, Any], ...]
    notes: tuple[Note, ...] = ()
    created_at: str = field(default_factory=now)
    #: the attacked rows, each row's best candidate (the row itself where no attack flipped it) and the labels the
    #: model gave the rows (not in the document: it names rows by position only)
    rows: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False, compare=False)
    found: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False, compare=False)
    labels: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64), repr=False, compare=False)

    @property
    def status(self) -> str:
        if self.findings:
            return "fail"
        return "warn" if self.overall["judged"]["rows"] < MIN_ROWS else "pass"

    def to_dict(self) -> dict[str, Any]:
        o = self.overall
        interval = "" if o["interval"] is None else f" [{o['interval'][0]:.3f}, {o['interval'][1]:.3f}]"
        needed = "" if o["median_distance"] is None else f"; median change found {o['median_distance']:.3f} spreads"
        j = o["judged"]
        sure = (
            ""
            if j["success_rate"] is None
            else f" ({j['successes']} of the {j['rows']} judged, {j['success_rate']:.3f})"
        )
        text = (
            f"{o['successes']} of {o['attacked']} correctly predicted rows flipped within budget: success rate "
            f"{o['success_rate']:.3f}{interval}{sure}{needed}"
        )
        if self.findings:
            summary = f"{text}; {len(self.findings)} findings: " + "; ".join(f["description"] for f in self.findings)
        elif j["rows"] < MIN_ROWS:
            floor = self.spec["min_confidence"]
            summary = f"{text}; fewer than {MIN_ROWS} rows predicted with probability {floor} or more: too few to judge"
        else:
            summary = f"{text}: judged at most {self.spec['max_success']}, no group finding"
            if self.small_groups:
                summary += f" (groups too small to compare: {', '.join(self.small_groups)})"
        return {
            **head(SCHEMA, created_at=self.created_at),
            "model": self.model,
            "data": self.data,
            "spec": self.spec,
            "status": self.status,
            "summary": summary,
            "result": {
                "overall": self.overall,
                "attacks": list(self.attacks),
                "groups": list(self.groups),
                "findings": list(self.findings),
                "small_groups": list(self.small_groups),
                "queries": self.queries,
                "examples": list(self.examples),
            },
            "warnings": [n.to_dict() for n in self.notes],
        }


def _figures(success: np.ndarray, flipped: np.ndarray, distance: np.ndarray, columns: np.ndarray,
             numeric: np.ndarray, confidence: float) -> dict[str, Any]:  # fmt: skip
    n, k = len(success), int(success.sum())
    interval = wilson(k, n, confidence)
    found = flipped & numeric  # flips by numeric changes: their L2 size is the size needed
    return {
        "attacked": n,
        "successes": k,
        "success_rate": _round(k / n) if n else None,
        "interval": None if interval is None else [_round(v) for v in interval],
        "flipped": int(flipped.sum()),
        "median_distance": _round(float(np.median(distance[found]))) if found.any() else None,
        "median_columns": _round(float(np.median(columns[flipped]))) if flipped.any() else None,
        "curve": [
            {"max_distance": b, "success_rate": _round(float(np.mean(found & (distance <= b)))) if n else None}
            for b in BUDGETS
        ],
    }


def _judged(success: np.ndarray, judged: np.ndarray, confidence: float) -> dict[str, Any]:
    """The success rate of the judged rows, with its Wilson interval."""
    n, k = int(judged.sum()), int(success[judged].sum())
    interval = wilson(k, n, confidence)
    return {"rows": n, "successes": k, "success_rate": _round(k / n) if n else None,
            "interval": None if interval is None else [_round(v) for v in interval]}  # fmt: skip


def _observed_ranges(frame: Any, columns: Sequence[str]) -> dict[str, tuple[float, float]]:
    if not columns:
        return {}
    exprs = [
        e for i, c in enumerate(columns) for e in (nw.col(c).min().alias(f"lo{i}"), nw.col(c).max().alias(f"hi{i}"))
    ]
    row = frame.lazy.select(*exprs).collect().to_pandas().iloc[0]
    return {c: (float(row[f"lo{i}"]), float(row[f"hi{i}"])) for i, c in enumerate(columns)}


def _integral(values: pd.Series) -> bool:
    if pd.api.types.is_integer_dtype(values):
        return True
    number = values.to_numpy(dtype=np.float64, na_value=np.nan)
    finite = number[np.isfinite(number)]
    return bool(len(finite)) and bool(np.all(finite == np.round(finite)))


def adversarial(
    data: Any,
    model: Any,
    *,
    label: Label,
    facet: str | None = None,
    immutable: Sequence[str] = (),
    ranges: Mapping[str, Sequence[float]] | None = None,
    attacks: Sequence[str] | None = None,
    max_distance: float = 0.5,
    max_changes: int = 1,
    max_success: float = 0.5,
    min_confidence: float = 0.9,
    iterations: int = 10,
    group_tolerance: float = 0.05,
    alpha: float = 0.05,
    min_group_size: int = 30,
    confidence: float = 0.95,
    sample_size: int = 200,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> Adversarial:
    """Attack ``model`` (an :class:`assay.adapters.Model`) on correctly predicted rows of ``data``; see the module
    docstring."""
    say = progress or (lambda _stage: None)
    if model is None:
        raise InvalidInput("the adversarial test needs the model: give --model")
    frame = open_frame(data)
    features = list(model.feature_names)
    require(frame, [label.column], role="label column")
    require(frame, [facet], role="facet column")
    require(frame, features, role="model feature")
    require(frame, list(immutable), role="immutable:")
    require(frame, list(ranges or {}), role="ranges:")
    notes: list[Note] = []
    outside = [c for c in immutable if c not in features]
    if outside:
        notes.append(Note("immutable_not_feature", f"immutable columns that are not model features (never changed "
                                                   f"anyway): {', '.join(outside)}"))  # fmt: skip
    fixed = list(dict.fromkeys([*immutable, *([facet] if facet and facet in features else [])]))

    wanted = list(dict.fromkeys([*features, label.column, *([facet] if facet else [])]))
    say("sampling rows")
    pool, _, total = sample(frame, wanted, min(1_000_000, sample_size * 4), seed)
    y = binary(pool[label.column], label)
    pool, y = pool[~np.isnan(y)].reset_index(drop=True), y[~np.isnan(y)].astype(np.int64)
    if len(pool) == 0:
        raise InvalidInput(f"{frame.source} has no labelled row in the sample: nothing to attack")
    if len(np.unique(y)) < 2:
        notes.append(Note("one_class", f"label {label.column!r} has one class only in the sampled rows: the success "
                                       f"rate judges rows of that class only"))  # fmt: skip
    kinds = {c: kind_of(pool[c]) for c in features}
    numeric = [c for c in features if kinds[c] == "numeric" and c not in fixed]
    say("scoring the rows")

    def predict(table: pd.DataFrame) -> np.ndarray:
        """The probability of the positive class, or 1/0 for a model of labels (read with the label's values)."""
        if model.output != "label":
            try:
                return np.asarray(model.predict_proba(table[features]), dtype=np.float64)
            except InvalidInput:
                if model.output != "label":  # a callable or endpoint tells what it returns at its first call
                    raise
        return np.asarray(np.nan_to_num(binary(pd.Series(model.predict(table[features])), label), nan=0.0))

    p = predict(pool)
    with_scores = model.output != "label"  # known after the first call of a callable or an endpoint
    predicted = (p > 0.5).astype(np.int64)
    missing = pool[numeric].isna().any(axis=1).to_numpy() if numeric else np.zeros(len(pool), dtype=bool)
    correct = np.flatnonzero((predicted == y) & ~missing)
    if len(correct) == 0:
        raise InvalidInput(
            f"the model predicts none of the {len(pool)} sampled rows of {frame.source} correctly"
            + (f" ({int(missing.sum())} have missing numeric values)" if missing.any() else "")
            + ": there is no correct prediction to attack; check the label and its positive values"
        )
    if missing.any():
        notes.append(Note("missing_values", f"{int(missing.sum())} sampled rows with missing values in attacked "
                                            f"numeric columns are not attacked"))  # fmt: skip
    chosen = np.sort(np.random.default_rng(seed).permutation(correct)[:sample_size])
    rows, labels = pool.iloc[chosen].reset_index(drop=True), y[chosen]
    # the probability of each row's class (1 for a model of labels: every row is judged)
    judged = np.where(labels == 1, p[chosen], 1 - p[chosen]) >= min_confidence

    given = {c: (float(v[0]), float(v[1])) for c, v in (ranges or {}).items()}
    observed = _observed_ranges(frame, [c for c in numeric if c not in given])
    bounds = {**observed, **given}
    for column, (low, high) in given.items():
        if column in numeric:
            values = rows[column].to_numpy(dtype=np.float64)
            if ((values < low) | (values > high)).any():
                notes.append(Note("outside_range", f"ranges: some attacked rows have {column} outside [{low:g}, "
                                                   f"{high:g}]; their changes are clipped into it"))  # fmt: skip
    categories = {
        c: tuple(pool[c].dropna().value_counts().index)
        for c in features if kinds[c] == "categorical" and c not in fixed
    }  # fmt: skip
    texts = tuple(c for c in features if kinds[c] == "text" and c not in fixed)
    space = Space(
        features=tuple(features),
        numeric=tuple(numeric),
        low=np.array([bounds[c][0] for c in numeric], dtype=np.float64),
        high=np.array([bounds[c][1] for c in numeric], dtype=np.float64),
        spread=np.array([spread_of(pool[c].to_numpy(dtype=np.float64, na_value=np.nan)) for c in numeric]),
        integers=np.array([_integral(pool[c]) for c in numeric], dtype=bool),
        categories={c: v for c, v in categories.items() if len(v) > 1},
        texts=texts,
        immutable=tuple(fixed),
    )
    fitting = {"hop-skip-jump": bool(numeric), "zoo": bool(numeric) and with_scores,
               "categories": bool(space.categories or texts)}  # fmt: skip
    names = list(attacks) if attacks is not None else [a for a in ATTACKS if fitting[a]]
    for name in names:
        if name not in ATTACKS:
            raise InvalidInput(f"attacks: {name!r} is not one of {', '.join(ATTACKS)}")
        if not fitting[name]:
            why = {"hop-skip-jump": "there is no mutable numeric column",
                   "zoo": "the model gives labels, not probabilities" if numeric else "there is no mutable numeric "
                   "column", "categories": "there is no mutable categorical or text column"}[name]  # fmt: skip
            raise InvalidInput(f"attacks: {name} does not fit: {why}")
    if not names:
        raise InvalidInput("no attack fits: every model feature is immutable; name fewer immutable columns")

    started = time.perf_counter()
    attempts = attack_rows(predict, space, rows, labels, attacks=names, budget=iterations, max_changes=max_changes,
                           with_scores=with_scores, seed=seed, progress=say)  # fmt: skip
    elapsed = time.perf_counter() - started
    say("checking the adversarial rows")
    n = len(rows)
    best_distance = np.full(n, np.inf)
    best_columns = np.zeros(n, dtype=np.int64)
    best_attack = np.full(n, "", dtype=object)
    success = np.zeros(n, dtype=bool)
    flipped_any = np.zeros(n, dtype=bool)
    numeric_flip = np.zeros(n, dtype=bool)
    invalid = 0
    per_attack: list[dict[str, Any]] = []
    best_rows = rows.copy()
    for attempt in attempts:
        changed = attempt.rows
        broken = space.violations(rows, changed)
        valid = np.array([not b for b in broken])
        invalid += int((~valid & (space.changed_columns(rows, changed) > 0)).sum())
        flips = ((predict(changed) > 0.5).astype(np.int64) != labels) & valid
        distance = space.distance(rows, changed)
        columns = space.changed_columns(rows, changed)
        within = flips & ((distance <= max_distance) if attempt.name != "categories" else
                          (attempt.steps <= max_changes))  # fmt: skip
        interval = wilson(int(within.sum()), n, confidence)
        per_attack.append({
            "name": attempt.name,
            "successes": int(within.sum()),
            "success_rate": _round(float(within.mean())),
            "interval": None if interval is None else [_round(v) for v in interval],
            "flipped": int(flips.sum()),
            "median_distance": _round(float(np.median(distance[flips]))) if flips.any() and
            attempt.name != "categories" else None,
            "median_columns": _round(float(np.median(columns[flips]))) if flips.any() else None,
            "queries_per_row": _round(float(attempt.queries.mean())),
            "max_queries_per_row": int(attempt.queries.max()) if n else 0,
            "capped_rows": attempt.capped,
        })  # fmt: skip
        if attempt.capped:
            notes.append(Note("query_cap", f"{attempt.capped} of {n} rows reached {attempt.name}'s query cap "
                                           f"({QUERY_CAP * iterations} per row): each keeps the nearest flip it "
                                           f"found"))  # fmt: skip
        # each row keeps its smallest flip: a success within budget first, then the smaller numeric change
        key = np.where(attempt.name == "categories", 0.0, distance)
        better = flips & ((within & ~success) | ((within == success) & (key < best_distance)))
        for r in np.flatnonzero(better):
            for column in features:
                best_rows.at[r, column] = changed.at[r, column]
        best_distance[better] = key[better]
        best_columns[better] = columns[better]
        best_attack[better] = attempt.name
        numeric_flip[better] = attempt.name != "categories"
        success |= within
        flipped_any |= flips
    if invalid:
        notes.append(Note("invalid", f"{invalid} candidate rows broke a constraint and were not counted"))

    groups_of = rows[facet].astype("string").fillna("(missing)").to_numpy(dtype=object) if facet else None
    overall = _figures(success, flipped_any, best_distance, best_columns, numeric_flip, confidence)
    overall["judged"] = _judged(success, judged, confidence)
    groups: list[dict[str, Any]] = []
    findings: list[dict[str, Any]] = []
    small: list[str] = []
    if groups_of is not None:
        from scipy.stats import fisher_exact

        found, counts = np.unique(groups_of, return_counts=True)
        values = [str(v) for v in found[np.argsort(-counts, kind="stable")][:MAX_GROUPS]]
        if len(found) > MAX_GROUPS:
            notes.append(Note("many_groups", f"{facet} has {len(found)} values: the {MAX_GROUPS} commonest are shown"))
        sure = groups_of[judged]
        compared = [v for v in values if min(int((sure == v).sum()), int((sure != v).sum())) >= min_group_size]
        for value in values:
            inside = groups_of == value
            entry = {"facet": facet, "value": value,
                     **_figures(success[inside], flipped_any[inside], best_distance[inside], best_columns[inside],
                                numeric_flip[inside], confidence)}  # fmt: skip
            entry["judged"] = _judged(success[inside], judged[inside], confidence)
            rest = ~inside & judged
            entry["rest_success_rate"] = _round(float(success[rest].mean())) if rest.any() else None
            if value not in compared:
                entry["p_value"] = None
                small.append(f"{facet}={value}")
            else:
                a, b = int(success[inside & judged].sum()), int((inside & judged).sum())
                c, d = int(success[rest].sum()), int(rest.sum())
                p_value = float(fisher_exact([[a, b - a], [c, d - c]], alternative="greater").pvalue)
                entry["p_value"] = _round(p_value, 6)
                excess = a / b - c / d
                if a / b > max_success and excess > group_tolerance and p_value < alpha / len(compared):
                    findings.append({
                        "kind": "group", "subject": f"{facet}={value}", "value": _round(excess),
                        "threshold": group_tolerance, "p_value": _round(p_value, 6),
                        "description": f"{facet}={value}: success rate {a / b:.3f} of its judged rows (above "
                                       f"{max_success}) against {c / d:.3f} for the other judged rows "
                                       f"(p = {p_value:.2g}), more than {group_tolerance} higher",
                    })  # fmt: skip
            groups.append(entry)
        if small:
            notes.append(Note("small_group", f"groups with fewer than {min_group_size} judged rows (or other judged "
                                             f"rows) are not compared: {', '.join(small)}"))  # fmt: skip
    sure_rate = overall["judged"]["success_rate"]
    if sure_rate is not None and overall["judged"]["interval"][0] > max_success:
        findings.insert(0, {
            "kind": "success", "subject": "", "value": sure_rate, "threshold": max_success, "p_value": None,
            "description": f"{sure_rate:.3f} of the rows predicted with probability {min_confidence} or more flip "
                           f"within budget (max distance {max_distance}, max changes {max_changes}), more than "
                           f"{max_success} (interval {overall['judged']['interval']})",
        })  # fmt: skip
    if int(judged.sum()) < MIN_ROWS:
        notes.append(Note("few_rows", f"{n} rows attacked, {int(judged.sum())} of them predicted with probability "
                                      f"{min_confidence} or more: fewer than {MIN_ROWS} judged, the verdict is warn "
                                      f"unless it fails"))  # fmt: skip

    examples = []
    for r in np.flatnonzero(success)[:5]:
        change = {c: [_plain(rows.at[r, c]), _plain(best_rows.at[r, c])] for c in features
                  if not _same(rows.at[r, c], best_rows.at[r, c])}  # fmt: skip
        examples.append({"row": int(chosen[r]), "attack": str(best_attack[r]), "change": change,
                         "distance": _round(float(best_distance[r]))})  # fmt: skip
    per_row = np.vstack([a.queries for a in attempts]).sum(axis=0)
    queries = {
        "per_row": _round(float(per_row.mean())),
        "max_per_row": int(per_row.max()),
        "total": int(per_row.sum()),
        "seconds": _round(elapsed, 2),
    }
    return Adversarial(
        model=model.describe(),
        data={"source": frame.source, "rows": total, "sampled": len(pool), "correct": len(correct)},
        spec={
            "label": label.column,
            "positive": None if label.values is None else [str(v) for v in label.values],
            "label_threshold": label.threshold,
            "facet": facet,
            "attacks": names,
            "immutable": fixed,
            "numeric": numeric,
            "integers": [c for c, whole in zip(numeric, space.integers, strict=True) if whole],
            "ranges": {c: [bounds[c][0], bounds[c][1]] for c in numeric},
            "categories": list(space.categories),
            "texts": list(texts),
            "scores": with_scores,
            "max_distance": max_distance,
            "max_changes": max_changes,
            "max_success": max_success,
            "min_confidence": min_confidence,
            "iterations": iterations,
            "group_tolerance": group_tolerance,
            "alpha": alpha,
            "min_group_size": min_group_size,
            "confidence": confidence,
            "sample": sample_size,
            "seed": seed,
        },
        overall=overall,
        attacks=tuple(per_attack),
        groups=tuple(groups),
        findings=tuple(findings),
        small_groups=tuple(small),
        queries=queries,
        examples=tuple(examples),
        notes=tuple(notes),
        rows=rows,
        found=best_rows,
        labels=labels,
    )


def _plain(value: Any) -> Any:
    value = value.item() if isinstance(value, np.generic) else value
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value if isinstance(value, str | int | float | bool) or value is None else str(value)


def _same(a: Any, b: Any) -> bool:
    return bool(a == b) or bool(pd.isna(a) and pd.isna(b))


def outcome(document: Any) -> dict[str, Any]:
    """The verdict, the findings as violations, and the success rates as metrics."""
    result = document.get("result") or {}
    spec = document.get("spec") or {}
    violations = [
        {"check_type": f"adversarial_{f['kind']}_check", "subject": f["subject"], "description": f["description"],
         "value": f["value"], "threshold": f["threshold"]}
        for f in result.get("findings") or []
    ]  # fmt: skip
    metrics: list[dict[str, Any]] = []
    overall = result.get("overall") or {}
    if isinstance(overall.get("success_rate"), int | float):
        metrics.append({"name": "adversarial_success_rate", "subject": "", "value": float(overall["success_rate"])})
    sure = overall.get("judged") or {}
    if isinstance(sure.get("success_rate"), int | float):
        metrics.append({"name": "adversarial_judged_success_rate", "subject": "", "value": float(sure["success_rate"]),
                        "threshold": spec.get("max_success")})  # fmt: skip
    if isinstance(overall.get("median_distance"), int | float):
        metrics.append({"name": "adversarial_median_distance", "subject": "",
                        "value": float(overall["median_distance"])})  # fmt: skip
    for group in result.get("groups") or []:
        if isinstance(group.get("success_rate"), int | float):
            metrics.append({"name": "adversarial_success_rate", "subject": f"{group['facet']}={group['value']}",
                            "value": float(group["success_rate"])})  # fmt: skip
    return {"status": document.get("status", "warn"), "violations": violations, "metrics": metrics}
