"""The auditor's verdicts without a whole block's program (:func:`audit._between`): a cell's
range lies between values it can take (a span seen) and a relaxation's bounds; whenever the
two settle the verdict, it must be the verdict of the exact bounds. Checked against
``scipy.optimize.linprog`` on random small systems."""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import linprog

from toolkit.disclosure import audit

LIMITS = (1, 3, 10)
SYSTEMS = 120


def extremes(cost_sign: float, target: int, eq: tuple, ub: tuple, size: int) -> float:
    """``min`` (sign 1) or ``max`` (sign -1) of one unknown over ``x >= 0`` and the rows."""
    cost = np.zeros(size)
    cost[target] = cost_sign
    found = linprog(cost, A_ub=ub[0], b_ub=ub[1], A_eq=eq[0], b_eq=eq[1], method="highs")
    if found.status == 3:  # unbounded
        return -cost_sign * math.inf
    assert found.status == 0, found.message
    return cost_sign * found.fun


def rounded(low: float, high: float) -> tuple[float, float]:
    """Bounds rounded inwards as :func:`audit._bounds` rounds them."""
    return math.ceil(low - audit._EPS), math.floor(high + audit._EPS) if math.isfinite(
        high
    ) else math.inf


def random_system(rng: np.random.Generator) -> tuple[np.ndarray, tuple, tuple, tuple, tuple]:
    """A true two-way table (the cells of a few groups in a few regions, as the release's
    relations: totals of rows and columns, some cells printed, some capped by another count),
    the rows it satisfies, and a relaxation (a random part of those rows dropped). Such rows
    form a totally unimodular matrix, so every vertex is integral, as the auditor assumes."""
    shape = (int(rng.integers(2, 4)), int(rng.integers(2, 4)))
    size = shape[0] * shape[1]
    point = rng.integers(0, 15, size).astype(float)
    cells = np.eye(size)
    sums = [cells[np.ravel_multi_index((i, np.arange(shape[1])), shape)].sum(axis=0)
            for i in range(shape[0])]  # fmt: skip
    sums += [cells[np.ravel_multi_index((np.arange(shape[0]), j), shape)].sum(axis=0)
             for j in range(shape[1])]  # fmt: skip
    printed = [cells[k] for k in range(size) if rng.random() < 0.25]
    a_eq = np.array([row for row in sums + printed if rng.random() < 0.85] or [sums[0]])
    a_ub = cells[rng.random(size) < 0.4]
    b_eq, b_ub = a_eq @ point, a_ub @ point + rng.choice([0.0, 0.0, 1.0, 4.0], len(a_ub))
    keep_eq, keep_ub = rng.random(len(a_eq)) < 0.6, rng.random(len(a_ub)) < 0.6
    full = ((a_eq, b_eq), (a_ub if len(a_ub) else None, b_ub if len(a_ub) else None))
    relaxed = ((a_eq[keep_eq], b_eq[keep_eq]) if keep_eq.any() else (None, None),
               (a_ub[keep_ub], b_ub[keep_ub]) if keep_ub.any() else (None, None))  # fmt: skip
    return point, *full, *relaxed


def seen_values(rng: np.random.Generator, point: np.ndarray, eq: tuple, ub: tuple) -> np.ndarray:
    """Feasible points: the true one, the optima of two random objectives (when bounded) and a
    mixture of them (fractional, as the anchor's interior point is)."""
    points = [point]
    for _ in range(2):
        found = linprog(rng.uniform(-1, 1, len(point)), A_ub=ub[0], b_ub=ub[1], A_eq=eq[0],
                        b_eq=eq[1], method="highs")  # fmt: skip
        if found.status == 0:
            points.append(found.x)
    weights = rng.dirichlet(np.ones(len(points)))
    return np.array([weights @ np.array(points), *points[1:]])


def test_a_verdict_between_seen_values_and_a_relaxation_is_the_exact_one() -> None:
    """On 120 random systems, every cell and limit that :func:`audit._between` settles gets the
    verdict of its exact bounds, bounds within them, and the exact bounds themselves when it is
    not protected. Both of its rules settle some cells (so a wrong one would be seen)."""
    rng = np.random.default_rng(13)
    settled = {"protected": 0, "exact": 0, "open": 0}
    for _ in range(SYSTEMS):
        point, eq, ub, relaxed_eq, relaxed_ub = random_system(rng)
        seen = seen_values(rng, point, eq, ub)
        size = len(point)
        for target in range(size):
            exact = rounded(
                extremes(1.0, target, eq, ub, size), extremes(-1.0, target, eq, ub, size)
            )
            outer = rounded(extremes(1.0, target, relaxed_eq, relaxed_ub, size),
                            extremes(-1.0, target, relaxed_eq, relaxed_ub, size))  # fmt: skip
            low, high = float(seen[:, target].min()), float(seen[:, target].max())
            for limit in LIMITS:
                found = audit._between(low, high, *outer, limit)
                if found is None:
                    settled["open"] += 1
                    continue
                lower, upper, route = found
                assert (route == "") == audit._protected(*exact, limit), (exact, outer, found)
                assert exact[0] <= lower + audit._EPS and upper <= exact[1] + audit._EPS
                if route:
                    assert (lower, upper) == exact
                settled["exact" if (lower, upper) == exact else "protected"] += 1
    assert min(settled.values()) > 30, settled


def test_a_span_seen_a_hair_below_the_limit_is_still_a_protected_cell():
    """Known truth: a cell whose range is at least its limit (the relaxation's lower bound is
    10) is protected, whatever a solver's rounding leaves in the span seen. Found on a
    release of 1,000 responses per survey: a span seen from 9.999999999999979 to
    17.000000000000114 was reported as a recoverable cell (width 7 < 10, lower end < 10)."""
    lower, upper, route = audit._between(9.999999999999979, 17.000000000000114, 10, 40, 10)
    assert route == "" and lower == 10
    assert audit._protected(lower, upper, 10)
