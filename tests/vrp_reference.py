"""Independent references for the VRP tests: a route checker that simulates schedules directly (no
segment algebra), time-dependent travel by its cumulative progress function, and an exact solver
for tiny problems (every subset, every order, every way to split it into trips with reloads)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
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


def td_arrival(starts: np.ndarray, times: np.ndarray, depart: float) -> float:
    """Arrival over one arc whose travel time at period k's speed is ``times[k]`` (> 0, or 0 in every
    period), leaving at
    ``depart``: by the arc's cumulative progress G(t) (share of the arc a vehicle driving since
    ``starts[0]`` has covered; rate 1 / times[k] in period k, the first before its start too),
    solved for G(arrival) = G(depart) + 1."""
    if not (np.asarray(times) > 0).all():
        assert not np.any(times), "td_arrival takes arcs that take time in every period, or in none"
        return depart
    rates = 1.0 / np.asarray(times, dtype=float)
    at_start = np.concatenate([[0.0], np.cumsum(rates[:-1] * np.diff(starts))])  # G at each period's start

    def progress(t: float) -> float:
        k = max(int(np.searchsorted(starts, t, side="right")) - 1, 0)
        return float(at_start[k] + rates[k] * (t - starts[k]))

    goal = progress(depart) + 1.0
    k = max(int(np.searchsorted(at_start, goal, side="right")) - 1, 0)
    return float(starts[k] + (goal - at_start[k]) / rates[k])


def travel_of(problem: VRPProblem, vt: VehicleType) -> Callable[[int, int, float], float]:
    """Arrival at b leaving a at a time: static, or through the periods (td_arrival)."""
    if not problem.time_dependent:
        t = problem.duration[vt.profile]
        return lambda a, b, clock: clock + t[a, b]
    periods = problem.period_duration[:, vt.profile]
    return lambda a, b, clock: td_arrival(problem.period_start, periods[:, a, b], clock)


def check_route(problem: VRPProblem, vt: VehicleType, visits: list[int]) -> Checked:
    """Simulates the route: starts as late as the time windows allow (least waiting; not before the
    first trip's release), loads at the start depot for its service time, serves each visit at the
    earliest in its window; a depot among the visits is a reload (loading for its service time,
    within its window and not before the release of the trip it starts; the trip's deliveries go
    on board); checks windows, loads along the way, pairs and limits. Ride limits
    (leaving the pickup to serving the drop-off) are checked by an LP over the service start times
    (scipy's HiGHS): some schedule must keep them and every window. With time-dependent travel the
    start is the latest that keeps the earliest end, found by bisection over whole simulations, and
    ride limits are checked by the least schedule that keeps them (pickups delayed until fixed)."""
    d, t = problem.distance[vt.profile], problem.duration[vt.profile]
    arrive = travel_of(problem, vt)
    path = [vt.start, *visits, vt.end]
    dist = float(sum(d[a, b] for a, b in itertools.pairwise(path)))
    trips: list[list[int]] = [[]]
    for c in visits:
        if problem.is_client[c]:
            trips[-1].append(c)
        else:
            trips.append([])
    release = [max((float(problem.release_time[c]) for c in trip), default=0.0) for trip in trips]

    def schedule(depart: float) -> tuple[float, bool]:
        """The end of the route started at depart, and whether every window holds exactly."""
        clock, prev, trip, fits = depart + problem.service[vt.start], vt.start, 0, True
        for c in visits:
            clock = max(
                arrive(prev, c, clock), problem.tw_early[c], release[trip + 1] if not problem.is_client[c] else 0
            )
            trip += not problem.is_client[c]
            fits = fits and clock <= problem.tw_late[c]  # (exactly: a start a tolerance later ends as early)
            clock += problem.service[c]
            prev = c
        return arrive(prev, vt.end, clock), fits

    earliest = max(vt.shift_start, release[0])
    if problem.time_dependent:
        end, fits = schedule(earliest)
        lo, hi = earliest, end
        while fits and hi - lo > 1e-10 * max(1.0, abs(hi)):  # the latest start that still ends at `end`
            mid = 0.5 * (lo + hi)
            later, fits_later = schedule(mid)
            lo, hi = (mid, hi) if fits_later and later <= end + 1e-12 * max(1.0, abs(end)) else (lo, mid)
        depart = min(lo, vt.shift_end)
    else:
        # latest start of service at each visit that keeps every later window (backward pass)
        latest = vt.shift_end
        nxt = vt.end
        for c in reversed(visits):
            latest = min(problem.tw_late[c], latest - problem.service[c] - t[c, nxt])
            nxt = c
        depart_latest = latest - t[vt.start, nxt] - problem.service[vt.start]
        # the duration only falls as the departure moves later: the latest that keeps every window,
        # or with no such limit one late enough never to wait
        no_wait = max([*release, *(problem.tw_early[c] for c in visits)], default=0.0)
        depart = max(earliest, depart_latest if math.isfinite(depart_latest) else no_wait)
    clock, prev, ok, why = depart + problem.service[vt.start], vt.start, True, ""
    trip = 0
    load = float(sum(problem.demand[c] for c in trips[0]))
    peak = load
    seen: set[int] = set()
    pair_of = {int(c): k for k, row in enumerate(problem.pairs.tolist()) for c in row}
    for c in visits:
        clock = arrive(prev, c, clock)
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
    clock = arrive(prev, vt.end, clock)
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
    if problem.time_dependent:
        return _least_schedule_keeps_rides(problem, vt, visits, rides)
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


def _least_schedule_keeps_rides(
    problem: VRPProblem, vt: VehicleType, visits: list[int], rides: list[tuple[int, int, float]]
) -> bool:
    """_rides_fit under time-dependent travel (not linear): the least service start times that keep
    the windows' openings and the travel (from the earliest start), pickups raised until each ride
    (visit positions i, j and limit) fits, must keep every window's end and the shift."""
    arrive, s, n = travel_of(problem, vt), problem.service, len(visits)
    floor = [float(problem.tw_early[c]) for c in visits]
    trip_release = 0.0  # a reload's loading waits for the release of the trip it starts
    for k in reversed(range(n)):
        if problem.is_client[visits[k]]:
            trip_release = max(trip_release, float(problem.release_time[visits[k]]))
        else:
            floor[k], trip_release = max(floor[k], trip_release), 0.0
    first = trip_release
    for _ in range(n + 100_000):  # (a delay into a faster period shrinks geometrically: many passes)
        b, prev, clock = [], vt.start, max(vt.shift_start, first) + s[vt.start]
        for k, c in enumerate(visits):
            b.append(max(arrive(prev, c, clock), floor[k]))
            clock, prev = b[-1] + s[c], c
        if any(b[k] > problem.tw_late[c] + TOL for k, c in enumerate(visits)):
            return False  # the starts only rise from pass to pass (FIFO): late for good
        raised = False
        for i, j, limit in rides:
            need = b[j] - s[visits[i]] - limit
            if b[i] < need - TOL:
                floor[i], raised = need, True
        if not raised:
            break
    else:
        return False
    late = any(b[k] > problem.tw_late[c] + TOL for k, c in enumerate(visits))
    return not late and arrive(prev, vt.end, clock) <= vt.shift_end + TOL


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


def multitrip_problem(
    seed: int,
    n_clients: int = 6,
    *,
    reload_depots: tuple[int, ...] = (0,),
    max_reloads: int | None = None,
    trip_range: float = math.inf,
    windows: bool = False,
    release: bool = False,
    reload_s: float = 0.0,
) -> VRPProblem:
    """Clients on a 100 x 100 square with demands of 1-6 and vehicles of capacity 10 that cost 1,000
    each: one vehicle with reloads beats several whenever the limits allow it. A trip may drive
    ``trip_range`` times the longest round trip to a single client (a battery's range)."""
    rng = np.random.default_rng(seed)
    depots = max(reload_depots) + 1
    n = depots + n_clients
    xy = rng.uniform(0, 100, (n, 2))
    dist = np.round(np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1)), 1)
    demand = np.r_[np.zeros(depots), rng.integers(1, 7, n_clients)].astype(float)
    service = np.r_[np.full(depots, reload_s), np.full(n_clients, 5.0 if windows else 0.0)]
    tw_early, tw_late = np.zeros(n), np.full(n, math.inf)
    if windows:
        tw_early[depots:] = rng.uniform(0, 400, n_clients)
        tw_late[depots:] = tw_early[depots:] + rng.uniform(60, 200, n_clients)
        tw_late = np.maximum(tw_late, dist[0] + 250)  # each client reachable after its release
    release_time = np.r_[np.zeros(depots), rng.uniform(0, 200, n_clients)] if release else None
    longest = float((dist[0, depots:] + dist[depots:, 0]).max())
    vt = VehicleType(
        count=n_clients,
        capacity=10,
        fixed_cost=1000,
        reload_depots=reload_depots,
        max_reloads=max_reloads,
        max_trip_distance=trip_range * longest,
    )
    return VRPProblem(
        distance=dist,
        vehicle_types=(vt,),
        depots=np.arange(depots),
        demand=demand,
        service=service,
        tw_early=tw_early,
        tw_late=tw_late,
        release_time=release_time,
        coords=xy,
    )
