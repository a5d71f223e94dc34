#pragma once
// Elementwise fusion by deferral (docs/design.md, "Deferred elementwise ops").
//
// A big floating-point elementwise op (or a where() choosing between such tensors) whose
// operands have the output's shape (or one element) does not compute at once: it returns a tensor holding a Pending, a short straight-line
// program over at most kMaxLeaves materialised tensors. An elementwise op given a deferred
// operand copies that operand's program into its own (inlining), so a chain such as
// softplus(x * w + b) becomes one program over x, w and b. The values are computed when
// something reads them (Tensor::raw() calls materialize()): one pass over the leaves, chunk by
// chunk through L1-sized buffers, written once. A full reduction of a deferred tensor never
// writes it at all (reduce_all). Every element goes through the same functions, in the same
// order and types, as the eager kernels, so the values do not change.
//
// Recomputation is bounded: a program holds at most one costly op (a transcendental), and a
// deferred tensor is inlined into at most kMaxInlines consumers (kMaxCostlyInlines when it has
// a costly op); the next one materialises it and reads the stored values. Ops, tapes and rules
// do not know about any of this: recording and gradients work on the TensorImpl as for any
// tensor.
#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "gradtape/tensor.h"
#include "kernels/isa.h"
#include "kernels/parallel.h"
#include "kernels/reduce.h"

namespace gt::fusion {

constexpr int kMaxLeaves = 6;
constexpr int kMaxInstrs = 8;
constexpr int kMaxInlines = 3;        // for a program of cheap ops only
constexpr int kMaxCostlyInlines = 1;  // for one with a costly op
constexpr int64_t kChunkBytes = 4096;  // each step of a program covers 4 KiB of each operand
constexpr int64_t kMinElements = kernels::kMinParallel;  // smaller ops run eagerly

enum class Cost : uint8_t { Cheap, Costly };

// One chunk of one op: out[i] = f(a[i * sa], b[i * sb]) for i < n; sa and sb are 0 or 1.
using ChunkFn = void (*)(const void* a, int64_t sa, const void* b, int64_t sb, void* out, int64_t n);

template <class T, class F>
GT_DISPATCHED void chunk_unary(const void* a, int64_t sa, const void*, int64_t, void* out, int64_t n) {
  const T* __restrict pa = static_cast<const T*>(a);
  T* __restrict po = static_cast<T*>(out);
  const F f{};
  if (sa) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) po[i] = f(pa[i]);
  } else {
    const T v = *pa;
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) po[i] = f(v);
  }
}

template <class T, class F>
GT_DISPATCHED void chunk_binary(const void* a, int64_t sa, const void* b, int64_t sb, void* out, int64_t n) {
  const T* __restrict pa = static_cast<const T*>(a);
  const T* __restrict pb = static_cast<const T*>(b);
  T* __restrict po = static_cast<T*>(out);
  const F f{};
  if (sa && sb) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) po[i] = f(pa[i], pb[i]);
  } else if (sa) {
    const T bv = *pb;
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) po[i] = f(pa[i], bv);
  } else if (sb) {
    const T av = *pa;
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) po[i] = f(av, pb[i]);
  } else {
    const T av = *pa, bv = *pb;
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) po[i] = f(av, bv);
  }
}

// Two unary ops of one operand in one loop: out1[i] = f1(a[i * sa]), out2[i] = f2(a[i * sa]),
// computing what the two have in common once (softplus and sigmoid share exp(-|z|)). A batch
// pass (materialize_together) that has both f1(z) and f2(z) among its instructions runs the
// pair's function instead of the two (register_pair); the values are the two functions' own,
// bit for bit (the pair's functor calls the same inline math).
using PairChunkFn = void (*)(const void* a, int64_t sa, void* out1, void* out2, int64_t n);

