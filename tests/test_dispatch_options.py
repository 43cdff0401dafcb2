"""The fleet's options beyond placing requests: travel times by time of day, re-optimisation of the
plans with the routing solver, and the live dispatcher's batch policies.

Tolerances: times 1e-6 s.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from fleet_checks import EPS, check_day, make_fleet, random_requests
from smartopt._core import _dispatch
from smartopt.datasets.grid import grid_network
from smartopt.dispatch import Dispatcher, Fleet, Policy, Requests, TravelSpace, reoptimize, simulate
from smartopt.dispatch.dispatcher import Offer
from smartopt.dispatch.simulation import RideLimits, core_fleet


@pytest.fixture(scope="module")
def grid() -> tuple[TravelSpace, TravelSpace]:
    """A 6 x 6 grid network's space at free flow and at half the speed."""
    net = grid_network(6, 6, spacing_m=300.0, seed=2)
    return TravelSpace.from_network(net), TravelSpace.from_network(net, link_time_s=net.link_time_s * 2.0)


def busy_day(space: TravelSpace, n: int = 300, seed: int = 1) -> tuple[Fleet, Requests]:
    """Five 4-seat shuttles and ``n`` requests over three hours (wait <= 600 s, detour <= 50 %)."""
    rng = np.random.default_rng(seed)
    fleet = make_fleet(space.num_nodes, [0, space.num_nodes - 1], 5, 4)
    return fleet, random_requests(rng, space.num_nodes, n, 3 * 3600.0, max_wait_s=600.0, max_detour=0.5)


# --- travel times by time of day ---------------------------------------------------------------


def test_legs_take_the_travel_times_of_their_period(grid: tuple[TravelSpace, TravelSpace]) -> None:
    free, slow = grid
    fleet, req = busy_day(free)
    switch = [(3600.0, slow), (7200.0, free)]
    res = simulate(free, fleet, req, time_of_day=switch, progress=False)
    legs = res.legs
    for begin, end, space in ((0.0, 3600.0, free), (3600.0, 7200.0, slow), (7200.0, math.inf, free)):
        inside = (legs["depart_s"] >= begin - EPS) & (legs["arrive_s"] <= end + EPS)
        assert inside.sum() > 20
        assert space.time_s is not None
        took = legs["arrive_s"][inside] - legs["depart_s"][inside]
        np.testing.assert_allclose(took, space.time_s[legs["from"][inside], legs["to"][inside]], atol=EPS)
    # promises: each request's limits use the travel times of when it was made; the slowdown breaks
    # some made before it, and the result counts exactly those that finish late
    slow_direct = slow.travel_time(req.origin, req.destination)
    in_peak = (req.time_s >= 3600.0) & (req.time_s < 7200.0)
    np.testing.assert_allclose(res.direct_s[in_peak], slow_direct[in_peak])
    lim = res.limits
    ok = res.served
    late = ok & (
        (np.nan_to_num(res.pickup_s) > lim.pickup_latest_s + EPS)
        | (np.nan_to_num(res.dropoff_s) > lim.dropoff_latest_s + EPS)
        | (np.nan_to_num(res.dropoff_s - res.pickup_s) > lim.max_ride_s + EPS)
    )
    assert res.kpis["broken_promises"] == late.sum() > 0
    # a ride whose whole life lies in one period keeps its promises
    within = ((req.time_s >= 3600.0) & (np.nan_to_num(res.dropoff_s, nan=np.inf) <= 7200.0)) | (req.time_s >= 7200.0)
    assert within.sum() > 50 and not late[within].any()


def test_same_travel_times_again_change_nothing(grid: tuple[TravelSpace, TravelSpace]) -> None:
    free, _ = grid
    fleet, req = busy_day(free)
    plain = simulate(free, fleet, req, progress=False)
    again = simulate(free, fleet, req, time_of_day=[(1800.0, free), (5400.0, free)], progress=False)
    np.testing.assert_array_equal(plain.vehicle, again.vehicle)
    np.testing.assert_allclose(plain.pickup_s, again.pickup_s, atol=EPS)
    np.testing.assert_allclose(plain.dropoff_s, again.dropoff_s, atol=EPS)
    assert again.kpis["broken_promises"] == 0
    check_day(again)


