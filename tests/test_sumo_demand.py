"""SUMO demand in: route files of vehicles with routes (inline, by id, route distributions), trips
and flows (every rate attribute) read as turning volumes on a netgenerate grid, against hand counts
and against duarouter's own expansion of the same file."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from resco import RESCO_WINDOWS_S
from smartopt.app.cli import main
from smartopt.network import RoadNetwork, read_sumo
from smartopt.signals import sumo
from smartopt.signals.sumo import read_sumo_demand, read_sumo_signals

Turns = dict[tuple[str, str], float]


@pytest.fixture(scope="module")
def sumo_bin() -> Path:
    sumo = pytest.importorskip("sumo", reason="eclipse-sumo is not installed")
    return Path(sumo.SUMO_HOME) / "bin"


def write(tmp_path: Path, body: str, name: str = "demand.rou.xml") -> Path:
    path = tmp_path / name
    path.write_text(f'<routes>\n<vType id="car"/>\n{body}\n</routes>\n')
    return path


def read(
    network: RoadNetwork,
    routes: Path | list[Path],
    begin: float = 0.0,
    end: float = 3600.0,
    net_xml: Path | None = None,
) -> tuple[dict[str, float], Turns]:
    """Vehicles (not veh/h) entering per edge and passing edge -> edge in the window."""
    d = read_sumo_demand(network, routes, begin=begin, end=end, net_xml=net_xml)
    hours = (end - begin) / 3600.0
    ids = network.link_ids
    entry = {str(ids[k]): float(v) * hours for k, v in enumerate(d.entry_vph) if v > 0}
    turns = {
        (str(ids[a]), str(ids[b])): float(v) * hours
        for a, b, v in zip(d.turn_in_link, d.turn_out_link, d.turn_vph, strict=True)
        if v > 0
    }
    return entry, turns


def close(got: Mapping[Any, float], want: Mapping[Any, float]) -> None:
    assert set(got) == set(want), (got, want)
    for k, v in want.items():
        assert got[k] == pytest.approx(v), k


def test_trips_route_on_the_fastest_path(grid: tuple[Path, RoadNetwork], tmp_path: Path) -> None:
    _, net = grid
    trips = [
        # A0 -> B0 -> C0 -> C1: from A0B0 to C0C1 through B0C0 (the only 3-block path).
        *(f'<trip id="t{k}" depart="{k * 10}" from="A0B0" to="C0C1"/>' for k in range(6)),
        # via forces the way: A1 -> B1 -> C1 -> C2 -> B2.
        *(f'<trip id="v{k}" depart="{k * 10 + 5}" from="A1B1" to="C2B2" via="C1C2"/>' for k in range(4)),
        # junction to junction: A2 -> B2 -> C2 (two blocks straight along the top).
        '<trip id="j" depart="7" fromJunction="A2" toJunction="C2"/>',
        '<trip id="late" depart="4000" from="A0B0" to="C0C1"/>',  # outside the window
    ]
    entry, turns = read(net, write(tmp_path, "\n".join(trips)))
    close(entry, {"A0B0": 6, "A1B1": 4, "A2B2": 1})
    close(
        turns,
        {("A0B0", "B0C0"): 6, ("B0C0", "C0C1"): 6, ("A1B1", "B1C1"): 4, ("B1C1", "C1C2"): 4, ("C1C2", "C2B2"): 4,
         ("A2B2", "B2C2"): 1},
    )  # fmt: skip


def test_vehicles_with_route_ids_and_distributions(grid: tuple[Path, RoadNetwork], tmp_path: Path) -> None:
    _, net = grid
    body = """
<route id="east" edges="A1B1 B1C1"/>
<routeDistribution id="mix">
    <route id="north" edges="B0B1 B1B2" probability="3"/>
    <route refId="east" probability="1"/>
