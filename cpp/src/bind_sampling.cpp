// Bindings for the stateless sampling kernels: the capped-simplex projection,
// randomized pipage rounding and the portable generator.
#include "bind_common.hpp"

#include <cmath>
#include <limits>
#include <memory>
#include <stdexcept>
#include <vector>

#include "fastfair/parallel.hpp"
#include "fastfair/pipage.hpp"
#include "fastfair/projection.hpp"
#include "fastfair/rng.hpp"
#include "fastfair/simd.hpp"
#include "fastfair/summation.hpp"

namespace {

using fastfair_bind::f64_in;

// Below this size the kernels take microseconds; releasing the GIL would cost more.
constexpr std::size_t kReleaseGilAbove = 1 << 14;

// Largest output an internal call may allocate (the public layer checks first).
constexpr double kMaxOutputBytes = 8.0 * 1024 * 1024 * 1024;

void require_output_bytes(double bytes, const char* what) {
    if (bytes > kMaxOutputBytes) {
        std::ostringstream os;
        os.precision(4);
        os << what << " would need " << bytes << " bytes, more than the limit of "
           << kMaxOutputBytes << " bytes (8 GiB)";
        throw py::value_error(os.str());
    }
}

py::array_t<double> py_project_capped_simplex(py::handle y_obj, double k) {
    const f64_in y = fastfair_bind::real_f64(y_obj, "y");
    fastfair_bind::require_ndim(y, 1, "y");
    const auto n = static_cast<std::size_t>(y.shape(0));
    if (!std::isfinite(k) || k < 0.0 || k > static_cast<double>(n)) {
        fastfair_bind::require_finite(y.data(), n, "y");  // a bad y is reported first
        std::ostringstream os;
        os << "k must lie in [0, len(y)] = [0, " << n << "], got " << k;
        throw py::value_error(os.str());
    }
    py::array_t<double> x(static_cast<py::ssize_t>(n));
    const double* yp = y.data();
    double* xp = x.mutable_data();
    // Scratch without a fill: the kernel writes only the values it keeps (a few % of
    // n), so untouched pages of a large buffer are never even mapped.
    std::unique_ptr<double[]> work(new double[n == 0 ? 1 : n]);
    // y is validated inside the kernel's first pass; the detailed message (which
    // entry) is produced only on failure.
    try {
        if (n > kReleaseGilAbove) {
            py::gil_scoped_release nogil;  // only raw buffers are touched below
            fastfair::project_capped_simplex(yp, n, k, xp, work.get());
        } else {
            fastfair::project_capped_simplex(yp, n, k, xp, work.get());
        }
    } catch (const std::invalid_argument&) {
        fastfair_bind::require_finite(yp, n, "y");
        throw;
    }
    return x;
}

[[noreturn]] void throw_bad_probability(const double* pi, std::size_t i) {
    std::ostringstream os;
    os << "pi must contain probabilities in [0, 1], got " << pi[i] << " at index " << i;
    throw py::value_error(os.str());
}

// K = round(total) for total = accurate_sum(pi); throws unless total is whole.
std::size_t whole_sum(double total) {
    const double rounded = std::round(total);
    if (std::fabs(total - rounded) > 1e-9) {
        std::ostringstream os;
        os.precision(17);
        os << "sum(pi) must be a whole number (within 1e-9), got " << total
           << "; the number of winners cannot be fractional";
        throw py::value_error(os.str());
    }
    return static_cast<std::size_t>(rounded);
}

// Validates pi for pipage rounding and returns its (integral) sum K. One pass: the
// range check (branch-free) is fused with the accurate sum.
std::size_t check_pipage_input(const double* pi, std::size_t n) {
    double total = 0.0;
    std::size_t first_bad = n;
    fastfair::pipage_input_scan(pi, n, total, first_bad);
    if (first_bad != n) throw_bad_probability(pi, first_bad);
    return whole_sum(total);
}

// Full validation of a pipage_round call (done before any seed is drawn).
std::size_t py_pipage_check(const f64_in& pi, std::int64_t size) {
    fastfair_bind::require_ndim(pi, 1, "pi");
    const auto n = static_cast<std::size_t>(pi.shape(0));
    const std::size_t k = check_pipage_input(pi.data(), n);
    const double draws = size < 0 ? 1.0 : static_cast<double>(size);
    require_output_bytes(draws * static_cast<double>(n), "pipage_round's output (size * len(pi))");
    return k;
}

py::array_t<std::int8_t> py_pipage_round(py::handle pi_obj, std::uint64_t seed,
                                         std::int64_t size) {
    const f64_in pi = fastfair_bind::real_f64(pi_obj, "pi");
    fastfair_bind::require_ndim(pi, 1, "pi");
    const auto n = static_cast<std::size_t>(pi.shape(0));
    const bool single = size < 0;
    const std::size_t draws = single ? 1 : static_cast<std::size_t>(size);
    // One draw: the validation is fused into the draw's pass over pi (the output is
    // fresh and the generator local, so a rejected input changes nothing). Several
    // draws: validated first, in one pass.
    const std::size_t k = single ? 0 : check_pipage_input(pi.data(), n);
    require_output_bytes(static_cast<double>(draws) * static_cast<double>(n),
                         "pipage_round's output (size * len(pi))");
    std::vector<py::ssize_t> shape;
    if (!single) shape.push_back(static_cast<py::ssize_t>(draws));
    shape.push_back(static_cast<py::ssize_t>(n));
    py::array_t<std::int8_t> out(shape);
    const double* pp = pi.data();
    std::int8_t* op = out.mutable_data();
    std::size_t bad = 0, first_bad = n, ones = 0;
    double total = 0.0;
    auto body = [&] {
        fastfair::Rng rng(seed);
        if (single && n > fastfair::parallel::kThreadsAbove) {
            // the validation (a sequential accurate sum) runs beside the draw
            fastfair::parallel::for_chunks(2, true, [&](std::size_t c) {
                if (c == 0)
                    ones = fastfair::pipage_round(pp, n, rng, op);
                else
                    fastfair::pipage_input_scan(pp, n, total, first_bad);
            });
            return;
        }
        if (single) {
            ones = fastfair::pipage_round_checked(pp, n, rng, op, total, first_bad);
            return;
        }
        for (std::size_t d = 0; d < draws; ++d)
            if (fastfair::pipage_round(pp, n, rng, op + d * n) != k) ++bad;
    };
    if (draws * n > kReleaseGilAbove) {
        py::gil_scoped_release nogil;
        body();
    } else {
        body();
    }
    if (single) {
        if (first_bad != n) throw_bad_probability(pp, first_bad);
        if (ones != whole_sum(total)) ++bad;
    }
    if (bad != 0) throw std::runtime_error("internal error: pipage_round lost a winner");
    return out;
}

py::array_t<std::uint64_t> py_rng_u64(std::uint64_t seed, std::size_t count) {
    require_output_bytes(8.0 * static_cast<double>(count), "rng_u64's output");
    py::array_t<std::uint64_t> out(static_cast<py::ssize_t>(count));
    fastfair::Rng rng(seed);
    auto* o = out.mutable_data();
    for (std::size_t i = 0; i < count; ++i) o[i] = rng.next_u64();
    return out;
}

py::array_t<double> py_rng_uniform01(std::uint64_t seed, std::size_t count) {
    require_output_bytes(8.0 * static_cast<double>(count), "rng_uniform01's output");
    py::array_t<double> out(static_cast<py::ssize_t>(count));
    fastfair::Rng rng(seed);
    auto* o = out.mutable_data();
    for (std::size_t i = 0; i < count; ++i) o[i] = rng.uniform01();
    return out;
}

}  // namespace

