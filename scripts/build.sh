#!/usr/bin/env bash
# Build every binary (release) into target/release. The broker, which every
# `nono run` starts, is linked statically against musl when the Rust target
# for it is installed or can be added: a static binary starts without the
# dynamic loader and without glibc's start-up CPU probing, which costs about
# 1 ms per exec on a VM that traps `cpuid`. Without that target the glibc
# build stays (correct, a little slower to start), with a note.
# The front end, started for every command, is linked statically against
# glibc (static-pie) for the same reason: no dynamic loader, and no
# libgcc_s, whose start-up CPU probe alone costs ~0.4 ms there. It resolves
# host names only for `nono why --host` (glibc's built-in files and dns
# lookups); the proxy, which resolves for the command, stays dynamic.
#   bash scripts/build.sh [more `cargo build` arguments, e.g. --all-targets]
set -euo pipefail
cd "$(dirname "$0")/.."
musl=x86_64-unknown-linux-musl
cargo build --release --workspace --quiet "$@"
have_musl() {
    [ "$(uname -m)" = x86_64 ] && command -v rustup >/dev/null || return 1
    rustup target list --installed 2>/dev/null | grep -qx "$musl" && return 0
    rustup target add "$musl" >/dev/null 2>&1
}
if have_musl; then
    cargo build --release --target "$musl" -p nono-broker --bin nono-broker --quiet
    # A new file, not a write through cargo's hard link to its own output.
    install -m 0755 "target/$musl/release/nono-broker" target/release/nono-broker.new
    mv -f target/release/nono-broker.new target/release/nono-broker
else
    echo "note: no $musl Rust target: nono-broker stays linked against glibc" >&2
fi
host=$(rustc -vV | sed -n 's/^host: //p')
static_glibc() {
    case "$host" in *-linux-gnu) ;; *) return 1 ;; esac
    # gcc prints the bare name back when it has no such file.
    [ -f "$(gcc -print-file-name=libc.a 2>/dev/null)" ]
}
if static_glibc; then
    # A failure here is a real build error, not a missing library: it stops.
    RUSTFLAGS="-C target-feature=+crt-static" \
        cargo build --release --target "$host" -p nono --bin nono --quiet
    install -m 0755 "target/$host/release/nono" target/release/nono.new
    mv -f target/release/nono.new target/release/nono
else
    echo "note: no static glibc (libc6-dev's libc.a) for $host: nono stays dynamically linked" >&2
fi
