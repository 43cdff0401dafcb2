"""The road network: nodes, directed links, and shortest-path queries on the C++ engine."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from smartopt._core import _network
from smartopt._serialise import ToDict
from smartopt._validation import (
    FILLED,
    FloatArray,
    IntArray,
    assign_frozen,
    count_array,
    float_array,
    frozen,
    index_array,
    positive_int,
)
from smartopt.network.hierarchy import ContractionHierarchy

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_LANE_CAPACITY_VPH = 1800.0
"""Capacity per lane (veh/h) used when a link's capacity is not given."""

_MAX_THREADS = 4 * (os.cpu_count() or 1)
MAX_ASSIGN_ITERATIONS = 10_000
"""Most iterations of :meth:`RoadNetwork.assign` (bounds its work)."""
MAX_DEMAND_VPH = 1e9
"""Largest demand (veh/h) between one origin and one destination."""
MAX_COORDINATE_M = 1e12
"""Largest planar coordinate (m, in absolute value) of a node or a point: far beyond any city, and
small enough that squared distances between any two points stay finite."""

StrArray = npt.NDArray[np.str_]
Weight = Literal["time", "length"]


@dataclass(frozen=True)
class Path:
    """A shortest path: node and link sequences with its travel time (s) and length (m)."""

    nodes: IntArray
    links: IntArray
    travel_time_s: float
    length_m: float

    def __repr__(self) -> str:
        return f"Path({self.links.size} links, {self.length_m:.0f} m, {self.travel_time_s:.1f} s)"


@dataclass(frozen=True)
class Assignment:
    """Link and turn flows (veh/h) from loading an origin-destination matrix on the network.

    ``turn_in_link[k] -> turn_out_link[k]`` carries ``turn_flow_vph[k]``; only turns with flow are
    listed. ``unassigned_vph`` is demand between pairs that no path connects.
    """

    link_flow_vph: FloatArray
    turn_in_link: IntArray
    turn_out_link: IntArray
    turn_flow_vph: FloatArray
    unassigned_vph: float
    link_time_s: FloatArray

    def __repr__(self) -> str:
        return (
            f"Assignment({self.link_flow_vph.size} links, {np.count_nonzero(self.link_flow_vph)} loaded, peak "
            f"{self.link_flow_vph.max(initial=0.0):.0f} veh/h, {self.turn_flow_vph.size} turns, "
            f"{self.unassigned_vph:g} veh/h unassigned)"
        )


def check_coordinates(name: str, xy: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """``xy`` (validated finite floats, m) unless a coordinate exceeds ``MAX_COORDINATE_M``."""
    far = np.abs(xy) > MAX_COORDINATE_M
    if far.any():
        idx = tuple(int(i) for i in np.argwhere(far)[0])
        raise ValueError(
            f"{name}[{', '.join(map(str, idx))}]={float(xy[idx])!r} is out of range: planar coordinates must be "
            f"within +-{MAX_COORDINATE_M:g} m"
        )
    return xy


def _labels(name: str, value: Any, n: int) -> StrArray:
    """Optional text per element as a string array (empty strings by default)."""
    if value is None:
        return np.full(n, "", dtype="<U1")
    arr = np.asarray(value).astype(str)
    if arr.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), got {arr.shape}")
    return arr


def _ids(name: str, value: Any, n: int) -> StrArray:
    """Unique ids as strings; the indices when not given."""
    if value is None:
        return np.arange(n).astype(str)
    ids = _labels(name, value, n)
    uniq, counts = np.unique(ids, return_counts=True)
    if (counts > 1).any():
        raise ValueError(f"{name} has a repeated id {str(uniq[counts > 1][0])!r}")
    return ids


