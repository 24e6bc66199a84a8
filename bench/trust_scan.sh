#!/usr/bin/env bash
# Cost of the pre-exec trust scan: a repository of 20,000 files with 50
# instruction files signed into one .nono-trust.bundle, timed with and
# without --trust-override in the same run (hyperfine if installed, else a
# loop of N runs and the median). Not part of the test suite.
#   bash bench/trust_scan.sh [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-30}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
cargo build --release --quiet -p nono -p nono-broker -p nono-keyholder
nono=$CARGO_TARGET_DIR/release/nono
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export HOME=$work/home
repo=$work/repo
mkdir -p "$HOME" "$repo"
# 200 directories x 100 files; one CLAUDE.md in each of the first 50.
for d in $(seq 1 200); do
    mkdir -p "$repo/src/m$d"
    (cd "$repo/src/m$d" && for f in $(seq 1 99); do echo "x $f" > "f$f.txt"; done)
    if [ "$d" -le 50 ]; then echo "rules $d" > "$repo/src/m$d/CLAUDE.md"; else echo y > "$repo/src/m$d/f100.txt"; fi
done
key="file://$work/key.pem"
cd "$repo"
"$nono" trust keygen --keyref "$key" >/dev/null 2>&1
"$nono" trust init --user --keyref "$key" >/dev/null 2>&1
"$nono" trust sign-policy --user --keyref "$key" >/dev/null 2>&1
"$nono" trust sign --all --keyref "$key" >/dev/null 2>&1
echo "files: $(find "$repo" -type f | wc -l), instruction files: $(find "$repo" -name CLAUDE.md | wc -l), bundles: $(find "$repo" -name '*.bundle' | wc -l)"
"$nono" run --allow-cwd -- true  # must pass: every file verified
scan="$nono run --allow-cwd -- true"
plain="$nono run --allow-cwd --trust-override -- true"
if command -v hyperfine >/dev/null; then
    hyperfine -N --warmup 3 --runs "$runs" "$scan" "$plain"
    exit 0
fi
median() {
    local t=()
    for _ in $(seq 1 "$runs"); do
        local s e
        s=$(date +%s%N); $1 >/dev/null 2>&1; e=$(date +%s%N)
        t+=($(( (e - s) / 1000 )))
    done
    printf '%s\n' "${t[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p"
}
for c in "$scan" "$plain"; do
    $c >/dev/null 2>&1
    echo "$(median "$c") us (median of $runs): $c"
done
