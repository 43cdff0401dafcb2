"""Vehicle routing at equal time: smartopt, PyVRP and OR-Tools on public instances, one thread
each, the same time limit; the table reports each solver's cost and gap to the best-known solution
beside its time (lower cost is better).

At full size: two Solomon instances (R101, RC201), two X instances (X-n101-k25, X-n200-k36) and a
multi-trip instance with release times derived from R205 at 10 s each. At smoke size: C101,
X-n101-k25 and the multi-trip MT-C201 at 0.3 s. The whole study (56 Solomon + 20 X instances,
HFVRP, MDVRPTW, large sets, multi-trip) is the script ``benches/vrp_quality.py`` (see the README).
"""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from vrp_quality import SHARED, instances, run_one

SIZE = {
    "full": (("R101", "RC201", "X-n101-k25", "X-n200-k36", "MT-R205"), 10.0),
    "smoke": (("C101", "X-n101-k25", "MT-C201"), 0.3),
}
SOLVERS = ["smartopt", "pyvrp", "ortools"]


@pytest.fixture(scope="module")
def chosen(scale: str) -> dict[str, object]:
    if not SHARED.is_dir():
        pytest.skip(f"reference instances not found at {SHARED} (they sit beside the project in CI)")
    names, _ = SIZE[scale]
    return {i.name: i for i in instances(["solomon", "x", "multitrip"]) if i.name in names}


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("index", range(5))
def test_vrp_quality(benchmark, scale: str, chosen: dict[str, object], solver: str, index: int) -> None:  # type: ignore[no-untyped-def]
    names, limit = SIZE[scale]
    if index >= len(names):
        pytest.skip(f"{scale} size runs {len(names)} instances")
    if solver == "pyvrp" and importlib.util.find_spec("pyvrp") is None:
        pytest.skip("PyVRP is not installed (pip install smartopt[bench])")
    inst = chosen[names[index]]
    if solver == "ortools" and inst.set == "multitrip":
        pytest.skip("the OR-Tools backend has no multi-trip model")
    benchmark.group = f"VRP {names[index]}, {limit:g} s each"
    benchmark.extra_info["tool"] = solver
    row = benchmark.pedantic(run_one, args=(inst, solver, limit), rounds=1, iterations=1)
    benchmark.extra_info["quality"] = f"cost {row.cost:.1f}, gap {row.gap_pct:.2f} %, {row.routes} routes"
    assert row.feasible or solver == "ortools"
    assert math.isnan(row.bks) or row.cost >= row.bks * (1 - 1e-6)  # (derived instances have none)


DISTRICT_ITERATIONS = {"full": 2000, "smoke": 200}


def test_district_plan_on_the_day_s_travel_times(benchmark, scale: str) -> None:  # type: ignore[no-untyped-def]
    """The district's booked shuttle trips planned at free flow and driven at the day's travel
    times (the signal plans' delays in their hours), against the plan made on those times."""
    from smartopt.app.coupling import district_time_of_day
    from smartopt.datasets import sejong_5_1
    from smartopt.dispatch import evaluate_routes, solve_vrp
    from smartopt.dispatch.shuttles import booked_trips
    from smartopt.signals.timing import optimize_fixed_time

    d = sejong_5_1()
    plans = {p: optimize_fixed_time(d.intersections, k) for k, p in enumerate(d.periods)}
    free = booked_trips(d.network, d.fleet, d.requests)
    timed = booked_trips(d.network, d.fleet, d.requests, time_of_day=district_time_of_day(d, plans))
    iterations = DISTRICT_ITERATIONS[scale]
    planned_free = solve_vrp(free.problem, max_iterations=iterations)
    driven = evaluate_routes(timed.problem, [(r.vehicle, r.visits) for r in planned_free.routes])
    benchmark.group = f"district booked trips, {iterations:,} iterations"
    benchmark.extra_info["tool"] = "smartopt, time-dependent"
    planned = benchmark.pedantic(solve_vrp, args=(timed.problem,), kwargs={"max_iterations": iterations}, rounds=1)
    rows = {"free-flow plan": (planned_free, free.problem), "driven at the day's times": (driven, timed.problem),
            "planned on the day's times": (planned, timed.problem)}  # fmt: skip
    lines = []
    for name, (result, problem) in rows.items():
        late, over = punctuality(result)
        lines.append(
            f"{name}: {result.num_vehicles} shuttles, {result.distance / 1000:.1f} km, {late} pickups late, "
            f"{over} of {problem.pairs.shape[0]} rides over their limit ({result.runtime_s:.2f} s)"
        )
    benchmark.extra_info["quality"] = "\n    ".join(["", *lines])
    assert planned.feasible and punctuality(planned) == (0, 0)
    assert not driven.feasible


def punctuality(result) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """Pickups served after their window and rides over their limit in ``result``'s schedule."""
    p = result.problem
    start = np.full(p.num_locations, np.nan)
    for r in result.routes:
        start[r.visits] = r.service_start
    pickup, drop = p.pairs[:, 0], p.pairs[:, 1]
    late = int((start[pickup] > p.tw_late[pickup] + 1e-6).sum())
    ride = start[drop] - start[pickup] - p.service[pickup]
    return late, int((ride > p.max_ride + 1e-6).sum())
