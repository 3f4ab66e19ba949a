"""`cilium connectivity test [--multi-cluster CTX]` as cilium-cli 0.18 runs it, for the tests the simulated datapath
can honour; every other test of the suite is listed and skipped with the reason, never reported as passed.

What it does (cilium-cli/connectivity/check/context.go, deployment.go, test.go; output as cilium-cli 0.18 prints
it, from a real run against Cilium 1.18.2 in imroc/tke-guide content/networking/cilium/appendix/e2e):
- deploys its test namespace `<--test-namespace>-N` (cilium-test-1 .. --test-concurrency) into the source
  cluster (--context) and, with --multi-cluster, the destination cluster: `client` and `client2` (kind=client)
  and `echo-same-node` (kind=echo, json-mock on 8080) in the source, `echo-other-node` in the destination, whose
  Service is global (`service.cilium.io/global: "true"`) and exists in both clusters so clients resolve it;
- waits for each Deployment to be ready, then runs the named tests in order, each applying its
  CiliumNetworkPolicies in every cluster first and deleting them after; each action is one `curl` from a client
  pod (asked from the lab's datapath through the control API, standing in for `kubectl exec ... -- curl`);
- prints `[=] [ns] Test [name] [i/n]` with one `.` per action, failed actions in detail, and the summary
  `✅ [ns] All N tests (M actions) successful, S tests skipped, K scenarios skipped.`, or the `📋 Test Report` with
  `🟥` lines per failed action and `[ns] N tests failed` (exit 1);
- `--test` takes regular expressions, `!` excluding (`--test '!client-ingress'`); `--junit-file` writes the
  report writeJunit writes (suite "connectivity test", one testcase per test, skipped/failure with the actions).
Deviations: several test namespaces (--test-concurrency > 1) run one after the other in the lab's time; Hubble
flow validation is off (no Relay in the lab), as cilium-cli does when it cannot reach Relay.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from labsim.fakes.tools import client

CLIENT_IMAGE = "quay.io/cilium/alpine-curl:v1.10.0"
ECHO_IMAGE = "quay.io/cilium/json-mock:v1.3.8"
PORT = 8080
READY_TIMEOUT = 300.0
CURL = ("curl --silent --fail --show-error --connect-timeout {ct} --max-time {mt} -4 -w %{{local_ip}}:%{{local_port}} "
        "-> %{{remote_ip}}:%{{remote_port}} = %{{response_code}}\\n --output /dev/null {url}")
EXIT = {"timeout": 28, "refused": 7, "unresolved": 6}


# --- the suite, as data: each test's policies, scenarios and whether its connections must pass or be dropped ------
def _cnp(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy", "metadata": {"name": name}, "spec": spec}


TO_ECHO = [{"ports": [{"port": str(PORT), "protocol": "TCP"}]}]


@dataclass(frozen=True)
class TestDef:
    name: str
    scenarios: tuple[str, ...] = ()
    policies: tuple[dict[str, Any], ...] = ()
    expect: str = "success"                  # success | drop
    skip: str | None = None                  # why the simulated lab cannot run it
    multi_cluster_only: bool = False
    skipped_scenarios: tuple[str, ...] = ()  # scenarios of the test the lab cannot run (counted, never passed)


UNSIMULATED_SCENARIOS = ("pod-to-cidr", "client-to-client", "pod-to-world", "pod-to-host", "pod-to-hostport")
SUITE: tuple[TestDef, ...] = (
    TestDef("no-policies", ("pod-to-pod", "pod-to-service"), skipped_scenarios=UNSIMULATED_SCENARIOS),
    TestDef("no-policies-extra", skip="NodePort and node addresses are not part of the simulated datapath"),
    TestDef("allow-all-except-world", ("pod-to-pod", "pod-to-service"), (_cnp("allow-all-except-world", {
        "endpointSelector": {}, "ingress": [{"fromEndpoints": [{}]}],
        "egress": [{"toEndpoints": [{}]}, {"toEntities": ["cluster", "host"]}]}),)),
    TestDef("client-ingress", skip="client-to-client is ICMP echo, which the simulated datapath does not carry"),
    TestDef("all-ingress-deny", ("pod-to-pod", "pod-to-service"),
            (_cnp("all-ingress-deny", {"endpointSelector": {}, "ingress": [{}]}),), "drop"),
    TestDef("all-egress-deny", ("pod-to-pod", "pod-to-service"),
            (_cnp("all-egress-deny", {"endpointSelector": {}, "egress": [{}]}),), "drop"),
    TestDef("cluster-entity-multi-cluster", ("pod-to-remote-service",), (_cnp("client-egress-to-cluster-entity", {
        "endpointSelector": {"matchLabels": {"kind": "client"}}, "egress": [{"toEntities": ["cluster"]}]}),),
        "drop", multi_cluster_only=True),
    TestDef("echo-ingress", ("pod-to-pod", "pod-to-service"), (_cnp("echo-ingress-from-other-client", {
        "endpointSelector": {"matchLabels": {"kind": "echo"}},
        "ingress": [{"fromEndpoints": [{"matchLabels": {"kind": "client"}}], "toPorts": TO_ECHO}]}),)),
    TestDef("client-egress", ("pod-to-pod", "pod-to-service"), (_cnp("client-egress-to-echo", {
        "endpointSelector": {"matchLabels": {"kind": "client"}},
        "egress": [{"toEndpoints": [{"matchLabels": {"kind": "echo"}}], "toPorts": TO_ECHO},
                   {"toEndpoints": [{"matchLabels": {"k8s:io.kubernetes.pod.namespace": "kube-system",
                                                     "k8s:k8s-app": "kube-dns"}}],
                    "toPorts": [{"ports": [{"port": "53", "protocol": "ANY"}]}]}]}),)),
    TestDef("clustermesh-endpointslice-sync", skip="EndpointSlice synchronization is not simulated",
            multi_cluster_only=True),
    TestDef("pod-to-pod-encryption", skip="encryption is not simulated"),
)


def selected(names: list[str], patterns: list[str]) -> dict[str, bool]:
    """--test: run a test that matches one of the expressions (all when none is given) and no `!` expression."""
    pos = [re.compile(p) for p in patterns if p and not p.startswith("!")]
    neg = [re.compile(p[1:]) for p in patterns if p.startswith("!")]
    return {n: (not pos or any(r.search(n) for r in pos)) and not any(r.search(n) for r in neg) for n in names}


# --- one run ---------------------------------------------------------------------------------------------------------
@dataclass
class Action:
    name: str
    src: str
    dst: str
    command: str
    pod: str
    container: str
    ok: bool = True
    error: str = ""

    def __str__(self) -> str:
        return f"{self.name}: {self.src} -> {self.dst}"


@dataclass
class Result:
    test: TestDef
    actions: list[Action] = field(default_factory=list)
    skipped: str | None = None
    start: float = 0.0
    end: float = 0.0

    @property
    def failed(self) -> list[Action]:
        return [a for a in self.actions if not a.ok]


class Run:
    def __init__(self, log, now, sleep, fatal, src: tuple[Any, Any], dst: tuple[Any, Any] | None, ns: str,
                 connect_timeout: float, request_timeout: float):
        self.log, self.now, self.sleep, self.Fatal = log, now, sleep, fatal
        self.src, self.dst = src, dst or src
        self.multi = dst is not None
        self.ns = ns
        self.ct, self.mt = connect_timeout, request_timeout

    def clusters(self) -> list[tuple[Any, Any]]:
        return [self.src, self.dst] if self.multi else [self.src]

    # --- deploy ---
    def deploy(self) -> None:
        for ctx, kube in self.clusters():
            if kube.get("Namespace", self.ns) is None:
                self.log(f"✨ [{ctx.name}] Creating namespace {self.ns} for connectivity check...")
                kube.apply({"apiVersion": "v1", "kind": "Namespace",
                            "metadata": {"name": self.ns, "labels": {"app.kubernetes.io/name": "cilium-cli"}}})
        (sctx, skube), (dctx, dkube) = self.src, self.dst
        self._echo(sctx, skube, "echo-same-node", deploy=True)
        for name, extra in (("client", {}), ("client2", {"other": "client"})):
            if skube.get("Deployment", name, self.ns) is not None:
                continue      # what an earlier run deployed is used as it is (cilium-cli without --force-deploy)
            self.log(f"✨ [{sctx.name}] Deploying {name} deployment...")
            skube.apply(_deployment(name, self.ns, {"kind": "client", "name": name, **extra}, {
                "name": name, "image": CLIENT_IMAGE, "command": ["/usr/bin/pause"]}))
        self._echo(dctx, dkube, "echo-other-node", deploy=True, global_=self.multi)
        if self.multi and skube.get("Service", "echo-other-node", self.ns) is None:
            skube.apply(_service("echo-other-node", self.ns, True))   # the clients' cluster knows the global Service
        for ctx, kube, name in [(sctx, skube, "client"), (sctx, skube, "client2"), (sctx, skube, "echo-same-node"),
                                (dctx, dkube, "echo-other-node")]:
            self._wait_ready(ctx, kube, name)
        for name in ("echo-same-node", "echo-other-node"):
            self._wait_synced(sctx, skube, name)

    def _wait_synced(self, ctx, kube, name: str) -> None:
        """validateDeployment: the clients' agents hold the Service's backends (for the global one: the remote
        cluster's, synchronized through the mesh) before any test runs."""
        agent = next((p["metadata"]["name"] for p in kube.list("Pod", "kube-system", "k8s-app=cilium")), "cilium")
        self.log(f"⌛ [{ctx.name}] Waiting for Service {self.ns}/{name} to be synchronized by Cilium pod "
                 f"kube-system/{agent}")
        start = self.now()
        while not client.call("cilium", "backends", {"server": kube.server, "namespace": self.ns,
                                                      "name": name}).get("backends"):
            if self.now() - start >= READY_TIMEOUT:
                raise self.Fatal(f"timeout reached waiting for service {self.ns}/{name} to be synchronized by Cilium "
                                 f"pod kube-system/{agent}")
            self.sleep(2.0)

    def _echo(self, ctx, kube, name: str, deploy: bool, global_: bool = False) -> None:
        if kube.get("Service", name, self.ns) is not None and kube.get("Deployment", name, self.ns) is not None:
            return
        self.log(f"✨ [{ctx.name}] Deploying {name} service...")
        kube.apply(_service(name, self.ns, global_))
        if deploy:
            kube.apply(_deployment(name, self.ns, {"kind": "echo", "name": name}, {
                "name": "echo", "image": ECHO_IMAGE, "env": [{"name": "PORT", "value": str(PORT)}],
                "ports": [{"name": "http-8080", "containerPort": PORT}],
                "readinessProbe": {"httpGet": {"path": "/", "port": PORT}}}))

    def _wait_ready(self, ctx, kube, name: str) -> None:
        self.log(f"⌛ [{ctx.name}] Waiting for deployment {self.ns}/{name} to become ready...")
        start = self.now()
        while True:
            d = kube.get("Deployment", name, self.ns) or {}
            ready = int((d.get("status") or {}).get("readyReplicas") or 0)
            if ready >= 1:
                return
            if self.now() - start >= READY_TIMEOUT:
                raise self.Fatal(f"timeout reached waiting for deployment {self.ns}/{name} to become ready (last "
                                 f"error: only {ready} of 1 replicas are available)")
            self.sleep(2.0)

    # --- run ---
    def run(self, tests: list[TestDef], chosen: dict[str, bool]) -> list[Result]:
        self.log(f"🏃[{self.ns}] Running {len(tests)} tests ...")
        out = []
        for i, t in enumerate(tests, 1):
            r = Result(t, start=self.now())
            reason = None
            if not chosen.get(t.name, True):
                reason = "skipped by user"
            elif t.multi_cluster_only and not self.multi:
                reason = "skipped by condition"
            elif t.skip:
                reason = f"not simulated: {t.skip}"
            if reason:
                self.log(f"[=] [{self.ns}] Skipping test [{t.name}] [{i}/{len(tests)}] ({reason})")
                r.skipped = reason
            else:
                self.log(f"[=] [{self.ns}] Test [{t.name}] [{i}/{len(tests)}]")
                self._run_test(r)
            r.end = self.now()
            out.append(r)
        return out

    def _run_test(self, r: Result) -> None:
        t = r.test
        for ctx, kube in self.clusters():
            for p in t.policies:
                kube.apply({**p, "metadata": {**p["metadata"], "namespace": self.ns}})
        if t.policies:
            self.sleep(2.0)     # the agents' policy revision
        line = ""
        try:
            for scenario in t.scenarios:
                for a in self._actions(t, scenario):
                    r.actions.append(a)
                    line += "."
                    if not a.ok:
                        self.log(line)
                        line = ""
                        self.log(f"  [.] Action [{a}]")
                        self.log(f"  ❌ {a.error}")
        finally:
            for ctx, kube in self.clusters():
                for p in t.policies:
                    kube.delete("CiliumNetworkPolicy", p["metadata"]["name"], self.ns)
        self.log(line)

    def _pods(self, kube, label: str) -> list[dict[str, Any]]:
        return [p for p in kube.list("Pod", self.ns, label) if (p.get("status") or {}).get("phase") == "Running"
                and not p["metadata"].get("deletionTimestamp")]

    def _actions(self, t: TestDef, scenario: str) -> list[Action]:
        (_, skube), (_, dkube) = self.src, self.dst
        clients = self._pods(skube, "kind=client")
        out = []
        if scenario == "pod-to-pod":
            echos = self._pods(skube, "name=echo-same-node") + self._pods(dkube, "name=echo-other-node")
            targets = [(f"{self.ns}/{e['metadata']['name']}", e["status"]["podIP"], e["status"]["podIP"])
                       for e in echos]
            label = "curl-ipv4"
        else:
            names = ["echo-other-node"] if scenario == "pod-to-remote-service" else ["echo-same-node", "echo-other-node"]
            targets = [(f"{self.ns}/{n}", n, f"{n}.{self.ns}") for n in names]
            label = "curl"
        k = 0
        for c in clients:
            for dst_name, host, shown in targets:
                url = f"http://{host}:{PORT}"
                cname = c["metadata"]["labels"].get("name", "client")
                a = Action(f"{t.name}/{scenario}:{label}-{k}", f"{self.ns}/{c['metadata']['name']} "
                           f"({c['status'].get('podIP')})", f"{dst_name} ({shown}:{PORT})",
                           CURL.format(ct=f"{self.ct:g}", mt=f"{self.mt:g}", url=url), f"{self.ns}/"
                           f"{c['metadata']['name']}", cname)
                self._curl(a, skube, c, host, t.expect)
                out.append(a)
                k += 1
        return out

    def _curl(self, a: Action, kube, pod: dict[str, Any], host: str, expect: str) -> None:
        got = client.call("cilium", "curl", {"server": kube.server, "namespace": self.ns, "pod": pod["metadata"]["name"],
                                             "host": host, "port": PORT, "timeout": self.ct})
        answered = got.get("kind") == "answered" and got.get("status") == 200
        if got.get("kind") == "timeout":
            self.sleep(self.ct)
        code = 0 if answered else EXIT.get(got.get("kind") or "", 22)
        where = f"command failed (pod={a.pod}, container={a.container})"
        if expect == "success" and not answered:
            a.ok = False
            a.error = f'command "{a.command}" failed: {where}: command terminated with exit code {code}'
        elif expect == "drop" and answered:
            a.ok = False
            a.error = f'command "{a.command}" succeeded while it should have failed: {where}'


def _deployment(name: str, ns: str, labels: dict[str, str], container: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": ns, "labels": {**labels, "app.kubernetes.io/name": "cilium-cli"}},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"name": labels["name"]}},
                     "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}}}}


def _service(name: str, ns: str, global_: bool) -> dict[str, Any]:
    md: dict[str, Any] = {"name": name, "namespace": ns, "labels": {"kind": "echo"}}
    if global_:
        md["annotations"] = {"service.cilium.io/global": "true"}
    return {"apiVersion": "v1", "kind": "Service", "metadata": md,
            "spec": {"selector": {"name": name}, "ports": [{"name": "http", "port": PORT, "targetPort": PORT}]}}


# --- the report ---------------------------------------------------------------------------------------------------------
def report(log, ns: str, results: list[Result]) -> int:
    ran = [r for r in results if r.skipped is None]
    actions = [a for r in ran for a in r.actions]
    failed = [r for r in ran if r.failed]
    skipped_scenarios = sum(len(r.test.skipped_scenarios) for r in ran)
    skipped = len(results) - len(ran)
    if failed:
        log(f"📋 Test Report [{ns}]")
        log(f"❌ {len(failed)}/{len(ran)} tests failed ({sum(len(r.failed) for r in failed)}/{len(actions)} actions), "
            f"{skipped} tests skipped, {skipped_scenarios} scenarios skipped:")
        for r in failed:
            log(f"Test [{r.test.name}]:")
            for a in r.failed:
                log(f"  🟥 {a}: {a.error}")
        log(f"[{ns}] {len(failed)} tests failed")
        return len(failed)
    log(f"✅ [{ns}] All {len(ran)} tests ({len(actions)} actions) successful, {skipped} tests skipped, "
        f"{skipped_scenarios} scenarios skipped.")
    return 0


def junit(suites: list[tuple[str, list[Result]]], args: list[str]) -> str:
    """writeJunit's report (cilium-cli/connectivity/check/context.go), one suite per test namespace."""
    out, total, skipped, failures, seconds = [], 0, 0, 0, 0.0
    for ns, results in suites:
        cases = []
        s_skip = s_fail = 0
        s_time = 0.0
        for r in results:
            t = 0.0 if r.skipped else max(r.end - r.start, 0.0)
            s_time += t
            body = ""
            status = "passed"
            if r.skipped:
                status, s_skip = "skipped", s_skip + 1
                body = f"<skipped message={quoteattr(r.test.name + ' skipped')}></skipped>"
            elif r.failed:
                status, s_fail = "failed", s_fail + 1
                body = (f"<failure message={quoteattr(r.test.name + ' failed')} type=\"failure\">"
                        f"{escape(chr(10).join(f'{a}: {a.error}' for a in r.failed))}</failure>")
            cases.append(f'    <testcase name={quoteattr(r.test.name)} classname="connectivity test" status="{status}" '
                         f'time="{t:.3f}">{body}</testcase>')
        total, skipped, failures, seconds = total + len(results), skipped + s_skip, failures + s_fail, seconds + s_time
        out.append(f'  <testsuite name="connectivity test" id="0" package="cilium" tests="{len(results)}" '
                   f'skipped="{s_skip}" failures="{s_fail}" errors="0" time="{s_time:.3f}" '
                   f'timestamp="{time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())}">\n'
                   f'    <properties>\n      <property name="Args" value={quoteattr("|".join(args))}></property>\n'
                   f'      <property name="TestNamespace" value={quoteattr(ns)}></property>\n    </properties>\n'
                   + "\n".join(cases) + "\n  </testsuite>")
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<testsuites tests="{total}" disabled="{skipped}" '
            f'errors="0" failures="{failures}" time="{seconds:.3f}">\n' + "\n".join(out) + "\n</testsuites>\n")
