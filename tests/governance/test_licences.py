"""The licence table and rules (pure): each rule flags what it should and nothing else."""

from __future__ import annotations

import pytest

from assay.governance.licences import (
    LICENCES,
    DatasetFacts,
    ModelFacts,
    SystemFacts,
    licence_findings,
    licence_note,
    normalise_licence,
)


def rules(system: SystemFacts) -> list[str]:
    return [f.key for f in licence_findings(system)]


def test_known_ids_get_their_canonical_spelling_and_free_text_a_warning() -> None:
    assert normalise_licence(" apache-2.0 ") == "Apache-2.0"
    assert normalise_licence("cc-by-nc-4.0") == "CC-BY-NC-4.0"
    assert normalise_licence("Gemma terms") == "Gemma"
    assert normalise_licence("our own EULA") == "our own EULA"
    assert licence_note("MIT") is None
    assert licence_note("") is None
    note = licence_note("our own EULA")
    assert note is not None and "'our own EULA'" in note and "unknown" in note
    assert {"Apache-2.0", "OpenRAIL-M", "Llama-3-community", "Gemma", "proprietary", "unknown"} <= set(LICENCES)


def test_a_clean_system_has_no_findings() -> None:
    data = DatasetFacts("credit@1", "CC-BY-4.0")
    model = ModelFacts("scorer@1", "proprietary", training=data)
    assert rules(SystemFacts("s", commercial=True, models=(model,))) == []


def test_non_commercial_data_or_model_is_flagged_only_in_a_commercial_system() -> None:
    data = DatasetFacts("reviews@2", "CC-BY-NC-4.0")
    model = ModelFacts("chat@1", "CC-BY-NC-SA-4.0", training=data)
    assert rules(SystemFacts("s", commercial=False, models=(model,))) == []
    assert rules(SystemFacts("s", commercial=True, models=(model,))) == [
        "non-commercial:data reviews@2",
        "non-commercial:model chat@1",
    ]


def test_the_lineage_of_training_data_is_followed() -> None:
    raw = DatasetFacts("scraped@1", "CC-BY-NC-4.0")
    clean = DatasetFacts("clean@1", "CC-BY-4.0", ancestors=(raw,))
    model = ModelFacts("m@1", "MIT", training=clean)
    found = licence_findings(SystemFacts("s", commercial=True, models=(model,)))
    assert [f.key for f in found] == ["non-commercial:data scraped@1"]
    assert "in the lineage of clean@1" in found[0].description


@pytest.mark.parametrize(("model_licence", "flagged"), [("proprietary", True), ("CC-BY-SA-4.0", False)])
def test_share_alike_data_in_a_proprietary_model(model_licence: str, flagged: bool) -> None:
    model = ModelFacts("m@1", model_licence, training=DatasetFacts("wiki@1", "CC-BY-SA-4.0"))
    assert rules(SystemFacts("s", models=(model,))) == (["share-alike:data wiki@1 in model m@1"] if flagged else [])


def test_no_derivatives_data_used_for_training() -> None:
    model = ModelFacts("m@1", "MIT", training=DatasetFacts("news@1", "CC-BY-ND-4.0"))
    found = licence_findings(SystemFacts("s", models=(model,)))
    assert [f.rule for f in found] == ["no-derivatives"]
    assert found[0].controls == ("iso42001:A.7.5", "iso42001:A.7.3")


@pytest.mark.parametrize("licence", ["", "unknown", "some licence from a forum"])
def test_unknown_licence_of_training_data(licence: str) -> None:
    model = ModelFacts("m@1", "MIT", training=DatasetFacts("d@1", licence))
    assert rules(SystemFacts("s", models=(model,))) == ["unknown-licence:data d@1"]


def test_a_foundation_model_needs_a_known_licence_and_a_provider() -> None:
    bare = ModelFacts("assistant@1", "", foundation_model="llama-3-8b")
    assert rules(SystemFacts("s", models=(bare,))) == [
        "no-provider:model assistant@1",
        "unknown-licence:model assistant@1",
    ]
    ok = ModelFacts("assistant@1", "Llama-3-community", foundation_model="llama-3-8b", provider="Meta")
    assert rules(SystemFacts("s", commercial=True, models=(ok,))) == []
    # a model without a foundation model needs no licence to be checked (it is the organisation's own)
    assert rules(SystemFacts("s", models=(ModelFacts("own@1"),))) == []


def test_titles_are_stable_and_fit_a_risk_title() -> None:
    model = ModelFacts("m@1", "", foundation_model="x" * 200)
    first = licence_findings(SystemFacts("s", models=(model,)))
    again = licence_findings(SystemFacts("s", models=(model,)))
    assert [f.title for f in first] == [f.title for f in again]
    assert all(len(f.title) <= 300 for f in first)
