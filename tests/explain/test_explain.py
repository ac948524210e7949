"""Explanations: additivity and agreement with the shap package for each explainer, groups, local rows, partial
dependence, the documents, ``assay explain`` and ``assay assess --model`` end to end, and a real dataset."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.compose import make_column_transformer
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.inspection import partial_dependence as sk_partial_dependence
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from assay.adapters import load_model
from assay.cli import main
from assay.errors import InvalidInput
from assay.explain import compute_shap, explain_model, partial_dependence
from assay.frames import Facet, Label
from assay.reports.explanations import explanations_analysis_json, render_explanations_html
from assay.services.explanations import explain, write_explanations

NUMERIC = ["a", "b", "c", "d"]


def _shap() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # shap's import-time deprecation warnings from matplotlib
        import shap
    return shap


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = 240
    df = pd.DataFrame({c: rng.normal(size=n) for c in NUMERIC})
    df["colour"] = rng.choice(["red", "green", "blue"], n)
    df["sex"] = rng.choice(["F", "M"], n, p=[0.4, 0.6])
    logit = 1.5 * df.a - df.b + 0.5 * df.c * df.d + (df.colour == "red") - 0.3
    df["y"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return df


@pytest.fixture(scope="module")
def boosted(data: pd.DataFrame) -> GradientBoostingClassifier:
    return GradientBoostingClassifier(n_estimators=25, max_depth=2, random_state=0).fit(data[NUMERIC], data["y"])


@pytest.fixture(scope="module")
def logistic(data: pd.DataFrame) -> LogisticRegression:
    return LogisticRegression().fit(data[NUMERIC], data["y"])


@pytest.fixture(scope="module")
def pipeline(data: pd.DataFrame) -> Any:
    encode = make_column_transformer((OneHotEncoder(), ["colour"]), remainder="passthrough")
    return make_pipeline(encode, LogisticRegression()).fit(data[[*NUMERIC, "colour"]], data["y"])


def _additive(result: Any, expected_output: np.ndarray) -> None:
    """SHAP values + expected value = the model output, row by row."""
    total = result.shap_values.sum(axis=1) + result.expected_value
    np.testing.assert_allclose(total, expected_output, rtol=0, atol=1e-6)


# ---- additivity, on the right scale ------------------------------------------------------------------------


def test_tree_explainer_on_boosting_adds_up_in_log_odds(data: pd.DataFrame, boosted: Any) -> None:
    result = explain_model(load_model(boosted), data, sample=60, rows=0, pdp=0)
    assert (result.explainer, result.output_scale) == ("tree", "log_odds")
    assert result.method["background"]["rows"] is None  # path-dependent: the trees' own cover
    _additive(result, boosted.decision_function(result.sample))


def test_tree_explainer_on_a_forest_adds_up_in_probability(data: pd.DataFrame) -> None:
    forest = RandomForestClassifier(n_estimators=15, max_depth=4, random_state=0).fit(data[NUMERIC], data["y"])
    result = explain_model(load_model(forest), data, label=Label("y", (0,)), sample=50, rows=0, pdp=0)
    assert (result.explainer, result.output_scale) == ("tree", "probability")
    _additive(result, forest.predict_proba(result.sample)[:, 0])  # the positive class is 0 here


def test_linear_explainer_adds_up_and_is_the_textbook_formula(data: pd.DataFrame, logistic: Any) -> None:
    model = load_model(logistic)
    x, background = data[NUMERIC].iloc[:30], data[NUMERIC].iloc[100:180]
    out = compute_shap(model, x, background)
    assert (out.explainer, out.output_scale, out.background_rows) == ("linear", "log_odds", 80)
    # independent features: phi_j = w_j (x_j - mean of the background)
    expected = logistic.coef_[0] * (x.to_numpy() - background.to_numpy().mean(axis=0))
    np.testing.assert_allclose(out.values, expected, atol=1e-10)
    np.testing.assert_allclose(out.values.sum(axis=1) + out.expected_value, logistic.decision_function(x), atol=1e-6)
    flipped = compute_shap(model.with_positive([0]), x, background)  # the other class: the negated log-odds
    np.testing.assert_allclose(flipped.values, -out.values, atol=1e-12)
    assert flipped.expected_value == pytest.approx(-out.expected_value)


@pytest.mark.parametrize("method", ["permutation", "kernel"])
def test_model_agnostic_explainers_add_up_in_probability(data: pd.DataFrame, pipeline: Any, method: str) -> None:
    result = explain_model(
        load_model(pipeline), data, method=method, sample=12, background=15, rows=[3], pdp=0, facets=[Facet("sex")]
    )
    assert (result.explainer, result.output_scale) == (method, "probability")
    assert result.method["background"]["rows"] == 15
    assert result.features == ("a", "b", "c", "d", "colour")
    _additive(result, pipeline.predict_proba(result.sample)[:, 1])
    row = result.local[0]
    total = sum(c.shap for c in row.contributions) + result.expected_value
    assert total == pytest.approx(pipeline.predict_proba(data.iloc[[3]][list(result.features)])[0, 1], abs=1e-6)
    assert row.output == pytest.approx(row.probability, abs=1e-12)


# ---- agreement with the shap package ---------------------------------------------------------------------------


def test_agreement_with_shap_tree_and_linear(data: pd.DataFrame, boosted: Any, logistic: Any) -> None:
    shap = _shap()
    x, background = data[NUMERIC].iloc[:40], data[NUMERIC].iloc[40:120]
    ours = compute_shap(load_model(boosted), x, background)
    theirs = shap.TreeExplainer(boosted)
    np.testing.assert_allclose(ours.values, theirs.shap_values(x.to_numpy()), atol=1e-12)
    assert ours.expected_value == pytest.approx(float(np.ravel(theirs.expected_value)[0]), abs=1e-12)

    ours = compute_shap(load_model(logistic), x, background)
    theirs = shap.LinearExplainer(logistic, shap.maskers.Independent(background.to_numpy(), max_samples=80))
    np.testing.assert_allclose(ours.values, theirs.shap_values(x.to_numpy()), atol=1e-12)
    assert ours.expected_value == pytest.approx(float(np.ravel(theirs.expected_value)[0]), abs=1e-12)


def test_agreement_with_shap_permutation_and_kernel(data: pd.DataFrame) -> None:
    shap = _shap()

    def f(array: np.ndarray) -> np.ndarray:
        frame = pd.DataFrame(array, columns=NUMERIC)
        return 1 / (1 + np.exp(-(frame.a - frame.b + frame.c * frame.d).to_numpy()))

    model = load_model(lambda frame: f(frame.to_numpy()), feature_names=NUMERIC)
    x, background = data[NUMERIC].iloc[:8], data[NUMERIC].iloc[50:70]

    ours = compute_shap(model, x, background, method="permutation", seed=5)
    masker = shap.maskers.Independent(background.to_numpy(), max_samples=20)
    theirs = shap.PermutationExplainer(f, masker, seed=5)(
        x.to_numpy(), max_evals=ours.options["max_evals"], silent=True
    )
    np.testing.assert_allclose(ours.values, theirs.values, atol=1e-12)
    assert ours.expected_value == pytest.approx(float(theirs.base_values[0]), abs=1e-12)

    ours = compute_shap(model, x, background, method="kernel", seed=5)
    np.random.seed(5)
    kernel = shap.KernelExplainer(f, background.to_numpy())
    theirs_k = kernel.shap_values(x.to_numpy(), nsamples=ours.options["nsamples"], l1_reg=False, silent=True)
    np.testing.assert_allclose(ours.values, theirs_k, atol=1e-9)
    assert ours.expected_value == pytest.approx(float(kernel.expected_value), abs=1e-12)
    assert np.abs(ours.values).max() > 0.01  # not vacuous


# ---- groups, local rows, partial dependence --------------------------------------------------------------------


def test_groups_local_rows_and_partial_dependence(data: pd.DataFrame, boosted: Any) -> None:
    result = explain_model(
        load_model(boosted),
        data,
        facets=[Facet("sex"), Facet("a", threshold=0.0)],
        rows=[5, 0],
        sample=100,
        pdp=2,
        seed=1,
    )
    by = {(g.facet, g.value): g for g in result.groups}
    assert set(by) == {("sex", "F"), ("sex", "M"), ("a", "> 0"), ("a", "<= 0")}
    assert by["sex", "F"].rows + by["sex", "M"].rows == 100
    positive_a = result.sample["a"].to_numpy() > 0
    assert by["a", "> 0"].rows == positive_a.sum()
    expected = np.abs(result.shap_values[positive_a]).mean(axis=0)
    got = {f.feature: f.mean_abs_shap for f in by["a", "> 0"].features}
    assert got == pytest.approx(dict(zip(result.features, expected, strict=True)), abs=1e-12)
    assert [r.row for r in result.local] == [5, 0]
    for r in result.local:
        assert sum(c.shap for c in r.contributions) + result.expected_value == pytest.approx(
            boosted.decision_function(data.iloc[[r.row]][NUMERIC])[0], abs=1e-6
        )
        assert [abs(c.shap) for c in r.contributions] == sorted((abs(c.shap) for c in r.contributions), reverse=True)
    assert result.importance[0].mean_abs_shap >= result.importance[-1].mean_abs_shap
    assert [p.feature for p in result.partial_dependence] == [f.feature for f in result.importance[:2]]
    top = result.partial_dependence[0]
    sk = sk_partial_dependence(
        boosted, result.sample, [top.feature], grid_resolution=15, kind="average", method="brute",
        response_method="predict_proba",
    )  # fmt: skip
    np.testing.assert_allclose(top.grid, sk["grid_values"][0])
    np.testing.assert_allclose(top.average, sk["average"][0], atol=1e-12)


def test_partial_dependence_of_a_callable_and_of_categories(data: pd.DataFrame) -> None:
    def model_fn(frame: pd.DataFrame) -> np.ndarray:
        return 1 / (1 + np.exp(-(2 * frame["a"] + (frame["colour"] == "red")).to_numpy(dtype=float)))

    model = load_model(model_fn, feature_names=["a", "colour"])
    x = data[["a", "colour"]].iloc[:80]
    numeric, category = partial_dependence(model, x, ["a", "colour"], grid_resolution=7)
    assert (numeric.kind, category.kind) == ("numerical", "categorical")
    red = (x["colour"] == "red").to_numpy()
    grid = np.asarray(numeric.grid)
    expected = [np.mean(1 / (1 + np.exp(-(2 * v + red)))) for v in grid]
    np.testing.assert_allclose(numeric.average, expected, atol=1e-12)
    assert len(grid) == 7 and x["a"].min() < grid[0] < grid[-1] < x["a"].max()  # 5th to 95th percentile
    assert sorted(category.grid) == ["blue", "green", "red"]
    by_value = dict(zip(category.grid, category.average, strict=True))
    assert by_value["red"] > by_value["blue"] == pytest.approx(by_value["green"])


# ---- documents and reports ------------------------------------------------------------------------------------


def test_document_analysis_json_and_report(tmp_path: Path, data: pd.DataFrame, pipeline: Any) -> None:
    report = explain(
        data, pipeline, label="y", positive=1, facets={"sex": ["F"]}, rows=2, method="kernel", sample=10,
        background=10, pdp=1,
    )  # fmt: skip
    document = report.to_dict()
    assert document["schema"] == "assay.explanations" and document["schema_version"] == 1
    assert document["model"]["estimator"] == "Pipeline" and document["model"]["positive"] == [1]
    assert document["label"] == {"column": "y", "values": [1], "threshold": None}
    assert document["method"]["sample"] == {"rows": 10, "of": 240, "seed": 0}
    assert {g["value"] for g in document["groups"]} == {"F", "other"}
    clarify = explanations_analysis_json(document)
    label0 = clarify["explanations"]["kernel_shap"]["label0"]
    assert label0["expected_value"] == document["expected_value"]
    assert label0["global_shap_values"] == {f["feature"]: f["mean_abs_shap"] for f in document["features"]}
    pdp = clarify["explanations"]["pdp"][0]
    assert set(pdp) == {"feature_name", "data_type", "feature_values", "model_predictions", "label_headers"}
    assert len(pdp["model_predictions"][0]) == len(pdp["feature_values"])
    assert json.loads(report.to_json()) == document

    paths = write_explanations(report, tmp_path / "out")
    assert json.loads(paths["explanations"].read_text()) == document
    html = paths["report"].read_text()
    assert html.startswith("<!DOCTYPE html>") and "Plotly.newPlot" in html and "KernelExplainer" in html
    assert html.count('class="plotly-graph-div"') >= 4  # importance, summary, dependence, group, local, pdp


def test_report_escapes_names(data: pd.DataFrame) -> None:
    odd = data[["a", "b", "y"]].rename(columns={"a": "<b>a</b>"})
    model = load_model(LogisticRegression().fit(odd[["<b>a</b>", "b"]], odd["y"]))
    html = render_explanations_html(explain_model(model, odd, sample=20, rows=1, pdp=1).to_dict())
    assert "<b>a</b>" not in html and "&lt;b&gt;a&lt;/b&gt;" in html


# ---- bad input ------------------------------------------------------------------------------------------------


def test_bad_input(data: pd.DataFrame, boosted: Any, pipeline: Any) -> None:
    with pytest.raises(InvalidInput, match=r"column 'a' is not in the data"):
        explain_model(load_model(boosted), data.drop(columns=["a"]))
    with pytest.raises(InvalidInput, match="the tree explainer needs a tree ensemble"):
        explain_model(load_model(pipeline), data, method="tree")
    with pytest.raises(InvalidInput, match="explainer 'deep' is not one of"):
        explain_model(load_model(boosted), data, method="deep")
    with pytest.raises(InvalidInput, match=r"row 240 is out of range: the data has 240 rows"):
        explain_model(load_model(boosted), data, rows=[240], sample=10)
    with pytest.raises(InvalidInput, match=r"returns labels \(e.g. .y.\), not probabilities"):
        explain_model(load_model(lambda x: np.where(x["a"] > 0, "y", "n"), feature_names=["a"]), data, sample=5)
    with pytest.raises(InvalidInput, match=r"facet 'a' has \d+ distinct values"):
        explain_model(load_model(boosted), data, facets=[Facet("a")], sample=10)


# ---- the command line -----------------------------------------------------------------------------------------


@pytest.fixture
def files(tmp_path: Path, data: pd.DataFrame, boosted: Any, logistic: Any) -> dict[str, Path]:
    out = {"data": tmp_path / "data.parquet", "gb": tmp_path / "gb.skops", "lr": tmp_path / "lr.skops"}
    data.to_parquet(out["data"], index=False)
    sio.dump(boosted, out["gb"])
    sio.dump(logistic, out["lr"])
    return out


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_explain(tmp_path: Path, files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    code, printed, err = run(
        capsys, "explain", str(files["gb"]), "--model", str(files["gb"]), "--label", "y=1", "--out", str(out)
    )
    assert code == 2 and "cannot tell the format" in err and len(err.strip().splitlines()) == 1
    code, printed, err = run(
        capsys, "explain", str(files["data"]), "--model", str(files["gb"]), "--label", "y=1", "--facet", "sex",
        "--rows", "1,4", "--sample", "50", "--pdp", "2", "--out", str(out),
    )  # fmt: skip
    assert (code, err.strip()) == (0, "")  # rich's progress leaves a newline on a console that is not a terminal
    assert "TreeExplainer on 50 of 240 rows, log_odds scale" in printed
    assert f"report: {out / 'report.html'}" in printed
    document = json.loads((out / "explanations.json").read_text())
    assert [r["row"] for r in document["local"]] == [1, 4]
    assert len(document["partial_dependence"]) == 2
    assert set(json.loads((out / "analysis.json").read_text())["explanations"]) == {"tree_shap", "pdp"}


def test_cli_explain_records_in_the_workspace(
    tmp_path: Path, files: dict[str, Path], workspace: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    workspace.systems.create({"name": "credit"})
    workspace.models.register_version("credit", {"model": "gb", "version": "1"})
    code, printed, err = run(
        capsys, "--workspace", str(workspace.root), "explain", str(files["data"]), "--model", str(files["gb"]),
        "--label", "y=1", "--sample", "30", "--pdp", "0", "--rows", "0", "--out", str(tmp_path / "o"), "-q",
        "--system", "credit", "--model-version", "gb@1",
    )  # fmt: skip
    assert (code, err) == (0, ""), err
    assert "recorded: explanations" in printed
    recorded = workspace.explanations.list("credit")
    assert len(recorded) == 1 and recorded[0].kind == "assay.explanations"
    assert set(recorded[0].attachments) == {"explanations.json", "analysis.json", "report.html"}
    assert recorded[0].document["method"]["explainer"] == "tree"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--model", "{missing}"], "does not exist"),
        (["--model", "{gb}", "--model-kind", "onnx"], "as an ONNX model"),
        (["--model", "{joblib}"], "--trust-pickle"),
        (["--model", "{gb}", "--rows", "x"], "--rows 'x'"),
        (["--model", "{gb}", "--method", "magic"], "--method must be 'auto', 'tree'"),
        (["--model", "{gb}", "--facet", "nope"], "column 'nope' is not in the data"),
    ],
)
def test_cli_explain_bad_input_exits_2(
    tmp_path: Path,
    files: dict[str, Path],
    boosted: Any,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
) -> None:
    import joblib

    joblib.dump(boosted, tmp_path / "gb.joblib")
    names = {"missing": tmp_path / "none.skops", "gb": files["gb"], "joblib": tmp_path / "gb.joblib"}
    argv = [a.format(**{k: str(v) for k, v in names.items()}) for a in argv]
    code, _, err = run(capsys, "explain", str(files["data"]), "--label", "y=1", *argv, "--out", str(tmp_path / "o"))
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and message in err


def test_cli_explain_a_trusted_pickle(
    tmp_path: Path, files: dict[str, Path], boosted: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    import joblib

    joblib.dump(boosted, tmp_path / "gb.joblib")
    argv = ["explain", str(files["data"]), "--model", str(tmp_path / "gb.joblib"), "--label", "y=1", "--sample", "20"]
    code, _, err = run(capsys, *argv, "--pdp", "0", "--out", str(tmp_path / "o"))
    assert code == 2 and "--trust-pickle" in err
    code, printed, _ = run(capsys, *argv, "--pdp", "0", "--trust-pickle", "--out", str(tmp_path / "o"))
    assert code == 0 and "TreeExplainer on 20 of 240 rows" in printed
    notes = json.loads((tmp_path / "o" / "explanations.json").read_text())["model"]["notes"]
    assert notes == ["loaded from a pickle file the user trusted"]


def test_cli_missing_feature_column_exits_2(
    tmp_path: Path, data: pd.DataFrame, files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    partial = tmp_path / "partial.csv"
    data.drop(columns=["c"]).to_csv(partial, index=False)
    for command in (["explain"], ["assess", "--facet", "sex"]):
        code, _, err = run(
            capsys, *command[:1], str(partial), "--model", str(files["gb"]), "--label", "y=1", *command[1:],
            "--out", str(tmp_path / "o"),
        )  # fmt: skip
        assert code == 2, err
        assert err.strip().startswith("error: ") and "'c' is not in the data" in err
        assert len(err.strip().splitlines()) == 1


def test_cli_assess_with_a_model(
    tmp_path: Path, data: pd.DataFrame, files: dict[str, Path], logistic: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    common = ["--label", "y=1", "--facet", "sex", "--bootstrap", "0"]
    code, printed, err = run(
        capsys, "assess", str(files["data"]), "--model", str(files["lr"]), *common, "--out", str(tmp_path / "m")
    )
    assert code == 0 and [line for line in err.splitlines() if line.strip() and not line.startswith("FT cost: ")] == []
    assert "model: " in printed and "on the columns a, b, c, d" in printed
    with_model = json.loads((tmp_path / "m" / "analysis.json").read_text())

    scored = data.assign(score=logistic.predict_proba(data[NUMERIC])[:, 1])  # the same score, computed here
    scored_path = tmp_path / "scored.parquet"
    scored.to_parquet(scored_path, index=False)
    code, _, err = run(capsys, "assess", str(scored_path), "--score", "score", *common, "--out", str(tmp_path / "s"))
    assert code == 0 and [line for line in err.splitlines() if line.strip() and not line.startswith("FT cost: ")] == []
    with_score = json.loads((tmp_path / "s" / "analysis.json").read_text())
    assert with_model["post_training_bias_metrics"] == with_score["post_training_bias_metrics"]
    assert with_model["post_training_bias_metrics"]["facets"]["sex"]  # post-training metrics were computed

    code, _, err = run(
        capsys, "assess", str(scored_path), "--model", str(files["lr"]), "--score", "score", *common,
        "--out", str(tmp_path / "x"),
    )  # fmt: skip
    assert code == 2 and "not both" in err


def test_assess_with_a_model_that_gives_labels(data: pd.DataFrame) -> None:
    import assay

    rule = load_model(lambda frame: (frame["a"] > 0).astype(int).to_numpy(), feature_names=["a"])
    common: dict[str, Any] = {"label": "y", "facets": ["sex"], "bootstrap": 0}
    by_model = assay.assess(data, model=rule, **common)
    assert "model_prediction" not in data.columns  # the user's frame is left as it was
    by_column = assay.assess(data.assign(rule=(data["a"] > 0).astype(int)), predicted="rule", **common)
    assert by_model.to_dict()["spec"]["predicted"]["column"] == "model_prediction"
    post = [(e.facet, e.value_or_threshold, m.name, m.value) for e in by_model.entries for m in e.metrics]
    expected = [(e.facet, e.value_or_threshold, m.name, m.value) for e in by_column.entries for m in e.metrics]
    assert post == expected and any(name == "DPPL" for _, _, name, _ in post)


# ---- a real dataset -------------------------------------------------------------------------------------------


@pytest.mark.realdata
def test_german_credit_random_forest(shared_data: Path) -> None:
    credit = pd.read_csv(shared_data / "german_credit" / "german.csv")
    numeric = ["month", "credit_amount", "age", "investment_as_income_percentage", "residence_since"]
    forest = RandomForestClassifier(n_estimators=40, max_depth=6, random_state=0).fit(credit[numeric], credit["credit"])
    result = explain_model(
        load_model(forest),
        credit,
        label=Label("credit", ("1",)),  # 1 = good credit, as typed on a command line
        facets=[Facet("age", threshold=25), Facet("personal_status", ("A92",))],
        sample=300,
        rows=3,
        pdp=2,
    )
    assert (result.explainer, result.output_scale) == ("tree", "probability")
    assert result.model["positive"] == [1] and result.model["classes"] == [1, 2]  # "1" typed is the class 1
    _additive(result, forest.predict_proba(result.sample)[:, list(forest.classes_).index(1)])
    assert {f.feature for f in result.importance[:3]} & {"month", "credit_amount", "age"}
    by = {(g.facet, g.value): g for g in result.groups}
    assert set(by) == {("age", "> 25"), ("age", "<= 25"), ("personal_status", "A92"), ("personal_status", "other")}
    assert sum(g.rows for (facet, _), g in by.items() if facet == "age") == 300
    young, old = by["age", "<= 25"], by["age", "> 25"]
    assert young.mean_probability < old.mean_probability  # the younger applicants get lower scores
    assert result.to_dict()["warnings"] == []
