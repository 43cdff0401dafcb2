"""Adaptive control: max-pressure (Varaiya 2013) as a real-time step function for many intersections."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from smartopt._validation import FloatArray, IntArray, count_array, float_array, index_array
from smartopt.signals import _checks
from smartopt.signals.model import Intersection


class MaxPressure:
    """Max-pressure control of ``intersections`` on a network of ``num_links`` road links.

    The pressure of a stage is the sum over its movements of saturation flow (veh/h) times the
    queue on the movement's approach link minus the queue on its exit link (veh). Where queues are
    known per movement (a traffic model, lane detectors), the movement's own queue replaces its
    approach link's (Varaiya's form), so a turn with no one waiting does not borrow the queue of
    the movements beside it.

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

    def pressures(self, queue_veh: npt.ArrayLike, movement_queue_veh: npt.ArrayLike | None = None) -> FloatArray:
        """Stage pressures, shape ``(n_intersections, max_stages)``; ``-inf`` for absent stages.
        ``queue_veh`` per link; ``movement_queue_veh``, if known, per movement of the
        intersections in order."""
        q = float_array("queue_veh", queue_veh, (self.num_links,), nonnegative=True)
        if movement_queue_veh is None:
            upstream = q[self._in]
        else:
            mq = float_array("movement_queue_veh", movement_queue_veh, (self.num_movements,), nonnegative=True)
            upstream = mq[self._flat]
        diff = upstream - q[self._out]  # (n, K); padded movements have zero weight
        p = np.einsum("nsk,nk->ns", self._weight, diff)
        absent = np.arange(p.shape[1])[None, :] >= self.num_stages[:, None]
        return np.asarray(np.where(absent, -np.inf, p))

    def step(
        self,
        queue_veh: npt.ArrayLike,
        current_stage: npt.ArrayLike,
        green_elapsed_s: npt.ArrayLike,
        movement_queue_veh: npt.ArrayLike | None = None,
    ) -> IntArray:
        """The stage each intersection should show next, given queues (veh per link, and per
        movement if known: see :meth:`pressures`), the stage now green and how long it has been
        green (s)."""
        n = self.num_stages.shape[0]
        current = count_array("current_stage", current_stage, (n,))
        if (current >= self.num_stages).any():
            i = int(np.flatnonzero(current >= self.num_stages)[0])
            raise ValueError(f"current_stage[{i}]={current[i]} is not a stage of intersection {i}")
        elapsed = float_array("green_elapsed_s", green_elapsed_s, (n,), nonnegative=True)
        p = self.pressures(queue_veh, movement_queue_veh)
        rows = np.arange(n)
        hold = elapsed < self.min_green_s[rows, current]
        must_change = elapsed >= self.max_green_s[rows, current]
        p_change = p.copy()
        p_change[rows, current] = -np.inf
        best = np.where(must_change & (self.num_stages > 1), p_change.argmax(axis=1), p.argmax(axis=1))
        # Keep the current stage when it ties with the best.
        keep = ~must_change & (p[rows, current] >= p[rows, best])
        return np.asarray(np.where(hold | keep, current, best), dtype=np.int32)


class StageClock:
    """Runs a :class:`MaxPressure` controller in time: every ``decision_s`` seconds of green each
    intersection keeps or changes its stage; a change first shows the intergreen (yellow plus
    all-red, s) of the stage that ends, then the next stage's green. Drives both the smartopt
    traffic model and SUMO (through TraCI)."""

    def __init__(self, controller: MaxPressure, intersections: Sequence[Intersection], decision_s: float) -> None:
        self.controller = controller
        self.decision_s = float(float_array("decision_s", [decision_s], positive=True)[0])
        n = len(intersections)
        s_max = int(controller.num_stages.max())
        self.intergreen_s = np.zeros((n, s_max))
        for i, x in enumerate(intersections):
            self.intergreen_s[i, : len(x.stage_movements)] = x.yellow_s + x.all_red_s
        self._links = [np.unique(np.r_[controller._in[i], controller._out[i]]) for i in range(n)]
        self.stage = np.zeros(n, dtype=np.int32)
        self.green_since_s = np.zeros(n)
        self.next_stage = np.full(n, -1, dtype=np.int32)  # >= 0 while an intergreen runs
        self.intergreen_ends_s = np.zeros(n)

    @property
    def in_green(self) -> npt.NDArray[np.bool_]:
        """Intersections that show a stage's green now (the others run an intergreen)."""
        return np.asarray(self.next_stage < 0)

    def advance(
        self,
        t_s: float,
        queue_veh: Callable[[IntArray], FloatArray],
        movement_queue_veh: Callable[[], FloatArray] | None = None,
    ) -> tuple[IntArray, IntArray]:
        """Moves the clock to ``t_s``: ends the intergreens that are over and takes the decisions
        that fall due, reading queues (veh per link) from ``queue_veh(links)``, which must fill at
        least ``links``, and per movement from ``movement_queue_veh()`` if given. Returns the
        intersections whose green starts and whose intergreen starts."""
        ending = np.flatnonzero((self.next_stage >= 0) & (t_s >= self.intergreen_ends_s - 1e-9))
        self.stage[ending] = self.next_stage[ending]
        self.green_since_s[ending] = t_s
        self.next_stage[ending] = -1
        elapsed = t_s - self.green_since_s
        ratio = elapsed / self.decision_s
        due = self.in_green & (ratio >= 1 - 1e-9) & (np.abs(ratio - np.round(ratio)) < 1e-9)
        due[ending] = False
        if not due.any():
            return ending, np.zeros(0, dtype=np.int64)
        queue = queue_veh(np.unique(np.concatenate([self._links[i] for i in np.flatnonzero(due)])))
        moves = None if movement_queue_veh is None else movement_queue_veh()
        choice = self.controller.step(queue, self.stage, np.maximum(elapsed, 0.0), moves)
        changing = np.flatnonzero(due & (choice != self.stage))
        self.next_stage[changing] = choice[changing]
        self.intergreen_ends_s[changing] = t_s + self.intergreen_s[changing, self.stage[changing]]
        return ending, changing
