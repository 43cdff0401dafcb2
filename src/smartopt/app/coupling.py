"""Where the district's solvers see each other.

- Signal plans -> travel times: each period's plan adds its HCM control delays to the links
  entering its intersections, and the shuttle dispatch drives on those times during the hours the
  period's plan runs (``District.signal_hours``).
- Grid -> shuttle charging: a depot's chargers run, slot by slot, at most at the power its
  transformers have to spare in the energy day planned without the fleet.
- Shuttle charging -> the grid: the fleet's charging joins the energy day at the depot chargers,
  each kWh in the slot it is drawn, planned with the residents' EVs, PV and the battery.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

from smartopt._validation import float_array
from smartopt.app.district import District, check_signal_hours
from smartopt.dispatch.model import Fleet
from smartopt.dispatch.space import TravelSpace
from smartopt.energy.assets import EnergyDay
from smartopt.energy.day_plan import DayPlan
from smartopt.network import RoadNetwork
from smartopt.signals.model import Intersection
from smartopt.signals.timing import TimingPlan, hcm_delay, link_delays

__all__ = [
    "depot_charging_kw",
    "depot_spare_kw",
    "district_time_of_day",
    "fleet_charger_index",
    "mean_signal_delay_s",
    "signal_time_of_day",
    "with_fleet_charging",
]


def signal_time_of_day(
    network: RoadNetwork,
    intersections: Sequence[Intersection],
    periods: Sequence[str],
    plans: Mapping[str, TimingPlan],
    windows_h: Mapping[str, tuple[float, float]],
) -> list[tuple[float, TravelSpace]]:
    """``time_of_day`` for :func:`smartopt.dispatch.simulate`: for each period in ``plans`` (names
    from ``periods``, the intersections' volume periods), from the start of its window in
    ``windows_h`` (clock hours ``(start, end)``, as ``District.signal_hours``) the links' free-flow
    times plus the plan's control delays (s/veh, see :func:`~smartopt.signals.link_delays`), and
    free flow again where no window follows at once."""
    windows = check_signal_hours(windows_h, periods, "windows_h")
    for name in plans:
        if name not in windows:
            raise ValueError(f"plans[{name!r}]: not a period with a window ({', '.join(windows)})")
    spans = [(window, name) for name, window in windows.items() if name in plans]
    free = TravelSpace.from_network(network)
    out: list[tuple[float, TravelSpace]] = []
    for k, ((start, end), name) in enumerate(spans):
        period = list(periods).index(name)
        delay = link_delays(intersections, hcm_delay(intersections, plans[name], period), network.num_links)
        out.append((start * 3600.0, TravelSpace.from_network(network, link_time_s=network.link_time_s + delay)))
        if k + 1 == len(spans) or spans[k + 1][0][0] > end:
            out.append((end * 3600.0, free))
    return out


def district_time_of_day(district: District, plans: Mapping[str, TimingPlan]) -> list[tuple[float, TravelSpace]]:
    """:func:`signal_time_of_day` on ``district``: each plan in ``plans`` (by period name) whose
    period has ``district.signal_hours`` adds its delays in those hours; the others change nothing."""
    timed = {p: plan for p, plan in plans.items() if p in district.signal_hours}
    return signal_time_of_day(district.network, district.intersections, district.periods, timed, district.signal_hours)


def mean_signal_delay_s(time_of_day: Sequence[tuple[float, TravelSpace]], free: TravelSpace) -> list[float]:
    """Per entry of ``time_of_day``, the mean over node pairs of its fastest time minus free flow (s)."""
    nodes = np.arange(free.num_nodes)
    base = free.times(nodes, nodes)
    return [float(np.mean(space.times(nodes, nodes) - base)) for _, space in time_of_day]


def fleet_charger_index(energy: EnergyDay, fleet: Fleet) -> npt.NDArray[np.int64]:
    """For each of the fleet's chargers, the energy day's charger of kind ``"depot"`` at the same
    bus (in order); ValueError naming the fleet charger that has none."""
    free = {int(b): list(np.flatnonzero((energy.charger_bus == b) & (energy.charger_kind == "depot"))) for b in
            np.unique(fleet.charger_bus)}  # fmt: skip
    out = []
    for k, bus in enumerate(fleet.charger_bus.tolist()):
        if not free[bus]:
            raise ValueError(f"fleet charger {k} (bus {bus}) has no depot charger of the energy day at its bus")
        out.append(free[bus].pop(0))
    return np.array(out, dtype=np.int64)


SPARE_MARGIN = 0.01
"""Share of a transformer's rating :func:`depot_spare_kw` keeps back from the shuttles' charging,
for the plan's power flow and losses to move in."""


def depot_spare_kw(plan: DayPlan, fleet: Fleet, *, margin: float = SPARE_MARGIN) -> npt.NDArray[np.float64]:
    """Per fleet charger and slot of ``plan`` (the energy day planned without the fleet), its share
    of the power (kW) the transformers feeding its bus have to spare, ``(chargers, slots)``: their
    rating less ``margin`` of it, less their loading (current-based: a kW drawn at a bus below 1 pu
    takes 1 / voltage kVA of the rating), below 0 where they are already over, NaN in a slot whose
    power flow failed, inf at a bus no transformer feeds."""
    grid = plan.day.grid
    out = np.full((fleet.charger_kw.shape[0], plan.day.num_slots), np.inf)
    for bus in np.unique(fleet.charger_bus):
        feeding = np.flatnonzero(grid.trafo_lv_bus == bus)
        if feeding.size:
            rating = grid.trafo_sn_kva[feeding]
            used = plan.after.trafo_loading_percent[:, feeding] / 100.0 * rating  # NaN in a failed slot
            here = fleet.charger_bus == bus
            out[here] = ((1 - margin) * rating.sum() - used.sum(axis=1)) * plan.after.vm_pu[:, bus] / here.sum()
    return out


def depot_charging_kw(plan: DayPlan, fleet: Fleet, *, floor_kw: float = 7.0) -> npt.NDArray[np.float64]:
    """Per fleet charger and slot of ``plan``, the power (kW) its depot may draw, ``(chargers,
    slots)``: its share of the transformers' spare power (:func:`depot_spare_kw`), at most the
    charger's power and at least ``floor_kw`` (also where the spare power is lower or unknown: see
    :func:`depot_spare_kw` for where the floor applies). For ``Fleet(charger_kw=...,
    charger_slot_s=plan.day.slot_h * 3600)``."""
    kw, _ = fleet.charger_power_kw()
    spare = np.nan_to_num(depot_spare_kw(plan, fleet), nan=floor_kw, posinf=np.inf)
    return np.clip(spare, floor_kw, np.broadcast_to(kw, spare.shape))


def with_fleet_charging(energy: EnergyDay, fleet: Fleet, charger_load_kw: npt.ArrayLike) -> EnergyDay:
    """``energy`` with the fleet's charging added at the depot chargers feeding its chargers, each
    kWh in the slot it is drawn: ``charger_load_kw`` is the fleet's mean power per charger and slot
    of the energy day (``FleetDay.charger_load_kw(energy.slot_h * 3600)``, ``(chargers,
    slots)`` kW), and every slot a charger draws power in becomes an EV session of that slot, that
    energy and that power. ValueError if a depot charger of the energy day has less power than the
    fleet draws from it."""
    index = fleet_charger_index(energy, fleet)
    t = energy.num_slots
    load = float_array("charger_load_kw", charger_load_kw, (index.size, t), nonnegative=True)
    fleet_charger, slot = np.nonzero(load > 0)
    kw = load[fleet_charger, slot]
    charger = index[fleet_charger]
    over = kw > energy.charger_kw[charger] * (1 + 1e-9)
    if over.any():
        k = int(np.flatnonzero(over)[0])
        raise ValueError(
            f"charger_load_kw[{fleet_charger[k]}, {slot[k]}]={kw[k]:g} kW is more than the energy day's charger "
            f"{charger[k]} ({energy.charger_kw[charger[k]]:g} kW) at bus {energy.charger_bus[charger[k]]}"
        )
    return dataclasses.replace(
        energy,
        ev_charger=np.concatenate([energy.ev_charger, charger]),
        ev_arrival_slot=np.concatenate([energy.ev_arrival_slot, slot]),
        ev_departure_slot=np.concatenate([energy.ev_departure_slot, slot + 1]),
        ev_energy_kwh=np.concatenate([energy.ev_energy_kwh, kw * energy.slot_h]),
        ev_max_kw=np.concatenate([energy.ev_max_kw, kw]),
    )
