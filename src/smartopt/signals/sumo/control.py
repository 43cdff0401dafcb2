"""Adaptive control of a SUMO simulation through TraCI."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from smartopt._files import xml_root
from smartopt._validation import float_array
from smartopt.signals.sumo.junctions import read_sumo_signals
from smartopt.signals.sumo.programs import _transition_state


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
