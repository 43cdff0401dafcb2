"""Vehicle dispatch: the shuttle fleet and ride requests, and vehicle routing problems."""

from smartopt.dispatch.assignment import linear_sum_assignment
from smartopt.dispatch.dispatcher import Dispatcher, Offer
from smartopt.dispatch.model import Fleet, Requests
from smartopt.dispatch.reoptimize import Reoptimization, reoptimize
from smartopt.dispatch.routing import solve_vrp
from smartopt.dispatch.simulation import FleetDay, FleetSizing, Policy, simulate, size_fleet
from smartopt.dispatch.solution import Route, VRPResult, evaluate_routes
from smartopt.dispatch.space import TravelSpace
from smartopt.dispatch.vrp import VehicleType, VRPProblem
from smartopt.dispatch.vrplib_io import read_vrplib, read_vrplib_solution, write_vrplib_solution

__all__ = [
    "Dispatcher",
    "Fleet",
    "FleetDay",
    "FleetSizing",
    "Offer",
    "Policy",
    "Reoptimization",
    "Requests",
    "Route",
    "TravelSpace",
    "VRPProblem",
    "VRPResult",
    "VehicleType",
    "evaluate_routes",
    "linear_sum_assignment",
    "read_vrplib",
    "read_vrplib_solution",
    "reoptimize",
    "simulate",
    "size_fleet",
    "solve_vrp",
    "write_vrplib_solution",
]
