"""Time-dependent travel times in routing: arc times per period (Ichoua, Gendreau and Potvin's
model: a vehicle crossing into the next period drives the rest of its arc at the new speed). The
compiled arrival times against the arc's cumulative progress function (``vrp_reference.td_arrival``),
leaving later never arriving earlier, the evaluator against an independent simulation (arrival
times, waiting, the latest start that keeps the earliest end found by bisection), the solver
against an exact enumeration, and bad input.

Tolerances: arrival times 1e-9 relative (two formulations of the same piecewise-linear function);
costs 1e-6 relative to the exact optimum; schedules and totals 1e-7 against the simulation (its
bisection stops at 1e-10 relative).
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartopt.app.district import District
from smartopt.dispatch import VehicleType, VRPProblem, evaluate_routes, solve_vrp
from vrp_reference import assert_checked, check_route, exact_cost, multitrip_problem, td_arrival

ITERS = 3000
STARTS = np.array([0.0, 150.0, 300.0, 450.0])
"""A morning: free flow, a rush hour (arcs 1.6-2.6 times slower), a shoulder, free flow again."""


RUSH = 2.6
"""The largest slow-down."""


def with_periods(problem: VRPProblem, seed: int, starts: np.ndarray = STARTS, *, per_arc: bool = False) -> VRPProblem:
    """``problem`` with its durations slowed in the rush hour (period 1) by a factor in [1.6, 2.6],
    half as much in the shoulder (period 2), not before and after: one factor per period (the
    times stay metric, so taking a stop out never makes a route later), or with ``per_arc`` one per
    arc. Windows that close widen to RUSH x the drive from the depot + 250 (``multitrip_problem``'s
    margin): each client stays servable alone."""
    rng = np.random.default_rng(seed)
    base = problem.duration
    factors = [np.ones_like(base)]
    factors.append(rng.uniform(1.6, 2.6, base.shape if per_arc else ()) * np.ones_like(base))
    factors.append(1 + 0.5 * (factors[1] - 1))
    factors += [np.ones_like(base)] * (len(starts) - 3)
    periods = np.stack([base * f for f in factors[: len(starts)]])
    tw_late = np.maximum(problem.tw_late, RUSH * base[0, 0] + 250)
    return replace(problem, duration=None, period_start=starts, period_duration=periods, tw_late=tw_late)


def two_locations(times: list[float], starts: list[float]) -> VRPProblem:
    """A depot and one client; the arc from the depot takes times[k] at period k's speed."""
    periods = np.array([[[0.0, t], [t, 0.0]] for t in times])
    return VRPProblem(
        distance=[[0.0, 1.0], [1.0, 0.0]], vehicle_types=[VehicleType()], period_start=starts, period_duration=periods
    )


def period_strategy(min_time: float) -> st.SearchStrategy[tuple[list[float], list[float]]]:
    return st.integers(1, 5).flatmap(
        lambda k: st.tuples(
            st.lists(st.floats(min_time, 500.0), min_size=k, max_size=k),
            st.lists(st.floats(0.0, 2_000.0), min_size=k, max_size=k, unique=True).map(sorted),
        )
    )


@settings(max_examples=200, deadline=None)
@given(periods=period_strategy(0.5), departs=st.lists(st.floats(-500.0, 3_000.0), min_size=1, max_size=20))
def test_arrival_times_follow_the_progress_function(
    periods: tuple[list[float], list[float]], departs: list[float]
) -> None:
    times, starts = periods
    problem = two_locations(times, starts)
    got = problem.arrival_time(0, 1, departs)
    want = [td_arrival(np.array(starts), np.array(times), t) for t in departs]
    assert got == pytest.approx(want, rel=1e-9, abs=1e-9)


@settings(max_examples=200, deadline=None)
@given(periods=period_strategy(1e-3), departs=st.lists(st.floats(-500.0, 3_000.0), min_size=2, max_size=30))
def test_leaving_later_never_arrives_earlier(periods: tuple[list[float], list[float]], departs: list[float]) -> None:
    """FIFO, also with speeds that differ 500,000-fold between periods; a drive takes between the
    fastest and the slowest period's time."""
    times, starts = periods
    problem = two_locations(times, starts)
    t = np.sort(np.array(departs))
    arrive = problem.arrival_time(0, 1, t)
    assert (np.diff(arrive) >= -1e-9 * np.maximum(1.0, np.abs(arrive[1:]))).all()
    assert (arrive - t >= min(times) - 1e-9 * np.maximum(1.0, np.abs(t))).all()
    assert (arrive - t <= max(times) + 1e-9 * np.maximum(1.0, np.abs(t))).all()
    assert problem.arrival_time(1, 1, t) == pytest.approx(t)  # the diagonal takes no time


