// pybind11 bindings of the three-phase unbalanced power flow: smartopt._core._unbalanced_power_flow.
// Private module: smartopt.energy.unbalanced_power_flow validates user input first; the C++ side
// checks again.
#include "arrays.hpp"

#include <pybind11/complex.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "smartopt/energy/unbalanced_power_flow.hpp"

namespace py = pybind11;
namespace en = smartopt::energy;

namespace {

using smartopt::bindings::CArray;
using smartopt::bindings::integers;
using smartopt::bindings::without_gil;

// Rows 0, 1, 2 (zero, positive, negative sequence) of a (3, n) complex array.
void sequences(const CArray<en::cplx> &x, size_t n, const char *name, std::array<std::vector<en::cplx>, 3> &out) {
    if (x.ndim() != 2 || x.shape(0) != 3 || x.shape(1) != static_cast<py::ssize_t>(n))
        throw py::value_error(std::string(name) + " must have shape (3, buses) = (3, " + std::to_string(n) + ")");
    for (int s = 0; s < 3; ++s) out[s].assign(x.data() + s * n, x.data() + (s + 1) * n);
}

std::shared_ptr<en::SequenceFeeder> make_feeder(const py::object &bus, const py::object &parent,
                                                const py::object &branch, const py::object &flipped,
                                                const CArray<en::cplx> &a, const CArray<en::cplx> &b,
                                                const CArray<en::cplx> &c, const CArray<en::cplx> &d,
                                                en::cplx v_slack, en::cplx z0_source, en::cplx z2_source,
                                                double base_kva, const py::object &breakpoint_leaf,
                                                const py::object &breakpoint_bus,
                                                const CArray<en::cplx> &loop_admittance,
                                                const py::object &loop_voltage) {
    auto f = std::make_shared<en::SequenceFeeder>();
    f->bus = integers<int32_t>(bus, "bus");
    f->parent = integers<int32_t>(parent, "parent");
    f->branch = integers<int32_t>(branch, "branch");
    f->flipped = integers<uint8_t>(flipped, "flipped");
    sequences(a, f->bus.size(), "a", f->a);
    sequences(b, f->bus.size(), "b", f->b);
    sequences(c, f->bus.size(), "c", f->c);
    sequences(d, f->bus.size(), "d", f->d);
    f->v_slack = v_slack;
    f->z_source = {z0_source, 0.0, z2_source};
    f->base_kva = base_kva;
    f->breakpoint_leaf = integers<int32_t>(breakpoint_leaf, "breakpoint_leaf");
    f->breakpoint_bus = integers<int32_t>(breakpoint_bus, "breakpoint_bus");
    const auto m = static_cast<py::ssize_t>(f->breakpoint_leaf.size()), n = static_cast<py::ssize_t>(f->bus.size());
    // None: no loops (shape (3, buses, 0)).
    const auto dv = loop_voltage.is_none() ? CArray<en::cplx>(std::vector<py::ssize_t>{3, n, 0})
                                           : CArray<en::cplx>::ensure(loop_voltage);
    if (!dv) throw py::value_error("loop_voltage must be a complex array");
    for (const auto &[x, rows, name, out] : {std::tuple{&loop_admittance, m, "loop_admittance", &f->loop_admittance},
                                             std::tuple{&dv, n, "loop_voltage", &f->loop_voltage}}) {
        if (x->ndim() != 3 || x->shape(0) != 3 || x->shape(1) != rows || x->shape(2) != m)
            throw py::value_error(std::string(name) + " must have shape (3, " + std::to_string(rows) + ", " +
                                  std::to_string(m) + ")");
        const auto size = static_cast<size_t>(rows * m);
        for (int s = 0; s < 3; ++s) (*out)[s].assign(x->data() + s * size, x->data() + (s + 1) * size);
    }
    try {
        f->check();
    } catch (const std::invalid_argument &e) {
        throw py::value_error(e.what());
    }
    return f;
}

// Per snapshot: phase voltages, phase currents at both branch ends (pu), slack power per phase
// (kVA), sweeps taken and whether they converged.
struct PhaseFlows {
    py::array_t<en::cplx> v, i_from, i_to, slack_kva;
    py::array_t<int32_t> iterations;
    py::array_t<bool> converged;
};

PhaseFlows solve(const en::SequenceFeeder &feeder, const py::object &pos, const py::object &delta,
                 const CArray<double> &p_kw, const CArray<double> &q_kvar, double tol_pu, int32_t max_iterations,
                 int64_t lane_length, int n_threads) {
    en::PhaseInjections inj;
    inj.pos = integers<int32_t>(pos, "pos");
    inj.delta = integers<uint8_t>(delta, "delta");
    if (inj.delta.size() != inj.pos.size()) throw py::value_error("pos and delta must have the same length");
    const auto m = static_cast<py::ssize_t>(inj.pos.size());
    if (p_kw.ndim() != 3 || p_kw.shape(1) != m || p_kw.shape(2) != 3)
        throw py::value_error("p_kw must have shape (T, " + std::to_string(m) + ", 3)");
    const py::ssize_t t = p_kw.shape(0);
    if (q_kvar.ndim() != 3 || q_kvar.shape(0) != t || q_kvar.shape(1) != m || q_kvar.shape(2) != 3)
        throw py::value_error("q_kvar must have the shape of p_kw");
    inj.n_snapshots = t;
    inj.p_kw = p_kw.data();
    inj.q_kvar = q_kvar.data();
    const py::ssize_t n_bus = feeder.size(), n_branch = n_bus - 1;
    py::array_t<en::cplx> v({t, n_bus, py::ssize_t{3}}), i_from({t, n_branch, py::ssize_t{3}}),
        i_to({t, n_branch, py::ssize_t{3}}), slack({t, py::ssize_t{3}});
    py::array_t<int32_t> iterations(t);
    py::array_t<bool> converged(t);
    const en::PhaseOutputs out{v.mutable_data(), i_from.mutable_data(), i_to.mutable_data(), slack.mutable_data(),
                               iterations.mutable_data(), reinterpret_cast<uint8_t *>(converged.mutable_data())};
    const en::SweepOptions options{tol_pu, max_iterations, lane_length};
    without_gil([&] { en::solve_unbalanced_batch(feeder, inj, options, n_threads, out); });
    return {v, i_from, i_to, slack, iterations, converged};
}

}  // namespace

