// Phase balancing of single-phase loads on one low-voltage feeder: put each load (a profile over T
// slots, kW) on phase 0, 1 or 2 so that the worst spread between the most and the least loaded
// phase over the slots is least. Assignments are compared on (worst spread, sum over slots of the
// squared spread): the second term rewards progress on the plateaus of the first. With `neutral`, the
// measure per slot is instead the magnitude of the phase loads' sum as phasors 120 degrees apart,
// |x + a y + a^2 z| = sqrt(x^2 + y^2 + z^2 - xy - yz - zx) (kW): what drives the neutral current at
// unity power factor and balanced voltages.
#pragma once

#include <cstdint>
#include <vector>

namespace smartopt::energy {

struct PhaseProblem {
    int32_t num_loads = 0, num_slots = 0;
    std::vector<double> profile;  // (num_loads, num_slots), row-major, kW
    bool neutral = false;         // score the neutral measure instead of the spread
    // Throws std::invalid_argument on inconsistent sizes or non-finite values.
    void check() const;
};

struct PhaseAssignment {
    std::vector<int8_t> phase;  // per load, 0..2
    double worst_kw = 0.0;      // max over slots of the measure (spread, or neutral)
    double sum_sq = 0.0;        // sum over slots of the squared measure (kW^2)
    int64_t evaluations = 0;    // candidate moves and swaps tried
};

// (worst spread, sum of squared spreads) of an assignment.
PhaseAssignment evaluate_phases(const PhaseProblem &problem, const std::vector<int8_t> &phase);

// Largest first: loads by decreasing peak, each on the phase that keeps the partial sums best.
PhaseAssignment greedy_phases(const PhaseProblem &problem);

// Iterated local search from `start`: moves and swaps (first improvement) to a local optimum, then
// random kicks of a few moves, keeping the best; stops after `max_kicks` kicks, about
// `max_iterations` evaluated moves and swaps (< 0: no limit; checked once per load of a descent,
// so it may run over by one load's moves and swaps) or `time_limit_s` seconds (inf: no limit; also
// inside a descent), whichever comes first. Deterministic for a seed when the kick or evaluation
// budget binds first.
PhaseAssignment improve_phases(const PhaseProblem &problem, const std::vector<int8_t> &start, uint64_t seed,
                               int32_t max_kicks, double time_limit_s, int64_t max_iterations = -1);

}  // namespace smartopt::energy
