"""Reading VRPLIB and Solomon instances (PyVRP's VRPLIB dialect) into a :class:`VRPProblem`.

The ``vrplib`` package parses the file; this module maps its fields onto the model. Rounding
conventions keep the file's units: ``"dimacs"`` truncates distances and times to one decimal (the
DIMACS 2021 convention for Solomon), ``"round"`` rounds them to integers (the X instances),
``"exact"`` rounds to three decimals (PyVRP's "exact", without its x1000 scaling) and ``"none"``
keeps them as computed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from smartopt.dispatch.vrp import VehicleType, VRPProblem

Rounding = Callable[[npt.NDArray[np.float64]], npt.NDArray[np.float64]]
ROUND_FUNCS: dict[str, Rounding] = {
    "dimacs": lambda x: np.trunc(10 * x) / 10,
    "round": np.round,
    "exact": lambda x: np.round(x, 3),
    "none": lambda x: x,
}


def read_vrplib(path: str | Path, round_func: str = "dimacs") -> VRPProblem:
    """A VRPLIB/Solomon file as a :class:`VRPProblem`: capacities, time windows, service times,
    several depots (``VEHICLES_DEPOT_SECTION``), per-vehicle capacities and costs (vehicles with
    equal data become one :class:`VehicleType`), ``VEHICLES_MAX_DURATION``/``_DISTANCE``, prizes.
    Depot time windows become the vehicles' shifts."""
    import vrplib

    if round_func not in ROUND_FUNCS:
        raise ValueError(f"round_func must be one of {tuple(ROUND_FUNCS)}, got {round_func!r}")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no VRPLIB file at {path}")
    inst: dict[str, Any] = vrplib.read_instance(str(path))
    if "pickup_and_delivery" in inst:
        raise ValueError(f"{path.name}: PICKUP_AND_DELIVERY sections are not read; build a VRPProblem with pairs")
    rnd = ROUND_FUNCS[round_func]
    n = int(inst["dimension"])
    dist = rnd(np.asarray(inst["edge_weight"], dtype=float))
    depots = np.atleast_1d(np.asarray(inst.get("depot", [0]), dtype=np.int64))
    tw = rnd(np.asarray(inst["time_window"], dtype=float)) if "time_window" in inst else None
    service = _broadcast(inst.get("service_time", 0.0), n)
    service[depots] = 0.0
    num_vehicles = int(inst.get("vehicles", n - depots.size))
    per_vehicle = {
        "capacity": _broadcast(inst.get("capacity", math.inf), num_vehicles),
        "fixed_cost": _broadcast(inst.get("vehicles_fixed_cost", 0.0), num_vehicles),
        "unit_distance_cost": _broadcast(inst.get("vehicles_unit_distance_cost", 1.0), num_vehicles),
        "max_duration": rnd(_broadcast(inst.get("vehicles_max_duration", math.inf), num_vehicles)),
        "max_distance": rnd(_broadcast(inst.get("vehicles_max_distance", math.inf), num_vehicles)),
        "start": (
            np.asarray(inst["vehicles_depot"], dtype=np.int64) - 1
            if "vehicles_depot" in inst
            else np.full(num_vehicles, depots[0])
        ),
    }
    types: dict[tuple[float, ...], int] = {}
    for v in range(num_vehicles):
        key = tuple(float(per_vehicle[k][v]) for k in per_vehicle)
        types[key] = types.get(key, 0) + 1
    vehicle_types = []
    for key, count in types.items():
        data = dict(zip(per_vehicle, key, strict=True))
        start = int(data.pop("start"))
        shift = (0.0, math.inf) if tw is None else (float(tw[start, 0]), float(tw[start, 1]))
        vehicle_types.append(
            VehicleType(count=count, start=start, shift_start=shift[0], shift_end=shift[1], **data)  # type: ignore[arg-type]
        )
    demand = np.asarray(inst.get("demand", inst.get("linehaul", np.zeros(n))), dtype=float)
    prize = np.asarray(inst.get("prize", np.zeros(n)), dtype=float)
    return VRPProblem(
        distance=dist,
        vehicle_types=tuple(vehicle_types),
        depots=depots,
        demand=demand,
        pickup=np.asarray(inst.get("backhaul", np.zeros(n)), dtype=float),
        service=rnd(service),
        tw_early=np.zeros(n) if tw is None else tw[:, 0],
        tw_late=np.full(n, math.inf) if tw is None else tw[:, 1],
        prize=prize,
        required=prize == 0,
        name=str(inst.get("name", path.stem)),
        coords=np.asarray(inst["node_coord"], dtype=float) if "node_coord" in inst else None,
    )


def read_vrplib_solution(path: str | Path) -> tuple[float, list[list[int]]]:
    """A VRPLIB ``.sol`` file: its stated cost and its routes as client lists (0-based locations)."""
    import vrplib

    sol = vrplib.read_solution(str(path))
    return float(sol["cost"]), [list(map(int, r)) for r in sol["routes"]]


def _broadcast(value: Any, size: int) -> npt.NDArray[np.float64]:
    """A scalar or per-item field as a float array of ``size``."""
    return np.array(np.broadcast_to(np.asarray(value, dtype=float), (size,)), dtype=float)
