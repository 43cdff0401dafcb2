"""Calibration of the traffic model to a SUMO scenario: saturation flow, start-up lost time, jam
spacing and platoon dispersion from the scenario's vehicle types, lane speeds and junctions
(:func:`calibrate`), checked or refitted by a short SUMO run of the scenario itself (:func:`refit`).

Derivation, for SUMO's default car following (Krauss, 1 s steps). The vehicle mix is the
scenario's vehicle types weighted by how many of each depart in the window (SUMO's vClass
defaults where a vType leaves a parameter out).

- Saturation headway. A Krauss follower at speed ``v`` keeps the gap ``v * tau``, so a queue
  discharges like Newell's car following: each vehicle starts ``tau`` after its leader and crosses
  the stop line ``tau + s / v`` after it, ``s = length + minGap``. The platoon's ``v`` is the lane's
  (or the turn's, through the junction) limit times the speed factor of its slowest vehicle
  ahead, about ``speedFactor - 1.42 speedDev`` (:data:`PLATOON_Z`); dawdling adds about
  ``0.6 sigma`` s (:data:`DAWDLE_S`). Against SUMO 1.28's queue discharge on a straight lane at
  30, 50 and 70 km/h (tau 1-2 s, sigma 0 and 0.5, length 4.3-12 m, speedDev 0 and 0.1) this is
  within 7 % (mostly 3 %). Saturation flow is ``3600 / h`` averaged in headway over the mix.
- Start-up lost time (HCM: ``t4 - 4 h``). The queue leader reaches the platoon speed ``v`` after
  ``v / (2 accel)`` s more than at speed; each follower repeats its leader's path ``tau`` later,
  so the fourth crosses ``v / (2 accel) - h`` after four saturated headways (at least 0).
- Yellow used: a vehicle that cannot stop at ``decel`` passes on yellow, which takes those within
  ``v^2 / (2 decel)`` of the line: ``v / (2 decel)`` s of discharge.
- Jam spacing: ``length + minGap`` of the mix, per passenger car unit (the demand's unit).
- Platoon dispersion. TRANSYT's recurrence spreads a link's travel times as a geometric
  distribution after a lag ``beta T`` (``T`` the free-flow time): ``x = alpha beta T / dt`` steps
  of mean and ``x (1 + x)`` of variance. SUMO's travel times have mean ``L / v`` and variance
  ``(L / v)^2 cv^2`` with ``v`` the mean speed (speed factor times limit, less the mean dawdle
  ``sigma accel dt / 2``) and ``cv`` its coefficient of variation from ``speedDev``; matching the
  variance gives ``x``, the mean gives the lag, on each controlled approach (median of them).
"""

from __future__ import annotations

import bisect
import math
import os
import re
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from smartopt._files import existing_file, xml_root
from smartopt.network.io import car_lanes
from smartopt.signals.sumo.demand import DEFAULT_TYPES, PCU, _count_in, _flow_departures, _time
from smartopt.signals.sumo.demand import _number as _finite

DT_S = 1.0
"""SUMO's default step (s): Krauss dawdles once per step."""
MIN_HEADWAYS = 30
"""Fewest saturated headways (5th queued vehicle on) for :func:`refit` to replace the derived
saturation flow."""
MIN_QUEUES = 10
"""Fewest queues of at least 4 vehicles for :func:`refit` to replace the derived start-up lost time."""
PLATOON_Z = 1.42
"""A discharging platoon moves at the speed of its slowest vehicle ahead: the expected minimum of
8 normal speed factors is the mean less 1.42 deviations."""
DAWDLE_S = 0.6
"""Headway added per unit of Krauss' ``sigma`` (s, at a 1 s step): dawdling delays each follower's
start and reactions; SUMO 1.28 measures 0.27-0.34 s at sigma 0.5 from 30 to 70 km/h."""
HALTING_MPS = 0.1
"""SUMO's halting speed (m/s): a vehicle slower than this at green start is in the queue."""

