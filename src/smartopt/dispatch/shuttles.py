"""A day's pre-booked shuttle trips as a pickup-and-delivery problem with time windows.

A share of the day's ride requests is booked ahead: each booking asks for a pickup at its request
time, give or take half the pickup window, and promises a ride of at most ``detour_factor`` times
the direct ride plus ``detour_s``. The shuttles start and end at their depots, carry at most their
seats, and drive no farther in the day than their battery allows, or, when they may recharge
between runs, no farther between visits to their depot. Travel times may change with the time of
day (e.g. with the signal plans' delays in the rush hours).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from smartopt._validation import FILLED, IntArray
from smartopt.dispatch.model import Fleet, Requests
from smartopt.dispatch.solution import VRPResult
from smartopt.dispatch.space import TravelSpace, check_time_of_day
from smartopt.dispatch.vrp import VehicleType, VRPProblem
from smartopt.network.road import RoadNetwork

DAY_S = 86_400.0


@dataclass(frozen=True, eq=False)
class BookedTrips:
    """The routing problem of the booked trips: locations are the depots, then for booking ``k``
    its pickup ``pairs[k, 0]`` and drop-off ``pairs[k, 1]``; ``request`` maps bookings to the
    day's request indices, ``node`` maps locations to network nodes, ``direct_s`` is each
    booking's direct ride (s) and ``pickup_time_s`` its booked pickup time (s after midnight)."""

    problem: VRPProblem
    request: IntArray
    node: IntArray
    direct_s: np.ndarray
    pickup_time_s: np.ndarray

    def __repr__(self) -> str:
        return f"BookedTrips({self.request.size} bookings, {self.problem!r})"


