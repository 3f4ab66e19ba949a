"""Talos machine configuration (v1alpha1): parse a config document, validate it as machined does, and read the
settings the simulated node acts on.

Validation follows pkg/machinery/config/types/v1alpha1/v1alpha1_validation.go (`Validate`, which on a
machine that installs also checks that the install disk exists: the Talos getting-started guide shows
`configuration validation failed: 1 error occurred: * specified install disk does not exist: "/dev/sda"`):
errors come back as a list, joined by the caller into go-multierror's text. Only what a lab can get wrong on this path is
checked; the rest of a real config is carried along untouched.
"""
from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import yaml

from labsim import fastyaml
from labsim.fakes.talos import texts as T

CNI_NAMES = ("flannel", "custom", "none")
DEFAULT_POD_SUBNET = "10.244.0.0/16"
DEFAULT_SERVICE_SUBNET = "10.96.0.0/12"
KUBEPRISM_PORT = 7445


class ConfigParseError(ValueError):
    pass


def load_all(text: str) -> list[Any]:
    """The documents of a YAML stream, parsed by libyaml; a stream it refuses is parsed again by PyYAML's own
    loader, so that the error is worded the same whichever parser is installed."""
    try:
        return list(fastyaml.load_all(text))   # every boot and every read parses the config
    except yaml.YAMLError:
        return list(fastyaml.load_all(text))


