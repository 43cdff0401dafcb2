"""Runs that repeat: every search the district day runs gives the same result for a seed on a work
budget (iterations, evaluations, nodes, deterministic time), again and on 1 or 2 threads; the
wall-clock limits are optional; and the budgets' bad values name the field.

Results are compared exactly (the same arithmetic in the same order); no test looks at the clock.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import fields
from importlib import import_module
from typing import Any

import numba
import numpy as np
import pytest

from pooling_reference import packing_score, trips_of
from smartopt._core import _phases
from smartopt.app.district import District
from smartopt.dispatch import Policy, VehicleType, VRPProblem, VRPResult, simulate, solve_vrp
from smartopt.dispatch.pooling import choose
from smartopt.energy import balance_phases, plan_day
from smartopt.signals.greenwave import coordinate, corridor, maxband
from smartopt.signals.timing import hcm_delay, optimize_fixed_time, webster

reoptimize_module = import_module("smartopt.dispatch.reoptimize")  # the package re-exports the function


@pytest.fixture
def numba_threads() -> Iterator[list[int]]:
    """The thread counts to compare (1 and, where Numba has them, 2); restores the count after."""
    before = numba.get_num_threads()
    yield sorted({1, min(2, numba.config.NUMBA_NUM_THREADS)})  # type: ignore[attr-defined]
    numba.set_num_threads(before)


def assert_same(a: Any, b: Any) -> None:
    """Equal dataclasses, dicts, sequences and arrays, field by field, exactly; ``runtime_s``-like
    fields (wall time) skipped."""
    if hasattr(a, "__dataclass_fields__"):
        for f in fields(a):
            if not f.name.startswith("runtime"):
                assert_same(getattr(a, f.name), getattr(b, f.name))
    elif isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            if not str(k).endswith("runtime_s") and k != "stats":
                assert_same(a[k], b[k])
    elif isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, list | tuple):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            assert_same(x, y)
    else:
        assert a == b or (a != a and b != b)  # NaN == NaN here


# --- routing (the booked trips; the re-optimisation's solver) --------------------------------------


def small_pdptw(seed: int = 0, pairs: int = 25) -> VRPProblem:
    """Pickup-and-delivery pairs with time windows on a plane, three vehicles of 4 seats."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 1000, (1 + 2 * pairs, 2))
    dist = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    early = np.concatenate([[0.0], rng.uniform(0, 3000, 2 * pairs)])
    return VRPProblem(
        distance=dist,
        vehicle_types=(VehicleType(count=3, capacity=4),),
        service=np.concatenate([[0.0], np.full(2 * pairs, 30.0)]),
        tw_early=np.where(np.arange(1 + 2 * pairs) % 2 == 1, early, 0.0),
        tw_late=np.full(1 + 2 * pairs, 20_000.0),
        pairs=np.stack([np.arange(1, 2 * pairs, 2), np.arange(2, 2 * pairs + 1, 2)], axis=1),
    )


def routes_of(result: VRPResult) -> list[tuple[int, list[int]]]:
    return [(r.vehicle, r.visits.tolist()) for r in result.routes]


