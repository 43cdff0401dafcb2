#include "smartopt/energy/battery.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>

namespace smartopt::energy {

void Battery::check() const {
    const double values[] = {power_kw, eta_charge, eta_discharge, soc_min_kwh, soc_max_kwh, soc0_kwh, soc_final_kwh,
                             slot_h};
    for (double v : values)
        if (!std::isfinite(v) || v < 0) throw std::invalid_argument("battery values must be finite and >= 0");
    if (eta_charge <= 0 || eta_charge > 1 || eta_discharge <= 0 || eta_discharge > 1)
        throw std::invalid_argument("efficiencies must be in (0, 1]");
    if (slot_h <= 0) throw std::invalid_argument("slot_h must be > 0");
    if (soc_min_kwh > soc_max_kwh) throw std::invalid_argument("soc_min_kwh is above soc_max_kwh");
    if (soc0_kwh < soc_min_kwh || soc0_kwh > soc_max_kwh)
        throw std::invalid_argument("soc0_kwh is outside [soc_min_kwh, soc_max_kwh]");
    if (soc_final_kwh > soc_max_kwh) throw std::invalid_argument("soc_final_kwh is above soc_max_kwh");
}

namespace {

void check_series(const std::vector<double> &values, const char *name) {
    for (double v : values)
        if (!std::isfinite(v)) throw std::invalid_argument(std::string(name) + " must be finite");
}

double tolerance(const Battery &b) { return 1e-12 * std::max(1.0, b.soc_max_kwh); }

// One greedy pass at peak `level`; fills `out` and returns whether the level is feasible.
bool greedy(const Battery &b, const std::vector<double> &net, double level, BatteryDispatch &out) {
    const size_t n = net.size();
    const double tol = tolerance(b);
    out.charge_kw.assign(n, 0.0);
    out.discharge_kw.assign(n, 0.0);
    out.soc_kwh.assign(n + 1, b.soc0_kwh);
    double soc = b.soc0_kwh;
    for (size_t t = 0; t < n; ++t) {
        const double over = net[t] - level;
        if (over > 0) {
            if (over > b.power_kw * (1 + 1e-12)) return false;
            out.discharge_kw[t] = over;
            soc -= over * b.slot_h / b.eta_discharge;
            if (soc < b.soc_min_kwh - tol) return false;
        } else {
            const double room = std::max(0.0, (b.soc_max_kwh - soc) / (b.eta_charge * b.slot_h));
            const double c = std::min({b.power_kw, -over, room});
            out.charge_kw[t] = c;
            soc = std::min(b.soc_max_kwh, soc + c * b.eta_charge * b.slot_h);
        }
        out.soc_kwh[t + 1] = soc;
    }
    return soc >= b.soc_final_kwh - tol;
}

// A convex piecewise-linear function on [x0, x0 + total length]: its value f0 at x0 and its
// segments (slope, length) by increasing slope.
struct ConvexPwl {
    double x0 = 0.0, f0 = 0.0;
    std::vector<std::pair<double, double>> seg;

