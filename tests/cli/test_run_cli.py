"""``assay run KIND DATA --set NAME=VALUE``: any registered kind from the command line, options by name, with the
same results as its dedicated command."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from assay.cli import main


@pytest.fixture
def data(tmp_path: Path) -> Path:
    rng = np.random.default_rng(5)
    n = 400
    frame = pd.DataFrame({"y": rng.integers(0, 2, n), "sex": rng.choice(["F", "M"], n), "p": rng.integers(0, 2, n)})
    path = tmp_path / "d.csv"
    frame.to_csv(path, index=False)
    return path


def _json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> dict[str, object]:
    assert main(argv) == 0
    return dict(json.loads(capsys.readouterr().out))


def test_run_gives_the_dedicated_commands_results(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    by_run = _json(capsys, ["run", "duplicates", str(data), "--set", "columns=sex,y", "--json"])
    by_check = _json(capsys, ["check", "duplicates", str(data), "--columns", "sex,y", "--json"])
    assert (by_run["status"], by_run["summary"], by_run["result"]) == (
        by_check["status"],
        by_check["summary"],
        by_check["result"],
    )
    out = tmp_path / "run"
    assert main(["run", "bias", str(data), "--set", "label=y", "--set", "facets=sex", "--set", "predicted=p",
                 "--set", "bootstrap=0", "--out", str(out), "-q"]) == 0  # fmt: skip
    assessed = tmp_path / "assess"
    assert main(["assess", str(data), "--label", "y", "--facet", "sex", "--predicted", "p", "--bootstrap", "0",
                 "--out", str(assessed), "-q"]) == 0  # fmt: skip
    ran, direct = (json.loads((folder / "assessment.json").read_text()) for folder in (out, assessed))
    assert ran["facets"] == direct["facets"] and ran["spec"] == direct["spec"]
    capsys.readouterr()  # the paths both printed
    populations = '{"populations": {"sex": {"F": 0.5, "M": 0.5}}}'
    assert _json(capsys, ["run", "representativeness", str(data), "--options", populations, "--json"])["check"] == (
        "representativeness"
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "magic", "{data}"], "unknown compute kind 'magic'"),
        (["run", "pii", "{data}", "--set", "nope=1"], "--set nope: not an option of this kind"),
        (["run", "pii", "{data}", "--set", "sample"], "write NAME=VALUE"),
        (
            ["run", "bias", "{data}", "--set", "label=y", "--set", "facets=sex", "--set", "bootstrap=-1"],
            "bootstrap must be at least 0 (given -1)",
        ),
        (["run", "bias", "{data}", "--set", "facets=sex"], "label is required"),
        (["run", "explanations", "{data}", "--set", "label=y"], "needs a model: give --model"),
        (["run", "pii", "{data}", "--options", "[1]"], "--options: give a JSON object"),
    ],
)
def test_bad_options_exit_2_naming_them(
    data: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main([a.format(data=data) for a in argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1, err


def test_a_kind_whose_facet_is_a_column_name_takes_it_from_set(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--set facet=g`` is a plain column name for explanation-stability (and robustness), a role elsewhere."""
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(300, 4)), columns=["a", "b", "c", "d"])
    frame["g"] = rng.choice(["u", "v"], 300)
    frame["y"] = (frame["a"] > 0).astype(int)
    frame.to_csv(tmp_path / "d.csv", index=False)
    sio.dump(LogisticRegression().fit(frame[["a", "b", "c", "d"]], frame["y"]), tmp_path / "m.skops")
    argv = ["run", "explanation-stability", str(tmp_path / "d.csv"), "--model", str(tmp_path / "m.skops"),
            "--set", "facet=g", "--set", "sample=40", "--set", "bootstrap=50", "--out", str(tmp_path / "out"),
            "--json"]  # fmt: skip
    document = _json(capsys, argv)
    assert document["spec"]["facet"] == "g" and {g["value"] for g in document["result"]["groups"]} == {"u", "v"}
    assert (tmp_path / "out" / "report.html").is_file()
