"""The CephCluster `status` as Rook writes it (rook pkg/apis/ceph.rook.io/v1/types.go ClusterStatus;
pkg/operator/ceph/cluster/cephstatus.go toCustomResourceStatus / cephStatusOnError; controller/conditions.go):

- `phase` Progressing while reconciling, Ready after; `state` derived: Progressing -> Creating, Ready ->
  Created, any condition False -> Error; `message` is the step ("Configuring Ceph Mons", ...).
- `ceph`: `health`, `details{CODE: {severity, message}}` (message = the summary), `lastChecked` (RFC3339),
  `lastChanged`/`previousHealth` when the health changed, `capacity`, `versions`, `fsid`. A failed
  `ceph status` gives HEALTH_ERR with `details.error{severity: Urgent}` and the Ready condition False
  ("Failed to configure ceph cluster").
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from labsim.fakes.ceph import report as R

if TYPE_CHECKING:
    from labsim.fakes.ceph.cluster import CephCluster

STATES = {"Progressing": "Creating", "Ready": "Created", "Failure": "Error", "Connecting": "Connecting",
          "Connected": "Connected", "Deleting": "Deleting"}
REASONS = {"Progressing": "ClusterProgressing", "Ready": "ClusterCreated", "Failure": "ClusterFailure"}


def set_phase(status: dict[str, Any], phase: str, message: str, now: str, ok: bool = True) -> dict[str, Any]:
    """Rook's UpdateClusterCondition: one condition of type `phase`; the phase, its state and message."""
    cond = {"type": phase, "status": "True" if ok else "False", "reason": REASONS.get(phase, phase),
            "message": message, "lastHeartbeatTime": now}
    old = next((c for c in status.get("conditions") or [] if c["type"] == phase), None)
    cond["lastTransitionTime"] = old["lastTransitionTime"] if old and old["status"] == cond["status"] else now
    status["conditions"] = [cond]
    status["phase"] = phase
    status["message"] = message
    status["state"] = STATES.get(phase, phase) if ok else "Error"
    return status


def ceph_status(c: CephCluster, previous: dict[str, Any] | None, now: str) -> dict[str, Any]:
    """`status.ceph` from a `ceph status` that succeeded."""
    doc = R.status_doc(c)
    s: dict[str, Any] = {"health": doc["health"]["status"], "lastChecked": now,
                         "details": {code: {"severity": chk["severity"], "message": chk["summary"]["message"]}
                                     for code, chk in doc["health"]["checks"].items()}}
    pm = doc["pgmap"]
    if pm["bytes_total"]:
        s["capacity"] = {"bytesTotal": pm["bytes_total"], "bytesUsed": pm["bytes_used"],
                         "bytesAvailable": pm["bytes_avail"], "lastUpdated": now}
    _carry(s, previous)
    if not pm["bytes_total"] and previous and previous.get("capacity"):
        s["capacity"] = previous["capacity"]
    s["versions"] = {k: v for k, v in R.versions_doc(c).items() if v}
    s["fsid"] = c.fsid
    return s


def error_status(message: str, previous: dict[str, Any] | None, now: str) -> dict[str, Any]:
    s: dict[str, Any] = {"health": "HEALTH_ERR", "lastChecked": now,
                         "details": {"error": {"severity": "Urgent", "message": message}}}
    _carry(s, previous)
    for k in ("capacity", "versions", "fsid"):
        if previous and previous.get(k):
            s[k] = previous[k]
    return s


def _carry(s: dict[str, Any], previous: dict[str, Any] | None) -> None:
    if not previous:
        return
    if previous.get("previousHealth"):
        s["previousHealth"] = previous["previousHealth"]
    if previous.get("lastChanged"):
        s["lastChanged"] = previous["lastChanged"]
    if previous.get("health") and previous["health"] != s["health"]:
        s["previousHealth"] = previous["health"]
        s["lastChanged"] = s["lastChecked"]


def storage(c: CephCluster) -> dict[str, Any]:
    return {"deviceClasses": [{"name": "hdd"}] if c.osds else [],
            "osd": {"storeType": {"bluestore": len(c.osds)}} if c.osds else {}}
