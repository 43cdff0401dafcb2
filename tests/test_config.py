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
