"""Bias mitigation: the estimators' maths, the trade-off measured with Clarify's metrics, the deployable model
files, the lineage in the workspace and the command's exit codes."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from assay.cli import main
from assay.errors import InvalidInput
from assay.frames import Facet, Label
from assay.mitigate import (
    SKOPS_TYPES,
    ExponentiatedGradientClassifier,
    RejectOptionClassifier,
    Reweighing,
    ReweighingClassifier,
    ThresholdOptimizerClassifier,
    reject_option_decisions,
)
from assay.services import assess
from assay.services.mitigation import METHODS, MitigationReport, mitigate, write_outputs

FAST: dict[str, Any] = {"curve": False, "bootstrap": 0, "max_iter": 10}


def _biased(n: int, seed: int) -> pd.DataFrame:
    """Men get the positive label more often at the same x1, x2 (label bias), and x1 is higher for men."""
    rng = np.random.default_rng(seed)
    sex = rng.choice(["F", "M"], n, p=[0.4, 0.6])
    male = sex == "M"
    x1 = rng.normal(size=n) + 0.3 * male
    x2 = rng.normal(size=n)
    y = (x1 + 0.5 * x2 + 1.0 * male + rng.normal(size=n) * 0.7 > 0.9).astype(int)
    return pd.DataFrame({"x1": x1, "x2": x2, "sex": sex, "hired": np.where(y == 1, "yes", "no")})


def _pipeline() -> Any:
    encode = make_column_transformer((OneHotEncoder(), ["sex"]), (StandardScaler(), ["x1", "x2"]))
    return make_pipeline(encode, LogisticRegression())


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A biased dataset (1000 rows) and a model trained on other rows of the same population, as a skops file."""
    import skops.io as sio

    folder = tmp_path_factory.mktemp("mitigate")
    data = _biased(1000, seed=1)
    data.to_parquet(folder / "data.parquet", index=False)
    history = _biased(1500, seed=2)
    model = _pipeline().fit(history[["x1", "x2", "sex"]], history["hired"])
    sio.dump(model, folder / "model.skops")
    return {"data": folder / "data.parquet", "model": folder / "model.skops", "folder": folder}


@pytest.fixture(scope="module")
def reports(files: dict[str, Path]) -> dict[str, MitigationReport]:
    """Each method once on the biased data (with the trade-off curve for the fast post-processing methods)."""
    out = {}
    for method in METHODS:
        options = dict(FAST, curve=method in ("threshold-optimizer", "reject-option"), bootstrap=50)
        out[method] = mitigate(
            files["data"], files["model"], label="hired", positive="yes", facet={"sex": ["F"]}, method=method, **options
        )
    return out


# ---- reweighing -------------------------------------------------------------------------------------------------


def test_reweighing_weights_are_the_closed_form_and_aif360s() -> None:
    # 10 rows: group d (F) has 1 positive of 4, group a (M) 4 positives of 6
    sex = ["F"] * 4 + ["M"] * 6
    y = [1, 0, 0, 0, 1, 1, 1, 1, 0, 0]
    X = pd.DataFrame({"sex": sex})
    fitted = Reweighing("sex", ["F"]).fit(X, y)
    weights = fitted.compute_sample_weight(X, y)
    n = Fraction(10)
    count = {(g, c): sum(1 for s, t in zip(sex, y, strict=True) if (s == "F") == (g == "d") and t == c)
             for g in ("d", "a") for c in (0, 1)}  # fmt: skip
    n_g = {g: count[(g, 0)] + count[(g, 1)] for g in ("d", "a")}
    n_y = {c: count[("d", c)] + count[("a", c)] for c in (0, 1)}
    for row, (s, t) in enumerate(zip(sex, y, strict=True)):
        g = "d" if s == "F" else "a"
        closed_form = (n_g[g] / n) * (n_y[t] / n) / (count[(g, t)] / n)  # P(g) P(y) / P(g, y)
        aif360 = Fraction(n_y[t] * n_g[g]) / (n * count[(g, t)])  # aif360 Reweighing: n_fav n_p / (n n_p_fav)
        assert closed_form == aif360
        assert weights[row] == pytest.approx(float(closed_form), rel=1e-12)
    # by hand: P(F) = 4/10, P(M) = 6/10, P(1) = P(0) = 5/10
    assert weights.tolist() == pytest.approx([2.0, 2 / 3, 2 / 3, 2 / 3, 0.75, 0.75, 0.75, 0.75, 1.5, 1.5])
    # initial sample weights: counts are weighted, and the result multiplies them (as aif360 does)
    initial = np.array([2.0, 1, 1, 1, 1, 1, 1, 1, 1, 3])
    weighted = Reweighing("sex", ["F"]).fit(X, y, sample_weight=initial).compute_sample_weight(X, y, initial)
    total, d_total, pos_total, d_pos = initial.sum(), initial[:4].sum(), initial[np.array(y) == 1].sum(), 2.0
    assert weighted[0] == pytest.approx(2.0 * (d_total * pos_total) / (total * d_pos))


