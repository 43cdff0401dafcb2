"""The reference backend: a :class:`VRPProblem` solved by OR-Tools routing.

Defaults follow OR-Tools' advice: a first solution by parallel cheapest insertion, then guided
local search until the time limit. Every client gets a drop-penalty disjunction (a required one a
penalty far above any route cost) so that tight time windows still give a solution; dropped
required clients come back as ``missing``. OR-Tools works in integers, so distances and times are
scaled by :data:`SCALE` and rounded. It has no seed; its search is deterministic.
"""

from __future__ import annotations

import itertools
import math
import time
from typing import Any

import numpy as np
import numpy.typing as npt

from smartopt._progress import SearchLog
from smartopt.dispatch.solution import VRPResult, _result, _route_arrays, evaluate_routes
from smartopt.dispatch.vrp import VRPProblem

SCALE = 1000
"""Distances, times and costs are multiplied by this and rounded for OR-Tools."""


def _int(x: npt.ArrayLike, horizon: int) -> npt.NDArray[np.int64]:
    a = np.asarray(x, dtype=float) * SCALE
    return np.where(np.isfinite(a), np.minimum(np.round(a), horizon), horizon).astype(np.int64)


def solve_with_ortools(
    problem: VRPProblem,
    *,
    time_limit_s: float,
    initial: list[tuple[int, list[int]]],
    fixed_prefix: npt.NDArray[np.int32],
    started: float | None = None,
    log: SearchLog | None = None,
) -> VRPResult:
    """Solves ``problem`` with OR-Tools routing (guided local search) within ``time_limit_s`` s
    counted from ``started`` (a ``time.perf_counter()`` value; default: now). No solution within
    the limit is ``status="time_limit"``. ``log`` gets OR-Tools' objective at each new solution
    (route costs plus drop penalties)."""
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    started = time.perf_counter() if started is None else started
    if (problem.demand > 0).any() and (problem.pickup > 0).any():
        raise ValueError("solver='ortools' takes deliveries or pickups, not both in one problem")
    trips = any(t.reload_depots or math.isfinite(t.max_trip_distance) for t in problem.vehicle_types)
    if trips or (problem.release_time[problem.clients] > 0).any():
        raise ValueError("solver='ortools' does not model reloads, trip limits or release times; use solver='smartopt'")
    if problem.time_dependent:
        raise ValueError("solver='ortools' does not model time-dependent travel times; use solver='smartopt'")
    n = problem.num_locations
    types = problem.vehicle_types
    # Of each type no more vehicles than clients (each used one serves a client) plus the warm
    # start's; OR-Tools' vehicle k is our vehicle number ids[k].
    ids, vtype = _fleet(problem, [v for v, _ in initial])
    index_of = {v: k for k, v in enumerate(ids)}
    initial = [(index_of[v], visits) for v, visits in initial]
    starts = [types[t].start for t in vtype]
    ends = [types[t].end for t in vtype]
    manager = pywrapcp.RoutingIndexManager(n, len(vtype), starts, ends)
    routing = pywrapcp.RoutingModel(manager)

    shifts = [t.shift_end for t in types if math.isfinite(t.shift_end)]
    latest = [0.0, *problem.tw_late[np.isfinite(problem.tw_late)], *shifts]
    horizon = int(min(SCALE * (max(latest) + problem.service.sum() + problem.duration.max() * (n + 1)), 2**50))
    dist = [_int(problem.distance[p], horizon) for p in range(problem.num_profiles)]
    dur = [_int(problem.duration[p], horizon) for p in range(problem.num_profiles)]
    service = _int(problem.service, horizon)  # (a depot's: loading at the route's start)

    def arc_cost(t: int) -> int:
        vt = types[t]
        d, tt = dist[vt.profile], dur[vt.profile]

        def cost(i: int, j: int) -> int:
            a, b = manager.IndexToNode(i), manager.IndexToNode(j)
            return round(float(vt.unit_distance_cost * d[a, b] + vt.unit_duration_cost * tt[a, b]))

        return int(routing.RegisterTransitCallback(cost))

    def travel(p: int) -> int:
        def time_cb(i: int, j: int) -> int:
            a = manager.IndexToNode(i)
            return int(service[a] + dur[p][a, manager.IndexToNode(j)])

        return int(routing.RegisterTransitCallback(time_cb))

    def distance(p: int) -> int:
        def dist_cb(i: int, j: int) -> int:
            return int(dist[p][manager.IndexToNode(i), manager.IndexToNode(j)])

        return int(routing.RegisterTransitCallback(dist_cb))

    cost_cb = {t: arc_cost(t) for t in range(len(types))}
    for v, t in enumerate(vtype):
        routing.SetArcCostEvaluatorOfVehicle(cost_cb[t], v)
        routing.SetFixedCostOfVehicle(round(types[t].fixed_cost * SCALE), v)

    load = np.where(problem.demand > 0, problem.demand, problem.pickup)
    pair_load = np.zeros(n)
    pair_load[problem.pairs[:, 0]], pair_load[problem.pairs[:, 1]] = problem.pair_load, -problem.pair_load
    load_int = np.round((load + pair_load) * SCALE).astype(np.int64)
    caps = [int(min(types[t].capacity * SCALE, 2**62)) for t in vtype]
    load_cb = routing.RegisterUnaryTransitCallback(lambda i: int(load_int[manager.IndexToNode(i)]))
    routing.AddDimensionWithVehicleCapacity(load_cb, 0, caps, True, "load")

    time_cbs = [travel(p) for p in range(problem.num_profiles)]
    vehicle_time = [time_cbs[types[t].profile] for t in vtype]
    routing.AddDimensionWithVehicleTransits(vehicle_time, horizon, horizon, False, "time")
    time_dim = routing.GetDimensionOrDie("time")
    tw_e, tw_l = _int(problem.tw_early, horizon), _int(problem.tw_late, horizon)
    for c in problem.clients.tolist():
        time_dim.CumulVar(manager.NodeToIndex(c)).SetRange(int(tw_e[c]), int(tw_l[c]))
    for v, t in enumerate(vtype):
        vt = types[t]
        lo, hi = int(_int(vt.shift_start, horizon)), int(_int(vt.shift_end, horizon))
        time_dim.CumulVar(routing.Start(v)).SetRange(lo, hi)
        time_dim.CumulVar(routing.End(v)).SetRange(lo, hi)
        if math.isfinite(vt.max_duration):
            time_dim.SetSpanUpperBoundForVehicle(int(_int(vt.max_duration, horizon)), v)
        routing.AddVariableMinimizedByFinalizer(time_dim.CumulVar(routing.Start(v)))
        routing.AddVariableMinimizedByFinalizer(time_dim.CumulVar(routing.End(v)))
    if any(math.isfinite(t.max_distance) for t in types):
        dist_cbs = [distance(p) for p in range(problem.num_profiles)]
        routing.AddDimensionWithVehicleTransitAndCapacity(
            [dist_cbs[types[t].profile] for t in vtype],
            0,
            [int(_int(types[t].max_distance, horizon)) for t in vtype],
            True,
            "distance",
        )

    solver = routing.solver()
    for k, (p, d) in enumerate(problem.pairs.tolist()):
        pi, di = manager.NodeToIndex(p), manager.NodeToIndex(d)
        routing.AddPickupAndDelivery(pi, di)
        solver.Add(routing.VehicleVar(pi) == routing.VehicleVar(di))
        solver.Add(time_dim.CumulVar(pi) <= time_dim.CumulVar(di))
        if math.isfinite(problem.max_ride[k]):
            ride = int(_int(problem.max_ride[k], horizon)) + int(service[p])
            solver.Add(time_dim.CumulVar(di) - time_dim.CumulVar(pi) <= ride)

    big = int(min(2**40, SCALE * (problem.distance.max() * n * 10 + sum(t.fixed_cost for t in types) + 1)))
    prize = np.round(problem.prize * SCALE).astype(np.int64)
    for c in problem.clients.tolist():
        routing.AddDisjunction([manager.NodeToIndex(c)], big if problem.required[c] else int(prize[c]))

    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    left = time_limit_s - (time.perf_counter() - started)
    if left <= 0.001:  # the model took the whole budget
        return _no_solution(problem, started, {"status": "model building took the time limit", "found": False})
    params.time_limit.FromMilliseconds(max(1, int(1000 * left)))
    if log is not None and log.enabled:
        solutions = itertools.count(1)
        routing.AddAtSolutionCallback(lambda: log.line(next(solutions), routing.CostVar().Value() / SCALE))

    if initial:
        assignment = _warm_start(routing, manager, problem, initial, fixed_prefix, time_dim)
        solution = routing.SolveFromAssignmentWithParameters(assignment, params) if assignment else None
    else:
        solution = routing.SolveWithParameters(params)
    routes: list[tuple[int, list[int]]] = []
    if solution is not None:
        for v in range(len(vtype)):
            idx = solution.Value(routing.NextVar(routing.Start(v)))
            visits = []
            while not routing.IsEnd(idx):
                visits.append(manager.IndexToNode(idx))
                idx = solution.Value(routing.NextVar(idx))
            if visits:
                routes.append((ids[v], visits))
    stats = {"status": int(routing.status()), "found": solution is not None}
    if solution is None:
        # Every client has a drop penalty, so any assignment is a solution: none means the time
        # limit ran out first (or a warm start's fixed prefixes contradict the limits).
        return _no_solution(problem, started, stats)
    return evaluate_routes(problem, routes, solver="ortools", runtime_s=time.perf_counter() - started, stats=stats)


