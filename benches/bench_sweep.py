"""Scenario sweeps on Dask: the same district-day variants on a LocalCluster of 1 and of 2 worker
processes (one thread each), reported as a ratio (the 1-worker run is the anchor).

Full size: 100 variants (seeds 0-24 x demand scale 0.8, 1.0, 1.2, 1.5), ``fn="dispatch"``: the
district built with the variant's overrides, its signal plans timed and the on-demand day
simulated on travel times with the plans' delays. Smoke size: 4 variants. The clusters are started
before timing (about 2 s each, not counted).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from smartopt.app.scenarios import sweep

distributed = pytest.importorskip("dask.distributed", reason="Dask is an optional extra (smartopt[dask])")
SIZES = {"full": (25, (0.8, 1.0, 1.2, 1.5)), "smoke": (2, (1.0, 1.2))}


@pytest.fixture(scope="module", params=[1, 2], ids=["1 worker", "2 workers"])
def client(request: pytest.FixtureRequest) -> Iterator[Any]:
    with (
        distributed.LocalCluster(
            n_workers=request.param, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as c,
    ):
        yield c


def test_sweep(benchmark, scale: str, client: Any) -> None:  # type: ignore[no-untyped-def]
    seeds, scales = SIZES[scale]
    scenarios = [{"seed": s, "demand_scale": d} for s in range(seeds) for d in scales]
    workers = len(client.scheduler_info()["workers"])
    benchmark.group = f"Sweep of {len(scenarios)} district-day variants (on-demand day), Dask LocalCluster"
    benchmark.extra_info["tool"] = "smartopt, 2 workers" if workers == 2 else "1 worker"
    rows = benchmark.pedantic(lambda: sweep(scenarios, fn="dispatch", client=client, progress=False), rounds=1)
    assert len(rows) == len(scenarios) and rows["served_ratio"].between(0.5, 1.0).all()
