"""Multi-trip routing: vehicles that return to a reload depot between trips (capacity per trip, a
limit on reloads, the depot's service time and window for each reload) and clients with release
times (their trip leaves its depot no earlier). The solver against an exact enumeration of every
order and every way to split it into trips (``vrp_reference.exact_cost``), the C++ evaluator
against an independent simulation on random routes with reloads, closed forms, bad input, and
PyVRP's multi-trip VRPLIB fields.

Tolerances: costs 1e-6 relative to the exact optimum; schedules and totals 1e-9 against the
simulation (same arithmetic).
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from smartopt.dispatch import VehicleType, VRPProblem, evaluate_routes, read_vrplib, solve_vrp
from vrp_reference import assert_checked, check_route, exact_cost, multitrip_problem

ITERS = 3000


CASES = {
    "reloads": {},
    "two reload depots": {"n_clients": 5, "reload_depots": (0, 1)},
    "at most one reload": {"max_reloads": 1},
    "trips within a range": {"trip_range": 1.2},
    "windows, releases, reload time": {"windows": True, "release": True, "reload_s": 15.0},
}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("seed", range(3))
def test_tiny_multitrip_problems_reach_the_exact_optimum(case: str, seed: int) -> None:
    problem = multitrip_problem(seed, **CASES[case])  # type: ignore[arg-type]
    best = exact_cost(problem)
    result = solve_vrp(problem, seed=seed, max_iterations=ITERS)
    assert_checked(result, problem)
    assert result.feasible, result.violations()
    assert result.cost == pytest.approx(best, rel=1e-6)


def test_one_vehicle_shuttles_loads_it_cannot_carry_at_once() -> None:
    """Four unit loads on a line at 1..4 from the depot at 0, one vehicle of capacity 2: the
    optimum is two trips, 2 x 2 + 2 x 4 = 12, with one reload at the depot; without reloads two
    clients stay unserved."""
    xy = np.arange(5.0)
    dist = np.abs(xy[:, None] - xy[None, :])
    problem = VRPProblem(
        distance=dist, vehicle_types=[VehicleType(capacity=2, reload_depots=(0,))], demand=[0, 1, 1, 1, 1]
    )
    result = solve_vrp(problem, max_iterations=500)
    (route,) = result.routes
    assert result.feasible and result.cost == pytest.approx(12.0)
    assert route.reloads == 1 and route.max_load == 2
    trips = np.split(route.visits, np.flatnonzero(route.visits == 0))
    assert sorted(sorted(t[t != 0].tolist()) for t in trips) == [[1, 2], [3, 4]]
    frame = result.to_frame()
    assert frame["reload"].sum() == 1 and frame.loc[frame["reload"], "load_after"].item() == 2
    no_reload = VRPProblem(
        distance=dist,
        vehicle_types=[VehicleType(capacity=2, reload_depots=(0,), max_reloads=0)],
        demand=[0, 1, 1, 1, 1],
    )
    assert solve_vrp(no_reload, max_iterations=500).missing.size == 2


def test_release_times_and_reload_time_set_the_schedule() -> None:
    """Closed form (PyVRP gives the same): clients at 10 and 20 on a line (depot at 0), capacity 1,
    the second released at 100, loading takes 7. The shortest schedule starts as late as the
    release allows without a wait: loads 73-80, serves 10 at 90, reloads 100-107 (from the
    release), serves 20 at 127, is back at 147: duration 74."""
    xy = np.array([0.0, 10.0, 20.0])
    dist = np.abs(xy[:, None] - xy[None, :])
    problem = VRPProblem(
        distance=dist,
        vehicle_types=[VehicleType(capacity=1, reload_depots=(0,), unit_distance_cost=0, unit_duration_cost=1)],
        demand=[0, 1, 1],
        service=[7.0, 0.0, 0.0],
        release_time=[0.0, 0.0, 100.0],
    )
    result = evaluate_routes(problem, [(0, [1, 0, 2])])
    (route,) = result.routes
    assert result.feasible
    assert route.service_start.tolist() == [90.0, 100.0, 127.0]
    assert (route.start_time, route.end_time, route.duration) == (73.0, 147.0, 74.0)
    assert route.reloads == 1 and route.load.tolist() == [0.0, 1.0, 0.0]
    assert solve_vrp(problem, max_iterations=300).cost == pytest.approx(74.0)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(1, 8),
    windows=st.booleans(),
    release=st.booleans(),
    reload_s=st.sampled_from([0.0, 12.5]),
    trip_range=st.sampled_from([math.inf, 1.5]),
    data=st.data(),
)
def test_evaluator_agrees_with_the_simulation_on_routes_with_reloads(
    seed: int, n: int, windows: bool, release: bool, reload_s: float, trip_range: float, data: st.DataObject
) -> None:
    """Any order with reloads anywhere (empty trips included): distance, duration, feasibility and
    cost as the independent simulation finds them (trip lengths included)."""
    problem = multitrip_problem(
        seed,
        n,
        reload_depots=(0, 1),
        windows=windows,
        release=release,
        reload_s=reload_s,
        max_reloads=3,
        trip_range=trip_range,
    )
    order = data.draw(st.permutations(problem.clients.tolist()))
    visits: list[int] = []
    for c in order:
        visits += [*data.draw(st.lists(st.sampled_from([0, 1]), max_size=2)), c]
    visits += data.draw(st.lists(st.sampled_from([0, 1]), max_size=1))
    vt = problem.vehicle_types[0]
    ref = check_route(problem, vt, visits)
    (route,) = evaluate_routes(problem, [(0, visits)]).routes
    assert route.distance == pytest.approx(ref.distance, rel=1e-9, abs=1e-9)
    assert (not route.violations(problem)) == ref.feasible, (ref.reason, route.violations(problem))
    if ref.feasible:
        assert route.duration == pytest.approx(ref.duration, rel=1e-9, abs=1e-9)
        assert route.cost == pytest.approx(ref.cost, rel=1e-9, abs=1e-9)
    assert route.reloads == sum(1 for v in visits if v in (0, 1))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000), n=st.integers(1, 30), windows=st.booleans(), max_reloads=st.sampled_from([None, 0, 2])
)
def test_solver_gives_checked_multitrip_routes(seed: int, n: int, windows: bool, max_reloads: int | None) -> None:
    problem = multitrip_problem(seed, n, windows=windows, release=windows, reload_s=10.0, max_reloads=max_reloads)
    result = solve_vrp(problem, seed=seed, max_iterations=300)
    assert_checked(result, problem)
    visits = np.concatenate([r.visits for r in result.routes] + [result.unvisited])
    assert np.array_equal(np.sort(visits[problem.is_client[visits]]), problem.clients)
    assert result.feasible  # every client fits a vehicle of its own


def test_same_seed_same_multitrip_routes() -> None:
    problem = multitrip_problem(3, 40, windows=True, release=True, reload_s=10.0)
    a, b = (solve_vrp(problem, seed=5, max_iterations=400) for _ in range(2))
    assert a.cost == b.cost
    assert [r.visits.tolist() for r in a.routes] == [r.visits.tolist() for r in b.routes]


@pytest.mark.parametrize("depot", [2, 9])
def test_bad_reload_depots_name_the_field(depot: int) -> None:
    with pytest.raises(ValueError, match=rf"reload_depots: location {depot} is not a depot"):
        VRPProblem(distance=np.ones((3, 3)) - np.eye(3), vehicle_types=[VehicleType(reload_depots=(depot,))])


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"reload_depots": (0, 0)}, "lists a depot twice"),
        ({"reload_depots": (-1,)}, "must hold locations"),
        ({"reload_depots": (True,)}, "must hold locations"),
        ({"reload_depots": "0"}, "must be a sequence"),
        ({"max_reloads": -1}, "max_reloads must be None or an int"),
        ({"max_reloads": 1.5}, "max_reloads must be None or an int"),
        ({"max_trip_distance": -1.0}, "max_trip_distance must be >= 0"),
        ({"max_trip_distance": math.nan}, "max_trip_distance must be a finite number"),
    ],
)
def test_bad_reload_fields(kw: dict[str, object], match: str) -> None:
    with pytest.raises((ValueError, TypeError), match=match):
        VehicleType(**kw)  # type: ignore[arg-type]


def test_routes_reload_only_where_their_vehicle_may() -> None:
    problem = VRPProblem(
        distance=np.ones((4, 4)) - np.eye(4),
        depots=[0, 1],
        vehicle_types=[VehicleType(reload_depots=(0,))],
        release_time=[0, 0, 0, 5],
    )
    with pytest.raises(ValueError, match="not a client nor a reload depot"):
        evaluate_routes(problem, [(0, [2, 1, 3])])
    with pytest.raises(ValueError, match="does not model reloads, trip limits or release times"):
        solve_vrp(problem, time_limit_s=1, solver="ortools")
    with pytest.raises(ValueError, match="release_time"):
        VRPProblem(distance=np.ones((2, 2)), vehicle_types=[VehicleType()], release_time=[0, -1])


MULTITRIP_VRPLIB = """NAME : tiny-mt
TYPE : VRPTW
DIMENSION : 4
VEHICLES : 2
CAPACITY : 2
VEHICLES_MAX_RELOADS : 1
EDGE_WEIGHT_TYPE : EUC_2D
NODE_COORD_SECTION
1 0 0
2 3 4
3 6 8
4 0 5
DEMAND_SECTION
1 0
2 1
3 1
4 2
SERVICE_TIME_SECTION
1 5
2 1
3 1
4 1
TIME_WINDOW_SECTION
1 0 1000
2 0 1000
3 0 1000
4 0 1000
RELEASE_TIME_SECTION
1 0
2 0
3 30
4 0
VEHICLES_RELOAD_DEPOT_SECTION
1 1
2 1
DEPOT_SECTION
1
-1
EOF
"""


def test_pyvrp_multitrip_fields_are_read(tmp_path: Path) -> None:
    """PyVRP's multi-trip instances (MTVRPTWR): reload depots and the reload limit per vehicle, release
    times; the depot's service row is ignored, as PyVRP's reader ignores it."""
    path = tmp_path / "tiny-mt.vrp"
    path.write_text(MULTITRIP_VRPLIB)
    problem = read_vrplib(path, round_func="none")
    (vt,) = problem.vehicle_types
    assert (vt.count, vt.reload_depots, vt.max_reloads, vt.capacity) == (2, (0,), 1, 2)
    assert problem.release_time.tolist() == [0, 0, 30, 0] and problem.service.tolist() == [0, 1, 1, 1]
    # one vehicle: 1 and 2 on one trip, a reload (5), 3 after it: the best-known format lists it
    result = evaluate_routes(problem, [(0, [1, 2, 0, 3])])
    assert result.feasible and result.routes[0].reloads == 1
    solved = solve_vrp(problem, max_iterations=500)
    assert solved.feasible and solved.cost == pytest.approx(exact_cost(problem), rel=1e-6)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n=st.integers(1, 7), data=st.data())
def test_routes_with_reloads_score_as_pyvrp_scores_them(seed: int, n: int, data: st.DataObject) -> None:
    """PyVRP's own evaluation of the same multi-trip routes (integer data, its Route on activities):
    distance, feasibility (time warp, load per trip), and the duration of feasible routes (loading at
    each trip's start, waits for releases and windows included)."""
    pyvrp = pytest.importorskip("pyvrp")
    rng = np.random.default_rng(seed)
    num = 2 + n
    xy = rng.integers(0, 60, (num, 2))
    dist = np.rint(np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))).astype(int)
    demand = np.r_[0, 0, rng.integers(1, 6, n)]
    service = np.r_[rng.integers(0, 8, 2), rng.integers(0, 5, n)]
    early = np.r_[0, rng.integers(0, 60, 1), rng.integers(0, 150, n)]
    late = early + np.r_[10**6, rng.integers(20, 200, 1), rng.integers(10, 120, n)]
    release = np.r_[0, 0, rng.integers(0, 120, n) * (rng.random(n) < 0.5)]
    late[2:] = np.maximum(late[2:], release[2:] + service[0] + dist[0, 2:] + 5)  # each client servable alone
    shift_end = int(rng.integers(600, 900))
    problem = VRPProblem(
        distance=dist.astype(float),
        depots=[0, 1],
        vehicle_types=[VehicleType(capacity=8, reload_depots=(0, 1), shift_end=shift_end)],
        demand=demand.astype(float),
        service=service.astype(float),
        tw_early=early.astype(float),
        tw_late=late.astype(float),
        release_time=release.astype(float),
    )
    order = data.draw(st.permutations(list(range(2, num))))
    visits: list[int] = []
    for c in order:
        visits += [*data.draw(st.lists(st.sampled_from([0, 1]), max_size=1)), c]
    (ours,) = evaluate_routes(problem, [(0, visits)]).routes
    pv = pyvrp.ProblemData(
        locations=[pyvrp.Location(x=int(x), y=int(y)) for x, y in xy],
        clients=[
            pyvrp.Client(
                location=c,
                delivery=[int(demand[c])],
                service_duration=int(service[c]),
                tw_early=int(early[c]),
                tw_late=int(late[c]),
                release_time=int(release[c]),
            )
            for c in range(2, num)
        ],
        depots=[
            pyvrp.Depot(location=d, tw_early=int(early[d]), tw_late=int(late[d]), service_duration=int(service[d]))
            for d in (0, 1)
        ],
        vehicle_types=[pyvrp.VehicleType(1, capacity=[8], reload_depots=[0, 1], tw_late=shift_end)],
        distance_matrices=[dist],
        duration_matrices=[dist],
    )
    kind = pyvrp.ActivityType
    acts = [pyvrp.Activity(kind.DEPOT, v) if v < 2 else pyvrp.Activity(kind.CLIENT, v - 2) for v in visits]
    theirs = pyvrp.Route(pv, acts, 0)
    assert ours.distance == theirs.distance()
    assert (not ours.violations(problem)) == theirs.is_feasible(), (ours.violations(problem), theirs.time_warp())
    if theirs.is_feasible():
        assert ours.duration == theirs.duration()


