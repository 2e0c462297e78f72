"""CPU per MiB, process by process, while foyer and OpenSSH move text and
TUI payloads (docs/performance.md, "Where the CPU goes, process by process").

    python3 tools/bench/cpu_split.py [target/release/foyer]

Starts its own sshd and foyer as run.py does, runs `cat` of each 64 MiB
payload twice through each, and prints milliseconds of CPU (utime + stime
from /proc, polled every 50 ms) per MiB for each kind of process that used
any: the session host, the gateway, sshd, the ssh client, cat, kernel
workers.
"""
import os, sys, subprocess, tempfile, time, threading
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

TICK = os.sysconf("SC_CLK_TCK")


def stat_cpu(stat):
    """Seconds of CPU (utime + stime) in the text of a /proc/PID/stat. A
    process's own stat (not a task's) sums all its threads, live and
    ended; its waited-for children (cutime, cstime) are not counted."""
    rest = stat[stat.rindex(")") + 2:].split()
    return (int(rest[11]) + int(rest[12])) / TICK


def cpu_seconds(pid):
    """Seconds of CPU process `pid` has used, all its threads; None if it
    is gone. (run.py imports this for its server CPU per MiB.)"""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return stat_cpu(f.read())
    except (FileNotFoundError, ProcessLookupError):
        return None


def cpu_all():
    out = {}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/stat") as f:
                s = f.read()
            with open(f"/proc/{p}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")[:80]
        except (FileNotFoundError, ProcessLookupError):
            continue
        out[int(p)] = (cmd or s[s.index("(")+1:s.rindex(")")], stat_cpu(s))
    return out

def classify(cmd):
    for key in ("session-host", "foyer serve", "sshd", "ssh -F", "tmux", "cat ", "bash"):
        if key in cmd:
            return key
    return "other:" + cmd.split(" ")[0][-20:]

def measure(t, work, payload, label, size):
    import run
    samples = {}
    done = threading.Event()
    def poll():
        while not done.is_set():
            for pid, v in cpu_all().items():
                samples[pid] = v
            time.sleep(0.05)
    th = threading.Thread(target=poll); th.start()
    before = cpu_all()
    r = run.throughput(t, run.Program(work, f"{t.name}-{label}", payload), label, size)
    rate, got = r["client"], r["received"]
    done.set(); th.join()
    for pid, v in cpu_all().items():
        samples[pid] = v
    split = {}
    for pid, (cmd, secs) in samples.items():
        base = before.get(pid, (cmd, 0.0))[1]
        d = secs - base
        if d > 0.01:
            k = classify(cmd)
            split[k] = split.get(k, 0) + d
    mib = size / (1 << 20)
    print(f"{t.name} {label}: {rate:.1f} MiB/s, got {got}; ms CPU per MiB: " +
          ", ".join(f"{k} {v*1000/mib:.1f}" for k, v in sorted(split.items(), key=lambda kv: -kv[1])))

def main():
    import run
    binary = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "target/release/foyer")
    work = tempfile.mkdtemp(prefix="foyer-split-")
    key = os.path.join(work, "client_key")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key], check=True)
    sshd, sshd_port = run.start_sshd(work, key + ".pub")
    foyer, port = run.start_foyer(binary, work, key + ".pub")
    user = os.environ.get("USER") or "root"
    targets = [run.Target("openssh", sshd_port, user, key), run.Target("foyer", port, "bench", key)]
    size = 64 << 20
    text = os.path.join(work, "text.txt"); run.make_text(text, size)
    tui = os.path.join(work, "tui.bin"); tsize = run.make_tui_stream(tui, size)
    try:
        for r in (1, 2):
            for t in targets:
                measure(t, work, text, f"text{r}", size)
                measure(t, work, tui, f"tui{r}", tsize)
    finally:
        foyer.terminate(); sshd.terminate()
        foyer.wait(); sshd.wait()


if __name__ == "__main__":
    main()
