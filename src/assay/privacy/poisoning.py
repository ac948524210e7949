"""Indicators of data poisoning in a training set, on a stated sample of rows, named by position (0-based, reading
order), never by value.

The rows are encoded as in the label-issues check (numbers standardised, text one-hot) and four indicators are
computed:

* **label-flip clusters** — rows whose label a cross-validated logistic regression finds very unlikely
  (probability of the given label below 0.1) *and* that are each other's nearest neighbours with the same label: a
  connected group of at least ``min_cluster`` such rows whose label is also the commonest among their neighbours
  (more than half of them) is what flipping the labels of a region looks like: there the flipped label holds the
  neighbourhood. Isolated unlikely labels are ordinary noise and are not reported, nor are the chains that ordinary
  noise forms in a dense region, where the label stays a minority among the neighbours (credit default's clean rows:
  groups of 51-92 unlikely defaults holding 22-29 % of their neighbourhood; planted flipped regions 51-61 %);
* **influential outliers** — rows whose Cook's distance in the fitted logistic regression (of the label; with more
  than two classes, the commonest against the rest) is above ``max_cook``: one row that moves the fitted model by
  itself. The leverage is that of the penalised fit scikit-learn makes (L2, C = 1), capped at 0.99, so a row alone
  in a design column (a rare value) is not given an infinite distance;
* **conflicting near-duplicates** — rows whose nearest neighbour is at distance below 0.01 (standardised units) with
  another label; the verdict fails when their share exceeds what the labels' own uncertainty explains (the
  out-of-fold probability that two such rows differ, summed) by more than ``max_conflicts`` of the rows (coarse
  features make honest twins with different labels common: COMPAS has 42 %);
* **trigger candidates** — a rare value of a column (at most ``trigger_share`` of the rows, at least
  ``trigger_support`` rows, columns with at most 50 values) whose rows nearly all carry one label
  (``trigger_purity``) far more often than the other columns predict for the same rows (by ``trigger_gap``): the
  signature of a backdoor trigger. Natural rare values whose label the other columns explain (``Preschool`` education
  and a low income) are not flagged.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd

from assay.documents import Note, head, now
from assay.errors import InvalidInput
from assay.frames import open as open_frame
from assay.privacy._data import blocks, require, sample

__all__ = ["SCHEMA", "Poisoning", "poisoning_indicators"]

SCHEMA: Final = "assay.poisoning"
UNLIKELY: Final = 0.1  # probability of the given label below which a row is a label-flip suspect
#: the share of a group's neighbours carrying its label above which the group is a label-flip cluster (a majority)
HOLDS: Final = 0.5
NEAR: Final = 0.01  # distance (standardised units) below which two rows are near-duplicates
MAX_LEVELS: Final = 50  # columns with more values are not searched for trigger values
MAX_LISTED: Final = 100  # positions listed per finding
FOLDS: Final = 5
MIN_LEVEL: Final = 10  # text values held by fewer rows are pooled (a value of one row is its own leverage point)
MAX_LEVERAGE: Final = 0.99  # hat values are capped here: Cook's distance grows as 1 / (1 - h)^2
MAX_ITER: Final = 300
TOL: Final = 1e-3


def _positions(rows: np.ndarray, positions: np.ndarray) -> list[int]:
    return [int(positions[i]) for i in np.sort(rows)[:MAX_LISTED]]


@dataclass(frozen=True)
class Poisoning:
    data: dict[str, Any]
    spec: dict[str, Any]
    clusters: tuple[dict[str, Any], ...]
    outliers: dict[str, Any]
    conflicts: dict[str, Any]
    triggers: tuple[dict[str, Any], ...]
    max_conflicts: float
    notes: tuple[Note, ...] = ()
    created_at: str = field(default_factory=now)

    @property
    def findings(self) -> list[str]:
        found = []
        if self.clusters:
            found.append(f"{len(self.clusters)} label-flip cluster(s)")
        if self.outliers["rows"]:
            found.append(f"{self.outliers['rows']} influential outlier(s)")
        if self.conflicts["excess_share"] > self.max_conflicts:
            found.append(
                f"{self.conflicts['share']:.2%} of rows with a conflicting near-duplicate "
                f"({self.conflicts['excess_share']:.2%} more than the labels' uncertainty explains)"
            )
        if self.triggers:
            found.append(f"{len(self.triggers)} trigger candidate(s)")
        return found

    def to_dict(self) -> dict[str, Any]:
        found = self.findings
        return {
            **head(SCHEMA, created_at=self.created_at),
            "check": "poisoning",
            "data": self.data,
            "spec": self.spec,
            "status": "fail" if found else "pass",
            "summary": ("; ".join(found) if found else "no poisoning indicator")
            + f" in {self.data['sampled']} rows examined",
            "result": {
                "label_flip_clusters": list(self.clusters),
                "influential_outliers": self.outliers,
                "conflicting_near_duplicates": self.conflicts,
                "trigger_candidates": list(self.triggers),
            },
            "warnings": [n.to_dict() for n in self.notes],
        }


def _label_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _out_of_fold(x: np.ndarray, y: np.ndarray, seed: int) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    folds = min(FOLDS, int(np.bincount(y).min()))
    if folds < 2:
        raise InvalidInput("a class of the label has fewer than 2 rows in the sample: too few to judge")
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*did not converge.*")
        return np.asarray(
            cross_val_predict(LogisticRegression(max_iter=MAX_ITER, tol=TOL), x, y, cv=splitter, method="predict_proba")
        )


def _components(edges: list[tuple[int, int]], nodes: np.ndarray) -> list[np.ndarray]:
    """Connected components (as arrays of node ids) of the graph on ``nodes``."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    if len(nodes) == 0:
        return []
    index = {int(n): i for i, n in enumerate(nodes)}
    rows = [index[a] for a, b in edges]
    cols = [index[b] for a, b in edges]
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(nodes), len(nodes)))
    _, labels = connected_components(graph, directed=False)
    return [nodes[labels == c] for c in np.unique(labels)]


