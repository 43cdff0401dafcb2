import numpy as np
import numpy.typing as npt

class Graph:
    def __init__(self, n_nodes: int, tail: npt.ArrayLike, head: npt.ArrayLike) -> None: ...
    @property
    def num_nodes(self) -> int: ...
    @property
    def num_links(self) -> int: ...
    def csr(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int32]]: ...
    def turns(self) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32]]: ...

def cost_matrix(
    graph: Graph,
    weights: npt.ArrayLike,
    sources: npt.ArrayLike,
    targets: npt.ArrayLike,
    n_threads: int,
) -> npt.NDArray[np.float64]: ...
def shortest_path_tree(
    graph: Graph, weights: npt.ArrayLike, source: int, target: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int32]]: ...
def assign_all_or_nothing(
    graph: Graph,
    weights: npt.ArrayLike,
    origins: npt.ArrayLike,
    destinations: npt.ArrayLike,
    demand: npt.ArrayLike,
    n_threads: int,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], float]: ...
