"""Shunts, wards and series impedances (issue 21, item 5) against pandapower's Newton-Raphson, on
pandapower's example grids and on CIGRE's MV grid with the elements added (radial, meshed, two
slacks); and their validation. Tolerances in ``pandapower_checks.py``."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pandapower_checks import REACTIVE_RTOL, RTOL, assert_matches, matches_pandapower, quiet, runpp
from smartopt.energy import Grid, grid_from_pandapower, grid_to_pandapower, power_flow, voltage_sensitivities

pp = pytest.importorskip("pandapower", reason="pandapower (test extra) is the reference power flow")
pn = pytest.importorskip("pandapower.networks")


def cigre_mv_with_elements(topology: str) -> Any:
    """CIGRE's MV grid with every DER, capacitor banks and a reactor (one at the slack, one with two
    steps rated at 21 kV), a ward and a non-reciprocal impedance; ``topology``: "radial" (as shipped:
    the impedance closes one loop), "meshed" (its switches closed) or "two slacks" (and a second
    ext_grid with its own shunt)."""
    net = quiet(lambda: pn.create_cigre_network_mv(with_der="all"))
    pp.create_shunt(net, 5, q_mvar=-0.5, p_mw=0.01)
    pp.create_shunt(net, 0, q_mvar=-1.0, p_mw=0.02)
    pp.create_shunt(net, 1, q_mvar=0.3, step=2, vn_kv=21.0)
    pp.create_ward(net, 8, ps_mw=0.2, qs_mvar=0.05, pz_mw=0.1, qz_mvar=-0.2)
    pp.create_impedance(net, 4, 9, rft_pu=0.01, xft_pu=0.03, rtf_pu=0.012, xtf_pu=0.035, sn_mva=1.0)
    if topology != "radial":
        net.switch["closed"] = True
    if topology == "two slacks":
        pp.create_ext_grid(net, 12, vm_pu=1.01, va_degree=-1.0)
        pp.create_shunt(net, 12, q_mvar=-0.4)
    return net


@pytest.mark.parametrize(("topology", "loops", "slacks"), [("radial", 1, 1), ("meshed", 4, 1), ("two slacks", 5, 2)])
def test_shunts_wards_and_impedances_match_pandapower(topology: str, loops: int, slacks: int) -> None:
    net = cigre_mv_with_elements(topology)
    grid = matches_pandapower(net)
    assert (grid.num_loops, grid.slack_buses.size, grid.num_impedances) == (loops, slacks, 1)
    assert grid.shunt_bus.size == 3 + slacks  # three shunts, the ward's impedance, the second slack's
    result = power_flow(grid)
    nl, nt = grid.num_lines, grid.num_trafos
    for end in ("from", "to"):
        for part in ("p", "q"):
            ours = getattr(result, f"branch_{part}_{end}_{'kw' if part == 'p' else 'kvar'}")[0]
            unit = "mw" if part == "p" else "mvar"
            np.testing.assert_allclose(
                ours[nl + nt], 1000.0 * net.res_impedance[f"{part}_{end}_{unit}"].iloc[0], rtol=RTOL
            )
            hv_lv = "hv" if end == "from" else "lv"
            np.testing.assert_allclose(
                ours[nl : nl + nt], 1000.0 * net.res_trafo[f"{part}_{hv_lv}_{unit}"], rtol=RTOL, atol=1e-5
            )


def assert_generators_match(net: Any, result: Any) -> None:
    """Each voltage-controlled generator's Q equals pandapower's (1e-6 relative, 1e-5 kvar)."""
    q = 1000.0 * net.res_gen.q_mvar[net.gen.in_service.to_numpy(dtype=bool)].to_numpy()
    np.testing.assert_allclose(result.pv_q_kvar[0], q, rtol=REACTIVE_RTOL, atol=1e-5)


@pytest.mark.parametrize("name", ["example_simple", "case4gs", "case9", "case30"])
def test_voltage_controlled_generators_match_pandapower(name: str) -> None:
    """pandapower's example_simple (a 20 kV generator holding 1.03 pu, a 110 kV shunt, a switch-fed
    MV ring) and MATPOWER's small meshed cases (PV buses, shunts, loops)."""
    net = quiet(getattr(pn, name))
    grid = matches_pandapower(net)
    assert grid.pv_bus.size == int(net.gen.in_service.sum()) > 0
    assert_generators_match(net, power_flow(grid))


