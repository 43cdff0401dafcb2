"""Minimum-peak EV charging: smartopt's exact solver beside HiGHS (simplex and interior point) and
OR-Tools (GLOP and PDLP) on the same linear program, with the same optimum checked.

A day of 96 quarter hours with 500 and 5,000 cars (30 and 60 at smoke size): two thirds charge at
home, half of them in the evening (arrive 16-23 h, stay to midnight) and half overnight into the
day (plugged in at midnight, leave 6-9 h); one third at work (arrive 7-10 h, leave 15-19 h);
3.7-22 kW; each asks 30-90 % of what its window allows. The base load is the residential daily
profile scaled to 1.5 kW per car.
The LP solvers are timed on the solve alone (model built beforehand); smartopt on the whole call.
highspy is in the test extra; its anchors skip with the reason if it is missing.
"""

from __future__ import annotations

import math
from functools import cache
from typing import Any

import numpy as np
import pytest

from smartopt.datasets.profiles import RESIDENTIAL_HOURLY, daily_profile
from smartopt.energy import schedule_charging
from smartopt.energy._lp import LinearProgram
from smartopt.energy.charging_lp import charging_lp

SIZES = {"full": {"medium": 500, "large": 5000}, "smoke": {"medium": 30, "large": 60}}
TOOLS = ["smartopt-exact", "highs-simplex", "highs-ipm", "ortools-glop", "ortools-pdlp"]
REL = 1e-6


@cache
def ev_day(n: int, seed: int = 0) -> dict[str, Any]:
    """Sessions and base load of ``n`` cars over 96 slots (see the module docstring)."""
    rng = np.random.default_rng(seed)
    home = rng.random(n) < 2 / 3
    arrival = np.where(home, rng.integers(64, 92, n), rng.integers(28, 40, n))
    departure = np.where(home, 96, rng.integers(60, 76, n))
    morning = home & (rng.random(n) < 0.5)  # half the home sessions are the early-morning part
    arrival = np.where(morning, 0, arrival)
    departure = np.where(morning, rng.integers(24, 36, n), departure)
    max_kw = rng.choice([3.7, 7.4, 11.0, 22.0], n, p=[0.2, 0.5, 0.2, 0.1])
    energy = rng.uniform(0.3, 0.9, n) * max_kw * (departure - arrival) * 0.25
    shape = daily_profile(RESIDENTIAL_HOURLY, rng, noise=0.03)
    base = 1.5 * n * shape / shape.max()
    return {"arrival": arrival, "departure": departure, "energy_kwh": energy, "max_kw": max_kw, "base_load_kw": base}


@cache
def reference_peak(n: int) -> float:
    return schedule_charging(**ev_day(n)).peak_kw


def lp_of(n: int) -> LinearProgram:
    d = ev_day(n)
    return charging_lp(
        d["arrival"].astype(np.int32),
        d["departure"].astype(np.int32),
        d["energy_kwh"] / 0.25,
        d["max_kw"],
        d["base_load_kw"],
        "min_peak",
        None,
        np.full(96, np.inf),
    ).program


def highs_model(lp: LinearProgram, solver: str) -> Any:
    highspy = pytest.importorskip("highspy", reason="highspy is not installed")
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("solver", solver)
    model = highspy.HighsLp()
    model.num_col_, model.num_row_ = lp.matrix.shape[1], lp.matrix.shape[0]
    model.col_cost_, model.col_lower_, model.col_upper_ = lp.cost, lp.col_lower, lp.col_upper
    model.row_lower_, model.row_upper_ = lp.row_lower, lp.row_upper
    model.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    model.a_matrix_.start_, model.a_matrix_.index_, model.a_matrix_.value_ = (
        lp.matrix.indptr,
        lp.matrix.indices,
        lp.matrix.data,
    )
    h.passModel(model)
    return h


@pytest.mark.parametrize("size", ["medium", "large"])
@pytest.mark.parametrize("tool", TOOLS)
def test_min_peak(benchmark, scale: str, size: str, tool: str) -> None:  # type: ignore[no-untyped-def]
    n = SIZES[scale][size]
    benchmark.group = f"EV min-peak schedule, {n} cars x 96 slots"
    benchmark.extra_info["tool"] = tool
    if tool == "smartopt-exact":
        peak = benchmark(schedule_charging, **ev_day(n)).peak_kw
    elif tool.startswith("highs"):
        h = highs_model(lp_of(n), tool.removeprefix("highs-"))
        benchmark.pedantic(h.run, rounds=1, iterations=1)
        peak = h.getInfo().objective_function_value
    else:
        solver = tool.removeprefix("ortools-")
        solved = benchmark.pedantic(lp_of(n).solve, args=(solver, math.inf), rounds=1, iterations=1)
        assert solved.status == "optimal" and solved.z is not None
        peak = solved.z[-1]
    assert peak == pytest.approx(reference_peak(n), rel=REL)
