// Elementwise fusion by deferral: building programs, inlining, materialising (see fusion.h).
#include "fusion.h"

#include <pthread.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <mutex>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "kernels/elementwise.h"  // row3, where()'s loop

namespace gt {
namespace fusion {
namespace {

std::atomic<bool> g_enabled{[] {
  const char* e = std::getenv("GRADTAPE_NO_FUSION");
  return !(e && e[0] && e[0] != '0');
}()};

struct PairEntry {
  ChunkFn first, second;
  PairChunkFn both;
};
std::vector<PairEntry>& pair_table() {
  static std::vector<PairEntry>* t = new std::vector<PairEntry>();  // leaked on purpose: read until exit
  return *t;
}

// register_multiply's and register_quiet's functions.
std::vector<ChunkFn>& multiply_table() {
  static std::vector<ChunkFn>* t = new std::vector<ChunkFn>();  // leaked on purpose: read until exit
  return *t;
}
std::vector<ChunkFn>& quiet_table() {
  static std::vector<ChunkFn>* t = new std::vector<ChunkFn>();  // leaked on purpose: read until exit
  return *t;
}
bool in_table(const std::vector<ChunkFn>& t, ChunkFn fn) { return std::find(t.begin(), t.end(), fn) != t.end(); }

// Guards TensorImpl::pending of every tensor (held only to copy or swap a pointer).
std::mutex& lock() {
  static std::mutex* mu = [] {
    auto* m = new std::mutex();  // leaked on purpose: used until exit
    // fork() while another thread holds it would leave the child's copy locked forever.
    pthread_atfork([] { lock().lock(); }, [] { lock().unlock(); }, [] { lock().unlock(); });
    return m;
  }();
  return *mu;
}

thread_local int tls_batch_depth = 0;
std::atomic<bool> g_batches{true};

std::shared_ptr<const Pending> program_of(const Tensor& t) {
  if (!is_deferred(t)) return nullptr;
  std::lock_guard<std::mutex> g(lock());
  return t.get()->pending;
}

// Adds t as a leaf of p (once; a fill apart from the same tensor broadcast by an op), or returns
// false when p has no room.
bool add_leaf(Pending& p, const Tensor& t, Operand* op, bool fill = false) {
  for (int i = 0; i < p.n_leaves; ++i)
    if (p.leaves[i].same(t) && p.fill[i] == fill) { *op = {false, uint8_t(i)}; return true; }
  if (p.n_leaves == kMaxLeaves) return false;
  p.leaves[p.n_leaves] = t;
  p.fill[p.n_leaves] = fill;
  *op = {false, uint8_t(p.n_leaves++)};
  return true;
}

// Whether q's program fits into p beside `extra` more instructions.
bool fits(const Pending& p, const Pending& q, int extra) {
  if (p.n_instrs + q.n_instrs + extra > kMaxInstrs || p.costly + q.costly > 1) return false;
  int new_leaves = 0;
  for (int i = 0; i < q.n_leaves; ++i) {
    bool seen = false;
    for (int j = 0; j < p.n_leaves && !seen; ++j) seen = p.leaves[j].same(q.leaves[i]) && p.fill[j] == q.fill[i];
    new_leaves += !seen;
  }
  return p.n_leaves + new_leaves <= kMaxLeaves;
}

// Copies q's program into p; *result becomes the operand holding q's result.
void inline_program(Pending& p, const Pending& q, Operand* result) {
  Operand leaf_map[kMaxLeaves];
  for (int i = 0; i < q.n_leaves; ++i) add_leaf(p, q.leaves[i], &leaf_map[i], q.fill[i]);  // fits() checked room
  if (q.n_instrs == 0) { *result = leaf_map[0]; return; }
  const int base = p.n_instrs;
  auto remap = [&](Operand o) { return o.value ? Operand{true, uint8_t(base + o.index)} : leaf_map[o.index]; };
  for (int k = 0; k < q.n_instrs; ++k) {
    const Instr& in = q.instrs[k];
    p.instrs[p.n_instrs++] = {in.fn, remap(in.a), remap(in.b), in.select ? remap(in.c) : Operand{}, in.select, in.costly};
  }
  p.costly += q.costly;
  *result = {true, uint8_t(p.n_instrs - 1)};
}

// Makes t an operand of p: its program inlined when it is deferred and fits, else a leaf
// (materialised first). False when p has no room at all.
bool add_operand(Pending& p, const Tensor& t, int extra, Operand* op) {
  if (std::shared_ptr<const Pending> q = program_of(t)) {
    if (fits(p, *q, extra) && q->take_inline()) {
      inline_program(p, *q, op);
      return true;
    }
  }
  t.raw();  // computed now (if deferred), then read as stored values
  return add_leaf(p, t, op);
}

Tensor make_deferred(DType dtype, const Shape& shape, std::shared_ptr<const Pending> p) {
  auto impl = std::make_shared<TensorImpl>(dtype, shape, StoragePtr());
  impl->pending = std::move(p);
  impl->deferred.store(true, std::memory_order_release);
  return Tensor(std::move(impl));
}

// out[i] = c[i] ? a[i] : b[i], with where()'s own row loop (strides 0 or 1).
template <class T>
void chunk_select(const void* c, int64_t sc, const void* a, int64_t sa, const void* b, int64_t sb, void* out,
                  int64_t n) {
  const int64_t strides[3] = {sc, sa, sb};
  kernels::row3(static_cast<const bool*>(c), static_cast<const T*>(a), static_cast<const T*>(b),
                static_cast<T*>(out), n, strides, [](bool k, T x, T y) { return k ? x : y; });
}

// A fill's chunk of copies (Pending::fill) for chunks of up to n elements: n copies of its one
// value, or, for a period of P > 1 values (an operand repeated along the leading dimensions), n
// + P elements, element j its value j % P (a chunk starting at element c reads from c % P).
template <class T>
void fill_copies(const T* v, int64_t period, int64_t n, T* to) {
  if (period == 1) std::fill(to, to + n, *v);
  else
    for (int64_t j = 0; j < n + period; ++j) to[j] = v[j % period];
}

// eval_typed's chunk buffers: an instruction's chunk each, and each fill's chunk of copies (one
// period more: a fill of period P reads its chunk from element c % P of it). 80 KiB, more than a
// thread made with a small stack (threading.stack_size) has to spare, so they live on the heap:
// one set per thread and dtype, made on the thread's first pass and reused. A pass begun while
// its thread's set is in use (none is now: a pass's leaves are stored before it starts) gets a
// set of its own.
template <class T>
struct EvalScratch {
  static constexpr int64_t kChunk = kChunkBytes / int64_t(sizeof(T));  // a multiple of 64 elements
  static constexpr int64_t kMaxPeriod = kMaxPeriodBytes / int64_t(sizeof(T));
  alignas(64) T buf[kMaxInstrs][kChunk];
  alignas(64) T copies[kMaxLeaves][kChunk + kMaxPeriod];
};

template <class T>
class EvalScratchLease {
 public:
  EvalScratchLease() {
    thread_local std::unique_ptr<EvalScratch<T>> mine;
    thread_local bool busy = false;
    if (busy) {
      own_ = std::make_unique_for_overwrite<EvalScratch<T>>();
      s_ = own_.get();
      return;
    }
    if (!mine) mine = std::make_unique_for_overwrite<EvalScratch<T>>();
    s_ = mine.get();
    busy_ = &busy;
    busy = true;
  }
  ~EvalScratchLease() {
    if (busy_) *busy_ = false;
  }
  EvalScratchLease(const EvalScratchLease&) = delete;
  EvalScratchLease& operator=(const EvalScratchLease&) = delete;
  EvalScratch<T>& operator*() const { return *s_; }

