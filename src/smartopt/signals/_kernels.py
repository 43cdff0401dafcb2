"""Numba kernels of the fixed-time optimiser (imported on first use, compiled once and cached).

Numba rather than Cython here: the kernel is parallel over intersections (``prange``) and compiles
the very same HCM delay function (``_hcm.control_delay``) the NumPy path uses, so there is one
delay formula in the code base. The JIT cost is paid once per machine (``cache=True``).
"""

from __future__ import annotations

import numba as nb
import numpy as np

from smartopt.signals._hcm import control_delay

_delay = nb.njit(cache=True, error_model="numpy")(control_delay)


@nb.njit(cache=True, error_model="numpy")
def _total_delay(vol, sat, serves, green, cycle, t, k, i_factor, pf):  # type: ignore[no-untyped-def]
    """Sum over lane groups of volume x HCM delay (veh·s/h) for one intersection."""
    total = 0.0
    for g in range(vol.shape[0]):
        if vol[g] <= 0.0 or sat[g] <= 0.0:
            continue
        eff = 0.0
        for s in range(green.shape[0]):
            if serves[s, g]:
                eff += green[s]
        d, _, _ = _delay(vol[g], sat[g], eff, cycle, t, k, i_factor, pf)
        total += vol[g] * d
    return total


@nb.njit(cache=True, error_model="numpy")
def _best_split(vol, sat, serves, lo, hi, cycle, lost, t, k, i_factor, pf, green):  # type: ignore[no-untyped-def]
    """Greens for one cycle: start spread between the bounds, then move green from one stage to
    another while that lowers the total delay, halving the step when no move helps."""
    n = lo.shape[0]
    spare = cycle - lost - lo.sum()
    room = (hi - lo).sum()
    for s in range(n):
        green[s] = lo[s] + (spare * (hi[s] - lo[s]) / room if room > 0 else 0.0)
    best = _total_delay(vol, sat, serves, green, cycle, t, k, i_factor, pf)
    step = max(spare / 4.0, 0.5)
    while step > 0.01:
        move_a, move_b, move_amount, move_value = -1, -1, 0.0, best
        for a in range(n):
            for b in range(n):
                amount = min(step, green[a] - lo[a], hi[b] - green[b])
                if a == b or amount <= 1e-9:
                    continue
                green[a] -= amount
                green[b] += amount
                value = _total_delay(vol, sat, serves, green, cycle, t, k, i_factor, pf)
                green[a] += amount
                green[b] -= amount
                if value < move_value - 1e-9:
                    move_a, move_b, move_amount, move_value = a, b, amount, value
        if move_a < 0:
            step *= 0.5
        else:
            green[move_a] -= move_amount
            green[move_b] += move_amount
            best = move_value
    return best


@nb.njit(cache=True, parallel=True, error_model="numpy")
def optimise_cycles_and_splits(  # type: ignore[no-untyped-def]
    volume, saturation, serves, green_lo, green_hi, lost, cycle_lo, cycle_hi, start_cycle, start_green, step,
    t, k, i_factor, pf,
):  # fmt: skip
    """Per intersection, the cycle (on a ``step`` grid: coarse pass at 5 steps, then every step
    around the best) and greens with the least total delay, or the start plan if it is better."""
    n, s_max = green_lo.shape
    best_cycle = start_cycle.copy()
    best_green = start_green.copy()
    for i in nb.prange(n):
        ns = 0
        while ns < s_max and green_hi[i, ns] > 0.0:
            ns += 1
        vol, sat, srv = volume[i], saturation[i], serves[i, :ns]
        lo, hi = green_lo[i, :ns], green_hi[i, :ns]
        best = _total_delay(vol, sat, srv, start_green[i, :ns], start_cycle[i], t, k, i_factor, pf)
        green = np.zeros(ns)
        span = cycle_hi[i] - cycle_lo[i]
        coarse = 5.0 * step
        centre = cycle_lo[i]
        for j in range(int(span / coarse) + 2):
            cycle = min(cycle_lo[i] + j * coarse, cycle_hi[i])
            value = _best_split(vol, sat, srv, lo, hi, cycle, lost[i], t, k, i_factor, pf, green)
            if value < best - 1e-9:
                best, centre = value, cycle
                best_cycle[i] = cycle
                best_green[i, :ns] = green
        for j in range(-4, 5):
            cycle = centre + j * step
            if cycle < cycle_lo[i] or cycle > cycle_hi[i]:
                continue
            value = _best_split(vol, sat, srv, lo, hi, cycle, lost[i], t, k, i_factor, pf, green)
            if value < best - 1e-9:
                best = value
                best_cycle[i] = cycle
                best_green[i, :ns] = green
    return best_cycle, best_green
