"""Membership inference: how well an attacker who sees the model's outputs tells its training rows from held-out rows.

Both sides are sampled (``sample`` rows each), scored through Assay's model adapter (the probability of the
positive class) and split in half at random: the attack is trained on one half of each side and judged on the other.
Two attacks run:

* ``black-box`` — the Adversarial Robustness Toolbox's ``MembershipInferenceBlackBox`` (input ``prediction``: the
  class probabilities and the true label) with a gradient boosting, random forest or logistic regression attack
  model;
* ``loss-threshold`` — the attack of Yeom et al. (2018): the lower the model's loss on a row, the likelier it is a
  training row (no training; the AUC of the negative log-loss).

Each attack's ROC AUC (0.5: the attacker cannot tell; 1: always) has a stratified bootstrap interval, its
*advantage* is the largest true-positive minus false-positive rate over thresholds (Yeom's membership advantage),
and the strongest attack's AUC is also given per group of a facet. The verdict fails when the strongest attack's AUC
is above ``max_auc``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd

from assay.documents import Note, head, now
from assay.errors import BackendUnsupported, InvalidInput
from assay.frames import Label
from assay.frames import open as open_frame
from assay.privacy._data import binary, require, sample

__all__ = ["SCHEMA", "AttackResult", "MembershipInference", "membership_inference", "outcome"]

SCHEMA: Final = "assay.membership-inference"
MIN_ROWS: Final = 50  # rows per side judged below which the verdict is "warn"
_EPS: Final = 1e-12


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None or not math.isfinite(value) else round(float(value), digits)


@dataclass(frozen=True)
class AttackResult:
    """One attack's ROC AUC on the held-back rows, its interval and its advantage."""

    name: str
    method: str
    auc: float
    interval: tuple[float, float] | None
    advantage: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "method": self.method,
            "auc": _round(self.auc),
            "interval": None if self.interval is None else [_round(v) for v in self.interval],
            "advantage": _round(self.advantage),
        }


@dataclass(frozen=True)
class MembershipInference:
    model: dict[str, Any]
    data: dict[str, Any]
    spec: dict[str, Any]
    attacks: tuple[AttackResult, ...]
    groups: tuple[dict[str, Any], ...]
    accuracy: dict[str, float | None]
    judged: dict[str, int]
    max_auc: float
    notes: tuple[Note, ...] = ()
    created_at: str = field(default_factory=now)

    @property
    def strongest(self) -> AttackResult:
        return max(self.attacks, key=lambda a: a.auc)

    @property
    def status(self) -> str:
        if min(self.judged.values()) < MIN_ROWS:
            return "warn"
        return "fail" if self.strongest.auc > self.max_auc else "pass"

    def to_dict(self) -> dict[str, Any]:
        best = self.strongest
        verdict = {"pass": "at most", "fail": "above", "warn": "judged on too few rows against"}[self.status]
        interval = "" if best.interval is None else f" [{best.interval[0]:.3f}, {best.interval[1]:.3f}]"
        return {
            **head(SCHEMA, created_at=self.created_at),
            "model": self.model,
            "data": self.data,
            "spec": self.spec,
            "status": self.status,
            "summary": (
                f"strongest attack ({best.name}) AUC {best.auc:.3f}{interval}, advantage {best.advantage:.3f}: "
                f"{verdict} {self.max_auc}"
            ),
            "result": {
                "strongest": best.name,
                "auc": _round(best.auc),
                "interval": None if best.interval is None else [_round(v) for v in best.interval],
                "advantage": _round(best.advantage),
                "max_auc": self.max_auc,
                "attacks": [a.to_dict() for a in self.attacks],
                "groups": list(self.groups),
                "accuracy": {k: _round(v) for k, v in self.accuracy.items()},
                "judged": dict(self.judged),
            },
            "warnings": [n.to_dict() for n in self.notes],
        }


def _auc(scores: np.ndarray, member: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(member, scores))


def _advantage(scores: np.ndarray, member: np.ndarray) -> float:
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(member, scores)
    return float(np.max(tpr - fpr))


def _interval(
    scores: np.ndarray, member: np.ndarray, replicates: int, confidence: float, rng: np.random.Generator
) -> tuple[float, float] | None:
    """A percentile bootstrap interval of the AUC, resampling members and non-members separately."""
    if replicates == 0:
        return None
    ins, outs = np.flatnonzero(member == 1), np.flatnonzero(member == 0)
    values = []
    for _ in range(replicates):
        chosen = np.concatenate([rng.choice(ins, len(ins)), rng.choice(outs, len(outs))])
        values.append(_auc(scores[chosen], member[chosen]))
    alpha = (1 - confidence) / 2
    low, high = np.quantile(values, [alpha, 1 - alpha])
    return float(low), float(high)


