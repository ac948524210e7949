"""Exact k nearest neighbours for the flip test: a k-d partition searched leaf by leaf, compiled with numba.

Why not a library's k-d tree alone: in ten or so dimensions a k-d tree must look at thousands of rows per query
(on the benchmark's 10-D data, about 3 % of 700,000 rows), and SciPy's and scikit-learn's trees compare them one
at a time. Here SciPy's k-d tree only *partitions* the rows; each leaf is stored as one contiguous
``(dimension, row)`` block, so the distances from a query to a whole leaf are one vectorised loop. Queries are
visited in the order of their own k-d tree, in blocks of nearby queries that share one ordering of the leaf
groups (nearest first), so good neighbours are found early and most leaves are skipped by their bounding box.

The search is exact:
- a group or leaf is skipped only when the distance to its bounding box exceeds the current k-th distance
  (rounding is monotone, so a box's computed distance never exceeds that of a row inside it);
- leaves are scanned in single precision only to *screen* rows: a row is dropped only when its single-precision
  distance exceeds the k-th distance by more than a bound on its rounding error, and every other row has its
  distance computed in double precision, summed dimension by dimension in the same order as scikit-learn's and
  SciPy's trees, so the distances that decide are the same floats as theirs.
Among equal distances the order is unspecified (FT asks for one neighbour more to see such ties).

The kernel indexes arrays directly rather than through slices: in numba a slice is a new array view whose
reference count is updated atomically, which in the inner loops cost more than the arithmetic.
"""

from __future__ import annotations

import functools
import itertools
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["nearest"]

LEAF_SIZE = 64  # reference rows per leaf at most (SciPy's leafsize; leaves hold LEAF_SIZE / 2 to LEAF_SIZE rows)
GROUP = 32  # consecutive leaves per group; a query checks a group's box before its leaves' boxes
QUERY_BLOCK = 32  # queries per block sharing one ordering of the groups


def _search(
    blocks: NDArray[np.floating[Any]],
    rows: NDArray[np.float64],
    leaf_start: NDArray[np.int64],
    leaf_end: NDArray[np.int64],
    leaf_lo: NDArray[np.float64],
    leaf_hi: NDArray[np.float64],
    group_first: NDArray[np.int64],
    group_last: NDArray[np.int64],
    group_lo_t: NDArray[np.float64],
    group_hi_t: NDArray[np.float64],
    queries: NDArray[np.float64],
    queries_low: NDArray[np.floating[Any]],
    block_start: NDArray[np.int64],
    block_end: NDArray[np.int64],
    block_lo: NDArray[np.float64],
    block_hi: NDArray[np.float64],
    first: int,
    last: int,
    slack_root: NDArray[np.float64],
    slack_rel: float,
    slack_abs: NDArray[np.float64],
    best_d: NDArray[np.float64],
    best_i: NDArray[np.int64],
) -> None:  # pragma: no cover - compiled by numba; tested through ``nearest``
    """Fill ``best_d``/``best_i`` for the queries of blocks ``first`` to ``last`` (exclusive)."""
    dim = queries.shape[1]
    n_groups = group_first.shape[0]
    width = blocks.shape[2]
    k = best_d.shape[1]
    bound = np.empty(n_groups)
    box = np.empty(n_groups)
    dist = np.empty(width, dtype=blocks.dtype)
    members = leaf_lo.shape[2]
    near = np.empty(members)
    for b in range(first, last):
        # lower bound of every group's distance to the block of queries, and the groups nearest first
        for g in range(n_groups):
            bound[g] = 0.0
        for d in range(dim):
            lo_b = block_lo[b, d]
            hi_b = block_hi[b, d]
            for g in range(n_groups):
                gap = max(group_lo_t[d, g] - hi_b, 0.0) + max(lo_b - group_hi_t[d, g], 0.0)
                bound[g] += gap * gap
        order = np.argsort(bound)
        for q in range(block_start[b], block_end[b]):
            for g in range(n_groups):
                box[g] = 0.0
            for d in range(dim):
                v = queries[q, d]
                for g in range(n_groups):
                    gap = max(group_lo_t[d, g] - v, 0.0) + max(v - group_hi_t[d, g], 0.0)
                    box[g] += gap * gap
            worst = np.inf
            limit = np.inf
            root = slack_root[q]
            for o in range(n_groups):
                g = order[o]
                if bound[g] > worst:
                    break  # this group and every later one is farther than the k-th neighbour
                if box[g] > worst:
                    continue
                # the distance to each leaf's box, for the group's leaves at once
                for i in range(members):
                    near[i] = 0.0
                for d in range(dim):
                    v = queries[q, d]
                    for i in range(members):
                        gap = max(leaf_lo[g, d, i] - v, 0.0) + max(v - leaf_hi[g, d, i], 0.0)
                        near[i] += gap * gap
                for leaf in range(group_first[g], group_last[g]):
                    if near[leaf - group_first[g]] > worst:
                        continue
                    w = queries_low[q, 0]
                    for j in range(width):
                        u = blocks[leaf, 0, j] - w
                        dist[j] = u * u
                    for d in range(1, dim):
                        w = queries_low[q, d]
                        for j in range(width):
                            u = blocks[leaf, d, j] - w
                            dist[j] += u * u
                    start = leaf_start[leaf]
                    for j in range(leaf_end[leaf] - start):
                        if dist[j] > limit:
                            continue
                        t = rows[start + j, 0] - queries[q, 0]
                        dj = t * t
                        for d in range(1, dim):
                            t = rows[start + j, d] - queries[q, d]
                            dj += t * t
                        if dj < worst:
                            p = k - 1
                            while p > 0 and best_d[q, p - 1] > dj:
                                best_d[q, p] = best_d[q, p - 1]
                                best_i[q, p] = best_i[q, p - 1]
                                p -= 1
                            best_d[q, p] = dj
                            best_i[q, p] = start + j
                            worst = best_d[q, k - 1]
                            limit = worst + root * np.sqrt(worst) + slack_rel * worst + slack_abs[q]


