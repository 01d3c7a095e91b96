#!/usr/bin/env python3
"""Man pages and shell completions for chatbatch, generated at build time.

The command line comes from `chatbatch __cli-spec` (src/cli/cli_spec.h): the
same CLI11 objects that parse it, so neither the pages nor the completions
can drift from the program. chatbatch-job(5) is docs/job-file.md turned into
roff by the small converter below (no pandoc: it is not in every CI image).

chatbatch-mock(1) is the mock server's `--help` (CLI11's layout) in roff.

Usage: gen-man-and-completions.py CHATBATCH CHATBATCH_MOCK JOB_FILE_MD OUT_DIR VERSION
Writes OUT_DIR/man1/chatbatch*.1, OUT_DIR/man5/chatbatch-job.5,
OUT_DIR/completions/chatbatch (bash) and OUT_DIR/completions/_chatbatch (zsh),
and each page gzipped into OUT_DIR/man-gz/man{1,5}/ as Debian policy wants
installed pages (like `gzip -9n`: no name, no time stamp, so reproducible).
"""
import gzip
import io
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field

DATE = "2026"  # a fixed date keeps the pages reproducible


@dataclass
class Arg:
    names: list  # ["-o", "--output"], or ["JOB"] for a positional
    takes_value: bool
    many: bool
    type: str
    description: str
    kind: str = "value"  # value, yaml, dir, file, or choices
    choices: list = field(default_factory=list)


@dataclass
class Command:
    path: str  # "" for chatbatch itself, "run", "cache prune"
    description: str
    options: list = field(default_factory=list)
    positionals: list = field(default_factory=list)
    subcommands: list = field(default_factory=list)


def value_kind(arg, positional):
    """What a value is, from its name and help text: CLI11 knows only TEXT."""
    m = re.search(r"\{([^}]*)\}", arg.type)
    if m:
        arg.kind, arg.choices = "choices", [c.strip() for c in m.group(1).split(",")]
    elif "(YAML)" in arg.description:
        arg.kind = "yaml"
    elif re.search(r"\bFILE\b", arg.description):
        arg.kind = "file"
    elif (re.search(r"\bDIR\b|director", arg.description)
          or (positional and arg.names[0].endswith("DIR"))):
        arg.kind = "dir"


def read_spec(chatbatch):
    text = subprocess.run([chatbatch, "__cli-spec"], check=True,
                          capture_output=True, text=True).stdout
    commands = {}
    for line in text.splitlines():
        f = line.split("\t")
        if f[0] == "cmd":
            commands[f[1]] = Command(f[1], f[2])
            if f[1]:
                parent = f[1].rsplit(" ", 1)[0] if " " in f[1] else ""
                commands[parent].subcommands.append(commands[f[1]])
        elif f[0] == "opt":
            arg = Arg(f[2].split(","), f[3] != "flag", f[3] == "options", f[4], f[5])
            if arg.takes_value:
                value_kind(arg, False)
            commands[f[1]].options.append(arg)
        elif f[0] == "pos":
            arg = Arg([f[2]], True, f[3] == "many", f[4], f[5])
            value_kind(arg, True)
            commands[f[1]].positionals.append(arg)
        else:
            sys.exit(f"__cli-spec: unknown record {line!r}")
    return commands


# --- roff ------------------------------------------------------------------

def roff_escape(text):
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return text


def roff_line(text):
    """A text line that cannot be taken for a request."""
    text = roff_escape(text)
    return "\\&" + text if text[:1] in (".", "'") else text


def metavar(arg):
    if arg.kind == "choices":
        return "|".join(arg.choices)
    return {"yaml": "JOB", "dir": "DIR", "file": "FILE"}.get(
        arg.kind, re.sub(r"[:{].*", "", arg.type) or "VALUE")


def page_name(cmd):
    return "chatbatch" + ("-" + cmd.path.replace(" ", "-") if cmd.path else "")


