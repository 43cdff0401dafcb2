"""Batched three-phase unbalanced power flow on a radial or weakly meshed :class:`~smartopt.energy.Grid`.

``unbalanced_power_flow(grid, p_kw, q_kvar)`` solves T snapshots of constant-power loads and
generators per phase (wye to neutral or delta between phases) with a backward/forward sweep in
symmetrical components: the zero, positive and negative sequence networks are each a tree of
two-ports in the balanced solver's hybrid form, coupled only through the loads, with the slack
holding the positive sequence and grounding the others through its short-circuit impedances, as
pandapower's ``runpp_3ph`` models them (see ``docs/unbalanced_power_flow.md``).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from smartopt._core import _unbalanced_power_flow
from smartopt._serialise import ToDict
from smartopt._threads import default_threads
from smartopt._validation import INT32_MAX, FloatArray, float_array, positive_float, positive_int
from smartopt.energy.grid import (
    BASE_KVA,
    PHASE_CONNECTIONS,
    VECTOR_GROUPS,
    ComplexArray,
    Grid,
    _loop_response,
    _trafo_ratio,
    hybrid_form,
)
from smartopt.energy.power_flow import MAX_LANE, BranchViews, Violations, _powers, _snapshots, find_violations

if TYPE_CHECKING:
    import pandas as pd

ROTATE = np.exp(2j * np.pi / 3)
"""The operator a = exp(j 120 degrees) of symmetrical components."""
EN50160_UNBALANCE_PERCENT = 2.0
"""EN 50160's limit of the voltage unbalance factor |V2|/|V1| (%)."""
YZN_FACTOR = 1.1547
"""runpp_3ph's factor on a Yzn transformer's zero-sequence admittance (2/sqrt(3), as it rounds it)."""

_SHARES = {
    "abc": ((1 / 3, 1 / 3, 1 / 3), False),
    "a": ((1.0, 0.0, 0.0), False),
    "b": ((0.0, 1.0, 0.0), False),
    "c": ((0.0, 0.0, 1.0), False),
    "delta": ((1 / 3, 1 / 3, 1 / 3), True),
    "ab": ((1.0, 0.0, 0.0), True),
    "bc": ((0.0, 1.0, 0.0), True),
    "ca": ((0.0, 0.0, 1.0), True),
}
"""Share of an element's power on phases a, b, c (delta: ab, bc, ca) and whether it is delta, per
connection of :data:`~smartopt.energy.grid.PHASE_CONNECTIONS`."""
assert set(_SHARES) == set(PHASE_CONNECTIONS)


def _branch_name(grid: Grid, k: int) -> str:
    nl, nt = grid.num_lines, grid.num_trafos
    return f"line {k}" if k < nl else f"trafo {k - nl}" if k < nl + nt else f"switch {k - nl - nt}"


def _or(value: FloatArray | None, default: FloatArray) -> FloatArray:
    return default if value is None else value


def _connections(phase: npt.NDArray[np.str_] | None, n: int) -> npt.NDArray[np.str_]:
    """Each element's phase connection (None: all three-phase wye)."""
    return np.full(n, "abc") if phase is None else phase


