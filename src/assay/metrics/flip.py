"""The flip test (FT): does a facet-d row get the prediction its facet-a neighbours get?"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["flip_test"]


def flip_test(
    features: NDArray[np.float64], in_d: NDArray[np.bool_], predicted: NDArray[np.bool_]
) -> tuple[float | None, str | None]:
    """Clarify's FT: k-NN (k = 5, or 1 when facet a has <= 9 rows; Euclidean, unscaled) fitted on facet a.

    Returns ``(value, None)`` or ``(None, reason)``. Sign as Clarify's code:
    ``(#{d: yhat = 1, knn = 0} - #{d: yhat = 0, knn = 1}) / n_d``.
    """
    from sklearn.neighbors import KNeighborsClassifier

    n_d = int(in_d.sum())
    n_a = int((~in_d).sum())
    if n_d == 0:
        return None, "facet d (the sensitive group) has no rows"
    if n_a == 0:
        return None, "facet a (every other row) has no rows"
    if features.shape[1] == 0:
        return None, "no numeric feature column for the nearest-neighbour search (give --features)"
    # the same estimator and settings as Clarify, so that neighbours (and ties between them) are the same;
    # large queries run on every core (threads over chunks of facet d; the result does not change)
    knn = KNeighborsClassifier(
        n_neighbors=5 if n_a > 9 else 1,
        weights="uniform",
        p=2,
        metric="minkowski",
        n_jobs=-1 if n_d > 20_000 else None,
    )
    knn.fit(features[~in_d], predicted[~in_d])
    if_a = np.asarray(knn.predict(features[in_d]), dtype=bool)
    model = predicted[in_d]
    flipped_pos = int(np.sum(model & ~if_a))
    flipped_neg = int(np.sum(~model & if_a))
    return (flipped_pos - flipped_neg) / n_d, None
