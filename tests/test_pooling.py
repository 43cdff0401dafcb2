"""High-capacity ride-pooling (issue 22): the core's candidate trips against brute force over every
stop order, its choice of trips against brute force over every choice, pooled days checked from
their output alone (promises, seats, batteries) with 10-seat vehicles, the same day on any number
of threads, rebalancing toward waiting requests, and hostile input into the compiled entry points.

Tolerances: times and costs 1e-6 s.
"""

from __future__ import annotations

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
from smartopt.datasets.grid import grid_network
from smartopt.dispatch import Fleet, Policy, Requests, TravelSpace, simulate
from smartopt.dispatch.pooling import PoolingLimits, pool_batch
from smartopt.dispatch.simulation import RideLimits, core_fleet

POOL = {"max_trip": 3, "per_request": 50, "per_vehicle": 50, "trips_per_size": 1000, "exact_steps": 10**6}


def pending_fleet(
    space: TravelSpace, fleet: Fleet, req: Requests, boarding_s: float, delay_weight: float = 0.0
) -> tuple[Any, dict[str, np.ndarray]]:
    """A core fleet at time 0 holding ``req`` (all made at time 0), none placed; the ride limits."""
    policy = Policy(kind="pooling", boarding_s=boarding_s, delay_weight=delay_weight)
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


@pytest.mark.parametrize("boarding_s", [0.0, 30.0])
def test_trip_costs_count_the_delay_they_add(boarding_s: float) -> None:
    """With a delay weight a trip also costs delay_weight x the delay it adds: its riders' drop-offs
    after their earliest pickups, boarding and direct drives, and the later drop-off of a rider
    already planned (ten random cases, some of whose trips drop that rider off later)."""
    weight, later = 2.0, 0  # later: trips that drop the rider already planned off later
    for seed in range(10):
        space, fleet, req = small_case(seed, rides=7)
        core, limits = pending_fleet(space, fleet, req, boarding_s, delay_weight=weight)
        assert core.submit(0)[0] >= 0
        table = core.pool_trips(np.arange(1, len(req)), **POOL, threads=1)
        assert space.time_s is not None
        time_s, starts = space.time_s, fleet.depot_node[fleet.vehicle_depot]
        direct = limits["pickup_earliest_s"] + boarding_s + time_s[req.origin, req.destination]
        holder = int(core.records()["vehicle"][0])
        own = [Stop(int(req.origin[0]), 0, True), Stop(int(req.destination[0]), 0, False)]
        for (v, rides), (cost, plan) in table_trips(table).items():
            stops = [Stop(int(req.origin[r] if p else req.destination[r]), r, p) for r, p in plan]
            before = replay(time_s, int(starts[v]), own if v == holder else [], req, limits, boarding_s, 4)
            after = replay(time_s, int(starts[v]), stops, req, limits, boarding_s, 4)
            assert before is not None and after is not None, f"case {seed}, vehicle {v}, rides {rides}"
            delay = sum(t - direct[r] for r, t in after[2].items()) - sum(t - direct[r] for r, t in before[2].items())
            assert after[0] - before[0] + weight * delay == pytest.approx(cost, abs=EPS), f"case {seed}, rides {rides}"
            later += v == holder and after[2][0] > before[2][0] + EPS
    assert later > 0


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


