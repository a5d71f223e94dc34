#pragma once
// Which instruction set the hot loops run with: the one place that decides it.
//
// A default build (a wheel, `pip install .`) compiles the core for x86-64-v2 (SSE4.2, what
// manylinux assumes), so it runs on any CPU that can run the wheel at all. The functions that
// hold the hot loops (the elementwise, fusion, reduction, fused-rule and random chunk loops in
// kernels/*.h, fusion.h and random.cpp) are marked GT_DISPATCHED: GCC compiles each of them
// three times, for x86-64-v4 (AVX-512), x86-64-v3 (AVX2, FMA) and the baseline, and the
// dynamic loader picks one per function when the library loads (an ifunc whose resolver tests
// the CPU with __builtin_cpu_supports; nothing is tested per call). The loop bodies, and the
// op lambdas inlined into them, are the same source in the three copies; the vectoriser uses
// libmvec's AVX-512, AVX2 or SSE variants of exp/log/... to match (vecmath.h).
//
// Opt-in -march=native builds (GRADTAPE_NATIVE=ON) compile everything for the build machine
// and need no copies; neither do other architectures (aarch64 has NEON as its baseline) nor
// other compilers. GT_DISPATCHED is empty there. Why function multiversioning and not one
// compilation unit per ISA chosen at import, as NumPy does: docs/building.md.
#if defined(GRADTAPE_DISPATCH) && defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
    __GNUC__ >= 12
#define GT_DISPATCHED __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#define GT_DISPATCH_ENABLED 1
#else
#define GT_DISPATCHED
#endif

// gt::kernel_isa() (gradtape/tensor.h, isa.cpp) reports which copy runs.

namespace gt::kernels {
// The level GT_DISPATCHED's resolvers pick, by the same tests in the same order: 4
// (x86-64-v4), 3 (x86-64-v3), else 2 (the baseline, and every build without dispatch). For the
// kernels whose source differs per instruction set (the direct convolution's register
// blocking, conv_direct.cpp), which are compiled per level with target attributes.
int kernel_isa_level();
}  // namespace gt::kernels
