"""The district day's results as a tree of frozen dataclasses: :class:`DistrictResults` (the run's
identity, then ``signals``, ``energy``, ``dispatch`` and ``coupling``), and :class:`DistrictDay`,
a run holding them with the objects behind them.

``results.json`` is ``DistrictResults.to_dict()`` (:func:`write_results`); :func:`read_results`
loads it back. Field names are the JSON keys, units in their suffixes; each field's docstring says
what it holds, and ``docs/results.md`` is generated from them (``python -m
smartopt.app._results_markdown``). :func:`read_results` reads files of its own version: a file with
a key this version does not know (written by a newer one) is refused naming the key.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smartopt._serialise import ToDict

if TYPE_CHECKING:
    from smartopt.app.district import District
    from smartopt.dispatch import FleetDay
    from smartopt.energy import DayPlan, EnergyDay, PowerFlowResult
    from smartopt.signals import DelayReport, TimingPlan

__all__ = [
    "BookedTripsSummary",
    "Coordination",
    "CouplingResults",
    "DayKpis",
    "DepotChargerPower",
    "DispatchResults",
    "DistrictDay",
    "DistrictResults",
    "EnergyBalance",
    "EnergyPlan",
    "EnergyResults",
    "FleetSizingSummary",
    "GridDay",
    "GridViolation",
    "NetworkSummary",
    "OnDemand",
    "PeakLoading",
    "PeriodPlans",
    "PeriodSignals",
    "PhaseBalance",
    "PlanFigures",
    "PlansWithShuttles",
    "ReoptimizationSummary",
    "ShuttleCharging",
    "SignalAwareDispatch",
    "SignalsResults",
    "TimingSummary",
    "UncontrolledPeaks",
    "read_results",
    "write_results",
]


# ---------------------------------------------------------------------------- the run


@dataclass(frozen=True)
class NetworkSummary(ToDict):
    """The road network."""

    nodes: int
    """Road nodes."""
    links: int
    """Road links."""
    mean_travel_time_s: float
    """Mean free-flow travel time over all node pairs (s)."""
    max_travel_time_s: float
    """Longest free-flow travel time between two nodes (s)."""


# ---------------------------------------------------------------------------- signals


@dataclass(frozen=True)
class TimingSummary(ToDict):
    """One signal plan in one period, with its HCM control delays."""

    total_delay_veh_h: float
    """HCM control delay of all vehicles entering in the hour (veh·h/h)."""
    average_delay_s: float
    """Control delay per vehicle (s)."""
    mean_cycle_s: float
    """Mean cycle length over the intersections (s)."""
    intersections_los_e_or_f: int
    """Intersections at level of service E or F."""


@dataclass(frozen=True)
class PeriodSignals(ToDict):
    """One analysis period's traffic at the signals and its plans."""

    entering_vph: float
    """Traffic entering the intersections, summed over them (veh/h)."""
    webster_y_mean: float
    """Webster's critical flow ratio Y, mean over the intersections."""
    webster_y_max: float
    """Webster's critical flow ratio Y, highest of the intersections."""
    intersections_y_over_0_8: int
    """Intersections with Y above 0.8."""
    timing: Mapping[str, TimingSummary]
    """Per signal plan: `webster` (the baseline) and `smartopt` (delay-minimising cycle and splits)."""


@dataclass(frozen=True)
class Coordination(ToDict):
    """The green wave on the district's first corridor (Sejong: the BRT trunk) in its last peak
    period (Sejong: `pm_peak`)."""

    corridor: str
    """The corridor's name."""
    intersections: tuple[str, ...]
    """Its intersections' ids, in order along it."""
    cycle_s: float
    """The common cycle (s)."""
    offset_s: tuple[float, ...]
    """MAXBAND offset per intersection (s)."""
    bandwidth_out_s: float
    """Green band outbound with those offsets (s)."""
    bandwidth_in_s: float
    """Green band inbound with those offsets (s)."""
    uncoordinated_bandwidth_s: tuple[float, float]
    """Green bands with every offset zero: (outbound, inbound) (s)."""
    solver_status: str
    """MAXBAND's solver status: `optimal`, `feasible`, `time_limit` or `infeasible`."""


