// Forward mode as seen from Python: gradtape._core._ForwardAccumulator (wrapped by
// gradtape.autodiff.ForwardAccumulator) and the tape-only pause a custom_gradient's forward
// function runs under.
#include <memory>

#include "convert.h"
#include "gradtape/program.h"
#include "gradtape/forward.h"

namespace gt::py_bind {

namespace {
struct TapePauseScope {
  std::unique_ptr<TapePause> pause;
};
}  // namespace

void bind_forward(py::module_& m) {
  py::class_<ForwardAccumulator>(m, "_ForwardAccumulator")
      .def(py::init<>())
      .def("_watch", [](ForwardAccumulator& a, py::handle primal, py::handle tangent) {
        if (is_variable(primal)) {
          Variable& v = variable_ref(primal);
          a.watch(v.shared_from_this(), to_tensor(tangent, v.dtype()));
        } else {
          Tensor p = to_tensor(primal);
          a.watch(p, to_tensor(tangent, p.dtype()));
        }
      }, "Gives a primal (tensor or variable) its tangent.")
      .def("_push", [](ForwardAccumulator& a) {
        // (its tangents come from forward rules that no step replays: a program would keep the
        // trace's tangent, or its None, for good)
        if (active_recorder())
          throw NotTraceable("gt.function cannot trace a ForwardAccumulator entered inside the function yet: enter "
                             "it around the call (the call is then differentiated in forward mode), use "
                             "GradientTape inside, or run the function eagerly "
                             "(gt.config.run_functions_eagerly(True))");
        a.push();
      })
      .def("_pop", &ForwardAccumulator::pop)
      .def_property_readonly("_active", &ForwardAccumulator::active)
      .def("_jvp", [](const ForwardAccumulator& a, py::handle t) {
        if (is_variable(t)) return wrap(a.jvp(variable_ref(t).shared_from_this()));
        return wrap(a.jvp(to_tensor(t)));
      }, "The tangent of a tensor or variable, or None.");

  py::class_<TapePauseScope>(m, "_PauseTapes")
      .def(py::init<>())
      .def("__enter__", [](TapePauseScope& s) { s.pause = std::make_unique<TapePause>(); })
      .def("__exit__", [](TapePauseScope& s, py::args) { s.pause.reset(); });
}

}  // namespace gt::py_bind
