"""A macroscopic traffic model of a signalised network, in C++: platoons travel each link in
free-flow time with TRANSYT's (Robertson) platoon dispersion, queue per movement at the stop line,
discharge at saturation flow while their stage is green and the next link has room (links hold
``length x lanes / jam spacing`` vehicles, so queues spill back). Simulated in steps of ``dt_s``.

:meth:`TrafficModel.simulate` runs a fixed-time :class:`TimingPlan`;
:meth:`TrafficModel.simulate_max_pressure` runs :class:`MaxPressureController` inside the model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from smartopt._serialise import ToDict
from smartopt._validation import FloatArray, IntArray, assign_frozen, float_array, index_array
from smartopt.network import Assignment, RoadNetwork
from smartopt.signals import _checks
from smartopt.signals.model import MAX_FLOW_VPH, MAX_TIME_S, Intersection, _bounded
from smartopt.signals.timing import TimingPlan, match_plan

MIN_DT_S = 0.01
"""Shortest step (s) of :class:`TrafficModel`."""
MAX_DT_S = 60.0
"""Longest step (s) of :class:`TrafficModel`; a plan also needs at least :data:`STEPS_PER_CYCLE`
steps in every signal's cycle."""
STEPS_PER_CYCLE = 10
"""Fewest steps of ``dt_s`` per cycle: a coarser step would smear the greens the model is meant to
resolve."""
MAX_STEPS = 10_000_000
"""Most steps of one simulation (``duration_s / dt_s``): about 116 days at 1 s."""

if TYPE_CHECKING:
    import pandas as pd

    from smartopt._core import _traffic
    from smartopt.signals.adaptive import PressureGuards


@dataclass(frozen=True, eq=False)
class TrafficDemand(ToDict):
    """Demand for :class:`TrafficModel`: vehicles entering each link from outside (veh/h, one value
    per network link) and the flows turning from one link into the next (veh/h). A link's
    arrivals that turn nowhere leave the network at its end."""

    entry_vph: FloatArray
    turn_in_link: IntArray
    turn_out_link: IntArray
    turn_vph: FloatArray

    def __post_init__(self) -> None:
        entry = _bounded("entry_vph", float_array("entry_vph", self.entry_vph, (None,), nonnegative=True),
                         MAX_FLOW_VPH, "veh/h")  # fmt: skip
        n = entry.shape[0]
        k = np.asarray(self.turn_in_link).shape[0] if np.ndim(self.turn_in_link) == 1 else -1
        values: dict[str, Any] = {
            "entry_vph": entry,
            "turn_in_link": index_array("turn_in_link", self.turn_in_link, n, (k,)),
            "turn_out_link": index_array("turn_out_link", self.turn_out_link, n, (k,)),
            "turn_vph": _bounded(
                "turn_vph", float_array("turn_vph", self.turn_vph, (k,), nonnegative=True), MAX_FLOW_VPH, "veh/h"
            ),
        }
        assign_frozen(self, values)

    @classmethod
    def from_assignment(cls, assignment: Assignment) -> TrafficDemand:
        """The demand of an assignment: turning flows as assigned, entries where a link carries
        more than flows into it from other links."""
        inflow = np.bincount(
            assignment.turn_out_link, assignment.turn_flow_vph, minlength=assignment.link_flow_vph.shape[0]
        )
        entry = np.maximum(assignment.link_flow_vph - inflow, 0.0)
        return cls(entry, assignment.turn_in_link, assignment.turn_out_link, assignment.turn_flow_vph)

    @property
    def num_links(self) -> int:
        """Number of the network's links the demand is given for."""
        return int(self.entry_vph.shape[0])

    def link_inflow_vph(self) -> FloatArray:
        """Vehicles entering each link, from outside or from other links (veh/h)."""
        return np.asarray(self.entry_vph + np.bincount(self.turn_out_link, self.turn_vph, minlength=self.num_links))

    def __repr__(self) -> str:
        return (
            f"TrafficDemand({self.num_links} links, {self.entry_vph.sum():.0f} veh/h entering, "
            f"{int((self.turn_vph > 0).sum())} turns used)"
        )


