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
using u16_in = py::array_t<std::uint16_t, py::array::c_style | py::array::forcecast>;

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
using Column = fastfair::LotteryColumn;
using u32_in = py::array_t<std::uint32_t, py::array::c_style | py::array::forcecast>;

// The bound object: the pool plus a busy flag, so that a second thread entering any
// method while one is running (possibly without the GIL) gets RuntimeError. `dense`
// remembers whether the pending lottery came from a dense prepare (its results are
// then scattered back to all n members).
struct PoolObj {
    Pool pool;
    fastfair_bind::BusyFlag busy;
    bool dense = false;
};
constexpr const char* kWhat = "LotteryPoolCore";
using fastfair_bind::BusyGuard;

template <class T>
py::array_t<T> scatter(const Column& c, const std::vector<T>& v) {
    const auto n = static_cast<std::size_t>(c.pool_size);
    py::array_t<T> out(static_cast<py::ssize_t>(n));
    T* o = out.mutable_data();
    std::fill(o, o + n, T(0));
    for (std::size_t j = 0; j < c.pos.size(); ++j) o[c.pos[j]] = v[j];
    return out;
}

// Optional division arguments: both None (undivided) or codes (one per row of scores,
// uint16) and the seats per division (1-D int64, at least one division).
struct DivArgs {
    u16_in codes;
    i64_in ks;
    const std::uint16_t* code = nullptr;
    const std::int64_t* k = nullptr;
    std::size_t n_div = 0;
};

DivArgs div_args(const py::object& divisions, const py::object& division_k,
                 py::ssize_t rows) {
    DivArgs a;
    if (divisions.is_none() && division_k.is_none()) return a;
    if (divisions.is_none() || division_k.is_none())
        throw py::value_error("divisions and division_k go together (both or neither)");
    a.codes = divisions.cast<u16_in>();
    a.ks = division_k.cast<i64_in>();
    fastfair_bind::require_ndim(a.codes, 1, "divisions");
    fastfair_bind::require_ndim(a.ks, 1, "division_k");
    fastfair_bind::require_len(a.codes, 0, rows, "divisions");
    if (a.ks.shape(0) < 1) throw py::value_error("division_k must name at least one division");
    a.code = a.codes.data();
    a.k = a.ks.data();
    a.n_div = static_cast<std::size_t>(a.ks.shape(0));
    return a;
}

void pool_prepare(PoolObj& o, const f64_in& scores, std::int64_t k,
                  const py::object& divisions = py::none(),
                  const py::object& division_k = py::none()) {
    fastfair_bind::require_ndim(scores, 1, "scores");
    const auto n = static_cast<std::size_t>(scores.shape(0));
    const double* sp = scores.data();
    const DivArgs d = div_args(divisions, division_k, scores.shape(0));
    with_value_errors([&] {
        if (n > kReleaseGilAbove) {
            py::gil_scoped_release nogil;  // raw buffers only; scores stays alive
            o.pool.prepare_dense(sp, n, k, d.code, d.k, d.n_div);
        } else {
            o.pool.prepare_dense(sp, n, k, d.code, d.k, d.n_div);
        }
        return 0;
    });
    o.dense = true;
}

void pool_prepare_sparse(PoolObj& o, const u32_in& pos, const f64_in& scores,
                         std::uint64_t n, std::int64_t k,
                         const py::object& divisions = py::none(),
                         const py::object& division_k = py::none()) {
    fastfair_bind::require_ndim(pos, 1, "positions");
    fastfair_bind::require_ndim(scores, 1, "scores");
    fastfair_bind::require_len(scores, 0, pos.shape(0), "scores");
    const auto m = static_cast<std::size_t>(scores.shape(0));
    const std::uint32_t* pp = pos.data();
    const double* sp = scores.data();
    const DivArgs d = div_args(divisions, division_k, scores.shape(0));
    with_value_errors([&] {
        if (m > kReleaseGilAbove) {
            py::gil_scoped_release nogil;
            o.pool.prepare(pp, sp, m, n, k, d.code, d.k, d.n_div);
        } else {
            o.pool.prepare(pp, sp, m, n, k, d.code, d.k, d.n_div);
        }
        return 0;
    });
    o.dense = false;
}

