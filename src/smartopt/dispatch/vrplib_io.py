"""Reading VRPLIB and Solomon instances (PyVRP's VRPLIB dialect) into a :class:`VRPProblem`, and
VRPLIB solution files (``.sol``) both ways.

The ``vrplib`` package parses the file; this module maps its fields onto the model. Rounding
conventions keep the file's units: ``"dimacs"`` truncates distances and times to one decimal (the
DIMACS 2021 convention for Solomon), ``"round"`` rounds them to integers (the X instances),
``"exact"`` rounds to three decimals (PyVRP's "exact", without its x1000 scaling) and ``"none"``
keeps them as computed.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from smartopt._validation import INT32_MAX
from smartopt.dispatch.solution import VRPResult
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
    equal data become one :class:`VehicleType`), ``VEHICLES_MAX_DURATION``/``_DISTANCE``, prizes,
    and PyVRP's multi-trip fields: ``RELEASE_TIME_SECTION``, ``VEHICLES_RELOAD_DEPOT_SECTION``
    (1-based depots per vehicle) and ``VEHICLES_MAX_RELOADS``. Depot time windows become the
    vehicles' shifts (and bound their reloads); depots get no service (loading) time, as PyVRP's
    reader gives them none (a depot's row of ``SERVICE_TIME_SECTION`` is ignored)."""
    import vrplib

    if round_func not in ROUND_FUNCS:
        raise ValueError(f"round_func must be one of {tuple(ROUND_FUNCS)}, got {round_func!r}")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no VRPLIB file at {path}")
    _check_text(path, _text(path))
    try:
        with warnings.catch_warnings():  # overflowing or NaN coordinates: an error, not distances of inf
            warnings.simplefilter("error", RuntimeWarning)
            inst: dict[str, Any] = vrplib.read_instance(str(path))
    except (TypeError, KeyError, IndexError, ValueError, RuntimeError, RuntimeWarning) as exc:
        raise ValueError(f"{path}: not a VRPLIB instance vrplib can read ({type(exc).__name__}: {exc})") from None
    try:
        return _problem(path, inst, ROUND_FUNCS[round_func])
    except (TypeError, KeyError, IndexError, ValueError) as exc:
        raise ValueError(f"{path}: {exc}") from None


def _problem(path: Path, inst: dict[str, Any], rnd: Rounding) -> VRPProblem:
    """The fields vrplib parsed, mapped onto the model."""
    n = int(inst["dimension"])
    dist = rnd(np.asarray(inst["edge_weight"], dtype=float))
    depots = np.atleast_1d(np.asarray(inst.get("depot", [0]), dtype=np.int64))
    if depots.ndim != 1 or ((depots < 0) | (depots >= n)).any():
        raise ValueError(f"DEPOT_SECTION: depots {(depots + 1).tolist()} must be locations in 1 .. {n}")
    tw = rnd(np.asarray(inst["time_window"], dtype=float)) if "time_window" in inst else None
    service = _broadcast(inst.get("service_time", 0.0), n)
    service[depots] = 0.0
    num_vehicles = _vehicles(inst.get("vehicles", n - depots.size))
    reloads = _reload_depots(inst.get("vehicles_reload_depot"), depots, num_vehicles)
    raw = {
        "capacity": inst.get("capacity", math.inf),
        "fixed_cost": inst.get("vehicles_fixed_cost", 0.0),
        "unit_distance_cost": inst.get("vehicles_unit_distance_cost", 1.0),
        "max_duration": inst.get("vehicles_max_duration", math.inf),
        "max_distance": inst.get("vehicles_max_distance", math.inf),
        "start": np.asarray(inst["vehicles_depot"], dtype=np.int64) - 1 if "vehicles_depot" in inst else depots[0],
        "max_reloads": inst.get("vehicles_max_reloads", math.inf),
    }
    if all(np.ndim(v) == 0 for v in raw.values()) and (reloads is None or len(set(reloads)) == 1):
        # identical vehicles: one type, however many (nothing is allocated per vehicle)
        num_vehicles, raw_rows = 1, num_vehicles
    else:  # per-vehicle sections: as many rows as the file has (checked against VEHICLES)
        raw_rows = 1
    per_vehicle = {k: _broadcast(v, num_vehicles) for k, v in raw.items()}
    per_vehicle["max_duration"] = rnd(per_vehicle["max_duration"])
    per_vehicle["max_distance"] = rnd(per_vehicle["max_distance"])
    types: dict[tuple[Any, ...], int] = {}
    for v in range(num_vehicles):
        key = (*(float(per_vehicle[k][v]) for k in per_vehicle), () if reloads is None else reloads[v])
        types[key] = types.get(key, 0) + raw_rows
    vehicle_types = []
    for (*values, reload_depots), count in types.items():
        data = dict(zip(per_vehicle, values, strict=True))
        start = int(data.pop("start"))
        if not 0 <= start < n:
            raise ValueError(f"vehicle depot {start + 1} is not a location in 1 .. {n}")
        shift = (0.0, math.inf) if tw is None else (float(tw[start, 0]), float(tw[start, 1]))
        vehicle_types.append(
            VehicleType(
                count=count,
                start=start,
                shift_start=shift[0],
                shift_end=shift[1],
                reload_depots=reload_depots,
                max_reloads=_max_reloads(data.pop("max_reloads")),
                **data,
            )
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
        release_time=rnd(_broadcast(inst.get("release_time", 0.0), n)),
        name=str(inst.get("name", path.stem)),
        coords=np.asarray(inst["node_coord"], dtype=float) if "node_coord" in inst else None,
    )


