"""Which program to deploy: candidate programs (smartopt's fixed-time plans and their actuated
versions) checked beside the network's own in short SUMO runs of the scenario itself, on seeds of
their own. The recommendation is the candidate with the least delay per completed trip (SUMO's
time loss plus the wait to enter the network) among the sound ones (no more teleports than the
network's own programs, at least as many completed trips, 1 % slack) with less delay per trip
than the network's own; a candidate built on another's plan (an actuated version on its
fixed-time plan) qualifies only if that one is sound too: a plan that jams as fixed time has
starved a movement, which actuation hides on most seeds but not all. When none qualifies, the
network's own programs."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from smartopt._files import xml_root
from smartopt._threads import default_threads
from smartopt.signals.sumo.calibration import calibrate, refit
from smartopt.signals.sumo.control import DETECTOR_RANGE_M, run_max_pressure, run_programs
from smartopt.signals.sumo.demand import RouteFiles, _xml_root, read_sumo_demand
from smartopt.signals.sumo.junctions import SATURATION_VPHPL, SUMO_PLATOONS, SumoSignals, read_sumo_signals
from smartopt.signals.sumo.programs import actuated_programs, plan_programs, write_tllogic
from smartopt.signals.timing import TimingPlan
from smartopt.signals.traffic import TrafficModel

if TYPE_CHECKING:
    import pandas as pd

OWN = "own programs"
"""The candidate name of the network's own programs (as the net file holds them)."""
CHECK_SEEDS = (1001, 1002)
"""SUMO seeds of the check: not the seeds a benchmark scores with, so the choice is not fitted to them."""
COMPLETED_SLACK = 0.01
"""Share of the network's own completed trips a candidate may complete fewer of and still qualify."""


@dataclass(frozen=True)
class ProgramCheck:
    """Scores of each candidate (SUMO's mean over the seeds: mean time loss per completed trip
    s, total time loss veh h, completed trips, teleports) and the recommended candidate."""

    scores: Mapping[str, Mapping[str, float]]
    recommended: str
    seeds: tuple[int, ...]

    @property
    def beats_own(self) -> bool:
        """Whether one of the candidates was better than the network's own programs."""
        return self.recommended != OWN

    def to_frame(self) -> pd.DataFrame:
        """One row per candidate: its scores and whether it is the recommendation."""
        import pandas as pd

        frame = pd.DataFrame.from_dict({k: dict(v) for k, v in self.scores.items()}, orient="index")
        frame.index.name = "program"
        frame["recommended"] = frame.index == self.recommended
        return frame

    def table(self) -> str:
        """The scores as aligned text lines, the recommendation marked."""
        width = max(len(k) for k in self.scores)
        own = _delay_per_trip_s(self.scores[OWN])
        rows = [f"  {'program':<{width}}  time loss/trip  with entry wait  vs own   teleports  completed"]
        for name, s in self.scores.items():
            delay, change = _delay_per_trip_s(s), (_delay_per_trip_s(s) / own - 1.0) * 100.0
            mark = "  <- recommended" if name == self.recommended else ""
            rows.append(
                f"  {name:<{width}}  {s['mean_time_loss_s']:>12.1f} s  {delay:>13.1f} s  {change:>+5.1f} %"
                f"  {s['teleports']:>9.0f}  {s['completed_trips']:>9.0f}{mark}"
            )
        return "\n".join(rows)

    def __repr__(self) -> str:
        s = self.scores[self.recommended]
        return (
            f"ProgramCheck({len(self.scores)} programs, {len(self.seeds)} seeds: recommended {self.recommended!r}, "
            f"{s['mean_time_loss_s']:.1f} s/trip against {self.scores[OWN]['mean_time_loss_s']:.1f} s own)"
        )


