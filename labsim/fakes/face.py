"""The one server base of every TCP face: the RouterOS API, the Proxmox VE API, the Kubernetes API servers, the
tools' control API and the SSH hosts.

What every face inherits, so one slow, idle or hostile client never stalls another:

- bind: loopback addresses only (IPv4 or IPv6), port 0 picks one; plain and TLS listeners side by side;
- a selector loop that accepts, runs each TLS handshake without blocking (negotiation never holds the
  accept loop or a thread), and watches idle connections; a connection costs a thread only while it has
  input to serve (a request, a sentence), from a pool that shrinks back when the work is done;
- limits (`Limits`): a new connection must finish its handshake and send its first bytes within
  `handshake_timeout`; an idle connection is closed after `idle_timeout`; at `max_connections` the face
  stops accepting (new clients wait in the kernel's backlog, as pveproxy does at its max_conn); HTTP faces
  bound the request head (`max_header_bytes`, `header_timeout`) and the body, chunked included
  (`max_body_bytes`, `body_timeout`); stream faces bound what a client may send before it logs in
  (`max_pending_bytes`);
- stop: at once (a wake-up socket, no polling interval), closing every connection and waking every worker;
  everything a connection held is released when its client goes away.

HTTP faces (`HttpFace`) answer with a `BaseHTTPRequestHandler` subclass per connection (`HttpHandler`), which
reads one request at a time within the limits and asks the face how its real system words protocol errors
(`protocol_error`); `HttpFaults` is the fault registry they share ("answer this path with that status").
"""
from __future__ import annotations

import io
import ipaddress
import logging
import re
import select
import selectors
import socket
import ssl
import threading
import time
from collections import deque
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler
from socketserver import _SocketWriter  # type: ignore[attr-defined]
from typing import Any, Self

log = logging.getLogger(__name__)

WORKER_LINGER = 2.0        # an idle worker thread waits this long for more work, then ends


@dataclass(frozen=True)
class Limits:
    handshake_timeout: float = 10.0      # TLS handshake and a new connection's first bytes
    idle_timeout: float = 90.0           # between requests / sentences
    header_timeout: float = 30.0         # an HTTP request head, from its first byte
    body_timeout: float = 60.0           # an HTTP request body, from the end of its head
    write_timeout: float = 60.0          # one send to a client that does not read
    max_connections: int = 512
    max_header_bytes: int = 1 << 20
    max_body_bytes: int = 3 << 20
    max_pending_bytes: int = 64 << 10    # stream faces: input held for a client not logged in yet

    def but(self, **changes: Any) -> Limits:
        return replace(self, **changes)


class Connection:
    """One client connection. `data` is the face's per-connection state (an HTTP handler, a RouterOS session)."""

    def __init__(self, face: Face, sock: socket.socket, peer: Any, tls: bool):
        self.face, self.sock, self.peer, self.tls = face, sock, peer, tls
        self.handshaking = tls
        self.deadline = time.monotonic() + face.limits.handshake_timeout
        self.read_deadline: float | None = None    # HTTP: the head's and the body's total time
        self.data: Any = None
        self.busy = False                          # a worker is serving it
        self.closed = False

    def pending(self) -> bool:
        """Input already decrypted inside the TLS layer (the selector cannot see it)."""
        return self.tls and not self.handshaking and isinstance(self.sock, ssl.SSLSocket) and self.sock.pending() > 0


_LISTENER, _WAKE = object(), object()


