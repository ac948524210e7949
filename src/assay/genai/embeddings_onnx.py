"""The embedding model as an ONNX graph run by onnxruntime, with its matrix products in int8 (``precision: int8``).

The graph is built here from the same weights the numpy forward pass reads (``onnx.helper``, standard operators at
opset 17: Gather, MatMul, Softmax, LayerNormalization, Erf for the exact GELU; the same mean pooling and unit-length
rows), so nothing is downloaded and no exporter (PyTorch) is needed. ``precision="int8"`` then quantises the
weights of its matrix products with onnxruntime's dynamic quantisation (``quantize_dynamic``: int8 weights per
output column, activations quantised per call to uint8), whose kernels use the CPU's VNNI instructions where it has
them. The attention products (scores and context, both of activations) stay float32.

The built model is kept in a cache folder, keyed by the weights' hash, the onnxruntime version and this builder's
version, so it is built once per machine (about 2 s) and loaded thereafter (``ASSAY_CACHE_DIR``, default
``$XDG_CACHE_HOME/assay`` or ``~/.cache/assay``; :func:`cache_folder`).

The optional ``onnx`` extra provides onnx and onnxruntime; without them :func:`available` is False and the caller
keeps the numpy path.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, Literal

import numpy as np
from numpy.typing import NDArray

from assay.errors import InvalidInput

__all__ = ["BUILDER_VERSION", "OnnxEncoder", "available", "cache_folder", "weights_digest"]

#: Changes whenever the graph built here changes, so cached files of an older graph are not reused.
BUILDER_VERSION: Final = 2
OPSET: Final = 17
#: The matrix products of two activations (attention scores and context): kept float32 (dynamic quantisation would
#: quantise both sides per call, for little gain on the short sequences of a sentence).
_FLOAT_PRODUCTS: Final = ("attention_scores", "attention_context")
Graph = Literal["float32", "int8"]
Matrix = NDArray[np.float32]


def available() -> bool:
    """Whether onnx and onnxruntime (the ``onnx`` extra) are installed."""
    try:
        import onnx  # noqa: F401
        import onnxruntime  # type: ignore[import-untyped]  # noqa: F401
    except ImportError:
        return False
    return True


def cache_folder() -> Path:
    """Where built models are kept: ``$ASSAY_CACHE_DIR/embeddings``, else ``$XDG_CACHE_HOME/assay/embeddings``,
    else ``~/.cache/assay/embeddings``."""
    root = os.environ.get("ASSAY_CACHE_DIR")
    if root:
        return Path(root) / "embeddings"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "assay" / "embeddings"


def weights_digest(weights: Mapping[str, np.ndarray]) -> str:
    """A SHA-256 of the weights (names, shapes, types and values): a changed weight is a different model."""
    digest = hashlib.sha256()
    for name in sorted(weights):
        array = np.ascontiguousarray(weights[name])
        digest.update(f"{name}|{array.dtype.str}|{array.shape}\n".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def _build(weights: Mapping[str, np.ndarray], config: Mapping[str, Any], max_tokens: int) -> Any:
    """The float32 ONNX model of a BERT encoder with mean pooling: inputs ``input_ids`` (int64, batch x length) and
    ``attention_mask`` (float32, 1 for a word piece, 0 for padding); output ``embedding`` (batch x hidden, unit
    rows)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    def get(key: str) -> Matrix:
        for prefix in ("", "bert."):
            if prefix + key in weights:
                return np.ascontiguousarray(weights[prefix + key], dtype=np.float32)
        raise InvalidInput(f"the embedding model has no weight {key!r}: not a BERT encoder")

    hidden, heads = int(config["hidden_size"]), int(config["num_attention_heads"])
    width = hidden // heads
    eps = float(config.get("layer_norm_eps", 1e-12))
    initializers: list[Any] = []
    nodes: list[Any] = []

    def const(name: str, value: np.ndarray) -> str:
        initializers.append(numpy_helper.from_array(value, name))
        return name

    def node(op: str, inputs: list[str], output: str, **attributes: Any) -> str:
        nodes.append(helper.make_node(op, inputs, [output], name=output, **attributes))
        return output

    def linear(x: str, weight: Matrix, bias: Matrix, name: str) -> str:
        product = node("MatMul", [x, const(f"{name}.weight", np.ascontiguousarray(weight.T))], f"{name}.matmul")
        return node("Add", [product, const(f"{name}.bias", bias)], f"{name}.out")

    def norm(x: str, prefix: str, name: str) -> str:
        scale, bias = const(f"{name}.gamma", get(f"{prefix}.weight")), const(f"{name}.beta", get(f"{prefix}.bias"))
        return node("LayerNormalization", [x, scale, bias], name, axis=-1, epsilon=eps)

    # embeddings: word + position + token type 0, normalised
    words = node("Gather", [const("word_embeddings", get("embeddings.word_embeddings.weight")), "input_ids"], "words")
    length = node("Shape", ["input_ids"], "length", start=1, end=2)
    positions = const("position_embeddings", get("embeddings.position_embeddings.weight")[:max_tokens])
    position = node("Slice", [positions, const("zero1", np.zeros(1, np.int64)), length], "positions")
    token_type = const("token_type0", get("embeddings.token_type_embeddings.weight")[0])
    summed = node("Add", [node("Add", [words, position], "words_positions"), token_type], "embedded")
    x = norm(summed, "embeddings.LayerNorm", "embeddings.norm")
    # padding gets a very negative attention score, as in the numpy pass (batch x 1 x 1 x length)
    inverted = node("Sub", [const("one", np.ones((), np.float32)), "attention_mask"], "mask_inverted")
    scaled = node("Mul", [inverted, const("minus_big", np.array(-1e9, np.float32))], "mask_scaled")
    mask_bias = node("Unsqueeze", [scaled, const("axes12", np.array([1, 2], np.int64))], "mask_bias")
    split_shape = const("qkv_shape", np.array([0, 0, 3, heads, width], np.int64))
    merge_shape = const("merge_shape", np.array([0, 0, hidden], np.int64))
    scale = const("scale", np.array(1 / math.sqrt(width), np.float32))
    half, root = const("half", np.array(0.5, np.float32)), const("root", np.array(math.sqrt(2), np.float32))
    one = "one"
    for i in range(int(config["num_hidden_layers"])):
        p, n = f"encoder.layer.{i}.", f"layer{i}"
        qkv_weight = np.concatenate([get(f"{p}attention.self.{part}.weight") for part in ("query", "key", "value")])
        qkv_bias = np.concatenate([get(f"{p}attention.self.{part}.bias") for part in ("query", "key", "value")])
        qkv = linear(x, qkv_weight, qkv_bias, f"{n}.qkv")
        # (batch, length, 3, heads, width) -> (3, batch, heads, length, width)
        split = node("Transpose", [node("Reshape", [qkv, split_shape], f"{n}.qkv_split")], f"{n}.qkv_heads",
                     perm=[2, 0, 3, 1, 4])  # fmt: skip
        q, k, v = (node("Gather", [split, const(f"{n}.pick{j}", np.array(j, np.int64))], f"{n}.{part}", axis=0)
                   for j, part in enumerate("qkv"))  # fmt: skip
        k_t = node("Transpose", [k], f"{n}.k_t", perm=[0, 1, 3, 2])
        scores = node("MatMul", [q, k_t], f"{n}.attention_scores")  # _FLOAT_PRODUCTS: not quantised
        scores = node("Add", [node("Mul", [scores, scale], f"{n}.scores_scaled"), mask_bias], f"{n}.scores_masked")
        probs = node("Softmax", [scores], f"{n}.probs", axis=-1)
        context = node("MatMul", [probs, v], f"{n}.attention_context")
        merged = node("Reshape", [node("Transpose", [context], f"{n}.context_t", perm=[0, 2, 1, 3]), merge_shape],
                      f"{n}.context")  # fmt: skip
        out = linear(merged, get(f"{p}attention.output.dense.weight"), get(f"{p}attention.output.dense.bias"),
                     f"{n}.attention_out")  # fmt: skip
        x = norm(node("Add", [out, x], f"{n}.residual1"), f"{p}attention.output.LayerNorm", f"{n}.norm1")
        up = linear(x, get(f"{p}intermediate.dense.weight"), get(f"{p}intermediate.dense.bias"), f"{n}.up")
        # exact GELU, x (1 + erf(x / sqrt 2)) / 2, in the order onnxruntime fuses into one Gelu with the bias
        erf = node("Erf", [node("Div", [up, root], f"{n}.gelu_scaled")], f"{n}.gelu_erf")
        product = node("Mul", [up, node("Add", [erf, one], f"{n}.gelu_one")], f"{n}.gelu_product")
        gelu = node("Mul", [product, half], f"{n}.gelu")
        down = linear(gelu, get(f"{p}output.dense.weight"), get(f"{p}output.dense.bias"), f"{n}.down")
        x = norm(node("Add", [down, x], f"{n}.residual2"), f"{p}output.LayerNorm", f"{n}.norm2")
    # mean of the word pieces' vectors (padding excluded), then unit length
    mask3 = node("Unsqueeze", ["attention_mask", const("axis2", np.array([2], np.int64))], "mask3")
    axis1 = const("axis1", np.array([1], np.int64))
    total = node("ReduceSum", [node("Mul", [x, mask3], "masked"), axis1], "summed_tokens", keepdims=0)
    count = node("Max", [node("ReduceSum", [mask3, axis1], "count", keepdims=0),
                         const("tiny_count", np.array(1e-9, np.float32))], "count_safe")  # fmt: skip
    pooled = node("Div", [total, count], "pooled")
    norms = node("ReduceL2", [pooled], "norms", axes=[1], keepdims=1)  # axes an attribute until opset 18
    safe = node("Max", [norms, const("tiny_norm", np.array(1e-12, np.float32))], "norms_safe")
    node("Div", [pooled, safe], "embedding")
    graph = helper.make_graph(
        nodes,
        "sentence-encoder",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "length"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.FLOAT, ["batch", "length"]),
        ],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", hidden])],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="assay")
    model.ir_version = 8  # onnxruntime >= 1.17 reads it
    onnx.checker.check_model(model)
    return model


