"""SUMO demand: the vehicles of route files departing in a window, as turning counts on a
:class:`RoadNetwork` read from the same SUMO net (vehicles with routes, trips and flows), weighted
by vehicle class in passenger car units; bicycles and pedestrians are counted per edge apart."""

from __future__ import annotations

import gzip
import os
import warnings
import xml.etree.ElementTree as ET
import zlib
from collections import OrderedDict, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias

import numpy as np

from smartopt._files import existing_file
from smartopt._validation import FloatArray, IntArray
from smartopt.network import RoadNetwork
from smartopt.network.io import read_sumo_connections
from smartopt.signals.model import MAX_FLOW_VPH
from smartopt.signals.traffic import TrafficDemand

RouteFiles: TypeAlias = str | os.PathLike[str] | Sequence[str | os.PathLike[str]]
"""One route file or several (SUMO's route and additional files: vehicles, types and routes)."""

MAX_FLOW_VEHICLES = 1e9
"""Largest ``number`` of a ``<flow>`` or ``repeat`` of a route (a guard against unit mistakes)."""
MAX_TIME_S = 1e9
"""Largest time (s, about 32 years) in a route file: beyond it a flow's departures can no longer be
placed to the millisecond (SUMO's time step)."""
FLOW_DEFAULT_END_S = 86400.0  # SUMO: a flow without end (and without number) lasts 24 hours

PCU = {
    **dict.fromkeys(
        ("passenger", "private", "taxi", "evehicle", "emergency", "authority", "vip", "hov", "delivery",
         "custom1", "custom2", "ignoring"),
        1.0,
    ),
    "truck": 1.5, "army": 1.5, "trailer": 2.3, "bus": 2.0, "coach": 2.0, "motorcycle": 0.4, "moped": 0.4,
}  # fmt: skip
"""Passenger car units of SUMO's road vehicle classes at traffic signals, after Kimber, McDonald &
Hounsell (1986), *The prediction of saturation flows for road junctions controlled by traffic
signals*, TRRL Research Report 67 (the values of TRANSYT and LinSig): cars and light vans 1.0,
medium goods vehicles (``truck``, ``army``) 1.5, heavy goods vehicles (``trailer``) 2.3, buses and
coaches 2.0, motorcycles and mopeds 0.4."""
WALKERS = {"pedestrian": "pedestrian", "wheelchair": "pedestrian", "bicycle": "bicycle", "scooter": "bicycle"}
"""Classes left out of vehicle demand and counted per edge instead (for crossings)."""
OFF_ROAD = frozenset(
    ("tram", "rail_urban", "rail", "rail_electric", "rail_fast", "subway", "ship", "aircraft", "drone",
     "container", "cable_car")
)  # fmt: skip
"""Classes on their own tracks (or none): counted, never road demand."""
DEFAULT_TYPES = {
    "DEFAULT_VEHTYPE": "passenger", "DEFAULT_PEDTYPE": "pedestrian", "DEFAULT_BIKETYPE": "bicycle",
    "DEFAULT_TAXITYPE": "taxi", "DEFAULT_RAILTYPE": "rail", "DEFAULT_CONTAINERTYPE": "container",
}  # fmt: skip
"""SUMO's built-in vehicle types (a route file may redefine them) and their classes."""
FLOWS = {
    "flow": ("vehsPerHour", "veh"),
    "personFlow": ("personsPerHour", "persons"),
    "containerFlow": ("containersPerHour", "containers"),
}
"""Elements that depart repeatedly: their hourly rate's attribute, and what departs."""
PERSON_STAGES = ("walk", "personTrip")  # a person's stages on foot (rides and stops are not walked)
UNTIMED = ("triggered", "containerTriggered", "split", "begin", "now")  # departures with no time in the file


