#!/usr/bin/env python3
"""The generated man pages and completions against the program itself.

Usage: man_and_completions_test.py CHATBATCH DOC_DIR JOB_FILE_MD

The flags are read from `chatbatch ... --help` (what a user sees), not from
`__cli-spec` (what the generator read), so a generator that drops or
misfiles a flag fails here. Checks:
  - every flag of every (sub)command's --help is offered by the bash
    completion after `chatbatch SUB -` and is in the zsh completion's
    function for SUB; every subcommand is offered where it belongs; zsh
    parses the zsh completion and compinit registers it;
  - file arguments: `run`'s JOB offers .yaml files and directories, not
    other files; `run -o` and `merge`'s DIRs offer directories only;
  - chatbatch(1), chatbatch-SUB(1) and chatbatch-mock(1) exist (and no
    other page), name every flag, and groff renders them (and
    chatbatch-job(5)) without a warning;
  - each page's installed copy in DOC_DIR/man-gz/ is that page gzipped
    reproducibly (maximum compression, no file name, no time stamp);
  - chatbatch-job(5) names every key of docs/job-file.md's key table.
"""
import gzip
import os
import re
import shutil
import subprocess
import sys
import tempfile

failures = []


def fail(message):
    failures.append(message)
    print("FAIL:", message)


def help_text(chatbatch, path):
    return subprocess.run([chatbatch, *path, "--help"], check=True,
                          capture_output=True, text=True).stdout


def section(text, title):
    """The lines of a --help section ("Options:", "Subcommands:")."""
    m = re.search(rf"^{title}:\n((?:  .*\n|\n)*)", text, re.M)
    return m.group(1).splitlines() if m else []


def flags_of(text):
    flags = []
    for line in section(text, "Options"):
        m = re.match(r"  (-\S+)", line)
        if m:
            flags += [n for n in m.group(1).split(",") if n.startswith("-")]
    return flags


def subcommands_of(text):
    return [line.split()[0] for line in section(text, "Subcommands") if line.strip()]


def commands(chatbatch):
    """Every command path with its --help flags and subcommands."""
    found, todo = {}, [[]]
    while todo:
        path = todo.pop(0)
        text = help_text(chatbatch, path)
        subs = subcommands_of(text)
        found[" ".join(path)] = (flags_of(text), subs)
        todo += [path + [s] for s in subs]
    return found


def bash_complete(script, words, cwd):
    """COMPREPLY of the bash completion for the command line "words"."""
    line = " ".join("'" + w + "'" for w in words)
    program = (f"source '{script}'; COMP_WORDS=({line}); "
               f"COMP_CWORD={len(words) - 1}; _chatbatch; "
               "printf '%s\\n' \"${COMPREPLY[@]}\"")
    result = subprocess.run(["bash", "-c", program], capture_output=True,
                            text=True, cwd=cwd)
    if result.returncode != 0 or result.stderr:
        fail(f"bash completion of {words}: rc {result.returncode}, {result.stderr}")
    return set(result.stdout.split())


def zsh_function(text, path):
    name = "_chatbatch_cmd_" + path.replace(" ", "_")
    m = re.search(rf"^{name}\(\) {{\n(.*?)^}}", text, re.M | re.S)
    return m.group(1) if m else ""


def names_flag(page_text, flag):
    """A man page names FLAG in bold, as the generator writes options."""
    return "\\fB" + flag.replace("-", "\\-") + "\\fR" in page_text


def check_renders(page):
    warnings = groff_warnings(page)
    if warnings:
        fail(f"groff on {page}: {warnings}")


def groff_warnings(page):
    if shutil.which("groff") is None:
        return None
    result = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", page],
                            capture_output=True, text=True)
    return result.stderr.strip() or (f"rc {result.returncode}" if result.returncode else "")