_build_lock = threading.Lock()


class _NoPreprocessAdvice(logging.Filter):
    """Drops quantize_dynamic's advice (on the root logger) to run its shape-inference pre-processing, which is for
    graphs without shapes, such as exported ones; this graph's shapes are inferred by onnxruntime at load."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "pre-processing before quantization" not in record.getMessage()


def model_file(
    weights: Mapping[str, np.ndarray], config: Mapping[str, Any], max_tokens: int, graph: Graph,
    folder: Path | None = None,
) -> Path:  # fmt: skip
    """The built model's file in the cache folder, built (and kept) when it is not there yet."""
    import onnxruntime

    folder = folder or cache_folder()
    key = f"{weights_digest(weights)[:24]}-ort{onnxruntime.__version__}-v{BUILDER_VERSION}"
    target = folder / f"encoder-{key}-{graph}.onnx"
    if target.is_file():
        return target
    with _build_lock:
        if target.is_file():
            return target
        try:
            folder.mkdir(parents=True, exist_ok=True)
            scratch = Path(tempfile.mkdtemp(prefix=".build-", dir=folder))
        except OSError as exc:
            raise InvalidInput(
                f"the embedding cache folder {folder} is not writable ({exc.strerror}): set ASSAY_CACHE_DIR to a "
                "writable folder, or use precision: exact"
            ) from None
        try:
            import onnx

            model = _build(weights, config, max_tokens)
            built = scratch / "model.onnx"
            if graph == "int8":
                from onnxruntime.quantization import QuantType, quantize_dynamic  # type: ignore[import-untyped]

                advice = _NoPreprocessAdvice()
                logging.getLogger().addFilter(advice)
                try:
                    quantize_dynamic(
                        model, built, op_types_to_quantize=["MatMul"], per_channel=True,
                        weight_type=QuantType.QInt8, nodes_to_exclude=[n.name for n in model.graph.node if
                                                                       n.name.endswith(_FLOAT_PRODUCTS)],
                    )  # fmt: skip
                finally:
                    logging.getLogger().removeFilter(advice)
            else:
                onnx.save(model, str(built))
            os.replace(built, target)  # atomic: a concurrent reader sees the whole file or none
        finally:
            for leftover in scratch.iterdir():
                leftover.unlink()
            scratch.rmdir()
    return target


