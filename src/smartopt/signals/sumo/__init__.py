"""SUMO in and out: traffic lights of a ``.net.xml`` plus a route file become :class:`Intersection`
models (:mod:`.junctions`), route files become demand (:mod:`.demand`), timing plans go back as
``tlLogic`` programs with the same ids, link indices and states, fixed-time or actuated
(:mod:`.programs`), :func:`run_programs` and :func:`run_max_pressure` score them in SUMO, the latter
through TraCI (:mod:`.control`), :func:`calibrate` and :func:`refit` fit the traffic model to the
scenario (:mod:`.calibration`), and :func:`plan_sumo` makes every candidate program and recommends
one from a short SUMO check, as :func:`tune_max_pressure` picks max-pressure's settings (:mod:`.recommend`)."""

from smartopt.signals.sumo.calibration import SumoCalibration, calibrate, refit
from smartopt.signals.sumo.control import run_max_pressure, run_programs
from smartopt.signals.sumo.demand import PCU, RouteFiles, SumoDemandSummary, read_sumo_demand, summarize_sumo_demand
from smartopt.signals.sumo.junctions import (
    SATURATION_VPHPL,
    SUMO_PLATOONS,
    SumoProgram,
    SumoSignals,
    read_sumo_signals,
    sumo_traffic_model,
)
from smartopt.signals.sumo.programs import ACTUATION_PARAMS, actuated_programs, plan_programs, write_tllogic
from smartopt.signals.sumo.recommend import ProgramCheck, ScenarioPrograms, check_programs, plan_sumo, tune_max_pressure
from smartopt.signals.sumo.scenario import SumoConfig, read_sumo_config

__all__ = [
    "ACTUATION_PARAMS",
    "PCU",
    "SATURATION_VPHPL",
    "SUMO_PLATOONS",
    "ProgramCheck",
    "RouteFiles",
    "ScenarioPrograms",
    "SumoCalibration",
    "SumoConfig",
    "SumoDemandSummary",
    "SumoProgram",
    "SumoSignals",
    "actuated_programs",
    "calibrate",
    "check_programs",
    "plan_programs",
    "plan_sumo",
    "read_sumo_config",
    "read_sumo_demand",
    "read_sumo_signals",
    "refit",
    "run_max_pressure",
    "run_programs",
    "summarize_sumo_demand",
    "sumo_traffic_model",
    "tune_max_pressure",
    "write_tllogic",
]
