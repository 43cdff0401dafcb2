"""The unbalanced power flow's speed beside pandapower's ``runpp_3ph``, with the same answers checked.

On ``pandapower.networks.ieee_european_lv_asymmetric("on_peak_566")`` (907 buses, 55 single-phase
households): one snapshot, and a month of quarter hours (2,976 snapshots; 8 at smoke size) with each
household's phase powers scaled by a synthetic residential profile (``smartopt.datasets.year_profiles``):
smartopt's C++ core on 1 and 2 threads, and ``runpp_3ph`` snapshot by snapshot on the first 20
(2 at smoke size), extrapolated. runpp_3ph stops at a fixed 3e-8 MVA outer mismatch, a few 1e-6 pu
from its converged voltages, so its voltages are checked to 1e-5 pu here (the exact check against
its converged solution is tests/test_unbalanced_power_flow.py).

pandapower is in the test extra; the anchors skip with the reason if it is missing.
"""

from __future__ import annotations

import warnings
from functools import cache
from typing import Any

import numpy as np
import pytest

from smartopt.datasets import year_profiles
from smartopt.energy import Grid, grid_from_pandapower, unbalanced_power_flow

MONTH = 31 * 96
PANDAPOWER_SUBSET = {"full": 20, "smoke": 2}
PHASES = ("a", "b", "c")
TOOLS = ["smartopt-cpp-1-thread", "smartopt-cpp-2-threads", "pandapower-runpp_3ph"]


def runpp_3ph(net: Any) -> None:
    from pandapower.pf.runpp_3ph import runpp_3ph as run

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        run(net)


def phase_vm(net: Any) -> np.ndarray:
    return np.asarray(net.res_bus_3ph[[f"vm_{p}_pu" for p in PHASES]].to_numpy())


@cache
def case(snapshots: int) -> tuple[Any, Grid, np.ndarray, np.ndarray]:
    """The net, its grid, and ``(snapshots, n_load)`` load P (kW) and Q (kvar): each household's
    nominal phase powers (its three single-phase loads in the grid) times its profile."""
    pn = pytest.importorskip("pandapower.networks", reason="pandapower is not installed")
    net = pn.ieee_european_lv_asymmetric("on_peak_566")
    grid = grid_from_pandapower(net)
    households = len(net.asymmetric_load)
    profile = year_profiles(["residential"] * households, days=-(-snapshots // 96), seed=1)[:snapshots]
    factor = np.repeat(profile, 3, axis=1)  # the grid's loads: three per household, phases a, b, c
    return net, grid, factor * grid.load_p_kw, factor * grid.load_q_kvar


def run_pandapower(net: Any, p_kw: np.ndarray, q_kvar: np.ndarray) -> np.ndarray:
    """Phase voltages ``(T, n_bus, 3)`` (pu) of runpp_3ph on each snapshot in turn."""
    out = []
    for p, q in zip(p_kw, q_kvar, strict=True):
        for k, phase in enumerate(PHASES):
            net.asymmetric_load[f"p_{phase}_mw"] = p[k::3] / 1000.0
            net.asymmetric_load[f"q_{phase}_mvar"] = q[k::3] / 1000.0
        runpp_3ph(net)
        out.append(phase_vm(net))
    return np.array(out)


@pytest.mark.parametrize("tool", ["smartopt", "pandapower-runpp_3ph"])
def test_single_snapshot(benchmark, tool: str) -> None:  # type: ignore[no-untyped-def]
    net, grid, _, _ = case(1)
    benchmark.group = f"one unbalanced snapshot, ieee_european_lv_asymmetric ({grid.num_buses} buses)"
    benchmark.extra_info["tool"] = tool
    if tool == "smartopt":
        result = benchmark(unbalanced_power_flow, grid, n_threads=1)
        runpp_3ph(net)
        np.testing.assert_allclose(result.vm_pu[0], phase_vm(net), rtol=0, atol=1e-5)
    else:
        benchmark.pedantic(runpp_3ph, args=(net,), rounds=3)


@pytest.mark.parametrize("tool", TOOLS)
def test_month_of_quarter_hours(benchmark, scale: str, tool: str) -> None:  # type: ignore[no-untyped-def]
    t = MONTH if scale == "full" else 8
    net, grid, p, q = case(t)
    benchmark.group = f"{t:,} unbalanced quarter hours, ieee_european_lv_asymmetric ({grid.num_buses} buses)"
    benchmark.extra_info["tool"] = tool
    reference = unbalanced_power_flow(grid, p, q)
    assert reference.converged.all()
    if tool.startswith("smartopt"):
        threads = int(tool.split("-")[2])
        result = benchmark(unbalanced_power_flow, grid, p, q, n_threads=threads)
        np.testing.assert_allclose(result.vm_pu, reference.vm_pu, rtol=0, atol=1e-9)
    else:
        n = PANDAPOWER_SUBSET[scale]
        benchmark.extra_info["extrapolate"] = t / n
        vm = benchmark.pedantic(run_pandapower, args=(net, p[:n], q[:n]), rounds=1)
        np.testing.assert_allclose(vm, reference.vm_pu[:n], rtol=0, atol=1e-5)
