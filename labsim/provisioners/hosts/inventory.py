"""An Ansible inventory for rancherfederal/rke2-ansible from a lab file's RKE2 cluster.

The shape is rke2-ansible's (inventory/sample/hosts.yml and hosts.ini): group `rke2_cluster` with the
children `rke2_servers` and `rke2_agents`, per-host `ansible_host`, `ansible_user`, `ansible_port`,
`ansible_ssh_private_key_file` (for `file:` key references only: a secret's value is never written) and
`ansible_become` (the checks read root-only files, as rke2-ansible's CI runs testinfra with --sudo);
group vars `rke2_config` with the cluster's CNI and CIDRs, and `rke2_kubernetes_api_server_host`.

The same file drives testinfra's `ansible://` backend:
    py.test --hosts='ansible://rke2_servers?ansible_inventory=inventory.yml' ...
"""
from __future__ import annotations

from typing import Any

import yaml

from labsim.provisioners.hosts.endpoints import from_lab
from labsim.provisioners.lab.model import Lab, Rke2Cluster


def rke2_clusters(lab: Lab) -> list[Rke2Cluster]:
    return [c for c in lab.clusters if isinstance(c, Rke2Cluster)]


def _hostvars(lab: Lab, name: str) -> dict[str, Any]:
    ep = from_lab(lab).get(name)
    h = lab.host(name)
    if ep is None:   # no ssh section: the address alone
        return {"ansible_host": str(h.address)} if h.address else {}
    out: dict[str, Any] = {"ansible_host": ep.host, "ansible_port": ep.port, "ansible_user": ep.user}
    if ep.key_file:
        out["ansible_ssh_private_key_file"] = ep.key_file
    if ep.known_hosts:
        out["ansible_ssh_common_args"] = f"-o UserKnownHostsFile={ep.known_hosts} -o StrictHostKeyChecking=yes"
    if ep.sudo:
        out["ansible_become"] = True
    if h.address:
        out["node_ip"] = str(h.address)
    return out


def inventory_data(lab: Lab, cluster: str | None = None) -> dict[str, Any]:
    clusters = rke2_clusters(lab)
    if cluster is not None:
        clusters = [c for c in clusters if c.name == cluster]
    if not clusters:
        raise ValueError(f"lab {lab.lab.name} has no RKE2 cluster" + (f" named {cluster}" if cluster else ""))
    if len(clusters) > 1:
        raise ValueError(f"lab {lab.lab.name} has {len(clusters)} RKE2 clusters; name one with --cluster")
    c = clusters[0]
    config: dict[str, Any] = {"cni": c.cni, "cluster-cidr": str(c.pod_subnet), "service-cidr": str(c.service_subnet)}
    if not c.kube_proxy:
        config["disable-kube-proxy"] = True
    return {
        "all": {"vars": {"install_rke2_version": c.version, "rke2_kubernetes_api_server_host": c.endpoint_host}},
        "rke2_cluster": {"children": {
            "rke2_servers": {"vars": {"rke2_config": config},
                             "hosts": {n: _hostvars(lab, n) for n in c.hosts.servers}},
            "rke2_agents": {"hosts": {n: _hostvars(lab, n) for n in c.hosts.agents}},
        }},
    }


def _ini_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    text = str(v)
    return f"'{text}'" if " " in text else text


def render(lab: Lab, fmt: str = "yaml", cluster: str | None = None) -> str:
    data = inventory_data(lab, cluster)
    if fmt == "yaml":
        return "---\n" + yaml.safe_dump(data, sort_keys=False)
    groups = data["rke2_cluster"]["children"]
    lines: list[str] = []
    for group in ("rke2_servers", "rke2_agents"):
        lines.append(f"[{group}]")
        for name, hv in groups[group]["hosts"].items():
            lines.append(" ".join([name] + [f"{k}={_ini_value(v)}" for k, v in hv.items()]))
        lines.append("")
    lines += ["[rke2_cluster:children]", "rke2_servers", "rke2_agents", "", "[all:vars]"]
    lines += [f"{k}={_ini_value(v)}" for k, v in data["all"]["vars"].items()]
    # rke2_config is a mapping: INI inventories cannot hold it; rke2-ansible reads it from group_vars.
    return "\n".join(lines) + "\n"
