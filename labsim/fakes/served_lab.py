"""What `python -m labsim.fakes serve` hands a real-lab run: a lab file that points at the served lab, the
secrets to export, and the counters that show what the run did to it.

- `lab_copy(raw, endpoints)`: the lab file's data with `reach` (the address the suite connects to) set to
  the served 127.0.0.1 ports on every device, Proxmox node and SSH host, the served CA as Proxmox's
  `ca_file`, the served per-run SSH key as each host's `file:` key and the served known_hosts. The lab
  addresses stay as they are, so the copy passes the same intent checks as the original.
- `secret_env(raw, endpoints)`: the `env:` references the copy still uses, with the served values.
- `client_env(raw, endpoints)` / `shell_exports(...)`: everything a shell needs to run the suite or the tools
  against the served lab (`python -m labsim.fakes env ENDPOINTS_FILE`): those secrets, the tools' control API, PATH
  with the fake talosctl/helm/cilium first, the served kubeconfigs in KUBECONFIG, a workdir and helm homes
  of this served lab's own.
- `counters(lab)`: writes and reads per face; a read-only run must leave every write count at 0.
"""
from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import yaml


def _reach(ep: Mapping[str, Any]) -> dict[str, Any]:
    return {"host": ep["host"], "port": int(ep["port"])}


def lab_copy(raw: Mapping[str, Any], endpoints: Mapping[str, Any]) -> dict[str, Any]:
    data = copy.deepcopy(dict(raw))
    for d in (data.get("routeros") or {}).get("devices") or []:
        ep = endpoints.get("routeros", {}).get(d["identity"])
        if ep:
            d.setdefault("management", {})["reach"] = _reach(ep)
    pve = data.get("proxmox") or {}
    for n in pve.get("nodes") or []:
        ep = endpoints.get("proxmox", {}).get(n["name"])
        if ep:
            n.setdefault("management", {})["reach"] = _reach(ep)
            pve["ca_file"], pve["verify_tls"] = ep.get("ca"), True
    ssh_owners = list(pve.get("nodes") or []) + list(data.get("hosts") or [])
    for owner in ssh_owners:
        ep = endpoints.get("hosts", {}).get(owner["name"])
        if ep and owner.get("ssh"):
            ssh = owner["ssh"]
            ssh["reach"] = _reach(ep)
            if ep.get("key_file"):
                ssh["key"] = f"file:{ep['key_file']}"   # the served per-run key, never an engineer's
            ssh["known_hosts"] = ep.get("known_hosts")
    for c in data.get("clusters") or []:
        ep = endpoints.get("kubernetes", {}).get(c["name"])   # once the Kubernetes face serves them
        if ep:
            c["reach"] = _reach(ep)
            if ep.get("ca"):
                c["ca_file"] = ep["ca"]
    return data


def dump(data: Mapping[str, Any]) -> str:
    return ("# Written by `python -m labsim.fakes serve --lab-out`: the lab file with every endpoint reached on the\n"
            "# served simulated lab (127.0.0.1). Secrets stay references; export them from the endpoints file.\n"
            + yaml.safe_dump(dict(data), sort_keys=False))


def secret_env(raw: Mapping[str, Any], endpoints: Mapping[str, Any]) -> dict[str, str]:
    """env variable -> value for every `env:` reference whose served value the endpoints file holds."""
    out: dict[str, str] = {}

    def put(ref: Any, value: Any) -> None:
        if isinstance(ref, str) and ref.startswith("env:") and value is not None:
            out[ref[4:]] = str(value)

    ros = raw.get("routeros") or {}
    default = (ros.get("defaults") or {}).get("password")
    for d in ros.get("devices") or []:
        put(d.get("password", default), endpoints.get("routeros", {}).get(d["identity"], {}).get("password"))
    pve = raw.get("proxmox") or {}
    creds = pve.get("credentials") or {}
    for ep in endpoints.get("proxmox", {}).values():
        put(creds.get("token_secret"), ep.get("token_secret"))
        put(creds.get("password"), ep.get("password"))
    for owner in list(pve.get("nodes") or []) + list(raw.get("hosts") or []):
        ssh = owner.get("ssh") or {}
        put(ssh.get("password"), endpoints.get("hosts", {}).get(owner["name"], {}).get("password"))
    return out


