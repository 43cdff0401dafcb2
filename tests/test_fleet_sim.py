"""The shuttle fleet simulator and live dispatcher: insertion against a brute-force reference, every
rider's promises and the seat and battery limits checked on random days from the output alone
(legs, events, charging), determinism, the district's day, the live API and bad input.

Tolerances: times 1e-6 s, energies 1e-9 kWh.
"""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch_reference import cheapest_insertions
from fleet_checks import EPS, check_day, make_fleet, random_requests
from pooling_reference import trips_of
from smartopt.datasets.grid import grid_network
from smartopt.dispatch import Dispatcher, Fleet, Policy, Requests, TravelSpace, simulate, size_fleet
from smartopt.dispatch.pooling import choose
from smartopt.dispatch.simulation import RideLimits


@pytest.mark.parametrize("wait_weight, delay_weight", [(0.0, 0.0), (0.0, 1.0), (1.0, 3.0)])
@pytest.mark.parametrize("seed", range(25))
def test_insertion_matches_brute_force(seed: int, wait_weight: float, delay_weight: float) -> None:
    """Where each request goes, against every position replayed; with the delay weight the cost
    counts the delay added to the riders already planned (some wait for a later earliest pickup)."""
    rng = np.random.default_rng(seed)
    n_nodes, vehicles, seats = 12, int(rng.integers(1, 4)), int(rng.integers(2, 5))
    xy = rng.uniform(0, 2000, (n_nodes, 2))
    time_s = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1)) / 8.0
    space = TravelSpace.from_matrix(time_s)
    n = int(rng.integers(4, 10))
    req = Requests(
        num_nodes=n_nodes,
        time_s=np.zeros(n),
        origin=(o := rng.integers(0, n_nodes - 2, n)),
        destination=(o + rng.integers(1, n_nodes - 2, n)) % (n_nodes - 2),
        passengers=rng.integers(1, 3, n),
        max_wait_s=rng.uniform(100, 600, n),
        max_detour=rng.choice([0.3, 1.0, np.inf], n),
        max_detour_s=rng.choice([60.0, 300.0, np.inf], n),
        pickup_earliest_s=rng.choice([0.0, 100.0, 400.0], n),
    )
    boarding = float(rng.choice([0.0, 15.0]))
    # Depots at the last two nodes, where no ride starts: a pickup at the depot at time 0 would be done
    # by the time the next request comes, which the reference (no time passes) does not model.
    fleet = make_fleet(n_nodes, [n_nodes - 2, n_nodes - 1], vehicles, seats)
    policy = Policy(boarding_s=boarding, wait_weight=wait_weight, delay_weight=delay_weight)
    dispatcher = Dispatcher(space, fleet, policy=policy)
    lim = RideLimits.of(space, req, boarding)
    limits = {k: getattr(lim, k) for k in ("pickup_earliest_s", "pickup_latest_s", "dropoff_latest_s", "max_ride_s")}
    starts = fleet.depot_node[fleet.vehicle_depot]
    want = cheapest_insertions(time_s, starts, seats, req, limits, boarding, wait_weight, delay_weight)
    for r in range(n):
        offer = dispatcher.submit(
            int(req.origin[r]),
            int(req.destination[r]),
            passengers=int(req.passengers[r]),
            max_wait_s=float(req.max_wait_s[r]),
            max_detour=float(req.max_detour[r]),
            max_detour_s=float(req.max_detour_s[r]),
            pickup_earliest_s=float(req.pickup_earliest_s[r]),
        )
        assert offer.vehicle == want[r][0], f"request {r}"
        if offer.accepted:
            assert offer.pickup_s == pytest.approx(want[r][1], abs=EPS)
            assert offer.dropoff_s == pytest.approx(want[r][2], abs=EPS)
            assert offer.cost_s == pytest.approx(want[r][3], abs=EPS)


