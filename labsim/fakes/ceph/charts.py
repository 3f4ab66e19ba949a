"""The two Rook charts as the fake `helm` renders them (rook/rook deploy/charts/rook-ceph and rook-ceph-cluster,
values.yaml defaults kept where the lab relies on them). Imported by the fake helm in its own process: no
world imports. The operator side of what these objects cause lives in rook.py.

- rook-ceph: the CRDs, the operator's ServiceAccount/RBAC/ConfigMap and the `rook-ceph-operator` Deployment.
- rook-ceph-cluster: the `CephCluster` (named after the release namespace), `CephBlockPool`s, `CephFilesystem`s,
  `CephObjectStore`s with their StorageClasses, and the `rook-ceph-tools` toolbox when `toolbox.enabled`.
"""
from __future__ import annotations

import copy
from typing import Any

VERSIONS = ["1.17.9", "1.18.0", "1.18.6"]
ROOK_IMAGE = "docker.io/rook/ceph:v{version}"
CEPH_IMAGE = "quay.io/ceph/ceph:v19.2.3"
GROUP = "ceph.rook.io"
PART_OF = {"app.kubernetes.io/part-of": "rook-ceph-operator", "app.kubernetes.io/managed-by": "Helm"}

OPERATOR_DEFAULTS: dict[str, Any] = {
    "crds": {"enabled": True},
    "image": {"repository": "docker.io/rook/ceph", "tag": None, "pullPolicy": "IfNotPresent"},
    "logLevel": "INFO",
    "currentNamespaceOnly": False,
    "enableDiscoveryDaemon": False,
    "csi": {"enableRbdDriver": True, "enableCephfsDriver": True},
    "resources": {"limits": {"memory": "512Mi"}, "requests": {"cpu": "200m", "memory": "128Mi"}},
}

CLUSTER_DEFAULTS: dict[str, Any] = {
    "operatorNamespace": "rook-ceph",
    "clusterName": None,
    "toolbox": {"enabled": False, "image": None},
    "monitoring": {"enabled": False},
    "cephClusterSpec": {
        "cephVersion": {"image": CEPH_IMAGE, "allowUnsupported": False},
        "dataDirHostPath": "/var/lib/rook",
        "skipUpgradeChecks": False, "continueUpgradeAfterChecksEvenIfNotHealthy": False,
        "waitTimeoutForHealthyOSDInMinutes": 10,
        "mon": {"count": 3, "allowMultiplePerNode": False},
        "mgr": {"count": 2, "allowMultiplePerNode": False, "modules": [{"name": "rook", "enabled": True}]},
        "dashboard": {"enabled": True, "ssl": True},
        "network": {"connections": {"encryption": {"enabled": False}, "compression": {"enabled": False},
                                    "requireMsgr2": False}},
        "crashCollector": {"disable": False},
        "cleanupPolicy": {"confirmation": "", "sanitizeDisks": {"method": "quick", "dataSource": "zero",
                                                                "iteration": 1}, "allowUninstallWithVolumes": False},
        "storage": {"useAllNodes": True, "useAllDevices": True},
        "priorityClassNames": {"mon": "system-node-critical", "osd": "system-node-critical",
                               "mgr": "system-cluster-critical"},
        "disruptionManagement": {"managePodBudgets": True, "osdMaintenanceTimeout": 30},
        "healthCheck": {"daemonHealth": {"mon": {"disabled": False, "interval": "45s"},
                                         "osd": {"disabled": False, "interval": "60s"},
                                         "status": {"disabled": False, "interval": "60s"}},
                        "livenessProbe": {"mon": {"disabled": False}, "mgr": {"disabled": False},
                                          "osd": {"disabled": False}}},
    },
    "cephBlockPools": [{
        "name": "ceph-blockpool",
        "spec": {"failureDomain": "host", "replicated": {"size": 3}},
        "storageClass": {"enabled": True, "name": "ceph-block", "isDefault": True, "reclaimPolicy": "Delete",
                         "allowVolumeExpansion": True, "volumeBindingMode": "Immediate",
                         "parameters": {"imageFormat": "2", "imageFeatures": "layering",
                                        "csi.storage.k8s.io/fstype": "ext4"}}}],
    "cephFileSystems": [{
        "name": "ceph-filesystem",
        "spec": {"metadataPool": {"replicated": {"size": 3}},
                 "dataPools": [{"failureDomain": "host", "replicated": {"size": 3}, "name": "data0"}],
                 "metadataServer": {"activeCount": 1, "activeStandby": True}},
        "storageClass": {"enabled": True, "isDefault": False, "name": "ceph-filesystem", "pool": "data0",
                         "reclaimPolicy": "Delete", "allowVolumeExpansion": True, "volumeBindingMode": "Immediate",
                         "parameters": {"csi.storage.k8s.io/fstype": "ext4"}}}],
    "cephObjectStores": [{
        "name": "ceph-objectstore",
        "spec": {"metadataPool": {"failureDomain": "host", "replicated": {"size": 3}},
                 "dataPool": {"failureDomain": "host", "erasureCoded": {"dataChunks": 2, "codingChunks": 1}},
                 "preservePoolsOnDelete": True, "gateway": {"port": 80, "instances": 1}},
        "storageClass": {"enabled": True, "name": "ceph-bucket", "reclaimPolicy": "Delete",
                         "volumeBindingMode": "Immediate", "parameters": {"region": "us-east-1"}}}],
}