def test_time_of_day_needs_the_same_locations(grid: tuple[TravelSpace, TravelSpace]) -> None:
    free, slow = grid
    fleet, req = busy_day(free, n=5)
    plane = TravelSpace.plane(np.zeros((free.num_nodes, 2)), speed_mps=5.0)
    with pytest.raises(ValueError, match=r"time_of_day\[0\].*locations"):
        simulate(free, fleet, req, time_of_day=[(10.0, plane)], progress=False)
    with pytest.raises(ValueError, match=r"time_of_day\[1\].*after the previous"):
        simulate(free, fleet, req, time_of_day=[(10.0, slow), (5.0, free)], progress=False)
    with pytest.raises(TypeError, match=r"time_of_day\[0\]"):
        simulate(free, fleet, req, time_of_day=[(10.0, "slow")], progress=False)  # type: ignore[list-item]


# --- re-optimisation -----------------------------------------------------------------------------


def driving_s(space: TravelSpace, core: _dispatch.NetworkFleet, vehicles: np.ndarray) -> float:
    """Driving time (s) of the ride stops of ``vehicles``, from where each can next turn."""
    plans, state = core.plans(), core.vehicles()
    assert space.time_s is not None
    total = 0.0
    for v in vehicles:
        mine = (plans["vehicle"] == v) & (plans["kind"] <= 1)
        path = np.concatenate([[state["position"][v]], plans["location"][mine]])
        total += float(space.time_s[path[:-1], path[1:]].sum())
    return total


def ride_stops(plans: np.ndarray) -> list[tuple[int, int]]:
    """The (ride, kind) of every pickup and drop-off in the plans, sorted."""
    rides = plans["kind"] <= 1
    return sorted(zip(plans["id"][rides].tolist(), plans["kind"][rides].tolist(), strict=True))


def test_reoptimization_keeps_every_ride_and_drives_less(grid: tuple[TravelSpace, TravelSpace]) -> None:
    free, _ = grid
    fleet, req = busy_day(free, n=400)
    policy = Policy()
    core = core_fleet(free, fleet, policy)
    RideLimits.of(free, req, policy.boarding_s).add_to(core, free, req)
    replaced = 0
    for t in np.arange(600.0, 3 * 3600.0, 600.0):
        core.place_until(float(t), 0.0)
        before_plans, before_rec = core.plans(), core.records()
        eligible = np.flatnonzero(core.vehicles()["in_service"])
        driving = driving_s(free, core, eligible)
        out = reoptimize(core, free, boarding_s=policy.boarding_s, time_limit_s=1.0, max_iterations=2000)
        after_plans, after_rec = core.plans(), core.records()
        assert out.before_s == pytest.approx(driving, abs=1e-6)
        if out.replaced:
            replaced += 1
            assert out.after_s < out.before_s
            assert driving_s(free, core, eligible) == pytest.approx(out.after_s, abs=1e-6)
        else:
            for key in before_plans.dtype.names:
                np.testing.assert_allclose(before_plans[key], after_plans[key], atol=EPS)
        # the same ride stops, riders on board in their vehicle, assigned rides still assigned
        assert ride_stops(before_plans) == ride_stops(after_plans)
        np.testing.assert_array_equal(before_rec["status"], after_rec["status"])
        on_board = before_rec["status"] == 2
        np.testing.assert_array_equal(before_rec["vehicle"][on_board], after_rec["vehicle"][on_board])
    assert replaced > 0


def test_days_with_reoptimization_keep_every_promise(grid: tuple[TravelSpace, TravelSpace]) -> None:
    free, _ = grid
    plane = TravelSpace.plane(np.random.default_rng(3).uniform(0, 4000, (60, 2)), speed_mps=8.0, metric="manhattan")
    for space in (free, plane):
        fleet, req = busy_day(space)
        for kind in ("insertion", "batch", "pooling"):
            plain = simulate(space, fleet, req, policy=Policy(kind=kind), progress=False)
            policy = Policy(kind=kind, reoptimize_s=300.0, reoptimize_iterations=500)
            res = simulate(space, fleet, req, policy=policy, seed=4, progress=False)
            check_day(res)
            assert res.kpis["reoptimizations"] > 0
            assert res.kpis["broken_promises"] == 0
            again = simulate(space, fleet, req, policy=policy, seed=4, progress=False)
            np.testing.assert_array_equal(res.pickup_s, again.pickup_s)
            # freed driving time lets the fleet take more requests (3 to 6 points more on these days)
            assert res.kpis["served_ratio"] >= plain.kpis["served_ratio"] - 0.02


