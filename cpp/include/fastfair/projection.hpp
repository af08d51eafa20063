// Exact Euclidean projection onto the capped simplex
//     C_k = { x in R^n : 0 <= x_i <= 1, sum_i x_i = k },   0 <= k <= n.
//
// The projection is x_i = clip(y_i - lambda, 0, 1) for the threshold lambda solving
// f(lambda) = sum_i clip(y_i - lambda, 0, 1) = k (KKT conditions). f is continuous,
// non-increasing and piecewise linear with breakpoints y_i - 1 and y_i.
//
// lambda is found by bracketing: keep an interval (lo, hi) known to contain it and the
// "undecided" indices, those with a breakpoint strictly inside (lo, hi). Every other
// index is a constant 0, a constant 1, or linear (y_i - lambda) on the interval, and is
// folded into three accumulators. Each pass evaluates f at one pivot, halves the
// interval at it and drops the indices it decided. Pivots alternate between the root
// of the current linear model (fast in practice: usually 3-5 passes) and a random
// breakpoint of an undecided index (expected O(n) total, like quickselect).
// Once no breakpoint is left inside, f is linear there and lambda is solved exactly.
//
// Guarantees: 0 <= x_i <= 1 exactly; sum x (computed accurately) equals k to within
// a few ulps thanks to a final residual correction.
// Cost: O(n) expected time, O(n) scratch indices (reusable across calls).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <vector>

#include "fastfair/config.hpp"
#include "fastfair/parallel.hpp"
#include "fastfair/simd.hpp"
#include "fastfair/rng.hpp"
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

// Written as two selects: GCC turns std::min/std::max here into unpredictable branches.
inline double clip01(double v) noexcept {
    v = v > 0.0 ? v : 0.0;
    return v < 1.0 ? v : 1.0;
}

// sum_i clip01(v_i - b): branch-free so the compiler can vectorise it.
FASTFAIR_NOINLINE inline double clipped_sum(const double* v, std::size_t n, double b) noexcept {
    double s = 0.0;
    for (std::size_t i = 0; i < n; ++i) s += clip01(v[i] - b);
    return s;
}

// What is known about f on the current bracket (lo, hi).
struct Bracket {
    double lo = -std::numeric_limits<double>::infinity();
    double hi = std::numeric_limits<double>::infinity();
    double n_one = 0.0;     // entries equal to 1 on the whole bracket
    double free_sum = 0.0;  // sum of y over entries linear (y - lambda) on the bracket
    double n_free = 0.0;
};

// Moves every value of src[0:n] that the bracket decides into the accumulators and
// the undecided ones (a breakpoint strictly inside) to dst; returns how many.
// dst may equal src (in-place compaction). Branch-free: the data are random.
FASTFAIR_NOINLINE inline std::size_t partition_undecided(const double* src, std::size_t n, double* dst,
                                       Bracket& br) noexcept {
    std::size_t kept = 0;
    double n_one = 0.0, free_sum = 0.0, n_free = 0.0;
    const double lo = br.lo, hi = br.hi;
    for (std::size_t t = 0; t < n; ++t) {
        const double up = src[t], down = up - 1.0;
        const bool zero = up <= lo;
        const bool one = down >= hi;
        const bool lin = (down <= lo) & (up >= hi);
        // multiplications by 0/1, not selects: GCC would branch on these
        const double lin01 = static_cast<double>(lin);
        n_one += static_cast<double>(one);
        free_sum += up * lin01;
        n_free += lin01;
        dst[kept] = up;
        kept += static_cast<std::size_t>(!(zero | one | lin));
    }
    br.n_one += n_one;
    br.free_sum += free_sum;
    br.n_free += n_free;
    return kept;
}

// Narrows the bracket at pivot b given fb = f(b); returns true if b solves f = k.
inline bool narrow(Bracket& br, double b, double fb, double k) noexcept {
    if (fb == k) return true;
    if (fb > k)
        br.lo = b;
    else
        br.hi = b;
    return false;
}

// Solves f(lambda) = k on the bracket, the undecided values being v[0:w] (modified).
inline double solve_bracket(double* v, std::size_t w, double k, Bracket& br, Rng& rng) {
    std::size_t pass = 0;
    while (w > 0) {
        double b = std::numeric_limits<double>::quiet_NaN();
        if (pass++ % 2 == 0) {
            // Root of the model where every undecided value is linear.
            double w_sum = 0.0;
            for (std::size_t t = 0; t < w; ++t) w_sum += v[t];
            const double est =
                (br.n_one + br.free_sum + w_sum - k) / (br.n_free + static_cast<double>(w));
            if (est > br.lo && est < br.hi) b = est;
        }
        if (!(b > br.lo && b < br.hi)) {
            // A random breakpoint of an undecided value (expected O(n) overall).
            const double up = v[rng.next_u64() % w], down = up - 1.0;
            const bool up_in = up > br.lo && up < br.hi;
            const bool down_in = down > br.lo && down < br.hi;
            b = (up_in && (!down_in || (rng.next_u64() & 1))) ? up : down;
        }
        const double fb = br.n_one + br.free_sum - br.n_free * b + clipped_sum(v, w, b);
        if (narrow(br, b, fb, k)) return b;
        w = partition_undecided(v, w, v, br);
    }
    if (br.n_free > 0.0) {
        const double lam = (br.n_one + br.free_sum - k) / br.n_free;
        return std::min(std::max(lam, br.lo), br.hi);
    }
    // f is constant (= k) on the bracket: any point of it is a solution.
    return std::isfinite(br.hi) ? br.hi : br.lo;
}

}  // namespace detail

