#include "smartopt/network/ch.hpp"

#include "smartopt/parallel.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <queue>
#include <stdexcept>
#include <string>
#include <utility>

namespace smartopt::network {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
// Nodes a witness search settles at most: when contracting, and when estimating a node's
// priority. A search cut short only adds a shortcut that was not needed, never loses a path.
constexpr int kWitnessLimit = 100;
constexpr int kEstimateLimit = 20;
// Many-to-many switches from buckets to one PHAST sweep per source from this many targets per node
// (measured on a 4,096-node grid: buckets are faster up to about a third of the nodes).
constexpr double kSweepTargetShare = 1.0 / 3.0;

using Entry = std::pair<double, int32_t>;  // (time, node) in a min-heap
using MinHeap = std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>>;

void check_link_values(const Graph &g, const std::vector<double> &v, const char *name) {
    if (static_cast<int64_t>(v.size()) != g.num_links())
        throw std::invalid_argument(std::string(name) + " must have one value per link (" +
                                    std::to_string(g.num_links()) + "), got " + std::to_string(v.size()));
    for (size_t l = 0; l < v.size(); ++l)
        if (!(v[l] >= 0.0) || std::isinf(v[l]))
            throw std::invalid_argument(std::string(name) + "[" + std::to_string(l) + "] must be finite and >= 0");
}

void check_nodes(int32_t n, const std::vector<int32_t> &nodes, const char *what) {
    for (size_t i = 0; i < nodes.size(); ++i)
        if (nodes[i] < 0 || nodes[i] >= n)
            throw std::invalid_argument(std::string(what) + "[" + std::to_string(i) + "]=" + std::to_string(nodes[i]) +
                                    " is not a node index in [0, " + std::to_string(n) + ")");
}

// An arc of the graph being contracted.
struct DynArc {
    int32_t other;
    int32_t id;
    double time;
    double length;
};
using Adjacency = std::vector<std::vector<DynArc>>;

DynArc *find_arc(std::vector<DynArc> &arcs, int32_t other) {
    for (auto &a : arcs)
        if (a.other == other) return &a;
    return nullptr;
}

void erase_arcs(std::vector<DynArc> &arcs, int32_t other) {
    arcs.erase(std::remove_if(arcs.begin(), arcs.end(), [other](const DynArc &a) { return a.other == other; }),
               arcs.end());
}

// Local Dijkstra from one node over the remaining graph, skipping the node being contracted.
class WitnessSearch {
  public:
    explicit WitnessSearch(int32_t n) : time_(static_cast<size_t>(n), kInf) {}

    // Times (upper bounds of fastest ones, avoiding `skip`) from `source`; stops past `bound` or
    // after `limit` settled nodes.
    void run(const Adjacency &out, int32_t source, int32_t skip, double bound, int limit) {
        for (int32_t v : touched_) time_[static_cast<size_t>(v)] = kInf;
        touched_.clear();
        MinHeap heap;
        time_[static_cast<size_t>(source)] = 0.0;
        touched_.push_back(source);
        heap.push({0.0, source});
        int settled = 0;
        while (!heap.empty()) {
            const auto [t, v] = heap.top();
            heap.pop();
            if (t > time_[static_cast<size_t>(v)]) continue;
            if (t > bound || ++settled > limit) break;
            for (const DynArc &a : out[static_cast<size_t>(v)]) {
                if (a.other == skip) continue;
                const double nt = t + a.time;
                double &old = time_[static_cast<size_t>(a.other)];
                if (nt < old) {
                    if (old == kInf) touched_.push_back(a.other);
                    old = nt;
                    heap.push({nt, a.other});
                }
            }
        }
    }

    double time(int32_t v) const { return time_[static_cast<size_t>(v)]; }

