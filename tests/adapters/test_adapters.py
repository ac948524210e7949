"""Model adapters: scikit-learn from joblib (only when trusted) and skops, ONNX, callables, and an HTTP endpoint
served by a real local server."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier

from assay.adapters import (
    CallableModel,
    HttpModel,
    Model,
    OnnxModel,
    SklearnModel,
    load_model,
)
from assay.errors import InvalidInput
from tests.support.endpoint import ModelEndpoint

FEATURES = ["a", "b", "c"]


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 120
    df = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n), "c": rng.normal(size=n)})
    df["y"] = ((df.a - 0.5 * df.b + rng.normal(scale=0.5, size=n)) > 0).astype(int)
    df["group"] = rng.choice(["F", "M"], n)
    return df


@pytest.fixture(scope="module")
def logistic(frame: pd.DataFrame) -> LogisticRegression:
    return LogisticRegression().fit(frame[FEATURES], frame["y"])


def test_a_pickle_is_refused_unless_trusted(
    tmp_path: Path, frame: pd.DataFrame, logistic: LogisticRegression, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "model.joblib"
    joblib.dump(logistic, path)
    with pytest.raises(InvalidInput, match=r"runs any code.*trust=True.*--trust-pickle.*skops"):
        load_model(path)
    with caplog.at_level(logging.WARNING, logger="assay.adapters"):
        model = load_model(path, trust=True)
    assert "can run any code" in caplog.text and str(path) in caplog.text
    assert isinstance(model, SklearnModel)
    assert (model.kind, model.feature_names, model.classes) == ("sklearn", ("a", "b", "c"), (0, 1))
    np.testing.assert_array_equal(model.predict_proba(frame), logistic.predict_proba(frame[FEATURES])[:, 1])
    np.testing.assert_array_equal(model.predict(frame), logistic.predict(frame[FEATURES]))
    assert model.estimator is not logistic  # it came from the file


def test_skops_round_trip_and_untrusted_types(tmp_path: Path, frame: pd.DataFrame) -> None:
    boosted = GradientBoostingClassifier(n_estimators=10, random_state=0).fit(frame[FEATURES], frame["y"])
    path = tmp_path / "model.skops"
    sio.dump(boosted, path)
    model = load_model(path)  # its Tree type is one Assay trusts by default
    assert model.kind == "skops"
    np.testing.assert_array_equal(model.predict_proba(frame), boosted.predict_proba(frame[FEATURES])[:, 1])
    assert "sklearn.tree._tree.Tree" in model.describe()["notes"][0]

    knn = KNeighborsClassifier().fit(frame[FEATURES], frame["y"])
    other = tmp_path / "knn.skops"
    sio.dump(knn, other)
    with pytest.raises(InvalidInput, match=r"does not trust: .*sklearn\.neighbors\._kd_tree\.KDTree.*--trust-type"):
        load_model(other)
    untrusted = sio.get_untrusted_types(file=other)
    loaded = load_model(other, trusted_types=untrusted)
    np.testing.assert_array_equal(loaded.predict_proba(frame), knn.predict_proba(frame[FEATURES])[:, 1])


@pytest.mark.parametrize("zipmap", [True, False])
def test_onnx_gives_the_probabilities_of_scikit_learn(
    tmp_path: Path, frame: pd.DataFrame, logistic: LogisticRegression, zipmap: bool
) -> None:
    from skl2onnx import to_onnx

    onx = to_onnx(logistic, frame[FEATURES].to_numpy(dtype=np.float32)[:1], options={"zipmap": zipmap})
    entry = onx.metadata_props.add()
    entry.key, entry.value = "feature_names", json.dumps(FEATURES)
    path = tmp_path / "model.onnx"
    path.write_bytes(onx.SerializeToString())
    model = load_model(path)
    assert isinstance(model, OnnxModel)
    assert (model.kind, model.feature_names, model.classes) == ("onnx", ("a", "b", "c"), (0, 1))
    shuffled = frame[["c", "y", "a", "b"]]  # only the model's columns are passed, in its order
    np.testing.assert_allclose(model.predict_proba(shuffled), logistic.predict_proba(frame[FEATURES])[:, 1], atol=1e-5)
    np.testing.assert_array_equal(model.predict(shuffled), logistic.predict(frame[FEATURES]))
    negative = load_model(path, positive=0)
    np.testing.assert_allclose(negative.predict_proba(frame), logistic.predict_proba(frame[FEATURES])[:, 0], atol=1e-5)


def test_onnx_without_feature_names_needs_them(
    tmp_path: Path, frame: pd.DataFrame, logistic: LogisticRegression
) -> None:
    from skl2onnx import to_onnx

    path = tmp_path / "plain.onnx"
    path.write_bytes(to_onnx(logistic, frame[FEATURES].to_numpy(dtype=np.float32)[:1]).SerializeToString())
    with pytest.raises(InvalidInput, match=r"does not name its features.*--features"):
        load_model(path).predict_proba(frame)
    with pytest.raises(InvalidInput, match="takes 3 features; 2 feature names"):
        load_model(path, feature_names=["a", "b"])
    model = load_model(path, feature_names=FEATURES)
    np.testing.assert_allclose(model.predict_proba(frame), logistic.predict_proba(frame[FEATURES])[:, 1], atol=1e-5)


def test_callables_give_probabilities_or_labels(frame: pd.DataFrame) -> None:
    seen: list[list[str]] = []

    def probability(x: pd.DataFrame) -> Any:
        seen.append(list(x.columns))
        return 1 / (1 + np.exp(-x["a"].to_numpy()))

    model = load_model(probability, feature_names=["a", "b"])
    assert isinstance(model, CallableModel) and model.output == "auto"
    np.testing.assert_allclose(model.predict_proba(frame), 1 / (1 + np.exp(-frame["a"].to_numpy())))
    assert model.output == "probability" and seen == [["a", "b"]]
    np.testing.assert_array_equal(model.predict(frame), (frame["a"] > 0).astype(int))

    two_columns = load_model(lambda x: np.column_stack([1 - x["a"] * 0 - 0.3, x["a"] * 0 + 0.3]), feature_names=["a"])
    np.testing.assert_allclose(two_columns.predict_proba(frame), 0.3)

    labels = load_model(lambda x: np.where(x["a"] > 0, "yes", "no"), feature_names=["a"])
    np.testing.assert_array_equal(labels.predict(frame), np.where(frame["a"] > 0, "yes", "no"))
    assert labels.output == "label"
    with pytest.raises(InvalidInput, match="returns labels"):
        labels.predict_proba(frame)
    with pytest.raises(InvalidInput, match=r"returned 2\.0 for row 0: not a probability"):
        load_model(lambda x: x["a"] * 0 + 2.0, feature_names=["a"]).predict_proba(frame)


def test_a_callable_by_its_import_name(frame: pd.DataFrame) -> None:
    model = load_model("numpy:ones_like", kind="callable", feature_names=["a"], output="probability")
    np.testing.assert_array_equal(model.predict_proba(frame), np.ones(len(frame)))
    with pytest.raises(InvalidInput, match="cannot import 'no_such_module_here'"):
        load_model("no_such_module_here:f", feature_names=["a"])
    with pytest.raises(InvalidInput, match="has no attribute 'nothing'"):
        load_model("numpy:nothing", feature_names=["a"])


# ---- an HTTP endpoint ---------------------------------------------------------------------------------------


@pytest.fixture
def endpoint(logistic: LogisticRegression) -> Iterator[ModelEndpoint]:
    """A JSON model server on 127.0.0.1: answers ``{"predictions": [p, ...]}`` from a logistic regression."""
    with ModelEndpoint(lambda records: logistic.predict_proba(records[FEATURES])[:, 1].tolist()) as server:
        yield server


def test_http_endpoint_in_batches(endpoint: ModelEndpoint, frame: pd.DataFrame, logistic: LogisticRegression) -> None:
    model = load_model(endpoint.url, feature_names=FEATURES, batch_size=50)
    assert isinstance(model, HttpModel)
    rows = frame.iloc[:120]
    np.testing.assert_allclose(model.predict_proba(rows), logistic.predict_proba(rows[FEATURES])[:, 1], rtol=1e-12)
    assert endpoint.batches == [50, 50, 20]
    assert (model.requests, model.retried, model.output) == (3, 0, "probability")


def test_http_endpoint_retries_after_503(
    endpoint: ModelEndpoint, frame: pd.DataFrame, logistic: LogisticRegression
) -> None:
    endpoint.fail_next = [503]
    model = HttpModel(endpoint.url, FEATURES, retries=2, backoff=0.01)
    np.testing.assert_allclose(model.predict_proba(frame), logistic.predict_proba(frame[FEATURES])[:, 1], rtol=1e-12)
    assert (model.requests, model.retried, endpoint.batches) == (3, 1, [100, 20])  # default batches of 100

    endpoint.fail_next = [503, 503, 503]
    with pytest.raises(InvalidInput, match=r"answered HTTP 503 after 3 attempts: \{\"error\": \"busy\"\}"):
        HttpModel(endpoint.url, FEATURES, retries=2, backoff=0.01).predict_proba(frame)

    endpoint.fail_next = [400]
    refused = HttpModel(endpoint.url, FEATURES, retries=2, backoff=0.01)
    with pytest.raises(InvalidInput, match="answered HTTP 400"):
        refused.predict_proba(frame)
    assert refused.requests == 1  # a client error is not retried


def test_http_endpoint_timeout(endpoint: ModelEndpoint, frame: pd.DataFrame) -> None:
    endpoint.delay = 0.6
    model = HttpModel(endpoint.url, FEATURES, timeout=0.1, retries=1, backoff=0.01)
    started = time.monotonic()
    with pytest.raises(InvalidInput, match=r"did not answer after 2 attempts \(timeout 0\.1 s\)"):
        model.predict_proba(frame.iloc[:5])
    assert time.monotonic() - started < 0.6 * 2
    assert model.requests == 2


# ---- bad input ----------------------------------------------------------------------------------------------


def test_bad_input_names_the_problem(tmp_path: Path, frame: pd.DataFrame, logistic: LogisticRegression) -> None:
    with pytest.raises(InvalidInput, match=r"model file '.*missing\.skops' does not exist"):
        load_model(tmp_path / "missing.skops")
    with pytest.raises(InvalidInput, match="model kind 'tensorflow' is not one of"):
        load_model(logistic, kind="tensorflow")
    with pytest.raises(InvalidInput, match="cannot tell the kind of model"):
        load_model(str(tmp_path / "model.bin"))
    skops_file = tmp_path / "model.skops"
    sio.dump(logistic, skops_file)
    with pytest.raises(InvalidInput, match=r"cannot load '.*model\.skops' as an ONNX model"):
        load_model(skops_file, kind="onnx")
    not_skops = tmp_path / "text.skops"
    not_skops.write_text("hello")
    with pytest.raises(InvalidInput, match=r"cannot read '.*text\.skops' as a skops file"):
        load_model(not_skops)
    model = load_model(skops_file)
    with pytest.raises(InvalidInput, match=r"model feature 'b' is not in the data.*columns present: a, y"):
        model.predict_proba(frame[["a", "y"]])
    with pytest.raises(InvalidInput, match=r"positive class 'yes' is not a class of model .*; its classes: 0, 1"):
        load_model(skops_file, positive="yes")
    with pytest.raises(InvalidInput, match="not a model: it has neither predict_proba nor predict"):
        load_model({"weights": [1, 2]}, kind="sklearn")
    with pytest.raises(InvalidInput, match="is not fitted"):
        load_model(LogisticRegression())
    three = LogisticRegression().fit(frame[FEATURES], np.arange(len(frame)) % 3)
    with pytest.raises(InvalidInput, match=r"has 3 classes \(0, 1, 2\): say which is positive"):
        load_model(three).predict_proba(frame)
    either = load_model(three, positive=[1, 2])  # several positive classes: their probabilities add up
    np.testing.assert_allclose(either.predict_proba(frame), three.predict_proba(frame[FEATURES])[:, 1:].sum(axis=1))
    assert isinstance(load_model(either), Model) and load_model(either) is either
