// The ops, with TensorFlow's argument names. Each binding converts its Python arguments and
// calls the core; large kernels run with the GIL released.
#include <pybind11/eval.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <deque>
#include <map>
#include <stdexcept>
#include <string>
#include <limits>

#include "convert.h"
#include "gradtape/steps.h"

namespace gt::py_bind {

namespace {

using Unary = Tensor (*)(const Tensor&);
using Binary = Tensor (*)(const Tensor&, const Tensor&);

constexpr int64_t kReleaseGilElements = 1 << 16;

template <Unary F>
py::object unary(py::handle x, py::handle /*name*/) {
  Tensor t = to_tensor(x);
  if (t.numel() >= kReleaseGilElements) return wrap(without_gil([&] { return traced("unary", F, t); }));
  return wrap(traced("unary", F, t));
}

template <Binary F>
py::object binary(py::handle x, py::handle y, py::handle /*name*/) {
  auto [a, b] = to_tensor_pair(x, y);
  if (a.numel() + b.numel() >= kReleaseGilElements) return wrap(without_gil([&] { return traced("binary", F, a, b); }));
  return wrap(traced("binary", F, a, b));
}

using Reduce = Tensor (*)(const Tensor&, const Axes&, bool);
template <Reduce F>
py::object reduce(py::handle x, py::handle axis, bool keepdims, py::handle /*name*/) {
  Tensor t = to_tensor(x);
  Axes axes = axes_from_py(axis);
  if (t.numel() >= kReleaseGilElements) return wrap(without_gil([&] { return traced("reduce", F, t, axes, keepdims); }));
  return wrap(traced("reduce", F, t, axes, keepdims));
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
    note_shape_read(t);  // (the number of slices, and the slices' ends, are t's shape)
    if (t.shape()[0] > (int64_t(1) << 20))
      throw InvalidArgument("a tensor of shape " + t.shape().str() + " given as a list of tensors would unstack into " +
                            std::to_string(t.shape()[0]) + " tensors; pass a list, or reshape instead");
    // (through traced(): under gt.function each slice is a step)
    for (int64_t i = 0; i < t.shape()[0]; ++i)
      v.push_back(traced("strided_slice", &strided_slice, t,
                         [&] { auto b = std::vector<int64_t>(size_t(t.ndim()), 0); b[0] = i; return b; }(),
                         [&] { auto e = t.shape().vec(); e[0] = i + 1; return e; }(),
                         std::vector<int64_t>(size_t(t.ndim()), 1)));
    for (auto& x : v) x = traced("squeeze", &squeeze, x, std::vector<int64_t>{0});
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

// ---- the Args rows: bound from the row (its C++ declaration and its typed signature) ----

// One Python parameter of a row's signature: its name, annotation and default (when it has one).
struct Param {
  std::string name, annotation;
  py::object default_value;  // null when the parameter is required
};

// The parameters of "(a: T, b: U = 1, *, name: str | None = None) -> R", and the result
// annotation R. Commas inside brackets belong to the annotation.
std::vector<Param> parse_params(const std::string& sig, std::string& result) {
  const size_t close = sig.rfind(')');
  const size_t arrow = sig.find("->", close);
  result = arrow == std::string::npos ? "" : sig.substr(arrow + 2);
  result.erase(0, result.find_first_not_of(' '));
  std::vector<std::string> parts;
  int depth = 0;
  std::string cur;
  for (size_t i = 1; i < close; ++i) {
    const char ch = sig[i];
    if (ch == '[' || ch == '(') ++depth;
    if (ch == ']' || ch == ')') --depth;
    if (ch == ',' && depth == 0) {
      parts.push_back(cur);
      cur.clear();
    } else {
      cur += ch;
    }
  }
  if (!cur.empty()) parts.push_back(cur);
  std::vector<Param> out;
  for (std::string p : parts) {
    p.erase(0, p.find_first_not_of(' '));
    Param q;
    const size_t colon = p.find(':'), eq = p.find(" = ");
    q.name = p.substr(0, std::min(colon, eq));
    q.name.erase(q.name.find_last_not_of(' ') + 1);
    if (colon != std::string::npos) q.annotation = p.substr(colon + 1, (eq == std::string::npos ? p.size() : eq) - colon - 1);
    q.annotation.erase(0, q.annotation.find_first_not_of(' '));
    q.annotation.erase(q.annotation.find_last_not_of(' ') + 1);
    if (eq != std::string::npos) q.default_value = py::eval(p.substr(eq + 3));
    if (q.name != "*") out.push_back(std::move(q));
  }
  return out;
}

// What a call of an Args row sees: the Python values by parameter, and the dtype that Python
// values of TensorLike parameters take (the first TensorLike argument that is a tensor).
struct ArgValues {
  const char* op;
  const std::vector<Param>* params;
  std::vector<py::object> values;
  std::optional<DType> hint;
};

std::string what(const ArgValues& a, size_t i) { return std::string(a.op) + ": " + (*a.params)[i].name; }

template <class T>
struct FromPy;  // FromPy<T>::get(args, i): parameter i as a T

template <>
struct FromPy<Tensor> {
  static Tensor get(ArgValues& a, size_t i) {
    const bool like = (*a.params)[i].annotation == "TensorLike";
    Tensor t = to_tensor(a.values[i], like ? a.hint : std::nullopt);
    if (like && !a.hint) a.hint = t.dtype();
    return t;
  }
};
template <>
struct FromPy<TensorList> {
  static TensorList get(ArgValues& a, size_t i) { return tensor_list(a.values[i]); }
};
template <>
struct FromPy<int64_t> {
  static int64_t get(ArgValues& a, size_t i) { return int_from_py(a.values[i], what(a, i).c_str()); }
};
template <>
struct FromPy<bool> {
  static bool get(ArgValues& a, size_t i) {
    py::handle h = a.values[i];
    if (is_tensor_like(h)) {
      Tensor t = to_tensor(h);
      check_readable(t, what(a, i).c_str());
      return t.item() != 0;
    }
    return PyObject_IsTrue(h.ptr()) == 1;
  }
};
template <>
struct FromPy<double> {
  static double get(ArgValues& a, size_t i) {
    py::handle h = a.values[i];
    if (is_tensor_like(h)) {
      Tensor t = to_tensor(h);
      if (t.numel() != 1) throw InvalidArgument(what(a, i) + " must be a scalar, got shape " + t.shape().str());
      return t.item();
    }
    if (!PyNumber_Check(h.ptr())) throw TypeError_(what(a, i) + " must be a number, got " + std::string(py::repr(h)));
    return h.cast<double>();
  }
};
template <>
struct FromPy<std::string> {
  static std::string get(ArgValues& a, size_t i) {
    py::handle h = a.values[i];
    if (!py::isinstance<py::str>(h)) throw TypeError_(what(a, i) + " must be a string, got " + std::string(py::repr(h)));
    return h.cast<std::string>();
  }
};
template <>
struct FromPy<std::vector<int64_t>> {
  static std::vector<int64_t> get(ArgValues& a, size_t i) { return ints_from_py(a.values[i], what(a, i).c_str()); }
};
template <>
struct FromPy<DType> {
  static DType get(ArgValues& a, size_t i) { return dtype_from_py(a.values[i]); }
};
// A convolution's or pool's padding: a string (its mode), or explicit [before, after] pairs.
template <>
struct FromPy<Padding> {
  static Padding get(ArgValues& a, size_t i) {
    py::handle h = a.values[i];
    if (py::isinstance<py::str>(h)) return Padding{h.cast<std::string>(), {}};
    if (!py::isinstance<py::sequence>(h))
      throw TypeError_(what(a, i) + " must be 'SAME', 'VALID' or a list of [before, after] pairs, got " +
                       std::string(py::repr(h)));
    Padding p{"EXPLICIT", {}};
    for (py::handle pair : h) {
      std::vector<int64_t> v = ints_from_py(pair, what(a, i).c_str());
      if (v.size() != 2)
        throw ValueError_(what(a, i) + ": each explicit padding must be a [before, after] pair, got " +
                          std::string(py::repr(pair)));
      p.pairs.insert(p.pairs.end(), v.begin(), v.end());
    }
    return p;
  }
};
template <class T>
struct FromPy<std::optional<T>> {
  static std::optional<T> get(ArgValues& a, size_t i) {
    if (a.values[i].is_none()) return std::nullopt;
    return FromPy<T>::get(a, i);
  }
};

template <class T>
using Bare = std::remove_cv_t<std::remove_reference_t<T>>;

// A row's result as Python: a tensor; a list for `-> List[...]`; a tuple, or the namedtuple
// the annotation names (TopKV2, LogMatrixDeterminant, Qr), otherwise.
py::object result_to_py(const Tensor& t, const std::string&) { return wrap(t); }
py::object result_to_py(const TensorList& ts, const std::string& annotation) {
  if (annotation.rfind("List", 0) == 0) {
    py::list l;
    for (const Tensor& t : ts) l.append(wrap(t));
    return std::move(l);
  }
  // `Tensor | Tuple[...]` (svd's compute_uv): one tensor alone is returned as such
  if (annotation.rfind("Tensor | ", 0) == 0 && ts.size() == 1) return wrap(ts[0]);
  py::tuple tup(ts.size());
  for (size_t i = 0; i < ts.size(); ++i) tup[i] = wrap(ts[i]);
  // TensorFlow's namedtuple results, by the annotation that names them: (class, field, field)
  static const char* const named[][3] = {
      {"TopKV2", "values", "indices"},
      {"LogMatrixDeterminant", "sign", "log_abs_determinant"},
      {"Qr", "q", "r"},
  };
  for (const auto& row : named) {
    if (annotation != row[0]) continue;
    static std::map<std::string, py::object*> classes;  // built once each, never freed (as TopKV2's was)
    py::object*& cls = classes[row[0]];
    if (!cls)
      cls = new py::object(py::module_::import("collections").attr("namedtuple")(row[0], py::make_tuple(row[1], row[2])));
    return (*cls)(*tup);
  }
  return std::move(tup);
}

int64_t tensor_elements(const Tensor& t) { return t.numel(); }
int64_t tensor_elements(const TensorList& ts) {
  int64_t n = 0;
  for (const Tensor& t : ts) n += t.numel();
  return n;
}
template <class T>
int64_t tensor_elements(const T&) { return 0; }

// The rows whose result's shape depends on their inputs' values (not only on their shapes):
// under gt.function, a replay checks that the shape is the one traced (gradtape/program.h).
bool value_dependent_shape(const char* op) {
  static const char* const rows[] = {"boolean_mask", "segment_sum", "segment_mean", "segment_max", "segment_min"};
  for (const char* r : rows)
    if (std::strcmp(r, op) == 0) return true;
  return false;
}

template <class R, class... P, class... A>
R traced_row(const char* op, R (*f)(P...), A&&... args) {
  if constexpr (std::is_same_v<R, Tensor>) {
    if (value_dependent_shape(op)) return traced_shape_checked(op, f, std::forward<A>(args)...);
  }
  return traced(op, f, std::forward<A>(args)...);
}

template <class R, class... A, size_t... I>
py::object call_row(R (*f)(A...), ArgValues& a, const std::string& result, std::index_sequence<I...>) {
  // Converted in parameter order (braced initialisation), so the dtype hint flows left to right.
  std::tuple<Bare<A>...> args{FromPy<Bare<A>>::get(a, I)...};
  const int64_t n = (int64_t(0) + ... + tensor_elements(std::get<I>(args)));
  if (n >= kReleaseGilElements)
    return result_to_py(without_gil([&] { return traced_row(a.op, f, std::get<I>(args)...); }), result);
  return result_to_py(traced_row(a.op, f, std::get<I>(args)...), result);
}

template <class R, class... A>
void bind_args(py::module_& m, const char* name, R (*f)(A...), const char* sig, const char* doc) {
  std::string result;
  auto params = std::make_shared<std::vector<Param>>(parse_params(sig, result));
  // `name` (TensorFlow's op name) is accepted anywhere and ignored
  params->erase(std::remove_if(params->begin(), params->end(), [](const Param& q) { return q.name == "name"; }),
                params->end());
  if (params->size() != sizeof...(A))
    throw std::logic_error(std::string("the op manifest row ") + name + ": its signature has " +
                           std::to_string(params->size()) + " parameters besides name, its C++ declaration " +
                           std::to_string(sizeof...(A)));
  m.def(name, [f, params, name, result](py::args args, py::kwargs kwargs) -> py::object {
    const std::vector<Param>& ps = *params;
    ArgValues a{name, params.get(), std::vector<py::object>(ps.size()), std::nullopt};
    size_t next = 0;  // the next positional parameter
    for (size_t k = 0; k < args.size(); ++k) {
      if (next < ps.size() && ps[next].name == "*args") {
        py::list rest;
        for (size_t j = k; j < args.size(); ++j) rest.append(args[j]);
        a.values[next++] = std::move(rest);
        break;
      }
      if (next >= ps.size() + 1)  // (+1: the ignored name)
        throw TypeError_(std::string(name) + "() takes " + std::to_string(ps.size() + 1) + " positional arguments but " +
                         std::to_string(args.size()) + " were given");
      if (next < ps.size()) a.values[next] = py::reinterpret_borrow<py::object>(args[k]);
      ++next;
    }
    for (auto item : kwargs) {
      const std::string key = py::str(item.first);
      if (key == "name") continue;
      size_t j = 0;
      while (j < ps.size() && (ps[j].name != key || key == "*args")) ++j;
      if (j == ps.size()) throw TypeError_(std::string(name) + "() got an unexpected keyword argument '" + key + "'");
      if (a.values[j]) throw TypeError_(std::string(name) + "() got multiple values for argument '" + key + "'");
      a.values[j] = py::reinterpret_borrow<py::object>(item.second);
    }
    for (size_t j = 0; j < ps.size(); ++j) {
      if (a.values[j]) continue;
      if (ps[j].name == "*args") a.values[j] = py::list();
      else if (ps[j].default_value) a.values[j] = ps[j].default_value;
      else throw TypeError_(std::string(name) + "() missing required argument: '" + ps[j].name + "'");
    }
    for (size_t j = 0; j < ps.size() && !a.hint; ++j)
      if (ps[j].annotation == "TensorLike" && is_tensor_like(a.values[j])) a.hint = to_tensor(a.values[j]).dtype();
    return call_row(f, a, result, std::index_sequence_for<A...>{});
  }, row_doc(name, sig, doc));
}

// Ops the custom bindings compose (each one step when gt.function traces): in the core
// (gradtape/steps.h), so that a saved program runs them without Python.
using steps::where_coords;
using steps::reduce_any_bool;
using steps::reduce_all_bool;
using steps::zeros_like_as;
using steps::ones_like_as;
using steps::fill_with;

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
#define GT_BIND_Args(fn, sig, doc)
#define GT_OP(E, fn, kind, mask, jvp, ns, sig, doc) GT_BIND_##kind(fn, sig, doc)
#define GT_FN(fn, kind, ns, sig, doc) GT_BIND_##kind(fn, sig, doc)
#include "gradtape/ops.def"
  // The Args rows, from their C++ declaration and their signature.
#define GT_OP(E, fn, kind, mask, jvp, ns, sig, doc)
#define GT_FN(fn, kind, ns, sig, doc)
#define GT_OP_ARGS(E, fn, mask, jvp, ns, ret, params, sig, doc) bind_args(m, #fn, static_cast<ret(*) params>(&gt::fn), sig, doc);
#define GT_FN_ARGS(fn, ns, ret, params, sig, doc) bind_args(m, #fn, static_cast<ret(*) params>(&gt::fn), sig, doc);
#include "gradtape/ops.def"
#undef GT_BIND_Unary
#undef GT_BIND_Binary
#undef GT_BIND_Reduce
#undef GT_BIND_Custom
#undef GT_BIND_Internal
#undef GT_BIND_Args

  // The Custom rows: bound by hand (irregular arguments), each with its manifest docstring.
  def_row(m, "identity", [](py::handle x, py::handle) {
    Tensor t = to_tensor(x);
    note_shape_read(t);  // (the step's fixed argument is t's shape)
    return wrap(traced("identity", &reshape, t, t.shape().vec()));  // a new tensor, recorded, same values
  }, py::arg("input"), name);

  def_row(m, "truediv", &binary<divide>, x_, y_, name);

  def_row(m, "where", [](py::handle cond, py::handle x, py::handle y, py::handle) -> py::object {
    Tensor c = to_tensor(cond);
    if (x.is_none() && y.is_none()) {
      return wrap(traced_shape_checked("where", &where_coords, c));
    }
    if (x.is_none() || y.is_none()) throw ValueError_("where: x and y must both be given or both be None");
    auto [a, b] = to_tensor_pair(x, y);
    return wrap(traced("where", &where, c, a, b));
  }, py::arg("condition"), py::arg("x") = py::none(), py::arg("y") = py::none(), name);

  def_row(m, "clip_by_value", [](py::handle t, py::handle lo, py::handle hi, py::handle) {
    Tensor x = to_tensor(t);
    return wrap(traced("clip_by_value", &clip_by_value, x, to_tensor(lo, x.dtype()), to_tensor(hi, x.dtype())));
  }, py::arg("t"), py::arg("clip_value_min"), py::arg("clip_value_max"), name);

  def_row(m, "cast", [](py::handle x, py::handle dtype, py::handle) {
    DType d = dtype_from_py(dtype);
    Tensor t = is_tensor_like(x) ? to_tensor(x) : to_tensor(x, std::nullopt, std::nullopt);
    return wrap(traced("cast", &cast, t, d));
  }, x_, py::arg("dtype"), name);

  auto axis_none = py::arg("axis") = py::none();
  auto keepdims = py::arg("keepdims") = false;
  auto input_tensor = py::arg("input_tensor");
  def_row(m, "reduce_any", [](py::handle x, py::handle axis, bool kd, py::handle) {
    Tensor t = to_tensor(x);
    if (t.dtype() != DType::Bool) throw InvalidArgument("reduce_any: expected a bool tensor, got " + std::string(dtype_name(t.dtype())));
    return wrap(traced("reduce_any", &reduce_any_bool, t, axes_from_py(axis), kd));
  }, input_tensor, axis_none, keepdims, name);
  def_row(m, "reduce_all", [](py::handle x, py::handle axis, bool kd, py::handle) {
    Tensor t = to_tensor(x);
    if (t.dtype() != DType::Bool) throw InvalidArgument("reduce_all: expected a bool tensor, got " + std::string(dtype_name(t.dtype())));
    return wrap(traced("reduce_all", &reduce_all_bool, t, axes_from_py(axis), kd));
  }, input_tensor, axis_none, keepdims, name);

  def_row(m, "matmul", [](py::handle a, py::handle b, bool ta, bool tb, bool aa, bool ab, py::handle, py::handle, py::handle) {
    if ((ta && aa) || (tb && ab)) {
      const char* which = ta && aa ? "a" : "b";
      throw ValueError_(std::string("Only one of `transpose_") + which + "` and `adjoint_" + which + "` can be True.");
    }
    auto [x, y] = to_tensor_pair(a, b);
    const bool big = x.numel() + y.numel() >= kReleaseGilElements / 16;
    const bool tx = ta || aa, ty = tb || ab;
    if (big) return wrap(without_gil([&] { return traced("matmul", &matmul, x, y, tx, ty); }));
    return wrap(traced("matmul", &matmul, x, y, tx, ty));
  }, py::arg("a"), py::arg("b"), py::arg("transpose_a") = false, py::arg("transpose_b") = false,
     py::arg("adjoint_a") = false, py::arg("adjoint_b") = false, py::arg("a_is_sparse") = false,
     py::arg("b_is_sparse") = false, name);

  def_row(m, "transpose", [](py::handle a, py::handle perm, bool, py::handle) {
    std::vector<int64_t> p = perm.is_none() ? std::vector<int64_t>{} : ints_from_py(perm, "perm");
    Tensor t = to_tensor(a);
    if (perm.is_none() && t.ndim() == 0) return wrap(traced("transpose", &reshape, t, std::vector<int64_t>{}));
    return wrap(traced("transpose", &transpose, t, p));
  }, py::arg("a"), py::arg("perm") = py::none(), py::arg("conjugate") = false, name);
  def_row(m, "reshape", [](py::handle t, py::handle shape, py::handle) {
    Tensor x = to_tensor(t);
    // A shape computed inside gt.function (reshape(x, [gt.shape(x)[0], -1])): a step that reads
    // it at each run, whose result's shape is checked against the trace's, as boolean_mask's.
    if (ProgramRecorder* r = active_recorder(); r && holds_traced_value(shape, *r))
      return wrap(r->call_shape_checked("reshape", &steps::reshape_to, x, to_tensor(shape)));
    return wrap(traced("reshape", &reshape, x, ints_from_py(shape, "shape")));
  }, py::arg("tensor"), py::arg("shape"), name);
  def_row(m, "expand_dims", [](py::handle t, py::handle axis, py::handle) {
    // an int, a one-element list or an integer tensor with a single value
    int64_t a;
    if (py::isinstance<py::list>(axis) || py::isinstance<py::tuple>(axis)) {
      std::vector<int64_t> v = ints_from_py(axis, "expand_dims: axis");
      if (v.size() != 1) throw InvalidArgument("expand_dims: 'dim' must be a tensor with a single value");
      a = v[0];
    } else {
      a = int_from_py(axis, "expand_dims: axis");
    }
    return wrap(traced("expand_dims", &expand_dims, to_tensor(t), a));
  }, py::arg("input"), py::arg("axis"), name);
  def_row(m, "squeeze", [](py::handle t, py::handle axis, py::handle) {
    Tensor out = traced("squeeze", &squeeze, to_tensor(t), axis.is_none() ? std::vector<int64_t>{} : ints_from_py(axis, "axis"));
    if (ProgramRecorder* r = active_recorder(); r && axis.is_none()) r->note_rank_varies(out);  // (which sizes are 1)
    return wrap(out);
  }, py::arg("input"), axis_none, name);
  def_row(m, "broadcast_to", [](py::handle t, py::handle shape, py::handle) {
    return wrap(traced("broadcast_to", &broadcast_to, to_tensor(t), shape_arg(shape)));
  }, py::arg("input"), py::arg("shape"), name);
  def_row(m, "concat", [](py::handle values, py::handle axis, py::handle) { return wrap(traced("concat", &concat, tensor_list(values), int_from_py(axis, "concat: axis"))); },
        py::arg("values"), py::arg("axis"), name);
  def_row(m, "stack", [](py::handle values, py::handle axis, py::handle) { return wrap(traced("stack", &stack, tensor_list(values), int_from_py(axis, "stack: axis"))); },
        py::arg("values"), py::arg("axis") = 0, name);
  def_row(m, "gather", [](py::handle params, py::handle indices, py::handle, py::handle axis, int64_t batch_dims, py::handle) {
    if (batch_dims != 0) {
      // (axis defaults to batch_dims, as TensorFlow's)
      const int64_t a = axis.is_none() ? batch_dims : int_from_py(axis, "gather: axis");
      return wrap(traced("gather", &gather_batched, to_tensor(params), to_tensor(indices), a, batch_dims));
    }
    return wrap(traced("gather", &gather, to_tensor(params), to_tensor(indices), axis.is_none() ? int64_t(0) : int_from_py(axis, "gather: axis")));
  }, py::arg("params"), py::arg("indices"), py::arg("validate_indices") = py::none(), axis_none,
     py::arg("batch_dims") = 0, name);
  def_row(m, "one_hot", [](py::handle indices, py::handle depth_arg, py::handle dtype, py::handle) {
    const int64_t depth = int_from_py(depth_arg, "one_hot: depth");
    return wrap(traced("one_hot", &one_hot, to_tensor(indices), depth, dtype.is_none() ? DType::Float32 : dtype_from_py(dtype)));
  }, py::arg("indices"), py::arg("depth"), py::arg("dtype") = py::none(), name);

  // creation
  def_row(m, "zeros", [](py::handle shape, py::handle dtype, py::handle) {
    return wrap(traced("zeros", &zeros, shape_arg(shape), opt_dtype(dtype).value_or(DType::Float32)));
  }, py::arg("shape"), py::arg("dtype") = py::none(), name);
  def_row(m, "ones", [](py::handle shape, py::handle dtype, py::handle) {
    return wrap(traced("ones", &ones, shape_arg(shape), opt_dtype(dtype).value_or(DType::Float32)));
  }, py::arg("shape"), py::arg("dtype") = py::none(), name);
  def_row(m, "zeros_like", [](py::handle x, py::handle dtype, py::handle) {
    Tensor t = to_tensor(x);
    return wrap(traced("zeros_like", &zeros_like_as, t, opt_dtype(dtype).value_or(t.dtype())));
  }, py::arg("input"), py::arg("dtype") = py::none(), name);
  def_row(m, "ones_like", [](py::handle x, py::handle dtype, py::handle) {
    Tensor t = to_tensor(x);
    return wrap(traced("ones_like", &ones_like_as, t, opt_dtype(dtype).value_or(t.dtype())));
  }, py::arg("input"), py::arg("dtype") = py::none(), name);
  def_row(m, "fill", [](py::handle dims, py::handle value, py::handle) {
    Tensor v = to_tensor(value);
    if (v.numel() != 1) throw InvalidArgument("fill: value must be a scalar, got shape " + v.shape().str());
    return wrap(traced("fill", &fill_with, shape_arg(dims), v));
  }, py::arg("dims"), py::arg("value"), name);
  def_row(m, "range", [](py::handle start, py::handle limit, py::handle delta, py::handle dtype, py::handle) {
    if (limit.is_none()) {
      limit = start;
      start = py::int_(0);
    }
    // Integer arguments (Python ints, integer tensors) take the exact int64 path: the dtype is
    // int32 when every value fits it, else int64, as TensorFlow infers it.
    // (a NumPy scalar or array is read as the tensor it converts to: np.array(3) is int64, as TF)
    static const py::handle np_generic = py::object(py::module_::import("numpy").attr("generic")).release();  // (kept for good)
    auto as_tensor_arg = [](py::handle h) {
      return is_tensor_like(h) || py::isinstance<py::array>(h) || py::isinstance(h, np_generic);
    };
    auto int_value = [&](py::handle h) -> std::optional<int64_t> {
      if (as_tensor_arg(h)) {
        Tensor t = to_tensor(h);
        if (t.numel() != 1) throw InvalidArgument("range: start, limit and delta must be scalars, got shape " + t.shape().str());
        if (!is_integer(t.dtype())) return std::nullopt;
        check_readable(t, "range: a start, limit or delta");
        if (t.dtype() == DType::UInt64 && t.data<uint64_t>()[0] > uint64_t(std::numeric_limits<int64_t>::max()))
          throw InvalidArgument("range: " + std::to_string(t.data<uint64_t>()[0]) + " is out of the int64 range");
        return load_int(t.raw(), t.dtype(), 0);
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
          if (as_tensor_arg(args[i]) && to_tensor(args[i]).dtype() != DType::Int32) d = to_tensor(args[i]).dtype();
          if (*iv[i] < std::numeric_limits<int32_t>::min() || *iv[i] > std::numeric_limits<int32_t>::max()) d = DType::Int64;
        }
      }
      return wrap(traced("range", &range_int, *iv[0], *iv[1], *iv[2], *d));
    }
    if (!d) {
      d = all_int ? DType::Int32 : DType::Float32;
      for (py::handle h : args)
        if (as_tensor_arg(h)) d = to_tensor(h).dtype();
    }
    auto num = [&](py::handle h) {
      if (as_tensor_arg(h)) {
        Tensor t = to_tensor(h);
        check_readable(t, "range: a start, limit or delta");
        return t.item();
      }
      if (!PyNumber_Check(h.ptr()) || PyBool_Check(h.ptr()))
        throw TypeError_("range: start, limit and delta must be numbers, got " + std::string(py::repr(h)));
      double v = h.cast<double>();
      if (is_integer(*d) && std::floor(v) != v)
        throw TypeError_("range: cannot convert " + std::string(py::repr(h)) + " to " + dtype_name(*d));
      return v;
    };
    if (*d == DType::Bool) throw TypeError_("range: dtype bool is not supported");
    return wrap(traced("range", &range, num(start), num(limit), num(delta), *d));
  }, py::arg("start"), py::arg("limit") = py::none(), py::arg("delta") = 1, py::arg("dtype") = py::none(), name);

