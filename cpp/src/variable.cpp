// Variables: reads notify the tapes; assigns write in place or copy on write.
#include "gradtape/variable.h"

#include <atomic>
#include <cstring>
#include <map>
#include <mutex>

#include "kernels/elementwise.h"
#include "ops_common.h"
#include "tape_internal.h"

namespace gt {

namespace {
std::atomic<uint64_t> g_next_variable_id{1};

// The live variables by id (so in the order made). Never destroyed: a variable may outlive
// static destruction (a Python object freed at exit).
struct LiveVariables {
  std::mutex mutex;
  std::map<uint64_t, Variable*> by_id;
};
LiveVariables& live_variables() {
  static LiveVariables* r = new LiveVariables;
  return *r;
}
}  // namespace

Variable::Variable(const Tensor& initial, bool trainable, std::string name)
    : value_(initial.defined() ? initial.clone() : Tensor()),  // a private copy: no links, no sharing
      trainable_(trainable),
      name_(std::move(name)),
      id_(g_next_variable_id.fetch_add(1)) {
  require_defined(initial, "Variable");
  LiveVariables& r = live_variables();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.by_id.emplace(id_, this);
}

Variable::~Variable() {
  LiveVariables& r = live_variables();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.by_id.erase(id_);
}

std::vector<std::shared_ptr<Variable>> Variable::live() {
  LiveVariables& r = live_variables();
  std::lock_guard<std::mutex> lock(r.mutex);
  std::vector<std::shared_ptr<Variable>> out;
  out.reserve(r.by_id.size());
  // (a variable whose last owner is going away is still listed until its destructor runs: its
  // weak_from_this no longer locks, and it is left out)
  for (auto& [id, v] : r.by_id)
    if (std::shared_ptr<Variable> p = v->weak_from_this().lock()) out.push_back(std::move(p));
  return out;
}

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
    dispatch_numeric(value_.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* old = value_.data<T>();
      const T* d = v.data<T>();
      T* out = target.data<T>();
      if (mode == Mode::Add) {
        for (int64_t i = 0; i < n; ++i) out[i] = kernels::wrap_add(old[i], d[i]);
      } else {
        for (int64_t i = 0; i < n; ++i) out[i] = kernels::wrap_sub(old[i], d[i]);
      }
    });
  }
  if (!exclusive) value_ = target;
}

}  // namespace gt
