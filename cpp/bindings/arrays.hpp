// numpy array helpers shared by the pybind11 modules.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace smartopt::bindings {

// A C-contiguous numpy array of T (other dtypes and layouts are converted on the way in).
template <class T>
using CArray = pybind11::array_t<T, pybind11::array::c_style | pybind11::array::forcecast>;

// A copy of a one-dimensional array; ValueError naming the argument otherwise.
template <class T>
std::vector<T> to_vector(const CArray<T> &a, const char *name) {
    if (a.ndim() != 1) throw pybind11::value_error(std::string(name) + " must be one-dimensional");
    return std::vector<T>(a.data(), a.data() + a.size());
}

// A new one-dimensional numpy array of Out holding a copy of v.
template <class Out, class T>
pybind11::array_t<Out> to_numpy(const std::vector<T> &v) {
    pybind11::array_t<Out> out(static_cast<pybind11::ssize_t>(v.size()));
    std::copy(v.begin(), v.end(), out.mutable_data());
    return out;
}

// Runs f() with the GIL released; std::invalid_argument from the core becomes ValueError (raised
// once the GIL is held again).
template <class F>
auto without_gil(F &&f) -> decltype(f()) {
    try {
        pybind11::gil_scoped_release release;
        return std::forward<F>(f)();
    } catch (const std::invalid_argument &e) {
        throw pybind11::value_error(e.what());
    }
}

}  // namespace smartopt::bindings