 private:
  EvalScratch<T>* s_;
  bool* busy_ = nullptr;
  std::unique_ptr<EvalScratch<T>> own_;
};

// (prefetch false: no software prefetch of the next chunk, even for a costly program)
template <class T>
void eval_typed(const Pending& p, int64_t begin, int64_t end, T* out, bool prefetch = true) {
  const char* leaf[kMaxLeaves];
  int64_t esize[kMaxLeaves];
  bool bcast[kMaxLeaves];
  for (int i = 0; i < p.n_leaves; ++i) {
    leaf[i] = static_cast<const char*>(p.leaves[i].raw());
    esize[i] = int64_t(dtype_size(p.leaves[i].dtype()));
    bcast[i] = p.leaves[i].numel() == 1 && !p.fill[i];
  }
  if (p.n_instrs == 0) {  // a broadcast one-element leaf
    std::fill(out, out + (end - begin), *reinterpret_cast<const T*>(leaf[0]));
    return;
  }
  constexpr int64_t kChunk = EvalScratch<T>::kChunk;
  const EvalScratchLease<T> scratch;
  auto& buf = (*scratch).buf;
  auto& copies = (*scratch).copies;  // Pending::fill's
  int64_t period[kMaxLeaves];
  for (int i = 0; i < p.n_leaves; ++i) {
    period[i] = p.leaves[i].numel();
    if (!p.fill[i]) continue;
    fill_copies(reinterpret_cast<const T*>(leaf[i]), period[i], std::min(kChunk, end - begin), copies[i]);
    leaf[i] = reinterpret_cast<const char*>(copies[i]);
  }
  for (int64_t c = begin; c < end; c += kChunk) {
    const int64_t n = std::min(kChunk, end - c);
    // Ask for the next chunk of each leaf now, so that memory works while this chunk's
    // instructions compute (a transcendental chunk would otherwise leave the bus idle). Only for
    // a costly program: a cheap one's chunk is too short to hide the burst of requests, which
    // stalled it (W9's relu(conv + b) and relu's gradient: 2-3% of the step faster without,
    // bench/README.md); the hardware's prefetchers follow its streams.
    if (prefetch && p.costly && c + kChunk < end)
      for (int i = 0; i < p.n_leaves; ++i)
        if (!bcast[i] && !p.fill[i])
          for (int64_t k = 0; k < std::min(kChunk, end - c - kChunk); k += 64 / int64_t(sizeof(T)))
            __builtin_prefetch(leaf[i] + (c + kChunk + k) * esize[i]);
    auto arg = [&](Operand o, int64_t* stride) -> const void* {
      *stride = 1;
      if (o.value) return buf[o.index];
      if (bcast[o.index]) { *stride = 0; return leaf[o.index]; }
      if (p.fill[o.index]) return leaf[o.index] + (c % period[o.index]) * int64_t(sizeof(T));  // copies
      return leaf[o.index] + c * esize[o.index];
    };
    for (int k = 0; k < p.n_instrs; ++k) {
      const Instr& in = p.instrs[k];
      int64_t sa, sb;
      const void* a = arg(in.a, &sa);
      const void* b = arg(in.b, &sb);
      void* dst = k == p.n_instrs - 1 ? static_cast<void*>(out + (c - begin)) : static_cast<void*>(buf[k]);
      if (in.select) {
        int64_t sc;
        const void* cond = arg(in.c, &sc);
        chunk_select<T>(cond, sc, a, sa, b, sb, dst, n);
      } else {
        in.fn(a, sa, b, sb, dst, n);
      }
    }
  }
}

// A pass of materialize_together computes at most this many reductions (the others take
// another pass over the same elements).
constexpr int kMaxPassReductions = 8;

int64_t block_count(int64_t n) { return (n + kernels::kReduceBlock - 1) / kernels::kReduceBlock; }

// ---- materialize_together: several programs over the same elements as one ----

struct GOperand {
  bool value = false;  // an instruction's result, else a leaf
  int index = 0;
  bool operator==(const GOperand&) const = default;
};
struct GInstr {
  ChunkFn fn;
  GOperand a, b, c;
  bool select;
  bool costly;
  bool operator==(const GInstr&) const = default;
};
struct GOut {
  TensorImpl* impl;
  std::shared_ptr<const Pending> p;
  int value;               // the instruction giving its values
  int red = -1;            // a reduction: its index among the group's reductions
  StoragePtr storage;      // (allocated before the pass)
  std::vector<double> partials;
};
struct Group {
  DType dtype;
  int64_t n;
  std::vector<Tensor> leaves;
  std::vector<char> fill;      // Pending::fill of each leaf
  std::vector<GInstr> instrs;  // in an order where operands come first; each one once
  std::vector<GOut> outs;
  int reductions = 0;
};

int group_leaf(Group& g, const Tensor& t, bool fill) {
  for (size_t i = 0; i < g.leaves.size(); ++i)
    if (g.leaves[i].same(t) && bool(g.fill[i]) == fill) return int(i);
  g.leaves.push_back(t);
  g.fill.push_back(fill);
  return int(g.leaves.size()) - 1;
}

// Adds q's instructions to g (an instruction already there, same function on the same
// operands, is shared); returns the index of q's result.
int group_program(Group& g, const Pending& q) {
  GOperand leaf[kMaxLeaves];
  int value[kMaxInstrs];
  for (int i = 0; i < q.n_leaves; ++i) leaf[i] = {false, group_leaf(g, q.leaves[i], q.fill[i])};
  auto remap = [&](Operand o) { return o.value ? GOperand{true, value[o.index]} : leaf[o.index]; };
  for (int k = 0; k < q.n_instrs; ++k) {
    const Instr& in = q.instrs[k];
    const GInstr gi{in.fn, remap(in.a), remap(in.b), in.select ? remap(in.c) : GOperand{}, in.select, in.costly};
    auto it = std::find(g.instrs.begin(), g.instrs.end(), gi);
    value[k] = int(it - g.instrs.begin());
    if (it == g.instrs.end()) g.instrs.push_back(gi);
  }
  return value[q.n_instrs - 1];
}

// Copies a chunk to memory that will not be read soon, with stores that skip the cache (no read
// of the destination's lines first, no eviction of the leaves). dst is 64-byte aligned (a chunk
// of a tensor's storage). The stores are as wide as the CPU has: one 64-byte store a line on
// AVX-512 rather than four of 16 bytes (a mirror of W4's pass on one thread, 64-byte stores
// against 16-byte ones: 6.3-6.7 against 6.9-8.2 ms; bench/README.md, "W4's memory side"),
// picked once, as the direct convolution picks its kernels (kernels/isa.h).
#if defined(__x86_64__)
#if defined(GT_DISPATCH_ENABLED)
__attribute__((target("arch=x86-64-v4"))) size_t stream_lines_v4(char* d, const char* s, size_t bytes) {
  size_t i = 0;
  for (; i + 64 <= bytes; i += 64) _mm512_stream_si512(reinterpret_cast<__m512i*>(d + i), _mm512_loadu_si512(s + i));
  return i;
}
__attribute__((target("arch=x86-64-v3"))) size_t stream_lines_v3(char* d, const char* s, size_t bytes) {
  size_t i = 0;
  for (; i + 64 <= bytes; i += 64)
    for (size_t k = 0; k < 64; k += 32)
      _mm256_stream_si256(reinterpret_cast<__m256i*>(d + i + k), _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + i + k)));
  return i;
}
#endif
// The baseline (x86-64-v2, or whatever the build targets).
size_t stream_lines_base(char* d, const char* s, size_t bytes) {
  size_t i = 0;
  for (; i + 64 <= bytes; i += 64)
#if defined(__AVX512F__)
    _mm512_stream_si512(reinterpret_cast<__m512i*>(d + i), _mm512_loadu_si512(s + i));
#else
    for (size_t k = 0; k < 64; k += 16)
      _mm_stream_si128(reinterpret_cast<__m128i*>(d + i + k), _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i + k)));
