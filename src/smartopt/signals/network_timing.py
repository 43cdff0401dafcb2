"""Network-wide fixed-time plans: one common cycle, splits and offsets that minimise delay plus
stops in the :class:`~smartopt.signals.TrafficModel` (TRANSYT's objective, searched the TRANSYT
way: a good start, then hill climbing over offsets and splits scored by the model)."""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, replace

import numpy as np

from smartopt._serialise import ToDict
from smartopt._validation import FloatArray, float_array, positive_int
from smartopt.signals.timing import HcmParameters, TimingPlan, _hcm_delay, optimize_fixed_time
from smartopt.signals.traffic import TrafficDemand, TrafficModel


@dataclass(frozen=True)
class NetworkTiming(ToDict):
    """The best plan found, its objective (veh h over the scored duration: delay and stop penalty
    in the traffic model plus HCM's random-and-overflow delay, of which ``random_delay_veh_h``),
    the objective of the same cycle and splits with all offsets zero, the cycles tried with the
    best objective found for each, and the model runs used."""

    plan: TimingPlan
    objective_veh_h: float
    random_delay_veh_h: float
    zero_offset_objective_veh_h: float
    cycles_s: FloatArray
    cycle_objective_veh_h: FloatArray
    evaluations: int
    elapsed_s: float

    def __repr__(self) -> str:
        return (
            f"NetworkTiming(cycle {self.plan.cycle_s[0]:g} s, objective {self.objective_veh_h:.1f} veh h "
            f"(offsets all zero: {self.zero_offset_objective_veh_h:.1f}), {self.evaluations} model runs "
            f"in {self.elapsed_s:.1f} s)"
        )


