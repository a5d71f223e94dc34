#pragma once
// gt::Real and gt::RealTape: reverse mode for scalar C++ code, at the cost of a scalar-tape
// library (Adept, Stan Math) rather than of a tensor per op.
//
// A Real is a double plus an index (0 for a constant) and the epoch of the tape that gave the
// index; it is trivially copyable and owns nothing. While a RealTape records on this thread, an
// op whose operands include an indexed Real appends one statement to the tape's flat arrays:
// for each indexed operand, its index and the partial derivative of the result with respect to
// it, computed as the op runs. The result gets the next index. gradient() sets the target's
// adjoint to 1 and walks the statements backwards once, adding partial * adjoint into each
// operand's adjoint: a loop over three arrays, no recursion, no allocation per op beyond
// amortised growth of the arrays (16 bytes per one-operand op, 28 per two-operand op).
//
// Scope: first order, float64, one RealTape recording per thread (destroy it on that thread,
// or at least while that thread lives). Tensors and gt::Tape are the
// general engine (arrays, broadcasting, nested tapes, higher orders, custom gradients); a Real
// is for scalar code where allocating a tensor per op would cost tens of times the arithmetic
// (bench/README.md, W3 in C++). With no tape recording, Reals compute plain values.
// Misuse throws gt::TapeError: a second RealTape on a thread, a Real from another tape (or from
// before clear()) used in an op or asked for in gradient().
#include <cmath>
#include <cstdint>
#include <memory>
#include <vector>

#include "gradtape/errors.h"

namespace gt {

class RealTape;

class Real {
 public:
  Real(double v = 0.0) : v_(v) {}  // NOLINT: a constant converts implicitly, as in Adept and Stan
  double value() const { return v_; }
  // Whether the value is on a tape (a variable or computed from one while the tape recorded).
  bool active() const { return id_ != 0; }

 private:
  friend class RealTape;
  double v_;
  uint32_t id_ = 0;
  uint32_t epoch_ = 0;
};

namespace detail {
// constinit: no dynamic initialiser, so every access is a plain TLS load (no wrapper call)
extern thread_local constinit RealTape* tls_real_tape;
}

class RealTape {
 public:
  // Starts recording on this thread (TapeError if another RealTape records here).
  RealTape();
  ~RealTape();
  RealTape(const RealTape&) = delete;
  RealTape& operator=(const RealTape&) = delete;

  // A new independent variable with value v.
  Real variable(double v);
  // d target / d source for each source (0 for a source the target does not depend on, and
  // for a constant). The tape keeps recording and may be asked again.
  std::vector<double> gradient(const Real& target, const std::vector<Real>& sources);
  // Forgets everything recorded (keeping the memory for reuse); Reals from before are stale.
  void clear();

  // Statements recorded (variables included) and the bytes they use.
  size_t size() const { return n_stmts_ - 1; }
  size_t bytes() const;

  // The op entry points (used by the inline functions below).
  Real push(double v, const Real& a, double da) {
    check(a);
    if (n_ops_ + 1 > op_cap_ || n_stmts_ >= stmt_cap_) grow(1);
    operands_[n_ops_] = a.id_;
    partials_[n_ops_++] = da;
    return finish(v);
  }
  Real push(double v, const Real& a, double da, const Real& b, double db) {
    check(a);
    check(b);
    if (n_ops_ + 2 > op_cap_ || n_stmts_ >= stmt_cap_) grow(2);
    operands_[n_ops_] = a.id_;
    partials_[n_ops_++] = da;
    operands_[n_ops_] = b.id_;
    partials_[n_ops_++] = db;
    return finish(v);
  }

 private:
  void check(const Real& r) const {
    if (r.epoch_ != epoch_) stale(r);
  }
  [[noreturn]] void stale(const Real& r) const;
  // Makes room for one more statement of k operands. Called before anything is written, and
  // allocates before it changes anything, so a failure (too many statements, no memory) leaves
  // the tape as it was.
  void grow(size_t k);
  Real finish(double v) {
    ends_[n_stmts_] = uint32_t(n_ops_);
    Real out(v);
    out.id_ = uint32_t(n_stmts_++);
    out.epoch_ = epoch_;
    return out;
  }
  [[noreturn]] void too_long() const;
  static constexpr size_t kMaxStatements = 0xFFFFFFF0u;

