// pybind11 bindings of the road-network engine: smartopt._core._network.
// Private module: smartopt.network validates user input first; the C++ side checks bounds again.
#include "arrays.hpp"

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "smartopt/network/ch.hpp"
#include "smartopt/network/graph.hpp"

namespace py = pybind11;
namespace net = smartopt::network;

namespace {

using smartopt::bindings::CArray;
using smartopt::bindings::integers;
using smartopt::bindings::to_vector;
using smartopt::bindings::without_gil;

net::Graph make_graph(int32_t n_nodes, const py::object &tail, const py::object &head) {
    const auto t = integers<int32_t>(tail, "tail");
    const auto h = integers<int32_t>(head, "head");
    if (t.size() != h.size()) throw py::value_error("tail and head must have equal length");
    return net::Graph(n_nodes, t.data(), h.data(), static_cast<int64_t>(t.size()));
}

py::array_t<double> cost_matrix(const net::Graph &g, const CArray<double> &weights, const py::object &sources,
                                const py::object &targets, int n_threads) {
    const auto w = to_vector(weights, "weights");
    const auto src = integers<int32_t>(sources, "sources");
    const auto dst = integers<int32_t>(targets, "targets");
    const py::ssize_t width = dst.empty() ? g.num_nodes() : static_cast<py::ssize_t>(dst.size());
    py::array_t<double> out({static_cast<py::ssize_t>(src.size()), width});
    double *data = out.mutable_data();
    {
        py::gil_scoped_release release;
        net::cost_matrix(g, w, src, dst, data, n_threads);
    }
    return out;
}

py::tuple shortest_path_tree(const net::Graph &g, const CArray<double> &weights, int32_t source, int32_t target) {
    const auto w = to_vector(weights, "weights");
    py::array_t<double> cost(g.num_nodes());
    py::array_t<int32_t> pred(g.num_nodes());
    double *c = cost.mutable_data();
    int32_t *p = pred.mutable_data();
    {
        py::gil_scoped_release release;
        net::shortest_path_tree(g, w, source, target, c, p);
    }
    return py::make_tuple(cost, pred);
}

py::tuple assign_all_or_nothing(const net::Graph &g, const CArray<double> &weights, const py::object &origins,
                                const py::object &destinations, const CArray<double> &demand, int n_threads) {
    const auto w = to_vector(weights, "weights");
    const auto o = integers<int32_t>(origins, "origins");
    const auto d = integers<int32_t>(destinations, "destinations");
    if (demand.ndim() != 2 || demand.shape(0) != static_cast<py::ssize_t>(o.size()) ||
        demand.shape(1) != static_cast<py::ssize_t>(d.size()))
        throw py::value_error("demand must have shape (len(origins), len(destinations))");
    const std::vector<double> q(demand.data(), demand.data() + demand.size());
    const auto toff = net::turn_offsets(g);
    py::array_t<double> link_flow(g.num_links());
    py::array_t<double> turn_flow(static_cast<py::ssize_t>(toff.back()));
    double *lf = link_flow.mutable_data();
    double *tf = turn_flow.mutable_data();
    std::fill(lf, lf + link_flow.size(), 0.0);
    std::fill(tf, tf + turn_flow.size(), 0.0);
    double unreached;
    {
        py::gil_scoped_release release;
        unreached = net::assign_all_or_nothing(g, w, o, d, q.data(), lf, tf, n_threads);
    }
    return py::make_tuple(link_flow, turn_flow, unreached);
}

py::tuple turns(const net::Graph &g) {
    const auto toff = net::turn_offsets(g);
    py::array_t<int32_t> in_link(static_cast<py::ssize_t>(toff.back()));
    py::array_t<int32_t> out_link(static_cast<py::ssize_t>(toff.back()));
    int32_t *in = in_link.mutable_data();
    int32_t *out = out_link.mutable_data();
    for (int32_t l = 0; l < g.num_links(); ++l) {
        const int32_t v = g.head(l);
        int64_t t = toff[static_cast<size_t>(l)];
        for (int64_t k = g.offsets()[v]; k < g.offsets()[v + 1]; ++k, ++t) {
            in[t] = l;
            out[t] = g.arcs()[static_cast<size_t>(k)].link;
        }
    }
    return py::make_tuple(in_link, out_link);
}

py::tuple csr(const net::Graph &g) {
    py::array_t<int64_t> offsets(static_cast<py::ssize_t>(g.offsets().size()));
    py::array_t<int32_t> links(static_cast<py::ssize_t>(g.arcs().size()));
    std::copy(g.offsets().begin(), g.offsets().end(), offsets.mutable_data());
    int32_t *l = links.mutable_data();
    for (size_t k = 0; k < g.arcs().size(); ++k) l[k] = g.arcs()[k].link;
    return py::make_tuple(offsets, links);
}

std::shared_ptr<net::ContractionHierarchy> hierarchy(const net::Graph &g, const CArray<double> &time_s,
                                                    const CArray<double> &length_m) {
    const auto t = to_vector(time_s, "link_time_s");
    const auto l = to_vector(length_m, "link_length_m");
    return without_gil([&] { return std::make_shared<net::ContractionHierarchy>(g, t, l); });
}

// (times s, path lengths m) of a query with `rows` x `width` answers.
template <class Query>
py::tuple hierarchy_query(const py::object &sources, const py::object &targets, bool paired, Query query) {
    const auto src = integers<int32_t>(sources, "sources");
    const auto dst = integers<int32_t>(targets, "targets");
    if (paired && src.size() != dst.size()) throw py::value_error("sources and targets must have equal length");
    const auto rows = static_cast<py::ssize_t>(src.size());
    std::vector<py::ssize_t> shape{rows};
    if (!paired) shape.push_back(static_cast<py::ssize_t>(dst.size()));
    py::array_t<double> time(shape), length(shape);
    double *t = time.mutable_data();
    double *l = length.mutable_data();
    without_gil([&] { query(src, dst, t, l); });
    return py::make_tuple(time, length);
}

}  // namespace

