"""Black-box adversarial attacks on a model through Assay's adapters, with constraints that keep every row valid.

A model adapter takes a table; ART's attacks take a vector of numbers. :class:`Space` bridges the two: the vector of
one row is its *mutable numeric* columns divided by their spread (so the L2 distance of a change is in units of each
column's spread), and every vector an attack asks about is *projected* before the model sees it (clipped to the
column's range, rounded when the column holds integers) and written back into a copy of the row, whose other columns
(immutable columns, categories, text) stay as they are. The attacks therefore only ever query valid rows.

Attacks (each row is attacked separately; ART's attacks walk one row at a time):

* ``hop-skip-jump``: ART's ``HopSkipJump`` (Chen et al. 2020), decision-based: it needs the predicted label only;
* ``zoo``: ART's ``ZooAttack`` (Chen et al. 2017), score-based: it estimates gradients of the class probabilities by
  finite differences (step ``0.2`` spread, wide enough to see the steps of a tree ensemble); run only when the model
  gives probabilities;
* ``categories`` (written here, ART has no attack on categories or text): a greedy search that changes one category
  to another value seen in the data, or makes one typo (two neighbouring characters swapped, or one deleted) in a
  text column, per step; each step takes the change that lowers the probability of the row's class most (with labels
  only: one step, any change that flips it).

One model call per step for all rows: :class:`Lockstep` runs the per-row ART attacks in threads that take turns in a
fixed order, collects the queries of every row and scores them in one call of the model (a tabular model answers
20,000 rows in about the time of 20 single rows). Turns are taken in a fixed order and ART's global random state is
seeded, so a run is reproducible.

Every candidate is finally re-checked: projected again, compared with the constraints (:meth:`Space.violations`) and
scored once more; only a valid row whose label differs from the original's counts as a success.
"""

from __future__ import annotations

import bisect
import threading
import warnings
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd

from assay.errors import BackendUnsupported, InvalidInput

__all__ = ["ATTACKS", "Attempt", "Lockstep", "Space", "attack_rows", "spread_of"]

ATTACKS: Final = ("hop-skip-jump", "zoo", "categories")
MAX_VALUES: Final = 20  # the commonest values of a categorical column tried by the greedy search
TEXT_EDITS: Final = 12  # typos tried per text column and step
ZOO_STEP: Final = 0.2  # ZOO's finite-difference step, in spreads
STARTS: Final = 100  # candidate starting points of HopSkipJump per row
# queries an attack may make per row and iteration: about three times what HopSkipJump needs on a smooth boundary
# (max_eval 100, a binary search of ~30, a step search of ~10); a model whose boundary is a comb can keep ART's step
# search halving for ever (seen: one row of a brittle model held a run for over 15 minutes). A row that reaches
# the cap keeps the nearest flip it found, and the result counts such rows.
QUERY_CAP: Final = 500


def spread_of(values: np.ndarray) -> float:
    """The column's spread: its interquartile range / 1.349 (the standard deviation of a normal with that IQR), the
    standard deviation when the IQR is 0, and 1 when both are 0."""
    finite = values[np.isfinite(values)]
    if len(finite) < 2:
        return 1.0
    q1, q3 = np.quantile(finite, [0.25, 0.75])
    return float((q3 - q1) / 1.349) or float(np.std(finite)) or 1.0


