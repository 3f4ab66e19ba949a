"""The launchers' side of the tools' zygote (labsim/fakes/tools/zygote.py). A launcher runs as `python -S` and imports
only built-in modules here (`_socket`, `marshal`): a fake tool started while a zygote serves its lab costs a
bare interpreter start and a fork, about a third of a start that imports `site`, `json` and `socket`."""
from __future__ import annotations

import _socket
import marshal
import os
import sys

HEADER = 4
# sockaddr_un holds 108 bytes on Linux, the NUL included (unix(7)); a socket deeper than that (a long TMPDIR: a CI
# workspace, a test's tmp_path, a served lab's run folder) fails with "AF_UNIX path too long", and the tools would
# silently run without their zygote. Such a socket is reached through its folder's descriptor instead.
SUN_PATH_MAX = 107


def at(path: str, call) -> None:   # call: a bound bind or connect (no `typing` here: see above)
    """`call` (a socket's bind or connect) with an address for the socket at `path` that fits: the path itself, or
    /proc/self/fd/N/<name> with N a descriptor of the socket's folder, open for the call only."""
    if len(os.fsencode(path)) <= SUN_PATH_MAX:
        call(path)
        return
    folder, _, name = path.rpartition("/")
    fd = os.open(folder or "/", os.O_RDONLY | os.O_DIRECTORY)
    try:
        call(f"/proc/self/fd/{fd}/{name}")
    finally:
        os.close(fd)


def launch(tool: str) -> None:
    """What a launcher does: hand the run to the zygote and exit with its code; return if there is none."""
    path = os.environ.get("LABSIM_ZYGOTE")
    if not path:
        return
    try:
        conn = connect(path)
    except OSError:
        return
    send(conn, {"tool": tool, "argv": list(sys.argv), "env": dict(os.environ), "cwd": os.getcwd()}, (0, 1, 2))
    data = exit_code(conn)
    if not data.strip():   # the zygote hung up without an exit code: it refused the request
        os.write(2, refused(tool, path).encode())
    os._exit(int(data.strip() or b"1"))


def connect(path: str):
    conn = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        at(path, conn.connect)
    except OSError:
        conn.close()
        raise
    return conn


def send(conn, request: dict, fds: tuple[int, int, int]) -> None:
    """A run's request (tool, argv, env, cwd) and its stdin, stdout and stderr (SCM_RIGHTS, with the first bytes)."""
    msg = marshal.dumps(request)
    rights = b"".join(fd.to_bytes(4, sys.byteorder, signed=True) for fd in fds)   # an int[3], as SCM_RIGHTS wants
    conn.sendmsg([len(msg).to_bytes(HEADER, "big")], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, rights)])
    conn.sendall(msg)


def exit_code(conn) -> bytes:
    """The run's exit code as the zygote writes it when the run ends (`b""`: it hung up without one)."""
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(16)
        if not chunk:
            break
        data += chunk
    conn.close()
    return data


def refused(tool: str, path: str) -> str:
    return (f"{tool}: the simulated lab's tool server ({path}) refused this run; it was started from another "
            "checkout or before its launcher protocol changed: restart the simulated lab\n")


def run_here() -> None:
    """No zygote: this launcher runs the tool itself, with the site-packages `-S` left out (PyYAML, ...)."""
    import site
    site.main()
