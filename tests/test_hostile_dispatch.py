"""Hostile input to the dispatch and road-network entry points (issue 18): memory bombs refused
before they allocate, integers never wrapped to 32 bits, out-of-range coordinates and clocks
refused without damage, booleans only as booleans, one convention for a rejected offer, and
nothing but ValueError/TypeError escaping on bad input (hypothesis pushes ints past 2**31, 2**32
and 2**63 and floats to 1e300, NaN and inf)."""

from __future__ import annotations

import contextlib
import math
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fleet_checks import check_day, make_fleet, random_requests
from smartopt.datasets.grid import grid_network
from smartopt.dispatch import Dispatcher, Fleet, Policy, Requests, TravelSpace, linear_sum_assignment, simulate
from smartopt.dispatch.model import MAX_TIME_S
from smartopt.network import RoadNetwork, read_csv

HOSTILE_INTS = [-(2**63), -(2**31) - 1, -1, 0, 1, 2, 2**31 - 1, 2**31, 2**32, 2**32 + 1, 2**63 - 1, 2**63, 2**64 + 1]
HOSTILE_FLOATS = [0.0, -0.0, 1e-300, -1.0, 0.5, 1.0, 2.5, 1e15, 1e300, -1e300, math.inf, -math.inf, math.nan]
hostile_ints = st.sampled_from(HOSTILE_INTS) | st.integers(-(2**70), 2**70)
hostile_floats = st.sampled_from(HOSTILE_FLOATS) | st.floats(allow_nan=True, allow_infinity=True)
hostile_numbers = hostile_ints | hostile_floats | st.sampled_from([True, False, "1", None])
ALLOWED = (ValueError, TypeError)
HOSTILE = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def net() -> RoadNetwork:
    return grid_network(4, 4, spacing_m=300.0)


@pytest.fixture(scope="module")
def fleet(net: RoadNetwork) -> Fleet:
    return make_fleet(net.num_nodes, [0], 2, 4)


def run_limited(code: str, limit_gib: float = 2.5, timeout_s: float = 120.0) -> subprocess.CompletedProcess[str]:
    """``code`` in a child Python under an address-space limit (a failure cannot take the machine
    down; a memory bomb ends in MemoryError there instead)."""
    prelude = f"import resource; resource.setrlimit(resource.RLIMIT_AS, ({int(limit_gib * 2**30)},) * 2)\n"
    return subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        cwd=Path(__file__).parent,
    )


# --- item 1: memory bombs ---------------------------------------------------------------------


def test_a_day_spanning_1e12_s_is_refused_before_it_allocates() -> None:
    """``simulate`` with requests at 0 and 1e12 s took 40 s and 6.7 GB before refusing."""
    out = run_limited(
        """
        from smartopt.datasets import sejong_5_1
        from smartopt.dispatch import Requests, simulate
        d = sejong_5_1()
        far = Requests(num_nodes=d.network.num_nodes, time_s=[0.0, 1e12], origin=[0, 1], destination=[1, 2],
                       passengers=[1, 1])
        try:
            simulate(d.network, d.fleet, far, progress=False)
        except ValueError as e:
            print("ValueError:", e)
        """
    )
    assert out.returncode == 0, out.stderr
    assert "ValueError: requests.time_s spans 0 to 1e+12 s" in out.stdout and "steps" in out.stdout