def test_replace_plans_refuses_plans_that_lose_or_move_riders(grid: tuple[TravelSpace, TravelSpace]) -> None:
    free, _ = grid
    fleet, req = busy_day(free, n=60)
    core = core_fleet(free, fleet, Policy())
    RideLimits.of(free, req, 30.0).add_to(core, free, req)
    core.place_until(2400.0, 0.0)
    plans = core.plans()
    rides = plans["kind"] <= 1
    v = int(plans["vehicle"][rides][0])
    mine = rides & (plans["vehicle"] == v)
    ids, pickup = plans["id"][mine], plans["kind"][mine] == 0
    on_board = ~pickup & ~np.isin(ids, ids[pickup])
    other = (v + 1) % fleet.num_vehicles
    others = rides & (plans["vehicle"] == other)

    def replace(vehicles: list[int], cuts: list[int], r: np.ndarray, p: np.ndarray) -> tuple[float, float]:
        return core.replace_plans(np.array(vehicles, np.int32), np.array(cuts, np.int64), r.astype(np.int32), p)

    with pytest.raises(ValueError, match="exactly once"):
        replace([v], [0, len(ids) - 1], ids[:-1], pickup[:-1])
    if pickup.any():
        first = int(np.flatnonzero(pickup)[0])
        with pytest.raises(ValueError, match="follow its pickup"):
            drop = int(np.flatnonzero(~pickup & (ids == ids[first]))[0])
            order = [drop] + [k for k in range(len(ids)) if k != drop]
            replace([v], [0, len(ids)], ids[order], pickup[order])
    if on_board.any():
        k = int(np.flatnonzero(on_board)[0])
        rest = [j for j in range(len(ids)) if j != k]
        o_ids, o_pick = plans["id"][others], plans["kind"][others] == 0
        with pytest.raises(ValueError, match="follow its pickup"):
            replace(
                [v, other],
                [0, len(rest), len(rest) + len(o_ids) + 1],
                np.r_[ids[rest], o_ids, ids[k]],
                np.r_[pickup[rest], o_pick, False],
            )
    with pytest.raises(ValueError, match="distinct"):
        replace([v, v], [0, len(ids), len(ids)], ids, pickup)
    # the current plans themselves are not shorter: kept as they are
    before, after = replace([v], [0, len(ids)], ids, pickup)
    assert after == pytest.approx(before)
    np.testing.assert_array_equal(core.plans()["id"], plans["id"])


# --- the live dispatcher's batch policies ---------------------------------------------------------


@pytest.mark.parametrize("kind", ["batch", "pooling"])
def test_dispatcher_batches_like_the_simulator(grid: tuple[TravelSpace, TravelSpace], kind: str) -> None:
    free, _ = grid
    fleet, req = busy_day(free, n=120)
    policy = Policy(kind=kind, batch_s=30.0)
    day = simulate(free, fleet, req, policy=policy, progress=False)
    live = Dispatcher(free, fleet, policy=policy)
    decided: dict[int, tuple[str, int, float]] = {}
    for k in range(len(req)):
        for e in live.advance(float(req.time_s[k])):
            if e.kind in ("assigned", "rejected"):
                decided[e.request] = (e.kind, e.vehicle, e.time_s)
        offer = live.submit(
            int(req.origin[k]),
            int(req.destination[k]),
            passengers=int(req.passengers[k]),
            max_wait_s=600.0,
            max_detour=0.5,
        )
        assert offer.pending and offer.request == k and not offer.accepted
    for e in live.advance(float(req.time_s[-1]) + 3600.0):
        if e.kind in ("assigned", "rejected"):
            decided[e.request] = (e.kind, e.vehicle, e.time_s)
    assert sorted(decided) == list(range(len(req)))
    for k, (what, vehicle, when) in decided.items():
        assert vehicle == day.vehicle[k] and (what == "assigned") == day.served[k]
        assert when % 30.0 == 0 and req.time_s[k] <= when
        final = live.offer(k)
        assert final.accepted == day.served[k] and not final.pending
        if final.accepted:
            assert final.pickup_s == pytest.approx(day.pickup_s[k], abs=EPS)


def test_dispatcher_travel_times_and_reoptimization(grid: tuple[TravelSpace, TravelSpace]) -> None:
    free, slow = grid
    fleet, req = busy_day(free, n=80)
    live = Dispatcher(free, fleet)

    def submit_at(k: int) -> Offer:
        live.advance(float(req.time_s[k]))
        return live.submit(int(req.origin[k]), int(req.destination[k]), max_detour=0.5)

    offers = [submit_at(k) for k in range(40)]
    broken = live.set_travel_times(slow)
    lim = RideLimits.of(free, req, 30.0)
    for k, o in enumerate(offers):
        now = live.offer(k)
        if not o.accepted or np.isnan(now.pickup_s):
            continue
        late = now.pickup_s > lim.pickup_latest_s[k] + EPS or now.dropoff_s > lim.dropoff_latest_s[k] + EPS
        if late:
            assert k in broken
    assert broken and live.space is slow
    out = live.reoptimize(time_limit_s=0.5, max_iterations=500)
    assert out.vehicles == fleet.num_vehicles and out.rides > 0
    with pytest.raises(ValueError, match="locations"):
        live.set_travel_times(TravelSpace.plane(np.zeros((3, 2)), speed_mps=1.0))
    with pytest.raises(ValueError, match="unknown request"):
        live.offer(999)
    with pytest.raises(ValueError, match="time_limit_s"):
        live.reoptimize(time_limit_s=0.0)


