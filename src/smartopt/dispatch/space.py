"""Where a fleet drives: travel times (s) and distances (m) between locations, on a road network
or in the plane."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from smartopt._core import _dispatch
from smartopt._serialise import ToDict
from smartopt._threads import default_threads
from smartopt._validation import FloatArray, float_array, index_array, positive_float
from smartopt.dispatch.model import MAX_TIME_S
from smartopt.network import ContractionHierarchy, RoadNetwork
from smartopt.network.road import MAX_COORDINATE_M, check_coordinates

SpaceKind = Literal["network", "matrix", "euclidean", "manhattan"]
Representation = Literal["auto", "matrix", "hierarchy"]
MIN_SPEED_MPS = 1e-3
"""Slowest speed (m/s) of a plane space: crossing the largest plane stays a finite time."""
MATRIX_MAX_NODES = 5_000
"""Largest road network (nodes) whose space holds all-pairs matrices by default (16 bytes per
pair); larger ones answer from a contraction hierarchy."""
SEARCH_CACHE_SPACES = 4096
"""How many upward search spaces (a few hundred nodes each) a fleet on a hierarchy space keeps, for
its most recently used origins and as many destinations; answers do not depend on it."""


@dataclass(frozen=True, eq=False)
class TravelSpace(ToDict):
    """Locations ``0 .. num_nodes - 1`` and how long (s) and far (m) it is between them.

    Build one with :meth:`from_network` (fastest paths on a road network, as all-pairs matrices or
    a contraction hierarchy; vehicles can turn at the next node), :meth:`from_matrix` (a
    precomputed travel-time matrix; vehicles turn only at stops) or :meth:`plane` (points in the
    plane, Euclidean or Manhattan distance at a constant speed; vehicles can turn anywhere). Travel
    times must be shortest times (triangle inequality).
    """

    kind: SpaceKind
    num_nodes: int
    node_xy: FloatArray | None
    time_s: FloatArray | None = None  # (n, n) for network and matrix spaces
    distance_m: FloatArray | None = None
    links: tuple[npt.NDArray[np.int64], npt.NDArray[np.int32], FloatArray, FloatArray] | None = None
    speed_mps: float = 0.0  # plane spaces
    _hierarchy: ContractionHierarchy | None = field(default=None, repr=False)  # network spaces without time_s

    def __post_init__(self) -> None:
        if self.kind == "network" and self.time_s is None and self._hierarchy is None:  # e.g. from_dict
            if self.links is None:
                raise ValueError("a network space needs time_s or links")
            offsets, heads, link_time, link_length = self.links
            tail = np.repeat(np.arange(self.num_nodes), np.diff(offsets))
            hierarchy = ContractionHierarchy.from_links(self.num_nodes, tail, heads, link_time, link_length)
            object.__setattr__(self, "_hierarchy", _connected(hierarchy))

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_hierarchy": None}  # the compiled hierarchy is rebuilt from the links

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.__post_init__()

    @classmethod
    def from_network(
        cls,
        network: RoadNetwork,
        *,
        link_time_s: npt.ArrayLike | None = None,
        n_threads: int | None = None,
        representation: Representation = "auto",
    ) -> TravelSpace:
        """Fastest paths on ``network`` (free-flow link times, or ``link_time_s``, e.g. with
        signal delays): as all-pairs matrices computed on ``n_threads`` (default:
        ``SMARTOPT_NUM_THREADS``, else all cores), or answered by a contraction hierarchy;
        ``representation="auto"`` takes the matrices up to :data:`MATRIX_MAX_NODES` nodes. Both
        give the same times (to 1e-9 relative). Raises ValueError if some node cannot reach
        another."""
        if representation not in ("auto", "matrix", "hierarchy"):
            raise ValueError(f"representation must be 'auto', 'matrix' or 'hierarchy', got {representation!r}")
        offsets, order = network.csr
        link_time = network.link_time_s if link_time_s is None else np.asarray(link_time_s, dtype=float)
        links = (
            offsets.astype(np.int64),
            network.link_head[order].astype(np.int32),
            np.ascontiguousarray(link_time[order], dtype=float),
            np.ascontiguousarray(network.link_length_m[order], dtype=float),
        )
        xy = np.asarray(network.node_xy, dtype=float)
        if representation == "hierarchy" or (representation == "auto" and network.num_nodes > MATRIX_MAX_NODES):
            hierarchy = _connected(network.hierarchy(link_time_s=link_time_s))
            return cls("network", network.num_nodes, xy, links=links, _hierarchy=hierarchy)
        threads = default_threads() if n_threads is None else n_threads
        times = network.travel_time_matrix(np.arange(network.num_nodes), n_threads=threads, link_time_s=link_time_s)
        _check_reachable(times)
        return cls("network", network.num_nodes, xy, times, links=links)

    @classmethod
    def from_matrix(
        cls, time_s: npt.ArrayLike, distance_m: npt.ArrayLike | None = None, node_xy: npt.ArrayLike | None = None
    ) -> TravelSpace:
        """A precomputed ``(n, n)`` matrix of shortest travel times (s) and optionally distances
        (m; default: the times); ``node_xy`` (m) only for plots."""
        t = float_array("time_s", time_s, (None, None), nonnegative=True, allow_inf=True, max_abs=MAX_TIME_S)
        n = t.shape[0]
        if t.shape != (n, n) or n == 0:
            raise ValueError(f"time_s must be a non-empty square matrix, got shape {t.shape}")
        _check_reachable(t)
        d = (
            None
            if distance_m is None
            else float_array("distance_m", distance_m, (n, n), nonnegative=True, max_abs=MAX_COORDINATE_M)
        )
        xy = None if node_xy is None else check_coordinates("node_xy", float_array("node_xy", node_xy, (n, 2)))
        return cls("matrix", n, xy, t, d)

    @classmethod
    def plane(
        cls, points_xy: npt.ArrayLike, *, speed_mps: float, metric: Literal["euclidean", "manhattan"] = "euclidean"
    ) -> TravelSpace:
        """Locations at ``points_xy`` (m, shape ``(n, 2)``) in the plane, driven at ``speed_mps``
        over straight-line (``"euclidean"``) or ``|dx| + |dy|`` (``"manhattan"``) distances; a
        vehicle can turn anywhere."""
        if not isinstance(metric, str) or metric not in ("euclidean", "manhattan"):
            raise ValueError(f"metric must be 'euclidean' or 'manhattan', got {metric!r}")
        xy = check_coordinates("points_xy", float_array("points_xy", points_xy, (None, 2)))
        if xy.shape[0] == 0:
            raise ValueError("points_xy is empty")
        speed = positive_float("speed_mps", speed_mps, maximum=MAX_COORDINATE_M)
        if speed < MIN_SPEED_MPS:
            raise ValueError(f"speed_mps={speed!r} is too slow: at least {MIN_SPEED_MPS:g} m/s")
        return cls(metric, xy.shape[0], xy, speed_mps=speed)

    @property
    def is_plane(self) -> bool:
        """Whether travel is on a plane (Euclidean or Manhattan), not a road network."""
        return self.kind in ("euclidean", "manhattan")

    @property
    def hierarchy(self) -> ContractionHierarchy | None:
        """The contraction hierarchy answering this network space's queries (None: matrices)."""
        return self._hierarchy

    def nodes(self, name: str, value: Any) -> npt.NDArray[np.int32]:
        """``value`` as location indices of this space; ValueError naming ``name`` otherwise."""
        return index_array(name, value, self.num_nodes)

    def travel_time(self, origin: npt.ArrayLike, destination: npt.ArrayLike) -> FloatArray:
        """Direct travel times (s) between paired locations."""
        o, d = self.nodes("origin", origin), self.nodes("destination", destination)
        if self._hierarchy is not None:
            return self._hierarchy.pair_times(o, d, n_threads=default_threads())[0]
        if not self.is_plane:
            assert self.time_s is not None
            return np.asarray(self.time_s[o, d], dtype=float)
        return self.distance(o, d) / self.speed_mps

    def times(self, origins: npt.ArrayLike, destinations: npt.ArrayLike) -> FloatArray:
        """Direct travel times (s) from each of ``origins`` to each of ``destinations``, shape
        ``(len(origins), len(destinations))``: rows of the matrix, or answers of the hierarchy
        (no all-pairs matrix needed)."""
        o, d = self.nodes("origins", origins), self.nodes("destinations", destinations)
        if self._hierarchy is not None:
            return self._hierarchy.times(o, d, n_threads=default_threads())[0]
        if not self.is_plane:
            assert self.time_s is not None
            return np.asarray(self.time_s[np.ix_(o, d)], dtype=float)
        return self.distance(o[:, None], d[None, :]) / self.speed_mps

    def distance(self, origin: npt.NDArray[np.int32], destination: npt.NDArray[np.int32]) -> FloatArray:
        """Direct distances (m) between plane locations (paired, or broadcast like numpy)."""
        assert self.node_xy is not None
        delta = np.abs(self.node_xy[origin] - self.node_xy[destination])
        return delta.sum(axis=-1) if self.kind == "manhattan" else np.hypot(delta[..., 0], delta[..., 1])

    def check_same_locations(self, name: str, other: TravelSpace) -> None:
        """ValueError naming ``name`` unless ``other`` can replace this space's travel times: the
        same kind of locations (network or plane, same metric) and as many."""
        same_kind = other.is_plane == self.is_plane and (not self.is_plane or other.kind == self.kind)
        if not same_kind or other.num_nodes != self.num_nodes:
            raise ValueError(f"{name}: {other!r} does not have the locations of {self!r}")

    def core_args(self) -> _dispatch.NetworkSpaceArgs | tuple[float, bool]:
        """This space in the C++ core's terms (for ``network_fleet`` / ``plane_fleet`` and
        ``set_space``)."""
        if self.is_plane:
            return (self.speed_mps, self.kind == "manhattan")
        if self._hierarchy is not None:
            args = _dispatch.NetworkSpaceArgs.from_hierarchy(self._hierarchy.core, SEARCH_CACHE_SPACES)
        else:
            assert self.time_s is not None
            none: tuple[Any, ...] = (np.zeros(0, np.int64), np.zeros(0, np.int32), np.zeros(0), np.zeros(0))
            offsets, heads, link_time, link_length = self.links or none
            distance = np.zeros(0) if self.distance_m is None else self.distance_m
            args = _dispatch.NetworkSpaceArgs(self.time_s, distance, offsets, heads, link_time, link_length)
        if self.links is not None and self.node_xy is not None:
            args.bound_by(self.node_xy, self.max_speed_mps())
        return args

    def max_speed_mps(self) -> float:
        """The fastest straight-line speed (m/s) over any link of a network space (inf if a link
        takes no time): no trip is faster than its straight line at this speed."""
        assert self.links is not None and self.node_xy is not None
        offsets, heads, link_time, _ = self.links
        tail = np.repeat(np.arange(self.num_nodes), np.diff(offsets))
        span = np.hypot(*(self.node_xy[heads] - self.node_xy[tail]).T)
        with np.errstate(divide="ignore", invalid="ignore"):
            speed = np.where(span > 0, span / np.asarray(link_time, dtype=float), 0.0)
        return float(speed.max(initial=0.0)) or math.inf

    def __repr__(self) -> str:
        speed = f", {self.speed_mps:g} m/s" if self.is_plane else ""
        oracle = ", contraction hierarchy" if self._hierarchy is not None else ""
        return f"TravelSpace({self.kind}, {self.num_nodes} locations{speed}{oracle})"


