"""The zone's authoritative nameserver (what ada/bob.ns.cloudflare.com answer), over UDP and TCP on 127.0.0.1, for
any DNS client (dnspython's resolver, `dig -p`): A, AAAA and CNAME answers from the zone's records with their TTLs,
NXDOMAIN with the zone's SOA for names it does not have, REFUSED for names outside the zone. Messages are parsed
and built with dnspython (a well-kept DNS implementation); a malformed query is answered FORMERR when its header
can be read, else dropped, as authoritative servers do.
"""
from __future__ import annotations

import socket
import socketserver
import struct
import threading

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from labsim.fakes.cloud.zone import NAME_SERVERS, Zone

SOA_TTL = 1800       # Cloudflare's SOA minimum (negative caching), seconds


class Nameserver:
    def __init__(self, zone: Zone, host: str = "127.0.0.1"):
        self.zone = zone
        self.lock = zone.cloud.clock.lock
        self.queries = 0
        owner = self

        class Udp(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                data, sock = self.request
                answer = owner.answer(data)
                if answer is not None:
                    sock.sendto(answer, self.client_address)

        class Tcp(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                head = self.rfile.read(2)
                if len(head) < 2:
                    return
                (n,) = struct.unpack("!H", head)
                answer = owner.answer(self.rfile.read(n))
                if answer is not None:
                    self.wfile.write(struct.pack("!H", len(answer)) + answer)

        class UdpServer(socketserver.ThreadingUDPServer):
            daemon_threads = True
            allow_reuse_address = True

        class TcpServer(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.udp = UdpServer((host, 0), Udp)
        port = self.udp.server_address[1]
        try:
            self.tcp = TcpServer((host, port), Tcp)
        except OSError:      # the port is taken for TCP: both move to a fresh pair
            self.udp.server_close()
            self.tcp = TcpServer((host, 0), Tcp)
            self.udp = UdpServer((host, self.tcp.server_address[1]), Udp)
        self.host = host
        self._threads: list[threading.Thread] = []

    @property
    def port(self) -> int:
        return self.udp.server_address[1]

    def start(self) -> Nameserver:
        for srv in (self.udp, self.tcp):
            t = threading.Thread(target=srv.serve_forever, daemon=True, name="labsim-dns")
            t.start()
            self._threads.append(t)
        return self

    def stop(self) -> None:
        for srv in (self.udp, self.tcp):
            srv.shutdown()
            srv.server_close()

    def answer(self, wire: bytes) -> bytes | None:
        try:
            q = dns.message.from_wire(wire)
        except dns.exception.DNSException:
            if len(wire) < 12:
                return None
            r = dns.message.Message(id=struct.unpack("!H", wire[:2])[0])
            r.flags = dns.flags.QR
            r.set_rcode(dns.rcode.FORMERR)
            return r.to_wire()
        self.queries += 1
        r = dns.message.make_response(q)
        r.flags &= ~dns.flags.RA
        if not q.question:
            r.set_rcode(dns.rcode.FORMERR)
            return r.to_wire()
        question = q.question[0]
        name = question.name.to_text(omit_final_dot=True).lower()
        zone = self.zone.name
        if not self.zone.owns(name):
            r.set_rcode(dns.rcode.REFUSED)
            return r.to_wire()
        r.flags |= dns.flags.AA
        qtype = dns.rdatatype.to_text(question.rdtype)
        with self.lock:
            answers = self.zone.resolve(name, qtype)
            exists = answers or any(rec["name"] == name for rec in self.zone.records.values())
        for a in answers:
            r.answer.append(dns.rrset.from_text(a.name + ".", a.ttl, "IN", a.type, a.value + "." if a.type == "CNAME"
                                                else a.value))
        if not answers:
            soa = (f"{NAME_SERVERS[0]}. dns.cloudflare.com. 2350000000 10000 2400 604800 {SOA_TTL}")
            r.authority.append(dns.rrset.from_text(zone + ".", SOA_TTL, "IN", "SOA", soa))
            if not exists:
                r.set_rcode(dns.rcode.NXDOMAIN)
        return r.to_wire()


def query(host: str, port: int, name: str, qtype: str = "A", timeout: float = 2.0) -> dns.message.Message:
    """One UDP query (for tests and tools)."""
    q = dns.message.make_query(name, qtype)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(q.to_wire(), (host, port))
        data, _ = s.recvfrom(65535)
    return dns.message.from_wire(data)
