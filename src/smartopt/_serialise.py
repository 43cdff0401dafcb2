"""``to_dict()``/``from_dict()`` for results and problems: plain JSON types from dataclasses holding
numpy arrays, and back.

JSON has no NaN or infinity: NaN becomes ``None`` (null) and infinities the strings
``"Infinity"``/``"-Infinity"`` (as JavaScript's ``Number()`` and Python's ``float()`` read them), so
``json.dumps(..., allow_nan=False)`` works and nothing is lost. ``from_dict`` reads the fields'
declared types back: ``FloatArray`` as float64, ``IntArray`` as int32 (the library's conventions),
other arrays with their declared dtype (``None`` back to NaN in float arrays; arrays of undeclared
dtype as int32, float64, bool or str by their values), nested dataclasses, tuples, lists and dicts.
An empty array comes back with shape ``(0,)``: JSON keeps no other dimension of it.
"""

from __future__ import annotations

import dataclasses
import math
import types
from collections.abc import Mapping
from typing import Any, ClassVar, Literal, Self, Union, get_args, get_origin, get_type_hints, is_typeddict

import numpy as np
import numpy.typing as npt

INFINITY = {"Infinity": math.inf, "-Infinity": -math.inf}
"""JSON spellings of the infinities (``to_dict`` writes them, ``from_dict`` reads them)."""
INT32 = (-(2**31), 2**31 - 1)
"""The int32 range: whole numbers of an undeclared dtype in it come back as int32."""


def to_jsonable(value: Any) -> Any:
    """``value`` as JSON types: dataclasses become dicts of their fields (see :class:`ToDict`),
    numpy arrays nested lists, complex numbers ``[re, im]``, NaN None, infinities
    ``"Infinity"``/``"-Infinity"``."""
    if isinstance(value, ToDict):
        return value.to_dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in _public_fields(value)}
    if isinstance(value, np.ndarray):
        return [to_jsonable(v) for v in value.tolist()] if value.dtype.kind in "fc" else value.tolist()
    if isinstance(value, np.generic):
        return to_jsonable(value.item())
    if isinstance(value, complex):
        return [to_jsonable(value.real), to_jsonable(value.imag)]
    if isinstance(value, float):
        if math.isnan(value):
            return None
        return value if math.isfinite(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    return value


class ToDict:
    """Adds ``to_dict()`` and ``from_dict()`` to a dataclass (a result or a problem): its fields as
    JSON types (``json.dumps`` works with ``allow_nan=False``), except the inputs named in
    ``_inputs`` (the problem a result solved), which ``from_dict`` takes as keyword arguments."""

    _inputs: ClassVar[tuple[str, ...]] = ()

    def to_dict(self) -> dict[str, Any]:
        """The fields as JSON-ready types (arrays as lists; NaN as None, infinities as
        ``"Infinity"``/``"-Infinity"``), without the inputs named in ``_inputs`` and private fields."""
        assert dataclasses.is_dataclass(self)
        return {f.name: to_jsonable(getattr(self, f.name)) for f in _public_fields(self) if f.name not in self._inputs}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], **inputs: Any) -> Self:
        """The object ``to_dict()`` gave ``data`` (or its JSON text, parsed), rebuilt by the fields'
        declared types; ``inputs`` are the fields named in ``_inputs`` (which ``to_dict`` leaves
        out). Raises ``TypeError`` naming missing or unknown inputs, ``ValueError`` naming a
        missing, unknown or malformed field."""
        _check_inputs(cls, inputs, f"{cls.__name__}.from_dict")
        out: Self = _build(cls, data, cls.__name__, inputs, cls._nested_inputs(inputs))
        return out

    @classmethod
    def _nested_inputs(cls, inputs: dict[str, Any]) -> dict[str, Any]:
        """The inputs of the results nested in this one, from this one's (by default the same; a
        nested result takes those its ``_inputs`` name)."""
        return inputs


def _public_fields(obj: Any) -> list[dataclasses.Field[Any]]:
    """A dataclass's fields but the private ones (``_name``: caches such as compiled objects)."""
    return [f for f in dataclasses.fields(obj) if not f.name.startswith("_")]


