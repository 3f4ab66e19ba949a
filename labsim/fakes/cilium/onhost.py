"""What a Cilium agent meets on a Talos node, and how it fails there (Talos's Cilium guide, domain.md 1.6).

Talos runs containerd without CAP_SYS_MODULE (no kernel modules from pods), mounts cgroup v2 itself at
/sys/fs/cgroup, offers the API server on localhost:7445 through KubePrism when enabled, and has no
kube-proxy when `cluster.proxy.disabled`. Each rule names the container that fails, its exit code and
the message the kubelet or the agent shows. Sources: the caps error is from siderolabs/talos#5948 and
#11352 (`Init:CrashLoopBackOff`, exitCode 128, reason StartError); the others are marked (inferred).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

FORBIDDEN_CAPS = {"SYS_MODULE"}
TALOS_CGROUP = "/sys/fs/cgroup"
CAPS_ERROR = ("failed to create containerd task: failed to create shim task: OCI runtime create failed: runc "
              "create failed: unable to start container process: unable to apply caps: operation not permitted: "
              "unknown")
# (inferred) the host's mount namespace is read-only on Talos outside the paths it manages
MOUNT_CGROUP_ERROR = "mount: /run/cilium/cgroupv2: permission denied."
# (inferred) the agent's check that cgroup v2 is mounted where cgroup.hostRoot points
CGROUP_ROOT_ERROR = 'level=fatal msg="cgroup2 filesystem is not mounted at {root}" subsys=cgroups'
API_ERROR = ('level=error msg="Unable to contact k8s api-server" error="Get \\"https://{host}:{port}/api/v1/'
             'namespaces/kube-system\\": dial tcp {dial}: {why}" ipAddr="https://{host}:{port}" subsys=k8s-client')
# CoreDNS reaching the API through the `kubernetes` Service when nothing implements Services (no kube-proxy
# and no kube-proxy replacement): its readiness never passes
COREDNS_ERROR = ('[ERROR] plugin/kubernetes: Failed to watch *v1.Namespace: failed to list *v1.Namespace: Get '
                 '"https://{ip}:443/api/v1/namespaces?limit=500&resourceVersion=0": dial tcp {ip}:443: i/o timeout')


@dataclass(frozen=True)
class Failure:
    container: str
    init: bool
    exit_code: int
    reason: str            # the terminated reason: StartError, Error
    message: str           # what `kubectl describe` / the logs show

    @property
    def pod_status(self) -> str:
        return "Init:CrashLoopBackOff" if self.init else "CrashLoopBackOff"


@dataclass(frozen=True)
class Host:
    kubeprism: bool
    kubeprism_port: int
    kube_proxy: bool           # a kube-proxy DaemonSet runs in the cluster
    service_ip: str            # the `kubernetes` Service's ClusterIP


def _env(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: str(e.get("value", "")) for e in container.get("env") or [] if "value" in e}


def agent_failure(pod_spec: dict[str, Any], config: dict[str, str], host: Host) -> Failure | None:
    """The first container of the agent pod that cannot run on this node, in start order; None if all run."""
    inits = pod_spec.get("initContainers") or []
    for c in inits + (pod_spec.get("containers") or []):
        caps = set(((c.get("securityContext") or {}).get("capabilities") or {}).get("add") or [])
        if caps & FORBIDDEN_CAPS:
            return Failure(c["name"], c in inits, 128, "StartError", CAPS_ERROR)
        if c["name"] == "mount-cgroup":
            return Failure(c["name"], True, 1, "Error", MOUNT_CGROUP_ERROR)
    agent = next((c for c in pod_spec.get("containers") or [] if c["name"] == "cilium-agent"), None)
    if agent is None:
        return None
    root = config.get("cgroup-root", "")
    if root != TALOS_CGROUP:
        return Failure("cilium-agent", False, 1, "Error", CGROUP_ROOT_ERROR.format(root=root))
    env = _env(agent)
    host_name, port = env.get("KUBERNETES_SERVICE_HOST"), env.get("KUBERNETES_SERVICE_PORT", "443")
    if host_name in ("localhost", "127.0.0.1") and (not host.kubeprism or str(host.kubeprism_port) != port):
        dial = f"[::1]:{port}" if host_name == "localhost" else f"127.0.0.1:{port}"
        return Failure("cilium-agent", False, 1, "Error", API_ERROR.format(host=host_name, port=port, dial=dial,
                                                                           why="connect: connection refused"))
    if not host_name and not host.kube_proxy:
        ip = host.service_ip
        return Failure("cilium-agent", False, 1, "Error", API_ERROR.format(host=ip, port=443, dial=f"{ip}:443",
                                                                           why="i/o timeout"))
    return None


def services_work(config: dict[str, str], host: Host) -> bool:
    """ClusterIP Services answer when kube-proxy runs or the agents replace it."""
    return host.kube_proxy or config.get("kube-proxy-replacement") == "true"