@settings(max_examples=200, deadline=None)
@given(trip_tables(), st.data())
def test_every_reassigned_ride_stays_served(
    table: tuple[list[int], list[list[int]], list[float]], data: st.DataObject
) -> None:
    """Rides 6-8 are assigned to vehicles 0-2 (one own trip each, as the core always lists): every
    choice, greedy or exact, serves them all, and the exact one is the best that does."""
    vehicle, rides, cost = table
    owner = {6 + v: v for v in data.draw(st.sets(st.integers(0, 2), min_size=1))}
    for v in sorted(set(owner.values())):  # a vehicle's own trip keeps its rides...
        vehicle, rides = [*vehicle, v], [*rides, [r for r, o in owner.items() if o == v]]
        cost = [*cost, data.draw(st.floats(0, 100, allow_nan=False))]
    for r, o in owner.items():  # ...other trips may move them
        extra = data.draw(st.sets(st.integers(0, 5), max_size=2))
        vehicle, rides, cost = [*vehicle, (o + 1) % 4], [*rides, sorted({r, *extra})], [*cost, 1.0]
    for steps in (0, 10**6):
        trips = trips_of(vehicle, rides, cost, exact_steps=steps, reassigned=owner)
        served = {int(r) for k in trips.choice for r in trips.rides[trips.ride_offsets[k] : trips.ride_offsets[k + 1]]}
        assert set(owner) <= served
    served_count, total = packing_score(trips, trips.choice)
    assert trips.proven.all()
    best = best_packing(trips)
    assert served_count == best[0] and total == pytest.approx(best[1], abs=1e-9)


def test_a_reassigned_ride_in_no_trip_is_refused() -> None:
    with pytest.raises(ValueError, match="reassigned ride 7 is in no trip"):
        trips_of([0], [[1]], [1.0], exact_steps=10, reassigned={7: 0})
    with pytest.raises(ValueError, match="serves every reassigned ride"):  # its own trip is missing
        trips_of([0, 1], [[1, 7], [7, 2]], [1.0, 1.0], exact_steps=10, reassigned={7: 2})


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
@given(
    st.integers(0, 2**16),
    st.sampled_from([4, 10]),
    st.integers(2, 8),
    st.sampled_from([(0.0, 0.0), (1.0, 0.0), (0.0, 1.0)]),
    st.booleans(),
)
def test_pooled_days_keep_every_promise(
    seed: int, seats: int, max_trip: int, weights: tuple[float, float], reassign: bool
) -> None:
    rng = np.random.default_rng(seed)
    space = TravelSpace.from_network(grid_network(5, 5, spacing_m=300.0, seed=seed % 5))
    fleet = make_fleet(space.num_nodes, [0, 24], 4, seats, kwh=6.0, per_km=0.4, soc0=0.6)
    req = random_requests(rng, space.num_nodes, 120, 3600.0, max_wait_s=300.0, max_detour=1.0)
    policy = Policy(
        kind="pooling",
        batch_s=60.0,
        boarding_s=20.0,
        max_trip=max_trip,
        wait_weight=weights[0],
        delay_weight=weights[1],
        pool_reassign=reassign,
    )
    day = simulate(space, fleet, req, policy=policy, seed=seed, progress=False)
    check_day(day)
    assert day.kpis["broken_promises"] == 0


def test_larger_trips_serve_more_of_a_rush() -> None:
    """High capacity pays: one 10-seat vehicle taking trips of up to 8 riders per batch serves more
    of a rush than with trips of up to 2."""
    net = grid_network(4, 4, spacing_m=300.0)
    fleet = make_fleet(net.num_nodes, [0], 1, 10)
    req = random_requests(np.random.default_rng(5), net.num_nodes, 80, 1800.0, max_wait_s=600.0, max_detour=2.0)
    served = {}
    for max_trip in (2, 8):
        day = simulate(net, fleet, req, policy=Policy(kind="pooling", max_trip=max_trip, batch_s=60.0), progress=False)
        check_day(day)
        served[max_trip] = int(day.served.sum())
    assert served[8] > served[2]


