#pragma once
// The convolution and its two gradients over NHWC images, without the whole patch matrix:
// the batch is cut into blocks of images whose patches (im2col, kernels/im2col.h) fit in L2,
// and each block's patches go straight into its GEMM while they are still in cache:
//   conv_forward:         out[N*OH*OW, O]  = im2col(x) W               (W: [K, O], K = KH*KW*C)
//   conv_backward_filter: gw[K, O]         = sum over blocks im2col(x_b)^T g_b
//   conv_backward_input:  gx[N, H, W, C]   = col2im(g W^T), block by block (a block's col2im
//                         touches its own images only)
// float32 with a multiple of 16 output channels takes the direct convolution instead
// (conv_direct.cpp: no patch matrix, no GEMM packing; the input's gradient when the stride is 1
// and the input has a multiple of 16 channels).
// The full patch matrix of a 32-channel 3x3 layer on a batch of 64 28x28 images is 57 MB; a
// block is about one image's (0.9 MB). The blocks run on both cores of gradtape's pool, each
// block's GEMM on one OpenBLAS thread (OpenBLAS is set to one thread for the duration, and set
// back after), so the two pools never compete for the cores. (While a convolution runs, a BLAS
// call from another Python thread therefore runs on one thread too.)
#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "kernels/im2col.h"
#include "kernels/matmul.h"
#include "kernels/parallel.h"

