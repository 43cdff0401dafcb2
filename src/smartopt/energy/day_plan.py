"""A district's energy day planned as one system: EV charging and battery dispatch together, within
the feeder's transformer, line and voltage limits.

The plan is a linear program (OR-Tools GLOP) over every car's charging power in every slot of its
stay and each battery's charge, discharge and state of charge. Grid limits enter linearised around
the power flow: the power a branch may still carry in each slot (from its loading and flow without
EVs) bounds the charging it carries (all the charging below it on a radial grid; on a meshed
grid each charger's share by current division), and a bus that falls under the voltage band gets a
cut from the voltage sensitivities. After each solve a full power flow checks the plan; limits it still breaks
are tightened and the plan is solved again. Without grid limits, the cars' charging is then
re-spread by the exact valley-filling solver over the load the batteries leave, which keeps the
peak and flattens the rest.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.linalg import splu

from smartopt._progress import SearchLog
from smartopt._serialise import ToDict
from smartopt._validation import MAX_QUANTITY, FloatArray, bool_flag, float_array, positive_float, positive_int
from smartopt.energy._lp import LP_SOLVERS, LinearProgram
from smartopt.energy.assets import EnergyDay
from smartopt.energy.battery import Battery
from smartopt.energy.charging import schedule_charging
from smartopt.energy.grid import Grid
from smartopt.energy.power_flow import PowerFlowResult, Violations, voltage_sensitivities

if TYPE_CHECKING:
    from matplotlib.figure import Figure

OBJECTIVES = ("min_peak", "cost")
OVERLOAD_PENALTY = 1e3
"""Objective cost of 1 kW over a branch's limit for one slot: limits come first, then the peak or cost."""


