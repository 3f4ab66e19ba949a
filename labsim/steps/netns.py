"""Run a command in a network namespace whose only interface is loopback: the physical network guard.

    python -m labsim.steps.netns [--require] -- pytest features/ ...

The in-process guard (labsim/steps/guard.py) sees Python's own socket calls only; a simulated run also starts
hundreds of child processes (the fake talosctl, helm and cilium, kubectl) and libraries with sockets of their own.
In a new network namespace none of them can send a packet anywhere but 127.0.0.1, whatever they try: there is
no route, no interface and no resolver beyond loopback.

How: `unshare --net` when running as root (CI), else `unshare --user --map-root-user --net` (an unprivileged
user namespace, where the kernel allows them); inside, loopback is brought up and the command exec'd (same
process, same signals, its exit code). Where neither works (no util-linux, user namespaces disabled), the
command runs as it is, with a note on stderr, guarded in-process only; `--require` makes that an error
instead (CI, where the namespace must exist). Already isolated: the command runs as it is.
"""
from __future__ import annotations

import fcntl
import os
import shutil
import socket
import struct
import subprocess
import sys

from labsim.steps.guard import isolated

MARK = "LABSIM_NETNS"          # set inside the namespace: "loopback"
_SIOCGIFFLAGS, _SIOCSIFFLAGS, _IFF_UP = 0x8913, 0x8914, 0x1


def _ways() -> list[list[str]]:
    user = ["--user", "--map-root-user", "--net"]
    return [["--net"], user] if os.geteuid() == 0 else [user]


def loopback_up() -> None:
    """`ip link set lo up` without iproute2: SIOCSIFFLAGS on a fresh namespace's lo."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        ifreq = struct.pack("16sh", b"lo", 0)
        flags = struct.unpack("16sh", fcntl.ioctl(s, _SIOCGIFFLAGS, ifreq)[:18])[1]
        fcntl.ioctl(s, _SIOCSIFFLAGS, struct.pack("16sh", b"lo", flags | _IFF_UP))


def _inside(cmd: list[str]) -> int:
    loopback_up()
    os.environ[MARK] = "loopback"
    os.execvp(cmd[0], cmd)
    return 127   # not reached


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    require = inside = False
    while args and args[0] != "--":
        flag = args.pop(0)
        if flag == "--require":
            require = True
        elif flag == "--inside":
            inside = True
        else:
            print(f"usage: python -m labsim.steps.netns [--require] -- COMMAND ...; unknown option {flag}",
                  file=sys.stderr)
            return 2
    cmd = args[1:]
    if not cmd:
        print("usage: python -m labsim.steps.netns [--require] -- COMMAND ...", file=sys.stderr)
        return 2
    if inside:
        return _inside(cmd)
    if isolated():
        os.execvp(cmd[0], cmd)
    unshare = shutil.which("unshare")
    why = "util-linux's unshare is not installed"
    for way in _ways() if unshare else []:
        probe = subprocess.run([unshare, *way, "true"], capture_output=True, text=True)
        if probe.returncode == 0:
            os.execv(unshare, [unshare, *way, sys.executable, "-m", "labsim.steps.netns", "--inside", "--", *cmd])
        why = f"`unshare {' '.join(way)}` failed: {probe.stderr.strip() or probe.returncode}"
    if require:
        print(f"labsim: no network namespace could be made ({why}); refusing to run without one (--require)",
              file=sys.stderr)
        return 3
    print(f"labsim: no network namespace ({why}): the in-process guard alone keeps this run on loopback",
          file=sys.stderr)
    os.execvp(cmd[0], cmd)
    return 127   # not reached


if __name__ == "__main__":
    sys.exit(main())
