"""Linear programs in matrix form, solved by OR-Tools (GLOP or PDLP): the references the exact
energy schedulers are checked against."""

from __future__ import annotations

import time
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

    def solve(self, solver: str, time_limit_s: float, *, deadline: float | None = None) -> LPOutcome:
        """Solves by OR-Tools ``solver`` (``"glop"`` or ``"pdlp"``, PDLP to 1e-9 relative accuracy)
        within ``time_limit_s`` (s), or by ``deadline`` (a ``time.perf_counter()`` instant) if it
        comes first: the caller's set-up counts against its budget. The outcome's ``status`` tells
        an optimum from a proof of infeasibility and from a budget that ran out first."""
        from ortools.linear_solver.python import model_builder_helper as mbh

        if solver not in LP_SOLVERS:
            raise ValueError(f"solver must be one of {LP_SOLVERS}, got {solver!r}")
        if deadline is not None:
            time_limit_s = min(time_limit_s, deadline - time.perf_counter())
        if time_limit_s <= 0:
            return LPOutcome(None, "time_limit")
        model: Any = mbh.ModelBuilderHelper()  # its stub types arrays as ndarray[float64], which numpy's are not
        model.fill_model_from_sparse_data(
            self.col_lower, self.col_upper, self.cost, self.row_lower, self.row_upper, sp.csr_matrix(self.matrix)
        )
        if deadline is not None:
            time_limit_s = min(time_limit_s, deadline - time.perf_counter())
            if time_limit_s <= 0:
                return LPOutcome(None, "time_limit")
        engine = mbh.ModelSolverHelper(solver)
        engine.set_time_limit_in_seconds(time_limit_s)
        if solver == "pdlp":
            engine.set_solver_specific_parameters(
                "termination_criteria { simple_optimality_criteria { eps_optimal_absolute: 1e-9 "
                "eps_optimal_relative: 1e-9 } }"
            )
        engine.solve(model)
        status = engine.status()
        if status == mbh.SolveStatus.OPTIMAL:
            return LPOutcome(np.asarray(engine.variable_values(), dtype=np.float64), "optimal")
        if status in (mbh.SolveStatus.INFEASIBLE, mbh.SolveStatus.UNBOUNDED):
            return LPOutcome(None, "infeasible")
        if status in (mbh.SolveStatus.NOT_SOLVED, mbh.SolveStatus.FEASIBLE, mbh.SolveStatus.UNKNOWN_STATUS):
            return LPOutcome(None, "time_limit")  # stopped by the budget: no answer, and no proof there is none
        return LPOutcome(None, "not_solved")  # the solver gave up (numerical trouble): no proof either


@dataclass(frozen=True, eq=False)
class LPOutcome:
    """A solve's optimal ``z`` (None without one) and ``status``: ``"optimal"``, ``"infeasible"``
    (proven), ``"time_limit"`` (the budget ran out before an optimum) or ``"not_solved"`` (the
    solver stopped on numerical trouble)."""

    z: FloatArray | None
    status: str
