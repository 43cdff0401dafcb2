"""The travel-time oracle: contraction hierarchies against scipy's Dijkstra on random directed
graphs, matrix and hierarchy spaces giving the same fleet day, determinism across thread counts,
and hostile input into the compiled entry points.

Tolerances: times 1e-9 relative (plus 1e-9 s absolute for zero-time paths); distances the same;
fleet times 1e-6 s.
"""

from __future__ import annotations

import pickle
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import csgraph_from_dense, dijkstra

from fleet_checks import make_fleet, random_requests
from smartopt._core import _dispatch, _network
from smartopt.datasets.grid import grid_network
from smartopt.dispatch import TravelSpace, simulate
from smartopt.network import ContractionHierarchy, RoadNetwork

RTOL, ATOL = 1e-9, 1e-9


@st.composite
def random_graphs(draw: Any, ties: bool = False) -> tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A directed graph of 1-30 nodes: one-way and parallel links, self-loops, unreachable pairs;
    random real times (one fastest path per pair, almost surely), or with ``ties`` integer times
    and zero-time links (many equal-time paths)."""
    n = draw(st.integers(1, 30))
    m = draw(st.integers(0, 4 * n))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    tail, head = rng.integers(0, n, m), rng.integers(0, n, m)
    t = np.round(rng.uniform(0, 5, m)) if ties else rng.uniform(0.1, 100.0, m)
    if ties:
        t[rng.random(m) < 0.15] = 0.0
    length = rng.uniform(1.0, 500.0, m)
    return n, tail, head, t, length


def reference(n: int, tail: np.ndarray, head: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """scipy's all-pairs fastest times and predecessors (parallel links: the fastest one; explicit
    zero-time links kept as edges)."""
    w = np.full((n, n), np.inf)
    for a, b, x in zip(tail, head, t, strict=True):
        if a != b:
            w[a, b] = min(w[a, b], x)
    graph = csgraph_from_dense(w, null_value=np.inf)
    times, pred = dijkstra(graph, return_predecessors=True)
    return times, pred


def path_length(
    n: int, tail: np.ndarray, head: np.ndarray, t: np.ndarray, length: np.ndarray, pred: np.ndarray
) -> np.ndarray:
    """The length (m) of scipy's fastest path per pair (its fastest parallel link each step)."""
    best = {}
    for a, b, x, y in zip(tail, head, t, length, strict=True):
        if a != b and ((a, b) not in best or x < best[a, b][0]):
            best[a, b] = (x, y)
    out = np.full((n, n), np.inf)
    for s in range(n):
        out[s, s] = 0.0
        for v in range(n):
            if v == s or pred[s, v] < 0:
                continue
            total, u = 0.0, v
            while u != s:
                total += best[int(pred[s, u]), u][1]
                u = int(pred[s, u])
            out[s, v] = total
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_graphs())
def test_times_and_distances_equal_dijkstra(graph: tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]) -> None:
    n, tail, head, t, length = graph
    ch = ContractionHierarchy.from_links(n, tail, head, t, length)
    want, pred = reference(n, tail, head, t)
    nodes = np.arange(n)
    got, dist = ch.times(nodes, nodes)
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)
    # random real times: the fastest path is unique, so its length is scipy's path's
    np.testing.assert_allclose(dist, path_length(n, tail, head, t, length, pred), rtol=RTOL, atol=ATOL)
    pt, pd = ch.pair_times(np.repeat(nodes, n), np.tile(nodes, n))
    np.testing.assert_allclose(pt.reshape(n, n), want, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(pd.reshape(n, n), dist, rtol=RTOL, atol=ATOL)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_graphs(ties=True), st.data())
def test_ties_give_exact_times_and_the_length_of_a_fastest_path(
    graph: tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray], data: st.DataObject
) -> None:
    n, tail, head, t, length = graph
    ch = ContractionHierarchy.from_links(n, tail, head, t, length)
    want, _ = reference(n, tail, head, t)
    origins = np.array(data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=8)))
    destinations = np.array(data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=8)))
    got, dist = ch.times(origins, destinations)
    np.testing.assert_allclose(got, want[np.ix_(origins, destinations)], rtol=RTOL, atol=ATOL)
    # a fastest path's length: between the shortest path's length and every link's length summed
    shortest, _ = reference(n, tail, head, length)
    ok = np.isfinite(got)
    assert np.array_equal(np.isfinite(dist), ok)
    assert np.all(dist[ok] >= shortest[np.ix_(origins, destinations)][ok] * (1 - RTOL) - ATOL)
    assert np.all(dist[ok] <= length.sum() * n + ATOL)


