"""Independent references for the VRP tests: a route checker that simulates schedules directly (no
segment algebra) and an exact solver for tiny problems (every subset, every order)."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog

from smartopt.dispatch import VehicleType, VRPProblem

TOL = 1e-6


@dataclass
class Checked:
    feasible: bool
    cost: float
    distance: float
    duration: float
    reason: str = ""


def check_route(problem: VRPProblem, vt: VehicleType, visits: list[int]) -> Checked:
    """Simulates the route: leaves as late as the time windows allow (least waiting), serves each
    visit at the earliest in its window; checks windows, loads along the way, pairs and limits.
    Ride limits (leaving the pickup to serving the drop-off) are checked by an LP over the
    service start times (scipy's HiGHS): some schedule must keep them and every window."""
    d, t = problem.distance[vt.profile], problem.duration[vt.profile]
    path = [vt.start, *visits, vt.end]
    dist = float(sum(d[a, b] for a, b in itertools.pairwise(path)))
    # latest start of service at each visit that keeps every later window (backward pass)
    latest = vt.shift_end
    nxt = vt.end
    for c in reversed(visits):
        latest = min(problem.tw_late[c], latest - problem.service[c] - t[c, nxt])
        nxt = c
    depart_latest = latest - t[vt.start, nxt]
    depart = max(vt.shift_start, depart_latest) if math.isfinite(depart_latest) else vt.shift_start
    clock, prev, ok, why = depart, vt.start, True, ""
    load = float(sum(problem.demand[c] for c in visits))
    peak = load
    seen: set[int] = set()
    pair_of = {int(c): k for k, row in enumerate(problem.pairs.tolist()) for c in row}
    for c in visits:
        clock += t[prev, c]
        clock = max(clock, problem.tw_early[c])
        if clock > problem.tw_late[c] + TOL:
            ok, why = False, f"late at {c}"
        clock += problem.service[c]
        load += problem.pickup[c] - problem.demand[c]
        if c in pair_of:
            p, dd = problem.pairs[pair_of[c]]
            if c == p:
                load += problem.pair_load[pair_of[c]]
            else:
                load -= problem.pair_load[pair_of[c]]
                if p not in seen:
                    ok, why = False, f"delivery {c} before its pickup"
        seen.add(c)
        peak = max(peak, load)
        prev = c
    for p, dd in problem.pairs.tolist():
        if (p in seen) != (dd in seen):
            ok, why = False, f"pair {p}-{dd} split"
    clock += t[prev, vt.end]
    duration = clock - depart
    if clock > vt.shift_end + TOL:
        ok, why = False, "back after the shift"
    if peak > vt.capacity + TOL:
        ok, why = False, f"load {peak} over capacity"
    if duration > vt.max_duration + TOL or dist > vt.max_distance + TOL:
        ok, why = False, "over a duration or distance limit"
    if ok and not _rides_fit(problem, vt, visits):
        ok, why = False, "no schedule keeps the ride limits"
    cost = vt.fixed_cost + vt.unit_distance_cost * dist + vt.unit_duration_cost * duration if visits else 0.0
    return Checked(ok, cost, dist, duration, why)


def _rides_fit(problem: VRPProblem, vt: VehicleType, visits: list[int]) -> bool:
    """Whether service start times b exist with windows, travel, shift and ride limits kept."""
    pos = {c: k for k, c in enumerate(visits)}
    rides = [
        (pos[p], pos[dd], problem.max_ride[k])
        for k, (p, dd) in enumerate(problem.pairs.tolist())
        if p in pos and dd in pos and math.isfinite(problem.max_ride[k])
    ]
    if not rides:
        return True
    t, s, n = problem.duration[vt.profile], problem.service, len(visits)
    rows, rhs = [], []
    for k in range(1, n):  # b[k-1] + s + t <= b[k]
        row = np.zeros(n)
        row[k - 1], row[k] = 1, -1
        rows.append(row)
        rhs.append(-s[visits[k - 1]] - t[visits[k - 1], visits[k]])
    for i, j, limit in rides:  # b[j] - (b[i] + s_i) <= limit
        row = np.zeros(n)
        row[j], row[i] = 1, -1
        rows.append(row)
        rhs.append(limit + s[visits[i]])
    if math.isfinite(vt.shift_end):
        last = np.zeros(n)
        last[-1] = 1
        rows.append(last)
        rhs.append(vt.shift_end - s[visits[-1]] - t[visits[-1], vt.end])
    bounds = [(problem.tw_early[c], problem.tw_late[c]) for c in visits]
    bounds[0] = (max(bounds[0][0], vt.shift_start + t[vt.start, visits[0]]), bounds[0][1])
    bounds = [(lo, None if math.isinf(hi) else hi) for lo, hi in bounds]
    res = linprog(np.zeros(n), A_ub=np.array(rows), b_ub=np.array(rhs) + TOL, bounds=bounds, method="highs")
    return bool(res.status == 0)


def exact_cost(problem: VRPProblem) -> float:
    """The optimum of a tiny problem with unlimited vehicles of each type: best route per subset of
    clients (every order, every type), then the best split of all clients into routes and skips."""
    clients = problem.clients.tolist()
    k = len(clients)
    assert k <= 8, "exact_cost enumerates every order; keep it tiny"
    route = np.full(1 << k, math.inf)
    route[0] = 0.0
    for mask in range(1, 1 << k):
        members = [clients[i] for i in range(k) if mask >> i & 1]
        for vt in problem.vehicle_types:
            for order in itertools.permutations(members):
                r = check_route(problem, vt, list(order))
                if r.feasible:
                    route[mask] = min(route[mask], r.cost)
    best = np.full(1 << k, math.inf)
    best[0] = 0.0
    for mask in range(1, 1 << k):
        low = mask & -mask
        i = low.bit_length() - 1
        c = clients[i]
        if not problem.required[c]:
            best[mask] = best[mask ^ low] + problem.prize[c]
        sub = mask
        while sub:
            if sub & low:
                best[mask] = min(best[mask], route[sub] + best[mask ^ sub])
            sub = (sub - 1) & mask
    return float(best[-1])
