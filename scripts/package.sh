#!/usr/bin/env bash
# Builds the Debian package chatbatch_<version>_amd64.deb (docs/install.md).
#   scripts/package.sh [OUT_DIR]      (default OUT_DIR: the build directory)
# Builds Release in BUILD_DIR (default build/), configuring it only when it
# is not configured yet, then runs CPack's DEB generator (cmake/package.cmake);
# dpkg-shlibdeps (Debian dpkg-dev) computes Depends. Prints the .deb's path
# on stdout (and nothing else there).
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR="${BUILD_DIR:-build}"
OUT_DIR="${1:-$BUILD_DIR}"

. scripts/lib/apt.sh
apt_install package dpkg-dev  # dpkg-shlibdeps

if [[ ! -f "$BUILD_DIR/CMakeCache.txt" ]]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >&2
fi
# A package of a Debug or sanitizer build would be slow or abort on users'
# machines; reconfiguring such a tree to Release would rebuild all of it.
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD_DIR/CMakeCache.txt")
if [[ "$build_type" != Release ]]; then
  echo "package: $BUILD_DIR is a '$build_type' build, not Release; use" \
    "BUILD_DIR=<another dir>" >&2
  exit 2
fi
# Only what is installed (programs, man pages, completions, changelog):
# the package needs no test binary.
cmake --build "$BUILD_DIR" -j "${JOBS:-2}" --target package_contents >&2

# CPack's scratch tree stays in the build directory; only the .deb moves.
mkdir -p "$OUT_DIR"
scratch="$BUILD_DIR/cpack"
rm -rf "$scratch"
(cd "$BUILD_DIR" && cpack -G DEB -B "$PWD/cpack" >/dev/null)
deb=$(ls "$scratch"/chatbatch_*_amd64.deb)
mv "$deb" "$OUT_DIR/"
echo "$OUT_DIR/$(basename "$deb")"
