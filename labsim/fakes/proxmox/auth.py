"""Tickets, CSRF prevention tokens and API tokens, checked in virtual time.

Ticket (pve-access-control AccessControl.pm, pve-common Ticket.pm): `PVE:<user>:<HEXTIME>::<signature>`,
valid from 5 minutes before to 2 hours after its timestamp. A ticket may be posted as the password to
`/access/ticket` to get a fresh one (what proxmoxer does after an hour). The CSRF token is
`<HEXTIME>:<HMAC>` bound to the user; every non-GET request authenticated by ticket must carry it.

Keys, as a PVE node makes them: the signature is an RSA PKCS#1 v1.5 signature with the cluster's authkey
(`/etc/pve/authkey.key`, 2048 bits; Ticket.pm assemble_rsa_ticket: `encode_base64($rsa_priv->sign(...), '')`),
and the CSRF secret is random (`/etc/pve/pve-www.key`). Both are random per simulated lab, never derived from
its seed (a seed is public: anyone could mint a ticket for a lab with a PVE password). The authkey is made at
the first password login, so a lab whose clients use API tokens never pays for it.
API token: `Authorization: PVEAPIToken=<user>@<realm>!<tokenid>=<secret>`; PVE splits the value at the
last `=` (`/^(.*)=(.*)$/`), so the PBS-style `:` separator is refused, as on a real PVE.

The real server delays every unauthorized answer by 3 seconds (pve-http-server AnyEvent.pm); the fake
does not, to keep tests fast.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from urllib.parse import unquote

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from labsim.fakes.clock import VirtualClock
from labsim.fakes.proxmox import errors as E

USER_RE = re.compile(r"^[^\s:/]+@[A-Za-z][A-Za-z0-9.\-_]+$")
TOKEN_ID_RE = re.compile(r"^([^\s:/]+@[A-Za-z][A-Za-z0-9.\-_]+)!([A-Za-z][A-Za-z0-9.\-_]+)$")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


class Auth:
    def __init__(self, clock: VirtualClock, users: dict[str, str], tokens: dict[str, str], seed: int = 0):
        # `seed` is accepted for the cluster's symmetry and deliberately unused: keys are never derived from it
        self.clock = clock
        self.users = dict(users)
        self.tokens = dict(tokens)
        self._authkey: rsa.RSAPrivateKey | None = None    # made at the first ticket
        self._csrf_secret = secrets.token_bytes(32)
        self.issued = 0

    # --- time ---------------------------------------------------------------------------------------
    def epoch(self) -> int:
        return int(self.clock.utcnow().timestamp())

    def expire_all(self) -> None:
        """Rotate the auth key without keeping the old one: every ticket issued so far stops working."""
        self._authkey = None

    # --- tickets ------------------------------------------------------------------------------------
    def _sign(self, data: str) -> str:
        if self._authkey is None:
            self._authkey = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return base64.b64encode(self._authkey.sign(data.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()

    def _signed(self, data: str, signature: str) -> bool:
        if self._authkey is None:
            return False     # no ticket was ever issued with the current key
        try:
            self._authkey.public_key().verify(base64.b64decode(signature, validate=True), data.encode(),
                                              padding.PKCS1v15(), hashes.SHA256())
            return True
        except (InvalidSignature, ValueError):
            return False

    def make_ticket(self, user: str) -> str:
        data = f"PVE:{user}:{self.epoch():08X}"
        self.issued += 1
        return f"{data}::{self._sign(data)}"

    def check_ticket(self, ticket: str) -> str | None:
        """The user of a valid ticket, else None."""
        m = re.fullmatch(r"(PVE:(\S+):([0-9A-F]{8}))::([^:\s]+)", ticket or "")
        if not m:
            return None
        data, user, ts, sig = m.group(1), m.group(2), int(m.group(3), 16), m.group(4)
        if not self._signed(data, sig):
            return None
        age = self.epoch() - ts
        if age < -E.AUTH_GRACE or age >= E.TICKET_LIFETIME:
            return None
        if user not in self.users:
            return None
        return user

    def verify_ticket(self, ticket: str) -> str:
        user = self.check_ticket(ticket)
        if user is None:
            raise E.ApiError(401, E.AUTH_FAILED, empty_body=True)
        return user

    # --- CSRF ---------------------------------------------------------------------------------------
    def make_csrf(self, user: str) -> str:
        ts = f"{self.epoch():08X}"
        return f"{ts}:{_b64(hmac.new(self._csrf_secret, f'{ts}:{user}'.encode(), hashlib.sha256).digest())}"

    def verify_csrf(self, user: str, token: str | None) -> None:
        m = re.fullmatch(r"([0-9A-F]{8}):(\S+)", token or "")
        ok = False
        if m:
            want = _b64(hmac.new(self._csrf_secret, f"{m.group(1)}:{user}".encode(), hashlib.sha256).digest())
            age = self.epoch() - int(m.group(1), 16)
            ok = hmac.compare_digest(want, m.group(2)) and -E.AUTH_GRACE <= age < E.TICKET_LIFETIME
        if not ok:
            raise E.ApiError(401, E.INVALID_CSRF, empty_body=True)

    # --- login --------------------------------------------------------------------------------------
    def login(self, username: str, password: str, realm: str | None = None) -> dict[str, object]:
        """POST /access/ticket: a password, or a still-valid ticket of the same user (renewal)."""
        user = username if "@" in username or not realm else f"{username}@{realm}"
        ok = False
        if user in self.users:
            if password.startswith("PVE:"):
                ok = self.check_ticket(password) == user
            else:
                ok = hmac.compare_digest(password.encode(), self.users[user].encode())
        if not ok:
            # pve-access-control API2/AccessControl.pm: no detail, to prevent user enumeration
            raise E.ApiError(401, E.LOGIN_FAILED)
        return {"username": user, "ticket": self.make_ticket(user), "CSRFPreventionToken": self.make_csrf(user),
                "cap": CAPABILITIES}

    # --- API tokens ---------------------------------------------------------------------------------
    def verify_token(self, value: str) -> str:
        """The token id (`root@pam!ci`) of a valid `PVEAPIToken` value, else 401."""
        m = re.fullmatch(r"(.*)=(.*)", value or "", re.DOTALL)
        if m:
            tokenid, secret = m.group(1), m.group(2)
            tm = TOKEN_ID_RE.match(tokenid)
            if tm and tokenid in self.tokens and hmac.compare_digest(secret.encode(),
                                                                       self.tokens[tokenid].encode()):
                return tokenid
        raise E.ApiError(401, E.AUTH_FAILED, empty_body=True)


def extract_auth_value(header: str | None, key: str) -> str | None:
    """pve-http-server Formatter.pm extract_auth_value: `KEY=value` or `KEY value`, up to `;`, unescaped."""
    if not header:
        return None
    m = re.search(rf"(?:^|\s){re.escape(key)}(?:=| )([^;]*)", header)
    if not m or not m.group(1):
        return None
    return unquote(m.group(1))


CAPABILITIES = {
    "vms": {p: 1 for p in ("VM.Allocate", "VM.Audit", "VM.Backup", "VM.Clone", "VM.Config.CDROM",
                           "VM.Config.CPU", "VM.Config.Cloudinit", "VM.Config.Disk", "VM.Config.HWType",
                           "VM.Config.Memory", "VM.Config.Network", "VM.Config.Options", "VM.Console",
                           "VM.Migrate", "VM.Monitor", "VM.PowerMgmt", "VM.Snapshot", "VM.Snapshot.Rollback",
                           "Permissions.Modify")},
    "storage": {p: 1 for p in ("Datastore.Allocate", "Datastore.AllocateSpace", "Datastore.AllocateTemplate",
                               "Datastore.Audit", "Permissions.Modify")},
    "nodes": {p: 1 for p in ("Sys.Audit", "Sys.Console", "Sys.Modify", "Sys.PowerMgmt", "Sys.Syslog",
                             "Permissions.Modify")},
    "access": {p: 1 for p in ("Group.Allocate", "Permissions.Modify", "User.Modify")},
    "dc": {p: 1 for p in ("Sys.Audit", "Sys.Modify", "SDN.Allocate", "SDN.Audit", "SDN.Use")},
    "sdn": {p: 1 for p in ("SDN.Allocate", "SDN.Audit", "SDN.Use", "Permissions.Modify")},
    "mapping": {p: 1 for p in ("Mapping.Audit", "Mapping.Modify", "Mapping.Use", "Permissions.Modify")},
}
