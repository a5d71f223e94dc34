#pragma once
// Scalar code (internal; docs/guides/function.md, "Programs of scalars"): a gt.function program
// whose values are all rank-0 floats (and bools: comparisons, conditions), compiled into a flat
// list of instructions over an array of 8-byte registers, run with no tensor, tape, frame or
// allocation per op. A program of small tensors (at most kMaxElements elements each, every op
// elementwise on operands of its result's shape or of rank 0) gets the same code, each register
// a 64-byte aligned slot of its value's elements and each instruction the eager op's own loop
// over them (LoopFn).
//
// It is made from what one planned run of the program does (a trace at the kernel level, not a
// second description of the ops): while a ScalarTrace is active on the thread, each
// elementwise kernel that computes a small float result reports the element function it
// applied (the lambda type F of ops_elementwise.cpp, the one the eager loop calls), its
// operands and its result; so do the comparisons and logical ops (a bool result), where (a
// select) and cast between float32, float64 and bool; fill() and zeros() report the constants
// they make; a program's variable reads report the variables; Tensor::item() reports a value
// that C++ code read (a rule that folds a constant exponent; structural.cpp's test of whether a
// structural-zero mask is set). compile() then resolves each operand, by its storage, to an
// earlier result, an input, a variable read, a constant the trace made, or a tensor the program
// holds (a constant it captured). Anything else (a tensor made by a kernel that does not
// report: a reduction, an op on integers, a fused pass of another rule than softplus' and
// relu's) refuses the compilation, so an op the code does not know cannot be skipped. A
// value that C++ code read becomes a guard: a run whose value differs falls back to the planned
// run. The code is used only after it gave the traced run's outputs bit for bit (verify()).
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "gradtape/tensor.h"
#include "gradtape/variable.h"
#include "kernels/elementwise.h"
#include "kernels/isa.h"
#include "kernels/reduce.h"
#include "record.h"  // (GT_TLS)

