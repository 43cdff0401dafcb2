// pybind11 bindings of the road-network engine: smartopt._core._network.
// Private module: smartopt.network validates user input first; the C++ side checks bounds again.
#include "arrays.hpp"

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <string>
#include <vector>

#include "smartopt/network/graph.hpp"

namespace py = pybind11;
namespace net = smartopt::network;

namespace {

using smartopt::bindings::CArray;
using smartopt::bindings::integers;
using smartopt::bindings::to_vector;

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

    m.def("cost_matrix", &cost_matrix, py::arg("graph"), py::arg("weights"), py::arg("sources"), py::arg("targets"),
          py::arg("n_threads"), "Shortest-path costs (len(sources), len(targets) or num_nodes); inf if unreachable.");
    m.def("shortest_path_tree", &shortest_path_tree, py::arg("graph"), py::arg("weights"), py::arg("source"),
          py::arg("target"), "Costs and reaching link per node from source; stops at target if target >= 0.");
    m.def("assign_all_or_nothing", &assign_all_or_nothing, py::arg("graph"), py::arg("weights"), py::arg("origins"),
          py::arg("destinations"), py::arg("demand"), py::arg("n_threads"),
          "Loads an OD matrix on shortest paths: (link_flow, turn_flow, unreached_demand).");
}
