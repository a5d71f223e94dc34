// The tape as seen from Python (gradtape._core._Tape, wrapped by gradtape.GradientTape),
// custom-gradient recording, recording pauses, variable access logs and live-object counters.
#include <pybind11/functional.h>
#include <pybind11/stl.h>

#include <algorithm>

#include "convert.h"

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
// Its last owner may be a reverse sweep running without the GIL, or a thread's tape stack torn
// down after the interpreter has finalized (then the reference is left alone).
struct PyHook {
  py::weakref fn;
  explicit PyHook(py::handle f) : fn(f) {}
  ~PyHook() { drop_reference(fn); }
};

struct PauseScope {
  std::unique_ptr<RecordingPause> pause;
};
struct AccessLogScope {
  std::unique_ptr<VariableAccessLog> log;
};


// This thread's active Python tape objects (their `_keepalive` lists hold custom gradient
// functions, which the core references only weakly). A list in a threading.local, not a C++
// thread_local: Python must drop these references (with the GIL) when a thread or the
// interpreter ends, even if a tape was never exited.
py::list active_python_tapes() {
  // Kept in the thread state's own dict (cleared by Python when the thread ends): a direct
  // lookup, cheaper than a threading.local on every `with` block.
  static PyObject* key = PyUnicode_InternFromString("gradtape.active_tapes");
  PyObject* d = PyThreadState_GetDict();  // borrowed
  if (!d) throw std::runtime_error("gradtape: no Python thread state");
  PyObject* stack = PyDict_GetItemWithError(d, key);  // borrowed
  if (stack) return py::reinterpret_borrow<py::list>(stack);
  if (PyErr_Occurred()) throw py::error_already_set();
  py::list fresh;
  if (PyDict_SetItem(d, key, fresh.ptr()) != 0) throw py::error_already_set();
  return fresh;
}

// Takes `tape` off the active list of the thread with this id (threading.get_ident()): a tape
// exited on the wrong thread is still on the list of the thread that entered it.
void forget_active_tape(py::handle tape, uint64_t ident) {
  static PyObject* key = PyUnicode_InternFromString("gradtape.active_tapes");
  for (PyThreadState* ts = PyInterpreterState_ThreadHead(PyInterpreterState_Get()); ts; ts = PyThreadState_Next(ts)) {
    if (uint64_t(ts->thread_id) != ident || !ts->dict) continue;
    PyObject* stack = PyDict_GetItemWithError(ts->dict, key);  // borrowed
    if (!stack) {
      PyErr_Clear();
      return;
    }
    for (Py_ssize_t i = PyList_GET_SIZE(stack); i-- > 0;)
      if (PyList_GET_ITEM(stack, i) == tape.ptr()) {
        PyList_SetSlice(stack, i, i + 1, nullptr);
        return;
      }
  }
}

py::list keepalive_list(py::handle tape) {
  py::object d = py::getattr(tape, "__dict__", py::none());
  if (d.is_none()) return py::list();  // a bare _Tape: nothing can hold the function
  py::dict dict = d.cast<py::dict>();
  if (!dict.contains("_keepalive")) dict["_keepalive"] = py::list();
  return dict["_keepalive"].cast<py::list>();
}

int unconnected_mode(py::handle u) {
  // A str is tested first: hasattr() on it raises and formats an AttributeError (~0.5 us).
  py::object v = !py::isinstance<py::str>(u) && py::hasattr(u, "value") ? py::getattr(u, "value")
                                                                        : py::reinterpret_borrow<py::object>(u);
  if (py::isinstance<py::str>(v)) {
    std::string s = v.cast<std::string>();
    if (s == "none") return 0;
    if (s == "zero") return 1;
    if (s == "error") return 2;
  }
  throw py::value_error("Unknown value for unconnected_gradients: " + std::string(py::repr(u)) +
                        " (expected 'none', 'zero' or 'error')");
}

void warn(const std::string& msg) {
  if (PyErr_WarnEx(PyExc_UserWarning, msg.c_str(), 2) != 0) throw py::error_already_set();
}

