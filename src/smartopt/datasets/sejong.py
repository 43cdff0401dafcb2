"""The built-in district: the 5-1 living area of Sejong (Hapgang-dong), generated deterministically.

The layout is a model, not a survey: a 1,900 m x 1,450 m street grid (2.76 km², the living area is
2,743,000 m²) with two arterial pairs, one carrying the BRT trunk, a collector grid and local streets;
a car-light smart living zone whose local streets are mostly pedestrianised; an innovation
(start-up) zone and a commercial centre at the central BRT station. Car trips come from households
and jobs by a gravity model and are loaded on the network (MSA with BPR link times), which gives
every signalised intersection consistent turning volumes for three analysis hours. Every figure
and its source is listed in :data:`ASSUMPTIONS`; public facts are in the project's SEJONG notes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from smartopt.app.district import District
from smartopt.datasets.profiles import COMMERCIAL_HOURLY, RESIDENTIAL_HOURLY, daily_profile
from smartopt.dispatch.model import Fleet, Requests
from smartopt.energy.assets import EnergyDay
from smartopt.energy.grid import Grid
from smartopt.network.road import RoadNetwork
from smartopt.signals.model import Intersection
from smartopt.signals.traffic import TrafficDemand

# --- layout -----------------------------------------------------------------------------------
WIDTH_M, HEIGHT_M = 1_900.0, 1_450.0
COLS, ROWS = 21, 16
ARTERIAL_COLS, ARTERIAL_ROWS = (5, 15), (4, 11)
COLLECTOR_COLS, COLLECTOR_ROWS = (0, 10, 20), (0, 8, 15)
BRT_ROW = 4
BRT_STATION_COLS = (2, 10, 17)
GATEWAY_M = 400.0
# Zones as inclusive (col0, col1, row0, row1) rectangles of grid nodes.
CAR_LIGHT_ZONE = (1, 4, 5, 10)
CAR_LIGHT_ACCESS = (2, 7)  # the one local column and row kept open to cars inside the zone
INNOVATION_ZONE = (12, 19, 5, 10)
CENTRE_ZONE = (8, 12, 2, 6)
RIVER_PARK = (17, 20, 0, 2)
ANCHOR_LONLAT = (127.305, 36.487)  # approximate south-west corner, for maps only

# road class: (speed m/s, lanes per direction, capacity veh/h per lane)
ROAD_CLASSES = {
    "arterial": (50 / 3.6, 3, 1900.0),
    "collector": (40 / 3.6, 2, 1800.0),
    "local": (30 / 3.6, 1, 1000.0),
}
CLASS_RANK = {"local": 0, "collector": 1, "arterial": 2}

# --- people and demand ------------------------------------------------------------------------
HOUSEHOLDS = 8_000
JOBS_INNOVATION, JOBS_CENTRE, JOBS_SCATTERED = 5_000, 1_500, 500
PERIODS = ("am_peak", "midday", "pm_peak")
THROUGH_VPH = {"am_peak": 800.0, "midday": 450.0, "pm_peak": 850.0}
SIGNAL_HOURS = {"am_peak": (6.0, 10.0), "midday": (10.0, 16.0), "pm_peak": (16.0, 20.0)}
"""Clock hours (start, end) each period's signal plan runs; the night runs at free flow."""
PEAK_PERIODS = ("am_peak", "pm_peak")

# --- signals ----------------------------------------------------------------------------------
BASE_SATURATION_VPHPL = 1900.0
LANE_WIDTH_M = 3.25
PED_WALK_S, PED_SPEED_MPS = 7.0, 1.0

# --- energy -----------------------------------------------------------------------------------
SLOTS, SLOT_H = 96, 0.25
HOUSEHOLD_PEAK_KW, JOB_PEAK_KW = 0.8, 0.6
PV_KWP_PER_HOUSEHOLD, PV_KWP_PER_JOB = 0.35, 0.2
MV_R_OHM_PER_KM, MV_X_OHM_PER_KM, MV_B_US_PER_KM, MV_AMPACITY_KA = 0.06, 0.11, 136.0, 0.5
TRAFO_PFE_PERCENT, TRAFO_I0_PERCENT = 0.2, 1.0
MV_R0_PER_R, MV_X0_PER_X = 4.0, 3.0  # zero sequence of the screened cables, per positive sequence
SUBSTATION_GROUP, PAD_GROUP = "YNyn", "Dyn"
SOURCE_S_SC_MVA = 8_000.0  # the 154 kV system's short-circuit power (about 30 kA)
TRAFO_SIZES_KVA = (300.0, 500.0, 750.0, 1000.0, 1500.0, 2000.0, 2500.0)

# --- fleet ------------------------------------------------------------------------------------
SHUTTLES, SEATS, BATTERY_KWH, KWH_PER_KM = 30, 12, 110.0, 0.45
DEPOT_XY = np.array(
    [
        (1 * WIDTH_M / (COLS - 1), 3 * HEIGHT_M / (ROWS - 1)),
        (19 * WIDTH_M / (COLS - 1), 12 * HEIGHT_M / (ROWS - 1)),
    ]
)
DEPOT_CHARGERS, DEPOT_CHARGER_KW = 6, 60.0
MIN_RIDE_M = 350.0
REQUESTS_PER_HOUR = (
    2,
    1,
    1,
    1,
    2,
    20,
    120,
    320,
    300,
    160,
    130,
    130,
    170,
    130,
    130,
    130,
    180,
    310,
    300,
    190,
    110,
    110,
    60,
    40,
)

