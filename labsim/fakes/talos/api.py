"""The Talos API as the fake talosctl reaches it (control service `talos`): what apid/machined answer.

Every call names its target nodes (`-n`), the endpoints it dials (`-e`), and either `insecure` (the
maintenance API, no client certificate: only a node in maintenance mode answers it) or the talosconfig's
CA (`auth_ca`): a configured node answers only clients whose talosconfig trusts its machine CA. The
endpoint proxies to the target nodes, which must be up and in its cluster. Answers are per node:
`{"node": ip, "result": ...}` or `{"node": ip, "error": {"code", "message"}}`, as talosctl receives
one message per node through apid.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from labsim.fakes.control import ControlError, Pace
from labsim.fakes.tools.gofmt import rfc3339nano
from labsim.fakes.talos import hardware, health, kmsg, machine, machineconfig, resources, services
from labsim.fakes.talos import texts as T
from labsim.fakes.talos.machineconfig import ConfigParseError, MachineConfig

if TYPE_CHECKING:
    from labsim.fakes.talos.node import TalosNode
    from labsim.fakes.talos.world import TalosWorld

GO_VERSION = "go1.24.9"


class Unavailable(ControlError):
    def __init__(self, message: str):
        super().__init__("Unavailable", message)


class TalosApi:
    def __init__(self, talos: TalosWorld, pace: Pace):
        self.talos = talos
        self.pace = pace
        self.lock = talos.clock.lock
        self.methods: dict[str, Callable[[dict[str, Any]], Any]] = {
            "version": self.version, "apply_config": self.apply_config, "bootstrap": self.bootstrap,
            "get": self.get, "service": self.service, "etcd_members": self.etcd_members,
            "kubeconfig": self.kubeconfig, "health": self.health, "reboot": self.reboot,
            "wipe_disk": self.wipe_disk, "reset": self.reset, "dmesg": self.dmesg, "logs": self.logs,
            "containers": self.containers, "stats": self.stats, "memory": self.memory, "time": self.time,
            "netstat": self.netstat, "image_list": self.image_list, "etcd_status": self.etcd_status,
            "read": self.read, "list": self.list,
        }

    def __call__(self, method: str, body: dict[str, Any]) -> Any:
        fn = self.methods.get(method)
        if fn is None:
            raise ControlError("Unimplemented", f"unknown method talos/{method}")
        if method == "health":
            return fn(body)
        with self.lock:
            return fn(body)

    # --- reaching nodes ------------------------------------------------------------------------------------
    def _up(self, ip: str) -> TalosNode:
        refused = self.talos.refusal(ip)      # a firewall, a node off the tailnet: the dial times out
        if refused:
            raise Unavailable(refused)
        node = self.talos.node_at(ip)
        if node is None or not node.reachable or not node.apid:
            raise Unavailable(T.UNAVAILABLE.format(ip=ip))
        return node

    def _endpoint(self, body: dict[str, Any]) -> TalosNode:
        endpoints = body.get("endpoints") or []
        if not endpoints:
            raise ControlError("Unknown", "failed to determine endpoints")
        last: ControlError | None = None
        for ep in endpoints:   # the client's resolver fails over between endpoints
            try:
                node = self._up(ep)
                if node.stage == "maintenance" or node.config is None or \
                        node.config.machine_ca != body.get("auth_ca"):
                    raise Unavailable(T.UNKNOWN_CA)
            except ControlError as exc:
                last = exc
                continue
            return node
        assert last is not None
        raise last

    def _targets(self, body: dict[str, Any]) -> list[tuple[str, TalosNode | ControlError]]:
        nodes = body.get("nodes") or []
        if body.get("insecure"):
            out: list[tuple[str, TalosNode | ControlError]] = []
            for ip in nodes:
                try:
                    node = self._up(ip)
                    if node.stage != "maintenance":
                        raise Unavailable(T.TLS_REQUIRED)
                    out.append((ip, node))
                except ControlError as exc:
                    out.append((ip, exc))
            return out
        endpoint = self._endpoint(body)
        if not nodes:
            return [(endpoint.address or "", endpoint)]
        out = []
        for ip in nodes:
            try:
                node = self._up(ip)
                if node.cluster is not endpoint.cluster:
                    raise Unavailable(T.UNAVAILABLE.format(ip=ip))
                out.append((ip, node))
            except ControlError as exc:
                out.append((ip, exc))
        return out

    def _each(self, body: dict[str, Any], fn: Callable[[TalosNode], Any]) -> list[dict[str, Any]]:
        out = []
        for ip, target in self._targets(body):
            if isinstance(target, ControlError):
                out.append({"node": ip, "error": {"code": target.code, "message": target.message}})
                continue
            try:
                out.append({"node": ip, "result": fn(target)})
            except ControlError as exc:
                out.append({"node": ip, "error": {"code": exc.code, "message": exc.message}})
        return out

    # --- calls -----------------------------------------------------------------------------------------------
    def version(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        def one(node: TalosNode) -> dict[str, Any]:
            if node.stage == "maintenance":
                raise ControlError(*T.MAINTENANCE_ONLY_INSECURE)
            arch = getattr(node.vm, "architecture", "amd64")
            platform = getattr(node.vm, "provider", None)
            return {"version": {"tag": f"v{node.version}", "sha": "undefined", "built": "", "go_version": GO_VERSION,
                                "os": "linux", "arch": arch},
                    "platform": {"name": {"hetzner": "hcloud", "oracle": "oracle"}.get(platform or "", "metal"),
                                 "mode": "cloud" if platform else "metal"}, "features": {"rbac": True}}
        return self._each(body, one)

    def apply_config(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        text = str(body.get("data", ""))

        def one(node: TalosNode) -> dict[str, Any]:
            try:
                doc = machineconfig.parse(text)
            except ConfigParseError as exc:
                raise ControlError("Unknown", T.CONFIG_PARSE.format(error=exc)) from None
            maintenance = node.stage == "maintenance"
            disks = [d.dev for d in hardware.disks(node.vm) if not d.cdrom] if maintenance else None
            errors = machineconfig.validate(doc, disks)
            if errors:
                raise ControlError("InvalidArgument", T.CONFIG_INVALID.format(errors=T.multierror(errors)))
            config = MachineConfig.from_doc(doc, text)
            if body.get("dry_run"):
                return {"modeDetails": "Dry run summary:\nNode is running in maintenance mode and does not have a "
                                       "config yet." if maintenance else "Dry run summary:\nNo changes."}
            if maintenance:
                node.install(config)
                return {"modeDetails": ""}
            kmsg.talos(node, f"apply config request: mode {str(body.get('mode') or 'auto').lower()}")
            if config.text == (node.config.text if node.config else None):
                return {"modeDetails": "Applied configuration without a reboot"}
            node.vm.world["installed"]["config_version"] = \
                int(node.vm.world["installed"].get("config_version", 1)) + 1
            node.store_config(config)
            return {"modeDetails": "Applied configuration without a reboot"}
        return self._each(body, one)

    def bootstrap(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        def one(node: TalosNode) -> dict[str, Any]:
            if node.cluster is None:
                raise ControlError(*T.BOOTSTRAP_NOT_YET)
            kmsg.talos(node, "bootstrap request received")
            refused = node.cluster.bootstrap(node)
            if refused is not None:
                raise ControlError(*refused)
            return {}
        return self._each(body, one)

    def get(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        d = resources.definition(str(body.get("type", "")))
        if d is None:     # the client's ResolveResourceKind (pkg/machinery/client/resources.go)
            raise ControlError("NotFound", f'resource "{body.get("type")}" is not registered')
        if body.get("namespace") and body["namespace"] != d.namespace:
            d = resources.Definition(d.type, str(body["namespace"]), d.aliases, d.columns, lambda node: [],
                                     d.maintenance)

        def one(node: TalosNode) -> dict[str, Any]:
            if node.stage == "maintenance" and not d.maintenance:
                raise ControlError("PermissionDenied", "not authorized")
            items = resources.read(node, d, body.get("id"), node.talos.clock.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"))
            if body.get("id") and not items:
                raise ControlError("NotFound", f"resource {d.type}({d.namespace}/{body['id']}@undefined) "
                                               "doesn't exist")
            return {"definition": {"type": d.type, "display": d.display, "columns": [c[0] for c in d.columns]},
                    "items": items}
        return self._each(body, one)

    # --- the day-to-day reads (labsim/fakes/talos/machine.py, kmsg.py) ----------------------------------------------
    def _configured(self, node: TalosNode) -> None:
        if node.stage == "maintenance":
            raise ControlError(*T.MAINTENANCE_ONLY_INSECURE)

    def dmesg(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        """The kernel log of this boot: (sequence, line) after `after` (a follow asks again for what is new)."""
        after = int(body.get("after", -1))

        def one(node: TalosNode) -> dict[str, Any]:
            wall, now = node.talos.clock.utcnow(), node.talos.clock.now()
            out = []
            for i, (t, fac, prio, msg) in enumerate(kmsg.lines(node)):
                if i > after:
                    at = wall - timedelta(seconds=now - t)
                    stamp = rfc3339nano(at, at.microsecond * 1000 + int(round(t * 1e9)) % 1000)
                    out.append([i, f"{fac}: {prio:>7}: [{stamp}]: {msg}"])
            return {"lines": out, "boot": node.boot_id}
        return self._each(body, one)

    def logs(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        sid = str(body.get("id", ""))
        kube = bool(body.get("kubernetes"))

        def one(node: TalosNode) -> dict[str, Any]:
            self._configured(node)
            if kube:
                known = {c.id for c in machine.cri_containers(node) if c.id != c.pod_id}
                match = next((c for c in known if c == sid or c.rsplit(":", 1)[0] == sid), None)
                if match is None:
                    raise ControlError("Unknown", f'container "{sid}" not found')   # (inferred)
                return {"lines": [f"{node.talos.clock.utcnow().isoformat()} stdout F started"]}
            lines = machine.service_log(node, sid)
            if lines is None:     # the logging manager has no such log (inferred wording)
                raise ControlError("NotFound", f"log {sid!r} not found")
            return {"lines": lines}
        return self._each(body, one)

    def containers(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        kube = bool(body.get("kubernetes"))

        def one(node: TalosNode) -> list[dict[str, Any]]:
            self._configured(node)
            return [{"namespace": c.namespace, "id": c.id, "pod_id": c.pod_id, "image": c.image, "pid": c.pid,
                     "status": c.status} for c in machine.containers(node, kube)]
        return self._each(body, one)

    def stats(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        kube = bool(body.get("kubernetes"))

        def one(node: TalosNode) -> list[dict[str, Any]]:
            self._configured(node)
            return machine.stats(node, kube)
        return self._each(body, one)

    def memory(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        def one(node: TalosNode) -> dict[str, int]:
            self._configured(node)
            return machine.meminfo(node)
        return self._each(body, one)

    def time(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        """Time: the node's clock and the time server it syncs with (the config's machine.time.servers); both
        are the lab's clock (the simulated NTP has no offset). --check asks that server instead."""
        def one(node: TalosNode) -> dict[str, Any]:
            self._configured(node)
            server = str(body.get("server") or machine.ntp_servers(node)[0])
            now = node.talos.clock.utcnow()
            return {"server": server, "localtime": now.timestamp(), "remotetime": now.timestamp()}
        return self._each(body, one)

    def netstat(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        def one(node: TalosNode) -> list[dict[str, Any]]:
            self._configured(node)
            rows = machine.sockets(node, bool(body.get("listening")))
            if body.get("all"):
                rows = machine.sockets(node, True) + machine.sockets(node, False)
            want = set(body.get("protocols") or ("tcp", "tcp6", "udp", "udp6"))
            return [r for r in rows if r["l4proto"] in want]
        return self._each(body, one)

    def image_list(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        ns = str(body.get("namespace") or "cri")

        def one(node: TalosNode) -> list[dict[str, Any]]:
            self._configured(node)
            return machine.images(node, "system" if ns == "system" else "cri")
        return self._each(body, one)

    def etcd_status(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        def one(node: TalosNode) -> dict[str, Any]:
            if not node.control_plane:
                raise ControlError("Unknown", T.MEMBERS_WORKER.replace("member list", "etcd status"))   # (inferred)
            cluster = node.cluster
            if cluster is None or node.etcd != "running" or node.vmid not in cluster.members or \
                    not cluster.quorum():
                raise ControlError("Unknown", "context deadline exceeded")
            return machine.etcd_status(node)
        return self._each(body, one)

    def read(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        path = "/" + str(body.get("path", "")).strip("/")

        def one(node: TalosNode) -> dict[str, Any]:
            self._configured(node)
            content = machine.files(node).get(path)
            if content is not None:
                return {"data": content}
            if path in machine.directories(node):
                raise ControlError("Unknown", "path must be a regular file")
            raise ControlError("NotFound", f"stat {path}: no such file or directory")
        return self._each(body, one)

    def list(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        """List: the root itself (`.`), then its entries, down to `depth` (-1: all), as FileInfo."""
        root = "/" + str(body.get("root", "/")).strip("/")
        depth = int(body.get("depth", 1))
        types = set(body.get("types") or ())

        def one(node: TalosNode) -> list[dict[str, Any]]:
            self._configured(node)
            files, dirs = machine.files(node), machine.directories(node)
            if root not in dirs and root not in files:
                raise ControlError("Unknown", f"lstat {root}: no such file or directory")
            mtime = node.talos.clock.utcnow().timestamp()
            entries = []
            for path in sorted(set(files) | dirs):
                if path == root:
                    rel = "."
                elif path.startswith(root.rstrip("/") + "/"):
                    rel = path[len(root.rstrip("/")) + 1:]
                else:
                    continue
                level = 0 if rel == "." else rel.count("/") + 1
                if depth >= 0 and level > depth:
                    continue
                is_dir = path in dirs
                kind = "d" if is_dir else "f"
                if types and kind not in types:
                    continue
                entries.append({"name": path, "relative_name": rel, "is_dir": is_dir,
                                "size": 4096 if is_dir else len(files[path].encode()),
                                "mode": (0o40755 if is_dir else machine.file_mode(path)), "uid": 0, "gid": 0,
                                "modified": int(mtime - (node.talos.clock.now() - node.booted_at))})
            return entries
        return self._each(body, one)

    def service(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        """ServiceList / ServiceInfo: each service's state, health and events of this boot (oldest first)."""
        def one(node: TalosNode) -> list[dict[str, Any]]:
            now = self.talos.clock.now()
            out = []
            for s in services.services(node):
                if body.get("id") and s.id != body["id"]:
                    continue
                events = [{"state": st, "msg": msg, "ago": now - t} for t, st, msg in node.history.get(s.id, [])]
                if not events or events[-1]["msg"] != s.event:
                    events.append({"state": s.state, "msg": s.event, "ago": now - s.since})
                health_msg = s.event if s.healthy is False else ""
                out.append({"id": s.id, "state": s.state, "health": s.health, "event": s.event,
                            "ago": now - s.since, "events": events, "health_message": health_msg})
            return out
        return self._each(body, one)

    def etcd_members(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        def one(node: TalosNode) -> list[dict[str, Any]]:
            if not node.control_plane:
                raise ControlError("Unknown", T.MEMBERS_WORKER)
            cluster = node.cluster
            if cluster is None or node.etcd != "running" or not cluster.quorum():
                raise ControlError("Unknown", "context deadline exceeded")
            out = []
            for m in cluster.members_of(node):
                peer = self.talos.nodes.get(m.vmid)
                ip = peer.address if peer else ""
                out.append({"id": m.id, "hostname": m.hostname, "peer_urls": [f"https://{ip}:2380"],
                            "client_urls": [f"https://{ip}:2379"], "is_learner": m.learner})
            return out
        return self._each(body, one)

    def kubeconfig(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        def one(node: TalosNode) -> dict[str, Any]:
            if not node.control_plane or node.cluster is None:
                raise ControlError("Unimplemented", "kubeconfig is only available on control plane nodes")
            link = node.cluster.ensure_kube()
            assert node.config is not None
            return {"kubeconfig": link.kubeconfig(node.cluster.name, node.config.endpoint)}
        return self._each(body, one)

    def reboot(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        def one(node: TalosNode) -> dict[str, Any]:
            actor = hashlib.sha256(f"{node.vmid}/{node.boot_id}/{self.talos.clock.now()}".encode()).hexdigest()
            kmsg.talos(node, f"reboot via API received. actor id: {actor[:8]}-{actor[8:12]}-{actor[12:16]}-"
                             f"{actor[16:20]}-{actor[20:32]}")
            self.talos.reboot_vm(node)
            return {}
        return self._each(body, one)

    def wipe_disk(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        """BlockDeviceWipe: every named device is checked first (exists, not a CD-ROM, not holding a Talos
        volume: the install disk holds EPHEMERAL), then wiped: its partitions and filesystem signatures are gone
        (what Rook's OSD prepare job then sees, labsim/fakes/ceph/disks.py)."""
        names = [str(d) for d in body.get("devices") or []]

        def one(node: TalosNode) -> dict[str, Any]:
            if node.stage == "maintenance":
                raise ControlError(*T.MAINTENANCE_ONLY_INSECURE)
            disks = {d.name: d for d in hardware.disks(node.vm)}
            system = hardware.disk(node.vm, (node.config.install_disk if node.config else "") or "")
            for name in names:
                d = disks.get(name)
                if d is None:
                    raise ControlError(T.WIPE_NOT_FOUND[0], T.WIPE_NOT_FOUND[1].format(dev=name))
                if d.cdrom:
                    raise ControlError(T.WIPE_CDROM[0], T.WIPE_CDROM[1].format(dev=name))
                if system is not None and d.slot == system.slot:
                    raise ControlError(T.WIPE_IN_USE[0], T.WIPE_IN_USE[1].format(dev=name, volume="EPHEMERAL"))
            # what is written on a data disk is the world's record (labsim/fakes/ceph/disks.py)
            from labsim.fakes.ceph.disks import wipe
            for name in names:
                wipe(node.vm, disks[name].slot)
            return {}
        return self._each(body, one)

    def reset(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        """Reset: a graceful one leaves etcd first (a control plane's member is removed, as `talosctl reset`
        does before wiping); then the system disk's STATE and EPHEMERAL (or the whole disk) are wiped: the
        machine config and etcd data are gone. The node reboots (`--reboot`: into maintenance mode, or the ISO
        when the whole disk was wiped) or powers off."""
        def one(node: TalosNode) -> dict[str, Any]:
            if node.stage == "maintenance":
                raise ControlError(*T.MAINTENANCE_ONLY_INSECURE)
            node.reset(graceful=bool(body.get("graceful", True)), reboot=bool(body.get("reboot")),
                       labels=[str(x) for x in body.get("system_labels_to_wipe") or []])
            return {}
        return self._each(body, one)

    def health(self, body: dict[str, Any]) -> Iterator[str]:
        with self.lock:
            targets = self._targets(body)
            if len(targets) != 1:
                raise ControlError("Unknown", 'command "health" is not supported with multiple nodes')
            node = targets[0][1]
            if isinstance(node, ControlError):
                raise node
            cluster = node.cluster
            if cluster is None:
                raise ControlError("Unknown", "error discovering nodes: the node is not part of a cluster")
            cps = list(body.get("control_plane_nodes") or [])
            workers = list(body.get("worker_nodes") or [])
            if not cps and not workers:
                cps, workers = health.discover(cluster)
        return health.run(self.talos, cluster, cps, workers, float(body.get("wait_timeout", 1200)), self.pace)
