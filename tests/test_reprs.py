"""Reprs of a few lines (issue 20): every public problem and result class, built from a small real
solve on the district, has a repr of at most 300 characters on at most three lines that names its
size and never dumps an array."""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
import pytest

from smartopt.app.district import District
from smartopt.datasets import sejong_5_1
from smartopt.dispatch import (
    Dispatcher,
    TravelSpace,
    VehicleType,
    VRPProblem,
    evaluate_routes,
    simulate,
    size_fleet,
    solve_vrp,
)
from smartopt.dispatch.shuttles import booked_trips
from smartopt.dispatch.simulation import RideLimits
from smartopt.energy import (
    Battery,
    balance_phases,
    dispatch_battery,
    plan_day,
    schedule_charging,
    voltage_sensitivities,
)
from smartopt.signals import (
    DetectorCounts,
    HcmParameters,
    TrafficModel,
    hcm_delay,
    maxband,
    optimize_network,
    webster,
)
from smartopt.signals.greenwave import corridor


@cache
def district() -> District:
    return sejong_5_1()


def signals() -> dict[str, Any]:
    d = district()
    xs = d.intersections
    plan = webster(xs, 0)
    model = TrafficModel(d.network, xs[:4])
    small = webster(xs[:4], 0)
    rng = np.random.default_rng(0)
    position = np.cumsum(rng.uniform(200, 600, 6))
    red = rng.uniform(30, 60, 6)
    return {
        "Intersection": xs[0],
        "TimingPlan": plan,
        "DelayReport": hcm_delay(xs, plan),
        "HcmParameters": HcmParameters(),
        "TrafficDemand": d.traffic[0],
        "TrafficModel": model,
        "TrafficResult": model.simulate(small, d.traffic[0], 600.0),
        "NetworkTiming": optimize_network(model, d.traffic[0], cycles_s=[110.0], max_iterations=2),
        "GreenWave": maxband(position, red, red, 100.0, (10.0, 14.0)),
        "DetectorCounts": DetectorCounts(queue_veh=rng.uniform(0, 5, d.network.num_links)),
        "Corridor": corridor(d.network, xs[:3], [x.min_green_s + 10.0 for x in xs[:3]], 120.0),
    }


def energy() -> dict[str, Any]:
    day = district().energy
    flow = day.power_flow()
    net = day.net_load_kw()
    profile, feeder = day.single_phase_loads()
    return {
        "EnergyDay": day,
        "Grid": day.grid,
        "PerUnitModel": day.grid.per_unit,
        "PowerFlowResult": flow,
        "Violations": flow.violations(),
        "VoltageSensitivity": voltage_sensitivities(flow, 0),
        "ChargingResult": schedule_charging([0, 4], [8, 12], [20.0, 30.0], [11.0, 11.0], np.full(16, 50.0)),
        "Battery": Battery(energy_kwh=100.0, power_kw=50.0),
        "BatteryResult": dispatch_battery(net, Battery(energy_kwh=100.0, power_kw=50.0)),
        "PhaseResult": balance_phases(profile, feeder=feeder, max_iterations=1000, slot_h=1.0),
        "DayPlan": plan_day(day, max_iterations=1),
    }


def dispatch() -> dict[str, Any]:
    d = district()
    space = TravelSpace.from_network(d.network)
    fleet = d.fleet.resized(4)
    requests = d.requests
    xy = np.array([0.0, 1.0, 2.0, 3.0])
    problem = VRPProblem(
        distance=np.abs(xy[:, None] - xy[None, :]),
        vehicle_types=[VehicleType(count=2, capacity=2)],
        demand=[0, 1, 1, 1],
    )
    result = solve_vrp(problem, max_iterations=50)
    trips = booked_trips(d.network, d.fleet, d.requests, share=0.01)
    live = Dispatcher(space, fleet)
    live.advance(float(requests.time_s[0]))
    offer = live.submit(int(requests.origin[0]), int(requests.destination[0]))
    return {
        "RoadNetwork": d.network,
        "Path": d.network.shortest_path(0, 10),
        "Assignment": d.network.assign([0], [10], [[100.0]]),
        "TravelSpace": space,
        "Fleet": fleet,
        "Requests": requests,
        "RideLimits": RideLimits.of(space, requests, 30.0),
        "VehicleType": VehicleType(count=2, capacity=2),
        "VRPProblem": problem,
        "VRPResult": result,
        "Route": result.routes[0],
        "evaluated VRPResult": evaluate_routes(problem, [(0, [1, 2])]),
        "BookedTrips": trips,
        "FleetDay": simulate(space, fleet, requests, progress=False),
        "FleetSizing": size_fleet(space, fleet, requests, sizes=[2, 4]),
        "Offer": offer,
        "Reoptimization": live.reoptimize(max_iterations=10),
        "District": d,
    }


@pytest.mark.parametrize("domain", [signals, energy, dispatch])
def test_reprs_are_a_few_lines(domain: Any) -> None:
    too_long = {}
    for name, thing in domain().items():
        text = repr(thing)
        if len(text) > 300 or text.count("\n") > 2 or "array(" in text:
            too_long[name] = f"{len(text)} characters: {text[:120]}..."
        assert text.startswith(type(thing).__name__ + "("), text
    assert not too_long, too_long
