"""The fake `cilium` (cilium-cli 0.18, helm mode): the commands a lab engineer uses to mesh clusters.

    cilium status [--wait] [--wait-duration 5m]
    cilium clustermesh enable [--service-type NodePort|LoadBalancer] [--enable-kvstoremesh]
    cilium clustermesh disable
    cilium clustermesh connect --destination-context B [--allow-mismatching-ca] [--connection-mode unicast|bidirectional|mesh]
    cilium clustermesh disconnect --destination-context B
    cilium clustermesh status [--wait] [--wait-duration 15m] [-o json|summary]
    cilium version [--client]
    cilium connectivity test [--multi-cluster CTX] [--test RE,!RE] [--junit-file F] [--test-concurrency N]

The command line is parsed as cobra/pflag do (labsim/fakes/tools/cobra.py): flags anywhere after the command, the
root's persistent flags (--context, --kubeconfig, -n/--namespace, ...) on every command, and cobra's own errors for
an unknown command or flag (printed without a prefix, exit 1). Contexts come from the same
kubeconfig kubectl reads (`KUBECONFIG`, which may list several files). Cluster objects are read and written
through the Kubernetes API; `enable`/`connect`/`disconnect` are Helm upgrades of the `cilium` release (values
reused), as the real CLI does since 0.15. What agents report is asked from the lab (control API, standing in for
`kubectl exec ... cilium-dbg status`). Waits pass in the lab's time (virtual in CI). A command's failure: `Error: ...`
on stderr, exit 1 (cilium-cli's fatalf).
"""
from __future__ import annotations

import os
import sys
import time
from typing import Any

from labsim.fakes.cilium import texts as T
from labsim.fakes.tools import cilium_access as A
from labsim.fakes.tools import cilium_status as S
from labsim.fakes.tools import client, kubecontexts
from labsim.fakes.tools import cobra as C
from labsim.fakes.tools.gofmt import format_duration, parse_duration
from labsim.fakes.tools.kubeapi import KubeConfigError, KubeError

VERSION = "0.18.9"
DEFAULT_IMAGE = "1.18.3"
RETRY = 2.0          # wait.Observer's retry interval
WARN = 10.0          # and how often it says it is still waiting


class Fatal(Exception):
    pass


def log(line: str = "", err: bool = False) -> None:
    print(line, file=sys.stderr if err else sys.stdout, flush=True)


def _now() -> float:
    return client.now() if os.environ.get("LABSIM_CONTROL_URL") else time.monotonic()


def _sleep(seconds: float) -> None:
    if os.environ.get("LABSIM_CONTROL_URL"):
        client.sleep(seconds)
    else:
        time.sleep(seconds)


class Waiter:
    """cilium-cli's wait.Observer: retry every RETRY s, log every WARN s, give up at the deadline."""

    def __init__(self, timeout: float, say, start: float | None = None):
        self.start = _now() if start is None else start
        self.timeout, self.say, self.last_log = timeout, say, None

    def retry(self, err: str) -> None:
        now = _now()
        if now - self.start >= self.timeout:
            raise Fatal(f"{err}: {T.DEADLINE}")
        if self.last_log is None or now - self.last_log >= WARN:
            self.last_log = now
            self.say(format_duration(now - self.start), err)
        _sleep(RETRY)


def _client(g: dict[str, Any], context: str | None = None):
    try:
        ctx = kubecontexts.resolve(context or g.get("context"), g.get("kubeconfig"))
        return ctx, kubecontexts.client(ctx)
    except KubeConfigError as exc:
        raise Fatal(str(exc)) from None


