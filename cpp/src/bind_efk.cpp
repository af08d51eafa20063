// Bindings for the classical EF_k engine (fastfair/efk_allocator.hpp).
// Public entry point: python/fastfair/_efk.py (make_efk_engine), used by
// fastfair.OnlineAllocator(notion="efk").
#include "bind_common.hpp"

#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "fastfair/bounds.hpp"
#include "fastfair/efk_allocator.hpp"

namespace {

using fastfair_bind::f64_in;
constexpr int kStateVersion = 1;

// Largest memory an engine (its per-pair arrays, or its weight table) may take.
constexpr double kMaxEngineBytes = 8.0 * 1024 * 1024 * 1024;

void require_bytes(double bytes, const std::string& what) {
    if (bytes > kMaxEngineBytes) {
        std::ostringstream os;
        os.precision(4);
        os << what << " would need " << bytes << " bytes, more than the limit of "
           << kMaxEngineBytes << " bytes (8 GiB)";
        throw py::value_error(os.str());
    }
}

// A Python integer as int64; ValueError (never OverflowError) when out of range.
long long as_i64(const py::object& o, const char* what) {
    int overflow = 0;
    const long long v = PyLong_AsLongLongAndOverflow(o.ptr(), &overflow);
    if (overflow != 0) {
        std::ostringstream os;
        os << what << " is out of range (it must fit in 64 bits)";
        throw py::value_error(os.str());
    }
    if (v == -1 && PyErr_Occurred()) throw py::error_already_set();
    return v;
}

struct EFkEngine {
    fastfair::EFkAllocator eng;
    std::vector<int> lev;  // per-step scratch (no allocation per round)
    mutable fastfair_bind::BusyFlag busy;  // one call at a time (run releases the GIL)

