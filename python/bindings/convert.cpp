#include "convert.h"

#include <cmath>
#include <limits>
#include <string>

namespace gt::py_bind {

namespace {
py::object& tensor_shape_class() {
  static py::object* cls = new py::object();  // leaked: lives as long as the interpreter
  return *cls;
}
py::module_& numpy() {
  static py::module_* np = new py::module_(py::module_::import("numpy"));
  return *np;
}

DType dtype_from_numpy(const py::dtype& d) {
  const char kind = d.kind();
  const auto size = d.itemsize();
  if (kind == 'f' && size == 4) return DType::Float32;
  if (kind == 'f' && size == 8) return DType::Float64;
  if (kind == 'f' && size == 2) return DType::Float16;
  if (kind == 'i' && size == 1) return DType::Int8;
  if (kind == 'i' && size == 2) return DType::Int16;
  if (kind == 'i' && size == 4) return DType::Int32;
  if (kind == 'i' && size == 8) return DType::Int64;
  if (kind == 'u' && size == 1) return DType::UInt8;
  if (kind == 'u' && size == 2) return DType::UInt16;
  if (kind == 'u' && size == 4) return DType::UInt32;
  if (kind == 'u' && size == 8) return DType::UInt64;
  if (kind == 'b') return DType::Bool;
  if (size == 2 && std::string(py::str(d.attr("name"))) == "bfloat16") return DType::BFloat16;  // ml_dtypes
  if (kind == 'c')
    throw TypeError_("unsupported dtype " + std::string(py::str(d)) +
                     ": gradtape has no complex dtypes (complex64, complex128); use separate real and imaginary parts");
  throw TypeError_("unsupported dtype " + std::string(py::str(d)) +
                   ": gradtape supports float16, bfloat16, float32, float64, int8, int16, int32, int64, uint8, uint16, "
                   "uint32, uint64 and bool (cast the array first)");
}

const char* numpy_name(DType d) { return dtype_name(d); }

// ml_dtypes.bfloat16 as a NumPy dtype (TensorFlow's .numpy() of a bfloat16 tensor has it), or
// an ImportError naming the conversion when ml_dtypes is not installed.
py::dtype bfloat16_numpy_dtype() {
  static py::object* dt = nullptr;
  if (!dt) {
    py::module_ m;
    try {
      m = py::module_::import("ml_dtypes");
    } catch (py::error_already_set&) {
      throw py::import_error(
          "converting a bfloat16 tensor to or from NumPy needs the ml_dtypes package (pip install ml_dtypes), which "
          "gives NumPy its bfloat16 dtype; or cast to float32 first (gt.cast(x, gt.float32))");
    }
    dt = new py::object(numpy().attr("dtype")(m.attr("bfloat16")));  // leaked: lives as long as the interpreter
  }
  return py::reinterpret_borrow<py::dtype>(*dt);
}

// Converts a NumPy array (any layout) to a tensor of `target` dtype, by copy.
Tensor from_array(py::array arr, DType target) {
  DType src = dtype_from_numpy(arr.dtype());
  if (target == DType::Bool && src != DType::Bool)
    throw TypeError_(std::string("cannot convert values of dtype ") + dtype_name(src) +
                     " to a tensor of dtype bool (compare them, e.g. gt.not_equal(x, 0))");
  if (is_floating(src) && !is_floating(target) && target != DType::Bool) {
    // float -> int only when every value is integral (TensorFlow refuses any fraction)
    py::object ok = numpy().attr("all")(numpy().attr("equal")(numpy().attr("floor")(arr), arr));
    if (!ok.cast<bool>())
      throw TypeError_(std::string("cannot convert non-integral float values to ") + dtype_name(target));
  }
  if (src == DType::BFloat16 || target == DType::BFloat16) {
    // bfloat16 values are copied as their bits (ml_dtypes arrays) or rounded from float32
    // by the core's cast (NumPy without ml_dtypes has no bfloat16)
    if (src == DType::BFloat16) {
      arr = numpy().attr("ascontiguousarray")(arr);
      std::vector<int64_t> dims(arr.shape(), arr.shape() + arr.ndim());
      Tensor t = from_data(arr.data(), DType::BFloat16, Shape(dims));
      return target == DType::BFloat16 ? t : cast(t, target);
    }
    return cast(from_array(arr, DType::Float32), DType::BFloat16);
  }
  // dtype, native byte order and C layout in one conversion (big-endian arrays included)
  arr = numpy().attr("asarray")(arr, py::arg("dtype") = numpy_name(target), py::arg("order") = "C");
  std::vector<int64_t> dims(arr.shape(), arr.shape() + arr.ndim());
  return from_data(arr.data(), target, Shape(dims));
}
}  // namespace

void set_tensor_shape_class(py::object cls) { tensor_shape_class() = std::move(cls); }

namespace {
py::object& traced_shape_class() {
  static py::object* cls = new py::object();  // leaked: lives as long as the interpreter
  return *cls;
}
}  // namespace

void set_traced_shape_class(py::object cls) { traced_shape_class() = std::move(cls); }

py::object tensor_shape_to_py(const Tensor& t) {
  ProgramRecorder* r = active_recorder();
  if (r && traced_shape_class() && r->has_slot(t)) {
    py::tuple dims(t.ndim());
    for (int i = 0; i < t.ndim(); ++i) dims[i] = py::int_(t.shape()[i]);
    return traced_shape_class()(dims, wrap(t));
  }
  return shape_to_py(t.shape());
}

void note_shape_read(const Tensor& t, int dim) {
  if (ProgramRecorder* r = active_recorder()) r->note_shape_read(t, dim);
}

py::object shape_to_py(const Shape& s) {
  py::tuple t(s.rank());
  for (int i = 0; i < s.rank(); ++i) t[i] = py::int_(s[i]);
  if (tensor_shape_class()) return tensor_shape_class()(t);
  return std::move(t);
}

DType dtype_from_enum_value(py::handle h) {
  if (!PyLong_Check(h.ptr()) || PyBool_Check(h.ptr()))
    throw TypeError_("a DType is made from an integer enum value, got " + std::string(py::repr(h)));
  int overflow = 0;
  long long v = PyLong_AsLongLongAndOverflow(h.ptr(), &overflow);
  if (overflow || !is_dtype_value(v))
    throw TypeError_("DType enum value " + std::string(py::repr(h)) +
                     " is not a dtype gradtape has: float32 (1), float64 (2), int32 (3), uint8 (4), int16 (5), int8 (6), "
                     "int64 (9), bool (10), bfloat16 (14), uint16 (17), float16 (19), uint32 (22), uint64 (23)");
  return DType(v);
}

DType dtype_from_py(py::handle h) {
  if (py::isinstance<DType>(h)) return h.cast<DType>();
  if (h.is_none()) throw TypeError_("a dtype is required, got None");
  if (PyLong_Check(h.ptr()) && !PyBool_Check(h.ptr())) return dtype_from_enum_value(h);  // tf.as_dtype(1)
  if (py::isinstance<py::str>(h)) {
    std::string s = h.cast<std::string>();
    if (s == "float32") return DType::Float32;
    if (s == "float64" || s == "double") return DType::Float64;
    if (s == "int32") return DType::Int32;
    if (s == "int64") return DType::Int64;
    if (s == "bool") return DType::Bool;
    if (s == "float16" || s == "half") return DType::Float16;
    if (s == "bfloat16") return DType::BFloat16;
    if (s == "int8") return DType::Int8;
    if (s == "int16") return DType::Int16;
    if (s == "uint8") return DType::UInt8;
    if (s == "uint16") return DType::UInt16;
    if (s == "uint32") return DType::UInt32;
    if (s == "uint64") return DType::UInt64;
    if (s == "complex64" || s == "complex128")
      throw TypeError_("dtype '" + s + "' is not supported: gradtape has no complex dtypes");
    throw TypeError_("unknown dtype '" + s + "'");
  }
  if (h.ptr() == reinterpret_cast<PyObject*>(&PyFloat_Type)) return DType::Float32;
  if (h.ptr() == reinterpret_cast<PyObject*>(&PyLong_Type)) return DType::Int32;
  if (h.ptr() == reinterpret_cast<PyObject*>(&PyBool_Type)) return DType::Bool;
  try {
    return dtype_from_numpy(py::dtype::from_args(py::reinterpret_borrow<py::object>(h)));
  } catch (py::error_already_set&) {
    throw TypeError_("cannot interpret " + std::string(py::repr(h)) + " as a dtype");
  }
}

namespace {
// The Python types of Tensor and Variable, looked up once (py::isinstance<T> searches
// pybind11's type registry on every call, which is a large share of a scalar op's cost).
PyTypeObject* tensor_type() {
  static PyTypeObject* t = reinterpret_cast<PyTypeObject*>(py::type::of<TensorImpl>().ptr());
  return t;
}
PyTypeObject* variable_type() {
  static PyTypeObject* t = reinterpret_cast<PyTypeObject*>(py::type::of<Variable>().ptr());
  return t;
}
}  // namespace

bool is_tensor(py::handle h) { return Py_TYPE(h.ptr()) == tensor_type() || PyObject_TypeCheck(h.ptr(), tensor_type()); }
bool is_variable(py::handle h) {
  return Py_TYPE(h.ptr()) == variable_type() || PyObject_TypeCheck(h.ptr(), variable_type());
}

bool is_tensor_like(py::handle h) { return is_tensor(h) || is_variable(h); }

Variable& variable_ref(py::handle h) {
  return py::detail::initialised_only_caster<Variable>::initialised(h);
}

namespace {
// A nested list of Python ints only, one of which is outside int64: NumPy would make it float64
// (or uint64, or object) and lose the value; TensorFlow refuses it. A list that holds a float is
// a float list and converts as one.
void check_python_ints_fit(py::handle h) {
  py::object too_big;
  bool any_float = false;
  std::vector<py::handle> todo{h};
  while (!todo.empty() && !any_float) {
    py::handle x = todo.back();
    todo.pop_back();
    if (PyList_Check(x.ptr()) || PyTuple_Check(x.ptr())) {
      for (py::handle item : x) todo.push_back(item);
    } else if (PyLong_Check(x.ptr()) && !PyBool_Check(x.ptr())) {
      int overflow = 0;
      PyLong_AsLongLongAndOverflow(x.ptr(), &overflow);
      if (overflow && !too_big) too_big = py::reinterpret_borrow<py::object>(x);
    } else {
      any_float = true;
    }
  }
  if (too_big && !any_float)
    throw ValueError_("cannot convert a list holding the integer " + std::string(py::repr(too_big)) +
                      " to a tensor: it is out of the int64 range");
}
}  // namespace

namespace {
Tensor from_python_value(py::handle h, std::optional<DType> hint, std::optional<DType> dtype);

// Whether a nested list holds Python ints only.
bool all_python_ints(py::handle h) {
  std::vector<py::handle> todo{h};
  while (!todo.empty()) {
    py::handle x = todo.back();
    todo.pop_back();
    if (PyList_Check(x.ptr()) || PyTuple_Check(x.ptr())) {
      for (py::handle item : x) todo.push_back(item);
    } else if (!PyLong_Check(x.ptr()) || PyBool_Check(x.ptr())) {
      return false;
    }
  }
  return true;
}

// Whether a (nested) list or tuple holds a tensor or a variable among its leaves. (Every list
// converted is walked: Python numbers, the usual leaves, take one type test each.)
bool holds_tensor(py::handle h) {
  std::vector<PyObject*> todo{h.ptr()};
  while (!todo.empty()) {
    PyObject* x = todo.back();
    todo.pop_back();
    if (PyList_Check(x)) {
      for (Py_ssize_t i = 0, n = PyList_GET_SIZE(x); i < n; ++i) {
        PyObject* item = PyList_GET_ITEM(x, i);
        if (!PyFloat_CheckExact(item) && !PyLong_CheckExact(item)) todo.push_back(item);
      }
    } else if (PyTuple_Check(x)) {
      for (Py_ssize_t i = 0, n = PyTuple_GET_SIZE(x); i < n; ++i) {
        PyObject* item = PyTuple_GET_ITEM(x, i);
        if (!PyFloat_CheckExact(item) && !PyLong_CheckExact(item)) todo.push_back(item);
      }
    } else if (is_tensor(x) || is_variable(x)) {
      return true;
    }
  }
  return false;
}

// The dtype of the first tensor or variable of a nested list, depth first.
DType first_tensor_dtype(py::handle h) {
  if (PyList_Check(h.ptr()) || PyTuple_Check(h.ptr())) {
    for (py::handle item : h)
      if (holds_tensor(item)) return first_tensor_dtype(item);
  }
  return to_tensor(h).dtype();
}

// A nested list holding tensors, packed into one tensor of dtype d with stack, as TensorFlow
// packs it (tf.convert_to_tensor's autopacking): the stack (and a cast, for a dtype asked for)
// are ops, so under gt.function they are steps and a traced element's value is the call's. A
// tensor of another dtype than d is refused unless the dtype was asked for (then cast, as
// TensorFlow does); Python numbers convert to d (2.5 for an int32 tensor is a TypeError).
Tensor pack_nested(py::handle h, DType d, bool cast_tensors) {
  if (PyList_Check(h.ptr()) || PyTuple_Check(h.ptr())) {
    if (!holds_tensor(h)) return to_tensor(h, std::nullopt, d);
    std::vector<Tensor> parts;
    for (py::handle item : h) parts.push_back(pack_nested(item, d, cast_tensors));
    for (size_t i = 1; i < parts.size(); ++i)
      if (!(parts[i].shape() == parts[0].shape())) {
        const std::string msg = "cannot pack the list into a tensor: its elements have shapes " + parts[0].shape().str() +
                                " and " + parts[i].shape().str() + " (they must all have one shape)";
        if (active_recorder()) throw ValueError_(msg);  // (tf.function: the static shape check, ValueError)
        throw InvalidArgument(msg);
      }
    return traced("stack", &stack, parts, int64_t(0));
  }
  if (is_tensor(h) || is_variable(h)) {
    Tensor t = to_tensor(h);
    if (t.dtype() == d) return t;
    if (cast_tensors) return traced("cast", &cast, t, d);
    const std::string msg = std::string("cannot convert a list holding a tensor of dtype ") + dtype_name(t.dtype()) +
                            " to a tensor of dtype " + dtype_name(d) + " (the list's first tensor's dtype); use gt.cast";
    if (active_recorder()) throw TypeError_(msg);  // (TensorFlow: TypeError when it traces, Pack's error eagerly)
    throw InvalidArgument(msg);
  }
  return to_tensor(h, std::nullopt, d);
}
}  // namespace

Tensor to_tensor(py::handle h, std::optional<DType> hint, std::optional<DType> dtype) {
  if (is_tensor(h)) {
    Tensor t(h.cast<std::shared_ptr<TensorImpl>>());
    if (dtype && *dtype != t.dtype())
      throw ValueError_(std::string("tensor of dtype ") + dtype_name(t.dtype()) +
                        " cannot be converted to requested dtype " + dtype_name(*dtype) + " (use gt.cast)");
    return t;
  }
  if (is_variable(h)) {
    Variable& v = variable_ref(h);
    Tensor t = v.read();
    if (dtype && *dtype != t.dtype())
      throw ValueError_(std::string("variable of dtype ") + dtype_name(t.dtype()) +
                        " cannot be converted to requested dtype " + dtype_name(*dtype) + " (use gt.cast)");
    if (ProgramRecorder* r = active_recorder()) return r->read_variable(v.shared_from_this(), t);
    return t;
  }
  if ((PyList_Check(h.ptr()) || PyTuple_Check(h.ptr())) && holds_tensor(h)) {
    // (the other operand's dtype, as TensorFlow's binary ops ask for it: x + [[i, 0]])
    std::optional<DType> want = dtype ? dtype : hint;
    return pack_nested(h, want ? *want : first_tensor_dtype(h), want.has_value());
  }
  Tensor t = from_python_value(h, hint, dtype);
  if (ProgramRecorder* r = active_recorder()) r->constant(t);  // a Python value: a constant of the trace
  return t;
}

Tensor to_tensor_unpacked(py::handle h, std::optional<DType> dtype) {
  if (is_tensor(h) || is_variable(h) || !(PyList_Check(h.ptr()) || PyTuple_Check(h.ptr())))
    return to_tensor(h, std::nullopt, dtype);
  Tensor t = from_python_value(h, std::nullopt, dtype);
  if (ProgramRecorder* r = active_recorder()) r->constant(t);
  return t;
}

Tensor variable_snapshot(py::handle v, std::optional<DType> dtype) {
  Tensor t = to_tensor(v, std::nullopt, dtype);
  if (!is_variable(v) || active_recorder()) return t;  // (a traced read is a fresh tensor already)
  return reshape(t, t.shape().vec());
}

thread_local int tls_in_host_callback = 0;

bool holds_traced_value(py::handle h, const ProgramRecorder& r) {
  if (is_tensor_like(h)) return r.traced_value(to_tensor(h));
  if (py::isinstance<py::list>(h) || py::isinstance<py::tuple>(h))
    for (py::handle item : h)
      if (holds_traced_value(item, r)) return true;
  return false;
}

void check_readable(const Tensor& t, const char* what) {
  ProgramRecorder* r = active_recorder();
  // (a size computed from shapes is readable: the read guards those shapes, as x.shape[0] does)
  if (r && tls_in_host_callback == 0 && r->traced_value(t) && !r->read_size(t))
    throw NotTraceable(std::string(what) + " of a tensor computed inside a gt.function: while tracing, a tensor "
                       "computed from the function's inputs or variables has no value Python can use (a program "
                       "traced with one value would give wrong answers for the next). Use gt.cond / gt.while_loop "
                       "for control flow on tensors, gt.print to print them, and return values to read them; or run "
                       "the function eagerly with gt.config.run_functions_eagerly(True) (docs/guides/function.md)");
}

namespace {
Tensor from_python_value(py::handle h, std::optional<DType> hint, std::optional<DType> dtype) {
  PyObject* o = h.ptr();
  if (h.is_none()) throw ValueError_("cannot convert None to a tensor");
  // Python scalars: the fast path of `x * 2.0`.
  if (PyBool_Check(o)) {  // (the other operand's dtype, as TensorFlow: x * True is x * 1.0)
    DType d = dtype ? *dtype : hint.value_or(DType::Bool);
    return scalar(o == Py_True ? 1.0 : 0.0, d);
  }
  if (PyFloat_CheckExact(o)) {  // (NumPy's float64 subclasses float: it takes the NumPy path)
    double v = PyFloat_AS_DOUBLE(o);
    if (!dtype && hint && !is_floating(*hint))
      throw TypeError_("cannot convert " + std::string(py::repr(h)) + " to a tensor of dtype " + dtype_name(*hint) +
                       " (the other operand's dtype)");
    DType d = dtype ? *dtype : (hint ? *hint : DType::Float32);
    if (!is_floating(d)) {
      if (d == DType::Bool || std::floor(v) != v)
        throw TypeError_("cannot convert " + std::string(py::repr(h)) + " to a tensor of dtype " + dtype_name(d));
    }
    return scalar(v, d);
  }
  if (PyLong_CheckExact(o)) {
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
    if (overflow > 0 && (dtype ? *dtype : hint.value_or(DType::Int64)) == DType::UInt64) {
      const unsigned long long u = PyLong_AsUnsignedLongLong(o);  // past int64: a uint64 only
      if (u == static_cast<unsigned long long>(-1) && PyErr_Occurred()) {
        PyErr_Clear();
        throw ValueError_("integer " + std::string(py::repr(h)) + " is out of the uint64 range");
      }
      Tensor t = Tensor::empty(DType::UInt64, Shape());
      t.data<uint64_t>()[0] = u;
      return t;
    }
    if (overflow) throw ValueError_("integer " + std::string(py::repr(h)) + " is out of the int64 range");
    DType d;
    if (dtype) d = *dtype;
    else if (hint && *hint != DType::Bool) d = *hint;
    else d = (v >= std::numeric_limits<int32_t>::min() && v <= std::numeric_limits<int32_t>::max()) ? DType::Int32 : DType::Int64;
    if (d == DType::Bool)
      throw TypeError_("cannot convert " + std::string(py::repr(h)) + " to a tensor of dtype bool");
    if (d == DType::Int32 && (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max()))
      throw ValueError_("integer " + std::to_string(v) + " is out of the int32 range");
    if (d == DType::Int64) {
      Tensor t = Tensor::empty(DType::Int64, Shape());
      t.data<int64_t>()[0] = v;
      return t;
    }
    if (is_integer(d) && d != DType::Int32) {
      // the low bits, as TensorFlow converts a Python int to a narrower integer dtype
      // (tf.constant(300, tf.uint8) is 44, -1 is 255)
      Tensor t = Tensor::empty(DType::Int64, Shape());
      t.data<int64_t>()[0] = v;
      return cast(t, d);
    }
    return scalar(double(v), d);
  }
  // NumPy arrays, NumPy scalars, nested lists and tuples, objects with __array__.
  const bool is_ndarray = py::isinstance<py::array>(h);
  const bool is_numpy_scalar = py::isinstance(h, numpy().attr("generic"));
  py::array arr;
  try {
    arr = numpy().attr("asarray")(h);
  } catch (py::error_already_set& e) {
    // (a ragged list is NumPy's ValueError, as it is TensorFlow's)
    const std::string msg = "cannot convert " + std::string(py::str(py::type::of(h).attr("__name__"))) +
                            " to a tensor: " + e.what();
    if (e.matches(PyExc_ValueError)) throw ValueError_(msg);
    throw TypeError_(msg);
  }
  if (!is_ndarray && !is_numpy_scalar) {
    const char kind = arr.dtype().kind();
    // (a float list is walked only when it holds a value past int64, which an int list had to)
    const bool uint64_wanted = (dtype ? *dtype : hint.value_or(DType::Int64)) == DType::UInt64;
    if (uint64_wanted && (kind == 'f' || kind == 'O') && all_python_ints(h)) {
      // ints past int64 for a uint64 tensor: NumPy made them floats (or objects)
      try {
        arr = numpy().attr("asarray")(h, py::arg("dtype") = "uint64");
      } catch (py::error_already_set& e) {
        throw ValueError_(std::string("cannot convert the list to a uint64 tensor: ") + e.what());
      }
    } else if (kind == 'O' || (kind == 'u' && !uint64_wanted) ||
        (kind == 'f' && arr.size() && numpy().attr("max")(numpy().attr("abs")(arr)).cast<double>() >= 9.2e18))
      check_python_ints_fit(h);
  }
  // An object of no tensor type (None, a dict, a list mixing numbers with other things) is
  // TensorFlow's ValueError; a string would be a string tensor there, which gradtape has not.
  if (arr.dtype().kind() == 'O')
    throw ValueError_("cannot convert " + std::string(py::repr(h)).substr(0, 80) + " (of type " +
                      std::string(py::str(py::type::of(h).attr("__name__"))) + ") to a tensor");
  if (arr.dtype().kind() == 'U' || arr.dtype().kind() == 'S')
    throw TypeError_("cannot convert " + std::string(py::repr(h)).substr(0, 80) + " to a tensor (gradtape has no string tensors)");
  if (arr.ndim() > kMaxRank)
    throw InvalidArgument("rank " + std::to_string(arr.ndim()) + " exceeds the maximum rank " + std::to_string(kMaxRank));
  DType src = dtype_from_numpy(arr.dtype());
  DType target;
  if (dtype) {
    target = *dtype;
  } else if (is_ndarray || is_numpy_scalar) {
    // NumPy values keep their dtype, except as the operand of a float tensor, whose dtype
    // they take (TensorFlow converts the other operand to the tensor's dtype)
    target = (hint && is_floating(*hint) && is_floating(src)) ? *hint : src;
  } else {
    // Python lists: floats are float32, ints int32 (int64 when they do not fit)
    if (src == DType::Float64) target = (hint && is_floating(*hint)) ? *hint : DType::Float32;
    else if (src == DType::Int64) {
      target = hint && is_integer(*hint) ? *hint : DType::Int32;
      if (hint && is_floating(*hint)) target = *hint;
      if (target == DType::Int32) {
        py::object mx = numpy().attr("max")(arr), mn = numpy().attr("min")(arr);
        if (arr.size() && (mx.cast<long long>() > std::numeric_limits<int32_t>::max() ||
                           mn.cast<long long>() < std::numeric_limits<int32_t>::min()))
          target = DType::Int64;
      }
    } else target = src;
  }
  return from_array(arr, target);
}

}  // namespace

std::pair<Tensor, Tensor> to_tensor_pair(py::handle a, py::handle b) {
  if (is_tensor_like(a) || !is_tensor_like(b)) {
    Tensor ta = to_tensor(a);
    return {ta, to_tensor(b, ta.dtype())};
  }
  Tensor tb = to_tensor(b);
  return {to_tensor(a, tb.dtype()), tb};
}

py::array to_numpy(const Tensor& t) {
  // (NumPy names every dtype as gradtape does, but bfloat16, which is ml_dtypes')
  py::dtype np_dtype = t.dtype() == DType::BFloat16 ? bfloat16_numpy_dtype() : py::dtype(dtype_name(t.dtype()));
  std::vector<py::ssize_t> shape(t.shape().data(), t.shape().data() + t.ndim());
  std::vector<py::ssize_t> strides(size_t(t.ndim()));
  int64_t st[kMaxRank];
  contiguous_strides(t.shape(), st);
  for (int i = 0; i < t.ndim(); ++i) strides[size_t(i)] = st[i] * py::ssize_t(dtype_size(t.dtype()));
  // The capsule owns one reference to the storage: the view keeps the data alive.
  check_readable(t, "the value");
  if (t.get()->deferred.load()) without_gil([&] { t.raw(); return Tensor(); });  // compute it first
  void* data = t.raw();
  Storage* s = t.impl()->storage.get();
  s->retain();
  py::capsule owner(s, [](void* p) { static_cast<Storage*>(p)->release(); });
  py::array arr(np_dtype, shape, strides, data, owner);
  py::detail::array_proxy(arr.ptr())->flags &= ~py::detail::npy_api::NPY_ARRAY_WRITEABLE_;
  return arr;
}

int64_t int_from_py(py::handle h, const char* what) {
  const bool python_int = PyLong_Check(h.ptr()) && !PyBool_Check(h.ptr());
  if (python_int || py::isinstance(h, numpy().attr("integer"))) {
    int overflow = 0;
    py::object as_int = python_int ? py::reinterpret_borrow<py::object>(h) : py::reinterpret_steal<py::object>(PyNumber_Index(h.ptr()));
    if (!as_int) throw py::error_already_set();
    long long v = PyLong_AsLongLongAndOverflow(as_int.ptr(), &overflow);
    if (overflow) throw InvalidArgument(std::string(what) + ": " + std::string(py::repr(h)) + " is out of the int64 range");
    return v;
  }
  if (is_tensor_like(h)) {
    Tensor t = to_tensor(h);
    check_readable(t, what);
    if (is_integer(t.dtype()) && t.numel() == 1) return load_int(t.raw(), t.dtype(), 0);
  }
  throw TypeError_(std::string(what) + " must be an integer, got " + std::string(py::repr(h)).substr(0, 80));
}

std::vector<int64_t> ints_from_py(py::handle h, const char* what) {
  std::vector<int64_t> v;
  if (is_tensor_like(h) || py::isinstance<py::array>(h)) {
    Tensor t = to_tensor(h);
    if (!is_integer(t.dtype()))
      throw TypeError_(std::string(what) + " must be integers, got a tensor of dtype " + dtype_name(t.dtype()));
    check_readable(t, what);
    for (int64_t i = 0; i < t.numel(); ++i)
      v.push_back(load_int(t.raw(), t.dtype(), i));
    return v;
  }
  if (PyLong_Check(h.ptr()) && !PyBool_Check(h.ptr())) return {int_from_py(h, what)};
  if (py::isinstance<py::sequence>(h) && !py::isinstance<py::str>(h)) {
    for (py::handle item : h) {
      // (a scalar integer tensor among the ints: TensorFlow packs the list into a tensor; its
      // value is read, so inside gt.function a traced one is refused by check_readable)
      const bool int_scalar_tensor = is_tensor_like(item) && [&] {
        Tensor t = to_tensor(item);
        return is_integer(t.dtype()) && t.ndim() == 0;
      }();
      if (!int_scalar_tensor && !PyLong_Check(item.ptr()) && !py::isinstance(item, numpy().attr("integer")))
        throw TypeError_(std::string(what) + " must be integers, got " + std::string(py::repr(item)));
      v.push_back(int_from_py(item, what));
    }
    return v;
  }
  throw TypeError_(std::string(what) + " must be an int or a list of ints, got " + std::string(py::repr(h)));
}

Axes axes_from_py(py::handle h) {
  if (h.is_none()) return std::nullopt;
  return ints_from_py(h, "axis");
}

void drop_reference(py::object& o) {
#if PY_VERSION_HEX >= 0x030D0000
  const bool finalizing = Py_IsFinalizing();
#else
  const bool finalizing = _Py_IsFinalizing();
#endif
  if (!Py_IsInitialized() || finalizing) {
    o.release();
    return;
  }
  py::gil_scoped_acquire gil;
  o = py::object();
}

py::object wrap(const Tensor& t) {
  if (!t.defined()) return py::none();
  return py::cast(t.impl());
}

}  // namespace gt::py_bind