class OnnxEncoder:
    """The encoder's forward pass by onnxruntime: :meth:`forward` takes padded word-piece ids and their mask."""

    def __init__(
        self, weights: Mapping[str, np.ndarray], config: Mapping[str, Any], max_tokens: int, graph: Graph,
        *, threads: int = 1, folder: Path | None = None,
    ) -> None:  # fmt: skip
        import onnxruntime
        from onnxruntime.capi.onnxruntime_pybind11_state import Fail, InvalidProtobuf  # type: ignore[import-untyped]

        self.graph = graph
        self.path = model_file(weights, config, max_tokens, graph, folder)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads  # onnxruntime's default (0) takes a thread per physical core
        options.inter_op_num_threads = 1
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        try:
            self._session = onnxruntime.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        except (InvalidProtobuf, Fail):  # a damaged file in the cache (written by hand, a full disk): built again
            self.path.unlink(missing_ok=True)
            self.path = model_file(weights, config, max_tokens, graph, folder)
            self._session = onnxruntime.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])

    def forward(self, ids: NDArray[np.int64], mask: Matrix) -> Matrix:
        outputs = self._session.run(["embedding"], {"input_ids": ids, "attention_mask": mask})
        result: Matrix = np.asarray(outputs[0], dtype=np.float32)
        return result
