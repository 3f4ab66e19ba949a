"""The RouterOS API wire face of a simulated MikroTik device: a TCP (and optional TLS) server on loopback.

The server owns everything that is about the socket: framing (`codec.py`), login, `/quit`, `.tag`,
`print` queries and `.proplist` (`query.py`), `!empty` on 7.18+, and face faults. Everything that is
about the device's configuration is the handler's (`api.CommandHandler`), called once per command.

Reply texts and where they come from:
- `invalid user name or password (6)`: bad login on 6.43+ (RouterOS 6.47.6 trace in
  github.com/BenMenking/routeros-api issue #52; protocols.md 1.4). `cannot log in`: the pre-6.43 text
  (luqasz/librouteros docs/api_analysis.rst); which one a given version prints is split at 6.43, the
  release that changed the login (UNVERIFIED boundary).
- `!fatal not logged in`: any command but `/login` before login (a public security assessment of
  RouterOS CHR 7.20.8, Feb 2026, in a GitHub repository, withdrawn finding "RouterOS API login without
  password": `/login =name=admin` -> `!done =ret=<hex>`, then `/system/resource/print` ->
  `['!fatal', 'not logged in']`, three rounds on a factory-fresh CHR). Whether `/quit` is also refused
  before login is UNVERIFIED; we honour it.
- `!fatal session terminated on request` after `/quit` (librouteros docs/api_analysis.rst).
- `!fatal` after bytes that are not a valid API stream: the text is ours (UNVERIFIED; RouterOS's
  behaviour on garbage is not documented).
- `!fatal not logged in` when a client not logged in has sent more than `Limits.max_pending_bytes` without
  finishing a sentence: what a router answers any first sentence but /login, said before the rest is read
  (the bound is ours; RouterOS's is not documented).
- `print =count-only=`: `!done =ret=N`, N the rows the queries select (MikroTik API manual).
- `listen` and `/cancel` (MikroTik API manual, "/cancel, simultaneous commands"): a listen answers nothing at
  first, then one `!re` (tagged like the listen) each time a row of its menu changes, `=.dead=` for a row that is
  gone (the manual's /user/active/listen example; printed as the device prints booleans); the connection goes on
  taking commands meanwhile. `/cancel =tag=X` ends it: `!trap =category=2 =message=interrupted` tagged X, the
  cancel's own `!done`, then X's `!done`; `/cancel` without a tag ends every running command of the connection.
  Cancelling a tag that runs nothing answers a plain `!done` (UNVERIFIED).

Connections (labsim/fakes/face.py): one selector watches every idle session, a worker serves a sentence when it
arrives. RouterOS manual, IP/Services: `max-sessions` (default 20, RouterOS 7.6+) concurrent connections per
service; what a router does with one more is not documented: the fake closes it (UNVERIFIED). No idle limit is
documented either; the fake closes a session idle for an hour.
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import secrets
import socket
import ssl
import threading
import time
from binascii import unhexlify
from dataclasses import dataclass, field
from typing import Any

from labsim.fakes.face import Connection, Face, Limits
from labsim.fakes.routeros.api import CommandHandler, Reply, Trap
from labsim.fakes.routeros.schema import Version
from labsim.fakes.routeros.codec import ProtocolViolation, SentenceReader, encode_sentence
from labsim.fakes.routeros.query import QueryError, apply_proplist, compile_query

log = logging.getLogger(__name__)

MSG_BAD_LOGIN = "invalid user name or password (6)"
MSG_BAD_LOGIN_PRE_643 = "cannot log in"
MSG_NOT_LOGGED_IN = "not logged in"
MSG_QUIT = "session terminated on request"

_LOOPBACK = ipaddress.ip_network("127.0.0.0/8")
_POLL = 0.5          # how often a listen looks at the stop flags when nothing changes
_DRAIN = 1.0         # after we hang up, how long we keep reading (and dropping) what the client still sends
LIMITS = Limits(handshake_timeout=5.0, idle_timeout=3600.0, write_timeout=30.0, max_connections=20,
                max_pending_bytes=64 * 1024)
_PRINT_VERBS = ("print", "getall")  # the manual: getall is an alias for print


def parse_version(version: str) -> tuple[int, ...]:
    """'7.16.2' -> (7, 16, 2); '7.18beta6' -> (7, 18): numeric, so 7.9 < 7.18."""
    return Version.parse(version).parts


def legacy_response(password: str, challenge_hex: str) -> str:
    """The pre-6.43 `=response=`: '00' + md5(0x00 + password + challenge)."""
    digest = hashlib.md5(b"\x00" + password.encode("latin-1", "replace") + unhexlify(challenge_hex),
                         usedforsecurity=False)
    return "00" + digest.hexdigest()


@dataclass
class FaultPlan:
    """Face faults; change them at any time, they are read per sentence."""
    close_after_sentences: int | None = None  # answer N sentences on a connection (login counts), then hang up
    trap_commands: dict[str, Trap] = field(default_factory=dict)  # command word -> trap instead of executing
    latency: float = 0.0  # real seconds before each reply

    def clear(self) -> None:
        self.close_after_sentences = None
        self.trap_commands = {}
        self.latency = 0.0


class _Conn:
    """A session: login state and the sentence reader of one connection."""

    def __init__(self, link: Connection, number: int):
        self.link = link
        self.peer = link.peer
        self.tls = link.tls
        self.number = number
        self.logged_in = False
        self.challenge: str | None = None
        self.count = 0  # command sentences received on this connection
        self.reader = SentenceReader()
        self.drain_until: float | None = None   # hung up: input is read and dropped until then
        self.send_lock = threading.Lock()       # the worker serving it and its listens both write
        self.listens: dict[str, _Listen] = {}   # running listen commands by tag

    @property
    def sock(self) -> socket.socket:
        return self.link.sock


class RouterOSServer(Face):
    limits = LIMITS

    def __init__(self, handler: CommandHandler, *, username: str, password: str, login: str = "plain",
                 version: str = "7.16.2", host: str = "127.0.0.1", port: int = 0,
                 tls: ssl.SSLContext | None = None, tls_port: int = 0, name: str = ""):
        try:
            addr = ipaddress.ip_address(host)
        except ValueError:
            addr = None
        if addr is None or addr.version != 4 or addr not in _LOOPBACK:
            raise ValueError(f"RouterOSServer binds loopback only (127.0.0.0/8), not {host!r}")
        if login not in ("plain", "token"):
            raise ValueError(f"login must be 'plain' or 'token', not {login!r}")
        super().__init__(name or f"routeros@{host}", host=host, port=port, kind="RouterOS fake")
        self.handler = handler
        self.username, self.password, self.login = username, password, login
        self.version = version
        self._version = parse_version(version)
        self.tls_port = tls_port
        self.tls = tls
        self.faults = FaultPlan()
        # Calls into the handler are serialised: a router applies one change at a time, and the menu
        # engine need not be thread-safe. Replace with a shared lock if several servers share a world.
        self.handler_lock = threading.RLock()
        self.handler_errors: list[BaseException] = []  # exceptions raised by the handler (a simulator bug)
        self._count_lock = threading.Lock()
        self._sentences = 0
        self._numbers = 0

    # ------------------------------------------------------------ public surface

    @property
    def sentences_received(self) -> int:
        with self._count_lock:
            return self._sentences

    @property
    def connections(self) -> int:
        """Open sessions (one being hung up no longer counts)."""
        with self._lock:
            return sum(1 for c in self._conns if not (isinstance(c.data, _Conn) and c.data.drain_until))

    def start(self) -> RouterOSServer:
        if self._loop is not None:
            raise RuntimeError("server already started")
        self.listeners = [(self.port, None)] + ([(self.tls_port, self.tls)] if self.tls is not None else [])
        super().start()
        if self.tls is not None:
            self.tls_port = self.bound_ports()[1]
        return self

    def __repr__(self) -> str:
        return f"<RouterOSServer {self.name} {self.host}:{self.port} v{self.version} {self.login}>"

    # ------------------------------------------------------------ connections (labsim/fakes/face.py)

    def accept(self, sock: socket.socket, peer: Any, tls: ssl.SSLContext | None) -> Connection | None:
        if self.live_connections() >= self.limits.max_connections:   # max-sessions: one more is closed
            sock.close()
            return None
        return super().accept(sock, peer, tls)

    def live_connections(self) -> int:
        return 0   # never pause the listener: `accept` refuses the one over max-sessions itself

    def opened(self, link: Connection) -> None:
        with self._count_lock:
            self._numbers += 1
            conn = _Conn(link, self._numbers)
        link.data = conn
        n = self.faults.close_after_sentences
        if n is not None and n <= 0:
            self._hang_up(conn)

    def idle_deadline(self, link: Connection) -> float:
        conn: _Conn = link.data
        if conn.drain_until is not None:
            return conn.drain_until
        return super().idle_deadline(link)

    def ready(self, link: Connection) -> bool:
        conn: _Conn = link.data
        data = conn.sock.recv(65536)
        if conn.drain_until is not None:   # hung up: drop what the client still sends, until EOF or the deadline
            return bool(data) and time.monotonic() < conn.drain_until and not self.stopping
        if not data:
            return False  # client EOF (a cut-off sentence is simply dropped: there is no one to tell)
        try:
            sentences = conn.reader.feed(data)
        except ProtocolViolation as exc:
            self._fatal(conn, f"protocol violation: {exc}")
            return True
        for words in sentences:
            if words and not self._sentence(conn, words):
                return conn.drain_until is not None
        if conn.reader.broken is not None:
            self._fatal(conn, f"protocol violation: {conn.reader.broken}")
            return True
        if not conn.logged_in and conn.reader.pending > self.limits.max_pending_bytes:
            self._fatal(conn, MSG_NOT_LOGGED_IN)   # before login nothing but a short /login is worth reading
            return True
        return True

    def _send(self, conn: _Conn, sentences: list[list[str]]) -> bool:
        latency = self.faults.latency
        if latency > 0 and self._stopping.wait(latency):
            return False
        try:
            with conn.send_lock:
                conn.sock.sendall(b"".join(encode_sentence(s) for s in sentences))
            return True
        except (OSError, ValueError):
            return False

    def _fatal(self, conn: _Conn, reason: str) -> None:
        self._send(conn, [["!fatal", reason]])
        self._hang_up(conn)

    def _hang_up(self, conn: _Conn) -> None:
        """Close our side so the client reads EOF, then drop whatever it still sends for a moment.

        Closing outright while client bytes are unread makes the kernel send RST, and the client may
        then lose our last reply (or see 'connection reset' instead of a clean end of stream).
        """
        _shutdown(conn.sock, socket.SHUT_WR)
        conn.drain_until = time.monotonic() + _DRAIN
        conn.link.deadline = conn.drain_until
        self._stop_listens(conn)

    def closed(self, link: Connection) -> None:
        if isinstance(link.data, _Conn):
            self._stop_listens(link.data)

    @staticmethod
    def _stop_listens(conn: _Conn) -> None:
        for listen in list(conn.listens.values()):
            listen.stop()
        conn.listens.clear()

    # ------------------------------------------------------------ one sentence

    def _sentence(self, conn: _Conn, words: list[str]) -> bool:
        """Answer one command sentence. Returns False when the connection must end."""
        conn.count += 1
        with self._count_lock:
            self._sentences += 1
        limit = self.faults.close_after_sentences
        if limit is not None and conn.count > limit:  # fault armed after this connection passed N
            self._hang_up(conn)
            return False

        command, attrs, queries, tag = words[0], {}, [], ""
        for w in words[1:]:
            if w.startswith("="):
                key, _, value = w[1:].partition("=")
                attrs[key] = value
            elif w.startswith("?"):
                queries.append(w)
            elif w.startswith(".tag="):
                tag = w[len(".tag="):]
            # Other words (no known prefix) are ignored; RouterOS's reaction is undocumented.

        if command == "/cancel" and conn.logged_in:
            return self._cancel(conn, attrs.get("tag"), tag)
        replies = self._dispatch(conn, command, attrs, queries)
        if replies[-1][0] == "!listen":           # a listen runs on: nothing to answer now
            listen = _Listen(self, conn, tag, replies[-1][1], attrs.get(".proplist"))
            conn.listens[tag] = listen
            listen.start()
            return True
        if replies[-1][0] == "!fatal":  # untagged: it ends the session, not one command (UNVERIFIED)
            self._fatal(conn, replies[-1][1])
            return False
        if tag:  # the manual: an empty .tag means untagged replies
            replies = [[s[0], f".tag={tag}", *s[1:]] for s in replies]
        if not self._send(conn, replies):
            return False
        if limit is not None and conn.count >= limit:
            self._hang_up(conn)
            return False
        return True

    def _dispatch(self, conn: _Conn, command: str, attrs: dict[str, str],
                  queries: list[str]) -> list[list[str]]:
        if command == "/quit":
            return [["!fatal", MSG_QUIT]]
        if not conn.logged_in and command != "/login":
            return [["!fatal", MSG_NOT_LOGGED_IN]]
        trap = self.faults.trap_commands.get(command)
        if trap is not None:
            return self._words(Reply(traps=[trap]), listing=False)
        if command == "/login":
            return self._login(conn, attrs)
        return self._execute(command, attrs, queries)

    def _cancel(self, conn: _Conn, target: str | None, tag: str) -> bool:
        """/cancel: end the listen tagged `target` (every running command without one)."""
        targets = [t for t in list(conn.listens) if target is None or t == target]
        stopped = [conn.listens.pop(t) for t in targets]
        for listen in stopped:
            listen.stop()
        out: list[list[str]] = []
        for listen in stopped:
            out.append(_tagged(["!trap", "=category=2", "=message=interrupted"], listen.tag))
        out.append(_tagged(["!done"], tag))
        for listen in stopped:
            out.append(_tagged(["!done"], listen.tag))
        return self._send(conn, out)

    def _logged_in(self, conn: _Conn) -> None:
        conn.logged_in = True
        seen = getattr(self.handler, "logged_in", None)      # the device's /user last-logged-in and /log
        if seen is not None:
            with self.handler_lock:
                seen(self.username, str(conn.peer[0]))

    def _login(self, conn: _Conn, attrs: dict[str, str]) -> list[list[str]]:
        bad = [["!trap", "=message=" + (MSG_BAD_LOGIN_PRE_643 if self._version < (6, 43)
                                         else MSG_BAD_LOGIN)], ["!done"]]
        name_ok = hmac.compare_digest(attrs.get("name", "").encode("latin-1", "replace"),
                                      self.username.encode("latin-1", "replace"))
        if "response" in attrs:
            # The challenge flow: always on a legacy device; a plain (6.43+) device still took it until
            # 6.45.1 and has rejected it since (6.47.6 trace: challenge issued, response refused).
            challenge, conn.challenge = conn.challenge, None
            if self.login == "plain" and self._version >= (6, 45, 1):
                return bad
            if challenge and name_ok and hmac.compare_digest(
                    attrs["response"].lower().encode("latin-1", "replace"),
                    legacy_response(self.password, challenge).encode("ascii")):
                self._logged_in(conn)
                return [["!done"]]
            return bad
        if self.login == "plain" and "password" in attrs:
            if name_ok and hmac.compare_digest(attrs["password"].encode("latin-1", "replace"),
                                               self.password.encode("latin-1", "replace")):
                self._logged_in(conn)
                return [["!done"]]
            return bad
        # No credentials this device checks: hand out a challenge. Pre-6.43 devices ignore extra
        # arguments such as =password= (so librouteros's plain login "succeeds" and the next command
        # gets !fatal not logged in); 7.20.8 answers `/login =name=admin` the same way.
        conn.challenge = secrets.token_hex(16)
        return [["!done", f"=ret={conn.challenge}"]]

    def _execute(self, command: str, attrs: dict[str, str], queries: list[str]) -> list[list[str]]:
        listing = command.rsplit("/", 1)[-1] in _PRINT_VERBS
        query = None
        if listing and queries:
            try:
                query = compile_query(queries)
            except QueryError as exc:
                return self._words(Reply(traps=[exc.trap]), listing=False)
        try:
            with self.handler_lock:
                reply = self.handler.execute(command, dict(attrs), list(queries))
        except Exception as exc:  # a simulator bug: answer a trap, keep the evidence
            log.exception("%s: handler failed on %s", self.name, command)
            self.handler_errors.append(exc)
            reply = Reply(traps=[Trap(f"simulator error: {type(exc).__name__}: {exc}")])
        if reply.fatal is not None:
            return [["!fatal", reply.fatal]]
        if reply.listen is not None:
            return [["!listen", reply.listen]]
        if listing:
            rows = [r for r in reply.rows if query is None or query.matches(r)]
            if "count-only" in attrs and not reply.traps:
                reply = Reply(ret=str(len(rows)))
            else:
                reply = Reply(rows=apply_proplist(rows, attrs.get(".proplist")), ret=reply.ret,
                              traps=reply.traps)
        return self._words(reply, listing=listing)

    def _words(self, reply: Reply, *, listing: bool) -> list[list[str]]:
        out = [["!re", *(f"={k}={v}" for k, v in row.items())] for row in reply.rows]
        # 7.18 changelog: "put !empty sentence when API query returns nothing" (still followed by !done).
        if (listing and not reply.rows and not reply.traps and reply.ret is None
                and self._version >= (7, 18)):
            out.append(["!empty"])
        for trap in reply.traps:
            words = ["!trap"]
            if trap.category is not None:
                words.append(f"=category={trap.category}")
            words.append(f"=message={trap.message}")
            out.append(words)
        out.append(["!done"] + ([f"=ret={reply.ret}"] if reply.ret is not None else []))
        return out


def _tagged(words: list[str], tag: str) -> list[str]:
    return [words[0], f".tag={tag}", *words[1:]] if tag else words


class _Listen:
    """One running `listen`: woken by the device's watchers, it sends the rows of its menu that changed since it
    last looked (columns that move with time alone, such as a lease's expires-after, do not count)."""

    def __init__(self, server: RouterOSServer, conn: _Conn, tag: str, menu: str, proplist: str | None):
        self.server, self.conn, self.tag, self.menu, self.proplist = server, conn, tag, menu, proplist
        self.event = threading.Event()
        self.stopped = threading.Event()
        volatile = getattr(server.handler, "volatile", lambda menu: ())
        self.volatile = set(volatile(menu))
        self.seen = {r[".id"]: self._key(r) for r in self._rows()}
        self.thread = threading.Thread(target=self._run, daemon=True, name=f"{server.name}-listen{tag}")

    def _rows(self) -> list[dict[str, str]]:
        with self.server.handler_lock:
            return self.server.handler.rows(self.menu)

    def _key(self, row: dict[str, str]) -> tuple:
        return tuple(sorted((k, v) for k, v in row.items() if k not in self.volatile))

    def wake(self) -> None:
        self.event.set()

    def start(self) -> None:
        self.server.handler.watchers.append(self.wake)
        self.thread.start()

    def stop(self) -> None:
        self.stopped.set()
        self.event.set()
        try:
            self.server.handler.watchers.remove(self.wake)
        except ValueError:
            pass

    def _run(self) -> None:
        dead = "true" if self.server._version >= (7,) else "yes"
        while not self.stopped.is_set() and not self.server._stopping.is_set():
            if not self.event.wait(_POLL):
                continue
            self.event.clear()
            if self.stopped.is_set():
                return
            try:
                rows = self._rows()
            except Exception:  # the device failed: end quietly, the connection goes on
                log.exception("%s: listen on %s failed", self.server.name, self.menu)
                return
            now = {r[".id"]: r for r in rows}
            out = []
            for ident, row in now.items():
                key = self._key(row)
                if self.seen.get(ident) != key:
                    self.seen[ident] = key
                    out.append(["!re", *(f"={k}={v}" for k, v in apply_proplist([row], self.proplist)[0].items())])
            for ident in [i for i in self.seen if i not in now]:
                del self.seen[ident]
                out.append(["!re", f"=.id={ident}", f"=.dead={dead}"])
            if out and not self.stopped.is_set():
                self.server._send(self.conn, [_tagged(s, self.tag) for s in out])


def _shutdown(sock: socket.socket, how: int) -> None:
    # socket.socket.shutdown, not SSLSocket.shutdown: the latter also drops the TLS state under a
    # thread that may be reading; we only want the kernel to end the stream.
    try:
        socket.socket.shutdown(sock, how)
    except (OSError, ValueError):
        pass
