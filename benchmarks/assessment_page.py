"""Size and server time of an adult-sized bias assessment's page in the app's layout, against the stand-alone report.

    PYTHONPATH=src python benchmarks/assessment_page.py /work/shared/data [--repeat 7]

The adult census data (``adult/adult.data``, complete rows: 30,162) with a random score column is assessed with
facets sex and race and their intersections (bootstrap intervals at the settings' default); the document is
recorded in a new workspace in a temporary folder, and each page is asked through the real app in process
(``TestClient``, logged in as an administrator): once unmeasured, then ``--repeat`` times. Printed per page: its
status, size and the median time (``time.perf_counter`` around the request).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

COLUMNS = ["age", "workclass", "fnlwgt", "education", "education-num", "marital-status", "occupation",
           "relationship", "race", "sex", "capital-gain", "capital-loss", "hours-per-week", "native-country",
           "income"]  # fmt: skip
PASSWORD = "a password long enough"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="the shared data folder (with adult/adult.data)")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    import numpy as np
    import pandas as pd
    from fastapi.testclient import TestClient

    import assay
    from assay.config import load_settings
    from assay.server import create_app
    from assay.services.workspace import Workspace

    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        frame = pd.read_csv(args.data / "adult" / "adult.data", names=COLUMNS, skipinitialspace=True, na_values="?")
        frame = frame.dropna()
        frame["score"] = np.random.default_rng(0).random(len(frame))
        frame.to_csv(folder / "adult.csv", index=False)
        started = time.perf_counter()
        report = assay.assess(folder / "adult.csv", label="income", positive=">50K", facets=["sex", "race"],
                              score="score", intersect=True)  # fmt: skip
        print(f"assessed {len(frame):,} rows in {time.perf_counter() - started:.1f} s")
        ws = Workspace.init(folder / "ws", load_settings(actor="bench", workspace=None))
        ws.settings.workers = 0
        ws.systems.create({"name": "adult", "eu_ai_act_category": "high", "annex_iii_area": 4})
        recorded = ws.assessments.record("adult", report.to_dict())
        ws.access.add_user("admin", PASSWORD, role="admin")
        with TestClient(create_app(ws, secure_cookies=False)) as client:
            client.post("/login", data={"name": "admin", "password": PASSWORD})
            base = f"/systems/adult/assessments/{recorded.id}"
            for path in (base, f"{base}.json", f"{base}/report", "/static/plotly.min.js"):
                client.get(path)
                times = []
                for _ in range(args.repeat):
                    started = time.perf_counter()
                    answer = client.get(path)
                    times.append(time.perf_counter() - started)
                cache = answer.headers.get("cache-control")
                size, median = len(answer.content) / 1024, 1000 * statistics.median(times)
                print(f"{path}: {answer.status_code}, {size:,.0f} KiB, median {median:.0f} ms, Cache-Control {cache}")
        ws.close()


if __name__ == "__main__":
    main()
