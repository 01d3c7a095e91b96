#!/usr/bin/env bash
# Build-time benchmark (docs/install.md "Build time"): builds HEAD's tree
# from scratch in a temporary directory with each setting of
# cmake/build_speed.cmake, one after another on this machine, and prints a
# Markdown table of wall time and the CPU time of the compiles:
#   no unity, no ccache      what a build was before the settings existed
#   unity, no ccache         a fresh machine (CI without its cache directory)
#   unity, ccache cold       the first CI run with a cache directory
#   unity, ccache warm       a later run: another clone, the same cache
# then two rebuilds in the first two trees: one .cc touched, one header
# that a third of the sources include touched.
#   scripts/bench-build.sh            (about 20 minutes on 2 cores)
# Run it on an idle machine; compare rows of one run, not across days.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS="${JOBS:-2}"
work=$(mktemp -d /tmp/chatbatch-bench-build-XXXXXX)
trap 'rm -rf "$work"' EXIT

# Two clones at different paths, as CI gets, each with build/ inside.
for c in c1 c2; do
  mkdir -p "$work/$c/src"
  git archive HEAD | tar -x -C "$work/$c/src"
done

# Runs "cmake --build" of everything in BUILD_DIR and prints
# "wall_s cpu_s" (CPU: user + system of the build and all its children).
timed_build() {
  if ! /usr/bin/time -f "%e %U %S" -o "$work/time" \
    cmake --build "$1" -j "$JOBS" >"$work/build.log" 2>&1; then
    grep -m3 error: "$work/build.log" >&2
    echo "bench-build: building $1 failed" >&2
    exit 1
  fi
  awk '{printf "%.0f %.0f\n", $1, $2 + $3}' "$work/time"
}

configure() {  # SRC BUILD ARGS...
  local src=$1 build=$2
  shift 2
  cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" \
    >/dev/null
}

row() { printf '| %s | %s s | %s s |\n' "$1" $2; }

echo "| build | wall | CPU |"
echo "| --- | ---: | ---: |"
configure "$work/c1/src" "$work/off" -DCHATBATCH_UNITY_BUILD=OFF \
  -DCHATBATCH_CCACHE=OFF
row "clean, no unity, no ccache" "$(timed_build "$work/off")"
configure "$work/c1/src" "$work/on" -DCHATBATCH_CCACHE=OFF
row "clean, unity, no ccache" "$(timed_build "$work/on")"

if command -v ccache >/dev/null; then
  export CCACHE_DIR="$work/ccache" CCACHE_NOHASHDIR=1
  for c in c1 c2; do
    export CCACHE_BASEDIR="$work/$c"
    configure "$work/$c/src" "$work/$c/build" -DCHATBATCH_CCACHE=ON
  done
  row "clean, unity, ccache cold" \
    "$(CCACHE_BASEDIR="$work/c1" timed_build "$work/c1/build")"
  row "clean, unity, ccache warm (other clone)" \
    "$(CCACHE_BASEDIR="$work/c2" timed_build "$work/c2/build")"
  unset CCACHE_DIR CCACHE_BASEDIR
fi

for f in src/wire/chunk_decoder.cc src/util/text.h; do
  for t in off on; do
    touch "$work/c1/src/$f"
    label="rebuild after touching $f, $([[ $t == on ]] && echo unity || echo no unity)"
    row "$label" "$(timed_build "$work/$t")"
  done
done
