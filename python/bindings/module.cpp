// gradtape._core: the bindings are a list of bind_* calls, and the exception mapping.
#include <cctype>
#include <chrono>
#include <cstring>
#include <string>

#include "convert.h"

namespace gt::py_bind {
void bind_tensor(py::module_& m);
void bind_ops(py::module_& m);
void bind_tape(py::module_& m);
void bind_op_table(py::module_& m);
void bind_random(py::module_& m);
void bind_optim(py::module_& m);
void bind_dlpack(py::module_& m);
void bind_forward(py::module_& m);
void bind_program(py::module_& m);
}  // namespace gt::py_bind

// The thread pool's size for threadpoolctl (gradtape/_threadpoolctl.py): its controller finds
// this extension among the process's loaded libraries and calls these through ctypes, as
// threadpoolctl's own controllers call openblas_get_num_threads. Plain C, default visibility
// (the module is compiled with hidden visibility); no Python, no GIL needed.
#if defined(__GNUC__)
#define GT_C_EXPORT extern "C" __attribute__((visibility("default")))
#else
#define GT_C_EXPORT extern "C"
#endif
GT_C_EXPORT int gradtape_get_num_threads(void) { return gt::num_threads(); }
GT_C_EXPORT void gradtape_set_num_threads(int n) { gt::set_num_threads(n < 1 ? 1 : n); }
GT_C_EXPORT const char* gradtape_get_version(void) { return GRADTAPE_VERSION_STRING; }

namespace {
// Appends the Python thread's name to each "thread <id>" in a message ("thread 1403 (MainThread)").
std::string name_threads(const std::string& msg) {
  static const std::string kw = "thread ";
  std::string out;
  py::object active;
  size_t i = 0;
  for (size_t at; (at = msg.find(kw, i)) != std::string::npos;) {
    const size_t digits = at + kw.size();
    size_t end = digits;
    while (end < msg.size() && std::isdigit(static_cast<unsigned char>(msg[end]))) ++end;
    out.append(msg, i, end - i);
    i = end;
    if (end == digits) continue;  // "thread " without an id
    try {
      if (!active) active = py::module_::import("threading").attr("_active");
      py::object th = active.attr("get")(py::int_(std::stoull(msg.substr(digits, end - digits))));
      if (!th.is_none()) out += " (" + py::str(th.attr("name")).cast<std::string>() + ")";
    } catch (const std::exception&) {
      PyErr_Clear();
    }
  }
  out.append(msg, i, std::string::npos);
  return out;
}
}  // namespace

namespace {
// An exception's message as the Python error: bytes that are not UTF-8 (a token of a corrupt
// saved model quoted in a DataLoss message) are escaped, where PyErr_SetString would raise
// UnicodeDecodeError in place of the error.
void set_error_text(py::handle type, const char* what) {
  PyObject* text = PyUnicode_DecodeUTF8(what, Py_ssize_t(std::strlen(what)), "backslashreplace");
  if (!text) return;  // (MemoryError is set)
  PyErr_SetObject(type.ptr(), text);
  Py_DECREF(text);
}
}  // namespace

