"""Label issues: rows whose label is likely wrong, by cross-validated confident learning (cleanlab).

On a stated sample of rows (default 5,000, drawn at random from the rows read): out-of-fold predicted
probabilities from a simple scikit-learn model (numbers imputed by the median and standardised, text one-hot
encoded, a multinomial logistic regression) with stratified k-fold cross-validation, then cleanlab's
``find_label_issues`` (``prune_by_noise_rate``), ranked by self-confidence. Rows are named by position in
reading order, with their given and suggested labels; feature values are never reported.

The verdict. Confident learning flags hard examples on any real dataset: where the outcome is uncertain given the
features (income in adult, reoffending in COMPAS), some correct labels disagree with a confident model. So the
share flagged is compared with the share *expected of correct labels*: labels drawn at random from the model's own
out-of-fold probabilities (``NULL_DRAWS`` draws, each run through the same ``find_label_issues``) are labels the
model holds correct, and what is flagged among them is what hard examples alone give. The check fails when the
observed share exceeds that expectation by more than ``max_excess`` (0.05) and by more than three standard
deviations of the difference (the draws' deviation times the square root of 2: the observed share is one draw
too); and, when given, when it exceeds an absolute ``max_share``. Random label flips that the model learns as
noise are, for a calibrated model, not told apart from hard examples by any method that reads only the labels and
the probabilities: benchmarks/verdicts.py states what is detected.

With a ``reference`` (trusted labelled rows of the same population: the training set, an earlier batch that was
reviewed), the model is fitted on a sample of the reference instead, and the data's probabilities come from it. A
model fitted on the data's own labels absorbs random flips (with 10 % flipped its probabilities shrink towards the
flip rate and the labels drawn from them are as noisy as the data's), so the null above cannot see them; a model
that never saw the data's labels keeps its confidence, and flipped labels in its confident regions show as an
excess over the share expected of correct labels (on the shared datasets: 10 % flips give an excess of 0.07 to 0.10
against a reference, 0.00 to 0.03 without one). The reference model's probabilities are calibrated (Platt scaling on
its out-of-fold predictions over the reference), so that a small reference does not make it overconfident on the
data, which would raise the share flagged above the expectation on clean data.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from assay.checks._common import (
    DataInfo,
    Sample,
    check_seed,
    check_share,
    column_kind,
    data_info,
    envelope,
    json_float,
    now,
    require_columns,
    sample_rows,
)
from assay.errors import BackendUnsupported, InvalidInput
from assay.frames import open as open_frame

__all__ = ["LabelIssue", "LabelIssues", "find_label_issues"]

MAX_LISTED: Final = 100
MAX_CATEGORIES: Final = 50  # one-hot columns per text feature (rarer values pooled)
NULL_DRAWS: Final = 20  # label draws from the model's probabilities that give the share expected of correct labels
NULL_SIGMAS: Final = 3.0


@dataclass(frozen=True)
class LabelIssue:
    """A row whose label is likely wrong: its position (0-based, reading order), given and suggested label, and
    the model's out-of-fold probability of the given label (``label_quality``)."""

    position: int
    given: str
    suggested: str
    label_quality: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "given_label": self.given,
            "suggested_label": self.suggested,
            "label_quality": json_float(self.label_quality),
        }