// F::shared(T v) computes what the two values of one element have in common, F::from(T v, T s,
// T& o1, T& o2) both values from it. Two loops, the first storing s in out1: each loop's body
// is half the instructions and needs half the constants of one loop doing both, so it keeps
// them in registers and more of its iterations in flight (softplus and sigmoid of 256 floats
// in L1, AVX-512: 0.59 ns an element in two loops, 0.74 in one; bench/README.md, "W4's
// compute"). The values are the same.
template <class T, class F>
GT_DISPATCHED void chunk_unary_pair(const void* a, int64_t sa, void* out1, void* out2, int64_t n) {
  const T* __restrict pa = static_cast<const T*>(a);
  T* __restrict p1 = static_cast<T*>(out1);
  T* __restrict p2 = static_cast<T*>(out2);
  const F f{};
  if (sa) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) p1[i] = f.shared(pa[i]);
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) f.from(pa[i], p1[i], p1[i], p2[i]);
  } else {
    const T v = *pa;
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) p1[i] = f.shared(v);
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) f.from(v, p1[i], p1[i], p2[i]);
  }
}

// Records that `both` computes the unary instructions `first` and `second` of one operand
// together (first's values into out1). Called during static initialisation only (the table is
// read without a lock afterwards).
void register_pair(ChunkFn first, ChunkFn second, PairChunkFn both);

// Records that `fn` is a product (out = a * b, IEEE multiplication), or that every result `fn`
// gives is an IEEE arithmetic operation's (a NaN among them is quiet, never a signalling one),
// for a batch pass that drops a product by a fill of exactly 1 (fusion.cpp,
// drop_unit_products). Called during static initialisation only, as register_pair.
void register_multiply(ChunkFn fn);
void register_quiet(ChunkFn fn);

// The chunk function of the lambda type F for a floating dtype.
template <class F>
ChunkFn unary_fn(DType d) { return d == DType::Float32 ? &chunk_unary<float, F> : &chunk_unary<double, F>; }
template <class F>
ChunkFn binary_fn(DType d) { return d == DType::Float32 ? &chunk_binary<float, F> : &chunk_binary<double, F>; }

// Registers the pair functor Both (Both{}.shared(v), Both{}.from(v, s, o1, o2): chunk_unary_pair)
// for the unary functors F1 and F2, at both floating widths: a namespace-scope
// `const PairRegistration<F1, F2, Both> r;`.
template <class F1, class F2, class Both>
struct PairRegistration {
  PairRegistration() {
    register_pair(&chunk_unary<float, F1>, &chunk_unary<float, F2>, &chunk_unary_pair<float, Both>);
    register_pair(&chunk_unary<double, F1>, &chunk_unary<double, F2>, &chunk_unary_pair<double, Both>);
  }
};

// register_multiply (F a binary functor) or register_quiet (F a unary one) at both floating
// widths: a namespace-scope `const MultiplyRegistration<F> r;`.
template <class F>
struct MultiplyRegistration {
  MultiplyRegistration() {
    register_multiply(&chunk_binary<float, F>);
    register_multiply(&chunk_binary<double, F>);
  }
};
template <class F>
struct QuietRegistration {
  QuietRegistration() {
    register_quiet(&chunk_unary<float, F>);
    register_quiet(&chunk_unary<double, F>);
  }
};

struct Operand {
  bool value;     // an instruction's result, else a leaf
  uint8_t index;
};
struct Instr {
  ChunkFn fn;    // null for a select
  Operand a, b;  // b unused by unary ops
  Operand c;     // a select's bool condition (a leaf): out = c ? a : b
  bool select = false;
  bool costly = false;  // a transcendental (Cost::Costly): a batch pass spreads its prefetches over it
};

struct Pending;

// The type-erased parts of a deferred full reduction (Pending::reduce): all n elements of a
// program reduced into the result alone (reduce_program, then the cast to the tensor's dtype),
// and, for a pass that computes the blocks itself (materialize_together), one block reduced
// chunk by chunk as the pass computes it (kernels::reduce_row from the identity, fed in pieces:
// block_start, block_feed for each chunk, block_end into the block's partial; the state is
// state_size bytes, aligned for a double) and the partials, in block order, into the result (as
// kernels::reduce_blocks does).
struct ReduceFns {
  size_t acc_size;
  size_t state_size;
  void (*all)(const Pending& src, int64_t n, const void* identity, void* out);
  void (*block_start)(void* state, const void* identity);
  void (*block_feed)(void* state, const void* values, int64_t m, int64_t len);
  void (*block_end)(void* state, int64_t len, void* partial);
  void (*finish)(const void* partials, int64_t blocks, const void* identity, void* out);
};

