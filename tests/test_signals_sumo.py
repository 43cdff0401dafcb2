"""SUMO in and out: a netgenerate grid's traffic lights as intersection models, plans written back
as tlLogic programs that SUMO itself loads and runs."""

from __future__ import annotations

import re
import subprocess
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from smartopt.signals import hcm_delay, optimize_fixed_time, webster
from smartopt.signals.sumo import plan_programs, read_sumo_demand, read_sumo_signals, write_tllogic

ROUTES = """<routes>
    <vType id="car"/>
    {vehicles}
</routes>
"""


@pytest.fixture(scope="module")
def sumo_home() -> Path:
    sumo = pytest.importorskip("sumo", reason="eclipse-sumo is not installed")
    return Path(sumo.SUMO_HOME)


@pytest.fixture(scope="module")
def scenario(sumo_home: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A 3 x 3 grid with a signal at B1 and turn lanes; 40 vehicles west->east through B1, 20
    south->north and 10 turning left from the west, all departing in the first 600 s."""
    d = tmp_path_factory.mktemp("sumo")
    net = d / "grid.net.xml"
    subprocess.run(
        [str(sumo_home / "bin" / "netgenerate"), "--grid", "--grid.number", "3", "--grid.length", "200",
         "--default.lanenumber", "2", "--turn-lanes", "1", "--turn-lanes.length", "50", "--no-turnarounds",
         "--tls.set", "B1", "--tls.default-type", "static", "-o", str(net), "--no-warnings"],
        check=True, capture_output=True,
    )  # fmt: skip
    edges = {e.split('"')[1] for e in net.read_text().split("<edge ")[1:] if 'function="internal"' not in e}
    west_in = next(e for e in edges if e.startswith("A1B1") and e != "A1B1")  # the turn-lane stretch
    south_in = next(e for e in edges if e.startswith("B0B1") and e != "B0B1")
    vehicles = []
    for k in range(40):
        vehicles.append(f'<vehicle id="we{k}" depart="{k * 15}"><route edges="A1B1 {west_in} B1C1"/></vehicle>')
    for k in range(20):
        vehicles.append(f'<vehicle id="sn{k}" depart="{k * 30}"><route edges="B0B1 {south_in} B1B2"/></vehicle>')
    for k in range(10):
        vehicles.append(f'<vehicle id="wl{k}" depart="{k * 60 + 5}"><route edges="A1B1 {west_in} B1B2"/></vehicle>')
    vehicles.sort(key=lambda v: float(v.split('depart="')[1].split('"')[0]))
    routes = d / "routes.rou.xml"
    routes.write_text(ROUTES.format(vehicles="\n    ".join(vehicles)))
    return net, routes


def test_read_lights_and_volumes(scenario: tuple[Path, Path]) -> None:
    net, routes = scenario
    sig = read_sumo_signals(net, routes, begin=0.0, end=600.0)
    assert [x.id for x in sig.intersections] == ["B1"]
    x = sig.intersections[0]
    assert len(x.movement_turn) == 12  # four approaches, three turns each
    served = np.zeros(12, dtype=bool)
    for moves in x.stage_movements:
        served[moves] = True
    assert served.all()
    # 40 + 20 + 10 vehicles in 600 s -> 240, 120 and 60 veh/h on three movements, nothing else.
    assert sorted(x.volume_vph[0][x.volume_vph[0] > 0].tolist()) == [60.0, 120.0, 240.0]
    left = int(np.flatnonzero(x.volume_vph[0] == 60.0)[0])
    assert x.movement_turn[left] == "L"
    # The model's links are the network's SUMO edges: west -> east goes from the A1B1 stretch to B1C1.
    edges = sig.network.link_ids
    assert sig.network.node_ids[x.node] == "B1"
    through = int(np.flatnonzero(x.volume_vph[0] == 240.0)[0])
    assert edges[x.movement_out_link[through]] == "B1C1" and edges[x.movement_out_link[left]] == "B1B2"
    assert edges[x.approach_link[x.lane_group_approach[x.movement_lane_group[through]]]].startswith("A1B1")
    assert len(sig.programs[0].stage_phase) == len(x.stage_movements)


def test_demand_matches_the_routes(scenario: tuple[Path, Path]) -> None:
    net, routes = scenario
    sig = read_sumo_signals(net, routes, begin=0.0, end=600.0)
    demand = read_sumo_demand(sig.network, routes, begin=0.0, end=600.0)
    # 50 vehicles start on A1B1 and 20 on B0B1 in 600 s: 300 and 120 veh/h.
    ids = list(sig.network.link_ids)
    assert demand.entry_vph[ids.index("A1B1")] == pytest.approx(300.0)
    assert demand.entry_vph[ids.index("B0B1")] == pytest.approx(120.0)
    assert demand.entry_vph.sum() == pytest.approx(420.0)
    # The signal's movement volumes are the demand's turns through it.
    x = sig.intersections[0]
    turns = dict(zip(zip(demand.turn_in_link, demand.turn_out_link, strict=True), demand.turn_vph, strict=True))
    in_link = x.approach_link[x.lane_group_approach[x.movement_lane_group]]
    for a, b, v in zip(in_link, x.movement_out_link, x.volume_vph[0], strict=True):
        assert turns.get((a, b), 0.0) == pytest.approx(v)


def test_plans_go_back_to_sumo_and_run(scenario: tuple[Path, Path], sumo_home: Path, tmp_path: Path) -> None:
    net, routes = scenario
    sig = read_sumo_signals(net, routes, begin=0.0, end=600.0)
    plan = optimize_fixed_time(sig.intersections)
    assert hcm_delay(sig.intersections, plan).total_delay_veh_h <= hcm_delay(
        sig.intersections, webster(sig.intersections)
    ).total_delay_veh_h * (1 + 1e-9)
    programs = plan_programs(sig, plan)
    prog, original = programs["B1"], sig.programs[0]
    durations = [p["duration"] for p in prog["phases"]]
    assert [p["state"] for p in prog["phases"]] == list(original.states)
    assert sum(durations) == pytest.approx(plan.cycle_s[0], abs=0.05)
    for k, p in enumerate(original.stage_phase):
        assert durations[p] == pytest.approx(plan.green_s[0, k], abs=0.01)
    others = set(range(len(durations))) - set(original.stage_phase)
    assert all(durations[p] == original.durations[p] for p in others)
    add = tmp_path / "plan.add.xml"
    write_tllogic(programs, add)
    result = subprocess.run(
        [str(sumo_home / "bin" / "sumo"), "-n", str(net), "-r", str(routes), "-a", str(add), "--end", "700",
         "--no-step-log", "--duration-log.disable", "--tripinfo-output", str(tmp_path / "trips.xml")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "trips.xml").read_text().count("<tripinfo ") == 70


def test_errors(tmp_path: Path, scenario: tuple[Path, Path]) -> None:
    net, routes = scenario
    with pytest.raises(FileNotFoundError, match="no such file"):
        read_sumo_signals(tmp_path / "none.net.xml", routes)
    with pytest.raises(ValueError, match=r"end=0\.0 must be after begin=10\.0"):
        read_sumo_signals(net, routes, begin=10.0, end=0.0)
    with pytest.raises(ValueError, match="root element <net>, expected <routes>"):
        read_sumo_signals(net, net)
    from smartopt.signals.sumo import run_max_pressure

    with pytest.raises(ValueError, match=r"decision_s\[0\]=0.0 must be > 0"):
        run_max_pressure(net, routes, tripinfo=tmp_path / "t.xml", decision_s=0.0)
    sig = read_sumo_signals(net, routes, end=600.0)
    with pytest.raises(ValueError, match=r"end=5\.0 must be after begin=5\.0"):
        read_sumo_demand(sig.network, routes, begin=5.0, end=5.0)
    stray = tmp_path / "stray.rou.xml"
    stray.write_text(ROUTES.format(vehicles='<vehicle id="v" depart="0"><route edges="A1B1 nowhere"/></vehicle>'))
    with pytest.raises(ValueError, match="routes use edge 'nowhere', which is not a road link"):
        read_sumo_demand(sig.network, stray)
    plan = webster(sig.intersections)
    with pytest.raises(ValueError, match="plan is for"):
        plan_programs(sig, replace(plan, intersection_ids=("X",)))


def test_cli_optimize(scenario: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from smartopt.app.cli import main

    net, routes = scenario
    out = tmp_path / "plan.add.xml"
    argv = ["signals", "optimize", "--sumo-net", str(net), "--sumo-routes", str(routes), "--end", "600",
            "--time-limit", "5"]  # fmt: skip
    assert main([*argv, "--out", str(out)]) == 0
    shown = out.read_text()
    assert re.search(r'<tlLogic id="B1" type="(static|actuated)" programID="smartopt_(fixed|actuated)"', shown)
    printed = capsys.readouterr().out
    assert "1 traffic lights" in printed and "<- recommended" in printed and "Recommended:" in printed
    assert main([*argv[:3], str(tmp_path / "missing.net.xml"), *argv[4:], "--out", str(out)]) == 1
    # An iteration budget alone (no time limit) writes the same programs twice over.
    budget = [*argv[:-2], "--max-iterations", "30", "--check-seeds", "0"]
    written = []
    for _ in range(2):
        assert main([*budget, "--out", str(out)]) == 0
        written.append(out.read_bytes())
    assert written[0] == written[1]
    for bad in (["--max-iterations", "0"], ["--time-limit", "-1"]):
        with pytest.raises(SystemExit):
            main([*argv[:-2], *bad, "--out", str(out)])
    assert "--max-iterations: must be >= 1" in capsys.readouterr().err


def test_max_pressure_drives_sumo(scenario: tuple[Path, Path], tmp_path: Path) -> None:
    from smartopt.signals.sumo import run_max_pressure
    from smartopt.signals.sumo.programs import _transition_state

    assert _transition_state("GGgrr", "rrrGG") == "yyyrr"
    assert _transition_state("GGrr", "GrGr") == "Gyrr"
    net, routes = scenario
    result = run_max_pressure(net, routes, tripinfo=tmp_path / "trips.xml")
    assert result["completed_trips"] == 70 and result["teleports"] == 0
    # Fixed-time SUMO default program for comparison: max-pressure should not lose more time.
    fixed = tmp_path / "fixed.xml"
    subprocess.run(
        [sys_sumo(), "-n", str(net), "-r", str(routes), "--tripinfo-output", str(fixed), "--no-step-log",
         "--duration-log.disable", "--seed", "42"],
        check=True, capture_output=True,
    )  # fmt: skip
    loss = [float(t.split('timeLoss="')[1].split('"')[0]) for t in fixed.read_text().split("<tripinfo ")[1:]]
    assert result["mean_time_loss_s"] <= np.mean(loss) + 1e-6


def sys_sumo() -> str:
    import sumo

    return str(Path(sumo.SUMO_HOME) / "bin" / "sumo")
