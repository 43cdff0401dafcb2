"""MAXBAND green waves: hand-checked and brute-forced optima, and the direct bandwidth measure."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from smartopt.signals.greenwave import bandwidths, maxband


def test_half_cycle_spacing_gives_full_two_way_band() -> None:
    # Two signals 300 m apart at 10 m/s: 30 s = half the 60 s cycle; each red is 30 s. Offsetting
    # the second by half a cycle lets both directions use the whole green.
    wave = maxband([0.0, 300.0], [30.0, 30.0], [30.0, 30.0], 60.0, (10.0, 10.0))
    assert wave.status == "optimal"
    assert wave.bandwidth_out_s == pytest.approx(30.0, abs=1e-6)
    assert wave.bandwidth_in_s == pytest.approx(30.0, abs=1e-6)
    assert wave.offset_s[1] == pytest.approx(30.0, abs=1e-6)
    assert bandwidths([0.0, 300.0], [30.0] * 2, [30.0] * 2, 60.0, wave.offset_s, 10.0) == pytest.approx(
        (30.0, 30.0), abs=0.01
    )


def brute_force(pos: list[float], red: list[float], cycle: float, speed: float) -> float:
    """Best b + bb over offsets on a 1 s grid (first signal at 0), measured at 0.1 s."""
    best = 0.0
    for rest in itertools.product(np.arange(0.0, cycle, 1.0), repeat=len(pos) - 1):
        b, bb = bandwidths(pos, red, red, cycle, [0.0, *rest], speed, resolution=int(cycle * 10))
        best = max(best, b + bb)
    return best


@pytest.mark.parametrize(
    ("pos", "red"),
    [
        ([0.0, 250.0, 700.0], [25.0, 30.0, 20.0]),
        ([0.0, 400.0, 520.0], [35.0, 20.0, 28.0]),
        ([0.0, 180.0, 650.0], [22.0, 22.0, 34.0]),
    ],
)
def test_three_signals_match_brute_force(pos: list[float], red: list[float]) -> None:
    cycle, speed = 60.0, 12.5
    wave = maxband(pos, red, red, cycle, (speed, speed))
    assert wave.status == "optimal"
    total = wave.bandwidth_out_s + wave.bandwidth_in_s
    best = brute_force(pos, red, cycle, speed)
    # The brute force sees offsets every 1 s (it may miss the optimum by up to 2 s of band) and
    # measures each band to 0.1 s (0.2 s for the pair).
    assert best - 0.2 - 1e-6 <= total <= best + 2.0 + 0.2
    measured = bandwidths(pos, red, red, cycle, wave.offset_s, speed)
    assert measured[0] == pytest.approx(wave.bandwidth_out_s, abs=0.02)
    assert measured[1] == pytest.approx(wave.bandwidth_in_s, abs=0.02)


def test_speed_range_and_ratio() -> None:
    pos, red = [0.0, 300.0, 800.0, 1100.0], [30.0, 25.0, 30.0, 28.0]
    fixed = maxband(pos, red, red, 80.0, (11.0, 11.0))
    free = maxband(pos, red, red, 80.0, (9.0, 14.0))
    assert free.bandwidth_out_s + free.bandwidth_in_s >= fixed.bandwidth_out_s + fixed.bandwidth_in_s - 1e-6
    t = free.travel_time_out_s
    gaps = np.diff(pos)
    assert (t >= gaps / 14.0 - 1e-6).all() and (t <= gaps / 9.0 + 1e-6).all()
    half = maxband(pos, red, red, 80.0, (9.0, 14.0), ratio=0.5)
    assert half.bandwidth_in_s == pytest.approx(0.5 * half.bandwidth_out_s, abs=1e-6)
    equal = maxband(pos, red, red, 80.0, (9.0, 14.0), ratio=1.0)
    assert equal.bandwidth_in_s == pytest.approx(equal.bandwidth_out_s, abs=1e-6)
    total = free.bandwidth_out_s + free.bandwidth_in_s
    assert 0 < equal.bandwidth_out_s + equal.bandwidth_in_s <= total + 1e-6


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"position_m": [0.0]}, "position_m needs at least two signals"),
        ({"position_m": [0.0, -5.0]}, "position_m must increase"),
        ({"red_out_s": [30.0, 60.0]}, r"red_out_s\[1\] must be shorter than the cycle"),
        ({"red_in_s": [30.0, np.nan]}, r"red_in_s\[1\]=nan is not finite"),
        ({"speed_mps": (12.0, 9.0)}, r"speed_mps must be \(slowest, fastest\)"),
        ({"cycle_s": 0.0}, r"cycle_s\[0\]=0.0 must be > 0"),
    ],
)
def test_input_errors(kwargs: dict[str, object], match: str) -> None:
    args: dict[str, object] = {
        "position_m": [0.0, 300.0],
        "red_out_s": [30.0, 30.0],
        "red_in_s": [30.0, 30.0],
        "cycle_s": 60.0,
        "speed_mps": (10.0, 12.0),
    }
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        maxband(**args)  # type: ignore[arg-type]


def test_brt_corridor_of_the_district(district) -> None:  # type: ignore[no-untyped-def]
    from smartopt.signals import optimize_fixed_time
    from smartopt.signals.greenwave import coordinate, corridor, plot_time_space

    brt = [district.intersections[i] for i in district.corridors["BRT trunk"]]
    assert len(brt) >= 8
    net = district.network
    assert (np.diff(net.node_xy[[x.node for x in brt], 0]) > 0).all()  # west to east
    cycle = float(np.ceil(optimize_fixed_time(brt, 2).cycle_s.max()))
    plan = optimize_fixed_time(brt, 2, cycle_s=cycle)
    assert (plan.cycle_s == cycle).all()
    corr = corridor(net, brt, [plan.greens(i) for i in range(len(brt))], cycle)
    offsets, wave = coordinate(corr, (11.1, 13.9), ratio=1.0)
    assert wave.status == "optimal" and wave.bandwidth_out_s > 5.0
    assert ((offsets >= 0) & (offsets < cycle)).all()
    gaps = np.diff(corr.position_m)
    measured = bandwidths(
        corr.position_m, corr.red_out_s, corr.red_in_s, cycle, offsets + corr.green_out_start_s,
        gaps / wave.travel_time_out_s, speed_in_mps=gaps / wave.travel_time_in_s, red_shift_s=corr.red_shift_s,
    )  # fmt: skip
    assert measured == pytest.approx((wave.bandwidth_out_s, wave.bandwidth_in_s), abs=0.05)
    uncoordinated = bandwidths(
        corr.position_m, corr.red_out_s, corr.red_in_s, cycle, corr.green_out_start_s, 12.5,
        red_shift_s=corr.red_shift_s,
    )  # fmt: skip
    assert sum(measured) > sum(uncoordinated)
    fig = plot_time_space(corr, offsets, wave)
    assert "Green wave" in fig.axes[0].get_title()
    with pytest.raises(ValueError, match="at least two intersections"):
        corridor(net, brt[:1], [plan.greens(0)], cycle)
    with pytest.raises(ValueError, match="in order along the corridor"):
        corridor(net, [brt[i] for i in (0, 2, 1, 3)], [plan.greens(i) for i in (0, 2, 1, 3)], cycle)


def test_bandwidth_resolution_and_speeds_are_checked() -> None:
    with pytest.raises(ValueError, match="resolution must be an int >= 2, got 0"):
        bandwidths([0.0, 300.0], [30.0] * 2, [30.0] * 2, 60.0, [0.0, 30.0], 10.0, resolution=0)
    with pytest.raises(ValueError, match=r"speed_mps\[1\]=0.0 must be > 0"):
        bandwidths([0.0, 300.0, 500.0], [30.0] * 3, [30.0] * 3, 60.0, [0.0] * 3, [10.0, 0.0])


def test_a_budget_that_runs_out_before_any_bands_is_a_time_limit_not_an_error() -> None:
    rng = np.random.default_rng(0)
    pos, red = np.cumsum(rng.uniform(200, 600, 60)), rng.uniform(20, 60, 60)  # m, s: 60 signals
    wave = maxband(pos, red, red, 100.0, (10.0, 14.0), time_limit_s=0.001)  # SCIP's 1 ms: not enough
    assert wave.status == "time_limit" and np.isnan(wave.bandwidth_out_s) and np.all(wave.offset_s == 0)
    assert maxband(pos, red, red, 100.0, (10.0, 14.0), max_iterations=1).status in ("feasible", "optimal")
