"""Where the district's solvers see each other.

- Signal plans -> travel times: each period's plan adds its HCM control delays to the links
  entering its intersections, and the shuttle dispatch drives on those times during the hours the
  period stands for.
- Grid -> shuttle charging: a depot's chargers run at most at the power its transformers have to
  spare in the energy day planned without the fleet.
- Shuttle charging -> the grid: the fleet's charging sessions join the energy day as EV sessions
  at the depot chargers, planned with the residents' EVs, PV and the battery.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from smartopt.dispatch.model import Fleet
from smartopt.dispatch.space import TravelSpace
from smartopt.energy.assets import EnergyDay
from smartopt.energy.day_plan import DayPlan
from smartopt.network import RoadNetwork
from smartopt.signals.model import Intersection
from smartopt.signals.timing import TimingPlan, hcm_delay, link_delays

__all__ = [
    "SIGNAL_WINDOWS_H",
    "depot_charging_kw",
    "fleet_charger_index",
    "mean_signal_delay_s",
    "signal_time_of_day",
    "with_fleet_charging",
]

SIGNAL_WINDOWS_H: dict[str, tuple[float, float]] = {
    "am_peak": (6.0, 10.0),
    "midday": (10.0, 16.0),
    "pm_peak": (16.0, 20.0),
}
"""Clock hours (start, end) each analysis period's signal plan stands for; outside them (the
night) links run at free flow."""


def signal_time_of_day(
    network: RoadNetwork,
    intersections: Sequence[Intersection],
    periods: Sequence[str],
    plans: Mapping[str, TimingPlan],
    windows_h: Mapping[str, tuple[float, float]] = SIGNAL_WINDOWS_H,
) -> list[tuple[float, TravelSpace]]:
    """``time_of_day`` for :func:`smartopt.dispatch.simulate`: for each period in ``plans`` (names
    from ``periods``, the intersections' volume periods), from the start of its window (h) the
    links' free-flow times plus the plan's control delays (s/veh, see
    :func:`~smartopt.signals.link_delays`), and free flow again where no window follows at once."""
    for name in plans:
        if name not in periods or name not in windows_h:
            raise ValueError(f"plans[{name!r}]: not a period with a window ({sorted(set(periods) & set(windows_h))})")
    spans = sorted((windows_h[name], name) for name in plans)
    free = TravelSpace.from_network(network)
    out: list[tuple[float, TravelSpace]] = []
    for k, ((start, end), name) in enumerate(spans):
        if not 0 <= start < end or (k and start < spans[k - 1][0][1]):
            raise ValueError(f"windows_h[{name!r}]={(start, end)} must be increasing and not overlap the previous")
        period = list(periods).index(name)
        delay = link_delays(intersections, hcm_delay(intersections, plans[name], period), network.num_links)
        out.append((start * 3600.0, TravelSpace.from_network(network, link_time_s=network.link_time_s + delay)))
        if k + 1 == len(spans) or spans[k + 1][0][0] > end:
            out.append((end * 3600.0, free))
    return out


def mean_signal_delay_s(time_of_day: Sequence[tuple[float, TravelSpace]], free: TravelSpace) -> list[float]:
    """Per entry of ``time_of_day``, the mean over node pairs of its fastest time minus free flow (s)."""
    assert free.time_s is not None
    return [float(np.mean(np.asarray(space.time_s) - free.time_s)) for _, space in time_of_day]


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


def depot_charging_kw(plan: DayPlan, fleet: Fleet, *, floor_kw: float = 7.0) -> npt.NDArray[np.float64]:
    """Per fleet charger and slot of ``plan`` (the energy day planned without the fleet), the power
    (kW) its depot can draw, ``(chargers, slots)``: the transformers feeding its bus keep their
    rating (their spare apparent power in that slot), shared by the fleet's chargers there; at most
    the charger's power and at least ``floor_kw`` (also in a slot whose power flow failed).
    Chargers on a bus without a transformer keep their power. For
    ``Fleet(charger_kw=..., charger_slot_s=plan.day.slot_h * 3600)``."""
    grid = plan.day.grid
    kw, _ = fleet.charger_power_kw()
    out = np.array(np.broadcast_to(kw, (kw.shape[0], plan.day.num_slots)), dtype=np.float64)
    for bus in np.unique(fleet.charger_bus):
        feeding = np.flatnonzero(grid.trafo_lv_bus == bus)
        if feeding.size == 0:
            continue
        rating = grid.trafo_sn_kva[feeding]
        used = plan.after.trafo_loading_percent[:, feeding] / 100.0 * rating  # NaN in a failed slot
        spare = rating.sum() - used.sum(axis=1)
        here = fleet.charger_bus == bus
        share = np.where(np.isnan(spare), floor_kw, spare / here.sum())
        out[here] = np.clip(share, floor_kw, out[here])
    return out


def with_fleet_charging(energy: EnergyDay, fleet: Fleet, sessions: Mapping[str, Any]) -> EnergyDay:
    """``energy`` with the fleet's charging ``sessions`` added as EV sessions at the depot chargers
    feeding them. ``sessions`` are within the day (``SimulationResult.charging_within_day()``:
    charger, start and end s in [0, the energy day's length], energy kWh): each is plugged in from
    the slot it starts to the slot it ends (rounded outward) with its energy, at most the power the
    fleet's charger has in those slots. Every kWh goes in: a session outside the day, or with more
    energy than the depot charger can deliver in its slots, is a ValueError."""
    index = fleet_charger_index(energy, fleet)
    slot_s = energy.slot_h * 3600.0
    t = energy.num_slots
    fleet_charger = np.asarray(sessions["charger"], dtype=np.int64)
    charger = index[fleet_charger]
    start, end = np.asarray(sessions["start_s"], dtype=float), np.asarray(sessions["end_s"], dtype=float)
    kwh = np.asarray(sessions["energy_kwh"], dtype=float)
    outside = (start < 0) | (end > t * slot_s + 1e-6) | (end < start)
    if outside.any():
        k = int(np.flatnonzero(outside)[0])
        raise ValueError(
            f"charging session {k} ({start[k]:g}-{end[k]:g} s) is not within the energy day's {t * slot_s:g} s; "
            "fold sessions into the day with SimulationResult.charging_within_day()"
        )
    arrival = np.minimum(np.floor(start / slot_s).astype(int), t - 1)
    departure = np.maximum(np.minimum(np.ceil(end / slot_s).astype(int), t), arrival + 1)
    fleet_kw, fleet_slot_s = fleet.charger_power_kw()
    per_slot = fleet_kw[:, (np.arange(t) * slot_s // fleet_slot_s).astype(int) % fleet_kw.shape[1]]
    most_kw = np.array([per_slot[c, a:d].max() for c, a, d in zip(fleet_charger, arrival, departure, strict=True)])
    max_kw = np.minimum(energy.charger_kw[charger], most_kw)
    short = kwh > max_kw * (departure - arrival) * energy.slot_h * (1 + 1e-9)
    if short.any():
        k = int(np.flatnonzero(short)[0])
        raise ValueError(
            f"charging session {k} draws {kwh[k]:g} kWh at fleet charger {fleet_charger[k]}, more than the energy "
            f"day's charger {charger[k]} ({energy.charger_kw[charger[k]]:g} kW) delivers in its slots"
        )
    keep = kwh > 0
    return dataclasses.replace(
        energy,
        ev_charger=np.concatenate([energy.ev_charger, charger[keep]]),
        ev_arrival_slot=np.concatenate([energy.ev_arrival_slot, arrival[keep]]),
        ev_departure_slot=np.concatenate([energy.ev_departure_slot, departure[keep]]),
        ev_energy_kwh=np.concatenate([energy.ev_energy_kwh, kwh[keep]]),
        ev_max_kw=np.concatenate([energy.ev_max_kw, max_kw[keep]]),
    )
