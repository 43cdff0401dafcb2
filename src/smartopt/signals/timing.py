"""Fixed-time signal timing over many intersections at once: Webster's cycle and splits, HCM control
delay, and a delay-minimising optimiser of cycle and splits.

Conventions: a stage's effective green equals its displayed green, and each stage loses its
yellow plus all-red (so the cycle is the greens plus the lost time ``L``). A lane group's green is
the sum of the greens of the stages that serve it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from smartopt._serialise import ToDict
from smartopt._validation import FloatArray, IntArray, assign_frozen, count_array, float_array
from smartopt.signals import _checks
from smartopt.signals._hcm import control_delay
from smartopt.signals.model import MAX_FLOW_VPH, MAX_TIME_S, Intersection, _bounded, period_index

if TYPE_CHECKING:
    import pandas as pd

LOS_LIMITS_S = (10.0, 20.0, 35.0, 55.0, 80.0)
"""HCM control-delay limits (s/veh) of levels of service A-E at signalised intersections; above: F."""

MAX_CYCLE_GRID = 20_000
"""Most cycles :func:`optimize_fixed_time` may try per intersection (the feasible range over
``cycle_step_s``), so that its work is bounded."""

MAX_LINKS = 100_000_000
"""Most road links :func:`link_delays` may be asked for (its output holds one value per link)."""

MAX_OFFSET_S = 1e6
"""Largest offset (s) a plan may have, in either direction."""

CYCLE_SUM_TOLERANCE = 1e-6
"""A plan's cycle must equal its greens plus the lost time within this share of the cycle (or 1e-6 s)."""


@dataclass(frozen=True)
class HcmParameters(ToDict):
    """HCM delay inputs: analysis period ``T`` (h), incremental delay factor ``k`` (0.5 for pretimed
    control), upstream filtering ``I`` (1.0 for an isolated intersection) and the progression factor
    ``PF`` (1.0 for random arrivals)."""

    analysis_period_h: float = 0.25
    k: float = 0.5
    upstream_filtering: float = 1.0
    progression_factor: float = 1.0

    def __post_init__(self) -> None:
        _checks.number("analysis_period_h", self.analysis_period_h, minimum=0.0, maximum=24.0, exclusive_minimum=True)
        _checks.number("k", self.k, minimum=0.0, maximum=1.0, exclusive_minimum=True)
        _checks.number("upstream_filtering", self.upstream_filtering, minimum=0.0, maximum=1.0, exclusive_minimum=True)
        _checks.number("progression_factor", self.progression_factor, minimum=0.0, maximum=10.0)

    def as_tuple(self) -> tuple[float, float, float, float]:
        """``(T, k, I, PF)`` in the order :func:`lane_group_delay` takes them."""
        return (self.analysis_period_h, self.k, self.upstream_filtering, self.progression_factor)


