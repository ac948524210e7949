"""The values of a registered dataset version's column, for the web forms' pickers: the most frequent first with
their counts, bounded, read once per stored file; only for who may read the dataset."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from assay.errors import InvalidInput, NotFound
from assay.services import registry
from tests.support.people import People


def test_the_most_frequent_values_with_their_counts_for_who_may_read_them(people: People, tmp_path: Path) -> None:
    admin = people.admin
    for name in ("release", "other"):
        admin.systems.create({"name": name, "eu_ai_act_category": "minimal"})
    owner = people("olga", release="owner")
    stranger = people("sam", other="owner")
    values = ["a"] * 5 + ["b"] * 3 + ["c"] * 3 + [None] * 2 + [f"v{i:03d}" for i in range(250)]
    frame = pd.DataFrame({"g": values, "y": range(len(values))})
    frame.to_csv(tmp_path / "data.csv", index=False)
    owner.datasets.register_version({"dataset": "d", "version": "1"}, system="release", file=tmp_path / "data.csv",
                                    copy=True)  # fmt: skip
    found = owner.datasets.column_values("d@1", "g")
    assert found[:3] == [("a", 5), ("b", 3), ("c", 3)]  # most frequent first, then by value; no missing value
    assert len(found) == registry.COLUMN_VALUES_MAX and found[3] == ("v000", 1)
    assert owner.datasets.column_values("d@1", "g", limit=2) == [("a", 5), ("b", 3)]
    sha = owner.datasets.get_version("d@1").artifact_sha256
    assert (sha, "g") in registry._VALUES
    with pytest.raises(InvalidInput, match="column 'nope' is not in dataset version d@1; columns: 'g', 'y'"):
        owner.datasets.column_values("d@1", "nope")
    with pytest.raises(InvalidInput, match="limit must be 1-200"):
        owner.datasets.column_values("d@1", "g", limit=0)
    with pytest.raises(NotFound):
        stranger.datasets.column_values("d@1", "g")
