// The direct float32 convolution over NHWC images (kernels/conv.h says when it is taken):
// no patch matrix and no GEMM packing. Each image is first copied into a zero-padded buffer
// (so that every window is wholly inside it, and the inner loops test no borders), then:
//   forward:  out[oh, ow, o] = sum over (i, j, c) xp[oh*sh + i*dh, ow*sw + j*dw, c] w[i, j, c, o]
//             a block of PB output pixels of one row times a group of output channels held
//             in registers (PB x NV vectors), the window's taps and the input channels in the
//             inner loop: each step loads the filters' NV vectors for (i, j, c) and broadcasts
//             one input value per pixel;
//   input's gradient (stride 1): the same loop on the padded g with the filters flipped in
//             (i, j) and transposed to [KH, KW, O, C] (a correlation);
//   filters' gradient: gw[i, j, c, o] += sum over pixels xp[...] g[oh, ow, o], a block of CB
//             input channels times a group of output channels held in registers, reduced over
//             the image's pixels.
// The register blocking depends on the vector width, so each kernel is compiled once per
// instruction set by hand (target attributes, not GT_DISPATCHED's clones, which share one
// source and so one blocking) and picked by kernel_isa_level() (isa.h). Products are summed in
// a different order than the im2col + GEMM path: results agree within float32 rounding.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "kernels/conv.h"
#include "kernels/isa.h"
#include "kernels/parallel.h"

namespace gt::kernels {

namespace {

#define GT_INLINE inline __attribute__((always_inline))

template <int V>
struct Vec;
template <>
struct Vec<16> { typedef float type __attribute__((vector_size(64))); };
template <>
struct Vec<8> { typedef float type __attribute__((vector_size(32))); };
template <>
struct Vec<4> { typedef float type __attribute__((vector_size(16))); };

// Unaligned vector loads and stores (memcpy: no aliasing or alignment assumptions; never a
// function taking or returning a vector, whose ABI would differ between the copies).
#define GT_VLOAD(v, p) __builtin_memcpy(&(v), (p), sizeof(v))
#define GT_VSTORE(p, v) __builtin_memcpy((p), &(v), sizeof(v))

// One image's geometry for the direct loops: a padded input of hp x wp x c (rows of wp * c),
// read at row oh * sh + i * dh and column ow * sw + j * dw; oh x ow outputs of o channels.
struct Direct {
  int64_t hp, wp, c;
  int64_t kh, kw, sh, sw, dh, dw;
  int64_t oh, ow, o;
};

// Copies an h x w x c image into the zero-padded hp x wp x c buffer, its pixel (0, 0) at
// (pt, pl); image pixels outside the buffer are not read by any window and are left out.
GT_INLINE void pad_image(const float* x, int64_t h, int64_t w, int64_t c, int64_t pt, int64_t pl, const Direct& d,
                         float* xp) {
  const int64_t row = d.wp * c;
  for (int64_t r = 0; r < d.hp; ++r) {
    float* dst = xp + r * row;
    const int64_t ih = r - pt;
    if (ih < 0 || ih >= h) {
      std::memset(dst, 0, size_t(row) * sizeof(float));
      continue;
    }
    const int64_t first = std::min(pl, d.wp), last = std::min(d.wp, pl + w);  // columns [first, last) from x
    std::memset(dst, 0, size_t(first * c) * sizeof(float));
    if (last > first) std::memcpy(dst + first * c, x + ih * w * c, size_t((last - first) * c) * sizeof(float));
    std::memset(dst + std::max(last, first) * c, 0, size_t((d.wp - std::max(last, first)) * c) * sizeof(float));
  }
}

// PB consecutive output pixels of one row, output channels [og, og + NV*V): xs points at the
// padded input's row oh * sh, column ow0 * sw; out at output pixel ow0.
template <int V, int NV, int PB>
GT_INLINE void fwd_block(const float* xs, const Direct& d, const float* w, int64_t og, float* out) {
  using vf = typename Vec<V>::type;
  const int64_t row = d.wp * d.c, C = d.c, O = d.o, step = d.sw * C;
  vf acc[PB][NV];
#pragma GCC unroll 16
  for (int p = 0; p < PB; ++p)
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) acc[p][v] = vf{};
  for (int64_t i = 0; i < d.kh; ++i)
    for (int64_t j = 0; j < d.kw; ++j) {
      const float* x = xs + i * d.dh * row + j * d.dw * C;
      const float* wt = w + (i * d.kw + j) * C * O + og;
      for (int64_t ch = 0; ch < C; ++ch) {
        vf wv[NV];
#pragma GCC unroll 8
        for (int v = 0; v < NV; ++v) GT_VLOAD(wv[v], wt + ch * O + v * V);
#pragma GCC unroll 16
        for (int p = 0; p < PB; ++p) {
          const float xv = x[p * step + ch];
#pragma GCC unroll 8
          for (int v = 0; v < NV; ++v) acc[p][v] += wv[v] * xv;
        }
      }
    }
#pragma GCC unroll 16
  for (int p = 0; p < PB; ++p)
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) GT_VSTORE(out + p * O + og + v * V, acc[p][v]);
}

