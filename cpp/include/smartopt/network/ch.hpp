// Contraction hierarchies (Geisberger et al. 2008): an exact fastest-path oracle for road networks
// that needs no all-pairs matrix. Nodes are contracted one by one (least edge difference first);
// shortcuts keep every fastest time, so an upward search from the origin and one from the
// destination meet on a fastest path. Every arc carries its time (s) and the length (m) of the
// path it stands for, so each answer's distance is the length of the very path whose time it is.
// Plain C++17; deterministic (no randomness, ties broken by node index).
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#include "smartopt/network/graph.hpp"

namespace smartopt::network {

class ContractionHierarchy {
  public:
    // A one-to-all answer from a node, indexed by rank: time (s, +inf if unreachable) and length
    // (m) of the path found.
    struct Row {
        std::vector<double> time, length;
    };

    // Builds the hierarchy of `g` with per-link times (s) and lengths (m): both finite and >= 0,
    // one per link (std::invalid_argument otherwise).
    ContractionHierarchy(const Graph &g, const std::vector<double> &time_s, const std::vector<double> &length_m);

    int32_t num_nodes() const { return n_; }
    int64_t num_shortcuts() const { return num_shortcuts_; }
    int32_t rank(int32_t node) const { return rank_[static_cast<std::size_t>(node)]; }
    // True when every node reaches every other.
    bool strongly_connected() const;

    // The row of `source` (a valid node): one upward search and a sweep down the hierarchy
    // (PHAST). `row` is reused storage.
    void one_to_all(int32_t source, Row &row) const;

    // Labels of one upward search, sized to the nodes, indexed by rank; reset after each use.
    struct Labels {
        explicit Labels(int32_t n)
            : time(static_cast<std::size_t>(n), std::numeric_limits<double>::infinity()),
              length(static_cast<std::size_t>(n), std::numeric_limits<double>::infinity()),
              parent(static_cast<std::size_t>(n), -1) {}
        std::vector<double> time, length;
        std::vector<int32_t> parent;
        std::vector<int32_t> settled, touched;

        void reset();
    };
    // The upward search space of a node: the nodes it settles (ranks, in order) with their time
    // (s), length (m) and reaching arc, from the node (forward) or towards it (backward).
    struct SearchSpace {
        std::vector<int32_t> nodes, parent;
        std::vector<double> time, length;
    };
    // Scratch space of point-to-point queries (one per thread).
    struct PairScratch {
        explicit PairScratch(int32_t n) : labels(n), position(static_cast<std::size_t>(n), -1) {}
        Labels labels;
        std::vector<int32_t> position;  // rank -> index in a search space, -1 elsewhere
        SearchSpace forward, backward;
    };

    // The search space from (or, backward, towards) `node`, a valid node, into `out`.
    void search_space(int32_t node, bool backward, Labels &labels, SearchSpace &out) const;
    // The fastest time (s, +inf if unreachable) from the forward space's node to the backward
    // space's node and its path's length (m); the path's original links into `links` when not
    // null. Exactly what query() and many_to_many()'s buckets give for the pair. `position` as in
    // PairScratch.
    std::pair<double, double> meet(const SearchSpace &forward, const SearchSpace &backward,
                                   std::vector<int32_t> &position, std::vector<int32_t> *links) const;
    // meet() of the search spaces from `source` and towards `target` (valid nodes).
    std::pair<double, double> query(int32_t source, int32_t target, PairScratch &scratch,
                                    std::vector<int32_t> *links) const;

    double link_time(int32_t link) const { return link_time_[static_cast<std::size_t>(link)]; }
    int32_t link_head(int32_t link) const { return link_head_[static_cast<std::size_t>(link)]; }

    // Fastest times (s) and their paths' lengths (m) from each source to each target, written
    // row-major (sources.size() x targets.size()) to time_out and length_out; +inf where unreachable.
    // Bucket-based many-to-many for few targets, PHAST rows for many; parallel over sources on
    // n_threads threads, the result does not depend on n_threads. std::invalid_argument on a bad node.
    void many_to_many(const std::vector<int32_t> &sources, const std::vector<int32_t> &targets, double *time_out,
                      double *length_out, int n_threads) const;
    // The same for paired queries: entry i from sources[i] to targets[i].
    void pairs(const std::vector<int32_t> &sources, const std::vector<int32_t> &targets, double *time_out,
               double *length_out, int n_threads) const;

    // An arc of the hierarchy in rank space: `other` is the head (upward arcs) or the tail (arcs
    // into a node from above); `id` names the arc for unpacking.
    struct Arc {
        int32_t other;
        int32_t id;
        double time;
        double length;
    };

  private:
    // How to unpack an arc: an original link, or a shortcut over two arcs (link -1).
    struct Unpack {
        int32_t tail, link, first, second;
    };
    void unpack(int32_t arc, std::vector<int32_t> &links) const;  // appends the arc's links in order
    void bucket_many_to_many(const std::vector<int32_t> &sources, const std::vector<int32_t> &targets,
                             double *time_out, double *length_out, int n_threads) const;

    int32_t n_;
    int64_t num_shortcuts_ = 0;
    std::vector<int32_t> rank_, node_;  // node -> rank, rank -> node
    std::vector<int64_t> up_offsets_, down_offsets_;
    std::vector<Arc> up_, down_;  // by rank: arcs to higher nodes; arcs into the node from higher nodes
    std::vector<Unpack> arcs_;
    std::vector<int32_t> link_head_, link_tail_;
    std::vector<double> link_time_;
};

}  // namespace smartopt::network
