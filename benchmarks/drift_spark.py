"""Per-row cost of the drift check's summaries on Spark (local mode) and on DuckDB, for the 100M-row plan in
docs/drift.md. Reads the Parquet files benchmarks/drift.py writes (run it first).

    PYTHONPATH=src python benchmarks/drift_spark.py [--rows 1000000] [--cores 2]

Spark's time is wall-clock (the JVM and the Python workers are other processes); DuckDB's is this process's CPU.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--cores", type=int, default=2)
    args = parser.parse_args()
    path = HERE / ".data" / f"drift_cur_{args.rows}.parquet"
    if not path.exists():
        sys.exit(f"{path} is missing: run benchmarks/drift.py --rows {args.rows} first")
    from assay.checks.sketches import summarise

    cpu = time.process_time()
    summarise(path)
    duck = time.process_time() - cpu
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master(f"local[{args.cores}]")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.memory", "2g")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    frame = spark.read.parquet(str(path)).repartition(args.cores * 4).cache()
    frame.count()
    summarise(frame.limit(1000))  # start the Python workers
    wall = time.perf_counter()
    summary = summarise(frame)
    spark_wall = time.perf_counter() - wall
    spark.stop()
    assert summary.rows == args.rows
    print(f"{args.rows} rows x 25 columns")
    print(f"DuckDB: {duck:.2f} s CPU, {duck / args.rows * 1e9:.0f} ns CPU per row")
    print(f"Spark local[{args.cores}]: {spark_wall:.2f} s wall, {spark_wall * args.cores / args.rows * 1e9:.0f} "
          "ns core-time per row (wall x cores)")  # fmt: skip


if __name__ == "__main__":
    main()
