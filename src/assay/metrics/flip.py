"""The flip test (FT): does a facet-d row get the prediction its facet-a neighbours get?"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from assay.metrics._neighbours import nearest

__all__ = ["flip_test"]


def _neighbour_votes(
    xa: NDArray[np.float64], ya: NDArray[np.bool_], xd: NDArray[np.float64], k: int
) -> NDArray[np.bool_]:
    """The majority prediction of each facet-d row's k nearest facet-a rows, as Clarify's k-NN gives it.

    ``nearest`` finds the neighbours exactly, on every core (see ``assay.metrics._neighbours``). Where the k
    nearest rows are unique, every exact search agrees; where the k-th and (k+1)-th distances tie, which row
    counts depends on the search, so those rows are asked of scikit-learn's ``KNeighborsClassifier`` with
    Clarify's settings instead.
    """
    from sklearn.neighbors import KNeighborsClassifier

    wanted = min(k + 1, len(xa))
    dist, idx = nearest(xa, xd, wanted)
    votes: NDArray[np.bool_] = ya[idx[:, :k]].sum(axis=1) * 2 > k  # k is odd: no tied votes
    tied = dist[:, k - 1] == dist[:, k] if wanted > k else np.zeros(len(xd), dtype=bool)
    if tied.any():
        knn = KNeighborsClassifier(n_neighbors=k, weights="uniform", p=2, metric="minkowski")
        knn.fit(xa, ya)
        votes[tied] = np.asarray(knn.predict(xd[tied]), dtype=bool)
    return votes


def flip_test(
    features: NDArray[np.float64], in_d: NDArray[np.bool_], predicted: NDArray[np.bool_]
) -> tuple[float | None, str | None]:
    """Clarify's FT: k-NN (k = 5, or 1 when facet a has <= 9 rows; Euclidean, unscaled) fitted on facet a.

    Returns ``(value, None)`` or ``(None, reason)``. Sign as Clarify's code:
    ``(#{d: yhat = 1, knn = 0} - #{d: yhat = 0, knn = 1}) / n_d``.
    """
    n_d = int(in_d.sum())
    n_a = int((~in_d).sum())
    if n_d == 0:
        return None, "facet d (the sensitive group) has no rows"
    if n_a == 0:
        return None, "facet a (every other row) has no rows"
    if features.shape[1] == 0:
        return None, "no numeric feature column for the nearest-neighbour search (give --features)"
    k = 5 if n_a > 9 else 1
    if_a = _neighbour_votes(features[~in_d], predicted[~in_d], features[in_d], k)
    model = predicted[in_d]
    flipped_pos = int(np.sum(model & ~if_a))
    flipped_neg = int(np.sum(~model & if_a))
    return (flipped_pos - flipped_neg) / n_d, None
