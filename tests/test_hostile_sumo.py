"""Hostile SUMO files (issue 19): malformed and adversarial configurations, route files and nets
fed to :func:`read_sumo_config`, :func:`read_sumo_demand`, :func:`summarize_sumo_demand`,
:func:`read_sumo_signals` and the CLI. Each gives a ``ValueError`` naming the file (and the
element), or a demand that is finite and not empty: never another exception, a hang, or silent
empty demand."""

from __future__ import annotations

import gzip
import re
from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartopt.app.cli import main
from smartopt.network import RoadNetwork
from smartopt.signals import TrafficDemand
from smartopt.signals.sumo import (
    read_sumo_config,
    read_sumo_demand,
    read_sumo_signals,
    summarize_sumo_demand,
)

EDGES = ("A1B1", "B1C1", "B0B1", "B1B2", "C1B1", "B1A1", "B2B1", "B1B0", "A0B0", "C2B2")
"""Edges of the 3 x 3 grid, and names of none."""
STRANGERS = ("Z9Z9", "", " ", "A1B1 B1C1", "&amp;")
NUMBERS = st.one_of(
    st.sampled_from(["0", "1", "5", "10", "60", "100", "300", "600", "0.5"]),  # sensible values, as often as not
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**15), 10**15),
    st.sampled_from(["", "abc", "1e12", "1e300", "-1e300", "-0", "exp(0)", "exp(-1)", "exp(x)", "exp(0.01)",
                     "1:2:3", "1:2:3:4:5", "nan", "inf", "0x10", " 5 ", "1_000", "0.001", "3600"]),
).map(str)  # fmt: skip
SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def routes_file(folder: Path, body: str, name: str = "hostile.rou.xml") -> Path:
    path = folder / name
    path.write_text(f"<routes>\n{body}\n</routes>\n")
    return path


def demand_or_error(grid: tuple[Path, RoadNetwork], routes: Path, begin: float = 0.0, end: float = 600.0) -> None:
    """The reader's contract: a ValueError naming the file, or demand that is finite, within
    bounds and not empty (and the same for the summary and the signal reader)."""
    net_xml, net = grid
    try:
        demand: TrafficDemand | None = read_sumo_demand(net, routes, begin=begin, end=end, net_xml=net_xml)
    except ValueError as exc:
        assert routes.name in str(exc), exc
        demand = None
    if demand is not None:
        flows = np.concatenate([demand.entry_vph, demand.turn_vph])
        assert np.isfinite(flows).all() and (flows >= 0).all() and flows.sum() > 0
        assert summarize_sumo_demand(routes, begin=begin, end=end).pcu > 0
    try:
        signals = read_sumo_signals(net_xml, routes, begin=begin, end=end)
    except ValueError as exc:
        assert demand is None, exc  # the signal reader fails only where the demand reader does
        return
    assert demand is not None and all(np.isfinite(x.volume_vph).all() for x in signals.intersections)


def element(tag: str, attrs: dict[str, str], children: str = "") -> str:
    text = " ".join(f"{k}={quoteattr(v)}" for k, v in attrs.items())
    return f"<{tag} {text}>{children}</{tag}>"


ATTRS = st.dictionaries(
    st.sampled_from(["id", "depart", "route", "type", "from", "to", "via", "fromJunction", "toJunction", "begin",
                     "end", "period", "vehsPerHour", "personsPerHour", "probability", "number", "edges", "repeat",
                     "vClass", "refId", "vTypes", "probabilities"]),
    st.one_of(NUMBERS, st.sampled_from(EDGES + STRANGERS), st.sampled_from(["r", "t", "d", "A1", "C2", "bus",
                                                                            "bicycle", "triggered", "Z9"])),
    max_size=6,
)  # fmt: skip
TAGS = ("vehicle", "trip", "flow", "route", "routeDistribution", "vType", "vTypeDistribution", "person",
        "personFlow", "containerFlow", "walk", "foo")  # fmt: skip