class Face:
    """A TCP server on loopback. Subclasses implement `ready(conn)` (and may implement `opened`, `closed`)."""

    limits = Limits()

    def __init__(self, name: str, *, host: str = "127.0.0.1", port: int = 0, tls: ssl.SSLContext | None = None,
                 limits: Limits | None = None, kind: str = "fake"):
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            ip = None
        if ip is None or not ip.is_loopback:
            raise ValueError(f"the {kind} binds loopback addresses only, not {host!r}")
        self.name, self.host, self.port, self.tls = name, host, port, tls
        if limits is not None:
            self.limits = limits
        self._listeners: list[tuple[socket.socket, ssl.SSLContext | None]] = []
        # (port, TLS context or None) per listening socket; a face may set it before `start` (RouterOS: api and api-ssl)
        self.listeners: list[tuple[int, ssl.SSLContext | None]] = [(port, tls)]
        self._sel: selectors.BaseSelector | None = None
        self._wake_r: socket.socket | None = None
        self._wake_w: socket.socket | None = None
        self._loop: threading.Thread | None = None
        self._lock = threading.Lock()
        self._conns: set[Connection] = set()
        self._back: deque[Connection] = deque()     # connections workers hand back to the loop
        self._stopping = threading.Event()
        self._paused = False
        self._work: deque[Connection] = deque()
        self._work_ready = threading.Condition(self._lock)
        self._workers: set[threading.Thread] = set()
        self._idle_workers = 0
        self.accepted = 0

    # --- lifecycle ------------------------------------------------------------------------------------------
    def start(self) -> Self:
        if self._loop is not None:
            raise RuntimeError(f"{self.name}: already started")
        self._stopping.clear()
        family = socket.AF_INET6 if ipaddress.ip_address(self.host).version == 6 else socket.AF_INET
        self._sel = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._sel.register(self._wake_r, selectors.EVENT_READ, _WAKE)
        for i, (port, tls) in enumerate(self.listeners):
            lsock = socket.socket(family, socket.SOCK_STREAM)
            lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            lsock.bind((self.host, port))
            lsock.listen(128)
            lsock.setblocking(False)
            self._listeners.append((lsock, tls))
            self._sel.register(lsock, selectors.EVENT_READ, (_LISTENER, tls))
            if i == 0:
                self.port = lsock.getsockname()[1]
        self._bound = self.bound_ports()
        self._loop = threading.Thread(target=self._face_run, name=f"face:{self.name}", daemon=True)
        self._loop.start()
        return self

    def revive(self) -> Self:
        """Listen again on the ports this face had, after a lab checkpoint (labsim/fakes/checkpoint.py) copied it
        without its sockets, threads and connections: its state, TLS context and URL are the copy's."""
        bound = getattr(self, "_bound", None)
        if bound is None:
            return self          # never started: nothing to bring back
        self._listeners, self._conns, self._back, self._work, self._workers = [], set(), deque(), deque(), set()
        self._idle_workers, self._paused = 0, False
        self._sel = self._wake_r = self._wake_w = self._loop = None
        self._stopping = threading.Event()
        self._work_ready = threading.Condition(self._lock)
        self.listeners = [(port, tls) for port, (_, tls) in zip(bound, self.listeners)]
        Face.start(self)     # the base's: a subclass's start would issue new certificates
        return self

    def bound_ports(self) -> list[int]:
        return [lsock.getsockname()[1] for lsock, _ in self._listeners]

    def stop(self) -> None:
        """Stop now: no new connections, every open one closed, every worker woken and joined (bounded)."""
        if self._loop is None:
            return
        self._stopping.set()
        self._face_wake()
        self._loop.join(timeout=5)
        self._loop = None
        with self._lock:
            conns = list(self._conns)
            self._work.clear()
            self._work_ready.notify_all()
        for conn in conns:
            self._face_close(conn)
        deadline = time.monotonic() + 5
        for t in list(self._workers):
            t.join(timeout=max(0.0, deadline - time.monotonic()))
        for lsock, _ in self._listeners:
            lsock.close()
        self._listeners = []
        for s in (self._wake_r, self._wake_w):
            if s is not None:
                s.close()
        if self._sel is not None:
            self._sel.close()
        self._sel = self._wake_r = self._wake_w = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    @property
    def connections(self) -> int:
        with self._lock:
            return len(self._conns)

    @property
    def threads(self) -> int:
        """Worker threads alive now (0 when no client has input being served)."""
        with self._lock:
            return len(self._workers)

    # --- hooks ----------------------------------------------------------------------------------------------
    def accept(self, sock: socket.socket, peer: Any, tls: ssl.SSLContext | None) -> Connection | None:
        """A client connected (under `max_connections`). The default manages it; SSH takes it over instead."""
        conn = Connection(self, sock, peer, tls is not None)
        if tls is not None:
            conn.sock = tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return conn

    def opened(self, conn: Connection) -> None:
        """The connection is ready for its first input (TLS done): set `conn.data`."""

    def ready(self, conn: Connection) -> bool:
        """In a worker thread: `conn` has input. Serve it; True keeps the connection (back to idle)."""
        raise NotImplementedError

    def closed(self, conn: Connection) -> None:
        """The connection is gone: release what it held."""

    def tick(self) -> None:
        """Called by the loop at least once a second (SSH prunes its transports here)."""

    def idle_deadline(self, conn: Connection) -> float:
        """When a connection handed back to the loop is closed if nothing arrives."""
        return time.monotonic() + self.limits.idle_timeout

    def live_connections(self) -> int:
        with self._lock:
            return len(self._conns)

    # --- the loop -------------------------------------------------------------------------------------------
    def _face_wake(self) -> None:
        try:
            if self._wake_w is not None:
                self._wake_w.send(b"x")
        except OSError:
            pass

    def _face_run(self) -> None:
        sel = self._sel
        assert sel is not None
        while not self._stopping.is_set():
            timeout = self._face_next_deadline()
            try:
                events = sel.select(timeout)
            except (OSError, ValueError):
                if self._stopping.is_set():
                    return
                continue
            for key, _ in events:
                if key.data is _WAKE:
                    try:
                        while self._wake_r.recv(4096):   # type: ignore[union-attr]
                            pass
                    except (BlockingIOError, OSError):
                        pass
                elif isinstance(key.data, tuple) and key.data[0] is _LISTENER:
                    self._face_accept_all(key.fileobj, key.data[1])   # type: ignore[arg-type]
                else:
                    self._face_readable(key.data)
            self._face_take_back()
            self._face_expire()
            try:
                self.tick()
            except Exception:  # noqa: BLE001
                log.exception("%s: periodic work failed", self.name)

    def _face_next_deadline(self) -> float:
        with self._lock:
            deadlines = [c.deadline for c in self._conns if not c.busy]
        if not deadlines:
            return 1.0
        return max(0.0, min(1.0, min(deadlines) - time.monotonic()))

    def _face_accept_all(self, lsock: socket.socket, tls: ssl.SSLContext | None) -> None:
        while not self._stopping.is_set():
            if self.live_connections() >= self.limits.max_connections:
                self._face_pause()
                return
            try:
                sock, peer = lsock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            self.accepted += 1
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)   # no delayed-ACK stalls
                sock.setblocking(False)
                conn = self.accept(sock, peer, tls)
            except (OSError, ValueError):
                sock.close()
                continue
            if conn is None:
                continue
            with self._lock:
                self._conns.add(conn)
            if not conn.handshaking:
                self._face_opened(conn)
            if not conn.closed:
                self._face_watch(conn)

    def _face_pause(self) -> None:
        """At max_connections: stop accepting until a connection closes (clients wait in the backlog)."""
        if self._paused or self._sel is None:
            return
        self._paused = True
        for lsock, _ in self._listeners:
            try:
                self._sel.unregister(lsock)
            except (KeyError, ValueError):
                pass

    def _face_resume(self) -> None:
        if not self._paused or self._sel is None or self._stopping.is_set():
            return
        self._paused = False
        for lsock, tls in self._listeners:
            try:
                self._sel.register(lsock, selectors.EVENT_READ, (_LISTENER, tls))
            except (KeyError, ValueError, OSError):
                pass

    def _face_opened(self, conn: Connection) -> None:
        try:
            self.opened(conn)
        except Exception:  # noqa: BLE001 - a simulator bug must cost one connection, not the face
            log.exception("%s: setting up a connection failed", self.name)
            self._face_close(conn)

    def _face_watch(self, conn: Connection, events: int = selectors.EVENT_READ) -> None:
        if self._sel is None or conn.closed:
            return
        try:
            self._sel.register(conn.sock, events, conn)
        except KeyError:
            self._sel.modify(conn.sock, events, conn)
        except (ValueError, OSError):
            self._face_close(conn)

    def _face_unwatch(self, conn: Connection) -> None:
        if self._sel is None:
            return
        try:
            self._sel.unregister(conn.sock)
        except (KeyError, ValueError, OSError):
            pass

    def _face_readable(self, conn: Connection) -> None:
        if conn.closed:
            return
        if conn.handshaking:
            try:
                conn.sock.do_handshake()   # type: ignore[union-attr]
            except ssl.SSLWantReadError:
                return self._face_watch(conn, selectors.EVENT_READ)
            except ssl.SSLWantWriteError:
                return self._face_watch(conn, selectors.EVENT_WRITE)
            except (OSError, ValueError) as exc:   # not TLS, a bad certificate, a client gone
                log.debug("%s: TLS handshake with %s failed: %s", self.name, conn.peer, exc)
                self._face_unwatch(conn)
                return self._face_close(conn)
            conn.handshaking = False
            self._face_opened(conn)
            if conn.closed:
                return
            if not conn.pending():
                return self._face_watch(conn, selectors.EVENT_READ)
        self._face_unwatch(conn)
        self._face_dispatch(conn)

    def _face_expire(self) -> None:
        now = time.monotonic()
        with self._lock:
            late = [c for c in self._conns if not c.busy and not c.closed and c.deadline <= now]
        for conn in late:
            if not conn.handshaking and _readable_now(conn.sock):
                # A request that arrived as the idle time ran out is served, not cut off: a keep-alive client
                # that checked the connection a moment ago would otherwise lose it to the race.
                self._face_readable(conn)
                continue
            self._face_unwatch(conn)
            self._face_close(conn)

    def _face_take_back(self) -> None:
        while True:
            with self._lock:
                if not self._back:
                    break
                conn = self._back.popleft()
            if conn.closed:
                continue
            if conn.pending():
                self._face_dispatch(conn)
            else:
                self._face_watch(conn)
        if self._paused and self.live_connections() < self.limits.max_connections:
            self._face_resume()

    # --- workers --------------------------------------------------------------------------------------------
    def _face_dispatch(self, conn: Connection) -> None:
        conn.busy = True
        with self._lock:
            self._work.append(conn)
            if self._idle_workers >= len(self._work):   # one of the waiting workers takes it
                self._work_ready.notify()
                return
            t = threading.Thread(target=self._face_worker, name=f"face:{self.name}:worker", daemon=True)
            self._workers.add(t)
        t.start()

    def _face_worker(self) -> None:
        me = threading.current_thread()
        try:
            while True:
                with self._lock:
                    while not self._work and not self._stopping.is_set():
                        self._idle_workers += 1
                        woke = self._work_ready.wait(WORKER_LINGER)
                        self._idle_workers -= 1
                        if not woke and not self._work:
                            return
                    if self._stopping.is_set() or not self._work:
                        return
                    conn = self._work.popleft()
                self._face_serve(conn)
        finally:
            with self._lock:
                self._workers.discard(me)

    def _face_serve(self, conn: Connection) -> None:
        keep = False
        try:
            conn.sock.settimeout(self.limits.write_timeout)
            keep = self.ready(conn)
        except (OSError, ValueError, EOFError):   # the client went away, timed out, or sent what cannot be read
            keep = False
        except Exception:  # noqa: BLE001 - a simulator bug: logged, costs this connection only
            log.exception("%s: serving %s failed", self.name, conn.peer)
            keep = False
        conn.busy = False
        if not keep or self._stopping.is_set() or conn.closed:
            self._face_close(conn)
            self._face_wake()   # the loop may resume accepting
            return
        try:   # blocking with a timeout while idle too: a face may write to it from another thread (listen)
            conn.sock.settimeout(self.limits.write_timeout)
        except OSError:
            self._face_close(conn)
            return
        conn.deadline = self.idle_deadline(conn)
        with self._lock:
            self._back.append(conn)
        self._face_wake()

    def _face_close(self, conn: Connection) -> None:
        with self._lock:
            if conn.closed:
                return
            conn.closed = True
            self._conns.discard(conn)
        try:
            socket.socket.shutdown(conn.sock, socket.SHUT_RDWR)   # wakes a worker blocked on it
        except (OSError, ValueError):
            pass
        try:
            conn.sock.close()
        except OSError:
            pass
        try:
            self.closed(conn)
        except Exception:  # noqa: BLE001
            log.exception("%s: releasing a connection failed", self.name)