def test_dispatcher_calls_from_many_threads(grid: tuple[TravelSpace, TravelSpace]) -> None:
    """Concurrent submits are serialised: every request gets one id and one answer, and the plans
    stay those of some order of the same calls (each accepted ride is planned once)."""
    from concurrent.futures import ThreadPoolExecutor

    free, _ = grid
    fleet, req = busy_day(free, n=200)
    live = Dispatcher(free, fleet, start_s=100.0)

    def submit(k: int) -> int:
        return live.submit(int(req.origin[k]), int(req.destination[k]), max_detour=0.5).request

    with ThreadPoolExecutor(4) as pool:
        ids = list(pool.map(submit, range(len(req))))
    assert sorted(ids) == list(range(len(req)))
    status = live._core.records()["status"]  # 1 assigned, 2 on board (picked up at the clock), 3 done
    accepted = [k for k in ids if live.offer(k).accepted]
    assert accepted and all(status[k] in (1, 2, 3) for k in accepted)
    want = [(k, 0) for k in accepted if status[k] == 1] + [(k, 1) for k in accepted if status[k] in (1, 2)]
    assert ride_stops(live._core.plans()) == sorted(want)


def test_bad_options() -> None:
    for bad in ({"reoptimize_s": 0.5}, {"reoptimize_s": -1.0}, {"reoptimize_iterations": 0},
                {"reoptimize_s": 60.0, "reoptimize_time_limit_s": 0.0}):  # fmt: skip
        with pytest.raises(ValueError, match="reoptimize"):
            Policy(**bad)  # type: ignore[arg-type]
    req = Requests(num_nodes=5, time_s=[0.0, 1.0], origin=[0, 1], destination=[2, 3], passengers=[1, 2])
    assert req.subset([1, 1]).passengers.tolist() == [2, 2]
    for index in ([1, 0], [2], [-1], [[0]]):
        with pytest.raises(ValueError, match="index"):
            req.subset(index)


def test_reoptimization_after_a_slowdown_keeps_broken_promises_no_later(grid: tuple[TravelSpace, TravelSpace]) -> None:
    free, slow = grid
    fleet, req = busy_day(free, n=80)
    live = Dispatcher(free, fleet)
    for k in range(40):
        live.advance(float(req.time_s[k]))
        live.submit(int(req.origin[k]), int(req.destination[k]), time_s=float(req.time_s[k]), max_detour=0.5)
    broken = live.set_travel_times(slow)
    assert broken
    planned = {k: live.offer(k) for k in broken}
    out = live.reoptimize(time_limit_s=1.0, max_iterations=500)
    assert np.isfinite(out.before_s) and out.after_s <= out.before_s + 1e-9  # the solver ran
    for k, offer in planned.items():  # late riders are not made later than planned before
        now = live.offer(k)
        if offer.accepted and not np.isnan(now.pickup_s) and not np.isnan(offer.pickup_s):
            assert now.pickup_s <= max(offer.pickup_s, RideLimits.of(slow, req, 30.0).pickup_latest_s[k]) + EPS


def test_a_slowdown_keeps_one_vehicle_at_a_time_on_a_charger() -> None:
    """Two vehicles queue for one charger (the second waits for the first to finish); a slowdown
    makes the first arrive later, so the second must wait longer too."""
    t = np.array([[0.0, 100.0, 150.0], [100.0, 0.0, 100.0], [150.0, 100.0, 0.0]])  # s; the charger at 0
    specs = _dispatch.VehicleSpecs([4, 4], [100.0, 100.0], [0.5, 0.5], [0.2, 0.2])  # both below charge_below
    options = _dispatch.FleetOptions(0.0, 0.1, 0.3, 0.9, 0.0, 0.0)
    args = _dispatch.NetworkSpaceArgs
    core = _dispatch.network_fleet(
        args(t, [], [], [], [], []), specs, [1, 2], [0], _dispatch.ChargerPower([[50.0]], 3600.0), options
    )
    core.set_space(args(3.0 * t, [], [], [], [], []))
    core.finish()
    c = core.sessions()
    assert c["vehicle"].tolist() == [0, 1]
    assert c["start_s"][0] == pytest.approx(300.0) and c["start_s"][1] == pytest.approx(c["end_s"][0])
