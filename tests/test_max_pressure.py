"""Max-pressure control: stage choice by hand, minimum- and maximum-green guards, input errors; the
controller stepped with hand-made detector counts (decisions in time, intergreens, maximum red,
full exits, the fallback plan)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from smartopt.signals import Intersection, TimingPlan
from smartopt.signals.adaptive import DetectorCounts, MaxPressure, MaxPressureController, PressureGuards


def crossing() -> Intersection:
    """Links 0 (west in), 1 (south in) feed exits 2 (east out) and 3 (north out); stage 0 serves
    west->east, stage 1 south->north; saturation flows 1800 and 1600 veh/h."""
    return Intersection(
        id="X", node=0, approach_link=[0, 1], crossing_length_m=[0.0, 0.0], lane_group_approach=[0, 1],
        lane_group_lanes=[1, 1], saturation_flow_vph=[1800.0, 1600.0], movement_lane_group=[0, 1],
        movement_out_link=[2, 3], movement_turn=["T", "T"], volume_vph=[[300.0, 300.0]],
        stage_movements=([0], [1]), min_green_s=[5.0, 5.0], max_green_s=[60.0, 60.0], yellow_s=[3.0, 3.0],
        all_red_s=[1.0, 1.0], ped_min_green_s=[0.0, 12.0], cycle_min_s=30.0, cycle_max_s=120.0,
    )  # fmt: skip


def test_pressures_by_hand() -> None:
    mp = MaxPressure([crossing()], num_links=4)
    queue = [10.0, 8.0, 4.0, 0.0]
    # stage 0: 1800 * (10 - 4) = 10800; stage 1: 1600 * (8 - 0) = 12800.
    np.testing.assert_allclose(mp.pressures(queue), [[10800.0, 12800.0]])
    assert mp.step(queue, [0], [20.0]).tolist() == [1]


def test_minimum_and_maximum_green_guards() -> None:
    mp = MaxPressure([crossing()], num_links=4)
    queue = [10.0, 8.0, 4.0, 0.0]
    assert mp.step(queue, [0], [3.0]).tolist() == [0]  # under the 5 s minimum: hold
    assert mp.step(queue, [1], [10.0]).tolist() == [1]  # pedestrians need 12 s: hold
    busy_west = [30.0, 1.0, 0.0, 0.0]
    assert mp.step(busy_west, [0], [30.0]).tolist() == [0]  # highest pressure: stay
    assert mp.step(busy_west, [0], [60.0]).tolist() == [1]  # max green reached: change


def test_many_intersections_at_once() -> None:
    a, b = crossing(), crossing()
    mp = MaxPressure([a, b], num_links=4)
    nxt = mp.step([10.0, 8.0, 4.0, 0.0], [0, 1], [20.0, 20.0])
    assert nxt.tolist() == [1, 1]


def test_input_errors() -> None:
    mp = MaxPressure([crossing()], num_links=4)
    with pytest.raises(ValueError, match=r"queue_veh must have shape \(4,\)"):
        mp.step([1.0, 2.0], [0], [1.0])
    with pytest.raises(ValueError, match=r"queue_veh\[1\]=-1.0 must be >= 0"):
        mp.step([1.0, -1.0, 0.0, 0.0], [0], [1.0])
    with pytest.raises(ValueError, match=r"current_stage\[0\]=2 is not a stage"):
        mp.step([1.0, 1.0, 0.0, 0.0], [2], [1.0])
    with pytest.raises(ValueError, match=r"approach links\[0\]=0 is not an index in \[0, 0\)"):
        MaxPressure([crossing()], num_links=0)
    with pytest.raises(ValueError, match="intersections is empty"):
        MaxPressure([], num_links=4)


def test_movement_queues_replace_the_approach_queue() -> None:
    # Varaiya's form: the movement's own queue upstream, the exit link's downstream.
    mp = MaxPressure([crossing(), crossing()], num_links=4)
    assert mp.num_movements == 4
    queue = [10.0, 8.0, 4.0, 0.0]
    moves = [1.0, 8.0, 6.0, 0.0]  # intersection 0: movements 0, 1; intersection 1: movements 2, 3
    # 1800 * (1 - 4), 1600 * (8 - 0); 1800 * (6 - 4), 1600 * (0 - 0).
    np.testing.assert_allclose(mp.pressures(queue, moves), [[-5400.0, 12800.0], [3600.0, 0.0]])
    assert mp.step(queue, [1, 1], [20.0, 20.0], moves).tolist() == [1, 0]
    with pytest.raises(ValueError, match=r"movement_queue_veh must have shape \(4,\)"):
        mp.pressures(queue, [1.0])


def controller(**kwargs: Any) -> MaxPressureController:
    """The crossing under a controller deciding every 5 s; guards off unless given."""
    kwargs.setdefault("guards", PressureGuards.off())
    return MaxPressureController([crossing()], num_links=4, decision_s=5.0, **kwargs)


def run(ctl: MaxPressureController, counts: DetectorCounts, times: range) -> list[tuple[int, int]]:
    """(stage, next stage) after each step at ``times`` (s) with the same counts."""
    out = []
    for t in times:
        shown = ctl.step(counts, float(t))
        out.append((int(shown.stage[0]), int(shown.next_stage[0])))
    return out


def test_controller_decides_every_decision_s_through_the_intergreen() -> None:
    ctl = controller()
    counts = DetectorCounts([10.0, 8.0, 4.0, 0.0])  # stage 1 has the higher pressure
    first = ctl.step(counts, 0.0)
    assert first.intersection_ids == ("X",) and first.started.tolist() == [True] and first.stage.tolist() == [0]
    # No decision before 5 s of green; at 5 s the change starts: 4 s of intergreen (3 yellow + 1 all-red).
    assert run(ctl, counts, range(1, 5)) == [(0, -1)] * 4
    change = ctl.step(counts, 5.0)
    assert change.changing.tolist() == [True] and change.in_green.tolist() == [False]
    assert run(ctl, counts, range(6, 9)) == [(0, 1)] * 3
    green = ctl.step(counts, 9.0)
    assert green.started.tolist() == [True] and (green.stage[0], green.next_stage[0]) == (1, -1)
    # Stage 1 carries pedestrians (12 s minimum): it holds at 5 and 10 s of green even against pressure.
    west = DetectorCounts([30.0, 0.0, 0.0, 0.0])
    assert run(ctl, west, range(10, 21)) == [(1, -1)] * 11
    assert run(ctl, west, range(21, 25)) == [(1, -1)] * 3 + [(1, 0)]  # 15 s of green: change
    assert "1 in intergreen" in repr(ctl.step(west, 25.0))
    with pytest.raises(ValueError, match=r"time_s=3 is before the previous step's 25 s"):
        ctl.step(west, 3.0)
    with pytest.raises(TypeError, match="counts must be DetectorCounts"):
        ctl.step([1.0, 2.0], 30.0)  # type: ignore[arg-type]


def test_controller_decides_on_time_whatever_the_step() -> None:
    """A service steps at its own times: a decision falls due at the first step at least
    ``decision_s`` after the last, and the maximum green ends at the first step past it."""
    ctl = controller()
    counts = DetectorCounts([10.0, 8.0, 4.0, 0.0])  # stage 1 has the higher pressure
    times = [1.3 * k for k in range(6)]  # 0, 1.3, ..., 6.5 s
    shown = [ctl.step(counts, t) for t in times]
    assert [bool(d.changing[0]) for d in shown] == [False, False, False, False, True, False]  # at 5.2 s
    busy_west = DetectorCounts([30.0, 1.0, 0.0, 0.0])  # stage 0 wins every decision
    slow = MaxPressureController([crossing()], num_links=4, decision_s=7.0, guards=PressureGuards.off())
    steps = [(t, slow.step(busy_west, float(t))) for t in range(0, 64)]
    first_change = next(t for t, d in steps if d.changing[0])
    assert first_change == 60  # the 60 s maximum green, not the next decision at 63 s


def test_controller_maximum_green_and_maximum_red() -> None:
    busy_west = DetectorCounts([30.0, 1.0, 0.0, 0.0])  # stage 0's pressure wins every decision
    plain = run(controller(), busy_west, range(0, 61))
    assert plain[59] == (0, -1) and plain[60] == (0, 1)  # 60 s maximum green ends it
    guarded = run(controller(guards=PressureGuards(exit_full=None, max_red_s=30.0)), busy_west, range(0, 61))
    assert guarded[29] == (0, -1) and guarded[30] == (0, 1)  # stage 1 waited 30 s with a queue: served
    no_queue = DetectorCounts([30.0, 0.0, 0.0, 0.0])
    idle = run(controller(guards=PressureGuards(exit_full=None, max_red_s=30.0)), no_queue, range(0, 60))
    assert idle[-1] == (0, -1)  # nobody waits on stage 1: no forced change
    # Lane detectors: stage 1's approach has vehicles, but none for its movement; pressure from
    # the approaches (movement_pressure=False) still keeps stage 0, and no one is overdue.
    lanes = DetectorCounts([30.0, 5.0, 0.0, 0.0], movement_queue_veh=[30.0, 0.0])
    guards = PressureGuards(exit_full=None, max_red_s=30.0)
    by_approach = run(controller(guards=guards, movement_pressure=False), lanes, range(0, 60))
    assert by_approach[-1] == (0, -1)
    waiting = DetectorCounts([1.0, 5.0, 0.0, 0.0], movement_queue_veh=[30.0, 1.0])
    assert run(controller(guards=PressureGuards.off(), movement_pressure=False), waiting, range(0, 6))[-1] == (0, 1)
    assert run(controller(guards=PressureGuards.off()), waiting, range(0, 6))[-1] == (0, -1)  # Varaiya's form


def test_controller_gives_no_pressure_into_a_full_exit() -> None:
    storage = [10.0, 10.0, 10.0, 10.0]
    counts = DetectorCounts([10.0, 2.0, 0.0, 0.0], link_vehicles_veh=[0.0, 0.0, 9.0, 0.0])  # exit 2 is 90 % full
    guards = PressureGuards(exit_full=0.8, max_red_s=None)
    # Stage 0 (1800 x 10) beats stage 1 (1600 x 2) on queues alone; with the guard it sends into a full exit.
    assert run(controller(storage_veh=storage), counts, range(0, 6))[-1] == (0, -1)
    assert run(controller(storage_veh=storage, guards=guards), counts, range(0, 6))[-1] == (0, 1)
    mp = MaxPressure([crossing()], num_links=4)
    np.testing.assert_allclose(mp.pressures(counts.queue_veh, full_link=[False, False, True, False]), [[0.0, 3200.0]])
    assert mp.stage_demand([10.0, 2.0, 0.0, 0.0], full_link=[False, False, True, False]).tolist() == [[False, True]]
    with pytest.raises(ValueError, match=r"full_link must have shape \(4,\)"):
        mp.pressures(counts.queue_veh, full_link=[True])
    with pytest.raises(ValueError, match=r"storage_veh\[1\]=0.0 must be > 0"):
        controller(storage_veh=[1.0, 0.0, 1.0, 1.0])


def test_controller_falls_back_to_the_plan_while_exits_stay_full() -> None:
    plan = TimingPlan(("X",), np.array([50.0]), np.array([[20.0, 22.0]]), np.array([2]), np.array([0.0]))
    guards = PressureGuards(exit_full=0.8, max_red_s=None, spill_share=0.5, spill_s=10.0)
    ctl = controller(storage_veh=[10.0] * 4, guards=guards, fallback=plan)
    # The plan: stage 0 green 0-20 s, intergreen to 24 s, stage 1 green 24-46 s, intergreen to 50 s.
    assert [int(ctl.plan_stage(t)[0]) for t in (0.0, 19.0, 20.0, 23.0, 24.0, 45.0, 46.0, 49.0, 50.0)] == [
        0, 0, 1, 1, 1, 1, 0, 0, 0,
    ]  # fmt: skip
    jammed = DetectorCounts([10.0, 0.0, 0.0, 0.0], link_vehicles_veh=[0.0, 0.0, 9.0, 9.0])  # both exits full
    shown = [ctl.step(jammed, float(t)) for t in range(0, 60)]
    assert [bool(s.fallback[0]) for s in shown].index(True) == 10  # 10 s of spillback
    # On the plan: stage 1's green runs 24-46 s (the jam gives max-pressure no reason to leave stage 0).
    assert all(s.stage[0] == 1 and s.in_green[0] for s in shown[24:46]) and shown[46].changing[0]
    clear = DetectorCounts([10.0, 0.0, 0.0, 0.0])
    after = [ctl.step(clear, float(t)) for t in range(60, 80)]
    assert [bool(s.fallback[0]) for s in after].index(False) == 10  # clear for 10 s: back to max-pressure
    assert ctl.step(clear, 80.0).to_dict()["fallback"] == [False]
    with pytest.raises(ValueError, match="no fallback plan"):
        controller().plan_stage(0.0)
    with pytest.raises(ValueError, match=r"guards.spill_share=1.5 must be <= 1"):
        PressureGuards(spill_share=1.5)
    with pytest.raises(ValueError, match="plan is for intersections"):
        controller(fallback=TimingPlan(("Y",), np.array([50.0]), np.array([[20.0, 22.0]]), np.array([2]), np.zeros(1)))


def test_moving_vehicles_count_at_the_moving_weight() -> None:
    """Queues 2 (west, halting) and 4 (south, halting): stage 1 leads. Eight more vehicles
    moving on the west approach count half each: 2 + 0.5 x 8 = 6, and 1800 x 6 > 1600 x 4."""
    platoon = DetectorCounts([2.0, 4.0, 0.0, 0.0], link_vehicles_veh=[10.0, 4.0, 0.0, 0.0])
    ctl = controller()
    np.testing.assert_allclose(ctl.link_queues(platoon), [6.0, 4.0, 0.0, 0.0])
    assert run(ctl, platoon, range(0, 6))[-1] == (0, -1)  # the platoon keeps stage 0
    halting_only = controller(moving_weight=0.0)
    np.testing.assert_allclose(halting_only.link_queues(platoon), [2.0, 4.0, 0.0, 0.0])
    assert run(halting_only, platoon, range(0, 6))[-1] == (0, 1)  # without it: cut before the platoon
    assert controller(moving_weight=1.0).link_queues(platoon).tolist() == [10.0, 4.0, 0.0, 0.0]
    with pytest.raises(ValueError, match=r"moving_weight=1.5 must be <= 1"):
        controller(moving_weight=1.5)


def test_intergreen_runs_on_while_vehicles_stand_inside_the_junction() -> None:
    """The change at 5 s ends its 4 s intergreen at 9 s; a vehicle standing inside the junction
    holds it on, up to ``max_clearance_s`` (3 s here) past its end."""
    guards = PressureGuards(exit_full=None, max_red_s=None, spill_share=None, spill_s=None, max_clearance_s=3.0)
    stuck = DetectorCounts([10.0, 8.0, 4.0, 0.0], junction_halting_veh=[1.0])
    shown = run(controller(guards=guards), stuck, range(0, 14))
    assert shown[8] == (0, 1) and shown[11] == (0, 1) and shown[12] == (1, -1)  # held 9-12 s
    cleared = DetectorCounts([10.0, 8.0, 4.0, 0.0], junction_halting_veh=[0.0])
    assert run(controller(guards=guards), cleared, range(0, 10))[9] == (1, -1)  # no one inside: at 9 s
    unguarded = run(controller(), stuck, range(0, 10))  # the guard off: the junction is not watched
    assert unguarded[9] == (1, -1)
    with pytest.raises(ValueError, match=r"junction_halting_veh must have shape \(1,\)"):
        run(
            controller(guards=guards),
            DetectorCounts([10.0, 8.0, 4.0, 0.0], junction_halting_veh=[1.0, 0.0]),
            range(0, 10),
        )
    with pytest.raises(ValueError, match=r"guards.max_clearance_s=-1.0 must be >= 0"):
        PressureGuards(max_clearance_s=-1.0)
