"""Hostile input to the signals API (issue 18): memory and time bombs bounded, integers never
wrapped, plans checked against the intersections they are applied to, time limits honoured,
errors that are ValueError/TypeError naming the field, and threads that equal sequential calls."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from functools import cache
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartopt.datasets import sejong_5_1
from smartopt.network import RoadNetwork
from smartopt.signals import (
    HcmParameters,
    Intersection,
    TimingPlan,
    TrafficDemand,
    TrafficModel,
    hcm_delay,
    lane_group_delay,
    optimize_fixed_time,
    optimize_network,
    webster,
)

HOSTILE: list[Any] = [
    2**31, 2**32 + 2, 2**63, 2**64 + 1, -(2**63), 1e300, -1e300, math.nan, math.inf, -math.inf,
    1e-300, 1e-9, 0, -1, 0.5, True, False, "1", None, [1.0],
]  # fmt: skip
"""Values that must give a clear error (or a correct result) wherever a number is expected."""


@cache
def district() -> Any:
    return sejong_5_1()


def crossing(node: int = 0, **changes: Any) -> Intersection:
    """A two-stage signal at ``node``: stage 0 serves link 0 -> 2, stage 1 link 1 -> 3."""
    kwargs: dict[str, Any] = {
        "id": f"X{node}", "node": node, "approach_link": [0, 1], "crossing_length_m": [0.0, 0.0],
        "lane_group_approach": [0, 1], "lane_group_lanes": [1, 1], "saturation_flow_vph": [1800.0, 1800.0],
        "movement_lane_group": [0, 1], "movement_out_link": [2, 3], "movement_turn": ["T", "T"],
        "volume_vph": [[600.0, 300.0]], "stage_movements": ([0], [1]), "min_green_s": [5.0, 5.0],
        "max_green_s": [90.0, 90.0], "yellow_s": [3.0, 3.0], "all_red_s": [1.0, 1.0],
        "ped_min_green_s": [0.0, 0.0], "cycle_min_s": 20.0, "cycle_max_s": 150.0,
    }  # fmt: skip
    kwargs.update(changes)
    return Intersection(**kwargs)


def single_signal(**model_kw: Any) -> tuple[TrafficModel, TrafficDemand]:
    net = RoadNetwork.from_arrays(
        node_xy=[[0, 0], [-300, 0], [0, -300], [300, 0], [0, 300]], link_tail=[1, 2, 0, 0], link_head=[0, 0, 3, 4],
        length_m=[300.0] * 4, speed_mps=[10.0] * 4,
    )  # fmt: skip
    model = TrafficModel(net, [crossing()], **model_kw)
    demand = TrafficDemand([600.0, 300.0, 0.0, 0.0], [0, 1], [2, 3], [600.0, 300.0])
    return model, demand


def district_model(n: int = 4) -> tuple[TrafficModel, TrafficDemand]:
    d = district()
    return TrafficModel(d.network, d.intersections[:n]), d.traffic[0]


# -- 1. memory and time bombs, each in a child process under an address-space limit ----------------

BOMB_SCRIPT = """
import json, resource, sys, time
resource.setrlimit(resource.RLIMIT_AS, (2560 * 2**20, 2560 * 2**20))  # 2.5 GiB: a bomb cannot hurt the machine
from smartopt.datasets import sejong_5_1
from smartopt.signals import TrafficModel, optimize_fixed_time, optimize_network, webster
d = sejong_5_1()
x = d.intersections[:4]
cases = {
    "offset_step": lambda: optimize_network(TrafficModel(d.network, x), d.traffic[0], cycles_s=[110.0],
                                            offset_step_s=1e-6, time_limit_s=5, duration_s=300),
    "cycle_step": lambda: optimize_fixed_time(d.intersections, cycle_step_s=1e-9),
    "dt": lambda: TrafficModel(d.network, x, dt_s=1e-6),
    "duration": lambda: TrafficModel(d.network, x).simulate(webster(x), d.traffic[0], duration_s=1e12),
    "duration_network": lambda: optimize_network(TrafficModel(d.network, x), d.traffic[0], duration_s=1e300,
                                                 max_iterations=2),
}
out = {}
for name, run in cases.items():
    t = time.perf_counter()
    try:
        run()
        out[name] = ["ok", "", time.perf_counter() - t]
    except Exception as e:
        out[name] = [type(e).__name__, str(e), time.perf_counter() - t]
