#!/usr/bin/env python3
"""The CI and scale-out examples use the installed package, not a build.

  ci_examples_test.py SOURCE_DIR

scripts/github-actions-smoke.yml and scripts/gha-shards.yml: exactly one job
builds (setup.sh, cmake, package.sh) and uploads the .deb as an artifact;
every job that runs chatbatch needs that job, downloads the artifact,
installs it with apt before the first chatbatch step and runs `chatbatch`
from PATH, never a build tree's binary. scripts/k8s-indexed-job.yaml's pods
run `chatbatch` from PATH of the image scripts/container/Dockerfile makes by
installing the package; scripts/slurm/'s batch scripts default to
`chatbatch` on PATH. Before checking the files, the workflow check is run on
broken copies of the smoke workflow (the old build-in-every-job form among
them) and must reject each, so it cannot pass by checking nothing.
"""

import copy
import os
import pathlib
import re
import sys

try:
    import yaml
except ImportError:
    # Debian's python3-yaml (scripts/setup.sh) is for Debian's python3; the
    # python3 cmake found first on PATH may be another one.
    if sys.executable != "/usr/bin/python3" and os.path.exists("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    sys.exit("ci_examples_test: python3-yaml is missing (scripts/setup.sh "
             "installs it)")

WORKFLOWS = ["scripts/github-actions-smoke.yml", "scripts/gha-shards.yml"]
BUILDS = re.compile(r"scripts/(setup|package)\.sh|(^|[\s;&|(])(cmake|ninja|make)\s",
                    re.M)
# A chatbatch command: the word at the start of a command, alone or as the
# last part of a path (build/chatbatch); not chatbatch_1.0.deb or -mock.
RUNS = re.compile(r"(?:^|[\s;&|(])((?:\S*/)?chatbatch)(?=\s|$)", re.M)
INSTALLS = re.compile(r"\bapt(-get)? install\b[^\n]*\s\./chatbatch_\S*\.deb")


def steps(job):
    return job.get("steps") or []


def runs(step):
    return step.get("run") or ""


def needs(job):
    n = job.get("needs") or []
    return [n] if isinstance(n, str) else list(n)


def all_needs(jobs, name, seen=None):
    """The jobs `name` waits for, directly or through others."""
    seen = set() if seen is None else seen
    for n in needs(jobs.get(name) or {}):
        if n not in seen:
            seen.add(n)
            all_needs(jobs, n, seen)
    return seen


def uses(step, action):
    return (step.get("uses") or "").startswith(action + "@")


def check_workflow(wf, source):
    """Errors (strings) of one parsed workflow; empty when it is right."""
    errors = []
    jobs = (wf or {}).get("jobs") or {}
    builders = [n for n, j in jobs.items()
                if any(BUILDS.search(runs(s)) for s in steps(j))]
    if len(builders) != 1:
        return [f"{len(builders)} jobs build ({builders}), expected exactly one"]
    build = builders[0]
    if not any("scripts/package.sh" in runs(s) for s in steps(jobs[build])):
        errors.append(f"job '{build}' builds but does not run scripts/package.sh")
    uploads = [s for s in steps(jobs[build])
               if uses(s, "actions/upload-artifact") and
               ".deb" in str((s.get("with") or {}).get("path"))]
    if len(uploads) != 1:
        return errors + [f"job '{build}' does not upload the .deb as an artifact"]
    artifact = uploads[0]["with"].get("name")

    runners = 0
    for name, job in jobs.items():
        for s in steps(job):
            for cmd in RUNS.findall(runs(s)):
                if "/" in cmd:
                    errors.append(f"job '{name}' runs {cmd}, not the installed "
                                  "chatbatch on PATH")
        first_run = next((i for i, s in enumerate(steps(job))
                          if RUNS.search(runs(s))), None)
        downloads = [i for i, s in enumerate(steps(job))
                     if uses(s, "actions/download-artifact") and
                     (s.get("with") or {}).get("name") == artifact]
        if name == build:
            if first_run is not None:
                errors.append(f"the build job '{name}' runs chatbatch")
            continue
        if first_run is None and not downloads:
            continue
        if build not in all_needs(jobs, name):
            errors.append(f"job '{name}' does not need '{build}'")
        if first_run is None:
            continue
        runners += 1
        installs = [i for i, s in enumerate(steps(job))
                    if INSTALLS.search(runs(s))]
        if not downloads:
            errors.append(f"job '{name}' runs chatbatch without downloading "
                          f"the artifact '{artifact}'")
        elif not installs or not downloads[0] < installs[0] <= first_run:
            errors.append(f"job '{name}' does not install the downloaded "
                          "./chatbatch_*.deb with apt before running chatbatch")
        for s in steps(job):
            for f in re.findall(r"/usr/share/chatbatch/jobs/(\S+\.yaml)", runs(s)):
                if not (source / "jobs" / f).is_file():
                    errors.append(f"job '{name}' runs the installed job {f}, "
                                  "which jobs/ does not have")
    if not runners:
        errors.append("no job runs chatbatch")
    return errors


def broken_copies(wf):
    """(what is wrong, workflow) pairs made from the smoke workflow."""
    jobs = wf["jobs"]
    build = next(n for n, j in jobs.items()
                 if any(BUILDS.search(runs(s)) for s in steps(j)))
    smoke = next(n for n, j in jobs.items() if n != build and
                 any(RUNS.search(runs(s)) for s in steps(j)))

    def edited(edit):
        w = copy.deepcopy(wf)
        edit(w["jobs"])
        return w

    def build_in_smoke(j):  # the old form: one job that builds and runs
        j[smoke]["steps"].insert(0, {"run": "scripts/setup.sh"})
        for s in j[smoke]["steps"]:
            if "run" in s:
                s["run"] = re.sub(r"(^|\s)chatbatch(?=\s)", r"\1build/chatbatch",
                                  s["run"])
        del j[build]
        j[smoke].pop("needs", None)

    def no_needs(j):
        j[smoke].pop("needs", None)

    def no_install(j):
        j[smoke]["steps"] = [s for s in j[smoke]["steps"]
                             if not INSTALLS.search(runs(s))]

    def no_download(j):
        j[smoke]["steps"] = [s for s in j[smoke]["steps"]
                             if not uses(s, "actions/download-artifact")]

    def build_tree_binary(j):
        s = next(s for s in j[smoke]["steps"] if RUNS.search(runs(s)))
        s["run"] = "build/chatbatch " + s["run"].split("chatbatch ", 1)[1]

    def builds_twice(j):
        j[smoke]["steps"].insert(0, {"run": "cmake -S . -B build"})

    return [(f.__name__, edited(f)) for f in
            (build_in_smoke, no_needs, no_install, no_download,
             build_tree_binary, builds_twice)]


def check_k8s(source):
    errors = []
    text = (source / "scripts/k8s-indexed-job.yaml").read_text()
    commands = []  # every container's command and args, joined

    def walk(node):
        if isinstance(node, dict):
            if "image" in node:
                commands.append(" ".join(node.get("command", []) +
                                         node.get("args", [])))
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    for doc in yaml.safe_load_all(text):
        walk(doc)
    containers = 0
    for c in commands:
        if RUNS.search(c):
            containers += 1
            for cmd in RUNS.findall(c):
                if "/" in cmd:
                    errors.append(f"k8s-indexed-job.yaml runs {cmd}, not the "
                                  "image's chatbatch on PATH")
    if not containers:
        errors.append("k8s-indexed-job.yaml: no container runs chatbatch")
    if "scripts/container/Dockerfile" not in text:
        errors.append("k8s-indexed-job.yaml does not name the image's recipe, "
                      "scripts/container/Dockerfile")
    dockerfile = source / "scripts/container/Dockerfile"
    if not dockerfile.is_file():
        return errors + ["scripts/container/Dockerfile is missing"]
    docker = dockerfile.read_text()
    copied = re.search(r"^COPY (chatbatch_\S*\.deb) (\S+/)$", docker, re.M)
    if not re.search(r"^FROM debian:12", docker, re.M) or not copied:
        errors.append("Dockerfile: expected FROM debian:12... and COPY of the .deb")
    elif not re.search(r"apt-get install -y [^\n]*" +
                       re.escape(copied.group(2) + copied.group(1)), docker):
        errors.append("Dockerfile: the copied .deb is not installed with apt-get")
    return errors


def check_slurm(source):
    errors = []
    for f in sorted((source / "scripts/slurm").glob("*.sbatch")):
        if 'bin="${CHATBATCH_BIN:-chatbatch}"' not in f.read_text():
            errors.append(f"{f.name}: does not default to chatbatch on PATH")
    return errors


def main():
    source = pathlib.Path(sys.argv[1])
    errors = []
    smoke = yaml.safe_load((source / WORKFLOWS[0]).read_text())
    # Broken copies of a right file (a wrong one fails below anyway).
    if not check_workflow(smoke, source):
        for what, broken in broken_copies(smoke):
            if not check_workflow(broken, source):
                errors.append(f"the check accepts a smoke workflow with {what}")
    for path in WORKFLOWS:
        text = (source / path).read_text()
        if "build/chatbatch" in text:
            errors.append(f"{path} mentions build/chatbatch")
        errors += [f"{path}: {e}"
                   for e in check_workflow(yaml.safe_load(text), source)]
    errors += check_k8s(source) + check_slurm(source)
    for e in errors:
        print("ci_examples_test: " + e, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
