// pybind11 bindings of the signalised-network traffic model: smartopt._core._traffic.
// Private module: smartopt.signals.traffic validates user input first; the C++ side checks again.
#include "arrays.hpp"

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "smartopt/signals/traffic_model.hpp"

namespace py = pybind11;
namespace sig = smartopt::signals;

namespace {

using smartopt::bindings::CArray;
using smartopt::bindings::integers;
using smartopt::bindings::to_numpy;
using smartopt::bindings::to_vector;

// Network and demand owned together, so a Simulation can keep references to both.
struct Scenario {
    sig::TrafficNetwork net;
    sig::TrafficDemand demand;
};

std::shared_ptr<Scenario> make_scenario(const CArray<double> &free_flow_s, const CArray<double> &storage_veh,
                                        const py::object &move_in, const py::object &move_out,
                                        const py::object &move_node, const py::object &move_stages,
                                        int32_t n_signals, int32_t max_stages, const CArray<double> &entry_vps,
                                        const CArray<double> &move_share, const CArray<double> &saturation_vps,
                                        double dt_s, double dispersion_alpha, double travel_beta) {
    auto s = std::make_shared<Scenario>();
    s->net.dt_s = dt_s;
    s->net.dispersion_alpha = dispersion_alpha;
    s->net.travel_beta = travel_beta;
    s->net.free_flow_s = to_vector(free_flow_s, "free_flow_s");
    s->net.storage_veh = to_vector(storage_veh, "storage_veh");
    s->net.move_in = integers<int32_t>(move_in, "move_in");
    s->net.move_out = integers<int32_t>(move_out, "move_out");
    s->net.move_node = integers<int32_t>(move_node, "move_node");
    s->net.move_stages = integers<uint64_t>(move_stages, "move_stages");
    s->net.n_signals = n_signals;
    s->net.max_stages = max_stages;
    s->net.check();
    s->demand.entry_vps = to_vector(entry_vps, "entry_vps");
    s->demand.move_share = to_vector(move_share, "move_share");
    s->demand.saturation_vps = to_vector(saturation_vps, "saturation_vps");
    s->demand.check(s->net);
    return s;
}

// Per-link sums of a run (numpy copies of sig::LinkStats): delay (veh s), stops (veh), queue
// (veh s), largest queue (veh) and vehicles entered.
struct LinkArrays {
    py::array_t<double> delay_veh_s, stops_veh, queue_veh_s, max_queue_veh, entered_veh;
};

LinkArrays link_arrays(const sig::LinkStats &stats) {
    return {to_numpy<double>(stats.delay_veh_s), to_numpy<double>(stats.stops_veh),
            to_numpy<double>(stats.queue_veh_s), to_numpy<double>(stats.max_queue_veh),
            to_numpy<double>(stats.entered_veh)};
}

void check_shape(const py::array &a, std::vector<py::ssize_t> shape, const char *name) {
    bool ok = a.ndim() == static_cast<py::ssize_t>(shape.size());
    for (size_t i = 0; ok && i < shape.size(); ++i) ok = a.shape(static_cast<py::ssize_t>(i)) == shape[i];
    if (!ok) throw py::value_error(std::string(name) + " has the wrong shape");
}

sig::FixedPlan fixed_plan(const Scenario &s, const CArray<double> &cycle_s, const CArray<double> &offset_s,
                          const CArray<double> &window_start_s, const CArray<double> &window_end_s) {
    const py::ssize_t n = s.net.n_signals, k = s.net.max_stages;
    check_shape(cycle_s, {n}, "cycle_s");
    check_shape(offset_s, {n}, "offset_s");
    check_shape(window_start_s, {n, k}, "window_start_s");
    check_shape(window_end_s, {n, k}, "window_end_s");
    return {cycle_s.data(), offset_s.data(), window_start_s.data(), window_end_s.data()};
}

std::pair<sig::Totals, LinkArrays> simulate_fixed(std::shared_ptr<Scenario> s, const CArray<double> &cycle_s,
                                                  const CArray<double> &offset_s, const CArray<double> &window_start_s,
                                                  const CArray<double> &window_end_s, int64_t n_steps) {
    const sig::FixedPlan plan = fixed_plan(*s, cycle_s, offset_s, window_start_s, window_end_s);
    if (n_steps < 0 || n_steps > sig::kMaxSteps) throw py::value_error("n_steps is out of range");
    sig::LinkStats stats(s->net.num_links());
    sig::Totals totals;
    {
        py::gil_scoped_release release;
        totals = sig::simulate_fixed(s->net, s->demand, plan, n_steps, &stats);
    }
    return {totals, link_arrays(stats)};
}

py::array_t<double> score_plans(std::shared_ptr<Scenario> s, const CArray<double> &cycle_s,
                                const CArray<double> &offset_s, const CArray<double> &window_start_s,
                                const CArray<double> &window_end_s, int64_t n_steps, double stop_penalty_s,
                                int n_threads, double time_limit_s) {
    const py::ssize_t n = s->net.n_signals, k = s->net.max_stages;
    if (cycle_s.ndim() != 2) throw py::value_error("cycle_s must be two-dimensional (plans, signals)");
    const py::ssize_t p = cycle_s.shape(0);
    check_shape(cycle_s, {p, n}, "cycle_s");
    check_shape(offset_s, {p, n}, "offset_s");
    check_shape(window_start_s, {p, n, k}, "window_start_s");
    check_shape(window_end_s, {p, n, k}, "window_end_s");
    if (n_steps < 0 || n_steps > sig::kMaxSteps) throw py::value_error("n_steps is out of range");
    if (n_threads < 1) throw py::value_error("n_threads must be >= 1");
    if (std::isnan(time_limit_s)) throw py::value_error("time_limit_s must not be NaN");
    py::array_t<double> out(p);
    double *o = out.mutable_data();
    {
        py::gil_scoped_release release;
        // A limit of inf (or past a year) means none; 0 or less means nothing may run.
        const bool limited = time_limit_s < 3.15e7;
        const sig::Clock::time_point deadline =
            sig::Clock::now() + std::chrono::duration_cast<sig::Clock::duration>(
                                    std::chrono::duration<double>(limited ? std::max(0.0, time_limit_s) : 0.0));
        sig::score_plans(s->net, s->demand, p, cycle_s.data(), offset_s.data(), window_start_s.data(),
                         window_end_s.data(), n_steps, stop_penalty_s, o, n_threads, limited ? &deadline : nullptr);
    }
    return out;
}

// A simulation driven from Python one step at a time (adaptive control).
class Stepper {
  public:
    explicit Stepper(std::shared_ptr<Scenario> s)
        : scenario_(std::move(s)), sim_(scenario_->net, scenario_->demand), stats_(scenario_->net.num_links()) {}

