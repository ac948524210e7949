"""The compute routes of the REST API: a bias assessment, explanations, mitigation and data checks run on the server
on a registered dataset version's stored copy and a registered model version's stored file; the real app on SQLite
and PostgreSQL, through HTTP as a user with a token.

Each result is recorded against the system (an audit event naming the user) and its numbers are those of the
library function called on the same file. A joblib model file loads only when the server trusts pickles; viewers
and approvers may not run anything; bad input is a 4xx naming the problem and records nothing."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from assay.server import create_app
from assay.services.workspace import Workspace
from assay.store.audit import EventFilter
from tests.support.server import serving

LABEL = {"label": "hired", "positive": "yes"}


def _people(n: int, seed: int) -> pd.DataFrame:
    """Men get the positive label more often at the same x1, x2 (label bias)."""
    rng = np.random.default_rng(seed)
    sex = rng.choice(["F", "M"], n, p=[0.4, 0.6])
    male = sex == "M"
    x1 = np.round(rng.normal(size=n) + 0.3 * male, 3)
    x2 = np.round(rng.normal(size=n), 3)
    y = x1 + 0.5 * x2 + 1.0 * male + rng.normal(size=n) * 0.7 > 0.9
    return pd.DataFrame({"x1": x1, "x2": x2, "sex": sex, "hired": np.where(y, "yes", "no")})


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A dataset (400 rows), a second one sharing 50 of its rows, and a logistic regression (fit on other rows of
    the same population) saved with skops and with joblib."""
    import joblib
    import skops.io as sio
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    folder = tmp_path_factory.mktemp("compute")
    data = _people(400, seed=1)
    data.to_csv(folder / "hiring.csv", index=False)
    pd.concat([data.iloc[:50], _people(150, seed=3)]).to_csv(folder / "later.csv", index=False)
    history = _people(600, seed=2)
    encode = make_column_transformer((OneHotEncoder(), ["sex"]), (StandardScaler(), ["x1", "x2"]))
    model = make_pipeline(encode, LogisticRegression()).fit(history[["x1", "x2", "sex"]], history["hired"])
    sio.dump(model, folder / "model.skops")
    joblib.dump(model, folder / "model.joblib")
    return {name: folder / name for name in ("hiring.csv", "later.csv", "model.skops", "model.joblib")}


@dataclass
class Api:
    client: TestClient
    tokens: dict[str, str]
    ws: Workspace

    def post(self, path: str, body: Any, role: str = "owner") -> Any:
        return self.client.post(f"/api/systems/release/{path}", json=body, headers=self.auth(role))

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def upload(self, file: Path) -> str:
        with file.open("rb") as handle:
            response = self.client.post(
                "/api/artifacts", headers=self.auth("owner"), files={"file": (file.name, handle)}
            )
        assert response.status_code == 201, response.text
        return str(response.json()["sha256"])

    def recorded(self) -> list[Any]:
        return self.ws.assessments.list("release")

    def finish(self, response: Any, *, trust_pickle: bool = False) -> dict[str, Any]:
        """The job a compute route queued (202), run here by a worker to its end; its view through the API."""
        from assay.services.jobs import run_next

        assert response.status_code == 202, response.text
        job = response.json()
        assert response.headers["Location"] == f"/api/jobs/{job['id']}" and job["status"] == "queued"
        while run_next(self.ws, trust_pickle=trust_pickle) is not None:
            pass
        done = self.client.get(f"/api/jobs/{job['id']}", headers=self.auth("owner"))
        assert done.status_code == 200, done.text
        return dict(done.json())

    def run(self, path: str, body: Any, **options: Any) -> Any:
        """POST a compute route, run its job, and return the recorded assessment (the job must succeed)."""
        job = self.finish(self.post(path, body), **options)
        assert job["status"] == "succeeded", job
        return self.ws.assessments.get("release", job["result"]["assessment_id"])


@pytest.fixture
def api(workspace: Workspace, files: dict[str, Path]) -> Iterator[Api]:
    """System "release" (see tests.test_server.serving) with, uploaded and registered through the API by its owner:
    dataset versions hiring@1 and later@1, model versions lr@2 (skops) and lr@3 (joblib)."""
    workspace.settings.workers = 0  # the tests run the queued jobs themselves (Api.finish)
    with serving(workspace) as (client, tokens, ws):
        api = Api(client, tokens, ws)
        for dataset, name in (("hiring", "hiring.csv"), ("later", "later.csv")):
            body = {"dataset": dataset, "version": "1", "system": "release", "artifact_sha256": api.upload(files[name]),
                    "file_name": name}  # fmt: skip
            response = client.post("/api/datasets", json=body, headers=api.auth("owner"))
            assert response.status_code == 201, response.text
            assert response.json()["row_count"] == pd.read_csv(files[name]).shape[0]
        for version, name in (("2", "model.skops"), ("3", "model.joblib")):
            body = {"model": "lr", "version": version, "artifact_sha256": api.upload(files[name]), "file_name": name}
            assert api.post("models", body).status_code == 201
        yield api