def _connected(hierarchy: ContractionHierarchy) -> ContractionHierarchy:
    if not hierarchy.strongly_connected:
        raise ValueError("the network is disconnected: some node cannot reach another")
    return hierarchy


def _check_reachable(times: FloatArray) -> None:
    bad = ~np.isfinite(times)
    if bad.any():
        a, b = (int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"the network is disconnected: node {a} cannot reach node {b} (time_s is inf)")


def check_time_of_day(
    time_of_day: Sequence[tuple[float, TravelSpace]], same_locations: Callable[[str, TravelSpace], None]
) -> dict[float, TravelSpace]:
    """``time_of_day`` (``(start_s, space)`` pairs, start times increasing) as a dict from start
    time (s) to space; TypeError or ValueError naming the entry at fault. ``same_locations(name,
    space)`` raises if a space cannot stand for the caller's locations."""
    out: dict[float, TravelSpace] = {}
    last = -math.inf
    for k, item in enumerate(time_of_day):
        if not (isinstance(item, tuple | list) and len(item) == 2 and isinstance(item[1], TravelSpace)):
            raise TypeError(f"time_of_day[{k}] must be a (start_s, TravelSpace) pair")
        t, other = float(item[0]), item[1]
        if not (math.isfinite(t) and t >= 0 and t > last):
            raise ValueError(f"time_of_day[{k}]: start_s={item[0]!r} must be finite, >= 0 and after the previous")
        same_locations(f"time_of_day[{k}]", other)
        out[t] = other
        last = t
    return out
