"""Network policy as the Cilium agents enforce it on the mesh datapath: CiliumNetworkPolicy,
CiliumClusterwideNetworkPolicy and Kubernetes NetworkPolicy, read from each member's Kubernetes objects.

Identities are label sets (Documentation/security/network/identity.rst, pkg/labels/cidr and pkg/k8s/utils):
an endpoint (a pod with a pod IP, not on the host network) carries its pod labels, `io.kubernetes.pod.namespace`,
`io.cilium.k8s.policy.serviceaccount`, `io.cilium.k8s.policy.cluster` (its cluster's `cluster-name`) and its
namespace's labels as `io.cilium.k8s.namespace.labels.<key>`. Selector keys may carry a source prefix (`k8s:`,
`any:`), which is ignored here (every label is a k8s label).

What is enforced (Documentation/security/policy/intro.rst "Policy Enforcement Modes", language.rst):
- default mode: an endpoint is in default deny for a direction once a rule selects it with that direction
  (`ingress`/`ingressDeny`, `egress`/`egressDeny`), unless the rule says `enableDefaultDeny: {<direction>: false}`;
  `ingress: [{}]` selects and allows nothing (the documented way to deny all);
- allowed = some rule's peer and port match; a matching deny rule wins over any allow;
- peers: `fromEndpoints`/`toEndpoints` (label selectors; `{}` is every endpoint), `fromEntities`/`toEntities`
  (`all`; `cluster` = the local cluster's endpoints: cilium-cli's cluster-entity-multi-cluster test expects the
  remote cluster's echo to be dropped); a rule with only `toPorts` allows every peer on those ports;
- a CiliumNetworkPolicy selects endpoints of its own namespace, and its endpoint peers are of its namespace
  unless the selector names `io.kubernetes.pod.namespace`; a clusterwide policy has no such default;
- ClusterMesh (Documentation/network/clustermesh/policy.rst): policies are per cluster, identities span the
  mesh; a peer selector without `io.cilium.k8s.policy.cluster` selects endpoints of every cluster, unless
  `policy-default-local-cluster` is on (Helm `clustermesh.policyDefaultLocalCluster`), then of the local one
  only. "In Cilium v1.18 or lower, policies used to select endpoints from all clusters by default": the agent's
  default is off up to 1.18, on from 1.19 (the policy.rst of both lines);
- Kubernetes NetworkPolicy as Cilium translates it: `podSelector` in the policy's namespace, `policyTypes`
  (Ingress always, Egress when `egress` is given), peers `podSelector` (same namespace) and/or
  `namespaceSelector`, an empty `from`/`to` or rule list entry allowing everyone, `ports` with `endPort`.
  `ipBlock` peers match no pod (Cilium treats pod IPs by identity, not CIDR).

A dropped connection is counted per node, direction and reason as `cilium-dbg metrics list` shows
`cilium_drop_count_total` ("Policy denied"; "Policy denied by denylist" for a deny rule).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from labsim.fakes.kube import KubeCluster
from labsim.fakes.kube.selectors import LabelSelector, from_object

CNP = ("cilium.io", "ciliumnetworkpolicies")
CCNP = ("cilium.io", "ciliumclusterwidenetworkpolicies")
KNP = ("networking.k8s.io", "networkpolicies")
NAMESPACES = ("", "namespaces")
NS_LABEL = "io.kubernetes.pod.namespace"
CLUSTER_LABEL = "io.cilium.k8s.policy.cluster"
SA_LABEL = "io.cilium.k8s.policy.serviceaccount"
NS_LABELS = "io.cilium.k8s.namespace.labels."
DENIED = "Policy denied"
DENYLIST = "Policy denied by denylist"


@dataclass(frozen=True)
class Endpoint:
    cluster: str               # the Cilium cluster name
    namespace: str
    pod: str
    labels: dict[str, str]     # the identity's labels


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    direction: str = ""        # INGRESS | EGRESS (where it was dropped)
    reason: str = ""
    policy: str = ""           # the rule that decided a denial by denylist, else ""


ALLOWED = Verdict(True)


def endpoint(kube: KubeCluster, cluster: str, pod: dict[str, Any]) -> Endpoint:
    md = pod["metadata"]
    ns = md.get("namespace", "default")
    labels = {str(k): str(v) for k, v in (md.get("labels") or {}).items()}
    nsobj = kube.store.get(NAMESPACES, "", ns) or {}
    for k, v in ((nsobj.get("metadata") or {}).get("labels") or {}).items():
        labels[NS_LABELS + k] = str(v)
    labels[NS_LABEL] = ns
    labels[CLUSTER_LABEL] = cluster
    labels[SA_LABEL] = (pod.get("spec") or {}).get("serviceAccountName") or "default"
    return Endpoint(cluster, ns, md["name"], labels)


def _strip(sel: dict[str, Any] | None) -> dict[str, Any] | None:
    """Selector keys without their source prefix (`k8s:app` -> `app`)."""
    if sel is None:
        return None

    def key(k: str) -> str:
        for p in ("k8s:", "any:"):
            if k.startswith(p):
                return k[len(p):]
        return k
    return {"matchLabels": {key(k): v for k, v in (sel.get("matchLabels") or {}).items()},
            "matchExpressions": [{**e, "key": key(e.get("key", ""))} for e in sel.get("matchExpressions") or []]}


def _names(sel: dict[str, Any], key: str) -> bool:
    return key in sel["matchLabels"] or any(e.get("key") == key for e in sel["matchExpressions"])


@dataclass(frozen=True)
class Peer:
    """One endpoint selector of a rule, with the defaults its policy gives it."""

    selector: LabelSelector
    namespace: str | None      # the policy's namespace when the selector names none
    local: str | None          # the local cluster when policy-default-local-cluster applies

    def matches(self, e: Endpoint) -> bool:
        if self.namespace is not None and e.namespace != self.namespace:
            return False
        if self.local is not None and e.cluster != self.local:
            return False
        return self.selector.matches(e.labels)


def _peer(raw: dict[str, Any], namespace: str | None, local: str | None) -> Peer:
    sel = _strip(raw) or {"matchLabels": {}, "matchExpressions": []}
    return Peer(from_object(sel), None if _names(sel, NS_LABEL) else namespace,
                None if _names(sel, CLUSTER_LABEL) else local)


def _port_ok(ports: list[dict[str, Any]] | None, port: int, named: dict[str, int]) -> bool:
    """`toPorts` (Cilium: [{ports: [{port, protocol, endPort}]}]) or NetworkPolicy `ports`; none = every port."""
    if not ports:
        return True
    for p in ports:
        raw = p.get("port")
        if raw in (None, "", "0", 0):
            if str(p.get("protocol", "TCP")).upper() in ("TCP", "ANY"):
                return True
            continue
        if str(p.get("protocol", "TCP")).upper() not in ("TCP", "ANY"):
            continue
        try:
            lo = int(raw)
        except (TypeError, ValueError):
            lo = named.get(str(raw), -1)
        hi = int(p.get("endPort") or lo)
        if lo <= port <= hi:
            return True
    return False


@dataclass(frozen=True)
class Rule:
    """One ingress or egress rule of a policy, in one shape whatever kind it came from."""

    peers: tuple[Peer, ...] | None          # None: every peer
    entities: tuple[str, ...] = ()
    ports: tuple[dict[str, Any], ...] = ()
    nothing: bool = False                    # `{}`: selects, allows nothing

    def allows(self, local: str, e: Endpoint, port: int, named: dict[str, int]) -> bool:
        if self.nothing:
            return False
        if not _port_ok(list(self.ports), port, named):
            return False
        if self.peers is None and not self.entities:
            return True
        if "all" in self.entities or ("cluster" in self.entities and e.cluster == local):
            return True
        return any(p.matches(e) for p in self.peers or ())


@dataclass(frozen=True)
class Policy:
    name: str                  # kind/namespace/name, as shown in evidence
    subject: Peer              # which local endpoints it selects
    ingress: tuple[Rule, ...] | None
    egress: tuple[Rule, ...] | None
    ingress_deny: tuple[Rule, ...] = ()
    egress_deny: tuple[Rule, ...] = ()
    default_deny_ingress: bool = True
    default_deny_egress: bool = True


def _cilium_rules(rules: list[dict[str, Any]] | None, side: str, ns: str | None, local: str | None,
                  ) -> tuple[Rule, ...] | None:
    if rules is None:
        return None
    key_ep, key_ent = ("fromEndpoints", "fromEntities") if side == "ingress" else ("toEndpoints", "toEntities")
    out = []
    for r in rules:
        r = r or {}
        ports = tuple(p for tp in r.get("toPorts") or [] for p in (tp.get("ports") or [{}]))
        eps = r.get(key_ep)
        ents = tuple(r.get(key_ent) or ())
        if eps is None and not ents and not ports:
            out.append(Rule((), nothing=True))
            continue
        peers = None if eps is None and not ents else tuple(_peer(s, ns, local) for s in eps or [])
        out.append(Rule(peers, ents, ports))
    return tuple(out)


def _cilium(obj: dict[str, Any], clusterwide: bool, local: str | None) -> list[Policy]:
    md = obj.get("metadata") or {}
    ns = None if clusterwide else md.get("namespace", "default")
    specs = ([obj["spec"]] if obj.get("spec") else []) + list(obj.get("specs") or [])
    out = []
    kind = "CiliumClusterwideNetworkPolicy" if clusterwide else "CiliumNetworkPolicy"
    for spec in specs:
        sel = _strip(spec.get("endpointSelector"))
        if sel is None:
            continue        # a nodeSelector policy selects hosts, not endpoints
        dd = spec.get("enableDefaultDeny") or {}
        ing = _cilium_rules(spec.get("ingress"), "ingress", ns, local)
        egr = _cilium_rules(spec.get("egress"), "egress", ns, local)
        ing_deny = _cilium_rules(spec.get("ingressDeny"), "ingress", ns, local)
        egr_deny = _cilium_rules(spec.get("egressDeny"), "egress", ns, local)
        if ing is None and ing_deny is not None:
            ing = ()
        if egr is None and egr_deny is not None:
            egr = ()
        out.append(Policy(f"{kind}/{md.get('namespace') + '/' if ns else ''}{md.get('name')}",
                          Peer(from_object(sel), ns, None), ing, egr, ing_deny or (), egr_deny or (),
                          dd.get("ingress", True) is not False, dd.get("egress", True) is not False))
    return out


def _knp_peers(items: list[dict[str, Any]] | None, ns: str) -> tuple[Peer, ...] | None:
    if not items:
        return None                         # no from/to: every peer
    out = []
    for it in items:
        pod, nss = it.get("podSelector"), it.get("namespaceSelector")
        if pod is None and nss is None:
            continue                        # ipBlock: no pod identity matches
        reqs = list(from_object(pod or {}).reqs)
        if nss is not None:
            for r in from_object(nss).reqs:
                reqs.append(type(r)(NS_LABELS + r.key, r.op, r.values))
        out.append(Peer(LabelSelector(reqs), None if nss is not None else ns, None))
    return tuple(out)


def _knp(obj: dict[str, Any]) -> list[Policy]:
    md, spec = obj.get("metadata") or {}, obj.get("spec") or {}
    ns = md.get("namespace", "default")
    types = spec.get("policyTypes") or (["Ingress"] + (["Egress"] if "egress" in spec else []))

    def rules(items, key):
        return tuple(Rule(_knp_peers(r.get(key), ns), (), tuple(r.get("ports") or ())) for r in items or [])
    return [Policy(f"NetworkPolicy/{ns}/{md.get('name')}", Peer(from_object(spec.get("podSelector") or {}), ns, None),
                   rules(spec.get("ingress"), "from") if "Ingress" in types else None,
                   rules(spec.get("egress"), "to") if "Egress" in types else None)]


def default_local_cluster(config: dict[str, str], version: str | None) -> bool:
    """policy-default-local-cluster from cilium-config, else the agent's default for its version."""
    raw = config.get("policy-default-local-cluster")
    if raw is not None:
        return raw == "true"
    try:
        major, minor = (int(x) for x in (version or "1.18").lstrip("v").split(".")[:2])
    except ValueError:
        return False
    return (major, minor) >= (1, 19)


