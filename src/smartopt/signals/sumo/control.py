"""SUMO runs scored the same way: programs as SUMO runs them (:func:`run_programs`) and adaptive
control through TraCI (:func:`run_max_pressure`: the same :class:`MaxPressureController` a service
steps, fed with SUMO's edge detectors)."""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from smartopt._files import xml_root
from smartopt._validation import FloatArray, IntArray, float_array
from smartopt.network.io import read_sumo_connections
from smartopt.signals.adaptive import DetectorCounts, MaxPressureController, PressureGuards
from smartopt.signals.sumo.junctions import InnerPath, SumoSignals, inner_paths, read_sumo_signals
from smartopt.signals.sumo.programs import _transition_state
from smartopt.signals.timing import TimingPlan

JAM_SPACING_M = 7.5
"""Road length (m) a stopped vehicle takes per lane: SUMO's default car (5 m) plus its minimum gap
(2.5 m); a link stores ``length x lanes / JAM_SPACING_M`` vehicles."""


def _movement_lanes(
    net_xml: str | os.PathLike[str], signals: SumoSignals
) -> tuple[list[str], IntArray, IntArray, FloatArray, IntArray]:
    """Where each movement of the lights (in order) queues: the lanes its connections leave from,
    each lane's queue shared equally among the movements that use it. Returns the lanes; per
    (movement, lane) pair the movement's position, the lane's position and the share; and per
    movement the approach link whose queue it takes instead, or -1 (one the model joined from
    several edges has no connection of its own in the file)."""
    uses: dict[tuple[str, str], set[str]] = defaultdict(set)
    for c in xml_root(net_xml, "net").iter("connection"):
        if c.get("tl") is not None:
            uses[c.get("from", ""), c.get("to", "")].add(f"{c.get('from', '')}_{c.get('fromLane', '0')}")
    sharing = Counter(lane for lanes in uses.values() for lane in lanes)
    lanes = sorted(sharing)
    position = {lane: k for k, lane in enumerate(lanes)}
    ids = signals.network.link_ids
    move: list[int] = []
    lane: list[int] = []
    share: list[float] = []
    instead: list[int] = []
    for x in signals.intersections:
        in_link = x.approach_link[x.lane_group_approach[x.movement_lane_group]]
        for a, b in zip(in_link, x.movement_out_link, strict=True):
            used = sorted(uses.get((str(ids[a]), str(ids[b])), ()))
            move += [len(instead)] * len(used)
            lane += [position[ln] for ln in used]
            share += [1.0 / sharing[ln] for ln in used]
            instead.append(-1 if used else int(a))
    return lanes, np.array(move, dtype=np.int64), np.array(lane, dtype=np.int64), np.array(share), np.array(instead)


DETECTOR_RANGE_M = 150.0
"""How far (m) the detectors of a light reach from its stop lines upstream and from its exits
downstream, past short edges (turn bays, a junction's inner pieces) up to the next light."""


def _detector_zones(net_xml: str | os.PathLike[str], signals: SumoSignals, range_m: float) -> tuple[IntArray, IntArray]:
    """The links each light's detectors cover for each of its approach and exit links: the link,
    and the links upstream of an approach (downstream of an exit) whose end nearest the light is
    within ``range_m`` along SUMO's connections, not past another signalised junction. Returns
    pairs ``(watched link, covered link)``."""
    network = signals.network
    turn_in, turn_out = read_sumo_connections(net_xml, network)
    signalised = {int(n) for x in signals.intersections for n in x.nodes}
    into: dict[int, list[int]] = defaultdict(list)
    out_of: dict[int, list[int]] = defaultdict(list)
    for a, b in zip(turn_in.tolist(), turn_out.tolist(), strict=True):
        into[b].append(a)
        out_of[a].append(b)
    length = network.link_length_m
    pairs: set[tuple[int, int]] = set()

    def cover(link: int, upstream: bool) -> None:
        frontier, seen = [(link, 0.0)], {link}
        while frontier:
            k, reach = frontier.pop()
            pairs.add((link, k))
            node = int(network.link_tail[k] if upstream else network.link_head[k])
            if node in signalised or reach + length[k] >= range_m:
                continue
            for nxt in into[k] if upstream else out_of[k]:
                if nxt not in seen:
                    seen.add(nxt)
                    frontier.append((nxt, reach + float(length[k])))

    for x in signals.intersections:
        for k in x.approach_link:
            cover(int(k), upstream=True)
        for k in x.movement_out_link:
            cover(int(k), upstream=False)
    watched, covered = zip(*sorted(pairs), strict=True)
    return np.array(watched, dtype=np.int64), np.array(covered, dtype=np.int64)


