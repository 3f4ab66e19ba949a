"""`pods/portforward`: a client's TCP connections reach what the simulated pod serves (images.py: the echo
backends, hashicorp/http-echo, answer HTTP and log each request as the real server does).

Two transports, as the apiserver offers them:

- kubectl >= 1.31 (client-go tools/portforward/tunneling_dialer.go, KEP-4006): a WebSocket with subprotocol
  `SPDY/3.1+portforward.k8s.io` whose binary messages carry a SPDY/3.1 byte stream
  (staging/src/k8s.io/apimachinery/pkg/util/httpstream/wsstream, the apiserver's tunneling handler). Per
  forwarded connection the client opens two SPDY streams with headers `streamtype` (`error`, `data`), `port`
  and `requestid`; each is answered with SYN_REPLY; bytes flow as DATA frames; FIN closes a side. Frames and
  the zlib header compression with the SPDY/3 dictionary follow moby/spdystream's spdy package (types.go,
  read.go, write.go) and the SPDY/3 draft.
- `v4.channel.k8s.io` (and `v4.base64.channel.k8s.io`): `?ports=P[,Q]`, channel 2i carries port i's data and
  2i+1 its errors, each channel's first message is the port as two little-endian bytes
  (pkg/kubelet/cri/streaming/portforward/websocket.go): the `kubernetes` client's `portforward()`.

SPDY/3.1 without the WebSocket (`Upgrade: SPDY/3.1`, kubectl's fallback) is refused with a clear message.
A port nothing listens on gets the kubelet's error on the error stream
(`... dial tcp4 127.0.0.1:P: connect: connection refused`, [unv] beyond that text).
"""
from __future__ import annotations

import base64
import re
import struct
import zlib
from typing import Any
from urllib.parse import parse_qs, urlsplit

from labsim.fakes.kube import images
from labsim.fakes.kube.websocket import WebSocket

PATH = re.compile(r"^/api/v1/namespaces/([^/]+)/pods/([^/]+)/portforward/?$")
TUNNEL = "SPDY/3.1+portforward.k8s.io"
CHANNEL = {"v4.channel.k8s.io", "v4.base64.channel.k8s.io"}
IDLE = 300.0      # real seconds a forwarding session may stay silent

# SPDY/3 header compression dictionary (the draft's section 2.6.10.1; 1423 bytes, sha256 51d27341...7f02)
_WORDS = ("options head post put delete trace accept accept-charset accept-encoding accept-language accept-ranges "
          "age allow authorization cache-control connection content-base content-encoding content-language "
          "content-length content-location content-md5 content-range content-type date etag expect expires from "
          "host if-match if-modified-since if-none-match if-range if-unmodified-since last-modified location "
          "max-forwards pragma proxy-authenticate proxy-authorization range referer retry-after server te trailer "
          "transfer-encoding upgrade user-agent vary via warning www-authenticate method get status").split() + [
    "200 OK", "version", "HTTP/1.1", "url", "public", "set-cookie", "keep-alive", "origin"]
_TAIL = ("100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505"
         "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized"
         "403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable"
         "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT"
         "chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,"
         "text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.")
DICTIONARY = b"".join(struct.pack(">I", len(w)) + w.encode() for w in _WORDS) + _TAIL.encode()

SYN_STREAM, SYN_REPLY, RST_STREAM, SETTINGS, PING, GOAWAY, HEADERS, WINDOW_UPDATE = 1, 2, 3, 4, 6, 7, 8, 9
FLAG_FIN = 0x01


def is_portforward(path: str) -> bool:
    return bool(PATH.match(urlsplit(path).path))


# --- what the pod serves -------------------------------------------------------------------------------------
class Backend:
    """One forwarded connection to `port` of `pod`: bytes in, bytes out, as the container's server answers."""

    def __init__(self, cluster: Any, pod: dict[str, Any], port: int, peer_port: int):
        self.cluster, self.pod, self.port = cluster, pod, port
        self.peer = f"127.0.0.1:{peer_port}"
        self.buf = b""
        self.closed = False
        found = images.serves(pod, port)
        self.container = found[1] if found else None

    @property
    def refused(self) -> str | None:
        if self.container is not None:
            return None
        uid = self.pod["metadata"].get("uid", "")
        return (f"error forwarding port {self.port} to pod {uid.replace('-', '')}, uid : failed to execute "
                f"portforward in network namespace: failed to connect to localhost:{self.port} inside namespace, "
                f"IPv4: dial tcp4 127.0.0.1:{self.port}: connect: connection refused IPv6 dial tcp6 "
                f"[::1]:{self.port}: connect: connection refused ")

    def feed(self, data: bytes) -> bytes:
        """Answer every complete HTTP/1.1 request in the buffer (keep-alive; `Connection: close` ends it)."""
        self.buf += data
        out = b""
        while b"\r\n\r\n" in self.buf and not self.closed:
            head, rest = self.buf.split(b"\r\n\r\n", 1)
            m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
            n = int(m.group(1)) if m else 0
            if len(rest) < n:
                break
            request, self.buf = head + b"\r\n\r\n" + rest[:n], rest[n:]
            with self.cluster.lock:
                when = self.cluster.clock.utcnow()
            resp, log = images.http_echo(self.pod, self.container, request, when, self.peer)
            out += resp
            if log:
                md = self.pod["metadata"]
                self.cluster.append_log(md.get("namespace", ""), md["name"], self.container["name"], log)
            if re.search(rb"(?im)^connection:\s*close", head):
                self.closed = True
        return out


