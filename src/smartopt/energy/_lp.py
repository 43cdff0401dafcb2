"""Linear programs in matrix form, solved by OR-Tools (GLOP or PDLP): the references the exact
energy schedulers are checked against."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from smartopt._validation import FloatArray

LP_SOLVERS = ("glop", "pdlp")


@dataclass(frozen=True, eq=False)
class LinearProgram:
    """``min cost @ z`` s.t. ``row_lower <= matrix @ z <= row_upper``, ``col_lower <= z <= col_upper``."""

    cost: FloatArray
    matrix: sp.csr_matrix
    row_lower: FloatArray
    row_upper: FloatArray
    col_lower: FloatArray
    col_upper: FloatArray

    def solve(self, solver: str, time_limit_s: float) -> FloatArray | None:
        """The optimal ``z`` by OR-Tools ``solver`` (``"glop"`` or ``"pdlp"``, PDLP to 1e-9
        relative accuracy) within ``time_limit_s``; None if no optimum was found."""
        from ortools.linear_solver.python import model_builder_helper as mbh

        if solver not in LP_SOLVERS:
            raise ValueError(f"solver must be one of {LP_SOLVERS}, got {solver!r}")
        model: Any = mbh.ModelBuilderHelper()  # its stub types arrays as ndarray[float64], which numpy's are not
        model.fill_model_from_sparse_data(
            self.col_lower, self.col_upper, self.cost, self.row_lower, self.row_upper, sp.csr_matrix(self.matrix)
        )
        engine = mbh.ModelSolverHelper(solver)
        engine.set_time_limit_in_seconds(time_limit_s)
        if solver == "pdlp":
            engine.set_solver_specific_parameters(
                "termination_criteria { simple_optimality_criteria { eps_optimal_absolute: 1e-9 "
                "eps_optimal_relative: 1e-9 } }"
            )
        engine.solve(model)
        if engine.status() != mbh.SolveStatus.OPTIMAL:
            return None
        return np.asarray(engine.variable_values(), dtype=np.float64)
