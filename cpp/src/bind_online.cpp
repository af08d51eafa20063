// Bindings for the online engines: PROP_c and EF_c item allocation, public decisions
// and the baselines. Every step/run validates its input (shape, NaN/inf, negative)
// before touching state; run releases the GIL around the loop (raw buffers only).
#include "bind_common.hpp"

#include <limits>
#include <optional>
#include <string>

#include "fastfair/baselines.hpp"
#include "fastfair/ef_allocator.hpp"
#include "fastfair/prop_allocator.hpp"
#include "fastfair/public_decisions.hpp"

namespace {

using fastfair_bind::f64_in;
using i64_out = py::array_t<std::int64_t>;

double opt_p(const std::optional<double>& p) {
    return p ? *p : std::numeric_limits<double>::quiet_NaN();
}
double opt_gamma(const std::optional<double>& g) {
    if (!g) return 0.0;
    if (*g == 0.0)  // 0 is our internal "no discount": reject it explicitly
        throw py::value_error("discount must lie strictly between 0 and 1, got 0");
    return *g;
}

const double* checked_row(const f64_in& values, std::size_t n) {
    fastfair_bind::require_ndim(values, 1, "values");
    fastfair_bind::require_len(values, 0, static_cast<py::ssize_t>(n), "values");
    fastfair_bind::require_finite_nonneg(values.data(), n, "values");
    return values.data();
}

std::size_t checked_matrix(const f64_in& values, std::size_t n) {
    fastfair_bind::require_ndim(values, 2, "values");
    fastfair_bind::require_len(values, 1, static_cast<py::ssize_t>(n), "values");
    const auto T = static_cast<std::size_t>(values.shape(0));
    fastfair_bind::require_finite_nonneg(values.data(), T * n, "values");
    return T;
}

void require_unit(const double* v, std::size_t count) {
    for (std::size_t i = 0; i < count; ++i)
        if (v[i] > 1.0) {
            std::ostringstream os;
            os << "values must lie in [0, 1] for Benade2018, got " << v[i]
               << " at flat index " << i;
            throw py::value_error(os.str());
        }
}

py::array_t<double> vec_copy(const std::vector<double>& x) {
    py::array_t<double> out(static_cast<py::ssize_t>(x.size()));
    std::copy(x.begin(), x.end(), out.mutable_data());
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
        a = state_get(st, key).cast<f64_in>();
    } catch (const py::cast_error&) {
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
        if (!std::isfinite(x[i]) || (nonneg && x[i] < 0.0))
            bad_state(std::string("'") + key + "' must be finite" +
                      (nonneg ? " and >= 0" : ""));
    return std::vector<double>(x, x + size);
}

template <class Engine>
std::uint64_t check_header(const py::dict& st, const Engine& e, const char* kind) {
    if (state_scalar<int>(st, "version") != Engine::kStateVersion)
        bad_state("unsupported version");
    if (state_scalar<std::string>(st, "kind") != kind)
        bad_state(std::string("kind must be '") + kind + "'");
    if (state_scalar<long long>(st, "n_agents") != static_cast<long long>(e.n()))
        bad_state("n_agents differs from this object's");
    if (state_scalar<double>(st, "p") != e.p()) bad_state("p differs from this object's");
    const py::object g = state_get(st, "discount");
    const double gv = g.is_none() ? 0.0 : state_scalar<double>(st, "discount");
    if (gv != e.gamma()) bad_state("discount differs from this object's");
    const auto r = state_scalar<long long>(st, "rounds");
    if (r < 0) bad_state("rounds must be >= 0");
    return static_cast<std::uint64_t>(r);
}

template <class Engine>
py::dict state_header(const Engine& e, const char* kind) {
    py::dict st;
    st["version"] = Engine::kStateVersion;
    st["kind"] = kind;
    st["n_agents"] = e.n();
    st["p"] = e.p();
    st["discount"] = gamma_obj(e.gamma());
    st["rounds"] = e.rounds();
    return st;
}

// ---- item engines: common step/run ---------------------------------------------------
template <class Engine>
std::int64_t item_step(Engine& e, const f64_in& values) {
    return e.step(checked_row(values, e.n()));
}

template <class Engine>
i64_out item_run(Engine& e, const f64_in& values) {
    const std::size_t T = checked_matrix(values, e.n());
    i64_out out(static_cast<py::ssize_t>(T));
    const double* V = values.data();
    std::int64_t* o = out.mutable_data();
    {
        py::gil_scoped_release nogil;
        e.run(V, T, o);
    }
    return out;
}

// unit: values must also be <= 1 (Benade2018).
template <class Baseline, bool unit = false>
void bind_baseline(py::class_<Baseline>& cls) {
    cls.def("step", [](Baseline& b, const f64_in& values) {
           const double* v = checked_row(values, b.tr_.n());
           if (unit) require_unit(v, b.tr_.n());
           return b.step(v);
       }, "values"_a)
        .def("run", [](Baseline& b, const f64_in& values) {
            const std::size_t n = b.tr_.n();
            const std::size_t T = checked_matrix(values, n);
            if (unit) require_unit(values.data(), T * n);
            i64_out out(static_cast<py::ssize_t>(T));
            const double* V = values.data();
            std::int64_t* o = out.mutable_data();
            {
                py::gil_scoped_release nogil;
                for (std::size_t t = 0; t < T; ++t) o[t] = b.step(V + t * n);
            }
            return out;
        }, "values"_a)
        .def_property_readonly("n_agents", [](const Baseline& b) { return b.tr_.n(); })
        .def("rounds", [](const Baseline& b) { return b.tr_.rounds(); })
        .def("deficits", [](const Baseline& b) {
            const std::size_t n = b.tr_.n();
            py::array_t<double> out(static_cast<py::ssize_t>(n));
            for (std::size_t i = 0; i < n; ++i) out.mutable_data()[i] = b.tr_.deficit(i);
            return out;
        })
        .def("raw_deficits", [](const Baseline& b) {
            const std::size_t n = b.tr_.n();
            py::array_t<double> out(static_cast<py::ssize_t>(n));
            for (std::size_t i = 0; i < n; ++i)
                out.mutable_data()[i] = b.tr_.raw_deficit(i);
            return out;
        })
        .def("ef_deficits", [](const Baseline& b) {
            const std::size_t n = b.tr_.n();
            py::array_t<double> out({static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(n)});
            for (std::size_t i = 0; i < n; ++i)
                for (std::size_t j = 0; j < n; ++j)
                    out.mutable_data()[i * n + j] = b.tr_.ef_deficit(i, j);
            return out;
        })
        .def("bundle_values", [](const Baseline& b) { return mat_copy(b.tr_.VA_, b.tr_.n()); })
        .def("utilities", [](const Baseline& b) {
            const std::size_t n = b.tr_.n();
            py::array_t<double> out(static_cast<py::ssize_t>(n));
            for (std::size_t i = 0; i < n; ++i) out.mutable_data()[i] = b.tr_.VA_[i * n + i];
            return out;
        })
        .def("get_state", [](const Baseline& b) {
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

}  // namespace

void register_online(py::module_& m) {
    using fastfair::EfAllocator;
    using fastfair::PropAllocator;
    using fastfair::PublicDecisionMaker;

    // ---- PROP_c --------------------------------------------------------------------
    py::class_<PropAllocator>(m, "PropEngine",
                              "PROP_c p-potential online allocation engine (private; use "
                              "fastfair.OnlineAllocator). Not thread-safe.")
        .def(py::init([](std::size_t n, std::optional<double> p, std::optional<double> g) {
                 return PropAllocator(n, opt_p(p), opt_gamma(g));
             }),
             "n_agents"_a, "p"_a = py::none(), "discount"_a = py::none())
        .def("step", &item_step<PropAllocator>, "values"_a)
        .def("run", &item_run<PropAllocator>, "values"_a)
        .def("deficits", [](const PropAllocator& e) {
            py::array_t<double> out(static_cast<py::ssize_t>(e.n()));
            for (std::size_t i = 0; i < e.n(); ++i) out.mutable_data()[i] = e.deficit(i);
            return out;
        })
        .def("max_deficit", &PropAllocator::max_deficit)
        .def("potential", &PropAllocator::potential)
        .def("rounds", &PropAllocator::rounds)
        .def("utilities", [](const PropAllocator& e) { return vec_copy(e.own_); })
        .def("bound", &PropAllocator::bound)
        .def_property_readonly("p", &PropAllocator::p)
        .def_property_readonly("n_agents", &PropAllocator::n)
        .def("get_state", [](const PropAllocator& e) {
            py::dict st = state_header(e, "prop");
            st["raw_deficits"] = vec_copy(e.D_);
            st["missed_max"] = vec_copy(e.M_);
            st["total"] = vec_copy(e.total_);
            st["own"] = vec_copy(e.own_);
            return st;
        })
        .def("set_state", [](PropAllocator& e, const py::dict& st) {
            const std::uint64_t t = check_header(st, e, "prop");
            const auto n = static_cast<py::ssize_t>(e.n());
            auto D = state_array(st, "raw_deficits", {n}, false);
            auto M = state_array(st, "missed_max", {n}, true);
            auto tot = state_array(st, "total", {n}, true);
            auto own = state_array(st, "own", {n}, true);
            e.D_ = std::move(D);
            e.M_ = std::move(M);
            e.total_ = std::move(tot);
            e.own_ = std::move(own);
            e.t_ = t;
        }, "state"_a);

    // ---- EF_c ----------------------------------------------------------------------
    py::class_<EfAllocator>(m, "EfEngine",
                            "EF_c p-potential online allocation engine (private; use "
                            "fastfair.OnlineAllocator). Not thread-safe.")
        .def(py::init([](std::size_t n, std::optional<double> p, std::optional<double> g) {
                 return EfAllocator(n, opt_p(p), opt_gamma(g));
             }),
             "n_agents"_a, "p"_a = py::none(), "discount"_a = py::none())
        .def("step", &item_step<EfAllocator>, "values"_a)
        .def("run", &item_run<EfAllocator>, "values"_a)
        .def("deficits", [](const EfAllocator& e) {
            const std::size_t n = e.n();
            py::array_t<double> out({static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(n)});
            for (std::size_t i = 0; i < n; ++i)
                for (std::size_t j = 0; j < n; ++j) out.mutable_data()[i * n + j] = e.deficit(i, j);
            return out;
        })
        .def("max_deficit", &EfAllocator::max_deficit)
        .def("potential", &EfAllocator::potential)
        .def("rounds", &EfAllocator::rounds)
        .def("utilities", [](const EfAllocator& e) { return vec_copy(e.own_); })
        .def("bound", &EfAllocator::bound)
        .def_property_readonly("p", &EfAllocator::p)
        .def_property_readonly("n_agents", &EfAllocator::n)
        .def("get_state", [](const EfAllocator& e) {
            py::dict st = state_header(e, "ef");
            st["envy"] = mat_copy(e.E_, e.n());
            st["bundle_max"] = mat_copy(e.S_, e.n());
            st["own"] = vec_copy(e.own_);
            return st;
        })
        .def("set_state", [](EfAllocator& e, const py::dict& st) {
            const std::uint64_t t = check_header(st, e, "ef");
            const auto n = static_cast<py::ssize_t>(e.n());
            auto E = state_array(st, "envy", {n, n}, false);
            auto S = state_array(st, "bundle_max", {n, n}, true);
            auto own = state_array(st, "own", {n}, true);
            for (py::ssize_t i = 0; i < n; ++i)
                if (E[static_cast<std::size_t>(i * n + i)] != 0.0)
                    bad_state("'envy' must have a zero diagonal");
            e.E_ = std::move(E);
            e.S_ = std::move(S);
            e.own_ = std::move(own);
            e.t_ = t;
            e.refresh_cache();
        }, "state"_a);

    // ---- PDM -----------------------------------------------------------------------
    py::class_<PublicDecisionMaker>(m, "PdmEngine",
                                    "PROP_c public-decision engine (private; use "
                                    "fastfair.PublicDecisionMaker). Not thread-safe.")
        .def(py::init([](std::size_t n, std::optional<double> p, std::optional<double> g) {
                 return PublicDecisionMaker(n, opt_p(p), opt_gamma(g));
             }),
             "n_agents"_a, "p"_a = py::none(), "discount"_a = py::none())
        .def("step", [](PublicDecisionMaker& e, const f64_in& values) {
            fastfair_bind::require_ndim(values, 2, "values");
            fastfair_bind::require_len(values, 0, static_cast<py::ssize_t>(e.n()), "values");
            const auto alts = static_cast<std::size_t>(values.shape(1));
            if (alts == 0) throw py::value_error("values must have at least one alternative");
            fastfair_bind::require_finite_nonneg(values.data(), e.n() * alts, "values");
            e.reserve(alts);
            return e.step(values.data(), alts);
        }, "values"_a)
        .def("run", [](PublicDecisionMaker& e, const f64_in& values) {
            fastfair_bind::require_ndim(values, 3, "values");
            fastfair_bind::require_len(values, 1, static_cast<py::ssize_t>(e.n()), "values");
            const auto T = static_cast<std::size_t>(values.shape(0));
            const auto alts = static_cast<std::size_t>(values.shape(2));
            if (alts == 0) throw py::value_error("values must have at least one alternative");
            fastfair_bind::require_finite_nonneg(values.data(), T * e.n() * alts, "values");
            e.reserve(alts);
            i64_out out(static_cast<py::ssize_t>(T));
            const double* V = values.data();
            std::int64_t* o = out.mutable_data();
            {
                py::gil_scoped_release nogil;
                e.run(V, T, alts, o);
            }
            return out;
        }, "values"_a)
        .def("deficits", [](const PublicDecisionMaker& e) {
            py::array_t<double> out(static_cast<py::ssize_t>(e.n()));
            for (std::size_t i = 0; i < e.n(); ++i) out.mutable_data()[i] = e.deficit(i);
            return out;
        })
        .def("max_deficit", &PublicDecisionMaker::max_deficit)
        .def("potential", &PublicDecisionMaker::potential)
        .def("rounds", &PublicDecisionMaker::rounds)
        .def("utilities", [](const PublicDecisionMaker& e) { return vec_copy(e.U_); })
        .def("bound", &PublicDecisionMaker::bound)
        .def_property_readonly("p", &PublicDecisionMaker::p)
        .def_property_readonly("n_agents", &PublicDecisionMaker::n)
        .def("get_state", [](const PublicDecisionMaker& e) {
            py::dict st = state_header(e, "pdm");
            st["raw_deficits"] = vec_copy(e.D_);
            st["scale"] = vec_copy(e.R_);
            st["utilities"] = vec_copy(e.U_);
            return st;
        })
        .def("set_state", [](PublicDecisionMaker& e, const py::dict& st) {
            const std::uint64_t t = check_header(st, e, "pdm");
            const auto n = static_cast<py::ssize_t>(e.n());
            auto D = state_array(st, "raw_deficits", {n}, false);
            auto R = state_array(st, "scale", {n}, true);
            auto U = state_array(st, "utilities", {n}, true);
            e.D_ = std::move(D);
            e.R_ = std::move(R);
            e.U_ = std::move(U);
            e.t_ = t;
        }, "state"_a);

    // ---- baselines -----------------------------------------------------------------
    py::class_<fastfair::RoundRobin> rr(m, "RoundRobinEngine");
    rr.def(py::init<std::size_t>(), "n_agents"_a);
    bind_baseline(rr);
    py::class_<fastfair::GreedyMaxDeficit> gm(m, "GreedyMaxDeficitEngine");
    gm.def(py::init<std::size_t>(), "n_agents"_a);
    bind_baseline(gm);
    py::class_<fastfair::Benade2018> bn(m, "Benade2018Engine");
    bn.def(py::init([](std::size_t n, double horizon, std::optional<double> lam) {
              return fastfair::Benade2018(n, horizon, opt_p(lam));
          }),
          "n_agents"_a, "horizon"_a, "lam"_a = py::none())
        .def_property_readonly("lam", &fastfair::Benade2018::lam)
        .def_property_readonly("horizon", &fastfair::Benade2018::horizon);
    bind_baseline<fastfair::Benade2018, true>(bn);
}
