"""How to read each metric: parity value, sign and wording used by the HTML report."""

from __future__ import annotations

from dataclasses import dataclass

# ---- how to read the metrics --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Guide:
    parity: float  # the value that means "no bias"; drawn as the reference line
    signed: bool  # a signed difference or ratio (the CI excluding parity is flagged); False: a distance
    formula: str
    reading: str


_SAME = "0: facet d and facet a have the same label distribution; larger: more different."
_GUIDE: dict[str, _Guide] = {
    "CI": _Guide(
        0.0,
        True,
        "(n_a − n_d) / (n_a + n_d)",
        "−1 … 1. 0: both facets have as many rows. Positive: facet d has fewer rows (under-represented).",
    ),
    "DPL": _Guide(
        0.0,
        True,
        "q_a − q_d, q = share of positive labels",
        "−1 … 1. 0: parity. Positive: facet d has fewer positive labels than facet a.",
    ),
    "KL": _Guide(0.0, False, "KL(P_a ‖ P_d) of the label distributions", "≥ 0. " + _SAME),
    "JS": _Guide(0.0, False, "½ [KL(P_a ‖ P) + KL(P_d ‖ P)], P = ½ (P_a + P_d)", "0 … ln 2. " + _SAME),
    "LP": _Guide(0.0, False, "√ Σ_y (P_a(y) − P_d(y))²", "≥ 0. " + _SAME),
    "TVD": _Guide(0.0, False, "½ Σ_y |P_a(y) − P_d(y)|", "0 … 1. " + _SAME),
    "KS": _Guide(0.0, False, "max_y |P_a(y) − P_d(y)|", "0 … 1. " + _SAME),
    "CDDL": _Guide(
        0.0,
        True,
        "Σ_g n_g · DD_g / n; DD = share of facet d among the negative labels − among the positive labels",
        "−1 … 1. 0: no disparity within the groups. Positive: within the groups, facet d makes up more of "
        "the negative labels than of the positive ones.",
    ),
    "DPPL": _Guide(
        0.0,
        True,
        "q̂_a − q̂_d, q̂ = share of positive predictions",
        "−1 … 1. 0: parity. Positive: facet d gets fewer positive predictions than facet a.",
    ),
    "DI": _Guide(
        1.0,
        True,
        "q̂_d / q̂_a",
        "1: parity. Below 0.8 fails the four-fifths rule (facet d gets under 80 % of facet a's rate of "
        "positive predictions); above 1.25 is the same in reverse.",
    ),
    "DCA": _Guide(
        0.0,
        True,
        "c_a − c_d, c = positive labels / positive predictions",
        "0: parity. Negative: facet d gets fewer positive predictions than its labels warrant, compared with facet a.",
    ),
    "DCR": _Guide(
        0.0,
        True,
        "r_d − r_a, r = negative labels / negative predictions",
        "0: parity. Positive: facet d gets fewer negative predictions than its labels warrant, compared with facet a.",
    ),
    "RD": _Guide(
        0.0,
        True,
        "recall_a − recall_d",
        "0: parity. Positive: the model finds a smaller share of facet d's positives.",
    ),
    "SD": _Guide(
        0.0,
        True,
        "specificity_d − specificity_a (true negative rates)",
        "0: parity. Negative: facet d's negatives are more often predicted positive (more false positives).",
    ),
    "DAR": _Guide(
        0.0,
        True,
        "precision_a − precision_d",
        "0: parity. Positive: facet d's positive predictions are less often right.",
    ),
    "DRR": _Guide(
        0.0,
        True,
        "NPV_d − NPV_a, NPV = TN / (TN + FN)",
        "0: parity. Negative: facet d's negative predictions are less often right.",
    ),
    "AD": _Guide(0.0, True, "accuracy_a − accuracy_d", "0: parity. Positive: the model is less accurate for facet d."),
    "CDDPL": _Guide(
        0.0,
        True,
        "CDDL on the predicted labels",
        "−1 … 1. 0: no disparity within the groups. Positive: within the groups, facet d makes up more of "
        "the negative predictions than of the positive ones.",
    ),
    "TE": _Guide(
        0.0,
        True,
        "FN_d / FP_d − FN_a / FP_a",
        "0: both facets have the same ratio of false negatives to false positives. Positive: facet d's "
        "errors lean more towards false negatives.",
    ),
    "FT": _Guide(
        0.0,
        True,
        "(#d rows with ŷ = 1 whose facet-a neighbours get 0 − #d rows with ŷ = 0 whose neighbours get 1) / n_d",
        "−1 … 1. 0: facet d rows get the predictions of their nearest facet-a neighbours. Negative: facet d "
        "gets fewer positive predictions than similar facet-a rows.",
    ),
    "GE": _Guide(
        0.0,
        False,
        "generalized entropy (α = 2) of the benefit ŷ − y + 1 over all rows",
        "≥ 0. 0: every row gets the same benefit; larger: more unequal. It does not depend on the facet.",
    ),
}
_DEFAULT_GUIDE = _Guide(0.0, True, "", "")

_STAGES = {"pre_training": "Pre-training metrics", "post_training": "Post-training metrics"}
_STAGE_NOTES = {
    "pre_training": "Computed from the labels alone: is the data itself imbalanced between facet d and the rest?",
    "post_training": "Computed from the labels and the model's predictions: does the model treat facet d "
    "differently from the rest?",
}

_RATES: dict[str, str] = {
    "count": "Count",
    "share": "Share",
    "base_rate": "Base rate",
    "selection_rate": "Selection rate",
    "accuracy": "Accuracy",
    "precision": "Precision",
    "recall": "Recall (TPR)",
    "fpr": "FPR",
    "fnr": "FNR",
    "f1": "F1",
}
_RATE_NOTES: dict[str, str] = {
    "count": "rows with a label",
    "share": "share of all rows with a label",
    "base_rate": "share of positive labels",
    "selection_rate": "share of positive predictions",
    "accuracy": "(TP + TN) / n",
    "precision": "TP / (TP + FP)",
    "recall": "TP / (TP + FN), the true positive rate",
    "fpr": "FP / (FP + TN), the false positive rate",
    "fnr": "FN / (FN + TP), the false negative rate",
    "f1": "2 TP / (2 TP + FP + FN)",
}
