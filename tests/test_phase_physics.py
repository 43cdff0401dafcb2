"""Phase assignments judged by physics: the built-in Sejong day's three-phase power flow
(``EnergyDay.unbalanced_power_flow``) with its households and slow chargers on their phases.

Tolerances: the slack supplies the loads minus the generation plus the losses to 1e-6 relative in
every slot (the flow converges to 1e-9 pu); the mean of a bus's three phase voltages stays within
0.5 % of the balanced flow's voltage (the same totals, spread unevenly over the phases).
"""

from __future__ import annotations

import numpy as np
import pytest

from smartopt.app.district import District
from smartopt.energy import balance_phases


def in_turn(feeder: np.ndarray) -> np.ndarray:
    return np.concatenate([np.arange(c) % 3 for c in np.bincount(feeder)])


def test_the_three_phase_day_supplies_its_loads_and_losses(district: District) -> None:
    day = district.energy
    profile, feeder = day.single_phase_loads()
    flow = day.unbalanced_power_flow(in_turn(feeder))
    assert flow.converged.all()
    fast = day.charger_kind != "slow"
    drawn = profile.sum(axis=0) + day.uncontrolled_charging_kw()[:, fast].sum(axis=1)
    generated = day.grid.gen_p_kw.sum() + day.pv_profile_pu * day.pv_kwp.sum()
    np.testing.assert_allclose(flow.slack_kva.real.sum(axis=1), drawn - generated + flow.losses_kw, rtol=1e-6)
    balanced = day.power_flow()
    np.testing.assert_allclose(flow.vm_pu.mean(axis=2), balanced.vm_pu, rtol=5e-3)


def test_balancing_lowers_unbalance_and_neutral_current(district: District) -> None:
    day = district.energy
    profile, feeder = day.single_phase_loads()
    balanced = balance_phases(profile, feeder=feeder, slot_h=day.slot_h, max_iterations=1_000_000)
    before, after = (day.unbalanced_power_flow(p) for p in (in_turn(feeder), balanced.phase))
    lv = slice(day.day_grid.num_lines, day.day_grid.num_lines + day.day_grid.num_trafos)
    assert after.unbalance_percent.max() < 0.5 * before.unbalance_percent.max()
    assert after.branch_i_n_to_ka[:, lv].max() < 0.5 * before.branch_i_n_to_ka[:, lv].max()
    assert after.vm_pu.min() > before.vm_pu.min()


def test_a_bad_phase_names_the_field(district: District) -> None:
    day = district.energy
    _, feeder = day.single_phase_loads()
    with pytest.raises(ValueError, match=r"phase must be 0, 1 or 2"):
        day.unbalanced_power_flow(np.full(feeder.size, 3))
    with pytest.raises(ValueError, match=r"phase"):
        day.unbalanced_power_flow(np.zeros(feeder.size - 1, int))
