import enum
from typing import Any, ClassVar, Never

import numpy as np
import numpy.typing as npt

from smartopt._core._network import ContractionHierarchy

class RideStatus(enum.IntEnum):
    __pybind11_native_enum__: ClassVar[object]  # pybind11's marker (a capsule), not a member
    PENDING = 0
    ASSIGNED = 1
    ON_BOARD = 2
    DELIVERED = 3
    REJECTED = 4

class Rejection(enum.IntEnum):
    __pybind11_native_enum__: ClassVar[object]  # pybind11's marker (a capsule), not a member
    NONE = 0
    NO_VEHICLE = 1
    BATTERY = 2

class StopKind(enum.IntEnum):
    __pybind11_native_enum__: ClassVar[object]  # pybind11's marker (a capsule), not a member
    PICKUP = 0
    DROPOFF = 1
    CHARGE = 2
    REPOSITION = 3

def choose_trips(
    vehicle: npt.ArrayLike,
    ride_offsets: npt.ArrayLike,
    rides: npt.ArrayLike,
    cost: npt.ArrayLike,
    exact_steps: int,
    reassigned: npt.ArrayLike = (),
    reassigned_from: npt.ArrayLike = (),
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.bool_]]: ...
def solve_assignment(cost: npt.ArrayLike) -> npt.NDArray[np.int64]: ...

class _Fleet:
    def __init__(self, *args: Never, **kwargs: Never) -> None: ...  # built by the module's functions only
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
    def close_day(self, day_s: float) -> None: ...
    def next_day_as(self) -> npt.NDArray[np.int32]: ...
    def advance(self, now: float) -> None: ...
    def submit(self, id: int) -> tuple[int, float, float, float, Rejection]: ...
    def pool_trips(
        self,
        ids: npt.ArrayLike,
        max_trip: int,
        per_request: int,
        per_vehicle: int,
        trips_per_size: int,
        exact_steps: int,
        threads: int,
        reassign: bool = False,
    ) -> dict[str, npt.NDArray[Any]]: ...
    def assign_plans(
        self, vehicles: npt.ArrayLike, offsets: npt.ArrayLike, rides: npt.ArrayLike, pickup: npt.ArrayLike
    ) -> npt.NDArray[np.bool_]: ...
    def rebalance_toward(
        self, ids: npt.ArrayLike, per_request: int
    ) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32]]: ...
    def reject(self, id: int, battery: bool) -> None: ...
    def set_in_service(self, vehicle: int, in_service: bool) -> npt.NDArray[np.int32]: ...
    def update(self, vehicle: int, position: npt.ArrayLike, ready_s: float) -> npt.NDArray[np.int32]: ...
    def reposition(self, vehicle: int, to: npt.ArrayLike) -> bool: ...
    # The tables are structured arrays, one row per item; their fields are in each docstring.
    def records(self) -> npt.NDArray[np.void]: ...
    def legs(self) -> npt.NDArray[np.void]: ...
    def sessions(self) -> npt.NDArray[np.void]: ...
    def events(self, since: int = 0) -> npt.NDArray[np.void]: ...
    def vehicles(self) -> npt.NDArray[np.void]: ...
    def plans(self) -> npt.NDArray[np.void]: ...
    def replace_plans(
        self, vehicles: npt.ArrayLike, offsets: npt.ArrayLike, rides: npt.ArrayLike, pickup: npt.ArrayLike
    ) -> tuple[float, float]: ...

class NetworkSpaceArgs:
    def __init__(
        self,
        time_s: npt.ArrayLike,
        distance_m: npt.ArrayLike,
        link_offsets: npt.ArrayLike,
        link_heads: npt.ArrayLike,
        link_time_s: npt.ArrayLike,
        link_length_m: npt.ArrayLike,
    ) -> None: ...
    @staticmethod
    def from_hierarchy(hierarchy: ContractionHierarchy, cache_spaces: int) -> NetworkSpaceArgs: ...
    def bound_by(self, node_xy: npt.ArrayLike, max_speed_mps: float) -> None: ...

class NetworkFleet(_Fleet):
    def set_space(self, space: NetworkSpaceArgs) -> npt.NDArray[np.int32]: ...

class PlaneFleet(_Fleet):
    def set_space(self, space: tuple[float, bool]) -> npt.NDArray[np.int32]: ...

class VehicleSpecs:
    def __init__(
        self, seats: npt.ArrayLike, battery_kwh: npt.ArrayLike, kwh_per_km: npt.ArrayLike, soc0: npt.ArrayLike
    ) -> None: ...

class ChargerPower:
    def __init__(self, kw: npt.ArrayLike, slot_s: float) -> None: ...
    def energy_kwh(self, charger: int, from_s: float, to_s: float) -> float: ...
    def end_of_charge(self, charger: int, start_s: float, kwh: float) -> float: ...

class FleetOptions:
    def __init__(
        self,
        boarding_s: float,
        reserve: float,
        charge_below: float,
        charge_to: float,
        wait_weight: float,
        delay_weight: float,
    ) -> None: ...

def network_fleet(
    space: NetworkSpaceArgs,
    vehicles: VehicleSpecs,
    start: npt.ArrayLike,
    charger_node: npt.ArrayLike,
    charger_power: ChargerPower,
    options: FleetOptions,
) -> NetworkFleet: ...
def plane_fleet(
    speed_mps: float,
    manhattan: bool,
    vehicles: VehicleSpecs,
    start_xy: npt.ArrayLike,
    charger_xy: npt.ArrayLike,
    charger_power: ChargerPower,
    options: FleetOptions,
) -> PlaneFleet: ...
