"""Max-pressure control: stage choice by hand, minimum- and maximum-green guards, input errors."""

from __future__ import annotations

import numpy as np
import pytest

from smartopt.signals import Intersection
from smartopt.signals.adaptive import MaxPressure


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
