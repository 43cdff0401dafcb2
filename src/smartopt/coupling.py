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
    """Per fleet charger, the power (kW) its depot can draw in every slot of ``plan`` (the energy
    day planned without the fleet): the transformers feeding its bus keep their rating (the
    spare apparent power of the slot they are busiest in), shared by the fleet's chargers there;
    at most the charger's power and at least ``floor_kw``. Chargers on a bus without a transformer
    keep their power."""
    grid = plan.day.grid
    out = np.array(fleet.charger_kw, dtype=float)
    for bus in np.unique(fleet.charger_bus):
        feeding = np.flatnonzero(grid.trafo_lv_bus == bus)
        if feeding.size == 0:
            continue
        rating = grid.trafo_sn_kva[feeding]
        used = plan.after.trafo_loading_percent[:, feeding] / 100.0 * rating  # NaN in a failed slot
        spare = float(np.nanmin(rating.sum() - used.sum(axis=1)))
        here = fleet.charger_bus == bus
        out[here] = np.clip(spare / here.sum(), floor_kw, out[here])
    return out


def with_fleet_charging(energy: EnergyDay, fleet: Fleet, sessions: Mapping[str, Any]) -> EnergyDay:
    """``energy`` with the fleet's charging ``sessions`` (``SimulationResult.charging``: charger,
    start and end s, energy kWh) added as EV sessions at the depot chargers feeding them: plugged in
    from the slot the charging starts to the slot it ends (rounded outward), the energy charged, at
    most the charger's power. Energy charged after the day's last slot is left out."""
    index = fleet_charger_index(energy, fleet)
    slot_s = energy.slot_h * 3600.0
    t = energy.num_slots
    fleet_charger = np.asarray(sessions["charger"], dtype=np.int64)
    charger = index[fleet_charger]
    start, end = np.asarray(sessions["start_s"], dtype=float), np.asarray(sessions["end_s"], dtype=float)
    kwh = np.asarray(sessions["energy_kwh"], dtype=float)
    arrival = np.floor(start / slot_s).astype(int)
    departure = np.minimum(np.ceil(end / slot_s).astype(int), t)
    keep = (arrival < t) & (kwh > 0)
    departure = np.maximum(departure, arrival + 1)
    max_kw = np.minimum(energy.charger_kw[charger], fleet.charger_kw[fleet_charger])  # the fleet's may be limited
    within_day = np.clip((t * slot_s - start) / np.maximum(end - start, 1e-9), 0.0, 1.0)
    kwh = np.minimum(kwh * within_day, max_kw * (departure - arrival) * energy.slot_h)
    return dataclasses.replace(
        energy,
        ev_charger=np.concatenate([energy.ev_charger, charger[keep]]),
        ev_arrival_slot=np.concatenate([energy.ev_arrival_slot, arrival[keep]]),
        ev_departure_slot=np.concatenate([energy.ev_departure_slot, departure[keep]]),
        ev_energy_kwh=np.concatenate([energy.ev_energy_kwh, kwh[keep]]),
        ev_max_kw=np.concatenate([energy.ev_max_kw, max_kw[keep]]),
    )