def _zero_sequence_two_ports(grid: Grid) -> tuple[ComplexArray, ComplexArray, ComplexArray, ComplexArray]:
    """yff, yft, ytf, ytt of every branch in the zero sequence (pu of the balanced bases), as runpp_3ph
    builds them: lines as pi models of r0, x0, b0; transformers by vector group from a T model of
    the zero-sequence leakage (split ``si0_hv_partial`` to the HV side) and magnetising impedance."""
    unknown = ~np.isin(np.asarray(grid.trafo_vector_group), VECTOR_GROUPS) if grid.num_trafos else np.zeros(0, bool)
    if unknown.any():
        k = int(np.flatnonzero(unknown)[0])
        raise ValueError(
            f"trafo {k}: vector group {str(np.asarray(grid.trafo_vector_group)[k])!r} is not supported by the "
            f"unbalanced power flow ({', '.join(VECTOR_GROUPS)}, the phase shift in trafo_shift_degree)"
        )
    z_base = grid.bus_vn_kv[grid.line_from] ** 2 / (BASE_KVA / 1000.0)
    if grid.num_lines:
        assert grid.line_r0_ohm_per_km is not None and grid.line_x0_ohm_per_km is not None
        no_data = np.isnan(grid.line_r0_ohm_per_km + grid.line_x0_ohm_per_km)
        if no_data.any():
            k = int(np.flatnonzero(no_data)[0])
            raise ValueError(
                f"line {k} (bus {grid.line_from[k]} - bus {grid.line_to[k]}) has no zero-sequence impedance: "
                "line_r0_ohm_per_km or line_x0_ohm_per_km is NaN (not known)"
            )
        b0 = _or(grid.line_b0_us_per_km, np.zeros(grid.num_lines))
        z0 = (grid.line_r0_ohm_per_km + 1j * grid.line_x0_ohm_per_km) * grid.line_length_km / z_base
        shunt = 1j * b0 * 1e-6 * grid.line_length_km * z_base / 2.0
    else:
        z0 = shunt = np.zeros(0, complex)
    y_line = 1.0 / z0
    nt = grid.num_trafos
    t_ff, t_ft, t_tf, t_tt = (np.zeros(nt, complex) for _ in range(4))
    if nt:
        group = np.asarray(grid.trafo_vector_group)
        n_tap, lv_scale = _trafo_ratio(grid)
        scale = lv_scale / (grid.trafo_sn_kva / BASE_KVA)
        vk0, vkr0 = (
            _or(grid.trafo_vk0_percent, grid.trafo_vk_percent),
            _or(grid.trafo_vkr0_percent, grid.trafo_vkr_percent),
        )
        mag0, mag0_rx = _or(grid.trafo_mag0_percent, np.full(nt, 100.0)), _or(grid.trafo_mag0_rx, np.zeros(nt))
        si0 = _or(grid.trafo_si0_hv_partial, np.full(nt, 0.9))
        z_abs, r = vk0 / 100.0 * scale, vkr0 / 100.0 * scale
        z_leak = r + 1j * np.sqrt(z_abs**2 - r**2)
        x_mag = z_abs * mag0 / 100.0 / np.sqrt(mag0_rx**2 + 1.0)
        z1, z2, z3 = si0 * z_leak, (1 - si0) * z_leak, x_mag * (mag0_rx + 1j)
        z_t = z1 * z2 + z2 * z3 + z1 * z3  # the T model as a pi: shunts z_a (HV), z_b (LV), series z_c
        z_a, z_b, z_c = z_t / z2, z_t / z1, z_t / z3
        dyn, ynyn, yzn = (group == "Dyn"), (group == "YNyn"), (group == "Yzn")
        t_tt = np.where(dyn, 1 / z_c + 1 / z_b, 0.0)
        t_tt = np.where(yzn, YZN_FACTOR * (1 / (z_c + z_a) + 1 / z_b), t_tt)
        t_tt = np.where(ynyn, 1 / z_c + 1 / z_b, t_tt)
        t_ff = np.where(ynyn, (1 / z_c + 1 / z_a) / np.abs(n_tap) ** 2, 0.0)
        t_ft = np.where(ynyn, -1 / z_c / np.conj(n_tap), 0.0)
        t_tf = np.where(ynyn, -1 / z_c / n_tap, 0.0)
    zeros = np.zeros(grid.switch_bus_a.shape[0], complex)
    return (
        np.concatenate([y_line + shunt, t_ff, zeros]),
        np.concatenate([-y_line, t_ft, zeros]),
        np.concatenate([-y_line, t_tf, zeros]),
        np.concatenate([y_line + shunt, t_tt, zeros]),
    )


def _source_impedances(grid: Grid) -> tuple[complex, complex]:
    """Zero- and negative-sequence impedance of the slack's external grid (pu): ``c Un^2 / S_sc``
    with c = 1.1, split by R/X, and X0 = x0x X, R0 = r0x0 X0, as runpp_3ph grounds them."""
    assert grid.slack_s_sc_mva is not None
    z = 1.1 * (BASE_KVA / 1000.0) / grid.slack_s_sc_mva
    x = z / np.sqrt(grid.slack_rx**2 + 1.0)
    x0 = grid.slack_x0x * x
    return complex(grid.slack_r0x0 * x0, x0), complex(grid.slack_rx * x, x)


