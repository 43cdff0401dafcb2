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
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import numpy as np

from smartopt._files import existing_file, id_positions
from smartopt._validation import INT32_MAX
from smartopt.app.district import District, check_signal_hours
from smartopt.dispatch.model import Fleet, Requests
from smartopt.energy.assets import EnergyDay
from smartopt.energy.grid import Grid
from smartopt.energy.pandapower_io import grid_from_pandapower
from smartopt.network.io import LINK_COLUMNS as NETWORK_LINK_COLUMNS
from smartopt.network.io import NODE_COLUMNS, read_csv, read_sumo, write_csv
from smartopt.network.road import RoadNetwork
from smartopt.signals.model import TURNS, Intersection
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
    """The district a ``district.toml`` describes (paths relative to it), every table checked
    before any model is built. FileNotFoundError names a missing file; ValueError the file, the
    column and the line (as an editor counts them: the header is line 1) of a bad value.

    Examples:
        >>> import tempfile
        >>> from smartopt.app.config import export_scenario, load_district
        >>> from smartopt.datasets import sejong_5_1
        >>> config = export_scenario(sejong_5_1(), tempfile.mkdtemp())
        >>> load_district(config)
        District('Sejong 5-1 ... seed 0': 344 nodes, 47 signals, 100 buses, 30 shuttles, 2971 requests)
    """
    path = existing_file(config)
    with path.open("rb") as f:
        try:
            spec = tomllib.load(f)
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{path}: not valid TOML ({exc})") from None
        except UnicodeDecodeError:
            raise ValueError(f"{path}: not a UTF-8 text file (TOML is expected)") from None
    root = path.parent
    _check_spec(path, spec)
    files = _Files(root, spec)
    net = _network(files)
    periods = tuple(str(p) for p in spec["signals"].get("periods", ()))
    if not periods:
        raise ValueError(f"{path.name}: [signals] periods must list the analysis periods")
    if "hours" not in spec["signals"]:
        raise ValueError(
            f"{path.name}: [signals] hours is missing: the clock hours [start, end] each period's signal plan runs "
            "(hours = {} drives the dispatch at free flow all day)"
        )
    hours = check_signal_hours(spec["signals"]["hours"], periods, f"{path.name}: [signals] hours")
    peaks = tuple(spec["signals"].get("peaks", ()))
    unknown_peaks = [p for p in peaks if p not in periods]
    if unknown_peaks:
        raise ValueError(
            f"{path.name}: [signals] peaks: {unknown_peaks[0]!r} is not one of the periods {list(periods)}"
        )
    if "sumo_routes" in spec["signals"]:
        intersections, traffic = _sumo_signals(files, net, periods)
    else:
        intersections = _intersections(files, net, periods)
        traffic = tuple(_traffic(files, net, p) for p in periods)
    grid = _grid(files)
    energy = _energy(files, grid)
    fleet = _fleet(files, net, energy)
    requests = _requests(files, net, fleet)
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
        fleet=fleet,
        requests=requests,
        corridors=corridors,
        facts={str(k): float(v) for k, v in spec.get("facts", {}).items()},
        assumptions=tuple(str(a) for a in spec.get("assumptions", ())),
        signal_hours=hours,
        peak_periods=peaks,
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
            **_given(grid, "line_", LINE_ZERO_SEQUENCE),
        },
    )
    _save(
        out / "grid" / "trafos.csv",
        {
            "hv_bus": bus[grid.trafo_hv_bus],
            "lv_bus": bus[grid.trafo_lv_bus],
            **{k: getattr(grid, f"trafo_{k}") for k in TRAFO_COLUMNS},
            **_given(grid, "trafo_", TRAFO_ZERO_SEQUENCE),
        },
    )
    _save(out / "grid" / "switches.csv", {"bus_a": bus[grid.switch_bus_a], "bus_b": bus[grid.switch_bus_b]})
    _save(
        out / "grid" / "loads.csv",
        {
            "bus": bus[grid.load_bus],
            "p_kw": grid.load_p_kw,
            "q_kvar": grid.load_q_kvar,
            "kind": energy.load_kind,
            **_given(grid, "load_", ("phase",)),
        },
    )
    _save(
        out / "grid" / "gens.csv",
        {
            "bus": bus[grid.gen_bus],
            "p_kw": grid.gen_p_kw,
            "q_kvar": grid.gen_q_kvar,
            **_given(grid, "gen_", ("phase",)),
        },
    )
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
        "hours = {" + ", ".join(f"{_toml(p)} = {_toml(list(w))}" for p, w in district.signal_hours.items()) + "}",
        f"peaks = {_toml(list(district.peak_periods))}",
        f'\n[grid]\ntables = "grid"\nslack_bus = {_toml(str(bus[grid.slack_bus]))}',
        f"slack_vm_pu = {_toml(grid.slack_vm_pu)}\nslack_va_degree = {_toml(grid.slack_va_degree)}",
        *(f"{k} = {_toml(getattr(grid, k))}" for k in SLACK_SHORT_CIRCUIT if grid.slack_s_sc_mva is not None),
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
LINE_ZERO_SEQUENCE = ("r0_ohm_per_km", "x0_ohm_per_km", "b0_us_per_km")
"""Optional columns of ``lines.csv``: the zero sequence, for the unbalanced power flow."""
TRAFO_ZERO_SEQUENCE = ("vector_group", "vk0_percent", "vkr0_percent", "mag0_percent", "mag0_rx", "si0_hv_partial")
"""Optional columns of ``trafos.csv``: vector group and zero sequence, for the unbalanced power flow."""
SLACK_SHORT_CIRCUIT = ("slack_s_sc_mva", "slack_rx", "slack_x0x", "slack_r0x0")
"""Optional keys of ``[grid]``: the source's short-circuit data, for the unbalanced power flow."""
REQUEST_COLUMNS = ("max_wait_s", "max_detour", "max_detour_s", "pickup_earliest_s", "dropoff_latest_s")
STAGE_COLUMNS = ("min_green_s", "max_green_s", "yellow_s", "all_red_s", "ped_min_green_s")


