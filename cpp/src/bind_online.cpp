// Bindings for the online engines: PROP_c and EF_c item allocation, public decisions
// and the baselines. Every step/run validates its input (shape, NaN/inf, negative)
// before touching state; run releases the GIL around the loop (raw buffers only).
#include "bind_common.hpp"

#include <limits>
#include <sstream>
#include <utility>
#include <optional>
#include <string>

#include "fastfair/baselines.hpp"
#include "fastfair/ef_allocator.hpp"
#include "fastfair/prop_allocator.hpp"
#include "fastfair/public_decisions.hpp"

namespace {

using fastfair_bind::f64_in;
using fastfair_bind::real_f64;
using fastfair_bind::BusyFlag;
using fastfair_bind::BusyGuard;
using i64_out = py::array_t<std::int64_t>;

// Engines as bound to Python: the C++ engine plus the busy flag that turns use from two
// threads into RuntimeError.
template <class Engine>
struct Guarded : Engine {
    template <class... A>
    explicit Guarded(A&&... a) : Engine(std::forward<A>(a)...) {}
    BusyFlag busy;
};
using PropPy = Guarded<fastfair::PropAllocator>;
using EfPy = Guarded<fastfair::EfAllocator>;
using PdmPy = Guarded<fastfair::PublicDecisionMaker>;

template <class E> const char* kind_name();
template <> const char* kind_name<PropPy>() { return "OnlineAllocator(notion='prop')"; }
template <> const char* kind_name<EfPy>() { return "OnlineAllocator(notion='ef')"; }
template <> const char* kind_name<PdmPy>() { return "PublicDecisionMaker"; }

double opt_p(const std::optional<double>& p) {
    return p ? *p : std::numeric_limits<double>::quiet_NaN();
}
double opt_gamma(const std::optional<double>& g) {
    if (!g) return 0.0;
    if (*g == 0.0)  // 0 is our internal "no discount": reject it explicitly
        throw py::value_error("discount must lie strictly between 0 and 1, got 0");
    return *g;
}
fastfair::TieBreak tie_of(const std::string& s, const char* alt) {
    if (s == "index") return fastfair::TieBreak::Index;
    if (s == alt) return fastfair::TieBreak::Value;
    throw py::value_error(std::string("tie_break must be '") + alt + "' or 'index', got '" + s +
                          "'");
}
const char* tie_str(fastfair::TieBreak t, const char* alt) {
    return t == fastfair::TieBreak::Index ? "index" : alt;
}

constexpr std::size_t kNoBad = static_cast<std::size_t>(-1);

// The flat index of the first value that is not finite, >= 0 and <= kMaxValue (so no sum
// over < 2^64 rounds can overflow), or kNoBad. Needs no GIL.
std::size_t first_bad_value(const double* x, std::size_t count) noexcept {
    const std::size_t i = fastfair_bind::first_outside(x, count, fastfair::kMaxValue);
    return i == count ? kNoBad : i;
}

// The ValueError for the bad value x at flat index i.
[[noreturn]] void throw_bad_value(double x, std::size_t i, const char* name) {
    std::ostringstream os;
    if (!(x >= 0.0) || !std::isfinite(x))
        os << name << " must be finite and >= 0, got " << x << " at flat index " << i;
    else
        os << name << " must be <= " << fastfair::kMaxValue
           << " (DBL_MAX / 2^64, so that utilities and deficits cannot overflow), got " << x
           << " at flat index " << i;
    throw py::value_error(os.str());
}

void require_values(const double* x, std::size_t count, const char* name) {
    const std::size_t i = first_bad_value(x, count);
    if (i != kNoBad) throw_bad_value(x[i], i, name);
}

// run(): the whole input is checked in one pass with the GIL released, before the first
// round: T rows of row_len values each and, through row_ok(t), each round's mask row. The
// rows are visited in chunks (values, then the chunk's mask rows) so the input is read
// from memory once. Errors are reported after the GIL is back (report_run): a bad value
// wins over a bad mask row, as when the checks were separate passes.
struct RunCheck {
    std::size_t bad_value = kNoBad;  // flat index of the first bad value
    std::size_t bad_row = kNoBad;    // first round whose mask row is refused
    bool ok() const noexcept { return bad_value == kNoBad && bad_row == kNoBad; }
};

template <class RowOk>
RunCheck check_run(const double* V, std::size_t T, std::size_t row_len,
                   RowOk row_ok) noexcept {
    RunCheck c;
    const std::size_t chunk = std::max<std::size_t>(1, 4096 / std::max<std::size_t>(1, row_len));
    for (std::size_t t0 = 0; t0 < T; t0 += chunk) {
        const std::size_t t1 = std::min(T, t0 + chunk);
        const std::size_t b = first_bad_value(V + t0 * row_len, (t1 - t0) * row_len);
        if (b != kNoBad) {
            c.bad_value = t0 * row_len + b;
            return c;
        }
        if (c.bad_row == kNoBad)
            for (std::size_t t = t0; t < t1; ++t)
                if (!row_ok(t)) {
                    c.bad_row = t;
                    break;
                }
    }
    return c;
}

// Raises the values error check_run found, if any (GIL held).
void report_values(const RunCheck& c, const double* V) {
    if (c.bad_value != kNoBad) throw_bad_value(V[c.bad_value], c.bad_value, "values");
}

const double* checked_row(const f64_in& values, std::size_t n) {
    fastfair_bind::require_ndim(values, 1, "values");
    fastfair_bind::require_len(values, 0, static_cast<py::ssize_t>(n), "values");
    require_values(values.data(), n, "values");
    return values.data();
}

// The number of rounds of a (T, n) values matrix (shape checks only: check_run checks
// the values themselves).
std::size_t matrix_rounds(const f64_in& values, std::size_t n) {
    fastfair_bind::require_ndim(values, 2, "values");
    fastfair_bind::require_len(values, 1, static_cast<py::ssize_t>(n), "values");
    return static_cast<std::size_t>(values.shape(0));
}

// One round's values row (length n), checked: read in place when it is a plain float64
// array (fastfair_bind::plain_f64_row), else converted once into `keep`.
const double* values_row(py::handle values, std::size_t n, py::object& keep) {
    const double* v = fastfair_bind::plain_f64_row(values, n);
    if (v != nullptr) {
        require_values(v, n, "values");
        return v;
    }
    f64_in c = real_f64(values, "values");
    v = checked_row(c, n);
    keep = std::move(c);
    return v;
}

// `first` is the flat index of v[0] in the caller's input (for the message).
void require_unit(const double* v, std::size_t count, std::size_t first = 0) {
    for (std::size_t i = 0; i < count; ++i)
        if (v[i] > 1.0) {
            std::ostringstream os;
            os << "values must lie in [0, 1] for Benade2018, got " << v[i]
               << " at flat index " << first + i;
            throw py::value_error(os.str());
        }
}

// A 0/1 mask as contiguous bytes: bool arrays are used in place; int/float arrays must
// hold only 0 and 1. Anything else (other dtypes, masked arrays) is a ValueError.
// (keep is a py::object, not a py::array: a default py::array allocates an empty array)
struct Mask {
    py::object keep;
    const std::uint8_t* data = nullptr;
    py::ssize_t ndim = 0;
    py::ssize_t rows = 0, cols = 0;
};

Mask to_mask(py::handle obj, const char* name) {
    Mask m;
    if (py::isinstance<py::array>(obj) && fastfair_bind::is_masked_array(obj))
        throw py::value_error(std::string(name) + " must not be a masked array");
    py::array arr = py::array::ensure(obj);
    if (!arr) throw py::value_error(std::string(name) + " must be a bool array");
    const char kind = arr.dtype().kind();
    py::array kept = arr;
    if (kind == 'b' && arr.itemsize() == 1 &&
        (arr.flags() & py::array::c_style) == py::array::c_style) {
        kept = arr;  // numpy bools are bytes 0/1: used in place, no copy
    } else if (kind == 'b') {
        kept = py::array_t<std::uint8_t, py::array::c_style | py::array::forcecast>::ensure(
            arr.attr("view")(py::dtype("u1")));
        if (!kept) throw py::value_error(std::string(name) + " cannot be read as bool");
    } else if (kind == 'i' || kind == 'u' || kind == 'f') {
        auto f = f64_in::ensure(arr);
        if (!f) throw py::value_error(std::string(name) + " cannot be read as 0/1 numbers");
        py::array_t<std::uint8_t> out(f.request().shape);
        const double* x = f.data();
        std::uint8_t* o = out.mutable_data();
        for (py::ssize_t i = 0; i < f.size(); ++i) {
            if (x[i] != 0.0 && x[i] != 1.0) {
                std::ostringstream os;
                os << name << " must be a bool array or hold only 0 and 1, got " << x[i]
                   << " at flat index " << i;
                throw py::value_error(os.str());
            }
            o[i] = x[i] != 0.0;
        }
        kept = out;
    } else {
        throw py::value_error(std::string(name) + " must be a bool array (or 0/1 numbers), got dtype " +
                              py::str(arr.dtype()).cast<std::string>());
    }
    m.data = static_cast<const std::uint8_t*>(kept.data());
    m.ndim = kept.ndim();
    if (m.ndim >= 1) m.rows = kept.shape(0);
    if (m.ndim >= 2) m.cols = kept.shape(1);
    m.keep = std::move(kept);
    return m;
}

// A per-round mask for `rounds` rounds of width `width`: (width,) for every round or
// (rounds, width). Returns the row stride (0 for a shared row).
std::size_t mask_stride(const Mask& m, std::size_t rounds, std::size_t width, const char* name) {
    const auto w = static_cast<py::ssize_t>(width);
    if (m.ndim == 1 && m.rows == w) return 0;
    if (m.ndim == 2 && m.rows == static_cast<py::ssize_t>(rounds) && m.cols == w) return width;
    std::ostringstream os;
    os << name << " must have shape (" << width << ",) or (" << rounds << ", " << width
       << "), got " << py::str(m.keep.attr("shape")).cast<std::string>();
    throw py::value_error(os.str());
}

py::array_t<double> vec_copy(const std::vector<double>& x) {
    py::array_t<double> out(static_cast<py::ssize_t>(x.size()));
    std::copy(x.begin(), x.end(), out.mutable_data());
    return out;
}
py::array_t<bool> bool_copy(const std::vector<std::uint8_t>& x) {
    py::array_t<bool> out(static_cast<py::ssize_t>(x.size()));
    for (std::size_t i = 0; i < x.size(); ++i) out.mutable_data()[i] = x[i] != 0;
    return out;
}
py::array_t<double> mat_copy(const std::vector<double>& x, std::size_t n) {
    py::array_t<double> out({static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(n)});
    std::copy(x.begin(), x.end(), out.mutable_data());
    return out;
}

py::object gamma_obj(double g) { return g > 0.0 ? py::object(py::float_(g)) : py::none(); }

// ---- state helpers -------------------------------------------------------------------
[[noreturn]] void bad_state(const std::string& what) {
    throw py::value_error("invalid state: " + what);
}

py::object state_get(const py::dict& st, const char* key) {
    if (!st.contains(key)) bad_state(std::string("missing key '") + key + "'");
    return st[key];
}

template <class T>
T state_scalar(const py::dict& st, const char* key) {
    const py::object o = state_get(st, key);
    try {
        return o.cast<T>();
    } catch (const py::cast_error&) {
        bad_state(std::string("'") + key + "' has the wrong type");
    }
}

std::vector<double> state_array(const py::dict& st, const char* key,
                                std::vector<py::ssize_t> shape, bool nonneg) {
    f64_in a;
    try {
        a = real_f64(state_get(st, key), key);
    } catch (const py::error_already_set&) {
        bad_state(std::string("'") + key + "' is not a float array");
    } catch (const py::builtin_exception&) {
        bad_state(std::string("'") + key + "' is not a float array");
    }
    if (a.ndim() != static_cast<py::ssize_t>(shape.size()))
        bad_state(std::string("'") + key + "' has the wrong number of dimensions");
    for (std::size_t d = 0; d < shape.size(); ++d)
        if (a.shape(static_cast<py::ssize_t>(d)) != shape[d])
            bad_state(std::string("'") + key + "' has the wrong shape");
    const auto size = static_cast<std::size_t>(a.size());
    const double* x = a.data();
    for (std::size_t i = 0; i < size; ++i)
        if (!(std::fabs(x[i]) <= fastfair::kMaxStateMagnitude) || (nonneg && x[i] < 0.0))
            bad_state(std::string("'") + key + "' must be finite" +
                      (nonneg ? ", >= 0" : "") + " and of magnitude <= DBL_MAX / 4");
    return std::vector<double>(x, x + size);
}

// A normalised deficit raw / scale so large that the next step could overflow.
void check_ratios(const std::vector<double>& raw, const std::vector<double>& scale,
                  const char* what) {
    for (std::size_t i = 0; i < raw.size(); ++i)
        if (raw[i] > 0.0 && scale[i] > 0.0 &&
            !(raw[i] / scale[i] <= fastfair::kMaxStateRatio))
            bad_state(std::string(what) + " gives a normalised deficit above 1e300 at flat index " +
                      std::to_string(i) + " (the next step would overflow)");
}

std::vector<std::uint8_t> state_active(const py::dict& st, std::size_t n) {
    auto a = state_array(st, "active", {static_cast<py::ssize_t>(n)}, true);
    std::vector<std::uint8_t> out(n);
    for (std::size_t i = 0; i < n; ++i) {
        if (a[i] != 0.0 && a[i] != 1.0) bad_state("'active' must hold only 0/1 (bool)");
        out[i] = a[i] != 0.0;
    }
    return out;
}

fastfair::MomentSum state_moments(const py::dict& st) {
    fastfair::MomentSum m;
    const auto plain = state_scalar<long long>(st, "moment_plain");
    if (plain < 0) bad_state("'moment_plain' must be >= 0");
    m.plain = static_cast<std::uint64_t>(plain);
    m.extra = state_scalar<double>(st, "moment_extra");
    m.peak = state_scalar<double>(st, "moment_peak");
    if (!(m.extra >= 0.0 && m.extra <= 1e300) || !(m.peak >= 0.0 && m.peak <= 1.0))
        bad_state("'moment_extra' / 'moment_peak' out of range");
    return m;
}

void put_moments(py::dict& st, const fastfair::MomentSum& m) {
    st["moment_plain"] = m.plain;
    st["moment_extra"] = m.extra;
    st["moment_peak"] = m.peak;
}

// Header: version 1 (before the scheduler extensions: n fixed, all active) or 2.
// Returns (version, rounds, n_agents of the state).
struct Header {
    int version;
    std::uint64_t rounds;
    std::size_t n;
};

template <class Engine>
Header check_header(const py::dict& st, const Engine& e, const char* kind, const char* alt) {
    const int version = state_scalar<int>(st, "version");
    if (version != 1 && version != 2) bad_state("unsupported version");
    if (state_scalar<std::string>(st, "kind") != kind)
        bad_state(std::string("kind must be '") + kind + "'");
    const auto n = state_scalar<long long>(st, "n_agents");
    if (version == 1 && n != static_cast<long long>(e.n()))
        bad_state("n_agents differs from this object's");
    if (n < static_cast<long long>(e.n()) || n > (1LL << 24))
        bad_state("n_agents must lie between this object's and 2^24");
    if (state_scalar<double>(st, "p") != e.p()) bad_state("p differs from this object's");
    const py::object g = state_get(st, "discount");
    const double gv = g.is_none() ? 0.0 : state_scalar<double>(st, "discount");
    if (gv != e.gamma()) bad_state("discount differs from this object's");
    if (version == 2 && state_scalar<std::string>(st, "tie_break") != tie_str(e.tie_break(), alt))
        bad_state("tie_break differs from this object's");
    const auto r = state_scalar<long long>(st, "rounds");
    if (r < 0) bad_state("rounds must be >= 0");
    return {version, static_cast<std::uint64_t>(r), static_cast<std::size_t>(n)};
}

template <class Engine>
py::dict state_header(const Engine& e, const char* kind, const char* alt) {
    py::dict st;
    st["version"] = Engine::kStateVersion;
    st["kind"] = kind;
    st["n_agents"] = e.n();
    st["p"] = e.p();
    st["discount"] = gamma_obj(e.gamma());
    st["tie_break"] = tie_str(e.tie_break(), alt);
    st["rounds"] = e.rounds();
    return st;
}

std::size_t agent_index(long long i, std::size_t n) {
    if (i < 0 || i >= static_cast<long long>(n))
        throw py::value_error("agent index must lie in [0, " + std::to_string(n) + "), got " +
                              std::to_string(i));
    return static_cast<std::size_t>(i);
}

// ---- item engines: common step/run ---------------------------------------------------
// step: the values row and the mask are read in place when they are plain arrays of the
// right dtype and length (plain_f64_row / plain_bool_row), else converted once; either
// way every check runs before the engine is touched.
template <class Engine>
std::int64_t item_step(Engine& e, py::handle values, py::handle eligible) {
    BusyGuard guard(e.busy, kind_name<Engine>());
    const std::size_t n = e.n();
    py::object keep;  // not an f64_in: a default py::array allocates an empty array
    const double* v = values_row(values, n, keep);
    if (eligible.is_none()) {
        if (e.n_active() == 0)
            throw py::value_error("no active agent: add_agent before allocating");
        return e.step(v, nullptr);
    }
    Mask m;
    const std::uint8_t* mask = fastfair_bind::plain_bool_row(eligible, n);
    if (mask == nullptr) {
        m = to_mask(eligible, "eligible");
        if (m.ndim != 1 || m.rows != static_cast<py::ssize_t>(n))
            throw py::value_error("eligible must have shape (" + std::to_string(n) + ",)");
        mask = m.data;
    }
    if (!e.any_eligible(mask))
        throw py::value_error("eligible must mark at least one active agent");
    return e.step(v, mask);
}

template <class Engine>
void def_item_step(py::class_<Engine>& c) {
    fastfair_bind::FastMethod<Engine, &item_step<Engine>>::install(
        c, "step", "values", "eligible",
        "step($self, /, values, eligible=None)\n--\n\n"
        "Allocate one item: values (n,) float, eligible (n,) bool or None; returns the "
        "recipient.");
}

// run: the input is converted once (GIL held), then checked in one pass and run with the
// GIL released; the busy flag keeps the object locked meanwhile. Nothing changes unless
// every round is valid.
template <class Engine>
i64_out item_run(Engine& e, py::handle values, py::handle eligible) {
    BusyGuard guard(e.busy, kind_name<Engine>());
    const f64_in vals = real_f64(values, "values");
    const std::size_t n = e.n();
    const std::size_t T = matrix_rounds(vals, n);
    Mask m;
    std::size_t stride = 0;
    if (!eligible.is_none()) {
        m = to_mask(eligible, "eligible");
        stride = mask_stride(m, T, n, "eligible");
    }
    i64_out out(static_cast<py::ssize_t>(T));
    const double* V = vals.data();
    std::int64_t* o = out.mutable_data();
    const std::uint8_t* mp = m.data;
    RunCheck c;
    {
        py::gil_scoped_release nogil;
        if (mp == nullptr || stride == 0) {
            const bool shared_ok =
                T == 0 || (mp == nullptr ? e.n_active() > 0 : e.any_eligible(mp));
            c = check_run(V, T, n, [](std::size_t) { return true; });
            if (c.bad_value == kNoBad && !shared_ok) c.bad_row = 0;
        } else {
            c = check_run(V, T, n, [&](std::size_t t) { return e.any_eligible(mp + t * stride); });
        }
        if (c.ok()) e.run(V, T, o, mp, stride);
    }
    report_values(c, V);
    if (c.bad_row != kNoBad) {
        if (mp == nullptr) throw py::value_error("no active agent: add_agent before allocating");
        throw py::value_error("eligible must mark at least one active agent in every round; row " +
                              std::to_string(c.bad_row) + " has none");
    }
    return out;
}

// unit: values must also be <= 1 (Benade2018).
template <class Baseline, bool unit>
std::int64_t baseline_step(Baseline& b, py::handle values, py::handle) {
    BusyGuard guard(b.busy, "baseline");
    py::object keep;
    const double* v = values_row(values, b.tr_.n(), keep);
    if (unit) require_unit(v, b.tr_.n());
    return b.step(v);
}

template <class Baseline, bool unit = false>
void bind_baseline(py::class_<Baseline>& cls) {
    fastfair_bind::FastMethod<Baseline, &baseline_step<Baseline, unit>>::install(
        cls, "step", "values", nullptr,
        "step($self, /, values)\n--\n\nAllocate one item: values (n,) float; returns the "
        "recipient.");
    cls
        .def("run", [](Baseline& b, py::handle values_in) {
            BusyGuard guard(b.busy, "baseline");
            const f64_in values = real_f64(values_in, "values");
            const std::size_t n = b.tr_.n();
            const std::size_t T = matrix_rounds(values, n);
            i64_out out(static_cast<py::ssize_t>(T));
            const double* V = values.data();
            std::int64_t* o = out.mutable_data();
            RunCheck c;
            {
                py::gil_scoped_release nogil;
                c = check_run(V, T, n, [V, n](std::size_t t) {
                    if (!unit) return true;
                    for (std::size_t i = 0; i < n; ++i)
                        if (V[t * n + i] > 1.0) return false;
                    return true;
                });
                if (c.ok())
                    for (std::size_t t = 0; t < T; ++t) o[t] = b.step(V + t * n);
            }
            report_values(c, V);
            if (c.bad_row != kNoBad) require_unit(V + c.bad_row * n, n, c.bad_row * n);
            return out;
        }, "values"_a)
        .def_property_readonly("n_agents", [](const Baseline& b) { return b.tr_.n(); })
        .def("rounds", [](const Baseline& b) { return b.tr_.rounds(); })
        .def("deficits", [](Baseline& b) {
            BusyGuard guard(b.busy, "baseline");
            const std::size_t n = b.tr_.n();
            py::array_t<double> out(static_cast<py::ssize_t>(n));
            for (std::size_t i = 0; i < n; ++i) out.mutable_data()[i] = b.tr_.deficit(i);
            return out;
        })
        .def("raw_deficits", [](Baseline& b) {
            BusyGuard guard(b.busy, "baseline");
            const std::size_t n = b.tr_.n();
            py::array_t<double> out(static_cast<py::ssize_t>(n));
            for (std::size_t i = 0; i < n; ++i)
                out.mutable_data()[i] = b.tr_.raw_deficit(i);
            return out;
        })
        .def("ef_deficits", [](Baseline& b) {
            BusyGuard guard(b.busy, "baseline");
            const std::size_t n = b.tr_.n();
            py::array_t<double> out({static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(n)});
            for (std::size_t i = 0; i < n; ++i)
                for (std::size_t j = 0; j < n; ++j)
                    out.mutable_data()[i * n + j] = b.tr_.ef_deficit(i, j);
            return out;
        })
        .def("bundle_values", [](Baseline& b) {
            BusyGuard guard(b.busy, "baseline");
            return mat_copy(b.tr_.VA_, b.tr_.n());
        })
        .def("utilities", [](Baseline& b) {
            BusyGuard guard(b.busy, "baseline");
            const std::size_t n = b.tr_.n();
            py::array_t<double> out(static_cast<py::ssize_t>(n));
            for (std::size_t i = 0; i < n; ++i) out.mutable_data()[i] = b.tr_.VA_[i * n + i];
            return out;
        })
        .def("get_state", [](Baseline& b) {
            BusyGuard guard(b.busy, "baseline");
            py::dict st;
            st["version"] = 1;
            st["n_agents"] = b.tr_.n();
            st["rounds"] = b.tr_.rounds();
            st["bundle_values"] = mat_copy(b.tr_.VA_, b.tr_.n());
            st["bundle_max"] = mat_copy(b.tr_.Sc_, b.tr_.n());
            st["total"] = vec_copy(b.tr_.total_);
            st["missed_max"] = vec_copy(b.tr_.miss_);
            return st;
        })
        .def("set_state", [](Baseline& b, const py::dict& st) {
            BusyGuard guard(b.busy, "baseline");
            if (state_scalar<int>(st, "version") != 1) bad_state("unsupported version");
            const std::size_t n = b.tr_.n();
            if (state_scalar<long long>(st, "n_agents") != static_cast<long long>(n))
                bad_state("n_agents differs from this object's");
            const auto r = state_scalar<long long>(st, "rounds");
            if (r < 0) bad_state("rounds must be >= 0");
            const auto nn = static_cast<py::ssize_t>(n);
            auto VA = state_array(st, "bundle_values", {nn, nn}, true);
            auto Sc = state_array(st, "bundle_max", {nn, nn}, true);
            auto tot = state_array(st, "total", {nn}, true);
            auto mi = state_array(st, "missed_max", {nn}, true);
            b.tr_.VA_ = std::move(VA);
            b.tr_.Sc_ = std::move(Sc);
            b.tr_.total_ = std::move(tot);
            b.tr_.miss_ = std::move(mi);
            b.tr_.t_ = static_cast<std::uint64_t>(r);
        }, "state"_a);
}

// PDM step: values (n, alternatives) and the available mask read in place when plain.
std::int64_t pdm_step(PdmPy& e, py::handle values_in, py::handle available) {
    BusyGuard guard(e.busy, kind_name<PdmPy>());
    const std::size_t n = e.n();
    py::object keep;  // the general path's copy, if any
    const double* v = nullptr;
    std::size_t alts = 0;
    const auto* a = fastfair_bind::plain_array(values_in, py::detail::npy_api::NPY_DOUBLE_, 2);
    if (a != nullptr && a->dimensions[0] == static_cast<py::ssize_t>(n)) {
        v = reinterpret_cast<const double*>(a->data);
        alts = static_cast<std::size_t>(a->dimensions[1]);
    } else {
        f64_in values = real_f64(values_in, "values");
        fastfair_bind::require_ndim(values, 2, "values");
        fastfair_bind::require_len(values, 0, static_cast<py::ssize_t>(n), "values");
        v = values.data();
        alts = static_cast<std::size_t>(values.shape(1));
        keep = std::move(values);
    }
    if (alts == 0) throw py::value_error("values must have at least one alternative");
    require_values(v, n * alts, "values");
    if (e.n_active() == 0) throw py::value_error("no active agent: add_agent first");
    const std::uint8_t* mask = nullptr;
    Mask m;
    if (!available.is_none()) {
        mask = fastfair_bind::plain_bool_row(available, alts);
        if (mask == nullptr) {
            m = to_mask(available, "available");
            if (m.ndim != 1 || m.rows != static_cast<py::ssize_t>(alts))
                throw py::value_error("available must have shape (" + std::to_string(alts) +
                                      ",)");
            mask = m.data;
        }
        bool any = false;
        for (std::size_t x = 0; x < alts; ++x) any = any || mask[x];
        if (!any) throw py::value_error("available must mark at least one alternative");
    }
    e.reserve(alts);
    return e.step(v, alts, mask);
}

// ---- members shared by the PROP_c, EF_c and PDM engines ---------------------------
template <class E> const char* tie_alt() { return "value"; }
template <> const char* tie_alt<PdmPy>() { return "welfare"; }

// Per-agent deficits (PROP_c, PDM); EF_c has the pairwise n x n matrix.
template <class E>
py::array_t<double> deficits_of(const E& e) {
    py::array_t<double> out(static_cast<py::ssize_t>(e.n()));
    for (std::size_t i = 0; i < e.n(); ++i) out.mutable_data()[i] = e.deficit(i);
    return out;
}
py::array_t<double> deficits_of(const EfPy& e) {
    const std::size_t n = e.n();
    py::array_t<double> out({static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(n)});
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < n; ++j) out.mutable_data()[i * n + j] = e.deficit(i, j);
    return out;
}

