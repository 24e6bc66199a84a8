#!/usr/bin/env bash
# Install the system packages nono needs to build and test, on Debian/Ubuntu.
# Idempotent: does nothing when everything is present. Needs root (or sudo).
set -euo pipefail

# build: C toolchain; libseccomp only for the test that checks nono's own
#        seccomp programs against libseccomp's
# tests: toolchains run inside the sandbox, keyutils for keyring checks,
#        util-linux for runuser (the unprivileged pass), passwd for useradd,
#        curl and python3-pip for the proxy's client tests, hyperfine for bench/
packages=(
    build-essential pkg-config libseccomp-dev libdbus-1-dev
    gnome-keyring libsecret-tools dbus dbus-x11
    git python3 python3-pip make gcc nodejs keyutils util-linux passwd procps ca-certificates strace
    curl
)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# npm ships with some nodejs builds and separately with Debian's.
command -v npm >/dev/null || missing+=(npm)
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing system packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Real HTTP clients for the proxy tests, system-wide so that the sandboxed
# (and the unprivileged) test runs can import them from /usr/local.
if ! /usr/bin/python3 -c 'import requests, openai' 2>/dev/null; then
    echo "installing python packages: requests openai"
    $SUDO /usr/bin/python3 -m pip install --quiet --break-system-packages requests openai
fi
# The agent CLIs the end-to-end agent tests run for real, system-wide so the
# unprivileged pass finds them too.
for pair in claude:@anthropic-ai/claude-code codex:@openai/codex opencode:opencode-ai; do
    cmd=${pair%%:*} pkg=${pair#*:}
    if ! command -v "$cmd" >/dev/null; then
        echo "installing $pkg"
        $SUDO npm install -g --no-fund --no-audit "$pkg" >/dev/null
    fi
done
