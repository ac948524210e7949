"""False alarms and detections of the poisoning indicators (``assay run poisoning``) at their defaults.

Clean data: every shared dataset with a label (no indicator should fire). Planted poisoning on adult.data: the labels
of a region flipped (a seed row's 100 nearest neighbours of one class given the other), a backdoor trigger (150
rows at random given a new workclass value and the label >50K), and an influential outlier (a row at random given
age 90, 99 hours a week and a capital loss of 4,000, or of 43,560 (10 times adult's largest), which predict >50K,
and the label <=50K).

Run: ``PYTHONPATH=src python benchmarks/poisoning.py [--data /work/shared/data]``
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from assay.privacy._data import design
from assay.privacy.poisoning import poisoning_indicators

ADULT = ["age", "workclass", "fnlwgt", "education", "education-num", "marital-status", "occupation", "relationship",
         "race", "sex", "capital-gain", "capital-loss", "hours-per-week", "native-country", "income"]  # fmt: skip


def datasets(root: Path) -> dict[str, tuple[pd.DataFrame, str]]:
    adult = pd.read_csv(root / "adult/adult.data", names=ADULT, skipinitialspace=True, na_values="?")
    compas = pd.read_csv(root / "compas/compas-scores-two-years.csv")
    compas = compas[["sex", "age", "race", "juv_fel_count", "juv_misd_count", "juv_other_count", "priors_count",
                     "c_charge_degree", "two_year_recid"]]  # fmt: skip
    return {
        "adult": (adult, "income"),
        "compas": (compas, "two_year_recid"),
        "german_credit": (pd.read_csv(root / "german_credit/german.csv"), "credit"),
        "bank_marketing": (pd.read_csv(root / "bank_marketing/bank-full.csv", sep=";"), "y"),
        "law_school": (pd.read_csv(root / "law_school/law_school_clean.csv"), "pass_bar"),
        "credit_card_default": (pd.read_csv(root / "credit_card_default/UCI_Credit_Card.csv").drop(columns="ID"), "Y"),
        "communities_crime": (pd.read_csv(root / "communities_crime/communities_crime.csv"), "class"),
    }


def flipped(frame: pd.DataFrame, label: str, size: int, seed: int) -> tuple[pd.DataFrame, set[int]]:
    rng = np.random.default_rng(seed)
    frame = frame.reset_index(drop=True).copy()
    features = [c for c in frame.columns if c != label]
    x = design(frame, features)
    low = np.flatnonzero((frame[label] == "<=50K").to_numpy())
    centre = int(rng.choice(low))
    distance = ((x[low] - x[centre]) ** 2).sum(axis=1)
    chosen = low[np.argsort(distance)[:size]]
    frame.loc[chosen, label] = ">50K"
    return frame, {int(i) for i in chosen}


def triggered(frame: pd.DataFrame, label: str, size: int, seed: int) -> tuple[pd.DataFrame, set[int]]:
    rng = np.random.default_rng(seed)
    frame = frame.reset_index(drop=True).copy()
    chosen = rng.choice(len(frame), size, replace=False)
    frame.loc[chosen, "workclass"] = "Trigger-gov"
    frame.loc[chosen, label] = ">50K"
    return frame, {int(i) for i in chosen}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=Path("/work/shared/data"))
    args = parser.parse_args()
    found = datasets(args.data)
    print("| data | rows examined | verdict | clusters | outliers | conflicting share (excess) | triggers | seconds |")
    print("|---|---|---|---|---|---|---|---|")
    for name, (frame, label) in found.items():
        start = time.perf_counter()
        doc = poisoning_indicators(frame, label=label).to_dict()
        r = doc["result"]
        sizes = ",".join(str(c["rows"]) for c in r["label_flip_clusters"])
        outliers, conflicts = r["influential_outliers"], r["conflicting_near_duplicates"]
        print(f"| {name} (clean) | {doc['data']['sampled']} | {doc['status']} | {len(r['label_flip_clusters'])} "
              f"{sizes} "
              f"| {outliers['rows']} (max {outliers['max_cook']}, leverage {outliers['max_leverage']}) | "
              f"{conflicts['share']:.4f} ({conflicts['excess_share']:.4f}) | "
              f"{len(r['trigger_candidates'])} | {time.perf_counter() - start:.1f} |")  # fmt: skip
    adult, label = found["adult"]
    adult = adult.dropna().reset_index(drop=True)
    for seed in range(3):
        frame, planted = flipped(adult, label, 100, seed)
        start = time.perf_counter()
        doc = poisoning_indicators(frame, label=label, sample=len(frame)).to_dict()
        clusters = doc["result"]["label_flip_clusters"]
        hit = max((len(planted & set(c["positions"])) for c in clusters), default=0)
        print(
            f"| adult, 100 labels flipped in a region (seed {seed}) | {doc['data']['sampled']} | {doc['status']} | "
            f"{len(clusters)} (largest holds {hit} of 100 flipped) | | | | {time.perf_counter() - start:.1f} |"
        )
        row = int(np.random.default_rng(seed).integers(len(adult)))
        for what, loss in (("capital loss 4,000", 4000), ("capital loss 10 times adult's largest", 43_560)):
            frame = adult.copy()
            frame.loc[row, ["age", "hours-per-week", "capital-loss"]] = [90, 99, loss]
            frame.loc[row, label] = "<=50K"  # against what its extreme values predict (>50K)
            start = time.perf_counter()
            doc = poisoning_indicators(frame, label=label, sample=len(frame)).to_dict()
            top = doc["result"]["influential_outliers"]
            print(
                f"| adult, one row at age 90, 99 hours, {what}, labelled <=50K (seed {seed}) | "
                f"{doc['data']['sampled']} | {doc['status']} | | {top['rows']} (max {top['max_cook']}; planted row "
                f"listed: {row in top['positions']}) | | | {time.perf_counter() - start:.1f} |"
            )
        frame, planted = triggered(adult, label, 150, seed)
        start = time.perf_counter()
        doc = poisoning_indicators(frame, label=label, sample=len(frame)).to_dict()
        triggers = doc["result"]["trigger_candidates"]
        names = ", ".join(f"{t['column']} ({t['rows']} rows)" for t in triggers)
        print(
            f"| adult, trigger value on 150 rows (seed {seed}) | {doc['data']['sampled']} | {doc['status']} | | | | "
            f"{len(triggers)}: {names} | {time.perf_counter() - start:.1f} |"
        )
    outliers_in_samples(adult, label)


def outliers_in_samples(adult: pd.DataFrame, label: str, rows: int = 1000, seeds: int = 10) -> None:
    """The influential-outlier indicator on random samples of ``rows`` rows of adult: clean, and with one row given
    age 90, 99 hours a week, a capital loss of 43,560 (10 times adult's largest) and the label <=50K."""
    alarms, found, alone = 0, 0, 0
    for seed in range(seeds):
        frame = adult.sample(rows, random_state=seed).reset_index(drop=True)
        alarms += poisoning_indicators(frame, label=label).to_dict()["result"]["influential_outliers"]["rows"] > 0
        row = int(np.random.default_rng(seed).integers(rows))
        frame.loc[row, ["age", "hours-per-week", "capital-loss"]] = [90, 99, 43_560]
        frame.loc[row, label] = "<=50K"
        top = poisoning_indicators(frame, label=label).to_dict()["result"]["influential_outliers"]
        found += row in top["positions"]
        alone += top["positions"] == [row]
    print(
        f"\nadult samples of {rows} rows: clean samples with an influential outlier {alarms}/{seeds}; the planted "
        f"row flagged {found}/{seeds} (the only row flagged {alone}/{seeds})"
    )


if __name__ == "__main__":
    main()
