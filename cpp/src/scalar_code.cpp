// Scalar code (scalar_code.h): the trace the kernels report to, its compilation into
// instructions over registers, and their run.
#include "scalar_code.h"

#include "structural.h"

#include <atomic>
#include <cstring>
#include <unordered_map>
#include <unordered_set>

namespace gt::scalar_code {

thread_local Trace* tls_trace GT_TLS = nullptr;

namespace {
std::atomic<bool> g_enabled{true};

// A value the code can hold in a register: a rank-0 float32, float64 or bool tensor. An op's
// operand or result may carry a structural-zero mask (docs/structural-zeros.md): the ops that
// make and apply masks report to the trace, and each test of whether a mask is set is a guard
// (structural.cpp's any_true reads it as C++ code reads a value); the code carries no mask.
bool scalar_value(const Tensor& t) {
  return t.defined() && t.ndim() == 0 &&
         (t.dtype() == DType::Float32 || t.dtype() == DType::Float64 || t.dtype() == DType::Bool);
}
bool scalar_float(const Tensor& t) { return scalar_value(t) && t.dtype() != DType::Bool; }
// What enters the code or leaves it carries no mask: an input, a variable's value, a constant,
// an output (a masked output keeps its planned runs, whose outputs carry the mask).
bool unmasked_value(const Tensor& t) { return scalar_value(t) && !t.get()->zero_mask; }

// An operand is known by its storage: a reshape or a read of a variable shares its buffer.
const void* key(const Tensor& t) { return t.get()->storage.get(); }

void refuse(Trace& tr, const char* why) {
  if (tr.refused.empty()) tr.refused = why;
}

// The registers of this thread's runs (a run calls no other program: no reentrancy).
thread_local std::vector<uint64_t> tls_regs;
}  // namespace

void set_enabled(bool on) { g_enabled.store(on); }
bool enabled() { return g_enabled.load(std::memory_order_relaxed); }

TraceScope::TraceScope(Trace& t) : saved_(tls_trace) {
  t.start_seq = next_tensor_seq();
  t.thread = this_thread_number();
  tls_trace = &t;
}
TraceScope::~TraceScope() { tls_trace = saved_; }

void note_op(Fn f32, Fn f64, const Tensor& a, const Tensor* b, const Tensor& out) {
  Trace& tr = *tls_trace;
  if (!tr.refused.empty()) return;
  if (!scalar_float(out) || !scalar_float(a) || (b && !scalar_float(*b)) || a.dtype() != out.dtype() ||
      (b && b->dtype() != out.dtype())) {
    refuse(tr, "an elementwise op on a value that is not a rank-0 float32 or float64 tensor");
    return;
  }
  tr.ops.push_back({out.dtype() == DType::Float32 ? f32 : f64, a, b ? *b : Tensor(), Tensor(), out});
}

void note_compare_slow(Fn f32, Fn f64, Fn b8, const Tensor& a, const Tensor* b, const Tensor& out) {
  Trace& tr = *tls_trace;
  if (!tr.refused.empty()) return;
  const DType d = a.dtype();
  const Fn fn = d == DType::Float32 ? f32 : d == DType::Float64 ? f64 : d == DType::Bool ? b8 : nullptr;
  if (!fn || !scalar_value(a) || (b && (!scalar_value(*b) || b->dtype() != d)) || !scalar_value(out) ||
      out.dtype() != DType::Bool) {
    refuse(tr, "a comparison of values that are not rank-0 float32, float64 or bool tensors");
    return;
  }
  tr.ops.push_back({fn, a, b ? *b : Tensor(), Tensor(), out});
}

namespace {
template <class In>
Fn convert_from(DType out) {
  return out == DType::Float32 ? &convert<In, float> : out == DType::Float64 ? &convert<In, double> : &convert<In, bool>;
}
}  // namespace

void note_cast_slow(const Tensor& x, const Tensor& out) {
  Trace& tr = *tls_trace;
  if (!tr.refused.empty()) return;
  if (!scalar_value(x) || !scalar_value(out)) {
    refuse(tr, "a cast of a value that is not a rank-0 float32, float64 or bool tensor");
    return;
  }
  const DType o = out.dtype();
  const Fn fn = x.dtype() == DType::Float32 ? convert_from<float>(o)
                : x.dtype() == DType::Float64 ? convert_from<double>(o)
                                              : convert_from<bool>(o);
  tr.ops.push_back({fn, x, Tensor(), Tensor(), out});
}

void note_select_slow(const Tensor& cond, const Tensor& x, const Tensor& y, const Tensor& out) {
  Trace& tr = *tls_trace;
  if (!tr.refused.empty()) return;
  if (!scalar_value(cond) || cond.dtype() != DType::Bool || !scalar_value(x) || !scalar_value(y) ||
      !scalar_value(out) || x.dtype() != out.dtype() || y.dtype() != out.dtype()) {
    refuse(tr, "a where whose operands are not rank-0 float32, float64 or bool tensors");
    return;
  }
  tr.ops.push_back({dtype_size(out.dtype()) == 8 ? &select<uint64_t> : dtype_size(out.dtype()) == 4 ? &select<uint32_t>
                                                                                                     : &select<uint8_t>,
                    cond, x, y, out});
}

void note_constant_slow(const Tensor& t) {
  // (its value as made: a later in-place write, which no kernel reports, makes the code's
  // outputs differ from the run's, and verify() refuses it)
  if (unmasked_value(t)) tls_trace->constants.emplace_back(t, t.clone());
}

void note_read_slow(const std::shared_ptr<Variable>& v, const Tensor& value) {
  tls_trace->reads.emplace_back(v, value);
}

void note_item_slow(const Tensor& t) { tls_trace->items.push_back(t); }

std::shared_ptr<const Code> Code::compile(const Trace& tr, const std::vector<Tensor>& inputs,
                                          const std::vector<Tensor>& outputs, const std::vector<Tensor>& held,
                                          std::string* why) {
  auto fail = [&](const std::string& w) -> std::shared_ptr<const Code> {
    if (why) *why = w;
    return nullptr;
  };
  if (!tr.refused.empty()) return fail(tr.refused);
  auto code = std::make_shared<Code>();
  Code& c = *code;
  c.structural_zeros_ = structural_zeros_enabled();
  std::unordered_map<const void*, int> reg_of;
  std::unordered_map<const void*, const Tensor*> made;  // constants the trace made: their values as made
  for (const auto& [t, value] : tr.constants) {
    // (a kernel that wrote into a constant after making it, which it must not: ops_common.h, zeroed)
    if (std::memcmp(t.raw(), value.raw(), value.nbytes()) != 0) return fail("a constant was written after it was made");
    made.emplace(key(t), &value);
  }
  auto new_reg = [&](DType d) {
    c.reg_dtype_.push_back(d);
    return c.num_regs_++;
  };
  auto add_leaf = [&](Kind kind, int input, std::shared_ptr<Variable> v, Tensor constant, const Tensor& t) {
    const int r = new_reg(t.dtype());
    c.leaves_.push_back({kind, input, std::move(v), std::move(constant), r});
    reg_of.emplace(key(t), r);
    return r;
  };
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& t = inputs[i];
    if (!unmasked_value(t)) return fail("an input is not a rank-0 float32, float64 or bool tensor");
    if (reg_of.count(key(t))) return fail("two inputs share one buffer");
    add_leaf(Kind::Input, int(i), nullptr, Tensor(), t);
    c.input_dtype_.push_back(t.dtype());
  }
  for (const auto& [v, value] : tr.reads) {
    if (!unmasked_value(value)) return fail("a variable that is not a rank-0 float32, float64 or bool");
    auto it = reg_of.find(key(value));
    if (it == reg_of.end()) {
      add_leaf(Kind::Read, -1, v, Tensor(), value);
      continue;
    }
    bool same_variable = false;  // (a variable read twice: its value, unchanged, in one register)
    for (const Leaf& l : c.leaves_)
      if (l.reg == it->second && l.kind == Kind::Read && l.variable == v) same_variable = true;
    if (!same_variable) return fail("a variable's value is also an input of the call");
  }
  for (const Tensor& t : held)
    if (t.defined() && reg_of.count(key(t)))
      return fail("a tensor the function captured shares its buffer with an input or a variable's value");
  // The register of an operand or output: an earlier result, an input, a read, or a constant:
  // one the trace made (its value as made), or a tensor made before the run (a constant the
  // program holds: read at each run from the same tensor, as the program's own step reads it).
  // A tensor made during the run by a kernel that did not report cannot be computed: -1.
  auto resolve = [&](const Tensor& t) -> int {
    auto it = reg_of.find(key(t));
    if (it != reg_of.end()) return c.reg_dtype_[size_t(it->second)] == t.dtype() ? it->second : -1;
    if (!unmasked_value(t)) return -1;
    if (auto m = made.find(key(t)); m != made.end()) return add_leaf(Kind::Constant, -1, nullptr, *m->second, t);
    if (t.get()->seq < tr.start_seq || t.get()->thread != tr.thread)
      return add_leaf(Kind::Constant, -1, nullptr, t, t);
    return -1;
  };
  for (const Trace::Op& op : tr.ops) {
    const int a = resolve(op.a);
    const int b = op.b.defined() ? resolve(op.b) : a;
    const int c3 = op.c.defined() ? resolve(op.c) : a;
    if (a < 0 || b < 0 || c3 < 0)
      return fail("a value made by an op that the scalar code does not compute (not an elementwise op on rank-0 "
                  "floats)");
    if (reg_of.count(key(op.out))) return fail("an op wrote a value in place");
    const int out = new_reg(op.out.dtype());
    reg_of.emplace(key(op.out), out);
    c.instrs_.push_back({op.fn, a, b, c3, out});
  }
  // A value C++ code read (item()) and branched on: the run must see the same one (a guard,
  // even on a constant the program holds: it is read at each run).
  for (const Tensor& t : tr.items) {
    if (made.count(key(t))) continue;
    const int r = resolve(t);
    if (r < 0) return fail("C++ code read a value that the scalar code does not compute");
    uint64_t bits = 0;
    std::memcpy(&bits, t.raw(), dtype_size(t.dtype()));
    c.guards_.push_back({r, bits});
  }
  // Every op step's results, used or not: an op the code does not compute may raise on some
  // values (an integer division by zero, an index out of range), and the program it stands for
  // raises then, even when nothing reads the result.
  for (const Tensor& t : tr.step_results)
    if (t.defined() && resolve(t) < 0) return fail("an op step whose result the scalar code does not compute");
  for (const Tensor& o : outputs) {
    if (!o.defined()) {
      c.outputs_.push_back({-1, DType::Float32});
      continue;
    }
    if (o.get()->zero_mask) return fail("an output that carries a structural-zero mask");
    const int r = resolve(o);
    if (r < 0) return fail("an output that the scalar code does not compute");
    c.outputs_.push_back({r, o.dtype()});
  }
  return code;
}

