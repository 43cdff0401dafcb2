from typing import Never

import numpy as np
import numpy.typing as npt

class Dispatch:
    def __init__(self, *args: Never, **kwargs: Never) -> None: ...  # built by the module's functions only
    @property
    def charge(self) -> npt.NDArray[np.float64]: ...
    @property
    def discharge(self) -> npt.NDArray[np.float64]: ...
    @property
    def soc(self) -> npt.NDArray[np.float64]: ...
    @property
    def feasible(self) -> bool: ...

def dispatch(
    objective: str,
    series: npt.ArrayLike,
    power_kw: float,
    eta_charge: float,
    eta_discharge: float,
    soc_min_kwh: float,
    soc_max_kwh: float,
    soc0_kwh: float,
    soc_final_kwh: float,
    slot_h: float,
) -> Dispatch: ...
