"""A simulated Aggrik8s lab with its VMs booted into Talos maintenance mode, driven in-process (no CLI):
the fabric and the VMs are provisioned with the real provisioners, then the Talos API is called directly
(what talosctl would send), so world-level tests of Talos and Cilium run in about a second."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from proxmoxer import ProxmoxAPI

from labsim.fakes.cilium import chart
from labsim.fakes.inventory import load_inventory
from labsim.fakes.lab import SimulatedLab
from labsim.fakes.talos import genconfig
from labsim.fakes.talos import health as H
from labsim.fakes.tools import helm_certs
from labsim.provisioners.endpoints import Endpoints
from labsim.provisioners.fabric.client import connect
from labsim.provisioners.fabric.run import provision as provision_fabric
from labsim.provisioners.lab import load_lab
from labsim.provisioners.proxmox.run import provision as provision_vms

LAB = Path(__file__).resolve().parents[2] / "labs" / "aggrik8s.yaml"
CILIUM = {"ipam": {"mode": "kubernetes"}, "kubeProxyReplacement": True, "k8sServiceHost": "localhost",
          "k8sServicePort": 7445,
          "securityContext": {"capabilities": {
              "ciliumAgent": ["CHOWN", "KILL", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "SYS_ADMIN", "SYS_RESOURCE",
                              "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"],
              "cleanCiliumState": ["NET_ADMIN", "SYS_ADMIN", "SYS_RESOURCE"]}},
          "cgroup": {"autoMount": {"enabled": False}, "hostRoot": "/sys/fs/cgroup"},
          "cluster": {"name": "talos-east", "id": 1}}


class TalosLab:
    def __init__(self, labfile: Path = LAB, *, vm_patch: dict[str, Any] | None = None):
        secrets = {r: "talos-test" for r in load_inventory(labfile).secret_refs()}
        self.sim = SimulatedLab(labfile, secrets=secrets).start()
        self.clock = self.sim.clock
        self.lab = load_lab(labfile)
        eps = Endpoints.from_json(self.sim.endpoints())
        conns = {d: connect(ep) for d, ep in eps.routeros.items()}
        provision_fabric(self.lab, conns.__getitem__)
        ep = eps.proxmox["pve"]
        self.prox = ProxmoxAPI(f"{ep.host}:{ep.port}", user=ep.user, token_name=ep.token_id,
                               token_value=ep.token_secret, verify_ssl=ep.ca)
        provision_vms(self.lab, self.prox, self.clock)
        self.clock.sleep(30)
        self.talos = self.sim.talos.talos
        self.api = self.sim.talos.control.services["talos"]
        self.bundle = genconfig.gen_secrets()

    def stop(self) -> None:
        self.sim.stop()

    # --- addresses and configs ---------------------------------------------------------------------------------
    def vm(self, name: str):
        return next(v for v in self.sim.world.proxmox.vms.values() if v.name == name)

    def ip(self, name: str) -> str:
        return self.vm(name).world["lease"].address

    def node(self, name: str):
        return self.talos.nodes[self.vm(name).vmid]

    @property
    def ca(self) -> str:
        return self.bundle["certs"]["os"]["crt"]

    def config(self, role: str, name: str, cluster: str = "talos-east", **over: Any) -> str:
        c = self.lab.cluster(cluster)
        doc = genconfig.machine_config(role, cluster, c.endpoint, self.bundle, install_disk="/dev/vda")
        patch = {"cluster": {"network": {"cni": {"name": "none"}, "podSubnets": [str(c.pod_subnet)],
                                         "serviceSubnets": [str(c.service_subnet)]},
                             "proxy": {"disabled": True}},
                 "machine": {"network": {"hostname": name}}}
        if role == "controlplane" and c.vip:
            patch["machine"]["network"]["interfaces"] = [{"deviceSelector": {"physical": True}, "dhcp": True,
                                                          "vip": {"ip": str(c.vip)}}]
        doc = genconfig.apply_patch(genconfig.apply_patch(doc, patch), over)
        return genconfig.dump(doc)

    def call(self, method: str, node: str | None = None, **body: Any):
        if node is not None:
            ip = self.ip(node)
            body = {"nodes": [ip], "endpoints": [ip], "auth_ca": self.ca, **body}
        return self.api(method, body)

    # --- bring-up ----------------------------------------------------------------------------------------------
    def machines(self, cluster: str = "talos-east") -> list[tuple[str, str]]:
        return [(m.name, m.role) for m in self.lab.cluster(cluster).members()]

    def install(self, cluster: str = "talos-east", **over: Any) -> None:
        for name, role in self.machines(cluster):
            out = self.api("apply_config", {"nodes": [self.ip(name)], "insecure": True,
                                            "data": self.config(role, name, cluster, **over)})
            assert "error" not in out[0], out
        self.clock.sleep(60)

    def bootstrap(self, cluster: str = "talos-east") -> None:
        first = self.machines(cluster)[0][0]
        assert "error" not in self.call("bootstrap", first)[0]
        self.clock.sleep(60)

    def power_off(self, name: str, how: str = "stop") -> None:
        """PVE `stop` (pulls the plug) or `shutdown` (ACPI: the guest shuts down cleanly)."""
        vm = self.vm(name)
        self.prox.nodes(vm.node).qemu(vm.vmid).status(how).post()
        self.clock.sleep(5 if how == "stop" else 10)

    def cluster(self, name: str = "talos-east"):
        return self.talos.cluster_named(name)

    def kube(self, name: str = "talos-east"):
        return self.cluster(name).kube.cluster

    def cilium(self, values: dict[str, Any] | None = None, cluster: str = "talos-east") -> None:
        """What `helm install` creates, straight into the cluster's store."""
        ca = helm_certs.gen_ca()
        objs = chart.render(chart.merge(chart.DEFAULTS, values or CILIUM), release="cilium", namespace="kube-system",
                            version="1.18.5", ca=ca, issue=helm_certs.issuer(ca, "mesh.cilium.io"))
        kube = self.kube(cluster)
        plural = {"ServiceAccount": "serviceaccounts", "Secret": "secrets", "ConfigMap": "configmaps",
                  "Service": "services", "DaemonSet": "daemonsets", "Deployment": "deployments",
                  "ClusterRole": "clusterroles", "ClusterRoleBinding": "clusterrolebindings"}
        for obj in objs:
            kube.create(plural[obj["kind"]], obj, obj["metadata"].get("namespace"))
        self.clock.sleep(60)

    def up(self, cluster: str = "talos-east", **over: Any) -> None:
        self.install(cluster, **over)
        self.bootstrap(cluster)
        self.cilium(cluster=cluster)

    def for_talosctl(self, workdir: Path) -> "TalosLab":
        """talos-east up, a talosconfig for it in `workdir` (endpoint cp-e-1), and `env` reaching the fake tools: what
        the tests that run the fake talosctl as a program start from."""
        self.up()
        self.dir = workdir
        (workdir / "talosconfig").write_text(genconfig.dump(genconfig.talosconfig("talos-east", self.bundle,
                                                                                  [self.ip("cp-e-1")])))
        self.env = {**os.environ, **self.sim.talos.tool_env()}
        return self

    def health(self, cluster: str = "talos-east", timeout: float = 60.0) -> tuple[list[str], str | None]:
        c = self.cluster(cluster)
        cps, workers = H.discover(c)
        lines, error = [], None
        try:
            lines.extend(H.run(self.talos, c, cps, workers, timeout, self.sim.talos.pace))   # kept on error
        except Exception as exc:  # noqa: BLE001 - the stream's end (ControlError)
            error = str(exc)
        return lines, error
