#!/usr/bin/env python3
"""foyer benchmarks, side by side with OpenSSH and OpenSSH + tmux.

Starts its own sshd and foyer on loopback ports with throw-away keys, runs
the same workloads through the real `ssh` client against each, and prints a
Markdown table with medians and foyer/OpenSSH and foyer/tmux ratios.

    python3 tools/bench/run.py [--quick] [--foyer target/release/foyer]
                               [--foyer-before OTHER_BUILD]

With --foyer-before, a second foyer (an earlier build) runs beside the
first in the same run, and the table gains its column and the ratio
foyer/before.

Needs: openssh-server (sshd), openssh-client, tmux, a release build of foyer.
Everything listens on 127.0.0.1 only and every loop is bounded.
"""

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

KEX = "curve25519-sha256"  # the same key exchange on every side
CIPHER = "chacha20-poly1305@openssh.com"


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Target:
    """One way in: direct sshd, sshd + tmux, or foyer."""

    def __init__(self, name, port, user, key):
        self.name, self.port, self.user, self.key = name, port, user, key

    def ssh(self, *args, tty=False):
        cmd = ["ssh", "-F", "/dev/null", "-o", "StrictHostKeyChecking=no",
               "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
               "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
               "-o", "KexAlgorithms=" + KEX, "-o", "Ciphers=" + CIPHER,
               "-i", self.key, "-p", str(self.port)]
        if tty:
            cmd.append("-tt")
        return cmd + [f"{self.user}@127.0.0.1", *args]

    def run_cmd(self, command, label):
        """The remote command line that runs `command` (a shell string)."""
        quoted = command.replace("'", "'\\''")
        if self.name == "openssh":
            return f"bash -c '{quoted}'"
        if self.name == "tmux":
            return f"tmux -L bench -f /dev/null new-session -x 80 -y 24 'bash -c \"{command}\"'"
        return f"new {label} -- bash -c '{quoted}'"

    @property
    def is_foyer(self):
        return self.name.startswith("foyer")


def start_sshd(work, key_pub):
    host_key = os.path.join(work, "sshd_host_key")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", host_key], check=True)
    auth = os.path.join(work, "authorized_keys")
    shutil.copy(key_pub, auth)
    os.chmod(auth, 0o600)
    port = free_port()
    config = os.path.join(work, "sshd_config")
    with open(config, "w") as f:
        f.write(f"""Port {port}
ListenAddress 127.0.0.1
HostKey {host_key}
AuthorizedKeysFile {auth}
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PermitRootLogin yes
StrictModes no
PidFile none
KexAlgorithms {KEX}
Ciphers {CIPHER}
MaxStartups 100:30:200
MaxSessions 100
""")
    os.makedirs("/run/sshd", exist_ok=True)
    proc = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", config], stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    return proc, port


