"""Linear sum assignment: the C++ LAPJV against scipy.optimize.linear_sum_assignment (the reference),
with scipy's return convention; square, rectangular, forbidden pairs, ties, maximising, bad input.

Tolerance: optimal costs agree to 1e-9 relative (plus 1e-9 absolute); assignments may differ on ties.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import scipy.optimize
from hypothesis import given, settings
from hypothesis import strategies as st

from smartopt.dispatch import linear_sum_assignment

TOL = 1e-9


def check_against_scipy(cost: np.ndarray, maximize: bool = False) -> None:
    want_rows, want_cols = scipy.optimize.linear_sum_assignment(cost, maximize=maximize)
    rows, cols = linear_sum_assignment(cost, maximize=maximize)
    assert rows.dtype == want_rows.dtype and cols.dtype == want_cols.dtype
    assert rows.shape == want_rows.shape and cols.shape == want_cols.shape
    np.testing.assert_array_equal(rows, np.sort(rows))
    assert len(set(rows.tolist())) == rows.size and len(set(cols.tolist())) == cols.size
    got, want = cost[rows, cols].sum(), cost[want_rows, want_cols].sum()
    assert abs(got - want) <= TOL * (1 + abs(want))


@pytest.mark.parametrize("shape", [(1, 1), (1, 5), (5, 1), (2, 2), (7, 7), (40, 40), (30, 90), (90, 30), (300, 300)])
@pytest.mark.parametrize("kind", ["uniform", "ties", "distances"])
def test_optimum_equals_scipy(shape: tuple[int, int], kind: str) -> None:
    rng = np.random.default_rng(shape[0] * 1000 + shape[1])
    if kind == "uniform":
        cost = rng.random(shape)
    elif kind == "ties":
        cost = rng.integers(0, 3, shape).astype(float)
    else:
        a, b = rng.random((shape[0], 2)), rng.random((shape[1], 2))
        cost = np.hypot(*(a[:, None, :] - b[None, :, :]).transpose(2, 0, 1))
    check_against_scipy(cost)
    check_against_scipy(cost, maximize=True)


def test_known_optimum() -> None:
    cost = np.array([[4, 1, 3], [2, 0, 5], [3, 2, 2]])
    rows, cols = linear_sum_assignment(cost)
    np.testing.assert_array_equal(rows, [0, 1, 2])
    np.testing.assert_array_equal(cols, [1, 0, 2])
    assert cost[rows, cols].sum() == 5


def test_tall_matrix_returns_rows_in_order() -> None:
    cost = np.array([[5.0, 9.0], [1.0, 8.0], [7.0, 2.0]])
    rows, cols = linear_sum_assignment(cost)
    np.testing.assert_array_equal(rows, [1, 2])
    np.testing.assert_array_equal(cols, [0, 1])


def test_forbidden_pairs_are_avoided() -> None:
    rng = np.random.default_rng(3)
    for _ in range(20):
        cost = rng.random((25, 40)) * 100
        cost[rng.random(cost.shape) < 0.6] = np.inf
        cost[np.arange(25), rng.permutation(40)[:25]] = rng.random(25)  # keeps it feasible
        check_against_scipy(cost)
        check_against_scipy(np.where(np.isinf(cost), -np.inf, -cost), maximize=True)


@pytest.mark.parametrize(
    "cost",
    [
        np.array([[np.inf, 1.0], [np.inf, 2.0]]),
        np.array([[np.inf, np.inf, np.inf]]),
        np.full((3, 3), np.inf),
    ],
)
def test_infeasible(cost: np.ndarray) -> None:
    with pytest.raises(ValueError, match="infeasible"):
        scipy.optimize.linear_sum_assignment(cost)
    with pytest.raises(ValueError, match="infeasible"):
        linear_sum_assignment(cost)


@pytest.mark.parametrize("shape", [(0, 0), (0, 4), (4, 0)])
def test_empty(shape: tuple[int, int]) -> None:
    rows, cols = linear_sum_assignment(np.zeros(shape))
    want_rows, want_cols = scipy.optimize.linear_sum_assignment(np.zeros(shape))
    assert rows.shape == cols.shape == want_rows.shape == (0,)
    assert rows.dtype == want_rows.dtype and cols.dtype == want_cols.dtype


def test_integer_bool_and_list_input() -> None:
    check_against_scipy(np.array([[3, 1], [1, 3]], dtype=np.int32))
    np.testing.assert_array_equal(linear_sum_assignment([[True, False], [False, True]])[1], [1, 0])
    np.testing.assert_array_equal(linear_sum_assignment([[10, 20], [30, 5]])[1], [0, 1])


def test_large_spread_of_values() -> None:
    cost = np.array([[1e12, 1.0, np.inf], [2.0, 1e-12, 3.0], [np.inf, 4.0, 1e9]])
    check_against_scipy(cost)


@pytest.mark.parametrize(
    ("value", "match"),
    [
        (np.zeros(3), "2-D"),
        (np.zeros((2, 2, 2)), "2-D"),
        (np.array([[1.0, np.nan], [0.0, 1.0]]), "invalid numeric entries"),
        (np.array([[1.0, -np.inf], [0.0, 1.0]]), "invalid numeric entries"),
        (np.array([["a", "b"], ["c", "d"]]), "real numbers"),
        (np.array([[1 + 1j, 0], [0, 1]]), "real numbers"),
    ],
)
def test_bad_input(value: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        linear_sum_assignment(value)


def test_maximize_forbids_minus_inf() -> None:
    cost = np.array([[-np.inf, 1.0], [2.0, 5.0]])
    np.testing.assert_array_equal(linear_sum_assignment(cost, maximize=True)[1], [1, 0])
    with pytest.raises(ValueError, match="invalid numeric entries"):
        linear_sum_assignment(-cost, maximize=True)


@st.composite
def matrices(draw: st.DrawFn) -> np.ndarray:
    rows, cols = draw(st.integers(0, 9)), draw(st.integers(0, 9))
    values = st.one_of(st.integers(-5, 5).map(float), st.floats(-1e6, 1e6), st.just(np.inf))
    return np.array(draw(st.lists(values, min_size=rows * cols, max_size=rows * cols)), dtype=float).reshape(rows, cols)


@settings(max_examples=300, deadline=None)
@given(matrices())
def test_random_matrices_agree_with_scipy(cost: np.ndarray) -> None:
    try:
        want_rows, want_cols = scipy.optimize.linear_sum_assignment(cost)
    except ValueError:
        with pytest.raises(ValueError, match="infeasible"):
            linear_sum_assignment(cost)
        return
    rows, cols = linear_sum_assignment(cost)
    got, want = cost[rows, cols].sum(), cost[want_rows, want_cols].sum()
    assert abs(got - want) <= TOL * (1 + abs(want))
