from typing import Any

import numpy as np
import numpy.typing as npt

def solve_assignment(cost: npt.ArrayLike) -> npt.NDArray[np.int64]: ...

class _Fleet:
    @property
    def now(self) -> float: ...
    def add_rides(
        self,
        time_s: npt.ArrayLike,
        origin: npt.ArrayLike,
        destination: npt.ArrayLike,
        passengers: npt.ArrayLike,
        pickup_earliest_s: npt.ArrayLike,
        pickup_latest_s: npt.ArrayLike,
        dropoff_latest_s: npt.ArrayLike,
        max_ride_s: npt.ArrayLike,
    ) -> int: ...
    def place_until(self, until: float, batch_s: float) -> None: ...
    def finish(self) -> None: ...
    def advance(self, now: float) -> None: ...
    def submit(self, id: int) -> tuple[int, float, float, float, int]: ...
    def set_in_service(self, vehicle: int, in_service: bool) -> npt.NDArray[np.int32]: ...
    def update(self, vehicle: int, position: npt.ArrayLike, ready_s: float) -> npt.NDArray[np.int32]: ...
    def records(self) -> dict[str, Any]: ...
    def legs(self) -> dict[str, Any]: ...
    def sessions(self) -> dict[str, Any]: ...
    def events(self, since: int = 0) -> dict[str, Any]: ...
    def vehicles(self) -> dict[str, Any]: ...

class NetworkFleet(_Fleet): ...
class PlaneFleet(_Fleet): ...

class VehicleSpecs:
    def __init__(
        self, seats: npt.ArrayLike, battery_kwh: npt.ArrayLike, kwh_per_km: npt.ArrayLike, soc0: npt.ArrayLike
    ) -> None: ...

class FleetOptions:
    def __init__(
        self, boarding_s: float, reserve: float, charge_below: float, charge_to: float, wait_weight: float
    ) -> None: ...

def network_fleet(
    time_s: npt.ArrayLike,
    distance_m: npt.ArrayLike,
    link_offsets: npt.ArrayLike,
    link_heads: npt.ArrayLike,
    link_time_s: npt.ArrayLike,
    link_length_m: npt.ArrayLike,
    vehicles: VehicleSpecs,
    start: npt.ArrayLike,
    charger_node: npt.ArrayLike,
    charger_kw: npt.ArrayLike,
    options: FleetOptions,
) -> NetworkFleet: ...
def plane_fleet(
    speed_mps: float,
    manhattan: bool,
    vehicles: VehicleSpecs,
    start_xy: npt.ArrayLike,
    charger_xy: npt.ArrayLike,
    charger_kw: npt.ArrayLike,
    options: FleetOptions,
) -> PlaneFleet: ...
