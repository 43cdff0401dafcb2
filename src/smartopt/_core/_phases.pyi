from typing import Any

import numpy.typing as npt

def evaluate(profile: npt.ArrayLike, phase: npt.ArrayLike) -> dict[str, Any]: ...
def greedy(profile: npt.ArrayLike) -> dict[str, Any]: ...
def improve(
    profile: npt.ArrayLike,
    start: npt.ArrayLike,
    seed: int,
    max_kicks: int,
    time_limit_s: float,
    max_evaluations: int = -1,
) -> dict[str, Any]: ...