  private:
    std::vector<double> time_;
    std::vector<int32_t> touched_;
};

struct Shortcut {
    int32_t from, to;
    double time, length;
    int32_t first, second;
};

// The shortcuts contracting v needs: u -> w for each in-arc u -> v and out-arc v -> w unless a
// witness path avoiding v is as fast.
void needed_shortcuts(const Adjacency &out, const Adjacency &in, int32_t v, WitnessSearch &witness, int limit,
                      std::vector<Shortcut> &found) {
    found.clear();
    const auto &outs = out[static_cast<size_t>(v)];
    for (const DynArc &a : in[static_cast<size_t>(v)]) {
        double bound = -1.0;
        for (const DynArc &b : outs)
            if (b.other != a.other) bound = std::max(bound, a.time + b.time);
        if (bound < 0.0) continue;
        witness.run(out, a.other, v, bound, limit);
        for (const DynArc &b : outs) {
            if (b.other == a.other) continue;
            const double via = a.time + b.time;
            if (witness.time(b.other) <= via) continue;
            found.push_back({a.other, b.other, via, a.length + b.length, a.id, b.id});
        }
    }
}

using Arc = ContractionHierarchy::Arc;

// The arcs an upward search follows, and those that stall it (arcs into a node from above, for
// a forward search): a node that a node above reaches faster is on no fastest up-down path, so
// its arcs need not be followed (stall-on-demand).
struct Direction {
    const std::vector<int64_t> &offsets;
    const std::vector<Arc> &arcs;
    const std::vector<int64_t> &stall_offsets;
    const std::vector<Arc> &stall_arcs;
};

// Dijkstra from rank `start` along `d`, run to exhaustion. `time`, `length`, `parent` must hold
// +inf, +inf, -1 for every node it reaches; it appends the nodes it labels to `touched` and those
// it settles unstalled to `settled` (in order). Every label is the time of a real path.
void upward(int32_t start, const Direction &d, double *time, double *length, int32_t *parent,
            std::vector<int32_t> &settled, std::vector<int32_t> &touched) {
    MinHeap heap;
    time[start] = 0.0;
    length[start] = 0.0;
    touched.push_back(start);
    heap.push({0.0, start});
    while (!heap.empty()) {
        const auto [t, r] = heap.top();
        heap.pop();
        if (t > time[r]) continue;
        const auto rs = static_cast<size_t>(r);
        bool stalled = false;
        for (int64_t k = d.stall_offsets[rs]; k < d.stall_offsets[rs + 1] && !stalled; ++k) {
            const Arc &a = d.stall_arcs[static_cast<size_t>(k)];
            stalled = time[a.other] + a.time < t;
        }
        if (stalled) continue;
        settled.push_back(r);
        for (int64_t k = d.offsets[rs]; k < d.offsets[rs + 1]; ++k) {
            const Arc &a = d.arcs[static_cast<size_t>(k)];
            const double nt = t + a.time;
            if (nt < time[a.other]) {
                if (time[a.other] == kInf) touched.push_back(a.other);
                time[a.other] = nt;
                length[a.other] = length[r] + a.length;
                parent[a.other] = a.id;
                heap.push({nt, a.other});
            }
        }
    }
}

using Labels = ContractionHierarchy::Labels;

void run(Labels &l, int32_t start, const Direction &d) {
    upward(start, d, l.time.data(), l.length.data(), l.parent.data(), l.settled, l.touched);
}

}  // namespace

void ContractionHierarchy::Labels::reset() {
    for (int32_t r : touched) {
        time[static_cast<size_t>(r)] = kInf;
        length[static_cast<size_t>(r)] = kInf;
        parent[static_cast<size_t>(r)] = -1;
    }
    settled.clear();
    touched.clear();
}

