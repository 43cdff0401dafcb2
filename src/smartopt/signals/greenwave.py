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
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from smartopt._serialise import ToDict
from smartopt._validation import FloatArray, float_array
from smartopt.signals import _checks
from smartopt.signals.model import Intersection

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from smartopt.network.road import RoadNetwork

MAX_NODES = 10_000
"""Default branch-and-bound node budget of :func:`maxband` (a deterministic limit)."""
MAX_RESOLUTION = 1_000_000
"""Most departure instants per cycle :func:`bandwidths` may sample (its work is signals x resolution)."""
MAX_TRAVEL_CYCLES = 1000
"""Most cycles a platoon may take between two signals in :func:`maxband` (bounds its integer variables)."""


@dataclass(frozen=True)
class GreenWave(ToDict):
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

    def __repr__(self) -> str:
        return (
            f"GreenWave({self.offset_s.size} signals, {self.status}: bands {self.bandwidth_out_s:.1f} s out, "
            f"{self.bandwidth_in_s:.1f} s in, {self.runtime_s:.2f} s)"
        )


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
    ratio: float | None = None,
    time_limit_s: float | None = None,
    max_iterations: int | None = MAX_NODES,
    seed: int = 0,
) -> GreenWave:
    """Offsets and design speeds that maximise ``b + bb``, the outbound and inbound bandwidths,
    along an arterial (MAXBAND with a common cycle and given splits).

    ``position_m``: signals along the arterial (m, increasing, outbound direction); ``red_out_s`` /
    ``red_in_s``: effective red (s) each way; ``speed_mps``: (slowest, fastest) design speed;
    ``red_shift_s``: time (s) from the centre of the outbound red to the centre of the inbound red
    at each signal (0 when both directions stop together); ``ratio``: when given, the bands keep
    ``bb = ratio * b`` (e.g. the ratio of inbound to outbound through volumes; 1 for equal bands),
    otherwise only their sum counts. Solved with OR-Tools (SCIP, one thread) to optimality, or
    until ``max_iterations`` branch-and-bound nodes (default :data:`MAX_NODES`; None: no limit) or
    ``time_limit_s`` seconds of the whole call (default: none) run out, whichever comes first; ``seed`` sets SCIP's
    random seed. Without a time limit the wave is the same for a seed on any machine (corridors of
    40 signals take about a hundred nodes). ``status`` is ``"feasible"`` when a limit stopped SCIP
    before it proved the bands optimal, and ``"time_limit"`` when a limit (time or nodes) stopped it
    before any bands were found: offsets all 0, bandwidths and travel times NaN.
    """
    started = time.perf_counter()  # the time limit and runtime_s count the set-up too
    from ortools.linear_solver import pywraplp

    pos, r_out, r_in, cycle = _check_corridor(position_m, red_out_s, red_in_s, cycle_s)
    n = pos.shape[0]
    v_lo, v_hi = (float(v) for v in float_array("speed_mps", speed_mps, (2,), positive=True))
    if v_lo > v_hi:
        raise ValueError(f"speed_mps must be (slowest, fastest), got ({v_lo}, {v_hi})")
    shift = np.zeros(n) if red_shift_s is None else float_array("red_shift_s", red_shift_s, (n,))
    k = None if ratio is None else float(float_array("ratio", [ratio], positive=True)[0])
    limit = (
        None
        if time_limit_s is None
        else _checks.number("time_limit_s", time_limit_s, minimum=0.0, exclusive_minimum=True)
    )
    if max_iterations is not None:
        max_iterations = _checks.integer("max_iterations", max_iterations, minimum=1, maximum=2**31 - 1)
    seed = _checks.integer("seed", seed, minimum=0, maximum=2**31 - 1)

    r, rr, delta = r_out / cycle, r_in / cycle, shift / cycle
    gap = np.diff(pos)
    t_lo, t_hi = gap / (v_hi * cycle), gap / (v_lo * cycle)
    if n > 1 and not t_hi.max() <= MAX_TRAVEL_CYCLES:
        raise ValueError(
            f"speed_mps=({v_lo:g}, {v_hi:g}): at the slowest speed a platoon needs {t_hi.max():.3g} cycles between "
            f"two signals; at most {MAX_TRAVEL_CYCLES} are allowed"
        )

    solver = pywraplp.Solver.CreateSolver("SCIP")
    params = f"randomization/randomseedshift = {int(seed)}\n"
    if max_iterations is not None:
        params += f"limits/nodes = {int(max_iterations)}\n"
    if not solver.SetSolverSpecificParametersAsString(params):
        raise RuntimeError(f"SCIP refused the parameters {params!r}")
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
    if k is not None:
        solver.Add(bb == k * b)
    solver.Maximize(b + bb)
    if limit is not None:
        solver.SetTimeLimit(max(1, math.floor(1000 * (limit - (time.perf_counter() - started)))))
    code = solver.Solve()
    runtime = time.perf_counter() - started
    status = {pywraplp.Solver.OPTIMAL: "optimal", pywraplp.Solver.FEASIBLE: "feasible"}.get(code, "")
    if not status:  # no bands: the budget ran out first (or, never seen, the bounds leave none)
        none = np.full(n - 1, np.nan)
        return GreenWave(
            offset_s=np.zeros(n),
            bandwidth_out_s=math.nan,
            bandwidth_in_s=math.nan,
            travel_time_out_s=none,
            travel_time_in_s=none,
            status="infeasible" if code == pywraplp.Solver.INFEASIBLE else "time_limit",
            runtime_s=runtime,
        )

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


