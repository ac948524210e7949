"""Model extraction exposure: how many queries an attacker needs to train a surrogate that decides like the model.

The attacker holds unlabelled rows of the population (the "public data": a dataset the user gives, by default the
run's own data) and may query the model through its adapter (an HTTP endpoint, a file, a callable: the attack only
calls :meth:`assay.adapters.Model.answer`). Rows are drawn at random (``seed``); ``evaluation`` of them are held out
and never used to train a surrogate; the rest are queried in one random order, so each budget's rows extend the
previous budget's and every row is sent once. For each budget a surrogate is trained on the model's answers to the
queried rows, and its *agreement* (fidelity) with the model is measured on the held-out rows, with a Wilson interval:

* with probabilities (``answers="auto"`` and a model that gives them) the surrogates regress the log-odds of the
  answer (more information per query than a label: a logistic model is recovered from a few dozen rows) and decide
  positive above 0 (the model's own threshold, 0.5);
* with labels (a label-only endpoint, or ``answers="label"``) they are classifiers of the model's labels.

Two well-kept scikit-learn learners: ``gb`` (histogram gradient boosting, numbers as they are and text as categories:
it learns the thresholds and interactions of tree models) and ``linear`` (ridge or logistic regression on
standardised numbers and one-hot text: it recovers linear models from few queries); with ``both`` the better at
each budget counts, as an attacker would try both. The Adversarial Robustness Toolbox's extraction attacks do not fit
tabular black-box models: CopycatCNN and KnockoffNets train a neural-network thief in epochs (ART's scikit-learn
wrapper passes their epoch arguments to ``fit``), and FunctionallyEquivalentExtraction needs the logits of a
one-hidden-layer ReLU network.

Reported: the curve (budget -> agreement with its interval, each surrogate's agreement, the surrogate's accuracy on
the true labels when a label column is given, the mean probability error), the smallest budget reaching the stated
``agreement`` with at most half the disagreement of a constant answer (the model's commonest decision everywhere: on a
model that decides one way for 96 % of the rows such a copy agrees 0.96 and copies nothing), or none within the
budgets, the queries made (attack, evaluation, total) against the
cap, and the exposure: ``high`` when the stated agreement is reached within ``high_exposure`` queries (the verdict
fails), ``moderate`` when reached above it, ``low`` when not reached.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import numpy as np
import pandas as pd

from assay.documents import Note, head, now
from assay.errors import InvalidInput
from assay.frames import Label
from assay.frames import open as open_frame
from assay.privacy._data import binary, require, sample
from assay.privacy.options import DEFAULT_BUDGETS, MAX_QUERIES

__all__ = ["SCHEMA", "BudgetPoint", "Extraction", "extraction", "outcome"]

SCHEMA: Final = "assay.extraction"
CONFIDENCE: Final = 0.95  # of the Wilson intervals
BEYOND_CONSTANT: Final = 0.5  # a reached agreement disagrees at most this share of a constant answer's disagreement
MIN_EVALUATION: Final = 100  # held-out rows below which the verdict is "warn"
SURROGATES: Final = {"both": ("gb", "linear"), "gb": ("gb",), "linear": ("linear",)}
_EPS: Final = 1e-6  # probabilities clipped to [eps, 1 - eps] before the log-odds

Answers = Literal["probability", "label"]


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None or not math.isfinite(value) else round(float(value), digits)


def _wilson(hits: int, n: int) -> tuple[float, float]:
    from scipy.stats import binomtest

    ci = binomtest(hits, n).proportion_ci(confidence_level=CONFIDENCE, method="wilson")
    return float(ci.low), float(ci.high)


@dataclass(frozen=True)
class BudgetPoint:
    """The best surrogate trained on ``budget`` queried rows, judged on the held-out rows."""

    budget: int
    surrogate: str
    agreement: float
    interval: tuple[float, float]
    surrogates: dict[str, float]
    accuracy: float | None  # the best surrogate's accuracy on the true labels
    probability_error: float | None  # mean |surrogate probability - model probability| (probability answers)
    balanced: float = 0.0  # the mean over the model's decisions of the share of their rows the copy decides alike

    def to_dict(self) -> dict[str, Any]:
        return {
            "budget": self.budget,
            "surrogate": self.surrogate,
            "agreement": _round(self.agreement),
            "interval": [_round(v) for v in self.interval],
            "balanced_agreement": _round(self.balanced),
            "surrogates": {k: _round(v) for k, v in self.surrogates.items()},
            "accuracy": _round(self.accuracy),
            "probability_error": _round(self.probability_error),
        }


@dataclass(frozen=True)
class Extraction:
    model: dict[str, Any]
    data: dict[str, Any]
    spec: dict[str, Any]
    answers: Answers
    points: tuple[BudgetPoint, ...]
    queries: dict[str, int]
    target_accuracy: float | None
    notes: tuple[Note, ...] = ()
    created_at: str = field(default_factory=now)
    #: the agreement of a copy that answers the model's commonest decision on every held-out row (no query needed)
    constant_agreement: float = 0.0

    @property
    def reached(self) -> BudgetPoint | None:
        """The smallest budget whose agreement reaches the stated one and whose disagreement with the model is at
        most half a constant answer's (the model's commonest decision everywhere): where the model decides one way
        for 96 % of the rows, a copy answering that everywhere agrees 0.96 and copies nothing."""
        room = (1 - self.constant_agreement) * BEYOND_CONSTANT
        stated = self.spec["agreement"]
        return next((p for p in self.points if p.agreement >= stated and 1 - p.agreement <= room), None)

    @property
    def exposure(self) -> str:
        reached = self.reached
        if reached is None:
            return "low"
        return "high" if reached.budget <= self.spec["high_exposure"] else "moderate"

    @property
    def status(self) -> str:
        if self.queries["evaluation"] < MIN_EVALUATION:
            return "warn"
        return "fail" if self.exposure == "high" else "pass"

    def summary(self) -> str:
        stated, reached = self.spec["agreement"], self.reached
        if reached is not None:
            low, high = reached.interval
            text = (f"agreement {reached.agreement:.3f} [{low:.3f}, {high:.3f}] with the model reached with "
                    f"{reached.budget:,} queries (stated {stated})")  # fmt: skip
        else:
            best = max(self.points, key=lambda p: p.agreement)
            low, high = best.interval
            text = (f"agreement {stated} not reached within {self.points[-1].budget:,} queries (best "
                    f"{best.agreement:.3f} [{low:.3f}, {high:.3f}] at {best.budget:,}"
                    + (f"; balanced {best.balanced:.3f}, a constant answer agrees {self.constant_agreement:.3f}"
                       if best.agreement >= stated else "")
                    + ")")  # fmt: skip
        limit = f"{'within' if self.exposure == 'high' else 'high means within'} {self.spec['high_exposure']:,}"
        return f"{text}: exposure {self.exposure} ({limit} queries); {self.queries['total']:,} queries made"

    def to_dict(self) -> dict[str, Any]:
        reached = self.reached
        return {
            **head(SCHEMA, created_at=self.created_at),
            "model": self.model,
            "data": self.data,
            "spec": self.spec,
            "status": self.status,
            "summary": self.summary(),
            "result": {
                "exposure": self.exposure,
                "answers": self.answers,
                "agreement": self.spec["agreement"],
                "reached_at": None if reached is None else reached.budget,
                "high_exposure": self.spec["high_exposure"],
                "best_agreement": _round(max(p.agreement for p in self.points)),
                "constant_agreement": _round(self.constant_agreement),
                "curve": [p.to_dict() for p in self.points],
                "queries": dict(self.queries),
                "target_accuracy": _round(self.target_accuracy),
                "confidence": CONFIDENCE,
            },
            "warnings": [n.to_dict() for n in self.notes],
        }


# -- the attacker's learners -------------------------------------------------------------------------------------


def _prepared(rows: pd.DataFrame, features: Sequence[str]) -> tuple[pd.DataFrame, list[str], list[str]]:
    """The features as the surrogates read them: numbers as floats (missing and infinite as NaN), anything else as
    text (missing as ``"(missing)"``)."""
    out: dict[str, Any] = {}
    numeric, text = [], []
    for column in features:
        values = rows[column]
        if pd.api.types.is_numeric_dtype(values):
            number = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
            out[column] = np.where(np.isfinite(number), number, np.nan)
            numeric.append(column)
        else:
            out[column] = values.astype("string").fillna("(missing)").to_numpy(dtype=object)
            text.append(column)
    return pd.DataFrame(out, index=rows.index), numeric, text


def _surrogate(name: str, answers: Answers, numeric: list[str], text: list[str], n: int, seed: int) -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression, RidgeCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

    if name == "gb":
        encode = ColumnTransformer(
            [("text", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan, max_categories=250),
              text)],
            remainder="passthrough", verbose_feature_names_out=False,
        )  # fmt: skip
        mask = [True] * len(text) + [False] * len(numeric)
        settings = {"max_iter": 150, "learning_rate": 0.1, "min_samples_leaf": max(2, min(20, n // 25)),
                    "early_stopping": False, "random_state": seed, "categorical_features": mask or None}  # fmt: skip
        learner = (HistGradientBoostingRegressor if answers == "probability" else HistGradientBoostingClassifier)(
            **settings
        )
        return make_pipeline(encode, learner)
    encode = ColumnTransformer(
        [("number", make_pipeline(SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
                                  StandardScaler()), numeric),
         ("text", OneHotEncoder(handle_unknown="ignore", max_categories=50), text)],
        sparse_threshold=0.0,
    )  # fmt: skip
    # the ridge penalty is chosen by leave-one-out on the queried rows (the attacker's own data): near zero
    # recovers a linear model exactly, larger keeps a few dozen rows from fitting a hundred one-hot columns
    linear = RidgeCV(alphas=np.logspace(-3, 2, 6)) if answers == "probability" else LogisticRegression(max_iter=2000)
    return make_pipeline(encode, linear)


def _fit_predict(model: Any, x: pd.DataFrame, y: np.ndarray, judged: pd.DataFrame) -> np.ndarray:
    from sklearn.exceptions import ConvergenceWarning
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    # one thread: a few thousand rows gain nothing from OpenMP, whose threads spin on a busy machine (13 s against
    # 0.5 s for five gradient boosting fits on 400 rows with two loaded cores)
    with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="openmp"):
        warnings.simplefilter("ignore", ConvergenceWarning)  # an unconverged surrogate is still the attacker's
        model.fit(x, y)
        return np.asarray(model.predict(judged))


def _texts(value: Any) -> set[str]:
    """The texts a label value may be written as (``1`` -> ``"1"``, ``"1.0"``; ``True`` -> ``"True"``, ``"1"``)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool):
        return {str(value), str(value).lower(), str(int(value))}
    if isinstance(value, int | float):
        out = {str(value), f"{float(value):g}", str(float(value))}
        if float(value).is_integer():
            out.add(str(int(value)))
        return out
    return {str(value)}