OPERATOR_NOTES = (
    "The Rook Operator has been installed. Check its status by running:\n"
    "  kubectl --namespace rook-ceph get pods -l \"app=rook-ceph-operator\"\n\n"
    "Visit https://rook.io/docs/rook/latest for instructions on how to create and configure Rook clusters\n\n"
    "Important Notes:\n"
    "- You must customize the 'CephCluster' resource in the sample manifests for your cluster.\n"
    "- Each CephCluster must be deployed to its own namespace, the samples use `rook-ceph` for the namespace.\n"
    "- The sample manifests assume you also installed the rook-ceph operator in the `rook-ceph` namespace.\n"
    "- The helm chart includes all the RBAC required to create a CephCluster CRD in the same namespace.\n"
    "- Any disk devices you add to the cluster in the 'CephCluster' must be empty (no filesystem and no "
    "partitions).\n")
CLUSTER_NOTES = (
    "The Ceph Cluster has been installed. Check its status by running:\n"
    "  kubectl --namespace rook-ceph get cephcluster\n\n"
    "Visit https://rook.io/docs/rook/latest/CRDs/ceph-cluster-crd/ for more information about the Ceph CRD.\n\n"
    "Important Notes:\n"
    "- You can only deploy a single cluster per namespace\n"
    "- If you wish to delete this cluster and start fresh, you will also have to wipe the OSD disks using "
    "`sfdisk`\n")

# kind -> (plural, short names, printer columns): what `kubectl get cephcluster` shows (rook's CRD).
CRDS: dict[str, tuple[str, list[str], list[dict[str, Any]]]] = {
    "CephCluster": ("cephclusters", ["ceph"], [
        {"name": "DataDirHostPath", "type": "string", "jsonPath": ".spec.dataDirHostPath",
         "description": "Directory used on the K8s nodes"},
        {"name": "MonCount", "type": "string", "jsonPath": ".spec.mon.count", "description": "Number of MONs"},
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
        {"name": "Phase", "type": "string", "jsonPath": ".status.phase", "description": "Phase"},
        {"name": "Message", "type": "string", "jsonPath": ".status.message", "description": "Message"},
        {"name": "Health", "type": "string", "jsonPath": ".status.ceph.health", "description": "Ceph Health"},
        {"name": "External", "type": "boolean", "jsonPath": ".spec.external.enable"},
        {"name": "FSID", "type": "string", "jsonPath": ".status.ceph.fsid", "description": "Ceph FSID"}]),
    "CephBlockPool": ("cephblockpools", ["cephbp"], [
        {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
        {"name": "Type", "type": "string", "jsonPath": ".status.info.type"},
        {"name": "FailureDomain", "type": "string", "jsonPath": ".status.info.failureDomain"},
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}]),
    "CephFilesystem": ("cephfilesystems", ["cephfs"], [
        {"name": "ActiveMDS", "type": "string", "jsonPath": ".spec.metadataServer.activeCount"},
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
        {"name": "Phase", "type": "string", "jsonPath": ".status.phase"}]),
    "CephObjectStore": ("cephobjectstores", ["cephos"], [
        {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
        {"name": "Endpoint", "type": "string", "jsonPath": ".status.info.endpoint"},
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}]),
}


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Helm's coalescing: maps merge, everything else (lists included) is replaced."""
    out = copy.deepcopy(base)
    for k, v in (over or {}).items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else copy.deepcopy(v)
    return out


