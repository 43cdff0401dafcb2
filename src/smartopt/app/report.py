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
import dataclasses
import html
import io
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_type_hints

import numpy as np

from smartopt.app import _report_plots as figs
from smartopt.app._report_plots import period_label

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from smartopt.app.results import DistrictDay, DistrictResults, PeriodPlans

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
    "max_unbalance_percent": Kpi("highest voltage unbalance |V2|/|V1|", "%", 2, "lower"),
    "max_neutral_a": Kpi("highest neutral current at a transformer", "A", 0, "lower"),
    "min_phase_vm_pu": Kpi("lowest phase voltage", "pu", 4, "higher"),
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
    "recharges": _count("returns to a depot's charger between runs"),
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
    "min_kw": Kpi("lowest charger power over the day", "kW", 1),
    "mean_kw": Kpi("mean charger power over the day", "kW", 1),
    "max_kw": Kpi("highest charger power over the day", "kW", 1),
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
    scenario = html.escape(r.scenario)
    parts = ["<h1>The district day: before and after smartopt</h1>"]
    parts.append(
        f"<p><b>{html.escape(day.district.name)}</b> (scenario {scenario}, seed {r.seed}). What ran: "
        f"{html.escape(r.solvers)}.</p>"
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


def _headline_rows(results: DistrictResults) -> list[tuple[str, str, str, Any, Any]]:
    """(area, KPI key, what is compared, before, after) for the page's first table."""
    rows: list[tuple[str, str, str, Any, Any]] = []
    for period, v in results.signals.periods.items():
        w, o = v.timing["webster"], v.timing["smartopt"]
        what = f"{period_label(period)}: Webster → smartopt"
        rows += [
            ("signals", "total_delay_veh_h", what, w.total_delay_veh_h, o.total_delay_veh_h),
            ("signals", "intersections_los_e_or_f", what, w.intersections_los_e_or_f, o.intersections_los_e_or_f),
        ]
    b, a = results.energy.plan.before, results.energy.plan.after
    what = "charging on arrival → planned"
    rows += [
        ("energy", "peak_kw", what, b.peak_kw, a.peak_kw),
        ("energy", "peak_trafo_loading_percent", what, b.peak_trafo_loading_percent, a.peak_trafo_loading_percent),
        ("energy", "overloaded_trafos", what, b.overloaded_trafos, a.overloaded_trafos),
        ("energy", "min_vm_pu", what, b.min_vm_pu, a.min_vm_pu),
    ]
    r = results.dispatch.on_demand.reoptimization
    k0, k1 = r.kpis_without, r.kpis_with
    what = f"{r.shuttles} shuttles: without → with re-planning every {r.every_s / 60:.0f} min"
    rows += [
        ("dispatch", "served_ratio", what, k0.served_ratio, k1.served_ratio),
        ("dispatch", "mean_wait_s", what, k0.mean_wait_s, k1.mean_wait_s),
        ("dispatch", "vehicle_km", what, k0.vehicle_km, k1.vehicle_km),
    ]
    c = results.coupling.signal_aware_dispatch.kpis
    k0, k1 = c["free_flow"], c["smartopt_signals"]
    what = "free flow → smartopt's signal delays"
    rows += [
        ("coupling", "served_ratio", what, k0.served_ratio, k1.served_ratio),
        ("coupling", "mean_wait_s", what, k0.mean_wait_s, k1.mean_wait_s),
    ]
    f = results.coupling.shuttle_charging.plan
    what = "planned grid without → with the shuttles"
    rows += [
        ("coupling", "peak_kw", what, f.without_shuttles.peak_kw, f.with_shuttles.peak_kw),
        (
            "coupling",
            "overloaded_trafos",
            what,
            f.without_shuttles.overloaded_trafos,
            f.with_shuttles.overloaded_trafos,
        ),
    ]
    what = "depots charging at full → at spare power"
    full, spare = f.with_shuttles_at_full_power, f.with_shuttles
    rows.append(("coupling", "overloaded_trafos", what, full.overloaded_trafos, spare.overloaded_trafos))
    return rows


def kpi_rows(results: DistrictResults) -> list[tuple[str, str, str, str, str, str, str]]:
    """The day's headline KPIs as text for a terminal: (area, KPI label with unit, what is compared,
    before, after, change, better or worse), as the page's first table shows them."""
    rows = []
    for area, key, what, before, after in _headline_rows(results):
        delta, verdict = change(key, before, after)
        plain = re.sub(r"<[^>]+>", "", verdict)
        rows.append((area, kpi(key).title, what.replace("→", "->"), fmt(key, before), fmt(key, after), delta, plain))
    return rows


def _headline(results: DistrictResults) -> str:
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


def _kpi_fields(obj: Any) -> list[tuple[str, Any]]:
    """The KPIs of a results dataclass: its fields declared as numbers or true/false (no timings),
    by name in field order."""
    hints = get_type_hints(type(obj))
    return [
        (f.name, getattr(obj, f.name))
        for f in dataclasses.fields(obj)
        if hints[f.name] in (int, float, bool) and not is_timing(f.name)
    ]


def _compare(sides: Sequence[str], rows: Iterable[tuple[str, Sequence[Any]]]) -> str:
    """One row per KPI (its key, one value per side), one column per side, the change from the
    first side to the last and whether it is better."""
    body = []
    for key, values in rows:
        delta, verdict = change(key, values[0], values[-1])
        body.append([Html(_th(kpi(key).title)), *[fmt(key, v) for v in values], delta, verdict])
    return _table(["KPI", *sides, "change", "better or worse"], body)


def _compare_all(sides: Mapping[str, Any]) -> str:
    """:func:`_compare` of results dataclasses of one class, side by side: every KPI field."""
    columns = [dict(_kpi_fields(obj)) for obj in sides.values()]
    return _compare(list(sides), [(k, [c[k] for c in columns]) for k in columns[0]])


def _values(rows: Iterable[tuple[str, Any]]) -> str:
    """A table of KPIs (key, value)."""
    return _table(["KPI", "value"], [[Html(_th(kpi(k).title)), fmt(k, v)] for k, v in rows])


def _notes(notes: Sequence[str]) -> str:
    """``notes``: sentences explaining a result that moves against intuition."""
    return "".join(f"<p class='note'>{html.escape(n)}</p>" for n in notes)


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


def _windows(results: DistrictResults) -> dict[str, str]:
    windows = results.coupling.signal_aware_dispatch.windows_h
    return {p: f"{_clock(w[0])}{DASH}{_clock(w[1])}" for p, w in windows.items()}


def _period_title(period: str, windows: Mapping[str, str]) -> str:
    return f"{period_label(period)} ({windows[period]})" if period in windows else period_label(period)


def _signals(day: DistrictDay, time_space: Path | None) -> str:
    r = day.results
    s = r.signals
    windows = _windows(r)
    periods = list(s.periods)
    out = [
        f"<p>{s.intersections} signalised intersections, timed for each period with Webster's method (the "
        "baseline) and with smartopt's delay-minimising cycle and splits; delays are HCM control delays at the "
        "period's turning volumes.</p>"
    ]
    out.append("<h3>Delay and level of service per period</h3>")
    rows: list[Any] = []
    for p in periods:
        w, o = s.periods[p].timing["webster"], s.periods[p].timing["smartopt"]
        rows.append(_group(_period_title(p, windows), 5))
        for key, before, after in (
            ("total_delay_veh_h", w.total_delay_veh_h, o.total_delay_veh_h),
            ("average_delay_s", w.average_delay_s, o.average_delay_s),
            ("intersections_los_e_or_f", w.intersections_los_e_or_f, o.intersections_los_e_or_f),
            ("mean_cycle_s", w.mean_cycle_s, o.mean_cycle_s),
        ):
            delta, verdict = change(key, before, after)
            rows.append([Html(_th(kpi(key).title)), fmt(key, before), fmt(key, after), delta, verdict])
    out.append(_table(["KPI", "Webster", "smartopt", "change", "better or worse"], rows))
    out.append("<h3>Traffic per period</h3>")
    loads = [s.periods[p] for p in periods]
    columns = (
        ("entering_vph", [v.entering_vph for v in loads]),
        ("webster_y_mean", [v.webster_y_mean for v in loads]),
        ("webster_y_max", [v.webster_y_max for v in loads]),
        ("intersections_y_over_0_8", [v.intersections_y_over_0_8 for v in loads]),
    )
    out.append(
        _table(
            ["KPI", *[_period_title(p, windows) for p in periods]],
            [[Html(_th(kpi(k).title)), *[fmt(k, v) for v in values]] for k, values in columns],
        )
    )
    wave = s.coordination
    if wave is not None:
        period = _wave_period(day)
        out.append(f"<h3>Green wave on the {html.escape(wave.corridor)} ({period_label(period)})</h3>")
        zero_out, zero_in = wave.uncoordinated_bandwidth_s
        out.append(
            f"<p>{len(wave.intersections)} intersections at a common cycle of {wave.cycle_s:.0f} s with "
            f"MAXBAND offsets (solver: {html.escape(wave.solver_status)}).</p>"
        )
        out.append(
            _compare(
                ["offsets all zero", "MAXBAND offsets"],
                [
                    ("bandwidth_out_s", (zero_out, wave.bandwidth_out_s)),
                    ("bandwidth_in_s", (zero_in, wave.bandwidth_in_s)),
                ],
            )
        )
        if time_space is not None:
            caption = (
                f"Time-space diagram of the {wave.corridor} in the {period_label(period)}: the "
                f"{len(wave.intersections)} intersections along the corridor (y, position in m, labelled with "
                "their ids) against time over three cycles (x, s); red bars are red times with smartopt's splits "
                f"and MAXBAND offsets; green and blue bands are the outbound and inbound green waves "
                f"({wave.bandwidth_out_s:.0f} s and {wave.bandwidth_in_s:.0f} s wide)."
            )
            out.append(_image(caption, time_space.read_bytes()))
    out.append("<h3>Per intersection: Webster → smartopt</h3>")
    out.append(
        "<p class='small'>Cycle length (s), control delay (s/veh) and level of service of each intersection; "
        "intersections at LOS E or F after the change are shaded. Open a period to see its table.</p>"
    )
    for k, (p, timed) in enumerate(day.signal_plans.items()):
        out.append(_intersections(timed, _period_title(p, windows), open_=k == len(day.signal_plans) - 1))
    return "\n".join(out)


def _wave_period(day: DistrictDay) -> str:
    """The period of the green wave: the district's last peak period, as in the pipeline."""
    return day.district.peak_periods[-1]


def _intersections(timed: PeriodPlans, title: str, open_: bool) -> str:
    w_plan, s_plan = timed.plans["webster"], timed.plans["smartopt"]
    w_rep, s_rep = timed.reports["webster"], timed.reports["smartopt"]
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
    e = day.results.energy
    plan = e.plan
    slot_min = day.energy_day.slot_h * 60
    out = [
        f"<p>The day in {e.slots} slots of {slot_min:.0f} min on a {e.grid.buses}-bus grid "
        f"({e.substation_rating_kva / 1000:,.0f} MVA substation). Before the plan every car charges at full "
        "power from arrival and the community battery is idle; the plan shifts EV and shuttle charging and runs the "
        "battery so that no transformer or line goes over its rating and no bus falls below the voltage band.</p>"
    ]
    out.append(
        _values(
            [
                ("base_peak_kw", e.base_peak_kw),
                ("base_energy_kwh", e.base_energy_kwh),
                ("pv_energy_kwh", e.pv_energy_kwh),
                ("ev_sessions", e.ev_sessions),
                ("ev_energy_kwh", e.ev_energy_kwh),
                ("uncontrolled_peak_kw", e.uncontrolled_peak_kw),
            ]
        )
    )
    out.append("<h3>The day planned: before → after</h3>")
    out.append(_compare_all({"before (charging on arrival)": plan.before, "after (planned)": plan.after}))
    out.append(
        _values(
            [
                ("ev_energy_asked_kwh", plan.ev_energy_asked_kwh),
                ("ev_energy_served_kwh", plan.ev_energy_served_kwh),
                ("accepted_overload_kw", plan.accepted_overload_kw),
                ("rounds", plan.rounds),
            ]
        )
    )
    out.append("<h3>Overloaded transformers and lines, by name</h3>")
    out.append(_overloads(day))
    out.append(_figure(*plan_fig))
    out.append(_figure(*volt_fig))
    g = e.grid
    out.append("<h3>The grid before the plan</h3>")
    figures = (
        ("min_vm_pu", g.min_vm_pu),
        ("max_vm_pu", g.max_vm_pu),
        ("losses_kwh", g.losses_kwh),
        ("losses_percent_of_supply", g.losses_percent_of_supply),
        ("peak_supply_kw", g.peak_supply_kw),
    )
    rows: list[list[Any]] = [[Html(_th(kpi(k).title)), fmt(k, v)] for k, v in figures]
    rows.append([Html(_th("bus with the lowest voltage, at")), _text(f"{g.min_vm_bus} at {g.min_vm_at}")])
    for p, what in ((g.peak_trafo, "transformer"), (g.peak_line, "line")):
        rows.append(
            [
                Html(_th(f"most loaded {what}: loading, at")),
                _text(f"{p.element}: {p.loading_percent:.1f} % at {p.at}"),
            ]
        )
    out.append(_table(["KPI", "value"], rows))
    phases = plan.phases
    out.append("<h3>Phase balancing of the low-voltage feeders</h3>")
    out.append(
        f"<p>{phases.single_phase_loads:,} single-phase households and chargers on {phases.feeders} "
        "feeders, installed in turn on phases A, B, C, A, … (before) and balanced by smartopt (after), "
        "each judged by the three-phase power flow of the planned day where the grid has three-phase data "
        "(voltage unbalance |V2|/|V1|, neutral current at the transformers' LV terminals, lowest phase "
        "voltage).</p>"
    )
    physics = [
        ("max_unbalance_percent", (phases.in_turn_max_unbalance_percent, phases.balanced_max_unbalance_percent)),
        ("max_neutral_a", (phases.in_turn_max_neutral_a, phases.balanced_max_neutral_a)),
        ("min_phase_vm_pu", (phases.in_turn_min_phase_vm_pu, phases.balanced_min_phase_vm_pu)),
    ]
    out.append(
        _compare(
            ["installed in turn", "balanced"],
            [
                ("worst_imbalance_kw", (phases.in_turn_worst_imbalance_kw, phases.balanced_worst_imbalance_kw)),
                (
                    "mean_worst_imbalance_kw",
                    (phases.in_turn_mean_worst_imbalance_kw, phases.balanced_mean_worst_imbalance_kw),
                ),
                *(row for row in physics if row[1][0] is not None),  # None: no three-phase data
            ],
        )
    )
    return "\n".join(out)


def _overloads(day: DistrictDay) -> str:
    """Every transformer and line over its rating and every bus outside the voltage band, before
    or after the plan: its worst value and the hours it spends over the limit on each side."""
    plan = day.day_plan
    grid = plan.day.day_grid
    name = grid.bus_name
    slot_h = plan.day.slot_h
    limit = plan.max_loading_percent
    before, after = plan.violations()
    rows: list[list[Any]] = []
    branches = (
        ("transformer", before.trafo, after.trafo, plan.before.trafo_loading_percent, plan.after.trafo_loading_percent),
        ("line", before.line, after.line, plan.before.line_loading_percent, plan.after.line_loading_percent),
    )
    for label, over_before, over_after, loading_before, loading_after in branches:
        loading = {"before": loading_before, "after": loading_after}
        for k in sorted(set(over_before.tolist()) | set(over_after.tolist())):
            if label == "transformer":
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
    d = day.results.dispatch
    on = d.on_demand
    busy = d.busiest_hour
    busiest = f"; the busiest hour is {busy:02d}:00{DASH}{busy + 1:02d}:00 with {d.busiest_hour_requests:,} requests"
    out = [
        f"<p>{d.requests:,} ride requests over the day for {d.shuttles} autonomous shuttles{busiest}. Travel "
        f"times: {html.escape(on.travel_times)}; dispatch: {html.escape(on.policy)}.</p>"
    ]
    out.append(
        _values(
            [
                ("mean_direct_ride_s", d.mean_direct_ride_s),
                ("p95_direct_ride_s", d.p95_direct_ride_s),
                ("busiest_hour_direct_vehicle_hours", d.busiest_hour_direct_vehicle_hours),
            ]
        )
    )
    out.append(f"<h3>The on-demand day ({d.shuttles} shuttles)</h3>")
    out.append(_values(_kpi_fields(on.kpis)))
    out.append(_figure(*fleet_fig))
    out.append("<h3>The fleet's energy balance</h3>")
    out.append(_energy_balance(day))
    sizing = on.fleet_sizing
    out.append("<h3>Fleet size</h3>")
    smallest = sizing.smallest_fleet
    target = (
        f"{100 * sizing.target_served_ratio:.0f} % of requests served with a mean wait of at most "
        f"{sizing.target_mean_wait_s:.0f} s and every battery back at its starting charge for the next day"
    )
    out.append(
        f"<p>The smallest fleet reaching {target}: <b>{smallest} shuttles</b>.</p>"
        if smallest
        else f"<p>No fleet size tried reaches {target}.</p>"
    )
    rows = [
        [Html(_th(f"{n} shuttles")), fmt("served_ratio", s), fmt("mean_wait_s", w), fmt("energy_deficit_kwh", e)]
        for n, s, w, e in zip(
            sizing.sizes, sizing.served_ratio, sizing.mean_wait_s, sizing.energy_deficit_kwh, strict=True
        )
    ]
    table = _table(["fleet", *(kpi(k).title for k in ("served_ratio", "mean_wait_s", "energy_deficit_kwh"))], rows)
    out.append(f"<details><summary>Served share, mean wait and energy short per fleet size</summary>{table}</details>")
    r = on.reoptimization
    out.append(f"<h3>Re-planning {r.shuttles} shuttles with the routing solver every {r.every_s / 60:.0f} min</h3>")
    out.append(_compare_all({"without re-planning": r.kpis_without, "with re-planning": r.kpis_with}))
    out.append("<h3>Booked trips (routed the day before)</h3>")
    out.append(_values(_kpi_fields(d.booked_trips)))
    return "\n".join(out)


def _energy_balance(day: DistrictDay) -> str:
    """The fleet's energy over the day (``results.dispatch.on_demand.energy_balance``): driven,
    charged, state of charge start → end, deficit and the shuttles left short."""
    bal = day.results.dispatch.on_demand.energy_balance
    delta, _ = change("soc_end_kwh", bal.soc_start_kwh, bal.soc_end_kwh)
    short = bal.vehicles_short
    figures = (
        ("vehicles", bal.vehicles),
        ("driven_kwh", bal.driven_kwh),
        ("charged_kwh", bal.charged_kwh),
        ("overnight_kwh", bal.overnight_kwh),
    )
    rows: list[list[Any]] = [[Html(_th(kpi(key).title)), fmt(key, v)] for key, v in figures]
    rows += [
        [
            Html(_th("energy in the batteries, start → end of the day, kWh")),
            f"{fmt('soc_start_kwh', bal.soc_start_kwh)} → {fmt('soc_end_kwh', bal.soc_end_kwh)} ({delta})",
        ],
        [Html(_th(kpi("deficit_kwh").title)), fmt("deficit_kwh", bal.deficit_kwh)],
        [Html(_th(kpi("vehicles_short").title)), f"{len(short):,}" + (f" ({', '.join(short)})" if short else "")],
    ]
    return _table(["", "fleet total"], rows)


def _coupling(results: DistrictResults) -> str:
    s, f = results.coupling.signal_aware_dispatch, results.coupling.shuttle_charging
    out = [f"<h3>The on-demand day ({s.shuttles} shuttles) at free flow and with signal delays</h3>"]
    out.append(
        "<p>The same requests and fleet on free-flow travel times, and on travel times carrying the control "
        "delays of Webster's and of smartopt's signal plans in each period's hours. Change: free flow → "
        "smartopt's signals.</p>"
    )
    names = {"free_flow": "free flow", "webster_signals": "Webster's signals", "smartopt_signals": "smartopt's signals"}
    out.append(_compare_all({names.get(n, n.replace("_", " ")): k for n, k in s.kpis.items()}))
    added = s.mean_added_time_s
    if added:
        starts = list(next(iter(added.values())))
        rows = [
            [Html(_th(f"{PLAN_LABELS.get(plan, plan)}'s plans")), *[f"{v:.0f}" for v in by_start.values()]]
            for plan, by_start in added.items()
        ]
        out.append("<p>Mean time the signals add to a trip (s), from each time of day on:</p>")
        out.append(_table(["signal plans", *[_from_hour(k) for k in starts]], rows))
    out.append(_notes(s.notes))
    out.append("<h3>The grid with the shuttles' charging</h3>")
    out.append(
        "<p>The shuttles charge at their depots at the power the depot transformers have to spare"
        f" (the chargers' full power is {f.full_charger_kw:.0f} kW): {f.energy_kwh:,.0f} kWh on the grid's day, each "
        "in the time slot it is drawn. The planned grid without the shuttles, with them at full charger power, and "
        "with them at the spare power; change: without → with (spare power).</p>"
    )
    if f.depot_charger_kw:
        rows = [
            [d.bus, fmt("min_kw", d.min_kw), fmt("mean_kw", d.mean_kw), fmt("max_kw", d.max_kw),
             fmt("slots_at_the_floor", d.slots_at_the_floor)]
            for d in f.depot_charger_kw
        ]  # fmt: skip
        header = [kpi(k).title for k in ("min_kw", "mean_kw", "max_kw", "slots_at_the_floor")]
        out.append(_table(["depot bus", *header], rows))
    plans = {
        "without the shuttles": f.plan.without_shuttles,
        "with them, at full power": f.plan.with_shuttles_at_full_power,
        "with them, at spare power": f.plan.with_shuttles,
    }
    out.append(_compare_all(plans))
    peaks = f.uncontrolled_peak_kw
    out.append(
        _compare(
            ["without the shuttles", "with the shuttles"],
            [("uncontrolled_peak_kw", (peaks.without_shuttles, peaks.with_shuttles))],
        )
    )
    out.append("<p>The on-demand day with the depots at full charger power → at the spare power:</p>")
    full, spare = f.dispatch_kpis_at_full_power, results.dispatch.on_demand.kpis
    rows_by_kpi = [
        ("served_ratio", (full.served_ratio, spare.served_ratio)),
        ("mean_wait_s", (full.mean_wait_s, spare.mean_wait_s)),
        ("p95_wait_s", (full.p95_wait_s, spare.p95_wait_s)),
        ("vehicle_km", (full.vehicle_km, spare.vehicle_km)),
        ("charged_kwh", (full.charged_kwh, spare.charged_kwh)),
        ("broken_promises", (full.broken_promises, spare.broken_promises)),
    ]
    out.append(_compare(["full power", "spare power"], rows_by_kpi))
    return "\n".join(out)


def _from_hour(key: str) -> str:
    m = re.fullmatch(r"from_(\d+(?:\.\d+)?)h", key)
    return f"from {_clock(float(m.group(1)))}" if m else key.replace("_", " ")


def _assumptions(day: DistrictDay) -> str:
    """The district's assumptions (where its figures come from)."""
    given = day.district.assumptions
    if not given:
        return "<p>This district lists no assumptions.</p>"
    items = [f"<li>{html.escape(a)}</li>" for a in given]
    return "<p>Where the district's figures come from:</p><ul>" + "".join(items) + "</ul>"


def _run(results: DistrictResults) -> str:
    """The software footnote: version and the solvers' timings (not service KPIs), found anywhere
    in the results tree by their names (ending in ``runtime_s``)."""
    found: list[tuple[str, float]] = []

    def walk(x: Any, where: tuple[str, ...]) -> None:
        if dataclasses.is_dataclass(x):
            items: Iterable[tuple[str, Any]] = ((f.name, getattr(x, f.name)) for f in dataclasses.fields(x))
        elif isinstance(x, Mapping):
            items = x.items()
        else:
            return
        for k, v in items:
            if isinstance(v, int | float) and not isinstance(v, bool) and is_timing(k) and where:
                label = "" if k == "runtime_s" else f" ({k.removesuffix('_runtime_s').replace('_', ' ')})"
                found.append((" / ".join(where) + label, v))
            elif k == "kpis":
                walk(v, where)
            else:
                walk(v, (*where, _RUN_PATHS.get(str(k), str(k).replace("_", " "))))

    walk(results, ())
    lines = [f"smartopt {html.escape(results.smartopt_version)}; the whole day ran in {results.runtime_s:.1f} s"]
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