def _green_departures(
    r_out: FloatArray, r_in: FloatArray, shift: FloatArray, green_start: FloatArray, cycle: float,
    time_out: FloatArray, time_in: FloatArray, resolution: int,
) -> tuple[FloatArray, npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:  # fmt: skip
    """Departure instants over one cycle, and whether a vehicle leaving then meets only greens
    outbound (leaving the first signal) and inbound (leaving the last); ``time_out``/``time_in``
    are the travel times (s) between consecutive signals each way."""
    instants = np.arange(resolution) * cycle / resolution
    centre_out = green_start - r_out / 2
    result = []
    arrive_out = np.concatenate([[0.0], np.cumsum(time_out)])
    arrive_in = np.concatenate([np.cumsum(time_in[::-1])[::-1], [0.0]])
    for travel, centre, red in ((arrive_out, centre_out, r_out), (arrive_in, centre_out + shift, r_in)):
        arrive = instants[:, None] + travel[None, :]
        phase = np.mod(arrive - centre[None, :] + cycle / 2, cycle) - cycle / 2  # from the red centre
        result.append(np.asarray((np.abs(phase) >= red[None, :] / 2).all(axis=1)))
    return instants, result[0], result[1]


def bandwidths(
    position_m: npt.ArrayLike,
    red_out_s: npt.ArrayLike,
    red_in_s: npt.ArrayLike,
    cycle_s: float,
    offset_s: npt.ArrayLike,
    speed_mps: npt.ArrayLike,
    *,
    speed_in_mps: npt.ArrayLike | None = None,
    red_shift_s: npt.ArrayLike | None = None,
    resolution: int = 20_000,
) -> tuple[float, float]:
    """Outbound and inbound bandwidths (s) of given offsets (start of each signal's outbound
    green, s), measured directly on a grid of ``resolution`` departure instants per cycle.
    ``speed_mps`` is one speed or one per gap between signals; inbound speeds default to it."""
    pos, r_out, r_in, cycle = _check_corridor(position_m, red_out_s, red_in_s, cycle_s)
    n = pos.shape[0]
    offset = float_array("offset_s", offset_s, (n,))
    shift = np.zeros(n) if red_shift_s is None else float_array("red_shift_s", red_shift_s, (n,))
    resolution = _checks.integer("resolution", resolution, maximum=MAX_RESOLUTION)
    if resolution < 2:
        raise ValueError(f"resolution must be an int >= 2, got {resolution!r}")
    gaps = np.diff(pos)
    v_out = np.broadcast_to(float_array("speed_mps", speed_mps, positive=True), gaps.shape)
    v_in = v_out if speed_in_mps is None else np.broadcast_to(
        float_array("speed_in_mps", speed_in_mps, positive=True), gaps.shape
    )  # fmt: skip
    _, ok_out, ok_in = _green_departures(r_out, r_in, shift, offset, cycle, gaps / v_out, gaps / v_in, resolution)
    step = cycle / resolution
    return _longest_circular_run(ok_out)[0] * step, _longest_circular_run(ok_in)[0] * step


def _longest_circular_run(flags: npt.NDArray[np.bool_]) -> tuple[int, int]:
    """Length and start index of the longest run of True in a circular array."""
    if flags.all():
        return int(flags.size), 0
    if not flags.any():
        return 0, 0
    first = int(np.argmin(flags))  # rotate so the array starts at a False
    rolled = np.roll(flags, -first).astype(np.int8)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], rolled, [0]])))
    runs = edges[1::2] - edges[::2]
    k = int(runs.argmax())
    return int(runs[k]), int((edges[::2][k] + first) % flags.size)


