"""Battery dispatch beside a net load (demand minus rooftop PV): peak shaving or least cost, exact
in C++ (``smartopt._core._battery``: bisection with a greedy check; dynamic programming over convex
piecewise-linear value functions) with the linear program as the reference (OR-Tools GLOP)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from smartopt._core import _battery
from smartopt._serialise import ToDict
from smartopt._validation import MAX_QUANTITY, FloatArray, float_array, positive_float
from smartopt.energy._lp import LP_SOLVERS, LinearProgram

if TYPE_CHECKING:
    from matplotlib.axes import Axes

OBJECTIVES = ("min_peak", "cost")


def _number(name: str, value: Any) -> None:
    """Rejects what is not a real number (bools and strings included) with a TypeError naming the field."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | float | np.integer | np.floating):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    try:
        float(value)
    except OverflowError:
        raise ValueError(f"{name}={value} is out of range") from None


@dataclass(frozen=True)
class Battery(ToDict):
    """A battery of ``energy_kwh`` charging and discharging at up to ``power_kw`` (grid side) with
    the given efficiencies; state of charge between ``soc_min`` and ``soc_max``, ``soc0`` at the
    start and at least ``soc_final`` (default: ``soc0``) at the end, all as fractions of the energy."""

    energy_kwh: float
    power_kw: float
    charge_efficiency: float = 0.95
    discharge_efficiency: float = 0.95
    soc_min: float = 0.1
    soc_max: float = 0.9
    soc0: float = 0.5
    soc_final: float | None = None

    def __post_init__(self) -> None:
        numbers = ("energy_kwh", "power_kw", "charge_efficiency", "discharge_efficiency", "soc_min", "soc_max", "soc0")
        for name in numbers:
            _number(name, getattr(self, name))
        if self.soc_final is not None:
            _number("soc_final", self.soc_final)
        positive_float("energy_kwh", self.energy_kwh, maximum=MAX_QUANTITY)
        if not (np.isfinite(self.power_kw) and 0 <= self.power_kw <= MAX_QUANTITY):
            raise ValueError(f"power_kw must be a finite number >= 0 and <= {MAX_QUANTITY:g}, got {self.power_kw}")
        for name in ("charge_efficiency", "discharge_efficiency"):
            value = getattr(self, name)
            if not 0 < value <= 1:
                raise ValueError(f"{name} must be in (0, 1], got {value}")
        if not 0 <= self.soc_min <= self.soc0 <= self.soc_max <= 1:
            raise ValueError(
                f"need 0 <= soc_min <= soc0 <= soc_max <= 1, got {self.soc_min}, {self.soc0}, {self.soc_max}"
            )
        if not 0 <= self.final <= self.soc_max:
            raise ValueError(f"soc_final must be in [0, soc_max={self.soc_max}], got {self.final}")

    @property
    def final(self) -> float:
        """The least state of charge at the end (fraction)."""
        return self.soc0 if self.soc_final is None else self.soc_final

    def core_args(self, slot_h: float) -> dict[str, float]:
        """The keyword arguments of the C++ dispatch functions (kW, kWh)."""
        e = self.energy_kwh
        return {
            "power_kw": self.power_kw,
            "eta_charge": self.charge_efficiency,
            "eta_discharge": self.discharge_efficiency,
            "soc_min_kwh": self.soc_min * e,
            "soc_max_kwh": self.soc_max * e,
            "soc0_kwh": self.soc0 * e,
            "soc_final_kwh": self.final * e,
            "slot_h": slot_h,
        }

    def lp_block(self, num_slots: int, slot_h: float) -> tuple[sp.csr_matrix, FloatArray, FloatArray, FloatArray]:
        """The battery in a linear program over variables ``[charge (T), discharge (T), soc (T)]``
        (kW, kW, kWh at each slot's end): the state-of-charge rows (matrix, right-hand side, an
        equality) and the variables' lower and upper bounds."""
        t, e = num_slots, self.energy_kwh
        eye = sp.identity(t, format="csr")
        shift = sp.eye(t, k=-1, format="csr")
        rows = sp.hstack(
            [-self.charge_efficiency * slot_h * eye, slot_h / self.discharge_efficiency * eye, eye - shift]
        ).tocsr()
        rhs = np.zeros(t)
        rhs[0] = self.soc0 * e
        soc_lower = np.full(t, self.soc_min * e)
        soc_lower[-1] = max(self.soc_min, self.final) * e
        lower = np.concatenate([np.zeros(2 * t), soc_lower])
        upper = np.concatenate([np.full(2 * t, self.power_kw), np.full(t, self.soc_max * e)])
        return rows, rhs, lower, upper


