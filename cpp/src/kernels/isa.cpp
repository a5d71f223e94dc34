// gt::kernel_isa() and gt::kernel_build_info(): what kernels/isa.h and kernels/vecmath.h chose.
#include "kernels/isa.h"

#include "gradtape/tensor.h"
#include "kernels/vecmath.h"

#include <string>

namespace gt {

const char* kernel_isa() {
#if defined(GRADTAPE_NATIVE_BUILD)
  return "native";
#elif defined(__x86_64__)
#if defined(GT_DISPATCH_ENABLED)
  // The same tests, in the same order, as the resolvers GCC makes for GT_DISPATCHED.
  if (__builtin_cpu_supports("x86-64-v4")) return "x86-64-v4";
  if (__builtin_cpu_supports("x86-64-v3")) return "x86-64-v3";
#endif
  return "x86-64-v2";
#elif defined(__aarch64__)
  return "aarch64";
#else
  return "generic";
#endif
}

namespace kernels {
const char* vecmath_runtime_source();  // vecmath.cpp

int kernel_isa_level() {
#if defined(GT_DISPATCH_ENABLED)
  static const int level = __builtin_cpu_supports("x86-64-v4") ? 4 : __builtin_cpu_supports("x86-64-v3") ? 3 : 2;
  return level;
#else
  return 2;
#endif
}
}  // namespace kernels

const char* kernel_build_info() {
  static const std::string info = [] {
#if defined(GRADTAPE_NATIVE_BUILD)
    std::string s = "-march=native";
#elif defined(__x86_64__)
    std::string s = "baseline x86-64-v2";
#else
    std::string s = "baseline: the compiler's default";
#endif
#if defined(GT_DISPATCH_ENABLED)
    s += ", hot loops dispatched to x86-64-v4/v3/v2";
#endif
#if defined(GT_MVEC_GLIBC_2_35)
    s += ", libmvec (glibc 2.35 set)";
#elif defined(GT_OWN_VECTOR_MATH)
    s += ", libmvec (glibc 2.22 set), ";
    s += kernels::vecmath_runtime_source();
#else
    s += ", scalar libm";
#endif
    return s;
  }();
  return info.c_str();
}

}  // namespace gt
