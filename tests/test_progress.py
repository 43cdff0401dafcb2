"""Progress (issue 20): bars through tqdm.auto without a warning, in a terminal or a Jupyter kernel
with or without ipywidgets, nothing when disabled; search logs on stdout with ``log=True`` only."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from fleet_checks import make_fleet, random_requests
from smartopt._progress import progress, shown
from smartopt.datasets import sejong_5_1
from smartopt.datasets.grid import grid_network
from smartopt.dispatch import TravelSpace, VehicleType, VRPProblem, simulate, solve_vrp
from smartopt.energy import balance_phases, plan_day
from smartopt.signals import TrafficModel, optimize_network

RECORD = """
import warnings
caught = []  # every warning, even those a library catches as an exception
warnings.showwarning = lambda message, category, *args, **kw: caught.append(f"{category.__name__}: {message}")
warnings.simplefilter("always")
"""
FAKE_KERNEL = (
    RECORD
    + """
import sys, types
class Shell:
    config = {"IPKernelApp": {}}
sys.modules["IPython"] = types.SimpleNamespace(get_ipython=lambda: Shell())  # a Jupyter kernel, as
sys.modules["ipykernel.zmqshell"] = types.ModuleType("ipykernel.zmqshell")  # smartopt and tqdm detect it
"""
)


def run(script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True, timeout=120)


def test_a_kernel_without_ipywidgets_gets_a_text_bar_and_no_warning() -> None:
    if "ipywidgets" in sys.modules or _importable("ipywidgets"):
        pytest.skip("ipywidgets is installed: the kernel gets the widget")
    out = run(
        FAKE_KERNEL
        + """
import smartopt.dispatch
from smartopt._progress import progress
print(list(progress(range(3), desc="counting", unit="n")))  # enabled=None: shown in a kernel
print(caught)
"""
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:2] == ["[0, 1, 2]", "[]"]
    assert "counting: 100%" in out.stderr and "3/3" in out.stderr
    assert "Warning" not in out.stderr


def test_a_terminal_gets_a_text_bar_and_no_warning() -> None:
    out = run(
        RECORD
        + """
from smartopt._progress import progress
print(sum(progress(range(5), desc="adding", unit="n", enabled=True)))
print(caught)
"""
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:2] == ["10", "[]"]
    assert "adding: 100%" in out.stderr and "Warning" not in out.stderr


def test_disabled_shows_nothing_and_imports_no_tqdm(capsys: pytest.CaptureFixture[str]) -> None:
    assert list(progress(iter([1, 2]), desc="x", enabled=False)) == [1, 2]
    assert capsys.readouterr() == ("", "")
    out = run(
        """
