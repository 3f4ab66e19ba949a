"""`talosctl gen secrets` and `talosctl gen config`: a secrets bundle, controlplane.yaml, worker.yaml and
talosconfig shaped like the real ones (Talos 1.11: pkg/machinery/config/generate), with real certificates.

Offline, as the real command is: the fake talosctl runs this in its own process, no lab needed. With the
same secrets bundle and the same patches the output is byte-for-byte the same, so a provisioner that keeps
its secrets can tell an unchanged config from a changed one.

Config patches (`--config-patch`, `--config-patch-control-plane`, `--config-patch-worker`): a YAML/JSON
mapping is a strategic merge patch (maps merge, lists append except the fields Talos marks
`merge:"replace"`, `$patch: delete` removes a key; interfaces merge by name); a list is an RFC 6902 JSON
patch (add, replace, remove).
"""
from __future__ import annotations

import base64
import copy
import datetime as dt
import secrets as _secrets
import string
from typing import Any

import yaml

from labsim import fastyaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import NameOID

DEFAULT_K8S = "1.34.1"
DEFAULT_TALOS = "1.11.3"
REPLACE_LISTS = {"podSubnets", "serviceSubnets", "certSANs", "nameservers", "servers"}
YEARS10 = dt.timedelta(days=3650)
# a client certificate (talosconfig's): constants.TalosAPIDefaultCertificateValidityDuration, one year
CLIENT_TTL = dt.timedelta(days=365)


class PatchError(ValueError):
    pass


