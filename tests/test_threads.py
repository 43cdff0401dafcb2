"""Threads change nothing (issue 18, item 7): every fleet policy and solver in the dispatch domain
gives, from 4 threads at once, exactly what it gives sequentially, and twice the same sequentially.
And one live Dispatcher called from several threads (submits for now and for later, advances)
never trips over its own clock."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest

from smartopt.app.district import District
from smartopt.dispatch import Dispatcher, FleetDay, Policy, Requests, TravelSpace, simulate

THREADS = 4

POLICIES = {
    "insertion": Policy(),
    "insertion_wait_weight": Policy(wait_weight=1.0),
    "batch": Policy(kind="batch", batch_s=30.0),
    "pooling": Policy(kind="pooling", batch_s=30.0),
    "pooling_wait_weight": Policy(kind="pooling", batch_s=60.0, wait_weight=1.0, max_trip=4),
    "rebalancing": Policy(rebalance_s=300.0),
    "reoptimisation": Policy(reoptimize_s=600.0, reoptimize_iterations=200),
    "pooling_rebalancing_reoptimisation": Policy(
        kind="pooling", rebalance_s=600.0, reoptimize_s=900.0, reoptimize_iterations=100
    ),
}


@pytest.fixture(scope="module")
def morning(district: District) -> tuple[TravelSpace, Requests]:
    """The district's space and its first 300 requests (a busy morning)."""
    return TravelSpace.from_network(district.network), district.requests.subset(np.arange(300))


def same_day(a: FleetDay, b: FleetDay) -> None:
    """Bit-identical days: every ride's vehicle and times, every leg, every charging session."""
    np.testing.assert_array_equal(a.vehicle, b.vehicle)
    np.testing.assert_array_equal(a.pickup_s, b.pickup_s)  # NaN == NaN here
    np.testing.assert_array_equal(a.dropoff_s, b.dropoff_s)
    np.testing.assert_array_equal(a.rejection, b.rejection)
    np.testing.assert_array_equal(a.soc_end_kwh, b.soc_end_kwh)
    for table_a, table_b in ((a.legs, b.legs), (a.charging, b.charging)):
        assert table_a.keys() == table_b.keys()
        for key in table_a:
            np.testing.assert_array_equal(table_a[key], table_b[key], err_msg=key)
    assert a.reoptimized == b.reoptimized


def in_threads(call: Callable[[], Any], n: int = THREADS) -> list[Any]:
    """``call()`` from ``n`` threads started together."""
    barrier = threading.Barrier(n)

    def run() -> Any:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(n) as pool:
        futures = [pool.submit(run) for _ in range(n)]
        return [f.result() for f in futures]


@pytest.mark.parametrize("name", list(POLICIES))
def test_simulate_is_the_same_sequentially_and_in_threads(
    district: District, morning: tuple[TravelSpace, Requests], name: str
) -> None:
    space, requests = morning
    policy = POLICIES[name]

    def day() -> FleetDay:
        return simulate(space, district.fleet, requests, policy=policy, seed=3, progress=False)

    first, second = day(), day()
    same_day(first, second)
    for other in in_threads(day):
        same_day(first, other)
    assert first.kpis["served_ratio"] > 0.5  # a real day, not an empty one
    if policy.reoptimize_s > 0:
        assert first.reoptimized > 0  # the solver ran and its plans were taken


def live_day(
    space: TravelSpace, district: District, requests: Requests, policy: Policy
) -> tuple[list[Any], list[Any], list[Any]]:
    """A dispatcher driven through the requests (advance to each request's time, submit it), with a
    re-optimisation on its default (iteration) budget every 100 requests; its offers, events and
    final offers."""
    live = Dispatcher(space, district.fleet, policy=policy, seed=5)
    offers, events = [], []
    for k in range(len(requests)):
        events += live.advance(float(requests.time_s[k]))
        offers.append(
            live.submit(
                int(requests.origin[k]),
                int(requests.destination[k]),
                passengers=int(requests.passengers[k]),
                max_wait_s=600.0,
            )
        )
        if k % 100 == 99:
            out = live.reoptimize()
            events.append((out.vehicles, out.rides, out.before_s, out.after_s, out.replaced))
    events += live.advance(float(requests.time_s[-1]) + 3600.0)
    return offers, events, [live.offer(k) for k in range(len(requests))]


def same_live(a: tuple[list[Any], ...], b: tuple[list[Any], ...]) -> None:
    """The same offers and events; NaN compared equal (Offer holds NaN for unknown times)."""

    def key(x: Any) -> Any:
        if hasattr(x, "to_dict"):
            return tuple("nan" if isinstance(v, float) and math.isnan(v) else v for v in x.to_dict().values())
        return x

    for xs, ys in zip(a, b, strict=True):
        assert [key(x) for x in xs] == [key(y) for y in ys]


@pytest.mark.parametrize("name", ["insertion", "batch", "pooling"])
def test_live_dispatcher_is_the_same_sequentially_and_in_threads(
    district: District, morning: tuple[TravelSpace, Requests], name: str
) -> None:
    space, requests = morning
    requests = requests.subset(np.arange(250))
    policy = POLICIES[name]
    first = live_day(space, district, requests, policy)
    same_live(first, live_day(space, district, requests, policy))
    for other in in_threads(lambda: live_day(space, district, requests, policy)):
        same_live(first, other)


def test_concurrent_submit_and_advance_never_trip(district: District, morning: tuple[TravelSpace, Requests]) -> None:
    """Issue 18, item 4: a submit for a later time used to move the clock, so a concurrent advance
    failed ("now_s must be >= the clock"). Now only advance moves the clock: submits for now and
    for later (past the last advance: a time the clock could overtake is the caller's race), from
    three threads, and a fourth thread advancing the clock, all succeed; every request gets one id
    and one decision."""
    space, requests = morning
    live = Dispatcher(space, district.fleet)
    end = 2 * 3600.0
    errors: list[BaseException] = []
    ids: list[int] = []
    clock: list[float] = []
    lock = threading.Lock()

    def submitter(k0: int) -> None:
        try:
            for k in range(k0, 300, 3):
                later = k % 2 == 0
                offer = live.submit(
                    int(requests.origin[k]),
                    int(requests.destination[k]),
                    time_s=end + 10.0 + k if later else None,  # waits while the clock moves
                )
                with lock:
                    ids.append(offer.request)
        except BaseException as e:  # pragma: no cover - the failure this test is about
            errors.append(e)

    def advancer() -> None:
        try:
            t = 0.0
            while t < end:
                t += 7.0
                live.advance(t)
                clock.append(live.now_s)
        except BaseException as e:  # pragma: no cover
            errors.append(e)

    threads = [threading.Thread(target=submitter, args=(k,)) for k in range(3)] + [threading.Thread(target=advancer)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors
    assert sorted(ids) == list(range(300))
    assert clock == sorted(clock) and live.now_s == clock[-1] >= end
    decided = {e.request for e in live.advance(end + 3600.0) if e.kind in ("assigned", "rejected")}
    later = [k for k in range(300) if k % 2 == 0]
    assert len(decided) == len(later)  # each request made for later decided once, at its time
    for k in ids:
        offer = live.offer(k)
        assert not offer.pending and (offer.accepted or offer.rejection in ("no_vehicle", "battery"))
