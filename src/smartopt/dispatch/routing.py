"""Solving vehicle routing problems: :func:`solve_vrp` (its result: :mod:`smartopt.dispatch.solution`).

``solver="smartopt"`` runs the C++ core (slack induction by string removals, a ruin and recreate
search under simulated annealing, with O(1) checks of time windows, loads and limits by route
segments). ``solver="ortools"`` solves the same problem with OR-Tools routing for comparison.
Both results are scored by the same C++ evaluator, so their costs compare directly.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import numpy.typing as npt

from smartopt._core import _routing
from smartopt._progress import SearchLog
from smartopt._validation import (
    INT32_MAX,
    INT64_MAX,
    bool_flag,
    integer,
    positive_float,
    seed_int,
)
from smartopt.dispatch.solution import VRPResult, _result, _route_arrays, evaluate_routes
from smartopt.dispatch.vrp import VRPProblem

SOLVERS = ("smartopt", "ortools")


def solve_vrp(
    problem: VRPProblem,
    *,
    time_limit_s: float | None = None,
    seed: int = 0,
    solver: str = "smartopt",
    initial: VRPResult | Sequence[tuple[int, Sequence[int]]] | None = None,
    fixed_prefix: Sequence[int] | None = None,
    max_iterations: int | None = None,
    num_neighbours: int = 40,
    log: bool = False,
) -> VRPResult:
    """Solves ``problem`` within ``max_iterations`` iterations of the search and/or ``time_limit_s``
    seconds, whichever comes first (at least one of them; ``solver="ortools"`` needs the time limit).

    ``initial`` (a previous result, or ``(vehicle, visits)`` pairs) warm-starts the search;
    ``fixed_prefix[i]`` visits at the head of its route ``i`` stay fixed, in order (vehicles on the
    road, committed stops). With ``max_iterations`` and no ``time_limit_s`` the smartopt search is
    deterministic for a ``seed`` on any machine (its annealing schedule follows the iterations; it
    runs on one thread); with both, as long as the time limit does not cut it short. Runs with the
    GIL released.
    The time limit covers the whole call (set-up that grows with the instance included) and
    ``runtime_s`` is measured from the call's start. A problem whose clients cannot all be served
    returns ``status="infeasible"`` and the clients at fault in ``missing``; a time limit that runs
    out before the solver has a complete answer returns ``status="time_limit"``. ``log=True``
    prints the search's progress to stdout (about every second: iterations, seconds, best cost).

    Example (three clients on a line, one vehicle of capacity 2 from the depot at 0):
        >>> import numpy as np
        >>> from smartopt.dispatch import VehicleType, VRPProblem, solve_vrp
        >>> xy = np.array([0.0, 1.0, 2.0, 3.0])
        >>> problem = VRPProblem(distance=np.abs(xy[:, None] - xy[None, :]),
        ...                      vehicle_types=[VehicleType(count=2, capacity=2)], demand=[0, 1, 1, 1])
        >>> result = solve_vrp(problem, max_iterations=200)
        >>> result.cost, sorted(sorted(r.visits.tolist()) for r in result.routes)
        (8.0, [[1], [2, 3]])
    """
    started = time.perf_counter()
    if not isinstance(problem, VRPProblem):
        raise TypeError(f"problem must be a VRPProblem, got {type(problem).__name__}")
    limit = None if time_limit_s is None else positive_float("time_limit_s", time_limit_s)
    if isinstance(seed, int | np.integer) and not isinstance(seed, bool | np.bool_) and seed < 0:
        raise ValueError(f"seed must be an int >= 0, got {seed!r}")
    seed = seed_int("seed", seed)
    if not isinstance(solver, str) or solver not in SOLVERS:
        raise ValueError(f"solver must be one of {SOLVERS}, got {solver!r}")
    if max_iterations is not None:
        max_iterations = integer("max_iterations", max_iterations, minimum=0, maximum=INT64_MAX)
    num_neighbours = integer("num_neighbours", num_neighbours, minimum=1, maximum=INT32_MAX)
    counting = "solutions" if solver == "ortools" else "iterations"
    search_log = SearchLog("solve_vrp", "best cost", enabled=bool_flag("log", log), started=started, counting=counting)
    if limit is None and (max_iterations is None or solver == "ortools"):
        raise ValueError(
            f"solver={solver!r} needs a time_limit_s" if solver == "ortools" else "give max_iterations or time_limit_s"
        )
    start_routes = _initial_routes(problem, initial)
    locked = _fixed_prefix(start_routes, fixed_prefix)
    search_log.header(f"{problem!r} by {solver}", max_iterations, limit)
    if solver == "ortools":
        from smartopt.dispatch._ortools_vrp import solve_with_ortools

        assert limit is not None
        found = solve_with_ortools(
            problem, time_limit_s=limit, initial=start_routes, fixed_prefix=locked, started=started, log=search_log
        )
        search_log.summary(f"{found.status}, cost {found.cost:.6g} in {found.runtime_s:.2f} s")
        return found
    data = problem.problem_data()
    # what is left of the budget (0: no time limit for the core; a spent one leaves it a nanosecond)
    remaining = 0.0 if limit is None else max(limit - (time.perf_counter() - started), 1e-9)
    raw = _routing.solve(
        data,
        remaining,
        -1 if max_iterations is None else max_iterations,
        int(seed),
        int(num_neighbours),
        np.array([v for v, _ in start_routes], dtype=np.int32),
        [np.asarray(list(c), dtype=np.int32) for _, c in start_routes],
        locked,
        (lambda iterations, _s, best: search_log.line(iterations, best, force=True)) if search_log.enabled else None,
    )
    stats: dict[str, Any] = {
        "iterations": raw.iterations,
        "improvements": raw.improvements,
        "time_to_best_s": raw.time_to_best_s,
        "trace_time_s": raw.trace_time_s,
        "trace_objective": raw.trace_objective,
        "time_limit_reached": raw.time_limit_reached,
        "core_runtime_s": raw.runtime_s,
    }
    result = _result(
        problem, raw.vehicle, raw.visits, raw.reports, solver="smartopt", runtime_s=0.0, stats=stats,
        complete=raw.complete,
    )  # fmt: skip
    if not math.isclose(result.cost, raw.objective, rel_tol=1e-9, abs_tol=1e-6):
        raise RuntimeError(f"internal error: objective {raw.objective} disagrees with evaluation {result.cost}")
    result = replace(result, runtime_s=time.perf_counter() - started)
    iterations = raw.iterations
    search_log.line(iterations, result.cost, force=True)
    search_log.summary(
        f"{result.status}, cost {result.cost:.6g} after {iterations:,} iterations in {result.runtime_s:.2f} s"
    )
    return result


def _initial_routes(
    problem: VRPProblem, initial: VRPResult | Sequence[tuple[int, Sequence[int]]] | None
) -> list[tuple[int, list[int]]]:
    if initial is None:
        return []
    if isinstance(initial, VRPResult):
        pairs: Sequence[tuple[int, Sequence[int]]] = [(r.vehicle, r.visits.tolist()) for r in initial.routes]
    else:
        pairs = initial
    try:
        vehicles, visits = _route_arrays(problem, list(pairs))
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"initial: {exc}") from None
    out = [(int(v), seq.tolist()) for v, seq in zip(vehicles.tolist(), visits, strict=True)]
    evaluate_routes(problem, out)  # unknown vehicles or clients, double visits -> ValueError
    return out


def _fixed_prefix(routes: list[tuple[int, list[int]]], fixed_prefix: Sequence[int] | None) -> npt.NDArray[np.int32]:
    if fixed_prefix is None:
        return np.zeros(len(routes), dtype=np.int32)
    locked = np.asarray(fixed_prefix)
    if locked.shape != (len(routes),) or locked.dtype == np.bool_ or not np.issubdtype(locked.dtype, np.integer):
        raise ValueError(f"fixed_prefix must hold one int per initial route ({len(routes)}), got {locked.tolist()}")
    for i, (k, (_, visits)) in enumerate(zip(locked.tolist(), routes, strict=True)):
        if not 0 <= k <= len(visits):
            raise ValueError(f"fixed_prefix[{i}]={k} is not in [0, {len(visits)}] (the length of route {i})")
    return locked.astype(np.int32)