namespace gt::kernels {

// The direct float32 convolution (conv_direct.cpp) and the cases it takes.
bool direct_conv_applies(const ConvGeom& g, int64_t o);
bool direct_conv_input_grad_applies(const ConvGeom& g, int64_t o);
void direct_conv_forward(const float* x, int64_t n, const ConvGeom& g, const float* w, int64_t o, float* out);
void direct_conv_filter_grad(const float* x, int64_t n, const ConvGeom& g, const float* gout, int64_t o, float* gw);
void direct_conv_input_grad(const float* gout, int64_t n, const ConvGeom& g, const float* w, int64_t o, float* gx);

// Bytes of one block's patches: about half the 2 MiB L2 of these cores.
constexpr int64_t kConvBlockBytes = int64_t(1) << 20;

// Holds OpenBLAS at one thread while alive (matmul.cpp); restores the previous count.
struct SingleThreadedBlas {
  SingleThreadedBlas();
  ~SingleThreadedBlas();
  SingleThreadedBlas(const SingleThreadedBlas&) = delete;
  SingleThreadedBlas& operator=(const SingleThreadedBlas&) = delete;
  int saved_;
};

// Images per block and the number of blocks, for n images of geometry g.
inline void conv_blocks(int64_t n, const ConvGeom& g, int64_t elem_bytes, int64_t& per, int64_t& blocks) {
  const int64_t img_bytes = std::max<int64_t>(g.oh * g.ow * g.k() * elem_bytes, 1);
  per = std::max<int64_t>(1, std::min<int64_t>(n, kConvBlockBytes / img_bytes));
  blocks = (n + per - 1) / per;
}

// Runs fn(first image, images, patch buffer) over the blocks, on both cores when there are
// several blocks; the patch buffer holds one block's patches.
template <class T, class F>
void conv_over_blocks(int64_t n, const ConvGeom& g, F&& fn) {
  int64_t per, blocks;
  conv_blocks(n, g, int64_t(sizeof(T)), per, blocks);
  const int64_t buf = per * g.oh * g.ow * g.k();
  if (blocks < 2 || num_threads() < 2) {
    quiet_workers();
    std::vector<T> cols(size_t(std::max<int64_t>(buf, 1)));
    for (int64_t b = 0; b < blocks; ++b) fn(b * per, std::min(per, n - b * per), cols.data());
    return;
  }
  quiet_workers();
  SingleThreadedBlas one;
  parallel_for(blocks, [&](int64_t begin, int64_t end) {
    std::vector<T> cols(size_t(std::max<int64_t>(buf, 1)));
    for (int64_t b = begin; b < end; ++b) fn(b * per, std::min(per, n - b * per), cols.data());
  }, 1);
}

template <class T>
void conv_forward(const T* x, int64_t n, const ConvGeom& g, const T* w, int64_t o, T* out) {
  const int64_t K = g.k(), P = g.oh * g.ow, img = g.h * g.w * g.c;
  if (K == 0) { std::fill(out, out + n * P * o, T(0)); return; }
  if (n * P * o == 0) return;
  if constexpr (std::is_same_v<T, float>)
    if (direct_conv_applies(g, o)) return direct_conv_forward(x, n, g, w, o, out);
  conv_over_blocks<T>(n, g, [&](int64_t b0, int64_t nb, T* cols) {
    im2col_rows(x + b0 * img, g, 0, nb * P, cols);
    gemm_ex(false, false, nb * P, o, K, cols, K, w, o, T(0), out + b0 * P * o, o);
  });
  (void)img;
}

// gw[K, O] = im2col(x)^T g: each thread accumulates its blocks into its own [K, O] sum.
template <class T>
void conv_backward_filter(const T* x, int64_t n, const ConvGeom& g, const T* gout, int64_t o, T* gw) {
  const int64_t K = g.k(), P = g.oh * g.ow, img = g.h * g.w * g.c;
  std::fill(gw, gw + K * o, T(0));
  if (K == 0 || n == 0 || P == 0 || o == 0) return;
  if constexpr (std::is_same_v<T, float>)
    if (direct_conv_applies(g, o)) return direct_conv_filter_grad(x, n, g, gout, o, gw);
  int64_t per, blocks;
  conv_blocks(n, g, int64_t(sizeof(T)), per, blocks);
  // part 0 sums into gw, part 1 into `partial` (blocks split in two halves), whatever the
  // thread count (one thread runs both): float32 values do not depend on it
  const int parts = blocks < 2 ? 1 : 2;
  std::vector<T> partial(size_t(parts > 1 ? K * o : 0));
  auto run = [&](int part, int64_t bb, int64_t be) {
    T* acc = part == 0 ? gw : partial.data();
    std::vector<T> cols(size_t(per * P * K));
    for (int64_t b = bb; b < be; ++b) {
      const int64_t b0 = b * per, nb = std::min(per, n - b0);
      im2col_rows(x + b0 * img, g, 0, nb * P, cols.data());
      gemm_ex(true, false, K, o, nb * P, cols.data(), K, gout + b0 * P * o, o, b == bb ? T(0) : T(1), acc, o);
    }
  };
  if (parts == 1) {
    quiet_workers();
    run(0, 0, blocks);
    return;
  }
  quiet_workers();
  SingleThreadedBlas one;
  const int64_t half = (blocks + 1) / 2;
  parallel_for(2, [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) run(int(p), p == 0 ? 0 : half, p == 0 ? half : blocks);
  }, 1);
  for (int64_t i = 0; i < K * o; ++i) gw[i] += partial[size_t(i)];
}

template <class T>
void conv_backward_input(const T* gout, int64_t n, const ConvGeom& g, const T* w, int64_t o, T* gx) {
  const int64_t K = g.k(), P = g.oh * g.ow, img = g.h * g.w * g.c;
  if (K == 0 || P == 0 || o == 0) { std::fill(gx, gx + n * img, T(0)); return; }
  if constexpr (std::is_same_v<T, float>)
    if (direct_conv_input_grad_applies(g, o)) return direct_conv_input_grad(gout, n, g, w, o, gx);
  conv_over_blocks<T>(n, g, [&](int64_t b0, int64_t nb, T* cols) {
    gemm_ex(false, true, nb * P, K, o, gout + b0 * P * o, o, w, o, T(0), cols, K);
    col2im_pixels(cols, g, 0, nb * g.h * g.w, gx + b0 * img);
  });
}

}  // namespace gt::kernels