def _check_inputs(cls: type[ToDict], inputs: dict[str, Any], where: str) -> None:
    """TypeError naming the inputs of ``cls`` missing from ``inputs``, and those it does not take."""
    missing = [name for name in cls._inputs if name not in inputs]
    unknown = sorted(set(inputs) - set(cls._inputs))
    if missing or unknown:
        wanted = f"takes the inputs {', '.join(cls._inputs)}" if cls._inputs else "takes no inputs"
        found = [f"{what} {', '.join(names)}" for what, names in (("missing", missing), ("unknown", unknown)) if names]
        raise TypeError(f"{where} {wanted}: {'; '.join(found)}")


def _build(cls: type[Any], data: Any, where: str, inputs: dict[str, Any], nested: dict[str, Any]) -> Any:
    """``cls`` (a dataclass) from its ``to_dict`` form ``data``: ``inputs`` fill the fields it left
    out, ``nested`` go to nested results."""
    if not isinstance(data, Mapping):
        raise ValueError(f"{where}: expected a dict of fields, got {type(data).__name__}")
    fields = [f for f in dataclasses.fields(cls) if f.init]
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"{where}: unknown field(s) {', '.join(map(str, unknown))}")
    hints = _hints(cls)
    values: dict[str, Any] = {}
    for f in fields:
        if f.name in inputs:
            values[f.name] = inputs[f.name]
        elif f.name in data:
            values[f.name] = _value(hints[f.name], data[f.name], f"{where}.{f.name}", nested)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ValueError(f"{where}: missing field {f.name!r}")
    return cls(**values)


_HINTS: dict[type[Any], dict[str, Any]] = {}


def _hints(cls: type[Any]) -> dict[str, Any]:
    """The declared types of a class's fields, resolved (once per class)."""
    if cls not in _HINTS:
        _HINTS[cls] = get_type_hints(cls)
    return _HINTS[cls]


def _value(tp: Any, data: Any, where: str, nested: dict[str, Any]) -> Any:
    """``data`` (JSON types) as the declared type ``tp``."""
    origin, args = get_origin(tp), get_args(tp)
    if tp is Any:  # whatever the data is: lists as arrays, the infinities' strings as floats
        if isinstance(data, list):
            return _array(Any, data, where)
        return INFINITY.get(data, data) if isinstance(data, str) else data
    if origin in (Union, types.UnionType):
        if data is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        for option in options[:-1]:
            try:
                return _value(option, data, where, nested)
            except (TypeError, ValueError):
                continue
        return _value(options[-1], data, where, nested)
    if origin is Literal:
        if data not in args:
            raise ValueError(f"{where}: {data!r} is not one of {args}")
        return data
    if tp is np.ndarray or origin is np.ndarray:
        return _array(args[1] if len(args) == 2 else Any, data, where)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        if issubclass(tp, ToDict):
            own = {k: v for k, v in nested.items() if k in tp._inputs}
            _check_inputs(tp, own, f"{where} ({tp.__name__})")
            return _build(tp, data, where, own, tp._nested_inputs(own))
        return _build(tp, data, where, {}, nested)
    if is_typeddict(tp):
        hints = _hints(tp)
        _check(dict, data, where)
        return {k: _value(hints.get(k, Any), v, f"{where}[{k!r}]", nested) for k, v in data.items()}
    if origin in (tuple, list):
        _check(list, data, where)
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            if len(args) != len(data):
                raise ValueError(f"{where}: expected {len(args)} items, got {len(data)}")
            return tuple(_value(a, v, f"{where}[{i}]", nested) for i, (a, v) in enumerate(zip(args, data, strict=True)))
        item = args[0] if args else Any
        out = [_value(item, v, f"{where}[{i}]", nested) for i, v in enumerate(data)]
        return tuple(out) if origin is tuple else out
    if origin in (dict, Mapping) or tp is dict:
        _check(dict, data, where)
        key, item = args if args else (Any, Any)
        return {_key(key, k, where): _value(item, v, f"{where}[{k!r}]", nested) for k, v in data.items()}
    return _scalar(tp, data, where)


def _check(kind: type, data: Any, where: str) -> None:
    if not isinstance(data, kind):
        raise ValueError(f"{where}: expected a {kind.__name__}, got {type(data).__name__}")