namespace gt::scalar_code {

// The largest tensor a value of the code may be, in elements: a program of small tensors
// (vectors of a few elements, and scalars broadcast against them) runs as code too, each
// instruction a loop over the elements. Beyond it a planned run costs about the same (its
// per-op overhead is a fraction of the loops), and a register file of many such tensors would
// not stay in the L1 cache.
constexpr int64_t kMaxElements = 64;

// One instruction's function on rank-0 registers: out = f(a), f(a, b) or (a ? b : c), on
// registers of its types (float, double or bool). The arithmetic ones are compiled in the
// instruction-set copies the eager loops run (GT_DISPATCHED, kernels/isa.h), so that F's
// arithmetic contracts the same way and the values are eager's, bit for bit; a comparison and a
// select compute no float.
using Fn = void (*)(const void* a, const void* b, const void* c, void* out);
// The same over n elements (a program with a value of rank >= 1): s[k] is operand k's stride
// (1, or 0 for a rank-0 operand read broadcast). The arithmetic ones call the eager loops
// themselves (kernels::map1_range, kernels::row2, with the functors the eager ops instantiate
// them with: kernels::Apply1), so an element is computed by the same machine code as eagerly,
// vector lanes and scalar tail alike.
using LoopFn = void (*)(const void* a, const void* b, const void* c, void* out, int64_t n, const int64_t* s);

// The element types scalar code computes in.
template <class T>
inline constexpr bool kCodeType = std::is_same_v<T, float> || std::is_same_v<T, double>;
// (Never inlined: eager's rank-0 ops call these same functions, ops_elementwise.cpp's
// unary_into, so that both run one compiled copy of the element function.)
template <class T, class F>
GT_DISPATCHED __attribute__((noinline)) void unary(const void* a, const void*, const void*, void* out) {
  *static_cast<T*>(out) = T(F{}(*static_cast<const T*>(a)));
}
template <class T, class F>
GT_DISPATCHED __attribute__((noinline)) void binary(const void* a, const void* b, const void*, void* out) {
  *static_cast<T*>(out) = T(F{}(*static_cast<const T*>(a), *static_cast<const T*>(b)));
}
template <class T, class F>
void unary_loop(const void* a, const void*, const void*, void* out, int64_t n, const int64_t*) {
  kernels::map1_range(static_cast<const T*>(a), static_cast<T*>(out), n, kernels::Apply1<T, F>{});
}
template <class T, class F>
void binary_loop(const void* a, const void* b, const void*, void* out, int64_t n, const int64_t* s) {
  kernels::row2(static_cast<const T*>(a), static_cast<const T*>(b), static_cast<T*>(out), n, s[0], s[1],
                kernels::Apply2<T, F>{});
}
// A comparison (or a logical op on bools): T operands, a bool result.
template <class T, class F>
void compare(const void* a, const void* b, const void*, void* out) {
  *static_cast<bool*>(out) = bool(F{}(*static_cast<const T*>(a), *static_cast<const T*>(b)));
}
template <class T, class F>
void compare_loop(const void* a, const void* b, const void*, void* out, int64_t n, const int64_t* s) {
  kernels::row2(static_cast<const T*>(a), static_cast<const T*>(b), static_cast<bool*>(out), n, s[0], s[1],
                kernels::Compare2<T, F>{});
}
// reduce_sum of all of a value's n elements (ops_reduce.cpp's reduce_sum, whose plan for it is
// one reduced run of n, or none for n = 1: make_reduce_plan merges the axes): kernels::reduce
// itself, with the functor and accumulator reduce_sum instantiates it with.
template <class T, class Acc, class Op>
void reduce_all_loop(const void* a, const void*, const void*, void* out, int64_t n, const int64_t*) {
  kernels::ReducePlan p;
  if (n > 1) {
    p.rank = 1;
    p.dims[0] = n;
    p.reduced[0] = true;
  }
  Acc acc = kernels::sum_identity<Acc>(n);  // (reduce_sum's, ops_reduce.cpp: all n elements into one)
  kernels::reduce(static_cast<const T*>(a), &acc, p, Op{});
  *static_cast<T*>(out) = T(acc);
}
template <class T, class Acc, class Op>
void reduce_all(const void* a, const void* b, const void* c, void* out) {
  reduce_all_loop<T, Acc, Op>(a, b, c, out, 1, nullptr);
}
// broadcast_to of one element (ops_shape.cpp): its bits copied to each of n (U: an unsigned
// type of the element's size).
template <class U>
void broadcast_one(const void* a, const void*, const void*, void* out) {
  *static_cast<U*>(out) = *static_cast<const U*>(a);
}
template <class U>
void broadcast_one_loop(const void* a, const void*, const void*, void* out, int64_t n, const int64_t*) {
  const U v = *static_cast<const U*>(a);
  for (int64_t i = 0; i < n; ++i) static_cast<U*>(out)[i] = v;
}
// cast between float32, float64 and bool, as cast_kernel converts (ops_elementwise.cpp)
template <class In, class Out>
void convert(const void* a, const void*, const void*, void* out) {
  const In v = *static_cast<const In*>(a);
  if constexpr (std::is_same_v<Out, bool>) *static_cast<bool*>(out) = v != In(0);
  else *static_cast<Out*>(out) = Out(v);
}
template <class In, class Out>
void convert_loop(const void* a, const void*, const void*, void* out, int64_t n, const int64_t*) {
  for (int64_t i = 0; i < n; ++i) convert<In, Out>(static_cast<const In*>(a) + i, nullptr, nullptr, static_cast<Out*>(out) + i);
}
template <class F>
void bool_unary(const void* a, const void*, const void*, void* out) {
  *static_cast<bool*>(out) = bool(F{}(*static_cast<const bool*>(a)));
}
template <class F>
void bool_unary_loop(const void* a, const void*, const void*, void* out, int64_t n, const int64_t*) {
  for (int64_t i = 0; i < n; ++i) static_cast<bool*>(out)[i] = bool(F{}(static_cast<const bool*>(a)[i]));
}
// where(a, b, c): elements picked by their bits (U: an unsigned type of their size), as the
// eager where picks them.
template <class U>
void select(const void* a, const void* b, const void* c, void* out) {
  *static_cast<U*>(out) = *static_cast<const bool*>(a) ? *static_cast<const U*>(b) : *static_cast<const U*>(c);
}
template <class U>
void select_loop(const void* a, const void* b, const void* c, void* out, int64_t n, const int64_t* s) {
  const bool* pa = static_cast<const bool*>(a);
  const U* pb = static_cast<const U*>(b);
  const U* pc = static_cast<const U*>(c);
  U* po = static_cast<U*>(out);
  for (int64_t i = 0; i < n; ++i) po[i] = pa[i * s[0]] ? pb[i * s[1]] : pc[i * s[2]];
}

// What one traced run did, as the kernels reported it (held, so that no storage is reused
// while the trace lasts: an operand is known by its storage).
struct Trace {
  struct Op {
    Fn fn;
    LoopFn loop;
    Tensor a, b, c, out;  // b undefined for a unary op, c for all but a select
    int64_t n = 0;        // elements the loop runs over: out's (0), or a's for a reduction
  };
  std::vector<Op> ops;
  // Made by fill() / zeros() during the trace: the tensor, and a copy of its value as made.
  std::vector<std::pair<Tensor, Tensor>> constants;
  std::vector<std::pair<std::shared_ptr<Variable>, Tensor>> reads;
  std::vector<Tensor> items;  // values C++ code read with item()
  std::vector<Tensor> step_results;  // what each op step of the program gave (Program::try_run)
  uint64_t start_seq = 0;
  uint32_t thread = 0;
  std::string refused;  // the first reason the trace cannot be compiled (a report's shape)
};

extern thread_local Trace* tls_trace GT_TLS;

// Enters a trace on this thread for its lifetime.
class TraceScope {
 public:
  explicit TraceScope(Trace& t);
  ~TraceScope();
  TraceScope(const TraceScope&) = delete;
  TraceScope& operator=(const TraceScope&) = delete;