import sys
from smartopt._progress import progress
list(progress(range(3), desc="x", enabled=False))
print("tqdm" in sys.modules)
"""
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False" and out.stderr == ""


def test_the_default_follows_the_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    class Pipe:
        def isatty(self) -> bool:
            return False

    monkeypatch.setattr(sys, "stderr", Pipe())
    assert shown(None) is False
    assert shown(True) is True
    with pytest.raises(TypeError, match="progress must be True, False or None, got 'yes'"):
        shown("yes")  # type: ignore[arg-type]


def test_simulate_shows_its_bar_only_when_asked(capsys: pytest.CaptureFixture[str]) -> None:
    space = TravelSpace.from_network(grid_network(4, 4, spacing_m=300.0, seed=2))
    fleet = make_fleet(space.num_nodes, [0], 2, 4)
    requests = random_requests(np.random.default_rng(0), space.num_nodes, 20, 3600.0)
    quiet = simulate(space, fleet, requests, progress=False)
    assert capsys.readouterr() == ("", "")
    loud = simulate(space, fleet, requests, progress=True)
    err = capsys.readouterr().err
    assert "simulating: 100%" in err and "step" in err
    assert loud.kpis == quiet.kpis
    with pytest.raises(TypeError, match="progress must be True, False or None"):
        simulate(space, fleet, requests, progress=1)  # type: ignore[arg-type]


def _importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


# --- search logs (log=True, like PyVRP's display) ---------------------------------------------------


def log_rows(out: str) -> list[list[str]]:
    """The numeric lines of a search log: count, seconds, best objective."""
    return [line.split() for line in out.splitlines() if line.strip()[:1].isdigit()]


def test_solve_vrp_logs_its_search_only_when_asked(capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 1000, (201, 2))
    problem = VRPProblem(
        distance=np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1)),
        vehicle_types=[VehicleType(count=200, capacity=100)],
        demand=np.r_[0, rng.integers(1, 10, 200)],
    )
    quiet = solve_vrp(problem, max_iterations=2000, seed=1)
    assert capsys.readouterr() == ("", "")
    loud = solve_vrp(problem, max_iterations=2000, seed=1, log=True)
    out = capsys.readouterr().out
    assert loud.cost == quiet.cost  # logging does not change the search
    assert out.startswith("solve_vrp: VRPProblem(200 clients") and "within 2,000 iterations" in out
    assert "iterations  time (s)  best cost" in out
    rows = log_rows(out)
    assert rows[0][0] == "0" and rows[-1][0] == "2,000" and float(rows[-1][2]) == pytest.approx(loud.cost, rel=1e-5)
    assert out.rstrip().endswith(f"feasible, cost {loud.cost:.6g} after 2,000 iterations in {loud.runtime_s:.2f} s")

    timed = solve_vrp(problem, time_limit_s=1.3, log=True)
    rows = log_rows(capsys.readouterr().out)
    assert len(rows) >= 3  # at the start, after about 1 s, at the end
    assert [float(r[1]) for r in rows] == sorted(float(r[1]) for r in rows)
    assert float(rows[1][1]) == pytest.approx(1.0, abs=0.2)
    assert float(rows[-1][2]) == pytest.approx(timed.cost, rel=1e-5)

    solve_vrp(problem, time_limit_s=1.0, solver="ortools", log=True)
    out = capsys.readouterr().out
    assert "solutions  time (s)  best cost" in out and log_rows(out)
    with pytest.raises(TypeError, match="log must be True or False"):
        solve_vrp(problem, max_iterations=1, log="yes")  # type: ignore[arg-type]


def test_optimize_network_logs_its_search_only_when_asked(capsys: pytest.CaptureFixture[str]) -> None:
    d = sejong_5_1()
    model = TrafficModel(d.network, d.intersections[:3])
    quiet = optimize_network(model, d.traffic[0], cycles_s=[110.0], max_iterations=30, duration_s=600.0)
    assert capsys.readouterr() == ("", "")
    loud = optimize_network(model, d.traffic[0], cycles_s=[110.0], max_iterations=30, duration_s=600.0, log=True)
    out = capsys.readouterr().out
    assert loud.objective_veh_h == quiet.objective_veh_h
    assert out.startswith("optimize_network: 3 signals, cycles 110 s within 30 model runs")
    rows = log_rows(out)
    assert rows[0][0] == "1" and rows[-1][0] == "30"
    assert float(rows[-1][2]) == pytest.approx(loud.objective_veh_h, rel=1e-5)
    assert out.rstrip().endswith(f"after 30 model runs in {loud.elapsed_s:.2f} s")


def test_energy_searches_log_only_when_asked(capsys: pytest.CaptureFixture[str]) -> None:
    day = sejong_5_1().energy
    profile, feeder = day.single_phase_loads()
    quiet = balance_phases(profile, feeder=feeder, max_iterations=100_000, slot_h=1.0)
    plan_day(day, max_iterations=1)
    assert capsys.readouterr() == ("", "")
    loud = balance_phases(profile, feeder=feeder, max_iterations=100_000, log=True, slot_h=1.0)
    out = capsys.readouterr().out
    np.testing.assert_array_equal(loud.phase, quiet.phase)
    assert out.startswith("balance_phases: 5701 loads on 97 feeders by hybrid within 100,000 evaluations")
    rows = log_rows(out)
    assert rows and float(rows[-1][2]) == pytest.approx(loud.imbalance_kw.max(), rel=1e-5)
    plan = plan_day(day, max_iterations=1, log=True)
    rows = log_rows(capsys.readouterr().out)
    assert [r[0] for r in rows] == ["0", "1"]  # the day as it is, then the round
    assert float(rows[1][2]) == pytest.approx(plan.after.branch_loading_percent.max(), rel=1e-5)
