"""The signalised-network traffic model against closed forms (Webster's uniform delay, stops per
cycle, green-wave offsets), its conservation and spillback laws, max-pressure inside it, the
network timing search, and its input checks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smartopt.network import RoadNetwork
from smartopt.signals import Intersection, TimingPlan, TrafficDemand, TrafficModel, optimize_network


def crossing(node: int, west: int, south: int, east: int, north: int, volumes: tuple[float, float]) -> Intersection:
    """A two-stage signal: stage 0 serves west -> east, stage 1 south -> north; one lane each,
    1800 veh/h; 3 s yellow and 1 s all-red."""
    return Intersection(
        id=f"X{node}", node=node, approach_link=[west, south], crossing_length_m=[0.0, 0.0],
        lane_group_approach=[0, 1], lane_group_lanes=[1, 1], saturation_flow_vph=[1800.0, 1800.0],
        movement_lane_group=[0, 1], movement_out_link=[east, north], movement_turn=["T", "T"],
        volume_vph=[list(volumes)], stage_movements=([0], [1]), min_green_s=[5.0, 5.0], max_green_s=[90.0, 90.0],
        yellow_s=[3.0, 3.0], all_red_s=[1.0, 1.0], ped_min_green_s=[0.0, 0.0], cycle_min_s=20.0, cycle_max_s=150.0,
    )  # fmt: skip


def single_signal(**model_kw: float) -> tuple[TrafficModel, TrafficDemand]:
    """Signal at node 0; links 0 west in, 1 south in, 2 east out, 3 north out, 300 m at 10 m/s;
    600 veh/h west -> east and 300 veh/h south -> north."""
    net = RoadNetwork.from_arrays(
        node_xy=[[0, 0], [-300, 0], [0, -300], [300, 0], [0, 300]], link_tail=[1, 2, 0, 0], link_head=[0, 0, 3, 4],
        length_m=[300.0] * 4, speed_mps=[10.0] * 4,
    )  # fmt: skip
    model = TrafficModel(net, [crossing(0, 0, 1, 2, 3, (600.0, 300.0))], **model_kw)
    demand = TrafficDemand(entry_vph=[600.0, 300.0, 0.0, 0.0], turn_in_link=[0, 1], turn_out_link=[2, 3],
                           turn_vph=[600.0, 300.0])  # fmt: skip
    return model, demand


def plan(model: TrafficModel, cycle: float, greens: list[list[float]], offsets: list[float]) -> TimingPlan:
    n = len(model.intersections)
    return TimingPlan(tuple(x.id for x in model.intersections), np.full(n, cycle), np.array(greens),
                      np.full(n, 2), np.array(offsets, dtype=float))  # fmt: skip


def test_uniform_delay_and_stops_match_webster() -> None:
    # No dispersion, exact free-flow time: arrivals are uniform at the stop line. Cycle 60 s,
    # effective green 27 s for west -> east (27 s displayed, 2 s start loss, 2 s of yellow used).
    # Webster's uniform delay per vehicle C (1 - g/C)^2 / (2 (1 - q/s)) = 13.6125 s; vehicles that
    # stop per cycle q (r + q r / (s - q)) = 8.25. Differences of a 2 h and a 1 h run remove the
    # start-up; 60 cycles x 10 vehicles. Tolerance 1 % (the step is 0.1 s).
    model, demand = single_signal(dispersion=0.0, travel_factor=1.0, dt_s=0.1)
    p = plan(model, 60.0, [[27.0, 25.0]], [0.0])
    one, two = model.simulate(p, demand, 3600.0), model.simulate(p, demand, 7200.0)
    west_delay_s = (two.delay_veh_h[0] - one.delay_veh_h[0]) * 3600.0
    assert west_delay_s == pytest.approx(600 * 13.6125, rel=0.01)
    assert two.stops_veh[0] - one.stops_veh[0] == pytest.approx(60 * 8.25, rel=0.01)
    # Below capacity nothing is left over: what entered has left, or drives (30 s of the 900 veh/h
    # on the approaches and again on the exits: 15 veh), or queues (at most one red's arrivals).
    assert two.waiting_to_enter_veh == 0.0
    assert 15.0 - 1e-6 <= two.vehicles_in - two.vehicles_out <= 15.0 + 33 * (900 / 3600)


def test_red_all_hour_blocks_and_spills_back() -> None:
    # West -> east shows no green at all: vehicles queue on link 0 up to its storage
    # (300 m / 7.5 m = 40 veh) and then wait outside.
    model, demand = single_signal()
    result = model.simulate(plan(model, 60.0, [[0.0, 52.0]], [0.0]), demand, 1800.0)
    assert result.max_queue_veh[0] == pytest.approx(40.0, abs=0.05)  # 0.05: platoon tails still rolling in
    assert result.waiting_to_enter_veh == pytest.approx(300.0 - 40.0, abs=1.0)  # 1800 s x 600 veh/h - 40
    assert result.entered_veh[2] == 0.0  # nothing reached the east exit


def arterial(cross_vph: float = 60.0) -> tuple[TrafficModel, TrafficDemand]:
    """West end -> signal A (node 1) -> signal B (node 2) -> east end, 300 m links at 10 m/s,
    600 veh/h eastbound; light cross traffic at both signals."""
    xy = [[0, 0], [300, 0], [600, 0], [900, 0], [300, -300], [300, 300], [600, -300], [600, 300]]
    tail = [0, 1, 2, 4, 1, 6, 2]
    head = [1, 2, 3, 1, 5, 2, 7]
    net = RoadNetwork.from_arrays(xy, tail, head, [300.0] * 7, [10.0] * 7)
    xs = [crossing(1, 0, 3, 1, 4, (600.0, cross_vph)), crossing(2, 1, 5, 2, 6, (600.0, cross_vph))]
    demand = TrafficDemand([600.0, 0, 0, cross_vph, 0, cross_vph, 0], [0, 1, 3, 5], [1, 2, 4, 6],
                           [600.0, 600.0, cross_vph, cross_vph])  # fmt: skip
    return TrafficModel(net, xs, dispersion=0.0, travel_factor=1.0), demand


def test_green_wave_offset_is_the_travel_time() -> None:
    # A's queue leaves in a platoon at the start of A's window; it reaches B 30 s later. Delay at
    # B is smallest when B's cycle starts 30 s after A's (within the 2 s grid), and nearly zero there.
    model, demand = arterial()
    shifts = np.arange(0.0, 60.0, 2.0)
    delay_at_b = [
        model.simulate(plan(model, 60.0, [[36.0, 16.0]] * 2, [0.0, s]), demand, 1800.0).delay_veh_h[1] for s in shifts
    ]
    assert shifts[int(np.argmin(delay_at_b))] == pytest.approx(30.0, abs=2.0)
    assert min(delay_at_b) < 0.05 * max(delay_at_b)


def test_optimize_network_finds_the_wave_and_never_loses() -> None:
    model, demand = arterial()
    found = optimize_network(model, demand, cycles_s=[60.0], max_iterations=3000, seed=1)
    p = found.plan
    assert found.objective_veh_h <= found.zero_offset_objective_veh_h
    assert (p.offset_s[1] - p.offset_s[0]) % 60.0 == pytest.approx(30.0, abs=4.0)
    # Its objective is what the model says about the plan plus HCM's random delay d2.
    in_model = model.simulate(p, demand, 1800.0).objective_veh_h(5.0)
    assert found.objective_veh_h - found.random_delay_veh_h == pytest.approx(in_model, rel=1e-9)
    assert 0 < found.random_delay_veh_h < found.objective_veh_h
    again = optimize_network(model, demand, cycles_s=[60.0], max_iterations=3000, seed=1)
    np.testing.assert_array_equal(again.plan.offset_s, p.offset_s)


def test_optimize_network_honours_its_budgets() -> None:
    model, demand = arterial()
    capped = optimize_network(model, demand, cycles_s=[60.0], max_iterations=50)
    assert capped.evaluations == 50  # the last batch is cut to the budget
    assert capped.status == "iteration_limit"
    done = optimize_network(model, demand, cycles_s=[60.0], max_iterations=100_000)
    assert done.status == "converged" and done.evaluations < 100_000
    assert done.objective_veh_h <= capped.objective_veh_h + 1e-9
    # The former name of the budget is gone, not aliased.
    with pytest.raises(TypeError, match="max_evaluations"):
        optimize_network(model, demand, cycles_s=[60.0], max_evaluations=50)  # type: ignore[call-arg]


def test_max_pressure_inside_the_model_serves_unbalanced_demand() -> None:
    # 600 veh/h west and 300 veh/h south: equal fixed greens are poor; max-pressure adapts.
    model, demand = single_signal()
    adaptive = model.simulate_max_pressure(demand, 3600.0, decision_s=5.0)
    fixed = model.simulate(plan(model, 90.0, [[14.0, 68.0]], [0.0]), demand, 3600.0)
    assert adaptive.waiting_to_enter_veh == 0.0
    assert adaptive.total_delay_veh_h < 0.5 * fixed.total_delay_veh_h
    # Left over: 15 veh driving (30 s of flow on approaches and exits) and what queues at the end.
    assert adaptive.vehicles_in - adaptive.vehicles_out < 15.0 + 10.0


def test_native_results_are_typed_read_only_records() -> None:
    # The compiled model returns records, not dicts: each field wired to its own sum (the network's
    # delay and stops are the sums over links, to rounding: rel 1e-12), read-only, built only there.
    from smartopt._core import _traffic

    model, demand = single_signal()
    sim = _traffic.Stepper(model.scenario(demand))
    sim.step(np.array([[1.0, 0.0]]), 600)  # 10 min of green west -> east only: south queues
    totals, links = sim.totals(), sim.link_stats()
    assert isinstance(totals, _traffic.Totals) and isinstance(links, _traffic.LinkStats)
    assert totals.delay_veh_s == pytest.approx(links.delay_veh_s.sum(), rel=1e-12)
    assert totals.stops_veh == pytest.approx(links.stops_veh.sum(), rel=1e-12)
    assert totals.stops_veh > 0 and totals.exited_veh < totals.entered_veh
    assert np.all(links.queue_veh_s <= links.delay_veh_s) and links.max_queue_veh[1] > 0
    np.testing.assert_array_equal(links.entered_veh[:2] > 0, [True, True])
    with pytest.raises(AttributeError):
        totals.stops_veh = 0.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        _traffic.LinkStats()


@settings(max_examples=25, deadline=None)
@given(
    cycle=st.floats(20.0, 150.0),
    split=st.floats(0.05, 0.95),
    offset=st.floats(-500.0, 500.0),
    west=st.floats(0.0, 3000.0),
    south=st.floats(0.0, 3000.0),
    dispersion=st.floats(0.0, 1.0),
)
def test_vehicles_are_conserved(
    cycle: float, split: float, offset: float, west: float, south: float, dispersion: float
) -> None:
    model, _ = single_signal(dispersion=dispersion)
    demand = TrafficDemand([west, south, 0.0, 0.0], [0, 1], [2, 3], [west, south])
    green = max(cycle - 8.0, 0.0)
    p = plan(model, cycle, [[green * split, green * (1 - split)]], [offset])
    r = model.simulate(p, demand, 900.0)
    offered = (west + south) * 900.0 / 3600.0
    assert r.vehicles_in + r.waiting_to_enter_veh == pytest.approx(offered, rel=1e-9, abs=1e-6)
    on_links = r.vehicles_in - r.vehicles_out
    assert -1e-6 <= on_links <= 4 * 40.0 + 1e-6  # four links of 40 veh storage
    assert np.all(np.isfinite(r.delay_veh_h)) and np.all(r.delay_veh_h >= 0) and np.all(r.stops_veh >= 0)
    assert np.all(r.max_queue_veh <= 40.0 + 1e-6)


def test_input_errors() -> None:
    model, demand = single_signal()
    with pytest.raises(ValueError, match="which none of its phases serves"):
        model.simulate(plan(model, 60, [[20, 20]], [0]), TrafficDemand([600, 0, 0, 0], [0], [3], [600]))
    with pytest.raises(ValueError, match=r"sends 900\.0 veh/h onward but receives only 600\.0"):
        model.simulate(plan(model, 60, [[20, 20]], [0]), TrafficDemand([600, 0, 0, 0], [0, 1], [2, 3], [900, 0]))
    with pytest.raises(ValueError, match=r"entry_vph\[1\]=nan is not finite"):
        TrafficDemand([600, np.nan, 0, 0], [0], [2], [600])
    with pytest.raises(ValueError, match=r"turn_out_link\[0\]=7 is not an index in \[0, 4\)"):
        TrafficDemand([600, 0, 0, 0], [0], [7], [600])
    with pytest.raises(ValueError, match="demand has 3 links, the network 4"):
        model.scenario(TrafficDemand([600, 0, 0], [0], [2], [600]))
    with pytest.raises(ValueError, match=r"duration_s=0.0 must be > 0"):
        model.simulate(plan(model, 60, [[20, 20]], [0]), demand, 0.0)
    with pytest.raises(ValueError, match="plan is for intersections"):
        model.simulate(TimingPlan(("other",), np.array([60.0]), np.array([[20.0, 20.0]]), np.array([2]),
                                  np.zeros(1)), demand)  # fmt: skip
    with pytest.raises(ValueError, match="cycle_s"):
        model.simulate(plan(model, np.nan, [[20, 20]], [0]), demand)
    with pytest.raises(ValueError, match=r"travel_factor=0\.0 must be in"):
        TrafficModel(model.network, model.intersections, travel_factor=0.0)
    with pytest.raises(ValueError, match="intersections X0 and X0 share node '0'"):
        TrafficModel(model.network, [model.intersections[0]] * 2)
    with pytest.raises(ValueError, match=r"intersection X1: approach link '0' does not meet its node\(s\) \['1'\]"):
        TrafficModel(model.network, [crossing(1, 0, 1, 2, 3, (600.0, 300.0))])
    with pytest.raises(ValueError, match=r"decision_s\[0\]=0.0 must be > 0"):
        model.simulate_max_pressure(demand, 600.0, decision_s=0.0)
    with pytest.raises(ValueError, match=r"offset_step_s=0.0 must be > 0"):
        optimize_network(model, demand, offset_step_s=0.0)
    with pytest.raises(ValueError, match=r"stop_penalty_s=-1.0 must be >= 0"):
        optimize_network(model, demand, stop_penalty_s=-1.0)
    with pytest.raises(ValueError, match="n_threads"):
        optimize_network(model, demand, n_threads=0)
    with pytest.raises(ValueError, match=r"cycles_s\[0\]=10 is outside"):
        optimize_network(model, demand, cycles_s=[10.0])


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_native_boundary_rejects_or_runs(data: st.DataObject) -> None:
    # Arrays straight into the compiled module, half of the cases valid and half with bad values,
    # sizes or shapes: a ValueError, or a run with finite totals.
    from smartopt._core import _traffic

    bad = data.draw(st.booleans())
    values = st.floats(-5.0, 100.0) | st.sampled_from([np.nan, np.inf, -np.inf, 0.0, 1e12])
    n_links, n_moves, n_sig, n_stage = (data.draw(st.integers(1, 4)) for _ in range(4))

    def floats(n: int, lo: float = 0.0, hi: float = 100.0) -> np.ndarray:
        return np.array(data.draw(st.lists(values if bad else st.floats(lo, hi), min_size=n, max_size=n)))

    def ints(n: int, lo: int, hi: int) -> np.ndarray:
        if bad:
            lo, hi = lo - 2, hi + 2
        return np.array(data.draw(st.lists(st.integers(lo, hi), min_size=n, max_size=n)), dtype=np.int64)

    def size(n: int) -> int:
        return max(0, n + data.draw(st.sampled_from([0, 0, -1, 1]))) if bad else n

    try:
        scenario = _traffic.make_scenario(
            floats(n_links), floats(size(n_links)), ints(n_moves, 0, n_links - 1), ints(size(n_moves), 0, n_links - 1),
            ints(n_moves, -1, n_sig - 1), ints(n_moves, 0, 2**n_stage - 1).clip(0).astype(np.uint64), n_sig, n_stage,
            floats(size(n_links)), floats(n_moves, 0.0, 0.25), floats(n_moves),
            data.draw(st.sampled_from([1.0, 0.5, 0.0, -1.0, np.nan, 1e-9] if bad else [1.0, 0.5, 2.0])),
            data.draw(st.sampled_from([0.35, 0.0, -1.0, np.nan] if bad else [0.35, 0.0, 1.0])),
            data.draw(st.sampled_from([0.8, 1.0, 0.0, 2.0] if bad else [0.8, 1.0, 0.5])),
        )  # fmt: skip
    except ValueError:
        assert bad
        return
    shape = (n_sig + 1, n_stage) if bad and data.draw(st.booleans()) else (n_sig, n_stage)
    cycle = floats(n_sig, 10.0, 150.0)
    start = floats(int(np.prod(shape)), 0.0, 1.0).reshape(shape) * (cycle[:, None] if not bad else 1.0)
    end = start + floats(int(np.prod(shape)), 0.0, 1.0).reshape(shape) * (cycle[:, None] if not bad else 1.0)
    try:
        totals, links = _traffic.simulate_fixed(scenario, cycle, floats(n_sig), start, end, 200)
    except ValueError:
        assert bad
        return
    sums = (totals.delay_veh_s, totals.stops_veh, totals.entered_veh, totals.exited_veh, totals.origin_queue_veh)
    assert all(np.isfinite(v) for v in sums)
    per_link = (links.delay_veh_s, links.stops_veh, links.queue_veh_s, links.max_queue_veh, links.entered_veh)
    assert all(np.isfinite(a).all() and a.shape == (n_links,) for a in per_link)
