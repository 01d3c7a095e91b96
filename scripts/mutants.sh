#!/usr/bin/env bash
# Hand-picked mutants of the code that matters: each one is applied to a
# scratch copy of the tree (never this checkout), built incrementally, and
# the whole ctest suite must fail for it ("killed"). A mutant the suite
# survives is a hole in the tests. Not run in CI (each mutant is a rebuild).
#
#   scripts/mutants.sh            # every mutant; exit 1 if any survives
#   scripts/mutants.sh --list     # the table of mutants
#   scripts/mutants.sh --only K   # mutant K alone (1-based)
#
# Environment: MUTANTS_DIR (scratch copy, default /tmp/chatbatch-mutants,
# kept between runs so later runs build incrementally), JOBS (default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$(pwd)
WORK="${MUTANTS_DIR:-/tmp/chatbatch-mutants}"
JOBS="${JOBS:-2}"

# One mutant per line: FILE|OLD|NEW|WHAT. OLD must occur exactly once in
# FILE; "\n" in OLD/NEW is a line break.
MUTANTS=$(cat <<'EOF'
src/wire/request_builder.cc|    AppendJsonDump(&text, conversation);|    (void)conversation;|drop the `conversation` echo
src/wire/chunk_decoder.cc|  if (staged_.has_error && !state->server_error) {|  if (false && staged_.has_error && !state->server_error) {|skip an error frame
src/run/retry_policy.cc|  if (retry_after) {|  if (false) {|ignore Retry-After
src/run/runner_attempt.cc|  if (t.idle.count() > 0 && sink->body_started_) {|  if (false) {|never arm the idle timer
src/run/runner_attempt.cc|    impl_->RearmDeadline(conv_);|    (void)0;|do not re-arm deadlines when the body begins
src/run/endpoint_gate.cc|  if (now < earliest) {|  if (false) {|let the rate gate pass at once
src/output/run_output.cc|  if (IsSafeRunId(id)) return {};|  return {};|write an id unsanitised (no output-side check)
src/util/safe_id.cc|  if (id.empty() \|\| id.size() > kMaxIdLength) return false;|  return !id.empty();|accept any id as a file name
src/run/runner_tally.cc|  c->exchanges.push_back(Exchange{record.user, record.reply.content});|  c->exchanges.insert(c->exchanges.begin(), Exchange{record.user, record.reply.content});|mis-order turns in the history
src/output/turn_status.cc|  return record.expect_ok ? TurnStatus::kOk : TurnStatus::kFailed;|  return TurnStatus::kOk;|count `failed` as `ok`
src/wire/sse_framer.cc|  // A last line without its line end still counts (servers end that way).\n  if (!line_.empty()) {|  if (false) {|lose the last chunk (a final line without its line end)
src/run/runner.cc|  c->next_turn = prior.turns.size();|  c->next_turn = prior.turns.size() > 0 ? prior.turns.size() - 1 : 0;|append a record twice on resume (re-send the last finished turn)
src/run/trace.cc|      out.replace(pos, value.size(), kMask);|      (void)pos;|let a secret value reach the trace
src/run/trace.cc|        return secret.size() == name.size() &&|        return false \&\& secret.size() == name.size() \&\&|let a secret header reach the trace
src/run/endpoint_health.cc|  if (!down_) return true;|  return true;|every conversation probes a down endpoint on its own
src/run/retry_policy.cc|      if (error.code == ErrorCode::kServer && produced_output &&|      if (false \&\& error.code == ErrorCode::kServer && produced_output \&\&|retry an error frame after text by default
src/output/resume.cc|  if (old.job_hash == kMergedJobHash) {|  if (false) {|accept a merged run's resume
src/job/prompt_reader_jsonl.cc|  if (!nlohmann::json::accept(text)) {|  if (false) {|accept a JSONL row that is not JSON
src/job/openai_batch_line.cc|        std::ranges::find(urls_, url->get<std::string>()) != urls_.end()) {|        true) {|accept any url in a Batch input line
src/job/openai_batch_line.cc|    body.erase("stream");|    (void)0;|send a Batch line's own `stream`
src/report/batch_export.cc|  const bool http_error = !arrived && record.http_status >= 400;|  const bool http_error = false;|drop an HTTP error's status from the Batch output
src/cache/response_cache.cc|    HashPart(state, e.assistant);|    (void)e;|key a cached turn without the earlier replies
src/cache/response_cache.cc|  if (CacheEntryCheck(*reply) != check) {|  if (false) {|read an altered cache entry as a hit
src/run/runner_tally.cc|  if (record->cached) {  // no server timed it|  if (false) {  // no server timed it|time a cached turn as a live one
src/run/load_schedule.cc|      offset_us_ += random_.Exponential(mean_gap_us_);|      offset_us_ += mean_gap_us_;|poisson arrivals at fixed gaps
src/job/job_load_keys.cc|  if (spec.repeat \&\& !ends) {|  if (false) {|let `load.repeat` run forever
src/run/load_meter.cc|    if (cap_hits_ > 0) {|    if (false) {|hide the concurrency cap's hits from client-limited
src/run/load_meter.cc|  if (offset < plan_.window_begin) return false;|  if (false) return false;|measure conversations started in warmup
src/run/runner_load.cc|  if (!c->think) {|  if (true) {|send the next turn without its think time
src/cli/cli_spec.cc|      const bool flag = option->get_expected_max() == 0;|      const bool flag = true;|describe every option as a flag (no value completion)
src/cli/cli_spec.cc|      ->group("");|      ;|show the hidden __cli-spec in --help and the completions
EOF
)

mapfile -t LINES <<<"$MUTANTS"

list() {
  local i=0
  for line in "${LINES[@]}"; do
    i=$((i + 1))
    IFS='|' read -r file _ _ what <<<"${line//\\|/$'\x01'}"
    printf '%2d  %-24s %s\n' "$i" "$file" "${what//$'\x01'/|}"
  done
}

only=""
case "${1:-}" in
  --list) list; exit 0 ;;
  --only) only="${2:?--only K}" ;;
  "") ;;
  *) echo "usage: scripts/mutants.sh [--list | --only K]" >&2; exit 2 ;;
esac

# The scratch copy: this tree's committed and uncommitted files. A file is
# copied only when its bytes differ, and then gets a new modification time:
# a scratch file left mutated by an interrupted run is thereby rebuilt, and
# an unchanged one is not.
mkdir -p "$WORK/src-tree"
python3 - "$SRC" "$WORK/src-tree" <<'PY'
import filecmp, os, shutil, sys
src, dst = sys.argv[1:3]
skip = {".git", "node_modules"}
for root, dirs, files in os.walk(src):
    rel = os.path.relpath(root, src)
    dirs[:] = [d for d in dirs if d not in skip
               and not (rel == "." and d.startswith("build"))]
    os.makedirs(os.path.join(dst, rel), exist_ok=True)
    for name in files:
        a, b = os.path.join(root, name), os.path.join(dst, rel, name)
        if not os.path.exists(b) or not filecmp.cmp(a, b, shallow=False):
            shutil.copyfile(a, b)
            shutil.copymode(a, b)
PY
cd "$WORK/src-tree"
# Each mutant changes one file: without unity batches its rebuild compiles
# that file alone (cmake/build_speed.cmake); ccache is used when installed.
cmake -S . -B "$WORK/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCHATBATCH_UNITY_BUILD=OFF >/dev/null
echo "mutants: building the unmutated tree in $WORK/build" >&2
cmake --build "$WORK/build" -j "$JOBS" >/dev/null
if ! ctest --test-dir "$WORK/build" -j "$JOBS" --timeout 300 >/dev/null 2>&1; then
  echo "mutants: the unmutated suite fails; fix that first" >&2
  exit 2
fi

# Applies mutant "line" to the scratch tree; prints nothing, fails if OLD
# does not occur exactly once.
apply() {
  python3 - "$1" <<'PY'
import sys
spec = sys.argv[1].replace("\\|", "\x01")
path, old, new, _ = spec.split("|", 3)
old = old.replace("\x01", "|").replace("\\n", "\n").replace("\\&", "&")
new = new.replace("\x01", "|").replace("\\n", "\n").replace("\\&", "&")
text = open(path).read()
if text.count(old) != 1:
    sys.exit(f"{path}: the mutated text occurs {text.count(old)} times")
open(path, "w").write(text.replace(old, new))
PY
}

survived=0
i=0
printf '%-3s %-9s %-50s %s\n' "#" "result" "mutant" "killed by (first failing tests)"
for line in "${LINES[@]}"; do
  i=$((i + 1))
  [[ -n "$only" && "$only" != "$i" ]] && continue
  IFS='|' read -r file _ _ what <<<"${line//\\|/$'\x01'}"
  what="${what//$'\x01'/|}"
  # Restored from this copy (not from $SRC, which may change meanwhile);
  # cp gives the restored file a new time, so it is rebuilt.
  cp "$file" "$WORK/unmutated"
  apply "$line"
  log="$WORK/mutant-$i.log"
  if ! cmake --build "$WORK/build" -j "$JOBS" >"$log" 2>&1; then
    result="killed"; by="(does not compile)"
  elif ctest --test-dir "$WORK/build" -j "$JOBS" --timeout 120 >>"$log" 2>&1; then
    result="SURVIVED"; by="-"; survived=$((survived + 1))
  else
    result="killed"
    by=$(grep -E '^\s+[0-9]+ - ' "$log" | sed -E 's/^\s+[0-9]+ - //; s/ \(.*//' |
      head -3 | paste -sd, -)
  fi
  cp "$WORK/unmutated" "$file"
  printf '%-3s %-9s %-50s %s\n' "$i" "$result" "$what" "$by"
done
# Leave the scratch build matching the tree for the next run.
cmake --build "$WORK/build" -j "$JOBS" >/dev/null 2>&1 || true
((survived == 0))