@dataclass(frozen=True, eq=False)
class BatteryResult(ToDict):
    """A battery schedule beside ``net_load_kw``: charging and discharging (kW, grid side, both
    >= 0), the state of charge ``soc`` (fraction, ``T + 1`` values from the start). ``status`` is
    ``"optimal"``, ``"infeasible"`` (the final state of charge cannot be reached; all zeros) or, for
    the LP methods, ``"time_limit"`` (the time limit ran out before an optimum; all zeros, and
    nothing is claimed about feasibility) or ``"not_solved"`` (the LP solver stopped on numerical
    trouble; all zeros)."""

    charge_kw: FloatArray
    discharge_kw: FloatArray
    soc: FloatArray
    net_load_kw: FloatArray
    slot_h: float
    objective: str
    method: str
    status: str
    runtime_s: float
    price: FloatArray | None = None

    @cached_property
    def grid_kw(self) -> FloatArray:
        """Net load plus charging minus discharging (kW)."""
        return np.asarray(self.net_load_kw + self.charge_kw - self.discharge_kw)

    @property
    def peak_kw(self) -> float:
        """Highest grid draw with the battery (kW)."""
        return float(self.grid_kw.max())

    @property
    def cost(self) -> float:
        """The grid energy's cost under ``price`` (both ways); NaN without prices."""
        return float(np.dot(self.price, self.grid_kw) * self.slot_h) if self.price is not None else float("nan")

    def to_frame(self) -> pd.DataFrame:
        """One row per slot: its start (h), net load, charge, discharge, grid (kW) and the state of
        charge at the slot's end (fraction)."""
        return pd.DataFrame(
            {
                "time_h": np.arange(self.net_load_kw.size) * self.slot_h,
                "net_load_kw": self.net_load_kw,
                "charge_kw": self.charge_kw,
                "discharge_kw": self.discharge_kw,
                "grid_kw": self.grid_kw,
                "soc": self.soc[1:],
            },
            index=pd.RangeIndex(self.net_load_kw.size, name="slot"),
        )

    def plot(self, ax: Axes | None = None) -> Axes:
        """Net and grid load (kW) and, on a second axis, the state of charge."""
        import matplotlib.pyplot as plt

        ax = ax if ax is not None else plt.subplots(figsize=(8, 3))[1]
        hours = np.arange(self.net_load_kw.size + 1) * self.slot_h
        ax.step(hours[:-1], self.net_load_kw, where="post", label="net load")
        ax.step(hours[:-1], self.grid_kw, where="post", label="with battery")
        ax.set_xlabel("time of day, h")
        ax.set_ylabel("load (kW)")
        ax.legend(loc="upper left")
        soc_ax = ax.twinx()
        soc_ax.plot(hours, self.soc, color="grey", linestyle=":", label="state of charge")
        soc_ax.set_ylabel("state of charge")
        soc_ax.set_ylim(0, 1)
        return ax

    def __repr__(self) -> str:
        return (
            f"BatteryResult({self.net_load_kw.size} slots, {self.objective} by {self.method}: {self.status}, "
            f"peak {self.net_load_kw.max():.1f} -> {self.peak_kw:.1f} kW, {self.runtime_s * 1e3:.2f} ms)"
        )


