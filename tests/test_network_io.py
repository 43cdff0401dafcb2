"""Readers and writers: nodes/links CSV and SUMO .net.xml (checked against SUMO's own sumolib)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from smartopt.datasets import grid_network
from smartopt.network import read_csv, read_sumo, write_csv

SMALL_SUMO_NET = """<?xml version="1.0" encoding="UTF-8"?>
<net version="1.20" junctionCornerDetail="5" limitTurnSpeed="5.50">
    <location netOffset="0.00,0.00" convBoundary="0.00,0.00,200.00,100.00" projParameter="!"/>
    <edge id=":B_0" function="internal">
        <lane id=":B_0_0" index="0" speed="8.00" length="5.00" shape="0,0 1,1"/>
    </edge>
    <edge id="AB" from="A" to="B" priority="1" name="Main St">
        <lane id="AB_0" index="0" allow="pedestrian" speed="1.39" length="98.00" shape="0,0 98,0"/>
        <lane id="AB_1" index="1" speed="13.89" length="98.00" shape="0,0 98,0"/>
        <lane id="AB_2" index="2" speed="13.89" length="98.00" shape="0,0 98,0"/>
    </edge>
    <edge id="BA" from="B" to="A" priority="1">
        <lane id="BA_0" index="0" speed="13.89" length="98.00" shape="98,0 0,0"/>
    </edge>
    <edge id="BC" from="B" to="C" priority="1" type="highway.residential">
        <lane id="BC_0" index="0" disallow="passenger" speed="8.33" length="99.00" shape="100,0 200,0"/>
        <lane id="BC_1" index="1" speed="8.33" length="99.00" shape="100,0 200,0"/>
    </edge>
    <edge id="BC2" from="B" to="C" priority="1">
        <lane id="BC2_0" index="0" speed="5.00" length="120.00" shape="100,0 200,0"/>
    </edge>
    <edge id="walk" from="C" to="A" priority="1">
        <lane id="walk_0" index="0" allow="pedestrian bicycle" speed="2.00" length="230.00" shape="200,0 0,0"/>
    </edge>
    <edge id=":C_w0" function="walkingarea">
        <lane id=":C_w0_0" index="0" allow="pedestrian" speed="1.00" length="2.00" shape="0,0 1,1"/>
    </edge>
    <junction id="A" type="priority" x="0.00" y="0.00" incLanes="BA_0" intLanes="" shape="0,0"/>
    <junction id="B" type="traffic_light" x="100.00" y="0.00" incLanes="AB_1" intLanes=":B_0_0" shape="0,0"/>
    <junction id="C" type="priority" x="200.00" y="0.00" incLanes="BC_1" intLanes="" shape="0,0"/>
    <junction id=":B_0_0" type="internal" x="100.00" y="0.00" incLanes="" intLanes=""/>
