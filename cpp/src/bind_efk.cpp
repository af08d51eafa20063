// Bindings for the efk engine (filled in by its issue).
#include "bind_common.hpp"

void register_efk(py::module_& m) { (void)m; }