</routeDistribution>
<vehicle id="a" depart="0" route="east"/>
<vehicle id="b" depart="1" route="east"/>
<vehicle id="c" depart="2" route="mix"/>
<vehicle id="d" depart="3" route="mix"/>
<vehicle id="e" depart="4"><route edges="C1B1 B1A1"/></vehicle>
<vehicle id="f" depart="0:01:00"><routeDistribution><route edges="B2B1 B1B0" probability="1"/>
    <route edges="B2B1 B1A1" probability="1"/></routeDistribution></vehicle>
<flow id="g" begin="0" end="100" number="4" route="mix"/>
"""
    entry, turns = read(net, write(tmp_path, body))
    # 2 on east; 2 + 4 on mix (3/4 north, 1/4 east); e; f split half and half.
    close(entry, {"A1B1": 2 + 6 * 0.25, "B0B1": 6 * 0.75, "C1B1": 1, "B2B1": 1})
    close(
        turns,
        {("A1B1", "B1C1"): 3.5, ("B0B1", "B1B2"): 4.5, ("C1B1", "B1A1"): 1, ("B2B1", "B1B0"): 0.5,
         ("B2B1", "B1A1"): 0.5},
    )  # fmt: skip


FLOWS = [
    # (attributes, vehicles in [0, 600), vehicles in [5, 300))
    ('begin="0" end="600" vehsPerHour="360"', 60, 29),  # 0, 10, ..., 590
    ('begin="100" end="500" period="20"', 20, 10),  # 100, 120, ..., 480
    ('begin="0" end="1000" probability="0.1"', 60, 29.5),  # expected: 0.1 per second
    ('begin="0" end="600" number="30"', 30, 14),  # every 20 s: 0, 20, ..., 580
    ('begin="0" number="5" period="10"', 5, 4),  # 0, 10, ..., 40
    ('begin="0" end="600" period="exp(0.05)"', 30, 14.75),  # Poisson, 0.05 veh/s
    ('begin="0" number="1000000000" period="1"', 600, 295),  # a huge number: bounded by the window
    ('begin="-100" end="50" vehsPerHour="72"', 1, 0),  # -100, -50, 0: one in [0, 600)
]


@pytest.mark.parametrize(("attrs", "full", "part"), FLOWS)
def test_flow_rates(grid: tuple[Path, RoadNetwork], tmp_path: Path, attrs: str, full: float, part: float) -> None:
    _, net = grid
    routes = write(tmp_path, f'<flow id="f" {attrs} from="A1B1" to="B1C1"/>')
    entry, turns = read(net, routes, 0.0, 600.0)
    close(entry, {"A1B1": full})
    close(turns, {("A1B1", "B1C1"): full})
    if part:
        entry, _ = read(net, routes, 5.0, 300.0)
        close(entry, {"A1B1": part})


def test_same_counts_as_duarouter(grid: tuple[Path, RoadNetwork], sumo_bin: Path, tmp_path: Path) -> None:
    """duarouter expands the flows and routes the trips itself; both files read the same."""
    net_xml, net = grid
    body = """
