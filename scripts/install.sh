#!/usr/bin/env bash
# Install nono from this checkout on Debian/Ubuntu and run it on a real command.
#   bash scripts/install.sh            # installs into /usr/local/bin (root) or ~/.local/bin
#   PREFIX=/opt/nono bash scripts/install.sh
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh
if ! command -v cargo >/dev/null; then
    echo "nono builds with Rust (cargo). Install it with rustup (https://rustup.rs), then re-run." >&2
    exit 1
fi

bash scripts/build.sh --bins

if [ -n "${PREFIX:-}" ]; then bindir="$PREFIX/bin"
elif [ "$(id -u)" -eq 0 ]; then bindir=/usr/local/bin
else bindir="$HOME/.local/bin"; fi
mkdir -p "$bindir"
# The helpers must sit next to nono: it finds them there, never via PATH.
install -m 0755 target/release/nono target/release/nono-broker target/release/nono-proxy \
    target/release/nono-keyholder "$bindir/"
echo "installed nono into $bindir"

"$bindir/nono" setup --check-only
echo
echo "A real command in the sandbox (this checkout shared read-only, network blocked):"
"$bindir/nono" run --allow-cwd --block-net -- sh -c 'ls | head -5; echo "--"; cat /etc/shadow 2>&1 | head -1'
