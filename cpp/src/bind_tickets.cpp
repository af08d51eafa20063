// Bindings for ticket hats: exact odds (ticket_odds) and the draw (draw_tickets).
#include "bind_common.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <utility>
#include <vector>

#include "fastfair/rng.hpp"
#include "fastfair/summation.hpp"
#include "fastfair/tickets.hpp"

namespace {

using fastfair_bind::f64_in;

constexpr std::size_t kReleaseGilAbove = 1 << 12;
// Largest supported ratio between the largest and the smallest positive ticket count.
constexpr double kMaxRatio = 1e200;

// Validates tickets (1-D, finite, >= 0) and returns the number of entrants (> 0).
// The ratio limit applies to the odds only (the draw compares clocks in log space).
std::size_t check_tickets(const f64_in& t, bool limit_ratio) {
    fastfair_bind::require_ndim(t, 1, "tickets");
    const auto n = static_cast<std::size_t>(t.shape(0));
    fastfair_bind::require_finite_nonneg(t.data(), n, "tickets");
    std::size_t entered = 0;
    double lo = 0.0, hi = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
        const double x = t.data()[i];
        if (x > 0.0) {
            if (entered == 0 || x < lo) lo = x;
            if (entered == 0 || x > hi) hi = x;
            ++entered;
        }
    }
    if (limit_ratio && entered > 0 && hi > kMaxRatio * lo) {
        std::ostringstream os;
        os.precision(6);
        os << "tickets: the largest positive ticket count is 10^"
           << std::log10(hi) - std::log10(lo)
           << " times the smallest; at most 1e200 is supported (odds that far apart "
              "are 0 or 1 to double precision: give such entrants 0 tickets or a place)";
        throw py::value_error(os.str());
    }
    return entered;
}

void check_k(std::int64_t k, std::int64_t waitlist, std::size_t entered) {
    if (k < 0) throw py::value_error("k must be >= 0, got " + std::to_string(k));
    if (waitlist < 0)
        throw py::value_error("waitlist must be >= 0, got " + std::to_string(waitlist));
    if (static_cast<std::uint64_t>(k) + static_cast<std::uint64_t>(waitlist) > entered) {
        std::ostringstream os;
        os << "k + waitlist must be at most the number of entrants with tickets > 0 ("
           << entered << "), got k = " << k << ", waitlist = " << waitlist;
        throw py::value_error(os.str());
    }
}