void register_sampling(py::module_& m) {
    m.def("project_capped_simplex", &py_project_capped_simplex, "y"_a, "k"_a,
          "Internal: exact projection onto {0 <= x <= 1, sum x = k}.");
    m.def("pipage_round", &py_pipage_round, "pi"_a, "seed"_a, "size"_a = -1,
          "Internal: randomized pipage rounding; size < 0 means one (n,) draw.");
    m.def(
        "pipage_check",
        [](py::handle pi, std::int64_t size) {
            return py_pipage_check(fastfair_bind::real_f64(pi, "pi"), size);
        },
        "pi"_a, "size"_a = -1,
        "Internal: validates a pipage_round call (as pipage_round does) and returns K.");
    m.def(
        "_set_max_threads",
        [](int threads) {
            if (threads < 1) throw py::value_error("threads must be >= 1");
            return fastfair::parallel::max_threads().exchange(threads);
        },
        "threads"_a,
        "Private (tests, benchmarks): caps the threads of one large call; returns the "
        "previous cap. Results do not depend on it.");
    m.def(
        "_set_simd_level",
        [](int level) {
            if (level < 0) throw py::value_error("level must be >= 0");
            return fastfair::simd::cap().exchange(level);
        },
        "level"_a,
        "Private (tests, benchmarks): caps the vector kernels (0 = SSE2 baseline, 1 = AVX2, "
        "2 = AVX-512F); returns the previous cap. Results do not depend on it.");
    m.def("_simd_levels", [] { return fastfair::simd::cpu_level(); },
          "Private: the highest vector level this CPU runs (0, 1 or 2).");
    m.def("rng_u64", &py_rng_u64, "seed"_a, "count"_a,
          "Internal: the first `count` 64-bit words of fastfair's generator.");
    m.def("rng_uniform01", &py_rng_uniform01, "seed"_a, "count"_a,
          "Internal: the first `count` uniform [0, 1) doubles of fastfair's generator.");
}