def with_children(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Elements holding up to three elements drawn from ``inner``."""
    return st.tuples(st.sampled_from(TAGS), ATTRS, st.lists(inner, max_size=3)).map(
        lambda t: element(t[0], t[1], "".join(t[2]))
    )


ELEMENTS = st.recursive(
    st.tuples(st.sampled_from(TAGS), ATTRS).map(lambda t: element(t[0], t[1])), with_children, max_leaves=8
)


@SETTINGS
@given(body=st.lists(ELEMENTS, max_size=8))
def test_random_route_files(grid: tuple[Path, RoadNetwork], tmp_path: Path, body: list[str]) -> None:
    """Any mix of route elements with any attributes beside a valid trip: an error naming the
    file, or demand."""
    demand_or_error(grid, routes_file(tmp_path, "\n".join(['<trip id="ok" depart="0" from="A1B1" to="B1C1"/>', *body])))


@SETTINGS
@given(
    attrs=st.dictionaries(st.sampled_from(["begin", "end", "period", "vehsPerHour", "probability", "number"]),
                          NUMBERS, min_size=1, max_size=4),
    via=st.lists(st.sampled_from((*EDGES[:8], "Z9Z9")), max_size=12),
)  # fmt: skip
def test_random_flows(grid: tuple[Path, RoadNetwork], tmp_path: Path, attrs: dict[str, str], via: list[str]) -> None:
    """Flows with any rates and times (zero, negative, NaN, huge, garbage) and any ``via`` (cycles,
    unknown edges) through the grid."""
    flow = element("flow", {"id": "f", "from": "A1B1", "to": "C2B2", "via": " ".join(via), **attrs})
    demand_or_error(grid, routes_file(tmp_path, flow))


@SETTINGS
@given(
    begin=st.integers(-100, 900),
    length=st.integers(1, 2000),
    rate=st.one_of(
        st.tuples(st.just("period"), st.integers(1, 120)),
        st.tuples(
            st.just("vehsPerHour"), st.sampled_from([3600 // k for k in (1, 2, 3, 4, 5, 6, 8, 9, 10, 12, 15, 60)])
        ),
        st.tuples(st.just("number"), st.integers(0, 300)),
    ),
    number=st.one_of(st.none(), st.integers(0, 200)),
)
def test_flow_counts_equal_their_departures(
    grid: tuple[Path, RoadNetwork], tmp_path: Path, begin: int, length: int, rate: tuple[str, int], number: int | None
) -> None:
    """A deterministic flow's vehicles in [0, 600) s equal its departures listed one by one."""
    attr, value = rate
    end = begin + length
    attrs = {"begin": str(begin), "end": str(end), attr: str(value)}
    if number is not None and attr != "number":
        attrs["number"] = str(number)
    headway = np.inf if value == 0 else {"period": value, "vehsPerHour": 3600 / value, "number": length / value}[attr]
    most = value if attr == "number" else np.inf if number is None else number
    departures = [begin + i * headway for i in range(10_000) if i < most and begin + i * headway < end]
    want = sum(0 <= t < 600 for t in departures)
    routes = routes_file(tmp_path, element("flow", {"id": "f", "from": "A1B1", "to": "B1C1", **attrs}))
    if want == 0:
        with pytest.raises(ValueError, match=r"hostile\.rou\.xml: no vehicle departs in \[0, 600\) s"):
            read_sumo_demand(grid[1], routes, begin=0.0, end=600.0)
        return
    demand = read_sumo_demand(grid[1], routes, begin=0.0, end=600.0)
    assert demand.entry_vph.sum() * 600 / 3600 == pytest.approx(want, abs=1e-9)  # vehicles


@SETTINGS
@given(data=st.binary(max_size=200))
def test_random_bytes(grid: tuple[Path, RoadNetwork], tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "noise.rou.xml"
    path.write_bytes(data)
    with pytest.raises(ValueError, match=r"noise\.rou\.xml"):
        read_sumo_demand(grid[1], path)
    cfg = tmp_path / "noise.sumocfg"
    cfg.write_bytes(data)
    with pytest.raises(ValueError, match=r"noise\.sumocfg"):
        read_sumo_config(cfg)


@SETTINGS
@given(
    options=st.dictionaries(
        st.sampled_from(["net-file", "n", "route-files", "r", "routes", "additional-files", "a", "begin", "b",
                         "end", "e", "foo"]),
        st.one_of(NUMBERS, st.sampled_from(["grid.net.xml", "hostile.rou.xml", "hostile.rou.xml,hostile.rou.xml",
                                            ",", "missing.xml", "..", "/"])),
        max_size=6,
    )
)  # fmt: skip
def test_random_configurations(grid: tuple[Path, RoadNetwork], tmp_path: Path, options: dict[str, str]) -> None:
    """A configuration names files that exist and a window that is one, or the error names it."""
    folder = grid[0].parent
    routes_file(folder, '<trip id="t" depart="0" from="A1B1" to="B1C1"/>')
    cfg = folder / "random.sumocfg"
    cfg.write_text(f"<configuration>{''.join(element(k, {'value': v}) for k, v in options.items())}</configuration>")
    try:
        found = read_sumo_config(cfg)
    except ValueError as exc:
        assert "random.sumocfg" in str(exc), exc
        return
    assert found.net_file.is_file() and all(p.is_file() for p in found.demand_files) and found.demand_files
    assert np.isfinite(found.begin_s) and (found.end_s is None or found.end_s > found.begin_s)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('<flow id="f" begin="0" number="1e12" period="1" from="A1B1" to="B1C1"/>',
         r"flow 'f': number=1e12 must be a whole number in \[0, 1e\+09\]"),
        ('<flow id="f" begin="1e300" end="1e301" period="1" from="A1B1" to="B1C1"/>',
         r"flow 'f': time '1e300' is out of range"),
        ('<trip id="t" depart="1e300" from="A1B1" to="B1C1"/>', r"trip 't': time '1e300' is out of range"),
        ('<vehicle id="v" depart="0"><route edges="A1B1 B1C1" repeat="1e12"/></vehicle>',
         r"vehicle 'v': repeat=1e12 must be a whole number"),
        ('<vehicle id="v" depart="0"><route edges="A1B1 B1C1" repeat="1000000000"/></vehicle>',
         r"hostile\.rou\.xml: A1B1 -> B1C1 carries 6e\+09 PCU/h in \[0, 600\) s, over 1e\+06"),
        ('<trip id="t" depart="0" from="A1B1" to="B1C1" via="B1B2 nowhere"/>', r"trip 't': routes use edge 'nowhere'"),
        ('<vehicle id="v"><route edges="A1B1"/></vehicle>', r"vehicle 'v': no depart time"),
        ('<vehicle id="v" depart="0"><route edges=""/></vehicle>', r"vehicle 'v': route None has no edges"),
        ('<trip id="t" depart="0" to="B1C1"/>', r"trip 't': needs from \(or fromJunction\)"),
        ('<flow id="f" begin="0" end="600" from="A1B1" to="B1C1"/>', r"flow 'f': a flow needs vehsPerHour"),
        ('<routeDistribution id="d"><route edges="A1B1" probability="0"/></routeDistribution>'
         '<vehicle id="v" depart="0" route="d"/>', r"routeDistribution 'd': has no route with probability > 0"),
        ('<routeDistribution id="d"><route edges="A1B1" probability="x"/></routeDistribution>',
         r"routeDistribution 'd': probability='x' is not a number"),
        ('<vehicle id="v" depart="0" route="r0"/>', r"vehicle 'v': route 'r0' is not defined"),
        ('<trip id="t" depart="0" type="lorry" from="A1B1" to="B1C1"/>', r"trip 't': type 'lorry' is not defined"),
        ('<vType id="x" vClass="spaceship"/>', r"vType 'x': vClass='spaceship' is not a SUMO vehicle class"),
        ('<vTypeDistribution id="d" vTypes="DEFAULT_VEHTYPE" probabilities="1 2"/>',
         r"vTypeDistribution 'd': 2 probabilities for 1 vTypes"),
        ('<vTypeDistribution id="d" vTypes="DEFAULT_VEHTYPE" probabilities="nan"/>',
         r"vTypeDistribution 'd': probabilities must be finite"),
        ('<personFlow id="p" begin="0" end="600" personsPerHour="0"><walk edges="A1B1"/></personFlow>',
         r"personFlow 'p': personsPerHour=0 must be > 0"),
        ('<person id="p" depart="0"><walk edges="A1B1"/></person>', r"only bicycles/pedestrians \(1 pedestrian\)"),
        ("", r"no vehicle departs in \[0, 600\) s; the file holds no vehicle, trip or flow"),
    ],
)  # fmt: skip
def test_hostile_elements(grid: tuple[Path, RoadNetwork], tmp_path: Path, body: str, message: str) -> None:
    routes = routes_file(tmp_path, body)
    with pytest.raises(ValueError, match=message):
        read_sumo_demand(grid[1], routes, begin=0.0, end=600.0)
    with pytest.raises(ValueError, match=message):
        read_sumo_signals(grid[0], routes, begin=0.0, end=600.0)


