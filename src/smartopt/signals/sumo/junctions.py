"""SUMO in and out: traffic lights of a ``.net.xml`` plus a route file become :class:`Intersection`
models; timing plans go back as ``tlLogic`` programs with the same ids, link indices and states.

Reading: every green phase of a light's program (one with ``G``/``g`` and no ``y``) is a stage; the
phases after it up to the next green phase (yellow, red) are its intergreen (counted as yellow).
One intersection per light, also when the light is joined over several junctions (its ``nodes``;
links between two of them are both exits and approaches). A movement is a pair (incoming edge,
outgoing edge) of the light's car connections, U-turns included (``dir="t"``, turn ``U``). A stage
serves a movement when one of its links shows ``G`` (protected), ``g`` (permitted: yields) or
``s`` (turn on red: stops, then yields). A lane group has one saturation flow in every stage, so
each movement gets the mean of its stages' rates weighted by their durations in the network's own
program (the same capacity at that program's splits): the protected rate where it shows ``G``;
for a left or U-turn elsewhere, HCM's permitted rate (:func:`permitted_saturation_vphpl`) against
the opposing flow of that stage, the through and right flows shown ``G`` on the junction's other
approaches; for a through or right movement on ``s``, the same against their through flow (on
``g`` it yields to pedestrians only, which is not modelled). A lane group mixing movements gets
the volume-weighted harmonic mean of their rates (the mean discharge headway). Movements no
stage serves are left out (demand on them is an error naming the light). Car connections at the
light's junctions that it does not control (free right slip lanes, ``m``/``M`` links) become its
uncontrolled turns.

Lanes of an approach that share a movement form one lane group; saturation flow is
``saturation_vphpl`` per car lane (x0.95 for left-turn-only lanes) at the stop line. A turn bay
that SUMO draws as a short edge with more lanes is a link of its own: its lanes discharge at the
stop line, it stores what its length holds, and longer queues spill back onto the link upstream.
A light's last program in the file is read (the one SUMO runs); lights that never show cars a
green are left out with a warning (their junctions run uncontrolled). Signal-controlled pedestrian
crossings (``function="crossing"``) set the crossing length of the approaches they cross and each
stage's pedestrian minimum green: walk :data:`PED_WALK_S` plus the crossing length at
:data:`PED_SPEED_MPS`, for every crossing green in it. Volumes count the vehicles of the route
files that depart in ``[begin, end)`` and make each turn, scaled to an hour (passenger car units
per hour; see :func:`read_sumo_demand`).
"""

from __future__ import annotations

import os
import warnings
import xml.etree.ElementTree as ET
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np

from smartopt._files import xml_root
from smartopt._validation import FloatArray, IntArray
from smartopt.network import RoadNetwork
from smartopt.network.io import car_lanes, read_sumo
from smartopt.signals.model import MAX_FLOW_VPH, MAX_TIME_S, Intersection
from smartopt.signals.sumo.demand import RouteFiles, _route_counts, _sumo_edges
from smartopt.signals.traffic import TrafficModel

