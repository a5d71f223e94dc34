// bench_core: the C++ benchmark binary. It uses only gradtape's public C++ API
// (gradtape/gradtape.h, namespace gt) and times each workload against a floor measured in the
// same run on the same machine, printing the ratio:
//
//   W3  the sin chain x = sin(x)*1.0001 + 0.001, forward + reverse, a million chain iterations
//       in all, vs a plain `double` primal loop and a hand-written adjoint of the same chain:
//       on gt::Real (the scalar reverse mode, gradtape/real.h) and on a 0-d float64 tensor
//       under a gt::Tape; also the forward with no tape, each tape's bytes per recorded op
//       and whether the floating-point unit flushes subnormals to zero (MXCSR);
//   W4  sum(softplus(x*w + b)) over 4,194,304 float32 elements with gradients wrt x, w, b, vs a
//       STREAM-like triad it times itself (effective GB/s = 16 bytes/element / time);
//   W6  loss = sum(A @ B) for 1024x1024 float32 with gradients wrt A and B, vs the same three
//       sgemm calls made directly on OpenBLAS (scipy_cblas_sgemm);
//   W5  one SGD step of a 784-512-512-10 ReLU MLP, batch 128, vs the same step written by hand
//       on OpenBLAS;
//   --w5-saved DIR: W5's training step saved by bench/saved_w5.py (gt.saved_model.save), loaded
//       with gt::load_saved_model and called from C++ (that script compares it with the same saved
//       step called from Python).
//
// Every figure is a median over repetitions; the whole binary runs in well under a minute.
// Usage: bench_core [--quick]
#include <cblas.h>
#include <malloc.h>
#include <unistd.h>
#include <xmmintrin.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "gradtape/gradtape.h"

