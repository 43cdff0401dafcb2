"""RoadNetwork: validation rules, shortest-path queries, snapping and assignment."""

from __future__ import annotations

import numpy as np
import pytest

from smartopt.network import RoadNetwork


def valid_arrays() -> dict[str, object]:
    """Keyword arguments of a small valid RoadNetwork.from_arrays call, to break one at a time."""
    return {
        "node_xy": np.array([[0.0, 0.0], [100.0, 0.0], [100.0, 100.0]]),
        "link_tail": np.array([0, 1, 2]),
        "link_head": np.array([1, 2, 0]),
        "length_m": np.array([100.0, 100.0, 141.0]),
        "speed_mps": np.array([10.0, 10.0, 10.0]),
    }


def build(**changes: object) -> RoadNetwork:
    kwargs = valid_arrays()
    kwargs.update(changes)
    return RoadNetwork.from_arrays(**kwargs)  # type: ignore[arg-type]


# -- validation: one test per rule ------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "error", "match"),
    [
        ("length_m", [100.0, np.nan, 141.0], ValueError, r"link_length_m\[1\]=nan is not finite"),
        ("speed_mps", [10.0, 10.0, np.inf], ValueError, r"link_speed_mps\[2\]=inf is not finite"),
        ("node_xy", [[0, 0], [np.nan, 0], [1, 1]], ValueError, r"node_xy\[1, 0\]=nan is not finite"),
        ("length_m", [100.0, 0.0, 141.0], ValueError, r"link_length_m\[1\]=0.0 must be > 0"),
        ("length_m", [100.0, -5.0, 141.0], ValueError, r"link_length_m\[1\]=-5.0 must be > 0"),
        ("speed_mps", [10.0, 10.0, -1.0], ValueError, r"link_speed_mps\[2\]=-1.0 must be > 0"),
        ("link_tail", [0, 7, 2], ValueError, r"link_tail\[1\]=7 is not an index in \[0, 3\)"),
        ("link_head", [1, 2, -1], ValueError, r"link_head\[2\]=-1 is not an index in \[0, 3\)"),
        ("link_head", [1, 1, 0], ValueError, r"link 1 is a self loop at node 1"),
        ("length_m", [100.0, 100.0], ValueError, r"link_length_m must have shape \(3,\), got \(2,\)"),
        ("node_xy", [0.0, 1.0, 2.0], ValueError, r"node_xy must have shape \(\*, 2\), got \(3,\)"),
        ("link_tail", [0.0, 1.0, 2.0], TypeError, r"link_tail must be an integer array, got dtype float64"),
        ("length_m", ["a", "b", "c"], TypeError, r"link_length_m must be a real-valued numeric array"),
        ("speed_mps", [True, True, True], TypeError, r"link_speed_mps must be a real-valued numeric array"),
        ("lanes", [1, 0, 2], ValueError, r"link_lanes\[1\]=0 must be >= 1"),
        ("capacity_vph", [1800.0, -1.0, 1800.0], ValueError, r"link_capacity_vph\[1\]=-1.0 must be > 0"),
    ],
)
def test_validation_names_field_and_value(field: str, value: object, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        build(**{field: value})


def test_parallel_links_are_kept_and_the_faster_is_used() -> None:
    # two links 0 -> 1: link 1 slow (10 s), link 2 fast (5 s); then 1 -> 2 (10 s)
    net = build(link_tail=[1, 0, 0], link_head=[2, 1, 1], length_m=[100.0, 100.0, 100.0], speed_mps=[10.0, 10.0, 20.0])
    path = net.shortest_path(0, 2)
    assert path is not None and path.links.tolist() == [2, 0] and path.travel_time_s == pytest.approx(15.0)
    assert net.travel_time_matrix([0], [1])[0, 0] == pytest.approx(5.0)
    in_link, out_link = net.turns
    assert sorted(zip(in_link.tolist(), out_link.tolist(), strict=True)) == [(1, 0), (2, 0)]
    flows = net.assign([0], [2], [[300.0]])
    np.testing.assert_allclose(flows.link_flow_vph, [300.0, 0.0, 300.0])
    assert flows.turn_in_link.tolist() == [2] and flows.turn_out_link.tolist() == [0]


def test_empty_network_is_rejected() -> None:
    with pytest.raises(ValueError, match="node_xy is empty"):
        build(node_xy=np.zeros((0, 2)))
    with pytest.raises(ValueError, match="link_tail is empty"):
        build(link_tail=[], link_head=[], length_m=[], speed_mps=[])


def test_lonlat_and_ids_are_checked() -> None:
    with pytest.raises(ValueError, match=r"node_lonlat\[1\]=\[200.0, 36.0\] is not a \(lon, lat\)"):
        build(node_lonlat=[[127.0, 36.0], [200.0, 36.0], [127.0, 36.0]])
    with pytest.raises(ValueError, match="node_ids has a repeated id 'a'"):
        build(node_ids=["a", "b", "a"])


def test_arrays_are_read_only_copies() -> None:
    length = np.array([100.0, 100.0, 141.0])
    net = build(length_m=length)
    length[0] = 1.0
    assert net.link_length_m[0] == 100.0
    with pytest.raises(ValueError, match="read-only"):
        net.link_length_m[0] = 5.0


def test_defaults_for_lanes_and_capacity() -> None:
    net = build(lanes=[1, 2, 3])
    np.testing.assert_array_equal(net.link_capacity_vph, [1800.0, 3600.0, 5400.0])
    assert build().link_lanes.tolist() == [1, 1, 1]


# -- queries ------------------------------------------------------------------------------------


def test_travel_time_matrix_by_hand(triangle: RoadNetwork) -> None:
    # 0->2 direct takes 25 s, via 1 takes 20 s; 2->1 goes 2->0->1: 14.1 + 10 s.
    expected = np.array([[0.0, 10.0, 20.0], [24.1, 0.0, 10.0], [14.1, 24.1, 0.0]])
    np.testing.assert_allclose(triangle.travel_time_matrix([0, 1, 2]), expected, rtol=1e-12)
    np.testing.assert_allclose(triangle.travel_time_matrix([2], [1, 0]), [[24.1, 14.1]], rtol=1e-12)


def test_distance_matrix_minimises_length(triangle: RoadNetwork) -> None:
    slow_but_short = RoadNetwork.from_arrays(
        triangle.node_xy, [0, 1, 0], [1, 2, 2], [100.0, 100.0, 150.0], [20.0, 20.0, 5.0]
    )
    assert slow_but_short.travel_time_matrix([0], [2])[0, 0] == pytest.approx(10.0)
    assert slow_but_short.distance_matrix([0], [2])[0, 0] == pytest.approx(150.0)


def test_unreachable_is_inf() -> None:
    net = RoadNetwork.from_arrays([[0, 0], [1, 0], [5, 5]], [0], [1], [1.0], [1.0])
    d = net.travel_time_matrix([0, 2])
    assert np.isinf(d[0, 2]) and np.isinf(d[1, 0]) and d[0, 1] == 1.0
    assert net.shortest_path(0, 2) is None


def test_shortest_path_nodes_links_and_totals(triangle: RoadNetwork) -> None:
    path = triangle.shortest_path(0, 2)
    assert path is not None
    assert path.nodes.tolist() == [0, 1, 2]
    assert path.links.tolist() == [0, 1]
    assert path.travel_time_s == pytest.approx(20.0)
    assert path.length_m == pytest.approx(200.0)
    by_length = triangle.shortest_path(0, 2, weight="length")
    assert by_length is not None and by_length.length_m == pytest.approx(200.0)
    same = triangle.shortest_path(1, 1)
    assert same is not None and same.nodes.tolist() == [1] and same.links.size == 0


def test_link_time_override_changes_routes(triangle: RoadNetwork) -> None:
    # Delay on link 1 (say a red signal) makes the direct link 0->2 faster.
    times = triangle.link_time_s.copy()
    times[1] += 30.0
    path = triangle.shortest_path(0, 2, link_time_s=times)
    assert path is not None and path.links.tolist() == [3]
    assert triangle.travel_time_matrix([0], [2], link_time_s=times)[0, 0] == pytest.approx(25.0)
    with pytest.raises(ValueError, match=r"link_time_s\[0\]=-1.0 must be >= 0"):
        triangle.travel_time_matrix([0], link_time_s=[-1.0, 1.0, 1.0, 1.0])


def test_query_arguments_are_checked(triangle: RoadNetwork) -> None:
    with pytest.raises(ValueError, match=r"origins\[1\]=3 is not an index in \[0, 3\)"):
        triangle.travel_time_matrix([0, 3])
    with pytest.raises(ValueError, match="origins is empty"):
        triangle.travel_time_matrix([])
    with pytest.raises(TypeError, match="origins must be an integer array"):
        triangle.travel_time_matrix([0.5])
    with pytest.raises(ValueError, match="n_threads must be >= 1"):
        triangle.travel_time_matrix([0], n_threads=0)
    with pytest.raises(TypeError, match="n_threads must be an int"):
        triangle.travel_time_matrix([0], n_threads=2.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="weight must be 'time' or 'length'"):
        triangle.shortest_path(0, 1, weight="cost")  # type: ignore[arg-type]


def test_results_do_not_depend_on_thread_count(district) -> None:  # type: ignore[no-untyped-def]
    net = district.network
    origins = np.arange(0, net.num_nodes, 3)
    one = net.travel_time_matrix(origins, n_threads=1)
    for threads in (2, 3, 8):
        np.testing.assert_array_equal(net.travel_time_matrix(origins, n_threads=threads), one)


def test_csr_and_turns(triangle: RoadNetwork) -> None:
    offsets, links = triangle.csr
    for v in range(triangle.num_nodes):
        out = links[offsets[v] : offsets[v + 1]]
        assert sorted(out.tolist()) == np.flatnonzero(triangle.link_tail == v).tolist()
    in_link, out_link = triangle.turns
    assert (triangle.link_head[in_link] == triangle.link_tail[out_link]).all()
    assert len(in_link) == sum(int((triangle.link_tail == triangle.link_head[k]).sum()) for k in range(4))


def test_node_index(triangle: RoadNetwork) -> None:
    assert triangle.node_index(["2", "0"]).tolist() == [2, 0]
    with pytest.raises(ValueError, match="unknown node id '9'"):
        triangle.node_index(["9"])


# -- snapping -----------------------------------------------------------------------------------


def test_nearest_nodes_match_brute_force() -> None:
    rng = np.random.default_rng(3)
    nodes = rng.uniform(0, 1000, (500, 2))
    net = RoadNetwork.from_arrays(nodes, np.arange(499), np.arange(1, 500), np.ones(499), np.ones(499))
    pts = np.vstack([rng.uniform(-300, 1300, (400, 2)), nodes[:5], [[1e7, -1e7]]])
    idx, dist = net.nearest_nodes(pts)
    brute = np.hypot(*(pts[:, None, :] - nodes[None, :, :]).transpose(2, 0, 1))
    np.testing.assert_allclose(dist, brute.min(axis=1), rtol=1e-12)
    np.testing.assert_array_equal(idx, brute.argmin(axis=1))
    with pytest.raises(ValueError, match=r"points_xy\[0, 1\]=nan is not finite"):
        net.nearest_nodes([[0.0, np.nan]])


# -- assignment ---------------------------------------------------------------------------------


def test_all_or_nothing_by_hand(triangle: RoadNetwork) -> None:
    res = triangle.assign([0, 1], [2], [[300.0], [100.0]])
    # 0->2 goes 0->1->2 (links 0, 1); 1->2 uses link 1.
    np.testing.assert_allclose(res.link_flow_vph, [300.0, 400.0, 0.0, 0.0])
    assert list(zip(res.turn_in_link.tolist(), res.turn_out_link.tolist(), strict=True)) == [(0, 1)]
    np.testing.assert_allclose(res.turn_flow_vph, [300.0])
    assert res.unassigned_vph == 0.0


def test_msa_spreads_flow_and_conserves_it(district) -> None:  # type: ignore[no-untyped-def]
    net = district.network
    rng = np.random.default_rng(0)
    nodes = rng.choice(net.num_nodes, 20, replace=False)
    od = rng.uniform(0, 300, (20, 20))
    np.fill_diagonal(od, 0.0)
    res = net.assign(nodes, nodes, od, iterations=10)
    # Flow conservation at every node: in - out = arrivals - departures.
    balance = np.bincount(net.link_head, res.link_flow_vph, net.num_nodes) - np.bincount(
        net.link_tail, res.link_flow_vph, net.num_nodes
    )
    expected = np.zeros(net.num_nodes)
    np.add.at(expected, nodes, od.sum(axis=0) - od.sum(axis=1))
    np.testing.assert_allclose(balance, expected, atol=1e-6)
    # Turn flows through a node add up to the flow on each link that passes through.
    through = np.bincount(res.turn_in_link, res.turn_flow_vph, net.num_links)
    ends_here = np.isin(net.link_head, nodes)
    np.testing.assert_allclose(through[~ends_here], res.link_flow_vph[~ends_here], atol=1e-6)
    np.testing.assert_array_less(through[ends_here] - 1e-6, res.link_flow_vph[ends_here])
    # With congestion, MSA uses more links than one all-or-nothing load.
    aon = net.assign(nodes, nodes, od * 20)
    msa = net.assign(nodes, nodes, od * 20, iterations=10)
    assert (msa.link_flow_vph > 0).sum() > (aon.link_flow_vph > 0).sum()


def test_unreachable_demand_is_reported() -> None:
    net = RoadNetwork.from_arrays([[0, 0], [1, 0], [5, 5]], [0], [1], [1.0], [1.0])
    res = net.assign([0], [1, 2], [[10.0, 5.0]])
    assert res.unassigned_vph == 5.0
    with pytest.raises(ValueError, match=r"demand_vph must have shape \(1, 2\)"):
        net.assign([0], [1, 2], [[1.0]])
    with pytest.raises(ValueError, match=r"demand_vph\[0, 1\]=-1.0 must be >= 0"):
        net.assign([0], [1, 2], [[1.0, -1.0]])


def test_repr_and_frame(triangle: RoadNetwork) -> None:
    assert repr(triangle).startswith("RoadNetwork(3 nodes, 4 links")
    frame = triangle.to_frame()
    assert list(frame.columns[:5]) == ["id", "from", "to", "length_m", "speed_mps"]
    assert len(frame) == 4
