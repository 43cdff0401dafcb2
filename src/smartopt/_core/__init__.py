"""Compiled extension modules (pybind11 C++ core and Cython kernels). Private: import from smartopt."""
