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
  dpkg-dev # scripts/package.sh's dpkg-shlibdeps
  slurmctld slurmd slurm-client munge # scripts/slurm/test.sh's cluster
  ccache # used by the build when present (cmake/build_speed.cmake)
  groff-base zsh # man_and_completions renders the man pages, loads _chatbatch
  python3-yaml # tests/docs/ci_examples_test.py reads the CI examples
  lintian man-db # debian_package checks the .deb and reads its man pages
)

. scripts/lib/apt.sh
apt_install setup "${PACKAGES[@]}"

BUILD_TYPE="${BUILD_TYPE:-Release}"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE="$BUILD_TYPE" >/dev/null
cmake --build build -j "${JOBS:-2}"
echo "setup: built build/chatbatch and build/chatbatch-mock" >&2