@pytest.mark.parametrize(
    "initial", [[(0, [0]), (1, [1, 2, 3])], [(0, [0, 1, 2, 3])], [(0, [1, 0, 0, 2, 3])], [(0, [1, 2, 3, 0])]]
)
def test_warm_starts_lose_reloads_that_start_empty_trips(initial: list[tuple[int, list[int]]]) -> None:
    """A warm start's reload right after the start, after another reload or before the end starts an
    empty trip: it goes (a route of reloads alone would keep its fixed cost for good)."""
    x = np.array([0.0, 10, 20, 30])
    problem = VRPProblem(
        distance=np.abs(x[:, None] - x[None, :]),
        vehicle_types=[VehicleType(count=2, capacity=10, fixed_cost=100, reload_depots=(0,))],
        demand=[0, 1, 1, 1],
    )
    result = solve_vrp(problem, initial=initial, max_iterations=300)
    assert result.cost == pytest.approx(160.0) and [r.reloads for r in result.routes] == [0]


def paired_problem(seed: int, *, ride_limits: bool = False) -> VRPProblem:
    """Two pickup-and-delivery pairs and two deliveries from the depot, vehicles of capacity 3 that
    cost 1,000 each and may reload at the depot: a pair rides within one trip."""
    rng = np.random.default_rng(seed)
    n = 7
    xy = rng.uniform(0, 100, (n, 2))
    dist = np.round(np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1)), 1)
    return VRPProblem(
        distance=dist,
        vehicle_types=(VehicleType(count=3, capacity=3, fixed_cost=1000, reload_depots=(0,)),),
        demand=[0, 0, 0, 0, 0, 2, 2],
        pairs=[[1, 2], [3, 4]],
        pair_load=rng.integers(1, 3, 2).astype(float),
        max_ride=np.full(2, 150.0) if ride_limits else None,
        release_time=[0, 0, 0, 0, 0, 0, 40.0],
    )


