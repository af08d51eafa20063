// Included first by every binding translation unit: one consistent pybind11 prelude
// (avoids ODR surprises) plus the boundary helpers shared by all bindings.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <cstdint>
#include <sstream>
#include <string>

namespace py = pybind11;
using namespace pybind11::literals;

namespace fastfair_bind {

// Inputs: anything array-like, normalised once to C-contiguous float64.
using f64_in = py::array_t<double, py::array::c_style | py::array::forcecast>;

inline void require_ndim(const py::array& a, py::ssize_t ndim, const char* name) {
    if (a.ndim() != ndim) {
        std::ostringstream os;
        os << name << " must be a " << ndim << "-dimensional array, got " << a.ndim()
           << " dimension(s)";
        throw py::value_error(os.str());
    }
}

inline void require_len(const py::array& a, py::ssize_t axis, py::ssize_t n,
                        const char* name) {
    if (a.shape(axis) != n) {
        std::ostringstream os;
        os << name << " must have length " << n << " along axis " << axis << ", got "
           << a.shape(axis);
        throw py::value_error(os.str());
    }
}

// NaN/inf check; message names the argument and the first bad position.
inline void require_finite(const double* x, std::size_t n, const char* name) {
    for (std::size_t i = 0; i < n; ++i) {
        if (!std::isfinite(x[i])) {
            std::ostringstream os;
            os << name << " must be finite, got " << x[i] << " at flat index " << i;
            throw py::value_error(os.str());
        }
    }
}

inline void require_finite_nonneg(const double* x, std::size_t n, const char* name) {
    for (std::size_t i = 0; i < n; ++i) {
        if (!std::isfinite(x[i]) || x[i] < 0.0) {
            std::ostringstream os;
            os << name << " must be finite and >= 0, got " << x[i] << " at flat index "
               << i;
            throw py::value_error(os.str());
        }
    }
}

}  // namespace fastfair_bind
