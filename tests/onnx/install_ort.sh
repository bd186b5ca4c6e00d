#!/usr/bin/env bash
# Installs the ONNX Runtime oracle (npm package onnxruntime-node, CPU build) into DIR;
# tests/onnx/CMakeLists.txt looks in <build>/node (cache variable BISC_ORT_DIR). Idempotent:
# does nothing when DIR already loads the pinned version. --ignore-scripts skips the
# package's install hook, which would try to download GPU providers; the CPU binaries ship
# inside the package itself.
#
#   tests/onnx/install_ort.sh [DIR]        (default DIR: build/node)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dir="${1:-$here/../../build/node}"
# 1.21+ is needed: 1.20 fuses Pad into AveragePool without count_include_pad (wrong V2 logits).
version="${BISC_ORT_VERSION:-1.30.0}"

mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"

loads() { (cd "$dir" && node -e "require('onnxruntime-node')" >/dev/null 2>&1); }

installed() { (cd "$dir" && node -p "require('onnxruntime-node/package.json').version" 2>/dev/null) || true; }

if loads && [ "$(installed)" = "$version" ]; then
  echo "onnxruntime-node $version already installed in $dir"
  exit 0
fi

command -v npm >/dev/null || { echo "install_ort.sh: npm not found (install Debian's nodejs/npm)" >&2; exit 1; }
[ -f "$dir/package.json" ] || echo '{ "name": "bisc-ort-oracle", "private": true }' > "$dir/package.json"
(cd "$dir" && npm install --ignore-scripts --no-audit --no-fund --no-save "onnxruntime-node@$version")

if ! loads; then
  echo "install_ort.sh: onnxruntime-node installed in $dir but does not load" >&2
  (cd "$dir" && node -e "require('onnxruntime-node')") || true
  exit 1
fi
echo "onnxruntime-node $version installed in $dir"
