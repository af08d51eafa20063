// Ticket hats: successive sampling without replacement with weights = tickets.
//
// ticket_odds(): exact inclusion probabilities P(entrant i is among the first K drawn)
// by the exponential-clock integral
//     pi_i = int_0^inf w_i e^{-w_i t} P(N_{-i}(t) <= K-1) dt,
// N_{-i}(t) = number of the others whose clock X_j ~ Exp(w_j) rang before t.
// Entrants with equal weights form a class (w_c, n_c). At every quadrature node t the
// distribution of N(t) (everyone) is computed on a window around its mean by an
// inverse FFT of its characteristic function; the leave-one-out CDF of each class
// follows from a convergent series (p or 1-p <= 1/16) or a stable deconvolution.
// The t-integral is adaptive Gauss-Kronrod (7/15) on [t_lo, t_hi], where t_lo and t_hi
// are certified by Chernoff bounds; docs/tickets.md derives every error term.
//
// draw_tickets(): the hat itself, by the clocks. Knows nothing of Python.
#pragma once

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <vector>

#include "fastfair/rng.hpp"
#include "fastfair/summation.hpp"

namespace fastfair {

namespace tickets_detail {

using cplx = std::complex<double>;

constexpr double kPi = 3.14159265358979323846264338327950288;
// Target for every neglected tail mass (window, t-range, skipped frequencies).
constexpr double kTailEps = 1e-20;
constexpr double kLogTailEps = -46.051701859880914;  // log(1e-20)
// Target for series truncations (power sums of the characteristic function and the
// leave-one-out series).
constexpr double kSeriesEps = 1e-18;
// Leave-one-out by series when min(p, 1-p) <= 1/4 (else by deconvolution); in the
// characteristic function, by power sums when rho * min(p, 1-p) <= 1/4.
constexpr double kLight = 0.25;
constexpr double kPowerLight = 0.25;
constexpr int kMaxR = 64;
constexpr int kMaxM = 64;

// log of the Chernoff bound P(X >= a) <= e^{-mu} (e mu / a)^a (mu < a), and
// P(X <= a) <= e^{-mu} (e mu / a)^a (a < mu), for a sum X of independent Bernoullis
// with mean mu. Returns 0 (bound 1) when it does not apply.
inline double log_chernoff(double mu, double a) {
    if (a <= 0.0) return mu > 0.0 ? -mu : 0.0;  // P(X <= 0) = prod(1-p) <= e^{-mu}
    if (mu <= 0.0) return -std::numeric_limits<double>::infinity();  // X == 0 < a
    return -mu + a + a * std::log(mu / a);
}

// In-place iterative radix-2 FFT with sign -1 (X_j = sum_l x_l e^{-2 pi i l j / L}).
class Fft {
public:
    void run(std::vector<cplx>& x) {
        const std::size_t n = x.size();
        if (n != n_) prepare(n);
        for (std::size_t i = 1, j = 0; i < n; ++i) {
            std::size_t bit = n >> 1;
            for (; j & bit; bit >>= 1) j ^= bit;
            j ^= bit;
            if (i < j) std::swap(x[i], x[j]);
        }
        for (std::size_t len = 2; len <= n; len <<= 1) {
            const std::size_t step = n / len;
            for (std::size_t i = 0; i < n; i += len) {
                for (std::size_t j = 0; j < len / 2; ++j) {
                    const cplx w = std::conj(tw_[j * step]);
                    const cplx u = x[i + j];
                    const cplx v = x[i + j + len / 2] * w;
                    x[i + j] = u + v;
                    x[i + j + len / 2] = u - v;
                }
            }
        }
    }
    // e^{+2 pi i j / L} for j in [0, L)
    const std::vector<cplx>& twiddles(std::size_t n) {
        if (n != n_) prepare(n);
        return tw_;
    }

private:
    void prepare(std::size_t n) {
        n_ = n;
        tw_.resize(n);
        for (std::size_t j = 0; j < n; ++j) {
            const double a = 2.0 * kPi * static_cast<double>(j) / static_cast<double>(n);
            tw_[j] = cplx(std::cos(a), std::sin(a));
        }
    }
    std::size_t n_ = 0;
    std::vector<cplx> tw_;
};

}  // namespace tickets_detail

// Result metadata of ticket_odds (see docs/tickets.md).
struct TicketOddsInfo {
    double raw_sum = 0.0;      // sum of the probabilities before the final rescale
    double error_bound = 0.0;  // bound on |raw_sum - K| (quadrature + tails + rounding)
    double max_entry_error = 0.0;  // bound on the error of any single entry
    std::size_t nodes = 0;      // quadrature nodes evaluated
    std::size_t intervals = 0;  // accepted Gauss-Kronrod intervals
    std::size_t classes = 0;    // distinct positive ticket counts
    double t_lo = 0.0, t_hi = 0.0;  // integration range (weights scaled to max 1)
};

// The integrand for all classes at once.
class TicketHat {
public:
    using cplx = tickets_detail::cplx;

