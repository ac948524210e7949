"""The embedding extra: all-MiniLM-L6-v2 from its registry package, its forward pass in numpy (tier ``embeddings``:
skipped with the reason when the extra is not installed, fails in CI)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from assay.errors import InvalidInput
from assay.genai.embeddings import Embedder, cosine, load_embedder, model_folder

pytestmark = pytest.mark.embeddings


def test_rows_are_unit_length_and_similar_sentences_are_close(embedder: Any) -> None:
    texts = ["A man is eating food.", "A man is eating a piece of bread.", "The stock market fell sharply today."]
    vectors = embedder.encode(texts)
    assert vectors.shape == (3, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    similarity = cosine(vectors, vectors)
    # sentence-transformers gives 0.7553 for the first pair (its model card's example)
    assert similarity[0, 1] == pytest.approx(0.7553, abs=1e-3)
    assert similarity[0, 2] < 0.1
    assert embedder.name == "all-MiniLM-L6-v2"


def test_order_batching_and_padding_do_not_change_a_vector(embedder: Any) -> None:
    texts = ["short", "a somewhat longer sentence about loans and their interest rates", "mid length text here"]
    embedder.clear()
    alone = np.vstack([embedder.encode([t]) for t in texts])
    embedder.clear()
    together = embedder.encode(texts, batch_size=2)
    np.testing.assert_allclose(alone, together, atol=1e-5)
    assert embedder.encode([]).shape == (0, 384)


def test_vectors_are_kept_and_repeated_texts_encoded_once(embedder: Any) -> None:
    embedder.clear()
    first = embedder.encode(["kept sentence", "kept sentence", "another"])
    np.testing.assert_array_equal(first[0], first[1])
    assert len(embedder._cache) == 2
    again = embedder.encode(["another", "kept sentence"])
    np.testing.assert_array_equal(again, first[[2, 0]])
    again[0] = 0  # a caller changing its result does not change what is kept
    np.testing.assert_array_equal(embedder.encode(["another"])[0], first[2])


def test_long_text_is_truncated_not_refused(embedder: Any) -> None:
    long = "word " * 2000
    assert len(embedder.tokens([long])[0]) == 256
    assert embedder.encode([long]).shape == (1, 384)


def test_one_text_instead_of_a_list_is_refused(embedder: Any) -> None:
    with pytest.raises(InvalidInput, match="list of texts"):
        embedder.encode("one text")


def test_load_is_cached_and_a_directory_that_is_not_a_model_is_refused(embedder: Any, tmp_path: Path) -> None:
    assert load_embedder() is embedder
    folder = model_folder()
    assert folder is not None and (folder / "tokenizer.json").is_file()
    with pytest.raises(InvalidInput, match=r"lacks config\.json, model\.safetensors"):
        Embedder.from_directory(tmp_path)
    (tmp_path / "config.json").write_text('{"model_type": "gpt2"}', encoding="utf-8")
    (tmp_path / "model.safetensors").write_bytes(b"")
    (tmp_path / "tokenizer.json").write_text("{}", encoding="utf-8")
    with pytest.raises(InvalidInput, match="'gpt2', not a BERT encoder"):
        Embedder.from_directory(tmp_path)
