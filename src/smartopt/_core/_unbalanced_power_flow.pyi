from typing import Never

import numpy as np
import numpy.typing as npt

class PhaseFlows:
    def __init__(self, *args: Never, **kwargs: Never) -> None: ...  # built by the module's functions only
    @property
    def v(self) -> npt.NDArray[np.complex128]: ...
    @property
    def i_from(self) -> npt.NDArray[np.complex128]: ...
    @property
    def i_to(self) -> npt.NDArray[np.complex128]: ...
    @property
    def slack_kva(self) -> npt.NDArray[np.complex128]: ...
    @property
    def iterations(self) -> npt.NDArray[np.int32]: ...
    @property
    def converged(self) -> npt.NDArray[np.bool_]: ...

class SequenceFeeder:
    def __init__(self, *args: Never, **kwargs: Never) -> None: ...  # built by the module's functions only
    @property
    def num_buses(self) -> int: ...

def make_feeder(
    bus: npt.ArrayLike,
    parent: npt.ArrayLike,
    branch: npt.ArrayLike,
    flipped: npt.ArrayLike,
    a: npt.ArrayLike,
    b: npt.ArrayLike,
    c: npt.ArrayLike,
    d: npt.ArrayLike,
    v_slack: complex,
    z0_source: complex,
    z2_source: complex,
    base_kva: float,
    breakpoint_leaf: npt.ArrayLike = ...,
    breakpoint_bus: npt.ArrayLike = ...,
    loop_admittance: npt.ArrayLike = ...,
    loop_voltage: npt.ArrayLike | None = None,
) -> SequenceFeeder: ...
def solve(
    feeder: SequenceFeeder,
    pos: npt.ArrayLike,
    delta: npt.ArrayLike,
    p_kw: npt.ArrayLike,
    q_kvar: npt.ArrayLike,
    tol_pu: float,
    max_iterations: int,
    lane_length: int,
    n_threads: int,
) -> PhaseFlows: ...