@pytest.mark.parametrize("ride_limits", [False, True])
@pytest.mark.parametrize("seed", range(3))
def test_pairs_ride_within_one_trip_and_reach_the_exact_optimum(seed: int, ride_limits: bool) -> None:
    problem = paired_problem(seed, ride_limits=ride_limits)
    best = exact_cost(problem)
    result = solve_vrp(problem, seed=seed, max_iterations=ITERS)
    assert_checked(result, problem)
    assert result.feasible and result.cost == pytest.approx(best, rel=1e-6)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), data=st.data())
def test_a_reload_while_a_pair_rides_splits_it(seed: int, data: st.DataObject) -> None:
    """Any order of the stops with reloads anywhere: the evaluator and the simulation agree, and a
    reload between a pickup and its delivery makes the route infeasible."""
    problem = paired_problem(seed)
    order = data.draw(st.permutations(problem.clients.tolist()))
    visits: list[int] = []
    for c in order:
        visits += [*data.draw(st.lists(st.just(0), max_size=1)), c]
    ref = check_route(problem, problem.vehicle_types[0], visits)
    (route,) = evaluate_routes(problem, [(0, visits)]).routes
    assert (not route.violations(problem)) == ref.feasible, (ref.reason, route.violations(problem))
    trip = np.cumsum(np.asarray(visits) == 0)
    at = {c: trip[k] for k, c in enumerate(visits)}
    split = any(at[p] != at[d] for p, d in problem.pairs.tolist())
    assert not (split and ref.feasible)
    assert route.distance == pytest.approx(ref.distance, rel=1e-9, abs=1e-9)


