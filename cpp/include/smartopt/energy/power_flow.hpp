// Power flow of radial and weakly meshed grids: a backward/forward sweep over a feeder written as
// two-port branches (loops closed by the compensation method), batched over snapshots and run in
// parallel.
#pragma once

#include <complex>
#include <cstdint>
#include <vector>

namespace smartopt::energy {

using cplx = std::complex<double>;

// A radial grid ordered outwards from the slack. Position 0 is the slack bus; every other position i
// hangs from parent[i] < i through one branch, written in hybrid form in the parent-to-child
// direction (all per unit):
//     I_parent = a * V_parent + b * J_child,     V_child = c * V_parent + d * J_child,
// where J_child is the current the child bus draws (its loads and its own child branches) and
// I_parent the current the branch draws from the parent bus. Any two-port (pi-model line,
// T-model transformer with an ideal tap and phase shift, closed switch) fits this form.
struct Feeder {
    std::vector<int32_t> bus;      // bus index at each position
    std::vector<int32_t> parent;   // parent position, -1 at the slack
    std::vector<int32_t> branch;   // index of the branch feeding each position, -1 at the slack
    std::vector<uint8_t> flipped;  // 1 where that branch's "from" end is the child
    std::vector<cplx> a, b, c, d;  // hybrid parameters per position
    cplx v_slack{1.0, 0.0};
    double base_kva = 1000.0;
    // Loops (compensation method, Shirmohammadi et al. 1988; empty for a radial feeder). Loop k is
    // broken at one branch: that branch's end at some bus hangs from the tree as an extra leaf
    // position breakpoint_leaf[k], and a breakpoint current I_k flows from that leaf into position
    // breakpoint_bus[k] (the leaf draws I_k, the bus receives it) so that the two voltages agree.
    // After each forward sweep the mismatches E = V_leaf - V_bus correct the currents by
    // dI = loop_admittance E, where loop_admittance (m x m, row-major, pu) is the inverse of the
    // tree's loop impedance matrix Z[j][k] = -d(V_leaf_j - V_bus_j)/dI_k, and the voltages by
    // loop_voltage dI, where loop_voltage (size x m, row-major, pu) is dV_position/dI_k, so the
    // next backward sweep draws the load currents of the corrected voltages.
    std::vector<int32_t> breakpoint_leaf, breakpoint_bus;
    std::vector<cplx> loop_admittance, loop_voltage;

    int32_t size() const { return static_cast<int32_t>(bus.size()); }
    int32_t loops() const { return static_cast<int32_t>(breakpoint_leaf.size()); }
    // Throws std::invalid_argument if the arrays are inconsistent (sizes, ranges, parent order).
    void check() const;
};

// Constant-power injections of a batch: loads draw, generators feed in. Row-major (T, n) arrays.
struct Injections {
    int64_t n_snapshots = 0;
    std::vector<int32_t> load_pos, gen_pos;  // feeder position of each load / generator
    const double *load_p_kw = nullptr, *load_q_kvar = nullptr;
    const double *gen_p_kw = nullptr, *gen_q_kvar = nullptr;
};

// Output arrays of a batch, row-major: bus voltages (T, n_bus) and branch currents at the from and
// to ends, flowing into the branch (T, n_branch), in pu; slack power (T,) in kVA.
struct Outputs {
    cplx *v, *i_from, *i_to, *slack_kva;
    int32_t *iterations;
    uint8_t *converged;
};

struct SweepOptions {
    // Stop when no bus voltage moves by more than this between sweeps (and, on a meshed feeder, no
    // breakpoint's voltages differ by more).
    double tol_pu = 1e-9;
    int32_t max_iterations = 100;
    // Snapshots form lanes of lane_length consecutive snapshots; each snapshot starts from the
    // previous one's solution in its lane (the first from the no-load voltages and zero breakpoint
    // currents; the others also from the previous breakpoint currents). Results depend on
    // lane_length, never on the thread count.
    int64_t lane_length = 1;
};

// Solves every snapshot on up to n_threads threads. Snapshots that do not converge (iteration
// limit, voltage collapse) get converged = 0 and NaN results; nothing throws for them.
void solve_batch(const Feeder &feeder, const Injections &inj, const SweepOptions &opt, int n_threads,
                 const Outputs &out);

}  // namespace smartopt::energy