def test_a_drive_that_crosses_into_the_rush_hour() -> None:
    """Closed form: an arc of 100 s at free flow and 200 s in the rush hour from t = 50. Leaving at
    0, half of it is driven by 50 and the other half takes 100 s more: arrival 150; leaving at
    100, all of it in the rush hour: 300. Leaving at 50 before a period at 80 of 100 s again:
    30 s cover 15 %, the rest takes 85 s: arrival 165."""
    assert two_locations([100.0, 200.0], [0.0, 50.0]).arrival_time(0, 1, [0.0, 100.0]).tolist() == [150.0, 300.0]
    three = two_locations([100.0, 200.0, 100.0], [0.0, 50.0, 80.0])
    assert three.arrival_time(0, 1, 50.0) == pytest.approx(165.0)
    assert three.arrival_time(1, 0, [[10.0, 20.0]]).shape == (1, 2)


def routes_of(problem: VRPProblem, data: st.DataObject, reloads: bool) -> list[int]:
    order = data.draw(st.permutations(problem.clients.tolist()))
    visits: list[int] = []
    for c in order:
        visits += [*(data.draw(st.lists(st.just(0), max_size=1)) if reloads else []), c]
    return visits


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(1, 7),
    windows=st.booleans(),
    release=st.booleans(),
    reloads=st.booleans(),
    data=st.data(),
)
def test_evaluator_agrees_with_the_simulation(
    seed: int, n: int, windows: bool, release: bool, reloads: bool, data: st.DataObject
) -> None:
    """Any order (with reloads anywhere): feasibility, duration and cost as the independent
    simulation finds them, and every arrival as the progress function gives it from the route's
    start (waiting for windows and releases)."""
    problem = with_periods(
        multitrip_problem(seed, n, windows=windows, release=release, reload_s=10.0), seed, per_arc=True
    )
    visits = routes_of(problem, data, reloads)
    vt = problem.vehicle_types[0]
    ref = check_route(problem, vt, visits)
    (route,) = evaluate_routes(problem, [(0, visits)]).routes
    assert (not route.violations(problem)) == ref.feasible, (ref.reason, route.violations(problem))
    if ref.feasible:
        assert route.duration == pytest.approx(ref.duration, rel=1e-7, abs=1e-7)
        assert route.cost == pytest.approx(ref.cost, rel=1e-7, abs=1e-7)
    # the schedule, walked from its start through the progress function
    period = problem.period_duration[:, vt.profile]
    clock, prev = route.start_time + problem.service[vt.start], vt.start  # (the start waits for releases)
    for k, c in enumerate(visits):
        clock = td_arrival(problem.period_start, period[:, prev, c], clock)
        assert route.arrival[k] == pytest.approx(clock, rel=1e-9, abs=1e-9)
        clock = route.service_start[k] + problem.service[c]
        prev = c
    assert route.end_time == pytest.approx(td_arrival(problem.period_start, period[:, prev, vt.end], clock), rel=1e-9)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 7), windows=st.booleans(), data=st.data())
def test_the_same_times_in_every_period_are_the_static_problem(
    seed: int, n: int, windows: bool, data: st.DataObject
) -> None:
    """Periods that all hold the static matrix schedule every feasible route as the static
    evaluator does: the latest start that keeps the earliest end is the start of the shortest
    schedule."""
    static = multitrip_problem(seed, n, windows=windows, release=windows, reload_s=10.0)
    periods = replace(
        static, duration=None, period_start=STARTS, period_duration=np.stack([static.duration] * STARTS.size)
    )
    visits = routes_of(static, data, True)
    (a,) = evaluate_routes(static, [(0, visits)]).routes
    (b,) = evaluate_routes(periods, [(0, visits)]).routes
    if a.violations(static):
        assert b.violations(periods)
        return
    for field in ("start_time", "end_time", "duration", "cost"):
        assert getattr(b, field) == pytest.approx(getattr(a, field), rel=1e-9, abs=1e-9), field
    assert b.arrival == pytest.approx(a.arrival, rel=1e-9, abs=1e-9)
    assert b.service_start == pytest.approx(a.service_start, rel=1e-9, abs=1e-9)


