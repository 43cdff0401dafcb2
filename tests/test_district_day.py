"""The district day tells the truth: every kWh the fleet charges enters the energy plan, the day
repeats (each shuttle ends it with at least its starting charge, or a deficit is reported), the
depots' charging stays within their spare power in every slot, and ``smartopt run`` gives the same
results twice and on 1 or 2 threads. Tolerances: 1e-6 kWh."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from smartopt.app.pipeline import run_district
from smartopt.datasets import sejong_5_1


@pytest.mark.parametrize(
    ("seed", "budget"),
    [
        (0, {"shuttle_iterations": 100, "phase_iterations": 1_000_000}),
        (1, {"shuttle_iterations": 100, "phase_iterations": 1_000_000}),
        (2, {"time_limit_s": 0.5}),  # wall-clock budgets instead
    ],
)
def test_the_fleets_energy_balances_and_enters_the_plan(seed: int, budget: dict[str, Any]) -> None:
    district = sejong_5_1(seed)
    run = run_district(district, scenario="sejong-5-1", seed=seed, show=False, **budget)
    r = run.results
    on_demand, charging = r.dispatch.on_demand, r.coupling.shuttle_charging
    charged = on_demand.kpis.charged_kwh
    assert charged > 0
    assert charging.energy_kwh == pytest.approx(charged, abs=1e-6)
    added = run.energy_day.ev_energy_kwh[district.energy.ev_energy_kwh.size :]
    assert added.sum() == pytest.approx(charged, abs=1e-6)  # in the energy day the plan schedules
    served = run.day_plan.ev_kw[district.energy.ev_energy_kwh.size :].sum() * district.energy.slot_h
    assert served == pytest.approx(charged, rel=1e-6)  # and the plan delivers it
    day = run.fleet_day
    assert day.charging_within_day()["energy_kwh"].sum() == pytest.approx(charged, abs=1e-6)
    # the day repeats: each shuttle ends at least at its starting charge, or its deficit is reported
    b = day.energy_balance()
    np.testing.assert_allclose(b["soc_start_kwh"] - b["driven_kwh"] + b["charged_kwh"], b["soc_end_kwh"], atol=1e-6)
    assert np.all(b["soc_end_kwh"] + b["deficit_kwh"] >= b["soc_start_kwh"] - 1e-6)
    balance = on_demand.energy_balance
    assert balance.vehicles_short == tuple(f"shuttle {k}" for k in np.flatnonzero(b["deficit_kwh"] > 0))
    assert balance.soc_end_kwh + balance.deficit_kwh >= balance.soc_start_kwh - 1e-6
    assert balance.charged_kwh == pytest.approx(charged, abs=1e-6)
    assert 0 < balance.overnight_kwh <= charged
    # the depots draw at most their transformers' spare power, slot by slot
    limit_kw, slot_s = run.district.fleet.charger_power_kw()
    assert limit_kw.shape[1] == district.energy.num_slots and slot_s == district.energy.slot_h * 3600
    assert np.all(day.charger_load_kw(slot_s) <= limit_kw + 1e-9)


def _run_cli(out: Path, *args: str) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k not in ("SMARTOPT_NUM_THREADS", "NUMBA_NUM_THREADS")}
    done = subprocess.run(
        [sys.executable, "-m", "smartopt", "run", "--out", str(out), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    results: dict[str, Any] = json.loads((out / "results.json").read_text())
    return results


def _without_timings(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _without_timings(v) for k, v in x.items() if not k.endswith("runtime_s")}
    if isinstance(x, list):
        return [_without_timings(v) for v in x]
    return x


def test_smartopt_run_repeats_on_one_or_two_threads(tmp_path: Path) -> None:
    runs = {name: _run_cli(tmp_path / name, "--threads", threads) for name, threads in
            (("first", "1"), ("again", "1"), ("two_threads", "2"))}  # fmt: skip
    text = {name: json.dumps(_without_timings(r), indent=2) for name, r in runs.items()}
    assert text["again"] == text["first"]
    assert text["two_threads"] == text["first"]
    for table in ("signals.csv", "grid_day.csv", "energy_plan.csv", "shuttle_routes.csv", "shuttle_day.csv"):
        first = (tmp_path / "first" / table).read_bytes()
        assert (tmp_path / "again" / table).read_bytes() == first, table
        assert (tmp_path / "two_threads" / table).read_bytes() == first, table


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"shuttle_iterations": 0}, "shuttle_iterations must be an int >= 1"),
        ({"phase_iterations": 2.5}, "phase_iterations must be an int >= 1"),
        ({"time_limit_s": 0.0}, "time_limit_s must be None or a finite number of seconds > 0"),
        ({"time_limit_s": float("nan")}, "time_limit_s must be None"),
        ({"dispatch_signals": "green"}, "dispatch_signals must be one of"),
    ],
)
def test_bad_budgets_are_refused_before_anything_runs(options: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        run_district(sejong_5_1(), scenario="sejong-5-1", show=False, **options)


def test_shuttle_routes_show_the_recharges(tmp_path: Path) -> None:
    """With a tenth of their battery (22 km of range) and the chargers at the spare power that
    ``smartopt run`` gives them (0-42 kW by the quarter hour), the district's shuttles return to
    their depot's charger between runs of booked trips: each such stop is a row of
    ``shuttle_routes.csv`` at its shuttle's depot with no booking, for the worst-case recharge time
    of its chargers, and the summary counts them."""
    import dataclasses

    import pandas as pd

    from smartopt.app.coupling import depot_charging_kw
    from smartopt.app.pipeline import _shuttle_plan
    from smartopt.dispatch.shuttles import worst_charge_time_s
    from smartopt.energy import plan_day

    district = sejong_5_1(0)
    alone = plan_day(district.energy)
    fleet = dataclasses.replace(
        district.fleet,
        vehicle_battery_kwh=district.fleet.vehicle_battery_kwh / 10,
        charger_kw=depot_charging_kw(alone, district.fleet, floor_kw=0.0),
        charger_slot_s=900.0,
    )
    assert (fleet.charger_kw == 0).any()  # a charger without power in some quarter hours
    small = dataclasses.replace(district, fleet=fleet)
    summary = _shuttle_plan(small, 0, tmp_path, max_iterations=1500, time_limit_s=None, time_of_day=[])
    routes = pd.read_csv(tmp_path / "shuttle_routes.csv", dtype={"node": str, "depot": str})
    recharge = routes[routes["reload"]]
    assert summary.feasible and summary.served == summary.bookings
    assert summary.recharges == len(recharge) > 0
    assert recharge["booking"].isna().all() and routes[~routes["reload"]]["booking"].notna().all()
    assert (recharge["node"] == recharge["depot"]).all()
    ids = district.network.node_ids
    for vehicle, stops in routes.groupby("vehicle"):  # the fleet's shuttle, from its own depot
        assert set(stops["depot"]) == {ids[fleet.depot_node[fleet.vehicle_depot[vehicle]]]}
    energy = 11.0 * 0.9  # kWh
    for depot, stops in recharge.groupby("depot"):
        at = fleet.charger_node == district.network.node_index(depot)[0]
        worst = min(worst_charge_time_s(kw, 900.0, energy) for kw in fleet.charger_kw[at])
        assert worst > energy / 60.0 * 3600.0  # longer than at a steady 60 kW
        for k in stops.index:  # the next stop waits for the recharge
            if k + 1 in routes.index and routes.loc[k + 1, "vehicle"] == routes.loc[k, "vehicle"]:
                assert routes.loc[k + 1, "service_start"] >= routes.loc[k, "service_start"] + worst - 1e-6
    bookings = routes[~routes["reload"]]["booking"].value_counts()
    assert (bookings == 2).all() and len(bookings) == summary.bookings  # a pickup and a drop-off each
