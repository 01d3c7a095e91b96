#!/usr/bin/env bash
# End-to-end test of scripts/slurm/ on a real one-node Slurm cluster on
# localhost: munged, slurmctld and slurmd started by hand (no systemd), every
# state, spool, pid, log, socket and key file under one temporary directory,
# on ports picked free, so it runs beside anything else on the machine.
#
#   scripts/slurm/test.sh [CHATBATCH_BIN [CHATBATCH_MOCK_BIN]]   (default build/)
#
# It submits a 4-task array of a 12-conversation x 2-turn job against the
# mock (through submit.sh, so the merge depends on the array as in real use),
# re-queues one task while it is mid-run, and checks that the merged run
# holds every conversation exactly once, that the re-queued task resumed its
# shard, and that no turn finished before the re-queue was sent again.
# Installs the Slurm and munge packages when missing. KEEP=1 keeps the
# temporary directory.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="$(realpath "${1:-$root/build/chatbatch}")"
mock_bin="$(realpath "${2:-$root/build/chatbatch-mock}")"
[[ -x "$bin" && -x "$mock_bin" ]] || {
  echo "slurm test: FAIL: no binaries at $bin, $mock_bin (build first)" >&2
  exit 1
}

# shellcheck source=scripts/lib/apt.sh
. "$root/scripts/lib/apt.sh"
apt_install slurm-test slurmctld slurmd slurm-client munge

