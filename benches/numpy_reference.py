"""A NumPy implementation of the fixed-time optimiser's search, vectorised over intersections:
the anchor for the Numba kernel's throughput, and a cross-check of its results."""

from __future__ import annotations

import numpy as np

from smartopt.signals._hcm import control_delay
from smartopt.signals.timing import HcmParameters, _Packed


def _totals(p: _Packed, green: np.ndarray, cycle: np.ndarray, hcm: HcmParameters) -> np.ndarray:
    """Total delay (veh*s/h) per intersection for greens of shape (n, ..., S) and cycles (n, ...)."""
    eff = np.einsum("n...s,nsg->n...g", green, p.serves.astype(float))
    shape = (len(cycle),) + (1,) * (eff.ndim - 2) + (p.volume.shape[1],)
    vol, sat = p.volume.reshape(shape), p.saturation.reshape(shape)
    d, _, _ = control_delay(vol, np.where(sat > 0, sat, 1.0), eff, cycle[..., None], *hcm.as_tuple())
    return np.asarray(np.where((vol > 0) & (sat > 0), vol * d, 0.0).sum(axis=-1))


def _best_split(p: _Packed, cycle: np.ndarray, hcm: HcmParameters) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = p.green_lo, p.green_hi
    spare = cycle - p.lost - lo.sum(axis=1)
    room = (hi - lo).sum(axis=1)
    green = lo + np.where(room > 0, spare / np.where(room > 0, room, 1.0), 0.0)[:, None] * (hi - lo)
    best = _totals(p, green, cycle, hcm)
    step = np.maximum(spare / 4.0, 0.5)
    s = lo.shape[1]
    a_idx, b_idx = np.divmod(np.arange(s * s), s)
    eye = np.eye(s)
    while (step > 0.01).any():
        amount = np.minimum(np.minimum(step[:, None], (green - lo)[:, a_idx]), (hi - green)[:, b_idx])  # (n, S*S)
        valid = (a_idx != b_idx)[None, :] & (amount > 1e-9) & (step > 0.01)[:, None]
        moved = green[:, None, :] + amount[..., None] * (eye[b_idx] - eye[a_idx])[None, :, :]
        value = np.where(valid, _totals(p, moved, np.repeat(cycle[:, None], s * s, axis=1), hcm), np.inf)
        k = value.argmin(axis=1)
        gain = value[np.arange(len(k)), k] < best - 1e-9
        green = np.where(gain[:, None], moved[np.arange(len(k)), k], green)
        best = np.where(gain, value[np.arange(len(k)), k], best)
        step = np.where(gain, step, step * 0.5)
    return green, best


def optimise(p: _Packed, start_cycle: np.ndarray, start_green: np.ndarray, step: float,
             hcm: HcmParameters) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """The kernel's search: the start plan, a coarse cycle grid at 5 steps, then every step around
    the best."""
    best = _totals(p, start_green, start_cycle, hcm)
    cycle_out, green_out = start_cycle.copy(), start_green.copy()
    centre = p.cycle_lo.copy()
    coarse = 5.0 * step
    n_coarse = int(((p.cycle_hi - p.cycle_lo) / coarse).max()) + 2
    passes = [np.minimum(p.cycle_lo + j * coarse, p.cycle_hi) for j in range(n_coarse)]
    for j, cycle in enumerate(passes):
        inside = j <= ((p.cycle_hi - p.cycle_lo) / coarse).astype(int) + 1
        green, value = _best_split(p, cycle, hcm)
        better = inside & (value < best - 1e-9)
        best, centre = np.where(better, value, best), np.where(better, cycle, centre)
        cycle_out, green_out = np.where(better, cycle, cycle_out), np.where(better[:, None], green, green_out)
    for j in range(-4, 5):
        cycle = centre + j * step
        inside = (cycle >= p.cycle_lo) & (cycle <= p.cycle_hi)
        green, value = _best_split(p, np.clip(cycle, p.cycle_lo, p.cycle_hi), hcm)
        better = inside & (value < best - 1e-9)
        best = np.where(better, value, best)
        cycle_out, green_out = np.where(better, cycle, cycle_out), np.where(better[:, None], green, green_out)
    return cycle_out, green_out