def _black_box(attack: str, train: tuple[np.ndarray, np.ndarray, np.ndarray], judge: tuple[np.ndarray, np.ndarray],
               seed: int) -> np.ndarray:  # fmt: skip
    """ART's black-box attack trained on (probabilities, label, membership) rows, scoring the judged rows."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # ART notes that PyTorch is missing (not needed here)
            from art.attacks.inference.membership_inference import (  # type: ignore[import-untyped]
                MembershipInferenceBlackBox,
            )
            from art.estimators.classification import BlackBoxClassifier  # type: ignore[import-untyped]
    except ImportError as exc:
        raise BackendUnsupported(
            "membership inference needs the Adversarial Robustness Toolbox (pip install 'assay[security]')"
        ) from exc

    def never(x: np.ndarray) -> np.ndarray:  # the predictions are given: ART never calls the model
        raise InvalidInput("the membership attack called the model directly")

    estimator = BlackBoxClassifier(never, input_shape=(1,), nb_classes=2)
    inference = MembershipInferenceBlackBox(estimator, input_type="prediction", attack_model_type=attack)
    if "random_state" in inference.attack_model.get_params():  # ART builds its attack model without a seed
        inference.attack_model.set_params(random_state=seed)
    pred, y, member = train
    inference.fit(y=y[member == 1], pred=pred[member == 1], test_y=y[member == 0], test_pred=pred[member == 0])
    judged_pred, judged_y = judge
    scores = inference.infer(None, judged_y, pred=judged_pred, probabilities=True)
    scores = np.asarray(scores, dtype=np.float64)
    return scores[:, 1] if scores.ndim == 2 and scores.shape[1] == 2 else scores.ravel()


def membership_inference(
    data: Any,
    reference: Any,
    model: Any,
    *,
    label: Label,
    facet: str | None = None,
    sample_size: int = 5000,
    attack: str = "gb",
    max_auc: float = 0.6,
    bootstrap: int = 200,
    confidence: float = 0.95,
    min_group_size: int = 30,
    seed: int = 0,
) -> MembershipInference:
    """Attack ``model`` (an :class:`assay.adapters.Model`) to tell rows of ``data`` (its training set) from rows of
    ``reference`` (held-out rows of the same population)."""
    if attack not in ("gb", "rf", "lr"):
        raise InvalidInput(f"attack must be gb, rf or lr, not {attack!r}")
    if reference is None:
        raise InvalidInput("membership inference needs held-out rows: give the reference dataset (--reference)")
    if model is None:
        raise InvalidInput("membership inference needs the model: give --model")
    features = list(model.feature_names)
    columns = list(dict.fromkeys([*features, label.column, *([facet] if facet else [])]))
    sides = []
    for name, given in (("training", data), ("held-out", reference)):
        frame = open_frame(given)
        require(frame, [label.column], role="label column")
        require(frame, [facet], role="facet column")
        require(frame, features, role=f"model feature (of {name} data)")
        rows, _, total = sample(frame, columns, sample_size, seed)
        y = binary(rows[label.column], label)
        keep = ~np.isnan(y)
        rows, y = rows[keep].reset_index(drop=True), y[keep]
        if len(rows) < 4:
            raise InvalidInput(f"the {name} data ({frame.source}) has {len(rows)} labelled rows: too few to attack")
        sides.append((frame.source, total, rows, y))
    (train_source, train_total, members, y_in), (held_source, held_total, others, y_out) = sides
    if len(set(np.unique(np.concatenate([y_in, y_out])))) < 2:
        raise InvalidInput(f"label {label.column!r} has one class only in the sampled rows: both are needed")

    p = np.concatenate([model.predict_proba(members), model.predict_proba(others)])
    y = np.concatenate([y_in, y_out]).astype(np.int64)
    member = np.concatenate([np.ones(len(members), dtype=np.int64), np.zeros(len(others), dtype=np.int64)])
    groups_of = (
        pd.concat([members[facet], others[facet]], ignore_index=True).astype("string").fillna("(missing)").to_numpy()
        if facet
        else None
    )
    pred = np.column_stack([1 - p, p])
    rng = np.random.default_rng(seed)
    half = np.zeros(len(y), dtype=bool)  # True: trains the attack; False: judged
    for side in (1, 0):
        index = np.flatnonzero(member == side)
        half[rng.choice(index, len(index) // 2, replace=False)] = True
    judged = ~half

    scores = {
        "black-box": _black_box(attack, (pred[half], y[half], member[half]), (pred[judged], y[judged]), seed),
        "loss-threshold": np.log(np.clip(np.where(y[judged] == 1, p[judged], 1 - p[judged]), _EPS, 1.0)),
    }
    methods = {
        "black-box": f"ART MembershipInferenceBlackBox (input: prediction and label; attack model: {attack}), "
        "trained on half of each side",
        "loss-threshold": "negative log-loss of the model on the row as the membership score (Yeom et al. 2018)",
    }
    truth = member[judged]
    attacks = tuple(
        AttackResult(name, methods[name], _auc(s, truth), _interval(s, truth, bootstrap, confidence, rng),
                     _advantage(s, truth))
        for name, s in scores.items()
    )  # fmt: skip
    best = max(attacks, key=lambda a: a.auc)
    notes: list[Note] = []
    groups: list[dict[str, Any]] = []
    if groups_of is not None:
        judged_groups = groups_of[judged]
        values, counts = np.unique(judged_groups, return_counts=True)
        for value in values[np.argsort(-counts, kind="stable")][:50]:
            at = judged_groups == value
            n_in, n_out = int(truth[at].sum()), int((1 - truth[at]).sum())
            entry: dict[str, Any] = {"facet": facet, "value": str(value), "members": n_in, "non_members": n_out}
            if min(n_in, n_out) < min_group_size:
                entry |= {"auc": None, "interval": None, "advantage": None}
                notes.append(Note("small_group", f"{facet}={value}: {n_in} members and {n_out} non-members judged, "
                                                 f"fewer than {min_group_size} on a side: no AUC"))  # fmt: skip
            else:
                s, t = scores[best.name][at], truth[at]
                interval = _interval(s, t, bootstrap, confidence, rng)
                entry |= {
                    "auc": _round(_auc(s, t)),
                    "interval": None if interval is None else [_round(v) for v in interval],
                    "advantage": _round(_advantage(s, t)),
                }
            groups.append(entry)
    judged_rows = {"members": int(truth.sum()), "non_members": int((1 - truth).sum())}
    if min(judged_rows.values()) < MIN_ROWS:
        notes.append(
            Note(
                "few_rows",
                f"{judged_rows['members']} members and {judged_rows['non_members']} "
                f"non-members judged: fewer than {MIN_ROWS} on a side, the verdict is warn",
            )
        )
    predicted = (p > 0.5).astype(np.int64)
    accuracy: dict[str, float | None] = {
        "training": float(np.mean(predicted[member == 1] == y[member == 1])),
        "held_out": float(np.mean(predicted[member == 0] == y[member == 0])),
    }
    return MembershipInference(
        model=model.describe(),
        data={
            "training": {"source": train_source, "rows": train_total, "sampled": len(members)},
            "held_out": {"source": held_source, "rows": held_total, "sampled": len(others)},
        },
        spec={
            "label": label.column,
            "positive": None if label.values is None else [str(v) for v in label.values],
            "label_threshold": label.threshold,
            "facet": facet,
            "sample": sample_size,
            "attack": attack,
            "max_auc": max_auc,
            "bootstrap": bootstrap,
            "confidence": confidence,
            "min_group_size": min_group_size,
            "seed": seed,
        },
        attacks=attacks,
        groups=tuple(groups),
        accuracy=accuracy,
        judged=judged_rows,
        max_auc=max_auc,
        notes=tuple(notes),
    )


def outcome(document: Any) -> dict[str, Any]:
    """The verdict, the violation (the strongest AUC above the threshold) and the metrics kept over windows."""
    result = document.get("result") or {}
    status = document.get("status", "warn")
    auc, limit = result.get("auc"), result.get("max_auc")
    violations = (
        [{"check_type": "membership_inference_check", "subject": str(result.get("strongest", "")),
          "description": str(document.get("summary", "")), "value": auc, "threshold": limit}]
        if status == "fail"
        else []
    )  # fmt: skip
    metrics: list[dict[str, Any]] = []
    if isinstance(auc, int | float):
        metrics.append({"name": "membership_auc", "subject": "", "value": float(auc), "threshold": limit})
    if isinstance(result.get("advantage"), int | float):
        metrics.append({"name": "membership_advantage", "subject": "", "value": float(result["advantage"])})
    for group in result.get("groups") or []:
        if isinstance(group.get("auc"), int | float):
            subject = f"{group['facet']}={group['value']}"
            metrics.append({"name": "membership_auc", "subject": subject, "value": float(group["auc"]),
                            "threshold": limit})  # fmt: skip
    return {"status": status, "violations": violations, "metrics": metrics}
