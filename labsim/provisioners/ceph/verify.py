"""Verify Rook-Ceph read-only: the CephCluster status (phase, state, health) and the toolbox's JSON
(`ceph status`, `ceph health detail`, `ceph osd tree`, `ceph pg stat`). A failed check carries Ceph's own
words: every raised health check with its summary and detail lines."""
from __future__ import annotations

import re
from typing import Any

from labsim.provisioners.ceph import values as V
from labsim.provisioners.ceph.access import CephAccess
from labsim.provisioners.vocabulary import Result
from labsim.provisioners.talos.cli import ToolError

CLEAN = re.compile(r"^active(\+(clean|deep|scrubbing|snaptrim|snaptrim_wait))+$")   # Rook's own test


def health_lines(health: dict[str, Any]) -> list[str]:
    """`CODE: summary` for each raised check, then its details indented: what an engineer reads."""
    out = []
    for code, chk in (health.get("checks") or {}).items():
        muted = " (muted)" if chk.get("muted") else ""
        out.append(f"{code}{muted}: {chk['summary']['message']}")
        out += [f"    {d['message']}" for d in chk.get("detail") or []]
    return out


def observe(access: CephAccess) -> dict[str, Any]:
    """Everything verification reads, in one pass (also the evidence)."""
    seen: dict[str, Any] = {"cephcluster": access.cephcluster()}
    for key, args in (("status", ("status",)), ("health", ("health", "detail")), ("tree", ("osd", "tree")),
                      ("pgs", ("pg", "stat"))):
        try:
            seen[key] = access.ceph(*args)
        except ToolError as exc:
            seen[key] = {"error": str(exc)}
    return seen


def verify(cluster, access: CephAccess, seen: dict[str, Any] | None = None) -> list[Result]:
    seen = seen or observe(access)
    name = cluster.name
    ceph = cluster.ceph
    out: list[Result] = []
    st = ((seen.get("cephcluster") or {}).get("status")) or {}
    phase, state = st.get("phase"), st.get("state")
    out.append(Result("cephcluster-ready", name, phase == "Ready" and state == "Created",
                      f"CephCluster phase {phase}, state {state}: {st.get('message')}", {"status": st}))
    h = seen.get("health") or {}
    if "error" in h:
        out.append(Result("ceph-health", name, False, f"the toolbox did not answer: {h['error']}", h))
    else:
        lines = health_lines(h)
        out.append(Result("ceph-health", name, h.get("status") == "HEALTH_OK",
                          h.get("status", "?") + ("" if not lines else ": " + "; ".join(
                              l for l in lines if not l.startswith(" "))), {"health": h, "lines": lines}))
    s = seen.get("status") or {}
    if "error" in s:
        out.append(Result("mon-quorum", name, False, f"the toolbox did not answer: {s['error']}", s))
    else:
        q, n = s.get("quorum_names") or [], (s.get("monmap") or {}).get("num_mons", 0)
        ok = len(q) == n == ceph.mons
        out.append(Result("mon-quorum", name, ok, f"{len(q)} of {n} mons in quorum ({','.join(q)}); "
                                                    f"the lab file plans {ceph.mons}", {"quorum": q, "num_mons": n}))
    out.append(_osds(cluster, seen.get("tree") or {}))
    out.append(_pgs(name, seen.get("pgs") or {}))
    return out


def _osds(cluster, tree: dict[str, Any]) -> Result:
    if "error" in tree:
        return Result("osds-up-in", cluster.name, False, f"the toolbox did not answer: {tree['error']}", tree)
    nodes = {n["id"]: n for n in tree.get("nodes") or []}
    have: dict[str, list[dict]] = {}
    for n in nodes.values():
        if n["type"] == "host":
            have[n["name"]] = [nodes[c] for c in n.get("children") or [] if c in nodes]
    problems = []
    for node, want in sorted(V.planned_osds(cluster).items()):
        osds = have.get(node, [])
        if len(osds) < want:
            problems.append(f"{node}: {len(osds)} of {want} planned OSDs exist")
    for node, osds in sorted(have.items()):
        for o in osds:
            if o.get("status") != "up" or not o.get("reweight"):
                problems.append(f"{o['name']} on {node} is {o.get('status')} and "
                                f"{'in' if o.get('reweight') else 'out'}")
    total = sum(len(v) for v in have.values())
    return Result("osds-up-in", cluster.name, not problems,
                  "; ".join(problems) if problems else f"{total} OSDs up and in, one per planned disk",
                  {"hosts": {h: [o["name"] for o in v] for h, v in have.items()}, "problems": problems})


