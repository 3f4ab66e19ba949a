"""What the mesh features verify about traffic, status and refusals, as results.

Who answered a request is the answering backend's Cilium cluster name (`cluster.name`, which defaults to the lab
file's cluster name); callers pass that name."""
from __future__ import annotations

from collections.abc import Collection

from labsim.provisioners.mesh import stats
from labsim.provisioners.mesh.connect import Status
from labsim.provisioners.mesh.probe import Request
from labsim.provisioners.mesh.probe import Result as Traffic
from labsim.provisioners.vocabulary import Result

TOLERANCE = 0.05


def _names(clusters: str | Collection[str]) -> tuple[set[str], str]:
    """One cluster, or several that answer together ("talos-west or picluster" in messages)."""
    group = [clusters] if isinstance(clusters, str) else list(clusters)
    return set(group), " or ".join(group)


def answered_only_by(traffic: Traffic, clusters: str | Collection[str]) -> list[Result]:
    """Every request was answered, each by one of `clusters`."""
    group, cluster = _names(clusters)
    others = {k: v for k, v in traffic.counts().items() if k not in group}
    return [Result("answered-by", cluster, bool(traffic.requests) and not others,
                   f"all {len(traffic.requests)} requests answered by {cluster}" if not others and traffic.requests
                   else f"not every request was answered by {cluster}: {traffic.counts()}", traffic.counts())]


def split(traffic: Traffic, shares: list[tuple[str, int]], points: int) -> list[Result]:
    """Each cluster answered its expected percent of the requests, within `points` at 95% confidence, and none
    failed."""
    out = []
    for name, pct in shares:
        s = stats.share(traffic.requests, name)
        ok = stats.holds(s, pct / 100, points / 100)
        out.append(Result("traffic-share", f"share of {name}", ok, f"{s} (expected {pct}% +/- {points})" if ok
                          else f"{s} is not {pct}% +/- {points} points",
                          {"hits": s.hits, "n": s.n, "low": s.low, "high": s.high}))
    failed = traffic.failed
    out.append(Result("no-failed-request", "requests", not failed, "no request failed" if not failed
                      else f"{len(failed)} requests failed: {[r.__dict__ for r in failed[:3]]}"))
    return out


def about_failed(requests: list[Request], pct: int, what: str = "failed share") -> list[Result]:
    s = stats.share(requests, "failed")
    ok = stats.holds(s, pct / 100, TOLERANCE * 2)
    return [Result("failed-share", what, ok, f"{s} (expected about {pct}%)" if ok else f"{s} is not about {pct}%")]


def all_failed(traffic: Traffic) -> list[Result]:
    return [Result("all-failed", "requests", bool(traffic.requests) and not traffic.ok,
                   f"all {len(traffic.requests)} requests failed" if traffic.requests and not traffic.ok else
                   f"{len(traffic.ok)} of {len(traffic.requests)} requests were still answered: {traffic.counts()}")]


def answered_before(traffic: Traffic, t: float, cluster: str) -> list[Result]:
    before = [r for r in traffic.requests if r.t < t]
    counts: dict[str, int] = {}
    for r in before:
        counts[r.cluster or "failed"] = counts.get(r.cluster or "failed", 0) + 1
    ok = bool(before) and set(counts) == {cluster}
    return [Result("answered-before", cluster, ok, f"before t={t:.1f}s every request was answered by {cluster}" if ok
                   else f"before t={t:.1f}s not every request was answered by {cluster}: {counts}", counts)]


def failed_over(traffic: Traffic, fault: float, clusters: str | Collection[str], seconds: int) -> list[Result]:
    """After the fault at `fault`, traffic settles on `clusters` (one, or several together) within `seconds`, with
    no failed request after."""
    group, cluster = _names(clusters)
    window = [r for r in traffic.requests if fault <= r.t <= fault + seconds + 5.0]
    took = stats.failover(window, fault, group)
    bad = stats.failed_after(window, fault + (took or 0.0))
    return [Result("failover", cluster, took is not None and took <= seconds,
                   f"all answers from {cluster} {took:.1f} s after t={fault:.1f}s" if took is not None and took <= seconds
                   else f"traffic did not settle on {cluster} within {seconds} s of t={fault:.1f}s: "
                        f"{stats.timeline(window)}"),
            Result("no-failed-request", f"after the failover to {cluster}", not bad,
                   "no request failed after the failover" if not bad
                   else f"{len(bad)} requests failed after the failover: {bad[:3]}")]


