"""Rebalancing idle vehicles toward expected demand: zones around anchor locations, and a
min-cost flow (OR-Tools ``SimpleMinCostFlow``) that moves each zone's surplus of idle vehicles to
the zones short of their share at least total driving time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from ortools.graph.python import min_cost_flow

from smartopt._core import _spatial
from smartopt._validation import FloatArray, IntArray
from smartopt.dispatch.space import TravelSpace

MIN_ZONE_M = 1.0
"""Smallest rebalancing zone (m)."""
MAX_ZONE_M = 1e12
"""Largest rebalancing zone (m): one zone holds every location."""


@dataclass(frozen=True, eq=False)
class Zones:
    """Zones of a space: ``anchor`` holds one location per zone (nearest the centre of a square
    cell of ``size_m`` holding locations); a point belongs to the zone of its nearest anchor."""

    anchor: IntArray
    anchor_xy: npt.NDArray[np.float64]

    @classmethod
    def grid(cls, space: TravelSpace, size_m: float) -> Zones:
        if space.node_xy is None:
            raise ValueError("rebalancing needs location coordinates (TravelSpace.from_matrix without node_xy)")
        if not (isinstance(size_m, int | float) and MIN_ZONE_M <= size_m <= MAX_ZONE_M):
            raise ValueError(f"zone_m must be a number of metres in [{MIN_ZONE_M:g}, {MAX_ZONE_M:g}], got {size_m!r}")
        xy = space.node_xy
        cell = np.floor((xy - xy.min(axis=0)) / size_m)  # whole numbers below 2**53: exact as floats
        _, of_cell = np.unique(cell, axis=0, return_inverse=True)
        of_cell = of_cell.reshape(-1)
        anchors = []
        for c in range(int(of_cell.max()) + 1):
            members = np.flatnonzero(of_cell == c)
            centre = xy[members].mean(axis=0)
            anchors.append(members[np.argmin(((xy[members] - centre) ** 2).sum(axis=1))])
        a = np.array(anchors, dtype=np.int32)
        return cls(a, np.ascontiguousarray(xy[a], dtype=np.float64))

    def of_points(self, xy: npt.NDArray[np.float64]) -> IntArray:
        """Zone of each point (m, shape (k, 2))."""
        nearest, _ = _spatial.nearest_nodes(self.anchor_xy, np.ascontiguousarray(xy, dtype=np.float64))
        return nearest.astype(np.int32)


def shares(expected: FloatArray, vehicles: int) -> npt.NDArray[np.int64]:
    """``vehicles`` split over zones in proportion to ``expected`` (largest remainders)."""
    exact = expected / expected.sum() * vehicles
    out: npt.NDArray[np.int64] = np.floor(exact).astype(np.int64)
    out[np.argsort(out - exact, kind="stable")[: vehicles - int(out.sum())]] += 1
    return out


def rebalance(core: Any, space: TravelSpace, zones: Zones, expected: FloatArray) -> int:
    """Sends the core fleet's idle vehicles toward the zones' shares of ``expected`` demand (per
    zone); returns how many were sent."""
    v = core.vehicles()
    idle = np.flatnonzero((v["stops"] == 0) & v["in_service"])
    if idle.size == 0 or expected.sum() <= 0:
        return 0
    assert space.node_xy is not None
    position = v["position"][idle]
    where = zones.of_points(position if space.is_plane else space.node_xy[position])
    surplus = np.bincount(where, minlength=zones.anchor.size) - shares(expected, idle.size)
    src, dst = np.flatnonzero(surplus > 0), np.flatnonzero(surplus < 0)
    if src.size == 0:
        return 0
    tails, heads = np.repeat(src, dst.size), np.tile(dst, src.size)
    cost = np.rint(space.travel_time(zones.anchor[tails], zones.anchor[heads])).astype(np.int64)
    flow = min_cost_flow.SimpleMinCostFlow()
    arcs = flow.add_arcs_with_capacity_and_unit_cost(tails, heads, np.full(tails.size, idle.size), cost)
    flow.set_nodes_supplies(np.arange(zones.anchor.size), surplus)
    if flow.solve() != flow.OPTIMAL:
        return 0
    sent = 0
    moved = np.zeros(idle.size, dtype=bool)
    for arc, count in zip(arcs, flow.flows(arcs), strict=True):
        if count <= 0:
            continue
        a, b = int(tails[arc]), zones.anchor[heads[arc]]
        here = np.flatnonzero((where == a) & ~moved)[: int(count)]
        target = space.node_xy[[b]] if space.is_plane else np.array([b])
        for k in here:
            moved[k] = True
            sent += bool(core.reposition(int(idle[k]), target))
    return sent
