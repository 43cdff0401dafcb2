"""The typed seams between Python and the compiled modules (issue 20, item 1): the routing problem
and solution as bound classes built by keyword, the fleet's tables as structured arrays with fixed
fields, codes as enums, and hostile input to the bound classes ending in a Python exception."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fleet_checks import make_fleet, random_requests
from smartopt._core import (
    _charging,
    _dispatch,
    _network,
    _phases,
    _power_flow,
    _routing,
    _traffic,
    _unbalanced_power_flow,
)
from smartopt.datasets.grid import grid_network
from smartopt.dispatch import (
    Dispatcher,
    Policy,
    TravelSpace,
    VehicleType,
    VRPProblem,
    evaluate_routes,
    simulate,
    solve_vrp,
)
from smartopt.dispatch.dispatcher import EVENT_KINDS
from smartopt.dispatch.simulation import REJECTIONS, RideLimits, core_fleet

LOCATION_FIELDS = (
    "is_client",
    "required",
    "partner",
    "delivery",
    "pickup",
    "service",
    "tw_early",
    "tw_late",
    "prize",
    "pair_load",
    "max_ride",
    "release",
)


def small_problem() -> VRPProblem:
    rng = np.random.default_rng(3)
    xy = rng.uniform(0, 100, (8, 2))
    d = np.rint(np.hypot(*(xy[:, None] - xy[None]).transpose(2, 0, 1)))
    return VRPProblem(
        distance=d,
        demand=np.r_[0.0, 0.0, 0.0, np.ones(5)],
        tw_late=np.r_[math.inf, np.full(7, 400.0)],
        pairs=np.array([[1, 2]]),
        pair_load=np.array([1.0]),
        max_ride=np.array([300.0]),
        vehicle_types=(VehicleType(count=3, capacity=4, fixed_cost=5.0), VehicleType(count=1, capacity=2)),
    )


def data_kwargs(problem: VRPProblem) -> dict[str, Any]:
    """The keywords that build ``problem.problem_data()``, read back from it."""
    data = problem.problem_data()
    names = ("distance", "duration", *LOCATION_FIELDS, "vehicle_types")
    return {name: getattr(data, name) for name in names}


def test_problem_data_holds_the_problem_by_name() -> None:
    problem = small_problem()
    data = problem.problem_data()
    assert (data.num_locations, data.num_profiles, data.num_vehicles) == (8, 1, 4)
    np.testing.assert_array_equal(data.distance, problem.distance)
    np.testing.assert_array_equal(data.is_client, problem.is_client.astype(np.uint8))
    np.testing.assert_array_equal(data.partner[:3], [-1, 2, 1])
    np.testing.assert_array_equal(data.pair_load[:3], [0.0, 1.0, -1.0])
    assert data.max_ride[1] == 300.0 and math.isinf(data.max_ride[2])
    assert data.tw_late[0] == math.inf and data.tw_late[1] == 400.0
    first, second = data.vehicle_types
    assert (first.count, first.capacity, first.fixed_cost, first.end) == (3, 4.0, 5.0, 0)
    assert (second.count, second.capacity, second.unit_distance_cost) == (1, 2.0, 1.0)
    # rebuilt from its own attributes, it gives the same routes and costs
    again = _routing.ProblemData(**data_kwargs(problem))
    routes = [(0, [1, 2, 3]), (3, [4, 5, 6, 7])]
    want = [(r.cost, r.distance, r.time_warp) for r in _routing.evaluate(data, [0, 3], [[1, 2, 3], [4, 5, 6, 7]])]
    got = [(r.cost, r.distance, r.time_warp) for r in _routing.evaluate(again, [0, 3], [[1, 2, 3], [4, 5, 6, 7]])]
    assert got == want
    assert evaluate_routes(problem, routes).cost == pytest.approx(sum(c for c, _, _ in want), abs=1e-9)


def test_problem_data_keeps_no_writeable_matrix() -> None:
    kwargs = data_kwargs(small_problem())
    mine = np.array(kwargs["distance"])  # writeable
    kwargs["distance"] = kwargs["duration"] = mine
    data = _routing.ProblemData(**kwargs)
    mine[0, 0, 1] = math.nan  # after validation: must not reach the solver
    assert not data.distance.flags.writeable and not np.isnan(data.distance).any()
    # a read-only view of a writeable base is copied too: the base could be written, or the view
    # made writeable again
    base = np.array(small_problem().distance[0])
    view = base[None]
    view.flags.writeable = False
    data = _routing.ProblemData(**{**kwargs, "distance": view, "duration": view})
    assert not np.shares_memory(data.distance, view)
    base[0, 1] = math.nan
    assert not np.isnan(data.distance).any()


def test_problem_data_lends_read_only_matrices_and_views_cannot_be_unlocked() -> None:
    problem = small_problem()
    # VRPProblem freezes the matrix's base, not only its (1, n, n) view
    with pytest.raises(ValueError, match="WRITEABLE flag"):
        problem.distance.setflags(write=True)
    data = problem.problem_data()
    assert np.shares_memory(data.distance, problem.distance)  # lent, not copied
    assert np.shares_memory(data.duration, problem.distance)
    before = [r.distance for r in _routing.evaluate(data, [0], [[3, 4]])]
    for view in (data.distance, data.duration):
        owner: object = view.base
        assert owner is data and not view.flags.writeable
        with pytest.raises(ValueError, match="WRITEABLE flag"):
            view.setflags(write=True)
    assert [r.distance for r in _routing.evaluate(data, [0], [[3, 4]])] == before


@pytest.mark.parametrize(("mode", "lent"), [("r", True), ("r+", False), ("c", False)])
def test_problem_data_lends_only_a_read_only_memory_map(tmp_path: Path, mode: str, lent: bool) -> None:
    kwargs = data_kwargs(small_problem())
    np.save(tmp_path / "distance.npy", kwargs["distance"])
    mapped = np.load(tmp_path / "distance.npy", mmap_mode=mode)  # how an XXL matrix would come in
    data = _routing.ProblemData(**{**kwargs, "distance": mapped})
    assert np.shares_memory(data.distance, mapped) == lent
    np.testing.assert_array_equal(data.distance, kwargs["distance"])


def test_an_owner_unlocking_a_lent_matrix_is_caught_by_solve_and_evaluate() -> None:
    kwargs = data_kwargs(small_problem())
    owner = np.array(kwargs["distance"])
    owner.flags.writeable = False
    data = _routing.ProblemData(**{**kwargs, "distance": owner})
    assert np.shares_memory(data.distance, owner)
    owner.flags.writeable = True  # the owner may: it owns the memory
    owner[0, 0, 3] = -5.0
    none = np.zeros(0, np.int32)
    with pytest.raises(ValueError, match="distance must be finite and >= 0"):
        _routing.evaluate(data, [0], [[3, 4]])
    with pytest.raises(ValueError, match="distance must be finite and >= 0"):
        _routing.solve(data, 0.0, 10, 0, 40, none, [], none)


@pytest.mark.parametrize("field", ["is_client", "required", "partner"])
def test_integer_fields_refuse_non_integers(field: str) -> None:
    kwargs = data_kwargs(small_problem())
    value = np.asarray(kwargs[field])
    for bad in (np.where(value != 0, value, 0.7), value.astype(np.float64), np.full(value.shape, math.nan)):
        with pytest.raises(ValueError, match=f"{field} must be an integer or bool array, got dtype float64"):
            _routing.ProblemData(**{**kwargs, field: bad})
    with pytest.raises(ValueError, match=rf"{field}\[0\]=.* is out of range"):
        _routing.ProblemData(**{**kwargs, field: np.full(value.shape, 2**40)})
    # any integer width that holds the values is accepted, with the same problem
    wide = _routing.ProblemData(**{**kwargs, field: value.astype(np.int64)})
    np.testing.assert_array_equal(getattr(wide, field), value)


def test_integer_fields_accept_bools_and_routes_refuse_floats() -> None:
    kwargs = data_kwargs(small_problem())
    data = _routing.ProblemData(**{**kwargs, "is_client": kwargs["is_client"].astype(bool)})
    np.testing.assert_array_equal(data.is_client, kwargs["is_client"])
    with pytest.raises(ValueError, match="vehicle must be an integer or bool array"):
        _routing.evaluate(data, np.array([0.7]), [[3, 4]])
    with pytest.raises(ValueError, match="route must be an integer or bool array"):
        _routing.evaluate(data, [0], [np.array([3.0, 4.5])])
    none = np.zeros(0, np.int32)
    with pytest.raises(ValueError, match="locked must be an integer or bool array"):
        _routing.solve(data, 0.0, 10, 0, 40, np.array([0], np.int32), [np.array([3], np.int32)], np.array([0.5]))
    with pytest.raises(TypeError):
        _routing.VehicleTypeData(count=0.7)  # type: ignore[arg-type]
    assert _routing.solve(data, 0.0, 10, 0, 40, none, [], none).complete


def test_vehicle_type_defaults_are_the_cores() -> None:
    t = _routing.VehicleTypeData()
    assert (t.count, t.start, t.end, t.profile) == (1, 0, 0, 0)
    assert (t.fixed_cost, t.unit_distance_cost, t.unit_duration_cost, t.shift_start) == (0.0, 1.0, 0.0, 0.0)
    assert all(math.isinf(x) for x in (t.capacity, t.shift_end, t.max_duration, t.max_distance))
    with pytest.raises(TypeError):
        _routing.VehicleTypeData(3)  # type: ignore[call-arg]  # keywords only


def test_solution_is_typed_and_agrees_with_the_result() -> None:
    problem = small_problem()
    data = problem.problem_data()
    sol = _routing.solve(data, 0.0, 200, 1, 40, np.zeros(0, np.int32), [], np.zeros(0, np.int32))
    assert sol.vehicle.dtype == np.int32 and all(v.dtype == np.int32 for v in sol.visits)
    assert len(sol.reports) == len(sol.visits) == sol.vehicle.size
    assert sol.iterations == 200 and not sol.time_limit_reached and sol.complete
    assert sol.trace_time_s.shape == sol.trace_objective.shape
    result = solve_vrp(problem, max_iterations=200, seed=1)
    assert result.cost == pytest.approx(sol.objective, rel=1e-12)
    assert result.stats["iterations"] == sol.iterations


HOSTILE = ("nan", "-inf", "-1", "0.7", "shape", "2d", "text", "none")
# The (field, value) pairs the core accepts; every other pair in FIELDS x HOSTILE must raise.
LEGAL = {
    ("tw_early", "-1"),  # an earliest start before 0 constrains nothing
    *((name, "0.7") for name in ("distance", "duration", "delivery", "pickup", "service", "tw_early", "tw_late")),
    ("prize", "0.7"),
    ("max_ride", "0.7"),
    ("release", "-1"),  # a release before 0 constrains nothing
    ("release", "0.7"),
}


@pytest.mark.parametrize("kind", HOSTILE)
@pytest.mark.parametrize("field", (*LOCATION_FIELDS, "distance", "duration"))
def test_problem_data_refuses_hostile_fields(field: str, kind: str) -> None:
    kwargs = data_kwargs(small_problem())
    value = np.asarray(kwargs[field])
    kwargs[field] = {
        "nan": np.full(value.shape, math.nan),
        "-inf": np.full(value.shape, -math.inf),
        "-1": np.full(value.shape, -1.0),
        "0.7": np.full(value.shape, 0.7),
        "shape": value.ravel()[:-1],
        "2d": value.reshape(1, -1),
        "text": np.full(value.shape, "x"),
        "none": None,
    }[kind]
    if (field, kind) in LEGAL:
        _routing.ProblemData(**kwargs)
    else:
        with pytest.raises((TypeError, ValueError)):
            _routing.ProblemData(**kwargs)


def test_problem_data_names_unknown_and_missing_keywords() -> None:
    kwargs = data_kwargs(small_problem())
    with pytest.raises(TypeError):
        _routing.ProblemData(**kwargs, capacity=np.ones(8))  # type: ignore[call-arg]  # mypy sees it too
    del kwargs["prize"]
    with pytest.raises(TypeError):
        _routing.ProblemData(**kwargs)
    kwargs = data_kwargs(small_problem())
    kwargs["vehicle_types"] = [_routing.VehicleTypeData(start=1)]  # location 1 is a client
    with pytest.raises(ValueError, match="non-client"):
        _routing.ProblemData(**kwargs)
    kwargs["vehicle_types"] = [object()]
    with pytest.raises(TypeError):
        _routing.ProblemData(**kwargs)


@settings(max_examples=80, deadline=None)
@given(
    depots=st.lists(st.one_of(st.integers(-3, 10), st.sampled_from([2**31 - 1, -(2**31)])), max_size=4),
    max_reloads=st.one_of(st.integers(-3, 4), st.sampled_from([2**31 - 1, -(2**31)])),
    pairs=st.booleans(),
    visits=st.lists(st.integers(-2, 9), max_size=8),
)
def test_reload_fields_are_checked_by_the_core(
    depots: list[int], max_reloads: int, pairs: bool, visits: list[int]
) -> None:
    """Reload depots and limits straight into the core: a clear error (a client or no location as a
    reload depot, a negative limit), or a solve and an evaluation that keep the limits; never a
    crash."""
    problem = small_problem()
    kwargs = data_kwargs(problem)
    if not pairs:
        kwargs["partner"] = np.full(8, -1, np.int32)
        kwargs["pair_load"] = np.zeros(8)
    kwargs["vehicle_types"] = [
        _routing.VehicleTypeData(count=2, capacity=2, reload_depots=depots, max_reloads=max_reloads)
    ]
    try:
        data = _routing.ProblemData(**kwargs)
    except ValueError as exc:
        assert "reload" in str(exc)
        assert max_reloads < 0 or not all(0 <= d < 8 and not problem.is_client[d] for d in depots)
        return
    sol = _routing.solve(data, 0.0, 50, 0, 40, np.zeros(0, np.int32), [], np.zeros(0, np.int32))
    assert all(r.reloads <= max_reloads for r in sol.reports)
    try:
        (report,) = _routing.evaluate(data, [0], [visits])
    except ValueError as exc:
        assert "not a client nor a reload depot" in str(exc)
        return
    assert report.reloads == sum(1 for v in visits if v in depots)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(-(2**31), 2**31 - 1), max_size=3),
    st.lists(st.lists(st.integers(-3, 12), max_size=4), max_size=3),
    st.lists(st.integers(-3, 5), max_size=3),
)
def test_solve_and_evaluate_refuse_bad_routes(vehicles: list[int], visits: list[list[int]], locked: list[int]) -> None:
    data = small_problem().problem_data()
    v = np.array(vehicles, np.int32)
    seqs = [np.array(s, np.int32) for s in visits]
    try:
        reports = _routing.evaluate(data, v, seqs)
        assert len(reports) == len(seqs)
    except ValueError:
        pass
    try:
        sol = _routing.solve(data, 0.0, 50, 0, 40, v, seqs, np.array(locked, np.int32))
        assert np.isfinite(sol.objective)
    except ValueError:
        pass


def test_fleet_tables_have_fixed_fields_and_enum_codes() -> None:
    net = grid_network(4, 4)
    space = TravelSpace.from_network(net)
    fleet = make_fleet(net.num_nodes, [0], 3, 4)
    requests = random_requests(np.random.default_rng(2), net.num_nodes, 40, 3600.0)
    policy = Policy()
    core = core_fleet(space, fleet, policy)
    RideLimits.of(space, requests, policy.boarding_s).add_to(core, space, requests)
    core.place_until(1800.0, 0.0)
    fields = {
        "records": ("vehicle", "pickup_s", "dropoff_s", "status", "reason"),
        "legs": ("vehicle", "depart_s", "arrive_s", "from", "to", "distance_m", "load"),
        "sessions": ("vehicle", "charger", "start_s", "end_s", "energy_kwh", "overnight"),
        "events": ("time_s", "kind", "vehicle", "id"),
        "vehicles": ("position", "position_s", "load", "seats", "soc_kwh", "stops", "in_service"),
        "plans": ("vehicle", "kind", "id", "location", "earliest_s", "latest_s", "start_s", "passengers", "max_ride_s"),
    }
    for name, want in fields.items():
        table = getattr(core, name)()
        assert table.dtype.names == want, name
    assert core.records().size == len(requests) and core.vehicles().size == fleet.num_vehicles
    assert core.vehicles()["position"].dtype == np.int32
    status = core.records()["status"]
    assert set(status.tolist()) <= {int(s) for s in _dispatch.RideStatus}
    assert set(core.plans()["kind"].tolist()) <= {int(k) for k in _dispatch.StopKind}
    # the Python labels follow the enums' codes
    assert EVENT_KINDS == ("pickup", "dropoff", "charge", "reposition")
    assert [REJECTIONS[r] for r in _dispatch.Rejection] == ["", "no_vehicle", "battery"]


def test_day_and_snapshot_arrays_own_their_memory() -> None:
    """No strided view into a core table is handed out: each array is contiguous and its own."""
    net = grid_network(4, 4)
    space = TravelSpace.from_network(net)
    fleet = make_fleet(net.num_nodes, [0], 3, 4)
    requests = random_requests(np.random.default_rng(2), net.num_nodes, 40, 3600.0)
    day = simulate(space, fleet, requests)
    dispatcher = Dispatcher(space, fleet)
    snap = dispatcher.snapshot()
    arrays = {
        "vehicle": day.vehicle,
        "soc_end_kwh": day.soc_end_kwh,
        **{f"legs.{k}": v for k, v in day.legs.items()},
        **{f"snapshot.{k}": getattr(snap, k) for k in ("position", "position_s", "load", "soc_kwh", "stops")},
        "snapshot.in_service": snap.in_service,
    }
    for name, a in arrays.items():
        assert a.flags.c_contiguous and a.base is None, name


def test_plane_fleet_locations_are_points() -> None:
    xy = np.random.default_rng(0).uniform(0, 2000, (30, 2))
    space = TravelSpace.plane(xy, speed_mps=8.0)
    fleet = make_fleet(30, [0], 2, 4)
    requests = random_requests(np.random.default_rng(1), 30, 20, 3600.0)
    day = simulate(space, fleet, requests)
    assert day.legs["from"].shape == (day.legs["vehicle"].size, 2)
    core = core_fleet(space, fleet, Policy())
    assert core.vehicles()["position"].shape == (fleet.num_vehicles, 2)
    assert core.vehicles().dtype["position"].shape == (2,)


NativeCall = tuple[Callable[..., object], dict[str, Any]]


@pytest.fixture(scope="module")
def native_calls() -> dict[str, NativeCall]:
    """Every bound function taking integer arrays, with arguments it accepts (fleet methods run on a
    fresh fleet each call, holding ride 0: on vehicle 0, or still pending for pooling)."""
    net = grid_network(4, 4)
    space = TravelSpace.from_network(net)
    fleet = make_fleet(net.num_nodes, [0], 2, 4)
    assert space.time_s is not None and space.links is not None
    offsets, heads, link_time, link_length = space.links
    links = {"link_offsets": offsets, "link_heads": heads, "link_time_s": link_time, "link_length_m": link_length}
    space_args = {"time_s": space.time_s, "distance_m": np.zeros(0), **links}  # no distances: as core_args
    ride: dict[str, Any] = {
        "time_s": np.zeros(1),
        "origin": np.array([1], np.int32),
        "destination": np.array([5], np.int32),
        "passengers": np.array([1]),
        "pickup_earliest_s": np.zeros(1),
        "pickup_latest_s": np.full(1, 600.0),
        "dropoff_latest_s": np.full(1, 1800.0),
        "max_ride_s": np.full(1, 1800.0),
    }
    specs = {"seats": np.array([4, 4]), "battery_kwh": np.full(2, 50.0), "kwh_per_km": np.full(2, 0.2)}
    power = _dispatch.ChargerPower(*fleet.charger_power_kw())
    options = _dispatch.FleetOptions(0.0, 0.1, 0.2, 0.8, 1.0, 0.0)
    start = {"start": np.array([0, 0]), "charger_node": np.array([0])}

    def empty_fleet() -> _dispatch.NetworkFleet | _dispatch.PlaneFleet:
        return core_fleet(space, fleet, Policy())

    def fleet_with_a_ride(placed: bool = True) -> _dispatch.NetworkFleet | _dispatch.PlaneFleet:
        core = empty_fleet()
        core.add_rides(**ride)
        assert not placed or core.submit(0)[0] == 0
        return core

    graph = _network.Graph(3, np.array([0, 1]), np.array([1, 2]))
    ev = {"arrival": np.array([0]), "departure": np.array([2]), "energy": np.ones(1), "max_power": np.ones(1)}
    ev |= {"base": np.zeros(3), "slot_capacity": np.full(3, 5.0)}
    profile = np.arange(12.0).reshape(3, 4)
    feeder: dict[str, Any] = {"bus": [0, 1], "parent": [-1, 0], "branch": [-1, 0], "flipped": [0, 0]}
    feeder |= {"a": np.ones(2, complex), "b": np.full(2, 0.01 + 0.01j), "c": np.ones(2, complex), "d": np.zeros(2)}
    feeder |= {"v_slack": 1.0, "base_kva": 1000.0}
    powers = {"load_pos": np.array([1]), "gen_pos": np.array([1])}
    powers |= {f"{k}_{u}": np.zeros((1, 1)) for k in ("load", "gen") for u in ("p_kw", "q_kvar")}
    sweep = {"tol_pu": 1e-9, "max_iterations": 100, "lane_length": 1, "n_threads": 1}
    sequence_feeder: dict[str, Any] = {"bus": [0, 1, 2], "parent": [-1, 0, 1], "branch": [-1, 0, 1]}
    sequence_feeder |= {"flipped": [0, 0, 0], "v_slack": 1.0, "z0_source": 0.01, "z2_source": 0.01, "base_kva": 1e3}
    sequence_feeder |= {k: np.full((3, 3), v) for k, v in (("a", 0.0), ("b", 1.0), ("c", 1.0), ("d", -0.01))}
    sequence_feeder |= {"breakpoint_leaf": [2], "breakpoint_bus": [1], "loop_admittance": np.ones((3, 1, 1))}
    sequence_feeder |= {"loop_voltage": np.zeros((3, 3, 1))}
    phase_powers = {"pos": np.array([1]), "delta": np.array([1], np.uint8), "p_kw": np.zeros((1, 1, 3))}
    phase_powers |= {"q_kvar": np.zeros((1, 1, 3))}
    links_2 = {"free_flow_s": np.full(2, 10.0), "storage_veh": np.full(2, 5.0), "entry_vps": np.array([0.1, 0.0])}
    move = {"move_in": np.array([0]), "move_out": np.array([1]), "move_node": np.array([0])}
    move |= {"move_stages": np.array([1], np.uint64), "move_share": np.ones(1), "saturation_vps": np.full(1, 0.5)}
    signals = {"n_signals": 1, "max_stages": 1, "dt_s": 1.0, "dispersion_alpha": 0.2, "travel_beta": 0.8}
    return {
        "VehicleSpecs": (_dispatch.VehicleSpecs, {**specs, "soc0": np.full(2, 0.8)}),
        "NetworkSpaceArgs": (_dispatch.NetworkSpaceArgs, space_args),
        "network_fleet": (
            _dispatch.network_fleet,
            {"space": space.core_args(), "vehicles": _dispatch.VehicleSpecs(**specs, soc0=np.full(2, 0.8))}
            | start
            | {"charger_power": power, "options": options},
        ),
        "add_rides": (lambda **kw: empty_fleet().add_rides(**kw), ride),
        "pool_trips": (
            lambda **kw: fleet_with_a_ride(placed=False).pool_trips(**kw),
            {"ids": np.array([0]), "max_trip": 2, "per_request": 2, "per_vehicle": 2, "trips_per_size": 4}
            | {"exact_steps": 100, "threads": 1},
        ),
        "assign_plans": (
            lambda **kw: fleet_with_a_ride(placed=False).assign_plans(**kw),
            {"vehicles": [1], "offsets": [0, 2], "rides": [0, 0], "pickup": [True, False]},
        ),
        "rebalance_toward": (
            lambda **kw: fleet_with_a_ride(placed=False).rebalance_toward(**kw),
            {"ids": [0], "per_request": 1},
        ),
        "choose_trips": (
            _dispatch.choose_trips,
            {"vehicle": [0, 1], "ride_offsets": [0, 1, 2], "rides": [0, 0], "cost": [1.0, 2.0], "exact_steps": 10},
        ),
        "replace_plans": (
            lambda **kw: fleet_with_a_ride().replace_plans(**kw),
            {"vehicles": [0], "offsets": [0, 2], "rides": [0, 0], "pickup": [True, False]},
        ),
        "update": (lambda **kw: fleet_with_a_ride().update(**kw), {"vehicle": 1, "position": [0], "ready_s": 0.0}),
        "reposition": (lambda **kw: fleet_with_a_ride().reposition(**kw), {"vehicle": 1, "to": [3]}),
        "Graph": (_network.Graph, {"n_nodes": 3, "tail": [0, 1], "head": [1, 2]}),
        "cost_matrix": (
            _network.cost_matrix,
            {"graph": graph, "weights": np.ones(2), "sources": [0], "targets": [2], "n_threads": 1},
        ),
        "assign_all_or_nothing": (
            _network.assign_all_or_nothing,
            {"graph": graph, "weights": np.ones(2), "origins": [0], "destinations": [2], "demand": np.ones((1, 1))}
            | {"n_threads": 1},
        ),
        "valley_fill": (_charging.valley_fill, ev | {"slot_class": [0, 0, 1]}),
        "max_served": (_charging.max_served, ev),
        "evaluate": (_phases.evaluate, {"profile": profile, "phase": [0, 1, 2]}),
        "improve": (
            _phases.improve,
            {"profile": profile, "start": [0, 1, 2], "seed": 0, "max_kicks": 1, "time_limit_s": 1.0}
            | {"max_iterations": 100},
        ),
        "make_feeder": (_power_flow.make_feeder, feeder),
        "solve": (_power_flow.solve, {"feeder": _power_flow.make_feeder(**feeder)} | powers | sweep),
        "make_sequence_feeder": (_unbalanced_power_flow.make_feeder, sequence_feeder),
        "solve_unbalanced": (
            _unbalanced_power_flow.solve,
            {"feeder": _unbalanced_power_flow.make_feeder(**sequence_feeder)} | phase_powers | sweep,
        ),
        "make_scenario": (_traffic.make_scenario, links_2 | move | signals),
    }


INTEGER_FIELDS = [
    ("VehicleSpecs", "seats"),
    ("NetworkSpaceArgs", "link_offsets"),
    ("NetworkSpaceArgs", "link_heads"),
    ("network_fleet", "start"),
    ("network_fleet", "charger_node"),
    ("add_rides", "origin"),
    ("add_rides", "destination"),
    ("add_rides", "passengers"),
    ("pool_trips", "ids"),
    ("assign_plans", "vehicles"),
    ("assign_plans", "offsets"),
    ("assign_plans", "rides"),
    ("assign_plans", "pickup"),
    ("rebalance_toward", "ids"),
    ("choose_trips", "vehicle"),
    ("choose_trips", "ride_offsets"),
    ("choose_trips", "rides"),
    ("replace_plans", "vehicles"),
    ("replace_plans", "offsets"),
    ("replace_plans", "rides"),
    ("replace_plans", "pickup"),
    ("update", "position"),
    ("reposition", "to"),
    ("Graph", "tail"),
    ("Graph", "head"),
    ("cost_matrix", "sources"),
    ("cost_matrix", "targets"),
    ("assign_all_or_nothing", "origins"),
    ("assign_all_or_nothing", "destinations"),
    ("valley_fill", "arrival"),
    ("valley_fill", "departure"),
    ("valley_fill", "slot_class"),
    ("max_served", "arrival"),
    ("evaluate", "phase"),
    ("improve", "start"),
    ("make_feeder", "bus"),
    ("make_feeder", "parent"),
    ("make_feeder", "branch"),
    ("make_feeder", "flipped"),
    ("solve", "load_pos"),
    ("solve", "gen_pos"),
    ("make_sequence_feeder", "bus"),
    ("make_sequence_feeder", "parent"),
    ("make_sequence_feeder", "branch"),
    ("make_sequence_feeder", "flipped"),
    ("make_sequence_feeder", "breakpoint_leaf"),
    ("make_sequence_feeder", "breakpoint_bus"),
    ("solve_unbalanced", "pos"),
    ("solve_unbalanced", "delta"),
    ("make_scenario", "move_in"),
    ("make_scenario", "move_out"),
    ("make_scenario", "move_node"),
    ("make_scenario", "move_stages"),
]


@pytest.mark.parametrize(("call", "field"), INTEGER_FIELDS, ids=[f"{c}.{f}" for c, f in INTEGER_FIELDS])
def test_integer_arrays_refuse_floats_and_overflow_naming_the_field(
    native_calls: dict[str, NativeCall], call: str, field: str
) -> None:
    """No binding casts 0.7 to 0 or wraps 2**63: a float, out-of-range or 2-D array in an integer
    field is a ValueError naming it; any integer (or bool) dtype holding the values is accepted."""
    function, kwargs = native_calls[call]
    good = np.asarray(kwargs[field])
    for width in (np.int64, np.int16, np.uint8 if good.min() >= 0 else np.int8):
        function(**{**kwargs, field: good.astype(width)})
    for bad in (good + 0.7, good.astype(np.float64), np.full(good.shape, math.nan)):
        with pytest.raises(ValueError, match=f"^{field} must be an integer or bool array, got dtype float64$"):
            function(**{**kwargs, field: bad})
    huge = np.full(good.shape, -1) if good.dtype.kind == "u" else np.full(good.shape, 2**63, np.uint64)
    with pytest.raises(ValueError, match=rf"^{field}\[0\]=({2**63}|-1) is out of range$"):
        function(**{**kwargs, field: huge})
    with pytest.raises(ValueError, match=f"^{field} must be one-dimensional$"):
        function(**{**kwargs, field: good.reshape(1, -1)})


def test_an_empty_list_is_an_empty_integer_array(native_calls: dict[str, NativeCall]) -> None:
    """[] reaches numpy as float64 but has no value to lose, so integer fields take it."""
    function, kwargs = native_calls["pool_trips"]
    trips = function(**{**kwargs, "ids": []})
    assert isinstance(trips, dict)
    assert trips["vehicle"].shape == (0,) and trips["ride_offsets"].tolist() == [0]
    function, kwargs = native_calls["cost_matrix"]
    everywhere = function(**{**kwargs, "targets": []})
    np.testing.assert_array_equal(everywhere, [[0.0, 1.0, 2.0]])


@settings(max_examples=150, deadline=None)
@given(
    starts=st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=3),
    shape=st.lists(st.integers(0, 4), min_size=1, max_size=5),
    value=st.floats(allow_nan=True, allow_infinity=True),
    depart=st.floats(allow_nan=True, allow_infinity=True),
    ends=st.tuples(st.integers(-2, 4), st.integers(-2, 4)),
)
def test_the_core_refuses_bad_periods_and_queries_cleanly(
    starts: list[float], shape: list[int], value: float, depart: float, ends: tuple[int, int]
) -> None:
    """Periods and arrival queries straight into the compiled module: a ValueError or an answer,
    never a crash or a hang."""
    kwargs = data_kwargs(VRPProblem(distance=np.ones((3, 3)), vehicle_types=[VehicleType()]))
    try:
        data = _routing.ProblemData(**kwargs, period_start=np.array(starts), period_duration=np.full(shape, value))
    except ValueError:
        return
    try:
        out = _routing.arrival_time(data, 0, np.array([ends[0]]), np.array([ends[1]]), np.array([depart]))
    except ValueError:
        return
    assert out.shape == (1,)