    // w: distinct positive weights in increasing order, cnt: how many entrants hold each
    // (>= 1), K: number drawn (1 <= K <= n - 1 where n = sum cnt).
    TicketHat(const double* w, const double* cnt, std::size_t C, double K)
        : w_(w, w + C), cnt_(cnt, cnt + C), C_(C), K_(K) {
        n_ = 0.0;
        for (std::size_t c = 0; c < C_; ++c) n_ += cnt_[c];
        p_.resize(C_);
        q_.resize(C_);
        wmin_ = *std::min_element(w_.begin(), w_.end());
        wmax_ = *std::max_element(w_.begin(), w_.end());
    }

    double n() const { return n_; }

    // means of N(t) (drawn) and M(t) = n - N(t) (not drawn); fills p_, q_.
    void moments(double t, double& mu, double& muM, double& var) {
        mu = muM = var = 0.0;
        for (std::size_t c = 0; c < C_; ++c) {
            const double x = -w_[c] * t;
            // one transcendental: the smaller of p, q is computed directly (accurate to
            // a few ulps relative), the larger as 1 - the smaller (exact enough: >= 1/2)
            double p, q;
            if (x > -0.6931471805599453) {
                p = -std::expm1(x);
                q = 1.0 - p;
            } else {
                q = std::exp(x);
                p = 1.0 - q;
            }
            p_[c] = p;
            q_[c] = q;
            mu += cnt_[c] * p;
            muM += cnt_[c] * q;
            var += cnt_[c] * p * q;
        }
    }

    // log of a bound on P(N(t) >= K) and on P(N(t) <= K) (both monotone in t).
    static double log_upper(double mu, double muM, double n, double K) {
        double b = 0.0;
        if (mu < K) b = std::min(b, tickets_detail::log_chernoff(mu, K));
        if (muM > n - K) b = std::min(b, tickets_detail::log_chernoff(muM, n - K));
        return b;
    }
    static double log_lower(double mu, double muM, double n, double K) {
        double b = 0.0;
        if (mu > K) b = std::min(b, tickets_detail::log_chernoff(mu, K));
        if (muM < n - K) b = std::min(b, tickets_detail::log_chernoff(muM, n - K));
        return b;
    }

    // Largest t (up to a factor 2^(1/1024)) with P(N(t) >= K) <= kTailEps certified,
    // and smallest t with P(N(t) <= K) <= kTailEps certified.
    void t_range(double& t_lo, double& t_hi) {
        double mu, muM, var;
        auto cert_lo = [&](double x) {
            moments(std::exp2(x), mu, muM, var);
            return log_upper(mu, muM, n_, K_) <= tickets_detail::kLogTailEps;
        };
        auto cert_hi = [&](double x) {
            moments(std::exp2(x), mu, muM, var);
            return log_lower(mu, muM, n_, K_) <= tickets_detail::kLogTailEps;
        };
        // mu <= n t wmax: certainly fine below 1e-30 / (n wmax)
        double a = std::log2(1e-30 / (n_ * wmax_));
        // muM <= n e^{-wmin t}: certainly fine above (ln n + 60) / wmin
        double b = std::log2((std::log(n_) + 60.0) / wmin_);
        if (!cert_lo(a) || !cert_hi(b)) {
            throw std::runtime_error("ticket_odds: internal error: no certified t-range");
        }
        double lo = a, hi = b;  // cert_lo(lo) true, cert_lo(hi) false (cert_hi(b) true)
        while (hi - lo > 1.0 / 1024.0) {
            const double mid = 0.5 * (lo + hi);
            (cert_lo(mid) ? lo : hi) = mid;
        }
        t_lo = std::exp2(lo);
        lo = a;
        hi = b;  // cert_hi(lo) false, cert_hi(hi) true
        while (hi - lo > 1.0 / 1024.0) {
            const double mid = 0.5 * (lo + hi);
            (cert_hi(mid) ? hi : lo) = mid;
        }
        t_hi = std::exp2(hi);
        if (!(t_hi > t_lo)) t_hi = t_lo * 2.0;
    }