<trip id="t0" depart="3" from="A0B0" to="C0C1"/>
<trip id="t1" depart="30" from="A1B1" to="C2B2" via="C1C2"/>
<flow id="f0" begin="0" end="600" vehsPerHour="360" from="C1B1" to="B1A1"/>
<flow id="f1" begin="50" end="400" period="25" from="B0B1" to="B2C2"/>
<flow id="f2" begin="0" end="300" number="7" from="A2B2" to="B2B1"/>
"""
    trips = write(tmp_path, body, "trips.rou.xml")
    routed = tmp_path / "routed.rou.xml"
    subprocess.run(
        [str(sumo_bin / "duarouter"), "-n", str(net_xml), "-r", str(trips), "-o", str(routed), "--no-warnings",
         "--no-step-log"],
        check=True, capture_output=True,
    )  # fmt: skip
    for window in ((0.0, 600.0), (100.0, 250.0)):
        ours, theirs = read(net, trips, *window), read(net, routed, *window)
        close(ours[0], theirs[0])
        close(ours[1], theirs[1])


def test_trips_turn_only_where_the_net_connects(grid: tuple[Path, RoadNetwork], sumo_bin: Path, tmp_path: Path) -> None:
    """Without the turn A1B1 -> B1C1 (its connections cut from the net), a trip from A1B1 to C1C2
    drives around the block the way duarouter routes it; without the net file, any turn goes."""
    net_xml, net = grid
    cut = tmp_path / "cut.net.xml"
    cut.write_text("".join(ln for ln in net_xml.read_text().splitlines(keepends=True)
                           if '<connection from="A1B1" to="B1C1"' not in ln))  # fmt: skip
    trips = write(tmp_path, '<trip id="t" depart="0" from="A1B1" to="C1C2"/>', "trips.rou.xml")
    routed = tmp_path / "routed.rou.xml"
    subprocess.run(
        [str(sumo_bin / "duarouter"), "-n", str(cut), "-r", str(trips), "-o", str(routed), "--no-warnings",
         "--no-step-log"],
        check=True, capture_output=True,
    )  # fmt: skip
    around = {("A1B1", "B1B0"): 1, ("B1B0", "B0C0"): 1, ("B0C0", "C0C1"): 1, ("C0C1", "C1C2"): 1}
    close(read(net, routed)[1], around)
    close(read(net, trips, net_xml=cut)[1], around)
    close(read(net, trips)[1], {("A1B1", "B1C1"): 1, ("B1C1", "C1C2"): 1})


def test_left_out_edges_are_skipped_given_the_net(grid: tuple[Path, RoadNetwork], tmp_path: Path) -> None:
    net_xml, _ = grid
    text = net_xml.read_text()
    # B1C1 becomes a footpath: the network leaves it out.
    edge = re.search(r'<edge id="B1C1".*?</edge>', text, re.S)
    assert edge is not None
    foot = tmp_path / "foot.net.xml"
    foot.write_text(text.replace(edge[0], edge[0].replace("<lane ", '<lane allow="pedestrian" ')))
    net = read_sumo(foot)
    assert "B1C1" not in set(net.link_ids.tolist())
    routes = write(tmp_path, '<vehicle id="v" depart="0"><route edges="A1B1 B1C1 C1C2"/></vehicle>')
    with pytest.raises(ValueError, match=r"vehicle 'v': routes use edge 'B1C1', which is not a road link"):
        read(net, routes)
    entry, turns = read(net, routes, net_xml=foot)
    close(entry, {"A1B1": 1, "C1C2": 1})  # comes in again after the footpath
    assert turns == {}
    # A trip through the footpath passes its junctions on the roads.
    trip = write(tmp_path, '<trip id="t" depart="0" from="A1B1" to="C1C2" via="B1C1"/>', "trip.rou.xml")
    entry, turns = read(net, trip, net_xml=foot)
    assert entry == {"A1B1": 1} and sum(turns.values()) >= 3


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('<trip id="t" depart="0" from="A1B1" to="nowhere"/>', r"trip 't': routes use edge 'nowhere'"),
        ('<vehicle id="v" depart="0"><route edges="A1B1 gone"/></vehicle>', r"vehicle 'v': routes use edge 'gone'"),
        ('<flow id="f" begin="0" end="9" period="1" from="x" to="B1C1"/>', r"flow 'f': routes use edge 'x'"),
        ('<vehicle id="v" depart="0" route="r9"/>', r"vehicle 'v': route 'r9' is not defined"),
        ('<trip id="t" depart="0" from="A1B1"/>', r"trip 't': needs from .* and to"),
        ('<trip id="t" depart="0" fromJunction="Z9" toJunction="A0"/>', r"junction 'Z9' is not a node"),
        ('<flow id="f" begin="0" end="9" period="0" from="A1B1" to="B1C1"/>', r"flow 'f': period=0 must be > 0"),
        ('<flow id="f" begin="0" end="9" period="-5" from="A1B1" to="B1C1"/>', r"flow 'f': period=-5 must be > 0"),
        ('<flow id="f" begin="0" end="9" vehsPerHour="-1" from="A1B1" to="B1C1"/>', r"vehsPerHour=-1 must be > 0"),
        ('<flow id="f" begin="0" end="9" probability="1.5" from="A1B1" to="B1C1"/>', r"in \(0, 1\]"),
        ('<flow id="f" begin="0" end="9" period="nan" from="A1B1" to="B1C1"/>', r"period=nan must be > 0"),
        (
            '<flow id="f" begin="0" end="9" period="2" vehsPerHour="9" from="A1B1" to="B1C1"/>',
            r"not vehsPerHour and period",
        ),
        ('<flow id="f" begin="0" end="9" from="A1B1" to="B1C1"/>', r"needs vehsPerHour, period, probability or"),
        ('<flow id="f" begin="0" number="1e30" period="1" from="A1B1" to="B1C1"/>', r"number=1e30 must be a whole"),
        ('<flow id="f" begin="0" number="2.5" period="1" from="A1B1" to="B1C1"/>', r"number=2.5 must be a whole"),
        ('<flow id="f" begin="0" end="1" number="1000000000" from="A1B1" to="B1C1"/>', r"over 1e\+06 veh/h"),
        ('<flow id="f" begin="0" end="9" vehsPerHour="1e12" from="A1B1" to="B1C1"/>', r"over 1e\+06 veh/h"),
        (
            '<vehicle id="v" depart="soon"><route edges="A1B1"/></vehicle>',
            r"vehicle 'v': 'soon' is not a time",
        ),
    ],
)
def test_errors_name_the_element(grid: tuple[Path, RoadNetwork], tmp_path: Path, body: str, message: str) -> None:
    _, net = grid
    with pytest.raises(ValueError, match=message):
        read(net, write(tmp_path, body))


def test_an_empty_window_says_what_the_file_holds(grid: tuple[Path, RoadNetwork], tmp_path: Path) -> None:
    net_xml, net = grid
    body = "\n".join(
        [*(f'<trip id="t{k}" depart="{7200 + k}" from="A1B1" to="B1C1"/>' for k in range(3)),
         '<flow id="f" begin="7000" end="7500" period="10" from="A1B1" to="B1C1"/>']
    )  # fmt: skip
    routes = write(tmp_path, body)
    want = (
        r"demand\.rou\.xml: no vehicle departs in \[0, 3600\) s; the file holds 3 <trip>, 1 <flow>, departures "
        r"between 7000 and 7500 s"
    )
    with pytest.raises(ValueError, match=want):
        read(net, routes)
    with pytest.raises(ValueError, match=want):
        read_sumo_signals(net_xml, routes)
    with pytest.raises(ValueError, match=r"the file holds no vehicle, trip or flow"):
        read(net, write(tmp_path, "", "empty.rou.xml"))
    entry, _ = read(net, routes, 7000.0, 7300.0)
    assert entry == pytest.approx({"A1B1": 30 + 3})
    assert np.isclose(sum(entry.values()), 33)


# --- real cities: the RESCO scenarios of the `sumo-rl` package (downloaded from PyPI, not vendored) ---

RESCO = ("cologne1", "cologne3", "cologne8", "ingolstadt1")


@pytest.mark.parametrize("name", sorted(RESCO))
def test_real_city_trip_demand_is_read(resco: Path, name: str) -> None:
    """Cologne's and Ingolstadt's recorded demand (mostly `<trip from= to=>`) is routed onto the
    network and reaches the lights in its window; outside any departure the reader says so."""
    net, routes = resco / name / f"{name}.net.xml", resco / name / f"{name}.rou.xml"
    begin, end = RESCO_WINDOWS_S[name]
    signals = read_sumo_signals(net, routes, begin=begin, end=end)
    demand = read_sumo_demand(signals.network, routes, begin=begin, end=end, net_xml=net)
    entering = sum(float(x.volume_vph.sum()) for x in signals.intersections)
    assert entering > 500  # veh/h at the lights: the window is a busy hour (cologne1: about 1,800)
    assert demand.entry_vph.sum() > 500 and demand.turn_vph.sum() > 0  # veh/h into and through the network
    with pytest.raises(ValueError, match="no vehicle departs in"):
        read_sumo_demand(signals.network, routes, begin=200_000.0, end=203_600.0, net_xml=net)


# --- vehicle classes: passenger car units; bicycles and pedestrians counted apart ---


def test_vehicle_classes_weigh_in_passenger_car_units(grid: tuple[Path, RoadNetwork], tmp_path: Path) -> None:
    """Each vehicle counts its class's PCU (Kimber et al. 1986); a type distribution its expected
    PCU; bicycles and persons are left out of the turns and counted on their edges."""
    _, net = grid
    types = """
