#!/usr/bin/env python3
"""ready.py: startup-to-READY time and idle RSS of bedrockd, for perf/run.sh.

Binds a unix datagram socket, starts `bedrockd -c CONF` with NOTIFY_SOCKET pointing
at it, and times from just before the fork to the arrival of READY=1 (the
sd_notify message bedrockd sends once its listeners are open and its workers run).
One second later it reads VmRSS, stops bedrockd with SIGTERM and waits for it.
Prints one line: `BDREADY runs=N ready_ms_median=.. ready_ms_min=.. ready_ms_max=..
idle_rss_kb_median=..`.
"""
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def one_run(binary, conf, sock_dir, timeout_s):
    path = os.path.join(sock_dir, "notify.sock")
    if os.path.exists(path):
        os.unlink(path)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    s.settimeout(timeout_s)
    env = dict(os.environ, NOTIFY_SOCKET=path)
    t0 = time.monotonic()
    proc = subprocess.Popen([binary, "-c", conf], env=env, stdin=subprocess.DEVNULL)
    ready_ms = None
    try:
        while ready_ms is None:
            msg = s.recv(4096).decode(errors="replace")
            if "READY=1" in msg.split("\n"):
                ready_ms = (time.monotonic() - t0) * 1000.0
        time.sleep(1.0)
        idle = rss_kb(proc.pid)
    finally:
        s.close()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return ready_ms, idle


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2.0


def main():
    if len(sys.argv) != 4:
        sys.stderr.write("usage: ready.py BEDROCKD CONF RUNS\n")
        return 2
    binary, conf, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    times, rss = [], []
    with tempfile.TemporaryDirectory(prefix="bd-ready.") as d:
        for _ in range(runs):
            t, r = one_run(binary, conf, d, 10.0)
            times.append(t)
            rss.append(r)
    print("BDREADY runs=%d ready_ms_median=%.1f ready_ms_min=%.1f ready_ms_max=%.1f "
          "idle_rss_kb_median=%d" % (runs, median(times), min(times), max(times), median(rss)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
