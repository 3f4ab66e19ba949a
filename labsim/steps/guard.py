"""The network guard: outside `--target lab`, nothing may leave 127.0.0.0/8.

Lab addresses (192.168.x.y) are data inside the simulator. A slip that turns one into a connection
target must fail loudly, naming the address, before a single packet leaves toward a real lab.

Two layers. Where the OS allows it, the run itself executes in a network namespace that has nothing but
loopback (`labsim/steps/netns.py`, what `make verify` / `make test` use): no process, child, socket type or
resolver can leave it. This in-process guard stays on in every simulated session as well, for runs where no
namespace could be made and to name the culprit: Python's `connect`/`connect_ex`, `sendto`/`sendmsg` (UDP
needs no connect) and name lookups (`getaddrinfo`: a DNS query is itself a packet), which it refuses for
any name it cannot show to be loopback without asking a resolver (`localhost`, `*.localhost`, loopback
entries of /etc/hosts). Code that keeps its own reference to `_socket` or runs in a child process passes the
in-process guard: only the namespace stops that.
"""
from __future__ import annotations

import ipaddress
import socket
from pathlib import Path

_original_connect = socket.socket.connect
_original_connect_ex = socket.socket.connect_ex
_original_sendto = socket.socket.sendto
_original_sendmsg = socket.socket.sendmsg
_original_getaddrinfo = socket.getaddrinfo


class LabSafetyError(ConnectionRefusedError):
    pass


def _loopback_ip(host: str) -> bool | None:
    """True/False for an address literal, None for a name."""
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_loopback or ip.is_unspecified   # 0.0.0.0 / :: reach this machine only


def _hosts_file_loopback_names(path: Path = Path("/etc/hosts")) -> set[str]:
    names: set[str] = set()
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return names
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split()
        if len(fields) >= 2 and _loopback_ip(fields[0]):
            names.update(n.lower() for n in fields[1:])
    return names


def loopback_name(host: str) -> bool:
    """A name that means this machine without asking any resolver."""
    name = host.lower().rstrip(".")
    return name == "localhost" or name.endswith(".localhost") or name in _hosts_file_loopback_names()


def _allowed_host(host) -> bool:
    if host is None:
        return True              # a lookup of a service only, or of this machine's passive address
    if isinstance(host, bytes):
        host = host.decode("idna", "replace")
    literal = _loopback_ip(str(host))
    return literal if literal is not None else loopback_name(str(host))


def _allowed(sock: socket.socket, address) -> bool:
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        return True  # unix sockets and the like stay on this machine
    host = address[0] if isinstance(address, tuple) else address
    return _allowed_host(host)


def _refuse(address, why: str, verb: str = "connection to"):
    host, port = (address[0], address[1]) if isinstance(address, tuple) and len(address) > 1 else (address, "?")
    raise LabSafetyError(f"refused {verb} {host}:{port}: {why} only 127.0.0.0/8 may be contacted "
                         f"(use --target lab to reach a real lab)")


def install(why: str = "this test session does not target a real lab;") -> None:
    def connect(self, address):
        if not _allowed(self, address):
            _refuse(address, why)
        return _original_connect(self, address)

    def connect_ex(self, address):
        if not _allowed(self, address):
            _refuse(address, why)
        return _original_connect_ex(self, address)

    def sendto(self, data, *args):
        address = args[-1] if args else None   # sendto(data, address) / sendto(data, flags, address)
        if address is not None and not _allowed(self, address):
            _refuse(address, why, "datagram to")
        return _original_sendto(self, data, *args)

    def sendmsg(self, buffers, *args):
        address = args[2] if len(args) >= 3 else None   # sendmsg(buffers, ancdata, flags, address)
        if address is not None and not _allowed(self, address):
            _refuse(address, why, "datagram to")
        return _original_sendmsg(self, buffers, *args)

    def getaddrinfo(host, port, *args, **kwargs):
        if not _allowed_host(host):
            _refuse((host, port), why, "name lookup of")
        return _original_getaddrinfo(host, port, *args, **kwargs)

    socket.socket.connect = connect
    socket.socket.connect_ex = connect_ex
    socket.socket.sendto = sendto
    socket.socket.sendmsg = sendmsg
    socket.getaddrinfo = getaddrinfo


def uninstall() -> None:
    socket.socket.connect = _original_connect
    socket.socket.connect_ex = _original_connect_ex
    socket.socket.sendto = _original_sendto
    socket.socket.sendmsg = _original_sendmsg
    socket.getaddrinfo = _original_getaddrinfo


def installed() -> bool:
    return socket.socket.connect is not _original_connect


def isolated() -> bool:
    """This process runs in a network namespace whose only interface is loopback (labsim/steps/netns.py)."""
    try:
        return [name for _, name in socket.if_nameindex()] == ["lo"]
    except OSError:
        return False
