#!/usr/bin/env python3
"""Regenerate the smclarify expected values in tests/data/oracle/ (and, on request, tests/data/predictions/).

Runs under the ORACLE virtualenv (smclarify 0.5 + pandas 2.2.3 + scikit-learn), never under Assay's:

    /tmp/oracle/bin/python tests/oracle/make_expected.py                # everything
    /tmp/oracle/bin/python tests/oracle/make_expected.py --only real --cases compas_race
    /tmp/oracle/bin/python tests/oracle/make_expected.py --verify-only  # check the committed JSON

What it does
  * predictions: Adult, German credit and Bank marketing have no model output, so a fixed scikit-learn
    LogisticRegression (MODEL_SPECS below) is fitted once, in-sample, and its 0/1 predictions are
    committed to tests/data/predictions/<dataset>.txt. They are only rewritten with
    --retrain-predictions (or when missing); otherwise the committed file is used and a fresh fit is
    merely compared with it.
  * real cases (tests/support/oracle_cases.py REAL_CASES): ``load_real`` -> temp CSV -> the oracle CLI as a
    subprocess in ``--mode both --raw --basic-stats --model-performance`` (one-vs-all cases: report mode,
    plus one direct-mode run per facet value). A second oracle run without the group column gives the Flip
    Test on exactly ``case.features`` (the first run's FT fails on the string group column, as Clarify's would). Output:
    tests/data/oracle/real/<name>.json.
  * synthetic cases: ``synthetic_case(i)`` -> temp CSV -> the oracle's ``main()`` called in-process (same code
    path as the CLI, just without 240 interpreter start-ups) in ``--mode direct``. Output:
    tests/data/oracle/synthetic.json.

The output is deterministic (no timestamps, temp paths replaced by file names), so regenerating with the same
versions gives no diff.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib.util
import io
import json
import os
import pathlib
import platform
import shlex
import subprocess
import sys
import tempfile
from dataclasses import asdict
from importlib import metadata
from typing import Any

import numpy as np
import pandas as pd

HERE = pathlib.Path(__file__).resolve().parent
TESTS_DIR = HERE.parent
sys.path.insert(0, str(TESTS_DIR / "support"))  # oracle_cases needs only numpy and pandas

import oracle_cases as oc  # noqa: E402

PRE = ["CDDL", "CI", "DPL", "JS", "KL", "KS", "LP", "TVD"]
POST = ["AD", "CDDPL", "DAR", "DCA", "DCR", "DI", "DPPL", "DRR", "FT", "GE", "RD", "SD", "TE"]

# Deterministic in-sample LogisticRegression per dataset without predictions: (numeric, one-hot, positive).
MODEL_SPECS: dict[str, tuple[list[str], list[str], Any]] = {
    "adult": (
        ["age", "education-num", "hours-per-week", "capital-gain", "capital-loss"],
        ["sex", "race", "marital-status"],
        lambda raw: raw["income"] == ">50K",
    ),
    "german_credit": (
        ["month", "credit_amount", "age", "investment_as_income_percentage"],
        ["status", "credit_history", "savings", "personal_status"],
        lambda raw: raw["credit"] == 1,
    ),
    "bank_marketing": (
        ["age", "balance", "duration", "campaign", "pdays", "previous"],
        ["marital", "education", "housing", "loan", "poutcome"],
        lambda raw: raw["y"] == "yes",
    ),
}


def rel(path: pathlib.Path) -> str:
    try:
        return str(pathlib.Path(path).resolve().relative_to(oc.REPO_ROOT))
    except ValueError:
        return str(path)


def default_oracle() -> pathlib.Path:
    env = os.environ.get("ASSAY_ORACLE_SCRIPT")
    if env:
        return pathlib.Path(env).resolve()
    return (oc.shared_data_dir().parent / "reference" / "smclarify_oracle.py").resolve()


def versions(oracle: pathlib.Path) -> dict[str, str]:
    out = {"python": platform.python_version()}
    for dist in ("smclarify", "pandas", "numpy", "scikit-learn", "pyfunctional"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    out["smclarify_oracle.py_sha256"] = hashlib.sha256(oracle.read_bytes()).hexdigest()
    return out


def dump_json(obj: Any, path: pathlib.Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(obj, indent=1, allow_nan=False, ensure_ascii=False)
    path.write_text(text + "\n", encoding="utf-8")


def dump_synthetic(obj: dict[str, Any], path: pathlib.Path) -> None:
    """One case per line: compact, yet a regeneration diff shows which cases changed."""
    head = json.dumps(obj["generated_by"], indent=1, allow_nan=False, ensure_ascii=False)
    lines = [json.dumps(c, allow_nan=False, ensure_ascii=False, separators=(",", ":")) for c in obj["cases"]]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"generated_by": ' + head + ',\n"cases": [\n' + ",\n".join(lines) + "\n]}\n", encoding="utf-8")


# ------------------------------------------------------------------------------------------------ predictions


def train_predictions(dataset: str, shared_dir: pathlib.Path) -> np.ndarray:
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric, categorical, target = MODEL_SPECS[dataset]
    raw = oc.read_raw(dataset, shared_dir)
    X = raw[numeric + categorical]
    y = target(raw).to_numpy()
    model = make_pipeline(
        ColumnTransformer(
            [("num", StandardScaler(), numeric), ("cat", OneHotEncoder(handle_unknown="ignore"), categorical)]
        ),
        LogisticRegression(max_iter=5000),
    )
    model.fit(X, y)
    return model.predict(X).astype(np.int64)


def ensure_predictions(shared_dir: pathlib.Path, retrain: bool) -> dict[str, Any]:
    info = {}
    for dataset in oc.PREDICTED_DATASETS:
        fresh = train_predictions(dataset, shared_dir)
        path = oc.predictions_path(dataset)
        if retrain or not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            text = "".join(f"{v}\n" for v in fresh)
            path = oc.PREDICTIONS_DIR / f"{dataset}.txt"
            if len(text) > 200_000:
                import gzip

                path = oc.PREDICTIONS_DIR / f"{dataset}.txt.gz"
                path.write_bytes(gzip.compress(text.encode("ascii"), mtime=0))
            else:
                path.write_text(text, encoding="ascii")
            print(f"wrote {rel(path)} ({len(fresh)} rows, {fresh.mean():.4f} positive)")
        committed = oc.read_predictions(dataset)
        diff = int((committed != fresh).sum()) if len(committed) == len(fresh) else -1
        if diff:
            print(f"WARNING {rel(path)}: a fresh fit differs in {diff} rows; keeping the committed file")
        numeric, categorical, _ = MODEL_SPECS[dataset]
        info[dataset] = {
            "file": rel(path),
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "rows": len(committed),
            "positive": int(committed.sum()),
            "model": "sklearn Pipeline(ColumnTransformer(StandardScaler(numeric), "
            "OneHotEncoder(categorical)), "
            "LogisticRegression(max_iter=5000)) fitted in-sample on all rows; predict() -> 0/1",
            "numeric": numeric,
            "categorical": categorical,
        }
    return info


# ------------------------------------------------------------------------------------------------ helpers


def write_csv(frame: pd.DataFrame, path: pathlib.Path) -> str:
    """Write the frame as the oracle will read it; check the round trip; return the CSV's sha256."""
    frame.to_csv(path, index=False)
    back = pd.read_csv(path)
    if list(back.columns) != list(frame.columns) or len(back) != len(frame):
        raise AssertionError(f"{path.name}: CSV round trip changed the shape")
    for col in frame.columns:
        a, b = frame[col], back[col]
        if pd.api.types.is_numeric_dtype(a):
            if a.dtype.kind != b.dtype.kind or not np.array_equal(a.to_numpy(), b.to_numpy()):
                raise AssertionError(f"{path.name}: column {col!r} changed in the CSV round trip")
        elif not (a.astype(str).to_numpy() == b.astype(str).to_numpy()).all() or b.dtype.kind != "O":
            raise AssertionError(f"{path.name}: column {col!r} changed in the CSV round trip")
    return hashlib.sha256(path.read_bytes()).hexdigest()