CASES = {
    "windows": {"windows": True},
    "windows, releases, reloads": {"windows": True, "release": True, "reload_s": 15.0},
}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("seed", range(3))
def test_tiny_time_dependent_problems_reach_the_exact_optimum(case: str, seed: int) -> None:
    problem = with_periods(multitrip_problem(seed, **CASES[case]), seed)  # type: ignore[arg-type]
    best = exact_cost(problem)
    result = solve_vrp(problem, seed=seed, max_iterations=ITERS)
    assert_checked(result, problem)
    assert result.cost == pytest.approx(best, rel=1e-6)


def pair_problem(seed: int, n_pairs: int, detour: float) -> VRPProblem:
    """Rides between random points from one depot, booked in a window, each within ``detour`` times
    its direct drive in the rush hour plus 30."""
    rng = np.random.default_rng(seed)
    n = 1 + 2 * n_pairs
    xy = rng.uniform(0, 100, (n, 2))
    dist = np.round(np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1)), 1)
    tw_early = np.r_[0.0, rng.uniform(0, 400, 2 * n_pairs)]
    tw_early[2::2] = tw_early[1::2]  # a drop-off opens with its pickup
    tw_late = tw_early + 400
    tw_late[0] = math.inf
    static = VRPProblem(
        distance=dist,
        vehicle_types=[VehicleType(count=n_pairs, capacity=2, fixed_cost=500)],
        pairs=np.arange(1, n).reshape(-1, 2),
        max_ride=detour * RUSH * dist[1::2, 2::2].diagonal() + 30,
        service=np.r_[0.0, np.full(2 * n_pairs, 5.0)],
        tw_early=tw_early,
        tw_late=tw_late,
    )
    return with_periods(static, seed)


@pytest.mark.parametrize("seed", range(3))
def test_rides_under_time_dependent_travel_reach_the_exact_optimum(seed: int) -> None:
    problem = pair_problem(seed, 3, 1.0)
    result = solve_vrp(problem, seed=seed, max_iterations=ITERS)
    assert_checked(result, problem)
    assert result.cost == pytest.approx(exact_cost(problem), rel=1e-6)


def test_a_ride_that_fits_by_leaving_into_the_faster_period() -> None:
    """Closed form: the ride from 1 to 2 takes 100 s before t = 100 and 50 s after, within 60 s.
    Picked up at p < 100 the rider arrives at 100 + p / 2, so the ride fits from p = 80 on
    (drop-off at 140); each delay of the pickup delays the drop-off by half as much, so the
    schedule needs more passes than it has stops to settle."""
    rides = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 100.0], [0.0, 100.0, 0.0]])
    problem = VRPProblem(
        distance=rides, vehicle_types=[VehicleType()], pairs=[[1, 2]], max_ride=[60.0],
        period_start=[0.0, 100.0], period_duration=[rides, rides / 2],
    )  # fmt: skip
    (route,) = evaluate_routes(problem, [(0, [1, 2])]).routes
    assert not route.violations(problem)
    assert route.service_start == pytest.approx([80.0, 140.0], abs=1e-6)
    assert solve_vrp(problem, max_iterations=100).feasible