  // nn
  def_row(m, "softmax", [](py::handle x, py::handle axis, py::handle) {
    return wrap(traced("softmax", &softmax, to_tensor(x), axis.is_none() ? int64_t(-1) : int_from_py(axis, "softmax: axis")));
  }, py::arg("logits"), axis_none, name);
  def_row(m, "log_softmax", [](py::handle x, py::handle axis, py::handle) {
    return wrap(traced("log_softmax", &log_softmax, to_tensor(x), axis.is_none() ? int64_t(-1) : int_from_py(axis, "log_softmax: axis")));
  }, py::arg("logits"), axis_none, name);
  def_row(m, "softmax_cross_entropy_with_logits", [](py::handle labels, py::handle logits, py::handle axis_arg, py::handle) {
    const int64_t axis = int_from_py(axis_arg, "softmax_cross_entropy_with_logits: axis");
    Tensor lg = to_tensor(logits);
    return wrap(traced("softmax_cross_entropy_with_logits", &softmax_cross_entropy_with_logits, to_tensor(labels, lg.dtype()), lg, axis));
  }, py::arg("labels"), py::arg("logits"), py::arg("axis") = -1, name);
  def_row(m, "sparse_softmax_cross_entropy_with_logits", [](py::handle labels, py::handle logits, py::handle) {
    return wrap(traced("sparse_softmax_cross_entropy_with_logits", &sparse_softmax_cross_entropy_with_logits, to_tensor(labels), to_tensor(logits)));
  }, py::arg("labels"), py::arg("logits"), name);