def write_vrplib_solution(result: VRPResult, path: str | Path) -> None:
    """Writes ``result`` to ``path`` as a VRPLIB ``.sol`` file: a ``Route #k: c1 c2 ...`` line per
    route, clients numbered as VRPLIB solutions number them (0-based locations: the instance
    file's node number less one; depots only where a route reloads), then ``Cost <cost>``. With one vehicle type the
    routes driven are numbered 1, 2, ...; with several, route ``k`` is vehicle ``k - 1`` and unused
    vehicles have empty routes (as in the best-known solutions of mixed fleets), so that the file
    keeps which vehicle drives which route. :func:`read_vrplib_solution` reads it back. Only
    feasible results are written (``ValueError`` otherwise)."""
    if not isinstance(result, VRPResult):
        raise TypeError(f"result must be a VRPResult, got {type(result).__name__}")
    if not result.feasible:
        raise ValueError(
            f"result is {result.status} ({result.missing.size} required clients missing or limits broken): a .sol "
            "file has no status, so a reader would take it for a complete solution"
        )
    visits = {r.vehicle: r.visits.tolist() for r in result.routes}
    if len(result.problem.vehicle_types) == 1:
        routes = [visits[v] for v in sorted(visits)]
    else:
        routes = [visits.get(v, []) for v in range(max(visits, default=-1) + 1)]
    cost = int(result.cost) if result.cost.is_integer() else result.cost
    lines = [" ".join([f"Route #{k}:", *map(str, route)]) for k, route in enumerate(routes, start=1)]
    Path(path).write_text("\n".join([*lines, f"Cost {cost!r}", ""]), encoding="utf-8")


def read_vrplib_solution(path: str | Path) -> tuple[float, list[list[int]]]:
    """A VRPLIB ``.sol`` file: its stated cost and its routes as client lists (0-based locations;
    route ``k`` of a mixed fleet's file is vehicle ``k - 1``)."""
    import vrplib

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no VRPLIB solution file at {path}")
    _text(path)
    try:
        sol = vrplib.read_solution(str(path))
        return float(sol["cost"]), [list(map(int, r)) for r in sol["routes"]]
    except (TypeError, KeyError, IndexError, ValueError, RuntimeError) as exc:
        raise ValueError(f"{path}: not a VRPLIB solution ({type(exc).__name__}: {exc})") from None


