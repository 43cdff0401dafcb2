"""EV charging schedules: minimum peak, valley filling and least cost, exact and fast, plus a
rolling-horizon planner that re-plans as cars arrive.

The exact solver (C++, ``smartopt._core._charging``) treats charging as a flow from the EVs to the
slots of their windows. Valley filling is the lexicographically optimal flow (Fujishige's
decomposition algorithm with max flows): it minimises the sum of squares of the total load and, at
the same time, its peak. Least cost opens the slots cheapest first and pushes as much energy as
they take (the greedy optimum of a polymatroid). Both are exact; :mod:`smartopt.energy.charging_lp`
holds the linear program they are checked against.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from smartopt._core import _charging
from smartopt._serialise import ToDict
from smartopt._validation import (
    MAX_QUANTITY,
    FloatArray,
    IntArray,
    assign_frozen,
    bool_flag,
    count_array,
    float_array,
    positive_float,
    slot_windows,
)
from smartopt.energy._lp import LP_SOLVERS
from smartopt.energy.charging_lp import charging_lp

if TYPE_CHECKING:
    from matplotlib.axes import Axes

OBJECTIVES = ("min_peak", "valley", "cost")
METHODS = ("exact", *LP_SOLVERS)
_REL_TOL = 1e-8


@dataclass(frozen=True, eq=False)
class ChargingResult(ToDict):
    """A charging schedule for ``n_ev`` cars over ``T`` slots of ``slot_h`` hours.

    ``status`` is ``"optimal"`` (every car gets its energy within the limits), ``"partial"`` (some
    cars cannot get it all; the schedule serves as much as the limits allow), ``"infeasible"``
    (the same, asked without ``allow_partial``: nothing is scheduled), or, for the LP methods,
    ``"time_limit"`` (the time limit ran out before an optimum) or ``"not_solved"`` (the LP solver
    stopped on numerical trouble): then nothing is scheduled and no car is claimed short, since
    none is known to be. ``unserved_ev`` lists the cars left short. ``runtime_s`` is the solve's
    wall time (s)."""

    power_kw: FloatArray
    base_load_kw: FloatArray
    energy_kwh: FloatArray
    served_kwh: FloatArray
    slot_h: float
    objective: str
    method: str
    status: str
    unserved_ev: IntArray
    runtime_s: float
    price: FloatArray | None = None

    @property
    def num_slots(self) -> int:
        """Number of time slots of the horizon."""
        return int(self.base_load_kw.size)

    @cached_property
    def ev_kw(self) -> FloatArray:
        """EV load per slot (kW)."""
        return np.asarray(self.power_kw.sum(axis=0))

    @cached_property
    def total_kw(self) -> FloatArray:
        """Base plus EV load per slot (kW)."""
        return np.asarray(self.base_load_kw + self.ev_kw)

    @property
    def peak_kw(self) -> float:
        """Highest total load, base and charging (kW)."""
        return float(self.total_kw.max())

    @property
    def load_factor(self) -> float:
        """Mean over peak of the total load."""
        return float(self.total_kw.mean() / self.total_kw.max())

    @property
    def sum_of_squares(self) -> float:
        """The valley-filling objective, sum of the squared total load (kW^2)."""
        return float(np.dot(self.total_kw, self.total_kw))

    @property
    def ev_cost(self) -> float:
        """Cost of the EV energy under ``price`` (price unit per kWh times kWh); NaN without prices."""
        return float(np.dot(self.price, self.ev_kw) * self.slot_h) if self.price is not None else float("nan")

    def to_frame(self) -> pd.DataFrame:
        """One row per slot: its start (h), base, EV and total load (kW)."""
        return pd.DataFrame(
            {
                "time_h": np.arange(self.num_slots) * self.slot_h,
                "base_kw": self.base_load_kw,
                "ev_kw": self.ev_kw,
                "total_kw": self.total_kw,
            },
            index=pd.RangeIndex(self.num_slots, name="slot"),
        )

    def plot(self, ax: Axes | None = None) -> Axes:
        """Base and total load per slot."""
        import matplotlib.pyplot as plt

        ax = ax if ax is not None else plt.subplots(figsize=(8, 3))[1]
        hours = np.arange(self.num_slots) * self.slot_h
        ax.step(hours, self.base_load_kw, where="post", label="base")
        ax.step(hours, self.total_kw, where="post", label=f"with EVs ({self.objective})")
        ax.set_xlabel("time of day, h")
        ax.set_ylabel("load (kW)")
        ax.legend()
        return ax

    def __repr__(self) -> str:
        return (
            f"ChargingResult({self.power_kw.shape[0]} EVs x {self.num_slots} slots, {self.objective} by "
            f"{self.method}: {self.status}, peak {self.peak_kw:.1f} kW, load factor {self.load_factor:.3f}, "
            f"served {self.served_kwh.sum():.1f} of {self.energy_kwh.sum():.1f} kWh, {self.runtime_s * 1e3:.1f} ms)"
        )


@dataclass(frozen=True, eq=False)
class _Sessions:
    """Validated charging sessions over ``T`` slots."""

    arrival: IntArray
    departure: IntArray
    energy_kwh: FloatArray
    max_kw: FloatArray

    def __init__(self, arrival: Any, departure: Any, energy_kwh: Any, max_kw: Any, num_slots: int) -> None:
        arr, dep = slot_windows(arrival, departure, num_slots)
        n = arr.size
        assign_frozen(
            self,
            {
                "arrival": arr,
                "departure": dep,
                "energy_kwh": float_array("energy_kwh", energy_kwh, (n,), nonnegative=True, max_abs=MAX_QUANTITY),
                "max_kw": float_array("max_kw", max_kw, (n,), nonnegative=True, max_abs=MAX_QUANTITY),
            },
        )

    def most_kwh(self, slot_h: float) -> FloatArray:
        """The most energy each car can take while plugged in (kWh)."""
        return np.asarray(self.max_kw * (self.departure - self.arrival) * slot_h)


def _slot_values(name: str, value: Any, num_slots: int, *, allow_inf: bool = False) -> FloatArray:
    """A scalar or ``(T,)`` array as a ``(T,)`` float array."""
    arr = float_array(name, value, allow_inf=allow_inf, max_abs=MAX_QUANTITY)
    if arr.ndim == 0:
        return np.full(num_slots, float(arr))
    if arr.shape != (num_slots,):
        raise ValueError(f"{name} must be a scalar or have shape ({num_slots},), got {arr.shape}")
    return arr


def _short(asked: FloatArray, served: FloatArray) -> IntArray:
    """Cars served less than asked, beyond rounding."""
    tol = _REL_TOL * max(1.0, float(asked.max(initial=0.0)))
    return np.flatnonzero(served < asked - tol).astype(np.int32)


def schedule_charging(
    arrival: Any,
    departure: Any,
    energy_kwh: Any,
    max_kw: Any,
    base_load_kw: Any,
    *,
    slot_h: float = 0.25,
    objective: str = "min_peak",
    price: Any = None,
    capacity_kw: Any = None,
    allow_partial: bool = False,
    method: str = "exact",
    time_limit_s: float = 60.0,
) -> ChargingResult:
    """Schedules EV charging on top of ``base_load_kw`` (``(T,)`` kW).

    EV ``i`` may charge in slots ``arrival[i] <= t < departure[i]`` at up to ``max_kw[i]`` and asks for
    ``energy_kwh[i]``. Objectives: ``"min_peak"`` (the lowest peak of base plus EV load; the exact
    method returns the flattest such schedule), ``"valley"`` (the least sum of squares of the total
    load, which also has the lowest peak) and ``"cost"`` (the cheapest under the per-slot ``price``,
    per kWh). ``capacity_kw`` (scalar or ``(T,)``) caps the total load. When some cars cannot get
    their energy the status is ``"infeasible"`` and ``unserved_ev`` names them; with
    ``allow_partial`` the schedule serves as much energy as the limits allow (status ``"partial"``).

    ``method="exact"`` (default) runs the specialised C++ solver; ``"glop"``/``"pdlp"`` solve the
    linear program with OR-Tools within ``time_limit_s`` (reference; ``min_peak`` and ``cost``
    without ``allow_partial``). The exact solver is deterministic and needs no time limit."""
    started = time.perf_counter()  # the time limit and runtime_s count the checks too
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {OBJECTIVES}, got {objective!r}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    allow_partial = bool_flag("allow_partial", allow_partial)
    base = float_array("base_load_kw", base_load_kw, (None,), max_abs=MAX_QUANTITY)
    t = base.size
    if t == 0:
        raise ValueError("base_load_kw has no time slots")
    slot_h = positive_float("slot_h", slot_h, maximum=24 * 366)
    sessions = _Sessions(arrival, departure, energy_kwh, max_kw, t)
    prices = None if price is None else _slot_values("price", price, t)
    if objective == "cost" and prices is None:
        raise ValueError('objective "cost" needs a price per slot')
    capacity = None if capacity_kw is None else _slot_values("capacity_kw", capacity_kw, t, allow_inf=True)
    lp_status = None
    if method != "exact":
        if objective == "valley" or allow_partial:
            raise ValueError(f'method "{method}" solves "min_peak" and "cost" without allow_partial only')
        time_limit_s = positive_float("time_limit_s", time_limit_s)
    if method == "exact":
        cost_classes = prices if objective == "cost" else None
        power, served, short = _exact(sessions, base, slot_h, cost_classes, capacity, allow_partial)
    else:
        power, served, short, lp_status = _linear_program(
            sessions, base, slot_h, objective, prices, capacity, method, started + time_limit_s
        )
    runtime = time.perf_counter() - started
    if lp_status in ("time_limit", "not_solved"):
        status = lp_status
    else:
        status = "optimal" if short.size == 0 else ("partial" if allow_partial else "infeasible")
    if status != "optimal" and status != "partial":
        power = np.zeros_like(power)
        served = np.zeros_like(served)
    result = ChargingResult(
        power_kw=power,
        base_load_kw=base,
        energy_kwh=sessions.energy_kwh,
        served_kwh=served,
        slot_h=slot_h,
        objective=objective,
        method=method,
        status=status,
        unserved_ev=short.astype(np.int32),
        runtime_s=runtime,
        price=prices,
    )
    assign_frozen(result, {"power_kw": power, "served_kwh": served})
    return result


def _exact(
    s: _Sessions,
    base: FloatArray,
    slot_h: float,
    price: FloatArray | None,
    capacity: FloatArray | None,
    allow_partial: bool,
) -> tuple[FloatArray, FloatArray, IntArray]:
    """(power (n_ev, T) kW, served kWh, cars left short) from the C++ solver, cheapest slots first
    if ``price`` is given; cars that cannot be served in full get what the limits allow."""
    energy = np.minimum(s.energy_kwh, s.most_kwh(slot_h)) / slot_h  # kW-slots
    room = np.zeros(0) if capacity is None else np.maximum(capacity - base, 0.0)  # kW left for EVs
    classes = np.zeros(0, np.int32) if price is None else np.unique(price, return_inverse=True)[1].astype(np.int32)
    # No car draws more in a slot than its whole energy: the same schedules, without a huge max_kw
    # swamping the solver's rounding.
    max_kw = np.minimum(s.max_kw, energy)
    out = _charging.valley_fill(s.arrival, s.departure, energy, max_kw, base, classes, room)
    if _short(energy, out.served).size:
        # The most energy the limits let through, then (if asked) its best schedule.
        out = _charging.max_served(s.arrival, s.departure, energy, max_kw, base, room)
        if not allow_partial:  # name every car at the bottleneck: none of them is sure to be served
            return np.asarray(out.power), np.asarray(out.served) * slot_h, np.flatnonzero(out.bottleneck)
        out = _charging.valley_fill(s.arrival, s.departure, out.served, max_kw, base, classes, room)
    served = np.asarray(out.served) * slot_h
    return np.asarray(out.power), served, _short(s.energy_kwh, served)


def _linear_program(
    s: _Sessions,
    base: FloatArray,
    slot_h: float,
    objective: str,
    price: FloatArray | None,
    capacity: FloatArray | None,
    solver: str,
    deadline: float,
) -> tuple[FloatArray, FloatArray, IntArray, str]:
    """(power, served kWh, cars left short, the LP's status) from the reference LP, solved by
    ``deadline`` (a ``time.perf_counter()`` instant; building the LP counts). Without an optimum
    nothing is served; a proven infeasibility names every car (the LP does not tell which are
    short), a budget that ran out names none."""
    room = np.full(base.size, np.inf) if capacity is None else capacity - base
    n = s.arrival.size
    nothing = np.zeros((n, base.size)), np.zeros(n)
    too_much = s.energy_kwh > s.most_kwh(slot_h) * (1 + _REL_TOL)
    if too_much.any():
        return *nothing, np.flatnonzero(too_much).astype(np.int32), "infeasible"
    if (room < 0).any():
        return *nothing, np.arange(n, dtype=np.int32), "infeasible"
    lp = charging_lp(s.arrival, s.departure, s.energy_kwh / slot_h, s.max_kw, base, objective, price, room)
    outcome = lp.program.solve(solver, deadline)
    if outcome.z is None:
        short = np.arange(n, dtype=np.int32) if outcome.status == "infeasible" else np.zeros(0, np.int32)
        return *nothing, short, outcome.status
    power = np.clip(lp.power_kw(outcome.z, n, base.size), 0.0, s.max_kw[:, None])
    return power, s.energy_kwh.copy(), np.zeros(0, np.int32), "optimal"


class ChargingPlanner:
    """Rolling-horizon charging: cars arrive during the day; each :meth:`step` re-plans the rest of
    the horizon for the cars known and not yet gone (their energy asked minus what they already
    got), then charges the current slot by that plan and moves on.

    ``base_load_kw`` (``(T,)`` kW) is the forecast; :meth:`step` takes an updated forecast of the
    remaining slots. ``objective``, ``price``, ``capacity_kw`` are as in :func:`schedule_charging`;
    cars the limits cannot serve get what fits (``allow_partial``)."""

    def __init__(
        self,
        base_load_kw: Any,
        *,
        slot_h: float = 0.25,
        objective: str = "valley",
        price: Any = None,
        capacity_kw: Any = None,
    ) -> None:
        self.base_load_kw = float_array("base_load_kw", base_load_kw, (None,), max_abs=MAX_QUANTITY)
        if self.base_load_kw.size == 0:
            raise ValueError("base_load_kw has no time slots")
        t = self.base_load_kw.size
        self.slot_h = positive_float("slot_h", slot_h, maximum=24 * 366)
        if objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {OBJECTIVES}, got {objective!r}")
        self.objective = objective
        self.price = None if price is None else _slot_values("price", price, t)
        self.capacity_kw = None if capacity_kw is None else _slot_values("capacity_kw", capacity_kw, t, allow_inf=True)
        self.slot = 0
        self._arrival = np.zeros(0, np.int32)
        self._departure = np.zeros(0, np.int32)
        self._energy_kwh = np.zeros(0)
        self._max_kw = np.zeros(0)
        self.delivered_kwh = np.zeros(0)
        self.power_kw = np.zeros((0, t))
        self.plan: ChargingResult | None = None

    @property
    def num_slots(self) -> int:
        """Number of time slots of the horizon."""
        return int(self.base_load_kw.size)

    def add(self, departure: Any, energy_kwh: Any, max_kw: Any, arrival: Any = None) -> IntArray:
        """Adds cars arriving now (at :attr:`slot`) or, booked ahead, at slots ``arrival >= slot``;
        returns their ids."""
        if self.slot >= self.num_slots:
            raise ValueError("the horizon is over")
        dep = count_array("departure", departure)
        arr = np.full(dep.size, self.slot) if arrival is None else count_array("arrival", arrival, dep.shape)
        if (arr < self.slot).any():
            raise ValueError(f"arrival must be >= the current slot {self.slot}, got {arr.min()}")
        s = _Sessions(arr, dep, energy_kwh, max_kw, self.num_slots)
        first = self._departure.size
        self._arrival = np.concatenate([self._arrival, s.arrival])
        self._departure = np.concatenate([self._departure, s.departure])
        self._energy_kwh = np.concatenate([self._energy_kwh, s.energy_kwh])
        self._max_kw = np.concatenate([self._max_kw, s.max_kw])
        self.delivered_kwh = np.concatenate([self.delivered_kwh, np.zeros(dep.size)])
        self.power_kw = np.vstack([self.power_kw, np.zeros((dep.size, self.num_slots))])
        return np.arange(first, self._departure.size, dtype=np.int32)

    def step(self, base_load_kw: Any = None) -> FloatArray:
        """Re-plans slots ``slot..T-1`` (with ``base_load_kw`` of shape ``(T - slot,)`` as the new
        forecast, if given), charges slot ``slot`` by the plan and advances; returns each car's power
        in that slot (kW)."""
        if self.slot >= self.num_slots:
            raise ValueError("the horizon is over")
        now, t = self.slot, self.num_slots
        if base_load_kw is not None:
            self.base_load_kw = self.base_load_kw.copy()
            self.base_load_kw[now:] = float_array("base_load_kw", base_load_kw, (t - now,), max_abs=MAX_QUANTITY)
        left = np.maximum(self._energy_kwh - self.delivered_kwh, 0.0)
        plugged = np.flatnonzero((self._departure > now) & (left > 0))
        power = np.zeros(self._departure.size)
        if plugged.size:
            self.plan = schedule_charging(
                np.maximum(self._arrival[plugged] - now, 0),
                self._departure[plugged] - now,
                left[plugged],
                self._max_kw[plugged],
                self.base_load_kw[now:],
                slot_h=self.slot_h,
                objective=self.objective,
                price=None if self.price is None else self.price[now:],
                capacity_kw=None if self.capacity_kw is None else self.capacity_kw[now:],
                allow_partial=True,
            )
            power[plugged] = self.plan.power_kw[:, 0]
        self.power_kw[:, now] = power
        self.delivered_kwh = self.delivered_kwh + power * self.slot_h
        self.slot += 1
        return power
