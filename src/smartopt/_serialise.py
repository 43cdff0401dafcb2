"""``to_dict()`` for results: plain JSON types from dataclasses holding numpy arrays."""

from __future__ import annotations

import dataclasses
import math
from typing import Any, ClassVar

import numpy as np


def to_jsonable(value: Any) -> Any:
    """``value`` as JSON types: dataclasses become dicts of their fields (see :class:`ToDict`),
    numpy arrays nested lists, complex numbers ``[re, im]``, non-finite floats None."""
    if isinstance(value, ToDict):
        return value.to_dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, np.ndarray):
        return [to_jsonable(v) for v in value.tolist()] if value.dtype.kind in "fc" else value.tolist()
    if isinstance(value, np.generic):
        return to_jsonable(value.item())
    if isinstance(value, complex):
        return [to_jsonable(value.real), to_jsonable(value.imag)]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    return value


class ToDict:
    """Adds ``to_dict()`` to a result dataclass: its fields as JSON types (``json.dumps`` works
    with ``allow_nan=False``), except the inputs named in ``_inputs`` (the problem it solved)."""

    _inputs: ClassVar[tuple[str, ...]] = ()

    def to_dict(self) -> dict[str, Any]:
        """The result's fields as JSON-ready types (arrays as lists; NaN and inf as None)."""
        assert dataclasses.is_dataclass(self)
        return {
            f.name: to_jsonable(getattr(self, f.name)) for f in dataclasses.fields(self) if f.name not in self._inputs
        }
