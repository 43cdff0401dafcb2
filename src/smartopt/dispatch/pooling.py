"""Batch ride-pooling in the style of Alonso-Mora et al. (PNAS 2017): for each vehicle, the trips
(sets of up to ``max_trip`` waiting requests) it can take on top of its plan, then an assignment of
trips to vehicles, each request at most once, as an integer program (OR-Tools CP-SAT, one worker)
under a budget of deterministic time (the same choice on any machine) and optionally a time limit,
warm started by a greedy choice."""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np
from ortools.sat.python import cp_model

DETERMINISTIC_TIME = 0.2
"""CP-SAT's default budget per batch, in its deterministic time (a measure of work, roughly
seconds on one laptop core)."""


@dataclass(frozen=True)
class Trip:
    vehicle: int
    requests: tuple[int, ...]  # ride ids, in insertion order
    cost: float  # s: added driving plus weighted waits


def candidate_trips(core: Any, pending: list[int], costs: np.ndarray, max_trip: int, per_vehicle: int) -> list[Trip]:
    """Feasible trips: every (vehicle, request) pair that fits, then larger trips built from the
    vehicle's ``per_vehicle`` cheapest requests whose smaller sub-trips all fit (inserted cheapest
    request first)."""
    trips: list[Trip] = []
    for v in range(costs.shape[0]):
        fits = np.flatnonzero(np.isfinite(costs[v]))
        trips += [Trip(v, (pending[r],), float(costs[v, r])) for r in fits]
        near = fits[np.argsort(costs[v, fits], kind="stable")[:per_vehicle]].tolist()
        ok: set[tuple[int, ...]] = {(r,) for r in near}
        for size in range(2, max_trip + 1):
            grown: set[tuple[int, ...]] = set()
            for combo in combinations(sorted(near, key=lambda r: costs[v, r]), size):
                if not all(sub in ok for sub in combinations(combo, size - 1)):
                    continue
                cost = core.add_trip(v, np.array([pending[r] for r in combo], dtype=np.int32), False)
                if math.isfinite(cost):
                    grown.add(combo)
                    trips.append(Trip(v, tuple(pending[r] for r in combo), cost))
            if not grown:
                break
            ok = grown
    return trips


def greedy(trips: list[Trip]) -> list[int]:
    """Indices of trips chosen largest first, then cheapest per request, none sharing a vehicle or
    a request."""
    order = sorted(range(len(trips)), key=lambda k: (-len(trips[k].requests), trips[k].cost / len(trips[k].requests)))
    used_v: set[int] = set()
    used_r: set[int] = set()
    chosen = []
    for k in order:
        t = trips[k]
        if t.vehicle in used_v or used_r.intersection(t.requests):
            continue
        chosen.append(k)
        used_v.add(t.vehicle)
        used_r.update(t.requests)
    return chosen


class _Model(cp_model.CpModel):  # type: ignore[misc]  # OR-Tools has no type hints
    """A CP-SAT model without the camelCase aliases OR-Tools adds to every new model (about 1 ms
    each, a sixth of a day's pooling)."""

    def _add_pre_pep8_methods(self) -> None:
        pass


def choose(
    trips: list[Trip], time_limit_s: float | None, seed: int, deterministic_time: float = DETERMINISTIC_TIME
) -> list[int]:
    """Trips to take: most requests served, then least total cost (CP-SAT, one worker, greedy hint;
    the greedy choice if CP-SAT finds nothing better within ``deterministic_time`` and, if given,
    ``time_limit_s`` seconds; a budget of 0 skips CP-SAT). Without a time limit the choice is the
    same for a ``seed`` on any machine."""
    start = greedy(trips)
    if len({r for t in trips for r in t.requests}) <= 1 or deterministic_time <= 0:
        return start  # one request: the greedy choice, its cheapest trip, is optimal
    if time_limit_s is not None and time_limit_s <= 0:
        return start
    model = _Model()
    x = [model.new_bool_var(f"t{k}") for k in range(len(trips))]
    by_vehicle: dict[int, list[Any]] = {}
    by_request: dict[int, list[Any]] = {}
    for k, t in enumerate(trips):
        by_vehicle.setdefault(t.vehicle, []).append(x[k])
        for r in t.requests:
            by_request.setdefault(r, []).append(x[k])
    for group in (*by_vehicle.values(), *by_request.values()):
        if len(group) > 1:
            model.add_at_most_one(group)
    cost = [round(10 * t.cost) for t in trips]  # 0.1 s
    served = sum(cost) + 1  # one more request served outweighs any cost
    model.minimize(sum((c - served * len(t.requests)) * v for c, t, v in zip(cost, trips, x, strict=True)))
    for k in start:
        model.add_hint(x[k], True)
    solver = cp_model.CpSolver()
    if time_limit_s is not None:
        solver.parameters.max_time_in_seconds = time_limit_s
    solver.parameters.max_deterministic_time = deterministic_time
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = seed % 2**31  # CP-SAT's seed is 32-bit
    solver.parameters.cp_model_presolve = False  # small models: presolve costs more than it saves
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return start
    return [k for k in range(len(trips)) if solver.value(x[k])]


def pool_batch(
    core: Any,
    pending: list[int],
    *,
    max_trip: int,
    per_vehicle: int,
    time_limit_s: float | None,
    seed: int,
    deterministic_time: float = DETERMINISTIC_TIME,
) -> list[int]:
    """Places a batch of waiting requests in the core fleet; rejects those no vehicle can take now;
    returns those still waiting. The trips are chosen by :func:`choose` within its budgets."""
    if not pending:
        return []
    costs, battery = core.insertion_costs(np.array(pending, dtype=np.int32))
    alive = np.isfinite(costs).any(axis=0)
    for r in np.flatnonzero(~alive):
        core.reject(pending[r], bool(battery[r]))
    waiting = [pending[r] for r in np.flatnonzero(alive)]
    trips = candidate_trips(core, waiting, costs[:, alive], max_trip, per_vehicle)
    placed: set[int] = set()
    for k in choose(trips, time_limit_s, seed, deterministic_time):
        t = trips[k]
        if math.isfinite(core.add_trip(t.vehicle, np.array(t.requests, dtype=np.int32), True)):
            placed.update(t.requests)
    return [r for r in waiting if r not in placed]


class PoolingRun:
    """Feeds requests (added to the core in time order; ``time_s`` lists when each was made and
    may grow) to :func:`pool_batch` every ``batch_s`` seconds, like the core's own batch
    placement."""

    def __init__(self, core: Any, time_s: list[float], batch_s: float, **batch: Any) -> None:
        self.core, self.time_s, self.batch_s, self.batch = core, time_s, batch_s, batch
        self.next = 0
        self.pending: list[int] = []
        self.epoch = -1.0

    def run_until(self, until: float) -> None:
        """Places every request made by ``until`` (s); the clock then moves to ``until`` if finite."""
        n = len(self.time_s)
        while self.next < n or self.pending:
            if not self.pending:  # skip to the batch of the next request
                self.epoch = max(self.epoch, math.ceil(self.time_s[self.next] / self.batch_s) * self.batch_s)
            if self.epoch > until:
                break
            while self.next < n and self.time_s[self.next] <= self.epoch:
                self.pending.append(self.next)
                self.next += 1
            self.core.advance(self.epoch)
            self.pending = pool_batch(self.core, self.pending, **self.batch)
            if self.epoch + self.batch_s <= self.epoch:
                raise ValueError("times too large for batches of batch_s")
            self.epoch += self.batch_s
        if math.isfinite(until):
            self.core.advance(until)