def _readable_now(sock: socket.socket) -> bool:
    try:
        return bool(select.select([sock], [], [], 0)[0])
    except (OSError, ValueError):
        return False


# --- HTTP ---------------------------------------------------------------------------------------------------

class BadRequest(Exception):
    """A request the HTTP layer refuses before the face sees it. `reason` names the kind (the face words it)."""

    def __init__(self, status: int, reason: str, detail: str = ""):
        super().__init__(detail or reason)
        self.status, self.reason, self.detail = status, reason, detail


class _DeadlineReader(io.RawIOBase):
    """The socket, read under the connection's total deadline (a client trickling bytes gets no extra time)."""

    def __init__(self, conn: Connection):
        self.conn = conn

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:   # type: ignore[override]
        deadline = self.conn.read_deadline
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("request not received in time")
            self.conn.sock.settimeout(left)
        return self.conn.sock.recv_into(b)


_CHUNK_SIZE = re.compile(rb"([0-9A-Fa-f]{1,16})(?:;[^\r\n]*)?\r?\n")


class HttpHandler(BaseHTTPRequestHandler):
    """One per connection; serves one request per `serve_one()`. Subclasses implement `do_<METHOD>`.

    `read_body()` returns the request body within the face's limits (Content-Length or chunked), raising
    `BadRequest`; a body the handler leaves unread closes the connection after the answer.
    """

    protocol_version = "HTTP/1.1"
    default_request_version = "HTTP/1.0"   # what an error before the version is known is answered in
    face: HttpFace

    def __init__(self, conn: Connection, face: HttpFace):   # noqa: D107 - not BaseRequestHandler's: no handle() here
        self.conn, self.face, self.server = conn, face, face   # type: ignore[assignment]
        self.request = self.connection = conn.sock
        self.client_address = conn.peer
        self.rfile = io.BufferedReader(_DeadlineReader(conn), 65536)
        self.wfile = _SocketWriter(conn.sock)
        self.close_connection = True
        self.body_pending = False
        self._continue = False
        self.head_lines: list[bytes] = []
        self.refused = False

    def log_message(self, format: str, *args: Any) -> None:
        pass

    # --- one request ----------------------------------------------------------------------------------------
    def serve_one(self) -> bool:
        """Read and answer one request. True: the connection may carry another."""
        limits = self.face.limits
        self.close_connection = True
        self._continue = False
        # as handle_one_request resets them: an error answered before the request line parses needs them
        self.requestline, self.command, self.path, self.request_version = "", "", "", "HTTP/1.0"
        self.conn.read_deadline = time.monotonic() + limits.header_timeout
        self.refused = False
        try:
            if not self._read_head():
                return False
        except BadRequest as bad:
            if not self.request_version.startswith("HTTP/1."):
                self.request_version = "HTTP/1.0"   # answered as HTTP/1.0 (0.9 would get no status line)
            self.face.protocol_error(self, bad)
            self.refused = True
            return False
        self.conn.read_deadline = time.monotonic() + limits.body_timeout
        method = getattr(self, f"do_{self.command}", None)
        if method is None:
            self.face.protocol_error(self, BadRequest(501, "method", self.command))
            return False
        try:
            method()
        finally:
            self.conn.read_deadline = None
        self.wfile.flush()
        if self.body_pending:
            self.close_connection = True   # the body was not read: the next request cannot be found
        return not self.close_connection

    def _read_head(self) -> bool:
        limit = self.face.limits.max_header_bytes
        lines: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(limit - total + 1)
            if not line:
                return False        # EOF: between requests that is a goodbye, mid-head there is no one to tell
            total += len(line)
            if total > limit:
                raise BadRequest(431, "header-too-large")
            if not lines and line in (b"\r\n", b"\n"):
                continue            # blank lines before a request line are tolerated (RFC 9112 2.2)
            lines.append(line)
            if line in (b"\r\n", b"\n"):
                break
            if not line.endswith(b"\n"):
                raise BadRequest(431, "header-too-large")
        self.raw_requestline = lines[0]
        self.head_lines = lines[1:-1]
        socket_file, self.rfile = self.rfile, io.BytesIO(b"".join(lines[1:]))   # type: ignore[assignment]
        self._refused: BadRequest | None = None
        try:
            ok = self.parse_request()
        finally:
            self.rfile = socket_file
        if self._refused is not None:
            raise self._refused
        if not ok or len(self.requestline.split()) != 3:   # no HTTP/0.9 simple requests
            raise BadRequest(400, "request-line", lines[0][:80].decode("latin-1").strip())
        if not self.request_version.startswith("HTTP/1."):
            raise BadRequest(505, "version", self.request_version)
        self.face.check_head(self)
        self._check_framing()
        return True

    def handle_expect_100(self) -> bool:
        """Send `100 Continue` only when the body is read (as Go does): a refused request never asks for it."""
        self._continue = True
        return True

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """parse_request's complaints become BadRequest: the face words them as its real system does."""
        kind = {400: "request-line", 431: "header-too-large", 505: "version", 417: "expect"}.get(code, "request-line")
        if message and "header" in message.lower() and code == 400:
            kind = "header-line"
        self._refused = BadRequest(code, kind, message or "")

    def _check_framing(self) -> None:
        te = (self.headers.get("Transfer-Encoding") or "").strip().lower()
        lengths = self.headers.get_all("Content-Length") or []
        if te:
            if te != "chunked":
                raise BadRequest(501, "transfer-encoding", te)
            self.body_pending = True
            return
        if len(set(v.strip() for v in lengths)) > 1:
            raise BadRequest(400, "content-length", ", ".join(lengths))
        if lengths:
            value = lengths[0].strip()
            if not value.isdigit() or not value.isascii():
                raise BadRequest(400, "content-length", value)
            self.body_pending = int(value) > 0
        else:
            self.body_pending = False

    def content_length(self) -> int:
        return int((self.headers.get("Content-Length") or "0").strip() or 0)

    def chunked(self) -> bool:
        return (self.headers.get("Transfer-Encoding") or "").strip().lower() == "chunked"

    def read_body(self, limit: int | None = None) -> bytes:
        """The body, at most `limit` (default the face's `max_body_bytes`) bytes, chunked or not."""
        limit = self.face.limits.max_body_bytes if limit is None else limit
        if not self.body_pending:
            return b""
        if not self.chunked() and self.content_length() > limit:
            raise BadRequest(413, "body-too-large", str(limit))
        if self._continue:
            self._continue = False
            self.wfile.write(f"{self.protocol_version} 100 Continue\r\n\r\n".encode())
        if self.chunked():
            body = self._read_chunked(limit)
        else:
            n = self.content_length()
            if n > limit:
                raise BadRequest(413, "body-too-large", str(limit))
            body = self.rfile.read(n)
            if len(body) < n:
                raise EOFError("the client sent less than its Content-Length")
        self.body_pending = False
        return body

    def _read_chunked(self, limit: int) -> bytes:
        out = bytearray()
        while True:
            line = self.rfile.readline(1026)
            m = _CHUNK_SIZE.fullmatch(line)
            if not m:
                if not line:
                    raise EOFError("the client went away in a chunked body")
                raise BadRequest(400, "chunk", line[:40].decode("latin-1"))
            size = int(m.group(1), 16)
            if size == 0:
                break
            if len(out) + size > limit:
                raise BadRequest(413, "body-too-large", str(limit))
            data = self.rfile.read(size)
            if len(data) < size:
                raise EOFError("the client went away in a chunked body")
            out += data
            if self.rfile.readline(3) not in (b"\r\n", b"\n"):
                raise BadRequest(400, "chunk", "no CRLF after chunk data")
        while True:   # trailers, bounded like the head
            line = self.rfile.readline(8192)
            if line in (b"\r\n", b"\n"):
                return bytes(out)
            if not line:
                raise EOFError("the client went away in a chunked body")
            if not line.endswith(b"\n"):
                raise BadRequest(431, "header-too-large")

    def client_gone(self) -> bool:
        """For streams: the face is stopping, or the client hung up (a streaming client sends nothing more,
        so anything readable, EOF included, means it is done)."""
        if self.face.stopping:
            return True
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(readable)


