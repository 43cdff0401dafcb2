"""Issue 18, the energy domain: hostile input (integers past int32 and int64, floats to 1e300, NaN,
inf, truthy strings), statuses that tell the truth (a budget that runs out is not infeasibility; a
failed power-flow snapshot is never all clear), time limits and threads."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartopt.datasets import sejong_5_1
from smartopt.energy import (
    Battery,
    ChargingPlanner,
    EnergyDay,
    Grid,
    balance_phases,
    dispatch_battery,
    plan_day,
    power_flow,
    schedule_charging,
    voltage_sensitivities,
)

HOSTILE_INTS = [2**31 - 1, 2**31, 2**32, 2**32 + 2, 2**63 - 1, 2**63, 2**64, -1, -(2**63)]
HOSTILE_FLOATS = [1e300, -1e300, float("nan"), float("inf"), -float("inf"), 5e-324, 1e12, 1e13]
BASE = np.full(8, 10.0)


def random_sessions(rng: np.random.Generator, n: int, t: int, fill: float = 0.8) -> dict[str, Any]:
    arrival = rng.integers(0, t, n)
    departure = np.minimum(arrival + rng.integers(1, t + 1, n), t)
    max_kw = rng.choice([3.7, 7.4, 11.0, 22.0], n)
    energy = rng.uniform(0, fill, n) * max_kw * (departure - arrival) * 0.25
    return {
        "arrival": arrival,
        "departure": departure,
        "energy_kwh": energy,
        "max_kw": max_kw,
        "base_load_kw": rng.uniform(50, 150, t),
    }


def small_grid() -> Grid:
    return Grid(
        bus_vn_kv=[22.9, 0.4, 0.4],
        line_from=[1],
        line_to=[2],
        line_r_ohm_per_km=[0.2],
        line_x_ohm_per_km=[0.1],
        line_max_i_ka=[0.3],
        trafo_hv_bus=[0],
        trafo_lv_bus=[1],
        trafo_sn_kva=[400.0],
        trafo_vk_percent=[5.0],
        trafo_vkr_percent=[1.0],
        load_bus=[2],
        load_p_kw=[50.0],
        load_q_kvar=[10.0],
    )


@pytest.fixture(scope="module")
def energy() -> EnergyDay:
    return sejong_5_1().energy


# --- #2: integers past int32 no longer wrap -------------------------------------------------------


def test_arrival_past_int32_is_rejected_not_slot_0() -> None:
    with pytest.raises(ValueError, match=r"arrival\[0\]=4294967296 is out of range"):
        schedule_charging([2**32], [3], [1.0], [5.0], BASE)
    with pytest.raises(ValueError, match=r"departure\[0\]=4294967299 is out of range"):
        schedule_charging([0], [2**32 + 3], [1.0], [5.0], BASE)
    planner = ChargingPlanner(BASE)
    with pytest.raises(ValueError, match=r"departure\[0\]=4294967296 is out of range"):
        planner.add([2**32], [1.0], [5.0])


def test_feeders_past_int32_are_rejected_not_merged() -> None:
    with pytest.raises(ValueError, match=r"feeder\[2\]=4294967296 is out of range"):
        balance_phases(np.ones((4, 3)), feeder=[0, 0, 2**32, 2**32], slot_h=1.0)
    result = balance_phases(np.ones((4, 3)), feeder=[0, 0, 2**31 - 1, 2**31 - 1], method="greedy", slot_h=1.0)
    assert set(result.feeder.tolist()) == {0, 2**31 - 1}


def test_energy_day_slots_past_int32_are_rejected(energy: EnergyDay) -> None:
    arrival = energy.ev_arrival_slot.astype(np.int64).copy()
    arrival[3] = 2**32
    with pytest.raises(ValueError, match=r"ev_arrival_slot\[3\]=4294967296 is out of range"):
        replace(energy, ev_arrival_slot=arrival)
    with pytest.raises(ValueError, match=r"pv_bus\[0\]=4294967296 is (out of range|not an index)"):
        replace(energy, pv_bus=[2**32, *energy.pv_bus[1:].tolist()])


# --- #9: the right exception, naming the real field ----------------------------------------------


def test_truthy_strings_are_not_booleans() -> None:
    with pytest.raises(TypeError, match=r"allow_partial must be True or False, got str 'no'"):
        schedule_charging([0], [1], [100.0], [5.0], BASE, allow_partial="no")
    with pytest.raises(TypeError, match="allow_partial must be True or False"):
        schedule_charging([0], [1], [100.0], [5.0], BASE, allow_partial=1)


def test_huge_max_kw_names_max_kw() -> None:
    with pytest.raises(ValueError, match=r"max_kw\[0\]=1e\+300 is out of range"):
        schedule_charging([0], [3], [1.0], [1e300], BASE)
    # A merely large charger (within the bound) is scheduled exactly: the car needs 1 kWh.
    result = schedule_charging([0], [3], [1.0], [1e12], BASE)
    assert result.status == "optimal"
    assert result.served_kwh[0] == pytest.approx(1.0, rel=1e-9)


def test_voltage_sensitivities_snapshot_must_be_an_int(energy: EnergyDay) -> None:
    flow = power_flow(small_grid(), np.array([[50.0], [60.0]]))
    with pytest.raises(TypeError, match=r"snapshot must be an int, got float 0\.5"):
        voltage_sensitivities(flow, 0.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="snapshot must be an int"):
        voltage_sensitivities(flow, True)
    for bad in (2, -1, 2**63, 2**64):
        with pytest.raises(ValueError, match=rf"snapshot={bad} is not an index in \[0, 2\)"):
            voltage_sensitivities(flow, bad)
    assert voltage_sensitivities(flow, np.int64(1)).dv_dp.shape == (3, 3)


def test_battery_fields_are_numbers() -> None:
    with pytest.raises(TypeError, match="energy_kwh must be a number, got str"):
        Battery(energy_kwh="100", power_kw=50.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="soc0 must be a number, got bool"):
        Battery(energy_kwh=100.0, power_kw=50.0, soc0=True)
    with pytest.raises(ValueError, match="energy_kwh must be <= 1e\\+12"):
        Battery(energy_kwh=1e300, power_kw=50.0)
    with pytest.raises(TypeError, match="battery must be a Battery"):
        dispatch_battery(BASE, "battery")  # type: ignore[arg-type]


def test_single_phase_loads_cannot_allocate_by_a_tiny_household(energy: EnergyDay) -> None:
    with pytest.raises(ValueError, match="household_kw=1e-09 splits the loads"):
        energy.single_phase_loads(household_kw=1e-9)
    with pytest.raises(ValueError, match="seed must be a non-negative int"):
        energy.single_phase_loads(seed=-1)


def test_plan_day_rejects_bad_options(energy: EnergyDay) -> None:
    with pytest.raises(TypeError, match="grid_limits must be True or False"):
        plan_day(energy, grid_limits="no")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_iterations must be <= 1000"):
        plan_day(energy, max_iterations=2**40)
    with pytest.raises(TypeError, match="day must be an EnergyDay"):
        plan_day("day")  # type: ignore[arg-type]


# --- #5: statuses that tell the truth -------------------------------------------------------------


def test_an_lp_budget_that_runs_out_is_not_infeasibility() -> None:
    inst = random_sessions(np.random.default_rng(0), 3000, 96)
    assert schedule_charging(**inst).status == "optimal"  # feasible: the exact solver proves it
    result = schedule_charging(**inst, method="glop", time_limit_s=0.05)
    assert result.status == "time_limit"
    assert result.unserved_ev.size == 0  # no car is claimed short
    assert result.served_kwh.sum() == 0.0


def test_lp_methods_still_prove_infeasibility() -> None:
    # Two cars, one slot, 10 kW of room, 15 kWh asked at 0.25 h slots: no schedule exists.
    result = schedule_charging([0], [1], [100.0], [5.0], BASE, method="glop")
    assert result.status == "infeasible"
    assert result.unserved_ev.tolist() == [0]
    battery = Battery(energy_kwh=100.0, power_kw=50.0)
    assert dispatch_battery(BASE, battery, method="glop").status == "optimal"
    out = dispatch_battery(BASE, battery, method="glop", time_limit_s=1e-9)
    assert out.status == "time_limit"
    assert out.charge_kw.sum() == out.discharge_kw.sum() == 0.0


def test_a_collapsed_snapshot_is_not_all_clear() -> None:
    grid = small_grid()
    flow = power_flow(grid, np.array([[50.0], [1e9]]))  # the second snapshot cannot converge
    assert flow.converged.tolist() == [True, False]
    v = flow.violations()
    assert v.failed.tolist() == [1]
    assert bool(v) and not v.all_clear
    assert "failed" in v.to_frame()["kind"].tolist()
    ok = power_flow(grid, np.array([[5.0]])).violations()
    assert ok.failed.size == 0 and ok.all_clear


def test_plan_day_time_limit_is_a_status_not_an_error(energy: EnergyDay) -> None:
    plan = plan_day(energy, time_limit_s=1e-6)
    assert plan.status == "time_limit"
    assert plan.rounds == 0
    # No plan: the day as it is, every car served on arrival, the battery idle.
    assert plan.ev_kw.sum() * energy.slot_h == pytest.approx(energy.ev_energy_kwh.sum(), rel=1e-9)
    assert plan.summary()["status"] == "time_limit"
    assert np.array_equal(plan.charger_kw, energy.uncontrolled_charging_kw())
    assert plan_day(energy).status == "optimal"


# --- #6: time limits (overrun <= 5 % + 50 ms is the criterion; the asserts allow 0.5 s
# more because this machine is shared with other jobs: they catch a limit ignored, not jitter) ---


@pytest.mark.parametrize("limit_s", [0.05, 0.5])
def test_time_limits_are_honoured(limit_s: float, energy: EnergyDay) -> None:
    inst = random_sessions(np.random.default_rng(0), 3000, 96)
    profile, feeder = energy.single_phase_loads()
    calls = [
        lambda: schedule_charging(**inst, method="glop", time_limit_s=limit_s),
        lambda: balance_phases(profile, feeder=feeder, time_limit_s=limit_s, slot_h=1.0),
        lambda: plan_day(energy, time_limit_s=limit_s),
    ]
    for call in calls:
        started = time.perf_counter()
        call()
        assert time.perf_counter() - started <= 1.05 * limit_s + 0.05 + 0.5


# --- #7: threads equal sequential calls ------------------------------------------------------------


def test_four_threads_equal_sequential_calls(energy: EnergyDay) -> None:
    rng = np.random.default_rng(3)
    insts = [random_sessions(np.random.default_rng(k), 200, 96) for k in range(4)]
    profiles = [rng.uniform(0, 5, (40, 96)) for _ in range(4)]
    battery = Battery(energy_kwh=2000.0, power_kw=1000.0)
    net = energy.net_load_kw()

    def work(k: int) -> tuple[Any, ...]:
        flow = energy.power_flow(n_threads=1)
        charging = schedule_charging(**insts[k], objective="valley")
        bat = dispatch_battery(net * (1 + 0.1 * k), battery)
        phases = balance_phases(profiles[k], max_iterations=200_000, seed=k, slot_h=1.0)
        return flow.v_pu, charging.power_kw, bat.charge_kw, bat.discharge_kw, phases.phase

    sequential = [work(k) for k in range(4)]
    with ThreadPoolExecutor(4) as pool:
        threaded = list(pool.map(work, range(4)))
    for a, b in zip(sequential, threaded, strict=True):
        for x, y in zip(a, b, strict=True):
            assert np.array_equal(x, y, equal_nan=True)


# --- memory: a hostile size cannot take the machine down ------------------------------------------


def test_hostile_sizes_stay_within_memory() -> None:
    script = textwrap.dedent(
        """
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
        import numpy as np
        from smartopt.datasets import sejong_5_1
        from smartopt.energy import power_flow, schedule_charging
        day = sejong_5_1().energy
        for call in (
            lambda: day.single_phase_loads(household_kw=1e-12),
            lambda: power_flow(day.grid, n_threads=2**31 - 1),
            lambda: power_flow(day.grid, max_iterations=2**40),
            lambda: schedule_charging([0], [2**31 - 1], [1.0], [5.0], np.ones(8)),
        ):
            try:
                call()
            except (ValueError, TypeError) as exc:
                print(type(exc).__name__)
            else:
                print("ok")
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["ValueError", "ok", "ValueError", "ValueError"]


