#!/usr/bin/env python3
"""Timing and memory of one command, for bench/compare.sh.

  measure.py time RUNS [--before SHELL] -- CMD...
      RUNS timed runs (after one untimed warm-up); SHELL runs before each,
      untimed. Prints "min median max status" (milliseconds; status: the
      last non-zero exit status of CMD, or 0).
  measure.py rss [--before SHELL] -- CMD...
      One run; prints the peak of the summed resident memory of CMD and all
      its descendants, in MiB (sampled every ~0.5 ms from /proc: a lower
      bound for processes that live shorter than that).
  measure.py procs SECONDS [--agent NAME] -- CMD...
      One run; SECONDS after the start (one blocking sleep) prints a line
      "name count rss pss" per process name in CMD's tree (resident and
      proportional set, VmRSS and Pss, in MiB; processes of one name
      summed, threads not counted apart), with --agent the sum of all but
      the processes named NAME as "without-NAME count rss pss", and
      "total count rss pss status" once CMD has ended (status: its exit
      status).
  measure.py ns RUNS -- CMD...
      CMD prints "OK <nanoseconds>"; prints "min median max" of RUNS runs
      in microseconds.
Bounded: fixed run counts; each run is limited to 300 s.
"""
import os
import statistics
import subprocess
import sys
import threading
import time

LIMIT_S = 300


def parse(argv):
    before = None
    if argv and argv[0] == "--before":
        before, argv = argv[1], argv[2:]
    if not argv or argv[0] != "--":
        sys.exit("usage: see the header of measure.py")
    return before, argv[1:]


def prepare(before):
    if before:
        subprocess.run(["bash", "-c", before], check=True)


def once(cmd):
    """(milliseconds, exit status). A blocking wait: Python's wait with a
    timeout polls with sleeps of up to 50 ms, which rounded every time up
    to the next poll; the limit is a timer that kills the command."""
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    limit = threading.Timer(LIMIT_S, p.kill)
    limit.start()
    rc = p.wait()
    ms = (time.perf_counter() - t) * 1000
    limit.cancel()
    return ms, rc


def summary(xs, fmt):
    return " ".join(fmt.format(v) for v in (min(xs), statistics.median(xs), max(xs)))


def cmd_time(runs, argv):
    before, cmd = parse(argv)
    prepare(before)
    once(cmd)
    xs, status = [], 0
    for _ in range(runs):
        prepare(before)
        ms, rc = once(cmd)
        xs.append(ms)
        status = rc or status
    print(summary(xs, "{:.1f}"), status)


def tree(root):
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        try:
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except OSError:
            pass
    return out


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024
    except (OSError, IndexError, ValueError):
        return 0


def cmd_rss(argv):
    before, cmd = parse(argv)
    prepare(before)
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    peak, end = 0, time.monotonic() + LIMIT_S
    while p.poll() is None and time.monotonic() < end:
        peak = max(peak, sum(rss_kib(q) for q in tree(p.pid)))
        time.sleep(0.0005)
    if p.poll() is None:
        p.kill()
    p.wait()
    print(f"{peak / 1024:.1f}")


def status_kib(pid, field):
    """A "Field:   N kB" line of /proc/PID/status or smaps_rollup, or 0."""
    for name in ("status", "smaps_rollup"):
        try:
            with open(f"/proc/{pid}/{name}") as f:
                for line in f:
                    if line.startswith(field + ":"):
                        return int(line.split()[1])
        except (OSError, IndexError, ValueError):
            pass
    return 0


def cmd_procs(seconds, argv):
    agent = None
    if argv and argv[0] == "--agent":
        agent, argv = argv[1], argv[2:]
    _, cmd = parse(argv)
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    limit = threading.Timer(LIMIT_S, p.kill)
    limit.start()
    time.sleep(seconds)
    names = {}
    for pid in tree(p.pid):
        try:
            with open(f"/proc/{pid}/comm") as f:
                name = f.read().strip()
        except OSError:
            continue
        n, rss, pss = names.get(name, (0, 0, 0))
        names[name] = (n + 1, rss + status_kib(pid, "VmRSS"), pss + status_kib(pid, "Pss"))
    rc = p.wait()
    limit.cancel()
    for name, (n, rss, pss) in names.items():
        print(f"{name} {n} {rss / 1024:.1f} {pss / 1024:.1f}")
    if agent is not None:
        own = [v for k, v in names.items() if k != agent]
        n, rss, pss = (sum(v[i] for v in own) for i in range(3))
        print(f"without-{agent} {n} {rss / 1024:.1f} {pss / 1024:.1f}")
    n, rss, pss = (sum(v[i] for v in names.values()) for i in range(3))
    print(f"total {n} {rss / 1024:.1f} {pss / 1024:.1f} {rc}")


def cmd_ns(runs, argv):
    _, cmd = parse(argv)
    xs = []
    for _ in range(runs):
        out = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                             text=True, timeout=LIMIT_S).stdout.split()
        if len(out) < 2 or out[0] != "OK":
            sys.exit(f"no result from {' '.join(cmd[:6])} ...: {out[:4]}")
        xs.append(int(out[1]) / 1000)
    print(summary(xs, "{:.1f}"))


def main():
    a = sys.argv[1:]
    if a[:1] == ["time"]:
        cmd_time(int(a[1]), a[2:])
    elif a[:1] == ["rss"]:
        cmd_rss(a[1:])
    elif a[:1] == ["procs"]:
        cmd_procs(float(a[1]), a[2:])
    elif a[:1] == ["ns"]:
        cmd_ns(int(a[1]), a[2:])
    else:
        sys.exit(__doc__)


main()