// One block of n <= PB pixels: the instance for n (a block of a few pixels holds too few
// accumulators to hide the FMA latency, so rows are cut into blocks of equal size instead).
template <int V, int NV, int PB>
GT_INLINE void fwd_block_of(int64_t n, const float* xs, const Direct& d, const float* w, int64_t og, float* out) {
  if (n == PB) return fwd_block<V, NV, PB>(xs, d, w, og, out);
  if constexpr (PB > 1) fwd_block_of<V, NV, PB - 1>(n, xs, d, w, og, out);
}

// n output pixels from ow0, in ceil(n / PB) blocks of (nearly) equal size.
template <int V, int NV, int PB>
GT_INLINE void fwd_pixels(const float* xs, const Direct& d, const float* w, int64_t og, float* out, int64_t n) {
  const int64_t step = d.sw * d.c;
  for (int64_t blocks = (n + PB - 1) / PB; blocks > 0; --blocks) {
    const int64_t m = (n + blocks - 1) / blocks;
    fwd_block_of<V, NV, PB>(m, xs, d, w, og, out);
    xs += m * step;
    out += m * d.o;
    n -= m;
  }
}

// One image: out [oh, ow, o] from the padded xp. Output channels in groups of NV*V, then of V.
template <int V, int NV, int PB>
GT_INLINE void fwd_image(const float* xp, const Direct& d, const float* w, float* out) {
  const int64_t row = d.wp * d.c;
  for (int64_t r = 0; r < d.oh; ++r) {
    const float* xs = xp + r * d.sh * row;
    float* dst = out + r * d.ow * d.o;
    int64_t og = 0;
    for (; og + NV * V <= d.o; og += NV * V) fwd_pixels<V, NV, PB>(xs, d, w, og, dst, d.ow);
    for (; og + V <= d.o; og += V) fwd_pixels<V, 1, PB>(xs, d, w, og, dst, d.ow);
  }
}

// gw[i, j, c0 .. c0+CB, og .. og+NV*V) += sum over the image's pixels.
template <int V, int NV, int CB>
GT_INLINE void wgrad_block(const float* xp, const Direct& d, const float* g, int64_t i, int64_t j, int64_t c0,
                           int64_t og, float* gw) {
  using vf = typename Vec<V>::type;
  const int64_t row = d.wp * d.c, C = d.c, O = d.o, step = d.sw * C;
  float* dst = gw + ((i * d.kw + j) * C + c0) * O + og;
  vf acc[CB][NV];
#pragma GCC unroll 16
  for (int b = 0; b < CB; ++b)
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) GT_VLOAD(acc[b][v], dst + b * O + v * V);
  for (int64_t r = 0; r < d.oh; ++r) {
    const float* x = xp + (r * d.sh + i * d.dh) * row + j * d.dw * C + c0;
    const float* gr = g + r * d.ow * O + og;
    for (int64_t q = 0; q < d.ow; ++q, x += step, gr += O) {
      vf gv[NV];
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) GT_VLOAD(gv[v], gr + v * V);
#pragma GCC unroll 16
      for (int b = 0; b < CB; ++b) {
        const float xv = x[b];
#pragma GCC unroll 8
        for (int v = 0; v < NV; ++v) acc[b][v] += gv[v] * xv;
      }
    }
  }
#pragma GCC unroll 16
  for (int b = 0; b < CB; ++b)
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) GT_VSTORE(dst + b * O + v * V, acc[b][v]);
}

template <int V, int NV, int CB>
GT_INLINE void wgrad_block_of(int64_t n, const float* xp, const Direct& d, const float* g, int64_t i, int64_t j,
                              int64_t c0, int64_t og, float* gw) {
  if (n == CB) return wgrad_block<V, NV, CB>(xp, d, g, i, j, c0, og, gw);
  if constexpr (CB > 1) wgrad_block_of<V, NV, CB - 1>(n, xp, d, g, i, j, c0, og, gw);
}