#endif
  return i;
}
#endif

void stream_chunk(void* dst, const void* src, size_t bytes) {
#if defined(__x86_64__)
  using Lines = size_t (*)(char*, const char*, size_t);  // the whole lines streamed; returns their bytes
  static const Lines lines = [] {
#if defined(GT_DISPATCH_ENABLED)
    if (kernels::kernel_isa_level() >= 4) return &stream_lines_v4;
    if (kernels::kernel_isa_level() >= 3) return &stream_lines_v3;
#endif
    return &stream_lines_base;
  }();
  char* d = static_cast<char*>(dst);
  const char* s = static_cast<const char*>(src);
  const size_t i = lines(d, s, bytes);
  std::memcpy(d + i, s + i, bytes - i);
#else
  std::memcpy(dst, src, bytes);
#endif
}

// Prefetching in a batch pass (run_group). A leaf's next chunk is not fetched by the hardware in
// time: each chunk is one 4 KiB page of it, which the hardware prefetchers do not run past, so
// without help every chunk starts with its reads stalled, and the memory bus then idles while the
// chunk computes (W4's pass: its reads took longer inside the pass than alone, added to the
// compute). The lines of the chunk kPrefetchAhead chunks ahead are asked for a slice at a time,
// before each call a chunk makes, so the requests stay few at once (a burst of them fills the
// core's miss buffers and stalls it like the reads did) and spread over the whole chunk's
// compute. bench/README.md, "W4's memory side", measures it.
constexpr int64_t kPrefetchAhead = 2;
constexpr int kCostlySplit = 4;  // a costly instruction's calls per chunk (a slice before each)