    void step(const CArray<double> &green_share, int64_t n_steps) {
        check_shape(green_share, {scenario_->net.n_signals, scenario_->net.max_stages}, "green_share");
        for (py::ssize_t i = 0; i < green_share.size(); ++i)
            if (!(green_share.data()[i] >= 0 && green_share.data()[i] <= 1))
                throw py::value_error("green_share must be in [0, 1]");
        if (n_steps < 0 || n_steps > sig::kMaxSteps) throw py::value_error("n_steps is out of range");
        py::gil_scoped_release release;
        for (int64_t t = 0; t < n_steps; ++t) sim_.step(green_share.data(), &stats_);
    }

    py::array_t<double> link_queues() const {
        py::array_t<double> out(scenario_->net.num_links());
        sim_.link_queues(out.mutable_data());
        return out;
    }

    py::array_t<double> movement_queues() const {
        const auto &q = sim_.movement_queues();
        return py::array_t<double>(static_cast<py::ssize_t>(q.size()), q.data());
    }

    double time_s() const { return sim_.time_s(); }
    sig::Totals totals() const { return sim_.totals(); }
    LinkArrays link_stats() const { return link_arrays(stats_); }

  private:
    std::shared_ptr<Scenario> scenario_;
    sig::Simulation sim_;
    sig::LinkStats stats_;
};

}  // namespace

PYBIND11_MODULE(_traffic, m) {
    m.doc() = "Signalised-network traffic model (private; use smartopt.signals.TrafficModel).";
    py::class_<Scenario, std::shared_ptr<Scenario>>(m, "Scenario");
    py::class_<sig::Totals>(m, "Totals", "Network totals of a run: delay (veh s), stops and vehicles (veh)")
        .def_readonly("delay_veh_s", &sig::Totals::delay_veh_s)
        .def_readonly("stops_veh", &sig::Totals::stops_veh)
        .def_readonly("entered_veh", &sig::Totals::entered_veh)
        .def_readonly("exited_veh", &sig::Totals::exited_veh)
        .def_readonly("origin_queue_veh", &sig::Totals::origin_queue_veh);
    py::class_<LinkArrays>(m, "LinkStats", "Per link: delay and queue (veh s), stops, largest queue, entered (veh)")
        .def_readonly("delay_veh_s", &LinkArrays::delay_veh_s)
        .def_readonly("stops_veh", &LinkArrays::stops_veh)
        .def_readonly("queue_veh_s", &LinkArrays::queue_veh_s)
        .def_readonly("max_queue_veh", &LinkArrays::max_queue_veh)
        .def_readonly("entered_veh", &LinkArrays::entered_veh);
    m.def("make_scenario", &make_scenario, py::arg("free_flow_s"), py::arg("storage_veh"), py::arg("move_in"),
          py::arg("move_out"), py::arg("move_node"), py::arg("move_stages"), py::arg("n_signals"),
          py::arg("max_stages"), py::arg("entry_vps"), py::arg("move_share"), py::arg("saturation_vps"),
          py::arg("dt_s"), py::arg("dispersion_alpha"), py::arg("travel_beta"));
    m.def("simulate_fixed", &simulate_fixed, py::arg("scenario"), py::arg("cycle_s"), py::arg("offset_s"),
          py::arg("window_start_s"), py::arg("window_end_s"), py::arg("n_steps"));
    m.def("score_plans", &score_plans, py::arg("scenario"), py::arg("cycle_s"), py::arg("offset_s"),
          py::arg("window_start_s"), py::arg("window_end_s"), py::arg("n_steps"), py::arg("stop_penalty_s"),
          py::arg("n_threads"), py::arg("time_limit_s") = std::numeric_limits<double>::infinity());
    py::class_<Stepper>(m, "Stepper")
        .def(py::init<std::shared_ptr<Scenario>>(), py::arg("scenario"))
        .def("step", &Stepper::step, py::arg("green_share"), py::arg("n_steps"))
        .def("link_queues", &Stepper::link_queues)
        .def("movement_queues", &Stepper::movement_queues)
        .def_property_readonly("time_s", &Stepper::time_s)
        .def("totals", &Stepper::totals)
        .def("link_stats", &Stepper::link_stats);
}
