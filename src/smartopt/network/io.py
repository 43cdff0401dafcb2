"""Readers and writers for road networks: SUMO ``.net.xml`` and a plain nodes/links CSV pair.

CSV format (one header row, comma separated):

- nodes: ``id, x_m, y_m`` and optionally ``lon, lat`` (degrees);
- links: ``from, to, length_m, speed_mps`` (node ids) and optionally ``id, lanes, capacity_vph,
  name, type``.
"""

from __future__ import annotations

import os
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from smartopt._files import existing_file, id_positions, xml_root
from smartopt._validation import IntArray
from smartopt.network.road import RoadNetwork

if TYPE_CHECKING:
    import pandas as pd

NODE_COLUMNS = ("id", "x_m", "y_m")
LINK_COLUMNS = ("from", "to", "length_m", "speed_mps")


def _read_table(path: str | os.PathLike[str], required: tuple[str, ...]) -> pd.DataFrame:
    import pandas as pd

    p = existing_file(path)
    try:
        df = pd.read_csv(
            p,
            dtype={"id": str, "from": str, "to": str, "name": str, "type": str},
            keep_default_na=False,
            float_precision="round_trip",  # the %.17g the writer uses reads back bit for bit
        )
    except UnicodeDecodeError as e:
        raise ValueError(f"{p.name}: not UTF-8 text (byte {e.start}: {e.reason})") from None
    except pd.errors.EmptyDataError:
        raise ValueError(f"{p.name}: the file is empty (no header)") from None
    except pd.errors.ParserError as e:
        raise ValueError(f"{p.name}: not a CSV table ({e})") from None
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise ValueError(f"{p.name}: missing column(s) {', '.join(missing)} (has {', '.join(map(str, df.columns))})")
    return df


def _numeric(df: pd.DataFrame, column: str, source: str) -> np.ndarray[Any, Any]:
    import pandas as pd

    values = pd.to_numeric(df[column], errors="coerce")
    bad = values.isna() & (df[column].astype(str) != "nan")
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise ValueError(f"{source}: column {column!r}, row {row}: {df[column].iloc[row]!r} is not a number")
    return np.asarray(values, dtype=float)


def _whole(df: pd.DataFrame, column: str, source: str) -> np.ndarray[Any, Any]:
    """A column of whole numbers that fit 32 bits (e.g. lanes): ``2.5`` or ``1e20`` is an error
    naming the file, column and row, never truncated or wrapped."""
    values = _numeric(df, column, source)
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(values) | (values != np.round(values)) | (np.abs(values) > 2**31 - 1)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{source}: column {column!r}, row {row}: {df[column].iloc[row]!r} is not a whole number "
            f"within +-{2**31 - 1}"
        )
    return values.astype(np.int64)


def read_csv(nodes_csv: str | os.PathLike[str], links_csv: str | os.PathLike[str]) -> RoadNetwork:
    """Reads a network from a nodes CSV and a links CSV (format in the module docstring)."""
    nodes = _read_table(nodes_csv, NODE_COLUMNS)
    links = _read_table(links_csv, LINK_COLUMNS)
    nname, lname = Path(nodes_csv).name, Path(links_csv).name
    ids = nodes["id"].astype(str).to_numpy()
    if np.unique(ids).size != ids.size:
        raise ValueError(f"{nname}: node ids must be unique")

    def lookup(column: str) -> np.ndarray[Any, Any]:
        return id_positions(
            links[column], ids, lambda row, v: f"{lname}: row {row}: {column}={v!r} is not a node id in {nname}"
        )

    has = links.columns.__contains__
    lonlat = None
    if "lon" in nodes.columns and "lat" in nodes.columns:
        lonlat = np.column_stack([_numeric(nodes, "lon", nname), _numeric(nodes, "lat", nname)])
    return RoadNetwork.from_arrays(
        np.column_stack([_numeric(nodes, "x_m", nname), _numeric(nodes, "y_m", nname)]),
        lookup("from"),
        lookup("to"),
        _numeric(links, "length_m", lname),
        _numeric(links, "speed_mps", lname),
        lanes=_whole(links, "lanes", lname) if has("lanes") else None,
        capacity_vph=_numeric(links, "capacity_vph", lname) if has("capacity_vph") else None,
        node_lonlat=lonlat,
        node_ids=ids,
        link_ids=links["id"].astype(str).to_numpy() if has("id") else None,
        link_name=links["name"].astype(str).to_numpy() if has("name") else None,
        link_type=links["type"].astype(str).to_numpy() if has("type") else None,
    )