namespace {

using Clock = std::chrono::steady_clock;

double now_s() { return std::chrono::duration<double>(Clock::now().time_since_epoch()).count(); }

// Keeps a value alive so the compiler cannot drop the loop that made it.
template <class T>
inline void keep(T const& v) {
  asm volatile("" : : "g"(&v) : "memory");
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

struct Stat {
  double med, lo, hi;
};
// Runs f() `reps` times after `warm` unmeasured calls; seconds per call.
Stat time_it(const std::function<void()>& f, int reps, int warm = 1) {
  for (int i = 0; i < warm; ++i) f();
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    double t0 = now_s();
    f();
    t.push_back(now_s() - t0);
  }
  return {median(t), *std::min_element(t.begin(), t.end()), *std::max_element(t.begin(), t.end())};
}

size_t malloc_bytes() {
  struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

bool g_fail = false;
void check(bool ok, const char* what, double got, double want) {
  if (!ok) {
    std::printf("  CHECK FAILED: %s: got %.17g, expected %.17g\n", what, got, want);
    g_fail = true;
  }
}
bool close(double a, double b, double rtol, double atol = 0) { return std::fabs(a - b) <= atol + rtol * std::fabs(b); }

// ---------------------------------------------------------------------------------------
// W3: the sin chain
// ---------------------------------------------------------------------------------------
constexpr double kA = 1.0001, kB = 0.001;

double primal(double x, long n) {
  for (long i = 0; i < n; ++i) x = std::sin(x) * kA + kB;
  return x;
}

// Hand-written adjoint: forward storing each x, then the reverse sweep.
double adjoint(double x, long n, std::vector<double>& xs) {
  for (long i = 0; i < n; ++i) {
    xs[i] = x;
    x = std::sin(x) * kA + kB;
  }
  keep(x);
  double g = 1.0;
  for (long i = n; i-- > 0;) g *= std::cos(xs[i]) * kA;
  return g;
}

// One tape: forward of n chain iterations on a watched 0-d float64 tensor, then reverse.
double gt_chain_grad(long n, const gt::Tensor& c1, const gt::Tensor& c2) {
  gt::Tensor x0 = gt::scalar(0.5, gt::DType::Float64);
  gt::Tape tape;
  tape.push();
  tape.watch(x0);
  gt::Tensor x = x0;
  for (long i = 0; i < n; ++i) x = gt::add(gt::multiply(gt::sin(x), c1), c2);
  tape.pop();
  std::vector<gt::Tensor> g = tape.gradient({x}, {gt::Source(x0)});
  return g[0].item();
}

// The same chain on gt::Real, on a tape reused across calls (clear() keeps its memory).
double real_chain_grad(gt::RealTape& tape, long n) {
  tape.clear();
  gt::Real x0 = tape.variable(0.5);
  gt::Real x = x0;
  for (long i = 0; i < n; ++i) x = gt::sin(x) * kA + kB;
  return tape.gradient(x, {x0})[0];
}

double gt_chain_value(long n, const gt::Tensor& c1, const gt::Tensor& c2) {
  gt::Tensor x = gt::scalar(0.5, gt::DType::Float64);
  for (long i = 0; i < n; ++i) x = gt::add(gt::multiply(gt::sin(x), c1), c2);
  return x.item();
}

void bench_w3(bool quick) {
  std::printf("\n== W3 sin chain  x = sin(x)*1.0001 + 0.001  (gt::Real, and a 0-d float64 tensor; 3 recorded ops per iteration)\n");
  unsigned csr = _mm_getcsr();
  std::printf("MXCSR = 0x%04x: flush-to-zero %s, denormals-are-zero %s\n", csr, (csr & 0x8000) ? "ON" : "off",
              (csr & 0x0040) ? "ON" : "off");

  const long total = quick ? 100000 : 1000000;  // chain iterations per measurement, in all
  const long len = 1000;                          // iterations per tape (short chains)
  const long reps_short = total / len;
  const gt::Tensor c1 = gt::scalar(kA, gt::DType::Float64), c2 = gt::scalar(kB, gt::DType::Float64);

  // reference values (double, hand adjoint)
  std::vector<double> xs(std::max(total, len));
  const double want_x = primal(0.5, len);
  const double want_g = adjoint(0.5, len, xs);
  check(close(gt_chain_value(len, c1, c2), want_x, 1e-12), "W3 value", gt_chain_value(len, c1, c2), want_x);
  double g_gt = gt_chain_grad(len, c1, c2);
  check(close(g_gt, want_g, 1e-10), "W3 gradient", g_gt, want_g);
  std::printf("check: value %.15g, gradient %.15g (hand adjoint %.15g)\n", gt_chain_value(len, c1, c2), g_gt,
              want_g);

  // cold: the first long tape of this process (fresh tape arrays, fresh tensor memory)
  double t0 = now_s();
  double gl = gt_chain_grad(total, c1, c2);
  double cold = (now_s() - t0) / double(total);
  keep(gl);
  // warm: the same long tape again
  Stat warm_long = time_it([&] { keep(gt_chain_grad(total, c1, c2)); }, quick ? 2 : 3, 0);
  // warm, short chains: `reps_short` tapes of `len` iterations
  Stat warm_short = time_it([&] {
    for (long r = 0; r < reps_short; ++r) keep(gt_chain_grad(len, c1, c2));
  }, quick ? 3 : 5);
  Stat notape = time_it([&] {
    for (long r = 0; r < reps_short; ++r) keep(gt_chain_value(len, c1, c2));
  }, quick ? 3 : 5);
  Stat prim = time_it([&] {
    double x = 0.5;
    for (long r = 0; r < reps_short; ++r) {
      x = primal(x, len);
      keep(x);
    }
  }, 9);
  Stat adj = time_it([&] {
    for (long r = 0; r < reps_short; ++r) keep(adjoint(0.5 + 1e-9 * double(r), len, xs));
  }, 9);

  // gt::Real: checked, then warm (one tape reused) and cold (a fresh tape for 1M iterations)
  double real_warm_med, real_cold, real_bytes_per_op;
  {
    gt::RealTape tape;
    double g_real = real_chain_grad(tape, len);
    check(close(g_real, want_g, 1e-12), "W3 gradient on gt::Real", g_real, want_g);
    real_warm_med = time_it([&] {
      for (long r = 0; r < reps_short; ++r) keep(real_chain_grad(tape, len));
    }, quick ? 3 : 9).med;
  }
  {
    double t1 = now_s();
    gt::RealTape tape;
    keep(real_chain_grad(tape, total));
    real_cold = (now_s() - t1) / double(total);
    real_bytes_per_op = double(tape.bytes()) / double(tape.size());
  }

  const double per = 1.0 / double(total);
  auto row = [&](const char* name, double s_per_iter, double base) {
    std::printf("  %-44s %9.1f ns/iter %8.1f ns/op  %6.2fx primal\n", name, s_per_iter * 1e9, s_per_iter * 1e9 / 3,
                s_per_iter / base);
  };
  const double p = prim.med * per;
  std::printf("%ld iterations per measurement (%ld tapes of %ld, or one tape of %ld):\n", total, reps_short, len,
              total);
  row("plain double primal", p, p);
  row("hand-written adjoint (forward + reverse)", adj.med * per, p);
  row("gt::Real fwd+rev, warm, 1000-iter tapes", real_warm_med * per, p);
  row("gt::Real fwd+rev, cold, one 1M-iter tape", real_cold, p);
  row("gradtape, no tape (forward only)", notape.med * per, p);
  row("gradtape tape fwd+rev, warm, 1000-iter tapes", warm_short.med * per, p);
  row("gradtape tape fwd+rev, warm, one 1M-iter tape", warm_long.med / double(total), p);
  row("gradtape tape fwd+rev, cold, one 1M-iter tape", cold, p);
  std::printf("gt::Real tape memory: %.1f bytes per recorded op (arrays' capacity incl. adjoints, 1M-iteration tape)\n",
              real_bytes_per_op);
  std::printf("RATIO W3 gt::Real tape/primal = %.2f (T10 goal <= 3.5), gt::Real/hand-adjoint = %.2f; "
              "0-d tensor tape/primal = %.2f, no-tape/primal = %.2f\n",
              real_warm_med / prim.med, real_warm_med / adj.med, warm_short.med / prim.med, notape.med / prim.med);

  // ---- tape memory: malloc'd bytes while a recorded tape is alive, minus the same tensors
  // kept alive without a tape (both measured warm, in the same allocator state) ----
  {
    const long n = quick ? 20000 : 100000;
    std::vector<gt::Tensor> held;
    held.reserve(size_t(5 * n + 8));
    // warm both paths once
    keep(gt_chain_grad(n, c1, c2));
    size_t m0 = malloc_bytes();
    {
      gt::Tensor x = gt::scalar(0.5, gt::DType::Float64);
      held.push_back(x);
      for (long i = 0; i < n; ++i) {
        gt::Tensor s = gt::sin(x);
        gt::Tensor m = gt::multiply(s, c1);
        x = gt::add(m, c2);
        held.push_back(s);
        held.push_back(m);
        held.push_back(x);
      }
    }
    size_t m_keep = malloc_bytes() - m0;
    size_t tensor_bytes = m_keep / size_t(3 * n);
    held.clear();
    held.shrink_to_fit();

    size_t m1 = malloc_bytes();
    int64_t r0 = gt::live_records();
    size_t m_tape;
    int64_t recs;
    {
      gt::Tensor x0 = gt::scalar(0.5, gt::DType::Float64);
      gt::Tape tape;
      tape.push();
      tape.watch(x0);
      gt::Tensor x = x0;
      for (long i = 0; i < n; ++i) x = gt::add(gt::multiply(gt::sin(x), c1), c2);
      tape.pop();
      m_tape = malloc_bytes() - m1;
      recs = gt::live_records() - r0;
    }
    double per_op = double(m_tape) / double(recs);
    double book = (double(m_tape) - double(m_keep)) / double(recs);
    std::printf("tape memory: %lld live records for %ld iterations; %.1f bytes malloc'd per recorded op in all,\n"
                "  of which the recorded tensors themselves are %.1f bytes/op (%zu bytes per 0-d tensor);\n"
                "  bookkeeping beyond the saved tensors ~ %.1f bytes per recorded op (T11 goal <= 32)\n",
                (long long)recs, n, per_op, double(m_keep) / double(recs), tensor_bytes, book);
    // If the tape keeps one Tensor handle per input and output of each record (sin: 2,
    // multiply: 3, add: 3), that is 8 handles per iteration.
    std::printf("  of the bookkeeping, %.1f bytes/op would be the tape's Tensor handles if it keeps one per input\n"
                "  and output (8 per iteration, %zu bytes each); the rest, %.1f bytes/op, records, slots and\n"
                "  vector growth slack\n",
                8.0 * double(sizeof(gt::Tensor)) / 3.0, sizeof(gt::Tensor), book - 8.0 * double(sizeof(gt::Tensor)) / 3.0);
    std::printf("  (sizeof TensorImpl %zu, Tensor handle %zu, Storage %zu)\n", sizeof(gt::TensorImpl),
                sizeof(gt::Tensor), sizeof(gt::Storage));
  }
}

// ---------------------------------------------------------------------------------------
// W4: big elementwise vs a STREAM-like triad
// ---------------------------------------------------------------------------------------
void triad(float* a, const float* b, const float* c, float s, long n) {
#pragma omp simd
  for (long i = 0; i < n; ++i) a[i] = b[i] + s * c[i];
}

void bench_w4(bool quick) {
  const long n = 4194304;
  std::printf("\n== W4 big elementwise: sum(softplus(x*w + b)), grads wrt x, w, b; n = %ld float32\n", n);
  std::mt19937 rng(4);
  std::normal_distribution<float> nd;
  std::vector<float> xv(n), wv(n);
  for (long i = 0; i < n; ++i) xv[i] = nd(rng), wv[i] = nd(rng);
  const float bv = 0.25f;
  gt::Tensor x = gt::from_data(xv.data(), gt::DType::Float32, gt::Shape{n});
  gt::Tensor w = gt::from_data(wv.data(), gt::DType::Float32, gt::Shape{n});
  gt::Tensor b = gt::scalar(bv, gt::DType::Float32);

  double loss_v = 0, gb_v = 0;
  std::vector<gt::Tensor> g;
  auto step = [&] {
    gt::Tape tape;
    tape.push();
    tape.watch(x);
    tape.watch(w);
    tape.watch(b);
    gt::Tensor loss = gt::reduce_sum(gt::softplus(x * w + b));
    tape.pop();
    g = tape.gradient({loss}, {gt::Source(x), gt::Source(w), gt::Source(b)});
    loss_v = loss.item();
    gb_v = g[2].item();
  };
  step();
  // check against double precision
  double want_loss = 0, want_gb = 0, max_err = 0;
  const float* gx = g[0].data<float>();
  const float* gw = g[1].data<float>();
  for (long i = 0; i < n; ++i) {
    double u = double(xv[i]) * wv[i] + bv;
    want_loss += std::max(u, 0.0) + std::log1p(std::exp(-std::fabs(u)));
    double s = 0.5 * (1 + std::tanh(0.5 * u));
    want_gb += s;
    max_err = std::max(max_err, std::fabs(gx[i] - s * wv[i]) / (1e-6 + std::fabs(s * wv[i])));
    max_err = std::max(max_err, std::fabs(gw[i] - s * xv[i]) / (1e-6 + std::fabs(s * xv[i])));
  }
  check(close(loss_v, want_loss, 1e-4), "W4 loss", loss_v, want_loss);
  check(close(gb_v, want_gb, 1e-4), "W4 d/db", gb_v, want_gb);
  check(max_err < 1e-4, "W4 max relative error of d/dx, d/dw", max_err, 0);
  std::printf("check: loss %.7g (want %.7g), d/db %.7g (want %.7g), max rel err dx/dw %.2g\n", loss_v, want_loss,
              gb_v, want_gb, max_err);
  g.clear();

  Stat sw4 = time_it(step, quick ? 5 : 15, 2);

  // STREAM-like triad a = b + s*c: at W4's size (16 MiB arrays, partly L3-resident on this
  // machine) and at 128 MiB arrays (memory bound, as STREAM), on one thread and on two.
  auto triad_gbs = [&](long m, int threads, int reps) {
    std::vector<float> ta(m), tb(m, 1.0f), tc(m, 2.0f);
    Stat st = time_it([&] {
      if (threads == 1) {
        triad(ta.data(), tb.data(), tc.data(), 3.0f, m);
      } else {
        std::thread th([&] { triad(ta.data() + m / 2, tb.data() + m / 2, tc.data() + m / 2, 3.0f, m - m / 2); });
        triad(ta.data(), tb.data(), tc.data(), 3.0f, m / 2);
        th.join();
      }
      keep(ta[m / 2]);
    }, reps, 2);
    return 3.0 * 4 * double(m) / st.med / 1e9;
  };
  const long big = quick ? 8L << 20 : 32L << 20;
  double t16_1 = triad_gbs(n, 1, 30), t16_2 = triad_gbs(n, 2, 30);
  double tb_1 = triad_gbs(big, 1, quick ? 5 : 10), tb_2 = triad_gbs(big, 2, quick ? 5 : 10);
  const double w4_bytes = 16.0 * n;
  double gbs_w4 = w4_bytes / sw4.med / 1e9;
  std::printf("  gradtape W4                        %8.2f ms/iter (%.2f-%.2f)  effective %6.2f GB/s (16 B/element)\n",
              sw4.med * 1e3, sw4.lo * 1e3, sw4.hi * 1e3, gbs_w4);
  std::printf("  triad, 16 MiB arrays (W4's size)   1 thread %6.2f GB/s   2 threads %6.2f GB/s\n", t16_1, t16_2);
  std::printf("  triad, %3ld MiB arrays (STREAM)     1 thread %6.2f GB/s   2 threads %6.2f GB/s\n",
              big * 4 >> 20, tb_1, tb_2);
  std::printf("  W4 at STREAM bandwidth would take %.2f ms (1 thread), %.2f ms (2 threads)\n",
              w4_bytes / (tb_1 * 1e9) * 1e3, w4_bytes / (tb_2 * 1e9) * 1e3);
  std::printf("RATIO W4 effective GB/s / STREAM triad GB/s = %.3f (1 thread), %.3f (2 threads); "
              "/ same-size triad = %.3f (1 thread)\n",
              gbs_w4 / tb_1, gbs_w4 / tb_2, gbs_w4 / t16_1);
}

// ---------------------------------------------------------------------------------------
// W6: matmul vs OpenBLAS
// ---------------------------------------------------------------------------------------
void bench_w6(bool quick) {
  const int n = 1024;
  std::printf("\n== W6 matmul: loss = sum(A @ B), grads wrt A and B; %dx%d float32 (3 sgemm = %.2f GFLOP)\n", n, n,
              6.0 * n * n * double(n) / 1e9);
  std::mt19937 rng(6);
  std::normal_distribution<float> nd;
  std::vector<float> A(size_t(n) * n), B(size_t(n) * n), C(size_t(n) * n), G(size_t(n) * n, 1.0f),
      dA(size_t(n) * n), dB(size_t(n) * n);
  for (auto& v : A) v = nd(rng);
  for (auto& v : B) v = nd(rng);
  gt::Tensor tA = gt::from_data(A.data(), gt::DType::Float32, gt::Shape{n, n});
  gt::Tensor tB = gt::from_data(B.data(), gt::DType::Float32, gt::Shape{n, n});

  std::vector<gt::Tensor> g;
  double loss_v = 0;
  auto step = [&] {
    gt::Tape tape;
    tape.push();
    tape.watch(tA);
    tape.watch(tB);
    gt::Tensor loss = gt::reduce_sum(gt::matmul(tA, tB));
    tape.pop();
    g = tape.gradient({loss}, {gt::Source(tA), gt::Source(tB)});
    loss_v = loss.item();
  };
  auto blas = [&] {
    scipy_cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, A.data(), n, B.data(), n, 0.0f,
                      C.data(), n);
    double s = 0;
    for (float v : C) s += v;
    keep(s);
    // dA = G @ B^T, dB = A^T @ G
    scipy_cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, n, 1.0f, G.data(), n, B.data(), n, 0.0f,
                      dA.data(), n);
    scipy_cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, n, n, 1.0f, A.data(), n, G.data(), n, 0.0f,
                      dB.data(), n);
    keep(dA[0]);
  };
  step();
  blas();
  // dA[i,k] = sum_j B[k,j]; dB[k,j] = sum_i A[i,k]
  double max_err = 0;
  const float* ga = g[0].data<float>();
  const float* gb = g[1].data<float>();
  for (int k = 0; k < n; ++k) {
    double rb = 0, ca = 0;
    for (int j = 0; j < n; ++j) rb += B[size_t(k) * n + j];
    for (int i = 0; i < n; ++i) ca += A[size_t(i) * n + k];
    for (int i = 0; i < n; i += 97) max_err = std::max(max_err, std::fabs(ga[size_t(i) * n + k] - rb));
    for (int j = 0; j < n; j += 97) max_err = std::max(max_err, std::fabs(gb[size_t(k) * n + j] - ca));
  }
  check(max_err < 1e-2, "W6 max abs error of dA, dB", max_err, 0);
  std::printf("check: loss %.6g, max abs error of dA, dB %.2g\n", loss_v, max_err);
  g.clear();

  const int reps = quick ? 5 : 15;
  // interleave the two so drift hits both alike
  std::vector<double> tg, tb;
  for (int r = 0; r < reps; ++r) {
    double t0 = now_s();
    step();
    tg.push_back(now_s() - t0);
    g.clear();
    t0 = now_s();
    blas();
    tb.push_back(now_s() - t0);
  }
  double mg = median(tg), mb = median(tb), fl = 6.0 * n * n * double(n);
  std::printf("  OpenBLAS threads %d, core %s\n", scipy_openblas_get_num_threads(), scipy_openblas_get_corename());
  std::printf("  gradtape W6          %8.2f ms (%.2f-%.2f)  %6.1f GFLOP/s\n", mg * 1e3,
              *std::min_element(tg.begin(), tg.end()) * 1e3, *std::max_element(tg.begin(), tg.end()) * 1e3,
              fl / mg / 1e9);
  std::printf("  direct OpenBLAS x3   %8.2f ms (%.2f-%.2f)  %6.1f GFLOP/s\n", mb * 1e3,
              *std::min_element(tb.begin(), tb.end()) * 1e3, *std::max_element(tb.begin(), tb.end()) * 1e3,
              fl / mb / 1e9);
  std::printf("RATIO W6 gradtape/OpenBLAS = %.2f\n", mg / mb);
}