def start_foyer(binary, work, key_pub, name="foyer"):
    home = os.path.join(work, name + "-home")
    os.makedirs(os.path.join(home, ".ssh"), exist_ok=True)
    env = dict(os.environ, HOME=home, RUST_LOG="warn")
    fdir = os.path.join(work, name)
    os.makedirs(fdir)
    subprocess.run([binary, "user", "add", "bench", "--key-file", key_pub], cwd=fdir, env=env,
                   check=True, stdout=subprocess.DEVNULL)
    serve = [binary, "serve", "--ssh-listen", "127.0.0.1:0", "--web-listen", "127.0.0.1:0"]
    # Builds with session hosts leave sessions running at shutdown unless told.
    help_text = subprocess.run([binary, "serve", "--help"], capture_output=True, text=True).stdout
    if "--stop-sessions" in help_text:
        serve.append("--stop-sessions")
    proc = subprocess.Popen(serve, cwd=fdir, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for line in proc.stdout:
        m = re.search(r"SSH listening on [\d.]+:(\d+)", line)
        if m:
            return proc, int(m.group(1))
    raise SystemExit("foyer did not start")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def children(pid):
    """Children of every thread of `pid` (a child belongs to the thread
    that started it)."""
    found = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return found
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as f:
                found.extend(int(c) for c in f.read().split())
        except FileNotFoundError:
            pass
    return found


def private_kib(pid):
    """Memory a process has to itself (USS: private clean + dirty pages);
    RSS would count the binary's shared pages once per process."""
    total = 0
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith(("Private_Clean:", "Private_Dirty:")):
                total += int(line.split()[1])
    return total


def hosts_kib(pid):
    """Private memory of the session hosts a gateway started (not of
    their programs)."""
    total = 0
    for child in children(pid):
        try:
            with open(f"/proc/{child}/cmdline", "rb") as f:
                if b"session-host" in f.read():
                    total += private_kib(child)
        except FileNotFoundError:
            pass
    return total


def tree_rss_kib(pid):
    """RSS of a process and all its descendants."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            total += rss_kib(p)
        except FileNotFoundError:
            continue
        todo.extend(children(p))
    return total


# --- workloads -------------------------------------------------------------

def make_tui_stream(path, size):
    """A colored, cursor-moving stream like a TUI redrawing (bytes on disk)."""
    frame = []
    for row in range(1, 24):
        frame.append(f"\x1b[{row};1H")
        for col in range(0, 78, 6):
            frame.append(f"\x1b[38;5;{(row * 7 + col) % 256}m\x1b[48;5;{(row + col) % 16}mcell{col % 10}:")
        frame.append("\x1b[0m\x1b[K")
    frame = "".join(frame).encode()
    with open(path, "wb") as f:
        written = 0
        while written < size:
            f.write(frame)
            written += len(frame)
    return os.path.getsize(path)


def make_text(path, size):
    """Plain lines of text, as a build log or a program's output would be."""
    lines = "".join(f"{i:08d} the quick brown fox jumps over the lazy dog, line of plain text\r\n"[:80]
                    for i in range(1000)).encode()
    with open(path, "wb") as f:
        written = 0
        while written < size:
            f.write(lines)
            written += len(lines)
    return os.path.getsize(path)


def throughput(target, command, label, payload):
    """MiB/s from the first byte the client gets to its last, and the bytes
    it got. Timed from the first byte, not from the start of `ssh`: OpenSSH
    takes about 300 ms here to start a session and foyer about 60, and a
    head start is not throughput."""
    proc = subprocess.Popen(target.ssh(target.run_cmd(command, label), tty=True),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
    received = 0
    start = None
    while True:
        chunk = proc.stdout.read1(1 << 20)
        if not chunk:
            break
        start = start or time.perf_counter()
        received += len(chunk)
    elapsed = time.perf_counter() - (start or time.perf_counter())
    proc.wait()
    return payload / max(elapsed, 1e-6) / (1 << 20), received


def echo_latency(target, label, count):
    """Round trip of one keystroke through `cat` on a PTY (the tty echoes)."""
    proc = subprocess.Popen(target.ssh(target.run_cmd("cat", label), tty=True),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    out = proc.stdout.fileno()
    os.set_blocking(out, True)

    def until(marker, limit=10.0):
        seen = b""
        deadline = time.perf_counter() + limit
        while marker not in seen:
            if time.perf_counter() > deadline:
                raise SystemExit(f"{target.name}: no echo of {marker!r}")
            seen += os.read(out, 65536)

    time.sleep(1.0)
    proc.stdin.write(b"ready\n")
    proc.stdin.flush()
    until(b"ready")
    time.sleep(0.3)
    samples = []
    for i in range(count):
        letter = bytes([ord("a") + i % 26])
        start = time.perf_counter()
        proc.stdin.write(letter)
        proc.stdin.flush()
        until(letter)
        samples.append((time.perf_counter() - start) * 1000)
        time.sleep(0.002)
    proc.kill()
    proc.wait()
    samples.sort()
    pick = lambda q: samples[min(len(samples) - 1, int(q * len(samples)))]
    return pick(0.5), pick(0.9), pick(0.99)


def show_time(target, label):
    """Time until a full screen is shown: a reattach for foyer and tmux,
    a fresh shell's first output for plain OpenSSH."""
    if target.name == "openssh":
        cmd = target.ssh("bash -c 'seq 1 2000; echo SHOWN-DONE'", tty=True)
    elif target.name == "tmux":
        cmd = target.ssh(f"tmux -L bench attach -t {label}", tty=True)
    else:
        cmd = target.ssh(f"attach {label}", tty=True)
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    seen = b""
    while b"SHOWN-DONE" not in seen:
        chunk = os.read(proc.stdout.fileno(), 65536)
        if not chunk:
            break
        seen += chunk
    elapsed = (time.perf_counter() - start) * 1000
    proc.kill()
    proc.wait()
    return elapsed


def fanout(target, observers, text, size):
    """A busy session watched by N read-only clients: the program's own
    throughput (measured inside the session) and each client's."""
    import threading
    label = f"fan{observers}"
    script = (f"sleep 3; s=$(date +%s%N); cat {text}; e=$(date +%s%N); "
              f"echo; echo took=$(( (e-s)/1000000 ))ms FAN-DONE; sleep 600")
    if target.name == "tmux":
        # The login shell sees this in double quotes: keep its `$` literal.
        literal = script.replace("$", "\\$")
        subprocess.run(target.ssh(f"tmux -L bench -f /dev/null new-session -d -s {label} -x 80 -y 24 "
                                  f"\"bash -c '{literal}'\""))
        watch = f"tmux -L bench attach -r -t {label}"
    else:
        subprocess.run(target.ssh(f"new {label} -d -- bash -c '{script}'"))
        watch = f"watch {label}"
    received = [0] * observers
    procs = [subprocess.Popen(target.ssh(watch, tty=True), stdin=subprocess.PIPE, stdout=subprocess.PIPE)
             for _ in range(observers)]

    def read(i, proc):
        deadline = time.perf_counter() + 120
        tail = b""
        while time.perf_counter() < deadline:
            chunk = proc.stdout.read1(1 << 20)
            if not chunk:
                return
            received[i] += len(chunk)
            tail = (tail + chunk)[-200:]
            if b"FAN-DONE" in tail:
                return

    threads = [threading.Thread(target=read, args=(i, p)) for i, p in enumerate(procs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if target.name == "tmux":
        screen = subprocess.run(target.ssh(f"tmux -L bench capture-pane -p -t {label}"),
                                capture_output=True, text=True).stdout
    else:
        screen = subprocess.run(target.ssh(f"capture {label}"), capture_output=True, text=True).stdout
    for p in procs:
        p.kill()
        p.wait()
    took = re.search(r"took=(\d+)ms", screen)
    if not took or int(took.group(1)) == 0:
        raise SystemExit(f"{target.name}: fan-out run did not report its time:\n{screen}")
    seconds = int(took.group(1)) / 1000
    return size / seconds / (1 << 20), statistics.median(received) / seconds / (1 << 20)


def handshakes(target, count, parallel):
    verb = "whoami" if target.is_foyer else "true"
    start = time.perf_counter()
    running = []
    done = 0
    while done < count:
        while len(running) < parallel and done + len(running) < count:
            running.append(subprocess.Popen(target.ssh(verb), stdout=subprocess.DEVNULL,
                                            stdin=subprocess.DEVNULL))
        running.pop(0).wait()
        done += 1
    for p in running:
        p.wait()
    return count / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--foyer", default="target/release/foyer")
    parser.add_argument("--foyer-before", help="an earlier build to measure beside --foyer")
    parser.add_argument("--quick", action="store_true", help="smaller payloads and counts")
    parser.add_argument("--memory-only", action="store_true",
                        help="only the memory per idle session and attached client")
    parser.add_argument("--echo-only", action="store_true",
                        help="only the echo latency (2000 keys), each target twice, interleaved")
    parser.add_argument("--throughput-only", action="store_true",
                        help="only text and TUI throughput, three rounds, targets interleaved")
    args = parser.parse_args()
    binary = os.path.abspath(args.foyer)
    size = (16 if args.quick else 64) << 20
    echo_count = 100 if args.quick else 500
    runs = 1 if args.quick else 3

    work = tempfile.mkdtemp(prefix="foyer-bench-")
    key = os.path.join(work, "client_key")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key], check=True)
    sshd, sshd_port = start_sshd(work, key + ".pub")
    foyers = {"foyer": start_foyer(binary, work, key + ".pub")}
    if args.foyer_before:
        foyers["before"] = start_foyer(os.path.abspath(args.foyer_before), work, key + ".pub",
                                       "foyer-before")
    user = os.environ.get("USER") or "root"
    targets = [Target("openssh", sshd_port, user, key), Target("tmux", sshd_port, user, key)]
    targets += [Target("foyer" if n == "foyer" else "foyer-before", port, "bench", key)
                for n, (_, port) in foyers.items()]
    tui = os.path.join(work, "tui.bin")
    tui_size = make_tui_stream(tui, size)
    text = os.path.join(work, "text.txt")
    text_size = make_text(text, size)
    results = {}
    try:
        if args.echo_only:
            for round_ in (1, 2):
                for t in targets:
                    p50, p90, p99 = echo_latency(t, f"echo{round_}", 2000)
                    print(f"- {t.name} round {round_}: echo p50 {p50:.3f} ms, "
                          f"p90 {p90:.3f} ms, p99 {p99:.3f} ms")
            return
        if args.throughput_only:
            for round_ in (1, 2, 3):
                for t in targets:
                    text_rate, text_got = throughput(t, f"cat {text}", f"text{round_}", text_size)
                    tui_rate, tui_got = throughput(t, f"cat {tui}", f"tui{round_}", tui_size)
                    print(f"- {t.name} round {round_}: text {text_rate:.1f} MiB/s "
                          f"({text_got / text_size:.0%} of the bytes), "
                          f"TUI {tui_rate:.1f} MiB/s ({tui_got / tui_size:.0%})")
            return
        # Memory first, on fresh servers: per idle session and attached client.
        memory = {}
        for t in targets[2:]:
            memory[t.name] = foyer_memory(t, foyers["foyer" if t.name == "foyer" else "before"][0],
                                          args.quick)
        if args.memory_only:
            for name, m in memory.items():
                print(f"- {name}: " + ", ".join(f"{k} {v:.0f}" for k, v in m.items()))
            return
        sshd_base = tree_rss_kib(sshd.pid)
        conns = [subprocess.Popen(targets[0].ssh("sleep 30", tty=True), stdin=subprocess.PIPE,
                                  stdout=subprocess.DEVNULL) for _ in range(10)]
        time.sleep(3)
        sshd_per_conn = (tree_rss_kib(sshd.pid) - sshd_base) / len(conns)
        for p in conns:
            p.kill()
            p.wait()
        text_cmd = f"cat {text}"
        tui_cmd = f"cat {tui}"
        for t in targets:
            r = {}
            samples = [throughput(t, text_cmd, f"text{i}", text_size) for i in range(runs)]
            r["text MiB/s"] = statistics.median(s[0] for s in samples)
            r["text bytes received"] = statistics.median(s[1] for s in samples)
            samples = [throughput(t, tui_cmd, f"tui{i}", tui_size) for i in range(runs)]
            r["TUI MiB/s"] = statistics.median(s[0] for s in samples)
            r["TUI bytes received"] = statistics.median(s[1] for s in samples)
            p50, p90, p99 = echo_latency(t, "echo", echo_count)
            r["echo p50 ms"], r["echo p90 ms"], r["echo p99 ms"] = p50, p90, p99
            r["handshakes/s sequential"] = handshakes(t, 20 if args.quick else 50, 1)
            r["handshakes/s 8 parallel"] = handshakes(t, 40 if args.quick else 160, 8)
            results[t.name] = r
            print(f"{t.name}: {r}", file=sys.stderr)
        # Screen shown: a full screen (2000 lines printed) on reattach.
        for t in targets:
            if t.name == "tmux":
                subprocess.run(t.ssh("tmux -L bench -f /dev/null new-session -d -s full -x 80 -y 24 "
                                     "\"bash -c 'seq 1 2000; echo SHOWN-DONE; sleep 600'\""))
            elif t.is_foyer:
                subprocess.run(t.ssh("new full -d -- bash -c 'seq 1 2000; echo SHOWN-DONE; exec sleep 600'"))
            time.sleep(1)
            # The time to a first byte is bimodal on loopback (about 40 ms
            # more in some connections, before and after session hosts
            # alike): the median of many runs, and the best, which is the
            # path's own cost.
            shown = sorted(show_time(t, "full") for _ in range(21))
            results[t.name]["screen shown ms"] = statistics.median(shown)
            results[t.name]["screen shown ms, best of 21"] = shown[0]
        # Fan-out: a busy session with 1, 10 and 50 read-only observers.
        for n in ([1, 10] if args.quick else [1, 10, 50]):
            for t in targets[1:]:
                program, per_client = fanout(t, n, text, text_size)
                results[t.name][f"fan-out {n}: program MiB/s"] = program
                results[t.name][f"fan-out {n}: per client MiB/s"] = per_client
                print(f"{t.name} fan-out {n}: {program:.1f} / {per_client:.1f}", file=sys.stderr)
    finally:
        subprocess.run(targets[1].ssh("tmux -L bench kill-server"), stderr=subprocess.DEVNULL)
        for proc, _ in foyers.values():
            proc.send_signal(signal.SIGTERM)
        sshd.send_signal(signal.SIGTERM)
        for proc, _ in foyers.values():
            proc.wait()
        sshd.wait()
        # `serve --stop-sessions` ends every session host; one left over
        # is a bug to report, and must not outlive the run.
        for pid in leftover_hosts(work):
            print(f"warning: session host {pid} outlived `foyer serve --stop-sessions`",
                  file=sys.stderr)
            os.kill(pid, signal.SIGKILL)
        shutil.rmtree(work, ignore_errors=True)
    for name, m in memory.items():
        results[name].update(m)
    results["openssh"]["KiB per connection"] = sshd_per_conn
    report(results)


def leftover_hosts(work):
    """Session hosts still running with their sockets under `work`."""
    time.sleep(0.5)
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                args = f.read().split(b"\0")
        except OSError:
            continue
        if b"session-host" in args and any(a.startswith(work.encode()) for a in args):
            found.append(int(entry))
    return found


def foyer_memory(target, proc, quick):
    """The gateway's memory per idle session and per attached client, and
    the session hosts' (a build without hosts has none)."""
    for _ in range(5):  # warm up connection handling before the baseline
        subprocess.run(target.ssh("whoami"), stdout=subprocess.DEVNULL)
    base = rss_kib(proc.pid)
    sessions = 20 if quick else 100
    for i in range(sessions):
        subprocess.run(target.ssh(f"new idle{i} -d -- sleep 3600"), stdout=subprocess.DEVNULL)
    time.sleep(1)
    gateway = (rss_kib(proc.pid) - base) / sessions
    hosts = hosts_kib(proc.pid) / sessions
    base = rss_kib(proc.pid) + hosts_kib(proc.pid)
    clients = [subprocess.Popen(target.ssh("attach idle0", tty=True), stdin=subprocess.PIPE,
                                stdout=subprocess.DEVNULL) for _ in range(20)]
    time.sleep(3)
    per_client = (rss_kib(proc.pid) + hosts_kib(proc.pid) - base) / len(clients)
    for p in clients:
        p.kill()
        p.wait()
    for i in range(sessions):
        subprocess.run(target.ssh(f"kill idle{i}"), stdout=subprocess.DEVNULL)
    return {"gateway KiB per idle session": gateway, "host KiB per idle session": hosts,
            "KiB per idle session": gateway + hosts, "KiB per attached client": per_client}


def report(results):
    keys = ["text MiB/s", "TUI MiB/s", "echo p50 ms", "echo p90 ms", "echo p99 ms",
            "screen shown ms", "screen shown ms, best of 21",
            "handshakes/s sequential", "handshakes/s 8 parallel"]
    before = "foyer-before" in results
    names = ["openssh", "tmux", "foyer"] + (["foyer-before"] if before else [])
    ratio = lambda a, b: f"{a / b:.2f}" if a and b else "-"
    cell = lambda v: f"{v:.1f}" if v is not None else "-"
    head = "| measure | OpenSSH | OpenSSH + tmux | foyer |" + (" foyer before |" if before else "")
    head += " foyer/OpenSSH | foyer/tmux |" + (" foyer/before |" if before else "")
    print(head)
    print("|---" + "|---:" * (len(names) + 2 + int(before)) + "|")
    for k in keys + sorted(k for k in results["foyer"] if k.startswith("fan-out")):
        values = [results[n].get(k) for n in names]
        o, t, f = values[:3]
        row = f"| {k} | " + " | ".join(cell(v) for v in values)
        row += f" | {ratio(f, o)} | {ratio(f, t)} |"
        if before:
            row += f" {ratio(f, values[3])} |"
        print(row)
    print()
    for n in names[2:]:
        r = results[n]
        print(f"- {n} bytes received (of the payload): text {r['text bytes received']:.0f}, "
              f"TUI {r['TUI bytes received']:.0f}")
        print(f"- {n} memory per idle session: {r['KiB per idle session']:.0f} KiB "
              f"(gateway {r['gateway KiB per idle session']:.0f}, "
              f"session host {r['host KiB per idle session']:.0f})")
        print(f"- {n} memory per attached client: {r['KiB per attached client']:.0f} KiB")
    print(f"- sshd memory per connection: {results['openssh']['KiB per connection']:.0f} KiB")


if __name__ == "__main__":
    main()
