from collections.abc import Callable
from typing import Any

import numpy.typing as npt

def solve(
    distance: npt.ArrayLike,
    duration: npt.ArrayLike,
    locations: dict[str, Any],
    types: dict[str, Any],
    time_limit_s: float,
    max_iterations: int,
    seed: int,
    num_neighbours: int,
    warm_vehicle: npt.ArrayLike,
    warm_visits: list[Any],
    warm_locked: npt.ArrayLike,
    progress: Callable[[int, float, float], object] | None = None,
) -> dict[str, Any]: ...
def evaluate(
    distance: npt.ArrayLike,
    duration: npt.ArrayLike,
    locations: dict[str, Any],
    types: dict[str, Any],
    vehicle: npt.ArrayLike,
    visits: list[Any],
) -> list[dict[str, Any]]: ...
