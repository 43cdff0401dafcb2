"""The per-unit two-port model of a :class:`~smartopt.energy.Grid`, as the power-flow solvers see it.

Bases: 1 MVA for the whole grid and each bus's nominal voltage (the conventions of pandapower and
MATPOWER, so results agree with theirs to round-off). Branches are numbered lines, then
transformers, then closed switches. Each line or transformer is a two-port
``[I_from, I_to] = [[yff, yft], [ytf, ytt]] @ [V_from, V_to]``: lines are pi models; transformers
are an ideal ratio ``N = tap * exp(j shift)`` on the HV side followed by a T model (half the
leakage impedance on each side of the magnetising branch), as pandapower's default ``"t"`` model.
Closed switches are ideal ties.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from smartopt._core import _power_flow

if TYPE_CHECKING:
    from smartopt.energy.grid import Grid

BASE_KVA = 1000.0
"""Power base of the per-unit system (kVA)."""

ComplexArray = npt.NDArray[np.complex128]


def _line_two_port(grid: Grid) -> tuple[ComplexArray, ComplexArray]:
    """Series and per-end shunt admittance of each line (pu)."""
    z_base = grid.bus_vn_kv[grid.line_from] ** 2 / (BASE_KVA / 1000.0)
    z = (grid.line_r_ohm_per_km + 1j * grid.line_x_ohm_per_km) * grid.line_length_km / z_base
    y_shunt = 1j * grid.line_b_us_per_km * 1e-6 * grid.line_length_km * z_base / 2.0
    return np.asarray(1.0 / z, dtype=np.complex128), np.asarray(y_shunt, dtype=np.complex128)


def _trafo_two_port(grid: Grid) -> tuple[ComplexArray, ComplexArray, ComplexArray, ComplexArray]:
    """yff, yft, ytf, ytt of each transformer (pu), HV side first."""
    hv_kv, lv_kv = grid.bus_vn_kv[grid.trafo_hv_bus], grid.bus_vn_kv[grid.trafo_lv_bus]
    on_lv = grid.trafo_tap_side == "lv"
    tapped_hv = grid.trafo_vn_hv_kv * np.where(on_lv, 1.0, grid.trafo_tap_ratio)
    tapped_lv = grid.trafo_vn_lv_kv * np.where(on_lv, grid.trafo_tap_ratio, 1.0)
    ratio = (tapped_hv / tapped_lv) / (hv_kv / lv_kv) * np.exp(1j * np.deg2rad(grid.trafo_shift_degree))
    sn_pu = grid.trafo_sn_kva / BASE_KVA
    lv_scale = (tapped_lv / lv_kv) ** 2  # the tapped LV winding referred to the LV bus base
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


@dataclass(frozen=True, eq=False)
class PerUnitModel:
    """Per-unit branch data of a grid and its feeder order from the slack (see the module doc)."""

    num_buses: int
    branch_from: npt.NDArray[np.int32]
    branch_to: npt.NDArray[np.int32]
    yff: ComplexArray
    yft: ComplexArray
    ytf: ComplexArray
    ytt: ComplexArray
    is_switch: npt.NDArray[np.bool_]
    position_bus: npt.NDArray[np.int32]
    """Bus at each feeder position (position 0 is the slack; parents come before children)."""
    position_parent: npt.NDArray[np.int32]
    position_branch: npt.NDArray[np.int32]
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
    load_pos: npt.NDArray[np.int32]
    gen_pos: npt.NDArray[np.int32]
    feeder: _power_flow.Feeder

    def __repr__(self) -> str:
        return f"PerUnitModel({self.num_buses} buses, {self.branch_from.size} branches, {self.load_pos.size} loads)"

    @classmethod
    def of(cls, grid: Grid) -> PerUnitModel:
        nl, nt, ns = grid.num_lines, grid.num_trafos, grid.switch_bus_a.shape[0]
        frm = np.concatenate([grid.line_from, grid.trafo_hv_bus, grid.switch_bus_a]).astype(np.int32)
        to = np.concatenate([grid.line_to, grid.trafo_lv_bus, grid.switch_bus_b]).astype(np.int32)
        y_series, y_shunt = _line_two_port(grid)
        t_ff, t_ft, t_tf, t_tt = _trafo_two_port(grid)
        zeros = np.zeros(ns, complex)
        yff = np.concatenate([y_series + y_shunt, t_ff, zeros])
        yft = np.concatenate([-y_series, t_ft, zeros])
        ytf = np.concatenate([-y_series, t_tf, zeros])
        ytt = np.concatenate([y_series + y_shunt, t_tt, zeros])
        is_switch = np.arange(nl + nt + ns) >= nl + nt
        i_base = (BASE_KVA / 1000.0) / (np.sqrt(3.0) * grid.bus_vn_kv)
        sn_ratio = BASE_KVA / grid.trafo_sn_kva
        rate_from = 100.0 * np.concatenate(
            [
                i_base[grid.line_from] / grid.line_max_i_ka,
                grid.trafo_vn_hv_kv / grid.bus_vn_kv[grid.trafo_hv_bus] * sn_ratio,
                np.zeros(ns),
            ]
        )
        rate_to = 100.0 * np.concatenate(
            [
                i_base[grid.line_to] / grid.line_max_i_ka,
                grid.trafo_vn_lv_kv / grid.bus_vn_kv[grid.trafo_lv_bus] * sn_ratio,
                np.zeros(ns),
            ]
        )

        # Feeder order: breadth first from the slack.
        n = grid.num_buses
        incident: list[list[int]] = [[] for _ in range(n)]
        for k, (a, b) in enumerate(zip(frm.tolist(), to.tolist(), strict=True)):
            incident[a].append(k)
            incident[b].append(k)
        position = np.full(n, -1, np.int32)
        position[grid.slack_bus] = 0
        order, parent, via = [grid.slack_bus], [-1], [-1]
        todo = deque([grid.slack_bus])
        while todo:
            v = todo.popleft()
            for k in incident[v]:
                w = int(to[k] if frm[k] == v else frm[k])
                if position[w] < 0:
                    position[w] = len(order)
                    order.append(w)
                    parent.append(int(position[v]))
                    via.append(k)
                    todo.append(w)
        pos_branch = np.array(via, np.int32)
        flipped = np.zeros(n, np.uint8)
        flipped[1:] = frm[pos_branch[1:]] == np.array(order[1:])
        # Two-port seen from the parent (p) to the child (c), then in hybrid form.
        via_k = pos_branch[1:]
        f = flipped[1:].astype(bool)
        ypp = np.where(f, ytt[via_k], yff[via_k])
        ypc = np.where(f, ytf[via_k], yft[via_k])
        ycp = np.where(f, yft[via_k], ytf[via_k])
        ycc = np.where(f, yff[via_k], ytt[via_k])
        sw = is_switch[via_k]
        with np.errstate(divide="ignore", invalid="ignore"):
            a = np.where(sw, 0.0, ypp - ypc * ycp / ycc)
            b = np.where(sw, 1.0, -ypc / ycc)
            c = np.where(sw, 1.0, -ycp / ycc)
            d = np.where(sw, 0.0, -1.0 / ycc)

        def padded(h: ComplexArray) -> ComplexArray:
            return np.concatenate([np.zeros(1, complex), h])

        hybrid = (padded(a), padded(b), padded(c), padded(d))
        v_slack = grid.slack_vm_pu * np.exp(1j * np.deg2rad(grid.slack_va_degree))
        bus = np.array(order, np.int32)
        par = np.array(parent, np.int32)
        feeder = _power_flow.make_feeder(bus, par, pos_branch, flipped, *hybrid, complex(v_slack), BASE_KVA)
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
            hybrid=hybrid,
            i_base_from_ka=i_base[frm],
            i_base_to_ka=i_base[to],
            rate_from=rate_from,
            rate_to=rate_to,
            v_slack=complex(v_slack),
            load_pos=position[grid.load_bus],
            gen_pos=position[grid.gen_bus],
            feeder=feeder,
        )

    def bus_representative(self) -> npt.NDArray[np.int64]:
        """For each bus, the bus that stands for it once closed switches merge tied buses."""
        rep = np.arange(self.num_buses)
        for pos in range(1, self.position_bus.size):  # parents first, so a representative is final
            if self.is_switch[self.position_branch[pos]]:
                rep[self.position_bus[pos]] = rep[self.position_bus[self.position_parent[pos]]]
        return rep

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
        return y
