"""Every SimBench LV and MV grid (issue 21, item 4) over SimBench's own year of quarter-hour profiles
(``simbench_profiles``): the whole year in one ``power_flow`` call, sampled snapshots checked against
pandapower's Newton-Raphson in the same run (tolerances in ``pandapower_checks.py``). The ``--0-sw``
codes run always; every scenario (0, 1, 2) and switch variant (``sw``, ``no_sw``) in the slow test."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from pandapower_checks import assert_matches, quiet, runpp
from smartopt.energy import grid_from_pandapower, power_flow, simbench_profiles

sb = pytest.importorskip("simbench", reason="simbench (test extra) provides the SimBench grids")

YEAR = 35_136
SAMPLE = [0, 4 * 24 * 40 + 50, 4 * 24 * 180 + 52, 4 * 24 * 300 + 70]  # quarter hours checked against pandapower
LV = ["1-LV-rural1", "1-LV-rural2", "1-LV-rural3", "1-LV-semiurb4", "1-LV-semiurb5", "1-LV-urban6"]
MV = ["1-MV-rural", "1-MV-semiurb", "1-MV-urban", "1-MV-comm"]
ALL = [f"{grid}--{scenario}-{switches}" for grid in LV + MV for scenario in (0, 1, 2) for switches in ("sw", "no_sw")]


def set_snapshot(net: Any, year: dict[str, np.ndarray], t: int) -> None:
    """Writes quarter hour ``t`` of ``simbench_profiles(net)`` into the pandapower net."""
    load, sgen, storage = (net[table].in_service.to_numpy(dtype=bool) for table in ("load", "sgen", "storage"))
    net.load.loc[load, "p_mw"], net.load.loc[load, "q_mvar"] = year["p_kw"][t] / 1000.0, year["q_kvar"][t] / 1000.0
    n_sgen = int(sgen.sum())
    net.sgen.loc[sgen, "p_mw"] = year["gen_p_kw"][t, :n_sgen] / 1000.0
    net.storage.loc[storage, "p_mw"] = -year["gen_p_kw"][t, n_sgen:] / 1000.0


def check_year(code: str) -> None:
    net = quiet(lambda: sb.get_simbench_net(code))
    grid = grid_from_pandapower(net)
    year = quiet(lambda: simbench_profiles(net))
    assert year["p_kw"].shape == (YEAR, grid.num_loads) and year["gen_q_kvar"].shape == (YEAR, grid.num_gens)
    result = power_flow(grid, **year)
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