# --- clustermesh status ---------------------------------------------------------------------------------------------
def cmd_status(a, g) -> int:
    out = (lambda s="": log(s, err=True)) if a.output == "json" else log
    _, kube = _client(g)
    deadline = (_now(), parse_duration(a.wait_duration))     # one context for the whole command
    cm = kube.get("ConfigMap", "cilium-config", A.NS)
    if cm is None:
        missing = T.NO_CONFIGMAP.format(err='configmaps "cilium-config" not found')
        raise Fatal(f"Unable to determine status:  {missing}")
    data = cm.get("data") or {}
    local = data.get("cluster-name") or "default"
    if (data.get("cluster-id") or "0") == "0" or local == "default":
        out(T.NOT_CONFIGURED)
    access, kvs_on = None, False
    if data.get("identity-allocation-mode") != "crd":     # GetClusterConfig: identities in etcd, no apiserver
        out(T.EXTERNAL_KVSTORE)
    else:
        access, kvs_on = _apiserver_status(kube, out, a.wait, deadline)
    try:
        agents, kvs, err = _connectivity(kube, local, kvs_on, a.wait, deadline, out)
    except (A.CliError, KubeError) as exc:     # statusConnectivity's error: nothing collected
        agents, kvs, err = None, None, getattr(exc, "message", str(exc))
    if a.output == "json":      # Status prints the JSON and returns no error, whatever connectivity said
        print(S.as_json(access.to_json() if access else None, agents, kvs_on, kvs))
        return 0
    if agents is not None:
        S.render(agents, kvs, kvs_on, out)
    if err:
        raise Fatal(f"Unable to determine status:  {err}")
    return 0


def _apiserver_status(kube, out, wait: bool, deadline: tuple[float, float]) -> tuple[A.Access, bool]:
    """The clustermesh-apiserver part of Status: its Service and access information, its Deployment, KVStoreMesh."""
    try:
        access = _access(kube, out, wait, deadline)
        out(T.SERVICE_FOUND.format(type=access.service_type))
        out(T.ACCESS_AVAILABLE)
        for ip in access.service_ips:
            out(T.ACCESS_LINE.format(ip=ip, port=access.service_port))
        _deployment(kube, out, wait, deadline)
        out(T.DEPLOYMENT_READY)
        deploy = kube.get("Deployment", "clustermesh-apiserver", A.NS) or {}
        kvs_on = any(c.get("name") == "kvstoremesh" for c in deploy["spec"]["template"]["spec"]["containers"])
        out(T.KVSTOREMESH.format(state="enabled" if kvs_on else "disabled"))
    except (A.CliError, KubeError) as exc:
        raise Fatal(f"Unable to determine status:  {getattr(exc, 'message', str(exc))}") from None
    return access, kvs_on


def _retrying(attempt, wait: bool, waiter: Waiter, wrap=lambda e: e):
    """Call `attempt()` (None or an error text) until it passes; without --wait once. Raises CliError(wrap(err))."""
    while True:
        err = attempt()
        if err is None:
            return
        if not wait:
            raise A.CliError(wrap(err))
        try:
            waiter.retry(err)
        except Fatal as f:
            raise A.CliError(wrap(str(f))) from None


def _access(kube, out, wait: bool, deadline: tuple[float, float]) -> A.Access:
    found: list[A.Access] = []

    def attempt() -> str | None:
        try:
            found.append(A.extract(kube, out, verbose=False))
            return None
        except A.CliError as exc:
            return str(exc)
    _retrying(attempt, wait, Waiter(deadline[1], lambda d, e: out(T.WAIT_ACCESS.format(wait=d, err=e)), deadline[0]))
    return found[-1]


def _deployment(kube, out, wait: bool, deadline: tuple[float, float]) -> None:
    _retrying(lambda: S.deployment_error(kube, "clustermesh-apiserver"), wait,
              Waiter(deadline[1], lambda d, e: out(T.WAIT_DEPLOYMENT.format(wait=d, err=e)), deadline[0]),
              lambda e: T.DEPLOYMENT_NOT_READY.format(err=e))


