"""The inventory (systems, models, datasets, assessments) on SQLite and PostgreSQL, through the services."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from assay.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from assay.services.workspace import Workspace
from assay.store.audit import EventFilter

HIGH_RISK = {
    "name": "release",
    "purpose": "Recommend release at first appearance",
    "intended_uses": ["decision support for duty officers"],
    "out_of_scope_uses": ["sentencing"],
    "affected_people": ["arrested people"],
    "deployment_context": "Toronto police stations",
    "lifecycle_stage": "design_and_development",
    "owner": "alice",
    "eu_ai_act_category": "high",
    "annex_iii_area": 6,
    "oversight": "human_in_the_loop",
}


def events(ws: Workspace, **where: Any) -> list[Any]:
    """The events after the workspace's own first one (its mode, set by ``Workspace.init``)."""
    return ws.audit.log(EventFilter(**{"after_seq": 1, **where}))


def test_system_create_show_update_with_audit_events(workspace: Workspace) -> None:
    created = workspace.systems.create(HIGH_RISK)
    assert created.annex_iii_area == 6
    assert workspace.systems.get("release").intended_uses == ["decision support for duty officers"]
    updated = workspace.as_actor("bob").systems.update("release", {"lifecycle_stage": "deployment"})
    assert updated.lifecycle_stage == "deployment"
    log = events(workspace)
    assert [(e.action, e.actor) for e in log] == [("system.create", "alice"), ("system.update", "bob")]
    assert log[0].before is None and log[0].after == log[1].before != log[1].after
    assert dict(log[1].payload) == {"changed": ["lifecycle_stage"], "authenticated": False}  # bob taken on trust
    assert workspace.audit.verify().ok


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"eu_ai_act_category": "high", "annex_iii_area": None}, "needs its Annex III area"),
        ({"eu_ai_act_category": "minimal"}, "annex_iii_area is only for high-risk systems"),
        ({"generative": True}, "disclosure"),
        ({"lifecycle_stage": "testing"}, "lifecycle_stage"),
        ({"colour": "red"}, "colour: is not a known field"),
    ],
)
def test_bad_system_updates_write_nothing(workspace: Workspace, changes: dict[str, Any], message: str) -> None:
    workspace.systems.create(HIGH_RISK)
    with pytest.raises(InvalidInput, match=message):
        workspace.systems.update("release", changes)
    assert workspace.systems.get("release").eu_ai_act_category == "high"
    assert len(events(workspace)) == 1


def test_duplicate_and_unknown_names(workspace: Workspace) -> None:
    workspace.systems.create(HIGH_RISK)
    with pytest.raises(Conflict, match="already exists"):
        workspace.systems.create({"name": "release"})
    with pytest.raises(NotFound, match=r"no AI system named 'nope' \(known: release\)"):
        workspace.systems.get("nope")
    with pytest.raises(InvalidInput, match="name"):
        workspace.systems.create({"name": "has space"})
    assert len(events(workspace)) == 1


def test_models_datasets_lineage_and_stage(workspace: Workspace, tmp_path: Path) -> None:
    workspace.systems.create(HIGH_RISK)
    data = tmp_path / "train.csv"
    pd.DataFrame({"x": [1, 2, 3], "y": ["a", "b", "a"]}).to_csv(data, index=False)
    raw = workspace.datasets.register_version(
        {"dataset": "arrests", "version": "raw", "source": "Toronto Star", "licence": "public records"},
        system="release",
        file=data,
        copy=True,
    )
    assert raw.row_count == 3 and [c["name"] for c in raw.columns] == ["x", "y"]
    assert raw.artifact_sha256 == raw.fingerprint and workspace.artifacts.has(raw.fingerprint)
    clean = workspace.datasets.register_version(
        {
            "dataset": "arrests",
            "version": "clean",
            "parents": ["arrests@raw"],
            "pii": True,
            "personal_data_categories": ["age", "sex"],
        },
        system="release",
    )
    assert clean.parent_ids == [raw.id]
    model_file = tmp_path / "model.bin"
    model_file.write_bytes(b"weights")
    v1 = workspace.models.register_version(
        "release", {"model": "lr", "version": "1", "training_dataset": "arrests@clean"}, artifact=model_file
    )
    assert v1.artifact_sha256 is not None and workspace.artifacts.has(v1.artifact_sha256)
    workspace.models.register_version("release", {"model": "lr", "version": "2", "parent": "1"})
    assert [v.version for v in workspace.models.lineage("release", "lr@2")] == ["2", "1"]
    assert workspace.models.get_version("release", "2").version == "2"  # one model: the version alone is enough
    staged = workspace.models.set_stage("release", "lr@2", "staging", reason="shadow run")
    assert staged.stage == "staging"
    with pytest.raises(PermissionDenied, match="approved request"):
        workspace.models.set_stage("release", "lr@2", "production")
    with pytest.raises(NotFound, match="no version '9'"):
        workspace.models.get_version("release", "lr@9")
    with pytest.raises(InvalidInput, match="pii"):
        workspace.datasets.register_version(
            {"dataset": "d", "version": "1", "personal_data_categories": ["x"]}, system="release"
        )
    assert workspace.audit.verify().ok