def lane_group_delay(
    volume_vph: npt.ArrayLike,
    saturation_vph: npt.ArrayLike,
    green_s: npt.ArrayLike,
    cycle_s: npt.ArrayLike,
    hcm: HcmParameters | None = None,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """HCM control delay (s/veh), capacity (veh/h) and ``v/c`` of lane groups given volume,
    saturation flow, effective green and cycle (arrays that broadcast together):
    ``d = d1 * PF + d2`` with uniform delay ``d1 = 0.5 C (1 - g/C)^2 / (1 - min(1, X) g/C)`` and
    incremental delay ``d2 = 900 T [(X - 1) + sqrt((X - 1)^2 + 8 k I X / (c T))]``; no initial queue."""
    v = _bounded("volume_vph", float_array("volume_vph", volume_vph, nonnegative=True), MAX_FLOW_VPH, "veh/h")
    s = _bounded("saturation_vph", float_array("saturation_vph", saturation_vph, positive=True), MAX_FLOW_VPH, "veh/h")
    g = _bounded("green_s", float_array("green_s", green_s, positive=True), MAX_TIME_S, "s")
    c = _bounded("cycle_s", float_array("cycle_s", cycle_s, positive=True), MAX_TIME_S, "s")
    try:
        longer = np.broadcast_arrays(g, c)
    except ValueError:
        raise ValueError(f"green_s {g.shape} and cycle_s {c.shape} do not broadcast together") from None
    if (longer[0] > longer[1]).any():
        raise ValueError("green_s must not exceed cycle_s")
    d, cap, x = control_delay(v, s, g, c, *_hcm(hcm).as_tuple())
    return np.asarray(d), np.asarray(cap), np.asarray(x)


def level_of_service(delay_s: npt.ArrayLike, v_over_c: npt.ArrayLike | None = None) -> npt.NDArray[np.str_]:
    """HCM level of service letters from control delay (s/veh); ``v/c > 1`` is F for a lane group."""
    delay = float_array("delay_s", delay_s, nonnegative=True, allow_inf=True)
    letters = np.array(list("ABCDEF"))[np.searchsorted(LOS_LIMITS_S, delay, side="left")]
    if v_over_c is not None:
        letters = np.where(float_array("v_over_c", v_over_c, nonnegative=True, allow_inf=True) > 1.0, "F", letters)
    return letters


@dataclass(frozen=True)
class _Packed:
    """The intersections of one period as padded arrays (``n`` intersections, ``S`` stages, ``G``
    lane groups); absent stages have zero bounds, absent lane groups zero volume."""

    volume: FloatArray  # (n, G) veh/h
    saturation: FloatArray  # (n, G) veh/h
    serves: npt.NDArray[np.bool_]  # (n, S, G)
    stage_ratio: FloatArray  # (n, S) critical v/s per stage
    green_lo: FloatArray  # (n, S) s: max(min green, pedestrian min green)
    green_hi: FloatArray  # (n, S) s
    lost: FloatArray  # (n,) s
    cycle_lo: FloatArray  # (n,) s: the feasible cycle range, cycle bounds and green bounds together
    cycle_hi: FloatArray  # (n,) s
    num_stages: IntArray  # (n,)


def _intersections(intersections: Sequence[Intersection]) -> tuple[Intersection, ...]:
    """The intersections as a tuple, each checked to be an :class:`Intersection`."""
    if isinstance(intersections, Intersection | str | bytes) or not isinstance(intersections, Sequence):
        raise TypeError(f"intersections must be a sequence of Intersection, got {type(intersections).__name__}")
    for i, x in enumerate(intersections):
        if not isinstance(x, Intersection):
            raise TypeError(f"intersections[{i}] must be an Intersection, got {type(x).__name__}")
    if len(intersections) == 0:
        raise ValueError("intersections is empty")
    return tuple(intersections)


def _hcm(hcm: HcmParameters | None) -> HcmParameters:
    if hcm is None:
        return HcmParameters()
    if not isinstance(hcm, HcmParameters):
        raise TypeError(f"hcm must be HcmParameters or None, got {type(hcm).__name__}")
    return hcm


def _pack(intersections: Sequence[Intersection], period: int | str, cycle_s: float | None = None) -> _Packed:
    """Pads the intersections' data; ``cycle_s`` pins every cycle (it must be feasible for all)."""
    intersections = _intersections(intersections)
    period = period_index(intersections, period)
    n = len(intersections)
    s_max = max(len(x.stage_movements) for x in intersections)
    g_max = max(x.saturation_flow_vph.shape[0] for x in intersections)
    volume, saturation = np.zeros((n, g_max)), np.zeros((n, g_max))
    serves = np.zeros((n, s_max, g_max), dtype=bool)
    ratio, lo, hi = np.zeros((n, s_max)), np.zeros((n, s_max)), np.zeros((n, s_max))
    lost, cmin, cmax = np.zeros(n), np.zeros(n), np.zeros(n)
    stages = np.zeros(n, dtype=np.int32)
    for i, x in enumerate(intersections):
        ns, ng = len(x.stage_movements), x.saturation_flow_vph.shape[0]
        stages[i] = ns
        volume[i, :ng] = x.lane_group_volume_vph()[period]
        saturation[i, :ng] = x.saturation_flow_vph
        serves[i, :ns, :ng] = x.stage_serves()
        ratio[i, :ns] = x.stage_flow_ratio()[period]
        lo[i, :ns] = np.maximum(x.min_green_s, x.ped_min_green_s)
        hi[i, :ns] = x.max_green_s
        lost[i] = x.lost_time_s
        cmin[i] = max(x.cycle_min_s, lo[i].sum() + lost[i])
        cmax[i] = min(x.cycle_max_s, hi[i].sum() + lost[i])
    cmax = np.maximum(cmax, cmin)
    if cycle_s is not None:
        common = _checks.number("cycle_s", cycle_s, minimum=0.0, exclusive_minimum=True, maximum=MAX_TIME_S)
        bad = (common < cmin - 1e-9) | (common > cmax + 1e-9)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"cycle_s={common:g} is outside intersection {intersections[i].id}'s feasible range "
                f"[{cmin[i]:g}, {cmax[i]:g}] s"
            )
        cmin, cmax = np.full(n, common), np.full(n, common)
    return _Packed(volume, saturation, serves, ratio, lo, hi, lost, cmin, cmax, stages)


