#!/usr/bin/env bash
# Installs chatbatch's build dependencies (Debian 12 packages) and builds
# Release into build/. Idempotent: re-running only rebuilds what changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake ninja-build pkg-config clang-format python3
  libcurl4-openssl-dev libsimdjson-dev libyaml-cpp-dev libspdlog-dev
  libfmt-dev libgtest-dev libgmock-dev libcli11-dev libevent-dev
  nlohmann-json3-dev uuid-dev curl libxxhash-dev libre2-dev libxml2-utils libdtl-dev libcsv-dev libbenchmark-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  echo "setup: installing ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

BUILD_TYPE="${BUILD_TYPE:-Release}"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE="$BUILD_TYPE" >/dev/null
cmake --build build -j "${JOBS:-2}"
echo "setup: built build/chatbatch and build/chatbatch-mock" >&2
