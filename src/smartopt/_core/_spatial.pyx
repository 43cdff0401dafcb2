# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Nearest-node search on a uniform grid of buckets (Cython: fast from the first call)."""

import numpy as np

from libc.math cimport floor, sqrt, INFINITY


cdef inline void scan_cell(const double[:, ::1] node_xy, const Py_ssize_t[::1] start, const Py_ssize_t[::1] order,
                           Py_ssize_t c, double x, double y, double* bd, Py_ssize_t* bi) noexcept nogil:
    cdef Py_ssize_t j, i
    cdef double d
    for j in range(start[c], start[c + 1]):
        i = order[j]
        d = (node_xy[i, 0] - x) * (node_xy[i, 0] - x) + (node_xy[i, 1] - y) * (node_xy[i, 1] - y)
        if d < bd[0] or (d == bd[0] and i < bi[0]):
            bd[0] = d
            bi[0] = i


def nearest_nodes(const double[:, ::1] node_xy, const double[:, ::1] query_xy):
    """Index of, and distance (m) to, the nearest node for each query point.

    Assumes finite coordinates and at least one node. Ties go to the lowest node index.
    """
    cdef Py_ssize_t n = node_xy.shape[0], q = query_xy.shape[0], i, k, c
    cdef double minx = INFINITY, miny = INFINITY, maxx = -INFINITY, maxy = -INFINITY
    for i in range(n):
        minx = min(minx, node_xy[i, 0]); maxx = max(maxx, node_xy[i, 0])
        miny = min(miny, node_xy[i, 1]); maxy = max(maxy, node_xy[i, 1])
    # About two nodes per cell on average; for nodes on (nearly) one line the longer side sets the
    # size, so the grid never has more than about 2n + 1 cells along a side (n nodes).
    cdef double span = max(maxx - minx, maxy - miny)
    cdef double cell = sqrt((maxx - minx) * (maxy - miny) * 2.0 / n)
    cell = max(cell, span / (2.0 * n), 1e-9)
    cdef Py_ssize_t nx = <Py_ssize_t>((maxx - minx) / cell) + 1
    cdef Py_ssize_t ny = <Py_ssize_t>((maxy - miny) / cell) + 1

    start_arr = np.zeros(nx * ny + 1, dtype=np.intp)
    order_arr = np.empty(n, dtype=np.intp)
    node_cell_arr = np.empty(n, dtype=np.intp)
    cdef Py_ssize_t[::1] start = start_arr, order = order_arr, node_cell = node_cell_arr
    for i in range(n):
        c = (<Py_ssize_t>((node_xy[i, 1] - miny) / cell)) * nx + <Py_ssize_t>((node_xy[i, 0] - minx) / cell)
        node_cell[i] = c
        start[c + 1] += 1
    for c in range(nx * ny):
        start[c + 1] += start[c]
    fill_arr = start_arr[:-1].copy()
    cdef Py_ssize_t[::1] fill = fill_arr
    for i in range(n):
        order[fill[node_cell[i]]] = i
        fill[node_cell[i]] += 1

    best_arr = np.empty(q, dtype=np.intp)
    dist_arr = np.empty(q, dtype=np.float64)
    cdef Py_ssize_t[::1] best = best_arr
    cdef double[::1] dist = dist_arr
    cdef Py_ssize_t cx, cy, r, r0, rmax, gx, gy, bi
    cdef double x, y, bd
    with nogil:
        for k in range(q):
            x = query_xy[k, 0]
            y = query_xy[k, 1]
            # Clamped so that far-away points cannot overflow the cell index.
            cx = <Py_ssize_t>min(max(floor((x - minx) / cell), -1e15), 1e15)
            cy = <Py_ssize_t>min(max(floor((y - miny) / cell), -1e15), 1e15)
            # First ring that touches the grid, and the last ring needed to cover all of it.
            r0 = max(max(-cx, cx - (nx - 1)), max(-cy, cy - (ny - 1)))
            r0 = max(r0, 0)
            rmax = max(max(cx, nx - 1 - cx), max(cy, ny - 1 - cy))
            bd = INFINITY
            bi = -1
            r = r0
            while r <= rmax:
                # The ring's bottom and top rows, then its left and right columns between them.
                if 0 <= cy - r < ny:
                    for gx in range(max(cx - r, 0), min(cx + r, nx - 1) + 1):
                        scan_cell(node_xy, start, order, (cy - r) * nx + gx, x, y, &bd, &bi)
                if r > 0:
                    if 0 <= cy + r < ny:
                        for gx in range(max(cx - r, 0), min(cx + r, nx - 1) + 1):
                            scan_cell(node_xy, start, order, (cy + r) * nx + gx, x, y, &bd, &bi)
                    for gy in range(max(cy - r + 1, 0), min(cy + r - 1, ny - 1) + 1):
                        if 0 <= cx - r < nx:
                            scan_cell(node_xy, start, order, gy * nx + cx - r, x, y, &bd, &bi)
                        if 0 <= cx + r < nx:
                            scan_cell(node_xy, start, order, gy * nx + cx + r, x, y, &bd, &bi)
                # Cells beyond ring r lie at least r * cell away.
                if bi >= 0 and bd <= (r * cell) * (r * cell):
                    break
                r += 1
            best[k] = bi
            dist[k] = sqrt(bd)
    return best_arr, dist_arr
