#!/usr/bin/env bash
# Load mode's own benchmark (docs/benchmarks.md, "Load mode"): can the
# client keep an open-loop schedule? chatbatch starts RATE conversations per
# second (Poisson, one turn of 8 chunks 2 ms apart after a 5 ms first token)
# against its mock for SECONDS, REPEATS times, and prints each run's
# schedule lag (p50/p99/max), achieved rate, CPU share and peak RSS from
# summary.json, then the medians. The mock runs on core 0, the client on
# core 1. Bounded: each run stops starting conversations after SECONDS and
# is killed after SECONDS + 60.
#   scripts/bench-load.sh [REPEATS [RATE [SECONDS]]]   (default 3 1000 10)
set -euo pipefail
cd "$(dirname "$0")/.."

repeats="${1:-3}"
rate="${2:-1000}"
seconds="${3:-10}"
for n in "$repeats" "$rate" "$seconds"; do
  [[ "$n" =~ ^[0-9]+$ && "$n" -gt 0 ]] || {
    echo "usage: scripts/bench-load.sh [REPEATS [RATE [SECONDS]]]" >&2
    exit 2
  }
done
[[ -x build/chatbatch && -x build/chatbatch-mock ]] || scripts/setup.sh

work=$(mktemp -d -t chatbatch-bench-load.XXXXXX)
mock_pid=""
cleanup() { [[ -n "$mock_pid" ]] && kill "$mock_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

cores=$(nproc)
mock_cpu=0; client_cpu=$((cores > 1 ? 1 : 0))
taskset -c "$mock_cpu" build/chatbatch-mock --port 0 --port-file "$work/port" -q &
mock_pid=$!
for _ in $(seq 100); do [[ -s "$work/port" ]] && break; sleep 0.05; done
port=$(cat "$work/port")

cat >"$work/load.yaml" <<EOF
name: bench-load
endpoint: http://127.0.0.1:$port/v1/chat/completions
defaults: {model: bench, mock: {chunks: 8, pace_ms: 2, first_token_ms: 5}}
load:
  arrival: {rate: $rate/s, process: poisson}
  duration: ${seconds}s
  warmup: 1s
  seed: 7
  repeat: true
conversations:
  - id: q
    messages: [hello]
EOF

echo "rate $rate/s for ${seconds}s; mock on core $mock_cpu, client on core $client_cpu"
printf '%-4s %10s %10s %10s %10s %8s %9s %9s\n' run "lag p50" "lag p99" "lag max" \
  achieved CPU "RSS KiB" turns
results="$work/results"
for i in $(seq "$repeats"); do
  out="$work/run$i"
  taskset -c "$client_cpu" /usr/bin/time -f "%M" -o "$work/rss" \
    timeout "$((seconds + 60))" build/chatbatch run "$work/load.yaml" -o "$out" -q \
    >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
  python3 - "$out/summary.json" "$(cat "$work/rss")" "$i" >>"$results" <<'PY'
import json, sys
step = json.load(open(sys.argv[1]))["load"]["steps"][0]
print(sys.argv[3], step["lag"]["p50_ms"], step["lag"]["p99_ms"], step["lag"]["max_ms"],
      step["achieved_rate"], step["cpu_share"], sys.argv[2], step["turns"])
PY
  tail -1 "$results" | awk '{printf "%-4s %8.2fms %8.2fms %8.2fms %8.1f/s %7.0f%% %9d %9d\n",
    $1, $2, $3, $4, $5, $6 * 100, $7, $8}'
done
python3 - "$results" <<'PY'
import statistics, sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1])]
med = [statistics.median(r[k] for r in rows) for k in range(len(rows[0]))]
print("%-4s %8.2fms %8.2fms %8.2fms %8.1f/s %7.0f%% %9d %9d" %
      ("med", med[1], med[2], med[3], med[4], med[5] * 100, med[6], med[7]))
PY
