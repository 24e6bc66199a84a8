#!/usr/bin/env bash
# Supply-chain checks with cargo-deny (installed when missing): licences,
# duplicate versions, sources (deny.toml says what is allowed and why).
# The advisories check needs the RustSec database from a host CI cannot
# reach; run `cargo deny check advisories` where the network allows it.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v cargo-deny >/dev/null; then
    cargo install cargo-deny --locked
fi
# cargo-deny reads the metadata of every platform's dependencies (Windows
# ones too), which a Linux build never downloads: fetch them first, then
# check without further network access.
cargo fetch --locked
cargo deny --offline check licenses bans sources
