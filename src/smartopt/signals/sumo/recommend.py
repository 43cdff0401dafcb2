"""Which program to deploy: candidate programs (smartopt's fixed-time plans and their actuated
versions) checked beside the network's own in short SUMO runs of the scenario itself, on seeds of
their own. The recommendation is the candidate with the least mean time loss per trip among those
with no more teleports than the network's own programs and at least as many completed trips (1 %
slack); when none qualifies, the one with the fewest teleports and the most completed trips."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from smartopt._threads import default_threads
from smartopt.signals.sumo.calibration import calibrate, refit
from smartopt.signals.sumo.control import run_programs
from smartopt.signals.sumo.demand import RouteFiles, read_sumo_demand
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
        """Whether the recommended program loses less time per trip than the network's own."""
        own, best = self.scores[OWN], self.scores[self.recommended]
        return self.recommended != OWN and best["mean_time_loss_s"] < own["mean_time_loss_s"]

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
        own = self.scores[OWN]["mean_time_loss_s"]
        rows = [f"  {'program':<{width}}  time loss/trip  vs own   teleports  completed"]
        for name, s in self.scores.items():
            change = (s["mean_time_loss_s"] / own - 1.0) * 100.0
            mark = "  <- recommended" if name == self.recommended else ""
            rows.append(
                f"  {name:<{width}}  {s['mean_time_loss_s']:>12.1f} s  {change:>+5.1f} %  {s['teleports']:>9.0f}  "
                f"{s['completed_trips']:>9.0f}{mark}"
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
) -> ProgramCheck:
    """Runs SUMO over ``[begin, end)`` s for the network's own programs and each candidate
    (name -> ``tlLogic`` file) on every seed (``threads`` runs at a time; default
    :func:`~smartopt._threads.default_threads`), writing SUMO's outputs under ``workdir``, and
    recommends one (see the module). ``ValueError`` for no candidates or seeds, or a candidate
    named like the network's own."""
    if not candidates:
        raise ValueError("candidates is empty: give at least one program file")
    if OWN in candidates:
        raise ValueError(f"candidate name {OWN!r} is the network's own programs")
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
    return ProgramCheck(scores, _recommend(scores), seeds)


def _recommend(scores: Mapping[str, Mapping[str, float]]) -> str:
    own = scores[OWN]
    mine = {k: v for k, v in scores.items() if k != OWN}
    fair = [
        k
        for k, v in mine.items()
        if v["teleports"] <= own["teleports"]
        and v["completed_trips"] >= (1.0 - COMPLETED_SLACK) * own["completed_trips"]
        and np.isfinite(v["mean_time_loss_s"])
    ]
    if fair:
        return min(fair, key=lambda k: mine[k]["mean_time_loss_s"])
    return min(mine, key=lambda k: (mine[k]["teleports"], -mine[k]["completed_trips"], mine[k]["mean_time_loss_s"]))


@dataclass(frozen=True)
class ScenarioPrograms:
    """smartopt's programs for a SUMO scenario: the lights read (at the default saturation flow),
    each candidate's base plan and ``tlLogic`` file, the check (None when not run) and the
    recommended candidate, whose programs are also written to the requested file."""

    signals: SumoSignals
    plans: Mapping[str, TimingPlan]
    files: Mapping[str, Path]
    check: ProgramCheck | None
    recommended: str


def _saturations(
    net_xml: str | os.PathLike[str], routes: RouteFiles, *, begin: float, end: float, seed: int
) -> dict[float, dict[str, float]]:
    """Saturation flows to plan with (PCU/h of green per lane) and the traffic model's options
    for each: the default, and what a short SUMO run of the scenario measured at its stop lines
    (HCM's saturated headways, and the flow in greens that queues outlasted) when it saw enough."""
    out: dict[float, dict[str, float]] = {SATURATION_VPHPL: dict(SUMO_PLATOONS)}
    measured = refit(calibrate(net_xml, routes, begin=begin, end=end), net_xml, routes, begin=begin, seed=seed)
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
    time_limit_s: float = 60.0,
    seed: int = 0,
    check_seeds: Sequence[int] = CHECK_SEEDS,
) -> ScenarioPrograms:
    """Programs for every light of a SUMO scenario with demand from ``routes`` departing in
    ``[begin, end)`` s: a coordinated fixed-time plan (:func:`~smartopt.signals.optimize_network`,
    common cycle, splits and offsets) and its actuated version (:func:`actuated_programs`) for
    each saturation flow worth trying (the default, and with ``check_seeds`` those a short SUMO run
    measures at the stop lines), written beside ``out`` as ``<name>.<candidate>.add.xml``; then
    checked in SUMO beside the network's own programs (:func:`check_programs`) and the
    recommended one written to ``out``. Without seeds, nothing is measured or checked and the
    fixed-time plan is recommended. ``time_limit_s`` is shared by the plans' searches."""
    from smartopt.signals.network_timing import optimize_network

    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    stem = target.name.removesuffix(".xml").removesuffix(".add")
    signals = read_sumo_signals(net_xml, routes, begin=begin, end=end)
    demand = read_sumo_demand(signals.network, routes, begin=begin, end=end, net_xml=net_xml)
    saturations = (
        _saturations(net_xml, routes, begin=begin, end=end, seed=seed)
        if check_seeds
        else {SATURATION_VPHPL: dict(SUMO_PLATOONS)}
    )
    plans: dict[str, TimingPlan] = {}
    files: dict[str, Path] = {}
    for sat, options in saturations.items():
        lights = signals if sat == SATURATION_VPHPL else read_sumo_signals(
            net_xml, routes, begin=begin, end=end, saturation_vphpl=sat
        )  # fmt: skip
        model = TrafficModel(lights.network, lights.intersections, **options)
        found = optimize_network(
            model, demand, duration_s=min(end - begin, 1800.0), time_limit_s=time_limit_s / len(saturations), seed=seed
        )
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
            net_xml, routes, files, begin=begin, end=end, seeds=check_seeds, workdir=target.with_name(f"{stem}.check")
        )
        recommended = check.recommended
    else:
        check, recommended = None, f"fixed {SATURATION_VPHPL:.0f}"
    target.write_bytes(files[recommended].read_bytes())
    return ScenarioPrograms(signals, plans, files, check, recommended)
