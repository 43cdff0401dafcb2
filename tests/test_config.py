"""Your own district from files: the built-in district written out and read back equal, the main
job run from a config, and clear errors for missing files, columns, unknown ids and unit mistakes."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from smartopt.app.cli import main
from smartopt.app.config import export_scenario, load_district
from smartopt.app.district import District
from smartopt.datasets import sejong_5_1
from smartopt.energy import grid_to_pandapower
from test_embedding import same


@pytest.fixture(scope="module")
def district() -> District:
    return sejong_5_1(seed=4)


@pytest.fixture(scope="module")
def exported(district: District, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_scenario(district, tmp_path_factory.mktemp("scenario"))


def test_round_trip_is_exact(district: District, exported: Path) -> None:
    back = load_district(exported)
    assert same(district, back)  # every array to the last bit, names, corridors, facts, assumptions
    assert back.corridors == district.corridors and back.periods == district.periods


def test_run_from_a_config(exported: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export-scenario", str(tmp_path / "again"), "--seed", "4"]) == 0
    assert (tmp_path / "again" / "district.toml").read_text() == exported.read_text()
    assert main(["run", "--config", str(exported), "--out", str(tmp_path / "out")]) == 0
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert results["scenario"] == str(exported) and {"signals", "energy", "dispatch", "coupling"} <= set(results)
    assert "reading the district" in capsys.readouterr().out


def broken(exported: Path, tmp_path: Path) -> Path:
    """A fresh copy of the exported scenario to break; returns its config."""
    target = tmp_path / "copy"
    shutil.copytree(exported.parent, target)
    return target / "district.toml"


def edit(path: Path, column: str, row: int, value: object) -> None:
    """Sets one cell (``{other}`` in ``value`` stands for that column of the same row)."""
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df.loc[row, column] = str(value).format(**df.loc[row].to_dict())
    df.to_csv(path, index=False)


# One bad value per column that can be wrong (free text such as link names or load kinds cannot),
# and the checks that span rows or tables (loops, sort order, seats, cycle bounds).
BAD_VALUES = [
    ("network/nodes.csv", "id", 2, "J00-00", "repeats the id of line 2"),
    ("network/nodes.csv", "x_m", 7, "12,5", "'12,5' is not a number"),  # a decimal comma
    ("network/nodes.csv", "y_m", 3, "nan", "must be a finite number"),
    ("network/nodes.csv", "lon", 4, "1270.3", r"must be <= 180"),
    ("network/nodes.csv", "lat", 5, "-91", r"must be >= -90"),
    ("network/links.csv", "id", 3, "0", "repeats the id of line 2"),
    ("network/links.csv", "from", 4, "nowhere", "'nowhere' is not a node id"),
    ("network/links.csv", "to", 5, "{from}", "self loop"),
    ("network/links.csv", "length_m", 1, "-95.0", r"-95\.0 must be > 0"),
    ("network/links.csv", "speed_mps", 0, "90", "speeds are in m/s"),
    ("network/links.csv", "speed_mps", 6, "0", "must be > 0"),
    ("network/links.csv", "lanes", 3, "2.5", "must be a whole number"),
    # Issue 18: integers past int32 are rejected where they are read, never wrapped downstream.
    ("network/links.csv", "lanes", 3, "4294967298", r"is out of range \(at most 2147483647\)"),
    ("network/links.csv", "lanes", 4, "1e20", r"is out of range \(at most 2147483647\)"),
    ("signals/lane_groups.csv", "lanes", 4, "2147483648", r"is out of range"),
    ("energy/ev_sessions.csv", "arrival_slot", 3, "4294967296", r"is out of range"),
    ("energy/ev_sessions.csv", "charger", 4, "9223372036854775808", r"is out of range"),
    ("fleet/vehicles.csv", "seats", 3, "4294967297", r"is out of range"),
    ("network/links.csv", "capacity_vph", 8, "-1800", "must be > 0"),
    ("signals/intersections.csv", "id", 1, "S05-00", "repeats the id of line 2"),
    ("signals/intersections.csv", "node", 2, "nowhere", "'nowhere' is not a node id"),
    ("signals/intersections.csv", "cycle_min_s", 3, "0", "must be > 0"),
    ("signals/intersections.csv", "cycle_max_s", 4, "50", "is below cycle_min_s"),
    ("signals/intersections.csv", "cycle_max_s", 5, "61", "less than the .* s the minimum greens"),
    ("signals/approaches.csv", "intersection", 3, "S99-99", "not an intersection id"),
    ("signals/approaches.csv", "link", 2, "L-999", "'L-999' is not a link id"),
    ("signals/approaches.csv", "crossing_length_m", 1, "-16", "must be >= 0"),
    ("signals/lane_groups.csv", "intersection", 4, "nowhere", "not an intersection id"),
    ("signals/lane_groups.csv", "approach", 2, "9", "is not an approach of"),
    ("signals/lane_groups.csv", "lanes", 3, "2.5", "must be a whole number"),
    ("signals/lane_groups.csv", "lanes", 5, "0", "must be >= 1"),
    ("signals/lane_groups.csv", "saturation_flow_vph", 1, "-1805", "must be >= 0"),
    ("signals/lane_groups.csv", "saturation_flow_vph", 6, "180000", "unit mistake"),
    ("signals/movements.csv", "intersection", 7, "S99-99", "not an intersection id"),
    ("signals/movements.csv", "lane_group", 2, "99", "is not a lane group of"),
    ("signals/movements.csv", "out_link", 0, "L-999", "'L-999' is not a link id"),
    ("signals/movements.csv", "turn", 3, "X", "is not a turn"),
    ("signals/movements.csv", "volume_vph_am_peak", 4, "-3", "must be >= 0"),
    ("signals/movements.csv", "volume_vph_midday", 5, "many", "'many' is not a number"),
    ("signals/movements.csv", "volume_vph_pm_peak", 6, "inf", "must be a finite number"),
    ("signals/stages.csv", "intersection", 2, "S99-99", "not an intersection id"),
    ("signals/stages.csv", "movements", 0, "5 99", "names a movement"),
    ("signals/stages.csv", "movements", 1, "3,4", "must be movement numbers"),
    ("signals/stages.csv", "min_green_s", 1, "100", "is over max_green_s"),
    ("signals/stages.csv", "max_green_s", 2, "-40", "must be >= 0"),
    ("signals/stages.csv", "yellow_s", 3, "", "is empty"),
    ("signals/stages.csv", "all_red_s", 4, "two", "not a number"),
    ("signals/stages.csv", "ped_min_green_s", 1, "95", "is over max_green_s"),
    ("signals/entries_am_peak.csv", "link", 3, "L-999", "not a link id"),
    ("signals/entries_am_peak.csv", "link", 4, "0", "repeats the link of line 2"),
    ("signals/entries_midday.csv", "entry_vph", 5, "-2", "must be >= 0"),
    ("signals/turns_pm_peak.csv", "in_link", 6, "L-999", "not a link id"),
    ("signals/turns_pm_peak.csv", "out_link", 7, "L-999", "not a link id"),
    ("signals/turns_pm_peak.csv", "vph", 8, "-1", "must be >= 0"),
    ("grid/buses.csv", "name", 3, "substation 154 kV", "repeats the name of line 2"),
    ("grid/buses.csv", "vn_kv", 4, "0", "must be > 0"),
    ("grid/buses.csv", "vn_kv", 5, "22900", "voltages are in kV"),
    ("grid/buses.csv", "x_m", 6, "east", "not a number"),
    ("grid/buses.csv", "y_m", 7, "", "is empty"),
    ("grid/lines.csv", "from_bus", 2, "nobus", "'nobus' is not a bus name"),
    ("grid/lines.csv", "to_bus", 3, "substation 154 kV", "a line joins buses of one voltage"),
    ("grid/lines.csv", "length_km", 4, "0", "must be > 0"),
    ("grid/lines.csv", "r_ohm_per_km", 5, "-0.06", "must be >= 0"),
    ("grid/lines.csv", "x_ohm_per_km", 6, "-0.11", "must be >= 0"),
    ("grid/lines.csv", "b_us_per_km", 7, "x", "not a number"),
    ("grid/lines.csv", "max_i_ka", 8, "0", "must be > 0"),
    ("grid/trafos.csv", "hv_bus", 1, "nobus", "not a bus name"),
    ("grid/trafos.csv", "lv_bus", 2, "substation 154 kV", "above hv_bus"),
    ("grid/trafos.csv", "sn_kva", 3, "0", "must be > 0"),
    ("grid/trafos.csv", "vk_percent", 4, "-5", "must be > 0"),
    ("grid/trafos.csv", "vkr_percent", 5, "20", "must be below vk_percent"),
    ("grid/trafos.csv", "pfe_kw", 6, "-0.6", "must be >= 0"),
    ("grid/trafos.csv", "vn_hv_kv", 7, "0", "must be > 0"),
    ("grid/trafos.csv", "vn_lv_kv", 8, "-0.38", "must be > 0"),
    ("grid/trafos.csv", "tap_ratio", 9, "0", "must be > 0"),
    ("grid/trafos.csv", "tap_side", 10, "mid", "must be hv or lv"),
    ("grid/trafos.csv", "shift_degree", 11, "x", "not a number"),
    ("grid/trafos.csv", "i0_percent", 12, "-1", "must be >= 0"),
    ("grid/loads.csv", "bus", 3, "nobus", "not a bus name"),
    ("grid/loads.csv", "p_kw", 2, "2.5e6", "powers are in kW"),
    ("grid/loads.csv", "q_kvar", 4, "x", "not a number"),
    ("energy/load_kw.csv", "3", 5, "x", "not a number"),
    ("energy/load_kw.csv", "0", 6, "2e6", "over 100 MW"),
    ("energy/load_kvar.csv", "1", 7, "nan", "must be a finite number"),
    ("energy/pv.csv", "bus", 1, "nobus", "not a bus name"),
    ("energy/pv.csv", "kwp", 2, "-60", "must be >= 0"),
    ("energy/pv_profile.csv", "pu", 40, "-0.1", "must be >= 0"),
    ("energy/batteries.csv", "bus", 0, "nobus", "not a bus name"),
    ("energy/batteries.csv", "kwh", 0, "0", "must be > 0"),
    ("energy/batteries.csv", "kw", 0, "-1000", "must be > 0"),
    ("energy/batteries.csv", "soc0", 0, "50", "must be <= 1"),
    ("energy/chargers.csv", "bus", 5, "nobus", "not a bus name"),
    ("energy/chargers.csv", "kw", 6, "0", "must be > 0"),
    ("energy/ev_sessions.csv", "charger", 3, "99999", "is not a row of .*chargers\\.csv"),
    ("energy/ev_sessions.csv", "arrival_slot", 4, "96", "past the last slot"),
    ("energy/ev_sessions.csv", "arrival_slot", 5, "1.5", "must be a whole number"),
    ("energy/ev_sessions.csv", "departure_slot", 6, "97", "must be <= 96"),
    ("energy/ev_sessions.csv", "departure_slot", 7, "{arrival_slot}", "must be after arrival_slot"),
    ("energy/ev_sessions.csv", "energy_kwh", 8, "1e5", "more than the .* kWh the car can take"),
    ("energy/ev_sessions.csv", "max_kw", 9, "0", "must be > 0"),
    ("fleet/depots.csv", "node", 1, "nowhere", "not a node id"),
    ("fleet/vehicles.csv", "depot", 1, "5", r"is not a row of .*depots\.csv"),
    ("fleet/vehicles.csv", "seats", 2, "0", "must be >= 1"),
    ("fleet/vehicles.csv", "seats", 1, "twelve", "'twelve' is not a number"),
    ("fleet/vehicles.csv", "battery_kwh", 3, "-110", "must be > 0"),
    ("fleet/vehicles.csv", "kwh_per_km", 4, "0", "must be > 0"),
    ("fleet/vehicles.csv", "soc0", 5, "90", "must be <= 1"),
    ("fleet/chargers.csv", "node", 2, "nowhere", "not a node id"),
    ("fleet/chargers.csv", "kw", 3, "-60", "must be > 0"),
    ("fleet/chargers.csv", "bus", 4, "nobus", "not a bus name"),
    ("fleet/chargers.csv", "bus", 5, "substation 154 kV", "has no charger of kind depot left in .*chargers\\.csv"),
    ("requests.csv", "time_s", 0, "1e9", r"times are in s .*unit mistake"),
    ("requests.csv", "time_s", 6, "1", "is earlier than the request before it"),
    ("requests.csv", "origin", 3, "nowhere", "'nowhere' is not a node id"),
    ("requests.csv", "destination", 7, "{origin}", "is the origin too"),
    ("requests.csv", "passengers", 4, "-1", "must be >= 1"),
    ("requests.csv", "passengers", 8, "20", r"more than the 12 seats .*vehicles\.csv"),
    ("requests.csv", "max_wait_s", 9, "-600", "must be >= 0"),
    ("requests.csv", "max_detour", 10, "x", "not a number"),
    ("requests.csv", "max_detour_s", 11, "-5", "must be >= 0"),
    ("requests.csv", "pickup_earliest_s", 12, "inf", "must be a finite number"),
    ("requests.csv", "dropoff_latest_s", 13, "", "is empty"),
]


@pytest.mark.parametrize(("table", "column", "row", "value", "match"), BAD_VALUES)
def test_bad_values_name_the_file_column_and_line(
    exported: Path, tmp_path: Path, table: str, column: str, row: int, value: str, match: str | None
) -> None:
    """Each kind of bad value in an exported scenario: the message names the file (the path it was
    read from), the column and the line as an editor shows it (the header is line 1)."""
    config = broken(exported, tmp_path)
    edit(config.parent / table, column, row, value)
    with pytest.raises(ValueError) as info:
        load_district(config)
    message = str(info.value)
    assert message.startswith(f"{config.parent / table}: "), message
    if match is None:  # a row's fault rather than a column's: file and line
        assert f"line {row + 2}" in message, message
        return
    assert re.search(rf"column '{column}', line {row + 2}: .*{match}", message), message


def test_lines_count_as_an_editor_does(exported: Path, tmp_path: Path) -> None:
    """Blank lines are skipped but counted; a row with too few values is reported at its line."""
    config = broken(exported, tmp_path)
    vehicles = config.parent / "fleet" / "vehicles.csv"
    lines = vehicles.read_text().splitlines()
    lines[3] = lines[3].replace(",12,", ",0,")  # line 4: the third vehicle
    vehicles.write_text("\n".join([*lines[:2], "", "", *lines[2:]]) + "\n")  # now at line 6
    with pytest.raises(ValueError, match=r"vehicles\.csv: column 'seats', line 6: 0 must be >= 1"):
        load_district(config)
    vehicles.write_text("\n".join([*lines[:5], "1,12,110.0", *lines[5:]]) + "\n")
    with pytest.raises(ValueError, match=r"vehicles\.csv: line 6: 3 values, but the header names 5 columns"):
        load_district(config)
    vehicles.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    with pytest.raises(ValueError, match=r"vehicles\.csv: not a UTF-8 text file"):
        load_district(config)


def test_rows_added_to_empty_tables_are_checked(exported: Path, tmp_path: Path) -> None:
    config = broken(exported, tmp_path)
    grid = config.parent / "grid"
    gens, switches = grid / "gens.csv", grid / "switches.csv"
    gens.write_text("bus,p_kw,q_kvar\nLV J01-01,5.0,0.0\nnobus,1.0,0.0\n")
    with pytest.raises(ValueError, match=r"gens\.csv: column 'bus', line 3: 'nobus' is not a bus name"):
        load_district(config)
    gens.write_text("bus,p_kw,q_kvar\nLV J01-01,5.0,x\n")
    with pytest.raises(ValueError, match=r"gens\.csv: column 'q_kvar', line 2: 'x' is not a number"):
        load_district(config)
    gens.write_text("bus,p_kw,q_kvar\n")
    switches.write_text("bus_a,bus_b\nsubstation 22.9 kV,MV J19-07\n")  # a tie closing a loop: the grid is meshed
    assert load_district(config).energy.grid.num_loops == 1
    switches.write_text("bus_a,bus_b\n")
    edit(grid / "lines.csv", "to_bus", 1, "substation 22.9 kV")  # a loop, and the feeder behind the line cut off
    with pytest.raises(
        ValueError,
        match=r"buses\.csv: column 'name', line \d+: '[^']+' is connected to the slack bus "
        r"'substation 154 kV' by no line, transformer or switch",
    ):
        load_district(config)


def test_missing_files_and_columns(exported: Path, tmp_path: Path) -> None:
    config = broken(exported, tmp_path)
    chargers = config.parent / "energy" / "chargers.csv"
    pd.read_csv(chargers).drop(columns="kw").to_csv(chargers, index=False)
    with pytest.raises(ValueError, match=r"chargers\.csv: missing column\(s\) kw"):
        load_district(config)
    (config.parent / "grid" / "lines.csv").unlink()
    with pytest.raises(FileNotFoundError, match=r"lines\.csv"):
        load_district(config)


def test_config_sections_are_checked(exported: Path, tmp_path: Path) -> None:
    config = broken(exported, tmp_path)
    text = config.read_text()
    config.write_text(text.replace("[fleet]", "[flet]"))
    with pytest.raises(ValueError, match=r"missing the \[fleet\] section"):
        load_district(config)
    config.write_text(text.replace("slot_h = 0.25", "slot_h = 15"))  # minutes by mistake
    with pytest.raises(ValueError, match="slot_h must be the slot length in hours"):
        load_district(config)
    hours = next(line for line in text.splitlines() if line.startswith("hours = "))
    config.write_text(text.replace(hours + "\n", ""))  # never silently at free flow
    with pytest.raises(ValueError, match=r"\[signals\] hours is missing.*hours = \{\} drives the dispatch at free"):
        load_district(config)
    with pytest.raises(FileNotFoundError, match=r"nothing\.toml"):
        load_district(tmp_path / "nothing.toml")


PERIODS = 'periods = ["am_peak", "midday", "pm_peak"]'


@pytest.mark.parametrize(
    ("old", "new", "match"),
    [
        (PERIODS, "periods = 5", r"signals\.periods must be a list of strings, got 5"),
        (PERIODS, "periods = [1, 2]", r"signals\.periods must be a list of strings"),
        ('"BRT trunk" = [', '"BRT trunk" = "S00-04"\nignored = [', r"corridors\.BRT trunk must be a list of strings"),
        ('"BRT trunk" = [', '"BRT trunk" = [3, ', r"corridors\.BRT trunk must be a list of strings"),
        ("[corridors]", "[requests.corridors]", r"requests\.corridors must be a string"),
        ('"area_km2" = 2.755', '"area_km2" = "big"', r"facts\.area_km2 must be a finite number"),
        ('tables = "fleet"', "tables = 5", r"fleet\.tables must be a string"),
        ("slot_h = 0.25", "slot_h = true", r"energy\.slot_h must be a finite number"),
        ("slot_h = 0.25", "slot_h = nan", r"energy\.slot_h must be a finite number"),
    ],
)
def test_config_shape_errors_name_the_file_and_key(
    exported: Path, tmp_path: Path, old: str, new: str, match: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = broken(exported, tmp_path)
    text = config.read_text()
    assert old in text
    config.write_text(text.replace(old, new, 1))
    with pytest.raises(ValueError, match=match) as info:
        load_district(config)
    assert str(info.value).startswith(f"{config}: ")
    # The command line: one line, status 1, no traceback.
    assert main(["run", "--config", str(config), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"smartopt: error: {config}: ") and err.count("\n") == 1


def test_non_utf8_files_are_named(exported: Path, tmp_path: Path) -> None:
    config = broken(exported, tmp_path)
    config.write_bytes(config.read_bytes().replace(b"Sejong", b"Sej\xf6ng"))
    with pytest.raises(ValueError, match=rf"{re.escape(str(config))}: not a UTF-8 text file"):
        load_district(config)
    config = broken(exported, tmp_path / "b")
    links = config.parent / "network" / "links.csv"
    links.write_bytes(links.read_bytes() + b"\xff\xfe,broken\n")
    with pytest.raises(ValueError, match=rf"{re.escape(str(links))}: not a UTF-8 text file"):
        load_district(config)


def test_district_on_a_sumo_network_with_its_traffic_lights(exported: Path, tmp_path: Path) -> None:
    """A SUMO grid (netgenerate) with one traffic light and a route file stands in for the network
    and signals; the grid, energy day, fleet and requests are tables. The whole day runs on it."""
    sumo = pytest.importorskip("sumo", reason="eclipse-sumo is not installed")
    import subprocess

    import numpy as np

    from smartopt.app.pipeline import run_district
    from smartopt.network import read_sumo

    config = broken(exported, tmp_path)
    d = config.parent
    net = d / "grid.net.xml"
    subprocess.run(
        [str(Path(sumo.SUMO_HOME) / "bin" / "netgenerate"), "--grid", "--grid.number", "3", "--grid.length", "200",
         "--default.lanenumber", "2", "--no-turnarounds", "--tls.set", "B1", "--tls.default-type", "static",
         "-o", str(net), "--no-warnings"],
        check=True, capture_output=True,
    )  # fmt: skip
    vehicles = [
        f'<vehicle id="v{k}" depart="{k * 10}"><route edges="{"A1B1 B1C1" if k % 3 else "B0B1 B1B2"}"/></vehicle>'
        for k in range(120)
    ]
    (d / "routes.rou.xml").write_text('<routes><vType id="car"/>' + "".join(vehicles) + "</routes>")
    nodes = read_sumo(net).node_ids
    depot_bus = pd.read_csv(d / "fleet" / "chargers.csv")["bus"].iloc[0]
    pd.DataFrame({"node": ["A0", "C2"]}).to_csv(d / "fleet" / "depots.csv", index=False)
    pd.DataFrame({"node": ["A0"], "kw": [60.0], "bus": [depot_bus]}).to_csv(d / "fleet" / "chargers.csv", index=False)
    rng = np.random.default_rng(0)
    origin = rng.integers(0, nodes.size, 300)
    destination = (origin + rng.integers(1, nodes.size, 300)) % nodes.size
    requests = {"time_s": np.sort(rng.uniform(6 * 3600, 20 * 3600, 300)), "origin": nodes[origin],
                "destination": nodes[destination], "passengers": 1}  # fmt: skip
    pd.DataFrame(requests).to_csv(d / "requests.csv", index=False)
    text = config.read_text().split("\n[network]")[0]  # keep name and assumptions
    text += """
