"""smartopt: optimisation for a smart-city district — signal timing, energy load balancing, vehicle dispatch.

Submodules load on first use, so ``import smartopt`` stays fast (no Numba or OR-Tools at import time):

- :mod:`smartopt.network`: road networks and the C++ travel-time engine;
- :mod:`smartopt.signals`, :mod:`smartopt.energy`, :mod:`smartopt.dispatch`: the three domains;
- :mod:`smartopt.datasets`: the built-in Sejong 5-1 district;
- :mod:`smartopt.app`: the application that joins the domains: the district model, the district day
  as one system (``smartopt run``), the report, scenario sweeps and the command line;
- ``smartopt.sweep(scenarios, fn="run", client=None)``: scenario sweeps on Dask
  (:func:`smartopt.app.scenarios.sweep`).
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"  # the one place the version is set; pyproject.toml reads it

_SUBMODULES = ("network", "signals", "energy", "dispatch", "datasets", "app")

__all__ = ["__version__", "sweep", *_SUBMODULES]


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"smartopt.{name}")
    if name == "sweep":
        return importlib.import_module("smartopt.app.scenarios").sweep
    raise AttributeError(f"module 'smartopt' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