struct Pending {
  DType dtype = DType::Float32;
  int n_leaves = 0;
  int n_instrs = 0;
  int costly = 0;                // costly instructions (at most 1)
  Tensor leaves[kMaxLeaves];     // materialised; each has the output's element count, or one
                                 // element; of the program's dtype, or bool (select conditions)
  // Whether a one-element leaf stands for stored copies of its element (a fill: broadcast_to's
  // deferred result, inlined), not for an operand the op itself broadcasts. A fill is read as a
  // chunk of copies, at stride 1, so each instruction computes each element with the loop, and
  // the function, eager uses on the stored copies (a broadcast operand's loop can compute
  // f(v) once, outside the loop, with the scalar libm function where the loop over stored
  // values calls libmvec's vector variant: the two can differ in the last bit).
  // A fill of P > 1 elements is an operand repeated along the leading dimensions (a bias of
  // shape [C] added to [..., C]: operand_repeats): element i of the program reads its element
  // i % P, from a chunk of copies of its period, at stride 1 as well.
  bool fill[kMaxLeaves] = {};
  Instr instrs[kMaxInstrs];      // the result is the last one's (a program of none is leaf 0, broadcast)
  mutable std::atomic<int> inlined{0};  // consumers that inlined it so far

  // A reduction instead (reduce set, made only inside a Batch): all n_src elements of src's
  // program reduced to one value of `dtype`. Its own fields above are unused; it is never
  // inlined, and is computed when read or by materialize_together.
  const ReduceFns* reduce = nullptr;
  std::shared_ptr<const Pending> src;
  int64_t n_src = 0;
  alignas(8) unsigned char identity[8] = {};

  // Takes one inlining; false when the limit is reached (the consumer materialises instead).
  // Inside a Batch a costly program may be inlined as often as a cheap one: the consumers are
  // computed together there, each common instruction once (materialize_together).
  bool take_inline() const;
};

// A batch: a scope (per thread, nested) whose deferred results are computed together at its
// end (materialize_together) rather than one by one. Inside it, full reductions of deferred
// tensors are deferred too (defer_reduce_all), and costly programs are inlined like cheap ones.
// A sweep (tape_sweep.cpp) and a gt.function run (program.cpp) are batches; each computes what
// it deferred before it ends (a deferred reduction never outlives the outermost batch, so it
// never holds its operands, such as a variable's value, for long).
class Batch {
 public:
  Batch();
  ~Batch();
  Batch(const Batch&) = delete;
  Batch& operator=(const Batch&) = delete;
  bool active() const { return counted_; }  // (false when batches are switched off)
  bool outermost() const { return outermost_; }

 private:
  bool counted_;
  bool outermost_;
};
bool in_batch();

inline bool Pending::take_inline() const {
  if (reduce) return false;
  return inlined.fetch_add(1, std::memory_order_relaxed) < (costly && !in_batch() ? kMaxCostlyInlines : kMaxInlines);
}

bool enabled();
void set_enabled(bool on);

// Whether an op giving n elements of dtype d may be deferred.
inline bool wanted(DType d, int64_t n) { return n >= kMinElements && is_wide_float(d) && enabled(); }

// Whether t can be an operand of a deferred op with this output shape (its shape, or one
// element, read broadcast).
inline bool operand_fits(const Tensor& t, const Shape& out) { return t.shape() == out || t.numel() == 1; }

// The longest period of an operand repeated along the leading dimensions (its copies fill a
// chunk and one period more of a stack buffer): one chunk's elements.
constexpr int64_t kMaxPeriodBytes = kChunkBytes;

