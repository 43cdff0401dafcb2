"""Brute-force cheapest insertion, for checking the C++ dispatcher on small cases: every pickup and
drop-off position of every vehicle is replayed in full. All requests are placed at one instant
(vehicles idle at their starts, no time passes), so no vehicle moves between requests."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from smartopt.dispatch import Requests


@dataclass
class Stop:
    node: int
    request: int
    pickup: bool


def replay(
    time_s: np.ndarray,
    start: int,
    stops: list[Stop],
    req: Requests,
    limits: dict[str, np.ndarray],
    boarding_s: float,
    seats: int,
) -> tuple[float, dict[int, float], dict[int, float]] | None:
    """Drive time and each request's pickup and drop-off start (s), or None if a promise or the
    seats break."""
    at, t, drive, load = start, 0.0, 0.0, 0
    pick: dict[int, float] = {}
    drop: dict[int, float] = {}
    for s in stops:
        drive += time_s[at, s.node]
        r = s.request
        arrive = t + time_s[at, s.node]
        if s.pickup:
            begin = max(arrive, limits["pickup_earliest_s"][r])
            if begin > limits["pickup_latest_s"][r] + 1e-9:
                return None
            pick[r] = begin
            load += int(req.passengers[r])
        else:
            begin = arrive
            if begin > limits["dropoff_latest_s"][r] + 1e-9 or begin - pick[r] > limits["max_ride_s"][r] + 1e-9:
                return None
            drop[r] = begin
            load -= int(req.passengers[r])
        if load > seats:
            return None
        at, t = s.node, begin + boarding_s
    return drive, pick, drop


def cheapest_insertions(
    time_s: np.ndarray,
    starts: np.ndarray,
    seats: int,
    req: Requests,
    limits: dict[str, np.ndarray],
    boarding_s: float,
    wait_weight: float = 0.0,
    delay_weight: float = 0.0,
) -> list[tuple[int, float, float, float]]:
    """Per request in order: (vehicle or -1, planned pickup s, planned drop-off s, cost) at the time
    it is placed, where it adds the least drive time + ``wait_weight`` x its wait + ``delay_weight`` x
    the riders' total delay (drop-off after the direct trip from the earliest pickup); ties go to
    the lowest vehicle, then the earliest pickup, then the earliest drop-off."""
    earliest = limits["pickup_earliest_s"]

    def cost(plan: tuple[float, dict[int, float], dict[int, float]], r: int) -> float:
        drive, pick, drop = plan
        direct = {q: earliest[q] + boarding_s + time_s[req.origin[q], req.destination[q]] for q in drop}
        waited = pick[r] - earliest[r] if r in pick else 0.0
        return drive + wait_weight * waited + delay_weight * sum(t - direct[q] for q, t in drop.items())

    plans: list[list[Stop]] = [[] for _ in starts]
    out = []
    for r in range(len(req)):
        best: tuple[float, int, list[Stop]] | None = None
        for v, start in enumerate(starts):
            base = replay(time_s, int(start), plans[v], req, limits, boarding_s, seats)
            assert base is not None
            n = len(plans[v])
            for i in range(n + 1):
                for j in range(i, n + 1):
                    pickup, dropoff = Stop(int(req.origin[r]), r, True), Stop(int(req.destination[r]), r, False)
                    new = [*plans[v][:i], pickup, *plans[v][i:j], dropoff, *plans[v][j:]]
                    got = replay(time_s, int(start), new, req, limits, boarding_s, seats)
                    if got is not None and (best is None or cost(got, r) - cost(base, r) < best[0] - 1e-9):
                        best = (cost(got, r) - cost(base, r), v, new)
        if best is None:
            out.append((-1, np.inf, np.inf, np.nan))
            continue
        least, v, plans[v] = best
        got = replay(time_s, int(starts[v]), plans[v], req, limits, boarding_s, seats)
        assert got is not None
        out.append((v, got[1][r], got[2][r], least))
    return out