<vType id="bus" vClass="bus"/>
<vType id="lorry" vClass="trailer"/>
<vTypeDistribution id="mix">
    <vType id="moto" vClass="motorcycle" probability="3"/>
    <vType id="van" vClass="delivery" probability="1"/>
</vTypeDistribution>
<vTypeDistribution id="mix2" vTypes="bus lorry" probabilities="1 3"/>
"""
    additional = tmp_path / "types.add.xml"
    additional.write_text(f"<additional>{types}</additional>")
    body = """
<vehicle id="a" depart="0" type="bus"><route edges="A1B1 B1C1"/></vehicle>
<trip id="b" depart="1" type="lorry" from="A1B1" to="B1C1"/>
<flow id="c" begin="0" end="100" number="4" type="mix" from="A1B1" to="B1C1"/>
<trip id="d" depart="2" type="mix2" from="A1B1" to="B1C1"/>
<trip id="e" depart="3" from="A1B1" to="B1C1"/>
<trip id="f" depart="4" type="DEFAULT_BIKETYPE" from="B0B1" to="B1B2"/>
<person id="p" depart="5"><walk edges="C1B1 B1B0"/><ride from="B1B0" to="A0B0" lines="x"/></person>
<personFlow id="q" begin="0" end="100" period="50"><walk from="B2B1" to="B1A1"/></personFlow>
"""
    routes = write(tmp_path, body)
    pcu = sumo.PCU
    # bus, trailer, 4 x (3/4 motorcycle + 1/4 van), 1/4 bus + 3/4 trailer, one DEFAULT_VEHTYPE car.
    want = pcu["bus"] + pcu["trailer"] + 4 * (0.75 * pcu["motorcycle"] + 0.25 * pcu["delivery"])
    want += 0.25 * pcu["bus"] + 0.75 * pcu["trailer"] + pcu["passenger"]
    assert want == pytest.approx(2.0 + 2.3 + 4 * 0.55 + 2.225 + 1.0)  # the values of TRRL RR67
    entry, turns = read(net, [additional, routes])
    close(entry, {"A1B1": want})
    close(turns, {("A1B1", "B1C1"): want})
    summary = sumo.summarize_sumo_demand([additional, routes], begin=0.0, end=3600.0)
    assert summary.vehicles == pytest.approx(8) and summary.pcu == pytest.approx(want)
    close(summary.departures, {"bus": 1.25, "trailer": 1.75, "motorcycle": 3, "delivery": 1, "passenger": 1,
                               "bicycle": 1, "pedestrian": 3})  # fmt: skip
    assert summary.bicycles == 1 and summary.pedestrians == 3
    close(summary.bicycles_on_edge, {"B0B1": 1, "B1B2": 1})
    close(summary.pedestrians_on_edge, {"C1B1": 1, "B1B0": 1, "B2B1": 2, "B1A1": 2})
    assert "8 road vehicles = 10 PCU" in str(summary)  # 9.725
    with pytest.raises(ValueError, match=r"demand\.rou\.xml: vehicle 'a': type 'bus' is not defined"):
        read(net, routes)  # the types are in the additional file


def test_definitions_are_shared_among_files(grid: tuple[Path, RoadNetwork], tmp_path: Path) -> None:
    """A route defined in one file serves vehicles of another; counts add up over the files; a
    route's repeat counts every pass."""
    _, net = grid
    first = write(
        tmp_path, '<route id="east" edges="A1B1 B1C1"/><vehicle id="a" depart="0" route="east"/>', "a.rou.xml"
    )
    second = write(
        tmp_path,
        '<vehicle id="b" depart="9" route="east"/>\n'
        '<vehicle id="c" depart="9"><route edges="A1B1 B1B2 B2A2 A2A1" repeat="2"/></vehicle>',
        "b.rou.xml",
    )
    entry, turns = read(net, [first, second])
    close(entry, {"A1B1": 3})
    # c drives its loop 3 times: each turn 3 times, back to the start twice.
    close(turns, {("A1B1", "B1C1"): 2, ("A1B1", "B1B2"): 3, ("B1B2", "B2A2"): 3, ("B2A2", "A2A1"): 3,
                  ("A2A1", "A1B1"): 2})  # fmt: skip


