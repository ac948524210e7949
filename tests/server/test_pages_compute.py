"""The compute pages: the run page (kinds, versions, the options form generated from the options model, pickers
filled from the store), the job page (live progress, cancel) and the result pages (a bias assessment judged
against the thresholds in force, with its charts; another kind's verdict and table); the real app over a real
workspace (SQLite and PostgreSQL), people logged in through the login form, jobs run by a worker."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from assay.services.jobs import run_next
from assay.services.workspace import Workspace
from assay.store.audit import EventFilter
from tests.support.server import PASSWORD, serving


def _people(n: int, seed: int) -> pd.DataFrame:
    """Men get the positive label more often at the same x1 (label bias)."""
    rng = np.random.default_rng(seed)
    sex = rng.choice(["F", "M"], n, p=[0.4, 0.6])
    male = sex == "M"
    x1 = np.round(rng.normal(size=n) + 0.3 * male, 3)
    y = x1 + 1.0 * male + rng.normal(size=n) * 0.7 > 0.9
    region = rng.choice(["north", "south", "east"], n)
    return pd.DataFrame({"x1": x1, "sex": sex, "region": region, "hired": np.where(y, "yes", "no")})


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A dataset of 300 rows and a small logistic regression saved with skops."""
    import skops.io as sio
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    folder = tmp_path_factory.mktemp("pages-compute")
    _people(300, seed=1).to_csv(folder / "hiring.csv", index=False)
    history = _people(400, seed=2)
    encode = make_column_transformer((OneHotEncoder(), ["sex"]), remainder="passthrough")
    model = make_pipeline(encode, LogisticRegression()).fit(history[["x1", "sex"]], history["hired"])
    sio.dump(model, folder / "model.skops")
    return {"hiring.csv": folder / "hiring.csv", "model.skops": folder / "model.skops"}


@dataclass
class Site:
    client: TestClient
    ws: Workspace

    def login(self, name: str) -> None:
        self.client.cookies.clear()
        answer = self.client.post("/login", data={"name": name, "password": PASSWORD}, follow_redirects=False)
        assert answer.status_code == 303, answer.text

    def csrf(self, path: str = "/systems/release/run") -> str:
        page = self.client.get(path)
        found = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert found, page.text[:500]
        return found.group(1)

    def run(self, fields: dict[str, Any]) -> Any:
        body = {"csrf": self.csrf(), "shown": "1", **fields}
        return self.client.post("/systems/release/run", data=body, follow_redirects=False)

    def finish(self) -> None:
        while run_next(self.ws) is not None:
            pass


@pytest.fixture
def site(workspace: Workspace, files: dict[str, Path]) -> Iterator[Site]:
    """System "release" (tests.support.server.serving) with dataset version hiring@1 (300 rows) and model version
    lr@2 (skops), registered by its owner; the owner logged in. Jobs are run by the test (``Site.finish``), so a
    job can be seen queued."""
    workspace.settings.workers = 0
    with serving(workspace) as (client, _, ws):
        owner = ws.login("owner", PASSWORD)
        owner.datasets.register_version(
            {"dataset": "hiring", "version": "1"}, system="release", file=files["hiring.csv"], copy=True
        )
        owner.models.register_version("release", {"model": "lr", "version": "2"}, artifact=files["model.skops"])
        site = Site(client, ws)
        site.login("owner")
        yield site


def _bias(**extra: Any) -> dict[str, Any]:
    return {"kind": "bias", "dataset_version": "hiring@1", "label": "hired", "positive": "yes", "facet_rows": "1",
            "facet_column_0": "sex", "facet_values_0": "F", "bootstrap": "0", **extra}  # fmt: skip


