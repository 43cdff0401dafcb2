"""SUMO in and out: traffic lights of a ``.net.xml`` plus a route file become :class:`Intersection`
models; timing plans go back as ``tlLogic`` programs with the same ids, link indices and states.

Reading: every green phase of a light's program (one with ``G``/``g`` and no ``y``) is a stage; the
phases after it up to the next green phase (yellow, red) are its intergreen (counted as yellow).
A movement is a pair (incoming edge, outgoing edge) of the light's connections; a stage serves it
when one of its links shows ``G`` (protected), or ``g`` when the movement is never protected. Lanes
of an approach that share a movement form one lane group; saturation flow is
:data:`SATURATION_VPHPL` per lane (x0.95 for left-turn-only lanes). Volumes count the vehicles
of the route file that depart in ``[begin, end)`` and make each turn, scaled to veh/h (vehicles
with routes, trips and flows; see :func:`read_sumo_demand`).
"""

from __future__ import annotations

import os
import warnings
import xml.etree.ElementTree as ET
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from smartopt._files import xml_root
from smartopt._validation import float_array
from smartopt.network import RoadNetwork
from smartopt.signals.model import MAX_FLOW_VPH, Intersection
from smartopt.signals.timing import TimingPlan
from smartopt.signals.traffic import TrafficDemand, TrafficModel

SATURATION_VPHPL = 1550.0
"""Saturation flow per lane (veh/h of green) of SUMO's default car (Krauss, tau 1 s, sigma 0.5),
which discharges from a queue well below HCM's 1,900: the value that made the traffic model's plans
best in SUMO on the project's grid scenarios (1,800 left the side streets short of green)."""
SUMO_PLATOONS = {"dispersion": 0.2, "travel_factor": 0.9}
"""TRANSYT platoon dispersion for SUMO traffic, which keeps its platoons tighter than TRANSYT's
urban default (0.35, 0.8); calibrated like :data:`SATURATION_VPHPL`."""
TURN_CODES = {"s": "T", "l": "L", "r": "R", "L": "L", "R": "R"}  # SUMO dir -> turn (partial turns too)


@dataclass(frozen=True)
class SumoProgram:
    """A traffic light's program: phase durations (s) and states, and which phases are the stages
    (green phases) in order."""

    tls_id: str
    durations: tuple[float, ...]
    states: tuple[str, ...]
    stage_phase: tuple[int, ...]


@dataclass(frozen=True)
class SumoSignals:
    """The lights of a SUMO network as intersection models (one per light, ids = tls ids) with
    their original programs. ``network`` is the SUMO network as a :class:`RoadNetwork` (link ids =
    SUMO edge ids); the intersections' ``node``, ``approach_link`` and ``movement_out_link`` index it."""

    network: RoadNetwork
    intersections: tuple[Intersection, ...]
    programs: tuple[SumoProgram, ...]


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


def _lane_groups(lanes: dict[int, set[tuple[str, str]]]) -> list[list[int]]:
    """Lanes of one approach grouped so that lanes sharing a movement are in one group."""
    groups: list[tuple[set[int], set[tuple[str, str]]]] = []
    for lane, moves in sorted(lanes.items()):
        joined = [g for g in groups if g[1] & moves]
        merged = ({lane}, set(moves))
        for g in joined:
            merged[0].update(g[0])
            merged[1].update(g[1])
            groups.remove(g)
        groups.append(merged)
    return [sorted(g[0]) for g in groups]