def test_only_bicycles_and_pedestrians_is_an_error(grid: tuple[Path, RoadNetwork], tmp_path: Path) -> None:
    _, net = grid
    body = """
<vType id="bike" vClass="bicycle"/>
<flow id="f" begin="0" end="600" period="60" type="bike" from="A1B1" to="B1C1"/>
<person id="p" depart="3"><walk edges="A1B1"/></person>
<trip id="late" depart="7200" from="A1B1" to="B1C1"/>
"""
    want = (
        r"demand\.rou\.xml: only bicycles/pedestrians \(10 bicycle, 1 pedestrian\) depart in \[0, 600\) s; the file "
        r"holds 1 <flow>, 1 <person>, 1 <trip>, departures between 0 and 7200 s"
    )
    with pytest.raises(ValueError, match=want):
        read(net, write(tmp_path, body), 0.0, 600.0)


# --- scenarios: a .sumocfg names the net, the route files and the window ---


def write_cfg(folder: Path, body: str, name: str = "scenario.sumocfg") -> Path:
    path = folder / name
    path.write_text(f"<configuration>\n{body}\n</configuration>\n")
    return path


def test_sumocfg_names_files_and_window(grid: tuple[Path, RoadNetwork], tmp_path: Path) -> None:
    """Relative names resolve against the cfg's folder; lists are comma separated; SUMO's short
    option names and h:m:s times read the same."""
    net_xml, _ = grid
    (tmp_path / "sub").mkdir()
    a = write(tmp_path / "sub", '<trip id="t" depart="0" from="A1B1" to="B1C1"/>', "a.rou.xml")
    b = write(tmp_path, '<trip id="u" depart="0" from="A1B1" to="B1C1"/>', "b.rou.xml")
    types = tmp_path / "types.add.xml"
    types.write_text('<additional><vType id="bus" vClass="bus"/></additional>')
    long = write_cfg(
        tmp_path,
        f"""<input><net-file value="{net_xml}"/><route-files value="sub/a.rou.xml, b.rou.xml"/>
        <additional-files value="types.add.xml"/></input><time><begin value="1:00:00"/><end value="7200"/></time>""",
    )
    cfg = sumo.read_sumo_config(long)
    assert cfg.net_file == net_xml.resolve() and cfg.route_files == (a.resolve(), b.resolve())
    assert cfg.additional_files == (types.resolve(),) and cfg.demand_files == (
        types.resolve(),
        a.resolve(),
        b.resolve(),
    )
    assert (cfg.begin_s, cfg.end_s) == (3600.0, 7200.0)
    short = write_cfg(tmp_path, f'<n v="{net_xml}"/><r value="b.rou.xml"/><b value="10"/>', "short.sumocfg")
    cfg = sumo.read_sumo_config(short)
    assert (cfg.route_files, cfg.additional_files, cfg.begin_s, cfg.end_s) == ((b.resolve(),), (), 10.0, None)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('<route-files value="b.rou.xml"/>', r"bad\.sumocfg: no <net-file value=\.\.\.>"),
        ('<net-file value="NET"/>', r"bad\.sumocfg: no <route-files value=\.\.\.> \(nor additional files\)"),
        ('<net-file value="NET"/><route-files value="b.rou.xml, gone.rou.xml"/>',
         r"bad\.sumocfg: <route-files> names 'gone\.rou\.xml', which is not a file"),
        ('<net-file value="NET"/><route-files value="b.rou.xml"/><end value="soon"/>',
         r"bad\.sumocfg: <end>: 'soon' is not a time"),
        ('<net-file value="NET"/><route-files value="b.rou.xml"/><begin value="60"/><end value="60"/>',
         r"bad\.sumocfg: <end> 60 s must be after <begin> 60 s"),
        ('<net-file value="NET"/><n value="NET"/><route-files value="b.rou.xml"/>',
         r"bad\.sumocfg: <n> sets net-file a second time"),
    ],
)  # fmt: skip
def test_sumocfg_errors_name_the_file_and_element(
    grid: tuple[Path, RoadNetwork], tmp_path: Path, body: str, message: str
) -> None:
    net_xml, _ = grid
    write(tmp_path, '<trip id="u" depart="0" from="A1B1" to="B1C1"/>', "b.rou.xml")
    with pytest.raises(ValueError, match=message):
        sumo.read_sumo_config(write_cfg(tmp_path, body.replace("NET", str(net_xml)), "bad.sumocfg"))


