"""For services embedding smartopt: problems and results pickle and come back equal; results'
``to_dict()`` is strict JSON; solvers called from several threads at once give the results of
sequential calls.

Tolerances: none (equal to the last bit), except wall-clock fields, which are left out.
"""

from __future__ import annotations

import dataclasses
import json
import pickle
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest

from smartopt.app.district import District
from smartopt.datasets import sejong_5_1
from smartopt.dispatch import TravelSpace, VehicleType, VRPProblem, linear_sum_assignment, simulate, solve_vrp
from smartopt.energy import balance_phases, dispatch_battery, schedule_charging
from smartopt.energy.battery import Battery
from smartopt.signals import hcm_delay, optimize_fixed_time

TIMINGS = {"runtime_s", "runtime", "elapsed_s"}


@pytest.fixture(scope="module")
def district() -> District:
    return sejong_5_1(seed=1)


def small_vrp() -> VRPProblem:
    rng = np.random.default_rng(5)
    xy = rng.uniform(0, 100, (25, 2))
    dist = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    return VRPProblem(
        distance=dist,
        vehicle_types=(VehicleType(count=5, capacity=30),),
        demand=np.r_[0, rng.integers(1, 9, 24)],
        tw_late=np.r_[1e9, rng.uniform(150, 400, 24)],
        coords=xy,
    )


def results(district: District) -> dict[str, Any]:
    """One result of each kind, from small or district-size calls."""
    x, energy = district.intersections, district.energy
    plan = optimize_fixed_time(x, 0)
    ev = energy.uncontrolled_ev_kw()
    profile, feeder = energy.single_phase_loads()
    return {
        "vrp": solve_vrp(small_vrp(), time_limit_s=5.0, seed=1, max_iterations=300),
        "timing": plan,
        "delay": hcm_delay(x, plan, 0),
        "power_flow": energy.power_flow(),
        "charging": schedule_charging(
            energy.ev_arrival_slot[:40],
            energy.ev_departure_slot[:40],
            energy.ev_energy_kwh[:40],
            energy.ev_max_kw[:40],
            energy.net_load_kw(),
        ),
        "battery": dispatch_battery(energy.net_load_kw() + ev, Battery(energy_kwh=2000.0, power_kw=1000.0)),
        "phases": balance_phases(profile[feeder == 0], method="greedy", slot_h=1.0),
        "day": simulate(district.network, district.fleet, district.requests, progress=False),
    }


def same(a: Any, b: Any) -> bool:
    """Deep equality of dataclasses, dicts, sequences and numpy arrays (NaN equal to NaN)."""
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        return type(a) is type(b) and all(
            same(getattr(a, f.name), getattr(b, f.name))
            for f in dataclasses.fields(a)
            if f.name not in TIMINGS and not f.name.startswith("_")  # private: caches of C++ objects
        )
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a if k not in TIMINGS)
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return bool(np.array_equal(np.asarray(a), np.asarray(b), equal_nan=np.asarray(a).dtype.kind in "fc"))
    if isinstance(a, list | tuple):
        return isinstance(b, list | tuple) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float) and np.isnan(a):
        return bool(np.isnan(b))
    return bool(a == b)


def test_problems_and_results_pickle(district: District) -> None:
    problems = {
        "district": district,
        "vrp_problem": small_vrp(),
        "space": TravelSpace.from_network(district.network),
        "plane": TravelSpace.plane(np.zeros((3, 2)), speed_mps=5.0),
    }
    for name, thing in {**problems, **results(district)}.items():
        back = pickle.loads(pickle.dumps(thing))
        assert same(thing, back), name
    again = pickle.loads(pickle.dumps(district))  # the C++ caches are rebuilt and give the same answers
    net = district.network
    np.testing.assert_array_equal(
        again.network.travel_time_matrix([0, 5], [9, 40]), net.travel_time_matrix([0, 5], [9, 40])
    )
    np.testing.assert_array_equal(again.energy.power_flow().v_pu, district.energy.power_flow().v_pu)


def test_results_to_dict_is_strict_json(district: District) -> None:
    for name, result in results(district).items():
        data = result.to_dict()
        text = json.dumps(data, allow_nan=False)  # NaN becomes null, infinities "Infinity"/"-Infinity"
        assert json.loads(text) == data, name
    day = results(district)["day"].to_dict()
    assert {"vehicle", "pickup_s", "kpis", "legs"} <= set(day) and "requests" not in day  # inputs left out


def test_solvers_from_threads_match_sequential_calls(district: District) -> None:
    x, energy = district.intersections, district.energy
    space = TravelSpace.from_network(district.network)
    cost = np.random.default_rng(2).random((300, 400))
    calls: dict[str, Callable[[], Any]] = {
        "vrp": lambda: solve_vrp(small_vrp(), time_limit_s=30.0, seed=3, max_iterations=500).routes,
        "signals": lambda: optimize_fixed_time(x, 2).green_s,
        "power flow": lambda: energy.power_flow().v_pu,
        "dispatch": lambda: simulate(space, district.fleet, district.requests, progress=False).pickup_s,
        "assignment": lambda: linear_sum_assignment(cost),
    }
    alone = {name: call() for name, call in calls.items()}
    with ThreadPoolExecutor(4) as pool:
        futures = [(name, pool.submit(call)) for _ in range(3) for name, call in calls.items()]
        for name, future in futures:
            assert same(future.result(), alone[name]), name