ASSUMPTIONS = (
    "Area 1,900 m x 1,450 m = 2.76 km² (public figure: 2,743,000 m², MOLIT/LH 2020).",
    f"{HOUSEHOLDS:,} households (about 20,000 residents) and "
    f"{JOBS_INNOVATION + JOBS_CENTRE + JOBS_SCATTERED:,} jobs: our assumption for a 2.7 km² Korean new town.",
    "Speed limits 50/40/30 km/h on arterial/collector/local streets (Korea's 'safe speed 5030').",
    "Arterials 3 lanes per direction (plus BRT median lanes on the trunk), collectors 2, local streets 1; "
    "capacity 1,900/1,800/1,000 veh/h per lane.",
    "Car-light smart living zone (about 200,000 m², public figure for the shared-car zone: about 165,000 m²): "
    "local streets pedestrianised except one access street each way.",
    "Peak-hour car trip rates (car-light district): AM 0.18 veh/household outbound (0.04 in the car-light "
    "zone), 0.22 veh/job inbound, 0.06 veh/household internal; PM mirrors AM plus 10 %; midday about a "
    "third; through traffic 450-850 veh/h per arterial direction (regional traffic on the bounding "
    "arterials). Gravity model, MSA assignment with BPR link times.",
    "Saturation flow 1,900 veh/h/lane, x0.95 exclusive left, x0.96 through-right, x0.88 shared; yellow 4 s "
    "at 50 km/h (3 s below), all-red 2 s on arterials (1 s otherwise); pedestrian minimum green 7 s + "
    "crossing length at 1.0 m/s (Korean design walking speed).",
    "Grid: 154/22.9 kV 60 MVA substation transformer (KEPCO standard size), four 22.9 kV cable feeders "
    "(r = 0.06, x = 0.11 ohm/km, 0.36 uF/km, 0.5 kA: typical 325 mm² XLPE values), one 22.9/0.38 kV "
    "pad-mounted transformer per service area sized at 1.25 x its peak (vk 5 %, copper losses 1 %, iron "
    "losses 0.2 %, no-load current 1 %).",
    f"Three-phase data (for the unbalanced power flow): cable zero sequence r0 = {MV_R0_PER_R:g} r, "
    f"x0 = {MV_X0_PER_X:g} x, b0 = b (screened cables); the substation transformer {SUBSTATION_GROUP} "
    f"(154 kV star with its neutral earthed), pad-mounted transformers {PAD_GROUP} (zero-sequence impedance "
    f"as the positive); the 154 kV source {SOURCE_S_SC_MVA:,.0f} MVA short-circuit power, R/X 0.1, "
    "X0/X 1, R0/X0 0.1. Households and slow chargers are single-phase, fast chargers, PV and the "
    "battery three-phase.",
    "Spring weekday: 0.8 kW diversified peak per household (about 9.6 kWh/day), 0.6 kW per job; power "
    "factor 0.95 residential, 0.90 commercial.",
    "Rooftop PV 0.35 kWp per household and 0.2 kWp per job; a clear spring day at 36.5° N.",
    "Community battery 1 MW / 2 MWh at the central BRT station.",
    "Chargers: one 7 kW charger per 20 households, one 11 kW per 60 jobs, two 4 x 100 kW hubs at BRT "
    "stations, 2 x 6 x 60 kW at the shuttle depots; sessions drawn for overnight, evening, workplace and "
    "fast charging.",
    f"{SHUTTLES} autonomous shuttles, {SEATS} seats, {BATTERY_KWH:.0f} kWh, {KWH_PER_KM} kWh/km, at two "
    f"depots; about {sum(REQUESTS_PER_HOUR):,} ride requests a day (peaks 07-09 and 17-19), 45 % of peak "
    "rides to or from a BRT station; rides shorter than 350 m are walked.",
)


@dataclass
class _Layout:
    net: RoadNetwork
    grid_pos: npt.NDArray[np.int64]  # (col, row) per node; -1 for gateways
    households: npt.NDArray[np.float64]
    jobs: npt.NDArray[np.float64]
    gateways: npt.NDArray[np.int64]
    gateway_line: list[tuple[str, int, int]]  # (axis, line, side) per gateway


def _in_zone(col: npt.ArrayLike, row: npt.ArrayLike, zone: tuple[int, int, int, int]) -> npt.NDArray[np.bool_]:
    c0, c1, r0, r1 = zone
    col, row = np.asarray(col), np.asarray(row)
    return (col >= c0) & (col <= c1) & (row >= r0) & (row <= r1)


def _line_class(index: int, arterials: tuple[int, ...], collectors: tuple[int, ...]) -> str:
    if index in arterials:
        return "arterial"
    return "collector" if index in collectors else "local"


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def root(self, v: int) -> int:
        while self.parent[v] != v:
            self.parent[v] = self.parent[self.parent[v]]
            v = self.parent[v]
        return v

    def union(self, a: int, b: int) -> bool:
        """Joins the sets of a and b; False if they were joined already."""
        ra, rb = self.root(a), self.root(b)
        self.parent[ra] = rb
        return ra != rb


