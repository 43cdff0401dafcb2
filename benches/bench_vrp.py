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
