// Lottery divisions: one lottery whose entries are partitioned into D divisions (a
// small code per entry, 0 <= code < D), division d having its own number of seats k_d.
// Seats, fairness and rounding all run within each division (a partition matroid):
//
//   * deserved seats: water-filled over the division's entries with its k_d;
//   * fair probabilities: the exact projection of (cumulative deserved - wins) onto
//     { 0 <= pi <= 1, sum over the division's eligible entries = k_d };
//   * winners: pipage rounding on the division's entries, so exactly k_d of them win.
//
// Divisions are processed in the order of their codes, each on its entries gathered in
// their original (pool-position) order, with the stateless kernels of lottery.hpp and
// pipage.hpp; the rounding of all divisions draws from ONE generator, division 0 first.
// So a lottery with a single division holding every entry is bit-identical to the
// undivided lottery (same inputs to the same kernels, same random numbers).
//
// The gathered arrays live in a reusable DivisionScratch: after the first lottery of a
// given size nothing is allocated.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "fastfair/lottery.hpp"
#include "fastfair/pipage.hpp"
#include "fastfair/rng.hpp"

namespace fastfair {

// Division codes are uint16: at most 65,536 divisions per lottery.
constexpr std::size_t kMaxDivisions = std::size_t{1} << 16;

// The entries of each division, grouped by code (a counting sort, stable: within a
// division the entries keep their order). Entries of division d are
// order[start[d] .. start[d+1]).
struct DivisionIndex {
    std::vector<std::size_t> start;  // D + 1 offsets
    std::vector<std::uint32_t> order;
    std::vector<std::size_t> cursor;

    // code[0:m] must be < D (checked by the caller).
    void build(const std::uint16_t* code, std::size_t m, std::size_t D) {
        start.assign(D + 1, 0);
        for (std::size_t j = 0; j < m; ++j) ++start[code[j] + 1];
        for (std::size_t d = 0; d < D; ++d) start[d + 1] += start[d];
        cursor.assign(start.begin(), start.end() - 1);
        order.resize(m);
        for (std::size_t j = 0; j < m; ++j) order[cursor[code[j]]++] = static_cast<std::uint32_t>(j);
    }
    std::size_t size(std::size_t d) const noexcept { return start[d + 1] - start[d]; }
    const std::uint32_t* entries(std::size_t d) const noexcept { return order.data() + start[d]; }
};

// Reusable buffers of the per-division kernels (one per caller).
struct DivisionScratch {
    DivisionIndex ix;
    std::vector<double> a, b;             // gathered inputs / outputs
    std::vector<std::uint8_t> el;         // gathered eligibility
    std::vector<std::int8_t> w;           // gathered winners
    std::vector<std::uint32_t> work;      // deserved_seats work space
    std::vector<std::uint64_t> counts;    // entrants per division (checks)
    FairScratch fair;
};

// Checks the codes and seats of a divided column: codes < D, 1 <= D <= kMaxDivisions,
// 0 <= k_d <= entries of division d with a score > 0. Returns sum k_d (<= m, so no
// overflow). `what` names the input in messages; n_pos is scratch (one per division).
inline std::int64_t check_divisions(const std::uint16_t* code, const double* s, std::size_t m,
                                    const std::int64_t* kd, std::size_t D,
                                    const std::string& what, std::vector<std::uint64_t>& n_pos) {
    if (D == 0 || D > kMaxDivisions)
        throw std::invalid_argument(what + ": the number of divisions must lie in [1, 65536], got " +
                                    std::to_string(D));
    n_pos.assign(D, 0);
    for (std::size_t j = 0; j < m; ++j) {
        if (code[j] >= D)
            throw std::invalid_argument(what + ": division code " + std::to_string(code[j]) +
                                        " at entry " + std::to_string(j) + " is not below the " +
                                        std::to_string(D) + " divisions");
        n_pos[code[j]] += s[j] > 0.0;
    }
    std::int64_t total = 0;
    for (std::size_t d = 0; d < D; ++d) {
        if (kd[d] < 0 || static_cast<std::uint64_t>(kd[d]) > n_pos[d])
            throw std::invalid_argument(
                what + ": the seats of division " + std::to_string(d) +
                " must lie in [0, its entrants with a score > 0] = [0, " +
                std::to_string(n_pos[d]) + "], got " + std::to_string(kd[d]));
        total += kd[d];  // each k_d <= n_pos[d], the n_pos sum to <= m: no overflow
    }
    return total;
}

// Deserved seats per division: d[0:m] (w.ix must be built for these entries).
inline void divided_deserved_seats(const double* s, std::size_t m, const std::int64_t* kd,
                                   std::size_t D, double* d, DivisionScratch& w) {
    (void)m;
    for (std::size_t q = 0; q < D; ++q) {
        const std::size_t md = w.ix.size(q);
        const std::uint32_t* e = w.ix.entries(q);
        w.a.resize(md);
        w.b.resize(md);
        for (std::size_t j = 0; j < md; ++j) w.a[j] = s[e[j]];
        deserved_seats(w.a.data(), md, static_cast<double>(kd[q]), w.b.data(), w.work);
        for (std::size_t j = 0; j < md; ++j) d[e[j]] = w.b[j];
    }
}

// Fair probabilities per division: the exact projection of target over each division's
// eligible entries with its k_d; pi[0:m] (w.ix built).
inline void divided_fair_probabilities(const double* target, const std::uint8_t* eligible,
                                       std::size_t m, const std::int64_t* kd, std::size_t D,
                                       double* pi, DivisionScratch& w) {
    (void)m;
    for (std::size_t q = 0; q < D; ++q) {
        const std::size_t md = w.ix.size(q);
        const std::uint32_t* e = w.ix.entries(q);
        w.a.resize(md);
        w.b.resize(md);
        w.el.resize(md);
        for (std::size_t j = 0; j < md; ++j) {
            w.a[j] = target[e[j]];
            w.el[j] = eligible[e[j]];
        }
        fair_probabilities_exact(w.a.data(), w.el.data(), md, static_cast<double>(kd[q]),
                                 w.b.data(), w.fair);
        for (std::size_t j = 0; j < md; ++j) pi[e[j]] = w.b[j];
    }
}

// Pipage rounding per division, divisions in code order, all from `rng`; out[0:m].
// Returns D if every division drew exactly k_d winners, else the first division that
// did not (w.ix built; pi already valid).
inline std::size_t divided_pipage_round(const double* pi, std::size_t m, const std::int64_t* kd,
                                        std::size_t D, Rng& rng, std::int8_t* out,
                                        DivisionScratch& w) {
    (void)m;
    std::size_t bad = D;
    for (std::size_t q = 0; q < D; ++q) {
        const std::size_t md = w.ix.size(q);
        const std::uint32_t* e = w.ix.entries(q);
        w.a.resize(md);
        w.w.resize(md);
        for (std::size_t j = 0; j < md; ++j) w.a[j] = pi[e[j]];
        const std::size_t ones = pipage_round(w.a.data(), md, rng, w.w.data());
        if (ones != static_cast<std::size_t>(kd[q]) && bad == D) bad = q;
        for (std::size_t j = 0; j < md; ++j) out[e[j]] = w.w[j];
    }
    return bad;
}

}  // namespace fastfair
