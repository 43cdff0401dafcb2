"""The live dispatcher for a shuttle service: answer each ride request at once, keep the fleet's
plans as vehicles move, report what happened."""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from smartopt._core import _spatial
from smartopt._serialise import ToDict
from smartopt._validation import FloatArray, IntArray, float_array, positive_float
from smartopt.dispatch.model import Fleet, Requests
from smartopt.dispatch.rebalancing import Zones, rebalance
from smartopt.dispatch.reoptimize import Reoptimization, reoptimize
from smartopt.dispatch.simulation import (
    REJECTIONS,
    Policy,
    RideLimits,
    check_requests,
    core_fleet,
    placer,
)
from smartopt.dispatch.space import TravelSpace
from smartopt.network import RoadNetwork

EVENT_KINDS = ("pickup", "dropoff", "charge", "reposition")
DECISIONS = ("assigned", "rejected")
"""Event kinds of a batched request's placement (see :meth:`Dispatcher.advance`)."""
REJECTED = 4
"""The core's status code of a rejected ride."""


@dataclass(frozen=True)
class Offer(ToDict):
    """The answer to a request: its id, the vehicle and planned pickup and drop-off times (s), the
    insertion's cost (s: added driving time plus the policy's weighted wait; NaN when not known);
    or, when not accepted, why (see ``REJECTIONS``). ``pending``: a batch policy will decide at
    its next batch (:meth:`Dispatcher.advance` reports it)."""

    request: int
    accepted: bool
    vehicle: int
    pickup_s: float
    dropoff_s: float
    cost_s: float
    rejection: str
    pending: bool = False


@dataclass(frozen=True)
class Event(ToDict):
    """A pickup or drop-off of ``request``, the start of charging at charger ``request``, the end
    of a reposition trip (``request`` -1), or a batch's decision on a pending ``request``:
    ``"assigned"`` to ``vehicle`` or ``"rejected"`` (``vehicle`` -1)."""

    time_s: float
    kind: str
    vehicle: int
    request: int


@dataclass(frozen=True, eq=False)
class FleetSnapshot(ToDict):
    """The fleet at ``time_s``: where each vehicle is or can next turn (location index, or the
    point (m) in a plane space) and when, riders' seats taken, battery (kWh), planned stops."""

    time_s: float
    position: npt.NDArray[Any]
    position_s: FloatArray
    load: IntArray
    soc_kwh: FloatArray
    stops: IntArray
    in_service: npt.NDArray[np.bool_]