def client_env(raw: Mapping[str, Any], endpoints: Mapping[str, Any], path: str | None = None) -> dict[str, str]:
    """The environment a client of the served lab runs in (`path`: the PATH to extend, default this one's)."""
    import os

    env = secret_env(raw, endpoints)
    tools = endpoints.get("tools") or {}
    env.update({k: str(v) for k, v in (tools.get("env") or {}).items()})
    session = endpoints.get("session") or {}
    if session.get("workdir"):   # the lab code's files (Talos secrets, configs, kubeconfigs) for this served lab
        env["LABSIM_WORKDIR"] = session["workdir"]
    if session.get("helm"):      # the fake helm's repositories and cache, never the engineer's ~/.config/helm
        for kind in ("config", "cache", "data"):
            env[f"HELM_{kind.upper()}_HOME"] = os.path.join(session["helm"], kind)
    kubeconfigs = [ep["kubeconfig"] for ep in (endpoints.get("kubernetes") or {}).values() if ep.get("kubeconfig")]
    if kubeconfigs:
        env["KUBECONFIG"] = os.pathsep.join(kubeconfigs)
    base = os.environ.get("PATH", "") if path is None else path
    if tools.get("bin"):
        rest = [p for p in base.split(os.pathsep) if p and p != tools["bin"]]
        env["PATH"] = os.pathsep.join([tools["bin"], *rest])
    return env


def shell_exports(env: Mapping[str, str]) -> str:
    """`export NAME='value'` lines for `eval "$(python -m labsim.fakes env endpoints.json)"`."""
    import shlex

    return "".join(f"export {k}={shlex.quote(v)}\n" for k, v in env.items())


# Requests that are not writes although not GET: running a command in a pod (kubectl exec: the toolbox's `ceph`
# reads) and asking the API server what the caller may do.
_NOT_WRITES = ("/exec", "/attach", "/portforward", "selfsubjectaccessreviews", "selfsubjectrulesreviews",
               "subjectaccessreviews", "tokenreviews")


def _kube_write(method: str, path: str) -> bool:
    return method not in ("GET", "HEAD", "OPTIONS") and not path.split("?", 1)[0].endswith(_NOT_WRITES)


def _kube_logs(lab: Any) -> dict[str, list]:
    """Each Talos cluster's Kubernetes API server's access log (method, path, status), by cluster name."""
    out: dict[str, list] = {}
    face = getattr(lab, "talos", None)
    for cluster in list(getattr(getattr(face, "talos", None), "clusters", {}).values()):
        server = getattr(getattr(cluster, "kube", None), "server", None)
        if server is not None:
            out[cluster.name] = list(server.access_log)
    return out


def counters(lab: Any) -> dict[str, Any]:
    """What a run did to the served lab: `writes` per face (0 everywhere after a read-only run) and
    `reads` (RouterOS sentences, SSH commands, Proxmox requests, each Talos cluster's Kubernetes API requests),
    showing the run did reach it. Helm releases and Rook's objects are Kubernetes writes, counted there."""
    writes: dict[str, int] = dict(lab.writes())
    reads: dict[str, int] = {f"routeros:{k}": srv.sentences_received for k, srv in lab.routeros.items()}
    hosts = getattr(lab, "hosts", None)
    if hosts is not None:
        for name, c in hosts.counters().items():
            writes[f"ssh:{name}"] = c["writes"]
            reads[f"ssh:{name}"] = c["commands"]
    pve = getattr(lab, "proxmox", None)
    if pve is not None:
        reads["proxmox"] = len(getattr(pve, "access_log", []))
    for name, log in _kube_logs(lab).items():
        writes[f"kubernetes:{name}"] = sum(1 for method, path, _ in log if _kube_write(method, path))
        reads[f"kubernetes:{name}"] = sum(1 for method, _, _ in log if method in ("GET", "HEAD"))
    return {"lab": lab.inventory.name, "writes": writes, "reads": reads, "total_writes": sum(writes.values())}


def write_lab_out(raw: Mapping[str, Any], endpoints: Mapping[str, Any], path: str) -> None:
    """Atomically: serve rewrites it when a cluster's API comes up, maybe while a run reads it."""
    import os
    from pathlib import Path

    tmp = Path(f"{path}.tmp")
    tmp.write_text(dump(lab_copy(raw, endpoints)))
    os.replace(tmp, path)


_snapshots = 0


def write_counters(lab: Any, path: str) -> None:
    """Atomically (a reader never sees half a file); `snapshot` counts the writes of this file."""
    import json
    import os
    from pathlib import Path

    global _snapshots
    _snapshots += 1
    tmp = Path(f"{path}.tmp")
    tmp.write_text(json.dumps({**counters(lab), "snapshot": _snapshots}, indent=2) + "\n")
    os.replace(tmp, path)
