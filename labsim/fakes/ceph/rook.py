"""Rook's operator in the world, for one Kubernetes cluster (labsim.fakes.kube): it reconciles each CephCluster into a
simulated Ceph cluster (cluster.py) and the daemons' Deployments, and writes the CR status as Rook does.

Every TICK virtual seconds, while the `rook-ceph-operator` pod runs:
  Detecting Ceph version -> Configuring Ceph Mons (one mon Deployment and Service at a time, each on its own
  node unless allowMultiplePerNode, waiting for it to join the quorum) -> Configuring Ceph Mgr(s) ->
  Configuring Ceph OSDs (a prepare Job per node; its log says which disks it skips and why; then one
  Deployment per OSD: `Processing OSD 0 on node "wrk-e-1"`) -> Cluster created successfully (Ready/Created).
Then the status checker refreshes `status.ceph` every `healthCheck.daemonHealth.status.interval` (60 s), and
CephBlockPool / CephFilesystem / CephObjectStore CRs become pools. A daemon runs while its pod runs and its
node is up (`host_down` / `host_up`, called by the world). Deviations: no mon failover, no MDS/RGW daemons,
no CSI drivers.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from labsim.fakes.ceph import rook_objects as O
from labsim.fakes.ceph import rook_status as S
from labsim.fakes.ceph import versions
from labsim.fakes.ceph.cluster import CephCluster
from labsim.fakes.ceph.disks import prepare_log
from labsim.fakes.ceph.model import Disk
from labsim.fakes.ceph.tunables import Tunables
from labsim.fakes.kube import PodBehaviour

TICK = 5.0
DETECT = 15.0                    # the version-detection job
PREPARE = 45.0                   # an OSD prepare job (ceph-volume inventory, then mkfs of each new OSD)
CLUSTER_CRD = "cephclusters.ceph.rook.io"
POOL_KINDS = ("cephblockpools.ceph.rook.io", "cephfilesystems.ceph.rook.io", "cephobjectstores.ceph.rook.io")
RGW_META = ("rgw.control", "rgw.meta", "rgw.log", "rgw.buckets.index", "rgw.buckets.non-ec", "rgw.otp")
# What a fresh Rook cluster already holds (objects, bytes), so that degraded percentages are real numbers.
SEED_DATA = {".mgr": (2, 459_280), "metadata": (22, 2_355), ".rgw.root": (16, 3_584), "rgw.control": (8, 0),
             "rgw.log": (178, 23_552), "rgw.meta": (1, 370), "blockpool": (1, 19)}


def _duration(text: str | None, default: float) -> float:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h)", (text or "").strip())
    if not m:
        return default
    return float(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[m.group(2)]


def running(pod: dict[str, Any]) -> bool:
    st = pod.get("status") or {}
    if pod["metadata"].get("deletionTimestamp") or st.get("phase") != "Running":
        return False
    return all("running" in (c.get("state") or {}) for c in st.get("containerStatuses") or [{}])


class RookOperator:
    def __init__(self, kube, *, disks: Callable[[str], list[Disk]], seed: int = 0,
                 tunables: Tunables | None = None, namespace: str = "rook-ceph"):
        self.kube = kube
        self.clock = kube.clock
        self.disks = disks
        self.seed = seed
        self.tunables = tunables
        self.namespace = namespace
        self.clusters: dict[str, RookCluster] = {}
        self.down: set[str] = set()
        self._ticking = False
        self._prepare_logs: dict[str, str] = {}
        kube.pod_behaviour.append(self._behaviour)

    # --- the world's hooks --------------------------------------------------------------------------------
    def start(self) -> RookOperator:
        if not self._ticking:
            self._ticking = True
            self.clock.call_later(TICK, self._tick)
        return self

    def host_down(self, node: str) -> None:
        self.down.add(node)
        for rc in self.clusters.values():
            if rc.ceph is not None:
                rc.ceph.host_down(node)

    def host_up(self, node: str) -> None:
        self.down.discard(node)
        for rc in self.clusters.values():
            if rc.ceph is not None:
                rc.ceph.host_up(node)

    def ceph(self, namespace: str | None = None) -> CephCluster | None:
        rc = self.clusters.get(namespace or self.namespace)
        return rc.ceph if rc else None

    # --- loop ---------------------------------------------------------------------------------------------
    def operator_running(self) -> bool:
        return any(running(p) for p in self.kube.select(self.kube.rtype("pods"), None, "app=rook-ceph-operator"))

    def _tick(self) -> None:
        self.clock.call_later(TICK, self._tick)
        try:
            crs = self.kube.list(CLUSTER_CRD)
        except Exception:  # noqa: BLE001 - the CRD is not installed yet
            return
        if not self.operator_running():
            return
        for cr in crs:
            ns = cr["metadata"]["namespace"]
            rc = self.clusters.get(ns)
            if rc is None:
                rc = self.clusters[ns] = RookCluster(self, ns, cr["metadata"]["name"])
            rc.reconcile(cr)

    def _behaviour(self, pod: dict[str, Any]) -> PodBehaviour | None:
        labels = pod["metadata"].get("labels") or {}
        app = labels.get("app", "")
        if app == "rook-ceph-osd-prepare":
            node = (pod.get("spec") or {}).get("nodeSelector", {}).get("kubernetes.io/hostname", "")
            return PodBehaviour(start_delay=5.0, run_for=PREPARE, logs=self._prepare_logs.get(node, ""))
        if app.startswith("rook-ceph-") or app == "rook-ceph-tools":
            return PodBehaviour(start_delay=5.0)
        return None


class RookCluster:
    """One CephCluster CR: the reconcile steps and the Ceph cluster it made."""

    def __init__(self, op: RookOperator, namespace: str, name: str):
        self.op = op
        self.kube = op.kube
        self.ns = namespace
        self.name = name
        self.ceph: CephCluster | None = None
        self.step = "start"
        self.detect_at = 0.0
        self.next_check = 0.0
        self.prepared: set[str] = set()
        self.pools_done: set[tuple[str, str]] = set()

    # --- helpers ------------------------------------------------------------------------------------------
    def _status(self, mutate: Callable[[dict[str, Any]], None]) -> None:
        cr = self.kube.get(CLUSTER_CRD, self.name, self.ns)
        status = cr.get("status") or {}
        mutate(status)
        cr["status"] = status
        self.kube.put_status(CLUSTER_CRD, cr)

    def _phase(self, phase: str, message: str, ok: bool = True) -> None:
        self._status(lambda st: S.set_phase(st, phase, message, self.kube.now(), ok))

    def _ensure(self, resource: str, obj: dict[str, Any]) -> None:
        if self.kube.try_get(resource, obj["metadata"]["name"], self.ns) is None:
            self.kube.create(resource, obj, self.ns)

    def _pod_runs(self, selector: str) -> bool:
        return any(running(p) for p in self.kube.select(self.kube.rtype("pods"), self.ns, selector))

    def nodes(self) -> list[str]:
        """Nodes Rook's daemons may run on: Ready, and without a NoSchedule taint they do not tolerate."""
        out = []
        for n in self.kube.list("nodes"):
            taints = (n.get("spec") or {}).get("taints") or []
            if any(t.get("effect") in ("NoSchedule", "NoExecute") for t in taints):
                continue
            out.append(n["metadata"]["name"])
        return sorted(out)

    def _address(self, node: str) -> str:
        n = self.kube.try_get("nodes", node) or {}
        return next((a["address"] for a in (n.get("status") or {}).get("addresses") or []
                     if a.get("type") == "InternalIP"), "")

    # --- reconcile ----------------------------------------------------------------------------------------
    def reconcile(self, cr: dict[str, Any]) -> None:
        spec = cr.get("spec") or {}
        now = self.kube.clock.now()
        if self.step == "start":
            self._phase("Progressing", "Detecting Ceph version")
            self.detect_at = now + DETECT
            self.step = "detect"
        if self.step == "detect" and now >= self.detect_at:
            image = (spec.get("cephVersion") or {}).get("image", "")
            try:
                release = versions.from_image(image or self._image(spec))
            except ValueError as exc:           # a release the simulator does not model: it stops here, saying so
                self._phase("Failure", f"failed to detect the ceph version of image {image!r}: {exc}", ok=False)
                self.step = "unsupported"
                return
            self.ceph = CephCluster(self.ns, self.kube.clock, seed=self.op.seed, tunables=self.op.tunables,
                                    salt=f"{self.kube.name}/", version=release.version)
            self.ceph.mgr_modules = ["iostat", "nfs", "prometheus", "restful"]   # Rook enables prometheus
            for node in self.nodes():
                self.ceph.add_host(node, self._address(node), self.op.disks(node), up=node not in self.op.down)
            self._status(lambda st: st.update(version={"image": image, "version": f"{release.version}-0"}))
            self._phase("Progressing", "Configuring Ceph Mons")
            self.step = "mons"
        if self.ceph is None:
            return
        # Rook runs a crash collector per node unless spec.crashCollector.disable: without it no crash reaches the
        # mgr's crash module (Rook docs, CephCluster CRD "crashCollector")
        self.ceph.collect_crashes = not (spec.get("crashCollector") or {}).get("disable", False)
        self._sync_daemons()
        if self.step == "mons" and self._mons(spec):
            self._phase("Progressing", "Configuring Ceph Mgr(s)")
            self.step = "mgrs"
        if self.step == "mgrs" and self._mgrs(spec):
            self._phase("Progressing", "Configuring Ceph OSDs")
            self.step = "osds"
        if self.step == "osds" and self._osds(spec):
            self._phase("Ready", "Cluster created successfully")
            self.step = "ready"
        if self.step == "ready":          # the pool controllers wait for the CephCluster to be ready
            self._pools()
        if self.step in ("mgrs", "osds", "ready") and now >= self.next_check:
            interval = _duration(((spec.get("healthCheck") or {}).get("daemonHealth") or {})
                                 .get("status", {}).get("interval"), 60.0)
            self.next_check = now + interval
            self._check_status()

    def _image(self, spec: dict[str, Any]) -> str:
        return (spec.get("cephVersion") or {}).get("image") or "quay.io/ceph/ceph:v19.2.3"

    def _mons(self, spec: dict[str, Any]) -> bool:
        ceph = self.ceph
        want = int((spec.get("mon") or {}).get("count", 3))
        multi = bool((spec.get("mon") or {}).get("allowMultiplePerNode", False))
        if len(ceph.mons) < want and all(m.in_quorum for m in ceph.mons.values()):
            used = {m.host for m in ceph.mons.values()}
            free = [n for n in self.nodes() if multi or n not in used]
            if free:
                name = "abcdefghijklmnopqrstuvwxyz"[len(ceph.mons)]
                node = free[0] if not multi else self.nodes()[len(ceph.mons) % len(self.nodes())]
                if self.kube.try_get("deployments.apps", f"rook-ceph-mon-{name}", self.ns) is None:
                    svc, dep = O.mon(self.ns, name, node, self._image(spec))
                    self._ensure("services", svc)
                    self._ensure("deployments.apps", dep)
                if self._pod_runs(f"app=rook-ceph-mon,mon={name}"):
                    ip = self.kube.get("services", f"rook-ceph-mon-{name}", self.ns)["spec"].get("clusterIP", "")
                    ceph.add_mon(node, f"[v2:{ip}:3300/0,v1:{ip}:6789/0]")
        return len(ceph.mons) >= want and all(m.in_quorum for m in ceph.mons.values())

    def _mgrs(self, spec: dict[str, Any]) -> bool:
        ceph = self.ceph
        want = int((spec.get("mgr") or {}).get("count", 2))
        nodes = self.nodes()
        for i in range(want):
            name = "abcdefghijklmnopqrstuvwxyz"[i]
            node = nodes[i % len(nodes)]
            self._ensure("deployments.apps", O.mgr(self.ns, name, node, self._image(spec)))
            if name not in ceph.mgrs and self._pod_runs(f"app=rook-ceph-mgr,mgr={name}"):
                ceph.add_mgr(node)
        if ceph.active_mgr and ceph.release.mgr_pool not in {p.name for p in ceph.pools.values()}:
            objects, stored = SEED_DATA[".mgr"]
            ceph.add_pool(ceph.release.mgr_pool, pg_num=1, application=ceph.release.mgr_pool_app, objects=objects,
                          stored=stored)
        return ceph.active_mgr is not None

    def _osds(self, spec: dict[str, Any]) -> bool:
        ceph = self.ceph
        st = spec.get("storage") or {}
        nodes = self.nodes() if st.get("useAllNodes", True) else \
            [n["name"] for n in st.get("nodes") or [] if n.get("name") in self.nodes()]
        settled = all(n in self.prepared for n in nodes)    # done once a pass processes no new OSD
        for node in nodes:
            if node in self.prepared:
                continue
            conf = next((n for n in st.get("nodes") or [] if n.get("name") == node), {})
            devices = [d["name"] for d in (conf.get("devices") or st.get("devices") or [])]
            ok, log = prepare_log(node, ceph.hosts[node].disks if node in ceph.hosts else [],
                                  use_all=bool(st.get("useAllDevices", True)), devices=devices,
                                  device_filter=st.get("deviceFilter", ""))
            self.op._prepare_logs[node] = log
            self._ensure("jobs.batch", O.prepare_job(self.ns, node, self._image(spec), "docker.io/rook/ceph"))
            job = self.kube.get("jobs.batch", f"rook-ceph-osd-prepare-{node}", self.ns)
            if int((job.get("status") or {}).get("succeeded") or 0) < 1:
                continue
            for disk in ok:
                osd = ceph.add_osd(node, disk.dev, disk.size)
                self._phase("Progressing", f'Processing OSD {osd.id} on node "{node}"')
                self._ensure("deployments.apps", O.osd(self.ns, osd.id, node, disk.dev, self._image(spec),
                                                       ceph.fsid, osd.uuid))
            self.prepared.add(node)
        self._status(lambda s: s.update(storage=S.storage(ceph)))
        return settled

    def _sync_daemons(self) -> None:
        """A daemon runs while its pod runs (scaled to zero or deleted: it stops gracefully)."""
        ceph = self.ceph
        for m in ceph.mons.values():
            ceph.set_enabled(f"mon.{m.name}", self._pod_runs(f"app=rook-ceph-mon,mon={m.name}"))
        for m in ceph.mgrs.values():
            ceph.set_enabled(f"mgr.{m.name}", self._pod_runs(f"app=rook-ceph-mgr,mgr={m.name}"))
        for o in ceph.osds.values():
            ceph.set_enabled(o.name, self._pod_runs(f"app=rook-ceph-osd,ceph-osd-id={o.id}"))

    def _check_status(self) -> None:
        ceph = self.ceph
        now = self.kube.now()

        def update(st: dict[str, Any]) -> None:
            if ceph.has_quorum():
                st["ceph"] = S.ceph_status(ceph, st.get("ceph"), now)
                if self.step == "ready":
                    S.set_phase(st, "Ready", "Cluster created successfully", now)
            else:
                st["ceph"] = S.error_status("failed to get status. . timed out: exit status 1", st.get("ceph"), now)
                if self.step == "ready":
                    S.set_phase(st, "Ready", "Failed to configure ceph cluster", now, ok=False)
        self._status(update)

    # --- pools --------------------------------------------------------------------------------------------
    def _pools(self) -> None:
        for kind in POOL_KINDS:
            for cr in self.kube.list(kind, self.ns):
                key = (kind, cr["metadata"]["name"])
                if key in self.pools_done:
                    continue
                for name, pool in pools_of(kind, cr):
                    if name not in {p.name for p in self.ceph.pools.values()}:
                        self.ceph.add_pool(name, **pool)
                self.pools_done.add(key)
                cr["status"] = {"phase": "Ready", "observedGeneration": cr["metadata"].get("generation", 1)}
                if kind == POOL_KINDS[0]:
                    spec = cr.get("spec") or {}
                    cr["status"]["info"] = {"type": "Erasure Coded" if spec.get("erasureCoded") else "Replicated",
                                            "failureDomain": spec.get("failureDomain", "host")}
                self.kube.put_status(kind, cr)