def dispatch_battery(
    net_load_kw: Any,
    battery: Battery,
    *,
    slot_h: float = 0.25,
    objective: str = "min_peak",
    price: Any = None,
    method: str = "exact",
    time_limit_s: float = 60.0,
) -> BatteryResult:
    """Schedules ``battery`` beside ``net_load_kw`` (``(T,)`` kW, demand minus PV; may be negative).

    ``"min_peak"`` minimises the peak of the grid load; ``"cost"`` minimises the cost of the energy
    exchanged with the grid under ``price`` (``(T,)``, per kWh, >= 0 for the exact method, paid
    both ways). ``method="exact"`` (default) runs the C++ solver; ``"glop"``/``"pdlp"`` the linear
    program with OR-Tools within ``time_limit_s``."""
    started = time.perf_counter()  # the time limit and runtime_s count the checks too
    if not isinstance(battery, Battery):
        raise TypeError(f"battery must be a Battery, got {type(battery).__name__}")
    net = float_array("net_load_kw", net_load_kw, (None,), max_abs=MAX_QUANTITY)
    t = net.size
    if t == 0:
        raise ValueError("net_load_kw has no time slots")
    slot_h = positive_float("slot_h", slot_h, maximum=24 * 366)
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {OBJECTIVES}, got {objective!r}")
    if method not in ("exact", *LP_SOLVERS):
        raise ValueError(f"method must be one of {('exact', *LP_SOLVERS)}, got {method!r}")
    if objective == "cost" and price is None:
        raise ValueError('objective "cost" needs a price per slot')
    prices = None if objective == "min_peak" else float_array("price", price, (t,), max_abs=MAX_QUANTITY)
    if method == "exact" and prices is not None and (prices < 0).any():
        raise ValueError("price must be >= 0 for the exact method (use method='glop' for negative prices)")
    limit_s = positive_float("time_limit_s", time_limit_s) if method != "exact" else math.inf
    charge: FloatArray
    discharge: FloatArray
    soc_kwh: FloatArray
    if method == "exact":
        args = battery.core_args(slot_h)
        out = _battery.dispatch(objective, net if prices is None else prices, **args)
        charge, discharge, soc_kwh = out.charge, out.discharge, out.soc
        status = "optimal" if out.feasible else "infeasible"
    else:
        charge, discharge, soc_kwh, status = _linear_program(
            net, battery, slot_h, objective, prices, method, started + limit_s
        )
    if status != "optimal":
        charge = discharge = np.zeros(t)
        soc_kwh = np.full(t + 1, battery.soc0 * battery.energy_kwh)
    return BatteryResult(
        charge_kw=np.asarray(charge),
        discharge_kw=np.asarray(discharge),
        soc=np.asarray(soc_kwh) / battery.energy_kwh,
        net_load_kw=net,
        slot_h=slot_h,
        objective=objective,
        method=method,
        status=status,
        runtime_s=time.perf_counter() - started,
        price=prices,
    )


def _linear_program(
    net: FloatArray,
    battery: Battery,
    slot_h: float,
    objective: str,
    price: FloatArray | None,
    solver: str,
    deadline: float,
) -> tuple[FloatArray, FloatArray, FloatArray, str]:
    """(charge, discharge, soc kWh (T + 1), status) from the LP over ``[charge, discharge, soc, peak]``
    solved by ``deadline`` (a ``time.perf_counter()`` instant)."""
    t = net.size
    rows, rhs, lower, upper = battery.lp_block(t, slot_h)
    eye = sp.identity(t, format="csr")
    peak_rows = sp.hstack([eye, -eye, sp.csr_matrix((t, t)), -np.ones((t, 1))])  # charge - discharge - peak
    program = LinearProgram(
        cost=np.concatenate([np.zeros(3 * t), [1.0]])
        if objective == "min_peak"
        else np.concatenate([slot_h * np.asarray(price), -slot_h * np.asarray(price), np.zeros(t + 1)]),
        matrix=sp.vstack([sp.hstack([rows, sp.csr_matrix((t, 1))]), peak_rows]).tocsr(),
        row_lower=np.concatenate([rhs, np.full(t, -np.inf)]),
        row_upper=np.concatenate([rhs, -net]),
        col_lower=np.concatenate([lower, [-np.inf]]),
        col_upper=np.concatenate([upper, [np.inf]]),
    )
    outcome = program.solve(solver, deadline)
    z = outcome.z
    if z is None:
        return np.zeros(t), np.zeros(t), np.zeros(t + 1), outcome.status
    soc = np.concatenate([[battery.soc0 * battery.energy_kwh], z[2 * t : 3 * t]])
    return z[:t], z[t : 2 * t], soc, "optimal"
