"""The distribution grid model: buses, lines, transformers, slack and loads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from smartopt._validation import FILLED, FloatArray, IntArray, assign_frozen, float_array, index_array


def _radial_check(n_bus: int, ends: list[tuple[str, int, int]], slack: int) -> None:
    """Raises ValueError naming the first branch that closes a loop or the first islanded bus."""
    parent = list(range(n_bus))

    def root(v: int) -> int:
        while parent[v] != v:
            parent[v] = parent[parent[v]]
            v = parent[v]
        return v

    for name, a, b in ends:
        ra, rb = root(a), root(b)
        if ra == rb:
            raise ValueError(f"grid is not radial: {name} (bus {a} - bus {b}) closes a loop")
        parent[ra] = rb
    islanded = [v for v in range(n_bus) if root(v) != root(slack)]
    if islanded:
        raise ValueError(f"bus {islanded[0]} is islanded: no path to the slack bus {slack}")


@dataclass(frozen=True, eq=False)
class Grid:
    """A radial distribution grid, validated on construction (shapes, ids, signs, radiality).

    Buses have a nominal voltage (kV). Lines join two buses of the same voltage with a series
    impedance ``r + jx`` (ohm, whole length) and an ampacity (kA). Two-winding transformers join an
    HV and an LV bus with a rating (kVA), short-circuit voltage and its resistive part (% of
    rating) and an off-nominal tap ratio (pu). The slack bus holds ``slack_vm_pu``. Loads sit at
    ``load_bus``.
    """

    bus_vn_kv: FloatArray
    line_from: IntArray
    line_to: IntArray
    line_r_ohm: FloatArray
    line_x_ohm: FloatArray
    line_max_i_ka: FloatArray
    trafo_hv_bus: IntArray
    trafo_lv_bus: IntArray
    trafo_sn_kva: FloatArray
    trafo_vk_percent: FloatArray
    trafo_vkr_percent: FloatArray
    load_bus: IntArray
    slack_bus: int = 0
    slack_vm_pu: float = 1.0
    trafo_tap_ratio: FloatArray = FILLED
    line_length_km: FloatArray | None = None
    bus_name: npt.NDArray[np.str_] = FILLED
    bus_xy: FloatArray | None = None

    def __post_init__(self) -> None:
        vn = float_array("bus_vn_kv", self.bus_vn_kv, (None,), positive=True)
        n = vn.shape[0]
        if n < 2:
            raise ValueError(f"bus_vn_kv: a grid needs at least two buses, got {n}")
        lf = index_array("line_from", self.line_from, n, (None,))
        nl = lf.shape[0]
        lt = index_array("line_to", self.line_to, n, (nl,))
        r = float_array("line_r_ohm", self.line_r_ohm, (nl,), nonnegative=True)
        x = float_array("line_x_ohm", self.line_x_ohm, (nl,), nonnegative=True)
        zero = (r == 0) & (x == 0)
        if zero.any():
            raise ValueError(f"line {int(np.flatnonzero(zero)[0])} has zero impedance (line_r_ohm = line_x_ohm = 0)")
        imax = float_array("line_max_i_ka", self.line_max_i_ka, (nl,), positive=True)
        mismatch = vn[lf] != vn[lt]
        if mismatch.any():
            k = int(np.flatnonzero(mismatch)[0])
            raise ValueError(f"line {k} joins buses of different voltage ({vn[lf[k]]} kV and {vn[lt[k]]} kV)")
        hv = index_array("trafo_hv_bus", self.trafo_hv_bus, n, (None,))
        nt = hv.shape[0]
        lv = index_array("trafo_lv_bus", self.trafo_lv_bus, n, (nt,))
        sn = float_array("trafo_sn_kva", self.trafo_sn_kva, (nt,), positive=True)
        vk = float_array("trafo_vk_percent", self.trafo_vk_percent, (nt,), positive=True)
        vkr = float_array("trafo_vkr_percent", self.trafo_vkr_percent, (nt,), nonnegative=True)
        if (vkr >= vk).any():
            k = int(np.flatnonzero(vkr >= vk)[0])
            raise ValueError(f"trafo {k}: trafo_vkr_percent={vkr[k]} must be below trafo_vk_percent={vk[k]}")
        inverted = vn[hv] < vn[lv]
        if inverted.any():
            k = int(np.flatnonzero(inverted)[0])
            raise ValueError(f"trafo {k}: hv bus {hv[k]} has a lower voltage than lv bus {lv[k]}")
        tap = (
            np.ones(nt)
            if self.trafo_tap_ratio is None
            else float_array("trafo_tap_ratio", self.trafo_tap_ratio, (nt,), positive=True)
        )
        slack = int(index_array("slack_bus", [self.slack_bus], n)[0])
        vm = float(float_array("slack_vm_pu", [self.slack_vm_pu], positive=True)[0])
        _radial_check(
            n,
            [(f"line {k}", int(a), int(b)) for k, (a, b) in enumerate(zip(lf, lt, strict=True))]
            + [(f"trafo {k}", int(a), int(b)) for k, (a, b) in enumerate(zip(hv, lv, strict=True))],
            slack,
        )
        values: dict[str, Any] = {
            "bus_vn_kv": vn,
            "line_from": lf,
            "line_to": lt,
            "line_r_ohm": r,
            "line_x_ohm": x,
            "line_max_i_ka": imax,
            "trafo_hv_bus": hv,
            "trafo_lv_bus": lv,
            "trafo_sn_kva": sn,
            "trafo_vk_percent": vk,
            "trafo_vkr_percent": vkr,
            "trafo_tap_ratio": tap,
            "load_bus": index_array("load_bus", self.load_bus, n, (None,)),
            "slack_bus": slack,
            "slack_vm_pu": vm,
            "line_length_km": None
            if self.line_length_km is None
            else float_array("line_length_km", self.line_length_km, (nl,), positive=True),
            "bus_name": np.array([f"bus {i}" for i in range(n)])
            if self.bus_name is None
            else np.asarray(self.bus_name).astype(str),
            "bus_xy": None if self.bus_xy is None else float_array("bus_xy", self.bus_xy, (n, 2)),
        }
        if values["bus_name"].shape != (n,):
            raise ValueError(f"bus_name must have shape ({n},), got {values['bus_name'].shape}")
        assign_frozen(self, values)

    @property
    def num_buses(self) -> int:
        return int(self.bus_vn_kv.shape[0])

    @property
    def num_loads(self) -> int:
        return int(self.load_bus.shape[0])

    def __repr__(self) -> str:
        levels = ", ".join(f"{v:g} kV" for v in sorted(set(self.bus_vn_kv.tolist()), reverse=True))
        return (
            f"Grid({self.num_buses} buses ({levels}), {self.line_from.shape[0]} lines, "
            f"{self.trafo_hv_bus.shape[0]} transformers, {self.num_loads} loads, slack bus {self.slack_bus})"
        )