def test_via_with_cycles_is_driven_as_given(grid: tuple[Path, RoadNetwork], tmp_path: Path) -> None:
    """A ``via`` that goes round the block twice: each pass counts, nothing is lost."""
    loop = "B1C1 C1C2 C2B2 B2B1"
    routes = routes_file(tmp_path, f'<trip id="t" depart="0" from="A1B1" to="B1A1" via="{loop} {loop}"/>')
    demand = read_sumo_demand(grid[1], routes, begin=0.0, end=3600.0)
    ids = [str(e) for e in grid[1].link_ids]
    turns = {
        (ids[a], ids[b]): v for a, b, v in zip(demand.turn_in_link, demand.turn_out_link, demand.turn_vph, strict=True)
    }
    assert turns[("B2B1", "B1C1")] == pytest.approx(1.0)  # veh/h: the second lap's start
    assert turns[("B1C1", "C1C2")] == pytest.approx(2.0)  # both laps
    assert turns[("B2B1", "B1A1")] == pytest.approx(1.0)


def test_a_route_file_given_twice_is_refused(grid: tuple[Path, RoadNetwork], tmp_path: Path) -> None:
    routes = routes_file(tmp_path, '<trip id="t" depart="0" from="A1B1" to="B1C1"/>')
    with pytest.raises(ValueError, match=r"hostile\.rou\.xml: the same route file is given twice"):
        read_sumo_demand(grid[1], [routes, tmp_path / "." / routes.name], begin=0.0, end=3600.0)


