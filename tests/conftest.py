"""Shared fixtures: small networks, the built-in district, and the project's ../shared data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

from resco import download_resco
from smartopt.app.district import District
from smartopt.datasets import sejong_5_1
from smartopt.network import RoadNetwork, read_sumo

SHARED = Path(__file__).resolve().parents[2] / "shared"

# CI runs the same property-test examples every time, so a red run can be reproduced; local runs
# keep exploring new examples.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The read-only reference data beside the project (CI always has it)."""
    if not SHARED.is_dir():
        pytest.skip(f"reference data not found at {SHARED} (it sits beside the project in CI)")
    return SHARED


@pytest.fixture(scope="session")
def district() -> District:
    return sejong_5_1(seed=0)


@pytest.fixture
def triangle() -> RoadNetwork:
    """0 -> 1 -> 2 -> 0 and a slow shortcut 0 -> 2; all links 10 m/s."""
    return RoadNetwork.from_arrays(
        node_xy=[[0.0, 0.0], [100.0, 0.0], [100.0, 100.0]],
        link_tail=[0, 1, 2, 0],
        link_head=[1, 2, 0, 2],
        length_m=[100.0, 100.0, 141.0, 250.0],
        speed_mps=[10.0, 10.0, 10.0, 10.0],
    )


@pytest.fixture(scope="session")
def resco(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The RESCO scenarios' folder (``sumo_rl/nets/RESCO``), downloaded once per session."""
    return download_resco(tmp_path_factory.mktemp("sumo_rl"))


@pytest.fixture(scope="session")
def grid(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, RoadNetwork]:
    """A 3 x 3 netgenerate grid (junctions A0..C2, 100 m blocks, a signal at B1, no U-turns): its
    SUMO net file and the network read from it."""
    import subprocess

    sumo = pytest.importorskip("sumo", reason="eclipse-sumo is not installed")
    net = tmp_path_factory.mktemp("grid3") / "grid.net.xml"
    subprocess.run(
        [str(Path(sumo.SUMO_HOME) / "bin" / "netgenerate"), "--grid", "--grid.number", "3", "--no-turnarounds",
         "--tls.set", "B1", "--tls.default-type", "static", "-o", str(net), "--no-warnings"],
        check=True, capture_output=True,
    )  # fmt: skip
    return net, read_sumo(net)
