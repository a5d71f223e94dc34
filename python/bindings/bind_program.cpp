// gt.function's core (gradtape/program.h): a recorder to trace with, and the program it makes.
// The Python side (python/gradtape/function.py) decides when to trace and what a call means.
#include <pybind11/stl.h>

#include <atomic>

#include "convert.h"
#include "gradtape/steps.h"
#include "gradtape/saved_model.h"

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

// A Python callable held by a program step: released with the GIL (a program may be freed by
// a thread that does not hold it), and forgotten if Python is already finalizing.
struct PyCallable {
  py::object fn;
  explicit PyCallable(py::object f) : fn(std::move(f)) {}
  ~PyCallable() { drop_reference(fn); }

  // fn(*values), as a program's host step calls it (with the GIL held): values read inside
  // are host-callback reads (tls_in_host_callback).
  py::object call_on(const std::vector<Tensor>& values) const {
    py::list l;
    for (const Tensor& t : values) l.append(wrap(t));
    struct Reading {
      Reading() { ++tls_in_host_callback; }
      ~Reading() { --tls_in_host_callback; }
    } reading;
    return fn(*l);
  }
};

// The fast path of gt.function calls (python/gradtape/_function.py, Function.__call__): the
// programs of the calls whose arguments are all tensors (or none), by their tensors' dtypes and
// shapes. A hit is one bound call: the arguments' signature checked here, the program run
// with the GIL released, the result built as the trace's structure gives it. A miss (another
// kind of argument, a signature not seen yet, or a trace in progress on this thread) returns
// the sentinel and the Python path decides. Used with the GIL held (the program is run
// without it, from a reference taken before).
struct CallCache {
  enum class Result { One, List, Tuple, Tree, Call };
  // Result::Tree: a result of plain lists, tuples and dicts, in preorder. A node is an output,
  // a constant leaf, or a container of the `size` nodes that follow it (as subtrees).
  struct Node {
    enum Kind { Output, Const, List, Tuple, Dict } kind;
    size_t size = 0;  // Output: the output's index; List, Tuple, Dict: the number of parts
    py::object value;  // Const: the leaf; Dict: the keys (a list, in order)
  };
  struct Entry {
    std::vector<std::pair<DType, Shape>> key;
    std::shared_ptr<Program> program;
    Result result;
    size_t index = 0;  // Result::One: which output
    py::object rebuild;  // Result::Call: outputs list -> result
    std::shared_ptr<const std::vector<Node>> tree;  // Result::Tree
  };

  // Result::Tree's nodes from the spec of _function._tree_spec.
  static void parse_tree(py::handle spec, std::vector<Node>& nodes) {
    if (py::isinstance<py::int_>(spec)) {
      nodes.push_back({Node::Output, spec.cast<size_t>(), py::object()});
      return;
    }
    auto t = spec.cast<py::tuple>();
    const std::string kind = t[0].cast<std::string>();
    if (kind == "const") {
      nodes.push_back({Node::Const, 0, py::reinterpret_borrow<py::object>(t[1])});
      return;
    }
    const bool dict = kind == "dict";
    if (!dict && kind != "list" && kind != "tuple") throw py::value_error("_CallCache.add: unknown tree node " + kind);
    auto parts = t[dict ? 2 : 1].cast<py::list>();
    nodes.push_back({dict ? Node::Dict : kind == "list" ? Node::List : Node::Tuple, parts.size(),
                     dict ? py::reinterpret_borrow<py::object>(t[1]) : py::object()});
    for (py::handle p : parts) parse_tree(p, nodes);
  }
  // The result from the tree at nodes[at] (advancing `at` past it).
  static py::object build_tree(const std::vector<Node>& nodes, size_t& at, const std::vector<Tensor>& out) {
    const Node& n = nodes.at(at++);
    switch (n.kind) {
      case Node::Output:
        return wrap(out.at(n.size));
      case Node::Const:
        return n.value;
      case Node::List: {
        py::list l(n.size);
        for (size_t i = 0; i < n.size; ++i) l[i] = build_tree(nodes, at, out);
        return std::move(l);
      }
      case Node::Tuple: {
        py::tuple t(n.size);
        for (size_t i = 0; i < n.size; ++i) t[i] = build_tree(nodes, at, out);
        return std::move(t);
      }
      default: {
        py::dict d;
        auto keys = n.value.cast<py::list>();
        for (size_t i = 0; i < n.size; ++i) d[keys[i]] = build_tree(nodes, at, out);
        return std::move(d);
      }
    }
  }
  static constexpr size_t kMaxEntries = 32;  // (found by a linear scan)
  std::vector<Entry> entries;
  py::object miss;