// n channels from c0, in ceil(n / CB) blocks of (nearly) equal size.
template <int V, int NV, int CB>
GT_INLINE void wgrad_channels(const float* xp, const Direct& d, const float* g, int64_t i, int64_t j, int64_t c0,
                              int64_t og, float* gw, int64_t n) {
  for (int64_t blocks = (n + CB - 1) / CB; blocks > 0; --blocks) {
    const int64_t m = (n + blocks - 1) / blocks;
    wgrad_block_of<V, NV, CB>(m, xp, d, g, i, j, c0, og, gw);
    c0 += m;
    n -= m;
  }
}

// With dilation 1 along the row, the window row's kw taps and their channels are kw * C
// consecutive values both in the input row and in gw[i] (j * C + c): one run of "channels",
// so a layer with one input channel still fills a block (3 taps x 2 vectors, not 1 x 2).
template <int V, int NV, int CB>
GT_INLINE void wgrad_image(const float* xp, const Direct& d, const float* g, float* gw) {
  const int64_t taps = d.dw == 1 ? 1 : d.kw, run = d.dw == 1 ? d.kw * d.c : d.c;
  for (int64_t i = 0; i < d.kh; ++i)
    for (int64_t j = 0; j < taps; ++j) {
      int64_t og = 0;
      for (; og + NV * V <= d.o; og += NV * V) wgrad_channels<V, NV, CB>(xp, d, g, i, j, 0, og, gw, run);
      for (; og + V <= d.o; og += V) wgrad_channels<V, 1, CB>(xp, d, g, i, j, 0, og, gw, run);
    }
}

// The per-ISA entry points: one image each, the blocking chosen for the registers there
// (accumulators + the vectors of one step within 32 zmm, or 16 ymm/xmm registers).
struct Kernels {
  void (*fwd)(const float*, const Direct&, const float*, float*);
  void (*wgrad)(const float*, const Direct&, const float*, float*);
};

#if defined(GT_DISPATCH_ENABLED)
__attribute__((target("arch=x86-64-v4"))) void fwd_v4(const float* xp, const Direct& d, const float* w, float* out) {
  fwd_image<16, 2, 12>(xp, d, w, out);
}
__attribute__((target("arch=x86-64-v4"))) void wgrad_v4(const float* xp, const Direct& d, const float* g, float* gw) {
  wgrad_image<16, 2, 8>(xp, d, g, gw);
}
__attribute__((target("arch=x86-64-v3"))) void fwd_v3(const float* xp, const Direct& d, const float* w, float* out) {
  fwd_image<8, 2, 6>(xp, d, w, out);
}
__attribute__((target("arch=x86-64-v3"))) void wgrad_v3(const float* xp, const Direct& d, const float* g, float* gw) {
  wgrad_image<8, 2, 4>(xp, d, g, gw);
}
#endif

// The baseline (x86-64-v2, or whatever the build targets): the widest vectors it has.
#if defined(__AVX512F__)
constexpr int kBaseV = 16, kBaseNV = 2, kBasePB = 12, kBaseCB = 8;
#elif defined(__AVX2__) || defined(__AVX__)
constexpr int kBaseV = 8, kBaseNV = 2, kBasePB = 6, kBaseCB = 4;
#else
constexpr int kBaseV = 4, kBaseNV = 4, kBasePB = 3, kBaseCB = 3;
#endif
void fwd_base(const float* xp, const Direct& d, const float* w, float* out) {
  fwd_image<kBaseV, kBaseNV, kBasePB>(xp, d, w, out);
}
void wgrad_base(const float* xp, const Direct& d, const float* g, float* gw) {
  wgrad_image<kBaseV, kBaseNV, kBaseCB>(xp, d, g, gw);
}

const Kernels& kernels() {
  static const Kernels k = [] {
#if defined(GT_DISPATCH_ENABLED)
    if (kernel_isa_level() >= 4) return Kernels{&fwd_v4, &wgrad_v4};
    if (kernel_isa_level() >= 3) return Kernels{&fwd_v3, &wgrad_v3};
#endif
    return Kernels{&fwd_base, &wgrad_base};
  }();
  return k;
}

// The forward geometry of one image of g.
Direct forward_geometry(const ConvGeom& g, int64_t o) {
  Direct d{};
  d.c = g.c; d.kh = g.kh; d.kw = g.kw; d.sh = g.sh; d.sw = g.sw; d.dh = g.dh; d.dw = g.dw;
  d.oh = g.oh; d.ow = g.ow; d.o = o;
  d.hp = (g.oh - 1) * g.sh + (g.kh - 1) * g.dh + 1;
  d.wp = (g.ow - 1) * g.sw + (g.kw - 1) * g.dw + 1;
  return d;
}

// Runs fn(image, padded buffer) over the n images, on both cores of the pool when it has two.
template <class F>
void over_images(int64_t n, int64_t buf, F&& fn) {
  parallel_for(n, [&](int64_t begin, int64_t end) {
    std::vector<float> xp(size_t(std::max<int64_t>(buf, 1)));
    for (int64_t b = begin; b < end; ++b) fn(b, xp.data());
  }, 1);
}

}  // namespace