_PASSENGER = {"length": 5.0, "minGap": 2.5, "tau": 1.0, "accel": 2.6, "decel": 4.5, "sigma": 0.5, "speedDev": 0.1}
_VCLASS: dict[str, dict[str, float]] = {  # SUMO's vClass defaults (SUMOVTypeParameter) where they differ
    "taxi": {"speedDev": 0.05},
    "emergency": {"length": 6.5, "speedDev": 0.0},
    "delivery": {"length": 6.5, "speedDev": 0.05},
    "truck": {"length": 7.1, "accel": 1.3, "decel": 4.0, "speedDev": 0.05},
    "trailer": {"length": 16.5, "accel": 1.1, "decel": 4.0, "speedDev": 0.05},
    "bus": {"length": 12.0, "accel": 1.2, "decel": 4.0, "speedDev": 0.0},
    "coach": {"length": 14.0, "accel": 2.0, "decel": 4.0, "speedDev": 0.05},
    "motorcycle": {"length": 2.2, "accel": 6.0, "decel": 10.0},
    "moped": {"length": 2.1, "accel": 1.1, "decel": 7.0},
    "tram": {"length": 22.0, "accel": 1.0, "decel": 3.0, "sigma": 0.0, "speedDev": 0.0},
}
_FIELDS = {"length": "length_m", "minGap": "min_gap_m", "tau": "tau_s", "accel": "accel_mps2",
           "decel": "decel_mps2", "sigma": "sigma"}  # fmt: skip
_TURNS = {"s": "T", "l": "L", "L": "L", "r": "R", "R": "R"}  # SUMO dir -> turn (partial turns too)
_DISTRIBUTION = re.compile(r"^\s*normc?\(\s*([^,()]+)\s*,\s*([^,()]+)\s*(?:,[^()]*)?\)\s*$")


@dataclass(frozen=True)
class VehicleType:
    """A SUMO vehicle type's car-following parameters (SUMO's vClass defaults where unset): length
    and minGap (m), tau (s), accel and decel (m/s²), sigma (dawdling, 0-1), the mean and spread of
    its speed factor, its car-following model, and the share of the window's vehicles of this type."""

    id: str
    vclass: str
    length_m: float
    min_gap_m: float
    tau_s: float
    accel_mps2: float
    decel_mps2: float
    sigma: float
    speed_factor: float
    speed_dev: float
    model: str = "Krauss"
    share: float = 1.0

    @property
    def jam_spacing_m(self) -> float:
        """Road length per standing vehicle: length + minGap (m)."""
        return self.length_m + self.min_gap_m


def _number(el: ET.Element, attr: str, default: float, where: str) -> float:
    """A finite number attribute >= 0 (``default`` when absent); ``ValueError`` naming the element otherwise."""
    value = _finite(el, attr, where, default)
    if value < 0:
        raise ValueError(f"{where}: {attr}={el.get(attr)} must be a finite number >= 0")
    return value


def _vehicle_type(el: ET.Element, where: str) -> VehicleType:
    """A ``<vType>`` element (its attributes, or those of a ``carFollowing-*`` child) with SUMO's
    vClass defaults filling what it leaves out."""
    attrs = dict(el.attrib)
    for child in el:
        if child.tag.startswith("carFollowing-"):
            attrs.update(child.attrib)
    merged = ET.Element("vType", attrs)
    vclass = attrs.get("vClass", "passenger")
    base = {**_PASSENGER, **_VCLASS.get(vclass, {})}
    values = {f: _number(merged, f, base[f], where) for f in _FIELDS}
    if min(values["tau"], values["accel"], values["decel"]) <= 0:
        bad = next(f for f in ("tau", "accel", "decel") if values[f] <= 0)
        raise ValueError(f"{where}: {bad}={values[bad]:g} must be > 0")
    if values["sigma"] > 1:
        raise ValueError(f"{where}: sigma={values['sigma']:g} must be in [0, 1]")
    if values["length"] <= 0:
        raise ValueError(f"{where}: length={values['length']:g} must be > 0")
    factor, dev = 1.0, _number(merged, "speedDev", base["speedDev"], where)
    text = attrs.get("speedFactor")
    if text is not None:
        m = _DISTRIBUTION.match(text)
        parts = (m.group(1), m.group(2)) if m else (text, None)
        try:
            factor = float(parts[0])
            dev = dev if parts[1] is None else float(parts[1])
        except ValueError:
            raise ValueError(f"{where}: speedFactor={text!r} is not a number or norm(mean, dev)") from None
        if not (math.isfinite(factor) and factor > 0 and math.isfinite(dev) and dev >= 0):
            raise ValueError(f"{where}: speedFactor={text!r} must have a mean > 0 and a deviation >= 0")
    named = {_FIELDS[f]: v for f, v in values.items()}
    model = attrs.get("carFollowModel", next((c.tag[13:] for c in el if c.tag.startswith("carFollowing-")), "Krauss"))
    return VehicleType(attrs.get("id", ""), vclass, speed_factor=factor, speed_dev=dev, model=model, **named)