def _fleet(problem: VRPProblem, given: list[int]) -> tuple[list[int], list[int]]:
    """The vehicles to model (our numbers) and their types: of each type the warm start's, then the
    lowest others, at most as many as there are clients plus the warm start's."""
    clients = int(problem.clients.size)
    ids: list[int] = []
    vtype: list[int] = []
    first = 0
    for t, vt in enumerate(problem.vehicle_types):
        mine = sorted(v for v in given if first <= v < first + vt.count)
        want = min(vt.count, clients + len(mine))
        chosen = set(mine)
        v = first
        while len(chosen) < want:
            chosen.add(v)
            v += 1
        ids += sorted(chosen)
        vtype += [t] * len(chosen)
        first += vt.count
    return ids, vtype


def _no_solution(problem: VRPProblem, started: float, stats: dict[str, Any]) -> VRPResult:
    """No routes in time: every client unvisited, status "time_limit"."""
    vehicles, visits = _route_arrays(problem, [])
    return _result(
        problem, vehicles, visits, [], solver="ortools", runtime_s=time.perf_counter() - started, stats=stats,
        complete=False,
    )  # fmt: skip


def _warm_start(
    routing: Any,
    manager: Any,
    problem: VRPProblem,
    initial: list[tuple[int, list[int]]],
    fixed_prefix: npt.NDArray[np.int32],
    time_dim: Any,
) -> Any:
    """The initial routes as an OR-Tools assignment; fixed prefixes become next-variable constraints."""
    solver = routing.solver()
    routing.CloseModel()
    for (v, visits), k in zip(initial, fixed_prefix.tolist(), strict=True):  # v: OR-Tools' vehicle
        chain = [routing.Start(v)] + [manager.NodeToIndex(c) for c in visits[:k]]
        for a, b in itertools.pairwise(chain):
            solver.Add(routing.NextVar(a) == b)
    per_vehicle: list[list[int]] = [[] for _ in range(routing.vehicles())]
    for v, visits in initial:
        per_vehicle[v] = [manager.NodeToIndex(c) for c in visits]
    return routing.ReadAssignmentFromRoutes(per_vehicle, True)