@st.composite
def days(draw: st.DrawFn) -> tuple[TravelSpace, Fleet, Requests, Policy]:
    seed = draw(st.integers(0, 2**31))
    rng = np.random.default_rng(seed)
    kind = draw(st.sampled_from(["network", "euclidean", "manhattan"]))
    if kind == "network":
        space = TravelSpace.from_network(grid_network(4, 5, spacing_m=300.0, seed=seed % 7))
    else:
        space = TravelSpace.plane(rng.uniform(0, 3000, (30, 2)), speed_mps=8.0, metric=kind)
    vehicles = draw(st.integers(1, 5))
    fleet = make_fleet(
        space.num_nodes,
        [0, space.num_nodes - 1],
        vehicles,
        draw(st.integers(1, 6)),
        kwh=draw(st.sampled_from([5.0, 1e6])),
        per_km=0.5,
        soc0=draw(st.sampled_from([0.35, 0.9])),
    )
    fleet_seats = int(fleet.vehicle_seats.max())
    req = random_requests(
        rng,
        space.num_nodes,
        draw(st.integers(0, 60)),
        3600.0,
        max_wait_s=draw(st.sampled_from([120.0, 600.0])),
        max_detour=draw(st.sampled_from([0.2, 1.0, np.inf])),
    )
    req = Requests(
        num_nodes=req.num_nodes,
        time_s=req.time_s,
        origin=req.origin,
        destination=req.destination,
        passengers=np.minimum(req.passengers, fleet_seats),
        max_wait_s=req.max_wait_s,
        max_detour=req.max_detour,
    )
    policy = Policy(
        kind=draw(st.sampled_from(["insertion", "batch", "pooling"])),
        batch_s=draw(st.sampled_from([10.0, 60.0])),
        boarding_s=draw(st.sampled_from([0.0, 20.0])),
        wait_weight=draw(st.sampled_from([0.0, 1.0])),
        delay_weight=draw(st.sampled_from([0.0, 0.0, 1.0])),
        rebalance_s=draw(st.sampled_from([0.0, 300.0])),
        zone_m=1000.0,
        reoptimize_s=draw(st.sampled_from([0.0, 0.0, 600.0])),
        reoptimize_iterations=300,
    )
    return space, fleet, req, policy


@settings(max_examples=60, deadline=None)
@given(days())
def test_promises_and_limits_hold_on_random_days(day: tuple[TravelSpace, Fleet, Requests, Policy]) -> None:
    space, fleet, req, policy = day
    check_day(simulate(space, fleet, req, policy=policy, progress=False))


def test_pooling_serves_more_than_one_request_per_vehicle_per_batch() -> None:
    # Three vehicles, 300 requests an hour: batches matched one request per vehicle serve fewer
    # than batches of trips (summed over four days; measured 276 against 294).
    net = grid_network(5, 5, spacing_m=400.0)
    fleet = make_fleet(net.num_nodes, [0, 24], 3, 4)
    served = {"batch": 0, "pooling": 0}
    for seed in range(4):
        req = random_requests(np.random.default_rng(seed), net.num_nodes, 300, 3600.0, max_wait_s=300.0)
        for kind in served:
            res = simulate(net, fleet, req, policy=Policy(kind=kind, batch_s=30.0), progress=False)  # type: ignore[arg-type]
            check_day(res)
            served[kind] += int(res.served.sum())
    assert served["pooling"] > served["batch"]


def test_trip_choice_serves_most_then_costs_least() -> None:
    vehicle, rides, cost = [0, 0, 1, 1], [[7, 8], [7], [8], [7]], [100.0, 10.0, 10.0, 5.0]
    greedy = trips_of(vehicle, rides, cost, exact_steps=0)
    assert greedy.choice.tolist() == [0] and not greedy.proven.any()  # largest first
    assert choose(greedy, time_limit_s=5.0, seed=0).tolist() == [1, 2]  # CP-SAT: both served for 20 s, not 100 s
    exact = trips_of(vehicle, rides, cost, exact_steps=1000)
    assert exact.choice.tolist() == [1, 2] and exact.proven.all()  # the core's search proves it


def test_battery_limits_force_charging() -> None:
    net = grid_network(5, 5, spacing_m=400.0)
    fleet = make_fleet(net.num_nodes, [0, 24], 3, 4, kwh=4.0, per_km=0.5, soc0=0.5)
    req = random_requests(np.random.default_rng(1), net.num_nodes, 200, 4 * 3600.0)
    res = simulate(net, fleet, req, progress=False)
    check_day(res)
    assert res.charging["vehicle"].size > 0
    load = res.charger_load_kw()
    assert load.shape == (2, 96)
    assert load.sum() * 0.25 == pytest.approx(res.kpis["charged_kwh"], rel=1e-9)
    assert load.max() <= 50.0 + 1e-9