    // f[c] = w_c e^{-w_c t} P(N_{-i}(t) <= K-1) for i in class c.
    void eval(double t, double* f) {
        using namespace tickets_detail;
        double mu, muM, var;
        moments(t, mu, muM, var);
        mu_ = mu;
        muM_ = muM;
        ++nodes_;
        const double lu = log_upper(mu, muM, n_, K_);
        if (lu <= kLogTailEps) {  // F_{-i}(K-1) >= P(N <= K-1) >= 1 - eps
            for (std::size_t c = 0; c < C_; ++c) f[c] = w_[c] * q_[c];
            return;
        }
        const double ll = log_lower(mu, muM, n_, K_);
        if (ll <= kLogTailEps) {  // F_{-i}(K-1) <= P(N <= K) <= eps
            for (std::size_t c = 0; c < C_; ++c) f[c] = 0.0;
            return;
        }
        // Window [lo, hi] holding all but 2 kTailEps of N's mass (Bernstein).
        const double L46 = -kLogTailEps;
        const double half = (2.0 * L46 / 3.0 +
                             std::sqrt(4.0 * L46 * L46 / 9.0 + 8.0 * L46 * var)) / 2.0;
        double lo_d = std::max(0.0, std::floor(mu - half) - 1.0);
        double hi_d = std::min(n_, std::ceil(mu + half) + 1.0);
        std::size_t L = 8;
        while (static_cast<double>(L) < hi_d - lo_d + 1.0) L <<= 1;
        if (static_cast<double>(L) >= n_ + 1.0) {  // the whole support: no aliasing
            lo_d = 0.0;
            hi_d = n_;
        }
        const auto lo = static_cast<std::int64_t>(lo_d);
        const auto hi = static_cast<std::int64_t>(hi_d);
        compute_pmf(var, lo, L);
        // CDF over the window
        const std::size_t W = static_cast<std::size_t>(hi - lo + 1);
        cdf_.resize(W);
        double acc = 0.0;
        for (std::size_t j = 0; j < W; ++j) {
            acc += pmf_[j];
            cdf_[j] = acc;
        }
        auto F = [&](std::int64_t j) -> double {
            if (j < lo) return 0.0;
            if (j >= hi) return cdf_[W - 1];
            return cdf_[static_cast<std::size_t>(j - lo)];
        };
        const auto k1 = static_cast<std::int64_t>(K_) - 1;
        // c_r (low-light series) and c'_r (high-light series) by repeated differences
        double dlo[kMaxR + 1], dhi[kMaxR + 1], clo[kMaxR + 1], chi[kMaxR + 1];
        for (int s = 0; s <= kMaxR; ++s) {
            dlo[s] = F(k1 - s);      // D_0(k-1-s)
            dhi[s] = F(k1 + 1 + s);  // E_0(k+s)
        }
        clo[0] = dlo[0];
        chi[0] = dhi[0];
        for (int r = 1; r <= kMaxR; ++r) {
            for (int s = 0; s + r <= kMaxR; ++s) {
                dlo[s] = dlo[s + 1] - dlo[s];  // D_r(j) = D_{r-1}(j-1) - D_{r-1}(j)
                dhi[s] = dhi[s + 1] - dhi[s];  // E_r(j) = E_{r-1}(j+1) - E_{r-1}(j)
            }
            clo[r] = dlo[0];
            chi[r] = dhi[0];
        }
        // weights ascending, so p ascending and q descending: low-light classes are a
        // prefix, high-light ones a suffix, and the number of series terms is monotone
        const std::size_t a = low_end(kLight), b = high_begin(kLight);
        int R = 0;
        for (std::size_t c = 0; c < a; ++c) {
            const double x = p_[c];
            while (R < kMaxR && x > thr_.v[R]) ++R;
            double sum = clo[R];
            for (int r = R - 1; r >= 0; --r) sum = clo[r] - x * sum;  // sum (-x)^r c_r
            f[c] = w_[c] * q_[c] * std::min(1.0, std::max(0.0, sum));
        }
        deconvolve_range(a, b, lo, hi, k1, f);
        R = 0;
        for (std::size_t c = C_; c-- > b;) {
            const double x = q_[c];
            while (R < kMaxR && x > thr_.v[R]) ++R;
            double sum = chi[R];
            for (int r = R - 1; r >= 0; --r) sum = chi[r] - x * sum;
            f[c] = w_[c] * x * std::min(1.0, std::max(0.0, sum));
        }
    }

