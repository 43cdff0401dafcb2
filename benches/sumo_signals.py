"""SUMO comparison of signal plans: SUMO's baselines against smartopt's plan, scored in SUMO.

Builds a signalised grid with the project's scenario builder (``../shared/sumo/build_scenario.sh``:
size, block length, seed, demand scale), then scores with ``../shared/sumo/evaluate_plan.py`` (same
seed, tripinfo output): (a) SUMO's default static plans, (b) tlsCycleAdaptation (Webster),
(c) tlsCycleAdaptation -u + tlsCoordinator offsets, (d) SUMO's actuated defaults, (e) smartopt's
fixed-time plan (common cycle, splits and offsets from ``optimize_network`` on the C++ traffic
model), and (f) smartopt's max-pressure controller driving SUMO through TraCI.

    python benches/sumo_signals.py [--grid 5] [--block 350] [--seed 42] [--scale 1.0] [--out DIR]

Prints a table of mean time loss, total time loss, teleports and completed trips per plan. Needs
the eclipse-sumo package. One SUMO run costs 20-30 CPU s on the 5 x 5 grid.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared" / "sumo"


def build(out: Path, grid: int, block: float, seed: int, scale: float) -> None:
    env = {**os.environ, "PY": sys.executable}
    subprocess.run(
        ["bash", str(SHARED / "build_scenario.sh"), str(out), str(grid), str(block), str(seed), str(scale)],
        check=True, capture_output=True, env=env,
    )  # fmt: skip


def evaluate(out: Path, name: str, net: str, plans: list[Path], seed: int) -> dict[str, float]:
    result = out / f"eval_{name}.json"
    cmd = [sys.executable, str(SHARED / "evaluate_plan.py"), "--net", str(out / net),
           "--routes", str(out / "demand" / "routes.rou.xml"), "--out", str(result), "--seed", str(seed)]  # fmt: skip
    for p in plans:
        cmd += ["--plan", str(p)]
    subprocess.run(cmd, check=True, capture_output=True)
    return dict(json.loads(result.read_text()))


def compare(
    out: Path, grid: int, block: float, seed: int, scale: float, *, time_limit_s: float = 60.0, adaptive: bool = True
) -> dict[str, dict[str, float]]:
    """Builds the scenario in ``out`` and scores every plan in SUMO (``adaptive``: with (f))."""
    from smartopt.cli import optimize_sumo

    build(out, grid, block, seed, scale)
    plan = out / "plans" / "smartopt.add.xml"
    optimize_sumo(
        out / "net" / "grid.net.xml", out / "demand" / "routes.rou.xml", 0.0, 3600.0, plan, time_limit_s=time_limit_s
    )
    p = out / "plans"
    cases = {
        "(a) SUMO static default": ("net/grid.net.xml", []),
        "(b) Webster (tlsCycleAdaptation)": ("net/grid.net.xml", [p / "webster.add.xml"]),
        "(c) Webster -u + tlsCoordinator": (
            "net/grid.net.xml", [p / "webster_unified.add.xml", p / "coord_offsets.add.xml"]
        ),
        "(d) SUMO actuated default": ("net/grid_actuated.net.xml", []),
        "(e) smartopt fixed time": ("net/grid.net.xml", [plan]),
    }  # fmt: skip
    from smartopt.signals.sumo import run_max_pressure

    results = {name: evaluate(out, name[1], net, plans, seed) for name, (net, plans) in cases.items()}
    if not adaptive:
        return results
    results["(f) smartopt max-pressure (adaptive)"] = run_max_pressure(
        out / "net" / "grid.net.xml", out / "demand" / "routes.rou.xml", tripinfo=out / "mp_trips.xml", seed=seed
    )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--grid", type=int, default=5)
    parser.add_argument("--block", type=float, default=350.0)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--time-limit", type=float, default=60.0, help="smartopt's search time, s")
    parser.add_argument("--out", type=Path, default=None, help="scenario folder (default: a temporary one)")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="smartopt-sumo-"))
    results = compare(out, args.grid, args.block, args.seed, args.scale, time_limit_s=args.time_limit)
    print(f"{args.grid}x{args.grid} grid, block {args.block:g} m, seed {args.seed}, demand x{args.scale:g} ({out})")
    print(f"{'plan':<36}{'mean time loss s':>18}{'total veh*h':>13}{'teleports':>11}{'completed':>11}")
    for name, m in results.items():
        print(f"{name:<36}{m['mean_time_loss_s']:>18.1f}{m['total_time_loss_veh_h']:>13.1f}"
              f"{m['teleports']:>11.0f}{m['completed_trips']:>11.0f}")  # fmt: skip


if __name__ == "__main__":
    main()
