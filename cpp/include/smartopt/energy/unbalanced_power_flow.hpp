// Three-phase unbalanced power flow of radial and weakly meshed grids: a backward/forward sweep in
// symmetrical components (zero, positive, negative sequence), each sequence a network of two-port
// branches in hybrid form (loops closed by compensation per sequence), coupled only through the
// loads (constant power per phase), batched over snapshots.
#pragma once

#include <array>
#include <complex>
#include <cstdint>
#include <vector>

#include "smartopt/energy/power_flow.hpp"

namespace smartopt::energy {

// A three-phase feeder's spanning tree ordered outwards from the slack (as Feeder). Per
// sequence s (0 zero, 1 positive, 2 negative) every position i > 0 hangs from parent[i] < i through
// one branch in hybrid form (per unit):
//     I_parent = a[s][i] V_parent + b[s][i] J_child,     V_child = c[s][i] V_parent + d[s][i] J_child.
// c[0] may be 0 (a zero-sequence path the vector group blocks, e.g. a Dyn transformer's LV side), as
// may c[2] (a meshed grid's source branch, whose negative sequence is grounded); c[1] may not. At
// the slack (position 0) the positive sequence holds v_slack; the zero and negative sequences are
// grounded through the source impedance: V_s = -z_source[s] J_s (z_source[1] is unused).
//
// Loops are closed per sequence by the compensation method, as in Feeder: loop k is cut at a leaf
// position breakpoint_leaf[k] drawing a breakpoint current from breakpoint_bus[k]; per sequence s,
// loop_admittance[s] (m x m, row-major) is the inverse of that sequence's loop impedance matrix and
// loop_voltage[s] (size x m, row-major) the voltage response dV_position / dI_k. A meshed grid's
// position 0 is a virtual source (v_slack 1, z_source 0) feeding the slack through a source branch.
struct SequenceFeeder {
    std::vector<int32_t> bus, parent, branch;
    std::vector<uint8_t> flipped;  // 1 where the branch's "from" end is the child
    std::array<std::vector<cplx>, 3> a, b, c, d;
    cplx v_slack{1.0, 0.0};
    std::array<cplx, 3> z_source{};
    double base_kva = 1000.0;
    std::vector<int32_t> breakpoint_leaf, breakpoint_bus;
    std::array<std::vector<cplx>, 3> loop_admittance, loop_voltage;

    int32_t size() const { return static_cast<int32_t>(bus.size()); }
    int32_t loops() const { return static_cast<int32_t>(breakpoint_leaf.size()); }
    // Throws std::invalid_argument if the arrays are inconsistent (sizes, ranges, parent order, finite).
    void check() const;
};

// Constant-power injections per phase, row-major (T, n, 3) arrays (kW, kvar; positive draws, so a
// generator is a negative load). Wye elements draw phase-to-neutral on phases a, b, c; delta ones
// between phases ab, bc, ca.
struct PhaseInjections {
    int64_t n_snapshots = 0;
    std::vector<int32_t> pos;    // feeder position of each element
    std::vector<uint8_t> delta;  // 1 for delta-connected elements
    const double *p_kw = nullptr, *q_kvar = nullptr;
};

// Output arrays, row-major: phase voltages (T, n_bus, 3), phase currents into each branch at its
// from and to ends (T, n_branch, 3), in pu of the balanced bases (a balanced flow of 1 pu per phase
// carries 1 pu of total power); per-phase power the slack supplies (T, 3), kVA.
struct PhaseOutputs {
    cplx *v, *i_from, *i_to, *slack_kva;
    int32_t *iterations;
    uint8_t *converged;
};

// Solves every snapshot on up to n_threads threads (lanes and convergence as solve_batch: a
// snapshot converges when no phase voltage moves, and no breakpoint's phase voltages differ, by more
// than tol_pu between sweeps). Snapshots
// that do not converge get converged = 0 and NaN results; nothing throws for them.
void solve_unbalanced_batch(const SequenceFeeder &feeder, const PhaseInjections &inj, const SweepOptions &opt,
                            int n_threads, const PhaseOutputs &out);

}  // namespace smartopt::energy