def test_solve_vrp_on_iterations_alone_repeats_also_beside_another_solve() -> None:
    problem = small_pdptw()
    first = solve_vrp(problem, seed=3, max_iterations=300)
    assert first.stats["iterations"] == 300 and first.feasible
    again = solve_vrp(problem, seed=3, max_iterations=300)
    assert routes_of(again) == routes_of(first) and again.cost == first.cost
    beside: list[VRPResult] = []  # two solves at once, each on its own thread (GIL released)
    worker = threading.Thread(target=lambda: beside.append(solve_vrp(problem, seed=3, max_iterations=300)))
    worker.start()
    here = solve_vrp(problem, seed=3, max_iterations=300)
    worker.join()
    assert routes_of(here) == routes_of(beside[0]) == routes_of(first)
    # a time limit too long to bind leaves the result as it is
    assert routes_of(solve_vrp(problem, seed=3, max_iterations=300, time_limit_s=600.0)) == routes_of(first)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({}, "give max_iterations or time_limit_s"),
        ({"max_iterations": 10, "solver": "ortools"}, "solver='ortools' needs a time_limit_s"),
        ({"max_iterations": -1}, "max_iterations must be >= 0, got -1"),
        ({"time_limit_s": 0.0, "max_iterations": 10}, "time_limit_s must be a finite number > 0"),
    ],
)
def test_solve_vrp_needs_a_budget(kw: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        solve_vrp(small_pdptw(pairs=2), **kw)


# --- phase balancing ---------------------------------------------------------------------------------


def feeder_profiles(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three feeders (40, 20 and 8 loads; the two small ones go to CP-SAT in the hybrid), 24 slots."""
    rng = np.random.default_rng(seed)
    feeder = np.repeat([0, 1, 2], [40, 20, 8])
    profile = rng.uniform(0.2, 2.0, (feeder.size, 1)) * rng.lognormal(0, 0.4, (feeder.size, 24))
    profile[rng.random(feeder.size) < 0.2, 16:20] += 7.4
    return profile, feeder


@pytest.mark.parametrize("method", ["local", "hybrid", "cpsat"])
def test_balance_phases_on_a_work_budget_repeats(method: str) -> None:
    profile, feeder = feeder_profiles()
    # enough for the hybrid to hand both small feeders to CP-SAT (deterministic time > 0.05 s)
    budget = 20_000_000
    runs = [
        balance_phases(profile, feeder=feeder, method=method, max_iterations=budget, seed=2, slot_h=1.0)
        for _ in range(2)
    ]
    assert_same(runs[0], runs[1])
    if method != "cpsat":
        assert 0 < runs[0].evaluations <= budget + feeder.size**2  # over by at most a load's moves per feeder
    greedy = balance_phases(profile, feeder=feeder, method="greedy", slot_h=1.0)
    assert (runs[0].imbalance_kw <= greedy.imbalance_kw + 1e-9).all()


def test_balance_phases_default_budget_repeats_and_a_time_limit_is_optional() -> None:
    profile, feeder = feeder_profiles(1)
    small = profile[feeder == 0][:30]
    # MAX_ITERATIONS, no time limit (the local search: the hybrid's CP-SAT would take seconds)
    assert_same(balance_phases(small, method="local", slot_h=1.0), balance_phases(small, method="local", slot_h=1.0))
    # a time limit too long to bind changes nothing
    assert_same(
        balance_phases(small, method="local", max_iterations=200_000, slot_h=1.0),
        balance_phases(small, method="local", max_iterations=200_000, time_limit_s=600.0, slot_h=1.0),
    )
    # the core: an evaluation budget alone, no time limit (inf)
    start = _phases.greedy(small).phase
    a, b = (_phases.improve(small, start, 5, 1 << 30, np.inf, 300_000) for _ in range(2))
    np.testing.assert_array_equal(a.phase, b.phase)
    assert a.evaluations == b.evaluations and 300_000 <= a.evaluations <= 300_000 + 31


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"max_iterations": 0}, "max_iterations must be >= 1, got 0"),
        ({"time_limit_s": -1.0}, "time_limit_s must be a finite number > 0"),
    ],
)
def test_balance_phases_budget_validation(kw: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        balance_phases(np.ones((3, 4)), **kw, slot_h=1.0)
    for not_an_int in (2.5, True):
        with pytest.raises(TypeError, match="max_iterations must be an int"):
            balance_phases(np.ones((3, 4)), max_iterations=not_an_int, slot_h=1.0)


# --- signals: timing (Numba, parallel over intersections) and MAXBAND (SCIP) ------------------------


def test_signal_timing_is_the_same_on_1_and_2_numba_threads(district: District, numba_threads: list[int]) -> None:
    xs = district.intersections
    runs = []
    for threads in numba_threads:
        numba.set_num_threads(threads)
        plans = {"webster": webster(xs, 0), "smartopt": optimize_fixed_time(xs, 0)}
        runs.append((plans, {name: hcm_delay(xs, plan, 0) for name, plan in plans.items()}))
    for plans, reports in runs[1:]:
        assert_same(plans, runs[0][0])
        assert_same(reports, runs[0][1])


def test_maxband_solves_to_optimality_the_same_way_every_time(district: District) -> None:
    signals = [district.intersections[i] for i in next(iter(district.corridors.values()))]
    plan = optimize_fixed_time(signals, 0, cycle_s=120.0)
    corr = corridor(district.network, signals, [plan.greens(i) for i in range(len(signals))], 120.0)
    (off_a, wave_a), (off_b, wave_b) = (coordinate(corr, (11.1, 13.9), ratio=1.0) for _ in range(2))
    assert wave_a.status == "optimal"
    np.testing.assert_array_equal(off_a, off_b)
    assert_same(wave_a, wave_b)
    # the node budget is a deterministic stop: a tiny one ends early, the same way each time
    rng = np.random.default_rng(1)
    pos, red = np.cumsum(rng.uniform(200, 800, 40)), rng.uniform(30, 60, (2, 40))
    early = [maxband(pos, red[0], red[1], 100.0, (10.0, 15.0), max_iterations=1) for _ in range(2)]
    assert early[0].status == "feasible"
    assert_same(early[0], early[1])


@pytest.mark.parametrize(
    ("kw", "error", "match"),
    [
        ({"max_iterations": 0}, ValueError, "max_iterations must be >= 1, got 0"),
        ({"max_iterations": 1.5}, TypeError, "max_iterations must be an int, got float 1.5"),
        ({"time_limit_s": 0.0}, ValueError, "time_limit_s=0.0 must be > 0"),
        ({"seed": -1}, ValueError, "seed must be >= 0, got -1"),
    ],
)
def test_maxband_budget_validation(kw: dict[str, Any], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        maxband([0.0, 400.0], [40.0, 40.0], [40.0, 40.0], 100.0, (10.0, 15.0), **kw)


# --- energy: the LP day plan and power flow on 1 and 2 threads ---------------------------------------


def test_day_plan_repeats(district: District) -> None:
    a, b = plan_day(district.energy), plan_day(district.energy)
    assert_same(a.summary(), b.summary())
    np.testing.assert_array_equal(a.charger_kw, b.charger_kw)


@pytest.mark.parametrize("backend", ["cpp", "numba"])
def test_power_flow_is_the_same_on_1_and_2_threads(district: District, backend: str) -> None:
    one, two = (district.energy.power_flow(n_threads=n, backend=backend) for n in (1, 2))
    np.testing.assert_array_equal(one.vm_pu, two.vm_pu)
    np.testing.assert_array_equal(one.slack_p_kw, two.slack_p_kw)
    np.testing.assert_array_equal(one.line_loading_percent, two.line_loading_percent)


def test_travel_times_are_the_same_on_1_and_2_threads(district: District) -> None:
    net = district.network
    everyone = np.arange(net.num_nodes)
    one, two = (net.travel_time_matrix(everyone, n_threads=n) for n in (1, 2))
    np.testing.assert_array_equal(one, two)


# --- dispatch: the re-optimising day and pooling ---------------------------------------------------


def morning(district: District) -> Any:
    """The first 400 requests of the day, with 12 shuttles."""
    return district.fleet.resized(12), district.requests.subset(np.arange(400))


def test_a_reoptimising_day_repeats_without_a_time_limit(district: District) -> None:
    fleet, requests = morning(district)
    policy = Policy(wait_weight=1.0, reoptimize_s=300.0, reoptimize_iterations=300)
    assert policy.reoptimize_time_limit_s is None  # the default: the iteration budget alone decides
    a, b = (simulate(district.network, fleet, requests, policy=policy, seed=4, progress=False) for _ in range(2))
    assert a.kpis["reoptimizations"] > 0
    assert_same(a.kpis, b.kpis)
    np.testing.assert_array_equal(a.vehicle, b.vehicle)
    np.testing.assert_array_equal(a.pickup_s, b.pickup_s)


def test_a_pooling_day_repeats_without_a_time_limit(district: District) -> None:
    fleet, requests = morning(district)
    a, b = (simulate(district.network, fleet, requests, policy="pooling", seed=1, progress=False) for _ in range(2))
    assert_same(a.kpis, b.kpis)
    np.testing.assert_array_equal(a.dropoff_s, b.dropoff_s)


def test_pooling_choice_on_deterministic_time() -> None:
    rng = np.random.default_rng(0)
    rides = [sorted(rng.choice(30, size=int(rng.integers(1, 4)), replace=False).tolist()) for _ in range(400)]
    trips = trips_of(rng.integers(0, 10, 400).tolist(), rides, rng.uniform(10, 500, 400).tolist(), exact_steps=0)
    assert not trips.proven.any()  # one part, searched for 0 steps: CP-SAT's to choose
    picks = [choose(trips, None, 3, 0.05) for _ in range(2)]
    np.testing.assert_array_equal(picks[0], picks[1])
    np.testing.assert_array_equal(choose(trips, None, 3, 0.0), choose(trips, 0.0, 3))  # no budget: the core's
    served, cost = packing_score(trips, picks[0])  # no ride or vehicle twice
    start_served, start_cost = packing_score(trips, trips.choice)
    assert served > start_served or (served == start_served and cost <= start_cost + 1e-6)  # never worse


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"reoptimize_time_limit_s": -1.0}, r"reoptimize_time_limit_s must be a finite number >= 0 or None"),
        ({"pool_time_limit_s": float("inf")}, r"pool_time_limit_s must be a finite number >= 0 or None"),
        ({"pool_deterministic_time": -0.1}, r"pool_deterministic_time must be a finite number >= 0, got -0.1"),
        ({"pool_deterministic_time": None}, r"pool_deterministic_time must be a finite number >= 0, got None"),
        ({"reoptimize_s": 60.0, "reoptimize_time_limit_s": 0.0}, "reoptimize_time_limit_s must be > 0"),
    ],
)
def test_policy_budget_validation(kw: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Policy(**kw)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({}, "reoptimize needs max_iterations or time_limit_s"),
        ({"max_iterations": -1}, "max_iterations must be an int >= 0 or None, got -1"),
        ({"time_limit_s": 0.0}, "time_limit_s must be a finite number > 0"),
    ],
)
def test_reoptimize_budget_validation(kw: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        reoptimize_module.reoptimize(None, None, boarding_s=30.0, **kw)
