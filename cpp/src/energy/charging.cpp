#include "smartopt/energy/charging.hpp"

#include <algorithm>
#include <climits>
#include <cmath>

#include <limits>
#include <numeric>
#include <utility>
#include <stdexcept>
#include <string>

namespace smartopt::energy {

void ChargingProblem::check() const {
    const size_t n = energy.size();
    if (num_slots < 0) throw std::invalid_argument("num_slots must be non-negative");
    if (arrival.size() != n || departure.size() != n || max_power.size() != n)
        throw std::invalid_argument("arrival, departure, energy and max_power must have one entry per EV");
    if (base.size() != static_cast<size_t>(num_slots))
        throw std::invalid_argument("base must have one entry per slot");
    for (double b : base)
        if (!std::isfinite(b)) throw std::invalid_argument("base must be finite");
    for (size_t i = 0; i < n; ++i) {
        const std::string ev = "EV " + std::to_string(i);
        if (arrival[i] < 0 || departure[i] > num_slots || departure[i] < arrival[i])
            throw std::invalid_argument(ev + ": window outside the horizon");
        if (!(energy[i] >= 0) || !std::isfinite(energy[i])) throw std::invalid_argument(ev + ": bad energy");
        if (!(max_power[i] >= 0) || !std::isfinite(max_power[i]))
            throw std::invalid_argument(ev + ": bad max_power");
    }
}

namespace {

// The flow network of a charging problem, with the EVs and slots split into groups: a group's
// max flow only moves flow on edges inside the group; edges between groups keep their flow.
// Edge k = first[i] + (t - arrival[i]) joins EV i to slot t of its window.
class ChargingFlow {
  public:
    explicit ChargingFlow(const ChargingProblem &problem)
        : p_(problem), n_(static_cast<int32_t>(problem.energy.size())), T_(problem.num_slots) {
        first_.assign(n_ + 1, 0);
        for (int32_t i = 0; i < n_; ++i) first_[i + 1] = first_[i] + (p_.departure[i] - p_.arrival[i]);
        const int64_t m = first_[n_];
        x_.assign(m, 0.0);
        edge_ev_.resize(m);
        slot_first_.assign(T_ + 1, 0);
        for (int32_t i = 0; i < n_; ++i)
            for (int32_t t = p_.arrival[i]; t < p_.departure[i]; ++t) ++slot_first_[t + 1];
        for (int32_t t = 0; t < T_; ++t) slot_first_[t + 1] += slot_first_[t];
        slot_edges_.resize(m);
        std::vector<int64_t> fill(slot_first_.begin(), slot_first_.end() - 1);
        for (int32_t i = 0; i < n_; ++i)
            for (int32_t t = p_.arrival[i]; t < p_.departure[i]; ++t) {
                const int64_t k = first_[i] + (t - p_.arrival[i]);
                edge_ev_[k] = i;
                slot_edges_[fill[t]++] = k;
            }
        excess_ = p_.energy;
        cap_.assign(T_, 0.0);
        load_.assign(T_, 0.0);
        ev_group_.assign(n_, -1);
        slot_group_.assign(T_, -1);
        ev_level_.assign(n_, -1);
        slot_level_.assign(T_, -1);
        ev_arc_.assign(n_, 0);
        slot_arc_.assign(T_, 0);
        double scale = 1.0;
        for (double e : p_.energy) scale = std::max(scale, e);
        for (double w : p_.max_power) scale = std::max(scale, w);
        for (double b : p_.base) scale = std::max(scale, std::abs(b));
        eps_ = 1e-12 * scale;
        served_tol_ = 1e-9 * scale;
    }

    // Puts the EVs with energy to deliver, and the slots in their windows, in group 0.
    void start_group(std::vector<int32_t> &evs, std::vector<int32_t> &slots) {
        evs.clear();
        slots.clear();
        for (int32_t i = 0; i < n_; ++i)
            if (p_.energy[i] > 0) {
                evs.push_back(i);
                ev_group_[i] = 0;
                for (int32_t t = p_.arrival[i]; t < p_.departure[i]; ++t) slot_group_[t] = 0;
            }
        for (int32_t t = 0; t < T_; ++t)
            if (slot_group_[t] == 0) slots.push_back(t);
    }

