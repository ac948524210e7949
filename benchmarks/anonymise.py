"""Anonymisation of 1,000,000 rows (``assay anonymise``): adult.data repeated with a unique person id and a
postcode, pseudonymised, generalised (age bands, postcode truncation, rare countries to other), suppressed at k=5,
with l-diversity of the income and the bias metrics of sex before and after. Target: under 30 s.

Run: ``PYTHONPATH=src python benchmarks/anonymise.py [--data /work/shared/data] [--rows 1000000]``
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from assay.services.anonymisation import anonymise, write_outputs

COLUMNS = ["age", "workclass", "fnlwgt", "education", "education-num", "marital-status", "occupation",
           "relationship", "race", "sex", "capital-gain", "capital-loss", "hours-per-week", "native-country",
           "income"]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=Path("/work/shared/data"))
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    adult = pd.read_csv(args.data / "adult/adult.data", names=COLUMNS, skipinitialspace=True, na_values="?")
    frame = pd.concat([adult] * (args.rows // len(adult) + 1), ignore_index=True).iloc[: args.rows]
    rng = np.random.default_rng(0)
    frame["person_id"] = np.arange(len(frame)).astype(str)
    frame["postcode"] = pd.Series(rng.integers(10_000, 99_999, len(frame))).astype(str)
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "people.parquet"
        frame.to_parquet(source, index=False)
        options = {
            "identifiers": ["person_id"],
            "generalise": {"age": "band:10", "postcode": "truncate:2", "native-country": "other:1000"},
            "quasi_identifiers": ["age", "postcode", "sex", "race", "native-country"],
            "k": 5, "sensitive": "income", "facet": "sex", "label": "income", "positive": ">50K",
        }  # fmt: skip
        start = time.perf_counter()
        result = anonymise(source, key=b"\x01" * 32, options=options)
        write_outputs(result, Path(folder) / "out")
        seconds = time.perf_counter() - start
    doc = result.to_dict()
    print(f"{len(frame):,} rows in {seconds:.1f} s (read, anonymise, measure, utility, write Parquet)")
    print(doc["summary"])
    print("before:", doc["result"]["before"])
    print("after:", doc["result"]["after"])


if __name__ == "__main__":
    main()