def policies(kube: KubeCluster, local: str, local_only: bool) -> list[Policy]:
    """Every policy of one cluster, as its agents hold them."""
    loc = local if local_only else None
    out: list[Policy] = []
    for obj in kube.store.items(CNP):
        out += _cilium(obj, False, loc)
    for obj in kube.store.items(CCNP):
        out += _cilium(obj, True, loc)
    for obj in kube.store.items(KNP):
        out += _knp(obj)
    return out


def decide(pols: list[Policy], subject: Endpoint, peer: Endpoint, port: int, named: dict[str, int],
            direction: str, local: str) -> Verdict:
    """One side of a connection: `subject` (a local endpoint of the cluster whose policies `pols` are) sending
    (EGRESS) to or receiving (INGRESS) from `peer` on `port`."""
    selecting = [p for p in pols if p.subject.matches(subject)]
    ingress = direction == "INGRESS"
    for p in selecting:
        for r in (p.ingress_deny if ingress else p.egress_deny):
            if r.allows(local, peer, port, named):
                return Verdict(False, direction, DENYLIST, p.name)
    enforced = [p for p in selecting if (p.ingress if ingress else p.egress) is not None]
    if not any(p.default_deny_ingress if ingress else p.default_deny_egress for p in enforced):
        return ALLOWED
    for p in enforced:
        for r in (p.ingress if ingress else p.egress) or ():
            if r.allows(local, peer, port, named):
                return ALLOWED
    return Verdict(False, direction, DENIED)


def named_ports(pod: dict[str, Any]) -> dict[str, int]:
    return {p["name"]: int(p.get("containerPort", 0)) for c in (pod.get("spec") or {}).get("containers") or []
            for p in c.get("ports") or [] if p.get("name")}