_NUMBER_KEYS = ("slack_vm_pu", "slack_va_degree", "slot_h", *SLACK_SHORT_CIRCUIT)


def _given(grid: Grid, prefix: str, columns: Sequence[str]) -> dict[str, Any]:
    """The grid's optional ``prefix + column`` fields that it has (not None), by column."""
    return {c: getattr(grid, prefix + c) for c in columns if getattr(grid, prefix + c) is not None}


def _optional(df: pd.DataFrame, column: str) -> np.ndarray[Any, Any] | None:
    """An optional column: None where the table lacks it, text for ``vector_group`` and ``phase``,
    else numbers >= 0 (:func:`_numbers`)."""
    if column not in df.columns:
        return None
    if column in ("vector_group", "phase"):
        text: np.ndarray[Any, Any] = df[column].to_numpy(dtype=str)
        return text
    return _numbers(df, column, low=0)


def _check_spec(path: Path, spec: Mapping[str, Any]) -> None:
    """The shape of ``district.toml`` before any file is read: its sections are tables, ``periods``
    and ``assumptions`` lists of strings, ``corridors`` a table of lists of intersection ids,
    ``facts`` a table of numbers, ``name`` and file names strings. ValueError naming file and key."""

    def fail(key: str, what: str, value: Any) -> NoReturn:
        raise ValueError(f"{path}: {key} must be {what}, got {value!r}")

    def strings(key: str, value: Any) -> None:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            fail(key, "a list of strings", value)

    for section in ("network", "signals", "grid", "energy", "fleet", "requests"):
        if section not in spec:
            raise ValueError(f"{path.name}: missing the [{section}] section")
        if not isinstance(spec[section], dict):
            fail(section, "a table ([" + section + "])", spec[section])
        for key, value in spec[section].items():
            if key in _NUMBER_KEYS:
                if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                    fail(f"{section}.{key}", "a finite number", value)
            elif key in ("windows_s", "hours"):
                windows_ok = isinstance(value, dict) and all(
                    isinstance(w, list)
                    and len(w) == 2
                    and all(not isinstance(x, bool) and isinstance(x, int | float) and math.isfinite(x) for x in w)
                    for w in value.values()
                )
                if not windows_ok:
                    unit = "s" if key == "windows_s" else "h"
                    fail(f"{section}.{key}", f"a table of [begin, end] pairs ({unit}) per period", value)
            elif key not in ("periods", "peaks") and not isinstance(value, str):
                fail(f"{section}.{key}", "a string (a file or folder name)", value)
    for key in ("periods", "peaks"):
        if key in spec["signals"]:
            strings(f"signals.{key}", spec["signals"][key])
    if "name" in spec and not isinstance(spec["name"], str):
        fail("name", "a string", spec["name"])
    if "assumptions" in spec:
        strings("assumptions", spec["assumptions"])
    for table in ("corridors", "facts"):
        if table in spec and not isinstance(spec[table], dict):
            fail(table, f"a table ([{table}])", spec[table])
    for name, members in spec.get("corridors", {}).items():
        strings(f"corridors.{name}", members)
    for key, value in spec.get("facts", {}).items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            fail(f"facts.{key}", "a finite number", value)


class _Files:
    """Reads the config's tables: paths relative to it, required columns, the line of each row."""

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
        return _read_table(self.path(section, name), columns)


def _read_table(path: Path, columns: Sequence[str]) -> pd.DataFrame:
    """A CSV table as text cells, indexed by the line each row starts on as an editor counts them
    (the header is line 1; blank lines are skipped and counted); ``attrs["file"]`` is its path.
    ValueError for rows with more or fewer values than the header, or missing ``columns``."""
    import csv

    import pandas as pd

    p = existing_file(path)
    label = str(p)
    header: list[str] | None = None
    rows: list[list[str]] = []
    lines: list[int] = []
    start = 1
    try:
        with p.open(encoding="utf-8-sig", newline="") as f:
            reader = csv.reader(f)
            for record in reader:
                if not any(cell.strip() for cell in record):
                    pass
                elif header is None:
                    header = record
                    repeated = [c for k, c in enumerate(header) if c in header[:k]]
                    if repeated:
                        raise ValueError(f"{label}: line {start}: column {repeated[0]!r} appears twice in the header")
                elif len(record) != len(header):
                    raise ValueError(
                        f"{label}: line {start}: {len(record)} values, but the header names {len(header)} columns"
                    )
                else:
                    rows.append(record)
                    lines.append(start)
                start = reader.line_num + 1
    except UnicodeDecodeError:
        raise ValueError(f"{label}: not a UTF-8 text file (a CSV table is expected)") from None
    except csv.Error as exc:
        raise ValueError(f"{label}: line {start}: {exc}") from None
    names = header or []
    missing = [c for c in columns if c not in names]
    if missing:
        raise ValueError(f"{label}: missing column(s) {', '.join(missing)} (has {', '.join(names)})")
    df = pd.DataFrame(rows or None, columns=names, index=pd.Index(lines, dtype=np.int64), dtype=object)
    df.attrs["file"] = label
    return df