ContractionHierarchy::ContractionHierarchy(const Graph &g, const std::vector<double> &time_s,
                                           const std::vector<double> &length_m)
    : n_(g.num_nodes()), rank_(static_cast<size_t>(g.num_nodes()), -1), node_(static_cast<size_t>(g.num_nodes())) {
    check_link_values(g, time_s, "link_time_s");
    check_link_values(g, length_m, "link_length_m");
    const auto m = static_cast<size_t>(g.num_links());
    link_head_.resize(m);
    link_tail_.resize(m);
    for (size_t l = 0; l < m; ++l) {
        link_head_[l] = g.head(static_cast<int32_t>(l));
        link_tail_[l] = g.tail(static_cast<int32_t>(l));
    }
    link_time_ = time_s;

    const auto n = static_cast<size_t>(n_);
    Adjacency out(n), in(n);
    // Adds u -> w, or makes the existing u -> w faster.
    auto add_arc = [&](int32_t u, int32_t w, double t, double len, const Unpack &how) {
        DynArc *existing = find_arc(out[static_cast<size_t>(u)], w);
        if (existing != nullptr && existing->time <= t) return;
        const auto id = static_cast<int32_t>(arcs_.size());
        arcs_.push_back(how);
        if (how.link < 0) ++num_shortcuts_;
        if (existing == nullptr) {
            out[static_cast<size_t>(u)].push_back({w, id, t, len});
            in[static_cast<size_t>(w)].push_back({u, id, t, len});
            return;
        }
        *existing = {w, id, t, len};
        *find_arc(in[static_cast<size_t>(w)], u) = {u, id, t, len};
    };
    for (size_t l = 0; l < m; ++l)
        if (link_tail_[l] != link_head_[l])
            add_arc(link_tail_[l], link_head_[l], time_s[l], length_m[l], {link_tail_[l], static_cast<int32_t>(l), -1, -1});

    WitnessSearch witness(n_);
    std::vector<Shortcut> found;
    std::vector<int64_t> deleted(n, 0), level(n, 0);
    auto estimate = [&](int32_t v) {
        needed_shortcuts(out, in, v, witness, kEstimateLimit, found);
        const auto removed = static_cast<int64_t>(out[static_cast<size_t>(v)].size() + in[static_cast<size_t>(v)].size());
        // Edge difference, contracted neighbours and depth: contracts the network evenly.
        return 2 * (static_cast<int64_t>(found.size()) - removed) + deleted[static_cast<size_t>(v)] +
               level[static_cast<size_t>(v)];
    };
    using Item = std::pair<int64_t, int32_t>;
    std::priority_queue<Item, std::vector<Item>, std::greater<Item>> queue;
    for (int32_t v = 0; v < n_; ++v) queue.push({estimate(v), v});
    std::vector<std::vector<DynArc>> ups(n), downs(n);
    std::vector<int32_t> neighbours;
    int32_t next_rank = 0;
    while (!queue.empty()) {
        const auto [p, v] = queue.top();
        queue.pop();
        const auto vs = static_cast<size_t>(v);
        if (rank_[vs] >= 0) continue;
        // Lazy updates: a key may be stale (neighbours contracted since); contract v only if its
        // priority now is no larger.
        const int64_t now = estimate(v);
        if (now > p) {
            queue.push({now, v});
            continue;
        }
        needed_shortcuts(out, in, v, witness, kWitnessLimit, found);
        rank_[vs] = next_rank;
        node_[static_cast<size_t>(next_rank)] = v;
        ++next_rank;
        neighbours.clear();
        for (const DynArc &a : out[vs]) {
            erase_arcs(in[static_cast<size_t>(a.other)], v);
            neighbours.push_back(a.other);
        }
        for (const DynArc &a : in[vs]) {
            erase_arcs(out[static_cast<size_t>(a.other)], v);
            neighbours.push_back(a.other);
        }
        ups[vs] = std::move(out[vs]);
        downs[vs] = std::move(in[vs]);
        out[vs] = {};
        in[vs] = {};
        for (const Shortcut &s : found) add_arc(s.from, s.to, s.time, s.length, {s.from, -1, s.first, s.second});
        std::sort(neighbours.begin(), neighbours.end());
        neighbours.erase(std::unique(neighbours.begin(), neighbours.end()), neighbours.end());
        for (int32_t x : neighbours) {
            const auto xs = static_cast<size_t>(x);
            ++deleted[xs];
            level[xs] = std::max(level[xs], level[vs] + 1);
        }
    }

    // The hierarchy in rank space, as CSR arrays.
    auto pack = [&](const std::vector<std::vector<DynArc>> &by_node, std::vector<int64_t> &offsets,
                    std::vector<Arc> &arcs) {
        offsets.assign(n + 1, 0);
        for (size_t r = 0; r < n; ++r) offsets[r + 1] = offsets[r] + static_cast<int64_t>(by_node[static_cast<size_t>(node_[r])].size());
        arcs.clear();
        arcs.reserve(static_cast<size_t>(offsets[n]));
        for (size_t r = 0; r < n; ++r)
            for (const DynArc &a : by_node[static_cast<size_t>(node_[r])])
                arcs.push_back({rank_[static_cast<size_t>(a.other)], a.id, a.time, a.length});
    };
    pack(ups, up_offsets_, up_);
    pack(downs, down_offsets_, down_);
}

