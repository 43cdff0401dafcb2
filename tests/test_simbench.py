"""Every SimBench LV and MV grid (issue 21, item 4) over SimBench's own year of quarter-hour profiles:
the whole year in one ``power_flow`` call, sampled snapshots checked against pandapower's
Newton-Raphson in the same run (tolerances in ``pandapower_checks.py``). The ``--0-sw`` codes run
always; every scenario (0, 1, 2) and switch variant (``sw``, ``no_sw``) in the slow test."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from pandapower_checks import assert_matches, quiet, runpp
from smartopt.energy import grid_from_pandapower, power_flow

sb = pytest.importorskip("simbench", reason="simbench (test extra) provides the SimBench grids")

YEAR = 35_136
SAMPLE = [0, 4 * 24 * 40 + 50, 4 * 24 * 180 + 52, 4 * 24 * 300 + 70]  # quarter hours checked against pandapower
LV = ["1-LV-rural1", "1-LV-rural2", "1-LV-rural3", "1-LV-semiurb4", "1-LV-semiurb5", "1-LV-urban6"]
MV = ["1-MV-rural", "1-MV-semiurb", "1-MV-urban", "1-MV-comm"]
ALL = [f"{grid}--{scenario}-{switches}" for grid in LV + MV for scenario in (0, 1, 2) for switches in ("sw", "no_sw")]


def simbench_year(net: Any) -> tuple[np.ndarray, ...]:
    """SimBench's year for the grid of ``net``: load P (kW) and Q (kvar) ``(35136, n_load)`` and
    generator P and Q ``(35136, n_gen)`` in ``grid_from_pandapower``'s order (sgens, then storage
    feeding in minus its charging power; Q stays at the net's value, as SimBench has no Q profile)."""
    profiles = quiet(lambda: sb.get_absolute_values(net, profiles_instead_of_study_cases=True))

    def kw(table: str, column: str, sign: float = 1.0) -> np.ndarray:
        keep = net[table].in_service.to_numpy(dtype=bool)
        if not keep.any():  # SimBench gives an empty (0, 0) profile for an empty table
            return np.zeros((YEAR, 0))
        return sign * 1000.0 * profiles[(table, column)].to_numpy()[:, keep]

    def fixed_q(table: str, sign: float) -> np.ndarray:
        keep = net[table].in_service.to_numpy(dtype=bool)
        return np.broadcast_to(sign * 1000.0 * net[table].q_mvar.to_numpy()[keep], (YEAR, int(keep.sum())))

    gen_p = np.hstack([kw("sgen", "p_mw"), kw("storage", "p_mw", -1.0)])
    gen_q = np.hstack([fixed_q("sgen", 1.0), fixed_q("storage", -1.0)])
    return kw("load", "p_mw"), kw("load", "q_mvar"), np.ascontiguousarray(gen_p), np.ascontiguousarray(gen_q)


def set_snapshot(net: Any, year: tuple[np.ndarray, ...], t: int) -> None:
    """Writes quarter hour ``t`` of :func:`simbench_year` into the pandapower net."""
    p, q, gen_p, _ = year
    load, sgen, storage = (net[table].in_service.to_numpy(dtype=bool) for table in ("load", "sgen", "storage"))
    net.load.loc[load, "p_mw"], net.load.loc[load, "q_mvar"] = p[t] / 1000.0, q[t] / 1000.0
    n_sgen = int(sgen.sum())
    net.sgen.loc[sgen, "p_mw"] = gen_p[t, :n_sgen] / 1000.0
    net.storage.loc[storage, "p_mw"] = -gen_p[t, n_sgen:] / 1000.0


def check_year(code: str) -> None:
    net = quiet(lambda: sb.get_simbench_net(code))
    grid = grid_from_pandapower(net)
    year = simbench_year(net)
    assert year[0].shape[0] == YEAR
    result = power_flow(grid, year[0], year[1], gen_p_kw=year[2], gen_q_kvar=year[3])
    assert result.converged.all(), f"{code}: {int((~result.converged).sum())} quarter hours did not converge"
    assert (result.iterations <= 12).all()
    for t in SAMPLE:
        set_snapshot(net, year, t)
        runpp(net)
        assert_matches(net, result, t)


@pytest.mark.parametrize("code", [f"{grid}--0-sw" for grid in LV + MV])
def test_simbench_year_matches_pandapower(code: str) -> None:
    check_year(code)


@pytest.mark.slow
@pytest.mark.parametrize("code", [code for code in ALL if not code.endswith("--0-sw")])
def test_every_simbench_scenario_and_switch_variant_matches_pandapower(code: str) -> None:
    check_year(code)


def test_the_codes_are_simbench_s_own() -> None:
    """The list above is every LV and MV code the simbench package knows (60: 10 grids x 3 scenarios x 2)."""
    codes = {c for c in sb.collect_all_simbench_codes() if c.startswith(("1-LV-", "1-MV-"))}
    assert codes == set(ALL)