template <class E>
py::array_t<double> utilities_of(const E& e) { return vec_copy(e.own_); }
py::array_t<double> utilities_of(const PdmPy& e) { return vec_copy(e.U_); }

// get_state: header, the engine's own arrays (fill), then the active mask and moments.
template <class E, class Fill>
py::dict engine_state(E& e, const char* kind, Fill fill) {
    BusyGuard guard(e.busy, kind_name<E>());
    py::dict st = state_header(e, kind, tie_alt<E>());
    fill(st);
    st["active"] = bool_copy(e.act_);
    put_moments(st, e.moments_);
    return st;
}

template <class E>
void def_engine_common(py::class_<E>& c) {
    c.def("deficits", [](E& e) {
         BusyGuard guard(e.busy, kind_name<E>());
         return deficits_of(e);
     })
        .def("max_deficit", [](E& e) {
            BusyGuard guard(e.busy, kind_name<E>());
            return e.max_deficit();
        })
        .def("potential", [](E& e) {
            BusyGuard guard(e.busy, kind_name<E>());
            return e.potential();
        })
        .def("rounds", [](E& e) { return e.rounds(); })
        .def("utilities", [](E& e) {
            BusyGuard guard(e.busy, kind_name<E>());
            return utilities_of(e);
        })
        .def("bound", [](E& e) {
            BusyGuard guard(e.busy, kind_name<E>());
            return e.bound();
        })
        .def("active", [](E& e) {
            BusyGuard guard(e.busy, kind_name<E>());
            return bool_copy(e.act_);
        });
}