// Slice s of `slices` of the lines of [p, p + bytes), bytes at most a chunk's (4 KiB of a leaf:
// 32-bit divisions, which cost a third of a 64-bit one's).
inline void prefetch_slice(const char* p, int64_t bytes, int s, int slices) {
  const int lines = int((bytes + 63) / 64);
  for (int l = lines * s / slices, e = lines * (s + 1) / slices; l < e; ++l) __builtin_prefetch(p + 64 * l);
}

// Whether a group's outputs are written past the cache: when its leaves and outputs together
// are bigger than a last-level cache (32 MiB), nothing it writes is still cached when read.
constexpr int64_t kStreamBytes = int64_t(32) << 20;

template <class T>
void run_group(Group& g) {
  constexpr int64_t kChunk = kChunkBytes / int64_t(sizeof(T));
  const size_t ni = g.instrs.size(), nl = g.leaves.size();
  // Each instruction writes its chunk straight into the first elementwise output it gives (the
  // tensor's storage), else into scratch; other outputs it gives copy it. A reduction reads
  // its instruction's chunk from there, while it is in L1, each block's lanes carried from chunk
  // to chunk (kernels::reduce_row_feed: the association of reduce_row over the whole block).
  int64_t touched = 0;
  for (const Tensor& l : g.leaves) touched += int64_t(l.nbytes());
  for (const GOut& o : g.outs) touched += o.red >= 0 ? 0 : g.n * int64_t(sizeof(T));
  const bool stream = touched > kStreamBytes;
  std::vector<int> first(ni, -1);
  for (size_t o = 0; o < g.outs.size(); ++o)
    if (first[size_t(g.outs[o].value)] < 0 && g.outs[o].red < 0 && !stream) first[size_t(g.outs[o].value)] = int(o);
  std::vector<const char*> leaf(nl);
  std::vector<int64_t> esize(nl);
  std::vector<char> bcast(nl);
  for (size_t i = 0; i < nl; ++i) {
    leaf[i] = static_cast<const char*>(g.leaves[i].raw());
    esize[i] = int64_t(dtype_size(g.leaves[i].dtype()));
    bcast[i] = g.leaves[i].numel() == 1 && !g.fill[i];
  }
  // Pairs of unary instructions on one operand with a registered pair function (register_pair):
  // the earlier one runs the pair, writing both results; the later one is skipped.
  std::vector<PairChunkFn> pair_fn(ni, nullptr);
  std::vector<int> pair_with(ni, -1);  // the instruction whose values go to the pair's out2
  std::vector<char> by_pair(ni, 0);
  for (size_t k = 0; k < ni; ++k) {
    const GInstr& a = g.instrs[k];
    if (a.select || by_pair[k] || !(a.a == a.b)) continue;
    for (size_t j = k + 1; j < ni && !pair_fn[k]; ++j) {
      const GInstr& b = g.instrs[j];
      if (b.select || by_pair[j] || !(b.a == a.a) || !(b.b == a.a)) continue;
      for (const PairEntry& e : pair_table()) {
        const bool fwd = e.first == a.fn && e.second == b.fn, rev = e.first == b.fn && e.second == a.fn;
        if (!fwd && !rev) continue;
        pair_fn[k] = e.both;
        pair_with[k] = int(j);
        by_pair[j] = 1;
        if (rev) pair_with[k] = -2 - int(j);  // k's values are the pair's out2
        break;
      }
    }
  }
  // The leaves read from storage (not a broadcast, not a fill) are prefetched kPrefetchAhead
  // chunks ahead, their lines spread over the chunk's calls (a costly instruction is called on
  // kCostlySplit parts of the chunk, with a slice of the prefetches before each): see
  // prefetch_slice.
  std::vector<char> leaf_read(nl, 0);  // (a fill whose product drop_unit_products dropped is not)
  for (const GInstr& in : g.instrs) {
    if (!in.a.value) leaf_read[size_t(in.a.index)] = 1;
    if (!in.b.value) leaf_read[size_t(in.b.index)] = 1;
    if (in.select && !in.c.value) leaf_read[size_t(in.c.index)] = 1;
  }
  std::vector<size_t> streamed;
  for (size_t i = 0; i < nl; ++i)
    if (!bcast[i] && !g.fill[i]) streamed.push_back(i);
  int calls = 0;
  for (size_t k = 0; k < ni; ++k)
    if (!by_pair[k]) calls += g.instrs[k].costly ? kCostlySplit : 1;
  // Each value that is not written into its output is given a scratch chunk, reused once the
  // value is dead (after its last reader in the chunk's order of calls; a value an output
  // copies or reduces lives to the chunk's end), so the chunks a pass touches stay few and in L1
  // (W4's pass: 4 scratch chunks for its 7 values). An instruction's result never shares a chunk
  // with its operands (the loops take them as restrict pointers).
  std::vector<int> slot(ni, -1);
  int slots = 0;
  {
    std::vector<size_t> at(ni), last(ni, 0);
    std::vector<char> used(ni, 0);
    for (size_t k = 0; k < ni; ++k) at[k] = k;
    for (size_t k = 0; k < ni; ++k)
      if (pair_fn[k]) at[size_t(pair_with[k] >= 0 ? pair_with[k] : -2 - pair_with[k])] = k;  // computed with k
    auto use = [&](GOperand o, size_t when) {
      if (o.value) { last[size_t(o.index)] = std::max(last[size_t(o.index)], when); used[size_t(o.index)] = 1; }
    };
    for (size_t k = 0; k < ni; ++k) {
      const GInstr& in = g.instrs[k];
      use(in.a, at[k]);
      use(in.b, at[k]);
      if (in.select) use(in.c, at[k]);
    }
    for (const GOut& o : g.outs) use(GOperand{true, o.value}, ni);  // read at the chunk's end
    std::vector<int> holder;  // each slot's value, -1 when free
    for (size_t k = 0; k < ni; ++k) {
      if (by_pair[k]) continue;
      size_t made[2] = {k, k};
      if (pair_fn[k]) made[1] = size_t(pair_with[k] >= 0 ? pair_with[k] : -2 - pair_with[k]);
      for (size_t v : made) {
        if (first[v] >= 0 || slot[v] >= 0) continue;
        int s = 0;
        while (s < slots && holder[size_t(s)] >= 0) ++s;
        if (s == slots) { holder.push_back(-1); ++slots; }
        holder[size_t(s)] = int(v);
        slot[v] = s;
      }
      for (int s = 0; s < slots; ++s) {  // free the chunks of the values read here for the last time
        const int v = holder[size_t(s)];
        if (v >= 0 && (!used[size_t(v)] || last[size_t(v)] <= k) && at[size_t(v)] <= k) holder[size_t(s)] = -1;
      }
    }
  }
  const int64_t n = g.n;
  kernels::parallel_for(block_count(n), [&](int64_t b0, int64_t b1) {
    const int64_t piece_end = std::min(n, b1 * kernels::kReduceBlock);
    std::vector<T> scratch(size_t(slots) * size_t(kChunk));
    // Each fill's chunk of copies (Pending::fill), read at stride 1 by every chunk.
    // A fill of period P > 1 (operand_repeats) has a chunk and one period of copies, and a chunk
    // starting at element c reads them from c % P.
    constexpr int64_t kMaxPeriod = kMaxPeriodBytes / int64_t(sizeof(T));
    std::vector<T> copies;
    std::vector<const T*> fill_at(nl, nullptr);
    std::vector<int64_t> period(nl, 1);
    for (size_t i = 0; i < nl; ++i)
      if (g.fill[i] && leaf_read[i]) {
        if (copies.empty()) copies.resize(nl * size_t(kChunk + kMaxPeriod));
        T* to = copies.data() + i * size_t(kChunk + kMaxPeriod);
        period[i] = g.leaves[i].numel();
        fill_copies(reinterpret_cast<const T*>(leaf[i]), period[i], kChunk, to);
        fill_at[i] = to;
      }
    std::vector<T*> dst(ni);
    // Each reduction's state for the block being computed (ReduceFns::block_start).
    std::vector<void*> red(size_t(g.reductions));
    size_t state_doubles = 0;
    for (const GOut& o : g.outs)
      if (o.red >= 0) state_doubles += (o.p->reduce->state_size + sizeof(double) - 1) / sizeof(double);
    std::vector<double> states(state_doubles);
    for (size_t o = 0, at = 0; o < g.outs.size(); ++o)
      if (g.outs[o].red >= 0) {
        red[size_t(g.outs[o].red)] = states.data() + at;
        at += (g.outs[o].p->reduce->state_size + sizeof(double) - 1) / sizeof(double);
      }
    auto out_at = [&](const GOut& o, int64_t c) -> T* { return static_cast<T*>(o.storage->data()) + c; };
    for (int64_t blk = b0; blk < b1; ++blk) {
      const int64_t start = blk * kernels::kReduceBlock, end = std::min(n, start + kernels::kReduceBlock);
      for (const GOut& o : g.outs)
        if (o.red >= 0) o.p->reduce->block_start(red[size_t(o.red)], o.p->identity);
      for (int64_t c = start; c < end; c += kChunk) {
        const int64_t m = std::min(kChunk, end - c);
        auto arg = [&](GOperand o, int64_t* stride) -> const void* {
          *stride = 1;
          if (o.value) return dst[size_t(o.index)];
          if (bcast[size_t(o.index)]) { *stride = 0; return leaf[size_t(o.index)]; }
          if (fill_at[size_t(o.index)]) return fill_at[size_t(o.index)] + c % period[size_t(o.index)];
          return leaf[size_t(o.index)] + c * esize[size_t(o.index)];
        };
        for (size_t k = 0; k < ni; ++k)
          dst[k] = first[k] < 0 ? scratch.data() + size_t(slot[k]) * size_t(kChunk) : out_at(g.outs[size_t(first[k])], c);
        const int64_t ahead = c + kPrefetchAhead * kChunk;
        const int64_t ahead_len = std::min(kChunk, piece_end - ahead);
        int call = 0;
        auto prefetch = [&] {
          if (ahead_len > 0)
            for (size_t i : streamed)
              prefetch_slice(leaf[i] + ahead * esize[i], ahead_len * esize[i], call, calls);
          ++call;
        };
        for (size_t k = 0; k < ni; ++k) {
          if (by_pair[k]) continue;  // computed with its pair
          const GInstr& in = g.instrs[k];
          int64_t sa, sb;
          const void* a = arg(in.a, &sa);
          const void* b = arg(in.b, &sb);
          if (in.select) {
            prefetch();
            int64_t sc;
            const void* cond = arg(in.c, &sc);
            chunk_select<T>(cond, sc, a, sa, b, sb, dst[k], m);
            continue;
          }
          // A costly instruction in kCostlySplit calls over consecutive parts of the chunk (each
          // a multiple of 64 elements but the last, so the vector loops cover the same elements
          // as one call would, and the values are the same).
          const int parts = in.costly ? kCostlySplit : 1;
          const int64_t part = kChunk / parts;
          for (int q = 0; q < parts; ++q) {
            prefetch();
            const int64_t lo = q * part, len = std::min(m - lo, part);
            if (len <= 0) continue;
            const T* pa = static_cast<const T*>(a) + (sa ? lo : 0);
            if (pair_fn[k]) {
              const int w = pair_with[k];
              if (w >= 0) pair_fn[k](pa, sa, dst[k] + lo, dst[size_t(w)] + lo, len);
              else pair_fn[k](pa, sa, dst[size_t(-2 - w)] + lo, dst[k] + lo, len);
            } else {
              in.fn(pa, sa, static_cast<const T*>(b) + (sb ? lo : 0), sb, dst[k] + lo, len);
            }
          }
        }
        for (size_t o = 0; o < g.outs.size(); ++o) {
          const GOut& out = g.outs[o];
          const T* values = dst[size_t(out.value)];
          if (out.red >= 0) out.p->reduce->block_feed(red[size_t(out.red)], values, m, end - start);
          else if (first[size_t(out.value)] == int(o)) continue;
          else if (stream) stream_chunk(out_at(out, c), values, size_t(m) * sizeof(T));
          else std::memcpy(out_at(out, c), values, size_t(m) * sizeof(T));
        }
      }
      for (GOut& o : g.outs)
        if (o.red >= 0)
          o.p->reduce->block_end(red[size_t(o.red)], end - start,
                                 reinterpret_cast<unsigned char*>(o.partials.data()) + size_t(blk) * o.p->reduce->acc_size);
    }
#if defined(__x86_64__)
    if (stream) _mm_sfence();  // the streamed stores are done before the pool's join publishes them
#endif
  }, 2);
}