@pytest.mark.parametrize("limit_mvar", [0.5, 2.0])
def test_q_limits_hold_a_generator_at_its_limit_as_pandapower_does(limit_mvar: float) -> None:
    """example_simple's generator needs 3.4 Mvar to hold 1.03 pu: with a limit of 0.5 Mvar it stays
    at 0.5 Mvar, with 2 Mvar at 2 Mvar, and its bus voltage drops as pandapower's (enforce_q_lims)."""
    net = quiet(pn.example_simple)
    net.gen["min_q_mvar"], net.gen["max_q_mvar"] = -limit_mvar, limit_mvar
    grid = grid_from_pandapower(net)
    result = power_flow(grid, enforce_q_limits=True)
    quiet(lambda: pp.runpp(net, tolerance_mva=1e-10, enforce_q_lims=True, numba=False))
    assert_matches(net, result)
    assert_generators_match(net, result)
    assert result.pv_q_kvar[0, 0] == pytest.approx(1000.0 * limit_mvar)
    assert result.vm_pu[0, grid.pv_bus[0]] < 1.03


def test_extended_wards_match_pandapower() -> None:
    """Two extended wards (constant power and impedance parts, an internal 1.01 / 1.0 pu source
    behind 0.5 + j4 and j6 ohm) on CIGRE MV: voltages, slack power, and each ward's internal Q."""
    net = quiet(lambda: pn.create_cigre_network_mv(with_der="all"))
    pp.create_xward(net, 7, ps_mw=0.3, qs_mvar=0.1, pz_mw=0.05, qz_mvar=-0.1, r_ohm=0.5, x_ohm=4.0, vm_pu=1.01)
    pp.create_xward(net, 11, ps_mw=-0.2, qs_mvar=0.0, pz_mw=0.0, qz_mvar=0.0, r_ohm=0.0, x_ohm=6.0, vm_pu=1.0)
    grid = matches_pandapower(net)
    assert grid.bus_name[-2:].tolist() == ["xward 0 internal bus", "xward 1 internal bus"]
    result = power_flow(grid)
    np.testing.assert_allclose(result.vm_pu[0, -2:], [1.01, 1.0], atol=1e-9)
    internal = net.res_xward.vm_internal_pu.to_numpy()
    np.testing.assert_allclose(result.vm_pu[0, -2:], internal, atol=1e-9)


def test_example_multivoltage_is_refused_naming_its_3_winding_transformer() -> None:
    with pytest.raises(ValueError, match=r"^trafo3w 0: 3-winding transformers are not supported \(this row is in"):
        grid_from_pandapower(quiet(pn.example_multivoltage))


def test_generators_on_a_meshed_grid_with_two_slacks_and_a_batch() -> None:
    """CIGRE MV meshed with two slacks, shunts and two generators holding 1.02 and 1.0 pu; a batch of
    40 load snapshots equals the snapshots solved one by one, and snapshot 7 equals pandapower."""
    net = cigre_mv_with_elements("two slacks")
    pp.create_gen(net, 6, p_mw=1.5, vm_pu=1.02)
    pp.create_gen(net, 10, p_mw=0.5, vm_pu=1.0)
    grid = grid_from_pandapower(net)
    scale = np.random.default_rng(7).uniform(0.2, 1.5, (40, grid.num_loads))
    scale[:, len(net.load) :] = 1.0  # the ward's constant power stays as pandapower has it
    p, q = grid.load_p_kw * scale, grid.load_q_kvar * scale
    batch = power_flow(grid, p, q)
    assert batch.converged.all()
    np.testing.assert_allclose(batch.vm_pu[:, grid.pv_bus], np.broadcast_to([1.02, 1.0], (40, 2)), atol=1e-9)
    np.testing.assert_allclose(power_flow(grid, p[7], q[7]).v_pu[0], batch.v_pu[7], atol=1e-8)
    net.load["p_mw"], net.load["q_mvar"] = p[7, : len(net.load)] / 1000.0, q[7, : len(net.load)] / 1000.0
    runpp(net)
    assert_matches(net, batch, 7)


