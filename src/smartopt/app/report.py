"""``report.html``: one self-contained page (plots inlined as PNG) for a city engineer: the district
day's KPIs with labels and units, before and after with the change and whether it is better, per
intersection, per overloaded grid element, the fleet's energy balance, what each coupling changed,
a district map, and the assumptions behind it all.

Every KPI the page shows is described once, in :data:`KPIS` (label, unit, decimals, which direction
is better); keys it does not know get a label from their name and unit suffix, so a raw key is never
shown. Software timings (keys ending in ``runtime_s``) are not service KPIs: they appear only in
the "Run" footnote.
"""

from __future__ import annotations

import base64
import html
import io
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from smartopt.app import _report_plots as figs
from smartopt.app._report_plots import period_label

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from smartopt.app.district import DistrictDay

__all__ = ["KPIS", "Kpi", "kpi_rows", "write_report"]


@dataclass(frozen=True)
class Kpi:
    """How the page shows one KPI: ``label`` and ``unit`` (shown as "label, unit"), ``digits``
    after the decimal point, ``kind`` ("value"; "count": an integer; "ratio": a fraction shown as
    %; "percent": already in %) and which direction is ``better`` (None: neither)."""

    label: str
    unit: str = ""
    digits: int = 1
    better: Literal["lower", "higher"] | None = None
    kind: Literal["value", "count", "ratio", "percent"] = "value"

    @property
    def title(self) -> str:
        unit = "%" if self.kind == "ratio" else self.unit
        return f"{self.label}, {unit}" if unit else self.label

    @property
    def change_unit(self) -> str:
        return "pp" if self.kind in ("ratio", "percent") else self.unit


def _count(label: str, better: Literal["lower", "higher"] | None = None) -> Kpi:
    return Kpi(label, digits=0, better=better, kind="count")


KPIS: dict[str, Kpi] = {
    # signals
    "total_delay_veh_h": Kpi("total control delay", "veh·h/h", 0, "lower"),
    "average_delay_s": Kpi("mean control delay", "s/veh", 1, "lower"),
    "mean_cycle_s": Kpi("mean cycle length", "s", 0),
    "intersections_los_e_or_f": _count("intersections at LOS E or F", "lower"),
    "entering_vph": Kpi("traffic entering the intersections", "veh/h", 0),
    "webster_y_mean": Kpi("mean critical flow ratio Y (Webster)", "", 2),
    "webster_y_max": Kpi("highest critical flow ratio Y (Webster)", "", 2),
    "intersections_y_over_0_8": _count("intersections with Y above 0.8"),
    "bandwidth_out_s": Kpi("green band outbound", "s", 0, "higher"),
    "bandwidth_in_s": Kpi("green band inbound", "s", 0, "higher"),
    "cycle_s": Kpi("cycle length", "s", 0),
    "delay_s": Kpi("control delay", "s/veh", 1, "lower"),
    # energy
    "peak_kw": Kpi("peak demand", "kW", 0, "lower"),
    "load_factor": Kpi("load factor (mean ÷ peak demand)", "%", 1, "higher", "ratio"),
    "min_vm_pu": Kpi("lowest bus voltage", "pu", 3, "higher"),
    "max_vm_pu": Kpi("highest bus voltage", "pu", 3),
    "peak_trafo_loading_percent": Kpi("peak transformer loading", "%", 1, "lower", "percent"),
    "peak_line_loading_percent": Kpi("peak line loading", "%", 1, "lower", "percent"),
    "overloaded_trafos": _count("overloaded transformers", "lower"),
    "overloaded_lines": _count("overloaded lines", "lower"),
    "buses_out_of_band": _count("buses outside the voltage band", "lower"),
    "failed_snapshots": _count("slots whose power flow failed", "lower"),
    "losses_kwh": Kpi("grid losses", "kWh/day", 0, "lower"),
    "losses_percent_of_supply": Kpi("grid losses, share of supply", "%", 2, "lower", "percent"),
    "peak_supply_kw": Kpi("peak supply from the substation", "kW", 0, "lower"),
    "slots_converged": _count("time slots with a converged power flow"),
    "buses": _count("grid buses"),
    "slots": _count("time slots"),
    "base_peak_kw": Kpi("peak of the loads", "kW", 0),
    "base_energy_kwh": Kpi("energy of the loads", "kWh/day", 0),
    "pv_energy_kwh": Kpi("rooftop PV energy", "kWh/day", 0),
    "ev_sessions": _count("EV charging sessions"),
    "ev_energy_kwh": Kpi("EV charging energy asked", "kWh/day", 0),
    "uncontrolled_peak_kw": Kpi("peak demand with charging on arrival", "kW", 0, "lower"),
    "substation_rating_kva": Kpi("substation transformer rating", "kVA", 0),
    "ev_energy_asked_kwh": Kpi("EV energy asked", "kWh", 0),
    "ev_energy_served_kwh": Kpi("EV energy delivered by the plan", "kWh", 0, "higher"),
    "accepted_overload_kw": Kpi("overload the plan could not avoid", "kW", 1, "lower"),
    "rounds": _count("plan rounds (solve, then power-flow check)"),
    "worst_imbalance_kw": Kpi("worst phase imbalance of a feeder", "kW", 1, "lower"),
    "mean_worst_imbalance_kw": Kpi("mean over feeders of the worst phase imbalance", "kW", 1, "lower"),
    "feeders": _count("low-voltage feeders"),
    "single_phase_loads": _count("single-phase loads and chargers"),
    # dispatch
    "requests": _count("ride requests"),
    "served_ratio": Kpi("requests served", "%", 1, "higher", "ratio"),
    "mean_wait_s": Kpi("mean wait for pickup", "s", 0, "lower"),
    "p95_wait_s": Kpi("95th-percentile wait for pickup", "s", 0, "lower"),
    "mean_detour": Kpi("mean ride time ÷ direct ride time", "", 2, "lower"),
    "occupancy": Kpi("mean occupancy (weighted by distance)", "riders", 2, "higher"),
    "energy_deficit_kwh": Kpi("battery energy short of the start of the day", "kWh", 1, "lower"),
    "vehicle_km": Kpi("distance driven", "km", 0, "lower"),
    "empty_km": Kpi("distance driven empty", "km", 0, "lower"),
    "energy_kwh": Kpi("energy used driving", "kWh", 0, "lower"),
    "charged_kwh": Kpi("energy charged", "kWh", 0),
    "vehicles_used": _count("shuttles used"),
    "broken_promises": _count("broken promises (late pickup or drop-off)", "lower"),
    "reoptimizations": _count("re-plans by the routing solver"),
    "shuttles": _count("shuttles"),
    "bookings": _count("booked trips"),
    "served": _count("booked trips served", "higher"),
    "on_time_rate": Kpi("booked trips on time", "%", 1, "higher", "ratio"),
    "shuttles_used": _count("shuttles used", "lower"),
    "mean_pickup_deviation_s": Kpi("mean deviation from the booked pickup time", "s", 0, "lower"),
    "mean_ride_over_direct": Kpi("mean ride time ÷ direct ride time", "", 2, "lower"),
    "feasible": Kpi("all time windows and ride limits kept"),
    "mean_direct_ride_s": Kpi("mean direct ride time", "s", 0),
    "p95_direct_ride_s": Kpi("95th-percentile direct ride time", "s", 0),
    "busiest_hour_requests": _count("requests in the busiest hour"),
    "busiest_hour_direct_vehicle_hours": Kpi("direct ride time in the busiest hour", "vehicle·h", 1),
    "charging_sessions": _count("charging sessions"),
    # the fleet's energy balance
    "vehicles": _count("shuttles"),
    "driven_kwh": Kpi("energy used driving", "kWh", 0),
    "soc_start_kwh": Kpi("energy in the batteries at the start of the day", "kWh", 0),
    "soc_end_kwh": Kpi("energy in the batteries at the end of the day", "kWh", 0, "higher"),
    "overnight_kwh": Kpi("charging after the last ride (overnight refill)", "kWh", 0),
    "deficit_kwh": Kpi("deficit: energy short of the start of the day", "kWh", 0, "lower"),
    "vehicles_short": _count("shuttles ending the day below their start charge", "lower"),
    "full_charger_kw": Kpi("depot charger power, full", "kW", 0),
    "charger_kw": Kpi("charger power", "kW", 1),
    "min_kw": Kpi("lowest charger power over the day", "kW", 1),
    "mean_kw": Kpi("mean charger power over the day", "kW", 1),
    "max_kw": Kpi("highest charger power over the day", "kW", 1),
    "sessions": _count("shuttle charging sessions on the grid"),
    "nodes": _count("road nodes"),
    "links": _count("road links"),
    "mean_travel_time_s": Kpi("mean travel time between nodes", "s", 0),
    "max_travel_time_s": Kpi("longest travel time between nodes", "s", 0),
}
"""Every KPI on the page: label, unit, decimals and which direction is better."""

