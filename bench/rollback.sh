#!/usr/bin/env bash
# Rollback snapshot cost on a generated project (default 20,000 files,
# ~200 MB in 20 directories of 1,000): the first session's snapshot, a second
# session with nothing changed, and a restore of 100 changed files, against
# `cp -a` of the same tree and a bare stat walk, in the same run.
# Not part of the test suite. Each nono figure is one whole `nono run
# --rollback` of /bin/true (both snapshots, launch, record).
#   bash bench/rollback.sh [files] [kib-per-file]
set -euo pipefail
cd "$(dirname "$0")/.."
files=${1:-20000}
kib=${2:-10}
cargo build --release --quiet -p nono -p nono-broker -p nono-proxy -p nono-keyholder
nono=$PWD/target/release/nono
work=$(mktemp -d /tmp/nono-bench-rollback.XXXXXX)
trap 'rm -rf "$work"' EXIT
proj=$work/proj
export HOME=$work/home
unset XDG_STATE_HOME XDG_CONFIG_HOME
mkdir -p "$proj" "$HOME"
echo "generating $files files of $kib KiB in $proj"
python3 - "$proj" "$files" "$kib" <<'PY'
import os, sys
root, n, kib = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(n):
    d = os.path.join(root, f"d{i // 1000:03d}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"f{i:05d}.txt"), "wb") as f:
        f.write(os.urandom(kib * 1024))
PY
sync
t() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N); echo "$e - $s" | bc; }
run() { "$nono" run --allow "$proj" --rollback --no-rollback-prompt -- "$@"; }
stat_walk=$(t find "$proj" -printf '%s %T@ %C@\n')
cp_a=$(t cp -a "$proj" "$work/copy")
rm -rf "$work/copy"
first=$(t run /bin/true)
second=$(t run /bin/true)
noop=$(t "$nono" run --allow "$proj" --no-audit -- /bin/true)
run /bin/sh -c "cd '$proj' && for f in d000/f000*.txt; do echo changed > \"\$f\"; done" >/dev/null 2>&1
id=$("$nono" rollback list --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["id"])')
changed=$("$nono" rollback show "$id" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["changes"]))')
restore=$(t "$nono" rollback restore "$id")
echo
printf '%-44s %8s\n' "step ($files files, $(du -sm "$proj" | cut -f1) MB)" seconds
printf '%-44s %8.3f\n' "stat walk (find -printf size,mtime,ctime)" "$stat_walk"
printf '%-44s %8.3f\n' "cp -a of the tree" "$cp_a"
printf '%-44s %8.3f\n' "nono run, no rollback, no audit" "$noop"
printf '%-44s %8.3f\n' "nono run --rollback, first session" "$first"
printf '%-44s %8.3f\n' "nono run --rollback, nothing changed" "$second"
printf '%-44s %8.3f\n' "nono rollback restore ($changed changes)" "$restore"
