"""Batched power flow on a radial or weakly meshed :class:`~smartopt.energy.Grid` and its results.

``power_flow(grid, p_kw, q_kvar)`` solves T constant-power snapshots in one call with a
backward/forward sweep (compiled C++ by default, or the Numba kernel on radial grids), in parallel,
without the GIL. Loops and several slacks are closed by the compensation method (breakpoint
currents from the loop impedance matrix, see ``docs/meshed_power_flow.md``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from smartopt._core import _power_flow
from smartopt._serialise import ToDict
from smartopt._threads import default_threads
from smartopt._validation import INT32_MAX, FloatArray, float_array, index_int, positive_float, positive_int
from smartopt.energy.grid import BASE_KVA, Grid, PerUnitModel

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

    from smartopt.energy import _kernels

Backend = Literal["cpp", "numba"]
MAX_LANE = 64
"""Snapshots solved in a row, each starting from the previous one's solution (fewer sweeps on
smooth time series); a batch is cut into at least 64 such lanes, so it spreads over threads."""


def _powers(name: str, value: Any, nominal: FloatArray, n_snapshots: int | None) -> FloatArray:
    """``value`` as a ``(T, n)`` float array; a 1-D value is one snapshot; None repeats ``nominal``.
    Finite C-contiguous float64 input of the right shape passes without a copy."""
    if value is None:
        n_t = n_snapshots or 1
        return nominal[None, :] if n_t == 1 else np.broadcast_to(nominal, (n_t, nominal.size))
    arr = np.asarray(value)
    if arr.ndim == 1:
        arr = arr[None, :]
    ready = arr.dtype == np.float64 and arr.flags.c_contiguous and arr.ndim == 2 and arr.shape[1] == nominal.size
    if ready and (n_snapshots is None or arr.shape[0] == n_snapshots) and np.isfinite(arr).all():
        return arr
    return float_array(name, arr, (n_snapshots, nominal.size))  # converts, or raises naming the fault


def _snapshots(name: str, value: Any) -> int | None:
    """The snapshot count of a power argument: 1 for a 1-D one, its first dimension else (None: not given)."""
    if value is not None and np.ndim(value) == 0:
        raise ValueError(f"{name} must be an array (one value per element, or per snapshot and element), got {value!r}")
    return None if value is None else (1 if np.ndim(value) == 1 else int(np.shape(value)[0]))


@dataclass(frozen=True, eq=False)
class Violations:
    """Buses outside the voltage band and branches over their rating in any snapshot.

    For each violating bus: its worst voltage (pu; the lowest if it ever falls below the band,
    else the highest; of any phase in an unbalanced flow) and the number of snapshots outside the
    band. For each overloaded line or transformer: its peak loading (%) and the number of snapshots
    over the limit. From an unbalanced flow also each bus whose voltage unbalance factor exceeds
    the limit: its peak (%) and snapshots over it. ``failed``: the snapshots whose power flow did
    not converge (their voltages and loadings are unknown, so no violation there can be ruled
    out): a result with failed snapshots is never all clear.
    """

    bus: npt.NDArray[np.int64]
    bus_vm_pu: FloatArray
    bus_snapshots: npt.NDArray[np.int64]
    line: npt.NDArray[np.int64]
    line_loading_percent: FloatArray
    line_snapshots: npt.NDArray[np.int64]
    trafo: npt.NDArray[np.int64]
    trafo_loading_percent: FloatArray
    trafo_snapshots: npt.NDArray[np.int64]
    failed: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    unbalance_bus: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    unbalance_percent: FloatArray = field(default_factory=lambda: np.zeros(0))
    unbalance_snapshots: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))

    def __repr__(self) -> str:
        unbalanced = f"{self.unbalance_bus.size} buses unbalanced, " if self.unbalance_bus.size else ""
        return (
            f"Violations({self.bus.size} buses out of band, {unbalanced}{self.line.size} lines and {self.trafo.size} "
            f"transformers overloaded, {self.failed.size} failed snapshots)"
        )

    def __bool__(self) -> bool:
        return bool(self.bus.size or self.unbalance_bus.size or self.line.size or self.trafo.size or self.failed.size)

    @property
    def all_clear(self) -> bool:
        """True only when every snapshot converged and none breaks a limit."""
        return not self

    def to_frame(self) -> pd.DataFrame:
        """One row per violating element: kind (bus/unbalance/line/trafo), index, worst value,
        snapshots; one row of kind ``"failed"`` per snapshot that did not converge (index: the
        snapshot, worst NaN)."""
        import pandas as pd

        parts = [
            ("bus", self.bus, self.bus_vm_pu, self.bus_snapshots),
            ("unbalance", self.unbalance_bus, self.unbalance_percent, self.unbalance_snapshots),
            ("line", self.line, self.line_loading_percent, self.line_snapshots),
            ("trafo", self.trafo, self.trafo_loading_percent, self.trafo_snapshots),
        ]
        return pd.DataFrame(
            [
                {"kind": kind, "index": int(i), "worst": float(v), "snapshots": int(s)}
                for kind, idx, worst, snaps in parts
                for i, v, s in zip(idx, worst, snaps, strict=True)
            ]
            + [{"kind": "failed", "index": int(t), "worst": float("nan"), "snapshots": 1} for t in self.failed],
            columns=["kind", "index", "worst", "snapshots"],
        )


def _over(value: FloatArray, limit: float) -> tuple[npt.NDArray[np.int64], FloatArray, npt.NDArray[np.int64]]:
    """Columns of ``value`` (T, n) above ``limit`` in any row, their peaks and rows over it."""
    over = value > limit
    idx = np.flatnonzero(over.any(axis=0))
    return idx, value.max(axis=0, initial=0.0)[idx], over.sum(axis=0)[idx]


def find_violations(
    converged: npt.NDArray[np.bool_],
    vm_low: FloatArray,
    vm_high: FloatArray,
    line_loading: FloatArray,
    trafo_loading: FloatArray,
    limits: tuple[float, float, float],
    unbalance: tuple[FloatArray, float] | None = None,
) -> Violations:
    """The :class:`Violations` of a power flow's converged snapshots: ``vm_low``/``vm_high`` ``(T, n_bus)``
    the lowest and highest voltage of each bus (its phases' in an unbalanced flow), the loadings
    ``(T, n)`` (%), ``limits`` = (v_min_pu, v_max_pu, max_loading_percent) and, from an unbalanced
    flow, the unbalance factor ``(T, n_bus)`` (%) and its limit."""
    ok = converged
    lo, hi = vm_low[ok], vm_high[ok]
    low, high = lo < limits[0], hi > limits[1]
    out = low | high
    bus = np.flatnonzero(out.any(axis=0))
    worst = np.where(low.any(axis=0), lo.min(axis=0, initial=np.inf), hi.max(axis=0, initial=-np.inf))
    line, line_peak, line_n = _over(line_loading[ok], limits[2])
    trafo, trafo_peak, trafo_n = _over(trafo_loading[ok], limits[2])
    failed = np.flatnonzero(~ok).astype(np.int64)
    found = Violations(
        bus, worst[bus], out.sum(axis=0)[bus], line, line_peak, line_n, trafo, trafo_peak, trafo_n, failed
    )
    if unbalance is None:
        return found
    u_bus, u_peak, u_n = _over(unbalance[0][ok], unbalance[1])
    return dataclasses.replace(found, unbalance_bus=u_bus, unbalance_percent=u_peak, unbalance_snapshots=u_n)


class BranchViews:
    """What both power-flow results derive alike from their per-branch arrays (snapshots first; over
    lines, then transformers, then closed switches; per phase in the unbalanced flow): the snapshot
    count, the lines' and transformers' currents, loadings and losses, and the grid's losses."""

    grid: Grid
    v_pu: npt.NDArray[np.complex128]

    if TYPE_CHECKING:

        @property
        def branch_i_from_ka(self) -> FloatArray: ...
        @property
        def branch_i_to_ka(self) -> FloatArray: ...
        @property
        def branch_loading_percent(self) -> FloatArray: ...
        @property
        def branch_loss_kw(self) -> FloatArray: ...

    @property
    def num_snapshots(self) -> int:
        """Number of snapshots solved."""
        return int(self.v_pu.shape[0])

    @cached_property
    def vm_pu(self) -> FloatArray:
        """Voltage magnitudes (pu; of the phase-to-neutral nominal voltage per phase): ``(T, n_bus)``,
        or ``(T, n_bus, 3)`` in the unbalanced flow."""
        return np.abs(self.v_pu)

    @cached_property
    def va_degree(self) -> FloatArray:
        """Voltage angles (degrees), shaped as :attr:`vm_pu`."""
        return np.angle(self.v_pu, deg=True)

    def _lines(self, arr: FloatArray) -> FloatArray:
        return arr[:, : self.grid.num_lines]

    def _trafos(self, arr: FloatArray) -> FloatArray:
        nl = self.grid.num_lines
        return arr[:, nl : nl + self.grid.num_trafos]

    @property
    def line_i_ka(self) -> FloatArray:
        """Current of each line (per phase in the unbalanced flow), the larger of its two ends (kA)."""
        return np.maximum(self._lines(self.branch_i_from_ka), self._lines(self.branch_i_to_ka))

    @property
    def line_loading_percent(self) -> FloatArray:
        """Line loading (% of the line's rated current, per phase in the unbalanced flow)."""
        return self._lines(self.branch_loading_percent)

    @property
    def trafo_loading_percent(self) -> FloatArray:
        """Transformer loading (% of rated current on the more loaded side)."""
        return self._trafos(self.branch_loading_percent)

    @property
    def line_loss_kw(self) -> FloatArray:
        """Active losses of each line (kW)."""
        return self._lines(self.branch_loss_kw)

    @property
    def trafo_loss_kw(self) -> FloatArray:
        """Active losses of each transformer (kW)."""
        return self._trafos(self.branch_loss_kw)

    @property
    def losses_kw(self) -> FloatArray:
        """Active losses of the whole grid per snapshot (kW)."""
        return np.asarray(self.branch_loss_kw.reshape(self.num_snapshots, -1).sum(axis=1))


@dataclass(frozen=True, eq=False)
class PowerFlowResult(BranchViews, ToDict):
    """Power flow of T snapshots: complex bus voltages ``(T, n_bus)`` in the grid's bus order and
    complex branch currents ``(T, n_branch)`` flowing into each end (pu), over lines, then
    transformers, then impedances, then closed switches ("from" is a line's from bus, a transformer's HV side).
    Magnitudes, angles, kA, kW, loadings and violations derive from them on first use. Snapshots
    that did not converge are NaN with ``converged`` False."""

    _inputs = ("grid",)

    grid: Grid
    v_pu: npt.NDArray[np.complex128]
    branch_i_from_pu: npt.NDArray[np.complex128]
    branch_i_to_pu: npt.NDArray[np.complex128]
    slack_kva: npt.NDArray[np.complex128]
    """Complex power the slacks supply per snapshot (kVA)."""
    slacks_kva: npt.NDArray[np.complex128]
    """Complex power each slack supplies ``(T, n_slack)`` (kVA), in the order of ``grid.slack_buses``."""
    converged: npt.NDArray[np.bool_]
    iterations: npt.NDArray[np.int32]
    pv_q_kvar: FloatArray = field(default_factory=lambda: np.zeros((0, 0)))
    """Reactive power each voltage-controlled generator feeds in ``(T, n_pv)`` (kvar)."""

    @cached_property
    def branch_i_from_ka(self) -> FloatArray:
        """Current magnitude at each branch's from end ``(T, n_branch)`` (kA)."""
        return np.abs(self.branch_i_from_pu) * self.grid.per_unit.i_base_from_ka

    @cached_property
    def branch_i_to_ka(self) -> FloatArray:
        """Current magnitude at each branch's to end ``(T, n_branch)`` (kA)."""
        return np.abs(self.branch_i_to_pu) * self.grid.per_unit.i_base_to_ka

    @cached_property
    def branch_loading_percent(self) -> FloatArray:
        """Loading of each branch (% of the line's ampacity, of the transformer's rated current on
        the more loaded side; 0 for switches)."""
        pu = self.grid.per_unit
        return np.maximum(np.abs(self.branch_i_from_pu) * pu.rate_from, np.abs(self.branch_i_to_pu) * pu.rate_to)

    @cached_property
    def branch_s_from_kva(self) -> npt.NDArray[np.complex128]:
        """Complex power into each branch at its from end (kVA)."""
        v = self.v_pu[:, self.grid.per_unit.branch_from]
        return np.asarray(v * np.conj(self.branch_i_from_pu) * BASE_KVA)

    @cached_property
    def branch_s_to_kva(self) -> npt.NDArray[np.complex128]:
        """Complex power into each branch at its to end (kVA)."""
        v = self.v_pu[:, self.grid.per_unit.branch_to]
        return np.asarray(v * np.conj(self.branch_i_to_pu) * BASE_KVA)

    @property
    def branch_p_from_kw(self) -> FloatArray:
        """Active power entering each branch at its from end (kW), per snapshot."""
        return self.branch_s_from_kva.real

    @property
    def branch_q_from_kvar(self) -> FloatArray:
        """Reactive power entering each branch at its from end (kvar), per snapshot."""
        return self.branch_s_from_kva.imag

    @property
    def branch_p_to_kw(self) -> FloatArray:
        """Active power entering each branch at its to end (kW), per snapshot."""
        return self.branch_s_to_kva.real

    @property
    def branch_q_to_kvar(self) -> FloatArray:
        """Reactive power entering each branch at its to end (kvar), per snapshot."""
        return self.branch_s_to_kva.imag

    @property
    def slack_p_kw(self) -> FloatArray:
        """Active power the slack buses supply (kW), per snapshot."""
        return self.slack_kva.real

    @property
    def slack_q_kvar(self) -> FloatArray:
        """Reactive power the slack buses supply (kvar), per snapshot."""
        return self.slack_kva.imag

    @property
    def branch_loss_kw(self) -> FloatArray:
        """Active losses of each branch (kW)."""
        return self.branch_p_from_kw + self.branch_p_to_kw

    def violations(
        self, v_min_pu: float = 0.95, v_max_pu: float = 1.05, max_loading_percent: float = 100.0
    ) -> Violations:
        """Buses outside ``[v_min_pu, v_max_pu]`` and lines or transformers above
        ``max_loading_percent`` in any converged snapshot, and the snapshots that did not converge
        (``failed``: a failed snapshot is a violation of its own, never all clear)."""
        return find_violations(
            self.converged,
            self.vm_pu,
            self.vm_pu,
            self.line_loading_percent,
            self.trafo_loading_percent,
            (v_min_pu, v_max_pu, max_loading_percent),
        )

    def to_frame(self) -> pd.DataFrame:
        """One row per snapshot: min/max voltage (pu), peak line and transformer loading (%),
        losses and slack power (kW), convergence."""
        import pandas as pd

        def peak(arr: FloatArray) -> FloatArray:
            return arr.max(axis=1, initial=0.0) if arr.shape[1] else np.zeros(arr.shape[0])

        return pd.DataFrame(
            {
                "min_vm_pu": self.vm_pu.min(axis=1),
                "max_vm_pu": self.vm_pu.max(axis=1),
                "max_line_loading_percent": peak(self.line_loading_percent),
                "max_trafo_loading_percent": peak(self.trafo_loading_percent),
                "losses_kw": self.losses_kw,
                "slack_p_kw": self.slack_p_kw,
                "slack_q_kvar": self.slack_q_kvar,
                "converged": self.converged,
                "iterations": self.iterations,
            }
        )

    def plot_voltage_profile(self, snapshot: int = 0, ax: Axes | None = None) -> Axes:
        """Bus voltages (pu) of one snapshot against electrical distance from the slack (branch count)."""
        import matplotlib.pyplot as plt

        pu = self.grid.per_unit
        depth = np.zeros(pu.position_bus.size)
        for pos in range(1, pu.position_bus.size):
            depth[pu.position_bus[pos]] = depth[pu.position_bus[pu.position_parent[pos]]] + 1
        if ax is None:
            _, ax = plt.subplots()
        ax.scatter(depth[: self.grid.num_buses] - (pu.num_sources > 0), self.vm_pu[snapshot], s=12)
        ax.set_xlabel("branches from the slack")
        ax.set_ylabel("voltage (pu)")
        ax.set_title(f"snapshot {snapshot}: min {np.nanmin(self.vm_pu[snapshot]):.4f} pu")
        return ax

    def __repr__(self) -> str:
        done = int(self.converged.sum())
        if done == 0:
            return f"PowerFlowResult({self.num_snapshots} snapshots, none converged)"
        vm = self.vm_pu[self.converged]
        return (
            f"PowerFlowResult({self.num_snapshots} snapshots, {done} converged; voltage {vm.min():.4f}-"
            f"{vm.max():.4f} pu, peak loading {np.nanmax(self.branch_loading_percent, initial=0.0):.1f} %, "
            f"losses {np.nanmean(self.losses_kw):.1f} kW on average)"
        )


def _shunt_currents(
    pu: PerUnitModel,
    v: npt.NDArray[np.complex128],
    i_from: npt.NDArray[np.complex128],
    i_to: npt.NDArray[np.complex128],
    slack_kva: npt.NDArray[np.complex128],
) -> tuple[npt.NDArray[np.complex128], npt.NDArray[np.complex128], npt.NDArray[np.complex128]]:
    """Branch currents and slack power with the shunts taken out of the branches they were folded
    into (see ``grid._fold_shunts``): the sweep's child-end current omits the shunt's ``y V``, and a
    shunt at the one slack (position 0) adds ``|V|^2 conj(y)`` to its power. No copy without shunts."""
    y = pu.shunt_y
    if not y.any():
        return i_from, i_to, slack_kva
    i_from, i_to = i_from.copy(), i_to.copy()
    bus = pu.position_bus
    child = np.flatnonzero(bus < pu.num_buses)
    child = child[(child > 0) & (y[bus[child]] != 0)]  # position 0: the one slack, or the virtual source
    drawn = v[:, bus[child]] * y[bus[child]]
    flipped = pu.position_flipped[child].astype(bool)
    i_from[:, pu.position_branch[child[flipped]]] -= drawn[:, flipped]
    i_to[:, pu.position_branch[child[~flipped]]] -= drawn[:, ~flipped]
    if pu.num_sources == 0:
        v0 = v[:, bus[0]]
        slack_kva = slack_kva + np.abs(v0) ** 2 * np.conj(y[bus[0]]) * BASE_KVA
    return i_from, i_to, slack_kva


def _voltage_control(
    grid: Grid,
    solve: Callable[[FloatArray], _power_flow.Flows | _kernels.Flows],
    n_t: int,
    tol: float,
    max_rounds: int,
    enforce_q_limits: bool,
) -> tuple[_power_flow.Flows | _kernels.Flows, FloatArray]:
    """Solves with the voltage-controlled generators as PQ injections whose Q is corrected between
    batched solves until each holds its voltage (PV-bus compensation, Luo and Semlyen 1990): the
    Q corrections solve ``S dQ = dV`` per snapshot, with ``S[i, j] = d|V_i| / dQ_j`` from the grid's
    injection response (:meth:`PerUnitModel.injection_response`) at the present voltages. Returns
    the last solve (snapshots that never held their voltages NaN and not converged; iterations the
    sweeps of all rounds) and each generator's Q ``(T, n_pv)`` (kvar)."""
    pu, bus = grid.per_unit, grid.pv_bus
    rep = pu.bus_representative()
    tied = np.isin(rep[bus], rep[grid.slack_buses]) | (np.bincount(rep[bus], minlength=grid.num_buses)[rep[bus]] > 1)
    if tied.any():
        k = int(np.flatnonzero(tied)[0])
        raise ValueError(
            f"pv_bus[{k}]={bus[k]} is tied by closed switches to a slack or another voltage-controlled bus"
        )
    z = pu.injection_response(bus)
    n_pv = bus.size
    low, high = grid.pv_min_q_kvar, grid.pv_max_q_kvar
    q = np.clip(np.zeros((n_t, n_pv)), low, high) if enforce_q_limits else np.zeros((n_t, n_pv))
    held = np.zeros((n_t, n_pv), bool)  # at a Q limit: a PQ bus from then on
    sweeps = np.zeros(n_t, np.int32)
    for _ in range(max_rounds):
        flows = solve(q)
        sweeps += flows.iterations
        v = flows.v[:, bus]
        vm = np.abs(v)
        dv = np.where(held, 0.0, grid.pv_vm_pu - vm)
        done = flows.converged & (np.abs(dv).max(axis=1) <= tol)
        todo = flows.converged & ~done
        if not todo.any():
            break
        sens = np.real(1j * z[None] * np.conj(v)[:, :, None] / np.conj(v)[:, None, :]) / vm[:, :, None] / BASE_KVA
        sens = np.where(held[:, :, None], np.eye(n_pv)[None], sens)  # held: dQ = 0
        dq = np.linalg.solve(sens[todo], dv[todo][:, :, None])[:, :, 0]
        moved = q[todo] + dq
        if enforce_q_limits:
            held[todo] |= (moved < low) | (moved > high)
            moved = np.clip(moved, low, high)
        q[todo] = moved
    failed = ~done
    for arr in (flows.v, flows.i_from, flows.i_to, flows.slack_kva):
        arr[failed] = np.nan
    flows.converged[failed] = False
    flows.iterations[:] = np.where(failed, 0, sweeps)
    return flows, np.where(failed[:, None], np.nan, q)


def power_flow(
    grid: Grid,
    p_kw: Any = None,
    q_kvar: Any = None,
    *,
    gen_p_kw: Any = None,
    gen_q_kvar: Any = None,
    tol_pu: float = 1e-9,
    max_iterations: int = 100,
    n_threads: int | None = None,
    backend: Backend = "cpp",
    enforce_q_limits: bool = False,
) -> PowerFlowResult:
    """Solves the grid's power flow for T snapshots of constant-power injections, on a radial or
    weakly meshed grid (loops are closed by breakpoint currents, as tightly as ``tol_pu``).

    ``p_kw``/``q_kvar``: load demand, shape ``(T, n_load)`` (1-D for one snapshot; None: the grid's
    nominal loads, ``q_kvar`` None with ``p_kw`` given: zero). ``gen_p_kw``/``gen_q_kvar``: generator
    output ``(T, n_gen)`` (None: the grid's nominal output in every snapshot). A snapshot converges
    when no bus voltage moves by more than ``tol_pu`` between sweeps, within ``max_iterations`` sweeps;
    consecutive snapshots start from their predecessor's solution (see ``MAX_LANE``).
    ``n_threads`` (default: ``SMARTOPT_NUM_THREADS``, else all cores) never changes the results.
    ``backend="numba"`` (the Numba twin of the sweep) takes radial grids with one slack only.
    Voltage-controlled generators (``grid.pv_bus``) hold their voltage magnitude to ``tol_pu`` by an
    outer PV-bus compensation around the sweep (at most ``max_iterations`` rounds; their Q in
    ``pv_q_kvar``); ``enforce_q_limits`` holds a generator that reaches a Q limit at that limit
    (a PQ bus from then on, as pandapower's ``enforce_q_lims``).

    Example (the district's day, 96 quarter hours, uncontrolled EV charging):
        >>> from smartopt.datasets import sejong_5_1
        >>> flow = sejong_5_1().energy.power_flow()
        >>> int(flow.converged.sum()), round(float(flow.vm_pu.min()), 3)
        (96, 0.966)
    """
    if p_kw is None and q_kvar is not None:
        raise ValueError("q_kvar needs p_kw")
    n_t = _snapshots("p_kw", p_kw)
    load_p = _powers("p_kw", p_kw, grid.load_p_kw, n_t)
    n_t = load_p.shape[0]
    if n_t == 0:
        raise ValueError("p_kw has no snapshots")
    load_q = _powers("q_kvar", q_kvar, grid.load_q_kvar if p_kw is None else np.zeros(grid.num_loads), n_t)
    gen_p = _powers("gen_p_kw", gen_p_kw, grid.gen_p_kw, n_t)
    gen_q = _powers("gen_q_kvar", gen_q_kvar, grid.gen_q_kvar, n_t)
    tol = positive_float("tol_pu", tol_pu)
    max_iterations = positive_int("max_iterations", max_iterations, maximum=INT32_MAX)
    threads = min(positive_int("n_threads", default_threads() if n_threads is None else n_threads), 1024)
    pu = grid.per_unit
    lane_length = min(MAX_LANE, max(1, -(-n_t // 64)))
    if backend not in ("cpp", "numba"):
        raise ValueError(f"backend must be 'cpp' or 'numba', got {backend!r}")
    if backend == "numba" and pu.num_sources:
        raise ValueError(
            f"backend='numba' solves radial grids with one slack only (this grid has {grid.num_loops} loops "
            f"and {grid.slack_buses.size} slacks); use backend='cpp'"
        )
    pv_p = np.broadcast_to(grid.pv_p_kw, (n_t, grid.pv_bus.size))
    all_p = np.ascontiguousarray(np.hstack([gen_p, pv_p])) if grid.pv_bus.size else gen_p

    def solve(pv_q: FloatArray) -> _power_flow.Flows | _kernels.Flows:
        all_q = np.ascontiguousarray(np.hstack([gen_q, pv_q])) if grid.pv_bus.size else gen_q
        args = (pu.load_pos, load_p, load_q, pu.gen_pos, all_p, all_q, tol, max_iterations, lane_length, threads)
        if backend == "cpp":
            return _power_flow.solve(pu.feeder, *args)
        from smartopt.energy._kernels import solve_numba

        return solve_numba(pu, *args)

    if grid.pv_bus.size:
        flows, pv_q = _voltage_control(grid, solve, n_t, tol, max_iterations, enforce_q_limits)
    else:
        flows, pv_q = solve(np.zeros((n_t, 0))), np.zeros((n_t, 0))
    i_from, i_to, slack_kva = _shunt_currents(pu, flows.v, flows.i_from, flows.i_to, flows.slack_kva)
    if not pu.num_sources:
        return PowerFlowResult(
            grid=grid,
            v_pu=flows.v,
            branch_i_from_pu=i_from,
            branch_i_to_pu=i_to,
            slack_kva=slack_kva,
            slacks_kva=slack_kva[:, None],
            converged=flows.converged,
            iterations=flows.iterations,
            pv_q_kvar=pv_q,
        )
    # Meshed: drop the virtual source, the breakpoint leaves and the source branches; each slack
    # supplies what its source branch carries into it.
    n, nb = grid.num_buses, pu.num_branches
    v_slacks = flows.v[:, grid.slack_buses]
    return PowerFlowResult(
        grid=grid,
        v_pu=np.ascontiguousarray(flows.v[:, :n]),
        branch_i_from_pu=np.ascontiguousarray(i_from[:, :nb]),
        branch_i_to_pu=np.ascontiguousarray(i_to[:, :nb]),
        slack_kva=slack_kva,
        slacks_kva=-v_slacks * np.conj(i_to[:, nb:]) * BASE_KVA,
        converged=flows.converged,
        iterations=flows.iterations,
        pv_q_kvar=pv_q,
    )


@dataclass(frozen=True, eq=False)
class VoltageSensitivity:
    """Voltage sensitivities at an operating point: ``dv_dp[i, j]`` is the change of bus i's voltage
    magnitude (pu) per kW of extra injection (generation) at bus j, ``dv_dq`` per kvar. A load of
    +1 kW at bus j lowers bus i's voltage by about ``dv_dp[i, j]``. Slack-bus rows and columns are 0."""

    dv_dp: FloatArray
    dv_dq: FloatArray

    def __repr__(self) -> str:
        return (
            f"VoltageSensitivity({self.dv_dp.shape[0]} buses: dV/dP up to "
            f"{np.abs(self.dv_dp).max(initial=0.0):.3g} pu/kW, "
            f"dV/dQ up to {np.abs(self.dv_dq).max(initial=0.0):.3g} pu/kvar)"
        )


def voltage_sensitivities(result: PowerFlowResult, snapshot: int = 0) -> VoltageSensitivity:
    """dV/dP and dV/dQ (pu per kW / kvar) at one solved snapshot, from the inverse of the
    Newton-Raphson Jacobian of the bus power injections."""
    snapshot = index_int("snapshot", snapshot, result.num_snapshots)
    if not result.converged[snapshot]:
        raise ValueError(f"snapshot {snapshot} did not converge")
    grid = result.grid
    pu: PerUnitModel = grid.per_unit
    rep = pu.bus_representative()
    bus = np.arange(grid.num_buses)
    keep = np.flatnonzero((rep == bus) & ~np.isin(bus, rep[grid.slack_buses]))
    v = result.vm_pu[snapshot] * np.exp(1j * np.deg2rad(result.va_degree[snapshot]))
    y = pu.ybus()
    i_bus = y @ v
    dv_va = 1j * np.diag(v) @ np.conj(np.diag(i_bus) - y * v[None, :])
    dv_vm = np.diag(v) @ np.conj(y * (v / np.abs(v))[None, :]) + np.diag(np.conj(i_bus) * v / np.abs(v))
    sub = np.ix_(keep, keep)
    jac = np.block([[dv_va[sub].real, dv_vm[sub].real], [dv_va[sub].imag, dv_vm[sub].imag]])
    inv = np.linalg.inv(jac)
    m = keep.size
    n = grid.num_buses
    dv_dp, dv_dq = np.zeros((n, n)), np.zeros((n, n))
    # Rows/columns of merged buses copy their representative's.
    pos = np.full(n, -1)
    pos[keep] = np.arange(m)
    rows = pos[rep]
    valid = rows >= 0
    r_idx, c_idx = np.ix_(np.flatnonzero(valid), np.flatnonzero(valid))
    dv_dp[r_idx, c_idx] = inv[m:, :m][np.ix_(rows[valid], rows[valid])] / BASE_KVA
    dv_dq[r_idx, c_idx] = inv[m:, m:][np.ix_(rows[valid], rows[valid])] / BASE_KVA
    return VoltageSensitivity(dv_dp=dv_dp, dv_dq=dv_dq)