def test_bombs_in_a_subprocess_end_in_a_clear_error() -> None:
    """A resized fleet, a rebalancing grid and a time-of-day list sized by one number are bounded."""
    out = run_limited(
        """
        from fleet_checks import make_fleet
        from smartopt.datasets.grid import grid_network
        from smartopt.dispatch import Policy, Requests, simulate, size_fleet
        net = grid_network(3, 3)
        fleet = make_fleet(9, [0], 1, 4)
        req = Requests(num_nodes=9, time_s=[0.0, 5e9], origin=[1, 2], destination=[2, 3], passengers=[1, 1])
        calls = {
            "resized": lambda: fleet.resized(10**12),
            "rebalance": lambda: simulate(net, fleet, req, policy=Policy(rebalance_s=1.0), progress=False),
            "reoptimize": lambda: simulate(net, fleet, req, policy=Policy(reoptimize_s=1.0), progress=False),
            "sizes": lambda: size_fleet(net, fleet, req, sizes=[2**40]),
        }
        for name, call in calls.items():
            try:
                call()
                print(name, "ran")
            except (ValueError, TypeError) as e:
                print(name, type(e).__name__, e)
        """
    )
    assert out.returncode == 0, out.stderr
    lines = dict(line.split(" ", 1) for line in out.stdout.splitlines())
    assert lines["resized"].startswith("ValueError") and "num_vehicles" in lines["resized"]
    for name in ("rebalance", "reoptimize"):
        assert lines[name].startswith("ValueError") and "requests.time_s" in lines[name]
    assert lines["sizes"].startswith("ValueError") and "sizes" in lines["sizes"]


# --- item 2: integers never wrap ----------------------------------------------------------------


def test_passengers_past_32_bits_are_refused(net: RoadNetwork, fleet: Fleet) -> None:
    """``passengers=[2**32+1]`` was served as 1."""
    with pytest.raises(ValueError, match="passengers"):
        Requests(num_nodes=16, time_s=[0.0], origin=[1], destination=[2], passengers=[2**32 + 1])
    live = Dispatcher(net, fleet)
    for bad in (2**32 + 1, 2**31, 2**63, 2**64 + 1):
        with pytest.raises(ValueError, match="passengers"):
            live.submit(1, 2, passengers=bad)
    with pytest.raises(TypeError, match="passengers"):
        live.submit(1, 2, passengers=True)
    assert live.offer(live.submit(1, 2).request).accepted  # nothing was taken by the refusals


@pytest.mark.parametrize("big", [2**31, 2**32 + 1, 2**63 - 1])
def test_fleet_and_request_integers_past_32_bits(big: int) -> None:
    base = {
        "num_nodes": 9,
        "depot_node": [0],
        "vehicle_depot": [0],
        "vehicle_seats": [4],
        "vehicle_battery_kwh": [50.0],
        "vehicle_kwh_per_km": [0.2],
        "vehicle_soc0": [1.0],
        "charger_node": [0],
        "charger_kw": [50.0],
        "charger_bus": [0],
    }
    for field, value in (
        ("vehicle_seats", [big]),
        ("depot_node", [big]),
        ("vehicle_depot", [big]),
        ("charger_node", [big]),
        ("charger_bus", [big]),
    ):
        with pytest.raises(ValueError, match=field):
            Fleet(**{**base, field: value})  # type: ignore[arg-type]
    req = {"num_nodes": 9, "time_s": [0.0], "origin": [1], "destination": [2], "passengers": [1]}
    for field in ("origin", "destination", "passengers"):
        with pytest.raises(ValueError, match=field):
            Requests(**{**req, field: [big]})  # type: ignore[arg-type]


@pytest.mark.parametrize("big", [2**31, 2**32 + 2, 2**63 - 1])
def test_network_integers_past_32_bits(big: int) -> None:
    """``lanes=[2**32+2, 2**31]`` became ``[2, -2147483648]`` (capacity -3.87e12 veh/h)."""
    xy, tail, head, length, speed = [[0.0, 0.0], [100.0, 0.0]], [0, 1], [1, 0], [100.0, 100.0], [10.0, 10.0]
    with pytest.raises(ValueError, match="link_lanes"):
        RoadNetwork.from_arrays(xy, tail, head, length, speed, lanes=[big, 1])
    with pytest.raises(ValueError, match="link_lanes"):
        RoadNetwork.from_arrays(xy, tail, head, length, speed, lanes=[2**32 + 2, 2**31])
    with pytest.raises(ValueError, match="link_tail"):
        RoadNetwork.from_arrays(xy, [big, 1], head, length, speed)
    with pytest.raises(ValueError, match="link_head"):
        RoadNetwork.from_arrays(xy, tail, [1, big], length, speed)
    net = RoadNetwork.from_arrays(xy, tail, head, length, speed, lanes=[2**31 - 1, 1])
    assert net.link_lanes.tolist() == [2**31 - 1, 1] and (net.link_capacity_vph > 0).all()
    for call in (
        lambda: net.travel_time_matrix([big]),
        lambda: net.travel_time_matrix([0], [big]),
        lambda: net.shortest_path(0, big),
    ):
        with pytest.raises(ValueError):
            call()
    np.testing.assert_array_equal(net.travel_time_matrix([0], n_threads=big), net.travel_time_matrix([0]))  # capped


