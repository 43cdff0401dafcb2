"""``from_dict(to_dict())`` gives back every result class of the package, field by field, and every
problem users build; a rebuilt problem solves to the same result.

Tolerances: none. Arrays come back with the same dtype (the declared one: ``FloatArray`` float64,
``IntArray`` int32; strings in any width that holds them), shape and values (NaN where NaN was);
scalars equal; private fields (caches of compiled objects) are rebuilt, not compared; the rebuilt
problems solve to the same results, equal to the last bit.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from typing import Any, Literal, TypedDict

import numpy as np
import numpy.typing as npt
import pytest

import smartopt.dispatch
import smartopt.energy
import smartopt.signals
from results_examples import tree_classes
from smartopt._serialise import ToDict
from smartopt._validation import FloatArray, IntArray
from smartopt.app.district import District
from smartopt.dispatch import (
    Dispatcher,
    Fleet,
    Policy,
    Requests,
    TravelSpace,
    VehicleType,
    VRPProblem,
    VRPResult,
    simulate,
    size_fleet,
    solve_vrp,
)
from smartopt.energy import EnergyDay, Grid, balance_phases, dispatch_battery, plan_day, schedule_charging
from smartopt.energy.battery import Battery
from smartopt.network import RoadNetwork
from smartopt.signals import (
    DetectorCounts,
    HcmParameters,
    Intersection,
    MaxPressureController,
    PressureGuards,
    TrafficDemand,
    TrafficModel,
    hcm_delay,
    maxband,
    optimize_fixed_time,
    optimize_network,
    webster,
)
from smartopt.signals.greenwave import Corridor, corridor

DOMAINS = (smartopt.dispatch, smartopt.energy, smartopt.signals)  # imported: their result classes exist


def subclasses(cls: type[ToDict]) -> set[type[ToDict]]:
    """Every subclass of ``cls``, recursively."""
    out: set[type[ToDict]] = set()
    for sub in cls.__subclasses__():
        out |= {sub} | subclasses(sub)
    return out


def three_phase_grid() -> Grid:
    """A transformer and a cable with a single-phase load: the unbalanced power flow's data."""
    return Grid(
        bus_vn_kv=[10.0, 0.4, 0.4], line_from=[1], line_to=[2], line_r_ohm_per_km=[0.2], line_x_ohm_per_km=[0.08],
        line_max_i_ka=[0.2], line_r0_ohm_per_km=[0.8], line_x0_ohm_per_km=[0.3], trafo_hv_bus=[0], trafo_lv_bus=[1],
        trafo_sn_kva=[250.0], trafo_vk_percent=[4.0], trafo_vkr_percent=[1.0], trafo_vector_group=["Dyn"],
        slack_s_sc_mva=100.0, load_bus=[2], load_p_kw=[5.0], load_phase=["a"],
    )  # fmt: skip


def small_vrp(**fields: Any) -> VRPProblem:
    """Two vehicle types, time windows, optional clients with prizes, a pickup-and-delivery pair."""
    rng = np.random.default_rng(5)
    xy = rng.uniform(0, 100, (16, 2))
    dist = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    return VRPProblem(
        distance=dist,
        vehicle_types=(VehicleType(count=3, capacity=20), VehicleType(count=2, capacity=math.inf, fixed_cost=5.0)),
        demand=np.r_[0, 0, 0, rng.integers(1, 9, 13)],
        pairs=np.array([[1, 2]]),
        pair_load=np.array([2.0]),
        max_ride=np.array([math.inf]),
        tw_late=np.r_[math.inf, rng.uniform(250, 500, 15)],
        prize=np.r_[0, np.full(15, 50.0)],
        required=np.r_[True, True, True, np.arange(13) % 4 != 0],
        coords=xy,
        name="small",
        **fields,
    )


def inputs_of(result: ToDict) -> dict[str, Any]:
    return {name: getattr(result, name) for name in result._inputs}