def _at(df: pd.DataFrame, column: str, pos: int) -> str:
    """Where row ``pos`` (0-based) of a column is: file, column and line as an editor shows it."""
    return f"{df.attrs['file']}: column {column!r}, line {df.index[pos]}"


def _cell(df: pd.DataFrame, column: str, pos: int) -> str:
    """The cell as written: numbers bare, anything else quoted."""
    text = str(df[column].iloc[pos])
    try:
        float(text)
    except ValueError:
        return repr(text)
    return text


def _fail(df: pd.DataFrame, column: str, pos: int, what: str) -> NoReturn:
    """ValueError naming file, column and line of row ``pos``, the value as written and ``what``."""
    raise ValueError(f"{_at(df, column, pos)}: {_cell(df, column, pos)} {what}")


def _reject(df: pd.DataFrame, column: str, bad: Any, what: str | Callable[[int], str]) -> None:
    """:func:`_fail` at the first row where ``bad`` holds (``what`` may depend on the row)."""
    flags = np.asarray(bad, dtype=bool)
    if flags.any():
        pos = int(np.flatnonzero(flags)[0])
        _fail(df, column, pos, what(pos) if callable(what) else what)


def _reject_rows(
    df: pd.DataFrame, column: str, rows: np.ndarray[Any, Any], bad: Any, what: str | Callable[[int], str]
) -> None:
    """:func:`_reject` for a subset of rows (positions ``rows``, ``bad`` per row of the subset)."""
    flags = np.zeros(len(df), dtype=bool)
    flags[rows[np.asarray(bad, dtype=bool)]] = True
    _reject(df, column, flags, what)


def _no_repeats(df: pd.DataFrame, column: str, keys: Sequence[Any], what: str) -> None:
    """ValueError at the first row whose key an earlier row already has, naming both lines."""
    seen: dict[Any, int] = {}
    for pos, key in enumerate(keys):
        if key in seen:
            raise ValueError(
                f"{_at(df, column, pos)}: {_cell(df, column, pos)} repeats {what} of line {df.index[seen[key]]}"
            )
        seen[key] = pos


def _numbers(
    df: pd.DataFrame,
    column: str,
    dtype: type = float,
    *,
    low: float | None = None,
    above: float | None = None,
    high: float | None = None,
    inf: bool = False,
) -> np.ndarray[Any, Any]:
    """A numeric column: finite numbers (``inf`` allows +inf), whole numbers for ``dtype=int``,
    ``>= low``, ``> above``, ``<= high``, and within the plausible range of its unit (``RANGES``).
    ValueError naming file, column and line of the first bad value."""
    text = df[column].to_numpy(dtype=str)
    try:
        values: np.ndarray[Any, Any] = text.astype(float)  # correctly rounded: %.17g reads back bit for bit
    except ValueError:
        for pos, v in enumerate(text.tolist()):
            try:
                float(v)
            except ValueError:
                what = "is empty; a number is needed" if not v.strip() else "is not a number"
                raise ValueError(f"{_at(df, column, pos)}: {v!r} {what}") from None
        raise
    finite = np.isfinite(values)
    _reject(df, column, ~(finite | (values == np.inf)) if inf else ~finite, "must be a finite number")
    if dtype is int:
        _reject(df, column, values != np.round(values), "must be a whole number")
        # Integers are stored as int32 downstream: past its range they would wrap.
        _reject(df, column, np.abs(values) > INT32_MAX, f"is out of range (at most {INT32_MAX})")
    if low is not None:
        _reject(df, column, values < low, f"must be >= {low:g}")
    if above is not None:
        _reject(df, column, values <= above, f"must be > {above:g}")
    if high is not None:
        _reject(df, column, values > high, f"must be <= {high:g}")
    ending = max((e for e in RANGES if column.endswith(e)), key=len, default=None)  # p_kw before kw
    if ending is not None:
        lo, hi, unit = RANGES[ending]
        _reject(
            df,
            column,
            np.isfinite(values) & ((values < lo) | (values > hi)),
            f"is outside [{lo:g}, {hi:g}]; {unit} (a unit mistake?)",
        )
    return values.astype(np.int64) if dtype is int else values


def _ids(df: pd.DataFrame, column: str, known: Sequence[str] | np.ndarray[Any, Any], what: str) -> np.ndarray[Any, Any]:
    """The positions of a column's ids among ``known``; ValueError naming the unknown one."""
    return id_positions(df[column], known, lambda pos, v: f"{_at(df, column, pos)}: {v!r} is not {what}")


def _rows(df: pd.DataFrame, column: str, count: int, what: str) -> np.ndarray[Any, Any]:
    """A column of 0-based row numbers of another table of ``count`` rows (``what``)."""
    rows = _numbers(df, column, int, low=0)
    _reject(df, column, rows >= count, f"is not a row of {what}: it has {count}, numbered from 0")
    return rows


@contextmanager
def _blame(where: str) -> Iterator[None]:
    """Prefixes a model constructor's ValueError with the file(s) it was built from."""
    try:
        yield
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None