def _road_network(rng: np.random.Generator) -> _Layout:
    dx, dy = WIDTH_M / (COLS - 1), HEIGHT_M / (ROWS - 1)
    col_grid, row_grid = np.meshgrid(np.arange(COLS), np.arange(ROWS), indexing="xy")
    col, row = col_grid.ravel(), row_grid.ravel()
    xy = np.column_stack([col * dx, row * dy]) + rng.uniform(-4.0, 4.0, (col.size, 2))
    node_of = {(int(c), int(r)): i for i, (c, r) in enumerate(zip(col, row, strict=True))}

    # Undirected street segments: (a, b, class, name).
    segments: list[tuple[int, int, str, str]] = []
    for r in range(ROWS):
        cls = _line_class(r, ARTERIAL_ROWS, COLLECTOR_ROWS)
        name = "BRT trunk" if r == BRT_ROW else f"{cls} street E-W {r}"
        segments += [(node_of[c, r], node_of[c + 1, r], cls, name) for c in range(COLS - 1)]
    for c in range(COLS):
        cls = _line_class(c, ARTERIAL_COLS, COLLECTOR_COLS)
        segments += [(node_of[c, r], node_of[c, r + 1], cls, f"{cls} street N-S {c}") for r in range(ROWS - 1)]

    # Pedestrianise the car-light zone, then close a few more local segments elsewhere, never
    # cutting the network in two.
    def removable(seg: tuple[int, int, str, str]) -> bool:
        return seg[2] == "local"

    def in_car_light(seg: tuple[int, int, str, str]) -> bool:
        a, b = seg[0], seg[1]
        both = _in_zone(col[[a, b]], row[[a, b]], CAR_LIGHT_ZONE).all()
        on_access = (col[a] == col[b] == CAR_LIGHT_ACCESS[0]) or (row[a] == row[b] == CAR_LIGHT_ACCESS[1])
        return bool(both and not on_access)

    closing = [s for s in segments if removable(s) and in_car_light(s)]
    others = [s for s in segments if removable(s) and not in_car_light(s)]
    closing += [others[i] for i in rng.permutation(len(others))[: len(others) // 12]]
    closed = {id(s) for s in closing}
    kept = [s for s in segments if id(s) not in closed]
    uf = _UnionFind(col.size)
    for a, b, _, _ in kept:
        uf.union(a, b)
    kept += [s for s in closing if uf.union(s[0], s[1])]  # reopen what reconnects the network

    # Gateways: the arterials run on 400 m beyond the district edge.
    gw_xy, gw_line = [], []
    for r in ARTERIAL_ROWS:
        for side, c in ((0, 0), (1, COLS - 1)):
            gw_xy.append((-GATEWAY_M if side == 0 else WIDTH_M + GATEWAY_M, r * dy))
            gw_line.append(("row", r, side))
            kept.append(
                (
                    col.size + len(gw_xy) - 1,
                    node_of[c, r],
                    "arterial",
                    "BRT trunk" if r == BRT_ROW else f"arterial street E-W {r}",
                )
            )
    for c in ARTERIAL_COLS:
        for side, r in ((0, 0), (1, ROWS - 1)):
            gw_xy.append((c * dx, -GATEWAY_M if side == 0 else HEIGHT_M + GATEWAY_M))
            gw_line.append(("col", c, side))
            kept.append((col.size + len(gw_xy) - 1, node_of[c, r], "arterial", f"arterial street N-S {c}"))
    all_xy = np.vstack([xy, np.array(gw_xy)])
    grid_pos = np.vstack([np.column_stack([col, row]), np.full((len(gw_xy), 2), -1)])
    gateways = np.arange(col.size, col.size + len(gw_xy))

    seg_a = np.array([s[0] for s in kept])
    seg_b = np.array([s[1] for s in kept])
    seg_cls = np.array([s[2] for s in kept])
    seg_name = np.array([s[3] for s in kept])
    tail, head = np.concatenate([seg_a, seg_b]), np.concatenate([seg_b, seg_a])
    cls2, names2 = np.concatenate([seg_cls, seg_cls]), np.concatenate([seg_name, seg_name])
    length = np.hypot(*(all_xy[head] - all_xy[tail]).T)
    speed = np.array([ROAD_CLASSES[c][0] for c in cls2])
    lanes = np.array([ROAD_CLASSES[c][1] for c in cls2])
    cap = np.array([ROAD_CLASSES[c][2] for c in cls2]) * lanes
    link_type = np.where(names2 == "BRT trunk", "arterial_brt", cls2)

    lon0, lat0 = ANCHOR_LONLAT
    m_per_deg_lat = 111_320.0
    lonlat = np.column_stack(
        [
            lon0 + all_xy[:, 0] / (m_per_deg_lat * math.cos(math.radians(lat0))),
            lat0 + all_xy[:, 1] / m_per_deg_lat,
        ]
    )
    node_ids = np.array(
        [f"J{c:02d}-{r:02d}" for c, r in zip(col, row, strict=True)] + [f"G{i}" for i in range(len(gw_xy))]
    )
    net = RoadNetwork.from_arrays(
        all_xy,
        tail,
        head,
        length,
        speed,
        lanes=lanes,
        capacity_vph=cap,
        node_lonlat=lonlat,
        node_ids=node_ids,
        link_name=names2,
        link_type=link_type,
    )

    # Households and jobs per grid node.
    hh_w = np.select(
        [
            _in_zone(col, row, RIVER_PARK),
            _in_zone(col, row, CAR_LIGHT_ZONE),
            _in_zone(col, row, INNOVATION_ZONE),
            _in_zone(col, row, CENTRE_ZONE),
        ],
        [0.0, 1.4, 0.1, 0.3],
        1.0,
    )
    innov = _in_zone(col, row, INNOVATION_ZONE).astype(float)
    centre = _in_zone(col, row, CENTRE_ZONE).astype(float)
    scattered = (hh_w == 1.0).astype(float)
    pad = np.zeros(len(gw_xy))
    households = np.concatenate([HOUSEHOLDS * hh_w / hh_w.sum(), pad])
    jobs = np.concatenate(
        [
            JOBS_INNOVATION * innov / innov.sum()
            + JOBS_CENTRE * centre / centre.sum()
            + JOBS_SCATTERED * scattered / scattered.sum(),
            pad,
        ]
    )
    return _Layout(net, grid_pos, households, jobs, gateways, gw_line)


def _gravity(production: np.ndarray, attraction: np.ndarray, cost_s: np.ndarray, scale_s: float) -> np.ndarray:
    """Trips from each origin split over destinations by attraction x exp(-cost/scale)."""
    w = attraction[None, :] * np.exp(-cost_s / scale_s)
    np.fill_diagonal(w, 0.0)  # no trips within a node
    total = w.sum(axis=1, keepdims=True)
    return np.asarray(np.divide(production[:, None] * w, total, out=np.zeros_like(w), where=total > 0))


def _od_matrices(lay: _Layout) -> dict[str, np.ndarray]:
    """Node-to-node car demand (veh/h) for each analysis period."""
    net, n = lay.net, lay.net.num_nodes
    tt = net.travel_time_matrix(np.arange(n))
    car_light = np.zeros(n, dtype=bool)
    car_light[: lay.grid_pos.shape[0]] = _in_zone(lay.grid_pos[:, 0], lay.grid_pos[:, 1], CAR_LIGHT_ZONE)
    car_light[lay.gateways] = False
    out_rate = np.where(car_light, 0.04, 0.18)
    gw = np.zeros(n)
    gw[lay.gateways] = 1.0

    home_out = _gravity(lay.households * out_rate, gw, tt, 300.0)  # households -> gateways
    work_in = _gravity(lay.jobs * 0.22, gw, tt.T, 300.0).T  # gateways -> jobs
    internal = _gravity(lay.households * 0.06, lay.jobs, tt, 600.0)  # home -> work, shops, school
    through = np.zeros((n, n))
    for i, (axis_i, line_i, side_i) in enumerate(lay.gateway_line):
        for j, (axis_j, line_j, side_j) in enumerate(lay.gateway_line):
            if i != j:
                same_line = axis_i == axis_j and line_i == line_j and side_i != side_j
                through[lay.gateways[i], lay.gateways[j]] = 1.0 if same_line else 0.08
    return {
        "am_peak": home_out + work_in + internal + THROUGH_VPH["am_peak"] * through,
        "midday": 0.3 * (home_out + home_out.T + work_in + work_in.T) / 2
        + 1.2 * (internal + internal.T) / 2
        + THROUGH_VPH["midday"] * through,
        "pm_peak": 1.1 * (home_out.T + work_in.T + internal.T) + THROUGH_VPH["pm_peak"] * through,
    }


def _turn_code(net: RoadNetwork, in_link: int, out_link: int) -> str | None:
    """'L', 'T', 'R' by the angle between the links (right-hand traffic), None for a U-turn."""
    xy = net.node_xy
    a = xy[net.link_head[in_link]] - xy[net.link_tail[in_link]]
    b = xy[net.link_head[out_link]] - xy[net.link_tail[out_link]]
    angle = math.degrees(math.atan2(a[0] * b[1] - a[1] * b[0], a @ b))
    if abs(angle) > 150:
        return None
    if abs(angle) <= 45:
        return "T"
    return "L" if angle > 0 else "R"


def _signalised_nodes(lay: _Layout) -> list[int]:
    """Arterial crossings with collectors, arterials and every other local street, and
    collector-collector crossings; only junctions with three or more approaches."""
    net = lay.net
    out = []
    for v, (c, r) in enumerate(lay.grid_pos):
        if c < 0:
            continue
        col_cls = _line_class(int(c), ARTERIAL_COLS, COLLECTOR_COLS)
        row_cls = _line_class(int(r), ARTERIAL_ROWS, COLLECTOR_ROWS)
        pair = {col_cls, row_cls}
        signalised = (
            ("arterial" in pair and ("collector" in pair or col_cls == row_cls))
            or ("arterial" in pair and ((c % 2 == 0) if col_cls == "local" else (r % 2 == 0)))
            or pair == {"collector"}
        )
        if signalised and np.count_nonzero(net.link_head == v) >= 3:
            out.append(v)
    return out


def _intersection(lay: _Layout, v: int, turn_volume: list[dict[tuple[int, int], float]]) -> Intersection:
    net = lay.net
    approaches = np.flatnonzero(net.link_head == v)
    exits = np.flatnonzero(net.link_tail == v)
    xy = net.node_xy

    def axis(link: int) -> str:
        d = xy[net.link_head[link]] - xy[net.link_tail[link]]
        return "EW" if abs(d[0]) >= abs(d[1]) else "NS"

    def rank(link: int) -> int:
        return CLASS_RANK[str(net.link_type[link]).replace("_brt", "")]

    main = max(("EW", "NS"), key=lambda ax: max([rank(int(a)) for a in approaches if axis(int(a)) == ax], default=-1))
    grp_app: list[int] = []
    grp_lanes: list[int] = []
    grp_sat: list[float] = []
    grp_kind: list[str] = []
    mov_grp: list[int] = []
    mov_out: list[int] = []
    mov_turn: list[str] = []
    for ai, a in enumerate(approaches):
        moves = [(int(b), t) for b in exits if (t := _turn_code(net, int(a), int(b))) is not None]
        lanes = int(net.link_lanes[a])
        has_left = any(t == "L" for _, t in moves)
        split = lanes >= 2 and has_left
        groups = {"L": len(grp_app), "TR": len(grp_app) + 1} if split else {"ALL": len(grp_app)}
        if split:
            grp_app += [ai, ai]
            grp_lanes += [1, lanes]
            grp_sat += [BASE_SATURATION_VPHPL * 0.95, BASE_SATURATION_VPHPL * 0.96 * lanes]
            grp_kind += ["L", "TR"]
        else:
            grp_app.append(ai)
            grp_lanes.append(lanes)
            grp_sat.append(BASE_SATURATION_VPHPL * 0.88 * lanes)
            grp_kind.append("ALL")
        for b, t in moves:
            mov_grp.append(groups["L"] if split and t == "L" else groups["TR"] if split else groups["ALL"])
            mov_out.append(b)
            mov_turn.append(t)

    # Crossing over an approach: its lanes both ways plus a left pocket, median on arterials.
    crossing = []
    for a in approaches:
        back = np.flatnonzero((net.link_tail == v) & (net.link_head == net.link_tail[a]))
        lanes_total = int(net.link_lanes[a]) + int(net.link_lanes[back].sum()) + (1 if net.link_lanes[a] >= 2 else 0)
        crossing.append(lanes_total * LANE_WIDTH_M + (2.0 if rank(int(a)) == 2 else 0.0))
    crossing_arr = np.array(crossing)

    mov_grp_arr, mov_turn_arr = np.array(mov_grp), np.array(mov_turn)
    app_axis = np.array([axis(int(a)) for a in approaches])
    stages: list[np.ndarray] = []
    min_g, max_g, yellow, all_red, ped = [], [], [], [], []
    for ax in (main, "NS" if main == "EW" else "EW"):
        on_axis = app_axis[np.array(grp_app)[mov_grp_arr]] == ax
        if not on_axis.any():
            continue
        fast = max(float(net.link_speed_mps[a]) for a in approaches[app_axis == ax])
        arterial = max(rank(int(a)) for a in approaches[app_axis == ax]) == 2
        ped_green = PED_WALK_S + crossing_arr[app_axis != ax].max(initial=0.0) / PED_SPEED_MPS
        left = on_axis & (np.array(grp_kind)[mov_grp_arr] == "L")
        parts = (
            [(left, 5.0, 40.0, 0.0), (on_axis & ~left, 10.0, 90.0, ped_green)]
            if left.any()
            else [(on_axis, 10.0, 90.0, ped_green)]
        )
        for mask, gmin, gmax, gped in parts:
            stages.append(np.flatnonzero(mask))
            min_g.append(gmin)
            max_g.append(gmax)
            yellow.append(4.0 if fast >= 13.0 else 3.0)
            all_red.append(2.0 if arterial else 1.0)
            ped.append(gped)

    volume = np.array(
        [
            [tv.get((int(approaches[grp_app[g]]), b), 0.0) for g, b in zip(mov_grp, mov_out, strict=True)]
            for tv in turn_volume
        ]
    )
    c, r = lay.grid_pos[v]
    return Intersection(
        id=f"S{c:02d}-{r:02d}",
        node=v,
        approach_link=approaches,
        crossing_length_m=crossing_arr,
        lane_group_approach=np.array(grp_app),
        lane_group_lanes=np.array(grp_lanes),
        saturation_flow_vph=np.array(grp_sat),
        movement_lane_group=mov_grp_arr,
        movement_out_link=np.array(mov_out),
        movement_turn=mov_turn_arr,
        volume_vph=np.round(volume),
        stage_movements=tuple(stages),
        min_green_s=np.array(min_g),
        max_green_s=np.array(max_g),
        yellow_s=np.array(yellow),
        all_red_s=np.array(all_red),
        ped_min_green_s=np.array(ped),
        cycle_min_s=60.0,
        cycle_max_s=180.0,
        periods=PERIODS,
    )


def _intersections(lay: _Layout) -> tuple[tuple[Intersection, ...], tuple[TrafficDemand, ...]]:
    """The signalised intersections with their turning volumes, and the assigned demand of each period."""
    n = lay.net.num_nodes
    nodes = np.arange(n)
    turn_volume = []
    demand = []
    for period, od in _od_matrices(lay).items():
        res = lay.net.assign(nodes, nodes, od, iterations=5)
        if res.unassigned_vph > 0:
            raise RuntimeError(f"{period}: {res.unassigned_vph} veh/h could not be routed")
        demand.append(TrafficDemand.from_assignment(res))
        turn_volume.append(
            {
                (int(a), int(b)): float(q)
                for a, b, q in zip(res.turn_in_link, res.turn_out_link, res.turn_flow_vph, strict=True)
            }
        )
    return tuple(_intersection(lay, v, turn_volume) for v in _signalised_nodes(lay)), tuple(demand)


def _pv_profile(rng: np.random.Generator) -> np.ndarray:
    """Per-unit PV output on a clear spring day: sunrise 06:00, sunset 19:00, 0.75 at solar noon."""
    t = (np.arange(SLOTS) + 0.5) * SLOT_H
    day = np.clip((t - 6.0) / 13.0, 0.0, 1.0)
    clear = 0.75 * np.sin(np.pi * day) ** 1.3
    return np.asarray(np.clip(clear * (1.0 - 0.08 * rng.random(SLOTS)), 0.0, None))


def _sessions(
    rng: np.random.Generator,
    charger_ids: np.ndarray,
    arrival: np.ndarray,
    departure: np.ndarray,
    energy: np.ndarray,
    car_kw: np.ndarray,
    charger_kw: np.ndarray,
) -> list[tuple[int, int, int, float, float]]:
    """Puts sessions on free chargers (no two at once on one charger), capping energy at what the
    car can take while plugged in. Sessions that find no free charger are dropped."""
    free_from = dict.fromkeys(charger_ids.tolist(), 0)
    out = []
    for k in np.argsort(arrival, kind="stable"):
        a, d = int(arrival[k]), int(departure[k])
        free = [c for c in charger_ids.tolist() if free_from[c] <= a]
        if not free or d <= a:
            continue
        c = free[int(rng.integers(len(free)))]
        free_from[c] = d
        power = min(float(car_kw[k]), float(charger_kw[c]))
        out.append((c, a, d, min(float(energy[k]), 0.95 * power * (d - a) * SLOT_H), float(car_kw[k])))
    return out


def _energy(lay: _Layout, depot_xy: np.ndarray, rng: np.random.Generator) -> EnergyDay:
    """The grid and a day of energy data; the shuttle depots' chargers (kind "depot") are fed from
    the LV bus nearest to each depot."""
    net = lay.net
    dx, dy = WIDTH_M / (COLS - 1), HEIGHT_M / (ROWS - 1)
    # Service areas: one per site on a coarse lattice; each network node's households and jobs go
    # to the nearest site.
    lattice = np.array([(c * dx, r * dy) for r in (1, 4, 7, 10, 13) for c in range(1, COLS, 2)])
    site_node, _ = net.nearest_nodes(lattice)
    grid_nodes = np.flatnonzero(lay.grid_pos[:, 0] >= 0)
    owner = np.argmin(
        np.hypot(*(net.node_xy[grid_nodes, None, :] - net.node_xy[site_node][None, :, :]).transpose(2, 0, 1)),
        axis=1,
    )
    hh = np.bincount(owner, lay.households[grid_nodes], minlength=len(site_node))
    jobs = np.bincount(owner, lay.jobs[grid_nodes], minlength=len(site_node))
    used = (hh + jobs) > 1.0
    site_node, hh, jobs = site_node[used], hh[used], jobs[used]
    n_site = site_node.size
    site_xy = net.node_xy[site_node]

    # Buses: 0 = 154 kV slack, 1 = 22.9 kV substation busbar, then MV/LV pairs per site.
    sub_xy = np.array([WIDTH_M + 150.0, -150.0])
    mv = 2 + 2 * np.arange(n_site)
    lv = mv + 1
    vn = np.concatenate([[154.0, 22.9], np.tile([22.9, 0.38], n_site)])
    bus_xy = np.vstack([sub_xy, sub_xy, np.repeat(site_xy, 2, axis=0)])
    names = ["substation 154 kV", "substation 22.9 kV"] + [
        f"{kind} {lay.net.node_ids[v]}" for v in site_node for kind in ("MV", "LV")
    ]
    # Four feeders by bearing from the substation; each is a minimum spanning tree from the busbar
    # (cable length: straight distance x 1.25 for street routing).
    bearing = np.arctan2(site_xy[:, 1] - sub_xy[1], site_xy[:, 0] - sub_xy[0])
    order = np.argsort(bearing, kind="stable")
    feeders = np.array_split(order, 4)
    line_from, line_to, length_km = [], [], []
    for members in feeders:
        pts = np.vstack([sub_xy, site_xy[members]])
        bus = np.concatenate([[1], mv[members]])
        in_tree = np.zeros(len(pts), dtype=bool)
        in_tree[0] = True
        best = np.hypot(*(pts - pts[0]).T)
        link = np.zeros(len(pts), dtype=int)
        for _ in range(len(pts) - 1):
            j = int(np.argmin(np.where(in_tree, np.inf, best)))
            in_tree[j] = True
            line_from.append(int(bus[link[j]]))
            line_to.append(int(bus[j]))
            length_km.append(max(best[j], 50.0) * 1.25 / 1000.0)
            d = np.hypot(*(pts - pts[j]).T)
            closer = ~in_tree & (d < best)
            best[closer], link[closer] = d[closer], j
    length = np.array(length_km)

    res_kw = HOUSEHOLD_PEAK_KW * hh
    com_kw = JOB_PEAK_KW * jobs
    peak = res_kw + com_kw
    sizes = np.array(TRAFO_SIZES_KVA)
    trafo_kva = sizes[np.minimum(np.searchsorted(sizes, 1.25 * peak), sizes.size - 1)]

    res_sites, com_sites = np.flatnonzero(res_kw > 1.0), np.flatnonzero(com_kw > 1.0)
    load_bus = np.concatenate([lv[res_sites], lv[com_sites]])
    res_profile = daily_profile(RESIDENTIAL_HOURLY, rng, 0.02)
    com_profile = daily_profile(COMMERCIAL_HOURLY, rng, 0.02)
    load_kw = np.column_stack([np.outer(res_profile, res_kw[res_sites]), np.outer(com_profile, com_kw[com_sites])])
    tan_phi = np.concatenate(
        [
            np.full(res_sites.size, math.tan(math.acos(0.95))),
            np.full(com_sites.size, math.tan(math.acos(0.90))),
        ]
    )
    grid = Grid(
        bus_vn_kv=vn,
        line_from=np.array(line_from),
        line_to=np.array(line_to),
        line_r_ohm_per_km=np.full(length.size, MV_R_OHM_PER_KM),
        line_x_ohm_per_km=np.full(length.size, MV_X_OHM_PER_KM),
        line_b_us_per_km=np.full(length.size, MV_B_US_PER_KM),
        line_max_i_ka=np.full(length.size, MV_AMPACITY_KA),
        line_length_km=length,
        trafo_hv_bus=np.concatenate([[0], mv]),
        trafo_lv_bus=np.concatenate([[1], lv]),
        trafo_sn_kva=np.concatenate([[60_000.0], trafo_kva]),
        trafo_vk_percent=np.concatenate([[14.5], np.full(n_site, 5.0)]),
        trafo_vkr_percent=np.concatenate([[0.3], np.full(n_site, 1.0)]),
        trafo_pfe_kw=TRAFO_PFE_PERCENT / 100 * np.concatenate([[60_000.0], trafo_kva]),
        trafo_i0_percent=np.full(n_site + 1, TRAFO_I0_PERCENT),
        line_r0_ohm_per_km=np.full(length.size, MV_R0_PER_R * MV_R_OHM_PER_KM),
        line_x0_ohm_per_km=np.full(length.size, MV_X0_PER_X * MV_X_OHM_PER_KM),
        line_b0_us_per_km=np.full(length.size, MV_B_US_PER_KM),
        trafo_vector_group=np.array([SUBSTATION_GROUP] + [PAD_GROUP] * n_site),
        slack_s_sc_mva=SOURCE_S_SC_MVA,
        load_bus=load_bus,
        load_p_kw=np.concatenate([res_kw[res_sites], com_kw[com_sites]]),
        load_q_kvar=np.concatenate([res_kw[res_sites], com_kw[com_sites]]) * tan_phi,
        slack_bus=0,
        slack_vm_pu=1.0,
        bus_name=np.array(names),
        bus_xy=bus_xy,
    )

    # Chargers: residential slow, workplace slow, fast hubs at two BRT stations, shuttle depots.
    def nearest_site(points: np.ndarray) -> np.ndarray:
        return np.asarray(np.argmin(np.hypot(*(site_xy[None, :, :] - points[:, None, :]).transpose(2, 0, 1)), axis=1))

    slow_n = np.round(hh / 20).astype(int)
    work_n = np.round(jobs * (jobs > 200) / 60).astype(int)
    hubs = nearest_site(np.array([(c * dx, BRT_ROW * dy) for c in (BRT_STATION_COLS[0], BRT_STATION_COLS[2])]))
    depots = nearest_site(depot_xy)
    groups = [
        ("slow", 7.0, np.repeat(lv, slow_n)),
        ("workplace", 11.0, np.repeat(lv, work_n)),
        ("fast", 100.0, np.repeat(lv[hubs], 4)),
        ("depot", DEPOT_CHARGER_KW, np.repeat(lv[depots], DEPOT_CHARGERS)),
    ]
    ch_bus = np.concatenate([buses for _, _, buses in groups])
    ch_kw = np.concatenate([np.full(buses.size, kw) for _, kw, buses in groups])
    ch_kind = np.concatenate([np.full(buses.size, kind) for kind, _, buses in groups])

    def slot(hours: np.ndarray) -> np.ndarray:
        return np.clip(np.round(hours / SLOT_H), 0, SLOTS).astype(int)

    slow_ids = np.flatnonzero(ch_kind == "slow")
    work_ids = np.flatnonzero(ch_kind == "workplace")
    fast_ids = np.flatnonzero(ch_kind == "fast")
    n_over, n_eve = int(0.6 * slow_ids.size), int(0.85 * slow_ids.size)
    n_work, n_fast = int(0.8 * work_ids.size), 90
    fast_arrival = slot(rng.uniform(7.0, 22.0, n_fast))
    cars = [7.4, 11.0]
    kinds = [  # (chargers, arrival slot, departure slot, energy kWh, car's max kW)
        # Overnight: plugged in since yesterday, leave in the morning.
        (slow_ids, np.zeros(n_over, int), slot(rng.normal(7.5, 0.75, n_over).clip(5.5, 10)),
         rng.uniform(2.0, 12.0, n_over), rng.choice(cars, n_over)),
        # Evening: come home and stay past midnight.
        (slow_ids, slot(rng.normal(19.0, 1.5, n_eve).clip(16, 23.5)), np.full(n_eve, SLOTS),
         rng.uniform(6.0, 24.0, n_eve), rng.choice(cars, n_eve)),
        # Workplace: morning to evening.
        (work_ids, slot(rng.normal(8.75, 0.5, n_work).clip(7, 11)), slot(rng.normal(18.0, 1.0, n_work).clip(15, 22)),
         rng.uniform(5.0, 20.0, n_work), np.full(n_work, 11.0)),
        # Fast: 30-60 min stops through the day.
        (fast_ids, fast_arrival, fast_arrival + rng.integers(2, 5, n_fast),
         rng.uniform(15.0, 40.0, n_fast), rng.choice([50.0, 100.0, 150.0], n_fast)),
    ]  # fmt: skip
    sessions = [s for ids, a, d, kwh, kw in kinds for s in _sessions(rng, ids, a, d, kwh, kw, ch_kw)]
    arr = np.array(sessions, dtype=float).reshape(-1, 5)
    centre_site = nearest_site(np.array([(BRT_STATION_COLS[1] * dx, BRT_ROW * dy)]))
    return EnergyDay(
        grid=grid,
        slot_h=SLOT_H,
        load_kw=load_kw,
        load_kvar=load_kw * tan_phi,
        load_kind=np.repeat(["residential", "commercial"], [res_sites.size, com_sites.size]),
        pv_bus=lv,
        pv_kwp=PV_KWP_PER_HOUSEHOLD * hh + PV_KWP_PER_JOB * jobs,
        pv_profile_pu=_pv_profile(rng),
        battery_bus=lv[centre_site],
        battery_kwh=np.array([2000.0]),
        battery_kw=np.array([1000.0]),
        battery_soc0=np.array([0.5]),
        charger_bus=ch_bus,
        charger_kw=ch_kw,
        charger_kind=ch_kind,
        ev_charger=arr[:, 0].astype(int),
        ev_arrival_slot=arr[:, 1].astype(int),
        ev_departure_slot=arr[:, 2].astype(int),
        ev_energy_kwh=np.round(arr[:, 3], 2),
        ev_max_kw=arr[:, 4],
    )


def _fleet(lay: _Layout, energy: EnergyDay) -> Fleet:
    net = lay.net
    depots, _ = net.nearest_nodes(DEPOT_XY)
    depot_chargers = np.flatnonzero(energy.charger_kind == "depot")
    return Fleet(
        num_nodes=net.num_nodes,
        depot_node=depots,
        vehicle_depot=np.arange(SHUTTLES) % len(depots),
        vehicle_seats=np.full(SHUTTLES, SEATS),
        vehicle_battery_kwh=np.full(SHUTTLES, BATTERY_KWH),
        vehicle_kwh_per_km=np.full(SHUTTLES, KWH_PER_KM),
        vehicle_soc0=np.full(SHUTTLES, 0.9),
        charger_node=np.repeat(depots, DEPOT_CHARGERS),
        charger_kw=energy.charger_kw[depot_chargers],
        charger_bus=energy.charger_bus[depot_chargers],
    )


def _requests(lay: _Layout, rng: np.random.Generator) -> Requests:
    """A day of ride requests: Poisson arrivals per hour; in the peaks 45 % of rides go between
    home and a BRT station (to the station in the morning, back in the evening), 35 % between home
    and work; the rest, and off-peak rides, between any homes and destinations."""
    net = lay.net
    dx, dy = WIDTH_M / (COLS - 1), HEIGHT_M / (ROWS - 1)
    stations, _ = net.nearest_nodes(np.array([(c * dx, BRT_ROW * dy) for c in BRT_STATION_COLS]))
    home_p = lay.households / lay.households.sum()
    work_p = lay.jobs / lay.jobs.sum()
    any_p = (lay.households + lay.jobs) / (lay.households + lay.jobs).sum()
    counts = rng.poisson(REQUESTS_PER_HOUR)
    times = np.sort(np.concatenate([h * 3600.0 + rng.uniform(0, 3600, k) for h, k in enumerate(counts)]))
    hour = times / 3600
    peak = ((hour >= 6) & (hour < 10)) | ((hour >= 16) & (hour < 20))
    origin = np.zeros(times.size, dtype=np.int64)
    destination = np.zeros(times.size, dtype=np.int64)
    todo = np.arange(times.size)
    while todo.size:  # draw, then redraw the rides too short to take a shuttle
        k = todo.size
        u = np.where(peak[todo], rng.random(k), 1.0)
        station = u < 0.45
        commute = ~station & (u < 0.80)
        o = np.where(station | commute, rng.choice(net.num_nodes, k, p=home_p), rng.choice(net.num_nodes, k, p=any_p))
        d = np.where(
            station,
            rng.choice(stations, k),
            np.where(commute, rng.choice(net.num_nodes, k, p=work_p), rng.choice(net.num_nodes, k, p=any_p)),
        )
        back = hour[todo] >= 16
        origin[todo], destination[todo] = np.where(back & peak[todo], d, o), np.where(back & peak[todo], o, d)
        short = np.hypot(*(net.node_xy[origin[todo]] - net.node_xy[destination[todo]]).T) < MIN_RIDE_M
        todo = todo[short]
    return Requests(
        num_nodes=net.num_nodes,
        time_s=np.round(times, 1),
        origin=origin,
        destination=destination,
        passengers=rng.choice([1, 2, 3, 4], times.size, p=[0.78, 0.16, 0.05, 0.01]),
    )


def sejong_5_1(seed: int = 0) -> District:
    """The built-in Sejong 5-1 district, the same for the same ``seed``.

    Road network (~340 nodes, ~1,200 links), 40-50 signalised intersections with turning volumes
    for the AM peak, midday and PM peak hours, a 154/22.9/0.38 kV radial grid with a day of
    15-minute loads, PV, a community battery, chargers and EV sessions, 30 shuttles at two depots
    and a day of about 3,000 ride requests. See :data:`ASSUMPTIONS` for every figure's basis.
    """
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    rng = np.random.default_rng([int(seed), 51])
    lay = _road_network(rng)
    intersections, traffic = _intersections(lay)
    energy = _energy(lay, DEPOT_XY, rng)
    fleet = _fleet(lay, energy)
    requests = _requests(lay, rng)
    net = lay.net
    on_brt = [i for i, x in enumerate(intersections) if (net.link_type[x.approach_link] == "arterial_brt").sum() >= 2]
    brt = tuple(sorted(on_brt, key=lambda i: float(net.node_xy[intersections[i].node, 0])))
    facts = {
        "area_km2": WIDTH_M * HEIGHT_M / 1e6,
        "households": float(HOUSEHOLDS),
        "jobs": float(JOBS_INNOVATION + JOBS_CENTRE + JOBS_SCATTERED),
    }
    return District(
        name=f"Sejong 5-1 living area (Hapgang-dong), built-in scenario, seed {seed}",
        network=lay.net,
        periods=PERIODS,
        intersections=intersections,
        traffic=traffic,
        energy=energy,
        fleet=fleet,
        requests=requests,
        corridors={"BRT trunk": brt},
        facts=facts,
        assumptions=ASSUMPTIONS,
        signal_hours=SIGNAL_HOURS,
        peak_periods=PEAK_PERIODS,
    )
