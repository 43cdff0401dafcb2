#include "smartopt/signals/traffic_model.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "smartopt/parallel.hpp"

namespace smartopt::signals {

namespace {

void fail(const std::string &field, int64_t i, const std::string &what) {
    throw std::invalid_argument(field + "[" + std::to_string(i) + "] " + what);
}

void check_size(const char *field, size_t got, int64_t want) {
    if (static_cast<int64_t>(got) != want)
        throw std::invalid_argument(std::string(field) + " has " + std::to_string(got) + " entries, expected " +
                                    std::to_string(want));
}

template <class T>
void check_nonnegative(const char *field, const std::vector<T> &v) {
    for (size_t i = 0; i < v.size(); ++i)
        if (!(std::isfinite(static_cast<double>(v[i])) && v[i] >= 0))
            fail(field, static_cast<int64_t>(i), "must be finite and >= 0");
}

// Length of the overlap of [a, b) with the periodic window [start, end) + k * cycle.
double periodic_overlap(double a, double b, double start, double end, double cycle) {
    if (!(end > start)) return 0.0;
    const double shift = std::floor((a - start) / cycle) * cycle;
    double total = 0.0;
    for (int k = 0; k <= 1; ++k) {
        const double s = start + shift + k * cycle, e = end + shift + k * cycle;
        total += std::max(0.0, std::min(b, e) - std::max(a, s));
    }
    return total;
}

}  // namespace

void TrafficNetwork::check() const {
    if (!(dt_s > 0 && std::isfinite(dt_s))) throw std::invalid_argument("dt_s must be > 0");
    if (!(dispersion_alpha >= 0 && std::isfinite(dispersion_alpha)))
        throw std::invalid_argument("dispersion_alpha must be >= 0");
    if (!(travel_beta > 0 && travel_beta <= 1)) throw std::invalid_argument("travel_beta must be in (0, 1]");
    if (n_signals < 0 || max_stages < 0 || max_stages > 64)
        throw std::invalid_argument("n_signals must be >= 0 and max_stages in [0, 64]");
    check_size("storage_veh", storage_veh.size(), num_links());
    check_nonnegative("free_flow_s", free_flow_s);
    check_nonnegative("storage_veh", storage_veh);
    for (int64_t l = 0; l < num_links(); ++l)
        if (free_flow_s[l] > 86400.0) fail("free_flow_s", l, "exceeds one day");
    check_size("move_out", move_out.size(), num_movements());
    check_size("move_node", move_node.size(), num_movements());
    check_size("move_stages", move_stages.size(), num_movements());
    for (int64_t m = 0; m < num_movements(); ++m) {
        if (move_in[m] < 0 || move_in[m] >= num_links()) fail("move_in", m, "is not a link index");
        if (move_out[m] < 0 || move_out[m] >= num_links()) fail("move_out", m, "is not a link index");
        if (move_node[m] < -1 || move_node[m] >= n_signals) fail("move_node", m, "is not a signal index or -1");
        if (move_node[m] >= 0 && max_stages < 64 && (move_stages[m] >> max_stages) != 0)
            fail("move_stages", m, "names a stage past max_stages");
    }
}

void TrafficDemand::check(const TrafficNetwork &net) const {
    check_size("entry_vps", entry_vps.size(), net.num_links());
    check_size("move_share", move_share.size(), net.num_movements());
    check_size("saturation_vps", saturation_vps.size(), net.num_movements());
    check_nonnegative("entry_vps", entry_vps);
    check_nonnegative("move_share", move_share);
    check_nonnegative("saturation_vps", saturation_vps);
    std::vector<double> total(static_cast<size_t>(net.num_links()), 0.0);
    for (int64_t m = 0; m < net.num_movements(); ++m) total[net.move_in[m]] += move_share[m];
    for (int64_t l = 0; l < net.num_links(); ++l)
        if (total[l] > 1.0 + 1e-9) fail("move_share of link", l, "sums to more than 1");
}

LinkStats::LinkStats(int64_t n_links)
    : delay_veh_s(n_links, 0.0),
      stops_veh(n_links, 0.0),
      queue_veh_s(n_links, 0.0),
      max_queue_veh(n_links, 0.0),
      entered_veh(n_links, 0.0) {}

Simulation::Simulation(const TrafficNetwork &net, const TrafficDemand &demand) : net_(net), demand_(demand) {
    net.check();
    demand.check(net);
    const int64_t n = net.num_links();
    ring_offset_.resize(n + 1);
    lag_.resize(n);
    smoothing_.resize(n);
    int64_t total = 0;
    for (int64_t l = 0; l < n; ++l) {
        const double steps = std::min(net.free_flow_s[l] / net.dt_s, static_cast<double>(kMaxRing));
        lag_[l] = std::max(1, static_cast<int32_t>(std::lround(net.travel_beta * steps)));
        smoothing_[l] = 1.0 / (1.0 + net.dispersion_alpha * net.travel_beta * steps);
        ring_offset_[l] = total;
        total += lag_[l] + 1;
    }
    ring_offset_[n] = total;
    if (total > kMaxRing)
        throw std::invalid_argument("free_flow_s / dt_s needs " + std::to_string(total) +
                                    " steps of platoon history; the limit is " + std::to_string(kMaxRing));
    ring_.assign(total, 0.0);
    for (auto *v : {&arrival_prev_, &transit_, &origin_, &entries_, &space_, &demand_in_, &ratio_})
        v->assign(n, 0.0);
    queue_.assign(net.num_movements(), 0.0);
    want_.assign(net.num_movements(), 0.0);
    exit_share_.assign(n, 1.0);
    for (int64_t m = 0; m < net.num_movements(); ++m) exit_share_[net.move_in[m]] -= demand.move_share[m];
    for (auto &e : exit_share_) e = std::max(0.0, e);
}

void check_plan(const TrafficNetwork &net, const FixedPlan &plan) {
    const int32_t S = net.max_stages;
    for (int32_t i = 0; i < net.n_signals; ++i) {
        const double cycle = plan.cycle_s[i];
        if (!(cycle > 0 && std::isfinite(cycle))) fail("cycle_s", i, "must be finite and > 0");
        if (!std::isfinite(plan.offset_s[i])) fail("offset_s", i, "must be finite");
        for (int32_t s = 0; s < S; ++s) {
            const int64_t k = static_cast<int64_t>(i) * S + s;
            const double a = plan.window_start_s[k], b = plan.window_end_s[k];
            if (!(std::isfinite(a) && std::isfinite(b) && a <= b && b - a <= cycle + 1e-9))
                fail("green window of signal", i, "must be finite, start <= end, and no longer than the cycle");
        }
    }
}

void Simulation::plan_green_share(const FixedPlan &plan, double *green_share) const {
    const double a = time_s(), b = a + net_.dt_s;
    const int32_t S = net_.max_stages;
    for (int32_t i = 0; i < net_.n_signals; ++i) {
        const double cycle = plan.cycle_s[i], offset = plan.offset_s[i];
        for (int32_t s = 0; s < S; ++s) {
            const int64_t k = static_cast<int64_t>(i) * S + s;
            const double overlap =
                periodic_overlap(a - offset, b - offset, plan.window_start_s[k], plan.window_end_s[k], cycle);
            green_share[k] = std::min(1.0, overlap / net_.dt_s);
        }
    }
}

void Simulation::step(const double *green_share, LinkStats *stats) {
    const int64_t n = net_.num_links(), n_moves = net_.num_movements();
    const double dt = net_.dt_s;
    const int32_t S = net_.max_stages;
    // 1. Platoons reach the stop lines and split over the movements.
    for (int64_t l = 0; l < n; ++l) {
        const int64_t slot = ring_offset_[l] + (step_ + 1) % (lag_[l] + 1);
        double arrive = smoothing_[l] * ring_[slot] + (1.0 - smoothing_[l]) * arrival_prev_[l];
        arrive = std::min(arrive, transit_[l]);
        arrival_prev_[l] = arrive;
        transit_[l] -= arrive;
        entries_[l] = arrive;  // reused below as this step's arrivals, then as entries
        totals_.exited_veh += arrive * exit_share_[l];
    }
    for (int64_t l = 0; l < n; ++l) space_[l] = net_.storage_veh[l] - transit_[l];
    // 2. Queues take the arrivals; each movement wants to discharge what its green share allows.
    std::fill(demand_in_.begin(), demand_in_.end(), 0.0);
    for (int64_t m = 0; m < n_moves; ++m) {
        const int32_t in = net_.move_in[m];
        const double arrived = entries_[in] * demand_.move_share[m];
        double green = 1.0;
        if (net_.move_node[m] >= 0) {
            green = 0.0;
            const double *share = green_share + static_cast<int64_t>(net_.move_node[m]) * S;
            for (int32_t s = 0; s < S; ++s)
                if ((net_.move_stages[m] >> s) & 1u) green += share[s];
            green = std::min(1.0, std::max(0.0, green));
        }
        const double before = queue_[m];
        queue_[m] += arrived;
        want_[m] = std::min(queue_[m], demand_.saturation_vps[m] * dt * green);
        // FIFO: arrivals stop unless the queue ahead of them and they all discharge in this step.
        const double stopped = std::max(0.0, arrived - std::max(0.0, want_[m] - before));
        totals_.stops_veh += stopped;
        if (stats) stats->stops_veh[in] += stopped;
        space_[in] -= queue_[m];
        demand_in_[net_.move_out[m]] += want_[m];
    }
    // 3. Downstream room limits what discharges (shared in proportion to what each movement wants).
    for (int64_t l = 0; l < n; ++l) {
        const double room = std::max(0.0, space_[l]);
        ratio_[l] = demand_in_[l] > room ? room / demand_in_[l] : 1.0;
        entries_[l] = 0.0;
    }
    for (int64_t m = 0; m < n_moves; ++m) {
        const double out = want_[m] * ratio_[net_.move_out[m]];
        queue_[m] -= out;
        if (queue_[m] < 1e-12) queue_[m] = 0.0;
        entries_[net_.move_out[m]] += out;
        if (stats) {
            const int32_t in = net_.move_in[m];
            stats->queue_veh_s[in] += queue_[m] * dt;
            stats->delay_veh_s[in] += queue_[m] * dt;
        }
        totals_.delay_veh_s += queue_[m] * dt;
    }
    // 4. Vehicles from outside enter where there is room left; the rest wait at the origin.
    for (int64_t l = 0; l < n; ++l) {
        if (demand_.entry_vps[l] > 0 || origin_[l] > 0) {
            origin_[l] += demand_.entry_vps[l] * dt;
            const double room = std::max(0.0, space_[l] - entries_[l]);
            const double enter = std::min(origin_[l], room);
            origin_[l] -= enter;
            if (origin_[l] < 1e-12) origin_[l] = 0.0;
            entries_[l] += enter;
            totals_.entered_veh += enter;
            totals_.delay_veh_s += origin_[l] * dt;
            if (stats) stats->delay_veh_s[l] += origin_[l] * dt;
        }
        const int64_t slot = ring_offset_[l] + step_ % (lag_[l] + 1);
        ring_[slot] = entries_[l];
        transit_[l] += entries_[l];
        if (stats) stats->entered_veh[l] += entries_[l];
    }
    if (stats) {
        link_queues(demand_in_.data());  // scratch
        for (int64_t l = 0; l < n; ++l) stats->max_queue_veh[l] = std::max(stats->max_queue_veh[l], demand_in_[l]);
    }
    totals_.origin_queue_veh = 0.0;
    for (int64_t l = 0; l < n; ++l) totals_.origin_queue_veh += origin_[l];
    ++step_;
}

void Simulation::link_queues(double *out) const {
    std::fill(out, out + net_.num_links(), 0.0);
    for (int64_t m = 0; m < net_.num_movements(); ++m) out[net_.move_in[m]] += queue_[m];
}

namespace {

void check_steps(int64_t n_steps) {
    if (n_steps < 0 || n_steps > kMaxSteps)
        throw std::invalid_argument("n_steps=" + std::to_string(n_steps) + " must be in [0, " +
                                    std::to_string(kMaxSteps) + "]");
}

// Runs the plan; false when the deadline (if any) passed first.
bool run_fixed(const TrafficNetwork &net, const TrafficDemand &demand, const FixedPlan &plan, int64_t n_steps,
               LinkStats *stats, const Clock::time_point *deadline, Totals &out) {
    Simulation sim(net, demand);
    std::vector<double> share(static_cast<size_t>(net.n_signals) * net.max_stages, 0.0);
    for (int64_t t = 0; t < n_steps; ++t) {
        if (deadline && (t & 31) == 0 && Clock::now() >= *deadline) return false;
        sim.plan_green_share(plan, share.data());
        sim.step(share.data(), stats);
    }
    out = sim.totals();
    return true;
}

}  // namespace

Totals simulate_fixed(const TrafficNetwork &net, const TrafficDemand &demand, const FixedPlan &plan, int64_t n_steps,
                      LinkStats *stats) {
    check_steps(n_steps);
    check_plan(net, plan);
    Totals out;
    run_fixed(net, demand, plan, n_steps, stats, nullptr, out);
    return out;
}

void score_plans(const TrafficNetwork &net, const TrafficDemand &demand, int64_t n_plans, const double *cycle_s,
                 const double *offset_s, const double *window_start_s, const double *window_end_s, int64_t n_steps,
                 double stop_penalty_s, double *objective, int n_threads, const Clock::time_point *deadline) {
    check_steps(n_steps);
    if (n_plans < 0) throw std::invalid_argument("n_plans must be >= 0");
    const int64_t n_sig = net.n_signals, width = n_sig * net.max_stages;
    std::vector<FixedPlan> plans;
    for (int64_t p = 0; p < n_plans; ++p) {
        plans.push_back({cycle_s + p * n_sig, offset_s + p * n_sig, window_start_s + p * width,
                         window_end_s + p * width});
        check_plan(net, plans.back());
    }
    parallel_rows(n_plans, n_threads, [&](int64_t p, int) {
        const FixedPlan &plan = plans[static_cast<size_t>(p)];
        Totals t;
        objective[p] = run_fixed(net, demand, plan, n_steps, nullptr, deadline, t)
                           ? t.delay_veh_s + stop_penalty_s * t.stops_veh
                           : std::numeric_limits<double>::quiet_NaN();
    });
}

}  // namespace smartopt::signals