def main():
    chatbatch, doc, job_md = (os.path.abspath(a) for a in sys.argv[1:4])
    bash = f"{doc}/completions/chatbatch"
    with open(f"{doc}/completions/_chatbatch", encoding="utf-8") as f:
        zsh = f.read()
    all_commands = commands(chatbatch)
    if "__cli-spec" in help_text(chatbatch, []):
        fail("the hidden __cli-spec shows in chatbatch --help")
    if len(all_commands) < 8:
        fail(f"only {len(all_commands)} commands found in --help")

    with tempfile.TemporaryDirectory() as tmp:
        # Each of ITEMS is offered by bash after WORDS + TYPED and named in
        # the command's zsh function as ZSH_FORM(item) shows.
        def check_offered(path, typed, items, zsh_form, what):
            words = ["chatbatch", *path.split()]
            offered = bash_complete(bash, words + [typed], tmp)
            for item in items:
                if item not in offered:
                    fail(f"bash: `{' '.join(words)} {typed}` does not offer {item}")
                if not re.search(zsh_form(item), zsh_function(zsh, path)):
                    fail(f"zsh: {what} {item} of `{' '.join(words)}` missing")

        for path, (flags, subs) in all_commands.items():
            check_offered(path, "-", flags,
                          lambda f: rf"[')*]{re.escape(f)}\[", "flag")
            if subs:
                check_offered(path, "", subs, lambda s: rf"'{s}:", "subcommand")

        os.mkdir(f"{tmp}/runs")
        for name in ("job.yaml", "notes.txt"):
            open(f"{tmp}/{name}", "w").close()
        cases = [(["chatbatch", "run", ""], {"job.yaml", "runs"}),
                 (["chatbatch", "run", "job.yaml", "-o", ""], {"runs"}),
                 (["chatbatch", "run", "-j", "4", "job.yaml", "--junit", ""],
                  {"job.yaml", "notes.txt", "runs"}),
                 (["chatbatch", "merge", ""], {"runs"}),
                 (["chatbatch", "export", "runs", "--format", ""], {"openai-batch"})]
        for words, expected in cases:
            offered = bash_complete(bash, words, tmp)
            if offered != expected:
                fail(f"bash: `{' '.join(words)}` offers {sorted(offered)}, "
                     f"not {sorted(expected)}")

    # zsh (scripts/setup.sh installs it): the file parses, and compinit
    # registers it for chatbatch from its #compdef line.
    if shutil.which("zsh"):
        result = subprocess.run(["zsh", "-n", f"{doc}/completions/_chatbatch"],
                                capture_output=True, text=True)
        if result.returncode != 0 or result.stderr:
            fail(f"zsh -n _chatbatch: {result.stderr}")
        with tempfile.TemporaryDirectory() as tmp:
            result = subprocess.run(
                ["zsh", "-fc", f"fpath=('{doc}/completions' $fpath); autoload -U compinit; "
                 f"compinit -u -d '{tmp}/zcompdump'; print -r -- $_comps[chatbatch]"],
                capture_output=True, text=True)
            if result.stdout.strip() != "_chatbatch":
                fail(f"zsh compinit does not register _chatbatch: {result.stdout}{result.stderr}")

    top = [p for p in all_commands if " " not in p]
    expected = {"chatbatch" + ("-" + p if p else "") + ".1" for p in top}
    expected.add("chatbatch-mock.1")
    if set(os.listdir(f"{doc}/man1")) != expected:
        fail(f"{doc}/man1 holds {sorted(os.listdir(f'{doc}/man1'))}, not {sorted(expected)}")
    for path in top:
        name = "chatbatch" + ("-" + path if path else "")
        page = f"{doc}/man1/{name}.1"
        if not os.path.exists(page):
            fail(f"{page} is missing")
            continue
        with open(page, encoding="utf-8") as f:
            text = f.read()
        # chatbatch-cache(1) covers `cache stats` and `cache prune` too.
        for sub_path, (flags, _) in all_commands.items():
            if sub_path == path or (path and sub_path.startswith(path + " ")):
                for flag in flags:
                    if not names_flag(text, flag):
                        fail(f"{page} does not name {flag} of `{sub_path}`")
        check_renders(page)

    mock_page = f"{doc}/man1/chatbatch-mock.1"
    mock_help = subprocess.run([os.path.join(os.path.dirname(chatbatch), "chatbatch-mock"),
                                "--help"], capture_output=True, text=True).stdout
    mock_flags = set(re.findall(r"^\s+(?:-\w,)?(--[\w-]+)", mock_help, re.M))
    if len(mock_flags) < 3:
        fail(f"only {sorted(mock_flags)} found in chatbatch-mock --help")
    with open(mock_page, encoding="utf-8") as f:
        text = f.read()
    for flag in mock_flags:
        if not names_flag(text, flag):
            fail(f"{mock_page} does not name {flag}")
    check_renders(mock_page)

    for section in ("man1", "man5"):
        pages = sorted(os.listdir(f"{doc}/{section}"))
        gz_dir = f"{doc}/man-gz/{section}"
        gzipped = sorted(os.listdir(gz_dir)) if os.path.isdir(gz_dir) else []
        if gzipped != [p + ".gz" for p in pages]:
            fail(f"{gz_dir} holds {gzipped}, not the pages of {doc}/{section} gzipped")
            continue
        for page in pages:
            with open(f"{gz_dir}/{page}.gz", "rb") as f:
                data = f.read()
            with open(f"{doc}/{section}/{page}", "rb") as f:
                plain = f.read()
            # RFC 1952 header: FLG (byte 3) 0 = no name; MTIME (4..7) 0; XFL (8) 2 = -9.
            if data[3] != 0 or data[4:8] != bytes(4) or data[8] != 2:
                fail(f"{gz_dir}/{page}.gz is not gzipped as by `gzip -9n`: header {data[:10].hex()}")
            if gzip.decompress(data) != plain:
                fail(f"{gz_dir}/{page}.gz is not {doc}/{section}/{page}")

    job_page = f"{doc}/man5/chatbatch-job.5"
    with open(job_page, encoding="utf-8") as f:
        text = f.read()
    with open(job_md, encoding="utf-8") as f:
        md = f.read()
    table = re.search(r"^## Keys\n.*?^\| key \|[^\n]*\n\|[- |]+\|\n((?:\|[^\n]*\n)+)", md,
                      re.M | re.S)
    keys = re.findall(r"^\| `([a-z_]+)` \|", table.group(1), re.M) if table else []
    if len(keys) < 20:
        fail(f"only {len(keys)} keys found in {job_md}'s key table")
    for key in keys:
        if f".TP\n\\fB{key}\\fR\n" not in text:
            fail(f"{job_page} has no entry for the key `{key}`")
    warnings = groff_warnings(job_page)
    if warnings:
        fail(f"groff on {job_page}: {warnings}")

    if failures:
        sys.exit(f"{len(failures)} failure(s)")
    print(f"ok: {len(all_commands)} commands, {len(keys)} job keys")


if __name__ == "__main__":
    main()
