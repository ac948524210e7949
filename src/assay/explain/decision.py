"""The explanation of one decision, in plain language, for the person it affects: the SHAP contributions of that
row (computed by :func:`assay.explain.compute_shap`, additivity checked), its top factors as sentences, and a
counterfactual: the smallest change over the *actionable* features that flips the outcome.

The counterfactual search is Assay's own, small and bounded (see docs/contested-decisions.md for why not DiCE):

1. Candidate values per actionable feature come from the background (the model version's training data), so a
   suggestion is always a value people really have: for a number, the distinct values when there are few, else
   quantiles, always inside the observed range (whole numbers for an integer column); for a category, the observed
   categories (the most frequent ones first).
2. Level 1 scores every single-feature change in one model call; level ``k`` extends the ``beam`` changes of level
   ``k - 1`` that came closest to the other outcome by one more feature, again in one call, up to ``max_changes``
   features. The first level with a flip wins (fewest features changed), and among its flips the smallest change
   (each number's move as a share of its observed range, a category change counting 1).
3. The chosen change is shrunk: each number is moved back toward the person's own value as far as the outcome still
   flips (one call), and the result is re-scored on its own (one call): only a verified flip is returned.

The number of model calls is at most ``max_changes + 3`` (the person's own score, the levels, the shrinking and the
verification) and the rows scored at most ``max_rows``.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from assay.adapters import Model
from assay.errors import InvalidInput
from assay.explain._data import is_numeric_column, json_value
from assay.explain._shap import check_additivity, compute_shap

__all__ = [
    "IMMUTABLE",
    "Counterfactual",
    "DecisionExplanation",
    "Factor",
    "explain_decision",
    "find_counterfactual",
    "humanise",
]

#: Column names (compared without case, spaces, '-' and '_') a counterfactual never changes, even when declared
#: actionable: characteristics a person cannot or should not be asked to change (protected attributes, age).
IMMUTABLE: tuple[str, ...] = (
    "age", "sex", "gender", "race", "ethnicity", "ethnic", "religion", "nationality", "native-country",
    "country-of-birth", "marital-status", "relationship", "disability", "pregnancy", "sexual-orientation",
    "is_male", "male", "female", "married",
)  # fmt: skip
_CANDIDATES = 24  # candidate values per feature
_BEAM = 8
_NUMERIC_COST_FLOOR = 1e-12


def _key(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def humanise(name: str) -> str:
    """A column name as words: ``hours-per-week`` -> ``hours per week``, ``capitalGain`` stays as it is."""
    return " ".join(name.replace("_", " ").replace("-", " ").split()) or name


def _shown(value: Any) -> str:
    value = json_value(value)
    if value is None:
        return "missing"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.3g}"
    return str(value)


@dataclass(frozen=True)
class Factor:
    """One feature's part in the decision: its value, its SHAP contribution and the sentence that says it."""

    feature: str
    value: Any
    contribution: float
    sentence: str

    def to_dict(self) -> dict[str, Any]:
        return {"feature": self.feature, "value": json_value(self.value), "contribution": self.contribution,
                "direction": "raised" if self.contribution > 0 else "lowered", "sentence": self.sentence}  # fmt: skip


@dataclass(frozen=True)
class Counterfactual:
    """The smallest change found that flips the outcome (``changes``: ``{feature, from, to}``), the probability it
    gets, and how much the search cost; ``found`` False with ``reason`` when no change within the bounds flips it."""

    found: bool
    changes: tuple[dict[str, Any], ...] = ()
    probability: float | None = None
    outcome: str | None = None
    sentence: str = ""
    reason: str = ""
    model_calls: int = 0
    rows_scored: int = 0
    verified: bool = False
    actionable: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "found": self.found, "changes": [dict(c) for c in self.changes], "probability": self.probability,
            "outcome": self.outcome, "sentence": self.sentence, "reason": self.reason, "verified": self.verified,
            "actionable": list(self.actionable),
            "search": {"model_calls": self.model_calls, "rows_scored": self.rows_scored},
        }  # fmt: skip


@dataclass(frozen=True)
class DecisionExplanation:
    """The explanation of one decision (``to_dict()`` is what a review item or a contested case keeps)."""

    features: dict[str, Any]
    probability: float
    positive: bool
    outcome: str
    threshold: float
    contributions: dict[str, float]
    expected_value: float
    output_scale: str
    explainer: str
    additivity_error: float
    factors: tuple[Factor, ...]
    summary: str
    counterfactual: Counterfactual | None
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "features": {k: json_value(v) for k, v in self.features.items()},
            "probability": self.probability, "positive": self.positive, "outcome": self.outcome,
            "threshold": self.threshold, "summary": self.summary,
            "shap": {"values": dict(self.contributions), "expected_value": self.expected_value,
                     "output_scale": self.output_scale, "explainer": self.explainer,
                     "additivity_error": self.additivity_error},
            "factors": [f.to_dict() for f in self.factors],
            "counterfactual": None if self.counterfactual is None else self.counterfactual.to_dict(),
            "notes": list(self.notes),
        }  # fmt: skip


