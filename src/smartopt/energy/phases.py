"""Phase balancing: put single-phase loads and chargers on phases A, B, C of their low-voltage
feeder so that the worst spread between the most and the least loaded phase over the day's slots
is least (the time-varying problem, not just daily energy); or, with ``objective="neutral"``, so that the
worst neutral measure is least: the magnitude of the phase loads summed as phasors 120 degrees
apart (kW), which drives the neutral current at unity power factor and balanced voltages.

Methods: ``"greedy"`` (largest peak first), ``"local"`` (greedy, then an iterated local search
with moves and swaps in C++), ``"cpsat"`` (OR-Tools CP-SAT on the whole feeder) and ``"hybrid"``
(the default: the local search, then, on feeders of up to ``CPSAT_MAX_LOADS`` loads, CP-SAT on the
whole feeder starting from its answer, which often proves it optimal). Assignments are compared
on the worst spread, then on the sum of squared spreads over the slots.

The search runs on a work budget, ``max_iterations`` (moves and swaps evaluated), which makes it
deterministic for a seed on any machine, or on a wall-clock budget ``time_limit_s``, or both
(whichever runs out first; then the result may depend on the machine's speed).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from smartopt._core import _phases
from smartopt._progress import SearchLog
from smartopt._serialise import ToDict
from smartopt._validation import (
    MAX_QUANTITY,
    FloatArray,
    IntArray,
    bool_flag,
    count_array,
    float_array,
    positive_float,
    positive_int,
    seed_int,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

METHODS = ("greedy", "local", "cpsat", "hybrid")
OBJECTIVES = ("spread", "neutral")
PHASES = np.array(["A", "B", "C"])
_CPSAT_MIN_S = 0.05  # CP-SAT's start-up alone takes about this long: below it the hybrid skips CP-SAT
_SLOT_EVALUATIONS_PER_S = 7_000_000 * 96
"""Moves and swaps the local search evaluates per second (one laptop core) times the slots (each
evaluation costs O(T); 7 million a second at 96 slots): the rate at which a ``max_iterations``
budget becomes CP-SAT's deterministic time (about seconds)."""
MAX_ITERATIONS = 35_000_000
"""The default budget of :func:`balance_phases` when neither ``max_iterations`` nor ``time_limit_s``
is given: moves and swaps evaluated, shared among the feeders (about 5 s at 96 slots)."""
_WEIGHT_SCALE = 10_000  # CP-SAT works in integers: each feeder's largest load becomes this many units
CPSAT_MAX_LOADS = 30
"""The hybrid hands feeders up to this many loads to CP-SAT after the local search (CP-SAT then
often proves the answer optimal). On larger ones CP-SAT found nothing the local search had not,
neither on the whole feeder nor re-optimising groups of 12-30 loads with the rest fixed (tried on
20-300 loads, 24 and 96 slots), so their whole budget goes to the local search."""


