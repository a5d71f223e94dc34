// The tape as seen from Python (gradtape._core._Tape, wrapped by gradtape.GradientTape),
// custom-gradient recording, recording pauses, variable access logs and live-object counters.
#include <pybind11/functional.h>
#include <pybind11/stl.h>

#include "convert.h"

namespace gt {
int64_t live_records();
}

namespace gt::py_bind {

namespace {

Source source_from_py(py::handle h) {
  if (py::isinstance<Variable>(h)) return Source(h.cast<std::shared_ptr<Variable>>());
  if (py::isinstance<TensorImpl>(h)) return Source(Tensor(h.cast<std::shared_ptr<TensorImpl>>()));
  throw TypeError_("gradient sources must be tensors or variables, got " +
                   std::string(py::str(py::type::of(h).attr("__name__"))));
}

std::vector<Source> sources_from_py(const py::list& l) {
  std::vector<Source> v;
  v.reserve(l.size());
  for (py::handle h : l) v.push_back(source_from_py(h));
  return v;
}

std::vector<Tensor> targets_from_py(const py::list& l) {
  std::vector<Tensor> v;
  v.reserve(l.size());
  for (py::handle h : l) v.push_back(to_tensor(h));
  return v;
}

py::list to_list(const std::vector<Tensor>& v) {
  py::list l(v.size());
  for (size_t i = 0; i < v.size(); ++i) l[i] = wrap(v[i]);
  return l;
}

// A weak reference to the Python gradient function. The strong reference lives in the
// Python GradientTape objects (their _keepalive list), where the garbage collector can see
// it: a grad_fn that refers back to its tape then forms a cycle Python can collect.
struct PyHook {
  py::weakref fn;
  explicit PyHook(py::handle f) : fn(f) {}
  ~PyHook() {
    py::gil_scoped_acquire gil;
    fn = py::weakref();
  }
};

struct PauseScope {
  std::unique_ptr<RecordingPause> pause;
};
struct AccessLogScope {
  std::unique_ptr<VariableAccessLog> log;
};

}  // namespace

void bind_tape(py::module_& m) {
  py::class_<Tape>(m, "_Tape")
      .def(py::init<bool, bool>(), py::arg("persistent") = false, py::arg("watch_accessed_variables") = true)
      .def("push", &Tape::push)
      .def("pop", &Tape::pop)
      .def_property_readonly("active", &Tape::active)
      .def_property_readonly("persistent", &Tape::persistent)
      .def_property_readonly("num_records", &Tape::num_records)
      .def_property("recording", &Tape::recording, &Tape::set_recording)
      .def("watch", [](Tape& t, py::handle h) {
        if (py::isinstance<Variable>(h)) t.watch(h.cast<std::shared_ptr<Variable>>());
        else if (py::isinstance<TensorImpl>(h)) t.watch(Tensor(h.cast<std::shared_ptr<TensorImpl>>()));
        else throw InvalidArgument("Passed in object of type " + std::string(py::str(py::type::of(h).attr("__name__"))) +
                                   ", not tf.Tensor or tf.Variable or ExtensionType.");
      })
      .def("watched_variables", &Tape::watched_variables)
      .def("reset", &Tape::reset)
      .def("gradient", [](Tape& t, const py::list& targets, const py::list& sources, const py::list& output_gradients,
                          int mode) {
        std::vector<Tensor> outs;
        for (py::handle h : output_gradients) outs.push_back(h.is_none() ? Tensor() : to_tensor(h));
        std::vector<Tensor> tg = targets_from_py(targets);
        if (!outs.empty())
          for (size_t i = 0; i < outs.size() && i < tg.size(); ++i)
            if (outs[i].defined() && outs[i].dtype() != tg[i].dtype() && !is_tensor_like(output_gradients[i]))
              outs[i] = to_tensor(output_gradients[i], std::nullopt, tg[i].dtype());
        return to_list(t.gradient(tg, sources_from_py(sources), outs, Unconnected(mode)));
      })
      .def("jacobian", [](Tape& t, py::handle target, const py::list& sources, int mode) {
        return to_list(t.jacobian(to_tensor(target), sources_from_py(sources), Unconnected(mode)));
      })
      .def("batch_jacobian", [](Tape& t, py::handle target, py::handle source, int mode) {
        return wrap(t.batch_jacobian(to_tensor(target), source_from_py(source), Unconnected(mode)));
      });

  m.def("_record_custom", [](const py::list& inputs, const py::list& outputs, py::object grad_fn) {
    std::vector<Tensor> ins, outs;
    for (py::handle h : inputs) ins.push_back(to_tensor(h));
    for (py::handle h : outputs) {
      Tensor t = to_tensor(h);
      outs.push_back(stop_gradient(t));  // fresh tensors, never an input's
    }
    auto hook = std::make_shared<PyHook>(grad_fn);
    std::vector<DType> in_dtypes;
    for (const Tensor& t : ins) in_dtypes.push_back(t.dtype());
    record_custom(ins, outs, [hook, in_dtypes](const std::vector<Tensor>& upstream) {
      py::gil_scoped_acquire gil;
      py::list up(upstream.size());
      for (size_t i = 0; i < upstream.size(); ++i) up[i] = wrap(upstream[i]);
      py::object fn = hook->fn();
      if (fn.is_none()) throw TapeError("the custom gradient function was released before its tape was used");
      py::object res = fn(up);
      std::vector<Tensor> grads;
      size_t i = 0;
      for (py::handle h : res) {
        if (h.is_none()) grads.emplace_back();
        else grads.push_back(to_tensor(h, i < in_dtypes.size() ? std::optional<DType>(in_dtypes[i]) : std::nullopt));
        ++i;
      }
      return grads;
    });
    return to_list(outs);
  });

  py::class_<PauseScope>(m, "_PauseRecording")
      .def(py::init<>())
      .def("__enter__", [](PauseScope& s) { s.pause = std::make_unique<RecordingPause>(); })
      .def("__exit__", [](PauseScope& s, py::args) { s.pause.reset(); });
  py::class_<AccessLogScope>(m, "_VariableAccessLog")
      .def(py::init<>())
      .def("__enter__", [](AccessLogScope& s) {
        s.log = std::make_unique<VariableAccessLog>();
        return &s;
      }, py::return_value_policy::reference)
      .def("__exit__", [](AccessLogScope& s, py::args) {})
      .def("stop", [](AccessLogScope& s) {
        std::vector<std::shared_ptr<Variable>> v = s.log ? s.log->variables() : std::vector<std::shared_ptr<Variable>>{};
        s.log.reset();
        return v;
      });

  m.def("live_tensors", &live_tensors);
  m.def("live_storages", &live_storages);
  m.def("live_records", &live_records);
  m.def("any_tape_recording", &any_tape_recording);
}

}  // namespace gt::py_bind