def test_csv_lanes_must_be_whole_numbers_in_range(tmp_path: Path) -> None:
    """``lanes = 2.5`` was truncated to 2 and ``1e20`` became -9223372036854775808."""
    nodes = tmp_path / "nodes.csv"
    nodes.write_text("id,x_m,y_m\na,0,0\nb,100,0\n")
    for bad in ("2.5", "1e20", "4294967298", "-inf"):
        links = tmp_path / "links.csv"
        links.write_text(f"id,from,to,length_m,speed_mps,lanes\nl1,a,b,100,10,1\nl2,b,a,100,10,{bad}\n")
        with pytest.raises(ValueError, match=r"links.csv: column 'lanes', row 1: .*whole number"):
            read_csv(nodes, links)
    links.write_text("id,from,to,length_m,speed_mps,lanes\nl1,a,b,100,10,1\nl2,b,a,100,10,3.0\n")
    assert read_csv(nodes, links).link_lanes.tolist() == [1, 3]


# --- item 4: coordinates and clocks -------------------------------------------------------------


def test_far_and_non_finite_points_are_refused_never_node_minus_one(net: RoadNetwork) -> None:
    """``net.nearest_nodes([[2e154, 0]])`` returned node -1 (numpy's last node) at distance inf."""
    for bad in ([[2e154, 0.0]], [[0.0, -1e300]], [[1e13, 0.0]]):
        with pytest.raises(ValueError, match=r"points_xy.*out of range"):
            net.nearest_nodes(bad)
    for bad in ([[math.nan, 0.0]], [[0.0, math.inf]]):
        with pytest.raises(ValueError, match=r"points_xy.*not finite"):
            net.nearest_nodes(bad)
    # the farthest points allowed still get their true nearest node (brute force)
    pts = np.array([[1e12, 1e12], [-1e12, 3.0], [450.0, -1e12], [151.0, 149.0]])
    index, distance = net.nearest_nodes(pts)
    d2 = ((net.node_xy[None, :, :] - pts[:, None, :]) ** 2).sum(axis=2)
    assert (index >= 0).all()
    np.testing.assert_array_equal(index, d2.argmin(axis=1))
    np.testing.assert_allclose(distance, np.sqrt(d2.min(axis=1)), rtol=1e-12)
    with pytest.raises(ValueError, match="node_xy"):
        RoadNetwork.from_arrays([[0.0, 0.0], [2e154, 0.0]], [0], [1], [1.0], [1.0])
    with pytest.raises(ValueError, match="points_xy"):
        TravelSpace.plane([[0.0, 0.0], [1e300, 0.0]], speed_mps=1.0)


def test_the_dispatcher_clock_refuses_bad_times_without_damage(net: RoadNetwork, fleet: Fleet) -> None:
    """``advance(math.inf)`` set the clock to inf and made the dispatcher unusable."""
    live = Dispatcher(net, fleet)
    live.advance(100.0)
    before = live.snapshot()
    for bad in (math.inf, -math.inf, math.nan, 99.0, -1.0, 1e300, 2**64, 10**400):
        with pytest.raises(ValueError, match="now_s"):
            live.advance(bad)
    for bad in (True, "200", None, [200.0]):
        with pytest.raises(TypeError, match="now_s"):
            live.advance(bad)  # type: ignore[arg-type]
    for bad in (math.inf, math.nan, 50.0, 1e300):
        with pytest.raises(ValueError, match="time_s"):
            live.submit(1, 2, time_s=bad)
        with pytest.raises(ValueError, match="ready_s"):
            live.update_vehicle(0, 3, ready_s=bad)
    with pytest.raises(ValueError, match="start_s"):
        Dispatcher(net, fleet, start_s=math.inf)
    assert live.now_s == 100.0
    after = live.snapshot()
    np.testing.assert_array_equal(before.position, after.position)
    np.testing.assert_array_equal(before.position_s, after.position_s)
    offer = live.submit(1, 2)  # still usable, at the same clock
    assert offer.accepted and offer.request == 0 and offer.pickup_s >= 100.0
    assert [e.kind for e in live.advance(offer.dropoff_s)] == ["pickup", "dropoff"]


