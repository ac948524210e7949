"""SHAP values with the explainer that fits the model.

* ``tree``: ``shap.TreeExplainer`` on a tree ensemble fit directly on the features (scikit-learn's forests and
  boosting, LightGBM, XGBoost), path-dependent: its background is the training data's cover kept in the trees.
* ``linear``: ``shap.LinearExplainer`` on a linear classifier (one coefficient row), with an independent masker
  over a background sample; it explains the margin (log-odds for logistic regression).
* ``permutation`` (the default for any other model) and ``kernel``: model-agnostic, on the probability of the
  positive class, with a background sample; features that are not numbers are encoded as codes for SHAP's
  maskers and decoded before the model sees them.

The scale of the values (``probability`` or ``log_odds``) is found by checking additivity against the model's
own outputs: SHAP values + expected value = output. The largest gap is kept in the result.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from assay.adapters import Model, SklearnModel
from assay.errors import InvalidInput
from assay.explain._data import Encoder, is_numeric_column

__all__ = ["METHODS", "Method", "ShapOutput", "compute_shap", "import_shap"]

Method = Literal["auto", "tree", "linear", "permutation", "kernel"]
METHODS: tuple[str, ...] = ("auto", "tree", "linear", "permutation", "kernel")
_SHAP_CLASS = {
    "tree": "TreeExplainer",
    "linear": "LinearExplainer",
    "permutation": "PermutationExplainer",
    "kernel": "KernelExplainer",
}
_ADDITIVITY_TOLERANCE = 1e-4
_TREE_MODULES = (
    "sklearn.ensemble._forest",
    "sklearn.ensemble._gb",
    "sklearn.ensemble._hist_gradient_boosting",
    "sklearn.tree",
)
_TREE_PACKAGES = frozenset({"lightgbm", "xgboost", "catboost"})
_BOOSTING_MODULES = ("sklearn.ensemble._gb", "sklearn.ensemble._hist_gradient_boosting")


def import_shap() -> Any:
    """The shap package, imported with its import-time deprecation warnings silenced (they are not ours)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import shap  # type: ignore[import-untyped]
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise InvalidInput("explanations need the shap package: pip install 'assay[explain]'") from exc
    return shap


@dataclass(frozen=True)
class ShapOutput:
    """SHAP values ``(rows, features)`` on ``output_scale``, the expected value, and how they were computed."""

    values: NDArray[np.float64] = field(repr=False)
    expected_value: float
    explainer: str
    output_scale: str
    output: NDArray[np.float64] = field(repr=False)  # the model output on that scale, row by row
    background_rows: int | None
    background_method: str
    additivity_error: float
    options: dict[str, Any]
    notes: tuple[str, ...] = ()

    @property
    def shap_class(self) -> str:
        return _SHAP_CLASS[self.explainer]


@contextmanager
def _seeded(seed: int) -> Iterator[None]:
    """KernelExplainer draws from numpy's global generator: seed it, and put its state back afterwards."""
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


def _numeric_input(model: Model, x: pd.DataFrame) -> Any:
    """What the estimator itself is called with: the frame (fit with names) or its array."""
    return model.estimator_input(x) if isinstance(model, SklearnModel) else x.to_numpy()


def _direct(model: Model, x: pd.DataFrame) -> bool:
    """A scikit-learn-style estimator with probabilities, fit directly on numeric features."""
    return model.estimator is not None and model.output == "probability" and all(is_numeric_column(x[c]) for c in x)


def _tree_eligible(model: Model, x: pd.DataFrame) -> bool:
    module = type(model.estimator).__module__
    if not (_direct(model, x) and (module.startswith(_TREE_MODULES) or module.split(".")[0] in _TREE_PACKAGES)):
        return False
    if len(model.classes or ()) > 2 and (
        module.startswith(_BOOSTING_MODULES) or module.split(".")[0] in _TREE_PACKAGES
    ):
        # boosting explains per-class margins: one positive class at most, and shap takes scikit-learn's
        # GradientBoostingClassifier for two classes only
        index = model.positive_columns()
        return not module.startswith("sklearn.ensemble._gb") and index is not None and len(index) == 1
    return True


def _linear_eligible(model: Model, x: pd.DataFrame) -> bool:
    est = model.estimator
    coef = getattr(est, "coef_", None)
    return (
        _direct(model, x)
        and coef is not None
        and np.ndim(coef) == 2
        and np.shape(coef)[0] == 1
        and callable(getattr(est, "decision_function", None))
        and len(model.classes or ()) == 2
    )


