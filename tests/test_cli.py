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
from smartopt.app.cli import main


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
    # every kWh goes in, in the quarter hours it is drawn
    assert charging["charging_slots"] >= day["charging_sessions"]
    assert charging["energy_kwh"] == pytest.approx(day["kpis"]["charged_kwh"], abs=1e-6) and charging["energy_kwh"] > 0
    assert day["charged_kwh"] == day["kpis"]["charged_kwh"]
    peaks = charging["uncontrolled_peak_kw"]
    assert peaks["with_shuttles"] >= peaks["without_shuttles"]
    assert results["energy"]["plan"]["after"] == charging["plan"]["with_shuttles"]
    assert all(0.0 <= d["min_kw"] <= d["max_kw"] <= charging["full_charger_kw"] for d in charging["depot_charger_kw"])
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
    first = dict(zip(day_rows[0].split(","), day_rows[1].split(","), strict=True))
    assert not first["origin"].isdigit() and not first["destination"].isdigit()  # node ids, not positions
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
    # judged by the three-phase power flow: less voltage unbalance and neutral current, a higher lowest phase
    assert 0 < phases["balanced_max_unbalance_percent"] < phases["in_turn_max_unbalance_percent"]
    assert 0 < phases["balanced_max_neutral_a"] < phases["in_turn_max_neutral_a"]
    assert phases["balanced_min_phase_vm_pu"] > phases["in_turn_min_phase_vm_pu"]
    plan_frame = (tmp_path / "out" / "energy_plan.csv").read_text().splitlines()
    assert plan_frame[0].startswith("slot,time_h,demand_before_kw")
    assert len(plan_frame) == 1 + results["energy"]["slots"]
    out = capsys.readouterr().out
    assert "Results in" in out and "results.json" in out and "Webster -> smartopt" in out and "Before and after:" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["bogus"], "invalid choice: 'bogus'"),
        (["run", "--seed", "x"], "argument --seed: invalid int value: 'x'"),
        (["run", "--seed", "-4"], "argument --seed: must be >= 0, got -4"),
        (["run", "--seed", "99999999999999999999"], "argument --seed: must be <= 2147483647, got 99999999999999999999"),
        (["info", "--seed", "2147483648"], "argument --seed: must be <= 2147483647, got 2147483648"),
        (["run", "--time-limit", "0"], "argument --time-limit: must be a number of seconds > 0, got 0"),
        (["run", "--time-limit", "inf"], "argument --time-limit: must be a number of seconds > 0, got inf"),
        (["run", "--threads", "0"], "argument --threads: must be >= 1, got 0"),
        (["sweep", "--grid", "g.toml", "--threads", "-1"], "argument --threads: must be >= 1, got -1"),
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

    from smartopt.app.pipeline import Steps

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


