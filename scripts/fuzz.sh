#!/usr/bin/env bash
# Run every fuzz target briefly (default 30 s each; FUZZ_SECONDS overrides).
# A crash fails the run and leaves its input under fuzz/artifacts/.
# cargo-fuzz passes nightly-only flags to rustc; RUSTC_BOOTSTRAP lets the
# stable toolchain accept them.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds=${FUZZ_SECONDS:-30}
if ! command -v cargo-fuzz >/dev/null; then
    cargo install cargo-fuzz --locked
fi
export RUSTC_BOOTSTRAP=1
cargo fuzz build --release
for src in fuzz_targets/*.rs; do
    t=$(basename "$src" .rs)
    mkdir -p "corpus/$t"
    echo "-- fuzz $t for ${seconds}s"
    log=$(mktemp)
    rc=0
    cargo fuzz run --release "$t" "corpus/$t" -- -max_total_time="$seconds" -print_final_stats=1 >"$log" 2>&1 || rc=$?
    grep -E "^(stat::number_of_executed_units|Done [0-9]+ runs)" "$log" || true
    if [ "$rc" -ne 0 ]; then
        tail -40 "$log"
        rm -f "$log"
        echo "fuzz target $t failed"
        exit 1
    fi
    rm -f "$log"
done