def _row_frame(
    model: Model, row: Mapping[str, Any] | pd.DataFrame | pd.Series, background: pd.DataFrame
) -> pd.DataFrame:
    """The row as a one-row frame of the model's features, typed as the background's columns."""
    if isinstance(row, pd.DataFrame):
        if len(row) != 1:
            raise InvalidInput(f"a decision is one row, not {len(row)}")
        record: dict[str, Any] = {str(k): v for k, v in row.iloc[0].to_dict().items()}
    else:
        record = {str(k): v for k, v in dict(row).items()}
    names = list(model.feature_names)
    missing = [n for n in names if n not in record]
    if missing:
        raise InvalidInput(
            f"the decision's features lack {', '.join(repr(m) for m in missing[:5])}: the model needs "
            f"{', '.join(names)}"
        )
    frame = pd.DataFrame([{n: record[n] for n in names}])
    for name in names:
        if name in background.columns:
            wanted = background[name].dtype
            try:
                frame[name] = frame[name].astype(wanted)
            except (TypeError, ValueError):
                raise InvalidInput(
                    f"feature {name!r} = {record[name]!r} does not fit the training data's type ({wanted})"
                ) from None
    return frame


def _factors(
    names: Sequence[str], row: pd.DataFrame, values: np.ndarray[Any, Any], positive_text: str, top: int
) -> tuple[Factor, ...]:
    order = [i for i in np.argsort(-np.abs(values), kind="stable") if values[i] != 0][:top]
    out: list[Factor] = []
    for rank, i in enumerate(order):
        name, value, contribution = names[i], row.iloc[0, i], float(values[i])
        verb = "raised" if contribution > 0 else "lowered"
        numeric = isinstance(json_value(value), int | float) and not isinstance(json_value(value), bool)
        subject = f"Your {humanise(name)} of {_shown(value)}" if numeric else f"Your {humanise(name)}, {_shown(value)},"
        if rank == 0:
            sentence = f"{subject} {verb} the chance of {positive_text} the most."
        else:
            also = "also " if (contribution > 0) == (out[0].contribution > 0) else ""
            sentence = f"{subject} {also}{verb} the chance of {positive_text}."
        out.append(Factor(name, value, contribution, sentence))
    return tuple(out)


def explain_decision(
    model: Model,
    row: Mapping[str, Any] | pd.DataFrame | pd.Series,
    background: pd.DataFrame,
    *,
    actionable: Sequence[str] = (),
    immutable: Sequence[str] = IMMUTABLE,
    positive_text: str = "the positive outcome",
    negative_text: str = "the negative outcome",
    threshold: float = 0.5,
    top: int = 3,
    method: str = "auto",
    background_rows: int = 100,
    seed: int = 0,
    max_changes: int = 3,
    max_rows: int = 20_000,
    counterfactual: bool = True,
) -> DecisionExplanation:
    """Explain ``model``'s decision on ``row`` (a mapping or a one-row frame with the model's features) against
    ``background`` (rows of the training data; at most ``background_rows`` are used by SHAP). The decision is
    positive when the probability of the model's positive class is at least ``threshold``; ``positive_text`` and
    ``negative_text`` name the two outcomes in the person's words (e.g. "approval", "refusal"). The counterfactual
    changes only ``actionable`` features, never one named in ``immutable``."""
    if not 0.0 < threshold < 1.0:
        raise InvalidInput(f"threshold {threshold} must be between 0 and 1")
    if not 1 <= top <= 50:
        raise InvalidInput(f"top {top} must be 1 to 50 factors")
    names = list(model.feature_names)
    bg = model.features(background)
    if len(bg) == 0:
        raise InvalidInput("the background (training data) has no rows")
    x = _row_frame(model, row, bg)
    if len(bg) > background_rows:
        bg = bg.sample(background_rows, random_state=seed).reset_index(drop=True)
    out = compute_shap(model, x, bg, method=method, seed=seed)
    probability = float(model.predict_proba(x)[0])
    positive = probability >= threshold
    outcome = positive_text if positive else negative_text
    values = out.values[0]
    notes = list(out.notes)
    gap = check_additivity(out)
    if gap is not None:
        notes.append(gap)
    factors = _factors(names, x, values, positive_text, top)
    summary = f"The decision was {outcome} (the model gave a {probability:.0%} chance of {positive_text})."
    cf = None
    if counterfactual:
        cf = find_counterfactual(
            model, x, background, actionable=actionable, immutable=immutable, threshold=threshold,
            positive_text=positive_text, negative_text=negative_text, max_changes=max_changes, max_rows=max_rows,
        )  # fmt: skip
    return DecisionExplanation(
        features={n: x.iloc[0][n] for n in names}, probability=probability, positive=positive, outcome=outcome,
        threshold=threshold, contributions={n: float(v) for n, v in zip(names, values, strict=True)},
        expected_value=float(out.expected_value), output_scale=out.output_scale, explainer=out.explainer,
        additivity_error=float(out.additivity_error), factors=factors, summary=summary, counterfactual=cf,
        notes=tuple(notes),
    )  # fmt: skip