def test_a_request_for_later_waits_and_leaves_the_clock_alone(net: RoadNetwork, fleet: Fleet) -> None:
    """A submit with a future ``time_s`` moved the clock. Now it waits to be placed at its time; a
    later submit for an earlier time is placed first; the decisions come from advance."""
    for kind in ("insertion", "batch", "pooling"):
        live = Dispatcher(net, fleet, policy=Policy(kind=kind))  # type: ignore[arg-type]
        late = live.submit(1, 2, time_s=500.0)
        early = live.submit(3, 4, time_s=200.0)
        assert late.pending and early.pending and live.now_s == 0.0 and (late.request, early.request) == (0, 1)
        assert live.offer(late.request).pending
        decisions = [e for e in live.advance(1000.0) if e.kind in ("assigned", "rejected")]
        assert [e.request for e in decisions] == [1, 0] and all(e.kind == "assigned" for e in decisions)
        assert decisions[0].time_s >= 200.0 and decisions[1].time_s >= 500.0
        for r in (0, 1):
            offer = live.offer(r)
            assert offer.accepted and offer.pickup_s >= (500.0 if r == 0 else 200.0)


def test_a_rejected_offer_reads_the_same_from_submit_and_offer(net: RoadNetwork, fleet: Fleet) -> None:
    """A rejected offer reported inf from ``submit()`` but NaN from ``offer()``: now NaN from both."""
    live = Dispatcher(net, fleet)
    no = live.submit(15, 0, max_wait_s=0.0)
    assert not no.accepted and no.rejection == "no_vehicle" and no.vehicle == -1
    assert math.isnan(no.pickup_s) and math.isnan(no.dropoff_s) and math.isnan(no.cost_s)
    again = live.offer(no.request)
    assert (again.accepted, again.vehicle, again.rejection) == (False, -1, "no_vehicle")
    assert math.isnan(again.pickup_s) and math.isnan(again.dropoff_s) and math.isnan(again.cost_s)


# --- item 9: booleans only as booleans ----------------------------------------------------------


def test_linear_sum_assignment_takes_only_booleans_for_maximize() -> None:
    """``maximize="no"`` maximised."""
    cost = [[1.0, 2.0], [3.0, 0.0]]
    for bad in ("no", "yes", 1, 0, None):
        with pytest.raises(TypeError, match="maximize"):
            linear_sum_assignment(cost, maximize=bad)  # type: ignore[arg-type]
    assert linear_sum_assignment(cost, maximize=np.False_)[1].tolist() == [0, 1]
    assert linear_sum_assignment(cost, maximize=True)[1].tolist() == [1, 0]
    with pytest.raises(TypeError, match="cost_matrix"):
        linear_sum_assignment([[1.0, "a"], [None, 2.0]])


def test_dispatcher_arguments_are_checked(net: RoadNetwork, fleet: Fleet) -> None:
    live = Dispatcher(net, fleet)
    for bad in (2**32, 2**63, -1, 16):
        with pytest.raises(ValueError, match="origin"):
            live.submit(bad, 2)
        with pytest.raises(ValueError, match="vehicle"):
            live.update_vehicle(bad, 2)
        with pytest.raises(ValueError, match="unknown request"):
            live.offer(bad)
    for bad in (True, 1.0, "1", None):
        with pytest.raises(TypeError, match="origin"):
            live.submit(bad, 2)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="vehicle"):
            live.set_in_service(bad, False)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="in_service"):
        live.set_in_service(0, "no")  # type: ignore[arg-type]
    for bad in ((2e154, 0.0), (math.nan, 0.0)):
        with pytest.raises(ValueError, match="destination"):
            live.submit(1, bad)
    with pytest.raises(ValueError, match="unknown request"):
        live.offer(True)  # type: ignore[arg-type]
    assert live.submit(1, 2).request == 0  # the refusals took no ids