def _actor(ws: Workspace, action: str) -> str:
    return ws.audit.log(EventFilter(action=action))[-1].actor


# -- the runs, their numbers and their records ------------------------------------------------------------------------


def test_assessment_scored_by_the_registered_model(api: Api, files: dict[str, Path]) -> None:
    import assay
    from assay.adapters import load_model

    body = {**LABEL, "dataset_version": "hiring@1", "model_version": "lr@2", "score_with_model": True,
            "facets": [{"column": "sex", "values": ["F"]}], "bootstrap": 50, "seed": 7}  # fmt: skip
    recorded = api.run("assessments/run", body)
    assert set(recorded.attachments or {}) == {"assessment.json", "analysis.json", "report.html"}
    assert recorded.kind == "assay.assessment"
    assert recorded.document["inputs"]["model"] == {"ref": "lr@2", "sha256": api.ws.models.get_version(
        "release", "lr@2").artifact_sha256}  # fmt: skip
    assert recorded.model_version_id == api.ws.models.get_version("release", "lr@2").id
    assert recorded.dataset_version_id == api.ws.datasets.get_version("hiring@1").id
    direct = assay.assess(files["hiring.csv"], **LABEL, facets={"sex": ["F"]}, bootstrap=50, seed=7,
                          model=load_model(files["model.skops"])).to_dict()  # fmt: skip
    assert recorded.document["facets"] == direct["facets"] and recorded.document["performance"] == direct["performance"]
    assert {"DPPL", "DI"} <= {m["name"] for m in direct["facets"][0]["metrics"]}
    assert recorded.document["data"]["source"] == "dataset version hiring@1 (hiring.csv)"  # not the temporary link
    assert _actor(api.ws, "assessment.record") == "owner"


def test_a_pickle_loads_only_on_a_server_that_trusts_pickles(api: Api) -> None:
    body = {**LABEL, "dataset_version": "hiring@1", "model_version": "lr@3", "score_with_model": True,
            "facets": ["sex"], "bootstrap": 0}  # fmt: skip
    before = len(api.recorded())
    refused = api.post("assessments/run", body)
    assert refused.status_code == 422, refused.text
    message = refused.json()["error"]["message"]
    assert "skops or ONNX" in message and "--trust-pickle" in message and "/tmp" not in message
    explain = {**LABEL, "dataset_version": "hiring@1", "model_version": "lr@3"}
    assert api.post("explanations", explain).status_code == 422
    mitigate = {**LABEL, "dataset_version": "hiring@1", "model_version": "lr@3", "facet": {"column": "sex",
                "values": ["F"]}, "method": "threshold-optimizer"}  # fmt: skip
    assert api.post("mitigations", mitigate).status_code == 422
    assert len(api.recorded()) == before
    assert [v.version for _, v in api.ws.models.list_versions("release")] == ["1", "2", "3"]
    untrusting = api.finish(api_post_trusting(api, body))  # a worker started without --trust-pickle refuses it
    assert untrusting["status"] == "failed" and "--trust-pickle" in untrusting["error"], untrusting
    assert len(api.recorded()) == before
    trusting = api.finish(api_post_trusting(api, body), trust_pickle=True)
    assert trusting["status"] == "succeeded", trusting
    assert len(api.recorded()) == before + 1


def test_explanations(api: Api, files: dict[str, Path]) -> None:
    from assay.services.explanations import explain

    options: dict[str, Any] = {"rows": [0, 3], "sample": 20, "background": 10, "pdp": 1, "grid_resolution": 5,
                               "method": "kernel", "seed": 3}  # fmt: skip
    body = {**LABEL, **options, "dataset_version": "hiring@1", "model_version": "lr@2", "facets": ["sex"]}
    recorded = api.run("explanations", body)
    assert recorded.kind == "assay.explanations" and "explanations.json" in (recorded.attachments or {})
    assert recorded.model_version_id == api.ws.models.get_version("release", "lr@2").id
    direct = explain(files["hiring.csv"], files["model.skops"], **LABEL, facets=["sex"], **options).to_dict()
    assert recorded.document["features"] == direct["features"] and recorded.document["local"] == direct["local"]
    assert recorded.document["model"]["source"] == "lr@2 (model.skops)"
    assert recorded.document["data"]["source"] == "dataset version hiring@1 (hiring.csv)"
    assert _actor(api.ws, "assessment.record") == "owner"


