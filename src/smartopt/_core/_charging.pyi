from typing import Any

import numpy.typing as npt

def valley_fill(
    arrival: npt.ArrayLike,
    departure: npt.ArrayLike,
    energy: npt.ArrayLike,
    max_power: npt.ArrayLike,
    base: npt.ArrayLike,
    slot_class: npt.ArrayLike,
    slot_capacity: npt.ArrayLike,
) -> dict[str, Any]: ...
def max_served(
    arrival: npt.ArrayLike,
    departure: npt.ArrayLike,
    energy: npt.ArrayLike,
    max_power: npt.ArrayLike,
    base: npt.ArrayLike,
    slot_capacity: npt.ArrayLike,
) -> dict[str, Any]: ...
