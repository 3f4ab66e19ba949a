"""The watcher's decisions, apart from any I/O: which workers' records the round-robin name should hold.

Each cycle the controller hands `Engine.step` what it saw of every candidate node (Node Ready or not, the probe
result) and which nodes have a record now. A node is

- *down* when its Node is not Ready (NotReady or Unknown): its record goes at once;
- *unstable* when its last `unstable_after` probes all failed and lie within `window` seconds: its record goes;
- back when its Node is Ready and `recover_after` probes in a row succeeded since it was removed.

The last record is never removed: when every node with a record is down or unstable, the one that answered most
recently keeps its record (`kept`, with the reason), since a name that resolves to nothing fails every client,
while a name that resolves to a dead node fails only those that pick it. As soon as another node is back, the
kept one goes. Nodes without a record start out removed: they must earn their place with `recover_after` good
probes (a watcher that starts never adds a node it has not seen answer).
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Observation:
    node: str
    ready: bool                 # the Node's Ready condition is True
    probe_ok: bool | None       # None: not probed this cycle (no address, or the node is not a candidate)
    detail: str = ""            # what the probe saw: "200", "connection refused", "timed out", ...


@dataclass
class NodeState:
    serving: bool                       # healthy as far as the watcher knows: its record belongs in the set
    failures: deque = field(default_factory=deque)     # times of the consecutive failed probes (newest last)
    successes: int = 0                  # consecutive good probes while Ready, since the last failure or removal
    last_ok: float | None = None        # when it last answered a probe
    reason: str = ""                    # why it was last removed (or "" while serving)


@dataclass(frozen=True)
class Change:
    node: str
    action: str          # "add" | "remove" | "keep-last"
    reason: str


@dataclass
class Decision:
    desired: set[str]                   # the nodes whose records the name holds after this cycle
    changes: list[Change]
    kept: str | None = None             # the node kept as the last record although it is not healthy
    unhealthy: dict[str, str] = field(default_factory=dict)   # node -> why it is out


class Engine:
    def __init__(self, *, unstable_after: int, window: float, recover_after: int):
        if unstable_after < 1 or recover_after < 1:
            raise ValueError("unstable_after and recover_after must be at least 1")
        self.unstable_after = unstable_after
        self.window = float(window)
        self.recover_after = recover_after
        self.nodes: dict[str, NodeState] = {}
        self.kept: str | None = None

    def state(self, node: str) -> NodeState | None:
        return self.nodes.get(node)

    def step(self, now: float, observations: list[Observation], published: set[str]) -> Decision:
        """One cycle: update each node's health from `observations` and decide the record set. `published` are
        the nodes that have a record now (records of nodes the watcher does not see count as down)."""
        seen = {o.node: o for o in observations}
        for name in set(seen) | set(published):
            if name not in self.nodes:
                self.nodes[name] = NodeState(serving=name in published)
        unhealthy: dict[str, str] = {}
        changes: list[Change] = []
        for name in sorted(self.nodes):
            st = self.nodes[name]
            obs = seen.get(name)
            if obs is None:
                if st.serving:
                    st.serving, st.reason = False, "the node is gone from the cluster"
                st.successes = 0
                unhealthy[name] = st.reason or "the node is gone from the cluster"
                continue
            self._observe(st, now, obs)
            if st.serving:
                why = self._why_out(st, now, obs)
                if why:
                    st.serving, st.reason, st.successes = False, why, 0
            elif obs.ready and st.successes >= self.recover_after:
                st.serving, st.reason = True, ""
                st.failures.clear()
            if not st.serving:
                unhealthy[name] = st.reason or self._waiting(st, obs)
        healthy = {n for n, st in self.nodes.items() if st.serving and n in seen}
        desired = set(healthy)
        kept = None
        if not desired and published:
            kept = self._last_to_keep(published)
            desired = {kept}
        for n in sorted(desired - published):
            changes.append(Change(n, "add", "back: " + self._back_reason(n) if n in healthy else "kept as the last record"))
        for n in sorted(published - desired):
            changes.append(Change(n, "remove", unhealthy.get(n, "not healthy")))
        if kept is not None and kept != self.kept:
            changes.append(Change(kept, "keep-last", f"every node is out ({self._summary(unhealthy)}); keeping {kept} "
                                                     f"as the last record: a name with no record fails every client"))
        self.kept = kept
        return Decision(desired, changes, kept, unhealthy)

    # --- helpers ---------------------------------------------------------------------------------------------
    def _observe(self, st: NodeState, now: float, obs: Observation) -> None:
        if obs.probe_ok is True:
            st.failures.clear()
            st.last_ok = now
            st.successes = st.successes + 1 if obs.ready else 0
        elif obs.probe_ok is False:
            st.failures.append(now)
            while len(st.failures) > self.unstable_after:
                st.failures.popleft()
            st.successes = 0
        elif not obs.ready:
            st.successes = 0

    def _why_out(self, st: NodeState, now: float, obs: Observation) -> str:
        if not obs.ready:
            return "down: its Node is not Ready"
        f = st.failures
        if len(f) >= self.unstable_after and f[-1] - f[-self.unstable_after] <= self.window:
            return (f"unstable: {self.unstable_after} failed probe{'s' if self.unstable_after > 1 else ''} within "
                    f"{self.window:g}s (last: {obs.detail or 'failed'})")
        return ""

    def _waiting(self, st: NodeState, obs: Observation) -> str:
        if not obs.ready:
            return "down: its Node is not Ready"
        return f"waiting for {self.recover_after} good probes in a row ({st.successes} so far)"

    def _back_reason(self, node: str) -> str:
        return f"Node Ready and {self.recover_after} good probe{'s' if self.recover_after > 1 else ''} in a row"

    def _last_to_keep(self, published: set[str]) -> str:
        if self.kept in published:
            return self.kept
        return max(sorted(published), key=lambda n: (self.nodes[n].last_ok or float("-inf")))

    @staticmethod
    def _summary(unhealthy: dict[str, str]) -> str:
        return "; ".join(f"{n}: {why}" for n, why in sorted(unhealthy.items()))