    std::size_t nodes() const { return nodes_; }
    std::size_t max_window() const { return max_L_; }

private:
    // terms R with (2x)^{R+1} / (1 - 2x) <= kSeriesEps (x <= 1/4).
    // thr[R] = 0.5 (kSeriesEps / 2)^{1/(R+1)} <= the largest x <= 1/4 with
    // (2x)^{R+1} / (1 - 2x) <= kSeriesEps: R terms suffice for x <= thr[R].
    struct Thresholds {
        double v[tickets_detail::kMaxR + 1];
        Thresholds() {
            for (int R = 0; R <= tickets_detail::kMaxR; ++R)
                v[R] = 0.5 * std::pow(tickets_detail::kSeriesEps * 0.5, 1.0 / (R + 1));
        }
    };
    // first class that is not low (p <= q and p <= cut); classes sorted by weight
    std::size_t low_end(double cut) const {
        std::size_t lo = 0, hi = C_;
        while (lo < hi) {
            const std::size_t mid = lo + (hi - lo) / 2;
            if (p_[mid] <= q_[mid] && p_[mid] <= cut) lo = mid + 1; else hi = mid;
        }
        return lo;
    }
    // first class that is high (q < p and q <= cut)
    std::size_t high_begin(double cut) const {
        std::size_t lo = 0, hi = C_;
        while (lo < hi) {
            const std::size_t mid = lo + (hi - lo) / 2;
            if (q_[mid] < p_[mid] && q_[mid] <= cut) hi = mid; else lo = mid + 1;
        }
        return lo;
    }

