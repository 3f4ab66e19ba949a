"""The two charts' values from a cluster's `ceph:` section (labs/*.yaml; rook-ceph-cluster values.yaml keys).

Pools become CephBlockPools (the first one carries the default StorageClass `ceph-block`); `ceph-filesystem`
and `ceph-bucket` among the storage classes keep the chart's CephFilesystem and CephObjectStore, with the
failure domain and replica size of the first pool. The toolbox is always on: verification reads through it.
"""
from __future__ import annotations

from typing import Any

CHART_VERSION = "v1.18.6"
REPO = ("rook-release", "https://charts.rook.io/release")
NAMESPACE_LABEL = ("pod-security.kubernetes.io/enforce", "privileged")


def operator_values(ceph) -> dict[str, Any]:
    return {"crds": {"enabled": True}, "currentNamespaceOnly": False, "enableDiscoveryDaemon": False}


def _replicated(pool) -> dict[str, Any]:
    spec: dict[str, Any] = {"failureDomain": pool.failure_domain, "replicated": {"size": pool.size}}
    if pool.min_size:
        spec["parameters"] = {"min_size": str(pool.min_size)}
    return spec


def cluster_values(ceph) -> dict[str, Any]:
    devices = list(ceph.devices)
    storage: dict[str, Any] = {"useAllNodes": True, "useAllDevices": bool(ceph.use_all_devices) and not devices}
    if devices:
        storage["devices"] = [{"name": d} for d in devices]
    first = ceph.pools[0] if ceph.pools else None
    classes = set(ceph.storage_classes)
    blocks = [{"name": p.name, "spec": _replicated(p),
               "storageClass": {"enabled": i == 0 and "ceph-block" in classes, "name": "ceph-block", "isDefault": True,
                                "reclaimPolicy": "Delete", "allowVolumeExpansion": True,
                                "volumeBindingMode": "Immediate"}}
              for i, p in enumerate(ceph.pools)]
    dom = first.failure_domain if first else "host"
    size = first.size if first else 3
    out: dict[str, Any] = {
        "operatorNamespace": ceph.namespace,
        "toolbox": {"enabled": True},
        "cephClusterSpec": {"mon": {"count": ceph.mons, "allowMultiplePerNode": ceph.allow_multiple_per_node},
                            "mgr": {"count": ceph.mgrs, "allowMultiplePerNode": ceph.allow_multiple_per_node},
                            "storage": storage},
        "cephFileSystems": [] if "ceph-filesystem" not in classes else [{
            "name": "ceph-filesystem",
            "spec": {"metadataPool": {"replicated": {"size": size}},
                     "dataPools": [{"failureDomain": dom, "replicated": {"size": size}, "name": "data0"}],
                     "metadataServer": {"activeCount": 1, "activeStandby": True}},
            "storageClass": {"enabled": True, "name": "ceph-filesystem", "pool": "data0"}}],
        "cephObjectStores": [] if "ceph-bucket" not in classes else [{
            "name": "ceph-objectstore",
            "spec": {"metadataPool": {"failureDomain": dom, "replicated": {"size": size}},
                     "dataPool": {"failureDomain": dom, "erasureCoded": {"dataChunks": 2, "codingChunks": 1}},
                     "preservePoolsOnDelete": True, "gateway": {"port": 80, "instances": 1}},
            "storageClass": {"enabled": True, "name": "ceph-bucket"}}],
    }
    if blocks:
        out["cephBlockPools"] = blocks
    if getattr(ceph, "image", None):
        out["cephClusterSpec"]["cephVersion"] = {"image": ceph.image}
    return out


def planned_osds(cluster) -> dict[str, int]:
    """Node -> OSDs the lab file plans there: one per `purpose: ceph` disk of each VM Rook may run on."""
    cps = bool(getattr(cluster, "allow_scheduling_on_control_planes", False))
    return {vm.name: len(vm.ceph_disks) for vm in cluster.vms()
            if vm.ceph_disks and (vm.role == "worker" or cps)}
