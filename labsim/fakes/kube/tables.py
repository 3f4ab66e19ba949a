"""Server-side printing: `meta.k8s.io/v1 Table` answers for `kubectl get` (columns and cells as
pkg/printers/internalversion/printers.go prints them; custom resources use the CRD's additionalPrinterColumns,
default `Age`). Ages are computed on the virtual clock (duration.HumanDuration)."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from labsim.fakes.kube.meta import get_condition, parse_time
from labsim.fakes.kube.resources import ResourceType
from labsim.fakes.kube.selectors import selector_string

if TYPE_CHECKING:
    from labsim.fakes.kube.cluster import KubeCluster

NAME_DESC = ("Name must be unique within a namespace. Is required when creating resources, although some resources "
             "may allow a client to request the generation of an appropriate name automatically. Name is primarily "
             "intended for creation idempotence and configuration definition. Cannot be updated. More info: "
             "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names")


def human_duration(seconds: float) -> str:
    """k8s.io/apimachinery/pkg/util/duration.HumanDuration."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m" if s % 60 == 0 else f"{minutes}m{s % 60}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        return f"{hours}h" if minutes % 60 == 0 else f"{hours}h{minutes % 60}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d" if hours % 24 == 0 else f"{hours // 24}d{hours % 24}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        dy = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if dy == 0 else f"{hours // 24 // 365}y{dy}d"
    return f"{hours // 24 // 365}y"


def col(name: str, typ: str = "string", priority: int = 0, fmt: str = "", desc: str = "") -> dict[str, Any]:
    return {"name": name, "type": typ, "format": fmt, "description": desc or name, "priority": priority}


NAME = col("Name", fmt="name", desc=NAME_DESC)
AGE = col("Age", desc="CreationTimestamp is a timestamp representing the server time when this object was created.")


class Printer:
    def __init__(self, now: datetime):
        self.now = now

    def age(self, obj: dict[str, Any]) -> str:
        t = parse_time(obj["metadata"].get("creationTimestamp"))
        return human_duration((self.now - t).total_seconds()) if t else "<unknown>"

    def since(self, ts: str | None) -> str:
        t = parse_time(ts)
        return human_duration((self.now - t).total_seconds()) if t else "<unknown>"


def _containers(obj: dict[str, Any]) -> tuple[str, str]:
    spec = ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}
    cs = spec.get("containers") or []
    return ",".join(c.get("name", "") for c in cs), ",".join(c.get("image", "") for c in cs)


def _pod_row(p: Printer, pod: dict[str, Any]) -> list[Any]:
    st = pod.get("status") or {}
    spec = pod.get("spec") or {}
    total = len(spec.get("containers") or [])
    ready = restarts = 0
    reason = st.get("reason") or st.get("phase") or "Pending"
    last_restart = None
    running = False
    for cs in reversed(st.get("containerStatuses") or []):
        restarts += int(cs.get("restartCount", 0))
        term = (cs.get("lastState") or {}).get("terminated")
        if term and term.get("finishedAt"):
            t = parse_time(term["finishedAt"])
            last_restart = t if last_restart is None or t > last_restart else last_restart
        state = cs.get("state") or {}
        if state.get("waiting", {}).get("reason"):
            reason = state["waiting"]["reason"]
        elif state.get("terminated"):
            tr = state["terminated"]
            reason = tr.get("reason") or (f"Signal:{tr['signal']}" if tr.get("signal") else f"ExitCode:{tr.get('exitCode')}")
        elif state.get("running") and cs.get("ready"):
            ready += 1
            running = True
        elif state.get("running"):
            running = True
    if reason == "Completed" and running:
        reason = "Running" if (get_condition(pod, "Ready") or {}).get("status") == "True" else "NotReady"
    if pod["metadata"].get("deletionTimestamp"):
        reason = "Unknown" if st.get("reason") == "NodeLost" else "Terminating"
    rs = str(restarts)
    if last_restart is not None:
        rs = f"{restarts} ({human_duration((p.now - last_restart).total_seconds())} ago)"
    gates = spec.get("readinessGates") or []
    return [pod["metadata"]["name"], f"{ready}/{total}", reason, rs, p.age(pod), st.get("podIP") or "<none>",
            spec.get("nodeName") or "<none>", st.get("nominatedNodeName") or "<none>",
            "<none>" if not gates else f"0/{len(gates)}"]


