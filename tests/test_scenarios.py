"""Scenario sweeps: the district variants, the sweep file, and a sweep on a 2-worker Dask
LocalCluster giving the same rows as running the scenarios one by one here."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from smartopt.app.cli import main
from smartopt.app.scenarios import check_scenario, district_variant, read_grid, run_scenario, sweep
from smartopt.datasets import sejong_5_1

distributed = pytest.importorskip("dask.distributed", reason="Dask is an optional extra (smartopt[dask])")
TIMINGS = ["runtime_s"]  # wall-clock figures: the only columns allowed to differ


@pytest.fixture(scope="module")
def cluster() -> Iterator[object]:
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as c:
        yield c


def test_variants_scale_demand_evs_and_fleet() -> None:
    base = sejong_5_1(3)
    double = district_variant({"seed": 3, "demand_scale": 2.0, "ev_share": 0.0, "fleet_size": 7})
    assert len(double.requests) == 2 * len(base.requests)
    np.testing.assert_array_equal(double.requests.time_s[::2], base.requests.time_s)
    assert double.energy.ev_energy_kwh.size == 0 and double.fleet.num_vehicles == 7
    half = district_variant({"seed": 3, "demand_scale": 0.5, "ev_share": 0.5})
    n, m = len(base.requests), base.energy.ev_energy_kwh.size
    assert abs(len(half.requests) - n / 2) < 4 * np.sqrt(n / 4)  # binomial thinning, 4 standard deviations
    assert abs(half.energy.ev_energy_kwh.size - m / 2) < 4 * np.sqrt(m / 4)
    assert half.fleet.num_vehicles == base.fleet.num_vehicles


@pytest.mark.parametrize(
    ("scenario", "match"),
    [
        ({"sed": 1}, "unknown override 'sed'"),
        ({"seed": -1}, "seed"),
        ({"demand_scale": 0}, "demand_scale"),
        ({"ev_share": 1.5}, "ev_share"),
        ({"fleet_size": 0}, "fleet_size"),
        ({"signals": "green"}, "signals"),
        ({"demand_scale": float("nan")}, "demand_scale"),
    ],
)
def test_bad_scenarios(scenario: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        check_scenario(scenario)


def test_sweep_on_two_workers_equals_a_sequential_run(cluster: object) -> None:
    scenarios = [
        {"seed": 0, "demand_scale": 1.2, "fleet_size": 14},
        {"seed": 1, "ev_share": 0.5, "signals": "webster"},
        {"seed": 2, "signals": "none"},
    ]
    with distributed.Client(cluster) as client:
        rows = sweep(scenarios, fn="dispatch", client=client, progress=False)
    alone = pd.DataFrame([run_scenario(s, "dispatch") for s in scenarios])
    timing = [c for c in TIMINGS if c in rows]
    pd.testing.assert_frame_equal(rows.drop(columns=timing), alone.drop(columns=timing))
    assert rows["fleet_size"].tolist()[0] == 14 and rows["requests"].iloc[0] > rows["requests"].iloc[1] * 1.1
    assert rows["served_ratio"].between(0.5, 1.0).all()


def test_sweep_file_and_command(cluster: object, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    grid = tmp_path / "sweep.toml"
    grid.write_text('fn = "dispatch"\n[grid]\nseed = [0, 1]\nfleet_size = [10, 20]\n[fixed]\nsignals = "none"\n')
    fn, scenarios = read_grid(grid)
    assert fn == "dispatch" and len(scenarios) == 4
    assert scenarios[1] == {"signals": "none", "seed": 0, "fleet_size": 20}
    out = tmp_path / "rows.csv"
    address = cluster.scheduler_address  # type: ignore[attr-defined]
    assert main(["sweep", "--grid", str(grid), "--scheduler", address, "--out", str(out)]) == 0
    rows = pd.read_csv(out)
    assert rows[["seed", "fleet_size"]].values.tolist() == [[0, 10], [0, 20], [1, 10], [1, 20]]
    assert (rows.groupby("seed")["mean_wait_s"].diff().dropna() < 0).all()  # twice the fleet, shorter waits
    assert "4 scenarios" in capsys.readouterr().out
    bad = tmp_path / "bad.toml"
    bad.write_text('fn = "dispatch"\n[grid]\nseed = 3\n')
    assert main(["sweep", "--grid", str(bad)]) == 1
    assert "grid.seed must be a non-empty list" in capsys.readouterr().err


def test_bad_functions_and_signals() -> None:
    from smartopt.app.pipeline import run_district

    with pytest.raises(ValueError, match="fn must be one of"):
        run_scenario({}, fn="everything")
    with pytest.raises(ValueError, match="fn must be one of"):
        sweep([{}], fn="everything")
    with pytest.raises(ValueError, match="dispatch_signals"):
        run_district(sejong_5_1(0), scenario="x", show=False, dispatch_signals="green")


def test_run_rows_name_the_first_and_last_peaks(monkeypatch: pytest.MonkeyPatch) -> None:
    """The delay columns are the district's first and last peak periods, whatever their names."""
    import smartopt.app.pipeline
    from results_examples import example_results

    results = example_results({"am_peak": 11.0, "midday": 22.0, "pm_peak": 33.0})
    monkeypatch.setattr(smartopt.app.pipeline, "run_district", lambda *args, **kwargs: SimpleNamespace(results=results))
    row = run_scenario({"seed": 0}, fn="run")
    assert sejong_5_1(0).peak_periods == ("am_peak", "pm_peak")
    assert row["first_peak_delay_veh_h"] == 11.0 and row["last_peak_delay_veh_h"] == 33.0
    assert list(row)[len(check_scenario({})) :] == [
        "first_peak_delay_veh_h", "last_peak_delay_veh_h", "peak_kw_uncontrolled", "peak_kw_planned",
        "overloaded_trafos_planned", "min_vm_pu_planned", "served_ratio", "mean_wait_s", "vehicle_km", "fleet_needed",
        "booked_km", "runtime_s",
    ]  # fmt: skip
    assert row["fleet_needed"] == results.dispatch.on_demand.fleet_sizing.smallest_fleet
