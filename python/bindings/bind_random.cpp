// gradtape._core's random draws (gradtape/random.h): a Philox stream state object and one
// function per distribution. The seed rules (global and op seeds, generators) are in Python
// (gradtape/random.py); these functions take a state, draw, and advance it.
#include <pybind11/stl.h>

#include "convert.h"
#include "gradtape/random.h"
#include "gradtape/steps.h"

namespace gt::py_bind {

namespace {
using random::PhiloxState;

constexpr int64_t kReleaseGil = 1 << 15;

Shape shape_arg(py::handle h) {
  if (is_tensor_like(h)) {
    Tensor t = to_tensor(h);
    if (!is_integer(t.dtype()) || t.ndim() > 1)
      throw InvalidArgument(std::string("random: shape must be a 1-d integer tensor or a list of ints, got ") + dtype_name(t.dtype()) +
                            " of shape " + t.shape().str());
  }
  std::vector<int64_t> dims = ints_from_py(h, "random: shape");
  for (int64_t d : dims)
    if (d < 0) throw InvalidArgument("random: shape must not have negative dimensions, got " + std::to_string(d));
  if (dims.size() > size_t(kMaxRank)) throw InvalidArgument("random: shape has rank above " + std::to_string(kMaxRank));
  return Shape(dims);
}

// A draw. From a stream (a persistent state of gradtape.random, marked `stream`), gt.function
// records it as a step with an effect: each replay draws anew from the stream, advancing it, as
// a stateful op in a TensorFlow graph does. From a fresh state (a stateless op's, made from its
// seed), it is a pure function of the state's value: a step that draws from a copy (or a
// constant, when its inputs are constants). (steps::draw_stream / draw_copy: gradtape/steps.h)
// From a gt.random.Generator's state variable (steps::draw_generator), the draw reads and
// writes the variable: a step with an effect, so each replay draws anew.
// From a seed tensor (a stateless op's seed computed inside gt.function: steps::draw_seed), a
// step that makes the state from the seed's value when it runs (a constant, when the seed is).
template <auto F, class... A>
py::object draw(const char* name, py::handle state, int64_t n, A... a) {
  if (is_tensor(state)) {
    Tensor seed = to_tensor(state);
    auto run = [&]() { return traced(name, &steps::draw_seed<F, A...>, seed, a...); };
    if (n >= kReleaseGil) return wrap(without_gil(run));
    return wrap(run());
  }
  if (is_variable(state)) {
    std::shared_ptr<Variable> v = variable_ref(state).shared_from_this();
    auto run = [&]() { return traced_effect(name, &steps::draw_generator<F, A...>, v, a...); };
    if (n >= kReleaseGil) return wrap(without_gil(run));
    return wrap(run());
  }
  std::shared_ptr<PhiloxState> s = state.cast<std::shared_ptr<PhiloxState>>();
  const bool stream = py::hasattr(state, "stream");
  auto run = [&]() -> Tensor {
    if (!active_recorder()) return F(*s, a...);
    if (stream) return traced_effect(name, &steps::draw_stream<F, A...>, s, a...);
    Tensor t = traced(name, &steps::draw_copy<F, A...>, *s, a...);
    F(*s, a...);  // (the state advances as it does eagerly; nothing draws from it again)
    return t;
  };
  if (n >= kReleaseGil) return wrap(without_gil(run));
  return wrap(run());
}

int64_t numel_of(const Shape& s) {
  int64_t n = 1;
  for (int i = 0; i < s.rank(); ++i) n *= s[i];
  return n;
}
}  // namespace

void bind_random(py::module_& m) {
  py::class_<PhiloxState, std::shared_ptr<PhiloxState>>(m, "_PhiloxState", py::dynamic_attr())
      .def(py::init([](uint64_t key, uint64_t lo, uint64_t hi) { return random::make_stream(PhiloxState{key, lo, hi}); }),
           py::arg("key") = 0, py::arg("counter_lo") = 0, py::arg("counter_hi") = 0)
      .def_readwrite("key", &PhiloxState::key)
      .def_readwrite("counter_lo", &PhiloxState::counter_lo)
      .def_readwrite("counter_hi", &PhiloxState::counter_hi)
      .def("__repr__", [](const PhiloxState& s) {
        return "_PhiloxState(key=" + std::to_string(s.key) + ", counter_lo=" + std::to_string(s.counter_lo) +
               ", counter_hi=" + std::to_string(s.counter_hi) + ")";
      });
  m.def("_philox4x32_10", &random::philox4x32_10, py::arg("counter"), py::arg("key"));
  m.def("_mix64", &random::mix64);
  m.def("_random_fold_in", [](py::handle seed, py::handle data) {
    return wrap(traced("random_fold_in", &steps::fold_in, to_tensor(seed), to_tensor(data)));
  }, "gt.random.fold_in of a seed or data computed inside gt.function: a step (steps::fold_in).");
  m.def("_random_uniform", [](py::handle s, py::handle shape, py::handle dtype, double lo, double hi) {
    Shape sh = shape_arg(shape);
    DType d = dtype_from_py(dtype);
    return draw<&random::uniform>("random_uniform", s, numel_of(sh), sh, d, lo, hi);
  });
  m.def("_random_uniform_int", [](py::handle s, py::handle shape, py::handle dtype, int64_t lo, int64_t hi) {
    Shape sh = shape_arg(shape);
    DType d = dtype_from_py(dtype);
    return draw<&random::uniform_int>("random_uniform_int", s, numel_of(sh), sh, d, lo, hi);
  });
  m.def("_random_uniform_full_int", [](py::handle s, py::handle shape, py::handle dtype) {
    Shape sh = shape_arg(shape);
    DType d = dtype_from_py(dtype);
    return draw<&random::uniform_full_int>("random_uniform_full_int", s, numel_of(sh), sh, d);
  });
  m.def("_random_normal", [](py::handle s, py::handle shape, py::handle dtype, double mean, double stddev) {
    Shape sh = shape_arg(shape);
    DType d = dtype_from_py(dtype);
    return draw<&random::normal>("random_normal", s, numel_of(sh), sh, d, mean, stddev);
  });
  m.def("_random_truncated_normal", [](py::handle s, py::handle shape, py::handle dtype, double mean, double stddev) {
    Shape sh = shape_arg(shape);
    DType d = dtype_from_py(dtype);
    return draw<&random::truncated_normal>("random_truncated_normal", s, numel_of(sh), sh, d, mean, stddev);
  });
  m.def("_random_shuffle", [](py::handle s, py::handle value) {
    Tensor v = to_tensor(value);
    return draw<&random::shuffle>("random_shuffle", s, v.numel(), v);
  });
  m.def("_random_categorical", [](py::handle s, py::handle logits, int64_t num_samples, py::handle dtype) {
    Tensor l = to_tensor(logits);
    DType d = dtype_from_py(dtype);
    return draw<&random::categorical>("random_categorical", s, l.numel(), l, num_samples, d);
  });
  m.def("_random_gamma", [](py::handle s, py::handle shape, py::handle alpha, py::handle beta) {
    Shape sh = shape_arg(shape);
    Tensor a = to_tensor(alpha), b = to_tensor(beta);
    return draw<&random::gamma>("random_gamma", s, numel_of(sh) * a.numel(), sh, a, b);
  });
  m.def("_random_poisson", [](py::handle s, py::handle shape, py::handle lam, py::handle dtype) {
    Shape sh = shape_arg(shape);
    Tensor l = to_tensor(lam);
    DType d = dtype_from_py(dtype);
    return draw<&random::poisson>("random_poisson", s, numel_of(sh) * l.numel(), sh, l, d);
  });
}

}  // namespace gt::py_bind