def write_csv(net: RoadNetwork, nodes_csv: str | os.PathLike[str], links_csv: str | os.PathLike[str]) -> None:
    """Writes ``net`` as a nodes/links CSV pair that :func:`read_csv` reads back bit for bit."""
    import pandas as pd

    nodes = pd.DataFrame({"id": net.node_ids, "x_m": net.node_xy[:, 0], "y_m": net.node_xy[:, 1]})
    if net.node_lonlat is not None:
        nodes["lon"], nodes["lat"] = net.node_lonlat[:, 0], net.node_lonlat[:, 1]
    nodes.to_csv(nodes_csv, index=False, float_format="%.17g")
    net.to_frame().to_csv(links_csv, index=False, float_format="%.17g")


def _car_lane(lane: ET.Element) -> bool:
    allow = lane.get("allow")
    disallow = lane.get("disallow", "").split()
    if allow is not None and not {"passenger", "all"} & set(allow.split()):
        return False
    return "passenger" not in disallow and "all" not in disallow


def car_lanes(root: ET.Element) -> set[str]:
    """Ids of the lanes of normal edges that passenger cars may use in a SUMO ``<net>``."""
    return {
        lane.get("id", "")
        for e in root.iter("edge")
        if e.get("function", "normal") == "normal"
        for lane in e.iter("lane")
        if _car_lane(lane)
    }


def read_sumo_connections(net_xml: str | os.PathLike[str], network: RoadNetwork) -> tuple[IntArray, IntArray]:
    """The turns SUMO lets cars make, as link indices of ``network`` (read from the same file):
    ``(in_link, out_link)`` for every ``<connection>`` from a car lane of one link to a car lane of
    another (each pair once, sorted). Routes that follow these turns are routes SUMO can drive."""
    root = xml_root(Path(net_xml), "net")
    lanes = car_lanes(root)
    index = {str(e): k for k, e in enumerate(network.link_ids)}
    pairs = sorted(
        {
            (index[src], index[dst])
            for c in root.iter("connection")
            if (src := c.get("from", "")) in index
            and (dst := c.get("to", "")) in index
            and f"{src}_{c.get('fromLane', '0')}" in lanes
            and f"{dst}_{c.get('toLane', '0')}" in lanes
        }
    )
    arr = np.array(pairs, dtype=np.int32).reshape(-1, 2)
    return arr[:, 0].copy(), arr[:, 1].copy()


def read_sumo(net_xml: str | os.PathLike[str]) -> RoadNetwork:
    """Reads a SUMO network: junctions become nodes, normal edges with at least one lane open to
    passenger cars become links (length: mean lane length; speed: fastest car lane; lanes: car
    lanes; capacity: 1800 veh/h per lane). Internal edges, crossings and walking areas are
    skipped, and so are self loops (with a warning); parallel edges between the same junctions are
    all kept.
    """
    p = Path(net_xml)
    root = xml_root(p, "net")

    node_ids: list[str] = []
    xy: list[tuple[float, float]] = []
    for j in root.iter("junction"):
        if j.get("type") == "internal":
            continue
        node_ids.append(j.get("id", ""))
        xy.append((float(j.get("x", "nan")), float(j.get("y", "nan"))))
    index = {v: i for i, v in enumerate(node_ids)}

    rows: list[list[Any]] = []
    loops: list[str] = []
    for e in root.iter("edge"):
        if e.get("function") is not None and e.get("function") != "normal":
            continue
        lanes = [lane for lane in e.iter("lane") if _car_lane(lane)]
        if not lanes:
            continue
        eid, frm, to = e.get("id", ""), e.get("from", ""), e.get("to", "")
        for end in (frm, to):
            if end not in index:
                raise ValueError(f"{p.name}: edge {eid!r} refers to unknown junction {end!r}")
        if frm == to:
            loops.append(eid)
            continue
        length = float(np.mean([float(lane.get("length", "nan")) for lane in lanes]))
        speed = max(float(lane.get("speed", "nan")) for lane in lanes)
        rows.append([eid, index[frm], index[to], length, speed, len(lanes), e.get("name", ""), e.get("type", "")])
    if loops:
        warnings.warn(f"{p.name}: skipped {len(loops)} edge(s) that are self loops: {loops[:5]}", stacklevel=2)
    if not rows:
        raise ValueError(f"{p.name}: no edges open to passenger cars")
    cols = list(zip(*rows, strict=True))
    return RoadNetwork.from_arrays(
        np.array(xy, dtype=float),
        np.array(cols[1], dtype=np.int64),
        np.array(cols[2], dtype=np.int64),
        np.array(cols[3], dtype=float),
        np.array(cols[4], dtype=float),
        lanes=np.array(cols[5], dtype=np.int64),
        node_ids=np.array(node_ids),
        link_ids=np.array(cols[0]),
        link_name=np.array(cols[6]),
        link_type=np.array(cols[7]),
    )