def _xml_root(path: str | os.PathLike[str], tags: tuple[str, ...] | None) -> ET.Element:
    """The root element of an XML file, plain or gzip-compressed (SUMO reads both), checked to be
    one of ``tags`` (any when None); ``ValueError`` naming the file otherwise."""
    p = existing_file(path)
    with open(p, "rb") as f:
        packed = f.read(2) == b"\x1f\x8b"
    try:
        with gzip.open(p) if packed else open(p, "rb") as f:
            root = ET.parse(f).getroot()
    except (ET.ParseError, gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise ValueError(f"{p.name}: not valid XML ({exc})") from None
    if tags is not None and root.tag not in tags:
        raise ValueError(f"{p.name}: root element <{root.tag}>, expected <{'> or <'.join(tags)}>")
    return root


def _files(routes_xml: RouteFiles) -> list[Path]:
    """Route files as a list of paths (one path, or a sequence of them, each once: SUMO refuses a
    vehicle id loaded twice)."""
    if isinstance(routes_xml, (str, os.PathLike)):
        return [Path(routes_xml)]
    files = [Path(p) for p in routes_xml]
    if not files:
        raise ValueError("no route file given")
    seen: set[Path] = set()
    for f in files:
        if f.resolve() in seen:
            raise ValueError(f"{f.name}: the same route file is given twice")
        seen.add(f.resolve())
    return files


def _time(value: str, where: str) -> float:
    """A SUMO time: seconds, or ``[[d:]h:]m:s``, within :data:`MAX_TIME_S`; ``ValueError`` naming
    the element otherwise."""
    try:
        parts = [float(p) for p in value.split(":")]
    except ValueError:
        raise ValueError(f"{where}: {value!r} is not a time") from None
    if len(parts) > 4 or not all(np.isfinite(parts)):
        raise ValueError(f"{where}: {value!r} is not a time")
    t = float(sum(p * f for p, f in zip(parts[::-1], (1, 60, 3600, 86400), strict=False)))
    if abs(t) > MAX_TIME_S:
        raise ValueError(f"{where}: time {value!r} is out of range (at most {MAX_TIME_S:g} s)")
    return t


def _number(el: ET.Element, attr: str, where: str, default: float) -> float:
    """A finite number attribute (``default`` when absent); ``ValueError`` naming the element otherwise."""
    text = el.get(attr)
    if text is None:
        return default
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{where}: {attr}={text!r} is not a number") from None
    if not np.isfinite(value):
        raise ValueError(f"{where}: {attr}={text} is not a finite number")
    return value


def _whole(el: ET.Element, attr: str, where: str) -> float:
    """A count attribute: a whole number in ``[0, MAX_FLOW_VEHICLES]`` (0 when absent)."""
    text = el.get(attr)
    try:
        value = float(text or 0)
    except ValueError:
        raise ValueError(f"{where}: {attr}={text!r} is not a whole number") from None
    if not (0 <= value <= MAX_FLOW_VEHICLES and value == int(value)):
        raise ValueError(f"{where}: {attr}={text} must be a whole number in [0, {MAX_FLOW_VEHICLES:g}]")
    return value


def _flow_departures(flow: ET.Element, where: str) -> tuple[float, float, float, float, bool]:
    """A flow as ``(begin, end, headway s, most departures, random)``: departures at ``begin + i *
    headway`` before ``end`` and at most that many (``random``: a Poisson or per-second draw at
    the same mean rate, so the counts in a window are expectations)."""
    begin = _time(flow.get("begin", "0"), where)
    end_attr, number_attr = flow.get("end"), flow.get("number")
    number = _whole(flow, "number", where) if number_attr is not None else np.inf
    per_hour, unit = FLOWS.get(flow.tag, FLOWS["flow"])
    rates = [a for a in (per_hour, "period", "probability") if flow.get(a) is not None]
    if len(rates) > 1:
        raise ValueError(f"{where}: give one of {per_hour}, period and probability, not {' and '.join(rates)}")
    end = _time(end_attr, where) if end_attr is not None else np.inf
    if not rates:
        if number_attr is None:
            raise ValueError(f"{where}: a flow needs {per_hour}, period, probability or number")
        if end_attr is None:
            end = FLOW_DEFAULT_END_S
        if not end > begin:
            raise ValueError(f"{where}: end={end:g} must be after begin={begin:g}")
        headway = (end - begin) / number if number else np.inf
        if 3600.0 / headway > MAX_FLOW_VPH:
            raise ValueError(
                f"{where}: number={number_attr} from {begin:g} to {end:g} s is over {MAX_FLOW_VPH:g} {unit}/h"
            )
        return begin, end, headway, number, False
    if end_attr is None and number_attr is None:
        end = FLOW_DEFAULT_END_S
    attr = rates[0]
    text = flow.get(attr, "")
    random = attr == "probability" or text.startswith("exp(")
    try:
        value = float(text[4:-1] if text.startswith("exp(") and text.endswith(")") else text)
    except ValueError:
        raise ValueError(f"{where}: {attr}={text!r} is not a number") from None
    if attr == "probability" and not 0 < value <= 1:
        raise ValueError(f"{where}: probability={text} must be in (0, 1]")
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"{where}: {attr}={text} must be > 0")
    headway = 1.0 / value if attr == "probability" or text.startswith("exp(") else value
    if attr == per_hour:
        headway = 3600.0 / value
    if 3600.0 / headway > MAX_FLOW_VPH:
        raise ValueError(f"{where}: {attr}={text} is {3600.0 / headway:g} {unit}/h, over {MAX_FLOW_VPH:g} {unit}/h")
    return begin, end, headway, number, random


