from typing import Any

import numpy.typing as npt

class Feeder:
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
    base_kva: float,
) -> Feeder: ...
def solve(
    feeder: Feeder,
    load_pos: npt.ArrayLike,
    load_p_kw: npt.ArrayLike,
    load_q_kvar: npt.ArrayLike,
    gen_pos: npt.ArrayLike,
    gen_p_kw: npt.ArrayLike,
    gen_q_kvar: npt.ArrayLike,
    tol_pu: float,
    max_iter: int,
    lane_length: int,
    n_threads: int,
) -> dict[str, Any]: ...
