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
from smartopt.signals.model import MAX_TIME_S
from smartopt.signals.sumo.junctions import SumoProgram, SumoSignals
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


CLEARANCE_STEP_S = 1.0
"""A red clearance extension's shortest run (s): one step of SUMO's default simulation step."""
CLEARANCE = "clearance"
"""The ``name`` of a red clearance extension's phase."""


def actuated_programs(
    signals: SumoSignals,
    plan: TimingPlan,
    *,
    kind: Literal["actuated", "delay_based"] = "actuated",
    skipping: bool = True,
    max_clearance_s: float | None = 5.0,
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
    detectors see vehicles only). With ``max_clearance_s`` (s; None: off), a red clearance
    extension of 1 s up to 1 s + that long follows an intergreen while a vehicle stands in the junction on
    a link that must give way to one the next stage turns green (:func:`_clearance_extensions`):
    SUMO's ``actuated`` logic, with box detectors and conditions, so no TraCI either."""
    if kind not in ACTUATION_PARAMS:
        raise ValueError(f"kind={kind!r} must be one of {sorted(ACTUATION_PARAMS)}")
    skipping = bool_flag("skipping", skipping)
    if max_clearance_s is not None and not (np.isfinite(max_clearance_s) and 0 < max_clearance_s <= MAX_TIME_S):
        raise ValueError(f"max_clearance_s={max_clearance_s} must be None or in (0, {MAX_TIME_S:g}] s")
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
        if max_clearance_s is not None and kind == "actuated":
            out[prog.tls_id].update(_clearance_extensions(out[prog.tls_id]["phases"], prog, max_clearance_s))
    return out


def _clearance_extensions(phases: list[dict[str, Any]], prog: SumoProgram, max_clearance_s: float) -> dict[str, Any]:
    """Red clearance extensions for a program's ``phases`` (stage greens are those with
    ``minDur``): for each green that only intergreens lead to, the box lanes it must see clear
    are the internal lanes of the links it leaves red that give way to one of its greens which
    gives way to them in turn (a vehicle standing there when that green starts and the green's
    vehicles wait for each other: SUMO locks up until it teleports one). Each transition from
    a green that one of those links had ends in a phase that goes on to the green when no
    vehicle stands on them (the green's ``finalTarget``) and else to an all-red
    extension that ends once they are clear (the green's ``earlyTarget``),
    :data:`CLEARANCE_STEP_S` to that plus ``max_clearance_s`` s long. Returns
    the program's new ``phases``, its ``conditions`` (id -> SUMO expression) and ``detectors``
    (id -> internal lane and its length m, a lane area detector over the whole lane)."""
    out = [dict(ph) for ph in phases]
    n = len(out)
    green = ["minDur" in ph for ph in out]
    after = [list(ph.get("next", [(i + 1) % n])) for i, ph in enumerate(out)]
    direct = {b for i in range(n) if green[i] for b in after[i] if green[b]}
    before = {j: i for i in range(n) for j in after[i] if not green[j]}  # an intergreen phase's predecessor
    left_from = {}  # per intergreen phase: the green its transition leaves
    for i in before:
        k, steps = i, 0
        while not green[k] and k in before and steps <= n:
            k, steps = before[k], steps + 1
        left_from[i] = k
    detector: dict[tuple[str, float], str] = {}  # box lane -> detector id
    conditions: dict[str, str] = {}
    links = min(len(prog.yields_to), len(prog.box_lanes), *(len(ph["state"]) for ph in out))
    for b in range(n):
        state = out[b]["state"]
        if not green[b] or b in direct:
            continue
        held = [
            k for k in range(links)
            if state[k] not in "Gg"
            and any(m < links and state[m] in "Gg" and k in prog.yields_to[m] for m in prog.yields_to[k])
        ]  # fmt: skip
        box = sorted({lane for k in held for lane in prog.box_lanes[k] if lane[1] > 0})
        ends = [
            i for i in range(n)
            if not green[i] and after[i] == [b] and any(out[left_from[i]]["state"][k] in "Gg" for k in held)
        ]  # fmt: skip
        if not box or not ends:
            continue
        for lane in box:
            detector.setdefault(lane, f"box{len(detector)}")
        cid = f"clear{b}"
        conditions[cid] = " + ".join(f"w:{detector[lane]}" for lane in box) + " = 0"
        out[b].update(earlyTarget=cid, finalTarget=cid)
        for i in ends:
            out[i]["next"] = [b, len(out)]
            out.append({
                "duration": CLEARANCE_STEP_S, "state": "r" * len(state), "name": CLEARANCE,
                "minDur": CLEARANCE_STEP_S, "maxDur": CLEARANCE_STEP_S + max_clearance_s, "next": [b],
            })  # fmt: skip
    if len(out) > n:  # the phases after the last one are extensions now: no phase falls through to them
        for i in range(n):
            out[i].setdefault("next", after[i])
    return {"phases": out, "conditions": conditions, "detectors": {d: lane for lane, d in detector.items()}}


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
    ``params``, its phases with ``minDur``/``maxDur``, ``next`` (phase indices) and
    ``earlyTarget``/``finalTarget`` where given, its ``conditions``, and before them its
    ``detectors`` as lane area detectors named ``<tls>_<program_id>_<id>`` (as SUMO's conditions
    find them) with no output."""
    root = ET.Element("additional")
    for tls, prog in programs.items():
        for det, (lane, length) in prog.get("detectors", {}).items():
            ET.SubElement(
                root, "laneAreaDetector", id=f"{tls}_{program_id}_{det}", lane=lane, pos="0", endPos=f"{length:g}",
                file="NUL",
            )  # fmt: skip
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
            attrib.update({k: ph[k] for k in ("earlyTarget", "finalTarget", "name") if k in ph})
            ET.SubElement(logic, "phase", attrib)
        for cid, value in prog.get("conditions", {}).items():
            ET.SubElement(logic, "condition", id=cid, value=value)
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
