#pragma once
// A permuted copy (transpose): dst, contiguous, gets src read through per-axis strides. Axes of
// size 1 are dropped and axes that stay adjacent in src are merged first; then either the
// innermost output axis reads contiguous runs (one memcpy per run), or the copy is a stack of
// 2-D transposes between the output's innermost axis and the axis src stores contiguously,
// done in 32x32 tiles so that both sides touch whole cache lines (an element-by-element walk
// reads one element per line of a [64, 4096] float matrix: 1.5 ms against ~0.1 ms tiled).
#include <cstdint>
#include <cstring>

namespace gt::kernels {

namespace detail_transpose {

template <class T>
void tiled(const T* src, T* dst, const int64_t* shape, const int64_t* st, const int64_t* ost, int r, int a) {
  // Output axis r-1 is innermost in dst (stride 1); output axis a has src stride 1.
  const int64_t na = shape[a], nl = shape[r - 1];
  const int64_t sl = st[r - 1], oa = ost[a];
  constexpr int64_t B = 32;
  int64_t outer = 1;
  for (int i = 0; i < r - 1; ++i)
    if (i != a) outer *= shape[i];
  int64_t idx[16] = {};
  int64_t s_off = 0, d_off = 0;
  for (int64_t o = 0; o < outer; ++o) {
    const T* s = src + s_off;
    T* d = dst + d_off;
    for (int64_t i0 = 0; i0 < na; i0 += B)
      for (int64_t j0 = 0; j0 < nl; j0 += B) {
        const int64_t i1 = i0 + B < na ? i0 + B : na, j1 = j0 + B < nl ? j0 + B : nl;
        for (int64_t i = i0; i < i1; ++i)
          for (int64_t j = j0; j < j1; ++j) d[i * oa + j] = s[i + j * sl];
      }
    // next index over the other axes (all but a and r-1), last fastest
    for (int i = r - 2; i >= 0; --i) {
      if (i == a) continue;
      ++idx[i];
      s_off += st[i];
      d_off += ost[i];
      if (idx[i] < shape[i]) break;
      s_off -= st[i] * shape[i];
      d_off -= ost[i] * shape[i];
      idx[i] = 0;
    }
  }
}

template <class T>
void permute(const T* src, T* dst, const int64_t* shape, const int64_t* st, int r) {
  int64_t ost[16];
  int64_t acc = 1;
  for (int i = r - 1; i >= 0; --i) {
    ost[i] = acc;
    acc *= shape[i];
  }
  if (r == 0) {
    dst[0] = src[0];
    return;
  }
  if (st[r - 1] == 1) {  // contiguous runs along the innermost output axis
    const int64_t run = shape[r - 1];
    int64_t idx[16] = {};
    int64_t s_off = 0;
    const int64_t runs = acc / run;
    for (int64_t k = 0; k < runs; ++k) {
      std::memcpy(dst + k * run, src + s_off, size_t(run) * sizeof(T));
      for (int i = r - 2; i >= 0; --i) {
        ++idx[i];
        s_off += st[i];
        if (idx[i] < shape[i]) break;
        s_off -= st[i] * shape[i];
        idx[i] = 0;
      }
    }
    return;
  }
  int a = 0;
  for (int i = 0; i < r; ++i)
    if (st[i] == 1) a = i;
  tiled(src, dst, shape, st, ost, r, a);
}

}  // namespace detail_transpose

// dst[k] = src[sum_i idx_i(k) * st[i]] for the output shape `shape` (rank r <= 16): elements of
// es bytes (1, 4 or 8).
inline void permute_copy(const void* src, void* dst, const int64_t* shape_in, const int64_t* st_in, int r_in,
                         size_t es) {
  // Drop size-1 axes, then merge output axes i, i+1 that are adjacent in src.
  int64_t shape[16], st[16];
  int r = 0;
  for (int i = 0; i < r_in; ++i) {
    if (shape_in[i] == 1) continue;
    if (r > 0 && st[r - 1] == st_in[i] * shape_in[i]) {
      shape[r - 1] *= shape_in[i];
      st[r - 1] = st_in[i];
      continue;
    }
    shape[r] = shape_in[i];
    st[r] = st_in[i];
    ++r;
  }
  if (r == 0) {  // one element
    std::memcpy(dst, src, es);
    return;
  }
  switch (es) {
    case 8: detail_transpose::permute(static_cast<const uint64_t*>(src), static_cast<uint64_t*>(dst), shape, st, r); break;
    case 4: detail_transpose::permute(static_cast<const uint32_t*>(src), static_cast<uint32_t*>(dst), shape, st, r); break;
    case 2: detail_transpose::permute(static_cast<const uint16_t*>(src), static_cast<uint16_t*>(dst), shape, st, r); break;
    default: detail_transpose::permute(static_cast<const uint8_t*>(src), static_cast<uint8_t*>(dst), shape, st, r); break;
  }
}

}  // namespace gt::kernels