bool direct_conv_applies(const ConvGeom& g, int64_t o) {
  return o % 16 == 0 && o > 0 && g.oh > 0 && g.ow > 0 && g.c > 0 && g.kh > 0 && g.kw > 0;
}

bool direct_conv_input_grad_applies(const ConvGeom& g, int64_t o) {
  return g.sh == 1 && g.sw == 1 && g.c % 16 == 0 && g.c > 0 && o > 0 && g.h > 0 && g.w > 0 && g.kh > 0 &&
         g.kw > 0 && (g.kh - 1) * g.dh >= g.pt && (g.kw - 1) * g.dw >= g.pl;
}

void direct_conv_forward(const float* x, int64_t n, const ConvGeom& g, const float* w, int64_t o, float* out) {
  const Direct d = forward_geometry(g, o);
  const Kernels& k = kernels();
  const int64_t img = g.h * g.w * g.c, per = g.oh * g.ow * o;
  over_images(n, d.hp * d.wp * d.c, [&](int64_t b, float* xp) {
    pad_image(x + b * img, g.h, g.w, g.c, g.pt, g.pl, d, xp);
    k.fwd(xp, d, w, out + b * per);
  });
}

void direct_conv_input_grad(const float* gout, int64_t n, const ConvGeom& g, const float* w, int64_t o, float* gx) {
  // a stride-1 correlation of g (padded by (k - 1) * dil - pad before) with the filters
  // flipped in (i, j) and transposed to [KH, KW, O, C]
  Direct d{};
  d.c = o; d.kh = g.kh; d.kw = g.kw; d.sh = 1; d.sw = 1; d.dh = g.dh; d.dw = g.dw;
  d.oh = g.h; d.ow = g.w; d.o = g.c;
  d.hp = g.h + (g.kh - 1) * g.dh;
  d.wp = g.w + (g.kw - 1) * g.dw;
  const int64_t pt = (g.kh - 1) * g.dh - g.pt, pl = (g.kw - 1) * g.dw - g.pl;
  std::vector<float> wt(size_t(g.kh * g.kw * o * g.c));
  for (int64_t i = 0; i < g.kh; ++i)
    for (int64_t j = 0; j < g.kw; ++j) {
      const float* src = w + ((g.kh - 1 - i) * g.kw + (g.kw - 1 - j)) * g.c * o;
      float* dst = wt.data() + (i * g.kw + j) * o * g.c;
      for (int64_t c = 0; c < g.c; ++c)
        for (int64_t q = 0; q < o; ++q) dst[q * g.c + c] = src[c * o + q];
    }
  const Kernels& k = kernels();
  const int64_t img = g.h * g.w * g.c, per = g.oh * g.ow * o;
  over_images(n, d.hp * d.wp * d.c, [&](int64_t b, float* gp) {
    pad_image(gout + b * per, g.oh, g.ow, o, pt, pl, d, gp);
    k.fwd(gp, d, wt.data(), gx + b * img);
  });
}

void direct_conv_filter_grad(const float* x, int64_t n, const ConvGeom& g, const float* gout, int64_t o, float* gw) {
  const Direct d = forward_geometry(g, o);
  const Kernels& k = kernels();
  const int64_t img = g.h * g.w * g.c, per = g.oh * g.ow * o, size = g.kh * g.kw * g.c * o;
  std::fill(gw, gw + size, 0.0f);
  // Two halves of the batch summed apart, then added, whatever the thread count (one thread runs
  // both): the values do not depend on it.
  const int parts = n < 2 ? 1 : 2;
  std::vector<float> partial(size_t(parts > 1 ? size : 0));
  const int64_t half = (n + 1) / 2;
  parallel_for(parts, [&](int64_t begin, int64_t end) {
    std::vector<float> xp(size_t(std::max<int64_t>(d.hp * d.wp * d.c, 1)));
    for (int64_t p = begin; p < end; ++p) {
      float* acc = p == 0 ? gw : partial.data();
      const int64_t b0 = parts == 1 ? 0 : (p == 0 ? 0 : half), b1 = parts == 1 ? n : (p == 0 ? half : n);
      for (int64_t b = b0; b < b1; ++b) {
        pad_image(x + b * img, g.h, g.w, g.c, g.pt, g.pl, d, xp.data());
        k.wgrad(xp.data(), d, gout + b * per, acc);
      }
    }
  }, 1);
  if (parts > 1)
    for (int64_t i = 0; i < size; ++i) gw[i] += partial[size_t(i)];
}

}  // namespace gt::kernels
