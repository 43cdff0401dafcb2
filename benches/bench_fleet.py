"""Fleet simulation throughput: smartopt's C++ simulator beside RidePy (C++/Cython core, its
brute-force total-travel-time dispatcher), the same fleet, requests, space and insertion rule (least
added driving time), one thread each; service quality compared in the same run.

Full size: 100 vehicles of 8 seats x 10,000 requests on a 5 km Manhattan square (10 m/s) and on
the Sejong 5-1 road network (undirected, as RidePy's graph space needs: each street at its faster
direction's free-flow time). Smoke size: 10 vehicles x 300 requests. Requests as RidePy's
``RandomRequestGenerator`` draws them: Poisson arrivals (1 per 2 s), uniform origins and
destinations, pickup within 600 s of the request, delivery by request + direct time x 2.9.
Quality: served ratio, mean wait and mean detour (time on board / direct time). smartopt is timed
on the whole ``simulate`` call, RidePy on ``simulate`` over prepared requests. RidePy is in no
extra (it builds from its sdist with Boost headers and imports pkg_resources: ``apt-get install
libboost-dev libboost-graph-dev && pip install "setuptools<81" ridepy``); its benchmarks skip
without it.
"""

from __future__ import annotations

import importlib.util
import warnings
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from shuttle_fleet import shuttles
from smartopt.datasets import sejong_5_1
from smartopt.dispatch import FleetDay, Policy, Requests, TravelSpace, simulate
from smartopt.network import RoadNetwork

SIZES = {"full": (100, 10_000), "smoke": (10, 300)}
SEATS, SPEED_MPS, SIDE_M, RATE_PER_S, MAX_WAIT_S, MAX_DELAY_REL = 8, 10.0, 5_000.0, 0.5, 600.0, 1.9


@dataclass(frozen=True)
class Instance:
    """Locations (points in m, or nodes of an undirected graph given as edges with times in s),
    vehicle starts and requests: time, origin, destination, direct travel time, delivery deadline
    (s)."""

    space: str
    points: npt.NDArray[np.float64]
    edges: npt.NDArray[np.float64] | None  # (k, 3): u, v, time s
    starts: npt.NDArray[np.int64]
    time_s: npt.NDArray[np.float64]
    origin: npt.NDArray[np.int64]
    destination: npt.NDArray[np.int64]
    direct_s: npt.NDArray[np.float64]
    deadline_s: npt.NDArray[np.float64]


@cache
def sejong_edges() -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    net = sejong_5_1().network
    best: dict[tuple[int, int], float] = {}
    for u, v, t in zip(net.link_tail.tolist(), net.link_head.tolist(), net.link_time_s.tolist(), strict=True):
        key = (min(u, v), max(u, v))
        best[key] = min(best.get(key, np.inf), t)
    edges = np.array([(u, v, t) for (u, v), t in sorted(best.items())])
    return np.asarray(net.node_xy, dtype=float), edges


@cache
def instance(space: str, vehicles: int, requests: int, seed: int = 0) -> Instance:
    rng = np.random.default_rng(seed)
    time_s = np.cumsum(rng.exponential(1 / RATE_PER_S, requests))
    if space == "manhattan":
        points = rng.uniform(0, SIDE_M, (vehicles + 2 * requests, 2))
        starts = np.arange(vehicles)
        origin, destination = vehicles + 2 * np.arange(requests), vehicles + 2 * np.arange(requests) + 1
        edges = None
        direct = np.abs(points[origin] - points[destination]).sum(axis=1) / SPEED_MPS
    else:
        points, edges = sejong_edges()
        n = points.shape[0]
        starts = rng.integers(0, n, vehicles)
        origin = rng.integers(0, n, requests)
        destination = (origin + rng.integers(1, n, requests)) % n
        direct = undirected_space(points, edges).travel_time(origin, destination)
    deadline = time_s + direct * (1 + MAX_DELAY_REL)
    return Instance(space, points, edges, starts, time_s, origin, destination, direct, deadline)


def undirected_space(points: npt.NDArray[np.float64], edges: npt.NDArray[np.float64]) -> TravelSpace:
    u, v, t = edges[:, 0].astype(int), edges[:, 1].astype(int), edges[:, 2]
    net = RoadNetwork(
        node_xy=points,
        link_tail=np.concatenate([u, v]),
        link_head=np.concatenate([v, u]),
        link_length_m=np.concatenate([t, t]),
        link_speed_mps=np.ones(2 * len(t)),
    )
    return TravelSpace.from_network(net)


def run_smartopt(inst: Instance) -> FleetDay:
    if inst.space == "manhattan":
        space = TravelSpace.plane(inst.points, speed_mps=SPEED_MPS, metric="manhattan")
    else:
        assert inst.edges is not None
        space = undirected_space(inst.points, inst.edges)
    n = space.num_nodes
    fleet = shuttles(n, inst.starts, SEATS, kwh_per_km=0.5)
    req = Requests(
        num_nodes=n,
        time_s=inst.time_s,
        origin=inst.origin,
        destination=inst.destination,
        passengers=np.ones(inst.time_s.shape[0], dtype=int),
        max_wait_s=MAX_WAIT_S,
        max_detour=np.inf,
        dropoff_latest_s=inst.deadline_s,
    )
    return simulate(space, fleet, req, policy=Policy(boarding_s=0.0), progress=False)