def _parse(path: str | os.PathLike[str]) -> tuple[str, ET.Element]:
    """A file's name and XML root; ``ValueError`` naming it when it is not XML."""
    try:
        return Path(path).name, ET.parse(existing_file(path)).getroot()
    except ET.ParseError as exc:
        raise ValueError(f"{Path(path).name}: not valid XML ({exc})") from None


def _types(files: Sequence[tuple[str, ET.Element]]) -> dict[str, list[tuple[float, VehicleType]]]:
    """Every vType and vTypeDistribution of the parsed ``files`` (and SUMO's built-in types) by
    id, each as weighted vehicle types (weights sum to 1)."""
    types: dict[str, list[tuple[float, VehicleType]]] = {
        name: [(1.0, _vehicle_type(ET.Element("vType", id=name, vClass=vc), name))]
        for name, vc in DEFAULT_TYPES.items()
    }
    for name, root in files:
        for el in root.iter("vType"):
            types[el.get("id", "")] = [(1.0, _vehicle_type(el, f"{name}: vType {el.get('id')!r}"))]
        for dist in root.iter("vTypeDistribution"):
            where = f"{name}: vTypeDistribution {dist.get('id')!r}"
            members = [(_number(el, "probability", 1.0, where), types[el.get("id", "")][0][1])
                       for el in dist.findall("vType")]  # fmt: skip
            refs = dist.get("vTypes", "").split()
            weights = dist.get("probabilities", " ".join(["1"] * len(refs))).split()
            if len(weights) != len(refs):
                raise ValueError(f"{where}: {len(refs)} vTypes but {len(weights)} probabilities")
            for ref, w in zip(refs, weights, strict=True):
                if ref not in types:
                    raise ValueError(f"{where}: vType {ref!r} is not defined")
                weight = _number(ET.Element("vType", probability=w), "probability", 1.0, where)
                members += [(weight * v, t) for v, t in types[ref]]
            total = sum(w for w, _ in members)
            if not total > 0:
                raise ValueError(f"{where}: no vType with probability > 0")
            types[dist.get("id", "")] = [(w / total, t) for w, t in members]
    return types


def vehicle_mix(
    routes: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    begin: float,
    end: float,
    additional: Sequence[str | os.PathLike[str]] = (),
) -> tuple[VehicleType, ...]:
    """The vehicle types of the vehicles, trips and flows of ``routes`` departing in ``[begin, end)``
    s, each with its share of them (vTypes from the route and ``additional`` files; SUMO's
    defaults where unset). Road vehicles only (the classes of :data:`PCU`): pedestrians, bicycles
    and rail are left out. ``ValueError`` naming the element for an unknown type or a bad
    parameter, or when no vehicle departs in the window."""
    if not end > begin:
        raise ValueError(f"end={end} must be after begin={begin}")
    files = [_parse(f) for f in ([routes] if isinstance(routes, str | os.PathLike) else routes)]
    for name, root in files:
        if root.tag != "routes":
            raise ValueError(f"{name}: root element <{root.tag}>, expected <routes>")
    types = _types([*(_parse(a) for a in additional), *files])
    counts: dict[str, float] = defaultdict(float)
    for name, root in files:
        for el in root:
            if el.tag not in ("vehicle", "trip", "flow"):
                continue
            where = f"{name}: {el.tag} {el.get('id')!r}"
            if el.tag == "flow":
                fb, fe, headway, number, random = _flow_departures(el, where)
                n = _count_in(fb, fe, headway, number, random, begin, end)
            else:
                try:
                    t = _time(el.get("depart", "0"), where)
                except ValueError:  # triggered departures are not timed
                    continue
                n = 1.0 if begin <= t < end else 0.0
            ref = el.get("type", "DEFAULT_VEHTYPE")
            if ref not in types:
                raise ValueError(f"{where}: type {ref!r} is not a vType of the route or additional files")
            for w, vt in types[ref]:
                if vt.vclass in PCU:
                    counts[vt.id] += n * w
    total = sum(counts.values())
    if not total > 0:
        raise ValueError(f"{', '.join(n for n, _ in files)}: no vehicle departs in [{begin:g}, {end:g}) s")
    by_id = {t.id: t for weighted in types.values() for _, t in weighted}
    return tuple(replace(by_id[k], share=n / total) for k, n in sorted(counts.items()) if n > 0)


