#!/usr/bin/env bash
# Startup overhead of nono vs. running the command directly and vs. a peer
# sandbox (bubblewrap), measured in the same run with hyperfine.
# Not part of the test suite. Needs: hyperfine, bubblewrap (apt-get install).
#   bash bench/startup.sh [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-300}
command -v hyperfine >/dev/null || { echo "install hyperfine"; exit 1; }
cargo build --release --quiet -p nono -p nono-broker -p nono-proxy -p nono-keyholder
nono=$PWD/target/release/nono
cmds=(
    "/bin/true"
    "$nono wrap -- /bin/true"
    "$nono run -- /bin/true"
    "$nono run --block-net -- /bin/true"
    "$nono run --allow-domain example.test -- /bin/true"
)
if command -v bwrap >/dev/null; then
    cmds+=("bwrap --ro-bind /usr /usr --symlink usr/lib64 /lib64 --symlink usr/lib /lib --symlink usr/bin /bin --proc /proc --dev /dev --unshare-all -- /bin/true")
fi
out=$(mktemp -d)
hyperfine -N --warmup 20 --runs "$runs" --export-markdown "$out/startup.md" "${cmds[@]}" >/dev/null
cat "$out/startup.md"
rm -rf "$out"