def test_many_targets_sweep_equals_buckets() -> None:
    """Many targets go through one sweep per origin (PHAST), few through buckets: same times."""
    net = grid_network(12, 12, spacing_m=200.0, seed=4)
    ch = net.hierarchy()
    nodes = np.arange(net.num_nodes)
    all_t, all_d = ch.times(nodes[:20], nodes)  # sweep
    few_t, few_d = ch.times(nodes[:20], nodes[:5])  # buckets
    np.testing.assert_allclose(all_t[:, :5], few_t, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(all_t, net.travel_time_matrix(nodes[:20]), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(all_d[:, :5], few_d, rtol=RTOL, atol=ATOL)


def test_road_network_matrix_from_the_hierarchy() -> None:
    net = grid_network(8, 8, spacing_m=250.0, seed=3)
    ch = net.hierarchy()
    origins, destinations = np.array([0, 5, 63]), np.array([1, 40])
    np.testing.assert_allclose(
        net.travel_time_matrix(origins, destinations, hierarchy=ch),
        net.travel_time_matrix(origins, destinations),
        rtol=RTOL,
    )
    slow = net.link_time_s * 1.5
    np.testing.assert_allclose(
        net.travel_time_matrix(origins, hierarchy=net.hierarchy(link_time_s=slow)),
        net.travel_time_matrix(origins, link_time_s=slow),
        rtol=RTOL,
    )
    with pytest.raises(ValueError, match="not both"):
        net.travel_time_matrix(origins, hierarchy=ch, link_time_s=slow)
    with pytest.raises(ValueError, match="hierarchy must be"):
        net.travel_time_matrix(origins, hierarchy=grid_network(3, 3, seed=1).hierarchy())


# --- spaces -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def spaces() -> tuple[TravelSpace, TravelSpace]:
    net = grid_network(7, 7, spacing_m=300.0, seed=5)
    return TravelSpace.from_network(net), TravelSpace.from_network(net, representation="hierarchy")


def test_representation_by_size(spaces: tuple[TravelSpace, TravelSpace], monkeypatch: pytest.MonkeyPatch) -> None:
    matrix, hierarchy = spaces
    assert matrix.hierarchy is None and matrix.time_s is not None
    assert hierarchy.hierarchy is not None and hierarchy.time_s is None
    assert "contraction hierarchy" in repr(hierarchy)
    import smartopt.dispatch.space as space_module

    monkeypatch.setattr(space_module, "MATRIX_MAX_NODES", 10)
    net = grid_network(4, 4, seed=1)
    assert TravelSpace.from_network(net).hierarchy is not None
    assert TravelSpace.from_network(net, representation="matrix").hierarchy is None
    with pytest.raises(ValueError, match="representation must be"):
        TravelSpace.from_network(net, representation="dense")  # type: ignore[arg-type]


def test_spaces_answer_alike(spaces: tuple[TravelSpace, TravelSpace]) -> None:
    matrix, hierarchy = spaces
    nodes = np.arange(matrix.num_nodes)
    np.testing.assert_allclose(hierarchy.times(nodes, nodes), matrix.times(nodes, nodes), rtol=RTOL, atol=ATOL)
    o, d = np.array([0, 3, 48, 20]), np.array([48, 3, 0, 7])
    np.testing.assert_allclose(hierarchy.travel_time(o, d), matrix.travel_time(o, d), rtol=RTOL, atol=ATOL)
    assert matrix.times([1, 2], [3]).shape == (2, 1)
    with pytest.raises(ValueError, match="origins"):
        hierarchy.times([49], [0])


def test_hierarchy_space_round_trips(spaces: tuple[TravelSpace, TravelSpace]) -> None:
    _, hierarchy = spaces
    nodes = np.arange(hierarchy.num_nodes)
    for back in (TravelSpace.from_dict(hierarchy.to_dict()), pickle.loads(pickle.dumps(hierarchy))):
        assert back.hierarchy is not None and back.hierarchy is not hierarchy.hierarchy
        np.testing.assert_array_equal(back.times(nodes, nodes), hierarchy.times(nodes, nodes))


def hierarchy_times_matrix(space: TravelSpace) -> TravelSpace:
    """A matrix space (paths by its matrix and links) holding a hierarchy space's times."""
    nodes = np.arange(space.num_nodes)
    return TravelSpace("network", space.num_nodes, space.node_xy, space.times(nodes, nodes), links=space.links)


@pytest.mark.parametrize(
    ("cache_spaces", "policy"),
    [(4096, "insertion"), (1, "insertion"), (4096, "batch")],  # 1: one space each way, evicted all the time
)
def test_fleet_day_is_the_same_on_both(
    spaces: tuple[TravelSpace, TravelSpace], cache_spaces: int, policy: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import smartopt.dispatch.space as space_module

    monkeypatch.setattr(space_module, "SEARCH_CACHE_SPACES", cache_spaces)
    matrix, hierarchy = spaces
    rng = np.random.default_rng(7)
    fleet = make_fleet(matrix.num_nodes, [0, matrix.num_nodes - 1], 4, 4)
    req = random_requests(rng, matrix.num_nodes, 200, 3 * 3600.0, max_wait_s=600.0, max_detour=0.5)
    net = grid_network(7, 7, spacing_m=300.0, seed=5)
    slow = [
        TravelSpace.from_network(net, link_time_s=net.link_time_s * 1.5, representation=r)
        for r in ("matrix", "hierarchy")
    ]
    plain = (matrix, slow[0])
    if policy == "batch":
        # A batch day turns on rounding: Dijkstra's and the hierarchy's times differ by 1e-14 s
        # (sums in another order), which flips one batch assignment in the slow hour. So here the
        # matrices hold the hierarchy's times: the paths, distances and turns still come from
        # the matrix space's own code.
        plain = (hierarchy_times_matrix(hierarchy), hierarchy_times_matrix(slow[1]))
    # the switch to slower times at 1 h makes vehicles under way turn at their next node
    a, b = (
        simulate(space, fleet, req, policy=policy, progress=False, time_of_day=[(3600.0, other), (7200.0, space)])  # type: ignore[arg-type]
        for space, other in (plain, (hierarchy, slow[1]))
    )
    np.testing.assert_array_equal(a.served, b.served)
    np.testing.assert_allclose(np.nan_to_num(a.pickup_s), np.nan_to_num(b.pickup_s), atol=1e-6)
    np.testing.assert_allclose(np.nan_to_num(a.dropoff_s), np.nan_to_num(b.dropoff_s), atol=1e-6)
    np.testing.assert_array_equal(a.legs["to"], b.legs["to"])
    np.testing.assert_allclose(a.legs["arrive_s"], b.legs["arrive_s"], atol=1e-6)
    assert a.kpis.keys() == b.kpis.keys()
    for key, value in a.kpis.items():
        assert b.kpis[key] == pytest.approx(value, rel=1e-9, abs=1e-6), key


def test_hierarchy_space_needs_a_connected_network() -> None:
    net = RoadNetwork.from_arrays([[0, 0], [100, 0], [200, 0]], [0, 1], [1, 2], length_m=[100, 100], speed_mps=[10, 10])
    with pytest.raises(ValueError, match="disconnected"):
        TravelSpace.from_network(net, representation="hierarchy")


# --- determinism ------------------------------------------------------------------------------


def test_same_answers_on_any_thread_count() -> None:
    net = grid_network(15, 15, spacing_m=200.0, seed=9)
    ch = net.hierarchy()
    rng = np.random.default_rng(1)
    o, d = rng.integers(0, net.num_nodes, 40), rng.integers(0, net.num_nodes, 30)
    for query in (ch.times, ch.pair_times):
        dest = d if query == ch.times else rng.permutation(np.resize(d, 40))
        one = query(o, dest, n_threads=1)
        for threads in (2, 3, 5):
            many = query(o, dest, n_threads=threads)
            np.testing.assert_array_equal(many[0], one[0])
            np.testing.assert_array_equal(many[1], one[1])
    again = net.hierarchy()
    assert again.num_shortcuts == ch.num_shortcuts
    np.testing.assert_array_equal(again.times(o, d)[0], ch.times(o, d)[0])


def test_fleet_days_on_a_shared_hierarchy_are_the_same_in_threads(spaces: tuple[TravelSpace, TravelSpace]) -> None:
    """Fleets on one hierarchy (each with its own cache) give the same day alone and side by side."""
    _, hierarchy = spaces
    rng = np.random.default_rng(3)
    fleet = make_fleet(hierarchy.num_nodes, [0, 24], 3, 4)
    req = random_requests(rng, hierarchy.num_nodes, 150, 3 * 3600.0, max_wait_s=600.0, max_detour=0.5)

    def day() -> Any:
        return simulate(hierarchy, fleet, req, progress=False)

    alone = day()
    with ThreadPoolExecutor(3) as pool:
        together = list(pool.map(lambda _: day(), range(3)))
    for other in together:
        np.testing.assert_array_equal(other.pickup_s, alone.pickup_s)
        np.testing.assert_array_equal(other.legs["arrive_s"], alone.legs["arrive_s"])
        assert other.kpis == alone.kpis


# --- hostile input into the compiled entry points ---------------------------------------------


@pytest.fixture(scope="module")
def core() -> tuple[_network.Graph, _network.ContractionHierarchy]:
    g = _network.Graph(3, np.array([0, 1, 2], np.int32), np.array([1, 2, 0], np.int32))
    return g, _network.ContractionHierarchy(g, np.ones(3), np.ones(3))


@pytest.mark.parametrize(
    ("times", "lengths", "match"),
    [
        ([1.0, np.nan, 1.0], [1.0, 1.0, 1.0], "link_time_s"),
        ([1.0, -1.0, 1.0], [1.0, 1.0, 1.0], "link_time_s"),
        ([1.0, np.inf, 1.0], [1.0, 1.0, 1.0], "link_time_s"),
        ([1.0, 1.0], [1.0, 1.0, 1.0], "link_time_s"),
        ([1.0, 1.0, 1.0], [1.0, np.nan, 1.0], "link_length_m"),
        ([[1.0, 1.0, 1.0]], [1.0, 1.0, 1.0], "link_time_s"),
    ],
)
def test_hostile_link_values(
    core: tuple[_network.Graph, _network.ContractionHierarchy], times: Any, lengths: Any, match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        _network.ContractionHierarchy(core[0], np.asarray(times, float), np.asarray(lengths, float))


@pytest.mark.parametrize(
    ("sources", "targets", "match"),
    [
        ([0, 3], [1, 1], "sources"),
        ([-1], [1], "sources"),
        ([0], [2**40], "targets"),
        ([0.5], [1], "sources"),
        ([[0]], [1], "sources"),
    ],
)
def test_hostile_queries(
    core: tuple[_network.Graph, _network.ContractionHierarchy], sources: Any, targets: Any, match: str
) -> None:
    h = core[1]
    for query in (h.many_to_many, h.pairs):
        with pytest.raises(ValueError, match=match):
            query(np.asarray(sources), np.asarray(targets), 1)


def test_hostile_pairs_and_space_args(core: tuple[_network.Graph, _network.ContractionHierarchy]) -> None:
    h = core[1]
    with pytest.raises(ValueError, match="equal length"):
        h.pairs(np.array([0, 1]), np.array([1]), 1)
    assert h.many_to_many(np.zeros(0, np.int32), np.array([1]), 0)[0].shape == (0, 1)
    with pytest.raises(ValueError, match="cache_spaces"):
        _dispatch.NetworkSpaceArgs.from_hierarchy(h, 0)
    with pytest.raises(TypeError):
        _dispatch.NetworkSpaceArgs.from_hierarchy("not a hierarchy", 4)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="link_tail"):
        ContractionHierarchy.from_links(3, [0, 5], [1, 2], [1.0, 1.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="link_time_s"):
        ContractionHierarchy.from_links(3, [0, 1], [1, 2], [1.0, -1.0], [1.0, 1.0])
