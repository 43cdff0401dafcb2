"""``report.html`` as a city engineer reads it: every section, every image decodes, labels and units
instead of raw keys, counts as integers, a change column with its direction, the fleet's energy
deficit, coupling notes and a district's own assumptions rendered, and the page rendered by a real
browser (headless Chromium) when one is installed. The run's ``results.json`` reads back into the
same tree, byte for byte."""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import math
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from smartopt.app.district import District
from smartopt.app.pipeline import run_district
from smartopt.app.report import KPIS, MINUS, SECTIONS, change, fmt, kpi, kpi_rows, write_report
from smartopt.app.results import DistrictDay, EnergyBalance, read_results

SNAKE = re.compile(r"\b[a-z][a-z0-9]*_[a-z0-9_]+\b")
INTEGER = re.compile(rf"^[+{MINUS}]?\d{{1,3}}(,\d{{3}})*$")
DATA_URI = re.compile(r"<img src='data:image/png;base64,([A-Za-z0-9+/=]+)'")


class Page(HTMLParser):
    """The page's tables (rows of (tag, text) cells), headings, captions and visible text."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[tuple[str, str]]]] = []
        self.headings: dict[str, list[str]] = {"h1": [], "h2": [], "h3": []}
        self.captions: list[str] = []
        self.text: list[str] = []
        self._cell: list[str] | None = None
        self._tag: str | None = None
        self._in: str | None = None
        self._skip = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "title"):
            self._skip = True
        elif tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell, self._tag = [], tag
        elif tag in ("h1", "h2", "h3", "figcaption"):
            self._in, self._buf = tag, []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "title"):
            self._skip = False
        elif tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append((tag, "".join(self._cell).strip()))
            self._cell = None
        elif tag == self._in:
            text = "".join(self._buf).strip()
            (self.captions if tag == "figcaption" else self.headings[tag]).append(text)
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)
        if self._in is not None:
            self._buf.append(data)

    def rows(self) -> list[list[tuple[str, str]]]:
        return [row for table in self.tables for row in table if row]


def parse(page: str) -> Page:
    p = Page()
    p.feed(page)
    return p


@pytest.fixture(scope="module")
def run(district: District, tmp_path_factory: pytest.TempPathFactory) -> tuple[DistrictDay, Path]:
    """The built-in district's day written with its plots and report (a short search for the booked
    trips), and the folder it went to."""
    out = tmp_path_factory.mktemp("day")
    day = run_district(district, scenario="sejong-5-1", show=False, shuttle_iterations=200, out=out)
    return day, out


@pytest.fixture(scope="module")
def day(run: tuple[DistrictDay, Path]) -> DistrictDay:
    return run[0]


@pytest.fixture(scope="module")
def report(run: tuple[DistrictDay, Path]) -> Path:
    """The report the pipeline wrote beside its plots."""
    return run[1] / "report.html"


@pytest.fixture(scope="module")
def page(report: Path) -> Page:
    return parse(report.read_text(encoding="utf-8"))


def test_every_section_is_present(report: Path, page: Page) -> None:
    assert page.headings["h2"] == list(SECTIONS)
    html = report.read_text(encoding="utf-8")
    assert all(f"<h2>{title}</h2>" in html for title in SECTIONS)
    assert "src='http" not in html and "<script" not in html  # self-contained
    for h3 in (
        "Delay and level of service per period",
        "Per intersection: Webster → smartopt",
        "The day planned: before → after",
        "Overloaded transformers and lines, by name",
        "The fleet's energy balance",
        "The grid with the shuttles' charging",
    ):
        assert h3 in page.headings["h3"]


def test_every_image_is_a_png_with_a_caption(report: Path, page: Page) -> None:
    html = report.read_text(encoding="utf-8")
    images = DATA_URI.findall(html)
    assert len(images) == html.count("<img ") == 5  # map, time-space, energy plan, voltages, fleet
    for data in images:
        with Image.open(io.BytesIO(base64.b64decode(data, validate=True))) as im:
            assert im.format == "PNG"
            im.load()
            assert im.width > 400 and im.height > 200
    assert len(page.captions) == len(images)
    for caption in page.captions:
        assert len(caption) > 80, caption  # says what it shows and for which period
    assert any("PM peak" in c for c in page.captions)  # the green wave's period
    assert any("(0-24 h)" in c for c in page.captions)  # the fleet's day on the clock


def test_labels_not_raw_keys(page: Page) -> None:
    labels = [text for row in page.rows() for tag, text in row if tag == "th"]
    labels += [row[0][1] for row in page.rows()]
    assert labels
    assert [x for x in labels if SNAKE.search(x)] == []
    visible = " ".join(page.text)
    assert SNAKE.findall(visible) == []
    assert "requests per s" not in visible and "requests_per_s" not in visible
    # units with the labels
    for title in ("peak transformer loading, %", "mean wait for pickup, s", "requests served, %", "peak demand, kW"):
        assert title in labels


def test_counts_are_integers(day: DistrictDay, page: Page) -> None:
    count_titles = {k.title for k in KPIS.values() if k.kind == "count"}
    checked = 0
    for row in page.rows():
        label = row[0][1] if row[0][0] == "th" else (row[1][1] if len(row) > 1 else "")
        if label not in count_titles:
            continue
        for tag, text in row[1:]:
            if tag == "td" and text and text[0] in f"+{MINUS}0123456789":
                assert INTEGER.match(text.split(" ")[0]), (label, text)
                checked += 1
    assert checked > 20
    requests = day.results.dispatch.requests
    visible = " ".join(page.text)
    assert f"{requests:,}" in visible and f"{requests:,}.0" not in visible


def test_change_column_and_direction() -> None:
    assert change("mean_wait_s", 185.3, 173.0) == ("\u221212 s", "<span class='better'>▼ better</span>")
    assert change("served_ratio", 0.962, 0.991)[0] == "+2.9 pp"
    assert "better" in change("served_ratio", 0.962, 0.991)[1]
    assert change("overloaded_trafos", 4, 0)[0] == "\u22124"
    assert "worse" in change("peak_kw", 8080.0, 8142.7)[1]
    assert change("mean_cycle_s", 124.0, 141.0) == ("+17 s", "")  # no better direction
    assert change("peak_kw", 10.0, 10.2)[0] == "0"
    assert change("peak_kw", math.nan, 1.0)[0] == "—"
    assert fmt("served_ratio", 0.9623) == "96.2"
    assert fmt("requests", 2971.0) == "2,971"
    assert fmt("feasible", True) == "yes"


def test_unknown_keys_get_a_label_with_unit() -> None:
    assert kpi("queue_length_m").title == "queue length, m"
    assert kpi("charger_peak_kw").title == "charger peak, kW"
    assert kpi("uptime_ratio").kind == "ratio" and kpi("uptime_ratio").title == "uptime, %"
    assert not SNAKE.search(kpi("some_new_kpi").title)


def test_headline_rows_for_the_command_line(day: DistrictDay) -> None:
    rows = kpi_rows(day.results)
    assert all(not SNAKE.search(label) for _, label, *_ in rows)
    served = next(r for r in rows if r[1] == "requests served, %")
    assert 50 < float(served[3]) <= 100  # shown in %
    assert all(verdict in ("", "no change") or verdict.endswith(("better", "worse")) for *_, verdict in rows)


def test_the_headline_table_has_a_change_and_a_verdict(page: Page) -> None:
    headline = page.tables[0]
    assert [text for _, text in headline[0]] == [
        "area",
        "KPI",
        "compared",
        "before",
        "after",
        "change",
        "better or worse",
    ]
    peak = next(r for r in headline[1:] if r[1][1] == "peak demand, kW" and r[0][1] == "energy")
    assert peak[5][1].startswith(MINUS) and peak[5][1].endswith("kW") and "better" in peak[6][1]


def test_signals_per_intersection(day: DistrictDay, page: Page) -> None:
    ids = [str(x.id) for x in day.district.intersections]
    periods = list(day.signal_plans)
    tables = [t for t in page.tables if t and "level of service" in [c[1] for c in t[0]]]
    assert len(tables) == len(periods)
    for table in tables:
        rows = table[2:]
        assert [r[0][1] for r in rows] == ids
        for r in rows:
            assert r[-1][1] in "ABCDEF" and r[-2][1] in "ABCDEF"


def test_overloaded_elements_by_name(day: DistrictDay, page: Page) -> None:
    before = [v for v in day.results.energy.grid.violations if v.kind == "trafo"]
    assert before  # the built-in day overloads transformers when every car charges on arrival
    rows = {r[0][1]: r for r in page.rows() if len(r) == 9 and r[1][1] == "transformer"}
    for v in before:
        name = v.element.removeprefix("transformer ")
        assert name in rows
        assert float(rows[name][3][1]) == pytest.approx(v.worst, abs=0.06)
        assert float(rows[name][5][1]) <= day.day_plan.max_loading_percent + 0.5  # after the plan


def test_deficit_notes_and_assumptions_are_rendered(day: DistrictDay, tmp_path: Path) -> None:
    r = day.results
    balance = EnergyBalance(
        vehicles=30,
        soc_start_kwh=2970.0,
        driven_kwh=1772.9,
        charged_kwh=1500.0,
        overnight_kwh=669.5,
        soc_end_kwh=2697.1,
        deficit_kwh=272.9,
        vehicles_short=("V07", "V12"),
    )
    on_demand = dataclasses.replace(r.dispatch.on_demand, energy_balance=balance)
    signal_aware = dataclasses.replace(
        r.coupling.signal_aware_dispatch, notes=("With the delays of smartopt's signal plans the wait falls.",)
    )
    results = dataclasses.replace(
        r,
        dispatch=dataclasses.replace(r.dispatch, on_demand=on_demand),
        coupling=dataclasses.replace(r.coupling, signal_aware_dispatch=signal_aware),
    )
    district = dataclasses.replace(day.district, assumptions=("Speed limits 50/40/30 km/h.", "60 MVA substation."))
    path = tmp_path / "report.html"
    write_report(dataclasses.replace(day, results=results, district=district), path, {})
    page = parse(path.read_text(encoding="utf-8"))
    visible = " ".join(page.text)
    rows = {r[0][1]: r[1][1] for r in page.rows() if len(r) == 2}
    assert rows["shuttles ending the day below their start charge"] == "2 (V07, V12)"
    assert rows[KPIS["deficit_kwh"].title] == "273"
    assert rows[KPIS["overnight_kwh"].title] == "670"
    assert "2,970 → 2,697" in rows["energy in the batteries, start → end of the day, kWh"]
    assert "the wait falls" in visible
    assert "Speed limits 50/40/30 km/h." in visible and "60 MVA substation." in visible
    assert len(DATA_URI.findall(path.read_text(encoding="utf-8"))) == 4  # no time-space PNG given


def test_a_district_without_assumptions_says_so(day: DistrictDay, tmp_path: Path) -> None:
    district = dataclasses.replace(day.district, assumptions=())
    path = tmp_path / "report.html"
    write_report(dataclasses.replace(day, district=district), path, {})
    visible = " ".join(parse(path.read_text(encoding="utf-8")).text)
    assert "This district lists no assumptions." in visible
    assert "Where the district's figures come from" not in visible


def test_results_json_reads_back_byte_for_byte(run: tuple[DistrictDay, Path]) -> None:
    day, out = run
    text = (out / "results.json").read_text()
    back = read_results(out / "results.json")
    assert json.dumps(back.to_dict(), indent=2, allow_nan=False) == text
    assert back.to_dict() == day.to_dict()
    assert back.dispatch.on_demand.kpis == day.results.dispatch.on_demand.kpis


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(_chromium() is None, reason="chromium is not installed (CI installs Debian's chromium)")
def test_chromium_renders_the_page(report: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    browser = _chromium()
    assert browser is not None
    done = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={shot}",
            "--window-size=1200,3000",
            report.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    with Image.open(shot) as im:
        assert im.format == "PNG" and im.size == (1200, 3000)
        pixels = np.asarray(im.convert("L"), dtype=float)
    assert pixels.std() > 20  # not blank
    assert (pixels < 128).mean() > 0.01  # text, tables and plots drawn
