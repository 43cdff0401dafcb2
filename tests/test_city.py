"""The Manhattan-like city and its taxi day (smartopt.datasets.city): the grid's one-way layout
and reachability, the day's shape against the shares it is drawn from, and a fleet day on it.

Tolerances: hourly shares within 0.3 percentage points at 200,000 rides (binomial standard error
about 0.05 points); passenger shares within 1 point; the morning's pull towards the hot spots as a
share of rides ending within 2 km of midtown at least 10 points above the share starting there
(measured: 37 % and 21 %), and the reverse in the evening by at least 5 points (measured: 29 % and
38 %).
"""

from __future__ import annotations

import numpy as np
import pytest

from smartopt.datasets import manhattan_like, taxi_day
from smartopt.datasets.city import HOT_SPOTS, PASSENGERS_SHARE, TAXI_HOURLY_SHARE
from smartopt.dispatch import Fleet, Policy, TravelSpace, simulate


def test_the_grid_is_one_way_but_every_node_reaches_every_other() -> None:
    net = manhattan_like(avenues=6, streets=21, seed=3)
    assert net.num_nodes == 126
    kind = net.link_type
    pairs = set(zip(net.link_tail.tolist(), net.link_head.tolist(), strict=True))
    two_way = np.array([(h, t) in pairs for t, h in zip(net.link_tail.tolist(), net.link_head.tolist(), strict=True)])
    assert not two_way[(kind == "avenue") | (kind == "street")].any()
    assert two_way[(kind == "drive") | (kind == "crosstown")].all()
    # 4 inner avenues one way (20 links each), 2 drives both ways, 18 streets one way (5 links),
    # 3 crosstown streets both ways
    assert net.num_links == 4 * 20 + 2 * 2 * 20 + 18 * 5 + 3 * 2 * 5
    times = TravelSpace.from_network(net).time_s  # raises if some node cannot reach another
    assert times is not None and np.isfinite(times).all()
    speed = net.link_length_m / net.link_time_s
    assert speed[kind == "drive"].min() > speed[kind == "street"].max()


def test_a_taxi_day_follows_its_shares() -> None:
    net = manhattan_like(seed=1)
    day = taxi_day(net, rides=200_000, seed=7)
    assert len(day) == 200_000 and (day.origin != day.destination).all()
    assert (np.diff(day.time_s) >= 0).all() and day.time_s[-1] < 86_400
    hourly = np.bincount((day.time_s // 3600).astype(int), minlength=24) / len(day) * 100
    np.testing.assert_allclose(hourly, TAXI_HOURLY_SHARE / TAXI_HOURLY_SHARE.sum() * 100, rtol=0, atol=0.3)
    share = np.bincount(day.passengers, minlength=5)[1:] / len(day)
    np.testing.assert_allclose(share, PASSENGERS_SHARE, rtol=0, atol=0.01)
    xy = np.asarray(net.node_xy)
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    _, along, across, _, _ = HOT_SPOTS[0]  # midtown
    midtown = lo + (hi - lo) * np.array([across, along])
    ends_near = np.linalg.norm(xy[day.destination] - midtown, axis=1) < 2_000.0
    starts_near = np.linalg.norm(xy[day.origin] - midtown, axis=1) < 2_000.0
    hour = day.time_s // 3600
    morning, evening = (hour >= 7) & (hour < 10), (hour >= 17) & (hour < 20)
    assert ends_near[morning].mean() - starts_near[morning].mean() > 0.1  # into midtown
    assert starts_near[evening].mean() - ends_near[evening].mean() > 0.05  # and out of it
    trip = np.linalg.norm(xy[day.destination] - xy[day.origin], axis=1)
    assert 1_500.0 < trip.mean() < 4_500.0  # Manhattan's taxi trips: about 3 km
    again = taxi_day(net, rides=200_000, seed=7)
    np.testing.assert_array_equal(again.destination, day.destination)
    assert not np.array_equal(taxi_day(net, rides=200_000, seed=8).destination, day.destination)


def test_a_small_fleet_serves_a_taxi_hour() -> None:
    net = manhattan_like(avenues=8, streets=60, seed=2)
    day = taxi_day(net, rides=3_000, seed=4)
    hour = day.subset(np.flatnonzero((day.time_s >= 8 * 3600) & (day.time_s < 9 * 3600)))
    nv = 40
    fleet = Fleet(
        num_nodes=net.num_nodes, depot_node=np.arange(0, 8 * 60, 12)[:nv], vehicle_depot=np.arange(nv),
        vehicle_seats=np.full(nv, 4), vehicle_battery_kwh=np.full(nv, np.inf), vehicle_kwh_per_km=np.full(nv, 0.2),
        vehicle_soc0=np.ones(nv), charger_node=np.zeros(0, int), charger_kw=np.zeros(0), charger_bus=np.zeros(0, int),
    )  # fmt: skip
    result = simulate(TravelSpace.from_network(net), fleet, hour, policy=Policy(), progress=False)
    assert result.kpis["served_ratio"] > 0.9


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: manhattan_like(avenues=1), "at least 2 avenues and 2 streets"),
        (lambda: manhattan_like(street_spacing_m=-80.0), "street_spacing_m"),
        (lambda: taxi_day(manhattan_like(avenues=3, streets=3), rides=0), "rides"),
        (lambda: taxi_day(manhattan_like(avenues=3, streets=3), max_wait_s=600, max_delay_s=300), "max_delay_s"),
        (lambda: taxi_day(manhattan_like(avenues=3, streets=3), hourly_share=np.zeros(24)), "positive hour"),
        (lambda: taxi_day(manhattan_like(avenues=3, streets=3), hourly_share=[1.0] * 23), "hourly_share"),
    ],
)
def test_bad_arguments_name_the_field(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()  # type: ignore[operator]
