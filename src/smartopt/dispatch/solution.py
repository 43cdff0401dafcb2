"""Vehicle routing solutions: a :class:`VRPResult` of :class:`Route` s, and
:func:`evaluate_routes`, which scores routes with the C++ evaluator (both solvers' results go
through it, so their costs compare directly)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from smartopt._core import _routing
from smartopt._validation import (
    INT32_MAX,
    FloatArray,
    IntArray,
    integer,
)
from smartopt.dispatch.vrp import VRPProblem

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

TOLERANCE = 1e-6
"""Slack on limits (time warp, load, ride time) before a route counts as infeasible."""


@dataclass(frozen=True, eq=False)
class Route:
    """One vehicle's route: its visits in order (clients, and the depots where it reloads between
    trips), with arrival and service-start times, the load on board when leaving each visit, and
    totals (distance, duration incl. waiting, cost; ``max_load``: the largest on any trip;
    ``longest_trip``: the longest trip's distance). A feasible route has no time warp (lateness),
    no load above capacity, no ride above a pair's limit, no more reloads than allowed and no trip
    longer than allowed."""

    vehicle: int
    vehicle_type: int
    visits: IntArray
    arrival: FloatArray
    service_start: FloatArray
    load: FloatArray
    distance: float
    duration: float
    cost: float
    start_time: float
    end_time: float
    time_warp: float
    max_load: float
    ride_excess: float
    pair_errors: int
    reloads: int = 0
    longest_trip: float = 0.0

    def __repr__(self) -> str:
        return (
            f"Route(vehicle {self.vehicle}: {self.visits.size} visits, distance {self.distance:.6g}, duration "
            f"{self.duration:.6g}, cost {self.cost:.6g}{'' if self.time_warp <= TOLERANCE else ', late'})"
        )

    def __len__(self) -> int:
        return int(self.visits.size)

    def violations(self, problem: VRPProblem) -> list[str]:
        """The limits this route breaks, in words (empty when feasible)."""
        vt = problem.vehicle_types[self.vehicle_type]
        out = []
        if self.time_warp > TOLERANCE:
            out.append(f"late by {self.time_warp:g} in total")
        if self.max_load > vt.capacity + TOLERANCE:
            out.append(f"load {self.max_load:g} > capacity {vt.capacity:g}")
        if self.duration > vt.max_duration + TOLERANCE:
            out.append(f"duration {self.duration:g} > {vt.max_duration:g}")
        if self.distance > vt.max_distance + TOLERANCE:
            out.append(f"distance {self.distance:g} > {vt.max_distance:g}")
        if self.ride_excess > TOLERANCE:
            out.append(f"rides over their limit by {self.ride_excess:g}")
        if self.pair_errors:
            out.append(f"{self.pair_errors} pickup-delivery pairs split or out of order")
        if vt.max_reloads is not None and self.reloads > vt.max_reloads:
            out.append(f"{self.reloads} reloads > {vt.max_reloads}")
        if self.longest_trip > vt.max_trip_distance + TOLERANCE:
            out.append(f"a trip of distance {self.longest_trip:g} > {vt.max_trip_distance:g}")
        return out


@dataclass(frozen=True, eq=False)
class VRPResult:
    """A solution: routes of the vehicles used, the objective ``cost`` (route costs plus prizes of
    skipped optional clients), clients left out (``missing``: required ones), ``status``, runtime
    (s, from the call's start) and solver statistics.

    ``status`` is ``"feasible"`` (every required client served, every limit kept),
    ``"infeasible"`` (the search found no way to serve the clients in ``missing`` or to keep every
    limit: they are at fault) or ``"time_limit"`` (the time limit ran out before the solver had a
    complete answer: clients it never got to are in ``missing``; a larger limit may serve them)."""

    problem: VRPProblem
    routes: tuple[Route, ...]
    cost: float
    unvisited: IntArray
    missing: IntArray
    status: str
    runtime_s: float
    solver: str
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def feasible(self) -> bool:
        """Whether the solution meets every constraint (``status == "feasible"``)."""
        return self.status == "feasible"

    @property
    def num_vehicles(self) -> int:
        """Number of vehicles used (routes)."""
        return len(self.routes)

    @property
    def distance(self) -> float:
        """Total distance of the routes (the instance's distance unit)."""
        return float(sum(r.distance for r in self.routes))

    def violations(self) -> list[str]:
        """Every broken limit and missing required client, in words."""
        out = [f"route of vehicle {r.vehicle}: {v}" for r in self.routes for v in r.violations(self.problem)]
        if self.missing.size:
            out.append(f"required clients not visited: {self.missing.tolist()}")
        return out

    def to_frame(self) -> pd.DataFrame:
        """One row per visit: vehicle, order, client (or the depot of a reload), whether it is a
        reload, arrival, service start, load after."""
        import pandas as pd

        client = self.problem.is_client
        rows = [
            {
                "vehicle": r.vehicle,
                "vehicle_type": r.vehicle_type,
                "stop": k,
                "client": int(c),
                "reload": not client[c],
                "arrival": float(r.arrival[k]),
                "service_start": float(r.service_start[k]),
                "load_after": float(r.load[k]),
            }
            for r in self.routes
            for k, c in enumerate(r.visits)
        ]
        columns = ["vehicle", "vehicle_type", "stop", "client", "reload", "arrival", "service_start", "load_after"]
        return pd.DataFrame(rows, columns=columns)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary: cost, feasibility, vehicles and the routes as client lists."""
        return {
            "solver": self.solver,
            "cost": self.cost,
            "status": self.status,
            "feasible": self.feasible,
            "num_vehicles": self.num_vehicles,
            "distance": self.distance,
            "runtime_s": self.runtime_s,
            "missing": self.missing.tolist(),
            "routes": [{"vehicle": r.vehicle, "visits": r.visits.tolist()} for r in self.routes],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], problem: VRPProblem) -> VRPResult:
        """The result :meth:`to_dict` gave, rebuilt on the ``problem`` it solved: its routes scored
        again (:func:`evaluate_routes`; schedules and loads recomputed, ``stats`` not kept).
        ``ValueError`` naming the field for a malformed summary, or when the routes do not score
        the stated cost and status on ``problem`` (a summary of another problem)."""
        try:
            routes = [(r["vehicle"], r["visits"]) for r in data["routes"]]
            cost, status = float(data["cost"]), str(data["status"])
            solver, runtime_s = str(data["solver"]), float(data["runtime_s"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"VRPResult.from_dict: not a to_dict() summary ({type(exc).__name__}: {exc})") from None
        out = evaluate_routes(problem, routes, solver=solver, runtime_s=runtime_s)
        if not (math.isclose(out.cost, cost, rel_tol=1e-9, abs_tol=1e-9) and out.feasible == (status == "feasible")):
            raise ValueError(
                f"VRPResult.from_dict: the routes score cost {out.cost:.6g} ({out.status}) on this problem, "
                f"not the stated {cost:.6g} ({status}): a summary of another problem"
            )
        return replace(out, status=status)  # why an incomplete answer stopped is the solver's to say

    def plot(self, ax: Axes | None = None, coords: npt.ArrayLike | None = None) -> Axes:
        """Draws the routes on the problem's coordinates (or ``coords``, (n, 2))."""
        import matplotlib.pyplot as plt

        xy = np.asarray(self.problem.coords if coords is None else coords, dtype=float)
        if xy.shape != (self.problem.num_locations, 2):
            raise ValueError(f"coords must have shape ({self.problem.num_locations}, 2); the problem has none")
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 6))
        clients = self.problem.clients
        ax.scatter(xy[clients, 0], xy[clients, 1], s=8, c="0.5", zorder=2)
        ax.scatter(xy[self.problem.depots, 0], xy[self.problem.depots, 1], marker="s", c="k", zorder=3)
        for r in self.routes:
            vt = self.problem.vehicle_types[r.vehicle_type]
            path = [vt.start, *r.visits.tolist(), vt.end]
            ax.plot(xy[path, 0], xy[path, 1], lw=1)
        ax.set_title(f"{self.problem.name or 'VRP'}: cost {self.cost:.1f}, {self.num_vehicles} routes")
        ax.set_aspect("equal")
        return ax

    def __repr__(self) -> str:
        return (
            f"VRPResult({self.solver}: {self.status}, cost {self.cost:.6g}, {self.num_vehicles} routes, "
            f"{self.unvisited.size} unvisited, {self.runtime_s:.2f} s)"
        )


def evaluate_routes(
    problem: VRPProblem,
    routes: Sequence[tuple[int, Sequence[int]]],
    *,
    solver: str = "given",
    runtime_s: float = 0.0,
    stats: dict[str, Any] | None = None,
) -> VRPResult:
    """Scores routes given as ``(vehicle, visits)`` pairs (visits: clients, and reload depots
    between trips): schedules, loads, costs, feasibility. Raises ``ValueError`` for an unknown
    vehicle or client, a client visited twice, or a depot that is not a reload depot of the
    vehicle."""
    vehicles, visits = _route_arrays(problem, routes)
    reports = _routing.evaluate(problem.problem_data(), vehicles, visits)
    return _result(problem, vehicles, visits, reports, solver=solver, runtime_s=runtime_s, stats=stats)


def _route_arrays(
    problem: VRPProblem, routes: Sequence[tuple[int, Sequence[int]]]
) -> tuple[npt.NDArray[np.int32], list[npt.NDArray[np.int32]]]:
    """Vehicles and visits as int32 arrays; ``ValueError``/``TypeError`` naming the route for values
    that are not whole numbers of the int32 range (never wrapped)."""
    vehicles = []
    visits = []
    for i, item in enumerate(routes):
        if not (isinstance(item, tuple | list) and len(item) == 2):
            raise TypeError(f"routes[{i}] must be a (vehicle, visits) pair")
        vehicle, stops = item
        vehicles.append(integer(f"routes[{i}] vehicle", vehicle, minimum=0, maximum=INT32_MAX))
        seq = np.asarray(list(stops) if not isinstance(stops, np.ndarray) else stops)
        if seq.size == 0:
            seq = seq.astype(np.int64)
        if seq.ndim != 1 or seq.dtype == np.bool_ or not np.issubdtype(seq.dtype, np.integer):
            raise TypeError(f"routes[{i}] visits must be a sequence of ints, got {seq.dtype} of shape {seq.shape}")
        bad = (seq < 0) | (seq >= problem.num_locations)
        if bad.any():
            raise ValueError(
                f"route {i}: location {seq[bad][0]} is not a client (locations are 0 .. {problem.num_locations - 1})"
            )
        visits.append(seq.astype(np.int32))
    return np.array(vehicles, dtype=np.int32), visits


def _result(
    problem: VRPProblem,
    vehicles: npt.NDArray[np.int32],
    visits: list[npt.NDArray[np.int32]],
    reports: list[_routing.RouteReport],
    *,
    solver: str,
    runtime_s: float,
    stats: dict[str, Any] | None,
    complete: bool = True,
) -> VRPResult:
    """The result of routes and their reports from the core; ``complete=False``: the time limit
    cut the solver short before it had tried every client."""
    out = []
    for v, seq, rep in zip(vehicles.tolist(), visits, reports, strict=True):
        if seq.size == 0:
            continue
        out.append(
            Route(
                vehicle=v,
                vehicle_type=problem.vehicle_type_of(v),
                visits=seq,
                arrival=rep.arrival,
                service_start=rep.service_start,
                load=rep.load_after,
                distance=rep.distance,
                duration=rep.duration,
                cost=rep.cost,
                start_time=rep.start_time,
                end_time=rep.end_time,
                time_warp=rep.time_warp,
                max_load=rep.max_load,
                ride_excess=rep.ride_excess,
                pair_errors=rep.pair_errors,
                reloads=rep.reloads,
                longest_trip=rep.longest_trip,
            )
        )
    visited = np.zeros(problem.num_locations, dtype=bool)
    for seq in visits:
        visited[seq] = True
    unvisited = np.flatnonzero(problem.is_client & ~visited).astype(np.int32)
    missing = unvisited[problem.required[unvisited]]
    skipped = unvisited[~problem.required[unvisited]]
    cost = float(sum(r.cost for r in out) + problem.prize[skipped].sum())
    broken = any(r.violations(problem) for r in out)
    status = "feasible" if not (missing.size or broken) else ("infeasible" if complete else "time_limit")
    return VRPResult(problem, tuple(out), cost, unvisited, missing, status, runtime_s, solver, stats or {})