@dataclass(frozen=True)
class Space:
    """The attacked columns of a model's rows and their constraints.

    ``numeric``: mutable numeric columns (the attack vector, in that order) with their range ``low``/``high``, their
    ``spread`` and whether each holds ``integers``; ``categories``: mutable categorical columns and the values they may
    take (values seen in the data, commonest first; the greedy search tries the first :data:`MAX_VALUES`);
    ``texts``: mutable free-text columns; ``immutable``: columns never changed.
    """

    features: tuple[str, ...]
    numeric: tuple[str, ...]
    low: np.ndarray
    high: np.ndarray
    spread: np.ndarray
    integers: np.ndarray
    categories: Mapping[str, tuple[Any, ...]]
    texts: tuple[str, ...]
    immutable: tuple[str, ...]

    def vector(self, rows: pd.DataFrame) -> np.ndarray:
        """The scaled attack vectors of ``rows`` (n, k)."""
        return np.asarray(rows[list(self.numeric)].to_numpy(dtype=np.float64) / self.spread, dtype=np.float64)

    def project(self, z: np.ndarray) -> np.ndarray:
        """Scaled vectors -> valid raw values: clipped to the ranges, integers rounded (inside the range)."""
        raw = np.clip(z * self.spread, self.low, self.high)
        rounded = np.clip(np.round(raw), np.ceil(self.low), np.floor(self.high))
        return np.asarray(np.where(self.integers, rounded, raw), dtype=np.float64)

    def rebuild(self, base: pd.DataFrame, z: np.ndarray) -> pd.DataFrame:
        """Copies of ``base`` rows (one per vector) whose numeric columns are the projected vectors."""
        out = base.reset_index(drop=True).copy()
        if self.numeric:
            values = self.project(z)
            for i, column in enumerate(self.numeric):
                kind = out[column].dtype
                out[column] = pd.Series(values[:, i]).astype(kind) if self.integers[i] else values[:, i]
        return out

    def distance(self, original: pd.DataFrame, changed: pd.DataFrame) -> np.ndarray:
        """L2 distance of each row's numeric change, in spreads."""
        if not self.numeric:
            return np.zeros(len(original))
        return np.asarray(np.linalg.norm(self.vector(changed) - self.vector(original), axis=1), dtype=np.float64)

    def changed_columns(self, original: pd.DataFrame, changed: pd.DataFrame) -> np.ndarray:
        """How many feature columns each row changed."""
        count = np.zeros(len(original), dtype=np.int64)
        for column in self.features:
            a, b = original[column].reset_index(drop=True), changed[column].reset_index(drop=True)
            count += (~((a == b) | (a.isna() & b.isna()))).to_numpy(dtype=bool)
        return count

    def violations(self, original: pd.DataFrame, changed: pd.DataFrame) -> list[list[str]]:
        """Per row, the constraints the changed row breaks (an empty list: valid)."""
        out: list[list[str]] = [[] for _ in range(len(original))]
        a, b = original.reset_index(drop=True), changed.reset_index(drop=True)
        for column in self.immutable:
            if column in b:
                same = (a[column] == b[column]) | (a[column].isna() & b[column].isna())
                for r in np.flatnonzero(~same.to_numpy(dtype=bool)):
                    out[r].append(f"immutable {column} changed")
        for k, column in enumerate(self.numeric):
            values = b[column].to_numpy(dtype=np.float64)
            bad = (values < self.low[k] - 1e-9) | (values > self.high[k] + 1e-9)
            if self.integers[k]:
                bad |= np.abs(values - np.round(values)) > 1e-9
            for r in np.flatnonzero(bad):
                out[r].append(f"{column}={values[r]:g} outside [{self.low[k]:g}, {self.high[k]:g}] or not whole")
        for column, allowed in self.categories.items():
            seen = set(allowed)
            for row, value in enumerate(b[column].tolist()):
                if value not in seen and not _equal(value, a[column].iloc[row]):
                    out[row].append(f"{column}={value!r} is not a value seen in the data")
        return out


