"""Linear sum assignment (vehicle-request matching), exact, by the C++ Jonker-Volgenant solver."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from smartopt._core import _dispatch
from smartopt._validation import bool_flag


def linear_sum_assignment(
    cost_matrix: Any, maximize: bool = False
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """The least-cost (or with ``maximize``, greatest) matching of rows to columns, every row or every
    column matched, whichever is fewer; ``inf`` entries (``-inf`` when maximising) are forbidden.

    Same signature and return convention as ``scipy.optimize.linear_sum_assignment``: ``(row_ind,
    col_ind)`` with ``row_ind`` increasing, ``cost_matrix[row_ind, col_ind].sum()`` the optimum.
    Raises ValueError for a non-matrix, NaN entries, or when the forbidden pairs leave no assignment.
    """
    maximize = bool_flag("maximize", maximize)
    cost = np.asarray(cost_matrix)
    if cost.dtype == object:
        raise TypeError("cost_matrix must be numeric, got an object array")
    if cost.ndim != 2:
        raise ValueError(f"expected a matrix (2-D array), got a {cost.ndim}-D array")
    if not (np.issubdtype(cost.dtype, np.integer) or np.issubdtype(cost.dtype, np.floating) or cost.dtype == bool):
        raise ValueError(f"expected a matrix containing real numbers, got {cost.dtype}")
    cost = cost.astype(np.float64)
    if maximize:
        cost = -cost
    transposed = cost.shape[0] > cost.shape[1]
    if transposed:
        cost = cost.T
    cols = _dispatch.solve_assignment(np.ascontiguousarray(cost)).astype(np.intp)
    rows = np.arange(cols.shape[0], dtype=np.intp)
    if not transposed:
        return rows, cols
    order = np.argsort(cols)
    return cols[order], rows[order]