def test_an_unsolvable_generator_snapshot_is_flagged_not_raised() -> None:
    """CIGRE's HV grid (380/220 kV, 33 degrees across it) is beyond the sweep: flagged, never a crash."""
    result = power_flow(grid_from_pandapower(quiet(pn.create_cigre_network_hv)), max_iterations=30)
    assert not result.converged.any() and np.isnan(result.pv_q_kvar).all()


def test_numba_backend_and_batches_agree_with_shunts() -> None:
    grid = grid_from_pandapower(cigre_mv_with_elements("radial"))
    grid = Grid(**{**grid.to_dict(), "impedance_from_bus": [], "impedance_to_bus": [], "impedance_r_pu": [],
                   "impedance_x_pu": [], "impedance_rtf_pu": [], "impedance_xtf_pu": []})  # fmt: skip
    rng = np.random.default_rng(5)
    p = grid.load_p_kw * rng.uniform(0.2, 1.5, (40, grid.num_loads))
    cpp, numba = power_flow(grid, p, backend="cpp"), power_flow(grid, p, backend="numba")
    np.testing.assert_allclose(numba.v_pu, cpp.v_pu, rtol=0, atol=1e-9)
    np.testing.assert_allclose(numba.slack_kva, cpp.slack_kva, rtol=1e-9)
    np.testing.assert_allclose(power_flow(grid, p[7]).v_pu[0], cpp.v_pu[7], rtol=0, atol=1e-8)


def test_the_new_elements_round_trip_through_pandapower_and_to_dict() -> None:
    net = cigre_mv_with_elements("two slacks")
    pp.create_gen(net, 6, p_mw=1.5, vm_pu=1.02, min_q_mvar=-1.0, max_q_mvar=2.0)
    grid = grid_from_pandapower(net)
    again = grid_from_pandapower(grid_to_pandapower(grid))
    names = ("shunt_bus", "shunt_p_kw", "shunt_q_kvar", "impedance_r_pu", "impedance_xtf_pu", "load_p_kw")
    for name in (*names, "pv_bus", "pv_p_kw", "pv_vm_pu", "pv_min_q_kvar", "pv_max_q_kvar"):
        np.testing.assert_allclose(getattr(again, name), getattr(grid, name), rtol=1e-12)
    np.testing.assert_allclose(power_flow(again).v_pu, power_flow(Grid.from_dict(grid.to_dict())).v_pu, atol=1e-12)
    assert "1 impedances" in repr(grid) and "5 shunts" in repr(grid)


def test_voltage_sensitivities_count_the_shunts() -> None:
    grid = grid_from_pandapower(cigre_mv_with_elements("meshed"))
    base = power_flow(grid, tol_pu=1e-13)
    sens = voltage_sensitivities(base)
    load = 4
    q = grid.load_q_kvar.copy()
    q[load] += 1.0  # kvar
    moved = power_flow(grid, grid.load_p_kw, q, tol_pu=1e-13)
    bus = int(grid.load_bus[load])
    np.testing.assert_allclose(base.vm_pu[0] - moved.vm_pu[0], sens.dv_dq[:, bus], rtol=1e-3, atol=1e-10)


