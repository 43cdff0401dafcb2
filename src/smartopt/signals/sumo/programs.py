"""Timing plans back to SUMO: ``tlLogic`` programs with the network's ids, link indices and states."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from smartopt.signals.sumo.junctions import SumoSignals
from smartopt.signals.timing import TimingPlan


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
