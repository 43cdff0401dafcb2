"""Adaptive control: max-pressure (Varaiya 2013) for many intersections, as a pure stage choice
(:class:`MaxPressure`) and as a controller a service steps from detector counts
(:class:`MaxPressureController`), guarded for spillback (:class:`PressureGuards`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from smartopt._serialise import ToDict
from smartopt._validation import FloatArray, IntArray, count_array, float_array, index_array
from smartopt.signals import _checks
from smartopt.signals.model import Intersection
from smartopt.signals.timing import TimingPlan, match_plan

BoolArray = npt.NDArray[np.bool_]


class MaxPressure:
    """Max-pressure control of ``intersections`` on a network of ``num_links`` road links.

    The pressure of a stage is the sum over its movements of saturation flow (veh/h) times the
    queue on the movement's approach link minus the queue on its exit link (veh). Where queues are
    known per movement (a traffic model, lane detectors), the movement's own queue replaces its
    approach link's (Varaiya's form), so a turn with no one waiting does not borrow the queue of
    the movements beside it. A movement whose exit link is marked full adds nothing: green given
    to it would be wasted into a blocked road.

    Each step keeps the current stage until its minimum green (pedestrian minimum included) has
    run, forces a change at its maximum green, and otherwise picks the stage with the highest
    pressure (the lowest index among ties), so a stage with no demand is never picked over one
    with demand.
    """

    def __init__(self, intersections: Sequence[Intersection], num_links: int) -> None:
        if len(intersections) == 0:
            raise ValueError("intersections is empty")
        self.num_links = _checks.integer("num_links", num_links, minimum=0)
        n = len(intersections)
        s_max = max(len(x.stage_movements) for x in intersections)
        k_max = max(x.movement_lane_group.shape[0] for x in intersections)
        self._in = np.zeros((n, k_max), dtype=np.int64)
        self._out = np.zeros((n, k_max), dtype=np.int64)
        self._flat = np.zeros((n, k_max), dtype=np.int64)  # position in the intersections' movements, in order
        self._weight = np.zeros((n, s_max, k_max))  # saturation flow where the stage serves the movement
        self.num_stages = np.array([len(x.stage_movements) for x in intersections], dtype=np.int32)
        self.min_green_s = np.full((n, s_max), np.inf)
        first = np.cumsum([0] + [x.movement_lane_group.shape[0] for x in intersections])
        self.num_movements = int(first[-1])  # of all intersections, in order: movement_queue_veh's length
        self.max_green_s = np.full((n, s_max), np.inf)
        for i, x in enumerate(intersections):
            k = x.movement_lane_group.shape[0]
            self._in[i, :k] = index_array(f"intersection {x.id}: approach links", x.approach_link, self.num_links)[
                x.lane_group_approach[x.movement_lane_group]
            ]
            self._out[i, :k] = index_array(f"intersection {x.id}: exit links", x.movement_out_link, self.num_links)
            self._flat[i, :k] = np.arange(first[i], first[i + 1])
            for s, moves in enumerate(x.stage_movements):
                self._weight[i, s, moves] = x.saturation_flow_vph[x.movement_lane_group[moves]]
            ns = len(x.stage_movements)
            self.min_green_s[i, :ns] = np.maximum(x.min_green_s, x.ped_min_green_s)
            self.max_green_s[i, :ns] = x.max_green_s
        self._absent = np.arange(s_max)[None, :] >= self.num_stages[:, None]

    def _terms(
        self, queue_veh: npt.ArrayLike, movement_queue_veh: npt.ArrayLike | None, full_link: npt.ArrayLike | None
    ) -> tuple[FloatArray, FloatArray]:
        """Per movement ``(n, K)``: the queue upstream minus the exit link's (veh), and the weight
        of the movement in each stage ``(n, S, K)`` with full exits zeroed."""
        q = float_array("queue_veh", queue_veh, (self.num_links,), nonnegative=True)
        if movement_queue_veh is None:
            upstream = q[self._in]
        else:
            mq = float_array("movement_queue_veh", movement_queue_veh, (self.num_movements,), nonnegative=True)
            upstream = mq[self._flat]
        weight = self._weight
        if full_link is not None:
            full = np.asarray(full_link, dtype=bool)
            if full.shape != (self.num_links,):
                raise ValueError(f"full_link must have shape ({self.num_links},), got {full.shape}")
            weight = np.where(full[self._out][:, None, :], 0.0, weight)
        return np.asarray(upstream - q[self._out]), np.asarray(weight)

    def pressures(
        self,
        queue_veh: npt.ArrayLike,
        movement_queue_veh: npt.ArrayLike | None = None,
        full_link: npt.ArrayLike | None = None,
    ) -> FloatArray:
        """Stage pressures, shape ``(n_intersections, max_stages)``; ``-inf`` for absent stages.
        ``queue_veh`` per link; ``movement_queue_veh``, if known, per movement of the
        intersections in order; ``full_link`` (bool per link, if given) marks exits that take no
        more vehicles."""
        diff, weight = self._terms(queue_veh, movement_queue_veh, full_link)
        p = np.einsum("nsk,nk->ns", weight, diff)  # padded movements have zero weight
        return np.asarray(np.where(self._absent, -np.inf, p))

    def stage_demand(
        self,
        queue_veh: npt.ArrayLike,
        movement_queue_veh: npt.ArrayLike | None = None,
        full_link: npt.ArrayLike | None = None,
    ) -> BoolArray:
        """Stages that have a queue to serve into an exit that is not full, shape
        ``(n_intersections, max_stages)`` (arguments as in :meth:`pressures`)."""
        q = float_array("queue_veh", queue_veh, (self.num_links,), nonnegative=True)
        diff, weight = self._terms(q, movement_queue_veh, full_link)
        upstream = diff + q[self._out]
        return np.asarray(np.einsum("nsk,nk->ns", weight > 0, upstream > 0) > 0)

    def step(
        self,
        queue_veh: npt.ArrayLike,
        current_stage: npt.ArrayLike,
        green_elapsed_s: npt.ArrayLike,
        movement_queue_veh: npt.ArrayLike | None = None,
        full_link: npt.ArrayLike | None = None,
    ) -> IntArray:
        """The stage each intersection should show next, given queues (veh per link, per movement
        if known, and full exits if known: see :meth:`pressures`), the stage now green and how
        long it has been green (s)."""
        current = self._current(current_stage)
        elapsed = float_array("green_elapsed_s", green_elapsed_s, (current.shape[0],), nonnegative=True)
        p = self.pressures(queue_veh, movement_queue_veh, full_link)
        rows = np.arange(current.shape[0])
        hold = elapsed < self.min_green_s[rows, current]
        must_change = elapsed >= self.max_green_s[rows, current]
        p_change = p.copy()
        p_change[rows, current] = -np.inf
        best = np.where(must_change & (self.num_stages > 1), p_change.argmax(axis=1), p.argmax(axis=1))
        # Keep the current stage when it ties with the best.
        keep = ~must_change & (p[rows, current] >= p[rows, best])
        return np.asarray(np.where(hold | keep, current, best), dtype=np.int32)

    def _current(self, current_stage: npt.ArrayLike) -> IntArray:
        n = self.num_stages.shape[0]
        current = count_array("current_stage", current_stage, (n,))
        if (current >= self.num_stages).any():
            i = int(np.flatnonzero(current >= self.num_stages)[0])
            raise ValueError(f"current_stage[{i}]={current[i]} is not a stage of intersection {i}")
        return current


@dataclass(frozen=True)
class PressureGuards(ToDict):
    """Guards of max-pressure where queues spill back; ``None`` turns a guard off.

    - ``exit_full``: an exit link holding at least this share of its storage (vehicles on it /
      (length x lanes / 7.5 m jam spacing)) is full, and movements into it get no pressure
      weight (0.8: a link four-fifths full has no room for a green's discharge).
    - ``max_red_s``: a stage with a queue (per movement where the counts have them, into an
      exit that is not full) that has not shown green for this long (s) is served next, once the
      current stage's minimum green has run (180 s: pressure alone can keep a stage with few
      vehicles red until SUMO gives them up as stuck at 300 s. On a saturated SUMO arterial
      120 s and 180 s removed every teleport and 300 s did not; on a saturated 4 x 4 grid each
      forced stage costs capacity: 180 s lost 5 % more time per trip than no limit, 120 s 9 %).
    - ``spill_share`` and ``spill_s``: a light with at least ``spill_share`` of its exit links
      full for ``spill_s`` seconds runs the fallback fixed-time plan until it has been under that
      share for ``spill_s`` seconds (0.5 and 60 s: spillback over half the exits for a minute is
      a jam that local pressure cannot resolve; the plan's cycle serves every stage in turn).
    - ``max_clearance_s``: while vehicles stand inside the junction (counted by
      ``DetectorCounts.junction_halting_veh``) the intergreen runs on, up to this long (s), before
      the next stage's green: a turn still waiting for its gap, or a vehicle caught inside a
      junction of several nodes, would otherwise meet the next stage's traffic and lock the
      junction (5 s: on cologne3's joined junction a skipped left-turn stage left through
      vehicles standing inside when the crossing street got green, and the junction locked until
      SUMO gave them up).
    """

    exit_full: float | None = 0.8
    max_red_s: float | None = 180.0
    spill_share: float | None = 0.5
    spill_s: float | None = 60.0
    max_clearance_s: float | None = 5.0

    def __post_init__(self) -> None:
        for name, hi in (
            ("exit_full", 10.0), ("max_red_s", None), ("spill_share", 1.0), ("spill_s", None), ("max_clearance_s", None)
        ):  # fmt: skip
            value = getattr(self, name)
            if value is not None:
                exclusive = name not in ("spill_s", "max_clearance_s")
                _checks.number(f"guards.{name}", value, minimum=0.0, maximum=hi, exclusive_minimum=exclusive)

    @classmethod
    def off(cls) -> PressureGuards:
        """No guard: plain max-pressure."""
        return cls(exit_full=None, max_red_s=None, spill_share=None, spill_s=None, max_clearance_s=None)


@dataclass(frozen=True, eq=False)
class DetectorCounts(ToDict):
    """What a city's detectors report at one instant: vehicles halting on each link (veh; stop
    line queues), optionally per movement of the controller's intersections in order (veh; lane
    detectors), vehicles on each link (veh; exit-link occupancy, compared with the link's
    storage; the halting vehicles when not given), and vehicles standing inside each
    intersection's junction (veh, per intersection in order; a camera over the junction box;
    none when not given)."""

    queue_veh: npt.ArrayLike
    movement_queue_veh: npt.ArrayLike | None = None
    link_vehicles_veh: npt.ArrayLike | None = None
    junction_halting_veh: npt.ArrayLike | None = None

    def __repr__(self) -> str:
        queue = np.asarray(self.queue_veh, dtype=float)
        return f"DetectorCounts({queue.size} links, {queue.sum():.0f} veh halting)"


@dataclass(frozen=True, eq=False)
class StageDecisions(ToDict):
    """What each light shows after a :meth:`MaxPressureController.step` at ``time_s`` (arrays
    aligned with ``intersection_ids``): ``stage`` is green, or ends in an intergreen (yellow,
    all-red) when ``next_stage`` is not -1; ``started`` marks lights whose green of ``stage``
    starts at this step, ``changing`` those whose intergreen starts, ``fallback`` those running
    the fallback fixed-time plan."""

    intersection_ids: tuple[str, ...]
    time_s: float
    stage: IntArray
    next_stage: IntArray
    started: BoolArray
    changing: BoolArray
    fallback: BoolArray

    @property
    def in_green(self) -> BoolArray:
        """Lights that show a stage's green now (the others run an intergreen)."""
        return np.asarray(self.next_stage < 0)

    def __repr__(self) -> str:
        return (
            f"StageDecisions(t={self.time_s:g} s, {len(self.intersection_ids)} lights: "
            f"{int(self.changing.sum())} changing, {int((~self.in_green).sum())} in intergreen, "
            f"{int(self.fallback.sum())} on the fallback plan)"
        )