def test_cli_optimizes_a_sumocfg(
    grid: tuple[Path, RoadNetwork], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``signals optimize --sumocfg`` reads net, routes and window from the cfg (both route files,
    the window's end overridden by --end) and writes the plan; giving both forms or neither is an
    argument error."""
    net_xml, _ = grid
    write(tmp_path, '<flow id="f" begin="0" end="900" period="6" from="A1B1" to="B1C1"/>', "a.rou.xml")
    (tmp_path / "b.rou.xml").write_text(  # SUMO refuses a vType defined twice: "car" is in a.rou.xml
        '<routes><flow id="g" begin="0" end="900" period="12" from="B0B1" to="B1B2"/></routes>'
    )
    cfg = write_cfg(tmp_path, f'<n value="{net_xml}"/><r value="a.rou.xml,b.rou.xml"/><e value="1800"/>')
    plan = tmp_path / "plan.add.xml"
    argv = ["signals", "optimize", "--sumocfg", str(cfg), "--end", "600", "--out", str(plan), "--time-limit", "1"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "a.rou.xml, b.rou.xml, [0, 600) s: 150 road vehicles = 150 PCU" in out  # 100 + 50 departures
    assert '<tlLogic id="B1"' in plan.read_text()
    for bad in (["--sumocfg", str(cfg), "--sumo-net", str(net_xml)], [], ["--sumo-net", str(net_xml)]):
        with pytest.raises(SystemExit) as exit_:
            main(["signals", "optimize", *bad, "--out", str(plan)])
        assert exit_.value.code == 2
    assert "give either --sumocfg or --sumo-net with --sumo-routes" in capsys.readouterr().err
    assert main(["signals", "optimize", "--sumocfg", str(tmp_path / "none.sumocfg"), "--out", str(plan)]) == 1
    assert capsys.readouterr().err.startswith("smartopt: error: no such file")


def test_real_city_sumocfg(resco: Path) -> None:
    """RESCO's cologne1 configuration names its net, its route file and the morning window."""
    cfg = sumo.read_sumo_config(resco / "cologne1" / "cologne1.sumocfg")
    assert cfg.net_file == (resco / "cologne1" / "cologne1.net.xml").resolve()
    assert cfg.route_files == ((resco / "cologne1" / "cologne1.rou.xml").resolve(),)
    assert (cfg.begin_s, cfg.end_s) == RESCO_WINDOWS_S["cologne1"]
    summary = sumo.summarize_sumo_demand(cfg.demand_files, begin=cfg.begin_s, end=RESCO_WINDOWS_S["cologne1"][1])
    assert summary.vehicles == 2015 and summary.pcu == 2015  # every trip of the file, all passenger cars
