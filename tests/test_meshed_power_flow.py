"""The power flow on weakly meshed grids (loops, several slacks) against pandapower's Newton-Raphson,
and the compensation method's own contracts.

Tolerances in ``pandapower_checks.py``; SimBench's grids over their year are in ``test_simbench.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import cache
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pandapower_checks import matches_pandapower, quiet
from smartopt._core import _power_flow
from smartopt.app.district import District
from smartopt.energy import (
    Grid,
    day_plan,
    grid_from_pandapower,
    grid_to_pandapower,
    plan_day,
    power_flow,
    voltage_sensitivities,
)
from smartopt.energy import grid as grid_module
from smartopt.energy.power_flow import PowerFlowResult

pp = pytest.importorskip("pandapower", reason="pandapower (test extra) is the reference power flow")
pn = pytest.importorskip("pandapower.networks")


def ring_with_two_slacks() -> Any:
    """Two 110/20 kV substations (ext_grids at different voltages and angles) joined by a 20 kV
    line; a closed ring of cables behind the first, a second ring between both; loads and PV."""
    net = pp.create_empty_network()
    hv = [pp.create_bus(net, 110.0) for _ in range(2)]
    pp.create_ext_grid(net, hv[0], vm_pu=1.02, va_degree=0.0)
    pp.create_ext_grid(net, hv[1], vm_pu=1.01, va_degree=-0.4)
    mv = [pp.create_bus(net, 20.0) for _ in range(10)]
    for k in range(2):
        pp.create_transformer_from_parameters(
            net, hv[k], mv[5 * k], sn_mva=25.0, vn_hv_kv=110.0, vn_lv_kv=20.0, vkr_percent=0.4,
            vk_percent=12.0, pfe_kw=20.0, i0_percent=0.05, shift_degree=150.0, tap_side="hv", tap_neutral=0,
            tap_pos=k - 1, tap_step_percent=1.5, tap_changer_type="Ratio",
        )  # fmt: skip
    cable = {"r_ohm_per_km": 0.161, "x_ohm_per_km": 0.117, "c_nf_per_km": 273.0, "max_i_ka": 0.362}
    ring = [(0, 1, 1.2), (1, 2, 0.8), (2, 3, 1.5), (3, 4, 0.6), (4, 0, 2.1)]  # closed ring behind substation 0
    tie = [(2, 6, 3.0), (6, 7, 1.1), (7, 5, 0.9), (5, 8, 1.4), (8, 9, 0.7), (9, 3, 2.5)]  # a ring through both
    for a, b, km in ring + tie:
        pp.create_line_from_parameters(net, mv[a], mv[b], length_km=km, **cable)
    rng = np.random.default_rng(21)
    for bus in mv[1:]:
        pp.create_load(net, bus, p_mw=rng.uniform(0.2, 1.5), q_mvar=rng.uniform(0.0, 0.4))
    for bus in mv[2::3]:
        pp.create_sgen(net, bus, p_mw=rng.uniform(0.1, 0.8), q_mvar=-0.05)
    return net


@cache
def ring_grid() -> Grid:
    """The smartopt grid of :func:`ring_with_two_slacks` (built once; grids are immutable)."""
    return grid_from_pandapower(ring_with_two_slacks())


def test_closed_rings_and_two_slacks_match_pandapower() -> None:
    net = ring_with_two_slacks()
    grid = matches_pandapower(net)
    assert (grid.num_loops, grid.slack_buses.tolist()) == (3, [0, 1])


def test_meshed_case33bw_with_its_ties_closed_matches_pandapower() -> None:
    net = quiet(pn.case33bw)
    net.line["in_service"] = True  # the five tie lines close five loops
    assert matches_pandapower(net).num_loops == 5


def test_meshed_lv_grid_matches_pandapower() -> None:
    """A Kerber suburban LV cable grid with three cables joining the ends of different feeders."""
    net = quiet(pn.create_kerber_vorstadtnetz_kabel_1)
    lv = net.bus.index[net.bus.vn_kv < 1.0]
    for a, b in [(lv[10], lv[60]), (lv[25], lv[90]), (lv[40], lv[120])]:
        pp.create_line(net, a, b, length_km=0.08, std_type="NAYY 4x150 SE")
    assert matches_pandapower(net).num_loops == 3


def test_parallel_lines_share_the_current_of_one_line_of_half_impedance() -> None:
    """A reference without pandapower: two equal parallel lines (a loop) carry half the current of
    one line of half their impedance (radial, solved by the plain sweep), at the same voltages."""
    common: dict[str, Any] = {
        "bus_vn_kv": [22.9, 22.9, 22.9],
        "trafo_hv_bus": [],
        "trafo_lv_bus": [],
        "trafo_sn_kva": [],
        "trafo_vk_percent": [],
        "trafo_vkr_percent": [],
        "load_bus": [1, 2],
        "load_p_kw": [3000.0, 800.0],
        "load_q_kvar": [900.0, 100.0],
    }
    meshed = Grid(
        line_from=[0, 0, 1], line_to=[1, 1, 2], line_r_ohm_per_km=[0.4, 0.4, 0.3], line_x_ohm_per_km=[0.6, 0.6, 0.3],
        line_b_us_per_km=[3.0, 3.0, 2.0], line_length_km=[2.0, 2.0, 1.0], line_max_i_ka=[0.3, 0.3, 0.3], **common,
    )  # fmt: skip
    radial = Grid(
        line_from=[0, 1], line_to=[1, 2], line_r_ohm_per_km=[0.2, 0.3], line_x_ohm_per_km=[0.3, 0.3],
        line_b_us_per_km=[6.0, 2.0], line_length_km=[2.0, 1.0], line_max_i_ka=[0.6, 0.3], **common,
    )  # fmt: skip
    assert (meshed.num_loops, radial.num_loops) == (1, 0)
    assert meshed.per_unit.feeder.loops == 1 and radial.per_unit.feeder.loops == 0
    assert radial.per_unit.num_sources == 0  # radial grids keep the plain sweep from the slack
    m, r = power_flow(meshed, tol_pu=1e-12), power_flow(radial, tol_pu=1e-12)
    np.testing.assert_allclose(m.v_pu, r.v_pu, rtol=0, atol=1e-11)
    np.testing.assert_allclose(m.branch_i_from_pu[:, :2], r.branch_i_from_pu[:, [0, 0]] / 2, rtol=0, atol=1e-11)
    np.testing.assert_allclose(m.branch_i_from_pu[:, 2], r.branch_i_from_pu[:, 1], rtol=0, atol=1e-11)
    np.testing.assert_allclose(m.slack_kva, r.slack_kva, rtol=1e-11)


def test_meshed_batches_are_deterministic_and_equal_single_snapshots() -> None:
    net = ring_with_two_slacks()
    grid = grid_from_pandapower(net)
    rng = np.random.default_rng(3)
    p = grid.load_p_kw * rng.uniform(0.0, 2.0, (300, grid.num_loads))
    q = grid.load_q_kvar * rng.uniform(0.0, 2.0, (300, grid.num_loads))
    p[7] = 1e9  # cannot converge: voltage collapse, NaN with converged False
    one = power_flow(grid, p, q, n_threads=1, tol_pu=1e-11)
    two = power_flow(grid, p, q, n_threads=2, tol_pu=1e-11)
    np.testing.assert_array_equal(one.v_pu, two.v_pu)
    np.testing.assert_array_equal(one.slacks_kva, two.slacks_kva)
    assert not one.converged[7] and np.isnan(one.v_pu[7]).all()
    assert one.converged.sum() == 299
    for t in (0, 8, 151, 299):  # warm starts from the lane's previous snapshot change nothing that matters
        alone = power_flow(grid, p[t], q[t], tol_pu=1e-11)
        np.testing.assert_allclose(one.v_pu[t], alone.v_pu[0], rtol=0, atol=1e-9)


def test_meshed_results_round_trip_and_grids_convert_back() -> None:
    net = ring_with_two_slacks()
    grid = grid_from_pandapower(net)
    result = power_flow(grid)
    again = PowerFlowResult.from_dict(result.to_dict(), grid=grid)
    np.testing.assert_array_equal(again.slacks_kva, result.slacks_kva)
    back = grid_from_pandapower(grid_to_pandapower(grid))
    np.testing.assert_allclose(power_flow(back).v_pu, result.v_pu, rtol=0, atol=1e-12)
    assert "slack buses [0, 1], 3 loops" in repr(grid)
    rebuilt = Grid.from_dict(grid.to_dict())
    np.testing.assert_array_equal(rebuilt.extra_slack_bus, grid.extra_slack_bus)


def test_numba_backend_refuses_meshed_grids() -> None:
    grid = ring_grid()
    with pytest.raises(ValueError, match=r"backend='numba' solves radial grids with one slack only \(this grid has 3"):
        power_flow(grid, backend="numba")


# -- pandapower's mv_oberrhein ---------------------------------------------------------


@pytest.mark.parametrize("close_ties", [False, True])
def test_mv_oberrhein_with_two_external_grids_matches_pandapower(close_ties: bool) -> None:
    """As shipped: two substations, each with its own ext_grid, feeding feeders apart (two slacks).
    With every open line switch closed: one meshed grid, 6 loops, one of them between the two slacks."""
    net = quiet(pn.mv_oberrhein)
    if close_ties:
        net.switch["closed"] = True
    grid = matches_pandapower(net)
    assert grid.slack_buses.size == 2
    assert grid.num_loops == (6 if close_ties else 0)


# -- hostile input into the compiled entry point ---------------------------------------------------


def feeder_args(grid: Grid) -> tuple[Any, ...]:
    pu = grid.per_unit
    return (
        pu.position_bus,
        pu.position_parent,
        pu.position_branch,
        pu.position_flipped,
        *pu.hybrid,
        pu.v_slack,
        1000.0,
    )


def test_the_ring_grids_feeder_is_built_from_its_breakpoints() -> None:
    pu = ring_grid().per_unit
    n_pos = 1 + 12 + 3  # the virtual source, the buses, a leaf per loop
    assert (pu.position_bus.size, pu.num_sources, pu.feeder.loops) == (n_pos, 2, 3)
    again = _power_flow.make_feeder(
        *feeder_args(ring_grid()), pu.breakpoint_leaf, pu.breakpoint_bus, np.linalg.inv(pu.loop_impedance),
        np.zeros((n_pos, 3)),
    )  # fmt: skip
    assert again.loops == 3


ONE = np.ones((1, 1))
VOLTAGE = np.zeros((16, 1))


@pytest.mark.parametrize(
    ("leaf", "bus", "admittance", "voltage", "match"),
    [
        ([1.5], [2], ONE, VOLTAGE, "breakpoint_leaf must be an integer or bool array"),
        ([[1]], [2], ONE, VOLTAGE, "breakpoint_leaf must be one-dimensional"),
        ([1], [2, 3], ONE, VOLTAGE, "breakpoint_leaf and breakpoint_bus must have one entry per loop"),
        ([1], [2], np.ones((2, 2)), VOLTAGE, r"loop_admittance must have shape \(loops, loops\) = \(1, 1\)"),
        ([1], [2], np.ones(1), VOLTAGE, r"loop_admittance must have shape \(loops, loops\)"),
        ([1], [2], ONE, None, r"loop_voltage must be a complex array of shape \(buses, loops\) = \(16, 1\)"),
        ([1], [2], ONE, np.zeros((15, 1)), r"loop_voltage must be a complex array of shape"),
        ([1], [2], ONE, [["x"] * 1] * 16, r"loop_voltage must be a complex array of shape"),
        ([0], [2], ONE, VOLTAGE, "breakpoint position out of range"),
        ([1], [-1], ONE, VOLTAGE, "breakpoint position out of range"),
        ([99], [2], ONE, VOLTAGE, "breakpoint position out of range"),
        ([2**40], [2], ONE, VOLTAGE, r"breakpoint_leaf\[0\]=1099511627776 is out of range"),
        ([2], [2], ONE, VOLTAGE, "a breakpoint's leaf and bus must differ"),
        ([1], [2], np.full((1, 1), np.nan), VOLTAGE, "loop_admittance must be finite"),
        ([1], [2], np.full((1, 1), np.inf * 1j), VOLTAGE, "loop_admittance must be finite"),
        ([1], [2], ONE, np.full((16, 1), np.nan), "loop_voltage must be finite"),
        ([1], [2], [["x"]], VOLTAGE, None),
    ],
)
def test_make_feeder_refuses_hostile_breakpoints(
    leaf: Any, bus: Any, admittance: Any, voltage: Any, match: str | None
) -> None:
    with pytest.raises((ValueError, TypeError), match=match):
        _power_flow.make_feeder(*feeder_args(ring_grid()), leaf, bus, admittance, voltage)


@settings(max_examples=60, deadline=None)
@given(
    leaf=st.lists(st.integers(-3, 30), min_size=1, max_size=4),
    y=st.complex_numbers(max_magnitude=1e300, allow_nan=False, allow_infinity=False),
    dv=st.complex_numbers(max_magnitude=1e300, allow_nan=False, allow_infinity=False),
    p_kw=st.floats(-1e12, 1e12, allow_nan=False),
    lane=st.sampled_from([1, 2, 2**63 - 1]),
)
def test_hostile_breakpoints_give_an_error_or_a_flagged_result(
    leaf: list[int], y: complex, dv: complex, p_kw: float, lane: int
) -> None:
    """Any breakpoints, loop admittances and voltage responses either raise ValueError or solve to
    finite voltages flagged converged, or NaN flagged not converged: never a crash or a hang."""
    grid = ring_grid()
    m = len(leaf)
    bus = [(v * 7 + 3) % 20 - 1 for v in leaf]
    try:
        feeder = _power_flow.make_feeder(*feeder_args(grid), leaf, bus, np.full((m, m), y), np.full((16, m), dv))
    except ValueError:
        return
    pu = grid.per_unit
    p = np.full((2, grid.num_loads), p_kw)
    gen = np.zeros((2, grid.num_gens))
    flows = _power_flow.solve(feeder, pu.load_pos, p, p / 3, pu.gen_pos, gen, gen, 1e-9, 50, lane, 2)
    ok = flows.converged
    assert np.isfinite(flows.v[ok]).all() and np.isnan(flows.v[~ok]).all()


def test_plan_day_keeps_a_meshed_grid_within_its_limits(district: District) -> None:
    """The day plan's branch limits on a meshed grid (each charger's share of a branch by current
    division): full power flows of the plan show no overload or low voltage, every car charges."""
    day = district.energy
    grid = day.grid
    a, b = int(grid.line_to[0]), int(grid.line_to[-1])  # two MV feeder ends: a cable between them closes a loop
    assert grid.bus_vn_kv[a] == grid.bus_vn_kv[b]

    def more(name: str, value: float) -> Any:
        return np.append(getattr(grid, name), value)

    meshed = replace(
        grid,
        line_from=more("line_from", a),
        line_to=more("line_to", b),
        line_r_ohm_per_km=more("line_r_ohm_per_km", 0.2),
        line_x_ohm_per_km=more("line_x_ohm_per_km", 0.1),
        line_b_us_per_km=more("line_b_us_per_km", 0.0),
        line_length_km=more("line_length_km", 1.0),
        line_max_i_ka=more("line_max_i_ka", 0.3),
        line_r0_ohm_per_km=more("line_r0_ohm_per_km", 0.8),
        line_x0_ohm_per_km=more("line_x0_ohm_per_km", 0.3),
        line_b0_us_per_km=more("line_b0_us_per_km", 0.0),
    )
    assert meshed.num_loops == 1
    plan = plan_day(replace(day, grid=meshed))
    before, after = plan.violations()
    assert before.trafo.size > 0 and not after, after.to_frame()
    assert plan.after.converged.all() and plan.status == "optimal"
    np.testing.assert_allclose(plan.ev_kw.sum(axis=1) * day.slot_h, day.ev_energy_kwh, rtol=0, atol=1e-6)


def test_flow_shares_divide_a_load_by_kirchhoff() -> None:
    """The share of a kW drawn at a bus through each branch: current conservation at every bus
    (the slacks supply all of it), halves on two equal parallel lines, and the path on a radial grid."""
    grid = ring_grid()
    shares = day_plan._flow_shares(grid)
    pu = grid.per_unit
    n = grid.num_buses
    net_in = np.zeros((n, n))  # share flowing into each bus (rows) of a kW drawn at each bus (columns)
    np.add.at(net_in, pu.branch_to, shares)
    np.add.at(net_in, pu.branch_from, -shares)
    drawn = np.eye(n)
    drawn[:, grid.slack_buses] = 0.0
    inner = np.setdiff1d(np.arange(n), grid.slack_buses)
    np.testing.assert_allclose(net_in[inner], drawn[inner], rtol=0, atol=1e-9)
    np.testing.assert_allclose(-net_in[grid.slack_buses].sum(axis=0), drawn.sum(axis=0), rtol=0, atol=1e-9)
    assert (np.abs(shares) < 1 - 1e-3).any()  # the rings divide
    common: dict[str, Any] = {
        "bus_vn_kv": [22.9, 22.9, 22.9], "trafo_hv_bus": [], "trafo_lv_bus": [], "trafo_sn_kva": [],
        "trafo_vk_percent": [], "trafo_vkr_percent": [], "load_bus": [2], "load_p_kw": [800.0], "load_q_kvar": [0.0],
        "line_r_ohm_per_km": [0.4, 0.4, 0.3], "line_x_ohm_per_km": [0.6, 0.6, 0.3], "line_b_us_per_km": [3.0, 3.0, 2.0],
        "line_length_km": [2.0, 2.0, 1.0], "line_max_i_ka": [0.3, 0.3, 0.3],
    }  # fmt: skip
    parallel = day_plan._flow_shares(Grid(line_from=[0, 0, 1], line_to=[1, 1, 2], **common))
    np.testing.assert_allclose(parallel, [[0, 0.5, 0.5], [0, 0.5, 0.5], [0, 0, 1]], rtol=0, atol=1e-12)
    two_lines = {k: v[1:] if k.startswith("line_") else v for k, v in common.items()}
    radial = day_plan._flow_shares(Grid(line_from=[0, 2], line_to=[1, 1], **two_lines))
    np.testing.assert_array_equal(radial.round(12), [[0, 1, 1], [0, 0, -1]])


def test_voltage_sensitivities_on_a_meshed_grid_match_finite_differences() -> None:
    grid = ring_grid()
    base = power_flow(grid, tol_pu=1e-13)
    sens = voltage_sensitivities(base)
    load = 6  # on the ring through both substations
    bus = int(grid.load_bus[load])
    step = 1.0  # kW
    p = grid.load_p_kw.copy()
    p[load] += step
    moved = power_flow(grid, p, grid.load_q_kvar, tol_pu=1e-13)
    np.testing.assert_allclose((base.vm_pu[0] - moved.vm_pu[0]) / step, sens.dv_dp[:, bus], rtol=1e-3, atol=1e-10)
    assert (sens.dv_dp[:, grid.slack_buses] == 0).all()


def test_strongly_meshed_grids_are_refused_before_the_dense_loop_matrices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(grid_module, "MAX_LOOP_ENTRIES", 40)
    net = ring_with_two_slacks()
    with pytest.raises(ValueError, match=r"the grid has 3 loops over 12 buses: .* would exceed 40 entries"):
        grid_from_pandapower(net).per_unit  # noqa: B018


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (
            lambda net: pp.create_gen(net, 0, p_mw=0.1, vm_pu=1.0),
            r"^gen 0: a generator at an ext_grid's bus is not supported$",
        ),
        (lambda net: pp.create_xward(net, 4, 0.1, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0), r"^xward 0: a zero internal imp"),
        (lambda net: pp.create_transformer3w(net, 0, 2, 3, "63/25/38 MVA 110/20/10 kV"), r"^trafo3w 0: 3-winding"),
        (
            lambda net: pp.create_impedance(net, 2, 3, 0.01, 0.02, 1.0, bf_pu=0.01),
            r"^impedance 0: shunt parts \(bf_pu\) are not supported$",
        ),
        (lambda net: net.trafo.__setitem__("df", [1.0, 0.9]), r"^trafo 1: derating factors \(df\) other than 1"),
        (lambda net: net.line.__setitem__("g_us_per_km", [0.0] * 10 + [1.0]), r"^line 10: shunt conductance"),
        (
            lambda net: net.load.__setitem__("const_z_p_percent", [0.0, 0.0, 20.0] + [0.0] * 6),
            r"^load 2: loads with const_z_p_percent != 0 are not supported \(constant power only\)$",
        ),
        (
            lambda net: pp.create_switch(net, 0, 0, et="t", closed=False),
            r"^switch 0: open transformer switches are not supported",
        ),
        (
            lambda net: pp.create_ext_grid(net, 1),
            r"^ext_grid 2: two in-service ext_grids at one bus are not supported$",
        ),
    ],
)
def test_from_pandapower_names_the_row_it_cannot_convert(change: Callable[[Any], Any], match: str) -> None:
    net = ring_with_two_slacks()
    change(net)
    with pytest.raises(ValueError, match=match):
        grid_from_pandapower(net)