def read_sumo_signals(
    net_xml: str | os.PathLike[str],
    routes_xml: str | os.PathLike[str],
    *,
    begin: float = 0.0,
    end: float = 3600.0,
    min_green_s: float = 5.0,
    max_green_s: float = 90.0,
    cycle_bounds_s: tuple[float, float] = (30.0, 180.0),
) -> SumoSignals:
    """Intersection models of every static traffic light in ``net_xml`` with turning volumes from
    ``routes_xml`` (vehicles departing in ``[begin, end)`` s), on the network read from the same file."""
    if not end > begin:
        raise ValueError(f"end={end} must be after begin={begin}")
    net = xml_root(net_xml, "net")
    network = RoadNetwork.from_sumo(net_xml)
    link_index = {str(e): k for k, e in enumerate(network.link_ids)}
    counts = _route_counts(routes_xml, begin, end, network, _sumo_edges(net_xml)).counts
    scale = 3600.0 / (end - begin)
    links: dict[str, dict[int, tuple[str, str, int, str]]] = defaultdict(dict)
    for c in net.iter("connection"):
        tl = c.get("tl")
        if tl is not None:
            links[tl][int(c.get("linkIndex", "-1"))] = (
                c.get("from", ""), c.get("to", ""), int(c.get("fromLane", "0")), c.get("dir", "s"),
            )  # fmt: skip
    intersections, programs = [], []
    for logic in net.iter("tlLogic"):
        tls = logic.get("id", "")
        phases = [(float(p.get("duration", "0")), p.get("state", "")) for p in logic.iter("phase")]
        conn = links.get(tls, {})
        if not phases or not conn:
            raise ValueError(f"traffic light {tls!r} has no phases or no controlled connections")
        stage_phase = [i for i, (_, st) in enumerate(phases) if ("G" in st or "g" in st) and "y" not in st]
        if not stage_phase:
            raise ValueError(f"traffic light {tls!r} has no green phase")
        movements = sorted({(f, t) for f, t, _, d in conn.values() if d in TURN_CODES})
        move_index = {m: k for k, m in enumerate(movements)}
        approaches = sorted({f for f, _ in movements})
        lane_moves: dict[str, dict[int, set[tuple[str, str]]]] = defaultdict(lambda: defaultdict(set))
        for f, t, lane, d in conn.values():
            if d in TURN_CODES:
                lane_moves[f][lane].add((f, t))
        grp_app: list[int] = []
        grp_lanes: list[int] = []
        grp_sat: list[float] = []
        mov_grp = np.zeros(len(movements), dtype=int)
        for a, f in enumerate(approaches):
            for lanes in _lane_groups(lane_moves[f]):
                moves = set().union(*(lane_moves[f][ln] for ln in lanes))
                left_only = all(TURN_CODES[d] == "L" for ff, t, _, d in conn.values() if (ff, t) in moves)
                for m in moves:
                    mov_grp[move_index[m]] = len(grp_app)
                grp_app.append(a)
                grp_lanes.append(len(lanes))
                grp_sat.append(SATURATION_VPHPL * len(lanes) * (0.95 if left_only else 1.0))
        protected = np.zeros(len(movements), dtype=bool)
        shown: list[np.ndarray] = []
        for p in stage_phase:
            state = phases[p][1]
            g_major, g_any = np.zeros(len(movements), bool), np.zeros(len(movements), bool)
            for li, (f, t, _, d) in conn.items():
                if d in TURN_CODES and li < len(state):
                    g_major[move_index[f, t]] |= state[li] == "G"
                    g_any[move_index[f, t]] |= state[li] in "Gg"
            protected |= g_major
            shown.append(np.stack([g_major, g_any]))
        stages = tuple(np.flatnonzero(np.where(protected, s[0], s[1])) for s in shown)
        intergreen = [
            sum(d for d, _ in (phases[stage_phase[k] + 1 : stage_phase[k + 1]] if k + 1 < len(stage_phase)
                               else phases[stage_phase[k] + 1 :] + phases[: stage_phase[0]]))
            for k in range(len(stage_phase))
        ]  # fmt: skip
        turn = [TURN_CODES[next(d for f, t, _, d in conn.values() if (f, t) == m)] for m in movements]
        n_app, n_stage = len(approaches), len(stages)
        missing = [e for e in (*approaches, *(t for _, t in movements)) if e not in link_index]
        if missing:
            raise ValueError(f"traffic light {tls!r} controls edge {missing[0]!r}, which is not a road link")
        approach_link = np.array([link_index[e] for e in approaches])
        intersections.append(
            Intersection(
                id=tls, node=int(network.link_head[approach_link[0]]), approach_link=approach_link,
                crossing_length_m=np.zeros(n_app),
                lane_group_approach=np.array(grp_app), lane_group_lanes=np.array(grp_lanes),
                saturation_flow_vph=np.array(grp_sat), movement_lane_group=mov_grp,
                movement_out_link=np.array([link_index[t] for _, t in movements]), movement_turn=np.array(turn),
                volume_vph=np.array([[counts.get(m, 0.0) * scale for m in movements]]), stage_movements=stages,
                min_green_s=np.full(n_stage, min_green_s), max_green_s=np.full(n_stage, max_green_s),
                yellow_s=np.array(intergreen, dtype=float), all_red_s=np.zeros(n_stage),
                ped_min_green_s=np.zeros(n_stage), cycle_min_s=cycle_bounds_s[0], cycle_max_s=cycle_bounds_s[1],
            )
        )  # fmt: skip
        programs.append(SumoProgram(tls, tuple(d for d, _ in phases), tuple(s for _, s in phases), tuple(stage_phase)))
    if not intersections:
        raise ValueError(f"{Path(net_xml).name}: no traffic lights")
    return SumoSignals(network, tuple(intersections), tuple(programs))