def _margin(model: Model, x: pd.DataFrame, index: tuple[int, ...]) -> NDArray[np.float64] | None:
    """The positive class's margin (log-odds for logistic models), when the estimator gives one."""
    est = model.estimator
    if est is not None and callable(getattr(est, "decision_function", None)):
        d = np.asarray(est.decision_function(_numeric_input(model, x)), dtype=np.float64)
        if d.ndim == 1:
            return d if index == (1,) else -d if index == (0,) else None
        return d[:, index[0]] if len(index) == 1 else None
    return None


def _logit(p: NDArray[np.float64]) -> NDArray[np.float64]:
    q = np.clip(p, 1e-300, 1 - 1e-16)
    return np.asarray(np.log(q) - np.log1p(-q), dtype=np.float64)


def _pick_scale(
    values: NDArray[np.float64],
    base: float,
    flip: bool,
    probability: NDArray[np.float64],
    margin: NDArray[np.float64] | None,
) -> tuple[NDArray[np.float64], float, str, NDArray[np.float64], float]:
    """Which scale the values add up on: (values, expected value, scale, output on that scale, largest gap)."""
    v = -values if flip else values
    candidates = []
    for scale, target, b in (
        ("probability", probability, (1.0 - base) if flip else base),
        ("log_odds", margin if margin is not None else _logit(probability), -base if flip else base),
    ):
        gap = float(np.max(np.abs(v.sum(axis=1) + b - target))) if len(target) else 0.0
        candidates.append((gap, scale, b, target))
    gap, scale, b, target = min(candidates, key=lambda c: c[0])
    return v, b, scale, target, gap


def _tree(model: Model, x: pd.DataFrame, strict: bool) -> ShapOutput | None:
    shap = import_shap()
    index = model.positive_columns() or (len(model.classes or (0, 1)) - 1,)
    try:
        explainer = shap.TreeExplainer(model.estimator)
        raw = np.asarray(explainer.shap_values(x.to_numpy(dtype=np.float64), check_additivity=False))
    except Exception as exc:  # shap raises bare Exceptions ("Model type not yet supported by TreeExplainer")
        if strict:
            raise InvalidInput(f"TreeExplainer cannot explain {type(model.estimator).__name__}: {exc}") from exc
        return None
    expected = np.atleast_1d(np.asarray(explainer.expected_value, dtype=np.float64))
    probability = model.predict_proba(x)
    if raw.ndim == 3:  # one output per class
        if raw.shape[2] != len(model.classes or ()) and not (raw.shape[2] == 2 and model.classes is None):
            if strict:
                raise InvalidInput(
                    f"TreeExplainer gave {raw.shape[2]} outputs for a model with classes {model.classes}"
                )
            return None
        values = raw[:, :, list(index)].sum(axis=2)
        base = float(expected[list(index)].sum())
        v, b, scale, target, gap = _pick_scale(values, base, False, probability, _margin(model, x, index))
        if len(index) > 1 and scale != "probability":
            return None  # margins of several classes do not add up
    elif raw.ndim == 2 and len(index) == 1 and index[0] in (0, 1) and len(model.classes or (0, 1)) == 2:
        v, b, scale, target, gap = _pick_scale(
            raw, float(expected[0]), index == (0,), probability, _margin(model, x, index)
        )
    else:
        if strict:
            raise InvalidInput("TreeExplainer's output does not fit the positive class chosen; use permutation")
        return None
    return ShapOutput(
        values=np.asarray(v, dtype=np.float64),
        expected_value=b,
        explainer="tree",
        output_scale=scale,
        output=target,
        background_rows=None,
        background_method="tree_path_dependent: the training data's cover stored in the trees",
        additivity_error=gap,
        options={"feature_perturbation": "tree_path_dependent"},
    )


def _linear(model: Model, x: pd.DataFrame, background: pd.DataFrame) -> ShapOutput:
    shap = import_shap()
    index = model.positive_columns() or (1,)
    bg = background.to_numpy(dtype=np.float64)
    masker = shap.maskers.Independent(bg, max_samples=len(bg))
    explainer = shap.LinearExplainer(model.estimator, masker)
    values = np.asarray(explainer.shap_values(x.to_numpy(dtype=np.float64)), dtype=np.float64)
    base = float(np.atleast_1d(np.asarray(explainer.expected_value, dtype=np.float64))[0])
    probability = model.predict_proba(x)
    v, b, scale, target, gap = _pick_scale(values, base, index == (0,), probability, _margin(model, x, index))
    return ShapOutput(
        values=v,
        expected_value=b,
        explainer="linear",
        output_scale=scale,
        output=target,
        background_rows=len(bg),
        background_method="random sample of the data (independent masker)",
        additivity_error=gap,
        options={"masker": "Independent"},
    )


