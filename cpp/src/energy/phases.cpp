#include "smartopt/energy/phases.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <random>
#include <stdexcept>

namespace smartopt::energy {

void PhaseProblem::check() const {
    if (num_loads < 0 || num_slots < 0) throw std::invalid_argument("sizes must be non-negative");
    if (profile.size() != static_cast<size_t>(num_loads) * static_cast<size_t>(num_slots))
        throw std::invalid_argument("profile must have num_loads x num_slots values");
    for (double v : profile)
        if (!std::isfinite(v)) throw std::invalid_argument("profile must be finite");
}

namespace {

void check_assignment(const PhaseProblem &p, const std::vector<int8_t> &phase) {
    if (phase.size() != static_cast<size_t>(p.num_loads))
        throw std::invalid_argument("phase must have one entry per load");
    for (int8_t f : phase)
        if (f < 0 || f > 2) throw std::invalid_argument("phase must be 0, 1 or 2");
}

// Phase totals (3 x T) of an assignment, with its score, and the score of moving load weights.
class PhaseTotals {
  public:
    PhaseTotals(const PhaseProblem &p, const std::vector<int8_t> &phase)
        : p_(p), T_(p.num_slots), total_(3 * static_cast<size_t>(p.num_slots), 0.0) {
        for (int32_t i = 0; i < p.num_loads; ++i) add(i, phase[i], 1.0);
    }

    void add(int32_t load, int phase, double sign) {
        const double *w = row(load);
        double *to = &total_[static_cast<size_t>(phase) * T_];
        for (int32_t t = 0; t < T_; ++t) to[t] += sign * w[t];
    }

    // Score after moving load i from phase a to b and, if j >= 0, load j from b to a (i < 0: as is).
    std::pair<double, double> score(int32_t i = -1, int a = 0, int b = 1, int32_t j = -1) const {
        const double *wi = i >= 0 ? row(i) : nullptr;
        const double *wj = j >= 0 ? row(j) : nullptr;
        const double *ta = &total_[static_cast<size_t>(a) * T_];
        const double *tb = &total_[static_cast<size_t>(b) * T_];
        const double *tc = &total_[static_cast<size_t>(3 - a - b) * T_];
        double worst = 0.0, sum_sq = 0.0;
        for (int32_t t = 0; t < T_; ++t) {
            const double shift = (wi ? wi[t] : 0.0) - (wj ? wj[t] : 0.0);
            const double x = ta[t] - shift, y = tb[t] + shift, z = tc[t];
            const double measure = p_.neutral ? std::sqrt(std::max(0.0, x * x + y * y + z * z - x * y - y * z - z * x))
                                              : std::max({x, y, z}) - std::min({x, y, z});
            worst = std::max(worst, measure);
            sum_sq += measure * measure;
        }
        return {worst, sum_sq};
    }

  private:
    const double *row(int32_t load) const { return &p_.profile[static_cast<size_t>(load) * T_]; }

