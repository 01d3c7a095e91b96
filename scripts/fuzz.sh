#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) into build-fuzz/ and runs
# each for SECONDS (default 30) on a scratch copy of its seed corpus and
# regression inputs in tests/fuzz/corpus/ and tests/fuzz/regressions/ (the
# repository is never written; a new crash input belongs in regressions/,
# where ctest replays it). Prints executions,
# time, coverage and crashes per target; exits non-zero if any target found a
# crash, leak, timeout or out-of-memory. Run longer with e.g.
#   scripts/fuzz.sh 3600
# Environment: FUZZ_TARGETS (default all three in tests/fuzz/targets.cmake), FUZZ_OUT (where
# crash inputs and the grown corpora are kept; default a fresh temp dir),
# JOBS (build parallelism, default 2).
set -euo pipefail
cd "$(dirname "$0")/.."

secs="${1:-30}"
[[ "$secs" =~ ^[0-9]+$ ]] || { echo "usage: scripts/fuzz.sh [SECONDS]" >&2; exit 2; }

# clang 16: libstdc++ 12's std::expected needs P0848, which clang 14 and 15
# lack (see tests/fuzz/fuzz_flags.cmake). Everything else builds with g++.
CLANG_VERSION=16
PACKAGES=(
  "clang-$CLANG_VERSION" "libclang-rt-$CLANG_VERSION-dev" "llvm-$CLANG_VERSION"
  cmake ninja-build pkg-config libcurl4-openssl-dev libsimdjson-dev
  libyaml-cpp-dev libspdlog-dev libfmt-dev libcli11-dev libevent-dev
  nlohmann-json3-dev uuid-dev libxxhash-dev libre2-dev libcsv-dev
)
. scripts/lib/apt.sh
apt_install fuzz "${PACKAGES[@]}"

llvm_bin="/usr/lib/llvm-$CLANG_VERSION/bin"
# RelWithDebInfo at -O1 without -DNDEBUG: assertions stay on. -g1 keeps
# the line tables a crash's stack needs and drops the rest (as
# scripts/sanitize.sh does).
cmake -S . -B build-fuzz -G Ninja \
  -DCMAKE_CXX_COMPILER="clang++-$CLANG_VERSION" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" \
  -DCHATBATCH_FUZZ=ON -DCHATBATCH_BUILD_TESTS=OFF >/dev/null
targets=(${FUZZ_TARGETS:-fuzz_stream fuzz_job fuzz_turn_record})
cmake --build build-fuzz -j "${JOBS:-2}" --target "${targets[@]}"

out="${FUZZ_OUT:-$(mktemp -d -t chatbatch-fuzz.XXXXXX)}"
mkdir -p "$out"
export ASAN_SYMBOLIZER_PATH="$llvm_bin/llvm-symbolizer"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:symbolize=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

# Last value of "key: N" on libFuzzer's status lines, or of "stat::key: N".
stat() { grep -o "$1 *[0-9]*" "$2" | tail -1 | grep -o '[0-9]*$' || echo "?"; }

failed=0
summary=()
for target in "${targets[@]}"; do
  name="${target#fuzz_}"
  corpus="$out/$name/corpus"
  artifacts="$out/$name/artifacts"
  log="$out/$name/fuzz.log"
  mkdir -p "$corpus" "$artifacts"
  cp -R "tests/fuzz/corpus/$name/." "$corpus/"
  if [[ -d "tests/fuzz/regressions/$name" ]]; then
    cp -R "tests/fuzz/regressions/$name/." "$corpus/"
  fi
  echo "fuzz: $target for ${secs}s (log $log)" >&2
  rc=0
  # One process (no -jobs/-fork): the machine is shared. -timeout: one input
  # taking 5 s is a hang (caught before it eats 2 GiB: libFuzzer's report of
  # an out-of-memory walks the whole heap and can take many minutes, hence
  # also the outer timeout).
  timeout -k 10 $((secs + 300)) "build-fuzz/$target" "$corpus" \
    -dict="tests/fuzz/$name.dict" -max_total_time="$secs" -timeout=5 \
    -rss_limit_mb=2048 \
    -artifact_prefix="$artifacts/" -print_final_stats=1 >"$log" 2>&1 || rc=$?
  execs=$(stat "stat::number_of_executed_units:" "$log")
  rate=$(stat "stat::average_exec_per_sec:" "$log")
  cov=$(stat "cov:" "$log")
  ft=$(stat "ft:" "$log")
  units=$(find "$corpus" -type f | wc -l)
  crashes=$(find "$artifacts" -type f | wc -l)
  line="$target: ${execs} execs in ${secs}s (${rate}/s), cov ${cov}, ft ${ft}, corpus ${units}, crashes ${crashes}"
  if ((rc != 0 || crashes != 0)); then
    failed=1
    line+=" FAILED (exit $rc)"
    echo "fuzz: $target failed; the report:" >&2
    grep -v '^#[0-9]' "$log" | tail -60 >&2
    for f in "$artifacts"/*; do
      [[ -f "$f" ]] || continue
      echo "fuzz: reproduce with build-fuzz/$target $f; input (hex):" >&2
      od -An -tx1 -v "$f" | head -40 >&2
    done
  fi
  summary+=("$line")
done

printf 'fuzz: %s\n' "${summary[@]}"
echo "fuzz: crash inputs and grown corpora in $out" >&2
exit "$failed"