def _count_in(begin: float, end: float, headway: float, number: float, random: bool, lo: float, hi: float) -> float:
    """How many of a flow's departures fall in ``[lo, hi)`` (expected count when ``random``)."""
    if not np.isfinite(headway):
        return 0.0
    stop = min(end, begin + number * headway)  # departures are in [begin, stop)
    a, b = max(lo, begin), min(hi, stop)
    if not b > a:
        return 0.0
    if random:
        return (b - a) / headway
    first = max(0.0, np.ceil((a - begin) / headway - 1e-9))
    last = min(number, np.ceil((b - begin) / headway - 1e-9))
    return float(max(0.0, last - first))


@dataclass(frozen=True)
class SumoDemandSummary:
    """What departs in ``[begin_s, end_s)`` in route files: departures by SUMO vehicle class
    (expected counts for random flows and type distributions), road vehicles and their passenger
    car units (:data:`PCU`), and bicycles and pedestrians per SUMO edge they use (left out of
    vehicle demand; trips and flows count their from/via/to edges, persons their walks)."""

    files: tuple[str, ...]
    begin_s: float
    end_s: float
    departures: dict[str, float]
    vehicles: float
    pcu: float
    bicycles_on_edge: dict[str, float]
    pedestrians_on_edge: dict[str, float]
    left_out: dict[str, int]

    @property
    def bicycles(self) -> float:
        """Bicycles (and scooters) departing in the window."""
        return sum(v for k, v in self.departures.items() if WALKERS.get(k) == "bicycle")

    @property
    def pedestrians(self) -> float:
        """Persons (and wheelchairs) departing in the window."""
        return sum(v for k, v in self.departures.items() if WALKERS.get(k) == "pedestrian")

    def __str__(self) -> str:
        classes = ", ".join(f"{v:,.0f} {k}" for k, v in sorted(self.departures.items(), key=lambda kv: -kv[1]))
        left = "".join(f"; left out: {v} {k}" for k, v in self.left_out.items())
        return (
            f"{', '.join(self.files)}, [{self.begin_s:g}, {self.end_s:g}) s: {self.vehicles:,.0f} road vehicles "
            f"= {self.pcu:,.0f} PCU ({classes or 'nothing departs'}){left}"
        )


@dataclass(frozen=True)
class _VType:
    """A vehicle type or type distribution: its classes with their probabilities."""

    classes: tuple[tuple[str, float], ...]

    @property
    def pcu(self) -> float:
        """Expected passenger car units of one departure (0 for bicycles, persons, trains)."""
        return sum(p * PCU.get(c, 0.0) for c, p in self.classes)


@dataclass(frozen=True)
class _Departure:
    """Departures of one element in the window: their vehicle demand in PCU, and its routes
    (weight, edges, repeat), or None for a trip or flow to route."""

    el: ET.Element
    where: str
    pcu: float
    routes: list[tuple[float, list[str], float]] | None