def ft_tie_diagnostics(X: np.ndarray, d: np.ndarray, yhat: np.ndarray, chunk: int = 128) -> dict[str, Any]:
    """How much FT can depend on how the kNN breaks distance ties.

    For each facet-d row: k = 5 if n_a > 9 else 1 (smclarify); dk = k-th smallest squared distance to facet-a
    rows (computed exactly for integer features). A row has a *boundary tie* when more rows sit at dk than the
    k - #(dist < dk) slots left; its vote is *ambiguous* when some choice of tied rows gives a different
    majority. Each ambiguous row can move FT's numerator by at most 1, so any correct kNN implementation lies
    within ``max_abs_ft_deviation`` = ambiguous / n_d of the oracle's value.
    """
    X = np.asarray(X, dtype=np.float64)
    d = np.asarray(d, dtype=bool)
    yhat = np.asarray(yhat, dtype=bool)
    Xa, ya, Xd = X[~d], yhat[~d], X[d]
    if len(Xa) == 0 or len(Xd) == 0:
        return {
            "k": None,
            "n_d": len(Xd),
            "rows_with_boundary_tie": 0,
            "rows_with_ambiguous_vote": 0,
            "max_abs_ft_deviation": 0.0,
        }
    k = 5 if len(Xa) > 9 else 1
    tied = ambiguous = 0
    for s in range(0, len(Xd), chunk):
        q = Xd[s : s + chunk]
        dist = ((q[:, None, :] - Xa[None, :, :]) ** 2).sum(-1)
        dk = np.partition(dist, k - 1, axis=1)[:, k - 1][:, None]
        closer, at = dist < dk, dist == dk
        slots = k - closer.sum(1)
        pos_closer = (closer & ya).sum(1)
        pos_at, neg_at = (at & ya).sum(1), (at & ~ya).sum(1)
        tied += int((at.sum(1) > slots).sum())
        lo = pos_closer + np.maximum(0, slots - neg_at)
        hi = pos_closer + np.minimum(slots, pos_at)
        ambiguous += int(((2 * lo > k) != (2 * hi > k)).sum())
    return {
        "k": k,
        "n_d": len(Xd),
        "rows_with_boundary_tie": tied,
        "rows_with_ambiguous_vote": ambiguous,
        "max_abs_ft_deviation": ambiguous / len(Xd),
    }


