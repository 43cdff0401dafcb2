// Macroscopic traffic model for signalised networks: TRANSYT-style platoon dispersion on links,
// movement queues at the stop lines, storage-limited links (spillback), simulated step by step.
// Plain C++17: no Python here. Constructors validate their input (std::invalid_argument).
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

namespace smartopt::signals {

// The network as the model sees it. A vehicle entering link l reaches the stop line after a
// Robertson-dispersed free-flow time (lag beta * T, smoothing factor F = 1 / (1 + alpha beta T / dt));
// there it joins the queue of the movement it takes (or leaves the network with the rest of
// the link's flow). Queues discharge at saturation flow for the green share of each step, as far
// as the downstream link has room (a link holds at most storage_veh moving plus queued vehicles).
struct TrafficNetwork {
    double dt_s = 1.0;
    double dispersion_alpha = 0.35;
    double travel_beta = 0.8;
    std::vector<double> free_flow_s;  // per link
    std::vector<double> storage_veh;  // per link
    std::vector<int32_t> move_in, move_out;
    std::vector<int32_t> move_node;      // signal that controls the movement, -1 when uncontrolled
    std::vector<uint64_t> move_stages;   // bit s: the movement has green in stage s of its signal
    int32_t n_signals = 0;
    int32_t max_stages = 0;

    // Throws std::invalid_argument naming the first bad field.
    void check() const;
    int64_t num_links() const { return static_cast<int64_t>(free_flow_s.size()); }
    int64_t num_movements() const { return static_cast<int64_t>(move_in.size()); }
};

// Demand: vehicles per second entering each link from outside, the share of each link's arrivals
// that takes each movement (the rest leaves the network there) and each movement's saturation
// flow (veh/s of green).
struct TrafficDemand {
    std::vector<double> entry_vps;
    std::vector<double> move_share;
    std::vector<double> saturation_vps;

    void check(const TrafficNetwork &net) const;
};

// A fixed-time plan: per signal a cycle (s) and offset (s), and per (signal, stage) the window of
// the cycle (s from cycle start, end may pass the cycle length) in which the stage's movements
// discharge. Arrays are signal-major with max_stages columns; unused stages have start == end.
struct FixedPlan {
    const double *cycle_s;
    const double *offset_s;
    const double *window_start_s;
    const double *window_end_s;
};

// Throws std::invalid_argument unless every cycle is finite and > 0, every offset finite and every
// window finite with start <= end <= start + cycle.
void check_plan(const TrafficNetwork &net, const FixedPlan &plan);

// Totals over a run; per-link figures go to LinkStats when asked for.
struct Totals {
    double delay_veh_s = 0;      // queueing at stop lines plus waiting to enter at the origins
    double stops_veh = 0;        // arrivals that had to join a standing queue
    double entered_veh = 0;      // vehicles that entered the network
    double exited_veh = 0;       // vehicles that left it
    double origin_queue_veh = 0;  // still waiting to enter at the end
};

struct LinkStats {
    std::vector<double> delay_veh_s, stops_veh, queue_veh_s, max_queue_veh, entered_veh;
    explicit LinkStats(int64_t n_links);
};

// One run of the model, advanced a step at a time.
class Simulation {
  public:
    Simulation(const TrafficNetwork &net, const TrafficDemand &demand);

    // Advances one step of dt_s. green_share has n_signals * max_stages entries: the share of the
    // step (0..1) in which each stage of each signal is green.
    void step(const double *green_share, LinkStats *stats);
    // Green shares of a fixed-time plan for the step that starts now.
    void plan_green_share(const FixedPlan &plan, double *green_share) const;

    double time_s() const { return static_cast<double>(step_) * net_.dt_s; }
    const Totals &totals() const { return totals_; }
    // Vehicles queued at each link's stop line (sum over its movements).
    void link_queues(double *out) const;
    // Vehicles queued per movement.
    const std::vector<double> &movement_queues() const { return queue_; }

  private:
    const TrafficNetwork &net_;
    const TrafficDemand &demand_;
    int64_t step_ = 0;
    Totals totals_;
    std::vector<int64_t> ring_offset_;   // per link, into ring_; ring length lag + 1
    std::vector<int32_t> lag_;
    std::vector<double> smoothing_;      // F per link
    std::vector<double> ring_;           // entries of the last lag + 1 steps
    std::vector<double> arrival_prev_, transit_, origin_, entries_, space_, demand_in_, ratio_;
    std::vector<double> queue_, want_;
    std::vector<double> exit_share_;
};

// Most steps of one run (about 116 days at 1 s), so that the work of a call is bounded.
constexpr int64_t kMaxSteps = 10'000'000;
// Most entries of the platoon history of all links (free_flow_s / dt_s summed over links).
constexpr int64_t kMaxRing = 20'000'000;

using Clock = std::chrono::steady_clock;

// Simulates a fixed-time plan for n_steps steps and returns the totals (per-link statistics too
// when stats is not null).
Totals simulate_fixed(const TrafficNetwork &net, const TrafficDemand &demand, const FixedPlan &plan, int64_t n_steps,
                      LinkStats *stats);

// Scores n_plans fixed-time plans (arrays plan-major: cycle and offset n_plans x n_signals,
// windows n_plans x n_signals x max_stages) on n_threads threads: objective[p] = delay (veh s) +
// stop_penalty_s * stops. The result does not depend on n_threads. With a deadline, runs still
// going (or not started) when it passes are abandoned and their objective is NaN.
void score_plans(const TrafficNetwork &net, const TrafficDemand &demand, int64_t n_plans, const double *cycle_s,
                 const double *offset_s, const double *window_start_s, const double *window_end_s, int64_t n_steps,
                 double stop_penalty_s, double *objective, int n_threads, const Clock::time_point *deadline = nullptr);

}  // namespace smartopt::signals
