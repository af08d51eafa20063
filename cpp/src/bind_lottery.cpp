// Bindings for the lottery engine (filled in by its issue).
#include "bind_common.hpp"

void register_lottery(py::module_& m) { (void)m; }