@dataclass(frozen=True)
class SignalsResults(ToDict):
    """The signalised intersections, timed for each period by Webster's method and by smartopt."""

    intersections: int
    """Signalised intersections."""
    periods: Mapping[str, PeriodSignals]
    """Per analysis period by name, in the district's order (Sejong: `am_peak`, `midday`, `pm_peak`)."""
    coordination: Coordination | None
    """The first corridor's green wave; null if the district has no corridor."""


# ---------------------------------------------------------------------------- energy


@dataclass(frozen=True)
class PeakLoading(ToDict):
    """The most loaded branch of a kind over the day."""

    element: str
    """The line or transformer, by its buses' names."""
    loading_percent: float
    """Its peak loading (% of its rating)."""
    at: str
    """When (HH:MM, the slot's start)."""


@dataclass(frozen=True)
class GridViolation(ToDict):
    """A grid element outside its limit in some slots."""

    kind: str
    """`bus` (voltage), `line` or `trafo` (loading)."""
    element: str
    """The bus, line or transformer, by name."""
    worst: float
    """Its worst value: voltage (pu) of a bus, loading (%) of a line or transformer."""
    slots: int
    """Slots outside the limit."""


@dataclass(frozen=True)
class GridDay(ToDict):
    """Power flow of every slot with charging at full power on arrival (battery idle)."""

    buses: int
    """Grid buses."""
    slots_converged: int
    """Slots whose power flow converged."""
    min_vm_pu: float
    """Lowest bus voltage of the day (pu)."""
    min_vm_bus: str
    """Where: the bus's name."""
    min_vm_at: str
    """When (HH:MM)."""
    max_vm_pu: float
    """Highest bus voltage of the day (pu)."""
    peak_line: PeakLoading
    """The most loaded line."""
    peak_trafo: PeakLoading
    """The most loaded transformer."""
    losses_kwh: float
    """Grid losses over the day (kWh)."""
    losses_percent_of_supply: float
    """Losses as a share of the energy supplied by the substation (%)."""
    peak_supply_kw: float
    """Peak supply from the substation (kW)."""
    voltage_band_pu: tuple[float, float]
    """The voltage band checked: lowest and highest (pu)."""
    violations: tuple[GridViolation, ...]
    """Every element outside its limit."""
    power_flow_runtime_s: float
    """Wall-clock time of the day's power flows (s)."""


@dataclass(frozen=True)
class PlanFigures(ToDict):
    """The grid's day under one charging schedule (`DayPlan.summary`)."""

    peak_kw: float
    """Peak district demand (kW)."""
    load_factor: float
    """Mean over peak demand (fraction)."""
    min_vm_pu: float
    """Lowest bus voltage (pu)."""
    peak_trafo_loading_percent: float
    """Peak transformer loading (% of rating)."""
    peak_line_loading_percent: float
    """Peak line loading (% of rating)."""
    overloaded_trafos: int
    """Transformers over their rating in some slot."""
    overloaded_lines: int
    """Lines over their rating in some slot."""
    buses_out_of_band: int
    """Buses outside the voltage band in some slot."""
    failed_snapshots: int
    """Slots whose power flow did not converge."""
    losses_kwh: float
    """Grid losses over the day (kWh)."""


