"""Scalar checks of the signals API: numbers, integers and flags taken one at a time (bools are
never numbers, integers must be integral and in range), each error naming the field and value."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from smartopt._validation import integer

__all__ = ["integer", "number"]


def number(
    name: str,
    value: Any,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    exclusive_minimum: bool = False,
) -> float:
    """A finite real number within ``[minimum, maximum]`` (``(minimum, maximum]`` when
    ``exclusive_minimum``) as a Python float."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | float | np.integer | np.floating):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    try:
        out = float(value)
    except OverflowError:
        raise ValueError(f"{name}={value} is too large") from None
    if not math.isfinite(out):
        raise ValueError(f"{name}={out} is not finite")
    if minimum is not None and (out <= minimum if exclusive_minimum else out < minimum):
        raise ValueError(f"{name}={out!r} must be {'>' if exclusive_minimum else '>='} {minimum:g}")
    if maximum is not None and out > maximum:
        raise ValueError(f"{name}={out!r} must be <= {maximum:g}")
    return out