def _light_lanes(signals: SumoSignals) -> tuple[list[str], IntArray]:
    """The internal lanes of the junctions each light controls, and per lane the light's position."""
    owner = {ln: i for i, prog in enumerate(signals.programs) for chain in prog.box_lanes for ln, _ in chain}
    box = sorted(owner)
    return box, np.array([owner[ln] for ln in box], dtype=np.int64)


def _junction_lanes(
    crossings: Sequence[InnerPath], signals: SumoSignals, zone: IntArray, covered: IntArray, lanes: Sequence[str]
) -> tuple[list[str], IntArray, IntArray, IntArray]:
    """The internal lanes of the unsignalised junctions where vehicles wait out of the edge
    detectors' sight (a queue backing over a junction stops on its inner lanes; before an edge
    a metre long, there is nowhere else to wait): those between two edges a light watches
    together, and those leading into a lane a movement leaves from. Returns the internal lanes;
    per (watched link, internal lane) pair both positions; and per internal lane the position
    in ``lanes`` it queues for, or -1."""
    ids = [str(e) for e in signals.network.link_ids]
    watched_by: dict[str, set[int]] = defaultdict(set)
    for w, k in zip(zone.tolist(), covered.tolist(), strict=True):
        watched_by[ids[k]].add(w)
    lane_position = {ln: k for k, ln in enumerate(lanes)}
    pairs: set[tuple[int, str]] = set()
    queues_for: dict[str, int] = {}
    for path in crossings:
        if path.tls is not None:
            continue
        frm, to_lane, chain = path.src, path.to_lane, path.lanes
        to_edge = to_lane.rsplit("_", 1)[0]
        for w in watched_by.get(frm, set()) & watched_by.get(to_edge, set()):
            pairs.update((w, ln) for ln in chain)
        if to_lane in lane_position:
            queues_for.update((ln, lane_position[to_lane]) for ln in chain)
    inner = sorted({ln for _, ln in pairs} | set(queues_for))
    position = {ln: k for k, ln in enumerate(inner)}
    ordered = sorted(pairs, key=lambda p: (p[0], position[p[1]]))
    return (
        inner,
        np.array([w for w, _ in ordered], dtype=np.int64),
        np.array([position[ln] for _, ln in ordered], dtype=np.int64),
        np.array([queues_for.get(ln, -1) for ln in inner], dtype=np.int64),
    )