def test_reweighed_base_rates_are_equal_across_groups(files: dict[str, Path]) -> None:
    data = pd.read_parquet(files["data"])
    y = (data["hired"] == "yes").to_numpy().astype(int)
    overall = y.mean()
    for fitted in (Reweighing("sex", ["F"]), Reweighing("sex"), Reweighing("x1", facet_threshold=0.5)):
        weights = fitted.fit(data, y).compute_sample_weight(data, y)
        groups = fitted._groups(data)
        rates = [np.average(y[groups == g], weights=weights[groups == g]) for g in fitted.groups_]
        raw = [y[groups == g].mean() for g in fitted.groups_]
        assert max(raw) - min(raw) > 0.1  # biased before
        assert rates == pytest.approx([overall] * len(rates), abs=1e-12)
        assert weights.sum() == pytest.approx(len(y))  # reweighing keeps the total weight


def test_reweighing_refuses_what_it_cannot_weigh() -> None:
    X = pd.DataFrame({"sex": ["F", "F", "M", "M"]})
    fitted = Reweighing("sex").fit(X, [1, 1, 0, 1])
    with pytest.raises(InvalidInput, match="no row of group 'F' had label 0"):
        fitted.compute_sample_weight(X, [0, 1, 0, 1])
    with pytest.raises(InvalidInput, match="was not seen in fit"):
        fitted.compute_sample_weight(pd.DataFrame({"sex": ["X"]}), [1])
    from sklearn.neighbors import KNeighborsClassifier

    unweighable = ReweighingClassifier(KNeighborsClassifier(), "sex", ["F"], features=["x"])
    with pytest.raises(InvalidInput, match="takes no sample_weight"):
        unweighable.fit(X.assign(x=[0.0, 1.0, 2.0, 3.0]), [1, 0, 1, 0])


# ---- each method reduces the disparity --------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_each_method_reduces_dppl(reports: dict[str, MitigationReport], method: str) -> None:
    report = reports[method]
    before, after = report.row("original"), report.row("mitigated")
    assert before["DPPL"] > 0.3  # the synthetic data is strongly biased against F
    assert abs(after["DPPL"]) < 0.7 * abs(before["DPPL"])
    assert abs(after["DI"] - 1) < abs(before["DI"] - 1)
    assert 0.6 < after["accuracy"] <= 1
    document = report.to_dict()
    assert document["schema"] == "assay.mitigation"
    assert document["data"]["rows"] == {"read": 1000, "missing_label_or_facet": 0, "sample": None, "used": 1000,
                                        "train": 700, "test": 300}  # fmt: skip
    assert document["assessments"]["mitigated"]["schema"] == "assay.assessment"
    assert document["comparison"][0]["name"] == "original"
    assert ("retrained" in [r["name"] for r in document["comparison"]]) == (method in METHODS[:2])
    json.dumps(document, allow_nan=False)


def test_equalized_odds_reduces_the_rate_differences(files: dict[str, Path]) -> None:
    for method in ("threshold-optimizer", "exponentiated-gradient"):
        report = mitigate(
            files["data"], files["model"], label=Label("hired", ("yes",)), facet=Facet("sex", ("F",)), method=method,
            constraint="equalized_odds", **FAST,
        )  # fmt: skip
        before, after = report.row("original"), report.row("mitigated")
        assert max(abs(after["RD"]), abs(after["SD"])) < max(abs(before["RD"]), abs(before["SD"])), method
        assert report.document["constraint"] == "equalized_odds"


