#include "smartopt/network/graph.hpp"

#include "smartopt/parallel.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace smartopt::network {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// An arc with its weight, laid out for the relaxation loop.
struct WeightedArc {
    int32_t head;
    int32_t link;
    double weight;
};

// Monotone bucket queue (Dial's algorithm with bucket width `width`, after Dinitz 1978). Bucket i
// holds entries with cost in [i * width, (i + 1) * width); when width <= the lightest arc, every
// entry of the lowest bucket is final, so buckets need no ordering and cost O(1) per operation.
// Lighter arcs (down to zero) are still handled exactly: an entry may then be improved again
// within its bucket, which is processed first-in first-out until no cost changes (label
// correcting), so the result equals Dijkstra's bit for bit. Buckets form a ring that spans the
// heaviest arc.
class BucketQueue {
  public:
    struct Entry {
        double cost;
        int32_t node;
    };

    BucketQueue(double width, double max_weight)
        : inv_width_(1.0 / width), ring_(static_cast<size_t>(max_weight / width) + 3) {}

    void reset(int32_t source) {
        for (auto &b : ring_) b.clear();
        current_ = 0;
        next_ = 0;
        size_ = 1;
        ring_[0].push_back({0.0, source});
    }

    void push(double cost, int32_t node) {
        const double slot = cost * inv_width_;
        const int64_t b = slot < static_cast<double>(current_) ? current_ : static_cast<int64_t>(slot);
        ring_[static_cast<size_t>(b) % ring_.size()].push_back({cost, node});
        ++size_;
    }

    // The next entry of the current bucket, or false when the bucket is exhausted; the caller then
    // calls advance().
    bool next(Entry &e) {
        auto &b = ring_[static_cast<size_t>(current_) % ring_.size()];
        if (next_ == b.size()) return false;
        e = b[next_++];
        --size_;
        return true;
    }

    // Moves to the next bucket; false when the queue is empty.
    bool advance() {
        ring_[static_cast<size_t>(current_) % ring_.size()].clear();
        next_ = 0;
        ++current_;
        return size_ > 0;
    }

  private:
    double inv_width_;
    std::vector<std::vector<Entry>> ring_;
    int64_t current_ = 0;
    size_t next_ = 0;
    int64_t size_ = 0;
};

// Bucket width for `weights`: the lightest positive arc, but no finer than 1/4096 of the
// heaviest, which bounds the ring and the empty buckets scanned per search.
double bucket_width(const std::vector<double> &weights) {
    double lightest = kInf, heaviest = 0.0;
    for (double w : weights) {
        if (w > 0.0) lightest = std::min(lightest, w);
        heaviest = std::max(heaviest, w);
    }
    if (heaviest == 0.0) return 1.0;
    return std::max(lightest, heaviest / 4096.0);
}

struct Search {
    Search(const std::vector<double> &weights, int32_t n_nodes)
        : queue(bucket_width(weights), weights.empty() ? 0.0 : *std::max_element(weights.begin(), weights.end())),
          first_visit(static_cast<size_t>(n_nodes), 0) {}
    BucketQueue queue;
    std::vector<char> first_visit;  // scratch for early stopping at targets
};

std::vector<WeightedArc> weighted_arcs(const Graph &g, const std::vector<double> &weights) {
    std::vector<WeightedArc> out(g.arcs().size());
    for (size_t k = 0; k < out.size(); ++k) {
        const Arc &a = g.arcs()[k];
        out[k] = {a.head, a.link, weights[static_cast<size_t>(a.link)]};
    }
    return out;
}

// Shortest paths from `source` over `arcs`. Writes costs to `cost` (all n entries) and, when
// pred_link is not null, the reaching link per node. When `is_target` is given, stops once the
// buckets holding all `n_targets` distinct marked nodes are done.
void dijkstra(const std::vector<int64_t> &offsets, const std::vector<WeightedArc> &arcs, int32_t n_nodes,
              int32_t source, Search &search, double *cost, int32_t *pred_link, const std::vector<char> *is_target,
              int64_t n_targets) {
    std::fill(cost, cost + n_nodes, kInf);
    if (pred_link != nullptr) std::fill(pred_link, pred_link + n_nodes, -1);
    std::vector<char> &seen = search.first_visit;
    if (is_target != nullptr) std::fill(seen.begin(), seen.end(), 0);
    cost[source] = 0.0;
    BucketQueue &queue = search.queue;
    queue.reset(source);
    int64_t targets_seen = 0;
    do {
        BucketQueue::Entry e;
        while (queue.next(e)) {
            const int32_t u = e.node;
            if (e.cost > cost[u]) continue;  // stale: improved since it was queued
            if (is_target != nullptr && (*is_target)[u] && !seen[u]) {
                seen[u] = 1;
                ++targets_seen;
            }
            const int64_t end = offsets[u + 1];
            for (int64_t k = offsets[u]; k < end; ++k) {
                const WeightedArc &a = arcs[static_cast<size_t>(k)];
                const double nd = e.cost + a.weight;
                if (nd < cost[a.head]) {
                    cost[a.head] = nd;
                    if (pred_link != nullptr) pred_link[a.head] = a.link;
                    queue.push(nd, a.head);
                }
            }
        }
        // Every cost below the next bucket is final here.
        if (is_target != nullptr && targets_seen == n_targets) break;
    } while (queue.advance());
}

