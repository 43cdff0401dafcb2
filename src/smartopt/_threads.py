"""How many threads smartopt's parallel kernels (C++ power flow and travel times, Numba) use when a
call does not say: ``SMARTOPT_NUM_THREADS`` if set, else every core. Results never depend on it."""

from __future__ import annotations

import os
import sys

ENV = "SMARTOPT_NUM_THREADS"


def default_threads() -> int:
    """The thread count from ``SMARTOPT_NUM_THREADS`` (an int >= 1), else the number of cores."""
    value = os.environ.get(ENV, "")
    if not value:
        return os.cpu_count() or 1
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{ENV}={value!r} must be an int >= 1")
    return int(value)


def use_threads(n: int) -> None:
    """Makes ``n`` threads this process's default for smartopt's kernels and Numba's."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"threads must be an int >= 1, got {n!r}")
    os.environ[ENV] = os.environ["NUMBA_NUM_THREADS"] = str(n)
    if "numba" in sys.modules:  # already loaded: its pool is sized, use at most n of it
        import numba

        numba.set_num_threads(min(n, int(getattr(numba.config, "NUMBA_NUM_THREADS", n))))
