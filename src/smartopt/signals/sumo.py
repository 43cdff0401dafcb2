"""SUMO in and out: traffic lights of a ``.net.xml`` plus a route file become :class:`Intersection`
models; timing plans go back as ``tlLogic`` programs with the same ids, link indices and states.

Reading: every green phase of a light's program (one with ``G``/``g`` and no ``y``) is a stage; the
phases after it up to the next green phase (yellow, red) are its intergreen (counted as yellow).
A movement is a pair (incoming edge, outgoing edge) of the light's connections; a stage serves it
when one of its links shows ``G`` (protected), or ``g`` when the movement is never protected. Lanes
of an approach that share a movement form one lane group; saturation flow is
:data:`SATURATION_VPHPL` per lane (x0.95 for left-turn-only lanes). Volumes count the vehicles
of the route file that depart in ``[begin, end)`` and make each turn, scaled to veh/h.
"""

from __future__ import annotations

import itertools
import os
import xml.etree.ElementTree as ET
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from smartopt._files import xml_root
from smartopt._validation import float_array
from smartopt.network import RoadNetwork
from smartopt.signals.model import Intersection
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


def _route_counts(
    routes_xml: str | os.PathLike[str], begin: float, end: float
) -> tuple[dict[str, float], dict[tuple[str, str], float]]:
    """Among the vehicles departing in [begin, end): how many start on each edge, and how many
    pass from each edge to the next (route files with ``<vehicle>`` elements and explicit
    routes, as duarouter writes them)."""
    starts: dict[str, float] = defaultdict(float)
    counts: dict[tuple[str, str], float] = defaultdict(float)
    for veh in xml_root(routes_xml, "routes").iter("vehicle"):
        depart = float(veh.get("depart", "0"))
        route = veh.find("route")
        if not begin <= depart < end or route is None:
            continue
        edges = route.get("edges", "").split()
        if edges:
            starts[edges[0]] += 1.0
        for a, b in itertools.pairwise(edges):
            counts[a, b] += 1.0
    return starts, counts


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
    _, counts = _route_counts(routes_xml, begin, end)
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
    network: RoadNetwork, routes_xml: str | os.PathLike[str], *, begin: float = 0.0, end: float = 3600.0
) -> TrafficDemand:
    """The vehicles of ``routes_xml`` departing in ``[begin, end)`` as :class:`TrafficDemand` on
    ``network`` (read from the same SUMO net): entries where routes start, turns edge to edge (veh/h)."""
    if not end > begin:
        raise ValueError(f"end={end} must be after begin={begin}")
    starts, counts = _route_counts(routes_xml, begin, end)
    scale = 3600.0 / (end - begin)
    index = {str(e): k for k, e in enumerate(network.link_ids)}
    unknown = [e for e in (*starts, *(e for pair in counts for e in pair)) if e not in index]
    if unknown:
        raise ValueError(f"routes use edge {unknown[0]!r}, which is not a road link of the network")
    entry = np.zeros(network.num_links)
    for e, n in starts.items():
        entry[index[e]] += n * scale
    pairs = list(counts)
    return TrafficDemand(
        entry,
        np.array([index[a] for a, _ in pairs], dtype=np.int64),
        np.array([index[b] for _, b in pairs], dtype=np.int64),
        np.array([counts[p] * scale for p in pairs]),
    )
