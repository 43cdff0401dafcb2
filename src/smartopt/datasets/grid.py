"""Synthetic grid networks for tests and benchmarks."""

from __future__ import annotations

import numpy as np

from smartopt._validation import float_array, positive_int
from smartopt.network.road import RoadNetwork


def grid_network(rows: int, cols: int, *, spacing_m: float = 100.0, seed: int = 0) -> RoadNetwork:
    """A ``rows x cols`` grid of two-way streets, ``spacing_m`` apart, with free-flow speeds drawn
    uniformly from 8 to 17 m/s (seeded), so that shortest paths by time and by length differ."""
    rows, cols = positive_int("rows", rows), positive_int("cols", cols)
    spacing_m = float(float_array("spacing_m", [spacing_m], positive=True)[0])
    if rows * cols < 2:
        raise ValueError("a grid needs at least two nodes")
    iy, ix = np.divmod(np.arange(rows * cols), cols)
    xy = np.column_stack([ix * spacing_m, iy * spacing_m]).astype(float)
    node = np.arange(rows * cols).reshape(rows, cols)
    a = np.concatenate([node[:, :-1].ravel(), node[:-1, :].ravel()])
    b = np.concatenate([node[:, 1:].ravel(), node[1:, :].ravel()])
    tail, head = np.concatenate([a, b]), np.concatenate([b, a])
    rng = np.random.default_rng(seed)
    speed = rng.uniform(8.0, 17.0, tail.size)
    return RoadNetwork.from_arrays(xy, tail, head, np.full(tail.size, float(spacing_m)), speed)