namespace detail {

constexpr std::size_t kSampleAbove = 2048;

// Floyd-Rivest style start (n > kSampleAbove): the thresholds of a random sample for
// targets k_s -/+ 3 standard deviations bracket lambda with high probability, so a
// single pass over y decides almost every entry. Returns false (nothing computed;
// rng is then left unused by the caller) if a sampled value is not finite or above
// 2^900: the caller validates y first in that case.
inline bool sample_pivots(const double* y, std::size_t n, double k, Rng& rng, double& p_lo,
                          double& p_hi) {
    const std::size_t kSample = std::min<std::size_t>(4096, n / 16);
    std::vector<double> sample(kSample);
    bool ok = true;
    for (auto& v : sample) {
        v = y[rng.next_u64() % n];
        ok &= std::fabs(v) <= 0x1.0p+900;  // false for NaN and +-inf
    }
    if (!ok) return false;
    const double ns = static_cast<double>(kSample);
    const double ks = k * ns / static_cast<double>(n);
    const double d = 3.0 * std::sqrt(ks * (1.0 - ks / ns)) + 1.0;
    std::vector<double> scratch;
    auto sample_threshold = [&](double target) {
        scratch.assign(sample.begin(), sample.end());
        Bracket sb;
        return solve_bracket(scratch.data(), kSample, target, sb, rng);
    };
    const Bracket none;
    p_lo = ks + d < ns ? sample_threshold(ks + d) : none.lo;
    p_hi = ks - d > 0.0 ? sample_threshold(ks - d) : none.hi;
    return true;
}

// What one pass over y gives for the sampled pivots p_lo <= p_hi: the partition of y
// at the bracket (p_lo, p_hi) (undecided values compacted into dst, counts and the
// free sum: the same values as partition_undecided), the validation of y (all finite,
// max |y|), and f at both pivots, f(p) = sum_i clip01(y_i - p), summed in lanes: only
// its comparisons with k are used, and those are taken only when a rounding-error
// bound proves them equal to those of the plain sequential sum (f_exact otherwise).
// The partition is used only when that bracket turns out to be the right one (the
// usual case).
struct FusedPass {
    double f_lo = 0.0, f_hi = 0.0;  // lane sums
    double big = 0.0;               // max |y_i|
    bool finite = true;
    std::size_t kept = 0;
    Bracket br;
};

// The sign of f_seq - k (-1, 0, +1) for the sequential sum f_seq of n terms in [0, 1],
// given another sum f_lanes of the same terms in any order: both are within
// gamma_n * F of the exact sum F (Higham, Thm 4.4), so f_seq - k has the sign of
// f_lanes - k when |f_lanes - k| exceeds twice that. Returns 2 if undecided.
inline int sign_vs_k(double f_lanes, std::size_t n, double k) noexcept {
    const double u = 0x1.0p-53;
    const double nu = static_cast<double>(n) * u;
    const double bound = 4.0 * nu * (f_lanes + 1.0) + 0x1.0p-1000;  // >= 2 gamma_n F
    if (f_lanes - k > bound) return 1;
    if (k - f_lanes > bound) return -1;
    return 2;
}

#if defined(__SSE2__)
// One chunk of the fused pass: undecided values compacted to dst, free values to
// free_vals (both from index 0 of the chunk).
struct FusedChunk {
    double f_lo = 0.0, f_hi = 0.0, big = 0.0;
    bool finite = true;
    std::size_t kept = 0, n_free = 0, n_one = 0;
};

FASTFAIR_NOINLINE inline void fused_chunk(const double* y, std::size_t n, double p_lo,
                                          double p_hi, double* dst, double* free_vals,
                                          FusedChunk& out) noexcept {
    const __m128d zero = _mm_setzero_pd(), one = _mm_set1_pd(1.0);
    const __m128d vlo = _mm_set1_pd(p_lo), vhi = _mm_set1_pd(p_hi);
    const __m128d absmask = _mm_castsi128_pd(_mm_set1_epi64x(0x7FFFFFFFFFFFFFFFLL));
    const __m128d dmax = _mm_set1_pd(std::numeric_limits<double>::max());
    __m128d acc_lo0 = zero, acc_lo1 = zero, acc_hi0 = zero, acc_hi1 = zero;
    __m128d big = zero, fin = _mm_castsi128_pd(_mm_set1_epi64x(-1));
    std::size_t kept = 0, nfv = 0, n_one = 0;
    const auto step = [&](__m128d v, __m128d& acc_lo, __m128d& acc_hi) {
        const __m128d a = _mm_and_pd(v, absmask);
        fin = _mm_and_pd(fin, _mm_cmple_pd(a, dmax));
        big = _mm_max_pd(big, a);
        acc_lo = _mm_add_pd(acc_lo, _mm_min_pd(_mm_max_pd(_mm_sub_pd(v, vlo), zero), one));
        acc_hi = _mm_add_pd(acc_hi, _mm_min_pd(_mm_max_pd(_mm_sub_pd(v, vhi), zero), one));
        const __m128d down = _mm_sub_pd(v, one);
        const __m128d is_zero = _mm_cmple_pd(v, vlo);
        const __m128d is_one = _mm_cmpge_pd(down, vhi);
        const __m128d is_lin = _mm_and_pd(_mm_cmple_pd(down, vlo), _mm_cmpge_pd(v, vhi));
        const unsigned dec = static_cast<unsigned>(
            _mm_movemask_pd(_mm_or_pd(_mm_or_pd(is_zero, is_one), is_lin)));
        const unsigned lin = static_cast<unsigned>(_mm_movemask_pd(is_lin));
        const unsigned ones = static_cast<unsigned>(_mm_movemask_pd(is_one));
        n_one += (ones & 1u) + (ones >> 1);
        _mm_storel_pd(dst + kept, v);
        kept += ~dec & 1u;
        _mm_storeh_pd(dst + kept, v);
        kept += (~dec >> 1) & 1u;
        _mm_storel_pd(free_vals + nfv, v);
        nfv += lin & 1u;
        _mm_storeh_pd(free_vals + nfv, v);
        nfv += lin >> 1;
    };
    std::size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        step(_mm_loadu_pd(y + i), acc_lo0, acc_hi0);
        step(_mm_loadu_pd(y + i + 2), acc_lo1, acc_hi1);
    }
    for (; i < n; ++i) {  // the tail, one entry at a time
        const double up = y[i], dn = up - 1.0;
        const __m128d a = _mm_and_pd(_mm_set_sd(up), absmask);
        fin = _mm_and_pd(fin, _mm_or_pd(_mm_cmple_sd(a, dmax), _mm_set_pd(-0.0, 0.0)));
        big = _mm_max_pd(big, a);
        acc_lo0 = _mm_add_sd(acc_lo0, _mm_set_sd(clip01(up - p_lo)));
        acc_hi0 = _mm_add_sd(acc_hi0, _mm_set_sd(clip01(up - p_hi)));
        const bool z = up <= p_lo, o = dn >= p_hi, l = (dn <= p_lo) & (up >= p_hi);
        n_one += o;
        dst[kept] = up;
        kept += !(z | o | l);
        free_vals[nfv] = up;
        nfv += l;
    }
    const auto hsum = [](__m128d a, __m128d b) {
        const __m128d sv = _mm_add_pd(a, b);
        return _mm_cvtsd_f64(_mm_add_sd(sv, _mm_unpackhi_pd(sv, sv)));
    };
    out.f_lo = hsum(acc_lo0, acc_lo1);
    out.f_hi = hsum(acc_hi0, acc_hi1);
    out.big = _mm_cvtsd_f64(_mm_max_pd(big, _mm_unpackhi_pd(big, big)));
    // NaN lanes make the comparison false; all lanes must be finite
    out.finite = _mm_movemask_pd(fin) == 3;
    out.kept = kept;
    out.n_free = nfv;
    out.n_one = n_one;
}

