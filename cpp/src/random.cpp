// Random draws from Philox4x32-10 streams (gradtape/random.h explains the layout: which block
// feeds which element, and why that makes the values independent of the thread count).
#include "gradtape/random.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <limits>
#include <numeric>
#include <type_traits>
#include <vector>

#include "kernels/isa.h"
#include "kernels/parallel.h"
#include "kernels/vecmath.h"
#include "ops_common.h"
#include "weak_registry.h"

namespace gt::random {

namespace {

// The streams made by make_stream (weak_registry.h). Never destroyed, as a stream may outlive
// static destruction.
WeakRegistry<PhiloxState>& registry() {
  static auto* r = new WeakRegistry<PhiloxState>;
  return *r;
}

// A stream and the state it was made with (the first member: a stream's address is its
// Stream's, which streams_made_since reads).
struct Stream {
  PhiloxState state;
  const PhiloxState initial;
};
static_assert(std::is_standard_layout_v<Stream> && offsetof(Stream, state) == 0);

}  // namespace

std::shared_ptr<PhiloxState> make_stream(const PhiloxState& state) {
  auto made = std::make_shared<Stream>(Stream{state, state});
  std::shared_ptr<PhiloxState> s(made, &made->state);  // (sharing the Stream's ownership)
  registry().add(s);
  return s;
}

std::vector<std::shared_ptr<PhiloxState>> live_streams() { return registry().live(); }

uint64_t streams_made() { return registry().added(); }

std::vector<std::pair<std::shared_ptr<PhiloxState>, PhiloxState>> streams_made_since(uint64_t mark) {
  std::vector<std::pair<std::shared_ptr<PhiloxState>, PhiloxState>> out;
  for (std::shared_ptr<PhiloxState>& s : registry().live_since(mark)) {
    const PhiloxState initial = reinterpret_cast<const Stream*>(s.get())->initial;
    out.emplace_back(std::move(s), initial);
  }
  return out;
}

namespace {

// Philox4x32 constants: the round multipliers and the key schedule's Weyl increments.
constexpr uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;
constexpr uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;

// One Philox round on (c0, c1, c2, c3) with key (k0, k1):
//   (hi0, lo0) = M0 * c0, (hi1, lo1) = M1 * c2,
//   c' = (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0).
#define GT_PHILOX_ROUND(c0, c1, c2, c3, k0, k1)          \
  do {                                                   \
    const uint64_t p0_ = uint64_t(kM0) * (c0);           \
    const uint64_t p1_ = uint64_t(kM1) * (c2);           \
    const uint32_t n0_ = uint32_t(p1_ >> 32) ^ (c1) ^ (k0); \
    const uint32_t n2_ = uint32_t(p0_ >> 32) ^ (c3) ^ (k1); \
    (c1) = uint32_t(p1_);                                \
    (c3) = uint32_t(p0_);                                \
    (c0) = n0_;                                          \
    (c2) = n2_;                                          \
  } while (0)

// Ten rounds; the key is bumped between rounds.
#define GT_PHILOX_10(c0, c1, c2, c3, k0_in, k1_in)  \
  do {                                              \
    uint32_t kk0_ = (k0_in), kk1_ = (k1_in);          \
    for (int r_ = 0; r_ < 10; ++r_) {               \
      GT_PHILOX_ROUND(c0, c1, c2, c3, kk0_, kk1_);  \
      kk0_ += kW0;                                  \
      kk1_ += kW1;                                  \
    }                                               \
  } while (0)

// Blocks [first, first + nb) of stream s (attempt 0), as four word planes:
// w[r * nb + j] is word r of block first + j. nb <= 128.
GT_DISPATCHED void fill_blocks(const PhiloxState& s, uint64_t first, int nb, uint32_t* w) {
  const uint32_t k0 = uint32_t(s.key), k1 = uint32_t(s.key >> 32);
  const uint64_t base = s.counter_lo + first;
  const uint32_t hi = uint32_t(s.counter_hi) + (base < s.counter_lo ? 1u : 0u);
#pragma omp simd
  for (int j = 0; j < nb; ++j) {
    const uint64_t lo = base + uint64_t(j);
    uint32_t c0 = uint32_t(lo), c1 = uint32_t(lo >> 32);
    uint32_t c2 = hi + (lo < base ? 1u : 0u), c3 = 0;
    GT_PHILOX_10(c0, c1, c2, c3, k0, k1);
    w[j] = c0;
    w[nb + j] = c1;
    w[2 * nb + j] = c2;
    w[3 * nb + j] = c3;
  }
}

// Uniforms from words: [0, 1) and (0, 1], with 24 (float) or 53 (double) random bits.
inline float u01f(uint32_t x) { return float(x >> 8) * 0x1p-24f; }
inline float u01f_open(uint32_t x) { return float((x >> 8) + 1) * 0x1p-24f; }
inline double u01d(uint32_t a, uint32_t b) { return double(((uint64_t(a) << 32) | b) >> 11) * 0x1p-53; }
inline double u01d_open(uint32_t a, uint32_t b) { return double((((uint64_t(a) << 32) | b) >> 11) + 1) * 0x1p-53; }

constexpr double kTwoPi = 6.283185307179586476925286766559;

// A stream of words for one element of a rejection sampler: block `block` of s, then the same
// block with attempt 1, 2, ... in the counter's top word.
class ElementStream {
 public:
  ElementStream(const PhiloxState& s, uint64_t block)
      : k0_(uint32_t(s.key)), k1_(uint32_t(s.key >> 32)) {
    const uint64_t lo = s.counter_lo + block;
    c0_ = uint32_t(lo);
    c1_ = uint32_t(lo >> 32);
    c2_ = uint32_t(s.counter_hi) + (lo < s.counter_lo ? 1u : 0u);
  }
  uint32_t next() {
    if (pos_ == 4) refill();
    return buf_[pos_++];
  }
  uint64_t next64() {
    const uint64_t a = next();
    return (a << 32) | next();
  }
  double uniform() { const uint32_t a = next(); return u01d(a, next()); }        // [0, 1)
  double uniform_open() { const uint32_t a = next(); return u01d_open(a, next()); }  // (0, 1]
  double normal() {
    if (have_spare_) {
      have_spare_ = false;
      return spare_;
    }
    const double r = std::sqrt(-2.0 * std::log(uniform_open()));
    const double t = kTwoPi * uniform();
    spare_ = r * std::sin(t);
    have_spare_ = true;
    return r * std::cos(t);
  }

