"""An SSH server (paramiko) in front of one simulated host: exec requests only, as testinfra and
Ansible's modules use them.

Each host has its own host key, generated per run. Logins are by the per-run public key or the
password the lab's secret reference resolves to in the simulator. A host whose cable is pulled in the
world closes every new connection at once (the sim's "unreachable").

Connections, as OpenSSH's sshd limits them (sshd_config(5) defaults): the key exchange runs in the
connection's own paramiko thread, never in the accept loop, so a client that connects and says nothing
delays nobody; a connection not logged in after LoginGraceTime (120 s) is closed; beyond MaxStartups
10:30:100 unauthenticated connections new ones are dropped (30 % at 10, rising linearly to all at 100).
sshd has no idle limit once logged in; the fake closes a session idle for `IDLE_TIMEOUT` with no channel
open, so a client that vanishes without a FIN does not hold a thread forever. Closed transports are
forgotten at once.
"""
from __future__ import annotations

import logging
import random
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import paramiko

from labsim.fakes.face import Connection, Face, Limits
from labsim.fakes.hosts.machine import Machine
from labsim.fakes.hosts.shell import Shell

LOG = "labsim.fakes.ssh"
BANNER_TIMEOUT = 15.0        # paramiko's default: the client's identification string must arrive by then
LOGIN_GRACE_TIME = 120.0     # sshd_config(5) LoginGraceTime
MAX_STARTUPS = (10, 30, 100)  # sshd_config(5) MaxStartups start:rate:full
IDLE_TIMEOUT = 600.0         # ours: a logged-in session with no channel and no request for this long is closed
MAX_CONNECTIONS = 256        # ours: every connection is a paramiko thread


class _ClientTrouble(logging.Filter):
    """paramiko reports a client that is not SSH, or hangs up mid-handshake, at ERROR with its traceback: news
    about the client, not a fault of the face, so it goes out at DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.DEBUG:
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return True


logging.getLogger(LOG).addHandler(logging.NullHandler())
logging.getLogger(LOG).addFilter(_ClientTrouble())
logging.getLogger(LOG).propagate = False


class _Session(paramiko.ServerInterface):
    def __init__(self, owner: SshServer):
        self.owner = owner
        self.user: str | None = None
        self.closers: list[threading.Thread] = []
        self.accepted = self.active = time.monotonic()   # for the login grace time and the idle limit

    def touch(self) -> None:
        self.active = time.monotonic()

    def get_allowed_auths(self, username: str) -> str:
        return "publickey,password"

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        if username == self.owner.username and self.owner.client_key is not None \
                and key.get_base64() == self.owner.client_key.get_base64():
            self.user = username
            self.touch()
            return paramiko.AUTH_SUCCESSFUL
        return paramiko.AUTH_FAILED

    def check_auth_password(self, username: str, password: str) -> int:
        if username == self.owner.username and self.owner.password is not None and password == self.owner.password:
            self.user = username
            self.touch()
            return paramiko.AUTH_SUCCESSFUL
        return paramiko.AUTH_FAILED

    def check_channel_request(self, kind: str, chanid: int) -> int:
        self.touch()
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
        self.touch()
        self.owner._exec(channel, self.user or "", command)
        closer = threading.Thread(target=_close_after_reply, args=(channel, _packets_sent(channel)),
                                  name=f"ssh-close-{self.owner.machine.name}", daemon=True)
        self.closers = [closer]
        closer.start()
        return True


def _open_channels(t: paramiko.Transport) -> int:
    try:
        return len(t._channels.values())
    except (AttributeError, RuntimeError):
        return 0


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


class SshServer(Face):
    """On the faces' server base (labsim/fakes/face.py) for binding, accepting and stopping; each accepted
    socket is handed to a paramiko transport, which runs in its own thread."""

    limits = Limits(max_connections=MAX_CONNECTIONS)

    def __init__(self, machine: Machine, *, username: str, host_key: paramiko.PKey,
                 client_key: paramiko.PKey | None, password: str | None,
                 reachable: Callable[[], bool] = lambda: True, host: str = "127.0.0.1"):
        super().__init__(f"ssh-{machine.name}", host=host, kind="SSH fake")
        self.machine = machine
        self.username, self.host_key, self.client_key, self.password = username, host_key, client_key, password
        self.reachable = reachable
        self.sessions = 0
        self.login_grace_time, self.idle_timeout, self.max_startups = LOGIN_GRACE_TIME, IDLE_TIMEOUT, MAX_STARTUPS
        self.dropped = 0       # connections refused by MaxStartups or the connection limit
        self._transports: dict[paramiko.Transport, _Session] = {}
        self._random = random.Random(0)   # MaxStartups' early drop; seeded: the same run drops the same ones

    @property
    def connections(self) -> int:
        """Open connections (for tests and limits); closed ones are pruned first."""
        self._prune()
        return len(self._transports)

    def live_connections(self) -> int:
        return 0   # never pause the listener: `accept` applies MaxStartups and the cap itself

    def stop(self) -> None:
        super().stop()
        with self._lock:
            transports = list(self._transports)
            self._transports.clear()
        for t in transports:
            t.close()

    def revive(self) -> SshServer:
        self._transports = {}     # the checkpoint's sessions were not copied with their sockets
        return super().revive()

    def tick(self) -> None:
        self._prune()

    def accept(self, sock: socket.socket, peer: Any, tls: Any) -> Connection | None:
        self._prune()
        if not self.reachable() or self._drop():
            sock.close()
            return None
        sock.setblocking(True)
        t = paramiko.Transport(sock)
        t.set_log_channel(LOG)   # a client that hangs up is no news: keep it out of stderr
        t.banner_timeout = t.handshake_timeout = BANNER_TIMEOUT
        t.add_server_key(self.host_key)
        session = _Session(self)
        with self._lock:
            self._transports[t] = session
        self.sessions += 1
        try:
            # With an event, paramiko negotiates in the transport's own thread and returns at once:
            # the accept loop never waits for a client's banner or key exchange.
            t.start_server(event=threading.Event(), server=session)
        except (paramiko.SSHException, EOFError, OSError):
            t.close()
        return None

    def _drop(self) -> bool:
        """sshd's MaxStartups: refuse a new connection while too many have not logged in yet."""
        start, rate, full = self.max_startups
        with self._lock:
            total = len(self._transports)
            startups = sum(1 for s in self._transports.values() if s.user is None)
        if total >= self.limits.max_connections or startups >= full:
            self.dropped += 1
            return True
        if startups < start:
            return False
        p = rate + (100 - rate) * (startups - start) / (full - start)
        if self._random.random() * 100 < p:
            self.dropped += 1
            return True
        return False

    def _prune(self) -> None:
        """Forget closed transports; close those past the login grace time or idle too long."""
        now = time.monotonic()
        doomed: list[paramiko.Transport] = []
        with self._lock:
            for t, s in list(self._transports.items()):
                if not t.is_active():
                    del self._transports[t]
                    # paramiko leaves the key exchange's timer (a thread) running after an EOF mid-handshake
                    t.packetizer.complete_handshake()
                elif s.user is None and now - s.accepted > self.login_grace_time:
                    doomed.append(t)
                elif s.user is not None and now - s.active > self.idle_timeout and not _open_channels(t):
                    doomed.append(t)
            for t in doomed:
                del self._transports[t]
        for t in doomed:
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
