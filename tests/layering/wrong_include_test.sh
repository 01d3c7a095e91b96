#!/usr/bin/env bash
# The layering check must catch a wrong include: a copy of the real rules
# (docs/architecture.md) over a tree whose wire/ includes net/ and libcurl,
# whose report/ spells a run-directory file and whose public header includes
# a part. Each breach must be named with its file and line.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/docs" "$tmp/src/wire" "$tmp/src/net" "$tmp/src/report" \
  "$tmp/include/chatbatch"
cp "$repo/docs/architecture.md" "$tmp/docs/"
printf '#include "wire/sse_framer.h"\n#include "net/wait_for_server.h"\n#include <curl/curl.h>\n' \
  >"$tmp/src/wire/bad.cc"
printf '#include "util/text.h"\n' >"$tmp/src/net/good.cc"
printf 'auto path = dir + "/summary.json";\n' >"$tmp/src/report/bad.cc"
printf '#include "chatbatch/error.h"\n#include "run/runner.h"\n' \
  >"$tmp/include/chatbatch/bad.h"

status=0
out="$(python3 "$repo/scripts/check-layering.py" "$tmp" 2>&1)" || status=$?
echo "$out"
fail() { echo "wrong_include_test: $*" >&2; exit 1; }
[[ $status -eq 1 ]] || fail "expected exit 1, got $status"
grep -q '^src/wire/bad.cc:2: wire/ may not include net/' <<<"$out" ||
  fail "wire -> net not caught"
grep -q '^src/wire/bad.cc:3: wire/ may not include <curl/curl.h>' <<<"$out" ||
  fail "libcurl in wire/ not caught"
grep -q '^src/report/bad.cc:1: only output/ names run-directory files' <<<"$out" ||
  fail "run-directory file name outside output/ not caught"
grep -q '^include/chatbatch/bad.h:2: include/chatbatch/ may not include' <<<"$out" ||
  fail "public header including a part not caught"
if grep -q 'good.cc\|bad.cc:1: wire' <<<"$out"; then
  fail "an allowed include was reported"
fi
[[ $(grep -c ':[0-9]*: ' <<<"$out") -eq 4 ]] || fail "expected exactly 4 breaches"
echo "wrong_include_test: ok"