@functools.cache
def _kernel() -> Callable[..., None]:
    """``_search`` compiled (once per process; numba caches the machine code beside this file when it can)."""
    import numba

    try:
        compiled: Callable[..., None] = numba.njit(nogil=True, cache=True)(_search)
    except RuntimeError:  # no writable cache location: compile in memory
        compiled = numba.njit(nogil=True)(_search)
    return compiled


@dataclass(frozen=True)
class _Partition:
    """Rows reordered into the leaves of a k-d tree: ``rows[i]`` is the original row ``order[i]``."""

    order: NDArray[np.intp]
    rows: NDArray[np.float64]
    start: NDArray[np.int64]
    end: NDArray[np.int64]
    lo: NDArray[np.float64]
    hi: NDArray[np.float64]


def _partition(points: NDArray[np.float64], leaf_size: int) -> _Partition:
    from scipy.spatial import cKDTree

    tree = cKDTree(points, leafsize=leaf_size)
    ranges = []
    stack = [tree.tree]
    while stack:
        node = stack.pop()
        if node.split_dim == -1:
            ranges.append((node.start_idx, node.end_idx))
        else:
            stack += [node.greater, node.lesser]
    bounds = np.asarray(sorted(ranges), dtype=np.int64).reshape(-1, 2)
    order = np.asarray(tree.indices, dtype=np.intp)
    rows = np.ascontiguousarray(points[order])
    return _Partition(
        order=order,
        rows=rows,
        start=bounds[:, 0].copy(),
        end=bounds[:, 1].copy(),
        lo=np.minimum.reduceat(rows, bounds[:, 0], axis=0),
        hi=np.maximum.reduceat(rows, bounds[:, 0], axis=0),
    )


