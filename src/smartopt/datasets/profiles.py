"""Load profile shapes: a day of quarter hours for the built-in district, a year for time series."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from smartopt._validation import FloatArray, positive_int

RESIDENTIAL_HOURLY = [0.45, 0.38, 0.35, 0.34, 0.35, 0.42, 0.60, 0.72, 0.62, 0.50, 0.46, 0.47,
                      0.50, 0.47, 0.45, 0.47, 0.55, 0.70, 0.85, 0.95, 1.00, 0.96, 0.80, 0.60]  # fmt: skip
"""Korean apartment demand per hour of day (pu of the diversified peak)."""
COMMERCIAL_HOURLY = [0.28, 0.26, 0.25, 0.25, 0.26, 0.30, 0.40, 0.60, 0.85, 0.97, 1.00, 1.00,
                     0.92, 0.98, 1.00, 0.98, 0.93, 0.82, 0.62, 0.50, 0.42, 0.36, 0.32, 0.30]  # fmt: skip
"""Office and retail demand per hour of a weekday (pu of peak)."""
SHAPES = {"residential": RESIDENTIAL_HOURLY, "commercial": COMMERCIAL_HOURLY}
WEEKEND_FACTOR = {"residential": 1.08, "commercial": 0.55}


def daily_profile(hourly: Sequence[float], rng: np.random.Generator, noise: float, slots: int = 96) -> FloatArray:
    """A day of ``slots`` values interpolated from 24 hourly values (at the half hours), times
    ``1 + noise * N(0, 1)`` per slot."""
    t = (np.arange(slots) + 0.5) * 24.0 / slots
    hours = np.arange(24) + 0.5
    base = np.interp(
        t,
        np.concatenate([[hours[-1] - 24], hours, [hours[0] + 24]]),
        np.concatenate([[hourly[-1]], hourly, [hourly[0]]]),
    )
    return np.asarray(base * (1.0 + noise * rng.standard_normal(slots)))


def year_profiles(kinds: Sequence[str], *, days: int = 365, seed: int = 0, noise: float = 0.05) -> FloatArray:
    """Quarter-hour load profiles (pu of each load's peak), shape ``(days * 96, len(kinds))``.

    Each load follows its kind's daily shape (``"residential"`` or ``"commercial"``), scaled on
    weekends (the year starts on a Monday) and by season (peaks in mid-January and mid-July for
    heating and cooling, +-15 %), with its own autocorrelated noise (AR(1), 0.9 per quarter hour,
    ``noise`` standard deviation)."""
    days = positive_int("days", days)
    unknown = sorted(set(kinds) - set(SHAPES))
    if unknown:
        raise ValueError(f"kinds: unknown load kind {unknown[0]!r}; use 'residential' or 'commercial'")
    rng = np.random.default_rng(seed)
    day = np.arange(days)
    weekend = (day % 7) >= 5
    season = 1.0 + 0.15 * np.cos(2 * np.pi * (day - 15) / 182.5)
    columns = []
    for kind in kinds:
        shape = daily_profile(SHAPES[kind], rng, 0.0)
        scale = season * np.where(weekend, WEEKEND_FACTOR[kind], 1.0)
        columns.append((scale[:, None] * shape[None, :]).ravel())
    base = np.column_stack(columns) if columns else np.zeros((days * 96, 0))
    phi = 0.9
    shocks = rng.standard_normal(base.shape) * np.sqrt(1 - phi**2)
    ar = np.empty_like(base)
    ar[0] = rng.standard_normal(base.shape[1])
    for t in range(1, base.shape[0]):
        ar[t] = phi * ar[t - 1] + shocks[t]
    return np.asarray(np.clip(base * (1.0 + noise * ar), 0.0, None))
