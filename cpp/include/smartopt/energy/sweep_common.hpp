// Internal helpers of the balanced and the unbalanced backward/forward sweeps (power_flow.cpp,
// unbalanced_power_flow.cpp): argument checks and the output of a failed snapshot.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "smartopt/energy/power_flow.hpp"

namespace smartopt::energy::sweep {

inline void require(bool ok, const std::string &what) {
    if (!ok) throw std::invalid_argument(what);
}

inline bool finite(cplx v) { return std::isfinite(v.real()) && std::isfinite(v.imag()); }

// A feeder's tree in sweep order: `bus` a permutation of the n >= 2 buses, position 0 the slack
// (no parent, no branch), every parent before its child, `branch` numbering the n - 1 branches
// once each; `flipped` one entry per bus.
inline void check_tree(const std::vector<int32_t> &bus, const std::vector<int32_t> &parent,
                       const std::vector<int32_t> &branch, size_t flipped) {
    const size_t n = bus.size();
    require(n >= 2, "a feeder needs at least two buses");
    require(parent.size() == n && branch.size() == n && flipped == n, "feeder arrays must all have one entry per bus");
    require(parent[0] == -1 && branch[0] == -1, "position 0 must be the slack bus");
    std::vector<uint8_t> seen_bus(n, 0), seen_branch(n - 1, 0);
    for (size_t i = 0; i < n; ++i) {
        require(bus[i] >= 0 && static_cast<size_t>(bus[i]) < n && !seen_bus[bus[i]], "bus must be a permutation");
        seen_bus[bus[i]] = 1;
        if (i == 0) continue;
        require(parent[i] >= 0 && static_cast<size_t>(parent[i]) < i, "every parent must come before its child");
        require(branch[i] >= 0 && static_cast<size_t>(branch[i]) < n - 1 && !seen_branch[branch[i]],
                "branch must number the n - 1 branches once each");
        seen_branch[branch[i]] = 1;
    }
}

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
