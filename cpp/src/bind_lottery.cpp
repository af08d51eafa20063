// Bindings for the lottery engine: fair probabilities (exact and PGD), deserved seats,
// the blog's sort-based projection (for tests) and the stateful LotteryPool core.
#include "bind_common.hpp"

#include <cstring>
#include <string>
#include <vector>

#include "fastfair/lottery.hpp"
#include "fastfair/lottery_pool.hpp"

namespace {

using fastfair_bind::f64_in;
using i8_in = py::array_t<std::int8_t, py::array::c_style | py::array::forcecast>;
using u8_in = py::array_t<std::uint8_t, py::array::c_style | py::array::forcecast>;
using i64_in = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>;
using u64_in = py::array_t<std::uint64_t, py::array::c_style | py::array::forcecast>;

constexpr std::size_t kReleaseGilAbove = 1 << 14;

template <class T>
py::array_t<T> to_array(const std::vector<T>& v) {
    py::array_t<T> out(static_cast<py::ssize_t>(v.size()));
    if (!v.empty()) std::memcpy(out.mutable_data(), v.data(), v.size() * sizeof(T));
    return out;
}

// Rethrow std::invalid_argument as ValueError (pybind11 does this already; explicit
// here to keep the messages untouched).
template <class F>
auto with_value_errors(F&& f) -> decltype(f()) {
    try {
        return f();
    } catch (const std::invalid_argument& e) {
        throw py::value_error(e.what());
    }
}

py::tuple py_fair_probabilities(const f64_in& deserved, const f64_in& received, double k,
                                py::object eligible, const std::string& solver,
                                py::object start, double step, double tol,
                                std::int64_t max_iter) {
    fastfair_bind::require_ndim(deserved, 1, "deserved");
    fastfair_bind::require_ndim(received, 1, "received");
    const auto n = static_cast<std::size_t>(deserved.shape(0));
    fastfair_bind::require_len(received, 0, deserved.shape(0), "received");
    fastfair_bind::require_finite_nonneg(deserved.data(), n, "deserved");
    fastfair_bind::require_finite_nonneg(received.data(), n, "received");
    if (n >= std::numeric_limits<std::uint32_t>::max())
        throw py::value_error("deserved is too long (at most 2**32 - 2 entries)");
    const std::uint8_t* el = nullptr;
    u8_in el_arr;
    std::size_t m = n;
    if (!eligible.is_none()) {
        el_arr = eligible.cast<u8_in>();
        fastfair_bind::require_ndim(el_arr, 1, "eligible");
        fastfair_bind::require_len(el_arr, 0, deserved.shape(0), "eligible");
        el = el_arr.data();
        m = 0;
        for (std::size_t i = 0; i < n; ++i) m += el[i] != 0;
    }
    if (!std::isfinite(k) || k < 0.0 || k > static_cast<double>(m)) {
        std::ostringstream os;
        os << "k must lie in [0, number of eligible entrants] = [0, " << m << "], got "
           << k;
        throw py::value_error(os.str());
    }
    std::vector<double> target(n);
    for (std::size_t i = 0; i < n; ++i) target[i] = deserved.data()[i] - received.data()[i];
    py::array_t<double> pi(static_cast<py::ssize_t>(n));
    double* pp = pi.mutable_data();
    fastfair::FairScratch w;
    if (solver == "exact") {
        {
            py::gil_scoped_release nogil;
            fastfair::fair_probabilities_exact(target.data(), el, n, k, pp, w);
        }
        return py::make_tuple(pi, 0, true, 0.0);
    }
    if (solver != "pgd")
        throw py::value_error("solver must be 'exact' or 'pgd', got '" + solver + "'");
    if (!(step > 0.0 && step <= 1.0))
        throw py::value_error("step must lie in (0, 1] (the objective's L is 1)");
    if (!(tol >= 0.0) || !std::isfinite(tol)) throw py::value_error("tol must be >= 0");
    if (max_iter < 1) throw py::value_error("max_iter must be >= 1");
    const double* sp = nullptr;
    f64_in start_arr;
    if (!start.is_none()) {
        start_arr = start.cast<f64_in>();
        fastfair_bind::require_ndim(start_arr, 1, "start");
        fastfair_bind::require_len(start_arr, 0, deserved.shape(0), "start");
        fastfair_bind::require_finite(start_arr.data(), n, "start");
        sp = start_arr.data();
    }
    fastfair::PgdInfo info;
    {
        py::gil_scoped_release nogil;
        info = fastfair::fair_probabilities_pgd(target.data(), el, n, k, sp, step, tol,
                                                static_cast<std::size_t>(max_iter), pp, w);
    }
    return py::make_tuple(pi, info.iterations, info.converged, info.last_change);
}

py::array_t<double> py_deserved_seats(const f64_in& scores, std::int64_t k) {
    fastfair_bind::require_ndim(scores, 1, "scores");
    const auto n = static_cast<std::size_t>(scores.shape(0));
    fastfair_bind::require_finite_nonneg(scores.data(), n, "scores");
    py::array_t<double> d(static_cast<py::ssize_t>(n));
    with_value_errors([&] {
        fastfair::deserved_seats(scores.data(), n, static_cast<double>(k), d.mutable_data());
        return 0;
    });
    return d;
}

py::array_t<double> py_simplex_clip_sort(const f64_in& r, double k) {
    fastfair_bind::require_ndim(r, 1, "r");
    const auto n = static_cast<std::size_t>(r.shape(0));
    fastfair_bind::require_finite(r.data(), n, "r");
    if (!(k > 0.0 && k < static_cast<double>(n)))
        throw py::value_error("k must lie in (0, len(r))");
    py::array_t<double> x(static_cast<py::ssize_t>(n));
    std::vector<std::pair<double, int>> breaks;
    fastfair::simplex_clip_sort(r.data(), n, k, x.mutable_data(), breaks);
    return x;
}

using Pool = fastfair::LotteryPool;

// The bound object: the pool plus a busy flag, so that a second thread entering any
// method while one is running (possibly without the GIL) gets RuntimeError.
struct PoolObj {
    Pool pool;
    fastfair_bind::BusyFlag busy;
};
constexpr const char* kWhat = "LotteryPoolCore";
using fastfair_bind::BusyGuard;

void pool_prepare(Pool& p, const f64_in& scores, std::int64_t k) {
    fastfair_bind::require_ndim(scores, 1, "scores");
    const auto n = static_cast<std::size_t>(scores.shape(0));
    const double* sp = scores.data();
    with_value_errors([&] {
        if (n > kReleaseGilAbove) {
            py::gil_scoped_release nogil;  // raw buffers only; scores stays alive
            p.prepare(sp, n, k);
        } else {
            p.prepare(sp, n, k);
        }
        return 0;
    });
}

py::array_t<std::int8_t> pool_draw(Pool& p, std::uint64_t seed) {
    if (p.pending_probabilities().size() > kReleaseGilAbove) {
        py::gil_scoped_release nogil;
        p.draw(seed);
    } else {
        p.draw(seed);
    }
    return to_array(p.pending_winners());
}

py::array_t<std::int8_t> pool_run(Pool& p, const f64_in& scores, std::int64_t k,
                                  std::uint64_t seed) {
    pool_prepare(p, scores, k);
    auto w = pool_draw(p, seed);
    p.commit();
    return w;
}

// (entrants, lotteries) matrix of one history, zero-padded for late joiners.
template <class T>
py::array_t<T> history_matrix(const std::vector<std::vector<T>>& cols, std::size_t n) {
    const std::size_t t_count = cols.size();
    py::array_t<T> out({static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(t_count)});
    T* o = out.mutable_data();
    std::fill(o, o + n * t_count, T(0));
    for (std::size_t t = 0; t < t_count; ++t) {
        const auto& c = cols[t];
        for (std::size_t i = 0; i < c.size(); ++i) o[i * t_count + t] = c[i];
    }
    return out;
}

template <class T>
py::array_t<T> flatten(const std::vector<std::vector<T>>& cols) {
    std::size_t total = 0;
    for (const auto& c : cols) total += c.size();
    py::array_t<T> out(static_cast<py::ssize_t>(total));
    T* o = out.mutable_data();
    for (const auto& c : cols) {
        if (!c.empty()) std::memcpy(o, c.data(), c.size() * sizeof(T));
        o += c.size();
    }
    return out;
}

py::tuple pool_state(const Pool& p) {
    std::vector<std::int64_t> lengths;
    for (const auto& c : p.scores()) lengths.push_back(static_cast<std::int64_t>(c.size()));
    return py::make_tuple(to_array(lengths), to_array(p.lottery_sizes()), to_array(p.seeds()),
                          flatten(p.scores()), flatten(p.probabilities()),
                          flatten(p.winners()));
}

// Every count is checked before anything is read: lengths are non-negative and their
// sum is accumulated against the size of the history arrays (so it cannot overflow and
// no column can run past the arrays), and all three history arrays have that size.
void pool_restore(PoolObj& o, const i64_in& lengths, const i64_in& ks, const u64_in& seeds,
                  const f64_in& scores, const f64_in& pi, const i8_in& winners) {
    BusyGuard guard(o.busy, kWhat);
    if (o.pool.n_lotteries() != 0 || o.pool.n_entrants() != 0)
        throw py::value_error("restore needs an empty pool");
    fastfair_bind::require_ndim(lengths, 1, "lengths");
    fastfair_bind::require_ndim(ks, 1, "ks");
    fastfair_bind::require_ndim(seeds, 1, "seeds");
    fastfair_bind::require_ndim(scores, 1, "scores");
    fastfair_bind::require_ndim(pi, 1, "pi");
    fastfair_bind::require_ndim(winners, 1, "winners");
    const py::ssize_t t_count = lengths.shape(0);
    if (ks.shape(0) != t_count || seeds.shape(0) != t_count)
        throw py::value_error("state: lengths, k and seeds differ in length");
    const py::ssize_t avail = scores.shape(0);
    if (pi.shape(0) != avail || winners.shape(0) != avail)
        throw py::value_error("state: scores, probabilities and winners differ in length");
    const std::int64_t* len = lengths.data();
    py::ssize_t total = 0;  // invariant: 0 <= total <= avail
    for (py::ssize_t t = 0; t < t_count; ++t) {
        if (len[t] < 0) throw py::value_error("state: negative column length");
        if (static_cast<std::uint64_t>(len[t]) > static_cast<std::uint64_t>(avail - total))
            throw py::value_error("state: column lengths add up to more than the " +
                                  std::to_string(avail) + " recorded values");
        total += static_cast<py::ssize_t>(len[t]);
    }
    if (total != avail)
        throw py::value_error("state: history columns do not match their lengths");
    std::size_t off = 0;
    Pool p;  // restored aside and moved in at the end: all-or-nothing
    with_value_errors([&] {
        for (py::ssize_t t = 0; t < t_count; ++t) {
            const auto n = static_cast<std::size_t>(len[t]);
            p.append_record(scores.data() + off, n, ks.data()[t], seeds.data()[t],
                            pi.data() + off, winners.data() + off);
            off += n;
        }
        return 0;
    });
    o.pool = std::move(p);
}

}  // namespace