def parse(text: str) -> dict[str, Any]:
    """The v1alpha1 document of a machine config file (further documents, e.g. Layer2VIPConfig, are kept)."""
    try:
        docs = [d for d in load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        raise ConfigParseError(f"error decoding document: {exc}") from None
    main = [d for d in docs if isinstance(d, dict) and d.get("version") == "v1alpha1"]
    if not main:
        raise ConfigParseError('unknown document: missing "version: v1alpha1"')
    doc = main[0]
    doc.setdefault("__extra__", [d for d in docs if d is not doc])
    return doc


def digest(text: str) -> str:
    """The identity of an applied config (what `get machineconfig` lets a provisioner compare)."""
    return hashlib.sha256(text.encode()).hexdigest()


def _get(doc: dict, *path: str, default: Any = None) -> Any:
    cur: Any = doc
    for p in path:
        if not isinstance(cur, dict) or p not in cur:
            return default
        cur = cur[p]
    return cur


def _version_of(image: str | None) -> str | None:
    if not image or ":" not in image:
        return None
    return image.rsplit(":", 1)[1].lstrip("v")


@dataclass(frozen=True)
class MachineConfig:
    """What a node does with its config: the settings the world acts on, plus the raw text and digest."""

    text: str
    type: str
    cluster_name: str
    endpoint: str
    install_disk: str | None
    pod_subnets: tuple[str, ...]
    service_subnets: tuple[str, ...]
    cni: str
    proxy_disabled: bool
    vip: str | None
    kubeprism: bool
    kubeprism_port: int
    machine_ca: str
    cluster_id: str
    hostname: str | None
    kubernetes_version: str | None
    node_labels: dict[str, str] = field(default_factory=dict)
    node_taints: dict[str, str] = field(default_factory=dict)
    allow_scheduling_on_control_planes: bool = False
    kube_ca: str = ""                # cluster.ca (base64 PEM): the Kubernetes API's CA
    kube_ca_key: str = ""            # its key (control planes only)
    service_account_key: str = ""    # cluster.serviceAccount.key (base64 PEM): signs ServiceAccount tokens

    @property
    def control_plane(self) -> bool:
        return self.type in ("controlplane", "init")

    @property
    def digest(self) -> str:
        return digest(self.text)

    @property
    def endpoint_host(self) -> str:
        return urlsplit(self.endpoint).hostname or ""

    @classmethod
    def from_text(cls, text: str) -> MachineConfig:
        return cls.from_doc(parse(text), text)

    @classmethod
    def from_doc(cls, doc: dict[str, Any], text: str) -> MachineConfig:
        machine = doc.get("machine") or {}
        cluster = doc.get("cluster") or {}
        network = cluster.get("network") or {}
        vip = None
        for iface in _get(machine, "network", "interfaces", default=[]) or []:
            if isinstance(iface, dict) and _get(iface, "vip", "ip"):
                vip = str(iface["vip"]["ip"])
                break
        for extra in doc.get("__extra__") or []:   # Talos 1.12+ Layer2VIPConfig document
            if isinstance(extra, dict) and extra.get("kind") == "Layer2VIPConfig" and extra.get("name"):
                vip = str(extra["name"])
        prism = _get(machine, "features", "kubePrism", default={}) or {}
        return cls(
            text=text, type=str(machine.get("type", "")), cluster_name=str(cluster.get("clusterName", "")),
            endpoint=str(_get(cluster, "controlPlane", "endpoint", default="") or ""),
            install_disk=_get(machine, "install", "disk"),
            pod_subnets=tuple(network.get("podSubnets") or [DEFAULT_POD_SUBNET]),
            service_subnets=tuple(network.get("serviceSubnets") or [DEFAULT_SERVICE_SUBNET]),
            cni=str(_get(network, "cni", "name", default="flannel") or "flannel"),
            proxy_disabled=bool(_get(cluster, "proxy", "disabled", default=False)),
            vip=vip, kubeprism=bool(prism.get("enabled", False)),
            kubeprism_port=int(prism.get("port") or KUBEPRISM_PORT),
            machine_ca=str(_get(machine, "ca", "crt", default="") or ""),
            cluster_id=str(cluster.get("id", "")),
            hostname=_get(machine, "network", "hostname"),
            kubernetes_version=_version_of(_get(machine, "kubelet", "image")),
            node_labels={str(k): str(v) for k, v in (machine.get("nodeLabels") or {}).items()},
            node_taints={str(k): str(v) for k, v in (machine.get("nodeTaints") or {}).items()},
            allow_scheduling_on_control_planes=bool(cluster.get("allowSchedulingOnControlPlanes", False)),
            kube_ca=str(_get(cluster, "ca", "crt", default="") or ""),
            kube_ca_key=str(_get(cluster, "ca", "key", default="") or ""),
            service_account_key=str(_get(cluster, "serviceAccount", "key", default="") or ""),
        )


def _cidr_errors(values: Any) -> list[str]:
    out = []
    for v in values or []:
        try:
            ipaddress.ip_network(str(v), strict=False)
        except ValueError:
            out.append(T.V_CIDR.format(cidr=v))
    return out


def validate(doc: dict[str, Any], disks: list[str] | None = None) -> list[str]:
    """`Validate`: errors in the config, in the order machined appends them. `disks`: the machine's disks
    (/dev/vda ...) when it is about to install, else None."""
    machine, cluster = doc.get("machine"), doc.get("cluster")
    if not isinstance(machine, dict):
        return [T.V_NO_MACHINE]
    errors: list[str] = []
    mtype = str(machine.get("type", ""))
    control_plane = mtype in ("controlplane", "init")
    if not isinstance(cluster, dict):
        errors.append(T.V_NO_CLUSTER)
        cluster = {}
    else:
        cp = cluster.get("controlPlane")
        if isinstance(cp, dict):
            endpoint = cp.get("endpoint")
            if not endpoint:
                errors.append(T.V_NO_ENDPOINT)
            else:
                parts = urlsplit(str(endpoint))
                if parts.scheme not in ("http", "https") or not parts.hostname:
                    errors.append(T.V_BAD_ENDPOINT.format(error=f'"{endpoint}" is not a valid URL'))
        elif cp is None:
            errors.append(T.V_NO_ENDPOINT)
        if cluster.get("etcd") and not control_plane:
            errors.append(T.V_ETCD_ON_WORKER)
    install = machine.get("install")
    if isinstance(install, dict) and not install.get("disk") and not install.get("diskSelector"):
        errors.append(T.V_NO_INSTALL_DISK)
    elif disks is not None and isinstance(install, dict) and install.get("disk") \
            and str(install["disk"]) not in disks:
        errors.append(T.V_INSTALL_DISK_MISSING.format(disk=install["disk"]))
    network = cluster.get("network") or {}
    errors += _cidr_errors(network.get("podSubnets")) + _cidr_errors(network.get("serviceSubnets"))
    if mtype in ("controlplane", "init"):
        cni = network.get("cni") or {}
        name = cni.get("name", "flannel") if isinstance(cni, dict) else cni
        if name not in CNI_NAMES:
            errors.append(T.V_CNI)
        elif name in ("flannel", "none") and isinstance(cni, dict) and cni.get("urls"):
            errors.append(T.V_CNI_URLS.format(name=name))
    elif mtype == "worker":
        for iface in _get(machine, "network", "interfaces", default=[]) or []:
            if isinstance(iface, dict) and iface.get("vip"):
                errors.append(T.V_VIP_ON_WORKER)
    else:
        errors.append(T.V_UNKNOWN_TYPE.format(type=mtype))
    for iface in _get(machine, "network", "interfaces", default=[]) or []:
        ip = _get(iface, "vip", "ip") if isinstance(iface, dict) else None
        if ip is not None:
            try:
                ipaddress.ip_address(str(ip))
            except ValueError:
                errors.append(T.V_VIP_IP.format(ip=ip))
    return errors
