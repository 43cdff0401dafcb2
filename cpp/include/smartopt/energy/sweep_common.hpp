// Internal helpers of the balanced and the unbalanced backward/forward sweeps (power_flow.cpp,
// unbalanced_power_flow.cpp): argument checks and the output of a failed snapshot.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>

#include "smartopt/energy/power_flow.hpp"

namespace smartopt::energy::sweep {

inline void require(bool ok, const std::string &what) {
    if (!ok) throw std::invalid_argument(what);
}

inline bool finite(cplx v) { return std::isfinite(v.real()) && std::isfinite(v.imag()); }

// The lanes of lane_length consecutive snapshots that cover n_snapshots (no overflow for any lane_length >= 1).
inline int64_t lane_count(int64_t n_snapshots, int64_t lane_length) {
    return n_snapshots / lane_length + (n_snapshots % lane_length != 0);
}

// Marks snapshot t of an n-position feeder failed: not converged, no iterations, NaN voltages,
// branch currents and slack power, `width` values each (1 balanced, 3 phases).
template <class Out>
void write_failed(int64_t n, int64_t t, int64_t width, const Out &out) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const cplx bad(nan, nan);
    out.iterations[t] = 0;
    out.converged[t] = 0;
    std::fill(out.v + t * n * width, out.v + (t + 1) * n * width, bad);
    std::fill(out.i_from + t * (n - 1) * width, out.i_from + (t + 1) * (n - 1) * width, bad);
    std::fill(out.i_to + t * (n - 1) * width, out.i_to + (t + 1) * (n - 1) * width, bad);
    std::fill(out.slack_kva + t * width, out.slack_kva + (t + 1) * width, bad);
}

}  // namespace smartopt::energy::sweep
