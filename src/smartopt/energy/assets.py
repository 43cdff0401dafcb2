"""A day of district energy data on a grid: load profiles, rooftop PV, batteries, chargers, EVs."""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt

from smartopt._serialise import ToDict
from smartopt._validation import (
    FILLED,
    MAX_QUANTITY,
    FloatArray,
    IntArray,
    assign_frozen,
    count_array,
    float_array,
    index_array,
    positive_float,
    seed_int,
    slot_windows,
)
from smartopt.energy.grid import Grid
from smartopt.energy.power_flow import PowerFlowResult, power_flow
from smartopt.energy.unbalanced_power_flow import UnbalancedFlowResult, unbalanced_power_flow

MAX_HOUSEHOLD_SLOTS = 50_000_000
"""The most household-slot values :meth:`EnergyDay.single_phase_loads` makes (400 MB of profiles)."""


@dataclass(frozen=True, eq=False)
class EnergyDay(ToDict):
    """One day in ``T`` slots of ``slot_h`` hours on ``grid``.

    - ``load_kw``/``load_kvar``: demand per slot and grid load, shape ``(T, n_load)``; each load's
      kind (``"residential"`` by default, or ``"commercial"``) picks its shape in
      :func:`smartopt.datasets.year_profiles`.
    - PV: bus, peak power (kWp) and the per-unit output profile ``(T,)`` shared by all PV.
    - Batteries: bus, energy (kWh), power (kW), initial state of charge (fraction).
    - Chargers: bus, power (kW), kind (e.g. ``"slow"``, ``"fast"``, ``"depot"``).
    - EV sessions: the charger used, arrival and departure slots (charging allowed in slots
      ``arrival <= t < departure``), energy asked for (kWh) and the car's maximum power (kW).
    """

    grid: Grid
    slot_h: float
    load_kw: FloatArray
    load_kvar: FloatArray
    pv_bus: IntArray
    pv_kwp: FloatArray
    pv_profile_pu: FloatArray
    battery_bus: IntArray
    battery_kwh: FloatArray
    battery_kw: FloatArray
    battery_soc0: FloatArray
    charger_bus: IntArray
    charger_kw: FloatArray
    charger_kind: npt.NDArray[np.str_]
    ev_charger: IntArray
    ev_arrival_slot: IntArray
    ev_departure_slot: IntArray
    ev_energy_kwh: FloatArray
    ev_max_kw: FloatArray
    load_kind: npt.NDArray[np.str_] = FILLED

    def __repr__(self) -> str:
        return (
            f"EnergyDay({self.num_slots} slots of {self.slot_h:g} h on {self.grid.num_buses} buses: "
            f"{self.load_kw.shape[1]} loads (peak {self.load_kw.sum(axis=1).max():.0f} kW), "
            f"{self.pv_kwp.sum():.0f} kWp PV, {self.battery_kwh.sum():.0f} kWh batteries, "
            f"{self.charger_kw.size} chargers, {self.ev_charger.size} EV sessions ({self.ev_energy_kwh.sum():.0f} kWh))"
        )

    def __post_init__(self) -> None:
        nb = self.grid.num_buses
        slot_h = positive_float("slot_h", self.slot_h, maximum=24)
        load_kw = float_array("load_kw", self.load_kw, (None, self.grid.num_loads), max_abs=MAX_QUANTITY)
        t = load_kw.shape[0]
        if t == 0:
            raise ValueError("load_kw has no time slots")
        pv_bus = index_array("pv_bus", self.pv_bus, nb)
        bat_bus = index_array("battery_bus", self.battery_bus, nb)
        ch_bus = index_array("charger_bus", self.charger_bus, nb)
        ev_charger = index_array("ev_charger", self.ev_charger, ch_bus.shape[0])
        nev = ev_charger.shape[0]
        arrival, departure = slot_windows(
            self.ev_arrival_slot, self.ev_departure_slot, t, ("ev_arrival_slot", "ev_departure_slot"), nev
        )
        values: dict[str, Any] = {
            "slot_h": slot_h,
            "load_kw": load_kw,
            "load_kvar": float_array("load_kvar", self.load_kvar, load_kw.shape, max_abs=MAX_QUANTITY),
            "pv_bus": pv_bus,
            "pv_kwp": float_array("pv_kwp", self.pv_kwp, pv_bus.shape, nonnegative=True, max_abs=MAX_QUANTITY),
            "pv_profile_pu": float_array("pv_profile_pu", self.pv_profile_pu, (t,), nonnegative=True),
            "battery_bus": bat_bus,
            "battery_kwh": float_array(
                "battery_kwh", self.battery_kwh, bat_bus.shape, positive=True, max_abs=MAX_QUANTITY
            ),
            "battery_kw": float_array(
                "battery_kw", self.battery_kw, bat_bus.shape, positive=True, max_abs=MAX_QUANTITY
            ),
            "battery_soc0": float_array("battery_soc0", self.battery_soc0, bat_bus.shape, nonnegative=True),
            "charger_bus": ch_bus,
            "charger_kw": float_array("charger_kw", self.charger_kw, ch_bus.shape, positive=True, max_abs=MAX_QUANTITY),
            "charger_kind": np.asarray(self.charger_kind).astype(str),
            "ev_charger": ev_charger,
            "ev_arrival_slot": arrival,
            "ev_departure_slot": departure,
            "ev_energy_kwh": float_array(
                "ev_energy_kwh", self.ev_energy_kwh, (nev,), nonnegative=True, max_abs=MAX_QUANTITY
            ),
            "ev_max_kw": float_array("ev_max_kw", self.ev_max_kw, (nev,), positive=True, max_abs=MAX_QUANTITY),
        }
        values["load_kind"] = (
            np.full(load_kw.shape[1], "residential")
            if self.load_kind is None
            else np.asarray(self.load_kind).astype(str)
        )
        if values["load_kind"].shape != (load_kw.shape[1],):
            raise ValueError(f"load_kind must have shape ({load_kw.shape[1]},), got {values['load_kind'].shape}")
        if values["charger_kind"].shape != ch_bus.shape:
            raise ValueError(f"charger_kind must have shape {ch_bus.shape}, got {values['charger_kind'].shape}")
        if (values["battery_soc0"] > 1).any():
            raise ValueError("battery_soc0 must be a fraction in [0, 1]")
        power = np.minimum(values["ev_max_kw"], values["charger_kw"][values["ev_charger"]])
        short = values["ev_energy_kwh"] > power * (departure - arrival) * slot_h * (1 + 1e-9)
        if short.any():
            i = int(np.flatnonzero(short)[0])
            raise ValueError(
                f"EV {i}: asks {values['ev_energy_kwh'][i]:g} kWh but can take at most "
                f"{power[i] * (departure[i] - arrival[i]) * slot_h:g} kWh while plugged in"
            )
        assign_frozen(self, values)

    @property
    def num_slots(self) -> int:
        """Number of time slots of the day."""
        return int(self.load_kw.shape[0])

    def net_load_kw(self) -> FloatArray:
        """Total demand minus PV output per slot (kW), before EVs and batteries."""
        return np.asarray(self.load_kw.sum(axis=1) - self.pv_kwp.sum() * self.pv_profile_pu)

    def uncontrolled_charging_kw(self) -> FloatArray:
        """Power per slot and charger (kW), shape ``(T, n_charger)``, if every car charges at full
        power from arrival until full."""
        power = np.minimum(self.ev_max_kw, self.charger_kw[self.ev_charger])
        out = np.zeros((self.num_slots, self.charger_kw.size))
        for c, a, need, p in zip(self.ev_charger, self.ev_arrival_slot, self.ev_energy_kwh, power, strict=True):
            full_slots, rest = divmod(need / (p * self.slot_h), 1.0)
            k = int(full_slots)
            out[a : a + k, c] += p
            if rest > 1e-12:
                out[a + k, c] += p * rest
        return out

    def charger_load_kw(self, ev_kw: Any) -> FloatArray:
        """Each charger's load per slot (kW), ``(T, n_charger)``, from each car's ``(n_ev, T)``."""
        ev = float_array("ev_kw", ev_kw, (self.ev_charger.size, self.num_slots))
        out = np.zeros((self.num_slots, self.charger_kw.size))
        np.add.at(out.T, self.ev_charger, ev)
        return out

    def uncontrolled_ev_kw(self) -> FloatArray:
        """EV load per slot (kW) if every car charges at full power from arrival until full."""
        return np.asarray(self.uncontrolled_charging_kw().sum(axis=1))

    def single_phase_loads(
        self, charger_kw: Any = None, *, household_kw: float = 2.0, seed: int = 0
    ) -> tuple[FloatArray, IntArray]:
        """The day's single-phase loads for phase balancing: ``(profile_kw (n, T), feeder (n,))``.

        Each grid load (an LV feeder; ``feeder`` is its index) splits into households, one per
        ``household_kw`` of its nominal power, whose profiles vary around the feeder's (random
        sizes and per-slot noise, ``seed``) and add up to it in every slot; the feeder's single-phase
        ("slow") chargers follow with their charging ``charger_kw`` (``(T, n_charger)``; default
        uncontrolled charging)."""
        profile, feeder, _ = self._single_phase(charger_kw, household_kw, seed)
        return profile, feeder

    def _single_phase(
        self, charger_kw: Any, household_kw: float, seed: int
    ) -> tuple[FloatArray, IntArray, npt.NDArray[np.bool_]]:
        """:meth:`single_phase_loads` and which of them are chargers."""
        household_kw = positive_float("household_kw", household_kw)
        rng = np.random.default_rng(seed_int("seed", seed))
        g, t = self.grid, self.num_slots
        charging = self._charging(charger_kw)
        households = np.maximum(1, np.round(g.load_p_kw / household_kw)).sum()
        if households * t > MAX_HOUSEHOLD_SLOTS:
            raise ValueError(
                f"household_kw={household_kw:g} splits the loads into {households:.3g} households of {t} slots, "
                f"more than {MAX_HOUSEHOLD_SLOTS:.0e} values: choose a larger household_kw"
            )
        profiles, feeders, chargers = [], [], []
        for j in range(g.num_loads):
            m = max(1, round(float(g.load_p_kw[j]) / household_kw))
            weight = rng.lognormal(0.0, 0.5, (m, 1)) * rng.lognormal(0.0, 0.3, (m, t))
            profiles.append(self.load_kw[:, j] * weight / weight.sum(axis=0))
            here = np.flatnonzero((self.charger_bus == g.load_bus[j]) & (self.charger_kind == "slow"))
            if g.load_bus[j] in g.load_bus[:j]:
                here = here[:0]  # a bus with several loads: its chargers go with the first
            profiles.append(charging[:, here].T)
            feeders.append(np.full(m + here.size, j))
            chargers.append(np.arange(m + here.size) >= m)
        return np.vstack(profiles), np.concatenate(feeders).astype(np.int32), np.concatenate(chargers)

    def _charging(self, charger_kw: Any) -> FloatArray:
        """``charger_kw`` checked as ``(T, n_charger)`` kW; None: uncontrolled charging."""
        if charger_kw is None:
            return self.uncontrolled_charging_kw()
        return float_array("charger_kw", charger_kw, (self.num_slots, self.charger_bus.size), max_abs=MAX_QUANTITY)

    def _generation(self, battery_kw: Any) -> tuple[FloatArray, FloatArray]:
        """Generator injections of :attr:`day_grid` per slot (kW, kvar): the grid's own, PV at unity
        power factor, battery output ``battery_kw`` (``(T, n_battery)``, discharging > 0; None: idle)."""
        t, g = self.num_slots, self.grid
        battery = np.zeros((t, self.battery_bus.size)) if battery_kw is None else battery_kw
        battery = float_array("battery_kw", battery, (t, self.battery_bus.size))
        p = np.hstack(
            [np.broadcast_to(g.gen_p_kw, (t, g.num_gens)), np.outer(self.pv_profile_pu, self.pv_kwp), battery]
        )
        q = np.hstack(
            [np.broadcast_to(g.gen_q_kvar, (t, g.num_gens)), np.zeros((t, self.pv_bus.size + self.battery_bus.size))]
        )
        return p, q

    @cached_property
    def day_grid(self) -> Grid:
        """The grid with the chargers added as loads (after the grid's own) and the PV systems and
        batteries as generators (after the grid's own), for :meth:`power_flow`."""
        g = self.grid
        return replace(
            g,
            load_bus=np.concatenate([g.load_bus, self.charger_bus]),
            load_p_kw=np.concatenate([g.load_p_kw, np.zeros(self.charger_bus.size)]),
            load_q_kvar=np.concatenate([g.load_q_kvar, np.zeros(self.charger_bus.size)]),
            gen_bus=np.concatenate([g.gen_bus, self.pv_bus, self.battery_bus]),
            gen_p_kw=np.concatenate([g.gen_p_kw, np.zeros(self.pv_bus.size + self.battery_bus.size)]),
            gen_q_kvar=np.concatenate([g.gen_q_kvar, np.zeros(self.pv_bus.size + self.battery_bus.size)]),
        )

    def power_flow(self, charger_kw: Any = None, battery_kw: Any = None, **options: Any) -> PowerFlowResult:
        """Power flow of every slot on :attr:`day_grid`: the base loads, charging ``charger_kw``
        (``(T, n_charger)`` kW; default: uncontrolled charging), PV at unity power factor and battery
        output ``battery_kw`` (``(T, n_battery)`` kW, discharging > 0; default: idle). ``options`` go to
        :func:`~smartopt.energy.power_flow`."""
        charging = self._charging(charger_kw)
        gen_p, gen_q = self._generation(battery_kw)
        return power_flow(
            self.day_grid,
            np.hstack([self.load_kw, charging]),
            np.hstack([self.load_kvar, np.zeros_like(charging)]),
            gen_p_kw=gen_p,
            gen_q_kvar=gen_q,
            **options,
        )

    def unbalanced_power_flow(
        self,
        phase: Any,
        charger_kw: Any = None,
        battery_kw: Any = None,
        *,
        household_kw: float = 2.0,
        seed: int = 0,
        **options: Any,
    ) -> UnbalancedFlowResult:
        """Three-phase power flow of every slot with the single-phase loads of
        :meth:`single_phase_loads` (the same ``charger_kw``, ``household_kw`` and ``seed``) on
        ``phase`` (``(n,)``: 0, 1, 2 for phases a, b, c, e.g. a :func:`~smartopt.energy.balance_phases`
        assignment), households at their feeder's power factor, chargers at unity; the fast
        chargers, PV and batteries three-phase (``battery_kw`` as in :meth:`power_flow`). The grid
        needs its three-phase data (see :class:`~smartopt.energy.Grid`); ``options`` go to
        :func:`~smartopt.energy.unbalanced_power_flow`."""
        profile, feeder, is_charger = self._single_phase(charger_kw, household_kw, seed)
        phases = count_array("phase", phase, (feeder.size,))
        if (phases > 2).any():
            raise ValueError(f"phase must be 0, 1 or 2 (phases a, b, c), got {phases.max()}")
        fast = np.flatnonzero(self.charger_kind != "slow")
        with np.errstate(divide="ignore", invalid="ignore"):
            tan_phi = np.where(self.load_kw > 0, self.load_kvar / self.load_kw, 0.0)  # (T, n_load)
        q = np.where(is_charger[:, None], 0.0, profile * tan_phi[:, feeder].T)
        loads = np.concatenate([self.grid.load_bus[feeder], self.charger_bus[fast]])
        grid = replace(
            self.day_grid,
            load_bus=loads,
            load_p_kw=np.zeros(loads.size),
            load_q_kvar=np.zeros(loads.size),
            load_phase=np.concatenate([np.array(["a", "b", "c"])[phases], np.full(fast.size, "abc")]),
        )
        gen_p, gen_q = self._generation(battery_kw)
        return unbalanced_power_flow(
            grid,
            np.hstack([profile.T, self._charging(charger_kw)[:, fast]]),
            np.hstack([q.T, np.zeros((self.num_slots, fast.size))]),
            gen_p_kw=gen_p,
            gen_q_kvar=gen_q,
            **options,
        )
