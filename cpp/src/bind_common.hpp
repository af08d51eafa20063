// Included first by every binding translation unit: one consistent pybind11 prelude
// (avoids ODR surprises) plus the boundary helpers shared by all bindings.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <sstream>
#include <string>

#if defined(__SSE2__) || defined(_M_X64)
#include <emmintrin.h>
#define FASTFAIR_BIND_SSE2 1
#endif

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

// The index of the first x[i] not in [0, hi] (NaN is never in it), or count. Checks blocks
// of 256 without branches (SSE2, the x86-64 baseline: no dispatch needed) and searches
// only a bad block element by element; same result as the plain loop. Needs no GIL.
inline std::size_t first_outside(const double* x, std::size_t count, double hi) noexcept {
    constexpr std::size_t kBlock = 256;
    for (std::size_t s0 = 0; s0 < count; s0 += kBlock) {
        const std::size_t s1 = std::min(count, s0 + kBlock);
        std::size_t i = s0;
        bool good = true;
#ifdef FASTFAIR_BIND_SSE2
        const __m128d vlo = _mm_setzero_pd(), vhi = _mm_set1_pd(hi);
        __m128d ok0 = _mm_castsi128_pd(_mm_set1_epi32(-1)), ok1 = ok0;
        for (; i + 4 <= s1; i += 4) {
            const __m128d a = _mm_loadu_pd(x + i), b = _mm_loadu_pd(x + i + 2);
            ok0 = _mm_and_pd(ok0, _mm_and_pd(_mm_cmpge_pd(a, vlo), _mm_cmple_pd(a, vhi)));
            ok1 = _mm_and_pd(ok1, _mm_and_pd(_mm_cmpge_pd(b, vlo), _mm_cmple_pd(b, vhi)));
        }
        good = _mm_movemask_pd(_mm_and_pd(ok0, ok1)) == 3;
#endif
        for (; i < s1; ++i) good = good && x[i] >= 0.0 && x[i] <= hi;
        if (!good)
            for (std::size_t j = s0; j < s1; ++j)
                if (!(x[j] >= 0.0 && x[j] <= hi)) return j;
    }
    return count;
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

namespace fastfair_bind {

// ---- per-call fast paths ------------------------------------------------------------
// A call such as step() from Python costs more at the boundary than inside the engine,
// so the common case skips every conversion: an exact numpy.ndarray (never a subclass,
// so never a masked array) of the wanted dtype, native byte order, aligned and
// C-contiguous is read in place. Anything else takes the general path (real_f64,
// to_mask), which accepts the same inputs and raises the documented errors; the fast
// path only ever accepts what the general path would accept unchanged.
inline bool native_byte_order(char b) noexcept {
#if defined(__BYTE_ORDER__) && defined(__ORDER_BIG_ENDIAN__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    return b == '=' || b == '|' || b == '>';
#else
    return b == '=' || b == '|' || b == '<';
#endif
}

// The array's proxy if `obj` is a plain, in-place readable array of dtype number
// `type_num` (npy_api::NPY_DOUBLE_, NPY_BOOL_) with `ndim` dimensions, else nullptr.
inline const py::detail::PyArray_Proxy* plain_array(py::handle obj, int type_num,
                                                    int ndim) noexcept {
    const auto& api = py::detail::npy_api::get();
    if (Py_TYPE(obj.ptr()) != api.PyArray_Type_) return nullptr;
    const auto* a = py::detail::array_proxy(obj.ptr());
    constexpr int need = py::detail::npy_api::NPY_ARRAY_C_CONTIGUOUS_ |
                         py::detail::npy_api::NPY_ARRAY_ALIGNED_;
    if (a->nd != ndim || (a->flags & need) != need) return nullptr;
    const auto* d = py::detail::array_descriptor_proxy(a->descr);
    if (d->type_num != type_num || !native_byte_order(d->byteorder)) return nullptr;
    return a;
}

// A 1-D float64 array of length n read in place, or nullptr (take the general path).
inline const double* plain_f64_row(py::handle obj, std::size_t n) noexcept {
    const auto* a = plain_array(obj, py::detail::npy_api::NPY_DOUBLE_, 1);
    if (a == nullptr || a->dimensions[0] != static_cast<py::ssize_t>(n)) return nullptr;
    return reinterpret_cast<const double*>(a->data);
}

// A 1-D bool array of length n read in place (numpy bools are bytes 0/1), or nullptr.
inline const std::uint8_t* plain_bool_row(py::handle obj, std::size_t n) noexcept {
    const auto* a = plain_array(obj, py::detail::npy_api::NPY_BOOL_, 1);
    if (a == nullptr || a->dimensions[0] != static_cast<py::ssize_t>(n)) return nullptr;
    return reinterpret_cast<const std::uint8_t*>(a->data);
}

// ---- raw fast-call methods ------------------------------------------------------------
// pybind11's generic dispatcher costs more than a whole PROP step at small n, so the
// per-round methods (step) are plain CPython METH_FASTCALL methods on the bound class.
// They parse (first, second=None) positionally or by keyword exactly as the pybind11
// signature did, find the C++ object, run the same body and translate C++ exceptions
// through pybind11's translators (so every error type and message is unchanged).

// Positional-or-keyword arguments (a, b=None), or just (a) when name_b is nullptr.
// On failure sets TypeError and returns false.
inline bool parse_two(const char* fname, const char* name_a, const char* name_b,
                      PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames,
                      PyObject** a, PyObject** b) noexcept {
    *a = nullptr;
    *b = Py_None;
    const Py_ssize_t most = name_b == nullptr ? 1 : 2;
    if (nargs > most) {
        PyErr_Format(PyExc_TypeError, "%s() takes at most %zd argument(s) (%zd given)", fname,
                     most, nargs);
        return false;
    }
    if (nargs >= 1) *a = args[0];
    if (nargs >= 2) *b = args[1];
    const Py_ssize_t nk = kwnames == nullptr ? 0 : PyTuple_GET_SIZE(kwnames);
    for (Py_ssize_t k = 0; k < nk; ++k) {
        PyObject* key = PyTuple_GET_ITEM(kwnames, k);
        PyObject* val = args[nargs + k];
        const int pos = PyUnicode_CompareWithASCIIString(key, name_a) == 0 ? 1
                        : name_b != nullptr && PyUnicode_CompareWithASCIIString(key, name_b) == 0
                            ? 2
                            : 0;
        if (pos == 0) {
            PyErr_Format(PyExc_TypeError, "%s() got an unexpected keyword argument '%U'",
                         fname, key);
            return false;
        }
        if (nargs >= pos) {
            PyErr_Format(PyExc_TypeError, "%s() got multiple values for argument '%s'", fname,
                         pos == 1 ? name_a : name_b);
            return false;
        }
        *(pos == 1 ? a : b) = val;
    }
    if (*a == nullptr) {
        PyErr_Format(PyExc_TypeError, "%s() missing required argument '%s' (pos 1)", fname,
                     name_a);
        return false;
    }
    return true;
}

// The C++ object of a bound instance `self` (the method descriptor has checked its
// type); nullptr with TypeError when it was never constructed (T.__new__(T)).
template <class T>
T* self_of(PyObject* self) noexcept {
    auto* inst = reinterpret_cast<py::detail::instance*>(self);
    const py::detail::value_and_holder vh =
        inst->simple_layout ? inst->get_value_and_holder() : py::detail::value_and_holder();
    if (!inst->simple_layout || vh.value_ptr() == nullptr || !vh.holder_constructed()) {
        PyErr_SetString(PyExc_TypeError, "the object was not initialised (__init__ not called)");
        return nullptr;
    }
    return static_cast<T*>(vh.value_ptr());
}

// METH_FASTCALL | METH_KEYWORDS entry for `Body(T&, py::handle, py::handle) -> int64`.
template <class T, std::int64_t (*Body)(T&, py::handle, py::handle)>
PyObject* fast_call_i64(const char* fname, const char* name_a, const char* name_b,
                        PyObject* self, PyObject* const* args, Py_ssize_t nargs,
                        PyObject* kwnames) noexcept {
    PyObject *a = nullptr, *b = nullptr;
    if (!parse_two(fname, name_a, name_b, args, nargs, kwnames, &a, &b)) return nullptr;
    T* obj = self_of<T>(self);
    if (obj == nullptr) return nullptr;
    try {
        return PyLong_FromLongLong(Body(*obj, a, b));
    } catch (...) {
        py::detail::try_translate_exceptions();
        return nullptr;
    }
}

// Installs Body as the method `name` of the bound class `cls` (replacing any pybind11
// method of that name). `doc` starts with the text signature, e.g.
// "step($self, /, values, eligible=None)\n--\n\n...". One PyMethodDef per (T, Body).
template <class T, std::int64_t (*Body)(T&, py::handle, py::handle)>
struct FastMethod {
    static inline const char* name_ = nullptr;
    static inline const char* arg_a_ = nullptr;
    static inline const char* arg_b_ = nullptr;
    static inline PyMethodDef def_{};

    static PyObject* call(PyObject* self, PyObject* const* args, Py_ssize_t nargs,
                          PyObject* kwnames) noexcept {
        return fast_call_i64<T, Body>(name_, arg_a_, arg_b_, self, args, nargs, kwnames);
    }

    static void install(py::handle cls, const char* name, const char* arg_a,
                        const char* arg_b, const char* doc) {
        name_ = name;
        arg_a_ = arg_a;
        arg_b_ = arg_b;
        def_ = {name, reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(&call)),
                METH_FASTCALL | METH_KEYWORDS, doc};
        PyObject* d = PyDescr_NewMethod(reinterpret_cast<PyTypeObject*>(cls.ptr()), &def_);
        if (d == nullptr) throw py::error_already_set();
        const int rc = PyObject_SetAttrString(cls.ptr(), name, d);
        Py_DECREF(d);
        if (rc != 0) throw py::error_already_set();
    }
};

}  // namespace fastfair_bind