  // The entry for these arguments (nullptr if none, or if an argument is not a tensor).
  const Entry* find(const py::tuple& args) const {
    const size_t n = args.size();
    for (const Entry& e : entries) {
      if (e.key.size() != n) continue;
      bool same = true;
      for (size_t i = 0; i < n && same; ++i) {
        py::handle h = args[i];
        if (!is_tensor(h)) return nullptr;
        const TensorImpl& t = py::detail::initialised_only_caster<TensorImpl>::initialised(h);
        same = t.dtype == e.key[i].first && t.shape == e.key[i].second;
      }
      if (same) return &e;
    }
    return nullptr;
  }

  py::object call(const py::tuple& args) const {
    if (active_recorder()) return miss;  // (inside a trace: the function is traced inline)
    const Entry* e = find(args);
    if (!e) return miss;
    // (a tape or accumulator around the call watches a constant of the program: the Python path
    // runs the function eagerly, Function._constants_watched)
    if (Program::recording() && e->program->constants_watched()) return miss;
    std::vector<Tensor> in;
    in.reserve(args.size());
    for (py::handle h : args) in.push_back(to_tensor(h));
    // (what the result needs is copied now: another thread may add an entry, moving `entries`,
    // while this one runs without the GIL)
    std::shared_ptr<Program> p = e->program;
    const Result kind = e->result;
    const size_t index = e->index;
    py::object rebuild = e->rebuild;
    std::shared_ptr<const std::vector<Node>> tree = e->tree;
    // (a program shared across sizes ran at this exact signature once, so its guards hold;
    // if one failed all the same, before any effect, the Python path traces for these shapes)
    std::vector<Tensor> out;
    if (!without_gil([&] { return p->try_run(in, out); })) return miss;
    switch (kind) {
      case Result::One:
        return wrap(out.at(index));
      case Result::Tuple: {
        py::tuple t(out.size());
        for (size_t i = 0; i < out.size(); ++i) t[i] = wrap(out[i]);
        return std::move(t);
      }
      case Result::Tree: {
        size_t at = 0;
        return build_tree(*tree, at, out);
      }
      default: {
        py::list l(out.size());
        for (size_t i = 0; i < out.size(); ++i) l[i] = wrap(out[i]);
        if (kind == Result::List) return std::move(l);
        return rebuild(l);
      }
    }
  }

  // Adds the program of a call with these (tensor) arguments. `result`: ("one", i), ("list",),
  // ("tuple",), ("tree", spec) (_function._tree_spec) or ("call", f) with f taking the outputs
  // list.
  void add(const py::tuple& args, std::shared_ptr<Program> program, const py::tuple& result) {
    Entry e;
    for (py::handle h : args) {
      if (!is_tensor(h)) throw py::type_error("_CallCache.add: the arguments must be tensors");
      const Tensor t = to_tensor(h);
      e.key.emplace_back(t.dtype(), t.shape());
    }
    e.program = std::move(program);
    const std::string kind = result[0].cast<std::string>();
    if (kind == "one") {
      e.result = Result::One;
      e.index = result[1].cast<size_t>();
    } else if (kind == "list") {
      e.result = Result::List;
    } else if (kind == "tuple") {
      e.result = Result::Tuple;
    } else if (kind == "tree") {
      e.result = Result::Tree;
      auto nodes = std::make_shared<std::vector<Node>>();
      parse_tree(result[1], *nodes);
      e.tree = std::move(nodes);
    } else if (kind == "call") {
      e.result = Result::Call;
      e.rebuild = py::reinterpret_borrow<py::object>(result[1]);
    } else {
      throw py::value_error("_CallCache.add: unknown result kind " + kind);
    }
    if (find(args)) return;  // (two threads traced the same signature)
    if (entries.size() >= kMaxEntries) return;  // (a program shared by many sizes: the Python path finds it)
    entries.push_back(std::move(e));
  }

