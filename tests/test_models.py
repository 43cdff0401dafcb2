"""Validation rules of the domain models: Intersection, Grid, EnergyDay, Fleet, Requests."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from smartopt.app.district import District
from smartopt.dispatch import Fleet, Requests
from smartopt.energy import EnergyDay, Grid
from smartopt.signals import Intersection


def four_leg() -> dict[str, Any]:
    """A valid two-stage intersection: approaches 0-3, one shared lane group each, 3 movements each."""
    return {
        "id": "X",
        "node": 0,
        "approach_link": [0, 1, 2, 3],
        "crossing_length_m": [10.0, 10.0, 10.0, 10.0],
        "lane_group_approach": [0, 1, 2, 3],
        "lane_group_lanes": [1, 1, 1, 1],
        "saturation_flow_vph": [1700.0, 1700.0, 1700.0, 1700.0],
        "movement_lane_group": np.repeat(np.arange(4), 3),
        "movement_out_link": np.arange(12) + 4,
        "movement_turn": ["L", "T", "R"] * 4,
        "volume_vph": np.full((3, 12), 100.0),
        "stage_movements": (np.arange(0, 6), np.arange(6, 12)),
        "min_green_s": [10.0, 10.0],
        "max_green_s": [60.0, 60.0],
        "yellow_s": [3.0, 3.0],
        "all_red_s": [1.0, 1.0],
        "ped_min_green_s": [17.0, 17.0],
        "cycle_min_s": 40.0,
        "cycle_max_s": 150.0,
    }


def test_valid_intersection_and_webster_y() -> None:
    x = Intersection(**four_leg())
    # Each stage serves two lane groups of 300 veh/h over 1700 veh/h: Y = 2 * 300/1700.
    np.testing.assert_allclose(x.critical_flow_ratio(), 2 * 300 / 1700)
    assert x.lost_time_s == 8.0
    assert x.lane_group_volume_vph().shape == (3, 4)


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        (
            {"stage_movements": (np.arange(0, 6), np.arange(6, 11))},
            "intersection X: movement 11 is served by no stage",
        ),
        (
            {"saturation_flow_vph": [1700.0, 0.0, 1700.0, 1700.0]},
            "intersection X: lane group 1 carries volume but has zero saturation flow",
        ),
        ({"min_green_s": [10.0, 70.0]}, "intersection X, stage 1: min_green=70 s exceeds max_green=60 s"),
        ({"yellow_s": [3.0, -3.0]}, r"intersection X: yellow_s\[1\]=-3.0 must be >= 0"),
        ({"ped_min_green_s": [17.0, 61.0]}, "stage 1: pedestrian min green=61 s exceeds max_green=60 s"),
        ({"cycle_min_s": 160.0}, "cycle bounds must satisfy 0 < cycle_min_s <= cycle_max_s"),
        (
            {"cycle_max_s": 20.0, "cycle_min_s": 10.0},
            "minimum greens and intergreens need 42 s, over cycle_max_s=20 s",
        ),
        (
            {"max_green_s": [12.0, 12.0], "ped_min_green_s": [0.0, 0.0]},
            "maximum greens and intergreens give at most 32 s, under cycle_min_s=40 s",
        ),
        ({"movement_turn": ["L", "T", "X"] * 4}, "intersection X: movement 2: turn 'X' is not one of"),
        (
            {"movement_lane_group": np.repeat(np.arange(4), 3) + 1},
            r"movement_lane_group\[9\]=4 is not an index",
        ),
        ({"volume_vph": np.full((3, 11), 100.0)}, r"volume_vph must have shape \(\*, 12\)"),
        ({"volume_vph": np.full((3, 12), np.nan)}, r"volume_vph\[0, 0\]=nan is not finite"),
        ({"lane_group_lanes": [1, 0, 1, 1]}, r"lane_group_lanes\[1\]=0 must be >= 1"),
        ({"stage_movements": ()}, "needs at least one stage"),
        ({"stage_movements": (np.arange(0, 6), np.array([6, 7, 40]))}, r"stage_movements\[1\]\[2\]=40"),
    ],
)
def test_intersection_rules(changes: dict[str, Any], match: str) -> None:
    kwargs = four_leg()
    kwargs.update(changes)
    with pytest.raises(ValueError, match=match):
        Intersection(**kwargs)


def small_grid(**changes: Any) -> Grid:
    """slack 22.9 kV bus 0 -> line -> bus 1 -> trafo -> LV bus 2 with one load."""
    kwargs: dict[str, Any] = {
        "bus_vn_kv": [22.9, 22.9, 0.4],
        "line_from": [0],
        "line_to": [1],
        "line_r_ohm_per_km": [0.1],
        "line_x_ohm_per_km": [0.2],
        "line_max_i_ka": [0.4],
        "trafo_hv_bus": [1],
        "trafo_lv_bus": [2],
        "trafo_sn_kva": [630.0],
        "trafo_vk_percent": [4.0],
        "trafo_vkr_percent": [1.0],
        "load_bus": [2],
    }
    kwargs.update(changes)
    return Grid(**kwargs)


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        (
            {"bus_vn_kv": [22.9, 22.9, 0.4, 22.9], "switch_bus_a": [1, 3], "switch_bus_b": [3, 1]},
            r"switch 1 \(bus 3 - bus 1\) closes a loop of closed switches \(zero impedance\): bus 1 - bus 3 - bus 1",
        ),
        (
            {"bus_vn_kv": [22.9, 22.9, 0.4, 22.9], "switch_bus_a": [0], "switch_bus_b": [3], "extra_slack_bus": [3]},
            r"switch 0 \(bus 0 - bus 3\) closes a loop of closed switches and slacks \(zero impedance\): "
            r"bus 3 - bus 0 - bus 3",
        ),
        (
            {"bus_vn_kv": [22.9, 22.9, 0.4, 0.4], "switch_bus_a": [2, 3], "switch_bus_b": [3, 1]},
            r"switch 1 joins buses of different voltage \(0.4 kV and 22.9 kV\)",
        ),
        ({"line_to": [0]}, "line 0 joins bus 0 to itself"),
        ({"extra_slack_bus": [0]}, r"slack_bus and extra_slack_bus must name distinct buses, got \[0, 0\]"),
        ({"extra_slack_bus": [1], "extra_slack_vm_pu": [0.0]}, r"extra_slack_vm_pu\[0\]=0.0 must be > 0"),
        ({"bus_vn_kv": [22.9, 22.9, 0.4, 0.4]}, "bus 3 is islanded: no path to the slack bus 0"),
        ({"line_r_ohm_per_km": [0.0], "line_x_ohm_per_km": [0.0]}, r"line 0 has zero impedance"),
        ({"line_r_ohm_per_km": [-0.1]}, r"line_r_ohm_per_km\[0\]=-0.1 must be >= 0"),
        ({"line_length_km": [0.0]}, r"line_length_km\[0\]=0.0 must be > 0"),
        ({"line_b_us_per_km": [-1.0]}, r"line_b_us_per_km\[0\]=-1.0 must be >= 0"),
        ({"trafo_tap_side": ["mv"]}, r"trafo_tap_side\[0\]='mv' must be 'hv' or 'lv'"),
        ({"trafo_tap_ratio": [np.nan]}, r"trafo_tap_ratio\[0\]=nan is not finite"),
        ({"switch_bus_a": [0], "switch_bus_b": [9]}, r"switch_bus_b\[0\]=9 is not an index"),
        ({"gen_bus": [1], "gen_p_kw": [1.0, 2.0]}, r"gen_p_kw must have shape \(1,\)"),
        ({"load_p_kw": [np.inf]}, r"load_p_kw\[0\]=inf is not finite"),
        ({"line_to": [5]}, r"line_to\[0\]=5 is not an index in \[0, 3\)"),
        ({"load_bus": [7]}, r"load_bus\[0\]=7 is not an index"),
        ({"line_x_ohm_per_km": [np.nan]}, r"line_x_ohm_per_km\[0\]=nan is not finite"),
        ({"trafo_sn_kva": [0.0]}, r"trafo_sn_kva\[0\]=0.0 must be > 0"),
        ({"trafo_vkr_percent": [5.0]}, "trafo 0: trafo_vkr_percent=5.0 must be below trafo_vk_percent=4.0"),
        ({"trafo_hv_bus": [2], "trafo_lv_bus": [1]}, "trafo 0: hv bus 2 has a lower voltage than lv bus 1"),
        ({"line_to": [2]}, "line 0 joins buses of different voltage"),
        ({"bus_vn_kv": [22.9]}, "a grid needs at least two buses"),
        ({"slack_bus": 9}, r"slack_bus\[0\]=9 is not an index"),
    ],
)
def test_grid_rules(changes: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        small_grid(**changes)


def energy_day(**changes: Any) -> EnergyDay:
    kwargs: dict[str, Any] = {
        "grid": small_grid(),
        "slot_h": 0.25,
        "load_kw": np.full((8, 1), 100.0),
        "load_kvar": np.full((8, 1), 30.0),
        "pv_bus": [2],
        "pv_kwp": [50.0],
        "pv_profile_pu": np.linspace(0, 0.7, 8),
        "battery_bus": [2],
        "battery_kwh": [100.0],
        "battery_kw": [50.0],
        "battery_soc0": [0.5],
        "charger_bus": [2, 2],
        "charger_kw": [7.0, 50.0],
        "charger_kind": ["slow", "fast"],
        "ev_charger": [0, 1],
        "ev_arrival_slot": [0, 2],
        "ev_departure_slot": [8, 4],
        "ev_energy_kwh": [10.0, 20.0],
        "ev_max_kw": [11.0, 100.0],
    }
    kwargs.update(changes)
    return EnergyDay(**kwargs)


def test_energy_day_profiles() -> None:
    day = energy_day()
    np.testing.assert_allclose(day.net_load_kw(), 100.0 - 50.0 * np.linspace(0, 0.7, 8))
    # EV 0: 7 kW for 10 kWh = 5.71 slots; EV 1: 50 kW for 20 kWh = 1.6 slots from slot 2.
    ev = day.uncontrolled_ev_kw()
    np.testing.assert_allclose(ev[:5], [7.0, 7.0, 57.0, 7.0 + 0.6 * 50.0, 7.0])
    assert ev.sum() * 0.25 == pytest.approx(30.0)


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"ev_departure_slot": [8, 2]}, "EV 1: departure slot 2 is not after arrival slot 2"),
        ({"ev_departure_slot": [9, 4]}, r"ev_departure_slot\[0\]=9 is past the horizon of 8 slots"),
        ({"ev_energy_kwh": [10.0, 30.0]}, "EV 1: asks 30 kWh but can take at most 25 kWh while plugged in"),
        ({"ev_charger": [0, 2]}, r"ev_charger\[1\]=2 is not an index"),
        ({"load_kw": np.full((8, 2), 1.0)}, r"load_kw must have shape \(\*, 1\)"),
        ({"battery_soc0": [1.5]}, r"battery_soc0 must be a fraction"),
        ({"pv_profile_pu": np.full(7, 0.1)}, r"pv_profile_pu must have shape \(8,\)"),
        ({"slot_h": 0.0}, "slot_h must be a finite number > 0, got 0.0"),
        ({"charger_kind": ["slow"]}, r"charger_kind must have shape \(2,\)"),
    ],
)
def test_energy_day_rules(changes: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        energy_day(**changes)


def fleet(**changes: Any) -> Fleet:
    kwargs: dict[str, Any] = {
        "num_nodes": 10,
        "depot_node": [0, 5],
        "vehicle_depot": [0, 1, 1],
        "vehicle_seats": [8, 8, 12],
        "vehicle_battery_kwh": [60.0, 60.0, 90.0],
        "vehicle_kwh_per_km": [0.3, 0.3, 0.4],
        "vehicle_soc0": [1.0, 0.8, 0.5],
        "charger_node": [0],
        "charger_kw": [50.0],
        "charger_bus": [3],
    }
    kwargs.update(changes)
    return Fleet(**kwargs)


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"depot_node": [0, 10]}, r"depot_node\[1\]=10 is not an index in \[0, 10\)"),
        ({"vehicle_depot": [0, 2, 1]}, r"vehicle_depot\[1\]=2 is not an index in \[0, 2\)"),
        ({"vehicle_seats": [8, 0, 12]}, r"vehicle_seats\[1\]=0 must be >= 1"),
        ({"vehicle_battery_kwh": [60.0, -1.0, 90.0]}, r"vehicle_battery_kwh\[1\]=-1.0 must be > 0"),
        ({"vehicle_soc0": [1.0, 1.2, 0.5]}, r"vehicle_soc0\[1\] must be a fraction"),
        ({"vehicle_depot": []}, "vehicle_depot is empty"),
        ({"charger_kw": [50.0, 50.0]}, r"charger_kw must have shape \(1,\)"),
    ],
)
def test_fleet_rules(changes: dict[str, Any], match: str) -> None:
    assert fleet().num_vehicles == 3
    with pytest.raises(ValueError, match=match):
        fleet(**changes)


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"time_s": [5.0, 1.0]}, "time_s must be sorted; request 1 is earlier"),
        ({"origin": [0, 12]}, r"origin\[1\]=12 is not an index in \[0, 10\)"),
        ({"destination": [1, 3]}, "request 1 has the same origin and destination"),
        ({"passengers": [1, 0]}, r"passengers\[1\]=0 must be >= 1"),
        ({"time_s": [1.0, np.nan]}, r"time_s\[1\]=nan is not finite"),
        ({"passengers": [1.0, 2.0]}, "passengers must be an integer array"),
    ],
)
def test_request_rules(changes: dict[str, Any], match: str) -> None:
    kwargs: dict[str, Any] = {
        "num_nodes": 10,
        "time_s": [1.0, 5.0],
        "origin": [0, 3],
        "destination": [1, 4],
        "passengers": [1, 2],
    }
    assert len(Requests(**kwargs)) == 2
    kwargs.update(changes)
    with pytest.raises((ValueError, TypeError), match=match):
        Requests(**kwargs)


def test_district_repr_and_summary(district: District) -> None:
    assert repr(district).startswith("District('Sejong 5-1")
    small = replace(district, facts={})
    assert "facts" not in small.summary()
