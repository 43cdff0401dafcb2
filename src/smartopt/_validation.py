"""Input checks shared by every public entry point.

Each helper converts one user value to a contiguous numpy array and raises ``TypeError`` (wrong
dtype or kind) or ``ValueError`` (shape, NaN/inf, range, unknown index) with a message that names
the field and shows the offending index and value.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.floating[Any]]
"""Float arrays; validated values are C-contiguous float64."""
IntArray = npt.NDArray[np.integer[Any]]
"""Integer arrays; validated values are C-contiguous int32."""

FILLED: Any = None
"""Default of dataclass fields that ``__post_init__`` fills in when the caller leaves them out."""


INT32_MAX = 2**31 - 1
"""The largest value an int32 field (counts, indices, slots) can hold."""
INT64_MAX = 2**63 - 1
MAX_QUANTITY = 1e12
"""Largest magnitude accepted for a power (kW), energy (kWh) or price: a terawatt is beyond any
district, and bounding it keeps sums and squares far from overflow."""


def _as_array(name: str, value: Any, *, integer: bool = False) -> npt.NDArray[Any]:
    if value is None:
        raise TypeError(f"{name} is required, got None")
    arr = np.asarray(value)
    if integer and arr.dtype.kind in "fO" and not isinstance(value, np.ndarray) and arr.size:
        # Python ints numpy could not fit one integer dtype (e.g. [2, 2**63] becomes float64): check
        # them as the ints they are, so the error says out of range, not "float".
        items = np.asarray(value, dtype=object)
        if all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in items.reshape(-1)):
            _object_ints(name, items)
            arr = items.astype(np.int64)
    if arr.dtype == object:
        raise TypeError(f"{name} must be numeric, got an object array")
    if integer:
        if arr.size == 0 and arr.dtype == np.float64:  # an empty list
            arr = arr.astype(np.int64)
        if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.integer):
            raise TypeError(f"{name} must be an integer array, got dtype {arr.dtype}")
    return arr


def _object_ints(name: str, arr: npt.NDArray[Any]) -> None:
    """Python ints too large for numpy (past 2**64) arrive as an object array: name the first one
    out of range rather than calling the array non-numeric."""
    flat = arr.reshape(-1)
    for i, v in enumerate(flat):
        if isinstance(v, int | np.integer) and not isinstance(v, bool) and not -INT64_MAX - 1 <= v <= INT64_MAX:
            idx = np.unravel_index(i, arr.shape) if arr.ndim else ()
            raise ValueError(f"{name}{_index_text(tuple(int(j) for j in idx))}={v} is out of range")


def _fits_int32(name: str, arr: npt.NDArray[Any]) -> npt.NDArray[np.int32]:
    """``arr`` (an integer array) as C-contiguous int32, values past the int32 range rejected (never wrapped)."""
    if arr.size and arr.dtype.itemsize >= 4 and arr.dtype != np.int32:
        big = arr > INT32_MAX
        if np.issubdtype(arr.dtype, np.signedinteger):
            big |= arr < -INT32_MAX - 1
        if big.any():
            idx = _first_bad(big)
            raise ValueError(f"{name}{_index_text(idx)}={arr[idx]} is out of range (at most {INT32_MAX})")
    return np.array(arr, dtype=np.int32, order="C")


def _shaped(name: str, arr: npt.NDArray[Any], shape: tuple[int | None, ...] | None) -> npt.NDArray[Any]:
    """``arr`` checked against ``shape`` (None: any length); an empty list is an empty array of
    the shape's other lengths (``[]`` for no ``(*, 2)`` pairs, as JSON writes it)."""
    if shape is None:
        return arr
    if arr.size == 0 and arr.ndim == 1 and len(shape) > 1 and shape[0] is None and None not in shape[1:]:
        return arr.reshape(0, *(int(k) for k in shape[1:] if k is not None))
    ok = arr.ndim == len(shape) and all(want is None or got == want for got, want in zip(arr.shape, shape, strict=True))
    if not ok:
        want_txt = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"
        raise ValueError(f"{name} must have shape {want_txt}, got {arr.shape}")
    return arr


def _first_bad(mask: npt.NDArray[np.bool_]) -> tuple[int, ...]:
    return tuple(int(i) for i in np.argwhere(mask)[0])


def _index_text(idx: tuple[int, ...]) -> str:
    return "[" + ", ".join(str(i) for i in idx) + "]" if idx else ""


def float_array(
    name: str,
    value: Any,
    shape: tuple[int | None, ...] | None = None,
    *,
    positive: bool = False,
    nonnegative: bool = False,
    allow_inf: bool = False,
    max_abs: float | None = None,
) -> npt.NDArray[np.float64]:
    """``value`` as a C-contiguous float64 array; NaN (and inf unless allowed) rejected, and with
    ``max_abs`` finite values of a larger magnitude (physically absurd ones that would overflow the
    arithmetic downstream)."""
    arr = _as_array(name, value)
    if arr.dtype == np.bool_ or not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise TypeError(f"{name} must be a real-valued numeric array, got dtype {arr.dtype}")
    arr = _shaped(name, arr, shape)
    out = np.array(arr, dtype=np.float64, order="C")  # a copy: callers may freeze it
    bad = np.isnan(out) if allow_inf else ~np.isfinite(out)
    if bad.any():
        idx = _first_bad(bad)
        raise ValueError(f"{name}{_index_text(idx)}={out[idx]} is not finite")
    if positive and (out <= 0).any():
        idx = _first_bad(out <= 0)
        raise ValueError(f"{name}{_index_text(idx)}={out[idx]} must be > 0")
    if nonnegative and (out < 0).any():
        idx = _first_bad(out < 0)
        raise ValueError(f"{name}{_index_text(idx)}={out[idx]} must be >= 0")
    if max_abs is not None:
        huge = np.isfinite(out) & (np.abs(out) > max_abs)
        if huge.any():
            idx = _first_bad(huge)
            raise ValueError(f"{name}{_index_text(idx)}={out[idx]} is out of range (magnitude at most {max_abs:g})")
    return out


