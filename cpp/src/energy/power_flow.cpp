#include "smartopt/energy/power_flow.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "smartopt/parallel.hpp"

namespace smartopt::energy {

namespace {

constexpr double kRadToDeg = 57.29577951308232;
constexpr int64_t kChunk = 64;  // snapshots per parallel work item (warm-started in turn)

void require(bool ok, const std::string &what) {
    if (!ok) throw std::invalid_argument(what);
}

bool finite(cplx v) { return std::isfinite(v.real()) && std::isfinite(v.imag()); }

// Per-worker scratch: per-position demand, voltage, drawn current and parent-side branch current.
struct Scratch {
    std::vector<cplx> s, v, j, i_parent;
    explicit Scratch(size_t n) : s(n), v(n), j(n), i_parent(n) {}
};

// Complex products and the load current written out: std::complex's operators guard against
// inf/NaN corner cases through library calls, which costs more than the sweep itself.
inline cplx mul(cplx x, cplx y) {
    return {x.real() * y.real() - x.imag() * y.imag(), x.real() * y.imag() + x.imag() * y.real()};
}
inline cplx mul_add(cplx x, cplx y, cplx u, cplx z) {  // x*y + u*z
    return {x.real() * y.real() - x.imag() * y.imag() + u.real() * z.real() - u.imag() * z.imag(),
            x.real() * y.imag() + x.imag() * y.real() + u.real() * z.imag() + u.imag() * z.real()};
}
inline cplx load_current(cplx s, cplx v) {  // conj(s / v) = conj(s) v / |v|^2
    const double inv = 1.0 / (v.real() * v.real() + v.imag() * v.imag());
    return {(s.real() * v.real() + s.imag() * v.imag()) * inv, (s.real() * v.imag() - s.imag() * v.real()) * inv};
}
inline double norm2(cplx x) { return x.real() * x.real() + x.imag() * x.imag(); }

// Backward sweep: every bus's drawn current from the present voltages, summed up the tree.
void backward(const Feeder &f, Scratch &w) {
    const int32_t n = f.size();
    for (int32_t i = 0; i < n; ++i) w.j[i] = load_current(w.s[i], w.v[i]);
    for (int32_t i = n - 1; i >= 1; --i) {
        w.i_parent[i] = mul_add(f.a[i], w.v[f.parent[i]], f.b[i], w.j[i]);
        w.j[f.parent[i]] += w.i_parent[i];
    }
}

// Starts from the voltages in w.v when warm (the previous snapshot's solution), else from the
// no-load voltages. Returns the number of sweeps, or -1 if the snapshot did not converge.
int32_t sweep(const Feeder &f, const SweepOptions &opt, bool warm, Scratch &w) {
    const int32_t n = f.size();
    w.v[0] = f.v_slack;
    if (!warm)
        for (int32_t i = 1; i < n; ++i) w.v[i] = mul(f.c[i], w.v[f.parent[i]]);
    const double tol2 = opt.tol_pu * opt.tol_pu;
    for (int32_t it = 1; it <= opt.max_iter; ++it) {
        backward(f, w);
        double max_dv2 = 0.0;
        for (int32_t i = 1; i < n; ++i) {
            const cplx v = mul_add(f.c[i], w.v[f.parent[i]], f.d[i], w.j[i]);
            max_dv2 = std::max(max_dv2, norm2(v - w.v[i]));
            w.v[i] = v;
        }
        if (!(max_dv2 < 1e6)) return -1;  // NaN or blown up: voltage collapse
        if (max_dv2 < tol2) {
            backward(f, w);  // currents consistent with the final voltages
            return it;
        }
    }
    return -1;
}

void write_snapshot(const Feeder &f, const Scratch &w, int32_t iterations, int64_t t, int32_t n_bus,
                    int32_t n_branch, const Outputs &out) {
    const int32_t n = f.size();
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const bool ok = iterations > 0;
    out.iterations[t] = ok ? iterations : 0;
    out.converged[t] = ok ? 1 : 0;
    double *vm = out.vm_pu + t * n_bus, *va = out.va_degree + t * n_bus;
    for (int32_t i = 0; i < n; ++i) {
        vm[f.bus[i]] = ok ? std::sqrt(norm2(w.v[i])) : nan;
        va[f.bus[i]] = ok ? std::arg(w.v[i]) * kRadToDeg : nan;
    }
    const cplx s0 = mul(w.v[0], std::conj(w.j[0])) * f.base_kva;
    out.slack_p_kw[t] = ok ? s0.real() : nan;
    out.slack_q_kvar[t] = ok ? s0.imag() : nan;
    const int64_t row = t * n_branch;
    for (int32_t i = 1; i < n; ++i) {
        const cplx ip = w.i_parent[i], ic = -w.j[i];
        const cplx sp = mul(w.v[f.parent[i]], std::conj(ip)) * f.base_kva, sc = mul(w.v[i], std::conj(ic)) * f.base_kva;
        const double ap = std::sqrt(norm2(ip)), ac = std::sqrt(norm2(ic));
        const int64_t k = row + f.branch[i];
        const bool flip = f.flipped[i] != 0;
        out.i_from_ka[k] = ok ? (flip ? ac * f.i_base_child_ka[i] : ap * f.i_base_parent_ka[i]) : nan;
        out.i_to_ka[k] = ok ? (flip ? ap * f.i_base_parent_ka[i] : ac * f.i_base_child_ka[i]) : nan;
        out.loading_percent[k] = ok ? std::max(ap * f.rate_parent[i], ac * f.rate_child[i]) : nan;
        const cplx s_from = flip ? sc : sp, s_to = flip ? sp : sc;
        out.p_from_kw[k] = ok ? s_from.real() : nan;
        out.q_from_kvar[k] = ok ? s_from.imag() : nan;
        out.p_to_kw[k] = ok ? s_to.real() : nan;
        out.q_to_kvar[k] = ok ? s_to.imag() : nan;
    }
}

}  // namespace

void Feeder::check() const {
    const size_t n = bus.size();
    require(n >= 2, "a feeder needs at least two buses");
    for (const auto *v : {&parent, &branch})
        require(v->size() == n, "feeder arrays must all have one entry per bus");
    for (const auto *v : {&a, &b, &c, &d}) require(v->size() == n, "feeder arrays must all have one entry per bus");
    for (const auto *v : {&i_base_parent_ka, &i_base_child_ka, &rate_parent, &rate_child})
        require(v->size() == n, "feeder arrays must all have one entry per bus");
    require(flipped.size() == n, "feeder arrays must all have one entry per bus");
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
        require(finite(a[i]) && finite(b[i]) && finite(c[i]) && finite(d[i]) && c[i] != 0.0,
                "branch parameters must be finite, with c != 0");
    }
    require(finite(v_slack) && std::abs(v_slack) > 0.0, "the slack voltage must be finite and non-zero");
    require(std::isfinite(base_kva) && base_kva > 0.0, "base_kva must be positive");
}