    // Flow into slot t from EVs of t's own group (`inside`) and from EVs of other groups (`outside`).
    void slot_flows(int32_t t, double &inside, double &outside) const {
        inside = outside = 0.0;
        for (int64_t e = slot_first_[t]; e < slot_first_[t + 1]; ++e) {
            const int64_t k = slot_edges_[e];
            (ev_group_[edge_ev_[k]] == slot_group_[t] ? inside : outside) += x_[k];
        }
    }

    // Sets slot t's capacity for in-group flow; flow above it goes back to the EVs as excess.
    void set_capacity(int32_t t, double cap) {
        cap_[t] = cap;
        double over = load_[t] - cap;
        for (int64_t e = slot_first_[t]; e < slot_first_[t + 1] && over > 0; ++e) {
            const int64_t k = slot_edges_[e];
            const int32_t i = edge_ev_[k];
            if (ev_group_[i] != slot_group_[t] || x_[k] <= 0) continue;
            const double back = std::min(x_[k], over);
            x_[k] -= back;
            excess_[i] += back;
            over -= back;
        }
        load_[t] = std::min(load_[t], cap);
    }

    void set_load(int32_t t, double load) { load_[t] = load; }
    double excess(int32_t i) const { return excess_[i]; }

    // Pushes a maximum flow inside group g (Dinic); true if every EV of the group is then served.
    bool augment(int32_t g, const std::vector<int32_t> &evs, const std::vector<int32_t> &slots) {
        ++max_flows_;
        fill_greedily(g, evs);
        while (levels(g, evs, slots)) {
            for (int32_t i : evs) ev_arc_[i] = 0;
            for (int32_t t : slots) slot_arc_[t] = 0;
            for (int32_t i : evs)
                while (ev_level_[i] == 0 && excess_[i] > eps_) {
                    const double got = push_from_ev(i, excess_[i]);
                    if (got <= 0) break;
                    excess_[i] -= got;
                }
        }
        for (int32_t i : evs)
            if (excess_[i] > served_tol_) return false;
        return true;
    }

    // Moves the nodes that the last (unsuccessful) search reached into group h: EVs that cannot be
    // served at the group's level and the slots they can still reach.
    void split_reached(int32_t h, std::vector<int32_t> &evs, std::vector<int32_t> &slots,
                       std::vector<int32_t> &reached_evs, std::vector<int32_t> &reached_slots) {
        auto move = [h](std::vector<int32_t> &from, std::vector<int32_t> &to, const std::vector<int32_t> &level,
                        std::vector<int32_t> &group) {
            size_t keep = 0;
            for (int32_t v : from)
                if (level[v] >= 0) {
                    to.push_back(v);
                    group[v] = h;
                } else {
                    from[keep++] = v;
                }
            from.resize(keep);
        };
        move(evs, reached_evs, ev_level_, ev_group_);
        move(slots, reached_slots, slot_level_, slot_group_);
    }

    std::vector<uint8_t> reached_evs() const {
        std::vector<uint8_t> out(n_);
        for (int32_t i = 0; i < n_; ++i) out[i] = ev_group_[i] >= 0 && ev_level_[i] >= 0;
        return out;
    }

    bool reached_all_slots(const std::vector<int32_t> &slots) const {
        return std::all_of(slots.begin(), slots.end(), [this](int32_t t) { return slot_level_[t] >= 0; });
    }
    bool reached_no_slot(const std::vector<int32_t> &slots) const {
        return std::none_of(slots.begin(), slots.end(), [this](int32_t t) { return slot_level_[t] >= 0; });
    }

