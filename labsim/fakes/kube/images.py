"""The container images the simulated kubelet knows (data/images.yaml): a container's files, user, shell and
environment (what `kubectl exec` finds), the lines its entrypoint logs when it starts, and what it serves
(what `kubectl port-forward` reaches).

    img = image_of(pod, "echo")        # the catalogue entry for that container's image
    img.files["/etc/os-release"]
    start_lines(pod, container, when)  # the log lines its entrypoint writes
    http_echo(pod, container, request) # (response bytes, log line) for an HTTP request to hashicorp/http-echo
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import yaml

DATA = Path(__file__).with_name("data") / "images.yaml"
HTTP_ECHO_VERSION = "1.0.0"     # hashicorp/http-echo version/version.go for the 1.0 tag


@dataclass
class Image:
    ref: str
    shell: str = "dash"
    uid: int = 0
    gid: int = 0
    user: str = "root"
    group: str = "root"
    env: dict[str, str] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    binaries: tuple[str, ...] = ()
    start_log: tuple[str, ...] = ()
    serves: str | None = None

    @property
    def version(self) -> str:
        tag = self.ref.rsplit(":", 1)[1] if ":" in self.ref.rsplit("/", 1)[-1] else "latest"
        return tag.split("@")[0].lstrip("v")


@cache
def _catalogue() -> dict[str, Any]:
    return yaml.safe_load(DATA.read_text())


def _normalize(ref: str) -> str:
    """`docker.io/library/busybox:1.36` -> `busybox:1.36`; `docker.io/rook/ceph` -> `rook/ceph`."""
    for prefix in ("docker.io/library/", "docker.io/", "index.docker.io/library/", "library/"):
        if ref.startswith(prefix):
            return ref[len(prefix):]
    return ref


def lookup(ref: str) -> Image:
    cat = _catalogue()
    name = _normalize(ref or "")
    entry = next((e for e in cat["images"] if name.startswith(e["match"])), None) or cat["default"]
    user = entry.get("user") or {}
    return Image(ref=ref, shell=entry.get("shell", "dash"), uid=int(user.get("uid", 0)),
                 gid=int(user.get("gid", 0)), user=user.get("name", str(user.get("uid", 0))),
                 group=user.get("group", user.get("name", str(user.get("gid", 0)))),
                 env=dict(entry.get("env") or {}), files=dict(entry.get("files") or {}),
                 binaries=tuple(entry.get("binaries") or ()), start_log=tuple(entry.get("start_log") or ()),
                 serves=entry.get("serves"))


def container_of(pod: dict[str, Any], name: str) -> dict[str, Any]:
    spec = pod.get("spec") or {}
    return next((c for c in (spec.get("containers") or []) + (spec.get("initContainers") or [])
                 if c.get("name") == name), {})


def image_of(pod: dict[str, Any], container: str) -> Image:
    return lookup(container_of(pod, container).get("image", ""))


def _flag(args: list[str], name: str, default: str) -> str:
    for i, a in enumerate(args):
        a2 = a.lstrip("-")
        if a2.startswith(name + "="):
            return a2.split("=", 1)[1]
        if a2 == name and i + 1 < len(args):
            return args[i + 1]
    return default


def _own_args(container: dict[str, Any], img: Image) -> list[str] | None:
    """The arguments of the image's own program when the container runs it (its entrypoint, or a `command`
    naming one of its binaries), else None (the container runs something else: a shell script, ...)."""
    command = [str(a) for a in container.get("command") or []]
    args = [str(a) for a in container.get("args") or []]
    if not command:
        return args
    if any(b.rsplit("/", 1)[-1] == command[0].rsplit("/", 1)[-1] for b in img.binaries):
        return command[1:] + args
    return None


def start_lines(pod: dict[str, Any], container: dict[str, Any], when: datetime) -> str:
    """What the image's program logs at start; nothing when the pod runs something else in it."""
    img = lookup(container.get("image", ""))
    args = _own_args(container, img)
    if not img.start_log or args is None:
        return ""
    values = {"date": when.strftime("%Y/%m/%d %H:%M:%S"), "time": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
              "listen": _flag(args, "listen", ":5678"), "version": img.version}
    return "".join(line.format(**values) + "\n" for line in img.start_log)


# --- what a container serves ----------------------------------------------------------------------------------
def serves(pod: dict[str, Any], port: int) -> tuple[str, dict[str, Any]] | None:
    """(protocol, container) of the container listening on `port` in `pod`, or None."""
    for c in (pod.get("spec") or {}).get("containers") or []:
        img = lookup(c.get("image", ""))
        args = _own_args(c, img)
        if img.serves == "http-echo" and args is not None:
            listen = _flag(args, "listen", ":5678")
            if int(listen.rsplit(":", 1)[1] or 0) == port:
                return "http-echo", c
    return None


def container_env(container: dict[str, Any], pod: dict[str, Any]) -> dict[str, str]:
    """A container's environment as the kubelet sets it: plain values and the pod fields its fieldRefs name."""
    fields = {"metadata.name": pod["metadata"]["name"], "metadata.namespace": pod["metadata"].get("namespace", ""),
              "spec.nodeName": (pod.get("spec") or {}).get("nodeName", ""),
              "status.podIP": (pod.get("status") or {}).get("podIP", "")}
    out = {}
    for e in container.get("env") or []:
        if "value" in e:
            out[e["name"]] = str(e["value"])
        else:
            ref = ((e.get("valueFrom") or {}).get("fieldRef") or {}).get("fieldPath")
            if ref in fields:
                out[e["name"]] = fields[ref]
    return out


_VAR = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


def expand(text: str, env: dict[str, str]) -> str:
    """Kubernetes' `$(VAR)` expansion of command and args."""
    return _VAR.sub(lambda m: env.get(m.group(1), m.group(0)), text)


def http_echo(pod: dict[str, Any], container: dict[str, Any], request: bytes, when: datetime,
              peer: str = "127.0.0.1:40000") -> tuple[bytes, str]:
    """hashicorp/http-echo 1.0's answer to one HTTP/1.1 request, and the line it logs for it (handlers.go)."""
    head = request.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    lines = head.split("\r\n")
    try:
        method, target, proto = lines[0].split(" ", 2)
    except ValueError:
        return b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n" \
               b"400 Bad Request", ""
    headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:]) if k}
    args = _own_args(container, lookup(container.get("image", ""))) or []
    text = expand(_flag(args, "text", ""), container_env(container, pod))
    path = target.split("?", 1)[0]
    body = ('{"status":"ok"}\n' if path == "/health" else text + "\n").encode()
    stamp = when.strftime("%a, %d %b %Y %H:%M:%S GMT")
    resp = (f"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nDate: {stamp}\r\n"
            f"X-App-Name: http-echo\r\nX-App-Version: {HTTP_ECHO_VERSION}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    log = ""
    if path != "/health":
        log = (f'{when.strftime("%Y/%m/%d %H:%M:%S")} {headers.get("host", "")} {peer} "{method} {path} {proto}" '
               f'200 {len(body)} "{headers.get("user-agent", "")}" 21.5µs')
    return resp, log
