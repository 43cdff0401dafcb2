"""Energy: the distribution grid and a day of loads, PV, batteries, chargers and EVs on it."""

from smartopt.energy.assets import EnergyDay
from smartopt.energy.grid import Grid

__all__ = ["EnergyDay", "Grid"]
