"""The traffic model's speed: one simulated hour of a SUMO grid scenario (the project's builder,
5 x 5 at full size, 3 x 3 at smoke size) in smartopt's model, a batch of plans scored on two
threads, and SUMO itself running the same plan for the same hour; and the network timing search
on the Sejong district (47 signals, PM peak, one 110 s cycle, half-hour runs) for 1,500 model
runs (full; about two sweeps over all offsets and splits) or 20 (smoke).

Needs ../shared (the scenario builder) and the eclipse-sumo package; skips with the reason
otherwise."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from smartopt.datasets import sejong_5_1
from smartopt.signals import TrafficModel, optimize_fixed_time, optimize_network
from smartopt.signals.sumo import plan_programs, read_sumo_demand, read_sumo_signals, write_tllogic

SHARED = Path(__file__).resolve().parents[2] / "shared" / "sumo"
BATCH = 8


@pytest.fixture(scope="module")
def grid(scale: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A built SUMO grid scenario (5 x 5 full, 3 x 3 smoke)."""
    sumo = pytest.importorskip("sumo", reason="eclipse-sumo is not installed")
    if not (SHARED / "build_scenario.sh").is_file():
        pytest.skip(f"scenario builder not found at {SHARED} (it sits beside the project in CI)")
    out = tmp_path_factory.mktemp("grid")
    n = "5" if scale == "full" else "3"
    env = {**os.environ, "PY": sys.executable, "SUMO_HOME": sumo.SUMO_HOME}
    subprocess.run(["bash", str(SHARED / "build_scenario.sh"), str(out), n], check=True, capture_output=True, env=env)
    return out


@pytest.mark.parametrize("tool", ["smartopt-model", f"smartopt-model-{BATCH}-plans-2-threads", "sumo"])
def test_simulated_hour(benchmark, grid: Path, tool: str) -> None:  # type: ignore[no-untyped-def]
    net, routes = grid / "net" / "grid.net.xml", grid / "demand" / "routes.rou.xml"
    signals = read_sumo_signals(net, routes)
    demand = read_sumo_demand(signals.network, routes)
    model = TrafficModel(signals.network, signals.intersections)
    plan = optimize_fixed_time(signals.intersections, cycle_s=60.0)
    benchmark.group = f"one simulated hour, {len(signals.intersections)}-signal SUMO grid"
    benchmark.extra_info["tool"] = tool
    if tool == "smartopt-model":
        result = benchmark(model.simulate, plan, demand, 3600.0)
        assert result.vehicles_in == pytest.approx(demand.entry_vph.sum(), rel=0.02)
    elif tool.startswith("smartopt-model-"):
        from smartopt._core import _traffic

        cycle, offset, start, end = model.windows(plan)
        rng = np.random.default_rng(0)
        offsets = rng.uniform(0.0, 60.0, (BATCH, offset.shape[0]))
        scenario = model.scenario(demand)
        args = (scenario, np.broadcast_to(cycle, offsets.shape), offsets, np.stack([start] * BATCH),
                np.stack([end] * BATCH), 3600, 5.0, 2)  # fmt: skip
        scores = benchmark(_traffic.score_plans, *args)
        assert scores.shape == (BATCH,) and np.isfinite(scores).all()
        benchmark.extra_info["plans_per_call"] = BATCH
    else:
        import sumo

        add = grid / "plans" / "bench.add.xml"
        write_tllogic(plan_programs(signals, plan), add)
        cmd = [str(Path(sumo.SUMO_HOME) / "bin" / "sumo"), "-n", str(net), "-r", str(routes), "-a", str(add),
               "--end", "3600", "--no-step-log", "--duration-log.disable", "--seed", "42", "--no-warnings"]  # fmt: skip
        benchmark.pedantic(subprocess.run, args=(cmd,), kwargs={"check": True, "capture_output": True}, rounds=3)


def test_district_network_timing(benchmark, scale: str) -> None:  # type: ignore[no-untyped-def]
    district = sejong_5_1()
    period = 2
    model = TrafficModel(district.network, district.intersections)
    budget = 1500 if scale == "full" else 20
    benchmark.group = "network timing, Sejong 5-1 PM peak (47 signals)"
    benchmark.extra_info["tool"] = "smartopt"
    found = benchmark.pedantic(
        optimize_network, args=(model, district.traffic[period]),
        kwargs={"cycles_s": [110.0], "period": period, "duration_s": 1800.0, "time_limit_s": 3600.0,
                "max_iterations": budget}, rounds=1,
    )  # fmt: skip
    benchmark.extra_info["model_runs"] = found.evaluations
    benchmark.extra_info["objective_veh_h"] = [found.zero_offset_objective_veh_h, found.objective_veh_h]
    assert found.objective_veh_h <= found.zero_offset_objective_veh_h
