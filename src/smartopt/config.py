"""Your own district from files: ``district.toml`` names the inputs, CSV tables hold them
(:func:`load_district`); :func:`export_scenario` writes any district, the built-in one included,
in that format. The file format is documented in ``docs/district.md``.

Tables refer to each other by id: network nodes and links by the ids of ``network/nodes.csv`` and
``network/links.csv``, grid buses by their ``name`` in ``grid/buses.csv``, intersections by ``id``,
chargers and lane groups by their row (0-based) in their table. Each column has a unit in its
name; values far outside the range of that unit (a speed over 70 m/s, a load over 100 MW, a time
of day over two days) are reported as probable unit mistakes.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from smartopt._files import existing_file, id_positions
from smartopt.dispatch.model import Fleet, Requests
from smartopt.district import District
from smartopt.energy.assets import EnergyDay
from smartopt.energy.grid import Grid
from smartopt.network.io import read_csv, read_sumo, write_csv
from smartopt.network.road import RoadNetwork
from smartopt.signals.model import Intersection
from smartopt.signals.traffic import TrafficDemand

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["export_scenario", "load_district"]

RANGES: dict[str, tuple[float, float, str]] = {
    "saturation_flow_vph": (0.0, 30_000.0, "saturation flows are in veh/h for the lane group"),
    "p_kw": (-100_000.0, 100_000.0, "powers are in kW"),
    "kw": (0.0, 100_000.0, "powers are in kW"),
    "time_s": (0.0, 172_800.0, "times are in s after midnight"),
    "vn_kv": (0.0, 1_000.0, "voltages are in kV"),
}
"""Plausible ranges per column-name ending: (low, high, what the unit is)."""
MAX_SPEED_MPS = 70.0
"""Link speeds above this (m/s, 252 km/h) are taken for a unit mistake."""


def load_district(config: str | Path) -> District:
    """The district a ``district.toml`` describes (paths relative to it). FileNotFoundError names
    a missing file, ValueError the file, column and row at fault.

    Example:
        >>> import tempfile
        >>> from smartopt.config import export_scenario, load_district
        >>> from smartopt.datasets import sejong_5_1
        >>> config = export_scenario(sejong_5_1(), tempfile.mkdtemp())
        >>> load_district(config)
        District('Sejong 5-1 ... seed 0': 344 nodes, 47 signals, 100 buses, 30 shuttles, 2971 requests)
    """
    path = existing_file(config)
    with path.open("rb") as f:
        spec = tomllib.load(f)
    root = path.parent
    for section in ("network", "signals", "grid", "energy", "fleet", "requests"):
        if section not in spec:
            raise ValueError(f"{path.name}: missing the [{section}] section")
    files = _Files(root, spec)
    net = _network(files)
    periods = tuple(str(p) for p in spec["signals"].get("periods", ()))
    if not periods:
        raise ValueError(f"{path.name}: [signals] periods must list the analysis periods")
    if "sumo_routes" in spec["signals"]:
        intersections, traffic = _sumo_signals(files, net, periods)
    else:
        intersections = _intersections(files, net, periods)
        traffic = tuple(_traffic(files, net, p) for p in periods)
    grid = _grid(files)
    energy = _energy(files, grid)
    ids = [x.id for x in intersections]
    corridors = {}
    for name, members in spec.get("corridors", {}).items():
        unknown = [m for m in members if m not in ids]
        if unknown:
            raise ValueError(f"{path.name}: corridors.{name}: {unknown[0]!r} is not an intersection id")
        corridors[str(name)] = tuple(ids.index(m) for m in members)
    return District(
        name=str(spec.get("name", path.stem)),
        network=net,
        periods=periods,
        intersections=intersections,
        traffic=traffic,
        energy=energy,
        fleet=_fleet(files, net, grid),
        requests=_requests(files, net),
        corridors=corridors,
        facts={str(k): float(v) for k, v in spec.get("facts", {}).items()},
        assumptions=tuple(str(a) for a in spec.get("assumptions", ())),
    )


def export_scenario(district: District, directory: str | Path) -> Path:
    """Writes ``district`` as ``district.toml`` and its tables under ``directory``; returns the
    config's path. :func:`load_district` reads it back to an equal district."""
    out = Path(directory)
    for sub in ("network", "signals", "grid", "energy", "fleet"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    net, grid, energy, fleet = district.network, district.energy.grid, district.energy, district.fleet
    write_csv(net, out / "network" / "nodes.csv", out / "network" / "links.csv")
    node, link, bus = net.node_ids, net.link_ids, grid.bus_name
    _write_intersections(district, out / "signals")
    for period, demand in zip(district.periods, district.traffic, strict=True):
        _save(out / "signals" / f"entries_{period}.csv", {"link": link, "entry_vph": demand.entry_vph})
        _save(
            out / "signals" / f"turns_{period}.csv",
            {"in_link": link[demand.turn_in_link], "out_link": link[demand.turn_out_link], "vph": demand.turn_vph},
        )
    xy = {} if grid.bus_xy is None else {"x_m": grid.bus_xy[:, 0], "y_m": grid.bus_xy[:, 1]}
    _save(out / "grid" / "buses.csv", {"name": bus, "vn_kv": grid.bus_vn_kv, **xy})
    _save(
        out / "grid" / "lines.csv",
        {
            "from_bus": bus[grid.line_from],
            "to_bus": bus[grid.line_to],
            **{k: getattr(grid, f"line_{k}") for k in LINE_COLUMNS},
        },
    )
    _save(
        out / "grid" / "trafos.csv",
        {
            "hv_bus": bus[grid.trafo_hv_bus],
            "lv_bus": bus[grid.trafo_lv_bus],
            **{k: getattr(grid, f"trafo_{k}") for k in TRAFO_COLUMNS},
        },
    )
    _save(out / "grid" / "switches.csv", {"bus_a": bus[grid.switch_bus_a], "bus_b": bus[grid.switch_bus_b]})
    _save(
        out / "grid" / "loads.csv",
        {"bus": bus[grid.load_bus], "p_kw": grid.load_p_kw, "q_kvar": grid.load_q_kvar, "kind": energy.load_kind},
    )
    _save(out / "grid" / "gens.csv", {"bus": bus[grid.gen_bus], "p_kw": grid.gen_p_kw, "q_kvar": grid.gen_q_kvar})
    for name in ("load_kw", "load_kvar"):
        _save(out / "energy" / f"{name}.csv", {str(k): col for k, col in enumerate(getattr(energy, name).T)})
    _save(out / "energy" / "pv.csv", {"bus": bus[energy.pv_bus], "kwp": energy.pv_kwp})
    _save(out / "energy" / "pv_profile.csv", {"pu": energy.pv_profile_pu})
    _save(
        out / "energy" / "batteries.csv",
        {
            "bus": bus[energy.battery_bus],
            "kwh": energy.battery_kwh,
            "kw": energy.battery_kw,
            "soc0": energy.battery_soc0,
        },
    )
    _save(
        out / "energy" / "chargers.csv",
        {"bus": bus[energy.charger_bus], "kw": energy.charger_kw, "kind": energy.charger_kind},
    )
    _save(
        out / "energy" / "ev_sessions.csv",
        {
            "charger": energy.ev_charger,
            "arrival_slot": energy.ev_arrival_slot,
            "departure_slot": energy.ev_departure_slot,
            "energy_kwh": energy.ev_energy_kwh,
            "max_kw": energy.ev_max_kw,
        },
    )
    _save(out / "fleet" / "depots.csv", {"node": node[fleet.depot_node]})
    _save(
        out / "fleet" / "vehicles.csv",
        {
            "depot": fleet.vehicle_depot,
            "seats": fleet.vehicle_seats,
            "battery_kwh": fleet.vehicle_battery_kwh,
            "kwh_per_km": fleet.vehicle_kwh_per_km,
            "soc0": fleet.vehicle_soc0,
        },
    )
    _save(
        out / "fleet" / "chargers.csv",
        {"node": node[fleet.charger_node], "kw": fleet.charger_kw, "bus": bus[fleet.charger_bus]},
    )
    r = district.requests
    _save(
        out / "requests.csv",
        {
            "time_s": r.time_s,
            "origin": node[r.origin],
            "destination": node[r.destination],
            "passengers": r.passengers,
            **{k: getattr(r, k) for k in REQUEST_COLUMNS},
        },
    )
    ids = [x.id for x in district.intersections]
    lines = [
        f"name = {_toml(district.name)}",
        "assumptions = [" + "".join(f"\n    {_toml(a)}," for a in district.assumptions) + "\n]",
        '\n[network]\nnodes = "network/nodes.csv"\nlinks = "network/links.csv"',
        f'\n[signals]\nperiods = {_toml(list(district.periods))}\ntables = "signals"',
        f'\n[grid]\ntables = "grid"\nslack_bus = {_toml(str(bus[grid.slack_bus]))}',
        f"slack_vm_pu = {_toml(grid.slack_vm_pu)}\nslack_va_degree = {_toml(grid.slack_va_degree)}",
        f'\n[energy]\ntables = "energy"\nslot_h = {_toml(energy.slot_h)}',
        '\n[fleet]\ntables = "fleet"',
        '\n[requests]\nfile = "requests.csv"',
        "\n[corridors]",
        *(f"{_toml(name)} = {_toml([ids[i] for i in members])}" for name, members in district.corridors.items()),
        "\n[facts]",
        *(f"{_toml(k)} = {_toml(float(v))}" for k, v in district.facts.items()),
    ]
    text = "\n".join(lines) + "\n"
    (out / "district.toml").write_text(text, encoding="utf-8")
    return out / "district.toml"


LINE_COLUMNS = ("length_km", "r_ohm_per_km", "x_ohm_per_km", "b_us_per_km", "max_i_ka")
TRAFO_COLUMNS = (
    "sn_kva",
    "vk_percent",
    "vkr_percent",
    "pfe_kw",
    "vn_hv_kv",
    "vn_lv_kv",
    "tap_ratio",
    "tap_side",
    "shift_degree",
    "i0_percent",
)
REQUEST_COLUMNS = ("max_wait_s", "max_detour", "max_detour_s", "pickup_earliest_s", "dropoff_latest_s")
STAGE_COLUMNS = ("min_green_s", "max_green_s", "yellow_s", "all_red_s", "ped_min_green_s")


class _Files:
    """Reads the config's tables: paths relative to it, required columns, numbers checked."""

    def __init__(self, root: Path, spec: Mapping[str, Any]) -> None:
        self.root, self.spec = root, spec

    def path(self, section: str, name: str) -> Path:
        s = self.spec[section]
        if "tables" in s:
            return self.root / str(s["tables"]) / name
        if name not in s:
            raise ValueError(f"[{section}] must name its tables folder (tables = ...) or the file {name!r}")
        return self.root / str(s[name])

    def table(self, section: str, name: str, columns: Sequence[str]) -> pd.DataFrame:
        import pandas as pd

        p = existing_file(self.path(section, name))
        df = pd.read_csv(p, keep_default_na=False, na_values=[""], float_precision="round_trip", dtype=str)
        missing = [c for c in columns if c not in df.columns]
        if missing:
            raise ValueError(f"{p.name}: missing column(s) {', '.join(missing)} (has {', '.join(df.columns)})")
        df.attrs["file"] = p.name
        return df


def _numbers(df: pd.DataFrame, column: str, dtype: type = float) -> np.ndarray[Any, Any]:
    """A numeric column; ValueError naming file, column and row for text or a unit mistake."""
    text = df[column].astype(str).to_numpy()
    try:
        values: np.ndarray[Any, Any] = text.astype(float)  # correctly rounded: %.17g reads back bit for bit
    except ValueError:
        for row, v in enumerate(text):
            try:
                float(v)
            except ValueError:
                raise ValueError(f"{df.attrs['file']}: column {column!r}, row {row}: {v!r} is not a number") from None
        raise
    ending = max((e for e in RANGES if column.endswith(e)), key=len, default=None)  # p_kw before kw
    if ending is not None:
        lo, hi, unit = RANGES[ending]
        out = np.isfinite(values) & ((values < lo) | (values > hi))
        if out.any():
            row = int(np.flatnonzero(out)[0])
            raise ValueError(
                f"{df.attrs['file']}: column {column!r}, row {row}: {values[row]:g} is outside [{lo:g}, {hi:g}]; "
                f"{unit} (a unit mistake?)"
            )
    if dtype is int:
        if (~np.isfinite(values) | (values != np.round(values))).any():
            row = int(np.flatnonzero(~np.isfinite(values) | (values != np.round(values)))[0])
            raise ValueError(f"{df.attrs['file']}: column {column!r}, row {row}: {values[row]!r} is not an integer")
        return values.astype(np.int64)
    return values


def _ids(df: pd.DataFrame, column: str, known: Sequence[str] | np.ndarray[Any, Any], what: str) -> np.ndarray[Any, Any]:
    """The positions of a column's ids among ``known``; ValueError naming the unknown one."""
    return id_positions(
        df[column], known, lambda row, v: f"{df.attrs['file']}: column {column!r}, row {row}: {v!r} is not a {what}"
    )


def _network(files: _Files) -> RoadNetwork:
    s = files.spec["network"]
    if "sumo" in s:
        return read_sumo(files.root / str(s["sumo"]))
    for key in ("nodes", "links"):
        if key not in s:
            raise ValueError(f"[network] needs nodes and links CSV files (or sumo = a .net.xml file); {key} is missing")
    net = read_csv(files.root / str(s["nodes"]), files.root / str(s["links"]))
    fastest = float(net.link_speed_mps.max(initial=0.0))
    if fastest > MAX_SPEED_MPS:
        raise ValueError(f"{s['links']}: a speed_mps of {fastest:g}; speeds are in m/s (km/h by mistake?)")
    return net


def _by_intersection(df: pd.DataFrame, ids: Sequence[str]) -> dict[str, pd.DataFrame]:
    groups = {str(k): g for k, g in df.groupby("intersection", sort=False)}
    unknown = set(groups) - set(ids)
    if unknown:
        raise ValueError(f"{df.attrs['file']}: intersection {sorted(unknown)[0]!r} is not in intersections.csv")
    for g in groups.values():
        g.attrs["file"] = df.attrs["file"]
    return groups


def _intersections(files: _Files, net: RoadNetwork, periods: tuple[str, ...]) -> tuple[Intersection, ...]:
    heads = files.table("signals", "intersections.csv", ["id", "node", "cycle_min_s", "cycle_max_s"])
    ids = heads["id"].astype(str).tolist()
    volume = [f"volume_vph_{p}" for p in periods]
    tables = {
        "approaches": files.table("signals", "approaches.csv", ["intersection", "link", "crossing_length_m"]),
        "lane_groups": files.table(
            "signals", "lane_groups.csv", ["intersection", "approach", "lanes", "saturation_flow_vph"]
        ),
        "movements": files.table(
            "signals", "movements.csv", ["intersection", "lane_group", "out_link", "turn", *volume]
        ),
        "stages": files.table("signals", "stages.csv", ["intersection", "movements", *STAGE_COLUMNS]),
    }
    parts = {name: _by_intersection(df, ids) for name, df in tables.items()}
    nodes = _ids(heads, "node", net.node_ids, "node id of the network")
    cycle_min, cycle_max = _numbers(heads, "cycle_min_s"), _numbers(heads, "cycle_max_s")
    out = []
    for k, xid in enumerate(ids):
        got = {name: part.get(xid) for name, part in parts.items()}
        lacking = [name for name, g in got.items() if g is None]
        if lacking:
            raise ValueError(f"intersection {xid!r} has no rows in {lacking[0]}.csv")
        a, g, m, s = got["approaches"], got["lane_groups"], got["movements"], got["stages"]
        assert a is not None and g is not None and m is not None and s is not None
        out.append(
            Intersection(
                id=xid,
                node=int(nodes[k]),
                approach_link=_ids(a, "link", net.link_ids, "link id of the network"),
                crossing_length_m=_numbers(a, "crossing_length_m"),
                lane_group_approach=_numbers(g, "approach", int),
                lane_group_lanes=_numbers(g, "lanes", int),
                saturation_flow_vph=_numbers(g, "saturation_flow_vph"),
                movement_lane_group=_numbers(m, "lane_group", int),
                movement_out_link=_ids(m, "out_link", net.link_ids, "link id of the network"),
                movement_turn=m["turn"].astype(str).to_numpy(),
                volume_vph=np.stack([_numbers(m, c) for c in volume]),
                stage_movements=tuple(
                    np.array([int(v) for v in str(t).split()], dtype=np.int64) for t in s["movements"]
                ),
                **{c: _numbers(s, c) for c in STAGE_COLUMNS},
                cycle_min_s=float(cycle_min[k]),
                cycle_max_s=float(cycle_max[k]),
            )
        )
    return tuple(out)


def _sumo_signals(
    files: _Files, net: RoadNetwork, periods: tuple[str, ...]
) -> tuple[tuple[Intersection, ...], tuple[TrafficDemand, ...]]:
    """The traffic lights of the SUMO network (its tlLogic programs) with turning volumes from the
    route file's vehicles departing in each period's window (``windows_s``)."""
    from smartopt.signals.sumo import read_sumo_demand, read_sumo_signals

    s, net_file = files.spec["signals"], files.spec["network"].get("sumo")
    if net_file is None:
        raise ValueError("[signals] sumo_routes needs the network from SUMO too ([network] sumo = a .net.xml file)")
    windows = s.get("windows_s", {})
    missing = [p for p in periods if p not in windows]
    if missing:
        raise ValueError(
            f"[signals] windows_s must give [begin, end] (s) of the route file for each period; {missing[0]!r} has none"
        )
    routes = existing_file(files.root / str(s["sumo_routes"]))
    per_period = [
        read_sumo_signals(files.root / str(net_file), routes, begin=float(windows[p][0]), end=float(windows[p][1]))
        for p in periods
    ]
    first = per_period[0].intersections
    lights = tuple(
        replace(x, volume_vph=np.vstack([sig.intersections[i].volume_vph[0] for sig in per_period]))
        for i, x in enumerate(first)
    )
    demand = tuple(read_sumo_demand(net, routes, begin=float(windows[p][0]), end=float(windows[p][1])) for p in periods)
    return lights, demand


def _write_intersections(district: District, out: Path) -> None:
    link = district.network.link_ids
    xs = district.intersections
    _save(
        out / "intersections.csv",
        {
            "id": [x.id for x in xs],
            "node": district.network.node_ids[[x.node for x in xs]],
            "cycle_min_s": [x.cycle_min_s for x in xs],
            "cycle_max_s": [x.cycle_max_s for x in xs],
        },
    )

    def cat(f: Any) -> np.ndarray[Any, Any]:
        return np.concatenate([np.asarray(f(x)) for x in xs])

    _save(
        out / "approaches.csv",
        {
            "intersection": [x.id for x in xs for _ in x.approach_link],
            "link": cat(lambda x: link[x.approach_link]),
            "crossing_length_m": cat(lambda x: x.crossing_length_m),
        },
    )
    _save(
        out / "lane_groups.csv",
        {
            "intersection": [x.id for x in xs for _ in x.lane_group_lanes],
            "approach": cat(lambda x: x.lane_group_approach),
            "lanes": cat(lambda x: x.lane_group_lanes),
            "saturation_flow_vph": cat(lambda x: x.saturation_flow_vph),
        },
    )
    _save(
        out / "movements.csv",
        {
            "intersection": [x.id for x in xs for _ in x.movement_turn],
            "lane_group": cat(lambda x: x.movement_lane_group),
            "out_link": cat(lambda x: link[x.movement_out_link]),
            "turn": cat(lambda x: x.movement_turn),
            **{f"volume_vph_{p}": cat(lambda x, k=k: x.volume_vph[k]) for k, p in enumerate(district.periods)},
        },
    )
    _save(
        out / "stages.csv",
        {
            "intersection": [x.id for x in xs for _ in x.stage_movements],
            "movements": [" ".join(map(str, s.tolist())) for x in xs for s in x.stage_movements],
            **{c: cat(lambda x, c=c: getattr(x, c)) for c in STAGE_COLUMNS},
        },
    )


def _traffic(files: _Files, net: RoadNetwork, period: str) -> TrafficDemand:
    entries = files.table("signals", f"entries_{period}.csv", ["link", "entry_vph"])
    turns = files.table("signals", f"turns_{period}.csv", ["in_link", "out_link", "vph"])
    entry = np.zeros(net.num_links)
    entry[_ids(entries, "link", net.link_ids, "link id of the network")] = _numbers(entries, "entry_vph")
    return TrafficDemand(
        entry_vph=entry,
        turn_in_link=_ids(turns, "in_link", net.link_ids, "link id of the network"),
        turn_out_link=_ids(turns, "out_link", net.link_ids, "link id of the network"),
        turn_vph=_numbers(turns, "vph"),
    )


def _grid(files: _Files) -> Grid:
    s = files.spec["grid"]
    if "pandapower" in s:
        import pandapower as pp

        return Grid.from_pandapower(pp.from_json(str(existing_file(files.root / str(s["pandapower"])))))
    buses = files.table("grid", "buses.csv", ["name", "vn_kv"])
    name = buses["name"].astype(str).to_numpy()
    lines = files.table("grid", "lines.csv", ["from_bus", "to_bus", *LINE_COLUMNS])
    trafos = files.table("grid", "trafos.csv", ["hv_bus", "lv_bus", *TRAFO_COLUMNS])
    switches = files.table("grid", "switches.csv", ["bus_a", "bus_b"])
    loads = files.table("grid", "loads.csv", ["bus", "p_kw", "q_kvar"])
    gens = files.table("grid", "gens.csv", ["bus", "p_kw", "q_kvar"])
    has_xy = {"x_m", "y_m"} <= set(buses.columns)
    slack = str(s.get("slack_bus", name[0]))
    if slack not in name:
        raise ValueError(f"[grid] slack_bus = {slack!r} is not a bus name in buses.csv")
    return Grid(
        bus_vn_kv=_numbers(buses, "vn_kv"),
        bus_name=name,
        bus_xy=np.column_stack([_numbers(buses, "x_m"), _numbers(buses, "y_m")]) if has_xy else None,
        line_from=_ids(lines, "from_bus", name, "bus name"),
        line_to=_ids(lines, "to_bus", name, "bus name"),
        **{f"line_{c}": _numbers(lines, c) for c in LINE_COLUMNS},
        trafo_hv_bus=_ids(trafos, "hv_bus", name, "bus name"),
        trafo_lv_bus=_ids(trafos, "lv_bus", name, "bus name"),
        **{
            f"trafo_{c}": (trafos[c].astype(str).to_numpy() if c == "tap_side" else _numbers(trafos, c))
            for c in TRAFO_COLUMNS
        },
        switch_bus_a=_ids(switches, "bus_a", name, "bus name"),
        switch_bus_b=_ids(switches, "bus_b", name, "bus name"),
        load_bus=_ids(loads, "bus", name, "bus name"),
        load_p_kw=_numbers(loads, "p_kw"),
        load_q_kvar=_numbers(loads, "q_kvar"),
        gen_bus=_ids(gens, "bus", name, "bus name"),
        gen_p_kw=_numbers(gens, "p_kw"),
        gen_q_kvar=_numbers(gens, "q_kvar"),
        slack_bus=int(np.flatnonzero(name == slack)[0]),
        slack_vm_pu=float(s.get("slack_vm_pu", 1.0)),
        slack_va_degree=float(s.get("slack_va_degree", 0.0)),
    )


def _energy(files: _Files, grid: Grid) -> EnergyDay:
    name = grid.bus_name
    slot_h = files.spec["energy"].get("slot_h")
    if not isinstance(slot_h, int | float) or not 0 < slot_h <= 1:
        raise ValueError(f"[energy] slot_h must be the slot length in hours, at most 1 (0.25: 15 min), got {slot_h!r}")

    def series(file: str) -> np.ndarray[Any, Any]:
        df = files.table("energy", file, [])
        if df.shape[1] != grid.num_loads:
            raise ValueError(f"{file}: {df.shape[1]} columns, one per grid load expected ({grid.num_loads})")
        return np.column_stack([_numbers(df, c) for c in df.columns]) if len(df.columns) else np.zeros((len(df), 0))

    load_kw = series("load_kw.csv")
    if np.nanmax(np.abs(load_kw), initial=0.0) > RANGES["p_kw"][1]:
        raise ValueError("load_kw.csv: a load over 100 MW; powers are in kW (a unit mistake?)")
    kinds = {}
    if "tables" in files.spec["grid"]:  # a pandapower grid has no load kinds: all residential
        loads = files.table("grid", "loads.csv", ["bus"])
        if "kind" in loads.columns:
            kinds = {"load_kind": loads["kind"].astype(str).to_numpy()}
    pv = files.table("energy", "pv.csv", ["bus", "kwp"])
    profile = files.table("energy", "pv_profile.csv", ["pu"])
    bat = files.table("energy", "batteries.csv", ["bus", "kwh", "kw", "soc0"])
    ch = files.table("energy", "chargers.csv", ["bus", "kw", "kind"])
    ev = files.table("energy", "ev_sessions.csv", ["charger", "arrival_slot", "departure_slot", "energy_kwh", "max_kw"])
    return EnergyDay(
        grid=grid,
        slot_h=float(slot_h),
        load_kw=load_kw,
        load_kvar=series("load_kvar.csv"),
        **kinds,
        pv_bus=_ids(pv, "bus", name, "bus name"),
        pv_kwp=_numbers(pv, "kwp"),
        pv_profile_pu=_numbers(profile, "pu"),
        battery_bus=_ids(bat, "bus", name, "bus name"),
        battery_kwh=_numbers(bat, "kwh"),
        battery_kw=_numbers(bat, "kw"),
        battery_soc0=_numbers(bat, "soc0"),
        charger_bus=_ids(ch, "bus", name, "bus name"),
        charger_kw=_numbers(ch, "kw"),
        charger_kind=ch["kind"].astype(str).to_numpy(),
        ev_charger=_numbers(ev, "charger", int),
        ev_arrival_slot=_numbers(ev, "arrival_slot", int),
        ev_departure_slot=_numbers(ev, "departure_slot", int),
        ev_energy_kwh=_numbers(ev, "energy_kwh"),
        ev_max_kw=_numbers(ev, "max_kw"),
    )


def _fleet(files: _Files, net: RoadNetwork, grid: Grid) -> Fleet:
    depots = files.table("fleet", "depots.csv", ["node"])
    vehicles = files.table("fleet", "vehicles.csv", ["depot", "seats", "battery_kwh", "kwh_per_km", "soc0"])
    chargers = files.table("fleet", "chargers.csv", ["node", "kw", "bus"])
    return Fleet(
        num_nodes=net.num_nodes,
        depot_node=_ids(depots, "node", net.node_ids, "node id of the network"),
        vehicle_depot=_numbers(vehicles, "depot", int),
        vehicle_seats=_numbers(vehicles, "seats", int),
        vehicle_battery_kwh=_numbers(vehicles, "battery_kwh"),
        vehicle_kwh_per_km=_numbers(vehicles, "kwh_per_km"),
        vehicle_soc0=_numbers(vehicles, "soc0"),
        charger_node=_ids(chargers, "node", net.node_ids, "node id of the network"),
        charger_kw=_numbers(chargers, "kw"),
        charger_bus=_ids(chargers, "bus", grid.bus_name, "bus name"),
    )


def _requests(files: _Files, net: RoadNetwork) -> Requests:
    s = files.spec["requests"]
    if "file" not in s:
        raise ValueError("[requests] needs file = a CSV of ride requests")
    import pandas as pd

    p = existing_file(files.root / str(s["file"]))
    df = pd.read_csv(p, keep_default_na=False, na_values=[""], float_precision="round_trip", dtype=str)
    df.attrs["file"] = p.name
    missing = [c for c in ("time_s", "origin", "destination", "passengers") if c not in df.columns]
    if missing:
        raise ValueError(f"{p.name}: missing column(s) {', '.join(missing)}")
    optional = {c: _numbers(df, c) for c in REQUEST_COLUMNS if c in df.columns}
    return Requests(
        num_nodes=net.num_nodes,
        time_s=_numbers(df, "time_s"),
        origin=_ids(df, "origin", net.node_ids, "node id of the network"),
        destination=_ids(df, "destination", net.node_ids, "node id of the network"),
        passengers=_numbers(df, "passengers", int),
        **optional,
    )


def _save(path: Path, columns: Mapping[str, Any]) -> None:
    import pandas as pd

    pd.DataFrame({k: np.asarray(v) for k, v in columns.items()}).to_csv(path, index=False)  # shortest exact repr


def _toml(value: Any) -> str:
    """A TOML literal for a string, number or list of them."""
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return "inf" if value == math.inf else repr(float(value)) if isinstance(value, float) else str(value)
    return "[" + ", ".join(_toml(v) for v in value) + "]"