def test_capacitor_banks_at_the_slack_and_a_feeder_end_match_pandapower() -> None:
    """A shunt is a constant admittance: at the slack's 0.9 pu a 1 Mvar bank gives 0.81 Mvar."""
    net = pp.create_empty_network()
    a, b = pp.create_bus(net, 20.0), pp.create_bus(net, 20.0)
    pp.create_ext_grid(net, a, vm_pu=0.9)
    pp.create_line_from_parameters(net, a, b, 1.0, 0.1, 0.1, 0.0, 1.0)
    pp.create_shunt(net, a, q_mvar=-1.0)
    pp.create_shunt(net, b, q_mvar=-1.0)
    result = power_flow(matches_pandapower(net))
    assert result.vm_pu[0, 1] > 0.9
    assert result.slack_q_kvar[0] == pytest.approx(-810.0 + result.branch_q_from_kvar[0, 0], rel=1e-12)


BUSES = [20.0, 20.0, 0.4]
BASE: dict[str, Any] = {
    "bus_vn_kv": BUSES, "line_from": [0], "line_to": [1], "line_r_ohm_per_km": [0.1], "line_x_ohm_per_km": [0.1],
    "line_max_i_ka": [0.3], "trafo_hv_bus": [], "trafo_lv_bus": [], "trafo_sn_kva": [], "trafo_vk_percent": [],
    "trafo_vkr_percent": [], "load_bus": [2], "impedance_from_bus": [1], "impedance_to_bus": [2],
    "impedance_r_pu": [0.5], "impedance_x_pu": [2.0],
}  # fmt: skip


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"shunt_bus": [3]}, r"shunt_bus\[0\]=3 is not an index in \[0, 3\)"),
        ({"shunt_bus": [1], "shunt_q_kvar": [1.0, 2.0]}, r"shunt_q_kvar"),
        ({"shunt_bus": [1], "shunt_p_kw": [np.nan]}, r"shunt_p_kw"),
        ({"impedance_to_bus": [1]}, r"impedance 0 joins bus 1 to itself"),
        ({"impedance_r_pu": [0.0], "impedance_x_pu": [0.0]}, r"impedance 0 has zero impedance .*use a switch"),
        ({"impedance_xtf_pu": [np.inf]}, r"impedance_xtf_pu"),
        ({"impedance_r_pu": None}, r"impedance_r_pu"),
        ({"impedance_to_bus": [2, 0]}, r"impedance_to_bus"),
        ({"pv_bus": [0]}, r"pv_bus\[0\]=0: a voltage-controlled generator needs a bus of its own, not a slack's"),
        ({"pv_bus": [1, 1]}, r"pv_bus\[0\]=1: a voltage-controlled generator needs a bus of its own"),
        ({"pv_bus": [1], "pv_min_q_kvar": [5.0], "pv_max_q_kvar": [1.0]}, r"pv_min_q_kvar\[0\]=5.0 exceeds"),
        ({"pv_bus": [1], "pv_vm_pu": [0.0]}, r"pv_vm_pu"),
    ],
)
def test_grid_names_the_bad_shunt_or_impedance_field(change: dict[str, Any], match: str) -> None:
    with pytest.raises((ValueError, TypeError), match=match):
        Grid(**{**BASE, **change})


def test_a_generator_tied_to_a_slack_by_a_switch_is_refused() -> None:
    grid = Grid(**{**BASE, "switch_bus_a": [0], "switch_bus_b": [1], "line_from": [1], "line_to": [0]}, pv_bus=[1])
    with pytest.raises(ValueError, match=r"pv_bus\[0\]=1 is tied by closed switches to a slack"):
        power_flow(grid)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda net: pp.create_gen(net, 0, p_mw=1.0), r"^gen 0: a generator at an ext_grid's bus is not supported$"),
        (lambda net: [pp.create_gen(net, 5, p_mw=1.0) for _ in range(2)], r"^gen 1: two in-service generators at one"),
        (lambda net: pp.create_gen(net, 5, p_mw=1.0, slack=True), r"^gen 0: slack generators are not supported"),
    ],
)
def test_from_pandapower_names_the_generator_it_cannot_convert(change: Any, match: str) -> None:
    net = cigre_mv_with_elements("radial")
    change(net)
    with pytest.raises(ValueError, match=match):
        grid_from_pandapower(net)


