"""The RESCO benchmark's real-city SUMO scenarios (Cologne, Ingolstadt and two synthetic grids),
shipped in the ``sumo-rl`` package on PyPI: downloaded at test time, never vendored."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

RESCO_WINDOWS_S = {  # scenario: its demand window (s), as the RESCO benchmark runs it
    "cologne1": (25200.0, 28800.0),
    "cologne3": (25200.0, 28800.0),
    "cologne8": (25200.0, 28800.0),
    "ingolstadt1": (57600.0, 61200.0),
    "ingolstadt7": (57600.0, 61200.0),
    "ingolstadt21": (57600.0, 61200.0),
    "grid4x4": (0.0, 3600.0),
    "arterial4x4": (0.0, 3600.0),
}


def download_resco(where: Path) -> Path:
    """``sumo_rl/nets/RESCO`` of the newest ``sumo-rl`` wheel, unpacked under ``where``; skips the
    test with the reason when PyPI cannot be reached."""
    try:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "sumo-rl", "-d", str(where)],
            check=True,
            capture_output=True,
            timeout=300,
        )
    except (subprocess.SubprocessError, OSError) as exc:
        pytest.skip(f"sumo-rl could not be downloaded from PyPI ({type(exc).__name__}): the RESCO scenarios need it")
    wheel = next(where.glob("sumo_rl-*.whl"))
    with zipfile.ZipFile(wheel) as z:
        z.extractall(where)
    return where / "sumo_rl" / "nets" / "RESCO"


def scenario_files(resco: Path, name: str) -> tuple[Path, Path]:
    """The net file and the route file of RESCO scenario ``name`` (named in its .sumocfg)."""
    folder = resco / name
    routes = sorted(folder.glob("*.rou.xml"))
    return folder / f"{name}.net.xml", routes[0]
