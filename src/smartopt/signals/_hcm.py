"""HCM's control delay as one formula for the NumPy path (:mod:`smartopt.signals.timing`) and
the Numba kernels (:mod:`smartopt.signals._kernels`), in a module of its own so that neither
imports the other."""

from __future__ import annotations

from typing import Any

import numpy as np


def control_delay(
    volume_vph: Any,
    saturation_vph: Any,
    green_s: Any,
    cycle_s: Any,
    analysis_period_h: float = 0.25,
    k: float = 0.5,
    upstream_filtering: float = 1.0,
    progression_factor: float = 1.0,
) -> tuple[Any, Any, Any]:
    """HCM control delay (s/veh), capacity (veh/h) and ``v/c`` of lane groups (scalars or arrays):

    ``d = d1 * PF + d2`` with uniform delay ``d1 = 0.5 C (1 - g/C)^2 / (1 - min(1, X) g/C)`` and
    incremental delay ``d2 = 900 T [(X - 1) + sqrt((X - 1)^2 + 8 k I X / (c T))]``; no initial
    queue. Assumes valid input: the compiled optimiser runs this same function under Numba, and
    :func:`lane_group_delay` is its checked public form.
    """
    g_over_c = np.minimum(green_s / cycle_s, 1.0)
    capacity = np.maximum(saturation_vph * g_over_c, 1e-9)
    x = volume_vph / capacity
    # (the floor keeps g = C with X >= 1 at its limit 0 instead of 0/0)
    d1 = 0.5 * cycle_s * (1.0 - g_over_c) ** 2 / np.maximum(1.0 - np.minimum(1.0, x) * g_over_c, 1e-300)
    t = analysis_period_h
    d2 = 900.0 * t * ((x - 1.0) + np.sqrt((x - 1.0) ** 2 + 8.0 * k * upstream_filtering * x / (capacity * t)))
    return d1 * progression_factor + d2, capacity, x