// What gt.function has no step for yet: NotTraceable while a program is traced.
void refuse_while_tracing(const char* what) {
  if (active_recorder())
    throw NotTraceable(std::string("gt.function cannot trace ") + what +
                       " yet; call it outside the function, or run the function eagerly "
                       "(gt.config.run_functions_eagerly(True))");
}

// What a gradient or Jacobian taken outside a trace passes for gt.function's hidden dependences.
const std::vector<HiddenDependence>& no_hidden() {
  static const std::vector<HiddenDependence> none;
  return none;
}

py::list run_gradient(py::handle self, const py::list& targets, const py::list& sources,
                      const py::list& output_gradients, int mode) {
  Tape& t = self.cast<Tape&>();
  std::vector<Source> srcs;
  srcs.reserve(sources.size());
  for (py::handle h : sources) {
    srcs.push_back(source_from_py(h));
    const Source& s = srcs.back();
    DType d = s.variable ? s.variable->dtype() : s.tensor.dtype();
    if (!is_floating(d))
      warn(std::string("The dtype of the source tensor must be floating (e.g. gt.float32) when calling "
                       "GradientTape.gradient, got ") + dtype_name(d) + "; its gradient is None");
  }
  if (t.persistent() && t.entered_on() == uint64_t(PyThread_get_thread_ident()))
    warn("Calling GradientTape.gradient on a persistent tape inside its context is significantly less "
         "efficient than calling it outside the context (it records the gradient computation itself).");
  std::vector<Tensor> tg = targets_from_py(targets);
  // (target, source) pairs that are one Python object: TensorFlow matches them by id
  std::vector<std::pair<size_t, size_t>> same;
  for (size_t i = 0; i < targets.size(); ++i)
    for (size_t j = 0; j < sources.size(); ++j)
      if (targets[i].is(sources[j])) same.emplace_back(i, j);
  std::vector<Tensor> outs;
  if (output_gradients.size()) {
    if (output_gradients.size() != targets.size())
      throw ValueError_("output_gradients has " + std::to_string(output_gradients.size()) + " entries for " +
                        std::to_string(targets.size()) + " targets");
    for (size_t i = 0; i < output_gradients.size(); ++i) {
      py::handle h = output_gradients[i];
      outs.push_back(h.is_none() ? Tensor() : is_tensor_like(h) ? to_tensor(h) : to_tensor(h, std::nullopt, tg[i].dtype()));
    }
  }
  std::vector<Tensor> result;
  // A non-persistent tape frees its records: drop the custom gradient functions with them.
  auto release = [&] {
    if (!t.persistent() && t.had_custom_gradients()) keepalive_list(self).attr("clear")();
  };
  try {
    // The reverse sweep runs without the GIL (custom gradients take it back for their call).
    ProgramRecorder* rec = active_recorder();
    std::vector<HiddenDependence>* hidden = rec ? &rec->hidden_dependences() : nullptr;
    result = without_gil([&] { return t.gradient(tg, srcs, outs, Unconnected(mode), same, hidden); });
    if (rec) rec->tape_gradient(t, tg, srcs, outs, Unconnected(mode), same, result);
  } catch (...) {
    release();
    throw;
  }
  release();
  return to_list(result);
}

bool is_flat_list(py::handle h) {
  if (!py::isinstance<py::list>(h) && !py::isinstance<py::tuple>(h)) return false;
  if (py::isinstance<py::tuple>(h) && py::hasattr(h, "_fields")) return false;  // namedtuple
  for (py::handle x : h)
    if (!is_tensor_like(x)) return false;
  return true;
}