 private:
  Trace* saved_;
};

void note_op(Fn f32, Fn f64, LoopFn l32, LoopFn l64, const Tensor& a, const Tensor* b, const Tensor& out);
void note_compare_slow(Fn f32, Fn f64, Fn b8, LoopFn l32, LoopFn l64, LoopFn lb8, const Tensor& a, const Tensor* b,
                       const Tensor& out);
void note_cast_slow(const Tensor& x, const Tensor& out);
void note_select_slow(const Tensor& cond, const Tensor& x, const Tensor& y, const Tensor& out);
void note_constant_slow(const Tensor& t);
void note_read_slow(const std::shared_ptr<Variable>& v, const Tensor& value);
void note_item_slow(const Tensor& t);
void note_reduce_sum_slow(const Tensor& x, const Tensor& out);
void note_broadcast_slow(const Tensor& x, const Tensor& out);

// The kernels' reports (one thread-local test when no trace is active).
template <class F>
inline void note_unary(const Tensor& x, const Tensor& out) {
  if (tls_trace)
    note_op(&unary<float, F>, &unary<double, F>, &unary_loop<float, F>, &unary_loop<double, F>, x, nullptr, out);
}
template <class F>
inline void note_binary(const Tensor& a, const Tensor& b, const Tensor& out) {
  if (tls_trace)
    note_op(&binary<float, F>, &binary<double, F>, &binary_loop<float, F>, &binary_loop<double, F>, a, &b, out);
}
// A comparison of two tensors of one dtype (float32, float64, or bool for logical_and/or), or
// logical_not: a bool result.
template <class F>
inline void note_compare(const Tensor& a, const Tensor* b, const Tensor& out) {
  if (tls_trace)
    note_compare_slow(&compare<float, F>, &compare<double, F>, &compare<bool, F>, &compare_loop<float, F>,
                      &compare_loop<double, F>, &compare_loop<bool, F>, a, b, out);
}
template <class F>
inline void note_logical_not(const Tensor& x, const Tensor& out) {
  if (tls_trace) note_compare_slow(nullptr, nullptr, &bool_unary<F>, nullptr, nullptr, &bool_unary_loop<F>, x, nullptr, out);
}
inline void note_cast(const Tensor& x, const Tensor& out) {
  if (tls_trace) note_cast_slow(x, out);
}
inline void note_select(const Tensor& cond, const Tensor& x, const Tensor& y, const Tensor& out) {
  if (tls_trace) note_select_slow(cond, x, y, out);
}
inline void note_constant(const Tensor& t) {
  if (tls_trace) note_constant_slow(t);
}
inline void note_read(const std::shared_ptr<Variable>& v, const Tensor& value) {
  if (tls_trace) note_read_slow(v, value);
}
inline void note_item(const Tensor& t) {
  if (tls_trace) note_item_slow(t);
}
// reduce_sum of any numeric x (reported for float32/float64 only)
inline void note_reduce_sum(const Tensor& x, const Tensor& out) {
  if (tls_trace) note_reduce_sum_slow(x, out);
}
// broadcast_to of x (reported when x is one element, copied)
inline void note_broadcast(const Tensor& x, const Tensor& out) {
  if (tls_trace) note_broadcast_slow(x, out);
}

class Code {
 public:
  // The code of a traced run of a program whose inputs were `inputs` and whose outputs were
  // `outputs`, or nullptr (with the reason in *why) when the run did anything the code cannot
  // express, or an op step gave a result the code cannot compute (used or not).
  // `held`: the tensors the program holds as constants. One that shares its buffer with an
  // input or a variable's value is refused (the run's tape may link it as that variable at one
  // run and not at another, and the code would read the variable in its place).
  static std::shared_ptr<const Code> compile(const Trace& trace, const std::vector<Tensor>& inputs,
                                             const std::vector<Tensor>& outputs, const std::vector<Tensor>& held,
                                             std::string* why);
  // Runs it: false (outputs untouched) when an input is not a tensor of the traced dtype and
  // shape, or a guard fails; the caller then runs the program as usual.
  bool run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) const;
  // Whether a run on `inputs` gives `expected` bit for bit (undefined where it is undefined).
  bool verify(const std::vector<Tensor>& inputs, const std::vector<Tensor>& expected) const;
  size_t num_instructions() const { return instrs_.size(); }