@dataclass(frozen=True, eq=False)
class PhaseResult(ToDict):
    """Phases (0, 1, 2 for A, B, C) of ``n`` loads with profiles ``profile_kw`` ``(n, T)`` on the
    feeders ``feeder`` ``(n,)``, one slot lasting ``slot_h`` (h); ``runtime_s`` is the wall time
    (s); ``evaluations`` counts the moves and swaps the local search evaluated (its share of a
    ``max_iterations`` budget)."""

    phase: npt.NDArray[np.int8]
    feeder: IntArray
    profile_kw: FloatArray
    method: str
    runtime_s: float
    slot_h: float
    evaluations: int = 0
    objective: str = "spread"

    @property
    def phase_name(self) -> npt.NDArray[np.str_]:
        """``"A"``, ``"B"`` or ``"C"`` per load."""
        return np.asarray(PHASES[self.phase])

    @cached_property
    def phase_kw(self) -> FloatArray:
        """Load per feeder, phase and slot (kW), ``(n_feeder, 3, T)``."""
        return _phase_totals(self.profile_kw, self.phase, self.feeder)

    @cached_property
    def imbalance_kw(self) -> FloatArray:
        """Worst spread over the slots between the most and least loaded phase, per feeder (kW)."""
        return np.asarray(np.ptp(self.phase_kw, axis=1).max(axis=1, initial=0.0))

    @cached_property
    def neutral_kw(self) -> FloatArray:
        """Worst neutral measure over the slots, per feeder (kW): ``|P_a + a P_b + a^2 P_c|`` with
        ``a`` a third of a turn, the phase loads' sum as phasors."""
        return _neutral_kw(self.phase_kw)

    def to_frame(self) -> pd.DataFrame:
        """One row per feeder: loads, worst imbalance (kW), energy per phase (kWh)."""
        energy = self.phase_kw.sum(axis=2) * self.slot_h
        return pd.DataFrame(
            {
                "loads": np.bincount(self.feeder, minlength=self.phase_kw.shape[0]),
                "imbalance_kw": self.imbalance_kw,
                "a_kwh": energy[:, 0],
                "b_kwh": energy[:, 1],
                "c_kwh": energy[:, 2],
            },
            index=pd.RangeIndex(self.phase_kw.shape[0], name="feeder"),
        )

    def plot(self, feeder: int = 0, ax: Axes | None = None) -> Axes:
        """Each phase's load (kW) over the day (h) on one feeder."""
        import matplotlib.pyplot as plt

        ax = ax if ax is not None else plt.subplots(figsize=(8, 3))[1]
        for k, name in enumerate(PHASES):
            hours = np.arange(self.phase_kw.shape[2]) * self.slot_h
            ax.step(hours, self.phase_kw[feeder, k], where="post", label=f"phase {name}")
        ax.set_xlabel("time of day, h")
        ax.set_ylabel("load (kW)")
        ax.legend()
        return ax

    def __repr__(self) -> str:
        return (
            f"PhaseResult({self.phase.size} loads on {self.phase_kw.shape[0]} feeders, {self.method}: worst "
            f"imbalance {self.imbalance_kw.max(initial=0.0):.2f} kW, {self.runtime_s:.2f} s)"
        )


def _phase_totals(profile: FloatArray, phase: npt.NDArray[Any], feeder: IntArray) -> FloatArray:
    out = np.zeros((int(feeder.max(initial=-1)) + 1, 3, profile.shape[1]))
    np.add.at(out, (feeder, phase.astype(np.int64)), profile)
    return out


def _inputs(profile_kw: Any, feeder: Any) -> tuple[FloatArray, IntArray]:
    profile = float_array("profile_kw", profile_kw, (None, None), max_abs=MAX_QUANTITY)
    if profile.shape[1] == 0:
        raise ValueError("profile_kw has no time slots")
    groups = (
        np.zeros(profile.shape[0], np.int32) if feeder is None else count_array("feeder", feeder, (profile.shape[0],))
    )
    return profile, groups


def _neutral_kw(phase_kw: FloatArray) -> FloatArray:
    """Worst neutral measure over the slots of phase loads ``(n_feeder, 3, T)`` per feeder (kW)."""
    x, y, z = phase_kw[:, 0], phase_kw[:, 1], phase_kw[:, 2]
    measure = np.sqrt(np.maximum(x * x + y * y + z * z - x * y - y * z - z * x, 0.0))
    return np.asarray(measure.max(axis=1, initial=0.0))


def phase_imbalance_kw(profile_kw: Any, phase: Any, feeder: Any = None) -> FloatArray:
    """Worst phase spread over the slots per feeder (kW) of an assignment (0, 1, 2 per load)."""
    profile, groups = _inputs(profile_kw, feeder)
    phases = count_array("phase", phase, (profile.shape[0],))
    if (phases > 2).any():
        raise ValueError(f"phase must be 0, 1 or 2, got {phases.max()}")
    return np.asarray(np.ptp(_phase_totals(profile, phases, groups), axis=1).max(axis=1, initial=0.0))