def man_command(cmd, version, all_pages):
    name = page_name(cmd)
    words = "chatbatch" + (" " + cmd.path if cmd.path else "")
    summary = re.sub(r"^chatbatch: ", "", cmd.description)
    # No hyphenation: a name like chatbatch-merge(1) must not be split.
    out = [f'.TH {name.upper()} 1 "{DATE}" "chatbatch {version}" "User Commands"', ".nh", ".ad l",
           ".SH NAME", f"{roff_escape(name)} \\- {roff_escape(summary)}",
           ".SH SYNOPSIS"]

    def synopsis(c, w):
        parts = [f"\\fB{roff_escape(w)}\\fR", "[\\fIOPTIONS\\fR]"]
        for p in c.positionals:
            parts.append(f"\\fI{roff_escape(p.names[0])}\\fR" + ("..." if p.many else ""))
        if c.subcommands:
            parts.append("\\fISUBCOMMAND\\fR")
        out.append(".br")
        out.append(" ".join(parts))

    synopsis(cmd, words)
    out += [".SH DESCRIPTION", roff_line(cmd.description + ".")]

    def arguments(c):
        if c.positionals:
            out.append(".SS Arguments")
            for p in c.positionals:
                out.extend([".TP", f"\\fI{roff_escape(p.names[0])}\\fR" +
                            ("..." if p.many else ""), roff_line(p.description)])
        out.append(".SS Options")
        for o in c.options:
            head = ", ".join(f"\\fB{roff_escape(n)}\\fR" for n in o.names)
            if o.takes_value:
                head += f" \\fI{roff_escape(metavar(o))}\\fR"
            out.extend([".TP", head, roff_line(o.description)])

    out.append(".SH OPTIONS")
    arguments(cmd)
    if cmd.subcommands:
        out.append(".SH SUBCOMMANDS")
        for s in cmd.subcommands:
            if not cmd.path:  # chatbatch(1) points at each subcommand's page
                out += [".TP", f"\\fB{roff_escape(s.path)}\\fR",
                        roff_line(s.description) + f" (see \\fB{page_name(s)}\\fR(1))"]
        for s in cmd.subcommands if cmd.path else []:
            out.append(f'.SS "{roff_escape("chatbatch " + s.path)}"')
            out.append(roff_line(s.description + "."))
            synopsis(s, "chatbatch " + s.path)
            arguments(s)
    out += [".SH EXIT STATUS",
            "0 success; 1 a conversation failed, a check failed or a gate was not met; "
            "2 bad usage or job file; 3 output could not be written; "
            "4 the server did not come up (\\-\\-wait\\-for\\-server); 130 interrupted. See docs/cli.md for the details of each subcommand."]
    # Escaped ("\\-"): a line may break at a plain "-", splitting a page name.
    see = ["\\fBchatbatch\\-job\\fR(5)"] + [
        f"\\fB{roff_escape(p)}\\fR(1)" for p in all_pages if p != name]
    if not cmd.path:
        see.append("\\fBchatbatch\\-mock\\fR(1)")
    out += [".SH SEE ALSO", ", ".join(see)]
    return "\n".join(out) + "\n"


