"""The live dispatcher for a shuttle service: answer each ride request at once, keep the fleet's
plans as vehicles move, report what happened."""

from __future__ import annotations

import heapq
import math
import threading
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from smartopt._core import _dispatch, _spatial
from smartopt._core._dispatch import RideStatus, StopKind
from smartopt._serialise import ToDict
from smartopt._validation import FloatArray, IntArray, bool_flag, float_array, positive_float
from smartopt.dispatch.model import MAX_TIME_S, Fleet, Requests, columns
from smartopt.dispatch.rebalancing import Zones, rebalance
from smartopt.dispatch.reoptimize import Reoptimization, reoptimize
from smartopt.dispatch.simulation import (
    REJECTIONS,
    Policy,
    RideLimits,
    check_requests,
    check_seed,
    core_fleet,
    placer,
)
from smartopt.dispatch.space import TravelSpace
from smartopt.network import RoadNetwork
from smartopt.network.road import check_coordinates

EVENT_KINDS = tuple(kind.name.lower() for kind in StopKind)
"""Event kinds of the fleet's stops, by the core's ``StopKind`` code."""
DECISIONS = ("assigned", "rejected")
"""Event kinds of a batched request's placement (see :meth:`Dispatcher.advance`)."""


@dataclass(frozen=True)
class Offer(ToDict):
    """The answer to a request: its id, the vehicle and planned pickup and drop-off times (s), the
    insertion's cost (s: added driving time plus the policy's weighted wait and delay; NaN when not
    known); or, when not accepted, why (see ``REJECTIONS``; vehicle -1, times and cost NaN, from
    :meth:`Dispatcher.submit` and :meth:`Dispatcher.offer` alike). ``pending``: not decided yet
    (a batch policy decides at its next batch, a request made for a later time when the clock
    gets there; :meth:`Dispatcher.advance` reports the decision)."""

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

    def __repr__(self) -> str:
        return (
            f"FleetSnapshot({self.load.size} vehicles at {self.time_s:g} s: {int(self.in_service.sum())} in service, "
            f"{int(self.load.sum())} riders aboard)"
        )


