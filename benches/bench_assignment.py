"""Linear sum assignment: smartopt's LAPJV beside scipy.optimize.linear_sum_assignment and OR-Tools'
SimpleLinearSumAssignment (a cost-scaling push-relabel solver) on the same square matrices, the same
optimum checked.

Sizes N = 100, 1,000 and 3,000 (10 and 50 at smoke size); three kinds of integer costs (OR-Tools
takes integers only): "uniform" in [0, 10^6), and "distances", the straight-line distance in m,
rounded, between N vehicles and N requests spread uniformly over a 2 km square (the dispatch case,
hard for augmenting-path methods: long augmenting paths), and "ties" in [0, 100). OR-Tools is timed
with its arcs added (its solve alone is the smaller part).
"""

from __future__ import annotations

from functools import cache

import numpy as np
import numpy.typing as npt
import pytest
import scipy.optimize
from ortools.graph.python import linear_sum_assignment as ortools_lsa

from smartopt.dispatch import linear_sum_assignment

SIZES = {"full": (100, 1000, 3000), "smoke": (10, 50)}
KINDS = ("uniform", "distances", "ties")
TOOLS = ["smartopt-lapjv", "scipy", "ortools"]


@cache
def costs(kind: str, n: int, seed: int = 0) -> npt.NDArray[np.int64]:
    rng = np.random.default_rng(seed)
    if kind == "uniform":
        return rng.integers(0, 10**6, (n, n))
    if kind == "ties":
        return rng.integers(0, 100, (n, n))
    vehicles, requests = rng.random((n, 2)) * 2000, rng.random((n, 2)) * 2000
    d = np.hypot(vehicles[:, None, 0] - requests[None, :, 0], vehicles[:, None, 1] - requests[None, :, 1])
    return np.rint(d).astype(np.int64)


def ortools_cost(cost: npt.NDArray[np.int64]) -> int:
    n = cost.shape[0]
    solver = ortools_lsa.SimpleLinearSumAssignment()
    solver.add_arcs_with_cost(np.repeat(np.arange(n), n), np.tile(np.arange(n), n), cost.ravel())
    assert solver.solve() == solver.OPTIMAL
    return int(solver.optimal_cost())


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("index", range(3))
@pytest.mark.parametrize("tool", TOOLS)
def test_assignment(benchmark, scale: str, kind: str, index: int, tool: str) -> None:  # type: ignore[no-untyped-def]
    if index >= len(SIZES[scale]):
        pytest.skip(f"{scale} size runs {len(SIZES[scale])} sizes")
    n = SIZES[scale][index]
    cost = costs(kind, n)
    benchmark.group = f"Linear sum assignment, {kind}, N = {n}"
    benchmark.extra_info["tool"] = tool
    if tool == "ortools":
        total = benchmark(ortools_cost, cost)
    else:
        solve = linear_sum_assignment if tool == "smartopt-lapjv" else scipy.optimize.linear_sum_assignment
        rows, cols = benchmark(solve, cost)
        total = int(cost[rows, cols].sum())
    want_rows, want_cols = scipy.optimize.linear_sum_assignment(cost)
    assert total == int(cost[want_rows, want_cols].sum())