def _connectivity(kube, local: str, kvs_on: bool, wait: bool, deadline: tuple[float, float], out):
    w = Waiter(deadline[1], lambda d, e: out(T.WAIT_CONNECTED.format(wait=d, err=e)), deadline[0])
    while True:
        try:
            agents = S.collect(kube, "cilium-clustermesh", "k8s-app=cilium", local)
            kvs = S.collect(kube, "cilium-kvstoremesh", "k8s-app=clustermesh-apiserver", local) if kvs_on else None
        except A.CliError as exc:
            if not wait:
                raise
            try:
                w.retry(str(exc))
            except Fatal as f:
                raise A.CliError(str(f)) from None
            continue
        err = None
        if kvs is not None and kvs.not_ready:
            err = T.NOT_READY_COUNT.format(count=kvs.not_ready, component="KVStoreMesh replicas")
        elif agents.not_ready:
            err = T.NOT_READY_COUNT.format(count=agents.not_ready, component="nodes")
        if not wait or err is None:
            return agents, kvs, None if not wait else err
        try:
            w.retry(err)
        except Fatal as f:
            return agents, kvs, str(f)


# --- enable / disable ------------------------------------------------------------------------------------------------
def _release(ctx, kube) -> A.Release:
    rel = A.release(ctx.path, ctx.name, kube)
    if rel is None:
        raise A.CliError("release: not found")
    return rel


def cmd_enable(a, g) -> int:
    ctx, kube = _client(g)
    values: dict[str, Any] = {"clustermesh": {"useAPIServer": True, "config": {"enabled": True}}}
    if not a.service_type:
        raise Fatal(f"Unable to enable ClusterMesh: {T.ENABLE_AUTODETECT}")
    if a.service_type == "NodePort":
        log(T.ENABLE_NODEPORT)
    elif a.service_type != "LoadBalancer":
        raise Fatal(f"Unable to enable ClusterMesh: {T.ENABLE_BAD_TYPE.format(type=a.service_type)}")
    api = {"service": {"type": a.service_type},
           "tls": {"auto": {"enabled": True, "method": "cronJob", "schedule": "0 0 1 */4 *"}}}
    if a.changed("enable-kvstoremesh"):
        api["kvstoremesh"] = {"enabled": a.enable_kvstoremesh}
    values["clustermesh"]["apiserver"] = api
    try:
        A.upgrade(_release(ctx, kube), values, reuse=True)
    except A.CliError as exc:
        raise Fatal(f"Unable to enable ClusterMesh: {exc}") from None
    return 0


def cmd_disable(a, g) -> int:
    ctx, kube = _client(g)
    try:
        A.upgrade(_release(ctx, kube), {"clustermesh": {"useAPIServer": False,
                                                        "config": {"enabled": False, "clusters": []}}}, reuse=True)
    except A.CliError as exc:
        raise Fatal(f"Unable to disable ClusterMesh: {exc}") from None
    return 0


# --- connect / disconnect --------------------------------------------------------------------------------------------
def cmd_connect(a, g) -> int:
    try:
        _connect(a, g)
    except (A.CliError, KubeError) as exc:
        raise Fatal(T.CONNECT_FAILED.format(err=getattr(exc, "message", str(exc)))) from None
    return 0


def _destinations(a) -> list[str]:
    return [d for item in a.destination_context for d in item.split(",") if d]


