#!/usr/bin/env bash
# Runs jobs/example.yaml against the bundled mock server on an ephemeral
# loopback port and prints where the transcripts are.
set -euo pipefail
cd "$(dirname "$0")/.."

tmp=$(mktemp -d)
trap 'kill "$mock_pid" 2>/dev/null || true; rm -rf "$tmp"' EXIT
build/chatbatch-mock --port 0 --port-file "$tmp/port" -q &
mock_pid=$!
for _ in $(seq 500); do [[ -s "$tmp/port" ]] && break; sleep 0.01; done
[[ -s "$tmp/port" ]] || { echo "demo: mock server did not start" >&2; exit 1; }

export CHATBATCH_ENDPOINT="http://127.0.0.1:$(cat "$tmp/port")/v1/chat/completions"
build/chatbatch run jobs/example.yaml -o runs/example --overwrite "$@"
