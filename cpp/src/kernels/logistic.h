#pragma once
// The elementwise math of softplus and sigmoid, in the one place every path takes it from: the
// eager ops and their deferred programs (ops_elementwise.cpp), the fused rule g * sigmoid(x)
// (fused_rules.h) and the batch pass that computes softplus(z) and sigmoid(z) of one z together
// (fusion.cpp, one exp for both). Each is written from e = exp(-|x|), which never overflows:
//
//   softplus(x) = log1p(e) + max(x, 0)
//   sigmoid(x)  = 1 / (1 + e) for x >= 0, e / (1 + e) below
//
// For float32, exp(-|x|) and log1p on [0, 1] are computed here, inline, with branch-free
// polynomials the vectoriser turns into straight-line SIMD code (no call into libmvec, whose
// vector call ABI makes every loop spill its vector registers around each call). Their error,
// measured over every float argument against a float64 reference (bench/ulp_logistic.cpp,
// bench/README.md): exp_neg_abs within 1.01 ulp, log1p_unit within 1.00 ulp; softplus 1.71 and
// sigmoid 2.83 ulp (libmvec's expf and log1pf gave 2.64, 1.96, 3.42 and 4.13). float64 keeps
// libm's exp and log1p (the vectoriser calls libmvec's), as before.
//
// x86-64: the loops that call these are GT_DISPATCHED (isa.h), so each CPU level gets its own
// copy; an x86-64-v3/v4 copy may contract a * b + c into an FMA (GCC's default
// -ffp-contract=fast), which changes a result by at most the rounding of one product and is
// covered by the error figures above (measured with and without FMA). Within one process every
// path runs the same copy, so eager and fused results stay bit-identical.
#include <bit>
#include <cmath>
#include <cstdint>

namespace gt::kernels {

// exp(-|x|) for float32, within 1.01 ulp of the exact value (subnormal results too):
// -|x| = k ln2 + r with |r| <= ln2/2 (Cody-Waite: ln2 in two parts, k ln2_hi exact), exp(r) by a
// polynomial 1 + r + r^2 P(r) (minimax for relative error, P of degree 4: 0.05 ulp), then 2^k
// applied in two steps, the first exact, so a subnormal result is rounded once. |x| above 104
// gives 0 (below half the smallest subnormal); NaN stays NaN; +-inf gives 0.
inline float exp_neg_abs_f32(float v) {
  const float a = std::fabs(v);
  const float ac = a < 104.0f ? a : 104.0f;  // (NaN takes 104 here; fixed at the end)
  const float x = -ac;
  // k = round(x / ln2) by the 1.5 * 2^23 trick (|x / ln2| < 151, exact in float): t holds k in
  // its low mantissa bits, kf is k.
  const float t = x * 1.44269504088896341f + 12582912.0f;
  const float kf = t - 12582912.0f;
  const float r = (x - kf * 0.693145751953125f) - kf * 1.428606820309417232e-6f;
  float p = 0.0013814597335230947f;
  p = p * r + 0.008368716998645628f;
  p = p * r + 0.04166838807273881f;
  p = p * r + 0.1666652063043066f;
  p = p * r + 0.4999999344765969f;
  const float er = 1.0f + (r + (r * r) * p);
  // 2^k = 2^k1 * 2^k2 with k1 = max(k, -125), k2 = min(k, -125) + 125 in [-25, 0] (k >= -150):
  // er * 2^k1 is normal (er > 0.7), so adding k1 to its exponent field is exact, and the
  // product with 2^k2 is the one rounding, as for er * 2^k computed exactly. t's bits are
  // those of 1.5 * 2^23 plus k; shifted left by 23 they are k's (the bias's bits leave the
  // word), so k needs no conversion. (Bit for bit what 2^k in two halves, k / 2 and k - k / 2,
  // gave before: bench/README.md, "W4's compute".)
  constexpr int32_t kBias = 0x4B400000;  // the bits of 1.5 * 2^23
  const int32_t kb = std::bit_cast<int32_t>(t);
  const int32_t k1b = kb > kBias - 125 ? kb : kBias - 125;  // k1 + kBias
  const int32_t k2b = kb < kBias - 125 ? kb : kBias - 125;  // k2 - 125 + kBias
  const float e1 = std::bit_cast<float>(std::bit_cast<int32_t>(er) + int32_t(uint32_t(k1b) << 23));
  const float s2 = std::bit_cast<float>(int32_t(uint32_t(k2b + 252) << 23));  // 2^(k2b - kBias + 125)
  const float e = e1 * s2;
  return a == a ? e : a;  // (a >= 104 already gives 0: 2^-150 * er rounds to 0)
}

// log1p(t) for float32 t in [0, 1] (the softplus range: t = exp(-|x|)), within 1.00 ulp; NaN stays
// NaN. No rounding error enters the argument: for t < 1/2, f = t; for t >= 1/2,
// log1p(t) = ln2 + log1p(f) with f = (t - 1) / 2, exact (Sterbenz). log1p(f) = f + f^2 Q(f) on
// f in [-1/4, 1/2), Q minimax for the relative error of log1p, degree 8 (0.08 ulp).
inline float log1p_unit_f32(float t) {
  const bool upper = t >= 0.5f;
  const float f = upper ? (t - 1.0f) * 0.5f : t;
  float q = -0.044909090492140424f;
  q = q * f + 0.10448277662946932f;
  q = q * f + -0.13162223660049874f;
  q = q * f + 0.14482067759134412f;
  q = q * f + -0.16647768631306706f;
  q = q * f + 0.19990606509660952f;
  q = q * f + -0.2500005452795135f;
  q = q * f + 0.3333345444688599f;
  q = q * f + -0.5000000082298968f;
  const float tail = (f * f) * q;
  // ln2 = ln2_hi + ln2_lo (float(ln2) and the rest): the upper half adds them around log1p(f).
  const float lo = upper ? -1.9046542121259336e-09f : 0.0f;
  const float hi = upper ? 0.693147182464599609375f : 0.0f;
  return hi + (f + (tail + lo));
}

template <class T>
inline T exp_neg_abs(T v) {
  if constexpr (sizeof(T) == 4) return exp_neg_abs_f32(v);
  else return std::exp(-std::fabs(v));
}

template <class T>
inline T log1p_unit(T t) {
  if constexpr (sizeof(T) == 4) return log1p_unit_f32(t);
  else return std::log1p(t);
}

// softplus(x) from e = exp_neg_abs(x).
template <class T>
inline T softplus_from(T v, T e) {
  return log1p_unit(e) + (v > T(0) ? v : T(0));
}

// sigmoid(x) from e = exp_neg_abs(x).
template <class T>
inline T sigmoid_from(T v, T e) {
  const T r = T(1) / (T(1) + e);
  return v >= T(0) ? r : e * r;
}

template <class T>
inline T softplus_of(T v) { return softplus_from(v, exp_neg_abs(v)); }
template <class T>
inline T sigmoid_of(T v) { return sigmoid_from(v, exp_neg_abs(v)); }

}  // namespace gt::kernels