@dataclass(frozen=True)
class PhaseBalance(ToDict):
    """The LV feeders' single-phase loads (households and chargers, with the planned charging) on
    phases: installed in turn (A, B, C, A, ...) against balanced by smartopt."""

    feeders: int
    """Low-voltage feeders."""
    single_phase_loads: int
    """Single-phase loads and chargers on them."""
    in_turn_worst_imbalance_kw: float
    """Installed in turn: the worst phase imbalance of any feeder over the day (kW)."""
    in_turn_mean_worst_imbalance_kw: float
    """Installed in turn: each feeder's worst phase imbalance, mean over feeders (kW)."""
    balanced_worst_imbalance_kw: float
    """Balanced by smartopt: the worst phase imbalance of any feeder (kW)."""
    balanced_mean_worst_imbalance_kw: float
    """Balanced by smartopt: each feeder's worst imbalance, mean over feeders (kW)."""
    in_turn_max_unbalance_percent: float | None
    """Installed in turn: the highest voltage unbalance factor (negative- over positive-sequence
    voltage) of any bus in any slot of the three-phase power flow (%; EN 50160 allows 2 %); null
    (as the other physics figures) where the grid has no three-phase data."""
    balanced_max_unbalance_percent: float | None
    """Balanced by smartopt: the highest voltage unbalance factor (%)."""
    in_turn_max_neutral_a: float | None
    """Installed in turn: the highest neutral current at a transformer's low-voltage terminals (A)."""
    balanced_max_neutral_a: float | None
    """Balanced by smartopt: the highest neutral current at a transformer's LV terminals (A)."""
    in_turn_min_phase_vm_pu: float | None
    """Installed in turn: the lowest phase voltage of any bus in any slot (pu)."""
    balanced_min_phase_vm_pu: float | None
    """Balanced by smartopt: the lowest phase voltage (pu)."""
    runtime_s: float
    """Wall-clock time of the balancing (s)."""


@dataclass(frozen=True)
class EnergyPlan(ToDict):
    """EV and shuttle charging and the battery planned together within the grid limits."""

    before: PlanFigures
    """Charging at full power on arrival, battery idle."""
    after: PlanFigures
    """The plan."""
    ev_energy_asked_kwh: float
    """Energy the EV sessions ask for (kWh)."""
    ev_energy_served_kwh: float
    """Energy the plan delivers (kWh)."""
    accepted_overload_kw: float
    """Loading the plan could not avoid (kW)."""
    rounds: int
    """LP rounds (solve, then power-flow check)."""
    status: str
    """`optimal`, or `time_limit`, `infeasible` or `not_solved` when the plan was cut short."""
    runtime_s: float
    """Wall-clock time of the plan (s)."""
    phases: PhaseBalance
    """The LV feeders' phase balancing."""


@dataclass(frozen=True)
class EnergyResults(ToDict):
    """The energy day in `slots` time slots (the district's `slot_h` each), with the shuttles'
    charging sessions (at their depots' limited power, see `coupling`) among the EV sessions."""

    slots: int
    """Time slots of the day."""
    base_peak_kw: float
    """Peak of the loads without EV charging or PV (kW)."""
    base_energy_kwh: float
    """Energy of the loads without EV charging or PV (kWh)."""
    pv_energy_kwh: float
    """Rooftop PV generation (kWh)."""
    ev_sessions: int
    """EV charging sessions; the shuttles' charging counts as one session per depot charger and slot
    it draws power in (`coupling.shuttle_charging.charging_slots`)."""
    ev_energy_kwh: float
    """Energy the EV sessions ask for (kWh)."""
    uncontrolled_peak_kw: float
    """District demand peak with charging at full power on arrival, PV, battery idle (kW)."""
    substation_rating_kva: float
    """The HV/MV transformer's rating (kVA)."""
    grid: GridDay
    """The power flow of every slot with uncontrolled charging."""
    plan: EnergyPlan
    """The day's energy plan."""


# ---------------------------------------------------------------------------- dispatch


@dataclass(frozen=True)
class BookedTripsSummary(ToDict):
    """The pre-booked trips routed as a pickup-and-delivery problem with time windows."""

    bookings: int
    """Booked trips."""
    served: int
    """Booked trips served."""
    on_time_rate: float
    """Share served on time: picked up in their window, dropped off within their ride promise (fraction)."""
    shuttles_used: int
    """Shuttles with a route."""
    shuttles: int
    """Shuttles available."""
    vehicle_km: float
    """Distance driven (km)."""
    recharges: int
    """Returns to a depot's charger between runs."""
    mean_pickup_deviation_s: float
    """Mean deviation of the pickups from the booked time (s)."""
    mean_ride_over_direct: float
    """Mean ride time over direct ride time."""
    feasible: bool
    """Whether every time window and ride limit is kept."""
    runtime_s: float
    """Wall-clock time of the routing (s)."""


