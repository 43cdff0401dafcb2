"""Signal timing: the intersection model, Webster and HCM delay, a delay-minimising optimiser, MAXBAND
green waves, a network traffic model with network-wide timing, and max-pressure control."""

from smartopt.signals.adaptive import (
    DetectorCounts,
    MaxPressure,
    MaxPressureController,
    PressureGuards,
    StageDecisions,
)
from smartopt.signals.greenwave import GreenWave, bandwidths, maxband
from smartopt.signals.model import TURNS, Intersection
from smartopt.signals.network_timing import NetworkTiming, optimize_network
from smartopt.signals.timing import (
    DelayReport,
    HcmParameters,
    TimingPlan,
    hcm_delay,
    lane_group_delay,
    level_of_service,
    link_delays,
    optimize_fixed_time,
    webster,
)
from smartopt.signals.traffic import TrafficDemand, TrafficModel, TrafficResult

__all__ = [
    "TURNS",
    "DelayReport",
    "DetectorCounts",
    "GreenWave",
    "HcmParameters",
    "Intersection",
    "MaxPressure",
    "MaxPressureController",
    "NetworkTiming",
    "PressureGuards",
    "StageDecisions",
    "TimingPlan",
    "TrafficDemand",
    "TrafficModel",
    "TrafficResult",
    "bandwidths",
    "hcm_delay",
    "lane_group_delay",
    "level_of_service",
    "link_delays",
    "maxband",
    "optimize_fixed_time",
    "optimize_network",
    "webster",
]