class _Definitions:
    """The vehicle types, routes and route distributions of route files, shared among them (as in
    SUMO, a file may use what another defines)."""

    def __init__(self) -> None:
        self.types: dict[str, _VType] = {k: _VType(((c, 1.0),)) for k, c in DEFAULT_TYPES.items()}
        self.routes: dict[str, list[tuple[float, list[str], float]]] = {}  # id -> weighted (edges, repeat)

    def vtype(self, el: ET.Element, where: str) -> _VType:
        cls = el.get("vClass", "passenger")
        if cls not in PCU and cls not in WALKERS and cls not in OFF_ROAD:
            raise ValueError(f"{where}: vType {el.get('id')!r}: vClass={cls!r} is not a SUMO vehicle class")
        return _VType(((cls, 1.0),))

    def type_distribution(self, el: ET.Element, where: str) -> _VType:
        where = f"{where}: vTypeDistribution {el.get('id')!r}"
        members: list[tuple[_VType, float]] = []
        for t in el.findall("vType"):
            self.types[t.get("id", "")] = vt = self.vtype(t, where)
            members.append((vt, _number(t, "probability", where, 1.0)))
        refs = el.get("vTypes", "").split()
        probs = el.get("probabilities", "").split()
        if probs and len(probs) != len(refs):
            raise ValueError(f"{where}: {len(probs)} probabilities for {len(refs)} vTypes")
        for k, ref in enumerate(refs):
            if ref not in self.types:
                raise ValueError(f"{where}: vType {ref!r} is not defined")
            try:
                p = float(probs[k]) if probs else 1.0
            except ValueError:
                raise ValueError(f"{where}: probabilities={el.get('probabilities')!r} are not numbers") from None
            members.append((self.types[ref], p))
        if any(not (np.isfinite(p) and p >= 0) for _, p in members):
            raise ValueError(f"{where}: probabilities must be finite and >= 0")
        total = sum(p for _, p in members)
        if not total > 0:
            raise ValueError(f"{where}: no vType with probability > 0")
        mix: dict[str, float] = defaultdict(float)
        for vt, p in members:
            for c, q in vt.classes:
                mix[c] += q * p / total
        return _VType(tuple(mix.items()))

    def route(self, el: ET.Element, where: str) -> tuple[list[str], float]:
        edges = el.get("edges", "").split()
        if not edges:
            raise ValueError(f"{where}: route {el.get('id')!r} has no edges")
        return edges, _whole(el, "repeat", where)

    def distribution(self, el: ET.Element, where: str) -> list[tuple[float, list[str], float]]:
        where = f"{where}: routeDistribution {el.get('id')!r}"
        out: list[tuple[float, list[str], float]] = []
        for r in el.findall("route"):
            p = _number(r, "probability", where, 1.0)
            if p < 0:
                raise ValueError(f"{where}: probability={p:g} must be >= 0")
            ref = r.get("refId")
            if ref is not None:
                if ref not in self.routes:
                    raise ValueError(f"{where}: refers to unknown route {ref!r}")
                out += [(p * w, e, k) for w, e, k in self.routes[ref]]
            else:
                out.append((p, *self.route(r, where)))
                if r.get("id") is not None:
                    self.routes[r.get("id", "")] = [(1.0, *out[-1][1:])]
        total = sum(w for w, _, _ in out)
        if not total > 0:
            raise ValueError(f"{where}: has no route with probability > 0")
        return [(w / total, e, k) for w, e, k in out]

    def read(self, root: ET.Element, name: str) -> None:
        """Adds the top-level definitions of a file."""
        for el in root:
            if el.tag == "vType":
                self.types[el.get("id", "")] = self.vtype(el, name)
            elif el.tag == "vTypeDistribution":
                self.types[el.get("id", "")] = self.type_distribution(el, name)
            elif el.tag == "route" and el.get("id") is not None:
                self.routes[el.get("id", "")] = [(1.0, *self.route(el, name))]
            elif el.tag == "routeDistribution" and el.get("id") is not None:
                self.routes[el.get("id", "")] = self.distribution(el, name)


def _walked(el: ET.Element, defs: _Definitions, where: str) -> list[str]:
    """The edges a person walks (walks' edges or route, or the from/to of walks and person trips)."""
    edges: list[str] = []
    for stage in el:
        if stage.tag not in PERSON_STAGES:
            continue
        if stage.get("edges") is not None:
            edges += stage.get("edges", "").split()
        elif stage.get("route") is not None:
            ref = stage.get("route", "")
            if ref not in defs.routes:
                raise ValueError(f"{where}: {stage.tag} route {ref!r} is not defined")
            edges += defs.routes[ref][0][1]
        else:
            edges += [e for e in (stage.get("from"), stage.get("to")) if e is not None and e not in edges[-1:]]
    return edges