@dataclass(frozen=True, eq=False)
class TrafficResult(ToDict):
    """Per link: delay (veh h: queueing at the stop line plus waiting to enter the network there),
    stops (veh), mean and largest stop-line queue (veh) and vehicles that entered; and the totals
    of the run (``duration_s`` of simulated time)."""

    link_ids: npt.NDArray[np.str_]
    duration_s: float
    delay_veh_h: FloatArray
    stops_veh: FloatArray
    mean_queue_veh: FloatArray
    max_queue_veh: FloatArray
    entered_veh: FloatArray
    total_delay_veh_h: float
    total_stops_veh: float
    vehicles_in: float
    vehicles_out: float
    waiting_to_enter_veh: float

    def objective_veh_h(self, stop_penalty_s: float) -> float:
        """Delay plus ``stop_penalty_s`` per stop (veh h), TRANSYT's performance index."""
        return self.total_delay_veh_h + stop_penalty_s * self.total_stops_veh / 3600.0

    def to_frame(self) -> pd.DataFrame:
        """One row per link."""
        import pandas as pd

        return pd.DataFrame(
            {"link": self.link_ids, "delay_veh_h": self.delay_veh_h, "stops_veh": self.stops_veh,
             "mean_queue_veh": self.mean_queue_veh, "max_queue_veh": self.max_queue_veh,
             "entered_veh": self.entered_veh}
        )  # fmt: skip

    def __repr__(self) -> str:
        return (
            f"TrafficResult({self.duration_s:g} s: delay {self.total_delay_veh_h:.1f} veh h, "
            f"{self.total_stops_veh:.0f} stops, {self.vehicles_in:.0f} veh in, {self.vehicles_out:.0f} out)"
        )


