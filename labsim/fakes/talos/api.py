"""The Talos API as the fake talosctl reaches it (control service `talos`): what apid/machined answer.

Every call names its target nodes (`-n`), the endpoints it dials (`-e`), and either `insecure` (the
maintenance API, no client certificate: only a node in maintenance mode answers it) or the talosconfig's
CA (`auth_ca`): a configured node answers only clients whose talosconfig trusts its machine CA. The
endpoint proxies to the target nodes, which must be up and in its cluster. Answers are per node:
`{"node": ip, "result": ...}` or `{"node": ip, "error": {"code", "message"}}`, as talosctl receives
one message per node through apid.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from labsim.fakes.control import ControlError, Pace
from labsim.fakes.talos import hardware, health, machineconfig, resources, services
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
            "wipe_disk": self.wipe_disk, "reset": self.reset,
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
            return {"version": {"tag": f"v{node.version}", "sha": "undefined", "built": "", "go_version": GO_VERSION,
                                "os": "linux", "arch": "amd64"},
                    "platform": {"name": "metal", "mode": "metal"}, "features": {"rbac": True}}
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
            refused = node.cluster.bootstrap(node)
            if refused is not None:
                raise ControlError(*refused)
            return {}
        return self._each(body, one)

    def get(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        d = resources.definition(str(body.get("type", "")))
        if d is None:
            raise ControlError("Unknown", f"resource type {body.get('type')!r} is not registered")

        def one(node: TalosNode) -> dict[str, Any]:
            if node.stage == "maintenance" and not d.maintenance:
                raise ControlError("PermissionDenied", "not authorized")
            items = resources.read(node, d, body.get("id"), node.talos.clock.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"))
            if body.get("id") and not items:
                raise ControlError("NotFound", f"resource {d.type}({d.namespace}/{body['id']}@undefined) "
                                               "doesn't exist")
            return {"definition": {"type": d.type, "display": d.display, "columns": d.columns}, "items": items}
        return self._each(body, one)

    def service(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        def one(node: TalosNode) -> list[dict[str, Any]]:
            now = self.talos.clock.now()
            return [{"id": s.id, "state": s.state, "health": s.health, "event": s.event, "ago": now - s.since}
                    for s in services.services(node) if not body.get("id") or s.id == body["id"]]
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
