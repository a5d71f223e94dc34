// Scalar code (scalar_code.h): the trace the kernels report to, its compilation into
// instructions over registers, and their run.
#include "scalar_code.h"

#include <atomic>
#include <cstring>
#include <unordered_map>
#include <unordered_set>

#include "kernels/broadcast.h"
#include "structural.h"

namespace gt::scalar_code {

thread_local Trace* tls_trace GT_TLS = nullptr;

namespace {
std::atomic<bool> g_enabled{true};

// A value the code can hold in a register: a float32, float64 or bool tensor of 1 to
// kMaxElements elements. An op's operand or result may carry a structural-zero mask
// (docs/structural-zeros.md): the ops that make and apply masks report to the trace, and each
// test of whether a mask is set is a guard (structural.cpp's any_true reads it as C++ code
// reads a value); the code carries no mask.
bool small_value(const Tensor& t) {
  return t.defined() && (t.dtype() == DType::Float32 || t.dtype() == DType::Float64 || t.dtype() == DType::Bool) &&
         t.numel() >= 1 && t.numel() <= kMaxElements;
}
bool small_float(const Tensor& t) { return small_value(t) && t.dtype() != DType::Bool; }
// What enters the code or leaves it carries no mask: an input, a variable's value, a constant,
// an output (a masked output keeps its planned runs, whose outputs carry the mask).
bool unmasked_value(const Tensor& t) { return small_value(t) && !t.get()->zero_mask; }

// An operand of an elementwise op that gives `out`: of out's shape, or rank 0 (read broadcast:
// stride 0).
bool fits(const Tensor& operand, const Tensor& out) {
  return operand.shape() == out.shape() || operand.ndim() == 0;
}
// Whether the eager loop of a binary op is the one row the code runs (a rank-0 operand of a
// rank >= 2 result might take another split of the elements into rows, and one of a
// one-element result of rank >= 1 a plan of rank 0, whose loop orders the operands otherwise:
// which of two NaNs comes out differs. Both refused).
bool one_row(const Tensor& a, const Tensor& b, const Tensor& out) {
  if (a.shape() == b.shape()) return true;  // (map2_flat: one row)
  const Shape* shapes[2] = {&a.shape(), &b.shape()};
  return kernels::make_plan(out.shape(), shapes, 2).rank == 1;
}

// An operand is known by its storage: a reshape or a read of a variable shares its buffer.
const void* key(const Tensor& t) { return t.get()->storage.get(); }

void refuse(Trace& tr, const char* why) {
  if (tr.refused.empty()) tr.refused = why;
}

// The registers of this thread's runs (a run calls no other program: no reentrancy), 64-byte
// aligned.
struct RegisterFile {
  std::unique_ptr<uint64_t[]> buf;
  size_t words = 0;
  uint64_t* base = nullptr;
  uint64_t* get(size_t n) {
    if (n > words) {
      buf.reset(new uint64_t[n + 8]);
      words = n;
      const uintptr_t p = reinterpret_cast<uintptr_t>(buf.get());
      base = reinterpret_cast<uint64_t*>((p + 63) & ~uintptr_t(63));
    }
    return base;
  }
};
thread_local RegisterFile tls_regs;
}  // namespace

void set_enabled(bool on) { g_enabled.store(on); }
bool enabled() { return g_enabled.load(std::memory_order_relaxed); }

TraceScope::TraceScope(Trace& t) : saved_(tls_trace) {
  t.start_seq = next_tensor_seq();
  t.thread = this_thread_number();
  tls_trace = &t;
}
TraceScope::~TraceScope() { tls_trace = saved_; }

void note_op(Fn f32, Fn f64, LoopFn l32, LoopFn l64, const Tensor& a, const Tensor* b, const Tensor& out) {
  Trace& tr = *tls_trace;
  if (!tr.refused.empty()) return;
  if (!small_float(out) || !small_float(a) || (b && !small_float(*b)) || a.dtype() != out.dtype() ||
      (b && b->dtype() != out.dtype()) || !fits(a, out) || (b && (!fits(*b, out) || !one_row(a, *b, out)))) {
    refuse(tr, "an elementwise op that is not on float32 or float64 tensors of one shape (or a rank-0 one) of at "
               "most 64 elements");
    return;
  }
  const bool f = out.dtype() == DType::Float32;
  tr.ops.push_back({f ? f32 : f64, f ? l32 : l64, a, b ? *b : Tensor(), Tensor(), out});
}

void note_compare_slow(Fn f32, Fn f64, Fn b8, LoopFn l32, LoopFn l64, LoopFn lb8, const Tensor& a, const Tensor* b,
                       const Tensor& out) {
  Trace& tr = *tls_trace;
  if (!tr.refused.empty()) return;
  const DType d = a.dtype();
  const Fn fn = d == DType::Float32 ? f32 : d == DType::Float64 ? f64 : d == DType::Bool ? b8 : nullptr;
  const LoopFn loop = d == DType::Float32 ? l32 : d == DType::Float64 ? l64 : lb8;
  if (!fn || !small_value(a) || (b && (!small_value(*b) || b->dtype() != d)) || !small_value(out) ||
      out.dtype() != DType::Bool || !fits(a, out) || (b && (!fits(*b, out) || !one_row(a, *b, out)))) {
    refuse(tr, "a comparison of values that are not float32, float64 or bool tensors of one shape (or a rank-0 one) "
               "of at most 64 elements");
    return;
  }
  tr.ops.push_back({fn, loop, a, b ? *b : Tensor(), Tensor(), out});
}

namespace {
template <class In>
Fn convert_from(DType out) {
  return out == DType::Float32 ? &convert<In, float> : out == DType::Float64 ? &convert<In, double> : &convert<In, bool>;
}
template <class In>
LoopFn convert_loop_from(DType out) {
  return out == DType::Float32   ? &convert_loop<In, float>
         : out == DType::Float64 ? &convert_loop<In, double>
                                 : &convert_loop<In, bool>;
}
}  // namespace

void note_cast_slow(const Tensor& x, const Tensor& out) {
  Trace& tr = *tls_trace;
  if (!tr.refused.empty()) return;
  if (!small_value(x) || !small_value(out) || x.shape() != out.shape()) {
    refuse(tr, "a cast of a value that is not a float32, float64 or bool tensor of at most 64 elements");
    return;
  }
  const DType i = x.dtype(), o = out.dtype();
  const Fn fn = i == DType::Float32 ? convert_from<float>(o) : i == DType::Float64 ? convert_from<double>(o)
                                                                                  : convert_from<bool>(o);
  const LoopFn loop = i == DType::Float32   ? convert_loop_from<float>(o)
                      : i == DType::Float64 ? convert_loop_from<double>(o)
                                            : convert_loop_from<bool>(o);
  tr.ops.push_back({fn, loop, x, Tensor(), Tensor(), out});
}

void note_select_slow(const Tensor& cond, const Tensor& x, const Tensor& y, const Tensor& out) {
  Trace& tr = *tls_trace;
  if (!tr.refused.empty()) return;
  if (!small_value(cond) || cond.dtype() != DType::Bool || !small_value(x) || !small_value(y) ||
      !small_value(out) || x.dtype() != out.dtype() || y.dtype() != out.dtype() || !fits(cond, out) ||
      !fits(x, out) || !fits(y, out)) {
    refuse(tr, "a where whose operands are not float32, float64 or bool tensors of one shape (or rank-0 ones) of at "
               "most 64 elements");
    return;
  }
  const size_t size = dtype_size(out.dtype());
  if (size == 8) tr.ops.push_back({&select<uint64_t>, &select_loop<uint64_t>, cond, x, y, out});
  else if (size == 4) tr.ops.push_back({&select<uint32_t>, &select_loop<uint32_t>, cond, x, y, out});
  else tr.ops.push_back({&select<uint8_t>, &select_loop<uint8_t>, cond, x, y, out});
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

void note_reduce_sum_slow(const Tensor& x, const Tensor& out) {
  Trace& tr = *tls_trace;
  if (!tr.refused.empty()) return;
  // (a result of one element: every axis of more than one element reduced, so eager's plan is
  // the one run of reduce_all_loop)
  if (!small_float(x) || !small_float(out) || x.dtype() != out.dtype() || out.numel() != 1) {
    refuse(tr, "a reduce_sum that is not of all of a float32 or float64 tensor of at most 64 elements");
    return;
  }
  auto push = [&](auto tag) {
    using T = decltype(tag);
    using Sum = kernels::SumOf<T>;
    tr.ops.push_back({&reduce_all<T, typename Sum::Acc, typename Sum::Op>,
                      &reduce_all_loop<T, typename Sum::Acc, typename Sum::Op>, x, Tensor(), Tensor(), out, x.numel()});
  };
  if (out.dtype() == DType::Float32) push(float{});
  else push(double{});
}

void note_broadcast_slow(const Tensor& x, const Tensor& out) {
  Trace& tr = *tls_trace;
  if (!tr.refused.empty()) return;
  if (!small_value(x) || !small_value(out) || x.dtype() != out.dtype() || x.numel() != 1) {
    refuse(tr, "a broadcast_to that is not of one element to a float32, float64 or bool tensor of at most 64 elements");
    return;
  }
  const size_t size = dtype_size(out.dtype());
  if (size == 8) tr.ops.push_back({&broadcast_one<uint64_t>, &broadcast_one_loop<uint64_t>, x, Tensor(), Tensor(), out});
  else if (size == 4) tr.ops.push_back({&broadcast_one<uint32_t>, &broadcast_one_loop<uint32_t>, x, Tensor(), Tensor(), out});
  else tr.ops.push_back({&broadcast_one<uint8_t>, &broadcast_one_loop<uint8_t>, x, Tensor(), Tensor(), out});
}

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
  // Whether any value has rank >= 1: the instructions then run as loops, each value in a
  // 64-byte aligned slot (a rank-0 program keeps one 8-byte register per value).
  auto vector_value = [](const Tensor& t) { return t.defined() && t.ndim() > 0; };
  for (const Tensor& t : inputs) c.loops_ |= vector_value(t);
  for (const Trace::Op& op : tr.ops) c.loops_ |= vector_value(op.out) || vector_value(op.a) || vector_value(op.b);
  for (const auto& rv : tr.reads) c.loops_ |= vector_value(rv.second);
  for (const Tensor& t : outputs) c.loops_ |= vector_value(t);
  auto new_reg = [&](const Tensor& t) {
    const size_t nbytes = size_t(t.numel()) * dtype_size(t.dtype());
    const int32_t words = int32_t((nbytes + 7) / 8);
    const int32_t offset = c.loops_ ? (c.num_words_ + 7) / 8 * 8 : c.num_words_;
    c.num_words_ = offset + words;
    c.regs_.push_back({offset, t.dtype(), t.shape(), nbytes});
    return int(c.regs_.size() - 1);
  };
  auto add_leaf = [&](Kind kind, int input, std::shared_ptr<Variable> v, Tensor constant, const Tensor& t) {
    const int r = new_reg(t);
    c.leaves_.push_back({kind, input, std::move(v), std::move(constant), r});
    reg_of.emplace(key(t), r);
    return r;
  };
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& t = inputs[i];
    if (!unmasked_value(t))
      return fail("an input is not a float32, float64 or bool tensor of 1 to 64 elements");
    if (reg_of.count(key(t))) return fail("two inputs share one buffer");
    c.input_reg_.push_back(add_leaf(Kind::Input, int(i), nullptr, Tensor(), t));
  }
  for (const auto& [v, value] : tr.reads) {
    if (!unmasked_value(value)) return fail("a variable that is not a float32, float64 or bool of 1 to 64 elements");
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
  // A tensor made during the run by a kernel that did not report cannot be computed: -1; so is
  // one whose buffer is a register's under another dtype. One under another shape of as many
  // elements (a reshape, expand_dims, squeeze: a view of the whole buffer, which every tensor
  // is) is the register: an op's operand shapes were checked as the op saw them.
  auto resolve = [&](const Tensor& t) -> int {
    auto it = reg_of.find(key(t));
    if (it != reg_of.end()) {
      const Reg& r = c.regs_[size_t(it->second)];
      return r.dtype == t.dtype() && r.shape.numel() == t.numel() ? it->second : -1;
    }
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
      return fail("a value made by an op that the scalar code does not compute (not an elementwise op on small "
                  "float tensors)");
    if (reg_of.count(key(op.out))) return fail("an op wrote a value in place");
    const int out = new_reg(op.out);
    reg_of.emplace(key(op.out), out);
    // strides: 0 for a rank-0 operand of a result of rank >= 1 (read broadcast), else 1
    auto stride = [&](const Tensor& t) -> int64_t { return t.defined() && t.ndim() == 0 && op.out.ndim() > 0 ? 0 : 1; };
    const int64_t n = op.n ? op.n : op.out.numel();
    // An op of rank-0 values runs its element function in a program of vectors too: eager's
    // rank-0 ops call that function (ops_elementwise.cpp, unary_into), not the loop.
    auto rank0 = [](const Tensor& t) { return !t.defined() || t.ndim() == 0; };
    const bool scalar_op = op.out.ndim() == 0 && rank0(op.a) && rank0(op.b) && rank0(op.c);
    c.instrs_.push_back({op.fn, scalar_op ? nullptr : op.loop, c.regs_[size_t(a)].offset, c.regs_[size_t(b)].offset,
                         c.regs_[size_t(c3)].offset, c.regs_[size_t(out)].offset, n,
                         {stride(op.a), stride(op.b.defined() ? op.b : op.a), stride(op.c.defined() ? op.c : op.a)}});
  }
  // A value C++ code read (item(), a mask's test) and branched on: the run must see the same one
  // (a guard, even on a constant the program holds: it is read at each run).
  for (const Tensor& t : tr.items) {
    if (made.count(key(t))) continue;
    const int r = resolve(t);
    if (r < 0) return fail("C++ code read a value that the scalar code does not compute");
    const unsigned char* p = static_cast<const unsigned char*>(t.raw());
    c.guards_.push_back({r, std::vector<unsigned char>(p, p + c.regs_[size_t(r)].nbytes)});
  }
  // Every op step's results, used or not: an op the code does not compute may raise on some
  // values (an integer division by zero, an index out of range), and the program it stands for
  // raises then, even when nothing reads the result.
  for (const Tensor& t : tr.step_results)
    if (t.defined() && resolve(t) < 0) return fail("an op step whose result the scalar code does not compute");
  for (const Tensor& o : outputs) {
    if (!o.defined()) {
      c.outputs_.push_back({-1, Shape()});
      continue;
    }
    if (o.get()->zero_mask) return fail("an output that carries a structural-zero mask");
    const int r = resolve(o);
    if (r < 0) return fail("an output that the scalar code does not compute");
    c.outputs_.push_back({r, o.shape()});
  }
  return code;
}

bool Code::run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) const {
  if (inputs.size() != input_reg_.size() || structural_zeros_ != structural_zeros_enabled()) return false;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& t = inputs[i];
    const Reg& r = regs_[size_t(input_reg_[i])];
    if (!t.defined() || t.dtype() != r.dtype || t.shape() != r.shape) return false;
  }
  uint64_t* w = tls_regs.get(size_t(num_words_));
  for (const Leaf& l : leaves_) {
    const Reg& r = regs_[size_t(l.reg)];
    if (l.kind == Kind::Input) {
      std::memcpy(w + r.offset, inputs[size_t(l.input)].raw(), r.nbytes);
    } else if (l.kind == Kind::Read) {
      const Tensor v = l.variable->read();
      if (v.dtype() != r.dtype || v.shape() != r.shape) return false;
      std::memcpy(w + r.offset, v.raw(), r.nbytes);
    } else {
      std::memcpy(w + r.offset, l.constant.raw(), r.nbytes);
    }
  }
  if (loops_) {
    for (const Instr& in : instrs_) {
      if (in.loop) in.loop(w + in.a, w + in.b, w + in.c, w + in.out, in.n, in.s);
      else in.fn(w + in.a, w + in.b, w + in.c, w + in.out);
    }
  } else {
    for (const Instr& in : instrs_) in.fn(w + in.a, w + in.b, w + in.c, w + in.out);
  }
  for (const Guard& g : guards_)
    if (std::memcmp(w + regs_[size_t(g.reg)].offset, g.bytes.data(), g.bytes.size()) != 0) return false;
  std::vector<Tensor> out;
  out.reserve(outputs_.size());
  for (const Output& o : outputs_) {
    if (o.reg < 0) {
      out.emplace_back();
      continue;
    }
    const Reg& r = regs_[size_t(o.reg)];
    Tensor t = Tensor::empty(r.dtype, o.shape);
    std::memcpy(t.raw(), w + r.offset, r.nbytes);
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
    if (!unmasked_value(e) || e.dtype() != g.dtype() || e.shape() != g.shape() ||
        std::memcmp(g.raw(), e.raw(), g.nbytes()) != 0)
      return false;
  }
  return true;
}

}  // namespace gt::scalar_code