def ridepy_fleet(inst: Instance) -> tuple[Any, list[Any]]:
    """RidePy's fleet state and requests for the instance (not timed)."""
    with warnings.catch_warnings():  # RidePy imports pkg_resources, which warns that it is deprecated
        warnings.simplefilter("ignore")
        from ridepy.data_structures_cython import TransportationRequest
        from ridepy.fleet_state import SlowSimpleFleetState
        from ridepy.util.dispatchers_cython import BruteForceTotalTravelTimeMinimizingDispatcher
        from ridepy.util.spaces_cython import Graph, Manhattan2D
        from ridepy.vehicle_state_cython import VehicleState

    if inst.space == "manhattan":
        space = Manhattan2D(velocity=SPEED_MPS, coord_range=[(0.0, SIDE_M), (0.0, SIDE_M)])

        def loc(k: int) -> Any:
            return (float(inst.points[k, 0]), float(inst.points[k, 1]))
    else:
        import networkx as nx

        assert inst.edges is not None
        g = nx.Graph()
        g.add_nodes_from(range(inst.points.shape[0]))
        g.add_weighted_edges_from(((int(u), int(v), float(t)) for u, v, t in inst.edges), weight="distance")
        space = Graph.from_nx(g, velocity=1.0, make_attribute_distance="distance")

        def loc(k: int) -> Any:
            return int(k)

    requests = [
        TransportationRequest(
            request_id=k,
            creation_timestamp=float(inst.time_s[k]),
            origin=loc(int(inst.origin[k])),
            destination=loc(int(inst.destination[k])),
            pickup_timewindow_min=float(inst.time_s[k]),
            pickup_timewindow_max=float(inst.time_s[k] + MAX_WAIT_S),
            delivery_timewindow_min=float(inst.time_s[k]),
            delivery_timewindow_max=float(inst.deadline_s[k]),
        )
        for k in range(inst.time_s.shape[0])
    ]
    fleet = SlowSimpleFleetState(
        initial_locations={v: loc(int(s)) for v, s in enumerate(inst.starts)},
        seat_capacities=SEATS,
        space=space,
        dispatcher=BruteForceTotalTravelTimeMinimizingDispatcher(space.loc_type),
        vehicle_state_class=VehicleState,
    )
    return fleet, requests


def ridepy_quality(events: list[dict[str, Any]], inst: Instance) -> dict[str, float]:
    pickup = {e["request_id"]: e["timestamp"] for e in events if e["event_type"] == "PickupEvent"}
    dropoff = {e["request_id"]: e["timestamp"] for e in events if e["event_type"] == "DeliveryEvent"}
    served = np.array(sorted(set(pickup) & set(dropoff)), dtype=int)
    picked = np.array([pickup[r] for r in served])
    ride = np.array([dropoff[r] for r in served]) - picked
    return {
        "served_ratio": served.size / inst.time_s.shape[0],
        "mean_wait_s": float((picked - inst.time_s[served]).mean()),
        "mean_detour": float((ride / inst.direct_s[served]).mean()),
    }


def quality(k: dict[str, float]) -> str:
    return f"served {k['served_ratio']:.3f}, wait {k['mean_wait_s']:.1f} s, detour {k['mean_detour']:.3f}"


@pytest.mark.parametrize("space", ["manhattan", "sejong"])
@pytest.mark.parametrize("tool", ["smartopt", "ridepy"])
def test_fleet_simulation(benchmark, scale: str, space: str, tool: str) -> None:  # type: ignore[no-untyped-def]
    vehicles, requests = SIZES[scale]
    inst = instance(space, vehicles, requests)
    benchmark.group = f"Fleet simulation, {space}, {vehicles} vehicles x {requests:,} requests"
    benchmark.extra_info["tool"] = tool
    ours = run_smartopt(inst)
    if tool == "smartopt":
        result = benchmark.pedantic(run_smartopt, args=(inst,), rounds=3, iterations=1)
        benchmark.extra_info["quality"] = quality(result.kpis)
        assert result.kpis["served_ratio"] == ours.kpis["served_ratio"]
        return
    if importlib.util.find_spec("ridepy") is None:
        pytest.skip("RidePy is not installed (see this module's docstring)")
    fleet, reqs = ridepy_fleet(inst)
    events = benchmark.pedantic(lambda: list(fleet.simulate(reqs)), rounds=1, iterations=1)
    q = ridepy_quality(events, inst)
    benchmark.extra_info["quality"] = quality(q)
    assert q["served_ratio"] == pytest.approx(ours.kpis["served_ratio"], abs=0.01)
    assert q["mean_wait_s"] == pytest.approx(ours.kpis["mean_wait_s"], rel=0.05)
    assert q["mean_detour"] == pytest.approx(ours.kpis["mean_detour"], rel=0.05)