def _target(cluster: Any, ns: str, name: str) -> tuple[dict | None, dict | None]:
    from labsim.fakes.kube_exec import _status
    with cluster.lock:
        pod = cluster.try_get("pods", name, ns)
    if pod is None:
        return None, _status(404, "NotFound", f'pods "{name}" not found', {"name": name, "kind": "pods"})
    if not (pod.get("spec") or {}).get("nodeName"):
        return None, _status(400, "BadRequest", f"pod {name} does not have a host assigned")
    if (pod.get("status") or {}).get("phase") != "Running":
        return None, _status(400, "BadRequest", f"pod {name} is not running")
    return pod, None


def serve(h: Any, cluster: Any) -> None:
    from labsim.fakes.kube_exec import _http_error, _status
    h.close_connection = True
    parts = urlsplit(h.path)
    m = PATH.match(parts.path)
    ns, name = m.group(1), m.group(2)
    pod, err = _target(cluster, ns, name)
    if err is not None:
        return _http_error(h, err)
    upgrade = (h.headers.get("Upgrade") or "").lower()
    if upgrade.startswith("spdy/"):
        return _http_error(h, _status(400, "BadRequest", "labsim: pods/portforward is served over WebSocket "
                                                         f"({TUNNEL} or v4.channel.k8s.io) only, not SPDY/3.1"))
    if upgrade != "websocket":
        return _http_error(h, _status(400, "BadRequest", "Upgrade request required"))
    ws = WebSocket.accept(h, {TUNNEL} | CHANNEL)
    if ws is None:
        return None
    if ws.protocol == TUNNEL:
        SpdySession(ws, cluster, pod).run()
    else:
        q = parse_qs(parts.query)
        ports = [int(p) for v in q.get("ports", []) for p in v.split(",") if p.strip().isdigit()]
        _channels(ws, cluster, pod, ports, b64=ws.protocol == "v4.base64.channel.k8s.io")
    ws.close()


def _channels(ws: WebSocket, cluster: Any, pod: dict[str, Any], ports: list[int], *, b64: bool) -> None:
    """v4.channel.k8s.io: one connection per port, channel 2i data and 2i+1 errors."""
    def send(ch: int, data: bytes) -> None:
        ws.send(str(ch) + base64.b64encode(data).decode() if b64 else bytes([ch]) + data)
    backends = [Backend(cluster, pod, p, 40000 + i) for i, p in enumerate(ports)]
    for i, p in enumerate(ports):
        send(2 * i, struct.pack("<H", p))
        send(2 * i + 1, struct.pack("<H", p))
    for i, b in enumerate(backends):
        if b.refused:
            send(2 * i + 1, b.refused.encode())
    while True:
        msg = ws.recv(timeout=IDLE)
        if msg is None:
            return
        data = msg.encode() if isinstance(msg, str) else msg
        if b64 and data:
            data = bytes([data[0] - ord("0")]) + base64.b64decode(data[1:])
        if not data:
            continue
        ch, payload = data[0], data[1:]
        idx = ch // 2
        if ch % 2 or idx >= len(backends) or backends[idx].refused:
            continue
        out = backends[idx].feed(payload)
        if out:
            send(ch, out)


