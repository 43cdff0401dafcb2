"""Signal timing: the intersection model, Webster and HCM delay, a delay-minimising optimiser, MAXBAND
green waves and max-pressure control."""

from smartopt.signals.adaptive import MaxPressure
from smartopt.signals.greenwave import GreenWave, bandwidths, maxband
from smartopt.signals.model import TURNS, Intersection
from smartopt.signals.timing import (
    DelayReport,
    HcmParameters,
    TimingPlan,
    hcm_delay,
    lane_group_delay,
    level_of_service,
    optimize_fixed_time,
    webster,
)

__all__ = [
    "TURNS",
    "DelayReport",
    "GreenWave",
    "HcmParameters",
    "Intersection",
    "MaxPressure",
    "TimingPlan",
    "bandwidths",
    "hcm_delay",
    "lane_group_delay",
    "level_of_service",
    "maxband",
    "optimize_fixed_time",
    "webster",
]
