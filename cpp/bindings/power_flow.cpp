// pybind11 bindings of the power flow (radial and weakly meshed feeders): smartopt._core._power_flow.
// Private module: smartopt.energy.power_flow validates user input first; the C++ side checks again.
#include "arrays.hpp"

#include <pybind11/complex.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <memory>
#include <string>
#include <vector>

#include "smartopt/energy/power_flow.hpp"

namespace py = pybind11;
namespace en = smartopt::energy;

namespace {

using smartopt::bindings::CArray;
using smartopt::bindings::integers;
using smartopt::bindings::to_vector;
using smartopt::bindings::without_gil;

std::shared_ptr<en::Feeder> make_feeder(const py::object &bus, const py::object &parent, const py::object &branch,
                                        const py::object &flipped,
                                        const CArray<en::cplx> &a, const CArray<en::cplx> &b,
                                        const CArray<en::cplx> &c, const CArray<en::cplx> &d, en::cplx v_slack,
                                        double base_kva, const py::object &breakpoint_leaf,
                                        const py::object &breakpoint_bus, const CArray<en::cplx> &loop_admittance,
                                        const py::object &loop_voltage) {
    auto f = std::make_shared<en::Feeder>();
    f->bus = integers<int32_t>(bus, "bus");
    f->parent = integers<int32_t>(parent, "parent");
    f->branch = integers<int32_t>(branch, "branch");
    f->flipped = integers<uint8_t>(flipped, "flipped");
    f->a = to_vector(a, "a");
    f->b = to_vector(b, "b");
    f->c = to_vector(c, "c");
    f->d = to_vector(d, "d");
    f->v_slack = v_slack;
    f->base_kva = base_kva;
    f->breakpoint_leaf = integers<int32_t>(breakpoint_leaf, "breakpoint_leaf");
    f->breakpoint_bus = integers<int32_t>(breakpoint_bus, "breakpoint_bus");
    const auto m = static_cast<py::ssize_t>(f->breakpoint_leaf.size());
    if (loop_admittance.ndim() != 2 || loop_admittance.shape(0) != m || loop_admittance.shape(1) != m)
        throw py::value_error("loop_admittance must have shape (loops, loops) = (" + std::to_string(m) + ", " +
                              std::to_string(m) + ")");
    f->loop_admittance.assign(loop_admittance.data(), loop_admittance.data() + loop_admittance.size());
    // None: no loops (shape (buses, 0)).
    const auto n = static_cast<py::ssize_t>(f->bus.size());
    const auto s = loop_voltage.is_none() ? CArray<en::cplx>(std::vector<py::ssize_t>{n, 0})
                                          : CArray<en::cplx>::ensure(loop_voltage);
    if (!s || s.ndim() != 2 || s.shape(0) != n || s.shape(1) != m)
        throw py::value_error("loop_voltage must be a complex array of shape (buses, loops) = (" + std::to_string(n) +
                              ", " + std::to_string(m) + ")");
    f->loop_voltage.assign(s.data(), s.data() + s.size());
    try {
        f->check();
    } catch (const std::invalid_argument &e) {
        throw py::value_error(e.what());
    }
    return f;
}

// The (T, n) shape of a power array with n columns; ValueError naming it otherwise.
void check_powers(const CArray<double> &a, py::ssize_t t, size_t n, const char *name) {
    if (a.ndim() != 2 || a.shape(0) != t || a.shape(1) != static_cast<py::ssize_t>(n))
        throw py::value_error(std::string(name) + " must have shape (T, " + std::to_string(n) + ")");
}

// Per snapshot: bus voltages, branch currents at both ends (p.u.), slack power (kVA), sweeps taken
// and whether they converged.
struct Flows {
    py::array_t<en::cplx> v, i_from, i_to, slack_kva;
    py::array_t<int32_t> iterations;
    py::array_t<bool> converged;
};

Flows solve(const en::Feeder &feeder, const py::object &load_pos, const CArray<double> &load_p_kw,
               const CArray<double> &load_q_kvar, const py::object &gen_pos, const CArray<double> &gen_p_kw,
               const CArray<double> &gen_q_kvar, double tol_pu, int32_t max_iterations, int64_t lane_length,
               int n_threads) {
    en::Injections inj;
    inj.load_pos = integers<int32_t>(load_pos, "load_pos");
    inj.gen_pos = integers<int32_t>(gen_pos, "gen_pos");
    if (load_p_kw.ndim() != 2) throw py::value_error("load_p_kw must be two-dimensional (T, n_load)");
    const py::ssize_t t = load_p_kw.shape(0);
    check_powers(load_p_kw, t, inj.load_pos.size(), "load_p_kw");
    check_powers(load_q_kvar, t, inj.load_pos.size(), "load_q_kvar");
    check_powers(gen_p_kw, t, inj.gen_pos.size(), "gen_p_kw");
    check_powers(gen_q_kvar, t, inj.gen_pos.size(), "gen_q_kvar");
    inj.n_snapshots = t;
    inj.load_p_kw = load_p_kw.data();
    inj.load_q_kvar = load_q_kvar.data();
    inj.gen_p_kw = gen_p_kw.data();
    inj.gen_q_kvar = gen_q_kvar.data();
    const py::ssize_t n_bus = feeder.size(), n_branch = n_bus - 1;
    py::array_t<en::cplx> v({t, n_bus}), i_from({t, n_branch}), i_to({t, n_branch}), slack(t);
    py::array_t<int32_t> iterations(t);
    py::array_t<bool> converged(t);
    const en::Outputs out{v.mutable_data(), i_from.mutable_data(), i_to.mutable_data(), slack.mutable_data(),
                          iterations.mutable_data(), reinterpret_cast<uint8_t *>(converged.mutable_data())};
    const en::SweepOptions options{tol_pu, max_iterations, lane_length};
    without_gil([&] { en::solve_batch(feeder, inj, options, n_threads, out); });
    return {v, i_from, i_to, slack, iterations, converged};
}

}  // namespace