py::tuple py_ticket_odds(const f64_in& tickets, std::int64_t k, std::int64_t waitlist,
                         double tol) {
    const std::size_t entered = check_tickets(tickets, true);
    check_k(k, waitlist, entered);
    if (!(tol > 0.0 && tol < 1.0)) throw py::value_error("tol must lie in (0, 1)");
    const auto n = static_cast<std::size_t>(tickets.shape(0));
    py::array_t<double> out(static_cast<py::ssize_t>(n));
    const double* t = tickets.data();
    double* o = out.mutable_data();
    fastfair::TicketOddsInfo info;
    bool bad_sum = false;
    const double K = static_cast<double>(k + waitlist);
    auto body = [&] {
        std::vector<std::pair<double, std::size_t>> order;
        order.reserve(entered);
        for (std::size_t i = 0; i < n; ++i)
            if (t[i] > 0.0) order.emplace_back(t[i], i);
        std::sort(order.begin(), order.end());
        std::vector<double> w, cnt;
        for (std::size_t j = 0; j < order.size(); ++j) {
            if (j == 0 || order[j].first != order[j - 1].first) {
                w.push_back(order[j].first);
                cnt.push_back(0.0);
            }
            cnt.back() += 1.0;
        }
        std::vector<double> pc(w.size());
        info = fastfair::ticket_odds_classes(w.data(), cnt.data(), w.size(), K, pc.data(),
                                             tol);
        // rescale to sum K only within the error bound (docs/tickets.md): each class
        // becomes pc (1 + d), d = (K - raw) / raw, by one fma (a correctly rounded
        // pc (1 + d); a scale K / raw rounded to a double near 1 would move every
        // entry by a whole ulp or none). When the deviation is at the ulp level of K
        // the rounded entries can overshoot, so the rescaled values are kept only if
        // their exact sum (fma products, compensated) is nearer K than the raw one.
        auto clamp01 = [](double x) { return std::min(1.0, std::max(0.0, x)); };
        auto exact_sum = [&](const std::vector<double>& v) {
            fastfair::NeumaierSum acc;
            for (std::size_t c = 0; c < v.size(); ++c) {
                const double prod = cnt[c] * v[c];
                acc.add(prod);
                acc.add(std::fma(cnt[c], v[c], -prod));
            }
            return acc.value();
        };
        for (double& x : pc) x = clamp01(x);
        if (info.raw_sum > 0.0 && K > 0.0) {
            if (std::fabs(info.raw_sum - K) > info.error_bound) {
                bad_sum = true;
            } else if (info.raw_sum != K) {
                const double d = (K - info.raw_sum) / info.raw_sum;
                std::vector<double> scaled(pc.size());
                for (std::size_t c = 0; c < pc.size(); ++c)
                    scaled[c] = clamp01(std::fma(pc[c], d, pc[c]));
                if (std::fabs(exact_sum(scaled) - K) < std::fabs(exact_sum(pc) - K))
                    pc.swap(scaled);
            }
        }
        for (std::size_t i = 0; i < n; ++i) o[i] = 0.0;
        std::size_t c = 0;
        for (std::size_t j = 0; j < order.size(); ++j) {
            if (j > 0 && order[j].first != order[j - 1].first) ++c;
            o[order[j].second] = pc[c];
        }
    };
    if (n > kReleaseGilAbove) {
        py::gil_scoped_release nogil;
        body();
    } else {
        body();
    }
    if (bad_sum) {
        std::ostringstream os;
        os.precision(17);
        os << "ticket_odds: internal accuracy check failed: the probabilities sum to "
           << info.raw_sum << " instead of " << K << " (error bound " << info.error_bound
           << "); please report this input";
        throw std::runtime_error(os.str());
    }
    py::dict d;
    d["raw_sum"] = info.raw_sum;
    d["error_bound"] = info.error_bound;
    d["max_entry_error"] = info.max_entry_error;
    d["nodes"] = info.nodes;
    d["intervals"] = info.intervals;
    d["classes"] = info.classes;
    d["t_lo"] = info.t_lo;
    d["t_hi"] = info.t_hi;
    return py::make_tuple(out, d);
}

py::array_t<std::int64_t> py_draw_tickets(const f64_in& tickets, std::int64_t k,
                                          std::int64_t waitlist, std::uint64_t seed) {
    const std::size_t entered = check_tickets(tickets, false);
    check_k(k, waitlist, entered);
    const auto n = static_cast<std::size_t>(tickets.shape(0));
    const auto m = static_cast<std::size_t>(k + waitlist);
    py::array_t<std::int64_t> out(static_cast<py::ssize_t>(m));
    const double* t = tickets.data();
    std::int64_t* o = out.mutable_data();
    auto body = [&] {
        fastfair::Rng rng(seed);
        fastfair::draw_tickets(t, n, m, rng, o);
    };
    if (n > kReleaseGilAbove) {
        py::gil_scoped_release nogil;
        body();
    } else {
        body();
    }
    return out;
}

}  // namespace

void register_tickets(py::module_& m) {
    m.def(
        "ticket_odds",
        [](py::handle tickets, std::int64_t k, std::int64_t waitlist, double tol) {
            return py_ticket_odds(fastfair_bind::real_f64(tickets, "tickets"), k, waitlist,
                                  tol);
        },
        "tickets"_a, "k"_a, "waitlist"_a = 0, "tol"_a = 1e-14,
        "Internal: exact inclusion probabilities of the ticket hat; returns (pi, info).");
    m.def(
        "draw_tickets",
        [](py::handle tickets, std::int64_t k, std::int64_t waitlist, std::uint64_t seed) {
            return py_draw_tickets(fastfair_bind::real_f64(tickets, "tickets"), k, waitlist,
                                   seed);
        },
        "tickets"_a, "k"_a, "waitlist"_a, "seed"_a,
        "Internal: the first k + waitlist entrants drawn from the hat, in order.");
}