bool ContractionHierarchy::strongly_connected() const {
    // Every node reachable from node 0 along the links, and along them backwards.
    for (const auto *from : {&link_tail_, &link_head_}) {
        const auto &to = from == &link_tail_ ? link_head_ : link_tail_;
        std::vector<int64_t> offsets(static_cast<size_t>(n_) + 1, 0);
        for (int32_t u : *from) ++offsets[static_cast<size_t>(u) + 1];
        for (size_t v = 0; v < static_cast<size_t>(n_); ++v) offsets[v + 1] += offsets[v];
        std::vector<int32_t> adj(to.size());
        std::vector<int64_t> fill(offsets.begin(), offsets.end() - 1);
        for (size_t l = 0; l < to.size(); ++l) adj[static_cast<size_t>(fill[static_cast<size_t>((*from)[l])]++)] = to[l];
        std::vector<char> seen(static_cast<size_t>(n_), 0);
        std::vector<int32_t> stack{0};
        seen[0] = 1;
        int32_t count = 1;
        while (!stack.empty()) {
            const int32_t u = stack.back();
            stack.pop_back();
            for (int64_t k = offsets[static_cast<size_t>(u)]; k < offsets[static_cast<size_t>(u) + 1]; ++k) {
                const int32_t w = adj[static_cast<size_t>(k)];
                if (!seen[static_cast<size_t>(w)]) {
                    seen[static_cast<size_t>(w)] = 1;
                    ++count;
                    stack.push_back(w);
                }
            }
        }
        if (count != n_) return false;
    }
    return true;
}

void ContractionHierarchy::one_to_all(int32_t source, Row &row) const {
    const auto n = static_cast<size_t>(n_);
    row.time.assign(n, kInf);
    row.length.assign(n, kInf);
    std::vector<int32_t> parent(n, -1), settled, touched;
    upward(rank(source), {up_offsets_, up_, down_offsets_, down_}, row.time.data(), row.length.data(), parent.data(),
           settled, touched);
    // Down the hierarchy: a node's fastest time comes from above it or from the upward search.
    for (size_t r = n; r-- > 0;) {
        double best = row.time[r];
        for (int64_t k = down_offsets_[r]; k < down_offsets_[r + 1]; ++k) {
            const Arc &a = down_[static_cast<size_t>(k)];
            const double t = row.time[static_cast<size_t>(a.other)] + a.time;
            if (t < best) {
                best = t;
                row.length[r] = row.length[static_cast<size_t>(a.other)] + a.length;
            }
        }
        row.time[r] = best;
    }
}

void ContractionHierarchy::unpack(int32_t arc, std::vector<int32_t> &links) const {
    std::vector<int32_t> stack{arc};
    while (!stack.empty()) {
        const Unpack &u = arcs_[static_cast<size_t>(stack.back())];
        stack.pop_back();
        if (u.link >= 0) {
            links.push_back(u.link);
        } else {
            stack.push_back(u.second);
            stack.push_back(u.first);
        }
    }
}