class HttpFace(Face):
    """A face that speaks HTTP/1.x through `handler_class` (an `HttpHandler` subclass)."""

    handler_class: type[HttpHandler] = HttpHandler

    def opened(self, conn: Connection) -> None:
        conn.data = self.handler_class(conn, self)

    def ready(self, conn: Connection) -> bool:
        handler: HttpHandler = conn.data
        while True:
            try:
                keep = handler.serve_one()
            except BadRequest as bad:   # raised by read_body inside a do_X that did not answer it
                self.protocol_error(handler, bad)
                keep, handler.body_pending = False, True
            if not keep:
                if handler.body_pending or handler.refused:
                    linger(conn.sock)
                return False
            if self.stopping or not self._buffered(handler):
                return True

    @staticmethod
    def _buffered(handler: HttpHandler) -> bool:
        """A pipelined request already read into the buffer (the selector would not see it)."""
        sock = handler.connection
        try:
            sock.settimeout(0)
            return bool(handler.rfile.peek(1))
        except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError, TimeoutError, OSError, ValueError):
            return False
        finally:
            try:
                sock.settimeout(handler.face.limits.write_timeout)
            except OSError:
                pass

    def check_head(self, handler: HttpHandler) -> None:
        """After the head is parsed, before the handler: raise BadRequest to refuse the request here."""

    def protocol_error(self, handler: HttpHandler, bad: BadRequest) -> None:
        """Answer a request the HTTP layer refused, as Go's net/http does (kube-apiserver, talos): plain text,
        `Connection: close`. Faces of other systems override this with their real server's words."""
        status = {431: "431 Request Header Fields Too Large", 501: "501 Not Implemented",
                  413: "413 Request Entity Too Large",
                  505: "505 HTTP Version Not Supported: unsupported protocol version"}.get(bad.status, "400 Bad Request")
        if bad.reason == "go":       # Go's badRequestError: the reason follows the status, in both places
            status = f"400 Bad Request: {bad.detail}"
        body = {"transfer-encoding": "Unsupported transfer encoding"}.get(bad.reason, status)
        send_raw(handler, status, body)