// tape.gradient(): flat cases in C++; nests (dicts, nested lists) via the Python helper.
py::object gradient_entry(py::object self, py::object target, py::object sources, py::object output_gradients,
                          py::object unconnected) {
  if (target.is_none())
    throw TypeError_("Argument `target` should be a list or nested structure of Tensors, Variables or "
                     "CompositeTensors to be differentiated, but received None.");
  const int mode = unconnected_mode(unconnected);
  const bool single_source = is_tensor_like(sources);
  const bool flat_target = is_tensor_like(target) || is_flat_list(target);
  const bool flat_out = output_gradients.is_none() || is_flat_list(output_gradients) || is_tensor_like(output_gradients);
  if (!flat_target || !flat_out || !(single_source || is_flat_list(sources)))
    return py::module_::import("gradtape.tape").attr("_nested_gradient")(self, target, sources, output_gradients,
                                                                          unconnected);
  py::list targets;
  if (is_tensor_like(target)) targets.append(target);
  else for (py::handle h : target) targets.append(h);
  py::list srcs;
  if (single_source) srcs.append(sources);
  else for (py::handle h : sources) srcs.append(h);
  py::list outs;
  if (is_tensor_like(output_gradients)) outs.append(output_gradients);
  else if (!output_gradients.is_none()) for (py::handle h : output_gradients) outs.append(h);
  py::list grads = run_gradient(self, targets, srcs, outs, mode);
  if (single_source) return grads[0];
  if (py::isinstance<py::tuple>(sources)) return py::tuple(grads);
  return std::move(grads);
}

}  // namespace
}  // namespace gt::py_bind

GT_REFUSE_UNINITIALISED(gt::py_bind::PauseScope)
GT_REFUSE_UNINITIALISED(gt::py_bind::AccessLogScope)

