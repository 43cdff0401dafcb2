"""A Manhattan-like city for city-scale dispatch: a long grid of one-way avenues and streets and a
weekday of taxi rides shaped like New York's (peaks, hot spots, short trips). Generated and seeded,
no data files: the shapes below are rounded from public descriptions of the NYC TLC trip records,
not fitted to them.

- :func:`manhattan_like`: ``avenues x streets`` intersections (16 x 250 = 4,000 by default), avenues
  260 m apart running along the island and one-way in alternating directions, streets 80 m apart
  one-way in alternating directions; the two river drives and every tenth street (the crosstown
  streets) two-way. Free-flow speeds (m/s) per road kind in :data:`ROAD_SPEEDS_MPS`, each link
  within +-15 % (seeded).
- :func:`taxi_day`: rides over the day by :data:`TAXI_HOURLY_SHARE`; origins and destinations
  drawn from a residential background and business hot spots (:data:`HOT_SPOTS`), towards the
  hot spots in the morning and away from them in the evening; destinations chosen by a gravity
  model with :data:`TRIP_LENGTH_M` (a mean trip of about 3 km, as Manhattan's).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from smartopt._validation import FloatArray, float_array, positive_float, positive_int, seed_int
from smartopt.dispatch.model import Requests
from smartopt.network.road import RoadNetwork

ROAD_SPEEDS_MPS = {"avenue": 9.0, "street": 6.5, "crosstown": 8.0, "drive": 15.0}
"""Free-flow speed per road kind (m/s): avenues, one-way streets, two-way crosstown streets and
the two river drives (the first and last avenue)."""
ROAD_LANES = {"avenue": 4, "street": 2, "crosstown": 2, "drive": 3}
"""Lanes per direction of each road kind."""
CROSSTOWN_EVERY = 10
"""Every this many streets is a two-way crosstown street."""
TAXI_HOURLY_SHARE = np.array(
    [3.3, 2.4, 1.8, 1.3, 1.0, 1.0, 2.1, 3.9, 4.7, 4.8, 4.5, 4.6,
     4.8, 4.7, 4.9, 4.8, 4.3, 5.2, 6.1, 6.4, 6.0, 5.8, 5.7, 5.0]
)  # fmt: skip
"""Share of a weekday's taxi rides starting in each hour (%): the night low at 4-6 am, the
morning rise, a flat day and the evening peak at 7 pm."""
HOT_SPOTS = (
    ("midtown", 0.55, 0.5, 1_500.0, 6.0),
    ("downtown", 0.07, 0.6, 1_000.0, 4.0),
    ("upper east side", 0.78, 0.7, 1_200.0, 1.5),
    ("upper west side", 0.78, 0.3, 1_200.0, 1.5),
)
"""Business and nightlife hot spots: name, position along and across the grid (fractions), spread
(m) and peak weight over the uniform residential background (1)."""
TRIP_LENGTH_M = 2_500.0
"""Scale of the gravity model: a destination ``d`` m away is ``exp(-d / TRIP_LENGTH_M)`` as likely."""
PASSENGERS_SHARE = (0.75, 0.15, 0.05, 0.05)
"""Share of rides with 1, 2, 3 and 4 passengers."""
_CANDIDATES = 24  # destinations drawn per ride for the gravity choice


def manhattan_like(
    *,
    avenues: int = 16,
    streets: int = 250,
    avenue_spacing_m: float = 260.0,
    street_spacing_m: float = 80.0,
    seed: int = 0,
) -> RoadNetwork:
    """A Manhattan-like grid of ``avenues x streets`` intersections (see the module doc); node
    ``a + avenues * s`` is avenue ``a`` at street ``s``, at ``(a * avenue_spacing_m,
    s * street_spacing_m)`` m; links are named by their road and typed by its kind."""
    avenues, streets = positive_int("avenues", avenues), positive_int("streets", streets)
    if avenues < 2 or streets < 2:
        raise ValueError(f"a city needs at least 2 avenues and 2 streets, got {avenues} x {streets}")
    dx = positive_float("avenue_spacing_m", avenue_spacing_m, maximum=1e5)
    dy = positive_float("street_spacing_m", street_spacing_m, maximum=1e5)
    rng = np.random.default_rng(seed_int("seed", seed))
    node = np.arange(avenues * streets).reshape(streets, avenues)
    tails: list[npt.NDArray[np.int64]] = []
    heads: list[npt.NDArray[np.int64]] = []
    kinds: list[str] = []
    names: list[str] = []
    lengths: list[float] = []

    def road(path: npt.NDArray[np.int64], kind: str, name: str, step_m: float, both: bool) -> None:
        """One road through ``path`` (nodes in order), one-way along it unless ``both``."""
        pairs = [(path[:-1], path[1:])] + ([(path[1:], path[:-1])] if both else [])
        for a, b in pairs:
            tails.append(a)
            heads.append(b)
            kinds.extend([kind] * a.size)
            names.extend([name] * a.size)
            lengths.extend([step_m] * a.size)

    for a in range(avenues):
        drive = a in (0, avenues - 1)
        path = node[:, a] if a % 2 == 0 else node[::-1, a]  # alternately up and down the island
        road(path, "drive" if drive else "avenue", f"avenue {a + 1}", dy, drive)
    for s in range(streets):
        crosstown = s % CROSSTOWN_EVERY == 0
        path = node[s, :] if s % 2 == 0 else node[s, ::-1]
        road(path, "crosstown" if crosstown else "street", f"street {s + 1}", dx, crosstown)
    kind = np.array(kinds)
    speed = np.array([ROAD_SPEEDS_MPS[k] for k in kinds]) * rng.uniform(0.85, 1.15, kind.size)
    iy, ix = np.divmod(np.arange(avenues * streets), avenues)
    return RoadNetwork(
        node_xy=np.column_stack([ix * dx, iy * dy]).astype(float),
        link_tail=np.concatenate(tails),
        link_head=np.concatenate(heads),
        link_length_m=np.array(lengths),
        link_speed_mps=speed,
        link_lanes=np.array([ROAD_LANES[k] for k in kinds]),
        link_name=np.array(names),
        link_type=kind,
    )


def _hot_spot_weight(xy: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Per node: the residential background (1 everywhere) and the hot spots' weight."""
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    span = np.maximum(hi - lo, 1.0)
    spots = np.zeros(xy.shape[0])
    for _, along, across, spread_m, peak in HOT_SPOTS:
        centre = lo + span * np.array([across, along])
        spots += peak * np.exp(-0.5 * (np.linalg.norm(xy - centre, axis=1) / spread_m) ** 2)
    return np.ones(xy.shape[0]), spots


