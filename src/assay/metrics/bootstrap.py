"""Bootstrap intervals from count cells.

Resampling the rows of a dataset with replacement gives counts per cell that follow a multinomial with the
observed cell shares; so drawing the multinomial directly is the row bootstrap for any count-based metric,
at a cost that does not depend on the number of rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from numpy.typing import NDArray

__all__ = ["interval", "resample"]


def resample(cells: NDArray[np.int64], replicates: int, seed: Sequence[int]) -> NDArray[np.int64]:
    """``replicates`` multinomial draws of the cell counts (same total), shape ``(replicates, *cells.shape)``."""
    flat = cells.ravel().astype(np.int64)
    n = int(flat.sum())
    rng = np.random.default_rng(list(seed))
    if n == 0:
        return np.zeros((replicates, *cells.shape), dtype=np.int64)
    draws = rng.multinomial(n, flat / n, size=replicates)
    return draws.reshape(replicates, *cells.shape).astype(np.int64)


def interval(values: NDArray[np.float64], invalid: NDArray[np.bool_], confidence: float) -> tuple[float, float] | None:
    """Percentile interval of the defined replicates; ``None`` when fewer than half are defined."""
    ok = ~invalid & ~np.isnan(values)
    if ok.sum() < max(1, len(values) / 2):
        return None
    v = values[ok]
    tail = (1.0 - confidence) / 2.0
    # linear interpolation between infinite replicates is undefined: then take order statistics
    method: Literal["linear", "inverted_cdf"] = "linear" if np.isfinite(v).all() else "inverted_cdf"
    lo, hi = (float(q) for q in np.quantile(v, [tail, 1.0 - tail], method=method))
    return lo, hi
