"""Brute force for checking ride-pooling on small cases: every stop order of a set of rides in an
idle vehicle, and every choice of trips."""

from __future__ import annotations

from itertools import combinations, permutations

import numpy as np

from dispatch_reference import Stop, replay
from smartopt._core import _dispatch
from smartopt.dispatch import Requests
from smartopt.dispatch.pooling import Trips


def trips_of(
    vehicle: list[int],
    rides: list[list[int]],
    cost: list[float],
    *,
    exact_steps: int,
    reassigned: dict[int, int] | None = None,
) -> Trips:
    """A table of trips, with the core's choice among them within ``exact_steps``; ``reassigned``:
    ride -> its vehicle, rides the choice must serve."""
    offsets = np.concatenate(([0], np.cumsum([len(r) for r in rides]))).astype(np.int64)
    flat = np.array([r for trip in rides for r in trip], dtype=np.int32)
    v, c = np.array(vehicle, dtype=np.int32), np.array(cost, dtype=np.float64)
    must = reassigned or {}
    choice, proven = _dispatch.choose_trips(v, offsets, flat, c, exact_steps, list(must), list(must.values()))
    return Trips(v, c, offsets, flat, choice, proven, np.array(list(must), dtype=np.int32))


def packing_score(trips: Trips, chosen: list[int] | np.ndarray) -> tuple[int, float]:
    """(rides served, total cost) of a choice; asserts no vehicle or ride is used twice."""
    chosen = [int(k) for k in chosen]
    rides = [int(r) for k in chosen for r in trips.rides[trips.ride_offsets[k] : trips.ride_offsets[k + 1]]]
    assert len(rides) == len(set(rides)), "a ride is in two chosen trips"
    vehicles = [int(trips.vehicle[k]) for k in chosen]
    assert len(vehicles) == len(set(vehicles)), "a vehicle has two chosen trips"
    return len(rides), float(trips.cost[chosen].sum())


def best_packing(trips: Trips) -> tuple[int, float]:
    """The best (most rides, then least cost) score over every choice of trips that serves every
    reassigned ride."""
    best = (0, 0.0)
    n = trips.vehicle.size
    must = set(trips.reassigned.tolist())
    for size in range(1, n + 1):
        for chosen in combinations(range(n), size):
            try:
                served, cost = packing_score(trips, list(chosen))
            except AssertionError:
                continue
            taken = {int(r) for k in chosen for r in trips.rides[trips.ride_offsets[k] : trips.ride_offsets[k + 1]]}
            if not must <= taken:
                continue
            if served > best[0] or (served == best[0] and cost < best[1] - 1e-9):
                best = (served, cost)
    return best


def pickups_first(order: tuple[Stop, ...]) -> bool:
    """Whether every drop-off comes after its ride's pickup."""
    picked: set[int] = set()
    for s in order:
        if s.pickup:
            picked.add(s.request)
        elif s.request not in picked:
            return False
    return True


def cheapest_route(
    time_s: np.ndarray,
    start: int,
    rides: tuple[int, ...],
    req: Requests,
    limits: dict[str, np.ndarray],
    boarding_s: float,
    seats: int,
) -> float | None:
    """Least drive time (s) of an idle vehicle at ``start`` at time 0 serving ``rides`` in any
    order (each pickup before its drop-off), or None if no order keeps every promise."""
    stops = [Stop(int(req.origin[r]), r, True) for r in rides] + [
        Stop(int(req.destination[r]), r, False) for r in rides
    ]
    best = None
    for order in permutations(stops):
        if not pickups_first(order):
            continue
        got = replay(time_s, start, list(order), req, limits, boarding_s, seats)
        if got is not None and (best is None or got[0] < best):
            best = got[0]
    return best
