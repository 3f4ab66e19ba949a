"""Host checks through testinfra: each function takes a testinfra `host` (any backend: paramiko against
a Pi or the Proxmox host, `local` for the operator's workstation) and returns named `Result`s with the
evidence behind each answer. Read-only: files are read, units and sockets listed, nothing changed.

The RKE2 checks are those of rancherfederal/rke2-ansible's own tests (testing/basic_server_tests.py,
basic_agent_tests.py: config.yaml root:root 0640, `token:` and `server:` in an agent's config, the
unit running and enabled; roles/testing: the kubelet answers), plus the API port on servers.
"""
from __future__ import annotations

from typing import Any

from labsim.provisioners.vocabulary import Result
from labsim.provisioners.hosts.interfaces import parse_interfaces, vids
from labsim.provisioners.tools import check_tool

RKE2_CONFIG = "/etc/rancher/rke2/config.yaml"
PVE_UNITS = ("pve-cluster", "pvedaemon", "pveproxy")
KUBELET_METRICS = "https://localhost:10250/metrics"
# The kubelet answers when it returns any HTTP status: RKE2 refuses anonymous reads (401/403).
KUBELET_ANSWERS = {"200", "401", "403"}


def unit_running_enabled(host: Any, subject: str, unit: str) -> Result:
    svc = host.service(unit)
    running, enabled = svc.is_running, svc.is_enabled
    problems = [w for w, ok in (("not running", running), ("not enabled", enabled)) if not ok]
    return Result("unit-running-enabled", f"{subject} {unit}", not problems,
                  f"{unit} is running and enabled" if not problems else f"{unit} is {' and '.join(problems)}",
                  {"running": running, "enabled": enabled})


def port_listening(host: Any, subject: str, port: int) -> Result:
    ok = host.socket(f"tcp://{port}").is_listening
    return Result("port-listening", f"{subject} :{port}", ok,
                  f"TCP {port} is listening" if ok else f"nothing listens on TCP {port}",
                  {"listening": host.socket.get_listening_sockets()})


def file_owner_mode(host: Any, subject: str, path: str, user: str, group: str, mode: int) -> Result:
    f = host.file(path)
    if not f.exists:
        return Result("file-owner-mode", f"{subject} {path}", False, f"{path} does not exist", {})
    have = (f.user, f.group, f.mode)
    ok = have == (user, group, mode)
    return Result("file-owner-mode", f"{subject} {path}", ok,
                  f"{path} is {have[0]}:{have[1]} {have[2]:04o}" + ("" if ok else f", want {user}:{group} {mode:04o}"),
                  {"user": have[0], "group": have[1], "mode": f"{have[2]:04o}"})


def file_contains(host: Any, subject: str, path: str, keys: tuple[str, ...]) -> Result:
    f = host.file(path)
    missing = [k for k in keys if not f.contains(k)]
    return Result("file-contains", f"{subject} {path}", not missing,
                  f"{path} has {', '.join(keys)}" if not missing else f"{path} lacks {', '.join(missing)}",
                  {"missing": missing})


def kubelet_answers(host: Any, subject: str) -> Result:
    cmd = host.run("curl -sk -o /dev/null -w '%%{http_code}' %s", KUBELET_METRICS)
    code = cmd.stdout.strip()[-3:]
    ok = code in KUBELET_ANSWERS
    return Result("kubelet-answers", subject, ok,
                  f"the kubelet answers {KUBELET_METRICS} (HTTP {code})" if ok
                  else f"the kubelet does not answer {KUBELET_METRICS} (curl exit {cmd.rc}, HTTP {code or 'none'})",
                  {"http_code": code, "curl_exit": cmd.rc})


def rke2_node(host: Any, name: str, role: str) -> list[Result]:
    """An RKE2 server (`role` "server") or agent as rke2-ansible's tests check it."""
    unit = "rke2-server" if role == "server" else "rke2-agent"
    out = [file_owner_mode(host, name, RKE2_CONFIG, "root", "root", 0o640),
           file_contains(host, name, RKE2_CONFIG, ("token:", "server:") if role == "agent" else ("token:",)),
           unit_running_enabled(host, name, unit)]
    if role == "server":
        out.append(port_listening(host, name, 6443))
    out.append(kubelet_answers(host, name))
    return out


def proxmox_units(host: Any, name: str) -> list[Result]:
    return [unit_running_enabled(host, name, u) for u in PVE_UNITS] + [port_listening(host, name, 8006)]


def proxmox_bridges(host: Any, node: Any, cluster_vlans: dict[str, int]) -> list[Result]:
    """Each bridge of the lab file's node is in /etc/network/interfaces with its ports; a VLAN-aware one
    with `bridge-vlan-aware yes` and the lab file's VLAN range, which carries every cluster VLAN."""
    text = host.file("/etc/network/interfaces").content_string
    stanzas = parse_interfaces(text)
    out = []
    for b in node.bridges:
        have = stanzas.get(b.name)
        problems: list[str] = []
        if have is None:
            problems.append(f"no stanza for {b.name}")
        else:
            ports = set((have.get("bridge-ports") or "").split()) - {"none"}
            if ports != set(b.ports):
                problems.append(f"bridge-ports is {' '.join(sorted(ports)) or 'none'}, want {' '.join(b.ports) or 'none'}")
            if b.vlan_aware:
                if have.get("bridge-vlan-aware") != "yes":
                    problems.append("not VLAN-aware (bridge-vlan-aware yes missing)")
                live, want = vids(have.get("bridge-vids", "")), vids(str(b.vids))
                if live != want:
                    problems.append(f"bridge-vids is {have.get('bridge-vids', 'unset')}, want {b.vids}")
                lost = [f"{n} ({v})" for n, v in sorted(cluster_vlans.items()) if v not in live]
                if lost:
                    problems.append(f"does not carry {', '.join(lost)}")
        out.append(Result("pve-bridge", f"{node.name} {b.name}", not problems,
                          f"{b.name} is as the lab file says" if not problems else "; ".join(problems),
                          {"stanza": have or {}, "cluster_vlans": cluster_vlans}))
    return out


def workstation(host: Any, tools: dict[str, str | None]) -> list[Result]:
    """Every tool the lab file pins is on the workstation's PATH with the version it expects."""
    def run(cmd: list[str]) -> tuple[int, str]:
        if not host.exists(cmd[0]):
            return 127, ""
        r = host.run(" ".join(["%s"] * len(cmd)), *cmd)
        return r.rc, r.stdout + r.stderr

    out = []
    for tool, expected in sorted(tools.items()):
        c = check_tool(tool, expected, run)
        out.append(Result("tool-version", tool, c.ok, c.message, {"expected": expected, "found": c.found}))
    return out