SATURATION_VPHPL = 1550.0
"""Saturation flow per lane (veh/h of green) of SUMO's default car (Krauss, tau 1 s, sigma 0.5),
which discharges from a queue well below HCM's 1,900: the value that made the traffic model's plans
best in SUMO on the project's grid scenarios (1,800 left the side streets short of green)."""
SUMO_PLATOONS = {"dispersion": 0.2, "travel_factor": 0.9}
"""TRANSYT platoon dispersion for SUMO traffic, which keeps its platoons tighter than TRANSYT's
urban default (0.35, 0.8); calibrated like :data:`SATURATION_VPHPL`."""
TURN_CODES = {"s": "T", "l": "L", "r": "R", "L": "L", "R": "R", "t": "U"}  # SUMO dir -> turn (partial turns too)
PED_WALK_S = 7.0
"""Pedestrian walk interval (s) before the clearance (HCM 2010, MUTCD 4E.06)."""
PED_SPEED_MPS = 1.2
"""Pedestrian walking speed (m/s) for the crossing clearance (HCM 2010, MUTCD 4E.06)."""
CRITICAL_GAP_S = 4.5
"""Critical headway (s) of a permitted left turn (HCM 2010, eq. 18-54)."""
FOLLOW_UP_S = 2.5
"""Follow-up headway (s) of a permitted left turn (HCM 2010, eq. 18-54)."""
FAST_APPROACH_MPS = 17.88
"""Speed limit (m/s, 40 mph) above which an approach's through green has a longer minimum."""
FAST_THROUGH_MIN_GREEN_S = 10.0
"""Minimum green (s) of a stage serving a through movement from an approach faster than
:data:`FAST_APPROACH_MPS`: what drivers expect there (FHWA Signal Timing Manual, 2nd ed., 2015,
Table 5-3: major arterials over 40 mph, 10-15 s). Shorter greens there start and stop fast
queues every few seconds, and SUMO then lets permitted U-turns merge into them."""


def permitted_saturation_vphpl(opposing_vph: float) -> float:
    """HCM 2010's saturation flow (veh/h per lane) of a permitted left turn that filters through
    ``opposing_vph`` of opposing flow: ``v_o e^(-v_o t_c/3600) / (1 - e^(-v_o t_f/3600))`` with
    :data:`CRITICAL_GAP_S` and :data:`FOLLOW_UP_S` (3600 / t_f without opposing flow)."""
    if opposing_vph <= 0:
        return 3600.0 / FOLLOW_UP_S
    return float(
        opposing_vph * np.exp(-opposing_vph * CRITICAL_GAP_S / 3600.0) / -np.expm1(-opposing_vph * FOLLOW_UP_S / 3600.0)
    )


@dataclass(frozen=True)
class SumoProgram:
    """A traffic light's program: phase durations (s) and states, and which phases are the stages
    (green phases) in order; per link index of the light, the junction's internal lanes its
    vehicles cross on (``box_lanes``: lane id and length m) and the light's links it must give
    way to there (``yields_to``, from the junction's right-of-way matrix)."""

    tls_id: str
    durations: tuple[float, ...]
    states: tuple[str, ...]
    stage_phase: tuple[int, ...]
    box_lanes: tuple[tuple[tuple[str, float], ...], ...] = ()
    yields_to: tuple[tuple[int, ...], ...] = ()


@dataclass(frozen=True)
class SumoSignals:
    """The lights of a SUMO network as intersection models (one per light, ids = tls ids) with
    their original programs. ``network`` is the SUMO network as a :class:`RoadNetwork` (link ids =
    SUMO edge ids, node ids = junction ids); the intersections' nodes and links index it."""

    network: RoadNetwork
    intersections: tuple[Intersection, ...]
    programs: tuple[SumoProgram, ...]


def _lane_groups(lanes: dict[int, set[int]]) -> list[list[int]]:
    """Lanes of one approach (lane -> its movements) grouped so that lanes sharing a movement are
    in one group."""
    groups: list[tuple[set[int], set[int]]] = []
    for lane, moves in sorted(lanes.items()):
        joined = [g for g in groups if g[1] & moves]
        merged = ({lane}, set(moves))
        for g in joined:
            merged[0].update(g[0])
            merged[1].update(g[1])
            groups.remove(g)
        groups.append(merged)
    return [sorted(g[0]) for g in groups]


@dataclass(frozen=True)
class _Conn:
    """A car connection of a SUMO net: from and to edge, the car lane it leaves from, turn code."""

    src: str
    dst: str
    lane: int
    turn: str


@dataclass
class _Light:
    """What one traffic light controls: car connections and crossings (edge ids) by link index."""

    cars: list[tuple[int, _Conn]] = field(default_factory=list)
    crossings: list[tuple[int, str]] = field(default_factory=list)