bool Code::run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) const {
  if (inputs.size() != input_dtype_.size() || structural_zeros_ != structural_zeros_enabled()) return false;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& t = inputs[i];
    if (!t.defined() || t.ndim() != 0 || t.dtype() != input_dtype_[i]) return false;
  }
  std::vector<uint64_t>& regs = tls_regs;
  if (regs.size() < size_t(num_regs_)) regs.resize(size_t(num_regs_));
  uint64_t* r = regs.data();
  for (const Leaf& l : leaves_) {
    const size_t n = dtype_size(reg_dtype_[size_t(l.reg)]);
    if (l.kind == Kind::Input) {
      std::memcpy(r + l.reg, inputs[size_t(l.input)].raw(), n);
    } else if (l.kind == Kind::Read) {
      const Tensor v = l.variable->read();
      if (v.ndim() != 0 || v.dtype() != reg_dtype_[size_t(l.reg)]) return false;
      std::memcpy(r + l.reg, v.raw(), n);
    } else {
      std::memcpy(r + l.reg, l.constant.raw(), n);
    }
  }
  for (const Instr& in : instrs_) in.fn(r + in.a, r + in.b, r + in.c, r + in.out);
  for (const Guard& g : guards_)
    if (std::memcmp(r + g.reg, &g.bits, dtype_size(reg_dtype_[size_t(g.reg)])) != 0) return false;
  std::vector<Tensor> out;
  out.reserve(outputs_.size());
  for (const Output& o : outputs_) {
    if (o.reg < 0) {
      out.emplace_back();
      continue;
    }
    Tensor t = Tensor::empty(o.dtype, Shape());
    std::memcpy(t.raw(), r + o.reg, dtype_size(o.dtype));
    out.push_back(std::move(t));
  }
  outputs = std::move(out);
  return true;
}

bool Code::verify(const std::vector<Tensor>& inputs, const std::vector<Tensor>& expected) const {
  std::vector<Tensor> got;
  if (!run(inputs, got) || got.size() != expected.size()) return false;
  for (size_t i = 0; i < got.size(); ++i) {
    const Tensor& g = got[i];
    const Tensor& e = expected[i];
    if (g.defined() != e.defined()) return false;
    if (!g.defined()) continue;
    if (!unmasked_value(e) || e.dtype() != g.dtype() || std::memcmp(g.raw(), e.raw(), g.nbytes()) != 0) return false;
  }
  return true;
}

}  // namespace gt::scalar_code
