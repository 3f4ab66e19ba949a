"""The RouterOS API face against the real librouteros client (and a raw socket where librouteros can't go)."""
from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import threading
import time

import librouteros
import pytest
from librouteros.connections import SocketTransport
from librouteros.exceptions import ConnectionClosed, FatalError, LibRouterosError, MultiTrapError, TrapError
from librouteros.protocol import ApiProtocol
from librouteros.protocol import encode_sentence as lr_encode

from labsim.fakes.routeros.api import Reply, Trap
from labsim.fakes.routeros.server import RouterOSServer, legacy_response, parse_version

USER, PASSWORD = "admin", "s3cret"
IFACES = [
    {".id": "*1", "name": "ether1", "type": "ether", "mtu": "1500", "disabled": "false"},
    {".id": "*2", "name": "ether2", "type": "ether", "mtu": "1500", "disabled": "true"},
    {".id": "*A", "name": "vlan10", "type": "vlan", "mtu": "1496", "disabled": "false"},
]


class Handler:
    """A tiny device: /interface/print rows, add with ret, traps on demand, a crash on demand."""

    def __init__(self):
        self.calls: list[tuple[str, dict, list]] = []

    def execute(self, command, attrs, queries):
        self.calls.append((command, attrs, queries))
        if command == "/interface/print":
            return Reply(rows=[dict(r) for r in IFACES])
        if command == "/ip/address/print":
            return Reply()
        if command == "/ip/address/add":
            return Reply(ret="*1F")
        if command == "/ip/address/remove":
            return Reply()
        if command == "/interface/vlan/add":
            return Reply(traps=[Trap("input does not match any value of interface", 1)])
        if command == "/crash/print":
            raise RuntimeError("bug in the menu engine")
        if command == "/fatal":
            return Reply(fatal="out of memory")
        return Reply(traps=[Trap(f"no such command or directory ({command.split('/')[1]})", 0),
                            Trap("no such command prefix")])


@pytest.fixture
def make_server():
    servers = []

    def make(**kw):
        kw.setdefault("username", USER)
        kw.setdefault("password", PASSWORD)
        server = RouterOSServer(kw.pop("handler", None) or Handler(), **kw).start()
        servers.append(server)
        return server

    yield make
    for s in servers:
        s.stop()


@pytest.fixture
def server(make_server):
    return make_server()


def connect(server, **kw):
    kw.setdefault("port", server.port)
    kw.setdefault("timeout", 5)
    return librouteros.connect("127.0.0.1", kw.pop("username", USER), kw.pop("password", PASSWORD), **kw)


def wait_until(predicate, timeout=3.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.005)


class _KeepOpen(SocketTransport):
    def close(self):  # librouteros closes on !fatal; the raw tests want to see the server's EOF
        pass


