#!/usr/bin/env python3
"""Checks src/ and include/ against the rules in docs/architecture.md.

The rules are read from the tables in that document (the "Parts" table and
the "Libraries" table), so the document and the check cannot drift apart.
Every #include of a part header ("wire/chunk_decoder.h") or of a library
header (<curl/curl.h>) is checked; so is the rule that only output/ names
the files of a run directory. Prints one "FILE:LINE: message" per breach and
exits 1 if there is any, 2 if the rules cannot be read.

  scripts/check-layering.py [ROOT]     # ROOT defaults to the repository
"""
import os
import re
import sys

ROOT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                       os.path.join(os.path.dirname(__file__), ".."))
DOC = os.path.join(ROOT, "docs", "architecture.md")


def table(text, heading):
    """The rows of the first Markdown table after "## heading"."""
    m = re.search(r"^##+ " + re.escape(heading) + r"\s*$", text, re.M)
    if not m:
        sys.exit(f"{DOC}: no section '{heading}'")
    rows = []
    for line in text[m.end():].splitlines():
        line = line.strip()
        if not line:
            if rows:
                break
            continue
        if not line.startswith("|"):
            if rows:
                break
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        if all(set(c) <= set("-: ") for c in cells):
            continue
        rows.append(cells)
    if len(rows) < 2:
        sys.exit(f"{DOC}: the '{heading}' table is empty")
    return rows[1:]  # without the header row


def names(cell):
    """`a`, `b` -> ["a", "b"]; "—" or "-" -> []."""
    return re.findall(r"`([^`]+)`", cell)


try:
    doc = open(DOC, encoding="utf-8").read()
except OSError as e:
    print(f"{DOC}: {e.strerror}", file=sys.stderr)
    sys.exit(2)

# Parts: | `part` | what it is | `may`, `include` |
may_include = {}
for cells in table(doc, "Parts"):
    part = names(cells[0])[0]
    may_include[part] = set(names(cells[2])) | {part}
# Libraries: | `<prefix/` | `part`, `part` |
library_parts = {}
for cells in table(doc, "Libraries"):
    for prefix in names(cells[0]):
        library_parts[prefix] = set(names(cells[1]))
# Run-directory file names: only output/ may spell them.
run_files = [n for cells in table(doc, "Run directory files")
             for n in names(cells[0])]
run_file_re = re.compile('["/](?:' + "|".join(re.escape(f) for f in run_files)
                         + ')"')

include_re = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
problems = []


def check_file(path, part):
    rel = os.path.relpath(path, ROOT)
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.read().splitlines()
    for no, line in enumerate(lines, 1):
        m = include_re.match(line)
        if m:
            kind, target = m.groups()
            first = target.split("/")[0]
            if kind == '"' and first in may_include:
                if part is None:
                    problems.append(f"{rel}:{no}: include/chatbatch/ may not "
                                    f"include a part's header \"{target}\"")
                elif first not in may_include[part]:
                    problems.append(
                        f"{rel}:{no}: {part}/ may not include {first}/ "
                        f"(\"{target}\"); see docs/architecture.md")
            for prefix, allowed in library_parts.items():
                if target.startswith(prefix) and part not in allowed:
                    where = part + "/" if part else "include/chatbatch/"
                    problems.append(
                        f"{rel}:{no}: {where} may not include <{target}> "
                        f"(only {', '.join(sorted(allowed)) or 'no part'})")
        elif part not in (None, "output") and run_files and \
                run_file_re.search(line):
            problems.append(f"{rel}:{no}: only output/ names run-directory "
                            f"files; go through its reader")
        elif part is None and re.search(
                r"\b(CURL|CURLM|simdjson::|YAML::|re2::|RE2\b)", line):
            problems.append(f"{rel}:{no}: include/chatbatch/ exposes a "
                            f"library type")


src = os.path.join(ROOT, "src")
for part in sorted(os.listdir(src)):
    if not os.path.isdir(os.path.join(src, part)):
        continue
    if part not in may_include:
        problems.append(f"src/{part}/: a folder that docs/architecture.md "
                        f"does not list as a part")
        continue
    for dirpath, _, files in os.walk(os.path.join(src, part)):
        for name in sorted(files):
            if name.endswith((".cc", ".h")):
                check_file(os.path.join(dirpath, name), part)
inc = os.path.join(ROOT, "include", "chatbatch")
for name in sorted(os.listdir(inc)):
    if name.endswith(".h"):
        check_file(os.path.join(inc, name), None)

for p in problems:
    print(p)
if problems:
    print(f"check-layering: {len(problems)} breach(es) of docs/architecture.md",
          file=sys.stderr)
    sys.exit(1)
print(f"check-layering: {len(may_include)} parts follow docs/architecture.md")