  // The garbage collector's view: the Python objects the cache holds (a result's rebuild
  // function and constant leaves may refer back to the Function that holds the cache).
  int traverse(visitproc visit, void* arg) const {
    Py_VISIT(miss.ptr());
    for (const Entry& e : entries) {
      Py_VISIT(e.rebuild.ptr());
      if (e.tree)
        for (const Node& n : *e.tree) Py_VISIT(n.value.ptr());
    }
    return 0;
  }
  // Breaks a cycle: drops every entry (a call in progress holds what it needs: call()).
  void clear() {
    std::vector<Entry> dropped;  // (destroyed after `entries` is empty: a destructor may run Python code)
    dropped.swap(entries);
    miss = py::none();
  }

  // For a class with a Python object's lifetime: the cache, if its C++ value was made yet
  // (the collector may see an instance before __init__ has run).
  static CallCache* of(PyObject* self) {
    for (auto vh : py::detail::values_and_holders(reinterpret_cast<py::detail::instance*>(self)))
      return vh.holder_constructed() ? vh.template value_ptr<CallCache>() : nullptr;
    return nullptr;
  }
};

// The base of gt.function's Function (python/gradtape/_function.py): its tp_call asks the
// function's call cache first, so that a cached call runs no Python frame (no __call__, no
// *args/**kwargs packing: bench/README.md, "The call path"). A miss, keyword arguments or
// gt.config.run_functions_eagerly(True) call the Python method `_call(*args, **kwargs)`.
// `_set_fast_call(call, miss)` gives the cache's bound `call` and the object it returns on a
// miss. (No vectorcall: Python subclasses of a C type do not inherit it before 3.12.)
struct FunctionBase {
  PyObject_HEAD
  PyObject* call;  // the _CallCache's bound `call`, or null
  PyObject* miss;
};
std::atomic<bool> g_run_functions_eagerly{false};

PyObject* function_base_call(PyObject* self, PyObject* args, PyObject* kwargs) {
  auto* f = reinterpret_cast<FunctionBase*>(self);
  if (f->call && (!kwargs || PyDict_GET_SIZE(kwargs) == 0) && !g_run_functions_eagerly.load(std::memory_order_relaxed)) {
    PyObject* call = f->call;  // (held: the run releases the GIL)
    Py_INCREF(call);
    PyObject* r = PyObject_CallOneArg(call, args);
    Py_DECREF(call);
    if (!r || r != f->miss) return r;
    Py_DECREF(r);
  }
  // (the class's _call, bound: an attribute of the instance named _call, which
  // functools.update_wrapper copies from the wrapped function's __dict__, is not the method)
  PyObject* method = PyObject_GetAttrString(reinterpret_cast<PyObject*>(Py_TYPE(self)), "_call");
  if (!method) return nullptr;
  PyObject* bound = PyMethod_New(method, self);
  Py_DECREF(method);
  if (!bound) return nullptr;
  PyObject* r = PyObject_Call(bound, args, kwargs);
  Py_DECREF(bound);
  return r;
}

int function_base_traverse(PyObject* self, visitproc visit, void* arg) {
  auto* f = reinterpret_cast<FunctionBase*>(self);
  Py_VISIT(f->call);
  Py_VISIT(f->miss);
  return 0;
}

int function_base_clear(PyObject* self) {
  auto* f = reinterpret_cast<FunctionBase*>(self);
  Py_CLEAR(f->call);
  Py_CLEAR(f->miss);
  return 0;
}

void function_base_dealloc(PyObject* self) {
  PyTypeObject* tp = Py_TYPE(self);
  PyObject_GC_UnTrack(self);
  function_base_clear(self);
  tp->tp_free(self);
  Py_DECREF(tp);
}

