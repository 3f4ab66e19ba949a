"""Oracle Cloud in the simulated lab: instances the lab file declares as existing (`managed: false`).

The suite does not drive the OCI API (its SDK and request signing are out of this project's reach); the owner
launches each instance from the Talos OCI image with the user data the suite writes, as bouquet2's tofu/oci.tf does
(`metadata.user_data`), and the lab file gives its public address. In the simulator that hand is
`OracleTenancy.launch(name, user_data)`, which the sim target offers the steps (labsim/steps). The instance's
security list is the lab file's firewall of provider oracle that the server names: the owner keeps it in OCI,
the simulated internet enforces it.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from labsim.fakes.cloud.machine import CloudMachine

if TYPE_CHECKING:
    from labsim.fakes.cloud.world import CloudWorld


class OracleTenancy:
    def __init__(self, cloud: CloudWorld):
        self.cloud = cloud
        self.specs = {n: s for n, s in cloud.server_specs.items()
                      if cloud.providers.get(s.get("provider"), {}).get("kind") == "oracle-cloud"}
        self.instances: dict[str, CloudMachine] = {}

    def launch(self, name: str, user_data: str | None) -> CloudMachine:
        """The owner launches instance `name` with `user_data` (terminating one launched before)."""
        spec = self.specs.get(name)
        if spec is None:
            raise KeyError(f"no Oracle Cloud server {name!r} in the lab file")
        old = self.instances.pop(name, None)
        if old is not None:
            self.terminate_machine(old)
        shape = spec.get("shape") or {}
        image = spec.get("image") or {}
        m = CloudMachine(self.cloud, vmid=self.cloud.new_vmid(), name=name, provider="oracle",
                         location=str(spec.get("location", "")), cores=int(shape.get("ocpus", 1)),
                         memory_mib=int(shape.get("memory_gib", 6)) * 1024, disk_gib=50,
                         architecture=str(spec.get("architecture", "arm64")),
                         public_ipv4=str(spec.get("public_ipv4") or self.cloud.new_public_ipv4("oci")),
                         image={"talos_version": str(image.get("talos_version") or "").lstrip("v") or None,
                                "extensions": list(image.get("extensions") or [])}, user_data=user_data)
        self.cloud.add_machine(m)
        self.instances[name] = m
        self.cloud.power_on(m)
        return m

    def terminate_machine(self, m: CloudMachine) -> None:
        self.cloud.power_off(m, graceful=False)
        self.cloud.fire("destroyed", m)
        self.cloud.machines.pop(m.vmid, None)

    def stop(self, name: str, graceful: bool = False) -> None:
        m = self.instances[name]
        self.cloud.power_off(m, graceful=graceful)

    def start(self, name: str) -> None:
        m = self.instances[name]
        if m.status != "running":
            self.cloud.power_on(m)

    def rules_of(self, m: CloudMachine) -> list[dict[str, Any]] | None:
        spec = self.specs.get(m.name) or {}
        rules = []
        for fw_name in spec.get("firewalls") or []:
            fw = self.cloud.firewall_specs.get(fw_name) or {}
            for r in fw.get("rules") or []:
                rules.append({"direction": r.get("direction", "in"), "protocol": r.get("protocol"),
                              "port": str(r["port"]) if r.get("port") is not None else None,
                              "source_ips": [str(s) for s in r.get("sources") or []]})
        return rules