def _stated_edges(el: ET.Element) -> list[str]:
    """The edges a trip or flow names (from, via, to)."""
    return [e for e in (el.get("from"), *el.get("via", "").split(), el.get("to")) if e is not None]


def _departures(routes_xml: RouteFiles, begin: float, end: float) -> tuple[list[_Departure], SumoDemandSummary]:
    """The elements of route files departing in [begin, end) with their counts, vehicle demand
    (PCU) and routes, and the summary; ``ValueError`` when no road vehicle departs (saying what
    the files hold and when)."""
    files = _files(routes_xml)
    roots = [(_xml_root(p, ("routes", "additional")), p.name) for p in files]
    defs = _Definitions()
    for root, name in roots:
        defs.read(root, name)
    out: list[_Departure] = []
    departures: dict[str, float] = defaultdict(float)
    walkers: dict[str, dict[str, float]] = {"bicycle": defaultdict(float), "pedestrian": defaultdict(float)}
    tally: dict[str, int] = defaultdict(int)
    left_out: dict[str, int] = defaultdict(int)
    span = [np.inf, -np.inf]
    vehicles = pcu = 0.0
    for root, name in roots:
        for el in root:
            person = el.tag in ("person", "personFlow", "container", "containerFlow")
            if el.tag not in ("vehicle", "trip", "flow") and not person:
                continue
            where = f"{name}: {el.tag} {el.get('id')!r}"
            tally[f"<{el.tag}>"] += 1
            if el.tag in FLOWS:
                fb, fe, headway, number, random = _flow_departures(el, where)
                last = min(fe, fb + number * headway) if np.isfinite(headway) else fb
                span = [min(span[0], fb), max(span[1], last)]
                n = _count_in(fb, fe, headway, number, random, begin, end)
            else:
                depart = el.get("depart")
                if depart is None:
                    raise ValueError(f"{where}: no depart time")
                if depart in UNTIMED:
                    left_out[f"<{el.tag}> with depart={depart!r} (not timed)"] += 1
                    continue
                t = _time(depart, where)
                span = [min(span[0], t), max(span[1], t)]
                n = 1.0 if begin <= t < end else 0.0
            ref = el.get("type", "DEFAULT_PEDTYPE" if person else "DEFAULT_VEHTYPE")
            if ref not in defs.types:
                raise ValueError(f"{where}: type {ref!r} is not defined")
            if person:  # persons walk whatever their type; containers are carried
                if n == 0.0:
                    continue
                departures["container" if el.tag.startswith("container") else "pedestrian"] += n
                for e in _walked(el, defs, where) if el.tag.startswith("person") else ():
                    walkers["pedestrian"][e] += n
                continue
            routes: list[tuple[float, list[str], float]] | None = None
            inline, inline_dist = el.find("route"), el.find("routeDistribution")
            if inline is not None:
                routes = [(1.0, *defs.route(inline, where))]
            elif inline_dist is not None:
                routes = defs.distribution(inline_dist, where)
            elif el.get("route") is not None:
                if el.get("route") not in defs.routes:
                    raise ValueError(f"{where}: route {el.get('route')!r} is not defined in the files")
                routes = defs.routes[el.get("route", "")]
            if n == 0.0:
                continue
            vtype = defs.types[ref]
            for c, p in vtype.classes:
                departures[c] += n * p
            for kind in ("bicycle", "pedestrian"):
                share = n * sum(p for c, p in vtype.classes if WALKERS.get(c) == kind)
                if share > 0:
                    used = [e for _, r, _ in routes for e in r] if routes is not None else _stated_edges(el)
                    for e in dict.fromkeys(used):
                        walkers[kind][e] += share
            road = sum(p for c, p in vtype.classes if c in PCU)
            if road > 0:
                vehicles += n * road
                pcu += n * vtype.pcu
                out.append(_Departure(el, where, n * vtype.pcu, routes))
    names = tuple(p.name for p in files)
    summary = SumoDemandSummary(
        names, begin, end, dict(departures), vehicles, pcu, dict(walkers["bicycle"]), dict(walkers["pedestrian"]),
        dict(left_out),
    )  # fmt: skip
    if not out:
        held = ", ".join(f"{v} {k}" for k, v in {**tally, **left_out}.items()) or "no vehicle, trip or flow"
        times = f", departures between {span[0]:g} and {span[1]:g} s" if np.isfinite(span[0]) else ""
        others = "bicycles/pedestrians" if set(departures) <= {*WALKERS, "container"} else "vehicles off the road"
        kinds = ", ".join(f"{v:g} {k}" for k, v in departures.items())
        what = f"only {others} ({kinds}) depart" if departures else "no vehicle departs"
        hold = "the file holds" if len(names) == 1 else "the files hold"
        raise ValueError(f"{', '.join(names)}: {what} in [{begin:g}, {end:g}) s; {hold} {held}{times}")
    return out, summary


