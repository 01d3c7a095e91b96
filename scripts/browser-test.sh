#!/usr/bin/env bash
# Browser test of the HTML report: runs a job with failing conversations
# against the mock twice (a baseline, then a run where one reply changed),
# renders `chatbatch report --html` of the run and of the comparison, opens
# both in headless Chromium (Debian's chromium through playwright-core) and
# checks that they render, that the all/failed/error/changed filters show
# exactly the right rows, that a click shows the transcript, and that hostile
# replies stay text. Screenshot: ${SCREENSHOT:-/tmp/chatbatch-report.png}.
# Exits non-zero on any failure. ctest runs it as `browser_report` (label
# browser) when configured with -DCHATBATCH_BROWSER_TEST=ON.
#
#   scripts/browser-test.sh [BUILD_DIR]     # default build/ (built if missing)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD="${1:-build}"
SCREENSHOT="${SCREENSHOT:-/tmp/chatbatch-report.png}"

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

# $1: where the job goes; $2: the reply of "changing" (the only difference
# between the baseline and the run).
write_job() {
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
write_job "$work/baseline.yaml" 'the <b>old</b> answer'
run_job "$work/baseline.yaml" "$work/baseline"
write_job "$work/job.yaml" 'the <img/src=x/onerror=alert(2)> new answer'
run_job "$work/job.yaml" "$work/run"
"$BUILD/chatbatch" report "$work/run" --html "$work/report.html"
"$BUILD/chatbatch" report "$work/baseline" "$work/run" --html "$work/compare.html"
cp "$work/report.html" /tmp/chatbatch-report.html
node tests/browser/report_test.mjs "$work/report.html" "$work/compare.html" \
  "$SCREENSHOT"