def _bounded_split(weight: FloatArray, total: FloatArray, lo: FloatArray, hi: FloatArray) -> FloatArray:
    """Greens proportional to ``weight`` within ``[lo, hi]`` summing to ``total`` (per row):
    ``clip(lam * weight, lo, hi)`` with ``lam`` found by bisection."""
    w = np.maximum(weight, 1e-6) * (hi > 0)  # stages with no demand still get their minimum
    lam_lo, lam_hi = np.zeros(len(total)), np.full(len(total), 1.0)
    while ((np.clip(lam_hi[:, None] * w, lo, hi).sum(axis=1) < total) & (lam_hi < 1e12)).any():
        lam_hi *= 2.0
    for _ in range(100):
        mid = 0.5 * (lam_lo + lam_hi)
        short = np.clip(mid[:, None] * w, lo, hi).sum(axis=1) < total
        lam_lo, lam_hi = np.where(short, mid, lam_lo), np.where(short, lam_hi, mid)
    return np.asarray(np.clip(lam_hi[:, None] * w, lo, hi))


@dataclass(frozen=True, eq=False)
class TimingPlan(ToDict):
    """Fixed-time plans: per intersection a cycle (s), displayed greens per stage (s; padded with
    zeros past ``num_stages``) and an offset (s) of the cycle start against a common clock."""

    intersection_ids: tuple[str, ...]
    cycle_s: FloatArray
    green_s: FloatArray
    num_stages: IntArray
    offset_s: FloatArray

    def __post_init__(self) -> None:
        ids = self.intersection_ids
        if isinstance(ids, str) or not isinstance(ids, Sequence):
            raise TypeError(f"intersection_ids must be a sequence of str, got {type(ids).__name__}")
        for i, x in enumerate(ids):
            if not isinstance(x, str):
                raise TypeError(f"intersection_ids[{i}] must be a str, got {type(x).__name__} {x!r}")
        n = len(ids)
        cycle = float_array("cycle_s", self.cycle_s, (n,), positive=True)
        green = float_array("green_s", self.green_s, (n, None), nonnegative=True)
        stages = count_array("num_stages", self.num_stages, (n,), minimum=1)
        offset = float_array("offset_s", self.offset_s, (n,))
        for name, arr, limit in (("cycle_s", cycle, MAX_TIME_S), ("offset_s", np.abs(offset), MAX_OFFSET_S)):
            if (arr > limit).any():
                i = int(np.argmax(arr > limit))
                raise ValueError(f"{name}[{i}]={(cycle if name == 'cycle_s' else offset)[i]:g} exceeds {limit:g} s")
        wide = stages > green.shape[1]
        if wide.any():
            i = int(np.argmax(wide))
            raise ValueError(f"num_stages[{i}]={stages[i]} exceeds the {green.shape[1]} columns of green_s")
        padded = (np.arange(green.shape[1])[None, :] >= stages[:, None]) & (green != 0)
        if padded.any():
            i, s = (int(v) for v in np.argwhere(padded)[0])
            raise ValueError(f"green_s[{i}, {s}]={green[i, s]:g} is past the {stages[i]} stages of {ids[i]!r}")
        long = green.sum(axis=1) > cycle * (1 + CYCLE_SUM_TOLERANCE)
        if long.any():
            i = int(np.argmax(long))
            raise ValueError(f"intersection {ids[i]}: greens sum to {green[i].sum():g} s, over cycle_s={cycle[i]:g} s")
        values: dict[str, Any] = {
            "intersection_ids": tuple(str(x) for x in ids),
            "cycle_s": cycle,
            "green_s": green,
            "num_stages": stages,
            "offset_s": offset,
        }
        assign_frozen(self, values)

    def greens(self, i: int) -> FloatArray:
        """Greens of intersection ``i`` (s), one per stage."""
        return np.asarray(self.green_s[i, : self.num_stages[i]])

    def to_frame(self) -> pd.DataFrame:
        """One row per intersection and stage."""
        import pandas as pd

        rows = [
            {"intersection": x, "stage": s, "green_s": self.green_s[i, s], "cycle_s": self.cycle_s[i],
             "offset_s": self.offset_s[i]}
            for i, x in enumerate(self.intersection_ids)
            for s in range(int(self.num_stages[i]))
        ]  # fmt: skip
        return pd.DataFrame(rows)

    def __repr__(self) -> str:
        c = self.cycle_s
        return f"TimingPlan({len(c)} intersections, cycle {c.min():.0f}-{c.max():.0f} s, mean {c.mean():.1f} s)"


