"""The explanation stability test: how much a model's SHAP explanations move under small perturbations of its rows
(issue 19; Alvarez-Melis & Jaakkola 2018, "On the robustness of interpretability methods").

It lives here rather than in :mod:`assay.explain` because it combines that package's SHAP code with the corruptions
of :mod:`assay.robustness.corrupt`, and siblings stay independent of each other (as the robustness suite does).

Flow: a seeded sample of rows (and background rows) -> ``perturbations`` copies of the sample, each with Gaussian
noise at ``severity`` times each numeric column's spread (and, with ``swap`` above 0, that share of rows given another
observed category in each categorical column) -> SHAP values of the clean sample and of each copy, every one with the
same explainer, background and seed (for the sampling explainers, row *i* of every copy draws the same permutations:
common random numbers, so the comparison measures the model and the method, not Monte Carlo noise) -> the measures of
:mod:`assay.explain.stability` per row, summarised with bootstrap intervals, overall and per group of a facet ->
the verdict: ``fail`` when the mean per-row Spearman correlation is below ``min_rank_correlation``, or a group's is
below the other rows' by more than ``group_tolerance`` with the gap's interval above 0 (both sides at least
``min_group_size`` rows); ``warn`` when a group was too small to judge; ``pass`` otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd

from assay.documents import Note, head, now
from assay.errors import InvalidInput
from assay.frames import Label
from assay.frames import open as open_frame
from assay.privacy._data import require, sample
from assay.robustness.corrupt import corrupt, kind_of, spread

__all__ = ["MAX_GROUPS", "SCHEMA", "ExplanationStability", "explanation_stability", "outcome"]

SCHEMA: Final = "assay.explanation-stability"
MAX_GROUPS: Final = 20  # the commonest values of the facet get their own figures
_MIN_ROWS: Final = 10
#: rows explained when no sample size is given, by explainer: the sampling explainers cost ~100x more per row
DEFAULT_SAMPLE: Final = {"tree": 100, "linear": 100, "permutation": 20, "kernel": 20}


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None or not math.isfinite(value) else round(float(value), digits)


def _interval(interval: tuple[float, float] | None) -> list[float | None] | None:
    return None if interval is None else [_round(interval[0]), _round(interval[1])]


@dataclass(frozen=True)
class ExplanationStability:
    model: dict[str, Any]
    data: dict[str, Any]
    spec: dict[str, Any]
    method: dict[str, Any]
    rows: dict[str, Any]
    global_: dict[str, Any]
    groups: tuple[dict[str, Any], ...]
    findings: tuple[dict[str, Any], ...]
    small_groups: tuple[str, ...]
    per_row: dict[str, list[float | None]]
    notes: tuple[Note, ...] = ()
    created_at: str = field(default_factory=now)

    @property
    def status(self) -> str:
        if self.findings:
            return "fail"
        return "warn" if self.small_groups else "pass"

    def to_dict(self) -> dict[str, Any]:
        rho = self.rows["spearman"]
        interval = "" if rho["interval"] is None else f" [{rho['interval'][0]:.3f}, {rho['interval'][1]:.3f}]"
        figures = (
            f"mean rank correlation {rho['mean']:.3f}{interval}, top-{self.spec['top_k']} overlap "
            f"{self.rows['jaccard']['mean']:.3f}, global ranking {self.global_['spearman_mean']:.3f}"
        )
        if self.findings:
            summary = f"{len(self.findings)} findings: " + "; ".join(f["description"] for f in self.findings[:3])
        elif self.small_groups:
            summary = f"{figures}; groups too small to judge: {', '.join(self.small_groups)}"
        else:
            summary = f"{figures}: at least {self.spec['min_rank_correlation']}, no finding"
        return {
            **head(SCHEMA, created_at=self.created_at),
            "model": self.model,
            "data": self.data,
            "spec": self.spec,
            "method": self.method,
            "status": self.status,
            "summary": summary,
            "result": {
                "rows": self.rows,
                "global": self.global_,
                "groups": list(self.groups),
                "findings": list(self.findings),
                "small_groups": list(self.small_groups),
                "per_row": self.per_row,
            },
            "warnings": [n.to_dict() for n in self.notes],
        }


def _distances(clean: pd.DataFrame, copies: Sequence[pd.DataFrame], numeric: Sequence[str],
               categorical: Sequence[str]) -> np.ndarray:  # fmt: skip
    """``(copies, rows)``: the distance of each copy of a row from the row, numbers in units of their column's
    spread (the noise's unit), one per changed category."""
    scales = {c: spread(clean[c]) for c in numeric}
    out = np.zeros((len(copies), len(clean)))
    for k, copy in enumerate(copies):
        squares = np.zeros(len(clean))
        for c in numeric:
            if scales[c] > 0:
                before = clean[c].to_numpy(dtype=np.float64, na_value=np.nan)
                after = copy[c].to_numpy(dtype=np.float64, na_value=np.nan)
                step = np.nan_to_num((after - before) / scales[c], nan=0.0)
                squares += step * step
        for c in categorical:
            before_text = clean[c].astype("string").fillna("\x00")
            after_text = copy[c].astype("string").fillna("\x00")
            squares += (before_text != after_text).to_numpy(dtype=np.float64)
        out[k] = np.sqrt(squares)
    return out


def _summary(values: np.ndarray, statistic: str, bootstrap: int, confidence: float, rng: np.random.Generator,
             quantile: float | None = None) -> dict[str, Any]:  # fmt: skip
    """The mean (or median) of per-row ``values`` with its bootstrap interval, and a tail quantile."""
    from assay.explain.stability import bootstrap_interval

    finite = values[np.isfinite(values)]
    reduce = np.mean if statistic == "mean" else np.median
    point = float(reduce(finite)) if len(finite) else math.nan
    interval = bootstrap_interval(len(finite), lambda at: float(reduce(finite[at])), bootstrap, confidence, rng)
    out: dict[str, Any] = {statistic: _round(point), "interval": _interval(interval), "rows": len(finite)}
    if quantile is not None:
        out[f"q{round(quantile * 100):02d}"] = _round(float(np.quantile(finite, quantile)) if len(finite) else None)
    return out


def explanation_stability(
    data: Any,
    model: Any,
    *,
    label: Label | None = None,
    facet: str | None = None,
    sample_size: int | None = None,
    perturbations: int = 3,
    severity: float = 0.1,
    swap: float = 0.0,
    columns: Sequence[str] | None = None,
    immutable: Sequence[str] = (),
    background: int = 100,
    method: str = "auto",
    top_k: int = 3,
    min_rank_correlation: float = 0.7,
    group_tolerance: float = 0.1,
    min_group_size: int = 20,
    bootstrap: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> ExplanationStability:
    """Explain a sample of ``data`` with ``model`` (an :class:`assay.adapters.Model`) clean and perturbed, and measure
    how much the explanations move; see the module docstring."""
    from assay.explain._shap import check_additivity, choose_method, compute_shap, import_shap
    from assay.explain.stability import global_interval, global_measures, row_measures

    say = progress or (lambda _stage: None)
    if model is None:
        raise InvalidInput("the explanation stability test needs the model: give --model")
    if label is not None:
        model = model.with_positive(label.values)
    frame = open_frame(data)
    features = list(model.feature_names)
    require(frame, [label.column if label is not None else None], role="label column")
    require(frame, [facet], role="facet column")
    require(frame, features, role="model feature")
    require(frame, list(columns or []), role="columns:")
    require(frame, list(immutable), role="immutable:")
    if len(features) < 2:
        raise InvalidInput(f"the model has {len(features)} feature: a ranking of attributions needs at least 2")
    notes: list[Note] = []
    if top_k >= len(features):  # every feature would be in the top k
        notes.append(Note("top_k", f"top_k {top_k} lowered to {len(features) - 1}: the model has {len(features)} "
                                   "features"))  # fmt: skip
        top_k = len(features) - 1
    outside = [c for c in (columns or []) if c not in features]
    if outside:
        raise InvalidInput(f"columns: {outside[0]!r} is not a feature of the model; it has {', '.join(features[:20])}")
    chosen = [c for c in (columns if columns is not None else features) if c not in set(immutable)]
    if not chosen:
        raise InvalidInput("columns: no column is left to perturb (every one is immutable); name columns to perturb")

    wanted = list(dict.fromkeys([*features, *([facet] if facet else [])]))
    say("sampling rows")
    rows, _, total = sample(frame, wanted, (sample_size or max(DEFAULT_SAMPLE.values())) + background, seed)
    if len(rows) < _MIN_ROWS:
        raise InvalidInput(
            f"{frame.source} has {len(rows)} rows: explanation stability needs at least {_MIN_ROWS} (the noise is "
            "scaled to each column's spread in the sample)"
        )
    if sample_size is None:
        sample_size = DEFAULT_SAMPLE[choose_method(model, rows[features].head(1), method)]
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(rows))
    explained = rows.iloc[np.sort(order[: min(sample_size, len(rows))])].reset_index(drop=True)
    rest = order[sample_size:]
    bg_positions = rest if len(rest) >= min(background, len(rows)) else order[: min(background, len(rows))]
    bg = rows.iloc[np.sort(bg_positions[:background])][features].reset_index(drop=True)

    kinds = {c: kind_of(explained[c]) for c in chosen}
    numeric = [c for c, k in kinds.items() if k == "numeric"]
    categorical = [c for c, k in kinds.items() if k == "categorical"] if swap > 0 else []
    if not numeric and not categorical:
        raise InvalidInput(
            "columns: none of the perturbed columns is numeric, so noise changes nothing; set swap above 0 to swap "
            "categories"
        )
    flat = [c for c in numeric if spread(explained[c]) == 0]
    if flat:
        notes.append(Note("constant_column", f"no noise on {', '.join(flat)}: constant in the sample"))

    x = explained[features]
    copies: list[pd.DataFrame] = []
    for k in range(perturbations):
        stream = seed * 1_000 + k + 1  # each copy its own streams, the same for the same seed
        changed, _ = corrupt(x, "noise", severity, numeric, seed=stream)
        if categorical:
            changed, _ = corrupt(changed, "swap", swap, categorical, seed=stream)
        copies.append(changed)
    distance = _distances(x, copies, numeric, categorical)

    say(f"explaining {len(x)} rows clean")
    clean = compute_shap(model, x, bg, method=method, seed=seed, progress=say)
    values = []
    for k, copy in enumerate(copies):
        say(f"explaining perturbed copy {k + 1} of {perturbations}")
        out = compute_shap(model, copy, bg, method=method, seed=seed)
        values.append(out.values)
        failed = check_additivity(out)
        if failed and not any(n.code == "additivity" for n in notes):
            notes.append(Note("additivity", failed))
    perturbed = np.stack(values)
    failed = check_additivity(clean)
    if failed and not any(n.code == "additivity" for n in notes):
        notes.append(Note("additivity", failed))
    notes += [Note("explainer", n) for n in clean.notes]

    say("measuring stability")
    measures = row_measures(clean.values, perturbed, distance, top_k)
    if measures.undefined:
        notes.append(Note("undefined_rank", f"{measures.undefined} (row, copy) pairs have all attributions equal on "
                                            "one side only: no rank correlation, not counted"))  # fmt: skip
    unmoved = int((distance == 0).all(axis=0).sum())
    if unmoved:
        notes.append(Note("unchanged_rows", f"{unmoved} rows are unchanged in every copy (integer columns rounded "
                                            "back): they count as perfectly stable"))  # fmt: skip

    figures: dict[str, Any] = {
        "spearman": _summary(measures.spearman, "mean", bootstrap, confidence, rng, 0.1),
        "kendall": _summary(measures.kendall, "mean", bootstrap, confidence, rng, 0.1),
        "jaccard": _summary(measures.jaccard, "mean", bootstrap, confidence, rng, 0.1),
        "lipschitz": {**_summary(measures.lipschitz, "median", bootstrap, confidence, rng, 0.9),
                      "max": _round(float(np.nanmax(measures.lipschitz)) if np.isfinite(measures.lipschitz).any()
                                    else None)},
        "undefined_pairs": measures.undefined,
    }  # fmt: skip
    overall = global_measures(clean.values, perturbed, top_k)
    importance = np.abs(clean.values).mean(axis=0)
    ranking = sorted(range(len(features)), key=lambda j: (-importance[j], features[j]))
    interval_of_global = global_interval(clean.values, perturbed, bootstrap, confidence, rng)
    global_figures = {
        "clean_ranking": [{"feature": features[j], "mean_abs_shap": _round(float(importance[j]), 6)} for j in ranking],
        "perturbed_mean_abs_shap": [
            {features[j]: _round(float(np.abs(perturbed[c][:, j]).mean()), 6) for j in ranking}
            for c in range(perturbations)
        ],
        "spearman": [_round(v) for v in overall["spearman"]],
        "jaccard": [_round(v) for v in overall["jaccard"]],
        "spearman_mean": _round(float(np.nanmean(overall["spearman"]))),
        "spearman_interval": _interval(interval_of_global),
        "jaccard_mean": _round(float(np.mean(overall["jaccard"]))),
    }

    findings: list[dict[str, Any]] = []
    mean_rho = figures["spearman"]["mean"]
    if mean_rho is not None and mean_rho < min_rank_correlation:
        findings.append({
            "kind": "rank_correlation", "subject": "", "value": mean_rho, "threshold": min_rank_correlation,
            "description": f"noise at severity {severity}: the mean rank correlation of the attributions is "
                           f"{mean_rho:.3f}, below {min_rank_correlation}",
        })  # fmt: skip

    groups: list[dict[str, Any]] = []
    small: list[str] = []
    if facet:
        labels = explained[facet].astype("string").fillna("(missing)").to_numpy(dtype=object)
        found, counts = np.unique(labels, return_counts=True)
        values_shown = [str(v) for v in found[np.argsort(-counts, kind="stable")][:MAX_GROUPS]]
        if len(found) > MAX_GROUPS:
            notes.append(Note("many_groups", f"{facet} has {len(found)} values: the {MAX_GROUPS} commonest are shown"))
        rho = measures.spearman
        for value in values_shown:
            inside = labels == value
            n_in, n_out = int(inside.sum()), int((~inside).sum())
            mine, theirs = rho[inside], rho[~inside]
            entry: dict[str, Any] = {
                "value": value,
                "rows": n_in,
                "spearman": _summary(mine, "mean", bootstrap, confidence, rng),
                "jaccard": _summary(measures.jaccard[inside], "mean", bootstrap, confidence, rng),
                "lipschitz": _summary(measures.lipschitz[inside], "median", 0, confidence, rng),
            }
            judged = min(n_in, n_out) >= min_group_size
            gap = interval = None
            if np.isfinite(mine).any() and np.isfinite(theirs).any():
                gap = float(np.nanmean(theirs) - np.nanmean(mine))
                if judged:
                    interval = _gap_interval(mine, theirs, bootstrap, confidence, rng)
            entry |= {"gap": _round(gap), "gap_interval": _interval(interval), "judged": judged}
            if not judged:
                small.append(f"{facet}={value}")
            elif gap is not None and gap > group_tolerance and (interval is None or interval[0] > 0):
                findings.append({
                    "kind": "group", "subject": f"{facet}={value}", "value": _round(gap),
                    "threshold": group_tolerance,
                    "description": f"{facet}={value}: explanations less stable than for the other rows (mean rank "
                                   f"correlation {np.nanmean(mine):.3f} against {np.nanmean(theirs):.3f}; gap "
                                   f"{gap:.3f} above {group_tolerance})",
                })  # fmt: skip
            groups.append(entry)
        if small:
            notes.append(Note("small_group", f"groups with fewer than {min_group_size} explained rows (or other "
                                             f"rows) are not judged: {', '.join(small)}"))  # fmt: skip

    return ExplanationStability(
        model=model.describe(),
        data={"source": frame.source, "rows": total, "explained": len(x), "background": len(bg)},
        spec={
            "label": None if label is None else label.column,
            "positive": None if label is None or label.values is None else [str(v) for v in label.values],
            "facet": facet,
            "perturbations": perturbations,
            "severity": severity,
            "swap": swap,
            "columns": chosen,
            "noised": numeric,
            "swapped": categorical,
            "immutable": list(immutable),
            "top_k": top_k,
            "min_rank_correlation": min_rank_correlation,
            "group_tolerance": group_tolerance,
            "min_group_size": min_group_size,
            "sample": sample_size,
            "bootstrap": bootstrap,
            "confidence": confidence,
            "seed": seed,
        },
        method={
            "explainer": clean.explainer,
            "shap_explainer": clean.shap_class,
            "shap_version": str(import_shap().__version__),
            "output_scale": clean.output_scale,
            "background": {"rows": clean.background_rows, "method": clean.background_method},
            "options": clean.options,
            "common_random_numbers": clean.explainer in ("permutation", "kernel"),
        },
        rows=figures,
        global_=global_figures,
        groups=tuple(groups),
        findings=tuple(findings),
        small_groups=tuple(small),
        per_row={
            "spearman": [_round(v) for v in measures.spearman],
            "jaccard": [_round(v) for v in measures.jaccard],
            "lipschitz": [_round(v, 6) for v in measures.lipschitz],
        },
        notes=tuple(notes),
    )


def _gap_interval(mine: np.ndarray, theirs: np.ndarray, replicates: int, confidence: float,
                  rng: np.random.Generator) -> tuple[float, float] | None:  # fmt: skip
    """A percentile bootstrap interval of mean(theirs) - mean(mine), each side resampled on its own."""
    a, b = mine[np.isfinite(mine)], theirs[np.isfinite(theirs)]
    if replicates <= 0 or len(a) < 2 or len(b) < 2:
        return None
    draws = b[rng.integers(0, len(b), (replicates, len(b)))].mean(axis=1) - a[
        rng.integers(0, len(a), (replicates, len(a)))
    ].mean(axis=1)
    tail = (1 - confidence) / 2
    low, high = np.quantile(draws, [tail, 1 - tail])
    return float(low), float(high)


def outcome(document: Any) -> dict[str, Any]:
    """The verdict, the findings as violations, and the rank correlation, top-k overlap and global ranking as
    metrics."""
    result = document.get("result") or {}
    spec = document.get("spec") or {}
    violations = [
        {"check_type": f"explanation_stability_{f['kind']}_check", "subject": f["subject"],
         "description": f["description"], "value": f["value"], "threshold": f["threshold"]}
        for f in result.get("findings") or []
    ]  # fmt: skip
    metrics: list[dict[str, Any]] = []
    rows = result.get("rows") or {}
    for name, key in (("rank_correlation", "spearman"), ("top_k_jaccard", "jaccard")):
        value = (rows.get(key) or {}).get("mean")
        if isinstance(value, int | float):
            entry = {"name": name, "subject": "rows", "value": float(value)}
            if name == "rank_correlation":
                entry["threshold"] = spec.get("min_rank_correlation")
            metrics.append(entry)
    lipschitz = (rows.get("lipschitz") or {}).get("median")
    if isinstance(lipschitz, int | float):
        metrics.append({"name": "lipschitz", "subject": "rows", "value": float(lipschitz)})
    ranking = (result.get("global") or {}).get("spearman_mean")
    if isinstance(ranking, int | float):
        metrics.append({"name": "rank_correlation", "subject": "global", "value": float(ranking)})
    for group in result.get("groups") or []:
        value = (group.get("spearman") or {}).get("mean")
        if isinstance(value, int | float):
            metrics.append({"name": "rank_correlation", "subject": f"{spec.get('facet')}={group['value']}",
                            "value": float(value)})  # fmt: skip
    return {"status": document.get("status", "warn"), "violations": violations, "metrics": metrics}