@dataclass(frozen=True)
class DayKpis(ToDict):
    """A simulated on-demand day (`FleetDay.kpis`; counts as numbers)."""

    requests: float
    """Ride requests."""
    served_ratio: float
    """Share of requests served (fraction)."""
    mean_wait_s: float
    """Mean wait for pickup (s)."""
    p95_wait_s: float
    """95th-percentile wait for pickup (s)."""
    mean_detour: float
    """Mean time on board over direct time."""
    occupancy: float
    """Mean riders aboard while driving: passenger-km over vehicle-km."""
    vehicle_km: float
    """Distance driven (km)."""
    empty_km: float
    """Distance driven empty (km)."""
    energy_kwh: float
    """Energy used driving (kWh)."""
    charged_kwh: float
    """Energy charged (kWh)."""
    energy_deficit_kwh: float
    """The fleet's state of charge the day's end leaves short of its start (kWh)."""
    vehicles_used: float
    """Shuttles used."""
    broken_promises: float
    """Riders picked up or dropped off late after a travel-time change."""
    reoptimizations: float
    """Re-plans by the routing solver taken."""


@dataclass(frozen=True)
class ReoptimizationSummary(ToDict):
    """The sized fleet without and with the routing solver re-planning it."""

    shuttles: int
    """The sized fleet's shuttles."""
    every_s: float
    """How often the routing solver re-plans (s)."""
    kpis_without: DayKpis
    """The day without re-planning."""
    kpis_with: DayKpis
    """The day with re-planning."""


@dataclass(frozen=True)
class EnergyBalance(ToDict):
    """The fleet's energy over a day that repeats (kWh, fleet totals)."""

    vehicles: int
    """Shuttles."""
    soc_start_kwh: float
    """Energy in the batteries at the start of the day (kWh)."""
    driven_kwh: float
    """Energy used driving (kWh)."""
    charged_kwh: float
    """Energy charged (kWh)."""
    overnight_kwh: float
    """Of which charged after the last ride, to start the next day as this one (kWh)."""
    soc_end_kwh: float
    """Energy in the batteries at the end: `soc_start_kwh - driven_kwh + charged_kwh` (kWh)."""
    deficit_kwh: float
    """What the depots could not refill before the shuttles' first trips of the next day (kWh)."""
    vehicles_short: tuple[str, ...]
    """The shuttles with a deficit, `shuttle k` by their row in the fleet."""


@dataclass(frozen=True)
class FleetSizingSummary(ToDict):
    """Fleet sizes tried for the on-demand day."""

    target_served_ratio: float
    """Share of requests to serve (fraction)."""
    target_mean_wait_s: float
    """Mean wait to stay within (s)."""
    smallest_fleet: int | None
    """The smallest size meeting both targets with no energy deficit (a day it can repeat); null if none."""
    sizes: tuple[int, ...]
    """Fleet sizes tried."""
    served_ratio: tuple[float, ...]
    """Share of requests served per size (fraction)."""
    mean_wait_s: tuple[float, ...]
    """Mean wait per size (s)."""
    energy_deficit_kwh: tuple[float, ...]
    """Energy short of the day's start per size (kWh)."""


@dataclass(frozen=True)
class OnDemand(ToDict):
    """The day's on-demand requests simulated with pooled insertion."""

    policy: str
    """The dispatch policy, in words."""
    travel_times: str
    """The travel times the shuttles drive on, in words."""
    kpis: DayKpis
    """The district's fleet's day."""
    reoptimization: ReoptimizationSummary
    """The sized fleet without and with re-planning."""
    charging_sessions: int
    """The fleet's charging sessions."""
    charged_kwh: float
    """Energy charged, every session (overnight included; equal to
    `coupling.shuttle_charging.energy_kwh`) (kWh)."""
    energy_balance: EnergyBalance
    """The fleet's energy over the day."""
    fleet_sizing: FleetSizingSummary
    """The smallest fleet for the targets."""