def test_the_numbers_are_clarifys(files: dict[str, Path], reports: dict[str, MitigationReport]) -> None:
    import skops.io as sio

    data = pd.read_parquet(files["data"])
    y = (data["hired"] == "yes").astype(int)
    # the reject-option search (numpy, inside assay.mitigate) agrees with assay.assess on the same predictions
    fitted = RejectOptionClassifier(sio.load(files["model"]), "sex", ["F"], pos_label="yes").fit(data, data["hired"])
    search = fitted.search_
    for i in (0, len(search["margin"]) // 3, search["margin"].index(fitted.margin_)):
        predicted = fitted.predict_margins(data, [search["margin"][i]])[1][0]
        frame = data.assign(y=y, p=predicted)
        doc = assess(frame, label="y", facets={"sex": ["F"]}, predicted="p", metrics=["DPPL", "DI"], bootstrap=0)
        values = {m["name"]: m["value"] for m in doc.to_dict()["facets"][0]["metrics"]}
        assert values["DPPL"] == pytest.approx(search["DPPL"][i], abs=1e-12)
        assert values["DI"] == pytest.approx(search["DI"][i], abs=1e-12)
    # the comparison's rows are assay.assess of the predictions on the held-out rows
    report = reports["reject-option"]
    for name in ("original", "mitigated"):
        clarify = {m["name"]: m["value"] for m in report.document["assessments"][name]["facets"][0]["metrics"]}
        assert report.row(name)["DPPL"] == clarify["DPPL"]
        assert report.row(name)["DI"] == clarify["DI"]


# ---- the estimators against their definitions ---------------------------------------------------------------


def test_reject_option_rule_and_search() -> None:
    scores = np.array([0.2, 0.45, 0.5, 0.55, 0.8, 0.2, 0.45, 0.5, 0.55, 0.8])
    favoured = np.array([True] * 5 + [False] * 5)
    assert reject_option_decisions(scores, favoured, 0.5, 0.0).tolist() == [0, 0, 1, 1, 1, 0, 0, 0, 1, 1]
    assert reject_option_decisions(scores, favoured, 0.5, 0.1).tolist() == [0, 1, 1, 1, 1, 0, 0, 0, 0, 1]
    data = _biased(800, seed=3)
    y = (data["hired"] == "yes").to_numpy().astype(int)
    base = _pipeline().fit(data[["x1", "x2", "sex"]], y)
    fitted = RejectOptionClassifier(base, "sex", ["F"]).fit(data, y)
    assert fitted.favoured_ == "d"
    search = pd.DataFrame(fitted.search_)
    chosen = search[search["margin"] == fitted.margin_].iloc[0]
    assert chosen["within"]
    assert chosen["accuracy"] == search[search["within"]]["accuracy"].max()
    assert -0.05 <= chosen["DPPL"] <= 0.05
    # a margin given is used as is; outside the critical region the base model decides
    given = RejectOptionClassifier(base, "sex", ["F"], margin=0.0).fit(data, y)
    assert given.search_ is None
    assert np.array_equal(given.predict(data), base.predict(data[["x1", "x2", "sex"]]))
    di = RejectOptionClassifier(base, "sex", ["F"], metric="DI", bounds=(0.9, 1.1)).fit(data, y)
    chosen = pd.DataFrame(di.search_).set_index("margin").loc[di.margin_]
    assert 0.9 <= chosen["DI"] <= 1.1


_FAIRLEARN_ON_PANDAS_3 = "ignore::pandas.errors.Pandas4Warning"  # fairlearn 0.15 itself, called directly here


@pytest.mark.filterwarnings(_FAIRLEARN_ON_PANDAS_3)
def test_threshold_optimizer_keeps_fairlearns_rule() -> None:
    from fairlearn.postprocessing import ThresholdOptimizer

    data = _biased(600, seed=4)
    y = (data["hired"] == "yes").to_numpy().astype(int)
    base = _pipeline().fit(data[["x1", "x2", "sex"]], y)
    groups = np.where(data["sex"] == "F", "d", "a")
    for constraint in ("demographic_parity", "equalized_odds"):
        ours = ThresholdOptimizerClassifier(base, "sex", ["F"], constraint=constraint).fit(data, y)
        theirs = ThresholdOptimizer(estimator=base, constraints=constraint, prefit=True, predict_method="predict_proba")
        theirs.fit(data[["x1", "x2", "sex"]], y, sensitive_features=groups)
        expected = theirs._pmf_predict(data[["x1", "x2", "sex"]], sensitive_features=groups)
        assert np.allclose(ours.predict_proba(data), expected, atol=1e-12), constraint


@pytest.mark.filterwarnings(_FAIRLEARN_ON_PANDAS_3)
def test_exponentiated_gradient_keeps_fairlearns_mixture() -> None:
    from fairlearn.reductions import DemographicParity, ExponentiatedGradient

    data = _biased(300, seed=5).assign(male=lambda f: (f["sex"] == "M").astype(float))
    y = (data.pop("hired") == "yes").to_numpy().astype(int)
    base = LogisticRegression()  # not fitted: no feature names to read, so the features are given
    ours = ExponentiatedGradientClassifier(
        base, "sex", ["F"], features=["x1", "x2", "male"], difference_bound=0.02, max_iter=6
    ).fit(data, y)
    theirs = ExponentiatedGradient(base, DemographicParity(difference_bound=0.02), max_iter=6)
    theirs.fit(data[["x1", "x2", "male"]], y, sensitive_features=np.where(data["sex"] == "F", "d", "a"))
    expected = theirs._pmf_predict(data[["x1", "x2", "male"]])
    assert np.allclose(ours.predict_proba(data), np.asarray(expected), atol=1e-12)
    assert ours.weights_.sum() == pytest.approx(1.0)
    randomised = ours.set_params(randomize=True, random_state=7)
    assert np.array_equal(randomised.predict(data), randomised.predict(data))


# ---- deployable files ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_the_saved_model_loads_and_predicts_the_same(
    reports: dict[str, MitigationReport], files: dict[str, Path], tmp_path: Path, method: str
) -> None:
    import skops.io as sio

    from assay.adapters import load_model

    report = reports[method]
    paths = write_outputs(report, tmp_path / "out")
    assert sorted(p.name for p in paths.values()) == ["mitigation.json", "model.skops", "report.html"]
    untrusted = sio.get_untrusted_types(file=paths["model"])
    assert set(untrusted) <= set(SKOPS_TYPES)  # nothing but Assay's own estimators needs trusting
    estimators = (ExponentiatedGradientClassifier, RejectOptionClassifier, Reweighing, ReweighingClassifier,
                  ThresholdOptimizerClassifier)  # fmt: skip
    assert tuple(f"assay.mitigate.{cls.__name__}" for cls in estimators) == SKOPS_TYPES  # written out, checked here
    data = pd.read_parquet(files["data"]).drop(columns=["hired"])
    loaded = sio.load(paths["model"], trusted=list(SKOPS_TYPES))
    assert type(loaded) is type(report.estimator)
    assert loaded.classes_.tolist() == report.original.classes_.tolist() == ["no", "yes"]  # a drop-in replacement
    assert set(loaded.predict(data)) == {"no", "yes"}
    assert np.array_equal(loaded.predict(data), report.estimator.predict(data))
    assert np.allclose(loaded.predict_proba(data), report.estimator.predict_proba(data))
    adapted = load_model(paths["model"], trusted_types=SKOPS_TYPES)
    assert np.allclose(adapted.predict_proba(data), report.estimator.predict_proba(data)[:, 1])
    columns = report.document["deployment"]["columns"]
    assert np.array_equal(loaded.predict(data[columns]), report.estimator.predict(data))
    assert json.loads(paths["mitigation"].read_text())["method"] == method