# --- secrets ------------------------------------------------------------------------------------------------
def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _pem_key(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _cert(subject: list[tuple], key, issuer_key=None, issuer_name=None, ca: bool = True,
          usages: list | None = None) -> bytes:
    name = x509.Name([x509.NameAttribute(oid, value) for oid, value in subject])
    now = dt.datetime.now(dt.UTC)
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(issuer_name or name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + (YEARS10 if ca else CLIENT_TTL))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if usages:
        builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
    signer = issuer_key or key
    algo = None if isinstance(signer, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return builder.sign(signer, algo).public_bytes(serialization.Encoding.PEM)


def _ca(cn: str, *, ed: bool = False, org: str | None = None) -> dict[str, str]:
    key = ed25519.Ed25519PrivateKey.generate() if ed else ec.generate_private_key(ec.SECP256R1())
    subject = [(NameOID.ORGANIZATION_NAME, org)] if org else []
    subject.append((NameOID.COMMON_NAME, cn)) if cn else None
    return {"crt": _b64(_cert(subject, key)), "key": _b64(_pem_key(key))}


def _token(n1: int = 6, n2: int = 16) -> str:
    alphabet = string.ascii_lowercase + string.digits
    return "".join(_secrets.choice(alphabet) for _ in range(n1)) + "." + \
        "".join(_secrets.choice(alphabet) for _ in range(n2))


def gen_secrets() -> dict[str, Any]:
    """The secrets bundle (`talosctl gen secrets -o secrets.yaml`)."""
    sa = ec.generate_private_key(ec.SECP256R1())
    return {
        "cluster": {"id": base64.urlsafe_b64encode(_secrets.token_bytes(32)).decode(),
                    "secret": _b64(_secrets.token_bytes(32))},
        "secrets": {"bootstraptoken": _token(), "secretboxencryptionsecret": _b64(_secrets.token_bytes(32))},
        "trustdinfo": {"token": _token()},
        "certs": {
            "etcd": _ca("etcd"),
            "k8s": _ca("kubernetes"),
            "k8saggregator": _ca(""),
            "k8sserviceaccount": {"key": _b64(_pem_key(sa))},
            "os": _ca("", ed=True, org="talos"),
        },
    }


def admin_client(bundle: dict[str, Any]) -> dict[str, str]:
    """An `os:admin` client certificate signed by the Talos API CA (what talosconfig holds)."""
    os_ca = bundle["certs"]["os"]
    ca_key = serialization.load_pem_private_key(base64.b64decode(os_ca["key"]), None)
    ca_cert = x509.load_pem_x509_certificate(base64.b64decode(os_ca["crt"]))
    key = ed25519.Ed25519PrivateKey.generate()
    crt = _cert([(NameOID.ORGANIZATION_NAME, "os:admin")], key, ca_key, ca_cert.subject, ca=False,
                usages=[x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH])
    return {"ca": os_ca["crt"], "crt": _b64(crt), "key": _b64(_pem_key(key))}


# --- configs ------------------------------------------------------------------------------------------------
def machine_config(kind: str, cluster: str, endpoint: str, bundle: dict[str, Any], *,
                   kubernetes_version: str = DEFAULT_K8S, talos_version: str = DEFAULT_TALOS,
                   install_disk: str = "/dev/sda", dns_domain: str = "cluster.local") -> dict[str, Any]:
    """controlplane.yaml (`kind="controlplane"`) or worker.yaml, as `gen config` writes them."""
    cp = kind == "controlplane"
    certs = bundle["certs"]
    k8s = f"v{kubernetes_version.lstrip('v')}"
    host = endpoint.split("//", 1)[-1].rsplit(":", 1)[0]
    machine: dict[str, Any] = {
        "type": kind, "token": bundle["trustdinfo"]["token"],
        "ca": {"crt": certs["os"]["crt"], "key": certs["os"]["key"] if cp else ""},
        "certSANs": [],
        "kubelet": {"image": f"ghcr.io/siderolabs/kubelet:{k8s}", "defaultRuntimeSeccompProfileEnabled": True,
                    "disableManifestsDirectory": True},
        "network": {},
        "install": {"disk": install_disk, "image": f"ghcr.io/siderolabs/installer:v{talos_version.lstrip('v')}",
                    "wipe": False},
        "features": {"rbac": True, "stableHostname": True, "apidCheckExtKeyUsage": True,
                     "diskQuotaSupport": True, "kubePrism": {"enabled": True, "port": 7445},
                     "hostDNS": {"enabled": True, "forwardKubeDNSToHost": True}},
    }
    if cp:
        machine["nodeLabels"] = {"node.kubernetes.io/exclude-from-external-load-balancers": ""}
    cluster_doc: dict[str, Any] = {
        "id": bundle["cluster"]["id"], "secret": bundle["cluster"]["secret"],
        "controlPlane": {"endpoint": endpoint}, "clusterName": cluster,
        "network": {"dnsDomain": dns_domain, "podSubnets": ["10.244.0.0/16"], "serviceSubnets": ["10.96.0.0/12"]},
        "token": bundle["secrets"]["bootstraptoken"],
        "ca": {"crt": certs["k8s"]["crt"], "key": certs["k8s"]["key"] if cp else ""},
        "discovery": {"enabled": True, "registries": {"kubernetes": {"disabled": True}, "service": {}}},
    }
    if cp:
        cluster_doc.update({
            "secretboxEncryptionSecret": bundle["secrets"]["secretboxencryptionsecret"],
            "aggregatorCA": dict(certs["k8saggregator"]),
            "serviceAccount": {"key": certs["k8sserviceaccount"]["key"]},
            "apiServer": {"image": f"registry.k8s.io/kube-apiserver:{k8s}", "certSANs": [host],
                          "disablePodSecurityPolicy": True},
            "controllerManager": {"image": f"registry.k8s.io/kube-controller-manager:{k8s}"},
            "proxy": {"image": f"registry.k8s.io/kube-proxy:{k8s}"},
            "scheduler": {"image": f"registry.k8s.io/kube-scheduler:{k8s}"},
            "etcd": {"ca": dict(certs["etcd"])},
            "extraManifests": [], "inlineManifests": [],
        })
    return {"version": "v1alpha1", "debug": False, "persist": True, "machine": machine, "cluster": cluster_doc}


def talosconfig(cluster: str, bundle: dict[str, Any], endpoints: list[str]) -> dict[str, Any]:
    client = admin_client(bundle)
    return {"context": cluster, "contexts": {cluster: {"endpoints": endpoints, **client}}}


def dump(doc: dict[str, Any]) -> str:
    return yaml.safe_dump(doc, sort_keys=False, indent=4, width=1 << 16)


# --- patches ------------------------------------------------------------------------------------------------
def load_patch(text: str) -> Any:
    try:
        return fastyaml.load(text)
    except yaml.YAMLError as exc:
        raise PatchError(f"error loading patch: {exc}") from None


def apply_patch(doc: dict[str, Any], patch: Any) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    if isinstance(patch, list):
        for op in patch:
            _json6902(out, op)
        return out
    if isinstance(patch, dict):
        _merge(out, patch, "")
        return out
    raise PatchError("strategic merge patch is not valid: not a mapping")


def _merge(dst: dict[str, Any], src: dict[str, Any], path: str) -> None:
    for key, value in src.items():
        if isinstance(value, dict) and value.get("$patch") == "delete":
            dst.pop(key, None)
        elif isinstance(value, dict) and isinstance(dst.get(key), dict):
            _merge(dst[key], value, f"{path}.{key}")
        elif isinstance(value, list) and isinstance(dst.get(key), list) and key not in REPLACE_LISTS:
            if key == "interfaces":
                _merge_interfaces(dst[key], value)
            else:
                dst[key] = dst[key] + copy.deepcopy(value)
        else:
            dst[key] = copy.deepcopy(value)


def _merge_interfaces(dst: list[Any], src: list[Any]) -> None:
    for item in src:
        name = item.get("interface") if isinstance(item, dict) else None
        same = next((d for d in dst if isinstance(d, dict) and name and d.get("interface") == name), None)
        if same is not None:
            _merge(same, item, "interfaces")
        else:
            dst.append(copy.deepcopy(item))


def _json6902(doc: dict[str, Any], op: dict[str, Any]) -> None:
    parts = [p.replace("~1", "/").replace("~0", "~") for p in str(op.get("path", "")).split("/")[1:]]
    if not parts:
        raise PatchError(f"json patch: bad path {op.get('path')!r}")
    parent: Any = doc
    for p in parts[:-1]:
        parent = parent[int(p)] if isinstance(parent, list) else parent.setdefault(p, {})
    last, kind = parts[-1], op.get("op")
    if kind in ("add", "replace"):
        if isinstance(parent, list):
            idx = len(parent) if last == "-" else int(last)
            parent.insert(idx, op.get("value")) if kind == "add" else parent.__setitem__(idx, op.get("value"))
        else:
            parent[last] = op.get("value")
    elif kind == "remove":
        try:
            del parent[int(last) if isinstance(parent, list) else last]
        except (KeyError, IndexError):
            raise PatchError(f"json patch: remove {op.get('path')}: missing") from None
    else:
        raise PatchError(f"json patch: unsupported op {kind!r}")
