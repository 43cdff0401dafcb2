"""The distribution grid model: buses, lines, transformers, switches, the slacks, loads and
generators, and its per-unit two-port model, as the power-flow solvers see it (:attr:`Grid.per_unit`).

Per-unit bases: 1 MVA for the whole grid and each bus's nominal voltage (the conventions of
pandapower and MATPOWER, so results agree with theirs to round-off). Branches are numbered lines,
then transformers, then impedances, then closed switches. Each line, transformer or impedance is a two-port
``[I_from, I_to] = [[yff, yft], [ytf, ytt]] @ [V_from, V_to]``: lines are pi models; transformers
are an ideal ratio ``N = tap * exp(j shift)`` on the HV side followed by a T model (half the
leakage impedance on each side of the magnetising branch), as pandapower's default ``"t"`` model;
impedances are series elements (pu, possibly non-reciprocal, as pandapower's ``impedance``).
Closed switches are ideal ties. Shunts are constant admittances at their buses; the per-unit model
folds each into the two-port that feeds its bus, so they cost the sweep nothing.

A grid may be weakly meshed (parallel transformers, closed bus couplers and rings, several slacks):
the per-unit model then spans a tree from a virtual source that feeds every slack through an ideal
source branch, and breaks each remaining loop at one branch (see ``docs/meshed_power_flow.md``).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt

from smartopt._core import _power_flow
from smartopt._serialise import ToDict
from smartopt._validation import FILLED, FloatArray, IntArray, assign_frozen, float_array, index_array


def _loop_path(adjacent: list[list[int]], start: int, goal: int) -> list[int]:
    """The bus path from ``start`` to ``goal`` in a forest given by adjacency lists."""
    came_from = {start: start}
    todo = deque([start])
    while todo:
        v = todo.popleft()
        if v == goal:
            break
        for w in adjacent[v]:
            if w not in came_from:
                came_from[w] = v
                todo.append(w)
    path = [goal]
    while path[-1] != start:
        path.append(came_from[path[-1]])
    return path[::-1]


def _topology_check(n_bus: int, ends: list[tuple[str, int, int]], num_ties: int, slacks: list[int]) -> None:
    """Raises ValueError naming a loop of closed switches (the first ``num_ties`` ends; zero
    impedance, also between two slacks) or the first bus no branch connects to a slack."""
    parent = list(range(n_bus))
    adjacent: list[list[int]] = [[] for _ in range(n_bus)]

    def root(v: int) -> int:
        while parent[v] != v:
            parent[v] = parent[parent[v]]
            v = parent[v]
        return v

    def join(a: int, b: int) -> None:
        parent[root(a)] = root(b)
        adjacent[a].append(b)
        adjacent[b].append(a)

    for a in slacks[1:]:  # the slacks are tied through their common (virtual) source
        join(a, slacks[0])
    for name, a, b in ends[:num_ties]:
        if root(a) == root(b):
            loop = " - ".join(f"bus {v}" for v in [*_loop_path(adjacent, b, a), b])
            raise ValueError(
                f"{name} (bus {a} - bus {b}) closes a loop of closed switches"
                f"{' and slacks' if len(slacks) > 1 else ''} (zero impedance): {loop}"
            )
        join(a, b)
    for _, a, b in ends[num_ties:]:
        parent[root(a)] = root(b)
    islanded = [v for v in range(n_bus) if root(v) != root(slacks[0])]
    if islanded:
        to = f"the slack bus {slacks[0]}" if len(slacks) == 1 else "any slack bus"
        raise ValueError(f"bus {islanded[0]} is islanded: no path to {to}")


VECTOR_GROUPS = ("Dyn", "YNyn", "Yzn")
"""Transformer vector groups of the unbalanced power flow (zero-sequence models of pandapower's runpp_3ph)."""
PHASE_CONNECTIONS = ("abc", "a", "b", "c", "delta", "ab", "bc", "ca")
"""How a load or generator connects: "abc" three-phase wye (its power split equally), "a"/"b"/"c"
single-phase to neutral, "delta" three-phase between phases (split equally over ab, bc, ca),
"ab"/"bc"/"ca" single-phase between two phases."""

MAX_GRID_VALUE = 1e9
"""Largest magnitude of a grid quantity (kV, ohm/km, kA, kVA, %, kW, ...): larger ones are unit
mistakes and would overflow the per-unit arithmetic."""
MIN_GRID_VALUE = 1e-9
"""Smallest positive grid quantity: below it (e.g. a subnormal impedance) the per-unit arithmetic overflows."""


def _quantity(name: str, value: Any, shape: tuple[int | None, ...] | None, **checks: Any) -> FloatArray:
    """A validated float array of a grid quantity: finite, magnitude at most :data:`MAX_GRID_VALUE`,
    and positive ones (divisors: ratings, voltages, impedances) at least :data:`MIN_GRID_VALUE`."""
    out = float_array(name, value, shape, max_abs=MAX_GRID_VALUE, **checks)
    tiny = out < MIN_GRID_VALUE if checks.get("positive") else np.zeros(out.shape, bool)
    if tiny.any():
        k = tuple(int(i) for i in np.argwhere(tiny)[0])
        at = list(k) if k else ""
        raise ValueError(f"{name}{at}={out[k]} is out of range (magnitude at least {MIN_GRID_VALUE:g})")
    return out


def _quantity_or_unknown(name: str, value: Any, size: int) -> FloatArray:
    """A validated non-negative quantity of ``size`` entries, NaN where not known."""
    arr = np.asarray(value)
    unknown = np.isnan(arr) if arr.dtype.kind == "f" else np.zeros(arr.shape, bool)
    return np.where(unknown, np.nan, _quantity(name, np.where(unknown, 0.0, arr), (size,), nonnegative=True))


def _filled(name: str, value: Any, default: FloatArray, **checks: Any) -> FloatArray:
    """A validated float array shaped like ``default``, or ``default`` when left out."""
    return default if value is None else _quantity(name, value, default.shape, **checks)


@dataclass(frozen=True, eq=False)
class Grid(ToDict):
    """A radial or weakly meshed distribution grid, validated on construction (shapes, ids, signs,
    connection to a slack).

    - Buses: nominal voltage ``bus_vn_kv`` (kV), optional names and coordinates (m).
    - Lines join two buses of the same voltage: series impedance ``r + jx`` (ohm/km), shunt
      susceptance ``b`` (uS/km, split half to each end), length (km; left out, 1 km, so the
      per-km values are whole-line values) and ampacity (kA) for the loading in %.
    - Two-winding transformers join an HV and an LV bus: rating (kVA), short-circuit voltage and
      its resistive part (copper losses) in % of rating, iron losses (kW) and no-load current (%)
      in a T model, rated winding voltages (kV, default the buses'), an off-nominal tap ratio
      (pu of the tapped winding's rated voltage) on the ``"hv"`` or ``"lv"`` side and a phase
      shift (degrees, e.g. 150 for Dyn5).
    - Impedances join two buses (of any voltage) in series: ``impedance_r_pu + j impedance_x_pu``
      from the from bus to the to bus and ``impedance_rtf_pu + j impedance_xtf_pu`` back (default the
      same), in pu of 1 MVA and the buses' nominal voltages (pandapower's ``impedance`` table).
    - Closed bus-bus switches tie two buses of the same voltage with zero impedance (open switches
      are left out); they may not close a loop on their own.
    - The slack bus holds ``slack_vm_pu`` at ``slack_va_degree``; further slacks (e.g. a second
      substation's external grid) ``extra_slack_bus`` at ``extra_slack_vm_pu``/``extra_slack_va_degree``.
    - Loops (parallel transformers, closed couplers and rings, paths between two slacks) are allowed:
      ``num_loops`` counts them.
    - Loads and generators (PV, batteries, ...) are constant-power injections at their buses, with
      nominal P (kW) and Q (kvar) used when a power flow is called without time series.
    - For the unbalanced power flow (``docs/unbalanced_power_flow.md``): each load's and generator's
      phase connection ``load_phase``/``gen_phase`` (:data:`PHASE_CONNECTIONS`, or 0, 1, 2 for
      single phase a, b, c; None: all ``"abc"``), lines' zero-sequence ``r0 + jx0`` (ohm/km; NaN
      where not known, which only the unbalanced flow refuses) and
      ``b0`` (uS/km, default 0), transformers' vector group (:data:`VECTOR_GROUPS`) and
      zero-sequence short-circuit voltage and its resistive part (%, default the positive-sequence
      ones), magnetising impedance (% of it, default 100) and its R/X (default 0), the HV side's
      share of the leakage (default 0.9), and the slack's short-circuit power (MVA), R/X, X0/X and
      R0/X0 (runpp_3ph's ext_grid ``s_sc_max_mva``, ``rx_max``, ``x0x_max``, ``r0x0_max``).
    - Shunts (capacitor banks, reactors, the impedance part of a ward) are constant admittances,
      given by the P (kW) and Q (kvar) they draw at 1 pu voltage (Q > 0 inductive, < 0 capacitive).
    - Voltage-controlled generators (PV buses) feed in ``pv_p_kw`` and hold ``pv_vm_pu`` at their
      bus with whatever Q that takes, within ``[pv_min_q_kvar, pv_max_q_kvar]`` when the power flow
      is asked to enforce limits (default: none); one per bus, never at a slack or switch-tied to one.
    """

    bus_vn_kv: FloatArray
    line_from: IntArray
    line_to: IntArray
    line_r_ohm_per_km: FloatArray
    line_x_ohm_per_km: FloatArray
    line_max_i_ka: FloatArray
    trafo_hv_bus: IntArray
    trafo_lv_bus: IntArray
    trafo_sn_kva: FloatArray
    trafo_vk_percent: FloatArray
    trafo_vkr_percent: FloatArray
    load_bus: IntArray
    slack_bus: int = 0
    slack_vm_pu: float = 1.0
    slack_va_degree: float = 0.0
    line_length_km: FloatArray = FILLED
    line_b_us_per_km: FloatArray = FILLED
    trafo_pfe_kw: FloatArray = FILLED
    trafo_i0_percent: FloatArray = FILLED
    trafo_vn_hv_kv: FloatArray = FILLED
    trafo_vn_lv_kv: FloatArray = FILLED
    trafo_tap_ratio: FloatArray = FILLED
    trafo_tap_side: npt.NDArray[np.str_] = FILLED
    trafo_shift_degree: FloatArray = FILLED
    switch_bus_a: IntArray = FILLED
    switch_bus_b: IntArray = FILLED
    load_p_kw: FloatArray = FILLED
    load_q_kvar: FloatArray = FILLED
    gen_bus: IntArray = FILLED
    gen_p_kw: FloatArray = FILLED
    gen_q_kvar: FloatArray = FILLED
    bus_name: npt.NDArray[np.str_] = FILLED
    bus_xy: FloatArray | None = None
    extra_slack_bus: IntArray = FILLED
    extra_slack_vm_pu: FloatArray = FILLED
    extra_slack_va_degree: FloatArray = FILLED
    line_r0_ohm_per_km: FloatArray | None = None
    line_x0_ohm_per_km: FloatArray | None = None
    line_b0_us_per_km: FloatArray | None = None
    trafo_vector_group: npt.NDArray[np.str_] | None = None
    trafo_vk0_percent: FloatArray | None = None
    trafo_vkr0_percent: FloatArray | None = None
    trafo_mag0_percent: FloatArray | None = None
    trafo_mag0_rx: FloatArray | None = None
    trafo_si0_hv_partial: FloatArray | None = None
    slack_s_sc_mva: float | None = None
    slack_rx: float = 0.1
    slack_x0x: float = 1.0
    slack_r0x0: float = 0.1
    load_phase: npt.NDArray[np.str_] | None = None
    gen_phase: npt.NDArray[np.str_] | None = None
    shunt_bus: IntArray = FILLED
    shunt_p_kw: FloatArray = FILLED
    shunt_q_kvar: FloatArray = FILLED
    impedance_from_bus: IntArray = FILLED
    impedance_to_bus: IntArray = FILLED
    impedance_r_pu: FloatArray = FILLED
    impedance_x_pu: FloatArray = FILLED
    impedance_rtf_pu: FloatArray = FILLED
    impedance_xtf_pu: FloatArray = FILLED
    pv_bus: IntArray = FILLED
    pv_p_kw: FloatArray = FILLED
    pv_vm_pu: FloatArray = FILLED
    pv_min_q_kvar: FloatArray = FILLED
    pv_max_q_kvar: FloatArray = FILLED

    def __post_init__(self) -> None:
        vn = _quantity("bus_vn_kv", self.bus_vn_kv, (None,), positive=True)
        n = vn.shape[0]
        if n < 2:
            raise ValueError(f"bus_vn_kv: a grid needs at least two buses, got {n}")
        values: dict[str, Any] = {"bus_vn_kv": vn}
        values.update(self._lines(vn))
        values.update(self._trafos(vn))
        values.update(self._impedances(n))
        shunt_bus = index_array("shunt_bus", [] if self.shunt_bus is None else self.shunt_bus, n)
        sw_a = index_array("switch_bus_a", [] if self.switch_bus_a is None else self.switch_bus_a, n)
        sw_b = index_array("switch_bus_b", [] if self.switch_bus_b is None else self.switch_bus_b, n, sw_a.shape)
        load_bus = index_array("load_bus", self.load_bus, n)
        gen_bus = index_array("gen_bus", [] if self.gen_bus is None else self.gen_bus, n)
        slack = int(index_array("slack_bus", [self.slack_bus], n)[0])
        extra = index_array("extra_slack_bus", [] if self.extra_slack_bus is None else self.extra_slack_bus, n)
        slacks = [slack, *extra.tolist()]
        if len(set(slacks)) < len(slacks):
            raise ValueError(f"slack_bus and extra_slack_bus must name distinct buses, got {slacks}")
        values.update(self._pv_generators(n, slacks))
        values.update(
            switch_bus_a=sw_a,
            switch_bus_b=sw_b,
            load_bus=load_bus,
            load_p_kw=_filled("load_p_kw", self.load_p_kw, np.zeros(load_bus.shape)),
            load_q_kvar=_filled("load_q_kvar", self.load_q_kvar, np.zeros(load_bus.shape)),
            gen_bus=gen_bus,
            gen_p_kw=_filled("gen_p_kw", self.gen_p_kw, np.zeros(gen_bus.shape)),
            gen_q_kvar=_filled("gen_q_kvar", self.gen_q_kvar, np.zeros(gen_bus.shape)),
            shunt_bus=shunt_bus,
            shunt_p_kw=_filled("shunt_p_kw", self.shunt_p_kw, np.zeros(shunt_bus.shape)),
            shunt_q_kvar=_filled("shunt_q_kvar", self.shunt_q_kvar, np.zeros(shunt_bus.shape)),
            slack_bus=slack,
            slack_vm_pu=float(_quantity("slack_vm_pu", [self.slack_vm_pu], None, positive=True)[0]),
            slack_va_degree=float(float_array("slack_va_degree", [self.slack_va_degree], max_abs=MAX_GRID_VALUE)[0]),
            extra_slack_bus=extra,
            extra_slack_vm_pu=_filled("extra_slack_vm_pu", self.extra_slack_vm_pu, np.ones(extra.shape), positive=True),
            extra_slack_va_degree=_filled("extra_slack_va_degree", self.extra_slack_va_degree, np.zeros(extra.shape)),
            bus_name=np.array([f"bus {i}" for i in range(n)])
            if self.bus_name is None
            else np.asarray(self.bus_name).astype(str),
            bus_xy=None if self.bus_xy is None else float_array("bus_xy", self.bus_xy, (n, 2), max_abs=MAX_GRID_VALUE),
        )
        if values["bus_name"].shape != (n,):
            raise ValueError(f"bus_name must have shape ({n},), got {values['bus_name'].shape}")
        branches = [
            ("switch", sw_a, sw_b),
            ("line", values["line_from"], values["line_to"]),
            ("trafo", values["trafo_hv_bus"], values["trafo_lv_bus"]),
            ("impedance", values["impedance_from_bus"], values["impedance_to_bus"]),
        ]
        ends = [
            (f"{kind} {k}", int(a), int(b))
            for kind, side_a, side_b in branches
            for k, (a, b) in enumerate(zip(side_a, side_b, strict=True))
        ]
        for name, a, b in ends:
            if a == b:
                raise ValueError(f"{name} joins bus {a} to itself")
        mismatch = vn[sw_a] != vn[sw_b]
        if mismatch.any():
            k = int(np.flatnonzero(mismatch)[0])
            raise ValueError(f"switch {k} joins buses of different voltage ({vn[sw_a[k]]} kV and {vn[sw_b[k]]} kV)")
        _topology_check(n, ends, sw_a.shape[0], slacks)
        values.update(self._three_phase(values))
        assign_frozen(self, values)

    def _lines(self, vn: FloatArray) -> dict[str, Any]:
        n = vn.shape[0]
        lf = index_array("line_from", self.line_from, n, (None,))
        nl = lf.shape[0]
        lt = index_array("line_to", self.line_to, n, (nl,))
        r = _quantity("line_r_ohm_per_km", self.line_r_ohm_per_km, (nl,), nonnegative=True)
        x = _quantity("line_x_ohm_per_km", self.line_x_ohm_per_km, (nl,), nonnegative=True)
        zero = np.maximum(r, x) < MIN_GRID_VALUE
        if zero.any():
            k = int(np.flatnonzero(zero)[0])
            raise ValueError(f"line {k} has zero impedance (line_r_ohm_per_km = line_x_ohm_per_km = 0)")
        mismatch = vn[lf] != vn[lt]
        if mismatch.any():
            k = int(np.flatnonzero(mismatch)[0])
            raise ValueError(f"line {k} joins buses of different voltage ({vn[lf[k]]} kV and {vn[lt[k]]} kV)")
        return {
            "line_from": lf,
            "line_to": lt,
            "line_r_ohm_per_km": r,
            "line_x_ohm_per_km": x,
            "line_max_i_ka": _quantity("line_max_i_ka", self.line_max_i_ka, (nl,), positive=True),
            "line_length_km": _filled("line_length_km", self.line_length_km, np.ones(nl), positive=True),
            "line_b_us_per_km": _filled("line_b_us_per_km", self.line_b_us_per_km, np.zeros(nl), nonnegative=True),
        }

    def _trafos(self, vn: FloatArray) -> dict[str, Any]:
        n = vn.shape[0]
        hv = index_array("trafo_hv_bus", self.trafo_hv_bus, n, (None,))
        nt = hv.shape[0]
        lv = index_array("trafo_lv_bus", self.trafo_lv_bus, n, (nt,))
        vk = _quantity("trafo_vk_percent", self.trafo_vk_percent, (nt,), positive=True)
        vkr = _quantity("trafo_vkr_percent", self.trafo_vkr_percent, (nt,), nonnegative=True)
        if (vkr >= vk).any():
            k = int(np.flatnonzero(vkr >= vk)[0])
            raise ValueError(f"trafo {k}: trafo_vkr_percent={vkr[k]} must be below trafo_vk_percent={vk[k]}")
        inverted = vn[hv] < vn[lv]
        if inverted.any():
            k = int(np.flatnonzero(inverted)[0])
            raise ValueError(f"trafo {k}: hv bus {hv[k]} has a lower voltage than lv bus {lv[k]}")
        side = np.full(nt, "hv") if self.trafo_tap_side is None else np.asarray(self.trafo_tap_side).astype(str)
        if side.shape != (nt,):
            raise ValueError(f"trafo_tap_side must have shape ({nt},), got {side.shape}")
        bad_side = ~np.isin(side, ["hv", "lv"])
        if bad_side.any():
            k = int(np.flatnonzero(bad_side)[0])
            raise ValueError(f"trafo_tap_side[{k}]={str(side[k])!r} must be 'hv' or 'lv'")
        return {
            "trafo_hv_bus": hv,
            "trafo_lv_bus": lv,
            "trafo_sn_kva": _quantity("trafo_sn_kva", self.trafo_sn_kva, (nt,), positive=True),
            "trafo_vk_percent": vk,
            "trafo_vkr_percent": vkr,
            "trafo_pfe_kw": _filled("trafo_pfe_kw", self.trafo_pfe_kw, np.zeros(nt), nonnegative=True),
            "trafo_i0_percent": _filled("trafo_i0_percent", self.trafo_i0_percent, np.zeros(nt), nonnegative=True),
            "trafo_vn_hv_kv": _filled("trafo_vn_hv_kv", self.trafo_vn_hv_kv, vn[hv], positive=True),
            "trafo_vn_lv_kv": _filled("trafo_vn_lv_kv", self.trafo_vn_lv_kv, vn[lv], positive=True),
            "trafo_tap_ratio": _filled("trafo_tap_ratio", self.trafo_tap_ratio, np.ones(nt), positive=True),
            "trafo_tap_side": side,
            "trafo_shift_degree": _filled("trafo_shift_degree", self.trafo_shift_degree, np.zeros(nt)),
        }

    def _three_phase(self, v: dict[str, Any]) -> dict[str, Any]:
        """The unbalanced power flow's data, validated where given (None where not: the flow uses
        the defaults the class doc names, or says what it misses): zero-sequence line and transformer
        data, the slack's short-circuit data and each load's and generator's phase connection."""
        nl, nt = v["line_from"].shape[0], v["trafo_hv_bus"].shape[0]
        out: dict[str, Any] = {}
        optional = (
            ("line_b0_us_per_km", nl, {"nonnegative": True}),
            ("trafo_vk0_percent", nt, {"positive": True}),
            ("trafo_vkr0_percent", nt, {"nonnegative": True}),
            ("trafo_mag0_percent", nt, {"positive": True}),
            ("trafo_mag0_rx", nt, {"nonnegative": True}),
            ("trafo_si0_hv_partial", nt, {"positive": True}),
        )
        for name, size, checks in optional:
            value = getattr(self, name)
            out[name] = None if value is None else _quantity(name, value, (size,), **checks)
        for name in ("line_r0_ohm_per_km", "line_x0_ohm_per_km"):
            value = getattr(self, name)
            out[name] = None if value is None else _quantity_or_unknown(name, value, nl)
        r0, x0 = out["line_r0_ohm_per_km"], out["line_x0_ohm_per_km"]
        if (r0 is None) != (x0 is None):
            raise ValueError("give line_r0_ohm_per_km and line_x0_ohm_per_km together")
        if r0 is not None and (np.maximum(r0, x0) < MIN_GRID_VALUE).any():
            k = int(np.flatnonzero(np.maximum(r0, x0) < MIN_GRID_VALUE)[0])
            raise ValueError(f"line {k} has zero zero-sequence impedance (line_r0_ohm_per_km = line_x0_ohm_per_km = 0)")
        vk0 = v["trafo_vk_percent"] if out["trafo_vk0_percent"] is None else out["trafo_vk0_percent"]
        vkr0 = v["trafo_vkr_percent"] if out["trafo_vkr0_percent"] is None else out["trafo_vkr0_percent"]
        if (vkr0 >= vk0).any():
            k = int(np.flatnonzero(vkr0 >= vk0)[0])
            raise ValueError(f"trafo {k}: trafo_vkr0_percent={vkr0[k]} must be below trafo_vk0_percent={vk0[k]}")
        si0 = out["trafo_si0_hv_partial"]
        if si0 is not None and (si0 >= 1.0).any():
            k = int(np.flatnonzero(si0 >= 1.0)[0])
            raise ValueError(f"trafo_si0_hv_partial[{k}]={si0[k]} must lie strictly between 0 and 1")
        if self.trafo_vector_group is not None:
            group = np.asarray(self.trafo_vector_group).astype(str)
            if group.shape != (nt,):
                raise ValueError(f"trafo_vector_group must have shape ({nt},), got {group.shape}")
            names = {g.lower(): g for g in VECTOR_GROUPS}  # others stay as given: the unbalanced flow names them
            out["trafo_vector_group"] = np.array([names.get(g.lower(), g) for g in group], dtype=str).reshape(nt)
        if self.slack_s_sc_mva is not None:
            out["slack_s_sc_mva"] = float(_quantity("slack_s_sc_mva", [self.slack_s_sc_mva], None, positive=True)[0])
        for name in ("slack_rx", "slack_r0x0"):
            out[name] = float(_quantity(name, [getattr(self, name)], None, nonnegative=True)[0])
        out["slack_x0x"] = float(_quantity("slack_x0x", [self.slack_x0x], None, positive=True)[0])
        for name, n_el in (("load_phase", v["load_bus"].shape[0]), ("gen_phase", v["gen_bus"].shape[0])):
            if getattr(self, name) is None:
                continue
            phase = np.asarray(getattr(self, name))
            if phase.dtype.kind in "iu":  # 0, 1, 2 for phases a, b, c (as balance_phases numbers them)
                if phase.size and not ((phase >= 0) & (phase <= 2)).all():
                    k = int(np.flatnonzero((phase < 0) | (phase > 2))[0])
                    raise ValueError(f"{name}[{k}]={phase.reshape(-1)[k]} must be 0, 1 or 2 (phase a, b or c)")
                phase = np.array(["a", "b", "c"])[phase]
            phase = phase.astype(str)
            if phase.shape != (n_el,):
                raise ValueError(f"{name} must have shape ({n_el},), got {phase.shape}")
            bad = ~np.isin(phase, PHASE_CONNECTIONS)
            if bad.any():
                k = int(np.flatnonzero(bad)[0])
                raise ValueError(f"{name}[{k}]={str(phase[k])!r} must be one of {', '.join(PHASE_CONNECTIONS)}")
            out[name] = phase
        return out

    def _pv_generators(self, n: int, slacks: list[int]) -> dict[str, Any]:
        bus = index_array("pv_bus", [] if self.pv_bus is None else self.pv_bus, n)
        twice = np.flatnonzero(np.isin(bus, slacks) | (np.bincount(bus, minlength=n)[bus] > 1))
        if twice.size:
            k = int(twice[0])
            raise ValueError(
                f"pv_bus[{k}]={bus[k]}: a voltage-controlled generator needs a bus of its own, not a slack's"
            )
        unlimited = np.full(bus.shape, MAX_GRID_VALUE)
        low = _filled("pv_min_q_kvar", self.pv_min_q_kvar, -unlimited)
        high = _filled("pv_max_q_kvar", self.pv_max_q_kvar, unlimited)
        if (low > high).any():
            k = int(np.flatnonzero(low > high)[0])
            raise ValueError(f"pv_min_q_kvar[{k}]={low[k]} exceeds pv_max_q_kvar[{k}]={high[k]}")
        return {
            "pv_bus": bus,
            "pv_p_kw": _filled("pv_p_kw", self.pv_p_kw, np.zeros(bus.shape)),
            "pv_vm_pu": _filled("pv_vm_pu", self.pv_vm_pu, np.ones(bus.shape), positive=True),
            "pv_min_q_kvar": low,
            "pv_max_q_kvar": high,
        }

    def _impedances(self, n: int) -> dict[str, Any]:
        frm = index_array("impedance_from_bus", [] if self.impedance_from_bus is None else self.impedance_from_bus, n)
        ni = frm.shape[0]
        to = index_array("impedance_to_bus", [] if self.impedance_to_bus is None else self.impedance_to_bus, n, (ni,))
        out: dict[str, Any] = {"impedance_from_bus": frm, "impedance_to_bus": to}
        for direction in ("", "tf"):
            r_name, x_name = f"impedance_r{direction}_pu", f"impedance_x{direction}_pu"
            r_value, x_value = getattr(self, r_name), getattr(self, x_name)
            if direction:  # the to-from impedance defaults to the from-to one
                r_value = out["impedance_r_pu"] if r_value is None else r_value
                x_value = out["impedance_x_pu"] if x_value is None else x_value
            r = _quantity(r_name, np.zeros(0) if r_value is None and not ni else r_value, (ni,))
            x = _quantity(x_name, np.zeros(0) if x_value is None and not ni else x_value, (ni,))
            zero = np.hypot(r, x) < MIN_GRID_VALUE
            if zero.any():
                k = int(np.flatnonzero(zero)[0])
                raise ValueError(f"impedance {k} has zero impedance ({r_name} = {x_name} = 0); use a switch")
            out[r_name], out[x_name] = r, x
        return out

    @property
    def num_buses(self) -> int:
        """Number of buses."""
        return int(self.bus_vn_kv.shape[0])

    @property
    def num_lines(self) -> int:
        """Number of lines."""
        return int(self.line_from.shape[0])

    @property
    def num_trafos(self) -> int:
        """Number of two-winding transformers."""
        return int(self.trafo_hv_bus.shape[0])

    @property
    def num_loads(self) -> int:
        """Number of loads."""
        return int(self.load_bus.shape[0])

    @property
    def num_gens(self) -> int:
        """Number of generators (static and voltage-controlled)."""
        return int(self.gen_bus.shape[0])

    @property
    def slack_buses(self) -> npt.NDArray[np.int32]:
        """Every slack bus: ``slack_bus``, then ``extra_slack_bus``."""
        return np.concatenate([[self.slack_bus], self.extra_slack_bus]).astype(np.int32)

    @property
    def num_impedances(self) -> int:
        """Number of series impedances."""
        return int(self.impedance_from_bus.shape[0])

    @property
    def num_branches(self) -> int:
        """Lines, transformers, impedances and closed switches."""
        return self.num_lines + self.num_trafos + self.num_impedances + int(self.switch_bus_a.shape[0])

    @property
    def missing_three_phase_data(self) -> tuple[str, ...]:
        """What the unbalanced power flow needs and this grid lacks, one phrase per field (empty
        when it has all: the lines' zero sequence, the transformers' vector groups, the slack's
        short-circuit power)."""
        out = []
        if self.num_lines and self.line_r0_ohm_per_km is None:
            out.append(
                "line_r0_ohm_per_km is missing (grid_from_pandapower reads r0_ohm_per_km and x0_ohm_per_km where the "
                "net has them, not both 0)"
            )
        if self.num_trafos and self.trafo_vector_group is None:
            out.append("trafo_vector_group is missing")
        if self.slack_s_sc_mva is None:
            out.append("slack_s_sc_mva is missing (the slack's short-circuit power)")
        return tuple(out)

    @property
    def num_loops(self) -> int:
        """Independent loops, counting each path between two slacks as one (0 on a radial grid)."""
        return self.num_branches + int(self.slack_buses.size) - self.num_buses

    @cached_property
    def per_unit(self) -> PerUnitModel:
        """The per-unit two-port model the power-flow solvers run on (built once per grid)."""
        return PerUnitModel.of(self)

    def __getstate__(self) -> dict[str, Any]:
        """Pickles the grid's arrays; the per-unit model (C++ feeder) is rebuilt when needed."""
        return {k: v for k, v in self.__dict__.items() if k != "per_unit"}

    def __repr__(self) -> str:
        levels = ", ".join(f"{v:g} kV" for v in sorted(set(self.bus_vn_kv.tolist()), reverse=True))
        slacks = (
            f"slack buses {self.slack_buses.tolist()}" if self.extra_slack_bus.size else f"slack bus {self.slack_bus}"
        )
        return (
            f"Grid({self.num_buses} buses ({levels}), {self.num_lines} lines, {self.num_trafos} transformers, "
            f"{f'{self.num_impedances} impedances, ' if self.num_impedances else ''}"
            f"{self.switch_bus_a.shape[0]} closed switches, {self.num_loads} loads, {self.num_gens} generators, "
            f"{f'{self.shunt_bus.size} shunts, ' if self.shunt_bus.size else ''}"
            f"{f'{self.pv_bus.size} voltage-controlled generators, ' if self.pv_bus.size else ''}"
            f"{slacks}{f', {self.num_loops} loops' if self.num_loops else ''})"
        )


# -- the per-unit model ------------------------------------------------------------------------

BASE_KVA = 1000.0
"""Power base of the per-unit system (kVA)."""
MAX_LOOP_ENTRIES = 20_000_000
"""Largest ``positions x loops`` of a meshed grid's voltage response to its breakpoint currents (a
dense complex matrix, 320 MB at this size): beyond it the grid is not weakly meshed."""

ComplexArray = npt.NDArray[np.complex128]


def _line_two_port(grid: Grid) -> tuple[ComplexArray, ComplexArray]:
    """Series and per-end shunt admittance of each line (pu)."""
    z_base = grid.bus_vn_kv[grid.line_from] ** 2 / (BASE_KVA / 1000.0)
    z = (grid.line_r_ohm_per_km + 1j * grid.line_x_ohm_per_km) * grid.line_length_km / z_base
    y_shunt = 1j * grid.line_b_us_per_km * 1e-6 * grid.line_length_km * z_base / 2.0
    return np.asarray(1.0 / z, dtype=np.complex128), np.asarray(y_shunt, dtype=np.complex128)


def _trafo_ratio(grid: Grid) -> tuple[ComplexArray, FloatArray]:
    """Each transformer's off-nominal ratio ``N = tap * exp(j shift)`` and its tapped LV winding's
    impedance scale referred to the LV bus base."""
    hv_kv, lv_kv = grid.bus_vn_kv[grid.trafo_hv_bus], grid.bus_vn_kv[grid.trafo_lv_bus]
    on_lv = grid.trafo_tap_side == "lv"
    tapped_hv = grid.trafo_vn_hv_kv * np.where(on_lv, 1.0, grid.trafo_tap_ratio)
    tapped_lv = grid.trafo_vn_lv_kv * np.where(on_lv, grid.trafo_tap_ratio, 1.0)
    ratio = (tapped_hv / tapped_lv) / (hv_kv / lv_kv) * np.exp(1j * np.deg2rad(grid.trafo_shift_degree))
    return np.asarray(ratio, dtype=np.complex128), np.asarray((tapped_lv / lv_kv) ** 2, dtype=np.float64)


def _trafo_two_port(grid: Grid) -> tuple[ComplexArray, ComplexArray, ComplexArray, ComplexArray]:
    """yff, yft, ytf, ytt of each transformer (pu), HV side first."""
    ratio, lv_scale = _trafo_ratio(grid)
    sn_pu = grid.trafo_sn_kva / BASE_KVA
    z_abs = grid.trafo_vk_percent / 100.0 / sn_pu * lv_scale
    r = grid.trafo_vkr_percent / 100.0 / sn_pu * lv_scale
    z = r + 1j * np.sqrt(z_abs**2 - r**2)
    pfe_pu = grid.trafo_pfe_kw / BASE_KVA
    b_mag = np.sqrt(np.maximum((grid.trafo_i0_percent / 100.0 * sn_pu) ** 2 - pfe_pu**2, 0.0))
    y_m = (pfe_pu - 1j * b_mag) / lv_scale
    za = zb = z / 2.0
    den = za + zb + za * zb * y_m
    y11, y22, y12 = (1.0 + zb * y_m) / den, (1.0 + za * y_m) / den, -1.0 / den
    return y11 / np.abs(ratio) ** 2, y12 / np.conj(ratio), y12 / ratio, y22


def _impedance_two_port(grid: Grid) -> tuple[ComplexArray, ComplexArray, ComplexArray, ComplexArray]:
    """yff, yft, ytf, ytt of each impedance (pu): ``-yft`` is the from-to series admittance, ``-ytf``
    the to-from one (pandapower's non-reciprocal impedance)."""
    y_ft = np.asarray(1.0 / (grid.impedance_r_pu + 1j * grid.impedance_x_pu), dtype=np.complex128)
    y_tf = np.asarray(1.0 / (grid.impedance_rtf_pu + 1j * grid.impedance_xtf_pu), dtype=np.complex128)
    return y_ft, -y_ft, -y_tf, y_tf


def _shunt_admittance(grid: Grid) -> ComplexArray:
    """Total shunt admittance at each bus (pu): a shunt drawing ``P + jQ`` at 1 pu is ``P - jQ``."""
    y = np.zeros(grid.num_buses, complex)
    np.add.at(y, grid.shunt_bus, (grid.shunt_p_kw - 1j * grid.shunt_q_kvar) / BASE_KVA)
    return y


def _fold_shunts(
    hybrid: tuple[ComplexArray, ComplexArray, ComplexArray, ComplexArray], y: ComplexArray
) -> tuple[ComplexArray, ComplexArray, ComplexArray, ComplexArray]:
    """The hybrid parameters of each position's branch with a shunt ``y`` (pu) at its child end: the
    child then draws ``J + y V_child``, so ``V_child = (c V_parent + d J) / (1 - d y)`` and the parent
    side current follows (exact; branch and slack currents are corrected after the sweep)."""
    a, b, c, d = hybrid
    den = 1.0 - d * y
    return a + b * y * c / den, b / den, c / den, d / den


def _tree(
    grid: Grid, frm: npt.NDArray[np.int32], to: npt.NDArray[np.int32], meshed: bool
) -> tuple[list[int], list[int], list[int], list[int], list[int]]:
    """The feeder's spanning tree, breadth first: bus id, parent position and branch per position,
    and the breakpoints' leaf and bus positions. Radial grids with one slack start at the slack
    (position 0); otherwise position 0 is a virtual source (bus id ``num_buses``), positions
    ``1..S`` the slacks on source branches ``num_branches + s``, and each branch met twice is cut
    off at its far end as a leaf (bus ids ``num_buses + 1 + k``). A transformer is entered from its
    LV side only where its HV bus is reachable no other way, so a loop through a transformer is cut
    at its LV end (the zero sequence of a Dyn or Yzn transformer passes only there)."""
    n = grid.num_buses
    incident: list[list[int]] = [[] for _ in range(n)]
    for k, (a, b) in enumerate(zip(frm.tolist(), to.tolist(), strict=True)):
        incident[a].append(k)
        incident[b].append(k)
    position = [-1] * n
    used = [False] * frm.size
    if meshed:
        slacks = grid.slack_buses.tolist()
        order, parent, via = [n], [-1], [-1]
        for s, bus in enumerate(slacks):
            position[bus] = len(order)
            order.append(bus)
            parent.append(0)
            via.append(frm.size + s)
    else:
        slacks = [grid.slack_bus]
        position[grid.slack_bus] = 0
        order, parent, via = [grid.slack_bus], [-1], [-1]
    leaf: list[int] = []
    into: list[int] = []
    nl, nt = grid.num_lines, grid.num_trafos
    todo = deque(slacks)
    for defer in (True, False):
        if not defer:  # buses reached only through a transformer's LV side
            todo = deque(bus for bus in order if bus < n)
        while todo:
            v = todo.popleft()
            for k in incident[v]:
                lv_side = nl <= k < nl + nt and v == to[k]
                if used[k] or (lv_side and (defer or position[frm[k]] >= 0)):
                    continue
                used[k] = True
                w = int(to[k] if frm[k] == v else frm[k])
                if position[w] < 0:
                    position[w] = len(order)
                    todo.append(w)
                else:  # a loop: cut the branch off at w
                    leaf.append(len(order))
                    into.append(position[w])
                    w = n + len(leaf)
                order.append(w)
                parent.append(position[v])
                via.append(k)
    return order, parent, via, leaf, into


def _tree_response(
    parent: npt.NDArray[np.int32],
    hybrid: tuple[ComplexArray, ComplexArray, ComplexArray, ComplexArray],
    j_src: ComplexArray,
) -> ComplexArray:
    """The tree's voltage response ``(positions, m)`` to m columns of currents drawn at its positions
    ``j_src`` ``(positions, m)``, with the source at zero volts and no loads, by exact elimination
    towards the source (each subtree's admittance and current as seen from its parent) (pu)."""
    a, b, c, d = hybrid
    n = parent.size
    y_sub = np.zeros(n, complex)  # admittance each position draws per volt of its own voltage
    j_src = j_src.copy()  # and its fixed current per unit column current
    den = np.ones(n, complex)
    for i in range(n - 1, 0, -1):
        den[i] = 1.0 - d[i] * y_sub[i]
        y_sub[parent[i]] += a[i] + b[i] * c[i] * y_sub[i] / den[i]
        j_src[parent[i]] += b[i] / den[i] * j_src[i]
    v = np.zeros(j_src.shape, complex)
    for i in range(1, n):
        v[i] = (c[i] * v[parent[i]] + d[i] * j_src[i]) / den[i]
    return v


def _loop_response(
    parent: npt.NDArray[np.int32],
    hybrid: tuple[ComplexArray, ComplexArray, ComplexArray, ComplexArray],
    leaf: npt.NDArray[np.int32],
    into: npt.NDArray[np.int32],
) -> tuple[ComplexArray, ComplexArray]:
    """The tree's voltage response to the breakpoint currents (drawn at leaf k, given back at bus k):
    ``dV[i, k] = dV_i / dI_k`` per position and the loop impedance matrix
    ``Z[j, k] = -d(V_leaf_j - V_into_j) / dI_k`` (pu)."""
    m = leaf.size
    j_src = np.zeros((parent.size, m), complex)
    j_src[leaf, np.arange(m)] += 1.0
    j_src[into, np.arange(m)] -= 1.0
    v = _tree_response(parent, hybrid, j_src)
    return v, np.asarray(v[into] - v[leaf], dtype=np.complex128)


def hybrid_form(
    two_port: tuple[ComplexArray, ComplexArray, ComplexArray, ComplexArray],
    branch: npt.NDArray[np.int32],
    flipped: npt.NDArray[np.bool_],
    is_switch: npt.NDArray[np.bool_],
) -> tuple[ComplexArray, ComplexArray, ComplexArray, ComplexArray]:
    """``a, b, c, d`` of each tree position fed through ``branch`` (see :class:`PerUnitModel`), from
    the branches' two-ports ``yff, yft, ytf, ytt`` seen from the parent (the to end where
    ``flipped``); closed switches are ideal ties. A child end with no admittance gives non-finite values."""
    yff, yft, ytf, ytt = (y[branch] for y in two_port)
    ypp, ypc = np.where(flipped, ytt, yff), np.where(flipped, ytf, yft)
    ycp, ycc = np.where(flipped, yft, ytf), np.where(flipped, yff, ytt)
    sw = is_switch[branch]
    with np.errstate(divide="ignore", invalid="ignore"):
        return (
            np.where(sw, 0.0, ypp - ypc * ycp / ycc),
            np.where(sw, 1.0, -ypc / ycc),
            np.where(sw, 1.0, -ycp / ycc),
            np.where(sw, 0.0, -1.0 / ycc),
        )


@dataclass(frozen=True, eq=False)
class PerUnitModel:
    """Per-unit branch data of a grid and its feeder order from the slack, or from a virtual source
    feeding every slack on a meshed grid (see the module doc and :func:`_tree`)."""

    num_buses: int
    branch_from: npt.NDArray[np.int32]
    branch_to: npt.NDArray[np.int32]
    yff: ComplexArray
    yft: ComplexArray
    ytf: ComplexArray
    ytt: ComplexArray
    is_switch: npt.NDArray[np.bool_]
    position_bus: npt.NDArray[np.int32]
    """Bus at each feeder position (position 0 is the slack, or the virtual source; parents come
    before children). Ids from ``num_buses`` on are the virtual source and the breakpoint leaves."""
    position_parent: npt.NDArray[np.int32]
    position_branch: npt.NDArray[np.int32]
    """Branch feeding each position; ids from ``num_branches`` on are the slacks' source branches."""
    position_flipped: npt.NDArray[np.uint8]
    hybrid: tuple[ComplexArray, ComplexArray, ComplexArray, ComplexArray]
    """``a, b, c, d`` per position: ``I_parent = a V_parent + b J_child``, ``V_child = c V_parent + d J_child``."""
    i_base_from_ka: npt.NDArray[np.float64]
    """Current base (kA per pu) at each branch's from end."""
    i_base_to_ka: npt.NDArray[np.float64]
    rate_from: npt.NDArray[np.float64]
    """Loading (%) per pu of current at each branch's from end (0 for switches)."""
    rate_to: npt.NDArray[np.float64]
    v_slack: complex
    """Voltage at position 0 (pu): the slack's, or 1 at the virtual source."""
    load_pos: npt.NDArray[np.int32]
    gen_pos: npt.NDArray[np.int32]
    """Position of each generator, then of each voltage-controlled generator (``pv_bus``)."""
    feeder: _power_flow.Feeder
    breakpoint_leaf: npt.NDArray[np.int32]
    """Position of each loop's breakpoint leaf (the cut branch's far end); empty on a radial grid."""
    breakpoint_bus: npt.NDArray[np.int32]
    """Position of the bus each breakpoint leaf was cut from."""
    loop_impedance: ComplexArray
    """``(loops, loops)`` loop impedance matrix of the tree (pu, see :func:`_loop_response`)."""
    num_sources: int
    """Slacks on source branches from a virtual source (0: position 0 is the one slack)."""
    shunt_y: ComplexArray
    """Shunt admittance at each bus (pu), folded into the hybrid parameters of the branch feeding it."""

    def __repr__(self) -> str:
        return (
            f"PerUnitModel({self.num_buses} buses, {self.branch_from.size} branches, {self.load_pos.size} loads, "
            f"{self.breakpoint_leaf.size} loops)"
        )

    @classmethod
    def of(cls, grid: Grid) -> PerUnitModel:
        nl, nt, ni, ns = grid.num_lines, grid.num_trafos, grid.num_impedances, grid.switch_bus_a.shape[0]
        frm = np.concatenate([grid.line_from, grid.trafo_hv_bus, grid.impedance_from_bus, grid.switch_bus_a])
        to = np.concatenate([grid.line_to, grid.trafo_lv_bus, grid.impedance_to_bus, grid.switch_bus_b])
        frm, to = frm.astype(np.int32), to.astype(np.int32)
        y_series, y_shunt = _line_two_port(grid)
        t_ff, t_ft, t_tf, t_tt = _trafo_two_port(grid)
        z_ff, z_ft, z_tf, z_tt = _impedance_two_port(grid)
        zeros = np.zeros(ns, complex)
        yff = np.concatenate([y_series + y_shunt, t_ff, z_ff, zeros])
        yft = np.concatenate([-y_series, t_ft, z_ft, zeros])
        ytf = np.concatenate([-y_series, t_tf, z_tf, zeros])
        ytt = np.concatenate([y_series + y_shunt, t_tt, z_tt, zeros])
        is_switch = np.arange(nl + nt + ni + ns) >= nl + nt + ni
        i_base = (BASE_KVA / 1000.0) / (np.sqrt(3.0) * grid.bus_vn_kv)
        sn_ratio = BASE_KVA / grid.trafo_sn_kva
        rate_from = 100.0 * np.concatenate(
            [
                i_base[grid.line_from] / grid.line_max_i_ka,
                grid.trafo_vn_hv_kv / grid.bus_vn_kv[grid.trafo_hv_bus] * sn_ratio,
                np.zeros(ni + ns),
            ]
        )
        rate_to = 100.0 * np.concatenate(
            [
                i_base[grid.line_to] / grid.line_max_i_ka,
                grid.trafo_vn_lv_kv / grid.bus_vn_kv[grid.trafo_lv_bus] * sn_ratio,
                np.zeros(ni + ns),
            ]
        )

        n = grid.num_buses
        meshed = grid.num_loops > 0 or grid.extra_slack_bus.size > 0
        order, parent, via, leaf, into = _tree(grid, frm, to, meshed)
        n_src = grid.slack_buses.size if meshed else 0
        bus = np.array(order, np.int32)
        par = np.array(parent, np.int32)
        pos_branch = np.array(via, np.int32)
        position = np.full(bus.size, -1, np.int32)
        position[bus] = np.arange(bus.size, dtype=np.int32)
        # Two-port seen from the parent (p) to the child (c), then in hybrid form; source branches
        # (positions 1..n_src of a meshed grid) are ideal ratios V_slack : 1 from the virtual source.
        grid_pos = np.arange(1 + n_src, bus.size)
        via_k = pos_branch[grid_pos]
        flipped = np.zeros(bus.size, np.uint8)
        flipped[grid_pos] = frm[via_k] != bus[par[grid_pos]]
        hybrid_grid = hybrid_form((yff, yft, ytf, ytt), via_k, flipped[grid_pos].astype(bool), is_switch)
        slack_v = np.concatenate([[grid.slack_vm_pu], grid.extra_slack_vm_pu]) * np.exp(
            1j * np.deg2rad(np.concatenate([[grid.slack_va_degree], grid.extra_slack_va_degree]))
        )
        source = slack_v[:n_src]
        hybrid = tuple(
            np.concatenate([np.zeros(1, complex), src, h]).astype(np.complex128)
            for src, h in zip((0.0 * source, np.conj(source), source, 0.0 * source), hybrid_grid, strict=True)
        )
        y_bus = _shunt_admittance(grid)
        y_pos = np.where(bus < n, y_bus[np.minimum(bus, n - 1)], 0.0)
        y_pos[0] = 0.0  # a shunt at the one slack changes no voltage (its power is added after the sweep)
        a, b, c, d = hybrid
        if y_pos.any():
            a, b, c, d = _fold_shunts((a, b, c, d), y_pos)
        v_slack = complex(1.0) if meshed else complex(slack_v[0])
        bp_leaf, bp_bus = np.array(leaf, np.int32), np.array(into, np.int32)
        if bus.size * bp_leaf.size > MAX_LOOP_ENTRIES:
            raise ValueError(
                f"the grid has {bp_leaf.size} loops over {n} buses: the compensation method's dense "
                f"buses x loops response would exceed {MAX_LOOP_ENTRIES:,} entries (not a weakly meshed grid)"
            )
        dv, z_loop = _loop_response(par, (a, b, c, d), bp_leaf, bp_bus)
        feeder = _power_flow.make_feeder(
            bus, par, pos_branch, flipped, a, b, c, d, v_slack, BASE_KVA, bp_leaf, bp_bus, np.linalg.inv(z_loop), dv
        )
        return cls(
            num_buses=n,
            branch_from=frm,
            branch_to=to,
            yff=yff,
            yft=yft,
            ytf=ytf,
            ytt=ytt,
            is_switch=is_switch,
            position_bus=bus,
            position_parent=par,
            position_branch=pos_branch,
            position_flipped=flipped,
            hybrid=(a, b, c, d),
            i_base_from_ka=i_base[frm],
            i_base_to_ka=i_base[to],
            rate_from=rate_from,
            rate_to=rate_to,
            v_slack=v_slack,
            load_pos=position[grid.load_bus],
            gen_pos=position[np.concatenate([grid.gen_bus, grid.pv_bus])],
            feeder=feeder,
            breakpoint_leaf=bp_leaf,
            breakpoint_bus=bp_bus,
            loop_impedance=z_loop,
            num_sources=n_src,
            shunt_y=y_bus,
        )

    def injection_response(self, buses: IntArray) -> ComplexArray:
        """``Z[i, j] = dV_i / dJ_j`` (pu) between the given buses: the voltage change at bus i per
        unit current drawn at bus j, slacks held, loops closed, around no load (the linear grid)."""
        position = np.full(self.position_bus.max() + 1, -1)
        position[self.position_bus] = np.arange(self.position_bus.size)
        pos = position[buses]
        j_src = np.zeros((self.position_bus.size, pos.size), complex)
        j_src[pos, np.arange(pos.size)] = 1.0
        v = _tree_response(self.position_parent, self.hybrid, j_src)
        if self.breakpoint_leaf.size:  # breakpoint currents that close the loops again
            dv, _ = _loop_response(self.position_parent, self.hybrid, self.breakpoint_leaf, self.breakpoint_bus)
            v = v + dv @ np.linalg.solve(self.loop_impedance, v[self.breakpoint_leaf] - v[self.breakpoint_bus])
        return np.asarray(v[pos], dtype=np.complex128)

    @property
    def num_branches(self) -> int:
        """Lines, transformers, impedances and closed switches (source branches not counted)."""
        return int(self.branch_from.size)

    def bus_representative(self) -> npt.NDArray[np.int64]:
        """For each bus, the bus that stands for it once closed switches merge tied buses."""
        rep = np.arange(self.num_buses)

        def root(v: int) -> int:
            while rep[v] != v:
                v = int(rep[v])
            return v

        for k in np.flatnonzero(self.is_switch):
            ra, rb = root(int(self.branch_from[k])), root(int(self.branch_to[k]))
            rep[max(ra, rb)] = min(ra, rb)
        return np.array([root(v) for v in range(self.num_buses)], dtype=np.int64)

    def ybus(self) -> ComplexArray:
        """The dense bus admittance matrix (pu) over representative buses (see ``bus_representative``);
        rows of buses merged into another stay zero."""
        rep = self.bus_representative()
        y = np.zeros((self.num_buses, self.num_buses), complex)
        real = ~self.is_switch
        f, t = rep[self.branch_from[real]], rep[self.branch_to[real]]
        np.add.at(y, (f, f), self.yff[real])
        np.add.at(y, (f, t), self.yft[real])
        np.add.at(y, (t, f), self.ytf[real])
        np.add.at(y, (t, t), self.ytt[real])
        np.add.at(y, (rep, rep), self.shunt_y)
        return y