class Lockstep:
    """Runs one job per row in threads that take turns in a fixed order, so that every query the jobs make in a round
    is answered by one call of ``score``: the queries of all jobs -> one batched model call -> the answers.

    A job is ``job(i, ask)``; ``ask(z)`` returns the answer to ``z`` once every live job has asked (or finished). Only
    one job runs at a time, in index order (each thread waits on its own semaphore until handed the turn), so the
    jobs' use of shared random state is reproducible.
    """

    def __init__(self, score: Callable[[list[tuple[int, np.ndarray]]], list[np.ndarray]]) -> None:
        self._score = score
        self._go: list[threading.Semaphore] = []
        self._active: list[int] = []  # sorted
        self._pending: dict[int, np.ndarray] = {}
        self._answers: dict[int, np.ndarray] = {}
        self._error: BaseException | None = None
        self.queries: dict[int, int] = {}
        self.calls = 0

    def _hand_on(self, after: int) -> None:
        """Hand the turn to the next live job (rounds go in index order); after the last, answer the round."""
        at = bisect.bisect_right(self._active, after)
        if at < len(self._active):
            self._go[self._active[at]].release()
            return
        if self._pending:
            asked = sorted(self._pending.items())
            self._pending.clear()
            try:
                answers = self._score(asked)
                self.calls += 1
            except BaseException as exc:
                self._error = exc
                answers = [np.zeros(0) for _ in asked]
            for (i, _), answer in zip(asked, answers, strict=True):
                self._answers[i] = answer
        if self._active:
            self._go[self._active[0]].release()

    def _ask(self, i: int, z: np.ndarray) -> np.ndarray:
        self._pending[i] = z
        self.queries[i] = self.queries.get(i, 0) + len(z)
        self._hand_on(i)
        self._go[i].acquire()
        if self._error is not None:
            raise InvalidInput(f"the model failed on an attack's query: {self._error}") from self._error
        return self._answers.pop(i)

    def run(self, count: int, job: Callable[[int, Callable[[np.ndarray], np.ndarray]], Any]) -> list[Any]:
        """Run ``job(i, ask)`` for i in 0..count-1; their results in order (the first error is raised)."""
        results: list[Any] = [None] * count
        errors: list[BaseException | None] = [None] * count
        self._go = [threading.Semaphore(0) for _ in range(count)]
        self._active = list(range(count))

        def work(i: int) -> None:
            self._go[i].acquire()
            try:
                results[i] = job(i, lambda z: self._ask(i, z))
            except BaseException as exc:
                errors[i] = exc
            finally:
                self._active.remove(i)
                self._hand_on(i)

        threads = [threading.Thread(target=work, args=(i,), daemon=True, name=f"assay-attack-{i}") for i in
                   range(count)]  # fmt: skip
        for thread in threads:
            thread.start()
        if count:
            self._go[0].release()
        for thread in threads:
            thread.join()
        for error in errors:
            if error is not None:
                raise error
        return results


@dataclass
class Attempt:
    """The best candidate one attack found for each row (a copy of the row when it found none) and the queries it
    made per row."""

    name: str
    rows: pd.DataFrame
    queries: np.ndarray
    steps: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    capped: int = 0  # rows whose attack stopped at the query cap


@contextmanager
def _seeded(seed: int) -> Iterator[None]:
    """ART's attacks draw from numpy's global random state: seed it for the attack, then put it back."""
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ART's progress and deprecation chatter
            yield
    finally:
        np.random.set_state(state)


@contextmanager
def _one_thread() -> Iterator[None]:
    """Many small model calls: OpenMP's thread pools (histogram gradient boosting, ...) cost more than they save."""
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    with threadpool_limits(limits=1):
        yield


def _art_attack(name: str, classifier: Any, budget: int) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "PyTorch not found" from ART's certification package
        from art.attacks.evasion import HopSkipJump, ZooAttack  # type: ignore[import-untyped]

    if name == "hop-skip-jump":
        return HopSkipJump(classifier, batch_size=100_000, max_iter=budget, max_eval=100, init_eval=10, init_size=50,
                           verbose=False)  # fmt: skip
    width = int(classifier.input_shape[0])
    return ZooAttack(classifier, max_iter=budget * 2, binary_search_steps=3, initial_const=1.0, learning_rate=0.1,
                     use_resize=False, use_importance=False, nb_parallel=width, variable_h=ZOO_STEP,
                     abort_early=True, verbose=False)  # fmt: skip