POD_COLS = [NAME, col("Ready", desc="The aggregate readiness state of this pod for accepting traffic."),
            col("Status", desc="The aggregate status of the containers in this pod."),
            col("Restarts", desc="The number of times the containers in this pod have been restarted and when the "
                                 "last container in this pod has restarted."), AGE,
            col("IP", priority=1, desc="IP address allocated to the pod."),
            col("Node", priority=1, desc="Name of the node the pod is assigned to."),
            col("Nominated Node", priority=1, desc="Name of the node where the pod is nominated to run."),
            col("Readiness Gates", priority=1, desc="Pod readiness gates.")]


def _node_row(p: Printer, n: dict[str, Any]) -> list[Any]:
    st = n.get("status") or {}
    ready = get_condition(n, "Ready")
    status = "Unknown" if not ready or ready.get("status") == "Unknown" else (
        "Ready" if ready.get("status") == "True" else "NotReady")
    if (n.get("spec") or {}).get("unschedulable"):
        status += ",SchedulingDisabled"
    roles = sorted(k.split("/", 1)[1] for k in (n["metadata"].get("labels") or {})
                   if k.startswith("node-role.kubernetes.io/") and "/" in k)
    addr = {a.get("type"): a.get("address") for a in st.get("addresses") or []}
    info = st.get("nodeInfo") or {}
    return [n["metadata"]["name"], status, ",".join(roles) or "<none>", p.age(n), info.get("kubeletVersion", ""),
            addr.get("InternalIP") or "<none>", addr.get("ExternalIP") or "<none>", info.get("osImage", "<unknown>"),
            info.get("kernelVersion", "<unknown>"), info.get("containerRuntimeVersion", "<unknown>")]


NODE_COLS = [NAME, col("Status"), col("Roles"), AGE, col("Version"), col("Internal-IP", priority=1),
             col("External-IP", priority=1), col("OS-Image", priority=1), col("Kernel-Version", priority=1),
             col("Container-Runtime", priority=1)]


def _svc_ports(spec: dict[str, Any]) -> str:
    out = []
    for port in spec.get("ports") or []:
        s = f"{port.get('port')}"
        if port.get("nodePort"):
            s += f":{port['nodePort']}"
        out.append(f"{s}/{port.get('protocol', 'TCP')}")
    return ",".join(out) or "<none>"


def _svc_row(p: Printer, s: dict[str, Any]) -> list[Any]:
    spec = s.get("spec") or {}
    typ = spec.get("type", "ClusterIP")
    ext = ",".join(spec.get("externalIPs") or [])
    if typ == "LoadBalancer":
        ing = [i.get("ip") or i.get("hostname") for i in ((s.get("status") or {}).get("loadBalancer") or {})
               .get("ingress") or []]
        ext = ",".join([x for x in ing if x] + ([ext] if ext else [])) or "<pending>"
    elif typ == "ExternalName":
        ext = spec.get("externalName", "")
    sel = spec.get("selector")
    return [s["metadata"]["name"], typ, spec.get("clusterIP") or "<none>", ext or "<none>", _svc_ports(spec),
            p.age(s), ",".join(f"{k}={v}" for k, v in sorted(sel.items())) if sel else "<none>"]


SVC_COLS = [NAME, col("Type"), col("Cluster-IP"), col("External-IP"), col("Port(s)"), AGE,
            col("Selector", priority=1)]


def _more(items: list[str], limit: int = 3) -> str:
    if not items:
        return "<none>"
    s = ",".join(items[:limit])
    return s + (f" + {len(items) - limit} more..." if len(items) > limit else "")


