"""A day's pre-booked shuttle trips as a pickup-and-delivery problem with time windows.

A share of the day's ride requests is booked ahead: each booking asks for a pickup at its request
time, give or take half the pickup window, and promises a ride of at most ``detour_factor`` times
the direct ride plus ``detour_s``. The shuttles start and end at their depots, carry at most their
seats, and drive no farther in the day than their battery allows, or, when they may recharge
between runs at a charger at their depot, no farther between recharges. Travel times may change
with the time of day (e.g. with the signal plans' delays in the rush hours).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal, NamedTuple

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
    """The routing problem of the booked trips: locations are the depots, then the depots'
    chargers (where shuttles recharge, one per kind of shuttle at a depot), then for booking ``k``
    its pickup ``pairs[k, 0]`` and drop-off ``pairs[k, 1]``; ``booking`` maps locations to the day's
    request indices (-1 at a depot or charger), ``request`` lists them per booking, ``node`` maps
    locations to network nodes, ``vehicle`` maps the problem's vehicles (numbered type by type) to
    the fleet's, ``direct_s`` is each booking's direct ride (s) and ``pickup_time_s`` its booked
    pickup time (s after midnight)."""

    problem: VRPProblem
    booking: IntArray
    request: IntArray
    node: IntArray
    vehicle: IntArray
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
    recharge: bool = False,
    time_of_day: Sequence[tuple[float, TravelSpace]] = (),
) -> BookedTrips:
    """The booked share of ``requests`` (drawn with ``seed``) as a :class:`VRPProblem` named
    ``name`` on ``network``, served by ``fleet``'s vehicles from its depots.

    Costs are metres driven plus ``vehicle_fixed_cost_m`` per shuttle used; times in s.
    ``link_time_s`` replaces the free-flow link times (e.g. with signal delays). Each kind of
    shuttle (depot, seats, initial energy = battery x initial charge, consumption) is one vehicle
    type; a shuttle's range is its initial energy over its consumption. With ``recharge``, a
    shuttle with no rider on board may return to its depot between runs to recharge, when a
    charger stands at the depot's node: a recharge takes as long as the quickest of the depot's
    chargers needs to restore the initial energy, started at the worst moment of its day of power
    (e.g. 1.65 h for 110 kWh x 0.9 at a steady 60 kW), and the range then bounds each run, not
    the day. The chargers are not booked: any number of shuttles may recharge at once.
    ``time_of_day`` lists ``(start_s, space)`` pairs as :func:`~smartopt.dispatch.simulate` takes
    them (network spaces of ``network``'s nodes): from each start on, the shuttles drive at its
    space's times (before the first, at the network's or ``link_time_s``'s), and the routes are
    planned on those times (:class:`VRPProblem`'s ``period_duration``); the bookings' windows and
    ride promises stay those of the direct ride at the network's times."""
    numbers = {"share": share, "window_s": window_s, "boarding_s": boarding_s, "detour_factor": detour_factor,
               "detour_s": detour_s, "vehicle_fixed_cost_m": vehicle_fixed_cost_m}  # fmt: skip
    if not isinstance(recharge, bool | np.bool_):
        raise TypeError(f"recharge must be a bool, got {type(recharge).__name__}")
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
    kinds, chargers = _shuttle_kinds(fleet, recharge)
    nd, nc, m = depots.size, len(chargers), booked.size
    trip_nodes = np.column_stack([requests.origin[booked], requests.destination[booked]]).ravel()
    nodes = np.concatenate([depots, depots[[d for d, _ in chargers]], trip_nodes]).astype(np.int32)
    first = nd + nc
    pairs = first + np.arange(2 * m).reshape(m, 2)
    t = requests.time_s[booked]
    direct = network.travel_time_matrix(requests.origin[booked], requests.destination[booked], n_threads=2)
    direct_s = np.asarray(direct[np.arange(m), np.arange(m)])
    max_ride = detour_factor * direct_s + detour_s
    n = first + 2 * m
    tw_early, tw_late, service = np.zeros(n), np.full(n, DAY_S + 3_600.0), np.zeros(n)
    tw_early[pairs[:, 0]] = np.maximum(0.0, t - window_s / 2)
    tw_late[pairs[:, 0]] = t + window_s / 2
    tw_early[pairs[:, 1]] = tw_early[pairs[:, 0]] + direct_s
    tw_late[pairs[:, 1]] = tw_late[pairs[:, 0]] + boarding_s + max_ride
    service[first:] = boarding_s
    service[nd:first] = [s for _, s in chargers]
    types = [
        VehicleType(
            count=k.vehicles.size,
            capacity=k.seats,
            start=k.depot,
            fixed_cost=vehicle_fixed_cost_m,
            shift_end=DAY_S + 3_600.0,
            max_distance=k.range_m if k.charger is None else math.inf,
            reload_depots=() if k.charger is None else (nd + k.charger,),
            max_trip_distance=math.inf if k.charger is None else k.range_m,
        )
        for k in kinds
    ]
    problem = VRPProblem.on_network(
        network,
        nodes,
        types,
        link_time_s=link_time_s,
        depots=np.arange(first),
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
    booking = np.full(n, -1, dtype=np.int32)
    booking[first:] = np.repeat(booked, 2)
    vehicle = np.concatenate([k.vehicles for k in kinds])
    return BookedTrips(problem, booking, booked, nodes, vehicle, direct_s, t)


class _Kind(NamedTuple):
    """Shuttles alike: their depot, fleet indices, seats, range (m) and the charger they recharge
    at (an index into the chargers, None: they do not recharge)."""

    depot: int
    vehicles: IntArray
    seats: float
    range_m: float
    charger: int | None


def _shuttle_kinds(fleet: Fleet, recharge: bool) -> tuple[list[_Kind], list[tuple[int, float]]]:
    """The fleet's kinds of shuttle (depot, seats, initial energy, consumption) and the chargers
    they recharge at, as ``(depot, recharge_s)``: the quickest of the depot's chargers at
    restoring a shuttle's initial energy, however late in the day it starts."""
    battery = fleet.vehicle_battery_kwh
    energy = np.where(np.isinf(battery), math.inf, battery * fleet.vehicle_soc0)  # kWh
    power, slot_s = fleet.charger_power_kw()
    key = np.column_stack([fleet.vehicle_depot, fleet.vehicle_seats, energy, fleet.vehicle_kwh_per_km])
    rows, kind_of = np.unique(key, axis=0, return_inverse=True)
    kinds: list[_Kind] = []
    chargers: list[tuple[int, float]] = []
    for k, row in enumerate(rows):
        d, seats, kwh, kwh_per_km = int(row[0]), float(row[1]), float(row[2]), float(row[3])
        at_depot = np.flatnonzero(fleet.charger_node == fleet.depot_node[d])
        charger = None
        times = (worst_charge_time_s(power[c], slot_s, kwh) for c in at_depot) if recharge else ()
        quickest = min(times, default=math.inf)
        if math.isfinite(quickest):
            charger = len(chargers)
            chargers.append((d, quickest))
        vehicles = np.flatnonzero(kind_of.ravel() == k).astype(np.int32)
        kinds.append(_Kind(d, vehicles, seats, 1_000.0 * kwh / kwh_per_km, charger))
    return kinds, chargers


def worst_charge_time_s(power_kw: np.ndarray, slot_s: float, energy_kwh: float) -> float:
    """The longest time (s) a charger giving ``power_kw`` in consecutive slots of ``slot_s``
    (the same every day) takes to deliver ``energy_kwh``, over every moment of the day it could
    start; ``inf`` when that takes more than a year."""
    if energy_kwh <= 0:
        return 0.0
    per_slot = power_kw * slot_s / 3_600.0  # kWh
    if not energy_kwh <= 365.0 * per_slot.sum():
        return math.inf
    days = math.ceil(energy_kwh / per_slot.sum()) + 2
    kw = np.tile(power_kw, days)
    bound = np.arange(kw.size + 1) * slot_s
    delivered = np.concatenate([[0.0], np.cumsum(np.tile(per_slot, days))])

    def at(kwh: np.ndarray, side: Literal["left", "right"]) -> np.ndarray:
        """When kwh have been delivered (s): the first such moment (left) or, across a slot of
        no power, the last (right)."""
        k = np.clip(np.searchsorted(delivered, kwh, side=side), 1, kw.size)
        rest_s = np.maximum(kwh - delivered[k - 1], 0.0) * 3_600.0 / np.maximum(kw[k - 1], 1e-300)
        return np.asarray(bound[k - 1] + rest_s, dtype=float)

    # The wait is piecewise linear in the start, so its worst is at a slot's start or at a start
    # whose charge ends at a slot's start (there, the last moment at that charge: just after, the
    # charge would wait through the slots of no power that follow).
    n = power_kw.size
    ends = delivered[delivered >= energy_kwh]
    starts = np.concatenate([bound[:n], at(ends - energy_kwh, "left")])
    finish = np.concatenate([at(delivered[:n] + energy_kwh, "right"), at(ends, "right")])
    today = starts < bound[n]
    return float((finish - starts)[today].max())


def trip_summary(trips: BookedTrips, result: VRPResult) -> dict[str, Any]:
    """Shuttles used, km, recharges, bookings served and on time (picked up within their window
    and dropped off within their ride promise), pickup deviation and ride times."""
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
        "recharges": sum(int((~p.is_client[r.visits]).sum()) for r in result.routes),
        "mean_pickup_deviation_s": float(deviation.mean()) if deviation.size else float("nan"),
        "mean_ride_over_direct": float((ride[served] / trips.direct_s[served]).mean())
        if served.any()
        else float("nan"),
        "feasible": result.feasible,
        "runtime_s": result.runtime_s,
    }