print(json.dumps(out))
"""


def test_memory_and_time_bombs_are_refused_quickly() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(BOMB_SCRIPT)], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    expected = {
        "offset_step": "offset_step_s=1e-06 s gives 1.1e\\+08 offsets",
        "cycle_step": "cycle_step_s=1e-09 s gives",
        "dt": "dt_s=1e-06 must be >= 0.01",
        "duration": "duration_s=1e\\+12 s at dt_s=1 s needs 1e\\+12 steps; at most 10000000",
        "duration_network": "duration_s=1e\\+300 s",
    }
    import re

    for name, pattern in expected.items():
        kind, message, seconds = out[name]
        assert kind == "ValueError" and re.search(pattern, message), (name, kind, message)
        assert seconds < 30.0, (name, seconds)  # generous: refused before any work, not after days of it


# -- 2. integers never wrap ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "error", "match"),
    [
        ("lane_group_lanes", [2**32 + 2, 2**31], ValueError, r"lane_group_lanes\[0\]=4294967298"),
        ("lane_group_lanes", [1e20, 1], TypeError, "lane_group_lanes"),
        ("lane_group_lanes", [2.5, 1], TypeError, "lane_group_lanes"),
        ("node", 2**63, ValueError, r"node=9223372036854775808 is not a node index"),
        ("node", 2**32, ValueError, "node=4294967296"),
        ("node", 1.5, TypeError, "node must be an int"),
        ("node", True, TypeError, "node must be an int"),
        ("approach_link", [2**32, 1], ValueError, "approach_link"),
        ("movement_out_link", [2**31, 3], ValueError, "movement_out_link"),
        ("id", 7, TypeError, "intersection id must be a str"),
    ],
)
def test_integers_are_checked_not_wrapped(field: str, value: Any, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        crossing(**{field: value})


def test_network_lanes_past_int32_never_reach_the_model() -> None:
    # The reproducer: lanes [2**32 + 2, 2**31] became [2, -2**31] (capacity -3.87e12 veh/h).
    kw: dict[str, Any] = {
        "node_xy": [[0, 0], [1, 0], [2, 0]], "link_tail": [0, 1], "link_head": [1, 2], "length_m": [100.0, 100.0],
        "speed_mps": [10.0, 10.0],
    }  # fmt: skip
    with pytest.raises(ValueError, match=r"lanes|link_lanes"):
        RoadNetwork.from_arrays(**kw, lanes=[2**32 + 2, 2**31])
    with pytest.raises((ValueError, TypeError), match=r"lanes|link_lanes"):
        RoadNetwork.from_arrays(**kw, lanes=[1e20, 1])
    with pytest.raises((ValueError, TypeError), match=r"lanes|link_lanes"):
        RoadNetwork.from_arrays(**kw, lanes=[2.5, 1])


# -- 3. plans are checked against the problem they belong to ---------------------------------------


def test_plans_are_validated_against_their_intersections() -> None:
    d = district()
    x = d.intersections
    model = TrafficModel(d.network, x)
    plan = webster(x)
    right = model.simulate(plan, d.traffic[0], 900.0).total_delay_veh_h
    # green_s of shape (47, 1) used to broadcast over every stage.
    with pytest.raises(ValueError, match=r"num_stages\[0\]=\d+ exceeds the 1 columns of green_s"):
        model.simulate(replace(plan, green_s=plan.green_s[:, :1]), d.traffic[0], 900.0)
    with pytest.raises(ValueError, match=r"cycle_s\[0\]=-\d.* must be > 0"):
        hcm_delay(x, replace(plan, cycle_s=-plan.cycle_s))
    # Greens summing to a multiple of the cycle (0.109 s of delay, LOS A, before).
    with pytest.raises(ValueError, match=r"greens sum to .* over cycle_s"):
        hcm_delay(x, replace(plan, cycle_s=(plan.cycle_s - [xx.lost_time_s for xx in x]) / 2))
    with pytest.raises(ValueError, match=r"greens .* \+ lost time .* = .*, not cycle_s="):
        hcm_delay(x, replace(plan, cycle_s=plan.cycle_s + 10.0))
    with pytest.raises(ValueError, match=r"green_s\[0, 0\]=nan is not finite"):
        hcm_delay(x, replace(plan, green_s=np.where(np.arange(plan.green_s.shape[1]) == 0, np.nan, plan.green_s)))
    # A plan listing the intersections in another order is applied by id...
    order = np.arange(len(x))[::-1]
    shuffled = TimingPlan(
        tuple(plan.intersection_ids[i] for i in order), plan.cycle_s[order], plan.green_s[order],
        plan.num_stages[order], plan.offset_s[order],
    )  # fmt: skip
    assert model.simulate(shuffled, d.traffic[0], 900.0).total_delay_veh_h == right
    np.testing.assert_array_equal(hcm_delay(x, shuffled).delay_s, hcm_delay(x, plan).delay_s)
    # ... so ids reversed over unchanged rows no longer give the right plan's answer.
    reversed_ids = replace(plan, intersection_ids=plan.intersection_ids[::-1])
    with pytest.raises(ValueError, match="plan: intersection"):
        hcm_delay(x, reversed_ids)
    with pytest.raises(ValueError, match="plan is for intersections"):
        hcm_delay(x[:3], plan)
    # A step longer than the cycle (or too coarse for it) is refused, not silently different.
    with pytest.raises(ValueError, match=r"dt_s=200.0 must be <= 60"):
        TrafficModel(d.network, x, dt_s=200.0)
    with pytest.raises(ValueError, match=r"dt_s=30 s is too coarse for intersection .* at least 10 steps per cycle"):
        TrafficModel(d.network, x, dt_s=30.0).simulate(plan, d.traffic[0], 900.0)


def test_hcm_delay_stays_finite_when_green_fills_the_cycle() -> None:
    # g = C with v/c >= 1 used to be 0/0 in the uniform delay.
    d, cap, x = lane_group_delay(2000.0, 1800.0, 60.0, 60.0)
    assert np.isfinite(d) and x > 1 and cap == pytest.approx(1800.0)


# -- 6. time limits --------------------------------------------------------------------------------


def test_optimize_network_honours_its_time_limit() -> None:
    model, demand = district_model(4)
    optimize_network(model, demand, cycles_s=[110.0], max_iterations=1)  # load the compiled kernels once
    for limit in (0.3, 1.0):
        started = time.perf_counter()
        found = optimize_network(model, demand, time_limit_s=limit)
        wall = time.perf_counter() - started
        # The criterion is 5 % + 50 ms; the margin here is wider (0.25 s) because the
        # machine is shared with other jobs, but far below the 2-5 s overruns it had.
        assert wall <= 1.05 * limit + 0.3, (limit, wall)
        assert found.elapsed_s == pytest.approx(wall, abs=0.05)  # the true runtime
        assert found.status == "time_limit"
    for bad, error in ((0.0, ValueError), (-1.0, ValueError), (math.nan, ValueError), (True, TypeError)):
        with pytest.raises(error, match="time_limit_s"):
            optimize_network(model, demand, time_limit_s=bad)


def test_optimize_network_on_an_iteration_budget_is_reproducible() -> None:
    model, demand = district_model(4)
    a = optimize_network(model, demand, cycles_s=[100.0, 110.0], max_iterations=60, seed=3, n_threads=1)
    b = optimize_network(model, demand, cycles_s=[100.0, 110.0], max_iterations=60, seed=3, n_threads=2)
    assert a.evaluations == b.evaluations == 60 and a.status == "iteration_limit"
    np.testing.assert_array_equal(a.plan.offset_s, b.plan.offset_s)
    np.testing.assert_array_equal(a.plan.green_s, b.plan.green_s)
    assert a.objective_veh_h == b.objective_veh_h
    # Its objective is the model's verdict on its plan plus the random delay.
    seen = model.simulate(a.plan, demand, 1800.0).objective_veh_h(5.0) + a.random_delay_veh_h
    assert a.objective_veh_h == pytest.approx(seen, rel=1e-9)


# -- 9. exception types -----------------------------------------------------------------------------


def test_errors_are_value_or_type_errors_naming_the_field() -> None:
    d = district()
    x = d.intersections
    model, demand = district_model(4)
    with pytest.raises(TypeError, match=r"period must be an int, got float 1.0"):
        webster(x, period=1.0)
    with pytest.raises(ValueError, match=r"period=9 is not an index in \[0, 3\)"):
        optimize_network(model, demand, period=9, max_iterations=1)
    with pytest.raises(ValueError, match="cycles_s is empty"):
        optimize_network(model, demand, cycles_s=[], max_iterations=1)
    with pytest.raises(TypeError, match="period must be an int, got bool"):
        hcm_delay(x, webster(x), period=True)
    with pytest.raises(TypeError, match="cycle_step_s must be a number, got bool"):
        optimize_fixed_time(x, cycle_step_s=True)
    with pytest.raises(TypeError, match="k must be a number, got str"):
        HcmParameters(k="0.5")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="hcm must be HcmParameters"):
        hcm_delay(x, webster(x), hcm=0.25)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="dt_s must be a number, got bool"):
        TrafficModel(d.network, x, dt_s=True)
    with pytest.raises(TypeError, match="travel_factor must be a number, got str"):
        TrafficModel(d.network, x, travel_factor="1")  # type: ignore[arg-type]
    for name in ("seed", "n_threads", "max_iterations"):
        with pytest.raises(TypeError, match=f"{name} must be an int, got bool"):
            optimize_network(model, demand, **{"max_iterations": 1, name: True})
    with pytest.raises(ValueError, match="seed must be >= 0, got -1"):
        optimize_network(model, demand, seed=-1, max_iterations=1)
    with pytest.raises(TypeError, match="plan must be a TimingPlan"):
        model.simulate({"cycle_s": 60}, demand)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"intersections\[0\] must be an Intersection"):
        webster(["X"])  # type: ignore[list-item]


# -- threads equal sequential calls ----------------------------------------------------------------


def test_threads_equal_sequential_calls() -> None:
    d = district()
    x = d.intersections
    model, demand = district_model(4)
    plan = webster(model.intersections)

    def work(k: int) -> tuple[Any, ...]:
        fixed = optimize_fixed_time(x, k % 3)
        report = hcm_delay(x, fixed, k % 3)
        run = model.simulate(plan, demand, 600.0)
        net = optimize_network(model, demand, cycles_s=[110.0], max_iterations=8, seed=k, duration_s=300.0)
        return fixed.green_s, report.delay_s, run.delay_veh_h, net.plan.offset_s, net.objective_veh_h

    sequential = [work(k) for k in range(4)]
    with ThreadPoolExecutor(4) as pool:
        threaded = list(pool.map(work, range(4)))
    for a, b in zip(sequential, threaded, strict=True):
        for u, v in zip(a, b, strict=True):
            np.testing.assert_array_equal(u, v)


# -- hypothesis: hostile values into every entry point ---------------------------------------------

hostile = st.one_of(st.sampled_from(HOSTILE), st.floats(allow_nan=True, allow_infinity=True), st.integers())


def clear_or_correct(call: Any) -> Any:
    """Runs ``call``: a ValueError/TypeError is a clear error (None comes back); anything else
    escaping fails the test."""
    try:
        return call()
    except (ValueError, TypeError) as e:
        assert str(e), "an error must say what is wrong"
        return None


FIELDS = ["node", "saturation_flow_vph", "volume_vph", "min_green_s", "max_green_s", "yellow_s", "all_red_s",
          "ped_min_green_s", "cycle_min_s", "cycle_max_s", "lane_group_lanes", "crossing_length_m"]  # fmt: skip
SHAPED = {"saturation_flow_vph": 2, "lane_group_lanes": 2, "crossing_length_m": 2, "volume_vph": (1, 2)}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(field=st.sampled_from(FIELDS), value=hostile, where=st.integers(0, 1))
def test_intersection_and_timing_with_hostile_values(field: str, value: Any, where: int) -> None:
    base = crossing()
    current = getattr(base, field)
    if isinstance(current, np.ndarray):
        arr = np.asarray(current, dtype=object).copy()
        arr.reshape(-1)[where] = value
        new = arr.tolist()
    else:
        new = value
    x = clear_or_correct(lambda: crossing(**{field: new}))
    if x is None:
        return
    for make in (lambda: webster([x]), lambda: optimize_fixed_time([x])):
        plan = clear_or_correct(make)
        if plan is None:
            continue
        assert np.all(np.isfinite(plan.cycle_s)) and np.all(plan.green_s >= 0)
        lost = x.lost_time_s
        assert plan.green_s.sum() + lost == pytest.approx(plan.cycle_s[0], rel=1e-6, abs=1e-6)
        report = hcm_delay([x], plan)
        assert np.all(np.isfinite(report.delay_s)) and np.all(report.delay_s >= 0)


@settings(max_examples=120, deadline=None)
@given(
    which=st.sampled_from(["period", "cycle_s", "cycle_step_s", "hcm_T", "hcm_k", "hcm_pf", "plan_cycle",
                           "plan_green", "plan_offset", "plan_stages"]),
    value=hostile,
)  # fmt: skip
def test_timing_entry_points_with_hostile_values(which: str, value: Any) -> None:
    x = [crossing()]
    good = webster(x)

    def run() -> Any:
        if which == "period":
            return hcm_delay(x, good, period=value)
        if which == "cycle_s":
            return hcm_delay(x, optimize_fixed_time(x, cycle_s=value))
        if which == "cycle_step_s":
            return hcm_delay(x, optimize_fixed_time(x, cycle_step_s=value))
        if which.startswith("hcm_"):
            field = {"hcm_T": "analysis_period_h", "hcm_k": "k", "hcm_pf": "progression_factor"}[which]
            return hcm_delay(x, good, hcm=HcmParameters(**{field: value}))
        if which == "plan_cycle":
            return hcm_delay(x, replace(good, cycle_s=[value]))
        if which == "plan_green":
            return hcm_delay(x, replace(good, green_s=[[value, good.green_s[0, 1]]]))
        if which == "plan_offset":
            return single_signal()[0].simulate(replace(good, offset_s=[value]), single_signal()[1], 600.0)
        return hcm_delay(x, replace(good, num_stages=[value]))

    out = clear_or_correct(run)
    if out is not None and hasattr(out, "delay_s"):
        assert np.all(np.isfinite(out.delay_s)) and np.all(out.delay_s >= 0)
    if out is not None and hasattr(out, "total_delay_veh_h"):
        assert math.isfinite(out.total_delay_veh_h) and out.total_delay_veh_h >= 0


@settings(max_examples=80, deadline=None)
@given(
    which=st.sampled_from(["dt_s", "jam_spacing_m", "dispersion", "travel_factor", "start_lost_s", "duration_s",
                           "entry_vph", "turn_vph"]),
    value=hostile,
)  # fmt: skip
def test_traffic_model_with_hostile_values(which: str, value: Any) -> None:
    def run() -> Any:
        if which in ("duration_s", "entry_vph", "turn_vph"):
            model, demand = single_signal()
            if which == "entry_vph":
                demand = TrafficDemand([value, 300.0, 0.0, 0.0], [0, 1], [2, 3], [0.0, 300.0])
            if which == "turn_vph":
                demand = TrafficDemand([600.0, 300.0, 0.0, 0.0], [0, 1], [2, 3], [value, 300.0])
            duration = value if which == "duration_s" else 600.0
            if isinstance(duration, int | float) and not isinstance(duration, bool) and duration > 1e6:
                duration = 1e12  # refused by the step count, never run
        else:
            model, demand = single_signal(**{which: value})
            duration = 600.0
        return model.simulate(webster(model.intersections), demand, duration)

    out = clear_or_correct(run)
    if out is not None:
        assert math.isfinite(out.total_delay_veh_h) and out.total_delay_veh_h >= 0
        assert np.all(np.isfinite(out.max_queue_veh))


@settings(max_examples=40, deadline=None)
@given(
    which=st.sampled_from(["offset_step_s", "cycles_s", "duration_s", "stop_penalty_s", "max_iterations", "seed",
                           "n_threads", "time_limit_s", "period"]),
    value=hostile,
    budget=st.integers(1, 4),
)  # fmt: skip
def test_optimize_network_with_hostile_values_and_tiny_budgets(which: str, value: Any, budget: int) -> None:
    model, demand = single_signal()
    kw: dict[str, Any] = {"max_iterations": budget, "duration_s": 300.0, which: value}
    if which == "cycles_s":
        kw["cycles_s"] = [value]
    if which == "time_limit_s":
        kw["max_iterations"] = None
        if isinstance(value, int | float) and not isinstance(value, bool) and value > 0.5:
            kw["time_limit_s"] = min(value, 0.5) if value <= 1e7 else value
    if which == "duration_s" and isinstance(value, int | float) and not isinstance(value, bool) and value > 3600:
        kw["duration_s"] = 1e12  # refused by the step count, never run
    out = clear_or_correct(lambda: optimize_network(model, demand, **kw))
    if out is not None:
        assert out.status in ("converged", "iteration_limit", "time_limit")
        if kw.get("max_iterations"):
            assert out.evaluations <= kw["max_iterations"]
        if out.evaluations:
            assert math.isfinite(out.objective_veh_h) and out.objective_veh_h >= 0


def test_green_waves_and_link_delays_bound_their_work() -> None:
    from smartopt.signals import bandwidths, link_delays, maxband

    args = ([0.0, 300.0], [30.0] * 2, [30.0] * 2, 60.0, [0.0, 30.0], 10.0)
    with pytest.raises(ValueError, match="resolution must be <= 1000000, got 1099511627776"):
        bandwidths(*args, resolution=2**40)
    with pytest.raises(TypeError, match="resolution must be an int, got bool"):
        bandwidths(*args, resolution=True)
    with pytest.raises(ValueError, match=r"needs 5e\+300 cycles between two signals"):
        maxband([0.0, 300.0], [30.0] * 2, [30.0] * 2, 60.0, (1e-300, 10.0))
    with pytest.raises(TypeError, match="seed must be an int, got bool"):
        maxband([0.0, 300.0], [30.0] * 2, [30.0] * 2, 60.0, (10.0, 10.0), seed=True)
    x = [crossing()]
    report = hcm_delay(x, webster(x))
    with pytest.raises(ValueError, match="num_links must be <= 100000000, got 9223372036854775807"):
        link_delays(x, report, 2**63 - 1)
    with pytest.raises(TypeError, match="num_links must be an int, got float"):
        link_delays(x, report, 4.0)
    assert link_delays(x, report, 4)[:2] == pytest.approx(report.delay_s)


def test_native_scoring_bounds_steps_and_stops_at_its_deadline() -> None:
    from smartopt._core import _traffic

    model, demand = single_signal()
    cycle, offset, start, end = model.windows(webster(model.intersections))
    scenario = model.scenario(demand)
    plans = (cycle[None], offset[None], start[None], end[None])
    with pytest.raises(ValueError, match="n_steps is out of range"):
        _traffic.score_plans(scenario, *plans, 10**8, 5.0, 1)
    with pytest.raises(ValueError, match="n_threads must be >= 1"):
        _traffic.score_plans(scenario, *plans, 10, 5.0, 0)
    assert np.isnan(_traffic.score_plans(scenario, *plans, 600, 5.0, 1, 0.0)).all()  # no time: nothing scored
    full = _traffic.score_plans(scenario, *plans, 600, 5.0, 1)
    assert np.isfinite(full).all()
    np.testing.assert_array_equal(_traffic.score_plans(scenario, *plans, 600, 5.0, 1, 60.0), full)