def index_array(name: str, value: Any, n: int, shape: tuple[int | None, ...] | None = (None,)) -> npt.NDArray[np.int32]:
    """``value`` as a C-contiguous int32 array of indices in ``[0, n)``."""
    arr = _as_array(name, value, integer=True)
    arr = _shaped(name, arr, shape)
    bad = (arr < 0) | (arr >= n)
    if bad.any():
        idx = _first_bad(bad)
        raise ValueError(f"{name}{_index_text(idx)}={arr[idx]} is not an index in [0, {n})")
    return _fits_int32(name, arr)


def count_array(
    name: str, value: Any, shape: tuple[int | None, ...] | None = (None,), *, minimum: int = 0
) -> npt.NDArray[np.int32]:
    """``value`` as a C-contiguous int32 array of whole counts ``>= minimum``."""
    arr = _as_array(name, value, integer=True)
    arr = _shaped(name, arr, shape)
    if (arr < minimum).any():
        idx = _first_bad(arr < minimum)
        raise ValueError(f"{name}{_index_text(idx)}={arr[idx]} must be >= {minimum}")
    return _fits_int32(name, arr)


def slot_windows(
    arrival: Any,
    departure: Any,
    num_slots: int,
    names: tuple[str, str] = ("arrival", "departure"),
    n: int | None = None,
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32]]:
    """Arrival and departure slots of stays in a horizon of ``num_slots`` (a stay covers slots
    ``arrival <= t < departure``): whole counts, the same length (``n`` if given), departures after
    arrivals and within the horizon."""
    arr = count_array(names[0], arrival, (n,))
    dep = count_array(names[1], departure, arr.shape)
    late = dep > num_slots
    if late.any():
        i = int(np.flatnonzero(late)[0])
        raise ValueError(f"{names[1]}[{i}]={dep[i]} is past the horizon of {num_slots} slots")
    empty = dep <= arr
    if empty.any():
        i = int(np.flatnonzero(empty)[0])
        raise ValueError(f"EV {i}: departure slot {dep[i]} is not after arrival slot {arr[i]}")
    return arr, dep


def integer(name: str, value: Any, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """A plain Python int in ``[minimum, maximum]`` (either bound optional). Bools, floats (even
    whole ones) and strings are rejected with ``TypeError``; values out of range with ``ValueError``."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    out = int(value)
    if minimum is not None and out < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {out}")
    if maximum is not None and out > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {out}")
    return out


def positive_int(name: str, value: Any, *, maximum: int = INT64_MAX) -> int:
    """A plain Python int in ``[1, maximum]`` (bools and floats rejected); ``maximum`` defaults to
    the int64 range; pass :data:`INT32_MAX` where the value is stored in an int32."""
    return integer(name, value, minimum=1, maximum=maximum)


def seed_int(name: str, value: Any) -> int:
    """A random seed: a plain Python int in ``[0, 2**63 - 1]`` (what every solver takes)."""
    message = f"{name} must be a non-negative int of at most {INT64_MAX}, got {value!r}"
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer):
        raise TypeError(message)
    if not 0 <= value <= INT64_MAX:
        raise ValueError(message)
    return int(value)


def index_int(name: str, value: Any, n: int) -> int:
    """A plain Python int index in ``[0, n)``."""
    out = integer(name, value)
    if not 0 <= out < n:
        raise ValueError(f"{name}={out} is not an index in [0, {n})")
    return out


def bool_flag(name: str, value: Any) -> bool:
    """A flag: ``True`` or ``False`` (or a numpy bool) only; truthy strings and numbers are rejected,
    so ``"no"`` cannot pass for true."""
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__} {value!r}")
    return bool(value)


def positive_float(name: str, value: Any, *, maximum: float | None = None) -> float:
    """A finite Python float ``> 0`` (and ``<= maximum`` if given; bools rejected)."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | float | np.integer | np.floating):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    try:
        out = float(value)
    except OverflowError:  # an int past 1e308
        raise ValueError(f"{name} must be a finite number > 0, got {value}") from None
    if not (math.isfinite(out) and out > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {out}")
    if maximum is not None and out > maximum:
        raise ValueError(f"{name} must be <= {maximum:g}, got {out:g}")
    return out


def frozen(*arrays: npt.NDArray[Any]) -> None:
    """Marks arrays read-only so validated data cannot change behind a solver's back."""
    for a in arrays:
        a.flags.writeable = False


def assign_frozen(obj: object, values: dict[str, Any]) -> None:
    """Sets validated values on a frozen dataclass, marking arrays (and tuples of arrays) read-only."""
    for name, value in values.items():
        if isinstance(value, np.ndarray):
            frozen(value)
        elif isinstance(value, tuple):
            frozen(*(v for v in value if isinstance(v, np.ndarray)))
        object.__setattr__(obj, name, value)