 private:
  void refill() {
    uint32_t c0 = c0_, c1 = c1_, c2 = c2_, c3 = attempt_++;
    GT_PHILOX_10(c0, c1, c2, c3, k0_, k1_);
    buf_[0] = c0;
    buf_[1] = c1;
    buf_[2] = c2;
    buf_[3] = c3;
    pos_ = 0;
  }
  uint32_t k0_, k1_, c0_, c1_, c2_;
  uint32_t attempt_ = 0;
  uint32_t buf_[4] = {};
  int pos_ = 4;
  bool have_spare_ = false;
  double spare_ = 0;
};


// Runs chunk(c, out, count) for every chunk of a draw of n elements of T, on the pool, and
// advances s past the blocks the draw reads. `chunk` always computes kChunk values; `out` is
// the output when the chunk is whole, a scratch buffer otherwise.
template <class T, class ChunkFn>
void run_chunked(PhiloxState& s, T* out, int64_t n, int wpe, ChunkFn chunk) {
  const int64_t nchunks = (n + kChunk - 1) / kChunk;
  const PhiloxState at = s;
  kernels::parallel_for(
      nchunks,
      [&](int64_t c_begin, int64_t c_end) {
        alignas(64) T scratch[kChunk];
        for (int64_t c = c_begin; c < c_end; ++c) {
          const int64_t start = c * kChunk;
          const int64_t count = std::min<int64_t>(kChunk, n - start);
          T* dst = count == kChunk ? out + start : scratch;
          chunk(at, uint64_t(c) * uint64_t(kChunk * wpe / 4), dst);
          if (dst == scratch) std::memcpy(out + start, scratch, size_t(count) * sizeof(T));
        }
      },
      std::max<int64_t>(1, kernels::kMinParallel / kChunk));
  s.counter_lo += uint64_t(nchunks) * uint64_t(kChunk * wpe / 4);
}

// Runs fn(stream, i) for each of n elements, each with its own ElementStream, on the pool;
// advances s by n blocks.
template <class Fn>
void run_per_element(PhiloxState& s, int64_t n, int64_t min_parallel, Fn fn) {
  const PhiloxState at = s;
  kernels::parallel_for(
      n,
      [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) {
          ElementStream st(at, uint64_t(i));
          fn(st, i);
        }
      },
      min_parallel);
  s.counter_lo += uint64_t(n);
}

// ---- chunk kernels: each computes kChunk values from the chunk's blocks (GT_DISPATCHED:
// compiled for AVX-512, AVX2 and the baseline, kernels/isa.h) ----

GT_DISPATCHED void uniform_chunk_f32(const PhiloxState& s, uint64_t first, float* out, float lo, float range) {
  alignas(64) uint32_t w[kChunk];
  fill_blocks(s, first, kChunk / 4, w);
#pragma omp simd
  for (int k = 0; k < kChunk; ++k) out[k] = lo + range * u01f(w[k]);
}

GT_DISPATCHED void uniform_chunk_f64(const PhiloxState& s, uint64_t first, double* out, double lo, double range) {
  alignas(64) uint32_t w[2 * kChunk];
  fill_blocks(s, first, kChunk / 2, w);
#pragma omp simd
  for (int k = 0; k < kChunk; ++k) out[k] = lo + range * u01d(w[k], w[kChunk + k]);
}

// Box-Muller on the chunk: pair k (k < kChunk/2) gives elements k (cosine) and k + kChunk/2
// (sine). Three loops, not one: in one loop the compiler fuses sin and cos into sincos, which
// has no vector version, and the loop stays scalar.
GT_DISPATCHED void normal_chunk_f32(const PhiloxState& s, uint64_t first, float* out, float mean, float stddev) {
  alignas(64) uint32_t w[kChunk];
  fill_blocks(s, first, kChunk / 4, w);
  constexpr int h = kChunk / 2;
  alignas(64) float r[h], t[h];
#pragma omp simd
  for (int k = 0; k < h; ++k) {
    r[k] = stddev * std::sqrt(-2.0f * ::logf(u01f_open(w[k])));
    t[k] = float(kTwoPi) * u01f(w[h + k]);
  }
#pragma omp simd
  for (int k = 0; k < h; ++k) out[k] = mean + r[k] * ::cosf(t[k]);
#pragma omp simd
  for (int k = 0; k < h; ++k) out[h + k] = mean + r[k] * ::sinf(t[k]);
}

GT_DISPATCHED void normal_chunk_f64(const PhiloxState& s, uint64_t first, double* out, double mean, double stddev) {
  alignas(64) uint32_t w[2 * kChunk];
  fill_blocks(s, first, kChunk / 2, w);
  constexpr int h = kChunk / 2;
  alignas(64) double r[h], t[h];
#pragma omp simd
  for (int k = 0; k < h; ++k) {
    r[k] = stddev * std::sqrt(-2.0 * ::log(u01d_open(w[k], w[kChunk + k])));
    t[k] = kTwoPi * u01d(w[h + k], w[kChunk + h + k]);
  }
#pragma omp simd
  for (int k = 0; k < h; ++k) out[k] = mean + r[k] * ::cos(t[k]);
#pragma omp simd
  for (int k = 0; k < h; ++k) out[h + k] = mean + r[k] * ::sin(t[k]);
}

void require_float_dtype(DType d, const char* op) {
  if (!is_floating(d)) throw InvalidArgument(std::string(op) + ": dtype must be float32 or float64, got " + dtype_name(d));
}

}  // namespace

