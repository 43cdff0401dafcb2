"""Arterial green waves: MAXBAND (Little, Kelson & Gartner 1981) as a MILP solved with OR-Tools, and
a direct bandwidth measure for any set of offsets.

Time inside the model is in cycles. At signal ``i`` the outbound red lasts ``r_i`` and is centred at
``theta_i``; the inbound red lasts ``rr_i`` and is centred at ``theta_i + delta_i``. The outbound
band (width ``b``) leaves the end of red after ``w_i``; the inbound band (width ``bb``) ends ``ww_i``
before its next red. Going round the loop between signals ``i`` and ``i+1`` eliminates the
offsets and leaves one integer per pair:

``(w_i + ww_i) - (w_j + ww_j) + (t_i + tt_i) + (r_i + rr_i)/2 - (r_j + rr_j)/2 - delta_i + delta_j = m_i``

with ``j = i + 1``, travel times ``t_i`` (outbound) and ``tt_i`` (inbound) within the speed range,
``w_i + b <= 1 - r_i`` and ``ww_i + bb <= 1 - rr_i``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from smartopt._validation import FloatArray, float_array


@dataclass(frozen=True)
class GreenWave:
    """A two-way green wave: per signal the offset (s) of the start of its outbound green on a
    common clock (signal 0 at 0), the bandwidths (s) each way, the design travel times (s)
    between consecutive signals, and the solver status and runtime (s)."""

    offset_s: FloatArray
    bandwidth_out_s: float
    bandwidth_in_s: float
    travel_time_out_s: FloatArray
    travel_time_in_s: FloatArray
    status: str
    runtime_s: float


def _check_corridor(
    position_m: npt.ArrayLike, red_out_s: npt.ArrayLike, red_in_s: npt.ArrayLike, cycle_s: float
) -> tuple[FloatArray, FloatArray, FloatArray, float]:
    pos = float_array("position_m", position_m, (None,))
    n = pos.shape[0]
    if n < 2:
        raise ValueError(f"position_m needs at least two signals, got {n}")
    if (np.diff(pos) <= 0).any():
        raise ValueError(f"position_m must increase along the arterial; index {int(np.argmin(np.diff(pos))) + 1}")
    cycle = float(float_array("cycle_s", [cycle_s], positive=True)[0])
    r_out = float_array("red_out_s", red_out_s, (n,), nonnegative=True)
    r_in = float_array("red_in_s", red_in_s, (n,), nonnegative=True)
    for name, red in (("red_out_s", r_out), ("red_in_s", r_in)):
        if (red >= cycle).any():
            raise ValueError(f"{name}[{int(np.argmax(red >= cycle))}] must be shorter than the cycle ({cycle:g} s)")
    return pos, r_out, r_in, cycle


def maxband(
    position_m: npt.ArrayLike,
    red_out_s: npt.ArrayLike,
    red_in_s: npt.ArrayLike,
    cycle_s: float,
    speed_mps: tuple[float, float],
    *,
    red_shift_s: npt.ArrayLike | None = None,
    ratio: float = 1.0,
    time_limit: float = 10.0,
    seed: int = 0,
) -> GreenWave:
    """Offsets and design speeds that maximise ``b + ratio * bb``, the outbound and inbound
    bandwidths, along an arterial (MAXBAND with a common cycle and given splits).

    ``position_m``: signals along the arterial (m, increasing, outbound direction); ``red_out_s`` /
    ``red_in_s``: effective red (s) each way; ``speed_mps``: (slowest, fastest) design speed;
    ``red_shift_s``: time (s) from the centre of the outbound red to the centre of the inbound red
    at each signal (0 when both directions stop together); ``ratio``: the weight of the inbound
    band, with ``bb >= ratio * b`` enforced when ``ratio < 1`` and ``b >= bb / ratio`` when ``> 1``
    (Little's target ratio). Solved with OR-Tools (SCIP) within ``time_limit`` seconds.
    """
    from ortools.linear_solver import pywraplp

    pos, r_out, r_in, cycle = _check_corridor(position_m, red_out_s, red_in_s, cycle_s)
    n = pos.shape[0]
    v_lo, v_hi = (float(v) for v in float_array("speed_mps", speed_mps, (2,), positive=True))
    if v_lo > v_hi:
        raise ValueError(f"speed_mps must be (slowest, fastest), got ({v_lo}, {v_hi})")
    shift = np.zeros(n) if red_shift_s is None else float_array("red_shift_s", red_shift_s, (n,))
    k = float(float_array("ratio", [ratio], positive=True)[0])
    limit = float(float_array("time_limit", [time_limit], positive=True)[0])

    r, rr, delta = r_out / cycle, r_in / cycle, shift / cycle
    gap = np.diff(pos)
    t_lo, t_hi = gap / (v_hi * cycle), gap / (v_lo * cycle)

    solver = pywraplp.Solver.CreateSolver("SCIP")
    solver.SetTimeLimit(int(limit * 1000))
    solver.SetSolverSpecificParametersAsString(f"randomization/randomseedshift = {int(seed)}\n")
    b, bb = solver.NumVar(0, 1, "b"), solver.NumVar(0, 1, "bb")
    w = [solver.NumVar(0, 1, f"w{i}") for i in range(n)]
    ww = [solver.NumVar(0, 1, f"ww{i}") for i in range(n)]
    t = [solver.NumVar(t_lo[i], t_hi[i], f"t{i}") for i in range(n - 1)]
    tt = [solver.NumVar(t_lo[i], t_hi[i], f"tt{i}") for i in range(n - 1)]
    m_max = math.ceil(2 * t_hi.max() + 4)
    m = [solver.IntVar(-m_max, m_max, f"m{i}") for i in range(n - 1)]
    for i in range(n):
        solver.Add(w[i] + b <= 1 - r[i])
        solver.Add(ww[i] + bb <= 1 - rr[i])
    for i in range(n - 1):
        j = i + 1
        const = (r[i] + rr[i]) / 2 - (r[j] + rr[j]) / 2 - delta[i] + delta[j]
        solver.Add(w[i] + ww[i] - w[j] - ww[j] + t[i] + tt[i] + const == m[i])
    if k < 1:
        solver.Add(bb >= k * b)
    elif k > 1:
        solver.Add(b >= bb / k)
    solver.Maximize(b + k * bb)
    started = time.perf_counter()
    code = solver.Solve()
    runtime = time.perf_counter() - started
    status = {pywraplp.Solver.OPTIMAL: "optimal", pywraplp.Solver.FEASIBLE: "feasible"}.get(code, "not solved")
    if status == "not solved":
        raise RuntimeError(f"MAXBAND was not solved within {limit:g} s (solver status {code})")

    wv = np.array([x.solution_value() for x in w])
    tv = np.array([x.solution_value() for x in t])
    # Outbound green starts at theta_i + r_i / 2; the band's left edge there is that plus w_i, and
    # it reaches signal i+1 after t_i: theta_j = theta_i + r_i/2 + w_i + t_i - r_j/2 - w_j.
    green_start = np.zeros(n)
    for i in range(n - 1):
        green_start[i + 1] = green_start[i] + wv[i] + tv[i] - wv[i + 1]
    return GreenWave(
        offset_s=np.mod(green_start, 1.0) * cycle,
        bandwidth_out_s=b.solution_value() * cycle,
        bandwidth_in_s=bb.solution_value() * cycle,
        travel_time_out_s=tv * cycle,
        travel_time_in_s=np.array([x.solution_value() for x in tt]) * cycle,
        status=status,
        runtime_s=runtime,
    )


def bandwidths(
    position_m: npt.ArrayLike,
    red_out_s: npt.ArrayLike,
    red_in_s: npt.ArrayLike,
    cycle_s: float,
    offset_s: npt.ArrayLike,
    speed_mps: float,
    *,
    red_shift_s: npt.ArrayLike | None = None,
    resolution: int = 20_000,
) -> tuple[float, float]:
    """Outbound and inbound bandwidths (s) of given offsets (start of each signal's outbound
    green, s) at one speed, measured directly on a grid of ``resolution`` instants per cycle."""
    pos, r_out, r_in, cycle = _check_corridor(position_m, red_out_s, red_in_s, cycle_s)
    n = pos.shape[0]
    offset = float_array("offset_s", offset_s, (n,))
    shift = np.zeros(n) if red_shift_s is None else float_array("red_shift_s", red_shift_s, (n,))
    speed = float(float_array("speed_mps", [speed_mps], positive=True)[0])
    instants = np.arange(resolution) * cycle / resolution
    # Red centres: outbound at offset - r/2, inbound shifted by red_shift.
    centre_out = offset - r_out / 2
    centre_in = centre_out + shift

    def band(arrive: FloatArray, centre: FloatArray, red: FloatArray) -> float:
        # arrive[k, i]: time the vehicle leaving at instants[k] reaches signal i.
        phase = np.mod(arrive - centre[None, :] + cycle / 2, cycle) - cycle / 2  # from the red centre
        green_all = np.asarray((np.abs(phase) >= red[None, :] / 2).all(axis=1))
        return _longest_circular_run(green_all) * cycle / resolution

    travel = (pos - pos[0]) / speed
    out = band(instants[:, None] + travel[None, :], centre_out, r_out)
    back = (pos[-1] - pos) / speed
    inbound = band(instants[:, None] + back[None, :], centre_in, r_in)
    return out, inbound


def _longest_circular_run(flags: npt.NDArray[np.bool_]) -> int:
    """Length of the longest run of True in a circular array."""
    if flags.all():
        return int(flags.size)
    start = int(np.argmin(flags))  # rotate so the array starts at a False
    rolled = np.roll(flags, -start).astype(np.int8)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], rolled, [0]])))
    runs = edges[1::2] - edges[::2]
    return int(runs.max()) if runs.size else 0