PYBIND11_MODULE(_unbalanced_power_flow, m) {
    m.doc() =
        "Three-phase unbalanced power flow of radial and weakly meshed feeders (backward/forward sweep in symmetrical "
        "components, loops by compensation), batched over snapshots.";
    py::class_<en::SequenceFeeder, std::shared_ptr<en::SequenceFeeder>>(m, "SequenceFeeder")
        .def_property_readonly("num_buses", &en::SequenceFeeder::size);
    m.def("make_feeder", &make_feeder, py::arg("bus"), py::arg("parent"), py::arg("branch"), py::arg("flipped"),
          py::arg("a"), py::arg("b"), py::arg("c"), py::arg("d"), py::arg("v_slack"), py::arg("z0_source"),
          py::arg("z2_source"), py::arg("base_kva"), py::arg("breakpoint_leaf") = py::array_t<int32_t>(0),
          py::arg("breakpoint_bus") = py::array_t<int32_t>(0),
          py::arg("loop_admittance") = py::array_t<en::cplx>(std::vector<py::ssize_t>{3, 0, 0}),
          py::arg("loop_voltage") = py::none());
    py::class_<PhaseFlows>(m, "PhaseFlows",
                           "Per snapshot: phase voltages, phase currents (pu), slack power per phase (kVA), sweeps")
        .def_readonly("v", &PhaseFlows::v)
        .def_readonly("i_from", &PhaseFlows::i_from)
        .def_readonly("i_to", &PhaseFlows::i_to)
        .def_readonly("slack_kva", &PhaseFlows::slack_kva)
        .def_readonly("iterations", &PhaseFlows::iterations)
        .def_readonly("converged", &PhaseFlows::converged);
    m.def("solve", &solve, py::arg("feeder"), py::arg("pos"), py::arg("delta"), py::arg("p_kw"), py::arg("q_kvar"),
          py::arg("tol_pu"), py::arg("max_iterations"), py::arg("lane_length"), py::arg("n_threads"));
}
