"""High-capacity ride-pooling (issue 22): the core's candidate trips against brute force over every
stop order, its choice of trips against brute force over every choice, pooled days checked from
their output alone (promises, seats, batteries) with 10-seat vehicles, the same day on any number
of threads, rebalancing toward waiting requests, and hostile input into the compiled entry points.

Tolerances: times and costs 1e-6 s.
"""

from __future__ import annotations

import contextlib
from itertools import combinations
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch_reference import Stop, replay
from fleet_checks import EPS, check_day, make_fleet, random_requests
from pooling_reference import best_packing, cheapest_route, packing_score, trips_of
from smartopt._core import _dispatch
from smartopt._threads import default_threads, use_threads
from smartopt.datasets.grid import grid_network
from smartopt.dispatch import Fleet, Policy, Requests, TravelSpace, simulate
from smartopt.dispatch.pooling import PoolingLimits, pool_batch
from smartopt.dispatch.simulation import RideLimits, core_fleet

POOL = {"max_trip": 3, "per_request": 50, "per_vehicle": 50, "trips_per_size": 1000, "exact_steps": 10**6}


def pending_fleet(
    space: TravelSpace, fleet: Fleet, req: Requests, boarding_s: float
) -> tuple[Any, dict[str, np.ndarray]]:
    """A core fleet at time 0 holding ``req`` (all made at time 0), none placed; the ride limits."""
    policy = Policy(kind="pooling", boarding_s=boarding_s)
    core = core_fleet(space, fleet, policy)
    limits = RideLimits.of(space, req, boarding_s)
    limits.add_to(core, space, req)
    return core, {
        f: getattr(limits, f) for f in ("pickup_earliest_s", "pickup_latest_s", "dropoff_latest_s", "max_ride_s")
    }


def small_case(seed: int, rides: int = 6) -> tuple[TravelSpace, Fleet, Requests]:
    rng = np.random.default_rng(seed)
    space = TravelSpace.from_network(grid_network(4, 4, spacing_m=400.0, seed=seed))
    fleet = make_fleet(space.num_nodes, [0, 15, 5], 3, 4)
    origin = rng.integers(0, space.num_nodes, rides)
    req = Requests(
        num_nodes=space.num_nodes,
        time_s=np.zeros(rides),
        origin=origin,
        destination=(origin + rng.integers(1, space.num_nodes, rides)) % space.num_nodes,
        passengers=rng.choice([1, 1, 2], rides),
        max_wait_s=float(rng.choice([200.0, 400.0])),
        max_detour=float(rng.choice([0.5, 1.0])),
    )
    return space, fleet, req


def table_trips(table: dict[str, np.ndarray]) -> dict[tuple[int, tuple[int, ...]], tuple[float, list[Stop]]]:
    """(vehicle, sorted rides) -> (cost, plan) of every trip the core listed."""
    out = {}
    for t in range(table["vehicle"].size):
        rides = tuple(sorted(table["rides"][table["ride_offsets"][t] : table["ride_offsets"][t + 1]].tolist()))
        plan = [
            (int(r), bool(p))
            for r, p in zip(
                table["plan_rides"][table["plan_offsets"][t] : table["plan_offsets"][t + 1]],
                table["plan_pickup"][table["plan_offsets"][t] : table["plan_offsets"][t + 1]],
                strict=True,
            )
        ]
        key = (int(table["vehicle"][t]), rides)
        assert key not in out, f"trip {key} listed twice"
        out[key] = (float(table["cost"][t]), plan)
    return out


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 2**16), st.sampled_from([0.0, 30.0]))
def test_trips_of_idle_vehicles_match_brute_force(seed: int, boarding_s: float) -> None:
    """Idle vehicles: a set of up to two rides is a trip exactly when some stop order keeps every
    promise, at the least drive time of any order; larger trips are feasible and cost at least that."""
    space, fleet, req = small_case(seed)
    core, limits = pending_fleet(space, fleet, req, boarding_s)
    table = core.pool_trips(np.arange(len(req)), **POOL, threads=1)
    listed = table_trips(table)
    assert space.time_s is not None
    starts = fleet.depot_node[fleet.vehicle_depot]
    for v, start in enumerate(starts.tolist()):
        for size in (1, 2, 3):
            for rides in combinations(range(len(req)), size):
                best = cheapest_route(space.time_s, start, rides, req, limits, boarding_s, 4)
                got = listed.get((v, rides))
                if size <= 2:
                    assert (got is not None) == (best is not None), f"vehicle {v}, rides {rides}"
                if got is None:
                    continue
                assert best is not None, f"vehicle {v}, rides {rides}: listed but infeasible"
                plan = [Stop(int(req.origin[r] if p else req.destination[r]), r, p) for r, p in got[1]]
                drive = replay(space.time_s, start, plan, req, limits, boarding_s, 4)
                assert drive is not None and drive[0] == pytest.approx(got[0], abs=EPS)  # the plan is the cost
                if size <= 2:
                    assert got[0] == pytest.approx(best, abs=EPS)
                else:
                    assert got[0] >= best - EPS


