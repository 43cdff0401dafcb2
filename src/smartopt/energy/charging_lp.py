"""EV charging as a linear program: the reference formulation the exact solver is tested and
benchmarked against (OR-Tools GLOP or PDLP here; the benchmarks also hand it to HiGHS)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from smartopt._validation import FloatArray, IntArray
from smartopt.energy._lp import LinearProgram


@dataclass(frozen=True, eq=False)
class ChargingLP:
    """The charging LP ``program``: ``z`` holds one charging power (kW) per EV and slot of its
    window, EV by EV, slot by slot (``edge_ev``, ``edge_slot``), then, for ``"min_peak"``, the peak
    (kW). Rows: one energy balance per EV (kW-slots), then one row per slot (load minus peak for
    ``"min_peak"``, load under the capacity otherwise)."""

    program: LinearProgram
    edge_ev: IntArray
    edge_slot: IntArray

    def power_kw(self, z: FloatArray, n_ev: int, n_slots: int) -> FloatArray:
        """The ``(n_ev, T)`` schedule in a solution ``z``."""
        out = np.zeros((n_ev, n_slots))
        out[self.edge_ev, self.edge_slot] = z[: self.edge_ev.size]
        return out


def charging_lp(
    arrival: IntArray,
    departure: IntArray,
    energy_kw_slots: FloatArray,
    max_kw: FloatArray,
    base_load_kw: FloatArray,
    objective: str,
    price: FloatArray | None,
    ev_capacity_kw: FloatArray,
) -> ChargingLP:
    """The LP of validated sessions: ``objective`` is ``"min_peak"`` or ``"cost"`` (per-slot ``price``);
    ``ev_capacity_kw`` (T,) is the room left for EVs in each slot (may be inf)."""
    n, t = arrival.size, base_load_kw.size
    lengths = (departure - arrival).astype(np.int64)
    edge_ev = np.repeat(np.arange(n, dtype=np.int32), lengths)
    starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
    edge_slot = (np.repeat(arrival, lengths) + (np.arange(edge_ev.size) - starts)).astype(np.int32)
    m = edge_ev.size
    peak = objective == "min_peak"
    cost: FloatArray
    rows = np.concatenate([edge_ev, n + edge_slot])
    cols = np.concatenate([np.arange(m), np.arange(m)])
    vals = np.ones(2 * m)
    if peak:
        rows = np.concatenate([rows, n + np.arange(t)])
        cols = np.concatenate([cols, np.full(t, m)])
        vals = np.concatenate([vals, -np.ones(t)])
    matrix = sp.csr_matrix((vals, (rows, cols)), shape=(n + t, m + int(peak)))
    if peak:
        cost = np.zeros(m + 1)
        cost[m] = 1.0
        slot_upper = -base_load_kw
        col_upper = np.concatenate([max_kw[edge_ev], [np.min(base_load_kw + ev_capacity_kw)]])
        col_lower = np.concatenate([np.zeros(m), [-np.inf]])
    else:
        assert price is not None
        cost = price[edge_slot]
        slot_upper = ev_capacity_kw
        col_upper = max_kw[edge_ev]
        col_lower = np.zeros(m)
    program = LinearProgram(
        cost=cost,
        matrix=matrix,
        row_lower=np.concatenate([energy_kw_slots, np.full(t, -np.inf)]),
        row_upper=np.concatenate([energy_kw_slots, slot_upper]),
        col_lower=col_lower,
        col_upper=col_upper,
    )
    return ChargingLP(
        program=program,
        edge_ev=edge_ev,
        edge_slot=edge_slot,
    )
