#include "smartopt/energy/power_flow.hpp"

#include <algorithm>
#include <array>
#include <cmath>

#include "smartopt/energy/sweep_common.hpp"
#include "smartopt/parallel.hpp"

namespace smartopt::energy {

namespace {

using sweep::finite;
using sweep::require;

// Lanes solved in lockstep: one sweep over the tree is a chain of dependent complex operations,
// and interleaving independent snapshots keeps the core busy. Results are those of one lane at
// a time (the same operations in the same order), whatever the grouping.
constexpr int kW = 4;

// Per-worker state of kW lanes, position-major: x[i * kW + lane]. Real and imaginary parts apart,
// and arithmetic written out (std::complex's operators guard inf/NaN corner cases through library
// calls that cost more than the sweep). On a meshed feeder also its breakpoint currents, voltage
// mismatches and current corrections: br, bi, er, ei, dr, di (m * kW, loop-major).
struct Lanes {
    std::vector<double> sr, si, vr, vi, jr, ji, pr, pi, br, bi, er, ei, dr, di;
    Lanes(size_t n, size_t m)
        : sr(n * kW), si(n * kW), vr(n * kW), vi(n * kW), jr(n * kW), ji(n * kW), pr(n * kW), pi(n * kW),
          br(m * kW), bi(m * kW), er(m * kW), ei(m * kW), dr(m * kW), di(m * kW) {}
};

// Backward sweep: each bus's drawn current (its load, the breakpoint currents if Meshed, then its
// child branches) from the present voltages, and each branch's parent-side current.
template <bool Meshed>
void backward(const Feeder &f, Lanes &w) {
    const int32_t n = f.size();
    double *__restrict jr = w.jr.data(), *__restrict ji = w.ji.data(), *__restrict pr = w.pr.data(),
                       *__restrict pi = w.pi.data();
    const double *__restrict vr = w.vr.data(), *__restrict vi = w.vi.data(), *__restrict sr = w.sr.data(),
                             *__restrict si = w.si.data();
    for (int32_t q = 0; q < n * kW; ++q) {  // conj(s / v) = conj(s) v / |v|^2
        const double inv = 1.0 / (vr[q] * vr[q] + vi[q] * vi[q]);
        jr[q] = (sr[q] * vr[q] + si[q] * vi[q]) * inv;
        ji[q] = (sr[q] * vi[q] - si[q] * vr[q]) * inv;
    }
    if constexpr (Meshed) {
        for (int32_t k = 0; k < f.loops(); ++k) {
            const int32_t leaf = f.breakpoint_leaf[k] * kW, into = f.breakpoint_bus[k] * kW;
            for (int l = 0; l < kW; ++l) {
                jr[leaf + l] += w.br[k * kW + l];
                ji[leaf + l] += w.bi[k * kW + l];
                jr[into + l] -= w.br[k * kW + l];
                ji[into + l] -= w.bi[k * kW + l];
            }
        }
    }
    for (int32_t i = n - 1; i >= 1; --i) {
        const int32_t q = i * kW, u = f.parent[i] * kW;
        const double ar = f.a[i].real(), ai = f.a[i].imag(), br = f.b[i].real(), bi = f.b[i].imag();
        double tr[kW], ti[kW];
        for (int l = 0; l < kW; ++l) {
            tr[l] = (ar * vr[u + l] - ai * vi[u + l]) + (br * jr[q + l] - bi * ji[q + l]);
            ti[l] = (ar * vi[u + l] + ai * vr[u + l]) + (br * ji[q + l] + bi * jr[q + l]);
        }
        for (int l = 0; l < kW; ++l) {
            pr[q + l] = tr[l];
            pi[q + l] = ti[l];
            jr[u + l] += tr[l];
            ji[u + l] += ti[l];
        }
    }
}

// Forward sweep: new voltages outwards; returns each lane's largest squared voltage change.
std::array<double, kW> forward(const Feeder &f, Lanes &w) {
    double dv2[kW] = {};
    double *__restrict vr = w.vr.data(), *__restrict vi = w.vi.data();
    const double *__restrict jr = w.jr.data(), *__restrict ji = w.ji.data();
    for (int32_t i = 1; i < f.size(); ++i) {
        const int32_t q = i * kW, u = f.parent[i] * kW;
        const double cr = f.c[i].real(), ci = f.c[i].imag(), dr = f.d[i].real(), di = f.d[i].imag();
        double nr[kW], ni[kW];
        for (int l = 0; l < kW; ++l) {
            nr[l] = (cr * vr[u + l] - ci * vi[u + l]) + (dr * jr[q + l] - di * ji[q + l]);
            ni[l] = (cr * vi[u + l] + ci * vr[u + l]) + (dr * ji[q + l] + di * jr[q + l]);
        }
        for (int l = 0; l < kW; ++l) {
            const double er = nr[l] - vr[q + l], ei = ni[l] - vi[q + l];
            dv2[l] = std::max(dv2[l], er * er + ei * ei);
            vr[q + l] = nr[l];
            vi[q + l] = ni[l];
        }
    }
    return {dv2[0], dv2[1], dv2[2], dv2[3]};
}

// Compensation step of a meshed feeder: each breakpoint's voltage mismatch E = V_leaf - V_bus
// corrects the breakpoint currents by dI = loop_admittance E and the voltages by loop_voltage dI,
// in the lanes not done (so a solved snapshot's currents stay as solved, for the next one's warm
// start); returns each lane's largest |E|^2.
std::array<double, kW> compensate(const Feeder &f, Lanes &w, const std::array<bool, kW> &done) {
    const int32_t m = f.loops(), n = f.size();
    double *__restrict er = w.er.data(), *__restrict ei = w.ei.data(), *__restrict dr = w.dr.data(),
                       *__restrict di = w.di.data();
    double e2[kW] = {};
    for (int32_t k = 0; k < m; ++k) {
        const int32_t leaf = f.breakpoint_leaf[k] * kW, into = f.breakpoint_bus[k] * kW;
        for (int l = 0; l < kW; ++l) {
            er[k * kW + l] = w.vr[leaf + l] - w.vr[into + l];
            ei[k * kW + l] = w.vi[leaf + l] - w.vi[into + l];
            e2[l] = std::max(e2[l], er[k * kW + l] * er[k * kW + l] + ei[k * kW + l] * ei[k * kW + l]);
        }
    }
    for (int32_t j = 0; j < m; ++j) {
        double sr[kW] = {}, si[kW] = {};
        for (int32_t k = 0; k < m; ++k) {
            const cplx y = f.loop_admittance[static_cast<size_t>(j) * m + k];
            for (int l = 0; l < kW; ++l) {
                sr[l] += y.real() * er[k * kW + l] - y.imag() * ei[k * kW + l];
                si[l] += y.real() * ei[k * kW + l] + y.imag() * er[k * kW + l];
            }
        }
        for (int l = 0; l < kW; ++l) {
            dr[j * kW + l] = done[l] ? 0.0 : sr[l];
            di[j * kW + l] = done[l] ? 0.0 : si[l];
            w.br[j * kW + l] += dr[j * kW + l];
            w.bi[j * kW + l] += di[j * kW + l];
        }
    }
    for (int32_t i = 1; i < n; ++i) {
        for (int32_t j = 0; j < m; ++j) {
            const cplx s = f.loop_voltage[static_cast<size_t>(i) * m + j];
            for (int l = 0; l < kW; ++l) {
                w.vr[i * kW + l] += s.real() * dr[j * kW + l] - s.imag() * di[j * kW + l];
                w.vi[i * kW + l] += s.real() * di[j * kW + l] + s.imag() * dr[j * kW + l];
            }
        }
    }
    return {e2[0], e2[1], e2[2], e2[3]};
}

// Whether lane l's voltages are all finite (the convergence test takes the largest change, which
// a NaN at one bus does not raise).
bool lane_finite(const Feeder &f, const Lanes &w, int l) {
    for (int32_t i = 0; i < f.size(); ++i)
        if (!std::isfinite(w.vr[i * kW + l]) || !std::isfinite(w.vi[i * kW + l])) return false;
    return true;
}

void write_lane(const Feeder &f, const Lanes &w, int l, int64_t t, int32_t iterations, const Outputs &out) {
    const int32_t n = f.size(), n_branch = n - 1;
    out.iterations[t] = iterations;
    out.converged[t] = 1;
    cplx *v = out.v + t * n;
    for (int32_t i = 0; i < n; ++i) v[f.bus[i]] = cplx(w.vr[i * kW + l], w.vi[i * kW + l]);
    // Slack power: V0 conj(J0).
    const double v0r = w.vr[l], v0i = w.vi[l], j0r = w.jr[l], j0i = w.ji[l];
    out.slack_kva[t] = cplx(v0r * j0r + v0i * j0i, v0i * j0r - v0r * j0i) * f.base_kva;
    for (int32_t i = 1; i < n; ++i) {
        const int32_t q = i * kW + l;
        const cplx ip(w.pr[q], w.pi[q]), ic(-w.jr[q], -w.ji[q]);
        const int64_t k = t * n_branch + f.branch[i];
        out.i_from[k] = f.flipped[i] ? ic : ip;
        out.i_to[k] = f.flipped[i] ? ip : ic;
    }
}

// Loads lane l's demand for snapshot t (or none when t < 0) and its starting voltages: snapshot
// t - 1's solution when warm, else the no-load voltages and zero breakpoint currents (when warm
// the breakpoint currents stay those of snapshot t - 1).
void start_lane(const Feeder &f, const Injections &inj, int l, int64_t t, bool warm, const Outputs &out,
                Lanes &w) {
    const int32_t n = f.size();
    for (int32_t i = 0; i < n; ++i) w.sr[i * kW + l] = w.si[i * kW + l] = 0.0;
    if (t >= 0) {
        const auto n_load = static_cast<int64_t>(inj.load_pos.size()), n_gen = static_cast<int64_t>(inj.gen_pos.size());
        for (int64_t k = 0; k < n_load; ++k) {
            w.sr[inj.load_pos[k] * kW + l] += inj.load_p_kw[t * n_load + k] / f.base_kva;
            w.si[inj.load_pos[k] * kW + l] += inj.load_q_kvar[t * n_load + k] / f.base_kva;
        }
        for (int64_t k = 0; k < n_gen; ++k) {
            w.sr[inj.gen_pos[k] * kW + l] -= inj.gen_p_kw[t * n_gen + k] / f.base_kva;
            w.si[inj.gen_pos[k] * kW + l] -= inj.gen_q_kvar[t * n_gen + k] / f.base_kva;
        }
    }
    w.vr[l] = f.v_slack.real();
    w.vi[l] = f.v_slack.imag();
    if (warm) {
        const cplx *prev = out.v + (t - 1) * n;
        for (int32_t i = 1; i < n; ++i) {
            w.vr[i * kW + l] = prev[f.bus[i]].real();
            w.vi[i * kW + l] = prev[f.bus[i]].imag();
        }
        return;
    }
    for (int32_t k = 0; k < f.loops(); ++k) w.br[k * kW + l] = w.bi[k * kW + l] = 0.0;
    for (int32_t i = 1; i < n; ++i) {
        const int32_t q = i * kW + l, u = f.parent[i] * kW + l;
        const double cr = f.c[i].real(), ci = f.c[i].imag();
        w.vr[q] = cr * w.vr[u] - ci * w.vi[u];
        w.vi[q] = cr * w.vi[u] + ci * w.vr[u];
    }
}

// Solves step k of the lanes first_lane .. first_lane + kW - 1 (of n_lanes) together.
template <bool Meshed>
void solve_step(const Feeder &f, const Injections &inj, const SweepOptions &opt, int64_t first_lane, int64_t n_lanes,
                int64_t k, const Outputs &out, Lanes &w) {
    std::array<int64_t, kW> t{};
    std::array<bool, kW> done{}, pending{};
    for (int l = 0; l < kW; ++l) {
        // lane * lane_length < n_snapshots for every lane < n_lanes (no overflow)
        const bool active = first_lane + l < n_lanes && k < opt.lane_length &&
                            (first_lane + l) * opt.lane_length + k < inj.n_snapshots;
        t[l] = active ? (first_lane + l) * opt.lane_length + k : -1;
        done[l] = !active;
        start_lane(f, inj, l, t[l], active && k > 0 && out.converged[t[l] - 1], out, w);
    }
    const double tol2 = opt.tol_pu * opt.tol_pu;
    std::array<int32_t, kW> iterations{};
    for (int32_t it = 0;; ++it) {
        backward<Meshed>(f, w);  // currents of the present voltages: final for lanes that just converged
        bool all_done = true;
        for (int l = 0; l < kW; ++l) {
            if (pending[l] && lane_finite(f, w, l))
                write_lane(f, w, l, t[l], iterations[l], out);
            else if (pending[l])
                sweep::write_failed(f.size(), t[l], 1, out);
            done[l] = done[l] || pending[l];
            pending[l] = false;
            all_done = all_done && done[l];
        }
        if (all_done || it == opt.max_iterations) break;
        auto dv2 = forward(f, w);
        if constexpr (Meshed) {
            const auto e2 = compensate(f, w, done);
            for (int l = 0; l < kW; ++l) dv2[l] = std::max(dv2[l], e2[l]);
        }
        for (int l = 0; l < kW; ++l) {
            if (done[l]) continue;
            if (!(dv2[l] < 1e6)) {  // NaN or blown up: voltage collapse
                sweep::write_failed(f.size(), t[l], 1, out);
                done[l] = true;
            } else if (dv2[l] < tol2) {
                pending[l] = true;
                iterations[l] = it + 1;
            }
        }
    }
    for (int l = 0; l < kW; ++l)
        if (!done[l]) sweep::write_failed(f.size(), t[l], 1, out);  // iteration limit
}

}  // namespace

void Feeder::check() const {
    sweep::check_tree(bus, parent, branch, flipped.size());
    const size_t n = bus.size();
    for (const auto *v : {&a, &b, &c, &d}) require(v->size() == n, "feeder arrays must all have one entry per bus");
    for (size_t i = 1; i < n; ++i)
        require(finite(a[i]) && finite(b[i]) && finite(c[i]) && finite(d[i]) && c[i] != 0.0,
                "branch parameters must be finite, with c != 0");
    require(finite(v_slack) && std::abs(v_slack) > 0.0, "the slack voltage must be finite and non-zero");
    const size_t m = breakpoint_leaf.size();
    require(breakpoint_bus.size() == m, "breakpoint_leaf and breakpoint_bus must have one entry per loop");
    require(loop_admittance.size() == m * m, "loop_admittance must have loops * loops entries");
    require(loop_voltage.size() == n * m, "loop_voltage must have buses * loops entries");
    for (size_t k = 0; k < m; ++k) {
        const int32_t leaf = breakpoint_leaf[k], into = breakpoint_bus[k];
        require(leaf >= 1 && static_cast<size_t>(leaf) < n && into >= 0 && static_cast<size_t>(into) < n,
                "breakpoint position out of range");
        require(leaf != into, "a breakpoint's leaf and bus must differ");
    }
    for (const cplx &y : loop_admittance) require(finite(y), "loop_admittance must be finite");
    for (const cplx &y : loop_voltage) require(finite(y), "loop_voltage must be finite");
    require(std::isfinite(base_kva) && base_kva > 0.0, "base_kva must be positive");
}

void solve_batch(const Feeder &f, const Injections &inj, const SweepOptions &opt, int n_threads,
                 const Outputs &out) {
    f.check();
    require(opt.tol_pu > 0.0 && opt.max_iterations >= 1 && opt.lane_length >= 1,
            "tol_pu must be > 0, max_iterations >= 1 and lane_length >= 1");
    const int32_t n = f.size();
    for (int32_t p : inj.load_pos) require(p >= 0 && p < n, "load position out of range");
    for (int32_t p : inj.gen_pos) require(p >= 0 && p < n, "generator position out of range");
    const int64_t n_lanes = sweep::lane_count(inj.n_snapshots, opt.lane_length);
    const int64_t n_blocks = (n_lanes + kW - 1) / kW;
    const int n_workers = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(n_threads, n_blocks)));
    const auto m = static_cast<size_t>(f.loops());
    std::vector<Lanes> scratch(static_cast<size_t>(n_workers), Lanes(static_cast<size_t>(n), m));
    parallel_rows(n_blocks, n_workers, [&](int64_t block, int worker) {
        Lanes &w = scratch[static_cast<size_t>(worker)];
        for (int64_t k = 0; k < std::min(opt.lane_length, inj.n_snapshots); ++k) {
            if (m == 0)
                solve_step<false>(f, inj, opt, block * kW, n_lanes, k, out, w);
            else
                solve_step<true>(f, inj, opt, block * kW, n_lanes, k, out, w);
        }
    });
}

}  // namespace smartopt::energy
