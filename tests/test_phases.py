"""Phase balancing: scores checked by hand and by brute force on small feeders, the methods' order
(greedy <= local search <= hybrid), determinism for a seed, and bad input.

Tolerances: imbalances 1e-9 kW (the same arithmetic), 1e-6 relative against brute force.
"""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smartopt._core import _phases
from smartopt.app.district import District
from smartopt.energy import balance_phases, phase_imbalance_kw


def day_profiles(rng: np.random.Generator, n: int, t: int) -> np.ndarray:
    """Households (an evening peak with noise) and a few single-phase chargers (7.4 kW blocks)."""
    hours = np.arange(t) * 24 / t
    base = 0.4 + 0.8 * np.exp(-((hours - 19) ** 2) / 6) + 0.3 * np.exp(-((hours - 8) ** 2) / 3)
    out = rng.uniform(0.5, 2.0, (n, 1)) * base * rng.lognormal(0, 0.3, (n, t))
    chargers = rng.random(n) < 0.15
    for i in np.flatnonzero(chargers):
        start = rng.integers(0, t)
        out[i, start : start + max(1, t // 6)] += 7.4
    return out


def brute_force(profile: np.ndarray) -> float:
    best = np.inf
    for assignment in itertools.product(range(3), repeat=profile.shape[0] - 1):
        phase = np.array((0, *assignment))
        best = min(best, float(phase_imbalance_kw(profile, phase)[0]))
    return best


def brute_force_neutral(profile: np.ndarray) -> float:
    best = np.inf
    for assignment in itertools.product(range(3), repeat=profile.shape[0] - 1):
        result = balance_phases(profile, method="greedy", slot_h=1.0)  # any result, to reuse its measure
        phase = np.array((0, *assignment), np.int8)
        best = min(best, float(dataclasses.replace(result, phase=phase).neutral_kw[0]))
    return best


def test_neutral_measure_by_hand() -> None:
    """|P_a + a P_b + a^2 P_c| of phase loads: 3 kW on one phase gives 3, equal loads 0, (2, 1, 1) 1,
    (2, 2, 0) 2; the C++ score agrees."""
    profile = np.array([[3.0, 1.0, 2.0, 2.0], [0.0, 1.0, 1.0, 2.0], [0.0, 1.0, 1.0, 0.0]])
    result = balance_phases(profile, method="greedy", slot_h=1.0)
    measured = dataclasses.replace(result, phase=np.array([0, 1, 2], np.int8)).neutral_kw
    np.testing.assert_allclose(measured, [3.0], rtol=0, atol=1e-12)  # worst of 3, 0, 1, 2
    assert _phases.evaluate(profile, np.array([0, 1, 2], np.int8), True).worst_kw == pytest.approx(3.0)
    assert _phases.evaluate(profile, np.array([0, 1, 2], np.int8), True).sum_sq == pytest.approx(9 + 0 + 1 + 4)


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(2, 7), st.integers(1, 6))
def test_neutral_objective_reaches_the_brute_force_optimum_on_small_feeders(seed: int, n: int, t: int) -> None:
    profile = day_profiles(np.random.default_rng(seed), n, t)
    best = brute_force_neutral(profile)
    for method in ("local", "hybrid"):
        got = balance_phases(profile, method=method, objective="neutral", max_iterations=20_000, slot_h=1.0)
        assert got.neutral_kw[0] == pytest.approx(best, rel=1e-9, abs=1e-9)
        assert got.objective == "neutral"
    spread = balance_phases(profile, method="hybrid", max_iterations=20_000, slot_h=1.0)
    assert got.neutral_kw[0] <= spread.neutral_kw[0] + 1e-9


def test_imbalance_by_hand() -> None:
    profile = np.array([[1.0, 2.0], [3.0, 0.0], [1.0, 1.0]])
    # A: 1,2  B: 3,0  C: 1,1 -> spreads 2 and 2
    assert phase_imbalance_kw(profile, [0, 1, 2])[0] == pytest.approx(2.0)
    # A: 2,3  B: 3,0  C: 0,0 -> spreads 3 and 3
    assert phase_imbalance_kw(profile, [0, 1, 0])[0] == pytest.approx(3.0)
    out = _phases.evaluate(profile, np.array([0, 1, 2], np.int8))
    assert out.worst_kw == pytest.approx(2.0) and out.sum_sq == pytest.approx(8.0)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(2, 7), st.integers(1, 6))
def test_hybrid_and_cpsat_reach_the_brute_force_optimum_on_small_feeders(seed: int, n: int, t: int) -> None:
    profile = day_profiles(np.random.default_rng(seed), n, t)
    best = brute_force(profile)
    for method in ("hybrid", "cpsat"):
        got = balance_phases(profile, method=method, time_limit_s=0.5, slot_h=1.0).imbalance_kw[0]
        # CP-SAT optimises integer-scaled loads (1e-4 of the largest): allow that rounding.
        assert got <= best + 1e-3 * profile.max() + 1e-9
        assert got >= best - 1e-9


def test_methods_improve_in_order_and_beat_a_round_robin_assignment() -> None:
    profile = day_profiles(np.random.default_rng(3), 120, 24)
    round_robin = phase_imbalance_kw(profile, np.arange(120) % 3)[0]
    greedy = balance_phases(profile, method="greedy", slot_h=1.0).imbalance_kw[0]
    local = balance_phases(profile, method="local", time_limit_s=1.0, slot_h=1.0).imbalance_kw[0]
    hybrid = balance_phases(profile, method="hybrid", time_limit_s=2.0, slot_h=1.0).imbalance_kw[0]
    assert hybrid <= local + 1e-9 <= greedy + 2e-9
    assert local < round_robin