    ChargingSchedule schedule() const {
        ChargingSchedule out;
        out.power.assign(static_cast<size_t>(n_) * T_, 0.0);
        out.served.resize(n_);
        for (int32_t i = 0; i < n_; ++i) {
            for (int32_t t = p_.arrival[i]; t < p_.departure[i]; ++t)
                out.power[static_cast<size_t>(i) * T_ + t] = x_[first_[i] + (t - p_.arrival[i])];
            out.served[i] = std::max(0.0, p_.energy[i] - excess_[i]);
        }
        out.max_flows = max_flows_;
        return out;
    }

  private:
    // Direct paths EV -> slot -> sink, the EVs with the shortest windows first: most of a max flow,
    // found in one pass over the edges before the augmenting-path search.
    void fill_greedily(int32_t g, const std::vector<int32_t> &evs) {
        order_.assign(evs.begin(), evs.end());
        std::sort(order_.begin(), order_.end(), [this](int32_t a, int32_t b) {
            return p_.departure[a] - p_.arrival[a] < p_.departure[b] - p_.arrival[b];
        });
        for (int32_t i : order_) {
            double &need = excess_[i];
            for (int32_t t = p_.arrival[i]; t < p_.departure[i] && need > eps_; ++t) {
                if (slot_group_[t] != g) continue;
                double &flow = x_[first_[i] + (t - p_.arrival[i])];
                const double got = std::min({need, p_.max_power[i] - flow, cap_[t] - load_[t]});
                if (got <= 0) continue;
                flow += got;
                load_[t] += got;
                need -= got;
            }
        }
    }

    // Breadth-first levels from the EVs with excess over residual edges inside group g; true if a
    // slot with spare capacity (the sink) is reachable.
    bool levels(int32_t g, const std::vector<int32_t> &evs, const std::vector<int32_t> &slots) {
        for (int32_t i : evs) ev_level_[i] = -1;
        for (int32_t t : slots) slot_level_[t] = -1;
        queue_.clear();
        for (int32_t i : evs)
            if (excess_[i] > eps_) {
                ev_level_[i] = 0;
                queue_.push_back(i);
            }
        sink_level_ = INT_MAX;
        for (size_t head = 0; head < queue_.size(); ++head) {
            const int32_t v = queue_[head];
            if (v < n_) {  // an EV: forward edges with spare power
                const int32_t d = ev_level_[v];
                if (d + 2 >= sink_level_) continue;
                const double pmax = p_.max_power[v] - eps_;
                for (int32_t t = p_.arrival[v]; t < p_.departure[v]; ++t) {
                    if (slot_group_[t] != g || slot_level_[t] >= 0) continue;
                    if (x_[first_[v] + (t - p_.arrival[v])] >= pmax) continue;
                    slot_level_[t] = d + 1;
                    if (load_[t] < cap_[t] - eps_) sink_level_ = std::min(sink_level_, d + 2);
                    queue_.push_back(n_ + t);
                }
            } else {  // a slot: backward edges carrying flow
                const int32_t t = v - n_, d = slot_level_[t];
                if (d + 2 >= sink_level_) continue;
                for (int64_t e = slot_first_[t]; e < slot_first_[t + 1]; ++e) {
                    const int64_t k = slot_edges_[e];
                    const int32_t j = edge_ev_[k];
                    if (ev_group_[j] != g || ev_level_[j] >= 0 || x_[k] <= eps_) continue;
                    ev_level_[j] = d + 1;
                    queue_.push_back(j);
                }
            }
        }
        return sink_level_ != INT_MAX;
    }

    double push_from_ev(int32_t i, double limit) {
        const int32_t a = p_.arrival[i], len = p_.departure[i] - a, next = ev_level_[i] + 1;
        for (; ev_arc_[i] < len; ++ev_arc_[i]) {
            const int32_t t = a + ev_arc_[i];
            if (slot_level_[t] != next || slot_group_[t] != ev_group_[i]) continue;
            double &flow = x_[first_[i] + ev_arc_[i]];
            const double room = p_.max_power[i] - flow;
            if (room <= eps_) continue;
            const double got = push_from_slot(t, std::min(limit, room));
            if (got > 0) {
                flow += got;
                return got;
            }
        }
        return 0.0;
    }