def _connect(a, g) -> None:
    if a.connection_mode not in MODES:
        log(f"❌ {a.connection_mode} is not a correct connection mode.")
        log(f"Available connection modes: {', '.join(MODES)}")
        raise A.CliError("Bad connection mode")
    lctx, lkube = _client(g)
    local_rel = A.release(lctx.path, lctx.name, lkube)
    if local_rel is None:
        log(T.NO_RELEASE_LOCAL)
        raise A.CliError("release: not found")
    remotes = [_client(g, d) for d in _destinations(a)]
    local = _access_for_connect(lctx, lkube, a.source_endpoint)
    targets: list[tuple[Any, A.Access, A.Release]] = []
    bundle: list[str] = []
    for rctx, rkube in remotes:
        remote = _access_for_connect(rctx, rkube, a.destination_endpoint)
        A.validate(local, remote)
        if not A.ca_match(local, remote):
            if not a.allow_mismatching_ca:
                # cilium-cli names the clusters by their Cilium cluster name (cilium-config cluster-name), not by the
                # kubeconfig's: contexts kind-cluster-a/-b print "between clusters cluster-a and cluster-b".
                raise A.CliError(T.CA_MISMATCH.format(local=local.cluster_name, remote=remote.cluster_name))
            log(T.CA_MISMATCH_ALLOWED)
            bundle += [local.ca.decode(), remote.ca.decode()]
        rel = A.release(rctx.path, rctx.name, rkube)
        if rel is None:
            log(T.NO_RELEASE_REMOTE)
            raise A.CliError("release: not found")
        targets.append((rctx, remote, rel))
    if bundle:
        for ctx, rel in [(lctx, local_rel)] + [(t[0], t[2]) for t in targets]:
            if A.add_ca_bundle(rel.config, bundle):
                log(T.CA_BUNDLE.format(cluster=ctx.cluster))
                A.upgrade(rel, rel.config, reuse=False)
    mine = A.clusters_of(local_rel.config)
    for _, remote, _ in targets:
        mine[remote.cluster_name] = {"ips": remote.service_ips, "port": remote.service_port}
    log(T.CONFIGURING.format(local=lctx.cluster, remote=",".join(t[0].cluster for t in targets)))
    A.set_clusters(local_rel.config, mine, local_rel.chart_version)
    A.upgrade(local_rel, local_rel.config, reuse=False)
    for rctx, remote, rel in targets if a.connection_mode != "unicast" else []:   # unicast: the local side only
        theirs = A.clusters_of(rel.config)
        theirs[local.cluster_name] = {"ips": local.service_ips, "port": local.service_port}
        peers = [lctx.cluster]
        if a.connection_mode == "mesh":      # mesh: every destination to every other destination too
            for octx, other, _ in targets:
                if other.cluster_name != remote.cluster_name:
                    theirs[other.cluster_name] = {"ips": other.service_ips, "port": other.service_port}
                    peers.append(octx.cluster)
        log(T.CONFIGURING.format(local=rctx.cluster, remote=",".join(peers)))
        A.set_clusters(rel.config, theirs, rel.chart_version)
        A.upgrade(rel, rel.config, reuse=False)
    for rctx, _, _ in targets:
        log(T.CONNECTED.format(local=lctx.cluster, remote=rctx.cluster))


def _access_for_connect(ctx, kube, endpoints: list[str]) -> A.Access:
    try:
        acc = A.extract(kube, log, verbose=True, endpoints=endpoints)
    except A.CliError as exc:
        log(T.ACCESS_FAILED.format(cluster=ctx.cluster, err=exc))
        raise
    acc.kube_cluster = ctx.cluster
    return acc


def cmd_disconnect(a, g) -> int:
    try:
        _disconnect(a, g)
    except (A.CliError, KubeError) as exc:
        raise Fatal(f"Unable to disconnect clusters: {getattr(exc, 'message', str(exc))}") from None
    return 0


def _disconnect(a, g) -> None:
    dests = _destinations(a)
    if not dests:
        raise A.CliError(T.NO_DESTINATION)
    lctx, lkube = _client(g)
    local_rel = _release(lctx, lkube)
    remotes = [_client(g, d) for d in dests]
    names = [(r[1].get("ConfigMap", "cilium-config", A.NS) or {}).get("data", {}).get("cluster-name", "")
             for r in remotes]
    local_name = (lkube.get("ConfigMap", "cilium-config", A.NS) or {}).get("data", {}).get("cluster-name", "")
    mine = {n: v for n, v in A.clusters_of(local_rel.config).items() if n not in names}
    log(T.DISCONNECTING.format(local=lctx.cluster, remote=",".join(r[0].cluster for r in remotes)))
    A.set_clusters(local_rel.config, mine, local_rel.chart_version)
    A.upgrade(local_rel, local_rel.config, reuse=False)
    for rctx, rkube in remotes:
        rel = _release(rctx, rkube)
        theirs = {n: v for n, v in A.clusters_of(rel.config).items() if n != local_name}
        log(T.DISCONNECTING.format(local=rctx.cluster, remote=lctx.cluster))
        A.set_clusters(rel.config, theirs, rel.chart_version)
        A.upgrade(rel, rel.config, reuse=False)
    for rctx, _ in remotes:
        log(T.DISCONNECTED.format(local=lctx.cluster, remote=rctx.cluster))


