#!/usr/bin/env bash
# The whole test suite: formatting, lints, unit tests, and the end-to-end
# tests on the real kernel — as the current user and, when run as root, again
# as an unprivileged user created for the purpose.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh

echo "== fmt, clippy and the documentation checks"
cargo fmt --all -- --check
cargo clippy --release --workspace --all-targets --quiet -- -D warnings
python3 scripts/check_docs.py

echo "== build"
bash scripts/build.sh --all-targets
# Both passes run these copies: the binaries as built (the static broker
# included), whatever cargo re-links into target/release meanwhile.
stage=$(mktemp -d /tmp/nono-e2e-bin.XXXXXX)
trap 'rm -rf "$stage"' EXIT
cp target/release/nono target/release/nono-broker target/release/nono-proxy \
   target/release/nono-keyholder target/release/nono-probe target/release/nono-upstream "$stage/"
chmod -R a+rX "$stage"

echo "== tests as $(id -un)"
NONO_BIN_DIR="$stage" cargo test --release --workspace --quiet

if [ "$(id -u)" -ne 0 ]; then
    echo "(not root: skipping the unprivileged-user pass)"
    exit 0
fi

echo "== end-to-end tests as an unprivileged user"
user=nono-e2e
id "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/sh "$user"
mapfile -t tests < <(cargo test --release -p nono-e2e --no-run --message-format=json 2>/dev/null |
    python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["kind"] == ["test"]:
        print(m["executable"])')
[ ${#tests[@]} -gt 0 ] || { echo "no end-to-end test executables found"; exit 1; }
for t in "${tests[@]}"; do
    cp "$t" "$stage/"
done
cp -r tests/fixtures "$stage/fixtures"
chmod -R a+rX "$stage"
home=$(getent passwd "$user" | cut -d: -f6)
for t in "${tests[@]}"; do
    name=$(basename "$t")
    echo "-- $name as $user"
    runuser -u "$user" -- env -i HOME="$home" USER="$user" PATH=/usr/local/bin:/usr/bin:/bin \
        NONO_BIN_DIR="$stage" NONO_E2E_FIXTURES="$stage/fixtures" "$stage/$name" --test-threads=2
done