def _ep_row(p: Printer, e: dict[str, Any]) -> list[Any]:
    items = []
    for sub in e.get("subsets") or []:
        for a in sub.get("addresses") or []:
            for port in sub.get("ports") or [{}]:
                items.append(f"{a['ip']}:{port['port']}" if port.get("port") else a["ip"])
    return [e["metadata"]["name"], _more(items), p.age(e)]


def _eps_row(p: Printer, s: dict[str, Any]) -> list[Any]:
    ports = [str(x.get("port")) for x in s.get("ports") or [] if x.get("port") is not None]
    addrs = [a for ep in s.get("endpoints") or [] for a in ep.get("addresses") or []]
    return [s["metadata"]["name"], s.get("addressType", ""), ",".join(ports) or "<unset>", _more(addrs), p.age(s)]


def _deploy_row(p: Printer, d: dict[str, Any]) -> list[Any]:
    st, spec = d.get("status") or {}, d.get("spec") or {}
    c, i = _containers(d)
    return [d["metadata"]["name"], f"{st.get('readyReplicas', 0)}/{spec.get('replicas', 1)}",
            st.get("updatedReplicas", 0), st.get("availableReplicas", 0), p.age(d), c, i,
            selector_string(spec.get("selector"))]


def _rs_row(p: Printer, r: dict[str, Any]) -> list[Any]:
    st, spec = r.get("status") or {}, r.get("spec") or {}
    c, i = _containers(r)
    return [r["metadata"]["name"], spec.get("replicas", 1), st.get("replicas", 0), st.get("readyReplicas", 0),
            p.age(r), c, i, selector_string(spec.get("selector"))]


def _ds_row(p: Printer, d: dict[str, Any]) -> list[Any]:
    st, spec = d.get("status") or {}, d.get("spec") or {}
    c, i = _containers(d)
    ns = ((spec.get("template") or {}).get("spec") or {}).get("nodeSelector") or {}
    return [d["metadata"]["name"], st.get("desiredNumberScheduled", 0), st.get("currentNumberScheduled", 0),
            st.get("numberReady", 0), st.get("updatedNumberScheduled", 0), st.get("numberAvailable", 0),
            ",".join(f"{k}={v}" for k, v in sorted(ns.items())) or "<none>", p.age(d), c, i,
            selector_string(spec.get("selector"))]


def _sts_row(p: Printer, s: dict[str, Any]) -> list[Any]:
    st, spec = s.get("status") or {}, s.get("spec") or {}
    c, i = _containers(s)
    return [s["metadata"]["name"], f"{st.get('readyReplicas', 0)}/{spec.get('replicas', 1)}", p.age(s), c, i]


def _job_row(p: Printer, j: dict[str, Any]) -> list[Any]:
    st, spec = j.get("status") or {}, j.get("spec") or {}
    c, i = _containers(j)
    status = "Running"
    for typ, word in (("Complete", "Complete"), ("Failed", "Failed"), ("Suspended", "Suspended"),
                      ("FailureTarget", "FailureTarget"), ("SuccessCriteriaMet", "SuccessCriteriaMet")):
        if (get_condition(j, typ) or {}).get("status") == "True":
            status = word
            break
    start, end = parse_time(st.get("startTime")), parse_time(st.get("completionTime"))
    dur = human_duration(((end or p.now) - start).total_seconds()) if start else ""
    return [j["metadata"]["name"], status, f"{st.get('succeeded', 0)}/{spec.get('completions', 1)}", dur, p.age(j),
            c, i, selector_string(spec.get("selector"))]


def _event_row(p: Printer, e: dict[str, Any]) -> list[Any]:
    io = e.get("involvedObject") or {}
    obj = f"{(io.get('kind') or '').lower()}/{io.get('name', '')}"
    return [p.since(e.get("lastTimestamp") or e.get("eventTime") or e["metadata"].get("creationTimestamp")),
            e.get("type", ""), e.get("reason", ""), obj, e.get("message", ""), io.get("fieldPath", ""),
            (e.get("source") or {}).get("component", ""), p.since(e.get("firstTimestamp")), e.get("count", 1),
            e["metadata"]["name"]]