# --- connectivity test ---------------------------------------------------------------------------------------------
def cmd_connectivity_test(a, g) -> int:
    """cilium connectivity test (labsim/fakes/tools/cilium_connectivity.py): deploy, run, report; exit 1 naming how
    many tests failed."""
    from labsim.fakes.tools import cilium_connectivity as CT
    if a.single_node and a.multi_cluster:
        raise Fatal("single-node test can not be enabled with multi-cluster test")
    src = _client(g)
    dst = _client(g, a.multi_cluster) if a.multi_cluster else None
    tests = list(CT.SUITE)
    patterns = [p for item in a.test for p in item.split(",") if p]
    chosen = CT.selected([t.name for t in tests], patterns)
    if patterns and not any(chosen.values()):
        raise Fatal(f"test filter {','.join(patterns)} matches no test")
    version = ""
    ds = src[1].get("DaemonSet", "cilium", A.NS)
    if ds:
        version = ds["spec"]["template"]["spec"]["containers"][0]["image"].rsplit(":", 1)[-1].lstrip("v")
    suites, failed = [], 0
    for n in range(1, max(int(a.test_concurrency), 1) + 1):
        ns = f"{a.test_namespace}-{n}"
        run = CT.Run(log, _now, _sleep, Fatal, src, dst, ns, parse_duration(a.connect_timeout),
                     parse_duration(a.request_timeout))
        run.deploy()
        if n == 1:
            log("🔭 Enabling Hubble telescope...")
            log('⚠️  Unable to contact Hubble Relay, disabling Hubble telescope and flow validation: rpc error: code '
                '= Unavailable desc = connection error: desc = "transport: Error while dialing: dial tcp [::1]:4245: '
                'connect: connection refused"')
            log("ℹ️  Expose Relay locally with:\n   cilium hubble enable\n   cilium hubble port-forward&")
            log(f"ℹ️  Cilium version: {version or 'unknown'}")
        results = run.run(tests, chosen)
        suites.append((ns, results))
        failed += CT.report(log, ns, results)
    if a.junit_file:
        with open(a.junit_file, "w", encoding="utf-8") as fh:
            fh.write(CT.junit(suites, sys.argv[3:] if len(sys.argv) > 3 else []))
    return 1 if failed else 0


# --- cilium status / version ------------------------------------------------------------------------------------------
def cmd_cilium_status(a, g) -> int:
    from labsim.fakes.tools import cilium_summary
    if a.output != "summary":
        raise Fatal(f"cilium status -o {a.output} is not part of the simulated lab's cilium (the summary is)")
    _, kube = _client(g)
    return cilium_summary.run(kube, a.wait, parse_duration(a.wait_duration), _now, _sleep, log, Fatal)


def cmd_version(a, g) -> int:
    log(f"cilium-cli: v{VERSION} compiled with go1.24.9 on linux/amd64")
    log(f"cilium image (default): v{DEFAULT_IMAGE}")
    log("cilium image (stable): unknown")
    if not a.client:
        try:
            _, kube = _client(g)
            ds = kube.get("DaemonSet", "cilium", A.NS)
            image = ds["spec"]["template"]["spec"]["containers"][0]["image"] if ds else "cilium not found"
            log(f"cilium image (running): {image.rsplit(':', 1)[-1].lstrip('v') if ds else image}")
        except (Fatal, KubeError):
            log("cilium image (running): unknown. Unable to obtain cilium version. Reason: release: not found")
    return 0


