// Included first by every binding translation unit: one consistent pybind11 prelude
// (avoids ODR surprises) plus the boundary helpers shared by all bindings.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <sstream>
#include <string>

namespace py = pybind11;
using namespace pybind11::literals;

namespace fastfair_bind {

// Inputs: anything array-like, normalised once to C-contiguous float64.
using f64_in = py::array_t<double, py::array::c_style | py::array::forcecast>;

// True for numpy.ma.MaskedArray and its subclasses (the mask would be ignored).
inline bool is_masked_array(py::handle obj) {
    // Leaked on purpose: no Python object may be destroyed after interpreter shutdown.
    static py::object* masked = new py::object(py::module_::import("numpy.ma").attr("MaskedArray"));
    return PyObject_IsInstance(obj.ptr(), masked->ptr()) == 1;
}

// The one way public inputs become float64: only real numbers (bool, int, float dtypes)
// are accepted. Complex (the imaginary part would be dropped), datetime, timedelta,
// string, object, structured and masked input is a TypeError naming the argument,
// raised before any conversion. Everything else is converted once, C-contiguous.
inline f64_in real_f64(py::handle obj, const char* name) {
    py::array arr;
    if (py::isinstance<py::array>(obj)) {
        if (Py_TYPE(obj.ptr()) != py::detail::npy_api::get().PyArray_Type_ &&
            is_masked_array(obj)) {
            throw py::type_error(std::string(name) +
                                 " must not be a masked array (the mask would be ignored); "
                                 "fill or compress it first");
        }
        arr = py::reinterpret_borrow<py::array>(obj);
    } else {
        arr = py::array::ensure(obj);
        if (!arr) {
            throw py::type_error(std::string(name) + " must be an array of real numbers");
        }
    }
    const char kind = arr.dtype().kind();
    if (kind != 'b' && kind != 'i' && kind != 'u' && kind != 'f') {
        const std::string dt = py::str(arr.dtype()).cast<std::string>();
        throw py::type_error(std::string(name) +
                             " must be an array of real numbers (bool, int or float dtype), got dtype " +
                             dt);
    }
    auto out = f64_in::ensure(arr);
    if (!out) throw py::type_error(std::string(name) + " cannot be converted to float64");
    return out;
}

// Objects are not thread-safe. A second thread entering a call on an object that is
// already in a call (e.g. one that released the GIL) gets RuntimeError, never a crash or
// silently lost rounds. Copying an object never copies its busy state.
class BusyFlag {
public:
    BusyFlag() = default;
    BusyFlag(const BusyFlag&) noexcept {}
    BusyFlag& operator=(const BusyFlag&) noexcept { return *this; }
    bool try_enter() noexcept { return !busy_.exchange(true, std::memory_order_acquire); }
    void leave() noexcept { busy_.store(false, std::memory_order_release); }

private:
    std::atomic<bool> busy_{false};
};

// RAII: holds the flag for the duration of one call; `what` names the object kind.
class BusyGuard {
public:
    BusyGuard(BusyFlag& flag, const char* what) : flag_(flag) {
        if (!flag_.try_enter()) {
            throw std::runtime_error(
                std::string(what) +
                " is already in use by another thread; objects are not thread-safe "
                "(use one object per thread, or a lock)");
        }
    }
    ~BusyGuard() { flag_.leave(); }
    BusyGuard(const BusyGuard&) = delete;
    BusyGuard& operator=(const BusyGuard&) = delete;

private:
    BusyFlag& flag_;
};

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
