# %% [markdown]
# # smartopt on the Sejong 5-1 district
#
# A notebook-style tour (cells split by `# %%`; run it as a script or open it in Jupyter or VS
# Code): each domain on the built-in district, then the couplings and the whole day. Figures go
# to `$SMARTOPT_EXAMPLE_OUT` (default `example-out/`). About 30 s on two cores.

# %%
import os
from pathlib import Path

import numpy as np

from smartopt.datasets import sejong_5_1

OUT = Path(os.environ.get("SMARTOPT_EXAMPLE_OUT", "example-out"))
OUT.mkdir(parents=True, exist_ok=True)
district = sejong_5_1(seed=0)
print(district.summary())

# %% [markdown]
# ## Signals: Webster against smartopt's delay-minimising plans, and a green wave

# %%
from smartopt.signals import hcm_delay, optimize_fixed_time, webster

x = district.intersections
am = district.periods.index("am_peak")
before, after = webster(x, am), optimize_fixed_time(x, am)
delay_before, delay_after = hcm_delay(x, before, am), hcm_delay(x, after, am)
w, o = delay_before.total_delay_veh_h, delay_after.total_delay_veh_h
print(f"AM peak delay: Webster {w:,.0f}, smartopt {o:,.0f} veh*h/h")
print(delay_after.to_frame().head())

# %% [markdown]
# ## Energy: the day's power flow, and EV charging with the battery planned within the grid limits

# %%
from smartopt.energy import plan_day

energy = district.energy
flow = energy.power_flow()  # 96 quarter hours, uncontrolled charging
print(f"lowest voltage {np.nanmin(flow.vm_pu):.4f} pu; {flow.violations().trafo.size} overloaded transformers")
plan = plan_day(energy)
print(plan.summary()["before"]["peak_kw"], "->", plan.summary()["after"]["peak_kw"], "kW peak")
plan.plot().savefig(OUT / "energy_plan.png")

# %% [markdown]
# ## Dispatch: the booked trips as a routing problem, the on-demand day, a live dispatcher

# %%
from smartopt.dispatch import Dispatcher, Policy, simulate, solve_vrp
from smartopt.dispatch.shuttles import booked_trips

trips = booked_trips(district.network, district.fleet, district.requests, seed=0)
routes = solve_vrp(trips.problem, max_iterations=400, seed=0)
print(routes)
day = simulate(district.network, district.fleet, district.requests, policy=Policy(wait_weight=1.0), progress=False)
print(day)
day.plot().figure.savefig(OUT / "fleet_day.png")
live = Dispatcher(district.network, district.fleet)
live.advance(8 * 3600.0)  # the dispatcher's clock to 08:00: a request now is answered at once
offer = live.submit(12, 200, max_wait_s=300.0)
print(offer, live.advance(8 * 3600.0 + 600.0)[:3])

# %% [markdown]
# ## Coupling: the shuttles drive on the signal plans' delays; their charging joins the grid

# %%
from smartopt.app.coupling import district_time_of_day, with_fleet_charging

plans = {p: optimize_fixed_time(x, k) for k, p in enumerate(district.periods)}
by_hour = district_time_of_day(district, plans)  # each plan in its period's signal_hours
# like for like: the same fleet and policy as `day` above, only the travel times change
signal_aware = district.simulate(policy=Policy(wait_weight=1.0), time_of_day=by_hour, progress=False)
print(f"mean wait {day.kpis['mean_wait_s']:.0f} s at free flow, {signal_aware.kpis['mean_wait_s']:.0f} s with signals")
with_shuttles = with_fleet_charging(energy, district.fleet, signal_aware.charger_load_kw(energy.slot_h * 3600))
added = with_shuttles.ev_energy_kwh[energy.ev_energy_kwh.size :].sum()
print(f"{added:.0f} kWh of shuttle charging on the grid, all {signal_aware.kpis['charged_kwh']:.0f} kWh charged")

# %% [markdown]
# ## The whole day, and variants of it

# %%
from smartopt.app.pipeline import run_district
from smartopt.app.scenarios import run_scenario

whole = run_district(district, scenario="sejong-5-1", out=OUT / "day", show=False, shuttle_iterations=400)
print(whole, f"report: {OUT / 'day' / 'report.html'}")
for scale in (0.8, 1.2):  # smartopt.sweep runs many of these on Dask
    row = run_scenario({"demand_scale": scale, "fleet_size": 18}, fn="dispatch")
    print(f"demand x{scale}: served {row['served_ratio']:.1%}, mean wait {row['mean_wait_s']:.0f} s")