# --- SPDY/3.1 in the WebSocket ----------------------------------------------------------------------------------
class SpdySession:
    def __init__(self, ws: WebSocket, cluster: Any, pod: dict[str, Any]):
        self.ws, self.cluster, self.pod = ws, cluster, pod
        self.inflate = zlib.decompressobj(zdict=DICTIONARY)
        self.deflate = zlib.compressobj(9, zlib.DEFLATED, 15, 8, zlib.Z_DEFAULT_STRATEGY, DICTIONARY)
        self.buf = b""
        self.streams: dict[int, dict[str, str]] = {}            # stream id -> headers
        self.pairs: dict[str, dict[str, int]] = {}              # request id -> {"data": sid, "error": sid}
        self.backends: dict[str, Backend] = {}
        self.done = False

    def run(self) -> None:
        while not self.done:
            msg = self.ws.recv(timeout=IDLE)
            if msg is None:
                return
            self.buf += msg.encode() if isinstance(msg, str) else msg
            while len(self.buf) >= 8:
                length = int.from_bytes(self.buf[5:8], "big")
                if len(self.buf) < 8 + length:
                    break
                frame, self.buf = self.buf[:8 + length], self.buf[8 + length:]
                self.frame(frame)

    # frames in
    def frame(self, frame: bytes) -> None:
        flags, payload = frame[4], frame[8:]
        if frame[0] & 0x80:
            ftype = int.from_bytes(frame[2:4], "big")
            if ftype == SYN_STREAM:
                sid = int.from_bytes(payload[0:4], "big") & 0x7FFFFFFF
                self.syn_stream(sid, self.headers(payload[10:]), flags)
            elif ftype == PING:
                self.send_control(PING, 0, payload[:4])
            elif ftype == GOAWAY:
                self.done = True
            elif ftype == RST_STREAM:
                sid = int.from_bytes(payload[0:4], "big") & 0x7FFFFFFF
                self.streams.pop(sid, None)
            elif ftype == HEADERS:
                self.headers(payload[4:])        # keep the compression context in step
            # SETTINGS, WINDOW_UPDATE: nothing to do (spdystream does not enforce flow control windows)
            return
        sid = int.from_bytes(frame[0:4], "big") & 0x7FFFFFFF
        hdrs = self.streams.get(sid)
        if hdrs is None or hdrs.get("streamtype") != "data":
            return
        rid = hdrs.get("requestid", "")
        backend = self.backends.get(rid)
        if backend is not None and payload and not backend.refused:
            out = backend.feed(payload)
            if out:
                self.send_data(sid, out)
            if backend.closed:
                self.finish(rid)
        if flags & FLAG_FIN:
            self.finish(rid)

    def headers(self, block: bytes) -> dict[str, str]:
        raw = self.inflate.decompress(block)
        n = int.from_bytes(raw[0:4], "big")
        out, i = {}, 4
        for _ in range(n):
            ln = int.from_bytes(raw[i:i + 4], "big")
            key = raw[i + 4:i + 4 + ln].decode()
            i += 4 + ln
            lv = int.from_bytes(raw[i:i + 4], "big")
            out[key] = raw[i + 4:i + 4 + lv].decode().split("\x00")[0]
            i += 4 + lv
        return out

    def syn_stream(self, sid: int, hdrs: dict[str, str], flags: int) -> None:
        self.streams[sid] = hdrs
        self.send_control(SYN_REPLY, 0, struct.pack(">I", sid) + self.header_block({}))
        rid = hdrs.get("requestid", "")
        pair = self.pairs.setdefault(rid, {})
        pair[hdrs.get("streamtype", "")] = sid
        if "data" in pair and "error" in pair and rid not in self.backends:
            try:
                port = int(hdrs.get("port", "0"))
            except ValueError:
                port = 0
            backend = self.backends[rid] = Backend(self.cluster, self.pod, port, 40000 + len(self.backends))
            if backend.refused:
                self.send_data(pair["error"], backend.refused.encode())
                self.finish(rid)

    def finish(self, rid: str) -> None:
        pair = self.pairs.get(rid) or {}
        for kind in ("data", "error"):
            sid = pair.pop(kind, None)
            if sid is not None and sid in self.streams:
                self.send_data(sid, b"", FLAG_FIN)
                self.streams.pop(sid, None)

    # frames out
    def header_block(self, hdrs: dict[str, str]) -> bytes:
        raw = struct.pack(">I", len(hdrs)) + b"".join(
            struct.pack(">I", len(k)) + k.encode() + struct.pack(">I", len(v)) + v.encode() for k, v in hdrs.items())
        return self.deflate.compress(raw) + self.deflate.flush(zlib.Z_SYNC_FLUSH)

    def send_control(self, ftype: int, flags: int, payload: bytes) -> None:
        head = struct.pack(">HHB", 0x8000 | 3, ftype, flags) + len(payload).to_bytes(3, "big")
        self.ws.send(head + payload)

    def send_data(self, sid: int, data: bytes, flags: int = 0) -> None:
        for i in range(0, max(len(data), 1), 0xFFFFFF):
            chunk = data[i:i + 0xFFFFFF]
            last = i + 0xFFFFFF >= len(data)
            head = struct.pack(">I", sid) + bytes([flags if last else 0]) + len(chunk).to_bytes(3, "big")
            self.ws.send(head + chunk)
