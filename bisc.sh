#!/usr/bin/env bash
# bisc's one entry point for a new machine (Debian 12). Each command installs what is missing,
# configures, builds and runs:
#
#   ./bisc.sh demo [IMAGE]   compile the bundled BiSeNetV2 and segment an image into out/*.png
#   ./bisc.sh test           build everything and run every test (what CI runs)
#   ./bisc.sh build          install, configure and build only
#
# BUILD_DIR (default build/) and JOBS (default: all cores) may be set in the environment.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
JOBS="${JOBS:-$(nproc)}"

# Debian packages, pinned by name. Python ones serve the reference data and peers.
PACKAGES=(
  cmake ninja-build ccache g++ llvm-19-dev libfmt-dev nlohmann-json3-dev doctest-dev
  libonnx-dev libstb-dev
  qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross
  python3-torch python3-numpy python3-onnx libopenblas0-openmp
)

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

install_packages() {
  local missing=()
  for package in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
      || missing+=("$package")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "bisc.sh: installing ${missing[*]}"
    as_root apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
  fi
  # Node.js may come from elsewhere than Debian (its npm bundled); only install it if absent.
  if ! command -v npm >/dev/null; then
    as_root apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs npm
  fi
}

# ONNX Runtime (npm onnxruntime-node) is the oracle of the ONNX tests and a benchmark peer.
install_onnxruntime() {
  if [ -x "$ROOT/tests/onnx/install_ort.sh" ]; then
    "$ROOT/tests/onnx/install_ort.sh" "$BUILD_DIR/node"
  fi
}

build() {
  install_packages
  cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release
  cmake --build "$BUILD_DIR" -j "$JOBS"
}

run_tests() {
  build
  install_onnxruntime
  ctest --test-dir "$BUILD_DIR" -j "$JOBS" --output-on-failure --timeout 1200
}

demo() {
  build
  local image="${1:-$ROOT/examples/segment/street.png}"
  local out="$ROOT/out"
  mkdir -p "$out"
  "$BUILD_DIR/bin/bisc" compile "$ROOT/models/bisenetv2.json" --random-weights 0 \
    --name bisenetv2 -o "$out/bisenetv2" --stats
  cmake --build "$BUILD_DIR" --target segment_bisenetv2 -j "$JOBS" >/dev/null
  "$BUILD_DIR/bin/segment_bisenetv2" "$image" "$out/segmentation.png" "$out/overlay.png"
}

case "${1:-}" in
  demo) shift; demo "$@" ;;
  test) run_tests ;;
  build) build ;;
  *)
    echo "usage: ./bisc.sh demo [IMAGE] | test | build" >&2
    exit 2 ;;
esac