void solve_batch(const Feeder &f, const Injections &inj, const SweepOptions &opt, int n_threads,
                 const Outputs &out) {
    f.check();
    require(opt.tol_pu > 0.0 && opt.max_iter >= 1, "tol_pu must be > 0 and max_iter >= 1");
    const int32_t n = f.size(), n_branch = n - 1;
    for (int32_t p : inj.load_pos) require(p >= 0 && p < n, "load position out of range");
    for (int32_t p : inj.gen_pos) require(p >= 0 && p < n, "generator position out of range");
    const auto n_load = static_cast<int64_t>(inj.load_pos.size()), n_gen = static_cast<int64_t>(inj.gen_pos.size());
    const int64_t n_chunks = (inj.n_snapshots + kChunk - 1) / kChunk;
    const int n_workers = std::max(1, n_threads);
    std::vector<Scratch> scratch(static_cast<size_t>(n_workers), Scratch(static_cast<size_t>(n)));
    const double to_pu = 1.0 / f.base_kva;
    parallel_rows(n_chunks, n_workers, [&](int64_t chunk, int worker) {
        Scratch &w = scratch[static_cast<size_t>(worker)];
        const int64_t end = std::min(inj.n_snapshots, (chunk + 1) * kChunk);
        bool warm = false;  // each chunk starts cold, so results never depend on the thread count
        for (int64_t t = chunk * kChunk; t < end; ++t) {
            std::fill(w.s.begin(), w.s.end(), cplx(0.0, 0.0));
            for (int64_t k = 0; k < n_load; ++k)
                w.s[inj.load_pos[k]] += cplx(inj.load_p_kw[t * n_load + k], inj.load_q_kvar[t * n_load + k]) * to_pu;
            for (int64_t k = 0; k < n_gen; ++k)
                w.s[inj.gen_pos[k]] -= cplx(inj.gen_p_kw[t * n_gen + k], inj.gen_q_kvar[t * n_gen + k]) * to_pu;
            const int32_t iterations = sweep(f, opt, warm, w);
            warm = iterations > 0;
            write_snapshot(f, w, iterations, t, n, n_branch, out);
        }
    });
}

}  // namespace smartopt::energy