def test_the_run_page_offers_the_kinds_the_versions_and_pickers_from_the_data(site: Site) -> None:
    client = site.client
    page = client.get("/systems/release/run")
    assert page.status_code == 200, page.text
    assert 'aria-current="page">Run a test' in page.text
    assert '<option value="bias" selected>Bias assessment</option>' in page.text
    assert ">Explanation</option>" in page.text and ">Mitigation</option>" in page.text
    assert ">Duplicates check</option>" in page.text  # the data checks, named in words
    assert '<option value="hiring@1"' in page.text and '<option value="lr@2"' in page.text
    assert "Clarify&#39;s pre- and post-training bias metrics" in page.text  # the kind's one-line description
    assert 'hx-get="/systems/release/run"' in page.text and 'hx-select="#run-fields"' in page.text
    # the options form is the options model's: widgets, bounds, defaults, help
    twin = client.get("/systems/release/run.json").json()
    fields = {f["name"]: f for f in twin["fields"]}
    assert fields["facets"]["widget"] == "facets" and fields["facets"]["required"]
    assert fields["intersect"]["widget"] == "checkbox" and fields["intersect"]["default"] is False
    assert fields["threshold"]["widget"] == "number"
    assert fields["threshold"]["attrs"] == {"min": "0", "max": "1", "step": "any"}
    assert fields["bootstrap"]["attrs"] == {"min": "0", "max": "10000", "step": "1"}
    assert "ASSAY_BOOTSTRAP_REPLICATES" in fields["bootstrap"]["help"]
    assert fields["divergence"]["widget"] == "select" and [c[0] for c in fields["divergence"]["choices"]] == [
        "sound", "clarify"]  # fmt: skip
    assert fields["label"]["widget"] == "column" and fields["group"]["widget"] == "column"
    assert fields["features"]["widget"] == "columns" and fields["positive"]["widget"] == "positive"
    assert [c[0] for c in twin["column_choices"]] == ["x1", "sex", "region", "hired"]
    # the label's values and a facet column's values come from the data, most frequent first, with their counts
    chosen = client.get("/systems/release/run.json", params={"label": "hired", "facet_column_0": "region"}).json()
    assert {value for value, _ in chosen["positive_choices"]} == {"yes", "no"}
    regions = [value for value, _ in chosen["facet_rows"][0]["choices"]]
    assert sorted(regions) == ["east", "north", "south"]
    shown = [int(text.rsplit("(", 1)[1].rstrip(")").replace(",", "")) for _, text in chosen["facet_rows"][0]["choices"]]
    assert shown == sorted(shown, reverse=True) and sum(shown) == 300
    # several facets: add a row (the first kept), remove one (the others renumbered)
    two = client.get("/systems/release/run.json", params={"facet_column_0": "sex", "add_facet": "1"}).json()
    assert [r["column"] for r in two["facet_rows"]] == ["sex", ""]
    three = {"facet_rows": "3", "facet_column_0": "sex", "facet_column_1": "region", "facet_column_2": "x1",
             "remove_facet": "1"}  # fmt: skip
    assert [r["column"] for r in client.get("/systems/release/run.json", params=three).json()["facet_rows"]] == [
        "sex", "x1"]  # fmt: skip
    fragment = client.get("/systems/release/run", params={"facet_column_0": "sex", "add_facet": "1"},
                          headers={"HX-Request": "true"})  # fmt: skip
    assert 'id="f-facet_column_1"' in fragment.text and "Remove facet 2" in fragment.text
    # another kind: its own options (the mitigation protects one facet and needs a model)
    mitigation = client.get("/systems/release/run.json", params={"kind": "mitigation"}).json()
    assert mitigation["kind"]["model"] == "required" and mitigation["kind"]["registers_model"]
    assert any(f["widget"] == "facet" for f in mitigation["fields"])
    # the page is for who may run: a viewer and a stranger are refused with an error page
    for name in ("viewer", "approver", "stranger"):
        site.login(name)
        refused = client.get("/systems/release/run", headers={"Accept": "text/html"})
        assert refused.status_code in (403, 404) and "<main" in refused.text, name


def test_a_refused_run_form_comes_back_with_the_values_and_the_error_by_its_field(site: Site) -> None:
    client = site.client
    too_many = site.run(_bias(bootstrap="10001"))
    assert too_many.status_code == 422
    assert 'id="f-bootstrap" name="bootstrap" type="number" value="10001"' in too_many.text
    assert re.search(r'<small class="field-error" id="e-bootstrap">[^<]*10000', too_many.text)
    assert '<option value="F" selected>F (' in too_many.text  # the facet's group kept
    not_a_number = site.run(_bias(threshold="half"))
    assert not_a_number.status_code == 422 and 'id="e-threshold">a number' in not_a_number.text
    no_facet = site.run(_bias(facet_column_0=""))
    assert no_facet.status_code == 422 and "facets" in no_facet.text and 'class="field-error"' in no_facet.text
    both = site.run(_bias(facet_threshold_0="0.5"))
    assert both.status_code == 422 and 'id="e-facet_threshold_0">give the group' in both.text
    no_model = site.run({"kind": "explanations", "dataset_version": "hiring@1", "label": "hired"})
    assert no_model.status_code == 422 and 'id="e-model_version"' in no_model.text
    assert site.ws.jobs.list()[1] == 0  # nothing was queued
    site.login("viewer")
    refused = client.post("/systems/release/run", data={"csrf": "x", **_bias()}, headers={"Accept": "text/html"})
    assert refused.status_code == 403


