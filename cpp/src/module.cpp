// fastfair._core: the private compiled module. Each concept registers itself from its
// own translation unit (bind_*.cpp).
#include "bind_common.hpp"

#include <vector>

#include "fastfair/ef_allocator.hpp"
#include "fastfair/online_common.hpp"
#include "fastfair/prop_allocator.hpp"

#ifndef FASTFAIR_VERSION
#define FASTFAIR_VERSION "0.0.0+dev"
#endif
#ifndef FASTFAIR_BUILD_TYPE
#define FASTFAIR_BUILD_TYPE ""
#endif

void register_sampling(py::module_& m);
void register_lottery(py::module_& m);
void register_online(py::module_& m);
void register_efk(py::module_& m);
void register_tickets(py::module_& m);

// Hidden test hooks of the fast potential (docs/numerics.md "The fast potential").
static void register_potential_hooks(py::module_& m) {
    using fastfair_bind::f64_in;
    m.def("_online_simd_supported", [] { return fastfair::simd_supported(); });
    m.def("_set_fast_potential", [](int mode) {  // 0 exact only, 1 auto, 2 everywhere
        return fastfair::fast_potential_mode().exchange(std::max(0, std::min(mode, 2)));
    });
    m.def("_set_online_threads", [](int k) {
        return fastfair::online_threads_setting().exchange(k >= 2 ? 2 : 1);
    });
    m.def("_fast_phi_m1", [](f64_in x, double p, int level) {
        py::array_t<double> out(x.size());
        level = std::max(0, std::min(level, fastfair::simd_supported()));
        fastfair::fast_phi_m1_batch(x.data(), out.mutable_data(),
                                    static_cast<std::size_t>(x.size()), p, level);
        return out;
    });
    m.def("_fast_phi_m1_sparse", [](f64_in x, double p, int level) {  // compacted path
        const auto n = static_cast<std::size_t>(x.size());
        py::array_t<double> out(x.size());
        std::vector<double> val(n + 8), val2(n + 8);
        std::vector<std::uint32_t> pos(n + 8);
        level = std::max(0, std::min(level, fastfair::simd_supported()));
        fastfair::fast_phi_m1_sparse(x.data(), out.mutable_data(), n, p, level, val.data(),
                                     val2.data(), pos.data());
        return out;
    });
    m.def("_exact_phi_m1", [](f64_in x, double p) {
        py::array_t<double> out(x.size());
        for (py::ssize_t i = 0; i < x.size(); ++i) {
            const double l = fastfair::log_phi(x.data()[i], p);
            out.mutable_data()[i] = l == 0.0 ? 0.0 : fastfair::phi_minus_1(l);
        }
        return out;
    });
    m.def("_fast_bounds", [] {
        return py::make_tuple(fastfair::kFastPhiRel, fastfair::kFastPhiAbs,
                              fastfair::kFastPhiMax);
    });
    // Decisions of a fresh engine on a (T, n) stream, with how many rounds the fast
    // potential decided alone and how many it handed to the exact path.
    m.def("_online_fast_stats", [](const std::string& notion, f64_in V, double p,
                                   bool by_value) {
        const auto T = static_cast<std::size_t>(V.shape(0));
        const auto n = static_cast<std::size_t>(V.shape(1));
        py::array_t<std::int64_t> out(static_cast<py::ssize_t>(T));
        const auto tie = by_value ? fastfair::TieBreak::Value : fastfair::TieBreak::Index;
        std::uint64_t fast = 0, exact = 0;
        if (notion == "prop") {
            fastfair::PropAllocator a(n, p, 0.0, tie);
            a.run(V.data(), T, out.mutable_data());
            fast = a.fast_rounds();
            exact = a.exact_rounds();
        } else {
            fastfair::EfAllocator a(n, p, 0.0, tie);
            a.run(V.data(), T, out.mutable_data());
            fast = a.fast_rounds();
            exact = a.exact_rounds();
        }
        return py::make_tuple(out, fast, exact);
    });
}

PYBIND11_MODULE(_core, m) {
    m.doc() = "fastfair's compiled core (private; use the fastfair package).";
    m.attr("__version__") = FASTFAIR_VERSION;

    py::dict info;
    info["build_type"] = FASTFAIR_BUILD_TYPE;
#ifdef NDEBUG
    info["ndebug"] = true;
#else
    info["ndebug"] = false;
#endif
#ifdef FASTFAIR_NATIVE_BUILD
    info["native"] = true;
#else
    info["native"] = false;
#endif
#if defined(__clang__)
    info["compiler"] = "clang " __clang_version__;
#elif defined(__GNUC__)
    info["compiler"] = "gcc " __VERSION__;
#else
    info["compiler"] = "unknown";
#endif
    m.attr("build_info") = info;

    register_sampling(m);
    register_lottery(m);
    register_online(m);
    register_efk(m);
    register_tickets(m);
    register_potential_hooks(m);
}
