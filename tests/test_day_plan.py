"""The district day planned as one system (EV charging + battery + grid limits) on the built-in
Sejong 5-1 day, checked by full power flows and against the exact solvers run one after the other.

Tolerances: peaks 1e-6 relative; energies 1e-6 kWh per car; loading and voltage limits as the
power flow reports them (no slack).
"""

from __future__ import annotations

import numpy as np
import pytest

from smartopt.app.district import District
from smartopt.energy import Battery, dispatch_battery, schedule_charging
from smartopt.energy.day_plan import DayPlan, plan_day


@pytest.fixture(scope="module")
def grid_plan(district: District) -> DayPlan:
    return plan_day(district.energy)


@pytest.fixture(scope="module")
def free_plan(district: District) -> DayPlan:
    return plan_day(district.energy, grid_limits=False)


def assert_serves_everyone(plan: DayPlan) -> None:
    day = plan.day
    np.testing.assert_allclose(plan.ev_kw.sum(axis=1) * day.slot_h, day.ev_energy_kwh, rtol=0, atol=1e-6)
    t = np.arange(day.num_slots)
    outside = (t < day.ev_arrival_slot[:, None]) | (t >= day.ev_departure_slot[:, None])
    assert not plan.ev_kw[outside].any()
    power = np.minimum(day.ev_max_kw, day.charger_kw[day.ev_charger])
    assert np.all(plan.ev_kw <= power[:, None] + 1e-7) and plan.ev_kw.min() >= 0


def test_unmanaged_charging_breaks_limits_and_the_grid_aware_plan_does_not(grid_plan: DayPlan) -> None:
    before, after = grid_plan.violations()
    assert before.trafo.size > 0  # full power on arrival overloads pad-mounted transformers
    assert not after, after.to_frame()
    assert grid_plan.after.converged.all()
    assert_serves_everyone(grid_plan)
    assert grid_plan.demand_after_kw.max() < grid_plan.demand_before_kw.max()


def test_valley_filling_alone_overloads_local_transformers(free_plan: DayPlan) -> None:
    # Flattening the district's total crowds the night on the residential transformers: the
    # reason the plan needs the grid limits.
    assert free_plan.violations()[1].trafo.size > 0
    assert_serves_everyone(free_plan)


def test_joint_plan_is_at_least_as_good_as_cars_then_battery(free_plan: DayPlan) -> None:
    day = free_plan.day
    cars = schedule_charging(
        day.ev_arrival_slot,
        day.ev_departure_slot,
        day.ev_energy_kwh,
        np.minimum(day.ev_max_kw, day.charger_kw[day.ev_charger]),
        day.net_load_kw(),
        slot_h=day.slot_h,
        objective="valley",
    )
    battery = Battery(float(day.battery_kwh[0]), float(day.battery_kw[0]), soc0=float(day.battery_soc0[0]))
    sequential = dispatch_battery(cars.total_kw, battery, slot_h=day.slot_h)
    assert free_plan.demand_after_kw.max() <= sequential.peak_kw * (1 + 1e-6)
    soc = free_plan.battery_soc[:, 0]
    assert soc.min() >= battery.soc_min - 1e-9 and soc.max() <= battery.soc_max + 1e-9
    assert soc[-1] >= battery.final - 1e-9


def test_cost_plan_is_cheaper_than_unmanaged(district: District) -> None:
    day = district.energy
    price = np.where((np.arange(96) >= 32) & (np.arange(96) < 88), 0.2, 0.08)  # day and night tariffs
    plan = plan_day(day, objective="cost", price=price, grid_limits=False)
    assert_serves_everyone(plan)
    assert np.dot(price, plan.demand_after_kw) < np.dot(price, plan.demand_before_kw)


def test_summary_frame_plot_and_errors(grid_plan: DayPlan, district: District) -> None:
    s = grid_plan.summary()
    assert s["ev_energy_served_kwh"] == pytest.approx(s["ev_energy_asked_kwh"], abs=0.1)
    assert s["after"]["overloaded_trafos"] == 0 < s["before"]["overloaded_trafos"]
    assert len(grid_plan.to_frame()) == district.energy.num_slots
    assert "overloaded transformers" in repr(grid_plan)
    assert len(grid_plan.plot().axes) == 2
    with pytest.raises(ValueError, match='objective "cost" needs a price per slot'):
        plan_day(district.energy, objective="cost")
    with pytest.raises(ValueError, match="solver must be one of"):
        plan_day(district.energy, solver="simplex")


def test_voltage_cuts_lift_the_low_bus_into_a_tighter_band(district: District) -> None:
    # At 0.966 pu unmanaged charging pulls a bus under the band; the cuts from the voltage
    # sensitivities keep the managed plan inside it (full power flow check).
    plan = plan_day(district.energy, v_min_pu=0.966)
    before, after = plan.violations()
    assert before.bus.size > 0
    assert after.bus.size == 0 and plan.after.vm_pu.min() >= 0.966
    assert_serves_everyone(plan)