def match_plan(intersections: Sequence[Intersection], plan: TimingPlan) -> TimingPlan:
    """``plan`` checked against the intersections it is applied to: the same ids (re-ordered by id
    when the plan lists them in another order), each intersection's number of stages, and each
    cycle equal to the greens plus the intersection's lost time. Greens come back padded to the
    intersections' largest number of stages."""
    if not isinstance(plan, TimingPlan):
        raise TypeError(f"plan must be a TimingPlan, got {type(plan).__name__}")
    intersections = _intersections(intersections)
    ids = tuple(x.id for x in intersections)
    order = np.arange(len(ids))
    if plan.intersection_ids != ids:
        where = {x: k for k, x in enumerate(plan.intersection_ids)}
        if len(where) != len(plan.intersection_ids) or len(set(ids)) != len(ids) or set(where) != set(ids):
            missing = [x for x in ids if x not in where][:3] or [x for x in plan.intersection_ids if x not in ids][:3]
            raise ValueError(
                f"plan is for intersections {plan.intersection_ids[:3]}... ({len(plan.intersection_ids)}), "
                f"not the {len(ids)} intersections {ids[:3]}... it is applied to (ids that differ: {missing})"
            )
        order = np.array([where[x] for x in ids])
    width = max(len(x.stage_movements) for x in intersections)
    green = np.zeros((len(ids), width))
    for i, x in enumerate(intersections):
        k = int(order[i])
        ns = len(x.stage_movements)
        if int(plan.num_stages[k]) != ns:
            raise ValueError(f"plan: intersection {x.id} has {int(plan.num_stages[k])} stages, the intersection {ns}")
        green[i, :ns] = plan.green_s[k, :ns]
        cycle, total = float(plan.cycle_s[k]), float(green[i, :ns].sum()) + x.lost_time_s
        if abs(total - cycle) > CYCLE_SUM_TOLERANCE * max(1.0, cycle):
            raise ValueError(
                f"plan: intersection {x.id}: greens {total - x.lost_time_s:g} s + lost time {x.lost_time_s:g} s "
                f"= {total:g} s, not cycle_s={cycle:g} s"
            )
    return TimingPlan(
        intersection_ids=ids,
        cycle_s=plan.cycle_s[order],
        green_s=green,
        num_stages=plan.num_stages[order],
        offset_s=plan.offset_s[order],
    )


def _plan(intersections: Sequence[Intersection], cycle: FloatArray, green: FloatArray, packed: _Packed) -> TimingPlan:
    return TimingPlan(
        intersection_ids=tuple(x.id for x in intersections),
        cycle_s=cycle,
        green_s=green,
        num_stages=packed.num_stages,
        offset_s=np.zeros(len(cycle)),
    )


def _webster(p: _Packed, pinned: bool) -> tuple[FloatArray, FloatArray]:
    """Webster's cycles and greens for packed intersections (see :func:`webster`); with a pinned
    cycle only the greens are computed, at that cycle."""
    fixed = p.green_hi <= 0  # absent stages
    for _ in range(p.green_lo.shape[1]):
        lost = p.lost + np.where(fixed, p.green_lo, 0.0).sum(axis=1)
        y = np.where(fixed, 0.0, p.stage_ratio).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            c0 = p.cycle_lo if pinned else np.where(y < 1.0, (1.5 * lost + 5.0) / (1.0 - y), np.inf)
            share = np.where(y[:, None] > 0, (c0 - lost)[:, None] * p.stage_ratio / y[:, None], 0.0)
        short = ~fixed & (share < p.green_lo) & np.isfinite(c0)[:, None]
        if not short.any():
            break
        fixed |= short
    cycle = np.clip(c0, p.cycle_lo, p.cycle_hi)
    weight = np.where(fixed, 0.0, p.stage_ratio)
    return cycle, _bounded_split(weight, cycle - p.lost, p.green_lo, p.green_hi)


