"""The travel-time oracle: contraction hierarchies (build + queries) against scipy's Dijkstra.

Networks: a 64 x 64 street grid (4,096 nodes, ``grid_network``) and a synthetic road network of
about 100,000 nodes (316 x 316, :func:`road_network`: two-way arterials every 8 blocks at 15 m/s,
local streets at 9 m/s, alternate local streets one-way, jittered lengths). Queries: 1,000 origins
x 1,000 destinations (many-to-many) and 10,000 random pairs. scipy computes whole rows
(``dijkstra(indices=...)``); on the large network it is timed on a subset of origins and
extrapolated. Smoke size: 16 x 16 and 30 x 30 grids, 50 x 50 queries.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from smartopt.datasets import grid_network
from smartopt.network import RoadNetwork

TOOLS = ("smartopt-hierarchy-build+query", "smartopt-hierarchy-query", "smartopt-dijkstra", "scipy")


def road_network(side: int, seed: int = 0) -> RoadNetwork:
    """A ``side x side`` street grid shaped like a city's roads: two-way arterials every 8 blocks
    and on the edges (15 m/s), local streets (9 m/s), those on odd rows and columns one-way in
    alternating directions; blocks of 120 m, lengths jittered by up to 30 %."""
    rng = np.random.default_rng(seed)
    node = np.arange(side * side).reshape(side, side)
    tails, heads, speeds = [], [], []
    for horizontal in (True, False):
        grid = node if horizontal else node.T
        for line in range(side):
            a, b = grid[line, :-1], grid[line, 1:]
            arterial = line % 8 == 0 or line == side - 1
            speed = 15.0 if arterial else 9.0
            if arterial or line % 2 == 0:
                tails += [a, b]
                heads += [b, a]
                speeds += [np.full(2 * a.size, speed)]
            else:  # one-way, alternating direction
                forward = (line // 2) % 2 == 0
                tails.append(a if forward else b)
                heads.append(b if forward else a)
                speeds.append(np.full(a.size, speed))
    tail, head, speed = np.concatenate(tails), np.concatenate(heads), np.concatenate(speeds)
    iy, ix = np.divmod(np.arange(side * side), side)
    xy = np.column_stack([ix, iy]).astype(float) * 120.0
    length = np.hypot(*(xy[head] - xy[tail]).T) * rng.uniform(0.7, 1.3, tail.size)
    return RoadNetwork.from_arrays(xy, tail, head, length, speed)


def network(name: str, scale: str) -> RoadNetwork:
    if name == "grid":
        side = 64 if scale == "full" else 16
        return grid_network(side, side, seed=1)
    return road_network(316 if scale == "full" else 30)


def solver(tool: str, net: RoadNetwork) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """origins, destinations -> times (s); graph building is setup except for the hierarchy's."""
    if tool == "smartopt-hierarchy-build+query":
        return lambda o, d: net.travel_time_matrix(o, d, hierarchy=net.hierarchy())
    if tool == "smartopt-hierarchy-query":
        hierarchy = net.hierarchy()
        return lambda o, d: net.travel_time_matrix(o, d, hierarchy=hierarchy)
    if tool == "smartopt-dijkstra":
        return lambda o, d: net.travel_time_matrix(o, d)
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import dijkstra

    graph = csr_matrix((net.link_time_s, (net.link_tail, net.link_head)), shape=(net.num_nodes,) * 2)
    return lambda o, d: dijkstra(graph, directed=True, indices=o)[:, d]


@pytest.mark.parametrize("tool", TOOLS)
@pytest.mark.parametrize("name", ["grid", "road"])
def test_many_to_many(benchmark: Any, scale: str, name: str, tool: str) -> None:
    net = network(name, scale)
    k = 1000 if scale == "full" else 50
    rng = np.random.default_rng(0)
    origins, destinations = rng.integers(0, net.num_nodes, k), rng.integers(0, net.num_nodes, k)
    subset = 50 if (scale == "full" and name == "road" and tool in ("scipy", "smartopt-dijkstra")) else k
    run = solver(tool, net)
    benchmark.group = f"many-to-many {name} ({net.num_nodes} nodes, {k} x {k})"
    benchmark.extra_info["tool"] = tool
    if subset < k:
        benchmark.extra_info["extrapolate"] = k / subset
    rounds = 1 if (scale == "full" and name == "road") else 3
    result = benchmark.pedantic(run, args=(origins[:subset], destinations), rounds=rounds, iterations=1)
    reference = net.travel_time_matrix(origins[:3], destinations)
    np.testing.assert_allclose(result[:3], reference, rtol=1e-9)


@pytest.mark.parametrize("tool", ["smartopt-hierarchy-query", "scipy"])
@pytest.mark.parametrize("name", ["grid", "road"])
def test_pairs(benchmark: Any, scale: str, name: str, tool: str) -> None:
    net = network(name, scale)
    k = 10_000 if scale == "full" else 50
    rng = np.random.default_rng(1)
    origins, destinations = rng.integers(0, net.num_nodes, k), rng.integers(0, net.num_nodes, k)
    if tool == "scipy":
        subset = 20
        rows = solver("scipy", net)

        def run() -> np.ndarray:
            return np.array([rows(origins[i : i + 1], destinations[i : i + 1])[0, 0] for i in range(subset)])

        benchmark.extra_info["extrapolate"] = k / subset
    else:
        hierarchy = net.hierarchy()

        def run() -> np.ndarray:
            return hierarchy.pair_times(origins, destinations)[0]

    benchmark.group = f"point-to-point {name} ({net.num_nodes} nodes, {k} pairs)"
    benchmark.extra_info["tool"] = tool
    result = benchmark.pedantic(run, rounds=3, iterations=1)
    reference = net.travel_time_matrix(origins[:3], destinations[:3]).diagonal()
    np.testing.assert_allclose(result[:3], reference, rtol=1e-9)