#if FASTFAIR_X86_DISPATCH
// The same chunk kernel, 4 lanes (AVX2) and 8 lanes (AVX-512F): the same
// compactions, counts, maxima and validation; lane sums in another order (only
// compared with k under an error bound).
namespace avx2_detail {
// kCompress4[m]: the 32-bit lane indices that move the doubles selected by the 4-bit
// mask m to the front (in order), for _mm256_permutevar8x32_ps.
struct Compress4Table {
    alignas(32) std::int32_t idx[16][8];
    constexpr Compress4Table() : idx{} {
        for (int m = 0; m < 16; ++m) {
            int o = 0;
            for (int l = 0; l < 4; ++l)
                if (m & (1 << l)) {
                    idx[m][2 * o] = 2 * l;
                    idx[m][2 * o + 1] = 2 * l + 1;
                    ++o;
                }
            for (; o < 4; ++o) idx[m][2 * o] = idx[m][2 * o + 1] = 0;
        }
    }
};
inline constexpr Compress4Table kCompress4{};
}  // namespace avx2_detail

#define FASTFAIR_AVX2_STEP(OFF, ACC_LO, ACC_HI)                                              \
    do {                                                                                     \
        const __m256d v = _mm256_loadu_pd(y + i + (OFF));                                    \
        const __m256d a = _mm256_and_pd(v, absmask);                                         \
        fin = _mm256_and_pd(fin, _mm256_cmp_pd(a, dmax, _CMP_LE_OQ));                         \
        big = _mm256_max_pd(big, a);                                                         \
        ACC_LO = _mm256_add_pd(                                                              \
            ACC_LO, _mm256_min_pd(_mm256_max_pd(_mm256_sub_pd(v, vlo), zero), one));         \
        ACC_HI = _mm256_add_pd(                                                              \
            ACC_HI, _mm256_min_pd(_mm256_max_pd(_mm256_sub_pd(v, vhi), zero), one));         \
        const __m256d down = _mm256_sub_pd(v, one);                                          \
        const __m256d is_zero = _mm256_cmp_pd(v, vlo, _CMP_LE_OQ);                           \
        const __m256d is_one = _mm256_cmp_pd(down, vhi, _CMP_GE_OQ);                         \
        const __m256d is_lin = _mm256_and_pd(_mm256_cmp_pd(down, vlo, _CMP_LE_OQ),            \
                                             _mm256_cmp_pd(v, vhi, _CMP_GE_OQ));              \
        const unsigned keep = ~static_cast<unsigned>(_mm256_movemask_pd(                     \
                                  _mm256_or_pd(_mm256_or_pd(is_zero, is_one), is_lin))) &     \
                              15u;                                                           \
        const unsigned lin = static_cast<unsigned>(_mm256_movemask_pd(is_lin));              \
        n_one += static_cast<std::size_t>(                                                   \
            __builtin_popcount(static_cast<unsigned>(_mm256_movemask_pd(is_one))));          \
        const __m256 vf = _mm256_castpd_ps(v);                                               \
        _mm256_storeu_pd(dst + kept,                                                         \
                         _mm256_castps_pd(_mm256_permutevar8x32_ps(                           \
                             vf, _mm256_load_si256(reinterpret_cast<const __m256i*>(          \
                                     avx2_detail::kCompress4.idx[keep])))));                  \
        kept += static_cast<std::size_t>(__builtin_popcount(keep));                          \
        _mm256_storeu_pd(free_vals + nfv,                                                    \
                         _mm256_castps_pd(_mm256_permutevar8x32_ps(                           \
                             vf, _mm256_load_si256(reinterpret_cast<const __m256i*>(          \
                                     avx2_detail::kCompress4.idx[lin])))));                   \
        nfv += static_cast<std::size_t>(__builtin_popcount(lin));                            \
    } while (0)

