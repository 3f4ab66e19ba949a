"""Who is asking: the authenticators of kube-apiserver that a lab meets, and ServiceAccount tokens.

- A client certificate issued by the cluster's own CA (the TLS layer checks the chain): user = CN, groups = O.
- A static bearer token (`KubeServer.add_token`).
- A ServiceAccount token: a JWT (ES256) signed with the cluster's service-account key, with the claims of
  pkg/serviceaccount/claims.go (`iss`, `sub` system:serviceaccount:NS:NAME, `aud`, `exp`, `iat`, `nbf`, `jti`,
  `kubernetes.io.{namespace, serviceaccount{name, uid}}`). It is valid while its ServiceAccount exists with the
  same uid and until `exp` on the cluster's clock; the user is `system:serviceaccount:NS:NAME` in groups
  `system:serviceaccounts`, `system:serviceaccounts:NS` (pkg/serviceaccount/util.go).

Every authenticated user is also in `system:authenticated`; nobody else is `system:anonymous` in
`system:unauthenticated` (staging/src/k8s.io/apiserver/pkg/authentication/group/authenticated_group_adder.go).
"""
from __future__ import annotations

import base64
import hashlib
import json
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

if TYPE_CHECKING:
    from labsim.fakes.kube.cluster import KubeCluster

AUTHENTICATED = "system:authenticated"
UNAUTHENTICATED = "system:unauthenticated"
ANONYMOUS = "system:anonymous"
SA_PREFIX = "system:serviceaccount:"


@dataclass(frozen=True)
class UserInfo:
    name: str
    groups: tuple[str, ...] = ()
    uid: str = ""
    extra: dict[str, list[str]] = field(default_factory=dict, hash=False, compare=False)

    @classmethod
    def of(cls, name: str, groups: tuple[str, ...] | list[str] = (), uid: str = "",
           extra: dict[str, list[str]] | None = None) -> UserInfo:
        gs = tuple(groups)
        if AUTHENTICATED not in gs and name != ANONYMOUS:
            gs = gs + (AUTHENTICATED,)
        return cls(name, gs, uid, dict(extra or {}))

    @property
    def anonymous(self) -> bool:
        return self.name == ANONYMOUS

    def as_status(self) -> dict[str, Any]:
        """authentication.k8s.io/v1 UserInfo."""
        out: dict[str, Any] = {"username": self.name}
        if self.uid:
            out["uid"] = self.uid
        out["groups"] = list(self.groups)
        if self.extra:
            out["extra"] = {k: list(v) for k, v in self.extra.items()}
        return out


ANONYMOUS_USER = UserInfo(ANONYMOUS, (UNAUTHENTICATED,))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class ServiceAccountKeys:
    """One cluster's service-account signing key (Talos: `cluster.serviceAccount.key`) and its issuer."""

    def __init__(self, key: ec.EllipticCurvePrivateKey | None = None, *,
                 issuer: str = "https://kubernetes.default.svc.cluster.local"):
        self.key = key or ec.generate_private_key(ec.SECP256R1())
        self.issuer = issuer
        der = self.key.public_key().public_bytes(serialization.Encoding.DER,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo)
        self.kid = _b64(hashlib.sha256(der).digest())    # as the apiserver's keyIDFromPublicKey

    @classmethod
    def from_pem(cls, pem: bytes, **kw: Any) -> ServiceAccountKeys:
        key = serialization.load_pem_private_key(pem, None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError("only ECDSA service-account keys are simulated")
        return cls(key, **kw)

    def sign(self, claims: dict[str, Any]) -> str:
        head = _b64(json.dumps({"alg": "ES256", "kid": self.kid}, separators=(",", ":")).encode())
        body = _b64(json.dumps(claims, separators=(",", ":")).encode())
        der = self.key.sign(f"{head}.{body}".encode(), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        return f"{head}.{body}.{_b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"

    def verify(self, token: str) -> dict[str, Any] | None:
        parts = token.split(".")
        if len(parts) != 3:
            return None
        try:
            raw = _unb64(parts[2])
            if len(raw) != 64:
                return None
            sig = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
            self.key.public_key().verify(sig, f"{parts[0]}.{parts[1]}".encode(), ec.ECDSA(hashes.SHA256()))
            claims = json.loads(_unb64(parts[1]))
        except (InvalidSignature, ValueError):
            return None
        return claims if isinstance(claims, dict) and claims.get("iss") == self.issuer else None


def issue_token(cluster: KubeCluster, namespace: str, sa: dict[str, Any], *, seconds: int,
                audiences: list[str] | None = None, bound: dict[str, Any] | None = None) -> tuple[str, int]:
    """A TokenRequest's token for ServiceAccount `sa`: (JWT, expiry as Unix seconds on the cluster clock)."""
    keys = cluster.sa_keys
    now = int(cluster.clock.utcnow().timestamp())
    claims: dict[str, Any] = {"aud": audiences or [keys.issuer], "exp": now + seconds, "iat": now,
                              "iss": keys.issuer, "jti": str(uuid.UUID(int=cluster.random.getrandbits(128),
                                                                        version=4))}
    k8s: dict[str, Any] = {"namespace": namespace,
                           "serviceaccount": {"name": sa["metadata"]["name"], "uid": sa["metadata"]["uid"]}}
    if bound and bound.get("kind") in ("Pod", "Secret", "Node"):
        k8s[bound["kind"].lower()] = {"name": bound.get("name", ""), "uid": bound.get("uid", "")}
    claims["kubernetes.io"] = k8s
    claims["nbf"] = now
    claims["sub"] = f"{SA_PREFIX}{namespace}:{sa['metadata']['name']}"
    return keys.sign(claims), now + seconds


def service_account_user(cluster: KubeCluster, token: str) -> UserInfo | None:
    """The user a ServiceAccount token stands for, or None (bad signature, expired, account gone)."""
    claims = cluster.sa_keys.verify(token)
    if claims is None:
        return None
    now = cluster.clock.utcnow().timestamp()
    if not isinstance(claims.get("exp"), int) or claims["exp"] < now:
        return None
    if isinstance(claims.get("nbf"), int) and claims["nbf"] > now + 60:
        return None
    info = claims.get("kubernetes.io") or {}
    ns = info.get("namespace", "")
    sa_info = info.get("serviceaccount") or {}
    with cluster.lock:
        sa = cluster.live("serviceaccounts", sa_info.get("name", ""), ns)
        if sa is None or sa["metadata"].get("uid") != sa_info.get("uid"):
            return None
    extra = {"authentication.kubernetes.io/credential-id": [f"JTI={claims.get('jti', '')}"]}
    for kind in ("pod", "node"):
        if kind in info:
            extra[f"authentication.kubernetes.io/{kind}-name"] = [info[kind].get("name", "")]
            extra[f"authentication.kubernetes.io/{kind}-uid"] = [info[kind].get("uid", "")]
    return UserInfo.of(f"{SA_PREFIX}{ns}:{sa_info.get('name', '')}",
                       ("system:serviceaccounts", f"system:serviceaccounts:{ns}"), sa_info.get("uid", ""), extra)