  // tensors from Python values
  def_row(m, "constant", [](py::handle value, py::handle dtype, py::handle shape, py::handle) {
    Tensor t = is_tensor_like(value) ? to_tensor(value) : to_tensor_unpacked(value, opt_dtype(dtype));
    if (is_tensor_like(value) && !dtype.is_none() && dtype_from_py(dtype) != t.dtype())
      throw TypeError_(std::string("Expected tensor with dtype ") + dtype_name(dtype_from_py(dtype)) + ", but got dtype " +
                       dtype_name(t.dtype()) + " (use gt.cast)");
    if (!shape.is_none()) {
      Shape s = shape_arg(shape);
      if (t.numel() == 1 && s.numel() != 1)
        return wrap(traced("broadcast_to", &broadcast_to, traced("reshape", &reshape, t, std::vector<int64_t>{}), s));
      if (t.numel() != s.numel())  // (TensorFlow's TypeError: a shape it cannot give these values)
        throw TypeError_("Eager execution of tf.constant with unsupported shape. Tensor of shape " + t.shape().str() +
                         " has " + std::to_string(t.numel()) + " elements, but got `shape` " + s.str() + " with " +
                         std::to_string(s.numel()) + " elements.");
      return wrap(traced("reshape", &reshape, t, s.vec()));
    }
    return wrap(is_tensor_like(value) ? traced("stop_gradient", &stop_gradient, t) : t);
  }, py::arg("value"), py::arg("dtype") = py::none(), py::arg("shape") = py::none(), name);
  def_row(m, "convert_to_tensor", [](py::handle value, py::handle dtype, py::handle dtype_hint, py::handle) {
    std::optional<DType> d = opt_dtype(dtype);
    if (!d && !dtype_hint.is_none() && !is_tensor_like(value)) d = dtype_from_py(dtype_hint);
    return wrap(variable_snapshot(value, d));  // (a variable: a tensor of its own, as read_value)
  }, py::arg("value"), py::arg("dtype") = py::none(), py::arg("dtype_hint") = py::none(), name);

  // Every public row of the manifest has its binding (a Custom row needs its def_row above).
  for (const ManifestRow& r : manifest())
    if (std::string(r.kind) != "Internal" && !py::hasattr(m, r.name))
      throw std::logic_error(std::string("the op manifest row ") + r.name + " has no Python binding (bind_ops.cpp)");
}

}  // namespace gt::py_bind
