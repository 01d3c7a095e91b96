#!/usr/bin/env bash
# End-to-end benchmark (docs/benchmarks.md): chatbatch against its mock
# server, next to two peers on the same workload, the same mock and the same
# core: a Python asyncio client with aiohttp (Debian python3-aiohttp) and the
# official `openai` npm package's streaming client. Each client parses every
# data line and assembles every reply.
#
#   scripts/bench.sh [REPEATS]        (default 3; medians are reported)
#
# Workloads: burst (the mock sends every chunk as fast as it can) at 64, 512
# and 4096 concurrent streams, and paced (25 chunks/s per stream) at 512 and
# 4096; "short": 20,224 single-turn conversations of 8-chunk replies, 256 in
# flight, read from a text file (conversations_from), against the floor
# client making 79 requests in turn on each of 256 kept-alive connections:
# the cost of a turn rather than of a chunk; "turns200": one conversation of
# 200 turns (8-chunk replies, 1 ms apart), the client CPU of its last 20
# turns against its first 20 (turns 2-21: start-up excluded), with `history: last` (requests of a constant
# size) and `history: full` (the history grows every request). Measured per client run: CPU time (user+sys, from wait4 via GNU time)
# per chunk received, and peak RSS per in-flight stream. The mock runs on
# core 0 and the client on core 1 (taskset); the mock's own CPU per chunk is
# printed too, to show it is not the bottleneck. Every run is bounded by a
# timeout; servers bind to 127.0.0.1. Two reference clients run too, to show
# this machine's floor (tests/bench/floor_client.cc): "kernel" (epoll and one
# recv per event, chunks counted, not parsed) and "curl-bare" (libcurl multi
# and simdjson, nothing else). Environment: BENCH_WORKLOADS (names to run,
# default all), BENCH_PEERS (default "aiohttp openai"; "" = chatbatch only),
# BENCH_FLOOR=0 (skip the reference clients), BENCH_BEFORE=PATH (an earlier
# chatbatch binary, run as client "before" beside this one: a change's
# before/after measured in one run). "vs floor" is chatbatch's CPU per chunk
# (per turn for "short") over curl-bare's in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
repeats="${1:-3}"
[[ "$repeats" =~ ^[1-9][0-9]*$ ]] || { echo "usage: scripts/bench.sh [REPEATS]" >&2; exit 2; }
peers="${BENCH_PEERS-aiohttp openai}"
PY=/usr/bin/python3  # Debian's, which has python3-aiohttp

need=(python3-aiohttp time util-linux)
# Node may come from Debian or from elsewhere (nodesource bundles npm).
if [[ " $peers " == *" openai "* ]]; then
  command -v node >/dev/null || need+=(nodejs)
  command -v npm >/dev/null || need+=(npm)
fi
. scripts/lib/apt.sh
apt_install bench "${need[@]}"
[[ -x build/chatbatch && -x build/chatbatch-mock ]] || scripts/setup.sh
[[ -x build/tests/chatbatch_floor_client ]] || cmake --build build -j2 --target chatbatch_floor_client
node_dir="$root/build-bench/node"
if [[ " $peers " == *" openai "* && ! -d "$node_dir/node_modules/openai" ]]; then
  mkdir -p "$node_dir"
  (cd "$node_dir" && [[ -f package.json ]] || echo '{"private":true}' > package.json)
  (cd "$node_dir" && timeout 300 npm install --no-audit --no-fund --silent openai@4 >/dev/null)
fi

work="$(mktemp -d -t chatbatch-bench.XXXXXX)"
# chatbatch's transcripts go to tmpfs when there is one: the peers write no
# files, and the disk is not what is being measured.
outdir="$work/out"
if [[ -d /dev/shm && -w /dev/shm ]]; then outdir="$(mktemp -d -p /dev/shm chatbatch-bench.XXXXXX)"; fi
mock_pid=""
cleanup() { [[ -n "$mock_pid" ]] && kill "$mock_pid" 2>/dev/null; rm -rf "$work" "$outdir"; }
trap cleanup EXIT