class TrafficModel:
    """The traffic model of ``network`` with its signalised ``intersections`` (at most one per
    node; a joined light holds several nodes; their links index ``network``). Movements at other
    nodes are every network turn, uncontrolled, with the in-link's capacity; at a signal's nodes
    they are its movements and its uncontrolled turns. A movement's saturation flow is its lane
    group's (its link's when uncontrolled), shared among the movements of the group in
    proportion to their demand. Every intersection's signalised movements come first, in
    intersection order.

    Parameters: ``dt_s`` the step (s); ``jam_spacing_m`` road length per stored vehicle and lane;
    ``dispersion`` and ``travel_factor`` TRANSYT's platoon-dispersion alpha and beta; a stage
    discharges from ``start_lost_s`` after its green starts until ``yellow_used_s`` into its
    yellow (HCM's effective green)."""

    def __init__(
        self,
        network: RoadNetwork,
        intersections: Sequence[Intersection],
        *,
        dt_s: float = 1.0,
        jam_spacing_m: float = 7.5,
        dispersion: float = 0.35,
        travel_factor: float = 0.8,
        start_lost_s: float = 2.0,
        yellow_used_s: float = 2.0,
    ) -> None:
        if not isinstance(network, RoadNetwork):
            raise TypeError(f"network must be a RoadNetwork, got {type(network).__name__}")
        if isinstance(intersections, Intersection | str | bytes) or not isinstance(intersections, Sequence):
            raise TypeError(f"intersections must be a sequence of Intersection, got {type(intersections).__name__}")
        for i, x in enumerate(intersections):
            if not isinstance(x, Intersection):
                raise TypeError(f"intersections[{i}] must be an Intersection, got {type(x).__name__}")
        self.network = network
        self.intersections = tuple(intersections)
        self.dt_s = _checks.number("dt_s", dt_s, minimum=MIN_DT_S, maximum=MAX_DT_S)
        spacing = _checks.number("jam_spacing_m", jam_spacing_m, minimum=1.0, maximum=1000.0)
        self.dispersion = _checks.number("dispersion", dispersion, minimum=0.0, maximum=100.0)
        self.travel_factor = _checks.number("travel_factor", travel_factor, minimum=0.0, maximum=1.0)
        if self.travel_factor == 0:
            raise ValueError(f"travel_factor={self.travel_factor} must be in (0, 1]")
        self.start_lost_s = _checks.number("start_lost_s", start_lost_s, minimum=0.0, maximum=MAX_TIME_S)
        self.yellow_used_s = _checks.number("yellow_used_s", yellow_used_s, minimum=0.0, maximum=MAX_TIME_S)
        n_links = network.num_links
        signal_of_node = np.full(network.num_nodes, -1)
        move_in: list[npt.NDArray[np.integer[Any]]] = []
        move_out: list[npt.NDArray[np.integer[Any]]] = []
        move_node, move_stages, move_group = [], [], []
        free_in, free_out = [], []
        for i, x in enumerate(self.intersections):
            far = x.nodes[x.nodes >= network.num_nodes]
            if far.size:
                raise ValueError(f"intersection {x.id}: node {int(far[0])} is not a node of the network")
            taken = x.nodes[signal_of_node[x.nodes] >= 0]
            if taken.size:
                other = self.intersections[signal_of_node[taken[0]]].id
                raise ValueError(f"intersections {other} and {x.id} share node {str(network.node_ids[taken[0]])!r}")
            signal_of_node[x.nodes] = i
            approach = index_array(f"intersection {x.id}: approach_link", x.approach_link, n_links)
            out = index_array(f"intersection {x.id}: movement_out_link", x.movement_out_link, n_links)
            f_in = index_array(f"intersection {x.id}: uncontrolled_in_link", x.uncontrolled_in_link, n_links)
            f_out = index_array(f"intersection {x.id}: uncontrolled_out_link", x.uncontrolled_out_link, n_links)
            for name, links, ends in (
                ("approach", approach, network.link_head), ("exit", out, network.link_tail),
                ("uncontrolled in", f_in, network.link_head), ("uncontrolled out", f_out, network.link_tail),
            ):  # fmt: skip
                off = links[~np.isin(ends[links], x.nodes)]
                if off.size:
                    raise ValueError(
                        f"intersection {x.id}: {name} link {str(network.link_ids[off[0]])!r} does not meet "
                        f"its node(s) {[str(v) for v in network.node_ids[x.nodes]]}"
                    )
            free_in.append(f_in)
            free_out.append(f_out)
            if len(x.stage_movements) > 64:
                raise ValueError(f"intersection {x.id}: more than 64 stages")
            stages = np.zeros(out.shape[0], dtype=np.uint64)
            for s, moves in enumerate(x.stage_movements):
                stages[moves] |= np.uint64(1 << s)
            move_in.append(approach[x.lane_group_approach[x.movement_lane_group]])
            move_out.append(out)
            move_node.append(np.full(out.shape[0], i))
            move_stages.append(stages)
            move_group.append(x.movement_lane_group)
        turn_in, turn_out = network.turns
        free = signal_of_node[network.link_head[turn_in]] < 0
        move_in += [turn_in[free], *free_in]
        move_out += [turn_out[free], *free_out]
        n_free = int(free.sum()) + sum(f.shape[0] for f in free_in)
        move_node.append(np.full(n_free, -1))
        move_stages.append(np.zeros(n_free, dtype=np.uint64))
        self._signal_of_node = signal_of_node
        self.move_in = np.concatenate(move_in).astype(np.int32)
        self.move_out = np.concatenate(move_out).astype(np.int32)
        self.move_node = np.concatenate(move_node).astype(np.int32)
        self.move_stages = np.concatenate(move_stages).astype(np.uint64)
        self._move_group = move_group  # lane group of each signalised movement, per intersection
        self._index = {(int(a), int(b)): m for m, (a, b) in enumerate(zip(self.move_in, self.move_out, strict=True))}
        if len(self._index) != self.move_in.shape[0]:
            raise ValueError("an intersection lists a movement (in-link, out-link) twice, or also as uncontrolled")
        self.free_flow_s = network.link_time_s
        with np.errstate(over="ignore"):
            self.storage_veh = network.link_length_m * network.link_lanes.astype(np.float64) / spacing
        if not np.isfinite(self.storage_veh).all():
            k = int(np.argmax(~np.isfinite(self.storage_veh)))
            raise ValueError(f"link {str(network.link_ids[k])!r}: length_m x lanes / jam_spacing_m is not finite")
        self.max_stages = max((len(x.stage_movements) for x in self.intersections), default=0)

    @property
    def num_movements(self) -> int:
        """Number of movements across all intersections."""
        return int(self.move_in.shape[0])

    def __repr__(self) -> str:
        return (
            f"TrafficModel({self.network.num_links} links, {len(self.intersections)} signals, "
            f"{self.num_movements} movements, dt {self.dt_s:g} s)"
        )

    # -- building blocks ------------------------------------------------------------------------

    def scenario(self, demand: TrafficDemand) -> _traffic.Scenario:
        """The compiled model loaded with ``demand`` (checked: turns must be movements of the model,
        and no link may send on more than it receives)."""
        from smartopt._core import _traffic

        if not isinstance(demand, TrafficDemand):
            raise TypeError(f"demand must be a TrafficDemand, got {type(demand).__name__}")
        if demand.num_links != self.network.num_links:
            raise ValueError(f"demand has {demand.num_links} links, the network {self.network.num_links}")
        move_vph = np.zeros(self.num_movements)
        ids = self.network.link_ids.tolist()
        for a, b, v in zip(demand.turn_in_link, demand.turn_out_link, demand.turn_vph, strict=True):
            m = self._index.get((int(a), int(b)))
            if m is None:
                if v > 0:
                    raise ValueError(self._unserved(int(a), int(b)))
                continue
            move_vph[m] += v
        inflow = demand.link_inflow_vph()
        outflow = np.bincount(self.move_in, move_vph, minlength=self.network.num_links)
        over = outflow > inflow * (1 + 1e-6) + 1e-6
        if over.any():
            k = int(np.flatnonzero(over)[0])
            raise ValueError(
                f"demand: link {ids[k]!r} sends {outflow[k]:.1f} veh/h onward but receives only {inflow[k]:.1f} veh/h"
            )
        share = np.divide(
            move_vph, inflow[self.move_in], out=np.zeros(self.num_movements), where=inflow[self.move_in] > 0
        )
        return _traffic.make_scenario(
            self.free_flow_s, self.storage_veh, self.move_in, self.move_out, self.move_node, self.move_stages,
            len(self.intersections), self.max_stages, demand.entry_vph / 3600.0, np.minimum(share, 1.0),
            self._saturation_vph(move_vph) / 3600.0, self.dt_s, self.dispersion, self.travel_factor,
        )  # fmt: skip

    def _unserved(self, a: int, b: int) -> str:
        """Why the turn from link ``a`` into link ``b`` is not a movement, naming ids."""
        net = self.network
        turn = f"demand turns from link {str(net.link_ids[a])!r} into {str(net.link_ids[b])!r}"
        node = int(net.link_head[a])
        if node != net.link_tail[b]:
            return f"{turn}, which do not meet (the first ends at node {str(net.node_ids[node])!r})"
        signal = self.intersections[self._signal_of_node[node]].id
        where = f"at junction {str(net.node_ids[node])!r} of traffic light {signal!r}"
        return f"{turn} {where}, which none of its phases serves"

    def _saturation_vph(self, move_vph: FloatArray) -> FloatArray:
        """Each movement's share of its lane group's (or uncontrolled link's) saturation flow."""
        sat = np.zeros(self.num_movements)
        start = 0
        for x, group in zip(self.intersections, self._move_group, strict=True):
            k = group.shape[0]
            v = move_vph[start : start + k]
            n_groups = x.saturation_flow_vph.shape[0]
            group_v = np.bincount(group, v, minlength=n_groups)
            group_n = np.bincount(group, minlength=n_groups)
            share = np.where(
                group_v[group] > 0, v / np.where(group_v[group] > 0, group_v[group], 1.0), 1.0 / group_n[group]
            )
            sat[start : start + k] = x.saturation_flow_vph[group] * share
            start += k
        free = np.arange(start, self.num_movements)
        link = self.move_in[free]
        link_v = np.bincount(link, move_vph[free], minlength=self.network.num_links)
        link_n = np.bincount(link, minlength=self.network.num_links)
        v = move_vph[free]
        share = np.where(link_v[link] > 0, v / np.where(link_v[link] > 0, link_v[link], 1.0), 1.0 / link_n[link])
        sat[free] = self.network.link_capacity_vph[link] * share
        return sat

    def windows(self, plan: TimingPlan) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        """The plan as the compiled model takes it: cycle (s), offset (s) and each stage's
        discharge window (start, end; s from cycle start), shape ``(n_signals, max_stages)``."""
        if not isinstance(plan, TimingPlan):
            raise TypeError(f"plan must be a TimingPlan, got {type(plan).__name__}")
        if not self.intersections:
            if plan.intersection_ids:
                raise ValueError(f"plan is for intersections {plan.intersection_ids[:3]}..., the model has none")
            return np.zeros(0), np.zeros(0), np.zeros((0, 0)), np.zeros((0, 0))
        plan = match_plan(self.intersections, plan)
        coarse = plan.cycle_s < STEPS_PER_CYCLE * self.dt_s
        if coarse.any():
            i = int(np.argmax(coarse))
            raise ValueError(
                f"dt_s={self.dt_s:g} s is too coarse for intersection {plan.intersection_ids[i]}'s cycle of "
                f"{plan.cycle_s[i]:g} s: the model needs at least {STEPS_PER_CYCLE} steps per cycle "
                f"(dt_s <= {plan.cycle_s[i] / STEPS_PER_CYCLE:g} s)"
            )
        n = len(plan.intersection_ids)
        start = np.zeros((n, self.max_stages))
        end = np.zeros((n, self.max_stages))
        for i, x in enumerate(self.intersections):
            ns = len(x.stage_movements)
            green = plan.green_s[i, :ns]
            begin = np.concatenate([[0.0], np.cumsum(green + x.yellow_s + x.all_red_s)[:-1]])
            effective = np.clip(green - self.start_lost_s + np.minimum(self.yellow_used_s, x.yellow_s), 0.0, None)
            start[i, :ns] = begin + np.minimum(self.start_lost_s, green)
            end[i, :ns] = start[i, :ns] + np.minimum(effective, plan.cycle_s[i])
        return plan.cycle_s, plan.offset_s, start, end

    def _steps(self, duration_s: float) -> int:
        d = _checks.number("duration_s", duration_s, minimum=0.0, exclusive_minimum=True)
        steps = max(1, round(d / self.dt_s))
        if steps > MAX_STEPS:
            raise ValueError(
                f"duration_s={d:g} s at dt_s={self.dt_s:g} s needs {d / self.dt_s:.4g} steps; "
                f"at most {MAX_STEPS} are allowed"
            )
        return steps

    def _result(self, totals: _traffic.Totals, links: _traffic.LinkStats, steps: int) -> TrafficResult:
        duration = steps * self.dt_s
        return TrafficResult(
            link_ids=self.network.link_ids, duration_s=duration, delay_veh_h=links.delay_veh_s / 3600.0,
            stops_veh=links.stops_veh, mean_queue_veh=links.queue_veh_s / duration,
            max_queue_veh=links.max_queue_veh, entered_veh=links.entered_veh,
            total_delay_veh_h=totals.delay_veh_s / 3600.0, total_stops_veh=totals.stops_veh,
            vehicles_in=totals.entered_veh, vehicles_out=totals.exited_veh,
            waiting_to_enter_veh=totals.origin_queue_veh,
        )  # fmt: skip

    # -- runs ----------------------------------------------------------------------------------

    def simulate(self, plan: TimingPlan, demand: TrafficDemand, duration_s: float = 3600.0) -> TrafficResult:
        """Runs the fixed-time ``plan`` (offsets on a common clock from t = 0) with constant
        ``demand`` for ``duration_s``, starting from an empty network."""
        from smartopt._core import _traffic

        steps = self._steps(duration_s)
        totals, links = _traffic.simulate_fixed(self.scenario(demand), *self.windows(plan), steps)
        return self._result(totals, links, steps)

    def simulate_max_pressure(
        self,
        demand: TrafficDemand,
        duration_s: float = 3600.0,
        *,
        decision_s: float = 5.0,
        guards: PressureGuards | None = None,
        fallback: TimingPlan | None = None,
    ) -> TrafficResult:
        """Runs :class:`MaxPressureController` inside the model: decisions every ``decision_s`` of
        green from the movement queues at the stop lines and the queues on the exit links, each
        change through the ending stage's intergreen; ``guards`` (default: on) judge exits full
        from their queues against the links' storage, and send lights to the ``fallback`` plan."""
        from smartopt._core import _traffic
        from smartopt.signals.adaptive import DetectorCounts, MaxPressureController

        steps = self._steps(duration_s)
        controller = MaxPressureController(
            self.intersections, self.network.num_links, decision_s=decision_s, storage_veh=self.storage_veh,
            guards=guards, fallback=fallback,
        )  # fmt: skip
        sim = _traffic.Stepper(self.scenario(demand))
        share = np.zeros((len(self.intersections), self.max_stages))
        rows = np.arange(len(self.intersections))
        n_signal_moves = controller.policy.num_movements  # the model lists signalised movements first
        for k in range(steps):
            counts = DetectorCounts(sim.link_queues(), sim.movement_queues()[:n_signal_moves])
            shown = controller.step(counts, k * self.dt_s)
            share[:] = 0.0
            share[rows, shown.stage] = shown.in_green
            sim.step(share, 1)
        return self._result(sim.totals(), sim.link_stats(), steps)
