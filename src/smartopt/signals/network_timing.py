"""Network-wide fixed-time plans: one common cycle, splits and offsets that minimise delay plus
stops in the :class:`~smartopt.signals.TrafficModel` (TRANSYT's objective, searched the TRANSYT
way: a good start, then hill climbing over offsets and splits scored by the model)."""

from __future__ import annotations

import math
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, replace

import numpy as np

from smartopt._progress import SearchLog
from smartopt._serialise import ToDict
from smartopt._validation import FloatArray, bool_flag, float_array
from smartopt.signals import _checks
from smartopt.signals._hcm import control_delay
from smartopt.signals.model import MAX_TIME_S, period_index
from smartopt.signals.timing import HcmParameters, TimingPlan, _hcm, optimize_fixed_time, webster
from smartopt.signals.traffic import TrafficDemand, TrafficModel

DEFAULT_MAX_ITERATIONS = 400
"""Model runs :func:`optimize_network` spends when given neither ``max_iterations`` nor
``time_limit_s`` (about a minute on the built-in district on two threads)."""
MAX_OFFSETS = 3600
"""Most offsets per signal and cycle (``cycle / offset_step_s``) the hill climbing may try."""
BATCH = 64
"""Plans scored per call of the compiled model (bounds the memory of a step of the search)."""
STATUSES = ("converged", "iteration_limit", "time_limit")


@dataclass(frozen=True)
class NetworkTiming(ToDict):
    """The best plan found, its objective (veh h over the scored duration: delay and stop penalty
    in the traffic model plus HCM's random-and-overflow delay, of which ``random_delay_veh_h``),
    the objective of the same cycle and splits with all offsets zero, the cycles tried with the
    best objective found for each (NaN for a cycle the budget did not reach), the model runs
    used and the true wall-clock time of the call. ``status``: ``"converged"`` (the last sweep of
    the hill climbing improved nothing), ``"iteration_limit"`` or ``"time_limit"`` (the budget ran
    out first; when it ran out before any plan was scored the objectives are NaN and the plan is
    Webster's at the first cycle)."""

    plan: TimingPlan
    objective_veh_h: float
    random_delay_veh_h: float
    zero_offset_objective_veh_h: float
    cycles_s: FloatArray
    cycle_objective_veh_h: FloatArray
    evaluations: int
    elapsed_s: float
    status: str = "converged"

    def __repr__(self) -> str:
        return (
            f"NetworkTiming({self.status}: cycle {self.plan.cycle_s[0]:g} s, objective {self.objective_veh_h:.1f} "
            f"veh h (offsets all zero: {self.zero_offset_objective_veh_h:.1f}), {self.evaluations} model runs "
            f"in {self.elapsed_s:.1f} s)"
        )


class _Scorer:
    """Scores candidate plans of one cycle in the compiled model, in parallel batches, within a
    deadline (``time.perf_counter()`` seconds; None: none) and a count of model runs (None: none).
    Plans the budget leaves unscored get NaN; ``stopped`` then says which budget ran out."""

    def __init__(
        self,
        model: TrafficModel,
        demand: TrafficDemand,
        steps: int,
        stop_penalty_s: float,
        threads: int,
        deadline: float | None,
        budget: int | None,
    ):
        self.steps, self.penalty, self.threads = steps, stop_penalty_s, threads
        self.deadline, self.budget = deadline, budget
        self.scenario = model.scenario(demand)
        self.evaluations = 0
        self.stopped: str | None = None

    def time_left(self) -> float:
        return math.inf if self.deadline is None else self.deadline - time.perf_counter()

    def exhausted(self, until: float | None = None, cap: float | None = None) -> bool:
        """Whether the budget (or the phase's ``until`` time and ``cap`` of runs) is spent."""
        if self.time_left() <= 0:
            self.stopped = "time_limit"
            return True
        if self.budget is not None and self.evaluations >= self.budget:
            self.stopped = "iteration_limit"
            return True
        return (until is not None and time.perf_counter() >= until) or (cap is not None and self.evaluations >= cap)

    def __call__(self, cycle: FloatArray, offsets: FloatArray, start: FloatArray, end: FloatArray) -> FloatArray:
        """Objectives (veh h) of plans given as stacked arrays: offsets (P, n), windows (P, n, S);
        NaN for the plans left unscored when the budget runs out."""
        from smartopt._core import _traffic

        p = offsets.shape[0]
        out = np.full(p, np.nan)
        if self.exhausted():
            return out
        room = p if self.budget is None else min(p, self.budget - self.evaluations)
        scored = _traffic.score_plans(
            self.scenario, np.broadcast_to(cycle, offsets[:room].shape), offsets[:room], start[:room], end[:room],
            self.steps, self.penalty, self.threads, self.time_left(),
        )  # fmt: skip
        out[:room] = np.asarray(scored) / 3600.0
        done = int(np.isfinite(out[:room]).sum())
        self.evaluations += done
        if done < room:
            self.stopped = "time_limit"
        elif room < p:
            self.stopped = "iteration_limit"
        return out