def test_mitigation_registers_a_new_version_with_lineage(api: Api, files: dict[str, Path]) -> None:
    from assay.services.mitigation import mitigate

    options: dict[str, Any] = {"method": "threshold-optimizer", "curve": False, "bootstrap": 20, "seed": 4}
    facet = {"column": "sex", "values": ["F"]}
    body = {**LABEL, **options, "dataset_version": "hiring@1", "model_version": "lr@2", "facet": facet}
    job = api.finish(api.post("mitigations", body))
    assert job["status"] == "succeeded" and job["result"]["model_version"] == "lr@2-threshold-optimizer", job
    chain = api.ws.models.lineage("release", "lr@2-threshold-optimizer")
    assert [v.version for v in chain] == ["2-threshold-optimizer", "2"] and chain[0].artifact_sha256
    recorded = api.ws.assessments.get("release", job["result"]["assessment_id"])
    assert recorded.kind == "assay.mitigation" and recorded.model_version_id == chain[0].id
    assert recorded.dataset_version_id == api.ws.datasets.get_version("hiring@1").id
    direct = mitigate(files["hiring.csv"], files["model.skops"], **LABEL, facet={"sex": ["F"]}, **options)
    assert recorded.document["comparison"] == direct.document["comparison"]
    assert _actor(api.ws, "model_version.create") == "owner" and _actor(api.ws, "assessment.record") == "owner"
    assert api.post("mitigations", body).status_code == 409  # the version exists now
    again = {**LABEL, "dataset_version": "hiring@1", "model_version": "lr@2-threshold-optimizer",
             "score_with_model": True, "facets": [facet], "bootstrap": 0}  # fmt: skip
    assert api.run("assessments/run", again).kind == "assay.assessment"  # the mitigated skops file loads


def test_data_checks(api: Api, files: dict[str, Path]) -> None:
    from assay.services import checks

    baseline = api.run("checks/baseline", {"dataset_version": "hiring@1", "max_domain": 10})
    assert {"constraints.json", "statistics.json"} <= set(baseline.attachments or {})
    validated = api.run("checks/validate", {"dataset_version": "later@1", "baseline_id": baseline.id})
    assert validated.document["status"] in ("pass", "fail")
    assert "constraint_violations.json" in (validated.attachments or {})
    document = validated.document
    assert document["check"] == "validate" and document["spec"]["baseline_statistics"] is True
    cases: list[tuple[str, dict[str, Any], Any]] = [
        ("duplicates", {"columns": ["sex", "hired"]}, lambda f: checks.duplicates(f, columns=["sex", "hired"])),
        ("leakage", {"reference_version": "hiring@1"}, lambda f: checks.leakage(files["later.csv"], f)),
        ("target-leakage", {**LABEL, "threshold": 0.9}, lambda f: checks.target_leakage(f, "hired", positive="yes",
                                                                                          threshold=0.9)),
        ("representativeness", {"populations": {"sex": {"F": 0.5, "M": 0.5}}},
         lambda f: checks.representativeness(f, {"sex": {"F": 0.5, "M": 0.5}})),
        ("label-issues", {"label": "hired", "sample": 200, "folds": 3}, lambda f: checks.label_issues(
            f, "hired", sample=200, folds=3)),
        ("pii", {"sample": 50}, lambda f: checks.pii(f, sample=50)),
    ]  # fmt: skip
    for check, options, direct in cases:
        data = "later@1" if check == "leakage" else "hiring@1"
        job = api.finish(api.post(f"checks/{check}", {"dataset_version": data, **options}))
        assert job["status"] == "succeeded", f"{check}: {job}"
        recorded = api.ws.assessments.get("release", job["result"]["assessment_id"])
        expected = direct(files["hiring.csv"]).to_dict()
        assert recorded.kind == "assay.data-check" and recorded.document["check"] == check
        assert recorded.document["data"]["source"] == f"dataset version {data} ({data.split('@')[0]}.csv)"
        assert (recorded.document["status"], recorded.document["summary"]) == (expected["status"], expected["summary"])
        assert job["result"]["status"] == expected["status"]
        assert recorded.data_fingerprint == expected["data"]["fingerprint"]
    assert _actor(api.ws, "assessment.record") == "owner"


# -- who may run, and bad input ---------------------------------------------------------------------------------------