cores=$(nproc)
mock_cpu=0; client_cpu=$((cores > 1 ? 1 : 0))
taskset -c "$mock_cpu" build/chatbatch-mock --port 0 --port-file "$work/port" -q &
mock_pid=$!
for _ in $(seq 100); do [[ -s "$work/port" ]] && break; sleep 0.05; done
port=$(cat "$work/port")
base="http://127.0.0.1:$port/v1"

# CPU ticks (user+sys) the mock has used so far.
mock_ticks() { awk '{print $14 + $15}' "/proc/$mock_pid/stat"; }
hz=$(getconf CLK_TCK)

# name streams chunks-per-stream pace_ms. Bursts carry about 640,000 chunks
# so that process start-up is noise; paced replies are 200 chunks (8 s at
# 25/s), a typical LLM answer, so per-conversation costs (connect, request,
# two output files) are spread as they are in real use.
# A fifth field, turns: each stream carries that many turns one after the
# other (the floor client on one kept-alive connection, chatbatch as that
# many single-turn conversations).
workloads=(
  "short 256 8 0 79"
  "burst64 64 10000 0"
  "burst512 512 1250 0"
  "burst4096 4096 160 0"
  "paced512 512 200 40"
  "paced4096 4096 200 40"
)

results="$work/results.tsv"
: > "$results"
# Runs one client once; appends "workload client us_per_chunk kb_per_stream
# mock_us_per_chunk chunks us_per_turn" to results.
run_one() {
  local name=$1 streams=$2 client=$3 body=$4 job=$5 turns=${6:-1}
  local t0 chunks out
  t0=$(mock_ticks)
  case "$client" in
    chatbatch|before)
      local bin=build/chatbatch; [[ "$client" == before ]] && bin="$BENCH_BEFORE"
      # A fresh directory, as a new run has: removing the last repeat's
      # thousands of files (--overwrite) is not a turn's cost.
      rm -rf "${outdir:?}/$name"
      timeout 600 /usr/bin/time -f "%U %S %M" -o "$work/time" taskset -c "$client_cpu" \
        "$bin" run "$job" -o "$outdir/$name" --overwrite -q >/dev/null
      read -r chunks requests < <($PY -c "import json,sys; s=json.load(open(sys.argv[1])); c=s['counts']; print(s['totals']['chunks'], c['turns_ok']+c['turns_failed']+c['turns_error'])" "$outdir/$name/summary.json")
      ;;
    aiohttp)
      out=$(timeout 600 /usr/bin/time -f "%U %S %M" -o "$work/time" taskset -c "$client_cpu" \
        $PY scripts/bench/peer_aiohttp.py "$base/chat/completions" "$body" "$streams")
      chunks=$(sed -n 's/.*chunks=\([0-9]*\).*/\1/p' <<<"$out")
      requests=$streams
      [[ "$out" == *"errors=0"* ]] || { echo "bench: aiohttp: $out" >&2; return 1; }
      ;;
    kernel|curl-bare)
      # This machine's floor: see tests/bench/floor_client.cc.
      local mode=kernel; [[ "$client" == curl-bare ]] && mode=curl
      out=$(timeout 600 /usr/bin/time -f "%U %S %M" -o "$work/time" taskset -c "$client_cpu" \
        build/tests/chatbatch_floor_client "$mode" "$base/chat/completions" "$body" "$streams" "$turns")
      chunks=$(sed -n 's/.*chunks=\([0-9]*\).*/\1/p' <<<"$out")
      requests=$(sed -n 's/.*requests=\([0-9]*\).*/\1/p' <<<"$out")
      [[ "$out" == *"errors=0"* ]] || { echo "bench: $client: $out" >&2; return 1; }
      ;;
    openai)
      # ESM resolves 'openai' next to the script: run a copy in node_dir.
      cp scripts/bench/peer_openai.mjs "$node_dir/"
      out=$(timeout 600 /usr/bin/time -f "%U %S %M" -o "$work/time" \
        taskset -c "$client_cpu" node "$node_dir/peer_openai.mjs" "$base" "$body" "$streams")
      chunks=$(sed -n 's/.*chunks=\([0-9]*\).*/\1/p' <<<"$out")
      requests=$streams
      [[ "$out" == *"errors=0"* ]] || { echo "bench: openai: $out" >&2; return 1; }
      ;;
  esac
  local t1; t1=$(mock_ticks)
  read -r user sys rss < "$work/time"
  $PY - "$name" "$client" "$user" "$sys" "$rss" "$chunks" "$streams" "$((t1 - t0))" "$hz" "$requests" >> "$results" <<'PY'