// ---------------------------------------------------------------------------------------
// W5: MLP step vs the same step by hand on OpenBLAS
// ---------------------------------------------------------------------------------------
void sgemm(bool ta, bool tb, int m, int n, int k, const float* a, const float* b, float* c, float beta = 0.f) {
  scipy_cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, 1.0f, a,
                    ta ? m : k, b, tb ? k : n, beta, c, n);
}

void bench_w5(bool quick) {
  const int batch = 128;
  const int dims[4] = {784, 512, 512, 10};
  const float lr = 0.01f;
  std::printf("\n== W5 MLP step: 784-512-512-10 ReLU, softmax cross-entropy, SGD lr 0.01, batch %d\n", batch);
  std::mt19937 rng(5);
  std::normal_distribution<float> nd;
  std::uniform_int_distribution<int> ud(0, dims[3] - 1);
  std::vector<float> X(size_t(batch) * dims[0]);
  for (auto& v : X) v = nd(rng);
  std::vector<int32_t> y(batch);
  for (auto& v : y) v = ud(rng);
  std::vector<std::vector<float>> P;  // W0 b0 W1 b1 W2 b2
  for (int l = 0; l < 3; ++l) {
    std::vector<float> W(size_t(dims[l]) * dims[l + 1]), bb(dims[l + 1]);
    float sc = std::sqrt(2.0f / float(dims[l]));
    for (auto& v : W) v = nd(rng) * sc;
    for (auto& v : bb) v = nd(rng) * 0.01f;
    P.push_back(W);
    P.push_back(bb);
  }
  // gradtape: variables
  gt::Tensor tX = gt::from_data(X.data(), gt::DType::Float32, gt::Shape{batch, dims[0]});
  gt::Tensor ty = gt::from_data(y.data(), gt::DType::Int32, gt::Shape{batch});
  std::vector<std::shared_ptr<gt::Variable>> V;
  for (int l = 0; l < 3; ++l) {
    V.push_back(std::make_shared<gt::Variable>(
        gt::from_data(P[2 * l].data(), gt::DType::Float32, gt::Shape{dims[l], dims[l + 1]})));
    V.push_back(std::make_shared<gt::Variable>(
        gt::from_data(P[2 * l + 1].data(), gt::DType::Float32, gt::Shape{dims[l + 1]})));
  }
  const gt::Tensor tlr = gt::scalar(lr, gt::DType::Float32);
  double gt_loss = 0;
  auto gt_step = [&] {
    gt::Tape tape;
    tape.push();
    gt::Tensor h = tX;
    for (int l = 0; l < 3; ++l) {
      h = gt::add(gt::matmul(h, V[2 * l]->read()), V[2 * l + 1]->read());
      if (l < 2) h = gt::relu(h);
    }
    gt::Tensor loss = gt::reduce_mean(gt::sparse_softmax_cross_entropy_with_logits(ty, h));
    tape.pop();
    std::vector<gt::Source> src(V.begin(), V.end());
    std::vector<gt::Tensor> g = tape.gradient({loss}, src);
    for (size_t i = 0; i < V.size(); ++i) V[i]->assign_sub(gt::multiply(g[i], tlr));
    gt_loss = loss.item();
  };

  // by hand on OpenBLAS
  std::vector<std::vector<float>> Q = P, act(4), gbuf(3), dW(3), db(3);
  act[0] = X;
  for (int l = 0; l < 3; ++l) {
    act[l + 1].resize(size_t(batch) * dims[l + 1]);
    gbuf[l].resize(size_t(batch) * dims[l + 1]);
    dW[l].resize(size_t(dims[l]) * dims[l + 1]);
    db[l].resize(dims[l + 1]);
  }
  double hand_loss = 0;
  auto hand_step = [&] {
    for (int l = 0; l < 3; ++l) {
      const int m = dims[l + 1];
      float* o = act[l + 1].data();
      for (int i = 0; i < batch; ++i) std::memcpy(o + size_t(i) * m, Q[2 * l + 1].data(), sizeof(float) * m);
      sgemm(false, false, batch, m, dims[l], act[l].data(), Q[2 * l].data(), o, 1.0f);
      if (l < 2)
        for (size_t i = 0; i < act[l + 1].size(); ++i) o[i] = std::max(o[i], 0.0f);
    }
    // softmax cross-entropy, mean over the batch
    const int K = dims[3];
    double loss = 0;
    float* g = gbuf[2].data();
    for (int i = 0; i < batch; ++i) {
      const float* z = act[3].data() + size_t(i) * K;
      float mx = *std::max_element(z, z + K);
      double se = 0;
      for (int k = 0; k < K; ++k) se += std::exp(double(z[k] - mx));
      loss += std::log(se) + mx - z[y[i]];
      for (int k = 0; k < K; ++k) g[size_t(i) * K + k] = float(std::exp(double(z[k] - mx)) / se) / batch;
      g[size_t(i) * K + y[i]] -= 1.0f / batch;
    }
    hand_loss = loss / batch;
    for (int l = 2; l >= 0; --l) {
      const int m = dims[l + 1], k = dims[l];
      float* gl = gbuf[l].data();
      sgemm(true, false, k, m, batch, act[l].data(), gl, dW[l].data());
      std::fill(db[l].begin(), db[l].end(), 0.0f);
      for (int i = 0; i < batch; ++i)
        for (int j = 0; j < m; ++j) db[l][j] += gl[size_t(i) * m + j];
      if (l > 0) {
        float* gp = gbuf[l - 1].data();
        sgemm(false, true, batch, k, m, gl, Q[2 * l].data(), gp);
        const float* a = act[l].data();
        for (size_t i = 0; i < gbuf[l - 1].size(); ++i) gp[i] = a[i] > 0 ? gp[i] : 0.0f;
      }
      for (size_t i = 0; i < dW[l].size(); ++i) Q[2 * l][i] -= lr * dW[l][i];
      for (int j = 0; j < m; ++j) Q[2 * l + 1][j] -= lr * db[l][j];
    }
  };
  gt_step();
  hand_step();
  check(close(gt_loss, hand_loss, 1e-4), "W5 first-step loss vs hand-written", gt_loss, hand_loss);
  double max_err = 0;
  for (int i = 0; i < 6; ++i) {
    const float* a = V[size_t(i)]->value().data<float>();
    for (size_t j = 0; j < Q[size_t(i)].size(); ++j) max_err = std::max(max_err, double(std::fabs(a[j] - Q[size_t(i)][j])));
  }
  check(max_err < 1e-5, "W5 params after one step, max abs diff vs hand-written", max_err, 0);
  std::printf("check: first-step loss %.7g (hand-written %.7g); params after one step differ by <= %.2g\n", gt_loss,
              hand_loss, max_err);

  const int reps = quick ? 10 : 60;
  std::vector<double> tg, th;
  for (int r = 0; r < reps; ++r) {
    double t0 = now_s();
    gt_step();
    tg.push_back(now_s() - t0);
    t0 = now_s();
    hand_step();
    th.push_back(now_s() - t0);
  }
  double mg = median(tg), mh = median(th);
  std::printf("  gradtape W5 step        %7.3f ms (%.3f-%.3f)\n", mg * 1e3, *std::min_element(tg.begin(), tg.end()) * 1e3,
              *std::max_element(tg.begin(), tg.end()) * 1e3);
  std::printf("  by hand on OpenBLAS     %7.3f ms (%.3f-%.3f)\n", mh * 1e3, *std::min_element(th.begin(), th.end()) * 1e3,
              *std::max_element(th.begin(), th.end()) * 1e3);
  std::printf("RATIO W5 gradtape/hand-written = %.2f\n", mg / mh);
}

