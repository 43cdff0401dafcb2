"""Shared by the fleet tests: a small fleet, random requests, and every promise and limit of a
simulated day checked from its output alone (legs, events, charging).

Tolerances: times 1e-6 s, energies 1e-9 kWh.
"""

from __future__ import annotations

import numpy as np

from smartopt.dispatch import Fleet, FleetDay, Requests
from smartopt.dispatch.model import DAY_S
from smartopt.dispatch.simulation import RideLimits

EPS = 1e-6


def make_fleet(num_nodes: int, depots: list[int], vehicles: int, seats: int, **battery: float) -> Fleet:
    return Fleet(
        num_nodes=num_nodes,
        depot_node=np.array(depots),
        vehicle_depot=np.arange(vehicles) % len(depots),
        vehicle_seats=np.full(vehicles, seats),
        vehicle_battery_kwh=np.full(vehicles, battery.get("kwh", 1e6)),
        vehicle_kwh_per_km=np.full(vehicles, battery.get("per_km", 0.5)),
        vehicle_soc0=np.full(vehicles, battery.get("soc0", 0.9)),
        charger_node=np.array(depots),
        charger_kw=np.full(len(depots), 50.0),
        charger_bus=np.zeros(len(depots), dtype=int),
    )


def random_requests(rng: np.random.Generator, num_nodes: int, n: int, horizon_s: float, **promises: float) -> Requests:
    origin = rng.integers(0, num_nodes, n)
    destination = (origin + rng.integers(1, num_nodes, n)) % num_nodes
    return Requests(
        num_nodes=num_nodes,
        time_s=np.sort(rng.uniform(0, horizon_s, n)),
        origin=origin,
        destination=destination,
        passengers=rng.choice([1, 1, 1, 2, 3], n),
        **promises,
    )


def check_day(res: FleetDay) -> None:
    """Every promise and limit, from the result's output alone."""
    req, space, fleet = res.requests, res.space, res.fleet
    limits = RideLimits.of(space, req, res.policy.boarding_s)
    ok = res.served
    assert np.all(res.rejection[ok] == "") and np.all(res.rejection[~ok] != "")
    # promises
    assert np.all(res.pickup_s[ok] >= req.pickup_earliest_s[ok] - EPS)
    assert np.all(res.pickup_s[ok] <= limits.pickup_latest_s[ok] + EPS)
    assert np.all(res.dropoff_s[ok] <= limits.dropoff_latest_s[ok] + EPS)
    assert np.all(res.dropoff_s[ok] - res.pickup_s[ok] <= limits.max_ride_s[ok] + EPS)
    assert np.all(res.dropoff_s[ok] - res.pickup_s[ok] >= limits.direct_s[ok] + res.policy.boarding_s - EPS)
    # legs chain up per vehicle, take their travel time, and pick up / drop off at the right places
    legs = res.legs
    xy = space.node_xy
    for v in range(fleet.num_vehicles):
        mine = np.flatnonzero(legs["vehicle"] == v)
        assert np.all(np.diff(legs["depart_s"][mine]) >= -EPS)
        assert np.all(legs["depart_s"][mine[1:]] >= legs["arrive_s"][mine[:-1]] - EPS)
        if space.is_plane:
            frm, to = legs["from"][mine], legs["to"][mine]
            np.testing.assert_allclose(frm[1:], to[:-1], atol=1e-6)
            d = np.abs(to - frm).sum(axis=1) if space.kind == "manhattan" else np.hypot(*(to - frm).T)
            np.testing.assert_allclose(legs["distance_m"][mine], d, rtol=1e-9, atol=1e-6)
            np.testing.assert_allclose(legs["arrive_s"][mine] - legs["depart_s"][mine], d / space.speed_mps, atol=1e-6)
        else:
            frm, to = legs["from"][mine], legs["to"][mine]
            np.testing.assert_array_equal(frm[1:], to[:-1])
            assert space.time_s is not None
            np.testing.assert_allclose(
                legs["arrive_s"][mine] - legs["depart_s"][mine], space.time_s[frm, to], atol=1e-6
            )
        start = fleet.depot_node[fleet.vehicle_depot[v]]
        for r in np.flatnonzero(res.vehicle == v):
            for when, node in ((res.pickup_s[r], req.origin[r]), (res.dropoff_s[r], req.destination[r])):
                before = mine[legs["arrive_s"][mine] <= when + EPS]
                here = legs["to"][before[-1]] if before.size else (xy[start] if space.is_plane else start)
                if space.is_plane:
                    assert xy is not None
                    np.testing.assert_allclose(here, xy[node], atol=1e-6)
                else:
                    assert here == node
    # seats: replay pickups and drop-offs in time order per vehicle (drop-offs first at equal times)
    for v in range(fleet.num_vehicles):
        rs = np.flatnonzero(res.vehicle == v)
        times = np.concatenate([res.pickup_s[rs], res.dropoff_s[rs]])
        change = np.concatenate([req.passengers[rs], -req.passengers[rs]])
        order = np.lexsort((change, times))
        assert np.cumsum(change[order]).max(initial=0) <= fleet.vehicle_seats[v]
    # one vehicle at a time on each charger
    c = res.charging
    for charger in np.unique(c["charger"]):
        on = np.flatnonzero(c["charger"] == charger)
        order = on[np.argsort(c["start_s"][on], kind="stable")]
        assert np.all(c["start_s"][order[1:]] >= c["end_s"][order[:-1]] - EPS)
    # the day repeats: overnight charging ends before the vehicle's first trip or charge of the next
    # day and keeps off its charger's sessions of the next day
    overnight = c["overnight"]
    assert sorted(res.next_day_as.tolist()) == list(range(fleet.num_vehicles))  # every place taken once
    for k in np.flatnonzero(overnight):
        v, charger = c["vehicle"][k], c["charger"][k]
        role = res.next_day_as[v]  # the vehicle whose place v takes the next day
        first = min(legs["depart_s"][legs["vehicle"] == role].min(initial=np.inf),
                    c["start_s"][(c["vehicle"] == role) & ~overnight].min(initial=np.inf))  # fmt: skip
        assert c["end_s"][k] <= first + DAY_S + EPS
        other = np.flatnonzero((c["charger"] == charger) & ~overnight)
        assert np.all(
            (c["end_s"][k] <= c["start_s"][other] + DAY_S + EPS) | (c["start_s"][k] >= c["end_s"][other] + DAY_S - EPS)
        )
    # energy: start - driven + charged = end; the end is back at the start unless a deficit is reported
    b = res.energy_balance()
    np.testing.assert_allclose(b["soc_start_kwh"] - b["driven_kwh"] + b["charged_kwh"], b["soc_end_kwh"], atol=1e-6)
    assert np.all(b["soc_end_kwh"] + b["deficit_kwh"] >= b["soc_start_kwh"] - 1e-6)
    # battery: driving and charging in time order never go below the reserve
    for v in range(fleet.num_vehicles):
        cap = fleet.vehicle_battery_kwh[v]
        mine = legs["vehicle"] == v
        ch = res.charging["vehicle"] == v
        times = np.concatenate([legs["arrive_s"][mine], res.charging["start_s"][ch]])
        delta = np.concatenate(
            [-legs["distance_m"][mine] / 1000 * fleet.vehicle_kwh_per_km[v], res.charging["energy_kwh"][ch]]
        )
        soc = fleet.vehicle_soc0[v] * cap + np.cumsum(delta[np.argsort(times, kind="stable")])
        assert soc.min(initial=np.inf) >= res.policy.reserve * cap - 1e-9
        assert soc.max(initial=0) <= cap + 1e-9
