// fastfair._core: the private compiled module. Each concept registers itself from its
// own translation unit (bind_*.cpp).
#include "bind_common.hpp"

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
}