@dataclass(frozen=True)
class _Demand:
    """Road vehicles of route files by route (PCU): entries per edge and passes edge -> edge, and
    the summary of all departures (bicycles and pedestrians per edge among them)."""

    starts: dict[str, float]
    counts: dict[tuple[str, str], float]
    summary: SumoDemandSummary


@dataclass(frozen=True)
class _SumoNet:
    """What routing needs of a SUMO net beyond the network: its file (for the connections) and its
    normal edges, id -> (from junction, to junction)."""

    path: Path
    edges: dict[str, tuple[str, str]]


def _sumo_edges(net_xml: str | os.PathLike[str]) -> _SumoNet:
    """The normal edges of a SUMO net, and the file."""
    edges = {
        e.get("id", ""): (e.get("from", ""), e.get("to", ""))
        for e in _xml_root(net_xml, ("net",)).iter("edge")
        if e.get("function") in (None, "normal")
    }
    return _SumoNet(Path(net_xml), edges)


class _Router:
    """Edges of route elements checked against the network, and trips routed on its fastest paths
    at free-flow speeds. Given the SUMO net, paths turn only where its connections let cars turn
    (as SUMO routes at insertion), and edges that the network did not keep (no car lanes) are left
    out of routes (trips pass their junctions); without it, any turn between links is allowed."""

    TREE_BYTES = 64e6  # memory for the fastest-path trees kept (one per source link, 12 bytes per link)

    def __init__(self, network: RoadNetwork, sumo: _SumoNet | None) -> None:
        self.network = network
        self.index = {str(e): k for k, e in enumerate(network.link_ids)}
        self.nodes = {str(v): k for k, v in enumerate(network.node_ids)}
        self.sumo_edges = {} if sumo is None else sumo.edges
        self.turns = network.turns if sumo is None else read_sumo_connections(sumo.path, network)
        self.trees: OrderedDict[int, tuple[FloatArray, IntArray]] = OrderedDict()
        self.most_trees = max(16, int(self.TREE_BYTES / (12 * network.num_links)))
        self.unroutable: list[str] = []

    def edges(self, edges: list[str], where: str) -> list[str | None]:
        """The edges of a route, None for those the network did not keep."""
        out: list[str | None] = []
        for e in edges:
            if e in self.index:
                out.append(e)
            elif e in self.sumo_edges:
                out.append(None)
            else:
                raise ValueError(f"{where}: routes use edge {e!r}, which is not a road link of the network")
        return out

    def _tree(self, source: int) -> tuple[FloatArray, IntArray]:
        """Travel times (s) from the end of ``source`` to the end of every link, and the link before each."""
        if source in self.trees:
            self.trees.move_to_end(source)
        else:
            cost, pred = self.network.turn_tree([source], self.turns)
            self.trees[source] = (cost[0], pred[0])
            if len(self.trees) > self.most_trees:
                self.trees.popitem(last=False)
        return self.trees[source]

    def _links(self, kind: str, name: str, leaving: bool, where: str) -> list[int]:
        """The links a stop stands for: an edge's link, or the links leaving (or entering) a junction."""
        if kind == "edge":
            return [self.index[name]]
        if name not in self.nodes:
            raise ValueError(f"{where}: junction {name!r} is not a node of the network")
        ends = self.network.link_tail if leaving else self.network.link_head
        return [int(k) for k in np.flatnonzero(ends == self.nodes[name])]

    def _stops(self, el: ET.Element, where: str) -> list[tuple[str, str]]:
        """A trip's from, via and to as ("edge" | "node", id); edges the network left out become
        their two junctions."""
        if {el.get("from"), el.get("fromJunction")} == {None} or {el.get("to"), el.get("toJunction")} == {None}:
            raise ValueError(f"{where}: needs from (or fromJunction) and to (or toJunction), or a route")
        stops = [("node", el.get("fromJunction", "")) if el.get("fromJunction") is not None
                 else ("edge", el.get("from", ""))]  # fmt: skip
        stops += [("edge", e) for e in el.get("via", "").split()]
        stops.append(("node", el.get("toJunction", "")) if el.get("toJunction") is not None
                     else ("edge", el.get("to", "")))  # fmt: skip
        expanded: list[tuple[str, str]] = []
        for kind, name in stops:
            if kind == "node" or name in self.index:
                expanded.append((kind, name))
            elif name in self.sumo_edges:  # an edge the network left out: pass its junctions
                expanded += [("node", self.sumo_edges[name][0]), ("node", self.sumo_edges[name][1])]
            else:
                raise ValueError(f"{where}: routes use edge {name!r}, which is not a road link of the network")
        return expanded

    def trip(self, el: ET.Element, where: str) -> list[str | None] | None:
        """The fastest route through a trip's or flow's from/via/to (edges or junctions), or None
        when the network has none."""
        stops = self._stops(el, where)
        times = self.network.link_time_s
        # candidate routes so far: last link -> (time s, links); several only from a junction
        here = {k: (float(times[k]), [k]) for k in self._links(*stops[0], True, where)}
        for kind, name in stops[1:]:
            reached: dict[int, tuple[float, list[int]]] = {}
            for target in self._links(kind, name, False, where):
                for source, (t0, links) in here.items():
                    cost, pred = self._tree(source)
                    if target == source:
                        t, path = t0, links
                    elif np.isfinite(cost[target]):
                        back = [target]
                        while back[-1] != source:
                            back.append(int(pred[back[-1]]))
                        t, path = t0 + float(cost[target]), links + back[-2::-1]
                    else:
                        continue
                    if target not in reached or t < reached[target][0]:
                        reached[target] = (t, path)
            if not reached:
                self.unroutable.append(where)
                return None
            best = min(reached.values(), key=lambda r: r[0])
            here = {best[1][-1]: best}
        ids = self.network.link_ids
        return [str(ids[k]) for k in next(iter(here.values()))[1]]