@dataclass(frozen=True)
class _Lane:
    """A traffic-light-controlled incoming lane: its light, link indices, turn and length (m)."""

    tls: str
    links: tuple[int, ...]
    turn: str
    length_m: float


def _controlled_lanes(net: ET.Element) -> dict[str, _Lane]:
    """The net's incoming car lanes under traffic-light control, by lane id; a lane's turn is ``T``,
    ``L`` or ``R`` when all its links turn that way, ``shared`` otherwise."""
    length = {ln.get("id", ""): float(ln.get("length", "0")) for ln in net.iter("lane")}
    cars = car_lanes(net)  # no detectors on walking areas, crossings or bicycle lanes
    links: dict[str, list[tuple[str, int, str]]] = defaultdict(list)
    for c in net.iter("connection"):
        lane = f"{c.get('from')}_{c.get('fromLane')}"
        if c.get("tl") is not None and c.get("linkIndex") is not None and lane in cars:
            links[lane].append((c.get("tl", ""), int(c.get("linkIndex", "0")), c.get("dir", "s")))
    out = {}
    for lane, ls in links.items():
        turns = {_TURNS.get(d, "other") for _, _, d in ls}
        out[lane] = _Lane(ls[0][0], tuple(i for _, i, _ in ls), turns.pop() if len(turns) == 1 else "shared",
                          length.get(lane, 0.0))  # fmt: skip
    return out


@dataclass(frozen=True)
class QueueDischarge:
    """One queue's discharge at a stop line: its lane, turn, green start and end (s), whether
    every link of the lane had a protected green (``G``; else some showed a permitted ``g``), the
    stop-line crossing times (s) of the vehicles standing in it at green start, in queue order,
    up to the last that crossed in the same green, how many vehicles crossed the line from green
    start to red (queued or not), and whether the queue outlasted the green (a cycle failure: a
    vehicle standing at green start had not crossed by red)."""

    lane: str
    turn: str
    green_s: float
    green_end_s: float
    protected: bool
    crossings_s: tuple[float, ...]
    served: int
    failed: bool


def _sumo_binary() -> str:
    """SUMO's ``sumo`` from the eclipse-sumo package, else from ``$SUMO_HOME``."""
    try:
        import sumo

        home = str(sumo.SUMO_HOME)
    except ImportError:
        home = os.environ.get("SUMO_HOME", "")
        if not home:
            raise ModuleNotFoundError("refit needs SUMO: pip install eclipse-sumo, or set SUMO_HOME") from None
    return str(Path(home) / "bin" / "sumo")


def measure_discharge(
    net_xml: str | os.PathLike[str],
    routes: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    begin: float,
    duration_s: float = 900.0,
    seed: int = 42,
    additional: Sequence[str | os.PathLike[str]] = (),
    warmup_s: float = 120.0,
) -> tuple[QueueDischarge, ...]:
    """Runs SUMO on the scenario (its own programs, ``additional`` files loaded) from ``begin`` for
    ``duration_s`` s and records every queue discharged at a traffic light's stop line from
    ``warmup_s`` on: an instantInductionLoop at the end of each controlled incoming lane times the
    crossings, the lights' states give each lane's green starts (all its links turning ``G``
    together; permitted ``g`` greens are left out), and the vehicles standing (below 0.1 m/s) on
    the lane the step before are the queue (HCM's field method)."""
    net = xml_root(net_xml, "net")
    lanes = _controlled_lanes(net)
    if not lanes:
        raise ValueError(f"{Path(net_xml).name}: no traffic-light-controlled lane")
    files = [routes] if isinstance(routes, str | os.PathLike) else list(routes)
    with tempfile.TemporaryDirectory(prefix="smartopt-refit-") as tmp:
        d = Path(tmp)
        root = ET.Element("additional")
        for k, (lane, info) in enumerate(sorted(lanes.items())):
            ET.SubElement(root, "instantInductionLoop", id=f"q{k}", lane=lane, pos=f"{info.length_m:.2f}",
                          friendlyPos="true", file="loops.xml")  # fmt: skip
        for tls in sorted({info.tls for info in lanes.values()}):
            ET.SubElement(root, "timedEvent", type="SaveTLSStates", source=tls, dest="tls.xml")
        (d / "detectors.add.xml").write_text(ET.tostring(root, encoding="unicode"))
        (d / "edges.txt").write_text("".join(f"edge:{lane.rsplit('_', 1)[0]}\n" for lane in sorted(lanes)))
        cmd = [
            _sumo_binary(), "-n", str(Path(net_xml).resolve()), "-r", ",".join(str(Path(f).resolve()) for f in files),
            "-a", ",".join([*(str(Path(a).resolve()) for a in additional), "detectors.add.xml"]),
            "--begin", f"{begin:g}", "--end", f"{begin + duration_s:g}", "--seed", str(seed),
            "--fcd-output", "fcd.xml", "--fcd-output.filter-edges.input-file", "edges.txt",
            "--fcd-output.attributes", "lane,pos,speed",
            "--no-step-log", "--no-warnings", "--duration-log.disable", "--time-to-teleport", "300",
        ]  # fmt: skip
        env = {**os.environ, "SUMO_HOME": str(Path(_sumo_binary()).parents[1])}
        run = subprocess.run(cmd, cwd=d, capture_output=True, text=True, check=False, env=env)
        if run.returncode != 0:
            raise RuntimeError(f"SUMO failed on {Path(net_xml).name}: {run.stderr.strip()[-500:]}")
        return _discharges(d, lanes, begin + warmup_s)