ROUTES: list[tuple[str, dict[str, Any]]] = [
    ("assessments/run", {**LABEL, "dataset_version": "hiring@1", "facets": ["sex"], "bootstrap": 0}),
    ("explanations", {**LABEL, "dataset_version": "hiring@1", "model_version": "lr@2", "sample": 20}),
    ("mitigations", {**LABEL, "dataset_version": "hiring@1", "model_version": "lr@2", "method": "reweighing",
                     "facet": {"column": "sex", "values": ["F"]}}),
    ("checks/duplicates", {"dataset_version": "hiring@1"}),
    ("checks/pii", {"dataset_version": "hiring@1"}),
]  # fmt: skip


def test_refusals_and_bad_input_record_nothing(api: Api) -> None:
    """Viewers, approvers and auditors get 403, non-members 404 (a system they cannot see does not exist for them);
    bad input is a 4xx naming the problem."""
    for path, body in ROUTES:
        for role in ("viewer", "approver", "auditor"):
            response = api.post(path, body, role=role)
            assert response.status_code == 403 and "may not write" in response.text, f"{path} as {role}"
        response = api.post(path, body, role="stranger")
        assert response.status_code == 404 and "no AI system named" in response.text, f"{path} as stranger"
    run = {**LABEL, "dataset_version": "hiring@1", "bootstrap": 0}
    cases: list[tuple[str, dict[str, Any], int, str]] = [
        ("assessments/run", {**run, "facets": ["race"]}, 422, "column 'race' is not in the data"),
        ("assessments/run", {**run, "facets": ["sex"], "label": "outcome"}, 422, "'outcome'"),
        ("assessments/run", {**run, "facets": ["sex"], "bootstrap": 10_001}, 422, "bootstrap"),
        ("assessments/run", {**run, "facets": ["sex"], "model": "http://example.com/predict"}, 422, "model"),
        ("assessments/run", {**run, "facets": ["sex"], "dataset_version": "nope@1"}, 404, "no dataset named 'nope'"),
        ("assessments/run", {**run, "facets": ["sex"], "score_with_model": True}, 422, "needs a model_version"),
        ("assessments/run", {**run, "facets": ["sex"], "model_version": "lr@1", "score_with_model": True}, 422,
         "has no model file"),
        ("explanations", {**run, "model_version": "lr@2", "facets": ["sex"]}, 422, "bootstrap: Extra inputs"),
        ("explanations", {**LABEL, "dataset_version": "hiring@1", "model_version": "lr@2", "features": ["x1", "pay"]},
         422, "pay"),
        ("explanations", {**LABEL, "dataset_version": "bare@1", "model_version": "lr@2"}, 422,
         "bare@1 has no registered copy"),
        ("explanations", {**LABEL, "dataset_version": "hiring@1", "model_version": "lr@2", "facets": ["region"]},
         422, "region"),
        ("mitigations", {**LABEL, "dataset_version": "hiring@1", "model_version": "lr@2", "method": "reweighing",
                         "facet": {"column": "gender", "values": ["F"]}}, 422, "gender"),
        ("mitigations", {**LABEL, "dataset_version": "hiring@1", "model_version": "lr@2", "method": "magic",
                         "facet": {"column": "sex", "values": ["F"]}}, 422, "method"),
        ("checks/duplicates", {"dataset_version": "hiring@1", "columns": ["sex", "nope"]}, 422, "column 'nope'"),
        ("checks/representativeness", {"dataset_version": "hiring@1", "populations": {"town": {"A": 1.0}}}, 422,
         "column 'town'"),
        ("checks/validate", {"dataset_version": "hiring@1", "baseline_id": 1}, 422, "not a baseline check"),
        ("checks/leakage", {"dataset_version": "hiring@1"}, 422, "reference_version"),
    ]  # fmt: skip
    api.ws.datasets.register_version(
        {"dataset": "bare", "version": "1"}, system="release"
    )  # no file: no copy to run on
    events = len(api.ws.audit.log())
    for path, body, status, text in cases:
        response = api.post(path, body)
        assert response.status_code == status and text in response.json()["error"]["message"], (
            f"{path} {body}: {response.status_code} {response.text[:300]}"
        )
        assert "/tmp" not in response.text, response.text
    assert [a.id for a in api.recorded()] == [1]
    assert len(api.ws.audit.log()) == events
    assert [v.version for _, v in api.ws.models.list_versions("release")] == ["1", "2", "3"]


def api_post_trusting(api: Api, body: Any) -> Any:
    """POST an assessment through a server started with --trust-pickle."""
    with TestClient(create_app(api.ws, secure_cookies=False, trust_pickle=True)) as trusting:
        return trusting.post("/api/systems/release/assessments/run", json=body, headers=api.auth("owner"))
