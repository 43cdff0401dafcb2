"""Shunts, wards and series impedances (issue 21, item 5) against pandapower's Newton-Raphson, on
pandapower's example grids and on CIGRE's MV grid with the elements added (radial, meshed, two
slacks); and their validation. Tolerances in ``pandapower_checks.py``."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from pandapower_checks import RTOL, assert_matches, matches_pandapower, quiet, runpp
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


def test_example_simple_with_its_generator_at_pandapowers_q_matches() -> None:
    """pandapower's example_simple (a 110 kV shunt, a switch-fed MV ring); its PV generator becomes an
    sgen at the Q pandapower's own solution gives it (PV buses are not converted)."""
    net = quiet(pn.example_simple)
    runpp(net)
    for k, row in net.gen.iterrows():
        pp.create_sgen(net, row.bus, p_mw=row.p_mw, q_mvar=float(net.res_gen.q_mvar[k]))
    net.gen["in_service"] = False
    assert matches_pandapower(net).shunt_bus.size == 1


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


def test_shunts_and_impedances_round_trip_through_pandapower_and_to_dict() -> None:
    grid = grid_from_pandapower(cigre_mv_with_elements("two slacks"))
    again = grid_from_pandapower(grid_to_pandapower(grid))
    for name in ("shunt_bus", "shunt_p_kw", "shunt_q_kvar", "impedance_r_pu", "impedance_xtf_pu", "load_p_kw"):
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
    ],
)
def test_grid_names_the_bad_shunt_or_impedance_field(change: dict[str, Any], match: str) -> None:
    with pytest.raises((ValueError, TypeError), match=match):
        Grid(**{**BASE, **change})


def test_an_impedance_joins_voltage_levels_as_pandapower_does() -> None:
    grid = Grid(**BASE, load_p_kw=[30.0], load_q_kvar=[5.0])
    net = grid_to_pandapower(grid)
    runpp(net)
    assert_matches(net, power_flow(grid))