    double length() const {
        double s = 0.0;
        for (const auto &[slope, len] : seg) s += len;
        return s;
    }
    double x1() const { return x0 + length(); }
    double operator()(double x) const {
        double f = f0, at = x0;
        for (const auto &[slope, len] : seg) {
            const double step = std::min(len, x - at);
            if (step <= 0) break;
            f += slope * step;
            at += step;
        }
        return f;
    }
    // Keeps the part on [lo, hi]; false if nothing is left.
    bool restrict_to(double lo, double hi) {
        if (x0 < lo) {
            double cut = lo - x0;
            size_t k = 0;
            for (; k < seg.size() && cut > 0; ++k) {
                const double step = std::min(cut, seg[k].second);
                f0 += seg[k].first * step;
                seg[k].second -= step;
                cut -= step;
            }
            if (cut > 1e-12 * std::max(1.0, std::abs(lo))) return false;
            x0 = lo;
        }
        double cut = x1() - hi;
        while (cut > 0 && !seg.empty()) {
            const double step = std::min(cut, seg.back().second);
            seg.back().second -= step;
            cut -= step;
            if (seg.back().second <= 0) seg.pop_back();
        }
        seg.erase(std::remove_if(seg.begin(), seg.end(), [](const auto &s) { return s.second <= 0; }), seg.end());
        return x0 <= hi;
    }
};

// The infimal convolution (a [] b)(x) = min over y + z = x of a(y) + b(z): slopes merge.
ConvexPwl convolve(const ConvexPwl &a, const ConvexPwl &b) {
    ConvexPwl out{a.x0 + b.x0, a.f0 + b.f0, {}};
    out.seg.resize(a.seg.size() + b.seg.size());
    std::merge(a.seg.begin(), a.seg.end(), b.seg.begin(), b.seg.end(), out.seg.begin(),
               [](const auto &p, const auto &q) { return p.first < q.first; });
    return out;
}

}  // namespace

BatteryDispatch shave_peak(const Battery &battery, const std::vector<double> &net_kw) {
    battery.check();
    check_series(net_kw, "net_kw");
    BatteryDispatch out;
    if (net_kw.empty()) {
        out.soc_kwh = {battery.soc0_kwh};
        out.feasible = battery.soc0_kwh >= battery.soc_final_kwh - tolerance(battery);
        return out;
    }
    const double peak = *std::max_element(net_kw.begin(), net_kw.end());
    double lo = peak - battery.power_kw, hi = peak + battery.power_kw;
    if (!greedy(battery, net_kw, hi, out)) return out;  // the final state of charge is out of reach
    if (greedy(battery, net_kw, lo, out)) {
        out.feasible = true;
        return out;
    }
    for (int it = 0; it < 200 && hi - lo > 1e-14 * std::max(1.0, std::abs(hi)); ++it) {
        const double mid = 0.5 * (lo + hi);
        (greedy(battery, net_kw, mid, out) ? hi : lo) = mid;
    }
    out.feasible = greedy(battery, net_kw, hi, out);
    return out;
}

BatteryDispatch least_cost(const Battery &battery, const std::vector<double> &price) {
    battery.check();
    check_series(price, "price");
    for (double p : price)
        if (p < 0) throw std::invalid_argument("price must be >= 0");
    const size_t n = price.size();
    const Battery &b = battery;
    const double up = b.power_kw * b.slot_h * b.eta_charge;      // most the charge can grow in a slot (kWh)
    const double down = b.power_kw * b.slot_h / b.eta_discharge;  // most it can fall
    BatteryDispatch out;
    // value[t](s): least cost from slot t on with charge s at its start.
    std::vector<ConvexPwl> value(n + 1);
    value[n] = ConvexPwl{b.soc_final_kwh, 0.0, {{0.0, b.soc_max_kwh - b.soc_final_kwh}}};
    if (!value[n].restrict_to(b.soc_min_kwh, b.soc_max_kwh)) return out;
    for (size_t t = n; t-- > 0;) {
        // Cost of ending the slot u below where it started: u < 0 charges (price / eta per kWh
        // stored), u > 0 discharges (earning price * eta per kWh drawn).
        const double p = price[t];
        const ConvexPwl move{-up, p * up / b.eta_charge, {{-p / b.eta_charge, up}, {-p * b.eta_discharge, down}}};
        value[t] = convolve(value[t + 1], move);
        if (!value[t].restrict_to(b.soc_min_kwh, b.soc_max_kwh)) return out;
    }
    const double tol = tolerance(b);
    if (b.soc0_kwh < value[0].x0 - tol || b.soc0_kwh > value[0].x1() + tol) return out;
    out.charge_kw.assign(n, 0.0);
    out.discharge_kw.assign(n, 0.0);
    out.soc_kwh.assign(n + 1, b.soc0_kwh);
    double soc = b.soc0_kwh;
    std::vector<double> candidates;
    for (size_t t = 0; t < n; ++t) {
        const ConvexPwl &next = value[t + 1];
        const double lo = std::max(soc - down, next.x0), hi = std::min(soc + up, next.x1());
        candidates = {lo, hi, std::clamp(soc, lo, hi)};
        double x = next.x0;
        for (const auto &[slope, len] : next.seg) {
            x += len;
            if (x > lo && x < hi) candidates.push_back(x);
        }
        auto cost = [&](double s) {
            const double d = s - soc;
            return next(s) + price[t] * (d >= 0 ? d / b.eta_charge : d * b.eta_discharge);
        };
        double best = std::clamp(soc, lo, hi), best_cost = cost(best);
        for (double s : candidates) {
            const double c = cost(s);
            if (c < best_cost - 1e-12 * std::max(1.0, std::abs(best_cost))) {
                best = s;
                best_cost = c;
            }
        }
        const double d = best - soc;
        if (d >= 0)
            out.charge_kw[t] = std::min(b.power_kw, d / (b.eta_charge * b.slot_h));
        else
            out.discharge_kw[t] = std::min(b.power_kw, -d * b.eta_discharge / b.slot_h);
        soc = best;
        out.soc_kwh[t + 1] = soc;
    }
    out.feasible = true;
    return out;
}

}  // namespace smartopt::energy