import sys
name, client, user, sys_, rss, chunks, streams, ticks, hz, requests = sys.argv[1:]
chunks = max(int(chunks), 1)
cpu_us = (float(user) + float(sys_)) * 1e6
print("\t".join([name, client,
                 "%.3f" % (cpu_us / chunks),
                 "%.1f" % (int(rss) / int(streams)),
                 "%.3f" % (int(ticks) / int(hz) * 1e6 / chunks),
                 str(chunks),
                 "%.2f" % (cpu_us / max(int(requests), 1))]))
PY
}

# The floor clients run unless BENCH_FLOOR=0.
floor="kernel curl-bare"; [[ "${BENCH_FLOOR:-1}" == 0 ]] && floor=""
clients=(chatbatch ${BENCH_BEFORE:+before} $peers $floor)
for w in "${workloads[@]}"; do
  read -r name streams chunks pace turns <<<"$w"
  turns=${turns:-1}
  if [[ -n "${BENCH_WORKLOADS:-}" && " $BENCH_WORKLOADS " != *" $name "* ]]; then continue; fi
  # One word per chunk ("w0 w1 ..."), made by the mock: requests stay small.
  body="$work/$name.body.json"
  $PY - "$body" "$chunks" "$pace" <<'PY'
import json, sys
path, chunks, pace = sys.argv[1:]
json.dump({"model": "bench", "provider": "Stateless", "stream": True,
           "messages": [{"role": "user", "content": "bench"}],
           "mock": {"chunks": int(chunks), "pace_ms": int(pace),
                    "words": int(chunks)}}, open(path, "w"))
PY
  seq "$((streams * turns))" | sed 's/^/bench /' > "$work/$name.txt"
  job="$work/$name.yaml"
  cat > "$job" <<EOF
name: $name
endpoint: $base/chat/completions
concurrency: $streams
timeouts: {first_token: 120s, idle: 60s, total: 10m}
defaults: {model: bench, provider: Stateless, mock: {chunks: $chunks, pace_ms: $pace, words: $chunks}}
conversations_from: $name.txt
EOF
  for ((r = 1; r <= repeats; ++r)); do
    for client in "${clients[@]}"; do
      # Only chatbatch and the libcurl floor can make turns in sequence.
      if ((turns > 1)) && [[ " chatbatch before curl-bare " != *" $client "* ]]; then continue; fi
      echo "bench: $name ($streams streams x $turns turns x $chunks chunks, pace ${pace}ms) $client run $r/$repeats" >&2
      run_one "$name" "$streams" "$client" "$body" "$job" "$turns"
    done
  done
done

echo
echo "machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), $(uname -sr)"
echo "mock on core $mock_cpu, client on core $client_cpu; medians of $repeats runs; chatbatch output in $(dirname "$outdir")"
$PY - "$results" <<'PY'
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
by = {}
for name, client, us, kb, mock_us, chunks, us_turn in rows:
    by.setdefault((name, client), []).append(
        (float(us), float(kb), float(mock_us), int(chunks), float(us_turn)))
names = list(dict.fromkeys(r[0] for r in rows))
clients = list(dict.fromkeys(r[1] for r in rows))
med = lambda vals, i: statistics.median(v[i] for v in vals)
print("%-11s %-10s %12s %11s %12s %14s %10s %9s %9s" % ("workload", "client",
      "cpu us/chunk", "us/request", "KB/stream", "mock us/chunk", "chunks",
      "vs chatbatch", "vs floor"))