def test_trips_of_busy_vehicles_keep_their_riders() -> None:
    """A vehicle already holding a ride: each trip's plan holds that ride's stops too, keeps every
    promise, and costs the drive time it adds."""
    space, fleet, req = small_case(3, rides=7)
    core, limits = pending_fleet(space, fleet, req, 0.0)
    assert core.submit(0)[0] >= 0
    table = core.pool_trips(np.arange(1, len(req)), **POOL, threads=1)
    assert table["vehicle"].size > 0 and 0 not in table["rides"]
    assert space.time_s is not None
    starts = fleet.depot_node[fleet.vehicle_depot]
    holder = int(core.records()["vehicle"][0])
    own = [Stop(int(req.origin[0]), 0, True), Stop(int(req.destination[0]), 0, False)]
    base = replay(space.time_s, int(starts[holder]), own, req, limits, 0.0, 4)
    assert base is not None
    for (v, rides), (cost, plan) in table_trips(table).items():
        assert (0, True) in plan if v == holder else all(r in rides for r, _ in plan)
        stops = [Stop(int(req.origin[r] if p else req.destination[r]), r, p) for r, p in plan]
        drive = replay(space.time_s, int(starts[v]), stops, req, limits, 0.0, 4)
        assert drive is not None, f"vehicle {v}, rides {rides}"
        assert drive[0] - (base[0] if v == holder else 0.0) == pytest.approx(cost, abs=EPS)


@st.composite
def trip_tables(draw: st.DrawFn) -> tuple[list[int], list[list[int]], list[float]]:
    n = draw(st.integers(1, 9))
    vehicle = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    rides = [sorted(draw(st.sets(st.integers(0, 5), min_size=1, max_size=3))) for _ in range(n)]
    cost = draw(st.lists(st.floats(0, 100, allow_nan=False), min_size=n, max_size=n))
    return vehicle, rides, cost


@settings(max_examples=200, deadline=None)
@given(trip_tables())
def test_the_exact_choice_matches_brute_force(table: tuple[list[int], list[list[int]], list[float]]) -> None:
    """The core's search, given the steps, proves the best choice over every subset of trips; with
    none, it keeps the greedy choice, a valid one."""
    exact = trips_of(*table, exact_steps=10**6)
    assert exact.proven.all()
    served, cost = packing_score(exact, exact.choice)
    best = best_packing(exact)
    assert served == best[0] and cost == pytest.approx(best[1], abs=1e-9)
    greedy = trips_of(*table, exact_steps=0)
    assert packing_score(greedy, greedy.choice)[0] <= served