__attribute__((target("avx2,popcnt"), noinline)) inline void fused_chunk_avx2(
    const double* y, std::size_t n, double p_lo, double p_hi, double* dst,
    double* free_vals, FusedChunk& out) noexcept {
    const __m256d zero = _mm256_setzero_pd(), one = _mm256_set1_pd(1.0);
    const __m256d vlo = _mm256_set1_pd(p_lo), vhi = _mm256_set1_pd(p_hi);
    const __m256d absmask = _mm256_castsi256_pd(_mm256_set1_epi64x(0x7FFFFFFFFFFFFFFFLL));
    const __m256d dmax = _mm256_set1_pd(std::numeric_limits<double>::max());
    __m256d acc_lo0 = zero, acc_lo1 = zero, acc_hi0 = zero, acc_hi1 = zero, big = zero;
    __m256d fin = _mm256_castsi256_pd(_mm256_set1_epi64x(-1));
    std::size_t kept = 0, nfv = 0, n_one = 0, i = 0;
    // a compacting store writes 4 doubles at dst + kept <= dst + i + 4: inside the chunk
    for (; i + 8 <= n; i += 8) {
        FASTFAIR_AVX2_STEP(0, acc_lo0, acc_hi0);
        FASTFAIR_AVX2_STEP(4, acc_lo1, acc_hi1);
    }
    const __m256d slo = _mm256_add_pd(acc_lo0, acc_lo1), shi = _mm256_add_pd(acc_hi0, acc_hi1);
    alignas(32) double t_lo[4], t_hi[4], t_big[4];
    _mm256_store_pd(t_lo, slo);
    _mm256_store_pd(t_hi, shi);
    _mm256_store_pd(t_big, big);
    double f_lo = (t_lo[0] + t_lo[1]) + (t_lo[2] + t_lo[3]);
    double f_hi = (t_hi[0] + t_hi[1]) + (t_hi[2] + t_hi[3]);
    double bg = std::max(std::max(t_big[0], t_big[1]), std::max(t_big[2], t_big[3]));
    bool finite = _mm256_movemask_pd(fin) == 15;
    for (; i < n; ++i) {  // the tail, one entry at a time
        const double up = y[i], dn = up - 1.0, a = std::fabs(up);
        finite &= a <= std::numeric_limits<double>::max();
        bg = bg > a ? bg : a;
        f_lo += clip01(up - p_lo);
        f_hi += clip01(up - p_hi);
        const bool z = up <= p_lo, o = dn >= p_hi, l = (dn <= p_lo) & (up >= p_hi);
        n_one += o;
        dst[kept] = up;
        kept += !(z | o | l);
        free_vals[nfv] = up;
        nfv += l;
    }
    out.f_lo = f_lo;
    out.f_hi = f_hi;
    out.big = bg;
    out.finite = finite;
    out.kept = kept;
    out.n_free = nfv;
    out.n_one = n_one;
}
#undef FASTFAIR_AVX2_STEP

#define FASTFAIR_AVX512_STEP(OFF, ACC_LO, ACC_HI)                                            \
    do {                                                                                     \
        const __m512d v = _mm512_loadu_pd(y + i + (OFF));                                    \
        const __m512d a = _mm512_abs_pd(v);                                                  \
        fin &= static_cast<unsigned>(_mm512_cmp_pd_mask(a, dmax, _CMP_LE_OQ));                \
        big = _mm512_max_pd(big, a);                                                         \
        ACC_LO = _mm512_add_pd(                                                              \
            ACC_LO, _mm512_min_pd(_mm512_max_pd(_mm512_sub_pd(v, vlo), zero), one));         \
        ACC_HI = _mm512_add_pd(                                                              \
            ACC_HI, _mm512_min_pd(_mm512_max_pd(_mm512_sub_pd(v, vhi), zero), one));         \
        const __m512d down = _mm512_sub_pd(v, one);                                          \
        const __mmask8 is_zero = _mm512_cmp_pd_mask(v, vlo, _CMP_LE_OQ);                     \
        const __mmask8 is_one = _mm512_cmp_pd_mask(down, vhi, _CMP_GE_OQ);                   \
        const __mmask8 is_lin = static_cast<__mmask8>(                                       \
            _mm512_cmp_pd_mask(down, vlo, _CMP_LE_OQ) & _mm512_cmp_pd_mask(v, vhi, _CMP_GE_OQ)); \
        const __mmask8 keep = static_cast<__mmask8>(~(is_zero | is_one | is_lin));           \
        n_one += static_cast<std::size_t>(__builtin_popcount(is_one));                       \
        _mm512_storeu_pd(dst + kept, _mm512_maskz_compress_pd(keep, v));                     \
        kept += static_cast<std::size_t>(__builtin_popcount(keep));                          \
        _mm512_storeu_pd(free_vals + nfv, _mm512_maskz_compress_pd(is_lin, v));              \
        nfv += static_cast<std::size_t>(__builtin_popcount(is_lin));                         \
    } while (0)