# --- hypothesis: hostile numbers into every entry point -------------------------------------------

hostile_int = st.sampled_from(HOSTILE_INTS) | st.integers(-3, 12)
hostile_float = st.sampled_from(HOSTILE_FLOATS) | st.floats(-1e3, 1e3)
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _clear_error(exc: Exception) -> None:
    assert isinstance(exc, ValueError | TypeError)
    assert str(exc)  # says something


@FAST
@given(arrival=hostile_int, departure=hostile_int, energy=hostile_float, max_kw=hostile_float, base=hostile_float)
def test_schedule_charging_hostile(arrival: int, departure: int, energy: float, max_kw: float, base: float) -> None:
    try:
        result = schedule_charging([arrival], [departure], [energy], [max_kw], np.full(12, base))
    except Exception as exc:
        _clear_error(exc)
        return
    assert 0 <= arrival < departure <= 12
    assert result.status in ("optimal", "infeasible")
    assert np.isfinite(result.power_kw).all()
    assert (result.power_kw[0, :arrival] == 0).all() and (result.power_kw[0, departure:] == 0).all()
    if result.status == "optimal":
        assert result.served_kwh[0] == pytest.approx(energy, rel=1e-9, abs=1e-9)


@FAST
@given(
    feeder=st.lists(hostile_int, min_size=3, max_size=3),
    value=hostile_float,
    # Budgets that must be refused, or small ones (a valid budget of 2**62 moves is honoured: slow).
    iterations=st.sampled_from([2**63, 2**64, 0, -1, -(2**63), 1.5, True]) | st.integers(1, 10_000),
)
def test_balance_phases_hostile(feeder: list[int], value: float, iterations: Any) -> None:
    profile = np.array([[1.0, 2.0], [value, 1.0], [3.0, 0.5]])
    try:
        result = balance_phases(profile, feeder=feeder, max_iterations=iterations, method="local", slot_h=1.0)
    except Exception as exc:
        _clear_error(exc)
        return
    assert result.feeder.tolist() == feeder
    assert set(result.phase.tolist()) <= {0, 1, 2}


