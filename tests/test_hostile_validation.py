"""Issue 18: the one validation layer. Integers are checked against the range of the type they are
stored in (never wrapped), integral values are required where integers are meant (float arrays are
rejected, even whole ones), booleans only as booleans, huge magnitudes rejected where asked."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartopt._validation import (
    INT32_MAX,
    INT64_MAX,
    bool_flag,
    count_array,
    float_array,
    index_array,
    index_int,
    integer,
    positive_float,
    positive_int,
    seed_int,
    slot_windows,
)

HOSTILE_INTS = [2**31 - 1, 2**31, 2**32, 2**32 + 2, 2**63 - 1, 2**63, 2**64, -(2**31) - 1, -(2**63), -(2**63) - 1]


@pytest.mark.parametrize("value", [2**31, 2**32, 2**32 + 2, 2**63 - 1, 2**63, 2**64 + 5])
def test_counts_past_int32_are_rejected_naming_the_field_and_value(value: int) -> None:
    with pytest.raises(ValueError, match=rf"lanes\[1\]={value} is out of range"):
        count_array("lanes", [2, value])
    with pytest.raises(ValueError, match=rf"node\[0\]={value} is (out of range|not an index)"):
        index_array("node", [value], 2**40)


def test_the_issue_reproducer_no_longer_wraps() -> None:
    # [2**32 + 2, 2**31] used to come back as [2, -2147483648].
    with pytest.raises(ValueError, match=r"lanes\[0\]=4294967298 is out of range \(at most 2147483647\)"):
        count_array("lanes", [2**32 + 2, 2**31])
    assert count_array("lanes", [INT32_MAX, 0]).tolist() == [INT32_MAX, 0]
    with pytest.raises(ValueError, match=r"arrival\[0\]=4294967296 is out of range"):
        slot_windows([2**32], [3], 96)


def test_int64_and_uint64_arrays_are_range_checked_not_cast() -> None:
    assert count_array("n", np.array([5], np.uint64)).tolist() == [5]
    with pytest.raises(ValueError, match="out of range"):
        count_array("n", np.array([2**40], np.int64))
    with pytest.raises(ValueError, match="out of range"):
        count_array("n", np.array([2**63], np.uint64))
    with pytest.raises(ValueError, match="must be >= 0"):
        count_array("n", np.array([-(2**40)], np.int64))


def test_integral_values_are_required_where_counts_are_meant() -> None:
    # The policy: integer arrays only. A float array is rejected even when its values are whole,
    # so 2.5 can never be truncated to 2 on the way in.
    for bad in ([2.5], [2.0], np.array([1.0, 2.0])):
        with pytest.raises(TypeError, match="count must be an integer array"):
            count_array("count", bad)
        with pytest.raises(TypeError, match="idx must be an integer array"):
            index_array("idx", bad, 5)
    with pytest.raises(TypeError, match="must be an integer array"):
        count_array("flag", [True, False])


@pytest.mark.parametrize("value", ["no", "yes", "", 0, 1, 1.0, None, np.int64(1), [True]])
def test_bool_flags_take_booleans_only(value: Any) -> None:
    with pytest.raises(TypeError, match="allow_partial must be True or False"):
        bool_flag("allow_partial", value)


def test_bool_flags_accept_booleans() -> None:
    assert bool_flag("x", True) is True
    assert bool_flag("x", np.bool_(False)) is False


def test_scalar_integers() -> None:
    assert positive_int("n", 3) == 3
    assert positive_int("n", np.int64(7)) == 7
    assert positive_int("n", INT64_MAX) == INT64_MAX
    with pytest.raises(ValueError, match=r"n must be <= 2147483647, got 2147483648"):
        positive_int("n", 2**31, maximum=INT32_MAX)
    with pytest.raises(ValueError, match="n must be <= 9223372036854775807"):
        positive_int("n", 2**63)
    for bad in (1.0, "3", True, None):
        with pytest.raises(TypeError, match="n must be an int"):
            positive_int("n", bad)
    with pytest.raises(ValueError, match="n must be >= 1, got 0"):
        positive_int("n", 0)
    assert integer("k", -5) == -5
    assert index_int("snapshot", 3, 4) == 3
    with pytest.raises(ValueError, match=r"snapshot=4 is not an index in \[0, 4\)"):
        index_int("snapshot", 4, 4)
    with pytest.raises(TypeError, match=r"snapshot must be an int, got float 0\.5"):
        index_int("snapshot", 0.5, 4)


def test_seeds() -> None:
    assert seed_int("seed", 0) == 0
    assert seed_int("seed", INT64_MAX) == INT64_MAX
    with pytest.raises(ValueError, match="seed must be a non-negative int"):
        seed_int("seed", -1)
    with pytest.raises(ValueError, match="seed must be a non-negative int"):
        seed_int("seed", 2**63)
    with pytest.raises(TypeError, match="seed must be a non-negative int"):
        seed_int("seed", 1.0)
    with pytest.raises(TypeError, match="seed must be a non-negative int"):
        seed_int("seed", True)


def test_floats_out_of_range() -> None:
    with pytest.raises(ValueError, match=r"max_kw\[0\]=1e\+300 is out of range"):
        float_array("max_kw", [1e300], max_abs=1e12)
    assert float_array("x", [1e300]).tolist() == [1e300]  # no bound unless asked
    with pytest.raises(ValueError, match=r"x\[1\]=inf is not finite"):
        float_array("x", [1.0, np.inf])
    with pytest.raises(ValueError, match=r"x\[0\]=nan is not finite"):
        float_array("x", [np.nan], allow_inf=True)
    with pytest.raises(ValueError, match="slot_h must be a finite number > 0"):
        positive_float("slot_h", 10**400)
    with pytest.raises(ValueError, match="slot_h must be <= 24"):
        positive_float("slot_h", 25.0, maximum=24)
    with pytest.raises(TypeError, match="slot_h must be a number"):
        positive_float("slot_h", np.bool_(True))


@given(st.lists(st.sampled_from(HOSTILE_INTS) | st.integers(-(2**70), 2**70), min_size=1, max_size=6))
def test_count_array_never_wraps(values: list[int]) -> None:
    try:
        out = count_array("v", values)
    except (TypeError, ValueError) as exc:
        assert str(exc).startswith("v")  # names the field
        fits = all(0 <= v <= INT32_MAX for v in values)
        # Mixed huge positive and negative ints make numpy choose float64 or object: a TypeError.
        assert not fits or isinstance(exc, TypeError)
    else:
        assert out.dtype == np.int32
        assert out.tolist() == values  # exactly what was given


@given(
    st.lists(st.sampled_from(HOSTILE_INTS) | st.integers(-10, 10**12), min_size=1, max_size=6),
    st.integers(1, 2**40),
)
def test_index_array_never_wraps(values: list[int], n: int) -> None:
    try:
        out = index_array("v", values, n)
    except (TypeError, ValueError) as exc:
        assert str(exc).startswith("v")
    else:
        assert out.tolist() == values
        assert all(0 <= v < n for v in values)


@given(st.lists(st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([1e300, -1e300]), max_size=6))
def test_float_array_rejects_non_finite_and_huge(values: list[float]) -> None:
    try:
        out = float_array("f", values, max_abs=1e12)
    except ValueError as exc:
        assert str(exc).startswith("f[")
        assert not all(np.isfinite(v) and abs(v) <= 1e12 for v in values)
    else:
        assert np.all(np.abs(out) <= 1e12)
