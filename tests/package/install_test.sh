#!/usr/bin/env bash
# `cmake --install BUILD_DIR --prefix P` installs exactly the files of
# expected_files.sh (the programs, the example jobs, the docs): no static
# library, header or test binary; and the installed chatbatch runs.
#   install_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src="$1" build="$2"
. "$src/tests/package/expected_files.sh"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null

(cd "$tmp/prefix" && find . ! -type d | sed 's|^\./||' | LC_ALL=C sort) \
  >"$tmp/installed"
expected_files "$src" >"$tmp/expected"
if ! diff -u "$tmp/expected" "$tmp/installed"; then
  echo "install_test: the installed files differ from the expected list" \
    "(- expected, + installed)" >&2
  exit 1
fi

"$tmp/prefix/bin/chatbatch" --version | grep -q '^chatbatch ' ||
  { echo "install_test: installed chatbatch --version failed" >&2; exit 1; }
"$tmp/prefix/bin/chatbatch" validate \
  "$tmp/prefix/share/chatbatch/jobs/example.yaml" >/dev/null ||
  { echo "install_test: validate of the installed example failed" >&2; exit 1; }
echo "install_test: $(wc -l <"$tmp/installed") files, as expected"
