"""Vehicle routing problems: the model (capacities, time windows, pickup-and-delivery pairs, a
heterogeneous fleet from several depots, optional clients with prizes, release times, several trips
per route with reloads at depots, travel times by time of day) and its validation.

Units are the caller's: distances in one unit (m, or the instance's), times in one unit (s, or the
instance's), loads in one unit (passengers, kg). Locations are the rows of the matrices; every
location that is not listed in ``depots`` is a client to visit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import numpy.typing as npt

from smartopt._core import _routing
from smartopt._serialise import ToDict
from smartopt._validation import (
    FILLED,
    INT32_MAX,
    FloatArray,
    IntArray,
    assign_frozen,
    float_array,
    frozen,
    index_array,
)

if TYPE_CHECKING:
    from smartopt.network import RoadNetwork


MAX_VALUE = 1e15
"""Largest finite magnitude of a distance, time, load or cost: far beyond any real instance, and
small enough that sums and products along routes stay exact enough and never overflow."""


def _scalar(name: str, value: Any, *, allow_inf: bool = False) -> float:
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | float | np.integer | np.floating):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    try:
        out = float(value)
    except OverflowError:  # an int past 1e308
        raise ValueError(f"{name} must be a finite number, got {value}") from None
    if math.isnan(out) or (math.isinf(out) and not allow_inf):
        raise ValueError(f"{name} must be a finite number, got {out}")
    if out < 0:
        raise ValueError(f"{name} must be >= 0, got {out}")
    if math.isfinite(out) and out > MAX_VALUE:
        raise ValueError(f"{name}={out:g} is out of range (at most {MAX_VALUE:g}{', or inf' if allow_inf else ''})")
    return out


@dataclass(frozen=True)
class VehicleType(ToDict):
    """``count`` identical vehicles: capacity (load units), where they start and end (locations),
    costs (fixed per vehicle used, per distance unit, per time unit of route duration), shift
    window (time units), and limits on a route's duration and distance. ``profile`` picks the
    distance/duration matrices they use.

    Multi-trip: the vehicles may return to one of ``reload_depots`` (depot locations) between
    trips, at most ``max_reloads`` times per route (None: no limit). Capacity then holds per trip:
    a trip's deliveries are loaded where it starts and its pickups unloaded where it ends, and a
    pickup-and-delivery pair rides within one trip (no reload while it is on board). Loading
    at a depot takes its ``service`` time (at the route's start and at each reload, as in PyVRP)
    and starts no earlier than the release time of the trip's clients; a reload's loading starts
    within the depot's time window (the route's start and end keep the vehicle's shift, where
    PyVRP also applies the depot's window; :func:`read_vrplib` makes that window the shift).
    ``max_trip_distance`` bounds each trip's distance (between the start, the reloads and the
    end), e.g. a battery's range when reloads recharge it."""

    count: int = 1
    capacity: float = math.inf
    start: int = 0
    end: int | None = None
    fixed_cost: float = 0.0
    unit_distance_cost: float = 1.0
    unit_duration_cost: float = 0.0
    shift_start: float = 0.0
    shift_end: float = math.inf
    max_duration: float = math.inf
    max_distance: float = math.inf
    profile: int = 0
    reload_depots: tuple[int, ...] = ()
    max_reloads: int | None = None
    max_trip_distance: float = math.inf

    def __post_init__(self) -> None:
        for name in ("count", "start", "profile") + (("end",) if self.end is not None else ()):
            value = getattr(self, name)
            if isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer) or value < 0:
                raise ValueError(f"VehicleType.{name} must be an int >= 0, got {value!r}")
            if value > INT32_MAX:
                raise ValueError(f"VehicleType.{name}={value} is out of range (at most {INT32_MAX})")
            object.__setattr__(self, name, int(value))
        if self.end is None:
            object.__setattr__(self, "end", self.start)
        for name in ("capacity", "shift_end", "max_duration", "max_distance", "max_trip_distance"):
            object.__setattr__(self, name, _scalar(f"VehicleType.{name}", getattr(self, name), allow_inf=True))
        for name in ("fixed_cost", "unit_distance_cost", "unit_duration_cost", "shift_start"):
            object.__setattr__(self, name, _scalar(f"VehicleType.{name}", getattr(self, name)))
        if self.shift_end < self.shift_start:
            raise ValueError(f"VehicleType.shift_end={self.shift_end} is before shift_start={self.shift_start}")
        if isinstance(self.reload_depots, str | bytes) or not isinstance(self.reload_depots, Sequence | np.ndarray):
            raise TypeError(f"VehicleType.reload_depots must be a sequence of locations, got {self.reload_depots!r}")
        depots = tuple(self.reload_depots)
        for d in depots:
            if isinstance(d, bool | np.bool_) or not isinstance(d, int | np.integer) or not 0 <= d <= INT32_MAX:
                raise ValueError(f"VehicleType.reload_depots must hold locations (ints in [0, {INT32_MAX}]), got {d!r}")
        if len(set(depots)) != len(depots):
            raise ValueError(f"VehicleType.reload_depots lists a depot twice: {list(depots)}")
        object.__setattr__(self, "reload_depots", tuple(int(d) for d in depots))
        if self.max_reloads is not None:
            k = self.max_reloads
            if isinstance(k, bool | np.bool_) or not isinstance(k, int | np.integer) or not 0 <= k <= INT32_MAX:
                raise ValueError(f"VehicleType.max_reloads must be None or an int in [0, {INT32_MAX}], got {k!r}")
            object.__setattr__(self, "max_reloads", int(k))