def _logistic(x: np.ndarray, y: np.ndarray) -> Any:
    from sklearn.linear_model import LogisticRegression

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*did not converge.*")
        return LogisticRegression(max_iter=MAX_ITER, tol=TOL).fit(x, y)


def _cook(x: np.ndarray, y: np.ndarray, fitted: Any) -> tuple[np.ndarray, np.ndarray]:
    """Cook's distance and leverage of each row in the L2-penalised logistic regression ``fitted`` of ``y`` (0/1:
    ``fitted``'s second class) on ``x`` (with an unpenalised intercept).

    The hat values are those of the penalised fit (``H = W^1/2 X (X'WX + P)^-1 X' W^1/2``, ``P`` the penalty 1/C on
    every coefficient but the intercept), so a row that alone fills a design column (a rare value) has a leverage
    below 1 instead of exactly 1, where the unpenalised formula divides by zero; they are capped at
    :data:`MAX_LEVERAGE` besides. The rank is the effective number of parameters, the trace of ``H``."""
    p = np.clip(fitted.predict_proba(x)[:, 1], 1e-9, 1 - 1e-9)
    design_1 = np.hstack([np.ones((len(x), 1)), x])
    w = p * (1 - p)
    penalty = np.full(design_1.shape[1], 1.0 / float(getattr(fitted, "C", 1.0)))
    penalty[0] = 0.0
    information = design_1.T @ (design_1 * w[:, None]) + np.diag(penalty)
    inverse = np.linalg.pinv(information)
    leverage = np.clip(np.einsum("ij,jk,ik->i", design_1, inverse, design_1) * w, 0, MAX_LEVERAGE)
    pearson = (y - p) / np.sqrt(w)
    rank = max(float(leverage.sum()), 1.0)
    return np.asarray(pearson**2 * leverage / (rank * (1 - leverage) ** 2)), leverage