def test_bombs_and_deep_files(grid: tuple[Path, RoadNetwork], tmp_path: Path) -> None:
    """Entity expansion is refused by the parser; deep nesting, many vehicles and compressed files read."""
    laughs = '<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">' + "".join(
        f'<!ENTITY {chr(98 + k)} "{("&" + chr(97 + k) + ";") * 10}">' for k in range(9)
    )
    bomb = tmp_path / "bomb.rou.xml"
    bomb.write_text(f'{laughs}]>\n<routes><vType id="&j;"/></routes>')
    with pytest.raises(ValueError, match=r"bomb\.rou\.xml: not valid XML"):
        read_sumo_demand(grid[1], bomb)
    deep = routes_file(tmp_path, "<x>" * 5000 + "</x>" * 5000 + '<trip id="t" depart="0" from="A1B1" to="B1C1"/>')
    assert read_sumo_demand(grid[1], deep).entry_vph.sum() == pytest.approx(1.0)
    many = routes_file(tmp_path, "".join(f'<trip id="t{k}" depart="{k % 3600}" from="A1B1" to="C2B2"/>'
                                         for k in range(5000)))  # fmt: skip
    assert read_sumo_demand(grid[1], many).entry_vph.sum() == pytest.approx(5000.0)
    packed = tmp_path / "packed.rou.xml.gz"
    packed.write_bytes(gzip.compress(many.read_bytes()))
    assert read_sumo_demand(grid[1], packed).entry_vph.sum() == pytest.approx(5000.0)
    packed.write_bytes(gzip.compress(many.read_bytes())[:100])
    with pytest.raises(ValueError, match=r"packed\.rou\.xml\.gz: not valid XML"):
        read_sumo_demand(grid[1], packed)
    with pytest.raises(ValueError, match="no route file given"):
        read_sumo_demand(grid[1], [])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not xml", r"bad\.net\.xml: not valid XML"),
        ("<routes/>", r"bad\.net\.xml: root element <routes>, expected <net>"),
    ],
)
def test_hostile_nets(grid: tuple[Path, RoadNetwork], tmp_path: Path, text: str, message: str) -> None:
    net = tmp_path / "bad.net.xml"
    net.write_text(text)
    routes = routes_file(tmp_path, '<trip id="t" depart="0" from="A1B1" to="B1C1"/>')
    with pytest.raises(ValueError, match=message):
        read_sumo_signals(net, routes)
    with pytest.raises(ValueError, match=message):
        read_sumo_demand(grid[1], routes, net_xml=net)