def test_same_input_same_day() -> None:
    net = grid_network(5, 5, spacing_m=300.0)
    fleet = make_fleet(net.num_nodes, [0], 4, 4)
    req = random_requests(np.random.default_rng(2), net.num_nodes, 300, 7200.0)
    for kind in ("insertion", "batch", "pooling"):
        a = simulate(net, fleet, req, policy=kind, progress=False)
        b = simulate(net, fleet, req, policy=kind, progress=False)
        np.testing.assert_array_equal(a.vehicle, b.vehicle)
        np.testing.assert_array_equal(a.pickup_s, b.pickup_s)
        np.testing.assert_array_equal(a.legs["distance_m"], b.legs["distance_m"])


def test_pooling_shares_a_vehicle() -> None:
    # Two riders along the same line, one vehicle: the second joins the first's trip.
    space = TravelSpace.plane(np.array([[0.0, 0], [1000, 0], [2000, 0], [3000, 0]]), speed_mps=10.0)
    fleet = make_fleet(4, [0], 1, 4)
    req = Requests(num_nodes=4, time_s=[0.0, 10.0], origin=[0, 1], destination=[3, 2], passengers=[1, 1])
    res = simulate(space, fleet, req, policy=Policy(boarding_s=0.0), overnight=False, progress=False)
    assert res.served.all()
    assert res.pickup_s[1] < res.dropoff_s[0]  # on board together
    assert res.kpis["vehicle_km"] == pytest.approx(3.0, abs=1e-6)
    assert res.kpis["occupancy"] == pytest.approx(4.0 / 3.0, abs=1e-6)


def test_rebalancing_moves_idle_vehicles_toward_demand() -> None:
    # Vehicles wait at a depot in one corner; every request starts in the far corner.
    space = TravelSpace.plane(np.array([[0.0, 0], [3000, 3000], [3100, 3000], [3000, 3100]]), speed_mps=10.0)
    fleet = make_fleet(4, [0], 4, 4)
    n = 40
    req = Requests(
        num_nodes=4,
        time_s=np.linspace(1800, 7200, n),
        origin=np.full(n, 1),
        destination=np.where(np.arange(n) % 2, 2, 3),
        passengers=np.ones(n, dtype=int),
    )
    still = simulate(space, fleet, req, policy=Policy(boarding_s=0.0), progress=False)
    moving = simulate(
        space, fleet, req, policy=Policy(boarding_s=0.0, rebalance_s=300.0, zone_m=1000.0), progress=False
    )
    check_day(moving)
    assert moving.kpis["mean_wait_s"] < still.kpis["mean_wait_s"] / 2
    live = Dispatcher(space, fleet, policy=Policy(boarding_s=0.0))
    assert live.rebalance([0.0, 10.0, 0.0, 0.0]) == 4
    assert all(e.kind == "reposition" for e in live.advance(3600.0))
    np.testing.assert_allclose(live.snapshot().position, np.tile([[3000.0, 3000.0]], (4, 1)))


def test_district_day(district) -> None:  # type: ignore[no-untyped-def]
    res = district.simulate(progress=False)
    check_day(res)
    k = res.kpis
    assert k["requests"] == len(district.requests)
    assert 0.5 < k["served_ratio"] <= 1.0
    assert 0 < k["mean_wait_s"] <= 600 and k["p95_wait_s"] <= 600 + EPS
    assert 1.0 <= k["mean_detour"] <= 2.0 + EPS
    assert 0 < k["empty_km"] < k["vehicle_km"]
    frame = res.to_frame()
    assert len(frame) == len(district.requests) and set(frame["rejection"]) <= {"", "no_vehicle", "battery"}
    assert "served" in repr(res)