PyObject* function_base_set_fast_call(PyObject* self, PyObject* const* args, Py_ssize_t n) {
  if (n != 2) {
    PyErr_SetString(PyExc_TypeError, "_set_fast_call(call, miss) takes 2 arguments");
    return nullptr;
  }
  auto* f = reinterpret_cast<FunctionBase*>(self);
  PyObject* call = args[0] == Py_None ? nullptr : args[0];
  Py_XINCREF(call);
  Py_INCREF(args[1]);
  Py_XSETREF(f->call, call);
  Py_XSETREF(f->miss, args[1]);
  Py_RETURN_NONE;
}

PyMethodDef function_base_methods[] = {
    {"_set_fast_call", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(&function_base_set_fast_call)),
     METH_FASTCALL, "Sets the call cache's bound call and its miss sentinel (None: every call is the Python path)."},
    {nullptr, nullptr, 0, nullptr}};

PyType_Slot function_base_slots[] = {
    {Py_tp_call, reinterpret_cast<void*>(&function_base_call)},
    {Py_tp_traverse, reinterpret_cast<void*>(&function_base_traverse)},
    {Py_tp_clear, reinterpret_cast<void*>(&function_base_clear)},
    {Py_tp_dealloc, reinterpret_cast<void*>(&function_base_dealloc)},
    {Py_tp_methods, function_base_methods},
    {Py_tp_new, reinterpret_cast<void*>(&PyType_GenericNew)},
    {Py_tp_doc, const_cast<char*>("The C base of gt.function's Function: the call path of a cached call.")},
    {0, nullptr}};

PyType_Spec function_base_spec = {"gradtape._core._FunctionBase", sizeof(FunctionBase), 0,
                                  Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC, function_base_slots};

// The values of the live variables and the states of the live random streams, noted before a
// block whose effects gt.function undoes (_function._EffectsUndone: get_concrete_function, a
// second trace): restore() writes back each one the block changed. Weak: a variable or stream
// that dies in the block is not kept alive by it (nor any garbage cycle through its Python
// object); the values are held without a copy (a write to the variable then copies on write).
struct EffectsSnapshot {
  std::vector<std::pair<std::weak_ptr<Variable>, Tensor>> values;
  std::vector<std::pair<std::weak_ptr<random::PhiloxState>, random::PhiloxState>> states;

  uint64_t streams_mark = random::streams_made();  // (streams made after the snapshot: reset to how they were made)

  EffectsSnapshot() {
    for (std::shared_ptr<Variable>& v : Variable::live()) values.emplace_back(v, v->value());
    for (std::shared_ptr<random::PhiloxState>& s : random::live_streams()) states.emplace_back(s, *s);
  }