def _discharges(d: Path, lanes: dict[str, _Lane], start: float) -> tuple[QueueDischarge, ...]:
    """The queue discharges of a run's outputs in folder ``d`` (see :func:`measure_discharge`)."""
    det_lane = {f"q{k}": lane for k, lane in enumerate(sorted(lanes))}
    crossings: dict[tuple[str, str], list[float]] = defaultdict(list)  # (lane, vehicle) -> times
    for _, el in ET.iterparse(d / "loops.xml"):
        if el.tag == "instantOut" and el.get("state") == "enter":
            crossings[det_lane[el.get("id", "")], el.get("vehID", "")].append(float(el.get("time", "0")))
    states: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for _, el in ET.iterparse(d / "tls.xml"):
        if el.tag == "tlsState":
            states[el.get("id", "")].append((float(el.get("time", "0")), el.get("state", "")))
    by_lane: dict[str, list[float]] = defaultdict(list)
    for (lane, _), seen in crossings.items():
        by_lane[lane] += seen
    for seen in by_lane.values():
        seen.sort()
    greens: dict[float, list[tuple[str, float, float, bool]]] = defaultdict(list)  # step before green ->
    # (lane, green end, red start, protected)
    for lane, info in lanes.items():
        seq = states.get(info.tls, [])
        for k in range(1, len(seq)):
            t, now = seq[k]
            was = seq[k - 1][1]
            shown = [now[i] for i in info.links if i < len(now)]
            if t < start or "G" not in shown or any(was[i] in "Gg" for i in info.links) or not set(shown) <= {"G", "g"}:
                continue
            end = next((u for u, st in seq[k + 1 :] if any(st[i] not in "Gg" for i in info.links)), math.inf)
            red = next((u for u, st in seq[k + 1 :] if u >= end and not any(st[i] in "GgyY" for i in info.links)), end)
            greens[t - DT_S].append((lane, end - DT_S, red - DT_S, "g" not in shown))
    queues: dict[tuple[str, float], list[tuple[float, str]]] = defaultdict(list)
    wanted = {f"{t:.2f}": t for t in greens}
    for _, el in ET.iterparse(d / "fcd.xml"):
        if el.tag == "timestep":
            step = wanted.get(el.get("time", ""))
            if step is not None:
                ends = {g[0] for g in greens[step]}
                for v in el.iter("vehicle"):
                    lane = v.get("lane", "")
                    if lane in ends and float(v.get("speed", "0")) < HALTING_MPS:
                        queues[lane, step].append((-float(v.get("pos", "0")), v.get("id", "")))
            el.clear()
    out = []
    for (lane, t), standing in sorted(queues.items()):
        end, red, protected = next(g[1:] for g in greens[t] if g[0] == lane)
        first = [next((u for u in crossings[lane, veh] if u > t), math.inf) for _, veh in sorted(standing)]
        times: list[float] = []
        for passed in first:
            if math.isinf(passed) or passed > end or (times and passed < times[-1]):
                break
            times.append(passed)
        failed = max(first) > red
        served = bisect.bisect_left(by_lane[lane], red) - bisect.bisect_left(by_lane[lane], t)
        out.append(QueueDischarge(lane, lanes[lane].turn, t, end, protected, tuple(times), served, failed))
    return tuple(out)