PYBIND11_MODULE(_power_flow, m) {
    m.doc() =
        "Power flow of radial and weakly meshed feeders (backward/forward sweep over two-port branches, loops by "
        "compensation), batched over snapshots.";
    py::class_<en::Feeder, std::shared_ptr<en::Feeder>>(m, "Feeder")
        .def_property_readonly("num_buses", &en::Feeder::size)
        .def_property_readonly("loops", &en::Feeder::loops);
    m.def("make_feeder", &make_feeder, py::arg("bus"), py::arg("parent"), py::arg("branch"), py::arg("flipped"),
          py::arg("a"), py::arg("b"), py::arg("c"), py::arg("d"), py::arg("v_slack"), py::arg("base_kva"),
          py::arg("breakpoint_leaf") = py::array_t<int32_t>(0), py::arg("breakpoint_bus") = py::array_t<int32_t>(0),
          py::arg("loop_admittance") = py::array_t<en::cplx>(std::vector<py::ssize_t>{0, 0}),
          py::arg("loop_voltage") = py::none());
    py::class_<Flows>(m, "Flows", "Per snapshot: voltages, branch currents (p.u.), slack power (kVA), sweeps")
        .def_readonly("v", &Flows::v)
        .def_readonly("i_from", &Flows::i_from)
        .def_readonly("i_to", &Flows::i_to)
        .def_readonly("slack_kva", &Flows::slack_kva)
        .def_readonly("iterations", &Flows::iterations)
        .def_readonly("converged", &Flows::converged);
    m.def("solve", &solve, py::arg("feeder"), py::arg("load_pos"), py::arg("load_p_kw"), py::arg("load_q_kvar"),
          py::arg("gen_pos"), py::arg("gen_p_kw"), py::arg("gen_q_kvar"), py::arg("tol_pu"), py::arg("max_iterations"),
          py::arg("lane_length"), py::arg("n_threads"));
}