def poisoning_indicators(
    data: Any,
    *,
    label: str,
    features: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
    sample: int = 20_000,
    neighbours: int = 10,
    min_cluster: int = 50,
    max_cook: float = 1.0,
    max_conflicts: float = 0.01,
    trigger_share: float = 0.02,
    trigger_support: int = 20,
    trigger_purity: float = 0.95,
    trigger_gap: float = 0.3,
    seed: int = 0,
) -> Poisoning:
    """Look for poisoning indicators in ``data`` with its ``label`` (see the module's text)."""
    from sklearn.neighbors import NearestNeighbors

    frame = open_frame(data)
    require(frame, [label], role="label column")
    require(frame, [*(features or []), *exclude])
    chosen = [c for c in (features or frame.columns) if c != label and c not in set(exclude)]
    if not chosen:
        raise InvalidInput("no features left: every column is the label or excluded")
    rows, positions, total = _sample(frame, [label, *chosen], sample, seed)
    keep = rows[label].notna().to_numpy()
    rows, positions = rows[keep].reset_index(drop=True), positions[keep]
    classes, y = np.unique(np.asarray([_label_text(v) for v in rows[label]], dtype=object), return_inverse=True)
    if len(classes) < 2:
        raise InvalidInput(f"label {label!r} has {len(classes)} class in the rows examined: two or more are needed")
    if len(rows) <= neighbours:
        raise InvalidInput(f"{len(rows)} labelled rows: more than {neighbours} (the neighbours) are needed")
    x, spans = blocks(rows, chosen, min_count=MIN_LEVEL)
    probabilities = _out_of_fold(x, y, seed)
    fitted = _logistic(x, y)
    given = probabilities[np.arange(len(y)), y]

    distances, near = NearestNeighbors(n_neighbors=neighbours + 1).fit(x).kneighbors(x)
    distances, near = distances[:, 1:], near[:, 1:]  # without the row itself (duplicates may come first: fine)

    # label-flip clusters: unlikely labels that are each other's neighbours with the same label
    suspect = given < UNLIKELY
    nodes = np.flatnonzero(suspect)
    edges = [(int(i), int(j)) for i in nodes for j in near[i] if suspect[j] and y[j] == y[i]]
    clusters: list[dict[str, Any]] = []
    for component in _components(edges, nodes):
        held = float((y[near[component]] == y[component[0]]).mean())  # its label's share of the neighbours
        if len(component) >= min_cluster and held > HOLDS:
            clusters.append({
                "rows": len(component),
                "label": str(classes[y[component[0]]]),
                "mean_probability_of_label": round(float(given[component].mean()), 4),
                "neighbour_share": round(held, 4),
                "positions": _positions(component, positions),
            })  # fmt: skip
    clusters.sort(key=lambda c: -len(c["positions"]))

    # influential outliers: Cook's distance of each row (its label against the rest)
    if len(classes) == 2:  # the fitted model's own target: its second class
        cook, leverage = _cook(x, y.astype(np.int64), fitted)
    else:  # the majority class against the rest
        majority = (y == np.bincount(y).argmax()).astype(np.int64)
        cook, leverage = _cook(x, majority, _logistic(x, majority))
    flagged = np.flatnonzero(cook > max_cook)
    ranked = flagged[np.argsort(-cook[flagged])]
    outliers = {
        "rows": len(flagged),
        "max_cook": round(float(cook.max()), 4),
        "max_leverage": round(float(leverage.max()), 4),
        "positions": [int(positions[i]) for i in ranked[:MAX_LISTED]],
    }

    # near-duplicates with another label, beyond what the labels' own uncertainty explains
    close = distances[:, 0] < NEAR
    twin = near[:, 0]
    conflict = close & (y[twin] != y)
    expected = np.where(close, 1 - (probabilities * probabilities[twin]).sum(axis=1), 0.0)
    excess = max(0.0, float(conflict.sum() - expected.sum())) / len(y)
    conflicts = {
        "rows": int(conflict.sum()),
        "share": round(float(conflict.mean()), 6),
        "expected_rows": round(float(expected.sum()), 2),
        "excess_share": round(excess, 6),
        "positions": _positions(np.flatnonzero(conflict), positions),
    }

    triggers = _triggers(rows, chosen, x, spans, fitted, y, classes, positions, trigger_share, trigger_support,
                         trigger_purity, trigger_gap)  # fmt: skip
    notes = []
    if len(rows) < total:
        notes.append(Note("sample", f"{len(rows)} of {total} rows examined (drawn at random, seed {seed})"))
    return Poisoning(
        data={"source": frame.source, "rows": total, "sampled": len(rows), "columns": len(frame.columns)},
        spec={
            "label": label,
            "features": chosen,
            "sample": sample,
            "neighbours": neighbours,
            "min_cluster": min_cluster,
            "max_cook": max_cook,
            "max_conflicts": max_conflicts,
            "trigger_share": trigger_share,
            "trigger_support": trigger_support,
            "trigger_purity": trigger_purity,
            "trigger_gap": trigger_gap,
            "seed": seed,
            "unlikely_label_probability": UNLIKELY,
            "cluster_neighbour_share": HOLDS,
            "near_duplicate_distance": NEAR,
            "model": "logistic regression, out-of-fold (median-imputed standardised numbers, one-hot text)",
        },
        clusters=tuple(clusters),
        outliers=outliers,
        conflicts=conflicts,
        triggers=tuple(triggers),
        max_conflicts=max_conflicts,
        notes=tuple(notes),
    )


