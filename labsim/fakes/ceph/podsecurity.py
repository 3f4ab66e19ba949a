"""Pod Security admission as Talos configures it (enforce `baseline`, audit/warn `restricted`; a namespace label
`pod-security.kubernetes.io/enforce` overrides), for the pods Rook creates: mons, mgrs and OSDs use host paths,
OSDs run privileged, so in a namespace without `enforce=privileged` they are refused at creation with the
apiserver's text (staging/src/k8s.io/pod-security-admission/policy, check_*.go):
  pods "rook-ceph-osd-0-..." is forbidden: violates PodSecurity "baseline:latest": privileged (container "osd"
  must not set securityContext.privileged=true), hostPath volumes (volumes "rook-data", "rook-ceph-log")
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

LABEL = "pod-security.kubernetes.io/enforce"
TALOS_DEFAULT = "baseline"   # Talos machine config: cluster.apiServer.admissionControl PodSecurity defaults


def _quoted(names: list[str]) -> str:
    return ", ".join(f'"{n}"' for n in names)


def baseline_violations(pod: dict[str, Any]) -> list[str]:
    """What the baseline policy forbids in this pod, in the order the checks report."""
    spec = pod.get("spec") or {}
    out = []
    host_ns = [f"{k}=true" for k in ("hostNetwork", "hostPID", "hostIPC") if spec.get(k)]
    if host_ns:
        out.append(f"host namespaces ({', '.join(host_ns)})")
    containers = (spec.get("initContainers") or []) + (spec.get("containers") or [])
    priv = [c["name"] for c in containers if ((c.get("securityContext") or {}).get("privileged"))]
    if priv:
        verb = "containers" if len(priv) > 1 else "container"
        out.append(f"privileged ({verb} {_quoted(priv)} must not set securityContext.privileged=true)")
    paths = [v["name"] for v in spec.get("volumes") or [] if "hostPath" in v]
    if paths:
        out.append(f"hostPath volumes ({'volumes' if len(paths) > 1 else 'volume'} {_quoted(paths)})")
    return out


def refusal(pod: dict[str, Any], namespace: dict[str, Any] | None) -> str | None:
    """The apiserver's Forbidden message for this pod in this namespace, or None when it is admitted."""
    level = ((namespace or {}).get("metadata", {}).get("labels") or {}).get(LABEL, TALOS_DEFAULT)
    if level == "privileged":
        return None
    found = baseline_violations(pod)
    if not found:
        return None
    name = pod["metadata"].get("name") or pod["metadata"].get("generateName", "")
    return f'pods "{name}" is forbidden: violates PodSecurity "{level}:latest": {", ".join(found)}'


EXEMPT_NAMESPACES = ("kube-system",)   # Talos's default PodSecurity configuration exempts kube-system


def admission(cluster) -> Callable[[Any, dict[str, Any]], None]:
    """A validating admission hook for a Talos cluster's API server: pods PodSecurity refuses are Forbidden."""
    from labsim.fakes.kube import errors as E

    def check(rt, obj: dict[str, Any]) -> None:
        if rt.kind != "Pod":
            return
        ns = obj["metadata"].get("namespace") or "default"
        if ns in EXEMPT_NAMESPACES:
            return
        why = refusal(obj, cluster.live("namespaces", ns))
        if why:
            raise E.forbidden(why, "pods", obj["metadata"].get("name", ""))
    return check
