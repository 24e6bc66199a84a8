#!/usr/bin/env bash
# nono against the bare command and a peer sandbox (bubblewrap:
# `bwrap --ro-bind / / --dev /dev --unshare-all`; for the proxy, tinyproxy),
# side by side, in one run. Rows, in order:
#   start-up of /bin/true: bare, bwrap, `nono wrap`, `nono run`, `nono run
#     --allow-domain example.com` (proxy mode);
#   policy size, `nono run -- /bin/true`: 1,000 and 2,000 `--read` grants;
#     `--profile` with a 31-file and a 100-file `extends` chain on the
#     built-in default (nono takes up to 128 profiles); `--allow DIR` of a
#     directory of 5,000 entries, and the same directory as `--allow ~`
#     (HOME=DIR with a ~/.ssh: expanded around it, 5,000 rules, brokered);
#   `tar xf` of 5,000 and 20,000 files and `cp -a` of 5,000 into a grant, as
#     root and (when NONO_BENCH_USER names an existing user and this runs as
#     root) as that user;
#   `git status` in a 20,000-file repository;
#   `find /usr`: bare, bwrap, `nono run`, `nono run --capability-elevation`
#     (every open notified to the broker; a decisions file denies anything
#     beyond the grants, so nothing is ever prompted for);
#   a chmod loop, an openat loop relative to a directory descriptor (plain
#   and with --capability-elevation) and a unix-socket connect loop (per
#   call, from inside);
#   idle process trees (`sleep 2`, sampled after 1 s): each process name's
#     resident and proportional set (VmRSS, Pss), the sum without the
#     command (`without-sleep`: the sandbox's own processes) and the
#     total, for bare,
#     bwrap, `nono wrap`, `nono run` and proxy mode;
#   firejail (`firejail --quiet --noprofile`, installed with apt-get when
#     possible; left out, with a note, when it cannot start here) beside
#     bwrap for start-up, `tar xf` of 5,000 files as root and `find /usr`;
#   the proxy on loopback (bench/proxy.sh with smaller sizes): bulk CONNECT
#     and forwarding throughput vs direct (MB/s), keep-alive per-request p50
#     vs direct (µs, and the µs added), and the proxy's memory holding 100
#     concurrent connections; tinyproxy alongside when it is installed or
#     installable with apt-get (else its rows are left out, with a note).
#
# Times are min / median / max in ms (loops: µs per call); RSS is the peak
# of the summed resident memory of the whole process tree (MiB, sampled);
# exit is the command's non-zero exit status if any run failed (else 0).
# Takes the installed binaries: the directory of `nono` on PATH, or
# target/release, or the directory given (nono-probe and nono-upstream,
# from the nono-e2e crate, are needed for the two loops and for the proxy;
# those rows are skipped without them). Installs bubblewrap with apt-get
# when it is missing. Not part of the test suite; bounded (fixed counts,
# every run killed after 300 s; network to loopback only; a few minutes in
# all).
#   bash bench/compare.sh [BIN_DIR]
# Environment: BENCH_DIR (where files are written; default /dev/shm, a
# tmpfs, so the disk's own latency does not hide the sandbox's cost),
# NONO_BENCH_USER (unprivileged rows), RUNS (start-up runs, default 20),
# PROXY_MIB and PROXY_REQUESTS (bulk size and keep-alive requests per
# round for the proxy rows, default 256 and 1000).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-}
if [ -z "$bin" ]; then
    if command -v nono >/dev/null; then
        bin=$(dirname "$(command -v nono)")
    else
        bin=$here/../target/release
    fi
fi
[ -x "$bin/nono" ] || { echo "no nono in $bin"; exit 1; }
runs=${RUNS:-20}
user=${NONO_BENCH_USER:-}
if ! command -v bwrap >/dev/null; then
    apt-get install -y -qq bubblewrap >/dev/null || { echo "install bubblewrap"; exit 1; }