void check_nodes(const Graph &g, const std::vector<int32_t> &nodes, const char *what) {
    for (size_t i = 0; i < nodes.size(); ++i)
        if (nodes[i] < 0 || nodes[i] >= g.num_nodes())
            throw std::out_of_range(std::string(what) + "[" + std::to_string(i) + "]=" + std::to_string(nodes[i]) +
                                    " is not a node index in [0, " + std::to_string(g.num_nodes()) + ")");
}

}  // namespace

Graph::Graph(int32_t n_nodes, const int32_t *tail, const int32_t *head, int64_t n_links)
    : n_nodes_(n_nodes), offsets_(static_cast<size_t>(n_nodes) + 1, 0), tail_(tail, tail + n_links),
      head_(head, head + n_links) {
    if (n_nodes <= 0) throw std::invalid_argument("n_nodes must be positive");
    if (n_links < 0 || n_links > std::numeric_limits<int32_t>::max())
        throw std::invalid_argument("n_links out of range");
    for (int64_t l = 0; l < n_links; ++l) {
        if (tail[l] < 0 || tail[l] >= n_nodes || head[l] < 0 || head[l] >= n_nodes)
            throw std::out_of_range("link " + std::to_string(l) + " has an endpoint outside [0, " +
                                    std::to_string(n_nodes) + ")");
        ++offsets_[static_cast<size_t>(tail[l]) + 1];
    }
    for (size_t v = 0; v < static_cast<size_t>(n_nodes); ++v) offsets_[v + 1] += offsets_[v];
    arcs_.resize(static_cast<size_t>(n_links));
    std::vector<int64_t> fill(offsets_.begin(), offsets_.end() - 1);
    for (int64_t l = 0; l < n_links; ++l)
        arcs_[static_cast<size_t>(fill[static_cast<size_t>(tail[l])]++)] = {head[l], static_cast<int32_t>(l)};
}

void Graph::check_weights(const std::vector<double> &weights) const {
    if (static_cast<int64_t>(weights.size()) != num_links())
        throw std::invalid_argument("weights must have one value per link (" + std::to_string(num_links()) +
                                    "), got " + std::to_string(weights.size()));
    for (size_t l = 0; l < weights.size(); ++l)
        if (!(weights[l] >= 0.0) || std::isinf(weights[l]))
            throw std::invalid_argument("weights[" + std::to_string(l) + "] must be finite and >= 0");
}

void cost_matrix(const Graph &g, const std::vector<double> &weights, const std::vector<int32_t> &sources,
                 const std::vector<int32_t> &targets, double *out, int n_threads) {
    g.check_weights(weights);
    check_nodes(g, sources, "sources");
    check_nodes(g, targets, "targets");
    const auto arcs = weighted_arcs(g, weights);
    const int32_t n = g.num_nodes();
    const bool all_targets = targets.empty();
    const size_t width = all_targets ? static_cast<size_t>(n) : targets.size();

    std::vector<char> is_target;
    int64_t n_targets = 0;
    if (!all_targets) {
        is_target.assign(static_cast<size_t>(n), 0);
        for (int32_t t : targets)
            if (!is_target[t]) {
                is_target[t] = 1;
                ++n_targets;
            }
    }
    const int n_workers = std::max(1, n_threads);
    std::vector<Search> searches(static_cast<size_t>(n_workers), Search(weights, n));
    std::vector<std::vector<double>> scratch(static_cast<size_t>(n_workers));

    parallel_rows(static_cast<int64_t>(sources.size()), n_workers, [&](int64_t r, int w) {
        double *row = out + static_cast<size_t>(r) * width;
        Search &search = searches[static_cast<size_t>(w)];
        if (all_targets) {
            dijkstra(g.offsets(), arcs, n, sources[static_cast<size_t>(r)], search, row, nullptr, nullptr, 0);
            return;
        }
        auto &cost = scratch[static_cast<size_t>(w)];
        cost.resize(static_cast<size_t>(n));
        dijkstra(g.offsets(), arcs, n, sources[static_cast<size_t>(r)], search, cost.data(), nullptr, &is_target,
                 n_targets);
        for (size_t j = 0; j < width; ++j) row[j] = cost[static_cast<size_t>(targets[j])];
    });
}