def test_district_shuttles_recharge_between_runs() -> None:
    """The district's booked trips with a tenth of the shuttles' battery (11 kWh x 0.9 at
    0.45 kWh/km: 22 km): a shuttle that may return to its depot's 60 kW charger between runs
    (11 x 0.9 / 60 h = 594 s, no rider on board) drives each run within its range and serves
    every booking with fewer shuttles than one whose range must last the day."""
    from smartopt.datasets import sejong_5_1
    from smartopt.dispatch.shuttles import booked_trips, trip_summary

    district = sejong_5_1(seed=0)
    fleet = replace(district.fleet, vehicle_battery_kwh=district.fleet.vehicle_battery_kwh / 10)
    summaries = {}
    for recharge in (False, True):
        trips = booked_trips(district.network, fleet, district.requests, share=0.15, recharge=recharge)
        p = trips.problem
        result = solve_vrp(p, max_iterations=1500, seed=0)
        assert result.feasible, result.violations()
        summaries[recharge] = trip_summary(trips, result)
        for vt in p.vehicle_types:
            assert (vt.max_trip_distance if recharge else vt.max_distance) == pytest.approx(22_000.0)
            assert all(r.longest_trip <= min(vt.max_trip_distance, vt.max_distance) + 1e-6 for r in result.routes)
            for d in vt.reload_depots:  # the charger: at the depot's node, 594 s to recharge
                assert trips.node[d] == trips.node[vt.start] and p.service[d] == pytest.approx(594.0)
                assert trips.booking[d] == -1
        assert p.service[p.depots].tolist().count(0.0) == fleet.depot_node.size  # no recharge at the start
    plain, recharged = summaries[False], summaries[True]
    assert recharged["served"] == plain["served"] == plain["bookings"]
    assert recharged["shuttles_used"] < plain["shuttles_used"]
    assert plain["recharges"] == 0 < recharged["recharges"]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.sampled_from([0.0, 5.0, 22.0, 60.0]), min_size=1, max_size=6).filter(any),
    st.just(0.0) | st.floats(0.01, 400.0),
)
@example([22.0, 0.0, 60.0], 10.0)  # the worst start ends just past the slot of no power
@example([0.0, 60.0, 22.0, 22.0], 242.607)  # across midnight
@example([30.0, 0.0, 60.0], 20.0)
def test_a_recharge_lasts_its_worst_start_of_the_day(power: list[float], energy_kwh: float) -> None:
    """The recharge time against a step-by-step charge from each of 600 starts per slot: never
    shorter than any (1e-6 s), and as long as the worst within a step."""
    from smartopt.dispatch.shuttles import worst_charge_time_s

    slot_s, step_s = 3_600.0, 6.0
    kw = np.tile(power, 2 + int(energy_kwh // (sum(power) or 1.0)))
    got = worst_charge_time_s(np.array(power), slot_s, energy_kwh)
    per_step = np.repeat(kw, int(slot_s / step_s)) * step_s / 3_600.0
    done = np.concatenate([[0.0], np.cumsum(per_step)])
    worst = 0.0
    for start in range(int(len(power) * slot_s / step_s)):
        end = np.searchsorted(done, done[start] + energy_kwh - 1e-9)
        worst = max(worst, (end - start) * step_s)
    assert got >= worst - 2 * step_s - 1e-6  # the grid rounds each end up to a step
    assert got <= worst + step_s + 1e-6
    assert worst_charge_time_s(np.array(power), slot_s, 1e9) == math.inf  # more than a year


def test_booked_trips_group_shuttles_by_kind_and_recharge_only_at_a_charger() -> None:
    """Shuttles of one depot with different batteries are different vehicle types (each with its
    own range and recharge time); a depot with no charger at its node gives no recharge."""
    from smartopt.datasets import sejong_5_1
    from smartopt.dispatch.shuttles import booked_trips

    district = sejong_5_1(seed=0)
    fleet = district.fleet
    assert (fleet.vehicle_kwh_per_km == 0.45).all() and (fleet.vehicle_soc0 == 0.9).all()
    battery = np.where(np.arange(fleet.num_vehicles) % 3 == 0, 50.0, fleet.vehicle_battery_kwh)
    at_first = fleet.charger_node == fleet.depot_node[0]  # keep only the first depot's chargers
    mixed = replace(
        fleet,
        vehicle_battery_kwh=battery,
        charger_node=fleet.charger_node[at_first],
        charger_kw=fleet.charger_kw[at_first],
        charger_bus=fleet.charger_bus[at_first],
    )
    trips = booked_trips(district.network, mixed, district.requests, share=0.02, recharge=True)
    p = trips.problem
    expected = {}
    for v in range(fleet.num_vehicles):
        key = (int(fleet.vehicle_depot[v]), float(battery[v]))
        expected[key] = expected.get(key, 0) + 1
    got = {}
    for vt in p.vehicle_types:
        range_m = vt.max_trip_distance if vt.reload_depots else vt.max_distance
        kwh = range_m / 1000.0 * 0.45 / 0.9  # the battery
        got[(vt.start, round(kwh, 6))] = vt.count
        if vt.start == 0:  # 60 kW at the first depot
            (charger,) = vt.reload_depots
            assert p.service[charger] == pytest.approx(3600.0 * kwh * 0.9 / 60.0)
        else:
            assert vt.reload_depots == () and vt.max_trip_distance == math.inf
    assert got == expected
    assert sorted(trips.vehicle.tolist()) == list(range(fleet.num_vehicles))  # the fleet's, type by type
    for k, vt in enumerate(p.vehicle_types):
        mine = trips.vehicle[sum(t.count for t in p.vehicle_types[:k]) :][: vt.count]
        assert (fleet.vehicle_depot[mine] == vt.start).all()
