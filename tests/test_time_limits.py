"""Every public solver with a time limit returns within it (issue 20): wall time <= 1.05 * limit +
0.05 s, on an instance big enough that the limit binds (the result says the search was cut
short). The one place the tests measure wall time."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

import numpy as np
import pytest

from fleet_checks import make_fleet, random_requests
from smartopt.datasets import sejong_5_1
from smartopt.datasets.grid import grid_network
from smartopt.dispatch import Dispatcher, TravelSpace, VehicleType, VRPProblem, solve_vrp
from smartopt.energy import Battery, EnergyDay, balance_phases, dispatch_battery, plan_day, schedule_charging
from smartopt.signals import TrafficModel, maxband, optimize_network

LIMIT_S = 1.0


@pytest.fixture(autouse=True)
def _quiet_machine() -> Iterator[None]:
    """Each case starts once the LP solves an earlier case left running have stopped (a solve past
    its deadline is left to finish on a worker thread), so that it is timed on its own."""
    yield
    _wait_for_lp_threads()


def _wait_for_lp_threads() -> None:
    for worker in threading.enumerate():
        if worker.name.startswith("smartopt-lp"):
            worker.join(timeout=30.0)


def within_limit(call: Callable[[], Any], limit_s: float = LIMIT_S) -> tuple[Any, float]:
    """The call's result and wall time (s), asserting the issue's bound: 5 % + 50 ms. A call over
    it is timed once more (after earlier solves' threads stop), so that another process taking
    the core for a moment is not counted as an overrun; both over it fail."""
    walls = []
    for _ in range(2):
        started = time.perf_counter()
        out = call()
        walls.append(time.perf_counter() - started)
        if walls[-1] <= 1.05 * limit_s + 0.05:
            return out, walls[-1]
        _wait_for_lp_threads()
    raise AssertionError(f"{walls[0]:.3f} s and {walls[1]:.3f} s for a limit of {limit_s} s")


@cache
def energy_day() -> EnergyDay:
    return sejong_5_1().energy


def random_vrp(n: int, seed: int = 0) -> VRPProblem:
    """``n`` clients uniform on a 1 km square, one depot, vehicles of capacity 100."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 1000, (n + 1, 2))
    demand = rng.integers(1, 10, n + 1).astype(float)
    demand[0] = 0
    distance = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    return VRPProblem(distance=distance, vehicle_types=[VehicleType(count=n, capacity=100)], demand=demand)


def charging_sessions(n: int = 3000, slots: int = 192) -> dict[str, Any]:
    """A fleet of sessions whose LP (about 375,000 nonzeros) GLOP takes minutes to solve."""
    rng = np.random.default_rng(0)
    arrival = rng.integers(0, slots, n)
    departure = np.minimum(arrival + rng.integers(1, slots + 1, n), slots)
    max_kw = rng.choice([3.7, 7.4, 11.0, 22.0], n)
    return {
        "arrival": arrival,
        "departure": departure,
        "energy_kwh": rng.uniform(0, 0.8, n) * max_kw * (departure - arrival) * 0.25,
        "max_kw": max_kw,
        "base_load_kw": rng.uniform(50, 150, slots),
    }


# --- signals ---------------------------------------------------------------------------------------


def test_optimize_network() -> None:
    d = sejong_5_1()
    model = TrafficModel(d.network, d.intersections)
    found, _ = within_limit(lambda: optimize_network(model, d.traffic[0], time_limit_s=LIMIT_S))
    assert found.status == "time_limit"  # the default budget takes about a minute


def test_maxband() -> None:
    rng = np.random.default_rng(0)
    position = np.cumsum(rng.uniform(200, 600, 150))
    red = rng.uniform(30, 60, 150)
    wave, _ = within_limit(
        lambda: maxband(position, red, red, 100.0, (10.0, 14.0), time_limit_s=LIMIT_S, max_iterations=None)
    )
    assert wave.status in ("feasible", "optimal")  # bands found (here about 10 s to prove optimal)
    assert wave.runtime_s <= 1.05 * LIMIT_S + 0.05


# --- dispatch --------------------------------------------------------------------------------------


def test_solve_vrp() -> None:
    problem = random_vrp(1000)
    result, wall = within_limit(lambda: solve_vrp(problem, time_limit_s=LIMIT_S))
    assert result.stats["time_limit_reached"]
    assert 0 < result.runtime_s <= wall


def test_solve_vrp_with_ortools() -> None:
    from ortools.constraint_solver.routing_enums_pb2 import RoutingSearchStatus

    problem = random_vrp(300)
    result, wall = within_limit(lambda: solve_vrp(problem, time_limit_s=LIMIT_S, solver="ortools"))
    assert result.stats["status"] == RoutingSearchStatus.ROUTING_PARTIAL_SUCCESS_LOCAL_OPTIMUM_NOT_REACHED
    assert 0 < result.runtime_s <= wall


def test_dispatcher_reoptimize() -> None:
    net = grid_network(12, 12, spacing_m=300.0, seed=2)
    space = TravelSpace.from_network(net)
    fleet = make_fleet(space.num_nodes, [0, space.num_nodes - 1], 30, 4)
    req = random_requests(np.random.default_rng(1), space.num_nodes, 600, 3600.0, max_wait_s=900.0, max_detour=1.0)
    live = Dispatcher(space, fleet)
    for k in range(req.time_s.size):
        live.advance(float(req.time_s[k]))
        live.submit(int(req.origin[k]), int(req.destination[k]), max_detour=1.0)
    out, wall = within_limit(lambda: live.reoptimize(time_limit_s=LIMIT_S))
    assert out.rides > 100
    assert wall >= 0.9 * LIMIT_S  # no iteration budget: the search ran until the limit


# --- energy ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["glop", "pdlp"])
def test_schedule_charging(method: str) -> None:
    inst = charging_sessions()
    result, _ = within_limit(lambda: schedule_charging(**inst, method=method, time_limit_s=LIMIT_S))
    assert result.status == "time_limit"


@pytest.mark.parametrize("method", ["glop", "pdlp"])
def test_dispatch_battery(method: str) -> None:
    net = np.random.default_rng(0).uniform(-50, 150, 96 * 365)  # a year of quarter hours
    battery = Battery(energy_kwh=500.0, power_kw=100.0)
    result, _ = within_limit(lambda: dispatch_battery(net, battery, method=method, time_limit_s=LIMIT_S))
    assert result.status == "time_limit"


@pytest.mark.parametrize("method", ["local", "cpsat", "hybrid"])
def test_balance_phases(method: str) -> None:
    profile, feeder = energy_day().single_phase_loads()
    result, wall = within_limit(
        lambda: balance_phases(profile, feeder=feeder, method=method, time_limit_s=LIMIT_S, slot_h=1.0)
    )
    assert wall >= 0.8 * LIMIT_S  # no iteration budget: the search ran until the limit
    assert result.runtime_s <= wall


def test_plan_day() -> None:
    day = energy_day()
    limit_s = 0.5  # the day takes about 2 s; the power flow of the day as it is always runs (0.1 s)
    plan, _ = within_limit(lambda: plan_day(day, time_limit_s=limit_s), limit_s)
    assert plan.status == "time_limit"
