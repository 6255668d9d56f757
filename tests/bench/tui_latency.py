#!/usr/bin/env python3
"""Key latency of the full-screen program, measured through tmux.

  tui_latency.py OUT PRESSES STATE_BASE -- MAILAUDIT ARGS...

Starts MAILAUDIT ARGS (no --report: the TUI opens and starts the audit at
once) in a detached tmux session, 80x24, on a private server (tmux -L), with
an empty state directory STATE_BASE/N each round, and toggles the help screen
with '?' (tui/keys.h: '?' opens the help, also during an audit, and closes
it). Each press is timed from just before `send-keys` until `capture-pane`
first shows the change, polling capture-pane in a tight loop, both sent
through one tmux control-mode client (see Control), so every sample
includes one send-keys and the polls, but no tmux process start.

  idle:  one round, audit left to finish, presses on the results screen: the
         baseline (what tmux and the polling alone cost).
  audit: presses while the progress screen shows ("Auditing ..."); a press
         that finds the audit finished is discarded and a new round (new
         empty state directory, so again a first audit) starts, until
         PRESSES samples are in. The last round quits with q, then y (the
         program asks while an audit runs).

Writes OUT: lines "mode key_ms polls" (polls: capture-pane calls until the
change showed; 1 means the first poll already saw it) and prints a summary.
"""
import os
import shutil
import statistics
import subprocess
import sys
import time

SOCK = "ma-bench-lat-%d" % os.getpid()
GAP = float(os.environ.get("MA_BENCH_TUI_GAP", "0.1"))  # s between toggles during an audit
SESSION = "lat"
HELP = "mailaudit: help"   # line 0 of the help screen (tui/tui.c draw_help)
PROGRESS = "Auditing "     # line 0 of the progress screen (draw_progress)
RESULTS = " mailaudit: "    # line 0 of the results screen (" mailaudit: USER @ HOST")


