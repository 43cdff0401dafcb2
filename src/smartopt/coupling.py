"""Where the district's solvers see each other. Signal plans -> travel times: each period's plan
adds its HCM control delays to the links entering its intersections, and the shuttle dispatch
drives on those times during the hours the period stands for."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from smartopt.dispatch.space import TravelSpace
from smartopt.network import RoadNetwork
from smartopt.signals.model import Intersection
from smartopt.signals.timing import TimingPlan, hcm_delay, link_delays

SIGNAL_WINDOWS_H: dict[str, tuple[float, float]] = {
    "am_peak": (6.0, 10.0),
    "midday": (10.0, 16.0),
    "pm_peak": (16.0, 20.0),
}
"""Clock hours (start, end) each analysis period's signal plan stands for; outside them (the
night) links run at free flow."""


def signal_time_of_day(
    network: RoadNetwork,
    intersections: Sequence[Intersection],
    periods: Sequence[str],
    plans: Mapping[str, TimingPlan],
    windows_h: Mapping[str, tuple[float, float]] = SIGNAL_WINDOWS_H,
) -> list[tuple[float, TravelSpace]]:
    """``time_of_day`` for :func:`smartopt.dispatch.simulate`: for each period in ``plans`` (names
    from ``periods``, the intersections' volume periods), from the start of its window (h) the
    links' free-flow times plus the plan's control delays (s/veh, see
    :func:`~smartopt.signals.link_delays`), and free flow again where no window follows at once."""
    for name in plans:
        if name not in periods or name not in windows_h:
            raise ValueError(f"plans[{name!r}]: not a period with a window ({sorted(set(periods) & set(windows_h))})")
    spans = sorted((windows_h[name], name) for name in plans)
    free = TravelSpace.from_network(network)
    out: list[tuple[float, TravelSpace]] = []
    for k, ((start, end), name) in enumerate(spans):
        if not 0 <= start < end or (k and start < spans[k - 1][0][1]):
            raise ValueError(f"windows_h[{name!r}]={(start, end)} must be increasing and not overlap the previous")
        period = list(periods).index(name)
        delay = link_delays(intersections, hcm_delay(intersections, plans[name], period), network.num_links)
        out.append((start * 3600.0, TravelSpace.from_network(network, link_time_s=network.link_time_s + delay)))
        if k + 1 == len(spans) or spans[k + 1][0][0] > end:
            out.append((end * 3600.0, free))
    return out


def mean_signal_delay_s(time_of_day: Sequence[tuple[float, TravelSpace]], free: TravelSpace) -> list[float]:
    """Per entry of ``time_of_day``, the mean over node pairs of its fastest time minus free flow (s)."""
    assert free.time_s is not None
    return [float(np.mean(np.asarray(space.time_s) - free.time_s)) for _, space in time_of_day]