void ContractionHierarchy::many_to_many(const std::vector<int32_t> &sources, const std::vector<int32_t> &targets,
                                        double *time_out, double *length_out, int n_threads) const {
    check_nodes(n_, sources, "sources");
    check_nodes(n_, targets, "targets");
    if (static_cast<double>(targets.size()) < kSweepTargetShare * n_) {
        bucket_many_to_many(sources, targets, time_out, length_out, n_threads);
        return;
    }
    const int n_workers = std::max(1, n_threads);
    std::vector<Row> rows(static_cast<size_t>(n_workers));
    const size_t width = targets.size();
    parallel_rows(static_cast<int64_t>(sources.size()), n_workers, [&](int64_t i, int w) {
        Row &row = rows[static_cast<size_t>(w)];
        one_to_all(sources[static_cast<size_t>(i)], row);
        const size_t at = static_cast<size_t>(i) * width;
        for (size_t j = 0; j < width; ++j) {
            const auto r = static_cast<size_t>(rank(targets[j]));
            time_out[at + j] = row.time[r];
            length_out[at + j] = row.length[r];
        }
    });
}

void ContractionHierarchy::bucket_many_to_many(const std::vector<int32_t> &sources,
                                               const std::vector<int32_t> &targets, double *time_out,
                                               double *length_out, int n_threads) const {
    struct BucketEntry {
        int32_t key;  // the node (rank) in a search space, the target (index) in a bucket
        double time, length;
    };
    const int n_workers = std::max(1, n_threads);
    std::vector<Labels> labels(static_cast<size_t>(n_workers), Labels(n_));
    // Backward upward searches from the targets, then their labels in buckets by node (in target order).
    std::vector<std::vector<BucketEntry>> spaces(targets.size());
    parallel_rows(static_cast<int64_t>(targets.size()), n_workers, [&](int64_t j, int w) {
        Labels &l = labels[static_cast<size_t>(w)];
        run(l, rank(targets[static_cast<size_t>(j)]), {down_offsets_, down_, up_offsets_, up_});
        auto &space = spaces[static_cast<size_t>(j)];
        for (int32_t r : l.settled)
            space.push_back({r, l.time[static_cast<size_t>(r)], l.length[static_cast<size_t>(r)]});
        l.reset();
    });
    std::vector<int64_t> offsets(static_cast<size_t>(n_) + 1, 0);
    for (const auto &space : spaces)
        for (const auto &e : space) ++offsets[static_cast<size_t>(e.key) + 1];
    for (size_t r = 0; r < static_cast<size_t>(n_); ++r) offsets[r + 1] += offsets[r];
    std::vector<BucketEntry> buckets(static_cast<size_t>(offsets.back()));
    std::vector<int64_t> fill(offsets.begin(), offsets.end() - 1);
    for (size_t j = 0; j < spaces.size(); ++j) {
        for (const auto &e : spaces[j])
            buckets[static_cast<size_t>(fill[static_cast<size_t>(e.key)]++)] = {static_cast<int32_t>(j), e.time,
                                                                                     e.length};
        spaces[j] = {};
    }
    const size_t width = targets.size();
    parallel_rows(static_cast<int64_t>(sources.size()), n_workers, [&](int64_t i, int w) {
        Labels &l = labels[static_cast<size_t>(w)];
        run(l, rank(sources[static_cast<size_t>(i)]), {up_offsets_, up_, down_offsets_, down_});
        double *t_row = time_out + static_cast<size_t>(i) * width;
        double *l_row = length_out + static_cast<size_t>(i) * width;
        std::fill(t_row, t_row + width, kInf);
        std::fill(l_row, l_row + width, kInf);
        for (int32_t r : l.settled) {
            const double ts = l.time[static_cast<size_t>(r)], ls = l.length[static_cast<size_t>(r)];
            for (int64_t k = offsets[static_cast<size_t>(r)]; k < offsets[static_cast<size_t>(r) + 1]; ++k) {
                const BucketEntry &e = buckets[static_cast<size_t>(k)];
                const double t = ts + e.time;
                if (t < t_row[e.key]) {
                    t_row[e.key] = t;
                    l_row[e.key] = ls + e.length;
                }
            }
        }
        l.reset();
    });
}

