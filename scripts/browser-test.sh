#!/usr/bin/env bash
# Browser test of the HTML report: runs a job with failing conversations
# against the mock twice (a baseline, then a run where one reply changed, one
# conversation went from error to failed, one gained a turn, one is new and
# one gone), and a matrix job; renders `chatbatch report --html` of the run,
# of the comparison and of the matrix output folder, opens each in headless
# Chromium (Debian's chromium through playwright-core) and checks that they
# render without console errors, that every filter shows exactly the right
# rows and the counts `chatbatch compare --json` gives, that a click shows
# the transcript, and that hostile replies stay text. Screenshots of each
# view go to ${SCREENSHOT_DIR:-/tmp} (chatbatch-report.png,
# chatbatch-compare.png, chatbatch-variants.png). Exits non-zero on any
# failure. ctest runs it as `browser_report` (label browser) when configured
# with -DCHATBATCH_BROWSER_TEST=ON, with the screenshots in the build dir.
#
#   scripts/browser-test.sh [BUILD_DIR]     # default build/ (built if missing)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD="${1:-build}"
SCREENSHOT_DIR="${SCREENSHOT_DIR:-/tmp}"
mkdir -p "$SCREENSHOT_DIR"

need=()
command -v chromium >/dev/null || need+=(chromium)
command -v npm >/dev/null || need+=(npm)
. scripts/lib/apt.sh
apt_install browser-test "${need[@]}"
if [[ ! -d tests/browser/node_modules/playwright-core ]]; then
  echo "browser-test: installing playwright-core into tests/browser/" >&2
  (cd tests/browser && npm install --no-audit --no-fund --loglevel=error)
fi
if [[ ! -x "$BUILD/chatbatch" || ! -x "$BUILD/chatbatch-mock" ]]; then
  scripts/setup.sh
  BUILD=build
fi

work=$(mktemp -d /tmp/chatbatch-browser-XXXXXX)
mock_pid=""
cleanup() {
  [[ -n "$mock_pid" ]] && kill "$mock_pid" 2>/dev/null && wait "$mock_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

"$BUILD/chatbatch-mock" --port 0 --port-file "$work/port" -q &
mock_pid=$!
for _ in $(seq 100); do [[ -s "$work/port" ]] && break; sleep 0.1; done
[[ -s "$work/port" ]] || { echo "browser-test: mock did not start" >&2; exit 1; }
port=$(tr -d '[:space:]' < "$work/port")

# $1: where the job goes; $2: the reply of "changing"; $3: "baseline" or
# "run" (which of the conversations that differ in more than a reply).
write_job() {
  local side_specific
  if [[ $3 == baseline ]]; then
    side_specific='  - id: flip
    messages: ["[[mock status=500 shape=g4f message=\"RuntimeError: flip was down\"]] 2+2?"]
  - id: longer
    messages: ["one turn"]
  - id: gone
    messages: ["only in the baseline"]'
  else
    side_specific='  - id: flip
    messages:
      - content: "[[mock reply=\"five\"]] 2+2?"
        expect: {contains: "4"}
  - id: longer
    messages: ["one turn", "and a second"]
  - id: fresh
    messages: ["only in the run"]'
  fi
  cat > "$1" <<YAML
name: browser
endpoint: http://127.0.0.1:$port/v1/chat/completions
concurrency: 4
retry: {attempts: 1}
defaults: {model: mock-1, provider: Stateless, mock: {pace_ms: 5}}
conversations:
  - id: greeting
    messages: ["Hello there", "How are you today?", "Tell me a joke"]
  - id: reasoning
    messages: ["[[mock reasoning=3]] Think first, then answer"]
  - id: hostile
    messages: ["[[mock reply=\"<script>alert(1)</script></textarea> & more\"]] be nasty"]
  - id: server-down
    messages: ["[[mock status=500 shape=g4f message=\"RuntimeError: provider exploded\"]] hi"]
  - id: cut-short
    messages: ["first is fine", "[[mock cut_after=2]] then the stream is cut"]
  - id: slow
    messages: ["[[mock first_token_ms=300 pace_ms=20]] take your time"]
  - id: wrong
    messages:
      - content: '[[mock reply="five"]] What is 2+2?'
        expect: {contains: "4"}
  - id: changing
    messages: ["[[mock reply=\"$2\"]] say something"]
$side_specific
YAML
}
# Run exit 1: "wrong" failed, "server-down" and "cut-short" are errors.
run_job() {
  set +e
  "$BUILD/chatbatch" run "$1" -o "$2" -q
  local rc=$?
  set -e
  [[ $rc -eq 1 ]] || { echo "browser-test: run exited $rc, want 1" >&2; exit 1; }
}
write_job "$work/baseline.yaml" 'the <b>old</b> answer' baseline
run_job "$work/baseline.yaml" "$work/baseline"
write_job "$work/job.yaml" 'the <img/src=x/onerror=alert(2)> new answer' run
run_job "$work/job.yaml" "$work/run"
# A matrix job: one run directory per set under one output folder.
{
  sed -n '1,/^conversations:/p' "$work/job.yaml" | sed '/^conversations:/d'
  echo 'matrix:'
  echo '  - {name: one, model: mock-1}'
  echo '  - {name: two, model: mock-2}'
  sed -n '/^conversations:/,$p' "$work/job.yaml"
} > "$work/matrix.yaml"
run_job "$work/matrix.yaml" "$work/matrix"
"$BUILD/chatbatch" report "$work/run" --html "$work/report.html"
"$BUILD/chatbatch" report "$work/baseline" "$work/run" --html "$work/compare.html"
"$BUILD/chatbatch" compare "$work/baseline" "$work/run" --json > "$work/compare.json"
"$BUILD/chatbatch" report "$work/matrix" --html "$work/variants.html"
cp "$work/report.html" /tmp/chatbatch-report.html
node tests/browser/report_test.mjs "$work/report.html" "$work/compare.html" \
  "$work/compare.json" "$work/variants.html" "$SCREENSHOT_DIR"