TIMING_SUFFIXES = ("runtime_s",)
"""Software timings: never service KPIs, only in the run footnote."""

_UNIT_SUFFIXES = (
    ("_veh_h", "veh·h"),
    ("_kwh", "kWh"),
    ("_kw", "kW"),
    ("_kva", "kVA"),
    ("_vph", "veh/h"),
    ("_ms", "ms"),
    ("_km", "km"),
    ("_pu", "pu"),
    ("_percent", "%"),
    ("_s", "s"),
    ("_m", "m"),
    ("_h", "h"),
)

PLAN_LABELS = {"webster": "Webster", "smartopt": "smartopt"}
SECTIONS = (
    "Before and after",
    "District map",
    "Signals",
    "Energy",
    "Dispatch",
    "Coupling",
    "Assumptions",
    "Run",
)
"""The page's sections (``<h2>``), in order."""

STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222;"
    "line-height:1.4}h1{font-size:1.6em}h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:2em}"
    "table{border-collapse:collapse;margin:.5em 0 1.2em;font-size:.92em}"
    "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right;vertical-align:top;white-space:nowrap}"
    "thead th{background:#f4f4f4;white-space:normal}th.span{text-align:center}"
    "th[scope=row]{text-align:left;font-weight:normal}th.text,td.text{text-align:left;white-space:normal}"
    "tr.group th{background:#eef3f8;text-align:left;font-weight:600}td.los{text-align:center}"
    ".better{color:#1a7f37}.worse{color:#b42318}.same{color:#777}.los-E,.los-F{background:#fde2e0}"
    "figure{margin:1em 0 2em}img{max-width:100%;border:1px solid #eee}figcaption{font-size:.9em;color:#444}"
    "p.note{background:#fff8e1;border-left:4px solid #f0b400;padding:.4em .8em}.small{font-size:.85em;color:#555}"
    "details{margin:.4em 0}summary{cursor:pointer}nav a{margin-right:1em}"
)


class Html(str):
    """Markup already escaped: table cells holding it are not escaped again."""

    __slots__ = ()


def kpi(key: str) -> Kpi:
    """The description of ``key``: from :data:`KPIS`, else a label built from the key's words and
    unit suffix (``"queue_length_m"`` -> ``"queue length, m"``)."""
    if key in KPIS:
        return KPIS[key]
    words, unit = key, ""
    for suffix, u in _UNIT_SUFFIXES:
        if key.endswith(suffix) and len(key) > len(suffix):
            words, unit = key[: -len(suffix)], u
            break
    if key.endswith(("_ratio", "_rate")):
        return Kpi(key.rsplit("_", 1)[0].replace("_", " "), "%", 1, kind="ratio")
    digits = 2 if unit in ("", "pu") else 1
    return Kpi(words.replace("_", " "), unit, digits, kind="percent" if unit == "%" else "value")