namespace gt::py_bind {

void bind_tape(py::module_& m) {
  py::class_<Tape>(m, "_Tape")
      // (any object, by its truth value, as a Python flag is: persistent=1 or a config string)
      .def(py::init([](py::handle persistent, py::handle watch) {
             const int p = PyObject_IsTrue(persistent.ptr()), w = PyObject_IsTrue(watch.ptr());
             if (p < 0 || w < 0) throw py::error_already_set();
             return new Tape(p == 1, w == 1);
           }),
           py::arg("persistent") = false, py::arg("watch_accessed_variables") = true)
      .def("__enter__", [](py::object self) {
        try {
          Tape& t = self.cast<Tape&>();
          // (the trace's step first: when it is refused, the tape was not entered)
          if (ProgramRecorder* r = active_recorder()) r->tape_enter(t, t.persistent(), t.watch_accessed_variables());
          t.push();
        } catch (const InvalidArgument& e) {  // re-entering an active tape: TensorFlow's plain ValueError
          throw py::value_error(e.what());
        }
        active_python_tapes().append(self);
        return self;
      })
      .def("__exit__", [](py::object self, py::args) {
        Tape& t = self.cast<Tape&>();
        const uint64_t owner = t.entered_on();
        try {
          t.pop();
          if (ProgramRecorder* r = active_recorder(); r && r->owns_tape(t)) r->tape_exit(t);
        } catch (const TapeError&) {  // exited on another thread than the one that entered it
          forget_active_tape(self, owner);
          throw;
        }
        py::list v = active_python_tapes();
        for (size_t i = v.size(); i-- > 0;)
          if (v[i].ptr() == self.ptr()) {
            PyList_SetSlice(v.ptr(), Py_ssize_t(i), Py_ssize_t(i + 1), nullptr);
            break;
          }
        return false;
      })
      .def_property_readonly("active", &Tape::active)
      .def_property_readonly("persistent", &Tape::persistent)
      .def_property_readonly("num_records", &Tape::num_records)
      .def_property_readonly("_bookkeeping_bytes", &Tape::bookkeeping_bytes)
      .def_property("recording", &Tape::recording, [](Tape& t, bool on) {
        t.set_recording(on);
        if (ProgramRecorder* r = active_recorder(); r && r->owns_tape(t)) r->tape_set_recording(t, on);
      })
      .def_property_readonly("_has_recording", &Tape::has_recording)
      .def("_watch", [](Tape& t, py::handle h) {
        ProgramRecorder* r = active_recorder();
        if (py::isinstance<Variable>(h)) {
          auto v = h.cast<std::shared_ptr<Variable>>();
          t.watch(v);
          if (r) r->tape_watch(t, v);
        } else if (py::isinstance<TensorImpl>(h)) {
          Tensor x(h.cast<std::shared_ptr<TensorImpl>>());
          t.watch(x);
          if (r) r->tape_watch(t, x);
        } else throw InvalidArgument("Passed in object of type " + std::string(py::str(py::type::of(h).attr("__name__"))) +
                                   ", not tf.Tensor or tf.Variable or ExtensionType.");
      })
      .def("_watched_variables", [](const Tape& t) { return t.watched_variables(); })
      .def("_reset", [](Tape& t) {
        t.reset();
        if (ProgramRecorder* r = active_recorder(); r && r->owns_tape(t)) r->tape_reset(t);
      })
      .def("gradient", &gradient_entry, py::arg("target"), py::arg("sources"),
           py::arg("output_gradients") = py::none(), py::arg("unconnected_gradients") = py::str("none"),
           "d(sum of targets)/d(source) for each source, in the structure of `sources`.")
      .def("_gradient_flat", [](py::object self, const py::list& targets, const py::list& sources,
                                const py::list& output_gradients, int mode) {
        return run_gradient(self, targets, sources, output_gradients, mode);
      })
      .def("_jacobian", [](Tape& t, py::handle target, const py::list& sources, int mode, int direction) {
        Tensor tg = to_tensor(target);
        std::vector<Source> srcs = sources_from_py(sources);
        ProgramRecorder* rec = active_recorder();
        const std::vector<HiddenDependence>& hidden = rec ? rec->hidden_dependences() : no_hidden();
        std::vector<Tensor> r =
            without_gil([&] { return t.jacobian(tg, srcs, Unconnected(mode), JacobianMode(direction), hidden); });
        if (rec) rec->tape_jacobian(t, tg, srcs, Unconnected(mode), JacobianMode(direction), r);
        return to_list(r);
      }, py::arg("target"), py::arg("sources"), py::arg("mode"), py::arg("direction") = 0)
      .def("_release_custom_gradients", [](py::object self) { keepalive_list(self).attr("clear")(); })
      .def("_batch_jacobian", [](Tape& t, py::handle target, py::handle source, int mode, int direction) {
        Tensor tg = to_tensor(target);
        Source src = source_from_py(source);
        ProgramRecorder* rec = active_recorder();
        const std::vector<HiddenDependence>& hidden = rec ? rec->hidden_dependences() : no_hidden();
        Tensor r = without_gil(
            [&] { return t.batch_jacobian(tg, src, Unconnected(mode), JacobianMode(direction), hidden); });
        if (rec) rec->tape_batch_jacobian(t, tg, src, Unconnected(mode), JacobianMode(direction), r);
        return wrap(r);
      }, py::arg("target"), py::arg("source"), py::arg("mode"), py::arg("direction") = 0);

  m.def("_keep_alive_on_active_tapes", [](py::object obj) {
    for (py::handle tape : active_python_tapes()) keepalive_list(tape).append(obj);
  }, "Makes every Python tape active on this thread hold `obj` (a custom gradient function).");

  m.def("_record_custom", [](const py::list& inputs, const py::list& outputs, py::object grad_fn) {
    refuse_while_tracing("a gt.custom_gradient function");
    std::vector<Tensor> ins, results, outs;
    for (py::handle h : inputs) ins.push_back(to_tensor(h));
    for (py::handle h : outputs) {
      results.push_back(to_tensor(h));
      outs.push_back(stop_gradient(results.back()));  // fresh tensors, never an input's
    }
    auto hook = std::make_shared<PyHook>(grad_fn);
    std::vector<DType> in_dtypes;
    std::vector<Shape> in_shapes;
    for (const Tensor& t : ins) {
      in_dtypes.push_back(t.dtype());
      in_shapes.push_back(t.shape());
    }
    const int out0_rank = outs.empty() ? 0 : outs[0].ndim();
    GradHook rule = [hook, in_dtypes, in_shapes, out0_rank](const std::vector<Tensor>& upstream) {
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
      check_custom_gradients(grads, upstream, in_shapes, out0_rank);
      return grads;
    };
    record_custom(ins, outs, rule);
    forward_custom(ins, results, outs, rule);  // the accumulators' tangents
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
