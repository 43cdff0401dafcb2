"""Real junctions from SUMO: joined traffic lights, U-turns, uncontrolled slip connections,
permitted lefts (HCM's permitted saturation flow), signalised pedestrian crossings and parallel
edges, on small nets built with netconvert; and every RESCO real-city scenario read into the
traffic model."""

from __future__ import annotations

import math
import os
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from resco import RESCO_WINDOWS_S, scenario_files
from smartopt.network import read_sumo
from smartopt.network.io import read_sumo_connections
from smartopt.signals.sumo import read_sumo_demand, read_sumo_signals, sumo_traffic_model
from smartopt.signals.sumo.junctions import SumoSignals, permitted_saturation_vphpl
from smartopt.signals.traffic import TrafficDemand, TrafficModel

CROSS_NODES = """<nodes>
    <node id="C" x="0" y="0" type="traffic_light"/>
    <node id="W" x="-200" y="0"/> <node id="E" x="200" y="0"/>
    <node id="N" x="0" y="200"/> <node id="S" x="0" y="-200"/>
</nodes>"""
CROSS_LEGS = ("W", "E", "N", "S")


def cross_edges(extra: str = "") -> str:
    """Both directions of the four legs of junction C (one lane, 50 km/h), plus ``extra``."""
    legs = "".join(
        f'<edge id="{v}C" from="{v}" to="C" numLanes="1" speed="13.89"/>'
        f'<edge id="C{v}" from="C" to="{v}" numLanes="1" speed="13.89"/>'
        for v in CROSS_LEGS
    )
    return f"<edges>{legs}{extra}</edges>"


@pytest.fixture(scope="module")
def sumo_home() -> Path:
    sumo = pytest.importorskip("sumo", reason="eclipse-sumo is not installed")
    return Path(sumo.SUMO_HOME)


def netconvert(home: Path, where: Path, nodes: str, edges: str, *options: str, connections: str = "") -> Path:
    """A .net.xml built by netconvert from plain node/edge (and connection) XML."""
    (where / "p.nod.xml").write_text(nodes)
    (where / "p.edg.xml").write_text(edges)
    args = ["-n", str(where / "p.nod.xml"), "-e", str(where / "p.edg.xml")]
    if connections:
        (where / "p.con.xml").write_text(connections)
        args += ["-x", str(where / "p.con.xml")]
    out = where / "p.net.xml"
    subprocess.run(
        [str(home / "bin" / "netconvert"), *args, *options, "-o", str(out)],
        check=True,
        capture_output=True,
        env={**os.environ, "SUMO_HOME": str(home)},
    )
    return out


def flows(where: Path, routes: dict[str, float]) -> Path:
    """A route file with one flow per route (edge ids separated by spaces -> veh/h) over [0, 3600) s."""
    body = "".join(
        f'<route id="r{k}" edges="{edges}"/><flow id="f{k}" route="r{k}" begin="0" end="3600" vehsPerHour="{vph}"/>'
        for k, (edges, vph) in enumerate(routes.items())
    )
    path = where / "p.rou.xml"
    path.write_text(f"<routes>{body}</routes>")
    return path


def movement(signals: SumoSignals, src: str, dst: str) -> int:
    """The index of movement ``src -> dst`` (edge ids) of the only light."""
    (x,) = signals.intersections
    ids = signals.network.link_ids
    found = [
        k
        for k, g in enumerate(x.movement_lane_group)
        if ids[x.approach_link[x.lane_group_approach[g]]] == src and ids[x.movement_out_link[k]] == dst
    ]
    assert len(found) == 1, (src, dst, found)
    return found[0]


def model_and_demand(net: Path, routes: Path) -> tuple[SumoSignals, TrafficModel, TrafficDemand]:
    signals = read_sumo_signals(net, routes)
    demand = read_sumo_demand(signals.network, routes, net_xml=net)
    return signals, sumo_traffic_model(signals), demand


def test_u_turns_are_movements_and_unserved_turns_name_the_light(sumo_home: Path, tmp_path: Path) -> None:
    routes = {"WC CW": 60.0, "WC CE": 300.0, "NC CS": 200.0}
    net = netconvert(sumo_home, tmp_path, CROSS_NODES, cross_edges())  # netconvert's default: turnarounds
    signals, model, demand = model_and_demand(net, flows(tmp_path, routes))
    (x,) = signals.intersections
    k = movement(signals, "WC", "CW")
    assert x.movement_turn[k] == "U"
    assert x.volume_vph[0, k] == pytest.approx(60.0, abs=1.0)
    model.scenario(demand)

    no_u = tmp_path / "no_u"
    no_u.mkdir()
    net = netconvert(sumo_home, no_u, CROSS_NODES, cross_edges(), "--no-turnarounds")
    signals, model, demand = model_and_demand(net, flows(no_u, routes))
    assert "U" not in signals.intersections[0].movement_turn
    message = (
        "demand turns from link 'WC' into 'CW' at junction 'C' of traffic light 'C', which none of its phases serves"
    )
    with pytest.raises(ValueError, match=f"^{message}$"):
        model.scenario(demand)


