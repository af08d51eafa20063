// Randomized pipage rounding for the uniform matroid (Karimi et al. 2017, Alg. 3; the
// loop of the fair-lottery blog), in one O(n) pass.
//
// Input: pi in [0, 1]^n with sum pi = K, an integer. Output: x in {0, 1}^n with exactly
// K ones and E[x_i] = pi_i for every i.
//
// One fractional "carry" entry c is kept. Each next fractional entry j is paired with
// it and the pair's mass s = pi_c + pi_j is moved so that one of the two becomes
// integral, with probabilities that keep both expectations:
//   s < 1:  c takes all of s with prob. pi_c / s, else j does (the loser becomes 0);
//   s >= 1: c becomes 1 with prob. (1 - pi_j) / (2 - s), else j does (the other
//           keeps s - 1).
// The entry that becomes integral is set to exactly 0 or 1 and written out at once;
// the fractional one is the new carry. Mass is conserved up to rounding, so the last
// carry is within ~n ulps of 0 or 1 and is rounded. Each pairing uses one uniform01().
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "fastfair/rng.hpp"
#include "fastfair/simd.hpp"
#include "fastfair/summation.hpp"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

// GCC 12 reports its own _mm512_undefined_pd inside the AVX-512 intrinsics as "may
// be used uninitialized"; no kernel here reads an undefined lane (popped at the end).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace fastfair {

namespace detail {

// The state of the carry chain between blocks.
struct PipageCarry {
    bool have = false;
    std::size_t c = 0;  // index of the carry entry
    double pc = 0.0;    // its (fractional) mass
};

#if defined(__SSE2__)
// a where mask is all ones, else b
inline __m128d select_sd(__m128d mask, __m128d a, __m128d b) noexcept {
    return _mm_or_pd(_mm_and_pd(mask, a), _mm_andnot_pd(mask, b));
}
#endif

// The carry chain over the fractional entries fv[0:m] (at indices base + fi[t]).
// Same arithmetic and the same draws as the textbook loop in the header comment; the
// data-dependent choices are selects, not branches (they are coin flips). Only the
// start of a chain (the first fractional entry, or the one after an exact s == 1) is
// a branch: it is rare and predictable.
inline std::size_t pipage_chain(const double* fv, const std::uint32_t* fi, std::size_t m,
                                std::size_t base, PipageCarry& st, Rng& rng,
                                std::int8_t* out) noexcept {
    std::size_t ones = 0;
    bool have = st.have;
    std::size_t c = st.c;
    double pc = st.pc;
    for (std::size_t t = 0; t < m; ++t) {
        const double pj = fv[t];
        const std::size_t j = base + fi[t];
        if (!have) {
            have = true;
            c = j;
            pc = pj;
            continue;
        }
        const double u = rng.uniform01();
        // s < 1:  c keeps the mass iff u * s < pc (then j is settled at 0);
        // s >= 1: c is settled at 1 iff u * (2 - s) < 1 - pj (then j carries the rest).
        // The new carry mass is s (s < 1) or s - 1 (exact). Selects are bit masks: GCC
        // compiles a ternary on doubles into a branch here (a coin flip: mispredicted).
        double s;
        unsigned small, win;
        {
#if defined(__SSE2__)
            const __m128d one = _mm_set_sd(1.0);
            const __m128d vs = _mm_add_sd(_mm_set_sd(pc), _mm_set_sd(pj));
            const __m128d lt1 = _mm_cmplt_sd(vs, one);  // all ones iff s < 1
            const __m128d den = select_sd(lt1, vs, _mm_sub_sd(_mm_set_sd(2.0), vs));
            const __m128d rhs = select_sd(lt1, _mm_set_sd(pc), _mm_sub_sd(one, _mm_set_sd(pj)));
            const __m128d lhs = _mm_mul_sd(_mm_set_sd(u), den);
            small = static_cast<unsigned>(_mm_movemask_pd(lt1)) & 1u;
            win = static_cast<unsigned>(_mm_movemask_pd(_mm_cmplt_sd(lhs, rhs))) & 1u;
            s = _mm_cvtsd_f64(select_sd(lt1, vs, _mm_sub_sd(vs, one)));  // s or s - 1
#else
            const double sum = pc + pj;
            small = sum < 1.0;
            win = u * (small ? sum : 2.0 - sum) < (small ? pc : 1.0 - pj);
            s = small ? sum : sum - 1.0;
#endif
        }
        const std::size_t settle_c = static_cast<std::size_t>(small ^ win);
        const std::size_t mask = std::size_t{0} - settle_c;  // all ones iff c is settled
        const std::size_t diff = (c ^ j) & mask;
        out[j ^ diff] = static_cast<std::int8_t>(small ^ 1u);  // c if settled, else j
        ones += small ^ 1u;
        c ^= diff;  // j if c was settled
        pc = s;
        if (pc <= 0.0) {  // s == 1 exactly: both ends are integral now
            out[c] = 0;
            have = false;
        }
    }
    st.have = have;
    st.c = c;
    st.pc = pc;
    return ones;
}


}  // namespace detail