def test_feeders_are_balanced_separately() -> None:
    rng = np.random.default_rng(4)
    profile = day_profiles(rng, 60, 12)
    feeder = np.repeat([0, 1, 2], 20)
    result = balance_phases(profile, feeder=feeder, method="local", time_limit_s=0.6, slot_h=1.0)
    assert result.phase_kw.shape == (3, 3, 12)
    for f in range(3):
        alone = balance_phases(profile[feeder == f], method="greedy", slot_h=1.0).imbalance_kw[0]
        assert result.imbalance_kw[f] <= alone + 1e-9
    np.testing.assert_allclose(result.phase_kw.sum(axis=(0, 1)), profile.sum(axis=0))


def test_local_search_is_deterministic_for_a_seed_when_the_kick_budget_binds() -> None:
    profile = day_profiles(np.random.default_rng(5), 80, 24)
    start = _phases.greedy(profile).phase
    a = _phases.improve(profile, start, 7, 30, 60.0)
    b = _phases.improve(profile, start, 7, 30, 60.0)
    np.testing.assert_array_equal(a.phase, b.phase)
    assert a.worst_kw <= _phases.greedy(profile).worst_kw


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"profile_kw": [[np.nan, 1.0]]}, ValueError, r"profile_kw\[0, 0\]=nan is not finite"),
        ({"profile_kw": [1.0, 2.0]}, ValueError, r"profile_kw must have shape \(\*, \*\)"),
        ({"profile_kw": np.zeros((2, 0))}, ValueError, "profile_kw has no time slots"),
        ({"feeder": [0, -1]}, ValueError, r"feeder\[1\]=-1 must be >= 0"),
        ({"feeder": [0.0, 1.0]}, TypeError, "feeder must be an integer array"),
        ({"method": "anneal"}, ValueError, "method must be one of"),
        ({"objective": "peak"}, ValueError, "objective must be one of"),
        ({"objective": "neutral", "method": "cpsat"}, ValueError, 'method "cpsat" minimises the spread only'),
        ({"time_limit_s": 0}, ValueError, "time_limit_s must be a finite number > 0"),
        ({"seed": -1}, ValueError, "seed must be a non-negative int"),
    ],
)
def test_bad_input_names_the_field(kwargs: dict[str, object], error: type[Exception], match: str) -> None:
    args: dict[str, object] = {"profile_kw": np.ones((2, 3))} | kwargs
    with pytest.raises(error, match=match):
        balance_phases(**args, slot_h=1.0)  # type: ignore[arg-type]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=2, max_size=2), max_size=4),
    st.lists(st.integers(-2, 4), max_size=4),
)
def test_core_rejects_bad_values_without_crashing(profile: list[list[float]], phase: list[int]) -> None:
    arr = np.array(profile, dtype=float).reshape(len(profile), 2)
    for call in (
        lambda: _phases.evaluate(arr, np.array(phase, np.int8)),
        lambda: _phases.greedy(arr),
        lambda: _phases.improve(arr, np.array(phase, np.int8), 1, 3, 0.1),
    ):
        try:
            out = call()
        except ValueError:
            continue
        assert set(np.unique(out.phase)) <= {0, 1, 2}


def test_frame_repr_and_plot() -> None:
    profile = day_profiles(np.random.default_rng(6), 30, 24)
    result = balance_phases(profile, method="greedy", slot_h=1.0)
    frame = result.to_frame()
    assert list(frame.columns) == ["loads", "imbalance_kw", "a_kwh", "b_kwh", "c_kwh"]
    # Hourly slots: each phase's kWh is its kW summed over the hours, and the three add up to the loads'.
    np.testing.assert_allclose(frame[["a_kwh", "b_kwh", "c_kwh"]].to_numpy()[0], result.phase_kw[0].sum(axis=1))
    assert frame[["a_kwh", "b_kwh", "c_kwh"]].to_numpy().sum() == pytest.approx(profile.sum(), rel=1e-12)
    quarter = balance_phases(profile, method="greedy", slot_h=0.25).to_frame()
    np.testing.assert_allclose(quarter["a_kwh"], frame["a_kwh"] / 4, rtol=1e-12)
    with pytest.raises(TypeError, match="slot_h"):
        balance_phases(profile, method="greedy")  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="slot_h"):
        balance_phases(profile, method="greedy", slot_h=0.0)
    assert set(result.phase_name) <= {"A", "B", "C"}
    assert "30 loads on 1 feeders, greedy" in repr(result)
    assert result.plot().get_ylabel() == "load (kW)"


def test_district_single_phase_loads_add_up_to_the_feeders(district: District) -> None:
    day = district.energy
    profile, feeder = day.single_phase_loads()
    charging = day.uncontrolled_charging_kw()
    slow = day.charger_kind == "slow"
    np.testing.assert_allclose(profile.sum(axis=0), day.load_kw.sum(axis=1) + charging[:, slow].sum(axis=1))
    assert feeder.max() == day.grid.num_loads - 1
    result = balance_phases(profile, feeder=feeder, method="local", time_limit_s=2.0, slot_h=1.0)
    in_turn = np.concatenate([np.arange(c) % 3 for c in np.bincount(feeder)])
    assert result.imbalance_kw.max() < phase_imbalance_kw(profile, in_turn, feeder).max()