def test_joblib_output_and_a_trusted_pickle_input(
    reports: dict[str, MitigationReport], files: dict[str, Path], tmp_path: Path
) -> None:
    import joblib

    report = reports["reject-option"]
    paths = write_outputs(report, tmp_path, format="joblib")
    assert paths["model"].name == "model.joblib"
    data = pd.read_parquet(files["data"])
    assert np.array_equal(joblib.load(paths["model"]).predict(data), report.estimator.predict(data))
    with pytest.raises(InvalidInput, match="trust-pickle"):
        mitigate(files["data"], paths["model"], label="hired", positive="yes", facet={"sex": ["F"]},
                 method="reject-option", **FAST)  # fmt: skip
    again = mitigate(files["data"], paths["model"], label="hired", positive="yes", facet={"sex": ["F"]},
                     method="threshold-optimizer", trust_pickle=True, **FAST)  # fmt: skip
    assert again.document["model"]["estimator"] == "RejectOptionClassifier"


# ---- the report -------------------------------------------------------------------------------------------------


def test_report_is_offline_and_its_figure_is_valid(reports: dict[str, MitigationReport]) -> None:
    import plotly.graph_objects as go

    from assay.reports.mitigation import render_mitigation_html, trade_off_figure

    document = reports["reject-option"].to_dict()
    document["facet"]["values"] = ["<script>alert(1)</script>"]
    page = render_mitigation_html(document)
    assert page.count("<html") == 1
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page
    from plotly.offline import get_plotlyjs

    assert page.count(get_plotlyjs()) == 1
    rest = page.replace(get_plotlyjs(), "")
    assert "http://" not in rest and "https://" not in rest and "<script src" not in rest.lower()
    assert 'id="assay-trade-off"' in page
    assert "Before and after" in page and "mitigated" in page
    figure = go.Figure(trade_off_figure(document))  # plotly validates every property
    names = {trace.name for trace in figure.data}
    assert {"original", "mitigated", "curve over margin"} <= names
    curve = document["curve"]
    assert curve["parameter"] == "margin" and sum(p["chosen"] for p in curve["points"]) == 1