def _meta(name: str, ns: str | None, release: str, chart: str, version: str, labels: dict | None = None) -> dict:
    md: dict[str, Any] = {"name": name, "labels": {**PART_OF, "helm.sh/chart": f"{chart}-v{version}",
                                                   **(labels or {})},
                          "annotations": {"meta.helm.sh/release-name": release}}
    if ns:
        md["namespace"] = ns
        md["annotations"]["meta.helm.sh/release-namespace"] = ns
    return md


def crd(kind: str) -> dict[str, Any]:
    plural, short, columns = CRDS[kind]
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{plural}.{GROUP}", "annotations": {"helm.sh/resource-policy": "keep"}},
            "spec": {"group": GROUP, "scope": "Namespaced",
                     "names": {"kind": kind, "listKind": f"{kind}List", "plural": plural,
                               "singular": kind.lower(), "shortNames": short},
                     "versions": [{"name": "v1", "served": True, "storage": True, "subresources": {"status": {}},
                                   "additionalPrinterColumns": columns,
                                   "schema": {"openAPIV3Schema": {"type": "object",
                                                                  "x-kubernetes-preserve-unknown-fields": True}}}]}}


def render_operator(values: dict[str, Any], *, release: str, namespace: str, version: str,
                    **_: Any) -> list[dict[str, Any]]:
    ns = namespace
    meta = lambda name, labels=None: _meta(name, ns, release, "rook-ceph", version, labels)
    image = f"{values['image']['repository']}:{values['image']['tag'] or 'v' + version}"
    objs: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(n)}
        for n in ("rook-ceph-system", "rook-ceph-default", "rook-ceph-mgr", "rook-ceph-osd", "rook-ceph-cmd-reporter")]
    objs.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("rook-ceph-operator-config"),
                 "data": {"ROOK_LOG_LEVEL": values["logLevel"], "ROOK_CEPH_COMMANDS_TIMEOUT_SECONDS": "15",
                          "ROOK_ENABLE_DISCOVERY_DAEMON": str(values["enableDiscoveryDaemon"]).lower(),
                          "ROOK_CSI_ENABLE_RBD": str(values["csi"]["enableRbdDriver"]).lower(),
                          "ROOK_CSI_ENABLE_CEPHFS": str(values["csi"]["enableCephfsDriver"]).lower()}})
    if values["crds"]["enabled"]:
        objs += [crd(k) for k in CRDS]
    objs.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                 "metadata": _meta("rook-ceph-system", None, release, "rook-ceph", version),
                 "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]})
    objs.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                 "metadata": _meta("rook-ceph-system", None, release, "rook-ceph", version),
                 "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                             "name": "rook-ceph-system"},
                 "subjects": [{"kind": "ServiceAccount", "name": "rook-ceph-system", "namespace": ns}]})
    labels = {"app": "rook-ceph-operator"}
    objs.append({"apiVersion": "apps/v1", "kind": "Deployment",
                 "metadata": meta("rook-ceph-operator", {"operator": "rook", "storage-backend": "ceph", **labels}),
                 "spec": {"replicas": 1, "selector": {"matchLabels": labels}, "strategy": {"type": "Recreate"},
                          "template": {"metadata": {"labels": labels}, "spec": {
                              "serviceAccountName": "rook-ceph-system",
                              "containers": [{
                                  "name": "rook-ceph-operator", "image": image, "args": ["ceph", "operator"],
                                  "securityContext": {"runAsNonRoot": True, "runAsUser": 2016, "runAsGroup": 2016,
                                                      "capabilities": {"drop": ["ALL"]}},
                                  "env": [{"name": "ROOK_CURRENT_NAMESPACE_ONLY",
                                           "value": str(values["currentNamespaceOnly"]).lower()}],
                                  "resources": values["resources"]}]}}}})
    return objs


