"""VRPLIB solution files: ``write_vrplib_solution`` writes what ``read_vrplib_solution`` and the
``vrplib`` package read back (routes and cost equal), in the layout of the best-known solutions in
``../shared``; ``smartopt route FILE --sol OUT.sol`` writes one.

Tolerances: none (routes equal, costs equal to the last bit; the stated cost of a solution read
back evaluates to the result's cost within 1e-9 relative).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import vrplib

from smartopt.app.cli import main
from smartopt.dispatch import VehicleType, VRPProblem, evaluate_routes, read_vrplib, read_vrplib_solution, solve_vrp
from smartopt.dispatch.vrplib_io import write_vrplib_solution

TINY_VRP = """NAME : tiny
TYPE : CVRP
DIMENSION : 6
EDGE_WEIGHT_TYPE : EUC_2D
CAPACITY : 10
NODE_COORD_SECTION
1 0 0
2 10 0
3 0 10
4 -10 0
5 0 -10
6 7 7
DEMAND_SECTION
1 0
2 4
3 4
4 4
5 4
6 4
DEPOT_SECTION
1
-1
EOF
"""


def mixed_fleet() -> VRPProblem:
    """Two vehicle types from two depots (0 and 1) and time windows: which vehicle drives a route matters."""
    rng = np.random.default_rng(2)
    xy = rng.uniform(0, 100, (14, 2))
    return VRPProblem(
        distance=np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1)),
        vehicle_types=(VehicleType(count=3, capacity=12, start=0), VehicleType(count=3, capacity=30, start=1)),
        depots=np.array([0, 1]),
        demand=np.r_[0, 0, rng.integers(1, 8, 12)],
        tw_late=np.r_[math.inf, math.inf, rng.uniform(150, 400, 12)],
    )


def test_write_and_read_back_a_mixed_fleet(tmp_path: Path) -> None:
    problem = mixed_fleet()
    result = solve_vrp(problem, max_iterations=500, seed=1)
    path = tmp_path / "mixed.sol"
    write_vrplib_solution(result, path)
    cost, routes = read_vrplib_solution(path)
    assert cost == result.cost
    assert routes == [
        next((r.visits.tolist() for r in result.routes if r.vehicle == v), [])
        for v in range(max(r.vehicle for r in result.routes) + 1)
    ]  # route k is vehicle k - 1
    assert [] in routes  # an unused vehicle before a used one: its place is kept
    again = evaluate_routes(problem, [(v, r) for v, r in enumerate(routes) if r])
    assert again.cost == pytest.approx(result.cost, rel=1e-9) and again.status == result.status


def test_one_vehicle_type_writes_the_routes_driven_like_the_best_known_files(tmp_path: Path, shared_dir: Path) -> None:
    instance = shared_dir / "data/vrp/cvrp/X-n101-k25"
    problem = read_vrplib(instance.with_suffix(".vrp"), "round")
    result = solve_vrp(problem, max_iterations=300, seed=0)
    path = tmp_path / "x.sol"
    write_vrplib_solution(result, path)
    ours, best = vrplib.read_solution(str(path)), vrplib.read_solution(str(instance.with_suffix(".sol")))
    assert set(ours) == set(best) == {"routes", "cost"}  # same layout: routes, then the cost
    assert ours["routes"] == [r.visits.tolist() for r in result.routes] and ours["cost"] == result.cost
    assert isinstance(ours["cost"], int)  # an integral cost is written as one, like the X instances' files
    clients = sorted(c for r in best["routes"] for c in r)
    assert clients == sorted(c for r in ours["routes"] for c in r) == problem.clients.tolist()  # same numbering


def test_an_incomplete_result_is_not_written(tmp_path: Path) -> None:
    problem = mixed_fleet()
    found = solve_vrp(problem, max_iterations=200, seed=1)
    partial = evaluate_routes(problem, [(r.vehicle, r.visits) for r in found.routes[1:]])  # a route left out
    assert not partial.feasible
    with pytest.raises(ValueError, match=r"result is (infeasible|time_limit) \(\d+ required clients missing"):
        write_vrplib_solution(partial, tmp_path / "partial.sol")
    assert not (tmp_path / "partial.sol").exists()


def test_cli_writes_a_solution_vrplib_reads(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    instance, out = tmp_path / "tiny.vrp", tmp_path / "tiny.sol"
    instance.write_text(TINY_VRP)
    assert main(["route", str(instance), "--time-limit", "0.3", "--sol", str(out)]) == 0
    printed = capsys.readouterr().out
    sol = vrplib.read_solution(str(out))
    assert sorted(c for r in sol["routes"] for c in r) == [1, 2, 3, 4, 5] and len(sol["routes"]) == 3
    assert f"cost {sol['cost']:.6g}" in printed
    assert main(["route", str(instance), "--time-limit", "0.3", "--sol", str(tmp_path / "no" / "x.sol")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("smartopt: error: --sol") and err.count("\n") == 1 and "no directory" in err


def test_write_rejects_what_is_not_a_result(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="result must be a VRPResult, got dict"):
        write_vrplib_solution({"routes": []}, tmp_path / "x.sol")  # type: ignore[arg-type]
