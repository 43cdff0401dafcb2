"""A fleet for the dispatch benchmarks: shuttles at given places, no battery limit, no chargers."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from smartopt.dispatch import Fleet


def shuttles(num_nodes: int, starts: npt.ArrayLike, seats: int, kwh_per_km: float = 0.2) -> Fleet:
    """One vehicle of ``seats`` seats at each of ``starts`` (location indices)."""
    start = np.asarray(starts)
    n = start.shape[0]
    return Fleet(
        num_nodes=num_nodes,
        depot_node=start,
        vehicle_depot=np.arange(n),
        vehicle_seats=np.full(n, seats),
        vehicle_battery_kwh=np.full(n, np.inf),
        vehicle_kwh_per_km=np.full(n, kwh_per_km),
        vehicle_soc0=np.ones(n),
        charger_node=np.zeros(0, dtype=int),
        charger_kw=np.zeros(0),
        charger_bus=np.zeros(0, dtype=int),
    )