    double push_from_slot(int32_t t, double limit) {
        const int32_t d = slot_level_[t];
        if (d + 1 == sink_level_) {
            const double room = cap_[t] - load_[t];
            if (room <= eps_) return 0.0;
            const double got = std::min(limit, room);
            load_[t] += got;
            return got;
        }
        const int64_t deg = slot_first_[t + 1] - slot_first_[t];
        for (; slot_arc_[t] < deg; ++slot_arc_[t]) {
            const int64_t k = slot_edges_[slot_first_[t] + slot_arc_[t]];
            const int32_t j = edge_ev_[k];
            if (ev_level_[j] != d + 1 || ev_group_[j] != slot_group_[t] || x_[k] <= eps_) continue;
            const double got = push_from_ev(j, std::min(limit, x_[k]));
            if (got > 0) {
                x_[k] -= got;
                return got;
            }
        }
        return 0.0;
    }

    const ChargingProblem &p_;
    int32_t n_, T_;
    std::vector<int64_t> first_, slot_first_, slot_edges_;
    std::vector<int32_t> edge_ev_;
    std::vector<double> x_, excess_, cap_, load_;
    std::vector<int32_t> ev_group_, slot_group_, ev_level_, slot_level_;
    std::vector<int64_t> ev_arc_, slot_arc_;
    std::vector<int32_t> queue_, order_;
    int32_t sink_level_ = INT_MAX;
    int32_t max_flows_ = 0;
    double eps_ = 0.0, served_tol_ = 0.0;
};

// The relaxed schedule of a group: `energy` spread over its slots ignoring windows and EV powers,
// each slot k taking at most room[k] on top of base[k]. Slots of a lower class fill first; within
// the class that runs out of energy, the slots fill to a common water level. Returns the per-slot
// amounts in `fill`.
void relaxed_fill(const std::vector<double> &base, const std::vector<double> &room,
                  const std::vector<int32_t> &cls, double energy, std::vector<double> &fill) {
    const size_t n = base.size();
    fill.assign(n, 0.0);
    std::vector<size_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&cls](size_t a, size_t b) { return cls[a] < cls[b]; });
    std::vector<std::pair<double, int>> events;  // (water level, +1 slot starts / -1 slot is full)
    for (size_t s = 0; s < n && energy > 0;) {
        size_t e = s;
        double room_sum = 0.0;
        for (; e < n && cls[order[e]] == cls[order[s]]; ++e) room_sum += room[order[e]];
        if (room_sum <= energy) {  // the whole class fills up
            for (size_t k = s; k < e; ++k) fill[order[k]] = room[order[k]];
            energy -= room_sum;
            s = e;
            continue;
        }
        events.clear();
        for (size_t k = s; k < e; ++k) {
            const size_t j = order[k];
            events.emplace_back(base[j], 1);
            if (std::isfinite(room[j])) events.emplace_back(base[j] + room[j], -1);
        }
        std::sort(events.begin(), events.end());
        double filled = 0.0, level = events[0].first;
        int active = 0;
        for (const auto &[next, delta] : events) {
            const double gain = active * (next - level);
            if (active > 0 && filled + gain >= energy) break;
            filled += gain;
            level = next;
            active += delta;
        }
        level += (energy - filled) / active;
        for (size_t k = s; k < e; ++k) {
            const size_t j = order[k];
            fill[j] = std::clamp(level - base[j], 0.0, room[j]);
        }
        return;
    }
}

void check_fits(const ChargingProblem &p) {
    for (size_t i = 0; i < p.energy.size(); ++i) {
        const double most = p.max_power[i] * (p.departure[i] - p.arrival[i]);
        if (p.energy[i] > most * (1 + 1e-12))
            throw std::invalid_argument("EV " + std::to_string(i) + " asks for more energy than its window allows");
    }
}