class Dispatcher:
    """Places ride requests in a fleet (riders pooled, every rider's wait and detour promises and
    seat and battery limits kept) under ``policy`` (see :class:`Policy`): with ``"insertion"`` each
    request at once, at its cheapest feasible insertion; with ``"batch"`` or ``"pooling"`` requests
    wait for the next multiple of ``batch_s`` and :meth:`advance` reports the decisions. ``seed``
    seeds pooling and re-optimisation. Thread-safe: calls are serialised. Times are seconds on the
    service's clock, which only :meth:`advance` moves (forward, to finite times); a request made
    for a later time waits until the clock gets there.

    A dispatcher pickles (and ``copy.deepcopy`` copies it) at any time: the copy takes the same
    decisions as the original when fed the same calls afterwards (it rebuilds the C++ fleet by
    replaying the changes made to it, without running pooling or re-optimisation again)."""

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
        self.seed = check_seed(seed)
        start = _time("start_s", start_s)
        self._journal = _RecordedFleet(self.space, fleet, self.policy)
        self._core = self._journal.core
        self._request_s: list[float] = []  # when each of the core's rides was made (s)
        self._place_until = placer(self._core, self.policy, self._request_s, seed)
        self._pending: list[int] = []  # the core's rides waiting for a batch
        self._last_batch_s = -math.inf
        # Request ids are the order of submission; a request made for a later time enters the core
        # when the clock gets there, so the core's ride ids (in the order rides enter) can differ.
        self._ride_of: list[int] = []  # request id -> core ride id (-1: not in the core yet)
        self._request_of: list[int] = []  # core ride id -> request id
        self._later: list[tuple[float, int, Requests]] = []  # heap of (time_s, request id, request)
        self._lock = threading.Lock()
        self._events_seen = 0
        self.advance(start)

    @property
    def now_s(self) -> float:
        """The dispatcher's clock (s since midnight)."""
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
        """Places a request made at ``time_s`` (default: now) from ``origin`` to ``destination``
        (location indices, or (x, y) in m snapped to the nearest location). Promises as in
        :class:`Requests`. Returns the offer (accepted or not); a request made for a later time
        than the clock does not move the clock: it is placed when :meth:`advance` gets there (the
        offer is pending, ``advance`` reports the decision). ``time_s`` before the clock is an
        error."""
        origin_node = self._location("origin", origin)
        destination_node = self._location("destination", destination)
        with self._lock:
            now = self.now_s if time_s is None else _time("time_s", time_s)
            if now < self.now_s:
                raise ValueError(f"time_s={now} is before the dispatcher's clock {self.now_s}")
            request = Requests(
                num_nodes=self.space.num_nodes,
                time_s=np.array([now]),
                origin=np.array([origin_node]),
                destination=np.array([destination_node]),
                passengers=np.array([_integer("passengers", passengers)]),
                max_wait_s=max_wait_s,
                max_detour=max_detour,
                max_detour_s=max_detour_s,
                pickup_earliest_s=pickup_earliest_s,
                dropoff_latest_s=dropoff_latest_s,
            )
            check_requests(self.space, self.fleet, request)
            RideLimits.of(self.space, request, self.policy.boarding_s)  # checks before taking an id
            request_id = len(self._ride_of)
            self._ride_of.append(-1)
            if now > self.now_s:
                heapq.heappush(self._later, (now, request_id, request))
                return Offer(request_id, False, -1, math.nan, math.nan, math.nan, "", pending=True)
            ride = self._enter(request_id, request)
            if self.policy.kind == "insertion":
                return self._offer(ride)
            self._pending.append(ride)
            return Offer(request_id, False, -1, math.nan, math.nan, math.nan, "", pending=True)

    def _enter(self, request_id: int, request: Requests) -> int:
        """Adds a request made now to the core; its ride id."""
        limits = RideLimits.of(self.space, request, self.policy.boarding_s)
        ride = limits.add_to(self._core, self.space, request)
        self._request_s.append(float(request.time_s[0]))  # after the core took it: ids stay in step
        self._request_of.append(request_id)
        self._ride_of[request_id] = ride
        return ride

    def advance(self, now_s: float) -> list[Event]:
        """Moves the clock to ``now_s`` (finite, not before the clock): requests made by then are
        placed, batches due by then are decided, vehicles drive and serve their stops; returns the
        events since the last call (stops in time order, then the decisions on requests that were
        pending: batches', and those made for a later time than they were submitted at)."""
        with self._lock:
            now = _time("now_s", now_s)
            if now < self.now_s:
                raise ValueError(f"now_s={now!r} is before the dispatcher's clock {self.now_s}")
            decisions: list[Event] = []
            while self._later and self._later[0][0] <= now:
                t, request_id, request = heapq.heappop(self._later)
                decisions += self._run_to(t)
                ride = self._enter(request_id, request)
                if self.policy.kind == "insertion":
                    offer = self._offer(ride)
                    decisions.append(Event(t, DECISIONS[int(not offer.accepted)], offer.vehicle, request_id))
                else:
                    self._pending.append(ride)
            decisions += self._run_to(now)
            e = self._core.events(self._events_seen)
            self._events_seen += int(e["time_s"].shape[0])
            stops = [
                Event(float(t), EVENT_KINDS[k], int(v), self._request_of[i] if k <= StopKind.DROPOFF else int(i))
                for t, k, v, i in zip(e["time_s"], e["kind"], e["vehicle"], e["id"], strict=True)
            ]
            return stops + decisions

    def offer(self, request: int) -> Offer:
        """Where request ``request`` stands now: its vehicle and planned (or actual) pickup and
        drop-off times (s), its rejection, or pending."""
        with self._lock:
            if not (
                isinstance(request, int | np.integer)
                and not isinstance(request, bool)
                and 0 <= request < len(self._ride_of)
            ):
                raise ValueError(f"unknown request {request!r}: {len(self._ride_of)} were submitted")
            request = int(request)
            ride = self._ride_of[request]
            if ride < 0:
                return Offer(request, False, -1, math.nan, math.nan, math.nan, "", pending=True)
            rec = self._core.records()
            vehicle, status = int(rec["vehicle"][ride]), int(rec["status"][ride])
            if status == RideStatus.REJECTED:
                return Offer(request, False, -1, math.nan, math.nan, math.nan, REJECTIONS[rec["reason"][ride]])
            if vehicle < 0:
                return Offer(request, False, -1, math.nan, math.nan, math.nan, "", pending=True)
            pickup, dropoff = float(rec["pickup_s"][ride]), float(rec["dropoff_s"][ride])
            return Offer(request, True, vehicle, pickup, dropoff, math.nan, "")

    def set_travel_times(self, space: TravelSpace) -> list[int]:
        """New travel times from now on (same locations; e.g. a traffic feed or a peak's signal
        delays): legs under way finish to where they can turn, plans are re-timed. Returns the
        requests whose promises can no longer be kept (they stay assigned)."""
        with self._lock:
            self.space.check_same_locations("space", space)
            broken = self._journal.set_space(space)
            self.space = space
            return [self._request_of[int(r)] for r in broken]

    def reoptimize(self, *, time_limit_s: float | None = None, max_iterations: int | None = None) -> Reoptimization:
        """Re-plans the fleet with the routing solver (see :func:`reoptimize`) within
        ``max_iterations`` iterations (default: the policy's ``reoptimize_iterations``) and, if
        given, ``time_limit_s`` seconds; the new plans are taken only if they keep every promise and
        drive less. Without a time limit the result is the same for a seed on any machine."""
        if time_limit_s is not None:
            positive_float("time_limit_s", time_limit_s)
        iterations = (
            self.policy.reoptimize_iterations if max_iterations is None and time_limit_s is None else max_iterations
        )
        with self._lock:
            return reoptimize(
                self._core,
                self.space,
                boarding_s=self.policy.boarding_s,
                time_limit_s=time_limit_s,
                seed=self.seed,
                max_iterations=iterations,
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
                if rec["status"][r] == RideStatus.REJECTED or rec["vehicle"][r] >= 0:
                    decided = DECISIONS[int(rec["status"][r] == RideStatus.REJECTED)]
                    out.append(Event(due, decided, int(rec["vehicle"][r]), self._request_of[r]))
            self._pending = [
                r for r in self._pending if rec["vehicle"][r] < 0 and rec["status"][r] != RideStatus.REJECTED
            ]
        self._place_until(now)
        return out

    def update_vehicle(
        self, vehicle: int, location: int | tuple[float, float], ready_s: float | None = None
    ) -> list[int]:
        """Vehicle ``vehicle`` reports it is at ``location`` and can leave at ``ready_s`` (default
        now): a position update, a delay, a repaired breakdown. Returns the requests whose promises
        its re-timed plan can no longer keep (they stay with it)."""
        self._check_vehicle(vehicle)
        node = self._location("location", location)
        with self._lock:
            at = (
                self.space.node_xy[[node]]
                if self.space.is_plane and self.space.node_xy is not None
                else np.array([node])
            )
            ready = self.now_s if ready_s is None else _time("ready_s", ready_s)
            if ready < self.now_s:
                raise ValueError(f"ready_s={ready!r} is before the dispatcher's clock {self.now_s}")
            return [self._request_of[int(r)] for r in self._core.update(int(vehicle), at, ready)]

    def set_in_service(self, vehicle: int, in_service: bool) -> list[Offer]:
        """Takes a vehicle out of service (it drops the riders on board, takes no new requests) or
        back. The requests it was still to pick up are placed again; returns their new offers."""
        self._check_vehicle(vehicle)
        flag = bool_flag("in_service", in_service)
        with self._lock:
            moved = self._core.set_in_service(int(vehicle), flag)
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
            v = columns(self._core.vehicles())
            return FleetSnapshot(
                self.now_s, v["position"], v["position_s"], v["load"], v["soc_kwh"], v["stops"], v["in_service"]
            )

    def _offer(self, ride: int) -> Offer:
        """Places the core's ride ``ride`` now; its offer (times and cost NaN if rejected)."""
        vehicle, cost, pickup, dropoff, reason = self._core.submit(ride)
        request = self._request_of[ride]
        if vehicle < 0:
            return Offer(request, False, -1, math.nan, math.nan, math.nan, REJECTIONS[reason])
        return Offer(request, True, vehicle, pickup, dropoff, cost, REJECTIONS[reason])

    def _location(self, name: str, value: int | tuple[float, float]) -> int:
        if isinstance(value, tuple | list | np.ndarray) and np.shape(value) == (2,):
            if self.space.node_xy is None:
                raise ValueError(f"{name}: the space has no coordinates; give a location index")
            point = check_coordinates(name, float_array(name, [value], (1, 2)))
            xy = np.asarray(self.space.node_xy, dtype=np.float64)
            nearest, _ = _spatial.nearest_nodes(xy, point)
            return int(nearest[0])
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise TypeError(f"{name} must be a location index (int) or an (x, y) point, got {value!r}")
        return int(self.space.nodes(name, [value])[0])

    def _check_vehicle(self, vehicle: int) -> None:
        if isinstance(vehicle, bool) or not isinstance(vehicle, int | np.integer):
            raise TypeError(f"vehicle must be an int, got {vehicle!r}")
        if not 0 <= vehicle < self.fleet.num_vehicles:
            raise ValueError(f"unknown vehicle {vehicle!r}: the fleet has {self.fleet.num_vehicles}")

    def __repr__(self) -> str:
        return f"Dispatcher({self.space!r}, {self.fleet.num_vehicles} vehicles, clock {self.now_s:.0f} s)"

    def __getstate__(self) -> dict[str, Any]:
        """Plain data, taken under the lock: the C++ fleet as its journal, pooling's own state."""
        with self._lock:
            skip = ("_lock", "_journal", "_core", "_place_until")
            state = {k: v[:] if isinstance(v, list) else v for k, v in vars(self).items() if k not in skip}
            state["_journal"] = self._journal.journal()
            run = getattr(self._place_until, "__self__", None)  # pooling's batches (other policies: none)
            state["_pooling"] = None if run is None else _plain_state(run)
            return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        inputs, calls = state.pop("_journal")
        pooling = state.pop("_pooling")
        vars(self).update(state)
        self._lock = threading.Lock()
        self._journal = _RecordedFleet.replay(inputs, calls)
        self._core = self._journal.core
        self._place_until = placer(self._core, self.policy, self._request_s, self.seed)
        if pooling is not None:
            vars(self._place_until.__self__).update(pooling)  # type: ignore[attr-defined]


_Call = tuple[str, tuple[Any, ...]]
"""A call that changed a C++ fleet: method name and arguments."""


class _RecordedFleet:
    """A dispatcher's C++ fleet and the journal of the calls that changed it, from which
    :meth:`replay` builds an equal fleet: the core is deterministic, and the calls carry the
    outcome of the searches (pooling, re-optimisation), which are not run again."""

    CHANGES = frozenset(
        (
            *("add_rides", "place_until", "advance", "submit", "assign_plans", "reject", "set_in_service"),
            *("update", "reposition", "rebalance_toward", "replace_plans", "finish", "close_day", "set_space"),
        )
    )
    READS = frozenset(
        ("now", "records", "legs", "sessions", "events", "vehicles", "plans", "pool_trips", "next_day_as")
    )

    def __init__(self, space: TravelSpace, fleet: Fleet, policy: Policy) -> None:
        self.inputs = (space, fleet, policy)
        self.calls: list[_Call] = []
        self.native = core_fleet(space, fleet, policy)

    @property
    def core(self) -> _dispatch.NetworkFleet | _dispatch.PlaneFleet:
        """This fleet in the core's type (it answers every call of the core's)."""
        return cast("_dispatch.NetworkFleet | _dispatch.PlaneFleet", self)

    def set_space(self, space: TravelSpace) -> IntArray:
        """The core's ``set_space`` with ``space``'s arguments (kept as the space: they do not pickle)."""
        out = self.native.set_space(space.core_args())  # type: ignore[arg-type]
        self.calls.append(("set_space", (space,)))  # after the call: one the core refused is not replayed
        return out

    def __getattr__(self, name: str) -> Any:
        if name not in self.CHANGES | self.READS:  # also any name asked for before __init__ set native
            raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")
        value = getattr(self.native, name)
        if name in self.READS:
            return value

        def change(*args: Any) -> Any:
            out = value(*args)
            self.calls.append((name, args))  # after the call: one the core refused is not replayed
            return out

        return change

    def journal(self) -> tuple[tuple[TravelSpace, Fleet, Policy], list[_Call]]:
        """What :meth:`replay` needs: the fleet's inputs and the calls so far."""
        return self.inputs, self.calls[:]

    @classmethod
    def replay(cls, inputs: tuple[TravelSpace, Fleet, Policy], calls: list[_Call]) -> _RecordedFleet:
        """A new fleet from ``inputs``, changed by ``calls`` in order."""
        out = cls(*inputs)
        for name, args in calls:
            getattr(out, name)(*args)
        return out


def _plain_state(obj: Any) -> dict[str, Any]:
    """An object's attributes but the core it drives and the request times it shares with the
    dispatcher (rebuilt on restore); lists copied."""
    return {k: v[:] if isinstance(v, list) else v for k, v in vars(obj).items() if k not in ("core", "time_s")}


def _time(name: str, value: Any) -> float:
    """A clock time (s): a finite real number >= 0 (bools rejected)."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | float | np.integer | np.floating):
        raise TypeError(f"{name} must be a number of seconds, got {type(value).__name__}")
    huge = isinstance(value, int) and abs(value) > 2**1000  # float() would overflow
    out = math.inf if huge else float(value)
    if not (math.isfinite(out) and 0 <= out <= MAX_TIME_S):
        raise ValueError(f"{name}={value!r} must be a finite time in [0, {MAX_TIME_S:g}] s")
    return out


def _integer(name: str, value: Any) -> int:
    """A whole number (an int, not a bool) that fits the core's 32-bit integers."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    out = int(value)
    if not -(2**31) <= out < 2**31:
        raise ValueError(f"{name}={out} is out of range (at most {2**31 - 1})")
    return out