def _numeric_attack(
    name: str,
    predict: Callable[[pd.DataFrame], np.ndarray],
    space: Space,
    rows: pd.DataFrame,
    labels: np.ndarray,
    budget: int,
    seed: int,
) -> Attempt:
    """One ART attack on every row's numeric columns (the other columns fixed), through :class:`Lockstep`."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "PyTorch not found" from ART's certification package
            from art.attacks.evasion import HopSkipJump  # noqa: F401 - imported once, outside the attack's threads
            from art.estimators.classification import BlackBoxClassifier  # type: ignore[import-untyped]
    except ImportError as exc:
        raise BackendUnsupported(
            "adversarial attacks need the Adversarial Robustness Toolbox (pip install 'assay[security]')"
        ) from exc
    base = rows.reset_index(drop=True)
    z0 = space.vector(base)
    low, high = space.low / space.spread, space.high / space.spread
    with_scores = name != "hop-skip-jump"

    def score(asked: list[tuple[int, np.ndarray]]) -> list[np.ndarray]:
        index = np.concatenate([np.full(len(z), i) for i, z in asked])
        frame = space.rebuild(base.iloc[index], np.concatenate([z for _, z in asked]))
        p = predict(frame)
        out = np.column_stack([1 - p, p]) if with_scores else np.eye(2)[(p > 0.5).astype(np.int64)]
        bounds = np.cumsum([0, *[len(z) for _, z in asked]])
        return [out[bounds[k] : bounds[k + 1]] for k in range(len(asked))]

    start = np.zeros(len(base), dtype=np.int64)
    init = None
    if name == "hop-skip-jump":  # ART draws its start unseeded: give it one, the nearest of seeded candidates
        init, start = _starts(score, z0, labels, low, high, seed)

    cap = QUERY_CAP * budget
    capped: list[int] = []

    def job(i: int, ask: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        if init is not None and np.isnan(init[i]).any():
            return np.asarray(z0[i], dtype=np.float64)  # no candidate flips the row: nothing to start from
        nearest: list[Any] = [None, np.inf]  # the nearest flip asked so far and its distance

        def counted(z: np.ndarray) -> np.ndarray:
            if lockstep.queries.get(i, 0) >= cap:
                raise _Capped
            answer = ask(z)
            flipped = np.flatnonzero(np.argmax(answer, axis=1) != labels[i])
            if len(flipped):
                distances = np.linalg.norm(z[flipped] - z0[i], axis=1)
                if distances.min() < nearest[1]:
                    nearest[:] = [np.asarray(z[flipped[np.argmin(distances)]], dtype=np.float64), distances.min()]
            return answer

        classifier = BlackBoxClassifier(counted, input_shape=(z0.shape[1],), nb_classes=2, clip_values=(low, high))
        attack = _art_attack(name, classifier, budget)
        given = {} if init is None else {"x_adv_init": init[i : i + 1].copy()}
        try:
            found = attack.generate(z0[i : i + 1], y=np.eye(2)[[int(labels[i])]], **given)
        except _Capped:
            capped.append(i)
            start_point = init[i] if init is not None else z0[i]
            return np.asarray(nearest[0] if nearest[0] is not None else start_point, dtype=np.float64)
        return np.asarray(np.asarray(found, dtype=np.float64)[0], dtype=np.float64)

    lockstep = Lockstep(score)
    with _seeded(seed), _one_thread():
        found = lockstep.run(len(base), job)
    adversarial = space.rebuild(base, np.vstack(found)) if found else base.copy()
    queries = start + np.array([lockstep.queries.get(i, 0) for i in range(len(base))], dtype=np.int64)
    return Attempt(name, adversarial, queries, capped=len(capped))


class _Capped(Exception):
    """An attack reached its row's query cap (:data:`QUERY_CAP`)."""