TINY_VRP = """NAME : tiny
TYPE : CVRP
DIMENSION : 4
EDGE_WEIGHT_TYPE : EUC_2D
CAPACITY : 10
NODE_COORD_SECTION
1 0 0
2 10 0
3 0 10
4 10 10
DEMAND_SECTION
1 0
2 3
3 4
4 5
DEPOT_SECTION
1
-1
EOF
"""


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("untyped.vrp", TINY_VRP.replace("EDGE_WEIGHT_TYPE : EUC_2D\n", ""), "no EDGE_WEIGHT_TYPE specification"),
        (
            "cut.vrp",
            "".join(TINY_VRP.splitlines(keepends=True)[:9]),
            "line 6: NODE_COORD_SECTION has 3 rows, DIMENSION is 4",
        ),
        ("short_row.vrp", TINY_VRP.replace("4 10 10\n", "4 10\n"), "line 10: 2 values in a row of NODE_COORD_SECTION"),
        ("text.vrp", TINY_VRP.replace("3 4\n", "3 four\n"), "line 14: 'four' in DEMAND_SECTION is not a number"),
        (
            "X-n5-k1.sol",
            "Route #1: 1 2\nRoute #2: 3 4\nCost 42\n",
            "line 1: 'Route #1: 1 2' is a route of a VRPLIB solution",
        ),
        ("empty.vrp", "", "no DIMENSION specification"),
        ("prose.vrp", "Dear user,\nthis is no instance.\n", "line 1: 'Dear user,' is neither"),
        ("image.vrp", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", "not a text file"),
        ("missing.vrp", None, "no VRPLIB file at"),
    ],
)
def test_route_reports_a_bad_instance_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, content: str | bytes | None, message: str
) -> None:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    assert main(["route", str(path), "--time-limit", "0.1"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("smartopt: error: ") and err.count("\n") == 1, err
    assert name in err and message in err, err


def test_route_runs_on_a_tiny_instance_and_reports_bad_ones_without_a_traceback(tmp_path: Path) -> None:
    good, bad = tmp_path / "tiny.vrp", tmp_path / "untyped.vrp"
    good.write_text(TINY_VRP)
    bad.write_text(TINY_VRP.replace("EDGE_WEIGHT_TYPE : EUC_2D\n", ""))
    ok = subprocess.run(
        [sys.executable, "-m", "smartopt", "route", str(good), "--time-limit", "0.2"], capture_output=True, text=True
    )
    assert ok.returncode == 0 and ok.stdout.startswith("VRPProblem(tiny") and ok.stderr == ""
    failed = subprocess.run([sys.executable, "-m", "smartopt", "route", str(bad)], capture_output=True, text=True)
    assert failed.returncode == 1 and "Traceback" not in failed.stderr
    assert failed.stderr.startswith("smartopt: error:") and "EDGE_WEIGHT_TYPE" in failed.stderr


def test_a_closed_pipe_ends_the_command_quietly(tmp_path: Path) -> None:
    """``smartopt route FILE | head`` when head has gone: no traceback, no "Broken pipe"."""
    path = tmp_path / "tiny.vrp"
    path.write_text(TINY_VRP)
    with subprocess.Popen(
        [sys.executable, "-m", "smartopt", "route", str(path), "--time-limit", "0.2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()  # the reader is gone before the first line is printed
        err = proc.stderr.read().decode()
        assert proc.wait(timeout=60) == 1
    assert err == ""
    piped = subprocess.run(
        f'"{sys.executable}" -m smartopt route "{path}" --time-limit 0.2 | head -1',
        shell=True,
        capture_output=True,
        text=True,
    )
    assert piped.stdout.startswith("VRPProblem(tiny") and piped.stdout.count("\n") == 1 and piped.stderr == ""


def test_sweep_without_dask_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "dask", None)  # import dask fails as if it were not installed
    monkeypatch.setitem(sys.modules, "dask.distributed", None)
    grid = tmp_path / "sweep.toml"
    grid.write_text('fn = "dispatch"\n[grid]\nseed = [0, 1]\n')
    assert main(["sweep", "--grid", str(grid), "--out", str(tmp_path / "rows.csv")]) == 1
    captured = capsys.readouterr()
    assert captured.err == 'smartopt: error: smartopt sweep needs Dask: pip install "smartopt[dask]"\n'
    assert captured.out == "" and not (tmp_path / "rows.csv").exists()


def test_a_missing_optional_dependency_names_its_extra() -> None:
    from smartopt.app.cli import _missing

    assert _missing(ModuleNotFoundError("No module named 'pandapower'", name="pandapower")) == (
        'pandapower is not installed: pip install "smartopt[pandapower]"'
    )
    assert _missing(ModuleNotFoundError("No module named 'dask.distributed'", name="dask.distributed")) == (
        'dask is not installed: pip install "smartopt[dask]"'
    )
    assert _missing(ModuleNotFoundError("No module named 'foo'", name="foo")) == "foo is not installed: pip install foo"