PYBIND11_MODULE(_network, m) {
    m.doc() = "Road-network shortest paths and assignment (C++ core). Private: use smartopt.network.";

    py::class_<net::Graph>(m, "Graph")
        .def(py::init(&make_graph), py::arg("n_nodes"), py::arg("tail"), py::arg("head"),
             "Directed graph in CSR form; tail/head are node indices per link.")
        .def_property_readonly("num_nodes", &net::Graph::num_nodes)
        .def_property_readonly("num_links", &net::Graph::num_links)
        .def("turns", &turns, "Turn pairs (in_link, out_link) in turn-index order.")
        .def("csr", &csr, "CSR adjacency (offsets[num_nodes + 1], link id per arc sorted by tail).");

    py::class_<net::ContractionHierarchy, std::shared_ptr<net::ContractionHierarchy>>(m, "ContractionHierarchy")
        .def(py::init(&hierarchy), py::arg("graph"), py::arg("link_time_s"), py::arg("link_length_m"),
             "Contraction hierarchy of graph for link times (s) and lengths (m).")
        .def_property_readonly("num_nodes", &net::ContractionHierarchy::num_nodes)
        .def_property_readonly("num_shortcuts", &net::ContractionHierarchy::num_shortcuts)
        .def("strongly_connected", &net::ContractionHierarchy::strongly_connected,
             py::call_guard<py::gil_scoped_release>(), "True when every node reaches every other.")
        .def(
            "many_to_many",
            [](const net::ContractionHierarchy &h, const py::object &sources, const py::object &targets,
               int n_threads) {
                return hierarchy_query(sources, targets, false, [&](const auto &s, const auto &d, double *t, double *l) {
                    h.many_to_many(s, d, t, l, n_threads);
                });
            },
            py::arg("sources"), py::arg("targets"), py::arg("n_threads"),
            "(times s, path lengths m), each (len(sources), len(targets)); inf if unreachable.")
        .def(
            "pairs",
            [](const net::ContractionHierarchy &h, const py::object &sources, const py::object &targets,
               int n_threads) {
                return hierarchy_query(sources, targets, true, [&](const auto &s, const auto &d, double *t, double *l) {
                    h.pairs(s, d, t, l, n_threads);
                });
            },
            py::arg("sources"), py::arg("targets"), py::arg("n_threads"),
            "(times s, path lengths m) from sources[i] to targets[i]; inf if unreachable.");

    m.def("cost_matrix", &cost_matrix, py::arg("graph"), py::arg("weights"), py::arg("sources"), py::arg("targets"),
          py::arg("n_threads"), "Shortest-path costs (len(sources), len(targets) or num_nodes); inf if unreachable.");
    m.def("shortest_path_tree", &shortest_path_tree, py::arg("graph"), py::arg("weights"), py::arg("source"),
          py::arg("target"), "Costs and reaching link per node from source; stops at target if target >= 0.");
    m.def("assign_all_or_nothing", &assign_all_or_nothing, py::arg("graph"), py::arg("weights"), py::arg("origins"),
          py::arg("destinations"), py::arg("demand"), py::arg("n_threads"),
          "Loads an OD matrix on shortest paths: (link_flow, turn_flow, unreached_demand).");
}