def discharge_headway_s(vtype: VehicleType, speed_mps: float) -> float:
    """Saturated queue-discharge headway (s) of ``vtype`` crossing a stop line whose approach (or
    turn through the junction) has speed limit ``speed_mps``: ``tau + DAWDLE_S * sigma + s / v``
    with ``s`` the jam spacing and ``v = speed * (speedFactor - PLATOON_Z * speedDev)`` the speed
    of the discharging platoon (see the module's derivation). Models outside the Krauss family
    (IDM, ACC, ...) keep the gap ``minGap + v tau`` at steady speed too, but do not dawdle."""
    v = speed_mps * max(vtype.speed_factor - PLATOON_Z * vtype.speed_dev, 0.1)
    dawdle = DAWDLE_S * vtype.sigma if vtype.model.startswith(("Krauss", "SKrauss")) else 0.0
    return vtype.tau_s + dawdle + vtype.jam_spacing_m / v


def _platoon_speed(mix: Sequence[VehicleType], speed_mps: float) -> float:
    return speed_mps * sum(t.share * max(t.speed_factor - PLATOON_Z * t.speed_dev, 0.1) for t in mix)


def _saturation_vphpl(mix: Sequence[VehicleType], speeds: Sequence[float]) -> float:
    """Saturation flow (PCU/h of green per lane, like the demand) of the mix, averaged over lanes
    of these speeds (m/s) in headway: each vehicle type discharges at its share of the queue
    positions and counts its :data:`PCU`."""
    h = [sum(t.share * discharge_headway_s(t, v) for t in mix) for v in speeds]
    return 3600.0 * _pcu_per_vehicle(mix) / float(np.mean(h))


def _pcu_per_vehicle(mix: Sequence[VehicleType]) -> float:
    return sum(t.share * PCU[t.vclass] for t in mix)


@dataclass(frozen=True)
class DischargeFit:
    """What :func:`refit` measured at the stop lines (HCM's field method): the queues of at least
    4 vehicles and the saturated headways (5th queued vehicle on) it saw, per turn (``T``, ``L``,
    ``R``, ``shared``), the saturation flows (PCU/h of green per lane) and start-up lost time (s)
    they give (NaN where samples are short), and the derived calibration it checked. Also the
    greens that a queue outlasted (cycle failures) and the flow over the stop line in them (PCU/h
    per lane and second of effective green; in all, and per approach edge): the prevailing rate
    with blocking by permitted turns, shared lanes and spillback, which the model's lanes do not
    have; well below the saturation flow, it says the model will overrate these approaches."""

    queues: int
    headways: int
    saturation_vphpl: float
    start_lost_s: float
    turn_headways: dict[str, int]
    turn_saturation_vphpl: dict[str, float]
    failed_greens: int
    prevailing_vphpl: float
    approach_prevailing_vphpl: dict[str, float]
    derived: SumoCalibration

    def __repr__(self) -> str:
        return (
            f"DischargeFit({self.queues} queues, {self.headways} headways: {self.saturation_vphpl:,.0f} PCU/h/lane "
            f"(derived {self.derived.saturation_vphpl:,.0f}), lost {self.start_lost_s:.1f} s "
            f"(derived {self.derived.start_lost_s:.1f}); {self.failed_greens} failed greens at "
            f"{self.prevailing_vphpl:,.0f} PCU/h/lane)"
        )


@dataclass(frozen=True)
class SumoCalibration:
    """The traffic model's parameters for one SUMO scenario: saturation flow of through lanes
    (per lane and hour of green, in the demand's passenger car units: veh/h of the window's mix
    times ``pcu_per_vehicle``) and per turn (``T``, ``L``, ``R``), start-up lost time and yellow
    used (s; on SUMO's clock, where a step's move fills the second before its time stamp), jam
    spacing (m of lane per stopped passenger car unit) and TRANSYT's platoon dispersion ``alpha`` and travel-time
    factor ``beta``. ``fit`` holds what :func:`refit` measured, None when only derived."""

    saturation_vphpl: float
    start_lost_s: float
    yellow_used_s: float
    jam_spacing_m: float
    dispersion: float
    travel_factor: float
    pcu_per_vehicle: float = 1.0
    turn_saturation_vphpl: dict[str, float] = field(default_factory=dict)
    fit: DischargeFit | None = field(default=None, compare=False)

    def model_options(self) -> dict[str, float]:
        """The keyword arguments of :class:`~smartopt.signals.TrafficModel` this calibration sets."""
        return {
            "jam_spacing_m": self.jam_spacing_m, "dispersion": self.dispersion, "travel_factor": self.travel_factor,
            "start_lost_s": self.start_lost_s, "yellow_used_s": self.yellow_used_s,
        }  # fmt: skip

    def __repr__(self) -> str:
        if self.fit is None:
            how = "derived"
        else:
            n = self.fit.headways
            how = f"refitted on {n} headways" if math.isfinite(self.fit.saturation_vphpl) else f"derived; {n} headways"
        return (
            f"SumoCalibration({self.saturation_vphpl:,.0f} PCU/h/lane ({how}), lost {self.start_lost_s:.1f} s, "
            f"yellow used {self.yellow_used_s:.1f} s, jam {self.jam_spacing_m:.1f} m, "
            f"dispersion {self.dispersion:.2f}/{self.travel_factor:.2f})"
        )