// add_agent without a weight (EF_c, PDM; PROP_c takes one).
template <class E>
void def_add_agent(py::class_<E>& c) {
    c.def("add_agent", [](E& e) {
        BusyGuard guard(e.busy, kind_name<E>());
        return e.add_agent();
    });
}

template <class E>
void def_engine_agents(py::class_<E>& c) {
    c.def("remove_agent", [](E& e, long long i) {
         BusyGuard guard(e.busy, kind_name<E>());
         const std::size_t k = agent_index(i, e.n());
         if (!e.active(k))
             throw py::value_error("agent " + std::to_string(k) + " is already removed");
         e.remove_agent(k);
     }, "agent"_a)
        .def_property_readonly("p", &E::p)
        .def_property_readonly("n_agents", &E::n)
        .def_property_readonly("tie_break",
                               [](const E& e) { return tie_str(e.tie_break(), tie_alt<E>()); });
}

}  // namespace

void register_online(py::module_& m) {
    // The yardstick of the benchmarks: a bare pybind11 call with step's signature.
    m.def("_noop", [](py::handle, py::handle) { return 0; }, "values"_a = py::none(),
          "eligible"_a = py::none(), "Does nothing (private: the cost of a bare call).");
    using fastfair::EfAllocator;
    using fastfair::PropAllocator;
    using fastfair::PublicDecisionMaker;
    using fastfair::TieBreak;

    // ---- PROP_c --------------------------------------------------------------------
    py::class_<PropPy> prop(m, "PropEngine",
                            "PROP_c p-potential online allocation engine (private; use "
                            "fastfair.OnlineAllocator). Not thread-safe (use from two "
                            "threads raises RuntimeError).");
    prop.def(py::init([](std::size_t n, std::optional<double> p, std::optional<double> g,
                         const std::string& tie, py::object weights) {
                 std::vector<double> w;
                 if (!weights.is_none()) {
                     const f64_in wa = real_f64(weights, "weights");
                     fastfair_bind::require_ndim(wa, 1, "weights");
                     fastfair_bind::require_len(wa, 0, static_cast<py::ssize_t>(n), "weights");
                     for (py::ssize_t i = 0; i < wa.size(); ++i) {
                         const double x = wa.data()[i];
                         if (!(x > 0.0 && x <= 1e300))
                             throw py::value_error("weights must be positive, finite and "
                                                   "<= 1e300, got " + std::to_string(x) +
                                                   " at index " + std::to_string(i));
                     }
                     w.assign(wa.data(), wa.data() + wa.size());
                 }
                 return new PropPy(n, opt_p(p), opt_gamma(g), tie_of(tie, "value"),
                                   w.empty() ? nullptr : w.data());
             }),
             "n_agents"_a, "p"_a = py::none(), "discount"_a = py::none(),
             "tie_break"_a = "index", "weights"_a = py::none())
        .def("run", &item_run<PropPy>, "values"_a, "eligible"_a = py::none());
    def_item_step(prop);
    def_engine_common(prop);
    prop.def("weights", [](PropPy& e) {
            BusyGuard guard(e.busy, kind_name<PropPy>());
            return vec_copy(e.w_);
        })
        .def("add_agent", [](PropPy& e, double w) {
            BusyGuard guard(e.busy, kind_name<PropPy>());
            if (!(w > 0.0 && w <= 1e300))
                throw py::value_error("weight must be positive, finite and <= 1e300, got " +
                                      std::to_string(w));
            return e.add_agent(w);
        }, "weight"_a = 1.0);
    def_engine_agents(prop);
    prop.def("get_state", [](PropPy& e) {
            return engine_state(e, "prop", [&e](py::dict& st) {
                st["raw_deficits"] = vec_copy(e.D_);
                st["missed_max"] = vec_copy(e.M_);
                st["total"] = vec_copy(e.total_);
                st["own"] = vec_copy(e.own_);
                st["weights"] = vec_copy(e.w_);
            });
        })
        .def("set_state", [](PropPy& e, const py::dict& st) {
            BusyGuard guard(e.busy, kind_name<PropPy>());
            const Header h = check_header(st, e, "prop", "value");
            const auto n = static_cast<py::ssize_t>(h.n);
            auto D = state_array(st, "raw_deficits", {n}, false);
            auto M = state_array(st, "missed_max", {n}, true);
            auto tot = state_array(st, "total", {n}, true);
            auto own = state_array(st, "own", {n}, true);
            check_ratios(D, M, "'raw_deficits' / 'missed_max'");
            std::vector<double> w = e.w_;
            std::vector<std::uint8_t> act(h.n, 1);
            fastfair::MomentSum mom;
            mom.plain = h.rounds;
            if (h.version == 2) {
                w = state_array(st, "weights", {n}, true);
                for (double x : w)
                    if (!(x > 0.0 && x <= 1e300)) bad_state("'weights' must lie in (0, 1e300]");
                for (std::size_t i = 0; i < e.n(); ++i)
                    if (w[i] != e.w_[i]) bad_state("'weights' differ from this object's");
                act = state_active(st, h.n);
                mom = state_moments(st);
            }
            e.grow_to(h.n);
            e.D_ = std::move(D);
            e.M_ = std::move(M);
            e.total_ = std::move(tot);
            e.own_ = std::move(own);
            e.w_ = std::move(w);
            e.act_ = std::move(act);
            e.moments_ = mom;
            e.t_ = h.rounds;
            e.refresh_weights();
        }, "state"_a);

    // ---- EF_c ----------------------------------------------------------------------
    py::class_<EfPy> ef(m, "EfEngine",
                        "EF_c p-potential online allocation engine (private; use "
                        "fastfair.OnlineAllocator). Not thread-safe (use from two threads "
                        "raises RuntimeError).");
    ef.def(py::init([](std::size_t n, std::optional<double> p, std::optional<double> g,
                         const std::string& tie) {
                 return new EfPy(n, opt_p(p), opt_gamma(g), tie_of(tie, "value"));
             }),
             "n_agents"_a, "p"_a = py::none(), "discount"_a = py::none(),
             "tie_break"_a = "index")
        .def("run", &item_run<EfPy>, "values"_a, "eligible"_a = py::none());
    def_item_step(ef);
    def_engine_common(ef);
    def_add_agent(ef);
    def_engine_agents(ef);
    ef.def("get_state", [](EfPy& e) {
            return engine_state(e, "ef", [&e](py::dict& st) {
                st["envy"] = mat_copy(e.E_, e.n());
                st["bundle_max"] = mat_copy(e.S_, e.n());
                st["own"] = vec_copy(e.own_);
            });
        })
        .def("set_state", [](EfPy& e, const py::dict& st) {
            BusyGuard guard(e.busy, kind_name<EfPy>());
            const Header h = check_header(st, e, "ef", "value");
            fastfair::require_bytes(EfAllocator::bytes_for(h.n), "this state");
            const auto n = static_cast<py::ssize_t>(h.n);
            auto E = state_array(st, "envy", {n, n}, false);
            auto S = state_array(st, "bundle_max", {n, n}, true);
            auto own = state_array(st, "own", {n}, true);
            for (py::ssize_t i = 0; i < n; ++i)
                if (E[static_cast<std::size_t>(i * n + i)] != 0.0)
                    bad_state("'envy' must have a zero diagonal");
            check_ratios(E, S, "'envy' / 'bundle_max'");
            std::vector<std::uint8_t> act(h.n, 1);
            fastfair::MomentSum mom;
            mom.plain = h.rounds;
            if (h.version == 2) {
                act = state_active(st, h.n);
                mom = state_moments(st);
            }
            e.grow_to(h.n);
            e.E_ = std::move(E);
            e.S_ = std::move(S);
            e.own_ = std::move(own);
            e.act_ = std::move(act);
            e.moments_ = mom;
            e.t_ = h.rounds;
            e.refresh_active();
            e.refresh_cache();
        }, "state"_a);

    // ---- PDM -----------------------------------------------------------------------
    py::class_<PdmPy> pdm(m, "PdmEngine",
                          "PROP_c public-decision engine (private; use "
                          "fastfair.PublicDecisionMaker). Not thread-safe (use from two "
                          "threads raises RuntimeError).");
    pdm.def(py::init([](std::size_t n, std::optional<double> p, std::optional<double> g,
                         const std::string& tie) {
                 return new PdmPy(n, opt_p(p), opt_gamma(g), tie_of(tie, "welfare"));
             }),
             "n_agents"_a, "p"_a = py::none(), "discount"_a = py::none(),
             "tie_break"_a = "index")
        .def("run", [](PdmPy& e, py::handle values_in, py::handle available) {
            BusyGuard guard(e.busy, kind_name<PdmPy>());
            const f64_in values = real_f64(values_in, "values");
            fastfair_bind::require_ndim(values, 3, "values");
            fastfair_bind::require_len(values, 1, static_cast<py::ssize_t>(e.n()), "values");
            const auto T = static_cast<std::size_t>(values.shape(0));
            const auto alts = static_cast<std::size_t>(values.shape(2));
            if (alts == 0) throw py::value_error("values must have at least one alternative");
            Mask m;
            std::size_t stride = 0;
            if (!available.is_none()) {
                m = to_mask(available, "available");
                stride = mask_stride(m, T, alts, "available");
            }
            e.reserve(alts);
            i64_out out(static_cast<py::ssize_t>(T));
            const double* V = values.data();
            std::int64_t* o = out.mutable_data();
            const std::uint8_t* mp = m.data;
            const auto row_ok = [mp, stride, alts](std::size_t t) {
                if (mp == nullptr) return true;
                bool any = false;
                for (std::size_t x = 0; x < alts; ++x) any = any || mp[t * stride + x];
                return any;
            };
            RunCheck c;
            bool no_agent = false;
            {
                py::gil_scoped_release nogil;
                no_agent = T > 0 && e.n_active() == 0;
                if (stride == 0) {  // one shared row (or none): checked once
                    c = check_run(V, T, e.n() * alts, [](std::size_t) { return true; });
                    if (T > 0 && !row_ok(0)) c.bad_row = 0;
                } else {
                    c = check_run(V, T, e.n() * alts, row_ok);
                }
                if (c.ok() && !no_agent) e.run(V, T, alts, o, mp, stride);
            }
            report_values(c, V);
            if (no_agent) throw py::value_error("no active agent: add_agent first");
            if (c.bad_row != kNoBad)
                throw py::value_error("available must mark at least one alternative in every "
                                      "round; row " + std::to_string(c.bad_row) + " has none");
            return out;
        }, "values"_a, "available"_a = py::none());
    fastfair_bind::FastMethod<PdmPy, &pdm_step>::install(
        pdm, "step", "values", "available",
        "step($self, /, values, available=None)\n--\n\nDecide one round: values (n, "
        "alternatives) float, available (alternatives,) bool or None; returns the choice.");
    def_engine_common(pdm);
    def_add_agent(pdm);
    def_engine_agents(pdm);
    pdm.def("get_state", [](PdmPy& e) {
            return engine_state(e, "pdm", [&e](py::dict& st) {
                st["raw_deficits"] = vec_copy(e.D_);
                st["scale"] = vec_copy(e.R_);
                st["utilities"] = vec_copy(e.U_);
            });
        })
        .def("set_state", [](PdmPy& e, const py::dict& st) {
            BusyGuard guard(e.busy, kind_name<PdmPy>());
            const Header h = check_header(st, e, "pdm", "welfare");
            const auto n = static_cast<py::ssize_t>(h.n);
            auto D = state_array(st, "raw_deficits", {n}, false);
            auto R = state_array(st, "scale", {n}, true);
            auto U = state_array(st, "utilities", {n}, true);
            check_ratios(D, R, "'raw_deficits' / 'scale'");
            std::vector<std::uint8_t> act(h.n, 1);
            fastfair::MomentSum mom;
            mom.plain = h.rounds;
            if (h.version == 2) {
                act = state_active(st, h.n);
                mom = state_moments(st);
            }
            e.grow_to(h.n);
            e.D_ = std::move(D);
            e.R_ = std::move(R);
            e.U_ = std::move(U);
            e.act_ = std::move(act);
            e.moments_ = mom;
            e.t_ = h.rounds;
            e.refresh_active();
        }, "state"_a);

    // ---- baselines -----------------------------------------------------------------
    py::class_<Guarded<fastfair::RoundRobin>> rr(m, "RoundRobinEngine");
    rr.def(py::init<std::size_t>(), "n_agents"_a);
    bind_baseline(rr);
    py::class_<Guarded<fastfair::GreedyMaxDeficit>> gm(m, "GreedyMaxDeficitEngine");
    gm.def(py::init<std::size_t>(), "n_agents"_a);
    bind_baseline(gm);
    py::class_<Guarded<fastfair::Benade2018>> bn(m, "Benade2018Engine");
    bn.def(py::init([](std::size_t n, double horizon, std::optional<double> lam) {
              return new Guarded<fastfair::Benade2018>(n, horizon, opt_p(lam));
          }),
          "n_agents"_a, "horizon"_a, "lam"_a = py::none())
        .def_property_readonly("lam", &fastfair::Benade2018::lam)
        .def_property_readonly("horizon", &fastfair::Benade2018::horizon);
    bind_baseline<Guarded<fastfair::Benade2018>, true>(bn);
}
