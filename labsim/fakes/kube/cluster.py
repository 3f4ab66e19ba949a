"""One simulated Kubernetes cluster: the apiserver's semantics over the object store, and the hooks the
rest of the world (Talos, Cilium, Ceph helpers) drives it through.

    cluster = KubeCluster("cp-e", clock, seed=0)
    cluster.register_node("cp-e-1", addresses=[("InternalIP", "192.168.15.11")], control_plane=True)
    cluster.bootstrap_control_plane(["cp-e-1"])
    cluster.create("configmaps", {"metadata": {"name": "x"}, "data": {"a": "b"}}, "default")
    cluster.get("deployments.apps", "coredns", "kube-system")
    cluster.patch("nodes", "cp-e-1", {"spec": {"unschedulable": True}})
    clock.sleep(5)                       # controllers, scheduler and kubelets act in virtual time

`resource` arguments take a name (`pods`, `po`, `Deployment`, `deployments.apps`, `apps/v1/deployments`,
`cephclusters.ceph.rook.io`) or a `ResourceType`. Every method raises `errors.KubeError` exactly where the
apiserver would answer with a failure Status. The cluster lock is the virtual clock's lock, so HTTP threads,
controllers and the world never interleave half-way through a change.
"""
from __future__ import annotations

import random
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

from labsim.fakes.clock import VirtualClock
from labsim.fakes.kube import crd as crds
from labsim.fakes.kube import defaults, managed, rbac, validation
from labsim.fakes.kube import gotypes as G
from labsim.fakes.kube.auth import ServiceAccountKeys
from labsim.fakes.kube import errors as E
from labsim.fakes.kube import patch as P
from labsim.fakes.kube.ipam import IPAM
from labsim.fakes.kube.meta import ALPHANUMS, deep, micro, rfc3339
from labsim.fakes.kube.resources import Registry, ResourceType
from labsim.fakes.kube.selectors import (
    FieldSelector,
    LabelSelector,
    from_object,
    parse_fields,
    parse_labels,
)
from labsim.fakes.kube.store import Store

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
PATCH_TYPES = {
    "merge": "application/merge-patch+json",
    "strategic": "application/strategic-merge-patch+json",
    "json": "application/json-patch+json",
    "apply": "application/apply-patch+yaml",
}