def check_programs(
    net_xml: str | os.PathLike[str],
    routes_xml: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    candidates: Mapping[str, str | os.PathLike[str]],
    *,
    begin: float,
    end: float,
    workdir: str | os.PathLike[str],
    additional: Sequence[str | os.PathLike[str]] = (),
    seeds: Sequence[int] = CHECK_SEEDS,
    threads: int | None = None,
    bases: Mapping[str, str] | None = None,
) -> ProgramCheck:
    """Runs SUMO over ``[begin, end)`` s for the network's own programs and each candidate
    (name -> ``tlLogic`` file) on every seed (``threads`` runs at a time; default
    :func:`~smartopt._threads.default_threads`), writing SUMO's outputs under ``workdir``, and
    recommends one (see the module); ``bases`` maps a candidate to the candidate whose plan it is
    built on. ``ValueError`` for no candidates or seeds, a candidate named like the network's own,
    or a base that is not a candidate."""
    if not candidates:
        raise ValueError("candidates is empty: give at least one program file")
    if OWN in candidates:
        raise ValueError(f"candidate name {OWN!r} is the network's own programs")
    bases = dict(bases or {})
    for name, base in bases.items():
        if name not in candidates or base not in candidates:
            raise ValueError(f"bases: {name!r} -> {base!r} names a program that is not a candidate")
    seeds = tuple(int(s) for s in seeds)
    if not seeds:
        raise ValueError("seeds is empty: the check needs at least one SUMO seed")
    folder = Path(workdir)
    folder.mkdir(parents=True, exist_ok=True)
    programs: dict[str, list[str | os.PathLike[str]]] = {OWN: [], **{k: [v] for k, v in candidates.items()}}
    runs = [(name, seed) for name in programs for seed in seeds]

    def one(run: tuple[str, int]) -> dict[str, float]:
        name, seed = run
        slug = "".join(c if c.isalnum() else "_" for c in name)
        return run_programs(
            net_xml, routes_xml, programs=programs[name], additional=additional, seed=seed, begin=begin, end=end,
            tripinfo=folder / f"{slug}_{seed}.tripinfo.xml",
        )  # fmt: skip

    with ThreadPoolExecutor(max_workers=threads or default_threads()) as pool:
        results = list(pool.map(one, runs))
    keys = ("mean_time_loss_s", "total_time_loss_veh_h", "completed_trips", "teleports")
    scores = {
        name: {k: float(np.mean([r[k] for (n, _), r in zip(runs, results, strict=True) if n == name])) for k in keys}
        for name in programs
    }
    return ProgramCheck(scores, _recommend(scores, bases), seeds)


def _delay_per_trip_s(scores: Mapping[str, float]) -> float:
    """Time loss plus the wait to enter the network per completed trip (s; inf with no trip)."""
    trips = scores["completed_trips"]
    return 3600.0 * scores["total_time_loss_veh_h"] / trips if trips > 0 else np.inf


def _recommend(scores: Mapping[str, Mapping[str, float]], bases: Mapping[str, str]) -> str:
    own = scores[OWN]

    def sound(name: str) -> bool:
        v = scores[name]
        return (
            v["teleports"] <= own["teleports"]
            and v["completed_trips"] >= (1.0 - COMPLETED_SLACK) * own["completed_trips"]
        )

    fair = [
        k
        for k, v in scores.items()
        if k != OWN and sound(k) and sound(bases.get(k, k)) and _delay_per_trip_s(v) < _delay_per_trip_s(own)
    ]
    return min(fair, key=lambda k: _delay_per_trip_s(scores[k])) if fair else OWN


@dataclass(frozen=True)
class ScenarioPrograms:
    """smartopt's programs for a SUMO scenario: the lights read (at the default saturation flow),
    each candidate's base plan and ``tlLogic`` file, the check (None when not run) and the
    recommended candidate (:data:`OWN` when none beat the network's own programs), whose programs
    are also written to the requested file."""

    signals: SumoSignals
    plans: Mapping[str, TimingPlan]
    files: Mapping[str, Path]
    check: ProgramCheck | None
    recommended: str


