"""The power flow's speed beside pandapower and lightsim2grid, with the same answers checked.

- One snapshot: ``power_flow(grid)`` against a warm ``pandapower.runpp`` on case33bw and CIGRE MV.
- A year of quarter hours (35,040 snapshots; 96 at smoke size) on case33bw and on the Sejong 5-1
  feeder, with synthetic load profiles (``smartopt.datasets.year_profiles``: daily shapes by load
  kind, weekends, seasons, autocorrelated noise): smartopt's C++ and Numba kernels on 1 and 2
  threads, lightsim2grid's batched C++ ``TimeSeriesCPP`` (voltages, then branch currents), and
  pandapower's ``run_timeseries`` on the first 200 snapshots (3 at smoke size), extrapolated.
- The first power flow in a fresh process (smartopt's C++ default, its Numba kernel, pandapower).

pandapower and lightsim2grid are in the test extra; each anchor skips with the reason if missing.
"""

from __future__ import annotations

import copy
import subprocess
import sys
import warnings
from functools import cache
from typing import Any

import numpy as np
import pytest

from smartopt.datasets import sejong_5_1, year_profiles
from smartopt.energy import Grid, grid_from_pandapower, grid_to_pandapower, power_flow

YEAR = 35_040
PANDAPOWER_SUBSET = {"full": 200, "smoke": 3}
SMARTOPT_TOOLS = [
    "smartopt-cpp-1-thread",
    "smartopt-cpp-2-threads",
    "smartopt-numba-1-thread",
    "smartopt-numba-2-threads",
]
TOOLS = [*SMARTOPT_TOOLS, "lightsim2grid-TimeSeriesCPP", "pandapower-run_timeseries"]


