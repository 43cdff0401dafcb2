"""Opening input files, and reading ids in them, with errors that name the file."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt


def existing_file(path: str | os.PathLike[str]) -> Path:
    """``path`` as a Path, or ``FileNotFoundError`` naming it."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"no such file: {p}")
    return p


def xml_root(path: str | os.PathLike[str], tag: str) -> ET.Element:
    """The root element of an XML file, checked to be ``<tag>`` (``ValueError`` otherwise)."""
    p = existing_file(path)
    try:
        root = ET.parse(p).getroot()
    except ET.ParseError as exc:
        raise ValueError(f"{p.name}: not valid XML ({exc})") from None
    if root.tag != tag:
        raise ValueError(f"{p.name}: root element <{root.tag}>, expected <{tag}>")
    return root


def id_positions(
    values: Iterable[str], known: Iterable[Any], unknown: Callable[[int, str], str]
) -> npt.NDArray[np.int64]:
    """The position of each of ``values`` among ``known`` (compared as strings); ``ValueError``
    with the message ``unknown(row, value)`` for the first that is not there."""
    index = {str(v): i for i, v in enumerate(known)}
    texts = [str(v) for v in values]
    out = np.empty(len(texts), dtype=np.int64)
    for row, v in enumerate(texts):
        if v not in index:
            raise ValueError(unknown(row, v))
        out[row] = index[v]
    return out