def _draw(
    rng: np.random.Generator,
    first: npt.NDArray[np.bool_],
    weights: tuple[FloatArray, FloatArray],
    shape: tuple[int, ...],
) -> npt.NDArray[np.int64]:
    """Nodes drawn by the first weights where ``first``, else by the second; ``shape`` per ride."""
    out = np.empty((first.size, *shape), np.int64)
    for rows, w in ((first, weights[0]), (~first, weights[1])):
        out[rows] = rng.choice(w.size, (int(rows.sum()), *shape), p=w / w.sum())
    return out


def taxi_day(
    network: RoadNetwork,
    *,
    rides: int = 400_000,
    seed: int = 0,
    max_wait_s: float = 300.0,
    max_delay_s: float = 600.0,
    hourly_share: npt.ArrayLike = TAXI_HOURLY_SHARE,
) -> Requests:
    """A weekday of ``rides`` taxi requests on ``network`` (see the module doc): request times over
    the day by ``hourly_share`` (24 values, any scale), passengers by
    :data:`PASSENGERS_SHARE`; each rider picked up within ``max_wait_s`` and delivered within
    ``max_delay_s`` of the direct trip's arrival had the ride started at the request (Alonso-Mora
    et al.'s limits: waiting at most Omega, total delay at most 2 Omega; here time on board at
    most ``max_delay_s - max_wait_s`` over the direct drive)."""
    rides = positive_int("rides", rides, maximum=10_000_000)
    wait = positive_float("max_wait_s", max_wait_s, maximum=86_400.0)
    delay = positive_float("max_delay_s", max_delay_s, maximum=86_400.0)
    if delay < wait:
        raise ValueError(f"max_delay_s={delay:g} must be at least max_wait_s={wait:g}")
    share = float_array("hourly_share", hourly_share, (24,), nonnegative=True)
    if share.sum() <= 0:
        raise ValueError("hourly_share must have some positive hour")
    rng = np.random.default_rng(seed_int("seed", seed))
    time_s = np.sort(3600.0 * (rng.choice(24, rides, p=share / share.sum()) + rng.random(rides)))
    hour = (time_s // 3600).astype(np.int64)
    xy = np.asarray(network.node_xy, dtype=float)
    n = xy.shape[0]
    if n < 2:
        raise ValueError("a taxi day needs a network of at least two nodes")
    home, spots = _hot_spot_weight(xy)
    # Morning rides go from homes to the hot spots, evening rides back; the rest mix both.
    towards = np.where((hour >= 6) & (hour < 11), 0.8, np.where((hour >= 16) & (hour < 21), 0.2, 0.5))
    origin = _draw(rng, rng.random(rides) >= towards, (spots, home), ())
    candidates = _draw(rng, rng.random(rides) < towards, (spots, home), (_CANDIDATES,))
    distance = np.linalg.norm(xy[candidates] - xy[origin][:, None, :], axis=2)
    gravity = np.where(candidates == origin[:, None], 0.0, np.exp(-distance / TRIP_LENGTH_M))
    # One candidate per ride with probability by gravity (Gumbel-max); a ride whose candidates are
    # all its origin takes the next node.
    pick = np.argmax(np.log(gravity + 1e-300) + rng.gumbel(size=gravity.shape), axis=1)
    destination = candidates[np.arange(rides), pick]
    same = destination == origin
    destination[same] = (origin[same] + 1) % n
    passengers = 1 + rng.choice(len(PASSENGERS_SHARE), rides, p=np.array(PASSENGERS_SHARE))
    return Requests(
        num_nodes=n,
        time_s=time_s,
        origin=origin,
        destination=destination,
        passengers=passengers,
        max_wait_s=wait,
        max_detour=np.inf,
        max_detour_s=delay - wait,
    )