def plan_programs(signals: SumoSignals, plan: TimingPlan) -> dict[str, dict[str, Any]]:
    """The plan as SUMO programs: each light's phases with the stage greens replaced by the plan's
    (intergreen phases unchanged) and the plan's offset; a mapping ``tls id -> program`` in the
    JSON form that SUMO tooling (and :func:`write_tllogic`) takes. The plan's offset is when the
    first stage's green starts; SUMO's offset is when the first phase starts."""
    ids = tuple(p.tls_id for p in signals.programs)
    if plan.intersection_ids != ids or plan.green_s.shape[1] < max(len(p.stage_phase) for p in signals.programs):
        raise ValueError(f"plan is for {plan.intersection_ids[:3]}..., not this network's lights {ids[:3]}...")
    out: dict[str, dict[str, Any]] = {}
    for i, prog in enumerate(signals.programs):
        durations = list(prog.durations)
        for k, p in enumerate(prog.stage_phase):
            durations[p] = round(float(plan.green_s[i, k]), 2)
        lead = sum(durations[: prog.stage_phase[0]])  # phases before the first stage's green
        out[prog.tls_id] = {
            "offset": round(float(plan.offset_s[i]) - lead, 2),
            "phases": [{"duration": d, "state": s} for d, s in zip(durations, prog.states, strict=True)],
        }
    return out


def write_tllogic(
    programs: dict[str, dict[str, Any]], path: str | os.PathLike[str], program_id: str = "smartopt"
) -> None:
    """Writes programs (from :func:`plan_programs`) as a SUMO additional file of ``tlLogic``s."""
    root = ET.Element("additional")
    for tls, prog in programs.items():
        logic = ET.SubElement(
            root, "tlLogic", id=tls, type="static", programID=program_id, offset=f"{prog['offset']:g}"
        )
        for ph in prog["phases"]:
            ET.SubElement(logic, "phase", duration=f"{ph['duration']:g}", state=ph["state"])
    ET.indent(root)
    Path(path).write_text(ET.tostring(root, encoding="unicode") + "\n")


def _transition_state(green_from: str, green_to: str) -> str:
    """The yellow shown when leaving one green state for another: links that lose their green
    show ``y``; the others show what the next green shows, but never green yet."""
    out = []
    for a, b in zip(green_from, green_to, strict=True):
        if a in "Gg" and b not in "Gg":
            out.append("y")
        else:
            out.append("r" if b in "Gg" and a not in "Gg" else b)
    return "".join(out)