    // P(N_{-i} <= k1) for one entrant of each class c in [a, b) removed, by the
    // forward (p <= 1/2) or backward (p > 1/2) recursion P_j = q Q_j + p Q_{j-1}: both
    // multiply earlier errors by at most 1 per step. Classes are run four at a time
    // (independent recursions: the latency of one hides behind the others).
    void deconvolve_range(std::size_t a, std::size_t b, std::int64_t lo, std::int64_t hi,
                          std::int64_t k1, double* f) const {
        constexpr std::size_t V = 4;
        const double* P = pmf_.data();
        auto put = [&](std::size_t c, double Fm) {
            f[c] = w_[c] * q_[c] * std::min(1.0, std::max(0.0, Fm));
        };
        if (a >= b) return;
        if (k1 < lo - 1) {
            for (std::size_t c = a; c < b; ++c) put(c, 0.0);
            return;
        }
        std::size_t split = a;  // first class with p > 1/2
        while (split < b && p_[split] <= 0.5) ++split;
        // forward: Q_j = (P_j - p Q_{j-1}) / q from Q_{lo-1} = 0; F = sum_{j<=k1} Q_j
        const std::int64_t top = std::min(k1, hi);
        for (std::size_t c0 = a; c0 < split; c0 += V) {
            const std::size_t nv = std::min(V, split - c0);
            double pp[V], iq[V], prev[V] = {0, 0, 0, 0}, sum[V] = {0, 0, 0, 0};
            for (std::size_t l = 0; l < V; ++l) {
                const std::size_t c = c0 + std::min(l, nv - 1);
                pp[l] = p_[c];
                iq[l] = 1.0 / q_[c];
            }
            for (std::int64_t j = lo; j <= top; ++j) {
                const double Pj = P[j - lo];
                for (std::size_t l = 0; l < V; ++l) {
                    const double cur = (Pj - pp[l] * prev[l]) * iq[l];
                    sum[l] += cur;
                    prev[l] = cur;
                }
            }
            for (std::size_t l = 0; l < nv; ++l) put(c0 + l, sum[l]);
        }
        // backward: Q_{j-1} = (P_j - q Q_j) / p from Q_hi = 0; F = 1 - sum_{j>k1} Q_j
        const std::int64_t stop = std::max(k1 + 2, lo + 1);
        for (std::size_t c0 = split; c0 < b; c0 += V) {
            const std::size_t nv = std::min(V, b - c0);
            double qq[V], ip[V], next[V] = {0, 0, 0, 0}, upper[V] = {0, 0, 0, 0};
            for (std::size_t l = 0; l < V; ++l) {
                const std::size_t c = c0 + std::min(l, nv - 1);
                qq[l] = q_[c];
                ip[l] = 1.0 / p_[c];
            }
            for (std::int64_t j = hi; j >= stop; --j) {
                const double Pj = P[j - lo];
                for (std::size_t l = 0; l < V; ++l) {
                    const double cur = (Pj - qq[l] * next[l]) * ip[l];
                    upper[l] += cur;
                    next[l] = cur;
                }
            }
            for (std::size_t l = 0; l < nv; ++l) put(c0 + l, 1.0 - upper[l]);
        }
    }

    // pmf_[j] = P(N = lo + j), j in [0, L), by the inverse DFT of the characteristic
    // function (aliasing of the mass outside the window <= 2 kTailEps).
    void compute_pmf(double var, std::int64_t lo, std::size_t L) {
        using namespace tickets_detail;
        max_L_ = std::max(max_L_, L);
        const auto& tw = fft_.twiddles(L);
        // frequencies with |phi| <= exp(-var (1 - cos theta)) > e^-50 only
        std::size_t lmax = L / 2;
        for (std::size_t l = 1; l <= L / 2; ++l) {
            const double s = std::sin(kPi * static_cast<double>(l) / static_cast<double>(L));
            if (2.0 * var * s * s > 50.0) {
                lmax = l - 1;
                break;
            }
        }
        const double rho =
            2.0 * std::sin(kPi * static_cast<double>(lmax) / static_cast<double>(L));
        // power sums of the light classes (one pass): low if p <= q and rho p <= 1/4,
        // high if q < p and rho q <= 1/4; the number of terms comes from the largest
        // light p (resp. q) and S1 <= mu (resp. T1 <= muM)
        const double xcut = std::min(0.5, kPowerLight / std::max(rho, 1e-300));
        const std::size_t a = low_end(xcut), b = std::max(a, high_begin(xcut));
        const double pmax = a > 0 ? p_[a - 1] : 0.0;
        const double qmax = b < C_ ? q_[b] : 0.0;
        auto terms = [&](double x, double s1) {
            // sum_c n_c sum_{m>M} (rho x_c)^m / m <= (rho x)^M rho s1 / ((M+1)(1-rho x))
            int M = 1;
            const double rx = rho * x;
            while (M < kMaxM &&
                   std::pow(rx, M) * rho * s1 / ((M + 1) * (1.0 - rx)) > kSeriesEps)
                ++M;
            return M;
        };
        const int Ms = pmax > 0.0 ? terms(pmax, mu_) : 0;
        const int Mt = qmax > 0.0 ? terms(qmax, muM_) : 0;
        double S[kMaxM + 1] = {0.0}, T[kMaxM + 1] = {0.0};
        double n_high = 0.0;
        for (std::size_t c = 0; c < a; ++c) {
            double x = cnt_[c];
            const double p = p_[c];
            for (int m = 1; m <= Ms; ++m) {
                x *= p;
                S[m] += x;
            }
        }
        for (std::size_t c = b; c < C_; ++c) {
            n_high += cnt_[c];
            double x = cnt_[c];
            const double q = q_[c];
            for (int m = 1; m <= Mt; ++m) {
                x *= q;
                T[m] += x;
            }
        }
        mid_lo_ = a;
        mid_hi_ = b;
        // Horner coefficients a_m = (-1)^{m+1} S_m / m
        for (int m = 1; m <= Ms; ++m) S[m] *= ((m % 2) ? 1.0 : -1.0) / m;
        for (int m = 1; m <= Mt; ++m) T[m] *= ((m % 2) ? 1.0 : -1.0) / m;
        // integer shift: e^{i (n_high - lo) theta_l}, exact from the twiddles
        const auto Ls = static_cast<std::int64_t>(L);
        std::int64_t shift = (static_cast<std::int64_t>(n_high) - lo) % Ls;
        if (shift < 0) shift += Ls;
        buf_.assign(L, cplx(0.0, 0.0));
        for (std::size_t l = 0; l <= lmax; ++l) {
            const double half_angle = kPi * static_cast<double>(l) / static_cast<double>(L);
            const double sh = std::sin(half_angle);
            const cplx u(-2.0 * sh * sh, std::sin(2.0 * half_angle));  // z - 1
            cplx lg(0.0, 0.0);
            if (Ms > 0) {
                cplx s = S[Ms];
                for (int m = Ms - 1; m >= 1; --m) s = S[m] + u * s;
                lg += u * s;
            }
            if (Mt > 0) {
                const cplx v = std::conj(u);  // 1/z - 1 on the unit circle
                cplx s = T[Mt];
                for (int m = Mt - 1; m >= 1; --m) s = T[m] + v * s;
                lg += v * s;
            }
            for (std::size_t c = mid_lo_; c < mid_hi_; ++c)
                lg += cnt_[c] * std::log(1.0 + p_[c] * u);
            const std::size_t idx =
                static_cast<std::size_t>((static_cast<std::uint64_t>(shift) * l) %
                                         static_cast<std::uint64_t>(L));
            const cplx phi = std::exp(lg) * tw[idx];
            buf_[l] = phi;
            if (l > 0 && l < L - l) buf_[L - l] = std::conj(phi);
        }
        fft_.run(buf_);
        pmf_.resize(L);
        const double inv = 1.0 / static_cast<double>(L);
        for (std::size_t j = 0; j < L; ++j) pmf_[j] = buf_[j].real() * inv;
    }