def test_trips_are_the_same_on_any_number_of_threads() -> None:
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
    """Vehicle 1, driving a rider from 3100 m toward 0 m, cannot also pick up a rider at 100 m within
    60 s: the plan is refused and the fleet is left as it was (legs, charge, plans, records);
    vehicle 0's plan for the same ride is taken."""
    space = TravelSpace.plane(np.array([[0.0, 0], [100, 0], [3100, 0], [600, 0], [0, 50]]), speed_mps=10.0)
    fleet = make_fleet(5, [0, 2], 2, 4)
    req = Requests(num_nodes=5, time_s=[0.0, 100.0], origin=[2, 1], destination=[4, 3], passengers=[1, 1])
    req = Requests(**{**req.__dict__, "max_wait_s": np.array([600.0, 60.0])})
    core, _ = pending_fleet(space, fleet, req, 0.0)
    assert core.assign_plans([1], [0, 2], [0, 0], [True, False]).tolist() == [True]
    core.advance(100.0)  # vehicle 1 is under way: turning it would add a leg
    before = (core.records().copy(), core.plans().copy(), core.legs().copy(), core.vehicles().copy())
    refused = core.assign_plans([1], [0, 3], [1, 1, 0], [True, False, False])  # ride 0 is on board
    assert refused.tolist() == [False]
    for got, was in zip((core.records(), core.plans(), core.legs(), core.vehicles()), before, strict=True):
        np.testing.assert_array_equal(got, was)
    with pytest.raises(ValueError, match="drop-off must follow its pickup"):
        core.assign_plans([0], [0, 2], [1, 1], [False, True])
    assert core.assign_plans([0], [0, 2], [1, 1], [True, False]).tolist() == [True]
    assert core.records()["vehicle"].tolist() == [1, 0]


def line_case(max_wait_s: list[float]) -> Any:
    """On a line at 10 m/s: vehicle 0 at 0 m, vehicle 1 at 1,000 m; ride 0 (made at 0 s) from 400 m
    to 500 m, placed in vehicle 0; ride 1 (made at 10 s) from 0 m to -500 m, pending; the clock at 10 s."""
    space = TravelSpace.plane(np.array([[0.0, 0], [1000, 0], [400, 0], [500, 0], [-500, 0]]), speed_mps=10.0)
    req = Requests(num_nodes=5, time_s=[0.0, 10.0], origin=[2, 0], destination=[3, 4], passengers=[1, 1])
    req = Requests(**{**req.__dict__, "max_wait_s": np.array(max_wait_s), "max_detour": 10.0})
    core, _ = pending_fleet(space, make_fleet(5, [0, 1], 2, 4), req, 0.0)
    assert core.submit(0)[0] == 0
    core.advance(10.0)
    return core


@pytest.mark.parametrize("reassign", [False, True])
def test_reassignment_moves_a_ride_not_yet_picked_up(reassign: bool) -> None:
    """Only vehicle 0 (at 100 m at 10 s) reaches ride 1 within its 60 s. Keeping ride 0 it drives
    1,600 m (100 -> 0 -> -500 -> 400 -> 500); giving ride 0 to vehicle 1 (700 m) it drives 600 m:
    1,300 m in all. Reassignment moves ride 0; without it, vehicle 0 takes both."""
    core = line_case([600.0, 60.0])
    limits = PoolingLimits(3, 10, 8, 64, 0.0, None, rebalance=False, seed=0, reassign=reassign)
    table = core.pool_trips([1], 3, 10, 8, 64, 1000, 1, reassign)
    assert table["reassigned"].tolist() == ([0] if reassign else [])
    assert pool_batch(core, [1], limits) == []
    records = core.records()
    assert records["vehicle"].tolist() == ([1, 0] if reassign else [0, 0])
    assert (records["status"] == int(_dispatch.RideStatus.ASSIGNED)).all()
    core.finish()
    assert core.legs()["distance_m"].sum() == pytest.approx(100 + (1300 if reassign else 1600), abs=1e-6)


def test_a_move_that_breaks_a_promise_leaves_both_vehicles_as_they_were() -> None:
    """Vehicle 1 cannot reach ride 0 within its 50 s: the plan taking it from vehicle 0 is refused
    and nothing changes, neither the taker nor the giver."""
    core = line_case([50.0, 60.0])
    before = (core.records().copy(), core.plans().copy(), core.legs().copy(), core.vehicles().copy())
    assert core.assign_plans([1], [0, 2], [0, 0], [True, False]).tolist() == [False]
    for got, was in zip((core.records(), core.plans(), core.legs(), core.vehicles()), before, strict=True):
        np.testing.assert_array_equal(got, was)
    with pytest.raises(ValueError, match="is listed twice"):
        core.assign_plans([0, 1], [0, 2, 4], [0, 0, 0, 0], [True, False, True, False])