fi
work=$(mktemp -d "${BENCH_DIR:-/dev/shm}/nono-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
chmod 755 "$work"
# A world-readable copy of the binaries, so an unprivileged user runs the same ones.
mkdir "$work/bin"
for b in nono nono-broker nono-proxy nono-keyholder nono-probe nono-upstream; do
    [ -x "$bin/$b" ] && cp "$bin/$b" "$work/bin/"
done
chmod -R a+rX "$work/bin"
nono=$work/bin/nono
probe=$work/bin/nono-probe
m() { python3 "$here/measure.py" "$@"; }
bw=(bwrap --ro-bind / / --dev /dev --unshare-all --)
# The same, with the bench's files visible (its own /dev hides /dev/shm).
bwf=(bwrap --ro-bind / / --dev /dev --bind "$work" "$work" --unshare-all)

# firejail, when it is installed or installable and can start here.
fj=()
if ! command -v firejail >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get install -y -qq firejail >/dev/null 2>&1 || true
fi
if command -v firejail >/dev/null && firejail --quiet --noprofile -- /bin/true >/dev/null 2>&1; then
    fj=(firejail --quiet --noprofile --)
fi

row() { # $1 case, $2 runner, $3 "min median max [exit status]", $4 rss
    local min med max st
    read -r min med max st <<<"$3"
    printf '| %-44s | %-6s | %9s | %9s | %9s | %7s | %4s |\n' "$1" "$2" "$min" "$med" "$max" "$4" "${st:--}"
}
header() {
    echo
    printf '| %-44s | %-6s | %9s | %9s | %9s | %7s | %4s |\n' "$1" runner min median max "RSS MiB" exit
    printf '|%s|%s|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..46})" "--------" "-----------" "-----------" "-----------" "---------" "------"
}
# case, runner, runs, [--before SHELL], -- command...
timed() {
    local what=$1 who=$2 n=$3
    shift 3
    row "$what" "$who" "$(m time "$n" "$@")" "$(m rss "$@")"
}

echo "# nono vs bare vs bubblewrap ($(uname -r), $(nproc) cores, $(date -u +%F))"
echo "binaries: $bin; files in: ${BENCH_DIR:-/dev/shm}"
[ ${#fj[@]} -gt 0 ] || echo "(firejail: not installed or cannot start here; its rows are left out)"

header "start-up (ms)"
timed "/bin/true" bare "$runs" -- /bin/true
timed "/bin/true" bwrap "$runs" -- "${bw[@]}" /bin/true
if [ ${#fj[@]} -gt 0 ]; then
    timed "/bin/true" firejail "$runs" -- "${fj[@]}" /bin/true
fi
timed "wrap -- /bin/true" nono "$runs" -- "$nono" wrap --silent -- /bin/true
timed "run -- /bin/true" nono "$runs" -- "$nono" run --silent -- /bin/true
timed "run --allow-domain example.com -- /bin/true" nono "$runs" -- \
    "$nono" run --silent --allow-domain example.com -- /bin/true

header "policy size: run -- /bin/true (ms)"
mkdir "$work/grants"
for n in 1000 2000; do
    args=()
    for i in $(seq 1 "$n"); do
        mkdir -p "$work/grants/d$i"
        args+=(--read "$work/grants/d$i")
    done
    timed "run, $n --read grants" nono 10 -- "$nono" run --silent "${args[@]}" -- /bin/true
done
# An extends chain: p1 builds on the built-in default, each next file on
# the one before (relative names are taken from the profile's directory),
# each adding one --read grant.
mkdir "$work/profiles"
for i in $(seq 1 100); do
    ext=""
    if [ "$i" -gt 1 ]; then ext="\"extends\": \"p$((i - 1)).json\", "; fi
    printf '{%s"meta": {"name": "p%s"}, "filesystem": {"read": ["%s"]}}\n' \
        "$ext" "$i" "$work/grants/d$i" >"$work/profiles/p$i.json"
done
timed "run --profile, 31-file extends chain" nono 10 -- \
    "$nono" run --silent --profile "$work/profiles/p31.json" -- /bin/true
timed "run --profile, 100-file extends chain" nono 10 -- \
    "$nono" run --silent --profile "$work/profiles/p100.json" -- /bin/true
# A directory of 5,000 entries, granted as itself and as the home directory
# (then with a protected ~/.ssh inside: granted entry by entry).
home=$work/home
mkdir -p "$home/.ssh"
echo key >"$home/.ssh/id_ed25519"
(cd "$home" && mkdir $(seq -f 'e%g' 1 4999))
timed "run --allow DIR, 5,000 entries" nono 10 -- \
    "$nono" run --silent --allow "$home" -- /bin/true
timed "run --allow ~, 5,000 entries (expanded)" nono 10 -- \
    env HOME="$home" "$nono" run --silent --allow "$home" -- /bin/true

# A tree of N small files in 50 directories, archived once.
tree() { # $1 dir, $2 files
    local per=$(($2 / 50))
    for d in $(seq 1 50); do
        mkdir -p "$1/d$d"
        for f in $(seq 1 "$per"); do echo "$d.$f" >"$1/d$d/f$f"; done
    done
}
for n in 5000 20000; do
    tree "$work/src$n/src" "$n"
    tar cf "$work/t$n.tar" -C "$work/src$n" src
done
chmod -R a+rX "$work"
metadata_run() { # label, user
    local label=$1 u=$2 d=$work/dest-$1 pre=()
    if [ -n "$u" ]; then
        pre=(runuser -u "$u" -- env -i "HOME=$(getent passwd "$u" | cut -d: -f6)"
            PATH=/usr/local/bin:/usr/bin:/bin)
    fi
    mkdir -p "$d" && chmod 777 "$d"
    local clean="rm -rf $d/src"
    for n in 5000 20000; do
        local c=5
        [ "$n" = 20000 ] && c=3
        header "tar xf $n files into a grant, $label (ms)"
        timed "tar xf $n" bare "$c" --before "$clean" -- "${pre[@]}" tar xf "$work/t$n.tar" -C "$d"
        timed "tar xf $n" bwrap "$c" --before "$clean" -- \
            "${pre[@]}" "${bwf[@]}" --bind "$d" "$d" -- tar xf "$work/t$n.tar" -C "$d"
        if [ ${#fj[@]} -gt 0 ] && [ -z "$u" ] && [ "$n" = 5000 ]; then
            timed "tar xf $n" firejail "$c" --before "$clean" -- "${fj[@]}" tar xf "$work/t$n.tar" -C "$d"
        fi
        timed "tar xf $n" nono "$c" --before "$clean" -- \
            "${pre[@]}" "$nono" run --silent --read-file "$work/t$n.tar" --allow "$d" -- \
            tar xf "$work/t$n.tar" -C "$d"
    done
    header "cp -a 5000 files into a grant, $label (ms)"
    timed "cp -a 5000" bare 5 --before "$clean" -- "${pre[@]}" cp -a "$work/src5000/src" "$d/"
    timed "cp -a 5000" bwrap 5 --before "$clean" -- \
        "${pre[@]}" "${bwf[@]}" --bind "$d" "$d" -- cp -a "$work/src5000/src" "$d/"
    timed "cp -a 5000" nono 5 --before "$clean" -- \
        "${pre[@]}" "$nono" run --silent --read "$work/src5000" --allow "$d" -- \
        cp -a "$work/src5000/src" "$d/"
}
metadata_run root ""
if [ -n "$user" ] && [ "$(id -u)" = 0 ] && id "$user" >/dev/null 2>&1; then
    metadata_run "$user" "$user"
fi

header "git status, 20000-file repository (ms)"
repo=$work/repo
tree "$repo" 20000
git -C "$repo" init -q
git -C "$repo" -c user.name=b -c user.email=b@b add -A
git -C "$repo" -c user.name=b -c user.email=b@b commit -qm bench
git -C "$repo" status >/dev/null
timed "git status" bare 5 -- git -C "$repo" status --porcelain
timed "git status" bwrap 5 -- "${bwf[@]}" --bind "$repo" "$repo" -- git -C "$repo" status --porcelain
timed "git status" nono 5 -- "$nono" run --silent --allow "$repo" -- git -C "$repo" status --porcelain

header "find /usr (ms)"
# Directories the sandboxed (capability-less) root cannot read are pruned,
# so every runner walks the same tree and exits 0.
walk=(find /usr -type d ! -readable -prune -o -print)
echo 'deny /**' >"$work/decisions"
timed "find /usr" bare 5 -- "${walk[@]}"
timed "find /usr" bwrap 5 -- "${bw[@]}" "${walk[@]}"
if [ ${#fj[@]} -gt 0 ]; then
    timed "find /usr" firejail 5 -- "${fj[@]}" "${walk[@]}"
fi
timed "find /usr" nono 5 -- "$nono" run --silent --read /usr -- "${walk[@]}"
timed "find /usr, run --capability-elevation" nono 5 -- \
    "$nono" run --silent --read /usr --capability-elevation \
    --elevation-decisions "$work/decisions" -- "${walk[@]}"

if [ -x "$probe" ]; then
    header "chmod in a grant, 20000 per run (µs per call)"
    mkdir "$work/c" && touch "$work/c/f"
    row "chmod" bare "$(m ns 5 -- "$probe" bench-chmod "$work/c/f" 20000)" -
    row "chmod" bwrap "$(m ns 5 -- "${bwf[@]}" --bind "$work/c" "$work/c" -- \
        "$probe" bench-chmod "$work/c/f" 20000)" -
    row "chmod" nono "$(m ns 5 -- "$nono" run --silent --read-file "$probe" --allow "$work/c" -- \
        "$probe" bench-chmod "$work/c/f" 20000)" -
    # The kernel's floor for any brokered call: a syscall that does nothing,
    # bare and suspended for a supervisor process that answers at once.
    row "getppid" bare "$(m ns 5 -- "$probe" bench-getppid 20000)" -
    row "getppid, notified and answered at once (floor)" bare \
        "$(m ns 5 -- "$probe" bench-notify-floor 20000)" -

    header "openat relative to a directory descriptor, 20000 per run (µs per call)"
    # As find walks a tree; with elevation every open is put to the broker.
    opens=("$probe" bench-openat /usr/share 20000)
    row "openat" bare "$(m ns 5 -- "${opens[@]}")" -
    row "openat" nono "$(m ns 5 -- "$nono" run --silent --read /usr --read-file "$probe" -- "${opens[@]}")" -
    row "openat, run --capability-elevation" nono "$(m ns 5 -- "$nono" run --silent --read /usr \
        --read-file "$probe" --capability-elevation --elevation-decisions "$work/decisions" -- "${opens[@]}")" -

    header "unix-socket connect, 5000 per run (µs per call)"
    sock=$work/c/bench.sock
    connects() { # runner, command prefix...
        local who=$1 v
        shift
        v=$(for _ in 1 2 3 4 5; do
            rm -f "$sock"
            "$probe" bench-accept-unix "$sock" 5000 >/dev/null &
            local server=$!
            # The socket file appears at bind, before listen: give it a moment.
            for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.01; done
            sleep 0.2
            "$@" "$probe" bench-connect-unix "$sock" 5000 | awk '/^OK/ {print $2 / 1000}'
            # A failed client leaves the server waiting: never wait forever.
            kill "$server" 2>/dev/null || true
            wait "$server" 2>/dev/null || true
        done | sort -n | awk '{a[NR]=$1} END {printf "%.1f %.1f %.1f", a[1], a[3], a[NR]}')
        row "unix-socket connect" "$who" "$v" -
    }
    connects bare
    connects bwrap "${bwf[@]}" --bind "$work/c" "$work/c" --
    connects nono "$nono" run --silent --read-file "$probe" --allow-unix-socket "$sock" --
fi

# One row per process name (count, summed VmRSS and Pss) and the total.
idle_row() { printf '| %-23s | %-14s | %5s | %7s | %7s | %4s |\n' "$@"; }
echo
idle_row "idle tree, sleep 2 (MiB)" process procs RSS PSS exit
printf '|%s|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..25})" "$(printf -- '-%.0s' {1..16})" \
    "-------" "---------" "---------" "------"
idle() { # runner, command prefix...
    local who=$1 name n rss pss st
    shift
    while read -r name n rss pss st; do
        idle_row "$who" "$name" "$n" "$rss" "$pss" "${st:--}"
    done < <(m procs 1 --agent sleep -- "$@" sleep 2)
}
idle bare
idle bwrap "${bw[@]}"
idle "nono wrap" "$nono" wrap --silent --
idle "nono run" "$nono" run --silent --
idle "nono run --allow-domain" "$nono" run --silent --allow-domain example.com --

if [ -x "$work/bin/nono-upstream" ]; then
    echo
    echo "## proxy on loopback (bench/proxy.sh)"
    echo
    BIN_DIR=$work/bin bash "$here/proxy.sh" "${PROXY_MIB:-256}" "${PROXY_REQUESTS:-1000}" 100
else
    echo
    echo "(no nono-upstream in $bin: the proxy rows are left out)"
fi
echo
echo "($(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg) at the end)"
