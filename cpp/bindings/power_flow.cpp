// pybind11 bindings of the radial power flow: smartopt._core._power_flow.
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
using smartopt::bindings::to_vector;

std::shared_ptr<en::Feeder> make_feeder(const CArray<int32_t> &bus, const CArray<int32_t> &parent,
                                        const CArray<int32_t> &branch, const CArray<uint8_t> &flipped,
                                        const CArray<en::cplx> &a, const CArray<en::cplx> &b,
                                        const CArray<en::cplx> &c, const CArray<en::cplx> &d,
                                        const CArray<double> &i_base_parent_ka, const CArray<double> &i_base_child_ka,
                                        const CArray<double> &rate_parent, const CArray<double> &rate_child,
                                        en::cplx v_slack, double base_kva) {
    auto f = std::make_shared<en::Feeder>();
    f->bus = to_vector(bus, "bus");
    f->parent = to_vector(parent, "parent");
    f->branch = to_vector(branch, "branch");
    f->flipped = to_vector(flipped, "flipped");
    f->a = to_vector(a, "a");
    f->b = to_vector(b, "b");
    f->c = to_vector(c, "c");
    f->d = to_vector(d, "d");
    f->i_base_parent_ka = to_vector(i_base_parent_ka, "i_base_parent_ka");
    f->i_base_child_ka = to_vector(i_base_child_ka, "i_base_child_ka");
    f->rate_parent = to_vector(rate_parent, "rate_parent");
    f->rate_child = to_vector(rate_child, "rate_child");
    f->v_slack = v_slack;
    f->base_kva = base_kva;
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

py::dict solve(const en::Feeder &feeder, const CArray<int32_t> &load_pos, const CArray<double> &load_p_kw,
               const CArray<double> &load_q_kvar, const CArray<int32_t> &gen_pos, const CArray<double> &gen_p_kw,
               const CArray<double> &gen_q_kvar, double tol_pu, int32_t max_iter, int n_threads) {
    en::Injections inj;
    inj.load_pos = to_vector(load_pos, "load_pos");
    inj.gen_pos = to_vector(gen_pos, "gen_pos");
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
    py::array_t<double> vm({t, n_bus}), va({t, n_bus});
    py::array_t<double> i_from({t, n_branch}), i_to({t, n_branch}), loading({t, n_branch});
    py::array_t<double> p_from({t, n_branch}), q_from({t, n_branch}), p_to({t, n_branch}), q_to({t, n_branch});
    py::array_t<double> slack_p(t), slack_q(t);
    py::array_t<int32_t> iterations(t);
    py::array_t<uint8_t> converged(t);
    const en::Outputs out{vm.mutable_data(),      va.mutable_data(),         i_from.mutable_data(),
                          i_to.mutable_data(),    loading.mutable_data(),    p_from.mutable_data(),
                          q_from.mutable_data(),  p_to.mutable_data(),       q_to.mutable_data(),
                          slack_p.mutable_data(), slack_q.mutable_data(),    iterations.mutable_data(),
                          converged.mutable_data()};
    {
        py::gil_scoped_release release;
        try {
            en::solve_batch(feeder, inj, en::SweepOptions{tol_pu, max_iter}, n_threads, out);
        } catch (const std::invalid_argument &e) {
            py::gil_scoped_acquire acquire;
            throw py::value_error(e.what());
        }
    }
    py::dict d;
    d["vm_pu"] = vm;
    d["va_degree"] = va;
    d["i_from_ka"] = i_from;
    d["i_to_ka"] = i_to;
    d["loading_percent"] = loading;
    d["p_from_kw"] = p_from;
    d["q_from_kvar"] = q_from;
    d["p_to_kw"] = p_to;
    d["q_to_kvar"] = q_to;
    d["slack_p_kw"] = slack_p;
    d["slack_q_kvar"] = slack_q;
    d["iterations"] = iterations;
    d["converged"] = converged.attr("astype")("bool");
    return d;
}

}  // namespace

PYBIND11_MODULE(_power_flow, m) {
    m.doc() = "Radial power flow (backward/forward sweep over two-port branches), batched over snapshots.";
    py::class_<en::Feeder, std::shared_ptr<en::Feeder>>(m, "Feeder")
        .def_property_readonly("num_buses", &en::Feeder::size);
    m.def("make_feeder", &make_feeder, py::arg("bus"), py::arg("parent"), py::arg("branch"), py::arg("flipped"),
          py::arg("a"), py::arg("b"), py::arg("c"), py::arg("d"), py::arg("i_base_parent_ka"),
          py::arg("i_base_child_ka"), py::arg("rate_parent"), py::arg("rate_child"), py::arg("v_slack"),
          py::arg("base_kva"));
    m.def("solve", &solve, py::arg("feeder"), py::arg("load_pos"), py::arg("load_p_kw"), py::arg("load_q_kvar"),
          py::arg("gen_pos"), py::arg("gen_p_kw"), py::arg("gen_q_kvar"), py::arg("tol_pu"), py::arg("max_iter"),
          py::arg("n_threads"));
}