def new_backend_silent(new: list[Request], cluster: str, client: str) -> list[Result]:
    return [Result("new-backend-unknown", cluster, not new,
                   f"{client} sent no request to the new {cluster} backend" if not new else
                   f"{client} already sent {len(new)} requests to the new backend {new[0].pod}, although {cluster}'s "
                   f"clustermesh-apiserver is away")]


def new_backend_answers(new: list[Request], since: float, seconds: int, cluster: str, client: str) -> list[Result]:
    ok = bool(new) and new[0].t - since <= seconds
    return [Result("new-backend-synced", cluster, ok,
                   f"first answer from {new[0].pod} at t={new[0].t:.1f}s ({new[0].t - since:.1f} s after the "
                   f"clustermesh-apiserver returned)" if ok else
                   f"the new {cluster} backend answered no request from {client} within {seconds} s of t={since:.1f}s")]


def not_connected(status: Status, remote_cilium: str, seconds: float) -> list[Result]:
    errors = status.errors()
    ok = any(f"is not connected to cluster {remote_cilium}" in e for e in errors)
    return [Result("mesh-disconnected", status.cluster, ok, "; ".join(errors[:4]) if ok else
                   f"{status.cluster} still reports {remote_cilium} connected after {seconds:g} s:\n{status.text}")]


def errors_name(status: Status, text: str) -> list[Result]:
    lines = [e for e in status.errors() if e.startswith("clustermesh-apiserver")]
    ok = any(text in e for e in lines)
    return [Result("mesh-status-error", status.cluster, ok, next((e for e in lines if text in e), "") if ok
                   else f"no clustermesh-apiserver error with {text!r}:\n{status.text}")]


def connect_refused(change: str, rc: int, output: str, message: str) -> Result:
    ok = rc != 0 and message in output
    return Result("connect-refused", change, ok, f"refused: {message}" if ok else
                  (f"connect was accepted with {change}:\n{output}" if rc == 0 else
                   f"with {change}, expected {message!r}, cilium said:\n{output}"))


def revisions_unchanged(before: dict[str, str], after: dict[str, str], what: str) -> list[Result]:
    return [Result("release-revisions", what, after == before, f"cilium releases at {after}" if after == before
                   else f"cilium releases got new revisions: {before} -> {after}")]


def changed_nothing(changes: list[str]) -> list[Result]:
    return [Result("mesh-unchanged", "mesh", not changes, "the second run changed nothing" if not changes
                   else "the second run changed the mesh:\n" + "\n".join(changes))]


def refused_with(results: list[Result] | None, message: str, error: str | None) -> list[Result]:
    """The mesh provisioner refused the lab file before touching a cluster, saying `message`."""
    if results is None:
        return [Result("mesh-refused", message, False,
                       f"the broken lab file was not refused ({error or 'it went ahead'})")]
    hit = next((r for r in results if message in r.message), None)
    return [Result("mesh-refused", message, hit is not None, hit.message if hit
                   else f"expected {message!r} in: {[r.message for r in results]}")]


def drops_counted(cluster: str, reason: str, counted: float, requests: int) -> list[Result]:
    """The cluster's agents counted (at least) one drop with `reason` per denied request."""
    ok = requests > 0 and counted >= requests
    return [Result("drops-counted", f"{cluster} {reason}", ok,
                   f"{cluster}'s Cilium agents counted {counted:g} drops as {reason!r} for {requests} requests" if ok
                   else f"{cluster}'s Cilium agents counted {counted:g} drops as {reason!r}, "
                        f"not one per each of the {requests} requests")]


def found_missing(results: list[Result], cluster_prefix: str, policy: str) -> list[Result]:
    """The verification said that `policy` is missing in the cluster (and so failed on it)."""
    hit = next((r for r in results if r.subject.startswith(cluster_prefix) and r.subject.endswith("/" + policy)), None)
    ok = hit is not None and not hit.ok and "missing" in hit.message
    return [Result("policy-found-missing", policy, ok, hit.message if ok else
                   (f"the verification did not find {policy} missing: {hit.message}" if hit
                    else f"the verification does not look at {policy}"))]
