from typing import Any

import numpy.typing as npt

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
) -> dict[str, Any]: ...