def _route_counts(
    routes_xml: RouteFiles,
    begin: float,
    end: float,
    network: RoadNetwork,
    sumo: _SumoNet | None = None,
) -> _Demand:
    """Among the road vehicles departing in [begin, end), in PCU: how many start on each edge, and
    how many pass from each edge to the next. Reads ``<vehicle>`` (inline route, or ``route=`` a
    ``<route>`` or a ``<routeDistribution>``, whose routes count by their probabilities; a route's
    ``repeat`` counts its passes), ``<trip>`` and ``<flow>`` (a route, or from/via/to edges or
    fromJunction/toJunction routed on the network's fastest path at free-flow speeds, through the
    SUMO net's connections when ``sumo`` is given;
    vehsPerHour, period, ``period="exp(r)"``, probability (expected counts) or number, from begin
    to end). Routes keep the network's edges only: a vehicle comes in where a route enters them.
    ``ValueError`` when no road vehicle departs in the window, or none has a path."""
    departures, summary = _departures(routes_xml, begin, end)
    router = _Router(network, sumo)
    starts: dict[str, float] = defaultdict(float)
    counts: dict[tuple[str, str], float] = defaultdict(float)

    def add(route: list[str | None], weight: float, repeat: float) -> None:
        prev: str | None = None
        for k, e in enumerate(route if repeat == 0 else route + route):  # the second pass stands for all repeats
            w = weight if k < len(route) else weight * repeat
            if e is not None:
                if prev is None:
                    starts[e] += w
                else:
                    counts[prev, e] += w
            prev = e

    first = ("fromJunction", "from")  # trips from the same place one after another reuse their path tree
    for d in sorted(departures, key=lambda d: "".join(d.el.get(a, "") for a in first) if d.routes is None else ""):
        if d.routes is None:
            trip = router.trip(d.el, d.where)
            if trip is not None:
                add(trip, d.pcu, 0.0)
        else:
            for w, edges, repeat in d.routes:
                add(router.edges(edges, d.where), d.pcu * w, repeat)
    if router.unroutable:
        if len(router.unroutable) == len(departures):
            raise ValueError(
                f"{', '.join(summary.files)}: none of the {len(departures)} trip(s)/flow(s) departing in "
                f"[{begin:g}, {end:g}) s has a path on the network ({router.unroutable[0]})"
            )
        warnings.warn(
            f"{', '.join(summary.files)}: {len(router.unroutable)} trip(s)/flow(s) have no path on the network and "
            f"were left out ({router.unroutable[0]})",
            stacklevel=3,
        )
    flows: list[tuple[tuple[str, ...], float]] = [((e,), n) for e, n in starts.items()]
    flows += list(counts.items())
    busiest, most = max(flows, key=lambda f: f[1], default=((), 0.0))
    if most * 3600.0 / (end - begin) > MAX_FLOW_VPH:
        raise ValueError(
            f"{', '.join(summary.files)}: {' -> '.join(busiest)} carries {most * 3600.0 / (end - begin):g} PCU/h in "
            f"[{begin:g}, {end:g}) s, over {MAX_FLOW_VPH:g}"
        )
    return _Demand(dict(starts), dict(counts), summary)


