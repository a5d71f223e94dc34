#pragma once
// Scalar special functions the C++ library lacks (or has without thread safety), in double:
// float32 callers compute in double and round once. Used by ops_elementwise.cpp (erfinv,
// erfcinv, ndtri, the Bessel functions I0 and I1, lgamma, digamma, polygamma). Special values follow TensorFlow 2.21 (Eigen): digamma is NaN at
// the non-positive integers and at -inf, polygamma(n >= 1) is +inf there for odd n, NaN for even n.
#include <cmath>
#include <limits>
#include <algorithm>
#include <vector>

namespace gt::kernels {

constexpr double kPi = 3.14159265358979323846264338327950288;

// A double result rounded to T (float or double), overflowing to +-inf as IEEE rounding does
// (a plain conversion of an out-of-range double to float is undefined behaviour in C++).
template <class T>
inline T round_to(double v) {
  if constexpr (sizeof(T) < sizeof(double)) {
    constexpr double kOverflow = 0x1.ffffffp127;  // FLT_MAX + half an ulp: rounds up to inf
    if (v >= kOverflow) return std::numeric_limits<T>::infinity();
    if (v <= -kOverflow) return -std::numeric_limits<T>::infinity();
  }
  return T(v);
}
constexpr long double kPiL = 3.14159265358979323846264338327950288L;

namespace detail {
// The y >= 0 with erf(y) = a and erfc(y) = c, given both (c = 1 - a, exact when passed from
// erfcinv). A first guess from Giles' single-precision approximation ("Approximating the erfinv
// function", GPU Computing Gems, 2011), then Halley steps on erf(y) = a for a <= 0.5 and on
// erfc(y) = c above, so the answer keeps its relative accuracy as c goes to 0.
inline double erf_solve(double a, double c) {
  double w = -std::log(c * (1.0 + a)), p;
  if (w < 5.0) {
    w -= 2.5;
    p = 2.81022636e-08;
    p = 3.43273939e-07 + p * w;
    p = -3.5233877e-06 + p * w;
    p = -4.39150654e-06 + p * w;
    p = 0.00021858087 + p * w;
    p = -0.00125372503 + p * w;
    p = -0.00417768164 + p * w;
    p = 0.246640727 + p * w;
    p = 1.50140941 + p * w;
  } else {
    w = std::sqrt(w) - 3.0;
    p = -0.000200214257;
    p = 0.000100950558 + p * w;
    p = 0.00134934322 + p * w;
    p = -0.00367342844 + p * w;
    p = 0.00573950773 + p * w;
    p = -0.0076224613 + p * w;
    p = 0.00943887047 + p * w;
    p = 1.00167406 + p * w;
    p = 2.83297682 + p * w;
  }
  double y = p * a;
  // (Giles' polynomial is fitted down to c ~ 1e-16; below, the tail's leading term erfc(y) ~
  // exp(-y^2) / (y sqrt(pi)) gives the guess)
  if (c < 1e-16) y = std::sqrt(-std::log(c) - 0.5 * std::log(-std::log(c)) - 0.5723649429247001);
  const double two_over_sqrt_pi = 1.12837916709551257390;
  for (int it = 0; it < 12; ++it) {  // (a few; more where the guess is far, c < 2^-24)
    // f(y) = erf(y) - a (or erfc(y) - c, whose derivative is the negative); f'' = -2 y f'
    const double d = two_over_sqrt_pi * std::exp(-y * y);
    if (d == 0.0) break;
    const double f_over_d = a <= 0.5 ? (std::erf(y) - a) / d : (c - std::erfc(y)) / d;
    const double step = f_over_d / (1.0 + y * f_over_d);  // Halley
    if (!std::isfinite(step)) break;
    y -= step;
    if (std::fabs(step) <= 1e-17 * std::fabs(y)) break;
  }
  return y;
}

// The y with erfc(y) = c for c < 1e-280 (y > 25.6, where erfc(y) nears the subnormals and has
// too few bits to solve against): Newton steps on log erfc(y) = log c, with
// log erfc(y) = -y^2 + log erfcx(y) and erfcx(y) = exp(y^2) erfc(y) from its asymptotic series
// 1/(y sqrt(pi)) sum_k (-1)^k (2k-1)!! / (2y^2)^k (terms below 1e-17 after five at y > 25).
inline double erfc_solve_tail(double c) {
  const double log_c = std::log(c), sqrt_pi = 1.77245385090551602730;
  double y = std::sqrt(-log_c - 0.5 * std::log(-log_c) - 0.5723649429247001);
  for (int it = 0; it < 8; ++it) {
    const double q = 1.0 / (2.0 * y * y);
    double term = 1.0, sum = 1.0;
    for (int k = 1; k < 8; ++k) {
      term *= -(2.0 * k - 1.0) * q;
      sum += term;
    }
    const double erfcx = sum / (y * sqrt_pi);
    const double f = -y * y + std::log(erfcx) - log_c;
    const double step = f / (-2.0 / (sqrt_pi * erfcx));  // d/dy log erfc(y) = -2 / (sqrt(pi) erfcx(y))
    y -= step;
    if (std::fabs(step) <= 1e-17 * y) break;
  }
  return y;
}
}  // namespace detail

// Inverse of erf on (-1, 1): +-inf at +-1, NaN outside. Accurate up to |x| = 1 - 2^-53 (1 - |x|
// is exact for |x| >= 0.5).
inline double erfinv(double x) {
  if (std::isnan(x)) return x;
  const double a = std::fabs(x);
  if (a >= 1.0) return a == 1.0 ? std::copysign(std::numeric_limits<double>::infinity(), x)
                                 : std::numeric_limits<double>::quiet_NaN();
  if (x == 0.0) return x;
  return std::copysign(detail::erf_solve(a, 1.0 - a), x);
}

// Inverse of erfc on (0, 2): +inf at 0, -inf at 2, NaN outside. Below 1 it solves erfc(y) = c
// for the given c itself, so it keeps its relative accuracy for tiny c (erfinv(1 - c) would
// lose c to the rounding of 1 - c); above 1, 2 - c and c - 1 are exact.
inline double erfcinv(double c) {
  if (std::isnan(c) || c < 0.0 || c > 2.0) return std::numeric_limits<double>::quiet_NaN();
  if (c == 0.0) return std::numeric_limits<double>::infinity();
  if (c == 2.0) return -std::numeric_limits<double>::infinity();
  if (c == 1.0) return -0.0;  // (as TensorFlow: -ndtri(1/2) / sqrt(2))
  if (c < 1e-280) return detail::erfc_solve_tail(c);
  if (c < 1.0) return detail::erf_solve(1.0 - c, c);
  return -detail::erf_solve(c - 1.0, 2.0 - c);
}

// The inverse of the standard normal CDF: ndtri(p) = -sqrt(2) erfcinv(2p) (2p is exact, so the
// lower tail keeps its accuracy down to the smallest p); -inf at 0, +inf at 1, NaN outside.
inline double ndtri(double p) { return -1.41421356237309504880 * erfcinv(2.0 * p) + 0.0; }  // (+0.0: 0 at 1/2)

// Modified Bessel functions of the first kind of orders 0 and 1, scaled by exp(-|x|) (i0e, i1e)
// or not (i0, i1). |x| <= 20: the power series (all terms positive, so it keeps double's
// accuracy); above: the asymptotic expansion e^x / sqrt(2 pi x) sum_k (-1)^k a_k(nu) / x^k,
// whose smallest term there is below 1e-17 of the sum. The unscaled ones multiply by e^|x| in
// two halves past 700, so they overflow only where the value does.
namespace detail {
// I_nu(|x|) e^-|x| for nu = 0 or 1, x >= 0.
inline double bessel_i_scaled(int nu, double x) {
  if (x <= 20.0) {
    const double q = 0.25 * x * x;
    double term = nu == 0 ? 1.0 : 0.5 * x, sum = term;
    for (int k = 1; k < 500; ++k) {
      term *= q / (double(k) * double(k + nu));
      sum += term;
      if (term <= 1e-17 * sum) break;
    }
    return sum * std::exp(-x);
  }
  const double mu = 4.0 * nu * nu;
  double term = 1.0, sum = 1.0;
  for (int k = 1; k < 60; ++k) {
    const double odd = 2.0 * k - 1.0;
    const double next = -term * (mu - odd * odd) / (double(k) * 8.0 * x);
    if (std::fabs(next) >= std::fabs(term)) break;  // (past the smallest term: asymptotic)
    term = next;
    sum += term;
    if (std::fabs(term) <= 1e-17 * std::fabs(sum)) break;
  }
  return sum / std::sqrt(2.0 * kPi * x);
}
}  // namespace detail
inline double bessel_i0e(double x) { return std::isnan(x) ? x : detail::bessel_i_scaled(0, std::fabs(x)); }
inline double bessel_i1e(double x) {
  if (std::isnan(x)) return x;
  return std::copysign(detail::bessel_i_scaled(1, std::fabs(x)), x);
}
namespace detail {
// s e^a for a >= 0 without overflowing before the product does: e^(a/2) twice past 700 (a/2
// is exact, so this keeps exp's accuracy, where exp(a + log s) would lose a's ulp times a).
inline double times_exp(double s, double a) {
  if (a <= 700.0) return s * std::exp(a);
  const double h = std::exp(0.5 * a);
  return (s * h) * h;
}
}  // namespace detail
inline double bessel_i0(double x) {
  if (std::isnan(x)) return x;
  const double a = std::fabs(x);
  return detail::times_exp(detail::bessel_i_scaled(0, a), a);
}
inline double bessel_i1(double x) {
  if (std::isnan(x)) return x;
  const double a = std::fabs(x);
  return std::copysign(detail::times_exp(detail::bessel_i_scaled(1, a), a), x);
}

// log|Gamma(x)|, thread-safe (std::lgamma writes the global signgam).
inline double lgamma(double x) {
  int sign;
  return ::lgamma_r(x, &sign);
}

namespace detail {
// x - the nearest integer (exact), for cot(pi x) = cot(pi r) in the reflection formulas (x < 0
// for digamma, x < -1 for polygamma, which shifts (-1, 0) up by its recurrence instead).
inline double nearest_offset(double x) { return x - std::nearbyint(x); }
inline bool nonpositive_integer(double x) { return x <= 0.0 && x == std::floor(x); }
}  // namespace detail

// The digamma function psi(x) = d/dx log Gamma(x). Computed in long double (x87's 64-bit
// significand on x86-64): the recurrence sums terms that cancel near psi's root 1.46, which
// costs double a few ulp.
inline double digamma(double xd) {
  using L = long double;
  if (std::isnan(xd)) return xd;
  if (std::isinf(xd)) return xd > 0 ? xd : std::numeric_limits<double>::quiet_NaN();
  if (detail::nonpositive_integer(xd)) return std::numeric_limits<double>::quiet_NaN();
  L x = xd, result = 0;
  if (x < 0) {
    // psi(x) = psi(1 - x) - pi cot(pi x)
    result = -L(kPiL) / std::tan(L(kPiL) * L(detail::nearest_offset(xd)));
    x = 1 - x;
  }
  while (x < 10) {  // psi(x) = psi(x + 1) - 1/x
    result -= 1 / x;
    x += 1;
  }
  // psi(x) ~ log x - 1/(2x) - sum B_2k / (2k x^2k)
  const L t = 1 / (x * x);
  const L series = t * (L(1) / 12 - t * (L(1) / 120 - t * (L(1) / 252 - t * (L(1) / 240 - t * (L(1) / 132 -
                   t * (L(691) / 32760 - t / 12))))));
  return double(result + std::log(x) - 0.5L / x - series);
}

namespace detail {
// cot(pi r) for |r| <= 1/2, accurate near r = +-1/2 too (exactly 0 there): cos(pi r) is
// computed as sin(pi (1/2 - |r|)), whose argument is exact.
inline long double cot_pi(double r) {
  using L = long double;
  const double a = std::fabs(r);
  const L c = std::sin(kPiL * L(0.5 - a)) / std::sin(kPiL * L(a));
  return r < 0 ? -c : c;
}

// psi^(n)(x) / ((-1)^(n+1) n!) for x > 0, n >= 1, in long double: the recurrence
// psi^(n)(x) = psi^(n)(x + 1) + (-1)^(n+1) n! / x^(n+1) moves x past n + 20, where the
// asymptotic series converges fast whatever the order (its terms shrink by about
// ((n + 2k) / (2 pi x))^2). Scaled by n! so that no intermediate overflows before the end.
inline long double polygamma_scaled(int n, long double x) {
  using L = long double;
  L shifted = 0;
  const L start = std::max(L(15), L(n) + 20);
  while (x < start) {
    shifted += std::pow(x, L(-(n + 1)));
    x += 1;
  }
  // psi^(n)(x) / ((-1)^(n+1) n!) ~ 1/(n x^n) + 1/(2 x^(n+1)) + sum B_2k (2k+n-1)!/(n! (2k)! x^(2k+n))
  static const L b2k[] = {L(1) / 6, L(-1) / 30, L(1) / 42, L(-1) / 30, L(5) / 66, L(-691) / 2730, L(7) / 6,
                          L(-3617) / 510, L(43867) / 798, L(-174611) / 330};
  const L t = 1 / x;
  L series = 0;
  L ratio = L(n + 1) / 2;  // (2k+n-1)!/(n! (2k)!) at k = 1
  L tk = std::pow(t, L(n + 2));
  for (int k = 1; k <= 10; ++k) {
    const L term = b2k[k - 1] * ratio * tk;
    series += term;
    if (std::fabs(term) <= 1e-20L * std::fabs(series)) break;
    ratio *= L(2 * k + n) * L(2 * k + n + 1) / (L(2 * k + 1) * L(2 * k + 2));
    tk *= t * t;
  }
  const L lead = std::pow(t, L(n)) / n + std::pow(t, L(n + 1)) / 2;
  return shifted + lead + series;
}
}  // namespace detail

// The largest order polygamma computes: past it n! overflows long double.
inline constexpr int kMaxPolygammaOrder = 1754;

// The polygamma function psi^(n)(x) = d^n/dx^n psi(x), 0 <= n <= kMaxPolygammaOrder.
inline double polygamma(int n, double xd) {
  using L = long double;
  if (n == 0) return digamma(xd);
  if (std::isnan(xd)) return xd;
  const L sign = (n % 2 == 1) ? 1 : -1;  // (-1)^(n+1)
  if (xd == std::numeric_limits<double>::infinity()) return double(sign) * 0.0;
  if (xd == -std::numeric_limits<double>::infinity() || detail::nonpositive_integer(xd))  // a pole: as TF (Eigen's zeta)
    return n % 2 == 1 ? std::numeric_limits<double>::infinity() : std::numeric_limits<double>::quiet_NaN();
  L n_fact = 1;
  for (int k = 2; k <= n; ++k) n_fact *= k;
  if (xd > 0) return double(sign * n_fact * detail::polygamma_scaled(n, xd));
  // x < 0: the reflection (-1)^n psi^(n)(1 - x) - psi^(n)(x) = pi d^n/dx^n cot(pi x)
  // = pi^(n+1) P_n(cot(pi x)), P_0(c) = c, P_(k+1)(c) = -(1 + c^2) P_k'(c): polynomials of
  // degree k + 1, evaluated at cot(pi r) with r = x - the nearest integer (exact).
  std::vector<L> p(size_t(n) + 3, L(0)), q(size_t(n) + 3);
  p[1] = 1;  // P_0 = c
  for (int k = 0; k < n; ++k) {
    std::fill(q.begin(), q.end(), L(0));
    for (int j = 1; j <= k + 1; ++j) {  // -(1 + c^2) * j p_j c^(j-1)
      q[j - 1] -= j * p[j];
      q[j + 1] -= j * p[j];
    }
    std::swap(p, q);
  }
  const L c = detail::cot_pi(detail::nearest_offset(xd));
  L poly = 0;
  for (int j = n + 1; j >= 0; --j) poly = poly * c + p[j];
  const L reflected = sign * n_fact * detail::polygamma_scaled(n, 1 - L(xd));
  return double(((n % 2 == 0) ? reflected : -reflected) - std::pow(kPiL, L(n + 1)) * poly);
}


// The Hurwitz zeta function zeta(x, q) = sum_k (q + k)^-x, in long double: the sum's terms
// until q + k reaches max(12, x) (or until the rest is below 1e-20 of the sum), then the
// Euler-Maclaurin tail with the Bernoulli terms B_2j / (2j)!, which converge fast from there.
// Special values as TensorFlow (Eigen): +inf at x = 1 (whatever q), NaN for x < 1; for q <= 0
// an integer, +inf when x is an even integer (or +inf) and NaN otherwise; for other q < 0, NaN
// unless x is an integer (the sum is then real and computed).
inline double zeta(double xd, double qd) {
  using L = long double;
  const double inf = std::numeric_limits<double>::infinity(), nan = std::numeric_limits<double>::quiet_NaN();
  if (xd == 1.0) return inf;
  if (std::isnan(xd) || std::isnan(qd) || xd < 1.0) return nan;
  if (qd <= 0.0) {
    if (qd == std::floor(qd)) return (std::isinf(xd) || std::fmod(xd, 2.0) == 0.0) ? inf : nan;
    if (!std::isinf(xd) && xd != std::floor(xd)) return nan;
  }
  if (std::isinf(qd)) return 0.0;
  if (qd < 0.0 && qd - std::floor(qd) == 0.5 && !std::isinf(xd)) {
    // q a negative half-integer (x an integer here): the terms at q + k = -w and at w (w = 1/2
    // ... -q) cancel exactly for odd x and are equal for even x, so they are paired by hand
    // instead of summed across 0, where the small ones would be lost to the rounding of 2^x
    const double rest = zeta(xd, 1.0 - qd);
    if (std::fmod(xd, 2.0) != 0.0) return rest;
    long double mirrored = 0;
    for (long double w = 0.5L; w <= -qd; w += 1) mirrored += std::pow(w, -(long double)xd);
    return double(2 * mirrored + rest);
  }
  if (std::isinf(xd)) {  // the terms (q + k)^-inf: 1 where |q + k| = 1, inf where it is below 1
    L s = 0;
    for (L w = qd; w < 2; w += 1) {
      const L a = std::fabs(w);
      if (a < 1) return inf;
      if (a == 1) s += 1;
    }
    return double(s);
  }
  const L x = xd;
  const L lim = std::max<L>(12, x);
  L sum = 0, w = qd;
  while (w < lim) {
    const L t = std::pow(w, -x);
    sum += t;
    w += 1;
    // the rest is at most the integral of u^-x from w - 1: t (w - 1) / (x - 1); and once the
    // terms past 1 underflow to 0 (a huge x), so do all later ones
    if (w > 1 && (t == 0 || std::fabs(t) * (w - 1) / (x - 1) < 1e-20L * std::fabs(sum))) return double(sum);
  }
  static constexpr L kB[] = {8.33333333333333333333e-2L,  -1.38888888888888888889e-3L, 3.30687830687830687831e-5L,
                             -8.26719576719576719577e-7L, 2.08767569878680989792e-8L,  -5.28419013868749318484e-10L,
                             1.33825365306846788329e-11L, -3.38968029632258286683e-13L, 8.58606205627784456414e-15L,
                             -2.17486869855806187305e-16L, 5.50900282836022951521e-18L, -1.39544646858125233408e-19L};
  L s = sum + std::pow(w, 1 - x) / (x - 1) + 0.5L * std::pow(w, -x);
  L term = x * std::pow(w, -x - 1);
  for (int j = 0; j < 12; ++j) {
    const L add = kB[j] * term;
    s += add;
    if (std::fabs(add) < 1e-21L * std::fabs(s)) break;
    term *= (x + 2 * j + 1) * (x + 2 * j + 2) / (w * w);
  }
  return double(s);
}

// The regularized incomplete beta function I_x(a, b), in long double: its continued fraction
// (evaluated by the modified Lentz method) where x < (a + 1) / (a + b + 2), and
// 1 - I_(1-x)(b, a) above, where that one converges. Special values as TensorFlow (Eigen): NaN
// for a <= 0 or b <= 0, 0 at x = 0 and 1 at x = 1 (even for a NaN a or b), NaN for x outside
// [0, 1] and for an infinite or NaN a or b inside.
namespace detail {
// log|Gamma(x)| in long double, thread-safe (lgammal_r: std::lgamma writes the global signgam)
inline long double lgamma_l(long double x) {
  int sign;
  return ::lgammal_r(x, &sign);
}
inline long double betainc_fraction(long double a, long double b, long double x) {
  using L = long double;
  const L tiny = 1e-4000L;
  const L log_front = a * std::log(x) + b * std::log1p(-x) -
                      (lgamma_l(a) + lgamma_l(b) - lgamma_l(a + b)) - std::log(a);
  L f = 1, c = 1, d = 1 - (a + b) * x / (a + 1);
  if (std::fabs(d) < tiny) d = tiny;
  d = 1 / d;
  f = d;
  for (int m = 1; m < 20000; ++m) {
    // the even step d_2m, then the odd step d_(2m+1)
    L num = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m));
    d = 1 + num * d;
    if (std::fabs(d) < tiny) d = tiny;
    c = 1 + num / c;
    if (std::fabs(c) < tiny) c = tiny;
    d = 1 / d;
    f *= d * c;
    num = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1));
    d = 1 + num * d;
    if (std::fabs(d) < tiny) d = tiny;
    c = 1 + num / c;
    if (std::fabs(c) < tiny) c = tiny;
    d = 1 / d;
    const L delta = d * c;
    f *= delta;
    if (std::fabs(delta - 1) < 1e-19L) break;
  }
  return std::exp(log_front) * f;
}
}  // namespace detail
inline double betainc(double a, double b, double x) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  if (a <= 0.0 || b <= 0.0) return nan;
  if (x == 0.0) return 0.0;
  if (x == 1.0) return 1.0;
  if (!(x > 0.0 && x < 1.0) || !std::isfinite(a) || !std::isfinite(b)) return nan;
  using L = long double;
  if (L(x) < (L(a) + 1) / (L(a) + L(b) + 2)) return double(detail::betainc_fraction(a, b, x));
  return double(1 - detail::betainc_fraction(b, a, 1 - L(x)));
}

}  // namespace gt::kernels
