// Dispatch of one battery over T slots, exact:
// - shave_peak: the lowest peak of net load + charging - discharging. Feasibility of a peak level
//   is monotone and a greedy pass decides it (discharge what exceeds the level, charge as much as
//   the level, power and capacity allow: the highest state of charge at every slot), so bisection
//   on the level finds the optimum to rounding.
// - least_cost: the cheapest charging and discharging under per-slot prices (energy exchanged with
//   the grid at the slot's price both ways). Backward dynamic programming over value functions of
//   the state of charge, which stay convex and piecewise linear (each step is an infimal
//   convolution: a merge of slopes), then a forward pass picks each slot's move.
// Energies in kWh, powers in kW.
#pragma once

#include <vector>

namespace smartopt::energy {

struct Battery {
    double power_kw = 0.0;                     // charge and discharge limit
    double eta_charge = 1.0, eta_discharge = 1.0;  // in (0, 1]
    double soc_min_kwh = 0.0, soc_max_kwh = 0.0;
    double soc0_kwh = 0.0;                      // at the start
    double soc_final_kwh = 0.0;                 // at least this much at the end
    double slot_h = 0.25;
    // Throws std::invalid_argument on NaN, negative or inconsistent values.
    void check() const;
};

struct BatteryDispatch {
    std::vector<double> charge_kw, discharge_kw;  // (T,), grid side
    std::vector<double> soc_kwh;                  // (T + 1,)
    bool feasible = false;                        // false: the final state of charge is out of reach
};

BatteryDispatch shave_peak(const Battery &battery, const std::vector<double> &net_kw);

// Prices must be non-negative (with negative prices, charging and discharging at once would pay).
BatteryDispatch least_cost(const Battery &battery, const std::vector<double> &price);

}  // namespace smartopt::energy