class MaxPressureController:
    """Max-pressure control in time, stepped by a service (or a simulation) with detector counts.

    Every ``decision_s`` seconds of green each light keeps or changes its stage
    (:class:`MaxPressure`: minimum green with pedestrians, maximum green); a change first shows
    the intergreen (yellow plus all-red, s) of the stage that ends, then the next stage's green.
    The ``guards`` act where queues spill back: full exits get no pressure weight (needs
    ``storage_veh``, vehicles each link holds), a stage kept red too long is served next, and a
    light whose exits stay full runs the ``fallback`` plan's cycle (on the common clock, from
    offset 0 at ``time_s`` 0) until they clear, and an intergreen runs on while vehicles stand
    inside the junction. Every light starts in its first stage's green at
    the first step. Queues per movement, when the counts have them, give the pressures
    (Varaiya's form) unless ``movement_pressure`` is False; the maximum-red guard always judges
    a stage's demand from them. Where the counts give the vehicles on each link, a vehicle still
    moving on it counts ``moving_weight`` of a halting one in a link's queue (0.5: it reaches the
    stop line within a decision or two; on RESCO's Cologne and Ingolstadt scenarios and the 4 x 4
    grid, halting vehicles alone lost up to 15 % more time per trip, as a stage's green was cut
    just before a platoon arrived, and all vehicles alike up to 18 % more, as approaching
    vehicles outbid standing queues).
    """

    def __init__(
        self,
        intersections: Sequence[Intersection],
        num_links: int,
        *,
        decision_s: float = 5.0,
        storage_veh: npt.ArrayLike | None = None,
        guards: PressureGuards | None = None,
        fallback: TimingPlan | None = None,
        movement_pressure: bool = True,
        moving_weight: float = 0.5,
    ) -> None:
        self.policy = MaxPressure(intersections, num_links)
        self.movement_pressure = bool(movement_pressure)
        self.moving_weight = _checks.number("moving_weight", moving_weight, minimum=0.0, maximum=1.0)
        self.intersection_ids = tuple(x.id for x in intersections)
        self.decision_s = float(float_array("decision_s", [decision_s], positive=True)[0])
        self.guards = PressureGuards() if guards is None else guards
        if not isinstance(self.guards, PressureGuards):
            raise TypeError(f"guards must be PressureGuards, got {type(self.guards).__name__}")
        n, s_max = len(intersections), int(self.policy.num_stages.max())
        self.storage_veh = (
            None if storage_veh is None else float_array("storage_veh", storage_veh, (num_links,), positive=True)
        )
        self.intergreen_s = np.zeros((n, s_max))
        for i, x in enumerate(intersections):
            self.intergreen_s[i, : len(x.stage_movements)] = x.yellow_s + x.all_red_s
        self._exits = [np.unique(x.movement_out_link) for x in intersections]
        self.fallback = None if fallback is None else match_plan(intersections, fallback)
        if self.fallback is not None:
            green = self.fallback.green_s[:, :s_max]
            self._plan_begin = np.concatenate([np.zeros((n, 1)), np.cumsum(green + self.intergreen_s, 1)[:, :-1]], 1)
            self._plan_begin[self.policy._absent] = np.inf
        self._time: float | None = None
        self.stage = np.zeros(n, dtype=np.int32)
        self.next_stage = np.full(n, -1, dtype=np.int32)  # >= 0 while an intergreen runs
        self.green_since_s = np.zeros(n)
        self.next_decision_s = np.zeros(n)  # when each light's next decision falls due
        self.intergreen_ends_s = np.zeros(n)
        self.last_green_s = np.zeros((n, s_max))  # when each stage last showed green
        self.on_fallback = np.zeros(n, dtype=bool)
        self._spill_since = np.full(n, np.nan)  # since when a light spills back (nan: it does not)
        self._clear_since = np.full(n, np.nan)

    def full_links(self, counts: DetectorCounts) -> BoolArray | None:
        """Links at or over the ``exit_full`` share of their storage (None without storage or guard)."""
        if self.storage_veh is None or self.guards.exit_full is None:
            return None
        on_link = counts.queue_veh if counts.link_vehicles_veh is None else counts.link_vehicles_veh
        vehicles = float_array("link_vehicles_veh", on_link, (self.policy.num_links,), nonnegative=True)
        return np.asarray(vehicles >= self.guards.exit_full * self.storage_veh)

    def link_queues(self, counts: DetectorCounts) -> FloatArray:
        """The queue of each link the pressures weigh (veh): the halting vehicles, plus
        ``moving_weight`` of each vehicle still moving on the link where the counts give them."""
        halting = float_array("queue_veh", counts.queue_veh, (self.policy.num_links,), nonnegative=True)
        if counts.link_vehicles_veh is None or self.moving_weight == 0.0:
            return halting
        on_link = float_array("link_vehicles_veh", counts.link_vehicles_veh, (self.policy.num_links,), nonnegative=True)
        return np.asarray(halting + self.moving_weight * np.maximum(on_link - halting, 0.0))

    def plan_stage(self, time_s: float) -> IntArray:
        """The stage the fallback plan shows at ``time_s`` (s), or the one it changes to during an
        intergreen."""
        if self.fallback is None:
            raise ValueError("the controller has no fallback plan")
        u = np.mod(time_s - self.fallback.offset_s, self.fallback.cycle_s)[:, None]
        k = (self._plan_begin <= u + 1e-9).sum(axis=1) - 1
        rows = np.arange(k.shape[0])
        ending = u[:, 0] >= self._plan_begin[rows, k] + self.fallback.green_s[rows, k] - 1e-9
        return np.asarray(np.where(ending, (k + 1) % self.policy.num_stages, k), dtype=np.int32)

    def step(self, counts: DetectorCounts, time_s: float) -> StageDecisions:
        """Moves the controller to ``time_s`` (s, never earlier than the last step) with the
        detectors' ``counts``: ends the intergreens that are over, switches lights to or from the
        fallback plan, and takes the decisions that fall due."""
        if not isinstance(counts, DetectorCounts):
            raise TypeError(f"counts must be DetectorCounts, got {type(counts).__name__}")
        t = _checks.number("time_s", time_s)
        n = self.stage.shape[0]
        rows = np.arange(n)
        if self._time is None:
            self.green_since_s[:] = t
            self.last_green_s[:] = t
            started = np.ones(n, dtype=bool)
            self.next_decision_s[:] = t + self.decision_s
        elif t < self._time:
            raise ValueError(f"time_s={t:g} is before the previous step's {self._time:g} s")
        else:
            started = (self.next_stage >= 0) & (t >= self.intergreen_ends_s - 1e-9) & ~self._clearing(counts, t)
            self.stage[started] = self.next_stage[started]
            self.green_since_s[started] = t
            self.next_decision_s[started] = t + self.decision_s
            self.next_stage[started] = -1
        self._time = t
        green = self.next_stage < 0
        self.last_green_s[rows[green], self.stage[green]] = t
        full = self.full_links(counts)
        self._update_fallback(full, t)
        elapsed = t - self.green_since_s
        choice = self.stage.copy()
        overrun = elapsed >= self.policy.max_green_s[rows, self.stage] - 1e-9
        due = green & ~started & ((t >= self.next_decision_s - 1e-9) | overrun)
        self.next_decision_s[due] = t + self.decision_s
        adaptive = due & ~self.on_fallback
        if adaptive.any():
            choice[adaptive] = self._decide(counts, full, elapsed, t)[adaptive]
        planned = green & ~started & self.on_fallback & (elapsed >= self.policy.min_green_s[rows, self.stage] - 1e-9)
        if planned.any():
            choice[planned] = self.plan_stage(t)[planned]
        changing = choice != self.stage
        self.next_stage[changing] = choice[changing]
        self.intergreen_ends_s[changing] = t + self.intergreen_s[rows[changing], self.stage[changing]]
        return StageDecisions(
            self.intersection_ids, t, self.stage.copy(), self.next_stage.copy(), started, changing,
            self.on_fallback.copy(),
        )  # fmt: skip

    def _clearing(self, counts: DetectorCounts, t: float) -> BoolArray:
        """Lights whose intergreen runs on (up to ``max_clearance_s`` past its end) because
        vehicles still stand inside their junction."""
        n = self.stage.shape[0]
        if counts.junction_halting_veh is None or self.guards.max_clearance_s is None:
            return np.zeros(n, dtype=bool)
        inside = float_array("junction_halting_veh", counts.junction_halting_veh, (n,), nonnegative=True)
        return np.asarray((inside > 0) & (t < self.intergreen_ends_s + self.guards.max_clearance_s - 1e-9))

    def _decide(self, counts: DetectorCounts, full: BoolArray | None, elapsed: FloatArray, t: float) -> IntArray:
        """Max-pressure's choice for every light, with the maximum-red guard."""
        queue, moves = self.link_queues(counts), counts.movement_queue_veh
        choice = self.policy.step(
            queue, self.stage, np.maximum(elapsed, 0.0), moves if self.movement_pressure else None, full
        )
        if self.guards.max_red_s is None:
            return choice
        rows = np.arange(choice.shape[0])
        red = t - self.last_green_s
        overdue = self.policy.stage_demand(queue, moves, full)
        overdue &= red >= self.guards.max_red_s - 1e-9
        overdue[rows, self.stage] = False
        force = overdue.any(axis=1) & (elapsed >= self.policy.min_green_s[rows, self.stage] - 1e-9)
        longest = np.where(overdue, red, -np.inf).argmax(axis=1)
        return np.asarray(np.where(force, longest, choice), dtype=np.int32)

    def _update_fallback(self, full: BoolArray | None, t: float) -> None:
        """Switches lights whose exits stayed full to the fallback plan, and back once clear."""
        g = self.guards
        if full is None or self.fallback is None or g.spill_share is None or g.spill_s is None:
            return
        spilling = np.array([full[e].mean() >= g.spill_share for e in self._exits])
        self._spill_since = np.where(spilling, np.fmin(self._spill_since, t), np.nan)
        self._clear_since = np.where(spilling, np.nan, np.fmin(self._clear_since, t))
        enter = ~self.on_fallback & (t - self._spill_since >= g.spill_s - 1e-9)
        leave = self.on_fallback & (t - self._clear_since >= g.spill_s - 1e-9)
        self.on_fallback ^= enter | leave
