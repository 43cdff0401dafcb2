"""Opening input files with errors that name the file."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path


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