@dataclass(frozen=True)
class DispatchResults(ToDict):
    """The shuttles: the booked trips and the on-demand day."""

    shuttles: int
    """The district's fleet."""
    requests: int
    """The day's ride requests."""
    mean_direct_ride_s: float
    """Mean direct travel time of the requests at free flow (s)."""
    p95_direct_ride_s: float
    """95th-percentile direct travel time at free flow (s)."""
    busiest_hour: int
    """The clock hour with most requests (0-23)."""
    busiest_hour_requests: int
    """Requests in that hour."""
    busiest_hour_direct_vehicle_hours: float
    """Direct ride time of that hour's requests (vehicle·h)."""
    booked_trips: BookedTripsSummary
    """The pre-booked trips' routes."""
    on_demand: OnDemand
    """The on-demand day."""


# ---------------------------------------------------------------------------- coupling


@dataclass(frozen=True)
class SignalAwareDispatch(ToDict):
    """The sized fleet on the day's requests at free flow and with each signal plan's control
    delays on the links."""

    shuttles: int
    """The sized fleet's shuttles."""
    held: str
    """What the days share (only the travel times change)."""
    windows_h: Mapping[str, tuple[float, float]]
    """The clock hours each period's plan covers, by period (the district's `signal_hours`) (h)."""
    mean_added_time_s: Mapping[str, Mapping[str, float]]
    """Per plan (`webster`, `smartopt`): the mean extra travel time over all node pairs from each
    window's start (`from_6h`, ...) (s)."""
    kpis: Mapping[str, DayKpis]
    """Per day: `free_flow`, `webster_signals`, `smartopt_signals`."""
    notes: tuple[str, ...]
    """Why a plan's delays moved served, wait or vehicle-km the unexpected way, from what the days
    measured (empty when nothing did)."""


@dataclass(frozen=True)
class DepotChargerPower(ToDict):
    """A depot's chargers at the power their transformers have to spare."""

    bus: str
    """The depot's bus."""
    min_kw: float
    """Each charger's lowest power over the day's slots (kW)."""
    mean_kw: float
    """Each charger's mean power over the day's slots (kW)."""
    max_kw: float
    """Each charger's highest power over the day's slots (kW)."""
    slots_at_the_floor: int
    """Slots where the transformers had less than `floor_kw` per charger to spare (or their power
    flow failed), so the chargers still draw `floor_kw`."""


@dataclass(frozen=True)
class UncontrolledPeaks(ToDict):
    """District demand peak with charging at full power on arrival (kW)."""

    without_shuttles: float
    """Without the shuttles' charging (kW)."""
    with_shuttles: float
    """With it (kW)."""


@dataclass(frozen=True)
class PlansWithShuttles(ToDict):
    """The energy plan's `after` figures with and without the shuttles."""

    without_shuttles: PlanFigures
    """Planned without the shuttles' charging."""
    with_shuttles_at_full_power: PlanFigures
    """With the depots charging at full power."""
    with_shuttles: PlanFigures
    """With the depots at their spare power: the day's plan."""


@dataclass(frozen=True)
class ShuttleCharging(ToDict):
    """The shuttles' charging on the grid. The depots' chargers run at the power their transformers
    have to spare, in each time slot (the district's `slot_h`), in the energy day planned without
    the shuttles. The day repeats: charging past midnight goes on at 0:00 of the same day."""

    held: str
    """What the comparison keeps (only the chargers' power changes)."""
    depot_charger_kw: tuple[DepotChargerPower, ...]
    """Per depot bus, its chargers' power."""
    floor_kw: float
    """The least a depot charger draws (kW)."""
    full_charger_kw: float
    """The chargers' power without the limit (kW)."""
    charging_slots: int
    """EV sessions added to the energy day: one per charger and slot it draws power in."""
    energy_kwh: float
    """Energy they add (kWh)."""
    uncontrolled_peak_kw: UncontrolledPeaks
    """The uncontrolled peak without and with the shuttles."""
    plan: PlansWithShuttles
    """The energy plan without and with the shuttles."""
    dispatch_kpis_at_full_power: DayKpis
    """The on-demand day with the depots at full power."""