  // Flat arrays, grown by doubling: statement k's operands are [ends_[k-1], ends_[k]) of
  // operands_ (their indices) and partials_ (d result / d operand); ends_[0] = 0 (constants).
  std::unique_ptr<uint32_t[]> ends_;
  std::unique_ptr<uint32_t[]> operands_;
  std::unique_ptr<double[]> partials_;
  size_t n_stmts_ = 0, stmt_cap_ = 0;
  size_t n_ops_ = 0, op_cap_ = 0;
  std::vector<double> adjoints_;  // gradient()'s work array
  uint32_t epoch_;
  RealTape** owner_;  // the creating thread's current-tape pointer
};

namespace detail {
// f(a) with derivative d() (called only when recorded).
template <class D>
inline Real real_unary(const Real& a, double v, D d) {
  RealTape* t = tls_real_tape;
  if (!t || !a.active()) return Real(v);
  return t->push(v, a, d());
}
// f(a, b) with partials da, db.
inline Real real_binary(const Real& a, const Real& b, double v, double da, double db) {
  RealTape* t = tls_real_tape;
  if (!t || (!a.active() && !b.active())) return Real(v);
  if (!b.active()) return t->push(v, a, da);
  if (!a.active()) return t->push(v, b, db);
  return t->push(v, a, da, b, db);
}
}  // namespace detail

// Arithmetic. Each line carries its partial derivatives.
inline Real operator+(const Real& a, const Real& b) { return detail::real_binary(a, b, a.value() + b.value(), 1, 1); }
inline Real operator-(const Real& a, const Real& b) { return detail::real_binary(a, b, a.value() - b.value(), 1, -1); }
// d(ab) = (b, a)
inline Real operator*(const Real& a, const Real& b) {
  return detail::real_binary(a, b, a.value() * b.value(), b.value(), a.value());
}
// d(a/b) = (1/b, -(a/b)/b)
inline Real operator/(const Real& a, const Real& b) {
  const double q = a.value() / b.value();
  return detail::real_binary(a, b, q, 1 / b.value(), -q / b.value());
}
inline Real operator-(const Real& a) { return detail::real_unary(a, -a.value(), [] { return -1.0; }); }
inline Real& operator+=(Real& a, const Real& b) { return a = a + b; }
inline Real& operator-=(Real& a, const Real& b) { return a = a - b; }
inline Real& operator*=(Real& a, const Real& b) { return a = a * b; }
inline Real& operator/=(Real& a, const Real& b) { return a = a / b; }

// Comparisons look at values only (for control flow); they are not differentiated.
inline bool operator<(const Real& a, const Real& b) { return a.value() < b.value(); }
inline bool operator>(const Real& a, const Real& b) { return a.value() > b.value(); }
inline bool operator<=(const Real& a, const Real& b) { return a.value() <= b.value(); }
inline bool operator>=(const Real& a, const Real& b) { return a.value() >= b.value(); }
inline bool operator==(const Real& a, const Real& b) { return a.value() == b.value(); }
inline bool operator!=(const Real& a, const Real& b) { return a.value() != b.value(); }

// Functions.
// d sin(a) = cos(a)
inline Real sin(const Real& a) { return detail::real_unary(a, std::sin(a.value()), [&] { return std::cos(a.value()); }); }
// d cos(a) = -sin(a)
inline Real cos(const Real& a) { return detail::real_unary(a, std::cos(a.value()), [&] { return -std::sin(a.value()); }); }
// d tan(a) = 1 + tan(a)^2
inline Real tan(const Real& a) {
  const double t = std::tan(a.value());
  return detail::real_unary(a, t, [&] { return 1 + t * t; });
}
// d exp(a) = exp(a)
inline Real exp(const Real& a) {
  const double e = std::exp(a.value());
  return detail::real_unary(a, e, [&] { return e; });
}
// d expm1(a) = exp(a)
inline Real expm1(const Real& a) {
  return detail::real_unary(a, std::expm1(a.value()), [&] { return std::exp(a.value()); });
}
// d log(a) = 1/a
inline Real log(const Real& a) { return detail::real_unary(a, std::log(a.value()), [&] { return 1 / a.value(); }); }
// d log1p(a) = 1/(1+a)
inline Real log1p(const Real& a) {
  return detail::real_unary(a, std::log1p(a.value()), [&] { return 1 / (1 + a.value()); });
}
// d sqrt(a) = 1/(2 sqrt(a))
inline Real sqrt(const Real& a) {
  const double s = std::sqrt(a.value());
  return detail::real_unary(a, s, [&] { return 0.5 / s; });
}
// d tanh(a) = 1 - tanh(a)^2
inline Real tanh(const Real& a) {
  const double t = std::tanh(a.value());
  return detail::real_unary(a, t, [&] { return 1 - t * t; });
}
// d |a| = sign(a) (0 at 0)
inline Real abs(const Real& a) {
  const double v = a.value();
  return detail::real_unary(a, std::fabs(v), [&] { return v > 0 ? 1.0 : (v < 0 ? -1.0 : 0.0); });
}
// d sigmoid(a) = sigmoid(a) sigmoid(-a); computed without overflow
inline Real sigmoid(const Real& a) {
  const double v = a.value(), e = std::exp(-std::fabs(v)), r = 1 / (1 + e);
  const double s = v >= 0 ? r : e * r, sm = v >= 0 ? e * r : r;
  return detail::real_unary(a, s, [&] { return s * sm; });
}
// d softplus(a) = sigmoid(a); softplus = log1p(exp(-|a|)) + max(a, 0), exact at any a
inline Real softplus(const Real& a) {
  const double v = a.value(), e = std::exp(-std::fabs(v)), r = 1 / (1 + e);
  return detail::real_unary(a, std::log1p(e) + (v > 0 ? v : 0), [&] { return v >= 0 ? r : e * r; });
}
// d a^b = (b a^(b-1), a^b log(a)); log(a) taken as 0 where a <= 0 (as the tensor rule)
inline Real pow(const Real& a, const Real& b) {
  const double p = std::pow(a.value(), b.value());
  const double db = a.value() > 0 ? p * std::log(a.value()) : 0.0;
  return detail::real_binary(a, b, p, b.value() * std::pow(a.value(), b.value() - 1), db);
}

}  // namespace gt
