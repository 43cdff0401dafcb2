"""A live :class:`Dispatcher` checkpointed mid-day (``pickle``, ``copy.deepcopy``) takes the same
decisions as the original afterwards: fed the same later requests and calls, both give equal
offers, events, fleet snapshots and re-optimisations, under every policy, on a road network and on
a plane.

Tolerances: none (equal to the last bit; NaN equal to NaN through ``to_dict``).
"""

from __future__ import annotations

import copy
import pickle
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from smartopt._core import _dispatch
from smartopt.app.district import District
from smartopt.dispatch import Dispatcher, Fleet, Policy, Requests, TravelSpace
from smartopt.dispatch.dispatcher import _RecordedFleet

HALF = 150
"""Requests before the checkpoint; as many after it."""


def first_requests(district: District) -> Requests:
    """The day's first 2 x HALF requests."""
    return district.requests.subset(np.arange(2 * HALF))


def spaces(district: District, plane: bool) -> tuple[TravelSpace, TravelSpace]:
    """A space and the same locations in slower traffic."""
    net = district.network
    if plane:
        return TravelSpace.plane(net.node_xy, speed_mps=8.0), TravelSpace.plane(net.node_xy, speed_mps=6.0)
    return TravelSpace.from_network(net), TravelSpace.from_network(net, link_time_s=net.link_time_s * 1.3)


def run(
    dispatcher: Dispatcher,
    requests: Requests,
    part: range,
    traffic: tuple[TravelSpace, TravelSpace],
    *,
    time_limits: bool,
) -> list[dict[str, Any]]:
    """Feeds requests ``part`` to ``dispatcher`` with a service's other calls between them (traffic
    updates, re-optimisation, a breakdown, a position update, rebalancing, requests for later
    times); returns every answer as plain data."""
    out: list[dict[str, Any]] = []
    plane = traffic[0].is_plane
    xy = np.asarray(traffic[0].node_xy)
    for k in part:
        t = float(requests.time_s[k])
        out += [e.to_dict() for e in dispatcher.advance(t)]
        origin: Any = tuple(xy[requests.origin[k]] + 1.0) if plane else int(requests.origin[k])  # snapped in a plane
        later = t + 120.0 if k % 7 == 0 else None  # a booking ahead
        offer = dispatcher.submit(
            origin, int(requests.destination[k]), time_s=later, passengers=int(requests.passengers[k])
        )
        out.append(offer.to_dict())
        if k % 25 == 0:
            limit: dict[str, Any] = {"time_limit_s": 0.05} if time_limits else {"max_iterations": 60}
            out.append(dispatcher.reoptimize(**limit).to_dict())
        if k % 40 == 10:
            out.append({"broken": dispatcher.set_travel_times(traffic[k % 80 == 10])})
        if k % 50 == 20:
            out += [o.to_dict() for o in dispatcher.set_in_service(k % dispatcher.fleet.num_vehicles, False)]
            out.append({"late": dispatcher.update_vehicle(3, int(requests.destination[k]))})
            out += [o.to_dict() for o in dispatcher.set_in_service(k % dispatcher.fleet.num_vehicles, True)]
        if k % 60 == 30:
            out.append({"sent": dispatcher.rebalance(np.ones(dispatcher.space.num_nodes))})
        out.append(dispatcher.snapshot().to_dict())
    return out


def finish(dispatcher: Dispatcher) -> list[dict[str, Any]]:
    """The events of the hour after the last request, and where every ninth request stands."""
    events = [e.to_dict() for e in dispatcher.advance(dispatcher.now_s + 3600.0)]
    return events + [dispatcher.offer(r).to_dict() for r in range(0, 2 * HALF, 9)]


POLICIES = {
    "insertion": Policy(),
    "batch": Policy(kind="batch", batch_s=60.0),
    "pooling": Policy(kind="pooling", batch_s=60.0),
}


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("plane", [False, True], ids=["network", "plane"])
@pytest.mark.parametrize("restore", [pickle.loads, copy.deepcopy], ids=["pickle", "deepcopy"])
def test_checkpoint_mid_day_takes_the_same_decisions(
    district: District, policy: str, plane: bool, restore: Callable[[Any], Any]
) -> None:
    requests, fleet, traffic = first_requests(district), district.fleet.resized(12), spaces(district, plane)
    live = Dispatcher(traffic[0], fleet, policy=POLICIES[policy], start_s=float(requests.time_s[0]), seed=3)
    run(live, requests, range(HALF), traffic, time_limits=True)  # searches on the clock before
    copied = restore(pickle.dumps(live) if restore is pickle.loads else live)
    assert copied is not live and copied.now_s == live.now_s
    assert copied.snapshot().to_dict() == live.snapshot().to_dict()
    after = range(HALF, 2 * HALF)
    mine, theirs = (run(d, requests, after, traffic, time_limits=False) + finish(d) for d in (copied, live))
    assert len(mine) > 3 * HALF and mine == theirs


def test_the_journal_knows_every_call_of_the_core() -> None:
    """A method added to the C++ fleet must be listed as a change (journalled) or a read."""
    names = {n for cls in (_dispatch.NetworkFleet, _dispatch.PlaneFleet) for n in dir(cls) if not n.startswith("_")}
    assert names == _RecordedFleet.CHANGES | _RecordedFleet.READS


def test_a_restored_dispatcher_is_independent(district: District) -> None:
    fleet: Fleet = district.fleet.resized(4)
    live = Dispatcher(district.network, fleet)
    copied = copy.deepcopy(live)
    live.submit(int(district.requests.origin[0]), int(district.requests.destination[0]))
    assert live.snapshot().stops.sum() == 2 and copied.snapshot().stops.sum() == 0
    with pytest.raises(ValueError, match="unknown request 0"):
        copied.offer(0)
