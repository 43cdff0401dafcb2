// Exact EV charging schedules on a slotted horizon, as flows in the bipartite network
//     source -> EV i (its energy) -> slot t in its window (at most its power) -> sink (slot capacity).
//
// - valley_fill: the lexicographically optimal schedule (Fujishige's decomposition algorithm with
//   max flows): it minimises sum_t h(base_t + load_t) for every convex h at once, so it is both the
//   valley-filling (least squares) and a minimum-peak schedule. With slot classes (price ranks) it
//   is lexicographic in (class, load): the least-cost schedule, flattest within each price class.
// - max_served: the most energy the slot capacities let through.
// All energies are in kW-slots (kWh / slot length), all powers in kW.
#pragma once

#include <cstdint>
#include <vector>

namespace smartopt::energy {

struct ChargingProblem {
    int32_t num_slots = 0;
    std::vector<int32_t> arrival, departure;  // EV i may charge in slots arrival[i] <= t < departure[i]
    std::vector<double> energy;               // kW-slots each EV asks for
    std::vector<double> max_power;            // kW per EV
    std::vector<double> base;                 // kW per slot, the load the EVs add to
    // Throws std::invalid_argument on inconsistent sizes, windows outside the horizon, NaN or
    // negative energies or powers.
    void check() const;
};

struct ChargingSchedule {
    std::vector<double> power;   // (n_ev, num_slots), row-major, kW
    std::vector<double> served;  // kW-slots delivered to each EV
    int32_t max_flows = 0;       // max-flow runs the solve took
    // max_served only: EVs that compete for the slots the capacities run out in (every EV that
    // might be served less than it asks; empty from valley_fill).
    std::vector<uint8_t> bottleneck;
};

// The lexicographically optimal schedule serving every EV in full: energy goes to slots of a lower
// `slot_class` first (empty: one class) and, among equals, to the lowest total load, never above
// `slot_capacity` (kW for EVs per slot, may be +inf; empty: unlimited). Throws
// std::invalid_argument if an EV asks for more than its window and power allow; EVs the capacities
// cannot serve in full are left short (use max_served first to find what they allow).
ChargingSchedule valley_fill(const ChargingProblem &problem, const std::vector<int32_t> &slot_class,
                             const std::vector<double> &slot_capacity);

// A schedule serving the most energy that fits in `slot_capacity` (kW per slot, may be +inf), and
// the EVs at its bottleneck.
ChargingSchedule max_served(const ChargingProblem &problem, const std::vector<double> &slot_capacity);

}  // namespace smartopt::energy
