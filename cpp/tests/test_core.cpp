// C++ tests of the core through its public API only. A tiny runner: TEST(name) registers a
// function; CHECK* record failures; main prints one line per failure and a closing
// "N passed, M failed" line, and exits non-zero on any failure.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "gradtape/gradtape.h"
#include "gradtape/steps.h"

namespace {

struct Case {
  const char* name;
  std::function<void()> fn;
};
std::vector<Case>& cases() {
  static std::vector<Case> c;
  return c;
}
int g_failures_in_case = 0;

struct Register {
  Register(const char* n, std::function<void()> f) { cases().push_back({n, std::move(f)}); }
};

#define TEST(name)                                    \
  void test_##name();                                 \
  const Register reg_##name(#name, test_##name);      \
  void test_##name()

#define CHECK(cond)                                                               \
  do {                                                                            \
    if (!(cond)) {                                                                \
      std::printf("  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);      \
      ++g_failures_in_case;                                                       \
    }                                                                             \
  } while (0)
#define CHECK_NEAR(a, b, tol)                                                                        \
  do {                                                                                               \
    double a_ = (a), b_ = (b);                                                                       \
    if (!(std::fabs(a_ - b_) <= (tol))) {                                                            \
      std::printf("  %s:%d: %s = %.17g, expected %.17g\n", __FILE__, __LINE__, #a, a_, b_);         \
      ++g_failures_in_case;                                                                          \
    }                                                                                                \
  } while (0)
#define CHECK_THROWS(expr, type)                          \
  do {                                                    \
    bool thrown_ = false;                                 \
    try {                                                 \
      (void)(expr);                                       \
    } catch (const type&) {                               \
      thrown_ = true;                                     \
    }                                                     \
    CHECK(thrown_ && #expr " throws " #type);             \
  } while (0)

using namespace gt;

Tensor vec(std::vector<double> v, DType d = DType::Float64) {
  Tensor t = Tensor::empty(d, Shape{int64_t(v.size())});
  for (size_t i = 0; i < v.size(); ++i) {
    if (d == DType::Float64) t.data<double>()[i] = v[i];
    else t.data<float>()[i] = float(v[i]);
  }
  return t;
}
double at(const Tensor& t, int64_t i) {
  return t.dtype() == DType::Float64 ? t.data<double>()[i] : double(t.data<float>()[i]);
}

TEST(broadcast_add) {
  Tensor a = reshape(vec({1, 2, 3}), {3, 1});
  Tensor b = reshape(vec({10, 20}), {1, 2});
  Tensor c = a + b;
  CHECK(c.shape() == Shape({3, 2}));
  CHECK_NEAR(at(c, 0), 11, 0);
  CHECK_NEAR(at(c, 5), 23, 0);
  CHECK_THROWS(add(vec({1, 2}), vec({1, 2, 3})), InvalidArgument);
  CHECK_THROWS(add(vec({1}), vec({1}, DType::Float32)), InvalidArgument);
}

TEST(matmul_and_reduce) {
  Tensor a = reshape(vec({1, 2, 3, 4, 5, 6}), {2, 3});
  Tensor b = reshape(vec({1, 0, 0, 1, 1, 1}), {3, 2});
  Tensor c = matmul(a, b);  // [[4, 5], [10, 11]]
  CHECK(c.shape() == Shape({2, 2}));
  CHECK_NEAR(at(c, 0), 4, 0);
  CHECK_NEAR(at(c, 3), 11, 0);
  CHECK_NEAR(reduce_sum(c).item(), 30, 0);
  Tensor m = reduce_max(a, std::vector<int64_t>{1});
  CHECK_NEAR(at(m, 0), 3, 0);
  CHECK_NEAR(at(m, 1), 6, 0);
  CHECK_THROWS(reduce_sum(a, std::vector<int64_t>{2}), InvalidArgument);
}

TEST(seed_gradient) {
  auto w1 = std::make_shared<Variable>(scalar(5, DType::Float32));
  auto w2 = std::make_shared<Variable>(scalar(3, DType::Float32));
  Tape tape;
  tape.push();
  Tensor a = w1->read(), b = w2->read();
  Tensor z = 3.0 * square(a) + 2.0 * a * b;
  tape.pop();
  std::vector<Tensor> g = tape.gradient({z}, {w1, w2});
  CHECK_NEAR(g[0].item(), 36, 0);
  CHECK_NEAR(g[1].item(), 10, 0);
  CHECK_THROWS(tape.gradient({z}, {w1}), TapeError);
}

TEST(hessian_by_nested_tapes) {
  Tensor x = scalar(2, DType::Float64);
  Tape outer(true);
  outer.push();
  outer.watch(x);
  Tape inner;
  inner.push();
  inner.watch(x);
  Tensor y = x * x * x;
  inner.pop();
  Tensor dy = inner.gradient({y}, {x})[0];  // 3x^2 = 12, recorded by the outer tape
  outer.pop();
  CHECK_NEAR(dy.item(), 12, 0);
  CHECK_NEAR(outer.gradient({dy}, {x})[0].item(), 12, 0);  // 6x
}

TEST(forward_accumulator) {
  Tensor x = vec({1, 2});
  ForwardAccumulator acc;
  acc.watch(x, vec({1, 0}));
  Tensor y, g;
  {
    AccumulatorScope scope(acc);
    CHECK(acc.active());
    CHECK_THROWS(acc.push(), InvalidArgument);  // already recording
    Tape tape;
    TapeScope tscope(tape);
    tape.watch(x);
    y = reduce_sum(x * x * x);
    tscope.exit();
    g = tape.gradient({y}, {x})[0];  // 3 x^2, with a tangent: H v = 6 x v
  }
  CHECK(!acc.active());
  CHECK_NEAR(acc.jvp(y).item(), 3, 0);
  Tensor hv = acc.jvp(g);
  CHECK_NEAR(at(hv, 0), 6, 0);
  CHECK_NEAR(at(hv, 1), 0, 0);
  CHECK(!acc.jvp(x * 2.0).defined());  // after the block: no tangent
  CHECK_THROWS(acc.watch(x, vec({1})), InvalidArgument);  // wrong shape
}

TEST(forward_mode_jacobian) {
  Tensor w = Tensor::empty(DType::Float64, Shape{3, 2});
  for (int i = 0; i < 6; ++i) w.data<double>()[i] = 0.5 * i - 1;
  Tensor x = vec({0.3, -0.7});
  Tape tape(true);
  {
    TapeScope scope(tape);
    tape.watch(x);
  }
  tape.push();
  Tensor y = tanh(matmul(w, reshape(x, {2, 1})));
  tape.pop();
  Tensor fwd = tape.jacobian(y, {x}, Unconnected::None, JacobianMode::Forward)[0];
  Tensor rev = tape.jacobian(y, {x}, Unconnected::None, JacobianMode::Reverse)[0];
  CHECK(fwd.shape() == Shape({3, 1, 2}));
  for (int i = 0; i < 6; ++i) CHECK_NEAR(at(fwd, i), at(rev, i), 1e-15);
}

TEST(stop_gradient_and_unconnected) {
  Tensor x = scalar(1.5, DType::Float64), y = scalar(2, DType::Float64);
  Tape t(true);
  t.push();
  t.watch(x);
  t.watch(y);
  Tensor z = x * stop_gradient(y);
  t.pop();
  std::vector<Tensor> g = t.gradient({z}, {x, y});
  CHECK_NEAR(g[0].item(), 2, 0);
  CHECK(!g[1].defined());
  CHECK_NEAR(t.gradient({z}, {y}, {}, Unconnected::Zero)[0].item(), 0, 0);
}

TEST(long_chain_no_recursion) {
  Tensor x = scalar(1, DType::Float64);
  {
    Tape t;
    t.push();
    t.watch(x);
    Tensor y = x;
    for (int i = 0; i < 200000; ++i) y = y * 1.000001;
    t.pop();
    CHECK_NEAR(t.gradient({y}, {x})[0].item(), std::pow(1.000001, 200000), 1e-6);
  }
  CHECK(live_records() == 0);
}

TEST(variable_copy_on_write) {
  auto v = std::make_shared<Variable>(vec({1, 2}));
  Tensor snap = v->read();
  v->assign(vec({10, 20}));
  CHECK_NEAR(at(snap, 1), 2, 0);
  CHECK_NEAR(at(v->value(), 1), 20, 0);
  snap = Tensor();
  const void* before = v->value().raw();
  v->assign_add(vec({1, 1}));
  CHECK(v->value().raw() == before);  // unshared: written in place
  CHECK_NEAR(at(v->value(), 0), 11, 0);
  CHECK_THROWS(v->assign(vec({1, 2, 3})), InvalidArgument);
}

TEST(tape_scope) {
  Tensor x = scalar(3, DType::Float64);
  Tape t(true);
  Tensor y;
  {
    TapeScope scope(t);
    CHECK(t.active());
    t.watch(x);
    y = x * x;
  }
  CHECK(!t.active());
  CHECK_NEAR(t.gradient({y}, {x})[0].item(), 6, 0);
  {
    TapeScope scope(t);
    scope.exit();  // popped early; the destructor does nothing
    CHECK(!t.active());
    CHECK(!scope.active());
  }
  CHECK(!t.active());
  try {
    TapeScope scope(t);
    throw InvalidArgument("unwinding");
  } catch (const InvalidArgument&) {
  }
  CHECK(!t.active());  // popped during unwinding
}

TEST(snapshot_semantics) {
  auto v = std::make_shared<Variable>(scalar(3, DType::Float64));
  Tape t;
  t.push();
  Tensor a = v->read();
  Tensor y = a * a;
  t.pop();
  v->assign(scalar(10, DType::Float64));
  CHECK_NEAR(t.gradient({y}, {v})[0].item(), 6, 0);
}

TEST(thread_locality) {
  Tensor x = scalar(2, DType::Float64);
  Tape t(true);
  t.push();
  t.watch(x);
  Tensor from_thread;
  std::thread th([&] { from_thread = x * x; });
  th.join();
  Tensor here = x * x;
  t.pop();
  CHECK(!t.gradient({from_thread}, {x})[0].defined());
  CHECK_NEAR(t.gradient({here}, {x})[0].item(), 4, 0);
}

TEST(custom_gradient_hook) {
  Tensor x = scalar(3, DType::Float64);
  Tape t;
  t.push();
  t.watch(x);
  Tensor y;
  {
    RecordingPause pause;
    y = x * x;
  }
  Tensor y2 = stop_gradient(y);
  record_custom({x}, {y2}, [](const std::vector<Tensor>& g) { return std::vector<Tensor>{g[0] * 100.0}; });
  t.pop();
  CHECK_NEAR(t.gradient({y2}, {x})[0].item(), 100, 0);
}

TEST(live_counts_return_to_baseline) {
  int64_t tensors = live_tensors(), records = live_records();
  {
    Tensor x = vec({1, 2, 3});
    Tape t(true);
    t.push();
    t.watch(x);
    Tensor y = reduce_sum(exp(x) * x);
    t.pop();
    Tensor g = t.gradient({y}, {x})[0];
    CHECK(live_records() > records);
  }
  CHECK(live_records() == records);
  CHECK(live_tensors() == tensors);
}

// Elementwise fusion (deferred big elementwise ops) gives the same bits as eager evaluation,
// for the values and the gradients of sum(softplus(x * w + b)).
TEST(fusion_matches_eager) {
  const int64_t n = 200003;
  std::vector<double> xv(static_cast<size_t>(n)), wv(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    xv[size_t(i)] = std::sin(0.37 * double(i)) * 3;
    wv[size_t(i)] = std::cos(0.11 * double(i)) * 2;
  }
  auto run = [&](bool fused) {
    set_fusion(fused);
    Tensor x = vec(xv, DType::Float32), w = vec(wv, DType::Float32), b = scalar(0.25, DType::Float32);
    Tape tape;
    tape.push();
    tape.watch(x);
    tape.watch(w);
    tape.watch(b);
    Tensor loss = reduce_sum(softplus(x * w + b));
    tape.pop();
    std::vector<Tensor> g = tape.gradient({loss}, {Source(x), Source(w), Source(b)});
    g.insert(g.begin(), loss);
    return g;
  };
  const bool was = fusion_enabled();
  std::vector<Tensor> f = run(true), e = run(false);
  set_fusion(was);
  for (size_t k = 0; k < f.size(); ++k) {
    CHECK(f[k].numel() == e[k].numel());
    bool same = true;
    for (int64_t i = 0; i < f[k].numel(); ++i) same &= f[k].data<float>()[i] == e[k].data<float>()[i];
    CHECK(same);
  }
}

// gt::Real: every function's derivative against central differences of its double version.
TEST(real_gradients_match_finite_differences) {
  struct Fn {
    const char* name;
    Real (*f)(const Real&, const Real&);
    std::vector<std::pair<double, double>> at;
  };
  const std::vector<Fn> fns = {
      {"add", [](const Real& a, const Real& b) { return a + b; }, {{0.3, -1.2}}},
      {"sub", [](const Real& a, const Real& b) { return a - b; }, {{0.3, -1.2}}},
      {"mul", [](const Real& a, const Real& b) { return a * b; }, {{0.3, -1.2}}},
      {"div", [](const Real& a, const Real& b) { return a / b; }, {{0.3, -1.2}}},
      {"neg", [](const Real& a, const Real& b) { return -a * b; }, {{0.3, -1.2}}},
      {"sin", [](const Real& a, const Real& b) { return sin(a * b); }, {{0.3, -1.2}}},
      {"cos", [](const Real& a, const Real& b) { return cos(a) + b; }, {{0.3, -1.2}}},
      {"tan", [](const Real& a, const Real& b) { return tan(a) * b; }, {{0.3, -1.2}}},
      {"exp", [](const Real& a, const Real& b) { return exp(a - b); }, {{0.3, -1.2}}},
      {"expm1", [](const Real& a, const Real& b) { return expm1(a) * b; }, {{0.3, -1.2}}},
      {"log", [](const Real& a, const Real& b) { return log(a) / b; }, {{0.3, -1.2}}},
      {"log1p", [](const Real& a, const Real& b) { return log1p(a * a) + b; }, {{0.3, -1.2}}},
      {"sqrt", [](const Real& a, const Real& b) { return sqrt(a) * b; }, {{0.3, -1.2}}},
      {"tanh", [](const Real& a, const Real& b) { return tanh(a + b); }, {{0.3, -1.2}}},
      {"abs", [](const Real& a, const Real& b) { return abs(a * b); }, {{0.3, -1.2}}},
      {"sigmoid", [](const Real& a, const Real& b) { return sigmoid(a * b); }, {{0.3, -1.2}, {30.0, 2.0}}},
      {"softplus", [](const Real& a, const Real& b) { return softplus(a * b); }, {{0.3, -1.2}, {-40.0, 1.5}}},
      {"pow", [](const Real& a, const Real& b) { return pow(a, b); }, {{0.7, -1.2}, {2.0, 3.0}}},
      {"compound", [](const Real& a, const Real& b) {
         Real r = a;
         r *= b;
         r += a;
         r -= b;
         r /= a + 2.0;
         return r;
       }, {{0.3, -1.2}}},
  };
  for (const Fn& fn : fns) {
    for (auto [x, y] : fn.at) {
      RealTape tape;
      Real a = tape.variable(x), b = tape.variable(y);
      Real out = fn.f(a, b);
      std::vector<double> g = tape.gradient(out, {a, b});
      const double h = 1e-6;
      auto value = [&](double u, double v) { return fn.f(Real(u), Real(v)).value(); };
      const double da = (value(x + h, y) - value(x - h, y)) / (2 * h);
      const double db = (value(x, y + h) - value(x, y - h)) / (2 * h);
      if (std::fabs(g[0] - da) > 1e-6 * (1 + std::fabs(da)) || std::fabs(g[1] - db) > 1e-6 * (1 + std::fabs(db)))
        std::printf("  %s at (%g, %g): gradient (%.10g, %.10g), central differences (%.10g, %.10g)\n", fn.name, x,
                    y, g[0], g[1], da, db);
      CHECK_NEAR(g[0], da, 1e-6 * (1 + std::fabs(da)));
      CHECK_NEAR(g[1], db, 1e-6 * (1 + std::fabs(db)));
    }
  }
}

// The W3 chain on Reals equals the hand-written adjoint; a long tape needs no recursion and
// stays within 16 bytes per one-operand op.
TEST(real_chain_and_memory) {
  for (long n : {1000L, 1000000L}) {
    RealTape tape;
    Real x0 = tape.variable(0.5);
    Real x = x0;
    for (long i = 0; i < n; ++i) x = sin(x) * 1.0001 + 0.001;
    double g_hand = 1, xv = 0.5;
    std::vector<double> xs(size_t(n), 0.0);
    for (long i = 0; i < n; ++i) {
      xs[size_t(i)] = xv;
      xv = std::sin(xv) * 1.0001 + 0.001;
    }
    for (long i = n; i-- > 0;) g_hand *= std::cos(xs[size_t(i)]) * 1.0001;
    CHECK_NEAR(x.value(), xv, 0);
    const double g = tape.gradient(x, {x0})[0];
    CHECK_NEAR(g, g_hand, 1e-12 * std::fabs(g_hand) + 1e-300);
    CHECK(tape.size() == size_t(3 * n + 1));
    CHECK(tape.bytes() <= size_t(40 * (3 * n + 1)));  // 16 B/op recorded + vector slack + adjoints
  }
}

TEST(real_misuse_throws_and_constants_are_inactive) {
  Real c = sin(Real(1.0)) * 2.0;  // no tape: plain values
  CHECK(!c.active());
  CHECK_NEAR(c.value(), std::sin(1.0) * 2.0, 0);
  Real stale;
  {
    RealTape tape;
    CHECK_THROWS(RealTape(), TapeError);  // one RealTape per thread
    Real x = tape.variable(2.0), y = tape.variable(3.0);
    Real k = Real(4.0) * 2.0;             // constants stay constants on a tape
    CHECK(!k.active());
    Real z = x * x + k;
    std::vector<double> g = tape.gradient(z, {x, y, k});
    CHECK_NEAR(g[0], 4.0, 0);
    CHECK_NEAR(g[1], 0.0, 0);  // not a dependency
    CHECK_NEAR(g[2], 0.0, 0);  // a constant
    stale = z;
    tape.clear();
    CHECK_THROWS(tape.gradient(stale, {x}), TapeError);
    CHECK_THROWS(stale * 2.0, TapeError);
    Real w = tape.variable(1.0);
    CHECK_NEAR(tape.gradient(exp(w), {w})[0], std::exp(1.0), 1e-15);
  }
  RealTape other;
  CHECK_THROWS(sin(stale), TapeError);  // from a tape that is gone
  std::thread t([] {                     // another thread has its own tape
    RealTape mine;
    Real v = mine.variable(0.25);
    CHECK_NEAR(mine.gradient(v * v, {v})[0], 0.5, 0);
  });
  t.join();
}

TEST(bad_sizes_throw_before_allocating) {
  CHECK_THROWS(Tensor::empty(DType::Float32, Shape({-1})), InvalidArgument);
  CHECK_THROWS(Tensor::empty(DType::Float32, Shape({int64_t(1) << 40, int64_t(1) << 40})), InvalidArgument);
  CHECK_THROWS(reshape(vec({1, 2}), {3}), InvalidArgument);
  CHECK_THROWS(gather(vec({1, 2}), scalar(5, DType::Int32)), InvalidArgument);
  // every path that makes a tensor goes through the one checked byte count: deferred, views, fills
  const int64_t g31 = int64_t(1) << 31, g62 = int64_t(1) << 62;
  CHECK_THROWS(broadcast_to(vec({1}, DType::Float32), Shape({g31, g31})), ResourceExhausted);
  CHECK_THROWS(fill(Shape({g62}), 1.0, DType::Float32), ResourceExhausted);
  CHECK_THROWS(exp(broadcast_to(vec({1}), Shape({g62}))), ResourceExhausted);
  CHECK_THROWS(zeros(Shape({g62, 2}), DType::Bool), InvalidArgument);  // 2**63 elements: past int64
  CHECK_THROWS(range_int(0, std::numeric_limits<int64_t>::max(), 1, DType::Int64), ResourceExhausted);
}

TEST(integer_range_is_exact) {
  const int64_t big = (int64_t(1) << 62) + 1;
  Tensor r = range_int(big, big + 3, 1, DType::Int64);
  CHECK(r.numel() == 3 && r.data<int64_t>()[2] == big + 2);
  Tensor wide = range_int(std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max(), int64_t(1) << 62, DType::Int64);
  CHECK(wide.numel() == 4 && wide.data<int64_t>()[3] == (int64_t(1) << 62));
  CHECK_THROWS(range_int(0, int64_t(1) << 40, int64_t(1) << 39, DType::Int32), InvalidArgument);
}

TEST(reduce_prod_gradient_divides_by_nothing) {
  Tape tape;
  Tensor x = vec({1e30, 1e30, 1e-30}, DType::Float32);
  tape.push();
  tape.watch(x);
  Tensor y = reduce_prod(x);
  tape.pop();
  Tensor g = tape.gradient({y}, {Source(x)})[0];
  CHECK_NEAR(at(g, 0), 1.0, 1e-6);
  CHECK_NEAR(at(g, 1), 1.0, 1e-6);
  CHECK(std::isinf(at(g, 2)));
  Tensor others = prod_others(vec({0, 2, 3, 0}));
  CHECK(at(others, 0) == 0 && at(others, 1) == 0 && at(others, 3) == 0);
  Tensor single = prod_others(vec({0, 2, 3}));
  CHECK(at(single, 0) == 6 && at(single, 1) == 0);
}

Tensor mul_op(const Tensor& a, const Tensor& b) { return multiply(a, b); }
Tensor sin_op(const Tensor& a) { return sin(a); }
void add_to(const std::shared_ptr<Variable>& v, const Tensor& t) { v->assign_add(t); }

TEST(program_records_and_replays) {
  // f(x) = sin(x) * w, with d f / d w by a tape inside, and w += x as an effect
  auto w = std::make_shared<Variable>(scalar(2, DType::Float64));
  std::shared_ptr<Program> p;
  {
    ProgramRecorder rec;
    Tensor x = rec.input(scalar(0.5, DType::Float64));
    Tape tape;
    rec.tape_enter(tape, false, true);
    tape.push();
    Tensor wv = rec.read_variable(w, w->read());
    Tensor y = traced("multiply", &mul_op, traced("sin", &sin_op, x), wv);
    tape.pop();
    rec.tape_exit(tape);
    std::vector<Tensor> g = tape.gradient({y}, {Source(w)});
    rec.tape_gradient(tape, {y}, {Source(w)}, {}, Unconnected::None, {}, g);
    traced_effect("assign_add", &add_to, w, x);
    // a tensor made during the trace by no step is refused until declared a constant
    Tensor three = scalar(3, DType::Float64), four = scalar(4, DType::Float64);
    CHECK_THROWS(traced("multiply", &mul_op, three, four), NotTraceable);
    rec.constant(three);
    rec.constant(four);
    Tensor c = traced("multiply", &mul_op, three, four);  // computed now: a constant
    CHECK(!rec.symbolic(c));
    p = rec.finish({y, g[0], c});
  }
  CHECK(active_recorder() == nullptr);
  CHECK_NEAR(w->value().item(), 2.5, 0);  // the trace's own effect
  CHECK(p->num_inputs() == 1 && p->num_constants() == 1);
  std::vector<Tensor> out = p->run({scalar(1.0, DType::Float64)});
  CHECK_NEAR(out[0].item(), std::sin(1.0) * 2.5, 1e-15);
  CHECK_NEAR(out[1].item(), std::sin(1.0), 1e-15);
  CHECK_NEAR(out[2].item(), 12, 0);
  CHECK_NEAR(w->value().item(), 3.5, 0);  // the replay's effect
  CHECK_THROWS(p->run({}), InvalidArgument);
}

// An op whose recorded ops depend on its input's value (as no op of gradtape's does): with
// it, a gradient plan (made at the program's first run) can meet a run that records other
// ops. That run is given back to a tape, which computes the gradient; when the run has
// already written a variable, it is an error instead. The plan is dropped either way.
Tensor value_dependent(const Tensor& x) { return x.item() > 0 ? sin(x) : sin(cos(x)); }

std::shared_ptr<Program> value_dependent_program(const std::shared_ptr<Variable>& effect) {
  ProgramRecorder rec;
  Tensor x = rec.input(scalar(0.5, DType::Float64));
  if (effect) traced_effect("assign_add", &add_to, effect, x);
  Tape tape;
  rec.tape_enter(tape, false, true);
  tape.push();
  rec.tape_watch(tape, x);
  tape.watch(x);
  Tensor y = traced("value_dependent", &value_dependent, x);
  tape.pop();
  rec.tape_exit(tape);
  std::vector<Tensor> g = tape.gradient({y}, {Source(x)});
  rec.tape_gradient(tape, {y}, {Source(x)}, {}, Unconnected::None, {}, g);
  return rec.finish({g[0]});
}

TEST(gradient_plan_mismatch_goes_back_to_a_tape) {
  set_gradient_plans(true);
  std::shared_ptr<Program> p = value_dependent_program(nullptr);
  CHECK(p->gradient_plan_state() == "not captured");
  CHECK_NEAR(p->run({scalar(1.0, DType::Float64)})[0].item(), std::cos(1.0), 1e-15);  // captures
  CHECK(p->gradient_plan_state() == "ready");
  CHECK_NEAR(p->run({scalar(2.0, DType::Float64)})[0].item(), std::cos(2.0), 1e-15);  // planned
  // x < 0 records cos then sin: not the plan's one op; the call runs again with a tape
  CHECK_NEAR(p->run({scalar(-1.0, DType::Float64)})[0].item(), -std::cos(std::cos(-1.0)) * std::sin(-1.0), 1e-15);
  CHECK(p->gradient_plan_state() == "none");
  CHECK_NEAR(p->run({scalar(2.0, DType::Float64)})[0].item(), std::cos(2.0), 1e-15);

  auto v = std::make_shared<Variable>(scalar(0, DType::Float64));
  std::shared_ptr<Program> q = value_dependent_program(v);
  q->run({scalar(1.0, DType::Float64)});
  q->run({scalar(1.0, DType::Float64)});
  CHECK(q->gradient_plan_state() == "ready");
  CHECK_NEAR(v->value().item(), 2.5, 0);  // the trace's write (0.5) and two runs'
  CHECK_THROWS(q->run({scalar(-1.0, DType::Float64)}), std::logic_error);  // (its write is done)
  CHECK_NEAR(v->value().item(), 1.5, 0);
  CHECK(q->gradient_plan_state() == "none");
  CHECK_NEAR(q->run({scalar(-1.0, DType::Float64)})[0].item(), -std::cos(std::cos(-1.0)) * std::sin(-1.0), 1e-15);
}

TEST(program_cond_and_refusals) {
  std::shared_ptr<Program> p;
  {
    ProgramRecorder rec;
    Tensor x = rec.input(scalar(0.5, DType::Float64));
    rec.begin_block();
    Tensor t = traced("sin", &sin_op, x);
    const int bt = rec.end_block({t});
    rec.begin_block();
    Tensor f = traced("multiply", &mul_op, x, x);
    const int bf = rec.end_block({f});
    Tensor zero = scalar(0, DType::Float64);
    rec.constant(zero);
    Tensor pred = greater(x, zero);  // made by no step
    CHECK_THROWS(rec.cond(pred, bt, bf), NotTraceable);
    Tensor ok = traced("greater", &greater, x, zero);
    std::vector<Tensor> r = rec.cond(ok, bt, bf);
    CHECK_NEAR(r[0].item(), std::sin(0.5), 1e-15);
    p = rec.finish({r[0]});
  }
  CHECK_NEAR(p->run({scalar(2.0, DType::Float64)})[0].item(), std::sin(2.0), 1e-15);
  CHECK_NEAR(p->run({scalar(-2.0, DType::Float64)})[0].item(), 4.0, 0);
}


// ---- saved models (gradtape/saved_model.h) ----

std::string temp_dir() {
  char tmpl[] = "/tmp/gt_saved_model_XXXXXX";
  const char* d = mkdtemp(tmpl);
  return d ? std::string(d) : std::string("/tmp");
}

std::string slurp(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  std::string s;
  if (!f) return s;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
  std::fclose(f);
  return s;
}

void spit(const std::string& path, const std::string& data) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return;
  std::fwrite(data.data(), 1, data.size(), f);
  std::fclose(f);
}

using UnaryFn = Tensor (*)(const Tensor&);
using BinaryFn = Tensor (*)(const Tensor&, const Tensor&);

// A program traced in C++ (no variables: no checkpoint), saved, loaded and run.
TEST(saved_model_round_trip_from_cpp) {
  std::shared_ptr<Program> p;
  {
    ProgramRecorder rec;
    Tensor x = rec.input(from_data(std::vector<double>{0.5, -1.0, 2.0}.data(), DType::Float64, Shape{3}));
    Tensor k = from_data(std::vector<double>{1.5, 2.5, 3.5}.data(), DType::Float64, Shape{3});
    rec.constant(k);
    Tensor s = traced("sin", static_cast<UnaryFn>(&gt::sin), x);
    Tensor y = traced("multiply", static_cast<BinaryFn>(&gt::multiply), s, k);
    Tensor r = traced("reduce_sum", static_cast<Tensor (*)(const Tensor&, const Axes&, bool)>(&gt::reduce_sum), y,
                      Axes(std::vector<int64_t>{0}), false);
    Tensor zero = scalar(0, DType::Float64);
    rec.constant(zero);
    Tensor pred = traced("greater", static_cast<BinaryFn>(&gt::greater), r, zero);
    rec.begin_block();
    Tensor t = traced("exp", static_cast<UnaryFn>(&gt::exp), r);
    const int bt = rec.end_block({t});
    rec.begin_block();
    Tensor f = traced("negative", static_cast<UnaryFn>(&gt::negative), r);
    const int bf = rec.end_block({f});
    std::vector<Tensor> c = rec.cond(pred, bt, bf);
    p = rec.finish({y, c[0]});
  }
  const std::string dir = temp_dir();
  SavedModelWriter w;
  w.add_function("f", "{}");
  w.add_concrete({InputSpec{DType::Float64, {3}}}, *p, "{}");
  w.write(dir, {}, {}, "{}");
  std::shared_ptr<SavedModel> m = load_saved_model(dir);
  CHECK(m->functions().size() == 1 && m->has_function("f") && m->variables().empty());
  for (double a : {0.5, -2.0}) {
    Tensor in = from_data(std::vector<double>{a, -1.0, 2.0}.data(), DType::Float64, Shape{3});
    std::vector<Tensor> want = p->run({in}), got = m->call("f", {in});
    CHECK(got.size() == 2);
    for (int i = 0; i < 3; ++i) CHECK(got[0].data<double>()[i] == want[0].data<double>()[i]);
    CHECK(got[1].item() == want[1].item());
  }
  // a wrong input, an unknown function
  CHECK_THROWS(m->call("f", {scalar(1.0, DType::Float64)}), InvalidArgument);
  CHECK_THROWS(m->call("g", {}), InvalidArgument);
  // corrupt files: every truncation and some flipped bytes give DataLoss, never a crash
  const std::string path = dir + "/saved_model.txt", good = slurp(path);
  int refused = 0;
  for (size_t n = 0; n < good.size(); n += 7) {
    spit(path, good.substr(0, n));
    try {
      load_saved_model(dir);
    } catch (const DataLoss&) {
      ++refused;
    }
  }
  CHECK(refused == int((good.size() + 6) / 7));
  for (size_t i = 0; i < good.size(); i += 11) {
    std::string bad = good;
    bad[i] = char(bad[i] ^ 0x04);
    spit(path, bad);
    try {
      load_saved_model(dir);
    } catch (const DataLoss&) {
    }
  }
  std::string newer = good;
  newer.replace(0, std::string("gradtape-saved-model 1").size(), "gradtape-saved-model 9");
  spit(path, newer);
  CHECK_THROWS(load_saved_model(dir), DataLoss);
  spit(path, good);
  CHECK(load_saved_model(dir)->functions().size() == 1);
  CHECK_THROWS(load_saved_model(dir + "/nothing"), NotFound);
}

// A program shared across sizes (docs/saved-model.md, version 2): saved with a -1 dimension and
// its shape guard, it runs at other sizes where the guard holds, and fails (not replays) where
// it does not; a guard failing before any effect leaves try_run false.
TEST(saved_model_shape_polymorphic_program) {
  std::shared_ptr<Program> p;
  {
    ProgramRecorder rec;
    Tensor x = rec.input(from_data(std::vector<double>{0.5, -1.0, 2.0}.data(), DType::Float64, Shape{3}));
    Tensor y = traced("sin", static_cast<UnaryFn>(&gt::sin), x);
    Tensor z = traced("reduce_sum", static_cast<Tensor (*)(const Tensor&, const Axes&, bool)>(&gt::reduce_sum), y,
                      Axes(std::vector<int64_t>{0}), true);
    rec.note_shape_read(z, 0);  // z has 1 element at every size: a guard step
    rec.note_shape_read(x, 0);  // an input guard: x has 3 elements
    p = rec.finish({z});
  }
  CHECK(p->input_guards().size() == 1 && p->shape_polymorphic_candidate());
  std::vector<Tensor> out;
  Tensor four = from_data(std::vector<double>{1, 2, 3, 4}.data(), DType::Float64, Shape{4});
  CHECK(!p->try_run({four}, out) && out.empty());
  CHECK_THROWS(p->run({four}), InvalidArgument);
  // saved without the input guard (its specs fix that dimension), with the guard step
  std::shared_ptr<Program> q;
  {
    ProgramRecorder rec;
    Tensor x = rec.input(from_data(std::vector<double>{0.5, -1.0, 2.0}.data(), DType::Float64, Shape{3}));
    Tensor y = traced("sin", static_cast<UnaryFn>(&gt::sin), x);
    Tensor z = traced("reduce_sum", static_cast<Tensor (*)(const Tensor&, const Axes&, bool)>(&gt::reduce_sum), y,
                      Axes(std::vector<int64_t>{0}), true);
    rec.note_shape_read(z, 0);
    q = rec.finish({z});
  }
  const std::string dir = temp_dir();
  SavedModelWriter w;
  w.add_function("f", "{}");
  w.add_concrete({InputSpec{DType::Float64, {-1}}}, *q, "{}", true);
  w.write(dir, {}, {}, "{}");
  CHECK(slurp(dir + "/saved_model.txt").rfind("gradtape-saved-model 2\n", 0) == 0);
  CHECK(slurp(dir + "/saved_model.txt").find("shape_guard") != std::string::npos);
  std::shared_ptr<SavedModel> m = load_saved_model(dir);
  std::vector<Tensor> got = m->call("f", {four});
  CHECK(got.size() == 1 && got[0].numel() == 1);
  CHECK(got[0].item() == gt::reduce_sum(gt::sin(four), Axes(std::vector<int64_t>{0}), true).item());
  CHECK(m->call("f", {from_data(std::vector<double>{7}.data(), DType::Float64, Shape{1})})[0].item() == std::sin(7.0));
  // a guard on a size that differs: the call fails rather than replay the trace's size
  std::shared_ptr<Program> g;
  {
    ProgramRecorder rec;
    Tensor x = rec.input(from_data(std::vector<double>{0.5, -1.0, 2.0}.data(), DType::Float64, Shape{3}));
    Tensor y = traced("sin", static_cast<UnaryFn>(&gt::sin), x);
    rec.note_shape_read(y, 0);  // y has 3 elements when traced
    g = rec.finish({y});
  }
  const std::string dir2 = temp_dir();
  SavedModelWriter w2;
  w2.add_function("g", "{}");
  w2.add_concrete({InputSpec{DType::Float64, {-1}}}, *g, "{}", true);
  w2.write(dir2, {}, {}, "{}");
  std::shared_ptr<SavedModel> m2 = load_saved_model(dir2);
  CHECK(m2->call("g", {from_data(std::vector<double>{1, 2, 3}.data(), DType::Float64, Shape{3})})[0].numel() == 3);
  CHECK_THROWS(m2->call("g", {four}), InvalidArgument);
}

// A host call (gt.py_function's step): fn is called at the trace and at every run with the run's
// values; a run whose fn gives another shape raises; such a program cannot be saved.
TEST(host_call_steps) {
  int calls = 0;
  std::shared_ptr<Program> p;
  Tensor x0 = from_data(std::vector<double>{1, 2}.data(), DType::Float64, Shape{2});
  {
    ProgramRecorder rec;
    Tensor x = rec.input(x0);
    std::vector<Tensor> r = rec.host_call("py_function", {x}, [&calls](const std::vector<Tensor>& v) {
      ++calls;
      if (v[0].data<double>()[0] < 0) return std::vector<Tensor>{gt::concat({v[0], v[0]}, 0)};
      return std::vector<Tensor>{gt::multiply(v[0], v[0])};
    });
    CHECK(calls == 1 && r.size() == 1 && r[0].data<double>()[1] == 4.0);
    p = rec.finish({traced("add", static_cast<BinaryFn>(&gt::add), r[0], x)});
  }
  CHECK(!p->shape_polymorphic_candidate());
  std::vector<Tensor> out = p->run({from_data(std::vector<double>{3, 4}.data(), DType::Float64, Shape{2})});
  CHECK(calls == 2 && out[0].data<double>()[0] == 12.0 && out[0].data<double>()[1] == 20.0);
  CHECK_THROWS(p->run({from_data(std::vector<double>{-1, 4}.data(), DType::Float64, Shape{2})}), InvalidArgument);
  StepWriter w;
  p->save(w);
  CHECK(w.refused == "py_function");
}

// The steps of gt.unique and of a stateless draw with a traced seed, saved and loaded without
// Python: their keys are registered (unique_first/index/count, <op>/seed_tensor, random_fold_in).
TEST(unique_and_seed_steps_are_saved) {
  std::shared_ptr<Program> p;
  {
    ProgramRecorder rec;
    Tensor x = rec.input(from_data(std::vector<int64_t>{4, 2, 4, 9}.data(), DType::Int64, Shape{4}));
    Tensor seed = rec.input(from_data(std::vector<int64_t>{1, 2}.data(), DType::Int64, Shape{2}));
    Tensor first = traced_shape_checked("unique_first", &steps::unique_first, x);
    Tensor index = traced("unique_index", &steps::unique_index, x);
    Tensor count = traced_shape_checked("unique_count", &steps::unique_count, x);
    Tensor u = traced("random_uniform", &steps::draw_seed<&random::uniform, Shape, DType, double, double>, seed,
                      Shape{3}, DType::Float32, 0.0, 1.0);
    Tensor three = scalar(3, DType::Int64);
    rec.constant(three);
    Tensor k = traced("random_fold_in", &steps::fold_in, seed, three);
    p = rec.finish({first, index, count, u, k});
  }
  const std::string dir = temp_dir();
  SavedModelWriter w;
  w.add_function("f", "{}");
  w.add_concrete({InputSpec{DType::Int64, {4}}, InputSpec{DType::Int64, {2}}}, *p, "{}", false);
  w.write(dir, {}, {}, "{}");
  std::shared_ptr<SavedModel> m = load_saved_model(dir);
  Tensor x = from_data(std::vector<int64_t>{-1, -1, 0, 7}.data(), DType::Int64, Shape{4});
  Tensor seed = from_data(std::vector<int64_t>{5, -6}.data(), DType::Int64, Shape{2});
  std::vector<Tensor> got = m->call("f", {x, seed});
  CHECK(got.size() == 5);
  const std::vector<int64_t> first{0, 2, 3}, index{0, 0, 1, 2}, count{2, 1, 1};
  CHECK(std::vector<int64_t>(got[0].data<int64_t>(), got[0].data<int64_t>() + 3) == first && got[0].numel() == 3);
  CHECK(std::vector<int64_t>(got[1].data<int64_t>(), got[1].data<int64_t>() + 4) == index);
  CHECK(std::vector<int64_t>(got[2].data<int64_t>(), got[2].data<int64_t>() + 3) == count);
  random::PhiloxState s = steps::stateless_state(seed);
  Tensor want = random::uniform(s, Shape{3}, DType::Float32, 0.0, 1.0);
  CHECK(std::memcmp(got[3].raw(), want.raw(), 3 * sizeof(float)) == 0);
  Tensor folded = steps::fold_in(seed, scalar(3, DType::Int64));
  CHECK(got[4].numel() == 2 && std::memcmp(got[4].raw(), folded.raw(), 2 * sizeof(int64_t)) == 0);
  // another number of distinct elements than the trace's: the shape-checked step refuses it
  CHECK_THROWS(m->call("f", {from_data(std::vector<int64_t>{1, 2, 3, 4}.data(), DType::Int64, Shape{4}), seed}),
               InvalidArgument);
  CHECK_THROWS(steps::stateless_state(x), InvalidArgument);
}

// A model saved by Python (tests/test_saved_model.py::test_cpp_loads_python_model runs this
// binary with --saved-model DIR): x.bin is its input, want.bin the output Python computed.
int check_python_saved_model(const std::string& dir) {
  std::shared_ptr<SavedModel> m = load_saved_model(dir);
  const SavedFunction& fwd = m->function("__call__");
  const InputSpec& spec = fwd.concretes.at(0).inputs.at(0);
  std::string xs = slurp(dir + "/x.bin"), want = slurp(dir + "/want.bin"), ys = slurp(dir + "/y.bin");
  Tensor x = from_data(xs.data(), spec.dtype, Shape(spec.shape));
  if (x.nbytes() != xs.size()) {
    std::printf("x.bin has %zu bytes for %zu\n", xs.size(), x.nbytes());
    return 1;
  }
  std::vector<Tensor> out = m->call("__call__", {x});
  if (out.size() != 1 || out[0].nbytes() != want.size() || std::memcmp(out[0].raw(), want.data(), want.size()) != 0) {
    std::printf("the forward pass differs from Python's\n");
    return 1;
  }
  // a function with a print step (gt.print to sys.stdout), before training: C++ writes it to stdout
  for (const SavedFunction& f : m->functions())
    if (f.name == "report") m->call("report", {x});
  const InputSpec& yspec = m->function("train_step").concretes.at(0).inputs.at(1);
  Tensor y = from_data(ys.data(), yspec.dtype, Shape(yspec.shape));
  std::vector<double> losses;
  for (int i = 0; i < 30; ++i) losses.push_back(m->call("train_step", {x, y}).at(0).item());
  std::printf("losses %.6f -> %.6f over %zu variables\n", losses.front(), losses.back(), m->variables().size());
  // a tape around a loaded call: gradients wrt the loaded variables
  Tape tape;
  tape.push();
  Tensor loss = reduce_sum(m->call("__call__", {x}).at(0));
  tape.pop();
  std::vector<Source> srcs;
  for (const auto& v : m->variables())
    if (v->trainable()) srcs.push_back(Source(v));
  std::vector<Tensor> g = tape.gradient({loss}, srcs);
  bool all = !g.empty();
  for (const Tensor& t : g) all = all && t.defined();
  if (!(losses.back() < losses.front()) || !all) {
    std::printf("training or gradients failed\n");
    return 1;
  }
  std::printf("saved model ok\n");
  return 0;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::string(argv[1]) == "--saved-model") {
    try {
      return check_python_saved_model(argv[2]);
    } catch (const std::exception& e) {
      std::printf("error: %s\n", e.what());
      return 1;
    }
  }
  int passed = 0, failed = 0;
  for (const Case& c : cases()) {
    g_failures_in_case = 0;
    try {
      c.fn();
    } catch (const std::exception& e) {
      std::printf("  unexpected exception: %s\n", e.what());
      ++g_failures_in_case;
    }
    if (g_failures_in_case) {
      std::printf("FAILED %s\n", c.name);
      ++failed;
    } else {
      std::printf("ok %s\n", c.name);
      ++passed;
    }
  }
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