def webster(
    intersections: Sequence[Intersection], period: int | str = 0, *, cycle_s: float | None = None
) -> TimingPlan:
    """Webster's plans: cycle ``C0 = (1.5 L + 5) / (1 - Y)`` and greens ``(C0 - L) y_s / Y``.

    Stages whose share would fall below their minimum green (pedestrians included) run at that
    minimum, and their time counts as lost to the other stages: ``L`` grows by it and ``Y`` keeps
    only the other stages, repeated until no share falls short. The cycle is then clipped to the
    feasible range (the longest when ``Y >= 1``) and the greens shared within their bounds.
    ``cycle_s`` imposes one common cycle instead (for coordination). ``period``: the volumes'
    period, by index or by name (:attr:`Intersection.periods`), as in every signals function.
    """
    p = _pack(intersections, period, cycle_s)
    cycle, green = _webster(p, cycle_s is not None)
    return _plan(intersections, cycle, green, p)


@dataclass(frozen=True, eq=False)
class DelayReport(ToDict):
    """HCM delay of a plan. Lane-group arrays list every lane group of every intersection in order
    (``intersection`` gives its position, ``intersection_ids`` the ids in that order); intersection
    averages are weighted by volume."""

    intersection: IntArray
    volume_vph: FloatArray
    capacity_vph: FloatArray
    v_over_c: FloatArray
    green_s: FloatArray
    delay_s: FloatArray
    los: npt.NDArray[np.str_]
    intersection_delay_s: FloatArray
    intersection_los: npt.NDArray[np.str_]
    intersection_ids: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return (
            f"DelayReport({self.intersection_delay_s.size} intersections, {self.delay_s.size} lane groups: "
            f"average delay {self.average_delay_s:.1f} s/veh, total {self.total_delay_veh_h:.1f} veh h, "
            f"worst v/c {self.v_over_c.max(initial=0.0):.2f})"
        )

    @property
    def total_delay_veh_h(self) -> float:
        """Total control delay of all vehicles in an hour (veh·h/h)."""
        return float((self.volume_vph * self.delay_s).sum() / 3600.0)

    @property
    def average_delay_s(self) -> float:
        """Volume-weighted average control delay over all intersections (s/veh)."""
        return float((self.volume_vph * self.delay_s).sum() / max(self.volume_vph.sum(), 1e-12))

    def to_frame(self) -> pd.DataFrame:
        """One row per lane group, its intersection by id (by position when the ids are unknown)."""
        import pandas as pd

        return pd.DataFrame(
            {
                "intersection": np.asarray(self.intersection_ids)[self.intersection]
                if self.intersection_ids
                else self.intersection,
                "volume_vph": self.volume_vph,
                "capacity_vph": self.capacity_vph,
                "v_over_c": self.v_over_c,
                "green_s": self.green_s,
                "delay_s": self.delay_s,
                "los": self.los,
            }
        )


def hcm_delay(
    intersections: Sequence[Intersection],
    plan: TimingPlan,
    period: int | str = 0,
    hcm: HcmParameters | None = None,
) -> DelayReport:
    """HCM control delay, capacity, ``v/c`` and level of service per lane group and intersection
    for ``plan`` (see :func:`lane_group_delay`)."""
    hcm = _hcm(hcm)
    p = _pack(intersections, period)
    plan = match_plan(intersections, plan)
    green = np.einsum("ns,nsg->ng", plan.green_s, p.serves.astype(float))
    exists = p.saturation > 0
    delay, capacity, x = control_delay(p.volume, p.saturation, green, plan.cycle_s[:, None], *hcm.as_tuple())
    weights = p.volume * exists
    per_int = (weights * np.where(exists, delay, 0.0)).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-12)
    idx = np.nonzero(exists)
    return DelayReport(
        intersection=idx[0].astype(np.int32),
        volume_vph=p.volume[idx],
        capacity_vph=capacity[idx],
        v_over_c=x[idx],
        green_s=green[idx],
        delay_s=delay[idx],
        los=level_of_service(delay[idx], x[idx]),
        intersection_delay_s=per_int,
        intersection_los=level_of_service(per_int),
        intersection_ids=tuple(x.id for x in intersections),
    )


