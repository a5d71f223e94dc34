// The ops, with TensorFlow's argument names. Each binding converts its Python arguments and
// calls the core; large kernels run with the GIL released.
#include <pybind11/stl.h>

#include <cmath>
#include <deque>
#include <stdexcept>
#include <string>
#include <limits>

#include "convert.h"

namespace gt::py_bind {

namespace {

using Unary = Tensor (*)(const Tensor&);
using Binary = Tensor (*)(const Tensor&, const Tensor&);

constexpr int64_t kReleaseGilElements = 1 << 16;

template <Unary F>
py::object unary(py::handle x, py::handle /*name*/) {
  Tensor t = to_tensor(x);
  if (t.numel() >= kReleaseGilElements) return wrap(without_gil([&] { return F(t); }));
  return wrap(F(t));
}

template <Binary F>
py::object binary(py::handle x, py::handle y, py::handle /*name*/) {
  auto [a, b] = to_tensor_pair(x, y);
  if (a.numel() + b.numel() >= kReleaseGilElements) return wrap(without_gil([&] { return F(a, b); }));
  return wrap(F(a, b));
}

using Reduce = Tensor (*)(const Tensor&, const Axes&, bool);
template <Reduce F>
py::object reduce(py::handle x, py::handle axis, bool keepdims, py::handle /*name*/) {
  Tensor t = to_tensor(x);
  Axes axes = axes_from_py(axis);
  if (t.numel() >= kReleaseGilElements) return wrap(without_gil([&] { return F(t, axes, keepdims); }));
  return wrap(F(t, axes, keepdims));
}

// ---- manifest-driven bindings ----

// Strings pybind11 keeps pointers to (argument names, docstrings): they live as long as the module.
const char* keep(std::string s) {
  static std::deque<std::string> store;
  return store.emplace_back(std::move(s)).c_str();
}

// A typed parameter list without its types: "(x: TensorLike, name: str | None = None)" gives
// "(x, name=None)" (CPython's __text_signature__ does not take annotations).
std::string untyped(const std::string& params) {
  std::string out = "(";
  size_t start = 1;
  const size_t close = params.rfind(')');
  while (start < close) {
    size_t end = params.find(',', start);
    if (end == std::string::npos || end > close) end = close;
    std::string p = params.substr(start, end - start);
    const size_t colon = p.find(':'), eq = p.find(" = ");
    std::string name = p.substr(0, colon);
    name.erase(0, name.find_first_not_of(' '));
    if (out.size() > 1) out += ", ";
    out += name;
    if (eq != std::string::npos) out += "=" + p.substr(eq + 3);
    start = end + 1;
  }
  return out + ")";
}

// A row's docstring for pybind11: its untyped signature in the form CPython reads as
// __text_signature__ (so help() and inspect.signature show it), then the typed signature and
// the docstring: "name(x, name=None)\n--\n\nname(x: TensorLike, ...) -> Tensor\n\n" + doc.
const char* row_doc(const char* name, const char* sig, const char* doc) {
  const std::string s(sig);
  return keep(std::string(name) + untyped(s.substr(0, s.rfind(')') + 1)) + "\n--\n\n" + name + s + "\n\n" + doc);
}

// The name of a signature's i-th parameter: "(features: TensorLike, ...)" gives "features"
// for i = 0 (atan2's are y and x, as TensorFlow's).
const char* param_name(const char* sig, int i) {
  std::string s(sig);
  size_t start = s.find('(') + 1;
  for (int k = 0; k < i; ++k) start = s.find(',', start) + 1;
  start = s.find_first_not_of(' ', start);
  return keep(s.substr(start, s.find(':', start) - start));
}
const char* first_param(const char* sig) { return param_name(sig, 0); }

const char* doc_for(const char* name) {
  for (const ManifestRow& r : manifest())
    if (std::string(r.name) == name) return row_doc(r.name, r.signature, r.doc);
  throw std::logic_error(std::string("bind_ops: ") + name + " has no row in the op manifest (ops.def)");
}

// A Custom row's hand-written binding, with the row's docstring.
template <class F, class... Extra>
void def_row(py::module_& m, const char* name, F&& f, const Extra&... extra) {
  m.def(name, std::forward<F>(f), extra..., doc_for(name));
}

template <Unary F>
void bind_unary(py::module_& m, const char* name, const char* sig, const char* doc) {
  m.def(name, &unary<F>, py::arg(first_param(sig)), py::arg("name") = py::none(), row_doc(name, sig, doc));
}
template <Binary F>
void bind_binary(py::module_& m, const char* name, const char* sig, const char* doc) {
  m.def(name, &binary<F>, py::arg(param_name(sig, 0)), py::arg(param_name(sig, 1)), py::arg("name") = py::none(),
        row_doc(name, sig, doc));
}
template <Reduce F>
void bind_reduce(py::module_& m, const char* name, const char* sig, const char* doc) {
  m.def(name, &reduce<F>, py::arg("input_tensor"), py::arg("axis") = py::none(), py::arg("keepdims") = false,
        py::arg("name") = py::none(), row_doc(name, sig, doc));
}

std::vector<Tensor> tensor_list(py::handle values) {
  std::vector<Tensor> v;
  if (is_tensor_like(values)) {
    Tensor t = to_tensor(values);
    if (t.ndim() == 0) throw InvalidArgument("expected a list of tensors, got a scalar tensor");
    if (t.shape()[0] > (int64_t(1) << 20))
      throw InvalidArgument("a tensor of shape " + t.shape().str() + " given as a list of tensors would unstack into " +
                            std::to_string(t.shape()[0]) + " tensors; pass a list, or reshape instead");
    for (int64_t i = 0; i < t.shape()[0]; ++i)
      v.push_back(strided_slice(t, [&] { auto b = std::vector<int64_t>(size_t(t.ndim()), 0); b[0] = i; return b; }(),
                                [&] { auto e = t.shape().vec(); e[0] = i + 1; return e; }(),
                                std::vector<int64_t>(size_t(t.ndim()), 1)));
    for (auto& x : v) x = squeeze(x, {0});
    return v;
  }
  // Python scalars in the list take the dtype of the first tensor in it.
  std::optional<DType> hint;
  for (py::handle h : values)
    if (is_tensor_like(h)) {
      hint = to_tensor(h).dtype();
      break;
    }
  for (py::handle h : values) v.push_back(to_tensor(h, hint));
  return v;
}

std::optional<DType> opt_dtype(py::handle h) {
  if (h.is_none()) return std::nullopt;
  return dtype_from_py(h);
}

Shape shape_arg(py::handle h) {
  std::vector<int64_t> dims = ints_from_py(h, "shape");
  return Shape(dims);
}

}  // namespace

void bind_op_table(py::module_& m) {
  m.def("op_table", [] {
    py::list l;
    for (const OpInfo& o : op_table()) l.append(py::make_tuple(o.name, o.differentiable));
    return l;
  }, "The core's primitive ops as (name, has_gradient_rule) pairs.");
  m.def("manifest", [] {
    py::list l;
    for (const ManifestRow& r : manifest())
      l.append(py::make_tuple(r.name, r.kind, r.namespaces, r.signature, r.doc, r.op, r.mask, r.jvp));
    return l;
  }, "The op manifest (gradtape/ops.def): (name, kind, namespaces, signature, doc, op, mask, jvp) rows.");
}

void bind_ops(py::module_& m) {
  py::options options;
  options.disable_function_signatures();  // each docstring opens with its manifest signature
  auto x_ = py::arg("x");
  auto y_ = py::arg("y");
  auto name = py::arg("name") = py::none();

  // The regular families, one binding per manifest row (ops.def).
#define GT_BIND_Unary(fn, sig, doc) bind_unary<&gt::fn>(m, #fn, sig, doc);
#define GT_BIND_Binary(fn, sig, doc) bind_binary<&gt::fn>(m, #fn, sig, doc);
#define GT_BIND_Reduce(fn, sig, doc) bind_reduce<&gt::fn>(m, #fn, sig, doc);
#define GT_BIND_Custom(fn, sig, doc)
#define GT_BIND_Internal(fn, sig, doc)
#define GT_OP(E, fn, kind, mask, jvp, ns, sig, doc) GT_BIND_##kind(fn, sig, doc)
#define GT_FN(fn, kind, ns, sig, doc) GT_BIND_##kind(fn, sig, doc)
#include "gradtape/ops.def"
#undef GT_BIND_Unary
#undef GT_BIND_Binary
#undef GT_BIND_Reduce
#undef GT_BIND_Custom
#undef GT_BIND_Internal

  // The Custom rows: bound by hand (irregular arguments), each with its manifest docstring.
  def_row(m, "identity", [](py::handle x, py::handle) {
    Tensor t = to_tensor(x);
    return wrap(reshape(t, t.shape().vec()));  // a new tensor, recorded, same values
  }, py::arg("input"), name);

  def_row(m, "truediv", &binary<divide>, x_, y_, name);

  def_row(m, "where", [](py::handle cond, py::handle x, py::handle y, py::handle) -> py::object {
    Tensor c = to_tensor(cond);
    if (x.is_none() && y.is_none()) {
      // where(cond): the int64 coordinates of the true elements, [n, rank]
      if (c.dtype() != DType::Bool) c = not_equal(c, zeros_like(c));
      std::vector<int64_t> coords;
      int64_t st[kMaxRank];
      contiguous_strides(c.shape(), st);
      int64_t n = 0;
      for (int64_t i = 0; i < c.numel(); ++i)
        if (c.data<bool>()[i]) {
          int64_t rem = i;
          for (int d = 0; d < c.ndim(); ++d) {
            coords.push_back(rem / st[d]);
            rem %= st[d];
          }
          ++n;
        }
      return wrap(from_data(coords.data(), DType::Int64, Shape{n, int64_t(c.ndim())}));
    }
    if (x.is_none() || y.is_none()) throw InvalidArgument("where: x and y must both be given or both be None");
    auto [a, b] = to_tensor_pair(x, y);
    return wrap(where(c, a, b));
  }, py::arg("condition"), py::arg("x") = py::none(), py::arg("y") = py::none(), name);

  def_row(m, "clip_by_value", [](py::handle t, py::handle lo, py::handle hi, py::handle) {
    Tensor x = to_tensor(t);
    return wrap(clip_by_value(x, to_tensor(lo, x.dtype()), to_tensor(hi, x.dtype())));
  }, py::arg("t"), py::arg("clip_value_min"), py::arg("clip_value_max"), name);

  def_row(m, "cast", [](py::handle x, py::handle dtype, py::handle) {
    DType d = dtype_from_py(dtype);
    Tensor t = is_tensor_like(x) ? to_tensor(x) : to_tensor(x, std::nullopt, std::nullopt);
    return wrap(cast(t, d));
  }, x_, py::arg("dtype"), name);

  auto axis_none = py::arg("axis") = py::none();
  auto keepdims = py::arg("keepdims") = false;
  auto input_tensor = py::arg("input_tensor");
  def_row(m, "reduce_any", [](py::handle x, py::handle axis, bool kd, py::handle) {
    Tensor t = to_tensor(x);
    if (t.dtype() != DType::Bool) throw InvalidArgument("reduce_any: expected a bool tensor, got " + std::string(dtype_name(t.dtype())));
    return wrap(greater(reduce_max(cast(t, DType::Int32), axes_from_py(axis), kd), scalar(0, DType::Int32)));
  }, input_tensor, axis_none, keepdims, name);
  def_row(m, "reduce_all", [](py::handle x, py::handle axis, bool kd, py::handle) {
    Tensor t = to_tensor(x);
    if (t.dtype() != DType::Bool) throw InvalidArgument("reduce_all: expected a bool tensor, got " + std::string(dtype_name(t.dtype())));
    return wrap(greater(reduce_min(cast(t, DType::Int32), axes_from_py(axis), kd), scalar(0, DType::Int32)));
  }, input_tensor, axis_none, keepdims, name);

  def_row(m, "matmul", [](py::handle a, py::handle b, bool ta, bool tb, bool aa, bool ab, py::handle, py::handle, py::handle) {
    auto [x, y] = to_tensor_pair(a, b);
    const bool big = x.numel() + y.numel() >= kReleaseGilElements / 16;
    if (big) return wrap(without_gil([&] { return matmul(x, y, ta || aa, tb || ab); }));
    return wrap(matmul(x, y, ta || aa, tb || ab));
  }, py::arg("a"), py::arg("b"), py::arg("transpose_a") = false, py::arg("transpose_b") = false,
     py::arg("adjoint_a") = false, py::arg("adjoint_b") = false, py::arg("a_is_sparse") = false,
     py::arg("b_is_sparse") = false, name);

  def_row(m, "transpose", [](py::handle a, py::handle perm, bool, py::handle) {
    std::vector<int64_t> p = perm.is_none() ? std::vector<int64_t>{} : ints_from_py(perm, "perm");
    Tensor t = to_tensor(a);
    if (perm.is_none() && t.ndim() == 0) return wrap(reshape(t, {}));
    return wrap(transpose(t, p));
  }, py::arg("a"), py::arg("perm") = py::none(), py::arg("conjugate") = false, name);
  def_row(m, "reshape", [](py::handle t, py::handle shape, py::handle) {
    return wrap(reshape(to_tensor(t), ints_from_py(shape, "shape")));
  }, py::arg("tensor"), py::arg("shape"), name);
  def_row(m, "expand_dims", [](py::handle t, py::handle axis, py::handle) { return wrap(expand_dims(to_tensor(t), int_from_py(axis, "expand_dims: axis"))); },
        py::arg("input"), py::arg("axis"), name);
  def_row(m, "squeeze", [](py::handle t, py::handle axis, py::handle) {
    return wrap(squeeze(to_tensor(t), axis.is_none() ? std::vector<int64_t>{} : ints_from_py(axis, "axis")));
  }, py::arg("input"), axis_none, name);
  def_row(m, "broadcast_to", [](py::handle t, py::handle shape, py::handle) {
    return wrap(broadcast_to(to_tensor(t), shape_arg(shape)));
  }, py::arg("input"), py::arg("shape"), name);
  def_row(m, "concat", [](py::handle values, py::handle axis, py::handle) { return wrap(concat(tensor_list(values), int_from_py(axis, "concat: axis"))); },
        py::arg("values"), py::arg("axis"), name);
  def_row(m, "stack", [](py::handle values, py::handle axis, py::handle) { return wrap(stack(tensor_list(values), int_from_py(axis, "stack: axis"))); },
        py::arg("values"), py::arg("axis") = 0, name);
  def_row(m, "gather", [](py::handle params, py::handle indices, py::handle, py::handle axis, int64_t batch_dims, py::handle) {
    if (batch_dims != 0) throw InvalidArgument("gather: batch_dims other than 0 is not supported");
    return wrap(gather(to_tensor(params), to_tensor(indices), axis.is_none() ? 0 : int_from_py(axis, "gather: axis")));
  }, py::arg("params"), py::arg("indices"), py::arg("validate_indices") = py::none(), axis_none,
     py::arg("batch_dims") = 0, name);
  def_row(m, "boolean_mask", [](py::handle t, py::handle mask, py::handle) {
    return wrap(boolean_mask(to_tensor(t), to_tensor(mask)));
  }, py::arg("tensor"), py::arg("mask"), name);
  def_row(m, "one_hot", [](py::handle indices, py::handle depth_arg, py::handle dtype, py::handle) {
    const int64_t depth = int_from_py(depth_arg, "one_hot: depth");
    return wrap(one_hot(to_tensor(indices), depth, dtype.is_none() ? DType::Float32 : dtype_from_py(dtype)));
  }, py::arg("indices"), py::arg("depth"), py::arg("dtype") = py::none(), name);

  // creation
  def_row(m, "zeros", [](py::handle shape, py::handle dtype, py::handle) {
    return wrap(zeros(shape_arg(shape), opt_dtype(dtype).value_or(DType::Float32)));
  }, py::arg("shape"), py::arg("dtype") = py::none(), name);
  def_row(m, "ones", [](py::handle shape, py::handle dtype, py::handle) {
    return wrap(ones(shape_arg(shape), opt_dtype(dtype).value_or(DType::Float32)));
  }, py::arg("shape"), py::arg("dtype") = py::none(), name);
  def_row(m, "zeros_like", [](py::handle x, py::handle dtype, py::handle) {
    Tensor t = to_tensor(x);
    return wrap(zeros(t.shape(), opt_dtype(dtype).value_or(t.dtype())));
  }, py::arg("input"), py::arg("dtype") = py::none(), name);
  def_row(m, "ones_like", [](py::handle x, py::handle dtype, py::handle) {
    Tensor t = to_tensor(x);
    return wrap(ones(t.shape(), opt_dtype(dtype).value_or(t.dtype())));
  }, py::arg("input"), py::arg("dtype") = py::none(), name);
  def_row(m, "fill", [](py::handle dims, py::handle value, py::handle) {
    Tensor v = to_tensor(value);
    if (v.numel() != 1) throw InvalidArgument("fill: value must be a scalar, got shape " + v.shape().str());
    Shape s = shape_arg(dims);
    if (v.dtype() == DType::Int64) {
      Tensor out = Tensor::empty(DType::Int64, s);
      for (int64_t i = 0; i < out.numel(); ++i) out.data<int64_t>()[i] = v.data<int64_t>()[0];
      return wrap(out);
    }
    return wrap(fill(s, v.item(), v.dtype()));
  }, py::arg("dims"), py::arg("value"), name);
  def_row(m, "range", [](py::handle start, py::handle limit, py::handle delta, py::handle dtype, py::handle) {
    if (limit.is_none()) {
      limit = start;
      start = py::int_(0);
    }
    // Integer arguments (Python ints, integer tensors) take the exact int64 path: the dtype is
    // int32 when every value fits it, else int64, as TensorFlow infers it.
    auto int_value = [](py::handle h) -> std::optional<int64_t> {
      if (is_tensor_like(h)) {
        Tensor t = to_tensor(h);
        if (t.numel() != 1) throw InvalidArgument("range: start, limit and delta must be scalars, got shape " + t.shape().str());
        if (!is_integer(t.dtype())) return std::nullopt;
      } else if (!PyLong_Check(h.ptr()) || PyBool_Check(h.ptr())) {
        return std::nullopt;
      }
      return int_from_py(h, "range");
    };
    std::optional<DType> d = opt_dtype(dtype);
    const py::handle args[3] = {start, limit, delta};
    std::optional<int64_t> iv[3];
    bool all_int = true;
    for (int i = 0; i < 3; ++i) {
      iv[i] = int_value(args[i]);
      all_int = all_int && iv[i].has_value();
    }
    if (all_int && (!d || is_integer(*d))) {
      if (!d) {
        d = DType::Int32;
        for (int i = 0; i < 3; ++i) {
          if (is_tensor_like(args[i]) && to_tensor(args[i]).dtype() == DType::Int64) d = DType::Int64;
          if (*iv[i] < std::numeric_limits<int32_t>::min() || *iv[i] > std::numeric_limits<int32_t>::max()) d = DType::Int64;
        }
      }
      return wrap(range_int(*iv[0], *iv[1], *iv[2], *d));
    }
    if (!d) {
      d = all_int ? DType::Int32 : DType::Float32;
      for (py::handle h : args)
        if (is_tensor_like(h)) d = to_tensor(h).dtype();
    }
    auto num = [&](py::handle h) {
      if (is_tensor_like(h)) return to_tensor(h).item();
      if (!PyNumber_Check(h.ptr()) || PyBool_Check(h.ptr()))
        throw TypeError_("range: start, limit and delta must be numbers, got " + std::string(py::repr(h)));
      double v = h.cast<double>();
      if (is_integer(*d) && std::floor(v) != v)
        throw TypeError_("range: cannot convert " + std::string(py::repr(h)) + " to " + dtype_name(*d));
      return v;
    };
    if (*d == DType::Bool) throw TypeError_("range: dtype bool is not supported");
    return wrap(range(num(start), num(limit), num(delta), *d));
  }, py::arg("start"), py::arg("limit") = py::none(), py::arg("delta") = 1, py::arg("dtype") = py::none(), name);

  // nn
  def_row(m, "softmax", [](py::handle x, py::handle axis, py::handle) {
    return wrap(softmax(to_tensor(x), axis.is_none() ? -1 : int_from_py(axis, "softmax: axis")));
  }, py::arg("logits"), axis_none, name);
  def_row(m, "log_softmax", [](py::handle x, py::handle axis, py::handle) {
    return wrap(log_softmax(to_tensor(x), axis.is_none() ? -1 : int_from_py(axis, "log_softmax: axis")));
  }, py::arg("logits"), axis_none, name);
  def_row(m, "softmax_cross_entropy_with_logits", [](py::handle labels, py::handle logits, py::handle axis_arg, py::handle) {
    const int64_t axis = int_from_py(axis_arg, "softmax_cross_entropy_with_logits: axis");
    Tensor lg = to_tensor(logits);
    return wrap(softmax_cross_entropy_with_logits(to_tensor(labels, lg.dtype()), lg, axis));
  }, py::arg("labels"), py::arg("logits"), py::arg("axis") = -1, name);
  def_row(m, "sparse_softmax_cross_entropy_with_logits", [](py::handle labels, py::handle logits, py::handle) {
    return wrap(sparse_softmax_cross_entropy_with_logits(to_tensor(labels), to_tensor(logits)));
  }, py::arg("labels"), py::arg("logits"), name);

  // tensors from Python values
  def_row(m, "constant", [](py::handle value, py::handle dtype, py::handle shape, py::handle) {
    Tensor t = is_tensor_like(value) ? to_tensor(value) : to_tensor(value, std::nullopt, opt_dtype(dtype));
    if (is_tensor_like(value) && !dtype.is_none() && dtype_from_py(dtype) != t.dtype())
      t = cast(t, dtype_from_py(dtype));
    if (!shape.is_none()) {
      Shape s = shape_arg(shape);
      if (t.numel() == 1 && s.numel() != 1) return wrap(broadcast_to(reshape(t, {}), s));
      return wrap(reshape(t, s.vec()));
    }
    return wrap(is_tensor_like(value) ? stop_gradient(t) : t);
  }, py::arg("value"), py::arg("dtype") = py::none(), py::arg("shape") = py::none(), name);
  def_row(m, "convert_to_tensor", [](py::handle value, py::handle dtype, py::handle dtype_hint, py::handle) {
    std::optional<DType> d = opt_dtype(dtype);
    if (!d && !dtype_hint.is_none() && !is_tensor_like(value)) d = dtype_from_py(dtype_hint);
    return wrap(to_tensor(value, std::nullopt, d));
  }, py::arg("value"), py::arg("dtype") = py::none(), py::arg("dtype_hint") = py::none(), name);

  // Every public row of the manifest has its binding (a Custom row needs its def_row above).
  for (const ManifestRow& r : manifest())
    if (std::string(r.kind) != "Internal" && !py::hasattr(m, r.name))
      throw std::logic_error(std::string("the op manifest row ") + r.name + " has no Python binding (bind_ops.cpp)");
}

}  // namespace gt::py_bind
