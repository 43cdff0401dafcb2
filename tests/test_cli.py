"""The ``smartopt`` command line."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import smartopt
from smartopt.cli import main


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"smartopt {smartopt.__version__}"


def test_info_prints_the_district(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "Sejong 5-1" in out and "signalised intersections" in out and "shuttles" in out


def undocumented_keys(results: dict[str, Any]) -> set[str]:
    """Keys of ``results`` (nested, list items too) that docs/results.md does not name in backticks."""
    doc = (Path(__file__).resolve().parents[1] / "docs" / "results.md").read_text()
    named = set(re.findall(r"`([a-z0-9_]+)`", doc))
    keys: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            keys.update(value)
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(results)
    return {k for k in keys - named if not re.fullmatch(r"from_\d+h", k)}


def test_run_writes_results(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--out", str(tmp_path / "out"), "--seed", "2"]) == 0
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert {"signals", "energy", "dispatch"} <= set(results)
    trips = results["dispatch"]["booked_trips"]
    assert trips["feasible"] and trips["served"] == trips["bookings"] > 0 and trips["on_time_rate"] == 1.0
    day = results["dispatch"]["on_demand"]
    assert day["kpis"]["requests"] == results["dispatch"]["requests"] and day["kpis"]["served_ratio"] > 0.5
    sizing = day["fleet_sizing"]
    if sizing["smallest_fleet"] is not None:
        k = sizing["sizes"].index(sizing["smallest_fleet"])
        assert sizing["served_ratio"][k] >= 0.95 and sizing["mean_wait_s"][k] <= 300
        assert all(
            s < 0.95 or w > 300 for s, w in zip(sizing["served_ratio"][:k], sizing["mean_wait_s"][:k], strict=True)
        )
    replan = day["reoptimization"]
    assert replan["shuttles"] == (sizing["smallest_fleet"] or results["dispatch"]["shuttles"])
    assert replan["kpis_with"]["reoptimizations"] > 0 and replan["kpis_with"]["broken_promises"] == 0
    assert replan["kpis_with"]["vehicle_km"] < replan["kpis_without"]["vehicle_km"]  # 7.8 % less at seed 0
    coupled = results["coupling"]["signal_aware_dispatch"]
    assert set(coupled["kpis"]) == {"free_flow", "webster_signals", "smartopt_signals"}
    assert all(k["requests"] == results["dispatch"]["requests"] for k in coupled["kpis"].values())
    for added in coupled["mean_added_time_s"].values():  # s per trip: > 0 in the signal hours, 0 at night
        assert list(added) == ["from_6h", "from_10h", "from_16h", "from_20h"]
        assert min(list(added.values())[:3]) > 0 and added["from_20h"] == 0
    charging = results["coupling"]["shuttle_charging"]
    assert 0 < charging["sessions"] <= day["charging_sessions"]  # sessions after midnight are left out
    assert 0 < charging["energy_kwh"] <= day["charged_kwh"] + 1e-6
    peaks = charging["uncontrolled_peak_kw"]
    assert peaks["with_shuttles"] >= peaks["without_shuttles"]
    assert results["energy"]["plan"]["after"] == charging["plan"]["with_shuttles"]
    assert all(7.0 <= d["charger_kw"] <= charging["full_charger_kw"] for d in charging["depot_charger_kw"])
    # the coupling's point: at full power the depots overload their transformers, at the limit they do not
    plans = charging["plan"]
    assert plans["with_shuttles"]["overloaded_trafos"] <= plans["without_shuttles"]["overloaded_trafos"]
    assert plans["with_shuttles_at_full_power"]["overloaded_trafos"] > plans["with_shuttles"]["overloaded_trafos"]
    for name in ("time_space.png", "energy_plan.png", "fleet_day.png"):
        assert (tmp_path / "out" / name).stat().st_size > 10_000
    page = (tmp_path / "out" / "report.html").read_text()
    assert page.count("<img src='data:image/png;base64,") == 5 and "src='http" not in page  # self-contained
    for heading in ("Before and after", "Signals", "Energy", "Dispatch", "Coupling"):
        assert f"<h2>{heading}</h2>" in page
    assert undocumented_keys(results) == set()
    day_rows = (tmp_path / "out" / "shuttle_day.csv").read_text().splitlines()
    assert len(day_rows) == 1 + results["dispatch"]["requests"]
    assert results["seed"] == 2 and results["network"]["nodes"] > 300
    assert results["energy"]["uncontrolled_peak_kw"] > results["energy"]["base_peak_kw"] * 0.8
    timing = results["signals"]["periods"]["pm_peak"]["timing"]
    assert timing["smartopt"]["total_delay_veh_h"] < timing["webster"]["total_delay_veh_h"]
    table = (tmp_path / "out" / "signals.csv").read_text().splitlines()
    assert table[0] == "period,intersection,plan,cycle_s,greens_s,delay_s,los"
    assert len(table) == 1 + 3 * 2 * results["signals"]["intersections"]  # 3 periods x 2 plans
    wave = results["signals"]["coordination"]
    assert wave["bandwidth_out_s"] > sum(wave["uncoordinated_bandwidth_s"]) / 2
    assert (tmp_path / "out" / "time_space.png").stat().st_size > 10_000
    grid = results["energy"]["grid"]
    assert grid["slots_converged"] == results["energy"]["slots"]
    assert 0.9 < grid["min_vm_pu"] < 1.0 and grid["min_vm_bus"].startswith("LV ")
    frame = (tmp_path / "out" / "grid_day.csv").read_text().splitlines()
    assert frame[0].startswith("time,min_vm_pu") and len(frame) == 1 + results["energy"]["slots"]
    overloaded = [v["worst"] for v in grid["violations"] if v["kind"] == "trafo"]
    assert overloaded and min(overloaded) > 100.0  # uncontrolled charging overloads transformers
    assert grid["peak_trafo"]["loading_percent"] == pytest.approx(max(overloaded))
    plan = results["energy"]["plan"]
    # Seed 2 has fast chargers behind small transformers: the plan accepts what it cannot avoid.
    assert plan["after"]["overloaded_trafos"] < plan["before"]["overloaded_trafos"]
    assert (plan["after"]["overloaded_trafos"] > 0) == (plan["accepted_overload_kw"] > 0)
    assert plan["after"]["buses_out_of_band"] == 0
    assert plan["after"]["peak_kw"] < plan["before"]["peak_kw"]
    assert plan["ev_energy_served_kwh"] == pytest.approx(plan["ev_energy_asked_kwh"], abs=0.1)
    assert (tmp_path / "out" / "energy_plan.png").stat().st_size > 10_000
    phases = plan["phases"]
    assert phases["balanced_worst_imbalance_kw"] < phases["in_turn_worst_imbalance_kw"]
    assert phases["balanced_mean_worst_imbalance_kw"] < phases["in_turn_mean_worst_imbalance_kw"]
    plan_frame = (tmp_path / "out" / "energy_plan.csv").read_text().splitlines()
    assert plan_frame[0].startswith("slot,demand_before_kw") and len(plan_frame) == 1 + results["energy"]["slots"]
    out = capsys.readouterr().out
    assert "Results in" in out and "results.json" in out and "Webster -> smartopt" in out and "Before and after:" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["bogus"], "invalid choice: 'bogus'"),
        (["run", "--seed", "x"], "argument --seed: invalid int value: 'x'"),
        (["run", "--seed", "-4"], "argument --seed: must be >= 0, got -4"),
        (["info", "--scenario", "seoul"], "argument --scenario: invalid choice: 'seoul'"),
    ],
)
def test_bad_arguments_give_one_line_and_status_2(argv: list[str], message: str) -> None:
    result = subprocess.run([sys.executable, "-m", "smartopt", *argv], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr
    assert "Traceback" not in result.stderr


def test_unwritable_output_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = subprocess.run(
        [sys.executable, "-m", "smartopt", "run", "--out", str(blocker / "sub")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("smartopt: error:") and "Traceback" not in result.stderr


def test_no_command_prints_help() -> None:
    result = subprocess.run([sys.executable, "-m", "smartopt"], capture_output=True, text=True)
    assert result.returncode == 0 and "usage: smartopt" in result.stdout


def test_steps_count_up_in_a_terminal(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import sys
    import time

    from smartopt.pipeline import Steps

    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    with Steps()("a long step"):
        time.sleep(2.3)
    out = capsys.readouterr().out
    assert out.count("\r  a long step") >= 2  # at least one tick while it runs, then the final time
    assert out.endswith(" s\n")
    with Steps(show=False)("quiet"):
        pass
    assert capsys.readouterr().out == ""
    monkeypatch.setattr(sys.stdout, "isatty", lambda: False)
    with Steps()("to a file"):
        pass
    out = capsys.readouterr().out
    assert out.count("to a file") == 1 and "\r" not in out and out.endswith(" s\n")