std::array<uint32_t, 4> philox4x32_10(std::array<uint32_t, 4> c, std::array<uint32_t, 2> key) {
  GT_PHILOX_10(c[0], c[1], c[2], c[3], key[0], key[1]);
  return c;
}

uint64_t mix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

Tensor uniform(PhiloxState& s, const Shape& shape, DType dtype, double minval, double maxval) {
  require_float_dtype(dtype, "random.uniform");
  if (is_half(dtype)) return cast(uniform(s, shape, DType::Float32, minval, maxval), dtype);  // drawn in float32, rounded
  Tensor out = Tensor::empty(dtype, shape);
  const int64_t n = out.numel();
  if (dtype == DType::Float32) {
    const float lo = float(minval), range = float(maxval) - float(minval);
    run_chunked(s, out.data<float>(), n, 1,
                [&](const PhiloxState& at, uint64_t first, float* dst) { uniform_chunk_f32(at, first, dst, lo, range); });
  } else {
    run_chunked(s, out.data<double>(), n, 2, [&](const PhiloxState& at, uint64_t first, double* dst) {
      uniform_chunk_f64(at, first, dst, minval, maxval - minval);
    });
  }
  return out;
}

Tensor uniform_int(PhiloxState& s, const Shape& shape, DType dtype, int64_t minval, int64_t maxval) {
  if (dtype != DType::Int32 && dtype != DType::Int64)
    throw InvalidArgument(std::string("random.uniform: an integer draw's dtype must be int32 or int64, got ") + dtype_name(dtype));
  if (!(minval < maxval))
    throw InvalidArgument("random.uniform: Need minval < maxval: " + std::to_string(minval) +
                          " >= " + std::to_string(maxval));
  const uint64_t range = uint64_t(maxval) - uint64_t(minval);
  Tensor out = Tensor::empty(dtype, shape);
  const int64_t n = out.numel();
  if (dtype == DType::Int32) {
    if (minval < INT32_MIN || maxval > int64_t(INT32_MAX) + 1)
      throw InvalidArgument("random.uniform: minval and maxval must fit int32 for an int32 draw");
    run_chunked(s, out.data<int32_t>(), n, 1, [&](const PhiloxState& at, uint64_t first, int32_t* dst) {
      alignas(64) uint32_t w[kChunk];
      fill_blocks(at, first, kChunk / 4, w);
      for (int k = 0; k < kChunk; ++k) dst[k] = int32_t(minval + int64_t((uint64_t(w[k]) * range) >> 32));
    });
  } else {
    run_chunked(s, out.data<int64_t>(), n, 2, [&](const PhiloxState& at, uint64_t first, int64_t* dst) {
      alignas(64) uint32_t w[2 * kChunk];
      fill_blocks(at, first, kChunk / 2, w);
      for (int k = 0; k < kChunk; ++k) {
        const uint64_t x = (uint64_t(w[k]) << 32) | w[kChunk + k];
        const uint64_t off = uint64_t((static_cast<unsigned __int128>(x) * range) >> 64);
        dst[k] = int64_t(uint64_t(minval) + off);
      }
    });
  }
  return out;
}

