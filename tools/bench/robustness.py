#!/usr/bin/env python3
"""foyer under many connections and sessions, at full counts.

    python3 tools/bench/robustness.py [--quick] [--foyer target/release/foyer]

Starts its own foyer (and a tmux server, for idle cost side by side) on
loopback with throw-away keys, then:

- idle cost: foyer's memory per idle session at 100 and 1,000 sessions,
  against a tmux server's per idle window-less session;
- 10,000 SSH connect/disconnect cycles (8 at a time): open file descriptors
  and RSS after, against before;
- 1,000 attach / SIGKILL-the-client cycles (4 at a time) on one busy
  session: descriptors and RSS after, and the session still running;
- 1,000 clients attached at once across 100 sessions, held for a minute
  while every session prints a numbered line each second: every client
  must receive its session's lines, and memory per attached client.

Each check prints PASS or FAIL; the exit status is 1 if any failed. Counts
are divided by 10 with --quick. Needs tmux and a release build of foyer.
"""

import argparse
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from run import Target, rss_kib, start_foyer  # noqa: E402


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def settle(pid, seconds=3.0):
    """RSS and descriptors once the server has been quiet for a moment."""
    time.sleep(seconds)
    return rss_kib(pid), fd_count(pid)


def run_parallel(commands, parallel, on_start=None):
    """Runs commands (argument lists), `parallel` at a time; returns the
    number that exited with status 0."""
    ok = 0
    running = []
    todo = list(commands)
    while todo or running:
        while todo and len(running) < parallel:
            proc = subprocess.Popen(todo.pop(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.DEVNULL)
            if on_start:
                on_start(proc)
            running.append(proc)
        proc = running.pop(0)
        proc.communicate()
        ok += proc.returncode == 0
    return ok


class Checks:
    def __init__(self):
        self.failed = []
        self.lines = []

    def check(self, name, passed, detail):
        line = f"{'PASS' if passed else 'FAIL'}  {name}: {detail}"
        print(line, flush=True)
        self.lines.append(line)
        if not passed:
            self.failed.append(name)


def idle_cost(foyer, target, tmux_socket, counts):
    """KiB per idle session at each count, for foyer and a tmux server."""
    results = {}
    made = 0
    base = rss_kib(foyer.pid)
    for count in counts:
        commands = [target.ssh(f"new idle{i} -d -- sleep 3600") for i in range(made, count)]
        run_parallel(commands, 8)
        made = count
        rss, _ = settle(foyer.pid, 2)
        results[f"foyer KiB per idle session at {count}"] = (rss - base) / count
    tmux = ["tmux", "-L", tmux_socket, "-f", "/dev/null"]
    subprocess.run(tmux + ["new-session", "-d", "-s", "base", "sleep 3600"], check=True)
    pid = int(subprocess.run(tmux + ["display", "-p", "#{pid}"], capture_output=True, text=True,
                             check=True).stdout)
    base = rss_kib(pid)
    made = 0
    for count in counts:
        for i in range(made, count):
            subprocess.run(tmux + ["new-session", "-d", "-s", f"s{i}", "-x", "80", "-y", "24", "sleep 3600"],
                           check=True)
        made = count
        time.sleep(2)
        results[f"tmux KiB per idle session at {count}"] = (rss_kib(pid) - base) / count
    subprocess.run(tmux + ["kill-server"], stderr=subprocess.DEVNULL)
    return results


def connect_cycles(foyer, target, count, checks):
    before_rss, before_fds = settle(foyer.pid, 1)
    start = time.time()
    ok = run_parallel([target.ssh("whoami") for _ in range(count)], 8)
    took = time.time() - start
    after_rss, after_fds = settle(foyer.pid)
    checks.check(f"{count} connect/disconnect cycles", ok == count and after_fds <= before_fds + 2,
                 f"{ok} succeeded in {took:.0f} s; descriptors {before_fds} -> {after_fds}; "
                 f"RSS {before_rss} -> {after_rss} KiB")
    return after_rss - before_rss


def attach_kill_cycles(foyer, target, count, checks):
    subprocess.run(target.ssh("new busy -d -- bash -c 'while :; do seq 1 200; sleep 0.05; done'"), check=True)
    time.sleep(1)
    before_rss, before_fds = settle(foyer.pid, 1)
    done = 0
    start = time.time()
    for batch in range(0, count, 4):
        procs = [subprocess.Popen(target.ssh("attach busy", tty=True), stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
                 for _ in range(min(4, count - batch))]
        for proc in procs:
            # Killed in the middle of the output, once some arrived.
            os.read(proc.stdout.fileno(), 4096)
            proc.send_signal(signal.SIGKILL)
        for proc in procs:
            proc.wait()
            proc.stdout.close()
            proc.stdin.close()
            done += 1
    took = time.time() - start
    after_rss, after_fds = settle(foyer.pid)
    sessions = json.loads(subprocess.run(target.ssh("ls --json"), capture_output=True, text=True).stdout)
    busy = next((s for s in sessions if s["name"] == "busy"), {})
    running = busy.get("state") == "running"
    attached = busy.get("clients", -1)
    checks.check(f"{count} attach / kill -9 cycles",
                 done == count and running and attached == 0 and after_fds <= before_fds + 2,
                 f"{done} cycles in {took:.0f} s; session running: {running}, clients left: {attached}; "
                 f"descriptors {before_fds} -> {after_fds}; RSS {before_rss} -> {after_rss} KiB")
    subprocess.run(target.ssh("kill busy"))


def many_clients(foyer, target, sessions, per_session, hold, checks):
    """Every session prints `tick-N` each second; every client must see
    ticks that were printed while it was attached."""
    script = "i=0; while :; do echo tick-$i; i=$((i+1)); sleep 1; done"
    run_parallel([target.ssh(f"new many{i} -d -- bash -c '{script}'") for i in range(sessions)], 8)
    time.sleep(1)
    base_rss, base_fds = settle(foyer.pid, 1)
    clients = []
    received = {}
    lock = threading.Lock()

    def reader(index, proc):
        seen = set()
        fd = proc.stdout.fileno()
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen.update(re.findall(rb"tick-(\d+)", chunk))
        with lock:
            received[index] = seen

    start = time.time()
    for i in range(sessions * per_session):
        proc = subprocess.Popen(target.ssh(f"watch many{i % sessions}", tty=True), stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        clients.append(proc)
        threading.Thread(target=reader, args=(i, proc), daemon=True).start()
        if i % 8 == 7:
            time.sleep(0.05)
    connected = time.time() - start
    time.sleep(5)
    full_rss, full_fds = rss_kib(foyer.pid), fd_count(foyer.pid)
    listed = json.loads(subprocess.run(target.ssh("ls --json"), capture_output=True, text=True).stdout)
    attached = sum(s["clients"] for s in listed)
    time.sleep(hold)
    for proc in clients:
        proc.terminate()
    for proc in clients:
        proc.wait()
    time.sleep(1)
    with lock:
        # A client attached for `hold` seconds sees at least hold/2 new ticks.
        starved = [i for i in range(len(clients)) if len(received.get(i, ())) < hold // 2]
    per_client = (full_rss - base_rss) / len(clients)
    checks.check(f"{len(clients)} clients on {sessions} sessions held {hold} s",
                 attached == len(clients) and not starved,
                 f"connected in {connected:.0f} s; attached {attached}; clients that missed output: "
                 f"{len(starved)}; descriptors {base_fds} -> {full_fds}; "
                 f"{per_client:.0f} KiB per attached client")
    run_parallel([target.ssh(f"kill many{i}") for i in range(sessions)], 8)
    return per_client


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--foyer", default="target/release/foyer")
    parser.add_argument("--quick", action="store_true", help="a tenth of the counts")
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    work = tempfile.mkdtemp(prefix="foyer-robust-")
    key = os.path.join(work, "client_key")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key], check=True)
    foyer, port = start_foyer(os.path.abspath(args.foyer), work, key + ".pub")
    target = Target("foyer", port, "bench", key)
    checks = Checks()
    try:
        for _ in range(5):
            subprocess.run(target.ssh("whoami"), stdout=subprocess.DEVNULL)
        costs = idle_cost(foyer, target, f"robust{os.getpid()}", [100 // scale, 1000 // scale])
        for name, value in costs.items():
            print(f"{name}: {value:.0f}", flush=True)
        run_parallel([target.ssh(f"kill idle{i}") for i in range(1000 // scale)], 8)
        # Clients first, while the allocator has not yet grown for the
        # cycles below, so their memory is measured, not recycled.
        per_client = many_clients(foyer, target, 100 // scale, 10, 60 // (2 if args.quick else 1), checks)
        print(f"foyer KiB per attached client at {1000 // scale} clients: {per_client:.0f}")
        connect_cycles(foyer, target, 10000 // scale, checks)
        attach_kill_cycles(foyer, target, 1000 // scale, checks)
    finally:
        foyer.send_signal(signal.SIGTERM)
        foyer.wait()
        shutil.rmtree(work, ignore_errors=True)
    print("\n".join(checks.lines))
    sys.exit(1 if checks.failed else 0)


if __name__ == "__main__":
    main()