class Raw:
    """A bare socket speaking words: librouteros's encoder out, librouteros's reader in."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.proto = ApiProtocol(_KeepOpen(self.sock), encoding="latin-1")

    def send(self, *words):
        self.sock.sendall(lr_encode(*words, encoding="latin-1"))

    def send_bytes(self, data):
        self.sock.sendall(data)

    def read(self):
        reply, rest = self.proto.readSentence()
        return [reply, *rest]

    def reply(self):
        """Sentences up to and including !done."""
        out = [self.read()]
        while out[-1][0] != "!done":
            out.append(self.read())
        return out

    def login(self):
        self.send("/login", f"=name={USER}", f"=password={PASSWORD}")
        assert self.reply() == [["!done"]]

    def at_eof(self):
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True

    def close(self):
        self.sock.close()


# ---------------------------------------------------------------- login

def test_plain_login_and_a_print(server):
    api = connect(server)
    assert next(iter(api.path("interface"))) == {".id": "*1", "name": "ether1", "type": "ether", "mtu": 1500,
                                              "disabled": False}
    api.close()


def test_bad_password_and_bad_user_are_the_real_trap(server):
    for user, password in [(USER, "wrong"), ("root", PASSWORD), (USER, "")]:
        with pytest.raises(TrapError) as info:
            connect(server, username=user, password=password)
        assert info.value.message == "invalid user name or password (6)"
        assert info.value.category is None


def test_bad_login_on_the_wire_is_trap_then_done(server):
    raw = Raw(server.port)
    raw.send("/login", "=name=admin", "=password=nope")
    assert raw.reply() == [["!trap", "=message=invalid user name or password (6)"], ["!done"]]
    raw.login()  # the connection stays usable for another try
    raw.close()


def test_token_login_on_a_legacy_device(make_server):
    server = make_server(login="token", version="6.42.12")
    api = connect(server, login_method=librouteros.login.token)
    assert len(list(api.path("interface"))) == 3
    with pytest.raises(TrapError, match="^cannot log in$"):  # the pre-6.43 text
        connect(server, login_method=librouteros.login.token, password="wrong")


def test_token_login_text_follows_the_version(make_server):
    server = make_server(login="token")  # a legacy-login device that reports 7.16.2
    connect(server, login_method=librouteros.login.token).close()
    with pytest.raises(TrapError, match=r"^invalid user name or password \(6\)$"):
        connect(server, login_method=librouteros.login.token, password="wrong")


def test_challenge_flow_on_a_plain_device_is_refused_since_6_45_1(make_server):
    # 6.47.6 trace: the challenge is still handed out, the response is refused.
    server = make_server(login="plain", version="6.47.6")
    raw = Raw(server.port)
    raw.send("/login")
    (done,) = raw.reply()
    assert done[0] == "!done" and done[1].startswith("=ret=") and len(done[1]) == len("=ret=") + 32
    raw.send("/login", f"=name={USER}", f"=response={legacy_response(PASSWORD, done[1][5:])}")
    assert raw.reply() == [["!trap", "=message=invalid user name or password (6)"], ["!done"]]
    with pytest.raises(TrapError, match=r"invalid user name or password \(6\)"):
        connect(server, login_method=librouteros.login.token)


def test_odd_bytes_in_a_response_are_just_a_bad_login(make_server):
    server = make_server(login="token")
    raw = Raw(server.port)
    raw.send("/login")
    raw.reply()
    raw.send("/login", f"=name={USER}", "=response=00\xe9\xff")
    assert raw.reply() == [["!trap", "=message=invalid user name or password (6)"], ["!done"]]
    assert server.connections == 1


def test_challenge_flow_still_works_on_6_43_to_6_45(make_server):
    server = make_server(login="plain", version="6.44.6")
    connect(server, login_method=librouteros.login.token).close()
    connect(server).close()


def test_plain_login_against_a_legacy_device_looks_fine_until_the_next_command(make_server):
    # A pre-6.43 router ignores =password= and answers /login with a challenge; librouteros's plain
    # login does not look at the reply, so the failure shows on the first real command.
    server = make_server(login="token", version="6.42.12")
    api = connect(server)
    with pytest.raises(FatalError, match="^not logged in$"):
        list(api.path("interface"))
    wait_until(lambda: server.connections == 0)


def test_commands_before_login_are_fatal(server):
    raw = Raw(server.port)
    raw.send("/interface/print")
    with pytest.raises(FatalError, match="^not logged in$"):
        raw.read()
    assert raw.at_eof()
    assert server.handler.calls == []


def test_login_with_a_name_only_gets_a_challenge_not_a_session(server):
    raw = Raw(server.port)  # the 7.20.8 finding: `/login =name=admin` -> !done =ret=..., not logged in
    raw.send("/login", "=name=admin")
    (done,) = raw.reply()
    assert done[1].startswith("=ret=")
    raw.send("/system/resource/print")
    with pytest.raises(FatalError, match="not logged in"):
        raw.read()


def test_quit_is_fatal_and_closes(server):
    api = connect(server)
    assert server.connections == 1
    with pytest.raises(FatalError, match="^session terminated on request$"):
        list(api("/quit"))
    wait_until(lambda: server.connections == 0)


# ---------------------------------------------------------------- replies

def test_tag_only_when_the_request_has_one(server):
    raw = Raw(server.port)
    raw.send("/login", f"=name={USER}", f"=password={PASSWORD}", ".tag=L")
    assert raw.reply() == [["!done", ".tag=L"]]
    raw.send("/interface/print", "?type=vlan", ".tag=7")
    assert raw.reply() == [["!re", ".tag=7", "=.id=*A", "=name=vlan10", "=type=vlan", "=mtu=1496",
                            "=disabled=false"], ["!done", ".tag=7"]]
    raw.send("/ip/address/add", "=address=10.0.0.1/24", ".tag=x y")
    assert raw.reply() == [["!done", ".tag=x y", "=ret=*1F"]]
    raw.send("/interface/vlan/add", ".tag=9")
    assert raw.reply() == [["!trap", ".tag=9", "=category=1",
                            "=message=input does not match any value of interface"], ["!done", ".tag=9"]]
    for words in [("/interface/print", "?type=vlan"), ("/interface/print", "?type=vlan", ".tag=")]:
        raw.send(*words)
        assert all(not w.startswith(".tag") for s in raw.reply() for w in s)
    # .tag is not handed to the handler as an attribute
    assert all(".tag" not in attrs for _, attrs, _ in server.handler.calls)


def test_empty_is_sent_from_7_18_only(make_server):
    for version, empty in [("7.16.2", False), ("7.17", False), ("7.18", True), ("7.18.2", True),
                           ("7.18beta6", True), ("7.20.8", True), ("6.49.10", False)]:
        server = make_server(version=version)
        raw = Raw(server.port)
        raw.login()
        raw.send("/ip/address/print")
        assert raw.reply() == ([["!empty"], ["!done"]] if empty else [["!done"]]), version
        raw.send("/interface/print", "?type=nosuch", ".tag=3")
        assert raw.reply() == ([["!empty", ".tag=3"], ["!done", ".tag=3"]] if empty
                               else [["!done", ".tag=3"]])
        raw.send("/interface/print", "?type=vlan", "=.proplist=nosuch")  # a row with no listed keys
        assert raw.reply() == [["!re"], ["!done"]]
        raw.send("/ip/address/remove", "=.id=*1")  # not a print: never !empty
        assert raw.reply() == [["!done"]]
        assert list(connect(server).path("ip", "address")) == []  # librouteros skips !empty


def test_version_parsing():
    assert parse_version("7.16.2") == (7, 16, 2) < parse_version("7.18") == (7, 18)
    assert parse_version("7.9") < parse_version("7.18") and parse_version("7.18beta6") == (7, 18)


def test_add_returns_ret_and_remove_takes_a_comma_joined_id(server):
    api = connect(server)
    assert api.path("ip", "address").add(address="10.0.0.1/24", interface="vlan10", disabled=False) == "*1F"
    assert server.handler.calls[-1] == ("/ip/address/add",
                                        {"address": "10.0.0.1/24", "interface": "vlan10", "disabled": "no"}, [])
    api.path("ip", "address").remove("*1", "*2")
    assert server.handler.calls[-1] == ("/ip/address/remove", {".id": "*1,*2"}, [])


def test_trap_then_done_is_a_trap_error_with_category(server):
    api = connect(server)
    with pytest.raises(TrapError) as info:
        api.path("interface", "vlan").add(name="v", interface="nosuch")
    assert (info.value.message, info.value.category) == ("input does not match any value of interface", 1)
    assert len(list(api.path("interface"))) == 3  # still in sync after the trap


def test_several_traps_are_a_multi_trap_error(server):
    api = connect(server)
    with pytest.raises(MultiTrapError) as info:
        list(api.path("adress"))
    assert [(t.message, t.category) for t in info.value.traps] == [
        ("no such command or directory (adress)", 0), ("no such command prefix", None)]


def test_proplist_and_queries_are_applied_by_the_server(server):
    api = connect(server)
    got = list(api.rawCmd("/interface/print", "=.proplist=name,.id", "?type=ether", "?disabled=no"))
    assert got == [{".id": "*1", "name": "ether1"}]
    assert server.handler.calls[-1] == ("/interface/print", {".proplist": "name,.id"},
                                        ["?type=ether", "?disabled=no"])


def test_bad_query_word_is_a_trap_and_the_session_goes_on(server):
    raw = Raw(server.port)
    raw.login()
    raw.send("/interface/print", "?<mtu")
    (trap, done) = raw.reply()
    assert trap[0] == "!trap" and trap[1].startswith("=message=invalid query word (?<mtu)") and done == ["!done"]
    raw.send("/interface/print", "?type=vlan", "=.proplist=name")
    assert raw.reply() == [["!re", "=name=vlan10"], ["!done"]]


def test_handler_crash_is_a_trap_and_recorded(server):
    api = connect(server)
    with pytest.raises(TrapError, match="simulator error: RuntimeError: bug in the menu engine"):
        list(api.path("crash"))
    assert isinstance(server.handler_errors[0], RuntimeError)
    assert len(list(api.path("interface"))) == 3


def test_handler_fatal_closes_the_connection(server):
    api = connect(server)
    with pytest.raises(FatalError, match="^out of memory$"):
        list(api("/fatal"))
    wait_until(lambda: server.connections == 0)


def test_pipelined_sentences_and_empty_sentences(server):
    raw = Raw(server.port)
    raw.send_bytes(lr_encode("/login", f"=name={USER}", f"=password={PASSWORD}", encoding="ascii")
                   + b"\x00\x00"  # two empty sentences: ignored, not counted
                   + lr_encode("/ip/address/add", encoding="ascii") + lr_encode("/ip/address/print", encoding="ascii"))
    assert raw.reply() == [["!done"]]
    assert raw.reply() == [["!done", "=ret=*1F"]]
    assert raw.reply() == [["!done"]]
    assert server.sentences_received == 3


def test_many_clients_at_once(server):
    errors = []

    def client():
        try:
            api = connect(server)
            for _ in range(20):
                assert [r["name"] for r in api.path("interface").select(librouteros.query.Key("name"))
                        .where(librouteros.query.Key("type") == "vlan")] == ["vlan10"]
            api.close()
        except (AssertionError, OSError, LibRouterosError) as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=client) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert errors == []
    assert server.sentences_received == 8 * 21


# ---------------------------------------------------------------- TLS

@pytest.fixture(scope="module")
def cert_files(tmp_path_factory):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "routeros-sim")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    d = tmp_path_factory.mktemp("tls")
    (d / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (d / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                  serialization.NoEncryption()))
    return d / "cert.pem", d / "key.pem"


def tls_contexts(cert_files):
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(*cert_files)
    client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client_ctx.check_hostname = False  # librouteros wraps without a server_hostname
    client_ctx.load_verify_locations(cert_files[0])  # but the chain is verified
    return server_ctx, client_ctx


def test_tls_listener_with_librouteros(make_server, cert_files):
    server_ctx, client_ctx = tls_contexts(cert_files)
    server = make_server(tls=server_ctx)
    assert server.tls_port and server.tls_port != server.port
    api = connect(server, port=server.tls_port, ssl_wrapper=client_ctx.wrap_socket)
    assert [r["name"] for r in api.path("interface")] == ["ether1", "ether2", "vlan10"]
    with pytest.raises(TrapError, match="invalid user name or password"):
        connect(server, port=server.tls_port, ssl_wrapper=client_ctx.wrap_socket, password="x")
    connect(server).close()  # the plain listener still serves
    with pytest.raises(FatalError, match="session terminated on request"):
        list(api("/quit"))


def test_plain_client_on_the_tls_port_does_not_hurt_the_server(make_server, cert_files):
    server_ctx, client_ctx = tls_contexts(cert_files)
    server = make_server(tls=server_ctx)
    with pytest.raises((ConnectionClosed, OSError)):
        connect(server, port=server.tls_port, timeout=2)
    connect(server, port=server.tls_port, ssl_wrapper=client_ctx.wrap_socket).close()


# ---------------------------------------------------------------- faults

def test_close_after_n_sentences(server):
    server.faults.close_after_sentences = 2  # login + one command, then the line drops
    api = connect(server)
    assert len(list(api.path("interface"))) == 3
    with pytest.raises(ConnectionClosed):
        list(api.path("interface"))
    wait_until(lambda: server.connections == 0)
    assert len(server.handler.calls) == 1  # the dropped command never ran
    api2 = connect(server)  # counted per connection: a fresh one gets its own two
    assert len(list(api2.path("interface"))) == 3
    server.faults.clear()
    assert server.faults.close_after_sentences is None


def test_close_after_zero_sentences_drops_at_connect(server):
    server.faults.close_after_sentences = 0
    with pytest.raises(ConnectionClosed):
        connect(server)


def test_close_fault_armed_on_a_live_connection(server):
    api = connect(server)
    for _ in range(3):
        list(api.path("interface"))
    server.faults.close_after_sentences = 1
    with pytest.raises(ConnectionClosed):
        list(api.path("interface"))
    assert server.sentences_received == 5


def test_trap_a_command(server):
    server.faults.trap_commands["/interface/print"] = Trap("simulated failure", 4)
    api = connect(server)
    with pytest.raises(TrapError) as info:
        list(api.path("interface"))
    assert (info.value.message, info.value.category) == ("simulated failure", 4)
    assert server.handler.calls == []
    assert api.path("ip", "address").add(address="10.0.0.1/24") == "*1F"  # others unaffected
    server.faults.clear()
    assert len(list(api.path("interface"))) == 3


def test_trap_the_login(server):
    server.faults.trap_commands["/login"] = Trap("too many sessions")
    with pytest.raises(TrapError, match="too many sessions"):
        connect(server)


def test_latency(server):
    api = connect(server)
    server.faults.latency = 0.2
    started = time.monotonic()
    list(api.path("interface"))
    assert time.monotonic() - started >= 0.2
    server.faults.clear()
    assert server.faults.latency == 0.0
    assert len(list(api.path("interface"))) == 3


# ---------------------------------------------------------------- broken input and shutdown

@pytest.mark.parametrize("garbage, why", [
    (b"\xf8", "reserved control byte 0xF8"),
    (b"\xff\x00\x00", "reserved control byte 0xFF"),
    (b"\xf0\x7f\xff\xff\xff", "exceeds the 16777216-byte limit"),
])
def test_garbage_gets_fatal_and_a_clean_close_while_others_carry_on(server, garbage, why):
    bystander = connect(server)
    raw = Raw(server.port)
    raw.login()
    raw.send_bytes(garbage)
    with pytest.raises(FatalError, match=f"protocol violation: .*{why}"):
        raw.read()
    assert raw.at_eof()
    wait_until(lambda: server.connections == 1)
    assert len(list(bystander.path("interface"))) == 3


def test_garbage_before_login_and_a_complete_sentence_before_it(server):
    raw = Raw(server.port)
    raw.send_bytes(lr_encode("/login", f"=name={USER}", f"=password={PASSWORD}", encoding="ascii") + b"\xfa")
    assert raw.reply() == [["!done"]]  # the sentence before the bad byte is still answered
    with pytest.raises(FatalError, match="reserved control byte 0xFA"):
        raw.read()


@pytest.mark.parametrize("cut", [1, 3, 9])
def test_truncated_sentence_then_eof_is_closed_quietly(server, cut):
    bystander = connect(server)
    raw = Raw(server.port)
    raw.login()
    raw.send_bytes(lr_encode("/interface/print", "=.proplist=name", encoding="ascii")[:cut])
    raw.sock.shutdown(socket.SHUT_WR)
    assert raw.at_eof()
    wait_until(lambda: server.connections == 1)
    assert len(list(bystander.path("interface"))) == 3
    assert not server.handler_errors


def test_partial_input_does_not_block_other_clients(server):
    slow = Raw(server.port)
    slow.login()
    slow.send_bytes(b"\x10/interface")  # half a word, then silence
    api = connect(server)
    assert len(list(api.path("interface"))) == 3
    slow.send_bytes(b"/print\x00")  # the rest arrives: the sentence completes
    assert len(slow.reply()) == 4


def test_stop_with_open_connections_returns_promptly(make_server, cert_files):
    server_ctx, client_ctx = tls_contexts(cert_files)
    server = make_server(tls=server_ctx)
    apis = [connect(server) for _ in range(3)]
    tls_api = connect(server, port=server.tls_port, ssl_wrapper=client_ctx.wrap_socket)
    half = Raw(server.port)
    half.send_bytes(b"\x05/lo")  # mid-sentence
    stuck_tls = socket.create_connection(("127.0.0.1", server.tls_port))  # never does the handshake
    server.faults.latency = 30  # a reply waiting out a long latency must not hold stop() either
    waiter_saw = []

    def wait_for_a_slow_reply():
        try:
            list(apis[0].path("interface"))
        except (OSError, LibRouterosError) as exc:
            waiter_saw.append(exc)

    waiter = threading.Thread(target=wait_for_a_slow_reply)
    waiter.start()
    wait_until(lambda: server.connections == 6 and server.sentences_received >= 5)
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 1.9  # below one 2 s join timeout: nothing had to time out
    assert server.connections == 0
    waiter.join(5)
    assert isinstance(waiter_saw[0], (ConnectionClosed, OSError))
    for api in apis[1:] + [tls_api]:
        with pytest.raises((ConnectionClosed, OSError)):
            list(api.path("interface"))
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", server.port), timeout=1)
    stuck_tls.close()


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.88.1", "10.0.0.1", "localhost", "::1", "", "example.com"])
def test_only_loopback_hosts(host):
    with pytest.raises(ValueError, match="loopback"):
        RouterOSServer(Handler(), username=USER, password=PASSWORD, host=host)


def test_any_127_address_is_fine(make_server):
    server = make_server(host="127.0.0.2", name="edge-1")
    api = librouteros.connect("127.0.0.2", USER, PASSWORD, port=server.port, timeout=5)
    assert len(list(api.path("interface"))) == 3
    assert "edge-1" in repr(server)
