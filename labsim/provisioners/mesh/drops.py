"""What a cluster's Cilium agents dropped, read as an engineer reads it: `kubectl exec` into every agent pod and
`cilium-dbg metrics list -p drop`, whose `cilium_drop_count_total` rows carry the direction and the reason
(`Policy denied`). Read-only."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from labsim.provisioners.mesh.context import MeshContext
from labsim.provisioners.talos.cilium import NAMESPACE

ROW = re.compile(r'^cilium_drop_count_total\s+direction="(?P<d>[^"]*)"\s+reason="(?P<r>[^"]*)"\s+(?P<v>[0-9.e+]+)\s*$')


@dataclass
class Drops:
    cluster: str
    counts: dict[tuple[str, str], float] = field(default_factory=dict)   # (direction, reason) -> packets
    text: str = ""                                                       # every agent's table, for evidence

    def reason(self, reason: str) -> float:
        return sum(v for (_, r), v in self.counts.items() if r == reason)


def read(ctx: MeshContext, cluster: str) -> Drops:
    out = Drops(cluster)
    for pod in ctx.kube(cluster).pods(NAMESPACE, "k8s-app=cilium"):
        if (pod.status.phase or "") != "Running":
            continue
        name = pod.metadata.name
        r = ctx.tools.run(["kubectl", "--context", ctx.context(cluster), "-n", NAMESPACE, "exec", name, "-c",
                           "cilium-agent", "--", "cilium-dbg", "metrics", "list", "-p", "drop"], check=False)
        out.text += f"# {cluster} {name} ({pod.spec.node_name}): exit {r.rc}\n{r.output}\n"
        for line in r.stdout.splitlines():
            m = ROW.match(line.strip())
            if m:
                key = (m["d"], m["r"])
                out.counts[key] = out.counts.get(key, 0.0) + float(m["v"])
    return out
