// numpy array helpers shared by the pybind11 modules.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace smartopt::bindings {

// A C-contiguous numpy array of T (other dtypes and layouts are converted on the way in). For real
// and complex T only: integer arrays go through integers(), since forcecast would turn 0.7 into 0.
template <class T>
using CArray = pybind11::array_t<T, pybind11::array::c_style | pybind11::array::forcecast>;

// A copy of a one-dimensional array; ValueError naming the argument otherwise.
template <class T>
std::vector<T> to_vector(const CArray<T> &a, const char *name) {
    if (a.ndim() != 1) throw pybind11::value_error(std::string(name) + " must be one-dimensional");
    return std::vector<T>(a.data(), a.data() + a.size());
}

// True when v (an int64_t or uint64_t) is a value of T.
template <class T, class V>
bool fits(V v) {
    if constexpr (std::is_signed_v<V>) {
        if (v < 0) return std::is_signed_v<T> && v >= static_cast<std::int64_t>(std::numeric_limits<T>::min());
    }
    return static_cast<std::uint64_t>(v) <= static_cast<std::uint64_t>(std::numeric_limits<T>::max());
}

// A copy of a one-dimensional array of integers (a numpy array or anything numpy turns into one).
// Only an integer or bool dtype is accepted (an empty array of any dtype too: it has no value to
// lose), and every value must be a T; ValueError naming the argument otherwise.
template <class T>
std::vector<T> integers(const pybind11::handle &value, const char *name) {
    namespace py = pybind11;
    const auto a = py::array::ensure(value);
    if (!a) throw py::value_error(std::string(name) + " must be an array of integers");
    if (a.ndim() != 1) throw py::value_error(std::string(name) + " must be one-dimensional");
    const char kind = a.dtype().kind();
    if (kind != 'i' && kind != 'u' && kind != 'b' && a.size() > 0)
        throw py::value_error(std::string(name) + " must be an integer or bool array, got dtype " +
                              py::str(a.dtype()).cast<std::string>());
    std::vector<T> out(static_cast<std::size_t>(a.size()));
    auto copy = [&](const auto &wide) {
        for (std::size_t i = 0; i < out.size(); ++i) {
            const auto v = wide.data()[i];
            if (!fits<T>(v))
                throw py::value_error(std::string(name) + "[" + std::to_string(i) + "]=" + std::to_string(v) +
                                      " is out of range");
            out[i] = static_cast<T>(v);
        }
    };
    if (kind == 'u')
        copy(CArray<std::uint64_t>::ensure(a));
    else
        copy(CArray<std::int64_t>::ensure(a));
    return out;
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