@dataclass(frozen=True, eq=False, repr=False)
class RoadNetwork(ToDict):
    """A directed road network. Arrays are validated on construction and read-only afterwards.

    Nodes have planar coordinates ``node_xy`` (m) and optionally ``node_lonlat`` (degrees). Link ``k``
    goes from node ``link_tail[k]`` to ``link_head[k]`` with length (m), free-flow speed (m/s),
    lanes and capacity (veh/h; default ``lanes * 1800``). ``node_ids``/``link_ids`` keep the ids of
    the source data (strings; by default the indices). Parallel links (same tail and head) are
    allowed: paths, turns and flows are per link, never per node pair.
    """

    node_xy: FloatArray
    link_tail: IntArray
    link_head: IntArray
    link_length_m: FloatArray
    link_speed_mps: FloatArray
    link_lanes: IntArray = FILLED
    link_capacity_vph: FloatArray = FILLED
    node_lonlat: FloatArray | None = None
    node_ids: StrArray = FILLED
    link_ids: StrArray = FILLED
    link_name: StrArray = FILLED
    link_type: StrArray = FILLED
    _graph: _network.Graph = field(init=False, repr=False)

    def __post_init__(self) -> None:
        xy = check_coordinates("node_xy", float_array("node_xy", self.node_xy, (None, 2)))
        n = xy.shape[0]
        if n == 0:
            raise ValueError("node_xy is empty: a road network needs at least one node")
        tail_raw = np.asarray(self.link_tail)
        if tail_raw.ndim != 1:
            raise ValueError(f"link_tail must have shape (m,), got {tail_raw.shape}")
        m = tail_raw.shape[0]
        if m == 0:
            raise ValueError("link_tail is empty: a road network needs at least one link")
        tail = index_array("link_tail", tail_raw, n, (m,))
        head = index_array("link_head", self.link_head, n, (m,))
        loops = np.flatnonzero(tail == head)
        if loops.size:
            raise ValueError(f"link {loops[0]} is a self loop at node {tail[loops[0]]}")
        length = float_array("link_length_m", self.link_length_m, (m,), positive=True, max_abs=MAX_COORDINATE_M)
        speed = float_array("link_speed_mps", self.link_speed_mps, (m,), positive=True, max_abs=MAX_COORDINATE_M)
        with np.errstate(over="ignore"):
            slow = ~np.isfinite(length / speed)
        if slow.any():
            k = int(np.flatnonzero(slow)[0])
            raise ValueError(f"link_speed_mps[{k}]={speed[k]!r} is too slow: link {k} would take forever")
        lanes = (
            np.ones(m, dtype=np.int32)
            if self.link_lanes is None
            else count_array("link_lanes", self.link_lanes, (m,), minimum=1)
        )
        capacity = (
            lanes * DEFAULT_LANE_CAPACITY_VPH
            if self.link_capacity_vph is None
            else float_array("link_capacity_vph", self.link_capacity_vph, (m,), positive=True)
        )
        lonlat = None
        if self.node_lonlat is not None:
            lonlat = float_array("node_lonlat", self.node_lonlat, (n, 2))
            bad = (np.abs(lonlat[:, 0]) > 180) | (np.abs(lonlat[:, 1]) > 90)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise ValueError(f"node_lonlat[{i}]={lonlat[i].tolist()} is not a (lon, lat) in degrees")
        values = {
            "node_xy": xy,
            "link_tail": tail,
            "link_head": head,
            "link_length_m": length,
            "link_speed_mps": speed,
            "link_lanes": lanes,
            "link_capacity_vph": capacity,
            "node_lonlat": lonlat,
            "node_ids": _ids("node_ids", self.node_ids, n),
            "link_ids": _ids("link_ids", self.link_ids, m),
            "link_name": _labels("link_name", self.link_name, m),
            "link_type": _labels("link_type", self.link_type, m),
        }
        assign_frozen(self, values)
        object.__setattr__(self, "_graph", _network.Graph(n, tail, head))

    def __getstate__(self) -> dict[str, Any]:
        """Pickles the arrays; the C++ graph is rebuilt from them on load."""
        return {k: v for k, v in self.__dict__.items() if k != "_graph"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        tail, head = state["link_tail"], state["link_head"]
        object.__setattr__(self, "_graph", _network.Graph(int(state["node_xy"].shape[0]), tail, head))

    # -- constructors ------------------------------------------------------------------------

    @classmethod
    def from_arrays(
        cls,
        node_xy: npt.ArrayLike,
        link_tail: npt.ArrayLike,
        link_head: npt.ArrayLike,
        length_m: npt.ArrayLike,
        speed_mps: npt.ArrayLike,
        lanes: npt.ArrayLike | None = None,
        capacity_vph: npt.ArrayLike | None = None,
        **optional: Any,
    ) -> RoadNetwork:
        """Builds a network from arrays (node coordinates in m, link tail/head node indices,
        length m, free-flow speed m/s, lanes, capacity veh/h). ``optional`` takes ``node_lonlat``,
        ``node_ids``, ``link_ids``, ``link_name`` and ``link_type``."""
        return cls(
            node_xy=node_xy,  # type: ignore[arg-type]
            link_tail=link_tail,  # type: ignore[arg-type]
            link_head=link_head,  # type: ignore[arg-type]
            link_length_m=length_m,  # type: ignore[arg-type]
            link_speed_mps=speed_mps,  # type: ignore[arg-type]
            link_lanes=lanes,  # type: ignore[arg-type]
            link_capacity_vph=capacity_vph,  # type: ignore[arg-type]
            **optional,
        )

    # -- derived data ------------------------------------------------------------------------

    @property
    def num_nodes(self) -> int:
        """Number of nodes."""
        return int(self.node_xy.shape[0])

    @property
    def num_links(self) -> int:
        """Number of directed links."""
        return int(self.link_tail.shape[0])

    @cached_property
    def link_time_s(self) -> FloatArray:
        """Free-flow travel time per link (s)."""
        t = self.link_length_m / self.link_speed_mps
        frozen(t)
        return t

    @cached_property
    def csr(self) -> tuple[npt.NDArray[np.int64], IntArray]:
        """Out-adjacency: links leaving node ``v`` are ``links[offsets[v]:offsets[v + 1]]``."""
        offsets, links = self._graph.csr()
        frozen(offsets, links)
        return offsets, links

    @cached_property
    def turns(self) -> tuple[IntArray, IntArray]:
        """Every pair (in-link, out-link) that meets at a node, U-turns included."""
        in_link, out_link = self._graph.turns()
        frozen(in_link, out_link)
        return in_link, out_link

    def node_index(self, ids: npt.ArrayLike) -> IntArray:
        """Indices of nodes given by their ids (``ValueError`` names the first unknown id)."""
        ids_arr = np.atleast_1d(np.asarray(ids).astype(str))
        order = np.argsort(self.node_ids)
        pos = np.searchsorted(self.node_ids, ids_arr, sorter=order)
        pos = np.minimum(pos, self.num_nodes - 1)
        found = order[pos]
        unknown = self.node_ids[found] != ids_arr
        if unknown.any():
            raise ValueError(f"unknown node id {str(ids_arr[np.flatnonzero(unknown)[0]])!r}")
        return found.astype(np.int32)

    # -- queries -----------------------------------------------------------------------------

    def _weights(self, weight: Weight, link_time_s: npt.ArrayLike | None) -> FloatArray:
        if weight == "length":
            if link_time_s is not None:
                raise ValueError("link_time_s only applies to weight='time'")
            return self.link_length_m
        if weight != "time":
            raise ValueError(f"weight must be 'time' or 'length', got {weight!r}")
        if link_time_s is None:
            return self.link_time_s
        return float_array("link_time_s", link_time_s, (self.num_links,), nonnegative=True)

    def _nodes(self, name: str, nodes: npt.ArrayLike) -> IntArray:
        arr = index_array(name, nodes, self.num_nodes)
        if arr.size == 0:
            raise ValueError(f"{name} is empty")
        return arr

    def _matrix(
        self,
        origins: npt.ArrayLike,
        destinations: npt.ArrayLike | None,
        weights: FloatArray,
        n_threads: int,
    ) -> FloatArray:
        src = self._nodes("origins", origins)
        dst = np.zeros(0, np.int32) if destinations is None else self._nodes("destinations", destinations)
        threads = min(positive_int("n_threads", n_threads), _MAX_THREADS)
        return _network.cost_matrix(self._graph, weights, src, dst, threads)

    def travel_time_matrix(
        self,
        origins: npt.ArrayLike,
        destinations: npt.ArrayLike | None = None,
        *,
        n_threads: int = 1,
        link_time_s: npt.ArrayLike | None = None,
        hierarchy: ContractionHierarchy | None = None,
    ) -> FloatArray:
        """Shortest travel times (s), shape ``(len(origins), len(destinations))`` — all nodes when
        ``destinations`` is None — with ``inf`` where unreachable. ``link_time_s`` replaces the
        free-flow link times (e.g. with signal delays). Given a ``hierarchy`` of this network (from
        :meth:`hierarchy`, with the link times it was built for), the times come from it instead
        of Dijkstra's algorithm: the same times, many times faster once it is built. Parallel over
        origins on ``n_threads`` threads with the GIL released; the result does not depend on
        ``n_threads``."""
        if hierarchy is None:
            return self._matrix(origins, destinations, self._weights("time", link_time_s), n_threads)
        if link_time_s is not None:
            raise ValueError("give link_time_s or a hierarchy built for them, not both")
        if not isinstance(hierarchy, ContractionHierarchy) or hierarchy.num_nodes != self.num_nodes:
            raise ValueError(f"hierarchy must be a ContractionHierarchy of this network's nodes, got {hierarchy!r}")
        dst = np.arange(self.num_nodes) if destinations is None else self._nodes("destinations", destinations)
        return hierarchy.times(self._nodes("origins", origins), dst, n_threads=n_threads)[0]

    def hierarchy(self, *, link_time_s: npt.ArrayLike | None = None) -> ContractionHierarchy:
        """A contraction hierarchy of this network's free-flow link times (or ``link_time_s``, s)
        and lengths (m): exact fastest times and path lengths between any nodes without an
        all-pairs matrix. Build it once (seconds for 100,000 nodes) and query it often."""
        return ContractionHierarchy.from_links(
            self.num_nodes, self.link_tail, self.link_head, self._weights("time", link_time_s), self.link_length_m
        )

    def distance_matrix(
        self, origins: npt.ArrayLike, destinations: npt.ArrayLike | None = None, *, n_threads: int = 1
    ) -> FloatArray:
        """Shortest path lengths (m), like :meth:`travel_time_matrix` but minimising length."""
        return self._matrix(origins, destinations, self.link_length_m, n_threads)

    def shortest_path(
        self,
        origin: int,
        destination: int,
        *,
        weight: Weight = "time",
        link_time_s: npt.ArrayLike | None = None,
    ) -> Path | None:
        """The path minimising travel time (or length) from ``origin`` to ``destination``, or None
        when no path exists."""
        o, d = (int(v) for v in self._nodes("origin/destination", [origin, destination]))
        weights = self._weights(weight, link_time_s)
        cost, pred = _network.shortest_path_tree(self._graph, weights, o, d)
        if not np.isfinite(cost[d]):
            return None
        links: list[int] = []
        v = d
        while v != o:
            links.append(int(pred[v]))
            v = int(self.link_tail[pred[v]])
        link_arr = np.array(links[::-1], dtype=np.int32)
        nodes = np.concatenate([[o], self.link_head[link_arr]]).astype(np.int32)
        times = self._weights("time", link_time_s if weight == "time" else None)
        return Path(
            nodes=nodes,
            links=link_arr,
            travel_time_s=float(times[link_arr].sum()),
            length_m=float(self.link_length_m[link_arr].sum()),
        )

    def turn_tree(
        self,
        source_links: npt.ArrayLike,
        turns: tuple[npt.ArrayLike, npt.ArrayLike],
        *,
        link_time_s: npt.ArrayLike | None = None,
    ) -> tuple[FloatArray, IntArray]:
        """Fastest paths that turn only where ``turns`` allows (pairs ``(in_link, out_link)``, e.g.
        a SUMO net's connections from :func:`~smartopt.network.io.read_sumo_connections`): from the
        end of each source link, the travel time (s) to the end of every link (``inf`` where
        unreachable) and the link before it on the path (-1 at the source and where unreachable),
        each of shape ``(len(source_links), num_links)``. A path to link ``k`` from source ``s``
        walks the previous links back from ``k`` to ``s``."""
        from scipy.sparse import csr_matrix
        from scipy.sparse.csgraph import dijkstra

        n = self.num_links
        src = index_array("source_links", source_links, n)
        t_in, t_out = (index_array(name, v, n) for name, v in zip(("turns[0]", "turns[1]"), turns, strict=True))
        if t_in.shape != t_out.shape:
            raise ValueError(f"turns: {t_in.shape[0]} in-links but {t_out.shape[0]} out-links")
        bad = self.link_head[t_in] != self.link_tail[t_out]
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"turns[{k}]: link {str(self.link_ids[t_in[k]])!r} does not end where link "
                f"{str(self.link_ids[t_out[k]])!r} starts"
            )
        times = self._weights("time", link_time_s)
        pairs = np.unique(np.stack([t_in, t_out]), axis=1)  # a repeated turn would add its weights
        # an arc's weight is its out-link's time; a tiny floor keeps zero-time links as arcs
        weight = np.maximum(times[pairs[1]], np.finfo(float).tiny)
        graph = csr_matrix((weight, (pairs[0], pairs[1])), shape=(n, n))
        cost, pred = dijkstra(graph, indices=src, return_predecessors=True)
        pred = np.atleast_2d(pred)
        return np.atleast_2d(cost), np.where(pred < 0, -1, pred).astype(np.int32)

    def nearest_nodes(self, points_xy: npt.ArrayLike) -> tuple[npt.NDArray[np.intp], FloatArray]:
        """Snaps points (m, shape ``(k, 2)``) to their nearest nodes: ``(node index, distance m)``."""
        from smartopt._core import _spatial

        pts = check_coordinates("points_xy", float_array("points_xy", points_xy, (None, 2)))
        index, distance = _spatial.nearest_nodes(np.asarray(self.node_xy, dtype=np.float64), pts)
        if pts.shape[0] and not (index >= 0).all():  # cannot happen with coordinates in range
            raise ValueError("points_xy: no nearest node found")
        return index, distance

    def assign(
        self,
        origins: npt.ArrayLike,
        destinations: npt.ArrayLike,
        demand_vph: npt.ArrayLike,
        *,
        iterations: int = 1,
        bpr: tuple[float, float] = (0.15, 4.0),
        n_threads: int = 1,
    ) -> Assignment:
        """Loads an OD matrix (veh/h, shape ``(len(origins), len(destinations))``) onto the network.

        ``iterations=1`` is all-or-nothing on free-flow times. More iterations run the method of
        successive averages with BPR link times ``t0 * (1 + a * (flow / capacity) ** b)``, ``(a, b)
        = bpr``, which spreads flow over alternative routes as links fill up.
        """
        src = self._nodes("origins", origins)
        dst = self._nodes("destinations", destinations)
        q = float_array("demand_vph", demand_vph, (src.size, dst.size), nonnegative=True, max_abs=MAX_DEMAND_VPH)
        iters = positive_int("iterations", iterations, maximum=MAX_ASSIGN_ITERATIONS)
        a, b = (float(v) for v in float_array("bpr", bpr, (2,), nonnegative=True))
        if a > 1e3 or b > 50:
            raise ValueError(f"bpr=({a:g}, {b:g}) is out of range: a <= 1000 and b <= 50")
        threads = min(positive_int("n_threads", n_threads), _MAX_THREADS)
        t0 = self.link_time_s
        times = t0
        link_flow = turn_flow = np.zeros(0)
        unassigned = 0.0
        for k in range(iters):
            lf, tf, unassigned = _network.assign_all_or_nothing(self._graph, times, src, dst, q, threads)
            if k == 0:
                link_flow, turn_flow = lf, tf
            else:
                step = 1.0 / (k + 1)
                link_flow = link_flow + step * (lf - link_flow)
                turn_flow = turn_flow + step * (tf - turn_flow)
            with np.errstate(over="ignore"):  # a link far over capacity: its time is inf (not used)
                times = t0 * (1.0 + a * (link_flow / self.link_capacity_vph) ** b)
        used = np.flatnonzero(turn_flow > 0)
        in_link, out_link = self.turns
        return Assignment(
            link_flow_vph=link_flow,
            turn_in_link=in_link[used],
            turn_out_link=out_link[used],
            turn_flow_vph=turn_flow[used],
            unassigned_vph=float(unassigned),
            link_time_s=times,
        )

    # -- display -----------------------------------------------------------------------------

    def to_frame(self) -> pd.DataFrame:
        """The links as a pandas DataFrame (one row per link)."""
        import pandas as pd

        return pd.DataFrame(
            {
                "id": self.link_ids,
                "from": self.node_ids[self.link_tail],
                "to": self.node_ids[self.link_head],
                "length_m": self.link_length_m,
                "speed_mps": self.link_speed_mps,
                "lanes": self.link_lanes,
                "capacity_vph": self.link_capacity_vph,
                "name": self.link_name,
                "type": self.link_type,
            }
        )

    def __repr__(self) -> str:
        lo, hi = self.node_xy.min(axis=0), self.node_xy.max(axis=0)
        w, h = hi - lo
        return (
            f"RoadNetwork({self.num_nodes} nodes, {self.num_links} links, "
            f"{self.link_length_m.sum() / 1000:.1f} km of links, extent {w:.0f} m x {h:.0f} m)"
        )