@dataclass
class _NetLinks:
    """The connections of a SUMO net that the signal models need."""

    lights: dict[str, _Light]
    free: dict[str, set[tuple[str, str]]]  # junction -> car turns under no light
    edge_to: dict[str, str]  # normal edge -> its to-junction
    crossing_length_m: dict[str, float]  # crossing edge -> length (m)
    crossing_edges: dict[str, list[str]]  # crossing edge -> the road edges it crosses


def _whole(el: ET.Element, attr: str, default: str, where: str) -> int:
    """An attribute that must be a whole number (a lane or link index)."""
    text = el.get(attr, default)
    try:
        return int(text)
    except ValueError:
        raise ValueError(
            f"{where}: <{el.tag} from={el.get('from')!r} to={el.get('to')!r}> {attr}={text!r} is not a whole number"
        ) from None


def _net_links(net: ET.Element, links: set[str], where: str) -> _NetLinks:
    """Car connections between road ``links`` (by light, or free at their junction) and the
    crossings that lights control."""
    edge_to: dict[str, str] = {}
    cars = car_lanes(net)
    cross_len: dict[str, float] = {}
    cross_edges: dict[str, list[str]] = {}
    for e in net.iter("edge"):
        eid, function = e.get("id", ""), e.get("function", "normal")
        if function == "normal":
            edge_to[eid] = e.get("to", "")
        elif function == "crossing":
            cross_len[eid] = max((_length_m(lane, where) for lane in e.iter("lane")), default=0.0)
            cross_edges[eid] = e.get("crossingEdges", "").split()
    out = _NetLinks(defaultdict(_Light), defaultdict(set), edge_to, cross_len, cross_edges)
    for c in net.iter("connection"):
        src, dst, tl = c.get("from", ""), c.get("to", ""), c.get("tl")
        if dst in cross_len and tl is not None:
            out.lights[tl].crossings.append((_whole(c, "linkIndex", "-1", where), dst))
            continue
        lane = _whole(c, "fromLane", "0", where)
        if (
            src not in links or dst not in links or c.get("dir", "s") not in TURN_CODES
            or f"{src}_{lane}" not in cars or f"{dst}_{c.get('toLane', '0')}" not in cars
        ):  # fmt: skip
            continue
        if tl is None:
            out.free[edge_to[src]].add((src, dst))
        else:
            conn = _Conn(src, dst, lane, TURN_CODES[c.get("dir", "s")])
            out.lights[tl].cars.append((_whole(c, "linkIndex", "-1", where), conn))
    return out


class InnerPath(NamedTuple):
    """A connection across a junction: the edge it leaves, the lane it enters, its light and link
    index (None and -1 where unsignalised) and the junction's internal lanes it runs on (its inner
    lane and the inner stops after it) with their lengths (m)."""

    src: str
    to_lane: str
    tls: str | None
    link_index: int
    lanes: tuple[str, ...]
    lengths_m: tuple[float, ...]


def _length_m(lane: ET.Element, where: str) -> float:
    """A lane's ``length`` (m), which must be a finite number >= 0 (``where``: the file, for errors)."""
    text = lane.get("length", "0")
    try:
        value = float(text)
    except ValueError:
        value = np.nan
    if not (np.isfinite(value) and value >= 0):
        raise ValueError(f"{where}: <lane id={lane.get('id')!r}> length={text!r} is not a length in m")
    return value


def inner_paths(net: ET.Element, where: str) -> list[InnerPath]:
    """Every connection of a SUMO net that crosses a junction on internal lanes
    (:class:`InnerPath`); ``where`` names the file in errors."""
    after: dict[str, str] = {}
    length = {
        lane.get("id", ""): _length_m(lane, where)
        for e in net.iter("edge") if e.get("function") == "internal" for lane in e.iter("lane")
    }  # fmt: skip
    crossing: list[tuple[ET.Element, str]] = []
    for c in net.iter("connection"):
        frm, lane = c.get("from", ""), c.get("via")
        if lane is None:
            continue
        if frm.startswith(":"):
            after[f"{frm}_{c.get('fromLane', '0')}"] = lane
        else:
            crossing.append((c, lane))
    out = []
    for c, lane in crossing:
        chain = [lane]
        while chain[-1] in after and len(chain) < 8:  # a junction has a few inner stops at most
            chain.append(after[chain[-1]])
        tls = c.get("tl")
        out.append(
            InnerPath(
                c.get("from", ""), f"{c.get('to', '')}_{c.get('toLane', '0')}", tls,
                _whole(c, "linkIndex", "-1", where) if tls is not None else -1, tuple(chain),
                tuple(length.get(lane, 0.0) for lane in chain),
            )
        )  # fmt: skip
    return out