@dataclass(frozen=True)
class Corridor(ToDict):
    """Signals along an arterial under one plan: position (m, outbound direction), effective red of
    the through movement each way (s), the shift from the outbound to the inbound red centre (s),
    and when in the cycle (s after the cycle start) the outbound through green begins."""

    intersection_ids: tuple[str, ...]
    position_m: FloatArray
    red_out_s: FloatArray
    red_in_s: FloatArray
    red_shift_s: FloatArray
    green_out_start_s: FloatArray
    cycle_s: float

    def __repr__(self) -> str:
        length = self.position_m[-1] - self.position_m[0] if self.position_m.size else 0.0
        return f"Corridor({len(self.intersection_ids)} signals over {length:.0f} m, cycle {self.cycle_s:g} s)"


def _through_green(x: Intersection, greens: FloatArray, group: int, cycle: float) -> tuple[float, float]:
    """Start of the lane group's green after the cycle start, and its red (s): stages run in order,
    each followed by its yellow and all-red; consecutive serving stages keep the green."""
    starts = np.concatenate([[0.0], np.cumsum(greens + x.yellow_s + x.all_red_s)[:-1]])
    serving = np.flatnonzero(x.stage_serves()[:, group])
    start, end = starts[serving[0]], starts[serving[-1]] + greens[serving[-1]]
    return float(start), float(cycle - (end - start))


def corridor(
    network: RoadNetwork, intersections: Sequence[Intersection], greens: Sequence[FloatArray], cycle_s: float
) -> Corridor:
    """The corridor seen by :func:`maxband` for ``intersections`` of ``network`` listed in outbound
    order, with their ``greens`` (s per stage) under one ``cycle_s``; the through movements are the
    ones whose approach is best aligned with the corridor."""
    xy = network.node_xy
    if len(intersections) < 2:
        raise ValueError("a corridor needs at least two intersections")
    ends = xy[[intersections[0].node, intersections[-1].node]]
    axis = (ends[1] - ends[0]) / np.linalg.norm(ends[1] - ends[0])
    pos, r_out, r_in, shift, start_out = [], [], [], [], []
    for x, g in zip(intersections, greens, strict=True):
        pos.append(float((xy[x.node] - ends[0]) @ axis))
        through = np.flatnonzero(x.movement_turn == "T")
        # Direction of each through movement's approach: from the approach link's tail to the node.
        app = x.approach_link[x.lane_group_approach[x.movement_lane_group[through]]]
        d = xy[x.node] - xy[network.link_tail[app]]
        align = (d @ axis) / np.maximum(np.linalg.norm(d, axis=1), 1e-9)
        if through.size == 0 or align.max() < 0.7 or align.min() > -0.7:
            raise ValueError(f"intersection {x.id} has no through movement both ways along the corridor")
        g_arr = np.asarray(g, dtype=float)
        s_out, red_o = _through_green(x, g_arr, int(x.movement_lane_group[through[align.argmax()]]), cycle_s)
        s_in, red_i = _through_green(x, g_arr, int(x.movement_lane_group[through[align.argmin()]]), cycle_s)
        centre_out, centre_in = s_out - red_o / 2, s_in - red_i / 2
        pos_shift = (centre_in - centre_out + cycle_s / 2) % cycle_s - cycle_s / 2
        r_out.append(red_o)
        r_in.append(red_i)
        shift.append(pos_shift)
        start_out.append(s_out)
    order = np.argsort(pos)
    if (np.diff(np.asarray(pos)[order]) <= 0).any():
        raise ValueError("two corridor intersections share a position")
    if not (order == np.arange(len(pos))).all():
        raise ValueError("intersections must be listed in order along the corridor")
    return Corridor(
        intersection_ids=tuple(x.id for x in intersections),
        position_m=np.asarray(pos),
        red_out_s=np.asarray(r_out),
        red_in_s=np.asarray(r_in),
        red_shift_s=np.asarray(shift),
        green_out_start_s=np.asarray(start_out),
        cycle_s=float(cycle_s),
    )


