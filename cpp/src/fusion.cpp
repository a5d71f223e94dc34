// Elementwise fusion by deferral: building programs, inlining, materialising (see fusion.h).
#include "fusion.h"

#include <pthread.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "kernels/elementwise.h"  // row3, where()'s loop

namespace gt {
namespace fusion {
namespace {

std::atomic<bool> g_enabled{[] {
  const char* e = std::getenv("GRADTAPE_NO_FUSION");
  return !(e && e[0] && e[0] != '0');
}()};

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

std::shared_ptr<const Pending> program_of(const Tensor& t) {
  if (!is_deferred(t)) return nullptr;
  std::lock_guard<std::mutex> g(lock());
  return t.get()->pending;
}

// Adds t as a leaf of p (once), or returns false when p has no room.
bool add_leaf(Pending& p, const Tensor& t, Operand* op) {
  for (int i = 0; i < p.n_leaves; ++i)
    if (p.leaves[i].same(t)) { *op = {false, uint8_t(i)}; return true; }
  if (p.n_leaves == kMaxLeaves) return false;
  p.leaves[p.n_leaves] = t;
  *op = {false, uint8_t(p.n_leaves++)};
  return true;
}

// Whether q's program fits into p beside `extra` more instructions.
bool fits(const Pending& p, const Pending& q, int extra) {
  if (p.n_instrs + q.n_instrs + extra > kMaxInstrs || p.costly + q.costly > 1) return false;
  int new_leaves = 0;
  for (int i = 0; i < q.n_leaves; ++i) {
    bool seen = false;
    for (int j = 0; j < p.n_leaves && !seen; ++j) seen = p.leaves[j].same(q.leaves[i]);
    new_leaves += !seen;
  }
  return p.n_leaves + new_leaves <= kMaxLeaves;
}

// Copies q's program into p; *result becomes the operand holding q's result.
void inline_program(Pending& p, const Pending& q, Operand* result) {
  Operand leaf_map[kMaxLeaves];
  for (int i = 0; i < q.n_leaves; ++i) add_leaf(p, q.leaves[i], &leaf_map[i]);  // fits() checked room
  if (q.n_instrs == 0) { *result = leaf_map[0]; return; }
  const int base = p.n_instrs;
  auto remap = [&](Operand o) { return o.value ? Operand{true, uint8_t(base + o.index)} : leaf_map[o.index]; };
  for (int k = 0; k < q.n_instrs; ++k) {
    const Instr& in = q.instrs[k];
    p.instrs[p.n_instrs++] = {in.fn, remap(in.a), remap(in.b), in.select ? remap(in.c) : Operand{}, in.select};
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

template <class T>
void eval_typed(const Pending& p, int64_t begin, int64_t end, T* out) {
  const char* leaf[kMaxLeaves];
  int64_t esize[kMaxLeaves];
  bool bcast[kMaxLeaves];
  for (int i = 0; i < p.n_leaves; ++i) {
    leaf[i] = static_cast<const char*>(p.leaves[i].raw());
    esize[i] = int64_t(dtype_size(p.leaves[i].dtype()));
    bcast[i] = p.leaves[i].numel() == 1;
  }
  if (p.n_instrs == 0) {  // a broadcast one-element leaf
    std::fill(out, out + (end - begin), *reinterpret_cast<const T*>(leaf[0]));
    return;
  }
  constexpr int64_t kChunk = kChunkBytes / int64_t(sizeof(T));  // a multiple of 64 elements
  alignas(64) T buf[kMaxInstrs][kChunk];
  for (int64_t c = begin; c < end; c += kChunk) {
    const int64_t n = std::min(kChunk, end - c);
    // Ask for the next chunk of each leaf now, so that memory works while this chunk's
    // instructions compute (a transcendental chunk would otherwise leave the bus idle).
    if (c + kChunk < end)
      for (int i = 0; i < p.n_leaves; ++i)
        if (!bcast[i])
          for (int64_t k = 0; k < std::min(kChunk, end - c - kChunk); k += 64 / int64_t(sizeof(T)))
            __builtin_prefetch(leaf[i] + (c + kChunk + k) * esize[i]);
    auto arg = [&](Operand o, int64_t* stride) -> const void* {
      *stride = 1;
      if (o.value) return buf[o.index];
      if (bcast[o.index]) { *stride = 0; return leaf[o.index]; }
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

}  // namespace

bool enabled() { return g_enabled.load(std::memory_order_relaxed); }
void set_enabled(bool on) { g_enabled.store(on, std::memory_order_relaxed); }

Tensor defer(ChunkFn fn, Cost cost, const Tensor& a, const Tensor* b, const Shape& shape) {
  auto p = std::make_shared<Pending>();
  p->dtype = a.dtype();
  p->costly = cost == Cost::Costly;
  Operand oa, ob;
  if (!add_operand(*p, a, 1, &oa)) return Tensor();
  if (!b) {
    ob = oa;
  } else if (b->same(a)) {  // x * x: one operand
    ob = oa;
  } else if (!add_operand(*p, *b, 1, &ob)) {
    return Tensor();
  }
  if (p->n_instrs == kMaxInstrs) return Tensor();
  p->instrs[p->n_instrs++] = {fn, oa, ob};
  return make_deferred(a.dtype(), shape, std::move(p));
}

Tensor defer_fill(const Tensor& x, const Shape& shape) {
  auto p = std::make_shared<Pending>();
  p->dtype = x.dtype();
  Operand o;
  x.raw();
  add_leaf(*p, x, &o);
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
  std::shared_ptr<const Pending> q = program_of(t);
  if (q && !q->take_inline()) return nullptr;
  return q;
}

void eval(const Pending& p, int64_t begin, int64_t end, void* out) {
  if (p.dtype == DType::Float32) eval_typed(p, begin, end, static_cast<float*>(out));
  else eval_typed(p, begin, end, static_cast<double*>(out));
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
bool fusion_enabled() { return fusion::enabled(); }

}  // namespace gt
