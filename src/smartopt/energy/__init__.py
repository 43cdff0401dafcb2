"""Energy: the distribution grid, its power flow, a day of loads, PV, batteries, chargers and EVs on it,
EV charging schedules, battery dispatch, phase balancing
and the day planned as one system."""

from smartopt.energy.assets import EnergyDay
from smartopt.energy.battery import Battery, BatteryResult, dispatch_battery
from smartopt.energy.charging import ChargingPlanner, ChargingResult, schedule_charging
from smartopt.energy.day_plan import DayPlan, plan_day
from smartopt.energy.grid import Grid
from smartopt.energy.pandapower_io import grid_from_pandapower, grid_to_pandapower, simbench_profiles
from smartopt.energy.phases import PhaseResult, balance_phases, phase_imbalance_kw
from smartopt.energy.power_flow import (
    PowerFlowResult,
    Violations,
    VoltageSensitivity,
    power_flow,
    voltage_sensitivities,
)
from smartopt.energy.unbalanced_power_flow import UnbalancedFlowResult, unbalanced_power_flow

__all__ = [
    "Battery",
    "BatteryResult",
    "ChargingPlanner",
    "ChargingResult",
    "DayPlan",
    "EnergyDay",
    "Grid",
    "PhaseResult",
    "PowerFlowResult",
    "UnbalancedFlowResult",
    "Violations",
    "VoltageSensitivity",
    "balance_phases",
    "dispatch_battery",
    "grid_from_pandapower",
    "grid_to_pandapower",
    "phase_imbalance_kw",
    "plan_day",
    "power_flow",
    "schedule_charging",
    "simbench_profiles",
    "unbalanced_power_flow",
    "voltage_sensitivities",
]
