"""Model extraction of a gradient boosting model on adult served over HTTP (``assay run extraction``), at the default
settings: budgets 50, 100, 200, 500, 1,000 and 2,000 queries, 1,000 held-out rows, both surrogates, the stated
agreement 0.95 and high exposure within 1,000 queries.

The model (scikit-learn's HistGradientBoostingClassifier on all 14 features, text ordinal-encoded) is trained on the
first 16,000 complete rows of adult.data and served by a real HTTP server (standard library, in a thread) speaking
the protocol of Assay's HTTP adapter. The attacker's public data is adult.test; agreement is judged on the rest of
adult.data. Once with the probabilities the endpoint gives, once with its labels only (``answers=label``). The
server counts the rows it answers, which must equal the queries the document reports.

Run: ``PYTHONPATH=src python benchmarks/extraction.py [--data /work/shared/data]``
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pandas as pd
from sklearn.compose import make_column_transformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OrdinalEncoder

from assay.adapters import HttpModel
from assay.services.compute import Inputs, compute

COLUMNS = ["age", "workclass", "fnlwgt", "education", "education-num", "marital-status", "occupation",
           "relationship", "race", "sex", "capital-gain", "capital-loss", "hours-per-week", "native-country",
           "income"]  # fmt: skip
FEATURES = COLUMNS[:-1]


def _read(path: Path, skip: int) -> pd.DataFrame:
    frame = pd.read_csv(path, names=COLUMNS, skipinitialspace=True, na_values="?", skiprows=skip)
    frame = frame.dropna().reset_index(drop=True)
    frame["income"] = frame["income"].str.rstrip(".")
    return frame


def serve(model: Any) -> tuple[ThreadingHTTPServer, str, list[int]]:
    answered: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            records = pd.DataFrame(json.loads(self.rfile.read(int(self.headers["Content-Length"])))["instances"])
            answered.append(len(records))
            body = json.dumps({"predictions": model.predict_proba(records[FEATURES])[:, 1].tolist()}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/predict", answered


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=Path("/work/shared/data"))
    args = parser.parse_args()
    frame = _read(args.data / "adult/adult.data", 0)
    public = _read(args.data / "adult/adult.test", 1)
    train, held = frame.iloc[:16_000], frame.iloc[16_000:].reset_index(drop=True)
    texts = [c for c in FEATURES if not pd.api.types.is_numeric_dtype(frame[c])]
    encode = make_column_transformer(
        (OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1), texts), remainder="passthrough"
    )
    booster = HistGradientBoostingClassifier(max_iter=200, random_state=0)
    model = make_pipeline(encode, booster).fit(train[FEATURES], train["income"] == ">50K")
    server, url, answered = serve(model)
    try:
        for answers in ("auto", "label"):
            before = sum(answered)
            start = time.perf_counter()
            doc = compute("extraction", Inputs(held, model=HttpModel(url, FEATURES), reference=public),
                          {"label": "income", "positive": ">50K", "answers": answers}).to_dict()  # fmt: skip
            seconds = time.perf_counter() - start
            r = doc["result"]
            assert sum(answered) - before == r["queries"]["total"], (sum(answered) - before, r["queries"])
            print(f"\n### answers={answers} ({r['answers']}): {seconds:.1f} s, {r['queries']['total']:,} queries "
                  f"({doc['model']['http']['requests']} requests), model accuracy {r['target_accuracy']}")  # fmt: skip
            print(f"{doc['status']}: {doc['summary']}\n")
            print("| budget | agreement [95% Wilson] | gb | linear | surrogate accuracy | mean probability error |")
            print("|---|---|---|---|---|---|")
            for p in r["curve"]:
                print(f"| {p['budget']:,} | {p['agreement']} {p['interval']} | {p['surrogates']['gb']} | "
                      f"{p['surrogates']['linear']} | {p['accuracy']} | {p['probability_error']} |")  # fmt: skip
    finally:
        server.shutdown()
        server.server_close()


if __name__ == "__main__":
    main()