class _Scorer:
    """Scores candidate plans of one cycle in the compiled model, in parallel batches."""

    def __init__(self, model: TrafficModel, demand: TrafficDemand, steps: int, stop_penalty_s: float, threads: int):
        self.steps, self.penalty, self.threads = steps, stop_penalty_s, threads
        self.scenario = model.scenario(demand)
        self.evaluations = 0

    def __call__(self, cycle: FloatArray, offsets: FloatArray, start: FloatArray, end: FloatArray) -> FloatArray:
        """Objectives (veh h) of plans given as stacked arrays: offsets (P, n), windows (P, n, S)."""
        from smartopt._core import _traffic

        p = offsets.shape[0]
        out = _traffic.score_plans(
            self.scenario, np.broadcast_to(cycle, offsets.shape), offsets, start, end, self.steps, self.penalty,
            self.threads,
        )  # fmt: skip
        self.evaluations += p
        return np.asarray(out) / 3600.0


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
    period: int = 0,
    duration_s: float = 1800.0,
    stop_penalty_s: float = 5.0,
    offset_step_s: float = 2.0,
    time_limit_s: float = 60.0,
    max_evaluations: int | None = None,
    seed: int = 0,
    n_threads: int = 2,
    hcm: HcmParameters | None = None,
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
    ``offset_step_s`` grid and moves of ``offset_step_s`` s of green between stages, keeping what
    the model scores better, until a sweep finds nothing, ``time_limit_s`` runs out or
    ``max_evaluations`` model runs are spent (half the budget goes to one sweep per cycle, the
    rest to the best cycle). Under a binding time limit the result depends on the machine's
    speed; bound the search by ``max_evaluations`` (with a time limit that does not bind) to make
    it reproducible for a ``seed``.
    """
    started = time.perf_counter()
    penalty, step, limit = (
        float(v)
        for v in float_array(
            "stop_penalty_s, offset_step_s, time_limit_s", [stop_penalty_s, offset_step_s, time_limit_s],
            nonnegative=True,
        )
    )  # fmt: skip
    if step <= 0:
        raise ValueError("offset_step_s must be > 0")
    xs = model.intersections
    if not xs:
        raise ValueError("the model has no signals to time")
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
        bad = (cycles < feasible_lo - 1e-9) | (cycles > feasible_hi + 1e-9)
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise ValueError(f"cycles_s[{k}]={cycles[k]:g} is outside the feasible {feasible_lo:g}-{feasible_hi:g} s")
    threads = positive_int("n_threads", n_threads)
    budget = positive_int("max_evaluations", max_evaluations) if max_evaluations is not None else None
    scorer = _Scorer(model, demand, model._steps(duration_s), penalty, threads)
    rng = np.random.default_rng(seed)
    links = _links_between_signals(model, demand)
    lo = [np.maximum(x.min_green_s, x.ped_min_green_s) for x in xs]
    hi = [x.max_green_s for x in xs]

    def climb(plan: TimingPlan, best: float, sweeps: int, share: float) -> tuple[TimingPlan, float]:
        """Hill climbing until ``share`` of the time and evaluation budget is spent."""
        cycle = float(plan.cycle_s[0])
        for _ in range(sweeps):
            improved = False
            for i in rng.permutation(len(xs)):
                if time.perf_counter() - started > share * limit or (
                    budget is not None and scorer.evaluations >= share * budget
                ):
                    return plan, best
                ns = int(plan.num_stages[i])
                shifts = np.arange(step, cycle - 1e-9, step)
                greens = _split_moves(plan.green_s[i, :ns], lo[i], hi[i], step)
                offsets = np.repeat(plan.offset_s[None, :], shifts.size + len(greens), axis=0)
                offsets[: shifts.size, i] = (plan.offset_s[i] + shifts) % cycle
                green = np.repeat(plan.green_s[None], offsets.shape[0], axis=0)
                _, _, start, end = model.windows(plan)
                starts = np.repeat(start[None], offsets.shape[0], axis=0)
                ends = np.repeat(end[None], offsets.shape[0], axis=0)
                extra = np.full(offsets.shape[0], random_now[i])
                for k, g in enumerate(greens, start=shifts.size):  # only signal i's windows change
                    green[k, i, :ns] = g
                    _, _, start, end = model.windows(replace(plan, green_s=green[k]))
                    starts[k, i], ends[k, i] = start[i], end[i]
                    extra[k] = random_delay(i, start[i], end[i], cycle)
                scores = scorer(plan.cycle_s, offsets, starts, ends)
                scores += random_now.sum() - random_now[i] + extra
                k = int(np.argmin(scores))
                if scores[k] < best - 1e-9:
                    best, improved = float(scores[k]), True
                    plan = replace(plan, offset_s=offsets[k], green_s=green[k])
                    random_now[i] = extra[k]
            if not improved:
                break
        return plan, best

    hours = scorer.steps * model.dt_s / 3600.0
    serves = [x.stage_serves() for x in xs]
    group_vph = [x.lane_group_volume_vph()[period] for x in xs]
    t, k_factor, filtering, _ = (hcm or HcmParameters()).as_tuple()

    def random_delay(i: int, start: FloatArray, end: FloatArray, cycle: float) -> float:
        """HCM's incremental (random and overflow) delay d2 of signal i's lane groups over the
        scored duration (veh h): what the deterministic model leaves out."""
        ns = serves[i].shape[0]
        green = (end[:ns] - start[:ns]) @ serves[i]
        d2, _, _ = _hcm_delay(group_vph[i], xs[i].saturation_flow_vph, green, cycle, t, k_factor, filtering, 0.0)
        return float((group_vph[i] * d2).sum()) / 3600.0 * hours

    def randoms(plan: TimingPlan) -> FloatArray:
        _, _, start, end = model.windows(plan)
        return np.array([random_delay(i, start[i], end[i], float(plan.cycle_s[i])) for i in range(len(xs))])

    def score(plan: TimingPlan) -> float:
        _, off, start, end = model.windows(plan)
        return float(scorer(plan.cycle_s, off[None], start[None], end[None])[0]) + float(randoms(plan).sum())

    results = []
    for k, cycle in enumerate(cycles):
        base = optimize_fixed_time(xs, period, hcm, cycle_s=float(cycle))
        zero = score(base)
        start = model.windows(base)[2]
        wave = replace(base, offset_s=_green_wave_offsets(model, links, float(cycle), start))
        plan, best = min(((base, zero), (wave, score(wave))), key=lambda pb: pb[1])
        random_now = randoms(plan)
        plan, best = climb(plan, best, 1, 0.5 * (k + 1) / len(cycles))  # half the budget: one sweep each
        results.append((best, zero, plan))
    k = int(np.argmin([r[0] for r in results]))
    best, zero, plan = results[k]
    random_now = randoms(plan)
    plan, best = climb(plan, best, 1000, 1.0)
    return NetworkTiming(
        plan=plan,
        objective_veh_h=best,
        random_delay_veh_h=float(random_now.sum()),
        zero_offset_objective_veh_h=zero,
        cycles_s=np.asarray(cycles, dtype=float),
        cycle_objective_veh_h=np.array([r[0] for r in results]),
        evaluations=scorer.evaluations,
        elapsed_s=time.perf_counter() - started,
    )