def _network(files: _Files) -> RoadNetwork:
    s = files.spec["network"]
    if "sumo" in s:
        net = read_sumo(files.root / str(s["sumo"]))
        unreachable = _unreachable(net)
        if unreachable is not None:
            v, how = unreachable
            raise ValueError(f"{files.root / str(s['sumo'])}: junction {net.node_ids[v]!r} {how} {net.node_ids[0]!r}")
        return net
    for key in ("nodes", "links"):
        if key not in s:
            raise ValueError(f"[network] needs nodes and links CSV files (or sumo = a .net.xml file); {key} is missing")
    nodes = _read_table(files.root / str(s["nodes"]), NODE_COLUMNS)
    links = _read_table(files.root / str(s["links"]), NETWORK_LINK_COLUMNS)
    if len(nodes) == 0 or len(links) == 0:
        raise ValueError(f"{nodes.attrs['file'] if len(nodes) == 0 else links.attrs['file']}: no rows")
    ids = nodes["id"].to_numpy(dtype=str)
    _reject(nodes, "id", ids == "", "is empty; each node needs an id")
    _no_repeats(nodes, "id", ids.tolist(), "the id")
    for c in ("x_m", "y_m"):
        _numbers(nodes, c)
    if {"lon", "lat"} <= set(nodes.columns):
        _numbers(nodes, "lon", low=-180, high=180)
        _numbers(nodes, "lat", low=-90, high=90)
    what = f"a node id in {nodes.attrs['file']}"
    tail, head = _ids(links, "from", ids, what), _ids(links, "to", ids, what)
    _reject(links, "to", tail == head, "is also the link's from node (a self loop)")
    _no_repeats(links, "to", list(zip(tail.tolist(), head.tolist(), strict=True)), "the from and to nodes")
    if "id" in links.columns:
        _no_repeats(links, "id", links["id"].to_numpy(dtype=str).tolist(), "the id")
    _numbers(links, "length_m", above=0)
    speed = _numbers(links, "speed_mps", above=0)
    _reject(
        links,
        "speed_mps",
        speed > MAX_SPEED_MPS,
        f"is over {MAX_SPEED_MPS:g} m/s ({3.6 * MAX_SPEED_MPS:g} km/h); speeds are in m/s (km/h by mistake?)",
    )
    if "lanes" in links.columns:
        _numbers(links, "lanes", int, low=1)
    if "capacity_vph" in links.columns:
        _numbers(links, "capacity_vph", above=0)
    with _blame(f"{nodes.attrs['file']}, {links.attrs['file']}"):
        net = read_csv(files.root / str(s["nodes"]), files.root / str(s["links"]))
    unreachable = _unreachable(net)
    if unreachable is not None:
        v, how = unreachable
        _fail(nodes, "id", v, f"{how} node {net.node_ids[0]!r} (line 2) along the links of {links.attrs['file']}")
    return net


def _unreachable(net: RoadNetwork) -> tuple[int, str] | None:
    """A node that cannot reach the first node or be reached from it, and which; None when every
    node reaches every other (the shuttles' travel times need that)."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import breadth_first_order

    n = net.num_nodes
    graph = csr_matrix((np.ones(net.num_links), (net.link_tail, net.link_head)), shape=(n, n))
    for matrix, how in ((graph, "cannot be reached from"), (graph.T.tocsr(), "cannot reach")):
        seen = np.zeros(n, dtype=bool)
        seen[breadth_first_order(matrix, 0, directed=True, return_predecessors=False)] = True
        if not seen.all():
            return int(np.flatnonzero(~seen)[0]), how
    return None


SIGNAL_TABLES = ("approaches", "lane_groups", "movements", "stages")


def _by_intersection(df: pd.DataFrame, ids: np.ndarray[Any, Any], heads: str) -> dict[str, np.ndarray[Any, Any]]:
    """The positions of each intersection's rows in ``df``; ValueError for an unknown intersection."""
    column = df["intersection"].to_numpy(dtype=str)
    _reject(df, "intersection", ~np.isin(column, ids), f"is not an intersection id in {heads}")
    return {str(x): np.flatnonzero(column == x) for x in ids}


def _stage_lists(df: pd.DataFrame) -> list[np.ndarray[Any, Any]]:
    """The ``movements`` column of stages.csv: movement numbers separated by spaces."""
    out = []
    for pos, text in enumerate(df["movements"].to_numpy(dtype=str).tolist()):
        try:
            moves = np.array([int(v) for v in text.split()], dtype=np.int64)
        except ValueError:
            moves = np.array([-1])
        if (moves < 0).any():
            raise ValueError(
                f"{_at(df, 'movements', pos)}: {text!r} must be movement numbers (0, 1, ...) separated by spaces"
            )
        out.append(moves)
    return out


