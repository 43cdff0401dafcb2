"""Contraction hierarchies: exact fastest travel times (s) and the lengths (m) of those paths on
road networks too large for all-pairs matrices (see docs/travel_oracle.md)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from smartopt._core import _network
from smartopt._validation import FloatArray, float_array, index_array, positive_int

_MAX_THREADS = 4 * (os.cpu_count() or 1)


@dataclass(frozen=True, eq=False)
class ContractionHierarchy:
    """An exact fastest-path oracle over ``num_nodes`` nodes, built once (``build_s`` seconds, with
    ``num_shortcuts`` shortcut arcs) from directed links with travel times (s) and lengths (m).

    Times equal Dijkstra's up to rounding (1e-9 relative); each distance is the length of the
    fastest path found (of equal time, another path may be chosen than Dijkstra's). Unreachable
    pairs give ``inf``. Build one with :meth:`RoadNetwork.hierarchy
    <smartopt.network.RoadNetwork.hierarchy>` or :meth:`from_links`.
    """

    num_nodes: int
    num_shortcuts: int
    build_s: float
    core: _network.ContractionHierarchy = field(repr=False)

    @classmethod
    def from_links(
        cls,
        num_nodes: int,
        link_tail: npt.ArrayLike,
        link_head: npt.ArrayLike,
        link_time_s: npt.ArrayLike,
        link_length_m: npt.ArrayLike,
    ) -> ContractionHierarchy:
        """The hierarchy of ``num_nodes`` nodes and the links ``link_tail[i] -> link_head[i]``
        (node indices) taking ``link_time_s[i]`` (s, finite, >= 0) over ``link_length_m[i]`` (m)."""
        n = positive_int("num_nodes", num_nodes)
        tail = index_array("link_tail", link_tail, n)
        head = index_array("link_head", link_head, n, (tail.shape[0],))
        t = float_array("link_time_s", link_time_s, (tail.shape[0],), nonnegative=True)
        length = float_array("link_length_m", link_length_m, (tail.shape[0],), nonnegative=True)
        started = time.perf_counter()
        core = _network.ContractionHierarchy(_network.Graph(n, tail, head), t, length)
        return cls(n, int(core.num_shortcuts), time.perf_counter() - started, core)

    def _nodes(self, name: str, nodes: npt.ArrayLike) -> npt.NDArray[np.int32]:
        return index_array(name, nodes, self.num_nodes)

    def times(
        self, origins: npt.ArrayLike, destinations: npt.ArrayLike, *, n_threads: int = 1
    ) -> tuple[FloatArray, FloatArray]:
        """Fastest times (s) and those paths' lengths (m), each of shape ``(len(origins),
        len(destinations))``. Parallel over origins on ``n_threads`` threads with the GIL
        released; the result does not depend on ``n_threads``."""
        o, d = self._nodes("origins", origins), self._nodes("destinations", destinations)
        threads = min(positive_int("n_threads", n_threads), _MAX_THREADS)
        return self.core.many_to_many(o, d, threads)

    def pair_times(
        self, origins: npt.ArrayLike, destinations: npt.ArrayLike, *, n_threads: int = 1
    ) -> tuple[FloatArray, FloatArray]:
        """Fastest times (s) and those paths' lengths (m) from ``origins[i]`` to
        ``destinations[i]``."""
        o = self._nodes("origins", origins)
        d = index_array("destinations", destinations, self.num_nodes, (o.shape[0],))
        threads = min(positive_int("n_threads", n_threads), _MAX_THREADS)
        return self.core.pairs(o, d, threads)

    @property
    def strongly_connected(self) -> bool:
        """True when every node reaches every other."""
        return bool(self.core.strongly_connected())

    def __repr__(self) -> str:
        return (
            f"ContractionHierarchy({self.num_nodes} nodes, {self.num_shortcuts} shortcuts, "
            f"built in {self.build_s:.2f} s)"
        )