@pytest.mark.parametrize(
    "body",
    [
        '<flow id="f" begin="0" end="600" period="nan" from="A1B1" to="B1C1"/>',
        '<trip id="t" depart="0" from="A1B1" to="B1C1" via="B1B2 B2A2 nowhere"/>',
        "<routes>",
    ],
)
def test_cli_reports_hostile_files_in_one_line(
    grid: tuple[Path, RoadNetwork], tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str
) -> None:
    routes = routes_file(tmp_path, body)
    cfg = tmp_path / "hostile.sumocfg"
    cfg.write_text(f'<configuration><n value="{grid[0]}"/><r value="{routes.name}"/><e value="600"/></configuration>')
    assert main(["signals", "optimize", "--sumocfg", str(cfg), "--out", str(tmp_path / "plan.add.xml")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("smartopt: error: hostile.rou.xml") and err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('length="7.74"', 'length="long"', r"bad\.net\.xml: <lane id=':A0_0_0'> length='long' is not a length in m"),
        ('length="7.74"', 'length="-inf"', r"<lane id=':A0_0_0'> length='-inf' is not a length in m"),
        ('<request index="0"', '<request index="first"', r"bad\.net\.xml: junction 'A0': <request .*index='first'"),
        ('state="yyyrrryyyrrr"', 'state="yyyrrr"', r"traffic light 'B1': its phases' states differ in length"),
    ],
)
def test_hostile_junction_boxes(
    grid: tuple[Path, RoadNetwork], tmp_path: Path, old: str, new: str, message: str
) -> None:
    """The junctions' internal lanes and right-of-way rows (read for the red clearance
    extensions) refuse what is not a length or an index, by lane or junction."""
    net = tmp_path / "bad.net.xml"
    net.write_text(grid[0].read_text().replace(old, new, 1))
    routes = routes_file(tmp_path, '<trip id="t" depart="0" from="A1B1" to="B1C1"/>')
    with pytest.raises(ValueError, match=message):
        read_sumo_signals(net, routes)


def test_right_of_way_rows_longer_than_the_junction_are_ignored(grid: tuple[Path, RoadNetwork], tmp_path: Path) -> None:
    net = tmp_path / "wide.net.xml"
    text = grid[0].read_text()
    net.write_text(re.sub(r'response="([01]+)"', lambda m: 'response="' + "1" * 40 + m.group(1) + '"', text))
    routes = routes_file(tmp_path, '<trip id="t" depart="0" from="A1B1" to="B1C1"/>')
    light = read_sumo_signals(net, routes).programs[0]
    plain = read_sumo_signals(grid[0], routes).programs[0]
    assert any(plain.yields_to)  # B1's lefts give way to the opposing throughs
    assert light.yields_to == plain.yields_to and light.box_lanes == plain.box_lanes