Box = tuple[tuple[tuple[str, float], ...], tuple[int, ...]]
"""A light's link in the junction: its internal lanes (id, length m) and the links it gives way to."""


def _light_boxes(net: ET.Element, paths: list[InnerPath], where: str) -> dict[str, dict[int, Box]]:
    """Per light, per link index: the internal lanes of its connection and the light's links it
    must give way to, from the ``response`` row of its request at its junction (the request whose
    position in the junction's ``intLanes`` is one of the link's internal lanes)."""
    request: dict[str, tuple[str, int]] = {}  # internal lane -> (junction, request index)
    gives_way: dict[tuple[str, int], list[int]] = {}
    for j in net.iter("junction"):
        jid = j.get("id", "")
        if jid.startswith(":"):
            continue
        request.update((lane, (jid, k)) for k, lane in enumerate(j.get("intLanes", "").split()))
        for r in j.iter("request"):
            row = r.get("response", "")
            index = _whole(r, "index", "-1", f"{where}: junction {jid!r}")
            gives_way[(jid, index)] = [len(row) - 1 - k for k, bit in enumerate(row) if bit == "1"]
    at: dict[str, dict[int, list[tuple[str, int]]]] = defaultdict(lambda: defaultdict(list))
    lanes: dict[str, dict[int, list[tuple[str, float]]]] = defaultdict(lambda: defaultdict(list))
    for p in paths:  # several connections may share a link index
        if p.tls is not None:
            at[p.tls][p.link_index] += [request[lane] for lane in p.lanes if lane in request][:1]
            lanes[p.tls][p.link_index] += zip(p.lanes, p.lengths_m, strict=True)
    out: dict[str, dict[int, Box]] = {}
    for tls, requests in at.items():
        link_at = {a: k for k, found in requests.items() for a in found}
        out[tls] = {}
        for k, found in requests.items():
            yields = {link_at[(j, m)] for j, i in found for m in gives_way.get((j, i), ()) if (j, m) in link_at}
            out[tls][k] = (tuple(lanes[tls][k]), tuple(sorted(yields)))
    return out


@dataclass(frozen=True)
class _Served:
    """A light's movements that some stage serves: their connections, the characters their
    links show in each stage, and each stage's movements."""

    moves: list[_Conn]
    shown: list[list[set[str]]]
    stages: list[list[int]]


def _served(cars: list[tuple[int, _Conn]], states: list[str]) -> _Served:
    """The movements of a light's car connections that the stage ``states`` serve (``G``, ``g``
    or ``s``); the others are left out."""
    conn = {(c.src, c.dst): c for _, c in cars}
    names = sorted(conn)
    index = {m: k for k, m in enumerate(names)}
    shown = []
    for state in states:
        chars: list[set[str]] = [set() for _ in names]
        for li, c in cars:
            if 0 <= li < len(state):
                chars[index[c.src, c.dst]].add(state[li])
        shown.append(chars)
    serves = [[k for k in range(len(names)) if st[k] & set("Ggs")] for st in shown]
    kept = sorted({k for ks in serves for k in ks})
    pos = {k: i for i, k in enumerate(kept)}
    return _Served(
        [conn[names[k]] for k in kept], [[st[k] for k in kept] for st in shown], [[pos[k] for k in ks] for ks in serves]
    )