def test_parts_are_solved_apart() -> None:
    """Two parts with no vehicle or ride in common: each is proven (or not) on its own budget."""
    small = ([0, 0], [[0], [1]], [5.0, 6.0])
    big_vehicles = list(range(1, 9))
    big = (big_vehicles * 3, [[10 + (v + k) % 8, 10 + (v + 2 * k + 1) % 8] for k in range(3) for v in big_vehicles])
    vehicle, rides = small[0] + big[0], small[1] + big[1]
    trips = trips_of(vehicle, rides, [*small[2], *np.linspace(1, 50, 24).tolist()], exact_steps=40)
    assert trips.proven[:2].all() and not trips.proven[2:].all()
    assert trips.choice[0] == 0  # vehicle 0 takes its cheaper trip


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**16), st.sampled_from([4, 10]), st.integers(2, 8), st.sampled_from([0.0, 1.0]))
def test_pooled_days_keep_every_promise(seed: int, seats: int, max_trip: int, wait_weight: float) -> None:
    rng = np.random.default_rng(seed)
    space = TravelSpace.from_network(grid_network(5, 5, spacing_m=300.0, seed=seed % 5))
    fleet = make_fleet(space.num_nodes, [0, 24], 4, seats, kwh=6.0, per_km=0.4, soc0=0.6)
    req = random_requests(rng, space.num_nodes, 120, 3600.0, max_wait_s=300.0, max_detour=1.0)
    policy = Policy(kind="pooling", batch_s=60.0, boarding_s=20.0, max_trip=max_trip, wait_weight=wait_weight)
    day = simulate(space, fleet, req, policy=policy, seed=seed, progress=False)
    check_day(day)
    assert day.kpis["broken_promises"] == 0


def test_ten_seats_carry_more_than_four() -> None:
    """High capacity pays: one 10-seat vehicle with trips of up to 8 riders serves more of a
    rush than trips of up to 2 (measured 54 against 39 of 80)."""
    net = grid_network(4, 4, spacing_m=300.0)
    fleet = make_fleet(net.num_nodes, [0], 1, 10)
    req = random_requests(np.random.default_rng(5), net.num_nodes, 80, 1800.0, max_wait_s=600.0, max_detour=2.0)
    served = {}
    for max_trip in (2, 8):
        day = simulate(net, fleet, req, policy=Policy(kind="pooling", max_trip=max_trip, batch_s=60.0), progress=False)
        check_day(day)
        served[max_trip] = int(day.served.sum())
    assert served[8] > served[2]


def test_a_pooled_day_is_the_same_on_any_number_of_threads() -> None:
    space = TravelSpace.from_network(grid_network(6, 6, spacing_m=300.0))
    fleet = make_fleet(space.num_nodes, [0, 35], 6, 4)
    req = random_requests(np.random.default_rng(9), space.num_nodes, 300, 3600.0, max_wait_s=300.0)
    policy = Policy(kind="pooling", batch_s=30.0, max_trip=4)
    before = default_threads()
    days = []
    try:
        for threads in (1, 2, 3):
            use_threads(threads)
            days.append(simulate(space, fleet, req, policy=policy, seed=1, progress=False))
    finally:
        use_threads(before)
    for other in days[1:]:
        np.testing.assert_array_equal(days[0].vehicle, other.vehicle)
        np.testing.assert_array_equal(days[0].pickup_s, other.pickup_s)
        np.testing.assert_array_equal(days[0].dropoff_s, other.dropoff_s)
        np.testing.assert_array_equal(days[0].legs["distance_m"], other.legs["distance_m"])
    # a batch large enough (260 vehicles x 200 requests) for the core to run it on threads
    rng = np.random.default_rng(12)
    big = TravelSpace.from_network(grid_network(10, 10, spacing_m=300.0))
    cars = make_fleet(big.num_nodes, rng.integers(0, 100, 260).tolist(), 260, 4)
    rush = random_requests(rng, big.num_nodes, 200, 1.0, max_wait_s=400.0)
    core, _ = pending_fleet(big, cars, Requests(**{**rush.__dict__, "time_s": np.zeros(200)}), 0.0)
    limits = {"max_trip": 3, "per_request": 10, "per_vehicle": 8, "trips_per_size": 64, "exact_steps": 10**5}
    tables = [core.pool_trips(np.arange(200), **limits, threads=t) for t in (1, 2, 4)]
    assert tables[0]["vehicle"].size > 1000
    for table in tables[1:]:
        assert table.keys() == tables[0].keys()
        for key in table:
            np.testing.assert_array_equal(table[key], tables[0][key], err_msg=key)