def test_uncontrolled_slip_connection_flows_freely(sumo_home: Path, tmp_path: Path) -> None:
    slip = (
        '<connections><connection from="WC" to="CS" fromLane="0" toLane="0" uncontrolled="true"/>'
        '<connection from="WC" to="CE" fromLane="0" toLane="0"/><connection from="WC" to="CN" fromLane="0" toLane="0"/>'
        "</connections>"
    )  # connections given for WC replace netconvert's own
    net = netconvert(sumo_home, tmp_path, CROSS_NODES, cross_edges(), "--no-turnarounds", connections=slip)
    signals, model, demand = model_and_demand(net, flows(tmp_path, {"WC CS": 200.0, "WC CE": 300.0}))
    (x,) = signals.intersections
    ids = signals.network.link_ids
    assert [(ids[a], ids[b]) for a, b in zip(x.uncontrolled_in_link, x.uncontrolled_out_link, strict=True)] == [
        ("WC", "CS")
    ]
    assert all(ids[b] != "CS" or ids[x.approach_link[x.lane_group_approach[g]]] != "WC"
               for b, g in zip(x.movement_out_link, x.movement_lane_group, strict=True))  # fmt: skip
    wc, cs = (int(np.flatnonzero(ids == e)[0]) for e in ("WC", "CS"))
    m = int(np.flatnonzero((model.move_in == wc) & (model.move_out == cs))[0])
    n_signalised = x.movement_out_link.shape[0]
    assert m >= n_signalised  # signalised movements come first
    assert model.move_node[m] == -1 and model.move_stages[m] == 0
    model.scenario(demand)


@pytest.mark.parametrize("left_phase_s", [0.0, 6.0])
def test_permitted_left_saturation_follows_hcm(sumo_home: Path, tmp_path: Path, left_phase_s: float) -> None:
    net = netconvert(sumo_home, tmp_path, CROSS_NODES, cross_edges(), "--no-turnarounds")
    # east-west 30 s with the lefts permitted (g), through and right G; optionally a protected
    # east-west left phase (G); then north-south 30 s
    root = ET.parse(net).getroot()
    dirs = {int(c.get("linkIndex", "-1")): (c.get("from", ""), c.get("dir", "")) for c in root.iter("connection")
            if c.get("tl") == "C"}  # fmt: skip
    n = len(dirs)

    def green(approaches: tuple[str, ...], left: str = "g", other: str = "G") -> str:
        return "".join((left if dirs[i][1] == "l" else other) if dirs[i][0] in approaches else "r" for i in range(n))

    phases = [(30.0, green(("WC", "EC")))]
    if left_phase_s:
        phases.append((left_phase_s, green(("WC", "EC"), left="G", other="r")))
    phases += [(3.0, "y" * n), (30.0, green(("NC", "SC"))), (3.0, "y" * n)]
    logic = next(root.iter("tlLogic"))
    for p in list(logic):
        logic.remove(p)
    for duration, state in phases:
        ET.SubElement(logic, "phase", duration=f"{duration:g}", state=state)
    ET.ElementTree(root).write(net)
    routes = {"WC CN": 120.0, "WC CE": 400.0, "WC CS": 50.0, "EC CW": 500.0, "EC CN": 100.0, "NC CS": 300.0}
    signals, model, demand = model_and_demand(net, flows(tmp_path, routes))
    (x,) = signals.intersections
    left, through, right = (movement(signals, "WC", e) for e in ("CN", "CE", "CS"))
    assert [left in m for m in x.stage_movements] == ([True, True, False] if left_phase_s else [True, False])
    opposing = sum(x.volume_vph[0, movement(signals, "EC", e)] for e in ("CW", "CN"))
    assert opposing == pytest.approx(600.0, abs=2.0)
    # HCM 2010 eq. 18-54 with t_c = 4.5 s, t_f = 2.5 s
    s_p = opposing * math.exp(-opposing * 4.5 / 3600) / (1 - math.exp(-opposing * 2.5 / 3600))
    assert permitted_saturation_vphpl(opposing) == pytest.approx(s_p, rel=1e-12)
    assert permitted_saturation_vphpl(600.0) == pytest.approx(831.7, abs=0.1)
    assert permitted_saturation_vphpl(0.0) == pytest.approx(3600.0 / 2.5, rel=1e-12)
    # the left's rate: permitted in the 30 s stage, protected in the left phase, by duration
    s_left = (30.0 * s_p + left_phase_s * 1550.0) / (30.0 + left_phase_s)
    # one shared lane: the mean discharge headway of its movements' volumes
    g = x.movement_lane_group[left]
    assert x.movement_lane_group[through] == g == x.movement_lane_group[right]
    v = x.volume_vph[0]
    expected = (v[left] + v[through] + v[right]) / (v[left] / s_left + (v[through] + v[right]) / 1550.0)
    assert x.saturation_flow_vph[g] == pytest.approx(expected, rel=1e-9)
    model.scenario(demand)


