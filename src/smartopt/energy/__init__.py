"""Energy: the distribution grid, its power flow, and a day of loads, PV, batteries, chargers and EVs on it."""

from smartopt.energy.assets import EnergyDay
from smartopt.energy.grid import Grid
from smartopt.energy.power_flow import (
    PowerFlowResult,
    Violations,
    VoltageSensitivity,
    power_flow,
    voltage_sensitivities,
)

__all__ = [
    "EnergyDay",
    "Grid",
    "PowerFlowResult",
    "Violations",
    "VoltageSensitivity",
    "power_flow",
    "voltage_sensitivities",
]