@pytest.fixture(scope="module")
def results(district: District) -> dict[type[ToDict], Any]:
    """One instance of each result class, from small calls on the built-in district."""
    x, energy = district.intersections, district.energy
    plan = optimize_fixed_time(x, 0)
    profile, feeder = energy.single_phase_loads()
    model = TrafficModel(district.network, x[:4])
    few = district.requests.subset(np.arange(120))
    dispatcher = Dispatcher(district.network, district.fleet, policy=Policy(kind="batch"))
    offer = dispatcher.submit(int(few.origin[0]), int(few.destination[0]), time_s=10.0)
    dispatcher.submit(int(few.origin[1]), int(few.destination[1]))
    events = dispatcher.advance(1800.0)
    controller = MaxPressureController(x[:2], district.network.num_links, decision_s=5.0)
    found = [
        plan,
        hcm_delay(x, plan, 0),
        optimize_network(model, district.traffic[0], cycles_s=[90.0, 120.0], duration_s=300.0, max_iterations=1),
        maxband([0.0, 400.0, 900.0], [40.0, 35.0, 30.0], [40.0, 35.0, 30.0], 100.0, (10.0, 15.0)),
        model.simulate(webster(x[:4]), district.traffic[0], duration_s=300.0),
        controller.step(DetectorCounts(np.zeros(district.network.num_links)), 0.0),
        energy.power_flow(),
        smartopt.energy.unbalanced_power_flow(three_phase_grid()),
        plan_day(energy),
        schedule_charging(
            energy.ev_arrival_slot[:30],
            energy.ev_departure_slot[:30],
            energy.ev_energy_kwh[:30],
            energy.ev_max_kw[:30],
            energy.net_load_kw(),
        ),
        dispatch_battery(energy.net_load_kw(), Battery(energy_kwh=2000.0, power_kw=1000.0)),
        balance_phases(profile[feeder == 0], method="greedy", slot_h=1.0),
        simulate(district.network, district.fleet, few, progress=False),
        size_fleet(district.network, district.fleet, few, sizes=[5, 10]),
        dispatcher.reoptimize(max_iterations=50),
        offer,
        events[0],
        dispatcher.snapshot(),
    ]
    return {type(r): r for r in found}


def test_every_result_class_is_covered(results: dict[type[ToDict], Any]) -> None:
    district_results = set(tree_classes())  # the district day's results tree: round-tripped in test_results_tree.py
    covered = set(results) | PROBLEM_CLASSES | district_results
    assert {c for c in subclasses(ToDict) if c.__module__.startswith("smartopt.")} <= covered


@pytest.mark.parametrize("name", ["to_dict", "json"])
def test_results_come_back_field_by_field(results: dict[type[ToDict], Any], name: str) -> None:
    for cls, result in results.items():
        data = result.to_dict()
        if name == "json":
            data = json.loads(json.dumps(data, allow_nan=False))
        back = cls.from_dict(data, **inputs_of(result))
        assert_same(result, back, cls.__name__)