    std::vector<double> w_, cnt_;
    std::size_t C_;
    double K_;
    double n_ = 0.0, wmin_ = 1.0, wmax_ = 1.0;
    double mu_ = 0.0, muM_ = 0.0;
    std::vector<double> p_, q_, pmf_, cdf_;
    std::size_t mid_lo_ = 0, mid_hi_ = 0;
    Thresholds thr_;
    std::vector<cplx> buf_;
    tickets_detail::Fft fft_;
    std::size_t nodes_ = 0, max_L_ = 0;
};

// Gauss-Kronrod 7/15 nodes and weights on [-1, 1] (QUADPACK qk15).
namespace tickets_detail {
constexpr double kXgk[8] = {0.991455371120812639206854697526329,
                            0.949107912342758524526189684047851,
                            0.864864423359769072789712788640926,
                            0.741531185599394439863864773280788,
                            0.586087235467691130294144845693013,
                            0.405845151377397166906606412076961,
                            0.207784955007898467600689403773245,
                            0.000000000000000000000000000000000};
constexpr double kWgk[8] = {0.022935322010529224963732008058970,
                            0.063092092629978553290700663189204,
                            0.104790010322250183839876322541518,
                            0.140653259715525918745189590510238,
                            0.169004726639267902826583426598550,
                            0.190350578064785409913256402421014,
                            0.204432940075298892414161999234649,
                            0.209482141084727828012999174891714};
constexpr double kWg[4] = {0.129484966168869693270611432679082,
                           0.279705391489276667901467771423780,
                           0.381830050505118944950369775488975,
                           0.417959183673469387755102040816327};
}  // namespace tickets_detail

// Inclusion probabilities per class: out[c] = P(an entrant of class c is among the
// first K drawn). w: distinct positive weights, cnt: class sizes; 0 <= K <= sum cnt.
inline TicketOddsInfo ticket_odds_classes(const double* w_in, const double* cnt,
                                          std::size_t C, double K, double* out,
                                          double tol = 1e-14) {
    using namespace tickets_detail;
    TicketOddsInfo info;
    info.classes = C;
    double n = 0.0;
    for (std::size_t c = 0; c < C; ++c) n += cnt[c];
    if (C == 0 || K <= 0.0) {
        for (std::size_t c = 0; c < C; ++c) out[c] = 0.0;
        return info;
    }
    if (K >= n) {
        for (std::size_t c = 0; c < C; ++c) out[c] = 1.0;
        info.raw_sum = n;
        return info;
    }
    if (C == 1) {  // everyone alike: exactly K / n by symmetry
        out[0] = K / n;
        info.raw_sum = K;
        return info;
    }
    // only ratios matter: scale to max weight 1 (no overflow anywhere below)
    const double wmax = *std::max_element(w_in, w_in + C);
    // classes in increasing weight (the integrand relies on it)
    std::vector<std::size_t> perm(C);
    std::iota(perm.begin(), perm.end(), std::size_t{0});
    if (!std::is_sorted(w_in, w_in + C)) {
        std::sort(perm.begin(), perm.end(),
                  [&](std::size_t x, std::size_t y) { return w_in[x] < w_in[y]; });
    }
    std::vector<double> w(C), cs(C);
    for (std::size_t c = 0; c < C; ++c) {
        w[c] = w_in[perm[c]] / wmax;
        cs[c] = cnt[perm[c]];
    }
    cnt = cs.data();
    TicketHat hat(w.data(), cnt, C, K);
    double t_lo, t_hi;
    hat.t_range(t_lo, t_hi);
    info.t_lo = t_lo;
    info.t_hi = t_hi;
    // [0, t_lo]: F_{-i} = 1 within kTailEps, integral 1 - e^{-w t_lo} exactly
    std::vector<double> res(C), err(C, 0.0), fk(C), fg(C), fv(C);
    for (std::size_t c = 0; c < C; ++c) res[c] = -std::expm1(-w[c] * t_lo);
    // The integral over [t_lo, t_hi] in log-time s = log t (dt = t ds): every
    // exponential w e^{-wt} becomes a bump of width O(1) in s, whatever w, so one
    // adaptive rule resolves all scales. Initial pieces: ratio t_b / t_a <= 4.
    const double s_lo = std::log(t_lo), s_hi = std::log(t_hi);
    const double span = s_hi - s_lo;
    struct Iv {
        double a, b;
        int depth;
    };
    std::vector<Iv> stack;
    const int init = std::max(8, static_cast<int>(std::ceil(span / std::log(4.0))));
    for (int i = init - 1; i >= 0; --i) {
        stack.push_back({s_lo + span * i / init,
                         i + 1 == init ? s_hi : s_lo + span * (i + 1) / init, 0});
    }
    // f(t) dt = f(e^s) e^s ds: the factor t is folded into the rule's weights
    auto eval_s = [&](double sv, double* f) {
        const double t = std::exp(sv);
        hat.eval(t, f);
        return t;
    };
    while (!stack.empty()) {
        const Iv iv = stack.back();
        stack.pop_back();
        const double cen = 0.5 * (iv.a + iv.b), hl = 0.5 * (iv.b - iv.a);
        {
            const double t = eval_s(cen, fv.data());
            const double wk = kWgk[7] * t, wg = kWg[3] * t;
            for (std::size_t c = 0; c < C; ++c) {
                fk[c] = wk * fv[c];
                fg[c] = wg * fv[c];
            }
        }
        for (int j = 0; j < 7; ++j) {
            const double dx = hl * kXgk[j];
            for (int side = 0; side < 2; ++side) {
                const double t = eval_s(side ? cen + dx : cen - dx, fv.data());
                const double wk = kWgk[j] * t;
                if (j % 2 == 1) {
                    const double wg = kWg[j / 2] * t;
                    for (std::size_t c = 0; c < C; ++c) {
                        fk[c] += wk * fv[c];
                        fg[c] += wg * fv[c];
                    }
                } else {
                    for (std::size_t c = 0; c < C; ++c) fk[c] += wk * fv[c];
                }
            }
        }
        bool ok = true;
        const double local = tol * (iv.b - iv.a) / span;
        const double ta = std::exp(iv.a), tb = std::exp(iv.b);
        for (std::size_t c = 0; c < C && ok; ++c) {
            const double e = std::fabs(fk[c] - fg[c]) * hl;
            // mass of w e^{-wt} on the interval: rounding floor of the integrand
            const double mass = std::exp(-w[c] * ta) * -std::expm1(-w[c] * (tb - ta));
            if (e > local && e > 1e-14 * mass) ok = false;
        }
        const bool too_deep = iv.depth >= 50 || hl <= 1e-13;
        if (ok || too_deep) {
            for (std::size_t c = 0; c < C; ++c) {
                res[c] += fk[c] * hl;
                err[c] += std::fabs(fk[c] - fg[c]) * hl;
            }
            ++info.intervals;
        } else {
            stack.push_back({cen, iv.b, iv.depth + 1});
            stack.push_back({iv.a, cen, iv.depth + 1});
        }
    }
    // error budget (docs/tickets.md): quadrature estimate per class, the neglected
    // tails ([0,t_lo], [t_hi,inf), window, frequencies, series) and pmf rounding.
    const double Lmax = static_cast<double>(std::max<std::size_t>(hat.max_window(), 8));
    const double per_entry_fixed = 6.0 * kTailEps + 4.0 * kSeriesEps +
                                   64.0 * std::numeric_limits<double>::epsilon() *
                                       (1.0 + std::log2(Lmax));
    // The raw sum decides the final rescale, so it must be accurate to an ulp of K:
    // a plain loop over up to n classes errs by O(C) ulps (measured 1e-10 for 2e4
    // classes, K = 19990), and rescaling by it would move the sum away from K.
    // Exact products (fma) and compensated summation.
    NeumaierSum sum_acc;
    double bound = 0.0, emax = 0.0;
    for (std::size_t c = 0; c < C; ++c) {
        const double prod = cnt[c] * res[c];
        sum_acc.add(prod);
        sum_acc.add(std::fma(cnt[c], res[c], -prod));
        const double e = err[c] + per_entry_fixed;
        bound += cnt[c] * e;
        emax = std::max(emax, e);
    }
    info.raw_sum = sum_acc.value();
    info.error_bound = bound;
    info.max_entry_error = emax;
    info.nodes = hat.nodes();
    for (std::size_t c = 0; c < C; ++c) out[perm[c]] = res[c];
    return info;
}

// ---------------------------------------------------------------- the hat itself

// Draws the first `m` entrants of the hat (m <= number with w > 0): out[0..m) are
// indices in draw order. One 64-bit word per index 0..n-1 (entrants with w == 0
// consume theirs too), U = 1 - uniform01() in (0, 1], E = -log(U) ~ Exp(1), clock
// key log(E) - log(w); the m smallest keys in increasing order (ties: lower index).
inline void draw_tickets(const double* w, std::size_t n, std::size_t m, Rng& rng,
                         std::int64_t* out) {
    struct Key {
        double key;
        std::size_t idx;
    };
    std::vector<Key> keys;
    keys.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        const double u = 1.0 - rng.uniform01();
        if (!(w[i] > 0.0)) continue;
        const double e = -std::log(u);
        keys.push_back({std::log(e) - std::log(w[i]), i});
    }
    if (m > keys.size()) throw std::invalid_argument("draw_tickets: m > entrants");
    auto less = [](const Key& a, const Key& b) {
        return a.key < b.key || (a.key == b.key && a.idx < b.idx);
    };
    if (m < keys.size()) {
        std::nth_element(keys.begin(), keys.begin() + static_cast<std::ptrdiff_t>(m),
                         keys.end(), less);
    }
    std::sort(keys.begin(), keys.begin() + static_cast<std::ptrdiff_t>(m), less);
    for (std::size_t j = 0; j < m; ++j) out[j] = static_cast<std::int64_t>(keys[j].idx);
}

}  // namespace fastfair
