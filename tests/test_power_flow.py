"""The power flow on radial grids against pandapower's Newton-Raphson (run here), and its own contracts.

Tolerances: bus voltage 1e-6 pu and total losses 1e-6 relative (the issue's acceptance), angles
1e-5 degrees, loadings 1e-4 %, slack power 1e-6 relative (1e-5 kW absolute near zero); both
solvers converge far tighter.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, reject, settings
from hypothesis import strategies as st

from smartopt._core import _power_flow
from smartopt.energy import Grid, grid_from_pandapower, grid_to_pandapower, power_flow, voltage_sensitivities

pp = pytest.importorskip("pandapower", reason="pandapower (test extra) is the reference power flow")
pn = pytest.importorskip("pandapower.networks")

VM_TOL, LOSS_RTOL, VA_TOL_DEG, LOADING_TOL = 1e-6, 1e-6, 1e-5, 1e-4
POWER_ATOL_KW = 1e-5  # near-zero powers: pandapower stops at a 1e-10 MVA mismatch per bus

NETS: dict[str, Callable[[], Any]] = {
    "case33bw": lambda: pn.case33bw(),
    "cigre_lv": lambda: pn.create_cigre_network_lv(),
    "cigre_mv": lambda: pn.create_cigre_network_mv(),
    "cigre_mv_pv_wind": lambda: pn.create_cigre_network_mv(with_der="pv_wind"),
    "kerber_landnetz_freileitung_1": lambda: pn.create_kerber_landnetz_freileitung_1(),
    "kerber_dorfnetz": lambda: pn.create_kerber_dorfnetz(),
    "kerber_vorstadtnetz_kabel_1": lambda: pn.create_kerber_vorstadtnetz_kabel_1(),
    "ieee_european_lv_asymmetric": lambda: pn.ieee_european_lv_asymmetric("on_peak_566"),  # balanced: phase sums
}


def make_net(name: str) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return NETS[name]()


def runpp(net: Any) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pp.runpp(net, tolerance_mva=1e-10, calculate_voltage_angles=True, numba=False)


def pp_losses_kw(net: Any) -> float:
    return 1000.0 * float(net.res_line.pl_mw.sum() + (net.res_trafo.pl_mw.sum() if len(net.trafo) else 0.0))


def assert_matches(net: Any, grid: Grid, result: Any, t: int = 0) -> None:
    nb = len(net.bus)
    np.testing.assert_allclose(result.vm_pu[t, :nb], net.res_bus.vm_pu.to_numpy(), rtol=0, atol=VM_TOL)
    np.testing.assert_allclose(result.va_degree[t, :nb], net.res_bus.va_degree.to_numpy(), rtol=0, atol=VA_TOL_DEG)
    assert result.losses_kw[t] == pytest.approx(pp_losses_kw(net), rel=LOSS_RTOL, abs=POWER_ATOL_KW)
    assert result.slack_p_kw[t] == pytest.approx(1000.0 * net.res_ext_grid.p_mw.iloc[0], rel=1e-6, abs=POWER_ATOL_KW)
    assert result.slack_q_kvar[t] == pytest.approx(
        1000.0 * net.res_ext_grid.q_mvar.iloc[0], rel=1e-6, abs=POWER_ATOL_KW
    )
    lines = net.res_line[net.line.in_service.to_numpy()]
    np.testing.assert_allclose(result.line_loading_percent[t], lines.loading_percent, rtol=0, atol=LOADING_TOL)
    np.testing.assert_allclose(result.line_i_ka[t], lines.i_ka, rtol=1e-6, atol=1e-9)
    if len(net.trafo):
        np.testing.assert_allclose(result.trafo_loading_percent[t], net.res_trafo.loading_percent, atol=LOADING_TOL)


@pytest.mark.parametrize("name", list(NETS))
def test_matches_pandapower_newton_raphson(name: str) -> None:
    net = make_net(name)
    runpp(net)
    grid = grid_from_pandapower(net)
    result = power_flow(grid)
    assert result.converged.all()
    assert_matches(net, grid, result)


def test_time_series_matches_pandapower_snapshot_by_snapshot() -> None:
    """Five snapshots with loads and PV/wind scaled differently, each against its own runpp."""
    net = make_net("cigre_mv_pv_wind")
    grid = grid_from_pandapower(net)
    load_scale = np.array([0.3, 0.7, 1.0, 1.4, 1.8])
    gen_scale = np.array([1.5, 0.0, 1.0, 0.5, 0.2])
    result = power_flow(
        grid,
        np.outer(load_scale, grid.load_p_kw),
        np.outer(load_scale, grid.load_q_kvar),
        gen_p_kw=np.outer(gen_scale, grid.gen_p_kw),
        gen_q_kvar=np.outer(gen_scale, grid.gen_q_kvar),
    )
    p0, q0, g0 = net.load.p_mw.copy(), net.load.q_mvar.copy(), net.sgen.p_mw.copy()
    for t in range(5):
        net.load.p_mw, net.load.q_mvar, net.sgen.p_mw = p0 * load_scale[t], q0 * load_scale[t], g0 * gen_scale[t]
        runpp(net)
        assert_matches(net, grid, result, t)


@pytest.mark.parametrize(("side", "pos"), [("hv", 2), ("hv", -3), ("lv", 1)])
def test_tap_changers_match_pandapower(side: str, pos: int) -> None:
    net = make_net("kerber_dorfnetz")
    net.trafo.loc[0, ["tap_side", "tap_pos"]] = [side, pos]
    runpp(net)
    grid = grid_from_pandapower(net)
    assert grid.trafo_tap_ratio[0] == pytest.approx(1 + pos * 0.025)
    assert_matches(net, grid, power_flow(grid))


def test_sejong_feeder_round_trips_through_pandapower() -> None:
    from smartopt.datasets import sejong_5_1

    grid = sejong_5_1().energy.grid
    net = grid_to_pandapower(grid)
    runpp(net)
    assert_matches(net, grid, power_flow(grid))
    again = grid_from_pandapower(net)
    np.testing.assert_array_equal(power_flow(again).vm_pu, power_flow(grid).vm_pu)


def test_open_line_switch_keeps_the_line_charging_from_its_other_end() -> None:
    """CIGRE MV opens three lines at one end: each keeps an extra bus after net.bus."""
    net = make_net("cigre_mv")
    grid = grid_from_pandapower(net)
    assert grid.num_buses == len(net.bus) + 3
    assert all(name.endswith("open end") for name in grid.bus_name[len(net.bus) :])
    result = power_flow(grid)
    open_lines = grid.line_to[grid.line_to >= len(net.bus)]
    assert open_lines.size == 3
    # No load beyond the open end: the current there is zero, the charging current is not.
    k = np.flatnonzero(grid.line_to >= len(net.bus))
    np.testing.assert_allclose(result.branch_i_to_ka[0, k], 0.0, atol=1e-12)
    assert (result.branch_i_from_ka[0, k] > 1e-5).all()


def random_feeder(draw: st.DrawFn) -> Any:
    """A random radial pandapower net: a 20 kV tree under a 110/20 kV transformer, with loads,
    PV and cable capacitance, sometimes an LV branch under a second transformer."""
    n = draw(st.integers(2, 25))
    net = pp.create_empty_network(f_hz=50.0)
    slack = pp.create_bus(net, 110.0)
    mv = [pp.create_bus(net, 20.0) for _ in range(n)]
    pp.create_ext_grid(net, slack, vm_pu=draw(st.floats(0.98, 1.05)), va_degree=draw(st.floats(-10, 10)))
    pp.create_transformer_from_parameters(
        net, slack, mv[0], sn_mva=40.0, vn_hv_kv=110.0, vn_lv_kv=20.0, vkr_percent=0.3, vk_percent=12.0,
        pfe_kw=draw(st.floats(0, 30)), i0_percent=draw(st.floats(0, 0.5)),
        shift_degree=draw(st.sampled_from([0, 30, 150])),
    )  # fmt: skip
    for k in range(1, n):
        parent = mv[draw(st.integers(0, k - 1))]
        pp.create_line_from_parameters(
            net, parent, mv[k], length_km=draw(st.floats(0.05, 3.0)), r_ohm_per_km=draw(st.floats(0.05, 0.6)),
            x_ohm_per_km=draw(st.floats(0.02, 0.4)), c_nf_per_km=draw(st.floats(0, 400)), max_i_ka=0.4,
        )  # fmt: skip
    for k in range(1, n):
        if draw(st.booleans()):
            p = draw(st.floats(0.0, 1.5))
            pp.create_load(net, mv[k], p_mw=p, q_mvar=p * draw(st.floats(-0.2, 0.5)))
        if draw(st.booleans()):
            pp.create_sgen(net, mv[k], p_mw=draw(st.floats(0.0, 1.0)))
    if draw(st.booleans()):
        lv = pp.create_bus(net, 0.4)
        pp.create_transformer_from_parameters(
            net, mv[draw(st.integers(0, n - 1))], lv, sn_mva=0.63, vn_hv_kv=20.0, vn_lv_kv=0.4, vkr_percent=1.0,
            vk_percent=4.0, pfe_kw=1.2, i0_percent=0.2, shift_degree=150,
        )  # fmt: skip
        pp.create_load(net, lv, p_mw=draw(st.floats(0.0, 0.4)), q_mvar=0.05)
    return net


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.composite(random_feeder)())
def test_random_feeders_match_pandapower(net: Any) -> None:
    try:
        runpp(net)
    except (pp.LoadflowNotConverged, FloatingPointError):
        reject()  # the reference fails (voltage collapse, overflow): nothing to compare
    grid = grid_from_pandapower(net)
    result = power_flow(grid)
    assert result.converged.all()
    assert_matches(net, grid, result)


def case33_series(t: int = 300) -> tuple[Grid, np.ndarray, np.ndarray]:
    grid = grid_from_pandapower(make_net("case33bw"))
    scale = 0.4 + 1.2 * np.random.default_rng(1).random((t, grid.num_loads))
    return grid, scale * grid.load_p_kw, scale * grid.load_q_kvar


def test_numba_kernel_equals_cpp_kernel() -> None:
    grid, p, q = case33_series()
    cpp = power_flow(grid, p, q, backend="cpp")
    nb = power_flow(grid, p, q, backend="numba")
    np.testing.assert_array_equal(cpp.iterations, nb.iterations)
    for name in ("v_pu", "branch_i_from_pu", "branch_i_to_pu", "slack_kva"):
        np.testing.assert_array_equal(getattr(nb, name), getattr(cpp, name), err_msg=name)


def test_results_do_not_depend_on_the_thread_count() -> None:
    grid, p, q = case33_series(1000)
    one = power_flow(grid, p, q, n_threads=1)
    two = power_flow(grid, p, q, n_threads=2)
    np.testing.assert_array_equal(one.vm_pu, two.vm_pu)
    np.testing.assert_array_equal(one.branch_p_from_kw, two.branch_p_from_kw)


def test_energy_balance_and_single_snapshot_shapes() -> None:
    grid, p, q = case33_series(3)
    result = power_flow(grid, p[0], q[0])  # 1-D: one snapshot
    assert result.vm_pu.shape == (1, 33) and result.branch_loading_percent.shape == (1, 32)
    assert result.slack_p_kw[0] == pytest.approx(p[0].sum() + result.losses_kw[0], rel=1e-12)
    nominal = power_flow(grid)
    assert nominal.slack_p_kw[0] == pytest.approx(grid.load_p_kw.sum() + nominal.losses_kw[0], rel=1e-12)


def test_diverging_snapshots_are_flagged_not_fatal() -> None:
    grid, p, q = case33_series(3)
    heavy = p.copy()
    heavy[1] *= 40.0  # far beyond the feeder's loadability
    result = power_flow(grid, heavy, q)
    np.testing.assert_array_equal(result.converged, [True, False, True])
    assert np.isnan(result.vm_pu[1]).all() and np.isfinite(result.vm_pu[[0, 2]]).all()
    assert not power_flow(grid, p, q, max_iterations=1).converged.any()
    assert "2 converged" in repr(result)
    assert result.violations().bus.size > 0  # computed on the converged snapshots only


def test_voltage_sensitivities_match_finite_differences() -> None:
    """dV/dP and dV/dQ against central differences of the power flow (CIGRE LV: switches merge buses)."""
    grid = grid_from_pandapower(make_net("cigre_lv"))
    base = power_flow(grid, tol_pu=1e-13)
    sens = voltage_sensitivities(base)
    h = 1.0  # kW / kvar
    for bus in (5, 20, 40):
        probe = replace(grid, gen_bus=np.append(grid.gen_bus, bus), gen_p_kw=np.append(grid.gen_p_kw, 0.0),
                        gen_q_kvar=np.append(grid.gen_q_kvar, 0.0))  # fmt: skip
        for column, sens_matrix in ((0, sens.dv_dp), (1, sens.dv_dq)):
            step = np.zeros((2, 2))
            step[0, column], step[1, column] = h, -h
            gp = np.column_stack([np.tile(grid.gen_p_kw, (2, 1)), step[:, 0]])
            gq = np.column_stack([np.tile(grid.gen_q_kvar, (2, 1)), step[:, 1]])
            res = power_flow(probe, np.tile(grid.load_p_kw, (2, 1)), np.tile(grid.load_q_kvar, (2, 1)),
                             gen_p_kw=gp, gen_q_kvar=gq, tol_pu=1e-13)  # fmt: skip
            fd = (res.vm_pu[0] - res.vm_pu[1]) / (2 * h)
            np.testing.assert_allclose(sens_matrix[:, bus], fd, rtol=1e-4, atol=1e-10)
    assert (sens.dv_dp[:, grid.slack_bus] == 0).all()


def test_violations_list_buses_lines_and_trafos() -> None:
    grid, p, q = case33_series(3)
    result = power_flow(grid, p * 1.5, q * 1.5)
    limit = float(np.median(result.line_loading_percent))
    v = result.violations(v_min_pu=0.95, max_loading_percent=limit)
    low = result.vm_pu.min(axis=0) < 0.95
    np.testing.assert_array_equal(v.bus, np.flatnonzero(low))
    np.testing.assert_allclose(v.bus_vm_pu, result.vm_pu.min(axis=0)[low])
    over = (result.line_loading_percent > limit).any(axis=0)
    np.testing.assert_array_equal(v.line, np.flatnonzero(over))
    np.testing.assert_array_equal(v.line_snapshots, (result.line_loading_percent > limit).sum(axis=0)[over])
    frame = v.to_frame()
    assert set(frame["kind"]) == {"bus", "line"} and bool(v)
    assert not power_flow(grid, p * 0.01, q * 0.01).violations()


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"p_kw": np.ones((2, 3))}, ValueError, r"p_kw must have shape \(2, 32\), got \(2, 3\)"),
        ({"p_kw": np.full((1, 32), np.nan)}, ValueError, r"p_kw\[0, 0\]=nan is not finite"),
        ({"p_kw": np.ones((2, 32)), "q_kvar": np.ones((3, 32))}, ValueError, r"q_kvar must have shape \(2, 32\)"),
        ({"q_kvar": np.ones(32)}, ValueError, "q_kvar needs p_kw"),
        ({"p_kw": np.ones((0, 32))}, ValueError, "p_kw has no snapshots"),
        ({"p_kw": 5.0}, ValueError, "p_kw must be an array"),
        ({"p_kw": np.ones(32), "gen_p_kw": np.ones(2)}, ValueError, r"gen_p_kw must have shape \(1, 0\)"),
        ({"p_kw": np.array(["a"] * 32)}, TypeError, "p_kw must be a real-valued numeric array"),
        ({"tol_pu": 0.0}, ValueError, r"tol_pu must be a finite number > 0, got 0.0"),
        ({"tol_pu": "small"}, TypeError, "tol_pu must be a number, got str"),
        ({"max_iterations": 0}, ValueError, "max_iterations must be >= 1"),
        ({"n_threads": 0}, ValueError, "n_threads must be >= 1"),
        ({"backend": "fortran"}, ValueError, "backend must be 'cpp' or 'numba'"),
    ],
)
def test_power_flow_input_errors(kwargs: dict[str, Any], error: type[Exception], match: str) -> None:
    grid = grid_from_pandapower(make_net("case33bw"))
    with pytest.raises(error, match=match):
        power_flow(grid, **kwargs)


def test_from_pandapower_rejects_what_it_cannot_represent() -> None:
    net = make_net("case33bw")
    pp.create_motor(net, 5, pn_mech_mw=0.1, cos_phi=0.9)
    with pytest.raises(ValueError, match=r"^motor 0: motors are not supported"):
        grid_from_pandapower(net)
    net = make_net("case33bw")
    net.load.loc[0, "const_z_p_percent"] = 50.0
    with pytest.raises(ValueError, match="const_z_p_percent != 0 are not supported"):
        grid_from_pandapower(net)
    net = make_net("case33bw")
    pp.create_ext_grid(net, int(net.ext_grid.bus.iloc[0]))
    with pytest.raises(ValueError, match="two in-service ext_grids at one bus are not supported"):
        grid_from_pandapower(net)
    net.ext_grid["in_service"] = False
    with pytest.raises(ValueError, match="the net needs an in-service ext_grid"):
        grid_from_pandapower(net)


@settings(max_examples=200, deadline=None)
@given(
    n=st.integers(0, 6),
    parent=st.lists(st.integers(-3, 8), max_size=8),
    values=st.lists(st.complex_numbers(allow_nan=True, allow_infinity=True), min_size=4, max_size=4),
    loads=st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), max_size=12),
    load_pos=st.lists(st.integers(-2, 8), max_size=4),
    lane=st.one_of(st.integers(-1, 4), st.sampled_from([2**62, 2**63 - 1])),
)
@example(n=2, parent=[0], values=[0j, 0j, 7e-201j, 0j], loads=[], load_pos=[], lane=1)  # a NaN bus "converged"
@example(n=2, parent=[0], values=[0j, 1 + 0j, 1 + 0j, -0.01 + 0j], loads=[1.0], load_pos=[1], lane=2**63 - 1)
def test_compiled_module_rejects_or_survives_arbitrary_input(
    n: int, parent: list[int], values: list[complex], loads: list[float], load_pos: list[int], lane: int
) -> None:
    """Arbitrary arrays straight into the C++ core: a ValueError or a finished run, never a crash."""
    par = np.array([-1, *parent][:n], dtype=np.int32)
    m = par.size
    hybrid = [np.full(m, v, complex) for v in values]
    try:
        feeder = _power_flow.make_feeder(
            np.arange(m, dtype=np.int32), par, np.arange(m, dtype=np.int32) - 1, np.zeros(m, np.uint8), *hybrid,
            1.0 + 0j, 1000.0,
        )  # fmt: skip
    except ValueError:
        return
    pos = np.array(load_pos, np.int32)
    p = np.resize(np.array(loads or [0.0]), (3, pos.size))
    try:
        out = _power_flow.solve(feeder, pos, p, p, pos[:0], np.zeros((3, 0)), np.zeros((3, 0)), 1e-9, 20, lane, 2)
    except ValueError:
        return
    assert out.v.shape == (3, m)
    ok = out.converged
    assert np.isfinite(out.v[ok]).all() and np.isnan(out.v[~ok]).all()


@pytest.mark.parametrize("lane", [1, 3, 2**62, 2**63 - 1])
def test_every_lane_length_solves_every_snapshot(lane: int) -> None:
    """Lanes of any length, up to the largest int64 (no overflow in counting them)."""
    n = 4
    chain = np.arange(-1, n - 1, dtype=np.int32)
    hybrid = [np.full(n, v, complex) for v in (0.0, 1.0, 1.0, -0.01)]
    feeder = _power_flow.make_feeder(
        np.arange(n, dtype=np.int32), chain, chain, np.zeros(n, np.uint8), *hybrid, 1.0, 1000.0
    )
    pos, p, gen = np.array([3, 2], np.int32), np.linspace(0.0, 50.0, 14).reshape(7, 2), np.zeros((7, 0))
    out = _power_flow.solve(feeder, pos, p, p / 4, pos[:0], gen, gen, 1e-12, 50, lane, 2)
    reference = _power_flow.solve(feeder, pos, p, p / 4, pos[:0], gen, gen, 1e-12, 50, 10, 1)
    assert out.converged.all()
    np.testing.assert_allclose(out.v, reference.v, rtol=0, atol=1e-10)


def test_district_day_balances_energy_and_flags_overloads() -> None:
    """The Sejong day: supply = base load + charging - PV + losses in every slot (1e-9 relative)."""
    from smartopt.datasets import sejong_5_1

    day = sejong_5_1().energy
    result = day.power_flow()
    charging = day.uncontrolled_charging_kw()
    pv = np.outer(day.pv_profile_pu, day.pv_kwp)
    demand = day.load_kw.sum(axis=1) + charging.sum(axis=1) - pv.sum(axis=1)
    np.testing.assert_allclose(result.slack_p_kw, demand + result.losses_kw, rtol=1e-9)
    np.testing.assert_allclose(charging.sum(axis=1), day.uncontrolled_ev_kw())
    idle = day.power_flow(charger_kw=np.zeros_like(charging))
    assert idle.trafo_loading_percent.max() < result.trafo_loading_percent.max()
    with pytest.raises(ValueError, match=r"battery_kw must have shape \(96, 1\)"):
        day.power_flow(battery_kw=np.zeros((96, 2)))


def test_voltage_profile_plot_and_frame() -> None:
    import matplotlib.pyplot as plt

    grid, p, q = case33_series(4)
    result = power_flow(grid, p, q)
    ax = result.plot_voltage_profile(snapshot=2)
    depth, vm = ax.collections[0].get_offsets().T
    np.testing.assert_allclose(np.sort(vm), np.sort(result.vm_pu[2]))
    assert depth.max() == 17  # case33bw's longest path from the slack: buses 1 to 18
    plt.close(ax.figure)
    frame = result.to_frame()
    assert list(frame.index) == [0, 1, 2, 3]
    np.testing.assert_allclose(frame["min_vm_pu"], result.vm_pu.min(axis=1))
    np.testing.assert_allclose(frame["losses_kw"], result.losses_kw)