def booked_trips(
    network: RoadNetwork,
    fleet: Fleet,
    requests: Requests,
    *,
    share: float = 0.15,
    seed: int = 0,
    window_s: float = 600.0,
    boarding_s: float = 30.0,
    detour_factor: float = 1.5,
    detour_s: float = 300.0,
    vehicle_fixed_cost_m: float = 5_000.0,
    link_time_s: np.ndarray | None = None,
    name: str = "booked shuttle trips",
    recharge_s: float | None = None,
    time_of_day: Sequence[tuple[float, TravelSpace]] = (),
) -> BookedTrips:
    """The booked share of ``requests`` (drawn with ``seed``) as a :class:`VRPProblem` named
    ``name`` on ``network``, served by ``fleet``'s vehicles from its depots.

    Costs are metres driven plus ``vehicle_fixed_cost_m`` per shuttle used; times in s.
    ``link_time_s`` replaces the free-flow link times (e.g. with signal delays). With
    ``recharge_s``, a shuttle with no rider on board may return to its depot to recharge between
    runs (a reload taking ``recharge_s``, also counted before the first run): its range at the
    day's initial charge then bounds each run, not the day. ``time_of_day`` lists ``(start_s, space)``
    pairs as :func:`~smartopt.dispatch.simulate` takes them (network spaces of ``network``'s nodes):
    from each start on, the shuttles drive at its space's times (before the first, at the network's
    or ``link_time_s``'s), and the routes are planned on those times (:class:`VRPProblem`'s
    ``period_duration``); the bookings' windows and ride promises stay those of the direct ride at
    the network's times."""
    numbers = {"share": share, "window_s": window_s, "boarding_s": boarding_s, "detour_factor": detour_factor,
               "detour_s": detour_s, "vehicle_fixed_cost_m": vehicle_fixed_cost_m,
               **({} if recharge_s is None else {"recharge_s": recharge_s})}  # fmt: skip
    for key, value in numbers.items():
        if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
            raise TypeError(f"{key} must be a number, got {type(value).__name__}")
        if not (math.isfinite(value) and value >= 0):
            raise ValueError(f"{key} must be a finite number >= 0, got {value!r}")
    if not 0 < share <= 1:
        raise ValueError(f"share must be in (0, 1], got {share}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")

    def on_network(name: str, space: TravelSpace) -> None:
        if space.is_plane or space.num_nodes != network.num_nodes:
            raise ValueError(f"{name}: {space!r} is not a space of the network's {network.num_nodes} nodes")

    periods = check_time_of_day(time_of_day, on_network)
    rng = np.random.default_rng([seed, 6])
    booked = np.sort(rng.choice(len(requests), max(1, round(share * len(requests))), replace=False)).astype(np.int32)
    depots = fleet.depot_node
    nodes = np.concatenate([depots, np.column_stack([requests.origin[booked], requests.destination[booked]]).ravel()])
    nd, m = depots.size, booked.size
    pairs = nd + np.arange(2 * m).reshape(m, 2)
    t = requests.time_s[booked]
    direct = network.travel_time_matrix(requests.origin[booked], requests.destination[booked], n_threads=2)
    direct_s = np.asarray(direct[np.arange(m), np.arange(m)])
    max_ride = detour_factor * direct_s + detour_s
    n = nd + 2 * m
    tw_early, tw_late, service = np.zeros(n), np.full(n, DAY_S + 3_600.0), np.zeros(n)
    tw_early[pairs[:, 0]] = np.maximum(0.0, t - window_s / 2)
    tw_late[pairs[:, 0]] = t + window_s / 2
    tw_early[pairs[:, 1]] = tw_early[pairs[:, 0]] + direct_s
    tw_late[pairs[:, 1]] = tw_late[pairs[:, 0]] + boarding_s + max_ride
    service[nd:] = boarding_s
    service[:nd] = 0.0 if recharge_s is None else recharge_s
    types = []
    for d in range(nd):
        mine = np.flatnonzero(fleet.vehicle_depot == d)
        if mine.size == 0:
            continue
        v = mine[0]
        range_m = 1_000.0 * fleet.vehicle_battery_kwh[v] * fleet.vehicle_soc0[v] / fleet.vehicle_kwh_per_km[v]
        types.append(
            VehicleType(
                count=mine.size,
                capacity=float(fleet.vehicle_seats[v]),
                start=d,
                fixed_cost=vehicle_fixed_cost_m,
                shift_end=DAY_S + 3_600.0,
                max_distance=float(range_m) if recharge_s is None else math.inf,
                reload_depots=() if recharge_s is None else (d,),
                max_trip_distance=math.inf if recharge_s is None else float(range_m),
            )
        )
    problem = VRPProblem.on_network(
        network,
        nodes,
        types,
        link_time_s=link_time_s,
        depots=np.arange(nd),
        service=service,
        tw_early=tw_early,
        tw_late=tw_late,
        pairs=pairs,
        pair_load=requests.passengers[booked].astype(float),
        max_ride=max_ride,
        name=name,
        coords=network.node_xy[nodes],
    )
    if periods:
        starts = ([] if 0.0 in periods else [0.0]) + list(periods)
        matrices = ([] if 0.0 in periods else [problem.duration[0]]) + [s.times(nodes, nodes) for s in periods.values()]
        stack = np.stack(matrices)
        problem = replace(problem, duration=FILLED, period_start=np.array(starts), period_duration=stack)
    return BookedTrips(problem, booked, nodes.astype(np.int32), direct_s, t)


def trip_summary(trips: BookedTrips, result: VRPResult) -> dict[str, Any]:
    """Shuttles used, km, bookings served and on time (picked up within their window and
    dropped off within their ride promise), pickup deviation and ride times."""
    p = trips.problem
    pickup_at = np.full(p.num_locations, np.nan)
    drop_at = np.full(p.num_locations, np.nan)
    for r in result.routes:
        pickup_at[r.visits] = r.service_start
        drop_at[r.visits] = r.arrival
    pu, do = p.pairs[:, 0], p.pairs[:, 1]
    served = np.isfinite(pickup_at[pu]) & np.isfinite(drop_at[do])
    ride = drop_at[do] - pickup_at[pu] - p.service[pu]
    on_time = served & (pickup_at[pu] <= p.tw_late[pu] + 1e-6) & (ride <= p.max_ride + 1e-6)
    deviation = np.abs(pickup_at[pu] - trips.pickup_time_s)[served]
    return {
        "bookings": int(served.size),
        "served": int(served.sum()),
        "on_time_rate": float(on_time.mean()),
        "shuttles_used": result.num_vehicles,
        "shuttles": p.num_vehicles,
        "vehicle_km": result.distance / 1000.0,
        "mean_pickup_deviation_s": float(deviation.mean()) if deviation.size else float("nan"),
        "mean_ride_over_direct": float((ride[served] / trips.direct_s[served]).mean())
        if served.any()
        else float("nan"),
        "feasible": result.feasible,
        "runtime_s": result.runtime_s,
    }
