"""``load_model``: one entry point for every kind of model."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from assay.adapters._base import Model, Output
from assay.adapters._callable import CallableModel, import_callable
from assay.adapters._http import HttpModel
from assay.adapters._onnx import OnnxModel
from assay.adapters._sklearn import SklearnModel, load_pickle, load_skops
from assay.errors import InvalidInput

__all__ = ["KINDS", "file_kind", "load_model"]

KINDS = ("sklearn", "skops", "onnx", "callable", "http")
_SUFFIXES = {
    ".joblib": "sklearn",
    ".jbl": "sklearn",
    ".pkl": "sklearn",
    ".pickle": "sklearn",
    ".skops": "skops",
    ".onnx": "onnx",
}


def file_kind(name: str) -> str | None:
    """The kind of a model file by its name: ``skops``, ``onnx``, ``sklearn`` (a joblib/pickle file), or None."""
    return _SUFFIXES.get(Path(name).suffix.lower())


def _kind_of(source: str) -> str:
    if source.startswith(("http://", "https://")):
        return "http"
    suffix = Path(source).suffix.lower()
    if suffix in _SUFFIXES:
        return _SUFFIXES[suffix]
    if ":" in source and not os.path.exists(source) and not Path(source).suffix:
        return "callable"
    raise InvalidInput(
        f"cannot tell the kind of model {source!r} from its name; use .skops, .joblib/.pkl, .onnx, an http(s) URL "
        f"or package.module:function, or say the kind ({', '.join(KINDS)})"
    )


def load_model(
    source: Any,
    *,
    kind: str | None = None,
    trust: bool = False,
    trusted_types: Sequence[str] = (),
    feature_names: Sequence[str] | None = None,
    positive: Any = None,
    output: Output = "auto",
    batch_size: int = 100,
    timeout: float = 30.0,
    retries: int = 3,
    headers: Mapping[str, str] | None = None,
) -> Model:
    """Load or wrap a model.

    ``source`` is a file (``.skops``; ``.joblib``/``.pkl``, only with ``trust=True`` because loading a pickle
    runs the code it holds; ``.onnx``), an ``http(s)://`` URL, ``package.module:function``, a fitted
    scikit-learn estimator or pipeline, a Python callable, or a :class:`Model` (returned as it is). ``kind``
    overrides the guess from the name. ``feature_names`` are needed when the model does not name its features
    (an estimator fit on an array, an ONNX model with one input tensor, a callable, an endpoint).
    ``positive`` is the positive class (default: the second of two classes). ``trusted_types`` are extra
    types a skops file may hold. ``output``, ``batch_size``, ``timeout``, ``retries`` and ``headers`` apply
    to callables and endpoints.
    """
    if kind is not None and kind not in KINDS:
        raise InvalidInput(f"model kind {kind!r} is not one of {', '.join(KINDS)}")
    if isinstance(source, Model):
        return source
    if not isinstance(source, str | os.PathLike):
        if kind == "callable" or (not hasattr(source, "predict") and callable(source)):
            return CallableModel(source, feature_names, output=output, positive=positive)
        return SklearnModel(source, feature_names=feature_names, positive=positive)
    text = os.fspath(source)
    chosen = kind or _kind_of(text)
    if chosen == "http":
        return HttpModel(
            text,
            feature_names,
            batch_size=batch_size,
            timeout=timeout,
            retries=retries,
            headers=headers,
            output=output,
            positive=positive,
        )
    if chosen == "callable":
        return CallableModel(import_callable(text), feature_names, source=text, output=output, positive=positive)
    path = Path(text)
    if not path.exists():
        raise InvalidInput(f"model file {text!r} does not exist")
    if path.is_dir():
        raise InvalidInput(f"model path {text!r} is a folder; give the model file")
    if chosen == "onnx":
        return OnnxModel(path, feature_names=feature_names, positive=positive)
    if chosen == "skops":
        return load_skops(path, trusted_types=trusted_types, feature_names=feature_names, positive=positive)
    return load_pickle(path, trust=trust, feature_names=feature_names, positive=positive)
