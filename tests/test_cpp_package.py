"""The installed C++ package: a program built with find_package(gradtape) against the
pip-installed wheel runs with no environment variables (its RPATH finds libscipy_openblas).

Also: `python -m gradtape --cmakedir/--includedir/--libdir/--version`, and that the core
configures with GRADTAPE_SYSTEM_BLAS=ON where a system BLAS is installed (skipped otherwise).
"""
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

import gradtape as gt

ROOT = pathlib.Path(__file__).resolve().parents[1]

APP_CPP = r"""
#include <gradtape/gradtape.h>

#include <cstdio>

int main() {
  gt::Tensor x = gt::scalar(3.0, gt::DType::Float64);
  gt::Tape tape;
  gt::Tensor y;
  {
    gt::TapeScope scope(tape);  // push() here, pop() at the closing brace
    tape.watch(x);
    y = x * x;
  }
  double dy_dx = tape.gradient({y}, {x})[0].item();
  // A matmul goes through OpenBLAS: the library must load at run time.
  gt::Tensor a = gt::fill({2, 2}, 1.5, gt::DType::Float32);
  double s = gt::reduce_sum(gt::matmul(a, a)).item();
  std::printf("dy_dx=%g matmul_sum=%g\n", dy_dx, s);
  return 0;
}
"""

APP_CMAKE = """
cmake_minimum_required(VERSION 3.21)
project(gradtape_app LANGUAGES CXX)
find_package(gradtape {version} CONFIG REQUIRED)
message(STATUS "gradtape_VERSION=${{gradtape_VERSION}}")
add_executable(app main.cpp)
target_link_libraries(app PRIVATE gradtape::core)
"""


def _cxx_compiler():
    for name in (os.environ.get("CXX"), "c++", "g++", "clang++"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


def _need_toolchain():
    if shutil.which("cmake") is None:
        pytest.skip("cmake is not installed")
    if _cxx_compiler() is None:
        pytest.skip("no C++ compiler")


def _gradtape_main(*args):
    r = subprocess.run([sys.executable, "-m", "gradtape", *args], capture_output=True, text=True,
                       check=True)
    return r.stdout.strip()


def _build_env():
    # Nothing from the environment may make the build or the run work by accident.
    env = {k: v for k, v in os.environ.items()
           if k not in ("LD_LIBRARY_PATH", "CMAKE_PREFIX_PATH", "gradtape_DIR", "LIBRARY_PATH", "CPATH")}
    return env


def test_python_m_gradtape_paths():
    cmakedir = pathlib.Path(_gradtape_main("--cmakedir"))
    includedir = pathlib.Path(_gradtape_main("--includedir"))
    libdir = pathlib.Path(_gradtape_main("--libdir"))
    assert _gradtape_main("--version") == gt.__version__
    assert (cmakedir / "gradtapeConfig.cmake").is_file(), cmakedir
    assert (cmakedir / "gradtapeConfigVersion.cmake").is_file()
    assert (cmakedir / "gradtapeTargets.cmake").is_file()
    assert (includedir / "gradtape" / "gradtape.h").is_file()
    assert (includedir / "gradtape" / "ops.def").is_file()
    headers = {p.name for p in (ROOT / "cpp" / "include" / "gradtape").iterdir()}
    if headers:  # every public header is installed
        assert headers <= {p.name for p in (includedir / "gradtape").iterdir()}
    assert (libdir / "libgradtape_core.a").is_file()
    # No argument is an error, not a silent empty line.
    r = subprocess.run([sys.executable, "-m", "gradtape"], capture_output=True, text=True)
    assert r.returncode != 0


def test_find_package_program_builds_and_runs(tmp_path):
    _need_toolchain()
    cmakedir = _gradtape_main("--cmakedir")
    src = tmp_path / "src"
    src.mkdir()
    (src / "main.cpp").write_text(APP_CPP)
    (src / "CMakeLists.txt").write_text(APP_CMAKE.format(version=gt.__version__))
    build = tmp_path / "build"
    env = _build_env()
    gen = ["-G", "Ninja"] if shutil.which("ninja") else []
    r = subprocess.run(["cmake", "-S", str(src), "-B", str(build), *gen, "-DCMAKE_BUILD_TYPE=Release",
                        f"-DCMAKE_PREFIX_PATH={cmakedir}", f"-DCMAKE_CXX_COMPILER={_cxx_compiler()}"],
                       capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"gradtape_VERSION={gt.__version__}" in r.stdout
    r = subprocess.run(["cmake", "--build", str(build), "-j2"], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    app = build / "app"
    # No environment at all: the RPATH alone must find libscipy_openblas.
    r = subprocess.run([str(app)], capture_output=True, text=True, env={}, cwd=tmp_path, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip() == "dy_dx=6 matmul_sum=18", r.stdout


def test_system_blas_configures(tmp_path):
    """GRADTAPE_SYSTEM_BLAS=ON (C++-only builds): configures where a system BLAS with cblas.h is
    installed, and the one file that calls BLAS compiles against it; skipped without one."""
    _need_toolchain()
    build = tmp_path / "build"
    gen = ["-G", "Ninja"] if shutil.which("ninja") else []
    r = subprocess.run(["cmake", "-S", str(ROOT), "-B", str(build), *gen, "-DGRADTAPE_SYSTEM_BLAS=ON",
                        "-DGRADTAPE_BUILD_PYTHON=OFF", "-DCMAKE_BUILD_TYPE=Release"],
                       capture_output=True, text=True, env=_build_env())
    out = r.stdout + r.stderr
    if r.returncode != 0 and ("Could NOT find BLAS" in out or "no cblas.h" in out):
        pytest.skip("no system BLAS with cblas.h installed")
    assert r.returncode == 0, out
    if gen:
        obj = "cpp/CMakeFiles/gradtape_core.dir/src/kernels/matmul.cpp.o"
        r = subprocess.run(["ninja", "-C", str(build), obj], capture_output=True, text=True, env=_build_env())
        assert r.returncode == 0, r.stdout + r.stderr
