"""The distribution grid model: buses, lines, transformers, switches, the slack, loads and generators."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from smartopt._serialise import ToDict
from smartopt._validation import FILLED, FloatArray, IntArray, assign_frozen, float_array, index_array

if TYPE_CHECKING:
    from smartopt.energy._per_unit import PerUnitModel


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


def _radial_check(n_bus: int, ends: list[tuple[str, int, int]], slack: int) -> None:
    """Raises ValueError naming the first branch that closes a loop (with the loop's buses) or the
    first islanded bus."""
    parent = list(range(n_bus))
    adjacent: list[list[int]] = [[] for _ in range(n_bus)]

    def root(v: int) -> int:
        while parent[v] != v:
            parent[v] = parent[parent[v]]
            v = parent[v]
        return v

    for name, a, b in ends:
        ra, rb = root(a), root(b)
        if ra == rb:
            loop = " - ".join(f"bus {v}" for v in [*_loop_path(adjacent, b, a), b])
            raise ValueError(f"grid is not radial: {name} (bus {a} - bus {b}) closes the loop {loop}")
        parent[ra] = rb
        adjacent[a].append(b)
        adjacent[b].append(a)
    islanded = [v for v in range(n_bus) if root(v) != root(slack)]
    if islanded:
        raise ValueError(f"bus {islanded[0]} is islanded: no path to the slack bus {slack}")


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


def _filled(name: str, value: Any, default: FloatArray, **checks: Any) -> FloatArray:
    """A validated float array shaped like ``default``, or ``default`` when left out."""
    return default if value is None else _quantity(name, value, default.shape, **checks)


@dataclass(frozen=True, eq=False)
class Grid(ToDict):
    """A radial distribution grid, validated on construction (shapes, ids, signs, radiality).

    - Buses: nominal voltage ``bus_vn_kv`` (kV), optional names and coordinates (m).
    - Lines join two buses of the same voltage: series impedance ``r + jx`` (ohm/km), shunt
      susceptance ``b`` (uS/km, split half to each end), length (km; left out, 1 km, so the
      per-km values are whole-line values) and ampacity (kA) for the loading in %.
    - Two-winding transformers join an HV and an LV bus: rating (kVA), short-circuit voltage and
      its resistive part (copper losses) in % of rating, iron losses (kW) and no-load current (%)
      in a T model, rated winding voltages (kV, default the buses'), an off-nominal tap ratio
      (pu of the tapped winding's rated voltage) on the ``"hv"`` or ``"lv"`` side and a phase
      shift (degrees, e.g. 150 for Dyn5).
    - Closed bus-bus switches tie two buses with zero impedance (open switches are left out).
    - The slack bus holds ``slack_vm_pu`` at ``slack_va_degree``.
    - Loads and generators (PV, batteries, ...) are constant-power injections at their buses, with
      nominal P (kW) and Q (kvar) used when a power flow is called without time series.
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

    def __post_init__(self) -> None:
        vn = _quantity("bus_vn_kv", self.bus_vn_kv, (None,), positive=True)
        n = vn.shape[0]
        if n < 2:
            raise ValueError(f"bus_vn_kv: a grid needs at least two buses, got {n}")
        values: dict[str, Any] = {"bus_vn_kv": vn}
        values.update(self._lines(vn))
        values.update(self._trafos(vn))
        sw_a = index_array("switch_bus_a", [] if self.switch_bus_a is None else self.switch_bus_a, n)
        sw_b = index_array("switch_bus_b", [] if self.switch_bus_b is None else self.switch_bus_b, n, sw_a.shape)
        load_bus = index_array("load_bus", self.load_bus, n)
        gen_bus = index_array("gen_bus", [] if self.gen_bus is None else self.gen_bus, n)
        slack = int(index_array("slack_bus", [self.slack_bus], n)[0])
        values.update(
            switch_bus_a=sw_a,
            switch_bus_b=sw_b,
            load_bus=load_bus,
            load_p_kw=_filled("load_p_kw", self.load_p_kw, np.zeros(load_bus.shape)),
            load_q_kvar=_filled("load_q_kvar", self.load_q_kvar, np.zeros(load_bus.shape)),
            gen_bus=gen_bus,
            gen_p_kw=_filled("gen_p_kw", self.gen_p_kw, np.zeros(gen_bus.shape)),
            gen_q_kvar=_filled("gen_q_kvar", self.gen_q_kvar, np.zeros(gen_bus.shape)),
            slack_bus=slack,
            slack_vm_pu=float(_quantity("slack_vm_pu", [self.slack_vm_pu], None, positive=True)[0]),
            slack_va_degree=float(float_array("slack_va_degree", [self.slack_va_degree], max_abs=MAX_GRID_VALUE)[0]),
            bus_name=np.array([f"bus {i}" for i in range(n)])
            if self.bus_name is None
            else np.asarray(self.bus_name).astype(str),
            bus_xy=None if self.bus_xy is None else float_array("bus_xy", self.bus_xy, (n, 2), max_abs=MAX_GRID_VALUE),
        )
        if values["bus_name"].shape != (n,):
            raise ValueError(f"bus_name must have shape ({n},), got {values['bus_name'].shape}")
        branches = [
            ("line", values["line_from"], values["line_to"]),
            ("trafo", values["trafo_hv_bus"], values["trafo_lv_bus"]),
            ("switch", sw_a, sw_b),
        ]
        ends = [
            (f"{kind} {k}", int(a), int(b))
            for kind, side_a, side_b in branches
            for k, (a, b) in enumerate(zip(side_a, side_b, strict=True))
        ]
        _radial_check(n, ends, slack)
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

    @classmethod
    def from_pandapower(cls, net: Any) -> Grid:
        """The grid of a pandapower net; see :func:`smartopt.energy.pandapower_io.grid_from_pandapower`."""
        from smartopt.energy.pandapower_io import grid_from_pandapower

        return grid_from_pandapower(net)

    def to_pandapower(self, f_hz: float = 60.0) -> Any:
        """This grid as a pandapower net; see :func:`smartopt.energy.pandapower_io.grid_to_pandapower`."""
        from smartopt.energy.pandapower_io import grid_to_pandapower

        return grid_to_pandapower(self, f_hz)

    @property
    def num_buses(self) -> int:
        return int(self.bus_vn_kv.shape[0])

    @property
    def num_lines(self) -> int:
        return int(self.line_from.shape[0])

    @property
    def num_trafos(self) -> int:
        return int(self.trafo_hv_bus.shape[0])

    @property
    def num_loads(self) -> int:
        return int(self.load_bus.shape[0])

    @property
    def num_gens(self) -> int:
        return int(self.gen_bus.shape[0])

    @cached_property
    def per_unit(self) -> PerUnitModel:
        """The per-unit two-port model the power-flow solvers run on (built once per grid)."""
        from smartopt.energy._per_unit import PerUnitModel

        return PerUnitModel.of(self)

    def __getstate__(self) -> dict[str, Any]:
        """Pickles the grid's arrays; the per-unit model (C++ feeder) is rebuilt when needed."""
        return {k: v for k, v in self.__dict__.items() if k != "per_unit"}

    def __repr__(self) -> str:
        levels = ", ".join(f"{v:g} kV" for v in sorted(set(self.bus_vn_kv.tolist()), reverse=True))
        return (
            f"Grid({self.num_buses} buses ({levels}), {self.num_lines} lines, {self.num_trafos} transformers, "
            f"{self.switch_bus_a.shape[0]} closed switches, {self.num_loads} loads, {self.num_gens} generators, "
            f"slack bus {self.slack_bus})"
        )
