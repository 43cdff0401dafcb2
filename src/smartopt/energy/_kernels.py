"""Numba twin of the C++ backward/forward sweep (``cpp/src/energy/power_flow.cpp``).

Same algorithm, same arrays, same results to round-off; parallel over chunks of snapshots with
``prange``. It exists so users can read and extend the kernel in Python; ``benches/bench_power_flow.py``
measures it against the C++ one, which stays the default (faster here, and no JIT on first call).
"""

from __future__ import annotations

from typing import Any

import numba as nb
import numpy as np

from smartopt.energy._per_unit import BASE_KVA, PerUnitModel

_CHUNK = 64


@nb.njit(cache=True)
def _backward(parent, a, b, s, v, j, i_par):  # type: ignore[no-untyped-def]
    n = v.shape[0]
    for i in range(n):
        j[i] = np.conj(s[i] / v[i])
    for i in range(n - 1, 0, -1):
        i_par[i] = a[i] * v[parent[i]] + b[i] * j[i]
        j[parent[i]] += i_par[i]


@nb.njit(cache=True)
def _sweep(parent, a, b, c, d, v_slack, tol, max_iter, warm, s, v, j, i_par):  # type: ignore[no-untyped-def]
    """Sweeps until converged, from ``v`` if warm else from the no-load voltages; returns the
    number of sweeps or -1."""
    n = v.shape[0]
    v[0] = v_slack
    if not warm:
        for i in range(1, n):
            v[i] = c[i] * v[parent[i]]
    for it in range(1, max_iter + 1):
        _backward(parent, a, b, s, v, j, i_par)
        max_dv = 0.0
        for i in range(1, n):
            vi = c[i] * v[parent[i]] + d[i] * j[i]
            max_dv = max(max_dv, abs(vi - v[i]))
            v[i] = vi
        if not max_dv < 1e3:
            return -1
        if max_dv < tol:
            _backward(parent, a, b, s, v, j, i_par)
            return it
    return -1


@nb.njit(cache=True, parallel=True)
def _solve(  # type: ignore[no-untyped-def]
    bus,
    parent,
    branch,
    flipped,
    a,
    b,
    c,
    d,
    ib_par,
    ib_child,
    rate_par,
    rate_child,
    v_slack,
    base_kva,
    load_pos,
    load_p,
    load_q,
    gen_pos,
    gen_p,
    gen_q,
    tol,
    max_iter,
    out_f,
    out_i,
    out_b,
):
    n = bus.shape[0]
    n_t = load_p.shape[0]
    n_chunks = (n_t + _CHUNK - 1) // _CHUNK
    nan = np.nan
    vm, va = out_f[0], out_f[1]
    i_from, i_to, loading, p_from, q_from, p_to, q_to = (
        out_f[2],
        out_f[3],
        out_f[4],
        out_f[5],
        out_f[6],
        out_f[7],
        out_f[8],
    )
    for chunk in nb.prange(n_chunks):
        s = np.zeros(n, np.complex128)
        v = np.zeros(n, np.complex128)
        j = np.zeros(n, np.complex128)
        i_par = np.zeros(n, np.complex128)
        warm = False
        for t in range(chunk * _CHUNK, min(n_t, (chunk + 1) * _CHUNK)):
            s[:] = 0.0
            for k in range(load_pos.shape[0]):
                s[load_pos[k]] += (load_p[t, k] + 1j * load_q[t, k]) / base_kva
            for k in range(gen_pos.shape[0]):
                s[gen_pos[k]] -= (gen_p[t, k] + 1j * gen_q[t, k]) / base_kva
            it = _sweep(parent, a, b, c, d, v_slack, tol, max_iter, warm, s, v, j, i_par)
            ok = it > 0
            warm = ok
            out_i[t] = it if ok else 0
            out_b[t] = ok
            for i in range(n):
                vm[t, bus[i]] = abs(v[i]) if ok else nan
                va[t, bus[i]] = np.angle(v[i]) * 57.29577951308232 if ok else nan
            s0 = v[0] * np.conj(j[0]) * base_kva
            out_f[9][t, 0] = s0.real if ok else nan
            out_f[10][t, 0] = s0.imag if ok else nan
            for i in range(1, n):
                ip = i_par[i]
                ic = -j[i]
                sp = v[parent[i]] * np.conj(ip) * base_kva
                sc = v[i] * np.conj(ic) * base_kva
                ap, ac = abs(ip), abs(ic)
                k = branch[i]
                if not ok:
                    i_from[t, k] = i_to[t, k] = loading[t, k] = nan
                    p_from[t, k] = q_from[t, k] = p_to[t, k] = q_to[t, k] = nan
                    continue
                loading[t, k] = max(ap * rate_par[i], ac * rate_child[i])
                if flipped[i]:
                    i_from[t, k], i_to[t, k] = ac * ib_child[i], ap * ib_par[i]
                    p_from[t, k], q_from[t, k], p_to[t, k], q_to[t, k] = sc.real, sc.imag, sp.real, sp.imag
                else:
                    i_from[t, k], i_to[t, k] = ap * ib_par[i], ac * ib_child[i]
                    p_from[t, k], q_from[t, k], p_to[t, k], q_to[t, k] = sp.real, sp.imag, sc.real, sc.imag


_BUS_KEYS = ("vm_pu", "va_degree")
_BRANCH_KEYS = ("i_from_ka", "i_to_ka", "loading_percent", "p_from_kw", "q_from_kvar", "p_to_kw", "q_to_kvar")


def solve_numba(
    pu: PerUnitModel,
    load_pos: Any,
    load_p: Any,
    load_q: Any,
    gen_pos: Any,
    gen_p: Any,
    gen_q: Any,
    tol: float,
    max_iter: int,
    n_threads: int,
) -> dict[str, Any]:
    """The Numba kernel behind ``power_flow(..., backend="numba")``; returns the C++ module's dict."""
    n = pu.position_bus.size
    n_t = load_p.shape[0]
    out = np.empty((11, n_t, n))  # buses use n columns, branches n - 1, slack powers 1
    out_i = np.empty(n_t, np.int32)
    out_b = np.empty(n_t, np.bool_)
    nb.set_num_threads(max(1, min(n_threads, nb.config.NUMBA_NUM_THREADS)))  # type: ignore[attr-defined]
    arrays = [np.ascontiguousarray(x, dtype=np.float64) for x in (load_p, load_q, gen_p, gen_q)]
    _solve(
        pu.position_bus,
        pu.position_parent,
        pu.position_branch,
        pu.position_flipped,
        *pu.hybrid,
        pu.position_i_base_parent_ka,
        pu.position_i_base_child_ka,
        pu.position_rate_parent,
        pu.position_rate_child,
        pu.v_slack,
        BASE_KVA,
        load_pos,
        arrays[0],
        arrays[1],
        gen_pos,
        arrays[2],
        arrays[3],
        tol,
        max_iter,
        out,
        out_i,
        out_b,
    )
    result: dict[str, Any] = {key: out[i] for i, key in enumerate(_BUS_KEYS)}
    result.update({key: out[2 + i][:, : n - 1] for i, key in enumerate(_BRANCH_KEYS)})
    result["slack_p_kw"], result["slack_q_kvar"] = out[9][:, 0], out[10][:, 0]
    result["iterations"], result["converged"] = out_i, out_b
    return result
