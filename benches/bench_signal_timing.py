"""Fixed-time optimisation throughput (intersections/s): the Numba kernel vs the same search in
vectorised NumPy, on the Sejong district's PM peak (47 intersections) repeated to 470 (full) or
as is (smoke). The two must agree on the delay they reach."""

from __future__ import annotations

import numpy as np
import pytest

from numpy_reference import optimise
from smartopt.datasets import sejong_5_1
from smartopt.signals.timing import HcmParameters, _pack, hcm_delay, optimize_fixed_time, webster

TOOLS = ("smartopt-numba", "numpy-reference")


@pytest.mark.parametrize("tool", TOOLS)
def test_fixed_time_throughput(benchmark, scale: str, tool: str) -> None:  # type: ignore[no-untyped-def]
    district = sejong_5_1()
    intersections = list(district.intersections) * (10 if scale == "full" else 1)
    period, hcm = 2, HcmParameters()
    optimize_fixed_time(intersections[:2], period)  # JIT compilation (or the disk cache) is not timed
    benchmark.group = f"fixed-time optimisation ({len(intersections)} intersections)"
    benchmark.extra_info["tool"] = tool
    if tool == "smartopt-numba":
        plan = benchmark(optimize_fixed_time, intersections, period)
        cycle, green = plan.cycle_s, plan.green_s
    else:
        packed, start = _pack(intersections, period), webster(intersections, period)
        cycle, green = benchmark.pedantic(
            optimise, args=(packed, start.cycle_s, start.green_s, 1.0, hcm), rounds=3, iterations=1
        )
    kernel = hcm_delay(intersections, optimize_fixed_time(intersections, period), period).total_delay_veh_h
    plan_here = webster(intersections, period)
    mine = hcm_delay(
        intersections,
        type(plan_here)(plan_here.intersection_ids, cycle, green, plan_here.num_stages, plan_here.offset_s),
        period,
    ).total_delay_veh_h
    assert mine == pytest.approx(kernel, rel=1e-6)
    assert np.isfinite(cycle).all()