def _dispersion(mix: Sequence[VehicleType], lengths: Sequence[float], speeds: Sequence[float]) -> tuple[float, float]:
    """TRANSYT's (alpha, beta) matching the travel times of the mix on links of these lengths (m)
    and speed limits (m/s), the median over the links (see the module's derivation)."""
    alphas, betas = [], []
    for length, speed in zip(lengths, speeds, strict=True):
        free = length / speed
        mean_v = sum(t.share * (t.speed_factor * speed - t.sigma * t.accel_mps2 * DT_S / 2) for t in mix)
        spread_v = math.sqrt(sum(t.share * (t.speed_dev * speed) ** 2 for t in mix))
        cv = spread_v / mean_v
        mean_t, var_t = length / mean_v * (1 + cv**2), (length / mean_v * cv) ** 2
        x = (math.sqrt(1 + 4 * var_t / DT_S**2) - 1) / 2  # geometric steps after the lag
        lag = min(max(mean_t - x * DT_S, DT_S), free)
        betas.append(lag / free)
        alphas.append(x * DT_S / lag)
    return float(np.median(alphas)), float(np.median(betas))


def calibrate(
    net_xml: str | os.PathLike[str],
    routes: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    begin: float,
    end: float,
    additional: Sequence[str | os.PathLike[str]] = (),
) -> SumoCalibration:
    """The traffic model's calibration derived from a SUMO scenario: the vehicle types of the
    vehicles departing in ``[begin, end)`` s (weighted by their numbers; see :func:`vehicle_mix`),
    the speeds of the traffic-light-controlled lanes and of their connections through the
    junctions, and the lengths of the controlled approaches (see the module's derivation)."""
    mix = vehicle_mix(routes, begin=begin, end=end, additional=additional)
    net = xml_root(net_xml, "net")
    speed = {ln.get("id", ""): float(ln.get("speed", "13.89")) for ln in net.iter("lane")}
    length = {ln.get("id", ""): float(ln.get("length", "0")) for ln in net.iter("lane")}
    turn_speeds: dict[str, list[float]] = defaultdict(list)
    approaches: dict[str, tuple[float, float]] = {}
    for c in net.iter("connection"):
        if c.get("tl") is None:
            continue
        lane = f"{c.get('from')}_{c.get('fromLane')}"
        v = min(speed.get(lane, 13.89), speed.get(c.get("via", ""), math.inf))
        turn = _TURNS.get(c.get("dir", "s"))
        if turn is not None:
            turn_speeds[turn].append(v)
        approaches[c.get("from", "")] = (length.get(lane, 0.0), speed.get(lane, 13.89))
    if not approaches:
        raise ValueError(f"{Path(net_xml).name}: no traffic-light-controlled connection")
    turns = {k: _saturation_vphpl(mix, v) for k, v in sorted(turn_speeds.items())}
    through = turn_speeds.get("T") or [v for vs in turn_speeds.values() for v in vs]
    lane_speed = float(np.median([v for _, v in approaches.values()]))
    v_q = _platoon_speed(mix, lane_speed)
    h = sum(t.share * discharge_headway_s(t, lane_speed) for t in mix)
    links = [(le, sp) for le, sp in approaches.values() if le > 0 and sp > 0]
    alpha, beta = _dispersion(mix, [le for le, _ in links], [sp for _, sp in links])
    return SumoCalibration(
        saturation_vphpl=_saturation_vphpl(mix, through),
        start_lost_s=max(0.0, sum(t.share * v_q / (2 * t.accel_mps2) for t in mix) - h),
        yellow_used_s=sum(t.share * v_q / (2 * t.decel_mps2) for t in mix),
        jam_spacing_m=sum(t.share * t.jam_spacing_m for t in mix) / _pcu_per_vehicle(mix),  # per PCU
        dispersion=alpha,
        travel_factor=beta,
        pcu_per_vehicle=_pcu_per_vehicle(mix),
        turn_saturation_vphpl=turns,
    )


