"""Runs the C++ tests of the core (cpp/tests, no Python involved) as part of pytest.

The binary is built by the same CMake build as the extension when GRADTAPE_BUILD_TESTS=ON
(.ci/run does this); otherwise this test configures and builds it once under build/cpp-tests.
"""
import glob
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def find_or_build_binary(name="gradtape_cpp_tests"):
    found = sorted(glob.glob(str(ROOT / "build" / "*" / "cpp" / "tests" / name)),
                   key=os.path.getmtime)
    if found:
        return found[-1]
    build = ROOT / "build" / "cpp-tests"
    subprocess.run(["cmake", "-S", str(ROOT), "-B", str(build), "-DGRADTAPE_BUILD_PYTHON=OFF",
                    "-DGRADTAPE_BUILD_TESTS=ON", "-DCMAKE_BUILD_TYPE=Release"], check=True,
                   capture_output=True)
    subprocess.run(["cmake", "--build", str(build), "--target", name, "-j2"], check=True,
                   capture_output=True)
    return str(build / "cpp" / "tests" / name)


def test_cpp_core_tests():
    if not (ROOT / "cpp").exists():
        pytest.skip("no C++ sources in this checkout")
    binary = find_or_build_binary()
    # The binary links OpenBLAS from scipy-openblas32; with pip's build isolation the copy it
    # was built against is gone, so point it at the installed one.
    import scipy_openblas32
    env = dict(os.environ, LD_LIBRARY_PATH=scipy_openblas32.get_lib_dir())
    r = subprocess.run([binary], capture_output=True, text=True, timeout=300, env=env)
    print(r.stdout)
    assert r.returncode == 0, r.stdout + r.stderr
    assert " 0 failed" in r.stdout.splitlines()[-1]


def test_direct_conv_kernels_at_every_isa_level():
    """kernels/conv_direct.cpp's per-level kernels (x86-64-v4, v3, baseline: those this CPU
    runs) against float64 (cpp/tests/test_conv_levels.cpp); pytest's other tests reach only the
    level the CPU picks."""
    if not (ROOT / "cpp").exists():
        pytest.skip("no C++ sources in this checkout")
    binary = find_or_build_binary("gradtape_conv_levels_test")
    import scipy_openblas32
    env = dict(os.environ, LD_LIBRARY_PATH=scipy_openblas32.get_lib_dir())
    r = subprocess.run([binary], capture_output=True, text=True, timeout=300, env=env)
    print(r.stdout)
    assert r.returncode == 0, r.stdout + r.stderr
    assert " 0 failed" in r.stdout.splitlines()[-1]