  void restore() {
    auto values_ = std::move(values);
    auto states_ = std::move(states);
    values.clear();
    states.clear();
    for (auto& [s, made] : random::streams_made_since(streams_mark)) states_.emplace_back(s, made);
    for (auto& [weak, held] : values_) {
      std::shared_ptr<Variable> v = weak.lock();
      if (!v || v->value().impl() == held.impl()) continue;
      if (ProgramRecorder* r = active_recorder()) {  // (as _assign_untraced: never a step)
        if (r->symbolic(held)) throw NotTraceable("gt.function: a value computed inside the function cannot be restored into a variable");
        r->check_argument(held, "a restored value");
      }
      v->assign(held);
    }
    for (auto& [weak, state] : states_)
      if (std::shared_ptr<random::PhiloxState> s = weak.lock())
        if (s->key != state.key || s->counter_lo != state.counter_lo || s->counter_hi != state.counter_hi) *s = state;
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
GT_REFUSE_UNINITIALISED(gt::py_bind::CallCache)
GT_REFUSE_UNINITIALISED(gt::SavedModelWriter)
GT_REFUSE_UNINITIALISED(gt::SavedModel)
GT_REFUSE_UNINITIALISED(gt::py_bind::EffectsSnapshot)

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
      .def("try_run", [](const Program& p, const py::list& inputs) -> py::object {
        std::vector<Tensor> in = tensors_of(inputs);
        std::vector<Tensor> out;
        const bool ok = without_gil([&] { return p.try_run(in, out); });
        if (!ok) return py::none();
        py::list l(out.size());
        for (size_t i = 0; i < out.size(); ++i) l[i] = wrap(out[i]);
        return std::move(l);
      }, "As run, but None when a shape guard fails before any effect (the caller then traces for these shapes).")
      .def_property_readonly("input_guards", [](const Program& p) {
        py::list l;
        for (const Program::InputGuard& g : p.input_guards()) l.append(py::make_tuple(g.input, g.dim, g.value));
        return l;
      }, "[(input index, dimension, value)]: the input dimensions the trace read.")
      .def_property_readonly("shape_polymorphic_candidate", &Program::shape_polymorphic_candidate)
      .def("describe", [](const Program& p) { return py::bytes(p.describe()); },
           "The program as bytes for comparing two traces (steps, guards, constants, variables).")
      .def_property_readonly("num_steps", &Program::num_steps)
      .def_property_readonly("num_inputs", &Program::num_inputs)
      .def_property_readonly("num_constants", &Program::num_constants)
      .def("step_names", &Program::step_names)
      .def("constants_watched", &Program::constants_watched,
           "Whether a tape or accumulator recording on this thread watches a constant of the program.")
      .def_property_readonly("gradient_plan", &Program::gradient_plan_state,
                             "The gradient plan's state: 'none' (the program cannot have one), 'not captured' "
                             "(its next run without an outer tape captures it), 'capturing', or 'ready'.")
      .def_property_readonly("scalar_code", &Program::scalar_code_state,
                             "The scalar code's state: 'none', 'not traced', 'tracing', 'ready', or "
                             "'refused: <why>'.");
  py::class_<CallCache>(m, "_CallCache", py::custom_type_setup([](PyHeapTypeObject* heap_type) {
                          PyTypeObject* type = &heap_type->ht_type;
                          type->tp_flags |= Py_TPFLAGS_HAVE_GC;
                          type->tp_traverse = [](PyObject* self, visitproc visit, void* arg) {
                            Py_VISIT(Py_TYPE(self));
                            const CallCache* c = CallCache::of(self);
                            return c ? c->traverse(visit, arg) : 0;
                          };
                          type->tp_clear = [](PyObject* self) {
                            if (CallCache* c = CallCache::of(self)) c->clear();
                            return 0;
                          };
                        }))
      .def(py::init([](py::object miss) {
        CallCache c;
        c.miss = std::move(miss);
        return c;
      }), py::arg("miss"))
      .def("call", &CallCache::call,
           "The result of a call with these arguments by a cached program, or the `miss` object given "
           "to the constructor (an argument not a tensor, a new signature, or a trace in progress).")
      .def("add", &CallCache::add, py::arg("args"), py::arg("program"), py::arg("result"))
      .def("__len__", [](const CallCache& c) { return c.entries.size(); });
  PyObject* function_base = PyType_FromSpec(&function_base_spec);
  if (!function_base) throw py::error_already_set();
  m.add_object("_FunctionBase", py::reinterpret_steal<py::object>(function_base));
  m.def("_set_run_functions_eagerly", [](bool on) { g_run_functions_eagerly.store(on); },
        "gt.config.run_functions_eagerly's flag, as the call path of _FunctionBase reads it.");
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
      .def("input", [](RecorderScope& s, py::handle t) { return wrap(s.get().input(to_tensor(t))); })
      .def("finish", [](RecorderScope& s, const py::list& outputs) { return s.get().finish(tensors_of(outputs)); });
  // Saved models (gradtape/saved_model.h; the Python API is gradtape/saved_model.py).
  auto specs_of = [](const py::list& specs) {
    std::vector<InputSpec> v;
    for (py::handle h : specs) {
      auto t = h.cast<py::tuple>();
      InputSpec s{dtype_from_py(t[0]), {}};
      for (py::handle d : t[1].cast<py::list>()) s.shape.push_back(d.is_none() ? -1 : d.cast<int64_t>());
      v.push_back(std::move(s));
    }
    return v;
  };
  auto specs_to_py = [](const std::vector<InputSpec>& specs) {
    py::list l;
    for (const InputSpec& s : specs) {
      py::list shape;
      for (int64_t d : s.shape) shape.append(d < 0 ? py::object(py::none()) : py::object(py::int_(d)));
      l.append(py::make_tuple(dtype_name(s.dtype), shape));
    }
    return l;
  };
  py::class_<SavedModelWriter>(m, "_SavedModelWriter")
      .def(py::init<>())
      .def("add_variable", [](SavedModelWriter& w, py::handle v) { w.add_variable(variable_ref(v).shared_from_this()); })
      .def("add_function", &SavedModelWriter::add_function)
      .def("add_concrete", [specs_of](SavedModelWriter& w, const py::list& specs, const Program& p, const std::string& meta,
                                      bool shape_polymorphic) {
        w.add_concrete(specs_of(specs), p, meta, shape_polymorphic);
      }, py::arg("specs"), py::arg("program"), py::arg("meta"), py::arg("shape_polymorphic") = false,
         "Adds a concrete function: [(dtype name, [dims or None])], its program, its Python metadata; "
         "shape_polymorphic: the program serves the None dims too (its shape guards are saved).")
      .def("set_custom_gradients", &SavedModelWriter::set_custom_gradients, py::arg("on"),
           "Whether the gradient blocks of gt.custom_gradient calls are saved (SaveOptions.experimental_custom_gradients).")
      .def("variables", [](const SavedModelWriter& w) {
        py::list l;
        for (const auto& v : w.variables()) l.append(py::cast(v));
        return l;
      })
      .def("write", &SavedModelWriter::write, py::arg("dir"), py::arg("keys"), py::arg("members"), py::arg("meta"));
  py::class_<SavedModel, std::shared_ptr<SavedModel>>(m, "_SavedModel")
      .def_property_readonly("meta", &SavedModel::meta)
      .def_property_readonly("version", &SavedModel::version)
      .def("functions", [specs_to_py](const SavedModel& sm) {
        py::list l;
        for (const SavedFunction& f : sm.functions()) {
          py::list cs;
          for (const SavedConcrete& c : f.concretes) cs.append(py::make_tuple(specs_to_py(c.inputs), c.program, c.meta));
          l.append(py::make_tuple(f.name, f.meta, cs));
        }
        return l;
      }, "[(name, meta, [(input specs, program, meta)])]")
      .def("variables", [](const SavedModel& sm) {
        py::list l;
        for (const auto& v : sm.variables()) l.append(py::cast(v));
        return l;
      })
      .def("variable_keys", &SavedModel::variable_keys);
  m.def("_variable_value_copy", [](py::handle v) { return wrap(variable_ref(v).value().clone()); },
        "A copy of a variable's current value, read without tracing or telling tapes (gt.saved_model.save "
        "undoes the effects of the traces it makes with it).");
  // gt.print (gradtape/steps.h): the formatting, and the print step of a traced function, whose
  // "stdout" / "stderr" are Python's sys.stdout / sys.stderr at the time it prints.
  steps::set_print_sink([](const std::string& stream, const std::string& text) {
    // (a Python exception, BrokenPipeError or KeyboardInterrupt say, propagates as it is)
    if (!Py_IsInitialized()) return false;
    py::gil_scoped_acquire gil;
    py::object f = py::module_::import("sys").attr(stream == "stdout" ? "stdout" : "stderr");
    if (f.is_none()) return false;
    f.attr("write")(text);
    if (py::hasattr(f, "flush")) f.attr("flush")();
    return true;
  });
  m.def("_variable_value_held", [](py::handle v) { return wrap(variable_ref(v).value()); },
        "A variable's current value, read without tracing or telling tapes, and without a copy: while it is "
        "held, a write to the variable makes a new buffer (copy on write), so it stays the value as it was "
        "(as _EffectsSnapshot holds the values it puts back).");
  py::class_<EffectsSnapshot>(m, "_EffectsSnapshot")
      .def("restore", &EffectsSnapshot::restore,
           "Writes back the noted value of each live variable, and the noted state of each live stream, "
           "that changed since (once: the snapshot is then empty).");
  m.def("_effects_snapshot", [] { return new EffectsSnapshot(); }, py::return_value_policy::take_ownership,
        "The values of the live variables and the states of the live random streams, noted weakly and "
        "without walking the Python heap: what a block whose effects gt.function undoes puts back "
        "(_EffectsSnapshot.restore).");
  m.def("_live_variables", [] {
    py::list out;
    for (std::shared_ptr<Variable>& v : Variable::live()) out.append(py::cast(std::move(v)));
    return out;
  }, "Every variable alive now, in the order made (Variable::live): what a trace whose effects gt.function "
     "undoes may write, found without walking the Python heap.");
  m.def("_live_streams", [] {
    py::list out;
    for (std::shared_ptr<random::PhiloxState>& s : random::live_streams()) out.append(py::cast(std::move(s)));
    return out;
  }, "Every random stream (_PhiloxState) alive now, in the order made (random::live_streams): what a trace "
     "whose effects gt.function undoes may advance.");
  m.def("_set_print_muted", &steps::set_print_muted, py::arg("muted"),
        "gt.print writes nothing on this thread while set (returns the old value): the prints of a trace "
        "whose effects gt.function undoes.");
  m.def("_print_muted", &steps::print_muted, "Whether gt.print is muted on this thread (_set_print_muted).");
  m.def("_format_for_print", [](py::handle t, int64_t summarize) { return steps::format_for_print(to_tensor(t), summarize); },
        "A tensor laid out as gt.print prints it.");
  m.def("_print", [](const py::list& values, std::vector<std::string> texts, std::vector<int64_t> is_value,
                     int64_t summarize, std::string sep, std::string end, std::string stream) {
    std::vector<Tensor> v;
    for (py::handle h : values) v.push_back(to_tensor(h));
    traced_effect("print", &steps::print, v, texts, is_value, summarize, sep, end, stream);
  }, "gt.print's step: inside gt.function, a step with an effect that prints at each call (gradtape/steps.h).");
  m.def("_unique_parts", [](py::handle x) {
    Tensor t = to_tensor(x);
    Tensor first = traced_shape_checked("unique_first", &steps::unique_first, t);
    Tensor index = traced("unique_index", &steps::unique_index, t);
    Tensor count = traced_shape_checked("unique_count", &steps::unique_count, t);
    return py::make_tuple(wrap(first), wrap(index), wrap(count));
  }, "gt.unique's parts (gradtape/steps.h): the int64 positions of the distinct elements' first appearances, "
     "each element's position among them, and their counts; inside gt.function, steps (the first and last "
     "checked against the trace's shape at each run, as boolean_mask's).");
  m.def("_assign_untraced", [](py::handle v, py::handle value) {
    Variable& var = variable_ref(v);
    Tensor t = to_tensor(value, std::nullopt, var.dtype());
    if (ProgramRecorder* r = active_recorder()) {
      if (r->symbolic(t)) throw NotTraceable("gt.function: a value computed inside the function cannot be restored into a variable");
      r->check_argument(t, "a restored value");
    }
    var.assign(t);
  }, "v.assign(value) now, never a step of the gt.function being traced: a checkpoint value restored into "
     "a variable made by the trace (an optimizer's slot) is written once, as TensorFlow's init_scope would.");
  m.def("_load_saved_model", [](const std::string& dir) { return without_gil([&] { return load_saved_model(dir); }); },
        "Loads a saved model's programs and variables (gradtape/saved_model.h).");
  m.def("_tracing", [] { return active_recorder() != nullptr; }, "Whether gt.function is tracing on this thread.");
  m.def("_recording", &Program::recording, "Whether a tape or accumulator records on this thread.");
  m.def("_note_rank_read", [](py::handle t) {
    if (ProgramRecorder* r = active_recorder(); r && is_tensor_like(t)) r->note_rank_read(to_tensor(t));
  }, "While tracing: t's rank is read by the traced code (ProgramRecorder::note_rank_read).");
  m.def("_note_shape_read", [](py::handle t, int dim) {
    if (active_recorder() && is_tensor_like(t)) note_shape_read(to_tensor(t), dim);
  }, "While tracing: the traced code read dimension dim (-1: all) of t (gradtape._shape._TracedShape).");
  // Control flow while tracing (gradtape/control_flow.py): blocks, cond and while steps.
  auto recorder = []() -> ProgramRecorder& {
    ProgramRecorder* r = active_recorder();
    if (!r) throw py::value_error("gt.function is not tracing on this thread");
    return *r;
  };
  m.def("_traced", [](py::handle t) {
    ProgramRecorder* r = active_recorder();
    return r && is_tensor_like(t) && r->traced_value(to_tensor(t));
  }, "Whether t is a traced tensor (computed from the inputs or variables of the function being traced).");
  m.def("_callback", [recorder](py::object fn, const py::list& inputs) {
    auto held = std::make_shared<PyCallable>(std::move(fn));
    recorder().callback("callback", tensors_of(inputs), [held](const std::vector<Tensor>& values) {
      py::gil_scoped_acquire gil;
      held->call_on(values);
    });
  }, "While tracing: a step calling fn(*tensor values) at each run, with the GIL (gt.print).");
  m.def("_host_call", [recorder](py::object fn, const py::list& inputs, const std::string& name) {
    auto held = std::make_shared<PyCallable>(std::move(fn));
    std::vector<Tensor> r = recorder().host_call(name, tensors_of(inputs), [held](const std::vector<Tensor>& values) {
      py::gil_scoped_acquire gil;
      py::object out = held->call_on(values);
      std::vector<Tensor> res;
      for (py::handle h : out) res.push_back(to_tensor(h));
      return res;
    });
    py::list l;
    for (const Tensor& x : r) l.append(wrap(x));
    return l;
  }, "While tracing: a step calling fn(*tensor values) at each run, with the GIL, whose results (a list of "
     "tensors) are the step's outputs (gt.py_function, gt.numpy_function); called now too, as eager code.");
  // gt.custom_gradient while tracing (gradtape/custom_gradient.py): the forward's tape pause,
  // and the block its gradient function is traced into.
  m.def("_tape_pause_step", [recorder](bool on) { recorder().tape_pause(on); },
        "While tracing: a step pausing (on) or resuming the tapes (a custom gradient function's forward).");
  m.def("_custom_gradient_begin", [recorder](const py::list& outputs) {
    std::vector<Tensor> r = recorder().custom_gradient_begin(tensors_of(outputs));
    py::list l;
    for (const Tensor& x : r) l.append(wrap(x));
    return l;
  }, "While tracing: opens the block a custom gradient function's grad_fn is traced into; returns its upstream "
     "gradients (one per output).");
  m.def("_custom_gradient_end", [recorder](const py::list& inputs, const py::list& results, const py::list& grads) {
    std::vector<Tensor> g;
    for (py::handle h : grads) g.push_back(h.is_none() ? Tensor() : to_tensor(h));
    std::vector<Tensor> r = recorder().custom_gradient_end(tensors_of(inputs), tensors_of(results), g);
    py::list l;
    for (const Tensor& x : r) l.append(wrap(x));
    return l;
  }, "While tracing: closes grad_fn's block with its gradients (None or a tensor per input) and adds the custom "
     "gradient step; returns the call's outputs.");
  m.def("_custom_gradient_abort", [recorder] { recorder().custom_gradient_abort(); });
  m.def("_block_begin", [recorder] { recorder().begin_block(); });
  m.def("_block_end", [recorder](const py::list& results) { return recorder().end_block(tensors_of(results)); });
  m.def("_cond", [recorder](py::handle pred, int t, int f) {
    std::vector<Tensor> r = recorder().cond(to_tensor(pred), t, f);
    py::list l;
    for (const Tensor& x : r) l.append(wrap(x));
    return l;
  });
  m.def("_loop_variables", [recorder](const py::list& init) {
    std::vector<Tensor> r = recorder().loop_variables(tensors_of(init));
    py::list l;
    for (const Tensor& x : r) l.append(wrap(x));
    return l;
  });
  m.def("_while_loop", [recorder](int c, int b, const py::list& vars, int64_t max_iterations) {
    std::vector<Tensor> r = recorder().while_loop(c, b, tensors_of(vars), max_iterations);
    py::list l;
    for (const Tensor& x : r) l.append(wrap(x));
    return l;
  });
}

}  // namespace gt::py_bind
