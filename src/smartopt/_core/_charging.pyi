from typing import Never

import numpy as np
import numpy.typing as npt

class Schedule:
    def __init__(self, *args: Never, **kwargs: Never) -> None: ...  # built by the module's functions only
    @property
    def power(self) -> npt.NDArray[np.float64]: ...
    @property
    def served(self) -> npt.NDArray[np.float64]: ...
    @property
    def max_flows(self) -> int: ...
    @property
    def bottleneck(self) -> npt.NDArray[np.bool_]: ...

def valley_fill(
    arrival: npt.ArrayLike,
    departure: npt.ArrayLike,
    energy: npt.ArrayLike,
    max_power: npt.ArrayLike,
    base: npt.ArrayLike,
    slot_class: npt.ArrayLike,
    slot_capacity: npt.ArrayLike,
) -> Schedule: ...
def max_served(
    arrival: npt.ArrayLike,
    departure: npt.ArrayLike,
    energy: npt.ArrayLike,
    max_power: npt.ArrayLike,
    base: npt.ArrayLike,
    slot_capacity: npt.ArrayLike,
) -> Schedule: ...