// Drops from g each product of a value by a fill of exactly 1 (in W4's gradient, the sum's
// gradient, a fill of 1, times sigmoid: a loop and a chunk of copies a chunk). x * 1 is x bit for
// bit for every x but two: a signalling NaN, which the product quiets, and a subnormal when the
// CPU flushes subnormal operands or results to zero (MXCSR's DAZ and FTZ bits: with either set in
// the calling thread, nothing is dropped). So the other factor must be the result of a quiet
// instruction (register_quiet: never a signalling NaN), not a leaf or a select, which may hand on
// stored bits. Readers of the product read that factor; the instructions left are renumbered, an
// instruction that became another's twin shared.
template <class T>
void drop_unit_products(Group& g) {
  if (multiply_table().empty()) return;
#if defined(__x86_64__)
  if (_mm_getcsr() & 0x8040) return;  // FTZ, DAZ
#endif
  std::vector<char> unit(g.leaves.size(), 0);
  bool any = false;
  for (size_t i = 0; i < g.leaves.size(); ++i) {
    if (!g.fill[i] || g.leaves[i].numel() != 1 || g.leaves[i].dtype() != g.dtype) continue;
    const T one = T(1);
    unit[i] = std::memcmp(g.leaves[i].raw(), &one, sizeof(T)) == 0;
    any = any || unit[i];
  }
  if (!any) return;
  std::vector<GOperand> now(g.instrs.size());  // the operand that gives instruction k's values now
  std::vector<GInstr> kept;
  auto remap = [&](GOperand o) { return o.value ? now[size_t(o.index)] : o; };
  auto is_unit = [&](GOperand o) { return !o.value && unit[size_t(o.index)]; };
  auto is_quiet = [&](GOperand o) {
    return o.value && !kept[size_t(o.index)].select && in_table(quiet_table(), kept[size_t(o.index)].fn);
  };
  for (size_t k = 0; k < g.instrs.size(); ++k) {
    GInstr in = g.instrs[k];
    in.a = remap(in.a);
    in.b = remap(in.b);
    if (in.select) in.c = remap(in.c);
    if (!in.select && in_table(multiply_table(), in.fn)) {
      if (is_unit(in.a) && is_quiet(in.b)) { now[k] = in.b; continue; }
      if (is_unit(in.b) && is_quiet(in.a)) { now[k] = in.a; continue; }
    }
    auto it = std::find(kept.begin(), kept.end(), in);
    now[k] = GOperand{true, int(it - kept.begin())};
    if (it == kept.end()) kept.push_back(in);
  }
  if (kept.size() == g.instrs.size()) return;
  g.instrs = std::move(kept);
  for (GOut& o : g.outs) o.value = now[size_t(o.value)].index;  // (always a value: only values are kept)
}