def _headway_fit(queues: Sequence[QueueDischarge]) -> tuple[int, float]:
    """Saturated headways (5th queued vehicle on) and the saturation flow (veh/h) they give."""
    n = sum(len(q.crossings_s) - 4 for q in queues if len(q.crossings_s) >= 5)
    span = sum(q.crossings_s[-1] - q.crossings_s[3] for q in queues if len(q.crossings_s) >= 5)
    return n, 3600.0 * n / span if span > 0 else math.nan


def refit(
    calibration: SumoCalibration,
    net_xml: str | os.PathLike[str],
    routes: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    begin: float,
    duration_s: float = 900.0,
    seed: int = 42,
    additional: Sequence[str | os.PathLike[str]] = (),
) -> SumoCalibration:
    """``calibration`` checked against a short SUMO run of the scenario (see
    :func:`measure_discharge`) and refitted where the run saw enough queues: the saturation flow
    from at least :data:`MIN_HEADWAYS` saturated headways (at protected greens only when they have
    enough; through lanes when they have enough, else all lanes; each turn's where it has enough;
    in PCU at the window's ``pcu_per_vehicle``), the start-up lost time from at least
    :data:`MIN_QUEUES` queues of 4 or more (``t4 - 4 h``, HCM's field method). The result's
    ``fit`` holds the sample counts, the measured against the derived values, and the flow in
    greens a queue outlasted. ``additional`` files load with the scenario: a plan's ``tlLogic``
    programs make this a check of that plan."""
    if not isinstance(calibration, SumoCalibration):
        raise TypeError(f"calibration must be a SumoCalibration, got {type(calibration).__name__}")
    measured = measure_discharge(net_xml, routes, begin=begin, duration_s=duration_s, seed=seed, additional=additional)
    protected = [q for q in measured if q.protected]
    queues = protected if _headway_fit(protected)[0] >= MIN_HEADWAYS else list(measured)
    pcu = calibration.pcu_per_vehicle
    counts, flows = {}, {}
    for turn in sorted({q.turn for q in queues}):
        counts[turn], vph = _headway_fit([q for q in queues if q.turn == turn])
        flows[turn] = vph * pcu
    n_all, vph_all = _headway_fit(queues)
    n_sat, sat = (counts["T"], flows["T"]) if counts.get("T", 0) >= MIN_HEADWAYS else (n_all, vph_all * pcu)
    long = [q for q in queues if len(q.crossings_s) >= 4]
    lost = math.nan
    if len(long) >= MIN_QUEUES and n_all >= MIN_HEADWAYS:
        lost = float(np.mean([q.crossings_s[3] - q.green_s for q in long])) - 4 * 3600.0 / vph_all
    enough = n_sat >= MIN_HEADWAYS
    lost_s = max(0.0, lost) if math.isfinite(lost) else calibration.start_lost_s
    failed = [q for q in measured if q.failed]

    def prevailing(greens: Sequence[QueueDischarge]) -> float:
        span = sum(q.green_end_s - q.green_s - lost_s + calibration.yellow_used_s for q in greens)
        return 3600.0 * pcu * sum(q.served for q in greens) / span if span > 0 else math.nan

    edges = sorted({q.lane.rsplit("_", 1)[0] for q in failed})
    by_edge = {e: prevailing([q for q in failed if q.lane.rsplit("_", 1)[0] == e]) for e in edges}
    fit = DischargeFit(len(long), n_all, sat if enough else math.nan, lost, counts, flows, len(failed),
                       prevailing(failed), by_edge, calibration)  # fmt: skip
    turns = {**calibration.turn_saturation_vphpl,
             **{k: v for k, v in flows.items() if counts[k] >= MIN_HEADWAYS and k != "shared"}}  # fmt: skip
    return replace(
        calibration,
        saturation_vphpl=sat if enough else calibration.saturation_vphpl,
        start_lost_s=lost_s,
        turn_saturation_vphpl=turns,
        fit=fit,
    )
