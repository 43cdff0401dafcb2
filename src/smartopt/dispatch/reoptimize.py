"""Re-optimisation of a fleet's current plans with the routing solver (:func:`solve_vrp`).

The plans of the vehicles in service (those on their way to charge keep theirs) become one
pickup-and-delivery problem: each vehicle starts where it can next turn, at that time, and ends
anywhere (a free end depot); rides assigned but not yet picked up may move between vehicles and
every plan may be reordered; riders on board stay in their vehicle (their drop-off is paired with
a pickup fixed at the head of its route). The solver is warm-started with the current plans, so it
starts from a feasible solution. The fleet takes the new plans only if they keep every promise,
seat and battery limit and drive less (the core checks; battery is checked, not modelled).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from smartopt._core import _dispatch
from smartopt._core._dispatch import StopKind
from smartopt._serialise import ToDict
from smartopt._validation import positive_float
from smartopt.dispatch.routing import solve_vrp
from smartopt.dispatch.space import TravelSpace
from smartopt.dispatch.vrp import VehicleType, VRPProblem


@dataclass(frozen=True)
class Reoptimization(ToDict):
    """One re-optimisation: vehicles and rides in the problem, the driving time (s) of their plans
    before and of the solver's plans (``inf`` if they broke a limit), and whether they replaced the
    old ones."""

    vehicles: int
    rides: int
    before_s: float
    after_s: float
    replaced: bool


def reoptimize(
    core: _dispatch.NetworkFleet | _dispatch.PlaneFleet,
    space: TravelSpace,
    *,
    boarding_s: float,
    time_limit_s: float | None = None,
    seed: int = 0,
    max_iterations: int | None = None,
) -> Reoptimization:
    """Re-plans the fleet in ``core`` (at its clock) with the routing solver within
    ``max_iterations`` iterations and/or ``time_limit_s`` seconds, whichever comes first (at least
    one; with ``max_iterations`` alone the new plans are the same for a ``seed`` on any machine);
    ``boarding_s`` is the fleet's dwell at each stop (s). The time limit covers the whole call."""
    started = time.perf_counter()
    if time_limit_s is None and max_iterations is None:
        raise ValueError("reoptimize needs max_iterations or time_limit_s")
    if time_limit_s is not None:
        positive_float("time_limit_s", time_limit_s)
    if max_iterations is not None and (
        isinstance(max_iterations, bool) or not isinstance(max_iterations, int | np.integer) or max_iterations < 0
    ):
        raise ValueError(f"max_iterations must be an int >= 0 or None, got {max_iterations!r}")
    plans, vehicles = core.plans(), core.vehicles()
    charging = np.unique(plans["vehicle"][plans["kind"] == StopKind.CHARGE])
    eligible = np.setdiff1d(np.flatnonzero(vehicles["in_service"]), charging)
    keep = np.isin(plans["vehicle"], eligible) & (plans["kind"] <= StopKind.DROPOFF)
    owner, ride, pickup = plans["vehicle"][keep], plans["id"][keep], plans["kind"][keep] == StopKind.PICKUP
    if ride.size == 0:
        return Reoptimization(eligible.size, 0, 0.0, 0.0, False)
    nv, ns = eligible.size, ride.size
    # A drop-off whose pickup is not in the plan: the rider is on board.
    on_board = ~pickup & ~np.isin(ride, ride[pickup])
    nb = int(on_board.sum())
    # Locations: 0 the free end; 1..nv the vehicles' starts; per rider on board a pickup at its
    # vehicle's start; then the plans' stops in order.
    first = 1 + nv + nb
    board_vehicle = owner[on_board]
    places = np.concatenate(
        [vehicles["position"][eligible], vehicles["position"][board_vehicle], plans["location"][keep]]
    )
    time_s = np.zeros((first + ns, first + ns))
    time_s[1:, 1:] = _times(space, places)
    stop = {(int(r), bool(p)): first + k for k, (r, p) in enumerate(zip(ride, pickup, strict=True))}
    pair_ride = np.concatenate([ride[on_board], ride[pickup]])
    pair_pickup = np.concatenate([1 + nv + np.arange(nb), first + np.flatnonzero(pickup)])
    passengers = dict(zip(ride.tolist(), plans["passengers"][keep].tolist(), strict=True))
    longest = dict(zip(ride.tolist(), plans["max_ride_s"][keep].tolist(), strict=True))
    start = dict(zip(zip(ride.tolist(), pickup.tolist(), strict=True), plans["start_s"][keep].tolist(), strict=True))
    for r in ride[pickup].tolist():  # a ride a slowdown made longer than its limit: no longer than planned
        longest[r] = max(longest[r], start[(r, False)] - start[(r, True)])
    # The core's ride limit runs from the pickup's service start, the solver's from its end.
    max_ride = [math.inf] * nb + [max(0.0, longest[int(r)] - boarding_s) for r in ride[pickup]]
    types = [
        VehicleType(
            capacity=float(vehicles["seats"][v]), start=1 + k, end=0, shift_start=float(vehicles["position_s"][v])
        )
        for k, v in enumerate(eligible)
    ]
    initial, fixed = [], []
    for k, v in enumerate(eligible):
        head = (1 + nv + np.flatnonzero(board_vehicle == v)).tolist()
        rest = (first + np.flatnonzero(owner == v)).tolist()
        if head or rest:
            initial.append((k, head + rest))
            fixed.append(len(head))
    done = Reoptimization(nv, int(pair_ride.size), math.nan, math.inf, False)
    try:
        problem = VRPProblem(
            distance=time_s,
            vehicle_types=tuple(types),
            depots=np.arange(1 + nv),
            service=np.where(np.arange(first + ns) >= first, boarding_s, 0.0),
            tw_early=np.concatenate([np.zeros(first), np.where(pickup, plans["earliest_s"][keep], 0.0)]),
            # a promise already broken (after a slowdown): no later than now planned
            tw_late=np.concatenate([np.full(first, math.inf), np.maximum(plans["latest_s"], plans["start_s"])[keep]]),
            pairs=np.stack([pair_pickup, [stop[(int(r), False)] for r in pair_ride]], axis=1),
            pair_load=np.array([float(passengers[int(r)]) for r in pair_ride]),
            max_ride=np.array(max_ride),
        )
    except ValueError:  # rounding put a current plan a hair past a limit the solver checks
        return done
    left_s = None if time_limit_s is None else max(time_limit_s - (time.perf_counter() - started), 1e-9)
    result = solve_vrp(
        problem, time_limit_s=left_s, seed=seed, initial=initial, fixed_prefix=fixed, max_iterations=max_iterations
    )
    if result.missing.size or result.unvisited.size:
        return done
    stop_of = {k: key for key, k in stop.items()}
    routes = {int(r.vehicle): [stop_of[int(c)] for c in r.visits if int(c) >= first] for r in result.routes}
    new_plans = [routes.get(k, []) for k in range(nv)]
    flat = [s for p in new_plans for s in p]
    before, after = core.replace_plans(
        eligible.astype(np.int32),
        np.concatenate([[0], np.cumsum([len(p) for p in new_plans])]).astype(np.int64),
        np.array([r for r, _ in flat], np.int32),
        np.array([p for _, p in flat], bool),
    )
    return Reoptimization(nv, int(pair_ride.size), before, after, after < before - 1e-6)


def _times(space: TravelSpace, places: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
    """Travel times (s) between every two places (location indices, or points in a plane space)."""
    if space.is_plane:
        delta = np.abs(places[:, None, :] - places[None, :, :])
        dist = delta.sum(axis=2) if space.kind == "manhattan" else np.hypot(delta[..., 0], delta[..., 1])
        return np.asarray(dist / space.speed_mps, dtype=float)
    return np.asarray(space.times(places, places), dtype=float)
