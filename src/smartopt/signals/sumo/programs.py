"""Timing plans back to SUMO: ``tlLogic`` programs with the network's ids, link indices and states,
fixed-time (:func:`plan_programs`) or actuated by SUMO's own detectors (:func:`actuated_programs`)."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from smartopt._validation import bool_flag
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


ACTUATION_PARAMS: dict[str, dict[str, str]] = {
    "actuated": {"max-gap": "3.0", "detector-gap": "2.0", "passing-time": "2.0", "show-detectors": "false"},
    "delay_based": {"detectorRange": "100", "minTimeloss": "1.0", "show-detectors": "false"},
}
"""SUMO's actuation parameters per program type. Gap-based (``actuated``): a green is extended
while vehicles pass the detector at most ``max-gap`` s apart (3 s: HCM's passage time for
urban approaches); detectors sit ``detector-gap`` s of travel upstream of the stop line (2 s,
e.g. 28 m at 50 km/h: the last extension still reaches the line within the yellow);
``passing-time`` is the s a vehicle needs from detector to stop line (2 s, SUMO's estimate).
Time-loss-based (``delay_based``): vehicles within ``detectorRange`` m whose time loss exceeds
``minTimeloss`` s extend the green. Detectors are not written to outputs (``show-detectors``)."""


def actuated_programs(
    signals: SumoSignals,
    plan: TimingPlan,
    *,
    kind: Literal["actuated", "delay_based"] = "actuated",
    skipping: bool = True,
) -> dict[str, dict[str, Any]]:
    """The plan as SUMO programs that SUMO's own detectors actuate (no TraCI needed): each green
    phase starts at the plan's green (``duration``, s), may end after the stage's minimum green
    (``minDur``: the model's minimum, pedestrian minimum included, s) and is extended up to
    ``maxDur``, the green the plan's split gives the stage at the intersection's longest cycle
    (s; the most a fixed-time engineer would give the stage, capped at its maximum green, never
    under the plan's green). Intergreen phases and the offset are the plan's
    (:func:`plan_programs`); ``kind`` picks gap-based or time-loss-based actuation, with
    :data:`ACTUATION_PARAMS`. With ``skipping`` (lights of three stages or more), a stage that
    no detector calls is skipped, as field controllers do: each green may hand over to any later
    stage (:func:`_skipping_phases`), SUMO picking the one whose detectors call most and the next
    in order when none calls; stages that give pedestrians a green are never skipped (SUMO's
    detectors see vehicles only)."""
    if kind not in ACTUATION_PARAMS:
        raise ValueError(f"kind={kind!r} must be one of {sorted(ACTUATION_PARAMS)}")
    skipping = bool_flag("skipping", skipping)
    out = plan_programs(signals, plan)
    for i, (x, prog) in enumerate(zip(signals.intersections, signals.programs, strict=True)):
        ns = len(prog.stage_phase)
        green = plan.green_s[i, :ns]
        lowest = np.maximum(x.min_green_s, x.ped_min_green_s)[:ns]
        share = green / green.sum() if green.sum() > 0 else np.full(ns, 1.0 / ns)
        longest = np.minimum((x.cycle_max_s - x.lost_time_s) * share, x.max_green_s[:ns])
        phases = out[prog.tls_id]["phases"]
        for k, p in enumerate(prog.stage_phase):
            g = phases[p]["duration"]
            phases[p]["minDur"] = round(min(float(lowest[k]), g), 2)
            phases[p]["maxDur"] = round(max(float(longest[k]), g), 2)
        out[prog.tls_id].update(type=kind, params=dict(ACTUATION_PARAMS[kind]))
        if skipping and ns >= 3:
            walk = tuple(bool(w) for w in x.ped_min_green_s[:ns] > 0)
            out[prog.tls_id].update(
                phases=_skipping_phases(phases, prog.stage_phase, walk), offset=round(float(plan.offset_s[i]), 2)
            )
    return out


def _skipping_phases(
    phases: list[dict[str, Any]], stage_phase: Sequence[int], keep: Sequence[bool]
) -> list[dict[str, Any]]:
    """A program's phases laid out so that each stage's green may hand over to any later stage
    up to the first one it must not skip (``keep``): its green, then its own intergreen to the
    next stage, then one to each later stage (the yellow of its own intergreen on the links that
    lose green, then red for the rest of it; the intergreen of the first stage on the way that has
    one when it has none). The green's ``next`` lists the transitions in
    cycle order (SUMO's choice when no detector calls is the first) and each transition's last
    phase ``next`` is the green it leads to. The first phase is the first stage's green."""
    n = len(stage_phase)
    ends = [*stage_phase[1:], stage_phase[0] + len(phases)]
    doubled = phases + phases
    own = [[dict(ph) for ph in doubled[p + 1 : e]] for p, e in zip(stage_phase, ends, strict=True)]
    legs: list[list[tuple[int, list[dict[str, Any]]]]] = []  # per stage: (to stage, transition phases)
    for a, p in enumerate(stage_phase):
        legs.append([((a + 1) % n, own[a])])
        for d in range(2, n):
            if keep[(a + d - 1) % n]:
                break
            b = (a + d) % n
            # the intergreen of the first stage on the way that has one (a stage that only adds
            # greens to the next may have none)
            via = next((own[(a + k) % n] for k in range(d) if own[(a + k) % n]), [])
            total = sum(ph["duration"] for ph in via)
            state = _transition_state(phases[p]["state"], phases[stage_phase[b]]["state"])
            yellow = min(via[0]["duration"], total) if via else 0.0
            steps = [{"duration": yellow, "state": state}] if yellow > 0 else []
            if total > yellow:
                steps.append({"duration": round(total - yellow, 2), "state": state.replace("y", "r")})
            legs[a].append((b, steps))
    green_at, at = [], 0
    for a in range(n):
        green_at.append(at)
        at += 1 + sum(len(steps) for _, steps in legs[a])
    out: list[dict[str, Any]] = []
    for a, p in enumerate(stage_phase):
        green = dict(phases[p])
        out.append(green)
        starts = []
        for b, steps in legs[a]:
            starts.append(len(out) if steps else green_at[b])
            out.extend(steps)
            if steps:
                out[-1] = {**out[-1], "next": [green_at[b]]}
        if len(starts) > 1:
            green["next"] = starts
    return out


def write_tllogic(
    programs: dict[str, dict[str, Any]], path: str | os.PathLike[str], program_id: str = "smartopt"
) -> None:
    """Writes programs (from :func:`plan_programs` or :func:`actuated_programs`) as a SUMO
    additional file of ``tlLogic``s: a program's ``type`` (``static`` when absent) and
    ``params``, its phases with ``minDur``/``maxDur`` and ``next`` (phase indices) where given."""
    root = ET.Element("additional")
    for tls, prog in programs.items():
        logic = ET.SubElement(
            root, "tlLogic", id=tls, type=prog.get("type", "static"), programID=program_id,
            offset=f"{prog['offset']:g}",
        )  # fmt: skip
        for key, value in prog.get("params", {}).items():
            ET.SubElement(logic, "param", key=key, value=str(value))
        for ph in prog["phases"]:
            attrib = {"duration": f"{ph['duration']:g}", "state": ph["state"]}
            attrib.update({k: f"{ph[k]:g}" for k in ("minDur", "maxDur") if k in ph})
            if "next" in ph:
                attrib["next"] = " ".join(str(int(k)) for k in ph["next"])
            ET.SubElement(logic, "phase", attrib)
    ET.indent(root)
    Path(path).write_text(ET.tostring(root, encoding="unicode") + "\n")


def _transition_state(green_from: str, green_to: str) -> str:
    """The yellow shown when leaving one green state for another: links that lose their green
    show ``y``, links that gain it ``r`` (not green yet), links green in both keep a permitted
    ``g`` if either shows one (a left turn is not protected while the opposing traffic still
    clears on yellow), the others show what the next green shows."""
    out = []
    for a, b in zip(green_from, green_to, strict=True):
        if a in "Gg" and b not in "Gg":
            out.append("y")
        elif b in "Gg":
            out.append("r" if a not in "Gg" else "g" if "g" in (a, b) else "G")
        else:
            out.append(b)
    return "".join(out)
