"""How long the ``assay`` command takes to start: each command run N times, each in a fresh process.

    python benchmarks/cli_startup.py                # assay --help, assay assess --help, assay audit --help
    python benchmarks/cli_startup.py --repeat 20 -- control list --help
    python benchmarks/cli_startup.py --importtime   # also the slowest imports of each command (python -X importtime)

The time is the whole process, from fork to exit (interpreter start-up, imports, parsing, the help text), measured
with ``time.perf_counter`` around ``subprocess.run``; the median, the fastest and the slowest of N runs are printed,
after one unmeasured run that warms the page cache and the bytecode cache. The command is the ``assay`` script
installed next to this Python when there is one (as a user runs it), else ``python -c "from assay.cli import main
..."``; ``PYTHONPATH`` passes through, so ``PYTHONPATH=src`` measures a checkout. The target (issue 12) is
``assay --help`` under 0.3 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

COMMANDS = [["--help"], ["assess", "--help"], ["audit", "--help"]]


def command_line(args: list[str]) -> list[str]:
    script = Path(sys.executable).with_name("assay")
    if script.exists():
        return [sys.executable, str(script), *args]
    return [sys.executable, "-c", "import sys; from assay.cli import main; sys.exit(main(sys.argv[1:]))", *args]


def time_once(args: list[str], extra: list[str] | None = None) -> tuple[float, str]:
    line = command_line(args)
    if extra:
        line = [line[0], *extra, *line[1:]]
    started = time.perf_counter()
    done = subprocess.run(line, capture_output=True, text=True, env={**os.environ, "COLUMNS": "100"}, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"`assay {' '.join(args)}` exited {done.returncode}: {done.stderr.strip()[-500:]}")
    return elapsed, done.stderr


def slowest_imports(args: list[str], top: int) -> list[tuple[int, str]]:
    """The ``top`` imports with the largest cumulative time (microseconds), as ``python -X importtime`` reports."""
    _, stderr = time_once(args, ["-X", "importtime"])
    rows = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _self, cumulative, name = line.split("|", 2)
        rows.append((int(cumulative), name.rstrip()))
    return sorted(rows, reverse=True)[:top]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15, help="runs per command (default 15)")
    parser.add_argument("--importtime", action="store_true", help="also list each command's slowest imports")
    parser.add_argument("--top", type=int, default=12, help="how many imports --importtime lists")
    parser.add_argument("args", nargs="*", help="one command to time instead of the default three (after --)")
    options = parser.parse_args()
    commands = [options.args] if options.args else COMMANDS
    load = os.getloadavg()[0]
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, 1-min load average {load:.2f}")
    print(f"command: {' '.join(command_line(['...']))}")
    print(f"{'command':<28} {'median s':>9} {'min s':>7} {'max s':>7}  runs")
    for args in commands:
        time_once(args)  # warm-up
        times = [time_once(args)[0] for _ in range(options.repeat)]
        name = "assay " + " ".join(args)
        print(f"{name:<28} {statistics.median(times):>9.3f} {min(times):>7.3f} {max(times):>7.3f}  {len(times)}")
        if options.importtime:
            for cumulative, module in slowest_imports(args, options.top):
                print(f"    {cumulative / 1e6:7.3f} s  {module}")


if __name__ == "__main__":
    main()
