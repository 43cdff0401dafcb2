"""SUMO demand: the vehicles of a route file departing in a window, as turning counts on a
:class:`RoadNetwork` read from the same SUMO net (vehicles with routes, trips and flows)."""

from __future__ import annotations

import os
import warnings
import xml.etree.ElementTree as ET
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from smartopt._files import xml_root
from smartopt.network import RoadNetwork
from smartopt.signals.model import MAX_FLOW_VPH
from smartopt.signals.traffic import TrafficDemand

MAX_FLOW_VEHICLES = 1e9
"""Largest ``number`` of a ``<flow>`` (a guard against unit mistakes; SUMO's day has 86,400 s)."""
FLOW_DEFAULT_END_S = 86400.0  # SUMO: a flow without end (and without number) lasts 24 hours


def _time(value: str, where: str) -> float:
    """A SUMO time: seconds, or ``[[d:]h:]m:s``; ``ValueError`` naming the element otherwise."""
    try:
        parts = [float(p) for p in value.split(":")]
    except ValueError:
        raise ValueError(f"{where}: {value!r} is not a time") from None
    if len(parts) > 4 or not all(np.isfinite(parts)):
        raise ValueError(f"{where}: {value!r} is not a time")
    return float(sum(p * f for p, f in zip(parts[::-1], (1, 60, 3600, 86400), strict=False)))