def test_joined_light_over_two_junctions(sumo_home: Path, tmp_path: Path) -> None:
    nodes = """<nodes>
        <node id="A" x="0" y="0" type="traffic_light" tl="T"/> <node id="B" x="60" y="0" type="traffic_light" tl="T"/>
        <node id="W" x="-200" y="0"/> <node id="E" x="260" y="0"/>
        <node id="N" x="0" y="200"/> <node id="S" x="60" y="-200"/>
    </nodes>"""
    pairs = (("W", "A"), ("A", "B"), ("B", "E"), ("N", "A"), ("B", "S"))
    edges = "".join(
        f'<edge id="{a}{b}" from="{a}" to="{b}" numLanes="1" speed="13.89"/>'
        f'<edge id="{b}{a}" from="{b}" to="{a}" numLanes="1" speed="13.89"/>'
        for a, b in pairs
    )
    net = netconvert(sumo_home, tmp_path, nodes, f"<edges>{edges}</edges>", "--no-turnarounds")
    routes = {"WA AB BE": 400.0, "EB BA AN": 200.0, "NA AB BS": 150.0, "SB BA AW": 100.0}
    signals, model, demand = model_and_demand(net, flows(tmp_path, routes))
    (x,) = signals.intersections
    network = signals.network
    assert x.id == "T"
    assert sorted(network.node_ids[x.nodes].tolist()) == ["A", "B"] and x.node in x.nodes
    approaches = set(network.link_ids[x.approach_link].tolist())
    exits = set(network.link_ids[x.movement_out_link].tolist())
    assert {"AB", "BA"} <= approaches and {"AB", "BA"} <= exits  # inside the light: both
    assert approaches == {"WA", "NA", "EB", "SB", "AB", "BA"}
    result = model.scenario(demand)
    assert result is not None


def test_signalised_crossings_set_pedestrian_minimum_greens(sumo_home: Path, tmp_path: Path) -> None:
    net = netconvert(
        sumo_home, tmp_path, CROSS_NODES, cross_edges(), "--sidewalks.guess", "--crossings.guess", "--no-turnarounds"
    )
    root = ET.parse(net).getroot()
    crossings = [e for e in root.iter("edge") if e.get("function") == "crossing"]
    assert len(crossings) == 4
    lengths = {float(lane.get("length", "nan")) for e in crossings for lane in e.iter("lane")}
    assert len(lengths) == 1  # a symmetric junction
    (length,) = lengths
    assert any(j.get("type") == "internal" for j in root.iter("junction"))  # internal junctions are read over
    signals, model, demand = model_and_demand(net, flows(tmp_path, {"WC CE": 300.0, "NC CS": 300.0}))
    (x,) = signals.intersections
    np.testing.assert_allclose(x.crossing_length_m, length, rtol=1e-12)
    walk = 7.0 + length / 1.2  # HCM / MUTCD: walk 7 s plus clearance at 1.2 m/s
    names = {e.get("id") for e in crossings}
    ped_links = [int(c.get("linkIndex", "-1")) for c in root.iter("connection") if c.get("to") in names]
    assert len(ped_links) == 4
    program = signals.programs[0]
    ped_green = [any(program.states[p][i] in "Gg" for i in ped_links) for p in program.stage_phase]
    assert any(ped_green) and not all(ped_green)
    np.testing.assert_allclose(x.ped_min_green_s, np.where(ped_green, walk, 0.0), rtol=1e-12)
    model.scenario(demand)