__attribute__((target("avx512f,popcnt"), noinline)) inline void fused_chunk_avx512(
    const double* y, std::size_t n, double p_lo, double p_hi, double* dst,
    double* free_vals, FusedChunk& out) noexcept {
    const __m512d zero = _mm512_setzero_pd(), one = _mm512_set1_pd(1.0);
    const __m512d vlo = _mm512_set1_pd(p_lo), vhi = _mm512_set1_pd(p_hi);
    const __m512d dmax = _mm512_set1_pd(std::numeric_limits<double>::max());
    __m512d acc_lo0 = zero, acc_lo1 = zero, acc_hi0 = zero, acc_hi1 = zero, big = zero;
    unsigned fin = 0xFFu;
    std::size_t kept = 0, nfv = 0, n_one = 0, i = 0;
    // a compacting store writes 8 doubles at dst + kept <= dst + i + 8: inside the chunk
    for (; i + 16 <= n; i += 16) {
        FASTFAIR_AVX512_STEP(0, acc_lo0, acc_hi0);
        FASTFAIR_AVX512_STEP(8, acc_lo1, acc_hi1);
    }
    // horizontal reductions by hand (GCC 12's _mm512_reduce_max_pd warns)
    alignas(64) double t_lo[8], t_hi[8], t_big[8];
    _mm512_store_pd(t_lo, _mm512_add_pd(acc_lo0, acc_lo1));
    _mm512_store_pd(t_hi, _mm512_add_pd(acc_hi0, acc_hi1));
    _mm512_store_pd(t_big, big);
    double f_lo = 0.0, f_hi = 0.0, bg = 0.0;
    for (int l = 0; l < 8; ++l) {
        f_lo += t_lo[l];
        f_hi += t_hi[l];
        bg = bg > t_big[l] ? bg : t_big[l];
    }
    bool finite = (fin & 0xFFu) == 0xFFu;
    for (; i < n; ++i) {  // the tail, one entry at a time
        const double up = y[i], dn = up - 1.0, a = std::fabs(up);
        finite &= a <= std::numeric_limits<double>::max();
        bg = bg > a ? bg : a;
        f_lo += clip01(up - p_lo);
        f_hi += clip01(up - p_hi);
        const bool z = up <= p_lo, o = dn >= p_hi, l = (dn <= p_lo) & (up >= p_hi);
        n_one += o;
        dst[kept] = up;
        kept += !(z | o | l);
        free_vals[nfv] = up;
        nfv += l;
    }
    out.f_lo = f_lo;
    out.f_hi = f_hi;
    out.big = bg;
    out.finite = finite;
    out.kept = kept;
    out.n_free = nfv;
    out.n_one = n_one;
}
#undef FASTFAIR_AVX512_STEP
#endif  // FASTFAIR_X86_DISPATCH

// Chunks of fixed size (a function of n only: the result does not depend on the
// number of threads). Each chunk compacts into its own range of dst / free_vals; the
// merge moves the undecided values together and sums the free values in index order.
constexpr std::size_t kFusedChunk = std::size_t{1} << 17;

inline void fused_first_pass(const double* y, std::size_t n, double p_lo, double p_hi,
                             double* dst, double* free_vals, FusedPass& out) {
    const std::size_t n_chunks = (n + kFusedChunk - 1) / kFusedChunk;
    std::vector<FusedChunk> ch(n_chunks);
    const int level = simd::level();
    parallel::for_chunks(n_chunks, n > parallel::kThreadsAbove, [&](std::size_t c) {
        const std::size_t lo = c * kFusedChunk, len = std::min(kFusedChunk, n - lo);
#if FASTFAIR_X86_DISPATCH
        if (level >= 2)
            return fused_chunk_avx512(y + lo, len, p_lo, p_hi, dst + lo, free_vals + lo, ch[c]);
        if (level == 1)
            return fused_chunk_avx2(y + lo, len, p_lo, p_hi, dst + lo, free_vals + lo, ch[c]);
#endif
        (void)level;
        fused_chunk(y + lo, len, p_lo, p_hi, dst + lo, free_vals + lo, ch[c]);
    });
    double f_lo = 0.0, f_hi = 0.0, big = 0.0, free_sum = 0.0;
    bool finite = true;
    std::size_t kept = 0, n_free = 0, n_one = 0;
    for (std::size_t c = 0; c < n_chunks; ++c) {
        const std::size_t lo = c * kFusedChunk;
        f_lo += ch[c].f_lo;
        f_hi += ch[c].f_hi;
        big = std::max(big, ch[c].big);
        finite &= ch[c].finite;
        if (kept != lo) std::memmove(dst + kept, dst + lo, ch[c].kept * sizeof(double));
        kept += ch[c].kept;
        // the free sum in index order, as partition_undecided adds them (its other
        // terms are +-0, which leave a sum unchanged)
        const double* fv = free_vals + lo;
        for (std::size_t t = 0; t < ch[c].n_free; ++t) free_sum += fv[t];
        n_free += ch[c].n_free;
        n_one += ch[c].n_one;
    }
    out.f_lo = f_lo;
    out.f_hi = f_hi;
    out.big = big;
    out.finite = finite;
    out.kept = kept;
    out.br.lo = p_lo;
    out.br.hi = p_hi;
    // counts are exact in double (the plain pass adds 1.0s: the same values)
    out.br.n_one = 0.0 + static_cast<double>(n_one);
    out.br.free_sum = 0.0 + free_sum;
    out.br.n_free = 0.0 + static_cast<double>(n_free);
}
#else
FASTFAIR_NOINLINE inline void fused_first_pass(const double* y, std::size_t n, double p_lo,
                                               double p_hi, double* dst, double* free_vals,
                                               FusedPass& out) noexcept {
    double f_lo = 0.0, f_hi = 0.0, big = 0.0;
    bool finite = true;
    for (std::size_t i = 0; i < n; ++i) {
        const double a = std::fabs(y[i]);
        finite &= a <= std::numeric_limits<double>::max();
        big = big > a ? big : a;
        f_lo += clip01(y[i] - p_lo);
        f_hi += clip01(y[i] - p_hi);
    }
    (void)free_vals;
    out.f_lo = f_lo;
    out.f_hi = f_hi;
    out.big = big;
    out.finite = finite;
    out.br = Bracket();
    out.br.lo = p_lo;
    out.br.hi = p_hi;
    out.kept = finite && big <= 0x1.0p+900 ? partition_undecided(y, n, dst, out.br) : 0;
}
#endif