Tensor uniform_full_int(PhiloxState& s, const Shape& shape, DType dtype) {
  if (dtype != DType::Int32 && dtype != DType::Int64)
    throw InvalidArgument(std::string("random.uniform_full_int: dtype must be int32 or int64, got ") + dtype_name(dtype));
  Tensor out = Tensor::empty(dtype, shape);
  const int64_t n = out.numel();
  if (dtype == DType::Int32) {
    run_chunked(s, out.data<int32_t>(), n, 1, [&](const PhiloxState& at, uint64_t first, int32_t* dst) {
      alignas(64) uint32_t w[kChunk];
      fill_blocks(at, first, kChunk / 4, w);
      for (int k = 0; k < kChunk; ++k) dst[k] = int32_t(w[k]);
    });
  } else {
    run_chunked(s, out.data<int64_t>(), n, 2, [&](const PhiloxState& at, uint64_t first, int64_t* dst) {
      alignas(64) uint32_t w[2 * kChunk];
      fill_blocks(at, first, kChunk / 2, w);
      for (int k = 0; k < kChunk; ++k) dst[k] = int64_t((uint64_t(w[k]) << 32) | w[kChunk + k]);
    });
  }
  return out;
}

Tensor normal(PhiloxState& s, const Shape& shape, DType dtype, double mean, double stddev) {
  require_float_dtype(dtype, "random.normal");
  if (is_half(dtype)) return cast(normal(s, shape, DType::Float32, mean, stddev), dtype);  // drawn in float32, rounded
  Tensor out = Tensor::empty(dtype, shape);
  const int64_t n = out.numel();
  if (dtype == DType::Float32) {
    const float m = float(mean), sd = float(stddev);
    run_chunked(s, out.data<float>(), n, 1,
                [&](const PhiloxState& at, uint64_t first, float* dst) { normal_chunk_f32(at, first, dst, m, sd); });
  } else {
    run_chunked(s, out.data<double>(), n, 2, [&](const PhiloxState& at, uint64_t first, double* dst) {
      normal_chunk_f64(at, first, dst, mean, stddev);
    });
  }
  return out;
}