def _blocks(part: _Partition, dtype: type[np.floating[Any]]) -> NDArray[np.floating[Any]]:
    """Each leaf's rows as one ``(dimension, row)`` block of ``dtype``, padded with zeros to a multiple of 8."""
    sizes = part.end - part.start
    width = int(-(-int(sizes.max()) // 8) * 8)
    leaf_of = np.repeat(np.arange(len(sizes)), sizes)
    slot = np.arange(len(part.rows)) - part.start[leaf_of]
    out = np.zeros((len(sizes), part.rows.shape[1], width), dtype=dtype)
    out[leaf_of, :, slot] = part.rows
    return out


def _by_group(boxes: NDArray[np.float64], pad: float) -> NDArray[np.float64]:
    """Leaf box corners as ``(group, dimension, leaf in group)``, padded with ``pad``."""
    n_groups = -(-len(boxes) // GROUP)
    out = np.full((n_groups * GROUP, boxes.shape[1]), pad)
    out[: len(boxes)] = boxes
    return np.ascontiguousarray(out.reshape(n_groups, GROUP, -1).transpose(0, 2, 1))


def _cores() -> int:
    """The cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


# Single precision screens the distances when every value is below this magnitude (no square can overflow).
SINGLE_MAX = 1e15
UNIT = 2.0**-24  # float32's unit roundoff


def nearest(
    reference: NDArray[np.float64], queries: NDArray[np.float64], k: int, *, workers: int | None = None
) -> tuple[NDArray[np.float64], NDArray[np.intp]]:
    """The ``k`` nearest ``reference`` rows of each ``queries`` row (Euclidean), nearest first.

    Returns squared distances and row indices into ``reference``, both of shape ``(len(queries), k)``.
    ``k`` must be between 1 and ``len(reference)``; both arrays must be finite. ``workers`` threads search
    (default: every core this process may use).

    With values of magnitude 1e15 or more (whose squares could overflow single precision), leaves are screened
    in double precision instead.
    """
    reference = np.ascontiguousarray(reference, dtype=np.float64)
    queries = np.ascontiguousarray(queries, dtype=np.float64)
    if reference.ndim != 2 or queries.ndim != 2 or reference.shape[1] != queries.shape[1]:
        raise ValueError("reference and queries must be 2-D with the same number of columns")
    if not 1 <= k <= len(reference):
        raise ValueError(f"k must be between 1 and the {len(reference)} reference rows, not {k}")
    if not (np.isfinite(reference).all() and np.isfinite(queries).all()):
        raise ValueError("reference and queries must be finite")
    best_d = np.full((len(queries), k), np.inf)
    best_i = np.full((len(queries), k), -1, dtype=np.int64)
    if len(queries) == 0:
        return best_d, best_i.astype(np.intp)

    dim = reference.shape[1]
    ref = _partition(reference, LEAF_SIZE)
    qry = _partition(queries, QUERY_BLOCK)
    single = max(np.abs(reference).max(initial=0.0), np.abs(queries).max(initial=0.0)) < SINGLE_MAX
    if single:
        # With a = max |x| + |q| (Euclidean norms) and u = 2^-24, a row at true squared distance d has a
        # single-precision distance within 4.0002 u a sqrt(d) + 4.0004 u^2 a^2 + (dim + 1) u d + dim * 2^-149
        # of d; the slack below is about twice that, at d = the current k-th distance.
        norm = np.sqrt(np.einsum("ij,ij->i", ref.rows, ref.rows).max()) + np.sqrt(
            np.einsum("ij,ij->i", qry.rows, qry.rows)
        )
        slack_root, slack_abs = 9 * UNIT * norm, 9 * UNIT**2 * norm**2 + dim * 1e-37
        slack_rel = 2 * (dim + 2) * UNIT
        low: type[np.floating[Any]] = np.float32
    else:
        slack_root, slack_rel, slack_abs, low = np.zeros(len(queries)), 0.0, np.zeros(len(queries)), np.float64
    first = np.arange(0, len(ref.start), GROUP, dtype=np.int64)
    args: tuple[Any, ...] = (
        _blocks(ref, low),
        ref.rows,
        ref.start,
        ref.end,
        _by_group(ref.lo, np.inf),
        _by_group(ref.hi, -np.inf),
        first,
        np.minimum(first + GROUP, len(ref.start)),
        np.ascontiguousarray(np.minimum.reduceat(ref.lo, first, axis=0).T),
        np.ascontiguousarray(np.maximum.reduceat(ref.hi, first, axis=0).T),
        qry.rows,
        qry.rows.astype(low),
        qry.start,
        qry.end,
        qry.lo,
        qry.hi,
    )
    kernel = _kernel()
    n_blocks = len(qry.start)
    threads = max(1, workers or _cores())
    cuts = np.linspace(0, n_blocks, min(n_blocks, threads * 8) + 1).astype(int)
    with ThreadPoolExecutor(threads) as pool:
        futures = [
            pool.submit(kernel, *args, int(a), int(b), slack_root, slack_rel, slack_abs, best_d, best_i)
            for a, b in itertools.pairwise(cuts)
        ]
        for future in futures:
            future.result()
    dist = np.empty_like(best_d)
    dist[qry.order] = best_d
    idx = np.empty((len(queries), k), dtype=np.intp)
    idx[qry.order] = ref.order[best_i]
    return dist, idx