start=$SECONDS
tmp="$(mktemp -d /tmp/chatbatch-slurm.XXXXXX)"
# munged refuses a socket in a directory not searchable by everyone, and
# mktemp makes 0700.
chmod 755 "$tmp"
mkdir -p "$tmp"/{munge,state,spool,run,log,work}
chmod 755 "$tmp"/*

daemons=() # "name pid", in start order
log() { echo "slurm test: $*" >&2; }
fail() {
  log "FAIL: $*"
  exit 1
}

cleanup() {
  local rc=$? i name pid p d
  trap - EXIT
  set +e
  # Jobs first, so no slurmstepd or chatbatch outlives the cluster.
  if [[ -f "$tmp/slurm.conf" ]] && [[ -n "$(squeue -h 2>/dev/null)" ]]; then
    scancel --user=root --quiet 2>/dev/null
    for ((i = 0; i < 50; i++)); do
      [[ -z "$(squeue -h 2>/dev/null)" ]] && break
      sleep 0.2
    done
  fi
  if ((rc != 0)); then
    # *.out is each daemon's stderr: what it said before its log was open.
    for f in "$tmp"/log/* "$tmp"/work/runs/slurm-*.out; do
      [[ -f "$f" ]] || continue
      echo "----- $f (last 40 lines)" >&2
      tail -n 40 "$f" >&2
    done
  fi
  # Every daemon was started by setsid, so its session holds it and whatever
  # it spawned (slurmstepd, the tasks): stop each session by its leader's id.
  for ((i = ${#daemons[@]} - 1; i >= 0; i--)); do
    read -r name pid <<<"${daemons[i]}"
    for p in $(ps -o pid= -s "$pid" 2>/dev/null); do kill -TERM "$p" 2>/dev/null; done
  done
  for ((i = 0; i < 50; i++)); do
    local alive=0
    for d in "${daemons[@]}"; do
      read -r name pid <<<"$d"
      kill -0 "$pid" 2>/dev/null && alive=1
    done
    ((alive)) || break
    sleep 0.1
  done
  for d in "${daemons[@]}"; do
    read -r name pid <<<"$d"
    for p in $(ps -o pid= -s "$pid" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
  done
  if [[ "${KEEP:-0}" == 1 ]]; then log "kept $tmp"; else rm -rf "$tmp"; fi
  exit "$rc"
}
trap cleanup EXIT

# start NAME CMD...: in its own session, so cleanup can find what it spawns.
start() {
  local name="$1"
  shift
  setsid "$@" >"$tmp/log/$name.out" 2>&1 &
  daemons+=("$name $!")
}

# wait_for SECONDS WHAT CMD...: polls CMD every 0.1 s.
wait_for() {
  local limit="$1" what="$2" deadline
  shift 2
  deadline=$((SECONDS + limit))
  until "$@"; do
    ((SECONDS < deadline)) || fail "timed out after ${limit}s waiting for $what"
    sleep 0.1
  done
}

# Two free ports for slurmctld and slurmd (picked then released: a small
# race, not worth a retry loop).
read -r ctld_port slurmd_port < <(python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*(x.getsockname()[1] for x in s))')

# --- munge
dd if=/dev/urandom of="$tmp/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$tmp/munge/munge.key"
sock="$tmp/munge/munge.socket"
start munged munged --foreground --force --key-file="$tmp/munge/munge.key" \
  --socket="$sock" --pid-file="$tmp/run/munged.pid" \
  --log-file="$tmp/log/munged.log" --seed-file="$tmp/munge/munged.seed"
wait_for 10 "munged's socket" test -S "$sock"

# --- slurm
export SLURM_CONF="$tmp/slurm.conf"
cat >"$SLURM_CONF" <<CONF
ClusterName=chatbatch-test
MailProg=/bin/true
SlurmctldHost=localhost
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
# Listen on loopback only (slurmctld and slurmd otherwise bind every address).
CommunicationParameters=NoInAddrAny,NoCtldInAddrAny
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# A re-queued job may start again only once its last credential has expired:
# 120 s by default, too long for a test; 5 is the least Slurm takes.
AuthInfo=socket=$sock,cred_expire=5
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/run/slurmctld.pid
SlurmdPidFile=$tmp/run/slurmd.pid
SlurmctldLogFile=$tmp/log/slurmctld.log
SlurmdLogFile=$tmp/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
SchedulerParameters=batch_sched_delay=0
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
# Four CPUs on a two-core machine, so all four tasks run at once: the tasks
# mostly wait on the mock.
SlurmdParameters=config_overrides
ReturnToService=2
KillWait=5
MinJobAge=600
NodeName=localhost NodeAddr=127.0.0.1 CPUs=4 State=UNKNOWN
PartitionName=test Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
start slurmctld slurmctld -D -f "$SLURM_CONF"
start slurmd slurmd -D -N localhost -f "$SLURM_CONF"
node_idle() { [[ "$(sinfo -h -n localhost -o %T 2>/dev/null)" == idle ]]; }
wait_for 30 "the node to be idle" node_idle
log "cluster up in $((SECONDS - start))s"

# --- the mock and the job
start mock "$mock_bin" --port 0 --port-file "$tmp/run/mock.port" -q
wait_for 10 "the mock's port file" test -s "$tmp/run/mock.port"
mock="http://127.0.0.1:$(cat "$tmp/run/mock.port")"

# 12 conversations x 2 turns. Each turn's message names it, so the mock's
# request log says which turn each request was. One conversation at a time
# per shard and ~1 s per reply keep every task running for seconds, long
# enough to re-queue one mid-run.
work="$tmp/work"
job="$work/suite.yaml"
{
  echo "name: slurm-suite"
  echo "endpoint: \"$mock/v1/chat/completions\""
  echo "concurrency: 1"
  echo "defaults: {model: \"\", stream: true, mock: {chunks: 10, pace_ms: 100}}"
  echo "conversations:"
  for i in $(seq -w 1 12); do
    echo "  - id: c$i"
    echo "    messages: [\"c$i turn 1\", \"c$i turn 2\"]"
  done
} >"$job"

# --- submit as a user would
export CHATBATCH_JOB="$job" CHATBATCH_RUNS="$work/runs" CHATBATCH_BIN="$bin"
export CHATBATCH_SHARDS=4
cd "$work"
read -r array_id merge_id < <("$root/scripts/slurm/submit.sh")
[[ "$array_id" =~ ^[0-9]+$ && "$merge_id" =~ ^[0-9]+$ ]] ||
  fail "submit.sh printed '$array_id $merge_id', not two job ids"
log "submitted array $array_id, merge $merge_id"

# Turns a shard has recorded (lines of its <id>.jsonl files).
records() { cat "$CHATBATCH_RUNS/shard-$1"/*.jsonl 2>/dev/null | wc -l; }
# Conversations in a shard, from the run.json written before its first
# request (pretty-printed: one "hash" line per conversation; no python here,
# whose start-up on a loaded machine costs the moment to catch a task).
shard_size() { grep -c '"hash"' "$CHATBATCH_RUNS/shard-$1/run.json"; }
# A task that failed for good makes every later wait pointless: say so now.
no_task_failed() {
  local bad
  bad=$(squeue -h -t FAILED,CANCELLED,TIMEOUT,NODE_FAIL,OUT_OF_MEMORY,BOOT_FAIL \
    -j "$array_id,$merge_id" -o '%i %T' 2>/dev/null || true)
  [[ -z "$bad" ]] || fail "${bad//$'\n'/, } (see the task logs below)"
}
all_started() {
  local k
  no_task_failed
  for k in 1 2 3 4; do [[ -f "$CHATBATCH_RUNS/shard-$k/run.json" ]] || return 1; done
}
wait_for 30 "all four shards to start" all_started

# Re-queue the largest shard's task once it has recorded a turn: it is then
# surely mid-run (one conversation at a time, several left).
victim=1 size=0
for k in 1 2 3 4; do
  n=$(shard_size "$k")
  if ((n > size)); then victim=$k size=$n; fi
done
((size >= 2)) || fail "no shard has two conversations; pick other ids"
has_a_record() { (($(records "$victim") >= 1)); }
wait_for 30 "shard $victim to record a turn" has_a_record
task="${array_id}_$((victim - 1))"
scontrol requeue "$task"
before=$(records "$victim")
log "re-queued task $task (shard $victim: $before of $((2 * size)) turns recorded)"
((before < 2 * size)) || fail "shard $victim finished before the re-queue"
# What the first attempt recorded: the turns that must not be sent again.
# Read as the second attempt starts, when the first has surely ended (its
# SIGTERM lets the turn in flight finish and be written). The second
# attempt is held until the first one's credential expires (cred_expire).
out="$CHATBATCH_RUNS/slurm-${array_id}_$((victim - 1)).out"
resumed() { grep -q "resuming shard $victim/4" "$out"; }
wait_for 30 "the re-queued task to resume its shard (see $out)" resumed
cat "$CHATBATCH_RUNS/shard-$victim"/*.jsonl >"$tmp/done-before-requeue.jsonl"


queue_empty() {
  no_task_failed
  [[ -z "$(squeue -h -j "$array_id,$merge_id" 2>/dev/null)" ]]
}
wait_for 60 "the array and the merge to finish" queue_empty
log "array and merge done at $((SECONDS - start))s"

# --- checks
state_of() { scontrol show job "$1" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | head -1; }
for k in 0 1 2 3; do
  s=$(state_of "${array_id}_$k")
  [[ "$s" == JobState=COMPLETED ]] || fail "task ${array_id}_$k ended $s"
done
s=$(state_of "$merge_id")
[[ "$s" == JobState=COMPLETED ]] || fail "merge job $merge_id ended $s"


# The merged run: every conversation exactly once, each turn exactly once.
python3 - "$CHATBATCH_RUNS/all" "$tmp/done-before-requeue.jsonl" \
  "$mock/mock/stats" <<'PY' || fail "the merged run or the mock's log is wrong (above)"
import collections, glob, json, os, sys, urllib.request

merged, done_before, stats_url = sys.argv[1:]
errors = []
ids = sorted(os.path.basename(p)[:-6] for p in glob.glob(merged + "/*.jsonl"))
want = [f"c{i:02d}" for i in range(1, 13)]
if ids != want:
    errors.append(f"merged conversations {ids}, expected {want}")
for cid in ids:
    turns = [json.loads(l)["turn"] for l in open(f"{merged}/{cid}.jsonl")]
    if sorted(turns) != [1, 2]:
        errors.append(f"{cid}: turns recorded {turns}, expected [1, 2] once each")
counts = json.load(open(merged + "/summary.json"))["counts"]
if counts["conversations"] != 12 or counts["conversations_ok"] != 12:
    errors.append(f"summary.json counts {counts}, expected 12 conversations, 12 ok")

# Which turn each request was, from its last user message.
log = json.load(urllib.request.urlopen(stats_url, timeout=5))
if log.get("log_dropped"):
    errors.append("the mock dropped log entries; cannot check re-sends")
sent = collections.Counter(e["last_user"] for e in log["log"])
before = [json.loads(l)["user"] for l in open(done_before)]
for user in before:
    if sent[user] != 1:
        errors.append(f"'{user}' was done before the re-queue but sent {sent[user]} times")
missing = [f"c{i:02d} turn {t}" for i in range(1, 13) for t in (1, 2)
           if sent[f"c{i:02d} turn {t}"] == 0]
if missing:
    errors.append(f"never sent: {missing}")
# Only a turn cut off in flight may go twice, and one runs at a time.
if sum(sent.values()) > 25:
    errors.append(f"{sum(sent.values())} requests for 24 turns")
for e in errors:
    print("  " + e, file=sys.stderr)
print(f"slurm test: {len(before)} turns done before the re-queue, each sent once; "
      f"{sum(sent.values())} requests for 24 turns", file=sys.stderr)
sys.exit(1 if errors else 0)
PY
log "ok in $((SECONDS - start))s"