 private:
  enum class Kind : uint8_t { Input, Read, Constant };
  // A value: its place in the register file (in 8-byte words; 64-byte aligned when it has more
  // than one element, as the eager buffers are), dtype and shape.
  struct Reg {
    int32_t offset;
    DType dtype;
    Shape shape;
    size_t nbytes;
  };
  struct Leaf {
    Kind kind;
    int input;                           // Input: its index
    std::shared_ptr<Variable> variable;  // Read
    Tensor constant;                     // Constant: read at each run (the program's own tensor)
    int reg;
  };
  struct Instr {
    Fn fn;
    LoopFn loop;           // (null: fn, an op of rank-0 values)
    int32_t a, b, c, out;  // offsets in words
    int64_t n;             // elements
    int64_t s[3];          // strides of a, b, c
  };
  struct Guard {
    int reg;
    std::vector<unsigned char> bytes;
  };
  struct Output {
    int reg;  // -1: undefined (a None gradient)
    Shape shape;  // (the register's, or another of as many elements: a reshape of it)
  };
  std::vector<Reg> regs_;
  std::vector<Leaf> leaves_;
  std::vector<Instr> instrs_;
  std::vector<Guard> guards_;
  std::vector<Output> outputs_;
  std::vector<int> input_reg_;
  int32_t num_words_ = 0;
  bool loops_ = false;            // a value of rank >= 1: instructions run as loops
  bool structural_zeros_ = true;  // whether masks were made in the traced run (a switch: structural.h)
};

// On by default; tests compare the two.
void set_enabled(bool on);
bool enabled();

}  // namespace gt::scalar_code