const Column& column_at(const Pool& p, std::int64_t t) {
    const auto& cols = p.columns();
    if (t < 0 || static_cast<std::uint64_t>(t) >= cols.size())
        throw py::index_error("lottery index out of range");
    return cols[static_cast<std::size_t>(t)];
}

py::array_t<double> pending_pi(const PoolObj& o) {
    const Column& c = o.pool.pending();
    return o.dense ? scatter(c, c.pi) : to_array(c.pi);
}

py::array_t<std::int8_t> pool_draw(PoolObj& o, std::uint64_t seed) {
    if (o.pool.pending().pi.size() > kReleaseGilAbove) {
        py::gil_scoped_release nogil;
        o.pool.draw(seed);
    } else {
        o.pool.draw(seed);
    }
    const Column& c = o.pool.pending();
    return o.dense ? scatter(c, c.winners) : to_array(c.winners);
}

// (entrants, lotteries) matrix of one history, zero where a member had no entry.
template <class T, class Get>
py::array_t<T> history_matrix(const Pool& p, Get get) {
    const std::size_t n = p.n_entrants();
    const auto& cols = p.columns();
    const std::size_t t_count = cols.size();
    py::array_t<T> out({static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(t_count)});
    T* o = out.mutable_data();
    std::fill(o, o + n * t_count, T(0));
    std::vector<T> buf;
    for (std::size_t t = 0; t < t_count; ++t) {
        const Column& c = cols[t];
        const std::vector<T>& v = get(t, c, buf);
        for (std::size_t j = 0; j < c.pos.size(); ++j)
            o[static_cast<std::size_t>(c.pos[j]) * t_count + t] = v[j];
    }
    return out;
}

template <class T, class Get>
py::array_t<T> flatten(const Pool& p, Get get) {
    std::size_t total = 0;
    for (const auto& c : p.columns()) total += c.pos.size();
    py::array_t<T> out(static_cast<py::ssize_t>(total));
    T* o = out.mutable_data();
    for (const auto& c : p.columns()) {
        const std::vector<T>& v = get(c);
        if (!v.empty()) std::memcpy(o, v.data(), v.size() * sizeof(T));
        o += v.size();
    }
    return out;
}

py::tuple pool_state(const Pool& p) {
    std::vector<std::uint64_t> sizes;
    std::vector<std::int64_t> lengths;
    for (const auto& c : p.columns()) {
        sizes.push_back(c.pool_size);
        lengths.push_back(static_cast<std::int64_t>(c.pos.size()));
    }
    return py::make_tuple(
        to_array(sizes), to_array(lengths), to_array(p.lottery_sizes()), to_array(p.seeds()),
        flatten<std::uint32_t>(p, [](const Column& c) -> const std::vector<std::uint32_t>& {
            return c.pos;
        }),
        flatten<double>(p, [](const Column& c) -> const std::vector<double>& { return c.scores; }),
        flatten<double>(p, [](const Column& c) -> const std::vector<double>& { return c.pi; }),
        flatten<std::int8_t>(p, [](const Column& c) -> const std::vector<std::int8_t>& {
            return c.winners;
        }));
}

// The division records: (divisions per lottery (0 = undivided), the seats of every
// division of the divided lotteries one after another, the codes of every entry of the
// divided lotteries one after another). Undivided lotteries contribute nothing.
py::tuple pool_division_state(const Pool& p) {
    std::vector<std::int64_t> n_div;
    std::vector<std::int64_t> ks;
    std::vector<std::uint16_t> codes;
    for (const auto& c : p.columns()) {
        n_div.push_back(static_cast<std::int64_t>(c.div_k.size()));
        ks.insert(ks.end(), c.div_k.begin(), c.div_k.end());
        codes.insert(codes.end(), c.div.begin(), c.div.end());
    }
    return py::make_tuple(to_array(n_div), to_array(ks), to_array(codes));
}