class KubeCluster:
    def __init__(self, name: str, clock: VirtualClock, *, version: str = "v1.34.1", seed: int = 0,
                 service_subnet: str = "10.96.0.0/12", pod_subnet: str = "10.244.0.0/16",
                 cluster_domain: str = "cluster.local", history: int = 10000, controllers: bool = True,
                 sa_keys: ServiceAccountKeys | None = None):
        from labsim.fakes.kube.controllers import Controllers
        from labsim.fakes.kube.faults import Faults
        self.name = name
        self.clock = clock
        self.version = version
        self.lock = clock._lock
        self.random = random.Random(f"kube:{name}:{seed}")
        self.registry = Registry.builtin()
        self.store = Store(history=history)
        self.authz: dict = {}     # RBAC answers, each valid while no role or binding changes (rbac.authorize)
        self.ipam = IPAM(service_subnet, pod_subnet, self.random)
        self.cluster_domain = cluster_domain
        # signs and checks ServiceAccount tokens (Talos: the cluster's cluster.serviceAccount.key)
        self.sa_keys = sa_keys or ServiceAccountKeys(issuer=f"https://kubernetes.default.svc.{cluster_domain}")
        self.logs: dict[tuple[str, str, str], list[tuple[float, str]]] = {}
        # Hooks the world installs. pod_admission: fn(pod, node) -> PodBlocked | None (may the kubelet start
        # this pod's sandbox?). pod_behaviour: fn(pod) -> PodBehaviour | None (how its containers run).
        self.pod_admission: list[Callable[[dict, dict], Any]] = []
        self.pod_behaviour: list[Callable[[dict], Any]] = []
        # admission: fn(resource type, object) on create; raising KubeError refuses it (PodSecurity, ...)
        self.admission: list[Callable[[Any, dict], None]] = []
        self.faults = Faults(self)
        self._applied: dict[tuple, dict] = {}
        self.request_counts: Counter = Counter()     # (verb, group, version, resource, code): /metrics
        self._event_index: dict[tuple, str] = {}
        self._event_seq = 0
        self.controllers = Controllers(self, enabled=controllers)
        with self.lock:
            for ns in SYSTEM_NAMESPACES:
                self.create("namespaces", {"metadata": {"name": ns}})
            for pc, value in defaults.SYSTEM_PRIORITIES.items():
                self.create("priorityclasses", {"metadata": {"name": pc}, "value": value, "globalDefault": False,
                                                "preemptionPolicy": "PreemptLowerPriority",
                                                "description": "Used for system critical pods that must run in "
                                                               "the cluster, but can be moved to another node if "
                                                               "necessary." if pc == "system-cluster-critical" else
                                                "Used for system critical pods that must not be moved from their "
                                                "current node."})
            self.create("services", {
                "metadata": {"name": "kubernetes", "labels": {"component": "apiserver", "provider": "kubernetes"}},
                "spec": {"clusterIP": self.ipam.service_ip(1),
                         "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}]}},
                "default")
            rbac.bootstrap(self)

    def count_request(self, method: str, path: str, query: dict[str, str], code: int) -> None:
        a = rbac.attributes(method, path, query)
        if a.resource_request:
            self.request_counts[(a.verb.upper(), a.group, a.version, a.resource, code)] += 1

    # --- time and identity ------------------------------------------------------------------------------
    def now(self) -> str:
        return rfc3339(self.clock.utcnow())

    def now_micro(self) -> str:
        return micro(self.clock.utcnow())

    def new_uid(self) -> str:
        return str(uuid.UUID(int=self.random.getrandbits(128), version=4))

    def random_suffix(self, n: int = 5) -> str:
        return "".join(self.random.choice(ALPHANUMS) for _ in range(n))

    def priority_of(self, class_name: str | None) -> int:
        if not class_name:
            return 0
        pc = self.store.get(("scheduling.k8s.io", "priorityclasses"), "", class_name)
        return int(pc.get("value", 0)) if pc else 0

    # --- resolution -----------------------------------------------------------------------------------------
    def rtype(self, resource: str | ResourceType) -> ResourceType:
        if isinstance(resource, ResourceType):
            return resource
        try:
            return self.registry.resolve(resource)
        except KeyError:
            raise E.resource_not_found() from None

    def _ns(self, rt: ResourceType, namespace: str | None, obj: dict[str, Any] | None = None) -> str:
        if not rt.namespaced:
            return ""
        return namespace or ((obj or {}).get("metadata") or {}).get("namespace") or "default"

    def _out(self, rt: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
        out = deep(obj)
        out["apiVersion"] = rt.api_version
        out["kind"] = rt.kind
        return out

    # --- reads ----------------------------------------------------------------------------------------------
    def get(self, resource: str | ResourceType, name: str, namespace: str | None = None) -> dict[str, Any]:
        rt = self.rtype(resource)
        with self.lock:
            obj = self.store.get(rt.store_key, self._ns(rt, namespace), name)
            if obj is None:
                raise E.not_found(rt.plural, name, rt.group)
            return self._out(rt, obj)

    def try_get(self, resource: str | ResourceType, name: str, namespace: str | None = None) -> dict | None:
        try:
            return self.get(resource, name, namespace)
        except E.KubeError as err:
            if err.code == 404:
                return None
            raise

    def list(self, resource: str | ResourceType, namespace: str | None = None, *,
             labels: str | dict | LabelSelector | None = None,
             fields: str | FieldSelector | None = None) -> list[dict[str, Any]]:
        """Objects (copies) sorted by namespace/name; `labels` as a selector string or `matchLabels` dict."""
        rt = self.rtype(resource)
        with self.lock:
            return [self._out(rt, o) for o in self.select(rt, namespace, labels, fields)]

    def select(self, rt: ResourceType, namespace: str | None, labels: Any = None, fields: Any = None) -> list[dict]:
        """The live objects (not copies) matching: for controllers and the HTTP layer, under the lock."""
        if isinstance(labels, str) or labels is None:
            lsel = parse_labels(labels)
        elif isinstance(labels, LabelSelector):
            lsel = labels
        else:
            lsel = from_object({"matchLabels": labels} if "matchLabels" not in labels
                               and "matchExpressions" not in labels else labels)
        fsel = parse_fields(fields, rt.plural) if isinstance(fields, str) or fields is None else fields
        ns = namespace if rt.namespaced else None
        return [o for o in self.store.items(rt.store_key, ns or None)
                if lsel.matches(o["metadata"].get("labels")) and fsel.matches(o, rt.plural)]

    def live(self, resource: str | ResourceType, name: str, namespace: str = "") -> dict[str, Any] | None:
        """The stored object itself (no copy); controllers read it under the lock and never mutate it."""
        rt = self.rtype(resource)
        return self.store.get(rt.store_key, namespace if rt.namespaced else "", name)

    # --- create -----------------------------------------------------------------------------------------
    def create(self, resource: str | ResourceType, obj: dict[str, Any], namespace: str | None = None, *,
               dry_run: bool = False, field_manager: str | None = None, keep_status: bool = False,
               subresource: str | None = None) -> dict[str, Any]:
        rt = self.rtype(resource)
        if subresource:
            raise E.method_not_allowed()
        with self.lock:
            obj = deep(obj)
            self._check_type(rt, obj)
            md = obj.setdefault("metadata", {})
            if not isinstance(md, dict):
                raise E.bad_request("metadata must be an object")
            ns = self._ns(rt, namespace, obj)
            if rt.namespaced:
                if md.get("namespace") and namespace and md["namespace"] != namespace:
                    raise E.bad_request("the namespace of the provided object does not match the namespace "
                                        "sent on the request")
                md["namespace"] = ns
                self._check_namespace(rt, ns, md.get("name") or md.get("generateName") or "")
            else:
                md.pop("namespace", None)
            if not md.get("name") and md.get("generateName"):
                for _ in range(20):
                    candidate = md["generateName"] + self.random_suffix()
                    if self.store.get(rt.store_key, ns, candidate) is None:
                        md["name"] = candidate
                        break
            obj["apiVersion"], obj["kind"] = rt.api_version, rt.kind
            validation.check(rt, obj, creating=True)
            if rt.kind == "CustomResourceDefinition":
                why = crds.check_name(obj)
                if why:
                    raise E.invalid(rt.kind, rt.group, md["name"], [E.invalid_value("metadata.name", md["name"], why)])
            if self.store.get(rt.store_key, ns, md["name"]) is not None:
                raise E.already_exists(rt.plural, md["name"], rt.group)
            for k in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds"):
                md.pop(k, None)
            md["uid"] = self.new_uid()
            md["creationTimestamp"] = self.now()
            if rt.generation:
                md["generation"] = 1
            else:
                md.pop("generation", None)
            if rt.reset_status and not keep_status:
                obj.pop("status", None)
                if rt.crd is None:   # Go structs serialize an empty status as {}; unstructured CRs omit it
                    obj["status"] = {}
            defaults.apply(self, rt.kind, obj)
            for hook in self.admission:
                hook(rt, obj)
            if rt.kind == "CustomResourceDefinition":
                obj["status"] = crds.established_status(obj, self.now())
            if rt.kind == "Pod":
                for key in [k for k in self.logs if k[:2] == (ns, md["name"])]:
                    del self.logs[key]
            self._manage(rt, None, obj, field_manager, "Update", None)
            if dry_run:
                return self._out(rt, obj)
            self.store.put(rt.store_key, obj)
            if rt.kind == "CustomResourceDefinition":
                self._serve_crd(obj)
            self.controllers.kick()
            return self._out(rt, obj)

    def _check_type(self, rt: ResourceType, obj: dict[str, Any]) -> None:
        if not isinstance(obj, dict):
            raise E.bad_request("the body of the request must be a JSON object")
        av, kind = obj.get("apiVersion"), obj.get("kind")
        if av and av != rt.api_version and not (rt.crd and av.startswith(rt.group + "/")):
            raise E.bad_request(f"the API version in the data ({av}) does not match the expected API version "
                                f"({rt.api_version})")
        if kind and kind != rt.kind:
            raise E.bad_request(f"the kind in the data ({kind}) does not match the expected kind ({rt.kind})")

    def _check_namespace(self, rt: ResourceType, ns: str, name: str) -> None:
        nso = self.store.get(("", "namespaces"), "", ns)
        if nso is None:
            raise E.not_found("namespaces", ns)
        if (nso.get("status") or {}).get("phase") == "Terminating":
            raise E.forbidden(f'{rt.qualified} "{name}" is forbidden: unable to create new content in namespace '
                              f"{ns} because it is being terminated", rt.plural, name, rt.group)

    # --- update ---------------------------------------------------------------------------------------------
    def update(self, resource: str | ResourceType, obj: dict[str, Any], namespace: str | None = None, *,
               name: str | None = None, subresource: str | None = None, dry_run: bool = False,
               field_manager: str | None = None) -> dict[str, Any]:
        rt = self.rtype(resource)
        with self.lock:
            obj = deep(obj)
            self._check_type(rt, obj)
            md = obj.setdefault("metadata", {})
            name = name or md.get("name")
            if name and md.get("name") and md["name"] != name:
                raise E.bad_request(f"the name of the object ({md['name']}) does not match the name on the URL "
                                    f"({name})")
            ns = self._ns(rt, namespace, obj)
            if rt.namespaced and md.get("namespace") and namespace and md["namespace"] != namespace:
                raise E.bad_request("the namespace of the provided object does not match the namespace sent on "
                                    "the request")
            cur = self.store.get(rt.store_key, ns, name or "")
            if cur is None:
                raise E.not_found(rt.plural, name or "", rt.group)
            rv = md.get("resourceVersion")
            if rv and rv != cur["metadata"]["resourceVersion"]:
                raise E.conflict(rt.plural, name, rt.group)
            return self._commit(rt, cur, obj, subresource, dry_run, field_manager, "Update")

    def _commit(self, rt: ResourceType, cur: dict[str, Any], obj: dict[str, Any], subresource: str | None,
                dry_run: bool, field_manager: str | None, operation: str) -> dict[str, Any]:
        """Turn a requested new state into the stored one: subresource rules, immutable metadata, generation."""
        if subresource == "status":
            new = deep(cur)
            new["status"] = obj.get("status", {})
            if rt.kind == "Node":   # the kubelet's status updates carry labels/annotations it owns too
                pass
        elif subresource == "finalize" and rt.kind == "Namespace":
            new = deep(cur)
            new.setdefault("spec", {})["finalizers"] = (obj.get("spec") or {}).get("finalizers") or []
        elif subresource == "scale":
            return self._update_scale(rt, cur, obj, dry_run, field_manager)
        elif subresource:
            raise E.method_not_allowed()
        else:
            new = obj
            if "status" in rt.subresources and rt.kind not in ("Namespace",):
                if "status" in cur:
                    new["status"] = deep(cur["status"])
                else:
                    new.pop("status", None)
            if rt.kind == "Namespace":
                new["status"] = deep(cur.get("status", {}))
        md, cmd = new.setdefault("metadata", {}), cur["metadata"]
        for k in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "namespace",
                  "name", "generation"):
            if k in cmd:
                md[k] = cmd[k]
            else:
                md.pop(k, None)
        md["resourceVersion"] = cmd["resourceVersion"]
        new["apiVersion"], new["kind"] = rt.api_version, rt.kind
        if subresource is None:
            validation.check(rt, new, creating=False)
            if rt.kind == "Service":
                self._keep_service_allocations(cur, new)
            if rt.kind == "CustomResourceDefinition":
                new["status"] = crds.established_status(new, self.now())
                new["status"]["conditions"] = cur.get("status", {}).get("conditions", new["status"]["conditions"])
        if rt.generation and subresource is None and _spec_changed(cur, new):
            md["generation"] = int(cmd.get("generation", 1)) + 1
        self._manage(rt, cur, new, field_manager, operation, subresource)
        if _same(cur, new):
            return self._out(rt, cur)
        if dry_run:
            return self._out(rt, new)
        if cmd.get("deletionTimestamp") and not md.get("finalizers") and rt.kind not in ("Pod", "Namespace"):
            ev = self.store.remove(rt.store_key, md.get("namespace", ""), md["name"])
            self._removed(rt, ev.obj)
            self.controllers.kick()
            return self._out(rt, ev.obj)
        self.store.put(rt.store_key, new)
        if rt.kind == "CustomResourceDefinition":
            self._serve_crd(new)
        self.controllers.kick()
        return self._out(rt, new)

    def _keep_service_allocations(self, cur: dict[str, Any], new: dict[str, Any]) -> None:
        cs, ns_ = cur.get("spec") or {}, new.setdefault("spec", {})
        if not ns_.get("clusterIP") and cs.get("clusterIP"):
            ns_["clusterIP"] = cs["clusterIP"]
            ns_["clusterIPs"] = cs.get("clusterIPs", [cs["clusterIP"]])
        elif ns_.get("clusterIP") and cs.get("clusterIP") and ns_["clusterIP"] != cs["clusterIP"]:
            raise E.invalid("Service", "", new["metadata"]["name"],
                            [E.invalid_value("spec.clusterIPs[0]", ns_["clusterIP"], "may not change once set")])
        for k in ("ipFamilies", "ipFamilyPolicy", "internalTrafficPolicy", "sessionAffinity", "type"):
            if k not in ns_ and k in cs:
                ns_[k] = cs[k]
        old_ports = {(p.get("port"), p.get("protocol", "TCP")): p for p in cs.get("ports") or []}
        for p in ns_.get("ports") or []:
            p.setdefault("protocol", "TCP")
            p.setdefault("targetPort", p.get("port"))
            old = old_ports.get((p.get("port"), p["protocol"]))
            if old and old.get("nodePort") and not p.get("nodePort"):
                p["nodePort"] = old["nodePort"]
            elif ns_.get("type") in ("NodePort", "LoadBalancer") and not p.get("nodePort"):
                p["nodePort"] = self.ipam.allocate_node_port()

    def _update_scale(self, rt: ResourceType, cur: dict[str, Any], scale: dict[str, Any], dry_run: bool,
                      manager: str | None = None) -> dict:
        reps = (scale.get("spec") or {}).get("replicas")
        if not isinstance(reps, int) or reps < 0:
            raise E.invalid("Scale", "autoscaling", cur["metadata"]["name"],
                            [E.invalid_value("spec.replicas", reps, "must be greater than or equal to 0")])
        rv = (scale.get("metadata") or {}).get("resourceVersion")
        if rv and rv != cur["metadata"]["resourceVersion"]:
            raise E.conflict(rt.plural, cur["metadata"]["name"], rt.group)
        new = deep(cur)
        new.setdefault("spec", {})["replicas"] = reps
        if manager:     # the scale subresource's manager owns .spec.replicas, "with subresource "scale""
            new["metadata"]["managedFields"] = managed.updated(cur, new, self._schema(rt), manager,
                                                               rt.api_version, self.now(), "scale")
        self._commit(rt, cur, new, None, dry_run, None, "Update")
        return self.scale_of(rt, self.store.get(rt.store_key, cur["metadata"].get("namespace", ""),
                                                cur["metadata"]["name"]) if not dry_run else new)

    def scale_of(self, rt: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
        """The autoscaling/v1 Scale view of a Deployment, ReplicaSet or StatefulSet."""
        from labsim.fakes.kube.selectors import selector_string
        md = obj["metadata"]
        return {"kind": "Scale", "apiVersion": "autoscaling/v1",
                "metadata": {"name": md["name"], "namespace": md.get("namespace"), "uid": md["uid"],
                             "resourceVersion": md["resourceVersion"], "creationTimestamp": md["creationTimestamp"]},
                "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 0)},
                "status": {"replicas": (obj.get("status") or {}).get("replicas", 0),
                           "selector": selector_string((obj.get("spec") or {}).get("selector")).replace(
                               "<none>", "")}}

    # --- patch -------------------------------------------------------------------------------------------------
    def patch(self, resource: str | ResourceType, name: str, body: Any, namespace: str | None = None, *,
              patch_type: str = "merge", subresource: str | None = None, field_manager: str | None = None,
              force: bool = False, dry_run: bool = False,
              canonical: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> dict[str, Any]:
        """`patch_type`: merge, strategic, json or apply (or their Content-Type strings); `canonical`: what the
        API layer makes of the patched object (decoding it into the Go type, field validation)."""
        rt = self.rtype(resource)
        kind = {v: k for k, v in PATCH_TYPES.items()}.get(patch_type, patch_type)
        if kind == "apply" and patch_type.startswith("application/apply-patch+cbor"):
            raise E.unsupported_media_type(patch_type, self.patch_types(rt))
        if kind not in PATCH_TYPES or (kind == "strategic" and not rt.strategic):
            raise E.unsupported_media_type(patch_type, self.patch_types(rt))
        with self.lock:
            ns = self._ns(rt, namespace)
            cur = self.store.get(rt.store_key, ns, name)
            if kind == "apply":
                return self._apply(rt, name, ns, cur, body, subresource, field_manager, force, dry_run)
            if cur is None:
                raise E.not_found(rt.plural, name, rt.group)
            base = self._out(rt, cur)
            if subresource == "scale":
                base = self.scale_of(rt, cur)
            if kind == "merge":
                if not isinstance(body, dict):
                    raise E.bad_request("json: cannot unmarshal array into Go value of type map[string]interface {}")
                new = P.merge_patch(base, body)
            elif kind == "strategic":
                if not isinstance(body, dict):
                    raise E.bad_request("json: cannot unmarshal array into Go value of type map[string]interface {}")
                new = P.strategic_merge(base, body, rt.kind)
            else:
                new = P.json_patch(base, body)
            if not isinstance(new, dict):
                raise E.bad_request("the patched object is not a JSON object")
            if canonical is not None:
                new = canonical(new)
            md = new.setdefault("metadata", {})
            if md.get("name", name) != name:
                raise E.bad_request(f"the name of the object ({md.get('name')}) does not match the name on the URL "
                                    f"({name})")
            if md.get("resourceVersion") and md["resourceVersion"] != cur["metadata"]["resourceVersion"]:
                raise E.conflict(rt.plural, name, rt.group)
            md["name"] = name
            if subresource == "scale":
                return self._update_scale(rt, cur, new, dry_run, field_manager)
            return self._commit(rt, cur, new, subresource, dry_run, field_manager, "Update")

    def patch_types(self, rt: ResourceType) -> list[str]:
        out = ["application/json-patch+json", "application/merge-patch+json", "application/apply-patch+yaml"]
        if rt.strategic:
            out.insert(2, "application/strategic-merge-patch+json")
        return out

    def _apply(self, rt: ResourceType, name: str, ns: str, cur: dict | None, body: Any, subresource: str | None,
               manager: str | None, force: bool, dry_run: bool) -> dict[str, Any]:
        if not manager:
            raise E.KubeError(400, "BadRequest", 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required '
                                                 'value: is required for apply patch', {})
        if not isinstance(body, dict):
            raise E.bad_request("error decoding YAML: the applied configuration must be an object")
        applied = deep(body)
        amd = applied.setdefault("metadata", {})
        amd.pop("managedFields", None)
        if amd.get("name", name) != name:
            raise E.bad_request(f"the name of the object ({amd.get('name')}) does not match the name on the URL "
                                f"({name})")
        amd["name"] = name
        if rt.namespaced:
            amd["namespace"] = ns
        key = (rt.store_key, ns, name, manager, subresource or "")
        schema = self._schema(rt)
        if cur is None:
            if subresource:
                raise E.not_found(rt.plural, name, rt.group)
            out = self.create(rt, applied, ns or None, dry_run=dry_run, keep_status=False)
            mfs = managed.applied(None, out, applied, schema, manager, rt.api_version, self.now(), None, force)
            if not dry_run:
                self._applied[key] = applied
                stored = self.store.get(rt.store_key, ns, name)
                stored["metadata"]["managedFields"] = mfs
            out["metadata"]["managedFields"] = deep(mfs)
            return out
        base = self._out(rt, cur)
        if subresource == "status":
            merged = P.apply_merge(base, {"status": applied.get("status", {})},
                                   {"status": (self._applied.get(key) or {}).get("status", {})} if key in self._applied
                                   else None, rt.kind, rt.strategic)
        else:
            merged = P.apply_merge(base, applied, self._applied.get(key), rt.kind, rt.strategic)
        merged["metadata"]["resourceVersion"] = cur["metadata"]["resourceVersion"]
        mfs = managed.applied(base, merged, applied, schema, manager, rt.api_version, self.now(), subresource, force)
        merged["metadata"]["managedFields"] = mfs
        out = self._commit(rt, cur, merged, subresource, dry_run, None, "Apply")
        if not dry_run:
            self._applied[key] = applied
            stored = self.store.get(rt.store_key, ns, name)
            if stored is not None:
                stored["metadata"]["managedFields"] = mfs
        out["metadata"]["managedFields"] = deep(mfs)
        return out

    def _schema(self, rt: ResourceType) -> managed.Schema:
        """What says which lists are maps or sets: the Go type table, or the CRD's schema."""
        if rt.crd is None:
            return managed.Schema(G.message_for(rt.group, rt.version, rt.kind))
        from labsim.fakes.kube.crdschema import schema_of
        return managed.Schema(openapi=schema_of(self, rt))

    def _manage(self, rt: ResourceType, old: dict | None, obj: dict, manager: str | None, op: str,
                sub: str | None) -> None:
        """managedFields after an update (or create, `old` None); an apply sets its own (`_apply`)."""
        if op == "Apply":
            return
        if not manager:
            if old is not None and old["metadata"].get("managedFields") and \
                    old["metadata"]["managedFields"] != obj["metadata"].get("managedFields"):
                obj["metadata"].setdefault("managedFields", deep(old["metadata"]["managedFields"]))
            return
        mfs = managed.updated(old, obj, self._schema(rt), manager, rt.api_version, self.now(), sub)
        if mfs:
            obj["metadata"]["managedFields"] = mfs
        else:
            obj["metadata"].pop("managedFields", None)

    # --- delete ------------------------------------------------------------------------------------------------
    def delete(self, resource: str | ResourceType, name: str, namespace: str | None = None, *,
               propagation: str | None = None, grace_period: int | None = None,
               preconditions: dict[str, str] | None = None, dry_run: bool = False) -> dict[str, Any]:
        rt = self.rtype(resource)
        with self.lock:
            ns = self._ns(rt, namespace)
            cur = self.store.get(rt.store_key, ns, name)
            if cur is None:
                raise E.not_found(rt.plural, name, rt.group)
            pre = preconditions or {}
            if pre.get("uid") and pre["uid"] != cur["metadata"]["uid"]:
                raise E.conflict(rt.plural, name, rt.group,
                                 f"Precondition failed: UID in precondition: {pre['uid']}, UID in object meta: "
                                 f"{cur['metadata']['uid']}")
            if pre.get("resourceVersion") and pre["resourceVersion"] != cur["metadata"]["resourceVersion"]:
                raise E.conflict(rt.plural, name, rt.group,
                                 f"Precondition failed: ResourceVersion in precondition: {pre['resourceVersion']}, "
                                 f"ResourceVersion in object meta: {cur['metadata']['resourceVersion']}")
            if dry_run:
                return self._out(rt, cur)
            new = deep(cur)
            md = new["metadata"]
            if propagation == "Orphan":
                self.controllers.gc.orphan(cur)
            elif propagation == "Foreground" and "foregroundDeletion" not in (md.get("finalizers") or []):
                md.setdefault("finalizers", []).append("foregroundDeletion")
            if rt.kind == "Namespace":
                if not md.get("deletionTimestamp"):
                    md["deletionTimestamp"] = self.now()
                    md["deletionGracePeriodSeconds"] = 0
                    new["status"] = {"phase": "Terminating"}
                    self.store.put(rt.store_key, new)
                    self.controllers.kick()
                return self._out(rt, self.store.get(rt.store_key, "", name))
            if rt.kind == "Pod" and self._graceful_pod(new, grace_period):
                return self._out(rt, self.store.get(rt.store_key, ns, name))
            if md.get("finalizers"):
                if not md.get("deletionTimestamp"):
                    md["deletionTimestamp"] = self.now()
                    md["deletionGracePeriodSeconds"] = 0
                if new != cur:
                    self.store.put(rt.store_key, new)
                    self.controllers.kick()
                return self._out(rt, self.store.get(rt.store_key, ns, name))
            ev = self.store.remove(rt.store_key, ns, name)
            self._removed(rt, ev.obj)
            self.controllers.kick()
            return self._out(rt, ev.obj)

    def _graceful_pod(self, pod: dict[str, Any], grace: int | None) -> bool:
        """A pod bound to a node is only marked; its kubelet stops it and removes it (controllers/kubelet)."""
        md = pod["metadata"]
        if not (pod.get("spec") or {}).get("nodeName") or grace == 0:
            return False
        if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            return False
        if grace is None:
            grace = int((pod.get("spec") or {}).get("terminationGracePeriodSeconds", 30))
        if md.get("deletionTimestamp"):
            return True
        from datetime import timedelta
        md["deletionTimestamp"] = rfc3339(self.clock.utcnow() + timedelta(seconds=grace))
        md["deletionGracePeriodSeconds"] = grace
        self.store.put(("", "pods"), pod)
        self.controllers.kick()
        return True

    def remove_now(self, resource: str | ResourceType, name: str, namespace: str = "") -> None:
        """Remove an object at once, skipping grace and finalizers (the kubelet's final delete, force)."""
        rt = self.rtype(resource)
        with self.lock:
            ev = self.store.remove(rt.store_key, namespace if rt.namespaced else "", name)
            if ev:
                self._removed(rt, ev.obj)
                self.controllers.kick()

    def _removed(self, rt: ResourceType, obj: dict[str, Any]) -> None:
        if rt.kind == "Service":
            for ip in (obj.get("spec") or {}).get("clusterIPs") or []:
                self.ipam.release_service_ip(ip)
        elif rt.kind == "Pod":
            self.ipam.release_pod_ip((obj.get("status") or {}).get("podIP")) if not (
                obj.get("spec") or {}).get("hostNetwork") else None
        elif rt.kind == "CustomResourceDefinition":
            for t in [t for t in self.registry.all() if t.crd == obj["metadata"]["name"]]:
                for o in list(self.store.items(t.store_key)):
                    self.store.remove(t.store_key, o["metadata"].get("namespace", ""), o["metadata"]["name"])
            self.registry.remove_crd(obj["metadata"]["name"])
        for key in [k for k in self._applied if k[0] == rt.store_key and k[1:3] == (
                obj["metadata"].get("namespace", ""), obj["metadata"]["name"])]:
            del self._applied[key]

    def delete_collection(self, resource: str | ResourceType, namespace: str | None = None, *,
                          labels: str | None = None, fields: str | None = None,
                          propagation: str | None = None, grace_period: int | None = None) -> list[dict]:
        rt = self.rtype(resource)
        with self.lock:
            victims = [(o["metadata"].get("namespace", ""), o["metadata"]["name"])
                       for o in self.select(rt, namespace, labels, fields)]
            return [self.delete(rt, n, ns or None, propagation=propagation, grace_period=grace_period)
                    for ns, n in victims]

    def _serve_crd(self, crd: dict[str, Any]) -> None:
        self.registry.remove_crd(crd["metadata"]["name"])
        for t in crds.types_of(crd):
            self.registry.add(t)

    # --- writes for controllers and the world --------------------------------------------------------------
    def put_status(self, resource: str | ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
        """Write `obj.status` (no resourceVersion check): what a controller's status update does."""
        rt = self.rtype(resource)
        with self.lock:
            md = obj["metadata"]
            cur = self.store.get(rt.store_key, md.get("namespace", "") if rt.namespaced else "", md["name"])
            if cur is None:
                raise E.not_found(rt.plural, md["name"], rt.group)
            new = deep(cur)
            new["status"] = deep(obj.get("status") or {})
            if new == cur:
                return cur
            self.store.put(rt.store_key, new)
            self.controllers.kick()
            return new

    def put(self, resource: str | ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
        """Replace a stored object wholesale (spec, metadata and status; no checks): controllers only."""
        rt = self.rtype(resource)
        with self.lock:
            md = obj["metadata"]
            cur = self.store.get(rt.store_key, md.get("namespace", "") if rt.namespaced else "", md["name"])
            if cur is not None and _same(cur, obj):
                return cur
            self.store.put(rt.store_key, deep(obj))
            self.controllers.kick()
            return obj

    # --- events -------------------------------------------------------------------------------------------------
    def record_event(self, obj: dict[str, Any], type_: str, reason: str, message: str, component: str,
                     host: str | None = None, field_path: str | None = None) -> None:
        """A core/v1 Event about `obj`; repeats of the same one bump `count` (the client-go recorder)."""
        with self.lock:
            md = obj["metadata"]
            ns = md.get("namespace") or "default"
            key = (md.get("uid"), reason, message, component, field_path)
            now = self.now()
            name = self._event_index.get(key)
            ev = self.store.get(("", "events"), ns, name) if name else None
            if ev is not None:
                ev = deep(ev)
                ev["count"] = int(ev.get("count", 1)) + 1
                ev["lastTimestamp"] = now
                self.store.put(("", "events"), ev)
                return
            self._event_seq += 1
            nanos = int(self.clock.now() * 1e9) + self._event_seq
            name = f"{md['name']}.{(0x1880000000000000 + nanos):x}"
            ref = {"kind": obj.get("kind"), "namespace": md.get("namespace"), "name": md["name"],
                   "uid": md.get("uid"), "apiVersion": obj.get("apiVersion"),
                   "resourceVersion": md.get("resourceVersion")}
            if field_path:
                ref["fieldPath"] = field_path
            ref = {k: v for k, v in ref.items() if v}
            ev = {"apiVersion": "v1", "kind": "Event",
                  "metadata": {"name": name, "namespace": ns, "uid": self.new_uid(), "creationTimestamp": now},
                  "involvedObject": ref, "reason": reason, "message": message,
                  "source": {"component": component, **({"host": host} if host else {})},
                  "firstTimestamp": now, "lastTimestamp": now, "count": 1, "type": type_,
                  "eventTime": None, "reportingComponent": component, "reportingInstance": host or ""}
            self.store.put(("", "events"), ev)
            self._event_index[key] = name

    def events_for(self, obj: dict[str, Any]) -> list[dict[str, Any]]:
        uid = obj["metadata"].get("uid")
        return [e for e in self.list("events", obj["metadata"].get("namespace") or "default")
                if e["involvedObject"].get("uid") == uid]

    # --- pod logs ------------------------------------------------------------------------------------------------
    def append_log(self, namespace: str, pod: str, container: str, text: str) -> None:
        """Append to a container's log (what `kubectl logs` shows); lines are stamped with virtual time."""
        with self.lock:
            lines = self.logs.setdefault((namespace, pod, container), [])
            t = self.clock.now()
            for line in text.splitlines():
                lines.append((t, line))
        self.store.poke()

    # --- nodes -----------------------------------------------------------------------------------------------------
    def register_node(self, name: str, addresses: list | None = None, labels: dict[str, str] | None = None,
                      capacity: dict[str, str] | None = None, **kw: Any) -> dict[str, Any]:
        from labsim.fakes.kube.nodes import register_node
        return register_node(self, name, addresses, labels, capacity, **kw)

    def set_node_condition(self, name: str, type_: str, status: str, reason: str = "", message: str = "") -> None:
        from labsim.fakes.kube.nodes import set_node_condition
        set_node_condition(self, name, type_, status, reason, message)

    def set_node_ready(self, name: str, ready: bool | None, reason: str | None = None,
                       message: str | None = None) -> None:
        """Ready True / False (kubelet reports NotReady) / None (Unknown: the kubelet stopped posting)."""
        from labsim.fakes.kube.nodes import set_node_ready
        set_node_ready(self, name, ready, reason, message)

    def bootstrap_control_plane(self, nodes: list[str], **kw: Any) -> None:
        from labsim.fakes.kube.bootstrap import bootstrap_control_plane
        bootstrap_control_plane(self, nodes, **kw)


def _strip_volatile(obj: dict[str, Any]) -> dict[str, Any]:
    o = dict(obj)
    md = dict(o.get("metadata") or {})
    md.pop("resourceVersion", None)
    md.pop("managedFields", None)
    o["metadata"] = md
    return o


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return _strip_volatile(a) == _strip_volatile(b)


def _spec_changed(cur: dict[str, Any], new: dict[str, Any]) -> bool:
    skip = ("metadata", "status", "apiVersion", "kind")
    return {k: v for k, v in cur.items() if k not in skip} != {k: v for k, v in new.items() if k not in skip}