PYBIND11_MODULE(_core, m) {
  using namespace gt::py_bind;
  m.doc() = "gradtape's C++ core: tensors, ops with their gradients, and the tape";
  // TensorFlow's error classes derive from tf.errors.OpError; gradtape's are also the Python
  // exception a Python user would catch (ValueError, MemoryError), so each has both bases.
  static py::exception<std::exception> op_error(m, "OpError", PyExc_Exception);
  const auto with_op_error = [](PyObject* base) { return py::make_tuple(op_error, py::handle(base)); };
  static py::exception<gt::InvalidArgument> invalid_argument(m, "InvalidArgumentError", with_op_error(PyExc_ValueError));
  static py::exception<gt::UnconnectedError> unconnected(m, "UnconnectedGradientsError", invalid_argument.ptr());
  static py::exception<gt::ResourceExhausted> exhausted(m, "ResourceExhaustedError", with_op_error(PyExc_MemoryError));
  static py::exception<gt::NotTraceable> not_traceable(m, "OperatorNotAllowedInGraphError", PyExc_TypeError);
  // (gradtape.errors.DataLossError and NotFoundError are Python classes: gradtape/saved_model.py
  // turns these into them)
  static py::exception<gt::DataLoss> data_loss(m, "_DataLoss", PyExc_RuntimeError);
  static py::exception<gt::NotFound> not_found(m, "_NotFound", PyExc_OSError);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const gt::UnconnectedError& e) {
      set_error_text(unconnected, e.what());
    } catch (const gt::ValueError_& e) {
      set_error_text(PyExc_ValueError, e.what());
    } catch (const gt::InvalidArgument& e) {
      set_error_text(invalid_argument, e.what());
    } catch (const gt::NotTraceable& e) {
      set_error_text(not_traceable, e.what());
    } catch (const gt::TypeError_& e) {
      set_error_text(PyExc_TypeError, e.what());
    } catch (const gt::NotImplemented_& e) {
      set_error_text(PyExc_NotImplementedError, e.what());
    } catch (const gt::DataLoss& e) {
      set_error_text(data_loss, e.what());
    } catch (const gt::NotFound& e) {
      set_error_text(not_found, e.what());
    } catch (const gt::LookupError_& e) {
      set_error_text(PyExc_LookupError, e.what());
    } catch (const gt::TapeError& e) {
      set_error_text(PyExc_RuntimeError, name_threads(e.what()).c_str());
    } catch (const gt::ResourceExhausted& e) {
      set_error_text(exhausted, e.what());
    } catch (const std::bad_alloc&) {
      set_error_text(exhausted, "OOM: the system could not allocate the memory this operation needs");
    } catch (const std::length_error& e) {
      set_error_text(exhausted, (std::string("OOM: a buffer this operation needs is too large (") + e.what() + ")").c_str());
    } catch (const py::cast_error& e) {
      // A bound method called on an object whose C++ part was never built (made with
      // Class.__new__ and no __init__), or an argument of the wrong kind.
      const bool uninitialised = std::string(e.what()).find("non-held") != std::string::npos;
      const std::string msg =
          uninitialised ? std::string("this gradtape object was never initialised (made with __new__ without __init__)")
                        : std::string("an argument (or self) is not a usable gradtape object: it is of the wrong type, "
                                      "or it was made with __new__ and never initialised (") + e.what() + ")";
      set_error_text(PyExc_TypeError, msg.c_str());
    }
  });
  // Ctrl-C during a long backward pass: the sweep (which runs without the GIL) calls this every
  // few hundred records. Only the main thread runs Python's signal handlers; there, at most
  // every 20 ms, it takes the GIL to run them (waiting for the GIL at every call would let a
  // busy Python thread slow the sweep down), and unwinds with KeyboardInterrupt.
  static const unsigned long main_ident =
      py::module_::import("threading").attr("main_thread")().attr("ident").cast<unsigned long>();
  gt::set_interrupt_check([] {
    if (PyThread_get_thread_ident() != main_ident) return;
    static std::chrono::steady_clock::time_point next;
    const auto now = std::chrono::steady_clock::now();
    if (now < next) return;
    next = now + std::chrono::milliseconds(20);
    if (PyGILState_Check()) {
      if (PyErr_CheckSignals() != 0) throw py::error_already_set();
      return;
    }
    py::gil_scoped_acquire gil;
    if (PyErr_CheckSignals() != 0) throw py::error_already_set();
  });
  bind_tensor(m);
  bind_ops(m);
  bind_tape(m);
  bind_op_table(m);
  bind_random(m);
  bind_optim(m);
  bind_dlpack(m);
  bind_forward(m);
  bind_program(m);
  m.def("_set_tensor_shape_class", &set_tensor_shape_class);
  m.def("_set_traced_shape_class", &set_traced_shape_class);
  m.def("_set_structural_zeros", &gt::set_structural_zeros);
  m.def("_structural_zeros_enabled", &gt::structural_zeros_enabled);
  m.def("_set_fusion", &gt::set_fusion);
  m.def("_fusion_enabled", &gt::fusion_enabled);
  m.def("_set_fusion_batches", &gt::set_fusion_batches);
  m.def("_fusion_batches_enabled", &gt::fusion_batches_enabled);
  m.def("_set_gradient_plans", &gt::set_gradient_plans);
  m.def("_gradient_plans_enabled", &gt::gradient_plans_enabled);
  m.def("_set_scalar_code", &gt::set_scalar_code);
  m.def("_scalar_code_enabled", &gt::scalar_code_enabled);
  m.def("_set_num_threads", &gt::set_num_threads);
  m.def("_num_threads", &gt::num_threads);
  m.def("_kernel_isa", [] { return std::string(gt::kernel_isa()); });
  m.def("_kernel_build_info", [] { return std::string(gt::kernel_build_info()); });
  // For the tests: whether a tensor's values are still deferred (not yet computed).
  m.def("_is_deferred", [](const gt::TensorImpl& t) { return t.deferred.load(); });
}
