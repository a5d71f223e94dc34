"""The installed C++ package: the C++ example (examples/cpp_project), built with
find_package(gradtape) against the pip-installed wheel, runs with no environment variables (its
RPATH finds libscipy_openblas), and the package's version file is honoured.

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

EXAMPLE = ROOT / "examples" / "cpp_project"  # the C++ example: CMakeLists.txt + main.cpp

# A project asking for a version: the version file accepts gradtape's own and refuses another.
VERSION_CMAKE = """
cmake_minimum_required(VERSION 3.21)
project(gradtape_version LANGUAGES CXX)
find_package(gradtape {version} CONFIG REQUIRED)
message(STATUS "gradtape_VERSION=${{gradtape_VERSION}}")
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


def _configure(src, build, cmakedir):
    gen = ["-G", "Ninja"] if shutil.which("ninja") else []
    return subprocess.run(["cmake", "-S", str(src), "-B", str(build), *gen, "-DCMAKE_BUILD_TYPE=Release",
                           f"-DCMAKE_PREFIX_PATH={cmakedir}", f"-DCMAKE_CXX_COMPILER={_cxx_compiler()}"],
                          capture_output=True, text=True, env=_build_env())


def test_find_package_program_builds_and_runs(tmp_path):
    """examples/cpp_project, built as its CMakeLists.txt says, runs with no environment and
    fits its known answer (a derivative, then a least-squares fit whose matmul is OpenBLAS's)."""
    _need_toolchain()
    cmakedir = _gradtape_main("--cmakedir")
    src = tmp_path / "src"
    shutil.copytree(EXAMPLE, src)  # a copy: the build leaves nothing in the checkout
    build = tmp_path / "build"
    r = _configure(src, build, cmakedir)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"gradtape_VERSION={gt.__version__}" in r.stdout
    r = subprocess.run(["cmake", "--build", str(build), "-j2"], capture_output=True, text=True, env=_build_env())
    assert r.returncode == 0, r.stdout + r.stderr
    app = build / "app"
    # No environment at all: the RPATH alone must find libscipy_openblas.
    r = subprocess.run([str(app)], capture_output=True, text=True, env={}, cwd=tmp_path, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "dy_dx=6", r.stdout
    assert "w=(2.000, -3.000, 0.500) b=1.000" in lines and lines[-1] == "fit: ok", r.stdout


def test_find_package_version(tmp_path):
    _need_toolchain()
    cmakedir = _gradtape_main("--cmakedir")
    for version, ok in ((gt.__version__, True), ("99.0", False)):
        src = tmp_path / version
        src.mkdir()
        (src / "CMakeLists.txt").write_text(VERSION_CMAKE.format(version=version))
        r = _configure(src, tmp_path / ("build-" + version), cmakedir)
        assert (r.returncode == 0) == ok, r.stdout + r.stderr
        if not ok:
            assert "not compatible with the version requested" in r.stdout + r.stderr, r.stdout + r.stderr
        else:
            assert f"gradtape_VERSION={gt.__version__}" in r.stdout


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
