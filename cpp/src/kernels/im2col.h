#pragma once
// The patch copies behind convolution and pooling, over NHWC tensors (batch, rows, columns,
// channels, channels contiguous). A window geometry (ConvGeom) says, for every output position
// (oh, ow), which input positions its kernel reads: row oh * stride_h - pad_top + kh * dil_h for
// kh < kh_, and the same for columns; positions outside the input read as zero (padding).
//   im2col:  x [N, H, W, C] -> cols [N*OH*OW, KH*KW*C], one row per output position, the
//            window's pixels in (kh, kw) order, each its C channels;
//   col2im:  the adjoint: cols [N*OH*OW, KH*KW*C] -> x [N, H, W, C], each input pixel the sum
//            of the entries of cols that copied it (written as a gather, so each output pixel is
//            computed once and the work splits over threads with no write conflicts);
//   max_pool_forward: for each output (n, oh, ow, c), the window's first largest element and
//            its flat index into x (padding never wins; a NaN wins and keeps its place);
//   max_pool_scatter: its gradient, g sent to those indices.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include "isa.h"
#include "parallel.h"

namespace gt::kernels {

struct ConvGeom {
  int64_t h, w, c;      // input rows, columns, channels
  int64_t kh, kw;       // window rows and columns
  int64_t sh, sw;       // strides
  int64_t dh, dw;       // dilations
  int64_t pt, pl;       // padding before the first row and column
  int64_t oh, ow;       // output rows and columns
  int64_t k() const { return kh * kw * c; }
};

// Copies n elements (short runs: an inline loop beats a memcpy call for a few channels).
template <class T>
inline void copy_run(const T* __restrict src, int64_t n, T* __restrict dst) {
  for (int64_t k = 0; k < n; ++k) dst[k] = src[k];
}

// Rows [begin, end) of im2col's output, written to cols (which points at row `begin`). When a
// window row lies wholly inside the image and its columns are adjacent (dilation 1), its
// kw * C values are one contiguous run of the input row.
template <class T>
void im2col_rows(const T* x, const ConvGeom& g, int64_t begin, int64_t end, T* cols) {
  const int64_t K = g.k(), C = g.c;
  for (int64_t r = begin; r < end; ++r) {
    const int64_t b = r / (g.oh * g.ow), o = r % (g.oh * g.ow), oh = o / g.ow, ow = o % g.ow;
    T* dst = cols + (r - begin) * K;
    const T* img = x + b * g.h * g.w * C;
    const int64_t iw0 = ow * g.sw - g.pl;
    const bool inside = g.dw == 1 && iw0 >= 0 && iw0 + g.kw <= g.w;
    for (int64_t i = 0; i < g.kh; ++i) {
      const int64_t ih = oh * g.sh - g.pt + i * g.dh;
      if (ih < 0 || ih >= g.h) {
        std::fill(dst, dst + g.kw * C, T(0));
        dst += g.kw * C;
        continue;
      }
      const T* row = img + ih * g.w * C;
      if (inside) {
        copy_run(row + iw0 * C, g.kw * C, dst);
        dst += g.kw * C;
        continue;
      }
      for (int64_t j = 0; j < g.kw; ++j, dst += C) {
        const int64_t iw = iw0 + j * g.dw;
        if (iw < 0 || iw >= g.w) std::fill(dst, dst + C, T(0));
        else copy_run(row + iw * C, C, dst);
      }
    }
  }
}

template <class T>
void im2col(const T* x, int64_t n, const ConvGeom& g, T* cols) {
  const int64_t rows = n * g.oh * g.ow, K = g.k();
  parallel_for(rows, [&](int64_t begin, int64_t end) {
    im2col_rows(x, g, begin, end, cols + begin * K);
  }, std::max<int64_t>(1, kMinParallel / std::max<int64_t>(K, 1)));
}

// The window indices i < n such that pos + pad - i * dil is a multiple of stride s whose
// quotient o is an output position in [0, out): calls f(i, o).
template <class F>
inline void taps(int64_t pos, int64_t pad, int64_t n, int64_t dil, int64_t s, int64_t out, F&& f) {
  for (int64_t i = 0; i < n; ++i) {
    const int64_t t = pos + pad - i * dil;
    if (t < 0) break;
    if (t % s) continue;
    const int64_t o = t / s;
    if (o < out) f(i, o);
  }
}

// Pixels [begin, end) (flat over n, h, w) of col2im's output. Stride 1 and dilation 1 (the
// common case) find their taps without divisions: window row i reads pixel row ih from output
// row ih + pt - i.
template <class T>
void col2im_pixels(const T* cols, const ConvGeom& g, int64_t begin, int64_t end, T* x) {
  const int64_t K = g.k(), C = g.c;
  const bool unit = g.sh == 1 && g.sw == 1 && g.dh == 1 && g.dw == 1;
  for (int64_t p = begin; p < end; ++p) {
    const int64_t b = p / (g.h * g.w), q = p % (g.h * g.w), ih = q / g.w, iw = q % g.w;
    T* __restrict dst = x + p * C;
    std::fill(dst, dst + C, T(0));
    if (unit) {
      const int64_t i_lo = std::max<int64_t>(0, ih + g.pt - (g.oh - 1)), i_hi = std::min(g.kh - 1, ih + g.pt);
      const int64_t j_lo = std::max<int64_t>(0, iw + g.pl - (g.ow - 1)), j_hi = std::min(g.kw - 1, iw + g.pl);
      for (int64_t i = i_lo; i <= i_hi; ++i)
        for (int64_t j = j_lo; j <= j_hi; ++j) {
          const T* __restrict src = cols + ((b * g.oh + ih + g.pt - i) * g.ow + iw + g.pl - j) * K + (i * g.kw + j) * C;
          for (int64_t ch = 0; ch < C; ++ch) dst[ch] += src[ch];
        }
      continue;
    }
    taps(ih, g.pt, g.kh, g.dh, g.sh, g.oh, [&](int64_t i, int64_t oh) {
      taps(iw, g.pl, g.kw, g.dw, g.sw, g.ow, [&](int64_t j, int64_t ow) {
        const T* src = cols + ((b * g.oh + oh) * g.ow + ow) * K + (i * g.kw + j) * C;
        for (int64_t ch = 0; ch < C; ++ch) dst[ch] += src[ch];
      });
    });
  }
}

template <class T>
void col2im(const T* cols, int64_t n, const ConvGeom& g, T* x) {
  parallel_for(n * g.h * g.w, [&](int64_t begin, int64_t end) {
    col2im_pixels(cols, g, begin, end, x);
  }, std::max<int64_t>(1, kMinParallel / std::max<int64_t>(g.c * g.kh * g.kw, 1)));
}

// The max pool's rule for a window's next tap v against its best so far: taken when larger, or
// when it is the first NaN (a NaN window gives NaN, at its first NaN's index; ties keep the
// first). One rule for the general loop and the 2x2 one, so that they pick the same index.
template <class T>
inline bool pool_takes(T v, T best) {
  return v > best || (v != v && best == best);
}

// Whether the windows are 2x2 with stride 2 and no dilation, each wholly inside the input
// (no padding read): they tile the input's first 2*oh rows and 2*ow columns without overlap.
inline bool pool_is_2x2_tiling(const ConvGeom& g) {
  return g.kh == 2 && g.kw == 2 && g.sh == 2 && g.sw == 2 && g.dh == 1 && g.dw == 1 && g.pt == 0 && g.pl == 0 &&
         2 * g.oh <= g.h && 2 * g.ow <= g.w;
}

// One row of 2x2 windows (pool_is_2x2_tiling): x0 and x1 point at the two input rows, whose
// flat indices into x start at i0 and i0 + wc; the four taps are compared in the general loop's
// order ((0,0), (0,1), (1,0), (1,1)) with its rule, so the values and indices are its own.
template <class T>
inline void max_pool_2x2_row_body(const T* __restrict x0, const T* __restrict x1, int64_t i0, int64_t wc, int64_t ow,
                                  int64_t C, T* __restrict val, int64_t* __restrict id) {
  for (int64_t w = 0; w < ow; ++w, x0 += 2 * C, x1 += 2 * C, i0 += 2 * C, val += C, id += C) {
#pragma omp simd
    for (int64_t ch = 0; ch < C; ++ch) {
      T best = x0[ch];
      int64_t at = i0 + ch;
      T v = x0[C + ch];
      bool take = pool_takes(v, best);
      best = take ? v : best;
      at = take ? i0 + C + ch : at;
      v = x1[ch];
      take = pool_takes(v, best);
      best = take ? v : best;
      at = take ? i0 + wc + ch : at;
      v = x1[C + ch];
      take = pool_takes(v, best);
      val[ch] = take ? v : best;
      id[ch] = take ? i0 + wc + C + ch : at;
    }
  }
}
template <class T>
GT_DISPATCHED void max_pool_2x2_row_isa(const T* x0, const T* x1, int64_t i0, int64_t wc, int64_t ow, int64_t C,
                                        T* val, int64_t* id) {
  max_pool_2x2_row_body(x0, x1, i0, wc, ow, C, val, id);
}

// max_pool_forward for pool_is_2x2_tiling: row of windows by row.
template <class T>
void max_pool_forward_2x2(const T* x, int64_t n, const ConvGeom& g, T* out, int64_t* idx) {
  const int64_t C = g.c, wc = g.w * C;
  parallel_for(n * g.oh, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const int64_t b = r / g.oh, oh = r % g.oh;
      const int64_t i0 = (b * g.h + 2 * oh) * wc;  // flat index of (b, 2 oh, 0, 0)
      T* val = out + r * g.ow * C;
      int64_t* id = idx + r * g.ow * C;
      if constexpr (std::is_floating_point_v<T>) max_pool_2x2_row_isa(x + i0, x + i0 + wc, i0, wc, g.ow, C, val, id);
      else max_pool_2x2_row_body(x + i0, x + i0 + wc, i0, wc, g.ow, C, val, id);
    }
  }, std::max<int64_t>(1, kMinParallel / std::max<int64_t>(4 * C * g.ow, 1)));
}

