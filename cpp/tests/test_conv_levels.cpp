// The direct convolution's per-instruction-set kernels (kernels/conv_direct.cpp), each level
// this CPU can run, against a float64 reference on random geometries: strides, dilations,
// window sizes 1-4, odd widths (every block size), 1-40 input channels, 16-64 output
// channels. pytest runs only the level the CPU picks; this runs the others too. The kernels are
// internal to their file, so it is included here (built with the core's definitions and
// options, cpp/tests/CMakeLists.txt). Prints one line per failure and "N passed, M failed".
#include "kernels/conv_direct.cpp"

#include <cmath>
#include <cstdio>
#include <random>

using namespace gt::kernels;

namespace {
using Fn = void (*)(const float*, const Direct&, const float*, float*);
struct Level {
  const char* name;
  Fn fwd, wgrad;
  bool runs;
};
}  // namespace

int main() {
  std::vector<Level> levels;
#if defined(GT_DISPATCH_ENABLED)
  levels.push_back({"x86-64-v4", &fwd_v4, &wgrad_v4, bool(__builtin_cpu_supports("x86-64-v4"))});
  levels.push_back({"x86-64-v3", &fwd_v3, &wgrad_v3, bool(__builtin_cpu_supports("x86-64-v3"))});
#endif
  levels.push_back({"baseline", &fwd_base, &wgrad_base, true});
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> U(-1, 1);
  int passed = 0, failed = 0;
  for (int t = 0; t < 200; ++t) {
    Direct d{};
    d.kh = 1 + rng() % 4; d.kw = 1 + rng() % 4; d.sh = 1 + rng() % 3; d.sw = 1 + rng() % 3;
    d.dh = 1 + rng() % 2; d.dw = 1 + rng() % 2; d.c = 1 + rng() % 40; d.o = 16 * (1 + rng() % 4);
    d.oh = 1 + rng() % 9; d.ow = 1 + rng() % 31;
    d.hp = (d.oh - 1) * d.sh + (d.kh - 1) * d.dh + 1;
    d.wp = (d.ow - 1) * d.sw + (d.kw - 1) * d.dw + 1;
    // exactly sized buffers: a read past the padded image is caught under ASan
    std::vector<float> xp(size_t(d.hp * d.wp * d.c)), w(size_t(d.kh * d.kw * d.c * d.o)), g(size_t(d.oh * d.ow * d.o));
    for (float& v : xp) v = U(rng);
    for (float& v : w) v = U(rng);
    for (float& v : g) v = U(rng);
    std::vector<double> out_ref(g.size(), 0.0), gw_ref(w.size(), 0.0);
    for (int64_t r = 0; r < d.oh; ++r)
      for (int64_t q = 0; q < d.ow; ++q)
        for (int64_t i = 0; i < d.kh; ++i)
          for (int64_t j = 0; j < d.kw; ++j)
            for (int64_t c = 0; c < d.c; ++c) {
              const double x = xp[size_t(((r * d.sh + i * d.dh) * d.wp + q * d.sw + j * d.dw) * d.c + c)];
              for (int64_t o = 0; o < d.o; ++o) {
                out_ref[size_t((r * d.ow + q) * d.o + o)] += x * w[size_t(((i * d.kw + j) * d.c + c) * d.o + o)];
                gw_ref[size_t(((i * d.kw + j) * d.c + c) * d.o + o)] += x * g[size_t((r * d.ow + q) * d.o + o)];
              }
            }
    for (const Level& l : levels) {
      if (!l.runs) continue;
      std::vector<float> out(out_ref.size(), NAN), gw(gw_ref.size(), 0.0f);
      l.fwd(xp.data(), d, w.data(), out.data());
      l.wgrad(xp.data(), d, g.data(), gw.data());
      double e_out = 0, e_gw = 0;
      for (size_t i = 0; i < out.size(); ++i) e_out = std::max(e_out, std::fabs(out[i] - out_ref[i]));
      for (size_t i = 0; i < gw.size(); ++i) e_gw = std::max(e_gw, std::fabs(gw[i] - gw_ref[i]));
      // not `<` on NaN: an output the kernel never wrote fails
      const bool ok = e_out < 1e-5 * double(d.kh * d.kw * d.c) + 1e-6 && e_gw < 1e-5 * double(d.oh * d.ow) + 1e-6;
      if (ok) {
        ++passed;
      } else {
        ++failed;
        std::printf("FAILED %s case %d: max error %g (forward), %g (filters' gradient)\n", l.name, t, e_out, e_gw);
      }
    }
  }
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
