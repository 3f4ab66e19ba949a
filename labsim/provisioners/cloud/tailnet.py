"""The tailnet through the Tailscale API (plain HTTP, as its documentation shows it): which device each node is, its
tailnet address, and the subnet routes the control planes advertise (approved here when the lab file lists them).

A node's device is the one whose hostname is the node's name (TS_HOSTNAME); when a machine was re-created, Tailscale
keeps the old device (offline) and names the new one `<name>-1`: the online one counts, the newest when several are.
"""
from __future__ import annotations

from typing import Any

from labsim.provisioners.clock import WaitTimeout, wait_for
from labsim.provisioners.vocabulary import Result

JOIN_TIMEOUT = 600.0
JOIN_INTERVAL = 5.0


def _get(ctx, path: str) -> Any:
    r = ctx.tailscale.get(f"{ctx.tailscale_url}/api/v2/{path}", timeout=30)
    if r.status_code >= 400:
        raise RuntimeError(f"Tailscale API GET {path}: HTTP {r.status_code} {r.text.strip()[:200]}")
    return r.json()


def devices(lab, ctx) -> list[dict[str, Any]]:
    return _get(ctx, f"tailnet/{lab.tailnet.name}/devices?fields=all")["devices"]


def device_of(devs: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    mine = [d for d in devs if d.get("hostname") == name]
    online = [d for d in mine if d.get("connectedToControl")]
    pick = online or mine
    return max(pick, key=lambda d: d.get("created", "")) if pick else None


def addresses(lab, ctx, names: list[str], timeout: float = JOIN_TIMEOUT, partial: bool = False) -> dict[str, str]:
    """Node name -> its tailnet IPv4, waiting (on the target's clock) until every node's device is online."""
    found: dict[str, str] = {}

    def sweep() -> bool:
        devs = devices(lab, ctx)
        for n in names:
            d = device_of(devs, n)
            if d is not None and d.get("connectedToControl"):
                found[n] = next(a for a in d["addresses"] if ":" not in a)
        return len(found) == len(names)
    try:
        wait_for(sweep, timeout, JOIN_INTERVAL, ctx.clock, what=f"{', '.join(names)} on the tailnet")
    except WaitTimeout:
        if not partial:
            missing = sorted(set(names) - set(found))
            raise WaitTimeout(f"{', '.join(names)} on the tailnet", timeout, {"not online": missing}) from None
    return found


def approve_routes(lab, ctx, control_planes: list[str]) -> list[str]:
    """Enable the lab's routes on the control planes that advertise them; a device already serving them gets no
    call. Returns what changed."""
    want = [str(r) for r in lab.tailnet.routes]
    if not want:
        return []
    done = []
    devs = devices(lab, ctx)
    for name in control_planes:
        d = device_of(devs, name)
        if d is None:
            continue
        have = list(d.get("enabledRoutes") or [])
        target = sorted(set(have) | {r for r in want if r in (d.get("advertisedRoutes") or [])})
        if sorted(have) != target:
            r = ctx.tailscale.post(f"{ctx.tailscale_url}/api/v2/device/{d['id']}/routes", json={"routes": target},
                                   timeout=30)
            if r.status_code >= 400:
                raise RuntimeError(f"approving routes of {name}: HTTP {r.status_code} {r.text.strip()[:200]}")
            done.append(f"{name}: routes {', '.join(target)} enabled")
    return done


def verify(lab, ctx, nodes: list[tuple[str, str]]) -> list[Result]:
    """Read-only: each node (name, role) has an online device with the lab's tags; the control planes serve the
    lab's routes."""
    devs = devices(lab, ctx)
    out = []
    tags = sorted(lab.tailnet.tags)
    for name, role in nodes:
        d = device_of(devs, name)
        if d is None:
            out.append(Result("tailnet-device", name, False, "no device with this hostname on the tailnet"))
            continue
        facts = {"name": d["name"], "addresses": d["addresses"], "online": d.get("connectedToControl"),
                 "tags": d.get("tags", []), "lastSeen": d.get("lastSeen")}
        wrong = []
        if not d.get("connectedToControl"):
            wrong.append(f"offline (last seen {d.get('lastSeen')})")
        if tags and sorted(d.get("tags") or []) != tags:
            wrong.append(f"tags {d.get('tags')} (lab: {tags})")
        out.append(Result("tailnet-device", name, not wrong, f"online as {d['name']} at {d['addresses'][0]}"
                          if not wrong else "; ".join(wrong), facts))
        if role == "controlplane" and lab.tailnet.routes:
            want = sorted(str(r) for r in lab.tailnet.routes)
            have = sorted(set(d.get("enabledRoutes") or []) & set(want))
            out.append(Result("tailnet-routes", name, have == want, f"serves {', '.join(have) or 'no route'}"
                              + ("" if have == want else f" (lab: {', '.join(want)}; advertised: "
                                                         f"{', '.join(d.get('advertisedRoutes') or []) or 'none'})"),
                              {"advertised": d.get("advertisedRoutes"), "enabled": d.get("enabledRoutes")}))
    return out