@dataclass(frozen=True, eq=False)
class DayPlan(ToDict):
    """The managed day on ``day``: each car's charging ``ev_kw`` ``(n_ev, T)``, each battery's
    output ``battery_kw`` ``(T, n_battery)`` (discharging > 0) and state of charge ``battery_soc``
    ``(T + 1, n_battery)`` (fraction), and the power flows ``before`` (charging at full power on
    arrival, batteries idle) and ``after``. Where serving every car within the limits is impossible
    (e.g. fast chargers behind a small transformer), the plan goes over the limit as little as it
    can: ``accepted_overload_kw`` ``(T, n_branch)``. ``rounds`` counts the solves the grid checks took.
    ``status``: ``"optimal"``; ``"time_limit"`` (the time limit ran out: the plan is the last
    round's, or, if no round finished, no managed charging and idle batteries; ``after`` shows the
    limits it still breaks); ``"infeasible"`` (a round's linear program, with its voltage cuts, has
    no solution: the last plan found, as for a time limit) or ``"not_solved"`` (the LP solver
    stopped on numerical trouble: likewise)."""

    _inputs = ("day",)

    day: EnergyDay
    ev_kw: FloatArray
    battery_kw: FloatArray
    battery_soc: FloatArray
    before: PowerFlowResult
    after: PowerFlowResult
    v_min_pu: float
    max_loading_percent: float
    accepted_overload_kw: FloatArray
    rounds: int
    runtime_s: float
    status: str = "optimal"

    @classmethod
    def _nested_inputs(cls, inputs: dict[str, Any]) -> dict[str, Any]:
        return {"grid": inputs["day"].day_grid}  # the power flows before and after ran on it

    @cached_property
    def charger_kw(self) -> FloatArray:
        """Charging per slot and charger (kW), ``(T, n_charger)``."""
        return self.day.charger_load_kw(self.ev_kw)

    @cached_property
    def demand_before_kw(self) -> FloatArray:
        """District demand (loads minus PV plus unmanaged charging, kW) per slot, before losses."""
        return np.asarray(self.day.net_load_kw() + self.day.uncontrolled_ev_kw())

    @cached_property
    def demand_after_kw(self) -> FloatArray:
        """District demand with the managed charging and the batteries (kW) per slot, before losses."""
        return np.asarray(self.day.net_load_kw() + self.ev_kw.sum(axis=0) - self.battery_kw.sum(axis=1))

    def violations(self) -> tuple[Violations, Violations]:
        """Grid limit violations before and after (at the plan's voltage and loading limits)."""
        limits = {"v_min_pu": self.v_min_pu, "max_loading_percent": self.max_loading_percent}
        return self.before.violations(**limits), self.after.violations(**limits)

    def summary(self) -> dict[str, Any]:
        """Headline figures: peak and load factor of the district demand, energy served, worst
        voltage and loading, violation counts, before and after."""
        before, after = self.violations()
        served = self.ev_kw.sum() * self.day.slot_h

        def side(demand: FloatArray, flow: PowerFlowResult, v: Violations) -> dict[str, Any]:
            return {
                "peak_kw": round(float(demand.max()), 1),
                "load_factor": round(float(demand.mean() / demand.max()), 4),
                "min_vm_pu": round(float(flow.vm_pu.min()), 4),
                "peak_trafo_loading_percent": round(float(flow.trafo_loading_percent.max(initial=0.0)), 1),
                "peak_line_loading_percent": round(float(flow.line_loading_percent.max(initial=0.0)), 1),
                "overloaded_trafos": int(v.trafo.size),
                "overloaded_lines": int(v.line.size),
                "buses_out_of_band": int(v.bus.size),
                "failed_snapshots": int(v.failed.size),
                "losses_kwh": round(float(flow.losses_kw.sum() * self.day.slot_h), 1),
            }

        return {
            "before": side(self.demand_before_kw, self.before, before),
            "after": side(self.demand_after_kw, self.after, after),
            "ev_energy_asked_kwh": round(float(self.day.ev_energy_kwh.sum()), 1),
            "ev_energy_served_kwh": round(float(served), 1),
            "accepted_overload_kw": round(float(self.accepted_overload_kw.max(initial=0.0)), 1),
            "rounds": self.rounds,
            "status": self.status,
            "runtime_s": round(self.runtime_s, 3),
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per slot: its start (h), demand before and after, managed EV load, battery output
        (kW) and the first battery's state of charge at the slot's end."""
        return pd.DataFrame(
            {
                "time_h": np.arange(self.day.num_slots) * self.day.slot_h,
                "demand_before_kw": self.demand_before_kw,
                "demand_after_kw": self.demand_after_kw,
                "ev_unmanaged_kw": self.day.uncontrolled_ev_kw(),
                "ev_managed_kw": self.ev_kw.sum(axis=0),
                "battery_kw": self.battery_kw.sum(axis=1),
                "battery_soc": self.battery_soc[1:, 0] if self.battery_soc.shape[1] else np.nan,
            },
            index=pd.RangeIndex(self.day.num_slots, name="slot"),
        )

    def plot(self) -> Figure:
        """District demand (MW) per slot over the day (0-24 h): without EV charging, before the
        plan (charging on arrival, battery idle) and after it; below, the batteries' state of
        charge (%)."""
        from matplotlib.figure import Figure

        fig = Figure(figsize=(9, 5.2))
        ax, soc_ax = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1])
        hours = np.arange(self.day.num_slots + 1) * self.day.slot_h
        for values, label in (
            (self.day.net_load_kw(), "loads - PV, no EV charging"),
            (self.demand_before_kw, "before: EVs charge on arrival, battery idle"),
            (self.demand_after_kw, "after: planned charging and battery"),
        ):
            ax.stairs(np.asarray(values) / 1000, hours, label=label, lw=1.4, baseline=None)
        ax.set_ylabel("district demand, MW")
        ax.legend(loc="upper left", fontsize=8)
        ax.grid(alpha=0.3)
        for b in range(self.battery_soc.shape[1]):
            soc_ax.plot(hours, 100 * self.battery_soc[:, b], label=f"battery {b + 1}")
        soc_ax.set_ylabel("battery charge, %")
        soc_ax.set_ylim(0, 100)
        soc_ax.set_xlim(0, hours[-1])
        soc_ax.set_xticks(np.arange(0, hours[-1] + 1, 3))
        soc_ax.set_xlabel("time of day, h")
        soc_ax.grid(alpha=0.3)
        fig.tight_layout()
        return fig

    def __repr__(self) -> str:
        s = self.summary()
        b, a = s["before"], s["after"]
        return (
            f"DayPlan(peak {b['peak_kw']} -> {a['peak_kw']} kW, load factor {b['load_factor']} -> "
            f"{a['load_factor']}, overloaded transformers {b['overloaded_trafos']} -> {a['overloaded_trafos']}, "
            f"buses out of band {b['buses_out_of_band']} -> {a['buses_out_of_band']}, {self.rounds} rounds, "
            f"{self.status}, {self.runtime_s:.2f} s)"
        )


def _uncontrolled_ev_kw(day: EnergyDay) -> FloatArray:
    """Each car's power ``(n_ev, T)`` (kW) charging at full power from arrival until full, as in
    :meth:`EnergyDay.uncontrolled_charging_kw`."""
    power = np.minimum(day.ev_max_kw, day.charger_kw[day.ev_charger])
    out = np.zeros((day.ev_charger.size, day.num_slots))
    for i, (a, need, p) in enumerate(zip(day.ev_arrival_slot, day.ev_energy_kwh, power, strict=True)):
        full_slots, rest = divmod(need / (p * day.slot_h), 1.0)
        k = int(full_slots)
        out[i, a : a + k] = p
        if rest > 1e-12:
            out[i, a + k] = p * rest
    return out


def _flow_shares(grid: Grid) -> FloatArray:
    """``(n_branch, n_bus)``: the share of a kW drawn at each bus that flows through each branch
    from its from end to its to end, by current division over the branches' series impedances
    with the slacks as ground (shunts, tap ratios and phase shifts left out). On a radial grid a
    share is 1 on the branches of the bus's path to the slack (-1 where the branch points towards
    the slack) and 0 elsewhere; around a loop or between slacks the kW divides. Switches carry 0."""
    pu = grid.per_unit
    n = pu.num_buses
    rep = pu.bus_representative()
    real = np.flatnonzero(~pu.is_switch)
    y = np.sqrt(pu.yft[real] * pu.ytf[real])  # the series admittance up to its sign ...
    y = np.where((y.real == 0) & (y.imag > 0), -y, y)  # ... which gives it R >= 0 and X >= 0
    f, t = rep[pu.branch_from[real]], rep[pu.branch_to[real]]
    ybus = sp.csc_matrix((np.concatenate([y, y, -y, -y]), (np.r_[f, t, f, t], np.r_[f, t, t, f])), shape=(n, n))
    free = np.flatnonzero((rep == np.arange(n)) & ~np.isin(np.arange(n), rep[grid.slack_buses]))
    z = np.zeros((n, n), complex)  # bus voltage drop per unit current drawn at a bus
    z[np.ix_(free, free)] = splu(ybus[free][:, free]).solve(np.eye(free.size, dtype=complex))
    z = z[np.ix_(rep, rep)]
    shares = np.zeros((pu.branch_from.size, n))
    shares[real] = (y[:, None] * (z[pu.branch_to[real]] - z[pu.branch_from[real]])).real
    shares[np.abs(shares) < 1e-9] = 0.0
    return shares


def _headroom_kw(flow: PowerFlowResult, max_loading_percent: float, toward_to: npt.NDArray[np.bool_]) -> FloatArray:
    """Active power each branch may still take in each slot (kW, ``(T, n_branch)``) in its
    direction of planning (from end to to end where ``toward_to``): the flow that brings its
    loading to the limit at the slot's voltage and reactive flow."""
    s = np.where(toward_to, flow.branch_s_from_kva, flow.branch_s_to_kva)  # kVA entering at the near end
    loading = flow.branch_loading_percent
    with np.errstate(divide="ignore", invalid="ignore"):
        s_max = np.where(loading > 1e-9, np.abs(s) * max_loading_percent / loading, np.inf)
    return np.asarray(np.sqrt(np.maximum(s_max**2 - s.imag**2, 0.0)) - s.real)