class Dispatcher:
    """Places ride requests in a fleet (riders pooled, every rider's wait and detour promises and
    seat and battery limits kept) under ``policy`` (see :class:`Policy`): with ``"insertion"`` each
    request at once, at its cheapest feasible insertion; with ``"batch"`` or ``"pooling"`` requests
    wait for the next multiple of ``batch_s`` and :meth:`advance` reports the decisions. ``seed``
    seeds pooling and re-optimisation. Thread-safe: calls are serialised. Times are seconds on the
    service's clock."""

    def __init__(
        self,
        space: TravelSpace | RoadNetwork,
        fleet: Fleet,
        *,
        policy: Policy | None = None,
        start_s: float = 0.0,
        seed: int = 0,
    ) -> None:
        self.space = space if isinstance(space, TravelSpace) else TravelSpace.from_network(space)
        self.fleet = fleet
        self.policy = policy or Policy()
        self.seed = seed
        self._core = core_fleet(self.space, fleet, self.policy)
        self._request_s: list[float] = []
        self._place_until = placer(self._core, self.policy, self._request_s, seed)
        self._pending: list[int] = []
        self._last_batch_s = -math.inf
        self._decisions: list[Event] = []  # made while a submit moved the clock, not reported yet
        self._lock = threading.Lock()
        self._events_seen = 0
        self.advance(start_s)

    @property
    def now_s(self) -> float:
        return float(self._core.now)

    def submit(
        self,
        origin: int | tuple[float, float],
        destination: int | tuple[float, float],
        *,
        time_s: float | None = None,
        passengers: int = 1,
        max_wait_s: float = 600.0,
        max_detour: float = 1.0,
        max_detour_s: float = math.inf,
        pickup_earliest_s: float | None = None,
        dropoff_latest_s: float | None = None,
    ) -> Offer:
        """Places a request made at ``time_s`` (default: now; the clock moves there) from
        ``origin`` to ``destination`` (location indices, or (x, y) in m snapped to the nearest
        location). Promises as in :class:`Requests`. Returns the offer (accepted or not)."""
        with self._lock:
            now = self.now_s if time_s is None else float(time_s)
            request = Requests(
                num_nodes=self.space.num_nodes,
                time_s=np.array([now]),
                origin=np.array([self._location("origin", origin)]),
                destination=np.array([self._location("destination", destination)]),
                passengers=np.array([passengers]),
                max_wait_s=max_wait_s,
                max_detour=max_detour,
                max_detour_s=max_detour_s,
                pickup_earliest_s=pickup_earliest_s,
                dropoff_latest_s=dropoff_latest_s,
            )
            check_requests(self.space, self.fleet, request)
            if now < self.now_s:
                raise ValueError(f"time_s={now} is before the dispatcher's clock {self.now_s}")
            self._decisions += self._run_to(now)
            limits = RideLimits.of(self.space, request, self.policy.boarding_s)
            ride = limits.add_to(self._core, self.space, request)
            self._request_s.append(now)  # after the core took it: ids stay in step
            if self.policy.kind == "insertion":
                return self._offer(ride)
            self._pending.append(ride)
            return Offer(ride, False, -1, math.nan, math.nan, math.nan, "", pending=True)

    def advance(self, now_s: float) -> list[Event]:
        """Moves the clock to ``now_s``: batches due by then are placed, vehicles drive and serve
        their stops; returns the events since the last call (stops in time order, then the
        batches' decisions)."""
        with self._lock:
            if not (isinstance(now_s, int | float) and now_s >= self.now_s):
                raise ValueError(f"now_s must be a time >= the clock {self.now_s}, got {now_s!r}")
            decisions = self._decisions + self._run_to(float(now_s))
            self._decisions = []
            e = self._core.events(self._events_seen)
            self._events_seen += int(e["time_s"].shape[0])
            stops = [
                Event(float(t), EVENT_KINDS[k], int(v), int(i))
                for t, k, v, i in zip(e["time_s"], e["kind"], e["vehicle"], e["id"], strict=True)
            ]
            return stops + decisions

    def offer(self, request: int) -> Offer:
        """Where request ``request`` stands now: its vehicle and planned (or actual) pickup and
        drop-off times (s), its rejection, or pending."""
        with self._lock:
            if not (isinstance(request, int | np.integer) and 0 <= request < len(self._request_s)):
                raise ValueError(f"unknown request {request!r}: {len(self._request_s)} were submitted")
            rec = self._core.records()
            vehicle, status = int(rec["vehicle"][request]), int(rec["status"][request])
            if status == REJECTED:
                return Offer(request, False, -1, math.nan, math.nan, math.nan, REJECTIONS[rec["reason"][request]])
            if vehicle < 0:
                return Offer(request, False, -1, math.nan, math.nan, math.nan, "", pending=True)
            pickup, dropoff = float(rec["pickup_s"][request]), float(rec["dropoff_s"][request])
            return Offer(request, True, vehicle, pickup, dropoff, math.nan, "")

    def set_travel_times(self, space: TravelSpace) -> list[int]:
        """New travel times from now on (same locations; e.g. a traffic feed or a peak's signal
        delays): legs under way finish to where they can turn, plans are re-timed. Returns the
        requests whose promises can no longer be kept (they stay assigned)."""
        with self._lock:
            self.space.check_same_locations("space", space)
            broken = self._core.set_space(space.core_args())  # type: ignore[arg-type]
            self.space = space
            return [int(r) for r in broken]

    def reoptimize(self, *, time_limit_s: float = 1.0, max_iterations: int | None = None) -> Reoptimization:
        """Re-plans the fleet with the routing solver (see :func:`reoptimize`); the new plans are
        taken only if they keep every promise and drive less."""
        limit = positive_float("time_limit_s", time_limit_s)
        with self._lock:
            return reoptimize(
                self._core,
                self.space,
                boarding_s=self.policy.boarding_s,
                time_limit_s=limit,
                seed=self.seed,
                max_iterations=max_iterations,
            )

    def _run_to(self, now: float) -> list[Event]:
        """Moves the clock to ``now``, batch by batch while requests are pending; the decisions."""
        if self.policy.kind == "insertion":
            self._core.advance(now)
            return []
        out: list[Event] = []
        batch_s = self.policy.batch_s
        while self._pending:
            due = max(math.ceil(self._request_s[self._pending[0]] / batch_s) * batch_s, self._last_batch_s + batch_s)
            if due > now:
                break
            self._place_until(due)
            self._last_batch_s = due
            rec = self._core.records()
            for r in self._pending:
                if rec["status"][r] == REJECTED or rec["vehicle"][r] >= 0:
                    decided = DECISIONS[int(rec["status"][r] == REJECTED)]
                    out.append(Event(due, decided, int(rec["vehicle"][r]), r))
            self._pending = [r for r in self._pending if rec["vehicle"][r] < 0 and rec["status"][r] != REJECTED]
        self._place_until(now)
        return out

    def update_vehicle(
        self, vehicle: int, location: int | tuple[float, float], ready_s: float | None = None
    ) -> list[int]:
        """Vehicle ``vehicle`` reports it is at ``location`` and can leave at ``ready_s`` (default
        now): a position update, a delay, a repaired breakdown. Returns the requests whose promises
        its re-timed plan can no longer keep (they stay with it)."""
        with self._lock:
            self._check_vehicle(vehicle)
            node = self._location("location", location)
            at = (
                self.space.node_xy[[node]]
                if self.space.is_plane and self.space.node_xy is not None
                else np.array([node])
            )
            ready = self.now_s if ready_s is None else float(ready_s)
            return [int(r) for r in self._core.update(vehicle, at, ready)]

    def set_in_service(self, vehicle: int, in_service: bool) -> list[Offer]:
        """Takes a vehicle out of service (it drops the riders on board, takes no new requests) or
        back. The requests it was still to pick up are placed again; returns their new offers."""
        with self._lock:
            self._check_vehicle(vehicle)
            moved = self._core.set_in_service(vehicle, bool(in_service))
            return [self._offer(int(r)) for r in moved]

    def rebalance(self, expected: npt.ArrayLike, *, zone_m: float = 500.0) -> int:
        """Sends idle vehicles toward ``expected`` demand (requests per location, e.g. a forecast
        of the next hour) by zones of ``zone_m`` (a min-cost flow); returns how many were sent."""
        demand = float_array("expected", expected, (self.space.num_nodes,), nonnegative=True)
        with self._lock:
            zones = Zones.grid(self.space, positive_float("zone_m", zone_m))
            xy: npt.NDArray[np.float64] = np.asarray(self.space.node_xy, dtype=np.float64)
            per_zone = np.bincount(zones.of_points(xy), demand, zones.anchor.size).astype(np.float64)
            return rebalance(self._core, self.space, zones, per_zone)

    def snapshot(self) -> FleetSnapshot:
        """The fleet now."""
        with self._lock:
            v = self._core.vehicles()
            return FleetSnapshot(
                self.now_s, v["position"], v["position_s"], v["load"], v["soc_kwh"], v["stops"], v["in_service"]
            )

    def _offer(self, request: int) -> Offer:
        vehicle, cost, pickup, dropoff, reason = self._core.submit(request)
        return Offer(request, vehicle >= 0, vehicle, pickup, dropoff, cost, REJECTIONS[reason])

    def _location(self, name: str, value: int | tuple[float, float]) -> int:
        if isinstance(value, tuple | list | np.ndarray) and np.shape(value) == (2,):
            if self.space.node_xy is None:
                raise ValueError(f"{name}: the space has no coordinates; give a location index")
            xy = np.asarray(self.space.node_xy, dtype=np.float64)
            nearest, _ = _spatial.nearest_nodes(xy, np.asarray([value], dtype=np.float64))
            return int(nearest[0])
        return int(self.space.nodes(name, [value])[0])

    def _check_vehicle(self, vehicle: int) -> None:
        if not (isinstance(vehicle, int | np.integer) and 0 <= vehicle < self.fleet.num_vehicles):
            raise ValueError(f"unknown vehicle {vehicle!r}: the fleet has {self.fleet.num_vehicles}")

    def __repr__(self) -> str:
        return f"Dispatcher({self.space!r}, {self.fleet.num_vehicles} vehicles, clock {self.now_s:.0f} s)"