def test_an_impedance_joins_voltage_levels_as_pandapower_does() -> None:
    grid = Grid(**BASE, load_p_kw=[30.0], load_q_kvar=[5.0])
    net = grid_to_pandapower(grid)
    runpp(net)
    assert_matches(net, power_flow(grid))


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_bus=st.integers(3, 14),
    extra=st.integers(0, 3),
    shunts=st.integers(0, 3),
    generators=st.integers(0, 2),
    impedance=st.booleans(),
)
def test_random_grids_with_the_new_elements_match_pandapower(
    seed: int, n_bus: int, extra: int, shunts: int, generators: int, impedance: bool
) -> None:
    """Random 20 kV cable grids behind a 110/20 kV transformer: a random tree plus ``extra`` lines
    closing loops, loads and PV everywhere, capacitor banks and reactors, voltage-controlled
    generators and an impedance, against pandapower."""
    rng = np.random.default_rng(seed)
    net = pp.create_empty_network()
    hv = pp.create_bus(net, 110.0)
    pp.create_ext_grid(net, hv, vm_pu=rng.uniform(0.98, 1.04), va_degree=rng.uniform(-5.0, 5.0))
    mv = [pp.create_bus(net, 20.0) for _ in range(n_bus)]
    pp.create_transformer(net, hv, mv[0], "25 MVA 110/20 kV")
    cable = {"r_ohm_per_km": 0.161, "x_ohm_per_km": 0.117, "c_nf_per_km": 273.0, "max_i_ka": 0.362}
    ends = [(int(rng.integers(0, k)), k) for k in range(1, n_bus)]
    ends += [tuple(int(v) for v in rng.choice(n_bus, 2, replace=False)) for _ in range(extra)]
    for a, b in ends[: n_bus - 1 + extra - (1 if impedance and extra else 0)]:
        pp.create_line_from_parameters(net, mv[a], mv[b], length_km=rng.uniform(0.2, 3.0), **cable)
    if impedance and extra:  # the last loop closed by an impedance instead
        a, b = ends[-1]
        pp.create_impedance(net, mv[a], mv[b], rft_pu=0.002, xft_pu=0.006, sn_mva=1.0)
    for bus in mv[1:]:
        pp.create_load(net, bus, p_mw=rng.uniform(0.0, 0.6), q_mvar=rng.uniform(-0.05, 0.2))
        pp.create_sgen(net, bus, p_mw=rng.uniform(0.0, 0.3))
    for bus in rng.choice(mv, shunts):
        pp.create_shunt(net, int(bus), q_mvar=rng.uniform(-0.5, 0.3), p_mw=rng.uniform(0.0, 0.005))
    for bus in rng.choice(mv[1:], min(generators, n_bus - 1), replace=False):
        pp.create_gen(net, int(bus), p_mw=rng.uniform(0.1, 1.0), vm_pu=rng.uniform(0.99, 1.03))
    grid = matches_pandapower(net)
    if generators:
        assert_generators_match(net, power_flow(grid))


def test_the_numba_backend_holds_the_generators_voltages_too() -> None:
    grid = grid_from_pandapower(quiet(pn.example_simple))
    cpp, numba = power_flow(grid), power_flow(grid, backend="numba")
    np.testing.assert_allclose(numba.v_pu, cpp.v_pu, rtol=0, atol=1e-9)
    np.testing.assert_allclose(numba.pv_q_kvar, cpp.pv_q_kvar, rtol=1e-6)
