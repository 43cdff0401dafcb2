"""Vehicle dispatch: the shuttle fleet and ride requests, and vehicle routing problems."""

from smartopt.dispatch.model import Fleet, Requests
from smartopt.dispatch.routing import Route, VRPResult, evaluate_routes, solve_vrp
from smartopt.dispatch.vrp import VehicleType, VRPProblem
from smartopt.dispatch.vrplib_io import read_vrplib, read_vrplib_solution

__all__ = [
    "Fleet",
    "Requests",
    "Route",
    "VRPProblem",
    "VRPResult",
    "VehicleType",
    "evaluate_routes",
    "read_vrplib",
    "read_vrplib_solution",
    "solve_vrp",
]
