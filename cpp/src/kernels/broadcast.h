#pragma once
// Iteration over up to three operands broadcast to one output shape. make_plan() gives each
// operand element strides (0 along broadcast dims) and merges adjacent dims that are
// contiguous for every operand, so most calls become one flat loop; for_each_row() walks the
// remaining outer dims with a counter (no recursion) and hands each inner row to a kernel.
#include <cstdint>

#include "gradtape/shape.h"

namespace gt::kernels {

struct Plan {
  int rank = 0;                   // after merging; 0 means a single element
  int64_t dims[kMaxRank] = {};
  int64_t strides[3][kMaxRank] = {};  // per operand
  int n_ops = 0;
};

inline Plan make_plan(const Shape& out, const Shape* const* ins, int n) {
  Plan p;
  p.n_ops = n;
  int r = out.rank();
  int64_t st[3][kMaxRank];
  for (int k = 0; k < n; ++k) {
    const Shape& s = *ins[k];
    int64_t acc = 1;
    for (int i = r - 1; i >= 0; --i) {
      int j = s.rank() - r + i;
      int64_t d = j >= 0 ? s[j] : 1;
      st[k][i] = (d == 1) ? 0 : acc;
      acc *= d;
    }
  }
  // Drop size-1 dims, then merge dim i into the next kept one when contiguous for all.
  int m = 0;
  for (int i = 0; i < r; ++i) {
    if (out[i] == 1) continue;
    if (m > 0) {
      bool merge = true;
      for (int k = 0; k < n; ++k)
        if (p.strides[k][m - 1] != st[k][i] * out[i]) { merge = false; break; }
      if (merge) {
        p.dims[m - 1] *= out[i];
        for (int k = 0; k < n; ++k) p.strides[k][m - 1] = st[k][i];
        continue;
      }
    }
    p.dims[m] = out[i];
    for (int k = 0; k < n; ++k) p.strides[k][m] = st[k][i];
    ++m;
  }
  p.rank = m;
  return p;
}

// Calls row(offsets[n], out_offset, len, inner_strides[n]) for each innermost row.
template <class Row>
inline void for_each_row(const Plan& p, Row&& row) {
  int64_t off[3] = {0, 0, 0};
  if (p.rank == 0) {
    int64_t zs[3] = {0, 0, 0};
    row(off, int64_t(0), int64_t(1), zs);
    return;
  }
  const int last = p.rank - 1;
  const int64_t len = p.dims[last];
  int64_t inner[3] = {p.strides[0][last], p.strides[1][last], p.strides[2][last]};
  int64_t outer = 1;
  for (int i = 0; i < last; ++i) outer *= p.dims[i];
  int64_t idx[kMaxRank] = {};
  for (int64_t o = 0; o < outer; ++o) {
    row(off, o * len, len, inner);
    // Advance the counter over the outer dims.
    for (int i = last - 1; i >= 0; --i) {
      ++idx[i];
      for (int k = 0; k < p.n_ops; ++k) off[k] += p.strides[k][i];
      if (idx[i] < p.dims[i]) break;
      for (int k = 0; k < p.n_ops; ++k) off[k] -= p.strides[k][i] * p.dims[i];
      idx[i] = 0;
    }
  }
}

}  // namespace gt::kernels
