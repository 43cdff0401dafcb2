"""``docs/results.md``, generated from the results tree's classes and their fields' docstrings
(:mod:`smartopt.app.results`): ``python -m smartopt.app._results_markdown > docs/results.md``."""

from __future__ import annotations

import ast
import dataclasses
import inspect
import re
import sys
import types
from collections.abc import Mapping
from typing import Any, Union, get_args, get_origin, get_type_hints

from smartopt.app.results import DistrictResults

__all__ = ["MARKDOWN_HEADER", "results_markdown"]

MARKDOWN_HEADER = """\
# `results.json`: the district day's results

`smartopt run --out DIR` (and `smartopt.app.pipeline.run_district(..., out=DIR)`) writes
`DIR/results.json`. Its top-level sections are `signals`, `energy`, `dispatch` and `coupling`,
beside the run's identity. Units are in the key names: `_s` seconds, `_h` hours, `_kw` kW, `_kwh`
kWh, `_kva` kVA, `_pu` per unit, `_vph` vehicles per hour, `_veh_h` vehicle-hours per hour,
`_percent` %, `_km` km, `_m` m. Times of day are `HH:MM` strings. Counts are ints (in a simulated
day's `kpis` every figure is a number); ratios are fractions in [0, 1] unless named `_percent`.
Numbers JSON cannot hold are strings or null: NaN is `null`, infinities are `"Infinity"` and
`"-Infinity"`.

In Python the file is a tree of frozen dataclasses, `smartopt.app.results.DistrictResults`
(`run_district(...).results`; `read_results(path)` loads a saved file, `to_dict()` gives it back).
`read_results` reads files of its own version: keys are added as smartopt grows, and a file with a
key this version does not know (written by a newer one) is refused with an error naming the key.

This page is generated from the classes' docstrings (`python -m smartopt.app._results_markdown`); a
test keeps it so. Each table is one class, headed by its name and every path where it is found. In
a path, `*` stands for a key that is data (a period's, a plan's or a day's name) and `[]` for the
items of a list.
"""


def results_markdown() -> str:
    """``docs/results.md``: :data:`MARKDOWN_HEADER`, then one table per class of the results tree
    (its fields: key, JSON type, meaning with units), from the classes' and fields' docstrings."""
    paths: dict[type[Any], list[str]] = {}
    _levels(DistrictResults, "", paths)
    parts = [MARKDOWN_HEADER]
    for cls, where in paths.items():
        hints = get_type_hints(cls)
        docs = _field_docs(cls)
        rows = [f"| `{f.name}` | {_json_type(hints[f.name])} | {docs[f.name]} |" for f in dataclasses.fields(cls)]
        found = ", ".join(f"`{p}`" for p in where) if where != [""] else "the file's top level"
        parts.append(
            f"## `{cls.__name__}`\n\nAt {found}. {_plain(cls.__doc__ or '')}\n\n"
            "| key | type | meaning |\n|---|---|---|\n" + "\n".join(rows) + "\n"
        )
    return "\n".join(parts)


def _levels(cls: type[Any], path: str, paths: dict[type[Any], list[str]]) -> None:
    """Adds ``path`` to the paths of ``cls`` and walks the tree under it, depth first in field order
    (``a.b.*.c``: ``*`` for a dict's key, ``[]`` for a list's items)."""
    paths.setdefault(cls, []).append(path)
    hints = get_type_hints(cls)
    for f in dataclasses.fields(cls):
        child, where = _child(hints[f.name], f"{path}.{f.name}".lstrip("."))
        if child is not None:
            _levels(child, where, paths)


def _child(tp: Any, path: str) -> tuple[type[Any] | None, str]:
    """The dataclass inside a field's type (through ``dict[str, X]``, ``Mapping[str, X]``,
    ``tuple[X, ...]`` and ``X | None``) and its path."""
    origin, args = get_origin(tp), get_args(tp)
    if origin in (dict, Mapping):
        return _child(args[1], f"{path}.*")
    if origin is tuple:
        return _child(args[0], f"{path}[]") if len(args) == 2 and args[1] is Ellipsis else (None, path)
    if origin in (Union, types.UnionType):
        return _child(next(a for a in args if a is not type(None)), path)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return tp, path
    return None, path


_SCALARS = {float: "number", int: "int", str: "string", bool: "true/false"}


def _json_type(tp: Any) -> str:
    """A field's JSON type as the page writes it: number, int, string, list of ..., ``{name: ...}``,
    or an object of the class with that table."""
    origin, args = get_origin(tp), get_args(tp)
    if tp in _SCALARS:
        return _SCALARS[tp]
    if origin in (dict, Mapping):
        return "{name: " + _json_type(args[1]) + "}"
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return "list of " + _json_type(args[0])
        return "[" + ", ".join(_json_type(a) for a in args) + "]"
    if origin in (Union, types.UnionType):
        return " or ".join("null" if a is type(None) else _json_type(a) for a in args)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return f"`{tp.__name__}` object"
    raise TypeError(f"no JSON type for {tp!r}")


def _field_docs(cls: type[Any]) -> dict[str, str]:
    """The docstring under each field of a dataclass (read from its source), on one line;
    ValueError naming a field that has none."""
    body = ast.parse(inspect.cleandoc("\n" + inspect.getsource(cls))).body[0]
    assert isinstance(body, ast.ClassDef)
    docs: dict[str, str] = {}
    for node, after in zip(body.body, body.body[1:], strict=False):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(after, ast.Expr)
            and isinstance(after.value, ast.Constant)
            and isinstance(after.value.value, str)
        ):
            docs[node.target.id] = _plain(after.value.value)
    missing = [f.name for f in dataclasses.fields(cls) if f.name not in docs]
    if missing:
        raise ValueError(f"{cls.__name__}: field {missing[0]!r} has no docstring")
    return docs


def _plain(text: str) -> str:
    """A docstring as one line of markdown: ReST roles (``:func:`name```) and double backquotes
    become `name`."""
    text = re.sub(r":[a-z]+:`~?([^`]+)`", r"`\1`", text)
    return " ".join(text.replace("``", "`").split())


if __name__ == "__main__":
    sys.stdout.write(results_markdown())