// One pass of materialize_together: g's results computed, then put in their tensors.
void compute_pass(Group& g) {
  const size_t esize = dtype_size(g.dtype);
  for (GOut& o : g.outs) {
    o.value = group_program(g, o.p->reduce ? *o.p->src : *o.p);
    if (o.p->reduce) {
      o.red = g.reductions++;
      o.partials.resize(size_t(block_count(g.n)) * o.p->reduce->acc_size / sizeof(double) + 1);
      o.storage = StoragePtr(Storage::allocate(esize));
    } else {
      o.storage = StoragePtr(Storage::allocate(size_t(g.n) * esize));
    }
  }
  if (g.dtype == DType::Float32) {
    drop_unit_products<float>(g);
    run_group<float>(g);
  } else {
    drop_unit_products<double>(g);
    run_group<double>(g);
  }
  for (GOut& o : g.outs) {
    if (o.p->reduce)
      o.p->reduce->finish(o.partials.data(), block_count(g.n), o.p->identity, o.storage->data());
    std::lock_guard<std::mutex> lk(lock());
    if (!o.impl->deferred.load(std::memory_order_relaxed)) continue;  // another thread was first
    o.impl->storage = std::move(o.storage);
    o.impl->pending.reset();  // (o.p keeps the program until the group goes)
    o.impl->deferred.store(false, std::memory_order_release);
  }
}

}  // namespace