Tensor truncated_normal(PhiloxState& s, const Shape& shape, DType dtype, double mean, double stddev) {
  require_float_dtype(dtype, "random.truncated_normal");
  if (is_half(dtype)) return cast(truncated_normal(s, shape, DType::Float32, mean, stddev), dtype);  // drawn in float32, rounded
  Tensor out = Tensor::empty(dtype, shape);
  dispatch_float(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* o = out.data<T>();
    const T m = T(mean), sd = T(stddev);
    // Resample until |z| <= 2 (acceptance 95.4%), each element from its own stream.
    run_per_element(s, out.numel(), 1 << 14, [&](ElementStream& st, int64_t i) {
      double z;
      do z = st.normal();
      while (!(std::fabs(z) <= 2.0));
      o[i] = m + sd * T(z);
    });
  });
  return out;
}

Tensor shuffle(PhiloxState& s, const Tensor& value) {
  require_defined(value, "random.shuffle");
  if (value.ndim() == 0) return value.clone();
  const int64_t n = value.shape()[0];
  std::vector<int64_t> perm(static_cast<size_t>(n));
  std::iota(perm.begin(), perm.end(), int64_t(0));
  // Fisher-Yates: step i draws j uniform in [0, i] from block i.
  for (int64_t i = n - 1; i > 0; --i) {
    ElementStream st(s, uint64_t(i));
    const uint64_t x = st.next64();
    const int64_t j = int64_t((static_cast<unsigned __int128>(x) * uint64_t(i + 1)) >> 64);
    std::swap(perm[size_t(i)], perm[size_t(j)]);
  }
  s.counter_lo += uint64_t(n);
  Tensor out = Tensor::empty(value.dtype(), value.shape());
  const size_t row = n ? value.nbytes() / size_t(n) : 0;
  const char* src = static_cast<const char*>(value.raw());
  char* dst = static_cast<char*>(out.raw());
  for (int64_t i = 0; i < n; ++i) std::memcpy(dst + size_t(i) * row, src + size_t(perm[size_t(i)]) * row, row);
  return out;
}

Tensor categorical(PhiloxState& s, const Tensor& logits, int64_t num_samples, DType dtype) {
  require_float(logits, "random.categorical");
  if (logits.ndim() != 2)
    throw InvalidArgument("random.categorical: logits should be a matrix [batch_size, num_classes], got shape " +
                          logits.shape().str());
  if (num_samples < 0) throw InvalidArgument("random.categorical: num_samples should be nonnegative");
  if (dtype != DType::Int32 && dtype != DType::Int64) throw InvalidArgument("random.categorical: dtype must be int32 or int64");
  const int64_t batch = logits.shape()[0], classes = logits.shape()[1];
  if (classes == 0 && num_samples > 0 && batch > 0)
    throw InvalidArgument("random.categorical: num_classes should be positive");
  // Per row: the cumulative sums of exp(logit - max), in float64.
  std::vector<double> cum(size_t(batch * classes));
  dispatch_float(logits.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* l = logits.data<T>();
    for (int64_t b = 0; b < batch; ++b) {
      const T* row = l + b * classes;
      double mx = -std::numeric_limits<double>::infinity();
      for (int64_t c = 0; c < classes; ++c) mx = std::max(mx, double(row[c]));
      double acc = 0;
      for (int64_t c = 0; c < classes; ++c) {
        const double p = std::isfinite(mx) || double(row[c]) == mx ? std::exp(double(row[c]) - mx) : 0.0;
        acc += std::isnan(p) ? 0.0 : p;
        cum[size_t(b * classes + c)] = acc;
      }
    }
  });
  Tensor out = Tensor::empty(dtype, Shape({batch, num_samples}));
  const bool i32 = dtype == DType::Int32;
  void* o = out.raw();
  run_per_element(s, batch * num_samples, 1 << 14, [&](ElementStream& st, int64_t i) {
    const int64_t b = num_samples ? i / num_samples : 0;
    const double* row = cum.data() + b * classes;
    const double target = st.uniform() * row[classes - 1];
    int64_t k = std::upper_bound(row, row + classes, target) - row;
    if (k >= classes) k = classes - 1;
    if (i32) static_cast<int32_t*>(o)[i] = int32_t(k);
    else static_cast<int64_t*>(o)[i] = k;
  });
  return out;
}

