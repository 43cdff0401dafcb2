"""High-capacity ride-pooling in the style of Alonso-Mora et al. (PNAS 2017), batch by batch. The
C++ core builds the candidate trips (sets of up to ``max_trip`` waiting requests a vehicle can take
on top of its plan) from the request-vehicle and request-request shareability graphs, and chooses
among them, each request at most once: greedily, then by an exact search in each independent part
of the batch small enough to finish. An integer program (OR-Tools CP-SAT, one worker) takes the
parts left, warm started by the core's choice, under a budget of deterministic time (the same
choice on any machine) and optionally a time limit. Requests left waiting stay for the next batch;
requests assigned but not yet picked up may go back into it too (they move, but stay served); idle
vehicles may be sent toward the unserved ones (waiting or rejected)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from ortools.sat.python import cp_model

from smartopt._threads import default_threads
from smartopt._validation import IntArray

DETERMINISTIC_TIME = 0.2
"""CP-SAT's default budget per batch, in its deterministic time (a measure of work, roughly
seconds on one laptop core)."""

EXACT_STEPS = 100_000
"""The core's exact search of a batch's choice of trips, per independent part: trips looked at
(past it, CP-SAT takes the part)."""


@dataclass(frozen=True)
class PoolingLimits:
    """How far the search of one batch goes: trips of up to ``max_trip`` requests; each request's
    ``per_request`` cheapest vehicles, each vehicle's ``per_vehicle`` cheapest requests among those,
    at most ``trips_per_size`` trips of each size per vehicle; CP-SAT for ``deterministic_time``
    (0: the core's choice) and, if not None, ``time_limit_s`` seconds; idle vehicles sent toward
    unserved requests (left waiting or rejected) if ``rebalance``, each request offered its
    ``per_request`` nearest (at most 10; the first 1,000 requests); requests assigned but not yet
    picked up back in each batch if ``reassign``."""

    max_trip: int
    per_request: int
    per_vehicle: int
    trips_per_size: int
    deterministic_time: float
    time_limit_s: float | None
    rebalance: bool
    seed: int
    reassign: bool = False


@dataclass(frozen=True, eq=False)
class Trips:
    """A batch's candidate trips, from the core: trip ``t`` is ``vehicle[t]`` taking requests
    ``rides[ride_offsets[t]:ride_offsets[t + 1]]`` at ``cost[t]`` (s). ``choice``: the core's best
    choice of trips, optimal among those ``proven``. ``reassigned``: requests the choice must serve
    (assigned but not yet picked up)."""

    vehicle: IntArray
    cost: npt.NDArray[np.float64]
    ride_offsets: npt.NDArray[np.int64]
    rides: IntArray
    choice: IntArray
    proven: npt.NDArray[np.bool_]
    reassigned: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))

    @property
    def sizes(self) -> npt.NDArray[np.int64]:
        """Requests per trip."""
        return np.diff(self.ride_offsets)


class _Model(cp_model.CpModel):  # type: ignore[misc]  # OR-Tools has no type hints
    """A CP-SAT model without the camelCase aliases OR-Tools adds to every new model (about 1 ms
    each, a sixth of a day's pooling)."""

    def _add_pre_pep8_methods(self) -> None:
        pass


def choose(
    trips: Trips, time_limit_s: float | None, seed: int, deterministic_time: float = DETERMINISTIC_TIME
) -> IntArray:
    """Trips to take: every reassigned request, most requests served, then least total cost. The
    core's choice where it is proven optimal; elsewhere CP-SAT (one worker, the core's choice as
    hint) within ``deterministic_time`` and, if given, ``time_limit_s`` seconds, or the core's
    choice if CP-SAT finds nothing better (a budget of 0 skips CP-SAT). Without a time limit the
    choice is the same for a ``seed`` on any machine."""
    open_ = np.flatnonzero(~trips.proven)
    if open_.size == 0 or deterministic_time <= 0 or (time_limit_s is not None and time_limit_s <= 0):
        return trips.choice
    sizes = trips.sizes[open_]
    model = _Model()
    x = [model.new_bool_var("") for _ in range(open_.size)]
    members = np.arange(open_.size)
    rides = np.concatenate([trips.rides[trips.ride_offsets[k] : trips.ride_offsets[k + 1]] for k in open_])
    reassigned = set(trips.reassigned.tolist())  # each in exactly one trip
    for keys, of, must in ((trips.vehicle[open_], members, set()), (rides, np.repeat(members, sizes), reassigned)):
        order = np.argsort(keys, kind="stable")
        cuts = np.flatnonzero(np.diff(keys[order])) + 1
        firsts = keys[order][np.concatenate(([0], cuts))].tolist()
        for key, group in zip(firsts, np.split(of[order], cuts), strict=True):
            if key in must:
                model.add_exactly_one([x[k] for k in group])
            elif group.size > 1:
                model.add_at_most_one([x[k] for k in group])
    cost = np.rint(10 * trips.cost[open_]).astype(np.int64)  # 0.1 s
    served = int(np.abs(cost).sum()) + 1  # one more request served outweighs any cost (costs may be < 0)
    weight = cost - served * sizes
    model.minimize(cp_model.LinearExpr.weighted_sum(x, weight.tolist()))
    hint = np.isin(open_, trips.choice)
    for k in np.flatnonzero(hint):
        model.add_hint(x[k], 1)
    solver = cp_model.CpSolver()
    if time_limit_s is not None:
        solver.parameters.max_time_in_seconds = time_limit_s
    solver.parameters.max_deterministic_time = deterministic_time
    solver.parameters.num_workers = 1
    solver.parameters.cp_model_presolve = False  # a set packing: presolve costs more than it saves (3x)
    solver.parameters.random_seed = seed % 2**31  # CP-SAT's seed is 32-bit
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return trips.choice
    found = np.array([solver.boolean_value(v) for v in x], dtype=bool)
    if int(weight[found].sum()) >= int(weight[hint].sum()):
        return trips.choice
    return np.sort(np.concatenate([trips.choice[trips.proven[trips.choice]], open_[found]])).astype(np.int32)


def pool_batch(core: Any, pending: list[int], limits: PoolingLimits) -> list[int]:
    """Places a batch of waiting requests in the core fleet; rejects those no vehicle can take now;
    returns those still waiting. With ``limits.rebalance`` idle vehicles are sent toward the
    unserved ones (waiting or rejected)."""
    if not pending:
        return []
    table = core.pool_trips(
        np.array(pending, dtype=np.int32),
        limits.max_trip,
        limits.per_request,
        limits.per_vehicle,
        limits.trips_per_size,
        EXACT_STEPS,
        default_threads(),
        limits.reassign,
    )
    for ride, battery in zip(table["unplaceable"].tolist(), table["battery"].tolist(), strict=True):
        core.reject(ride, battery)
    trips = Trips(*(table[k] for k in ("vehicle", "cost", "ride_offsets", "rides", "choice", "proven", "reassigned")))
    chosen = choose(trips, limits.time_limit_s, limits.seed, limits.deterministic_time)
    placed: set[int] = set()
    if chosen.size:
        starts, ends = table["plan_offsets"][chosen], table["plan_offsets"][chosen + 1]
        stops = np.concatenate([np.arange(a, b) for a, b in zip(starts, ends, strict=True)])
        offsets = np.concatenate(([0], np.cumsum(ends - starts)))
        taken = core.assign_plans(
            trips.vehicle[chosen], offsets, table["plan_rides"][stops], table["plan_pickup"][stops]
        )
        for k in chosen[taken]:
            placed.update(trips.rides[trips.ride_offsets[k] : trips.ride_offsets[k + 1]].tolist())
    dropped = placed.union(table["unplaceable"].tolist())
    waiting = [r for r in pending if r not in dropped]
    unserved = waiting + table["unplaceable"].tolist()  # where demand goes unmet: Alonso-Mora's signal
    if unserved and limits.rebalance:
        core.rebalance_toward(np.array(unserved, dtype=np.int32), limits.per_request)
    return waiting


class PoolingRun:
    """Feeds requests (added to the core in time order; ``time_s`` lists when each was made and
    may grow) to :func:`pool_batch` every ``batch_s`` seconds, like the core's own batch
    placement."""

    def __init__(self, core: Any, time_s: list[float], batch_s: float, limits: PoolingLimits) -> None:
        self.core, self.time_s, self.batch_s, self.limits = core, time_s, batch_s, limits
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
            self.pending = pool_batch(self.core, self.pending, self.limits)
            if self.epoch + self.batch_s <= self.epoch:
                raise ValueError("times too large for batches of batch_s")
            self.epoch += self.batch_s
        if math.isfinite(until):
            self.core.advance(until)
