"""Live dispatching latency: a service drives :class:`~smartopt.dispatch.Dispatcher` through the
Sejong 5-1 district's day of shuttle requests (its fleet, its road network), advancing the clock to
each request and submitting it, under each policy. Reported: the wall time of the day and the
latency of the two calls a service makes (median and 99th percentile, ms): ``advance`` (stops
served, batches decided: for batch policies the pooling itself) and ``submit`` (for insertion,
the placement). No anchor: RidePy and MATSim have no live service API. Smoke size: the first 200
requests.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from smartopt.datasets import sejong_5_1
from smartopt.dispatch import Dispatcher, Policy, TravelSpace

POLICIES = {
    "insertion": Policy(),
    "pooling": Policy(kind="pooling", batch_s=30.0),
    "pooling, delay cost": Policy(kind="pooling", batch_s=30.0, delay_weight=1.0),
}
REQUESTS = {"full": None, "smoke": 200}


def serve(dispatcher: Dispatcher, requests: object, n: int) -> tuple[list[float], list[float]]:
    """Feeds the first ``n`` requests in time order; the advance and submit latencies (s)."""
    advance, submit = [], []
    r = requests
    for k in range(n):
        started = time.perf_counter()
        dispatcher.advance(float(r.time_s[k]))  # type: ignore[attr-defined]
        advance.append(time.perf_counter() - started)
        deadline = float(r.dropoff_latest_s[k])  # type: ignore[attr-defined]
        started = time.perf_counter()
        dispatcher.submit(
            int(r.origin[k]),  # type: ignore[attr-defined]
            int(r.destination[k]),  # type: ignore[attr-defined]
            passengers=int(r.passengers[k]),  # type: ignore[attr-defined]
            max_wait_s=float(r.max_wait_s[k]),  # type: ignore[attr-defined]
            max_detour=float(r.max_detour[k]),  # type: ignore[attr-defined]
            max_detour_s=float(r.max_detour_s[k]),  # type: ignore[attr-defined]
            pickup_earliest_s=float(r.pickup_earliest_s[k]),  # type: ignore[attr-defined]
            dropoff_latest_s=deadline if math.isfinite(deadline) else None,
        )
        submit.append(time.perf_counter() - started)
    return advance, submit


@pytest.mark.parametrize("policy", list(POLICIES))
def test_live_dispatcher(benchmark, scale: str, policy: str) -> None:  # type: ignore[no-untyped-def]
    district = sejong_5_1()
    space = TravelSpace.from_network(district.network)
    requests = district.requests
    n = len(requests) if REQUESTS[scale] is None else min(len(requests), REQUESTS[scale])
    benchmark.group = f"Live dispatcher: Sejong 5-1, {district.fleet.num_vehicles} vehicles, {n:,} requests"
    benchmark.extra_info["tool"] = f"smartopt {policy}"
    latencies: dict[str, list[float]] = {}

    def day() -> None:
        dispatcher = Dispatcher(space, district.fleet, policy=POLICIES[policy])
        latencies["advance"], latencies["submit"] = serve(dispatcher, requests, n)

    benchmark.pedantic(day, rounds=1, iterations=1)
    ms = {k: np.percentile(np.array(v) * 1e3, [50, 99]) for k, v in latencies.items()}
    benchmark.extra_info["quality"] = ", ".join(
        f"{call} p50 {p50:.2f} ms, p99 {p99:.2f} ms" for call, (p50, p99) in ms.items()
    )
