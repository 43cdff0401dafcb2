"""Period windows are data of the district: a district whose periods have other names runs its
dispatch on the same signal delays, and bad windows or peaks are refused naming the field.

Tolerances: link and ride times 1e-9 s (the same arithmetic on the same plans).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from smartopt.app.coupling import district_time_of_day
from smartopt.app.district import District
from smartopt.datasets import sejong_5_1
from smartopt.dispatch import simulate
from smartopt.signals import webster

NAMES = {"am_peak": "morning", "midday": "noon", "pm_peak": "evening"}


@pytest.fixture(scope="module")
def district() -> District:
    return sejong_5_1(seed=0)


def renamed(district: District) -> District:
    return dataclasses.replace(
        district,
        periods=tuple(NAMES[p] for p in district.periods),
        intersections=tuple(
            dataclasses.replace(x, periods=tuple(NAMES[p] for p in x.periods)) for x in district.intersections
        ),
        signal_hours={NAMES[p]: w for p, w in district.signal_hours.items()},
        peak_periods=tuple(NAMES[p] for p in district.peak_periods),
    )


def test_sejong_states_its_signal_hours_and_peaks(district: District) -> None:
    assert district.signal_hours == {"am_peak": (6.0, 10.0), "midday": (10.0, 16.0), "pm_peak": (16.0, 20.0)}
    assert district.peak_periods == ("am_peak", "pm_peak")


def test_renamed_periods_drive_on_the_same_signal_delays(district: District) -> None:
    other = renamed(district)
    plans = {p: webster(district.intersections, k) for k, p in enumerate(district.periods)}
    tod = district_time_of_day(district, plans)
    other_tod = district_time_of_day(other, {NAMES[p]: plan for p, plan in plans.items()})
    assert [t for t, _ in other_tod] == [t for t, _ in tod] == [6 * 3600.0, 10 * 3600.0, 16 * 3600.0, 20 * 3600.0]
    for (_, a), (_, b) in zip(tod, other_tod, strict=True):
        assert a.links is not None and b.links is not None
        np.testing.assert_allclose(b.links[2], a.links[2], atol=1e-9)
    free = district.network.link_time_s
    assert (
        other_tod[0][1].links is not None and other_tod[0][1].links[2].sum() > free.sum() + 1.0
    )  # delays, not free flow

    morning = np.flatnonzero((district.requests.time_s >= 7 * 3600.0) & (district.requests.time_s < 8 * 3600.0))
    fleet = district.fleet.resized(10)
    few = dataclasses.replace(other, requests=district.requests.subset(morning[:150]), fleet=fleet)
    timed = few.simulate(time_of_day=other_tod, progress=False)
    at_free_flow = few.simulate(progress=False)
    same = simulate(district.network, fleet, few.requests, time_of_day=tod, progress=False)  # Sejong's names
    np.testing.assert_allclose(timed.direct_s, same.direct_s, atol=1e-9)
    assert np.all(timed.direct_s >= at_free_flow.direct_s - 1e-9)
    assert timed.direct_s.sum() > at_free_flow.direct_s.sum() + 60.0  # the dispatch sees the signal delays


def test_peak_periods_default_to_every_period(district: District) -> None:
    assert dataclasses.replace(district, peak_periods=()).peak_periods == district.periods


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"signal_hours": {"night": (20.0, 24.0)}}, r"signal_hours\['night'\]: not a period"),
        ({"signal_hours": {"am_peak": (10.0, 6.0)}}, r"signal_hours\['am_peak'\].*0 <= start < end"),
        ({"signal_hours": {"am_peak": (6.0, float("inf"))}}, r"signal_hours\['am_peak'\].*start < end <= 24"),
        ({"signal_hours": {"am_peak": (20.0, 30.0)}}, r"signal_hours\['am_peak'\].*start < end <= 24"),
        ({"signal_hours": {"am_peak": 6}}, r"signal_hours\['am_peak'\]=6 must be a \(start, end\) pair"),
        ({"signal_hours": {"am_peak": ("x", 7)}}, r"signal_hours\['am_peak'\].*pair of clock hours"),
        ({"signal_hours": {"am_peak": (6.0, 11.0), "midday": (10.0, 16.0)}}, r"signal_hours\['midday'\].*overlaps"),
        ({"signal_hours": {"am_peak": (6.0,)}}, r"signal_hours\['am_peak'\].*pair"),
        ({"peak_periods": ("rush",)}, r"peak_periods: 'rush' is not a period"),
        ({"peak_periods": ("pm_peak", "am_peak")}, r"peak_periods=.*order of periods"),
        ({"periods": ("am_peak", "am_peak", "pm_peak")}, r"periods must be distinct"),
        (
            {"periods": ("morning", "noon", "evening"), "peak_periods": ()},
            r"intersection S\d\d-\d\d: periods .* not the district's",
        ),
    ],
)
def test_bad_windows_and_peaks_name_the_field(district: District, change: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(district, **change)  # type: ignore[arg-type]


def test_signal_hours_must_be_a_mapping(district: District) -> None:
    with pytest.raises(TypeError, match="signal_hours must map periods"):
        dataclasses.replace(district, signal_hours=[("am_peak", (6.0, 10.0))])  # type: ignore[arg-type]