void ContractionHierarchy::search_space(int32_t node, bool backward, Labels &labels, SearchSpace &out) const {
    run(labels, rank(node),
        backward ? Direction{down_offsets_, down_, up_offsets_, up_} : Direction{up_offsets_, up_, down_offsets_, down_});
    out.nodes = labels.settled;
    out.parent.resize(out.nodes.size());
    out.time.resize(out.nodes.size());
    out.length.resize(out.nodes.size());
    for (size_t i = 0; i < out.nodes.size(); ++i) {
        const auto r = static_cast<size_t>(out.nodes[i]);
        out.parent[i] = labels.parent[r];
        out.time[i] = labels.time[r];
        out.length[i] = labels.length[r];
    }
    labels.reset();
}

std::pair<double, double> ContractionHierarchy::meet(const SearchSpace &forward, const SearchSpace &backward,
                                                     std::vector<int32_t> &position,
                                                     std::vector<int32_t> *links) const {
    auto mark = [&](const SearchSpace &s, bool on) {
        for (size_t i = 0; i < s.nodes.size(); ++i)
            position[static_cast<size_t>(s.nodes[i])] = on ? static_cast<int32_t>(i) : -1;
    };
    mark(backward, true);
    double best = kInf, length = kInf;
    int32_t meet_at = -1;
    for (size_t i = 0; i < forward.nodes.size(); ++i) {  // in the forward search's order, as the buckets
        const int32_t j = position[static_cast<size_t>(forward.nodes[i])];
        if (j < 0) continue;
        const double t = forward.time[i] + backward.time[static_cast<size_t>(j)];
        if (t < best) {
            best = t;
            length = forward.length[i] + backward.length[static_cast<size_t>(j)];
            meet_at = forward.nodes[i];
        }
    }
    if (links != nullptr) {
        links->clear();
        if (meet_at >= 0) {
            // Backward from the meeting node to the source, then forward from it to the target.
            const size_t mb = static_cast<size_t>(position[static_cast<size_t>(meet_at)]);
            mark(backward, false);
            mark(forward, true);
            std::vector<int32_t> up;
            for (size_t i = static_cast<size_t>(position[static_cast<size_t>(meet_at)]); forward.parent[i] >= 0;) {
                up.push_back(forward.parent[i]);
                i = static_cast<size_t>(position[static_cast<size_t>(rank(arcs_[static_cast<size_t>(up.back())].tail))]);
            }
            for (auto it = up.rbegin(); it != up.rend(); ++it) unpack(*it, *links);
            mark(forward, false);
            mark(backward, true);
            for (size_t i = mb; backward.parent[i] >= 0;) {
                unpack(backward.parent[i], *links);
                i = static_cast<size_t>(position[static_cast<size_t>(rank(link_head(links->back())))]);
            }
        }
    }
    mark(backward, false);
    return {best, length};
}

std::pair<double, double> ContractionHierarchy::query(int32_t source, int32_t target, PairScratch &scratch,
                                                      std::vector<int32_t> *links) const {
    search_space(source, false, scratch.labels, scratch.forward);
    search_space(target, true, scratch.labels, scratch.backward);
    return meet(scratch.forward, scratch.backward, scratch.position, links);
}

void ContractionHierarchy::pairs(const std::vector<int32_t> &sources, const std::vector<int32_t> &targets,
                                 double *time_out, double *length_out, int n_threads) const {
    check_nodes(n_, sources, "sources");
    check_nodes(n_, targets, "targets");
    if (sources.size() != targets.size()) throw std::invalid_argument("sources and targets must have equal length");
    const int n_workers = std::max(1, n_threads);
    std::vector<PairScratch> scratch(static_cast<size_t>(n_workers), PairScratch(n_));
    parallel_rows(static_cast<int64_t>(sources.size()), n_workers, [&](int64_t i, int w) {
        const auto [t, l] = query(sources[static_cast<size_t>(i)], targets[static_cast<size_t>(i)],
                                  scratch[static_cast<size_t>(w)], nullptr);
        time_out[i] = t;
        length_out[i] = l;
    });
}

}  // namespace smartopt::network
