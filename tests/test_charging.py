"""EV charging schedules: the exact solver against the linear program (OR-Tools GLOP, run here), the
valley-filling quadratic program (OR-Tools PDLP, run here) and the optimality conditions; limits, partial
service, the rolling planner and bad input.

Tolerances: objective values 1e-6 relative (plus 1e-6 absolute, kW or cost units, for values near
zero); constraints 1e-7 kW or kWh.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from ortools.pdlp import solve_log_pb2, solvers_pb2
from ortools.pdlp.python import pdlp

from smartopt._core import _charging
from smartopt.energy import ChargingPlanner, schedule_charging

REL, ABS, FEAS = 1e-6, 1e-6, 1e-7


def random_sessions(rng: np.random.Generator, n: int, t: int, fill: float = 0.8) -> dict[str, Any]:
    arrival = rng.integers(0, t, n)
    departure = np.minimum(arrival + rng.integers(1, t + 1, n), t)
    max_kw = rng.choice([3.7, 7.4, 11.0, 22.0], n)
    energy = rng.uniform(0, fill, n) * max_kw * (departure - arrival) * 0.25
    base = rng.uniform(50, 150, t)
    return {"arrival": arrival, "departure": departure, "energy_kwh": energy, "max_kw": max_kw, "base_load_kw": base}


@st.composite
def sessions(draw: st.DrawFn) -> dict[str, Any]:
    seed = draw(st.integers(0, 2**32 - 1))
    n = draw(st.integers(1, 12))
    t = draw(st.integers(1, 16))
    return random_sessions(np.random.default_rng(seed), n, t, fill=draw(st.sampled_from([0.3, 0.9, 1.0])))


def assert_feasible(inst: dict[str, Any], result: Any, energy_kwh: Any = None) -> None:
    """Windows, power limits and energies (default: all asked) hold."""
    x = result.power_kw
    t = np.arange(x.shape[1])
    outside = (t < inst["arrival"][:, None]) | (t >= inst["departure"][:, None])
    assert np.all(x[outside] == 0)
    assert x.min() >= -FEAS
    assert np.all(x <= inst["max_kw"][:, None] + FEAS)
    want = inst["energy_kwh"] if energy_kwh is None else energy_kwh
    np.testing.assert_allclose(x.sum(axis=1) * 0.25, want, rtol=0, atol=FEAS * max(1.0, want.max(initial=0)))


def valley_qp(inst: dict[str, Any]) -> float:
    """min sum_t (base_t + y_t)^2 with y_t = sum_i x_it by OR-Tools PDLP's convex QP (to 1e-10):
    variables x (per EV and slot of its window) then y; rows: energies, then y - S x = 0.
    (HiGHS's active-set QP was tried first: it hangs on some of these instances.)"""
    a, d, p = inst["arrival"], inst["departure"], inst["max_kw"]
    base, energy = inst["base_load_kw"], inst["energy_kwh"] / 0.25
    n, t = a.size, base.size
    ev = np.repeat(np.arange(n), d - a)
    slot = np.concatenate([np.arange(a[i], d[i]) for i in range(n)])
    m = ev.size
    per_ev = sp.csr_matrix((np.ones(m), (ev, np.arange(m))), shape=(n, m))
    per_slot = sp.csr_matrix((np.ones(m), (slot, np.arange(m))), shape=(t, m))
    qp = pdlp.QuadraticProgram()
    qp.resize_and_initialize(m + t, n + t)
    qp.constraint_matrix = sp.vstack(
        [sp.hstack([per_ev, sp.csr_matrix((n, t))]), sp.hstack([-per_slot, sp.identity(t)])]
    ).tocsc()
    qp.constraint_lower_bounds = qp.constraint_upper_bounds = np.concatenate([energy, np.zeros(t)])
    qp.variable_lower_bounds = np.concatenate([np.zeros(m), np.full(t, -np.inf)])
    qp.variable_upper_bounds = np.concatenate([p[ev], np.full(t, np.inf)])
    qp.objective_vector = np.concatenate([np.zeros(m), 2 * base])
    qp.set_objective_matrix_diagonal(np.concatenate([np.zeros(m), np.full(t, 2.0)]))
    params = solvers_pb2.PrimalDualHybridGradientParams()
    params.termination_criteria.simple_optimality_criteria.eps_optimal_absolute = 1e-10
    params.termination_criteria.simple_optimality_criteria.eps_optimal_relative = 1e-10
    params.termination_criteria.time_sec_limit = 60
    result = pdlp.primal_dual_hybrid_gradient(qp, params)
    assert result.solve_log.termination_reason == solve_log_pb2.TERMINATION_REASON_OPTIMAL
    return float(np.sum((base + result.primal_solution[m:]) ** 2))


def assert_kkt(inst: dict[str, Any], result: Any) -> None:
    """Valley-filling optimality: each EV has a level nu with total load = nu where it charges
    strictly between 0 and its power, >= nu where it does not charge, <= nu where at full power."""
    x, total = result.power_kw, result.total_kw
    tol = 1e-7 * max(1.0, np.abs(total).max())
    for i in range(x.shape[0]):
        w = slice(inst["arrival"][i], inst["departure"][i])
        xi, li, p = x[i, w], total[w], inst["max_kw"][i]
        off, full = xi <= 1e-9 * p, xi >= p * (1 - 1e-9)
        mid = ~off & ~full
        low = li[full].max(initial=-np.inf)  # nu >= load where charging at full power
        high = li[off].min(initial=np.inf)  # nu <= load where not charging
        if mid.any():
            assert np.ptp(li[mid]) <= tol
            low, high = max(low, li[mid].max()), min(high, li[mid].min())
        assert low <= high + tol, f"EV {i} is not at its valley"


@settings(max_examples=60, deadline=None)
@given(sessions())
def test_min_peak_and_cost_match_the_linear_program(inst: dict[str, Any]) -> None:
    exact = schedule_charging(**inst)
    lp = schedule_charging(**inst, method="glop")
    assert exact.status == lp.status == "optimal"
    assert_feasible(inst, exact)
    assert exact.peak_kw == pytest.approx(lp.peak_kw, rel=REL, abs=ABS)
    price = np.random.default_rng(inst["arrival"].sum()).choice([0.1, 0.2, 0.35], inst["base_load_kw"].size)
    exact = schedule_charging(**inst, objective="cost", price=price)
    lp = schedule_charging(**inst, objective="cost", price=price, method="glop")
    assert_feasible(inst, exact)
    assert exact.ev_cost == pytest.approx(lp.ev_cost, rel=REL, abs=ABS)


@settings(max_examples=40, deadline=None)
@given(sessions())
def test_valley_filling_matches_the_quadratic_program(inst: dict[str, Any]) -> None:
    result = schedule_charging(**inst, objective="valley")
    assert result.status == "optimal"
    assert_feasible(inst, result)
    assert_kkt(inst, result)
    assert result.sum_of_squares == pytest.approx(valley_qp(inst), rel=REL)


@settings(max_examples=40, deadline=None)
@given(sessions(), st.floats(0.0, 1.0))
def test_capacity_is_respected_or_the_short_cars_are_named(inst: dict[str, Any], squeeze: float) -> None:
    base = inst["base_load_kw"]
    unlimited = schedule_charging(**inst)
    capacity = base.max() + squeeze * (unlimited.peak_kw - base.max())
    full = schedule_charging(**inst, capacity_kw=capacity)
    partial = schedule_charging(**inst, capacity_kw=capacity, allow_partial=True)
    lp = schedule_charging(**inst, capacity_kw=capacity, method="glop")
    assert (full.status == "optimal") == (lp.status == "optimal")
    assert partial.total_kw.max() <= capacity + FEAS
    assert np.all(partial.served_kwh <= inst["energy_kwh"] + FEAS)
    assert_feasible(inst, partial, partial.served_kwh)
    if full.status == "optimal":
        assert full.peak_kw == pytest.approx(unlimited.peak_kw, rel=REL)
    else:
        assert full.unserved_ev.size > 0 and not full.power_kw.any()
        np.testing.assert_array_equal(
            partial.unserved_ev, np.flatnonzero(partial.served_kwh < inst["energy_kwh"] - FEAS)
        )
        assert partial.status == "partial"


def test_partial_service_is_the_most_the_capacity_lets_through() -> None:
    # Two cars want 10 kWh each in one hour (4 slots) at up to 10 kW; 12 kW are left for both.
    inst = {
        "arrival": [0, 0],
        "departure": [4, 4],
        "energy_kwh": [10.0, 10.0],
        "max_kw": [10.0, 10.0],
        "base_load_kw": np.full(4, 100.0),
    }
    full = schedule_charging(**inst, capacity_kw=112.0)
    assert full.status == "infeasible"
    np.testing.assert_array_equal(full.unserved_ev, [0, 1])
    partial = schedule_charging(**inst, capacity_kw=112.0, allow_partial=True)
    assert partial.served_kwh.sum() == pytest.approx(12.0, rel=1e-9)
    np.testing.assert_allclose(partial.total_kw, 112.0, rtol=1e-12)


def test_a_car_asking_more_than_its_window_allows_is_named() -> None:
    result = schedule_charging([0, 1], [2, 3], [1.0, 9.0], [11.0, 11.0], np.zeros(3))
    assert result.status == "infeasible"
    np.testing.assert_array_equal(result.unserved_ev, [1])
    partial = schedule_charging([0, 1], [2, 3], [1.0, 9.0], [11.0, 11.0], np.zeros(3), allow_partial=True)
    np.testing.assert_allclose(partial.served_kwh, [1.0, 5.5])


def test_valley_filling_fills_the_valley_flat() -> None:
    # One car, 4 kWh over 4 slots of a load 10, 0, 0, 10: it fills the valley to a flat 8 kW.
    result = schedule_charging([0], [4], [4.0], [50.0], [10.0, 0.0, 0.0, 10.0], objective="valley")
    np.testing.assert_allclose(result.total_kw, [10.0, 8.0, 8.0, 10.0])
    assert result.load_factor == pytest.approx(9.0 / 10.0)


def test_cost_is_flattest_within_a_price_class() -> None:
    # Cheap slots 1-2 (but 1 has base 5): 6 kWh (24 kW-slots) go to the cheap slots, level 14.5.
    result = schedule_charging(
        [0], [4], [6.0], [50.0], [0.0, 5.0, 0.0, 0.0], objective="cost", price=[0.3, 0.1, 0.1, 0.3]
    )
    np.testing.assert_allclose(result.power_kw[0], [0.0, 9.5, 14.5, 0.0])
    assert result.ev_cost == pytest.approx(0.6)


def test_planner_with_everything_known_reproduces_the_day_plan() -> None:
    inst = random_sessions(np.random.default_rng(5), 80, 96)
    offline = schedule_charging(**inst, objective="valley")
    planner = ChargingPlanner(inst["base_load_kw"], objective="valley")
    planner.add(inst["departure"], inst["energy_kwh"], inst["max_kw"], arrival=inst["arrival"])
    for _ in range(96):
        planner.step()
    np.testing.assert_allclose(planner.power_kw.sum(axis=0), offline.ev_kw, rtol=0, atol=1e-7)
    np.testing.assert_allclose(planner.delivered_kwh, inst["energy_kwh"], rtol=0, atol=1e-7)


def test_planner_serves_cars_arriving_online() -> None:
    inst = random_sessions(np.random.default_rng(6), 80, 96)
    offline = schedule_charging(**inst, objective="valley")
    planner = ChargingPlanner(inst["base_load_kw"], objective="valley")
    ids = np.zeros(80, dtype=int)
    for slot in range(96):
        now = np.flatnonzero(inst["arrival"] == slot)
        if now.size:
            ids[now] = planner.add(inst["departure"][now], inst["energy_kwh"][now], inst["max_kw"][now])
        planner.step()
    np.testing.assert_allclose(planner.delivered_kwh[ids], inst["energy_kwh"], rtol=0, atol=1e-7)
    total = inst["base_load_kw"] + planner.power_kw.sum(axis=0)
    assert total.max() >= offline.peak_kw - 1e-7  # no foresight: never better than the day plan
    with pytest.raises(ValueError, match="horizon is over"):
        planner.step()


def test_planner_takes_a_new_forecast_and_rejects_past_arrivals() -> None:
    # 2 kWh (8 kW-slots) over a flat load: 1 kW per slot, until the forecast makes slot 1 the
    # valley: the 1.75 kWh left (7 kW-slots) all go there.
    planner = ChargingPlanner(np.full(8, 10.0))
    planner.add([8], [2.0], [11.0])
    assert planner.step()[0] == pytest.approx(1.0)
    assert planner.step(base_load_kw=[0.0, 50, 50, 50, 50, 50, 50])[0] == pytest.approx(7.0)
    assert planner.delivered_kwh[0] == pytest.approx(2.0)
    with pytest.raises(ValueError, match="arrival must be >= the current slot 2"):
        planner.add([5], [1.0], [7.0], arrival=[1])


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        ({"energy_kwh": [np.nan, 1.0]}, ValueError, r"energy_kwh\[0\]=nan is not finite"),
        ({"max_kw": [7.0, -1.0]}, ValueError, r"max_kw\[1\]=-1.0 must be >= 0"),
        ({"departure": [4, 9]}, ValueError, r"departure\[1\]=9 is past the horizon of 4 slots"),
        ({"departure": [4, 1]}, ValueError, "EV 1: departure slot 1 is not after arrival slot 1"),
        ({"arrival": [0.0, 1.0]}, TypeError, "arrival must be an integer array"),
        ({"energy_kwh": [1.0]}, ValueError, r"energy_kwh must have shape \(2,\)"),
        ({"base_load_kw": []}, ValueError, "base_load_kw has no time slots"),
        ({"base_load_kw": [[1.0]]}, ValueError, "base_load_kw must have shape"),
        ({"objective": "flat"}, ValueError, "objective must be one of"),
        ({"objective": "cost"}, ValueError, 'objective "cost" needs a price per slot'),
        ({"price": [1.0, 2.0]}, ValueError, r"price must be a scalar or have shape \(4,\)"),
        ({"capacity_kw": np.nan}, ValueError, "capacity_kw=nan is not finite"),
        ({"slot_h": 0}, ValueError, "slot_h must be a finite number > 0"),
        ({"method": "simplex"}, ValueError, "method must be one of"),
        ({"method": "glop", "objective": "valley"}, ValueError, 'method "glop" solves "min_peak" and "cost"'),
    ],
)
def test_bad_input_names_the_field(change: dict[str, Any], error: type[Exception], match: str) -> None:
    args = {"arrival": [0, 1], "departure": [4, 3], "energy_kwh": [2.0, 1.0], "max_kw": [7.0, 11.0]}
    args |= {"base_load_kw": np.zeros(4)} | change
    with pytest.raises(error, match=match):
        schedule_charging(**args)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.integers(-3, 8), min_size=0, max_size=6),
    st.lists(st.integers(-3, 8), min_size=0, max_size=6),
    st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=0, max_size=6),
    st.lists(st.floats(-1, 30), min_size=0, max_size=6),
    st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=0, max_size=6),
)
def test_core_rejects_inconsistent_input_without_crashing(
    arrival: list[int], departure: list[int], energy: list[float], power: list[float], base: list[float]
) -> None:
    args = (np.array(arrival, np.int32), np.array(departure, np.int32), energy, power, base)
    for call in (
        lambda: _charging.valley_fill(*args, np.zeros(0, np.int32), np.zeros(0)),
        lambda: _charging.max_served(*args, np.full(len(base), 5.0)),
    ):
        try:
            out = call()
        except ValueError:
            continue
        assert np.isfinite(out.power).all() and (out.power >= -FEAS).all()


def test_result_frame_repr_and_plot() -> None:
    inst = random_sessions(np.random.default_rng(1), 20, 24)
    result = schedule_charging(**inst, objective="valley")
    frame = result.to_frame()
    assert list(frame.columns) == ["time_h", "base_kw", "ev_kw", "total_kw"] and len(frame) == 24
    np.testing.assert_allclose(frame.time_h, np.arange(24) * result.slot_h)
    np.testing.assert_allclose(frame.total_kw, result.total_kw)
    assert "20 EVs x 24 slots, valley by exact: optimal" in repr(result)
    assert result.plot().get_ylabel() == "load (kW)"
    with pytest.raises(ValueError, match="read-only"):
        result.power_kw[0, 0] = 1.0