def is_timing(key: str) -> bool:
    """Whether ``key`` is a software timing (not a service KPI)."""
    return key.endswith(TIMING_SUFFIXES)


def fmt(key: str, value: Any) -> str:
    """``value`` of KPI ``key`` as the page shows it (no unit: the label carries it)."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return value
    if isinstance(value, Sequence):
        return f"{len(value):,}"
    if value is None or not math.isfinite(float(value)):
        return "—"
    k = kpi(key)
    v = float(value) * (100.0 if k.kind == "ratio" else 1.0)
    if k.kind == "count":
        return f"{round(v):,d}"
    return f"{v:,.{k.digits}f}"


MINUS, DASH = "\u2212", "\u2013"
"""The minus sign and the en dash (for ranges) the page prints."""


def _signed(text: str) -> str:
    return MINUS + text[1:] if text.startswith("-") else "+" + text


def change(key: str, before: Any, after: Any) -> tuple[str, Html]:
    """The change column (after - before, signed, with unit; pp: percentage points) and whether it
    is better, worse or the same, for KPI ``key``."""
    try:
        b, a = float(before), float(after)
    except (TypeError, ValueError):
        return "", Html("")
    if not (math.isfinite(b) and math.isfinite(a)):
        return "—", Html("")
    k = kpi(key)
    scale = 100.0 if k.kind == "ratio" else 1.0
    diff = (a - b) * scale
    digits = 0 if k.kind == "count" else k.digits
    if round(abs(diff), digits) == 0:
        return "0", Html("<span class='same'>no change</span>")
    number = f"{round(diff):,d}" if k.kind == "count" else f"{diff:,.{digits}f}"
    unit = k.change_unit
    text = _signed(number) + (f" {unit}" if unit else "")
    if k.better is None:
        return text, Html("")
    good = (diff < 0) == (k.better == "lower")
    arrow = "▲" if diff > 0 else "▼"
    verdict = "better" if good else "worse"
    return text, Html(f"<span class='{verdict}'>{arrow} {verdict}</span>")


def write_report(day: DistrictDay, path: Path, plots: dict[str, Path]) -> None:
    """Writes the page for ``day`` to ``path``. ``plots`` maps captions to PNG files already
    written; the report draws the energy plan, the fleet's day, the voltages and the district map
    itself (``energy_plan.png`` and ``fleet_day.png`` are replaced by its own versions, with units
    and the day's clock hours), inlines the time-space diagram with its own caption, and any other
    PNG with the caption given."""
    r = day.results
    scenario = html.escape(str(r.get("scenario", "")))
    parts = ["<h1>The district day: before and after smartopt</h1>"]
    parts.append(
        f"<p><b>{html.escape(day.district.name)}</b> (scenario {scenario}, seed {r.get('seed', 0)}). What ran: "
        f"{html.escape(str(r.get('solvers', '')))}.</p>"
    )
    parts.append("<nav>" + "".join(f"<a href='#{_anchor(s)}'>{s}</a>" for s in SECTIONS) + "</nav>")
    others = {c: p for c, p in plots.items() if p.stem not in ("energy_plan", "fleet_day", "time_space")}
    time_space = next((p for p in plots.values() if p.stem == "time_space"), None)

    parts += [_h2("Before and after"), _headline(r)]
    parts += [_h2("District map"), _figure(*figs.district_map(day))]
    parts += [_h2("Signals"), _signals(day, time_space)]
    parts += [_h2("Energy"), _energy(day, figs.energy_plan(day), figs.voltages(day))]
    parts += [_h2("Dispatch"), _dispatch(day, figs.fleet_day(day))]
    parts += [_h2("Coupling"), _coupling(r)]
    parts += [_h2("Assumptions"), _assumptions(day)]
    if others:
        parts.append("<h3>More plots</h3>")
        parts += [_image(caption, png.read_bytes()) for caption, png in others.items()]
    parts += [_h2("Run"), _run(r)]
    page = (
        "<!doctype html><html lang='en'><meta charset='utf-8'>"
        f"<title>smartopt report: {scenario}</title><style>{STYLE}</style><body>"
    )
    path.write_text(page + "\n".join(parts) + "</body></html>\n", encoding="utf-8")


# ---------------------------------------------------------------------------- headline KPIs


def _headline_rows(results: Mapping[str, Any]) -> list[tuple[str, str, str, Any, Any]]:
    """(area, KPI key, what is compared, before, after) for the page's first table."""
    rows: list[tuple[str, str, str, Any, Any]] = []
    for period, v in results["signals"]["periods"].items():
        w, o = v["timing"]["webster"], v["timing"]["smartopt"]
        for key in ("total_delay_veh_h", "intersections_los_e_or_f"):
            rows.append(("signals", key, f"{period_label(period)}: Webster → smartopt", w[key], o[key]))
    plan = results["energy"]["plan"]
    for key in ("peak_kw", "peak_trafo_loading_percent", "overloaded_trafos", "min_vm_pu"):
        rows.append(("energy", key, "charging on arrival → planned", plan["before"][key], plan["after"][key]))
    r = results["dispatch"]["on_demand"]["reoptimization"]
    what = f"{r['shuttles']} shuttles: without → with re-planning every {r['every_s'] / 60:.0f} min"
    for key in ("served_ratio", "mean_wait_s", "vehicle_km"):
        rows.append(("dispatch", key, what, r["kpis_without"][key], r["kpis_with"][key]))
    coupling = results["coupling"]
    c = coupling["signal_aware_dispatch"]["kpis"]
    for key in ("served_ratio", "mean_wait_s"):
        rows.append(
            ("coupling", key, "free flow → smartopt's signal delays", c["free_flow"][key], c["smartopt_signals"][key])
        )
    f = coupling["shuttle_charging"]["plan"]
    for key in ("peak_kw", "overloaded_trafos"):
        rows.append(
            (
                "coupling",
                key,
                "planned grid without → with the shuttles",
                f["without_shuttles"][key],
                f["with_shuttles"][key],
            )
        )
    full, spare = f["with_shuttles_at_full_power"], f["with_shuttles"]
    key = "overloaded_trafos"
    rows.append(("coupling", key, "depots charging at full → at spare power", full[key], spare[key]))
    return rows


def kpi_rows(results: dict[str, Any]) -> list[tuple[str, str, str, str, str, str, str]]:
    """The day's headline KPIs as text for a terminal: (area, KPI label with unit, what is compared,
    before, after, change, better or worse), as the page's first table shows them."""
    rows = []
    for area, key, what, before, after in _headline_rows(results):
        delta, verdict = change(key, before, after)
        plain = re.sub(r"<[^>]+>", "", verdict)
        rows.append((area, kpi(key).title, what.replace("→", "->"), fmt(key, before), fmt(key, after), delta, plain))
    return rows


def _headline(results: Mapping[str, Any]) -> str:
    rows = []
    for area, key, what, before, after in _headline_rows(results):
        delta, verdict = change(key, before, after)
        rows.append([area, Html(_th(kpi(key).title)), what, fmt(key, before), fmt(key, after), delta, verdict])
    return _table(["area", "KPI", "compared", "before", "after", "change", "better or worse"], rows, left=3) + _LEGEND


_LEGEND = (
    f"<p class='small'>Change is after {MINUS} before, in the KPI's unit (pp: percentage points). Whether a change is "
    "better is set per KPI: less delay, waiting, peak demand, loading and overload is better; more requests "
    "served and a higher lowest voltage and load factor are better.</p>"
)


# ---------------------------------------------------------------------------- tables


def _anchor(title: str) -> str:
    return re.sub(r"[^a-z]+", "-", title.lower()).strip("-")


def _h2(title: str) -> str:
    return f"<a id='{_anchor(title)}'></a><h2>{html.escape(title)}</h2>"


def _th(text: str) -> str:
    return f"<th scope='row'>{html.escape(text)}</th>"


def _text(text: str) -> Html:
    return Html(f"<td class='text'>{html.escape(text)}</td>")


def _table(
    header: Sequence[str], rows: Iterable[Sequence[Any]], left: int = 1, groups: Sequence[tuple[str, int]] = ()
) -> str:
    """A table: the first ``left`` columns hold text (left-aligned), the others numbers. A cell is
    text (escaped) or an :class:`Html` fragment (a whole ``<td>``/``<th>`` if it starts with one,
    else the inside of a ``<td>``); a row that is an ``Html`` string is a whole ``<tr>``. ``groups``
    adds a header row above ``header``: (title, columns spanned)."""

    def cell(v: Any, i: int) -> str:
        cls = " class='text'" if i < left else ""
        if isinstance(v, Html):
            return v if v.startswith(("<td", "<th")) else f"<td{cls}>{v}</td>"
        return f"<td{cls}>{html.escape(str(v))}</td>"

    def row(r: Sequence[Any]) -> str:
        return r if isinstance(r, Html) else "<tr>" + "".join(cell(v, i) for i, v in enumerate(r)) + "</tr>"

    top = ""
    if groups:
        top = (
            "<tr>"
            + "".join(
                f"<th colspan='{n}' class='span'>{html.escape(t)}</th>" if n > 1 else f"<th>{html.escape(t)}</th>"
                for t, n in groups
            )
            + "</tr>"
        )
    head = "".join(f"<th{' class=text' if i < left else ''}>{html.escape(h)}</th>" for i, h in enumerate(header))
    body = "".join(row(r) for r in rows)
    return f"<table><thead>{top}<tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _group(title: str, columns: int) -> Html:
    return Html(f"<tr class='group'><th colspan='{columns}'>{html.escape(title)}</th></tr>")


def _numeric(d: Mapping[str, Any]) -> list[str]:
    return [k for k, v in d.items() if isinstance(v, int | float) and not isinstance(v, bool) and not is_timing(k)]


def _compare(sides: Mapping[str, Mapping[str, Any]], keys: Sequence[str] | None = None) -> str:
    """One row per KPI, one column per side, the change from the first side to the last and
    whether it is better."""
    names = list(sides)
    first, last = sides[names[0]], sides[names[-1]]
    keys = _numeric(first) if keys is None else keys
    rows = []
    for key in keys:
        delta, verdict = change(key, first.get(key), last.get(key))
        rows.append([Html(_th(kpi(key).title)), *[fmt(key, sides[n].get(key)) for n in names], delta, verdict])
    return _table(["KPI", *names, "change", "better or worse"], rows)


def _values(d: Mapping[str, Any], keys: Sequence[str] | None = None, header: str = "value") -> str:
    keys = [k for k in d if k in KPIS or not isinstance(d[k], dict | list)] if keys is None else keys
    rows = [[Html(_th(kpi(k).title)), fmt(k, d[k])] for k in keys if k in d and not is_timing(k)]
    return _table(["KPI", header], rows)


def _notes(d: Any) -> str:
    """The ``notes`` (sentences explaining a result that moves against intuition) anywhere in ``d``."""
    found: list[str] = []

    def walk(x: Any) -> None:
        if isinstance(x, Mapping):
            notes = x.get("notes")
            if isinstance(notes, str):
                found.append(notes)
            elif isinstance(notes, list | tuple):
                found.extend(str(n) for n in notes)
            for k, v in x.items():
                if k != "notes":
                    walk(v)

    walk(d)
    return "".join(f"<p class='note'>{html.escape(n)}</p>" for n in found)


def _image(caption: str, png: bytes) -> str:
    data = base64.b64encode(png).decode("ascii")
    alt = html.escape(caption.split(":")[0], quote=True)
    return (
        f"<figure><img src='data:image/png;base64,{data}' alt='{alt}'>"
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def _figure(fig: Figure, caption: str, dpi: int = 100) -> str:
    return _image(caption, _png(fig, dpi))


def _png(fig: Figure, dpi: int = 100) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def _clock(hours: float) -> str:
    minutes = round(hours * 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


# ---------------------------------------------------------------------------- sections


def _windows(results: Mapping[str, Any]) -> dict[str, str]:
    windows = results.get("coupling", {}).get("signal_aware_dispatch", {}).get("windows_h", {})
    return {p: f"{_clock(w[0])}{DASH}{_clock(w[1])}" for p, w in windows.items()}


def _period_title(period: str, windows: Mapping[str, str]) -> str:
    return f"{period_label(period)} ({windows[period]})" if period in windows else period_label(period)


def _signals(day: DistrictDay, time_space: Path | None) -> str:
    r = day.results
    s = r["signals"]
    windows = _windows(r)
    periods = list(s["periods"])
    out = [
        f"<p>{s['intersections']} signalised intersections, timed for each period with Webster's method (the "
        "baseline) and with smartopt's delay-minimising cycle and splits; delays are HCM control delays at the "
        "period's turning volumes.</p>"
    ]
    out.append("<h3>Delay and level of service per period</h3>")
    keys = ["total_delay_veh_h", "average_delay_s", "intersections_los_e_or_f", "mean_cycle_s"]
    rows: list[Any] = []
    for p in periods:
        t = s["periods"][p]["timing"]
        rows.append(_group(_period_title(p, windows), 5))
        for key in keys:
            delta, verdict = change(key, t["webster"][key], t["smartopt"][key])
            rows.append(
                [Html(_th(kpi(key).title)), fmt(key, t["webster"][key]), fmt(key, t["smartopt"][key]), delta, verdict]
            )
    out.append(_table(["KPI", "Webster", "smartopt", "change", "better or worse"], rows))
    out.append("<h3>Traffic per period</h3>")
    load_keys = ["entering_vph", "webster_y_mean", "webster_y_max", "intersections_y_over_0_8"]
    out.append(
        _table(
            ["KPI", *[_period_title(p, windows) for p in periods]],
            [[Html(_th(kpi(k).title)), *[fmt(k, s["periods"][p][k]) for p in periods]] for k in load_keys],
        )
    )
    wave = s.get("coordination")
    if wave:
        period = _wave_period(day)
        out.append(f"<h3>Green wave on the {html.escape(wave['corridor'])} ({period_label(period)})</h3>")
        unco = wave.get("uncoordinated_bandwidth_s", [math.nan, math.nan])
        out.append(
            f"<p>{len(wave['intersections'])} intersections at a common cycle of {wave['cycle_s']:.0f} s with "
            f"MAXBAND offsets (solver: {html.escape(str(wave['solver_status']))}).</p>"
        )
        out.append(
            _compare(
                {
                    "offsets all zero": {"bandwidth_out_s": unco[0], "bandwidth_in_s": unco[-1]},
                    "MAXBAND offsets": wave,
                },
                ["bandwidth_out_s", "bandwidth_in_s"],
            )
        )
        if time_space is not None:
            caption = (
                f"Time-space diagram of the {wave['corridor']} in the {period_label(period)}: the "
                f"{len(wave['intersections'])} intersections along the corridor (y, position in m, labelled with "
                "their ids) against time over three cycles (x, s); red bars are red times with smartopt's splits "
                f"and MAXBAND offsets; green and blue bands are the outbound and inbound green waves "
                f"({wave['bandwidth_out_s']:.0f} s and {wave['bandwidth_in_s']:.0f} s wide)."
            )
            out.append(_image(caption, time_space.read_bytes()))
    out.append("<h3>Per intersection: Webster → smartopt</h3>")
    out.append(
        "<p class='small'>Cycle length (s), control delay (s/veh) and level of service of each intersection; "
        "intersections at LOS E or F after the change are shaded. Open a period to see its table.</p>"
    )
    for k, p in enumerate(day.signals):
        out.append(_intersections(day.signals[p], _period_title(p, windows), open_=k == len(day.signals) - 1))
    return "\n".join(out)


def _wave_period(day: DistrictDay) -> str:
    """The period of the green wave: the district's last peak period, as in the pipeline."""
    return day.district.peak_periods[-1]


def _intersections(timed: Mapping[str, Any], title: str, open_: bool) -> str:
    (w_plan, s_plan), (w_rep, s_rep) = (
        (timed["plans"]["webster"], timed["plans"]["smartopt"]),
        (timed["reports"]["webster"], timed["reports"]["smartopt"]),
    )
    rows: list[Any] = []
    for i, xid in enumerate(s_plan.intersection_ids):
        before, after = float(w_rep.intersection_delay_s[i]), float(s_rep.intersection_delay_s[i])
        delta, verdict = change("delay_s", before, after)
        los_b, los_a = str(w_rep.intersection_los[i]), str(s_rep.intersection_los[i])
        cells = [
            Html(_th(str(xid))),
            fmt("cycle_s", w_plan.cycle_s[i]),
            fmt("cycle_s", s_plan.cycle_s[i]),
            fmt("delay_s", before),
            fmt("delay_s", after),
            delta,
            verdict,
            Html(f"<td class='los los-{los_b}'>{los_b}</td>"),
            Html(f"<td class='los los-{los_a}'>{los_a}</td>"),
        ]
        rows.append(cells)
    worse = int(np.isin(s_rep.intersection_los, ["E", "F"]).sum())
    header = ["", "Webster", "smartopt", "Webster", "smartopt", "change", "better or worse", "Webster", "smartopt"]
    groups = [("intersection", 1), ("cycle length, s", 2), ("control delay, s/veh", 4), ("level of service", 2)]
    summary = (
        f"{html.escape(title)}: {len(rows)} intersections; mean delay {w_rep.average_delay_s:.1f} → "
        f"{s_rep.average_delay_s:.1f} s/veh; {worse} at LOS E or F with smartopt's plans"
    )
    table = _table(header, rows, groups=groups)
    return f"<details{' open' if open_ else ''}><summary>{summary}</summary>{table}</details>"


def _energy(day: DistrictDay, plan_fig: tuple[Figure, str], volt_fig: tuple[Figure, str]) -> str:
    r = day.results
    e = r["energy"]
    plan = e["plan"]
    slot_min = day.energy.slot_h * 60
    out = [
        f"<p>The day in {e['slots']} slots of {slot_min:.0f} min on a {e['grid']['buses']}-bus grid "
        f"({e['substation_rating_kva'] / 1000:,.0f} MVA substation). Before the plan every car charges at full "
        "power from arrival and the community battery is idle; the plan shifts EV and shuttle charging and runs the "
        "battery so that no transformer or line goes over its rating and no bus falls below the voltage band.</p>"
    ]
    day_keys = ["base_peak_kw", "base_energy_kwh", "pv_energy_kwh", "ev_sessions", "ev_energy_kwh"]
    out.append(_values(e, [*day_keys, "uncontrolled_peak_kw"]))
    out.append("<h3>The day planned: before → after</h3>")
    out.append(_compare({"before (charging on arrival)": plan["before"], "after (planned)": plan["after"]}))
    extra = [k for k in ("ev_energy_asked_kwh", "ev_energy_served_kwh", "accepted_overload_kw", "rounds") if k in plan]
    out.append(_values(plan, extra))
    out.append("<h3>Overloaded transformers and lines, by name</h3>")
    out.append(_overloads(day))
    out.append(_figure(*plan_fig))
    out.append(_figure(*volt_fig))
    g = e["grid"]
    out.append("<h3>The grid before the plan</h3>")
    rows: list[list[Any]] = [
        [Html(_th(kpi(k).title)), fmt(k, g[k])]
        for k in ("min_vm_pu", "max_vm_pu", "losses_kwh", "losses_percent_of_supply", "peak_supply_kw")
        if k in g
    ]
    if "min_vm_bus" in g:
        rows.append([Html(_th("bus with the lowest voltage, at")), _text(f"{g['min_vm_bus']} at {g['min_vm_at']}")])
    for key, what in (("peak_trafo", "transformer"), ("peak_line", "line")):
        if key in g:
            p = g[key]
            rows.append(
                [
                    Html(_th(f"most loaded {what}: loading, at")),
                    _text(f"{p['element']}: {p['loading_percent']:.1f} % at {p['at']}"),
                ]
            )
    out.append(_table(["KPI", "value"], rows))
    phases = plan.get("phases")
    if phases:
        out.append("<h3>Phase balancing of the low-voltage feeders</h3>")
        out.append(
            f"<p>{phases['single_phase_loads']:,} single-phase households and chargers on {phases['feeders']} "
            "feeders, installed in turn on phases A, B, C, A, … (before) and balanced by smartopt (after).</p>"
        )
        out.append(
            _compare(
                {
                    "installed in turn": {
                        "worst_imbalance_kw": phases["in_turn_worst_imbalance_kw"],
                        "mean_worst_imbalance_kw": phases["in_turn_mean_worst_imbalance_kw"],
                    },
                    "balanced": {
                        "worst_imbalance_kw": phases["balanced_worst_imbalance_kw"],
                        "mean_worst_imbalance_kw": phases["balanced_mean_worst_imbalance_kw"],
                    },
                }
            )
        )
    return "\n".join(out)


def _overloads(day: DistrictDay) -> str:
    """Every transformer and line over its rating and every bus outside the voltage band, before
    or after the plan: its worst value and the hours it spends over the limit on each side."""
    plan = day.energy_plan
    grid = plan.day.day_grid
    name = grid.bus_name
    slot_h = plan.day.slot_h
    limit = plan.max_loading_percent
    before, after = plan.violations()
    rows: list[list[Any]] = []
    for kind, label in (("trafo", "transformer"), ("line", "line")):
        loading = {
            "before": getattr(plan.before, f"{kind}_loading_percent"),
            "after": getattr(plan.after, f"{kind}_loading_percent"),
        }
        for k in sorted(set(getattr(before, kind).tolist()) | set(getattr(after, kind).tolist())):
            if kind == "trafo":
                element = f"{name[grid.trafo_hv_bus[k]]} / {name[grid.trafo_lv_bus[k]]}"
                rating = f"{grid.trafo_sn_kva[k]:,.0f} kVA"
            else:
                element = f"{name[grid.line_from[k]]} {DASH} {name[grid.line_to[k]]}"
                rating = ""
            peak = {s: float(np.nanmax(v[:, k])) for s, v in loading.items()}
            hours = {s: float((v[:, k] > limit).sum() * slot_h) for s, v in loading.items()}
            delta, verdict = change("peak_trafo_loading_percent", peak["before"], peak["after"])
            rows.append(
                [
                    Html(_th(element)),
                    label,
                    rating,
                    f"{peak['before']:.1f}",
                    f"{hours['before']:.2f}",
                    f"{peak['after']:.1f}",
                    f"{hours['after']:.2f}",
                    delta,
                    verdict,
                ]
            )
    for b in sorted(set(before.bus.tolist()) | set(after.bus.tolist())):
        vm = {"before": float(np.nanmin(plan.before.vm_pu[:, b])), "after": float(np.nanmin(plan.after.vm_pu[:, b]))}
        low = {
            s: float((f.vm_pu[:, b] < plan.v_min_pu).sum() * slot_h)
            for s, f in (("before", plan.before), ("after", plan.after))
        }
        delta, verdict = change("min_vm_pu", vm["before"], vm["after"])
        rows.append(
            [
                Html(_th(str(name[b]))),
                "bus (lowest voltage, pu)",
                "",
                f"{vm['before']:.3f}",
                f"{low['before']:.2f}",
                f"{vm['after']:.3f}",
                f"{low['after']:.2f}",
                delta,
                verdict,
            ]
        )
    if not rows:
        return "<p>No transformer or line goes over its rating and no bus leaves the voltage band, before or after.</p>"
    header = [
        "element",
        "kind",
        "rating",
        "peak loading before, %",
        "hours over, before",
        "peak loading after, %",
        "hours over, after",
        "change",
        "better or worse",
    ]
    n = len(before.trafo) + len(before.line) + len(before.bus)
    m = len(after.trafo) + len(after.line) + len(after.bus)
    return (
        f"<p>Limits: loading {limit:g} % of the rating, voltage at least {plan.v_min_pu:g} pu. Elements out of "
        f"limits: {n} before the plan, {m} after it.</p>" + _table(header, rows, left=2)
    )


def _dispatch(day: DistrictDay, fleet_fig: tuple[Figure, str]) -> str:
    d = day.results["dispatch"]
    on = d["on_demand"]
    busy = d.get("busiest_hour")
    busiest = ""
    if busy is not None:
        busiest = (
            f"; the busiest hour is {busy:02d}:00{DASH}{busy + 1:02d}:00 with {d['busiest_hour_requests']:,} requests"
        )
    out = [
        f"<p>{d['requests']:,} ride requests over the day for {d['shuttles']} autonomous shuttles{busiest}. Travel "
        f"times: {html.escape(str(on['travel_times']))}; dispatch: {html.escape(str(on['policy']))}.</p>"
    ]
    out.append(_values(d, ["mean_direct_ride_s", "p95_direct_ride_s", "busiest_hour_direct_vehicle_hours"]))
    out.append(f"<h3>The on-demand day ({d['shuttles']} shuttles)</h3>")
    out.append(_values(on["kpis"]))
    out.append(_figure(*fleet_fig))
    out.append("<h3>The fleet's energy balance</h3>")
    out.append(_energy_balance(day))
    sizing = on.get("fleet_sizing")
    if sizing:
        out.append("<h3>Fleet size</h3>")
        smallest = sizing.get("smallest_fleet")
        target = (
            f"{100 * sizing['target_served_ratio']:.0f} % of requests served with a mean wait of at most "
            f"{sizing['target_mean_wait_s']:.0f} s and every battery back at its starting charge for the next day"
        )
        out.append(
            f"<p>The smallest fleet reaching {target}: <b>{smallest} shuttles</b>.</p>"
            if smallest
            else f"<p>No fleet size tried reaches {target}.</p>"
        )
        rows = [
            [Html(_th(f"{n} shuttles")), fmt("served_ratio", s), fmt("mean_wait_s", w), fmt("energy_deficit_kwh", e)]
            for n, s, w, e in zip(
                sizing["sizes"],
                sizing["served_ratio"],
                sizing["mean_wait_s"],
                sizing["energy_deficit_kwh"],
                strict=True,
            )
        ]
        table = _table(["fleet", *(kpi(k).title for k in ("served_ratio", "mean_wait_s", "energy_deficit_kwh"))], rows)
        out.append(
            f"<details><summary>Served share, mean wait and energy short per fleet size</summary>{table}</details>"
        )
    r = on["reoptimization"]
    out.append(
        f"<h3>Re-planning {r['shuttles']} shuttles with the routing solver every {r['every_s'] / 60:.0f} min</h3>"
    )
    out.append(_compare({"without re-planning": r["kpis_without"], "with re-planning": r["kpis_with"]}))
    b = d.get("booked_trips")
    if b:
        out.append("<h3>Booked trips (routed the day before)</h3>")
        out.append(_values(b))
    return "\n".join(out)


def _energy_balance(day: DistrictDay) -> str:
    """The fleet's energy over the day (``results["dispatch"]["on_demand"]["energy_balance"]``):
    driven, charged, state of charge start → end, deficit and the shuttles left short."""
    bal = day.results["dispatch"]["on_demand"]["energy_balance"]
    delta, _ = change("soc_end_kwh", bal["soc_start_kwh"], bal["soc_end_kwh"])
    short = bal["vehicles_short"]
    rows: list[list[Any]] = [
        [Html(_th(kpi(key).title)), fmt(key, bal[key])]
        for key in ("vehicles", "driven_kwh", "charged_kwh", "overnight_kwh")
    ]
    rows += [
        [
            Html(_th("energy in the batteries, start → end of the day, kWh")),
            f"{fmt('soc_start_kwh', bal['soc_start_kwh'])} → {fmt('soc_end_kwh', bal['soc_end_kwh'])} ({delta})",
        ],
        [Html(_th(kpi("deficit_kwh").title)), fmt("deficit_kwh", bal["deficit_kwh"])],
        [Html(_th(kpi("vehicles_short").title)), f"{len(short):,}" + (f" ({', '.join(short)})" if short else "")],
    ]
    return _table(["", "fleet total"], rows)


def _coupling(results: Mapping[str, Any]) -> str:
    c = results["coupling"]
    out = []
    s = c.get("signal_aware_dispatch")
    if s:
        out.append(f"<h3>The on-demand day ({s['shuttles']} shuttles) at free flow and with signal delays</h3>")
        out.append(
            "<p>The same requests and fleet on free-flow travel times, and on travel times carrying the control "
            "delays of Webster's and of smartopt's signal plans in each period's hours. Change: free flow → "
            "smartopt's signals.</p>"
        )
        names = {
            "free_flow": "free flow",
            "webster_signals": "Webster's signals",
            "smartopt_signals": "smartopt's signals",
        }
        kpis = s["kpis"]
        out.append(_compare({names.get(n, n.replace("_", " ")): kpis[n] for n in kpis}))
        added = s.get("mean_added_time_s", {})
        if added:
            starts = list(next(iter(added.values())))
            rows = [
                [Html(_th(f"{PLAN_LABELS.get(plan, plan)}'s plans")), *[f"{v:.0f}" for v in by_start.values()]]
                for plan, by_start in added.items()
            ]
            out.append("<p>Mean time the signals add to a trip (s), from each time of day on:</p>")
            out.append(_table(["signal plans", *[_from_hour(k) for k in starts]], rows))
        out.append(_notes(s))
    f = c.get("shuttle_charging")
    if f:
        out.append("<h3>The grid with the shuttles' charging</h3>")
        full_kw = f.get("full_charger_kw")
        out.append(
            "<p>The shuttles charge at their depots at the power the depot transformers have to spare"
            + (f" (the chargers' full power is {full_kw:.0f} kW)" if isinstance(full_kw, int | float) else "")
            + f": {f['energy_kwh']:,.0f} kWh on the grid's day, each in the quarter hour it is drawn. The "
            "planned grid without the shuttles, with them at full charger power, and with them at the spare power; "
            "change: without → with (spare power).</p>"
        )
        depots = [d for d in f.get("depot_charger_kw", []) if isinstance(d, Mapping)]
        if depots:
            keys = [k for k in depots[0] if k != "bus" and isinstance(depots[0][k], int | float)]
            rows = [[str(d.get("bus", "")), *[fmt(k, d.get(k)) for k in keys]] for d in depots]
            out.append(_table(["depot bus", *[kpi(k).title for k in keys]], rows))
        plans = f["plan"]
        labels = {
            "without_shuttles": "without the shuttles",
            "with_shuttles_at_full_power": "with them, at full power",
            "with_shuttles": "with them, at spare power",
        }
        order = [k for k in ("without_shuttles", "with_shuttles_at_full_power", "with_shuttles") if k in plans]
        order += [k for k in plans if k not in order and isinstance(plans[k], dict)]
        out.append(_compare({labels.get(k, k.replace("_", " ")): plans[k] for k in order}))
        peaks = f.get("uncontrolled_peak_kw")
        if peaks:
            out.append(
                _compare(
                    {
                        "without the shuttles": {"uncontrolled_peak_kw": peaks["without_shuttles"]},
                        "with the shuttles": {"uncontrolled_peak_kw": peaks["with_shuttles"]},
                    }
                )
            )
        full = f.get("dispatch_kpis_at_full_power")
        on = results["dispatch"]["on_demand"]["kpis"]
        if full:
            out.append("<p>The on-demand day with the depots at full charger power → at the spare power:</p>")
            keys = ["served_ratio", "mean_wait_s", "p95_wait_s", "vehicle_km", "charged_kwh", "broken_promises"]
            out.append(_compare({"full power": full, "spare power": on}, [k for k in keys if k in full]))
        out.append(_notes(f))
    for name, entry in c.items():
        if name in ("signal_aware_dispatch", "shuttle_charging") or not isinstance(entry, Mapping):
            continue
        out.append(f"<h3>{html.escape(name.replace('_', ' ').capitalize())}</h3>")
        scalars = [k for k in _numeric(entry)]
        if scalars:
            out.append(_values(entry, scalars))
        out.append(_notes(entry))
    return "\n".join(out)


def _from_hour(key: str) -> str:
    m = re.fullmatch(r"from_(\d+(?:\.\d+)?)h", key)
    return f"from {_clock(float(m.group(1)))}" if m else key.replace("_", " ")


def _assumptions(day: DistrictDay) -> str:
    """``results["assumptions"]`` if present, else the district's own, else the built-in scenario's."""
    given: Any = day.results.get("assumptions")
    if not given:
        given = day.district.assumptions
    if not given and day.results.get("scenario") in ("sejong-5-1", "sejong_5_1"):
        from smartopt.datasets import ASSUMPTIONS

        given = ASSUMPTIONS
    if not given:
        return "<p>This district lists no assumptions.</p>"
    if isinstance(given, Mapping):
        items = [
            f"<li><b>{html.escape(str(k).replace('_', ' '))}</b>: {html.escape(str(v))}</li>" for k, v in given.items()
        ]
    else:
        items = [f"<li>{html.escape(str(a))}</li>" for a in given]
    return "<p>Where the district's figures come from:</p><ul>" + "".join(items) + "</ul>"


def _run(results: Mapping[str, Any]) -> str:
    """The software footnote: version and the solvers' timings (not service KPIs)."""
    found: list[tuple[str, float]] = []

    def walk(x: Any, where: tuple[str, ...]) -> None:
        if isinstance(x, Mapping):
            for k, v in x.items():
                if isinstance(v, int | float) and not isinstance(v, bool) and is_timing(k) and where:
                    found.append(
                        (
                            " / ".join(where)
                            + ("" if k == "runtime_s" else f" ({k.removesuffix('_runtime_s').replace('_', ' ')})"),
                            v,
                        )
                    )
                elif k == "kpis":
                    walk(v, where)
                else:
                    walk(v, (*where, _RUN_PATHS.get(str(k), str(k).replace("_", " "))))

    walk(results, ())
    total = results.get("runtime_s")
    lines = [
        f"smartopt {html.escape(str(results.get('smartopt_version', '')))}"
        + (f"; the whole day ran in {total:.1f} s" if isinstance(total, int | float) else "")
    ]
    speeds = [f"{html.escape(w)}: {v:,.2f} s" for w, v in found]
    if speeds:
        lines.append("software timings: " + "; ".join(speeds))
    return "<p class='small'>" + ". ".join(lines) + ".</p>"


_RUN_PATHS = {
    "reoptimization": "re-planning",
    "kpis_without": "without",
    "kpis_with": "with",
    "dispatch_kpis_at_full_power": "at full depot power",
}