# -- the counterfactual search -------------------------------------------------------------------------------------


@dataclass
class _Space:
    """Candidate values of one actionable feature and how far each is from the person's own value."""

    name: str
    numeric: bool
    values: list[Any]
    costs: list[float]


def _check_actionable(names: Sequence[str], actionable: Sequence[str], immutable: Sequence[str]) -> list[str]:
    fixed = {_key(n) for n in immutable}
    out: list[str] = []
    for name in dict.fromkeys(actionable):
        if name not in names:
            raise InvalidInput(f"actionable feature {name!r} is not a feature of the model ({', '.join(names)})")
        if _key(name) in fixed:
            raise InvalidInput(
                f"feature {name!r} is immutable (a characteristic a person cannot or should not change): a "
                "counterfactual never changes it; leave it out of the actionable features"
            )
        out.append(name)
    return out


def _space(name: str, column: pd.Series, current: Any) -> _Space:
    observed = column.dropna()
    if is_numeric_column(column):
        numbers = pd.to_numeric(observed, errors="coerce").dropna().to_numpy(dtype=np.float64)
        if len(numbers) == 0:
            return _Space(name, True, [], [])
        low, high = float(numbers.min()), float(numbers.max())
        distinct = np.unique(numbers)
        if len(distinct) <= _CANDIDATES:
            grid = distinct
        else:
            grid = np.unique(np.quantile(numbers, np.linspace(0.0, 1.0, _CANDIDATES)))
            if pd.api.types.is_integer_dtype(column.dtype) or np.all(numbers == np.rint(numbers)):
                grid = np.unique(np.rint(grid))
        span = max(high - low, _NUMERIC_COST_FLOOR)
        own = float(current) if current is not None and not pd.isna(current) else math.nan
        values, costs = [], []
        for v in grid:
            if not low <= v <= high or (not math.isnan(own) and v == own):
                continue
            values.append(int(v) if pd.api.types.is_integer_dtype(column.dtype) else float(v))
            costs.append(1.0 if math.isnan(own) else abs(float(v) - own) / span)
        return _Space(name, True, values, costs)
    counts = observed.astype(object).value_counts()
    values = [v for v in counts.index[: _CANDIDATES + 1] if v != current][:_CANDIDATES]
    return _Space(name, False, values, [1.0] * len(values))


class _Scorer:
    def __init__(self, model: Model, max_rows: int) -> None:
        self.model, self.max_rows, self.calls, self.rows = model, max_rows, 0, 0

    def room(self) -> int:
        return self.max_rows - self.rows

    def __call__(self, frame: pd.DataFrame) -> np.ndarray[Any, Any]:
        self.calls += 1
        self.rows += len(frame)
        return self.model.predict_proba(frame)


def _apply(base: pd.DataFrame, changes: list[tuple[str, Any]]) -> dict[str, Any]:
    record = {str(k): v for k, v in base.iloc[0].to_dict().items()}
    for name, value in changes:
        record[name] = value
    return record


def _frame(base: pd.DataFrame, rows: list[dict[str, Any]]) -> pd.DataFrame:
    out = pd.DataFrame(rows, columns=list(base.columns))
    for c in base.columns:
        with contextlib.suppress(TypeError, ValueError):  # left as pandas made it; the model's adapter says if wrong
            out[c] = out[c].astype(base[c].dtype)
    return out


def _sentence(changes: Sequence[dict[str, Any]], outcome: str) -> str:
    parts = [f"your {humanise(c['feature'])} were {_shown(c['to'])} instead of {_shown(c['from'])}" for c in changes]
    joined = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"If {joined}, the outcome would have been {outcome}."


