"""A day of demand-responsive shuttles, simulated event by event in the C++ core: requests arrive,
the policy places them in vehicles' stop lists, vehicles drive, pick up, drop off and charge."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from smartopt import _progress
from smartopt._core import _dispatch
from smartopt._serialise import ToDict
from smartopt._validation import FloatArray, IntArray, count_array, seed_int
from smartopt.dispatch.model import DAY_S, Fleet, Requests, columns, slots_per_day
from smartopt.dispatch.pooling import PoolingLimits, PoolingRun
from smartopt.dispatch.rebalancing import MAX_ZONE_M, MIN_ZONE_M, Zones, rebalance
from smartopt.dispatch.reoptimize import reoptimize
from smartopt.dispatch.space import TravelSpace, check_time_of_day
from smartopt.network import RoadNetwork

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

MAX_STEPS = 1_000_000
"""Most steps (hours, or rebalancing intervals) one simulation covers."""
PROMISE_TOLERANCE_S = 1e-6
"""Rounding allowed when checking a rider's promises (s)."""
ENERGY_TOLERANCE_KWH = 1e-6
"""Rounding allowed in a vehicle's energy balance (kWh)."""
REJECTIONS = ("", "no_vehicle", "battery")
"""Why a request was not served, by the core's code: none, no vehicle could keep the promises,
or a vehicle could but its battery could not finish the plan."""