# -- the test ------------------------------------------------------------------------------------------------------


def extraction(
    data: Any,
    model: Any,
    *,
    public: Any = None,
    features: Sequence[str] | None = None,
    label: Label | None = None,
    budgets: Sequence[int] = DEFAULT_BUDGETS,
    evaluation: int = 1000,
    agreement: float = 0.99,
    high_exposure: int = 1000,
    max_queries: int = 5000,
    surrogate: str = "both",
    answers: str = "auto",
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> Extraction:
    """Extract ``model`` (an :class:`assay.adapters.Model`) with the query ``budgets``: rows to query from ``public``
    (default: ``data``), agreement judged on ``evaluation`` rows of ``data`` never queried for training."""
    if model is None:
        raise InvalidInput("model extraction needs the model: give --model (a file or an http(s) endpoint)")
    if surrogate not in SURROGATES:
        raise InvalidInput(f"surrogate must be both, gb or linear, not {surrogate!r}")
    if answers not in ("auto", "label"):
        raise InvalidInput(f"answers must be auto or label, not {answers!r}")
    if not 0.5 < agreement <= 1:
        raise InvalidInput(f"agreement {agreement} must be above 0.5 and at most 1")
    budgets = sorted({int(b) for b in budgets})
    if not budgets or budgets[0] < 10:
        raise InvalidInput("budgets must be at least 10 queries each")
    if max_queries > MAX_QUERIES:
        raise InvalidInput(f"max_queries {max_queries:,} is above the ceiling of {MAX_QUERIES:,} queries")
    if budgets[-1] + evaluation > max_queries:
        raise InvalidInput(
            f"the largest budget ({budgets[-1]:,}) plus the evaluation rows ({evaluation:,}) makes "
            f"{budgets[-1] + evaluation:,} queries, above max_queries ({max_queries:,}): lower the budgets or the "
            "evaluation rows, or raise max_queries"
        )
    if features is not None:
        if model.has_feature_names and set(features) != set(model.feature_names):
            raise InvalidInput(
                f"features {', '.join(features[:10])} differ from the features model {model.source!r} names "
                f"({', '.join(model.feature_names[:10])}): leave the option out, or give the same columns"
            )
        model = model.with_features(features)
    names = list(model.feature_names)
    if label is not None and label.column in names:
        raise InvalidInput(f"label {label.column!r} is one of the model's features: give the true label column")
    say = progress or (lambda stage: None)
    notes: list[Note] = []

    frame = open_frame(data)
    require(frame, names, role="model feature")
    require(frame, [label.column if label else None], role="label column")
    wanted = [*names, *([label.column] if label else [])]
    if public is None:
        rows, _, total = sample(frame, wanted, budgets[-1] + evaluation, seed)
        rows = rows.iloc[np.random.default_rng(seed).permutation(len(rows))].reset_index(drop=True)
        held = evaluation if len(rows) >= budgets[-1] + evaluation else min(evaluation, len(rows) // 2)
        judged, pool = rows.iloc[:held].reset_index(drop=True), rows.iloc[held:].reset_index(drop=True)
        sources = {"queried": {"source": frame.source, "rows": total, "sampled": len(pool)},
                   "evaluation": {"source": frame.source, "rows": total, "sampled": held}}  # fmt: skip
    else:
        other = open_frame(public)
        require(other, names, role="model feature (of the public data)")
        judged, _, total = sample(frame, wanted, evaluation, seed)
        pool, _, public_total = sample(other, names, budgets[-1], seed + 1)
        pool = pool.iloc[np.random.default_rng(seed + 1).permutation(len(pool))].reset_index(drop=True)
        sources = {"queried": {"source": other.source, "rows": public_total, "sampled": len(pool)},
                   "evaluation": {"source": frame.source, "rows": total, "sampled": len(judged)}}  # fmt: skip
    if len(judged) < 10:
        raise InvalidInput(f"{frame.source} has {len(judged)} rows to judge agreement on: too few (at least 10)")
    fitting = [b for b in budgets if b <= len(pool)]
    if not fitting:
        raise InvalidInput(
            f"the public data has {len(pool):,} rows to query (after {len(judged):,} held out): fewer than the "
            f"smallest budget ({budgets[0]:,})"
        )
    if len(fitting) < len(budgets):
        notes.append(Note("budgets_skipped", f"budgets above the {len(pool):,} rows available to query were skipped: "
                                             + ", ".join(f"{b:,}" for b in budgets[len(fitting):])))  # fmt: skip
    if len(judged) < evaluation:
        notes.append(Note("small_evaluation", f"agreement judged on {len(judged):,} rows, fewer than the "
                                              f"{evaluation:,} asked"))  # fmt: skip

    sent = 0
    kind: Answers | None = None
    # label answers: which of the model's labels is the positive class: its own positive class, else the label's
    # positive values, else 1 / True (the first of these that names one of its labels)
    candidates = [model.positive, None if label is None else label.values, (1, True)]
    positive_texts = [set().union(*(_texts(v) for v in given)) for given in candidates if given]

    def ask(rows: pd.DataFrame) -> np.ndarray:
        nonlocal sent, kind
        sent += len(rows)
        given: Answers
        if answers == "label":
            given, values = "label", np.asarray(model.predict(rows[names]))
        else:
            given, values = model.answer(rows[names])
        if kind is not None and given != kind:
            raise InvalidInput(f"model {model.source!r} answered {given}s after {kind}s")
        kind = given
        return np.asarray(values)

    say(f"querying the model on the {len(judged):,} held-out rows")
    judged_answers = ask(judged)
    prepared, numeric, text = _prepared(pd.concat([pool[names], judged[names]], ignore_index=True), names)
    x_pool, x_judged = prepared.iloc[: len(pool)], prepared.iloc[len(pool) :].reset_index(drop=True)

    truth = None
    if label is not None:
        truth = binary(judged[label.column], label)
        if np.isnan(truth).all():
            notes.append(Note("no_labels", f"label {label.column!r} is missing on every held-out row: no accuracy"))
            truth = None

    pool_answers: list[np.ndarray] = []
    points: list[BudgetPoint] = []
    positive: np.ndarray | None = None  # label answers: which codes are the positive class
    target_accuracy: float | None = None
    done = 0
    for budget in fitting:
        say(f"budget {budget:,}: querying {budget - done:,} more rows")
        pool_answers.append(ask(pool.iloc[done:budget]))
        done = budget
        answered = np.concatenate(pool_answers)
        say(f"budget {budget:,}: training the surrogates")
        if kind == "probability":
            p_judged = judged_answers.astype(np.float64)
            z = np.log(np.clip(answered, _EPS, 1 - _EPS) / np.clip(1 - answered, _EPS, 1 - _EPS))
            target = (p_judged > 0.5).astype(np.int64)
            decided: dict[str, np.ndarray] = {}
            errors: dict[str, float] = {}
            # the linear surrogate is fitted on the answers inside (eps, 1 - eps): a clipped answer only says its
            # log-odds lie beyond the clip, and fitted as if at it, a few rows far out (adult's capital gains) bend a
            # logistic model's copy from agreement 1.000 at 200 queries to 0.973 at 1,000
            inside = (answered > _EPS) & (answered < 1 - _EPS)
            unclipped = inside if inside.sum() >= max(10, budget // 2) else np.ones(budget, dtype=bool)
            for name in SURROGATES[surrogate]:
                chosen = unclipped if name == "linear" else np.ones(budget, dtype=bool)
                learner = _surrogate(name, "probability", numeric, text, budget, seed)
                predicted = _fit_predict(learner, x_pool.iloc[:budget][chosen], z[chosen], x_judged).astype(np.float64)
                decided[name] = (predicted > 0).astype(np.int64)
                errors[name] = float(np.mean(np.abs(1 / (1 + np.exp(-predicted)) - p_judged)))
            target_positive = target
        else:
            levels, codes = np.unique(np.concatenate([answered, judged_answers]).astype(str), return_inverse=True)
            codes_pool, target = codes[: len(answered)], codes[len(answered) :]
            decided, errors = {}, {}
            for name in SURROGATES[surrogate]:
                if len(np.unique(codes_pool)) < 2:  # one label seen: the attacker answers it for every row
                    decided[name] = np.full(len(target), codes_pool[0])
                else:
                    learner = _surrogate(name, "label", numeric, text, budget, seed)
                    decided[name] = _fit_predict(learner, x_pool.iloc[:budget], codes_pool, x_judged).astype(np.int64)
            positive = np.zeros(len(levels), dtype=bool)
            for texts in positive_texts:
                positive = np.array([level in texts for level in levels])
                if positive.any():
                    break
            target_positive = positive[target].astype(np.int64)
        agreements = {name: float(np.mean(d == target)) for name, d in decided.items()}
        balanced = {name: float(np.mean([np.mean(d[target == c] == c) for c in np.unique(target)]))
                    for name, d in decided.items()}  # fmt: skip
        best = max(agreements, key=lambda name: agreements[name])
        accuracy = None
        if truth is not None and (kind == "probability" or (positive is not None and positive.any())):
            known = ~np.isnan(truth)
            best_positive = decided[best] if kind == "probability" else positive[decided[best]]  # type: ignore[index]
            accuracy = float(np.mean(best_positive[known] == truth[known]))
            target_accuracy = float(np.mean(target_positive[known] == truth[known]))
        hits = int(np.sum(decided[best] == target))
        points.append(BudgetPoint(budget, best, agreements[best], _wilson(hits, len(target)), agreements, accuracy,
                                  errors.get(best), balanced[best]))  # fmt: skip
    if label is not None and truth is not None and target_accuracy is None:
        notes.append(Note("no_positive_label", "none of the model's labels is a positive value of the label "
                                               f"{label.column!r} (give positive=...): no accuracy"))  # fmt: skip
    if kind is None:  # pragma: no cover - the held-out rows are always queried
        raise InvalidInput("the model was not queried")
    # a copy answering the model's commonest decision on every held-out row
    constant = float(np.unique(target, return_counts=True)[1].max() / len(target)) if len(target) else 0.0
    return Extraction(
        model=model.describe(),
        data=sources,
        spec={
            "features": names,
            "label": None if label is None else label.column,
            "positive": None if label is None or label.values is None else [str(v) for v in label.values],
            "label_threshold": None if label is None else label.threshold,
            "budgets": budgets,
            "evaluation": evaluation,
            "agreement": agreement,
            "high_exposure": high_exposure,
            "max_queries": max_queries,
            "surrogate": surrogate,
            "answers": answers,
            "seed": seed,
        },
        answers=kind,
        points=tuple(points),
        queries={"attack": done, "evaluation": len(judged), "total": sent, "max_queries": max_queries},
        target_accuracy=target_accuracy,
        constant_agreement=constant,
        notes=tuple(notes),
    )


def outcome(document: Any) -> dict[str, Any]:
    """The verdict, the violation (the stated agreement reached within the high-exposure budget) and the metrics kept
    over windows (the agreement at each budget, the queries needed)."""
    result = document.get("result") or {}
    status = document.get("status", "warn")
    violations = (
        [{"check_type": "extraction_check", "subject": f"{result.get('reached_at')} queries",
          "description": str(document.get("summary", "")), "value": result.get("reached_at"),
          "threshold": result.get("high_exposure")}]
        if status == "fail"
        else []
    )  # fmt: skip
    metrics: list[dict[str, Any]] = []
    for point in result.get("curve") or []:
        if isinstance(point.get("agreement"), int | float):
            metrics.append({"name": "extraction_agreement", "subject": f"{point['budget']} queries",
                            "value": float(point["agreement"]), "threshold": result.get("agreement")})  # fmt: skip
    if isinstance(result.get("reached_at"), int):
        metrics.append({"name": "extraction_queries_needed", "subject": "", "value": float(result["reached_at"]),
                        "threshold": result.get("high_exposure")})  # fmt: skip
    return {"status": status, "violations": violations, "metrics": metrics}