def test_dispatcher_live_calls() -> None:
    net = grid_network(4, 4, spacing_m=300.0)
    fleet = make_fleet(net.num_nodes, [0], 2, 2)
    d = Dispatcher(net, fleet)
    d.advance(10.0)
    offer = d.submit(5, 15, time_s=10.0)
    assert offer.accepted and offer.vehicle == 0 and offer.pickup_s > 10.0 and offer.rejection == ""
    d.advance(11.0)
    far = d.submit(15, 0, max_wait_s=1.0)
    assert not far.accepted and far.rejection == "no_vehicle"
    assert np.isnan(far.pickup_s) and np.isnan(far.cost_s) and far == d.offer(far.request)  # one convention
    near = d.submit((310.0, 5.0), 2, time_s=12.0)  # made for later: placed when the clock gets there
    assert near.pending and d.now_s == 11.0
    decided = [e for e in d.advance(12.0) if e.request == near.request and e.kind == "assigned"]
    assert len(decided) == 1 and decided[0].time_s == 12.0 and d.offer(near.request).accepted
    events = d.advance(offer.dropoff_s + 1)
    kinds = [(e.kind, e.request) for e in events]
    assert ("pickup", offer.request) in kinds and ("dropoff", offer.request) in kinds
    snap = d.snapshot()
    assert snap.load.shape == (2,) and (snap.load >= 0).all()
    late = d.submit(3, 12, max_detour=0.0)
    if late.accepted:
        broken = d.update_vehicle(late.vehicle, 0, ready_s=d.now_s + 3600)
        assert late.request in broken
    moved = d.set_in_service(0, False)
    assert all(o.vehicle != 0 for o in moved)
    out = d.snapshot()
    assert out.stops[0] <= out.load[0] and not out.in_service[0]  # only drop-offs of riders on board remain
    assert d.submit(1, 2).vehicle in (-1, 1)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"time_s": [float("nan")]}, "time_s"),
        ({"origin": [99]}, "origin"),
        ({"passengers": [9]}, "passengers"),
        ({"max_wait_s": -1.0}, "max_wait_s"),
        ({"max_detour": float("nan")}, "max_detour"),
        ({"time_s": [-5.0]}, "time_s"),
    ],
)
def test_bad_requests(change: dict[str, object], match: str) -> None:
    net = grid_network(3, 3)
    fleet = make_fleet(net.num_nodes, [0], 1, 4)
    kwargs: dict[str, object] = {"num_nodes": 9, "time_s": [0.0], "origin": [1], "destination": [2], "passengers": [1]}
    kwargs.update(change)
    with pytest.raises(ValueError, match=match):
        simulate(net, fleet, Requests(**kwargs), progress=False)  # type: ignore[arg-type]