PER_LOCATION = ("NODE_COORD", "DEMAND", "LINEHAUL", "BACKHAUL", "TIME_WINDOW", "SERVICE_TIME", "PRIZE", "RELEASE_TIME")
"""Sections with a row per location (DIMENSION rows)."""
PER_VEHICLE = ("CAPACITY", "VEHICLES_")
"""Sections (names starting with these) with a row per vehicle (VEHICLES rows, when given)."""
VEHICLE_FIELDS = ("FIXED_COST", "UNIT_DISTANCE_COST", "MAX_DURATION", "MAX_DISTANCE", "MAX_RELOADS")
READ_SPECS = frozenset(
    {"NAME", "COMMENT", "TYPE", "DIMENSION", "EDGE_WEIGHT_TYPE", "EDGE_WEIGHT_FORMAT", "NODE_COORD_TYPE"}
    | {"DISPLAY_DATA_TYPE", "CAPACITY", "VEHICLES", "SERVICE_TIME"}
    | {f"VEHICLES_{f}" for f in VEHICLE_FIELDS}
)
"""Specifications read (any other is refused: the instance would be read as another problem)."""
READ_SECTIONS = frozenset(
    {"NODE_COORD", "EDGE_WEIGHT", "DEPOT", "DEMAND", "LINEHAUL", "BACKHAUL", "TIME_WINDOW", "SERVICE_TIME"}
    | {"PRIZE", "CAPACITY", "DISPLAY_DATA", "VEHICLES_DEPOT", "RELEASE_TIME", "VEHICLES_RELOAD_DEPOT"}
    | {f"VEHICLES_{f}" for f in VEHICLE_FIELDS}
)
"""Sections read (any other is refused)."""