@dataclass(frozen=True)
class LabelIssues:
    data: DataInfo
    label: str
    features: tuple[str, ...]
    sample: Sample
    folds: int
    classes: tuple[str, ...]
    issues: tuple[LabelIssue, ...]
    accuracy: float
    max_share: float | None
    created_at: str
    expected_share: float = 0.0
    expected_sd: float = 0.0
    max_excess: float = 0.05
    reference_rows: int | None = None  # the trusted rows the model was fitted on (None: cross-validated on the data)

    @property
    def share(self) -> float:
        return len(self.issues) / self.sample.rows if self.sample.rows else 0.0

    @property
    def excess(self) -> float:
        """How far the share flagged is above the share expected of correct labels."""
        return self.share - self.expected_share

    @property
    def passed(self) -> bool:
        above = self.excess > self.max_excess and self.excess > NULL_SIGMAS * math.sqrt(2) * self.expected_sd
        return not above and (self.max_share is None or self.share <= self.max_share)

    def to_dict(self) -> dict[str, Any]:
        return envelope(
            "label-issues",
            data=self.data,
            sample=self.sample,
            spec={
                "label": self.label,
                "features": list(self.features),
                "folds": None if self.reference_rows is not None else self.folds,
                "fitted_on": "cross-validation on the data"
                if self.reference_rows is None
                else f"the reference ({self.reference_rows} rows sampled)",
                "model": "logistic regression (median-imputed standardised numbers, one-hot text)",
                "method": "cleanlab.filter.find_label_issues, prune_by_noise_rate, ranked by self-confidence",
                "max_excess": self.max_excess,
                "max_share": self.max_share,
                "expected": f"share flagged among labels drawn from the model's probabilities ({NULL_DRAWS} draws)",
            },
            passed=self.passed,
            summary=(
                f"{len(self.issues)} of {self.sample.rows} sampled rows ({self.share:.2%}) likely mislabelled, "
                f"{self.expected_share:.2%} expected of correct labels ("
                f"{'out-of-fold' if self.reference_rows is None else 'reference model'} accuracy {self.accuracy:.3f})"
            ),
            result={
                "issues": len(self.issues),
                "share": json_float(self.share),
                "expected_share": json_float(self.expected_share),
                "expected_share_sd": json_float(self.expected_sd),
                "excess": json_float(self.excess),
                "classes": list(self.classes),
                "out_of_fold_accuracy": json_float(self.accuracy),
                "rows": [i.to_dict() for i in self.issues[:MAX_LISTED]],
                "rows_listed": min(len(self.issues), MAX_LISTED),
            },
            created_at=self.created_at,
        )


def _label_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def find_label_issues(
    data: Any,
    label: str,
    *,
    features: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
    sample: int = 5000,
    folds: int = 5,
    seed: int = 0,
    max_excess: float = 0.05,
    max_share: float | None = None,
    reference: Any = None,
) -> LabelIssues:
    """Find rows of ``data`` whose ``label`` is likely wrong, on a random sample of ``sample`` rows (``seed``).

    ``features`` default to every column but the label and ``exclude``. The check fails when the share of sampled
    rows flagged exceeds the share expected of correct labels by more than ``max_excess`` (and three standard
    deviations), or exceeds ``max_share`` when given. With ``reference`` (trusted labelled rows with the same
    columns), the model is fitted on a sample of it rather than cross-validated on the data."""
    if folds < 2:
        raise InvalidInput(f"folds must be at least 2, not {folds}")
    check_seed(seed)
    check_share(max_excess)
    if max_share is not None:
        check_share(max_share)
    try:
        from cleanlab.filter import find_label_issues as cleanlab_find  # type: ignore[import-untyped]
    except ImportError as exc:
        raise BackendUnsupported("finding label issues needs cleanlab (pip install cleanlab)") from exc
    frame = open_frame(data)
    require_columns(frame, [label], role="label column")
    require_columns(frame, list(features or []) + list(exclude))
    chosen = tuple(c for c in (features or frame.columns) if c != label and c not in set(exclude))
    if not chosen:
        raise InvalidInput("no features left: every column is the label or excluded")
    info = data_info(frame)
    values, positions, drawn = sample_rows(frame, [label, *chosen], size=sample, seed=seed, total=info.rows)
    keep = _labelled(values[label])
    text = np.asarray([_label_text(v) for v, k in zip(values[label], keep, strict=True) if k], dtype=object)
    classes, y = np.unique(text, return_inverse=True)
    if len(classes) < 2:
        raise InvalidInput(f"label {label!r} has {len(classes)} class in the sample: two or more are needed")
    reference_rows: int | None = None
    if reference is None:
        smallest = int(np.bincount(y).min())
        if smallest < folds:
            raise InvalidInput(
                f"label {label!r}: a class has {smallest} rows in the sample, fewer than the {folds} folds; "
                "use a larger sample or fewer folds"
            )
        x = _design(frame.schema, chosen, values, keep)
        probabilities = _out_of_fold(x, y, folds, seed)
    else:
        probabilities, reference_rows = _from_reference(reference, frame.schema, label, chosen, values, keep, classes,
                                                        sample, seed)  # fmt: skip

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)  # cleanlab's notes on tiny classes
        ranked = cleanlab_find(
            labels=y,
            pred_probs=probabilities,
            filter_by="prune_by_noise_rate",
            return_indices_ranked_by="self_confidence",
            n_jobs=1,
        )
    kept_positions = positions[keep]
    issues = tuple(
        LabelIssue(
            position=int(kept_positions[i]),
            given=str(classes[y[i]]),
            suggested=str(classes[int(np.argmax(probabilities[i]))]),
            label_quality=float(probabilities[i, y[i]]),
        )
        for i in np.asarray(ranked, dtype=np.intp)
    )
    accuracy = float(np.mean(np.argmax(probabilities, axis=1) == y))
    expected, spread = _expected_share(cleanlab_find, probabilities, seed)
    return LabelIssues(
        data=info,
        label=label,
        features=chosen,
        sample=Sample(rows=int(keep.sum()), scanned=drawn.scanned, total=drawn.total, seed=seed),
        folds=folds,
        classes=tuple(str(c) for c in classes),
        issues=issues,
        accuracy=accuracy,
        max_share=max_share,
        created_at=now(),
        expected_share=expected,
        expected_sd=spread,
        max_excess=max_excess,
        reference_rows=reference_rows,
    )