namespace {
// One Gamma(a, 1) draw (Marsaglia and Tsang, 2000; for a < 1, Gamma(a + 1) * U^(1/a)).
double gamma_one(ElementStream& st, double a) {
  if (!(a > 0)) return std::numeric_limits<double>::quiet_NaN();
  double boost = 1.0;
  if (a < 1.0) {
    boost = std::pow(st.uniform_open(), 1.0 / a);
    a += 1.0;
  }
  const double d = a - 1.0 / 3.0, c = 1.0 / std::sqrt(9.0 * d);
  for (;;) {
    const double x = st.normal();
    double v = 1.0 + c * x;
    if (v <= 0) continue;
    v = v * v * v;
    const double u = st.uniform_open();
    if (u < 1.0 - 0.0331 * (x * x) * (x * x)) return d * v * boost;
    if (std::log(u) < 0.5 * x * x + d * (1.0 - v + std::log(v))) return d * v * boost;
  }
}

// One Poisson(lam) draw.
double poisson_one(ElementStream& st, double lam) {
  if (std::isnan(lam) || lam < 0) return std::numeric_limits<double>::quiet_NaN();
  if (lam == 0) return 0;
  if (lam < 10) {  // multiply uniforms until the product drops below exp(-lam)
    const double limit = std::exp(-lam);
    double p = 1.0;
    int64_t k = 0;
    for (;;) {
      p *= st.uniform();
      if (p <= limit) return double(k);
      ++k;
    }
  }
  // PTRS: W. Hormann, "The transformed rejection method for generating Poisson random
  // variables", Insurance: Mathematics and Economics 12 (1993).
  const double slam = std::sqrt(lam), loglam = std::log(lam);
  const double b = 0.931 + 2.53 * slam;
  const double a = -0.059 + 0.02483 * b;
  const double inv_alpha = 1.1239 + 1.1328 / (b - 3.4);
  const double v_r = 0.9277 - 3.6224 / (b - 2);
  for (;;) {
    const double u = st.uniform() - 0.5;
    const double v = st.uniform_open();
    const double us = 0.5 - std::fabs(u);
    const double k = std::floor((2 * a / us + b) * u + lam + 0.43);
    if (us >= 0.07 && v <= v_r) return k;
    if (k < 0 || (us < 0.013 && v > us)) continue;
    int sign;
    const double lg = lgamma_r(k + 1, &sign);
    if (std::log(v) + std::log(inv_alpha) - std::log(a / (us * us) + b) <= -lam + k * loglam - lg) return k;
  }
}

Shape concat_shapes(const Shape& a, const Shape& b) {
  std::vector<int64_t> d = a.vec();
  for (int64_t x : b.vec()) d.push_back(x);
  if (d.size() > size_t(kMaxRank)) throw InvalidArgument("random: the result's rank exceeds " + std::to_string(kMaxRank));
  return Shape(d);
}
}  // namespace

Tensor gamma(PhiloxState& s, const Shape& shape, const Tensor& alpha, const Tensor& beta) {
  require_float(alpha, "random.gamma");
  require_same_dtype(alpha, beta, "random.gamma");
  if (alpha.shape() != beta.shape()) throw InvalidArgument("random.gamma: alpha and beta must have one shape");
  Tensor out = Tensor::empty(alpha.dtype(), concat_shapes(shape, alpha.shape()));
  const int64_t na = alpha.numel();
  dispatch_float(alpha.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* a = alpha.data<T>();
    const T* b = beta.data<T>();
    T* o = out.data<T>();
    run_per_element(s, out.numel(), 1 << 12, [&](ElementStream& st, int64_t i) {
      const int64_t j = i % na;
      o[i] = T(gamma_one(st, double(a[j])) / double(b[j]));
    });
  });
  return out;
}

Tensor poisson(PhiloxState& s, const Shape& shape, const Tensor& lam, DType dtype) {
  require_float(lam, "random.poisson");
  if (dtype == DType::Bool) throw InvalidArgument("random.poisson: dtype must be a number type");
  Tensor out = Tensor::empty(dtype, concat_shapes(shape, lam.shape()));
  const int64_t nl = lam.numel();
  Tensor lam64 = lam.dtype() == DType::Float64 ? lam : cast(lam, DType::Float64);
  const double* l = lam64.data<double>();
  dispatch_wide(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* o = out.data<T>();
    run_per_element(s, out.numel(), 1 << 12, [&](ElementStream& st, int64_t i) {
      const double k = poisson_one(st, l[i % nl]);
      if constexpr (std::is_floating_point_v<T>) o[i] = T(k);
      else o[i] = std::isnan(k) ? T(0) : T(std::min(k, double(std::numeric_limits<T>::max())));
    });
  });
  return out;
}

}  // namespace gt::random