def _movement_rate(
    k: int, served: _Served, volume: FloatArray, node: list[str], weight: list[float], protected_vphpl: float
) -> float:
    """Saturation flow (veh/h per lane) of movement ``k`` over the stages that serve it, weighted
    by their durations in the original program: ``protected_vphpl`` where it shows ``G``, HCM's
    permitted rate against the stage's opposing flow elsewhere (module docstring)."""
    moves, shown = served.moves, served.shown
    rates, weights = [], []
    for s, ks in enumerate(served.stages):
        if k not in ks:
            continue
        yields_to: set[str] = set()  # protected on G; a through or right movement on g yields to pedestrians
        if "G" not in shown[s][k]:
            yields_to = {"T", "R"} if moves[k].turn in "LU" else {"T"} if "g" not in shown[s][k] else set()
        opposing = sum(
            float(volume[j]) for j, m in enumerate(moves)
            if "G" in shown[s][j] and m.turn in yields_to and m.src != moves[k].src and node[j] == node[k]
        )  # fmt: skip
        rates.append(min(permitted_saturation_vphpl(opposing), protected_vphpl) if yields_to else protected_vphpl)
        weights.append(weight[s])
    return float(np.average(rates, weights=weights if sum(weights) > 0 else None))


def _lane_group_arrays(
    served: _Served, cars: list[tuple[int, _Conn]], approaches: list[str], volume: FloatArray,
    node: list[str], durations: list[float], saturation_vphpl: float,
) -> tuple[IntArray, IntArray, FloatArray, IntArray]:  # fmt: skip
    """Lane groups (approach, lanes, saturation flow veh/h) and each movement's group: lanes of
    an approach that share a movement form one group, whose saturation flow is its lanes times
    the volume-weighted harmonic mean of its movements' rates (module docstring)."""
    move_of = {(m.src, m.dst): k for k, m in enumerate(served.moves)}
    lane_moves: dict[str, dict[int, set[int]]] = defaultdict(lambda: defaultdict(set))
    for _, c in cars:
        if (c.src, c.dst) in move_of:
            lane_moves[c.src][c.lane].add(move_of[c.src, c.dst])
    grp_app: list[int] = []
    grp_lanes: list[int] = []
    grp_sat: list[float] = []
    mov_grp = np.zeros(len(served.moves), dtype=np.int64)
    for a, f in enumerate(approaches):
        for lanes in _lane_groups(lane_moves[f]):
            group = sorted(set().union(*(lane_moves[f][ln] for ln in lanes)))
            mov_grp[group] = len(grp_app)
            protected = saturation_vphpl * (0.95 if all(served.moves[k].turn in "LU" for k in group) else 1.0)
            rate = np.array([_movement_rate(k, served, volume, node, durations, protected) for k in group])
            weights = volume[group] if volume[group].sum() > 0 else np.ones(len(group))
            grp_app.append(a)
            grp_lanes.append(len(lanes))
            grp_sat.append(len(lanes) * float(weights.sum() / (weights / rate).sum()))  # mean headway
    return np.array(grp_app, dtype=np.int64), np.array(grp_lanes, dtype=np.int64), np.array(grp_sat), mov_grp


def _pedestrians(
    light: _Light, found: _NetLinks, approaches: list[str], states: list[str], max_green_s: float
) -> tuple[FloatArray, FloatArray]:
    """Crossing length (m) per approach (its longest signalised crossing) and pedestrian minimum
    green (s) per stage: walk plus clearance of the longest crossing green in it, at most
    ``max_green_s``."""
    crossing = np.zeros(len(approaches))
    ped_min = np.zeros(len(states))
    for li, cid in light.crossings:
        length = found.crossing_length_m[cid]
        for a, f in enumerate(approaches):
            if f in found.crossing_edges[cid]:
                crossing[a] = max(crossing[a], length)
        for s, state in enumerate(states):
            if 0 <= li < len(state) and state[li] in "Gg":
                ped_min[s] = max(ped_min[s], min(PED_WALK_S + length / PED_SPEED_MPS, max_green_s))
    return crossing, ped_min