def _intersections(files: _Files, net: RoadNetwork, periods: tuple[str, ...]) -> tuple[Intersection, ...]:
    heads = files.table("signals", "intersections.csv", ["id", "node", "cycle_min_s", "cycle_max_s"])
    ids = heads["id"].to_numpy(dtype=str)
    _no_repeats(heads, "id", ids.tolist(), "the id")
    volume = [f"volume_vph_{p}" for p in periods]
    app = files.table("signals", "approaches.csv", ["intersection", "link", "crossing_length_m"])
    grp = files.table("signals", "lane_groups.csv", ["intersection", "approach", "lanes", "saturation_flow_vph"])
    mov = files.table("signals", "movements.csv", ["intersection", "lane_group", "out_link", "turn", *volume])
    stg = files.table("signals", "stages.csv", ["intersection", "movements", *STAGE_COLUMNS])
    tables = dict(zip(SIGNAL_TABLES, (app, grp, mov, stg), strict=True))
    rows = {name: _by_intersection(df, ids, heads.attrs["file"]) for name, df in tables.items()}
    nodes = _ids(heads, "node", net.node_ids, "a node id of the network")
    cycle_min = _numbers(heads, "cycle_min_s", above=0)
    cycle_max = _numbers(heads, "cycle_max_s", above=0)
    _reject(heads, "cycle_max_s", cycle_max < cycle_min, lambda k: f"is below cycle_min_s = {cycle_min[k]:g}")
    link_id = "a link id of the network"
    approach_link, crossing = _ids(app, "link", net.link_ids, link_id), _numbers(app, "crossing_length_m", low=0)
    group_approach = _numbers(grp, "approach", int, low=0)
    lanes, saturation = _numbers(grp, "lanes", int, low=1), _numbers(grp, "saturation_flow_vph", low=0)
    move_group, out_link = _numbers(mov, "lane_group", int, low=0), _ids(mov, "out_link", net.link_ids, link_id)
    turn = mov["turn"].to_numpy(dtype=str)
    _reject(mov, "turn", ~np.isin(turn, TURNS), f"is not a turn: {', '.join(TURNS)} (left, through, right, U-turn)")
    volumes = np.stack([_numbers(mov, c, low=0) for c in volume])
    stages = _stage_lists(stg)
    timing = {c: _numbers(stg, c, low=0) for c in STAGE_COLUMNS}
    for lower in ("min_green_s", "ped_min_green_s"):
        _reject(
            stg,
            lower,
            timing[lower] > timing["max_green_s"],
            lambda k: f"is over max_green_s = {timing['max_green_s'][k]:g}",
        )
    out = []
    for k, xid in enumerate(ids.tolist()):
        a, g, m, s = (rows[name][xid] for name in SIGNAL_TABLES)
        for name, r in zip(SIGNAL_TABLES, (a, g, m, s), strict=True):
            if r.size == 0:
                raise ValueError(
                    f"{_at(heads, 'id', k)}: intersection {xid!r} has no rows in {tables[name].attrs['file']}"
                )
        _reject_rows(
            grp,
            "approach",
            g,
            group_approach[g] >= a.size,
            f"is not an approach of {xid}: it has {a.size}, numbered from 0",
        )
        _reject_rows(
            mov,
            "lane_group",
            m,
            move_group[m] >= g.size,
            f"is not a lane group of {xid}: it has {g.size}, numbered from 0",
        )
        served = np.zeros(m.size, dtype=bool)
        for pos in s:
            if (stages[pos] >= m.size).any():
                _fail(
                    stg,
                    "movements",
                    int(pos),
                    f"names a movement {xid} does not have: it has {m.size}, numbered from 0",
                )
            served[stages[pos]] = True
        if not served.all():
            j = int(np.flatnonzero(~served)[0])
            raise ValueError(
                f"{_at(stg, 'movements', int(s[0]))}: no stage of {xid} gives green to its movement {j} "
                f"({mov.attrs['file']}, line {mov.index[m[j]]})"
            )
        group_volume = np.zeros((len(volume), g.size))
        np.add.at(group_volume.T, move_group[m], volumes[:, m].T)
        starved = (group_volume.max(axis=0) > 0) & (saturation[g] == 0)
        _reject_rows(grp, "saturation_flow_vph", g, starved, f"is 0, but movements of {xid} use this lane group")
        intergreen = timing["yellow_s"][s] + timing["all_red_s"][s]
        need = float((np.maximum(timing["min_green_s"][s], timing["ped_min_green_s"][s]) + intergreen).sum())
        if need > cycle_max[k] + 1e-9:
            _fail(
                heads,
                "cycle_max_s",
                k,
                f"s is less than the {need:g} s the minimum greens and intergreens of its stages need "
                f"({stg.attrs['file']})",
            )
        longest = float((timing["max_green_s"][s] + intergreen).sum())
        if longest < cycle_min[k] - 1e-9:
            _fail(
                heads,
                "cycle_min_s",
                k,
                f"s is more than the {longest:g} s the maximum greens and intergreens of its stages give "
                f"({stg.attrs['file']})",
            )
        with _blame(_at(heads, "id", k)):
            out.append(
                Intersection(
                    id=xid,
                    node=int(nodes[k]),
                    approach_link=approach_link[a],
                    crossing_length_m=crossing[a],
                    lane_group_approach=group_approach[g],
                    lane_group_lanes=lanes[g],
                    saturation_flow_vph=saturation[g],
                    movement_lane_group=move_group[m],
                    movement_out_link=out_link[m],
                    movement_turn=turn[m],
                    volume_vph=volumes[:, m],
                    stage_movements=tuple(stages[pos] for pos in s),
                    **{c: timing[c][s] for c in STAGE_COLUMNS},
                    cycle_min_s=float(cycle_min[k]),
                    cycle_max_s=float(cycle_max[k]),
                    periods=periods,
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
    lights = tuple(  # saturation flows depend on the volumes (permitted turns, shared lanes): the lowest of the periods
        replace(
            x,
            volume_vph=np.vstack([sig.intersections[i].volume_vph[0] for sig in per_period]),
            periods=periods,
            saturation_flow_vph=np.min([sig.intersections[i].saturation_flow_vph for sig in per_period], axis=0),
        )
        for i, x in enumerate(first)
    )
    demand = tuple(
        read_sumo_demand(
            net, routes, begin=float(windows[p][0]), end=float(windows[p][1]), net_xml=files.root / str(net_file)
        )
        for p in periods
    )
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
    link_id = "a link id of the network"
    links = _ids(entries, "link", net.link_ids, link_id)
    _no_repeats(entries, "link", links.tolist(), "the link")
    entry = np.zeros(net.num_links)
    entry[links] = _numbers(entries, "entry_vph", low=0)
    values = {
        "entry_vph": entry,
        "turn_in_link": _ids(turns, "in_link", net.link_ids, link_id),
        "turn_out_link": _ids(turns, "out_link", net.link_ids, link_id),
        "turn_vph": _numbers(turns, "vph", low=0),
    }
    with _blame(f"{entries.attrs['file']}, {turns.attrs['file']}"):
        return TrafficDemand(**values)


def _grid(files: _Files) -> Grid:
    s = files.spec["grid"]
    if "pandapower" in s:
        import pandapower as pp

        return grid_from_pandapower(pp.from_json(str(existing_file(files.root / str(s["pandapower"])))))
    buses = files.table("grid", "buses.csv", ["name", "vn_kv"])
    name = buses["name"].to_numpy(dtype=str)
    _no_repeats(buses, "name", name.tolist(), "the name")
    if len(buses) < 2:
        raise ValueError(f"{buses.attrs['file']}: {len(buses)} bus(es); a grid needs at least two")
    vn = _numbers(buses, "vn_kv", above=0)
    lines = files.table("grid", "lines.csv", ["from_bus", "to_bus", *LINE_COLUMNS])
    trafos = files.table("grid", "trafos.csv", ["hv_bus", "lv_bus", *TRAFO_COLUMNS])
    switches = files.table("grid", "switches.csv", ["bus_a", "bus_b"])
    loads = files.table("grid", "loads.csv", ["bus", "p_kw", "q_kvar"])
    gens = files.table("grid", "gens.csv", ["bus", "p_kw", "q_kvar"])
    bus = f"a bus name in {buses.attrs['file']}"
    has_xy = {"x_m", "y_m"} <= set(buses.columns)
    slack = str(s.get("slack_bus", name[0]))
    if slack not in name:
        raise ValueError(f"[grid] slack_bus = {slack!r} is not a bus name in {buses.attrs['file']}")
    line_from, line_to = _ids(lines, "from_bus", name, bus), _ids(lines, "to_bus", name, bus)
    line = {
        "length_km": _numbers(lines, "length_km", above=0),
        "r_ohm_per_km": _numbers(lines, "r_ohm_per_km", low=0),
        "x_ohm_per_km": _numbers(lines, "x_ohm_per_km", low=0),
        "b_us_per_km": _numbers(lines, "b_us_per_km", low=0),
        "max_i_ka": _numbers(lines, "max_i_ka", above=0),
    }
    _reject(lines, "x_ohm_per_km", (line["r_ohm_per_km"] == 0) & (line["x_ohm_per_km"] == 0), "with r_ohm_per_km 0 too")
    _reject(
        lines,
        "to_bus",
        vn[line_from] != vn[line_to],
        lambda k: (
            f"is a {vn[line_to[k]]:g} kV bus, from_bus a {vn[line_from[k]]:g} kV one: a line joins buses of one voltage"
        ),
    )
    hv, lv = _ids(trafos, "hv_bus", name, bus), _ids(trafos, "lv_bus", name, bus)
    trafo: dict[str, Any] = {c: _numbers(trafos, c, low=0) for c in ("vkr_percent", "pfe_kw", "i0_percent")} | {
        c: _numbers(trafos, c, above=0) for c in ("sn_kva", "vk_percent", "vn_hv_kv", "vn_lv_kv", "tap_ratio")
    }
    trafo["shift_degree"] = _numbers(trafos, "shift_degree")
    trafo["tap_side"] = trafos["tap_side"].to_numpy(dtype=str)
    _reject(trafos, "tap_side", ~np.isin(trafo["tap_side"], ["hv", "lv"]), "must be hv or lv")
    vk = trafo["vk_percent"]
    _reject(trafos, "vkr_percent", trafo["vkr_percent"] >= vk, lambda k: f"must be below vk_percent = {vk[k]:g}")
    _reject(
        trafos,
        "lv_bus",
        vn[hv] < vn[lv],
        lambda k: f"is a {vn[lv[k]]:g} kV bus, above hv_bus at {vn[hv[k]]:g} kV",
    )
    switch_a, switch_b = _ids(switches, "bus_a", name, bus), _ids(switches, "bus_b", name, bus)
    slack_bus = int(np.flatnonzero(name == slack)[0])
    branches = (
        (lines, "to_bus", line_from, line_to),
        (trafos, "lv_bus", hv, lv),
        (switches, "bus_b", switch_a, switch_b),
    )
    _connected(buses, slack_bus, branches)
    values: dict[str, Any] = {
        "bus_vn_kv": vn,
        "bus_name": name,
        "bus_xy": np.column_stack([_numbers(buses, "x_m"), _numbers(buses, "y_m")]) if has_xy else None,
        "line_from": line_from,
        "line_to": line_to,
        **{f"line_{c}": line[c] for c in LINE_COLUMNS},
        "trafo_hv_bus": hv,
        "trafo_lv_bus": lv,
        **{f"trafo_{c}": trafo[c] for c in TRAFO_COLUMNS},
        "switch_bus_a": switch_a,
        "switch_bus_b": switch_b,
        "load_bus": _ids(loads, "bus", name, bus),
        "load_p_kw": _numbers(loads, "p_kw"),
        "load_q_kvar": _numbers(loads, "q_kvar"),
        "gen_bus": _ids(gens, "bus", name, bus),
        "gen_p_kw": _numbers(gens, "p_kw"),
        "gen_q_kvar": _numbers(gens, "q_kvar"),
        "slack_bus": slack_bus,
        "slack_vm_pu": float(s.get("slack_vm_pu", 1.0)),
        "slack_va_degree": float(s.get("slack_va_degree", 0.0)),
        **{f"line_{c}": _optional(lines, c) for c in LINE_ZERO_SEQUENCE},
        **{f"trafo_{c}": _optional(trafos, c) for c in TRAFO_ZERO_SEQUENCE},
        "load_phase": _optional(loads, "phase"),
        "gen_phase": _optional(gens, "phase"),
        **{k: float(s[k]) for k in SLACK_SHORT_CIRCUIT if k in s},
    }
    with _blame(str(files.path("grid", "buses.csv").parent)):
        return Grid(**values)


def _connected(buses: pd.DataFrame, slack: int, branches: Sequence[tuple[pd.DataFrame, str, Any, Any]]) -> None:
    """ValueError at the first bus that no line, transformer or switch connects to the slack bus
    (loops are fine: the power flow closes them)."""
    name = buses["name"].to_numpy(dtype=str)
    parent = list(range(len(name)))

    def root(v: int) -> int:
        while parent[v] != v:
            parent[v] = parent[parent[v]]
            v = parent[v]
        return v

    for _, _, side_a, side_b in branches:
        for a, b in zip(side_a.tolist(), side_b.tolist(), strict=True):
            parent[root(a)] = root(b)
    islanded = [v for v in range(len(name)) if root(v) != root(slack)]
    if islanded:
        _fail(
            buses,
            "name",
            islanded[0],
            f"is connected to the slack bus {str(name[slack])!r} by no line, transformer or switch",
        )


def _energy(files: _Files, grid: Grid) -> EnergyDay:
    name = grid.bus_name
    slot_h = files.spec["energy"].get("slot_h")
    if not isinstance(slot_h, int | float) or not 0 < slot_h <= 1:
        raise ValueError(f"[energy] slot_h must be the slot length in hours, at most 1 (0.25: 15 min), got {slot_h!r}")
    bus = "a bus name of the grid"

    def series(file: str, rows: int | None) -> tuple[pd.DataFrame, np.ndarray[Any, Any]]:
        df = files.table("energy", file, [])
        label = df.attrs["file"]
        if df.shape[1] != grid.num_loads:
            raise ValueError(f"{label}: {df.shape[1]} columns, one per grid load expected ({grid.num_loads})")
        if len(df) == 0 or (rows is not None and len(df) != rows):
            raise ValueError(f"{label}: {len(df)} rows, one per time slot expected ({rows or 'at least one'})")
        values = np.zeros((len(df), 0))
        if len(df.columns):
            values = np.column_stack([_numbers(df, c) for c in df.columns])
            for j, c in enumerate(df.columns):
                _reject(
                    df,
                    c,
                    np.abs(values[:, j]) > RANGES["p_kw"][1],
                    "is over 100 MW; powers are in kW (a unit mistake?)",
                )
        return df, values

    load, load_kw = series("load_kw.csv", None)
    slots = len(load)
    _, load_kvar = series("load_kvar.csv", slots)
    kinds = {}
    if "tables" in files.spec["grid"]:  # a pandapower grid has no load kinds: all residential
        loads = files.table("grid", "loads.csv", ["bus"])
        if "kind" in loads.columns:
            kinds = {"load_kind": loads["kind"].to_numpy(dtype=str)}
    pv = files.table("energy", "pv.csv", ["bus", "kwp"])
    profile = files.table("energy", "pv_profile.csv", ["pu"])
    if len(profile) != slots:
        raise ValueError(f"{profile.attrs['file']}: {len(profile)} rows, one per time slot expected ({slots})")
    bat = files.table("energy", "batteries.csv", ["bus", "kwh", "kw", "soc0"])
    ch = files.table("energy", "chargers.csv", ["bus", "kw", "kind"])
    ev = files.table("energy", "ev_sessions.csv", ["charger", "arrival_slot", "departure_slot", "energy_kwh", "max_kw"])
    charger_kw = _numbers(ch, "kw", above=0)
    ev_charger = _rows(ev, "charger", len(ch), ch.attrs["file"])
    arrival = _numbers(ev, "arrival_slot", int, low=0)
    _reject(ev, "arrival_slot", arrival >= slots, f"is past the last slot of the day ({slots - 1})")
    departure = _numbers(ev, "departure_slot", int, high=slots)
    _reject(ev, "departure_slot", departure <= arrival, lambda k: f"must be after arrival_slot = {arrival[k]}")
    energy_kwh, max_kw = _numbers(ev, "energy_kwh", low=0), _numbers(ev, "max_kw", above=0)
    most = np.minimum(max_kw, charger_kw[ev_charger]) * (departure - arrival) * float(slot_h)
    _reject(
        ev,
        "energy_kwh",
        energy_kwh > most * (1 + 1e-9),
        lambda k: f"is more than the {most[k]:g} kWh the car can take while plugged in",
    )
    values: dict[str, Any] = {
        "grid": grid,
        "slot_h": float(slot_h),
        "load_kw": load_kw,
        "load_kvar": load_kvar,
        **kinds,
        "pv_bus": _ids(pv, "bus", name, bus),
        "pv_kwp": _numbers(pv, "kwp", low=0),
        "pv_profile_pu": _numbers(profile, "pu", low=0),
        "battery_bus": _ids(bat, "bus", name, bus),
        "battery_kwh": _numbers(bat, "kwh", above=0),
        "battery_kw": _numbers(bat, "kw", above=0),
        "battery_soc0": _numbers(bat, "soc0", low=0, high=1),
        "charger_bus": _ids(ch, "bus", name, bus),
        "charger_kw": charger_kw,
        "charger_kind": ch["kind"].to_numpy(dtype=str),
        "ev_charger": ev_charger,
        "ev_arrival_slot": arrival,
        "ev_departure_slot": departure,
        "ev_energy_kwh": energy_kwh,
        "ev_max_kw": max_kw,
    }
    with _blame(str(files.path("energy", "load_kw.csv").parent)):
        return EnergyDay(**values)


def _fleet(files: _Files, net: RoadNetwork, energy: EnergyDay) -> Fleet:
    depots = files.table("fleet", "depots.csv", ["node"])
    vehicles = files.table("fleet", "vehicles.csv", ["depot", "seats", "battery_kwh", "kwh_per_km", "soc0"])
    chargers = files.table("fleet", "chargers.csv", ["node", "kw", "bus"])
    if len(vehicles) == 0:
        raise ValueError(f"{vehicles.attrs['file']}: no vehicles; a fleet needs at least one")
    node = "a node id of the network"
    values: dict[str, Any] = {
        "num_nodes": net.num_nodes,
        "depot_node": _ids(depots, "node", net.node_ids, node),
        "vehicle_depot": _rows(vehicles, "depot", len(depots), depots.attrs["file"]),
        "vehicle_seats": _numbers(vehicles, "seats", int, low=1),
        "vehicle_battery_kwh": _numbers(vehicles, "battery_kwh", above=0, inf=True),
        "vehicle_kwh_per_km": _numbers(vehicles, "kwh_per_km", above=0),
        "vehicle_soc0": _numbers(vehicles, "soc0", low=0, high=1),
        "charger_node": _ids(chargers, "node", net.node_ids, node),
        "charger_kw": _numbers(chargers, "kw", above=0),
        "charger_bus": _ids(chargers, "bus", energy.grid.bus_name, "a bus name of the grid"),
    }
    depot = energy.charger_bus[energy.charger_kind == "depot"].tolist()
    for k, bus in enumerate(values["charger_bus"].tolist()):
        if bus not in depot:
            where = files.path("energy", "chargers.csv")
            _fail(
                chargers, "bus", k, f"has no charger of kind depot left in {where} (one per fleet charger at its bus)"
            )
        depot.remove(bus)
    with _blame(str(files.path("fleet", "vehicles.csv").parent)):
        return Fleet(**values)


REQUEST_RULES: dict[str, dict[str, Any]] = {
    "max_wait_s": {"low": 0, "inf": True},
    "max_detour": {"low": 0, "inf": True},
    "max_detour_s": {"low": 0, "inf": True},
    "pickup_earliest_s": {},
    "dropoff_latest_s": {"inf": True},
}
"""What the optional columns of the requests table may hold (keywords of ``_numbers``)."""


def _requests(files: _Files, net: RoadNetwork, fleet: Fleet) -> Requests:
    s = files.spec["requests"]
    if "file" not in s:
        raise ValueError("[requests] needs file = a CSV of ride requests")
    df = _read_table(files.root / str(s["file"]), ("time_s", "origin", "destination", "passengers"))
    time_s = _numbers(df, "time_s", low=0)
    _reject(
        df,
        "time_s",
        np.diff(time_s, prepend=-np.inf) < 0,
        lambda k: f"is earlier than the request before it (line {df.index[k - 1]}); requests are sorted by time",
    )
    node = "a node id of the network"
    origin, destination = _ids(df, "origin", net.node_ids, node), _ids(df, "destination", net.node_ids, node)
    _reject(df, "destination", origin == destination, "is the origin too")
    passengers = _numbers(df, "passengers", int, low=1)
    seats = int(fleet.vehicle_seats.max())
    vehicles = files.path("fleet", "vehicles.csv")
    _reject(df, "passengers", passengers > seats, f"is more than the {seats} seats of the largest vehicle ({vehicles})")
    optional = {c: _numbers(df, c, **rules) for c, rules in REQUEST_RULES.items() if c in df.columns}
    values: dict[str, Any] = {
        "num_nodes": net.num_nodes,
        "time_s": time_s,
        "origin": origin,
        "destination": destination,
        "passengers": passengers,
        **optional,
    }
    with _blame(df.attrs["file"]):
        return Requests(**values)


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