def _saturations(
    net_xml: str | os.PathLike[str],
    routes: RouteFiles,
    *,
    begin: float,
    end: float,
    seed: int,
    additional: Sequence[str | os.PathLike[str]],
) -> dict[float, dict[str, float]]:
    """Saturation flows to plan with (PCU/h of green per lane) and the traffic model's options
    for each: the default, and what a short SUMO run of the scenario measured at its stop lines
    (HCM's saturated headways, and the flow in greens that queues outlasted) when it saw enough."""
    out: dict[float, dict[str, float]] = {SATURATION_VPHPL: dict(SUMO_PLATOONS)}
    derived = calibrate(net_xml, routes, begin=begin, end=end, additional=additional)
    measured = refit(derived, net_xml, routes, begin=begin, seed=seed, additional=additional)
    if measured.fit is not None:
        for s in (measured.fit.saturation_vphpl, measured.fit.prevailing_vphpl):
            if np.isfinite(s) and s > 0:
                out.setdefault(round(float(s)), measured.model_options())
    return out


def plan_sumo(
    net_xml: str | os.PathLike[str],
    routes: RouteFiles,
    out: str | os.PathLike[str],
    *,
    begin: float,
    end: float,
    time_limit_s: float | None = 60.0,
    max_iterations: int | None = None,
    seed: int = 0,
    check_seeds: Sequence[int] = CHECK_SEEDS,
    additional: Sequence[str | os.PathLike[str]] = (),
) -> ScenarioPrograms:
    """Programs for every light of a SUMO scenario with demand from ``routes`` departing in
    ``[begin, end)`` s: a coordinated fixed-time plan (:func:`~smartopt.signals.optimize_network`,
    common cycle, splits and offsets) and its actuated version (:func:`actuated_programs`, stages
    nobody calls skipped) for
    each saturation flow worth trying (the default, and with ``check_seeds`` those a short SUMO run
    measures at the stop lines), written beside ``out`` as ``<name>.<candidate>.add.xml``; then
    checked in SUMO beside the network's own programs (:func:`check_programs`) and the
    recommended one written to ``out``. Without seeds, nothing is measured or checked and the
    fixed-time plan is recommended. ``time_limit_s`` (s) is shared by the plans' searches and
    ``max_iterations`` (model runs) is each search's budget (:func:`optimize_network`): with the
    budget alone, the programs are the same for a ``seed`` on any machine.
    ``additional`` files (vehicle types) go to SUMO with ``-a`` and to the readers; ``ValueError``
    if they hold ``tlLogic`` programs, which smartopt would not read as the lights' own."""
    from smartopt.signals.network_timing import optimize_network

    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    stem = target.name.removesuffix(".xml").removesuffix(".add")
    for extra in additional:
        if _xml_root(extra, None).find(".//tlLogic") is not None:
            raise ValueError(
                f"{Path(extra).name} holds tlLogic programs, which override the net's in SUMO but are not read here: "
                "build the net with them (netconvert -s NET -i FILE -o NEW) and give that net"
            )
    demand_files = [*additional, *([routes] if isinstance(routes, str | os.PathLike) else routes)]
    signals = read_sumo_signals(net_xml, demand_files, begin=begin, end=end)
    demand = read_sumo_demand(signals.network, demand_files, begin=begin, end=end, net_xml=net_xml)
    saturations = (
        _saturations(net_xml, routes, begin=begin, end=end, seed=seed, additional=additional)
        if check_seeds
        else {SATURATION_VPHPL: dict(SUMO_PLATOONS)}
    )
    plans: dict[str, TimingPlan] = {}
    files: dict[str, Path] = {}
    share_s = None if time_limit_s is None else time_limit_s / len(saturations)
    for sat, options in saturations.items():
        lights = signals if sat == SATURATION_VPHPL else read_sumo_signals(
            net_xml, demand_files, begin=begin, end=end, saturation_vphpl=sat
        )  # fmt: skip
        model = TrafficModel(lights.network, lights.intersections, **options)
        found = optimize_network(
            model, demand, duration_s=min(end - begin, 1800.0), time_limit_s=share_s, max_iterations=max_iterations,
            seed=seed,
        )  # fmt: skip
        for kind, programs in (
            ("fixed", plan_programs(lights, found.plan)),
            ("actuated", actuated_programs(lights, found.plan)),
        ):
            name = f"{kind} {sat:.0f}"
            plans[name] = found.plan
            files[name] = target.with_name(f"{stem}.{kind}-{sat:.0f}.add.xml")
            write_tllogic(programs, files[name], program_id=f"smartopt_{kind}")
    if check_seeds:
        check = check_programs(
            net_xml, routes, files, begin=begin, end=end, seeds=check_seeds, additional=additional,
            workdir=target.with_name(f"{stem}.check"),
            bases={f"actuated {sat:.0f}": f"fixed {sat:.0f}" for sat in saturations},
        )  # fmt: skip
        recommended = check.recommended
    else:
        check, recommended = None, f"fixed {SATURATION_VPHPL:.0f}"
    if recommended == OWN:
        _write_own_programs(net_xml, target)
    else:
        target.write_bytes(files[recommended].read_bytes())
    return ScenarioPrograms(signals, plans, files, check, recommended)