@dataclass(frozen=True)
class CouplingResults(ToDict):
    """What each coupling between the domains changed."""

    signal_aware_dispatch: SignalAwareDispatch
    """Signal delays -> the shuttles' travel times."""
    shuttle_charging: ShuttleCharging
    """Spare grid power -> depot charging, and the shuttles' charging -> the grid."""


# ---------------------------------------------------------------------------- the root


@dataclass(frozen=True)
class DistrictResults(ToDict):
    """The district day's results (`results.json`)."""

    smartopt_version: str
    """The library version that wrote the file."""
    scenario: str
    """The district (`sejong-5-1`, or the config file's path)."""
    seed: int
    """The district's seed."""
    solvers: str
    """One sentence on what each domain solved."""
    network: NetworkSummary
    """The road network."""
    signals: SignalsResults
    """Signal timing."""
    energy: EnergyResults
    """The energy day."""
    dispatch: DispatchResults
    """The shuttles' day."""
    coupling: CouplingResults
    """The couplings."""
    runtime_s: float
    """Wall-clock time of the whole day (s)."""


def write_results(results: DistrictResults, path: str | Path) -> None:
    """Writes ``results`` to ``path`` as strict JSON: NaN as null, infinities as the strings
    ``"Infinity"`` and ``"-Infinity"``."""
    Path(path).write_text(json.dumps(results.to_dict(), indent=2, allow_nan=False))


def read_results(path: str | Path) -> DistrictResults:
    """The results a ``results.json`` of this version holds; ValueError naming a missing, unknown or
    malformed key (a file from a newer version, with keys added, is refused naming the first)."""
    return DistrictResults.from_dict(json.loads(Path(path).read_text()))


# ---------------------------------------------------------------------------- a run


@dataclass(frozen=True)
class PeriodPlans:
    """One period's signal plans and their HCM delays, by plan name (`webster`, `smartopt`)."""

    plans: Mapping[str, TimingPlan]
    """The plans."""
    reports: Mapping[str, DelayReport]
    """Their delays."""


@dataclass(frozen=True, eq=False)
class DistrictDay:
    """A run of the district day (:func:`smartopt.app.pipeline.run_district`): its ``results``
    (written to ``results.json``) and the objects behind them, for reports and notebooks. Each
    object is named after its class; ``results`` holds its summary: ``signal_plans`` ->
    ``results.signals.periods``, ``fleet_day`` -> ``results.dispatch.on_demand``, ``grid_flow`` ->
    ``results.energy.grid``, ``day_plan`` -> ``results.energy.plan``, ``energy_day`` ->
    ``results.energy``."""

    results: DistrictResults
    """The results."""
    district: District
    """The district, with the fleet's chargers at their depots' spare power."""
    signal_plans: Mapping[str, PeriodPlans]
    """Per period: the signal plans and their delays."""
    fleet_day: FleetDay
    """The on-demand day of the district's fleet."""
    grid_flow: PowerFlowResult
    """The power flow of every slot with uncontrolled charging."""
    day_plan: DayPlan
    """The day's energy plan."""
    energy_day: EnergyDay
    """The energy day with the shuttles' charging sessions."""

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready results (as in ``results.json``)."""
        return self.results.to_dict()

    def __repr__(self) -> str:
        periods = ", ".join(self.signal_plans)
        return (
            f"DistrictDay({self.district.name!r}, seed {self.results.seed}: signal periods {periods}; "
            f"{self.results.runtime_s:.1f} s)"
        )
