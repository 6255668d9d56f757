#!/usr/bin/env python3
"""A signal at mailaudit's no-echo password prompt, under an interactive shell
in a pseudo-terminal, and the terminal's echo afterwards.

    prompt_signals.py SHELL SIGNAL WORKDIR -- MAILAUDIT-COMMAND...

Starts `SHELL -i` (dash: a shell that does not restore the terminal after a
program it ran is killed) on a new pty, runs the command in it (through
`sh -c 'echo $$ >pid; exec ...'`, so the test knows its pid), waits for
"Password for", checks that echo is off, then delivers SIGNAL: INT, QUIT and
TSTP as the keys do (Ctrl-C, Ctrl-\\, Ctrl-Z: the terminal signals the
foreground job), TERM and HUP with kill(2). For TSTP the stopped job's
terminal is looked at, then `fg` resumes it (the question is asked again,
echo off again) and Ctrl-C ends it. Finally `stty -a` runs in the shell.

Prints one line per observation, for the calling test to judge:
    asking echo=off
    stopped echo=on          (TSTP only: stty -a while the job is stopped)
    resumed echo=off asked-again=yes   (TSTP only)
    after echo=on            (stty -a once the program has ended)
    status 130               (the program's end as the shell saw it: $?)
A step that does not happen within its deadline prints "timeout STEP" and
the output seen so far, and exits 1.
"""
import os
import pty
import re
import select
import signal
import sys
import termios
import time

DEADLINE = 30  # seconds for each step: a loaded 2-core machine, an ASan build


def main():
    shell, signame, work = sys.argv[1:4]
    if sys.argv[4] != "--":
        sys.exit("usage: prompt_signals.py SHELL SIGNAL WORKDIR -- COMMAND...")
    cmd = sys.argv[5:]
    pidfile = os.path.join(work, "prompt.pid")
    try:
        os.unlink(pidfile)
    except FileNotFoundError:
        pass
    env = dict(os.environ, PS1="PS1> ", ENV="", TERM="dumb")
    pid, master = pty.fork()
    if pid == 0:
        os.execvpe(shell, [shell, "-i"], env)
    seen = bytearray()

    def read_until(pattern, step):
        rx = re.compile(pattern)
        end = time.monotonic() + DEADLINE
        while True:
            m = rx.search(seen)
            if m:
                return m
            left = end - time.monotonic()
            if left <= 0:
                print("timeout %s" % step)
                print("seen: %r" % bytes(seen[-2000:]))
                os.kill(pid, signal.SIGKILL)
                sys.exit(1)
            r, _, _ = select.select([master], [], [], left)
            if r:
                try:
                    data = os.read(master, 4096)
                except OSError:
                    data = b""
                if not data:
                    print("timeout %s (the shell ended)" % step)
                    print("seen: %r" % bytes(seen[-2000:]))
                    sys.exit(1)
                seen.extend(data)

    def send(text):
        os.write(master, text.encode() if isinstance(text, str) else text)

    def echo_now():
        return "on" if termios.tcgetattr(master)[3] & termios.ECHO else "off"

    def stty(step):
        """echo as `stty -a` in the shell shows it."""
        del seen[:]
        # $((...)) makes the marker differ from the echoed command line.
        send("stty -a; echo STTY$((40+2))END\n")
        m = read_until(rb"(?s)(.*)STTY42END", step)
        flags = re.findall(rb"(?<![\w-])(-?)echo(?![\w-])", m.group(1))
        return "?" if not flags else ("off" if flags[0] == b"-" else "on")

    read_until(rb"PS1> ", "shell prompt")
    send("ulimit -c 0\n")
    quoted = " ".join("'" + a.replace("'", "'\\''") + "'" for a in cmd)
    del seen[:]
    send("sh -c 'echo $$ >%s; exec \"$@\"' sh %s\n" % (pidfile, quoted))
    read_until(rb"Password for", "password prompt")
    # The prompt is written after echo went off; allow the write to land.
    time.sleep(0.2)
    with open(pidfile) as f:
        target = int(f.read().strip())
    print("asking echo=%s" % echo_now())
    del seen[:]
    keys = {"INT": b"\x03", "QUIT": b"\x1c", "TSTP": b"\x1a"}
    if signame in keys:
        send(keys[signame])
    else:
        os.kill(target, getattr(signal, "SIG" + signame))
    def status(step):
        del seen[:]
        send("echo STATUS$((0+0))=$?=\n")
        return read_until(rb"STATUS0=(\d+)=", step).group(1).decode()

    read_until(rb"PS1> ", "shell prompt after the signal")
    if signame == "TSTP":
        print("stopped echo=%s" % stty("stty while stopped"))
        del seen[:]
        send("fg\n")
        read_until(rb"Password for", "question asked again")
        time.sleep(0.2)
        print("resumed echo=%s asked-again=yes" % echo_now())
        del seen[:]
        send(b"\x03")
        read_until(rb"PS1> ", "shell prompt after Ctrl-C")
    print("status %s" % status("status"))
    print("after echo=%s" % stty("stty at the end"))
    send("exit\n")
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)


if __name__ == "__main__":
    main()