@FAST
@given(value=hostile_float, slot_h=hostile_float, power=hostile_float)
def test_dispatch_battery_hostile(value: float, slot_h: float, power: float) -> None:
    try:
        battery = Battery(energy_kwh=100.0, power_kw=power)
        result = dispatch_battery(np.array([10.0, value, 5.0]), battery, slot_h=slot_h)
    except Exception as exc:
        _clear_error(exc)
        return
    assert result.status in ("optimal", "infeasible")
    assert np.isfinite(result.grid_kw).all()


@FAST
@given(p=hostile_float, q=hostile_float, max_iterations=hostile_int, snapshot=hostile_int)
def test_power_flow_and_sensitivities_hostile(p: float, q: float, max_iterations: int, snapshot: int) -> None:
    grid = small_grid()
    try:
        flow = power_flow(grid, np.array([[p]]), np.array([[q]]), max_iterations=max_iterations)
    except Exception as exc:
        _clear_error(exc)
        return
    v = flow.violations()
    if not flow.converged[0]:
        assert not v.all_clear and v.failed.tolist() == [0]
    try:
        voltage_sensitivities(flow, snapshot)
    except Exception as exc:
        _clear_error(exc)
    else:
        assert snapshot == 0 and flow.converged[0]


@FAST
@given(field=st.sampled_from(["line_r_ohm_per_km", "trafo_sn_kva", "load_p_kw", "bus_vn_kv"]), value=hostile_float)
def test_grid_hostile_floats(field: str, value: float) -> None:
    base = small_grid()
    current = np.asarray(getattr(base, field), dtype=float).copy()
    current[0] = value
    try:
        grid = replace(base, **{field: current})
    except Exception as exc:
        _clear_error(exc)
        return
    flow = power_flow(grid)
    assert flow.converged[0] or not flow.violations().all_clear


@FAST
@given(field=st.sampled_from(["load_bus", "line_from", "trafo_lv_bus"]), value=hostile_int)
def test_grid_hostile_ints(field: str, value: int) -> None:
    base = small_grid()
    current = [int(v) for v in getattr(base, field)]
    current[0] = value
    try:
        grid = replace(base, **{field: current})
    except Exception as exc:
        _clear_error(exc)
        return
    assert 0 <= value < grid.num_buses


@FAST
@given(
    field=st.sampled_from(["ev_arrival_slot", "ev_departure_slot", "ev_charger", "battery_bus"]),
    value=hostile_int,
    number=st.sampled_from(["ev_energy_kwh", "ev_max_kw", "charger_kw", "battery_kwh", "slot_h"]),
    amount=hostile_float,
)
def test_energy_day_hostile(energy: EnergyDay, field: str, value: int, number: str, amount: float) -> None:
    ints = np.asarray(getattr(energy, field)).astype(object)
    ints[0] = value
    nums: Any = amount
    if number != "slot_h":
        nums = np.asarray(getattr(energy, number), dtype=float).copy()
        nums[0] = amount
    try:
        replace(energy, **{field: ints.tolist(), number: nums})
    except Exception as exc:
        _clear_error(exc)