namespace detail {

// The first pass over one block (m <= kBlock entries): integral entries written as 0
// or 1 (fractional ones get a placeholder 0), fractional values and block indices
// compacted into fv / fi. Returns the ones written; nf receives the fractional count.
inline std::size_t pipage_pass1(const double* p, std::size_t m, std::int8_t* o, double* fv,
                                std::uint32_t* fi, std::size_t& nf_out) noexcept {
    std::size_t nf = 0, ones = 0;
    for (std::size_t t = 0; t < m; ++t) {
        const double pj = p[t];
        const bool one = pj >= 1.0;
        o[t] = static_cast<std::int8_t>(one);
        ones += static_cast<std::size_t>(one);
        fv[nf] = pj;
        fi[nf] = static_cast<std::uint32_t>(t);
        nf += static_cast<std::size_t>((pj > 0.0) & (pj < 1.0));
    }
    nf_out = nf;
    return ones;
}

#if FASTFAIR_X86_DISPATCH
// kBytes01[m]: 8 bytes, byte l = bit l of m (0 or 1), little-endian.
struct Bytes01Table {
    std::uint64_t v[256];
    constexpr Bytes01Table() : v{} {
        for (int m = 0; m < 256; ++m)
            for (int l = 0; l < 8; ++l)
                if (m & (1 << l)) v[m] |= std::uint64_t{1} << (8 * l);
    }
};
inline constexpr Bytes01Table kBytes01{};

// pipage_pass1 with AVX-512F: compares, compress-stores of the fractional values and
// indices, the 0/1 bytes from a table. The same outputs.
__attribute__((target("avx512f,popcnt"), noinline)) inline std::size_t pipage_pass1_avx512(
    const double* p, std::size_t m, std::int8_t* o, double* fv, std::uint32_t* fi,
    std::size_t& nf_out) noexcept {
    const __m512d one = _mm512_set1_pd(1.0), zero = _mm512_setzero_pd();
    const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 0, 0, 0, 0, 0, 0, 0, 0);
    std::size_t nf = 0, ones = 0, t = 0;
    // compress-stores write 8 entries at fv + nf <= fv + t: inside the block buffers
    for (; t + 8 <= m; t += 8) {
        const __m512d v = _mm512_loadu_pd(p + t);
        const __mmask8 is_one = _mm512_cmp_pd_mask(v, one, _CMP_GE_OQ);
        const __mmask8 frac = static_cast<__mmask8>(_mm512_cmp_pd_mask(v, zero, _CMP_GT_OQ) &
                                                     _mm512_cmp_pd_mask(v, one, _CMP_LT_OQ));
        const std::uint64_t bytes = kBytes01.v[is_one];
        std::memcpy(o + t, &bytes, 8);
        ones += static_cast<std::size_t>(__builtin_popcount(is_one));
        _mm512_storeu_pd(fv + nf, _mm512_maskz_compress_pd(frac, v));
        const __m512i idx = _mm512_add_epi32(iota, _mm512_set1_epi32(static_cast<int>(t)));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(fi + nf),
                            _mm512_castsi512_si256(_mm512_maskz_compress_epi32(frac, idx)));
        nf += static_cast<std::size_t>(__builtin_popcount(frac));
    }
    std::size_t nf_tail = 0;
    ones += pipage_pass1(p + t, m - t, o + t, fv + nf, fi + nf, nf_tail);
    for (std::size_t q = nf; q < nf + nf_tail; ++q) fi[q] += static_cast<std::uint32_t>(t);
    nf_out = nf + nf_tail;
    return ones;
}
#endif

