# Sourced by scripts/test and scripts/demo: installs what pymetal needs and is missing.
#
# Debian/Ubuntu: apt-get (update first), as root or through sudo. macOS: names what to brew install.

# The Debian packages the build and the demo need, and why (softmetal's build and run-time needs).
pymetal_debian_packages=(
  cmake g++ make            # the build
  libgnustep-base-dev       # GNUstep Base: NSObject, NSString, NSError, NSAutoreleasePool on Linux
  libobjc4                  # the GNU Objective-C runtime (libobjc.so.4)
  clang-19                  # softmetal compiles MSL kernels with clang++-19 at run time
  libclang-rt-19-dev        # compiler-rt for clang-19 (bfloat arithmetic in kernels)
  libboost-context-dev      # softmetal runs threads with barriers as Boost.Context fibers
  libssl-dev                # softmetal's kernel cache keys and entry checks use libcrypto's SHA-256
  python3-dev pybind11-dev python3-pybind11  # the Python module (python/), built by scripts/test and scripts/demo
)
# Only scripts/test needs these: Catch2 for the C++ tests, pytest and NumPy for the Python ones, PoCL and
# OpenCL for the benchmarks that compare softmetal with them; libpng lets the image examples (Mandelbrot
# as PNG, the texture image filter) build and run as tests; Doxygen builds and checks the API reference.
pymetal_debian_test_packages=(
  catch2                    # the tests (Catch2 2.13 on bookworm)
  python3-pytest python3-numpy
  pocl-opencl-icd ocl-icd-opencl-dev opencl-headers
  libpng-dev
  libopenblas-dev            # bench_kernels: OpenBLAS is the SGEMM reference (benchmark only)
  doxygen                    # the API reference (pymetal_docs) and its check that every public type is documented
)

# pymetal_missing_debian_packages PACKAGE...: those not installed.
pymetal_missing_debian_packages() {
  local missing=() package
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
  done
  echo "${missing[@]}"
}

# pymetal_install_dependencies [test]: what the build and the demo need, and with `test` also what only
# the tests need.
pymetal_install_dependencies() {
  local wanted=("${pymetal_debian_packages[@]}")
  [[ ${1:-} == test ]] && wanted+=("${pymetal_debian_test_packages[@]}")
  case "$(uname -s)" in
    Darwin)
      local needed=()
      command -v cmake >/dev/null || needed+=(cmake)
      [[ -d "$(brew --prefix 2>/dev/null)/include/catch2" ]] || needed+=(catch2)
      if ((${#needed[@]})); then
        echo "pymetal needs: brew install ${needed[*]}" >&2
        echo "(Xcode's command line tools provide the compiler and Metal itself.)" >&2
        return 1
      fi
      python3 -c 'import pybind11' 2>/dev/null ||
        echo "pymetal: the Python module is skipped without pybind11 (brew install pybind11; its tests also need pytest and numpy)" >&2
      ;;
    Linux)
      if ! command -v dpkg-query >/dev/null; then
        echo "pymetal: automatic set-up supports Debian and Ubuntu. Install the equivalents of: ${wanted[*]}" >&2
        return 1
      fi
      local missing
      missing=$(pymetal_missing_debian_packages "${wanted[@]}")
      [[ -z $missing ]] && return 0
      local sudo=()
      if [[ $(id -u) -ne 0 ]]; then
        if command -v sudo >/dev/null; then
          sudo=(sudo)
        else
          echo "pymetal: missing packages: $missing (run as root or install them with apt-get)" >&2
          return 1
        fi
      fi
      echo "pymetal: installing $missing"
      "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
      # shellcheck disable=SC2086
      "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
      ;;
    *)
      echo "pymetal: unsupported platform $(uname -s)" >&2
      return 1
      ;;
  esac
}

pymetal_jobs() {
  if command -v nproc >/dev/null; then nproc; else sysctl -n hw.ncpu; fi
}