def test_bad_setup() -> None:
    net = grid_network(3, 3)
    fleet = make_fleet(net.num_nodes, [0], 1, 4)
    req = Requests(num_nodes=9, time_s=[0.0], origin=[1], destination=[2], passengers=[1])
    with pytest.raises(ValueError, match="num_nodes"):
        simulate(TravelSpace.plane(np.zeros((3, 2)), speed_mps=5.0), fleet, req)
    with pytest.raises(ValueError, match="policy kind"):
        Policy(kind="magic")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="charge_below"):
        Policy(reserve=0.5, charge_below=0.2)
    with pytest.raises(ValueError, match="batch_s"):
        Policy(kind="batch", batch_s=1e-9)  # the clock could not move past large times
    with pytest.raises(ValueError, match="rebalance_s"):
        Policy(rebalance_s=0.01)
    with pytest.raises(ValueError, match="steps"):
        late = Requests(num_nodes=9, time_s=[0.0, 1e10], origin=[1, 1], destination=[2, 2], passengers=[1, 1])
        simulate(net, fleet, late, progress=False)
    with pytest.raises(ValueError, match="disconnected"):
        TravelSpace.from_matrix([[0.0, np.inf], [1.0, 0.0]])
    with pytest.raises(ValueError, match="unknown vehicle"):
        Dispatcher(net, fleet).update_vehicle(3, 0)
    with pytest.raises(ValueError, match="before the dispatcher's clock"):
        d = Dispatcher(net, fleet, start_s=100.0)
        d.submit(1, 2, time_s=50.0)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.sampled_from([0.0, -1.0, 1.0, 1e300, np.inf, -np.inf, np.nan, 5.0, 600.0]), min_size=8, max_size=8),
    st.lists(st.integers(-3, 12), min_size=4, max_size=4),
    st.sampled_from(["network", "plane"]),
)
def test_core_survives_any_input(values: list[float], ints: list[int], kind: str) -> None:
    """The C++ core, called directly with odd numbers and ids, raises ValueError or works: never
    crashes or hangs."""
    from smartopt._core import _dispatch

    a, b, c, d, e, f, g, h = values
    vehicles = _dispatch.VehicleSpecs([max(ints[0], 0)], [a if a else 1.0], [abs(b) if b == b else b], [0.5])
    try:
        power = _dispatch.ChargerPower(np.array([[50.0, g], [f, 0.0]][: 1 + ints[3] % 2]), h)
    except ValueError:
        power = _dispatch.ChargerPower(np.array([[50.0, 5.0]]), 600.0)
    for c_, t0, t1 in ((ints[0], e, f), (0, g, h), (0, -e, 1e300)):
        with contextlib.suppress(ValueError):
            assert power.energy_kwh(c_, t0, t1) >= 0
        with contextlib.suppress(ValueError):
            assert power.end_of_charge(c_, t0, t1) >= t0
    try:
        options = _dispatch.FleetOptions(abs(c) if c == c else c, 0.1, 0.3, 0.9, 0.0, 1.0)
        if kind == "plane":
            xy = np.array([[d, 0.0]])
            core = _dispatch.plane_fleet(8.0, True, vehicles, xy, np.zeros((1, 2)), power, options)
            at, to = np.array([[e, f]]), np.array([[0.0, 1.0]])
        else:
            t = np.array([[0.0, 10.0, 20.0], [10.0, 0.0, 10.0], [20.0, 10.0, d]])
            space = _dispatch.NetworkSpaceArgs(t, [], [], [], [], [])
            core = _dispatch.network_fleet(space, vehicles, [ints[1]], [0], power, options)
            at, to = np.array([ints[2]], dtype=np.int32), np.array([ints[2]], dtype=np.int32)
    except ValueError:
        return
    for call in (
        lambda: core.add_rides([abs(e)], at, to, [ints[3]], [f], [g], [h], [h]),
        lambda: core.submit(ints[2]),
        lambda: core.advance(g),
        lambda: core.place_until(h, abs(c) if c == c else c),
        lambda: core.pool_trips([ints[2]], ints[0], ints[1], ints[3], ints[0], ints[1], 1 + ints[2] % 3),
        lambda: core.assign_plans([ints[1]], [0, 2], [ints[2], ints[3]], [True, bool(ints[0] % 2)]),
        lambda: core.rebalance_toward([ints[3]], ints[1]),
        lambda: core.reposition(ints[0], at),
        lambda: core.update(ints[1], at, e),
        lambda: core.set_in_service(ints[2], bool(ints[0] % 2)),
        lambda: core.reject(ints[0], True),
        lambda: core.replace_plans([ints[0]], [0, 1], [ints[1]], [bool(ints[2] % 2)]),
        lambda: core.set_space((d, True) if kind == "plane" else space),
        core.finish,
        lambda: core.close_day(e),
        lambda: core.close_day(86400.0),
    ):
        with contextlib.suppress(ValueError):
            call()
    for table in (core.records(), core.legs(), core.sessions(), core.events(), core.vehicles()):
        assert isinstance(table, np.ndarray) and table.dtype.names


def test_bad_input_of_the_other_entry_points() -> None:
    net = grid_network(3, 3)
    fleet = make_fleet(net.num_nodes, [0], 2, 4)
    req = Requests(num_nodes=9, time_s=[0.0], origin=[1], destination=[2], passengers=[1])
    for sizes in ([], [0, 2]):
        with pytest.raises(ValueError, match="sizes"):
            size_fleet(net, fleet, req, sizes=sizes)
    for n in (0, 2**31, True, 2.5):
        with pytest.raises((ValueError, TypeError), match="num_vehicles"):
            fleet.resized(n)  # type: ignore[arg-type]
    assert fleet.resized(5).num_vehicles == 5 and fleet.resized(5).vehicle_depot.tolist() == [0] * 5
    live = Dispatcher(net, fleet)
    with pytest.raises(ValueError, match="expected"):
        live.rebalance([1.0, 2.0])
    with pytest.raises(ValueError, match="zone_m"):
        live.rebalance(np.ones(9), zone_m=-1.0)
    with pytest.raises(ValueError, match="origin"):
        live.submit(42, 2)
    with pytest.raises(ValueError, match="points_xy"):
        TravelSpace.plane([[0.0, np.nan]], speed_mps=5.0)
    with pytest.raises(ValueError, match="speed_mps"):
        TravelSpace.plane([[0.0, 0.0]], speed_mps=0.0)
    with pytest.raises(ValueError, match="metric"):
        TravelSpace.plane([[0.0, 0.0]], speed_mps=1.0, metric="chebyshev")  # type: ignore[arg-type]