def inline_md(text):
    """Markdown inline markup to roff: code bold, emphasis italic, links' text."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    parts = re.split(r"(`[^`]*`)", text)
    out = []
    for part in parts:
        if part.startswith("`") and part.endswith("`") and len(part) > 1:
            out.append("\\fB" + roff_escape(part[1:-1].strip()) + "\\fR")
        else:
            part = roff_escape(part)
            part = re.sub(r"\*\*([^*]+)\*\*", r"\\fB\1\\fR", part)
            part = re.sub(r"(?<![\w*])\*([^*\s][^*]*)\*(?![\w*])", r"\\fI\1\\fR", part)
            out.append(part)
    text = "".join(out)
    return "\\&" + text if text[:1] in (".", "'") else text


def split_row(line):
    # A `|` inside code (`full` \| `last`) is escaped in the Markdown.
    cells = re.split(r"(?<!\\)\|", line.strip().strip("|"))
    return [c.strip().replace("\\|", "|") for c in cells]


def man_job_file(md_text, version):
    out = [f'.TH CHATBATCH-JOB 5 "{DATE}" "chatbatch {version}" "File Formats"', ".nh", ".ad l",
           ".SH NAME", "chatbatch-job \\- the job file of chatbatch(1)"]
    lines = md_text.splitlines()
    i = 0
    paragraph = []

    def flush():
        if paragraph:
            out.append(".PP")
            out.extend(inline_md(p) for p in paragraph)
            paragraph.clear()

    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            flush()
            out += [".PP", ".nf", ".RS 4"]
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                out.append("\\&" + roff_escape(lines[i]))
                i += 1
            out += [".RE", ".fi"]
        elif line.startswith("# "):
            flush()
            out += [".SH DESCRIPTION", inline_md(line[2:].strip() + ".")]
        elif line.startswith("## "):
            flush()
            out.append(f'.SH "{inline_md(line[3:].strip()).upper()}"')
        elif line.startswith("#"):
            flush()
            out.append(f'.SS "{inline_md(line.lstrip("#").strip())}"')
        elif line.startswith("|"):
            flush()
            header = split_row(line)
            i += 1  # the --- row
            while i + 1 < len(lines) and lines[i + 1].startswith("|"):
                i += 1
                cells = split_row(lines[i])
                out += [".TP", inline_md(cells[0])]
                rest = [f"{h}: {c}" for h, c in zip(header[1:], cells[1:]) if c]
                out.append(inline_md("; ".join(rest)))
        elif re.match(r"\s*([-*]|\d+\.) ", line):
            flush()
            indent = len(line) - len(line.lstrip())
            out += [".IP \\(bu 2" if indent == 0 else ".IP \\(bu 4",
                    inline_md(re.sub(r"^\s*([-*]|\d+\.) ", "", line))]
            while (i + 1 < len(lines) and lines[i + 1].startswith("  ")
                   and not re.match(r"\s*([-*]|\d+\.) ", lines[i + 1])):
                i += 1
                out.append(inline_md(lines[i].strip()))
        elif not line.strip():
            flush()
        else:
            paragraph.append(line.strip())
        i += 1
    flush()
    out += [".SH SEE ALSO", "\\fBchatbatch\\fR(1), \\fBchatbatch\\-run\\fR(1), "
            "\\fBchatbatch\\-validate\\fR(1)"]
    return "\n".join(out) + "\n"


# --- bash ------------------------------------------------------------------

def bash_value(arg):
    if arg.kind == "yaml":
        return "_chatbatch_files '@(yaml|yml)'"
    if arg.kind == "dir":
        return "_chatbatch_dirs"
    if arg.kind == "file":
        return "_chatbatch_files"
    if arg.kind == "choices":
        return f"COMPREPLY=($(compgen -W '{' '.join(arg.choices)}' -- \"$cur\"))"
    return "COMPREPLY=()"


def bash_completion(commands):
    out = ["# bash completion for chatbatch; generated from `chatbatch __cli-spec`",
           "# by scripts/gen-man-and-completions.py: do not edit.",
           "# The case patterns below use @(...): extglob must be on as they are read.",
           "shopt -s extglob",
           "_chatbatch_dirs() { COMPREPLY=($(compgen -d -- \"$cur\")); compopt -o filenames 2>/dev/null; }",
           "_chatbatch_files() {",
           "  local IFS=$'\\n'",
           "  if [[ -n $1 ]]; then",
           "    shopt -s extglob",
           "    COMPREPLY=($(compgen -f -X \"!*.$1\" -- \"$cur\") $(compgen -d -- \"$cur\"))",
           "  else",
           "    COMPREPLY=($(compgen -f -- \"$cur\"))",
           "  fi",
           "  compopt -o filenames 2>/dev/null",
           "}",
           "_chatbatch() {",
           "  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}",
           "  local path='' i word skip=0",
           "  # The subcommand path so far; an option's value is not a subcommand.",
           "  for ((i = 1; i < COMP_CWORD; i++)); do",
           "    word=${COMP_WORDS[i]}",
           "    if ((skip)); then skip=0; continue; fi",
           "    case \"$path|$word\" in"]
    for cmd in commands.values():
        for s in cmd.subcommands:
            out.append(f"      '{cmd.path}|{s.path.split()[-1]}') path='{s.path}' ;;")
        valued = [n for o in cmd.options if o.takes_value for n in o.names]
        if valued:
            out.append(f"      '{cmd.path}|'@({'|'.join(valued)})) skip=1 ;;")
    out += ["    esac",
            "  done",
            "  case \"$path|$prev\" in"]
    for cmd in commands.values():
        for o in cmd.options:
            if o.takes_value:
                out.append(f"    '{cmd.path}|'@({'|'.join(o.names)})) {bash_value(o)}; return ;;")
    out += ["  esac",
            "  if [[ $cur == -* ]]; then",
            "    case \"$path\" in"]
    for cmd in commands.values():
        flags = " ".join(n for o in cmd.options for n in o.names)
        out.append(f"      '{cmd.path}') COMPREPLY=($(compgen -W '{flags}' -- \"$cur\")) ;;")
    out += ["    esac",
            "    return",
            "  fi",
            "  case \"$path\" in"]
    for cmd in commands.values():
        if cmd.subcommands:
            words = " ".join(s.path.split()[-1] for s in cmd.subcommands)
            out.append(f"    '{cmd.path}') COMPREPLY=($(compgen -W '{words}' -- \"$cur\")) ;;")
        elif cmd.positionals:
            # Every positional of a command is of one kind (JOB, or DIRs).
            out.append(f"    '{cmd.path}') {bash_value(cmd.positionals[0])} ;;")
    out += ["  esac",
            "}",
            "complete -F _chatbatch chatbatch"]
    return "\n".join(out) + "\n"


# --- zsh -------------------------------------------------------------------

def zsh_quote(text):
    return "'" + text.replace("'", "'\\''") + "'"


def zsh_desc(text):
    return text.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")


def zsh_action(arg):
    return {"yaml": "_files -g '*.(yaml|yml)'", "dir": "_files -/", "file": "_files",
            "choices": "(" + " ".join(arg.choices) + ")"}.get(arg.kind, " ")


def zsh_function(cmd):
    fn = "_chatbatch_cmd_" + cmd.path.replace(" ", "_")
    specs = []
    for o in cmd.options:
        exclusive = "(" + " ".join(o.names) + ")" if len(o.names) > 1 else ""
        for n in o.names:
            repeat = "*" if o.many else ""
            spec = f"{exclusive}{repeat}{n}[{zsh_desc(o.description)}]"
            if o.takes_value:
                spec += f":{metavar(o).lower()}:{zsh_action(o)}"
            specs.append(zsh_quote(spec))
    if cmd.subcommands:
        specs += [zsh_quote("1:command:->command"), zsh_quote("*::arg:->args")]
    for p in cmd.positionals:
        star = "*" if p.many else ""
        specs.append(zsh_quote(f"{star}:{p.names[0].lower()}:{zsh_action(p)}"))
    out = [f"{fn}() {{", "  local context state state_descr line", "  typeset -A opt_args",
           "  _arguments -s -C \\", "    " + " \\\n    ".join(specs)]
    if cmd.subcommands:
        described = " ".join(zsh_quote(s.path.split()[-1] + ":" + s.description.replace(":", "\\:"))
                             for s in cmd.subcommands)
        out += ["  case $state in",
                f"    command) local -a commands; commands=({described})",
                "      _describe -t commands 'chatbatch command' commands ;;",
                "    args)", "      case $words[1] in"]
        for s in cmd.subcommands:
            out.append(f"        {s.path.split()[-1]}) _chatbatch_cmd_{s.path.replace(' ', '_')} ;;")
        out += ["      esac ;;", "  esac"]
    out.append("}")
    return "\n".join(out)


def zsh_completion(commands):
    out = ["#compdef chatbatch",
           "# zsh completion for chatbatch; generated from `chatbatch __cli-spec`",
           "# by scripts/gen-man-and-completions.py: do not edit."]
    out += [zsh_function(c) for c in commands.values()]
    out.append('_chatbatch_cmd_ "$@"')
    return "\n".join(out) + "\n"


def man_mock(help_text, version):
    """chatbatch-mock(1) from CLI11's --help: "NAME: summary", "Usage: ...",
    then "Options:" with one "  FLAGS  description" entry each (a long
    FLAGS column pushes the description onto the next, indented line)."""
    lines = help_text.splitlines()
    summary = re.sub(r"^chatbatch-mock: ", "", lines[0])
    options = []
    for line in lines[lines.index("Options:") + 1:]:
        if re.match(r"  -", line):
            head, _, desc = line.strip().partition("  ")
            options.append([head, desc.strip()])
        elif line.strip() and options:
            options[-1][1] = (options[-1][1] + " " + line.strip()).strip()
    out = [f'.TH CHATBATCH-MOCK 1 "{DATE}" "chatbatch {version}" "User Commands"', ".nh", ".ad l",
           ".SH NAME", f"chatbatch\\-mock \\- {roff_escape(summary)}",
           ".SH SYNOPSIS", "\\fBchatbatch\\-mock\\fR [\\fIOPTIONS\\fR]",
           ".SH DESCRIPTION",
           roff_line("The mock server bundled with chatbatch: a real HTTP server that "
                     "speaks the wire protocol of g4f and OpenAI-compatible chat servers "
                     "and answers with scripted replies, on 127.0.0.1 unless --host says "
                     "otherwise. The demo, chatbatch's integration tests and its "
                     "benchmarks run against it; its scripts are described in "
                     "docs/mock.md (/usr/share/doc/chatbatch/docs/mock.md when installed "
                     "from the package)."),
           ".SH OPTIONS"]
    for head, desc in options:
        m = re.match(r"([-\w,]+)\s*(.*)", head)
        flags = ", ".join(f"\\fB{roff_escape(f)}\\fR" for f in m.group(1).split(","))
        # "TEXT=127.0.0.1", "INT:INT in [0 - 65535]=0": a type, then a default.
        value_type, _, default = m.group(2).partition("=")
        value_type = re.sub(r"[:{].*", "", value_type).strip()
        value = f" \\fI{roff_escape(value_type)}\\fR" if value_type else ""
        if default:
            desc += f" (default: {default})"
        out += [".TP", flags + value, roff_line(desc)]
    out += [".SH SEE ALSO", "\\fBchatbatch\\fR(1)"]
    return "\n".join(out) + "\n"


def write_gz(path, text):
    """TEXT gzipped as `gzip -9n` does: maximum compression, no name, no time."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", compresslevel=9, fileobj=buf, mtime=0) as f:
        f.write(text.encode("utf-8"))
    data = buf.getvalue()
    if os.path.exists(path) and open(path, "rb").read() == data:
        return
    with open(path, "wb") as f:
        f.write(data)


