"""Travel-time matrices: 500 origins x all nodes, smartopt (1 and 2 threads) vs scipy and igraph.

Networks: the Sejong 5-1 district and a generated grid of ~100,000 nodes (316 x 316). Smoke size:
a 30 x 30 grid and 20 origins.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from smartopt.datasets import grid_network, sejong_5_1
from smartopt.network import RoadNetwork

TOOLS = ("smartopt-1-thread", "smartopt-2-threads", "scipy", "igraph")


def network(name: str, scale: str) -> RoadNetwork:
    if name == "sejong":
        return sejong_5_1().network
    side = 316 if scale == "full" else 30
    return grid_network(side, side, seed=1)


def solver(tool: str, net: RoadNetwork) -> Callable[[np.ndarray], np.ndarray]:
    """A function origins -> matrix for each tool; graph building is setup, not timed."""
    if tool.startswith("smartopt"):
        threads = 1 if "1-thread" in tool else 2
        return lambda o: net.travel_time_matrix(o, n_threads=threads)
    if tool == "scipy":
        from scipy.sparse import csr_matrix
        from scipy.sparse.csgraph import dijkstra

        graph = csr_matrix((net.link_time_s, (net.link_tail, net.link_head)), shape=(net.num_nodes,) * 2)
        return lambda o: dijkstra(graph, directed=True, indices=o)
    import igraph

    g = igraph.Graph(n=net.num_nodes, edges=np.column_stack([net.link_tail, net.link_head]).tolist(), directed=True)
    weights = net.link_time_s.tolist()
    return lambda o: np.array(g.distances(source=o.tolist(), weights=weights, mode="out"))


@pytest.mark.parametrize("tool", TOOLS)
@pytest.mark.parametrize("name", ["sejong", "grid"])
def test_travel_time_matrix(benchmark, scale: str, name: str, tool: str) -> None:  # type: ignore[no-untyped-def]
    if tool == "igraph":
        pytest.importorskip("igraph")
    net = network(name, scale)
    n_origins = 500 if scale == "full" else 20
    origins = np.random.default_rng(0).integers(0, net.num_nodes, n_origins)
    run = solver(tool, net)
    benchmark.group = f"travel_time_matrix {name} ({net.num_nodes} nodes, {n_origins} origins)"
    benchmark.extra_info["tool"] = tool
    rounds = 3 if (name == "grid" and scale == "full") else 20
    result = benchmark.pedantic(run, args=(origins,), rounds=rounds, iterations=1, warmup_rounds=1)
    reference = net.travel_time_matrix(origins[:5])
    np.testing.assert_allclose(result[:5], reference, rtol=1e-9)
