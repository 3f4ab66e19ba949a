"""What the server serves: one `ResourceType` per (group, version, plural), the built-in table and the
types a CustomResourceDefinition adds.

The names, short names, categories, verbs and subresources are those a v1.34 apiserver publishes in
discovery (`kubectl api-resources` of a kind/Talos cluster; staging/src/k8s.io/api/*/types.go and the
registry packages pkg/registry/*/rest/storage_*.go for which subresources exist).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
NO_COLLECTION_DELETE = ("create", "delete", "get", "list", "patch", "update", "watch")

# subresource -> (group, version, kind, verbs) as discovery publishes them; "" group/version = the parent's
SUBRESOURCES = {
    "status": ("", "", "", ("get", "patch", "update")),
    "scale": ("autoscaling", "v1", "Scale", ("get", "patch", "update")),
    "log": ("", "", "Pod", ("get",)),
    "binding": ("", "v1", "Binding", ("create",)),
    "eviction": ("policy", "v1", "Eviction", ("create",)),
    "finalize": ("", "", "", ("update",)),
}


@dataclass(frozen=True)
class ResourceType:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    subresources: tuple[str, ...] = ()
    strategic: bool = True          # built-in Go types accept strategic-merge-patch; custom resources don't
    reset_status: bool = False      # create drops `status` (the controller owns it)
    generation: bool = True         # metadata.generation is kept
    crd: str | None = None          # the CustomResourceDefinition that defines it
    printer_columns: tuple[dict, ...] = ()
    storage_version: str = ""       # CRDs: all served versions share one store

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def list_kind(self) -> str:
        return self.kind + "List"

    @property
    def qualified(self) -> str:
        """`deployments.apps`, `pods`: how error messages and kubectl name a resource."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def store_key(self) -> tuple[str, str]:
        return (self.group, self.plural)

    def has(self, sub: str) -> bool:
        return sub in self.subresources


def _t(group: str, version: str, plural: str, kind: str, **kw) -> ResourceType:
    for k in ("short_names", "categories", "subresources"):
        if k in kw:
            kw[k] = tuple(kw[k])
    return ResourceType(group, version, plural, kind, **kw)


_ALL = ("all",)
_WORKLOAD = {"categories": _ALL, "reset_status": True}

BUILTINS: tuple[ResourceType, ...] = (
    _t("", "v1", "namespaces", "Namespace", namespaced=False, short_names=["ns"], verbs=NO_COLLECTION_DELETE,
       subresources=["status", "finalize"], generation=False),
    _t("", "v1", "nodes", "Node", namespaced=False, short_names=["no"], subresources=["status"]),
    _t("", "v1", "pods", "Pod", short_names=["po"], subresources=["status", "log", "binding", "eviction"],
       **_WORKLOAD),
    _t("", "v1", "services", "Service", short_names=["svc"], subresources=["status"],
       verbs=ALL_VERBS, **_WORKLOAD),
    _t("", "v1", "endpoints", "Endpoints", short_names=["ep"], generation=False),
    _t("", "v1", "configmaps", "ConfigMap", short_names=["cm"], generation=False),
    _t("", "v1", "secrets", "Secret", generation=False),
    _t("", "v1", "serviceaccounts", "ServiceAccount", short_names=["sa"], generation=False),
    _t("", "v1", "events", "Event", short_names=["ev"], generation=False),
    _t("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", short_names=["pvc"], subresources=["status"]),
    _t("", "v1", "persistentvolumes", "PersistentVolume", namespaced=False, short_names=["pv"],
       subresources=["status"]),
    _t("apps", "v1", "deployments", "Deployment", short_names=["deploy"], subresources=["status", "scale"],
       **_WORKLOAD),
    _t("apps", "v1", "replicasets", "ReplicaSet", short_names=["rs"], subresources=["status", "scale"],
       **_WORKLOAD),
    _t("apps", "v1", "daemonsets", "DaemonSet", short_names=["ds"], subresources=["status"], **_WORKLOAD),
    _t("apps", "v1", "statefulsets", "StatefulSet", short_names=["sts"], subresources=["status", "scale"],
       **_WORKLOAD),
    _t("apps", "v1", "controllerrevisions", "ControllerRevision", generation=False),
    _t("batch", "v1", "jobs", "Job", subresources=["status"], **_WORKLOAD),
    _t("batch", "v1", "cronjobs", "CronJob", short_names=["cj"], subresources=["status"], **_WORKLOAD),
    _t("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", generation=False),
    _t("coordination.k8s.io", "v1", "leases", "Lease", generation=False),
    _t("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", namespaced=False,
       short_names=["crd", "crds"], categories=["api-extensions"], subresources=["status"]),
    _t("rbac.authorization.k8s.io", "v1", "roles", "Role", generation=False),
    _t("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", generation=False),
    _t("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", namespaced=False, generation=False),
    _t("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", namespaced=False,
       generation=False),
    _t("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", short_names=["pdb"], subresources=["status"],
       reset_status=True),
    _t("storage.k8s.io", "v1", "storageclasses", "StorageClass", namespaced=False, short_names=["sc"],
       generation=False),
    _t("storage.k8s.io", "v1", "csidrivers", "CSIDriver", namespaced=False, generation=False),
    _t("scheduling.k8s.io", "v1", "priorityclasses", "PriorityClass", namespaced=False, short_names=["pc"],
       generation=False),
    _t("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", short_names=["netpol"]),
    _t("networking.k8s.io", "v1", "ingresses", "Ingress", short_names=["ing"], subresources=["status"]),
    _t("networking.k8s.io", "v1", "ingressclasses", "IngressClass", namespaced=False),
)