def test_a_vehicle_running_late_still_takes_trips_after_its_late_stop() -> None:
    """Vehicle 0 is held up, so its rider arrives late; a new ride behind that stop keeps every
    promise it still can, so pooling places it (as insertion would) instead of leaving it waiting."""
    xy = np.array([[0.0, 0], [1000, 0], [1500, 0], [3000, 0]])
    space = TravelSpace.plane(xy, speed_mps=10.0)
    fleet = make_fleet(4, [0, 3], 2, 4)
    core = core_fleet(space, fleet, Policy(kind="pooling"))
    inf = np.inf
    core.add_rides([0.0], xy[[0]], xy[[1]], [1], [0.0], [10.0], [200.0], [inf])
    assert core.submit(0)[0] == 0
    core.advance(1.0)
    assert core.update(0, np.array([[10.0, 0]]), 500.0).tolist() == [0]  # its drop-off is now late
    core.add_rides([1.0], xy[[1]], xy[[2]], [1], [0.0], [1000.0], [inf], [inf])
    assert pool_batch(core, [1], PoolingLimits(3, 10, 8, 64, 0.0, None, rebalance=False, seed=0)) == []
    assert core.records()["vehicle"][1] == 0  # behind the late stop, cheaper than vehicle 1's drive
    plans = core.plans()
    late = (plans["id"] == 0) & (plans["kind"] == _dispatch.StopKind.DROPOFF)
    assert plans["latest_s"][late].tolist() == [200.0]  # the broken promise stays what it was
    assert plans["start_s"][late][0] > 200.0


def test_requests_booked_for_later_can_share() -> None:
    """A rides now with a short ride limit, B is booked from 300 s at the same origin: a vehicle
    280 s away takes both (an empty vehicle there now would have to wait with A on board, so the
    pair must not be ruled out)."""
    xy = np.array([[-2800.0, 0], [0, 0], [2000, 0]])
    space = TravelSpace.plane(xy, speed_mps=10.0)
    core = core_fleet(space, make_fleet(3, [0], 1, 4), Policy(kind="pooling", boarding_s=0.0))
    inf = np.inf
    core.add_rides([0.0, 0.0], xy[[1, 1]], xy[[2, 2]], [1, 1], [0.0, 300.0], [290.0, 310.0], [inf, inf], [230.0, 230.0])
    table = core.pool_trips(np.array([0, 1]), 3, 10, 8, 64, 1000, 1)
    assert (table["ride_offsets"][1:] - table["ride_offsets"][:-1]).max() == 2
    assert (
        table["choice"].size == 1
        and table["ride_offsets"][table["choice"][0] + 1] - table["ride_offsets"][table["choice"][0]] == 2
    )


