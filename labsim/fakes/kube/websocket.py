"""The server side of a WebSocket on an HTTP handler's connection, framed by `wsproto` (RFC 6455: the handshake,
masked client frames (an unmasked one closes the connection with 1002), ping/pong, close), with bounded
sizes: a message larger than MAX_MESSAGE closes the connection with 1009, as gorilla/websocket's read limit
does on the apiserver's side.

    ws = WebSocket.accept(handler, supported=["v5.channel.k8s.io", ...])   # None: the answer was an HTTP error
    ws.send(b"\\x01hello")        # a binary message
    msg = ws.recv(timeout=30)    # bytes, str, or None when the peer closed or went quiet
    ws.close()
"""
from __future__ import annotations

import socket
import ssl
from typing import Any

from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Message,
    Ping,
    RejectConnection,
    Request,
    TextMessage,
)
from wsproto.utilities import RemoteProtocolError

MAX_MESSAGE = 1 << 20          # bytes in one message from the client
READ_CHUNK = 64 * 1024


class WebSocket:
    def __init__(self, h: Any, conn: WSConnection, protocol: str | None):
        self.h, self.conn, self.protocol = h, conn, protocol
        self.closed = False
        self._pending: list[Any] = []
        self._partial: list[bytes | str] = []
        self._size = 0

    @classmethod
    def accept(cls, h: Any, supported: list[str] | set[str], *, choose: Any = None) -> WebSocket | None:
        """Complete the handshake on handler `h` (its request line and headers already read), choosing the
        first offered subprotocol in `supported` (or `choose(offered)`); None when the request was refused."""
        conn = WSConnection(ConnectionType.SERVER)
        raw = f"{h.requestline}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in h.headers.items()) + "\r\n"
        try:
            conn.receive_data(raw.encode("latin-1"))
            events = list(conn.events())
        except RemoteProtocolError as exc:
            _reject(h, 400, f"websocket handshake failed: {exc}")
            return None
        req = next((e for e in events if isinstance(e, Request)), None)
        if req is None:
            _reject(h, 400, "websocket handshake failed: incomplete request")
            return None
        offered = list(req.subprotocols)
        proto = choose(offered) if choose else next((p for p in offered if p in supported), None)
        if offered and proto is None:
            return cls._refuse(h, conn, offered, supported)
        h.wfile.write(conn.send(AcceptConnection(subprotocol=proto)))
        h.wfile.flush()
        return cls(h, conn, proto)

    @staticmethod
    def _refuse(h: Any, conn: WSConnection, offered: list[str], supported: Any) -> None:
        import json
        body = json.dumps({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                           "message": f"requested protocol(s) are not supported: {offered}; supports "
                                      f"{sorted(supported)}", "reason": "Forbidden", "code": 403}).encode()
        h.wfile.write(conn.send(RejectConnection(status_code=403, headers=[
            (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())], has_body=True)))
        from wsproto.events import RejectData
        h.wfile.write(conn.send(RejectData(data=body)))
        h.wfile.flush()
        return None

    # --- sending -----------------------------------------------------------------------------------------
    def send(self, data: bytes | str) -> None:
        if self.closed:
            return
        msg = TextMessage(data=data) if isinstance(data, str) else BytesMessage(data=data)
        self._write(self.conn.send(msg))

    def _write(self, data: bytes) -> None:
        try:
            self.h.wfile.write(data)
            self.h.wfile.flush()
        except (OSError, ValueError):
            self.closed = True

    # --- receiving ---------------------------------------------------------------------------------------
    def recv(self, timeout: float | None = None) -> bytes | str | None:
        """The next whole message; None when the peer closed, broke the protocol, or sent nothing in time."""
        try:
            self.h.connection.settimeout(timeout)
        except OSError:
            return None
        while True:
            while self._pending:
                ev = self._pending.pop(0)
                got = self._event(ev)
                if got is not None:
                    return got
                if self.closed:
                    return None
            if self.closed:
                return None
            try:
                data = self.h.rfile.read1(READ_CHUNK)
            except (TimeoutError, socket.timeout, ssl.SSLError, OSError, ValueError):
                return None
            if not data:
                self.closed = True
                return None
            try:
                self.conn.receive_data(data)
                self._pending.extend(self.conn.events())
            except RemoteProtocolError as exc:        # an unmasked frame, a bad opcode...
                self._close(exc.event_hint.code if getattr(exc, "event_hint", None) is not None
                            and hasattr(exc.event_hint, "code") else 1002, str(exc))
                return None

    def _event(self, ev: Any) -> bytes | str | None:
        if isinstance(ev, Ping):
            self._write(self.conn.send(ev.response()))
            return None
        if isinstance(ev, CloseConnection):
            try:
                self._write(self.conn.send(ev.response()))
            except Exception:   # noqa: BLE001 - already closing
                pass
            self.closed = True
            return None
        if isinstance(ev, Message):
            self._size += len(ev.data)
            if self._size > MAX_MESSAGE:
                self._close(1009, f"message larger than {MAX_MESSAGE} bytes")
                return None
            self._partial.append(ev.data)
            if not ev.message_finished:
                return None
            parts, self._partial, self._size = self._partial, [], 0
            return "".join(parts) if isinstance(ev, TextMessage) else b"".join(parts)  # type: ignore[arg-type]
        return None

    def _close(self, code: int, reason: str = "") -> None:
        if not self.closed:
            try:
                self._write(self.conn.send(CloseConnection(code=code, reason=reason[:100])))
            except Exception:   # noqa: BLE001 - the connection is already unusable
                pass
        self.closed = True

    def close(self, code: int = 1000, wait: float = 2.0) -> None:
        """Close (1000) and wait briefly for the client's close frame."""
        if self.closed:
            return
        self._write(self.conn.send(CloseConnection(code=code)))
        while not self.closed:
            if self.recv(timeout=wait) is None:
                break
        self.closed = True


def _reject(h: Any, code: int, message: str) -> None:
    import json
    body = json.dumps({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                       "message": message, "reason": "BadRequest", "code": code}).encode()
    h.send_response(code)
    h.send_header("Content-Type", "application/json")
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    h.wfile.write(body)
    h.wfile.flush()
