"""ONNX models run by onnxruntime on the CPU (e.g. scikit-learn models converted with skl2onnx)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from assay.adapters._base import Model, _first_line
from assay.errors import InvalidInput

__all__ = ["OnnxModel"]

_DTYPES: dict[str, Any] = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(bool)": np.bool_,
    "tensor(string)": np.str_,
}
_CLASS_ATTRIBUTES = ("classlabels_int64s", "classlabels_strings", "classlabels_ints")


class OnnxModel(Model):
    """An ONNX classifier. Its inputs are either one tensor ``[rows, features]`` (feature names from the
    ``feature_names`` argument or the model's metadata entry ``feature_names``: a JSON list or comma-separated
    text) or one ``[rows, 1]`` input per feature, named after the column. Of its outputs, the class
    probabilities (a tensor, or skl2onnx's list of ``{class: probability}``) are used, else the labels."""

    kind = "onnx"

    def __init__(self, path: Path, *, feature_names: Sequence[str] | None = None, positive: Any = None) -> None:
        import onnxruntime as ort  # type: ignore[import-untyped]

        try:
            session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types for unreadable files
            raise InvalidInput(f"cannot load {str(path)!r} as an ONNX model: {_first_line(exc)}") from exc
        self._session = session
        inputs = session.get_inputs()
        for i in inputs:
            if i.type not in _DTYPES:
                raise InvalidInput(
                    f"ONNX model {str(path)!r}: input {i.name!r} has type {i.type}, which Assay cannot feed"
                )
        meta = session.get_modelmeta().custom_metadata_map or {}
        self._single = len(inputs) == 1
        names: Sequence[str] | None
        if self._single:
            shape = inputs[0].shape
            width = shape[1] if len(shape) == 2 and isinstance(shape[1], int) else None
            names = feature_names if feature_names is not None else _meta_names(meta.get("feature_names"), path)
            if names is None and width == 1:
                names = [inputs[0].name]  # one input of one column: named after it
            if names is not None and width is not None and len(names) != width:
                raise InvalidInput(
                    f"ONNX model {str(path)!r} takes {width} features; {len(names)} feature names were given"
                )
        else:
            names = [i.name for i in inputs]
            if feature_names is not None and list(feature_names) != names:
                raise InvalidInput(
                    f"ONNX model {str(path)!r} names its inputs {', '.join(names)}; the feature names given differ"
                )
        self._inputs = [(i.name, _DTYPES[i.type]) for i in inputs]
        outputs = session.get_outputs()
        self._proba_name = next(
            (o.name for o in outputs if o.type.startswith("seq(map") or "prob" in o.name.lower()), None
        )
        self._label_name = next((o.name for o in outputs if o.name != self._proba_name), None)
        if self._proba_name is None and len(outputs) == 1 and outputs[0].type in ("tensor(float)", "tensor(double)"):
            self._proba_name, self._label_name = outputs[0].name, None
        super().__init__(
            str(path),
            names,
            classes=_classes(path),
            positive=positive,
            output="probability" if self._proba_name is not None else "label",
        )

    def _feeds(self, x: pd.DataFrame) -> dict[str, Any]:
        if self._single:
            name, dtype = self._inputs[0]
            return {name: x.to_numpy().astype(dtype)}
        return {name: x[name].to_numpy().astype(dtype).reshape(-1, 1) for name, dtype in self._inputs}

    def _run(self, name: str, x: pd.DataFrame) -> Any:
        try:
            return self._session.run([name], self._feeds(x))[0]
        except InvalidInput:
            raise
        except Exception as exc:  # onnxruntime's own failures (shape, type) are about the data given
            raise InvalidInput(f"ONNX model {self.source!r} failed on the data: {_first_line(exc)}") from exc

    def _probabilities(self, x: pd.DataFrame) -> NDArray[Any]:
        if self._proba_name is None:
            raise InvalidInput(f"ONNX model {self.source!r} has no probability output: it gives labels only")
        out = self._run(self._proba_name, x)
        if isinstance(out, list):  # skl2onnx's ZipMap: one {class: probability} per row
            if self.classes is None:
                self.classes = tuple(out[0]) if out else None
            classes = self.classes or ()
            return np.asarray([[row[c] for c in classes] for row in out], dtype=np.float64)
        return np.asarray(out, dtype=np.float64)

    def _labels(self, x: pd.DataFrame) -> NDArray[Any]:
        if self._label_name is None:
            return super()._labels(x)
        return np.asarray(self._run(self._label_name, x)).ravel()


def _meta_names(text: str | None, path: Path) -> list[str] | None:
    if not text:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return [t.strip() for t in text.split(",") if t.strip()]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    raise InvalidInput(f"ONNX model {str(path)!r}: metadata 'feature_names' is not a list of names")


def _classes(path: Path) -> list[Any] | None:
    """The class labels a classifier node of the graph declares (needs the ``onnx`` package; else known later)."""
    try:
        import onnx
    except ImportError:
        return None
    try:
        graph = onnx.load(str(path), load_external_data=False).graph
    except Exception:  # onnxruntime read it; a parse failure here only means the classes are learnt at first call
        return None
    for node in graph.node:
        for attribute in node.attribute:
            if attribute.name in _CLASS_ATTRIBUTES:
                values = onnx.helper.get_attribute_value(attribute)
                return [v.decode() if isinstance(v, bytes) else int(v) for v in values]
    return None
