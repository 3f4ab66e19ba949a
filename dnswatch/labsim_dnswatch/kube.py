"""What the watcher reads from and writes to Kubernetes, through the official `kubernetes` client: the candidate
Nodes (with their Ready condition and public address), the Ingresses that serve the watched host (where its Events
go), and a watch on both that wakes the controller as soon as one changes.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timezone

from kubernetes import client as k8s
from kubernetes import watch as k8s_watch
from kubernetes.client.exceptions import ApiException

from labsim_dnswatch.config import Settings

COMPONENT = "labsim-dnswatch"


@dataclass(frozen=True)
class NodeView:
    name: str
    ready: bool
    address: str | None       # the public IPv4 clients reach: ExternalIP, else the settings' addresses


@dataclass(frozen=True)
class IngressRef:
    namespace: str
    name: str
    uid: str


def _ready(node: k8s.V1Node) -> bool:
    for c in (node.status.conditions or []) if node.status else []:
        if c.type == "Ready":
            return c.status == "True"
    return False


class Kube:
    def __init__(self, api: k8s.ApiClient, settings: Settings, log: logging.Logger):
        self.api = api
        self.core = k8s.CoreV1Api(api)
        self.net = k8s.NetworkingV1Api(api)
        self.settings = settings
        self.log = log
        self._watches: list[threading.Thread] = []
        self._streams: dict[str, k8s_watch.Watch] = {}   # the open watch of each loop, for close()

    def nodes(self) -> list[NodeView]:
        out = []
        for n in self.core.list_node(label_selector=self.settings.node_selector or None).items:
            address = next((a.address for a in (n.status.addresses or []) if a.type == "ExternalIP"), None) \
                if n.status else None
            out.append(NodeView(n.metadata.name, _ready(n), address or self.settings.addresses.get(n.metadata.name)))
        return out

    def ingresses(self) -> list[IngressRef]:
        host = self.settings.probe_host
        out = []
        for ing in self.net.list_ingress_for_all_namespaces().items:
            hosts = {r.host for r in (ing.spec.rules or []) if r.host} if ing.spec else set()
            if host in hosts:
                out.append(IngressRef(ing.metadata.namespace, ing.metadata.name, ing.metadata.uid))
        return out

    def event(self, ingress: IngressRef, kind: str, reason: str, message: str, now: datetime | None = None) -> None:
        """A core/v1 Event about the Ingress (what `kubectl describe ingress` lists)."""
        when = now or datetime.now(timezone.utc)
        body = k8s.CoreV1Event(
            metadata=k8s.V1ObjectMeta(generate_name=f"{ingress.name}.", namespace=ingress.namespace),
            involved_object=k8s.V1ObjectReference(api_version="networking.k8s.io/v1", kind="Ingress",
                                                  name=ingress.name, namespace=ingress.namespace, uid=ingress.uid),
            reason=reason, message=message[:1024], type=kind, count=1, first_timestamp=when, last_timestamp=when,
            source=k8s.V1EventSource(component=COMPONENT), reporting_component=COMPONENT,
            reporting_instance=COMPONENT)
        try:
            self.core.create_namespaced_event(ingress.namespace, body)
        except ApiException as exc:
            self.log.warning("could not write an Event on ingress %s/%s: %s %s", ingress.namespace, ingress.name,
                             exc.status, exc.reason)

    # --- watches: wake the controller when a Node's readiness or an Ingress changes -------------------------------
    def watch(self, wake: threading.Event, stop: threading.Event) -> None:
        for name, fn, kw in (("nodes", self.core.list_node, {"label_selector": self.settings.node_selector or None}),
                             ("ingresses", self.net.list_ingress_for_all_namespaces, {})):
            t = threading.Thread(target=self._watch_loop, args=(name, fn, kw, wake, stop), daemon=True,
                                 name=f"dnswatch-watch-{name}")
            t.start()
            self._watches.append(t)

    def _watch_loop(self, name, fn, kw, wake: threading.Event, stop: threading.Event) -> None:
        last: dict[str, object] = {}
        while not stop.is_set():
            w = k8s_watch.Watch()
            self._streams[name] = w
            try:
                for ev in w.stream(fn, timeout_seconds=60, **kw):
                    if stop.is_set():
                        w.stop()
                        break
                    obj = ev["object"]
                    key = obj.metadata.name if name == "nodes" else f"{obj.metadata.namespace}/{obj.metadata.name}"
                    state = _ready(obj) if name == "nodes" else tuple(
                        sorted(r.host or "" for r in (obj.spec.rules or []))) if obj.spec else ()
                    if ev["type"] == "DELETED" or last.get(key) != state:
                        if key in last or ev["type"] != "ADDED":
                            wake.set()
                        last[key] = state
                    if ev["type"] == "DELETED":
                        last.pop(key, None)
            except Exception as exc:  # noqa: BLE001 - a broken watch must not end the controller; the loop lists
                self.log.debug("watch on %s ended: %s", name, exc)
                stop.wait(5.0)

    def close(self, stop: threading.Event, timeout: float = 5.0) -> None:
        """End the watches: the loops see `stop`, and each open stream is cut (Watch.stop shuts its socket down, so
        a read blocked on a quiet watch returns now, not at the server's timeout). A process that ends leaves no
        thread behind in the middle of a TLS read."""
        stop.set()
        for w in list(self._streams.values()):
            w.stop()
        for t in self._watches:
            t.join(timeout)
        self._watches.clear()
        self._streams.clear()
