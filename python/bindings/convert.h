#pragma once
// Python <-> core conversions shared by the bind_*.cpp files: dtypes, tensors from Python
// values (scalars, nested lists, NumPy arrays, variables), tensors to NumPy, axes.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <optional>
#include <vector>

#include "gradtape/gradtape.h"

namespace py = pybind11;

// Objects made with Class.__new__ and never initialised. pybind11 hands such an object's
// methods a lazily allocated, uninitialised C++ value as `self`, so any use would read garbage.
// GT_REFUSE_UNINITIALISED(T) gives T a caster that refuses them with a TypeError; every class
// the module binds declares it (below, and beside the classes local to a binding file), so no
// bound method or property, however it takes `self`, can see such an object.
namespace pybind11::detail {
template <class T>
class initialised_only_caster : public type_caster_base<T> {
 public:
  bool load(handle src, bool convert) {
    if (!type_caster_base<T>::load(src, convert)) return false;
    static type_info* ti = get_type_info(typeid(T));
    if (src && !src.is_none() && ti && PyObject_TypeCheck(src.ptr(), ti->type)) initialised(src);
    return true;
  }
  // The C++ object of `src`, an instance of T (or of a subclass); type_error when it was never
  // initialised. Also the fast path of the bindings' own type checks (gt::py_bind::variable_ref).
  static T& initialised(handle src) {
    static type_info* ti = get_type_info(typeid(T));
    value_and_holder vh = reinterpret_cast<instance*>(src.ptr())->get_value_and_holder(ti, false);
    if (!vh || !vh.holder_constructed() || !vh.value_ptr())
      throw type_error(std::string("this ") + ti->type->tp_name +
                       " object was never initialised (made with __new__ without __init__)");
    return *static_cast<T*>(vh.value_ptr());
  }
};
}  // namespace pybind11::detail
#define GT_REFUSE_UNINITIALISED(T) \
  namespace pybind11::detail {     \
  template <>                       \
  class type_caster<T> : public initialised_only_caster<T> {}; \
  }

GT_REFUSE_UNINITIALISED(gt::TensorImpl)
GT_REFUSE_UNINITIALISED(gt::Variable)
GT_REFUSE_UNINITIALISED(gt::Tape)
GT_REFUSE_UNINITIALISED(gt::DType)

namespace gt::py_bind {

// A DType from a DType, a string ('float32'), a NumPy dtype or type; TypeError otherwise.
DType dtype_from_py(py::handle h);
// A DType from TensorFlow's DataType enum value (1 float32, 2 float64, 3 int32, 9 int64, 10 bool);
// TypeError for any other value.
DType dtype_from_enum_value(py::handle h);
// Whether h is a gradtape Tensor, a Variable, or either (cached type checks).
bool is_tensor(py::handle h);
bool is_variable(py::handle h);
bool is_tensor_like(py::handle h);
// The C++ Variable of a gradtape Variable; TypeError when its C++ part was never built.
Variable& variable_ref(py::handle h);
// Converts a Python value to a tensor. `hint` is the dtype of the other operand (a Python
// scalar takes it); `dtype` is a requested dtype (values are converted to it).
// A (nested) list or tuple holding a tensor or variable is packed with stack (TensorFlow's
// autopacking; under gt.function the stack is a step): its dtype is `dtype`, else `hint`, else
// the first tensor's (tensors are cast to a dtype given, refused otherwise).
Tensor to_tensor(py::handle h, std::optional<DType> hint = std::nullopt,
                 std::optional<DType> dtype = std::nullopt);
// to_tensor without the packing: a list holding tensors converts through NumPy (each tensor's
// value read; inside gt.function a traced one is refused). gt.constant's conversion, as
// tf.constant never packs.
Tensor to_tensor_unpacked(py::handle h, std::optional<DType> dtype = std::nullopt);
// to_tensor, but a variable becomes a tensor of its own (read_value, value, convert_to_tensor),
// a read that watching tapes and accumulators record (a reshape, sharing the buffer). The
// variable's value tensor is what every later read returns and what tapes link: a snapshot that
// were that tensor would count as the variable to a tape entered later (d(c * v)/dv = 2c, where
// TensorFlow gives c). While tracing, a read is a fresh tensor already.
Tensor variable_snapshot(py::handle v, std::optional<DType> dtype = std::nullopt);
// While gt.function traces (gradtape/program.h): NotTraceable when t's value is a tracing value
// (computed from the function's inputs or variables), which Python must not read; `what` names
// the reading ("bool()", "axis").
// Whether h is a tensor, or a (nested) list or tuple holding one, that is a value of the program
// r traces (a slot): its value is known only when the program runs.
bool holds_traced_value(py::handle h, const ProgramRecorder& r);
void check_readable(const Tensor& t, const char* what);
// Nonzero while a program's host callback (gt.print) runs on this thread, tracing or not: it is
// given the run's values to print, so it may read them.
extern thread_local int tls_in_host_callback;
// Converts two operands of a binary op: a tensor operand decides a scalar operand's dtype.
std::pair<Tensor, Tensor> to_tensor_pair(py::handle a, py::handle b);
// A read-only NumPy view of t (it keeps t's storage alive).
py::array to_numpy(const Tensor& t);
// An axis argument: None (all), an int, a list/tuple of ints, or an integer tensor.
Axes axes_from_py(py::handle h);
std::vector<int64_t> ints_from_py(py::handle h, const char* what);
// One integer argument (a Python or NumPy int, or a one-element integer tensor); TypeError
// naming `what` (e.g. "softmax: axis") otherwise, InvalidArgument past int64.
int64_t int_from_py(py::handle h, const char* what);
// Runs f() with the GIL released. Not pybind11's gil_scoped_release: its destructor is
// noexcept, and at interpreter exit re-taking the GIL ends a daemon thread by unwinding its
// stack (pthread_exit), which through a noexcept destructor aborts the process.
// Whatever f() returns must not hold Python objects (it is made without the GIL).
template <class F>
auto without_gil(F&& f) -> decltype(f()) {
  PyThreadState* state = PyEval_SaveThread();
  decltype(f()) out;
  try {
    out = f();
  } catch (...) {
    PyEval_RestoreThread(state);
    throw;
  }
  PyEval_RestoreThread(state);  // may end a daemon thread at exit: plain code, unwinds cleanly
  return out;
}

// Drops a Python reference held by a C++ object whose last owner may run without the GIL (a
// reverse sweep, a program's run) or after the interpreter has finalized: takes the GIL, or,
// when Python is finalizing, leaves the reference alone.
void drop_reference(py::object& o);

// Wraps a (possibly undefined) tensor for Python: None when undefined.
py::object wrap(const Tensor& t);
// A gradtape.TensorShape (a tuple subclass) for a shape.
py::object shape_to_py(const Shape& s);
void set_tensor_shape_class(py::object cls);
// A tensor's `.shape` for Python: shape_to_py, or, for a slot of the trace in progress, a
// gradtape._shape._TracedShape, which notes each dimension the Python code reads
// (ProgramRecorder::note_shape_read; docs/guides/function.md, "One program for all sizes").
py::object tensor_shape_to_py(const Tensor& t);
void set_traced_shape_class(py::object cls);
// Notes that a binding used dimension `dim` (< 0: all) of t for a step's fixed argument.
void note_shape_read(const Tensor& t, int dim = -1);

}  // namespace gt::py_bind