def run_cli(argv: list[str], python: str) -> dict[str, Any]:
    proc = subprocess.run([python, *argv], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"oracle failed ({proc.returncode}): {shlex.join(argv)}\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout)


def display_cmd(argv: list[str], csv: pathlib.Path, oracle: pathlib.Path) -> str:
    shown = [("smclarify_oracle.py" if a == str(oracle) else csv.name if a == str(csv) else a) for a in argv]
    return "python " + shlex.join(shown)


def scrub_inputs(out: dict[str, Any], csv: pathlib.Path) -> dict[str, Any]:
    if "inputs" in out and out["inputs"].get("csv") == str(csv):
        out["inputs"]["csv"] = csv.name
    return out


# ------------------------------------------------------------------------------------------------ real cases


def facet_args(case: oc.RealCase, value: Any = None) -> list[str]:
    if case.facet_threshold is not None:
        t = repr(float(case.facet_threshold))
        # report mode: one numeric value on a CONTINUOUS (float) column is a threshold;
        # direct mode: --facet-threshold
        return ["--facet-values", t, "--facet-threshold", t]
    values = case.facet_values if value is None else [value]
    return ["--facet-values", *[str(v) for v in values]] if values else []


def real_case(
    case: oc.RealCase, shared_dir: pathlib.Path, oracle: pathlib.Path, tmp: pathlib.Path, vers: dict[str, str]
) -> dict[str, Any]:
    frame = oc.load_real(case, shared_dir)
    expected_cols = [case.facet, case.label, case.predicted, case.group, *case.features]
    assert list(frame.columns) == expected_cols, (list(frame.columns), expected_cols)
    csv = tmp / f"{case.name}.csv"
    sha = write_csv(frame, csv)
    py = sys.executable
    base = [
        str(oracle),
        str(csv),
        "--label",
        case.label,
        "--label-values",
        *[str(v) for v in case.label_values],
        "--facet",
        case.facet,
        "--predicted-label",
        case.predicted,
    ]
    one_vs_all = case.facet_values is None and case.facet_threshold is None
    mode = "report" if one_vs_all else "both"
    main_argv = [
        *base,
        *facet_args(case),
        "--group",
        case.group,
        "--mode",
        mode,
        "--raw",
        "--basic-stats",
        "--model-performance",
    ]
    print(f"  {case.name}: {display_cmd(main_argv, csv, oracle)}", flush=True)
    out = scrub_inputs(run_cli(main_argv, py), csv)
    generated_by = {
        "script": "tests/oracle/make_expected.py",
        "command": display_cmd(main_argv, csv, oracle),
        "versions": vers,
    }

    # one-vs-all: direct mode needs explicit values -> one run per facet value
    facet_values = [v for v in pd.unique(frame[case.facet]) if not pd.isna(v)]
    if one_vs_all:
        out["direct_by_value"] = {}
        generated_by["direct_commands"] = {}
        for v in facet_values:
            argv = [*base, *facet_args(case, v), "--group", case.group, "--mode", "direct"]
            res = run_cli(argv, py)
            out["direct_by_value"][str(v)] = res["direct"]
            generated_by["direct_commands"][str(v)] = display_cmd(argv, csv, oracle)

    # Flip Test on exactly case.features: drop the (string) group column, no CDD
    ft_argv = [*base, *facet_args(case), "--drop-columns", case.group, "--mode", mode]
    ft_out = run_cli(ft_argv, py)
    ft: dict[str, Any] = {
        "command": display_cmd(ft_argv, csv, oracle),
        "features": list(case.features),
        "report": {vot: m.get("FT") for vot, m in ft_out["report"]["post_training"].items()},
        "report_errors": {
            vot: e["FT"] for vot, e in ft_out["report"]["errors"].get("post_training", {}).items() if "FT" in e
        },
    }
    if not one_vs_all:
        ft["direct"] = ft_out["direct"]["post_training"].get("FT")
        ft["direct_error"] = ft_out["direct"]["errors"].get("post_training", {}).get("FT")
    else:
        ft["direct_by_value"] = {}
        for v in facet_values:
            argv = [
                *base,
                *facet_args(case, v),
                "--drop-columns",
                case.group,
                "--mode",
                "direct",
                "--skip",
                *[m for m in PRE + POST if m != "FT"],
            ]
            res = run_cli(argv, py)
            ft["direct_by_value"][str(v)] = res["direct"]["post_training"].get("FT")

    # tie diagnostics of the kNN behind FT
    X = frame[case.features].to_numpy()
    yhat = frame[case.predicted].isin(case.label_values).to_numpy()
    if case.facet_threshold is not None:
        masks = {"d": frame[case.facet].to_numpy() > case.facet_threshold}
    elif one_vs_all:
        masks = {str(v): (frame[case.facet] == v).to_numpy() for v in facet_values}
    else:
        masks = {"d": frame[case.facet].isin(case.facet_values).to_numpy()}
    ft["tie_diagnostics"] = {key: ft_tie_diagnostics(X, m, yhat) for key, m in masks.items()}
    if not one_vs_all:
        ft["tie_diagnostics"] = ft["tie_diagnostics"]["d"]
    out["flip_test"] = ft

    result = {
        "generated_by": generated_by,
        "case": asdict(case),
        "frame": {
            "rows": len(frame),
            "columns": list(frame.columns),
            "dtypes": {c: str(t) for c, t in frame.dtypes.items()},
            "csv_sha256": sha,
        },
    }
    result.update(out)
    return result


# ------------------------------------------------------------------------------------------------ synthetic


def load_oracle_module(oracle: pathlib.Path):
    spec = importlib.util.spec_from_file_location("smclarify_oracle", oracle)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def synthetic(oracle: pathlib.Path, tmp: pathlib.Path, vers: dict[str, str]) -> dict[str, Any]:
    mod = load_oracle_module(oracle)
    cases = []
    for i in range(oc.N_SYNTHETIC):
        frame, spec = oc.synthetic_case(i)
        assert list(frame.columns) == oc.SYNTHETIC_COLUMNS
        csv = tmp / f"synthetic_{i}.csv"
        write_csv(frame, csv)
        argv = [
            str(csv),
            "--label",
            "label",
            "--label-values",
            "1",
            "--facet",
            "facet",
            "--facet-values",
            *[str(v) for v in spec["facet_values"]],
            "--predicted-label",
            "pred",
            "--group",
            "group",
            "--mode",
            "direct",
        ]
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            rc = mod.main(argv)
        if rc != 0:
            raise RuntimeError(f"oracle main() returned {rc} for synthetic case {i}")
        out = json.loads(buf.getvalue())
        cases.append(
            {
                "i": i,
                "scenario": spec["scenario"],
                "facet_values": spec["facet_values"],
                "command": "python smclarify_oracle.py " + shlex.join([csv.name, *argv[1:]]),
                "properties": spec["properties"],
                "ft_tie_diagnostics": ft_tie_diagnostics(
                    frame[spec["features"]].to_numpy(),
                    frame["facet"].isin(spec["facet_values"]).to_numpy(),
                    (frame["pred"] == 1).to_numpy(),
                ),
                "direct": out["direct"],
            }
        )
        if i % 40 == 0:
            print(f"  synthetic {i}/{oc.N_SYNTHETIC}", flush=True)
    return {
        "generated_by": {
            "script": "tests/oracle/make_expected.py",
            "how": "tests/support/oracle_cases.py synthetic_case(i) written to synthetic_<i>.csv, then "
            "smclarify_oracle.main(argv)"
            " called in-process (identical to the CLI) with the per-case 'command'; FT's kNN features in"
            " direct mode are group, x1, x2",
            "n_cases": oc.N_SYNTHETIC,
            "versions": vers,
        },
        "cases": cases,
    }


# ------------------------------------------------------------------------------------------------ verify


def _check_stage(section: dict[str, Any], stage: str, names: list[str], where: str, problems: list[str]) -> None:
    vals = section.get(stage, {})
    errs = section.get("errors", {}).get(stage, {})
    for m in names:
        v = vals.get(m)
        if v is None and m not in errs:
            problems.append(f"{where}: {stage} {m} has neither a value nor an error")
        if v is not None and not isinstance(v, (int, float)) and v not in ("Infinity", "-Infinity", "NaN"):
            problems.append(f"{where}: {stage} {m} has odd value {v!r}")


def verify(names: list[str] | None = None, synthetic_too: bool = True) -> list[str]:
    problems: list[str] = []
    for case in oc.REAL_CASES:
        if names and case.name not in names:
            continue
        path = oc.REAL_EXPECTED_DIR / f"{case.name}.json"
        if not path.exists():
            problems.append(f"missing {rel(path)}")
            continue
        data = json.loads(path.read_text(encoding="utf-8"))
        assert "generated_by" in data
        rep = data["report"]
        if not rep["pre_training"]:
            problems.append(f"{case.name}: empty report")
        for vot in rep["pre_training"]:
            _check_stage(
                {
                    "pre_training": rep["pre_training"][vot],
                    "errors": {"pre_training": rep["errors"]["pre_training"].get(vot, {})},
                },
                "pre_training",
                PRE,
                f"{case.name} report[{vot}]",
                problems,
            )
            _check_stage(
                {
                    "post_training": rep["post_training"][vot],
                    "errors": {"post_training": rep["errors"]["post_training"].get(vot, {})},
                },
                "post_training",
                POST,
                f"{case.name} report[{vot}]",
                problems,
            )
        directs = data.get("direct_by_value") or {"": data.get("direct")}
        for key, direct in directs.items():
            if direct is None:
                problems.append(f"{case.name}: no direct results")
                continue
            _check_stage(direct, "pre_training", PRE, f"{case.name} direct{key}", problems)
            _check_stage(direct, "post_training", POST, f"{case.name} direct{key}", problems)
        ft = data["flip_test"]
        for vot, v in ft["report"].items():
            if v is None and vot not in ft["report_errors"]:
                problems.append(f"{case.name}: flip_test report[{vot}] missing")
    if synthetic_too:
        if not oc.SYNTHETIC_EXPECTED.exists():
            problems.append(f"missing {rel(oc.SYNTHETIC_EXPECTED)}")
        else:
            data = json.loads(oc.SYNTHETIC_EXPECTED.read_text(encoding="utf-8"))
            if len(data["cases"]) != oc.N_SYNTHETIC:
                problems.append(f"synthetic.json has {len(data['cases'])} cases, expected {oc.N_SYNTHETIC}")
            for c in data["cases"]:
                _check_stage(c["direct"], "pre_training", PRE, f"synthetic[{c['i']}]", problems)
                _check_stage(c["direct"], "post_training", POST, f"synthetic[{c['i']}]", problems)
                if "FT" not in c["direct"]["post_training"]:
                    problems.append(f"synthetic[{c['i']}]: FT absent")
                _, spec = oc.synthetic_case(c["i"])
                if spec["properties"] != c["properties"] or spec["facet_values"] != c["facet_values"]:
                    problems.append(f"synthetic[{c['i']}]: synthetic_case() no longer matches the JSON")
    return problems


# ------------------------------------------------------------------------------------------------ main


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--shared-dir", type=pathlib.Path, default=None, help="default: $ASSAY_SHARED_DATA or ../shared/data"
    )
    p.add_argument(
        "--oracle",
        type=pathlib.Path,
        default=None,
        help="smclarify_oracle.py (default: $ASSAY_ORACLE_SCRIPT or <shared>/../reference/)",
    )
    p.add_argument("--only", choices=["real", "synthetic"], default=None)
    p.add_argument("--cases", nargs="*", default=None, help="real case names to regenerate")
    p.add_argument("--retrain-predictions", action="store_true", help="overwrite tests/data/predictions/*.txt")
    p.add_argument("--verify-only", action="store_true")
    args = p.parse_args(argv)

    if args.verify_only:
        problems = verify(args.cases)
        print("\n".join(problems) or "OK: all expected files complete")
        return 1 if problems else 0

    shared_dir = (args.shared_dir or oc.shared_data_dir()).resolve()
    oracle = (args.oracle or default_oracle()).resolve()
    import smclarify  # noqa: F401  (fail early outside the oracle venv)

    vers = versions(oracle)
    print(f"oracle {oracle}\nshared data {shared_dir}\nversions {vers}", flush=True)
    with tempfile.TemporaryDirectory(prefix="assay-oracle-") as tmpname:
        tmp = pathlib.Path(tmpname)
        if args.only in (None, "real"):
            pred_info = ensure_predictions(shared_dir, args.retrain_predictions)
            for case in oc.REAL_CASES:
                if args.cases and case.name not in args.cases:
                    continue
                result = real_case(case, shared_dir, oracle, tmp, vers)
                if case.dataset in pred_info:
                    result["generated_by"]["predictions"] = pred_info[case.dataset]
                else:
                    result["generated_by"]["predictions"] = {
                        "rule": "decile_score >= 5 -> 1 (ProPublica: score_text Medium/High)"
                    }
                dump_json(result, oc.REAL_EXPECTED_DIR / f"{case.name}.json")
        if args.only in (None, "synthetic"):
            dump_synthetic(synthetic(oracle, tmp, vers), oc.SYNTHETIC_EXPECTED)
    problems = verify(args.cases, synthetic_too=args.only in (None, "synthetic"))
    print("\n".join(problems) or "OK: all expected files complete")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