// W5's step saved from Python (bench/saved_w5.py), loaded and run here with no Python.
int bench_w5_saved(const std::string& dir, int reps) {
  std::shared_ptr<gt::SavedModel> m = gt::load_saved_model(dir);
  const gt::SavedConcrete& c = m->function("train_step").concretes.at(0);
  auto read = [&](const std::string& name, const gt::InputSpec& spec) {
    FILE* f = std::fopen((dir + "/" + name).c_str(), "rb");
    if (!f) throw std::runtime_error("no " + dir + "/" + name);
    gt::Tensor t = gt::Tensor::empty(spec.dtype, gt::Shape(spec.shape));
    const size_t n = std::fread(t.raw(), 1, t.nbytes(), f);
    std::fclose(f);
    if (n != t.nbytes()) throw std::runtime_error(name + " is too short");
    return t;
  };
  gt::Tensor X = read("X.bin", c.inputs.at(0)), y = read("y.bin", c.inputs.at(1));
  std::printf("\n== W5 saved step (gt::load_saved_model %s): %zu variables, %zu steps\n", dir.c_str(),
              m->variables().size(), c.program->num_steps());
  const double first = m->call("train_step", {X, y}).at(0).item();
  const Stat s = time_it([&] { keep(m->call("train_step", {X, y})); }, reps, 3);
  const double last = m->call("train_step", {X, y}).at(0).item();
  check(std::isfinite(first) && last < first, "W5 saved step: the loss goes down", last, first);
  std::printf("  loss %.6f -> %.6f\n", first, last);
  std::printf("  saved W5 step from C++ %8.3f ms (%.3f-%.3f)\n", s.med * 1e3, s.lo * 1e3, s.hi * 1e3);
  return g_fail ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  // OpenBLAS reads OPENBLAS_THREAD_TIMEOUT when it loads, before main(): set it as the Python
  // package does (its threads then sleep soon after each call instead of spinning against
  // gradtape's pool), and start again with it. A value already set is kept.
  if (!std::getenv("OPENBLAS_THREAD_TIMEOUT")) {
    setenv("OPENBLAS_THREAD_TIMEOUT", "4", 1);
    execv("/proc/self/exe", argv);  // returns only on failure: then run as we are
  }
  bool quick = false;
  std::string saved_dir;
  int saved_reps = 60;
  std::vector<std::string> only;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--quick") quick = true;
    else if (a == "--w5-saved" && i + 1 < argc) saved_dir = argv[++i];
    else if (a == "--reps" && i + 1 < argc) saved_reps = std::atoi(argv[++i]);
    else if (a == "W3" || a == "W4" || a == "W5" || a == "W6") only.push_back(a);
    else {
      std::fprintf(stderr, "usage: %s [--quick] [W3] [W4] [W5] [W6] | --w5-saved DIR [--reps N]\n", argv[0]);
      return 2;
    }
  }
  if (!saved_dir.empty()) {
    try {
      return bench_w5_saved(saved_dir, saved_reps > 0 ? saved_reps : 60);
    } catch (const std::exception& e) {
      std::printf("ERROR: %s\n", e.what());
      return 1;
    }
  }
  auto want = [&](const char* w) { return only.empty() || std::find(only.begin(), only.end(), w) != only.end(); };
  double t0 = now_s();
  std::printf("bench_core: gradtape C++ API benchmarks (%s)\n", quick ? "quick" : "full");
  std::printf("OpenBLAS: %s; %d threads; hardware threads %u; OPENBLAS_THREAD_TIMEOUT=%s\n",
              scipy_openblas_get_config(), scipy_openblas_get_num_threads(), std::thread::hardware_concurrency(),
              std::getenv("OPENBLAS_THREAD_TIMEOUT"));
  try {
    if (want("W3")) bench_w3(quick);
    if (want("W4")) bench_w4(quick);
    if (want("W6")) bench_w6(quick);
    if (want("W5")) bench_w5(quick);
  } catch (const std::exception& e) {
    std::printf("ERROR: %s\n", e.what());
    return 1;
  }
  std::printf("\ntotal %.1f s; checks %s\n", now_s() - t0, g_fail ? "FAILED" : "passed");
  return g_fail ? 1 : 0;
}
