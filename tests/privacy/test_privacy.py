"""Membership inference, poisoning indicators and anonymisation (small samples; the full-size measurements are in
benchmarks/membership.py, benchmarks/poisoning.py and benchmarks/anonymise.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OrdinalEncoder

from assay.adapters import load_model
from assay.errors import InvalidInput
from assay.frames import Label
from assay.governance.evidence import controls_for
from assay.privacy.anonymise import anonymise_frame, privacy_measures
from assay.privacy.membership import membership_inference, outcome
from assay.privacy.poisoning import poisoning_indicators
from assay.services.compute import Inputs, compute
from tests.support.adult import COLUMNS, adult

FEATURES = [c for c in COLUMNS if c != "income"]


def _model(train: pd.DataFrame, overfit: bool) -> Any:
    texts = [c for c in FEATURES if not pd.api.types.is_numeric_dtype(train[c])]
    booster = (
        HistGradientBoostingClassifier(max_iter=60, max_leaf_nodes=63, min_samples_leaf=1, learning_rate=0.5,
                                       early_stopping=False, random_state=0)
        if overfit
        else HistGradientBoostingClassifier(max_iter=30, max_depth=2, min_samples_leaf=50, early_stopping=False,
                                            random_state=0)
    )  # fmt: skip
    encode = make_column_transformer(
        (OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1), texts), remainder="passthrough"
    )
    return load_model(make_pipeline(encode, booster).fit(train[FEATURES], train["y"]))


@pytest.mark.realdata
def test_an_overfit_model_leaks_membership_and_a_regularised_one_does_not(shared_data: Path) -> None:
    data = adult(shared_data, "data")
    train, held = data.iloc[:3000].reset_index(drop=True), data.iloc[20_000:23_000].reset_index(drop=True)
    options = {"label": "y", "facet": "sex", "sample": 3000, "bootstrap": 50}
    leaky = compute("membership-inference", Inputs(train, model=_model(train, True), reference=held), options)
    safe = compute("membership-inference", Inputs(train, model=_model(train, False), reference=held), options)
    leaky_doc, safe_doc = leaky.to_dict(), safe.to_dict()
    assert leaky_doc["status"] == "fail" and safe_doc["status"] == "pass"
    assert leaky_doc["result"]["auc"] > safe_doc["result"]["auc"] + 0.1
    low, high = leaky_doc["result"]["interval"]
    assert low <= leaky_doc["result"]["auc"] <= high and low > 0.6
    assert {a["name"] for a in leaky_doc["result"]["attacks"]} == {"black-box", "loss-threshold"}
    assert {g["value"] for g in leaky_doc["result"]["groups"]} == {"Male", "Female"}
    assert leaky_doc["result"]["accuracy"]["training"] > leaky_doc["result"]["accuracy"]["held_out"]
    read = outcome(leaky_doc)
    assert read["status"] == "fail" and read["violations"][0]["threshold"] == 0.6
    assert any(m["subject"] == "sex=Female" for m in read["metrics"])
    links = {f"{link.framework}:{link.control}" for link in controls_for(leaky_doc)}
    assert {"iso42001:A.6.2.4", "nist-ai-rmf:MEASURE 2.7", "nist-ai-rmf:MEASURE 2.10"} <= links
    json.dumps(leaky_doc, allow_nan=False)


def test_membership_inference_refuses_a_missing_reference_or_label() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=200), "y": rng.integers(0, 2, 200)})
    from sklearn.linear_model import LogisticRegression

    model = load_model(LogisticRegression().fit(frame[["a"]], frame["y"]))
    with pytest.raises(InvalidInput, match="held-out rows"):
        membership_inference(frame, None, model, label=Label("y"))
    with pytest.raises(InvalidInput, match="label column 'income'"):
        membership_inference(frame, frame, model, label=Label("income"))


def _clusters(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    y = (x[:, 0] + 0.5 * x[:, 1] + rng.normal(scale=0.3, size=n) > 0).astype(int)
    return pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "colour": rng.choice(["red", "blue"], n), "y": y})


def test_clean_data_raises_no_poisoning_indicator() -> None:
    document = poisoning_indicators(_clusters(), label="y").to_dict()
    assert document["status"] == "pass", document["summary"]
    assert json.dumps(document, allow_nan=False)


def test_planted_poisoning_is_found_and_named_by_position() -> None:
    frame = _clusters()
    centre = np.array([-1.5, -1.0, 0.0])  # deep inside class 0
    zeros = np.flatnonzero(frame["y"].to_numpy() == 0)
    distance = ((frame.loc[zeros, ["a", "b", "c"]].to_numpy() - centre) ** 2).sum(axis=1)
    flipped = zeros[np.argsort(distance)[:80]]
    frame.loc[flipped, "y"] = 1
    chosen = np.random.default_rng(1).choice(len(frame), 60, replace=False)
    frame.loc[chosen, "colour"] = "ultraviolet"
    frame.loc[chosen, "y"] = 1
    document = poisoning_indicators(frame, label="y", min_cluster=20).to_dict()  # the colours split the region
    result = document["result"]
    assert document["status"] == "fail"
    assert result["label_flip_clusters"] and len(set(result["label_flip_clusters"][0]["positions"]) & set(flipped)) > 40
    trigger = result["trigger_candidates"][0]
    assert trigger["column"] == "colour" and set(trigger["positions"]) <= set(chosen.tolist())
    assert "ultraviolet" not in json.dumps(document)  # rows by position, never by value


@pytest.mark.realdata
def test_ordinary_noise_in_a_dense_region_is_not_a_label_flip_cluster(shared_data: Path) -> None:
    """Credit default's clean rows: the defaults the regression finds unlikely chain into groups of 51-92 rows
    (each other's neighbours), but where they sit most neighbours did not default (22-29 %); a flipped region holds
    its neighbourhood (51-61 %). Before the majority rule this was a false alarm on 5 of 6 samples."""
    frame = pd.read_csv(shared_data / "credit_card_default/UCI_Credit_Card.csv").drop(columns=["ID"])
    for column in ("X2", "X3", "X4"):  # codes, not quantities
        frame[column] = frame[column].map(lambda v: f"{v:g}")
    document = poisoning_indicators(frame, label="Y", sample=15_000, seed=0).to_dict()
    assert document["result"]["label_flip_clusters"] == [], document["summary"]
    assert document["spec"]["cluster_neighbour_share"] == 0.5


def test_anonymisation_reaches_k_and_pseudonymises_with_the_key() -> None:
    frame = pd.DataFrame({
        "id": [f"p{i}" for i in range(400)], "age": np.arange(400) % 70 + 18,
        "zip": [f"{10000 + i * 7}" for i in range(400)],
        "sex": ["F", "M"] * 200, "disease": np.random.default_rng(0).choice(["flu", "asthma", "none"], 400),
    })  # fmt: skip
    before = privacy_measures(frame, ["age", "zip", "sex"], "disease")
    assert before["k"] == 1 and before["unique_share"] == 1.0
    done = anonymise_frame(frame, key=b"k" * 32, identifiers=["id"], generalise={"age": "band:20", "zip": "truncate:2"},
                           quasi_identifiers=["age", "zip", "sex"], k=5, sensitive="disease")  # fmt: skip
    assert done.after["k"] >= 5 and done.after["prosecutor_risk_max"] <= 0.2
    assert done.suppressed + len(done.frame) == 400
    assert not set(done.frame["id"]) & set(frame["id"])
    again = anonymise_frame(frame, key=b"k" * 32, identifiers=["id"], k=1)
    other = anonymise_frame(frame, key=b"x" * 32, identifiers=["id"], k=1)
    assert list(again.frame["id"]) == list(anonymise_frame(frame, key=b"k" * 32, identifiers=["id"], k=1).frame["id"])
    assert again.frame["id"][0] != other.frame["id"][0]
    with pytest.raises(InvalidInput, match="band:N"):
        anonymise_frame(frame, key=None, generalise={"age": "band"})
    with pytest.raises(InvalidInput, match="needs the workspace's key"):
        anonymise_frame(frame, key=None, identifiers=["id"])


def test_a_recorded_anonymisation_keeps_its_settings_never_the_key(workspace: Any, tmp_path: Path) -> None:
    workspace.systems.create({"name": "clinic"})
    frame = pd.DataFrame({"name": [f"n{i}" for i in range(300)], "age": np.arange(300) % 60 + 20,
                          "sex": ["F", "M", "M"] * 100, "y": [0, 1, 1, 0, 1] * 60})  # fmt: skip
    source = tmp_path / "people.csv"
    frame.to_csv(source, index=False)
    options = {"identifiers": ["name"], "generalise": {"age": "band:10"}, "quasi_identifiers": ["age", "sex"],
               "k": 3, "facet": "sex", "label": "y"}  # fmt: skip
    result, paths, recorded = workspace.anonymisation.run(source, tmp_path / "out", options, system="clinic")
    key = (workspace.home / "keys" / "anonymise.key").read_bytes()
    document = recorded.document
    assert document["schema"] == "assay.anonymisation" and document["spec"]["identifiers"] == ["name"]
    assert key.hex() not in json.dumps(document) and key.hex() not in paths["anonymisation"].read_text()
    assert document["result"]["utility"]["before"] and document["result"]["utility"]["after"]
    written = pd.read_parquet(paths["data"])
    assert len(written) == 300 - result.suppressed and not set(written["name"]) & set(frame["name"])
    links = {f"{link.framework}:{link.control}" for link in controls_for(document)}
    assert {"iso42001:A.7.4", "nist-ai-rmf:MEASURE 2.10"} <= links


@pytest.mark.realdata
def test_a_row_alone_in_a_design_direction_is_not_an_influential_outlier(shared_data: Path) -> None:
    """adult's one Holand-Netherlands row is the only row whose country has no one-hot column: with the unpenalised
    hat matrix its leverage was 1 - 2e-11 and its Cook's distance 4e17 (a false alarm on clean adult). The penalised
    fit's leverage keeps it ordinary; a row made extreme and labelled against its values is found, alone."""
    data = adult(shared_data, "data")
    lone = data.index[data["native-country"] == "Holand-Netherlands"]
    common = data[data["native-country"].isin(["United-States", "Mexico"])].iloc[:800]
    frame = pd.concat([common, data.loc[lone]], ignore_index=True)[COLUMNS]
    document = poisoning_indicators(frame, label="income", sample=len(frame)).to_dict()
    outliers = document["result"]["influential_outliers"]
    assert outliers["rows"] == 0 and outliers["max_cook"] < 1 and outliers["max_leverage"] < 0.99, outliers
    planted = frame.copy()
    planted.loc[7, ["age", "hours-per-week", "capital-loss"]] = [90, 99, 43_560]  # 10 times adult's largest loss
    planted.loc[7, "income"] = "<=50K"  # against what those values predict
    found = poisoning_indicators(planted, label="income", sample=len(planted)).to_dict()["result"]
    assert found["influential_outliers"]["positions"] == [7], found["influential_outliers"]