@dataclass(frozen=True)
class Policy(ToDict):
    """How the fleet takes requests.

    ``kind="insertion"`` places each request on arrival where it costs least (cheapest feasible
    insertion, pooling riders); ``"batch"`` collects requests for ``batch_s`` seconds and matches
    them to vehicles at least total cost (linear sum assignment, one new request per vehicle per
    batch), keeping unmatched ones for the next batch while a vehicle can still serve them;
    ``"pooling"`` also batches, but gives a vehicle a trip of up to ``max_trip`` requests
    (Alonso-Mora et al.'s high-capacity pooling: each request's ``pool_vehicles`` cheapest vehicles,
    each vehicle's trips built up by size from its ``pool_candidates`` cheapest requests, at most
    ``pool_trips_per_size`` trips of each size per vehicle; trips chosen most requests served first,
    then least cost: greedily and by an exact search in each independent part of the batch it can
    finish, the other parts by CP-SAT within ``pool_deterministic_time`` per batch (its measure of
    work, roughly s on one core; 0: the core's choice) and, if not None, ``pool_time_limit_s``
    seconds; with ``pool_reassign`` requests assigned but not yet picked up go back into each
    batch and may move to another vehicle, always staying served; with ``pool_rebalance`` idle
    vehicles drive toward the batch's unserved requests, those left waiting and those rejected, as
    Alonso-Mora et al. do). The cost
    of an insertion is the driving time it adds (s) plus ``wait_weight`` times the new rider's wait
    (s; 0: least added driving time, RidePy's rule) plus ``delay_weight`` times the delay it adds
    (s: the new rider's drop-off after its earliest pickup, boarding and direct drive, wait
    included, and the later drop-offs of the riders already planned; Alonso-Mora et al. price by
    this total delay alone). ``boarding_s`` is the dwell at each pickup and
    drop-off; battery fractions: never plan below ``reserve``, idle vehicles under ``charge_below``
    charge to ``charge_to``. With ``rebalance_s > 0``, every ``rebalance_s`` seconds the idle
    vehicles move toward the next hour's requests per zone (square cells of ``zone_m``; the day's
    requests stand in for a demand forecast) by a min-cost flow. With ``reoptimize_s > 0``, every
    ``reoptimize_s`` seconds the routing solver re-plans the fleet within ``reoptimize_iterations``
    iterations and, if not None, ``reoptimize_time_limit_s`` seconds, and keeps the new plans only
    if they drive less (waits and delays are not weighed there). Without the time limits
    (the default) a day is the same for a seed on any machine.
    """

    kind: Literal["insertion", "batch", "pooling"] = "insertion"
    batch_s: float = 30.0
    boarding_s: float = 30.0
    reserve: float = 0.1
    charge_below: float = 0.3
    charge_to: float = 0.9
    wait_weight: float = 0.0
    delay_weight: float = 0.0
    rebalance_s: float = 0.0
    zone_m: float = 500.0
    max_trip: int = 3
    pool_candidates: int = 8
    pool_vehicles: int = 10
    pool_trips_per_size: int = 64
    pool_rebalance: bool = False
    pool_reassign: bool = False
    pool_time_limit_s: float | None = None
    pool_deterministic_time: float = 0.2
    reoptimize_s: float = 0.0
    reoptimize_time_limit_s: float | None = None
    reoptimize_iterations: int = 1000

    def __post_init__(self) -> None:
        if self.kind not in ("insertion", "batch", "pooling"):
            raise ValueError(f"policy kind must be 'insertion', 'batch' or 'pooling', got {self.kind!r}")
        counts = (
            ("max_trip", 10),
            ("pool_candidates", 100),
            ("pool_vehicles", 10_000),
            ("pool_trips_per_size", 1_000),
        )
        for name in ("pool_rebalance", "pool_reassign"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be a bool, got {getattr(self, name)!r}")
        for name, most in (*counts, ("reoptimize_iterations", 2**31 - 1)):
            value = getattr(self, name)  # a trip's candidates grow as pool_candidates ** max_trip
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= most:
                raise ValueError(f"{name} must be an int in [1, {most}], got {value!r}")
        numbers = (
            *("batch_s", "boarding_s", "reserve", "charge_below", "charge_to"),
            *("wait_weight", "delay_weight", "rebalance_s"),
        )
        limits = ("pool_time_limit_s", "reoptimize_time_limit_s")  # None: no time limit
        for name in (*numbers, "pool_deterministic_time", "reoptimize_s", *limits):
            value = getattr(self, name)
            if value is None and name in limits:
                continue
            number = isinstance(value, int | float) and not isinstance(value, bool)
            if not (number and -1e308 < value < 1e308 and math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite number >= 0{' or None' * (name in limits)}, got {value!r}")
        largest = dict.fromkeys(("batch_s", "boarding_s", "rebalance_s", "reoptimize_s"), DAY_S)
        largest |= dict.fromkeys(("wait_weight", "delay_weight"), 1e6)
        for name, top in largest.items():
            if getattr(self, name) > top:
                raise ValueError(f"{name} must be at most {top:g}, got {getattr(self, name)!r}")
        if self.kind != "insertion" and self.batch_s < 0.1:
            raise ValueError(f"batch_s must be at least 0.1 s for the {self.kind} policy, got {self.batch_s!r}")
        for name in ("rebalance_s", "reoptimize_s"):
            if 0 < getattr(self, name) < 1:
                raise ValueError(f"{name} must be 0 (off) or at least 1 s, got {getattr(self, name)!r}")
        if self.reoptimize_s > 0 and self.reoptimize_time_limit_s is not None and self.reoptimize_time_limit_s <= 0:
            raise ValueError("reoptimize_time_limit_s must be > 0 when reoptimize_s is on")
        zone = self.zone_m
        if isinstance(zone, bool) or not (isinstance(zone, int | float) and MIN_ZONE_M <= zone <= MAX_ZONE_M):
            raise ValueError(
                f"zone_m must be a number of metres in [{MIN_ZONE_M:g}, {MAX_ZONE_M:g}], got {self.zone_m!r}"
            )
        if not self.reserve <= self.charge_below <= self.charge_to <= 1:
            raise ValueError("battery fractions must satisfy reserve <= charge_below <= charge_to <= 1")


def check_seed(seed: Any) -> int:
    """``seed`` as an int in ``[0, 2**63)`` (bools rejected)."""
    return seed_int("seed", seed)


def core_fleet(space: TravelSpace, fleet: Fleet, policy: Policy) -> _dispatch.NetworkFleet | _dispatch.PlaneFleet:
    """The C++ fleet of ``fleet`` in ``space``, its vehicles at their depots."""
    if fleet.num_nodes != space.num_nodes:
        raise ValueError(f"fleet.num_nodes={fleet.num_nodes} but the space has {space.num_nodes} locations")
    start = fleet.depot_node[fleet.vehicle_depot]
    vehicles = _dispatch.VehicleSpecs(
        fleet.vehicle_seats, fleet.vehicle_battery_kwh, fleet.vehicle_kwh_per_km, fleet.vehicle_soc0
    )
    battery = (policy.reserve, policy.charge_below, policy.charge_to)
    rules = _dispatch.FleetOptions(policy.boarding_s, *battery, policy.wait_weight, policy.delay_weight)
    power = _dispatch.ChargerPower(*fleet.charger_power_kw())
    args = space.core_args()
    if isinstance(args, tuple):
        xy = np.asarray(space.node_xy)
        return _dispatch.plane_fleet(*args, vehicles, xy[start], xy[fleet.charger_node], power, rules)
    return _dispatch.network_fleet(args, vehicles, start, fleet.charger_node, power, rules)


def placer(
    core: _dispatch.NetworkFleet | _dispatch.PlaneFleet, policy: Policy, time_s: list[float], seed: int
) -> Callable[[float], None]:
    """``place_until(t)`` for ``policy``: places the requests made by ``t`` (s; ``time_s[k]`` is when
    request ``k`` was made, a list that may grow) in ``core`` and moves its clock to ``t``."""
    if policy.kind != "pooling":
        batch_s = policy.batch_s if policy.kind == "batch" else 0.0
        return lambda t: core.place_until(t, batch_s)
    limits = PoolingLimits(
        max_trip=policy.max_trip,
        per_request=policy.pool_vehicles,
        per_vehicle=policy.pool_candidates,
        trips_per_size=policy.pool_trips_per_size,
        deterministic_time=policy.pool_deterministic_time,
        time_limit_s=policy.pool_time_limit_s,
        rebalance=policy.pool_rebalance,
        reassign=policy.pool_reassign,
        seed=seed,
    )
    return PoolingRun(core, time_s, policy.batch_s, limits).run_until


@dataclass(frozen=True, eq=False)
class RideLimits:
    """Each request's limits in the core's terms (s): pickup window, drop-off deadline, time on board."""

    direct_s: FloatArray
    pickup_earliest_s: FloatArray
    pickup_latest_s: FloatArray
    dropoff_latest_s: FloatArray
    max_ride_s: FloatArray

    def __repr__(self) -> str:
        return f"RideLimits({self.direct_s.size} requests, mean direct ride {self.direct_s.mean():.0f} s)"

    @classmethod
    def of(cls, space: TravelSpace, requests: Requests, boarding_s: float) -> RideLimits:
        direct = space.travel_time(requests.origin, requests.destination)
        # inf * 0 for a zero-time ride with no relative limit; limits near 1e308 overflow to inf (none)
        with np.errstate(invalid="ignore", over="ignore"):
            relative = np.where(np.isinf(requests.max_detour), np.inf, direct * (1 + requests.max_detour))
            max_ride = boarding_s + np.minimum(relative, direct + requests.max_detour_s)
            latest_pickup = requests.pickup_earliest_s + requests.max_wait_s
            dropoff = np.minimum(requests.dropoff_latest_s, latest_pickup + max_ride)
        return cls(direct, requests.pickup_earliest_s, latest_pickup, dropoff, max_ride)

    @classmethod
    def by_time_of_day(
        cls, space: TravelSpace, changes: dict[float, TravelSpace], requests: Requests, boarding_s: float
    ) -> RideLimits:
        """As :meth:`of`, each request's direct time taken in the space in effect when it is made
        (``changes``: from each start time (s) on, that space)."""
        out = cls.of(space, requests, boarding_s)
        for t, other in changes.items():
            later = requests.time_s > t  # a request made at t is placed before the change
            if later.any():
                part = cls.of(other, requests, boarding_s)
                out = cls(*(np.where(later, getattr(part, f), getattr(out, f)) for f in cls.__dataclass_fields__))
        return out

    def add_to(
        self, core: _dispatch.NetworkFleet | _dispatch.PlaneFleet, space: TravelSpace, requests: Requests
    ) -> int:
        """Adds the requests to the core fleet; returns the id of the first."""
        origin: npt.NDArray[Any] = requests.origin
        destination: npt.NDArray[Any] = requests.destination
        if space.is_plane:
            assert space.node_xy is not None
            origin, destination = space.node_xy[origin], space.node_xy[destination]
        return core.add_rides(
            requests.time_s,
            origin,
            destination,
            requests.passengers,
            self.pickup_earliest_s,
            self.pickup_latest_s,
            self.dropoff_latest_s,
            self.max_ride_s,
        )


def check_requests(space: TravelSpace, fleet: Fleet, requests: Requests) -> None:
    """ValueError when the requests do not fit the space or no vehicle has the seats for one."""
    if requests.num_nodes != space.num_nodes:
        raise ValueError(f"requests.num_nodes={requests.num_nodes} but the space has {space.num_nodes} locations")
    too_many = requests.passengers > fleet.vehicle_seats.max()
    if too_many.any():
        k = int(np.flatnonzero(too_many)[0])
        raise ValueError(
            f"request {k} has {int(requests.passengers[k])} passengers, more than any vehicle's "
            f"{int(fleet.vehicle_seats.max())} seats"
        )


def _deficit_kwh(start: FloatArray, end: FloatArray) -> FloatArray:
    """``start - end`` where it is above the rounding tolerance, else 0 (also without a battery
    limit, where both are inf)."""
    limited = np.isfinite(start)
    short = np.zeros(start.shape)
    short[limited] = start[limited] - end[limited]
    return np.where(short > ENERGY_TOLERANCE_KWH, short, 0.0)


def within_day(start_s: FloatArray, end_s: FloatArray) -> tuple[IntArray, IntArray, FloatArray, FloatArray]:
    """The intervals ``[start_s, end_s)`` folded into one day of a series of equal days: cut at
    every midnight. Per piece: the interval it comes from, the day it lies in (0: the first), and
    its start and end within that day (s, in [0, 86,400])."""
    first = np.floor(np.asarray(start_s, dtype=float) / DAY_S).astype(np.int64)
    last = np.maximum(first, np.ceil(np.asarray(end_s, dtype=float) / DAY_S).astype(np.int64) - 1)
    pieces = last - first + 1
    index = np.repeat(np.arange(first.size), pieces)
    day = first[index] + np.arange(index.size) - np.repeat(np.cumsum(pieces) - pieces, pieces)
    begin = np.maximum(start_s[index] - day * DAY_S, 0.0)
    end = np.minimum(end_s[index] - day * DAY_S, DAY_S)
    return index, day, begin, end


@dataclass(frozen=True, eq=False)
class FleetDay(ToDict):
    """A simulated day: per request its vehicle (-1: not served), pickup and drop-off times (s, NaN
    if not served) and why it was rejected; every driven leg; charging sessions (``overnight``:
    refilling the battery for the next day); each vehicle's state of charge at the end
    (``soc_end_kwh``) and whose place it takes the next day (``next_day_as``: a vehicle of the same
    kind at that one's start, its own unless the overnight matching swapped them); ``kpis``."""

    _inputs = ("space", "fleet", "requests")

    space: TravelSpace
    fleet: Fleet
    requests: Requests
    policy: Policy
    vehicle: IntArray
    pickup_s: FloatArray
    dropoff_s: FloatArray
    rejection: npt.NDArray[np.str_]
    limits: RideLimits
    legs: dict[str, npt.NDArray[Any]]
    charging: dict[str, npt.NDArray[Any]]
    soc_end_kwh: FloatArray
    next_day_as: IntArray
    runtime_s: float
    reoptimized: int = 0
    kpis: dict[str, float] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "kpis", self._kpis())

    @property
    def served(self) -> npt.NDArray[np.bool_]:
        """Per request, whether a vehicle served it."""
        return self.vehicle >= 0

    @property
    def direct_s(self) -> FloatArray:
        """Each request's direct travel time (s)."""
        return self.limits.direct_s

    @property
    def broken(self) -> npt.NDArray[np.bool_]:
        """Served requests picked up late, dropped off late or on board too long (a slowdown after
        they were placed, see ``time_of_day`` in :func:`simulate`)."""
        lim = self.limits
        with np.errstate(invalid="ignore"):
            return self.served & (
                (self.pickup_s > lim.pickup_latest_s + PROMISE_TOLERANCE_S)
                | (self.dropoff_s > lim.dropoff_latest_s + PROMISE_TOLERANCE_S)
                | (self.dropoff_s - self.pickup_s > lim.max_ride_s + PROMISE_TOLERANCE_S)
            )

    @property
    def wait_s(self) -> FloatArray:
        """From the request (or booked earliest pickup) to the pickup (s), NaN if not served."""
        earliest: FloatArray = self.requests.pickup_earliest_s
        return self.pickup_s - earliest

    @property
    def ride_s(self) -> FloatArray:
        """Time on board (s), boarding dwell excluded, NaN if not served."""
        return self.dropoff_s - self.pickup_s - self.policy.boarding_s

    def _kpis(self) -> dict[str, float]:
        ok = self.served
        n = len(self.requests)
        wait, ride = self.wait_s[ok], self.ride_s[ok]
        km = self.legs["distance_m"] / 1000.0
        load = self.legs["load"]
        vehicle_km = float(km.sum())
        per_km = self.fleet.vehicle_kwh_per_km[self.legs["vehicle"]]
        return {
            "requests": float(n),
            "served_ratio": float(ok.mean()) if n else 0.0,
            "mean_wait_s": float(wait.mean()) if ok.any() else math.nan,
            "p95_wait_s": float(np.percentile(wait, 95)) if ok.any() else math.nan,
            "mean_detour": float((ride / self.direct_s[ok]).mean()) if ok.any() else math.nan,
            "occupancy": float((load * km).sum() / vehicle_km) if vehicle_km > 0 else 0.0,
            "vehicle_km": vehicle_km,
            "empty_km": float(km[load == 0].sum()),
            "energy_kwh": float((km * per_km).sum()),
            "charged_kwh": float(self.charging["energy_kwh"].sum()),
            "energy_deficit_kwh": float(self.energy_balance()["deficit_kwh"].sum()),
            "vehicles_used": float(np.unique(self.vehicle[ok]).size),
            "broken_promises": float(self.broken.sum()),
            "reoptimizations": float(self.reoptimized),
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per request: times, places, vehicle, wait, ride and direct time (s), rejection."""
        import pandas as pd

        r = self.requests
        return pd.DataFrame(
            {
                "time_s": r.time_s,
                "origin": r.origin,
                "destination": r.destination,
                "passengers": r.passengers,
                "vehicle": self.vehicle,
                "pickup_s": self.pickup_s,
                "dropoff_s": self.dropoff_s,
                "wait_s": self.wait_s,
                "ride_s": self.ride_s,
                "direct_s": self.direct_s,
                "rejection": self.rejection,
            }
        )

    def energy_balance(self) -> dict[str, FloatArray]:
        """Per vehicle (kWh): state of charge at the start, driven, charged (overnight included),
        state of charge at the end, and the deficit (start minus end, when the end is lower: the
        chargers could not refill it before its first trip of the next day). ``start - driven +
        charged = end``."""
        f = self.fleet
        per_leg = self.legs["distance_m"] / 1000.0 * f.vehicle_kwh_per_km[self.legs["vehicle"]]
        n = f.num_vehicles
        limited = np.isfinite(f.vehicle_battery_kwh)
        start = np.where(limited, f.vehicle_soc0 * np.where(limited, f.vehicle_battery_kwh, 0.0), np.inf)
        end = self.soc_end_kwh
        return {
            "soc_start_kwh": start,
            "driven_kwh": np.bincount(self.legs["vehicle"], per_leg, minlength=n).astype(float),
            "charged_kwh": np.bincount(self.charging["vehicle"], self.charging["energy_kwh"], minlength=n).astype(
                float
            ),
            "soc_end_kwh": end,
            "deficit_kwh": _deficit_kwh(start, end),
        }

    def charging_within_day(self) -> dict[str, npt.NDArray[Any]]:
        """The charging sessions as drawn over one day of a series of equal days (see
        :func:`within_day`): a session past midnight goes on at 0:00 of the same day. Per piece:
        ``session`` (its index in ``charging``), ``day`` (0: the simulated day), ``vehicle``,
        ``charger``, ``start_s``, ``end_s`` (within the day) and ``energy_kwh`` drawn in it (at the
        chargers' power by slot; the pieces of a session add up to its energy)."""
        c = self.charging
        index, day, start, end = within_day(c["start_s"], c["end_s"])
        drawn = self._drawn_kwh(c["charger"][index], day * DAY_S + start, day * DAY_S + end)
        total = np.bincount(index, drawn, minlength=c["charger"].size)
        share = np.divide(drawn, total[index], out=np.zeros_like(drawn), where=total[index] > 0)
        return {
            "session": index,
            "day": day,
            "vehicle": c["vehicle"][index],
            "charger": c["charger"][index],
            "start_s": start,
            "end_s": end,
            "energy_kwh": c["energy_kwh"][index] * share,
        }

    def charger_load_kw(self, slot_s: float = 900.0) -> FloatArray:
        """Mean charging power (kW) per charger and slot of ``slot_s`` over the day (sessions past
        midnight go on in the morning, see :meth:`charging_within_day`), shape ``(chargers,
        86,400 / slot_s)``: the fleet's load for the energy module, each kWh in the slot it is
        drawn. ValueError if the folded day has a charger draw more than its power (sessions of
        different days overlapping: a day longer than a day, or a session past midnight running
        into the next morning's)."""
        slots = slots_per_day("slot_s", slot_s)
        c = self.charging_within_day()
        edges = np.arange(slots + 1) * slot_s
        piece, slot, begin, end = [], [], [], []
        for i in range(c["charger"].size):
            first, last = np.searchsorted(edges, [c["start_s"][i], c["end_s"][i]], side="right") - 1
            cells = np.arange(first, min(last, slots - 1) + 1)
            piece.append(np.full(cells.size, i))
            slot.append(cells)
            begin.append(np.maximum(edges[cells], c["start_s"][i]))
            end.append(np.minimum(edges[cells + 1], c["end_s"][i]))
        k, j = np.concatenate([np.zeros(0, int), *piece]), np.concatenate([np.zeros(0, int), *slot])
        offset = c["day"][k] * DAY_S
        drawn = self._drawn_kwh(
            c["charger"][k], offset + np.concatenate([[], *begin]), offset + np.concatenate([[], *end])
        )
        total = np.bincount(k, drawn, minlength=c["charger"].size)
        share = np.divide(drawn, total[k], out=np.zeros_like(drawn), where=total[k] > 0)
        out = np.zeros((self.fleet.charger_node.shape[0], slots))
        np.add.at(out, (c["charger"][k], j), c["energy_kwh"][k] * share / (slot_s / 3600.0))
        chargers = np.repeat(np.arange(out.shape[0]), slots)
        cells = np.tile(edges[:-1], out.shape[0])
        most = self._drawn_kwh(chargers, cells, cells + slot_s).reshape(out.shape) / (slot_s / 3600.0)
        over = out > most * (1 + 1e-9) + 1e-9
        if over.any():
            ch, t = (int(i[0]) for i in np.nonzero(over))
            raise ValueError(
                f"folded into one day, charger {ch} draws {out[ch, t]:g} kW in slot {t}, more than its "
                f"{most[ch, t]:g} kW: the fleet's sessions of different days overlap there (the day does not repeat)"
            )
        return out

    def _drawn_kwh(self, charger: IntArray, start_s: FloatArray, end_s: FloatArray) -> FloatArray:
        """Energy (kWh) each charger delivers over ``[start_s, end_s)`` at its power by slot."""
        power = _dispatch.ChargerPower(*self.fleet.charger_power_kw())
        return np.array(
            [power.energy_kwh(int(c), a, b) for c, a, b in zip(charger, start_s, end_s, strict=True)], dtype=float
        )

    def fleet_state(self, step_s: float = 60.0) -> dict[str, FloatArray]:
        """Vehicles driving with riders, driving empty and charging, and riders on board, sampled
        every ``step_s`` over one day (``time_s``, in [0, 86,400); what runs past midnight counts in
        the morning, as in a series of equal days)."""
        legs, c = self.legs, self.charging
        t = np.arange(0.0, DAY_S, step_s)

        def active(start: FloatArray, stop: FloatArray, weight: FloatArray | None = None) -> FloatArray:
            """Sum of the weights of the intervals [start, stop), folded into the day, holding each
            sample time."""
            index, _, begin, end = within_day(start, stop)
            w = (np.ones(start.shape[0]) if weight is None else weight)[index]

            def up_to(times: FloatArray) -> FloatArray:
                order = np.argsort(times, kind="stable")
                total = np.concatenate([[0.0], np.cumsum(w[order])])
                return np.asarray(total[np.searchsorted(times[order], t, side="right")], dtype=float)

            return up_to(begin) - up_to(end)

        loaded = legs["load"] > 0
        return {
            "time_s": t,
            "with_riders": active(legs["depart_s"][loaded], legs["arrive_s"][loaded]),
            "empty": active(legs["depart_s"][~loaded], legs["arrive_s"][~loaded]),
            "charging": active(c["start_s"], c["end_s"]),
            "riders": active(legs["depart_s"], legs["arrive_s"], legs["load"].astype(float)),
        }

    def plot(self, ax: Axes | None = None) -> Axes:
        """The fleet over the day (0-24 h; what runs past midnight is drawn in the morning):
        vehicles driving with riders, empty, charging; riders on board."""
        import matplotlib.pyplot as plt

        s = self.fleet_state()
        if ax is None:
            _, ax = plt.subplots(figsize=(9, 4))
        hours = s["time_s"] / 3600
        ax.stackplot(
            hours, s["with_riders"], s["empty"], s["charging"], labels=["with riders", "empty", "charging"], alpha=0.8
        )
        ax.plot(hours, s["riders"], "k", lw=1, label="riders on board")
        ax.set_xlim(0, 24)
        ax.set_xticks(range(0, 25, 3))
        ax.set_xlabel("time of day, h")
        ax.set_ylabel("vehicles / riders on board")
        ax.set_title(
            f"{self.fleet.num_vehicles} vehicles: served {self.kpis['served_ratio']:.1%}, "
            f"mean wait {self.kpis['mean_wait_s'] / 60:.1f} min"
        )
        ax.legend(loc="upper left", fontsize=8)
        return ax

    def plot_map(self, ax: Axes | None = None) -> Axes:
        """Served trips as lines from origin to destination over the space's locations."""
        import matplotlib.pyplot as plt

        if self.space.node_xy is None:
            raise ValueError("the space has no coordinates to draw (TravelSpace.from_matrix without node_xy)")
        xy = self.space.node_xy
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 6))
        ok = self.served
        o, d = xy[self.requests.origin[ok]], xy[self.requests.destination[ok]]
        ax.scatter(xy[:, 0], xy[:, 1], s=2, c="0.7")
        ax.plot(np.stack([o[:, 0], d[:, 0]]), np.stack([o[:, 1], d[:, 1]]), lw=0.3, alpha=0.3, c="C0")
        depots = xy[self.fleet.depot_node]
        ax.scatter(depots[:, 0], depots[:, 1], marker="s", c="k", label="depots")
        ax.set_aspect("equal")
        ax.set_title(f"{int(ok.sum())} served trips")
        return ax

    def __repr__(self) -> str:
        k = self.kpis
        return (
            f"FleetDay({int(k['requests'])} requests, served {k['served_ratio']:.1%}, "
            f"wait mean {k['mean_wait_s']:.0f} s / p95 {k['p95_wait_s']:.0f} s, detour {k['mean_detour']:.2f}, "
            f"occupancy {k['occupancy']:.2f}, {k['vehicle_km']:.0f} veh-km ({k['empty_km']:.0f} empty), "
            f"{k['requests'] / max(self.runtime_s, 1e-9):,.0f} requests/s)"
        )


def simulate(
    space: TravelSpace | RoadNetwork,
    fleet: Fleet,
    requests: Requests,
    *,
    policy: Policy | Literal["insertion", "batch", "pooling"] = "insertion",
    seed: int = 0,
    time_of_day: Sequence[tuple[float, TravelSpace]] = (),
    overnight: bool = True,
    progress: bool | None = None,
) -> FleetDay:
    """Simulates a day of ``requests`` served by ``fleet`` on a travel space or a road network (its
    link times), under ``policy``. ``time_of_day`` lists ``(start_s, space)`` pairs, start times
    increasing: from each start on, travel times are those of its space (same kind and locations;
    e.g. link times with a peak's signal delays); legs under way finish to where they can turn and
    plans are re-timed, so a slowdown can break promises made before it
    (``kpis["broken_promises"]``). ``seed`` seeds the pooling policy's CP-SAT and the
    re-optimisation (the day is the same for a seed unless a time budget runs out).
    The day is one of a series of equal days: with ``overnight`` (the default), once the last ride
    is done every vehicle goes to the start of a vehicle of its kind (its own, or another's if that
    serves the next day better: ``FleetDay.next_day_as``), charging on the way so as to be
    there with that vehicle's initial state of charge before its first trip of the next day
    (``FleetDay.energy_balance`` shows what is left short).
    ``progress`` shows a bar over the simulated day (default: when stderr is a terminal or in a
    Jupyter notebook).

    Examples:
        >>> from smartopt.datasets import sejong_5_1
        >>> from smartopt.dispatch import simulate
        >>> district = sejong_5_1()
        >>> day = simulate(district.network, district.fleet, district.requests, progress=False)  # 30 shuttles
        >>> int(day.kpis["requests"]), round(day.kpis["served_ratio"], 2), round(day.kpis["mean_wait_s"])
        (2971, 1.0, 283)
    """
    space = _travel_space(space)
    pol = policy if isinstance(policy, Policy) else Policy(kind=policy)
    seed = check_seed(seed)
    check_requests(space, fleet, requests)
    changes = check_time_of_day(time_of_day, space.check_same_locations)
    _check_steps(requests, pol, len(changes))
    limits = RideLimits.by_time_of_day(space, changes, requests, pol.boarding_s)
    start = time.perf_counter()
    core = core_fleet(space, fleet, pol)
    limits.add_to(core, space, requests)
    begin, end = _span(requests)
    rebalance_at, reoptimize_at = _grid(begin, end, pol.rebalance_s), _grid(begin, end, pol.reoptimize_s)
    steps = np.unique(np.concatenate([_grid(begin, end, 3600.0), rebalance_at, reoptimize_at, list(changes)]))
    rebalance_due, reoptimize_due = set(rebalance_at.tolist()), set(reoptimize_at.tolist())
    if steps.size > MAX_STEPS:
        raise ValueError(
            f"the day has {steps.size:,} steps (hours, rebalancing, re-optimisation); at most {MAX_STEPS:,}"
        )
    zones = Zones.grid(space, pol.zone_m) if pol.rebalance_s > 0 else None
    if zones is not None:
        origin_zone = zones.of_points(np.asarray(space.node_xy)[requests.origin])
    show = _progress.shown(progress)
    place_until = placer(core, pol, requests.time_s.tolist(), seed)

    driving = space
    reoptimized = 0
    for t in _progress.progress(steps.tolist(), desc="simulating", unit="step", enabled=show):
        place_until(t)
        if t in changes:
            driving = changes[t]
            core.set_space(driving.core_args())  # type: ignore[arg-type]
        if zones is not None and t in rebalance_due:
            soon = (requests.time_s >= t) & (requests.time_s < t + 3600.0)
            rebalance(core, driving, zones, np.bincount(origin_zone[soon], minlength=zones.anchor.size).astype(float))
        if t in reoptimize_due:
            reoptimized += reoptimize(
                core,
                driving,
                boarding_s=pol.boarding_s,
                time_limit_s=pol.reoptimize_time_limit_s,
                seed=seed,
                max_iterations=pol.reoptimize_iterations,
            ).replaced
    place_until(math.inf)
    core.finish()
    if overnight:
        core.close_day(DAY_S)
    runtime = time.perf_counter() - start
    rec = columns(core.records())
    served = rec["vehicle"] >= 0
    return FleetDay(
        space=space,
        fleet=fleet,
        requests=requests,
        policy=pol,
        vehicle=rec["vehicle"],
        pickup_s=np.where(served, rec["pickup_s"], np.nan),
        dropoff_s=np.where(served, rec["dropoff_s"], np.nan),
        rejection=np.array(REJECTIONS, dtype=str)[rec["reason"]],
        limits=limits,
        legs=columns(core.legs()),
        charging=columns(core.sessions()),
        soc_end_kwh=columns(core.vehicles())["soc_kwh"],
        next_day_as=core.next_day_as() if overnight else np.arange(fleet.num_vehicles, dtype=np.int32),
        runtime_s=runtime,
        reoptimized=reoptimized,
    )


def _span(requests: Requests) -> tuple[float, float]:
    """From an hour before the first request (rebalancing looks an hour ahead) to the last (s)."""
    if not len(requests):
        return 0.0, 0.0
    return max(0.0, float(requests.time_s[0]) - 3600.0), float(requests.time_s[-1])


def _check_steps(requests: Requests, policy: Policy, changes: int) -> None:
    """ValueError naming ``requests.time_s`` when the day would take more than ``MAX_STEPS`` steps
    (hours, rebalancing and re-optimisation intervals, travel-time changes): counted before any
    work or memory that grows with the time span."""
    begin, end = _span(requests)

    def count(step: float) -> float:
        return 0.0 if step <= 0 else math.floor(end / step) - math.floor(begin / step) + 1.0

    steps = count(3600.0) + count(policy.rebalance_s) + count(policy.reoptimize_s) + changes
    if steps > MAX_STEPS:
        raise ValueError(
            f"requests.time_s spans {begin:g} to {end:g} s: the day would take {steps:,.0f} steps (hours, "
            f"rebalancing, re-optimisation); at most {MAX_STEPS:,}"
        )


def _grid(begin: float, end: float, step: float) -> FloatArray:
    """The multiples of ``step`` (s) after ``begin`` up to the first at or after ``end``; none if
    ``step`` is 0."""
    if step <= 0:
        return np.zeros(0)
    return np.arange(math.floor(begin / step) + 1, math.floor(end / step) + 2) * step


@dataclass(frozen=True, eq=False)
class FleetSizing(ToDict):
    """Service per fleet size: ``sizes`` and, per size, the served ratio, mean wait (s) and the
    energy the chargers could not give back overnight (kWh, see
    :meth:`FleetDay.energy_balance`); ``smallest`` is the first size meeting both
    targets with no such deficit, a day the fleet can repeat (None if none does)."""

    sizes: IntArray
    served_ratio: FloatArray
    mean_wait_s: FloatArray
    energy_deficit_kwh: FloatArray
    smallest: int | None

    def __repr__(self) -> str:
        return f"FleetSizing({self.sizes.size} sizes {self.sizes.min()}-{self.sizes.max()}: smallest {self.smallest})"

    def to_frame(self) -> pd.DataFrame:
        """One row per fleet size: vehicles, served ratio, mean wait (s), energy deficit (kWh)."""
        import pandas as pd

        return pd.DataFrame(
            {
                "vehicles": self.sizes,
                "served_ratio": self.served_ratio,
                "mean_wait_s": self.mean_wait_s,
                "energy_deficit_kwh": self.energy_deficit_kwh,
            }
        )


def size_fleet(
    space: TravelSpace | RoadNetwork,
    fleet: Fleet,
    requests: Requests,
    *,
    sizes: npt.ArrayLike,
    served_ratio: float = 0.95,
    mean_wait_s: float = 300.0,
    policy: Policy | Literal["insertion", "batch", "pooling"] = "insertion",
    time_of_day: Sequence[tuple[float, TravelSpace]] = (),
) -> FleetSizing:
    """Simulates the day with each fleet size in ``sizes`` (the fleet resized, see
    :meth:`Fleet.resized`; travel times by ``time_of_day`` as in :func:`simulate`) and finds the
    smallest serving at least ``served_ratio`` of the requests with a mean wait of at most
    ``mean_wait_s``, ending the day with every battery refilled (a day it can repeat)."""
    space = _travel_space(space)
    n = np.unique(count_array("sizes", sizes, minimum=1))
    if n.size == 0:
        raise ValueError("sizes must hold fleet sizes >= 1")
    days = [
        simulate(space, fleet.resized(int(k)), requests, policy=policy, time_of_day=time_of_day, progress=False)
        for k in n
    ]
    served = np.array([d.kpis["served_ratio"] for d in days])
    wait = np.array([d.kpis["mean_wait_s"] for d in days])
    deficit = np.array([d.kpis["energy_deficit_kwh"] for d in days])
    ok = np.flatnonzero((served >= served_ratio) & (wait <= mean_wait_s) & (deficit == 0))
    return FleetSizing(n, served, wait, deficit, int(n[ok[0]]) if ok.size else None)


def _travel_space(space: TravelSpace | RoadNetwork) -> TravelSpace:
    """``space`` itself, or a road network's space of link times; TypeError naming anything else."""
    if isinstance(space, RoadNetwork):
        return TravelSpace.from_network(space)
    if isinstance(space, TravelSpace):
        return space
    raise TypeError(f"space must be a TravelSpace or RoadNetwork, got {type(space).__name__}")