def test_fast_through_greens_have_a_longer_minimum(sumo_home: Path, tmp_path: Path) -> None:
    """FHWA's driver-expectancy minimum: 10 s for a stage that shows G to a through movement from
    an approach over 40 mph (here W-E at 70 km/h); the others keep the minimum asked for."""
    fast = cross_edges().replace(
        'id="WC" from="W" to="C" numLanes="1" speed="13.89"', 'id="WC" from="W" to="C" numLanes="1" speed="19.44"'
    )
    net = netconvert(sumo_home, tmp_path, CROSS_NODES, fast, "--no-turnarounds")
    routes = flows(tmp_path, {"WC CE": 300.0, "NC CS": 300.0})
    root = ET.parse(net).getroot()
    (through,) = [
        int(c.get("linkIndex", "-1")) for c in root.iter("connection") if c.get("from") == "WC" and c.get("to") == "CE"
    ]
    for min_green, max_green, longer in ((5.0, 90.0, 10.0), (12.0, 90.0, 12.0), (5.0, 8.0, 8.0)):
        signals = read_sumo_signals(
            net, routes, min_green_s=min_green, max_green_s=max_green, cycle_bounds_s=(20.0, 180.0)
        )
        (x,), (program,) = signals.intersections, signals.programs
        shows = np.array([program.states[p][through] == "G" for p in program.stage_phase])
        assert shows.any() and not shows.all()
        np.testing.assert_array_equal(x.min_green_s, np.where(shows, longer, min_green))
    # a link index past the light's states (a hand-edited net) shows no stage a green
    for c in root.iter("connection"):
        if c.get("linkIndex") == str(through) and c.get("tl") is not None:
            c.set("linkIndex", "99")
    ET.ElementTree(root).write(tmp_path / "edited.net.xml")
    (x,) = read_sumo_signals(tmp_path / "edited.net.xml", routes).intersections
    np.testing.assert_array_equal(x.min_green_s, 5.0)


def test_parallel_edges_are_kept(sumo_home: Path, tmp_path: Path) -> None:
    slow = '<edge id="WC2" from="W" to="C" numLanes="1" speed="8"/>'
    net = netconvert(sumo_home, tmp_path, CROSS_NODES, cross_edges(slow), "--no-turnarounds")
    network = read_sumo(net)
    ids = network.link_ids.tolist()
    assert "WC" in ids and "WC2" in ids
    w, e = network.node_index(["W", "E"])
    path = network.shortest_path(int(w), int(e))
    assert path is not None and [ids[k] for k in path.links] == ["WC", "CE"]  # the faster parallel
    signals, model, demand = model_and_demand(net, flows(tmp_path, {"WC CE": 300.0, "WC2 CE": 100.0}))
    (x,) = signals.intersections
    assert {"WC", "WC2"} <= set(signals.network.link_ids[x.approach_link].tolist())
    model.scenario(demand)


def test_routes_follow_sumo_connections(sumo_home: Path, tmp_path: Path) -> None:
    net = netconvert(sumo_home, tmp_path, CROSS_NODES, cross_edges(), "--no-turnarounds")
    network = read_sumo(net)
    ids = network.link_ids
    turns = read_sumo_connections(net, network)
    pairs = {(str(ids[a]), str(ids[b])) for a, b in zip(*turns, strict=True)}
    assert len(pairs) == 12 and all(a[0] != b[1] for a, b in pairs)  # 4 approaches x 3 turns, no U-turn
    wc, ce, cw = (int(np.flatnonzero(ids == e)[0]) for e in ("WC", "CE", "CW"))
    cost, before = network.turn_tree([wc], turns)
    assert cost.shape == before.shape == (1, network.num_links)
    assert cost[0, ce] == pytest.approx(network.link_time_s[ce], rel=1e-12) and before[0, ce] == wc
    assert cost[0, wc] == 0.0 and before[0, wc] == -1
    assert np.isinf(cost[0, cw]) and before[0, cw] == -1  # back west needs the U-turn SUMO forbids
    with pytest.raises(ValueError, match=r"turns\[0\]: link 'WC' does not end where link 'WC' starts"):
        network.turn_tree([wc], ([wc], [wc]))


