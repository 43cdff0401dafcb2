from typing import Never

import numpy as np
import numpy.typing as npt

class Scenario:
    def __init__(self, *args: Never, **kwargs: Never) -> None: ...  # built by the module's functions only

class Totals:
    def __init__(self, *args: Never, **kwargs: Never) -> None: ...  # built by the module's functions only
    @property
    def delay_veh_s(self) -> float: ...
    @property
    def stops_veh(self) -> float: ...
    @property
    def entered_veh(self) -> float: ...
    @property
    def exited_veh(self) -> float: ...
    @property
    def origin_queue_veh(self) -> float: ...

class LinkStats:
    def __init__(self, *args: Never, **kwargs: Never) -> None: ...  # built by the module's functions only
    @property
    def delay_veh_s(self) -> npt.NDArray[np.float64]: ...
    @property
    def stops_veh(self) -> npt.NDArray[np.float64]: ...
    @property
    def queue_veh_s(self) -> npt.NDArray[np.float64]: ...
    @property
    def max_queue_veh(self) -> npt.NDArray[np.float64]: ...
    @property
    def entered_veh(self) -> npt.NDArray[np.float64]: ...

def make_scenario(
    free_flow_s: npt.ArrayLike,
    storage_veh: npt.ArrayLike,
    move_in: npt.ArrayLike,
    move_out: npt.ArrayLike,
    move_node: npt.ArrayLike,
    move_stages: npt.ArrayLike,
    n_signals: int,
    max_stages: int,
    entry_vps: npt.ArrayLike,
    move_share: npt.ArrayLike,
    saturation_vps: npt.ArrayLike,
    dt_s: float,
    dispersion_alpha: float,
    travel_beta: float,
) -> Scenario: ...
def simulate_fixed(
    scenario: Scenario,
    cycle_s: npt.ArrayLike,
    offset_s: npt.ArrayLike,
    window_start_s: npt.ArrayLike,
    window_end_s: npt.ArrayLike,
    n_steps: int,
) -> tuple[Totals, LinkStats]: ...
def score_plans(
    scenario: Scenario,
    cycle_s: npt.ArrayLike,
    offset_s: npt.ArrayLike,
    window_start_s: npt.ArrayLike,
    window_end_s: npt.ArrayLike,
    n_steps: int,
    stop_penalty_s: float,
    n_threads: int,
    time_limit_s: float = ...,
) -> npt.NDArray[np.float64]: ...

class Stepper:
    def __init__(self, scenario: Scenario) -> None: ...
    def step(self, green_share: npt.ArrayLike, n_steps: int) -> None: ...
    def link_queues(self) -> npt.NDArray[np.float64]: ...
    def movement_queues(self) -> npt.NDArray[np.float64]: ...
    @property
    def time_s(self) -> float: ...
    def totals(self) -> Totals: ...
    def link_stats(self) -> LinkStats: ...