// Check: also sums pi in index order with NeumaierSum (the same arithmetic as
// accurate_sum) and finds the first entry outside [0, 1] (NaN included), fused into
// the pass that reads pi; the draw is then meaningless unless that entry is n.
template <bool Check>
inline std::size_t pipage_blocks(const double* pi, std::size_t n, Rng& rng,
                                 std::int8_t* out, NeumaierSum* total,
                                 std::size_t* first_bad) noexcept {
    constexpr std::size_t kBlock = 2048;
    double fv[kBlock];
    std::uint32_t fi[kBlock];
    std::size_t ones = 0, bad = n;
    PipageCarry st;
    NeumaierSum sum;
    Rng local = rng;  // in registers: the int8 stores below could alias a member
    const int level = simd::level();
    (void)level;
    for (std::size_t b0 = 0; b0 < n; b0 += kBlock) {
        const std::size_t m = n - b0 < kBlock ? n - b0 : kBlock;
        const double* p = pi + b0;
        std::int8_t* o = out + b0;
        std::size_t nf = 0, blk_ones = 0;
        bool blk_ok = true;
        if (Check) {
            for (std::size_t t = 0; t < m; ++t) {
                const double pj = p[t];
                const bool one = pj >= 1.0;
                o[t] = static_cast<std::int8_t>(one);
                blk_ones += static_cast<std::size_t>(one);
                fv[nf] = pj;
                fi[nf] = static_cast<std::uint32_t>(t);
                nf += static_cast<std::size_t>((pj > 0.0) & (pj < 1.0));
                sum.add(pj);
                blk_ok &= (pj >= 0.0) & (pj <= 1.0);
            }
        } else {
#if FASTFAIR_X86_DISPATCH
            if (level >= 2)
                blk_ones = pipage_pass1_avx512(p, m, o, fv, fi, nf);
            else
#endif
                blk_ones = pipage_pass1(p, m, o, fv, fi, nf);
        }
        if (Check && !blk_ok && bad == n)
            for (std::size_t t = 0; t < m; ++t)
                if (!(p[t] >= 0.0 && p[t] <= 1.0)) {
                    bad = b0 + t;
                    break;
                }
        ones += blk_ones;
        ones += pipage_chain(fv, fi, nf, b0, st, local, out);
    }
    if (st.have) {
        const bool one = st.pc >= 0.5;
        out[st.c] = one ? 1 : 0;
        ones += one;
    }
    rng = local;
    if (Check) {
        *total = sum;
        *first_bad = bad;
    }
    return ones;
}

}  // namespace detail

// Writes one draw into out[0:n] (values 0 or 1) and returns the number of ones.
// pi must already be validated (finite, in [0, 1], integral sum).
//
// Blocked, one pass over memory: per block of 2048 entries, a branch-free pass writes
// the integral entries (0 or 1; the fractional ones get a placeholder 0) and compacts
// the fractional ones into a small stack buffer, then the carry chain runs over that
// buffer. No allocation; the generator is advanced exactly as by the plain loop (one
// draw per pairing), so the draws are bit-identical to it.
inline std::size_t pipage_round(const double* pi, std::size_t n, Rng& rng,
                                std::int8_t* out) noexcept {
    return detail::pipage_blocks<false>(pi, n, rng, out, nullptr, nullptr);
}

// The validation of pi alone: total = accurate_sum(pi, n) (bit-identical) and
// first_bad = the first entry outside [0, 1] (n if none). One branch-free pass.
inline void pipage_input_scan(const double* pi, std::size_t n, double& total,
                              std::size_t& first_bad) noexcept {
    NeumaierSum sum;
    bool ok = true;
    for (std::size_t i = 0; i < n; ++i) {
        sum.add(pi[i]);
        ok &= (pi[i] >= 0.0) & (pi[i] <= 1.0);
    }
    first_bad = n;
    if (!ok)
        for (std::size_t i = 0; i < n; ++i)
            if (!(pi[i] >= 0.0 && pi[i] <= 1.0)) {
                first_bad = i;
                break;
            }
    total = sum.value();
}

// pipage_round fused with the validation of pi: total receives accurate_sum(pi, n)
// (bit-identical) and first_bad the index of the first entry outside [0, 1] (n if
// none). Never crashes on bad input (every write stays in out[0:n]); the draw is only
// meaningful if first_bad == n and the sum is whole.
inline std::size_t pipage_round_checked(const double* pi, std::size_t n, Rng& rng,
                                        std::int8_t* out, double& total,
                                        std::size_t& first_bad) noexcept {
    NeumaierSum sum;
    const std::size_t ones = detail::pipage_blocks<true>(pi, n, rng, out, &sum, &first_bad);
    total = sum.value();
    return ones;
}

}  // namespace fastfair

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