def _pool_args(spec: dict[str, Any], pg_num: int, seed: tuple[int, int] = (0, 0), app: str = "rbd") -> dict:
    ec = spec.get("erasureCoded") or {}
    params = spec.get("parameters") or {}
    objects, stored = seed
    if ec.get("dataChunks"):
        k, m = int(ec["dataChunks"]), int(ec.get("codingChunks", 1))
        args = {"size": k + m, "kind": "erasure", "k": k}
    else:
        args = {"size": int((spec.get("replicated") or {}).get("size", 3))}
    if params.get("min_size"):
        args["min_size"] = int(params["min_size"])
    return {**args, "pg_num": int(params.get("pg_num", pg_num)), "application": app,
            "failure_domain": spec.get("failureDomain", "host"), "objects": objects, "stored": stored}


def pools_of(kind: str, cr: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The Ceph pools a pool-bearing CR makes, with the autoscaler's starting pg_num (data 32, metadata 16,
    RGW metadata 8: ours, matching what a fresh Rook cluster shows)."""
    name, spec = cr["metadata"]["name"], cr.get("spec") or {}
    if kind.startswith("cephblockpools"):
        return [(name, _pool_args(spec, 32, SEED_DATA["blockpool"]))]
    if kind.startswith("cephfilesystems"):
        out = [(f"{name}-metadata", _pool_args(spec.get("metadataPool") or {}, 16, SEED_DATA["metadata"], "cephfs"))]
        for i, dp in enumerate(spec.get("dataPools") or []):
            out.append((f"{name}-{dp.get('name') or f'data{i}'}", _pool_args(dp, 32, app="cephfs")))
        return out
    meta = spec.get("metadataPool") or {}
    out = [(".rgw.root", _pool_args(meta, 8, SEED_DATA[".rgw.root"], "rgw"))]
    out += [(f"{name}.{p}", _pool_args(meta, 8, SEED_DATA.get(p, (0, 0)), "rgw")) for p in RGW_META]
    out.append((f"{name}.rgw.buckets.data", _pool_args(spec.get("dataPool") or {}, 32, app="rgw")))
    return out