// (Switched off, a batch is no scope at all: nothing in it changes.)
Batch::Batch() : counted_(g_batches.load(std::memory_order_relaxed)), outermost_(counted_ && tls_batch_depth == 0) {
  if (counted_) ++tls_batch_depth;
}
Batch::~Batch() {
  if (counted_) --tls_batch_depth;
}
bool in_batch() { return tls_batch_depth > 0; }

Tensor defer_reduce(const Tensor& t, const kernels::ReducePlan& plan, const Shape& out, const ReduceFns* fns,
                    const void* identity, size_t identity_size) {
  if (!in_batch() || !is_deferred(t) || !kernels::reduces_in_blocks(plan)) return Tensor();
  std::shared_ptr<const Pending> src = claim(t);
  if (!src) return Tensor();
  auto p = std::make_shared<Pending>();
  p->dtype = t.dtype();
  p->reduce = fns;
  p->src = std::move(src);
  p->n_src = t.numel();
  std::memcpy(p->identity, identity, identity_size);
  return make_deferred(t.dtype(), out, std::move(p));
}

void materialize_together(const std::vector<Tensor>& ts) {
  std::vector<Group> groups;
  for (const Tensor& t : ts) {
    if (!t.defined() || !is_deferred(t)) continue;
    std::shared_ptr<const Pending> p = program_of(t);
    if (!p) continue;
    const Pending& prog = p->reduce ? *p->src : *p;
    if (prog.n_instrs == 0) continue;  // a broadcast value: nothing to share
    const int64_t n = p->reduce ? p->n_src : t.numel();
    Group* g = nullptr;
    for (Group& h : groups)
      if (h.dtype == p->dtype && h.n == n) g = &h;
    if (!g) g = &groups.emplace_back(Group{p->dtype, n, {}, {}, {}, {}, 0});
    bool seen = false;
    for (const GOut& o : g->outs) seen = seen || o.impl == t.get();
    if (!seen) g->outs.push_back(GOut{t.get(), p, 0, -1, StoragePtr(), {}});
  }
  for (Group& g : groups) {
    if (g.outs.size() < 2) continue;
    // A pass computes at most kMaxPassReductions reductions (each adds its instructions' chunks
    // to the pass's scratch): the elementwise results and the first ones, then the others by turns.
    std::vector<GOut> reductions, pass_outs;
    for (GOut& o : g.outs) (o.p->reduce ? reductions : pass_outs).push_back(std::move(o));
    size_t next = 0;
    do {
      Group pass{g.dtype, g.n, {}, {}, {}, std::move(pass_outs), 0};
      pass_outs.clear();
      for (int k = 0; k < kMaxPassReductions && next < reductions.size(); ++k)
        pass.outs.push_back(std::move(reductions[next++]));
      compute_pass(pass);
    } while (next < reductions.size());
  }
}


void register_pair(ChunkFn first, ChunkFn second, PairChunkFn both) { pair_table().push_back({first, second, both}); }
void register_multiply(ChunkFn fn) { multiply_table().push_back(fn); }
void register_quiet(ChunkFn fn) { quiet_table().push_back(fn); }

bool enabled() { return g_enabled.load(std::memory_order_relaxed); }
void set_enabled(bool on) { g_enabled.store(on, std::memory_order_relaxed); }

