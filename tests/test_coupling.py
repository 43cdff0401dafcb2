"""Signal plans -> travel times for dispatch: per-link control delays from the HCM report, and the
time-of-day spaces built from them.

Tolerances: delays 1e-9 s.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from smartopt.app.coupling import (
    depot_charging_kw,
    depot_spare_kw,
    fleet_charger_index,
    mean_signal_delay_s,
    signal_time_of_day,
    with_fleet_charging,
)
from smartopt.app.district import District
from smartopt.datasets import sejong_5_1
from smartopt.dispatch import TravelSpace
from smartopt.signals import hcm_delay, link_delays, optimize_fixed_time, webster


@pytest.fixture(scope="module")
def district() -> District:
    return sejong_5_1(seed=0)


def test_link_delays_are_the_approaches_lane_group_delays(district: District) -> None:
    x, net = district.intersections, district.network
    plan = webster(x, 0)
    report = hcm_delay(x, plan, 0)
    delay = link_delays(x, report, net.num_links)
    approach_links = np.concatenate([i.approach_link for i in x])
    assert np.all(delay[np.setdiff1d(np.arange(net.num_links), approach_links)] == 0)
    assert np.all(delay[approach_links] > 0)
    checked = 0
    for k, i in enumerate(x):
        rows = np.flatnonzero(report.intersection == k)
        groups = np.flatnonzero(i.saturation_flow_vph > 0)
        for a, link in enumerate(i.approach_link):
            mine = rows[i.lane_group_approach[groups] == a]
            vol, d = report.volume_vph[mine], report.delay_s[mine]
            want = (vol * d).sum() / vol.sum() if vol.sum() > 0 else d.mean()
            assert delay[link] == pytest.approx(want, abs=1e-9)
            checked += mine.size > 1
    assert checked > 10  # approaches with several lane groups: the volume weighting is exercised


def test_signal_time_of_day_adds_each_periods_delays_in_its_hours(district: District) -> None:
    x, net, periods = district.intersections, district.network, district.periods
    plans = {p: optimize_fixed_time(x, k) for k, p in enumerate(periods)}
    tod = signal_time_of_day(net, x, periods, plans, district.signal_hours)
    starts = [t for t, _ in tod]
    assert starts == [district.signal_hours[p][0] * 3600 for p in ("am_peak", "midday", "pm_peak")] + [20 * 3600.0]
    _, order = net.csr
    free = TravelSpace.from_network(net)
    for (_, space), period in zip(tod, ("am_peak", "midday", "pm_peak", None), strict=True):
        assert space.links is not None
        if period is None:
            want = net.link_time_s
        else:
            k = periods.index(period)
            want = net.link_time_s + link_delays(x, hcm_delay(x, plans[period], k), net.num_links)
        np.testing.assert_allclose(space.links[2], want[order], atol=1e-9)
        assert space.time_s is not None and free.time_s is not None
        assert np.all(space.time_s >= free.time_s - 1e-9)
    added = mean_signal_delay_s(tod, free)
    assert added[-1] == 0 and min(added[:3]) > 0
    only_pm = signal_time_of_day(net, x, periods, {"pm_peak": plans["pm_peak"]}, district.signal_hours)
    assert [t for t, _ in only_pm] == [16 * 3600.0, 20 * 3600.0]


def test_signal_time_of_day_rejects_unknown_periods_and_overlaps(district: District) -> None:
    x, net, periods = district.intersections, district.network, district.periods
    plan = webster(x, 0)
    with pytest.raises(ValueError, match="night"):
        signal_time_of_day(net, x, periods, {"night": plan}, district.signal_hours)
    with pytest.raises(ValueError, match="overlap"):
        signal_time_of_day(net, x, periods, {"am_peak": plan, "midday": plan}, {"am_peak": (6, 11), "midday": (10, 16)})
    with pytest.raises(ValueError, match="lane groups"):
        link_delays(x[1:], hcm_delay(x, plan, 0), net.num_links)


def test_fleet_charging_joins_the_energy_day_at_the_depot_chargers(district: District) -> None:
    energy, fleet = district.energy, district.fleet
    index = fleet_charger_index(energy, fleet)
    assert np.all(energy.charger_kind[index] == "depot") and np.all(energy.charger_bus[index] == fleet.charger_bus)
    assert np.unique(index).size == index.size
    kw = energy.charger_kw[index[0]]
    t = energy.num_slots
    load = np.zeros((fleet.charger_kw.size, t))
    load[0, [4, 5, 6]] = [kw, kw / 2, 0.25 * kw]  # kW drawn in three slots
    load[1, [0, t - 1]] = [1.0, 2.0]  # the morning part of a night's charging, and the evening
    joined = with_fleet_charging(energy, fleet, load)
    n = energy.ev_energy_kwh.size
    np.testing.assert_array_equal(joined.ev_charger[n:], index[[0, 0, 0, 1, 1]])
    assert joined.ev_arrival_slot[n:].tolist() == [4, 5, 6, 0, t - 1]
    assert joined.ev_departure_slot[n:].tolist() == [5, 6, 7, 1, t]  # each kWh in the slot it is drawn
    np.testing.assert_allclose(joined.ev_max_kw[n:], [kw, kw / 2, 0.25 * kw, 1.0, 2.0])
    assert joined.ev_energy_kwh[n:].sum() == pytest.approx(load.sum() * energy.slot_h, abs=1e-9)  # every kWh
    too_much = load.copy()
    too_much[2, 10] = energy.charger_kw[index[2]] + 1.0
    for bad, match in ((too_much, r"charger_load_kw\[2, 10\]"), (-load, "must be >= 0"), (load[:, :5], "shape")):
        with pytest.raises(ValueError, match=match):
            with_fleet_charging(energy, fleet, bad)
    other = dataclasses.replace(fleet, charger_bus=np.zeros(fleet.charger_bus.size, dtype=int))  # the slack bus
    with pytest.raises(ValueError, match="fleet charger 0"):
        fleet_charger_index(energy, other)


def test_depot_charging_fits_the_transformers_spare_power(district: District) -> None:
    from smartopt.energy import plan_day

    alone = plan_day(district.energy)
    fleet, grid = district.fleet, district.energy.grid
    limit = depot_charging_kw(alone, fleet, floor_kw=5.0)
    spare = depot_spare_kw(alone, fleet)
    np.testing.assert_array_equal(limit, np.clip(spare, 5.0, fleet.charger_kw[:, None]))  # the floor, where it binds
    assert limit.shape == (fleet.charger_kw.size, alone.day.num_slots)  # per slot, not the day's minimum
    assert np.all((limit >= 5.0) & (limit <= fleet.charger_kw[:, None]))
    for bus in np.unique(fleet.charger_bus):
        feeding = np.flatnonzero(grid.trafo_lv_bus == bus)
        used = (alone.after.trafo_loading_percent[:, feeding] / 100 * grid.trafo_sn_kva[feeding]).sum(axis=1)
        # per slot: the rating less 1 %, less the loading, in kW at the bus's voltage
        spare = (0.99 * grid.trafo_sn_kva[feeding].sum() - used) * alone.after.vm_pu[:, bus]
        here = fleet.charger_bus == bus
        want = np.clip(spare[None, :] / here.sum(), 5.0, fleet.charger_kw[here][:, None])
        np.testing.assert_allclose(limit[here], want, rtol=1e-12)
        assert np.all(limit[here].sum(axis=0) <= np.maximum(spare, 5.0 * here.sum()) + 1e-9)  # within the spare power
        assert np.ptp(limit[here]) > 0  # the spare power changes over the day