def balance_phases(
    profile_kw: Any,
    *,
    slot_h: float,
    feeder: Any = None,
    method: str = "hybrid",
    time_limit_s: float | None = None,
    max_iterations: int | None = None,
    seed: int = 0,
    objective: str = "spread",
    log: bool = False,
) -> PhaseResult:
    """Assigns each load (a row of ``profile_kw``, ``(n, T)`` kW) to phase A, B or C of its
    ``feeder`` (``(n,)`` ids; default: one feeder) to minimise each feeder's worst phase spread.

    Budgets, shared among the feeders by their number of loads: ``max_iterations``, the moves and
    swaps the local search evaluates (each costs O(T); about 7 million a second at 96 slots), of
    which CP-SAT's part (hybrid on small feeders, ``"cpsat"``) becomes its deterministic time at
    that rate (about seconds), on one worker; and ``time_limit_s`` (s; each feeder gets its share of the time left,
    so the call ends close to the limit). With only ``max_iterations`` (or neither: then
    :data:`MAX_ITERATIONS`) the result is the same for a seed on any machine; with a time limit
    it depends on the machine's speed. ``seed`` drives the local search and CP-SAT.
    ``"greedy"`` ignores all three. ``objective``: ``"spread"`` (the worst spread between phases,
    kW) or ``"neutral"`` (the worst neutral measure, :attr:`PhaseResult.neutral_kw`; CP-SAT models
    the spread only, so ``"cpsat"`` refuses it and ``"hybrid"`` runs the local search alone).
    ``slot_h`` (h) is one column's length, for the result's
    energies and plot. ``log=True`` prints the progress to stdout (about every second:
    evaluations, seconds, the worst imbalance of the feeders balanced so far).
    The time limit covers the whole call."""
    started = time.perf_counter()
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {OBJECTIVES}, got {objective!r}")
    if objective == "neutral" and method == "cpsat":
        raise ValueError('method "cpsat" minimises the spread only; use "local" or "hybrid" for objective "neutral"')
    neutral = objective == "neutral"
    limit_s = None if time_limit_s is None else positive_float("time_limit_s", time_limit_s, maximum=1e9)
    slot_h = positive_float("slot_h", slot_h, maximum=24.0)
    if max_iterations is not None:
        max_iterations = positive_int("max_iterations", max_iterations)
    budget = MAX_ITERATIONS if max_iterations is None and limit_s is None else max_iterations
    seed = seed_int("seed", seed)
    profile, groups = _inputs(profile_kw, feeder)
    search_log = SearchLog(
        "balance_phases",
        "worst imbalance so far (kW)",
        enabled=bool_flag("log", log),
        started=started,
        counting="evaluations",
        keep=max,
    )
    search_log.header(f"{profile.shape[0]} loads on {np.unique(groups).size} feeders by {method}", budget, limit_s)
    phase = np.zeros(profile.shape[0], np.int8)
    deadline = math.inf if limit_s is None else started + limit_s
    total = waiting = profile.shape[0]  # loads on feeders not yet balanced
    evaluations = 0
    for f in np.unique(groups):
        rows = np.flatnonzero(groups == f)
        # This feeder's share of the time left, so an overrun on one feeder shortens the others;
        # of the evaluations, a fixed share (the same on every machine).
        share_s = math.inf if limit_s is None else (deadline - time.perf_counter()) * rows.size / waiting
        share = None if budget is None else max(1, int(budget) * rows.size // total)
        waiting -= rows.size
        # Past the time limit the feeders left get the greedy assignment only (microseconds).
        how = method if share_s > 1e-4 else "greedy"
        rows_kw = np.ascontiguousarray(profile[rows])
        phase[rows], used = _balance_feeder(rows_kw, how, share_s, share, int(seed), neutral)
        evaluations += used
        if search_log.enabled:
            totals = _phase_totals(profile[rows], phase[rows], np.zeros(rows.size, np.int64))
            worst = _neutral_kw(totals)[0] if neutral else np.ptp(totals, axis=1).max(initial=0.0)
            search_log.line(evaluations, float(worst))
    search_log.line(evaluations, search_log.value, force=True)
    search_log.summary(f"{evaluations:,} evaluations in {time.perf_counter() - started:.2f} s")
    return PhaseResult(
        phase=phase,
        feeder=groups,
        profile_kw=profile,
        method=method,
        runtime_s=time.perf_counter() - started,
        evaluations=evaluations,
        slot_h=slot_h,
        objective=objective,
    )


def _balance_feeder(
    profile: FloatArray, method: str, time_limit_s: float, max_iterations: int | None, seed: int, neutral: bool
) -> tuple[npt.NDArray[np.int8], int]:
    """One feeder's phases and the local search's evaluations, within ``time_limit_s`` (inf: none)
    and ``max_iterations`` (None: none; CP-SAT's part as deterministic time), minimising the
    spread or, with ``neutral``, the neutral measure (the local search alone)."""
    n = profile.shape[0]
    work = -1 if max_iterations is None else max_iterations
    if method == "cpsat":
        found, _ = _cpsat(profile, None, time_limit_s, _work_s(max_iterations, profile.shape[1]), seed)
        return (found if found is not None else _phases.greedy(profile).phase), 0
    greedy = _phases.greedy(profile, neutral)
    if method == "greedy" or n < 2:
        return np.asarray(greedy.phase), 0
    if method == "local" or n > CPSAT_MAX_LOADS or neutral:
        best = _phases.improve(profile, greedy.phase, seed, 1 << 30, time_limit_s, work, neutral)
        return np.asarray(best.phase), int(best.evaluations)
    # A small feeder: the local search, then CP-SAT on the whole feeder from its answer.
    deadline = time.perf_counter() + time_limit_s
    best = _phases.improve(profile, greedy.phase, seed, 1 << 30, 0.3 * time_limit_s, -1 if work < 0 else work * 3 // 10)
    used = int(best.evaluations)
    left_s = deadline - time.perf_counter()
    left_work = _work_s(None if max_iterations is None else max_iterations - used, profile.shape[1])
    found = None
    if min(left_s, left_work) > _CPSAT_MIN_S:
        found = _cpsat(profile, best.phase, left_s, left_work, seed)[0]
    if found is not None:
        score = _phases.evaluate(profile, found)
        if (score.worst_kw, score.sum_sq) < (best.worst_kw, best.sum_sq):
            return np.asarray(found), used
    return np.asarray(best.phase), used


def _work_s(evaluations: int | None, slots: int) -> float:
    """CP-SAT's deterministic time (about s) for a budget of local-search evaluations (inf: none)."""
    return math.inf if evaluations is None else max(0, evaluations) * slots / _SLOT_EVALUATIONS_PER_S


def _cpsat(
    profile: FloatArray, start: npt.NDArray[np.int8] | None, time_limit_s: float, work_s: float, seed: int
) -> tuple[npt.NDArray[np.int8] | None, bool]:
    """CP-SAT minimising the worst integer-scaled phase spread of a feeder (starting from ``start``
    if given) within ``time_limit_s`` (s) and ``work_s`` of deterministic time (inf: none; with it,
    one worker, so the answer does not depend on the machine while the time limit does not bind):
    the assignment (None if it found nothing in time) and whether it is proven optimal."""
    from ortools.sat.python import cp_model

    n, t_count = profile.shape
    scale = _WEIGHT_SCALE / max(float(np.abs(profile).max()), 1e-12)
    weight = np.rint(profile * scale).astype(np.int64)
    model = cp_model.CpModel()
    x = [[model.new_bool_var(f"x{i}_{k}") for k in range(3)] for i in range(n)]
    for i, row in enumerate(x):
        model.add_exactly_one(row)
        if start is not None:
            for k in range(3):
                model.add_hint(row[k], 1 if int(start[i]) == k else 0)
    model.add(x[0][0] == 1)  # symmetry: the first load on phase A
    bound = int(np.abs(weight).sum(axis=0).max(initial=0))
    worst = model.new_int_var(0, 2 * bound, "worst")
    for t in range(t_count):
        coeffs = [int(w) for w in weight[:, t]]
        loads = [model.new_int_var(-bound, bound, f"p{k}_{t}") for k in range(3)]
        for k in range(3):
            model.add(loads[k] == cp_model.LinearExpr.weighted_sum([row[k] for row in x], coeffs))
        for a in range(3):
            for b in range(3):
                if a != b:
                    model.add(loads[a] - loads[b] <= worst)
    model.minimize(worst)
    solver = cp_model.CpSolver()
    if math.isfinite(time_limit_s):
        solver.parameters.max_time_in_seconds = time_limit_s
    if math.isfinite(work_s):
        solver.parameters.max_deterministic_time = work_s
    solver.parameters.num_workers = 1 if math.isfinite(work_s) else 2
    solver.parameters.random_seed = seed % (1 << 31)
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None, False
    found = np.array([next(k for k in range(3) if solver.boolean_value(row[k])) for row in x], np.int8)
    return found, status == cp_model.OPTIMAL