def _write_own_programs(net_xml: str | os.PathLike[str], path: Path) -> None:
    """The network's own ``tlLogic`` programs as an additional file (program id ``own``)."""
    root = ET.Element("additional")
    for logic in xml_root(net_xml, "net").iter("tlLogic"):
        logic.set("programID", "own")
        root.append(logic)
    ET.indent(root)
    path.write_text(ET.tostring(root, encoding="unicode") + "\n")


MAX_PRESSURE_SETTINGS = tuple((d, r) for d in (5.0, 10.0) for r in (0.0, DETECTOR_RANGE_M))
"""Max-pressure settings ``(decision_s, detector_range_m)`` that :func:`tune_max_pressure` tries:
decisions every 5 or 10 s of green (10 s loses less time to intergreens where they are long),
detectors on the light's own edges or reaching :data:`~smartopt.signals.sumo.control.DETECTOR_RANGE_M`
past short edges."""


def tune_max_pressure(
    net_xml: str | os.PathLike[str],
    routes_xml: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    begin: float,
    end: float,
    workdir: str | os.PathLike[str],
    signals: SumoSignals | None = None,
    additional: Sequence[str | os.PathLike[str]] = (),
    seeds: Sequence[int] = CHECK_SEEDS,
    settings: Sequence[tuple[float, float]] = MAX_PRESSURE_SETTINGS,
) -> tuple[tuple[float, float], dict[tuple[float, float], dict[str, float]]]:
    """The max-pressure setting ``(decision_s, detector_range_m)`` of :func:`run_max_pressure`
    with the fewest teleports and, among those, the least time lost per completed trip (entry
    waits included) in SUMO runs of ``[begin, end)`` s on ``seeds`` (one at a time: TraCI drives
    one SUMO per process); and every setting's mean scores."""
    if not settings or not seeds:
        raise ValueError("settings and seeds must not be empty")
    folder = Path(workdir)
    folder.mkdir(parents=True, exist_ok=True)
    if signals is None:  # read once for every run
        signals = read_sumo_signals(net_xml, routes_xml, begin=begin, end=end)
    keys = ("mean_time_loss_s", "total_time_loss_veh_h", "completed_trips", "teleports")
    scores: dict[tuple[float, float], dict[str, float]] = {}
    for decision_s, range_m in settings:
        runs = [
            run_max_pressure(
                net_xml, routes_xml, begin=begin, end=end, seed=int(seed), signals=signals, additional=additional,
                decision_s=decision_s, detector_range_m=range_m,
                tripinfo=folder / f"max_pressure_{decision_s:g}s_{range_m:g}m_{seed}.tripinfo.xml",
            )
            for seed in seeds
        ]  # fmt: skip
        scores[decision_s, range_m] = {k: float(np.mean([r[k] for r in runs])) for k in keys}
    best = min(scores, key=lambda k: (scores[k]["teleports"], _delay_per_trip_s(scores[k])))
    return best, scores
