#!/usr/bin/env bash
# scripts/package.sh's .deb, unpacked into a scratch root with dpkg -x: its
# name and version, its file list (exactly expected_files.sh under /usr, plus
# the Debian changelog), its Depends (computed, so naming libcurl4 and
# libyaml-cpp), lintian finding no error or warning, the man pages gzipped
# reproducibly and found by man(1), the copyright file (DEP-5) and the
# changelog naming this version, and the installed chatbatch's --version and
# validate of an installed example job.
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
{ expected_files "$src"; echo share/doc/chatbatch/changelog.gz; } |
  LC_ALL=C sort >"$tmp/expected"
diff -u "$tmp/expected" "$tmp/files" ||
  fail "the package's files differ from the expected list (- expected, + packaged)"

# Debian's own checker; no tag is overridden (docs/install.md). Info tags
# (hardening flags of the build) do not fail it.
command -v lintian >/dev/null ||
  fail "lintian is not installed (scripts/setup.sh installs it)"
lintian --fail-on error,warning "$deb" >"$tmp/lintian" 2>&1 ||
  fail "lintian: $(grep -v '^[IN]:' "$tmp/lintian")"

dpkg -x "$deb" "$tmp/root"
doc="$tmp/root/usr/share/doc/chatbatch"
[[ "$(head -1 "$doc/copyright")" == \
  "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/" ]] ||
  fail "copyright is not in the machine-readable format (DEP-5)"
[[ "$(zcat "$doc/changelog.gz" | head -1)" == \
  "chatbatch ($version) unstable; urgency=medium" ]] ||
  fail "changelog.gz does not start with an entry for $version"

# Each page as by `gzip -9n` (RFC 1952 header: no FLG.FNAME, MTIME 0, XFL 2
# = maximum compression), and man finds and renders it from the package.
for page in "$tmp/root"/usr/share/man/man?/*; do
  [[ "$(od -An -tx1 -j3 -N6 "$page" | tr -d ' ')" == 000000000002 ]] ||
    fail "$page is not gzipped as by gzip -9n"
done
command -v man >/dev/null || fail "man is not installed (scripts/setup.sh installs man-db)"
[[ "$(MANPATH="$tmp/root/usr/share/man" man -w chatbatch-mock 2>/dev/null)" == \
  "$tmp/root/usr/share/man/man1/chatbatch-mock.1.gz" ]] ||
  fail "man -w does not find chatbatch-mock(1) under the package's MANPATH"
# A UTF-8 locale: chatbatch-job(5) quotes emoji, which an ASCII terminal
# cannot show (groff warns there, as it should).
LC_ALL=C.UTF-8 MANPATH="$tmp/root/usr/share/man" MANWIDTH=80 \
  man 5 chatbatch-job 2>&1 >"$tmp/job.5.txt" | grep . &&
  fail "man 5 chatbatch-job warned (above)"
grep -q '^NAME' "$tmp/job.5.txt" && grep -q 'concurrency' "$tmp/job.5.txt" ||
  fail "man 5 chatbatch-job did not render the page: $(head -5 "$tmp/job.5.txt")"
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
