#pragma once
// Fused passes for gradient rules: what a rule computes with two or three ops, done in one pass
// over memory. A rule calls them only when no tape records it (its result need not be
// differentiable again) and its operands are plain contiguous buffers of one shape; the rule's
// own code stays its math (ops_elementwise.cpp: `g * b, g * a`; `g * sigmoid(x)`).
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "kernels/elementwise.h"
#include "kernels/isa.h"
#include "kernels/logistic.h"
#include "kernels/parallel.h"
#include "kernels/stream.h"

namespace gt::kernels {

// Bytes of one chunk of the product-pair pass: it stays in L1 with its three buffers.
constexpr int64_t kProductPairChunkBytes = 4096;

// One chunk of product_pair: da = g * b, db = g * a (GT_DISPATCHED, isa.h).
template <class T>
GT_DISPATCHED void product_pair_chunk(const T* __restrict g, const T* __restrict a, const T* __restrict b,
                                      T* __restrict da, T* __restrict db, int64_t len) {
#pragma omp simd
  for (int64_t i = 0; i < len; ++i) {
    da[i] = g[i] * b[i];
    db[i] = g[i] * a[i];
  }
}

// ga = g * b and gb = g * a over n elements in one pass (multiply's gradient pair). The
// upstream gradient comes chunk by chunk from `g_chunk(start, count, buffer)`, which returns a
// pointer to g[start, start + count): the stored g, or a deferred g computed into `buffer`
// (fusion.h), so a deferred g is never stored. Big outputs leave the L1 chunk buffers with
// streaming stores (stream.h).
template <class T, class GChunk>
void product_pair(int64_t n, GChunk g_chunk, const T* a, const T* b, T* ga, T* gb) {
  const bool stream = int64_t(sizeof(T)) * n >= kStreamMinBytes;
  constexpr int64_t kChunk = kProductPairChunkBytes / int64_t(sizeof(T));
  parallel_for(n, [&](int64_t s, int64_t e) {
    alignas(64) T gbuf[kChunk], abuf[kChunk], bbuf[kChunk];
    for (int64_t cs = s; cs < e; cs += kChunk) {
      const int64_t len = std::min(e, cs + kChunk) - cs;
      product_pair_chunk(g_chunk(cs, len, gbuf), a + cs, b + cs, stream ? abuf : ga + cs, stream ? bbuf : gb + cs, len);
      if (stream) {
        stream_copy(ga + cs, abuf, len);
        stream_copy(gb + cs, bbuf, len);
      }
    }
    if (stream) stream_fence();
  });
}

// out = g * sigmoid(x) over n elements in one pass (softplus' gradient), with sigmoid formed
// as the forward op forms it (kernels/logistic.h): e = exp(-|x|), 1/(1+e) for x >= 0 and
// e/(1+e) below.
// F: the element function gv * sigmoid_of(v), named by the caller (ops_elementwise.cpp), so that
// scalar code can run the same loop (scalar_code.h).
template <class T, class F>
void g_times_sigmoid(int64_t n, const T* g, const T* x, T* out) {
  map2_flat(g, x, out, n, Apply2<T, F>{});
}

}  // namespace gt::kernels