def summarize_sumo_demand(routes_xml: RouteFiles, *, begin: float = 0.0, end: float = 3600.0) -> SumoDemandSummary:
    """What departs in ``[begin, end)`` (s) in route files (one path or several, with additional
    files holding vehicle types): departures by vehicle class, road vehicles and their PCU, and
    bicycles and pedestrians per edge. ``ValueError`` as :func:`read_sumo_demand`."""
    if not end > begin:
        raise ValueError(f"end={end} must be after begin={begin}")
    return _departures(routes_xml, begin, end)[1]


def read_sumo_demand(
    network: RoadNetwork,
    routes_xml: RouteFiles,
    *,
    begin: float = 0.0,
    end: float = 3600.0,
    net_xml: str | os.PathLike[str] | None = None,
) -> TrafficDemand:
    """The road vehicles of ``routes_xml`` (one route file or several; additional files with
    vehicle types may be among them) departing in ``[begin, end)`` as :class:`TrafficDemand` on
    ``network`` (read from the same SUMO net): entries where routes start, turns edge to edge, in
    **passenger car units per hour** (PCU/h: each vehicle weighted by its vType's vClass, see
    :data:`PCU`; bicycles, pedestrians and trains are left out, see :func:`summarize_sumo_demand`).

    Vehicles with routes (inline, by id, or a ``routeDistribution`` weighted by its probabilities),
    trips and flows with from/via/to edges (or fromJunction/toJunction), routed on the network's
    fastest path at free-flow speeds (given ``net_xml``, turning only where its connections let
    cars turn, as SUMO routes them at insertion); flows count the departures in the window (vehsPerHour,
    period, number; expected counts for probability and ``period="exp(r)"``); types by ``type=``
    (a ``vType`` or ``vTypeDistribution``, SUMO's ``DEFAULT_VEHTYPE`` when absent). Given the SUMO
    net (``net_xml``), edges that the network left out (no car lanes, self loops) are
    skipped; otherwise every edge must be a link. ``ValueError`` naming the file and element for
    an unknown edge, route or type, bad flow rates or times, and for a window in which no road
    vehicle departs (saying what the files hold)."""
    if not end > begin:
        raise ValueError(f"end={end} must be after begin={begin}")
    demand = _route_counts(routes_xml, begin, end, network, None if net_xml is None else _sumo_edges(net_xml))
    scale = 3600.0 / (end - begin)
    index = {str(e): k for k, e in enumerate(network.link_ids)}
    entry = np.zeros(network.num_links)
    for e, n in demand.starts.items():
        entry[index[e]] += n * scale
    pairs = list(demand.counts)
    return TrafficDemand(
        entry,
        np.array([index[a] for a, _ in pairs], dtype=np.int64),
        np.array([index[b] for _, b in pairs], dtype=np.int64),
        np.array([demand.counts[p] * scale for p in pairs]),
    )