# --- hypothesis: anything hostile is a clear error or a correct result ---------------------------


@HOSTILE
@given(st.lists(st.tuples(hostile_numbers, hostile_numbers), min_size=1, max_size=3))
def test_nearest_nodes_hypothesis(net: RoadNetwork, points: list[tuple[object, object]]) -> None:
    try:
        index, distance = net.nearest_nodes(points)
    except ALLOWED:
        return
    pts = np.asarray(points, dtype=float)
    d2 = ((net.node_xy[None, :, :] - pts[:, None, :]) ** 2).sum(axis=2)
    assert (index >= 0).all() and np.isfinite(distance).all()
    np.testing.assert_allclose(distance, np.sqrt(d2.min(axis=1)), rtol=1e-9)


@HOSTILE
@given(hostile_numbers, hostile_numbers, hostile_numbers, hostile_numbers)
def test_road_network_hypothesis(lane: object, length: object, speed: object, node: object) -> None:
    try:
        net = RoadNetwork.from_arrays(
            [[0.0, 0.0], [100.0, 0.0], [100.0, 100.0]],
            [0, 1, node],
            [1, 2, 0],
            [100.0, length, 100.0],
            [10.0, 10.0, speed],
            lanes=[1, lane, 2],
        )
    except ALLOWED:
        return
    assert net.link_lanes[1] == lane and net.link_capacity_vph[1] == lane * 1800.0 > 0  # never wrapped
    times = net.travel_time_matrix([0, 1, 2])
    assert not np.isnan(times).any() and (times >= 0).all() and (np.diag(times) == 0).all()


@HOSTILE
@given(hostile_numbers, hostile_numbers, st.sampled_from(["time", "length", "speed"]), hostile_numbers)
def test_travel_time_matrix_hypothesis(net: RoadNetwork, origin: object, threads: object, what: str, x: object) -> None:
    try:
        times = net.travel_time_matrix([origin], n_threads=threads)  # type: ignore[arg-type]
    except ALLOWED:
        times = None
    if times is not None:
        assert times.shape == (1, net.num_nodes) and np.isfinite(times).all()
    link_time = np.array(net.link_time_s)
    try:
        link_time[0] = x  # type: ignore[call-overload]
    except (ValueError, TypeError, OverflowError):
        return
    try:
        out = net.travel_time_matrix([0], link_time_s=link_time)
    except ALLOWED:
        return
    assert (out >= 0).all() and not np.isnan(out).any()


@HOSTILE
@given(hostile_numbers, hostile_numbers, hostile_numbers, hostile_numbers, hostile_numbers)
def test_fleet_and_requests_hypothesis(
    seats: object, depot: object, soc: object, t: object, passengers: object
) -> None:
    try:
        fleet = Fleet(
            num_nodes=9,
            depot_node=[depot],
            vehicle_depot=[0],
            vehicle_seats=[seats],
            vehicle_battery_kwh=[50.0],
            vehicle_kwh_per_km=[0.2],
            vehicle_soc0=[soc],
            charger_node=[0],
            charger_kw=[50.0],
            charger_bus=[0],
        )
    except ALLOWED:
        fleet = make_fleet(9, [0], 1, 4)
    else:
        assert fleet.vehicle_seats[0] == seats and fleet.depot_node[0] == depot
    try:
        req = Requests(num_nodes=9, time_s=[t], origin=[1], destination=[2], passengers=[passengers])
    except ALLOWED:
        return
    assert req.passengers[0] == passengers and req.time_s[0] == t
    try:
        day = simulate(grid_network(3, 3), fleet, req, progress=False)
    except ALLOWED:
        return
    assert day.served[0] == (day.rejection[0] == "")