// f(p_lo), f(p_hi) with the plain sequential sums (when the bound cannot decide).
inline void exact_f(const double* y, std::size_t n, double p_lo, double p_hi, double& f_lo,
                    double& f_hi) noexcept {
    f_lo = f_hi = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
        f_lo += clip01(y[i] - p_lo);
        f_hi += clip01(y[i] - p_hi);
    }
}

// The threshold from the sampled bracket, f at its ends known (see
// capped_simplex_threshold). w: the number of undecided values in work when the
// bracket is (p_lo, p_hi) with the partition already done (pre_partitioned).
inline double threshold_from_pivots(const double* y, std::size_t n, double k, double p_lo,
                                    double p_hi, double f_lo, double f_hi, double* work,
                                    Bracket br, std::size_t w, bool pre_partitioned,
                                    Rng& rng, double* n_free) {
    if (f_lo == k || f_hi == k) {
        const double b = f_lo == k ? p_lo : p_hi;
        if (n_free) *n_free = static_cast<double>(n);  // only a Newton step size
        return b;
    }
    const Bracket none;
    if (f_lo < k) {
        br = none;
        br.hi = p_lo;
        pre_partitioned = false;
    } else if (f_hi > k) {
        br = none;
        br.lo = p_hi;
        pre_partitioned = false;
    }
    if (!pre_partitioned) w = partition_undecided(y, n, work, br);
    const double lam = solve_bracket(work, w, k, br, rng);
    if (n_free) *n_free = br.n_free > 0.0 ? br.n_free : static_cast<double>(n);
    return lam;
}

template <class V>
inline double* work_space(V& work, std::size_t n) {
    if (work.size() < n) work.resize(n);  // never shrinks: no fill once grown
    return work.data();
}

}  // namespace detail

// The threshold lambda of the projection; requires 0 < k < n and finite y.
// work is scratch space (grown to n; reuse it across calls to avoid allocation).
// If n_free is given it receives the number of entries strictly between 0 and 1 at
// the solution (as counted by the bracket).
inline double capped_simplex_threshold(const double* y, std::size_t n, double k,
                                       std::vector<double>& work,
                                       double* n_free = nullptr) {
    double* wk = detail::work_space(work, n);
    Rng rng(0x5EEDF00DULL);  // fixed: the result must not depend on luck
    if (n > detail::kSampleAbove) {
        double p_lo, p_hi;
        if (detail::sample_pivots(y, n, k, rng, p_lo, p_hi)) {
            // f at both pivots in one pass (an infinite pivot gives n or 0 exactly).
            double f_lo = 0.0, f_hi = 0.0;
            for (std::size_t i = 0; i < n; ++i) {
                f_lo += detail::clip01(y[i] - p_lo);
                f_hi += detail::clip01(y[i] - p_hi);
            }
            return detail::threshold_from_pivots(y, n, k, p_lo, p_hi, f_lo, f_hi, wk,
                                                 detail::Bracket(), 0, false, rng, n_free);
        }
    }
    detail::Bracket br;
    std::copy(y, y + n, wk);
    const double lam = detail::solve_bracket(wk, n, k, br, rng);
    if (n_free) *n_free = br.n_free > 0.0 ? br.n_free : static_cast<double>(n);
    return lam;
}

