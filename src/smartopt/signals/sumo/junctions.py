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
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from smartopt._files import xml_root
from smartopt.network import RoadNetwork
from smartopt.signals.model import Intersection
from smartopt.signals.sumo.demand import _route_counts, _sumo_edges
from smartopt.signals.traffic import TrafficModel

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


def sumo_traffic_model(signals: SumoSignals) -> TrafficModel:
    """The traffic model of a SUMO network's lights, with platoon dispersion calibrated to SUMO."""
    return TrafficModel(signals.network, signals.intersections, **SUMO_PLATOONS)