for name in names:
    base = by.get((name, "chatbatch"))
    floor = by.get((name, "curl-bare"))
    # Per turn where a stream carries several turns, else per chunk.
    per = 4 if name == "short" else 0
    for client in clients:
        vals = by.get((name, client))
        if not vals:
            continue
        ratio = "" if client == "chatbatch" or not base else "%.2fx" % (
            med(vals, per) / med(base, per))
        vs_floor = "" if client == "curl-bare" or not floor else "%.2fx" % (
            med(vals, per) / med(floor, per))
        print("%-11s %-10s %12.3f %11.1f %12.1f %14.3f %10d %9s %9s" % (
            name, client, med(vals, 0), med(vals, 4), med(vals, 1),
            med(vals, 2), vals[0][3], ratio, vs_floor))
PY

# turns200: one conversation of 200 turns; the client's CPU (summed over its
# threads from /proc/PID/task/*/schedstat, nanoseconds) is read by a poller
# on the mock's core each time the .jsonl gains a line. Replies are paced
# (1 ms between chunks) so that a turn lasts long enough for the poller to
# see each one end; the client is mostly idle between chunks, so the reading
# lags a turn's end by little CPU. No change to chatbatch is needed.
if [[ -z "${BENCH_WORKLOADS:-}" || " $BENCH_WORKLOADS " == *" turns200 "* ]]; then
  for history in last full; do
    job="$work/turns200-$history.yaml"
    {
      echo "name: turns200"
      echo "endpoint: $base/chat/completions"
      echo "history: $history"
      echo "defaults: {model: bench, provider: Stateless, mock: {chunks: 8, pace_ms: 1, words: 8}}"
      echo "conversations:"
      echo "  - id: long"
      echo "    messages:"
      for i in $(seq 200); do echo "      - turn $i of a long conversation"; done
    } > "$job"
    for ((r = 1; r <= repeats; ++r)); do
    for client in chatbatch ${BENCH_BEFORE:+before}; do
      bin=build/chatbatch; [[ "$client" == before ]] && bin="$BENCH_BEFORE"
      echo "bench: turns200 (history: $history) $client run $r/$repeats" >&2
      rm -rf "$outdir/turns200"
      taskset -c "$mock_cpu" $PY - "$outdir/turns200" "$client history: $history" >> "$work/turns200.tsv" \
        taskset -c "$client_cpu" "$bin" run "$job" -o "$outdir/turns200" --overwrite -q <<'PY'
import glob, os, subprocess, sys, time
out, history, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
def cpu_ns():
    total = 0
    for f in glob.glob("/proc/%d/task/*/schedstat" % proc.pid):
        try:
            total += int(open(f).read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total
jsonl = os.path.join(out, "long.jsonl")
at = {}  # turns recorded -> client CPU when first seen
lines, offset = 0, 0
while proc.poll() is None:
    try:
        with open(jsonl, "rb") as f:
            f.seek(offset)
            data = f.read()
    except FileNotFoundError:
        data = b""
    offset += len(data)
    n = data.count(b"\n")
    if n:
        lines += n
        at.setdefault(lines, cpu_ns())
    time.sleep(0.0002)
if proc.returncode != 0 or any(k not in at for k in (1, 21, 180, 200)):
    sys.exit("turns200: chatbatch failed, or turns went unseen (%d)" % lines)
# The first window starts at the end of turn 1: the process's start-up and
# its connect are not a turn's cost.
first = at[21] - at[1]
last = at[200] - at[180]
print("%s\t%.1f\t%.1f" % (history, first / 20e3, last / 20e3))
PY
    done
    done
  done
  $PY - "$work/turns200.tsv" <<'PY'
import statistics, sys
by = {}
for line in open(sys.argv[1]):
    history, first, last = line.rstrip("\n").split("\t")
    by.setdefault(history, []).append((float(first), float(last)))
print()
print("%-28s %18s %16s %12s" % ("turns200", "turns 2-21 us/turn", "last 20 us/turn", "last/first"))
for history, vals in by.items():
    first = statistics.median(v[0] for v in vals)
    last = statistics.median(v[1] for v in vals)
    ratio = statistics.median(v[1] / v[0] for v in vals)
    print("%-28s %18.1f %16.1f %11.2fx" % (history, first, last, ratio))
PY
fi