def coordinate(
    corr: Corridor,
    speed_mps: tuple[float, float],
    *,
    ratio: float | None = None,
    time_limit_s: float | None = None,
    max_iterations: int | None = MAX_NODES,
    seed: int = 0,
) -> tuple[FloatArray, GreenWave]:
    """Plan offsets (s, cycle start on the common clock) that give the corridor its MAXBAND green
    wave, and the wave itself (limits as in :func:`maxband`)."""
    wave = maxband(
        corr.position_m, corr.red_out_s, corr.red_in_s, corr.cycle_s, speed_mps,
        red_shift_s=corr.red_shift_s, ratio=ratio, time_limit_s=time_limit_s, max_iterations=max_iterations, seed=seed,
    )  # fmt: skip
    return np.mod(wave.offset_s - corr.green_out_start_s, corr.cycle_s), wave


def plot_time_space(corr: Corridor, offset_s: npt.ArrayLike, wave: GreenWave, *, cycles: int = 3) -> Figure:
    """Time-space diagram: each signal's outbound red (above its line) and inbound red (below)
    over ``cycles`` cycles for plan offsets ``offset_s``, with the green bands at the wave's design
    travel times shaded."""
    from matplotlib.figure import Figure

    offsets = float_array("offset_s", offset_s, (len(corr.position_m),))
    c = corr.cycle_s
    fig = Figure(figsize=(10, 6))
    ax = fig.add_subplot()
    gap = 0.012 * float(np.ptp(corr.position_m))
    horizon = cycles * c
    for y, r_o, r_i, sh, start, off in zip(corr.position_m, corr.red_out_s, corr.red_in_s, corr.red_shift_s,
                                           corr.green_out_start_s, offsets, strict=True):  # fmt: skip
        centre = off + start - r_o / 2
        for k in range(-1, cycles + 1):
            ax.broken_barh([(centre + k * c - r_o / 2, r_o)], (y, gap), color="tab:red")
            ax.broken_barh([(centre + sh + k * c - r_i / 2, r_i)], (y - gap, gap), color="tab:red", alpha=0.6)
    t_out, t_in = wave.travel_time_out_s, wave.travel_time_in_s
    ax.set_title(
        f"Green wave: cycle {c:.0f} s, bands {wave.bandwidth_out_s:.0f} s outbound (green), "
        f"{wave.bandwidth_in_s:.0f} s inbound (blue)"
    )
    instants, ok_out, ok_in = _green_departures(
        corr.red_out_s, corr.red_in_s, corr.red_shift_s, offsets + corr.green_out_start_s, c, t_out, t_in, 4000
    )
    out_path = (np.concatenate([[0.0], np.cumsum(t_out)]), corr.position_m)
    in_path = (np.concatenate([[0.0], np.cumsum(t_in[::-1])]), corr.position_m[::-1])
    for ok, (times, ys), colour in ((ok_out, out_path, "tab:green"), (ok_in, in_path, "tab:blue")):
        length, start = _longest_circular_run(ok)
        width = length * c / len(ok)
        for k in range(-1, cycles + 1):
            left = instants[start] + k * c
            xs = np.concatenate([left + times, (left + width + times)[::-1]])
            ax.fill(xs, np.concatenate([ys, ys[::-1]]), color=colour, alpha=0.25)
    ax.set_xlim(0, horizon)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("distance along the arterial (m)")
    ax.set_yticks(corr.position_m, corr.intersection_ids)
    return fig
