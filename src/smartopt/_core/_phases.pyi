from typing import Never

import numpy as np
import numpy.typing as npt

class Assignment:
    def __init__(self, *args: Never, **kwargs: Never) -> None: ...  # built by the module's functions only
    @property
    def phase(self) -> npt.NDArray[np.int8]: ...
    @property
    def worst_kw(self) -> float: ...
    @property
    def sum_sq(self) -> float: ...
    @property
    def evaluations(self) -> int: ...

def evaluate(profile: npt.ArrayLike, phase: npt.ArrayLike, neutral: bool = False) -> Assignment: ...
def greedy(profile: npt.ArrayLike, neutral: bool = False) -> Assignment: ...
def improve(
    profile: npt.ArrayLike,
    start: npt.ArrayLike,
    seed: int,
    max_kicks: int,
    time_limit_s: float,
    max_iterations: int = -1,
    neutral: bool = False,
) -> Assignment: ...