def _sequence_feeder(grid: Grid) -> _unbalanced_power_flow.SequenceFeeder:
    """The grid's tree (the balanced model's) with each position's hybrid parameters in the zero,
    positive and negative sequence, and on a meshed grid each sequence's loop response (the
    compensation method per sequence; the slack hangs from the virtual source through its source
    impedances). Raises ValueError on a grid with several slacks, and where a vector group leaves a
    bus without a zero-sequence path."""
    if grid.missing_three_phase_data:
        raise ValueError(
            "unbalanced_power_flow needs the grid's three-phase data: " + "; ".join(grid.missing_three_phase_data)
        )
    balanced_only = [
        f"{count} {what}"
        for count, what in (
            (grid.shunt_bus.size, "shunt(s)"),
            (grid.num_impedances, "series impedance(s)"),
            (grid.pv_bus.size, "voltage-controlled generator(s)"),
        )
        if count
    ]
    if balanced_only:
        raise ValueError(
            f"unbalanced_power_flow does not model {', '.join(balanced_only)} yet (the balanced power_flow does)"
        )
    pu = grid.per_unit
    if grid.extra_slack_bus.size:
        raise ValueError(
            f"unbalanced_power_flow solves grids with one slack; this grid has {grid.slack_buses.size} "
            f"(slack buses {grid.slack_buses.tolist()})"
        )
    z0, z2 = _source_impedances(grid)
    n_src = pu.num_sources  # 1 on a meshed grid: position 1 is the slack, on a source branch
    params = np.zeros((4, 3, pu.position_bus.size), complex)
    params[:, 1] = pu.hybrid
    params[3, 0, 1 : 1 + n_src], params[3, 2, 1 : 1 + n_src] = -z0, -z2  # V_slack = -z J_slack from 0 V
    grid_pos = np.arange(1 + n_src, pu.position_bus.size)
    via, flipped = pu.position_branch[grid_pos], pu.position_flipped[grid_pos].astype(bool)
    negative = (pu.yff, pu.ytf, pu.yft, pu.ytt)  # a transformer's phase shift turns the other way
    for s, two_port in ((0, _zero_sequence_two_ports(grid)), (2, negative)):
        params[:, s, 1 + n_src :] = hybrid_form(two_port, via, flipped, pu.is_switch)
    bad = ~np.isfinite(params).all(axis=(0, 1))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        branch = _branch_name(grid, int(pu.position_branch[i]))
        where = f"bus {pu.position_bus[i]}" if pu.position_bus[i] < grid.num_buses else f"the loop cut at {branch}"
        raise ValueError(
            f"{where} has no zero-sequence path through {branch} (a transformer fed from its delta or unearthed side)"
        )
    m, n = pu.breakpoint_leaf.size, pu.position_bus.size
    loop_admittance, loop_voltage = np.zeros((3, m, m), complex), np.zeros((3, n, m), complex)
    for s in range(3):
        dv, z_loop = _loop_response(pu.position_parent, tuple(params[:, s]), pu.breakpoint_leaf, pu.breakpoint_bus)
        try:
            loop_admittance[s] = np.linalg.inv(z_loop)
        except np.linalg.LinAlgError:
            raise ValueError(f"the grid's loops are singular in sequence {s} (a loop of zero impedance)") from None
        loop_voltage[s] = dv
    a, b, c, d = params
    return _unbalanced_power_flow.make_feeder(
        pu.position_bus,
        pu.position_parent,
        pu.position_branch,
        pu.position_flipped,
        a,
        b,
        c,
        d,
        pu.v_slack,
        0.0 if n_src else z0,
        0.0 if n_src else z2,
        BASE_KVA,
        pu.breakpoint_leaf,
        pu.breakpoint_bus,
        loop_admittance,
        loop_voltage,
    )


_FEEDERS: weakref.WeakKeyDictionary[Grid, _unbalanced_power_flow.SequenceFeeder] = weakref.WeakKeyDictionary()
"""Each grid's sequence feeder, built on first use (grids are immutable)."""