Tensor defer(ChunkFn fn, Cost cost, const Tensor& a, const Tensor* b, const Shape& shape) {
  auto p = std::make_shared<Pending>();
  p->dtype = a.dtype();
  p->costly = cost == Cost::Costly;
  Operand oa, ob;
  // (an operand repeated along the leading dimensions, operand_repeats: a fill of its period)
  auto operand = [&](const Tensor& t, Operand* op) {
    if (t.numel() == 1 || t.numel() == shape.numel()) return add_operand(*p, t, 1, op);
    t.raw();
    return add_leaf(*p, t, op, /*fill=*/true);
  };
  if (!operand(a, &oa)) return Tensor();
  if (!b) {
    ob = oa;
  } else if (b->same(a)) {  // x * x: one operand
    ob = oa;
  } else if (!operand(*b, &ob)) {
    return Tensor();
  }
  if (p->n_instrs == kMaxInstrs) return Tensor();
  p->instrs[p->n_instrs++] = {fn, oa, ob, Operand{}, false, cost == Cost::Costly};
  return make_deferred(a.dtype(), shape, std::move(p));
}

Tensor defer_fill(const Tensor& x, const Shape& shape) {
  auto p = std::make_shared<Pending>();
  p->dtype = x.dtype();
  Operand o;
  x.raw();
  add_leaf(*p, x, &o, /*fill=*/true);
  return make_deferred(x.dtype(), shape, std::move(p));
}

Tensor defer_select(const Tensor& cond, const Tensor& x, const Tensor& y, const Shape& shape) {
  auto p = std::make_shared<Pending>();
  p->dtype = x.dtype();
  Operand oc, ox, oy;
  cond.raw();
  if (!add_leaf(*p, cond, &oc) || !add_operand(*p, x, 1, &ox)) return Tensor();
  if (y.same(x)) oy = ox;
  else if (!add_operand(*p, y, 1, &oy)) return Tensor();
  if (p->n_instrs == kMaxInstrs) return Tensor();
  p->instrs[p->n_instrs++] = {nullptr, ox, oy, oc, true};
  return make_deferred(x.dtype(), shape, std::move(p));
}

std::shared_ptr<const Pending> claim(const Tensor& t) {
  std::shared_ptr<const Pending> q = program_of(t);  // (a reduction takes no inlining: null)
  if (q && !q->take_inline()) return nullptr;
  return q;
}

void eval(const Pending& p, int64_t begin, int64_t end, void* out) {
  if (p.dtype == DType::Float32) eval_typed(p, begin, end, static_cast<float*>(out));
  else eval_typed(p, begin, end, static_cast<double*>(out));
}

bool materialize_visiting(const Tensor& t, Visit visit, void* ctx) {
  TensorImpl& impl = *t.get();
  std::shared_ptr<const Pending> p;
  {
    std::lock_guard<std::mutex> g(lock());
    // (a program with a costly op is left to raw(), which computes it on every thread)
    if (!impl.deferred.load(std::memory_order_relaxed) || impl.pending->reduce || impl.pending->costly) return false;
    p = impl.pending;
  }
  const size_t esize = dtype_size(impl.dtype);
  StoragePtr st(Storage::allocate(size_t(impl.numel) * esize));
  char* out = static_cast<char*>(st->data());
  // Pieces of 16 chunks (64 KiB): computed into the storage, then visited from L2. One thread:
  // the visit is in order (a sum over rows). Without eval's prefetches (a burst of a chunk's
  // lines at the start of each chunk): the stream is left to the hardware's prefetchers, which
  // measured faster here (W9's relu gradient and bias sum, bench/README.md).
  const int64_t piece = 16 * (kChunkBytes / int64_t(esize));
  for (int64_t c = 0; c < impl.numel; c += piece) {
    const int64_t n = std::min(piece, impl.numel - c);
    if (impl.dtype == DType::Float32) eval_typed(*p, c, c + n, reinterpret_cast<float*>(out) + c, false);
    else eval_typed(*p, c, c + n, reinterpret_cast<double*>(out) + c, false);
    visit(ctx, out + size_t(c) * esize, c, n);
  }
  std::lock_guard<std::mutex> g(lock());
  if (!impl.deferred.load(std::memory_order_relaxed)) return true;  // another thread was first (the same values)
  impl.storage = std::move(st);
  impl.pending.reset();
  impl.deferred.store(false, std::memory_order_release);
  return true;
}

}  // namespace fusion

void materialize(TensorImpl& t) {
  std::shared_ptr<const fusion::Pending> p;
  {
    std::lock_guard<std::mutex> g(fusion::lock());
    if (!t.deferred.load(std::memory_order_relaxed)) return;
    p = t.pending;
  }
  // Computed outside the lock; a thread that loses a race drops its copy.
  StoragePtr st(Storage::allocate(size_t(t.numel) * dtype_size(t.dtype)));
  char* out = static_cast<char*>(st->data());
  const size_t esize = dtype_size(t.dtype);
  if (p->reduce)
    p->reduce->all(*p->src, p->n_src, p->identity, out);
  else
    kernels::parallel_for(t.numel, [&](int64_t s, int64_t e) { fusion::eval(*p, s, e, out + size_t(s) * esize); });
  {
    std::lock_guard<std::mutex> g(fusion::lock());
    if (!t.deferred.load(std::memory_order_relaxed)) return;
    t.storage = std::move(st);
    t.pending.reset();  // the last reference is p: the program and its leaves go outside the lock
    t.deferred.store(false, std::memory_order_release);
  }
}

void set_fusion(bool on) { fusion::set_enabled(on); }
void set_fusion_batches(bool on) { fusion::g_batches.store(on, std::memory_order_relaxed); }
bool fusion_batches_enabled() { return fusion::g_batches.load(std::memory_order_relaxed); }
bool fusion_enabled() { return fusion::enabled(); }

}  // namespace gt