void register_lottery(py::module_& m) {
    m.def("fair_probabilities", &py_fair_probabilities, "deserved"_a, "received"_a, "k"_a,
          "eligible"_a = py::none(), "solver"_a = "exact", "start"_a = py::none(),
          "step"_a = 1.0, "tol"_a = 1e-10, "max_iter"_a = 10000,
          "Internal: fair probabilities; returns (pi, iterations, converged, last_change).");
    m.def("deserved_seats", &py_deserved_seats, "scores"_a, "k"_a,
          "Internal: water-filled deserved seats of one lottery.");
    m.def("simplex_clip_sort", &py_simplex_clip_sort, "r"_a, "k"_a,
          "Internal: the blog's sort-based projection (no rescale), as used by pgd.");

    py::class_<PoolObj>(m, "LotteryPoolCore",
                        "Internal: state of a fair repeated lottery. Not thread-safe: a "
                        "call while another thread is in one raises RuntimeError.")
        .def(py::init<>())
        .def("prepare",
             [](PoolObj& o, const f64_in& scores, std::int64_t k) {
                 BusyGuard g(o.busy, kWhat);
                 pool_prepare(o.pool, scores, k);
             },
             "scores"_a, "k"_a)
        .def("preview",
             [](PoolObj& o, const f64_in& scores, std::int64_t k) {
                 BusyGuard g(o.busy, kWhat);
                 pool_prepare(o.pool, scores, k);
                 return to_array(o.pool.pending_probabilities());
             },
             "scores"_a, "k"_a)
        .def("draw",
             [](PoolObj& o, std::uint64_t seed) {
                 BusyGuard g(o.busy, kWhat);
                 return pool_draw(o.pool, seed);
             },
             "seed"_a)
        .def("commit",
             [](PoolObj& o) {
                 BusyGuard g(o.busy, kWhat);
                 o.pool.commit();
             })
        .def("run",
             [](PoolObj& o, const f64_in& scores, std::int64_t k, std::uint64_t seed) {
                 BusyGuard g(o.busy, kWhat);
                 return pool_run(o.pool, scores, k, seed);
             },
             "scores"_a, "k"_a, "seed"_a)
        .def_property_readonly("n_entrants",
                               [](PoolObj& o) {
                                   BusyGuard g(o.busy, kWhat);
                                   return o.pool.n_entrants();
                               })
        .def_property_readonly("n_lotteries",
                               [](PoolObj& o) {
                                   BusyGuard g(o.busy, kWhat);
                                   return o.pool.n_lotteries();
                               })
        .def_property_readonly("cumulative_deserved",
                               [](PoolObj& o) {
                                   BusyGuard g(o.busy, kWhat);
                                   return to_array(o.pool.cumulative_deserved());
                               })
        .def_property_readonly("wins",
                               [](PoolObj& o) {
                                   BusyGuard g(o.busy, kWhat);
                                   return to_array(o.pool.wins());
                               })
        .def_property_readonly("lottery_sizes",
                               [](PoolObj& o) {
                                   BusyGuard g(o.busy, kWhat);
                                   return to_array(o.pool.lottery_sizes());
                               })
        .def_property_readonly("seeds",
                               [](PoolObj& o) {
                                   BusyGuard g(o.busy, kWhat);
                                   return to_array(o.pool.seeds());
                               })
        .def("history",
             [](PoolObj& o, const std::string& which) -> py::array {
                 BusyGuard g(o.busy, kWhat);
                 const Pool& p = o.pool;
                 const std::size_t n = p.n_entrants();
                 if (which == "scores") return history_matrix(p.scores(), n);
                 if (which == "deserved") {
                     std::vector<std::vector<double>> cols(p.n_lotteries());
                     for (std::size_t t = 0; t < cols.size(); ++t) {
                         cols[t].resize(p.scores()[t].size());
                         p.deserved_column(t, cols[t].data());
                     }
                     return history_matrix(cols, n);
                 }
                 if (which == "probabilities") return history_matrix(p.probabilities(), n);
                 if (which == "winners") return history_matrix(p.winners(), n);
                 throw py::value_error("unknown history '" + which + "'");
             },
             "which"_a)
        .def("state",
             [](PoolObj& o) {
                 BusyGuard g(o.busy, kWhat);
                 return pool_state(o.pool);
             })
        .def("restore", &pool_restore, "lengths"_a, "ks"_a, "seeds"_a, "scores"_a,
             "pi"_a, "winners"_a)
        .def("verify", [](PoolObj& o) {
            BusyGuard g(o.busy, kWhat);
            std::vector<int> f;
            {
                py::gil_scoped_release nogil;
                f = o.pool.verify();
            }
            return f;
        });
}
