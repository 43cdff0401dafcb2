#include "smartopt/energy/unbalanced_power_flow.hpp"

#include <algorithm>
#include <cmath>

#include "smartopt/energy/sweep_common.hpp"
#include "smartopt/parallel.hpp"

namespace smartopt::energy {

namespace {

using sweep::finite;
using sweep::require;

// Complex arithmetic written out: std::complex's operators guard inf/NaN corner cases through
// library calls that cost more than the sweep (a NaN still propagates and fails the snapshot).
inline cplx mul(cplx x, cplx y) {
    return {x.real() * y.real() - x.imag() * y.imag(), x.real() * y.imag() + x.imag() * y.real()};
}
// conj(s / v): the current a constant power s draws at voltage v.
inline cplx drawn(cplx s, cplx v) {
    const double inv = 1.0 / (v.real() * v.real() + v.imag() * v.imag());
    return {(s.real() * v.real() + s.imag() * v.imag()) * inv, (s.real() * v.imag() - s.imag() * v.real()) * inv};
}

const cplx kA{-0.5, 0.8660254037844386};  // exp(j 120 degrees)
const cplx kA2{-0.5, -0.8660254037844386};

// Phases a, b, c of sequence components 0, 1, 2, and back.
inline std::array<cplx, 3> to_phases(cplx x0, cplx x1, cplx x2) {
    return {x0 + x1 + x2, x0 + mul(kA2, x1) + mul(kA, x2), x0 + mul(kA, x1) + mul(kA2, x2)};
}
inline std::array<cplx, 3> to_sequences(const std::array<cplx, 3> &p) {
    constexpr double third = 1.0 / 3.0;
    return {(p[0] + p[1] + p[2]) * third, (p[0] + mul(kA, p[1]) + mul(kA2, p[2])) * third,
            (p[0] + mul(kA2, p[1]) + mul(kA, p[2])) * third};
}

// Per-worker state of one snapshot: sequence voltages, drawn currents and parent-side branch
// currents (position-major, v[i * 3 + s]), and the per-phase powers at each position (pu of the
// balanced base, so 3 x the phase's share): wye on a, b, c and delta on ab, bc, ca.
// On a meshed feeder also the breakpoint currents and their last corrections (loop-major, br[3 * k + s]),
// and one sequence's corrections (di, per loop).
struct Scratch {
    std::vector<cplx> v, j, p, s_wye, s_delta, br, dbr, di;
    Scratch(size_t n, size_t m)
        : v(3 * n), j(3 * n), p(3 * n), s_wye(3 * n), s_delta(3 * n), br(3 * m), dbr(3 * m), di(m) {}
};

// `loaded`: the positions with a load or generator, each once, in order.
void backward(const SequenceFeeder &f, const std::vector<int32_t> &loaded, Scratch &w) {
    const int32_t n = f.size();
    std::fill(w.j.begin(), w.j.end(), cplx{});
    for (const int32_t i : loaded) {
        const cplx *v = &w.v[3 * i];
        const auto vp = to_phases(v[0], v[1], v[2]);
        const cplx *sw = &w.s_wye[3 * i], *sd = &w.s_delta[3 * i];
        std::array<cplx, 3> ip{drawn(sw[0], vp[0]), drawn(sw[1], vp[1]), drawn(sw[2], vp[2])};
        if (sd[0] != 0.0 || sd[1] != 0.0 || sd[2] != 0.0) {
            const cplx i_ab = drawn(sd[0], vp[0] - vp[1]), i_bc = drawn(sd[1], vp[1] - vp[2]),
                       i_ca = drawn(sd[2], vp[2] - vp[0]);
            ip[0] += i_ab - i_ca;
            ip[1] += i_bc - i_ab;
            ip[2] += i_ca - i_bc;
        }
        const auto js = to_sequences(ip);
        std::copy(js.begin(), js.end(), &w.j[3 * i]);
    }
    for (int32_t k = 0; k < f.loops(); ++k)
        for (int s = 0; s < 3; ++s) {
            w.j[3 * f.breakpoint_leaf[k] + s] += w.br[3 * k + s];
            w.j[3 * f.breakpoint_bus[k] + s] -= w.br[3 * k + s];
        }
    for (int32_t i = n - 1; i >= 1; --i) {
        const int32_t u = f.parent[i];
        for (int s = 0; s < 3; ++s) {
            const cplx t = mul(f.a[s][i], w.v[3 * u + s]) + mul(f.b[s][i], w.j[3 * i + s]);
            w.p[3 * i + s] = t;
            w.j[3 * u + s] += t;
        }
    }
}

// New voltages outwards; returns the largest squared change of a phase voltage.
double forward(const SequenceFeeder &f, Scratch &w) {
    double dv2 = 0.0;
    auto update = [&](int32_t i, const std::array<cplx, 3> &nv) {
        const auto dp = to_phases(nv[0] - w.v[3 * i], nv[1] - w.v[3 * i + 1], nv[2] - w.v[3 * i + 2]);
        for (const cplx &d : dp) dv2 = std::max(dv2, std::norm(d));
        std::copy(nv.begin(), nv.end(), &w.v[3 * i]);
    };
    update(0, {-mul(f.z_source[0], w.j[0]), f.v_slack, -mul(f.z_source[2], w.j[2])});
    for (int32_t i = 1; i < f.size(); ++i) {
        const int32_t u = f.parent[i];
        std::array<cplx, 3> nv;
        for (int s = 0; s < 3; ++s) nv[s] = mul(f.c[s][i], w.v[3 * u + s]) + mul(f.d[s][i], w.j[3 * i + s]);
        update(i, nv);
    }
    return dv2;
}

// Compensation step of a meshed feeder, per sequence: the breakpoints' voltage mismatches E correct
// the breakpoint currents by dI = loop_admittance E and the voltages by loop_voltage dI; returns
// the largest squared mismatch of a phase.
double compensate(const SequenceFeeder &f, Scratch &w) {
    const int32_t m = f.loops(), n = f.size();
    double e2 = 0.0;
    std::vector<cplx> &e = w.dbr;  // the mismatches first, then (per sequence) the corrections
    for (int32_t k = 0; k < m; ++k) {
        const int32_t leaf = 3 * f.breakpoint_leaf[k], into = 3 * f.breakpoint_bus[k];
        for (int s = 0; s < 3; ++s) e[3 * k + s] = w.v[leaf + s] - w.v[into + s];
        for (const cplx &x : to_phases(e[3 * k], e[3 * k + 1], e[3 * k + 2])) e2 = std::max(e2, std::norm(x));
    }
    std::vector<cplx> &di = w.di;
    for (int s = 0; s < 3; ++s) {
        const cplx *y = f.loop_admittance[s].data(), *dv = f.loop_voltage[s].data();
        for (int32_t r = 0; r < m; ++r) {
            cplx sum{};
            for (int32_t k = 0; k < m; ++k) sum += mul(y[static_cast<size_t>(r) * m + k], e[3 * k + s]);
            di[r] = sum;
        }
        for (int32_t r = 0; r < m; ++r) w.br[3 * r + s] += di[r];
        for (int32_t i = 0; i < n; ++i) {
            cplx sum{};
            for (int32_t k = 0; k < m; ++k) sum += mul(dv[static_cast<size_t>(i) * m + k], di[k]);
            w.v[3 * i + s] += sum;
        }
    }
    return e2;
}

bool all_finite(const std::vector<cplx> &x) {
    return std::all_of(x.begin(), x.end(), [](cplx v) { return finite(v); });
}

void write(const SequenceFeeder &f, const Scratch &w, int64_t t, int32_t iterations, const PhaseOutputs &out) {
    const int32_t n = f.size(), nb = n - 1;
    out.iterations[t] = iterations;
    out.converged[t] = 1;
    for (int32_t i = 0; i < n; ++i) {
        const auto vp = to_phases(w.v[3 * i], w.v[3 * i + 1], w.v[3 * i + 2]);
        std::copy(vp.begin(), vp.end(), out.v + (t * n + f.bus[i]) * 3);
    }
    const auto v0 = to_phases(w.v[0], w.v[1], w.v[2]), j0 = to_phases(w.j[0], w.j[1], w.j[2]);
    for (int p = 0; p < 3; ++p) out.slack_kva[t * 3 + p] = mul(v0[p], std::conj(j0[p])) * (f.base_kva / 3.0);
    for (int32_t i = 1; i < n; ++i) {
        const auto ip = to_phases(w.p[3 * i], w.p[3 * i + 1], w.p[3 * i + 2]);
        const auto ic = to_phases(-w.j[3 * i], -w.j[3 * i + 1], -w.j[3 * i + 2]);
        cplx *from = out.i_from + (t * nb + f.branch[i]) * 3, *to = out.i_to + (t * nb + f.branch[i]) * 3;
        std::copy((f.flipped[i] ? ic : ip).begin(), (f.flipped[i] ? ic : ip).end(), from);
        std::copy((f.flipped[i] ? ip : ic).begin(), (f.flipped[i] ? ip : ic).end(), to);
    }
}

// Loads snapshot t's powers and its starting voltages: snapshot t - 1's solution when warm, else
// the positive-sequence no-load voltages.
void start(const SequenceFeeder &f, const PhaseInjections &inj, int64_t t, bool warm, const PhaseOutputs &out,
           Scratch &w) {
    const int32_t n = f.size();
    std::fill(w.s_wye.begin(), w.s_wye.end(), cplx{});
    std::fill(w.s_delta.begin(), w.s_delta.end(), cplx{});
    const auto m = static_cast<int64_t>(inj.pos.size());
    const double scale = 3.0 / f.base_kva;
    for (int64_t k = 0; k < m; ++k) {
        auto &s = inj.delta[k] ? w.s_delta : w.s_wye;
        for (int p = 0; p < 3; ++p) {
            const int64_t q = (t * m + k) * 3 + p;
            s[3 * inj.pos[k] + p] += cplx(inj.p_kw[q], inj.q_kvar[q]) * scale;
        }
    }
    if (warm) {  // the breakpoint currents stay those of snapshot t - 1
        const cplx *prev = out.v + (t - 1) * n * 3;
        for (int32_t i = 0; i < n; ++i) {
            const cplx *vp = prev + f.bus[i] * 3;
            const auto vs = to_sequences({vp[0], vp[1], vp[2]});
            std::copy(vs.begin(), vs.end(), &w.v[3 * i]);
        }
        return;
    }
    std::fill(w.v.begin(), w.v.end(), cplx{});
    std::fill(w.br.begin(), w.br.end(), cplx{});
    w.v[1] = f.v_slack;
    for (int32_t i = 1; i < n; ++i) w.v[3 * i + 1] = mul(f.c[1][i], w.v[3 * f.parent[i] + 1]);
}

void solve_one(const SequenceFeeder &f, const PhaseInjections &inj, const std::vector<int32_t> &loaded,
               const SweepOptions &opt, int64_t t, bool warm, const PhaseOutputs &out, Scratch &w) {
    start(f, inj, t, warm, out, w);
    const double tol2 = opt.tol_pu * opt.tol_pu;
    bool done = false;
    for (int32_t it = 0;; ++it) {
        backward(f, loaded, w);  // currents of the present voltages: final once they have converged
        if (done) {
            if (all_finite(w.v) && all_finite(w.j))
                write(f, w, t, it, out);
            else
                sweep::write_failed(f.size(), t, 3, out);
            return;
        }
        if (it == opt.max_iterations) break;
        double dv2 = forward(f, w);
        if (f.loops()) dv2 = std::max(dv2, compensate(f, w));
        if (!(dv2 < 1e6)) break;  // NaN or blown up: voltage collapse
        done = dv2 < tol2;
    }
    sweep::write_failed(f.size(), t, 3, out);
}

}  // namespace

void SequenceFeeder::check() const {
    sweep::check_tree(bus, parent, branch, flipped.size());
    const size_t n = bus.size();
    for (int s = 0; s < 3; ++s)
        for (const auto *v : {&a[s], &b[s], &c[s], &d[s]})
            require(v->size() == n, "feeder arrays must all have one entry per bus");
    for (size_t i = 1; i < n; ++i) {
        for (int s = 0; s < 3; ++s)
            require(finite(a[s][i]) && finite(b[s][i]) && finite(c[s][i]) && finite(d[s][i]),
                    "branch parameters must be finite");
        require(c[1][i] != 0.0, "the positive sequence's c must be non-zero");
    }
    require(finite(v_slack) && std::abs(v_slack) > 0.0, "the slack voltage must be finite and non-zero");
    require(finite(z_source[0]) && finite(z_source[2]), "the source impedances must be finite");
    require(std::isfinite(base_kva) && base_kva > 0.0, "base_kva must be positive");
    const size_t m = breakpoint_leaf.size();
    require(breakpoint_bus.size() == m, "breakpoint_leaf and breakpoint_bus must have one entry per loop");
    for (size_t k = 0; k < m; ++k) {
        const int32_t leaf = breakpoint_leaf[k], into = breakpoint_bus[k];
        require(leaf >= 1 && static_cast<size_t>(leaf) < n && into >= 0 && static_cast<size_t>(into) < n &&
                    leaf != into,
                "breakpoint positions must be distinct positions in range");
    }
    for (int s = 0; s < 3; ++s) {
        require(loop_admittance[s].size() == m * m, "loop_admittance must have loops * loops entries per sequence");
        require(loop_voltage[s].size() == n * m, "loop_voltage must have buses * loops entries per sequence");
        for (const auto *v : {&loop_admittance[s], &loop_voltage[s]})
            for (const cplx &y : *v) require(finite(y), "loop_admittance and loop_voltage must be finite");
    }
}

void solve_unbalanced_batch(const SequenceFeeder &f, const PhaseInjections &inj, const SweepOptions &opt,
                            int n_threads, const PhaseOutputs &out) {
    f.check();
    require(opt.tol_pu > 0.0 && opt.max_iterations >= 1 && opt.lane_length >= 1,
            "tol_pu must be > 0, max_iterations >= 1 and lane_length >= 1");
    require(inj.delta.size() == inj.pos.size(), "pos and delta must have one entry per element");
    const int32_t n = f.size();
    for (int32_t p : inj.pos) require(p >= 0 && p < n, "element position out of range");
    for (uint8_t x : inj.delta) require(x <= 1, "delta must be 0 or 1");
    std::vector<int32_t> loaded(inj.pos);  // the same positions in every snapshot
    std::sort(loaded.begin(), loaded.end());
    loaded.erase(std::unique(loaded.begin(), loaded.end()), loaded.end());
    const int64_t n_lanes = sweep::lane_count(inj.n_snapshots, opt.lane_length);
    const int n_workers = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(n_threads, n_lanes)));
    std::vector<Scratch> scratch(static_cast<size_t>(n_workers),
                                 Scratch(static_cast<size_t>(n), static_cast<size_t>(f.loops())));
    parallel_rows(n_lanes, n_workers, [&](int64_t lane, int worker) {
        Scratch &w = scratch[static_cast<size_t>(worker)];
        const int64_t first = lane * opt.lane_length;
        const int64_t last = first + std::min(opt.lane_length, inj.n_snapshots - first);
        for (int64_t t = first; t < last; ++t)
            solve_one(f, inj, loaded, opt, t, t > first && out.converged[t - 1], out, w);
    });
}

}  // namespace smartopt::energy