    EFkEngine(std::size_t n, std::vector<double> levels, double p)
        : eng(n, std::move(levels), p), lev(n, -1) {}
};

std::vector<double> levels_from(const py::object& obj) {
    const f64_in arr = fastfair_bind::real_f64(obj, "levels");
    fastfair_bind::require_ndim(arr, 1, "levels");
    const auto L = static_cast<std::size_t>(arr.shape(0));
    fastfair_bind::require_finite(arr.data(), L, "levels");
    return std::vector<double>(arr.data(), arr.data() + L);
}

double resolve_p(const py::object& p, std::size_t n, std::size_t L) {
    if (p.is_none())
        return fastfair::default_p(static_cast<double>(n) * static_cast<double>(n - 1) *
                                   static_cast<double>(L));
    if (py::isinstance<py::bool_>(p) ||
        !(py::isinstance<py::float_>(p) || py::isinstance<py::int_>(p) ||
          py::isinstance(p, py::module_::import("numpy").attr("floating")) ||
          py::isinstance(p, py::module_::import("numpy").attr("integer"))))
        throw py::type_error("p must be a real number or None");
    const double v = PyFloat_AsDouble(p.ptr());  // OverflowError for huge ints
    if (v == -1.0 && PyErr_Occurred()) {
        PyErr_Clear();
        throw py::value_error("p is out of range (it must be finite and >= 2)");
    }
    if (!std::isfinite(v) || v < 2.0) throw py::value_error("p must be finite and >= 2");
    return v;
}

[[noreturn]] void bad_value(double v, const std::string& where) {
    std::ostringstream os;
    os.precision(17);
    os << "values must be 0 or one of the levels (within relative 1e-12), got " << v
       << " at " << where;
    throw py::value_error(os.str());
}

// Matches one row of item values to level indices; throws before any state change.
void match_row(const fastfair::EFkAllocator& e, const double* v, int* lev,
               const char* prefix, std::int64_t t) {
    for (std::size_t i = 0; i < e.n_agents(); ++i) {
        const int l = e.match_level(v[i]);
        if (l == -2) {
            std::ostringstream where;
            if (t < 0)
                where << prefix << "[" << i << "]";
            else
                where << prefix << "[" << t << ", " << i << "]";
            bad_value(v[i], where.str());
        }
        lev[i] = l;
    }
}

py::dict get_state(const EFkEngine& s) {
    fastfair_bind::BusyGuard guard(s.busy, "this EF_k allocator");
    const auto& e = s.eng;
    const auto n = static_cast<py::ssize_t>(e.n_agents());
    const auto L = static_cast<py::ssize_t>(e.n_levels());
    py::array_t<std::int64_t> counts({n, n, L});
    std::copy(e.counts().begin(), e.counts().end(), counts.mutable_data());
    py::array_t<double> levels(L);
    std::copy(e.levels().begin(), e.levels().end(), levels.mutable_data());
    py::dict d;
    d["version"] = kStateVersion;
    d["n_agents"] = e.n_agents();
    d["levels"] = levels;
    d["p"] = e.p();
    d["rounds"] = e.rounds();
    d["counts"] = counts;
    return d;
}

bool is_integer(const py::object& o) {
    if (py::isinstance<py::bool_>(o)) return false;
    if (py::isinstance<py::int_>(o)) return true;
    return py::isinstance(o, py::module_::import("numpy").attr("integer"));
}

py::object state_item(const py::dict& d, const char* key) {
    if (!d.contains(key)) {
        std::ostringstream os;
        os << "state is missing the key '" << key << "'";
        throw py::value_error(os.str());
    }
    return d[key];
}

void set_state(EFkEngine& s, const py::dict& d) {
    fastfair_bind::BusyGuard guard(s.busy, "this EF_k allocator");
    auto& e = s.eng;
    // --- validate everything first ---
    const py::object ver = state_item(d, "version");
    if (!is_integer(ver) || as_i64(ver, "state 'version'") != kStateVersion)
        throw py::value_error("state has an unsupported 'version' (expected 1)");
    const py::object na = state_item(d, "n_agents");
    if (!is_integer(na) ||
        as_i64(na, "state 'n_agents'") != static_cast<long long>(e.n_agents()))
        throw py::value_error("state 'n_agents' does not match this engine");
    const std::vector<double> lv = levels_from(state_item(d, "levels"));
    if (lv != e.levels()) throw py::value_error("state 'levels' do not match this engine");
    const py::object sp = state_item(d, "p");
    if (!py::isinstance<py::float_>(sp) && !is_integer(sp))
        throw py::value_error("state 'p' must be a number");
    if (resolve_p(sp, e.n_agents(), e.n_levels()) != e.p())
        throw py::value_error("state 'p' does not match this engine");
    const py::object r = state_item(d, "rounds");
    if (!is_integer(r)) throw py::value_error("state 'rounds' must be an integer");
    const long long rounds = as_i64(r, "state 'rounds'");
    if (rounds < 0) throw py::value_error("state 'rounds' must be >= 0");
    // counts enter the exact EF_k read-out as doubles: keep them exact
    if (rounds > (1LL << 53))
        throw py::value_error("state 'rounds' must be <= 2^53 (counts are exact below it)");
    const py::object cobj = state_item(d, "counts");
    if (!py::isinstance<py::array>(cobj) ||
        fastfair_bind::is_masked_array(cobj))
        throw py::value_error("state 'counts' must be an integer numpy array");
    py::array carr = py::reinterpret_borrow<py::array>(cobj);
    const char kind = carr.dtype().kind();
    if (kind != 'i' && kind != 'u') throw py::value_error("state 'counts' must be an integer array");
    auto counts = py::cast<py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>>(carr);
    const auto n = static_cast<py::ssize_t>(e.n_agents());
    const auto L = static_cast<py::ssize_t>(e.n_levels());
    if (counts.ndim() != 3 || counts.shape(0) != n || counts.shape(1) != n ||
        counts.shape(2) != L) {
        std::ostringstream os;
        os << "state 'counts' must have shape (" << n << ", " << n << ", " << L << ")";
        throw py::value_error(os.str());
    }
    const std::int64_t* c = counts.data();
    std::vector<std::int64_t> cv(c, c + n * n * L);
    for (py::ssize_t i = 0; i < n; ++i) {
        long long total = 0;  // items agent i values > 0; at most one per round
        for (py::ssize_t q = 0; q < n * L; ++q) {
            const std::int64_t v = cv[static_cast<std::size_t>(i * n * L + q)];
            if (v < 0) throw py::value_error("state 'counts' must be >= 0");
            if (v > rounds - total)
                throw py::value_error(
                    "state 'counts' are inconsistent with 'rounds' (more items than "
                    "rounds)");
            total += v;
        }
    }
    // the largest signed deficit sets the size of the weight table restore() builds:
    // check it before allocating (a count of 1e9 would need ~36 GB)
    std::int64_t kmax = 0;
    for (py::ssize_t i = 0; i < n; ++i)
        for (py::ssize_t j = 0; j < n; ++j) {
            if (i == j) continue;
            const std::int64_t* cij = &cv[static_cast<std::size_t>((i * n + j) * L)];
            const std::int64_t* cii = &cv[static_cast<std::size_t>((i * n + i) * L)];
            std::int64_t acc = 0;
            for (py::ssize_t l = L; l-- > 0;) {
                acc += cij[l] - cii[l];
                kmax = std::max(kmax, acc);
            }
        }
    {
        std::ostringstream what;
        what << "state 'counts' imply a deficit of " << kmax << "; its weight table";
        require_bytes(fastfair::EFkAllocator::table_bytes(static_cast<double>(kmax)),
                      what.str());
    }
    // --- then mutate ---
    e.restore(cv, static_cast<std::uint64_t>(rounds));
}

std::unique_ptr<EFkEngine> make_engine(const py::object& n_obj, const py::object& levels,
                                       const py::object& p) {
    if (!is_integer(n_obj)) throw py::type_error("n_agents must be an integer");
    const long long nl = as_i64(n_obj, "n_agents");
    if (nl < 2) throw py::value_error("n_agents must be an integer >= 2");
    const auto n = static_cast<std::size_t>(nl);
    std::vector<double> lv = levels_from(levels);
    require_bytes(fastfair::EFkAllocator::bytes_needed(static_cast<double>(n),
                                                       static_cast<double>(lv.size())),
                  "an EF_k engine of this many agents and levels");
    const double pp = resolve_p(p, n, lv.size());
    try {
        return std::make_unique<EFkEngine>(n, std::move(lv), pp);
    } catch (const std::invalid_argument& ex) {
        throw py::value_error(ex.what());
    }
}

// step: the values row read in place when it is a plain float64 array of length n.
std::int64_t efk_step(EFkEngine& s, py::handle values_obj, py::handle) {
    fastfair_bind::BusyGuard guard(s.busy, "this EF_k allocator");
    const std::size_t n = s.eng.n_agents();
    py::object keep;  // not an f64_in: a default py::array allocates an empty array
    const double* v = fastfair_bind::plain_f64_row(values_obj, n);
    if (v == nullptr) {
        f64_in values = fastfair_bind::real_f64(values_obj, "values");
        fastfair_bind::require_ndim(values, 1, "values");
        fastfair_bind::require_len(values, 0, static_cast<py::ssize_t>(n), "values");
        v = values.data();
        keep = std::move(values);
    }
    match_row(s.eng, v, s.lev.data(), "values", -1);
    return static_cast<std::int64_t>(s.eng.step_levels(s.lev.data()));
}

// run: the input is converted once, then (GIL released, the busy flag held) every value
// is matched to a level in a first pass that stores nothing; only then the rounds run,
// each row matched again into the engine's per-row scratch. No buffer of T x n level
// indices: matching is a hash look-up, cheaper than allocating and re-reading one.
py::array_t<std::int64_t> efk_run(EFkEngine& s, py::handle values_obj) {
    fastfair_bind::BusyGuard guard(s.busy, "this EF_k allocator");
    const f64_in values = fastfair_bind::real_f64(values_obj, "values");
    fastfair_bind::require_ndim(values, 2, "values");
    const std::size_t n = s.eng.n_agents();
    fastfair_bind::require_len(values, 1, static_cast<py::ssize_t>(n), "values");
    const auto T = static_cast<std::size_t>(values.shape(0));
    py::array_t<std::int64_t> out(static_cast<py::ssize_t>(T));
    std::int64_t* o = out.mutable_data();
    const double* v = values.data();
    const std::size_t total = T * n;
    std::size_t bad = total;
    {
        py::gil_scoped_release nogil;  // raw buffers only below
        for (std::size_t k = 0; k < total; ++k)
            if (s.eng.match_level(v[k]) == -2) {
                bad = k;
                break;
            }
        if (bad == total) {
            int* lev = s.lev.data();
            for (std::size_t t = 0; t < T; ++t) {
                const double* row = v + t * n;
                for (std::size_t i = 0; i < n; ++i) lev[i] = s.eng.match_level(row[i]);
                o[t] = static_cast<std::int64_t>(s.eng.step_levels(lev));
            }
        }
    }
    if (bad != total) {
        std::ostringstream where;
        where << "values[" << bad / n << ", " << bad % n << "]";
        bad_value(v[bad], where.str());
    }
    return out;
}

}  // namespace