def _simple(*cols: tuple[dict, Callable[[Printer, dict], Any]]):
    return [NAME, *[c for c, _ in cols]], (lambda p, o: [o["metadata"]["name"], *[f(p, o) for _, f in cols]])


_TABLES: dict[str, tuple[list[dict], Callable[[Printer, dict], list[Any]]]] = {
    "Pod": (POD_COLS, _pod_row),
    "Node": (NODE_COLS, _node_row),
    "Service": (SVC_COLS, _svc_row),
    "Endpoints": ([NAME, col("Endpoints"), AGE], _ep_row),
    "EndpointSlice": ([NAME, col("AddressType"), col("Ports"), col("Endpoints"), AGE], _eps_row),
    "Deployment": ([NAME, col("Ready"), col("Up-to-date", "integer"), col("Available", "integer"), AGE,
                    col("Containers", priority=1), col("Images", priority=1), col("Selector", priority=1)],
                   _deploy_row),
    "ReplicaSet": ([NAME, col("Desired", "integer"), col("Current", "integer"), col("Ready", "integer"), AGE,
                    col("Containers", priority=1), col("Images", priority=1), col("Selector", priority=1)], _rs_row),
    "DaemonSet": ([NAME, col("Desired", "integer"), col("Current", "integer"), col("Ready", "integer"),
                   col("Up-to-date", "integer"), col("Available", "integer"), col("Node Selector"), AGE,
                   col("Containers", priority=1), col("Images", priority=1), col("Selector", priority=1)], _ds_row),
    "StatefulSet": ([NAME, col("Ready"), AGE, col("Containers", priority=1), col("Images", priority=1)], _sts_row),
    "Job": ([NAME, col("Status"), col("Completions"), col("Duration"), AGE, col("Containers", priority=1),
             col("Images", priority=1), col("Selector", priority=1)], _job_row),
    "Event": ([col("Last Seen"), col("Type"), col("Reason"), col("Object"), col("Message"),
               col("Subobject", priority=1), col("Source", priority=1), col("First Seen", priority=1),
               col("Count", "integer", priority=1), col("Name", priority=1)], _event_row),
}
_TABLES["Namespace"] = _simple((col("Status"), lambda p, o: (o.get("status") or {}).get("phase", "")),
                               (AGE, lambda p, o: p.age(o)))
_TABLES["ConfigMap"] = _simple((col("Data", "integer"), lambda p, o: len(o.get("data") or {}) +
                                len(o.get("binaryData") or {})), (AGE, lambda p, o: p.age(o)))
_TABLES["Secret"] = _simple((col("Type"), lambda p, o: o.get("type", "")),
                            (col("Data", "integer"), lambda p, o: len(o.get("data") or {})),
                            (AGE, lambda p, o: p.age(o)))
_TABLES["ServiceAccount"] = _simple((col("Secrets", "integer"), lambda p, o: len(o.get("secrets") or [])),
                                    (AGE, lambda p, o: p.age(o)))
_TABLES["Lease"] = _simple((col("Holder"), lambda p, o: (o.get("spec") or {}).get("holderIdentity", "")),
                           (AGE, lambda p, o: p.age(o)))
_TABLES["CustomResourceDefinition"] = _simple((col("Created At", fmt="date-time"),
                                               lambda p, o: o["metadata"].get("creationTimestamp")))
_TABLES["PersistentVolumeClaim"] = _simple(
    (col("Status"), lambda p, o: (o.get("status") or {}).get("phase", "Pending")),
    (col("Volume"), lambda p, o: (o.get("spec") or {}).get("volumeName", "")),
    (col("Capacity"), lambda p, o: ((o.get("status") or {}).get("capacity") or {}).get("storage", "")),
    (col("Access Modes"), lambda p, o: ",".join({"ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX",
                                                  "ReadWriteOncePod": "RWOP"}.get(m, m)
                                                 for m in (o.get("status") or {}).get("accessModes") or [])),
    (col("StorageClass"), lambda p, o: (o.get("spec") or {}).get("storageClassName") or ""),
    (col("VolumeAttributesClass"), lambda p, o: "<unset>"), (AGE, lambda p, o: p.age(o)))
