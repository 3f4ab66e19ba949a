"""Small helpers on object metadata shared by the store, the controllers and the printers."""
from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from labsim.plaindata import deep  # noqa: F401 - the controllers' and the store's copy

# rand.String's alphabet (staging/src/k8s.io/apimachinery/pkg/util/rand/rand.go): no vowels, no 0/1/3
ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"


def rfc3339(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def micro(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(s: str | None) -> datetime | None:
    if not s:
        return None
    s = s.replace("Z", "+00:00")
    return datetime.fromisoformat(s)


def safe_encode(s: str) -> str:
    """rand.SafeEncodeString: how pod-template-hash and controller-revision-hash are spelled."""
    return "".join(ALPHANUMS[ord(c) % len(ALPHANUMS)] for c in s)


@functools.lru_cache(maxsize=4096)
def fnv32a(data: bytes) -> int:
    """FNV-1a, 32 bits. Kept by input: the controllers hash the same pod templates on every tick, byte by byte."""
    h = 0x811C9DC5
    for b in data:
        h ^= b
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def labels(obj: dict[str, Any]) -> dict[str, str]:
    return obj.get("metadata", {}).get("labels") or {}


def owner_ref(owner: dict[str, Any], *, controller: bool = True) -> dict[str, Any]:
    md = owner["metadata"]
    ref = {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": md["name"], "uid": md["uid"]}
    if controller:
        ref["controller"] = True
        ref["blockOwnerDeletion"] = True
    return ref


def controller_of(obj: dict[str, Any]) -> dict[str, Any] | None:
    for ref in obj.get("metadata", {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return ref
    return None


def is_owned_by(obj: dict[str, Any], owner: dict[str, Any]) -> bool:
    ref = controller_of(obj)
    return bool(ref and ref.get("uid") == owner["metadata"]["uid"])


def terminating(obj: dict[str, Any]) -> bool:
    return bool(obj.get("metadata", {}).get("deletionTimestamp"))


def get_condition(obj: dict[str, Any], typ: str) -> dict[str, Any] | None:
    for c in (obj.get("status") or {}).get("conditions") or []:
        if c.get("type") == typ:
            return c
    return None


def set_condition(status: dict[str, Any], typ: str, value: str, now: str, reason: str | None = None,
                  message: str | None = None, *, probe_times: bool = False, update_time: bool = False) -> None:
    """Set one condition, keeping lastTransitionTime unless the status flips (as every controller does)."""
    conds = status.setdefault("conditions", [])
    old = next((c for c in conds if c.get("type") == typ), None)
    new: dict[str, Any] = {"type": typ, "status": value}
    if probe_times:
        new["lastProbeTime"] = None
    if update_time:
        new["lastUpdateTime"] = now if (old is None or old.get("status") != value or old.get("reason") != reason
                                        or old.get("message") != message) else old.get("lastUpdateTime", now)
    new["lastTransitionTime"] = old["lastTransitionTime"] if old and old.get("status") == value and \
        old.get("lastTransitionTime") else now
    if reason is not None:
        new["reason"] = reason
    if message is not None:
        new["message"] = message
    if old is None:
        conds.append(new)
    else:
        conds[conds.index(old)] = new


def int_or_percent(value: Any, total: int, round_up: bool) -> int:
    """intstr.GetScaledValueFromIntOrPercent."""
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.endswith("%"):
        pct = int(value[:-1])
        q, r = divmod(pct * total, 100)
        return q + (1 if round_up and r else 0)
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return 0
