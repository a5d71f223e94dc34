// Fused optimizer updates (gradtape/optim.h): one pass per parameter, Keras 3's formulas.
#include "gradtape/optim.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "kernels/isa.h"
#include "kernels/parallel.h"
#include "ops_common.h"

namespace gt::optim {

namespace {

const char* algorithm_name(Algorithm a) {
  switch (a) {
    case Algorithm::SGD: return "SGD";
    case Algorithm::Adam: return "Adam";
    case Algorithm::RMSprop: return "RMSprop";
    case Algorithm::Adagrad: return "Adagrad";
    case Algorithm::Adadelta: return "Adadelta";
    case Algorithm::Adamax: return "Adamax";
    case Algorithm::Nadam: return "Nadam";
    case Algorithm::Lion: return "Lion";
  }
  return "?";
}

// Pointers for one pass: the parameter's old and new buffers, the gradient, and each slot's.
template <class T>
struct Buffers {
  const T* p_in;
  T* p_out;
  const T* g;
  const T* s_in[3] = {};
  T* s_out[3] = {};
};

// Keras's ops.cast(x, dtype) of a Python float goes through float32 first (convert_to_tensor
// makes a float32 tensor, then the cast); a Python float that meets a tensor in arithmetic
// takes the tensor's dtype directly. Which hyperparameters take which path is Keras's; it
// matters only for float64 variables.
template <class T>
T keras_cast(double x) {
  return T(float(x));
}

// The scalars of a step in T, computed as Keras computes them (each rounded to T).
template <class T>
struct Scalars {
  T lr, wd, clip, gmul, gdiv;
  bool decay;
  explicit Scalars(const Hyper& h)
      : lr(T(h.learning_rate)), wd(keras_cast<T>(h.weight_decay)), clip(T(h.clip_value)), gmul(T(h.grad_mul)),
        gdiv(T(h.grad_div)), decay(h.weight_decay != 0.0) {}
  // clip, then scale: g * mul / div (exact no-ops at their defaults)
  T grad(T g) const { return std::min(std::max(g, -clip), clip) * gmul / gdiv; }
  // p - p * wd * lr
  T decayed(T p) const { return decay ? p - p * wd * lr : p; }
};

// Elements [lo, hi) of one update: the loops, compiled for x86-64-v4, v3 and the baseline
// and chosen when the library loads, as the elementwise kernels are (GT_DISPATCHED,
// kernels/isa.h). This file is compiled with -ffp-contract=off (cpp/CMakeLists.txt): the v3
// and v4 copies do not fuse a * b + c into an FMA, so every copy gives the same bits.
template <class T>
GT_DISPATCHED void update_range(Algorithm alg, const Hyper& h, const Buffers<T>& b, int64_t lo, int64_t hi) {
  const Scalars<T> sc(h);
  const T one = T(1);
  const T local_step = T(h.iterations + 1);
  const T* __restrict g_ = b.g;
  const T* p_in = b.p_in;
  T* p_out = b.p_out;
  switch (alg) {
    case Algorithm::SGD: {
      const T mom = keras_cast<T>(h.momentum);
      if (b.s_in[0] == nullptr) {  // p -= g * lr
#pragma omp simd
        for (int64_t i = lo; i < hi; ++i) p_out[i] = sc.decayed(p_in[i]) - sc.grad(g_[i]) * sc.lr;
      } else {  // m = m * momentum - g * lr; p += m (nesterov: p += m * momentum - g * lr)
        const T* m_in = b.s_in[0];
        T* m_out = b.s_out[0];
        const bool nest = h.nesterov;
#pragma omp simd
        for (int64_t i = lo; i < hi; ++i) {
          const T g = sc.grad(g_[i]);
          const T m = m_in[i] * mom - g * sc.lr;
          m_out[i] = m;
          p_out[i] = sc.decayed(p_in[i]) + (nest ? m * mom - g * sc.lr : m);
        }
      }
      break;
    }
    case Algorithm::Adam: {
      // alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t); m += (g - m)(1 - beta_1);
      // v += (g^2 - v)(1 - beta_2); amsgrad: v_hat = max(v_hat, v), v = v_hat;
      // p -= m * alpha / (sqrt(v) + epsilon)
      const T b1p = std::pow(keras_cast<T>(h.beta_1), local_step), b2p = std::pow(keras_cast<T>(h.beta_2), local_step);
      const T alpha = sc.lr * std::sqrt(one - b2p) / (one - b1p);
      const T c1 = T(1.0 - h.beta_1), c2 = T(1.0 - h.beta_2), eps = T(h.epsilon);
      const T* m_in = b.s_in[0];
      const T* v_in = b.s_in[1];
      T* m_out = b.s_out[0];
      T* v_out = b.s_out[1];
      if (h.amsgrad) {
        const T* vh_in = b.s_in[2];
        T* vh_out = b.s_out[2];
#pragma omp simd
        for (int64_t i = lo; i < hi; ++i) {
          const T g = sc.grad(g_[i]);
          const T m = m_in[i] + (g - m_in[i]) * c1;
          const T v = v_in[i] + (g * g - v_in[i]) * c2;
          const T vh = std::max(vh_in[i], v);
          m_out[i] = m;
          v_out[i] = v;
          vh_out[i] = vh;
          p_out[i] = sc.decayed(p_in[i]) - (m * alpha) / (std::sqrt(vh) + eps);
        }
      } else {
#pragma omp simd
        for (int64_t i = lo; i < hi; ++i) {
          const T g = sc.grad(g_[i]);
          const T m = m_in[i] + (g - m_in[i]) * c1;
          const T v = v_in[i] + (g * g - v_in[i]) * c2;
          m_out[i] = m;
          v_out[i] = v;
          p_out[i] = sc.decayed(p_in[i]) - (m * alpha) / (std::sqrt(v) + eps);
        }
      }
      break;
    }
    case Algorithm::RMSprop: {
      // v = rho v + (1 - rho) g^2; centered: a = rho a + (1 - rho) g, denom = v - a^2 + eps,
      // else denom = v + eps; inc = lr g / sqrt(denom); momentum: mo = momentum mo + inc,
      // p -= mo; else p -= inc
      const T rho = T(h.rho), c = T(1.0 - h.rho), eps = T(h.epsilon), mom = T(h.momentum);
      const bool use_mom = h.momentum > 0, centered = h.centered;
      const int ia = use_mom ? 2 : 1;
      const T* v_in = b.s_in[0];
      T* v_out = b.s_out[0];
      const T* mo_in = use_mom ? b.s_in[1] : nullptr;
      T* mo_out = use_mom ? b.s_out[1] : nullptr;
      const T* a_in = centered ? b.s_in[ia] : nullptr;
      T* a_out = centered ? b.s_out[ia] : nullptr;
      for (int64_t i = lo; i < hi; ++i) {
        const T g = sc.grad(g_[i]);
        const T v = rho * v_in[i] + c * (g * g);
        v_out[i] = v;
        T denom;
        if (centered) {
          const T a = rho * a_in[i] + c * g;
          a_out[i] = a;
          denom = v - a * a + eps;
        } else {
          denom = v + eps;
        }
        const T inc = (sc.lr * g) / std::sqrt(denom);
        if (use_mom) {
          const T mo = mom * mo_in[i] + inc;
          mo_out[i] = mo;
          p_out[i] = sc.decayed(p_in[i]) - mo;
        } else {
          p_out[i] = sc.decayed(p_in[i]) - inc;
        }
      }
      break;
    }
    case Algorithm::Adagrad: {
      // acc += g^2; p -= lr g / sqrt(acc + eps)
      const T eps = T(h.epsilon);
      const T* a_in = b.s_in[0];
      T* a_out = b.s_out[0];
#pragma omp simd
      for (int64_t i = lo; i < hi; ++i) {
        const T g = sc.grad(g_[i]);
        const T a = a_in[i] + g * g;
        a_out[i] = a;
        p_out[i] = sc.decayed(p_in[i]) - (sc.lr * g) / std::sqrt(a + eps);
      }
      break;
    }
    case Algorithm::Adadelta: {
      // ag = rho ag + (1 - rho) g^2; d = -(sqrt(ad + eps) g) / sqrt(ag + eps);
      // ad = rho ad + (1 - rho) d^2; p += lr d
      const T rho = T(h.rho), c = T(1.0 - h.rho), eps = T(h.epsilon);
      const T* ag_in = b.s_in[0];
      const T* ad_in = b.s_in[1];
      T* ag_out = b.s_out[0];
      T* ad_out = b.s_out[1];
#pragma omp simd
      for (int64_t i = lo; i < hi; ++i) {
        const T g = sc.grad(g_[i]);
        const T ag = rho * ag_in[i] + c * (g * g);
        const T d = -((std::sqrt(ad_in[i] + eps) * g) / std::sqrt(ag + eps));
        ag_out[i] = ag;
        ad_out[i] = rho * ad_in[i] + c * (d * d);
        p_out[i] = sc.decayed(p_in[i]) + sc.lr * d;
      }
      break;
    }
    case Algorithm::Adamax: {
      // m += (g - m)(1 - beta_1); u = max(beta_2 u, |g|); p -= lr m / ((1 - beta_1^t)(u + eps))
      const T b1p = std::pow(keras_cast<T>(h.beta_1), local_step);
      const T c1 = T(1.0 - h.beta_1), b2 = T(h.beta_2), eps = T(h.epsilon);
      const T* m_in = b.s_in[0];
      const T* u_in = b.s_in[1];
      T* m_out = b.s_out[0];
      T* u_out = b.s_out[1];
#pragma omp simd
      for (int64_t i = lo; i < hi; ++i) {
        const T g = sc.grad(g_[i]);
        const T m = m_in[i] + (g - m_in[i]) * c1;
        const T u = std::max(b2 * u_in[i], std::fabs(g));
        m_out[i] = m;
        u_out[i] = u;
        p_out[i] = sc.decayed(p_in[i]) - (sc.lr * m) / ((one - b1p) * (u + eps));
      }
      break;
    }
    case Algorithm::Nadam: {
      // u_t = beta_1 (1 - 0.5 * 0.96^t), u_t1 = beta_1 (1 - 0.5 * 0.96^(t+1)),
      // P = u_product (through step t), P1 = P u_t1;
      // m += (g - m)(1 - beta_1); v += (g^2 - v)(1 - beta_2);
      // m_hat = u_t1 m / (1 - P1) + (1 - u_t) g / (1 - P); v_hat = v / (1 - beta_2^t);
      // p -= m_hat lr / (sqrt(v_hat) + eps)
      const T b1 = keras_cast<T>(h.beta_1), b2 = keras_cast<T>(h.beta_2), decay = keras_cast<T>(0.96), half = T(0.5);
      const T next_step = T(h.iterations + 2);
      const T u_t = b1 * (one - half * std::pow(decay, local_step));
      const T u_t1 = b1 * (one - half * std::pow(decay, next_step));
      const T P = T(h.u_product), P1 = P * u_t1;
      const T b2p = std::pow(b2, local_step), eps = T(h.epsilon);
      const T* m_in = b.s_in[0];
      const T* v_in = b.s_in[1];
      T* m_out = b.s_out[0];
      T* v_out = b.s_out[1];
#pragma omp simd
      for (int64_t i = lo; i < hi; ++i) {
        const T g = sc.grad(g_[i]);
        const T m = m_in[i] + (g - m_in[i]) * (one - b1);
        const T v = v_in[i] + (g * g - v_in[i]) * (one - b2);
        m_out[i] = m;
        v_out[i] = v;
        const T m_hat = (u_t1 * m) / (one - P1) + ((one - u_t) * g) / (one - P);
        const T v_hat = v / (one - b2p);
        p_out[i] = sc.decayed(p_in[i]) - (m_hat * sc.lr) / (std::sqrt(v_hat) + eps);
      }
      break;
    }
    case Algorithm::Lion: {
      // p -= lr sign(m beta_1 + g (1 - beta_1)); m = m beta_2 + g (1 - beta_2)
      const T b1 = keras_cast<T>(h.beta_1), b2 = keras_cast<T>(h.beta_2);
      const T* m_in = b.s_in[0];
      T* m_out = b.s_out[0];
#pragma omp simd
      for (int64_t i = lo; i < hi; ++i) {
        const T g = sc.grad(g_[i]);
        const T c = m_in[i] * b1 + g * (one - b1);
        const T sgn = c > 0 ? one : (c < 0 ? -one : (c == c ? T(0) : c));
        m_out[i] = m_in[i] * b2 + g * (one - b2);
        p_out[i] = sc.decayed(p_in[i]) - sc.lr * sgn;
      }
      break;
    }
  }
}

template <class T>
void run(Algorithm alg, const Hyper& h, const Buffers<T>& b, int64_t n) {
  // Memory-bound: split big parameters over the pool (the elements are independent).
  kernels::parallel_for(n, [&](int64_t lo, int64_t hi) { update_range<T>(alg, h, b, lo, hi); }, kernels::kMinParallel);
}

}  // namespace

int slot_count(Algorithm alg, const Hyper& h) {
  switch (alg) {
    case Algorithm::SGD: return h.momentum != 0 ? 1 : 0;
    case Algorithm::Adam: return h.amsgrad ? 3 : 2;
    case Algorithm::RMSprop: return 1 + (h.momentum > 0 ? 1 : 0) + (h.centered ? 1 : 0);
    case Algorithm::Adagrad: return 1;
    case Algorithm::Adadelta: return 2;
    case Algorithm::Adamax: return 2;
    case Algorithm::Nadam: return 2;
    case Algorithm::Lion: return 1;
  }
  return 0;
}

void apply(Algorithm alg, Variable& param, const Tensor& grad_in, const std::vector<Variable*>& slots, const Hyper& h) {
  const std::string what = std::string(algorithm_name(alg)) + " update of '" + param.name() + "'";
  if (!is_wide_float(param.dtype()))  // (float16/bfloat16 variables: not yet; docs/dtypes.md)
    throw InvalidArgument(what + ": the variable must be float32 or float64, got " + dtype_name(param.dtype()) +
                          " (optimizers do not update float16 or bfloat16 variables yet)");
  require_defined(grad_in, what.c_str());
  if (grad_in.shape() != param.shape())
    throw InvalidArgument(what + ": the gradient has shape " + grad_in.shape().str() + ", the variable " +
                          param.shape().str());
  if (int(slots.size()) != slot_count(alg, h))
    throw InvalidArgument(what + ": expected " + std::to_string(slot_count(alg, h)) + " slot variables, got " +
                          std::to_string(slots.size()));
  for (Variable* s : slots) {
    if (s == nullptr || s->dtype() != param.dtype() || s->shape() != param.shape())
      throw InvalidArgument(what + ": a slot variable does not match the variable's dtype and shape");
    if (s == &param) throw InvalidArgument(what + ": a slot variable is the variable itself");
  }
  Tensor grad = grad_in.dtype() == param.dtype() ? grad_in : cast(grad_in, param.dtype());
  grad.raw();  // computes a deferred gradient before any write
  // Every check is done: from here on nothing throws, so no variable is left half written.
  Variable::Write pw = param.begin_write();
  Variable::Write sw[3];
  for (size_t k = 0; k < slots.size(); ++k) sw[k] = slots[k]->begin_write();
  const int64_t n = param.value().numel();
  dispatch_float(param.dtype(), [&](auto tag) {
    using T = decltype(tag);
    Buffers<T> b{pw.old.data<T>(), pw.out.data<T>(), grad.data<T>()};
    for (size_t k = 0; k < slots.size(); ++k) {
      b.s_in[k] = sw[k].old.data<T>();
      b.s_out[k] = sw[k].out.data<T>();
    }
    run<T>(alg, h, b, n);
  });
}

}  // namespace gt::optim
