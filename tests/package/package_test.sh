#!/usr/bin/env bash
# scripts/package.sh's .deb, unpacked into a scratch root with dpkg -x: its
# name and version, its file list (exactly expected_files.sh under /usr), its
# Depends (computed, so naming libcurl4 and libyaml-cpp), and the installed
# chatbatch's --version and validate of an installed example job.
#   package_test.sh SOURCE_DIR BUILD_DIR VERSION
set -euo pipefail
src="$1" build="$2" version="$3"
. "$src/tests/package/expected_files.sh"

fail() { echo "package_test: $*" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

deb=$(BUILD_DIR="$build" "$src/scripts/package.sh" "$tmp/out")
[[ "$(basename "$deb")" == "chatbatch_${version}_amd64.deb" ]] ||
  fail "package.sh made '$deb', not chatbatch_${version}_amd64.deb"

[[ "$(dpkg-deb -f "$deb" Package)" == chatbatch ]] || fail "wrong Package"
[[ "$(dpkg-deb -f "$deb" Version)" == "$version" ]] ||
  fail "Version is '$(dpkg-deb -f "$deb" Version)', not $version"
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libcurl4 libyaml-cpp; do
  [[ "$depends" == *"$lib"* ]] || fail "Depends lacks $lib: $depends"
done
# A synopsis plus an extended description that does not repeat it.
dpkg-deb -f "$deb" Description >"$tmp/description"
[[ $(wc -l <"$tmp/description") -gt 3 ]] ||
  fail "Description has no extended part"
[[ "$(sed -n 2p "$tmp/description")" != " $(sed -n 1p "$tmp/description")" ]] ||
  fail "the extended Description repeats the synopsis"

# Every entry lies under ./usr/; the files are exactly the expected ones.
dpkg -c "$deb" | awk '{print $6}' >"$tmp/entries"
if grep -v '^\./usr/' "$tmp/entries" | grep -vx '\./'; then
  fail "entries outside /usr (above)"
fi
dpkg -c "$deb" | awk '$1 !~ /^d/ {print $6}' | sed 's|^\./usr/||' |
  LC_ALL=C sort >"$tmp/files"
expected_files "$src" >"$tmp/expected"
diff -u "$tmp/expected" "$tmp/files" ||
  fail "the package's files differ from the expected list (- expected, + packaged)"

dpkg -x "$deb" "$tmp/root"
"$tmp/root/usr/bin/chatbatch" --version >"$tmp/version" ||
  fail "the installed chatbatch --version failed"
grep -qx "chatbatch $version" "$tmp/version" || fail "--version: $(cat "$tmp/version")"
for lib in libcurl simdjson yaml-cpp spdlog; do
  grep -q "^$lib [0-9]" "$tmp/version" || fail "--version lacks $lib"
done
"$tmp/root/usr/bin/chatbatch" validate \
  "$tmp/root/usr/share/chatbatch/jobs/example.yaml" ||
  fail "validate of the installed example job failed"
"$tmp/root/usr/bin/chatbatch-mock" --help >/dev/null ||
  fail "the installed chatbatch-mock does not run"
echo "package_test: $(basename "$deb"): $(wc -l <"$tmp/files") files; Depends: $depends"
