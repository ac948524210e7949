"""Each compute kind's options are declared once (its options model); the shells must not drift from it.

- the command line has an option for every field, with the model's default and help text (a default that is a
  setting, e.g. ASSAY_BOOTSTRAP_REPLICATES, is left to the model: the command's default is None);
- the server's request body of every kind IS the options model plus target fields;
- the settings reach ``assay assess`` (they used to be ignored: the command hard-coded 1000, 0.95, 0 and 30).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import typer

from assay.cli import main
from assay.cli.app import app
from assay.server.compute import BODIES
from assay.services.kinds import KINDS

#: option field -> the command-line option that carries it, where the command line writes it another way
ROLE_SYNTAX = {
    "label": "label",  # --label COL=V[,V...] | COL>T | COL carries label, positive and label_threshold
    "positive": "label",
    "label_threshold": "label",
    "facets": "facet",  # --facet COL | COL=V[,V...] | COL>T, repeatable
    "facet": "facet",
    "populations": "population",  # --population COLUMN=GROUP:SHARE,..., repeatable
    "comparison_threshold": "comparison_threshold",
}
#: options whose command-line form is a comma-separated or other text syntax (its help says so instead)
TEXT_SYNTAX = {"metrics", "features", "columns", "exclude", "show", "rows", "bounds"}
#: kinds run only through `assay run KIND` (no dedicated command: nothing to drift)
RUN_ONLY = {
    "model-quality",
    "bias-drift",
    "attribution-drift",
    "satisfaction",
    "membership-inference",
    "poisoning",
    "robustness",
    "adversarial",
    "explanation-stability",
    "extraction",
    "guard-block-rate",
}


def _command(kind: str) -> Any:
    """The click command of ``kind`` (Typer's own copy of click: typed loosely)."""
    group: Any = typer.main.get_command(app)
    context = group.make_context("assay", [], resilient_parsing=True)
    if kind == "genai-eval":
        evals = group.get_command(context, "eval")
        command = evals.get_command(evals.make_context("eval", [], resilient_parsing=True), "run")
    elif kind in ("bias", "explanations", "mitigation"):
        names = {"bias": "assess", "explanations": "explain", "mitigation": "mitigate"}
        command = group.get_command(context, names[kind])
    else:
        checks = group.get_command(context, "check")
        command = checks.get_command(checks.make_context("check", [], resilient_parsing=True), kind)
    assert command is not None, kind
    return command


@pytest.mark.parametrize("kind", sorted(set(KINDS) - RUN_ONLY))
def test_the_command_line_has_every_option_with_the_models_default_and_help(kind: str) -> None:
    options = KINDS[kind].options
    params = {p.name: p for p in _command(kind).params if p.param_type_name == "option"}
    for name in options.option_names():
        cli_name = ROLE_SYNTAX.get(name, name)
        assert cli_name in params, f"{kind}: no --{cli_name.replace('_', '-')} for the option {name!r}"
        if name in ROLE_SYNTAX or name in TEXT_SYNTAX:
            continue
        param = params[cli_name]
        if options.setting_of(name):
            assert param.default is None, f"{kind}: --{cli_name} must default to the setting, not {param.default!r}"
            assert param.help == options.help(name)
            continue
        declared = None if options.model_fields[name].is_required() else options.default(name)
        assert param.default == declared, f"{kind}: --{cli_name} defaults to {param.default!r}, the model {declared!r}"
        assert param.help == options.help(name), f"{kind}: --{cli_name}'s help differs from the model's"


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_the_request_body_is_the_options_model_and_the_target(kind: str) -> None:
    body, options = BODIES[kind], KINDS[kind].options
    assert issubclass(body, options)
    extra = set(body.model_fields) - set(options.model_fields)
    assert extra <= body.target_fields and extra, f"{kind}: fields that are neither options nor target: {extra}"
    for name in options.option_names():
        assert repr(body.model_fields[name]) == repr(options.model_fields[name]), f"{kind}: the body redeclares {name}"


def test_the_settings_reach_assay_assess(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(3)
    n = 400
    frame = pd.DataFrame({"y": rng.integers(0, 2, n), "sex": rng.choice(["F", "M"], n), "p": rng.integers(0, 2, n)})
    data = tmp_path / "d.csv"
    frame.to_csv(data, index=False)
    settings: dict[str, Any] = {"bootstrap_replicates": 7, "confidence": 0.8, "seed": 5, "min_group_size": 300}
    for name, value in settings.items():
        monkeypatch.setenv(f"ASSAY_{name.upper()}", str(value))
    out = tmp_path / "out"
    assert (
        main(["assess", str(data), "--label", "y", "--facet", "sex", "--predicted", "p", "--out", str(out), "-q"]) == 0
    )
    spec = json.loads((out / "assessment.json").read_text())["spec"]
    assert spec["bootstrap"] == {"replicates": 7, "confidence": 0.8, "seed": 5} and spec["min_group_size"] == 300
    given = tmp_path / "given"
    assert (
        main(["assess", str(data), "--label", "y", "--facet", "sex", "--bootstrap", "3", "--out", str(given), "-q"])
        == 0
    )
    assert json.loads((given / "assessment.json").read_text())["spec"]["bootstrap"]["replicates"] == 3  # option wins