def _min_greens(
    light: _Light, states: list[str], network: RoadNetwork, min_green_s: float, max_green_s: float
) -> FloatArray:
    """Minimum green (s) per stage: ``min_green_s``, or :data:`FAST_THROUGH_MIN_GREEN_S` (at most
    ``max_green_s``) where the stage shows ``G`` to a through movement whose approach (any road
    class) is faster than :data:`FAST_APPROACH_MPS`."""
    speed = dict(zip(map(str, network.link_ids), network.link_speed_mps, strict=True))
    fast = {k for k, c in light.cars if c.turn == "T" and speed[c.src] > FAST_APPROACH_MPS}
    longer = max(min_green_s, min(FAST_THROUGH_MIN_GREEN_S, max_green_s))
    shows = [any(0 <= k < len(st) and st[k] == "G" for k in fast) for st in states]
    return np.where(shows, longer, min_green_s).astype(float)


def _phases(logic: ET.Element, where: str) -> list[tuple[float, str]]:
    """A ``tlLogic``'s phases: duration (s) and state."""
    out = []
    for k, p in enumerate(logic.iter("phase")):
        text = p.get("duration", "")
        try:
            duration = float(text)
        except ValueError:
            duration = np.nan
        if not (np.isfinite(duration) and 0 <= duration <= MAX_TIME_S):
            raise ValueError(f"{where}, phase {k}: duration={text!r} is not a time in [0, {MAX_TIME_S:g}] s")
        out.append((duration, p.get("state", "")))
    return out


def _intergreen(phases: list[tuple[float, str]], stage_phase: list[int]) -> list[float]:
    """Each stage's intergreen (s): the phases after its green up to the next stage's green."""
    ends = [*stage_phase[1:], stage_phase[0] + len(phases)]
    doubled = phases + phases
    return [sum(d for d, _ in doubled[p + 1 : q]) for p, q in zip(stage_phase, ends, strict=True)]


