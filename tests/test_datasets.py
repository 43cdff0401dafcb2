"""The built-in Sejong 5-1 district: deterministic, within the issue's ranges, internally consistent."""

from __future__ import annotations

import numpy as np
import pytest

from smartopt.app.district import District
from smartopt.datasets import ASSUMPTIONS, grid_network, sejong_5_1


def test_deterministic_for_a_seed(district: District) -> None:
    again = sejong_5_1(seed=0)
    np.testing.assert_array_equal(again.network.node_xy, district.network.node_xy)
    np.testing.assert_array_equal(again.requests.time_s, district.requests.time_s)
    np.testing.assert_array_equal(again.energy.ev_energy_kwh, district.energy.ev_energy_kwh)
    for a, b in zip(again.intersections, district.intersections, strict=True):
        np.testing.assert_array_equal(a.volume_vph, b.volume_vph)
    other = sejong_5_1(seed=1)
    assert not np.array_equal(other.requests.time_s[:50], district.requests.time_s[:50])


def test_sizes_within_the_specification(district: District) -> None:
    net = district.network
    assert 300 <= net.num_nodes <= 1500
    assert 30 <= len(district.intersections) <= 60
    grid = district.energy.grid
    assert 50 <= grid.num_buses <= 200
    feeders = np.flatnonzero(grid.line_from == 1)  # lines leaving the 22.9 kV substation busbar
    assert 2 <= feeders.size <= 4
    assert grid.bus_vn_kv[1] == 22.9
    assert district.energy.num_slots == 96
    assert district.periods == ("am_peak", "midday", "pm_peak")
    area_km2 = np.ptp(net.node_xy[:-8, 0]) * np.ptp(net.node_xy[:-8, 1]) / 1e6  # without the 8 gateways
    assert area_km2 == pytest.approx(2.743, rel=0.03)


def test_network_is_strongly_connected(district: District) -> None:
    tt = district.network.travel_time_matrix(np.arange(district.network.num_nodes), n_threads=2)
    assert np.isfinite(tt).all()
    types = set(district.network.link_type.tolist())
    assert {"arterial", "arterial_brt", "collector", "local"} <= types


def test_signal_loads_are_plausible(district: District) -> None:
    y = np.array([i.critical_flow_ratio() for i in district.intersections])
    assert (y < 0.95).all(), "an intersection is oversaturated in the base data"
    assert y[:, 2].max() > 0.7, "the PM peak should load the busiest junctions"
    assert (y[:, 1] <= y[:, 2] + 1e-9).all(), "midday is lighter than the PM peak everywhere"
    for x in district.intersections:
        assert district.network.link_head[x.approach_link].tolist() == [x.node] * len(x.approach_link)
        assert (district.network.link_tail[x.movement_out_link] == x.node).all()


def test_turning_volumes_are_plausible(district: District) -> None:
    """Whole veh/h; on arterials most traffic goes straight on; left and right turns both occur."""
    net = district.network
    through, total = 0.0, 0.0
    for x in district.intersections:
        assert (x.volume_vph == np.round(x.volume_vph)).all() and (x.volume_vph >= 0).all()
        on_arterial = np.char.startswith(
            net.link_type[x.approach_link[x.lane_group_approach[x.movement_lane_group]]], "arterial"
        )
        through += x.volume_vph[2, on_arterial & (x.movement_turn == "T")].sum()
        total += x.volume_vph[2, on_arterial].sum()
    assert 0.55 < through / total < 0.95
    turns = np.concatenate([x.movement_turn[x.volume_vph[2] > 0] for x in district.intersections])
    assert {"L", "T", "R"} <= set(turns.tolist())


def test_energy_is_consistent(district: District) -> None:
    e, grid = district.energy, district.energy.grid
    base = e.load_kw.sum(axis=1)
    peak_with_ev = (e.net_load_kw() + e.uncontrolled_ev_kw()).max()
    assert 5_000 < base.max() < 20_000  # kW: 8,000 households and 7,000 jobs
    assert peak_with_ev < 0.5 * grid.trafo_sn_kva[0]  # the substation transformer has headroom
    # Each distribution transformer carries at most 1 / 1.25 of its rating before EVs.
    site_peak = np.zeros(grid.num_buses)
    np.add.at(site_peak, grid.load_bus, 1.0)
    lv = grid.trafo_lv_bus[1:]
    per_bus = np.zeros((e.num_slots, grid.num_buses))
    np.add.at(per_bus.T, grid.load_bus, e.load_kw.T)
    loading = per_bus[:, lv].max(axis=0) / grid.trafo_sn_kva[1:]
    assert loading.max() <= 1.0
    # PV is zero at night and peaks near noon.
    assert e.pv_profile_pu[:20].max() == 0.0 and 44 <= int(e.pv_profile_pu.argmax()) <= 56
    # EV sessions never overlap on one charger.
    for c in np.unique(e.ev_charger):
        s = np.flatnonzero(e.ev_charger == c)
        order = np.argsort(e.ev_arrival_slot[s])
        assert (e.ev_arrival_slot[s][order][1:] >= e.ev_departure_slot[s][order][:-1]).all()
    kinds = set(e.charger_kind.tolist())
    assert kinds == {"slow", "workplace", "fast", "depot"}


def test_fleet_and_requests_are_consistent(district: District) -> None:
    fleet, req, net = district.fleet, district.requests, district.network
    assert fleet.num_vehicles == 30 and len(req) > 2000
    assert np.isin(fleet.charger_bus, district.energy.charger_bus[district.energy.charger_kind == "depot"]).all()
    tt = net.travel_time_matrix(np.arange(net.num_nodes))
    ride = tt[req.origin, req.destination]
    assert np.isfinite(ride).all()
    hours = (req.time_s // 3600).astype(int)
    counts = np.bincount(hours, minlength=24)
    assert counts[7:9].mean() > 3 * counts[10:16].mean() / 1.5  # morning peak
    assert counts[17:19].mean() > counts[13]
    # Busiest hour: direct riding needs fewer vehicle-hours than the fleet has.
    busy = counts.argmax()
    assert ride[hours == busy].sum() / 3600 < fleet.num_vehicles
    dist = np.hypot(*(net.node_xy[req.origin] - net.node_xy[req.destination]).T)
    assert dist.min() >= 350.0


def test_assumptions_are_listed() -> None:
    assert len(ASSUMPTIONS) >= 10
    assert any("2,743,000" in a for a in ASSUMPTIONS)


def test_bad_seed() -> None:
    with pytest.raises(ValueError, match="seed must be a non-negative int"):
        sejong_5_1(seed=-1)
    with pytest.raises(ValueError, match="seed must be a non-negative int"):
        sejong_5_1(seed=1.5)  # type: ignore[arg-type]


def test_grid_network() -> None:
    net = grid_network(3, 4, spacing_m=50.0)
    assert (net.num_nodes, net.num_links) == (12, 2 * (3 * 3 + 2 * 4))
    assert np.isfinite(net.travel_time_matrix(np.arange(12))).all()
    with pytest.raises(ValueError, match="at least two nodes"):
        grid_network(1, 1)
    with pytest.raises(ValueError, match=r"spacing_m\[0\]=-5.0 must be > 0"):
        grid_network(2, 2, spacing_m=-5.0)
