#!/usr/bin/env bash
# Install the system packages nono needs to build and test, on Debian/Ubuntu.
# Idempotent: does nothing when everything is present. Needs root (or sudo).
set -euo pipefail

# build: C toolchain and libseccomp for the seccomp crate
# tests: toolchains run inside the sandbox, keyutils for keyring checks,
#        util-linux for runuser (the unprivileged pass), passwd for useradd
packages=(
    build-essential pkg-config libseccomp-dev libdbus-1-dev
    gnome-keyring libsecret-tools dbus dbus-x11
    git python3 make gcc nodejs keyutils util-linux passwd procps ca-certificates strace
)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# npm ships with some nodejs builds and separately with Debian's.
command -v npm >/dev/null || missing+=(npm)
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
echo "installing system packages: ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