def _starts(
    score: Callable[[list[tuple[int, np.ndarray]]], list[np.ndarray]],
    z0: np.ndarray,
    labels: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    seed: int,
) -> tuple[np.ndarray, np.ndarray]:
    """For each row, the nearest of :data:`STARTS` seeded candidates that the model gives the other label (NaN where
    none does), and the queries it took: points drawn uniformly in the ranges, and the numeric values of attacked
    rows of the other label (each with the row's own other columns)."""
    rng = np.random.default_rng([seed, zlib.crc32(b"starts")])
    n, k = z0.shape
    asked = []
    for i in range(n):
        others = np.flatnonzero(labels != labels[i])
        borrowed = z0[rng.permutation(others)[: STARTS // 2]]
        drawn = rng.uniform(low, high, size=(STARTS - len(borrowed), k))
        asked.append((i, np.vstack([borrowed, drawn])))
    answers = score(asked) if n else []
    init = np.full((n, k), np.nan)
    for (i, candidates), answer in zip(asked, answers, strict=True):
        flips = np.flatnonzero(np.argmax(answer, axis=1) != labels[i])
        if len(flips):
            nearest = flips[np.argmin(np.linalg.norm(candidates[flips] - z0[i], axis=1))]
            init[i] = candidates[nearest]
    return init, np.full(n, STARTS, dtype=np.int64)


def _typos(text: str, rng: np.random.Generator) -> list[str]:
    """Up to :data:`TEXT_EDITS` different one-typo variants of ``text`` (neighbours swapped, or one deleted)."""
    if len(text) < 2:
        return []
    out: set[str] = set()
    for at in rng.permutation(len(text) - 1)[:TEXT_EDITS]:
        a = int(at)
        out.add(text[:a] + text[a + 1] + text[a] + text[a + 2 :] if rng.random() < 0.5 else text[:a] + text[a + 1 :])
    out.discard(text)
    return sorted(out)


def _greedy(
    predict: Callable[[pd.DataFrame], np.ndarray],
    space: Space,
    rows: pd.DataFrame,
    labels: np.ndarray,
    max_changes: int,
    with_scores: bool,
    seed: int,
) -> Attempt:
    """The greedy search over categories and typos (see the module docstring), all rows' candidates of a step scored
    in one call."""
    current = rows.reset_index(drop=True).copy()
    done = np.zeros(len(current), dtype=bool)
    queries = np.zeros(len(current), dtype=np.int64)
    steps = np.zeros(len(current), dtype=np.int64)
    changed: list[set[str]] = [set() for _ in range(len(current))]
    rng = np.random.default_rng([seed, zlib.crc32(b"greedy")])
    now = np.full(len(current), 1.0)  # the probability of each row's class where it stands
    for _ in range(max_changes if with_scores else 1):
        live = np.flatnonzero(~done)
        owners: list[np.ndarray] = []
        candidates: list[pd.DataFrame] = []
        for column, seen in space.categories.items():  # one block per column: every live row x every value
            allowed = seen[:MAX_VALUES]
            free = np.array([column in changed[r] or len(changed[r]) < max_changes for r in live], dtype=bool)
            at = live[free]
            if not len(at):
                continue
            values = np.empty(len(allowed), dtype=object)
            values[:] = list(allowed)
            block = current.iloc[np.repeat(at, len(values))].reset_index(drop=True)
            block[column] = np.tile(values, len(at))
            owner = np.repeat(at, len(values))
            new = block[column].to_numpy(dtype=object)
            keep = (new != current[column].to_numpy(dtype=object)[owner]) & (
                new != rows[column].to_numpy(dtype=object)[owner]
            )
            candidates.append(block[keep])
            owners.append(owner[keep])
        for column in space.texts:
            for r in live:
                value = current.at[r, column]
                variants = _typos(value, rng) if isinstance(value, str) else []
                if variants:
                    block = current.iloc[[int(r)] * len(variants)].reset_index(drop=True)
                    block[column] = variants
                    candidates.append(block)
                    owners.append(np.full(len(variants), r))
        if not candidates or not sum(len(c) for c in candidates):
            break
        table = pd.concat(candidates, ignore_index=True)
        p = predict(table)
        owner = np.concatenate(owners)
        own = np.where(labels[owner] == 1, p, 1 - p)  # the probability of the row's class: lower is better
        np.add.at(queries, owner, 1)
        for r in np.unique(owner):
            at = np.flatnonzero(owner == r)
            best = at[np.argmin(own[at])]
            if (own[best] >= 0.5 and not with_scores) or own[best] >= now[r]:
                done[r] = own[best] >= now[r]  # no change helps: the search stops for this row
                continue
            for column in space.features:
                if not _equal(current.at[r, column], table.at[best, column]):
                    changed[r].add(column)
                    current.loc[r, column] = table.loc[best, column]
            now[r] = own[best]
            steps[r] += 1
            done[r] = own[best] < 0.5
        if done.all():
            break
    return Attempt("categories", current, queries, steps)


def _equal(a: Any, b: Any) -> bool:
    return bool(a == b) or bool(pd.isna(a) and pd.isna(b))


def attack_rows(
    predict: Callable[[pd.DataFrame], np.ndarray],
    space: Space,
    rows: pd.DataFrame,
    labels: np.ndarray,
    *,
    attacks: Sequence[str],
    budget: int,
    max_changes: int,
    with_scores: bool,
    seed: int,
    progress: Callable[[str], None] | None = None,
) -> list[Attempt]:
    """Run ``attacks`` on ``rows`` (each correctly predicted as ``labels``): one :class:`Attempt` per attack.
    ``predict(frame)`` gives the probability of the positive class of each row (or 0/1 for a model of labels)."""
    say = progress or (lambda _stage: None)
    out = []
    for name in attacks:
        say(f"attacking ({name}, {len(rows)} rows)")
        if name == "categories":
            out.append(_greedy(predict, space, rows, labels, max_changes, with_scores, seed))
        elif name in ("hop-skip-jump", "zoo"):
            out.append(_numeric_attack(name, predict, space, rows, labels, budget, seed))
        else:
            raise InvalidInput(f"attacks: {name!r} is not one of {', '.join(ATTACKS)}")
    return out
