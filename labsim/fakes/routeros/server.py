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
- `print =count-only=`: `!done =ret=N`, N the rows the queries select (MikroTik API manual).
- `listen` and `/cancel` (MikroTik API manual, "/cancel, simultaneous commands"): a listen answers nothing at
  first, then one `!re` (tagged like the listen) each time a row of its menu changes, `=.dead=` for a row that is
  gone (the manual's /user/active/listen example; printed as the device prints booleans); the connection goes on
  taking commands meanwhile. `/cancel =tag=X` ends it: `!trap =category=2 =message=interrupted` tagged X, the
  cancel's own `!done`, then X's `!done`; `/cancel` without a tag ends every running command of the connection.
  Cancelling a tag that runs nothing answers a plain `!done` (UNVERIFIED).
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
from typing import Self

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
_POLL = 0.5          # socket timeout: the longest a thread goes without looking at the stop flag
_DRAIN = 1.0         # after we hang up, how long we keep reading (and dropping) what the client still sends
_HANDSHAKE = 5.0     # TLS handshake budget
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
    def __init__(self, sock: socket.socket, peer: tuple, tls: bool, number: int):
        self.sock = sock
        self.peer = peer
        self.tls = tls
        self.number = number
        self.logged_in = False
        self.challenge: str | None = None
        self.count = 0  # command sentences received on this connection
        self.thread: threading.Thread | None = None
        self.send_lock = threading.Lock()            # the connection thread and its listens both write
        self.listens: dict[str, _Listen] = {}        # running listen commands by tag


class RouterOSServer:
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
        self.handler = handler
        self.username, self.password, self.login = username, password, login
        self.version = version
        self._version = parse_version(version)
        self.host, self.port = host, port
        self.tls, self.tls_port = tls, tls_port
        self.name = name or f"routeros@{host}"
        self.faults = FaultPlan()
        # Calls into the handler are serialised: a router applies one change at a time, and the menu
        # engine need not be thread-safe. Replace with a shared lock if several servers share a world.
        self.handler_lock = threading.RLock()
        self.handler_errors: list[BaseException] = []  # exceptions raised by the handler (a simulator bug)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._listeners: list[socket.socket] = []
        self._accept_threads: list[threading.Thread] = []
        self._conns: set[_Conn] = set()
        self._threads: list[threading.Thread] = []
        self._sentences = 0
        self._numbers = 0

    # ------------------------------------------------------------ public surface

    @property
    def sentences_received(self) -> int:
        with self._lock:
            return self._sentences

    @property
    def connections(self) -> int:
        with self._lock:
            return len(self._conns)

    def start(self) -> Self:
        if self._listeners:
            raise RuntimeError("server already started")
        self._stopping.clear()
        self.port = self._listen(self.port, tls=False)
        if self.tls is not None:
            self.tls_port = self._listen(self.tls_port, tls=True)
        return self

    def stop(self) -> None:
        self._stopping.set()
        for lsock in self._listeners:  # wake accept() now rather than at its next poll
            try:
                socket.create_connection(lsock.getsockname(), timeout=0.2).close()
            except OSError:
                pass
        for t in self._accept_threads:
            t.join(timeout=2)
        for lsock in self._listeners:
            lsock.close()
        self._listeners, self._accept_threads = [], []
        with self._lock:
            live = list(self._conns)
            threads = list(self._threads)
        for conn in live:
            _shutdown(conn.sock, socket.SHUT_RDWR)  # wakes the thread's recv at once
        for t in threads:
            t.join(timeout=2)
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()]

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<RouterOSServer {self.name} {self.host}:{self.port} v{self.version} {self.login}>"

    # ------------------------------------------------------------ sockets and threads

    def _listen(self, port: int, *, tls: bool) -> int:
        lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        lsock.bind((self.host, port))
        lsock.listen(64)
        lsock.settimeout(0.1)  # accept polls the stop flag
        self._listeners.append(lsock)
        t = threading.Thread(target=self._accept_loop, args=(lsock, tls), daemon=True,
                             name=f"{self.name}-accept{'-tls' if tls else ''}")
        self._accept_threads.append(t)
        t.start()
        return lsock.getsockname()[1]

    def _accept_loop(self, lsock: socket.socket, tls: bool) -> None:
        while not self._stopping.is_set():
            try:
                sock, peer = lsock.accept()
            except TimeoutError:
                continue
            except OSError:
                if self._stopping.wait(0.05):
                    return
                continue
            sock.settimeout(_POLL)
            with self._lock:
                if self._stopping.is_set():
                    sock.close()
                    return
                self._numbers += 1
                conn = _Conn(sock, peer, tls, self._numbers)
                self._conns.add(conn)
                conn.thread = threading.Thread(target=self._serve, args=(conn,), daemon=True,
                                               name=f"{self.name}-conn{conn.number}")
                # Started under the lock: the pruning below (is_alive) runs in both accept loops and
                # must never drop a thread that exists but has not started yet.
                conn.thread.start()
                self._threads = [t for t in self._threads if t.is_alive()] + [conn.thread]

    def _serve(self, conn: _Conn) -> None:
        try:
            if conn.tls and not self._tls_handshake(conn):
                return
            n = self.faults.close_after_sentences
            if n is not None and n <= 0:
                self._hang_up(conn)
                return
            reader = SentenceReader()
            while not self._stopping.is_set():
                try:
                    data = conn.sock.recv(65536)
                except TimeoutError:
                    continue
                except (OSError, ValueError):
                    return
                if not data:
                    return  # client EOF (a cut-off sentence is simply dropped: there is no one to tell)
                try:
                    sentences = reader.feed(data)
                except ProtocolViolation as exc:
                    self._fatal(conn, f"protocol violation: {exc}")
                    return
                for words in sentences:
                    if words and not self._sentence(conn, words):
                        return
                if reader.broken is not None:
                    self._fatal(conn, f"protocol violation: {reader.broken}")
                    return
        except Exception:  # never let a connection thread die noisily; the socket is closed below
            log.exception("%s: connection %s failed", self.name, conn.number)
        finally:
            self._close(conn)

    def _tls_handshake(self, conn: _Conn) -> bool:
        try:
            tls_sock = self.tls.wrap_socket(conn.sock, server_side=True, do_handshake_on_connect=False)
            conn.sock = tls_sock
            if self._stopping.is_set():
                return False
            tls_sock.settimeout(_HANDSHAKE)
            tls_sock.do_handshake()
            tls_sock.settimeout(_POLL)
            return True
        except (OSError, ValueError) as exc:
            log.debug("%s: TLS handshake with %s failed: %s", self.name, conn.peer, exc)
            return False

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
        with self._lock:
            self._conns.discard(conn)
        _shutdown(conn.sock, socket.SHUT_WR)
        deadline = time.monotonic() + _DRAIN
        try:
            conn.sock.settimeout(0.1)
            while time.monotonic() < deadline and not self._stopping.is_set():
                try:
                    if not conn.sock.recv(65536):
                        break
                except TimeoutError:
                    continue
        except (OSError, ValueError):
            pass

    def _close(self, conn: _Conn) -> None:
        for listen in list(conn.listens.values()):
            listen.stop()
        conn.listens.clear()
        with self._lock:
            self._conns.discard(conn)
        try:
            conn.sock.close()
        except OSError:
            pass

    # ------------------------------------------------------------ one sentence

    def _sentence(self, conn: _Conn, words: list[str]) -> bool:
        """Answer one command sentence. Returns False when the connection must end."""
        conn.count += 1
        with self._lock:
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
