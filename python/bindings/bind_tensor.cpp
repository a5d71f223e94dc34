// gradtape.Tensor, gradtape.Variable and gradtape.DType: properties, NumPy interop, reprs,
// operators and basic indexing. Tensors are bound C++ objects (no conversion per op).
#include <pybind11/stl.h>

#include <limits>
#ifdef __GLIBCXX__
#include <cxxabi.h>
#endif
#include <sstream>

#include "convert.h"
#include "gradtape/steps.h"

namespace gt::py_bind {

namespace {

using TensorPtr = std::shared_ptr<TensorImpl>;

using BinaryOp = Tensor (*)(const Tensor&, const Tensor&);

template <BinaryOp F>
py::object binary(py::handle a, py::handle b) {
  auto [ta, tb] = to_tensor_pair(a, b);
  return wrap(traced("operator", F, ta, tb));
}
template <BinaryOp F>
py::object rbinary(py::handle a, py::handle b) {
  auto [tb, ta] = to_tensor_pair(b, a);
  return wrap(traced("operator", F, tb, ta));
}

using steps::assign_add_variable;  // (gradtape/steps.h: steps a saved program runs without Python)
using steps::assign_sub_variable;
using steps::assign_variable;
using steps::matmul2;
using steps::truediv;
// Whether t is a tracing value of gt.function (its repr then shows no value).
bool traced_now(const Tensor& t) {
  ProgramRecorder* r = active_recorder();
  return r && r->traced_value(t);
}

// The values for printing: a bfloat16 tensor prints without ml_dtypes too (as float32 values;
// only .numpy() needs ml_dtypes' bfloat16 dtype).
py::array display_array(const Tensor& t) {
  if (t.dtype() == DType::BFloat16) {
    try {
      return to_numpy(t);
    } catch (py::import_error&) {  // (convert.cpp: no ml_dtypes)
      return to_numpy(cast(t, DType::Float32));
    }
  }
  return to_numpy(t);
}

std::string numpy_text(const Tensor& t) {
  py::array arr = display_array(t);
  if (t.ndim() == 0) return py::str(arr[py::tuple()]);
  return py::repr(arr);
}

// Basic indexing: ints, slices, None, Ellipsis (and tuples of them); a bool mask.
Tensor getitem(const Tensor& x, py::handle key) {
  if (is_tensor_like(key) || py::isinstance<py::array>(key) || py::isinstance<py::list>(key)) {
    Tensor k = to_tensor(key);
    if (k.dtype() == DType::Bool) return traced_shape_checked("boolean_mask", &boolean_mask, x, k, std::optional<int64_t>());
    // a scalar int32/int64 tensor is an int index, as in TensorFlow (handled below)
    if (!(is_tensor_like(key) && is_integer(k.dtype()) && k.ndim() == 0))
      throw TypeError_("only integers, slices (`:`), ellipsis (`...`), None, scalar int32/int64 tensors and boolean "
                       "masks are valid indices, got a tensor of shape " + k.shape().str() + " and dtype " +
                       dtype_name(k.dtype()));
  }
  std::vector<py::handle> items;
  if (py::isinstance<py::tuple>(key)) {
    for (py::handle k : key) items.push_back(k);
  } else {
    items.push_back(key);
  }
  const int rank = x.ndim();
  int consumed = 0, ellipses = 0;
  // A Python bool adds an axis as None does (NumPy and TensorFlow): of length 1 for True and
  // 0 for False. (bool is an int subclass: it must be told apart before the int case.)
  for (py::handle k : items) {
    if (k.ptr() == Py_Ellipsis) ++ellipses;
    else if (!k.is_none() && !PyBool_Check(k.ptr())) ++consumed;
  }
  if (ellipses > 1) throw InvalidArgument("an index can only have a single ellipsis ('...')");
  if (consumed > rank)
    throw InvalidArgument("too many indices for a tensor of shape " + x.shape().str() + ": " +
                          std::to_string(consumed) + " given");
  // The key as written, one part per item (an Ellipsis as the whole dimensions it stands for):
  // resolved against x's shape by the step when it runs, so that no size of x becomes a fixed
  // argument of the program and no dimension of x is read (docs/guides/function.md, "One
  // program for all sizes"). Only the rank is used here.
  std::vector<int64_t> kinds, begin, end, step;
  auto part = [&](int64_t kind, int64_t b, int64_t e, int64_t s) {
    kinds.push_back(kind);
    begin.push_back(b);
    end.push_back(e);
    step.push_back(s);
  };
  for (py::handle k : items) {
    if (k.ptr() == Py_Ellipsis) {
      for (int i = 0; i < rank - consumed; ++i) part(steps::kSlice, 0, std::numeric_limits<Py_ssize_t>::max(), 1);
    } else if (k.is_none() || k.ptr() == Py_True) {
      part(steps::kNewAxis, 0, 0, 1);
    } else if (k.ptr() == Py_False) {
      part(steps::kFalseAxis, 0, 0, 1);
    } else if (PySlice_Check(k.ptr())) {
      Py_ssize_t b, e, s;
      if (PySlice_Unpack(k.ptr(), &b, &e, &s) < 0) {
        if (!PyErr_ExceptionMatches(PyExc_ValueError)) throw py::error_already_set();
        PyErr_Clear();  // a zero step: TensorFlow's strided slice kernel refuses it
        throw InvalidArgument("slice step cannot be zero");
      }
      part(steps::kSlice, b, e, s);
    } else if (PyLong_Check(k.ptr()) || PyIndex_Check(k.ptr())) {
      part(steps::kIndex, int_from_py(k, "index"), 0, 1);
    } else {
      throw TypeError_("only integers, slices (`:`), ellipsis (`...`), None and boolean masks are valid indices, got " +
                       std::string(py::repr(k)));
    }
  }
  return traced("getitem", &steps::getitem, x, kinds, begin, end, step);
}

template <class Cls>
void add_operators(Cls& cls) {
  cls.def("__add__", &binary<add>, py::is_operator())
      .def("__radd__", &rbinary<add>, py::is_operator())
      .def("__sub__", &binary<subtract>, py::is_operator())
      .def("__rsub__", &rbinary<subtract>, py::is_operator())
      .def("__mul__", &binary<multiply>, py::is_operator())
      .def("__rmul__", &rbinary<multiply>, py::is_operator())
      .def("__truediv__", &binary<truediv>, py::is_operator())
      .def("__rtruediv__", &rbinary<truediv>, py::is_operator())
      .def("__floordiv__", &binary<floordiv>, py::is_operator())
      .def("__rfloordiv__", &rbinary<floordiv>, py::is_operator())
      .def("__mod__", &binary<floormod>, py::is_operator())
      .def("__rmod__", &rbinary<floormod>, py::is_operator())
      .def("__pow__", &binary<pow>, py::is_operator())
      .def("__rpow__", &rbinary<pow>, py::is_operator())
      .def("__matmul__", &binary<matmul2>, py::is_operator())
      .def("__rmatmul__", &rbinary<matmul2>, py::is_operator())
      .def("__lt__", &binary<less>, py::is_operator())
      .def("__le__", &binary<less_equal>, py::is_operator())
      .def("__gt__", &binary<greater>, py::is_operator())
      .def("__ge__", &binary<greater_equal>, py::is_operator())
      .def("__and__", &binary<logical_and>, py::is_operator())
      .def("__rand__", &rbinary<logical_and>, py::is_operator())
      .def("__or__", &binary<logical_or>, py::is_operator())
      .def("__ror__", &rbinary<logical_or>, py::is_operator())
      .def("__eq__", [](py::handle a, py::handle b) -> py::object {
        if (b.is_none()) return py::bool_(false);
        return binary<equal>(a, b);
      }, py::is_operator())
      .def("__ne__", [](py::handle a, py::handle b) -> py::object {
        if (b.is_none()) return py::bool_(true);
        return binary<not_equal>(a, b);
      }, py::is_operator())
      .def("__neg__", [](py::handle a) { return wrap(traced("negative", &negative, to_tensor(a))); })
      .def("__pos__", [](py::handle a) { return wrap(to_tensor(a)); })
      .def("__abs__", [](py::handle a) { return wrap(traced("abs", static_cast<Tensor (*)(const Tensor&)>(&gt::abs), to_tensor(a))); })
      .def("__invert__", [](py::handle a) { return wrap(traced("logical_not", &logical_not, to_tensor(a))); })
      .def("__getitem__", [](py::handle a, py::handle key) { return wrap(getitem(to_tensor(a), key)); })
      .def("__array__", [](py::handle a, py::object dtype, py::object copy) -> py::object {
        Tensor t = to_tensor(a);
        note_left_tape(t);
        py::array arr = to_numpy(t);
        if (!dtype.is_none()) return arr.attr("astype")(dtype);
        if (!copy.is_none() && copy.cast<bool>()) return arr.attr("copy")();
        return std::move(arr);
      }, py::arg("dtype") = py::none(), py::arg("copy") = py::none())
      .def("__float__", [](py::handle a) {
        Tensor t = to_tensor(a);
        if (t.numel() != 1) throw TypeError_("only one-element tensors can be converted to Python scalars");
        check_readable(t, "float()");
        note_left_tape(t);
        return t.item();
      })
      .def("__int__", [](py::handle a) {
        Tensor t = to_tensor(a);
        if (t.numel() != 1) throw TypeError_("only one-element tensors can be converted to Python scalars");
        check_readable(t, "int()");
        note_left_tape(t);
        // integers exactly (an int64 through a double loses everything past 2**53)
        if (t.dtype() == DType::UInt64) return py::int_(t.data<uint64_t>()[0]);
        if (is_integer(t.dtype()) || t.dtype() == DType::Bool) return py::int_(load_int(t.raw(), t.dtype(), 0));
        return py::int_(py::reinterpret_steal<py::object>(PyNumber_Long(py::float_(t.item()).ptr())));
      })
      .def("__index__", [](py::handle a) {
        Tensor t = to_tensor(a);
        // a scalar only, as NumPy's and TensorFlow's __index__ (a shape-[1] tensor given as an
        // op's count, such as num_segments, is an error there)
        if (!is_integer(t.dtype()) || t.ndim() != 0)
          throw TypeError_("only integer scalar tensors can be converted to a scalar index");
        check_readable(t, "Using a tensor as an index (__index__)");
        if (t.dtype() == DType::UInt64) return py::int_(t.data<uint64_t>()[0]);
        return py::int_(load_int(t.raw(), t.dtype(), 0));
      })
      .def("__bool__", [](py::handle a) {
        Tensor t = to_tensor(a);
        if (t.numel() != 1)
          throw ValueError_("The truth value of a tensor with " + std::to_string(t.numel()) +
                            " elements is ambiguous. Use gt.reduce_any or gt.reduce_all");
        check_readable(t, "Using a tensor as a Python bool (an `if`, `while`, `and`, `or` or `not` on it)");
        return t.item() != 0;
      })
      .def("__len__", [](py::handle a) {
        Tensor t = to_tensor(a);
        if (t.ndim() == 0) throw TypeError_("Scalar tensor has no `len()`");
        note_shape_read(t, 0);
        return t.shape()[0];
      })
      .def("numpy", [](py::handle a) {
        Tensor t = to_tensor(a);
        note_left_tape(t);
        return to_numpy(t);
      }, "The values as a NumPy array (a NumPy scalar for a 0-d tensor).\n\n"
         ">>> gt.constant([1, 2]).numpy()\narray([1, 2], dtype=int32)\n")
      .def_property_readonly("ndim", [](py::handle a) { return to_tensor(a).ndim(); }, "The number of dimensions.")
      .def("get_shape", [](py::handle a) { return tensor_shape_to_py(to_tensor(a)); },
           "The shape, as `.shape`.\n\n>>> gt.zeros([2, 3]).get_shape()\nTensorShape([2, 3])\n")
      .def_property_readonly("device", [](py::handle) { return "/job:localhost/replica:0/task:0/device:CPU:0"; },
                             "The device name (always the CPU, in TensorFlow's form).")
      .def_property_readonly_static("__array_priority__", [](py::handle) { return 100; });
  cls.attr("__hash__") = py::none();
}

// DType.min / DType.max, as TensorFlow: the finite extremes of a floating dtype (a Python float),
// the range of an integer one (a Python int).
py::object dtype_limit(DType d, bool max) {
  switch (d) {
    case DType::Float16: return py::float_(max ? 65504.0 : -65504.0);
    case DType::BFloat16: return py::float_(max ? 3.3895313892515355e38 : -3.3895313892515355e38);
    case DType::Float32: return py::float_(max ? double(std::numeric_limits<float>::max()) : -double(std::numeric_limits<float>::max()));
    case DType::Float64: return py::float_(max ? std::numeric_limits<double>::max() : -std::numeric_limits<double>::max());
    case DType::Bool: return py::bool_(max);
    case DType::UInt64: return max ? py::int_(std::numeric_limits<uint64_t>::max()) : py::int_(0);
    default:
      return dispatch_all(d, [&](auto tag) -> py::object {
        using T = decltype(tag);
        return py::int_(int64_t(max ? std::numeric_limits<T>::max() : std::numeric_limits<T>::min()));
      });
  }
}

// A value for assign/assign_add/assign_sub, converted to the variable's dtype.
Tensor value_for(const Variable& v, py::handle value) {
  return is_tensor_like(value) ? to_tensor(value, std::nullopt, v.dtype()) : to_tensor(value, v.dtype(), v.dtype());
}

// float(t) of a tensor: the type's nb_float slot itself, so the common case skips CPython's
// lookup of __float__, the bound method and pybind11's dispatch (a third of a scalar step's
// Python cost: bench/README.md, "The call path"). Anything else (a tensor of another size, a
// read while tracing, any error) takes the bound __float__'s slot, which raises as before.
PyObject* (*g_bound_float)(PyObject*) = nullptr;
PyObject* tensor_float(PyObject* self) {
  if (!active_recorder()) {
    try {
      const Tensor t = to_tensor(self);
      if (t.numel() == 1) {
        note_left_tape(t);
        return PyFloat_FromDouble(t.item());
      }
#ifdef __GLIBCXX__
    } catch (abi::__forced_unwind&) {  // (a thread's cancellation goes on, as pybind11 lets it)
      throw;
#endif
    } catch (...) {  // (the bound __float__ below raises the error)
    }
  }
  return g_bound_float(self);
}

}  // namespace

void bind_tensor(py::module_& m) {
  py::enum_<DType> dtype_cls(m, "DType", R"doc(The type of a tensor's elements: gt.float16, gt.bfloat16, gt.float32, gt.float64, gt.int8, gt.int16,
gt.int32, gt.int64, gt.uint8, gt.uint16, gt.uint32, gt.uint64 or gt.bool (docs/dtypes.md).

`gt.DType(n)` takes TensorFlow's enum values (`gt.DType(9)` is int64); `gt.as_dtype` also takes
names and NumPy dtypes.

>>> gt.float32.is_floating, gt.float32.size, gt.float32.name
(True, 4, 'float32')
>>> gt.DType(9)
gt.int64
)doc");
  dtype_cls
      .value("float32", DType::Float32)
      .value("float64", DType::Float64)
      .value("int32", DType::Int32)
      .value("int64", DType::Int64)
      .value("bool", DType::Bool)
      .value("float16", DType::Float16)
      .value("bfloat16", DType::BFloat16)
      .value("int8", DType::Int8)
      .value("int16", DType::Int16)
      .value("uint8", DType::UInt8)
      .value("uint16", DType::UInt16)
      .value("uint32", DType::UInt32)
      .value("uint64", DType::UInt64)
      .def_property_readonly("is_floating", [](DType d) { return is_floating(d); })
      .def_property_readonly("is_integer", [](DType d) { return is_integer(d); })
      .def_property_readonly("is_unsigned", [](DType d) { return is_unsigned(d) || d == DType::Bool; })
      .def_property_readonly("is_complex", [](DType) { return false; })
      .def_property_readonly("is_quantized", [](DType) { return false; })
      .def_property_readonly("is_numpy_compatible", [](DType d) { return d != DType::BFloat16; })
      .def_property_readonly("min", [](DType d) -> py::object { return dtype_limit(d, false); })
      .def_property_readonly("max", [](DType d) -> py::object { return dtype_limit(d, true); })
      .def_property_readonly("limits", [](DType d) {
        if (is_floating(d)) throw ValueError_(std::string("<dtype: '") + dtype_name(d) + "'> does not have defined limits.");
        return py::make_tuple(dtype_limit(d, false), dtype_limit(d, true));
      })
      .def_property_readonly("is_bool", [](DType d) { return d == DType::Bool; })
      .def_property_readonly("size", [](DType d) { return dtype_size(d); })
      .def_property_readonly("as_numpy_dtype", [](DType d) -> py::object {
        if (d == DType::BFloat16) return py::module_::import("ml_dtypes").attr("bfloat16");  // (TensorFlow's too)
        return py::module_::import("numpy").attr(dtype_name(d) == std::string("bool") ? "bool_" : dtype_name(d));
      })
      .def_property_readonly("base_dtype", [](DType d) { return d; })
      .def_property_readonly("as_datatype_enum", [](DType d) { return int(d); })
      .def_property_readonly("name", [](DType d) { return std::string(dtype_name(d)); });
  // gt.DType(n) takes TensorFlow's enum values (DType(9) is int64) and refuses any other
  // number, as tf.DType does, instead of making a DType no op knows (pybind11's enum takes any
  // integer). Prepended, so it runs before enum_'s own constructor.
  dtype_cls.def(py::init([](py::handle v) { return dtype_from_enum_value(v); }), py::arg("type_enum"), py::prepend());
  // Set after enum_ has installed its own: TensorFlow's form, gt.float32.
  dtype_cls.attr("__repr__") = py::cpp_function([](DType d) { return std::string("gt.") + dtype_name(d); },
                                                py::name("__repr__"), py::is_method(dtype_cls));
  dtype_cls.attr("__str__") = py::cpp_function([](DType d) { return std::string("<dtype: '") + dtype_name(d) + "'>"; },
                                               py::name("__str__"), py::is_method(dtype_cls));

  m.def("as_dtype", &dtype_from_py, py::arg("type_value"), R"doc(Converts a DType, a name, or a NumPy dtype or type to a DType.

Args:
  type_value: A `DType`, a string such as "float64", or a NumPy dtype or scalar type.

Returns:
  The `DType`.

>>> gt.as_dtype("float64"), gt.as_dtype(np.int32)
(gt.float64, gt.int32)
)doc");

  py::class_<TensorImpl, TensorPtr> tensor(m, "Tensor", py::dynamic_attr(), R"doc(An immutable n-dimensional array with a dtype and a shape; what every op returns.

Make one with `gt.constant` (or any op); the operators (+ - * / // % ** @, comparisons, & |,
unary - and abs) call the ops, and NumPy converts it with `np.asarray` or `.numpy()`.

>>> x = gt.constant([[1.0, 2.0], [3.0, 4.0]])
>>> x.shape, x.dtype
(TensorShape([2, 2]), gt.float32)
>>> (x @ x + 1.0).numpy()
array([[ 8., 11.],
       [16., 23.]], dtype=float32)
>>> x[1, 0]
<gt.Tensor: shape=(), dtype=float32, numpy=3.0>
)doc");
  tensor
      .def_property_readonly("shape", [](const TensorPtr& t) { return tensor_shape_to_py(Tensor(t)); })
      .def_property_readonly("dtype", [](const TensorImpl& t) { return t.dtype; })
      .def("__repr__", [](const TensorPtr& t) {
        Tensor x(t);
        note_shape_read(x);  // (the text shows the shape)
        if (traced_now(x))
          return "<gt.Tensor (traced): shape=" + x.shape().str() + ", dtype=" + dtype_name(x.dtype()) + ">";
        return "<gt.Tensor: shape=" + x.shape().str() + ", dtype=" + dtype_name(x.dtype()) +
               ", numpy=" + numpy_text(x) + ">";
      })
      .def("__str__", [](const TensorPtr& t) {
        Tensor x(t);
        note_shape_read(x);  // (the text shows the shape)
        if (traced_now(x)) return "gt.Tensor(traced, shape=" + x.shape().str() + ", dtype=" + dtype_name(x.dtype()) + ")";
        py::array arr = display_array(x);
        std::string body = x.ndim() == 0 ? std::string(py::str(arr[py::tuple()])) : std::string(py::str(arr));
        return "gt.Tensor(" + body + ", shape=" + x.shape().str() + ", dtype=" + dtype_name(x.dtype()) + ")";
      });
  add_operators(tensor);
  {  // (a subclass made later inherits the slot; one that defines __float__ gets its own)
    PyTypeObject* tp = reinterpret_cast<PyTypeObject*>(tensor.ptr());
    g_bound_float = tp->tp_as_number->nb_float;
    tp->tp_as_number->nb_float = &tensor_float;
  }

  py::class_<Variable, std::shared_ptr<Variable>> var(m, "Variable", py::dynamic_attr(), R"doc(A mutable tensor: a model's parameter. Tapes watch trainable variables read inside them.

Args:
  initial_value: The first value (a tensor, array, Python value, or a function returning one).
  trainable: If true (the default), tapes watch it automatically.
  name: Its name (TensorFlow adds ":0").
  dtype: The dtype to convert `initial_value` to.

>>> w = gt.Variable(3.0)
>>> with gt.GradientTape() as tape:
...     y = w * w
>>> float(tape.gradient(y, w))
6.0
>>> float(w.assign_add(1.0))
4.0
)doc");
  var.def(py::init([](py::object initial_value, bool trainable, py::object name, py::object dtype) {
             std::optional<DType> d;
             if (!dtype.is_none()) d = dtype_from_py(dtype);
             if (initial_value.is_none()) throw ValueError_("Variable: initial_value must be given");
             if (py::isinstance<py::function>(initial_value)) initial_value = initial_value();
             Tensor init = to_tensor(initial_value, std::nullopt, d);
             std::string n = name.is_none() ? "Variable" : name.cast<std::string>();
             return Variable::make(init, trainable, n);
           }),
           py::arg("initial_value") = py::none(), py::arg("trainable") = true, py::arg("name") = py::none(),
           py::arg("dtype") = py::none())
      .def_property_readonly("shape", [](const Variable& v) { return shape_to_py(v.shape()); })
      // (lambdas taking references, not member pointers: pybind11 checks a reference's object
      // exists, while a member pointer would be called on a null `this` for an object made
      // with __new__ and never initialised)
      .def_property_readonly("dtype", [](const Variable& v) { return v.dtype(); })
      .def_property_readonly("trainable", [](const Variable& v) { return v.trainable(); })
      .def_property_readonly("name", [](const Variable& v) { return v.name() + ":0"; })
      .def("read_value", [](py::handle v) { return wrap(variable_snapshot(v)); },
           "The current value, as a Tensor (recorded as a read by watching tapes).")
      .def("value", [](py::handle v) { return wrap(variable_snapshot(v)); }, "The current value, as a Tensor (as read_value).")
      // The value is converted to the variable's dtype (another dtype is a ValueError, as
      // TensorFlow's conversion); assign() checks the shape first, as TensorFlow does in Python.
      .def("assign", [](std::shared_ptr<Variable> v, py::handle value, py::object, py::object, bool) {
             Tensor t = value_for(*v, value);
             if (t.shape() != v->shape())
               throw ValueError_("Cannot assign value to variable '" + v->name() + ":0': Shape mismatch. The variable shape " +
                                 v->shape().str() + ", and the assigned value shape " + t.shape().str() +
                                 " are incompatible.");
             traced_effect("assign", &assign_variable, v, t);
             return v;
           }, py::arg("value"), py::arg("use_locking") = py::none(), py::arg("name") = py::none(),
           py::arg("read_value") = true,
           "Sets the value (same shape and dtype); returns the variable.\n\n"
           ">>> gt.Variable([1.0, 2.0]).assign([3.0, 4.0]).numpy()\narray([3., 4.], dtype=float32)\n")
      .def("assign_add", [](std::shared_ptr<Variable> v, py::handle value, py::object, py::object, bool) {
             traced_effect("assign_add", &assign_add_variable, v, value_for(*v, value));
             return v;
           }, py::arg("delta"), py::arg("use_locking") = py::none(), py::arg("name") = py::none(),
           py::arg("read_value") = true, "Adds delta to the value; returns the variable.")
      .def("assign_sub", [](std::shared_ptr<Variable> v, py::handle value, py::object, py::object, bool) {
             traced_effect("assign_sub", &assign_sub_variable, v, value_for(*v, value));
             return v;
           }, py::arg("delta"), py::arg("use_locking") = py::none(), py::arg("name") = py::none(),
           py::arg("read_value") = true, "Subtracts delta from the value; returns the variable.")
      .def("__repr__", [](const Variable& v) {
        return "<gt.Variable '" + v.name() + ":0' shape=" + v.shape().str() + " dtype=" + dtype_name(v.dtype()) +
               ", numpy=" + numpy_text(v.value()) + ">";
      });
  add_operators(var);

  // `obj.__class__ = gt.Variable` on a Tensor (or the reverse) would make pybind11 read one C++
  // object as the other: both classes get a `__class__` data descriptor that reads as usual and
  // refuses assignment. (Set in the type's dict: assigning it through setattr would retype the
  // class object itself.)
  for (py::handle cls : {py::handle(tensor), py::handle(var)}) {
    py::object prop = py::module_::import("builtins").attr("property")(
        py::cpp_function([](py::handle self) { return py::type::of(self); }),
        py::cpp_function([](py::handle self, py::handle) {
          throw TypeError_(std::string("cannot change the class of a ") + Py_TYPE(self.ptr())->tp_name +
                           " object: its C++ object is of that class");
        }));
    auto* type = reinterpret_cast<PyTypeObject*>(cls.ptr());
    if (PyDict_SetItemString(type->tp_dict, "__class__", prop.ptr()) != 0) throw py::error_already_set();
    PyType_Modified(type);
  }
}

}  // namespace gt::py_bind
