"""Numba twin of the C++ backward/forward sweep (``cpp/src/energy/power_flow.cpp``).

Same algorithm, same arithmetic in the same order, same lanes of warm-started snapshots, so the
same results; parallel over lanes with ``prange``, one lane at a time where the C++ kernel
interleaves four. It exists so users can read and extend the kernel in Python;
``benches/bench_power_flow.py`` measures it against the C++ one, which stays the default (faster
here, and no JIT on the first call).
"""

from __future__ import annotations

from typing import NamedTuple

import numba as nb
import numpy as np
import numpy.typing as npt

from smartopt._validation import FloatArray
from smartopt.energy.grid import BASE_KVA, PerUnitModel


@nb.njit(cache=True)
def _backward(parent, a, b, s, v, j, i_par):  # type: ignore[no-untyped-def]
    """Each bus's drawn current and each branch's parent-side current from the present voltages."""
    n = v.shape[0]
    for i in range(n):
        vr, vi = v[i].real, v[i].imag
        inv = 1.0 / (vr * vr + vi * vi)
        j[i] = complex((s[i].real * vr + s[i].imag * vi) * inv, (s[i].real * vi - s[i].imag * vr) * inv)
    for i in range(n - 1, 0, -1):
        u = v[parent[i]]
        re = (a[i].real * u.real - a[i].imag * u.imag) + (b[i].real * j[i].real - b[i].imag * j[i].imag)
        im = (a[i].real * u.imag + a[i].imag * u.real) + (b[i].real * j[i].imag + b[i].imag * j[i].real)
        i_par[i] = complex(re, im)
        j[parent[i]] = complex(j[parent[i]].real + re, j[parent[i]].imag + im)


@nb.njit(cache=True)
def _sweep(parent, c, d, a, b, v_slack, tol, max_iterations, warm, s, v, j, i_par):  # type: ignore[no-untyped-def]
    """Sweeps until converged, from ``v`` if warm else from the no-load voltages; returns the
    number of sweeps or -1."""
    n = v.shape[0]
    v[0] = v_slack
    if not warm:
        for i in range(1, n):
            u = v[parent[i]]
            v[i] = complex(c[i].real * u.real - c[i].imag * u.imag, c[i].real * u.imag + c[i].imag * u.real)
    tol2 = tol * tol
    for it in range(1, max_iterations + 1):
        _backward(parent, a, b, s, v, j, i_par)
        dv2 = 0.0
        for i in range(1, n):
            u = v[parent[i]]
            nr = (c[i].real * u.real - c[i].imag * u.imag) + (d[i].real * j[i].real - d[i].imag * j[i].imag)
            ni = (c[i].real * u.imag + c[i].imag * u.real) + (d[i].real * j[i].imag + d[i].imag * j[i].real)
            er, ei = nr - v[i].real, ni - v[i].imag
            dv2 = max(dv2, er * er + ei * ei)
            v[i] = complex(nr, ni)
        if not dv2 < 1e6:
            return -1
        if dv2 < tol2:
            _backward(parent, a, b, s, v, j, i_par)
            return it
    return -1


@nb.njit(cache=True, parallel=True)
def _solve(  # type: ignore[no-untyped-def]
    bus, parent, branch, flipped, a, b, c, d, v_slack, base_kva, load_pos, load_p, load_q, gen_pos, gen_p, gen_q,
    tol, max_iterations, lane_length, out_v, out_from, out_to, out_slack, out_iter, out_conv,
):  # fmt: skip
    n = bus.shape[0]
    n_t = load_p.shape[0]
    n_lanes = (n_t + lane_length - 1) // lane_length
    bad = complex(np.nan, np.nan)
    for lane in nb.prange(n_lanes):
        s = np.zeros(n, np.complex128)
        v = np.zeros(n, np.complex128)
        j = np.zeros(n, np.complex128)
        i_par = np.zeros(n, np.complex128)
        first = lane * lane_length
        for t in range(first, min(n_t, first + lane_length)):
            s[:] = 0.0
            for k in range(load_pos.shape[0]):
                s[load_pos[k]] += complex(load_p[t, k] / base_kva, load_q[t, k] / base_kva)
            for k in range(gen_pos.shape[0]):
                s[gen_pos[k]] -= complex(gen_p[t, k] / base_kva, gen_q[t, k] / base_kva)
            warm = t > first and out_conv[t - 1]
            if warm:
                for i in range(1, n):
                    v[i] = out_v[t - 1, bus[i]]
            it = _sweep(parent, c, d, a, b, v_slack, tol, max_iterations, warm, s, v, j, i_par)
            out_conv[t] = it > 0
            out_iter[t] = max(it, 0)
            if it <= 0:
                out_v[t, :] = bad
                out_from[t, :] = bad
                out_to[t, :] = bad
                out_slack[t] = bad
                continue
            for i in range(n):
                out_v[t, bus[i]] = v[i]
            out_slack[t] = complex(v[0].real * j[0].real + v[0].imag * j[0].imag,
                                   v[0].imag * j[0].real - v[0].real * j[0].imag) * base_kva  # fmt: skip
            for i in range(1, n):
                if flipped[i]:
                    out_from[t, branch[i]], out_to[t, branch[i]] = -j[i], i_par[i]
                else:
                    out_from[t, branch[i]], out_to[t, branch[i]] = i_par[i], -j[i]


class Flows(NamedTuple):
    """Per snapshot: bus voltages, branch currents at both ends (p.u.), slack power (kVA), sweeps
    taken and whether they converged; the fields of the C++ module's ``Flows``."""

    v: npt.NDArray[np.complex128]
    i_from: npt.NDArray[np.complex128]
    i_to: npt.NDArray[np.complex128]
    slack_kva: npt.NDArray[np.complex128]
    iterations: npt.NDArray[np.int32]
    converged: npt.NDArray[np.bool_]


def solve_numba(
    pu: PerUnitModel,
    load_pos: npt.NDArray[np.int32],
    load_p: FloatArray,
    load_q: FloatArray,
    gen_pos: npt.NDArray[np.int32],
    gen_p: FloatArray,
    gen_q: FloatArray,
    tol: float,
    max_iterations: int,
    lane_length: int,
    n_threads: int,
) -> Flows:
    """The Numba kernel behind ``power_flow(..., backend="numba")``: ``(T, n)`` powers (kW, kvar)
    in, the same :class:`Flows` as the C++ module's ``solve`` out."""
    n = pu.position_bus.size
    n_t = load_p.shape[0]
    out = Flows(
        v=np.empty((n_t, n), np.complex128),
        i_from=np.empty((n_t, n - 1), np.complex128),
        i_to=np.empty((n_t, n - 1), np.complex128),
        slack_kva=np.empty(n_t, np.complex128),
        iterations=np.empty(n_t, np.int32),
        converged=np.empty(n_t, np.bool_),
    )
    nb.set_num_threads(max(1, min(n_threads, nb.config.NUMBA_NUM_THREADS)))  # type: ignore[attr-defined]
    p, q, gp, gq = (np.ascontiguousarray(x, dtype=np.float64) for x in (load_p, load_q, gen_p, gen_q))
    _solve(
        pu.position_bus, pu.position_parent, pu.position_branch, pu.position_flipped, *pu.hybrid, pu.v_slack,
        BASE_KVA, load_pos, p, q, gen_pos, gp, gq, tol, max_iterations, lane_length, *out,
    )  # fmt: skip
    return out
