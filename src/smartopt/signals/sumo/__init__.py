"""SUMO in and out: traffic lights of a ``.net.xml`` plus a route file become :class:`Intersection`
models (:mod:`.junctions`), route files become demand (:mod:`.demand`), timing plans go back as
``tlLogic`` programs with the same ids, link indices and states (:mod:`.programs`), and
:func:`run_max_pressure` drives SUMO through TraCI (:mod:`.control`)."""

from smartopt.signals.sumo.control import run_max_pressure
from smartopt.signals.sumo.demand import read_sumo_demand
from smartopt.signals.sumo.junctions import (
    SATURATION_VPHPL,
    SUMO_PLATOONS,
    SumoProgram,
    SumoSignals,
    read_sumo_signals,
    sumo_traffic_model,
)
from smartopt.signals.sumo.programs import plan_programs, write_tllogic

__all__ = [
    "SATURATION_VPHPL",
    "SUMO_PLATOONS",
    "SumoProgram",
    "SumoSignals",
    "plan_programs",
    "read_sumo_demand",
    "read_sumo_signals",
    "run_max_pressure",
    "sumo_traffic_model",
    "write_tllogic",
]