[network]
sumo = "grid.net.xml"
[signals]
periods = ["am_peak", "pm_peak"]
sumo_routes = "routes.rou.xml"
windows_s = {am_peak = [0, 600], pm_peak = [600, 1200]}
hours = {am_peak = [6, 10], pm_peak = [16, 20]}
[grid]
tables = "grid"
slack_bus = "substation 154 kV"
[energy]
tables = "energy"
slot_h = 0.25
[fleet]
tables = "fleet"
[requests]
file = "requests.csv"
"""
    config.write_text(text)
    district = load_district(config)
    (light,) = district.intersections
    assert light.id == "B1" and light.volume_vph.shape[0] == 2
    assert light.volume_vph[0].sum() == pytest.approx(60 * 3600 / 600)  # vehicles 0-59 depart in [0, 600) s
    assert light.volume_vph[1].sum() == pytest.approx(60 * 3600 / 600)
    assert len(district.traffic) == 2 and district.fleet.num_vehicles == 30
    results = run_district(district, scenario=str(config), show=False, shuttle_iterations=200).results
    assert results.signals.coordination is None  # no corridor given
    assert results.dispatch.on_demand.kpis.served_ratio > 0.9
    assert results.coupling.signal_aware_dispatch.mean_added_time_s["smartopt"]["from_6h"] > 0
    windows = text.replace("windows_s = {am_peak = [0, 600], pm_peak = [600, 1200]}", "")
    config.write_text(windows)
    with pytest.raises(ValueError, match=r"windows_s .* 'am_peak' has none"):
        load_district(config)


def test_grid_from_a_pandapower_json(district: District, exported: Path, tmp_path: Path) -> None:
    """[grid] pandapower = a net saved by pandapower: the grid comes back with the same power flow."""
    pp = pytest.importorskip("pandapower", reason="pandapower is not installed")
    import numpy as np

    config = broken(exported, tmp_path)
    pp.to_json(grid_to_pandapower(district.energy.grid), str(config.parent / "grid.json"))
    text = config.read_text()
    start = text.index("[grid]")
    config.write_text(text[:start] + '[grid]\npandapower = "grid.json"\n' + text[text.index("[energy]") :])
    back = load_district(config)
    assert back.energy.grid.num_buses == district.energy.grid.num_buses
    np.testing.assert_allclose(back.energy.power_flow().vm_pu, district.energy.power_flow().vm_pu, atol=1e-9)


def test_command_line_reports_a_missing_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--config", str(tmp_path / "none.toml"), "--out", str(tmp_path / "out")]) == 1
    assert "none.toml" in capsys.readouterr().err


def test_round_trip_without_bus_coordinates_and_with_negative_powers(district: District, tmp_path: Path) -> None:
    import dataclasses

    grid = dataclasses.replace(district.energy.grid, bus_xy=None)
    plain = dataclasses.replace(district, energy=dataclasses.replace(district.energy, grid=grid))
    config = export_scenario(plain, tmp_path / "plain")
    assert same(plain, load_district(config))
    gens = config.parent / "grid" / "gens.csv"
    bus = pd.read_csv(config.parent / "grid" / "buses.csv")["name"].iloc[5]
    pd.DataFrame({"bus": [bus], "p_kw": [-5.0], "q_kvar": [0.0]}).to_csv(gens, index=False)  # a small consumer
    assert load_district(config).energy.grid.gen_p_kw.tolist() == [-5.0]  # not taken for a unit mistake


def test_every_node_reaches_every_other(exported: Path, tmp_path: Path) -> None:
    """The shuttles' travel times need a strongly connected network: a node without links is
    reported at its line before anything runs."""
    config = broken(exported, tmp_path)
    nodes = config.parent / "network" / "nodes.csv"
    lines = nodes.read_text().splitlines()
    nodes.write_text("\n".join([*lines, "lonely,0.0,0.0,127.3,36.5"]) + "\n")
    with pytest.raises(
        ValueError, match=rf"nodes\.csv: column 'id', line {len(lines) + 1}: 'lonely' cannot be reached"
    ):
        load_district(config)


def test_command_line_reports_a_bad_value_before_running(
    exported: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = broken(exported, tmp_path)
    edit(config.parent / "requests.csv", "passengers", 4, 20)  # passed reading, failed 18 s into the run
    assert main(["run", "--config", str(config), "--out", str(tmp_path / "out")]) == 1
    captured = capsys.readouterr()
    assert captured.err.startswith("smartopt: error: ") and captured.err.count("\n") == 1
    assert "requests.csv: column 'passengers', line 6: 20 is more than the 12 seats" in captured.err
    assert not (tmp_path / "out").exists()
