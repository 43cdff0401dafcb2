"""Shared by the results-tree tests: every class of the district day's results tree, and filled-in
example trees (``smartopt.app.results``)."""

from __future__ import annotations

import dataclasses
import math
import types
from collections.abc import Mapping
from typing import Any, Union, get_args, get_origin, get_type_hints

from smartopt.app.results import DistrictResults


def tree_classes() -> list[type[Any]]:
    """Every class of the results tree, from the root down."""
    found: list[type[Any]] = []

    def visit(tp: Any) -> None:
        if isinstance(tp, type) and dataclasses.is_dataclass(tp) and tp not in found:
            found.append(tp)
            for hint in get_type_hints(tp).values():
                visit(hint)
        for arg in get_args(tp):
            visit(arg)

    visit(DistrictResults)
    return found


def example(tp: Any, variant: int = 0) -> Any:
    """A value of type ``tp``: ``variant`` 0 fills every field (two items per list and dict),
    1 gives NaN for floats, null where allowed and empty lists and dicts."""
    origin, args = get_origin(tp), get_args(tp)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        hints = get_type_hints(tp)
        return tp(**{f.name: example(hints[f.name], variant) for f in dataclasses.fields(tp)})
    if origin in (Union, types.UnionType):
        return None if variant and type(None) in args else example(args[0], variant)
    if origin in (dict, Mapping):
        return {} if variant else {f"key_{k}": example(args[1], variant) for k in range(2)}
    if origin is tuple and args[-1] is Ellipsis:
        return () if variant else tuple(example(args[0], variant) for _ in range(2))
    if origin is tuple:
        return tuple(example(a, variant) for a in args)
    return {float: math.nan if variant else 1.25, int: 3, str: "text", bool: True}[tp]


def example_results(delays_veh_h: dict[str, float] | None = None) -> DistrictResults:
    """A filled-in results tree; with ``delays_veh_h`` its signal periods are those names, each with
    smartopt's plan at that total delay (veh·h/h)."""
    results: DistrictResults = example(DistrictResults)
    if delays_veh_h is None:
        return results
    period = results.signals.periods["key_0"]
    timing = period.timing["key_0"]
    periods = {
        name: dataclasses.replace(period, timing={"smartopt": dataclasses.replace(timing, total_delay_veh_h=delay)})
        for name, delay in delays_veh_h.items()
    }
    return dataclasses.replace(results, signals=dataclasses.replace(results.signals, periods=periods))