def _sample(frame: Any, columns: list[str], size: int, seed: int) -> tuple[pd.DataFrame, np.ndarray, int]:
    return sample(frame, columns, size, seed)


def _triggers(
    rows: pd.DataFrame, chosen: list[str], x: np.ndarray, spans: dict[str, slice], fitted: Any, y: np.ndarray,
    classes: np.ndarray, positions: np.ndarray, share: float, support: int, purity: float, gap: float,
) -> list[dict[str, Any]]:  # fmt: skip
    """Rare values whose rows nearly all carry one label, far more often than the other columns predict.

    What the other columns predict: the fitted logistic regression with the column's own contribution to each
    row's logit replaced by its mean over all rows."""
    found = []
    n = len(rows)
    coef = np.atleast_2d(fitted.coef_)
    logits = np.atleast_2d(fitted.decision_function(x).T).T
    for column in chosen:
        values = rows[column]
        span = spans.get(column)
        if values.nunique(dropna=True) > MAX_LEVELS or span is None:
            continue
        text = values.astype("string").fillna("\x00").to_numpy(dtype=object)
        _, codes = np.unique(text, return_inverse=True)
        counts = np.bincount(codes)
        for level in np.flatnonzero((counts >= support) & (counts <= share * n)):
            at = np.flatnonzero(codes == level)
            by_class = np.bincount(y[at], minlength=len(classes))
            majority = int(by_class.argmax())
            observed = float(by_class[majority] / len(at))
            if observed < purity:
                continue
            own = x[:, span] @ coef[:, span].T  # (n, classes or 1): the column's part of each logit
            without = (logits - own + own.mean(axis=0))[at]
            if without.shape[1] == 1:
                p1 = 1 / (1 + np.exp(-without[:, 0]))
                expected_rows = p1 if majority == 1 else 1 - p1
            else:
                z = np.exp(without - without.max(axis=1, keepdims=True))
                expected_rows = (z / z.sum(axis=1, keepdims=True))[:, majority]
            expected = float(expected_rows.mean())
            if observed - expected >= gap:
                found.append({
                    "column": column,
                    "rows": len(at),
                    "label": str(classes[majority]),
                    "share_with_label": round(observed, 4),
                    "expected_share": round(expected, 4),
                    "positions": _positions(at, positions),
                })  # fmt: skip
    return sorted(found, key=lambda t: -(t["share_with_label"] - t["expected_share"]))
