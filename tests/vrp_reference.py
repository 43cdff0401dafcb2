"""Independent references for the VRP tests: a route checker that simulates schedules directly (no
segment algebra) and an exact solver for tiny problems (every subset, every order, every way to
split it into trips with reloads)."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import pytest
from scipy.optimize import linprog

from smartopt.dispatch import VehicleType, VRPProblem, VRPResult

TOL = 1e-6


@dataclass
class Checked:
    feasible: bool
    cost: float
    distance: float
    duration: float
    reason: str = ""


def check_route(problem: VRPProblem, vt: VehicleType, visits: list[int]) -> Checked:
    """Simulates the route: starts as late as the time windows allow (least waiting; not before the
    first trip's release), loads at the start depot for its service time, serves each visit at the
    earliest in its window; a depot among the visits is a reload (loading for its service time,
    within its window and not before the release of the trip it starts; the trip's deliveries go
    on board); checks windows, loads along the way, pairs and limits. Ride limits
    (leaving the pickup to serving the drop-off) are checked by an LP over the service start times
    (scipy's HiGHS): some schedule must keep them and every window."""
    d, t = problem.distance[vt.profile], problem.duration[vt.profile]
    path = [vt.start, *visits, vt.end]
    dist = float(sum(d[a, b] for a, b in itertools.pairwise(path)))
    trips: list[list[int]] = [[]]
    for c in visits:
        if problem.is_client[c]:
            trips[-1].append(c)
        else:
            trips.append([])
    release = [max((float(problem.release_time[c]) for c in trip), default=0.0) for trip in trips]
    # latest start of service at each visit that keeps every later window (backward pass)
    latest = vt.shift_end
    nxt = vt.end
    for c in reversed(visits):
        latest = min(problem.tw_late[c], latest - problem.service[c] - t[c, nxt])
        nxt = c
    depart_latest = latest - t[vt.start, nxt] - problem.service[vt.start]
    # the duration only falls as the departure moves later: the latest that keeps every window, or
    # with no such limit one late enough never to wait
    no_wait = max([*release, *(problem.tw_early[c] for c in visits)], default=0.0)
    depart = max(vt.shift_start, release[0], depart_latest if math.isfinite(depart_latest) else no_wait)
    clock, prev, ok, why = depart + problem.service[vt.start], vt.start, True, ""
    trip = 0
    load = float(sum(problem.demand[c] for c in trips[0]))
    peak = load
    seen: set[int] = set()
    pair_of = {int(c): k for k, row in enumerate(problem.pairs.tolist()) for c in row}
    for c in visits:
        clock += t[prev, c]
        clock = max(clock, problem.tw_early[c], -math.inf if problem.is_client[c] else release[trip + 1])
        if clock > problem.tw_late[c] + TOL:
            ok, why = False, f"late at {c}"
        clock += problem.service[c]
        prev = c
        if not problem.is_client[c]:
            if c not in vt.reload_depots:
                ok, why = False, f"{c} is not a reload depot"
            trip += 1
            load = float(sum(problem.demand[x] for x in trips[trip]))
            peak = max(peak, load)
            continue
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
    trip_of = {c: k for k, trip in enumerate(trips) for c in trip}
    for p, dd in problem.pairs.tolist():
        if (p in seen) != (dd in seen):
            ok, why = False, f"pair {p}-{dd} split"
        elif p in seen and trip_of[p] != trip_of[dd]:
            ok, why = False, f"pair {p}-{dd} split across trips"
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
    if vt.max_reloads is not None and len(trips) - 1 > vt.max_reloads:
        ok, why = False, f"{len(trips) - 1} reloads over {vt.max_reloads}"
    cuts = [0, *(k + 1 for k, c in enumerate(visits) if not problem.is_client[c]), len(path) - 1]
    longest = max(sum(d[a, b] for a, b in itertools.pairwise(path[i : j + 1])) for i, j in itertools.pairwise(cuts))
    if longest > vt.max_trip_distance + TOL:
        ok, why = False, f"a trip of {longest} over {vt.max_trip_distance}"
    cost = vt.fixed_cost + vt.unit_distance_cost * dist + vt.unit_duration_cost * duration if visits else 0.0
    return Checked(ok, cost, dist, duration, why)


def assert_checked(result: VRPResult, problem: VRPProblem) -> None:
    """Every route of the result passes the independent simulation and costs what it says."""
    total = 0.0
    for r in result.routes:
        vt = problem.vehicle_types[r.vehicle_type]
        ref = check_route(problem, vt, r.visits.tolist())
        assert ref.feasible == (not r.violations(problem)), (ref.reason, r.violations(problem))
        assert r.distance == pytest.approx(ref.distance, rel=1e-9, abs=1e-9)
        assert r.duration == pytest.approx(ref.duration, rel=1e-9, abs=1e-9)
        assert r.cost == pytest.approx(ref.cost, rel=1e-9, abs=1e-9)
        total += ref.cost
    skipped = result.unvisited[~problem.required[result.unvisited]]
    assert result.cost == pytest.approx(total + problem.prize[skipped].sum(), rel=1e-9, abs=1e-9)


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


def with_reloads(order: list[int], vt: VehicleType) -> list[list[int]]:
    """The order, and the order with reloads (at any of the vehicle's reload depots, up to its
    limit) between any consecutive clients."""
    out = []
    limit = len(order) if vt.max_reloads is None else vt.max_reloads
    for gaps in itertools.product([None, *vt.reload_depots], repeat=max(len(order) - 1, 0)):
        if sum(g is not None for g in gaps) > limit:
            continue
        visits = order[:1]
        for g, c in zip(gaps, order[1:], strict=True):
            visits += [c] if g is None else [g, c]
        out.append(visits)
    return out


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
                for visits in with_reloads(list(order), vt):
                    r = check_route(problem, vt, visits)
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
