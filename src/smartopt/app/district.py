"""A district: the one model that every smartopt solver and demo runs on (a run of its day:
:class:`smartopt.app.results.DistrictDay`)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from smartopt.dispatch.model import Fleet, Requests
from smartopt.energy.assets import EnergyDay
from smartopt.network.road import RoadNetwork
from smartopt.signals.model import Intersection
from smartopt.signals.traffic import TrafficDemand

if TYPE_CHECKING:
    from smartopt.dispatch.simulation import FleetDay

__all__ = ["District", "check_signal_hours"]


def check_signal_hours(
    signal_hours: Mapping[str, Sequence[float]], periods: Sequence[str], where: str = "signal_hours"
) -> dict[str, tuple[float, float]]:
    """``signal_hours`` as ``{period: (start_h, end_h)}`` in the order they start; ValueError naming
    the period whose window is not one of ``periods``, not a pair of clock hours with
    ``0 <= start < end <= 24``, or overlaps the one before."""
    if not isinstance(signal_hours, Mapping):
        raise TypeError(f"{where} must map periods to (start, end) clock hours, got {type(signal_hours).__name__}")
    out: dict[str, tuple[float, float]] = {}
    for name, window in signal_hours.items():
        if name not in periods:
            raise ValueError(f"{where}[{name!r}]: not a period of the district ({', '.join(periods)})")
        hours = list(window) if isinstance(window, Sequence) and not isinstance(window, str | bytes) else []
        if len(hours) != 2 or not all(isinstance(h, int | float) and not isinstance(h, bool) for h in hours):
            raise ValueError(f"{where}[{name!r}]={window!r} must be a (start, end) pair of clock hours")
        start, end = float(hours[0]), float(hours[1])
        if not (math.isfinite(start) and 0 <= start < end <= 24):
            raise ValueError(f"{where}[{name!r}]={(start, end)} must be clock hours with 0 <= start < end <= 24")
        out[name] = (start, end)
    spans = sorted(out.items(), key=lambda item: item[1])
    for (before, (_, end)), (name, (start, _)) in itertools.pairwise(spans):
        if start < end:
            raise ValueError(f"{where}[{name!r}] starts at {start:g} h and overlaps {where}[{before!r}] (to {end:g} h)")
    return dict(spans)


@dataclass(frozen=True, eq=False)
class District:
    """A plain container: road network, signalised intersections (volumes per entry of
    ``periods``), the traffic demand of each period (for the traffic model), a day of energy data
    on the distribution grid, the shuttle fleet and a day of ride requests. ``corridors`` names
    arterials to coordinate: indices into ``intersections`` in order along each. ``facts`` holds
    headline figures and ``assumptions`` says where they come from.

    ``signal_hours`` gives the clock hours ``(start, end)`` (h) each period's signal plan runs:
    the shuttle dispatch drives on link times with that plan's control delays then, and at free
    flow outside every window (a period without hours is timed but changes no travel time).
    ``peak_periods`` are the rush hours, in the order of ``periods`` (default: every period): the
    command line prints their signal tables and the green wave is coordinated for the last."""

    name: str
    network: RoadNetwork
    periods: tuple[str, ...]
    intersections: tuple[Intersection, ...]
    traffic: tuple[TrafficDemand, ...]
    energy: EnergyDay
    fleet: Fleet
    requests: Requests
    corridors: dict[str, tuple[int, ...]] = field(default_factory=dict)
    facts: dict[str, float] = field(default_factory=dict)
    assumptions: tuple[str, ...] = ()
    signal_hours: dict[str, tuple[float, float]] = field(default_factory=dict)
    peak_periods: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        periods = tuple(self.periods)
        if not periods or len(set(periods)) < len(periods) or not all(isinstance(p, str) for p in periods):
            raise ValueError(f"periods must be distinct names, at least one, got {self.periods!r}")
        peaks = tuple(self.peak_periods) or periods
        unknown = [p for p in peaks if p not in periods]
        if unknown:
            raise ValueError(f"peak_periods: {unknown[0]!r} is not a period of the district ({', '.join(periods)})")
        if list(peaks) != sorted(peaks, key=periods.index):
            raise ValueError(f"peak_periods={peaks!r} must follow the order of periods {periods!r}")
        for x in self.intersections:
            if x.periods and x.periods != periods:
                raise ValueError(f"intersection {x.id}: periods {x.periods} are not the district's {periods}")
        object.__setattr__(self, "periods", periods)
        object.__setattr__(self, "peak_periods", peaks)
        object.__setattr__(self, "signal_hours", check_signal_hours(self.signal_hours, periods))

    def simulate(self, **options: Any) -> FleetDay:
        """The day of the district's shuttles and ride requests on its road network:
        :func:`smartopt.dispatch.simulate` with ``options`` (``policy``, ``time_of_day``, ...)."""
        from smartopt.dispatch.simulation import simulate

        return simulate(self.network, self.fleet, self.requests, **options)

    def summary(self) -> str:
        """A readable multi-line description with the headline numbers."""
        net, e, grid = self.network, self.energy, self.energy.grid
        types, counts = np.unique(net.link_type, return_counts=True)
        y = np.array([i.critical_flow_ratio() for i in self.intersections])
        volumes = np.array([i.volume_vph.sum(axis=1) for i in self.intersections])
        load = e.load_kw.sum(axis=1)
        hours = np.floor(self.requests.time_s / 3600)
        peak_hour = int(np.bincount(hours.astype(int)).argmax()) if len(self.requests) else 0
        lines = [
            f"{self.name}",
            f"  road network   {net.num_nodes} nodes, {net.num_links} links, "
            f"{net.link_length_m.sum() / 2000:.1f} km of two-way street; "
            + ", ".join(f"{t} {c}" for t, c in zip(types, counts, strict=True)),
            f"  signals        {len(self.intersections)} signalised intersections; periods "
            + ", ".join(
                f"{p}: {volumes[:, k].sum():,.0f} veh/h entering, Webster Y max {y[:, k].max():.2f}"
                for k, p in enumerate(self.periods)
            ),
            f"  grid           {grid.num_buses} buses, {grid.line_from.shape[0]} lines, "
            f"{grid.trafo_hv_bus.shape[0]} transformers ({grid.trafo_sn_kva[0] / 1000:.0f} MVA substation), "
            f"{grid.num_loads} loads",
            f"  energy day     {e.num_slots} slots of {e.slot_h * 60:.0f} min; base peak {load.max() / 1000:.1f} MW, "
            f"{load.sum() * e.slot_h / 1000:.0f} MWh/day; PV {e.pv_kwp.sum() / 1000:.1f} MWp; "
            f"battery {e.battery_kwh.sum() / 1000:.1f} MWh / {e.battery_kw.sum() / 1000:.1f} MW",
            f"  EV charging    {e.charger_bus.shape[0]} chargers, {e.ev_arrival_slot.shape[0]} sessions, "
            f"{e.ev_energy_kwh.sum() / 1000:.1f} MWh asked; uncontrolled EV peak "
            f"{e.uncontrolled_ev_kw().max() / 1000:.1f} MW",
            f"  fleet          {self.fleet.num_vehicles} shuttles ({int(self.fleet.vehicle_seats[0])} seats, "
            f"{self.fleet.vehicle_battery_kwh[0]:.0f} kWh) at {self.fleet.depot_node.shape[0]} depots, "
            f"{self.fleet.charger_node.shape[0]} depot chargers",
            f"  requests       {len(self.requests):,} rides, {int(self.requests.passengers.sum()):,} passengers; "
            f"busiest hour {peak_hour:02d}:00 with {int((hours == peak_hour).sum())} requests",
        ]
        if self.facts:
            lines.append("  facts          " + "; ".join(f"{k} {v:,.4g}" for k, v in self.facts.items()))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"District({self.name!r}: {self.network.num_nodes} nodes, {len(self.intersections)} signals, "
            f"{self.energy.grid.num_buses} buses, {self.fleet.num_vehicles} shuttles, {len(self.requests)} requests)"
        )