def run_max_pressure(
    net_xml: str | os.PathLike[str],
    routes_xml: str | os.PathLike[str],
    *,
    tripinfo: str | os.PathLike[str],
    seed: int = 42,
    decision_s: float = 5.0,
    end: float | None = None,
) -> dict[str, float]:
    """Runs SUMO (through TraCI) with every light under :class:`~smartopt.signals.MaxPressure`:
    every ``decision_s`` seconds each light keeps or changes its stage from the halting vehicles
    on its approach and exit edges; a change shows the intergreen of the stage that ends (yellow on
    the links that lose green). Writes SUMO's tripinfo to ``tripinfo`` and returns the mean time
    loss (s, per completed trip), total time loss with departure delays (veh h), completed trips
    and teleports."""
    import subprocess
    import sys

    import sumo

    from smartopt.signals.adaptive import MaxPressure, StageClock

    tools = str(Path(sumo.SUMO_HOME) / "tools")
    if tools not in sys.path:
        sys.path.append(tools)
    import traci

    float_array("decision_s", [decision_s], positive=True)
    if end is not None:
        float_array("end", [end], positive=True)
    signals = read_sumo_signals(net_xml, routes_xml)
    edges = signals.network.link_ids
    clock = StageClock(MaxPressure(signals.intersections, signals.network.num_links), signals.intersections, decision_s)
    green = [[prog.states[p] for p in prog.stage_phase] for prog in signals.programs]

    def halting(links: np.ndarray) -> np.ndarray:
        queue = np.zeros(len(edges))
        queue[links] = [traci.edge.getLastStepHaltingNumber(str(edges[k])) for k in links]
        return queue

    stats = Path(tripinfo).with_suffix(".stats.xml")
    cmd = [str(Path(sumo.SUMO_HOME) / "bin" / "sumo"), "-n", str(net_xml), "-r", str(routes_xml),
           "--seed", str(seed), "--tripinfo-output", str(tripinfo), "--no-step-log", "--duration-log.disable",
           "--time-to-teleport", "300", "--statistic-output", str(stats)]  # fmt: skip
    if end is not None:
        cmd += ["--end", str(end)]
    traci.start(cmd, stdout=subprocess.DEVNULL)
    try:
        for prog, states in zip(signals.programs, green, strict=True):
            traci.trafficlight.setRedYellowGreenState(prog.tls_id, states[0])
        t = 0.0
        while traci.simulation.getMinExpectedNumber() > 0 and (end is None or t < end):
            traci.simulationStep()
            t = traci.simulation.getTime()
            started, changing = clock.advance(t, halting)
            for i in started:
                traci.trafficlight.setRedYellowGreenState(signals.programs[i].tls_id, green[i][clock.stage[i]])
            for i in changing:
                now, then = green[i][clock.stage[i]], green[i][clock.next_stage[i]]
                traci.trafficlight.setRedYellowGreenState(signals.programs[i].tls_id, _transition_state(now, then))
    finally:
        traci.close()
    teleports = xml_root(stats, "statistics").find("teleports")
    trips = xml_root(tripinfo, "tripinfos").findall("tripinfo")
    loss = [float(tr.get("timeLoss", "0")) + float(tr.get("departDelay", "0")) for tr in trips]
    return {"mean_time_loss_s": float(np.mean([float(tr.get("timeLoss", "0")) for tr in trips])),
            "total_time_loss_veh_h": float(np.sum(loss) / 3600.0), "completed_trips": float(len(trips)),
            "teleports": float(teleports.get("total", "0") if teleports is not None else 0)}  # fmt: skip


def sumo_traffic_model(signals: SumoSignals) -> TrafficModel:
    """The traffic model of a SUMO network's lights, with platoon dispersion calibrated to SUMO."""
    return TrafficModel(signals.network, signals.intersections, **SUMO_PLATOONS)


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