# ---- the workspace: lineage and the recorded assessment ----------------------------------------------------------


def test_cli_registers_the_mitigated_version_with_lineage(
    workspace: Any, files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workspace.systems.create({"name": "hiring"})
    workspace.models.register_version("hiring", {"model": "lr", "version": "1"}, artifact=files["model"])
    out = tmp_path / "out"
    root = ["--workspace", str(workspace.root), "--actor", "alice"]
    args = [*root, "mitigate", str(files["data"]), "--model", str(files["model"]), "--label", "hired=yes",
            "--facet", "sex=F", "--method", "threshold-optimizer", "--out", str(out), "--bootstrap", "0",
            "--system", "hiring", "--model-version", "lr@1"]  # fmt: skip
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "Trade-off on 300 held-out rows" in printed
    assert "registered: lr@1-threshold-optimizer (parent lr@1)" in printed
    chain = workspace.models.lineage("hiring", "lr@1-threshold-optimizer")
    assert [v.version for v in chain] == ["1-threshold-optimizer", "1"]
    from assay.store.artifacts import sha256_file

    assert chain[0].artifact_sha256 == sha256_file(out / "model.skops")
    (recorded,) = [a for a in workspace.assessments.list("hiring") if a.kind == "assay.mitigation"]
    assert recorded.model_version_id == chain[0].id
    assert recorded.document["lineage"] == {"parent": "lr@1", "version": "lr@1-threshold-optimizer"}
    assert recorded.document["comparison"][-1]["name"] == "mitigated"
    assert set(recorded.attachments) == {"mitigation.json", "report.html"}
    # the same version again is refused before any work, with exit code 2
    assert main(args) == 2
    assert "already exists" in capsys.readouterr().err


def test_python_api_records_with_a_chosen_version(
    workspace: Any, reports: dict[str, MitigationReport], tmp_path: Path
) -> None:
    workspace.systems.create({"name": "hiring"})
    workspace.models.register_version("hiring", {"model": "lr", "version": "1"})
    report = reports["reweighing"]
    paths = write_outputs(report, tmp_path)
    recorded = workspace.mitigation.record(
        report, "hiring", model_version="lr@1", new_version="2", model_file=paths["model"]
    )
    assert recorded.ref == "lr@2"
    assert workspace.models.get_version("hiring", "lr@2").parent_id == workspace.models.get_version("hiring", "lr@1").id
    stored = workspace.assessments.get("hiring", recorded.assessment.id)
    assert stored.kind == "assay.mitigation"
    assert stored.document["method"] == "reweighing"


def test_the_new_version_and_its_record_are_one_transaction(
    workspace: Any, reports: dict[str, MitigationReport], tmp_path: Path
) -> None:
    """A record that cannot be stored (here: NaN is not JSON) leaves no new model version behind, and no event."""
    workspace.systems.create({"name": "hiring"})
    workspace.models.register_version("hiring", {"model": "lr", "version": "1"})
    report = reports["reweighing"]
    paths = write_outputs(report, tmp_path)
    broken = MitigationReport({**report.to_dict(), "note": float("nan")}, report.estimator, report.original)
    head = workspace.audit.head_seq()
    with pytest.raises(InvalidInput, match="not plain JSON"):
        workspace.mitigation.record(broken, "hiring", model_version="lr@1", new_version="2", model_file=paths["model"])
    assert [v.version for _, v in workspace.models.list_versions("hiring")] == ["1"]
    assert workspace.audit.head_seq() == head


# ---- bad input ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"--model": "missing.skops"}, "does not exist"),
        ({"--method": "magic"}, "--method must be 'reweighing'"),
        ({"--facet": "sex"}, "say which rows are facet d"),
        ({"--facet": "colour=F"}, "column 'colour' is not in the data"),
        ({"--label": "hired=maybe"}, "every row has the same outcome"),
        ({"--test-size": "1.5"}, "--test-size must be at most 0.95 (given 1.5)"),
        ({"--constraint": "equalized_odds"}, "applies to exponentiated-gradient and threshold-optimizer"),
        ({"--bounds": "0.1"}, "write LOW,HIGH"),
        ({"--metric": "AUC"}, "--metric must be 'DPPL' or 'DI' (given 'AUC')"),
        ({"--margin": "0.9"}, "--margin must be at most 0.5"),
        ({"--model-version": "lr@1"}, "need --system"),
        ({"--system": "hiring"}, "needs --model-version"),
        ({"--format": "onnx"}, "must be skops or joblib"),
        ({"--features": "x1,nope"}, "column 'nope' is not in the data"),
        ({"--sample": "5"}, "--sample must be at least 10 (given 5)"),
        ({"--sample": "10", "--test-size": "0.95"}, "a part would be empty"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    files: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    change: dict[str, str],
    message: str,
) -> None:
    options = {"--model": str(files["model"]), "--label": "hired=yes", "--facet": "sex=F", "--method": "reject-option",
               "--out": str(tmp_path / "out"), "--bootstrap": "0", "--no-curve": None} | change  # fmt: skip
    args = ["mitigate", str(files["data"])]
    for key, value in options.items():
        args += [key] if value is None else [key, value]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert message in err
    assert err.count("\n") == 0, err
    assert not (tmp_path / "out").exists()


def test_a_pickle_is_refused_without_trust(files: dict[str, Path], tmp_path: Path, capsys: Any) -> None:
    import joblib
    import skops.io as sio

    joblib.dump(sio.load(files["model"]), tmp_path / "model.joblib")
    code = main(["mitigate", str(files["data"]), "--model", str(tmp_path / "model.joblib"), "--label", "hired=yes",
                 "--facet", "sex=F", "--method", "reweighing", "--out", str(tmp_path / "o")])  # fmt: skip
    assert code == 2
    assert "--trust-pickle" in capsys.readouterr().err


# ---- real data --------------------------------------------------------------------------------------------------

_ADULT = [
    "age",
    "workclass",
    "fnlwgt",
    "education",
    "education-num",
    "marital-status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "capital-gain",
    "capital-loss",
    "hours-per-week",
    "native-country",
    "income",
]


@pytest.mark.realdata
def test_every_method_reduces_dppl_on_adult_by_sex(shared_data: Path, tmp_path: Path) -> None:
    import skops.io as sio

    adult = pd.read_csv(shared_data / "adult" / "adult.data", names=_ADULT, skipinitialspace=True, na_values="?")
    adult = adult.dropna().drop(columns=["fnlwgt", "education"]).sample(n=3500, random_state=0)
    history, held = adult.iloc[:2000], adult.iloc[2000:]
    held.to_parquet(tmp_path / "adult.parquet", index=False)
    categorical = ["workclass", "marital-status", "occupation", "relationship", "race", "sex", "native-country"]
    numeric = ["age", "education-num", "capital-gain", "capital-loss", "hours-per-week"]
    encode = make_column_transformer((OneHotEncoder(handle_unknown="ignore"), categorical), (StandardScaler(), numeric))
    model = make_pipeline(encode, LogisticRegression(max_iter=500))
    model.fit(history[categorical + numeric], history["income"])
    sio.dump(model, tmp_path / "adult.skops")
    for method in METHODS:
        report = mitigate(
            tmp_path / "adult.parquet", tmp_path / "adult.skops", label="income", positive=">50K",
            facet={"sex": ["Female"]}, method=method, **(FAST | {"max_iter": 10}),
        )  # fmt: skip
        before, after = report.row("original"), report.row("mitigated")
        assert before["DPPL"] > 0.1, method  # women get fewer positive predictions
        assert abs(after["DPPL"]) < abs(before["DPPL"]), method
        assert after["accuracy"] > 0.7, method


@pytest.mark.realdata
def test_exponentiated_gradient_draws_from_its_mixture_and_says_whether_it_helped(shared_data: Path) -> None:
    """Thresholding the mixture at 0.5 follows its majority classifier, which the constraint does not bind; drawn
    from (as fairlearn predicts), the mixture brings DI on held-out adult rows near parity. Each row's draw is keyed
    by its values, so a row gets the same answer in any batch; the document says per metric whether it improved."""
    adult = pd.read_csv(shared_data / "adult" / "adult.data", names=_ADULT, skipinitialspace=True, na_values="?")
    adult = adult.dropna().drop(columns=["fnlwgt", "education"]).sample(n=4000, random_state=1)
    history, held = adult.iloc[:1500], adult.iloc[1500:]
    categorical = ["workclass", "marital-status", "occupation", "relationship", "race", "sex", "native-country"]
    numeric = ["age", "education-num", "capital-gain", "capital-loss", "hours-per-week"]
    encode = make_column_transformer((OneHotEncoder(handle_unknown="ignore"), categorical), (StandardScaler(), numeric))
    model = make_pipeline(encode, LogisticRegression(max_iter=500))
    model.fit(history[categorical + numeric], history["income"])
    report = mitigate(held, model, label="income", positive=">50K", facet={"sex": ["Female"]},
                      method="exponentiated-gradient", **(FAST | {"max_iter": 15}))  # fmt: skip
    before, after = report.row("original"), report.row("mitigated")
    assert before["DI"] < 0.5 and after["DI"] > 0.7, (before["DI"], after["DI"])
    effect = report.document["held_out_effect"]
    verdicts = {m["metric"]: m["verdict"] for m in effect["metrics"]}
    assert effect["helped"] and verdicts["DI"] == verdicts["DPPL"] == "improved"
    assert "improved DPPL and DI on the held-out rows" in effect["summary"]
    fitted = report.estimator
    rows = held.iloc[:400]
    assert np.array_equal(fitted.predict(rows)[::-1], fitted.predict(rows.iloc[::-1]))
    majority = _variant_majority(fitted).predict(held)
    drawn = fitted.predict(held)
    women = (held["sex"] == "Female").to_numpy()
    share = {name: (p[women] == ">50K").mean() / (p[~women] == ">50K").mean() for name, p in
             (("majority", majority), ("drawn", drawn))}  # fmt: skip
    assert share["drawn"] > share["majority"]


def _variant_majority(fitted: Any) -> Any:
    import copy

    return copy.copy(fitted).set_params(randomize=False)
