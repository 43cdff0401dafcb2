"""A district: the one model that every smartopt solver and demo runs on."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from smartopt.dispatch.model import Fleet, Requests
from smartopt.energy.assets import EnergyDay
from smartopt.network.road import RoadNetwork
from smartopt.signals.model import Intersection
from smartopt.signals.traffic import TrafficDemand

__all__ = ["District"]


@dataclass(frozen=True, eq=False)
class District:
    """A plain container: road network, signalised intersections (volumes per entry of
    ``periods``), the traffic demand of each period (for the traffic model), a day of energy data
    on the distribution grid, the shuttle fleet and a day of ride requests. ``corridors`` names
    arterials to coordinate: indices into ``intersections`` in order along each. ``facts`` holds
    headline figures and ``assumptions`` says where they come from."""

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
