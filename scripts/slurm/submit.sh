#!/usr/bin/env bash
# Queues a chatbatch job on Slurm: an N-task array (chatbatch.sbatch, one
# shard per task) and a merge (merge.sbatch) that starts once every task has
# succeeded. Prints the two Slurm job ids, "ARRAY_ID MERGE_ID".
#
#   CHATBATCH_JOB=jobs/suite.yaml CHATBATCH_RUNS=/shared/runs/suite \
#     CHATBATCH_SHARDS=8 scripts/slurm/submit.sh [SBATCH_OPTION...]
#
# Environment: CHATBATCH_JOB, CHATBATCH_RUNS, CHATBATCH_BIN, CHATBATCH_ARGS
# (see chatbatch.sbatch) and CHATBATCH_SHARDS (default 4). Extra arguments go
# to both sbatch calls (e.g. --partition=cpu --time=4:00:00); sbatch's own
# SBATCH_* variables work too. Slurm logs go to CHATBATCH_RUNS/slurm-*.out.
#
# Every node that may run a task needs chatbatch: install the package that
# scripts/package.sh makes on each (sudo apt install ./chatbatch_*.deb, or in
# the nodes' image), and the tasks find `chatbatch` on PATH. CHATBATCH_BIN
# names another binary, e.g. a build tree's on shared storage.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
job="${CHATBATCH_JOB:-jobs/example.yaml}"
export CHATBATCH_RUNS="${CHATBATCH_RUNS:-runs/$(basename "${job%.*}")}"
export CHATBATCH_SHARDS="${CHATBATCH_SHARDS:-4}"
mkdir -p "$CHATBATCH_RUNS"

array=$(sbatch --parsable --array=0-$((CHATBATCH_SHARDS - 1)) \
  --output="$CHATBATCH_RUNS/slurm-%A_%a.out" "$@" "$here/chatbatch.sbatch")
array="${array%%;*}" # --parsable prints "ID;CLUSTER" on multi-cluster setups
# kill-on-invalid-dep: if a shard fails for good the merge is cancelled
# instead of pending forever.
merge=$(sbatch --parsable --dependency=afterok:"$array" \
  --kill-on-invalid-dep=yes --output="$CHATBATCH_RUNS/slurm-%j-merge.out" \
  "$@" "$here/merge.sbatch")
echo "${array} ${merge%%;*}"