def plan_day(
    day: EnergyDay,
    *,
    objective: str = "min_peak",
    price: Any = None,
    battery: Battery | None = None,
    grid_limits: bool = True,
    v_min_pu: float = 0.95,
    max_loading_percent: float = 100.0,
    max_iterations: int = 10,
    solver: str = "glop",
    time_limit_s: float = 120.0,
    log: bool = False,
) -> DayPlan:
    """Plans ``day``'s EV charging and battery dispatch together.

    ``"min_peak"`` minimises the district demand's peak; ``"cost"`` its cost under ``price``
    (``(T,)`` per kWh). Every car gets its energy. ``battery`` sets the batteries' efficiencies
    and state-of-charge limits (its energy and power come from ``day``; default
    ``Battery(..., soc0=day.battery_soc0)``). With ``grid_limits`` the plan keeps transformer and
    line loading under ``max_loading_percent`` and voltages above ``v_min_pu``, checked by a full
    power flow and re-solved up to ``max_iterations`` times; ``solver`` is GLOP or PDLP. The whole call
    (set-up, solves and power flows) ends within ``time_limit_s`` (s), except that the power flow
    of the day as it is (``before``) is always computed (status ``"time_limit"`` if the limit cut
    the plan short). ``log=True`` prints each round to stdout (seconds, peak branch loading).

    Examples:
        >>> from smartopt.datasets import sejong_5_1
        >>> from smartopt.energy import plan_day
        >>> plan = plan_day(sejong_5_1().energy)
        >>> round(plan.summary()["before"]["peak_kw"]), round(plan.summary()["after"]["peak_kw"])  # kW
        (9776, 8080)
    """
    if not isinstance(day, EnergyDay):
        raise TypeError(f"day must be an EnergyDay, got {type(day).__name__}")
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {OBJECTIVES}, got {objective!r}")
    if solver not in LP_SOLVERS:
        raise ValueError(f"solver must be one of {LP_SOLVERS}, got {solver!r}")
    if battery is not None and not isinstance(battery, Battery):
        raise TypeError(f"battery must be a Battery or None, got {type(battery).__name__}")
    grid_limits = bool_flag("grid_limits", grid_limits)
    v_min_pu = positive_float("v_min_pu", v_min_pu)
    max_loading_percent = positive_float("max_loading_percent", max_loading_percent)
    max_iterations = positive_int("max_iterations", max_iterations, maximum=1000)
    time_limit_s = positive_float("time_limit_s", time_limit_s)
    started = time.perf_counter()
    deadline = started + time_limit_s
    search_log = SearchLog(
        "plan_day",
        "peak branch loading (%)",
        enabled=bool_flag("log", log),
        started=started,
        counting="rounds",
        keep=lambda _old, new: new,
    )
    search_log.header(f"{day!r} by {solver}", max_iterations, time_limit_s)
    t, slot_h = day.num_slots, day.slot_h
    prices = None
    if objective == "cost":
        if price is None:
            raise ValueError('objective "cost" needs a price per slot')
        prices = float_array("price", price, (t,), max_abs=MAX_QUANTITY)
    batteries = [
        Battery(
            energy_kwh=float(e),
            power_kw=float(p),
            charge_efficiency=battery.charge_efficiency if battery else 0.95,
            discharge_efficiency=battery.discharge_efficiency if battery else 0.95,
            soc_min=min(battery.soc_min if battery else 0.1, float(s0)),
            soc_max=max(battery.soc_max if battery else 0.9, float(s0)),
            soc0=float(s0),
            soc_final=battery.soc_final if battery else None,
        )
        for e, p, s0 in zip(day.battery_kwh, day.battery_kw, day.battery_soc0, strict=True)
    ]
    flow_started = time.perf_counter()
    before = day.power_flow()
    search_log.line(0, float(before.branch_loading_percent.max(initial=0.0)), force=True)
    # Each round ends with a power flow of the day: the LPs stop early enough to leave time for it.
    flow_s = time.perf_counter() - flow_started
    # Without a round's plan: the day as it is, cars charging on arrival and batteries idle.
    ev_kw = _uncontrolled_ev_kw(day)
    battery_out: FloatArray = np.zeros((t, len(batteries)))
    overload: FloatArray = np.zeros((t, day.grid.per_unit.branch_from.size))
    after: PowerFlowResult | None = before
    rounds = 0
    status = "optimal"
    model: _DayModel | None = None
    headroom: FloatArray | None = None
    # Each branch is planned in the direction the chargers and batteries push it (away from the
    # slack on a radial grid): the sign that makes their shares add up to at least 0.
    shares = _flow_shares(day.grid)
    toward_to = shares[:, np.concatenate([day.charger_bus, day.battery_bus])].sum(axis=1) >= 0
    shares[~toward_to] *= -1
    if time.perf_counter() + 2 * flow_s < deadline:
        base_flow = day.power_flow(charger_kw=np.zeros((t, day.charger_kw.size)))
        headroom = _headroom_kw(base_flow, max_loading_percent, toward_to) if grid_limits else None
    if time.perf_counter() + flow_s < deadline:
        model = _DayModel(day, batteries, prices, shares)
    if model is None:
        status = "time_limit"
    while model is not None:
        rounds += 1
        solved = model.solve(headroom, solver, deadline - flow_s)
        if isinstance(solved, str):  # no plan this round: keep the last one
            status, rounds = solved, rounds - 1
            break
        ev_kw, battery_out, overload = solved
        after = day.power_flow(charger_kw=day.charger_load_kw(ev_kw), battery_kw=battery_out)
        search_log.line(rounds, float(after.branch_loading_percent.max(initial=0.0)), force=True)
        if not grid_limits or rounds >= max_iterations:
            break
        assert headroom is not None
        loading = after.branch_loading_percent
        excess = np.abs(after.branch_s_from_kva) * np.maximum(1 - max_loading_percent / np.maximum(loading, 1e-9), 0)
        unplanned = np.maximum(excess - overload, 0.0)  # kW over the limit the plan did not accept
        low = after.vm_pu < v_min_pu
        if not (unplanned > 1e-3).any() and not low.any():
            break
        if time.perf_counter() + flow_s >= deadline:
            status = "time_limit"
            break
        # The linearisation misses what a branch draws itself (losses, reactive power), much the same
        # in every slot: tighten such a branch in all slots by its worst unplanned excess (with a
        # margin). Cut each low voltage.
        worst = unplanned.max(axis=0)
        headroom = headroom - np.where(worst > 1e-3, 1.05 * worst + 1e-3, 0.0)
        for slot in np.flatnonzero(low.any(axis=1)):
            model.add_voltage_cut(after, int(slot), v_min_pu)
    if not grid_limits and status == "optimal" and model is not None:  # spread the cars flat (same peak)
        flat = schedule_charging(
            day.ev_arrival_slot,
            day.ev_departure_slot,
            day.ev_energy_kwh,
            model.ev_power_kw,
            day.net_load_kw() - battery_out.sum(axis=1),
            slot_h=slot_h,
            objective="valley" if prices is None else "cost",
            price=prices,
        )
        ev_kw = np.asarray(flat.power_kw)
        after = day.power_flow(charger_kw=day.charger_load_kw(ev_kw), battery_kw=battery_out)
    assert after is not None
    soc = np.zeros((t + 1, len(batteries)))
    for b, bat in enumerate(batteries):
        soc[:, b] = model.soc(b) if model is not None and rounds else bat.soc0
    search_log.summary(f"{status} after {rounds} rounds in {time.perf_counter() - started:.2f} s")
    return DayPlan(
        day=day,
        ev_kw=ev_kw,
        battery_kw=battery_out,
        battery_soc=soc,
        before=before,
        after=after,
        v_min_pu=v_min_pu,
        max_loading_percent=max_loading_percent,
        accepted_overload_kw=overload,
        rounds=rounds,
        runtime_s=time.perf_counter() - started,
        status=status,
    )