def test_no_pickup_is_planned_in_the_past() -> None:
    """A vehicle already at its next stop, waiting for that rider's earliest pickup: a ride pooled
    in front of it is picked up now at the earliest, not when the vehicle arrived there."""
    xy = np.array([[0.0, 0], [100, 0], [200, 0]])
    space = TravelSpace.plane(xy, speed_mps=10.0)
    core = core_fleet(space, make_fleet(3, [0], 1, 4), Policy(kind="pooling", boarding_s=0.0))
    inf = np.inf
    core.add_rides([0.0], xy[[1]], xy[[2]], [1], [500.0], [1000.0], [inf], [inf])
    assert core.submit(0)[0] == 0
    core.advance(250.0)  # arrived at 10 s, waits for 500 s
    core.add_rides([250.0], xy[[1]], xy[[2]], [1], [250.0], [1000.0], [inf], [inf])
    core.advance(300.0)
    assert pool_batch(core, [1], PoolingLimits(3, 10, 8, 64, 0.0, None, rebalance=False, seed=0)) == []
    assert core.records()["pickup_s"][1] >= 300.0


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda c: c.pool_trips([0, 0], 2, 2, 2, 4, 10, 1), "listed twice"),
        (lambda c: c.pool_trips([7], 2, 2, 2, 4, 10, 1), "pending rides only"),
        (lambda c: c.pool_trips([0], 11, 2, 2, 4, 10, 1), r"max_trip must be in \[1, 10\]"),
        (lambda c: c.pool_trips([0], 2, 0, 2, 4, 10, 1), r"per_request must be in \[1, 10000\]"),
        (lambda c: c.pool_trips([0], 2, 2, 101, 4, 10, 1), r"per_vehicle must be in \[1, 100\]"),
        (lambda c: c.pool_trips([0], 2, 2, 2, 1001, 10, 1), r"trips_per_size must be in \[1, 1000\]"),
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


def test_a_vehicles_own_stops_must_all_be_in_the_new_plans() -> None:
    space, fleet, req = small_case(2, rides=2)
    core, _ = pending_fleet(space, fleet, req, 0.0)
    vehicle = core.submit(0)[0]
    with pytest.raises(ValueError, match="leaves out some of its ride stops"):
        core.assign_plans([vehicle], [0, 2], [1, 1], [True, False])
    other = (vehicle + 1) % 3  # takes ride 0, not yet picked up, from its vehicle
    assert core.assign_plans([other], [0, 2], [0, 0], [True, False]).tolist() == [True]
    plans = core.plans()
    assert core.records()["vehicle"][0] == other and not (plans["vehicle"] == vehicle).any()


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
        (([0, 0], [0, 3, 2], [0, 1], [1.0, 1.0], 10), "not decreasing"),
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


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.integers(-3, 8), max_size=6),
    st.lists(st.integers(-2, 12), max_size=6),
    st.lists(st.booleans(), max_size=6),
    st.lists(st.integers(-1, 3), max_size=3),
    st.lists(st.integers(-2, 8), max_size=4),
    st.integers(-2, 40),
)
def test_pooling_entry_points_survive_hostile_input(
    ids: list[int], rides: list[int], pickup: list[bool], vehicles: list[int], offsets: list[int], number: int
) -> None:
    """A ValueError or a result, never a crash; a refused call changes nothing."""
    space, fleet, req = small_case(6, rides=6)
    core, _ = pending_fleet(space, fleet, req, 0.0)
    assert core.submit(5)[0] >= 0  # one vehicle holds a ride
    calls = (
        lambda: core.pool_trips(ids, number, number, number, number, number, 1 + abs(number) % 3, number % 2 == 0),
        lambda: core.assign_plans(vehicles, offsets, rides, pickup),
        lambda: core.rebalance_toward(ids, number),
    )
    for call in calls:
        before = (core.records().copy(), core.plans().copy(), core.legs().copy())
        try:
            call()
        except ValueError:
            for got, was in zip((core.records(), core.plans(), core.legs()), before, strict=True):
                np.testing.assert_array_equal(got, was)
    check_plans_hold_each_ride_once(core)


