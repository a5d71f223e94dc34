"""``python -m gradtape``: where the C++ package is installed, for CMake and compilers.

    cmake -S . -B build -DCMAKE_PREFIX_PATH="$(python -m gradtape --cmakedir)"

then ``find_package(gradtape CONFIG REQUIRED)`` and
``target_link_libraries(app PRIVATE gradtape::core)`` (docs/cpp-api.md).
"""
import argparse
import os
import sys
from typing import List, Optional

_PACKAGE = "gradtape"


def _package_root() -> str:
    """The directory holding gradtape's installed C++ files (include/, lib/).

    Normally this package's own directory; an editable install keeps the Python sources
    elsewhere, so the first ``gradtape`` directory on sys.path that has them is used then.
    """
    here = os.path.dirname(os.path.abspath(__file__))
    candidates = [here] + [os.path.join(p or os.getcwd(), _PACKAGE) for p in sys.path]
    for c in candidates:
        if os.path.isfile(os.path.join(c, "lib", "cmake", _PACKAGE, "gradtapeConfig.cmake")):
            return c
    return here


def includedir() -> str:
    """The directory to put on the include path (``#include <gradtape/gradtape.h>``)."""
    return os.path.join(_package_root(), "include")


def libdir() -> str:
    """The directory holding the static core library (libgradtape_core.a)."""
    return os.path.join(_package_root(), "lib")


def cmakedir() -> str:
    """The directory holding gradtapeConfig.cmake (for CMAKE_PREFIX_PATH or gradtape_DIR)."""
    return os.path.join(libdir(), "cmake", _PACKAGE)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gradtape",
                                     description="Paths of gradtape's installed C++ package.")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--version", action="store_true", help="print the package version")
    group.add_argument("--cmakedir", action="store_true", help="print the directory of gradtapeConfig.cmake")
    group.add_argument("--includedir", action="store_true", help="print the C++ include directory")
    group.add_argument("--libdir", action="store_true", help="print the directory of the core library")
    args = parser.parse_args(argv)
    if args.version:
        from gradtape import __version__
        print(__version__)
    elif args.cmakedir:
        print(cmakedir())
    elif args.includedir:
        print(includedir())
    else:
        print(libdir())
    return 0


if __name__ == "__main__":
    sys.exit(main())
