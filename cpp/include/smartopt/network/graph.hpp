// Directed graph in CSR form and the shortest-path engine over it.
// Plain C++17: no Python here. Inputs are validated on construction (std::invalid_argument,
// std::out_of_range); the query functions state what they assume.
#pragma once

#include <cstdint>
#include <vector>

namespace smartopt::network {

// One outgoing arc in CSR order: the head node and the original link id.
struct Arc {
    int32_t head;
    int32_t link;
};

class Graph {
  public:
    // Builds the CSR adjacency once. tail/head are node indices in [0, n_nodes) of length n_links.
    Graph(int32_t n_nodes, const int32_t *tail, const int32_t *head, int64_t n_links);

    int32_t num_nodes() const { return n_nodes_; }
    int64_t num_links() const { return static_cast<int64_t>(arcs_.size()); }
    const std::vector<int64_t> &offsets() const { return offsets_; }
    const std::vector<Arc> &arcs() const { return arcs_; }
    int32_t tail(int32_t link) const { return tail_[link]; }
    int32_t head(int32_t link) const { return head_[link]; }

    // Checks that `weights` has one finite, non-negative value per link (throws otherwise).
    void check_weights(const std::vector<double> &weights) const;

  private:
    int32_t n_nodes_;
    std::vector<int64_t> offsets_;  // n_nodes + 1
    std::vector<Arc> arcs_;         // arcs sorted by tail, stable in link order
    std::vector<int32_t> tail_, head_;
};

// Shortest-path cost matrix: row i holds the cost from sources[i] to each of `targets` (all nodes
// when targets is empty), +inf where unreachable. `out` has sources.size() * width doubles.
// Sources and targets must be valid node indices; weights as checked by Graph::check_weights.
// Rows are computed in parallel on n_threads threads; the result does not depend on n_threads.
void cost_matrix(const Graph &g, const std::vector<double> &weights, const std::vector<int32_t> &sources,
                 const std::vector<int32_t> &targets, double *out, int n_threads);

// One-to-all tree from `source`: cost per node (+inf unreachable) and the link that reaches each
// node on its shortest path (-1 for the source and unreachable nodes). Stops early once `target`
// is settled when target >= 0.
void shortest_path_tree(const Graph &g, const std::vector<double> &weights, int32_t source, int32_t target,
                        double *cost, int32_t *pred_link);

// All-or-nothing assignment of an origin-destination matrix (demand[i * n_dest + j] from origins[i]
// to destinations[j], veh/h) onto shortest paths. Adds each path's demand to link_flow (n_links)
// and to turn_flow, indexed like Graph::turn_index (in-link, out-link pairs). Returns the demand
// that had no path (unreachable pairs).
double assign_all_or_nothing(const Graph &g, const std::vector<double> &weights, const std::vector<int32_t> &origins,
                             const std::vector<int32_t> &destinations, const double *demand, double *link_flow,
                             double *turn_flow, int n_threads);

// Turns are the pairs (in-link a, out-link b) with head(a) == tail(b), numbered in order of a and
// then of b's CSR position. turn_offsets has n_links + 1 entries; turn t of in-link a has out-link
// g.arcs()[g.offsets()[head(a)] + (t - turn_offsets[a])].link.
std::vector<int64_t> turn_offsets(const Graph &g);

}  // namespace smartopt::network