// max_pool_forward: each window's largest element per channel and its flat index into x,
// vectorised over channels: out[r, ch] = x[idx[r, ch]].
template <class T>
void max_pool_forward(const T* x, int64_t n, const ConvGeom& g, T* out, int64_t* idx) {
  if (pool_is_2x2_tiling(g)) return max_pool_forward_2x2(x, n, g, out, idx);
  const int64_t C = g.c;
  parallel_for(n * g.oh * g.ow, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const int64_t b = r / (g.oh * g.ow), o = r % (g.oh * g.ow), oh = o / g.ow, ow = o % g.ow;
      T* val = out + r * C;
      int64_t* id = idx + r * C;
      const int64_t off = b * g.h * g.w * C;
      const T* img = x + off;
      bool first = true;
      for (int64_t i = 0; i < g.kh; ++i) {
        const int64_t ih = oh * g.sh - g.pt + i * g.dh;
        if (ih < 0 || ih >= g.h) continue;
        for (int64_t j = 0; j < g.kw; ++j) {
          const int64_t iw = ow * g.sw - g.pl + j * g.dw;
          if (iw < 0 || iw >= g.w) continue;
          const int64_t base = off + (ih * g.w + iw) * C;
          const T* px = img + (ih * g.w + iw) * C;
          if (first) {
            for (int64_t ch = 0; ch < C; ++ch) {
              val[ch] = px[ch];
              id[ch] = base + ch;
            }
            first = false;
            continue;
          }
#pragma omp simd
          for (int64_t ch = 0; ch < C; ++ch) {
            // first largest; a NaN wins over numbers and keeps its place (the max is NaN)
            const T v = px[ch], best = val[ch];
            const bool take = pool_takes(v, best);
            val[ch] = take ? v : best;
            id[ch] = take ? base + ch : id[ch];
          }
        }
      }
      if (first)  // a window wholly in the padding (the pooling ops' checks rule it out)
        for (int64_t ch = 0; ch < C; ++ch) {
          val[ch] = T(0);
          id[ch] = off + ch;
        }
    }
  }, std::max<int64_t>(1, kMinParallel / std::max<int64_t>(C * g.kh * g.kw, 1)));
}

