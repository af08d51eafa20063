// Bindings for the online engine (filled in by its issue).
#include "bind_common.hpp"

void register_online(py::module_& m) { (void)m; }
