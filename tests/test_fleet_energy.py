"""The fleet's energy over a day that repeats: chargers whose power changes by slot, overnight
charging back to the starting state of charge, deficits reported, and sessions folded into the
day. Closed forms, tolerances 1e-9 kWh and 1e-6 s."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from fleet_checks import check_day, make_fleet
from smartopt._core import _dispatch
from smartopt.dispatch import Fleet, Requests, TravelSpace, simulate
from smartopt.dispatch.model import DAY_S
from smartopt.dispatch.simulation import within_day

LINE = TravelSpace.plane(np.array([[0.0, 0.0], [3000.0, 0.0], [6000.0, 0.0]]), speed_mps=10.0)


def test_charger_power_by_slot_closed_form() -> None:
    # four slots of 6 h: none, 10 kW, 20 kW, none
    power = _dispatch.ChargerPower(np.array([[0.0, 10.0, 20.0, 0.0]]), 21600.0)
    assert power.energy_kwh(0, 0.0, DAY_S) == pytest.approx(180.0, abs=1e-9)
    assert power.energy_kwh(0, 18000.0, 30000.0) == pytest.approx(10 * 8400 / 3600, abs=1e-9)
    assert power.energy_kwh(0, 0.0, 10 * DAY_S) == pytest.approx(1800.0, abs=1e-9)
    assert power.energy_kwh(0, 500.0, 100.0) == 0.0
    assert power.end_of_charge(0, 0.0, 60.0) == pytest.approx(43200.0, abs=1e-6)  # the end of the 10 kW slot
    assert power.end_of_charge(0, 0.0, 70.0) == pytest.approx(43200.0 + 1800.0, abs=1e-6)
    assert power.end_of_charge(0, 80000.0, 180.0) == pytest.approx(DAY_S + 64800.0, abs=1e-6)  # the next day
    assert power.end_of_charge(0, 123.0, 0.0) == 123.0
    for bad, match in ((np.array([[0.0, 0.0]]), "no power"), (np.array([[5.0, -1.0]]), "power must be")):
        with pytest.raises(ValueError, match=match):
            _dispatch.ChargerPower(bad, 60.0)
    with pytest.raises(ValueError, match="slot"):
        _dispatch.ChargerPower(np.array([[5.0]]), 0.0)
    with pytest.raises(ValueError, match="no charger 3"):
        power.energy_kwh(3, 0.0, 1.0)
    with pytest.raises(ValueError, match="finite"):
        power.end_of_charge(0, np.inf, 1.0)


def test_fleet_checks_its_charger_power() -> None:
    fleet = make_fleet(3, [0], 1, 4)
    profile = np.tile([0.0, 10.0, 10.0, 10.0], (1, 1))
    limited = dataclasses.replace(fleet, charger_kw=profile, charger_slot_s=21600.0)
    kw, slot_s = limited.charger_power_kw()
    assert kw.shape == (1, 4) and slot_s == 21600.0
    assert fleet.charger_power_kw()[1] == DAY_S  # constant: one slot of a day
    for bad, slot_s, match in (
        (np.zeros((1, 4)), 21600.0, "no power in any slot"),
        (profile, 5000.0, "whole slots"),
        (np.ones((1, 3)), 21600.0, "charger_kw"),
        (profile, -1.0, "charger_slot_s"),
    ):
        with pytest.raises(ValueError, match=match):
            dataclasses.replace(fleet, charger_kw=bad, charger_slot_s=slot_s)


def _one_vehicle(soc0: float, charger_kw: np.ndarray, slot_s: float = 900.0) -> Fleet:
    return Fleet(
        num_nodes=3,
        depot_node=np.array([0]),
        vehicle_depot=np.array([0]),
        vehicle_seats=np.array([4]),
        vehicle_battery_kwh=np.array([100.0]),
        vehicle_kwh_per_km=np.array([1.0]),
        vehicle_soc0=np.array([soc0]),
        charger_node=np.array([0]),
        charger_kw=charger_kw,
        charger_bus=np.array([0]),
        charger_slot_s=slot_s,
    )


def test_charging_follows_the_power_of_each_slot() -> None:
    # starts at 20 %, below charge_below: it charges to 90 % (70 kWh) at its depot, with no power
    # until 06:00 and 10 kW after, so it is done at 06:00 + 7 h
    fleet = _one_vehicle(0.2, np.array([[0.0, 10.0, 10.0, 10.0]]), 21600.0)
    req = Requests(num_nodes=3, time_s=[50000.0], origin=[1], destination=[2], passengers=[1], max_wait_s=3600.0)
    day = simulate(LINE, fleet, req, progress=False)
    c = day.charging
    assert c["start_s"][0] == 0.0 and c["end_s"][0] == pytest.approx(21600.0 + 7 * 3600.0, abs=1e-6)
    assert c["energy_kwh"][0] == pytest.approx(70.0, abs=1e-9)
    load = day.charger_load_kw(3600.0)
    assert load[0, :6].sum() == 0.0 and load[0, 6:13].tolist() == [10.0] * 7
    np.testing.assert_allclose(load.sum(), c["energy_kwh"].sum(), atol=1e-9)  # kWh: 1 h slots
    check_day(day)


def test_overnight_charging_refills_for_the_next_day() -> None:
    # 90 % at the start; 3 km empty to the first pickup, two rides of 3 km, 3 km back to the depot's
    # charger: 12 kWh, refilled at 10 kW overnight
    fleet = _one_vehicle(0.9, np.array([10.0]))
    req = Requests(num_nodes=3, time_s=[3600.0, 36000.0], origin=[1, 2], destination=[2, 1], passengers=[1, 1])
    day = simulate(LINE, fleet, req, progress=False)
    b = day.energy_balance()
    assert b["driven_kwh"][0] == pytest.approx(12.0, abs=1e-9)
    assert day.charging["overnight"].tolist() == [True]
    assert day.charging["energy_kwh"][0] == pytest.approx(12.0, abs=1e-9)
    assert b["soc_end_kwh"][0] == pytest.approx(90.0, abs=1e-9) and b["deficit_kwh"][0] == 0.0
    assert day.kpis["charged_kwh"] == pytest.approx(day.kpis["energy_kwh"], abs=1e-9)
    without = simulate(LINE, fleet, req, overnight=False, progress=False)
    assert without.charging["vehicle"].size == 0 and without.energy_balance()["deficit_kwh"][0] == pytest.approx(9.0)
    check_day(day)


def test_a_deficit_is_reported_when_the_night_is_too_short() -> None:
    # 1 kW from the depot: from the last drop-off (about 23:00) to the first trip of the next day
    # (00:10) leaves about 1.2 h, so about 1.2 kWh of the 12 kWh needed
    fleet = _one_vehicle(0.9, np.array([1.0]))
    req = Requests(num_nodes=3, time_s=[600.0, 82800.0], origin=[1, 2], destination=[2, 1], passengers=[1, 1])
    day = simulate(LINE, fleet, req, progress=False)
    b = day.energy_balance()
    c = day.charging
    first_trip = day.legs["depart_s"].min()
    assert c["overnight"].tolist() == [True] and c["end_s"][0] == pytest.approx(first_trip + DAY_S, abs=1e-6)
    assert c["energy_kwh"][0] == pytest.approx((c["end_s"][0] - c["start_s"][0]) / 3600.0, abs=1e-9)
    assert b["deficit_kwh"][0] == pytest.approx(12.0 - c["energy_kwh"][0], abs=1e-9) and b["deficit_kwh"][0] > 10
    assert day.kpis["energy_deficit_kwh"] == pytest.approx(b["deficit_kwh"][0])
    check_day(day)


def test_sessions_past_midnight_fold_into_the_morning() -> None:
    index, day, start, end = within_day(np.array([100.0, DAY_S - 600.0, DAY_S + 50.0]),
                                        np.array([200.0, DAY_S + 900.0, DAY_S + 80.0]))  # fmt: skip
    assert index.tolist() == [0, 1, 1, 2] and day.tolist() == [0, 0, 1, 1]
    np.testing.assert_allclose(start, [100.0, DAY_S - 600.0, 0.0, 50.0])
    np.testing.assert_allclose(end, [200.0, DAY_S, 900.0, 80.0])
    # a day whose overnight charging runs past midnight: the charger load wraps onto the morning
    fleet = _one_vehicle(0.9, np.array([10.0]))
    req = Requests(num_nodes=3, time_s=[3600.0, 84000.0], origin=[1, 2], destination=[2, 1], passengers=[1, 1])
    sim = simulate(LINE, fleet, req, progress=False)
    assert sim.charging["end_s"].max() > DAY_S
    pieces = sim.charging_within_day()
    assert pieces["energy_kwh"].sum() == pytest.approx(sim.charging["energy_kwh"].sum(), abs=1e-9)
    assert np.all((pieces["start_s"] >= 0) & (pieces["end_s"] <= DAY_S))
    load = sim.charger_load_kw()
    assert load[0, 0] == pytest.approx(10.0) and load.sum() * 0.25 == pytest.approx(12.0, abs=1e-9)
    assert sim.fleet_state()["charging"][0] == 1.0  # still charging at 00:00


def test_a_fleet_without_battery_limits_needs_no_overnight_charging() -> None:
    fleet = dataclasses.replace(make_fleet(3, [0], 1, 4), vehicle_battery_kwh=np.array([np.inf]))
    req = Requests(num_nodes=3, time_s=[3600.0], origin=[1], destination=[2], passengers=[1])
    day = simulate(LINE, fleet, req, progress=False)
    assert day.charging["vehicle"].size == 0 and day.energy_balance()["deficit_kwh"].tolist() == [0.0]
    assert day.kpis["energy_deficit_kwh"] == 0.0


def test_the_day_ends_where_it_started() -> None:
    # the vehicle starts at node 0 and its last ride ends at node 2, where the only charger is: it
    # charges there for the way home too, then drives home
    one = _one_vehicle(0.9, np.array([10.0]))
    fleet = dataclasses.replace(one, depot_node=np.array([0, 2]), charger_node=np.array([2]))
    req = Requests(num_nodes=3, time_s=[3600.0], origin=[1], destination=[2], passengers=[1])
    day = simulate(LINE, fleet, req, progress=False)
    legs = day.legs
    assert legs["to"][-1].tolist() == [0.0, 0.0] and legs["depart_s"][-1] >= day.dropoff_s[0]  # home at the end
    b = day.energy_balance()
    assert b["soc_end_kwh"][0] == pytest.approx(90.0, abs=1e-9) and b["deficit_kwh"][0] == 0.0
    assert b["driven_kwh"][0] == pytest.approx(12.0, abs=1e-9)  # 3 km empty, 3 km riding, 6 km home
    assert day.charging["charger"].tolist() == [0] and day.charging["energy_kwh"][0] == pytest.approx(12.0)
    check_day(day)


def test_days_that_overlap_when_folded_are_refused() -> None:
    # a 0.5 kW charger needs 140 h for the 70 kWh: the "day" overlaps itself six times over
    fleet = _one_vehicle(0.2, np.array([0.5]))
    req = Requests(num_nodes=3, time_s=[50000.0], origin=[1], destination=[2], passengers=[1], max_wait_s=1e6)
    day = simulate(LINE, fleet, req, overnight=False, progress=False)
    assert day.charging["end_s"].max() > 5 * DAY_S
    with pytest.raises(ValueError, match="the day does not repeat"):
        day.charger_load_kw()


def test_an_unlimited_battery_has_no_balance_to_close() -> None:
    fleet = dataclasses.replace(make_fleet(3, [0], 2, 4), vehicle_battery_kwh=np.array([np.inf, np.inf]),
                                vehicle_soc0=np.array([0.0, 0.5]))  # fmt: skip
    req = Requests(num_nodes=3, time_s=[3600.0], origin=[1], destination=[2], passengers=[1])
    b = simulate(LINE, fleet, req, progress=False).energy_balance()
    assert np.isinf(b["soc_start_kwh"]).all() and b["deficit_kwh"].tolist() == [0.0, 0.0]