@HOSTILE
@given(st.lists(st.lists(hostile_floats, min_size=2, max_size=2), min_size=1, max_size=4), hostile_floats)
def test_travel_space_hypothesis(points: list[list[float]], speed: float) -> None:
    try:
        space = TravelSpace.plane(points, speed_mps=speed)
    except ALLOWED:
        return
    t = space.travel_time(np.zeros(len(points), np.int32), np.arange(len(points)))
    assert np.isfinite(t).all() and (t >= 0).all()
    with contextlib.suppress(*ALLOWED):
        TravelSpace.from_matrix([[0.0, speed], [points[0][0], 0.0]])


@HOSTILE
@given(
    st.sampled_from(["advance", "submit_time", "submit_passengers", "submit_origin", "update", "wait", "detour"]),
    hostile_numbers,
)
def test_dispatcher_hypothesis(net: RoadNetwork, fleet: Fleet, what: str, value: object) -> None:
    live = Dispatcher(net, fleet)
    live.advance(10.0)
    calls = {
        "advance": lambda: live.advance(value),
        "submit_time": lambda: live.submit(1, 2, time_s=value),
        "submit_passengers": lambda: live.submit(1, 2, passengers=value),
        "submit_origin": lambda: live.submit(value, 2),
        "update": lambda: live.update_vehicle(0, 3, ready_s=value),
        "wait": lambda: live.submit(1, 2, max_wait_s=value),
        "detour": lambda: live.submit(1, 2, max_detour=value, max_detour_s=value),
    }
    with contextlib.suppress(*ALLOWED):
        calls[what]()
    assert math.isfinite(live.now_s) and live.now_s >= 10.0  # never damaged
    offer = live.submit(5, 6)
    assert offer.accepted or offer.pending
    live.advance(min(live.now_s + 3600.0, MAX_TIME_S))
    assert live.offer(offer.request).accepted


@HOSTILE
@given(st.lists(st.lists(hostile_numbers, min_size=3, max_size=3), min_size=1, max_size=3), st.booleans())
def test_linear_sum_assignment_hypothesis(cost: list[list[object]], maximize: bool) -> None:
    try:
        rows, cols = linear_sum_assignment(cost, maximize=maximize)
    except ALLOWED:
        return
    c = np.asarray(cost, dtype=float)
    assert len(set(cols.tolist())) == len(cols) == min(c.shape)
    assert np.isfinite(c[rows, cols]).all() or not maximize


POLICY_FIELDS = [
    "batch_s", "boarding_s", "reserve", "charge_below", "charge_to", "wait_weight", "delay_weight", "rebalance_s",
    "zone_m",
    "max_trip", "pool_candidates", "pool_vehicles", "pool_trips_per_size", "pool_rebalance", "pool_reassign",
    "pool_time_limit_s", "pool_deterministic_time", "reoptimize_s", "reoptimize_iterations",
]  # fmt: skip


@HOSTILE
@given(st.sampled_from(["insertion", "batch", "pooling"]), st.sampled_from(POLICY_FIELDS), hostile_numbers)
def test_policy_hypothesis(kind: str, field: str, value: object) -> None:
    """Any policy value is refused with a clear error or gives a consistent day in bounded work."""
    try:
        policy = Policy(kind=kind, **{field: value})  # type: ignore[arg-type]
    except ALLOWED:
        return
    if field in ("reoptimize_iterations",):
        policy = Policy(kind=kind, reoptimize_s=600.0, **{field: min(int(value), 50)})  # type: ignore[call-overload]
    net = grid_network(3, 3)
    req = random_requests(np.random.default_rng(0), 9, 15, 1800.0)
    day = simulate(net, make_fleet(9, [0], 2, 4), req, policy=policy, progress=False)
    check_day(day)


@pytest.mark.parametrize("kind", ["pooling", "insertion"])
def test_seeds_past_32_bits(kind: str) -> None:
    """A seed past 2**31 used to reach CP-SAT's 32-bit seed (an OR-Tools TypeError); now it works,
    and seeds outside [0, 2**63) or not ints are refused naming the seed."""
    net = grid_network(3, 3)
    fleet = make_fleet(9, [0], 2, 4)
    req = random_requests(np.random.default_rng(0), 9, 15, 1800.0)
    policy = Policy(kind=kind, reoptimize_s=600.0, reoptimize_iterations=20)  # type: ignore[arg-type]
    check_day(simulate(net, fleet, req, policy=policy, seed=2**31, progress=False))
    for bad, error in ((2**63, ValueError), (-1, ValueError), (1.5, TypeError), (True, TypeError)):
        with pytest.raises(error, match="seed"):
            simulate(net, fleet, req, policy=policy, seed=bad, progress=False)  # type: ignore[arg-type]
        with pytest.raises(error, match="seed"):
            Dispatcher(net, fleet, seed=bad)  # type: ignore[arg-type]


