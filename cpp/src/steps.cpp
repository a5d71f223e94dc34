// The step functions of gradtape/steps.h.
#include "gradtape/steps.h"

#include <cstdint>
#include <cstring>

#include "gradtape/errors.h"

namespace gt::steps {

void assign_variable(const std::shared_ptr<Variable>& v, const Tensor& t) { v->assign(t); }
void assign_add_variable(const std::shared_ptr<Variable>& v, const Tensor& t) { v->assign_add(t); }
void assign_sub_variable(const std::shared_ptr<Variable>& v, const Tensor& t) { v->assign_sub(t); }

void optimizer_step(optim::Algorithm alg, const std::shared_ptr<Variable>& param, const Tensor& grad,
                    const std::vector<std::shared_ptr<Variable>>& slots, optim::Hyper h, const Tensor& learning_rate,
                    const std::shared_ptr<Variable>& iterations) {
  h.learning_rate = learning_rate.item();
  h.iterations = int64_t(iterations->value().item());
  std::vector<Variable*> s;
  for (const auto& v : slots) s.push_back(v.get());
  optim::apply(alg, *param, grad, s, h);
}

random::PhiloxState generator_state(const Variable& state) {
  const Tensor& v = state.value();
  if (v.dtype() != DType::Int64 || v.shape() != Shape({3}))
    throw InvalidArgument("random: a generator's state is a shape-[3] int64 variable, got " +
                          std::string(dtype_name(v.dtype())) + " of shape " + v.shape().str());
  const int64_t* p = v.data<int64_t>();
  return random::PhiloxState{uint64_t(p[2]), uint64_t(p[0]), uint64_t(p[1])};
}

std::mutex& generator_lock(const Variable& state) {
  static std::mutex locks[64];  // (striped by the variable's address: generators rarely share one)
  return locks[(reinterpret_cast<uintptr_t>(&state) >> 6) % 64];
}

void set_generator_state(Variable& state, const random::PhiloxState& s) {
  Tensor t = Tensor::empty(DType::Int64, Shape({3}));
  int64_t* p = t.data<int64_t>();
  p[0] = int64_t(s.counter_lo);
  p[1] = int64_t(s.counter_hi);
  p[2] = int64_t(s.key);
  state.assign(t);
}

Tensor where_coords(const Tensor& cond) {
  Tensor c = cond.dtype() == DType::Bool ? cond : not_equal(cond, zeros_like(cond));
  std::vector<int64_t> coords;
  int64_t st[kMaxRank];
  contiguous_strides(c.shape(), st);
  int64_t n = 0;
  for (int64_t i = 0; i < c.numel(); ++i)
    if (c.data<bool>()[i]) {
      int64_t rem = i;
      for (int d = 0; d < c.ndim(); ++d) {
        coords.push_back(rem / st[d]);
        rem %= st[d];
      }
      ++n;
    }
  return from_data(coords.data(), DType::Int64, Shape{n, int64_t(c.ndim())});
}

Tensor reduce_any_bool(const Tensor& t, const Axes& axes, bool keepdims) {
  return greater(reduce_max(cast(t, DType::Int32), axes, keepdims), scalar(0, DType::Int32));
}
Tensor reduce_all_bool(const Tensor& t, const Axes& axes, bool keepdims) {
  return greater(reduce_min(cast(t, DType::Int32), axes, keepdims), scalar(0, DType::Int32));
}
Tensor zeros_like_as(const Tensor& t, DType d) { return zeros(t.shape(), d); }
Tensor ones_like_as(const Tensor& t, DType d) { return ones(t.shape(), d); }

Tensor fill_with(const Shape& s, const Tensor& v) {
  if (v.numel() != 1) throw InvalidArgument("fill: value must be a scalar, got shape " + v.shape().str());
  // the value's bytes, copied (exact for every dtype: int64, uint64, float16 ...)
  Tensor out = Tensor::empty(v.dtype(), s);
  const size_t es = dtype_size(v.dtype());
  auto* dst = static_cast<unsigned char*>(out.raw());
  for (int64_t i = 0; i < out.numel(); ++i) std::memcpy(dst + size_t(i) * es, v.raw(), es);
  return out;
}

Tensor truediv(const Tensor& a, const Tensor& b) { return divide(a, b); }
Tensor matmul2(const Tensor& a, const Tensor& b) { return matmul(a, b); }

}  // namespace gt::steps
