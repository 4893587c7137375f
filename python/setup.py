# Builds the pymetal extension module from src/*.cpp and the header-only library in ../include.
#
# On Linux the module needs softmetal (libsoftmetal.so), which CMake builds, not pip. Where to find it
# is compiled in, first found of:
#   $PYMETAL_SOFTMETAL_PATH                 an explicit path
#   ../build/softmetal/objects/libsoftmetal.so   this checkout's CMake build (scripts/test, scripts/demo)
# and otherwise the module looks up libsoftmetal.so on the loader's path (an installed pymetal:
# `cmake --install build`, then ldconfig) or in $PYMETAL_METAL at run time.
import os
import sys
from glob import glob
from pathlib import Path

from pybind11.setup_helpers import Pybind11Extension, build_ext
from setuptools import setup

here = Path(__file__).resolve().parent
include = here.parent / "include"
if not (include / "pymetal" / "metal.hpp").exists():
    sys.exit(f"pymetal: {include}/pymetal/metal.hpp is missing: build from a pymetal checkout (pip install ./python)")

macros = []
if sys.platform != "darwin":
    softmetal = os.environ.get("PYMETAL_SOFTMETAL_PATH") or str(here.parent / "build/softmetal/objects/libsoftmetal.so")
    if Path(softmetal).exists():
        macros.append(("PYMETAL_SOFTMETAL_PATH", '"' + str(Path(softmetal).resolve()) + '"'))
    else:
        print("pymetal: libsoftmetal.so not found; the module will look for it on the loader's path or in "
              "$PYMETAL_METAL (build it with: cmake -S . -B build && cmake --build build --target softmetal)",
              file=sys.stderr)

setup(
    ext_modules=[
        Pybind11Extension(
            "pymetal",
            sorted(glob("src/*.cpp")),
            include_dirs=[str(include)],
            define_macros=macros,
            libraries=["dl"] if sys.platform != "darwin" else [],
            cxx_std=17,
        )
    ],
    cmdclass={"build_ext": build_ext},
)
