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


def _as_array(name: str, value: Any, *, integer: bool = False) -> npt.NDArray[Any]:
    if value is None:
        raise TypeError(f"{name} is required, got None")
    arr = np.asarray(value)
    if arr.dtype == object:
        raise TypeError(f"{name} must be numeric, got an object array")
    if integer:
        if arr.size == 0 and arr.dtype == np.float64:  # an empty list
            arr = arr.astype(np.int64)
        if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.integer):
            raise TypeError(f"{name} must be an integer array, got dtype {arr.dtype}")
    return arr


def _check_shape(name: str, arr: npt.NDArray[Any], shape: tuple[int | None, ...] | None) -> None:
    if shape is None:
        return
    ok = arr.ndim == len(shape) and all(want is None or got == want for got, want in zip(arr.shape, shape, strict=True))
    if not ok:
        want_txt = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"
        raise ValueError(f"{name} must have shape {want_txt}, got {arr.shape}")


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
) -> npt.NDArray[np.float64]:
    """``value`` as a C-contiguous float64 array; NaN (and inf unless allowed) rejected."""
    arr = _as_array(name, value)
    if arr.dtype == np.bool_ or not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise TypeError(f"{name} must be a real-valued numeric array, got dtype {arr.dtype}")
    _check_shape(name, arr, shape)
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
    return out


def index_array(name: str, value: Any, n: int, shape: tuple[int | None, ...] | None = (None,)) -> npt.NDArray[np.int32]:
    """``value`` as a C-contiguous int32 array of indices in ``[0, n)``."""
    arr = _as_array(name, value, integer=True)
    _check_shape(name, arr, shape)
    bad = (arr < 0) | (arr >= n)
    if bad.any():
        idx = _first_bad(bad)
        raise ValueError(f"{name}{_index_text(idx)}={arr[idx]} is not an index in [0, {n})")
    return np.array(arr, dtype=np.int32, order="C")


def count_array(
    name: str, value: Any, shape: tuple[int | None, ...] | None = (None,), *, minimum: int = 0
) -> npt.NDArray[np.int32]:
    """``value`` as a C-contiguous int32 array of whole counts ``>= minimum``."""
    arr = _as_array(name, value, integer=True)
    _check_shape(name, arr, shape)
    if (arr < minimum).any():
        idx = _first_bad(arr < minimum)
        raise ValueError(f"{name}{_index_text(idx)}={arr[idx]} must be >= {minimum}")
    return np.array(arr, dtype=np.int32, order="C")


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


def positive_int(name: str, value: Any) -> int:
    """A plain Python int ``>= 1`` (bools rejected)."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return int(value)


def positive_float(name: str, value: Any) -> float:
    """A finite Python float ``> 0`` (bools rejected)."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    out = float(value)
    if not (math.isfinite(out) and out > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {out}")
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