def quiet(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """pandapower and lightsim2grid warn about deprecations; pytest turns warnings into errors."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


@cache
def case(name: str, snapshots: int) -> tuple[Any, Grid, np.ndarray, np.ndarray]:
    """pandapower net, grid, and ``(snapshots, n_load)`` load P (kW) and Q (kvar) profiles."""
    pp = pytest.importorskip("pandapower", reason="pandapower is not installed")
    import pandapower.networks as pn

    if name == "case33bw":
        net = quiet(pn.case33bw)
        grid = grid_from_pandapower(net)
        kinds = ["residential"] * 22 + ["commercial"] * (grid.num_loads - 22)  # the last ten: shops and offices
    elif name == "cigre_mv":
        net = quiet(pn.create_cigre_network_mv)
        grid = grid_from_pandapower(net)
        kinds = ["residential"] * grid.num_loads
    else:
        energy = sejong_5_1().energy
        grid = energy.grid
        net = grid_to_pandapower(grid)
        kinds = list(energy.load_kind)
    quiet(pp.runpp, net)
    days = -(-snapshots // 96)
    profile = year_profiles(kinds, days=days, seed=1)[:snapshots]
    return net, grid, profile * grid.load_p_kw, profile * grid.load_q_kvar


@pytest.mark.parametrize("name", ["case33bw", "cigre_mv"])
@pytest.mark.parametrize("tool", ["smartopt", "pandapower-runpp"])
def test_single_snapshot(benchmark, name: str, tool: str) -> None:  # type: ignore[no-untyped-def]
    net, grid, _, _ = case(name, 1)
    benchmark.group = f"one snapshot, {name} ({grid.num_buses} buses)"
    benchmark.extra_info["tool"] = tool
    if tool == "smartopt":
        result = benchmark(power_flow, grid, n_threads=1)
        np.testing.assert_allclose(result.vm_pu[0, : len(net.bus)], net.res_bus.vm_pu, atol=1e-6)
    else:
        import pandapower as pp

        benchmark(quiet, pp.runpp, net)


def run_lightsim2grid(net: Any, p_kw: np.ndarray, q_kvar: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Voltages (complex pu) and branch currents (A) of every snapshot with TimeSeriesCPP."""
    from lightsim2grid.lightsim2grid_cpp import TimeSeriesCPP
    from lightsim2grid.network import init_from_pandapower

    model = quiet(init_from_pandapower, net)
    series = TimeSeriesCPP(model)
    t = p_kw.shape[0]
    gen = np.zeros((t, len(model.get_generators())))
    v0 = np.ones(len(net.bus), dtype=complex)
    status = series.compute_Vs(gen, np.zeros((t, 0)), p_kw / 1000.0, q_kvar / 1000.0, v0, 20, 1e-8)
    assert status == 1, "lightsim2grid did not converge"
    return np.asarray(series.get_voltages()), np.asarray(series.compute_flows())


def run_pandapower(net: Any, p_kw: np.ndarray, q_kvar: np.ndarray) -> np.ndarray:
    """Bus voltages (pu) of every snapshot with run_timeseries (ConstControl on load P and Q)."""
    import pandas as pd
    from pandapower.control import ConstControl
    from pandapower.timeseries import DFData, OutputWriter, run_timeseries

    net = copy.deepcopy(net)
    steps = range(p_kw.shape[0])
    for variable, values in (("p_mw", p_kw), ("q_mvar", q_kvar)):
        data = DFData(pd.DataFrame(values / 1000.0, columns=net.load.index))
        quiet(
            ConstControl,
            net,
            "load",
            variable,
            element_index=net.load.index,
            data_source=data,
            profile_name=net.load.index,
        )
    writer = quiet(OutputWriter, net, time_steps=steps, output_path=None, log_variables=[("res_bus", "vm_pu")])
    quiet(run_timeseries, net, time_steps=steps, verbose=False)
    return np.asarray(writer.output["res_bus.vm_pu"].to_numpy())


@pytest.mark.parametrize("name", ["case33bw", "sejong_5_1"])
@pytest.mark.parametrize("tool", TOOLS)
def test_year_of_quarter_hours(benchmark, scale: str, name: str, tool: str) -> None:  # type: ignore[no-untyped-def]
    t = YEAR if scale == "full" else 96
    net, grid, p, q = case(name, t)
    benchmark.group = f"{t:,} quarter hours, {name} ({grid.num_buses} buses)"
    benchmark.extra_info["tool"] = tool
    reference = power_flow(grid, p, q)
    assert reference.converged.all()
    nb = len(net.bus)
    if tool in SMARTOPT_TOOLS:
        _, backend, threads, _ = tool.split("-")
        kwargs = {"n_threads": int(threads), "backend": backend}
        power_flow(grid, p[:64], q[:64], **kwargs)  # Numba: load the cached compilation first
        result = benchmark(power_flow, grid, p, q, **kwargs)
        np.testing.assert_allclose(result.vm_pu, reference.vm_pu, rtol=0, atol=1e-9)
    elif tool.startswith("lightsim2grid"):
        pytest.importorskip("lightsim2grid", reason="lightsim2grid is not installed")
        v, _ = benchmark.pedantic(run_lightsim2grid, args=(net, p, q), rounds=3 if scale == "full" else 1)
        np.testing.assert_allclose(np.abs(v), reference.vm_pu[:, :nb], rtol=0, atol=1e-6)
    else:
        n = PANDAPOWER_SUBSET[scale]
        benchmark.extra_info["extrapolate"] = t / n
        run_pandapower(net, p[:2], q[:2])  # warm up: pandapower compiles its time-series path on first use
        vm = benchmark.pedantic(run_pandapower, args=(net, p[:n], q[:n]), rounds=1)
        np.testing.assert_allclose(vm, reference.vm_pu[:n, :nb], rtol=0, atol=1e-6)


FIRST_CALL = {
    "smartopt": "from smartopt.energy import grid_from_pandapower, power_flow\n"
    "import pandapower.networks as pn\n"
    "grid = grid_from_pandapower(pn.case33bw())\n"
    "t = time.perf_counter(); power_flow(grid{backend}); dt = time.perf_counter() - t\n",
    "pandapower-runpp": "import pandapower as pp, pandapower.networks as pn\n"
    "net = pn.case33bw()\n"
    "t = time.perf_counter(); pp.runpp(net); dt = time.perf_counter() - t\n",
}


def first_call_s(tool: str) -> float:
    """Seconds of the first power flow in a fresh interpreter (imports and grid building excluded)."""
    template = FIRST_CALL["pandapower-runpp" if tool == "pandapower-runpp" else "smartopt"]
    body = template.format(backend=', backend="numba"' if tool == "smartopt-numba" else "")
    code = f"import time, warnings\nwarnings.simplefilter('ignore')\n{body}print(dt)\n"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return float(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("tool", ["smartopt", "smartopt-numba", "pandapower-runpp"])
def test_first_call_in_a_fresh_process(benchmark, tool: str) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("pandapower", reason="pandapower is not installed")
    benchmark.group = "first power flow in a fresh process, case33bw"
    benchmark.extra_info["tool"] = tool
    seconds = benchmark.pedantic(first_call_s, args=(tool,), rounds=1)
    benchmark.extra_info["reported_s"] = seconds
    assert seconds > 0