def _links_between_signals(
    model: TrafficModel, demand: TrafficDemand
) -> dict[tuple[int, int], tuple[float, float, int, int]]:
    """For each pair of signals (i, j) that traffic flows between: the flow (veh/h) from i to j,
    the free-flow time (s) from i's stop line to j's, and the stages of i and j that serve the
    largest part of it. Links between signals are followed through uncontrolled nodes along the
    turn that carries most flow."""
    n_links = model.network.num_links
    approach_of = np.full(n_links, -1)
    for j, x in enumerate(model.intersections):
        approach_of[x.approach_link] = j
    best_turn = np.full(n_links, -1)
    best_flow = np.zeros(n_links)
    for a, b, v in zip(demand.turn_in_link, demand.turn_out_link, demand.turn_vph, strict=True):
        if v > best_flow[a]:
            best_turn[a], best_flow[a] = b, v
    stage_of = []
    for x in model.intersections:
        stage = np.zeros(x.movement_out_link.shape[0], dtype=int)
        for s, moves in reversed(list(enumerate(x.stage_movements))):
            stage[moves] = s
        stage_of.append(stage)
    flows: dict[tuple[int, int], list[tuple[float, float, int, int]]] = defaultdict(list)
    volume = [x.volume_vph.sum(axis=0) for x in model.intersections]
    for i, x in enumerate(model.intersections):
        for m, link in enumerate(x.movement_out_link):
            travel, hops = 0.0, 0
            link = int(link)
            while approach_of[link] < 0 and best_turn[link] >= 0 and hops < 8:
                travel += float(model.free_flow_s[link])
                link, hops = int(best_turn[link]), hops + 1
            j = int(approach_of[link])
            if j < 0 or j == i or volume[i][m] <= 0:
                continue
            travel += float(model.free_flow_s[link])
            y = model.intersections[j]
            onward = np.flatnonzero(y.approach_link[y.lane_group_approach[y.movement_lane_group]] == link)
            k = int(onward[np.argmax(volume[j][onward])])
            flows[i, j].append((float(volume[i][m]), travel, int(stage_of[i][m]), int(stage_of[j][k])))
    out = {}
    for pair, items in flows.items():
        top = max(items)
        out[pair] = (sum(v for v, *_ in items), top[1], top[2], top[3])
    return out


def _green_wave_offsets(
    model: TrafficModel, links: dict[tuple[int, int], tuple[float, float, int, int]], cycle: float, start: FloatArray
) -> FloatArray:
    """Offsets that start each signal's green as the platoon from its heaviest upstream signal
    arrives, along a maximum-flow spanning tree of the signals (Prim's algorithm)."""
    n = len(model.intersections)
    offsets = np.zeros(n)
    placed = np.zeros(n, dtype=bool)
    total = np.zeros(n)
    for (i, j), (flow, *_rest) in links.items():
        total[i] += flow
        total[j] += flow
    while not placed.all():
        root = int(np.argmax(np.where(placed, -1.0, total)))
        placed[root] = True
        while True:
            edges = [(f, i, j) for (i, j), (f, *_r) in links.items() if placed[i] != placed[j]]
            if not edges:
                break
            _, i, j = max(edges)
            _, travel, si, sj = links[i, j]
            if placed[i]:  # downstream j follows upstream i
                offsets[j] = (offsets[i] + start[i, si] + travel - start[j, sj]) % cycle
                placed[j] = True
            else:  # upstream i leads downstream j
                offsets[i] = (offsets[j] + start[j, sj] - travel - start[i, si]) % cycle
                placed[i] = True
    return offsets