def _flow_departures(flow: ET.Element, where: str) -> tuple[float, float, float, float, bool]:
    """A flow as ``(begin, end, headway s, most vehicles, random)``: departures at ``begin + i *
    headway`` before ``end`` and at most that many (``random``: a Poisson or per-second draw at
    the same mean rate, so the counts in a window are expectations)."""
    begin = _time(flow.get("begin", "0"), where)
    end_attr, number_attr = flow.get("end"), flow.get("number")
    number = np.inf
    if number_attr is not None:
        try:
            number = float(number_attr)
        except ValueError:
            raise ValueError(f"{where}: number={number_attr!r} is not a whole number") from None
        if not (0 <= number <= MAX_FLOW_VEHICLES and number == int(number)):
            raise ValueError(f"{where}: number={number_attr} must be a whole number in [0, {MAX_FLOW_VEHICLES:g}]")
    rates = [a for a in ("vehsPerHour", "period", "probability") if flow.get(a) is not None]
    if len(rates) > 1:
        raise ValueError(f"{where}: give one of vehsPerHour, period and probability, not {' and '.join(rates)}")
    end = _time(end_attr, where) if end_attr is not None else np.inf
    if not rates:
        if number_attr is None:
            raise ValueError(f"{where}: a flow needs vehsPerHour, period, probability or number")
        if end_attr is None:
            end = FLOW_DEFAULT_END_S
        if not end > begin:
            raise ValueError(f"{where}: end={end:g} must be after begin={begin:g}")
        headway = (end - begin) / number if number else np.inf
        if 3600.0 / headway > MAX_FLOW_VPH:
            raise ValueError(
                f"{where}: number={number_attr} from {begin:g} to {end:g} s is over {MAX_FLOW_VPH:g} veh/h"
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
    headway = {"vehsPerHour": 3600.0 / value, "probability": 1.0 / value}.get(attr, value)
    if text.startswith("exp("):  # period="exp(rate)": Poisson arrivals at rate veh/s
        headway = 1.0 / value
    if 3600.0 / headway > MAX_FLOW_VPH:
        raise ValueError(f"{where}: {attr}={text} is {3600.0 / headway:g} veh/h, over {MAX_FLOW_VPH:g} veh/h")
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


@dataclass
class _Demand:
    """Vehicles of a route file by route: entries per edge and passes edge -> edge."""

    starts: dict[str, float]
    counts: dict[tuple[str, str], float]
    vehicles: float


class _Router:
    """Edges of route elements checked against the network, and trips routed on its fastest paths.
    ``sumo_edges`` (edge id -> (from, to) junction) are the SUMO net's edges: those that the
    network did not keep are left out of routes (trips pass their junctions)."""

    def __init__(self, network: RoadNetwork, sumo_edges: dict[str, tuple[str, str]] | None) -> None:
        self.network = network
        self.index = {str(e): k for k, e in enumerate(network.link_ids)}
        self.nodes = {str(v): k for k, v in enumerate(network.node_ids)}
        self.sumo_edges = sumo_edges or {}
        self.paths: dict[tuple[int, int], list[int] | None] = {}
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

    def _path(self, a: int, b: int) -> list[int] | None:
        if (a, b) not in self.paths:
            path = self.network.shortest_path(a, b)
            self.paths[a, b] = None if path is None else [int(k) for k in path.links]
        return self.paths[a, b]

    def _node(self, junction: str, where: str) -> int:
        if junction not in self.nodes:
            raise ValueError(f"{where}: junction {junction!r} is not a node of the network")
        return self.nodes[junction]

    def trip(self, el: ET.Element, where: str) -> list[str | None] | None:
        """The fastest route through a trip's or flow's from/via/to (edges or junctions), or None
        when the network has none."""
        stops: list[tuple[str, str]] = []  # ("edge" | "node", id)
        if el.get("fromJunction") is not None:
            stops.append(("node", el.get("fromJunction", "")))
        elif el.get("from") is not None:
            stops.append(("edge", el.get("from", "")))
        stops += [("edge", e) for e in el.get("via", "").split()]
        if el.get("toJunction") is not None:
            stops.append(("node", el.get("toJunction", "")))
        elif el.get("to") is not None:
            stops.append(("edge", el.get("to", "")))
        if {el.get("from"), el.get("fromJunction")} == {None} or {el.get("to"), el.get("toJunction")} == {None}:
            raise ValueError(f"{where}: needs from (or fromJunction) and to (or toJunction), or a route")
        expanded: list[tuple[str, str]] = []
        for kind, name in stops:
            if kind == "node" or name in self.index:
                expanded.append((kind, name))
            elif name in self.sumo_edges:  # an edge the network left out: pass its junctions
                expanded += [("node", self.sumo_edges[name][0]), ("node", self.sumo_edges[name][1])]
            else:
                raise ValueError(f"{where}: routes use edge {name!r}, which is not a road link of the network")
        route: list[int] = []
        here: int | None = None
        for kind, name in expanded:
            target = self._node(name, where) if kind == "node" else int(self.network.link_tail[self.index[name]])
            if kind == "edge" and route and route[-1] == self.index[name]:
                continue
            if here is not None:
                path = self._path(here, target)
                if path is None:
                    self.unroutable.append(where)
                    return None
                route += path
            if kind == "edge":
                route.append(self.index[name])
                here = int(self.network.link_head[route[-1]])
            else:
                here = target
        ids = self.network.link_ids
        return [str(ids[k]) for k in route]


def _sumo_edges(net_xml: str | os.PathLike[str]) -> dict[str, tuple[str, str]]:
    """Normal edges of a SUMO net: id -> (from junction, to junction)."""
    return {
        e.get("id", ""): (e.get("from", ""), e.get("to", ""))
        for e in xml_root(net_xml, "net").iter("edge")
        if e.get("function") in (None, "normal")
    }


def _route_counts(
    routes_xml: str | os.PathLike[str],
    begin: float,
    end: float,
    network: RoadNetwork,
    sumo_edges: dict[str, tuple[str, str]] | None = None,
) -> _Demand:
    """Among the vehicles departing in [begin, end): how many start on each edge, and how many
    pass from each edge to the next. Reads ``<vehicle>`` (inline route, or ``route=`` a
    ``<route>`` or a ``<routeDistribution>``, whose routes count by their probabilities),
    ``<trip>`` and ``<flow>`` (a route, or from/via/to edges or fromJunction/toJunction routed on
    the network's fastest path at free-flow speeds; vehsPerHour, period, ``period="exp(r)"``,
    probability (expected counts) or number, from begin to end). Routes keep the network's edges
    only: a vehicle comes in where a route enters them."""
    root = xml_root(routes_xml, "routes")
    name = Path(routes_xml).name
    router = _Router(network, sumo_edges)
    routes: dict[str, list[tuple[float, list[str]]]] = {}  # id -> weighted routes (weights sum to 1)

    def distribution(el: ET.Element) -> list[tuple[float, list[str]]]:
        out: list[tuple[float, list[str]]] = []
        for r in el.findall("route"):
            ref = r.get("refId")
            p = float(r.get("probability", "1"))
            if not (np.isfinite(p) and p >= 0):
                raise ValueError(f"{name}: routeDistribution {el.get('id')!r}: probability={p} must be >= 0")
            if ref is not None:
                if ref not in routes:
                    raise ValueError(f"{name}: routeDistribution {el.get('id')!r} refers to unknown route {ref!r}")
                out += [(p * w, e) for w, e in routes[ref]]
            else:
                out.append((p, r.get("edges", "").split()))
                if r.get("id") is not None:
                    routes[r.get("id", "")] = [(1.0, out[-1][1])]
        total = sum(w for w, _ in out)
        if not total > 0:
            raise ValueError(f"{name}: routeDistribution {el.get('id')!r} has no route with probability > 0")
        return [(w / total, e) for w, e in out]

    for el in root:
        if el.tag == "route" and el.get("id") is not None:
            routes[el.get("id", "")] = [(1.0, el.get("edges", "").split())]
        elif el.tag == "routeDistribution" and el.get("id") is not None:
            routes[el.get("id", "")] = distribution(el)

    demand = _Demand(defaultdict(float), defaultdict(float), 0.0)
    tally: dict[str, int] = defaultdict(int)
    span = [np.inf, -np.inf]

    def add(route: list[str | None], weight: float) -> None:
        prev: str | None = None
        for e in route:
            if e is not None:
                if prev is None:
                    demand.starts[e] += weight
                else:
                    demand.counts[prev, e] += weight
            prev = e

    for el in root:
        if el.tag not in ("vehicle", "trip", "flow"):
            continue
        where = f"{name}: {el.tag} {el.get('id')!r}"
        tally[f"<{el.tag}>"] += 1
        if el.tag == "flow":
            fb, fe, headway, number, random = _flow_departures(el, where)
            last = min(fe, fb + number * headway) if np.isfinite(headway) else fb
            span = [min(span[0], fb), max(span[1], last)]
            n = _count_in(fb, fe, headway, number, random, begin, end)
        else:
            depart = el.get("depart", "0")
            try:
                t = _time(depart, where)
            except ValueError:  # triggered, containerTriggered, split: not timed
                tally[f"<{el.tag}> with depart={depart!r} (left out)"] += 1
                continue
            span = [min(span[0], t), max(span[1], t)]
            n = 1.0 if begin <= t < end else 0.0
        if n == 0.0:
            continue
        demand.vehicles += n
        inline = el.find("route")
        inline_dist = el.find("routeDistribution")
        if inline is not None:
            weighted = [(1.0, inline.get("edges", "").split())]
        elif inline_dist is not None:
            weighted = distribution(inline_dist)
        elif el.get("route") is not None:
            ref = el.get("route", "")
            if ref not in routes:
                raise ValueError(f"{where}: route {ref!r} is not defined in the file")
            weighted = routes[ref]
        else:
            trip = router.trip(el, where)
            if trip is not None:
                add(trip, n)
            continue
        for w, edges in weighted:
            add(router.edges(edges, where), n * w)
    if router.unroutable:
        warnings.warn(
            f"{name}: {len(router.unroutable)} trip(s)/flow(s) have no path on the network and were left out "
            f"({router.unroutable[0]})",
            stacklevel=3,
        )
    if demand.vehicles == 0.0:
        held = ", ".join(f"{v} {k}" for k, v in tally.items()) or "no vehicle, trip or flow"
        times = f", departures between {span[0]:g} and {span[1]:g} s" if np.isfinite(span[0]) else ""
        raise ValueError(f"{name}: no vehicle departs in [{begin:g}, {end:g}) s; the file holds {held}{times}")
    return demand


def read_sumo_demand(
    network: RoadNetwork,
    routes_xml: str | os.PathLike[str],
    *,
    begin: float = 0.0,
    end: float = 3600.0,
    net_xml: str | os.PathLike[str] | None = None,
) -> TrafficDemand:
    """The vehicles of ``routes_xml`` departing in ``[begin, end)`` as :class:`TrafficDemand` on
    ``network`` (read from the same SUMO net): entries where routes start, turns edge to edge (veh/h).

    Vehicles with routes (inline, by id, or a ``routeDistribution`` weighted by its probabilities),
    trips and flows with from/via/to edges (or fromJunction/toJunction), routed on the network's
    fastest path at free-flow speeds; flows count the departures in the window (vehsPerHour,
    period, number; expected counts for probability and ``period="exp(r)"``). Given the SUMO net
    (``net_xml``), edges that the network left out (no car lanes, slower parallels) are skipped;
    otherwise every edge must be a link. ``ValueError`` for an unknown edge (naming the element),
    bad flow rates, or a window in which no vehicle departs (saying what the file holds)."""
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