def check_plans_hold_each_ride_once(core: Any) -> None:
    """Every assigned ride's pickup (unless on board) and drop-off are planned once, in its vehicle."""
    records, plans = core.records(), core.plans()
    rides = plans["kind"] <= _dispatch.StopKind.DROPOFF
    keys = list(zip(plans["id"][rides].tolist(), plans["kind"][rides].tolist(), strict=True))
    assert len(keys) == len(set(keys))
    for ride in np.flatnonzero(records["status"] == _dispatch.RideStatus.ASSIGNED):
        mine = rides & (plans["id"] == ride)
        assert plans["vehicle"][mine].tolist() == [records["vehicle"][ride]] * 2


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**16), st.integers(2, 7), st.integers(2, 7))
def test_no_trip_beats_its_straight_line_at_the_fastest_link_speed(seed: int, rows: int, cols: int) -> None:
    """The bound the core prunes vehicles with (straight line / fastest link speed) never exceeds a
    travel time, so pruning never drops a feasible insertion."""
    space = TravelSpace.from_network(grid_network(rows, cols, spacing_m=250.0, seed=seed))
    assert space.time_s is not None and space.node_xy is not None
    line = np.hypot(*(space.node_xy[:, None, :] - space.node_xy[None, :, :]).transpose(2, 0, 1))
    assert np.all(line / space.max_speed_mps() <= space.time_s * (1 + 1e-12) + 1e-9)


def test_a_bad_straight_line_bound_is_refused_when_the_fleet_is_built() -> None:
    space = TravelSpace.from_network(grid_network(3, 3))
    fleet = make_fleet(space.num_nodes, [0], 1, 4)
    args = space.core_args()
    assert isinstance(args, _dispatch.NetworkSpaceArgs)
    power = _dispatch.ChargerPower(*fleet.charger_power_kw())
    options = _dispatch.FleetOptions(0.0, 0.1, 0.3, 0.9, 0.0, 0.0)
    vehicles = _dispatch.VehicleSpecs(
        fleet.vehicle_seats, fleet.vehicle_battery_kwh, fleet.vehicle_kwh_per_km, fleet.vehicle_soc0
    )
    for xy, speed, match in ((np.full((9, 2), np.nan), 10.0, "finite"), (np.zeros((9, 2)), 0.0, "max_speed_mps")):
        args.bound_by(xy, speed)
        with pytest.raises(ValueError, match=match):
            _dispatch.network_fleet(args, vehicles, [0], fleet.charger_node, power, options)
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        args.bound_by(np.zeros((3, 2)), 10.0)


@pytest.mark.parametrize(
    ("wait", "delay", "name"),
    [(-1.0, 0.0, "wait"), (np.nan, 0.0, "wait"), (0.0, -1.0, "delay"), (0.0, np.inf, "delay"), (0.0, 2e6, "delay")],
)
def test_the_core_refuses_bad_cost_weights(wait: float, delay: float, name: str) -> None:
    space = TravelSpace.from_network(grid_network(3, 3))
    fleet = make_fleet(space.num_nodes, [0], 1, 4)
    args = space.core_args()
    assert isinstance(args, _dispatch.NetworkSpaceArgs)
    power = _dispatch.ChargerPower(*fleet.charger_power_kw())
    vehicles = _dispatch.VehicleSpecs(
        fleet.vehicle_seats, fleet.vehicle_battery_kwh, fleet.vehicle_kwh_per_km, fleet.vehicle_soc0
    )
    options = _dispatch.FleetOptions(0.0, 0.1, 0.3, 0.9, wait, delay)
    with pytest.raises(ValueError, match=rf"{name}_weight must be in \[0, 1e6\]"):
        _dispatch.network_fleet(args, vehicles, [0], fleet.charger_node, power, options)


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("pool_vehicles", 0, r"pool_vehicles must be an int in \[1, 10000\], got 0"),
        ("pool_vehicles", 2.5, r"pool_vehicles must be an int"),
        ("pool_trips_per_size", 1001, r"pool_trips_per_size must be an int in \[1, 1000\], got 1001"),
        ("pool_trips_per_size", True, r"pool_trips_per_size must be an int"),
        ("pool_rebalance", 1, r"pool_rebalance must be a bool, got 1"),
        ("pool_rebalance", "yes", r"pool_rebalance must be a bool"),
        ("pool_reassign", 0, r"pool_reassign must be a bool, got 0"),
    ],
)
def test_bad_pooling_policies_name_the_field(field: str, value: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Policy(kind="pooling", **{field: value})  # type: ignore[arg-type]
