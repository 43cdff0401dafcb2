"""Snapping points to the nearest network node: the Cython grid-bucket kernel vs scipy's cKDTree
(build + query, as a service pays for both when the network changes) and numpy brute force.

Cython was chosen for this kernel because it is called inside live requests: it is fast from the
first call, where a Numba kernel would first spend a JIT compilation (measured here as
``numba-first-call``).
"""

from __future__ import annotations

import numpy as np
import pytest

from smartopt._core import _spatial
from smartopt.datasets import grid_network

TOOLS = ("smartopt-cython", "scipy-ckdtree", "numpy-brute", "numba-first-call")


def brute(nodes: np.ndarray, pts: np.ndarray) -> np.ndarray:
    out = np.empty(len(pts), dtype=np.intp)
    for start in range(0, len(pts), 256):
        chunk = pts[start : start + 256]
        d = ((chunk[:, None, :] - nodes[None, :, :]) ** 2).sum(axis=2)
        out[start : start + 256] = d.argmin(axis=1)
    return out


@pytest.mark.parametrize("tool", TOOLS)
def test_nearest_nodes(benchmark, scale: str, tool: str) -> None:  # type: ignore[no-untyped-def]
    side = 316 if scale == "full" else 30
    nodes = np.ascontiguousarray(grid_network(side, side).node_xy)
    n_points = 10_000 if scale == "full" else 200
    rng = np.random.default_rng(0)
    pts = rng.uniform(nodes.min(), nodes.max(), (n_points, 2))
    benchmark.group = f"nearest_nodes ({len(nodes)} nodes, {n_points} points)"
    benchmark.extra_info["tool"] = tool
    if tool == "smartopt-cython":
        result = benchmark(lambda: _spatial.nearest_nodes(nodes, pts)[0])
    elif tool == "scipy-ckdtree":
        from scipy.spatial import cKDTree

        result = benchmark(lambda: cKDTree(nodes).query(pts)[1])
    elif tool == "numpy-brute":
        if scale == "full":
            pts = pts[:500]  # brute force is O(nodes x points): 500 points already take seconds
            benchmark.extra_info["tool"] = "numpy-brute (500 pts)"
        result = benchmark.pedantic(brute, args=(nodes, pts), rounds=3, iterations=1)
    else:
        numba = pytest.importorskip("numba")

        def first_call() -> np.ndarray:
            @numba.njit(cache=False)
            def nearest(nodes: np.ndarray, pts: np.ndarray) -> np.ndarray:
                out = np.empty(len(pts), dtype=np.intp)
                for k in range(len(pts)):
                    best, bi = np.inf, -1
                    for i in range(len(nodes)):
                        d = (nodes[i, 0] - pts[k, 0]) ** 2 + (nodes[i, 1] - pts[k, 1]) ** 2
                        if d < best:
                            best, bi = d, i
                    out[k] = bi
                return out

            return nearest(nodes, pts[:1])  # one point: the time is the JIT compilation

        pts = pts[:1]
        result = benchmark.pedantic(first_call, rounds=3, iterations=1)
    ref = ((pts[:20, None, :] - nodes[None, :, :]) ** 2).sum(axis=2)
    np.testing.assert_allclose(ref[np.arange(len(ref)), result[:20]], ref.min(axis=1), rtol=1e-12)
