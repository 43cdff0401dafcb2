"""The power flow's speed beside pandapower and lightsim2grid, with the same answers checked.

- One snapshot: ``power_flow(grid)`` against a warm ``pandapower.runpp`` on case33bw and CIGRE MV.
- A year of quarter hours (35,040 snapshots; 96 at smoke size) on case33bw and on the Sejong 5-1
  feeder, with synthetic load profiles (``smartopt.datasets.year_profiles``: daily shapes by load
  kind, weekends, seasons, autocorrelated noise): smartopt's C++ and Numba kernels on 1 and 2
  threads, lightsim2grid's batched C++ ``TimeSeriesCPP`` (voltages, then branch currents), and
  pandapower's ``run_timeseries`` on the first 200 snapshots (3 at smoke size), extrapolated.
- Every SimBench LV and MV grid (the ten ``--0-sw`` codes) over SimBench's own year of quarter hours
  (35,136 snapshots; 96 at smoke size, on two grids): smartopt's C++ on 1 and 2 threads,
  lightsim2grid 1.2's batched C++ solvers (``TimeSeriesCPP``, warm-started from the previous step,
  one thread; ``InjectionSweepCPP`` on 2 threads) on a switch-free copy of the net (lightsim2grid
  ignores switches), and pandapower's ``run_timeseries`` on the first 96 quarter hours (3 at smoke
  size), extrapolated; the largest voltage difference to smartopt is asserted (1e-6 pu) and
  recorded as ``max_dv_pu``.
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
from smartopt.energy import Grid, grid_from_pandapower, grid_to_pandapower, power_flow, simbench_profiles

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


def run_pandapower(net: Any, p_kw: np.ndarray, q_kvar: np.ndarray, sgen_p_kw: np.ndarray | None = None) -> np.ndarray:
    """Bus voltages (pu) of every snapshot with run_timeseries (ConstControl on the in-service loads'
    P and Q, and on the sgens' P if given)."""
    import pandas as pd
    from pandapower.control import ConstControl
    from pandapower.timeseries import DFData, OutputWriter, run_timeseries

    net = copy.deepcopy(net)
    steps = range(p_kw.shape[0])
    controls = [("load", "p_mw", p_kw), ("load", "q_mvar", q_kvar)]
    controls += [] if sgen_p_kw is None else [("sgen", "p_mw", sgen_p_kw)]
    for table, variable, values in controls:
        index = net[table].index[net[table].in_service.to_numpy(dtype=bool)]
        data = DFData(pd.DataFrame(values / 1000.0, columns=index))
        quiet(ConstControl, net, table, variable, element_index=index, data_source=data, profile_name=index)
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


SIMBENCH_GRIDS = (
    "LV-rural1",
    "LV-rural2",
    "LV-rural3",
    "LV-semiurb4",
    "LV-semiurb5",
    "LV-urban6",
    "MV-rural",
    "MV-semiurb",
    "MV-urban",
    "MV-comm",
)
SIMBENCH = [f"1-{grid}--0-sw" for grid in SIMBENCH_GRIDS]
SIMBENCH_SMOKE = ("1-LV-rural1--0-sw", "1-MV-comm--0-sw")
SIMBENCH_TOOLS = [
    "smartopt-cpp-1-thread",
    "smartopt-cpp-2-threads",
    "lightsim2grid-TimeSeriesCPP",
    "lightsim2grid-InjectionSweepCPP-2-threads",
    "pandapower-run_timeseries",
]
SIMBENCH_PANDAPOWER = {"full": 96, "smoke": 3}


@cache
def simbench_case(code: str, snapshots: int) -> tuple[Any, Grid, dict[str, np.ndarray]]:
    """The SimBench net, its grid, and the first ``snapshots`` quarter hours of its year."""
    sb = pytest.importorskip("simbench", reason="simbench is not installed")
    net = quiet(sb.get_simbench_net, code)
    year = quiet(simbench_profiles, net)
    assert not len(net.storage), "the --0-sw grids have no storage (lightsim2grid's sweep sets load and sgen P)"
    return net, grid_from_pandapower(net), {k: np.ascontiguousarray(v[:snapshots]) for k, v in year.items()}


def switch_free(net: Any) -> tuple[Any, np.ndarray]:
    """A copy of ``net`` that lightsim2grid models as pandapower does, and the column of each of
    ``net``'s buses in it. lightsim2grid ignores switches: closed bus-bus switches fuse their buses,
    a line open at one end ends at a bus of its own (open at both, out of service), and the rest
    go. It also applies taps that pandapower ignores (no ``tap_changer_type``): those are set to
    neutral. Object-typed limit columns (SimBench's) become floats for its converter."""
    import pandapower as pp
    import pandas as pd

    net = copy.deepcopy(net)
    tie = {int(b): int(b) for b in net.bus.index}

    def root(b: int) -> int:
        while tie[b] != b:
            b = tie[b]
        return b

    sw = net.switch
    for a, b in sw.loc[(sw.et == "b") & sw.closed.astype(bool), ["bus", "element"]].to_numpy(dtype=int):
        ra, rb = root(a), root(b)
        tie[max(ra, rb)] = min(ra, rb)
    opened = sw[(sw.et == "l") & ~sw.closed.astype(bool)]
    ends = opened.element.value_counts()
    net.line.loc[ends.index[ends > 1], "in_service"] = False
    for bus, line in opened.loc[opened.element.isin(ends.index[ends == 1]), ["bus", "element"]].to_numpy(dtype=int):
        end = "from_bus" if net.line.at[line, "from_bus"] == bus else "to_bus"
        net.line.at[line, end] = pp.create_bus(net, net.bus.at[bus, "vn_kv"])
    net.switch = net.switch.iloc[:0]
    for b in list(tie):
        if root(b) != b:
            quiet(pp.toolbox.fuse_buses, net, root(b), [b])
    idle = net.trafo.tap_changer_type.isna()
    net.trafo.loc[idle, "tap_pos"] = net.trafo.tap_neutral[idle]
    for table in ("sgen", "load", "gen", "storage", "ext_grid"):
        for col in net[table].columns:
            if col.startswith(("min_", "max_")) and net[table][col].dtype == object:
                net[table][col] = pd.to_numeric(net[table][col], errors="coerce")
    column = {b: i for i, b in enumerate(net.bus.index)}
    return net, np.array([column[root(b)] for b in tie])


def run_lightsim2grid_sweep(model: Any, v0: np.ndarray, year: dict[str, np.ndarray], threads: int) -> np.ndarray:
    """Complex bus voltages of every snapshot with lightsim2grid's batched solver: TimeSeriesCPP
    (each step warm-started from the one before) on one thread, InjectionSweepCPP on more."""
    from lightsim2grid.lightsim2grid_cpp import InjectionSweepCPP, TimeSeriesCPP

    sweep = TimeSeriesCPP(model) if threads == 1 else InjectionSweepCPP(model)
    if threads > 1:
        sweep.nb_thread = threads
    sweep.modify_load_p(year["p_kw"] / 1000.0)
    sweep.modify_load_q(year["q_kvar"] / 1000.0)
    sweep.modify_sgen_p(year["gen_p_kw"] / 1000.0)
    sweep.compute(v0, 20, 1e-8)
    assert sweep.nb_converged() == year["p_kw"].shape[0], "lightsim2grid did not converge"
    return np.asarray(sweep.get_voltages())


@pytest.mark.parametrize("code", SIMBENCH)
@pytest.mark.parametrize("tool", SIMBENCH_TOOLS)
def test_simbench_year(benchmark, scale: str, code: str, tool: str) -> None:  # type: ignore[no-untyped-def]
    if scale == "smoke" and code not in SIMBENCH_SMOKE:
        pytest.skip("full size only (the smoke run takes two SimBench grids)")
    t = 35_136 if scale == "full" else 96
    net, grid, year = simbench_case(code, t)
    benchmark.group = f"SimBench {code}, {t:,} quarter hours ({grid.num_buses} buses, {grid.num_loops} loops)"
    benchmark.extra_info["tool"] = tool
    power_flow(grid, n_threads=1)  # the per-unit model is built once per grid
    reference = power_flow(grid, **year, n_threads=1)
    assert reference.converged.all()
    nb = len(net.bus)
    if tool.startswith("smartopt"):
        result = benchmark(power_flow, grid, **year, n_threads=int(tool.split("-")[2]))
        vm = result.vm_pu[:, :nb]
    elif tool.startswith("lightsim2grid"):
        pytest.importorskip("lightsim2grid", reason="lightsim2grid is not installed")
        import pandapower as pp
        from lightsim2grid.network import init_from_pandapower

        free, column = switch_free(net)
        model = quiet(init_from_pandapower, free)
        quiet(pp.runpp, free)  # the starting voltages: the net's own operating point, as run_timeseries starts
        v0 = (free.res_bus.vm_pu * np.exp(1j * np.deg2rad(free.res_bus.va_degree))).to_numpy(dtype=complex)
        threads = 2 if "2-threads" in tool else 1
        v = benchmark.pedantic(
            run_lightsim2grid_sweep, args=(model, v0, year, threads), rounds=3 if scale == "full" else 1
        )
        vm = np.abs(v[:, column])
    else:
        n = SIMBENCH_PANDAPOWER[scale]
        benchmark.extra_info["extrapolate"] = t / n
        part = {k: v[:n] for k, v in year.items()}
        run_pandapower(net, part["p_kw"][:2], part["q_kvar"][:2], part["gen_p_kw"][:2])  # warm up
        vm = benchmark.pedantic(run_pandapower, args=(net, part["p_kw"], part["q_kvar"], part["gen_p_kw"]), rounds=1)
    dv = float(np.abs(vm - reference.vm_pu[: vm.shape[0], :nb]).max())
    benchmark.extra_info["max_dv_pu"] = dv
    benchmark.extra_info["snapshots"] = t
    assert dv < 1e-6


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
