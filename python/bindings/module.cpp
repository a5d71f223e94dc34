// gradtape._core: the bindings are a list of bind_* calls, and the exception mapping.
#include "convert.h"

namespace gt::py_bind {
void bind_tensor(py::module_& m);
void bind_ops(py::module_& m);
void bind_tape(py::module_& m);
void bind_op_table(py::module_& m);
void bind_random(py::module_& m);
void bind_optim(py::module_& m);
}  // namespace gt::py_bind

PYBIND11_MODULE(_core, m) {
  using namespace gt::py_bind;
  m.doc() = "gradtape's C++ core: tensors, ops with their gradients, and the tape";
  static py::exception<gt::InvalidArgument> invalid_argument(m, "InvalidArgumentError", PyExc_ValueError);
  static py::exception<gt::UnconnectedError> unconnected(m, "UnconnectedGradientsError", invalid_argument.ptr());
  static py::exception<gt::ResourceExhausted> exhausted(m, "ResourceExhaustedError", PyExc_MemoryError);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const gt::UnconnectedError& e) {
      py::set_error(unconnected, e.what());
    } catch (const gt::InvalidArgument& e) {
      py::set_error(invalid_argument, e.what());
    } catch (const gt::TypeError_& e) {
      py::set_error(PyExc_TypeError, e.what());
    } catch (const gt::TapeError& e) {
      py::set_error(PyExc_RuntimeError, e.what());
    } catch (const gt::ResourceExhausted& e) {
      py::set_error(exhausted, e.what());
    } catch (const std::bad_alloc&) {
      py::set_error(exhausted, "OOM: the system could not allocate the memory this operation needs");
    } catch (const std::length_error& e) {
      py::set_error(exhausted, (std::string("OOM: a buffer this operation needs is too large (") + e.what() + ")").c_str());
    } catch (const py::cast_error& e) {
      // A bound method called on an object whose C++ part was never built (made with
      // Class.__new__ and no __init__), or an argument of the wrong kind.
      const bool uninitialised = std::string(e.what()).find("non-held") != std::string::npos;
      const std::string msg =
          uninitialised ? std::string("this gradtape object was never initialised (made with __new__ without __init__)")
                        : std::string("an argument (or self) is not a usable gradtape object: it is of the wrong type, "
                                      "or it was made with __new__ and never initialised (") + e.what() + ")";
      py::set_error(PyExc_TypeError, msg.c_str());
    }
  });
  // Ctrl-C during a long backward pass: the sweep polls Python's signal handlers (it runs
  // with the GIL held) and unwinds with KeyboardInterrupt.
  gt::set_interrupt_check([] {
    if (PyErr_CheckSignals() != 0) throw py::error_already_set();
  });
  bind_tensor(m);
  bind_ops(m);
  bind_tape(m);
  bind_op_table(m);
  bind_random(m);
  bind_optim(m);
  m.def("_set_tensor_shape_class", &set_tensor_shape_class);
  m.def("_set_structural_zeros", &gt::set_structural_zeros);
  m.def("_structural_zeros_enabled", &gt::structural_zeros_enabled);
  m.def("_set_fusion", &gt::set_fusion);
  m.def("_fusion_enabled", &gt::fusion_enabled);
  m.def("_set_num_threads", &gt::set_num_threads);
  m.def("_num_threads", &gt::num_threads);
  // For the tests: whether a tensor's values are still deferred (not yet computed).
  m.def("_is_deferred", [](const gt::TensorImpl& t) { return t.deferred.load(); });
}
