// numpy array helpers shared by the pybind11 modules.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>
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

}  // namespace smartopt::bindings