def _phase_powers(name: str, value: Any, nominal: FloatArray, phases: npt.NDArray[np.str_], n_t: int) -> FloatArray:
    """``(T, n, 3)`` powers per phase: a 3-D ``value`` as given (zero on the phases an element is not
    connected to), else each element's total (``(T, n)``, 1-D for one snapshot, None the nominal)
    spread by its connection."""
    share = np.array([_SHARES[str(p)][0] for p in phases]).reshape(nominal.size, 3)
    if value is None or np.ndim(value) != 3:
        total = _powers(name, value, nominal, n_t)
        return np.asarray(total[:, :, None] * share[None, :, :], dtype=np.float64)
    per_phase = float_array(name, value, (n_t, nominal.size, 3))
    stray = (per_phase != 0.0) & (share[None] == 0.0)
    if stray.any():
        t, k, p = (int(i) for i in np.argwhere(stray)[0])
        labels = ("ab", "bc", "ca") if _SHARES[str(phases[k])][1] else ("a", "b", "c")
        element = "generator" if name.startswith("gen") else "load"
        raise ValueError(
            f"{name}[{t}, {k}, {p}]={per_phase[t, k, p]}: {element} {k} is connected to {str(phases[k])!r}, "
            f"not to phase {labels[p]}"
        )
    return per_phase