def test_assessment_is_recorded_and_linked_as_evidence(workspace: Workspace) -> None:
    workspace.systems.create(HIGH_RISK)
    workspace.models.register_version("release", {"model": "lr", "version": "1"})
    document = {
        "schema": "assay.assessment",
        "schema_version": 1,
        "spec": {"predicted": "pred"},
        "data": {"fingerprint": "a" * 64},
    }
    recorded = workspace.assessments.record("release", document, model_version="lr@1")
    assert recorded.data_fingerprint == "a" * 64
    stored = workspace.assessments.get("release", recorded.id)
    assert stored.document == document
    log = events(workspace, action="evidence.link")
    assert "iso42001:A.6.2.4" in log[0].payload["controls"]
    with pytest.raises(InvalidInput, match="schema"):
        workspace.assessments.record("release", {"no": "schema"})


def test_workspace_open_finds_the_nearest_workspace(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    inner = workspace.root / "a" / "b"
    inner.mkdir(parents=True)
    monkeypatch.chdir(inner)
    monkeypatch.delenv("ASSAY_WORKSPACE", raising=False)
    config = json.loads((workspace.home / "workspace.json").read_text())
    if "database_url" in config:  # PostgreSQL: the URL recorded at init is used again
        assert config["database_url"].startswith("postgresql+psycopg://")
    with Workspace.open() as found:
        assert found.root == workspace.root


def test_no_workspace_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ASSAY_WORKSPACE", raising=False)
    with pytest.raises(NotFound, match="run `assay init`"):
        Workspace.open()


def test_cli_assess_records_against_a_system(
    workspace: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from assay.cli import main

    workspace.systems.create(HIGH_RISK)
    workspace.models.register_version("release", {"model": "lr", "version": "1"})
    frame = pd.DataFrame(
        {"g": ["a", "b"] * 50, "y": [1, 0, 0, 1] * 25, "p": [1, 1, 0, 0] * 25, "x": [float(i) for i in range(100)]}
    )
    data = tmp_path / "d.csv"
    frame.to_csv(data, index=False)
    common = ["assess", str(data), "--label", "y", "--facet", "g=b", "--predicted", "p", "--bootstrap", "0", "-q"]
    root = ["--workspace", str(workspace.root)]
    out = tmp_path / "out"
    assert main([*root, *common, "--out", str(out), "--system", "release", "--model-version", "lr@1"]) == 0
    assert "recorded: assessment 1 of release" in capsys.readouterr().out
    recorded = workspace.assessments.get("release", 1)
    assert recorded.document == json.loads((out / "assessment.json").read_text())
    assert recorded.attachments is not None and set(recorded.attachments) == {
        "assessment.json", "analysis.json", "report.html"
    }  # fmt: skip
    with workspace.artifacts.open(recorded.attachments["report.html"]) as handle:
        assert handle.read() == (out / "report.html").read_bytes()
    assert recorded.model_version_id == workspace.models.get_version("release", "lr@1").id
    # a bad target fails before any computation or output
    assert main([*root, *common, "--out", str(tmp_path / "o2"), "--system", "release", "--model-version", "x@1"]) == 2
    assert "has no model 'x'" in capsys.readouterr().err and not (tmp_path / "o2").exists()
    assert main([*root, *common, "--out", str(tmp_path / "o3"), "--model-version", "lr@1"]) == 2
    assert "need --system" in capsys.readouterr().err


def test_updates_of_versions_are_validated_and_audited(workspace: Workspace) -> None:
    workspace.systems.create(HIGH_RISK)
    workspace.datasets.register_version({"dataset": "arrests", "version": "1"}, system="release")
    workspace.models.register_version("release", {"model": "lr", "version": "1"})
    updated = workspace.datasets.update_version("arrests@1", {"pii": True, "personal_data_categories": ["age"]})
    assert updated.pii and updated.personal_data_categories == ["age"]
    before = len(events(workspace))
    with pytest.raises(InvalidInput, match="period_end"):
        workspace.datasets.update_version("arrests@1", {"period_start": "2020-01-01", "period_end": "2019-01-01"})
    with pytest.raises(InvalidInput, match="pii"):
        workspace.datasets.update_version("arrests@1", {"pii": False})  # categories are still listed
    with pytest.raises(InvalidInput, match="fingerprint: is not a known field"):
        workspace.datasets.update_version("arrests@1", {"fingerprint": "0" * 64})
    assert len(events(workspace)) == before
    version = workspace.models.update_version(
        "release", "lr@1", {"framework": "sklearn", "training_dataset": "arrests@1"}
    )
    assert version.framework == "sklearn" and version.training_dataset_version_id == updated.id
    assert events(workspace)[-1].action == "model_version.update"
