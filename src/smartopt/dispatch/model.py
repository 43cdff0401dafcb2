"""The shuttle fleet and a day of ride requests."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from smartopt._serialise import ToDict
from smartopt._validation import FloatArray, IntArray, assign_frozen, count_array, float_array, index_array

MAX_VEHICLES = 1_000_000
"""Most vehicles :meth:`Fleet.resized` makes (bounds its memory)."""
DAY_S = 86400.0
"""One day (s): a fleet's day repeats, and so does its chargers' power by slot."""
MAX_TIME_S = 1e12
"""Latest time (s) of a request or a dispatcher's clock (about 31,700 years): times stay exact to
well under a millisecond."""


def columns(table: npt.NDArray[np.void]) -> dict[str, npt.NDArray[Any]]:
    """The fields of a structured array (a fleet core's table) as columns by name: contiguous arrays
    of their own, not strided views keeping the whole table alive."""
    assert table.dtype.names is not None
    return {name: table[name].copy() for name in table.dtype.names}


def slots_per_day(name: str, slot_s: Any) -> int:
    """How many slots of ``slot_s`` seconds make one day; ValueError naming ``name`` unless they
    divide it into whole slots of at least 1 s."""
    if isinstance(slot_s, bool) or not isinstance(slot_s, int | float | np.integer | np.floating):
        raise TypeError(f"{name} must be a number of seconds, got {slot_s!r}")
    if not 1.0 <= slot_s <= DAY_S:
        raise ValueError(f"{name} must be a number of seconds in [1, {DAY_S:g}], got {slot_s!r}")
    slots = round(DAY_S / slot_s)
    if abs(slots * slot_s - DAY_S) > 1e-6:
        raise ValueError(f"{name}={slot_s!r} must divide the day ({DAY_S:g} s) into whole slots")
    return slots


def _charger_kw(value: Any, chargers: int, slot_s: Any) -> FloatArray:
    """``charger_kw`` checked: ``(chargers,)`` kW > 0, or ``(chargers, slots)`` kW >= 0 over one day
    of ``slot_s`` slots with some power for every charger."""
    slots = slots_per_day("charger_slot_s", slot_s)
    if np.ndim(value) != 2:
        return float_array("charger_kw", value, (chargers,), positive=True)
    out = float_array("charger_kw", value, (chargers, slots), nonnegative=True)
    idle = ~(out > 0).any(axis=1)
    if idle.any():
        raise ValueError(f"charger_kw[{int(np.flatnonzero(idle)[0])}] has no power in any slot")
    return out


@dataclass(frozen=True, eq=False)
class Fleet(ToDict):
    """Shuttles on a road network of ``num_nodes`` nodes: per vehicle its start depot, seats,
    battery (kWh; inf: no limit), consumption (kWh/km) and initial state of charge (fraction);
    depots and chargers as network nodes, chargers with power (kW) and the grid bus that feeds
    them. A charger's power is one value (kW, all day) or a day of slots of ``charger_slot_s``
    (``(chargers, slots)`` kW, slots x ``charger_slot_s`` = one day, the same every day; e.g. what
    the grid can spare each quarter hour)."""

    num_nodes: int
    depot_node: IntArray
    vehicle_depot: IntArray
    vehicle_seats: IntArray
    vehicle_battery_kwh: FloatArray
    vehicle_kwh_per_km: FloatArray
    vehicle_soc0: FloatArray
    charger_node: IntArray
    charger_kw: FloatArray
    charger_bus: IntArray
    charger_slot_s: float = 900.0

    def __repr__(self) -> str:
        return (
            f"Fleet({self.num_vehicles} vehicles, {int(self.vehicle_seats.sum())} seats, "
            f"{self.depot_node.size} depots, {self.charger_node.size} chargers "
            f"({float(np.max(self.charger_kw, initial=0.0)):g} kW at most), "
            f"on {self.num_nodes} nodes)"
        )

    def __post_init__(self) -> None:
        depots = index_array("depot_node", self.depot_node, self.num_nodes)
        veh = index_array("vehicle_depot", self.vehicle_depot, depots.shape[0])
        nv = veh.shape[0]
        if nv == 0:
            raise ValueError("vehicle_depot is empty: a fleet needs at least one vehicle")
        soc0 = float_array("vehicle_soc0", self.vehicle_soc0, (nv,), nonnegative=True)
        if (soc0 > 1).any():
            raise ValueError(f"vehicle_soc0[{int(np.flatnonzero(soc0 > 1)[0])}] must be a fraction in [0, 1]")
        chargers = index_array("charger_node", self.charger_node, self.num_nodes)
        assign_frozen(
            self,
            {
                "depot_node": depots,
                "vehicle_depot": veh,
                "vehicle_seats": count_array("vehicle_seats", self.vehicle_seats, (nv,), minimum=1),
                "vehicle_battery_kwh": float_array(
                    "vehicle_battery_kwh", self.vehicle_battery_kwh, (nv,), positive=True, allow_inf=True
                ),
                "vehicle_kwh_per_km": float_array("vehicle_kwh_per_km", self.vehicle_kwh_per_km, (nv,), positive=True),
                "vehicle_soc0": soc0,
                "charger_node": chargers,
                "charger_kw": _charger_kw(self.charger_kw, chargers.shape[0], self.charger_slot_s),
                "charger_bus": count_array("charger_bus", self.charger_bus, chargers.shape),
            },
        )

    @property
    def num_vehicles(self) -> int:
        """Number of vehicles in the fleet."""
        return int(self.vehicle_depot.shape[0])

    def charger_power_kw(self) -> tuple[FloatArray, float]:
        """Each charger's power (kW) per slot, ``(chargers, slots)``, and the slot length (s): one
        slot of a day when the power is constant."""
        if self.charger_kw.ndim == 1:
            return self.charger_kw[:, None], DAY_S
        return self.charger_kw, float(self.charger_slot_s)

    def resized(self, num_vehicles: int) -> Fleet:
        """The same fleet with ``num_vehicles`` vehicles: vehicle ``k`` is a copy of vehicle
        ``k mod num_vehicles`` of this one (same depot, seats and battery)."""
        if isinstance(num_vehicles, bool) or not isinstance(num_vehicles, int | np.integer):
            raise TypeError(f"num_vehicles must be an int, got {num_vehicles!r}")
        if not 1 <= num_vehicles <= MAX_VEHICLES:
            raise ValueError(f"num_vehicles must be in [1, {MAX_VEHICLES:,}], got {num_vehicles!r}")
        pick = np.arange(num_vehicles) % self.num_vehicles
        return replace(
            self,
            vehicle_depot=self.vehicle_depot[pick],
            vehicle_seats=self.vehicle_seats[pick],
            vehicle_battery_kwh=self.vehicle_battery_kwh[pick],
            vehicle_kwh_per_km=self.vehicle_kwh_per_km[pick],
            vehicle_soc0=self.vehicle_soc0[pick],
        )


@dataclass(frozen=True, eq=False)
class Requests(ToDict):
    """Ride requests sorted by time: request time (s after midnight), origin and destination
    locations (network nodes, or points of a plane space), passengers, and what each rider is
    promised (scalars apply to every request):

    - ``max_wait_s``: picked up at most this long after the request (or after ``pickup_earliest_s``);
    - ``max_detour`` and ``max_detour_s``: time on board (boarding dwell excluded) at most
      ``(1 + max_detour)`` times and at most ``max_detour_s`` more than the direct drive;
    - pre-booked rides: ``pickup_earliest_s`` (not picked up before) and ``dropoff_latest_s``
      (arrive by), None when not booked (inf in an array: no deadline).
    """

    num_nodes: int
    time_s: FloatArray
    origin: IntArray
    destination: IntArray
    passengers: IntArray
    max_wait_s: Any = 600.0
    max_detour: Any = 1.0
    max_detour_s: Any = np.inf
    pickup_earliest_s: Any = None
    dropoff_latest_s: Any = None

    def __repr__(self) -> str:
        span = f"{self.time_s[0] / 3600:.1f}-{self.time_s[-1] / 3600:.1f} h" if len(self) else "none"
        return f"Requests({len(self)} requests, {int(self.passengers.sum())} passengers, {span})"

    def __post_init__(self) -> None:
        t = float_array("time_s", self.time_s, (None,), nonnegative=True)
        n = t.shape[0]
        if (np.diff(t) < 0).any():
            raise ValueError(f"time_s must be sorted; request {int(np.flatnonzero(np.diff(t) < 0)[0]) + 1} is earlier")
        o = index_array("origin", self.origin, self.num_nodes, (n,))
        d = index_array("destination", self.destination, self.num_nodes, (n,))
        same = o == d
        if same.any():
            raise ValueError(f"request {int(np.flatnonzero(same)[0])} has the same origin and destination")

        def per_request(name: str, value: Any, **rules: bool) -> FloatArray:
            return float_array(name, np.broadcast_to(np.asarray(value, dtype=float), (n,)), (n,), **rules)

        earliest = t if self.pickup_earliest_s is None else per_request("pickup_earliest_s", self.pickup_earliest_s)
        for name, times in (("time_s", t), ("pickup_earliest_s", earliest)):
            late = times > MAX_TIME_S
            if late.any():
                i = int(np.flatnonzero(late)[0])
                raise ValueError(f"{name}[{i}]={times[i]:g} is past the latest time of {MAX_TIME_S:g} s")
        assign_frozen(
            self,
            {
                "time_s": t,
                "origin": o,
                "destination": d,
                "passengers": count_array("passengers", self.passengers, (n,), minimum=1),
                "max_wait_s": per_request("max_wait_s", self.max_wait_s, nonnegative=True, allow_inf=True),
                "max_detour": per_request("max_detour", self.max_detour, nonnegative=True, allow_inf=True),
                "max_detour_s": per_request("max_detour_s", self.max_detour_s, nonnegative=True, allow_inf=True),
                "pickup_earliest_s": np.maximum(earliest, t),
                "dropoff_latest_s": per_request(
                    "dropoff_latest_s",
                    np.inf if self.dropoff_latest_s is None else self.dropoff_latest_s,
                    allow_inf=True,
                ),
            },
        )

    def __len__(self) -> int:
        return int(self.time_s.shape[0])

    def subset(self, index: npt.ArrayLike) -> Requests:
        """The requests at positions ``index`` (non-decreasing; a repeated position is another
        rider with the same request)."""
        k = np.asarray(index, dtype=np.int64)
        if k.ndim != 1 or (np.diff(k) < 0).any() or (k.size and (k[0] < 0 or k[-1] >= len(self))):
            raise ValueError(f"index must hold non-decreasing positions in [0, {len(self)})")
        return Requests(
            num_nodes=self.num_nodes,
            time_s=self.time_s[k],
            origin=self.origin[k],
            destination=self.destination[k],
            passengers=self.passengers[k],
            max_wait_s=self.max_wait_s[k],
            max_detour=self.max_detour[k],
            max_detour_s=self.max_detour_s[k],
            pickup_earliest_s=self.pickup_earliest_s[k],
            dropoff_latest_s=self.dropoff_latest_s[k],
        )
