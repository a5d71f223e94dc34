// gt.function's core (gradtape/program.h): a recorder to trace with, and the program it makes.
// The Python side (python/gradtape/function.py) decides when to trace and what a call means.
#include <pybind11/stl.h>

#include "convert.h"

namespace gt::py_bind {

namespace {

// A trace in progress: `with _Recorder() as r:` makes it this thread's active recorder.
struct RecorderScope {
  std::unique_ptr<ProgramRecorder> rec;
  ProgramRecorder& get() {
    if (!rec) throw py::value_error("this recorder is not active (use it in a `with` block)");
    return *rec;
  }
};

std::vector<Tensor> tensors_of(const py::list& l) {
  std::vector<Tensor> v;
  v.reserve(l.size());
  for (py::handle h : l) v.push_back(to_tensor(h));
  return v;
}

}  // namespace
}  // namespace gt::py_bind

GT_REFUSE_UNINITIALISED(gt::py_bind::RecorderScope)
GT_REFUSE_UNINITIALISED(gt::Program)

namespace gt::py_bind {

void bind_program(py::module_& m) {
  py::class_<Program, std::shared_ptr<Program>>(m, "_Program")
      .def("run", [](const Program& p, const py::list& inputs) {
        std::vector<Tensor> in = tensors_of(inputs);
        std::vector<Tensor> out = without_gil([&] { return p.run(in); });
        py::list l(out.size());
        for (size_t i = 0; i < out.size(); ++i) l[i] = wrap(out[i]);
        return l;
      }, "Runs the program on its input tensors (with the GIL released); returns its outputs.")
      .def_property_readonly("num_steps", &Program::num_steps)
      .def_property_readonly("num_inputs", &Program::num_inputs)
      .def_property_readonly("num_constants", &Program::num_constants)
      .def("step_names", &Program::step_names);
  py::class_<RecorderScope>(m, "_Recorder")
      .def(py::init<>())
      .def("__enter__", [](py::object self) {
        RecorderScope& s = self.cast<RecorderScope&>();
        if (s.rec) throw py::value_error("this recorder is already active");
        s.rec = std::make_unique<ProgramRecorder>();
        return self;
      })
      .def("__exit__", [](RecorderScope& s, py::args) {
        if (active_recorder() != s.rec.get())
          throw TapeError("gt.function: traces ended out of order (a recorder exited while another was active)");
        s.rec.reset();
        return false;
      })
      .def("input", [](RecorderScope& s, py::handle t) { s.get().input(to_tensor(t)); })
      .def("finish", [](RecorderScope& s, const py::list& outputs) { return s.get().finish(tensors_of(outputs)); });
  m.def("_tracing", [] { return active_recorder() != nullptr; }, "Whether gt.function is tracing on this thread.");
}

}  // namespace gt::py_bind
