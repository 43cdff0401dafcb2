"""The signalised-intersection model: approaches, lane groups, movements, stages and timing bounds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from smartopt._serialise import ToDict
from smartopt._validation import (
    FILLED,
    FloatArray,
    IntArray,
    assign_frozen,
    count_array,
    float_array,
    index_array,
    index_int,
)

TURNS = ("L", "T", "R", "U")
"""Movement turn codes (right-hand traffic): left, through, right, U-turn."""

MAX_TIME_S = 3600.0
"""Largest green, intergreen or cycle bound (s) an intersection may have: one hour."""

MAX_FLOW_VPH = 1e6
"""Largest volume or saturation flow (veh/h) of a lane group or movement."""


def _bounded(name: str, arr: FloatArray, limit: float, unit: str) -> FloatArray:
    over = arr > limit
    if over.any():
        idx = tuple(int(i) for i in np.argwhere(over)[0])
        where = "[" + ", ".join(str(i) for i in idx) + "]" if idx else ""
        raise ValueError(f"{name}{where}={arr[idx]:g} exceeds {limit:g} {unit}")
    return arr


def _period_names(where: str, names: Any, n_periods: int) -> tuple[str, ...]:
    """The intersection's period names: none, or one distinct str per row of ``volume_vph``."""
    if isinstance(names, str) or not isinstance(names, Sequence):
        raise TypeError(f"{where}: periods must be a tuple of str, got {type(names).__name__} {names!r}")
    out = tuple(names)
    for p in out:
        if not isinstance(p, str) or not p:
            raise TypeError(f"{where}: periods must be non-empty str, got {type(p).__name__} {p!r}")
    if out and len(out) != n_periods:
        raise ValueError(f"{where}: periods names {len(out)} periods, volume_vph has {n_periods}")
    if len(set(out)) != len(out):
        raise ValueError(f"{where}: periods {out} repeat a name")
    return out


def period_index(intersections: Sequence[Intersection], period: int | str) -> int:
    """The row of ``volume_vph`` that ``period`` means for every one of ``intersections``: an
    index in ``[0, n)`` (``n``: the fewest periods any has) or a name each of them gives (at the
    same index). ``ValueError`` names the period and the intersection that lacks it."""
    n = min(x.num_periods for x in intersections)
    if not isinstance(period, str):
        return index_int("period", period, n)
    rows: set[int] = set()
    for x in intersections:
        if period not in x.periods:
            known = f"its periods are {list(x.periods)}" if x.periods else "it names no periods: give an index"
            raise ValueError(f"period {period!r} is not a period of intersection {x.id} ({known})")
        rows.add(x.periods.index(period))
    if len(rows) > 1:
        raise ValueError(f"period {period!r} is at different positions {sorted(rows)} in the intersections' periods")
    return rows.pop()


def _group_sum(volume: FloatArray, group: IntArray, n_groups: int) -> FloatArray:
    """Movement volumes ``(n_periods, n_movements)`` summed per lane group."""
    out = np.zeros((volume.shape[0], n_groups))
    np.add.at(out.T, group, volume.T)
    return out