// The max pool's gradient: gx [N, H, W, C] zero but for each output's argmax, which gets that
// output's g (summed where overlapping windows share an argmax). Images split over threads.
// One input row of a pool_is_2x2_tiling scatter: each position is in one window at most, so it
// is written once, as 0 + g at its window's argmax (the general scatter's sum onto its zero
// fill: -0 becomes +0, the same bits) and +0 elsewhere, with no fill pass. p0 is the flat index
// of the row's first value; g and id the row of windows over it.
template <class T>
GT_DISPATCHED void max_pool_2x2_scatter_row_isa(const T* __restrict g, const int64_t* __restrict id, int64_t p0,
                                                int64_t ow, int64_t C, T* __restrict dst) {
  for (int64_t w = 0; w < ow; ++w, g += C, id += C, dst += 2 * C, p0 += 2 * C) {
#pragma omp simd
    for (int64_t ch = 0; ch < C; ++ch) {
      const int64_t k = id[ch] - (p0 + ch);  // 0: the window's left column of this row, C: its right
      const T v = T(0) + g[ch];
      dst[ch] = k == 0 ? v : T(0);
      dst[C + ch] = k == C ? v : T(0);
    }
  }
}

template <class T>
void max_pool_scatter(const T* gout, const int64_t* idx, int64_t n, const ConvGeom& g, T* gx) {
  if constexpr (std::is_floating_point_v<T>) {
    if (pool_is_2x2_tiling(g)) {
      const int64_t C = g.c, wc = g.w * C;
      parallel_for(n * g.h, [&](int64_t begin, int64_t end) {
        for (int64_t r = begin; r < end; ++r) {
          const int64_t b = r / g.h, ih = r % g.h, oh = ih / 2;
          T* dst = gx + r * wc;
          if (oh >= g.oh) {  // a last row no window covers (odd height)
            std::fill(dst, dst + wc, T(0));
            continue;
          }
          const int64_t k0 = (b * g.oh + oh) * g.ow * C;
          max_pool_2x2_scatter_row_isa(gout + k0, idx + k0, r * wc, g.ow, C, dst);
          std::fill(dst + 2 * g.ow * C, dst + wc, T(0));  // a last column no window covers
        }
      }, std::max<int64_t>(1, kMinParallel / std::max<int64_t>(wc, 1)));
      return;
    }
  }
  const int64_t img = g.h * g.w * g.c, per = g.oh * g.ow * g.c;
  parallel_for(n, [&](int64_t begin, int64_t end) {
    std::fill(gx + begin * img, gx + end * img, T(0));
    for (int64_t k = begin * per; k < end * per; ++k) gx[idx[k]] += gout[k];
  }, std::max<int64_t>(1, kMinParallel / std::max<int64_t>(img, 1)));
}

}  // namespace gt::kernels
