"""The network guard: outside `--target lab`, nothing may connect beyond 127.0.0.0/8.

Lab addresses (192.168.x.y) are data inside the simulator. A slip that turns one into a connection
target must fail loudly, naming the address, before a single packet leaves toward a real lab.
"""
from __future__ import annotations

import ipaddress
import socket

_original_connect = socket.socket.connect
_original_connect_ex = socket.socket.connect_ex


class LabSafetyError(ConnectionRefusedError):
    pass


def _allowed(sock: socket.socket, address) -> bool:
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        return True  # unix sockets and the like stay on this machine
    host = address[0] if isinstance(address, tuple) else address
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        try:  # a name: judge every address it resolves to
            infos = socket.getaddrinfo(host, None)
        except OSError:
            return False
        return all(ipaddress.ip_address(i[4][0].split("%", 1)[0]).is_loopback for i in infos)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def _refuse(address, why: str):
    host, port = (address[0], address[1]) if isinstance(address, tuple) else (address, "?")
    raise LabSafetyError(f"refused connection to {host}:{port}: {why} only 127.0.0.0/8 may be contacted "
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

    socket.socket.connect = connect
    socket.socket.connect_ex = connect_ex


def uninstall() -> None:
    socket.socket.connect = _original_connect
    socket.socket.connect_ex = _original_connect_ex


def installed() -> bool:
    return socket.socket.connect is not _original_connect