@dataclass(frozen=True, eq=False)
class Intersection(ToDict):
    """One signalised intersection, validated on construction.

    - Approaches ``a``: the incoming road link and the length (m) of the pedestrian crossing over it.
    - Lane groups ``g``: the approach they belong to, lanes, and saturation flow (veh/h of green for
      the whole group).
    - Movements ``k``: lane group, outgoing road link, turn code (``TURNS``) and a volume (veh/h) per
      analysis period (shape ``(n_periods, k)``); ``periods`` names the periods in that order
      (e.g. ``("am_peak", "midday")``; empty: they are known by index only).
    - Stages ``s`` (a fixed sequence): the movements that have green in each stage, min/max green (s),
      yellow and all-red (s), and the pedestrian minimum green (s) for the crossings that run with it.
    - Cycle length bounds (s).
    - ``nodes``: every junction (node index) the signal controls, ``node`` among them (default:
      ``node`` alone). A light joined over several junctions has its approaches end and its exits
      start at any of them; ``node`` is the one shown on maps and reports.
    - Uncontrolled turns ``uncontrolled_in_link[u] -> uncontrolled_out_link[u]`` at its nodes
      that no signal controls (e.g. free right slip lanes); they flow at their in-link's capacity.
    """

    id: str
    node: int
    approach_link: IntArray
    crossing_length_m: FloatArray
    lane_group_approach: IntArray
    lane_group_lanes: IntArray
    saturation_flow_vph: FloatArray
    movement_lane_group: IntArray
    movement_out_link: IntArray
    movement_turn: npt.NDArray[np.str_]
    volume_vph: FloatArray
    stage_movements: tuple[IntArray, ...]
    min_green_s: FloatArray
    max_green_s: FloatArray
    yellow_s: FloatArray
    all_red_s: FloatArray
    ped_min_green_s: FloatArray
    cycle_min_s: float
    cycle_max_s: float
    nodes: IntArray = FILLED
    uncontrolled_in_link: IntArray = FILLED
    uncontrolled_out_link: IntArray = FILLED
    periods: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return (
            f"Intersection({self.id!r} at node {self.node}: {self.approach_link.size} approaches, "
            f"{self.saturation_flow_vph.size} lane groups, {self.movement_out_link.size} movements, "
            f"{len(self.stage_movements)} stages, cycle {self.cycle_min_s:g}-{self.cycle_max_s:g} s)"
        )

    def __post_init__(self) -> None:
        if not isinstance(self.id, str):
            raise TypeError(f"intersection id must be a str, got {type(self.id).__name__} {self.id!r}")
        where = f"intersection {self.id}"
        if isinstance(self.node, bool) or not isinstance(self.node, int | np.integer):
            raise TypeError(f"{where}: node must be an int, got {type(self.node).__name__} {self.node!r}")
        if not 0 <= self.node <= np.iinfo(np.int32).max:
            raise ValueError(f"{where}: node={self.node} is not a node index in [0, 2**31)")
        nodes = count_array(f"{where}: nodes", [self.node] if self.nodes is None else self.nodes, (None,))
        if int(self.node) not in nodes:
            raise ValueError(f"{where}: node={self.node} is not one of its nodes {nodes.tolist()}")
        if np.unique(nodes).size != nodes.size:
            raise ValueError(f"{where}: nodes {nodes.tolist()} repeat a node")
        free_in, free_out = (
            np.zeros(0, np.int64) if v is None or np.size(v) == 0 else v
            for v in (self.uncontrolled_in_link, self.uncontrolled_out_link)
        )
        free_in = count_array(f"{where}: uncontrolled_in_link", free_in, (None,))
        free_out = count_array(f"{where}: uncontrolled_out_link", free_out, free_in.shape)
        n_app = np.asarray(self.approach_link).shape[0]
        approach_link = count_array(f"{where}: approach_link", self.approach_link, (n_app,))
        crossing = float_array(f"{where}: crossing_length_m", self.crossing_length_m, (n_app,), nonnegative=True)
        n_grp = np.asarray(self.lane_group_approach).shape[0]
        grp_app = index_array(f"{where}: lane_group_approach", self.lane_group_approach, n_app, (n_grp,))
        lanes = count_array(f"{where}: lane_group_lanes", self.lane_group_lanes, (n_grp,), minimum=1)
        sat = float_array(f"{where}: saturation_flow_vph", self.saturation_flow_vph, (n_grp,), nonnegative=True)
        _bounded(f"{where}: saturation_flow_vph", sat, MAX_FLOW_VPH, "veh/h")
        n_mov = np.asarray(self.movement_lane_group).shape[0]
        mov_grp = index_array(f"{where}: movement_lane_group", self.movement_lane_group, n_grp, (n_mov,))
        out_link = count_array(f"{where}: movement_out_link", self.movement_out_link, (n_mov,))
        turn = np.asarray(self.movement_turn).astype(str)
        if turn.shape != (n_mov,):
            raise ValueError(f"{where}: movement_turn must have shape ({n_mov},), got {turn.shape}")
        bad_turn = ~np.isin(turn, TURNS)
        if bad_turn.any():
            k = int(np.flatnonzero(bad_turn)[0])
            raise ValueError(f"{where}: movement {k}: turn {str(turn[k])!r} is not one of {TURNS}")
        volume = float_array(f"{where}: volume_vph", self.volume_vph, (None, n_mov), nonnegative=True)
        _bounded(f"{where}: volume_vph", volume, MAX_FLOW_VPH, "veh/h")
        if volume.shape[0] == 0:
            raise ValueError(f"{where}: volume_vph needs at least one period, got shape {volume.shape}")
        periods = _period_names(where, self.periods, volume.shape[0])
        starved = (_group_sum(volume, mov_grp, n_grp).max(axis=0) > 0) & (sat == 0)
        if starved.any():
            g = int(np.flatnonzero(starved)[0])
            raise ValueError(f"{where}: lane group {g} carries volume but has zero saturation flow")

        n_stage = len(self.stage_movements)
        if n_stage == 0:
            raise ValueError(f"{where}: needs at least one stage")
        stages = tuple(
            index_array(f"{where}: stage_movements[{s}]", m, n_mov) for s, m in enumerate(self.stage_movements)
        )
        served = np.zeros(n_mov, dtype=bool)
        for m in stages:
            served[m] = True
        if not served.all():
            raise ValueError(f"{where}: movement {int(np.flatnonzero(~served)[0])} is served by no stage")
        timing = {
            name: float_array(f"{where}: {name}", getattr(self, name), (n_stage,), nonnegative=True)
            for name in ("min_green_s", "max_green_s", "yellow_s", "all_red_s", "ped_min_green_s")
        }
        for name, arr in timing.items():
            _bounded(f"{where}: {name}", arr, MAX_TIME_S, "s")
        for lower, label in (("min_green_s", "min_green"), ("ped_min_green_s", "pedestrian min green")):
            over = timing[lower] > timing["max_green_s"]
            if over.any():
                s = int(np.flatnonzero(over)[0])
                raise ValueError(
                    f"{where}, stage {s}: {label}={timing[lower][s]:g} s exceeds "
                    f"max_green={timing['max_green_s'][s]:g} s"
                )
        cmin, cmax = (float(v) for v in float_array(f"{where}: cycle bounds", [self.cycle_min_s, self.cycle_max_s]))
        if cmax > MAX_TIME_S:
            raise ValueError(f"{where}: cycle_max_s={cmax:g} exceeds {MAX_TIME_S:g} s")
        if not 0 < cmin <= cmax:
            raise ValueError(f"{where}: cycle bounds must satisfy 0 < cycle_min_s <= cycle_max_s, got {cmin}, {cmax}")
        needed = float(
            (
                np.maximum(timing["min_green_s"], timing["ped_min_green_s"]) + timing["yellow_s"] + timing["all_red_s"]
            ).sum()
        )
        if needed > cmax + 1e-9:
            raise ValueError(f"{where}: minimum greens and intergreens need {needed:g} s, over cycle_max_s={cmax:g} s")
        longest = float((timing["max_green_s"] + timing["yellow_s"] + timing["all_red_s"]).sum())
        if longest < cmin - 1e-9:
            raise ValueError(
                f"{where}: maximum greens and intergreens give at most {longest:g} s, under cycle_min_s={cmin:g} s"
            )

        values: dict[str, Any] = {
            "node": int(self.node),
            "approach_link": approach_link,
            "crossing_length_m": crossing,
            "lane_group_approach": grp_app,
            "lane_group_lanes": lanes,
            "saturation_flow_vph": sat,
            "movement_lane_group": mov_grp,
            "movement_out_link": out_link,
            "movement_turn": turn,
            "volume_vph": volume,
            "stage_movements": stages,
            **timing,
            "cycle_min_s": cmin,
            "cycle_max_s": cmax,
            "nodes": nodes,
            "uncontrolled_in_link": free_in,
            "uncontrolled_out_link": free_out,
            "periods": periods,
        }
        assign_frozen(self, values)

    @property
    def num_periods(self) -> int:
        """Analysis periods (rows of ``volume_vph``)."""
        return int(self.volume_vph.shape[0])

    @property
    def lost_time_s(self) -> float:
        """Intergreen time lost per cycle (s): yellow plus all-red over all stages."""
        return float((self.yellow_s + self.all_red_s).sum())

    def lane_group_volume_vph(self) -> FloatArray:
        """Volume per lane group and period (veh/h), shape ``(n_periods, n_lane_groups)``."""
        return _group_sum(self.volume_vph, self.movement_lane_group, self.saturation_flow_vph.shape[0])

    def stage_serves(self) -> npt.NDArray[np.bool_]:
        """``[s, g]`` is True when lane group ``g`` has green in stage ``s``."""
        out = np.zeros((len(self.stage_movements), self.saturation_flow_vph.shape[0]), dtype=bool)
        for s, moves in enumerate(self.stage_movements):
            out[s, self.movement_lane_group[moves]] = True
        return out

    def flow_ratio(self) -> FloatArray:
        """Flow ratio ``v/s`` per period and lane group (0 where there is no volume)."""
        v = self.lane_group_volume_vph()
        sat = np.where(self.saturation_flow_vph > 0, self.saturation_flow_vph, 1.0)
        return np.asarray(v / sat)

    def stage_flow_ratio(self) -> FloatArray:
        """Critical flow ratio per period and stage: the largest ``v/s`` among the lane groups that
        have green in the stage, shape ``(n_periods, n_stages)``."""
        ratio, serves = self.flow_ratio(), self.stage_serves()
        return np.asarray(np.where(serves[None, :, :], ratio[:, None, :], 0.0).max(axis=2))

    def critical_flow_ratio(self) -> FloatArray:
        """Webster's ``Y`` per period: the sum of the stages' critical flow ratios."""
        return np.asarray(self.stage_flow_ratio().sum(axis=1))
