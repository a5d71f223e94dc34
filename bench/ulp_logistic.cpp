// Exhaustive error of the float32 softplus/sigmoid math (cpp/src/kernels/logistic.h): every
// float argument of exp_neg_abs_f32 (all 2^32 bit patterns), of log1p_unit_f32 (all floats in
// [0, 1]) and of softplus and sigmoid (all 2^32), against a double-precision reference (glibc's
// exp and log1p in double, within ~1 ulp of double: exact for this purpose). Prints the largest
// error in float ulps of the reference (ulp of a subnormal: 2^-149) and checks NaN, inf, +-0.
//
// Build and run twice, without and with FMA contraction (the baseline and x86-64-v3/v4 copies):
//   g++ -std=gnu++20 -O2 -fopenmp-simd -march=x86-64-v2 -I cpp/src bench/ulp_logistic.cpp -o /tmp/ulp_v2 && /tmp/ulp_v2
//   g++ -std=gnu++20 -O2 -fopenmp-simd -march=x86-64-v4 -I cpp/src bench/ulp_logistic.cpp -o /tmp/ulp_v4 && /tmp/ulp_v4
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>

#if defined(GT_ULP_OLD)
// The math before kernels/logistic.h, for comparison: libm's expf and log1pf, which the
// vectoriser calls in libmvec's vector versions (vecmath.h; glibc >= 2.35 for log1pf). Build with
//   -DGT_ULP_OLD -DGRADTAPE_MVEC_GLIBC_2_35 ... -lm
#include "kernels/vecmath.h"
namespace gt::kernels {
inline float exp_neg_abs_f32(float v) { return std::exp(-std::fabs(v)); }
inline float log1p_unit_f32(float t) { return std::log1p(t); }
template <class T>
inline T softplus_from(T v, T e) { return log1p_unit_f32(e) + (v > T(0) ? v : T(0)); }
template <class T>
inline T sigmoid_from(T v, T e) {
  const T r = T(1) / (T(1) + e);
  return v >= T(0) ? r : e * r;
}
template <class T>
inline T softplus_of(T v) { return softplus_from(v, exp_neg_abs_f32(v)); }
template <class T>
inline T sigmoid_of(T v) { return sigmoid_from(v, exp_neg_abs_f32(v)); }
}  // namespace gt::kernels
#else
#include "kernels/logistic.h"
#endif

namespace {
using gt::kernels::exp_neg_abs_f32;
using gt::kernels::log1p_unit_f32;

double ulp_of(double ref) {  // the float ulp at |ref|
  const double a = std::fabs(ref);
  if (a < 0x1p-126) return 0x1p-149;
  int ex;
  std::frexp(a, &ex);  // a = m 2^ex, m in [0.5, 1)
  return std::ldexp(1.0, ex - 24);
}

struct Worst {
  double err = 0;
  uint32_t bits = 0;
  void see(double got, double ref, uint32_t b) {
    if (std::isinf(ref) || std::isnan(ref)) return;
    const double e = std::fabs(got - ref) / ulp_of(ref);
    if (e > err) { err = e; bits = b; }
  }
};

}  // namespace

int main() {
  Worst we, ws, wg, wl;
  int bad = 0;
  constexpr int64_t kBlock = 1 << 16;
  static float in[kBlock], oe[kBlock], os[kBlock], og[kBlock];
  for (int64_t base = 0; base < (int64_t(1) << 32); base += kBlock) {
#pragma omp simd
    for (int64_t i = 0; i < kBlock; ++i) in[i] = std::bit_cast<float>(uint32_t(base + i));
#pragma omp simd
    for (int64_t i = 0; i < kBlock; ++i) {
      const float e = exp_neg_abs_f32(in[i]);
      oe[i] = e;
      os[i] = gt::kernels::softplus_from(in[i], e);
      og[i] = gt::kernels::sigmoid_from(in[i], e);
    }
    for (int64_t i = 0; i < kBlock; ++i) {
      const float x = in[i];
      const uint32_t b = uint32_t(base + i);
      if (std::isnan(x)) {
        bad += !std::isnan(oe[i]) || !std::isnan(os[i]) || !std::isnan(og[i]);
        continue;
      }
      // The reference from one exp in double: E = exp(-|x|) (relative error ~1e-16), then
      // softplus = log1p(E) + max(x, 0) and sigmoid = 1/(1+E) or E/(1+E), each within a few
      // ulp of double of the exact value.
      const double xd = x, E = std::exp(-std::fabs(xd));
      we.see(oe[i], E, b);
      ws.see(os[i], std::log1p(E) + (xd > 0 ? xd : 0.0), b);
      wg.see(og[i], xd >= 0 ? 1 / (1 + E) : E / (1 + E), b);
    }
  }
  // log1p on [0, 1]: every float from +0 up to 1.0f.
  const uint32_t one = std::bit_cast<uint32_t>(1.0f);
  for (uint32_t b0 = 0; b0 <= one; b0 += kBlock) {
    const int64_t n = std::min<int64_t>(kBlock, int64_t(one) - b0 + 1);
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) in[i] = std::bit_cast<float>(uint32_t(b0 + i));
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) oe[i] = log1p_unit_f32(in[i]);
    for (int64_t i = 0; i < n; ++i) wl.see(oe[i], std::log1p(double(in[i])), uint32_t(b0 + i));
  }
  // Special values, as libm's formulas give them.
  const float inf = std::numeric_limits<float>::infinity();
  bad += exp_neg_abs_f32(inf) != 0.0f || exp_neg_abs_f32(-inf) != 0.0f || exp_neg_abs_f32(-0.0f) != 1.0f;
  bad += gt::kernels::softplus_of(inf) != inf || gt::kernels::softplus_of(-inf) != 0.0f;
  bad += gt::kernels::softplus_of(-0.0f) != float(std::log(2.0)) || gt::kernels::sigmoid_of(-0.0f) != 0.5f;
  bad += gt::kernels::sigmoid_of(inf) != 1.0f || gt::kernels::sigmoid_of(-inf) != 0.0f;
  bad += log1p_unit_f32(0.0f) != 0.0f || std::signbit(log1p_unit_f32(0.0f)) || log1p_unit_f32(1.0f) != float(std::log(2.0));
  bad += !std::isnan(log1p_unit_f32(std::numeric_limits<float>::quiet_NaN()));
  auto show = [](const char* name, const Worst& w) {
    std::printf("%-22s max error %.3f ulp (at x = %a)\n", name, w.err, double(std::bit_cast<float>(w.bits)));
  };
  show("exp(-|x|)", we);
  show("log1p(t), t in [0, 1]", wl);
  show("softplus(x)", ws);
  show("sigmoid(x)", wg);
  std::printf("special values: %s\n", bad ? "WRONG" : "ok");
  return bad != 0;
}
