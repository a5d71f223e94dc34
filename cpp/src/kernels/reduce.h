#pragma once
// Reduction over any set of axes of a contiguous tensor. Adjacent axes with the same
// reduced/kept status are merged; the innermost group is either reduced (a horizontal loop
// per row) or kept (a vertical `out[i] op= in[i]` loop), both contiguous and vectorisable.
#include <algorithm>
#include <cstdint>

#include <vector>

#include "gradtape/shape.h"
#include "kernels/isa.h"
#include "kernels/parallel.h"

namespace gt::kernels {

struct ReducePlan {
  int rank = 0;
  int64_t dims[kMaxRank] = {};
  bool reduced[kMaxRank] = {};
  int64_t out_strides[kMaxRank] = {};  // 0 along reduced groups
};

inline ReducePlan make_reduce_plan(const Shape& s, const bool* red) {
  ReducePlan p;
  for (int i = 0; i < s.rank(); ++i) {
    if (s[i] == 1) continue;
    if (p.rank > 0 && p.reduced[p.rank - 1] == red[i]) {
      p.dims[p.rank - 1] *= s[i];
    } else {
      p.dims[p.rank] = s[i];
      p.reduced[p.rank] = red[i];
      ++p.rank;
    }
  }
  int64_t st = 1;
  for (int i = p.rank - 1; i >= 0; --i) {
    p.out_strides[i] = p.reduced[i] ? 0 : st;
    if (!p.reduced[i]) st *= p.dims[i];
  }
  return p;
}

constexpr int64_t kReduceBlock = 1 << 15;

// acc op row[0] op ... op row[len-1], with kLanes independent accumulators so that the loop
// vectorises (a single accumulator is one long dependency chain: ~4 cycles per element). The
// association is fixed by len alone, so results do not depend on threads or alignment.
template <class T, class Acc, class Op>
GT_DISPATCHED Acc reduce_row(const T* __restrict row, int64_t len, Acc acc, Op op) {
  constexpr int64_t kLanes = 16;
  if (len < 2 * kLanes) {
    for (int64_t i = 0; i < len; ++i) acc = op(acc, Acc(row[i]));
    return acc;
  }
  Acc lane[kLanes];
  for (int64_t j = 0; j < kLanes; ++j) lane[j] = Acc(row[j]);
  const int64_t body = len - len % kLanes;
  for (int64_t i = kLanes; i < body; i += kLanes) {
#pragma omp simd
    for (int64_t j = 0; j < kLanes; ++j) lane[j] = op(lane[j], Acc(row[i + j]));
  }
  for (int64_t w = kLanes / 2; w > 0; w /= 2)  // fold the lanes pairwise
    for (int64_t j = 0; j < w; ++j) lane[j] = op(lane[j], lane[j + w]);
  acc = op(acc, lane[0]);
  for (int64_t i = body; i < len; ++i) acc = op(acc, Acc(row[i]));
  return acc;
}

// reduce_row over one row given in consecutive pieces (a batch pass computes a block chunk by
// chunk and reduces each chunk while it is still in L1, fusion.cpp's run_group): each element
// goes to the same lane, the lanes are folded at the same point and the tail added after, so
// the result is reduce_row's on the whole row, bit for bit. start, then feed every piece in
// order (their lengths sum to len), then finish.
template <class Acc>
struct RowReduceState {
  static constexpr int64_t kLanes = 16;  // reduce_row's
  Acc lane[kLanes];
  Acc acc;
  int64_t pos;  // elements fed so far
  bool folded;
};

template <class Acc>
void reduce_row_start(RowReduceState<Acc>& s, Acc acc) {
  s.acc = acc;
  s.pos = 0;
  s.folded = false;
}

template <class Acc, class Op>
void reduce_row_fold(RowReduceState<Acc>& s, Op op) {
  constexpr int64_t kLanes = RowReduceState<Acc>::kLanes;
  for (int64_t w = kLanes / 2; w > 0; w /= 2)
    for (int64_t j = 0; j < w; ++j) s.lane[j] = op(s.lane[j], s.lane[j + w]);
  s.acc = op(s.acc, s.lane[0]);
  s.folded = true;
}

template <class T, class Acc, class Op>
GT_DISPATCHED void reduce_row_feed(RowReduceState<Acc>& s, const T* __restrict v, int64_t m, int64_t len, Op op) {
  constexpr int64_t kLanes = RowReduceState<Acc>::kLanes;
  int64_t i = 0, g = s.pos;
  s.pos += m;
  if (len < 2 * kLanes) {  // reduce_row's short row: one chain
    for (; i < m; ++i) s.acc = op(s.acc, Acc(v[i]));
    return;
  }
  const int64_t body = len - len % kLanes;
  for (; i < m && g < kLanes; ++i, ++g) s.lane[g] = Acc(v[i]);
  for (; i < m && g < body && g % kLanes; ++i, ++g) s.lane[g % kLanes] = op(s.lane[g % kLanes], Acc(v[i]));
  const int64_t whole = std::min(m - i, body - g) / kLanes * kLanes;
  if (whole > 0) {
    Acc lane[kLanes];
    for (int64_t j = 0; j < kLanes; ++j) lane[j] = s.lane[j];
    for (int64_t k = 0; k < whole; k += kLanes) {
#pragma omp simd
      for (int64_t j = 0; j < kLanes; ++j) lane[j] = op(lane[j], Acc(v[i + k + j]));
    }
    for (int64_t j = 0; j < kLanes; ++j) s.lane[j] = lane[j];
    i += whole;
    g += whole;
  }
  for (; i < m && g < body; ++i, ++g) s.lane[g % kLanes] = op(s.lane[g % kLanes], Acc(v[i]));
  if (i < m && !s.folded) reduce_row_fold(s, op);
  for (; i < m; ++i) s.acc = op(s.acc, Acc(v[i]));
}

template <class Acc, class Op>
Acc reduce_row_finish(RowReduceState<Acc>& s, int64_t len, Op op) {
  if (len >= 2 * RowReduceState<Acc>::kLanes && !s.folded) reduce_row_fold(s, op);
  return s.acc;
}

// n elements into one value: fixed-size blocks (so the result does not depend on the number of
// threads), each reduced by reduce_row in parallel, then combined into `acc` in order.
// block(begin, len) returns the values of elements [begin, begin + len): a pointer into a
// stored tensor, or a buffer a deferred tensor was computed into (fusion.h), so both get the
// same association.
template <class T, class Acc, class Op, class Block>
Acc reduce_blocks(int64_t n, Acc acc, Acc identity, Op op, Block block) {
  const int64_t blocks = (n + kReduceBlock - 1) / kReduceBlock;
  std::vector<Acc> partial(size_t(blocks), identity);
  parallel_for(blocks, [&](int64_t b0, int64_t b1) {
    for (int64_t blk = b0; blk < b1; ++blk) {
      const int64_t len = std::min(kReduceBlock, n - blk * kReduceBlock);
      const T* row = block(blk * kReduceBlock, len);
      partial[size_t(blk)] = reduce_row(row, len, identity, op);
    }
  }, 2);
  for (const Acc& v : partial) acc = op(acc, v);
  return acc;
}

// Whether reduce() takes the blocked path for this plan (one long run, all of it reduced).
inline bool reduces_in_blocks(const ReducePlan& p) {
  return p.rank == 1 && p.reduced[0] && p.dims[0] >= 2 * kReduceBlock;
}

// out[] must hold the identity of `op`; Acc is the accumulator type. (Never inlined: eager's
// reduce_sum and scalar code's sum instruction, scalar_code.h, run one compiled copy, so that
// which of two NaNs a sum returns is the same in both.)
template <class T, class Acc, class Op>
GT_DISPATCHED __attribute__((noinline)) void reduce(const T* in, Acc* out, const ReducePlan& p, Op op) {
  if (p.rank == 0) { out[0] = op(out[0], Acc(in[0])); return; }
  if (reduces_in_blocks(p)) {
    out[0] = reduce_blocks<T>(p.dims[0], out[0], out[0], op, [in](int64_t begin, int64_t) { return in + begin; });
    return;
  }
  const int last = p.rank - 1;
  const int64_t len = p.dims[last];
  int64_t outer = 1;
  for (int i = 0; i < last; ++i) outer *= p.dims[i];
  int64_t idx[kMaxRank] = {};
  int64_t off = 0;
  for (int64_t o = 0; o < outer; ++o) {
    const T* row = in + o * len;
    if (p.reduced[last]) {
      out[off] = reduce_row(row, len, out[off], op);
    } else {
      Acc* orow = out + off;
#pragma omp simd
      for (int64_t i = 0; i < len; ++i) orow[i] = op(orow[i], Acc(row[i]));
    }
    for (int i = last - 1; i >= 0; --i) {
      ++idx[i];
      off += p.out_strides[i];
      if (idx[i] < p.dims[i]) break;
      off -= p.out_strides[i] * p.dims[i];
      idx[i] = 0;
    }
  }
}

}  // namespace gt::kernels
