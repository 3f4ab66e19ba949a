"""An SSH server (paramiko) in front of one simulated host: exec requests only, as testinfra and
Ansible's modules use them.

Each host has its own host key, generated per run. Logins are by the per-run public key or the
password the lab's secret reference resolves to in the simulator. A host whose cable is pulled in the
world closes every new connection at once (the sim's "unreachable").
"""
from __future__ import annotations

import ipaddress
import logging
import socket
import threading
import time
from collections.abc import Callable

import paramiko

from labsim.fakes.hosts.machine import Machine
from labsim.fakes.hosts.shell import Shell

LOG = "labsim.fakes.ssh"
logging.getLogger(LOG).addHandler(logging.NullHandler())
logging.getLogger(LOG).propagate = False


class _Session(paramiko.ServerInterface):
    def __init__(self, owner: SshServer):
        self.owner = owner
        self.user: str | None = None
        self.closers: list[threading.Thread] = []

    def get_allowed_auths(self, username: str) -> str:
        return "publickey,password"

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        if username == self.owner.username and self.owner.client_key is not None \
                and key.get_base64() == self.owner.client_key.get_base64():
            self.user = username
            return paramiko.AUTH_SUCCESSFUL
        return paramiko.AUTH_FAILED

    def check_auth_password(self, username: str, password: str) -> int:
        if username == self.owner.username and self.owner.password is not None and password == self.owner.password:
            self.user = username
            return paramiko.AUTH_SUCCESSFUL
        return paramiko.AUTH_FAILED

    def check_channel_request(self, kind: str, chanid: int) -> int:
        return paramiko.OPEN_SUCCEEDED if kind == "session" else paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_pty_request(self, *args) -> bool:
        return True

    def check_channel_exec_request(self, channel: paramiko.Channel, command: bytes) -> bool:
        # The command runs here, in the transport's thread: output, exit status and EOF are queued
        # before paramiko sends the request's SUCCESS reply. Only the CLOSE must follow that reply
        # (a CLOSE first fails the client's exec_command), so a helper closes once it has gone out.
        # The previous command's closer has seen its reply go out (this request came after it), so
        # once it is done nothing else sends on this transport and the next packet is our SUCCESS.
        for t in self.closers:
            t.join(timeout=1.0)
        self.owner._exec(channel, self.user or "", command)
        closer = threading.Thread(target=_close_after_reply, args=(channel, _packets_sent(channel)),
                                  name=f"ssh-close-{self.owner.machine.name}", daemon=True)
        self.closers = [closer]
        closer.start()
        return True


def _packets_sent(channel: paramiko.Channel) -> int:
    return getattr(channel.transport.packetizer, "_Packetizer__sequence_number_out", 0)


def _close_after_reply(channel: paramiko.Channel, sent: int, timeout: float = 2.0) -> None:
    deadline = time.monotonic() + timeout
    while _packets_sent(channel) == sent and time.monotonic() < deadline and channel.transport.is_active():
        time.sleep(0.001)
    try:
        channel.close()
    except (EOFError, OSError, paramiko.SSHException):   # the client hung up first: nothing left to close
        pass


class SshServer:
    def __init__(self, machine: Machine, *, username: str, host_key: paramiko.PKey,
                 client_key: paramiko.PKey | None, password: str | None,
                 reachable: Callable[[], bool] = lambda: True, host: str = "127.0.0.1"):
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"the SSH fake binds loopback addresses only, not {host}")
        self.machine = machine
        self.username, self.host_key, self.client_key, self.password = username, host_key, client_key, password
        self.reachable = reachable
        self.host, self.port = host, 0
        self.sessions = 0
        self._sock: socket.socket | None = None
        self._stop = threading.Event()
        self._transports: list[paramiko.Transport] = []

    def start(self) -> SshServer:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((self.host, 0))
        s.listen(16)
        s.settimeout(0.2)
        self._sock, self.port = s, s.getsockname()[1]
        threading.Thread(target=self._accept, name=f"ssh-{self.machine.name}", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._sock:
            self._sock.close()
        for t in list(self._transports):
            t.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()  # type: ignore[union-attr]
            except (TimeoutError, OSError):
                continue
            if not self.reachable():
                conn.close()
                continue
            conn.settimeout(None)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)   # no delayed-ACK stalls per command
            t = paramiko.Transport(conn)
            t.set_log_channel(LOG)   # a client that hangs up is no news: keep it out of stderr
            t.add_server_key(self.host_key)
            self._transports.append(t)
            self.sessions += 1
            try:
                t.start_server(server=_Session(self))
            except (paramiko.SSHException, EOFError, OSError):
                t.close()

    def _exec(self, channel: paramiko.Channel, user: str, command: bytes) -> None:
        try:
            rc, out, err = Shell(self.machine, user).run(command.decode("utf-8", "replace"))
            if out:
                channel.sendall(out.encode())
            if err:
                channel.sendall_stderr(err.encode())
            channel.send_exit_status(rc)
            channel.shutdown_write()
        except (OSError, EOFError, paramiko.SSHException):
            pass