def read_sumo_signals(
    net_xml: str | os.PathLike[str],
    routes_xml: RouteFiles,
    *,
    begin: float = 0.0,
    end: float = 3600.0,
    min_green_s: float = 5.0,
    max_green_s: float = 90.0,
    cycle_bounds_s: tuple[float, float] = (30.0, 180.0),
    saturation_vphpl: float = SATURATION_VPHPL,
) -> SumoSignals:
    """Intersection models of every static traffic light in ``net_xml`` with turning volumes from
    ``routes_xml`` (one route file or several; vehicles departing in ``[begin, end)`` s, in PCU),
    on the network read from the same
    file; ``saturation_vphpl`` is the protected saturation flow per car lane (veh/h of green).
    Every stage's minimum green is ``min_green_s``, but a stage that shows a protected green to a
    through movement from an approach over 40 mph gets :data:`FAST_THROUGH_MIN_GREEN_S` (10 s) if
    ``min_green_s`` is lower (at most ``max_green_s``)."""
    if not end > begin:
        raise ValueError(f"end={end} must be after begin={begin}")
    if not (np.isfinite(saturation_vphpl) and 0 < saturation_vphpl <= MAX_FLOW_VPH):
        raise ValueError(f"saturation_vphpl={saturation_vphpl} must be in (0, {MAX_FLOW_VPH:g}] veh/h per lane")
    net = xml_root(net_xml, "net")
    name = Path(net_xml).name
    network = read_sumo(net_xml)
    link_index = {str(e): k for k, e in enumerate(network.link_ids)}
    node_index = {str(v): k for k, v in enumerate(network.node_ids)}
    counts = _route_counts(routes_xml, begin, end, network, _sumo_edges(net_xml)).counts
    scale = 3600.0 / (end - begin)
    found = _net_links(net, set(link_index), name)
    boxes = _light_boxes(net, inner_paths(net, name), name)
    intersections, programs = [], []
    dark: list[str] = []
    logics = {logic.get("id", ""): logic for logic in net.iter("tlLogic")}  # SUMO runs a light's last program
    for tls, logic in logics.items():
        light = found.lights.get(tls, _Light())
        phases = _phases(logic, f"{name}: traffic light {tls!r}")
        if len({len(st) for _, st in phases}) > 1:
            raise ValueError(f"{name}: traffic light {tls!r}: its phases' states differ in length (one per link)")
        stage_phase = [i for i, (_, st) in enumerate(phases) if ("G" in st or "g" in st) and "y" not in st]
        states = [phases[p][1] for p in stage_phase]
        served = _served(light.cars, states)
        moves = served.moves
        if not moves:
            dark.append(tls)
            continue
        volume = np.array([counts.get((m.src, m.dst), 0.0) * scale for m in moves])
        approaches = sorted({m.src for m in moves})
        grp_app, grp_lanes, grp_sat, mov_grp = _lane_group_arrays(
            served, light.cars, approaches, volume, [found.edge_to[m.src] for m in moves],
            [phases[p][0] for p in stage_phase], saturation_vphpl,
        )  # fmt: skip
        crossing, ped_min = _pedestrians(light, found, approaches, states, max_green_s)
        nodes = sorted({found.edge_to[c.src] for _, c in light.cars})
        main = tls if tls in nodes else max(nodes, key=lambda j: sum(found.edge_to[c.src] == j for _, c in light.cars))
        free = sorted({t for j in nodes for t in found.free.get(j, set())} - {(c.src, c.dst) for _, c in light.cars})
        n_stage = len(stage_phase)
        intersections.append(
            Intersection(
                id=tls, node=node_index[main], nodes=np.array([node_index[j] for j in nodes]),
                approach_link=np.array([link_index[e] for e in approaches]), crossing_length_m=crossing,
                lane_group_approach=grp_app, lane_group_lanes=grp_lanes, saturation_flow_vph=grp_sat,
                movement_lane_group=mov_grp,
                movement_out_link=np.array([link_index[m.dst] for m in moves], dtype=np.int64),
                movement_turn=np.array([m.turn for m in moves]), volume_vph=volume[None, :],
                stage_movements=tuple(np.array(ks, dtype=np.int64) for ks in served.stages),
                min_green_s=_min_greens(light, states, network, min_green_s, max_green_s),
                max_green_s=np.full(n_stage, max_green_s),
                yellow_s=np.array(_intergreen(phases, stage_phase)), all_red_s=np.zeros(n_stage),
                ped_min_green_s=ped_min, cycle_min_s=cycle_bounds_s[0], cycle_max_s=cycle_bounds_s[1],
                uncontrolled_in_link=np.array([link_index[f] for f, _ in free], dtype=np.int64),
                uncontrolled_out_link=np.array([link_index[t] for _, t in free], dtype=np.int64),
            )
        )  # fmt: skip
        box = boxes.get(tls, {})
        links = range(len(phases[0][1]))
        programs.append(
            SumoProgram(
                tls, tuple(d for d, _ in phases), tuple(s for _, s in phases), tuple(stage_phase),
                tuple(box.get(k, ((), ()))[0] for k in links),
                tuple(tuple(m for m in box.get(k, ((), ()))[1] if m in links) for k in links),
            )
        )  # fmt: skip
    if dark:
        warnings.warn(
            f"{name}: {len(dark)} traffic light(s) never show cars a green and are left out (their junctions run "
            f"uncontrolled in the model): {dark[:5]}",
            stacklevel=2,
        )
    if not intersections:
        raise ValueError(f"{name}: no traffic light that shows cars a green")
    return SumoSignals(network, tuple(intersections), tuple(programs))


def sumo_traffic_model(signals: SumoSignals) -> TrafficModel:
    """The traffic model of a SUMO network's lights, with platoon dispersion calibrated to SUMO."""
    return TrafficModel(signals.network, signals.intersections, **SUMO_PLATOONS)