def assert_same(a: Any, b: Any, where: str) -> None:
    """Deep equality: dataclasses field by field, arrays by dtype, shape and values (NaN at the same
    places), dicts, sequences and scalars exactly."""
    assert type(a) is type(b), f"{where}: {type(a).__name__} != {type(b).__name__}"
    if dataclasses.is_dataclass(a):
        for f in dataclasses.fields(a):
            if f.name.startswith("_"):
                continue
            assert_same(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
    elif isinstance(a, np.ndarray):
        same_dtype = a.dtype == b.dtype or a.dtype.kind == b.dtype.kind == "U"  # strings: any width that fits
        assert same_dtype and a.shape == b.shape, f"{where}: {a.dtype}{a.shape} != {b.dtype}{b.shape}"
        np.testing.assert_array_equal(a, b, err_msg=where)  # NaN equals NaN here
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            assert_same(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b), where
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


# -- problems ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def problems(district: District) -> dict[type[ToDict], Any]:
    """One of each input users build (or read) and give to a solver."""
    x = district.intersections
    plan = optimize_fixed_time(x[:3], 0)
    found = [
        small_vrp(),
        small_vrp().vehicle_types[1],
        district.network,
        TravelSpace.from_network(district.network),
        district.fleet,
        district.requests.subset(np.arange(200)),
        Policy(kind="pooling", max_trip=2, reoptimize_s=600.0),
        district.energy,
        district.energy.grid,
        Battery(energy_kwh=2000.0, power_kw=1000.0),
        x[0],
        district.traffic[0],
        HcmParameters(),
        PressureGuards(),
        DetectorCounts(np.arange(4.0), link_vehicles_veh=np.ones(4)),
        corridor(district.network, x[:3], [plan.greens(i) for i in range(3)], float(plan.cycle_s[0])),
    ]
    return {type(p): p for p in found}


PROBLEM_CLASSES = {
    VRPProblem,
    VehicleType,
    RoadNetwork,
    TravelSpace,
    Fleet,
    Requests,
    Policy,
    EnergyDay,
    Grid,
    Battery,
    Intersection,
    TrafficDemand,
    HcmParameters,
    PressureGuards,
    DetectorCounts,
    Corridor,
}


def test_problems_come_back_field_by_field(problems: dict[type[ToDict], Any]) -> None:
    assert set(problems) == PROBLEM_CLASSES
    for cls, problem in problems.items():
        back = cls.from_dict(json.loads(json.dumps(problem.to_dict(), allow_nan=False)))
        assert_same(problem, back, cls.__name__)


def rebuilt(problem: ToDict) -> Any:
    return type(problem).from_dict(json.loads(json.dumps(problem.to_dict(), allow_nan=False)))


def test_vrp_problem_round_trip_solves_the_same() -> None:
    problem = small_vrp()
    assert json.loads(json.dumps(problem.to_dict()))["tw_late"][0] == "Infinity"  # strict JSON, nothing lost
    a, b = (solve_vrp(p, max_iterations=300, seed=4) for p in (problem, rebuilt(problem)))
    assert [r.visits.tolist() for r in a.routes] == [r.visits.tolist() for r in b.routes]
    assert a.cost == b.cost


def test_a_vrp_without_pairs_and_its_result_come_back() -> None:
    # The most common VRP has no pickup-and-delivery pairs: [] in JSON, (0, 2) again.
    problem = VRPProblem(distance=small_vrp().distance, vehicle_types=[VehicleType(count=4, capacity=30)])
    back = rebuilt(problem)
    assert back.pairs.shape == (0, 2) and back.pairs.dtype == np.int32
    found = solve_vrp(back, max_iterations=300, seed=4)
    summary = json.loads(json.dumps(found.to_dict(), allow_nan=False))
    again = VRPResult.from_dict(summary, back)
    assert (again.cost, again.status, again.solver, again.runtime_s) == (
        found.cost,
        found.status,
        found.solver,
        found.runtime_s,
    )
    assert [(r.vehicle, r.visits.tolist()) for r in again.routes] == [
        (r.vehicle, r.visits.tolist()) for r in found.routes
    ]
    np.testing.assert_allclose(again.routes[0].arrival, found.routes[0].arrival)
    with pytest.raises(ValueError, match="a summary of another problem"):
        VRPResult.from_dict(summary, small_vrp())
    with pytest.raises(ValueError, match=r"not a to_dict\(\) summary \(KeyError: 'routes'\)"):
        VRPResult.from_dict({k: v for k, v in summary.items() if k != "routes"}, back)


def test_from_dict_takes_no_silent_conversion() -> None:
    data = small_vrp().to_dict()
    for bad in ([[1.5, 2]], [[True, False]], [["1", 2]], [[2**40, 2]]):
        with pytest.raises(ValueError, match=r"VRPProblem.pairs: not an array of int32"):
            VRPProblem.from_dict({**data, "pairs": bad})
    with pytest.raises(ValueError, match=r"VRPProblem.required: not an array of bool"):
        VRPProblem.from_dict({**data, "required": ["False"] * len(data["required"])})


def test_rebuilt_inputs_solve_the_same(problems: dict[type[ToDict], Any]) -> None:
    net, fleet, requests = problems[RoadNetwork], problems[Fleet], problems[Requests]
    policy = Policy(kind="batch")
    day = [simulate(n, f, r, policy=p, progress=False) for n, f, r, p in
           [(net, fleet, requests, policy), tuple(map(rebuilt, (net, fleet, requests, policy)))]]  # fmt: skip
    np.testing.assert_array_equal(day[0].pickup_s, day[1].pickup_s)
    energy = problems[EnergyDay]
    np.testing.assert_array_equal(energy.power_flow().v_pu, rebuilt(energy).power_flow().v_pu)
    battery = problems[Battery]
    a, b = (dispatch_battery(energy.net_load_kw(), x) for x in (battery, rebuilt(battery)))
    np.testing.assert_array_equal(a.charge_kw, b.charge_kw)
    x = problems[Intersection]
    np.testing.assert_array_equal(optimize_fixed_time([x], 0).green_s, optimize_fixed_time([rebuilt(x)], 0).green_s)


class Shares(TypedDict):
    vehicle: npt.NDArray[np.int32]
    share: FloatArray


@dataclass(frozen=True)
class Leg:
    kind: Literal["drive", "wait"]
    seconds: float


@dataclass(frozen=True, eq=False)
class EveryType(ToDict):
    """A result with one field of each kind ``from_dict`` reads."""

    floats: FloatArray
    ints: IntArray
    small: npt.NDArray[np.int8]
    flags: npt.NDArray[np.bool_]
    names: npt.NDArray[np.str_]
    waves: npt.NDArray[np.complex128]
    per_slot: dict[int, float]
    pair: tuple[int, str]
    legs: tuple[Leg, ...]
    shares: Shares
    best: int | None
    worst: int | None
    limit: float


def test_from_dict_reads_every_declared_type() -> None:
    result = EveryType(
        floats=np.array([[1.5, math.nan], [math.inf, -math.inf]]),
        ints=np.array([3, -1], np.int32),
        small=np.array([1, 2], np.int8),
        flags=np.array([[True, False]]),
        names=np.array(["J01", "J02-b"]),
        waves=np.array([1 + 2j, complex(math.nan, 0.0)]),
        per_slot={4: 0.5, 96: math.inf},
        pair=(7, "x"),
        legs=(Leg("drive", 12.0), Leg("wait", math.nan)),
        shares={"vehicle": np.array([0, 2], np.int32), "share": np.array([0.25, 0.75])},
        best=None,
        worst=2,
        limit=math.inf,
    )
    text = json.dumps(result.to_dict(), allow_nan=False)
    back = EveryType.from_dict(json.loads(text))
    assert_same(result, back, "EveryType")
    empty = dataclasses.replace(result, flags=np.zeros((0, 2), bool)).to_dict()
    assert EveryType.from_dict(empty).flags.shape == (0,)  # an empty array's other dimensions: JSON cannot keep them
    with pytest.raises(ValueError, match=r"EveryType.legs\[0\].kind: 'fly' is not one of"):
        EveryType.from_dict({**json.loads(text), "legs": [{"kind": "fly", "seconds": 1.0}]})


def test_from_dict_names_what_is_wrong(results: dict[type[ToDict], Any]) -> None:
    flow = results[smartopt.energy.PowerFlowResult]
    with pytest.raises(TypeError, match=r"PowerFlowResult\.from_dict takes the inputs grid: missing grid"):
        type(flow).from_dict(flow.to_dict())
    with pytest.raises(TypeError, match=r"VRPProblem\.from_dict takes no inputs: unknown grid"):
        VRPProblem.from_dict(small_vrp().to_dict(), grid=None)
    data = small_vrp().to_dict()
    with pytest.raises(ValueError, match="VRPProblem: unknown field"):
        VRPProblem.from_dict({**data, "colour": 1})
    with pytest.raises(ValueError, match="VRPProblem: missing field 'distance'"):
        VRPProblem.from_dict({k: v for k, v in data.items() if k != "distance"})
    with pytest.raises(ValueError, match=r"VRPProblem.vehicle_types\[0\].capacity: expected a float"):
        VRPProblem.from_dict({**data, "vehicle_types": [{**data["vehicle_types"][0], "capacity": "lots"}]})


def test_infinities_and_nan_survive_strict_json() -> None:
    problem = small_vrp()
    data = json.loads(json.dumps(problem.to_dict(), allow_nan=False))
    assert data["tw_late"][0] == "Infinity" and data["vehicle_types"][1]["capacity"] == "Infinity"
    assert VRPProblem.from_dict(data).tw_late[0] == math.inf