namespace detail {

// Above this |threshold| the projection is re-solved on y - pivot (see below). Below
// it, y_i - lambda is exact for the free entries (Sterbenz, |lambda| >= 2) or off by
// at most ulp(2), the rounding of lambda itself is removed by the common offset of
// finish_projection, and an entry within ulp(lambda) <= 2^-42 (2.3e-13) of a kink may
// be clipped on the wrong side of it: every entry stays within ~2.3e-13 of exact.
constexpr double kShiftAbove = 1024.0;

// The threshold of the projection of z, given that it lies in [-1, 0] (true for
// z = y - y_(ceil k), see project_capped_simplex). z must be finite. work: n doubles.
inline double threshold_in_unit_bracket(const double* z, std::size_t n, double k,
                                        double* work) {
    Bracket br;
    br.lo = -1.0;
    br.hi = 0.0;
    Rng rng(0x5EEDF00DULL);
    const std::size_t w = partition_undecided(z, n, work, br);
    return solve_bracket(work, w, k, br, rng);
}

// The four interleaved Kahan lanes of finish_projection: lane l sums the free entries
// (0 < x < 1; the others add +0) among x[i], i = l mod 4, i < n - n % 4; the ones and
// the free entries are counted (exactly) over all of x[0:n_main].
struct KahanLanes {
    double sum[4] = {}, comp[4] = {};
    std::size_t n_free = 0, n_ones = 0;
};

inline void kahan_lanes(const double* x, std::size_t n_main, KahanLanes& kl) noexcept {
    for (std::size_t i = 0; i < n_main; i += 4) {
        for (std::size_t l = 0; l < 4; ++l) {
            const double xi = x[i + l];
            const bool free = (xi > 0.0) & (xi < 1.0);
            kl.n_free += free;
            kl.n_ones += xi >= 1.0;
            const double yk = xi * static_cast<double>(free) - kl.comp[l];
            const double t = kl.sum[l] + yk;
            kl.comp[l] = (t - kl.sum[l]) - yk;
            kl.sum[l] = t;
        }
    }
}

// x[0:n_main] = clip01((y - shift) - lam) fused with kahan_lanes over it: one pass, the
// same values (y - 0 is y; a mask AND gives x or +0 exactly as x * 0/1 does).
#if defined(__SSE2__)
FASTFAIR_NOINLINE inline void clip_kahan_lanes(const double* y, double shift, double lam,
                                               std::size_t n_main, double* x,
                                               KahanLanes& kl) noexcept {
    const __m128d zero = _mm_setzero_pd(), one = _mm_set1_pd(1.0);
    const __m128d vs = _mm_set1_pd(shift), vl = _mm_set1_pd(lam);
    __m128d s01 = _mm_loadu_pd(kl.sum), s23 = _mm_loadu_pd(kl.sum + 2);
    __m128d c01 = _mm_loadu_pd(kl.comp), c23 = _mm_loadu_pd(kl.comp + 2);
    std::size_t nf = 0, no = 0;
    const auto lane2 = [&](std::size_t i, __m128d& s, __m128d& c) {
        const __m128d z = _mm_sub_pd(_mm_loadu_pd(y + i), vs);
        const __m128d xv = _mm_min_pd(_mm_max_pd(_mm_sub_pd(z, vl), zero), one);
        _mm_storeu_pd(x + i, xv);
        const __m128d fr = _mm_and_pd(_mm_cmpgt_pd(xv, zero), _mm_cmplt_pd(xv, one));
        const unsigned f = static_cast<unsigned>(_mm_movemask_pd(fr));
        const unsigned o = static_cast<unsigned>(_mm_movemask_pd(_mm_cmpge_pd(xv, one)));
        nf += (f & 1u) + (f >> 1);
        no += (o & 1u) + (o >> 1);
        const __m128d yk = _mm_sub_pd(_mm_and_pd(fr, xv), c);
        const __m128d t = _mm_add_pd(s, yk);
        c = _mm_sub_pd(_mm_sub_pd(t, s), yk);
        s = t;
    };
    for (std::size_t i = 0; i < n_main; i += 4) {
        lane2(i, s01, c01);
        lane2(i + 2, s23, c23);
    }
    _mm_storeu_pd(kl.sum, s01);
    _mm_storeu_pd(kl.sum + 2, s23);
    _mm_storeu_pd(kl.comp, c01);
    _mm_storeu_pd(kl.comp + 2, c23);
    kl.n_free += nf;
    kl.n_ones += no;
}
#else
inline void clip_kahan_lanes(const double* y, double shift, double lam, std::size_t n_main,
                             double* x, KahanLanes& kl) noexcept {
    for (std::size_t i = 0; i < n_main; ++i) x[i] = clip01((y[i] - shift) - lam);
    kahan_lanes(x, n_main, kl);
}
#endif

// Writes x = clip(z - lam), z = y - shift, for the threshold lam of the projection and
// removes the rounding residual of sum x without breaking ties:
// every correction is a function of an entry's value only, so equal inputs give
// bit-identical outputs. First Newton steps on lam over the free entries (0 < x < 1),
// then, once lam cannot move by less than its ulp, one common offset r / n_free added
// to every free entry. The result has sum x == k to within about eps * k.
inline void finish_projection(const double* y, double shift, std::size_t n, double k,
                              double lam, double* x) {
    constexpr double eps = std::numeric_limits<double>::epsilon();
    double r = 0.0, n_free = 0.0, free_mass = 0.0;
    const std::size_t n_main = n - n % 4;
    // x = clip(z - lam); returns the residual k - sum x (accurate sum: four interleaved
    // Kahan lanes, every x_i in [0, 1]) and counts the free entries.
    const auto clip_and_sum = [&](bool from_z, double delta) {
        // The ones are counted (exactly) and only the free entries are summed, so the
        // residual (k - #ones) - sum(free) is resolved to the ulps of the free mass,
        // not of k (k - #ones is exact: a multiple of ulp(k), below k).
        KahanLanes kl;
        if (from_z) {
            clip_kahan_lanes(y, shift, lam, n_main, x, kl);
            for (std::size_t i = n_main; i < n; ++i) x[i] = clip01((y[i] - shift) - lam);
        } else {
            for (std::size_t i = 0; i < n; ++i) {
                const double xi = x[i];
                const bool fr = (xi > 0.0) & (xi < 1.0);
                x[i] = fr ? clip01(xi + delta) : xi;
            }
            kahan_lanes(x, n_main, kl);
        }
        NeumaierSum total;
        double nfree = 0.0, nones = 0.0;
        for (std::size_t i = n_main; i < n; ++i) {
            const bool fr = (x[i] > 0.0) & (x[i] < 1.0);
            if (fr) total.add(x[i]);
            nfree += static_cast<double>(fr);
            nones += static_cast<double>(x[i] >= 1.0);
        }
        for (std::size_t l = 0; l < 4; ++l) {
            total.add(kl.sum[l]);
            total.add(-kl.comp[l]);
        }
        nfree += static_cast<double>(kl.n_free);  // exact: integers below 2^53
        nones += static_cast<double>(kl.n_ones);
        r = (k - nones) - total.value();
        n_free = nfree;
        free_mass = k - nones;
    };
    clip_and_sum(true, 0.0);
    // a residual this small is left alone (eps of the free mass, or of 1 if none)
    const auto good = [&] { return eps * std::max(std::fabs(free_mass), 1e-300); };
    for (int round = 0; round < 4 && std::fabs(r) > good() && n_free > 0.0; ++round) {
        const double next = lam - r / n_free;
        if (next == lam) break;  // lam moves in ulps: the offset below does the rest
        const double old_r = r;
        const double old_lam = lam;
        lam = next;
        clip_and_sum(true, 0.0);
        if (std::fabs(r) > std::fabs(old_r)) {  // a step across a kink: undo, stop
            lam = old_lam;
            clip_and_sum(true, 0.0);
            break;
        }
    }
    for (int round = 0; round < 2 && std::fabs(r) > good() && n_free > 0.0; ++round)
        clip_and_sum(false, r / n_free);
}

}  // namespace detail