def test_input_errors_name_the_light_and_the_field(sumo_home: Path, tmp_path: Path) -> None:
    net = netconvert(sumo_home, tmp_path, CROSS_NODES, cross_edges(), "--no-turnarounds")
    routes = flows(tmp_path, {"WC CE": 300.0})
    signals = read_sumo_signals(net, routes)
    (x,) = signals.intersections
    network = signals.network
    with pytest.raises(ValueError, match=r"intersection C: node=\d+ is not one of its nodes \[\d+\]"):
        replace(x, nodes=[(x.node + 1) % network.num_nodes])
    with pytest.raises(ValueError, match=r"intersection C: nodes \[\d+, \d+\] repeat a node"):
        replace(x, nodes=[x.node, x.node])
    with pytest.raises(ValueError, match=r"intersection C: uncontrolled_out_link must have shape \(1,\)"):
        replace(x, uncontrolled_in_link=[0], uncontrolled_out_link=[0, 1])
    with pytest.raises(ValueError, match="intersections C and C share node 'C'"):
        TrafficModel(network, [x, x])
    far = int(np.flatnonzero(network.link_ids == "CW")[0])  # starts at C, ends at W
    with pytest.raises(
        ValueError, match=r"intersection C: uncontrolled in link 'CW' does not meet its node\(s\) \['C'\]"
    ):
        TrafficModel(network, [replace(x, uncontrolled_in_link=[far], uncontrolled_out_link=[far])])
    with pytest.raises(ValueError, match=r"saturation_vphpl=0.0 must be in \(0, "):
        read_sumo_signals(net, routes, saturation_vphpl=0.0)
    text = net.read_text()
    bad = tmp_path / "bad.net.xml"
    bad.write_text(text.replace('linkIndex="0"', 'linkIndex="first"', 1))
    with pytest.raises(
        ValueError, match=r"bad.net.xml: <connection from='\w+' to='\w+'> linkIndex='first' is not a whole"
    ):
        read_sumo_signals(bad, routes)
    bad.write_text(text.replace('<phase duration="', '<phase duration="-', 1))
    with pytest.raises(ValueError, match=r"bad.net.xml: traffic light 'C', phase 0: duration='-\d+' is not a time in"):
        read_sumo_signals(bad, routes)


def test_last_program_runs_and_dark_lights_are_left_out(sumo_home: Path, tmp_path: Path) -> None:
    net = netconvert(sumo_home, tmp_path, CROSS_NODES, cross_edges(), "--no-turnarounds")
    routes = flows(tmp_path, {"WC CE": 300.0})
    root = ET.parse(net).getroot()
    logic = next(root.iter("tlLogic"))
    n = len(next(logic.iter("phase")).get("state", ""))
    second = ET.SubElement(root, "tlLogic", id="C", type="static", programID="1", offset="0")
    ET.SubElement(second, "phase", duration="20", state="G" * n)
    ET.ElementTree(root).write(net)
    signals = read_sumo_signals(net, routes)
    assert signals.programs[0].durations == (20.0,) and len(signals.intersections[0].stage_movements) == 1
    for p in list(second):
        second.remove(p)
    ET.SubElement(second, "phase", duration="20", state="O" * n)  # off, blinking: no green for anyone
    ET.ElementTree(root).write(net)
    with (
        pytest.warns(UserWarning, match=r"p.net.xml: 1 traffic light\(s\) never show cars a green .*\['C'\]"),
        pytest.raises(ValueError, match=r"p\.net\.xml: no traffic light that shows cars a green"),
    ):
        read_sumo_signals(net, routes)


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("name", sorted(RESCO_WINDOWS_S))
def test_resco_scenarios_read_into_the_model(resco: Path, name: str) -> None:
    net, routes = scenario_files(resco, name)
    begin, end = RESCO_WINDOWS_S[name]
    signals = read_sumo_signals(net, routes, begin=begin, end=end)
    lights = {t.get("id") for t in ET.parse(net).getroot().iter("tlLogic")}
    assert {x.id for x in signals.intersections} == lights
    demand = read_sumo_demand(signals.network, routes, begin=begin, end=end, net_xml=net)
    model = sumo_traffic_model(signals)
    model.scenario(demand)
    # demand that no movement serves is named by plain ids: a turn at a light that none of its
    # phases serves (a U-turn SUMO has no connection for, say), or else two links that do not meet
    network = signals.network
    ids = network.link_ids.tolist()
    served = set(zip(model.move_in.tolist(), model.move_out.tolist(), strict=True))
    unserved = [
        (int(a), int(b), x.id)
        for x in signals.intersections
        for a in x.approach_link
        for b in np.flatnonzero(network.link_tail == network.link_head[a])
        if (int(a), int(b)) not in served
    ]
    x = signals.intersections[0]
    a, b, light = unserved[0] if unserved else (int(x.approach_link[0]), int(x.approach_link[-1]), x.id)
    turn = f"demand turns from link '{ids[a]}' into '{ids[b]}'"
    junction = str(network.node_ids[network.link_head[a]])
    if unserved:
        message = f"{turn} at junction '{junction}' of traffic light '{light}', which none of its phases serves"
    else:
        message = f"{turn}, which do not meet (the first ends at node '{junction}')"
    with pytest.raises(ValueError) as err:
        model.scenario(TrafficDemand(np.bincount([a], [100.0], network.num_links), [a], [b], [100.0]))
    assert str(err.value) == message