def render_cluster(values: dict[str, Any], *, release: str, namespace: str, version: str,
                   **_: Any) -> list[dict[str, Any]]:
    ns = namespace
    meta = lambda name, labels=None: _meta(name, ns, release, "rook-ceph-cluster", version, labels)
    sc_meta = lambda name: _meta(name, None, release, "rook-ceph-cluster", version)
    name = values.get("clusterName") or ns
    objs: list[dict[str, Any]] = []
    classes: list[dict[str, Any]] = []
    op_ns = values["operatorNamespace"]
    kinds = (  # values key, kind, StorageClass provisioner, its parameters
        ("cephBlockPools", "CephBlockPool", f"{op_ns}.rbd.csi.ceph.com",
         lambda it, sc: {"clusterID": ns, "pool": it["name"]}),
        ("cephFileSystems", "CephFilesystem", f"{op_ns}.cephfs.csi.ceph.com",
         lambda it, sc: {"clusterID": ns, "fsName": it["name"], "pool": f"{it['name']}-{sc.get('pool', 'data0')}"}),
        ("cephObjectStores", "CephObjectStore", f"{ns}.ceph.rook.io/bucket",
         lambda it, sc: {"objectStoreName": it["name"], "objectStoreNamespace": ns}))
    for key, kind, provisioner, params in kinds:
        for item in values.get(key) or []:
            objs.append({"apiVersion": f"{GROUP}/v1", "kind": kind, "metadata": meta(item["name"]),
                         "spec": item.get("spec") or {}})
            sc = item.get("storageClass") or {}
            if sc.get("enabled"):
                classes.append(_storage_class(sc, sc_meta, provisioner,
                                              {**params(item, sc), **(sc.get("parameters") or {})}))
    out: list[dict[str, Any]] = classes
    if (values.get("toolbox") or {}).get("enabled"):
        out.append(toolbox(values, meta))
    out.append({"apiVersion": f"{GROUP}/v1", "kind": "CephCluster", "metadata": meta(name),
                "spec": values["cephClusterSpec"]})
    return out + objs


def _storage_class(sc: dict[str, Any], meta, provisioner: str, parameters: dict[str, Any]) -> dict[str, Any]:
    md = meta(sc["name"])
    if sc.get("isDefault"):
        md["annotations"]["storageclass.kubernetes.io/is-default-class"] = "true"
    obj = {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": md, "provisioner": provisioner,
           "parameters": {k: str(v) for k, v in parameters.items()},
           "reclaimPolicy": sc.get("reclaimPolicy", "Delete"),
           "volumeBindingMode": sc.get("volumeBindingMode", "Immediate")}
    if "allowVolumeExpansion" in sc:
        obj["allowVolumeExpansion"] = sc["allowVolumeExpansion"]
    return obj


def toolbox(values: dict[str, Any], meta) -> dict[str, Any]:
    """deploy/examples/toolbox.yaml as the chart templates it (`rook-ceph-tools`, label app=rook-ceph-tools)."""
    image = (values.get("toolbox") or {}).get("image") or values["cephClusterSpec"]["cephVersion"]["image"]
    labels = {"app": "rook-ceph-tools"}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta("rook-ceph-tools", labels),
            "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": {
                         "dnsPolicy": "ClusterFirstWithHostNet",
                         "containers": [{"name": "rook-ceph-tools", "image": image,
                                         "command": ["/bin/bash", "-c", "/usr/local/bin/toolbox.sh"],
                                         "tty": True,
                                         "securityContext": {"runAsNonRoot": True, "runAsUser": 2016,
                                                             "runAsGroup": 2016,
                                                             "capabilities": {"drop": ["ALL"]}}}],
                         "tolerations": [{"key": "node.kubernetes.io/unreachable", "operator": "Exists",
                                          "effect": "NoExecute", "tolerationSeconds": 5}]}}}}


# --- how the fake helm knows them (labsim/fakes/tools/helm_charts.py registers these) ---------------------------------
URL = "https://charts.rook.io/release/"
CHARTS: dict[str, tuple[str, Any, dict[str, Any], str]] = {   # name -> (description, render, defaults, notes)
    "rook-ceph": ("File, Block, and Object Storage Services for your Cloud-Native Environment", render_operator,
                  OPERATOR_DEFAULTS, OPERATOR_NOTES),
    "rook-ceph-cluster": ("Manages a single Ceph cluster namespace for Rook", render_cluster, CLUSTER_DEFAULTS,
                          CLUSTER_NOTES),
}
# kind -> (API prefix, plural, namespaced) for the kinds these charts create that helm's client must know
KUBE_KINDS: dict[str, tuple[str, str, bool]] = {
    "CustomResourceDefinition": ("/apis/apiextensions.k8s.io/v1", "customresourcedefinitions", False),
    "StorageClass": ("/apis/storage.k8s.io/v1", "storageclasses", False),
    **{kind: (f"/apis/{GROUP}/v1", plural, True) for kind, (plural, _, _) in CRDS.items()},
}