def test_a_run_through_the_form_its_job_page_and_the_readable_result(site: Site) -> None:
    client, ws = site.client, site.ws
    queued = site.run(_bias(facet_rows="2", facet_column_1="x1", facet_threshold_1="0.5", intersect="on",
                            model_version="lr@2", score_with_model="on"))  # fmt: skip
    assert queued.status_code == 303, queued.text
    job_path = queued.headers["location"]
    assert re.fullmatch(r"/jobs/\d+", job_path)
    waiting = client.get(job_path)
    assert "queued as job" in waiting.text  # the message, once
    assert 'hx-trigger="every 1s"' in waiting.text and "<progress" in waiting.text and "Cancel the job" in waiting.text
    job_id = int(job_path.rsplit("/", 1)[1])
    submitted = ws.audit.log(EventFilter(action="job.submit"))[-1]
    assert submitted.actor == "owner"
    params = ws.jobs.get(job_id).params
    assert params["target"]["score_with_model"] is True and params["options"]["intersect"] is True
    assert params["options"]["facets"] == [
        {"column": "sex", "values": ["F"], "threshold": None},
        {"column": "x1", "values": None, "threshold": 0.5},
    ]
    site.finish()
    done = client.get(job_path)
    assert "every 1s" not in done.text and "<progress" not in done.text and "Cancel the job" not in done.text
    link = re.search(r'<p id="job-result"><a href="([^"]+)"', done.text)
    assert link, done.text
    page = client.get(link.group(1))
    assert page.status_code == 200
    assert "Disparate Impact (DI)" in page.text and "Class Imbalance (CI)" in page.text  # in words, abbreviated
    # a limited-risk system without a stored policy: Assay's default for its category judges DI, the convention
    # the other differences
    assert "gate policy <strong>default-limited</strong> (Assay&#39;s default for its category)" in page.text
    assert re.search(r"sex = \[?&#39;?F", page.text) or "sex = F" in page.text
    assert "x1 = " in page.text  # the second facet, and their intersection
    assert not re.search(r">\d+\.\d{6,}<", page.text)  # values rounded (the full value on hover)
    assert 'class="assessment-chart-data"' in page.text and 'id="performance"' in page.text
    twin = client.get(link.group(1) + ".json").json()
    di = [r for r in twin["bias"]["metrics"] if r["metric"] == "DI" and r["value"] is not None]
    assert len(di) == 3 and {r["source"] for r in di} == {"policy"}
    assert [r["verdict"] for r in di] == ["pass" if 0.8 <= r["value"] <= 1.25 else "fail" for r in di]
    assert "fail" in [r["verdict"] for r in di]  # women are hired less often: flagged
    dppl = [r for r in twin["bias"]["metrics"] if r["metric"] == "DPPL"]
    assert [r["verdict"] for r in dppl] == ["pass" if abs(r["value"]) <= 0.1 else "fail" for r in dppl]
    assert {r["source"] for r in dppl} == {"conventional"}
    assert {r["verdict"] for r in twin["bias"]["metrics"] if r["metric"] in ("KL", "JS")} == {None}  # not judged
    assert twin["document"]["facets"]  # full precision in the twin
    report = client.get(link.group(1) + "/report")
    assert report.status_code == 200 and report.headers["Content-Security-Policy"].startswith("sandbox")
    # a stored gate policy's rule replaces the convention for its metric, and the page says so
    ws.login("owner", PASSWORD).gates.set_policy("release", text=POLICY)
    judged = client.get(link.group(1) + ".json").json()["bias"]
    assert judged["thresholds"]["used"] and judged["thresholds"]["stored"]
    strict = [r for r in judged["metrics"] if r["metric"] == "DI" and r["value"] is not None]
    assert all(r["source"] == "policy" and r["verdict"] == ("pass" if r["value"] >= 0.95 else "fail") for r in strict)
    assert "gate policy <strong>strict</strong>" in client.get(link.group(1)).text


POLICY = """
schema: assay.policy/1
name: strict
stage: production
rules:
  - {id: di, metric: DI, min: 0.95}
"""


def test_a_queued_job_can_be_cancelled_from_its_page_by_who_may(site: Site) -> None:
    client, ws = site.client, site.ws
    queued = site.run(_bias())
    job_path = queued.headers["location"]
    site.login("viewer")
    assert "Cancel the job" not in client.get(job_path).text
    refused = client.post(f"{job_path}/cancel", data={"csrf": site.csrf(job_path)}, headers={"Accept": "text/html"})
    assert refused.status_code == 403
    site.login("owner")
    cancelled = client.post(f"{job_path}/cancel", data={"csrf": site.csrf(job_path)}, follow_redirects=False)
    assert cancelled.status_code == 303
    page = client.get(job_path)
    job_id = job_path.rsplit("/", 1)[1]
    assert f"Job {job_id} cancelled" in page.text and "every 1s" not in page.text
    assert ws.audit.log(EventFilter(action="job.cancel"))[-1].actor == "owner"
    again = client.post(f"{job_path}/cancel", data={"csrf": site.csrf(job_path)}, headers={"Accept": "text/html"})
    assert again.status_code == 409 and "already cancelled" in again.text


def test_a_data_check_result_is_readable_with_its_verdict_and_table(site: Site) -> None:
    client = site.client
    queued = site.run({"kind": "duplicates", "dataset_version": "hiring@1"})
    assert queued.status_code == 303, queued.text
    site.finish()
    assert re.search(
        r'id="job-verdict">\s*<span class="verdict verdict-(pass|fail)">', client.get(queued.headers["location"]).text
    )
    job = client.get(queued.headers["location"] + ".json").json()
    assert job["job"]["status"] == "succeeded", job
    path = job["result_link"]
    page = client.get(path)
    assert page.status_code == 200 and 'id="verdict"' in page.text and "verdict-" in page.text
    assert "Duplicates check" in page.text
    twin = client.get(path + ".json").json()
    assert twin["result"]["status"] in ("pass", "fail", "warn") and twin["document"]["check"] == "duplicates"