def _split_moves(green: FloatArray, lo: FloatArray, hi: FloatArray, step: float) -> list[FloatArray]:
    """Greens with ``step`` s moved from one stage to another, within min/max green."""
    out = []
    for a in range(green.shape[0]):
        for b in range(green.shape[0]):
            if a != b and green[a] - step >= lo[a] - 1e-9 and green[b] + step <= hi[b] + 1e-9:
                g = green.copy()
                g[a] -= step
                g[b] += step
                out.append(g)
    return out


def optimize_network(
    model: TrafficModel,
    demand: TrafficDemand,
    *,
    cycles_s: FloatArray | list[float] | None = None,
    period: int | str = 0,
    duration_s: float = 1800.0,
    stop_penalty_s: float = 5.0,
    offset_step_s: float = 2.0,
    time_limit_s: float | None = None,
    max_iterations: int | None = None,
    seed: int = 0,
    n_threads: int = 2,
    hcm: HcmParameters | None = None,
    log: bool = False,
) -> NetworkTiming:
    """A common cycle, splits and offsets for every signal of ``model`` that minimise delay plus
    ``stop_penalty_s`` (s of delay per stop; about what a stop from 50 km/h costs) in the model
    run for ``duration_s`` under ``demand``, plus the random-and-overflow delay that the model's
    steady flows leave out (HCM's ``d2`` per lane group with ``hcm``'s T, k and I, as TRANSYT adds
    its random delay), so no approach is timed to the edge of its capacity.

    For each cycle of ``cycles_s`` (default: every 10 s from the shortest feasible common cycle to
    120 s) the splits start from :func:`optimize_fixed_time` with that cycle (HCM delay, volumes
    of ``period``) and the offsets from a green wave along the heaviest flows between signals;
    then hill climbing, signal by signal in a seeded random order, tries every offset on an
    ``offset_step_s`` grid (at most :data:`MAX_OFFSETS` per cycle) and moves of ``offset_step_s``
    s of green between stages, keeping what the model scores better, until a sweep finds nothing
    or the budget is spent (half of it goes to one sweep per cycle, the rest to the best cycle).

    Budgets: ``max_iterations``, the model runs (plans scored); ``time_limit_s`` (s of wall-clock
    time for the whole call, set-up included; a run still going at the limit is abandoned). With
    only ``max_iterations`` (or neither: then :data:`DEFAULT_MAX_ITERATIONS`) the result is the
    same for a ``seed`` on any machine and any ``n_threads``; with a time limit it depends on the
    machine's speed. ``log=True`` prints the
    search's progress to stdout (about every second: model runs, seconds, best objective).
    """
    started = time.perf_counter()
    if not isinstance(model, TrafficModel):
        raise TypeError(f"model must be a TrafficModel, got {type(model).__name__}")
    if not isinstance(demand, TrafficDemand):
        raise TypeError(f"demand must be a TrafficDemand, got {type(demand).__name__}")
    limit = (
        None
        if time_limit_s is None
        else _checks.number("time_limit_s", time_limit_s, minimum=0.0, exclusive_minimum=True, maximum=1e7)
    )
    budget = None if max_iterations is None else _checks.integer("max_iterations", max_iterations, minimum=1)
    if budget is None and limit is None:
        budget = DEFAULT_MAX_ITERATIONS
    penalty = _checks.number("stop_penalty_s", stop_penalty_s, minimum=0.0, maximum=MAX_TIME_S)
    step = _checks.number("offset_step_s", offset_step_s, minimum=0.0, exclusive_minimum=True, maximum=MAX_TIME_S)
    seed = _checks.integer("seed", seed, minimum=0)
    threads = _checks.integer("n_threads", n_threads, minimum=1, maximum=1024)
    hcm = _hcm(hcm)
    search_log = SearchLog(
        "optimize_network",
        "best objective (veh h)",
        enabled=bool_flag("log", log),
        started=started,
        counting="model runs",
    )
    xs = model.intersections
    if not xs:
        raise ValueError("the model has no signals to time")
    period = period_index(xs, period)
    feasible_lo = max(
        max(x.cycle_min_s, float((np.maximum(x.min_green_s, x.ped_min_green_s) + x.yellow_s + x.all_red_s).sum()))
        for x in xs
    )
    feasible_hi = min(x.cycle_max_s for x in xs)
    if feasible_lo > feasible_hi:
        raise ValueError(f"no common cycle fits every signal: needs >= {feasible_lo:g} s and <= {feasible_hi:g} s")
    if cycles_s is None:
        grid = np.arange(np.ceil(feasible_lo / 10.0) * 10.0, min(feasible_hi, 120.0) + 1e-9, 10.0)
        cycles = grid if grid.size else np.array([feasible_lo])
    else:
        cycles = float_array("cycles_s", cycles_s, (None,), positive=True)
        if cycles.size == 0:
            raise ValueError("cycles_s is empty: give at least one cycle (s) or None for the default grid")
        bad = (cycles < feasible_lo - 1e-9) | (cycles > feasible_hi + 1e-9)
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise ValueError(f"cycles_s[{k}]={cycles[k]:g} is outside the feasible {feasible_lo:g}-{feasible_hi:g} s")
    offsets_per_cycle = float(cycles.max()) / step
    if offsets_per_cycle > MAX_OFFSETS:
        raise ValueError(
            f"offset_step_s={step:g} s gives {offsets_per_cycle:.3g} offsets per cycle of {cycles.max():g} s; "
            f"at most {MAX_OFFSETS} are allowed (offset_step_s >= {cycles.max() / MAX_OFFSETS:.3g} s)"
        )
    steps = model._steps(duration_s)
    for cycle in cycles:  # every candidate plan must suit the model's step
        model.windows(webster(xs, period, cycle_s=float(cycle)))
    deadline = None if limit is None else started + limit
    search_log.header(f"{len(xs)} signals, cycles {', '.join(f'{c:g}' for c in cycles)} s", budget, limit)
    scorer = _Scorer(model, demand, steps, penalty, threads, deadline, budget)
    rng = np.random.default_rng(seed)
    links = _links_between_signals(model, demand)
    lo = [np.maximum(x.min_green_s, x.ped_min_green_s) for x in xs]
    hi = [x.max_green_s for x in xs]
    hours = scorer.steps * model.dt_s / 3600.0
    serves = [x.stage_serves() for x in xs]
    group_vph = [x.lane_group_volume_vph()[period] for x in xs]
    t, k_factor, filtering, _ = hcm.as_tuple()

    def random_delay(i: int, start: FloatArray, end: FloatArray, cycle: float) -> float:
        """HCM's incremental (random and overflow) delay d2 of signal i's lane groups over the
        scored duration (veh h): what the deterministic model leaves out."""
        ns = serves[i].shape[0]
        green = (end[:ns] - start[:ns]) @ serves[i]
        d2, _, _ = control_delay(group_vph[i], xs[i].saturation_flow_vph, green, cycle, t, k_factor, filtering, 0.0)
        return float((group_vph[i] * d2).sum()) / 3600.0 * hours

    def randoms(plan: TimingPlan) -> FloatArray:
        _, _, start, end = model.windows(plan)
        return np.array([random_delay(i, start[i], end[i], float(plan.cycle_s[i])) for i in range(len(xs))])

    def score(plan: TimingPlan) -> float:
        _, off, start, end = model.windows(plan)
        return float(scorer(plan.cycle_s, off[None], start[None], end[None])[0]) + float(randoms(plan).sum())

    def climb(
        plan: TimingPlan, best: float, random_now: FloatArray, sweeps: int, share: float
    ) -> tuple[TimingPlan, float, FloatArray, bool]:
        """Hill climbing until a sweep improves nothing (then True) or ``share`` of the time and
        evaluation budget is spent (then False)."""
        cycle = float(plan.cycle_s[0])
        until = None if limit is None else started + share * limit
        cap = None if budget is None else share * budget
        for _ in range(sweeps):
            improved = False
            for i in rng.permutation(len(xs)):
                if scorer.exhausted(until, cap):
                    return plan, best, random_now, False
                ns = int(plan.num_stages[i])
                shifts = np.arange(step, cycle - 1e-9, step)
                greens = _split_moves(plan.green_s[i, :ns], lo[i], hi[i], step)
                _, _, start0, end0 = model.windows(plan)
                n_cand = shifts.size + len(greens)
                for first in range(0, n_cand, BATCH):  # in batches: bounded memory
                    rows = range(first, min(first + BATCH, n_cand))
                    offsets = np.repeat(plan.offset_s[None, :], len(rows), axis=0)
                    green = np.repeat(plan.green_s[None], len(rows), axis=0)
                    starts = np.repeat(start0[None], len(rows), axis=0)
                    ends = np.repeat(end0[None], len(rows), axis=0)
                    extra = np.full(len(rows), random_now[i])
                    for r, c in enumerate(rows):
                        if c < shifts.size:
                            offsets[r, i] = (plan.offset_s[i] + shifts[c]) % cycle
                        else:  # only signal i's windows change
                            green[r, i, :ns] = greens[c - shifts.size]
                            _, _, start, end = model.windows(replace(plan, green_s=green[r]))
                            starts[r, i], ends[r, i] = start[i], end[i]
                            extra[r] = random_delay(i, start[i], end[i], cycle)
                    scores = scorer(plan.cycle_s, offsets, starts, ends) + (random_now.sum() - random_now[i] + extra)
                    if np.isfinite(scores).any():
                        k = int(np.nanargmin(scores))
                        if scores[k] < best - 1e-9:
                            best, improved = float(scores[k]), True
                            plan = replace(plan, offset_s=offsets[k], green_s=green[k])
                            random_now = random_now.copy()
                            random_now[i] = extra[k]
                    search_log.line(scorer.evaluations, best)
                    if scorer.exhausted(until, cap):
                        return plan, best, random_now, False
            if not improved:
                return plan, best, random_now, True
        return plan, best, random_now, False

    def start_plan(cycle: float) -> TimingPlan:
        """Splits of least HCM delay at ``cycle``; Webster's when a time limit leaves no room to
        load the compiled optimiser (about half a second the first time)."""
        loaded = "smartopt.signals._kernels" in sys.modules
        if limit is not None and scorer.time_left() < (0.05 if loaded else 2.0):
            return webster(xs, period, cycle_s=cycle)
        return optimize_fixed_time(xs, period, hcm, cycle_s=cycle)

    nan = math.nan
    results: list[tuple[float, float, TimingPlan | None]] = []
    for k, cycle in enumerate(cycles):
        if scorer.exhausted():
            results.append((nan, nan, None))
            continue
        base = start_plan(float(cycle))
        zero = score(base)
        search_log.line(scorer.evaluations, zero)
        if not math.isfinite(zero):
            results.append((nan, nan, None))
            continue
        start = model.windows(base)[2]
        wave = replace(base, offset_s=_green_wave_offsets(model, links, float(cycle), start))
        wave_score = score(wave)
        plan, best = (wave, wave_score) if wave_score < zero else (base, zero)
        plan, best, _, _ = climb(plan, best, randoms(plan), 1, 0.5 * (k + 1) / len(cycles))  # one sweep each
        search_log.line(scorer.evaluations, best)
        results.append((best, zero, plan))
    objectives = np.array([r[0] for r in results])
    if not np.isfinite(objectives).any():  # the budget ran out before any plan was scored
        first = webster(xs, period, cycle_s=float(cycles[0]))
        search_log.summary(f"{scorer.stopped or 'time_limit'} before any plan was scored")
        return NetworkTiming(
            plan=first, objective_veh_h=nan, random_delay_veh_h=nan, zero_offset_objective_veh_h=nan,
            cycles_s=np.asarray(cycles, dtype=float), cycle_objective_veh_h=objectives,
            evaluations=scorer.evaluations, elapsed_s=time.perf_counter() - started,
            status=scorer.stopped or "time_limit",
        )  # fmt: skip
    k = int(np.nanargmin(objectives))
    best, zero, found = results[k]
    assert found is not None
    plan, best, random_now, converged = climb(found, best, randoms(found), 1000, 1.0)
    status = "converged" if converged else (scorer.stopped or "iteration_limit")
    search_log.line(scorer.evaluations, best, force=True)
    search_log.summary(
        f"{status}, cycle {plan.cycle_s[0]:g} s, objective {best:.4g} veh h after {scorer.evaluations:,} model runs "
        f"in {time.perf_counter() - started:.2f} s"
    )
    return NetworkTiming(
        plan=plan,
        objective_veh_h=best,
        random_delay_veh_h=float(random_now.sum()),
        zero_offset_objective_veh_h=zero,
        cycles_s=np.asarray(cycles, dtype=float),
        cycle_objective_veh_h=objectives,
        evaluations=scorer.evaluations,
        elapsed_s=time.perf_counter() - started,
        status=status,
    )