def test_idle_vehicles_drive_toward_requests_left_waiting() -> None:
    """Each ride keeps only its cheapest vehicle, so two rides compete for vehicle 0 and one is
    left waiting; the idle vehicle 1 is sent toward that ride's origin."""
    space = TravelSpace.plane(np.array([[0.0, 0], [500, 0], [600, 0], [3000, 0], [3000, 500]]), speed_mps=10.0)
    fleet = make_fleet(5, [0, 3], 2, 4)
    req = Requests(num_nodes=5, time_s=[0.0, 0.0], origin=[1, 2], destination=[4, 4], passengers=[1, 1])
    core, _ = pending_fleet(space, fleet, req, 0.0)
    limits = PoolingLimits(1, 1, 1, 10, 0.0, None, rebalance=True, seed=0)  # one vehicle per ride
    waiting = pool_batch(core, [0, 1], limits)
    assert len(waiting) == 1
    plans = core.plans()
    assert plans["vehicle"].tolist() == [0, 0, 1]
    assert plans["kind"][-1] == _dispatch.StopKind.REPOSITION
    np.testing.assert_allclose(plans["location"][-1], space.node_xy[req.origin[waiting[0]]])
    assert pool_batch(core, waiting, limits) == []  # the next batch places it


def test_a_plan_that_breaks_a_promise_is_not_taken() -> None:
    """Vehicle 1 is 300 s from the ride's origin and the ride waits at most 60 s: its plan is
    refused and nothing changes; vehicle 0's is taken."""
    space = TravelSpace.plane(np.array([[0.0, 0], [100, 0], [3100, 0], [600, 0]]), speed_mps=10.0)
    fleet = make_fleet(4, [0, 2], 2, 4)
    req = Requests(num_nodes=4, time_s=[0.0], origin=[1], destination=[3], passengers=[1], max_wait_s=60.0)
    core, _ = pending_fleet(space, fleet, req, 0.0)
    before = core.records().copy()
    assert core.assign_plans([1], [0, 2], [0, 0], [True, False]).tolist() == [False]
    np.testing.assert_array_equal(core.records(), before)
    assert core.plans().size == 0 and core.legs().size == 0
    with pytest.raises(ValueError, match="drop-off must follow its pickup"):
        core.assign_plans([0], [0, 2], [0, 0], [False, True])
    assert core.assign_plans([0], [0, 2], [0, 0], [True, False]).tolist() == [True]
    assert core.records()["vehicle"].tolist() == [0]


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda c: c.pool_trips([0, 0], 2, 2, 2, 4, 10, 1), "listed twice"),
        (lambda c: c.pool_trips([7], 2, 2, 2, 4, 10, 1), "pending rides only"),
        (lambda c: c.pool_trips([0], 11, 2, 2, 4, 10, 1), r"max_trip must be in \[1, 10\]"),
        (lambda c: c.pool_trips([0], 2, 0, 2, 4, 10, 1), "must be >= 1"),
        (lambda c: c.pool_trips([0], 2, 2, 2, 4, -1, 1), "exact_steps must be >= 0"),
        (lambda c: c.pool_trips([0], 2, 2, 2, 4, 10, 0), r"threads must be in \[1, 1024\]"),
        (lambda c: c.assign_plans([0, 0], [0, 0, 0], [], []), "distinct known vehicles"),
        (lambda c: c.assign_plans([5], [0, 0], [], []), "distinct known vehicles"),
        (lambda c: c.assign_plans([0], [0, 1], [0], [True]), "needs its pickup and drop-off"),
        (lambda c: c.assign_plans([0, 1], [0, 2, 4], [0, 0, 0, 0], [True, False, True, False]), "listed twice"),
        (lambda c: c.assign_plans([0], [0, 2], [9, 9], [True, False]), "unknown ride 9"),
        (lambda c: c.assign_plans([0], [0, 1], [0], [True, False]), "offsets must cut"),
        (lambda c: c.rebalance_toward([0], 0), "per_request must be >= 1"),
        (lambda c: c.rebalance_toward([99], 1), "unknown ride 99"),
    ],
)
def test_bad_pooling_calls_name_the_problem(call: Any, match: str) -> None:
    space, fleet, req = small_case(1, rides=2)
    core, _ = pending_fleet(space, fleet, req, 0.0)
    with pytest.raises(ValueError, match=match):
        call(core)