</net>
"""


def test_csv_round_trip(tmp_path: Path) -> None:
    net = grid_network(4, 5, seed=2)
    write_csv(net, tmp_path / "nodes.csv", tmp_path / "links.csv")
    back = read_csv(tmp_path / "nodes.csv", tmp_path / "links.csv")
    for name in (
        "node_xy",
        "link_tail",
        "link_head",
        "link_length_m",
        "link_speed_mps",
        "link_lanes",
        "link_capacity_vph",
        "node_ids",
        "link_ids",
    ):
        np.testing.assert_array_equal(getattr(back, name), getattr(net, name), err_msg=name)
    np.testing.assert_array_equal(back.travel_time_matrix([0, 7]), net.travel_time_matrix([0, 7]))


def test_csv_with_lonlat_and_string_ids(tmp_path: Path) -> None:
    (tmp_path / "n.csv").write_text("id,x_m,y_m,lon,lat\nhall,0,0,127.3,36.5\nstation,300,400,127.303,36.504\n")
    (tmp_path / "l.csv").write_text("from,to,length_m,speed_mps,name\nhall,station,500,10,Main\nstation,hall,500,10,\n")
    net = read_csv(tmp_path / "n.csv", tmp_path / "l.csv")
    assert net.node_ids.tolist() == ["hall", "station"]
    assert net.node_lonlat is not None and net.node_lonlat[1, 1] == pytest.approx(36.504)
    assert net.link_name.tolist() == ["Main", ""]
    assert net.travel_time_matrix([0], [1])[0, 0] == pytest.approx(50.0)


@pytest.mark.parametrize(
    ("nodes", "links", "match"),
    [
        ("id,x_m\na,0\n", "from,to,length_m,speed_mps\n", r"n.csv: missing column\(s\) y_m"),
        ("id,x_m,y_m\na,0,0\nb,1,0\n", "from,to,length_m\na,b,1\n", r"l.csv: missing column\(s\) speed_mps"),
        (
            "id,x_m,y_m\na,0,0\nb,1,0\n",
            "from,to,length_m,speed_mps\na,zz,1,1\n",
            "l.csv: row 0: to='zz' is not a node id",
        ),
        (
            "id,x_m,y_m\na,0,0\nb,1,0\n",
            "from,to,length_m,speed_mps\na,b,fast,1\n",
            "l.csv: column 'length_m', row 0: 'fast' is not a number",
        ),
        (
            "id,x_m,y_m\na,0,0\nb,1,0\n",
            "from,to,length_m,speed_mps\na,b,-3,1\n",
            r"link_length_m\[0\]=-3.0 must be > 0",
        ),
        (
            "id,x_m,y_m\na,0,0\na,1,0\n",
            "from,to,length_m,speed_mps\na,a,1,1\n",
            "n.csv: node ids must be unique",
        ),
    ],
)
def test_csv_errors_name_file_row_and_column(tmp_path: Path, nodes: str, links: str, match: str) -> None:
    (tmp_path / "n.csv").write_text(nodes)
    (tmp_path / "l.csv").write_text(links)
    with pytest.raises(ValueError, match=match):
        read_csv(tmp_path / "n.csv", tmp_path / "l.csv")


def test_missing_files(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no such file"):
        read_csv(tmp_path / "none.csv", tmp_path / "none2.csv")
    with pytest.raises(FileNotFoundError, match="no such file"):
        read_sumo(tmp_path / "none.net.xml")


def test_small_sumo_net(tmp_path: Path) -> None:
    path = tmp_path / "small.net.xml"
    path.write_text(SMALL_SUMO_NET)
    net = read_sumo(path)
    assert net.node_ids.tolist() == ["A", "B", "C"]  # the internal junction is skipped
    assert net.link_ids.tolist() == ["AB", "BA", "BC", "BC2"]  # internal and walking-only skipped; parallels kept
    assert net.link_lanes.tolist() == [2, 1, 1, 1]  # car lanes only
    np.testing.assert_allclose(net.link_speed_mps, [13.89, 13.89, 8.33, 5.0])
    np.testing.assert_allclose(net.link_length_m, [98.0, 98.0, 99.0, 120.0])
    assert net.link_name[0] == "Main St" and net.link_type[2] == "highway.residential"
    assert net.travel_time_matrix([0], [2])[0, 0] == pytest.approx(98 / 13.89 + 99 / 8.33)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("<net><edge", "not valid XML"),
        ("<routes/>", r"root element <routes>, expected <net>"),
        (
            '<net><junction id="A" x="0" y="0"/><edge id="e" from="A" to="Q"><lane speed="1" length="1"/></edge></net>',
            "edge 'e' refers to unknown junction 'Q'",
        ),
        ('<net><junction id="A" x="0" y="0"/></net>', "no edges open to passenger cars"),
    ],
)
def test_bad_sumo_files(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "bad.net.xml"
    path.write_text(text)
    with pytest.raises(ValueError, match=match):
        read_sumo(path)


def test_sumo_grid_against_sumolib(tmp_path: Path) -> None:
    """A grid built by SUMO's netgenerate reads the same as SUMO's own sumolib parser does."""
    sumo = pytest.importorskip("sumo", reason="eclipse-sumo is not installed")
    sys.path.insert(0, str(Path(sumo.SUMO_HOME) / "tools"))
    sumolib = pytest.importorskip("sumolib")
    netgenerate = Path(sumo.SUMO_HOME) / "bin" / "netgenerate"
    path = tmp_path / "grid.net.xml"
    subprocess.run(
        [
            str(netgenerate),
            "--grid",
            "--grid.number",
            "4",
            "--grid.length",
            "200",
            "--default.lanenumber",
            "2",
            "--no-turnarounds",
            "--default.speed",
            "13.89",
            "--grid.attach-length",
            "100",
            "-o",
            str(path),
            "--no-warnings",
        ],
        check=True,
        capture_output=True,
    )
    net = read_sumo(path)
    ref = sumolib.net.readNet(str(path))
    edges = {e.getID(): e for e in ref.getEdges() if e.getFunction() == ""}
    assert sorted(net.node_ids.tolist()) == sorted(n.getID() for n in ref.getNodes())
    assert sorted(net.link_ids.tolist()) == sorted(edges)
    for k, eid in enumerate(net.link_ids):
        e = edges[str(eid)]
        assert net.node_ids[net.link_tail[k]] == e.getFromNode().getID()
        assert net.node_ids[net.link_head[k]] == e.getToNode().getID()
        assert net.link_length_m[k] == pytest.approx(e.getLength(), rel=1e-9)
        assert net.link_speed_mps[k] == pytest.approx(e.getSpeed(), rel=1e-9)
        assert net.link_lanes[k] == e.getLaneNumber()
    for node in ref.getNodes():
        x, y = node.getCoord()
        assert net.node_xy[net.node_index([node.getID()])[0]].tolist() == pytest.approx([x, y])