// Slot capacities for the flow: +inf becomes the total energy, which no slot can exceed.
std::vector<double> finite_capacity(const ChargingProblem &p, const std::vector<double> &slot_capacity) {
    if (slot_capacity.size() != static_cast<size_t>(p.num_slots))
        throw std::invalid_argument("slot_capacity must have one entry per slot");
    const double total = std::accumulate(p.energy.begin(), p.energy.end(), 0.0) + 1.0;
    std::vector<double> cap(slot_capacity.size());
    for (size_t t = 0; t < cap.size(); ++t) {
        if (std::isnan(slot_capacity[t])) throw std::invalid_argument("slot_capacity must not be NaN");
        cap[t] = std::clamp(slot_capacity[t], 0.0, total);
    }
    return cap;
}

}  // namespace

ChargingSchedule valley_fill(const ChargingProblem &problem, const std::vector<int32_t> &slot_class,
                             const std::vector<double> &slot_capacity) {
    problem.check();
    check_fits(problem);
    const size_t num_slots = static_cast<size_t>(problem.num_slots);
    const std::vector<int32_t> cls = slot_class.empty() ? std::vector<int32_t>(num_slots, 0) : slot_class;
    if (cls.size() != num_slots) throw std::invalid_argument("slot_class must have one entry per slot");
    const std::vector<double> cap = finite_capacity(
        problem, slot_capacity.empty() ? std::vector<double>(num_slots, INFINITY) : slot_capacity);
    ChargingFlow flow(problem);
    std::vector<std::vector<int32_t>> group_evs(1), group_slots(1);
    flow.start_group(group_evs[0], group_slots[0]);
    std::vector<int32_t> todo{0}, group_cls;
    std::vector<double> group_base, group_room, fill;
    while (!todo.empty()) {
        const int32_t g = todo.back();
        todo.pop_back();
        auto &evs = group_evs[g];
        auto &slots = group_slots[g];
        if (evs.empty() || slots.empty()) continue;
        // The group's energy (what its EVs still need plus what they already put in its slots) and
        // its slots' base and room (net of flow fixed from other groups' EVs) give its relaxed fill.
        double energy = 0.0;
        for (int32_t i : evs) energy += flow.excess(i);
        group_base.clear();
        group_room.clear();
        group_cls.clear();
        for (int32_t t : slots) {
            double inside = 0.0, outside = 0.0;
            flow.slot_flows(t, inside, outside);
            flow.set_load(t, inside);
            energy += inside;
            group_base.push_back(problem.base[t] + outside);
            group_room.push_back(std::max(0.0, cap[t] - outside));
            group_cls.push_back(cls[t]);
        }
        relaxed_fill(group_base, group_room, group_cls, energy, fill);
        for (size_t s = 0; s < slots.size(); ++s) flow.set_capacity(slots[s], fill[s]);
        if (flow.augment(g, evs, slots)) continue;
        // The EVs left with energy cannot be served at this fill: they and the slots they reach form
        // a group above it; the rest stay below. Rounding can leave nothing to split: stop there.
        if (flow.reached_all_slots(slots) || flow.reached_no_slot(slots)) continue;
        const auto h = static_cast<int32_t>(group_evs.size());
        group_evs.emplace_back();
        group_slots.emplace_back();
        flow.split_reached(h, group_evs[g], group_slots[g], group_evs[h], group_slots[h]);
        todo.push_back(g);
        todo.push_back(h);
    }
    return flow.schedule();
}

ChargingSchedule max_served(const ChargingProblem &problem, const std::vector<double> &slot_capacity) {
    problem.check();
    const std::vector<double> cap = finite_capacity(
        problem, slot_capacity.empty() ? std::vector<double>(problem.base.size(), INFINITY) : slot_capacity);
    ChargingFlow flow(problem);
    std::vector<int32_t> evs, slots;
    flow.start_group(evs, slots);
    for (int32_t t : slots) flow.set_capacity(t, cap[t]);
    ChargingSchedule out;
    if (!flow.augment(0, evs, slots)) {  // the last search stopped at the bottleneck
        out = flow.schedule();
        out.bottleneck = flow.reached_evs();
        return out;
    }
    out = flow.schedule();
    out.bottleneck.assign(problem.energy.size(), 0);
    return out;
}

}  // namespace smartopt::energy