def _labelled(raw: Sequence[Any]) -> np.ndarray[Any, np.dtype[np.bool_]]:
    return np.asarray([v is not None and not (isinstance(v, float) and np.isnan(v)) for v in raw], dtype=bool)


def _from_reference(
    reference: Any,
    schema: Any,
    label: str,
    chosen: Sequence[str],
    values: dict[str, list[Any]],
    keep: np.ndarray[Any, np.dtype[np.bool_]],
    classes: np.ndarray[Any, Any],
    sample: int,
    seed: int,
) -> tuple[Any, int]:
    """The data's probabilities from a model fitted on a sample of the trusted ``reference`` rows, and how many
    reference rows it was fitted on. The design is built on both together, so one-hot levels and scales agree."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    other = open_frame(reference)
    require_columns(other, [label, *chosen], role="reference column")
    for column in chosen:
        kinds = column_kind(schema[column]), column_kind(other.schema[column])
        if (kinds[0] == "String") != (kinds[1] == "String"):
            raise InvalidInput(
                f"column {column!r} is {other.schema[column]} in the reference and {schema[column]} in the data: "
                "give a reference with the data's columns and types"
            )
    ref_values, _, _ = sample_rows(other, [label, *chosen], size=sample, seed=seed)
    ref_keep = _labelled(ref_values[label])
    ref_text = [_label_text(v) for v, k in zip(ref_values[label], ref_keep, strict=True) if k]
    index = {str(c): i for i, c in enumerate(classes)}
    missing = sorted(set(map(str, classes)) - set(ref_text))
    if missing:
        raise InvalidInput(
            f"label {label!r}: the class {missing[0]!r} of the data has no row in the reference sample; give a "
            "reference with every class (or a larger sample)"
        )
    unknown = sorted(set(ref_text) - set(index))
    if unknown:  # classes the data lacks: the reference rows of those classes are left out
        ref_keep &= np.asarray([_label_text(v) not in unknown for v in ref_values[label]], dtype=bool)
        ref_text = [t for t in ref_text if t not in unknown]
    y_ref = np.asarray([index[t] for t in ref_text], dtype=np.intp)
    both = {c: list(values[c]) + list(ref_values[c]) for c in chosen}
    x = _design(schema, chosen, both, np.concatenate([keep, ref_keep]))
    rows = int(keep.sum())
    # Fitted on the reference and applied to other rows, a logistic regression is overconfident when the reference is
    # small (adult, 800 rows: clean data flagged 4 points above the expectation); its probabilities are calibrated by
    # Platt scaling on its own out-of-fold predictions over the reference (scikit-learn's CalibratedClassifierCV).
    smallest = int(np.bincount(y_ref, minlength=len(classes)).min())
    if smallest < 2:
        raise InvalidInput(
            f"label {label!r}: a class has {smallest} row in the reference sample; at least 2 are needed to calibrate "
            "the model (give a larger reference or sample)"
        )
    folds = min(5, smallest)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    model = CalibratedClassifierCV(LogisticRegression(max_iter=2000, C=1.0), method="sigmoid", cv=splitter,
                                   ensemble=False)  # fmt: skip
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*did not converge.*")
        model.fit(x[rows:], y_ref)
    return model.predict_proba(x[:rows]), len(y_ref)


def _expected_share(cleanlab_find: Any, probabilities: Any, seed: int) -> tuple[float, float]:
    """Mean and standard deviation of the share flagged among labels drawn from ``probabilities`` (labels the
    model holds correct): what hard examples alone give."""
    rng = np.random.default_rng([seed, 19])
    cumulative = np.cumsum(probabilities, axis=1)
    shares = []
    for _ in range(NULL_DRAWS):
        drawn = np.minimum((rng.random(len(probabilities))[:, None] > cumulative).sum(axis=1), cumulative.shape[1] - 1)
        if len(np.unique(drawn)) < cumulative.shape[1]:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=UserWarning)
            flagged = cleanlab_find(labels=drawn, pred_probs=probabilities, filter_by="prune_by_noise_rate", n_jobs=1)
        shares.append(float(np.mean(flagged)))
    if not shares:
        return 0.0, 0.0
    return float(np.mean(shares)), float(np.std(shares))


def _design(schema: Any, columns: Sequence[str], values: dict[str, list[Any]], keep: np.ndarray[Any, Any]) -> Any:
    """The feature matrix: numbers (missing imputed by the median, standardised) and one-hot text."""
    parts: list[np.ndarray[Any, np.dtype[np.float64]]] = []
    for column in columns:
        kind = column_kind(schema[column])
        cells = [v for v, k in zip(values[column], keep, strict=True) if k]
        if kind in ("Integral", "Fractional"):
            number = np.asarray([np.nan if v is None else float(v) for v in cells], dtype=np.float64)
            number[~np.isfinite(number)] = np.nan
            if np.isnan(number).all():
                continue
            median = float(np.nanmedian(number))
            filled = np.where(np.isnan(number), median, number)
            scale = float(filled.std()) or 1.0
            parts.append(((filled - filled.mean()) / scale)[:, None])
            if np.isnan(number).any():
                parts.append(np.isnan(number).astype(np.float64)[:, None])
        elif kind == "String":
            text = np.asarray(["\x00" if v is None else str(v) for v in cells], dtype=object)
            levels, codes = np.unique(text, return_inverse=True)
            if len(levels) < 2:
                continue
            counts = np.bincount(codes)
            top = np.argsort(-counts, kind="stable")[:MAX_CATEGORIES]
            for level in top:
                parts.append((codes == level).astype(np.float64)[:, None])
    if not parts:
        raise InvalidInput("no usable feature: every feature is constant, empty or of an unsupported type")
    return np.hstack(parts)


def _out_of_fold(x: Any, y: Any, folds: int, seed: int) -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    model = LogisticRegression(max_iter=2000, C=1.0)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*did not converge.*")  # the probabilities are still usable
        return cross_val_predict(model, x, y, cv=splitter, method="predict_proba")