def _pgs(name: str, pgs: dict[str, Any]) -> Result:
    if "error" in pgs:
        return Result("pgs-clean", name, False, f"the toolbox did not answer: {pgs['error']}", pgs)
    summary = pgs.get("pg_summary") or {}
    states = {s["name"]: s["num"] for s in summary.get("num_pg_by_state") or []}
    bad = {s: n for s, n in states.items() if not CLEAN.match(s)}
    total = summary.get("num_pgs", 0)
    msg = (f"all {total} PGs active+clean" if not bad and total else
           f"{sum(bad.values())} of {total} PGs not clean: " + ", ".join(f"{n} {s}" for s, n in bad.items()))
    return Result("pgs-clean", name, bool(total) and not bad, msg, {"states": states})


# --- what a drill expects Ceph to say ------------------------------------------------------------------------------------
def raised(health: dict[str, Any], code: str, text: str = "") -> bool:
    """Health check `code` is raised, with `text` in its summary or one of its detail lines (when given)."""
    chk = (health.get("checks") or {}).get(code)
    if chk is None:
        return False
    words = [chk["summary"]["message"], *[d["message"] for d in chk.get("detail") or []]]
    return not text or any(text in w for w in words)


def summary(health: dict[str, Any]) -> str:
    if not health:
        return "(no health read)"
    return f"{health.get('status')}: " + ("; ".join(health_lines(health)) or health.get("error", ""))


def reports(health: dict[str, Any], cluster: str, wants: list[tuple[str, str]]) -> list[Result]:
    """Each (code, text) is raised in `health` (`ceph health detail -f json`), as Ceph words it."""
    return [Result("ceph-reports", f"{cluster} {code}", raised(health, code, text),
                   f"{code}" + (f" with {text!r}" if text else "") + f" in {summary(health)}") for code, text in wants]


def osd_down_and_out(tree: dict[str, Any], node: str) -> list[Result]:
    """Every OSD of host `node` in the CRUSH tree is down and out (reweight 0)."""
    by_id = {n["id"]: n for n in tree.get("nodes") or []}
    host = next((n for n in tree.get("nodes") or [] if n["type"] == "host" and n["name"] == node), None)
    if host is None:
        return [Result("osd-down-out", node, False, f"no host {node} in the CRUSH tree")]
    osds = [by_id[c] for c in host.get("children") or []]
    ok = bool(osds) and all(o["status"] == "down" and not o["reweight"] for o in osds)
    return [Result("osd-down-out", node, ok, f"OSDs of {node}: {[(o['name'], o['status'], o['reweight']) for o in osds]}")]


def mgrs_result(cluster, status: dict[str, Any]) -> Result:
    """One active mgr and `mgrs - 1` standbys, from `ceph status -f json`'s mgrmap summary (`available`,
    `num_standbys`: MgrMap::print_summary in Ceph's src/mon/MgrMap.h)."""
    if "error" in status:
        return Result("ceph-mgrs", cluster.name, False, f"the toolbox did not answer: {status['error']}", status)
    mm = status.get("mgrmap") or {}
    active, standbys = bool(mm.get("available")), int(mm.get("num_standbys") or 0)
    want = cluster.ceph.mgrs - 1
    return Result("ceph-mgrs", cluster.name, active and standbys == want,
                  f"{'an' if active else 'no'} active mgr and {standbys} standby(s); the lab file plans "
                  f"{cluster.ceph.mgrs} mgrs (one active, {want} standby)", {"mgrmap": mm})


def pools_result(cluster, names: list[str] | dict[str, Any]) -> Result:
    """Every pool the lab file plans exists (`ceph osd pool ls -f json`: the names)."""
    if isinstance(names, dict):
        return Result("ceph-pools", cluster.name, False, f"the toolbox did not answer: {names.get('error')}", names)
    missing = [p.name for p in cluster.ceph.pools if p.name not in names]
    return Result("ceph-pools", cluster.name, not missing,
                  f"missing pool(s) {', '.join(missing)} (pools: {', '.join(names) or 'none'})" if missing
                  else f"every planned pool is there ({', '.join(p.name for p in cluster.ceph.pools) or 'none planned'})",
                  {"pools": names})