def tmux(*args, check=True):
    return subprocess.run(["tmux", "-L", SOCK, *args], check=check,
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


class Control:
    """One tmux control-mode client (tmux -C) for the timed part: keys and
    screen reads travel over its pipe. A tmux command process per key and
    per poll was measured to take up to 76 ms to start while an audit keeps
    both cores busy (a no-op `tmux display-message`, with the audit in
    --report mode and no TUI at all), against 0.3 ms over this pipe: that
    was the harness, not the program."""

    def __init__(self):
        self.p = subprocess.Popen(["tmux", "-L", SOCK, "-C", "attach", "-t", SESSION],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, text=True, bufsize=1)
        self.cmd("refresh-client -C 80x24")

    def cmd(self, line):
        """Runs one command; its output, or None if it failed or the
        session is gone. Notifications (%output ...) are skipped."""
        try:
            self.p.stdin.write(line + "\n")
            self.p.stdin.flush()
        except (BrokenPipeError, ValueError):
            return None
        out, inblock = [], False
        while True:
            raw = self.p.stdout.readline()
            if not raw:
                return None
            ln = raw.rstrip("\n")
            if ln.startswith("%begin"):
                inblock, out = True, []
            elif inblock and (ln.startswith("%end") or ln.startswith("%error")):
                return "\n".join(out) if ln.startswith("%end") else None
            elif inblock:
                out.append(ln)
            elif ln.startswith("%exit"):
                return None

    def close(self):
        try:
            self.p.stdin.close()
        except (BrokenPipeError, ValueError):
            pass
        try:
            self.p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.p.kill()


CTL = None  # the control client of the running session, if any


def capture():
    if CTL is not None:
        text = CTL.cmd("capture-pane -p -t %s" % SESSION)
        return text + "\n" if text is not None else None
    r = tmux("capture-pane", "-p", "-t", SESSION, check=False)
    return r.stdout if r.returncode == 0 else None


def send(key):
    if CTL is not None:
        CTL.cmd("send-keys -t %s -l '%s'" % (SESSION, key))
    else:
        tmux("send-keys", "-t", SESSION, "-l", key, check=False)


def phase(text):
    """The step the progress screen marks as running ("[>] History")."""
    for line in (text or "").split("\n"):
        line = line.strip()
        if line.startswith("[>]"):
            return line[3:].split()[0] if line[3:].split() else "?"
    return "-"


def screen_kind(text):
    if text is None:
        return "gone"
    lines = text.split("\n")
    top = lines[0] if lines else ""
    if HELP in top:
        return "help"
    if top.startswith(PROGRESS):
        return "progress"
    if top.startswith(RESULTS):
        return "results"
    return "other"


def wait_for(kinds, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        k = screen_kind(capture())
        if k in kinds:
            return k
        time.sleep(0.005)
    return None


def press(key, want):
    """Sends key, polls until the screen kind is in want. Returns
    (kind, ms, number of capture-pane polls)."""
    t0 = time.monotonic()
    send(key)
    n, k = 0, None
    while time.monotonic() - t0 < 5:
        k = screen_kind(capture())
        n += 1
        if k in want or k == "gone":
            break
    t1 = time.monotonic()
    return k, (t1 - t0) * 1000, n


def start(cmd, state):
    global CTL
    os.makedirs(state, mode=0o700)
    env_cmd = ["env", "LANG=C.UTF-8", "LC_ALL=C.UTF-8", *cmd, "--state-dir", state]
    tmux("-f", "/dev/null", "new-session", "-d", "-s", SESSION, "-x", "80", "-y", "24", *env_cmd)
    CTL = Control()


def stop():
    global CTL
    if CTL is not None:
        CTL.close()
        CTL = None
    tmux("kill-server", check=False)
    # kill-server leaves the socket file behind
    sock = os.path.join(os.environ.get("TMUX_TMPDIR", "/tmp"), "tmux-%d" % os.getuid(), SOCK)
    try:
        os.unlink(sock)
    except OSError:
        pass


def main():
    out, presses, base = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    cmd = sys.argv[5:]
    samples = []  # (mode, ms, polls)
    phases = []   # running step at each opening press during an audit
    rnd = 0
    try:
        # idle baseline: let a first audit finish, then press on the results screen
        start(cmd, os.path.join(base, "idle"))
        if wait_for({"results"}, 300) != "results":
            print("tui: the audit for the idle baseline did not finish", file=sys.stderr)
            return 1
        time.sleep(0.5)
        idle = 0
        while idle < presses:
            k, ms, cap = press("?", {"help"})
            if k != "help":
                return 1
            samples.append(("idle", ms, cap))
            k, ms, cap = press("?", {"results"})
            if k != "results":
                return 1
            samples.append(("idle", ms, cap))
            idle += 2
        send("q")
        wait_for({"gone"}, 10)
        stop()

        got = 0
        while got < presses and rnd < 10:
            rnd += 1
            start(cmd, os.path.join(base, "audit%d" % rnd))
            if wait_for({"progress"}, 30) != "progress":
                print("tui: no progress screen", file=sys.stderr)
                return 1
            while got < presses:
                # spread the presses over the audit, not only its first second
                time.sleep(GAP)
                scr = capture()
                if screen_kind(scr) != "progress":
                    break
                ph = phase(scr)
                k, ms, cap = press("?", {"help"})
                if k != "help":
                    break
                samples.append(("audit", ms, cap))
                phases.append(ph)
                got += 1
                k, ms, cap = press("?", {"progress", "results"})
                if k == "progress":
                    samples.append(("audit", ms, cap))
                    got += 1
                elif k != "results":
                    break
            if got >= presses and screen_kind(capture()) == "progress":
                # quit while the audit runs: q asks, y confirms
                send("q")
                t0 = time.monotonic()
                while time.monotonic() - t0 < 5 and "Quit anyway?" not in (capture() or ""):
                    pass
                # the audit may have ended meanwhile: then q alone quit
                # and the session is gone
                send("y")
                if wait_for({"gone"}, 10) != "gone":
                    print("tui: q y did not end the program", file=sys.stderr)
            else:
                send("q")
                send("y")
                wait_for({"gone"}, 10)
            stop()
    finally:
        stop()
        shutil.rmtree(base, ignore_errors=True)

    with open(out, "w") as f:
        for m, ms, cap in samples:
            f.write("%s %.2f %d\n" % (m, ms, cap))
    for mode in ("idle", "audit"):
        v = [ms for m, ms, _ in samples if m == mode]
        c = [cap for m, _, cap in samples if m == mode]
        if v:
            print("%s: n=%d median %.1f ms max %.1f ms; polls per press %.1f (mean)"
                  % (mode, len(v), statistics.median(v), max(v), statistics.mean(c)))
    print("rounds: %d" % rnd)
    print("steps: %s" % " ".join("%s=%d" % (p, phases.count(p)) for p in sorted(set(phases))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
