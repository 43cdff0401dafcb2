"""Feedback from calls that take seconds: progress bars (a widget in a Jupyter notebook when
ipywidgets is installed, a text bar on stderr otherwise, through ``tqdm.auto``, and never a warning
about either), and the logs of long searches on stdout (``log=True``, like PyVRP's ``display``)."""

from __future__ import annotations

import math
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from functools import cache
from typing import Any, TypeVar

T = TypeVar("T")


def in_kernel() -> bool:
    """Whether this process is a Jupyter kernel (IPython's kernel app is running)."""
    ipython = sys.modules.get("IPython")
    shell = getattr(ipython, "get_ipython", lambda: None)()
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


def shown(enabled: bool | None) -> bool:
    """Whether a bar shows: ``enabled``, or if None when stderr is a terminal or in a Jupyter kernel.
    ``TypeError`` names ``progress`` (the parameter of the public calls) for anything else."""
    if enabled is None:
        return bool(getattr(sys.stderr, "isatty", lambda: False)()) or in_kernel()
    if not isinstance(enabled, bool):
        raise TypeError(f"progress must be True, False or None, got {enabled!r}")
    return enabled


@cache
def _bar() -> Any:
    """``tqdm.auto.tqdm``, imported without its warnings: "IProgress not found" in a kernel without
    ipywidgets (the text bar is then used) and ``TqdmExperimentalWarning``."""
    from tqdm import TqdmWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TqdmWarning)  # TqdmExperimentalWarning is one too
        from tqdm.auto import tqdm
    return tqdm


def progress(
    iterable: Iterable[T], *, total: int | None = None, desc: str, unit: str = "it", enabled: bool | None = None
) -> Iterator[T]:
    """``iterable`` with a progress bar labelled ``desc`` counting ``unit`` up to ``total`` (default:
    its length), shown as :func:`shown` decides; disabled, tqdm is not even imported."""
    if not shown(enabled):
        return iter(iterable)
    return iter(_bar()(iterable, total=total, desc=desc, unit=unit))


class SearchLog:
    """A search's progress on stdout when ``enabled``: a header, a line when the search starts and
    then about every ``every_s`` seconds (the ``counting`` so far, e.g. iterations, the seconds
    since ``started`` and the ``shown`` value, e.g. "best cost", the ``keep`` of those reported:
    the least by default), and a summary. Disabled, it prints nothing."""

    def __init__(
        self,
        name: str,
        shown: str,
        *,
        enabled: bool,
        started: float,
        every_s: float = 1.0,
        counting: str = "iterations",
        keep: Callable[[float, float], float] = min,
    ) -> None:
        self.name, self.shown, self.enabled, self.counting, self.keep = name, shown, enabled, counting, keep
        self.started, self.every_s = started, every_s
        self.value = math.nan  # the value kept so far
        self.due = started  # the first line at once
        self.last = -1  # the count on the last line printed

    def header(self, about: str, iterations: int | None, time_limit_s: float | None) -> None:
        """The search's name, what it solves and its budget (None: none), and the column titles."""
        if self.enabled:
            budget = [f"{iterations:,} {self.counting}"] if iterations is not None else []
            budget += [f"{time_limit_s:g} s"] if time_limit_s is not None else []
            print(f"{self.name}: {about} within {' and '.join(budget)}")
            print(f"{self.counting:>11} {'time (s)':>9}  {self.shown}", flush=True)

    def line(self, count: int, value: float, *, force: bool = False) -> None:
        """Keeps ``value`` if ``keep`` prefers it; prints a line if one is due (or ``force``: the
        caller paces the lines, as the compiled searches do) and ``count`` moved on."""
        self.value = value if math.isnan(self.value) else self.keep(self.value, value)
        now = time.perf_counter()
        if self.enabled and (force or now >= self.due) and count != self.last:
            self.due, self.last = now + self.every_s, count
            print(f"{count:>11,} {now - self.started:>9.2f}  {self.value:.6g}", flush=True)

    def summary(self, text: str) -> None:
        """The last line: how the search ended."""
        if self.enabled:
            print(f"{self.name}: {text}", flush=True)
