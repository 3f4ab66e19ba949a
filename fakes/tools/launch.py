"""The launchers' side of the tools' zygote (fakes/tools/zygote.py): imports nothing heavy, so a fake tool
started while a zygote serves its lab costs a Python start-up and a fork."""
from __future__ import annotations

import json
import os
import socket
import sys

HEADER = 4


def launch(tool: str) -> None:
    """What a launcher does: hand the run to the zygote and exit with its code; return if there is none."""
    path = os.environ.get("LABSIM_ZYGOTE")
    if not path:
        return
    try:
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.connect(path)
    except OSError:
        return
    msg = json.dumps({"tool": tool, "argv": sys.argv, "env": dict(os.environ), "cwd": os.getcwd()}).encode()
    socket.send_fds(conn, [len(msg).to_bytes(HEADER, "big")], [0, 1, 2])
    conn.sendall(msg)
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(16)
        if not chunk:
            break
        data += chunk
    os._exit(int(data.strip() or b"1"))