# --- argv (cobra) -----------------------------------------------------------------------------------------------------
MODES = ("bidirectional", "mesh", "unicast")
# The top-level commands the lab does not need, with their Short texts (cilium-cli/cli/bgp.go, config.go,
# connectivity.go, context.go, encrypt.go, features.go, hubble.go, install.go, multicast.go, sysdump.go; cobra's
# default completion command): they exist, print their help like the real ones, and say that they are not simulated.
NOT_SIMULATED = {
    "bgp": "Access to BGP control plane", "config": "Manage Configuration",
    "context": "Display the configuration context",
    "encryption": "Cilium encryption", "features": "Report which features are enabled in Cilium agents",
    "hubble": "Hubble observability", "install": "Install Cilium in a Kubernetes cluster using Helm",
    "multicast": "Manage multicast groups",
    "sysdump": "Collects information required to troubleshoot issues with Cilium and Hubble",
    "uninstall": "Uninstall Cilium using Helm",
    "upgrade": "Upgrade a Cilium installation a Kubernetes cluster using Helm",
    "completion": "Generate the autocompletion script for the specified shell",
}
ALIASES = {"encryption": ("encrypt",), "features": ("fs",)}
ROOT_LONG = """CLI to install, manage, & troubleshooting Cilium clusters running Kubernetes.

Cilium is a CNI for Kubernetes to provide secure network connectivity and
load-balancing with excellent visibility using eBPF

Examples:

Install Cilium in current Kubernetes context

  $ cilium install

Check status of Cilium

  $ cilium status

Enable the Hubble observability layer

  $ cilium hubble enable

Perform a connectivity test

  $ cilium connectivity test"""


def _root(a, g) -> int:
    print(commands().help(), end="")      # the root's Run: cmd.Help()
    return 0


def _not_simulated(a, g) -> int:
    raise Fatal(f"cilium {a['_command']} is not part of the simulated lab's cilium (labsim/fakes/tools/cilium.py)")