_TABLES["PriorityClass"] = _simple((col("Value", "integer"), lambda p, o: o.get("value", 0)),
                                   (col("Global-Default", "boolean"), lambda p, o: bool(o.get("globalDefault"))),
                                   (AGE, lambda p, o: p.age(o)),
                                   (col("PreemptionPolicy"), lambda p, o: o.get("preemptionPolicy", "")))
_TABLES["StorageClass"] = _simple((col("Provisioner"), lambda p, o: o.get("provisioner", "")),
                                  (col("ReclaimPolicy"), lambda p, o: o.get("reclaimPolicy", "Delete")),
                                  (col("VolumeBindingMode"), lambda p, o: o.get("volumeBindingMode", "Immediate")),
                                  (col("AllowVolumeExpansion", "boolean"),
                                   lambda p, o: bool(o.get("allowVolumeExpansion"))),
                                  (AGE, lambda p, o: p.age(o)))
for _k in ("Role", "ClusterRole"):
    _TABLES[_k] = _simple((col("Created At", fmt="date-time"), lambda p, o: o["metadata"].get("creationTimestamp")))
for _k in ("RoleBinding", "ClusterRoleBinding"):
    _TABLES[_k] = _simple((col("Role"), lambda p, o: f"{(o.get('roleRef') or {}).get('kind', '')}/"
                                                     f"{(o.get('roleRef') or {}).get('name', '')}"),
                          (AGE, lambda p, o: p.age(o)))


def _jsonpath(obj: Any, path: str) -> Any:
    """The simple JSONPath forms CRDs use in printer columns: `.status.phase`, `.spec.items[0].name`."""
    import re
    cur = obj
    for part in re.findall(r"\.([^.\[\]]+)|\[(\d+)\]", path.strip().lstrip("{").rstrip("}")):
        key, idx = part
        if key:
            cur = cur.get(key) if isinstance(cur, dict) else None
        else:
            cur = cur[int(idx)] if isinstance(cur, list) and int(idx) < len(cur) else None
        if cur is None:
            return None
    return cur


def _cr_table(rt: ResourceType):
    columns = list(rt.printer_columns) or [{"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}]
    defs = [NAME] + [col(c["name"], "string" if c.get("type") == "date" else c.get("type", "string"),
                         int(c.get("priority", 0)), c.get("format", ""), c.get("description", ""))
                     for c in columns]

    def row(p: Printer, o: dict[str, Any]) -> list[Any]:
        cells = [o["metadata"]["name"]]
        for c in columns:
            v = _jsonpath(o, c.get("jsonPath", ""))
            if c.get("type") == "date":
                v = p.since(v) if v else "<unknown>"
            cells.append(v)
        return cells
    return defs, row


def table(cluster: KubeCluster, rt: ResourceType, objs: list[dict[str, Any]], *, rv: str,
          include: str = "Metadata", headers: bool = True, extra_meta: dict | None = None) -> dict[str, Any]:
    if rt.crd is not None:
        cols, row = _cr_table(rt)
    else:
        cols, row = _TABLES.get(rt.kind) or _simple((AGE, lambda p, o: p.age(o)))
    p = Printer(cluster.clock.utcnow())
    rows = []
    for o in objs:
        r: dict[str, Any] = {"cells": row(p, o)}
        if include == "Object":
            r["object"] = o
        elif include != "None":
            r["object"] = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                           "metadata": {k: v for k, v in o["metadata"].items() if k != "managedFields"}}
        rows.append(r)
    meta = {"resourceVersion": rv}
    meta.update(extra_meta or {})
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta,
            "columnDefinitions": cols if headers else None, "rows": rows}