void shortest_path_tree(const Graph &g, const std::vector<double> &weights, int32_t source, int32_t target,
                        double *cost, int32_t *pred_link) {
    g.check_weights(weights);
    check_nodes(g, {source}, "source");
    std::vector<char> is_target;
    if (target >= 0) {
        check_nodes(g, {target}, "target");
        is_target.assign(static_cast<size_t>(g.num_nodes()), 0);
        is_target[static_cast<size_t>(target)] = 1;
    }
    const auto arcs = weighted_arcs(g, weights);
    Search search(weights, g.num_nodes());
    dijkstra(g.offsets(), arcs, g.num_nodes(), source, search, cost, pred_link, target >= 0 ? &is_target : nullptr, 1);
}

std::vector<int64_t> turn_offsets(const Graph &g) {
    std::vector<int64_t> out(static_cast<size_t>(g.num_links()) + 1, 0);
    for (int32_t l = 0; l < g.num_links(); ++l) {
        const int32_t v = g.head(l);
        out[static_cast<size_t>(l) + 1] = out[static_cast<size_t>(l)] + (g.offsets()[v + 1] - g.offsets()[v]);
    }
    return out;
}

double assign_all_or_nothing(const Graph &g, const std::vector<double> &weights, const std::vector<int32_t> &origins,
                             const std::vector<int32_t> &destinations, const double *demand, double *link_flow,
                             double *turn_flow, int n_threads) {
    g.check_weights(weights);
    check_nodes(g, origins, "origins");
    check_nodes(g, destinations, "destinations");
    const auto arcs = weighted_arcs(g, weights);
    const int32_t n = g.num_nodes();
    const auto toff = turn_offsets(g);
    // Position of each link inside its tail's adjacency, to number turns.
    std::vector<int32_t> slot(static_cast<size_t>(g.num_links()));
    for (int32_t v = 0; v < n; ++v)
        for (int64_t k = g.offsets()[v]; k < g.offsets()[v + 1]; ++k)
            slot[static_cast<size_t>(g.arcs()[static_cast<size_t>(k)].link)] = static_cast<int32_t>(k - g.offsets()[v]);

    std::vector<char> is_dest(static_cast<size_t>(n), 0);
    int64_t n_dest = 0;
    for (int32_t d : destinations)
        if (!is_dest[d]) {
            is_dest[d] = 1;
            ++n_dest;
        }
    const size_t n_d = destinations.size();
    // Trees for a block of origins are built in parallel, then walked in origin order, so the
    // floating-point sums are the same for every thread count.
    const int n_workers = std::max(1, n_threads);
    const size_t block = 64;
    std::vector<Search> searches(static_cast<size_t>(n_workers), Search(weights, n));
    std::vector<double> cost(block * static_cast<size_t>(n));
    std::vector<int32_t> pred(block * static_cast<size_t>(n));
    double unreached = 0.0;
    for (size_t first = 0; first < origins.size(); first += block) {
        const size_t count = std::min(block, origins.size() - first);
        parallel_rows(static_cast<int64_t>(count), n_workers, [&](int64_t r, int w) {
            const size_t off = static_cast<size_t>(r) * static_cast<size_t>(n);
            dijkstra(g.offsets(), arcs, n, origins[first + static_cast<size_t>(r)], searches[static_cast<size_t>(w)],
                     cost.data() + off, pred.data() + off, &is_dest, n_dest);
        });
        for (size_t r = 0; r < count; ++r) {
            const int32_t *tree = pred.data() + r * static_cast<size_t>(n);
            const double *c = cost.data() + r * static_cast<size_t>(n);
            const int32_t o = origins[first + r];
            for (size_t j = 0; j < n_d; ++j) {
                const double q = demand[(first + r) * n_d + j];
                const int32_t d = destinations[j];
                if (q == 0.0 || d == o) continue;
                if (std::isinf(c[d])) {
                    unreached += q;
                    continue;
                }
                int32_t next = -1;
                for (int32_t v = d; v != o;) {
                    const int32_t l = tree[v];
                    link_flow[l] += q;
                    if (next >= 0) turn_flow[toff[static_cast<size_t>(l)] + slot[static_cast<size_t>(next)]] += q;
                    next = l;
                    v = g.tail(l);
                }
            }
        }
    }
    return unreached;
}

}  // namespace smartopt::network
