import numpy as np
import numpy.typing as npt

def nearest_nodes(
    node_xy: npt.NDArray[np.float64], query_xy: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float64]]: ...