def find_counterfactual(
    model: Model,
    row: Mapping[str, Any] | pd.DataFrame,
    background: pd.DataFrame,
    *,
    actionable: Sequence[str],
    immutable: Sequence[str] = IMMUTABLE,
    threshold: float = 0.5,
    positive_text: str = "the positive outcome",
    negative_text: str = "the negative outcome",
    max_changes: int = 3,
    max_rows: int = 20_000,
    beam: int = _BEAM,
) -> Counterfactual:
    """The smallest change of ``actionable`` features of ``row`` that flips the model's outcome (see the module's
    docstring), verified by re-scoring; ``found`` False with the reason when none is found within the bounds."""
    if not 1 <= max_changes <= 10:
        raise InvalidInput(f"max_changes {max_changes} must be 1 to 10 features")
    if max_rows < 1:
        raise InvalidInput(f"max_rows {max_rows} must be at least 1")
    names = list(model.feature_names)
    chosen = _check_actionable(names, actionable, immutable)
    bg = model.features(background)
    base = _row_frame(model, row, bg)
    score = _Scorer(model, max_rows)
    p0 = float(score(base)[0])
    target_positive = not p0 >= threshold
    outcome = positive_text if target_positive else negative_text

    def done(**kw: Any) -> Counterfactual:
        return Counterfactual(model_calls=score.calls, rows_scored=score.rows, actionable=tuple(chosen), **kw)

    if not chosen:
        return done(found=False, reason="no actionable features were declared, so no change is suggested")
    spaces = {s.name: s for s in (_space(n, bg[n], base.iloc[0][n]) for n in chosen)}
    spaces = {k: s for k, s in spaces.items() if s.values}
    if not spaces:
        return done(found=False, reason="the training data has no other values of the actionable features")

    def gain(p: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        return p - threshold if target_positive else threshold - p - 1e-12

    # a state: the changes as ((feature, value index), ...), sorted by feature
    frontier: list[tuple[tuple[str, int], ...]] = [()]
    best: tuple[float, tuple[tuple[str, int], ...], float] | None = None
    for _level in range(1, max_changes + 1):
        states: list[tuple[tuple[str, int], ...]] = []
        seen: set[tuple[tuple[str, int], ...]] = set()
        for state in frontier:
            used = {f for f, _ in state}
            for name, space in spaces.items():
                if name in used:
                    continue
                for i in range(len(space.values)):
                    new = tuple(sorted((*state, (name, i))))
                    if new not in seen:
                        seen.add(new)
                        states.append(new)
        if not states:
            break
        if len(states) > score.room() - 2:
            states = states[: max(0, score.room() - 2)]
            if not states:
                break
        rows = [_apply(base, [(f, spaces[f].values[i]) for f, i in s]) for s in states]
        p = score(_frame(base, rows))
        g = gain(p)
        flips = np.flatnonzero(g >= 0)
        if len(flips):
            costs = [sum(spaces[f].costs[i] for f, i in states[j]) for j in flips]
            j = int(flips[int(np.argmin(costs))])
            best = (float(min(costs)), states[j], float(p[j]))
            break
        order = np.argsort(-g, kind="stable")[:beam]
        frontier = [states[j] for j in order]
    if best is None:
        return done(
            found=False,
            reason=f"no change of at most {max_changes} of the actionable features ({', '.join(chosen)}), to values "
            f"seen in the training data, gives {outcome} (within {max_rows} rows scored)",
        )
    _, state, _probability = best
    changes = [(f, spaces[f].values[i]) for f, i in state]
    # shrink each number toward the person's own value, as far as the outcome still flips (one call)
    trials: list[list[tuple[str, Any]]] = []
    for k, (name, i) in enumerate(state):
        space = spaces[name]
        if not space.numeric:
            continue
        closer = [j for j in range(len(space.values)) if space.costs[j] < space.costs[i]]
        for j in closer:
            trial = list(changes)
            trial[k] = (name, space.values[j])
            trials.append(trial)
    trials = trials[: max(0, score.room() - 1)]
    if trials:
        p = score(_frame(base, [_apply(base, t) for t in trials]))
        g = gain(p)
        current = sum(spaces[f].costs[spaces[f].values.index(v)] for f, v in changes)
        for t, ok in zip(trials, g >= 0, strict=True):
            cost = sum(spaces[f].costs[spaces[f].values.index(v)] for f, v in t)
            if ok and cost < current:
                changes, current = t, cost
    final = _frame(base, [_apply(base, changes)])
    verified_p = float(score(final)[0])
    verified = (verified_p >= threshold) == target_positive
    if not verified:  # pragma: no cover - the same rows scored twice give the same answer for a deterministic model
        return done(found=False, reason="the change found did not flip the outcome when scored again (a random model?)")
    described = tuple({"feature": f, "from": json_value(base.iloc[0][f]), "to": json_value(v)} for f, v in changes)
    return done(
        found=True, changes=described, probability=verified_p, outcome=outcome, sentence=_sentence(described, outcome),
        verified=True,
    )  # fmt: skip
