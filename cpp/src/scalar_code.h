#pragma once
// Scalar code (internal; docs/guides/function.md, "Programs of scalars"): a gt.function program
// whose values are all rank-0 floats (and bools: comparisons, conditions), compiled into a flat
// list of instructions over an array of 8-byte registers, run with no tensor, tape, frame or
// allocation per op.
//
// It is made from what one planned run of the program does (a trace at the kernel level, not a
// second description of the ops): while a ScalarTrace is active on the thread, each
// elementwise kernel that computes a rank-0 float result reports the element function it
// applied (the lambda type F of ops_elementwise.cpp, the one the eager loop calls), its
// operands and its result; so do the comparisons and logical ops (a bool result), where (a
// select) and cast between float32, float64 and bool; fill() and zeros() report the constants
// they make; a program's variable reads report the variables; Tensor::item() reports a value
// that C++ code read (a rule that folds a constant exponent; structural.cpp's test of whether a
// structural-zero mask is set). compile() then resolves each operand, by its storage, to an
// earlier result, an input, a variable read, a constant the trace made, or a tensor the program
// holds (a constant it captured). Anything else (a tensor made by a kernel that does not
// report: a reduction, an op on integers, a fused pass) refuses the compilation, so an op the
// code does not know cannot be skipped. A value that C++ code read becomes a guard: a run whose
// value differs falls back to the planned run. The code is used only after it gave the traced
// run's outputs bit for bit (verify()).
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "gradtape/tensor.h"
#include "gradtape/variable.h"
#include "kernels/isa.h"
#include "record.h"  // (GT_TLS)

namespace gt::scalar_code {

// One instruction's function: out = f(a), f(a, b) or (a ? b : c), on registers of its types
// (float, double or bool). The arithmetic ones are compiled in the instruction-set copies the
// eager loops run (GT_DISPATCHED, kernels/isa.h), so that F's arithmetic contracts the same way
// and the values are eager's, bit for bit; a comparison and a select compute no float.
using Fn = void (*)(const void* a, const void* b, const void* c, void* out);

template <class T, class F>
GT_DISPATCHED void unary(const void* a, const void*, const void*, void* out) {
  *static_cast<T*>(out) = T(F{}(*static_cast<const T*>(a)));
}
template <class T, class F>
GT_DISPATCHED void binary(const void* a, const void* b, const void*, void* out) {
  *static_cast<T*>(out) = T(F{}(*static_cast<const T*>(a), *static_cast<const T*>(b)));
}
// A comparison (or a logical op on bools): T operands, a bool result.
template <class T, class F>
void compare(const void* a, const void* b, const void*, void* out) {
  *static_cast<bool*>(out) = bool(F{}(*static_cast<const T*>(a), *static_cast<const T*>(b)));
}
// cast between float32, float64 and bool, as cast_kernel converts (ops_elementwise.cpp)
template <class In, class Out>
void convert(const void* a, const void*, const void*, void* out) {
  const In v = *static_cast<const In*>(a);
  if constexpr (std::is_same_v<Out, bool>) *static_cast<bool*>(out) = v != In(0);
  else *static_cast<Out*>(out) = Out(v);
}
template <class F>
void bool_unary(const void* a, const void*, const void*, void* out) {
  *static_cast<bool*>(out) = bool(F{}(*static_cast<const bool*>(a)));
}
// where(a, b, c): elements picked by their bits (U: an unsigned type of their size), as the
// eager where picks them.
template <class U>
void select(const void* a, const void* b, const void* c, void* out) {
  *static_cast<U*>(out) = *static_cast<const bool*>(a) ? *static_cast<const U*>(b) : *static_cast<const U*>(c);
}

// What one traced run did, as the kernels reported it (held, so that no storage is reused
// while the trace lasts: an operand is known by its storage).
struct Trace {
  struct Op {
    Fn fn;
    Tensor a, b, c, out;  // b undefined for a unary op, c for all but a select
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

void note_op(Fn f32, Fn f64, const Tensor& a, const Tensor* b, const Tensor& out);
void note_compare_slow(Fn f32, Fn f64, Fn b8, const Tensor& a, const Tensor* b, const Tensor& out);
void note_cast_slow(const Tensor& x, const Tensor& out);
void note_select_slow(const Tensor& cond, const Tensor& x, const Tensor& y, const Tensor& out);
void note_constant_slow(const Tensor& t);
void note_read_slow(const std::shared_ptr<Variable>& v, const Tensor& value);
void note_item_slow(const Tensor& t);

// The kernels' reports (one thread-local test when no trace is active).
template <class F>
inline void note_unary(const Tensor& x, const Tensor& out) {
  if (tls_trace) note_op(&unary<float, F>, &unary<double, F>, x, nullptr, out);
}
template <class F>
inline void note_binary(const Tensor& a, const Tensor& b, const Tensor& out) {
  if (tls_trace) note_op(&binary<float, F>, &binary<double, F>, a, &b, out);
}
// A comparison of two tensors of one dtype (float32, float64, or bool for logical_and/or), or
// logical_not: a bool result.
template <class F>
inline void note_compare(const Tensor& a, const Tensor* b, const Tensor& out) {
  if (tls_trace) note_compare_slow(&compare<float, F>, &compare<double, F>, &compare<bool, F>, a, b, out);
}
template <class F>
inline void note_logical_not(const Tensor& x, const Tensor& out) {
  if (tls_trace) note_compare_slow(nullptr, nullptr, &bool_unary<F>, x, nullptr, out);
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
  // Runs it: false (outputs untouched) when an input is not a rank-0 tensor of the traced dtype,
  // or a guard fails; the caller then runs the program as usual.
  bool run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) const;
  // Whether a run on `inputs` gives `expected` bit for bit (undefined where it is undefined).
  bool verify(const std::vector<Tensor>& inputs, const std::vector<Tensor>& expected) const;
  size_t num_instructions() const { return instrs_.size(); }

 private:
  enum class Kind : uint8_t { Input, Read, Constant };
  struct Leaf {
    Kind kind;
    int input;                           // Input: its index
    std::shared_ptr<Variable> variable;  // Read
    Tensor constant;                     // Constant: read at each run (the program's own tensor)
    int reg;
  };
  struct Instr {
    Fn fn;
    int32_t a, b, c, out;
  };
  struct Guard {
    int reg;
    uint64_t bits;
  };
  struct Output {
    int reg;  // -1: undefined (a None gradient)
    DType dtype;
  };
  std::vector<Leaf> leaves_;
  std::vector<Instr> instrs_;
  std::vector<Guard> guards_;
  std::vector<Output> outputs_;
  std::vector<DType> reg_dtype_;
  std::vector<DType> input_dtype_;
  int num_regs_ = 0;
  bool structural_zeros_ = true;  // whether masks were made in the traced run (a switch: structural.h)
};

// On by default; tests compare the two.
void set_enabled(bool on);
bool enabled();

}  // namespace gt::scalar_code