def link_delays(intersections: Sequence[Intersection], report: DelayReport, num_links: int) -> FloatArray:
    """Control delay (s/veh) per road link of a network with ``num_links`` links: on each signalised
    approach link, the volume-weighted mean HCM delay of its lane groups in ``report`` (the
    unweighted mean if they carry no volume); 0 on other links. Add it to the links' travel times
    for signal-aware routing."""
    intersections = _intersections(intersections)
    if not isinstance(report, DelayReport):
        raise TypeError(f"report must be a DelayReport, got {type(report).__name__}")
    num_links = _checks.integer("num_links", num_links, minimum=1, maximum=MAX_LINKS)
    out = np.zeros(num_links)
    for i, x in enumerate(intersections):
        rows = np.flatnonzero(report.intersection == i)
        groups = np.flatnonzero(x.saturation_flow_vph > 0)
        if rows.size != groups.size:
            raise ValueError(f"report has {rows.size} lane groups for intersection {x.id}, which has {groups.size}")
        approach = x.lane_group_approach[groups]
        if (x.approach_link >= num_links).any():
            raise ValueError(f"intersection {x.id}: an approach link is not among the network's {num_links} links")
        n = x.approach_link.shape[0]
        weight = report.volume_vph[rows]
        volume = np.bincount(approach, weight, n)
        weighted = np.bincount(approach, weight * report.delay_s[rows], n)
        plain = np.bincount(approach, report.delay_s[rows], n) / np.maximum(np.bincount(approach, minlength=n), 1)
        out[x.approach_link] = np.where(volume > 0, weighted / np.maximum(volume, 1e-300), plain)
    return out


def optimize_fixed_time(
    intersections: Sequence[Intersection],
    period: int | str = 0,
    hcm: HcmParameters | None = None,
    *,
    cycle_step_s: float = 1.0,
    cycle_s: float | None = None,
) -> TimingPlan:
    """Plans that minimise total HCM control delay (sum over lane groups of volume x delay) over
    cycle and splits, within cycle bounds and min/max greens.

    Every cycle on a ``cycle_step_s`` grid of the feasible range is tried; for each, the greens
    come from an exchange search that moves green between the stages with the largest and smallest
    marginal delay (the objective is convex in the greens for a fixed cycle). Webster's plan is kept
    where it is at least as good, so the result is never worse than :func:`webster`. Runs over all
    intersections in one compiled (Numba, parallel) call. ``cycle_s`` imposes one common cycle
    (only the splits are optimised), as coordination needs.

    Example (the district's AM peak, veh*h/h of delay):
        >>> from smartopt.datasets import sejong_5_1
        >>> from smartopt.signals import hcm_delay, optimize_fixed_time, webster
        >>> x = sejong_5_1().intersections
        >>> before, after = webster(x, 0), optimize_fixed_time(x, 0)
        >>> round(hcm_delay(x, before, 0).total_delay_veh_h), round(hcm_delay(x, after, 0).total_delay_veh_h)
        (1152, 838)
    """
    hcm = _hcm(hcm)
    step = _checks.number("cycle_step_s", cycle_step_s, minimum=0.0, exclusive_minimum=True)
    p = _pack(intersections, period, cycle_s)
    grid = (p.cycle_hi - p.cycle_lo) / step
    if (grid > MAX_CYCLE_GRID).any():
        i = int(np.argmax(grid))
        raise ValueError(
            f"cycle_step_s={step:g} s gives {grid[i]:.3g} cycles to try in intersection {intersections[i].id}'s "
            f"range {p.cycle_lo[i]:g}-{p.cycle_hi[i]:g} s; at most {MAX_CYCLE_GRID} are allowed "
            f"(cycle_step_s >= {(p.cycle_hi[i] - p.cycle_lo[i]) / MAX_CYCLE_GRID:.3g} s)"
        )
    from smartopt.signals import _kernels

    start_cycle, start_green = _webster(p, cycle_s is not None)
    cycle, green = _kernels.optimise_cycles_and_splits(
        p.volume, p.saturation, p.serves, p.green_lo, p.green_hi, p.lost, p.cycle_lo, p.cycle_hi,
        start_cycle, start_green, step, *hcm.as_tuple(),
    )  # fmt: skip
    return _plan(intersections, cycle, green, p)