    const PhaseProblem &p_;
    int32_t T_;
    std::vector<double> total_;
};

// (worst, sum_sq) compared with a relative tolerance, so rounding never counts as progress.
bool better(std::pair<double, double> a, std::pair<double, double> b) {
    const double tol = 1e-12 * std::max(1.0, b.first);
    if (a.first < b.first - tol) return true;
    if (a.first > b.first + tol) return false;
    return a.second < b.second - 1e-12 * std::max(1.0, b.second);
}

PhaseAssignment finish(const PhaseProblem &p, std::vector<int8_t> phase, int64_t evaluations) {
    PhaseAssignment out;
    const auto [worst, sum_sq] = PhaseTotals(p, phase).score();
    out.phase = std::move(phase);
    out.worst_kw = worst;
    out.sum_sq = sum_sq;
    out.evaluations = evaluations;
    return out;
}

using Clock = std::chrono::steady_clock;

// The search's limits: a deadline and a budget of evaluations (the deterministic one).
struct Budget {
    Clock::time_point deadline;
    int64_t max_iterations;  // < 0: none
    bool spent(int64_t evaluations) const {
        return (max_iterations >= 0 && evaluations >= max_iterations) || Clock::now() >= deadline;
    }
};

// First-improvement descent over moves and swaps, until a local optimum or the budget runs out
// (checked once per load, with `done` evaluations made before); returns the evaluations it made.
int64_t descend(const PhaseProblem &p, std::vector<int8_t> &phase, PhaseTotals &totals, std::mt19937_64 &rng,
                const Budget &budget, int64_t done) {
    const int32_t n = p.num_loads;
    std::vector<int32_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    auto current = totals.score();
    int64_t evaluations = 0;
    for (bool improved = true; improved;) {
        improved = false;
        std::shuffle(order.begin(), order.end(), rng);
        for (int32_t i : order) {
            if (budget.spent(done + evaluations)) return evaluations;
            const int a = phase[i];
            for (int b = 0; b < 3; ++b) {  // move i to b
                if (b == a) continue;
                ++evaluations;
                const auto s = totals.score(i, a, b);
                if (better(s, current)) {
                    totals.add(i, a, -1.0);
                    totals.add(i, b, 1.0);
                    phase[i] = static_cast<int8_t>(b);
                    current = s;
                    improved = true;
                    break;
                }
            }
            if (phase[i] != a) continue;
            for (int32_t j : order) {  // swap i with a load j on another phase
                const int b = phase[j];
                if (b == a) continue;
                ++evaluations;
                const auto s = totals.score(i, a, b, j);
                if (better(s, current)) {
                    totals.add(i, a, -1.0);
                    totals.add(i, b, 1.0);
                    totals.add(j, b, -1.0);
                    totals.add(j, a, 1.0);
                    phase[i] = static_cast<int8_t>(b);
                    phase[j] = static_cast<int8_t>(a);
                    current = s;
                    improved = true;
                    break;
                }
            }
        }
    }
    return evaluations;
}

}  // namespace

PhaseAssignment evaluate_phases(const PhaseProblem &problem, const std::vector<int8_t> &phase) {
    problem.check();
    check_assignment(problem, phase);
    return finish(problem, phase, 0);
}

PhaseAssignment greedy_phases(const PhaseProblem &problem) {
    problem.check();
    const int32_t n = problem.num_loads, T = problem.num_slots;
    std::vector<double> peak(n, 0.0);
    for (int32_t i = 0; i < n; ++i)
        for (int32_t t = 0; t < T; ++t) peak[i] = std::max(peak[i], problem.profile[static_cast<size_t>(i) * T + t]);
    std::vector<int32_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&peak](int32_t a, int32_t b) { return peak[a] > peak[b]; });
    // Place loads one by one; unplaced loads count on no phase (start them all on phase 0, removed).
    std::vector<int8_t> phase(n, 0);
    PhaseTotals totals(problem, phase);
    for (int32_t i = 0; i < n; ++i) totals.add(i, 0, -1.0);
    int64_t evaluations = 0;
    for (int32_t i : order) {
        totals.add(i, 0, 1.0);  // on phase 0, then try 1 and 2
        auto best = totals.score();
        int best_phase = 0;
        for (int b = 1; b < 3; ++b) {
            ++evaluations;
            const auto s = totals.score(i, 0, b);
            if (better(s, best)) {
                best = s;
                best_phase = b;
            }
        }
        if (best_phase != 0) {
            totals.add(i, 0, -1.0);
            totals.add(i, best_phase, 1.0);
        }
        phase[i] = static_cast<int8_t>(best_phase);
    }
    return finish(problem, std::move(phase), evaluations);
}

PhaseAssignment improve_phases(const PhaseProblem &problem, const std::vector<int8_t> &start, uint64_t seed,
                               int32_t max_kicks, double time_limit_s, int64_t max_iterations) {
    problem.check();
    check_assignment(problem, start);
    if (!(time_limit_s >= 0)) throw std::invalid_argument("time_limit_s must be >= 0");
    // inf (or anything beyond a century): no deadline
    const Budget budget{time_limit_s < 3.2e9 ? Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                                                 std::chrono::duration<double>(time_limit_s))
                                             : Clock::time_point::max(),
                        max_iterations};
    std::mt19937_64 rng(seed);
    std::vector<int8_t> phase = start;
    PhaseTotals totals(problem, phase);
    int64_t evaluations = descend(problem, phase, totals, rng, budget, 0);
    std::vector<int8_t> best = phase;
    auto best_score = totals.score();
    const int32_t n = problem.num_loads;
    const int32_t kick = std::max(2, n / 25);
    for (int32_t k = 0; k < max_kicks && n > 1 && !budget.spent(evaluations); ++k) {
        std::uniform_int_distribution<int32_t> load(0, n - 1);
        std::uniform_int_distribution<int> step(1, 2);
        for (int32_t m = 0; m < kick; ++m) {
            const int32_t i = load(rng);
            const int b = (phase[i] + step(rng)) % 3;
            totals.add(i, phase[i], -1.0);
            totals.add(i, b, 1.0);
            phase[i] = static_cast<int8_t>(b);
        }
        evaluations += descend(problem, phase, totals, rng, budget, evaluations);
        const auto s = totals.score();
        if (better(s, best_score)) {
            best = phase;
            best_score = s;
        } else {  // back to the best
            for (int32_t i = 0; i < n; ++i)
                if (phase[i] != best[i]) {
                    totals.add(i, phase[i], -1.0);
                    totals.add(i, best[i], 1.0);
                    phase[i] = best[i];
                }
        }
    }
    return finish(problem, std::move(best), evaluations);
}

}  // namespace smartopt::energy