// Whether t, of more than one element and fewer than out's, is repeated along out's leading
// dimensions: its shape, without leading 1s, is out's last dimensions (a bias [C] added to
// [N, H, W, C]), so element i of the result reads t's element i % t.numel(). Such an operand
// of a binary op is a fill of its period (Pending::fill).
inline bool operand_repeats(const Tensor& t, const Shape& out) {
  const int64_t p = t.numel();
  if (p <= 1 || p >= out.numel() || p * int64_t(dtype_size(t.dtype())) > kMaxPeriodBytes) return false;
  const Shape& s = t.shape();
  int lead = 0;
  while (lead < s.rank() && s[lead] == 1) ++lead;
  const int k = s.rank() - lead;  // t's dimensions that count
  if (k > out.rank()) return false;
  for (int i = 0; i < k; ++i)
    if (s[lead + i] != out[out.rank() - k + i]) return false;
  return true;
}

inline bool is_deferred(const Tensor& t) { return t.get()->deferred.load(std::memory_order_acquire); }

// f(a) (b null) or f(a, b), deferred, with the given output shape; each operand has that
// shape or one element, and a's dtype. Undefined when the program would not fit (the caller
// then computes eagerly).
Tensor defer(ChunkFn fn, Cost cost, const Tensor& a, const Tensor* b, const Shape& shape);
// The one-element tensor x broadcast to `shape`, deferred.
Tensor defer_fill(const Tensor& x, const Shape& shape);
// where(cond, x, y), deferred: cond bool, x and y of one floating dtype, each of `shape` or one
// element. Undefined when the program would not fit.
Tensor defer_select(const Tensor& cond, const Tensor& x, const Tensor& y, const Shape& shape);

// The program of a deferred tensor for a consumer that will compute it itself (counted as an
// inlining); null when t is materialised or has been inlined kMaxInlines times already.
std::shared_ptr<const Pending> claim(const Tensor& t);

// Computes elements [begin, end) of p's result into out (of p's dtype).
void eval(const Pending& p, int64_t begin, int64_t end, void* out);

// Computes together, in one pass over their leaves, the deferred tensors among ts that have a
// dtype and an element count in common (a deferred reduction counts its source's elements), each
// instruction the programs share computed once; the values are those each would get alone. A
// tensor with no such partner is left deferred.
void materialize_together(const std::vector<Tensor>& ts);

// acc op (all n elements of p's program), by kernels::reduce_blocks, each block computed into a
// per-thread buffer instead of read from storage: what reduce gives on the stored values.
template <class T, class Acc, class Op>
Acc reduce_program(const Pending& p, int64_t n, Acc acc, Op op) {
  return kernels::reduce_blocks<T>(n, acc, acc, op, [&](int64_t begin, int64_t len) {
    static thread_local std::vector<T> buf;  // one block, reused (a fresh 128 KiB is an mmap)
    buf.resize(static_cast<size_t>(kernels::kReduceBlock));
    eval(p, begin, begin + len, buf.data());
    return static_cast<const T*>(buf.data());
  });
}

template <class T, class Acc, class Op>
const ReduceFns* reduce_fns() {
  using State = kernels::RowReduceState<Acc>;
  static_assert(alignof(State) <= alignof(double));
  static const ReduceFns fns{
      sizeof(Acc),
      sizeof(State),
      [](const Pending& src, int64_t n, const void* identity, void* out) {
        *static_cast<T*>(out) = T(reduce_program<T>(src, n, *static_cast<const Acc*>(identity), Op{}));
      },
      [](void* state, const void* identity) {
        kernels::reduce_row_start(*static_cast<State*>(state), *static_cast<const Acc*>(identity));
      },
      [](void* state, const void* values, int64_t m, int64_t len) {
        kernels::reduce_row_feed(*static_cast<State*>(state), static_cast<const T*>(values), m, len, Op{});
      },
      [](void* state, int64_t len, void* partial) {
        *static_cast<Acc*>(partial) = kernels::reduce_row_finish(*static_cast<State*>(state), len, Op{});
      },
      [](const void* partials, int64_t blocks, const void* identity, void* out) {
        Acc acc = *static_cast<const Acc*>(identity);
        for (int64_t b = 0; b < blocks; ++b) acc = Op{}(acc, static_cast<const Acc*>(partials)[b]);
        *static_cast<T*>(out) = T(acc);
      }};
  return &fns;
}