def _matrices(name: str, value: Any) -> npt.NDArray[np.float64]:
    m = float_array(name, value, nonnegative=True, max_abs=MAX_VALUE)
    frozen(m)  # before taking a view: a view of a writeable base could be made writeable again
    if m.ndim == 2:
        m = m[None]
    if m.ndim != 3 or m.shape[1] != m.shape[2] or m.shape[1] == 0:
        raise ValueError(f"{name} must be a square (n, n) matrix or a stack (profiles, n, n), got shape {m.shape}")
    return np.ascontiguousarray(m)


@dataclass(frozen=True, eq=False)
class VRPProblem(ToDict):
    """A vehicle routing problem on ``n`` locations.

    ``distance`` and ``duration`` are ``(n, n)`` matrices or ``(profiles, n, n)`` stacks (one per
    vehicle profile); ``duration`` defaults to ``distance``. Per client: ``demand`` delivered from
    the start of its trip (the route's start or a reload), ``pickup`` brought back to its end,
    ``service`` time, time window ``[tw_early, tw_late]`` for the start of service, ``prize`` and
    ``required`` (a client with ``required=False`` may be skipped at the cost of its prize),
    ``release_time`` (the loading of the trip serving it starts no earlier). A depot's ``service``
    is the time loading takes there at the start of a trip, its time window bounds reloads there
    (see :class:`VehicleType`); its other entries are ignored.
    ``pairs`` ``(m, 2)`` lists pickup-and-delivery pairs ``[pickup, delivery]``: the same vehicle
    picks up ``pair_load`` at the first and drops it at the second, within ``max_ride`` time units.
    ``to_dict()``/``from_dict()`` give it as JSON types and back (for services and files).

    Time-dependent travel: ``period_duration`` ``(periods, n, n)`` or ``(periods, profiles, n, n)``
    gives each arc's travel time at the speeds of the period starting at ``period_start`` (ascending
    times; the first period also holds before its start, the last after). A vehicle that crosses into
    the next period drives the rest of its arc at that period's speed (Ichoua, Gendreau and Potvin's
    model), so leaving later never arrives earlier; :meth:`arrival_time` gives the arrivals.
    ``duration`` is then the fastest time of each arc over the periods (their minimum; leave it out).
    """

    distance: FloatArray
    vehicle_types: tuple[VehicleType, ...]
    duration: FloatArray = FILLED
    depots: IntArray = FILLED
    demand: FloatArray = FILLED
    pickup: FloatArray = FILLED
    service: FloatArray = FILLED
    tw_early: FloatArray = FILLED
    tw_late: FloatArray = FILLED
    prize: FloatArray = FILLED
    required: npt.NDArray[np.bool_] = FILLED
    pairs: IntArray = FILLED
    pair_load: FloatArray = FILLED
    max_ride: FloatArray = FILLED
    release_time: FloatArray = FILLED
    period_start: FloatArray = FILLED
    period_duration: FloatArray = FILLED
    name: str = ""
    coords: FloatArray | None = field(default=None)

    def __post_init__(self) -> None:
        dist = _matrices("distance", self.distance)
        starts, periods = self._periods(dist.shape)
        if periods.shape[0] and self.duration is None:
            dur = periods.min(axis=0)
        else:
            dur = dist if self.duration is None else _matrices("duration", self.duration)
        if dur.shape != dist.shape:
            raise ValueError(f"duration must have distance's shape {dist.shape}, got {dur.shape}")
        if periods.shape[0] and not np.array_equal(dur, periods.min(axis=0)):
            raise ValueError("duration: with period_duration leave it out (it is their minimum over the periods)")
        n = dist.shape[1]
        depots = index_array("depots", [0] if self.depots is None else self.depots, n)
        if depots.size == 0:
            raise ValueError("depots must list at least one location")

        def per_location(name: str, default: float, **kw: bool) -> npt.NDArray[np.float64]:
            value = getattr(self, name)
            return float_array(name, np.full(n, default) if value is None else value, (n,), max_abs=MAX_VALUE, **kw)

        tw_late = per_location("tw_late", math.inf, nonnegative=True, allow_inf=True)
        values: dict[str, Any] = {
            "distance": dist,
            "duration": dur,
            "period_start": starts,
            "period_duration": periods,
            "depots": depots,
            "demand": per_location("demand", 0.0, nonnegative=True),
            "pickup": per_location("pickup", 0.0, nonnegative=True),
            "service": per_location("service", 0.0, nonnegative=True),
            "tw_early": per_location("tw_early", 0.0, nonnegative=True),
            "tw_late": tw_late,
            "prize": per_location("prize", 0.0, nonnegative=True),
            "release_time": per_location("release_time", 0.0, nonnegative=True),
        }
        required = np.ones(n, dtype=bool) if self.required is None else np.asarray(self.required)
        if required.dtype != np.bool_ or required.shape != (n,):
            raise TypeError(f"required must be a bool array of shape ({n},), got {required.dtype} {required.shape}")
        values["required"] = np.array(required)
        pairs = index_array("pairs", np.zeros((0, 2), np.int32) if self.pairs is None else self.pairs, n, (None, 2))
        m = pairs.shape[0]
        values["pairs"] = pairs
        values["pair_load"] = float_array(
            "pair_load",
            np.ones(m) if self.pair_load is None else self.pair_load,
            (m,),
            positive=True,
            max_abs=MAX_VALUE,
        )
        values["max_ride"] = float_array(
            "max_ride",
            np.full(m, math.inf) if self.max_ride is None else self.max_ride,
            (m,),
            allow_inf=True,
            max_abs=MAX_VALUE,
        )
        if (values["max_ride"] < 0).any():
            raise ValueError(f"max_ride[{int(np.flatnonzero(values['max_ride'] < 0)[0])}] must be >= 0")
        if self.coords is not None:
            values["coords"] = float_array("coords", self.coords, (n, 2), max_abs=MAX_VALUE)
        types = tuple(self.vehicle_types)
        if not types or not all(isinstance(t, VehicleType) for t in types):
            raise TypeError("vehicle_types must be a non-empty sequence of VehicleType")
        values["vehicle_types"] = types
        assign_frozen(self, values)
        self._check_structure()
        self._check_clients_servable()

    def _periods(self, shape: tuple[int, ...]) -> tuple[FloatArray, FloatArray]:
        """``period_start`` and ``period_duration`` checked, the latter as ``(periods, profiles, n, n)``
        (both empty without periods)."""
        given = [v is not None and np.size(v) > 0 for v in (self.period_start, self.period_duration)]
        if given[0] != given[1]:
            raise ValueError("period_start and period_duration go together: give both or neither")
        if not given[0]:
            return np.zeros(0), np.zeros((0, *shape))
        starts = float_array("period_start", self.period_start, (None,), nonnegative=True, max_abs=MAX_VALUE)
        if starts.size == 0 or (np.diff(starts) <= 0).any():
            raise ValueError(f"period_start must list one or more increasing times, got {starts.tolist()}")
        periods = float_array("period_duration", self.period_duration, nonnegative=True, max_abs=MAX_VALUE)
        if periods.ndim == 3:
            periods = periods[:, None]
        if periods.shape != (starts.size, *shape):
            raise ValueError(
                f"period_duration must have shape ({starts.size}, n, n) or ({starts.size}, profiles, n, n) "
                f"for {starts.size} periods and distance's {shape}, got {np.shape(self.period_duration)}"
            )
        sometimes = (periods == 0).any(axis=0) & (periods > 0).any(axis=0)
        if sometimes.any():
            prof, i, j = (int(k) for k in np.argwhere(sometimes)[0])
            raise ValueError(
                f"period_duration: the arc from {i} to {j} (profile {prof}) takes no time in some periods and some in "
                "others; an arc takes time in every period or in none"
            )
        return starts, np.ascontiguousarray(periods)

    @classmethod
    def on_network(
        cls,
        network: RoadNetwork,
        nodes: npt.ArrayLike,
        vehicle_types: Sequence[VehicleType],
        *,
        link_time_s: npt.ArrayLike | None = None,
        period_start: npt.ArrayLike | None = None,
        n_threads: int = 2,
        **fields: Any,
    ) -> VRPProblem:
        """A problem whose location ``i`` is network node index ``nodes[i]`` (ids: use
        ``network.node_index``): distances are shortest path lengths (m), durations fastest travel
        times (s; ``link_time_s`` overrides the free-flow link times, e.g. with signal delays).
        With ``period_start`` (s, increasing), ``link_time_s`` holds each period's link times,
        shape ``(periods, links)``, and the travel times change with the time of day
        (``period_duration``). Other fields as in the constructor. Raises ``ValueError`` naming
        two locations when one cannot reach the other."""
        where = index_array("nodes", nodes, network.num_nodes)
        if period_start is None:
            rows: list[Any] = [link_time_s]
        else:
            links = None if link_time_s is None else np.asarray(link_time_s, dtype=float)
            if np.size(period_start) == 0:
                raise ValueError("period_start must list one or more increasing times, got none")
            if links is None or links.ndim != 2 or links.shape[0] != np.size(period_start):
                raise ValueError(
                    f"link_time_s must hold one row of link times per period, shape ({np.size(period_start)}, "
                    f"{network.num_links}), got {None if links is None else links.shape}"
                )
            if "period_duration" in fields or "duration" in fields:
                raise ValueError("on_network makes the times from link_time_s: give no duration or period_duration")
            rows = list(links)
        matrices = []
        for k, row in enumerate(rows):
            try:
                matrices.append(network.travel_time_matrix(where, where, n_threads=n_threads, link_time_s=row))
            except ValueError as exc:
                if period_start is None:
                    raise
                raise ValueError(f"{exc} (period {k})") from None
        times = np.stack(matrices)
        distance = network.distance_matrix(where, where, n_threads=n_threads)
        cut = ~np.isfinite(times).all(axis=0) | ~np.isfinite(distance)
        if cut.any():
            i, j = (int(k) for k in np.argwhere(cut)[0])
            raise ValueError(
                f"location {i} (node {where[i]}) cannot reach location {j} (node {where[j]}) on the network"
            )
        if period_start is None:
            return cls(distance=distance, duration=times[0], vehicle_types=tuple(vehicle_types), **fields)
        return cls(
            distance=distance,
            vehicle_types=tuple(vehicle_types),
            period_start=cast("FloatArray", period_start),  # checked by name in __post_init__
            period_duration=times,
            **fields,
        )

    # --- derived views -------------------------------------------------------------------
    @property
    def num_locations(self) -> int:
        """Number of locations (depots and clients)."""
        return int(self.distance.shape[1])

    @property
    def num_profiles(self) -> int:
        """Number of travel profiles (distance matrices)."""
        return int(self.distance.shape[0])

    @property
    def is_client(self) -> npt.NDArray[np.bool_]:
        """Per location, whether it is a client (not a depot)."""
        out = np.ones(self.num_locations, dtype=bool)
        out[self.depots] = False
        return out

    @property
    def clients(self) -> IntArray:
        """Indices of the client locations."""
        return np.flatnonzero(self.is_client).astype(np.int32)

    @property
    def num_vehicles(self) -> int:
        """Number of vehicles over all types."""
        return sum(t.count for t in self.vehicle_types)

    @property
    def time_dependent(self) -> bool:
        """Whether travel times change with the time of day (``period_duration``)."""
        return bool(self.period_start.size)

    def arrival_time(
        self, origin: npt.ArrayLike, destination: npt.ArrayLike, depart: npt.ArrayLike, profile: int = 0
    ) -> FloatArray:
        """When a vehicle leaving location ``origin`` at ``depart`` (time units) reaches
        ``destination``: ``depart + duration`` with static travel times, else through the periods it
        drives in. Arguments broadcast; raises ``ValueError`` naming a bad location or profile."""
        a, b, t = np.broadcast_arrays(np.asarray(origin), np.asarray(destination), np.asarray(depart, dtype=float))
        n = self.num_locations
        for name, v in (("origin", a), ("destination", b)):
            if v.size and (v.dtype.kind not in "iu" or v.min() < 0 or v.max() >= n):
                raise ValueError(f"{name} must hold locations (ints in [0, {n})), got {v.ravel()[:5].tolist()}")
        if (
            isinstance(profile, bool)
            or not isinstance(profile, int | np.integer)
            or not 0 <= profile < self.num_profiles
        ):
            raise ValueError(f"profile must be an int in [0, {self.num_profiles}), got {profile!r}")
        if np.isnan(t).any():
            raise ValueError("depart must not be NaN")
        out = _routing.arrival_time(self.problem_data(), int(profile), a.ravel(), b.ravel(), t.ravel())
        return out.reshape(t.shape)

    def vehicle_type_of(self, vehicle: int) -> int:
        """The type of vehicle number ``vehicle`` (vehicles are numbered type by type)."""
        bounds = np.cumsum([t.count for t in self.vehicle_types])
        if not 0 <= vehicle < bounds[-1]:
            raise ValueError(f"vehicle {vehicle} is not in [0, {int(bounds[-1])})")
        return int(np.searchsorted(bounds, vehicle, side="right"))

    def __repr__(self) -> str:
        kinds = [k for k, on in self._features().items() if on]
        return (
            f"VRPProblem({self.name + ', ' if self.name else ''}{self.clients.size} clients, "
            f"{self.depots.size} depots, {self.num_vehicles} vehicles in {len(self.vehicle_types)} types"
            f"{', ' + ', '.join(kinds) if kinds else ''})"
        )

    def _features(self) -> dict[str, bool]:
        c = self.clients
        return {
            "time windows": bool(np.isfinite(self.tw_late[c]).any() or (self.tw_early[c] > 0).any()),
            "pairs": self.pairs.shape[0] > 0,
            "optional clients": bool((~self.required[c]).any()),
            "release times": bool((self.release_time[c] > 0).any()),
            "reloads": any(t.reload_depots for t in self.vehicle_types),
            f"travel times in {self.period_start.size} periods": self.time_dependent,
        }

    def problem_data(self) -> _routing.ProblemData:
        """This problem in the layout of the C++ core: per-location arrays (depots are required,
        with no load or release; their service and window are their reloads') and the vehicle
        types, filled by name."""
        n = self.num_locations
        partner = np.full(n, -1, np.int32)
        pair_load = np.zeros(n)
        max_ride = np.full(n, math.inf)
        p, d = self.pairs[:, 0], self.pairs[:, 1]
        partner[p], partner[d] = d, p
        pair_load[p], pair_load[d] = self.pair_load, -self.pair_load
        max_ride[p] = self.max_ride
        client = self.is_client
        types = [
            _routing.VehicleTypeData(
                count=t.count,
                start=t.start,
                end=cast("int", t.end),  # __post_init__ sets it (None: the start)
                profile=t.profile,
                capacity=t.capacity,
                fixed_cost=t.fixed_cost,
                unit_distance_cost=t.unit_distance_cost,
                unit_duration_cost=t.unit_duration_cost,
                shift_start=t.shift_start,
                shift_end=t.shift_end,
                max_duration=t.max_duration,
                max_distance=t.max_distance,
                reload_depots=list(t.reload_depots),
                max_reloads=INT32_MAX if t.max_reloads is None else t.max_reloads,
                max_trip_distance=t.max_trip_distance,
            )
            for t in self.vehicle_types
        ]
        return _routing.ProblemData(
            distance=self.distance,
            duration=self.duration,
            is_client=client.astype(np.uint8),
            required=(self.required | ~client).astype(np.uint8),
            partner=partner,
            delivery=np.where(client, self.demand, 0.0),
            pickup=np.where(client, self.pickup, 0.0),
            service=self.service,
            tw_early=self.tw_early,
            tw_late=self.tw_late,
            prize=np.where(client, self.prize, 0.0),
            pair_load=pair_load,
            max_ride=max_ride,
            release=np.where(client, self.release_time, 0.0),
            vehicle_types=types,
            period_start=self.period_start,
            period_duration=self.period_duration,
        )

    # --- validation ----------------------------------------------------------------------
    def _check_structure(self) -> None:
        n, client = self.num_locations, self.is_client
        for i, t in enumerate(self.vehicle_types):
            for key in ("start", "end"):
                loc = getattr(t, key)
                if loc >= n:
                    raise ValueError(f"vehicle_types[{i}].{key}={loc} is not a location in [0, {n})")
                if client[loc]:
                    raise ValueError(f"vehicle_types[{i}].{key}={loc} is a client; list it in depots")
            if t.profile >= self.num_profiles:
                raise ValueError(f"vehicle_types[{i}].profile={t.profile} but there are {self.num_profiles} profiles")
            for d in t.reload_depots:
                if d >= n or client[d]:
                    raise ValueError(
                        f"vehicle_types[{i}].reload_depots: location {d} is not a depot (list it in depots)"
                    )
        if self.num_vehicles == 0:
            raise ValueError("vehicle_types: the fleet has no vehicles (every count is 0)")
        if self.num_vehicles > INT32_MAX:
            raise ValueError(f"vehicle_types: the fleet has {self.num_vehicles} vehicles, at most {INT32_MAX}")
        late = self.tw_late < self.tw_early
        if late.any():
            i = int(np.flatnonzero(late)[0])
            raise ValueError(f"tw_late[{i}]={self.tw_late[i]} is before tw_early[{i}]={self.tw_early[i]}")
        stops = self.pairs.ravel()
        if stops.size:
            if not client[stops].all():
                raise ValueError(f"pairs: location {int(stops[~client[stops]][0])} is a depot, not a client")
            uniq, counts = np.unique(stops, return_counts=True)
            if (counts > 1).any():
                raise ValueError(f"pairs: location {int(uniq[counts > 1][0])} appears in more than one pair stop")
            pd = np.zeros(self.num_locations, bool)
            pd[stops] = True
            mixed = pd & ((self.demand > 0) | (self.pickup > 0))
            if mixed.any():
                i = int(np.flatnonzero(mixed)[0])
                raise ValueError(f"location {i} is a pair stop and has demand/pickup; carry its load in pair_load")
            one_sided = self.required[self.pairs[:, 0]] != self.required[self.pairs[:, 1]]
            if one_sided.any():
                raise ValueError(f"pairs[{int(np.flatnonzero(one_sided)[0])}]: pickup and delivery differ in required")

    def _check_clients_servable(self) -> None:
        """Each client alone must fit some vehicle: its load, and its time window from the start (its
        duration limit at the fastest times)."""
        c = self.clients
        load = np.maximum(self.demand, self.pickup)
        if self.pairs.shape[0]:
            load[self.pairs[:, 0]] = self.pair_load
            load[self.pairs[:, 1]] = self.pair_load
        types = [t for t in self.vehicle_types if t.count > 0]
        cap = max(t.capacity for t in types)
        over = c[load[c] > cap]
        if over.size:
            i = int(over[0])
            raise ValueError(f"client {i}: its load {load[i]} exceeds every vehicle's capacity (largest {cap})")
        reach = np.full(self.num_locations, math.inf)
        everywhere = np.arange(self.num_locations)
        data = self.problem_data() if self.time_dependent else None
        for t in types:
            loaded = np.maximum(t.shift_start, self.release_time) + self.service[t.start]
            if data is not None:  # through the periods
                home, end = np.full_like(everywhere, t.start), np.full_like(everywhere, cast("int", t.end))
                arrive = _routing.arrival_time(data, t.profile, home, everywhere, loaded)
                start = np.maximum(arrive, self.tw_early)
                back = _routing.arrival_time(data, t.profile, everywhere, end, start + self.service)
            else:
                arrive = loaded + self.duration[t.profile, t.start]
                start = np.maximum(arrive, self.tw_early)
                back = start + self.service + self.duration[t.profile, :, t.end]
            shortest = (
                self.service[t.start]
                + self.duration[t.profile, t.start]
                + self.service
                + self.duration[t.profile, :, t.end]
            )
            ok = (start <= self.tw_late) & (back <= t.shift_end) & (shortest <= t.max_duration)
            alone = self.distance[t.profile, t.start] + self.distance[t.profile, :, t.end]
            dist_ok = alone <= min(t.max_distance, t.max_trip_distance)
            reach = np.where(ok & dist_ok, np.minimum(reach, arrive), reach)
        unreachable = c[~np.isfinite(reach[c])]
        if unreachable.size:
            i = int(unreachable[0])
            released = f" after its release at {self.release_time[i]}" if self.release_time[i] > 0 else ""
            raise ValueError(
                f"client {i}: no vehicle can reach it{released} within its time window "
                f"[{self.tw_early[i]}, {self.tw_late[i]}] and return within its shift, duration and distance limits"
            )