class _DayModel:
    """The day's LP over ``[EV edges (kW), per battery: charge, discharge, soc, peak]``."""

    def __init__(self, day: EnergyDay, batteries: list[Battery], price: FloatArray | None, shares: FloatArray) -> None:
        t, slot_h = day.num_slots, day.slot_h
        self.day, self.batteries, self.price = day, batteries, price
        self.ev_power_kw = np.minimum(day.ev_max_kw, day.charger_kw[day.ev_charger])
        lengths = (day.ev_departure_slot - day.ev_arrival_slot).astype(np.int64)
        n = lengths.size
        self.edge_ev = np.repeat(np.arange(n), lengths)
        starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
        self.edge_slot = np.repeat(day.ev_arrival_slot, lengths) + (np.arange(self.edge_ev.size) - starts)
        self.edge_bus = day.charger_bus[day.ev_charger][self.edge_ev]
        m, nb = self.edge_ev.size, len(batteries)
        self.battery_at = m  # first battery column
        self.peak_col = m + 3 * t * nb
        self.num_cols = self.peak_col + 1
        self.shares = shares  # (n_branch, n_bus): share of a kW drawn at a bus through each branch
        blocks = [b.lp_block(t, slot_h) for b in batteries]
        # Fixed rows: energies, battery states of charge, the demand under the peak (or its cost).
        energy = sp.csr_matrix((np.ones(m), (self.edge_ev, np.arange(m))), shape=(n, self.num_cols))
        soc_rows = [
            sp.hstack(
                [sp.csr_matrix((t, m + 3 * t * b)), rows, sp.csr_matrix((t, self.num_cols - m - 3 * t * (b + 1)))]
            )
            for b, (rows, _, _, _) in enumerate(blocks)
        ]
        demand = sp.hstack([self._slot_matrix(np.ones(m)), self._battery_net(np.ones(nb)), -np.ones((t, 1))])
        net = day.net_load_kw()
        self.fixed = [energy, *soc_rows, demand]
        self.fixed_lower = [day.ev_energy_kwh / slot_h, *(rhs for _, rhs, _, _ in blocks), np.full(t, -np.inf)]
        self.fixed_upper = [day.ev_energy_kwh / slot_h, *(rhs for _, rhs, _, _ in blocks), -net]
        self.col_lower = np.concatenate([np.zeros(m), *(lo for _, _, lo, _ in blocks), [-np.inf]])
        self.col_upper = np.concatenate([self.ev_power_kw[self.edge_ev], *(hi for _, _, _, hi in blocks), [np.inf]])
        if price is None:
            self.cost = np.zeros(self.num_cols)
            self.cost[self.peak_col] = 1.0
        else:
            bat_cost = np.concatenate([np.concatenate([price, -price, np.zeros(t)]) * slot_h for _ in batteries])
            self.cost = np.concatenate([price[self.edge_slot] * slot_h, bat_cost, [0.0]])
        self.cuts: list[tuple[sp.csr_matrix, float]] = []
        self.z: FloatArray = np.zeros(self.num_cols)

    def _slot_matrix(self, weight: FloatArray) -> sp.csr_matrix:
        """``(T, n_edge)``: each edge's weight in its slot's row."""
        t, m = self.day.num_slots, self.edge_ev.size
        return sp.csr_matrix((weight, (self.edge_slot, np.arange(m))), shape=(t, m))

    def _battery_net(self, weight: FloatArray) -> sp.csr_matrix:
        """``(T, 3 T n_battery)``: charge minus discharge of each battery times its weight."""
        t = self.day.num_slots
        eye = sp.identity(t, format="csr")
        return (
            sp.hstack([sp.hstack([w * eye, -w * eye, sp.csr_matrix((t, t))]) for w in weight], format="csr")
            if weight.size
            else sp.csr_matrix((t, 0))
        )

    def soc(self, b: int) -> FloatArray:
        t = self.day.num_slots
        first = self.battery_at + 3 * t * b
        bat = self.batteries[b]
        return np.concatenate([[bat.soc0], self.z[first + 2 * t : first + 3 * t] / bat.energy_kwh])

    def add_voltage_cut(self, flow: PowerFlowResult, slot: int, v_min_pu: float) -> None:
        """A linear cut keeping the lowest bus of ``slot`` above ``v_min_pu`` (with 0.1 mV to spare),
        from the voltage sensitivities at the plan just checked."""
        bus = int(np.argmin(flow.vm_pu[slot]))
        dv_dp = voltage_sensitivities(flow, slot).dv_dp[bus]  # pu per kW injected at each bus
        t = self.day.num_slots
        row = np.zeros(self.num_cols)
        at = self.edge_slot == slot
        row[np.flatnonzero(at)] = -dv_dp[self.edge_bus[at]]  # charging draws power
        for b, bus_b in enumerate(self.day.battery_bus):
            first = self.battery_at + 3 * t * b
            row[first + slot] = -dv_dp[bus_b]
            row[first + t + slot] = dv_dp[bus_b]
        now = float(row @ self.z)
        self.cuts.append((sp.csr_matrix(row), v_min_pu + 1e-4 - float(flow.vm_pu[slot, bus]) + now))

    def solve(
        self, headroom: FloatArray | None, solver: str, deadline: float
    ) -> tuple[FloatArray, FloatArray, FloatArray] | str:
        """Solves with branch headroom ``(T, n_branch)`` kW (None: no grid rows) by ``deadline`` (a
        ``time.perf_counter()`` instant); returns each car's power ``(n_ev, T)``, each battery's
        output ``(T, n_battery)`` and the overload the plan cannot avoid per slot and branch
        ``(T, n_branch)`` (kW), or, without an optimum, the LP's status."""
        t, n_branch = self.day.num_slots, self.shares.shape[0]
        rows, lower, upper = list(self.fixed), list(self.fixed_lower), list(self.fixed_upper)
        branches = np.zeros(0, np.int64)
        if headroom is not None:
            # Branches that carry a share of some charger's or battery's power: the charging minus
            # battery output they carry stays within the headroom in every slot, or pays for each
            # kW over it.
            branches = np.flatnonzero(self.shares[:, np.concatenate([self.edge_bus, self.day.battery_bus])].any(axis=1))
            for k in branches:
                if time.perf_counter() >= deadline:  # building the rows takes a while on a large grid
                    return "time_limit"
                w_ev = self.shares[k, self.edge_bus]
                w_bat = self.shares[k, self.day.battery_bus]
                rows.append(sp.hstack([self._slot_matrix(w_ev), self._battery_net(w_bat), sp.csr_matrix((t, 1))]))
                lower.append(np.full(t, -np.inf))
                upper.append(headroom[:, k])
        for row, bound in self.cuts:
            rows.append(row)
            lower.append(np.array([bound]))
            upper.append(np.array([np.inf]))
        matrix = sp.vstack(rows, format="csr")
        first_grid_row = sum(r.shape[0] for r in self.fixed)
        n_over = branches.size * t
        over_cols = sp.csr_matrix(
            (-np.ones(n_over), (first_grid_row + np.arange(n_over), np.arange(n_over))), shape=(matrix.shape[0], n_over)
        )
        program = LinearProgram(
            cost=np.concatenate([self.cost, np.full(n_over, OVERLOAD_PENALTY)]),
            matrix=sp.hstack([matrix, over_cols], format="csr"),
            row_lower=np.concatenate(lower),
            row_upper=np.concatenate(upper),
            col_lower=np.concatenate([self.col_lower, np.zeros(n_over)]),
            col_upper=np.concatenate([self.col_upper, np.full(n_over, np.inf)]),
        )
        outcome = program.solve(solver, deadline)
        z = outcome.z
        if z is None:
            return outcome.status
        self.z = z[: self.num_cols]
        overload = np.zeros((t, n_branch))
        overload[:, branches] = z[self.num_cols :].reshape(branches.size, t).T
        ev_kw = np.zeros((self.day.ev_charger.size, t))
        ev_kw[self.edge_ev, self.edge_slot] = np.clip(z[: self.edge_ev.size], 0.0, None)
        battery_kw = np.zeros((t, len(self.batteries)))
        for b in range(len(self.batteries)):
            first = self.battery_at + 3 * t * b
            battery_kw[:, b] = z[first + t : first + 2 * t] - z[first : first + t]
        return ev_kw, battery_kw, overload