def _text(path: Path) -> str:
    """The file as text; ValueError naming it when it is not text."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a text file (a VRPLIB instance is expected)") from None
    if "\x00" in text:
        raise ValueError(f"{path}: not a text file (a VRPLIB instance is expected)")
    return text


def _check_text(path: Path, text: str) -> None:
    """The layout vrplib expects, checked line by line so that errors name the line: ``KEY :
    value`` specifications, then sections of numeric rows (``NAME_SECTION``), ``EOF``."""
    specs: dict[str, tuple[int, str]] = {}
    sections: dict[str, tuple[int, int]] = {}  # name: (line of the header, rows)
    section, width, eof, last = "", 0, False, 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        last = number
        if "EOF" in line:
            eof = True
            break
        if line.lower().startswith("route #"):
            raise ValueError(
                f"{path}: line {number}: {line[:30]!r} is a route of a VRPLIB solution, not an instance "
                "(give the .vrp file; read_vrplib_solution reads .sol files)"
            )
        if "_SECTION" in line:
            section, width = line.strip(" :").removesuffix("_SECTION"), 0
            sections[section] = (number, 0)
            _check_read(path, number, f"{section}_SECTION", section in READ_SECTIONS)
        elif ":" in line and not section:
            key, _, value = line.partition(":")
            specs[key.strip().upper()] = (number, value.strip())
            _check_read(path, number, key.strip().upper(), key.strip().upper() in READ_SPECS)
        elif not section:
            raise ValueError(
                f"{path}: line {number}: {line[:30]!r} is neither a 'KEY : value' specification nor a section "
                "(not a VRPLIB instance?)"
            )
        elif ":" in line:
            raise ValueError(f"{path}: line {number}: the specification {line[:30]!r} comes after a section")
        else:
            values = line.split()
            for v in values:
                try:
                    float(v)
                except ValueError:
                    raise ValueError(f"{path}: line {number}: {v!r} in {section}_SECTION is not a number") from None
            if section not in ("EDGE_WEIGHT", "DEPOT", "VEHICLES_RELOAD_DEPOT"):  # (its rows are ragged)
                if width and len(values) != width:
                    raise ValueError(
                        f"{path}: line {number}: {len(values)} values in a row of {section}_SECTION, "
                        f"the rows above have {width}"
                    )
                width = len(values)
            header, rows = sections[section]
            sections[section] = (header, rows + 1)
    if "DIMENSION" not in specs:
        raise ValueError(f"{path}: no DIMENSION specification (not a VRPLIB instance?)")
    at, value = specs["DIMENSION"]
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{path}: line {at}: DIMENSION : {value!r} must be a whole number of locations")
    if "EDGE_WEIGHT" not in sections:
        if "EDGE_WEIGHT_TYPE" not in specs:
            raise ValueError(
                f"{path}: no EDGE_WEIGHT_TYPE specification (e.g. EUC_2D) and no EDGE_WEIGHT_SECTION: "
                "the distances are not defined"
            )
        if "NODE_COORD" not in sections:
            raise ValueError(f"{path}: no NODE_COORD_SECTION to compute the distances from")
    n, vehicles = int(value), specs.get("VEHICLES", (0, ""))[1]
    ending = "" if eof else f"; the file ends at line {last} without EOF (cut short?)"
    for name, (header, rows) in sections.items():
        if name in PER_LOCATION and rows != n:
            raise ValueError(f"{path}: line {header}: {name}_SECTION has {rows} rows, DIMENSION is {n}{ending}")
        if name.startswith(PER_VEHICLE) and vehicles.isdigit() and rows != int(vehicles):
            raise ValueError(f"{path}: line {header}: {name}_SECTION has {rows} rows, VEHICLES is {vehicles}{ending}")


def _check_read(path: Path, line: int, field: str, read: bool) -> None:
    """Refuses a field read_vrplib does not map (release times, reload depots, pickup and delivery
    pairs, ...): solving without it would solve another problem."""
    if not read:
        raise ValueError(
            f"{path}: line {line}: {field} is not read by read_vrplib, and solving without it would solve "
            "another problem; remove it to solve the instance without it, or build a VRPProblem"
        )


def _vehicles(value: Any) -> int:
    """The number of vehicles (VEHICLES): a whole number in 1 .. 2**31 - 1."""
    number = float(np.asarray(value, dtype=float).reshape(-1)[0]) if np.size(value) == 1 else math.nan
    if not (math.isfinite(number) and number == int(number) and 1 <= number <= INT32_MAX):
        raise ValueError(f"VEHICLES : {value!r} must be a whole number of vehicles in 1 .. {INT32_MAX}")
    return int(number)


def _reload_depots(value: Any, depots: npt.NDArray[np.int64], vehicles: int) -> list[tuple[int, ...]] | None:
    """VEHICLES_RELOAD_DEPOT_SECTION as 0-based depots per vehicle (None without the section)."""
    if value is None:
        return None
    rows = [np.atleast_1d(np.asarray(row, dtype=float)) for row in (value if isinstance(value, list) else [value])]
    if not isinstance(value, list):  # vrplib's array: one depot per vehicle, or a row each
        rows = [r.reshape(-1) for r in (rows[0][:, None] if rows[0].ndim == 1 else rows[0])]
    if len(rows) != vehicles:
        raise ValueError(f"VEHICLES_RELOAD_DEPOT_SECTION has {len(rows)} rows for {vehicles} vehicles")
    out = []
    for v, row in enumerate(rows, start=1):
        if not (np.isfinite(row).all() and (row == np.round(row)).all() and np.isin(row - 1, depots).all()):
            raise ValueError(
                f"VEHICLES_RELOAD_DEPOT_SECTION: vehicle {v} reloads at {row.tolist()}, which are not all depots "
                f"of DEPOT_SECTION ({(depots + 1).tolist()})"
            )
        out.append(tuple(sorted({int(d) - 1 for d in row})))
    return out


def _max_reloads(value: float) -> int | None:
    """VEHICLES_MAX_RELOADS: a whole number >= 0 (PyVRP writes 2**64 - 1 for no limit: None)."""
    if not (value >= 0 and (math.isinf(value) or value == int(value))):
        raise ValueError(f"VEHICLES_MAX_RELOADS : {value!r} must be a whole number >= 0")
    return None if value >= INT32_MAX else int(value)


def _broadcast(value: Any, size: int) -> npt.NDArray[np.float64]:
    """A scalar or per-item field as a float array of ``size``."""
    return np.array(np.broadcast_to(np.asarray(value, dtype=float), (size,)), dtype=float)
