// The step functions of gradtape/steps.h.
#include "gradtape/steps.h"

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <unordered_map>

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

void optimizer_step_scaled(optim::Algorithm alg, const std::shared_ptr<Variable>& param, const Tensor& grad,
                           const std::vector<std::shared_ptr<Variable>>& slots, optim::Hyper h,
                           const Tensor& learning_rate, const std::shared_ptr<Variable>& iterations,
                           const Tensor& grad_mul, const Tensor& grad_div, const Tensor& u_product) {
  for (const Tensor* t : {&grad_mul, &grad_div, &u_product})
    if (t->numel() != 1)
      throw InvalidArgument("optimizer_step/scaled: a factor must be a scalar, got shape " + t->shape().str());
  h.grad_mul = grad_mul.item();
  h.grad_div = grad_div.item();
  h.u_product = u_product.item();
  optimizer_step(alg, param, grad, slots, h, learning_rate, iterations);
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

namespace {
// Python's slice.indices(n): b and e clamped into the dimension, and the slice's length.
int64_t adjust_slice(int64_t n, int64_t& b, int64_t& e, int64_t s) {
  auto clamp = [&](int64_t& v) {
    if (v < 0) {
      v += n;
      if (v < 0) v = s < 0 ? -1 : 0;
    } else if (v >= n) {
      v = s < 0 ? n - 1 : n;
    }
  };
  clamp(b);
  clamp(e);
  if (s < 0) return e < b ? (b - e - 1) / (-s) + 1 : 0;
  return b < e ? (e - b - 1) / s + 1 : 0;
}
}  // namespace

Tensor getitem(const Tensor& x, const std::vector<int64_t>& kinds, const std::vector<int64_t>& begin,
               const std::vector<int64_t>& end, const std::vector<int64_t>& step) {
  const size_t parts = kinds.size();
  if (begin.size() != parts || end.size() != parts || step.size() != parts)
    throw InvalidArgument("getitem: one begin, end and step per part of the key");
  const int rank = x.ndim();
  std::vector<int64_t> b, e, st, out_shape;
  int dim = 0;
  for (size_t k = 0; k < parts; ++k) {
    const int64_t kind = kinds[k];
    if (kind == kNewAxis || kind == kFalseAxis) {
      out_shape.push_back(1);
      continue;
    }
    if (kind != kIndex && kind != kSlice) throw InvalidArgument("getitem: unknown kind of key part");
    if (dim >= rank)
      throw InvalidArgument("too many indices for a tensor of shape " + x.shape().str());
    const int64_t size = x.shape()[dim];
    if (kind == kIndex) {
      int64_t i = begin[k];
      if (i < -size || i >= size)
        throw InvalidArgument("index " + std::to_string(i) + " is out of bounds for axis " + std::to_string(dim) +
                              " with size " + std::to_string(size));
      if (i < 0) i += size;
      b.push_back(i);
      e.push_back(i + 1);
      st.push_back(1);
    } else {
      if (step[k] == 0) throw InvalidArgument("slice step cannot be zero");
      int64_t lo = begin[k], hi = end[k];
      out_shape.push_back(adjust_slice(size, lo, hi, step[k]));
      b.push_back(lo);
      e.push_back(hi);
      st.push_back(step[k]);
    }
    ++dim;
  }
  for (; dim < rank; ++dim) {  // (the dimensions after the key's: whole)
    b.push_back(0);
    e.push_back(x.shape()[dim]);
    st.push_back(1);
    out_shape.push_back(x.shape()[dim]);
  }
  Tensor r = strided_slice(x, b, e, st);
  if (Shape(out_shape) != r.shape()) r = reshape(r, out_shape);
  bool any_false = false;
  for (int64_t kind : kinds) any_false = any_false || kind == kFalseAxis;
  if (any_false) {
    // x[False]: the new axis has length 0 (its length-1 axis sliced to nothing)
    std::vector<int64_t> fb(out_shape.size(), 0), fe(out_shape), fs(out_shape.size(), 1);
    size_t axis = 0;
    for (int64_t kind : kinds) {
      if (kind == kFalseAxis) fe[axis] = 0;
      if (kind != kIndex) ++axis;  // (an index removes its axis)
    }
    r = strided_slice(r, fb, fe, fs);
  }
  return r;
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

namespace {
struct UniqueParts {
  std::vector<int64_t> first, index, count;
};

template <class K>
void unique_keys(const K* v, int64_t n, UniqueParts& p, bool floating) {
  std::unordered_map<K, int64_t> seen;
  for (int64_t i = 0; i < n; ++i) {
    K k = v[i];
    int64_t at;
    if (floating && k != k) {  // (NaN: a value of its own)
      at = int64_t(p.first.size());
      p.first.push_back(i);
      p.count.push_back(0);
    } else {
      if (floating && k == K(0)) k = K(0);  // (-0.0 is 0.0)
      auto [it, fresh] = seen.emplace(k, int64_t(p.first.size()));
      if (fresh) {
        p.first.push_back(i);
        p.count.push_back(0);
      }
      at = it->second;
    }
    p.index[size_t(i)] = at;
    ++p.count[size_t(at)];
  }
}

UniqueParts unique_parts(const Tensor& x) {
  if (x.ndim() != 1) throw InvalidArgument("unique expects a 1D vector, got shape " + x.shape().str());
  UniqueParts p;
  p.index.resize(size_t(x.numel()));
  if (is_floating(x.dtype())) {
    const Tensor d = cast(x, DType::Float64);  // (exact for every floating dtype)
    unique_keys(d.data<double>(), d.numel(), p, true);
  } else if (x.dtype() == DType::UInt64) {
    unique_keys(x.data<uint64_t>(), x.numel(), p, false);
  } else {
    const Tensor d = cast(x, DType::Int64);  // (exact for the other integer dtypes and bool)
    unique_keys(d.data<int64_t>(), d.numel(), p, false);
  }
  return p;
}

Tensor int64_vector(const std::vector<int64_t>& v) {
  return from_data(v.data(), DType::Int64, Shape{int64_t(v.size())});
}
}  // namespace

Tensor unique_first(const Tensor& x) { return int64_vector(unique_parts(x).first); }
Tensor unique_index(const Tensor& x) { return int64_vector(unique_parts(x).index); }
Tensor unique_count(const Tensor& x) { return int64_vector(unique_parts(x).count); }

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

Tensor reshape_to(const Tensor& x, const Tensor& shape) {
  if (shape.ndim() > 1 || (shape.dtype() != DType::Int32 && shape.dtype() != DType::Int64))
    throw InvalidArgument("reshape: shape must be a vector of int32 or int64, got a tensor of shape " +
                          shape.shape().str() + " and dtype " + dtype_name(shape.dtype()));
  std::vector<int64_t> dims(size_t(shape.numel()));
  for (size_t i = 0; i < dims.size(); ++i)
    dims[i] = shape.dtype() == DType::Int32 ? int64_t(static_cast<const int32_t*>(shape.raw())[i])
                                            : static_cast<const int64_t*>(shape.raw())[i];
  return reshape(x, dims);
}

namespace {
// gradtape/random.py's _key_of(seed[0], seed[1], tail...): each number, sign-extended to 64 bits,
// mixed into the key in turn.
uint64_t seed_key(const Tensor& seed, std::initializer_list<int64_t> tail) {
  if (seed.ndim() != 1 || seed.shape()[0] != 2 || (seed.dtype() != DType::Int32 && seed.dtype() != DType::Int64))
    throw InvalidArgument("random: a stateless op's seed must be an int32 or int64 tensor of shape [2], got " +
                          std::string(dtype_name(seed.dtype())) + " of shape " + seed.shape().str());
  uint64_t key = 0x2545F4914F6CDD1Dull;
  for (int i = 0; i < 2; ++i) {
    const int64_t v = seed.dtype() == DType::Int32 ? int64_t(static_cast<const int32_t*>(seed.raw())[i])
                                                   : static_cast<const int64_t*>(seed.raw())[i];
    key = random::mix64(key ^ uint64_t(v));
  }
  for (int64_t v : tail) key = random::mix64(key ^ uint64_t(v));
  return key;
}
}  // namespace

random::PhiloxState stateless_state(const Tensor& seed) { return random::PhiloxState{seed_key(seed, {0x5EED}), 0, 0}; }

Tensor fold_in(const Tensor& seed, const Tensor& data) {
  if (data.numel() != 1 || !(data.dtype() == DType::Int32 || data.dtype() == DType::Int64))
    throw InvalidArgument("random.fold_in: data must be an int32 or int64 scalar, got " +
                          std::string(dtype_name(data.dtype())) + " of shape " + data.shape().str());
  const int64_t d = data.dtype() == DType::Int32 ? int64_t(*static_cast<const int32_t*>(data.raw()))
                                                 : *static_cast<const int64_t*>(data.raw());
  random::PhiloxState s{seed_key(seed, {d, 0xF01D}), 0, 0};
  return random::uniform_full_int(s, Shape{2}, DType::Int64);
}

Tensor truediv(const Tensor& a, const Tensor& b) { return divide(a, b); }
Tensor matmul2(const Tensor& a, const Tensor& b) { return matmul(a, b); }

}  // namespace gt::steps