def _paths(files: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> list[str]:
    return [str(files)] if isinstance(files, str | os.PathLike) else [str(f) for f in files]


def run_max_pressure(
    net_xml: str | os.PathLike[str],
    routes_xml: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    tripinfo: str | os.PathLike[str],
    seed: int = 42,
    decision_s: float = 5.0,
    begin: float = 0.0,
    end: float | None = None,
    guards: PressureGuards | None = None,
    fallback: TimingPlan | None = None,
    additional: Sequence[str | os.PathLike[str]] = (),
    time_to_teleport_s: float = 300.0,
    signals: SumoSignals | None = None,
    movement_pressure: bool = False,
    detector_range_m: float = DETECTOR_RANGE_M,
    moving_weight: float = 0.5,
) -> dict[str, float]:
    """Runs SUMO from ``begin`` to ``end`` (s; until the last vehicle arrives when None) with
    every light under a :class:`~smartopt.signals.MaxPressureController`: every ``decision_s``
    seconds of green each light keeps or changes its stage from the vehicles (halting and
    moving) on its approach and exit edges and the edges within ``detector_range_m`` of them (m;
    upstream of an approach, downstream of an exit, up to the next light: SUMO nets cut
    approaches into short pieces), the inner lanes of the unsignalised junctions between them
    included (and per movement, on the lanes it leaves from with a shared lane's
    queue split among its movements, when ``movement_pressure``: off by default, as pressure per
    approach lost 10 % less time on a saturated 4 x 4 grid); the maximum-red guard judges a
    stage's demand per movement; a change shows the intergreen of the stage that ends (yellow on the
    links that lose green), held on while vehicles stand on the light's own inner lanes.
    ``guards`` (default: on) judge an exit full from the vehicles on it against its storage
    (length x lanes / :data:`JAM_SPACING_M`, both over the detectors' range), and send lights to
    the ``fallback`` fixed-time plan while their exits stay full; a vehicle moving on a link
    counts ``moving_weight`` of a halting one (0: queues alone). ``routes_xml`` is one route file
    or several; ``additional`` files go to SUMO as they are; ``signals`` are the network's lights
    when already read (:func:`read_sumo_signals`; read from ``net_xml`` and the route files
    otherwise). Writes SUMO's tripinfo to ``tripinfo`` and returns the mean time loss (s, per
    completed trip), total time loss with departure delays (veh h), completed trips, teleports, and
    the vehicles loaded and inserted."""
    import subprocess
    import sys

    import sumo

    tools = str(Path(sumo.SUMO_HOME) / "tools")
    if tools not in sys.path:
        sys.path.append(tools)
    import traci
    import traci.constants as tc

    float_array("decision_s", [decision_s], positive=True)
    float_array("detector_range_m", [detector_range_m], nonnegative=True)
    routes = _paths(routes_xml)
    if signals is None:
        signals = read_sumo_signals(net_xml, routes, begin=begin, end=begin + 3600.0 if end is None else end)
    network = signals.network
    zone, covered = _detector_zones(net_xml, signals, detector_range_m)
    link_storage = network.link_length_m * network.link_lanes / JAM_SPACING_M
    controller = MaxPressureController(
        signals.intersections, network.num_links, decision_s=decision_s, guards=guards, fallback=fallback,
        movement_pressure=movement_pressure, moving_weight=moving_weight,
        storage_veh=np.maximum(np.bincount(zone, link_storage[covered], minlength=network.num_links), 1.0),
    )  # fmt: skip
    green = [[prog.states[p] for p in prog.stage_phase] for prog in signals.programs]
    watched = np.unique(covered)
    edges = [str(network.link_ids[k]) for k in watched]
    lanes, move, lane, share, instead = _movement_lanes(net_xml, signals)
    crossings = inner_paths(xml_root(net_xml, "net"), Path(net_xml).name)
    inner, inner_zone, inner_covered, inner_lane = _junction_lanes(crossings, signals, zone, covered, lanes)
    box, box_light = _light_lanes(signals)

    def counts() -> DetectorCounts:
        on_edge = traci.edge.getAllSubscriptionResults()
        on_lane = traci.lane.getAllSubscriptionResults()
        halting, on_link = np.zeros(network.num_links), np.zeros(network.num_links)
        halting[watched] = [on_edge[e][tc.LAST_STEP_VEHICLE_HALTING_NUMBER] for e in edges]
        on_link[watched] = [on_edge[e][tc.LAST_STEP_VEHICLE_NUMBER] for e in edges]
        inner_halting = np.array([on_lane[ln][tc.LAST_STEP_VEHICLE_HALTING_NUMBER] for ln in inner], dtype=float)
        inner_on = np.array([on_lane[ln][tc.LAST_STEP_VEHICLE_NUMBER] for ln in inner], dtype=float)
        queue = np.bincount(zone, halting[covered], minlength=network.num_links)
        queue += np.bincount(inner_zone, inner_halting[inner_covered], minlength=network.num_links)
        vehicles = np.bincount(zone, on_link[covered], minlength=network.num_links)
        vehicles += np.bincount(inner_zone, inner_on[inner_covered], minlength=network.num_links)
        halting = np.array([on_lane[ln][tc.LAST_STEP_VEHICLE_HALTING_NUMBER] for ln in lanes], dtype=float)
        feeds = inner_lane >= 0
        halting += np.bincount(inner_lane[feeds], inner_halting[feeds], minlength=len(lanes))
        by_lanes = np.bincount(move, share * halting[lane], minlength=instead.shape[0]) if lanes else 0.0
        standing = np.array([on_lane[ln][tc.LAST_STEP_VEHICLE_HALTING_NUMBER] for ln in box], dtype=float)
        inside = np.bincount(box_light, standing, minlength=len(signals.intersections))
        return DetectorCounts(queue, np.where(instead < 0, by_lanes, queue[instead]), vehicles, inside)

    cmd = _sumo_command(
        net_xml, routes, additional, seed=seed, begin=begin, end=end, tripinfo=tripinfo,
        time_to_teleport_s=time_to_teleport_s,
    )  # fmt: skip
    traci.start(cmd, stdout=subprocess.DEVNULL)
    try:
        for e in edges:
            traci.edge.subscribe(e, [tc.LAST_STEP_VEHICLE_HALTING_NUMBER, tc.LAST_STEP_VEHICLE_NUMBER])
        for ln in lanes:
            traci.lane.subscribe(ln, [tc.LAST_STEP_VEHICLE_HALTING_NUMBER])
        for ln in inner:
            traci.lane.subscribe(ln, [tc.LAST_STEP_VEHICLE_HALTING_NUMBER, tc.LAST_STEP_VEHICLE_NUMBER])
        for ln in box:
            traci.lane.subscribe(ln, [tc.LAST_STEP_VEHICLE_HALTING_NUMBER])
        traci.simulationStep()  # subscriptions report from the first step on
        t = traci.simulation.getTime()
        while True:
            shown = controller.step(counts(), t)
            for i in np.flatnonzero(shown.started | shown.changing):
                now = green[i][shown.stage[i]]
                state = now if shown.next_stage[i] < 0 else _transition_state(now, green[i][shown.next_stage[i]])
                traci.trafficlight.setRedYellowGreenState(signals.programs[i].tls_id, state)
            if traci.simulation.getMinExpectedNumber() <= 0 or (end is not None and t >= end):
                break
            traci.simulationStep()
            t = traci.simulation.getTime()
    finally:
        traci.close()
    return _scores(tripinfo, Path(tripinfo).with_suffix(".stats.xml"))


def _sumo_command(
    net_xml: str | os.PathLike[str],
    routes: list[str],
    additional: Sequence[str | os.PathLike[str]],
    *,
    seed: int,
    begin: float,
    end: float | None,
    tripinfo: str | os.PathLike[str],
    time_to_teleport_s: float,
) -> list[str]:
    """SUMO's command line for a scored run: tripinfo and statistics written beside ``tripinfo``."""
    import sumo

    float_array("begin", [begin], nonnegative=True)
    if end is not None and not end > begin:
        raise ValueError(f"end={end} must be after begin={begin}")
    float_array("time_to_teleport_s", [time_to_teleport_s])
    cmd = [str(Path(sumo.SUMO_HOME) / "bin" / "sumo"), "-n", str(net_xml), "-r", ",".join(routes),
           "--seed", str(seed), "--tripinfo-output", str(tripinfo), "--no-step-log", "--duration-log.disable",
           "--time-to-teleport", f"{time_to_teleport_s:g}", "--statistic-output",
           str(Path(tripinfo).with_suffix(".stats.xml")), "--begin", f"{begin:g}", "--no-warnings"]  # fmt: skip
    if additional:
        cmd += ["-a", ",".join(_paths(additional))]
    if end is not None:  # the trips still running at the end are scored with the time they lost so far
        cmd += ["--end", f"{end:g}", "--tripinfo-output.write-unfinished"]
    return cmd


def _scores(tripinfo: str | os.PathLike[str], stats: str | os.PathLike[str]) -> dict[str, float]:
    """A run's scores from SUMO's tripinfo and statistics: mean time loss per completed trip (s),
    total time loss with departure delays (veh h; in a run cut at its end, the time lost so far
    by the trips still running and the wait of those still to enter included, so a control that
    builds a backlog is not scored on the trips it let through), completed trips, teleports, and
    the vehicles loaded and inserted."""
    root = xml_root(stats, "statistics")
    teleports, vehicles, trip_stats = root.find("teleports"), root.find("vehicles"), root.find("vehicleTripStatistics")
    trips = xml_root(tripinfo, "tripinfos").findall("tripinfo")
    done = [tr for tr in trips if float(tr.get("arrival", "0")) >= 0.0]
    loss = sum(float(tr.get("timeLoss", "0")) + float(tr.get("departDelay", "0")) for tr in trips)
    waiting = float(vehicles.get("waiting", "0")) if vehicles is not None else 0.0
    loss += waiting * (float(trip_stats.get("departDelayWaiting", "0")) if trip_stats is not None else 0.0)
    counts = {k: float(vehicles.get(k, "nan")) if vehicles is not None else np.nan for k in ("loaded", "inserted")}
    return {"mean_time_loss_s": float(np.mean([float(tr.get("timeLoss", "0")) for tr in done])) if done else np.nan,
            "total_time_loss_veh_h": float(loss / 3600.0), "completed_trips": float(len(done)),
            "teleports": float(teleports.get("total", "0") if teleports is not None else 0),
            "loaded": counts["loaded"], "inserted": counts["inserted"]}  # fmt: skip


def run_programs(
    net_xml: str | os.PathLike[str],
    routes_xml: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    tripinfo: str | os.PathLike[str],
    programs: Sequence[str | os.PathLike[str]] = (),
    additional: Sequence[str | os.PathLike[str]] = (),
    seed: int = 42,
    begin: float = 0.0,
    end: float | None = None,
    time_to_teleport_s: float = 300.0,
) -> dict[str, float]:
    """Runs SUMO from ``begin`` to ``end`` (s; until the last vehicle arrives when None) with the
    ``tlLogic`` files ``programs`` loaded after ``additional`` (none: the network's own programs),
    so SUMO runs them itself (static, actuated or delay-based). Writes SUMO's tripinfo to
    ``tripinfo`` and returns the scores :func:`run_max_pressure` returns, plus the vehicles loaded
    and inserted. ``ValueError`` with SUMO's message when SUMO refuses the files."""
    import subprocess

    cmd = _sumo_command(
        net_xml, _paths(routes_xml), [*additional, *programs], seed=seed, begin=begin, end=end, tripinfo=tripinfo,
        time_to_teleport_s=time_to_teleport_s,
    )  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise ValueError(f"SUMO refused {Path(net_xml).name} with its files: {done.stderr.strip()[-500:]}")
    return _scores(tripinfo, Path(tripinfo).with_suffix(".stats.xml"))
