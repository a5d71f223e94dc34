// Variables: reads notify the tapes; assigns write in place or copy on write.
#include "gradtape/variable.h"

#include <atomic>
#include <cstring>

#include <algorithm>
#include <type_traits>

#include "fusion.h"
#include "kernels/elementwise.h"
#include "kernels/isa.h"
#include "kernels/parallel.h"
#include "ops_common.h"
#include "tape_internal.h"
#include "weak_registry.h"

namespace gt {

namespace {
std::atomic<uint64_t> g_next_variable_id{1};

// The variables made by Variable::make (weak_registry.h), registered once a shared_ptr owns
// each (so live() never reads a variable's weak_this while make_shared writes it). Never
// destroyed: a variable may outlive static destruction (a Python object freed at exit).
WeakRegistry<Variable>& live_variables() {
  static auto* r = new WeakRegistry<Variable>;
  return *r;
}

// out[i] = old[i] + d[i] or old[i] - d[i] (out may be old: an update in place), in the widest
// vectors the CPU has (kernels/isa.h).
template <class T>
GT_DISPATCHED void update_chunk(const T* old, const T* d, T* out, int64_t n, bool add) {
  if (add) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) out[i] = kernels::wrap_add(old[i], d[i]);
  } else {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) out[i] = kernels::wrap_sub(old[i], d[i]);
  }
}
}  // namespace

Variable::Variable(const Tensor& initial, bool trainable, std::string name)
    : value_(initial.defined() ? initial.clone() : Tensor()),  // a private copy: no links, no sharing
      trainable_(trainable),
      name_(std::move(name)),
      id_(g_next_variable_id.fetch_add(1)) {
  require_defined(initial, "Variable");
}

std::shared_ptr<Variable> Variable::make(const Tensor& initial, bool trainable, std::string name) {
  auto v = std::make_shared<Variable>(initial, trainable, std::move(name));
  live_variables().add(v);
  return v;
}

std::vector<std::shared_ptr<Variable>> Variable::live() { return live_variables().live(); }

Tensor Variable::read() {
  detail::notify_variable_read(*this);
  return value_;
}

void Variable::assign(const Tensor& v) { update(v, Mode::Set, "assign"); }
void Variable::assign_add(const Tensor& v) { update(v, Mode::Add, "assign_add"); }
void Variable::assign_sub(const Tensor& v) { update(v, Mode::Sub, "assign_sub"); }

Variable::Write Variable::begin_write() {
  value_.raw();  // a deferred value is computed first
  const bool exclusive = value_.impl().use_count() == 1 && value_.impl()->storage->use_count() == 1;
  Write w;
  w.old = value_;
  if (!exclusive) value_ = Tensor::empty(value_.dtype(), value_.shape());
  w.out = value_;
  return w;
}

void Variable::update(const Tensor& v, Mode mode, const char* what) {
  require_defined(v, what);
  if (v.dtype() != value_.dtype())
    throw InvalidArgument(std::string(what) + ": dtype mismatch: variable '" + name_ + "' is " + dt(value_) +
                          ", value is " + dt(v));
  if (v.shape() != value_.shape())
    throw InvalidArgument(std::string(what) + ": shape mismatch: variable '" + name_ + "' has shape " +
                          value_.shape().str() + ", value has shape " + v.shape().str());
  if (mode != Mode::Set) require_numeric(v, what);
  // In place only when nothing else can see the current value: no recorded op saved it, no
  // tensor or NumPy view shares its buffer. Otherwise write a new buffer (copy on write).
  value_.raw();  // a deferred value is computed first (it has no storage until then)
  const bool exclusive = value_.impl().use_count() == 1 && value_.impl()->storage->use_count() == 1;
  Tensor target = exclusive ? value_ : Tensor::empty(value_.dtype(), value_.shape());
  const int64_t n = value_.numel();
  if (mode == Mode::Set) {
    if (n) std::memmove(target.raw(), v.raw(), v.nbytes());
  } else if (is_half(value_.dtype())) {
    // float16 / bfloat16: in float32, rounded on store (gradtape/call_op.h)
    Tensor a = cast(value_, DType::Float32), b = cast(v, DType::Float32);
    float* pa = a.data<float>();
    const float* pb = b.data<float>();
    for (int64_t i = 0; i < n; ++i) pa[i] = mode == Mode::Add ? pa[i] + pb[i] : pa[i] - pb[i];
    Tensor r = cast(a, value_.dtype());
    if (n) std::memcpy(target.raw(), r.raw(), r.nbytes());
  } else {
    // A deferred float value (an SGD step's g * lr: fusion.h) is computed chunk by chunk inside
    // the update's pass and never stored: one pass over the variable and the leaves instead of
    // two, the values the same. Big updates run on the pool.
    const std::shared_ptr<const fusion::Pending> vp =
        is_wide_float(v.dtype()) && fusion::is_deferred(v) ? fusion::claim(v) : nullptr;
    dispatch_numeric(value_.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* old = value_.data<T>();
      T* out = target.data<T>();
      const bool add = mode == Mode::Add;
      auto combine = [&](const T* d, int64_t b, int64_t e) { update_chunk<T>(old + b, d, out + b, e - b, add); };
      if constexpr (std::is_floating_point_v<T>) {
        if (vp) {
          kernels::parallel_for(n, [&](int64_t begin, int64_t end) {
            alignas(64) T chunk[fusion::kChunkBytes / sizeof(T)];
            constexpr int64_t kLen = fusion::kChunkBytes / int64_t(sizeof(T));
            for (int64_t b = begin; b < end; b += kLen) {
              const int64_t e = std::min(end, b + kLen);
              fusion::eval(*vp, b, e, chunk);
              combine(chunk, b, e);
            }
          });
          return;
        }
      }
      const T* d = v.data<T>();
      kernels::parallel_for(n, [&](int64_t begin, int64_t end) { combine(d + begin, begin, end); });
    });
  }
  if (!exclusive) value_ = target;
}

}  // namespace gt
