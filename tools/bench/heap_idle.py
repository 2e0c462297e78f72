#!/usr/bin/env python3
"""Heap profile of idle sessions: starts a foyer build as run.py does,
creates one session, attaches `heaptrack -p` to the gateway and to the
session host, creates 50 more idle sessions, then kills both (SIGKILL, so
the profile ends at the idle state, not in a shutdown). Read the result
with `heaptrack_print -f OUT/host.zst --print-peaks=1 -s 6` (and
gateway.zst): the peak consumers divided by 50 are the cost per session.

    apt-get install heaptrack
    python3 tools/bench/heap_idle.py target/release/foyer /tmp/heap
"""
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402


def main():
    binary, out = os.path.abspath(sys.argv[1]), sys.argv[2]
    os.makedirs(out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="foyer-heap-")
    key = os.path.join(work, "key")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key], check=True)
    proc, port = run.start_foyer(binary, work, key + ".pub")
    target = run.Target("foyer", port, "bench", key, proc.pid)

    def ssh(command):
        subprocess.run(target.ssh(command), stdout=subprocess.DEVNULL, check=True)

    ssh("new idle0 -d -- sleep 3600")
    time.sleep(1)
    host = next(c for c in run.children(proc.pid)
                if b"session-host" in open(f"/proc/{c}/cmdline", "rb").read())
    tracers = [subprocess.Popen(["heaptrack", "-o", os.path.join(out, name), "-p", str(pid)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
               for name, pid in (("gateway", proc.pid), ("host", host))]
    time.sleep(5)
    for i in range(1, 51):
        ssh(f"new idle{i} -d -- sleep 3600")
    time.sleep(8)
    print(f"gateway RSS {run.rss_kib(proc.pid)} KiB, host private {run.private_kib(host)} KiB")
    proc.kill()
    proc.wait(timeout=30)
    os.kill(host, signal.SIGKILL)
    for tracer in tracers:
        tracer.wait(timeout=60)


if __name__ == "__main__":
    main()
