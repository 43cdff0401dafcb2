"""Property tests: the C++ engine against scipy's Dijkstra, and hostile input at the native boundary."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from smartopt._core import _network, _spatial
from smartopt.network import RoadNetwork


@st.composite
def random_networks(draw: st.DrawFn) -> tuple[RoadNetwork, np.ndarray]:
    """Random directed graphs (often disconnected) with link times spanning 12 orders of magnitude,
    some of them zero."""
    n = draw(st.integers(2, 40))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    m = draw(st.integers(1, 4 * n))
    tail, head = rng.integers(0, n, m), rng.integers(0, n, m)
    keep = tail != head
    key = np.unique(tail[keep] * n + head[keep])
    if key.size == 0:
        key = np.array([1])  # 0 -> 1
    tail, head = key // n, key % n
    length = rng.uniform(1.0, 1000.0, key.size)
    times = length / rng.uniform(1.0, 30.0, key.size) * 10.0 ** rng.uniform(-6, 6, key.size)
    times[rng.random(key.size) < 0.15] = 0.0
    net = RoadNetwork.from_arrays(rng.uniform(0, 1000, (n, 2)), tail, head, length, np.full(key.size, 10.0))
    return net, times


def scipy_costs(net: RoadNetwork, weights: np.ndarray) -> np.ndarray:
    # scipy drops explicit zeros from sparse matrices, so zero-cost links get a negligible weight.
    w = np.where(weights == 0, 1e-300, weights)
    graph = csr_matrix((w, (net.link_tail, net.link_head)), shape=(net.num_nodes, net.num_nodes))
    return dijkstra(graph, directed=True)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_networks(), st.integers(1, 3))
def test_matches_scipy_dijkstra(case: tuple[RoadNetwork, np.ndarray], threads: int) -> None:
    net, times = case
    ours = net.travel_time_matrix(np.arange(net.num_nodes), n_threads=threads, link_time_s=times)
    ref = scipy_costs(net, times)
    np.testing.assert_array_equal(np.isinf(ours), np.isinf(ref))
    finite = np.isfinite(ref)
    np.testing.assert_allclose(ours[finite], ref[finite], rtol=1e-9, atol=1e-250)


@settings(max_examples=60, deadline=None)
@given(random_networks(), st.data())
def test_subsets_paths_and_distances_agree(case: tuple[RoadNetwork, np.ndarray], data: st.DataObject) -> None:
    net, _ = case
    n = net.num_nodes
    origins = np.array(data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=6)))
    targets = np.array(data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=6)))
    full = net.distance_matrix(np.arange(n))
    np.testing.assert_array_equal(net.distance_matrix(origins, targets), full[np.ix_(origins, targets)])
    np.testing.assert_allclose(full, scipy_costs(net, net.link_length_m), rtol=1e-9)
    for o, d in zip(origins, targets, strict=False):  # pairs up to the shorter list
        path = net.shortest_path(int(o), int(d), weight="length")
        if np.isinf(full[o, d]):
            assert path is None
            continue
        assert path is not None
        assert path.nodes[0] == o and path.nodes[-1] == d
        np.testing.assert_array_equal(net.link_tail[path.links], path.nodes[:-1])
        np.testing.assert_array_equal(net.link_head[path.links], path.nodes[1:])
        assert path.length_m == pytest.approx(full[o, d], rel=1e-9)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.floats(-1e6, 1e6), st.floats(-1e6, 1e6)), min_size=1, max_size=60),
    st.lists(st.tuples(st.floats(-1e7, 1e7), st.floats(-1e7, 1e7)), min_size=1, max_size=20),
)
def test_nearest_nodes_match_brute_force(nodes: list[tuple[float, float]], queries: list[tuple[float, float]]) -> None:
    node_xy, query_xy = np.array(nodes), np.array(queries)
    idx, dist = _spatial.nearest_nodes(node_xy, query_xy)
    brute = np.hypot(*(query_xy[:, None, :] - node_xy[None, :, :]).transpose(2, 0, 1))
    np.testing.assert_allclose(dist, brute.min(axis=1), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(brute[np.arange(len(idx)), idx], brute.min(axis=1), rtol=1e-9, atol=1e-9)


# -- hostile input straight at the compiled module: exceptions, never a crash --------------------


def test_native_graph_rejects_bad_structure() -> None:
    with pytest.raises(ValueError, match="n_nodes must be positive"):
        _network.Graph(0, np.zeros(0, np.int32), np.zeros(0, np.int32))
    with pytest.raises(IndexError, match="link 1 has an endpoint outside"):
        _network.Graph(3, np.array([0, 5], np.int32), np.array([1, 2], np.int32))
    with pytest.raises(ValueError, match="equal length"):
        _network.Graph(3, np.array([0, 1], np.int32), np.array([1], np.int32))


@pytest.mark.parametrize(
    ("weights", "sources", "match", "error"),
    [
        ([1.0, np.nan], [0], r"weights\[1\] must be finite and >= 0", ValueError),
        ([1.0, -2.0], [0], r"weights\[1\] must be finite and >= 0", ValueError),
        ([1.0, np.inf], [0], r"weights\[1\] must be finite and >= 0", ValueError),
        ([1.0], [0], "one value per link", ValueError),
        ([1.0, 1.0], [3], r"\[0\]=3 is not a node index", IndexError),
        ([1.0, 1.0], [-1], r"\[0\]=-1 is not a node index", IndexError),
    ],
)
def test_native_queries_reject_bad_input(weights: list[float], sources: list[int], match: str, error: type) -> None:
    g = _network.Graph(3, np.array([0, 1], np.int32), np.array([1, 2], np.int32))
    w = np.array(weights)
    s = np.array(sources, np.int32)
    with pytest.raises(error, match=match):
        _network.cost_matrix(g, w, s, np.zeros(0, np.int32), 1)
    with pytest.raises(error, match=match):
        _network.assign_all_or_nothing(g, w, s, np.array([2], np.int32), np.ones((len(s), 1)), 1)
    if len(s) == 1:
        with pytest.raises(error, match=match):
            _network.shortest_path_tree(g, w, int(s[0]), -1)


def test_native_handles_huge_and_zero_weights() -> None:
    g = _network.Graph(3, np.array([0, 1], np.int32), np.array([1, 2], np.int32))
    out = _network.cost_matrix(g, np.array([1e308, 1e308]), np.array([0], np.int32), np.zeros(0, np.int32), 4)
    assert out[0, 1] == 1e308 and np.isinf(out[0, 2])
    out = _network.cost_matrix(g, np.zeros(2), np.array([0], np.int32), np.zeros(0, np.int32), 1)
    np.testing.assert_array_equal(out, [[0.0, 0.0, 0.0]])


def test_nearest_nodes_on_a_line_with_far_queries() -> None:
    """Nodes on one line span a huge grid unless the cell size follows the longer side; queries
    far away must still answer at once."""
    nodes = np.column_stack([np.linspace(-1e6, 1e6, 60), np.zeros(60)])
    queries = np.array([[1e7, -1e7], [0.0, 5e6], [3.0, 0.0]])
    idx, dist = _spatial.nearest_nodes(nodes, queries)
    brute = np.hypot(*(queries[:, None, :] - nodes[None, :, :]).transpose(2, 0, 1))
    np.testing.assert_allclose(dist, brute.min(axis=1), rtol=1e-12)
    np.testing.assert_allclose(brute[np.arange(3), idx], brute.min(axis=1), rtol=1e-12)
    same = np.zeros((5, 2))  # all nodes at one point
    assert _spatial.nearest_nodes(same, np.array([[1.0, 1.0]]))[0].tolist() == [0]