# Preferred order of groups in discovery (what `kubectl api-resources` prints first).
GROUP_ORDER = ("", "apps", "batch", "discovery.k8s.io", "coordination.k8s.io", "apiextensions.k8s.io",
               "rbac.authorization.k8s.io", "policy", "storage.k8s.io", "scheduling.k8s.io", "networking.k8s.io")


@dataclass
class Registry:
    """Every served type; custom resources come and go with their CRDs."""

    types: dict[tuple[str, str, str], ResourceType] = field(default_factory=dict)
    # name -> type, as `resolve` found it: every store call resolves its resource name (cleared when types change)
    _resolved: dict[str, ResourceType] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def builtin(cls) -> Registry:
        reg = cls()
        for t in BUILTINS:
            reg.add(t)
        return reg

    def add(self, t: ResourceType) -> None:
        self.types[(t.group, t.version, t.plural)] = t
        self._resolved.clear()

    def remove_crd(self, crd_name: str) -> None:
        for key in [k for k, t in self.types.items() if t.crd == crd_name]:
            del self.types[key]
        self._resolved.clear()

    def get(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self.types.get((group, version, plural))

    def all(self) -> Iterable[ResourceType]:
        return self.types.values()

    def groups(self) -> dict[str, list[str]]:
        """group -> served versions, preferred first (builtin order, then CRDs by name)."""
        out: dict[str, list[str]] = {}
        for t in sorted(self.types.values(), key=lambda t: (_group_rank(t.group), t.group)):
            vs = out.setdefault(t.group, [])
            if t.version not in vs:
                vs.append(t.version)
        for vs in out.values():
            vs.sort(key=_version_rank)
        return out

    def in_group_version(self, group: str, version: str) -> list[ResourceType]:
        return sorted((t for t in self.types.values() if t.group == group and t.version == version),
                      key=lambda t: t.plural)

    def resolve(self, name: str) -> ResourceType:
        """`pods`, `po`, `Pod`, `deployments.apps`, `apps/v1/deployments`, `cephclusters.ceph.rook.io`."""
        t = self._resolved.get(name)
        if t is None:
            t = self._resolved[name] = self._resolve(name)
        return t

    def _resolve(self, name: str) -> ResourceType:
        if name.count("/") == 2 or (name.count("/") == 1 and not name.startswith("/")):
            parts = name.split("/")
            g, v, p = (parts[0], parts[1], parts[2]) if len(parts) == 3 else ("", parts[0], parts[1])
            t = self.get(g, v, p)
            if t:
                return t
            raise KeyError(name)
        plural, _, group = name.partition(".")
        matches = []
        for t in self.types.values():
            if group and t.group != group:
                continue
            if plural in (t.plural, t.singular) or plural in t.short_names or name == t.kind or plural == t.kind:
                matches.append(t)
        if not matches:
            raise KeyError(name)
        matches.sort(key=lambda t: (_group_rank(t.group), _version_rank(t.version)))
        return matches[0]

    def for_kind(self, api_version: str, kind: str) -> ResourceType | None:
        group, _, version = api_version.rpartition("/")
        for t in self.types.values():
            if t.group == group and t.version == version and t.kind == kind:
                return t
        return None


def _group_rank(group: str) -> int:
    return GROUP_ORDER.index(group) if group in GROUP_ORDER else len(GROUP_ORDER)


def _version_rank(v: str) -> tuple[int, int, int]:
    """Kubernetes version priority: GA > beta > alpha, higher numbers first (apimachinery/pkg/version)."""
    import re
    m = re.fullmatch(r"v(\d+)(?:(alpha|beta)(\d+))?", v)
    if not m:
        return (3, 0, 0)
    major, level, minor = int(m.group(1)), m.group(2), int(m.group(3) or 0)
    lvl = {None: 0, "beta": 1, "alpha": 2}[level]
    return (lvl, -major, -minor)
