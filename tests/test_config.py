"""Your own district from files: the built-in district written out and read back equal, the main
job run from a config, and clear errors for missing files, columns, unknown ids and unit mistakes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from smartopt.cli import main
from smartopt.config import export_scenario, load_district
from smartopt.datasets import sejong_5_1
from smartopt.district import District
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
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df.loc[row, column] = str(value)
    df.to_csv(path, index=False)


@pytest.mark.parametrize(
    ("table", "column", "row", "value", "match"),
    [
        ("requests.csv", "origin", 3, "nowhere", r"requests\.csv: column 'origin', row 3: 'nowhere' is not a node id"),
        ("requests.csv", "time_s", 0, "1e9", r"times are in s .*unit mistake"),
        ("grid/loads.csv", "p_kw", 2, "2.5e6", r"loads\.csv: column 'p_kw', row 2.*powers are in kW"),
        ("fleet/vehicles.csv", "seats", 1, "twelve", r"vehicles\.csv: column 'seats', row 1: 'twelve' is not a number"),
        ("signals/movements.csv", "out_link", 0, "L-999", r"movements\.csv.*'L-999' is not a link id"),
        ("fleet/chargers.csv", "bus", 0, "nobus", r"chargers\.csv.*'nobus' is not a bus name"),
        ("network/links.csv", "speed_mps", 0, "90", r"speeds are in m/s"),
        ("network/links.csv", "speed_mps", 0, "50", None),  # 180 km/h: plausible
    ],
)
def test_bad_values_name_the_file_column_and_row(
    exported: Path, tmp_path: Path, table: str, column: str, row: int, value: str, match: str | None
) -> None:
    config = broken(exported, tmp_path)
    edit(config.parent / table, column, row, value)
    if match is None:
        assert load_district(config).network.link_speed_mps[0] == 50.0
        return
    with pytest.raises(ValueError, match=match):
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
    with pytest.raises(FileNotFoundError, match=r"nothing\.toml"):
        load_district(tmp_path / "nothing.toml")


def test_district_on_a_sumo_network_with_its_traffic_lights(exported: Path, tmp_path: Path) -> None:
    """A SUMO grid (netgenerate) with one traffic light and a route file stands in for the network
    and signals; the grid, energy day, fleet and requests are tables. The whole day runs on it."""
    sumo = pytest.importorskip("sumo", reason="eclipse-sumo is not installed")
    import subprocess

    import numpy as np

    from smartopt.network import RoadNetwork
    from smartopt.pipeline import run_district

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
    nodes = RoadNetwork.from_sumo(net).node_ids
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
    results = run_district(district, scenario=str(config), show=False, shuttle_time_limit_s=1.0).results
    assert results["signals"]["coordination"] is None  # no corridor given
    assert results["dispatch"]["on_demand"]["kpis"]["served_ratio"] > 0.9
    assert results["coupling"]["signal_aware_dispatch"]["mean_added_time_s"]["smartopt"]["from_6h"] > 0
    windows = text.replace("windows_s = {am_peak = [0, 600], pm_peak = [600, 1200]}", "")
    config.write_text(windows)
    with pytest.raises(ValueError, match=r"windows_s .* 'am_peak' has none"):
        load_district(config)


def test_grid_from_a_pandapower_json(district: District, exported: Path, tmp_path: Path) -> None:
    """[grid] pandapower = a net saved by pandapower: the grid comes back with the same power flow."""
    pp = pytest.importorskip("pandapower", reason="pandapower is not installed")
    import numpy as np

    config = broken(exported, tmp_path)
    pp.to_json(district.energy.grid.to_pandapower(), str(config.parent / "grid.json"))
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