// Every count is checked before anything is read: lengths are non-negative and their
// sum is accumulated against the size of the history arrays (so it cannot overflow and
// no column can run past the arrays), and all four history arrays have that size.
// Restored aside and moved in at the end: all-or-nothing.
// The optional division state (pool_division_state) is checked the same way: one
// count per lottery, in [0, 65536]; the seats and codes used add up exactly.
void pool_restore(PoolObj& o, const u64_in& sizes, const i64_in& lengths, const i64_in& ks,
                  const u64_in& seeds, const u32_in& pos, const f64_in& scores,
                  const f64_in& pi, const i8_in& winners, const py::object& n_divisions,
                  const py::object& division_k, const py::object& codes) {
    BusyGuard guard(o.busy, kWhat);
    if (o.pool.n_lotteries() != 0 || o.pool.n_entrants() != 0)
        throw py::value_error("restore needs an empty pool");
    fastfair_bind::require_ndim(sizes, 1, "sizes");
    fastfair_bind::require_ndim(lengths, 1, "lengths");
    fastfair_bind::require_ndim(ks, 1, "ks");
    fastfair_bind::require_ndim(seeds, 1, "seeds");
    fastfair_bind::require_ndim(pos, 1, "positions");
    fastfair_bind::require_ndim(scores, 1, "scores");
    fastfair_bind::require_ndim(pi, 1, "pi");
    fastfair_bind::require_ndim(winners, 1, "winners");
    const py::ssize_t t_count = lengths.shape(0);
    if (ks.shape(0) != t_count || seeds.shape(0) != t_count || sizes.shape(0) != t_count)
        throw py::value_error("state: sizes, lengths, k and seeds differ in length");
    const py::ssize_t avail = scores.shape(0);
    if (pi.shape(0) != avail || winners.shape(0) != avail || pos.shape(0) != avail)
        throw py::value_error(
            "state: positions, scores, probabilities and winners differ in length");
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
    // divisions: all three or none
    const bool has_div = !n_divisions.is_none();
    if (has_div != !division_k.is_none() || has_div != !codes.is_none())
        throw py::value_error("state: n_divisions, division_k and codes go together");
    i64_in nd_arr, dk_arr;
    u16_in code_arr;
    if (has_div) {
        nd_arr = n_divisions.cast<i64_in>();
        dk_arr = division_k.cast<i64_in>();
        code_arr = codes.cast<u16_in>();
        fastfair_bind::require_ndim(nd_arr, 1, "n_divisions");
        fastfair_bind::require_ndim(dk_arr, 1, "division_k");
        fastfair_bind::require_ndim(code_arr, 1, "codes");
        if (nd_arr.shape(0) != t_count)
            throw py::value_error("state: n_divisions must have one count per lottery");
        const std::int64_t* nd = nd_arr.data();
        const auto k_avail = static_cast<std::uint64_t>(dk_arr.shape(0));
        const auto c_avail = static_cast<std::uint64_t>(code_arr.shape(0));
        std::uint64_t k_used = 0, c_used = 0;  // invariants: <= k_avail, <= c_avail
        for (py::ssize_t t = 0; t < t_count; ++t) {
            if (nd[t] < 0 || static_cast<std::uint64_t>(nd[t]) > fastfair::kMaxDivisions)
                throw py::value_error("state: a division count is negative or above 65536");
            if (static_cast<std::uint64_t>(nd[t]) > k_avail - k_used)
                throw py::value_error("state: division counts add up to more than the " +
                                      std::to_string(k_avail) + " recorded seat counts");
            k_used += static_cast<std::uint64_t>(nd[t]);
            if (nd[t] > 0) {
                const auto m = static_cast<std::uint64_t>(len[t]);
                if (m > c_avail - c_used)
                    throw py::value_error("state: divided lotteries hold more entries than "
                                          "the " + std::to_string(c_avail) +
                                          " recorded division codes");
                c_used += m;
            }
        }
        if (k_used != k_avail || c_used != c_avail)
            throw py::value_error("state: division seats or codes do not match the counts");
    }
    std::size_t off = 0, k_off = 0, c_off = 0;
    Pool p;
    with_value_errors([&] {
        for (py::ssize_t t = 0; t < t_count; ++t) {
            const auto m = static_cast<std::size_t>(len[t]);
            const std::size_t D = has_div ? static_cast<std::size_t>(nd_arr.data()[t]) : 0;
            p.append_record(pos.data() + off, scores.data() + off, pi.data() + off,
                            winners.data() + off, m, sizes.data()[t], ks.data()[t],
                            seeds.data()[t], D ? code_arr.data() + c_off : nullptr,
                            D ? dk_arr.data() + k_off : nullptr, D);
            off += m;
            if (D) {
                k_off += D;
                c_off += m;
            }
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

    m.def(
        "pipage_round_divided",
        [](const f64_in& pi, const u16_in& codes, const i64_in& seats, std::uint64_t seed) {
            fastfair_bind::require_ndim(pi, 1, "pi");
            fastfair_bind::require_ndim(codes, 1, "codes");
            fastfair_bind::require_ndim(seats, 1, "seats");
            fastfair_bind::require_len(codes, 0, pi.shape(0), "codes");
            const auto m = static_cast<std::size_t>(pi.shape(0));
            const auto D = static_cast<std::size_t>(seats.shape(0));
            const double* p = pi.data();
            for (std::size_t j = 0; j < m; ++j)
                if (!(p[j] >= 0.0 && p[j] <= 1.0))
                    throw py::value_error("pi must lie in [0, 1]");
            std::vector<double> ones(m, 1.0);
            with_value_errors([&] {
                fastfair::DivisionScratch w;
                fastfair::check_divisions(codes.data(), ones.data(), m, seats.data(), D, "codes",
                                          w.counts);
                return 0;
            });
            py::array_t<std::int8_t> out(static_cast<py::ssize_t>(m));
            fastfair::DivisionScratch w;
            w.ix.build(codes.data(), m, D);
            fastfair::Rng rng(seed);
            fastfair::divided_pipage_round(p, m, seats.data(), D, rng, out.mutable_data(), w);
            return out;
        },
        "pi"_a, "codes"_a, "seats"_a, "seed"_a,
        "Internal: the rounding of a divided lottery (pipage per division, divisions in "
        "code order, one generator); no check that each division's pi sums to its seats.");

    py::class_<PoolObj>(m, "LotteryPoolCore",
                        "Internal: state of a fair repeated lottery (sparse columns). Not "
                        "thread-safe: a call while another thread is in one raises "
                        "RuntimeError.")
        .def(py::init<>())
        .def("prepare",
             [](PoolObj& o, const f64_in& scores, std::int64_t k, const py::object& dv,
                const py::object& dk) {
                 BusyGuard g(o.busy, kWhat);
                 pool_prepare(o, scores, k, dv, dk);
             },
             "scores"_a, "k"_a, "divisions"_a = py::none(), "division_k"_a = py::none())
        .def("prepare_sparse",
             [](PoolObj& o, const u32_in& pos, const f64_in& scores, std::uint64_t n,
                std::int64_t k, const py::object& dv, const py::object& dk) {
                 BusyGuard g(o.busy, kWhat);
                 pool_prepare_sparse(o, pos, scores, n, k, dv, dk);
             },
             "positions"_a, "scores"_a, "n"_a, "k"_a, "divisions"_a = py::none(),
             "division_k"_a = py::none())
        .def("preview",
             [](PoolObj& o, const f64_in& scores, std::int64_t k, const py::object& dv,
                const py::object& dk) {
                 BusyGuard g(o.busy, kWhat);
                 pool_prepare(o, scores, k, dv, dk);
                 return pending_pi(o);
             },
             "scores"_a, "k"_a, "divisions"_a = py::none(), "division_k"_a = py::none())
        .def("preview_sparse",
             [](PoolObj& o, const u32_in& pos, const f64_in& scores, std::uint64_t n,
                std::int64_t k, const py::object& dv, const py::object& dk) {
                 BusyGuard g(o.busy, kWhat);
                 pool_prepare_sparse(o, pos, scores, n, k, dv, dk);
                 return pending_pi(o);
             },
             "positions"_a, "scores"_a, "n"_a, "k"_a, "divisions"_a = py::none(),
             "division_k"_a = py::none())
        .def("draw",
             [](PoolObj& o, std::uint64_t seed) {
                 BusyGuard g(o.busy, kWhat);
                 return pool_draw(o, seed);
             },
             "seed"_a)
        .def("commit",
             [](PoolObj& o) {
                 BusyGuard g(o.busy, kWhat);
                 o.pool.commit();
             })
        .def("run",
             [](PoolObj& o, const f64_in& scores, std::int64_t k, std::uint64_t seed,
                const py::object& dv, const py::object& dk) {
                 BusyGuard g(o.busy, kWhat);
                 pool_prepare(o, scores, k, dv, dk);
                 auto w = pool_draw(o, seed);
                 o.pool.commit();
                 return w;
             },
             "scores"_a, "k"_a, "seed"_a, "divisions"_a = py::none(),
             "division_k"_a = py::none())
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
        .def("column",
             [](PoolObj& o, std::int64_t t) {
                 BusyGuard g(o.busy, kWhat);
                 const Column& c = column_at(o.pool, t);
                 return py::make_tuple(c.pool_size, to_array(c.pos), to_array(c.scores),
                                       to_array(c.pi), to_array(c.winners));
             },
             "t"_a, "Internal: (pool size, positions, scores, pi, winners) of lottery t.")
        .def("column_divisions",
             [](PoolObj& o, std::int64_t t) {
                 BusyGuard g(o.busy, kWhat);
                 const Column& c = column_at(o.pool, t);
                 return py::make_tuple(to_array(c.div), to_array(c.div_k));
             },
             "t"_a,
             "Internal: (division code per entry, seats per division) of lottery t; both "
             "empty for an undivided lottery.")
        .def("division_state",
             [](PoolObj& o) {
                 BusyGuard g(o.busy, kWhat);
                 return pool_division_state(o.pool);
             },
             "Internal: (divisions per lottery, seats, codes) of the divided lotteries.")
        .def("history",
             [](PoolObj& o, const std::string& which) -> py::array {
                 BusyGuard g(o.busy, kWhat);
                 const Pool& p = o.pool;
                 if (which == "scores")
                     return history_matrix<double>(
                         p, [](std::size_t, const Column& c, std::vector<double>&)
                                -> const std::vector<double>& { return c.scores; });
                 if (which == "deserved")
                     return history_matrix<double>(
                         p, [&p](std::size_t t, const Column& c, std::vector<double>& buf)
                                -> const std::vector<double>& {
                             buf.resize(c.scores.size());
                             p.deserved_column(t, buf.data());
                             return buf;
                         });
                 if (which == "probabilities")
                     return history_matrix<double>(
                         p, [](std::size_t, const Column& c, std::vector<double>&)
                                -> const std::vector<double>& { return c.pi; });
                 if (which == "winners")
                     return history_matrix<std::int8_t>(
                         p, [](std::size_t, const Column& c, std::vector<std::int8_t>&)
                                -> const std::vector<std::int8_t>& { return c.winners; });
                 if (which == "divisions") {  // code + 1; 0 = no entry or undivided
                     return history_matrix<std::int32_t>(
                         p, [](std::size_t, const Column& c, std::vector<std::int32_t>& buf)
                                -> const std::vector<std::int32_t>& {
                             buf.assign(c.pos.size(), 0);
                             for (std::size_t j = 0; j < c.div.size(); ++j)
                                 buf[j] = static_cast<std::int32_t>(c.div[j]) + 1;
                             return buf;
                         });
                 }
                 throw py::value_error("unknown history '" + which + "'");
             },
             "which"_a)
        .def("state",
             [](PoolObj& o) {
                 BusyGuard g(o.busy, kWhat);
                 return pool_state(o.pool);
             })
        .def("restore", &pool_restore, "sizes"_a, "lengths"_a, "ks"_a, "seeds"_a,
             "positions"_a, "scores"_a, "pi"_a, "winners"_a, "n_divisions"_a = py::none(),
             "division_k"_a = py::none(), "codes"_a = py::none())
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