LINGER_TIME, LINGER_BYTES = 0.5, 4 << 20


def linger(sock: socket.socket) -> None:
    """Close our side after an answer the client may still be sending into: FIN first, then read and drop what
    arrives for a moment, so the kernel does not answer unread bytes with a reset that destroys our answer
    before the client reads it (Go's closeWriteAndWait, rstAvoidanceDelay 500 ms)."""
    try:
        socket.socket.shutdown(sock, socket.SHUT_WR)
        deadline, dropped = time.monotonic() + LINGER_TIME, 0
        while dropped < LINGER_BYTES:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            sock.settimeout(left)
            data = sock.recv(65536)
            if not data:
                return
            dropped += len(data)
    except (OSError, ValueError):
        pass


def send_raw(handler: HttpHandler, status_line: str, body: str, content_type: str = "text/plain; charset=utf-8",
             headers: tuple[tuple[str, str], ...] = ()) -> None:
    """An answer written as bytes, then the connection closed (for requests that could not be parsed)."""
    data = body.encode()
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers)
    head = (f"HTTP/1.1 {status_line}\r\nContent-Type: {content_type}\r\nConnection: close\r\n"
            f"Content-Length: {len(data)}\r\n{extra}\r\n")
    handler.close_connection = True
    try:
        handler.connection.sendall(head.encode("latin-1") + data)
    except OSError:
        pass


# --- fault injection ----------------------------------------------------------------------------------------

@dataclass
class HttpFault:
    pattern: re.Pattern[str]
    status: int
    message: str
    method: str | None
    times: int | None      # None: every time


@dataclass
class HttpFaults:
    """Answer requests whose path matches a pattern (re.search) with a status, `times` times (None: always)."""

    http: list[HttpFault] = field(default_factory=list)
    triggered: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, pattern: str, status: int, message: str, *, method: str | None = None,
            times: int | None = 1) -> HttpFault:
        fault = HttpFault(re.compile(pattern), int(status), message, method.upper() if method else None, times)
        with self._lock:
            self.http.append(fault)
        return fault

    def remove(self, fault: HttpFault) -> None:
        with self._lock:
            if fault in self.http:
                self.http.remove(fault)

    def take(self, method: str, path: str) -> HttpFault | None:
        with self._lock:
            for f in self.http:
                if (f.method and f.method != method) or not f.pattern.search(path):
                    continue
                if f.times is not None:
                    f.times -= 1
                    if f.times <= 0:
                        self.http.remove(f)
                self.triggered.append(f"http {method} {path}: {f.status} {f.message}")
                return f
        return None

    def clear(self) -> None:
        with self._lock:
            self.http.clear()