def _unbalance(v: npt.NDArray[np.complex128]) -> FloatArray:
    """|V2| / |V1| * 100 (%) of phase voltages ``(..., 3)``."""
    v1 = v[..., 0] + ROTATE * v[..., 1] + ROTATE**2 * v[..., 2]
    v2 = v[..., 0] + ROTATE**2 * v[..., 1] + ROTATE * v[..., 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(100.0 * np.abs(v2) / np.abs(v1), dtype=np.float64)


@dataclass(frozen=True, eq=False)
class UnbalancedFlowResult(BranchViews, ToDict):
    """Three-phase power flow of T snapshots: complex phase-to-neutral voltages ``(T, n_bus, 3)``
    (phases a, b, c; buses in the grid's order) and phase currents into each branch end
    ``(T, n_branch, 3)`` over lines, then transformers, then closed switches, in pu of the balanced
    bases (1 pu of current per phase carries 1 pu of total power at 1 pu voltage). Magnitudes,
    angles, kA, neutral currents, unbalance, losses and violations derive from them on first use.
    Snapshots that did not converge are NaN with ``converged`` False."""

    _inputs = ("grid",)

    grid: Grid
    v_pu: npt.NDArray[np.complex128]
    branch_i_from_pu: npt.NDArray[np.complex128]
    branch_i_to_pu: npt.NDArray[np.complex128]
    slack_kva: npt.NDArray[np.complex128]
    """Complex power the slack supplies per phase ``(T, 3)`` (kVA)."""
    converged: npt.NDArray[np.bool_]
    iterations: npt.NDArray[np.int32]

    @cached_property
    def unbalance_percent(self) -> FloatArray:
        """Voltage unbalance factor of each bus ``(T, n_bus)`` (%, |V2| / |V1| * 100)."""
        return _unbalance(self.v_pu)

    @cached_property
    def branch_i_from_ka(self) -> FloatArray:
        """Phase currents at each branch's from end ``(T, n_branch, 3)`` (kA)."""
        return np.abs(self.branch_i_from_pu) * self.grid.per_unit.i_base_from_ka[:, None]

    @cached_property
    def branch_i_to_ka(self) -> FloatArray:
        """Phase currents at each branch's to end ``(T, n_branch, 3)`` (kA)."""
        return np.abs(self.branch_i_to_pu) * self.grid.per_unit.i_base_to_ka[:, None]

    @cached_property
    def branch_i_n_from_ka(self) -> FloatArray:
        """Neutral (return) current at each branch's from end ``(T, n_branch)`` (kA, |Ia + Ib + Ic|)."""
        return np.asarray(np.abs(self.branch_i_from_pu.sum(axis=2)) * self.grid.per_unit.i_base_from_ka)

    @cached_property
    def branch_i_n_to_ka(self) -> FloatArray:
        """Neutral (return) current at each branch's to end ``(T, n_branch)`` (kA, |Ia + Ib + Ic|)."""
        return np.asarray(np.abs(self.branch_i_to_pu.sum(axis=2)) * self.grid.per_unit.i_base_to_ka)

    @cached_property
    def branch_loading_percent(self) -> FloatArray:
        """Loading of each branch per phase ``(T, n_branch, 3)`` (% of the line's ampacity, of the
        transformer's rated current, on the more loaded end; 0 for switches)."""
        pu = self.grid.per_unit
        return np.maximum(
            np.abs(self.branch_i_from_pu) * pu.rate_from[:, None], np.abs(self.branch_i_to_pu) * pu.rate_to[:, None]
        )

    @cached_property
    def branch_loss_kw(self) -> FloatArray:
        """Active losses of each branch per phase ``(T, n_branch, 3)`` (kW)."""
        pu = self.grid.per_unit
        s = self.v_pu[:, pu.branch_from] * np.conj(self.branch_i_from_pu)
        s += self.v_pu[:, pu.branch_to] * np.conj(self.branch_i_to_pu)
        return np.asarray(s.real * BASE_KVA / 3.0)

    @property
    def line_i_n_ka(self) -> FloatArray:
        """Neutral current of each line ``(T, n_line)``, the larger of its two ends (kA)."""
        return np.maximum(self._lines(self.branch_i_n_from_ka), self._lines(self.branch_i_n_to_ka))

    @property
    def trafo_i_n_ka(self) -> FloatArray:
        """Neutral current of each transformer ``(T, n_trafo)``, the larger of its two ends (kA)."""
        return np.maximum(self._trafos(self.branch_i_n_from_ka), self._trafos(self.branch_i_n_to_ka))

    def violations(
        self,
        v_min_pu: float = 0.95,
        v_max_pu: float = 1.05,
        max_loading_percent: float = 100.0,
        max_unbalance_percent: float = EN50160_UNBALANCE_PERCENT,
    ) -> Violations:
        """Buses with a phase voltage outside ``[v_min_pu, v_max_pu]`` or an unbalance factor above
        ``max_unbalance_percent`` (default EN 50160's 2 %), lines or transformers with a phase above
        ``max_loading_percent``, in any converged snapshot, and the snapshots that did not converge."""
        return find_violations(
            self.converged,
            self.vm_pu.min(axis=2),
            self.vm_pu.max(axis=2),
            self.line_loading_percent.max(axis=2, initial=0.0),
            self.trafo_loading_percent.max(axis=2, initial=0.0),
            (v_min_pu, v_max_pu, max_loading_percent),
            (self.unbalance_percent, max_unbalance_percent),
        )

    def to_frame(self) -> pd.DataFrame:
        """One row per snapshot: lowest and highest phase voltage (pu), largest unbalance (%) and
        neutral current of a line or transformer (kA), peak line and transformer loading (%), losses
        and slack power (kW, kvar), convergence."""
        import pandas as pd

        def peak(arr: FloatArray) -> FloatArray:
            flat = arr.reshape(arr.shape[0], -1)
            return flat.max(axis=1, initial=0.0) if flat.shape[1] else np.zeros(arr.shape[0])

        return pd.DataFrame(
            {
                "min_vm_pu": self.vm_pu.min(axis=(1, 2)),
                "max_vm_pu": self.vm_pu.max(axis=(1, 2)),
                "max_unbalance_percent": self.unbalance_percent.max(axis=1),
                "max_neutral_i_ka": peak(np.concatenate([self.line_i_n_ka, self.trafo_i_n_ka], axis=1)),
                "max_line_loading_percent": peak(self.line_loading_percent),
                "max_trafo_loading_percent": peak(self.trafo_loading_percent),
                "losses_kw": self.losses_kw,
                "slack_p_kw": self.slack_kva.real.sum(axis=1),
                "slack_q_kvar": self.slack_kva.imag.sum(axis=1),
                "converged": self.converged,
                "iterations": self.iterations,
            }
        )

    def __repr__(self) -> str:
        done = int(self.converged.sum())
        if done == 0:
            return f"UnbalancedFlowResult({self.num_snapshots} snapshots, none converged)"
        ok = self.converged
        vm = self.vm_pu[ok]
        return (
            f"UnbalancedFlowResult({self.num_snapshots} snapshots, {done} converged; phase voltage {vm.min():.4f}-"
            f"{vm.max():.4f} pu, unbalance up to {self.unbalance_percent[ok].max():.2f} %, peak loading "
            f"{self.branch_loading_percent[ok].max(initial=0.0):.1f} %, losses {self.losses_kw[ok].mean():.1f} kW "
            "on average)"
        )


def unbalanced_power_flow(
    grid: Grid,
    p_kw: Any = None,
    q_kvar: Any = None,
    *,
    gen_p_kw: Any = None,
    gen_q_kvar: Any = None,
    tol_pu: float = 1e-9,
    max_iterations: int = 100,
    n_threads: int | None = None,
) -> UnbalancedFlowResult:
    """Solves the grid's three-phase unbalanced power flow for T snapshots of constant-power loads
    and generators on a radial or weakly meshed grid with one slack.

    ``p_kw``/``q_kvar``: load demand, either each load's total ``(T, n_load)`` (1-D for one
    snapshot), spread over its phases by ``grid.load_phase`` (``"a"``: all on phase a, ``"abc"``:
    a third on each, ...), or per phase ``(T, n_load, 3)`` (a, b, c to neutral; ab, bc, ca for
    delta loads). None: the grid's nominal loads; ``q_kvar`` None with ``p_kw`` given: zero.
    ``gen_p_kw``/``gen_q_kvar``: generator output the same way (by ``grid.gen_phase``; None: the
    grid's nominal output). A snapshot converges when no phase voltage moves by more than
    ``tol_pu`` between sweeps, within ``max_iterations`` sweeps; consecutive snapshots start from
    their predecessor's solution. ``n_threads`` never changes the results.

    The grid needs the lines' zero-sequence data, the transformers' vector groups and the slack's
    short-circuit power (see :class:`~smartopt.energy.Grid`; ``grid_from_pandapower`` reads them).
    Loops (rings, parallel transformers, closed couplers) are closed per sequence by the compensation
    method, as tightly as ``tol_pu``.
    """
    if p_kw is None and q_kvar is not None:
        raise ValueError("q_kvar needs p_kw")
    n_t = next((n for n in (_snapshots("p_kw", p_kw), _snapshots("gen_p_kw", gen_p_kw)) if n is not None), 1)
    load_phase, gen_phase = _connections(grid.load_phase, grid.num_loads), _connections(grid.gen_phase, grid.num_gens)
    load_q_nominal = grid.load_q_kvar if p_kw is None else np.zeros(grid.num_loads)
    load_p = _phase_powers("p_kw", p_kw, grid.load_p_kw, load_phase, n_t)
    load_q = _phase_powers("q_kvar", q_kvar, load_q_nominal, load_phase, n_t)
    gen_p = _phase_powers("gen_p_kw", gen_p_kw, grid.gen_p_kw, gen_phase, n_t)
    gen_q = _phase_powers("gen_q_kvar", gen_q_kvar, grid.gen_q_kvar, gen_phase, n_t)
    if n_t == 0:
        raise ValueError("p_kw has no snapshots")
    tol = positive_float("tol_pu", tol_pu)
    max_iterations = positive_int("max_iterations", max_iterations, maximum=INT32_MAX)
    threads = min(positive_int("n_threads", default_threads() if n_threads is None else n_threads), 1024)
    feeder = _FEEDERS.get(grid)
    if feeder is None:
        feeder = _FEEDERS[grid] = _sequence_feeder(grid)
    pu = grid.per_unit
    pos = np.concatenate([pu.load_pos, pu.gen_pos]).astype(np.int32)
    delta = np.array([_SHARES[str(c)][1] for c in [*load_phase, *gen_phase]], dtype=np.uint8)
    lane_length = min(MAX_LANE, max(1, -(-n_t // 64)))
    flows = _unbalanced_power_flow.solve(
        feeder,
        pos,
        delta,
        np.concatenate([load_p, -gen_p], axis=1),
        np.concatenate([load_q, -gen_q], axis=1),
        tol,
        max_iterations,
        lane_length,
        threads,
    )
    if not pu.num_sources:
        return UnbalancedFlowResult(
            grid=grid,
            v_pu=flows.v,
            branch_i_from_pu=flows.i_from,
            branch_i_to_pu=flows.i_to,
            slack_kva=flows.slack_kva,
            converged=flows.converged,
            iterations=flows.iterations,
        )
    # Meshed: drop the virtual source, the breakpoint leaves and the source branch; the slack supplies
    # what its source branch carries into it.
    n, nb = grid.num_buses, pu.num_branches
    return UnbalancedFlowResult(
        grid=grid,
        v_pu=np.ascontiguousarray(flows.v[:, :n]),
        branch_i_from_pu=np.ascontiguousarray(flows.i_from[:, :nb]),
        branch_i_to_pu=np.ascontiguousarray(flows.i_to[:, :nb]),
        slack_kva=-flows.v[:, grid.slack_bus] * np.conj(flows.i_to[:, nb]) * BASE_KVA / 3.0,
        converged=flows.converged,
        iterations=flows.iterations,
    )