@pytest.mark.parametrize("jump", [0.0, 5.0])
def test_an_arc_that_takes_time_in_some_periods_only_is_refused(jump: float) -> None:
    times = np.array([[[0.0, 1.0], [1.0, 0.0]], [[0.0, jump], [1.0, 0.0]]])
    fields = {"distance": np.ones((2, 2)), "vehicle_types": [VehicleType()], "period_start": [0.0, 10.0]}
    if jump:
        assert VRPProblem(**fields, period_duration=times).time_dependent  # type: ignore[arg-type]
    else:
        with pytest.raises(ValueError, match=r"from 0 to 1 .* takes time in every period or in none"):
            VRPProblem(**fields, period_duration=times)  # type: ignore[arg-type]


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n=st.integers(1, 30), windows=st.booleans(), pairs=st.booleans())
def test_solver_gives_checked_time_dependent_routes(seed: int, n: int, windows: bool, pairs: bool) -> None:
    problem = (
        pair_problem(seed, max(n // 3, 1), 1.2)
        if pairs
        else with_periods(multitrip_problem(seed, n, windows=windows, release=windows, reload_s=10.0), seed)
    )
    result = solve_vrp(problem, seed=seed, max_iterations=300)
    assert_checked(result, problem)
    assert result.feasible, result.violations()


def test_the_static_plan_is_late_in_the_rush_hour() -> None:
    """Clients with tight windows during a rush hour: the plan made on free-flow times misses
    windows when driven at the real speeds; the plan made on the periods keeps every one."""
    static = multitrip_problem(4, 7, windows=True)
    problem = with_periods(static, 4)
    plan = solve_vrp(static, max_iterations=ITERS)
    retimed = evaluate_routes(problem, [(r.vehicle, r.visits) for r in plan.routes])
    timed = solve_vrp(problem, max_iterations=ITERS)
    assert plan.feasible and timed.feasible and not retimed.feasible
    assert sum(r.time_warp for r in retimed.routes) > 0


def test_same_seed_same_time_dependent_routes() -> None:
    problem = with_periods(multitrip_problem(7, 12, windows=True, release=True, reload_s=5.0), 7)
    a, b = (solve_vrp(problem, seed=3, max_iterations=500) for _ in range(2))
    assert [r.visits.tolist() for r in a.routes] == [r.visits.tolist() for r in b.routes] and a.cost == b.cost


def test_periods_round_trip_and_show() -> None:
    problem = with_periods(multitrip_problem(0, 4), 0)
    back = VRPProblem.from_dict(problem.to_dict())
    assert np.array_equal(back.period_duration, problem.period_duration) and back.time_dependent
    assert "travel times in 4 periods" in repr(problem)
    assert np.array_equal(problem.duration, problem.period_duration.min(axis=0))


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"period_start": [0.0, 10.0]}, "go together"),
        ({"period_start": [10.0, 0.0], "period_duration": np.ones((2, 3, 3))}, "increasing"),
        ({"period_start": [0.0, 0.0], "period_duration": np.ones((2, 3, 3))}, "increasing"),
        ({"period_start": [0.0, math.nan], "period_duration": np.ones((2, 3, 3))}, "period_start"),
        ({"period_start": [-1.0], "period_duration": np.ones((1, 3, 3))}, "period_start"),
        ({"period_start": [0.0, 5.0], "period_duration": np.ones((3, 3, 3))}, "period_duration must have shape"),
        ({"period_start": [0.0], "period_duration": np.ones((1, 2, 2))}, "period_duration must have shape"),
        ({"period_start": [0.0], "period_duration": -np.ones((1, 3, 3))}, "period_duration"),
        ({"period_start": [0.0], "period_duration": np.full((1, 3, 3), math.inf)}, "period_duration"),
        ({"period_start": [0.0], "period_duration": np.ones((1, 3, 3)), "duration": np.zeros((3, 3))}, "leave it out"),
    ],
)
def test_bad_periods_are_refused_by_name(fields: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        VRPProblem(distance=np.ones((3, 3)), vehicle_types=[VehicleType()], **fields)  # type: ignore[arg-type]


def test_bad_arrival_queries_are_refused_by_name() -> None:
    problem = two_locations([10.0, 20.0], [0.0, 5.0])
    with pytest.raises(ValueError, match="origin"):
        problem.arrival_time(2, 0, 0.0)
    with pytest.raises(ValueError, match="destination"):
        problem.arrival_time(0, 0.5, 0.0)
    with pytest.raises(ValueError, match="profile"):
        problem.arrival_time(0, 1, 0.0, profile=1)
    with pytest.raises(ValueError, match="NaN"):
        problem.arrival_time(0, 1, math.nan)
    assert problem.arrival_time(0, 1, [math.inf, -math.inf]).tolist() == [math.inf, -math.inf]


def test_ortools_refuses_periods() -> None:
    with pytest.raises(ValueError, match="time-dependent"):
        solve_vrp(two_locations([1.0, 2.0], [0.0, 1.0]), time_limit_s=1, solver="ortools")


def test_the_district_s_booked_trips_on_the_signal_plans_times(district: District) -> None:
    """The booked trips take the day's travel times as simulate does (free flow before the first
    entry): the plan keeps every booking's window and ride promise at those times, which the plan
    made at free flow does not."""
    from smartopt.app.coupling import district_time_of_day
    from smartopt.dispatch.shuttles import booked_trips, trip_summary
    from smartopt.signals.timing import optimize_fixed_time

    plans = {p: optimize_fixed_time(district.intersections, k) for k, p in enumerate(district.periods)}
    time_of_day = district_time_of_day(district, plans)
    free = booked_trips(district.network, district.fleet, district.requests, share=0.05)
    timed = booked_trips(district.network, district.fleet, district.requests, share=0.05, time_of_day=time_of_day)
    starts = [0.0] + [t for t, _ in time_of_day]
    assert timed.problem.period_start.tolist() == starts
    nodes = timed.node
    assert np.array_equal(timed.problem.period_duration[0, 0], free.problem.duration[0])
    assert np.array_equal(timed.problem.period_duration[1, 0], time_of_day[0][1].times(nodes, nodes))
    plan = solve_vrp(timed.problem, max_iterations=500)
    assert plan.feasible and trip_summary(timed, plan)["on_time_rate"] == 1.0
    assert_checked(plan, timed.problem)
    at_free_flow = solve_vrp(free.problem, max_iterations=500)
    driven = evaluate_routes(timed.problem, [(r.vehicle, r.visits) for r in at_free_flow.routes])
    assert not driven.feasible and trip_summary(timed, driven)["on_time_rate"] < 1.0


def test_booked_trips_refuse_spaces_of_other_places(district: District) -> None:
    from smartopt.dispatch import TravelSpace
    from smartopt.dispatch.shuttles import booked_trips

    args = (district.network, district.fleet, district.requests)
    with pytest.raises(ValueError, match=r"time_of_day\[0\]: .* not a space of the network's"):
        booked_trips(*args, time_of_day=[(3600.0, TravelSpace.plane(district.network.node_xy, speed_mps=10.0))])
    with pytest.raises(ValueError, match=r"time_of_day\[1\]: start_s"):
        space = TravelSpace.from_network(district.network)
        booked_trips(*args, time_of_day=[(3600.0, space), (3600.0, space)])


def test_a_network_s_link_times_per_period() -> None:
    """``on_network`` with ``period_start``: each period's travel times are the fastest paths at
    that period's link times (here a rush hour that doubles every second link), so a drive
    that starts in free flow and ends in the rush hour arrives as the periods say; bad shapes
    are refused by name."""
    from smartopt.datasets.grid import grid_network

    net = grid_network(4, 4)
    free = net.link_time_s
    rush = free * np.where(np.arange(net.num_links) % 2 == 0, 2.0, 1.0)
    nodes = np.array([0, 5, 15, 10])
    types = [VehicleType(count=2)]
    problem = VRPProblem.on_network(net, nodes, types, link_time_s=np.stack([free, rush]), period_start=[0.0, 3600.0])
    for k, times in enumerate((free, rush)):
        expected = net.travel_time_matrix(nodes, nodes, link_time_s=times)
        assert np.allclose(problem.period_duration[k, 0], expected, rtol=1e-12)
    static = VRPProblem.on_network(net, nodes, types)
    assert np.array_equal(problem.distance, static.distance)
    assert np.array_equal(problem.duration[0], np.minimum(*problem.period_duration[:, 0]))
    free_s, rush_s = (problem.period_duration[k, 0, 0, 2] for k in range(2))
    assert rush_s > free_s
    assert problem.arrival_time(0, 2, 0.0) == pytest.approx(free_s)
    assert problem.arrival_time(0, 2, 3600.0) == pytest.approx(3600.0 + rush_s)
    depart = 3600.0 - free_s / 2  # half way in free flow, the rest at the rush hour's speed
    assert problem.arrival_time(0, 2, depart) == pytest.approx(3600.0 + rush_s / 2)
    assert solve_vrp(problem, max_iterations=100).feasible
    for bad in (None, free, np.stack([free])):
        with pytest.raises(ValueError, match=r"link_time_s must hold one row of link times per period"):
            VRPProblem.on_network(net, nodes, types, link_time_s=bad, period_start=[0.0, 3600.0])
    with pytest.raises(ValueError, match="give no duration or period_duration"):
        VRPProblem.on_network(
            net, nodes, types, link_time_s=np.stack([free, rush]), period_start=[0.0, 1.0], duration=static.duration
        )
    with pytest.raises(ValueError, match="period_start must list one or more increasing times"):
        VRPProblem.on_network(net, nodes, types, link_time_s=np.stack([free, rush]), period_start=[5.0, 1.0])
    with pytest.raises(ValueError, match="period_start must list one or more increasing times, got none"):
        VRPProblem.on_network(net, nodes, types, link_time_s=np.zeros((0, net.num_links)), period_start=[])
    with pytest.raises(ValueError, match=r"link_time_s.*\(period 1\)"):
        VRPProblem.on_network(net, nodes, types, link_time_s=np.stack([free, -rush]), period_start=[0.0, 1.0])