def _agnostic(
    model: Model,
    x: pd.DataFrame,
    background: pd.DataFrame,
    method: str,
    seed: int,
    max_evals: int | None,
    nsamples: int | None,
) -> ShapOutput:
    shap = import_shap()
    encoder = Encoder([x, background])
    z = encoder.encode(x)
    bg = encoder.encode(background)

    def f(array: NDArray[Any]) -> NDArray[np.float64]:
        return model.predict_proba(encoder.decode(np.atleast_2d(array)))

    n_features = z.shape[1]
    options: dict[str, Any]
    if method == "permutation":
        evals = max_evals or 10 * (2 * n_features + 1)  # ten permutations, forward and back
        if evals < 2 * n_features + 1:
            raise InvalidInput(f"max_evals {evals} is too low: the permutation explainer needs {2 * n_features + 1}")
        masker = shap.maskers.Independent(bg, max_samples=len(bg))
        with _seeded(seed):  # the explainer seeds and draws from numpy's global generator
            explainer = shap.PermutationExplainer(f, masker, seed=seed)
            result = explainer(z, max_evals=evals, silent=True)
        values = np.asarray(result.values, dtype=np.float64)
        base = float(np.asarray(result.base_values, dtype=np.float64).ravel()[0])
        options = {"max_evals": evals, "masker": "Independent", "seed": seed}
    else:
        samples = nsamples or 2 * n_features + 2048
        with _seeded(seed):
            explainer = shap.KernelExplainer(f, bg)
            values = np.asarray(explainer.shap_values(z, nsamples=samples, l1_reg=False, silent=True))
        base = float(np.atleast_1d(np.asarray(explainer.expected_value, dtype=np.float64))[0])
        options = {"nsamples": samples, "l1_reg": False, "seed": seed}
    probability = f(z)
    v, b, scale, target, gap = _pick_scale(values.astype(np.float64), base, False, probability, None)
    return ShapOutput(
        values=v,
        expected_value=b,
        explainer=method,
        output_scale=scale,
        output=target,
        background_rows=len(bg),
        background_method="random sample of the data",
        additivity_error=gap,
        options=options,
    )


def choose_method(model: Model, x: pd.DataFrame, method: str) -> str:
    """The explainer ``auto`` picks, or check that the one asked for fits the model."""
    if method not in METHODS:
        raise InvalidInput(f"explainer {method!r} is not one of {', '.join(METHODS)}")
    if method == "linear" and not _linear_eligible(model, x):
        raise InvalidInput(
            "the linear explainer needs a scikit-learn linear classifier with probabilities, fit directly on "
            "numeric features (not a pipeline); use permutation or kernel"
        )
    if method == "tree" and not _tree_eligible(model, x):
        raise InvalidInput(
            "the tree explainer needs a tree ensemble with probabilities, fit directly on numeric features "
            "(not a pipeline); use permutation or kernel"
        )
    if method != "auto":
        return method
    if _linear_eligible(model, x):
        return "linear"
    if _tree_eligible(model, x):
        return "tree"
    return "permutation"


def compute_shap(
    model: Model,
    x: pd.DataFrame,
    background: pd.DataFrame,
    *,
    method: str = "auto",
    seed: int = 0,
    max_evals: int | None = None,
    nsamples: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> ShapOutput:
    """SHAP values of the rows of ``x`` (the model's features) for the positive class."""
    if model.output == "label":
        raise InvalidInput(
            f"model {model.source!r} gives labels, not probabilities: SHAP explains the probability of the "
            "positive class"
        )
    chosen = choose_method(model, x, method)
    say = progress or (lambda _stage: None)
    if chosen == "tree":
        say("SHAP: TreeExplainer")
        out = _tree(model, x, strict=method == "tree")
        if out is not None:
            return out
        chosen = "permutation"
        note = (
            "TreeExplainer cannot explain this model for the positive class chosen; the permutation explainer was used"
        )
    else:
        note = ""
    say(f"SHAP: {_SHAP_CLASS[chosen]} on {len(x)} rows")
    if chosen == "linear":
        return _linear(model, x, background)
    out = _agnostic(model, x, background, chosen, seed, max_evals, nsamples)
    if note:
        out = ShapOutput(**{**out.__dict__, "notes": (*out.notes, note)})
    return out


def check_additivity(out: ShapOutput) -> str | None:
    """A warning when the values do not add up to the model output (beyond float32 models' rounding)."""
    scale = max(1.0, float(np.max(np.abs(out.output))) if len(out.output) else 1.0)
    if out.additivity_error > _ADDITIVITY_TOLERANCE * scale:
        return (
            f"SHAP values plus the expected value differ from the model output by up to {out.additivity_error:.3g} "
            f"({out.output_scale} scale): read them as approximate"
        )
    return None