// x = argmin ||x - y||_2 over C_k. Throws std::invalid_argument on bad k or NaN/inf.
//
// Shift invariance. The projection of y + c (c a constant) is that of y, but in
// floating point x_i = y_i - lambda loses everything below ulp(lambda): at
// |lambda| = 1e16 every free entry would be wrong by up to 1. So when the threshold
// found on y is not small (|lambda| > 1024, or max |y| > 2^900 where sums may
// overflow), the
// problem is solved again on z = y - pivot with pivot = y_(ceil k), the ceil(k)-th
// largest entry. Then lambda_z lies in [-1, 0] (at most ceil(k) - 1 entries exceed the
// pivot, so f(0) < k, and ceil(k) entries are >= it, so f(-1) >= k; both hold in
// floating point too, as y_i >= pivot gives y_i - pivot >= 0), every free entry has
// |z_i| < 1 and is computed exactly when |pivot| >= 2 (Sterbenz), and entries whose
// shift overflows are saturated and clipped to exactly 0 or 1, as they must be. Equal inputs
// give bit-identical outputs (see finish_projection).
//
// Passes: for n > 2048 one fused pass over y validates it and evaluates the sampled
// pivots (see detail::fused_first_pass), then the few undecided values are solved and
// one or two passes write x (finish_projection). work: scratch of at least n doubles
// (only the undecided values are written; the pointer form takes caller memory).
inline void project_capped_simplex(const double* y, std::size_t n, double k, double* x,
                                   double* work) {
    if (!(k >= 0.0) || k > static_cast<double>(n))
        throw std::invalid_argument("k must lie in [0, n]");
    double lam = 0.0;
    bool have_lam = false;
    if (n > detail::kSampleAbove && k > 0.0 && k < static_cast<double>(n)) {
        Rng rng(0x5EEDF00DULL);  // as capped_simplex_threshold: the same draws
        double p_lo, p_hi;
        if (detail::sample_pivots(y, n, k, rng, p_lo, p_hi)) {
            detail::FusedPass fp;
            // x holds the free values until finish_projection overwrites it
            detail::fused_first_pass(y, n, p_lo, p_hi, work, x, fp);
            if (!fp.finite) throw std::invalid_argument("y must be finite");
            if (fp.big <= 0x1.0p+900) {
                // the comparisons of the plain sums with k, from the lane sums
                const int s_lo = detail::sign_vs_k(fp.f_lo, n, k);
                const int s_hi = detail::sign_vs_k(fp.f_hi, n, k);
                const double inf = std::numeric_limits<double>::infinity();
                double f_lo = s_lo * inf, f_hi = s_hi * inf;  // stand-ins with those signs
                if (s_lo == 2 || s_hi == 2) detail::exact_f(y, n, p_lo, p_hi, f_lo, f_hi);
                lam = detail::threshold_from_pivots(y, n, k, p_lo, p_hi, f_lo, f_hi,
                                                    work, fp.br, fp.kept, true, rng, nullptr);
            } else {
                lam = fp.big;
            }
            have_lam = true;
        }
    }
    if (!have_lam) {
        double big = 0.0;  // max |y_i|
        for (std::size_t i = 0; i < n; ++i) {
            if (!std::isfinite(y[i])) throw std::invalid_argument("y must be finite");
            big = std::max(big, std::fabs(y[i]));
        }
        if (k == 0.0) {
            std::fill(x, x + n, 0.0);
            return;
        }
        if (k == static_cast<double>(n)) {
            std::fill(x, x + n, 1.0);
            return;
        }
        if (big <= 0x1.0p+900) {
            // no sum of the bracket search can overflow below 2^900 (n < 2^64)
            detail::Bracket br;
            Rng rng(0x5EEDF00DULL);
            std::copy(y, y + n, work);
            lam = detail::solve_bracket(work, n, k, br, rng);
        } else {
            lam = big;
        }
    }
    if (std::fabs(lam) <= detail::kShiftAbove) {
        detail::finish_projection(y, 0.0, n, k, lam, x);
        return;
    }
    // pivot = y_(ceil k): 0-based rank ceil(k) - 1 in decreasing order
    std::copy(y, y + n, work);
    const auto rank = static_cast<std::size_t>(std::ceil(k)) - 1;
    std::nth_element(work, work + rank, work + n, [](double a, double b) { return a > b; });
    const double pivot = work[rank];
    // z = y - pivot, saturated at +-2^1000: an overflow to +-inf would give inf * 0 =
    // NaN in the bracket's sums; a saturated entry is decided (0 or 1) all the same
    constexpr double kSat = 0x1.0p+1000;
    for (std::size_t i = 0; i < n; ++i) x[i] = std::min(std::max(y[i] - pivot, -kSat), kSat);
    const double lam_z = detail::threshold_in_unit_bracket(x, n, k, work);
    detail::finish_projection(y, pivot, n, k, lam_z, x);
}

inline void project_capped_simplex(const double* y, std::size_t n, double k, double* x,
                                   std::vector<double>& work) {
    project_capped_simplex(y, n, k, x, detail::work_space(work, n));
}

inline std::vector<double> project_capped_simplex(const std::vector<double>& y, double k) {
    std::vector<double> x(y.size());
    std::vector<double> work;
    project_capped_simplex(y.data(), y.size(), k, x.data(), work);
    return x;
}

}  // namespace fastfair

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