def test_a_vehicles_own_stops_must_all_be_in_its_new_plan() -> None:
    space, fleet, req = small_case(2, rides=2)
    core, _ = pending_fleet(space, fleet, req, 0.0)
    vehicle = core.submit(0)[0]
    with pytest.raises(ValueError, match="leaves out some of its ride stops"):
        core.assign_plans([vehicle], [0, 2], [1, 1], [True, False])
    with pytest.raises(ValueError, match="neither in vehicle"):
        core.assign_plans([(vehicle + 1) % 3], [0, 2], [0, 0], [True, False])


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (([0], [0, 1], [0], [np.nan], 10), "finite cost"),
        (([0], [0, 2], [1, 1], [1.0], 10), "distinct rides"),
        (([0], [0, 0], [], [1.0], 10), "at least one ride"),
        (([-1], [0, 1], [0], [1.0], 10), "vehicle >= 0"),
        (([0], [0, 1], [-3], [1.0], 10), "distinct rides >= 0"),
        (([0], [0, 1], [0], [1.0], -5), "exact_steps must be >= 0"),
        (([0, 1], [0, 1], [0], [1.0, 2.0], 10), "one vehicle, cost and ride list each"),
        (([0], [1, 1], [0], [1.0], 10), "one vehicle, cost and ride list each"),
    ],
)
def test_choose_trips_refuses_malformed_tables(args: tuple[Any, ...], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        _dispatch.choose_trips(*args)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.integers(-2, 5), max_size=8),
    st.lists(st.integers(-1, 12), max_size=10),
    st.lists(st.integers(-2, 6), max_size=12),
    st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=8),
    st.integers(-1, 1000),
)
def test_choose_trips_never_crashes(
    vehicle: list[int], offsets: list[int], rides: list[int], cost: list[float], steps: int
) -> None:
    try:
        choice, proven = _dispatch.choose_trips(vehicle, offsets, rides, cost, steps)
    except ValueError:
        return
    assert proven.size == len(vehicle) and set(choice.tolist()) <= set(range(len(vehicle)))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(-3, 8), max_size=6),
    st.lists(st.integers(-2, 12), max_size=6),
    st.lists(st.booleans(), max_size=6),
    st.lists(st.integers(-1, 3), max_size=3),
    st.integers(-2, 40),
)
def test_pooling_entry_points_survive_hostile_input(
    ids: list[int], rides: list[int], pickup: list[bool], vehicles: list[int], number: int
) -> None:
    space, fleet, req = small_case(6, rides=6)
    core, _ = pending_fleet(space, fleet, req, 0.0)
    offsets = [0, *sorted(min(len(rides), max(0, k)) for k in range(1, len(vehicles) + 1))]
    if vehicles:
        offsets[-1] = len(rides)
    calls = (
        lambda: core.pool_trips(ids, number, number, number, number, number, 1 + abs(number) % 3),
        lambda: core.assign_plans(vehicles, offsets, rides, pickup[: len(rides)] + [True] * (len(rides) - len(pickup))),
        lambda: core.rebalance_toward(ids, number),
    )
    for call in calls:
        with contextlib.suppress(ValueError):
            call()
    day = core.records()
    assert day.size == 6
