"""Linear programs in matrix form, solved by OR-Tools (GLOP or PDLP): the references the exact
energy schedulers are checked against."""

from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from smartopt._validation import FloatArray

LP_SOLVERS = ("glop", "pdlp")


class _FillRate:
    """How long OR-Tools takes to fill a model (s per nonzero): the median of the last few fills of
    large models on this machine, twice over, so that a fill that cannot end by the deadline is not
    started (it holds the GIL and nothing interrupts it); one fill slowed by a busy moment does not
    stop the next ones."""

    def __init__(self, s_per_nonzero: float) -> None:
        self.recent = [s_per_nonzero]

    def predict_s(self, nonzeros: int) -> float:
        return 2.0 * float(np.median(self.recent)) * nonzeros

    def record(self, nonzeros: int, seconds: float) -> None:
        if nonzeros >= 100_000:  # smaller fills time mostly overhead
            self.recent = [*self.recent[-4:], seconds / nonzeros]


_fill_rate = _FillRate(1e-7)


@dataclass(frozen=True, eq=False)
class LinearProgram:
    """``min cost @ z`` s.t. ``row_lower <= matrix @ z <= row_upper``, ``col_lower <= z <= col_upper``."""

    cost: FloatArray
    matrix: sp.csr_matrix
    row_lower: FloatArray
    row_upper: FloatArray
    col_lower: FloatArray
    col_upper: FloatArray

    def solve(self, solver: str, deadline: float) -> LPOutcome:
        """Solves by OR-Tools ``solver`` (``"glop"`` or ``"pdlp"``, PDLP to 1e-9 relative accuracy)
        by ``deadline`` (a ``time.perf_counter()`` instant; ``math.inf``: none), so that the
        caller's set-up counts against its budget. The outcome's ``status`` tells an optimum from a
        proof of infeasibility and from a budget that ran out first."""
        from ortools.linear_solver.python import model_builder_helper as mbh

        if solver not in LP_SOLVERS:
            raise ValueError(f"solver must be one of {LP_SOLVERS}, got {solver!r}")
        if deadline <= time.perf_counter():
            return LPOutcome(None, "time_limit")
        matrix = sp.csr_matrix(self.matrix)
        if time.perf_counter() + _fill_rate.predict_s(matrix.nnz) >= deadline:
            return LPOutcome(None, "time_limit")
        model: Any = mbh.ModelBuilderHelper()  # its stub types arrays as ndarray[float64], which numpy's are not
        filling = time.perf_counter()
        model.fill_model_from_sparse_data(  # holds the GIL and cannot be interrupted
            self.col_lower, self.col_upper, self.cost, self.row_lower, self.row_upper, matrix
        )
        _fill_rate.record(matrix.nnz, time.perf_counter() - filling)
        engine = mbh.ModelSolverHelper(solver)
        if solver == "pdlp":
            engine.set_solver_specific_parameters(
                "termination_criteria { simple_optimality_criteria { eps_optimal_absolute: 1e-9 "
                "eps_optimal_relative: 1e-9 } }"
            )
        if math.isinf(deadline):
            engine.solve(model)
        elif not _solved_by(engine, model, deadline):
            return LPOutcome(None, "time_limit")
        status = engine.status()
        if status == mbh.SolveStatus.OPTIMAL:
            return LPOutcome(np.asarray(engine.variable_values(), dtype=np.float64), "optimal")
        if status in (mbh.SolveStatus.INFEASIBLE, mbh.SolveStatus.UNBOUNDED):
            return LPOutcome(None, "infeasible")
        if status in (mbh.SolveStatus.NOT_SOLVED, mbh.SolveStatus.FEASIBLE, mbh.SolveStatus.UNKNOWN_STATUS):
            return LPOutcome(None, "time_limit")  # stopped by the budget: no answer, and no proof there is none
        return LPOutcome(None, "not_solved")  # the solver gave up (numerical trouble): no proof either


def _solved_by(engine: Any, model: Any, deadline: float) -> bool:
    """Solves on a worker thread with the time left to ``deadline``; False if the time is up first
    (or still going then: the solve is asked to stop and left to finish on its own). OR-Tools hands
    the model over before the solver's clock starts, and nothing interrupts that (about a second on
    a 5-million-nonzero LP; PDLP ignores ``interrupt_solve``); it releases the GIL meanwhile."""
    left_s = deadline - time.perf_counter()
    if left_s <= 0:
        return False
    engine.set_time_limit_in_seconds(left_s)
    pool = ThreadPoolExecutor(1, thread_name_prefix="smartopt-lp")
    running = pool.submit(engine.solve, model)
    pool.shutdown(wait=False)
    try:
        running.result(timeout=max(deadline - time.perf_counter(), 0.0))
    except TimeoutError:
        engine.interrupt_solve()
        return False
    except BaseException:  # e.g. Ctrl-C while waiting: the solve is not left running
        engine.interrupt_solve()
        raise
    return True


@dataclass(frozen=True, eq=False)
class LPOutcome:
    """A solve's optimal ``z`` (None without one) and ``status``: ``"optimal"``, ``"infeasible"``
    (proven), ``"time_limit"`` (the budget ran out before an optimum) or ``"not_solved"`` (the
    solver stopped on numerical trouble)."""

    z: FloatArray | None
    status: str