def test_zones_and_booked_trips_are_checked(net: RoadNetwork, fleet: Fleet) -> None:
    from smartopt.datasets import sejong_5_1
    from smartopt.dispatch.shuttles import booked_trips

    live = Dispatcher(net, fleet)
    for bad in (1e-300, 0.5, 1e300, math.nan):
        with pytest.raises(ValueError, match="zone_m"):
            live.rebalance(np.ones(16), zone_m=bad)
        with pytest.raises(ValueError, match="zone_m"):
            Policy(rebalance_s=300.0, zone_m=bad)
    assert live.rebalance(np.ones(16), zone_m=1e12) == 0  # one zone: nowhere to send anyone
    district = sejong_5_1()
    for field, bad, error in (
        ("share", math.nan, ValueError),
        ("share", "0.5", TypeError),
        ("window_s", math.inf, ValueError),
        ("seed", -1, ValueError),
        ("seed", 1.5, TypeError),
        ("detour_factor", True, TypeError),
        ("recharge", "yes", TypeError),
        ("recharge", 1, TypeError),
    ):
        with pytest.raises(error, match=field):
            booked_trips(district.network, district.fleet, district.requests, **{field: bad})  # type: ignore[arg-type]


@HOSTILE
@given(hostile_numbers, hostile_numbers, hostile_numbers, hostile_numbers, hostile_numbers)
def test_assign_hypothesis(
    net: RoadNetwork, demand: object, iterations: object, a: object, b: object, t: object
) -> None:
    """Traffic assignment: a clear error, or flows that conserve the demand, in bounded work."""
    try:
        out = net.assign([0], [15], [[demand]], iterations=iterations, bpr=(a, b), n_threads=t)  # type: ignore[arg-type]
    except ALLOWED:
        return
    assert iterations <= 10_000  # type: ignore[operator]
    assert not np.isnan(out.link_flow_vph).any() and (out.link_time_s >= net.link_time_s).all()
    leaving = out.link_flow_vph[net.link_tail == 0].sum()
    assert leaving == pytest.approx(float(demand), rel=1e-9)  # type: ignore[arg-type]


def test_links_that_would_take_forever_are_refused() -> None:
    xy, tail, head = [[0.0, 0.0], [100.0, 0.0]], [0, 1], [1, 0]
    with pytest.raises(ValueError, match="link_speed_mps"):
        RoadNetwork.from_arrays(xy, tail, head, [1e12, 1.0], [1e-300, 1.0])
    with pytest.raises(ValueError, match="link_length_m"):
        RoadNetwork.from_arrays(xy, tail, head, [1e300, 1.0], [1.0, 1.0])


@pytest.mark.parametrize(
    ("nodes", "match"),
    [
        (b"id,x_m,y_m\n\xe9,0,0\nb,100,0\n", r"nodes.csv: not UTF-8"),
        (b"", r"nodes.csv: the file is empty"),
        (b"id,x_m,y_m\na,1e300,0\nb,0,0\n", r"node_xy\[0, 0\]=1e\+300 is out of range"),
    ],
)
def test_network_csv_errors_name_the_file(tmp_path: Path, nodes: bytes, match: str) -> None:
    """Non-UTF-8 or empty CSV files raised UnicodeDecodeError / pandas errors without the file."""
    (tmp_path / "nodes.csv").write_bytes(nodes)
    (tmp_path / "links.csv").write_text("from,to,length_m,speed_mps\na,b,100,10\n")
    with pytest.raises(ValueError, match=match):
        read_csv(tmp_path / "nodes.csv", tmp_path / "links.csv")