def ascii_roff(text):
    """groff 1.22 reads Latin-1: any other character is a \\[uXXXX] escape."""
    return "".join(c if ord(c) < 128 else f"\\[u{ord(c):04X}]" for c in text)


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    # Unchanged output keeps its time stamp: nothing downstream rebuilds.
    if os.path.exists(path) and open(path, encoding="utf-8").read() == text:
        return
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def main():
    chatbatch, mock, job_md, out_dir, version = sys.argv[1:6]
    commands = read_spec(chatbatch)
    top = [c for c in commands.values() if c.path.count(" ") == 0]
    pages = {f"man1/{page_name(c)}.1": ascii_roff(man_command(c, version, [page_name(t) for t in top]))
             for c in top}
    mock_help = subprocess.run([mock, "--help"], check=True, capture_output=True,
                               text=True).stdout
    pages["man1/chatbatch-mock.1"] = ascii_roff(man_mock(mock_help, version))
    with open(job_md, encoding="utf-8") as f:
        pages["man5/chatbatch-job.5"] = ascii_roff(man_job_file(f.read(), version))
    for name, text in pages.items():
        write(f"{out_dir}/{name}", text)
        write_gz(f"{out_dir}/man-gz/{name}.gz", text)
    # A page of a subcommand that is gone would still be installed.
    for section in ("man1", "man5"):
        for d, suffix in ((f"{out_dir}/{section}", ""), (f"{out_dir}/man-gz/{section}", ".gz")):
            for stale in set(os.listdir(d)) - {n[5:] + suffix for n in pages if n.startswith(section)}:
                os.remove(f"{d}/{stale}")
    write(f"{out_dir}/completions/chatbatch", bash_completion(commands))
    write(f"{out_dir}/completions/_chatbatch", zsh_completion(commands))


if __name__ == "__main__":
    main()