void register_efk(py::module_& m) {
    py::class_<EFkEngine> cls(m, "EFkAllocator",
                          "Internal: classical EF_k threshold-deficit allocator. Use "
                          "fastfair.OnlineAllocator(notion='efk'). Not thread-safe; run() "
                          "releases the GIL.");
    fastfair_bind::FastMethod<EFkEngine, &efk_step>::install(
        cls, "step", "values", nullptr,
        "step($self, /, values)\n--\n\nAllocate one item: values (n,), each 0 or a level; "
        "returns the recipient.");
    cls.def(py::init([](const py::object& n, const py::object& levels, const py::object& p) {
                 return make_engine(n, levels, p);
             }),
             "n_agents"_a, "levels"_a, "p"_a = py::none())
        .def_property_readonly("p", [](const EFkEngine& s) { return s.eng.p(); })
        .def_property_readonly("n_agents",
                               [](const EFkEngine& s) { return s.eng.n_agents(); })
        .def_property_readonly("levels",
                               [](const EFkEngine& s) {
                                   py::array_t<double> a(
                                       static_cast<py::ssize_t>(s.eng.n_levels()));
                                   std::copy(s.eng.levels().begin(), s.eng.levels().end(),
                                             a.mutable_data());
                                   return a;
                               })
        .def("run", &efk_run, "values"_a)
        .def("deficits",
             [](const EFkEngine& s) {
                 fastfair_bind::BusyGuard guard(s.busy, "this EF_k allocator");
                 const auto n = static_cast<py::ssize_t>(s.eng.n_agents());
                 const auto L = static_cast<py::ssize_t>(s.eng.n_levels());
                 py::array_t<double> a({n, n, L});
                 s.eng.deficits(a.mutable_data());
                 return a;
             })
        .def("max_deficit", [](const EFkEngine& s) { 
            fastfair_bind::BusyGuard guard(s.busy, "this EF_k allocator");
            return s.eng.max_deficit(); })
        .def("potential", [](const EFkEngine& s) { 
            fastfair_bind::BusyGuard guard(s.busy, "this EF_k allocator");
            return s.eng.potential(); })
        .def("log_potential",
             [](const EFkEngine& s) {
                 fastfair_bind::BusyGuard guard(s.busy, "this EF_k allocator");
                 return s.eng.log_potential_sum() / s.eng.p();
             })
        .def("rounds", [](const EFkEngine& s) { 
            fastfair_bind::BusyGuard guard(s.busy, "this EF_k allocator");
            return s.eng.rounds(); })
        .def("utilities",
             [](const EFkEngine& s) {
                 fastfair_bind::BusyGuard guard(s.busy, "this EF_k allocator");
                 py::array_t<double> a(static_cast<py::ssize_t>(s.eng.n_agents()));
                 s.eng.utilities(a.mutable_data());
                 return a;
             })
        .def("bound", [](const EFkEngine& s) { 
            fastfair_bind::BusyGuard guard(s.busy, "this EF_k allocator");
            return s.eng.bound(); })
        .def("_last_deltas",
             [](const EFkEngine& s) {
                 fastfair_bind::BusyGuard guard(s.busy, "this EF_k allocator");
                 // testing aid: the last round's per-candidate change of S (internal
                 // scale), to check that cached sums are bit-identical to a rebuild
                 const auto& d = s.eng.last_deltas();
                 py::array_t<double> a(static_cast<py::ssize_t>(d.size()));
                 std::copy(d.begin(), d.end(), a.mutable_data());
                 return a;
             })
        .def("_prefix_sums",
             [](const EFkEngine& s) {
                 fastfair_bind::BusyGuard guard(s.busy, "this EF_k allocator");
                 // testing aid: the cached (G, Lo) prefix sums of every row, as read
                 const auto n = static_cast<py::ssize_t>(s.eng.n_agents());
                 const auto W = static_cast<py::ssize_t>(s.eng.n_levels() + 1);
                 py::array_t<double> a({n, n, W, static_cast<py::ssize_t>(2)});
                 s.eng.prefix_sums(a.mutable_data());
                 return a;
             })
        .def("efk", [](const EFkEngine& s) { 
            fastfair_bind::BusyGuard guard(s.busy, "this EF_k allocator");
            return s.eng.efk(); })
        .def("counts",
             [](const EFkEngine& s) {
                 fastfair_bind::BusyGuard guard(s.busy, "this EF_k allocator");
                 const auto n = static_cast<py::ssize_t>(s.eng.n_agents());
                 const auto L = static_cast<py::ssize_t>(s.eng.n_levels());
                 py::array_t<std::int64_t> a({n, n, L});
                 std::copy(s.eng.counts().begin(), s.eng.counts().end(), a.mutable_data());
                 return a;
             })
        .def("get_state", &get_state)
        .def("set_state", &set_state, "state"_a)
        .def(py::pickle(
            [](const EFkEngine& s) { return get_state(s); },
            [](const py::dict& d) {
                const py::object na = state_item(d, "n_agents");
                if (!is_integer(na) || as_i64(na, "state 'n_agents'") < 2)
                    throw py::value_error("state 'n_agents' must be an integer >= 2");
                auto eng = make_engine(na, state_item(d, "levels"), state_item(d, "p"));
                set_state(*eng, d);
                return eng;
            }));
}