def commands() -> C.Command:
    """The real CLI's command tree (cilium-cli/cli/cmd.go, clustermesh.go, status.go, version.go) as far as a lab
    engineer meshes clusters with it; the other top-level commands exist and say that they are not simulated."""
    mode = C.Flag("connection-mode", "string", "bidirectional", "Connection mode: unicast, bidirectional or mesh")
    dest = C.Flag("destination-context", "stringSlice", [],
                  "Comma separated list of Kubernetes configuration contexts of destination cluster")
    root = C.Command("cilium", "Cilium provides eBPF-based Networking, Security, and Observability for Kubernetes",
                     long=ROOT_LONG, run=_root,
                     persistent=[C.Flag("context", "string", "", "Kubernetes configuration context"),
                                 C.Flag("namespace", "string", "kube-system", "Namespace Cilium is running in. Can "
                                        "also be set via CILIUM_NAMESPACE env var", "n"),
                                 C.Flag("as", "string", "", "Username to impersonate for the operation. User could be "
                                        "a regular user or a service account in a namespace."),
                                 C.Flag("as-group", "stringArray", [], "Group to impersonate for the operation, this "
                                        "flag can be repeated to specify multiple groups."),
                                 C.Flag("helm-release-name", "string", "cilium", "Helm release name"),
                                 C.Flag("kubeconfig", "string", "", "Path to the kubeconfig file")])
    mesh = C.Command("clustermesh", "Multi Cluster Management")
    mesh.add(
        C.Command("status", "Show status of ClusterMesh", run=cmd_status, flags=[
            C.Flag("wait", "bool", False, "Wait until status is successful"),
            C.Flag("wait-duration", "duration", "15m0s", "Maximum time to wait"),
            C.Flag("output", "string", "summary", "Output format. One of: json, summary", "o")]),
        C.Command("enable", "Enable ClusterMesh ability in a cluster using Helm", run=cmd_enable, flags=[
            C.Flag("enable-external-workloads", "bool", False, "Enable support for external workloads, such as VMs"),
            C.Flag("enable-kvstoremesh", "bool", False, "Enable kvstoremesh, an extension which caches remote cluster "
                   "information in the local kvstore (Cilium >=1.14 only)"),
            C.Flag("service-type", "string", "", "Type of Kubernetes service to expose control plane { LoadBalancer "
                   "| NodePort }")]),
        C.Command("disable", "Disable ClusterMesh ability in a cluster using Helm", run=cmd_disable),
        C.Command("connect", "Connect to a remote cluster", run=cmd_connect, flags=[
            mode, dest,
            C.Flag("destination-endpoint", "stringSlice", [], "IP of ClusterMesh service of destination cluster"),
            C.Flag("source-endpoint", "stringSlice", [], "IP of ClusterMesh service of source cluster"),
            C.Flag("parallel", "int", 1, "Number of parallel connection of destination cluster"),
            C.Flag("allow-mismatching-ca", "bool", False, "Allow connecting clusters whose Cilium CAs differ, by "
                   "adding the remote CAs to the CA bundle")]),
        C.Command("disconnect", "Disconnect from a remote cluster", run=cmd_disconnect, flags=[mode, dest]),
    )
    conn = C.Command("connectivity", "Connectivity troubleshooting")
    conn.add(C.Command("test", "Validate connectivity in cluster", run=cmd_connectivity_test, flags=[
        C.Flag("multi-cluster", "string", "", "Test across clusters to given context"),
        C.Flag("test", "stringSlice", [], "Run tests that match one of the given regular expressions, skip tests by "
               "starting the expression with '!', target Scenarios with e.g. '/pod-to-cidr'"),
        C.Flag("junit-file", "string", "", "Generate junit report and write to file"),
        C.Flag("test-concurrency", "int", 1, "Count of namespaces to perform the connectivity tests in parallel "
               "(value <= 0 will be treated as 1)"),
        C.Flag("test-namespace", "string", "cilium-test", "Namespace to perform the connectivity in (always "
               "suffixed with a sequence number to be compliant with test-concurrency param, e.g.: cilium-test-1)"),
        C.Flag("single-node", "bool", False, "Limit to tests able to run on a single node"),
        C.Flag("connect-timeout", "duration", "2s", "Maximum time to allow initiation of the connection to take"),
        C.Flag("request-timeout", "duration", "10s", "Maximum time to allow a request to take")]))
    root.add(
        mesh, conn,
        C.Command("status", "Display status", run=cmd_cilium_status, flags=[
            C.Flag("wait", "bool", False, "Wait for status to report success (no errors and warnings)"),
            C.Flag("wait-duration", "duration", "5m0s", "Maximum time to wait for status"),
            C.Flag("interactive", "bool", True, "Refresh the status summary output after each retry when --wait "
                   "flag is specified"),
            C.Flag("output", "string", "summary", "Output format. One of: json, summary", "o")]),
        C.Command("version", "Display detailed version information", run=cmd_version, flags=[
            C.Flag("client", "bool", False, "If true, shows client version only (no server required)")]),
        *[C.Command(name, short, run=_not_simulated, aliases=ALIASES.get(name, ())) for name, short in
          NOT_SIMULATED.items()],
    )
    return root


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        cmd, a = C.execute(commands(), argv)
    except C.ShowHelp as h:
        print(h.text, end="", file=sys.stderr if h.stderr else sys.stdout)
        return 0
    except C.UsageError as exc:          # cobra's error, printed by main (SilenceErrors): no "Error: " prefix
        print(exc, file=sys.stderr)
        return 1
    a["_command"] = cmd.path().removeprefix("cilium ")
    g = {"context": a.context or None, "kubeconfig": a.kubeconfig or None, "namespace": a.namespace}
    try:
        return cmd.run(a, g)
    except (Fatal, KubeError, client.ControlUnavailable, client.RpcError) as exc:   # str(KubeError): its message
        print(f"Error: {exc}", file=sys.stderr)
        return 1