// Inside a Batch: the reduction of all of deferred t's elements with `op` from `identity`,
// itself deferred, of shape `out` (one element); it gives what reduce_all gives. Undefined
// otherwise (outside a batch, t stored, not reduced in blocks, or not to be inlined again).
Tensor defer_reduce(const Tensor& t, const kernels::ReducePlan& plan, const Shape& out, const ReduceFns* fns,
                    const void* identity, size_t identity_size);
template <class T, class Acc, class Op>
Tensor defer_reduce_all(const Tensor& t, const kernels::ReducePlan& plan, const Shape& out, Acc identity, Op) {
  static_assert(sizeof(Acc) <= sizeof(Pending::identity));
  return defer_reduce(t, plan, out, reduce_fns<T, Acc, Op>(), &identity, sizeof(Acc));
}

// The reduction of all of a deferred tensor's elements (kernels::reduce's blocked path, with
// each block computed into a per-thread buffer instead of read from storage), so the result is
// the one reduce gives on the materialised values, and the values are never stored. False
// (nothing done) when t is not deferred, is too small for that path, or is not to be
// recomputed again.
template <class T, class Acc, class Op>
bool reduce_all(const Tensor& t, const kernels::ReducePlan& plan, Acc* out, Op op) {
  if (!is_deferred(t) || !kernels::reduces_in_blocks(plan)) return false;
  std::shared_ptr<const Pending> p = claim(t);
  if (!p) return false;
  out[0] = reduce_program<T>(*p, t.numel(), out[0], op);
  return true;
}

// Computes deferred t into its storage, as Tensor::raw() does, on this thread, handing each
// piece of its values to visit(ctx, values, begin, n) in order while the piece is still in cache
// (the pieces are whole multiples of the program's chunks, so each element is computed by the
// loop that computes it when t is read). False (nothing done) when t is not deferred, is a
// deferred reduction, or has a costly op (then raw() computes it on every thread of the pool).
using Visit = void (*)(void* ctx, const void* values, int64_t begin, int64_t n);
bool materialize_visiting(const Tensor& t, Visit visit, void* ctx);

// out[j] = op(out[j], v[i]) for the values v of elements [begin, begin + n) of a tensor of rows
// of `cols`, row by row (each column's values in order: the association of any loop order
// within a row is the same).
template <class T, class Acc, class Op>
GT_DISPATCHED void add_rows(Acc* __restrict out, int64_t cols, const T* __restrict v, int64_t begin, int64_t n, Op op) {
  int64_t i = 0, j = begin % cols;
  if (j)  // the rest of a row the previous piece began
    for (; i < n && j < cols; ++i, ++j) out[j] = op(out[j], Acc(v[i]));
  for (; i + cols <= n; i += cols) {
    const T* row = v + i;
#pragma omp simd
    for (int64_t k = 0; k < cols; ++k) out[k] = op(out[k], Acc(row[k]));
  }
  for (int64_t k = 0; i < n; ++i, ++k) out[k] = op(out[k], Acc(v[i]));
}

// A reduction of deferred t over its leading dimensions into its last ones (plan: [rows] reduced,
// then [cols] kept, as sum_to_shape's sum of a bias's gradient), computed in the pass that stores
// t (materialize_visiting), so t's values are read once: out[j] = op(out[j], t[r][j]) for each
// row r in order, what kernels::reduce does on the stored values. False (nothing done) when t
// is not deferred or the plan is not of that form.
template <class T, class Acc, class Op>
bool materialize_reducing_rows(const Tensor& t, const kernels::ReducePlan& plan, Acc* out, Op) {
  if (!is_deferred(t) || plan.rank != 2 || !plan.reduced[0] || plan.reduced[1]) return false;
  struct Sums {
    Acc* out;
    int64_t cols;
  } sums{out, plan.dims[1]};
  return materialize_visiting(t, [](void* ctx, const void* values, int64_t begin, int64_t n) {
    const Sums& s = *static_cast<const Sums*>(ctx);
    add_rows<T, Acc, Op>(s.out, s.cols, static_cast<const T*>(values), begin, n, Op{});
  }, &sums);
}

}  // namespace gt::fusion
