#!/usr/bin/env bash
# README's test command, N times in a row, each on a fresh clone of a repository (default: this
# one's HEAD), in one virtual environment made for the purpose (so the editable install each run
# makes does not touch the developer's environment). Stops at the first failing run.
#
#   tools/fresh_clone_runs.sh            # 20 runs
#   tools/fresh_clone_runs.sh 5 /path/to/repo
#
# Prints one line per run (exit code, pytest's summary, seconds) and a final count.
set -uo pipefail
runs=${1:-20}
repo=${2:-$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)}
work=$(mktemp -d /tmp/kerasette-fresh.XXXXXX)
python3 -m venv "$work/venv"
# shellcheck disable=SC1091
source "$work/venv/bin/activate"
python -m pip install --quiet --upgrade pip
echo "repo $repo at $(git -C "$repo" rev-parse --short HEAD); $runs runs; work dir $work"
passed=0
for i in $(seq 1 "$runs"); do
    clone="$work/clone$i"
    git clone --quiet "$repo" "$clone"
    start=$(date +%s)
    # README's test command, read from the clone's README (its first line running pytest)
    command=$(grep -m1 -E '^pip install .*python -m pytest' "$clone/README.md")
    (cd "$clone" && echo "+ $command" && bash -c "$command") > "$work/run$i.log" 2>&1
    rc=$?
    summary=$(grep -E "passed|failed|error" "$work/run$i.log" | tail -1)
    echo "run $i: rc $rc  $summary  ($(( $(date +%s) - start )) s)"
    if [ "$rc" -ne 0 ]; then
        echo "run $i failed; its log: $work/run$i.log"
        exit 1
    fi
    passed=$((passed + 1))
    rm -rf "$clone"
done
echo "$passed of $runs runs passed in a row"
