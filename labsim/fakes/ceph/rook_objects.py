"""The Kubernetes objects Rook's operator creates for a CephCluster's daemons (names, labels, volumes and
security contexts as rook/rook pkg/operator/ceph/cluster/{mon,mgr,osd} build them, trimmed to what the lab
and `kubectl` show). Host paths and privileged OSDs are why PodSecurity must allow `privileged` here."""
from __future__ import annotations

from typing import Any

DATA_DIR = "/var/lib/rook"


def _host_path(name: str, path: str) -> dict[str, Any]:
    return {"name": name, "hostPath": {"path": path, "type": ""}}


def _common_volumes(ns: str) -> list[dict[str, Any]]:
    override = {"sources": [{"configMap": {"name": "rook-config-override"}}]}
    return [{"name": "rook-config-override", "projected": override},
            _host_path("rook-ceph-log", f"{DATA_DIR}/{ns}/log"),
            _host_path("rook-ceph-crash", f"{DATA_DIR}/{ns}/crash")]


def _deployment(name: str, ns: str, labels: dict[str, str], node: str, containers: list[dict],
                volumes: list[dict], init: list[dict] | None = None, priority: str = "") -> dict[str, Any]:
    spec: dict[str, Any] = {"nodeSelector": {"kubernetes.io/hostname": node}, "containers": containers,
                            "volumes": volumes, "serviceAccountName": "rook-ceph-default",
                            "restartPolicy": "Always"}
    if init:
        spec["initContainers"] = init
    if priority:
        spec["priorityClassName"] = priority
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": ns, "labels": labels},
            "spec": {"replicas": 1, "strategy": {"type": "Recreate"},
                     "selector": {"matchLabels": {k: labels[k] for k in ("app", "rook_cluster") if k in labels}
                                  | {k: v for k, v in labels.items() if k in ("mon", "mgr", "ceph-osd-id")}},
                     "template": {"metadata": {"labels": labels}, "spec": spec}}}


def mon(ns: str, name: str, node: str, image: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(Service, Deployment) of mon `name`: Rook gives each mon a ClusterIP Service; its data lives on the host."""
    labels = {"app": "rook-ceph-mon", "mon": name, "ceph_daemon_type": "mon", "ceph_daemon_id": name,
              "mon_cluster": ns, "rook_cluster": ns}
    svc = {"apiVersion": "v1", "kind": "Service",
           "metadata": {"name": f"rook-ceph-mon-{name}", "namespace": ns, "labels": labels},
           "spec": {"selector": {"app": "rook-ceph-mon", "mon": name, "mon_cluster": ns, "rook_cluster": ns},
                    "ports": [{"name": "tcp-msgr1", "port": 6789, "protocol": "TCP", "targetPort": 6789},
                              {"name": "tcp-msgr2", "port": 3300, "protocol": "TCP", "targetPort": 3300}]}}
    vols = _common_volumes(ns) + [_host_path("ceph-daemon-data", f"{DATA_DIR}/mon-{name}/data")]
    dep = _deployment(f"rook-ceph-mon-{name}", ns, labels, node,
                      [{"name": "mon", "image": image, "command": ["ceph-mon"],
                        "ports": [{"containerPort": 3300, "name": "tcp-msgr2"},
                                  {"containerPort": 6789, "name": "tcp-msgr1"}]}],
                      vols, init=[{"name": "init-mon-fs", "image": image, "command": ["ceph-mon"]}],
                      priority="system-node-critical")
    return svc, dep


def mgr(ns: str, name: str, node: str, image: str) -> dict[str, Any]:
    labels = {"app": "rook-ceph-mgr", "mgr": name, "ceph_daemon_type": "mgr", "ceph_daemon_id": name,
              "rook_cluster": ns}
    return _deployment(f"rook-ceph-mgr-{name}", ns, labels, node,
                       [{"name": "mgr", "image": image, "command": ["ceph-mgr"],
                         "ports": [{"containerPort": 6800, "name": "mgr"},
                                   {"containerPort": 9283, "name": "http-metrics"},
                                   {"containerPort": 8443, "name": "dashboard"}]}],
                       _common_volumes(ns) + [_host_path("ceph-daemon-data", f"{DATA_DIR}/{ns}/mgr-{name}")],
                       priority="system-cluster-critical")


def osd(ns: str, osd_id: int, node: str, dev: str, image: str, fsid: str, uuid: str) -> dict[str, Any]:
    labels = {"app": "rook-ceph-osd", "ceph-osd-id": str(osd_id), "osd": str(osd_id), "ceph_daemon_type": "osd",
              "ceph_daemon_id": str(osd_id), "failure-domain": node, "topology-location-host": node,
              "topology-location-root": "default", "device-class": "hdd", "osd-store": "bluestore",
              "ceph.rook.io/DeviceSet": "", "rook_cluster": ns}
    privileged = {"privileged": True, "readOnlyRootFilesystem": False, "runAsUser": 0}
    vols = _common_volumes(ns) + [_host_path("rook-data", DATA_DIR), _host_path("devices", "/dev"),
                                  _host_path("run-udev", "/run/udev"),
                                  _host_path("activate-osd", f"{DATA_DIR}/{ns}/{fsid}_{uuid}")]
    return _deployment(f"rook-ceph-osd-{osd_id}", ns, labels, node,
                       [{"name": "osd", "image": image, "command": ["ceph-osd"], "securityContext": privileged,
                         "env": [{"name": "ROOK_OSD_UUID", "value": uuid}, {"name": "ROOK_BLOCK_PATH", "value": dev}]}],
                       vols, init=[{"name": "activate", "image": image, "securityContext": privileged}],
                       priority="system-node-critical")


def prepare_job(ns: str, node: str, image: str, rook_image: str) -> dict[str, Any]:
    """The per-node OSD prepare job: it inventories the node's disks and configures the blank ones."""
    labels = {"app": "rook-ceph-osd-prepare", "ceph.rook.io/pvc": "", "rook_cluster": ns}
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": f"rook-ceph-osd-prepare-{node}", "namespace": ns, "labels": labels},
            "spec": {"backoffLimit": 6, "template": {"metadata": {"labels": labels}, "spec": {
                "nodeSelector": {"kubernetes.io/hostname": node}, "restartPolicy": "OnFailure",
                "serviceAccountName": "rook-ceph-osd",
                "containers": [{"name": "provision", "image": image, "command": ["/rook/rook"],
                                "args": ["ceph", "osd", "provision"],
                                "securityContext": {"privileged": True, "runAsUser": 0}}],
                "initContainers": [{"name": "copy-bins", "image": rook_image}],
                "volumes": [_host_path("rook-data", DATA_DIR), _host_path("devices", "/dev"),
                            _host_path("udev", "/run/udev"), _host_path("rootfs", "/")]}}}}