def _key(tp: Any, key: str, where: str) -> Any:
    """A dict key back from its JSON string."""
    if tp in (int, float):
        try:
            return tp(key)
        except ValueError:
            raise ValueError(f"{where}: key {key!r} is not a {tp.__name__}") from None
    return key


def _scalar(tp: Any, data: Any, where: str) -> Any:
    """A float (None: NaN; ``"Infinity"``), int, bool or str; another type as :data:`Any`."""
    if tp is float:
        if data is None:
            return math.nan
        if isinstance(data, str) and data in INFINITY:
            return INFINITY[data]
        if isinstance(data, int | float) and not isinstance(data, bool):
            return float(data)
    elif tp is bool:
        if isinstance(data, bool):
            return data
    elif tp is int:
        if isinstance(data, int) and not isinstance(data, bool):
            return data
    elif tp is str:
        if isinstance(data, str):
            return data
    else:  # a type JSON cannot tell (e.g. ArrayLike): lists as arrays; the constructor checks them
        return _value(Any, data, where, {})
    raise ValueError(f"{where}: expected a {tp.__name__}, got {data!r}")


def _array(dtype: Any, data: Any, where: str) -> npt.NDArray[Any]:
    """A numpy array of the declared ``dtype`` (``np.dtype[...]``): floats from numbers, None (NaN)
    and the infinities' strings; complex numbers from ``[re, im]`` pairs."""
    scalar = get_args(dtype)[0] if get_origin(dtype) is np.dtype else Any
    kind = _KINDS.get(get_origin(scalar) or scalar)
    want = np.dtype(scalar) if kind is None and isinstance(scalar, type) and scalar is not Any else kind
    try:
        if (want is not None and want.kind in "fc") or (want is None and _has_float_words(data)):
            raw = np.array(data, dtype=object)
            raw[_equal(raw, None)] = math.nan
            for word, number in INFINITY.items():
                raw[_equal(raw, word)] = number
            if want is not None and want.kind == "c":
                if raw.size == 0:
                    return np.zeros(raw.shape, want)
                pairs = raw.astype(np.float64)
                if pairs.shape[-1] != 2:
                    raise ValueError("complex numbers must be [re, im] pairs")
                return np.asarray(pairs[..., 0] + 1j * pairs[..., 1], dtype=want)
            return np.asarray(raw.astype(want or np.float64))
        out = np.array(data)
        if want is not None and out.size:
            if want.kind in "iub" and out.dtype.kind != ("b" if want.kind == "b" else "i"):
                raise ValueError(f"{'booleans' if want.kind == 'b' else 'whole numbers'} only")
            cast = out.astype(want)
            if want.kind in "iu" and not np.array_equal(cast, out):
                raise ValueError(f"out of the {want} range")
            out = cast
        elif want is not None:
            out = out.astype(want)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ValueError(f"{where}: not an array of {want or 'numbers'} ({exc})") from None
    if out.dtype == object:
        raise ValueError(f"{where}: not a rectangular array of numbers or strings")
    if want is None and out.dtype.kind == "i" and out.size and INT32[0] <= out.min() and out.max() <= INT32[1]:
        return out.astype(np.int32)  # undeclared whole numbers: int32, the library's integers
    return out


_KINDS: dict[Any, np.dtype[Any] | None] = {
    np.floating: np.dtype(np.float64),
    np.integer: np.dtype(np.int32),
    np.signedinteger: np.dtype(np.int32),
    np.complexfloating: np.dtype(np.complex128),
    np.generic: None,
    Any: None,
}
"""Array dtypes for generic scalar types: the library's conventions (``FloatArray`` float64,
``IntArray`` int32; None: whatever the data is)."""


def _equal(raw: npt.NDArray[Any], value: Any) -> npt.NDArray[np.bool_]:
    """Where an object array holds ``value`` (None, or a string), elementwise."""
    same = np.frompyfunc(lambda v: v is value or (isinstance(v, str) and v == value), 1, 1)
    return np.asarray(same(raw), dtype=bool)


def _has_float_words(data: Any) -> bool:
    """Whether nested lists hold None or an infinity's string (an array of floats)."""
    if isinstance(data, list):
        return any(_has_float_words(v) for v in data)
    return data is None or (isinstance(data, str) and data in INFINITY)
