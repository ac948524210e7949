"""The whole ``assay assess`` process on a 10M-row Parquet file, against the same computation inside Python.

    python benchmarks/cli_assess.py                       # 10M rows; count metrics, then FT with the default limit
    python benchmarks/cli_assess.py --rows 1000000 --repeat 5 --modes count
    python benchmarks/cli_assess.py --modes ft-exact      # FT on every row (long at 10M: see RESULTS.md)

The data is benchmarks/bias.py's synthetic table (``facet``, ``group``, ``label``, ``pred``, ``score``, ``x0``..
``x9``), generated once into ``--data-dir`` (default ``benchmarks/.data``, ignored by git). For each mode it
times, each in a fresh child process:

* ``cli``: the whole ``assay assess DATA --label label --facet facet=1 --predicted pred --group group --out DIR
  ...`` process, from fork to exit (interpreter start-up, imports, the computation, the summary on screen, writing
  analysis.json, assessment.json and report.html); the FT cost it states on stderr is printed;
* ``python``: ``assay.services.assess(...)`` with the same arguments, timed inside a Python process after its
  imports (the first call, as the command makes it), and ``write_outputs`` apart.

Modes: ``count`` (the 20 count-based metrics with 1000-replicate intervals and the group performance: ``--metrics``
without FT), ``ft`` (FT alone on x0..x9 with the default row limit, ``ASSAY_FT_MAX_ROWS``) and ``ft-exact`` (FT
alone on every row, ``--ft-exact``). Peak memory is each child's own maximum resident set (``wait4``). The median
of ``--repeat`` runs is printed, with the ratio of the whole process to the in-Python call.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bias import COUNT_METRICS, FACET, FEATURES, GROUP, LABEL, PRED, generate  # noqa: E402

MODES = ("count", "ft", "ft-exact")

CHILD = """
import json, sys, time
t0 = time.perf_counter()
from assay.services import assess, write_outputs
from assay.frames import Facet, Label
import_s = time.perf_counter() - t0
kwargs = json.loads(sys.argv[1])
kwargs["label"] = Label(kwargs["label"], None, None)
kwargs["facets"] = [Facet(kwargs.pop("facet"), (1,), None)]
t = time.perf_counter()
report = assess(sys.argv[2], **kwargs)
assess_s = time.perf_counter() - t
t = time.perf_counter()
write_outputs(report, sys.argv[3])
write_s = time.perf_counter() - t
print(json.dumps({"import_s": import_s, "assess_s": assess_s, "write_s": write_s}))
"""


def cli_args(mode: str) -> list[str]:
    common = ["--label", LABEL, "--facet", f"{FACET}=1", "--predicted", PRED]
    if mode == "count":
        return [*common, "--group", GROUP, "--metrics", ",".join(COUNT_METRICS)]
    ft = [*common, "--metrics", "FT", "--features", ",".join(FEATURES), "--bootstrap", "0"]
    return [*ft, "--ft-exact"] if mode == "ft-exact" else ft


def python_kwargs(mode: str) -> dict[str, object]:
    common: dict[str, object] = {"label": LABEL, "facet": FACET, "predicted": PRED}
    if mode == "count":
        return {**common, "group": GROUP, "metrics": list(COUNT_METRICS), "bootstrap": 1000}
    ft: dict[str, object] = {**common, "metrics": ["FT"], "features": list(FEATURES), "bootstrap": 0}
    return {**ft, "ft_exact": True} if mode == "ft-exact" else ft


def run(line: list[str]) -> tuple[float, float, str, str]:
    """Wall seconds, peak RSS MiB, stdout and stderr of one child process."""
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        child = subprocess.Popen(line, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(child.pid, 0)
        elapsed = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(line[:4])} ... exited {child.returncode}: {stderr.strip()[-800:]}")
    return elapsed, usage.ru_maxrss / 1024, stdout, stderr


def assay_command() -> list[str]:
    script = Path(sys.executable).with_name("assay")
    if script.exists():
        return [sys.executable, str(script)]
    return [sys.executable, "-c", "import sys; from assay.cli import main; sys.exit(main(sys.argv[1:]))"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3, help="runs per mode and side (default 3; ft-exact: 1)")
    parser.add_argument("--modes", default="count,ft", help=f"comma-separated, of {', '.join(MODES)}")
    parser.add_argument("--data-dir", type=Path, default=HERE / ".data")
    options = parser.parse_args()
    modes = [m.strip() for m in options.modes.split(",") if m.strip()]
    if unknown := [m for m in modes if m not in MODES]:
        raise SystemExit(f"unknown mode {unknown[0]!r}: use {', '.join(MODES)}")
    options.data_dir.mkdir(parents=True, exist_ok=True)
    data = options.data_dir / f"bias-{options.rows}-seed{options.seed}.parquet"
    if not data.exists():
        started = time.perf_counter()
        generate(data, options.rows, options.seed)
        print(f"generated {data} ({data.stat().st_size / 2**20:.0f} MiB) in {time.perf_counter() - started:.1f} s")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, 1-min load average {os.getloadavg()[0]:.2f}")
    print(f"data: {data} ({options.rows:,} rows)")
    with tempfile.TemporaryDirectory() as tmp:
        for mode in modes:
            repeat = 1 if mode == "ft-exact" else options.repeat
            cli, cli_rss, cost = [], 0.0, ""
            for i in range(repeat):
                seconds, rss, _, stderr = run([*assay_command(), "assess", str(data), "--out", f"{tmp}/cli{i}",
                                               *cli_args(mode)])  # fmt: skip
                cli.append(seconds)
                cli_rss = max(cli_rss, rss)
                cost = cost or next((line for line in stderr.splitlines() if "FT cost" in line), "")
            inside, import_s, write_s, py_rss = [], [], [], 0.0
            for i in range(repeat):
                _, rss, stdout, _ = run([sys.executable, "-c", CHILD, json.dumps(python_kwargs(mode)), str(data),
                                         f"{tmp}/py{i}"])  # fmt: skip
                timing = json.loads(stdout.strip().splitlines()[-1])
                inside.append(timing["assess_s"])
                import_s.append(timing["import_s"])
                write_s.append(timing["write_s"])
                py_rss = max(py_rss, rss)
            whole, call = statistics.median(cli), statistics.median(inside)
            print(f"\n== {mode} (median of {repeat})")
            if cost:
                print(f"   stderr: {cost.strip()}")
            print(f"   assay assess, whole process    {whole:8.3f} s   peak RSS {cli_rss:7.0f} MiB   runs "
                  f"{', '.join(f'{t:.3f}' for t in cli)}")  # fmt: skip
            print(f"   assay.services.assess, in-Python {call:6.3f} s   peak RSS {py_rss:7.0f} MiB   runs "
                  f"{', '.join(f'{t:.3f}' for t in inside)}")  # fmt: skip
            print(f"   (imports {statistics.median(import_s):.3f} s, write_outputs "
                  f"{statistics.median(write_s):.3f} s, apart)")  # fmt: skip
            print(f"   ratio whole process / in-Python call: {whole / call:.2f}x")


if __name__ == "__main__":
    main()
