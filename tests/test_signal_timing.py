"""Fixed-time timing: Webster and HCM against hand-computed values; the optimiser against brute
force and never worse than Webster."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartopt.signals import Intersection
from smartopt.signals.timing import (
    HcmParameters,
    TimingPlan,
    hcm_delay,
    lane_group_delay,
    level_of_service,
    optimize_fixed_time,
    webster,
)


def two_stage(v1: float, v2: float, sat: float = 1800.0, **changes: Any) -> Intersection:
    """Two approaches, one lane group each, one stage each; lost time 2 x (3 + 1) = 8 s."""
    kwargs: dict[str, Any] = {
        "id": "T",
        "node": 0,
        "approach_link": [0, 1],
        "crossing_length_m": [0.0, 0.0],
        "lane_group_approach": [0, 1],
        "lane_group_lanes": [1, 1],
        "saturation_flow_vph": [sat, sat],
        "movement_lane_group": [0, 1],
        "movement_out_link": [2, 3],
        "movement_turn": ["T", "T"],
        "volume_vph": [[v1, v2]],
        "stage_movements": ([0], [1]),
        "min_green_s": [5.0, 5.0],
        "max_green_s": [120.0, 120.0],
        "yellow_s": [3.0, 3.0],
        "all_red_s": [1.0, 1.0],
        "ped_min_green_s": [0.0, 0.0],
        "cycle_min_s": 30.0,
        "cycle_max_s": 180.0,
    }
    kwargs.update(changes)
    return Intersection(**kwargs)


# -- Periods by index or name ---------------------------------------------------------------------


def test_periods_by_name_or_index() -> None:
    # Two periods, the heavy one second: the name and the index give the same plan, and it differs
    # from the light period's.
    named = two_stage(540.0, 360.0, volume_vph=[[100.0, 100.0], [540.0, 360.0]], periods=("night", "peak"))
    by_name, by_index = webster([named], "peak"), webster([named], 1)
    assert by_name.cycle_s[0] == pytest.approx(34.0, rel=1e-12)
    np.testing.assert_array_equal(by_name.green_s, by_index.green_s)
    assert webster([named], "night").cycle_s[0] < by_name.cycle_s[0]
    assert named.num_periods == 2
    report = hcm_delay([named], by_name, "peak")
    np.testing.assert_array_equal(report.delay_s, hcm_delay([named], by_name, 1).delay_s)


@pytest.mark.parametrize(
    ("changes", "period", "error", "match"),
    [
        ({"periods": ("night", "peak")}, "noon", ValueError, r"'noon' is not a period of intersection T .*night"),
        ({}, "peak", ValueError, "names no periods: give an index"),
        ({"periods": ("night", "peak")}, 2, ValueError, "period"),
    ],
)
def test_unknown_period_is_refused(changes: dict[str, Any], period: Any, error: type, match: str) -> None:
    x = two_stage(540.0, 360.0, volume_vph=[[100.0, 100.0], [540.0, 360.0]], **changes)
    with pytest.raises(error, match=match):
        webster([x], period)


def test_a_name_at_different_positions_is_refused() -> None:
    volumes = [[100.0, 100.0], [540.0, 360.0]]
    a = two_stage(540.0, 360.0, volume_vph=volumes, periods=("night", "peak"))
    b = two_stage(540.0, 360.0, volume_vph=volumes, periods=("peak", "night"), id="U")
    with pytest.raises(ValueError, match=r"'peak' is at different positions \[0, 1\]"):
        webster([a, b], "peak")


@pytest.mark.parametrize(
    ("periods", "error", "match"),
    [
        (("peak",), ValueError, "periods names 1 periods, volume_vph has 2"),
        (("peak", "peak"), ValueError, "repeat a name"),
        (("peak", 3), TypeError, "non-empty str"),
        ("peak", TypeError, "tuple of str"),
    ],
)
def test_period_names_are_checked(periods: Any, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        two_stage(540.0, 360.0, volume_vph=[[100.0, 100.0], [540.0, 360.0]], periods=periods)


# -- Webster --------------------------------------------------------------------------------------


def test_webster_by_hand() -> None:
    # y = 540/1800 = 0.3 and 360/1800 = 0.2: Y = 0.5, L = 8 s, C0 = (1.5 * 8 + 5) / 0.5 = 34 s;
    # greens share C - L = 26 s as 0.3 : 0.2 -> 15.6 s and 10.4 s.
    plan = webster([two_stage(540.0, 360.0)])
    assert plan.cycle_s[0] == pytest.approx(34.0, rel=1e-12)
    np.testing.assert_allclose(plan.greens(0), [15.6, 10.4], rtol=1e-9)


def test_webster_textbook_four_stage() -> None:
    # The classic case: four stages losing 4 s each (L = 16 s) with Y = 0.6 -> C0 = 29 / 0.4 = 72.5 s.
    x = Intersection(
        id="W", node=0, approach_link=[0, 1, 2, 3], crossing_length_m=[0.0] * 4,
        lane_group_approach=[0, 1, 2, 3], lane_group_lanes=[1] * 4, saturation_flow_vph=[2000.0] * 4,
        movement_lane_group=[0, 1, 2, 3], movement_out_link=[4, 5, 6, 7], movement_turn=["T"] * 4,
        volume_vph=[[400.0, 300.0, 300.0, 200.0]], stage_movements=([0], [1], [2], [3]),
        min_green_s=[5.0] * 4, max_green_s=[100.0] * 4, yellow_s=[3.0] * 4, all_red_s=[1.0] * 4,
        ped_min_green_s=[0.0] * 4, cycle_min_s=40.0, cycle_max_s=150.0,
    )  # fmt: skip
    plan = webster([x])
    assert plan.cycle_s[0] == pytest.approx(72.5, rel=1e-12)
    np.testing.assert_allclose(plan.greens(0), np.array([0.2, 0.15, 0.15, 0.1]) / 0.6 * 56.5, rtol=1e-9)


def test_webster_respects_bounds_and_saturation() -> None:
    # Minimum greens bind: stage 2 needs 20 s though its ratio asks less.
    plan = webster([two_stage(540.0, 36.0, min_green_s=[5.0, 20.0])])
    c = plan.cycle_s[0]
    assert plan.greens(0)[1] == pytest.approx(20.0, rel=1e-9)
    assert plan.greens(0).sum() + 8.0 == pytest.approx(c, rel=1e-9)
    # Y >= 1: Webster has no finite cycle, the plan takes the longest cycle allowed.
    over = webster([two_stage(1200.0, 900.0)])
    assert over.cycle_s[0] == pytest.approx(180.0)


# -- HCM delay ------------------------------------------------------------------------------------


def test_hcm_delay_oversaturated_by_hand() -> None:
    # v = 800 veh/h, c = 775 veh/h (s = 1937.5, g/C = 0.4), C = 90 s, T = 0.25 h, k = 0.5, I = 1:
    # X = 1.03226; d1 = 0.5 * 90 * 0.6^2 / (1 - 1 * 0.4) = 27.0 s;
    # d2 = 225 * (0.032258 + sqrt(0.032258^2 + 4 * 1.03226 / 193.75)) = 40.897 s.
    d, c, x = lane_group_delay(800.0, 1937.5, 36.0, 90.0)
    assert c == pytest.approx(775.0)
    assert x == pytest.approx(800 / 775)
    assert d == pytest.approx(27.0 + 40.897, abs=0.01)
    assert level_of_service([d], [x])[0] == "F"  # v/c > 1
    assert level_of_service([d])[0] == "E"


def test_hcm_delay_undersaturated_by_hand() -> None:
    # v = 500, s = 1800, g = 30, C = 60: c = 900, X = 0.5556; d1 = 7.5 / 0.72222 = 10.385 s;
    # d2 = 225 * (-0.44444 + sqrt(0.19753 + 2.2222 / 225)) = 2.470 s.
    d, _, _ = lane_group_delay(500.0, 1800.0, 30.0, 60.0)
    assert d == pytest.approx(12.855, abs=0.005)
    # A progression factor scales d1 only; a longer analysis period raises d2.
    d_pf, _, _ = lane_group_delay(500.0, 1800.0, 30.0, 60.0, HcmParameters(progression_factor=0.5))
    assert d_pf == pytest.approx(10.385 * 0.5 + 2.470, abs=0.005)
    d_long, _, _ = lane_group_delay(500.0, 1800.0, 30.0, 60.0, HcmParameters(analysis_period_h=1.0))
    assert d_long > d


def test_level_of_service_limits() -> None:
    assert level_of_service([0, 10, 10.01, 20, 35, 55, 80, 80.01]).tolist() == list("AABBCDEF")
    with pytest.raises(ValueError, match=r"delay_s\[0\]=nan is not finite"):
        level_of_service([np.nan])
    with pytest.raises(ValueError, match=r"delay_s\[1\]=-1.0 must be >= 0"):
        level_of_service([1.0, -1.0])


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((np.nan, 1800.0, 30.0, 60.0), r"volume_vph=nan is not finite"),
        ((-5.0, 1800.0, 30.0, 60.0), r"volume_vph=-5.0 must be >= 0"),
        ((500.0, 0.0, 30.0, 60.0), r"saturation_vph=0.0 must be > 0"),
        ((500.0, 1800.0, 0.0, 60.0), r"green_s=0.0 must be > 0"),
        ((500.0, 1800.0, 70.0, 60.0), "green_s must not exceed cycle_s"),
        ((500.0, 1800.0, [10.0, 20.0], [60.0, 60.0, 60.0]), "do not broadcast together"),
    ],
)
def test_lane_group_delay_rejects_bad_input(args: tuple[object, ...], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        lane_group_delay(*args)  # type: ignore[arg-type]


def test_hcm_report_for_a_plan() -> None:
    x = two_stage(540.0, 360.0)
    plan = TimingPlan(("T",), np.array([60.0]), np.array([[30.0, 22.0]]), np.array([2], np.int32), np.zeros(1))
    report = hcm_delay([x], plan)
    d, c, v_c = lane_group_delay(np.array([540.0, 360.0]), 1800.0, np.array([30.0, 22.0]), 60.0)
    np.testing.assert_allclose(report.delay_s, d)
    np.testing.assert_allclose(report.capacity_vph, c)
    np.testing.assert_allclose(report.v_over_c, v_c)
    assert report.intersection_delay_s[0] == pytest.approx((540 * d[0] + 360 * d[1]) / 900)
    assert report.total_delay_veh_h == pytest.approx((540 * d[0] + 360 * d[1]) / 3600)
    frame = report.to_frame()
    assert list(frame.columns)[:3] == ["intersection", "volume_vph", "capacity_vph"]
    assert frame["intersection"].tolist() == ["T", "T"]  # ids, not positions


def test_input_errors() -> None:
    x = two_stage(540.0, 360.0)
    with pytest.raises(ValueError, match="intersections is empty"):
        webster([])
    with pytest.raises(ValueError, match=r"period=1 is not an index in \[0, 1\)"):
        webster([x], period=1)
    with pytest.raises(ValueError, match=r"cycle_step_s=0.0 must be > 0"):
        optimize_fixed_time([x], cycle_step_s=0.0)
    with pytest.raises(ValueError, match=r"analysis_period_h=0.0 must be > 0"):
        HcmParameters(analysis_period_h=0.0)
    bad = TimingPlan(("T",), np.array([60.0]), np.array([[30.0, 22.0, 1.0]]), np.array([3], np.int32), np.zeros(1))
    with pytest.raises(ValueError, match="plan: intersection T has 3 stages, the intersection 2"):
        hcm_delay([x], bad)


# -- the optimiser --------------------------------------------------------------------------------


def brute_force_two_stage(x: Intersection) -> float:
    """Least total delay (veh*s/h) over cycles every 1 s and green splits every 0.05 s (NumPy)."""
    best = np.inf
    for cycle in np.arange(x.cycle_min_s, x.cycle_max_s + 0.5, 1.0):
        g1 = np.arange(5.0, cycle - 8.0 - 5.0 + 1e-9, 0.05)
        g1 = g1[(g1 <= 120.0) & (cycle - 8.0 - g1 <= 120.0)]
        if g1.size == 0:
            continue
        v = x.lane_group_volume_vph()[0]
        d1, _, _ = lane_group_delay(v[0], 1800.0, g1, cycle)
        d2, _, _ = lane_group_delay(v[1], 1800.0, cycle - 8.0 - g1, cycle)
        best = min(best, float((v[0] * d1 + v[1] * d2).min()))
    return best


@pytest.mark.parametrize(("v1", "v2"), [(540.0, 360.0), (900.0, 600.0), (1100.0, 700.0), (300.0, 60.0)])
def test_optimiser_matches_brute_force(v1: float, v2: float) -> None:
    x = two_stage(v1, v2)
    plan = optimize_fixed_time([x])
    total = hcm_delay([x], plan).total_delay_veh_h * 3600
    assert total <= brute_force_two_stage(x) * (1 + 1e-3)
    assert plan.greens(0).sum() + x.lost_time_s == pytest.approx(plan.cycle_s[0], abs=1e-9)


@st.composite
def random_intersections(draw: st.DrawFn) -> Intersection:
    """2-4 stages, one or two lane groups per stage, volumes from light to oversaturated."""
    n_stages = draw(st.integers(2, 4))
    groups = [draw(st.integers(1, 2)) for _ in range(n_stages)]
    n_groups = sum(groups)
    stage_of = np.repeat(np.arange(n_stages), groups)
    volume = draw(st.lists(st.floats(0.0, 1400.0), min_size=n_groups, max_size=n_groups))
    sat = draw(st.lists(st.floats(1200.0, 3800.0), min_size=n_groups, max_size=n_groups))
    lo = draw(st.lists(st.floats(4.0, 25.0), min_size=n_stages, max_size=n_stages))
    hi = [g + draw(st.floats(5.0, 90.0)) for g in lo]
    cmin = draw(st.floats(30.0, 90.0))
    return Intersection(
        id="R", node=0, approach_link=np.arange(n_groups), crossing_length_m=np.zeros(n_groups),
        lane_group_approach=np.arange(n_groups), lane_group_lanes=np.ones(n_groups, int),
        saturation_flow_vph=sat, movement_lane_group=np.arange(n_groups),
        movement_out_link=np.arange(n_groups) + n_groups, movement_turn=["T"] * n_groups, volume_vph=[volume],
        stage_movements=tuple(np.flatnonzero(stage_of == s) for s in range(n_stages)),
        min_green_s=lo, max_green_s=hi, yellow_s=[3.0] * n_stages, all_red_s=[2.0] * n_stages,
        ped_min_green_s=[0.0] * n_stages, cycle_min_s=min(cmin, sum(hi) + 5 * n_stages),
        cycle_max_s=max(180.0, sum(lo) + 5 * n_stages),
    )  # fmt: skip


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(random_intersections(), min_size=1, max_size=5))
def test_optimiser_never_worse_than_webster_and_feasible(intersections: list[Intersection]) -> None:
    opt = optimize_fixed_time(intersections)
    base = webster(intersections)
    d_opt, d_web = hcm_delay(intersections, opt), hcm_delay(intersections, base)
    per_int_opt = np.bincount(d_opt.intersection, d_opt.volume_vph * d_opt.delay_s)
    per_int_web = np.bincount(d_web.intersection, d_web.volume_vph * d_web.delay_s)
    assert (per_int_opt <= per_int_web * (1 + 1e-9) + 1e-9).all()
    for i, x in enumerate(intersections):
        g = opt.greens(i)
        lo = np.maximum(x.min_green_s, x.ped_min_green_s)
        assert (g >= lo - 1e-9).all() and (g <= x.max_green_s + 1e-9).all()
        assert g.sum() + x.lost_time_s == pytest.approx(opt.cycle_s[i], abs=1e-6)
        assert x.cycle_min_s - 1e-9 <= opt.cycle_s[i] <= x.cycle_max_s + 1e-9


def test_district_peaks_improve_on_webster(district) -> None:  # type: ignore[no-untyped-def]
    for period in (0, 2):
        opt = optimize_fixed_time(district.intersections, period)
        web = webster(district.intersections, period)
        d_opt = hcm_delay(district.intersections, opt, period)
        d_web = hcm_delay(district.intersections, web, period)
        assert d_opt.total_delay_veh_h < d_web.total_delay_veh_h
        assert (d_opt.intersection_delay_s <= d_web.intersection_delay_s + 1e-6).all()


def test_common_cycle_is_imposed() -> None:
    xs = [two_stage(540.0, 360.0), two_stage(900.0, 200.0), two_stage(300.0, 300.0)]
    for plan in (webster(xs, cycle_s=75.0), optimize_fixed_time(xs, cycle_s=75.0)):
        np.testing.assert_allclose(plan.cycle_s, 75.0)
        np.testing.assert_allclose(plan.green_s.sum(axis=1) + 8.0, 75.0)
    # At the common cycle, Webster splits greens in proportion to the flow ratios.
    np.testing.assert_allclose(webster(xs, cycle_s=75.0).greens(0), [0.6 * 67.0, 0.4 * 67.0])
    with pytest.raises(ValueError, match=r"cycle_s=20 is outside intersection T's feasible range \[30, 180\] s"):
        webster(xs, cycle_s=20.0)
