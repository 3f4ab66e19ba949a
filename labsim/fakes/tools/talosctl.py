"""The fake `talosctl` (1.11.3): the command tree of the real one, on the cobra model (labsim/fakes/tools/cobra.py).

Bring-up: `gen secrets|config`, `apply-config`, `bootstrap`, `kubeconfig`, `health`, `machineconfig patch`,
`config endpoint|node|context|contexts|merge|info`, `wipe disk`, `reset`, `reboot`, `version`.
Day to day (labsim/fakes/tools/talos_read.py): `get TYPE [ID]` (every resource type labsim/fakes/talos/resources.py
serves, `-o table|yaml|json|jsonpath=`), `service [ID]`, `dmesg [-f]`, `logs SERVICE [-f] [--tail N]`, `containers [-k]`,
`stats [-k]`, `memory [-v]`, `read PATH`, `list [PATH] [-l] [-r|-d N] [-t f|d]`, `time [--check S]`,
`netstat [-l|-a] [-t|-u] [-p] [-x]`, `image list [--namespace system|cri]`, `etcd members|status`, `dashboard`
(refused without a terminal). The other real commands exist (their help prints) and say they are not simulated.

Every talos command carries talosctl's persistent flags (`--talosconfig`, `-n/--nodes`, `-e/--endpoints`,
`--cluster`, `--context`, `--siderov1-keys-dir`; cmd/talosctl/cmd/talos/root.go addCommand); the management commands
(`gen`, `machineconfig`, `cluster`, ...) do not. Errors print as cmd/talosctl/cmd/root.go Execute prints them:
the error alone on stderr, and, when it mentions "arg(s)", "flag" or "command", a blank line and the command's usage;
exit code 1. Everything that needs a node goes through the control API (`talos` service); `gen` works offline.
Sources: siderolabs/talos v1.11.3 cmd/talosctl/cmd/{root.go,talos/*.go,mgmt/**/*.go} (Use, Short, Long, Aliases,
Args and flags of each command).
"""
from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from labsim.fakes.talos.texts import WRAP
from labsim.fakes.tools import client, talosconfig
from labsim.fakes.tools import cobra as C
from labsim.fakes.tools import talos_output as out
from labsim.fakes.tools.client import ControlUnavailable, RpcError
from labsim.fakes.tools.gofmt import parse_duration
from labsim.fakes.tools.pflag import Flag

CLIENT_VERSION = "1.11.3"
MODULE = "labsim/fakes/tools/talosctl.py"


class Failure(Exception):
    pass


class Talosctl:
    """One run: the parsed command line and how to reach the nodes."""

    def __init__(self, cmd: C.Command, a: C.Args):
        self.cmd, self.args = cmd, a

    def flag(self, name: str, default: Any = None) -> Any:
        return self.args.get(name, default)

    @property
    def nodes(self) -> list[str]:
        return [n.strip() for n in self.flag("nodes") or [] if n.strip()]

    # --- connection ---------------------------------------------------------------------------------------------
    def request(self, insecure: bool = False, **body: Any) -> dict[str, Any]:
        nodes = self.nodes
        endpoints = [e.strip() for e in self.flag("endpoints") or [] if e.strip()]
        if insecure:
            if not nodes:
                raise Failure("nodes are not set for the command: please use `--nodes` flag or configuration "
                              "file to set the nodes to run the command against")
            return {"nodes": nodes, "endpoints": endpoints or nodes, "insecure": True, **body}
        path = talosconfig.talosconfig_path(self.flag("talosconfig"))
        ctx = talosconfig.context(talosconfig.load(path), self.flag("context"))
        endpoints = endpoints or list(ctx.get("endpoints") or [])
        if not endpoints:
            raise Failure("failed to determine endpoints")
        return {"nodes": nodes or list(ctx.get("nodes") or []), "endpoints": endpoints, "auth_ca": ctx.get("ca"),
                **body}

    def per_node(self, method: str, wrap: str, body: dict[str, Any],
                 show: Callable[[str, Any], None] | None = None) -> list[tuple[str, Any]]:
        try:
            answers = client.call("talos", method, body)
        except RpcError as exc:
            raise Failure(WRAP[wrap].format(err=exc)) from None
        ok, errors = [], []
        for a in answers:
            if "error" in a:
                errors.append((a["node"], RpcError(a["error"]["code"], a["error"]["message"])))
            else:
                ok.append((a["node"], a["result"]))
                if show:
                    show(a["node"], a["result"])
        if errors:
            if len(answers) == 1:
                raise Failure(WRAP[wrap].format(err=errors[0][1]))
            text = out.multierror([f"{node}: {err}" for node, err in errors])
            raise Failure(WRAP[wrap].format(err=text).rstrip("\n"))
        return ok

    def single_node(self, command: str) -> None:
        """helpers.FailIfMultiNodes."""
        if len(self.nodes) > 1:
            raise Failure(f'command "{command}" is not supported with multiple nodes')


# --- bring-up commands --------------------------------------------------------------------------------------------------
def cmd_apply_config(t: Talosctl) -> int:
    a = t.args
    if not a.file:
        raise Failure("no filename supplied for configuration")
    try:
        data = Path(a.file).read_text()
    except OSError as exc:
        raise Failure(f'failed to read configuration from "{a.file}": {exc}') from None
    if not data:
        raise Failure("no configuration data read")
    if a.config_patch:
        from labsim.fakes.tools import talos_gen
        data = talos_gen.patched(data, a.config_patch)
    body = t.request(a.insecure, data=data, dry_run=a.dry_run, mode=a.mode)
    t.per_node("apply_config", "apply-config", body,
               lambda node, r: print(r["modeDetails"], file=sys.stderr) if r.get("modeDetails") else None)
    return 0


def cmd_bootstrap(t: Talosctl) -> int:
    if len(t.nodes) > 1:
        raise Failure('command "bootstrap" is not supported with multiple nodes')
    t.per_node("bootstrap", "bootstrap", t.request())
    return 0


def cmd_version(t: Talosctl) -> int:
    a = t.args
    if not a.json:
        print("Client:")
        print(out.version_text(CLIENT_VERSION, a.short))
    if a.client:
        return 0
    rows = t.per_node("version", "version", t.request(a.insecure))
    if a.json:
        out.print_version_json(rows)
    else:
        print("Server:")
        for node, r in rows:
            print(out.server_version_text(node, r, a.short))
    return 0


def cmd_kubeconfig(t: Talosctl) -> int:
    a = t.args
    rows = t.per_node("kubeconfig", "kubeconfig", t.request())
    text = rows[0][1]["kubeconfig"]
    path = Path(a.args[0]).expanduser() if a.args else Path.home() / ".kube" / "config"
    try:
        talosconfig.merge_kubeconfig(path, text, force=a.force, merge=a.merge)
    except talosconfig.ConfigError as exc:
        raise Failure(str(exc)) from None
    return 0


def cmd_health(t: Talosctl) -> int:
    a = t.args
    cps = list(a.control_plane_nodes) + ([a.init_node] if a.init_node else [])
    body = t.request(wait_timeout=parse_duration(a.wait_timeout), control_plane_nodes=cps,
                     worker_nodes=list(a.worker_nodes))
    if len(body["nodes"]) > 1:
        raise Failure('command "health" is not supported with multiple nodes')
    try:
        for line in client.stream("talos", "health", body):
            print(line, file=sys.stderr, flush=True)
    except RpcError as exc:
        raise Failure(WRAP["health"].format(err=exc)) from None
    return 0


def cmd_wipe_disk(t: Talosctl) -> int:
    a = t.args
    body = t.request(a.insecure, devices=[d.removeprefix("/dev/") for d in a.args], method=a.method,
                     drop_partition=a.drop_partition)
    t.per_node("wipe_disk", "wipe", body)
    return 0


def cmd_reset(t: Talosctl) -> int:
    a = t.args
    t.per_node("reset", "reset", t.request(a.insecure, graceful=a.graceful, reboot=a.reboot,
                                            system_labels_to_wipe=list(a.system_labels_to_wipe)))
    return 0


def cmd_reboot(t: Talosctl) -> int:
    t.per_node("reboot", "reboot", t.request())
    return 0


def cmd_gen(t: Talosctl) -> int:
    from labsim.fakes.tools import talos_gen
    return talos_gen.run(t.cmd.name, t.args)


def cmd_patch(t: Talosctl) -> int:
    from labsim.fakes.tools import talos_gen
    return talos_gen.patch_file(t.args)


# --- config ---------------------------------------------------------------------------------------------------------------
def _open_context(t: Talosctl, name: str | None = None) -> tuple[Path, dict[str, Any], str]:
    """openConfigAndContext: the file, its document and the context (`no context is set`, `context "x" is not
    defined`)."""
    path = talosconfig.talosconfig_path(t.flag("talosconfig"))
    doc = talosconfig.load(path)
    name = name or t.flag("context") or doc.get("context")
    if not name:
        raise Failure("no context is set")
    if name not in (doc.get("contexts") or {}):
        raise Failure(f'context "{name}" is not defined')
    return path, doc, name


def cmd_config_endpoint(t: Talosctl) -> int:
    path, doc, name = _open_context(t)
    doc["contexts"][name]["endpoints" if t.cmd.name == "endpoint" else "nodes"] = [x.strip() for x in t.args.args]
    talosconfig.save(path, doc)
    return 0


def cmd_config_context(t: Talosctl) -> int:
    path, doc, name = _open_context(t, t.args.args[0])
    doc["context"] = name
    talosconfig.save(path, doc)
    return 0


def cmd_config_contexts(t: Talosctl) -> int:
    doc = talosconfig.load(talosconfig.talosconfig_path(t.flag("talosconfig")))
    out.print_contexts(doc)
    return 0


def cmd_config_merge(t: Talosctl) -> int:
    path = talosconfig.talosconfig_path(t.flag("talosconfig"))
    doc = talosconfig.load(path)
    new = talosconfig.load(Path(t.args.args[0]))
    for rename in talosconfig.merge(doc, new):
        print(f"renamed talosconfig context {rename}", file=sys.stderr)
    talosconfig.save(path, doc)
    return 0


def cmd_config_info(t: Talosctl) -> int:
    _, doc, name = _open_context(t)
    info = talosconfig.info(doc, name)
    fmt = t.args.output
    if fmt == "text":
        print(out.config_info_text(info), end="")
    elif fmt == "json":
        print(out.go_json_indent(info, "  "))
    elif fmt == "yaml":
        print(out.go_yaml(info), end="")
    else:
        raise Failure(f'unknown output format: "{fmt}"')
    return 0


# --- the tree ---------------------------------------------------------------------------------------------------------
def _persistent() -> list[Flag]:
    """The flags cmd/talosctl/cmd/talos/root.go addCommand gives every talos command (persistent)."""
    return [
        Flag("talosconfig", "string", "", "The path to the Talos configuration file. Defaults to 'TALOSCONFIG' env "
             "variable if set, otherwise '$HOME/.talos/config' and '/var/run/secrets/talos.dev/config' in order."),
        Flag("nodes", "stringSlice", [], "target the specified nodes", "n"),
        Flag("endpoints", "stringSlice", [], "override default endpoints in Talos configuration", "e"),
        Flag("cluster", "string", "", "Cluster to connect to if a proxy endpoint is used."),
        Flag("context", "string", "", "Context to be used in command"),
        Flag("siderov1-keys-dir", "string", "", "The path to the SideroV1 auth PGP keys directory. Defaults to "
             "'SIDEROV1_KEYS_DIR' env variable if set, otherwise '$HOME/.talos/keys'. Only valid for Contexts that "
             "use SideroV1 auth."),
    ]


def _not_simulated(t: Talosctl) -> int:
    raise Failure(f"{t.cmd.path()} is not part of the simulated lab's talosctl ({MODULE})")


def _cmd(use: str, short: str, run: Callable | None = None, *, flags: list[Flag] | None = None,
         args: C.Validator | None = None, aliases: tuple[str, ...] = (), long: str = "", hidden: bool = False,
         subs: tuple[C.Command, ...] = (), talos: bool = False, example: str = "") -> C.Command:
    return C.Command(use, short, flags=flags or [], persistent=_persistent() if talos else [],
                     commands=list(subs), run=run, long=long, aliases=aliases, args=args, hidden=hidden,
                     example=example)


def _talos(use: str, short: str, run: Callable | None = None, **kw: Any) -> C.Command:
    return _cmd(use, short, run, talos=True, **kw)


def _flag(name: str, kind: str, default: Any, usage: str, short: str = "", **kw: Any) -> Flag:
    return Flag(name, kind, default, usage, short, **kw)


def commands() -> C.Command:
    from labsim.fakes.tools import talos_read as R
    ns = _not_simulated
    insecure = lambda usage: _flag("insecure", "bool", False, usage, "i")  # noqa: E731
    track = [_flag("wait", "bool", True, "wait for the operation to complete, tracking its progress. always set to "
                   "true when --debug is set"),
             _flag("debug", "bool", False, "debug operation from kernel logs. --wait is set to true when this flag "
                   "is set"),
             _flag("timeout", "duration", "30m0s", "time to wait for the operation is complete if --debug or --wait "
                   "is set")]
    kube = _flag("kubernetes", "bool", False, "use the k8s.io containerd namespace", "k")
    use_cri = _flag("use-cri", "bool", False, "use the CRI driver", "c", hidden=True)
    etcd = _talos("etcd", "Manage etcd", subs=(
        _cmd("alarm", "Manage etcd alarms", subs=(
            _cmd("list", "List the etcd alarms for the node.", ns, args=C.NoArgs),
            _cmd("disarm", "Disarm the etcd alarms for the node.", ns, args=C.NoArgs))),
        _cmd("defrag", "Defragment etcd database on the node", ns, args=C.NoArgs),
        _cmd("downgrade", "Manage etcd storage system downgrades", subs=(
            _cmd("validate <version>", "Validate if the etcd storage system can be downgraded to the specified "
                 "version.", ns, args=C.ExactArgs(1)),
            _cmd("enable <version>", "Enable etcd storage system downgrade to the specified version.", ns,
                 args=C.ExactArgs(1)),
            _cmd("cancel", "Cancel etcd storage system downgrade.", ns, args=C.NoArgs))),
        _cmd("forfeit-leadership", "Tell node to forfeit etcd cluster leadership", ns, args=C.NoArgs),
        _cmd("leave", "Tell nodes to leave etcd cluster", ns, args=C.NoArgs),
        _cmd("members", "Get the list of etcd cluster members", R.cmd_etcd_members, args=C.NoArgs),
        _cmd("remove-member <member ID>", "Remove the node from etcd cluster", ns, args=C.ExactArgs(1)),
        _cmd("snapshot <path>", "Stream snapshot of the etcd node to the path.", ns, args=C.ExactArgs(1)),
        _cmd("status", "Get the status of etcd cluster member", R.cmd_etcd_status, args=C.NoArgs,
             long="Returns the status of etcd member on the node, use multiple nodes to get status of all members."),
    ))
    config = _talos("config", "Manage the client configuration file (talosconfig)", subs=(
        _cmd("endpoint <endpoint>...", "Set the endpoint(s) for the current context", cmd_config_endpoint,
             aliases=("endpoints",), args=C.MinimumNArgs(1)),
        _cmd("node <endpoint>...", "Set the node(s) for the current context", cmd_config_endpoint,
             aliases=("nodes",)),
        _cmd("context <context>", "Set the current context", cmd_config_context, aliases=("use-context",),
             args=C.ExactArgs(1)),
        _cmd("add <context>", "Add a new context", ns, args=C.ExactArgs(1), flags=[
            _flag("ca", "string", "", "the path to the CA certificate"),
            _flag("crt", "string", "", "the path to the certificate"),
            _flag("key", "string", "", "the path to the key")]),
        _cmd("remove <context>", "Remove contexts", ns, args=C.MinimumNArgs(1), flags=[
            _flag("dry-run", "bool", False, "dry run"),
            _flag("noconfirm", "bool", False, "do not ask for confirmation", "y")]),
        _cmd("contexts", "List defined contexts", cmd_config_contexts, aliases=("get-contexts",)),
        _cmd("merge <from>", "Merge additional contexts from another client configuration file", cmd_config_merge,
             args=C.MinimumNArgs(1), long="Contexts with the same name are renamed while merging configs."),
        _cmd("new [<path>]", "Generate a new client configuration file", ns, args=C.RangeArgs(0, 1), flags=[
            _flag("crt-ttl", "duration", "8760h0m0s", "certificate TTL"),
            _flag("roles", "stringSlice", ["os:admin"], "roles")]),
        _cmd("info", "Show information about the current context", cmd_config_info, args=C.NoArgs, flags=[
            _flag("output", "string", "text", "output format (json|yaml|text). Default text.", "o")]),
    ))
    image = _talos("image", "Manage CRI container images", aliases=("images",), args=C.NoArgs, subs=(
        _cmd("default", "List the default images used by Talos", R.cmd_image_default),
        _cmd("list", "List CRI images", R.cmd_image_list, aliases=("l", "ls"), args=C.NoArgs),
        _cmd("pull <image>", "Pull an image into CRI", ns, aliases=("p",), args=C.ExactArgs(1)),
        _cmd("cache-create", "Create a cache of images in OCI format into a directory", ns, args=C.NoArgs),
        _cmd("integration", "List the integration images used by k8s in Talos", ns, args=C.NoArgs, hidden=True),
    ))
    image.persistent.append(_flag("namespace", "string", "cri", "namespace to use: `system` (etcd and kubelet "
                                  "images) or `cri` for all Kubernetes workloads"))
    gen = _cmd("gen", "Generate CAs, certificates, and private keys", subs=(
        _cmd("ca", "Generates a self-signed X.509 certificate authority", ns),
        _cmd("config <cluster name> <cluster endpoint>", "Generates a set of configuration files for Talos cluster",
             cmd_gen, args=C.ExactArgs(2), flags=[
                 _flag("additional-sans", "stringSlice", [], "additional Subject-Alt-Names for the APIServer "
                       "certificate"),
                 _flag("config-patch", "stringArray", [], "patch generated machineconfigs (applied to all node types), "
                       "use @file to read a patch from file"),
                 _flag("config-patch-control-plane", "stringArray", [], "patch generated machineconfigs (applied to "
                       "'init' and 'controlplane' types)"),
                 _flag("config-patch-worker", "stringArray", [], "patch generated machineconfigs (applied to 'worker' "
                       "type)"),
                 _flag("dns-domain", "string", "cluster.local", "the dns domain to use for cluster"),
                 _flag("install-disk", "string", "/dev/sda", "the disk to install to"),
                 _flag("install-image", "string", f"ghcr.io/siderolabs/installer:v{CLIENT_VERSION}",
                       "the image used to perform an installation"),
                 _flag("kubernetes-version", "string", "1.34.1", "desired kubernetes version to run"),
                 _flag("output", "string", "", 'destination to output generated files. when multiple output types '
                       'are specified, it must be a directory. for a single output type, it must either be a file '
                       'path, or "-" for stdout', "o"),
                 _flag("output-dir", "string", "", "destination to output generated files", hidden=True),
                 _flag("output-types", "stringSlice", ["controlplane", "worker", "talosconfig"],
                       'types of outputs to be generated. valid types are: ["controlplane" "worker" "talosconfig"]',
                       "t"),
                 _flag("persist", "bool", True, "the desired persist value for configs", "p"),
                 _flag("registry-mirror", "stringSlice", [], "list of registry mirrors to use in format: <registry "
                       "host>=<mirror URL>"),
                 _flag("talos-version", "string", "", "the desired Talos version to generate config for (backwards "
                       "compatibility, e.g. v0.8)"),
                 _flag("version", "string", "v1alpha1", "the desired machine config version to generate"),
                 _flag("with-cluster-discovery", "bool", True, "enable cluster discovery feature"),
                 _flag("with-docs", "bool", True, "renders all machine configs adding the documentation for each "
                       "field"),
                 _flag("with-examples", "bool", True, "renders all machine configs with the commented examples"),
                 _flag("with-kubespan", "bool", False, "enable KubeSpan feature"),
                 _flag("with-secrets", "string", "", "use a secrets file generated using 'gen secrets'")]),
        _cmd("crt", "Generates an X.509 Ed25519 certificate", ns),
        _cmd("csr", "Generates a CSR using an Ed25519 private key", ns),
        _cmd("key", "Generates an Ed25519 private key", ns),
        _cmd("keypair", "Generates an X.509 Ed25519 key pair", ns),
        _cmd("secrets", "Generates a secrets bundle file which can later be used to generate a config", cmd_gen,
             flags=[
                 _flag("from-controlplane-config", "string", "", "use the provided controlplane Talos machine "
                       "configuration as input"),
                 _flag("from-kubernetes-pki", "string", "", "use a Kubernetes PKI directory (e.g. /etc/kubernetes/pki) "
                       "as input", "p"),
                 _flag("kubernetes-bootstrap-token", "string", "", "use the provided bootstrap token as input", "t"),
                 _flag("output-file", "string", "secrets.yaml", "path of the output file", "o"),
                 _flag("talos-version", "string", "", "the desired Talos version to generate secrets bundle for "
                       "(backwards compatibility, e.g. v0.8)")]),
        _cmd("secureboot", "Generates secrets for the SecureBoot process", subs=(
            _cmd("uki", "Generates a certificate which is used to sign boot assets (UKI)", ns),
            _cmd("pcr", "Generates a key which is used to sign TPM PCR values", ns),
            _cmd("database", "Generates a UEFI database to enroll the signing certificate", ns))),
    ))
    gen.persistent.append(_flag("force", "bool", False, "will overwrite existing files", "f"))
    root = C.Command("talosctl", "A CLI for out-of-band management of Kubernetes nodes created by Talos")
    root.add(
        _talos("apply-config", "Apply a new configuration to a node", cmd_apply_config, aliases=("apply",),
               args=C.MaximumNArgs(1), flags=[
                   _flag("cert-fingerprint", "stringSlice", [], "list of server certificate fingeprints to accept "
                         "(defaults to no check)"),
                   _flag("config-patch", "stringArray", [], "the list of config patches to apply to the local config "
                         "file before sending it to the node", "p"),
                   _flag("dry-run", "bool", False, "check how the config change will be applied in dry-run mode"),
                   _flag("file", "string", "", "the filename of the updated configuration", "f"),
                   insecure("apply the config using the insecure (encrypted with no auth) maintenance service"),
                   Flag("mode", "enum", "auto", "apply config mode", "m",
                        choices=("auto", "interactive", "no-reboot", "reboot", "staged", "try")),
                   _flag("timeout", "duration", "1m0s", "the config will be rolled back after specified timeout (if "
                         "try mode is selected)")]),
        _talos("bootstrap", "Bootstrap the etcd cluster on the specified node.", cmd_bootstrap, args=C.NoArgs,
               long="When Talos cluster is created etcd service on control plane nodes enter the join loop waiting\n"
                    "to join etcd peers from other control plane nodes. One node should be picked as the bootstrap "
                    "node.\nWhen bootstrap command is issued, the node aborts join process and bootstraps etcd cluster "
                    "as a single node cluster.\nOther control plane nodes will join etcd cluster once Kubernetes is "
                    "bootstrapped on the bootstrap node.\n\nThis command should not be used when \"init\" type node "
                    "are used.\n\nTalos etcd cluster can be recovered from a known snapshot with '--recover-from=' "
                    "flag.", flags=[
                   _flag("recover-from", "string", "", "recover etcd cluster from the snapshot"),
                   _flag("recover-skip-hash-check", "bool", False, "skip integrity check when recovering etcd (use when "
                         "recovering from data directory copy)")]),
        _talos("cgroups", "Retrieve cgroups usage information", ns, aliases=("cg",), args=C.NoArgs),
        config,
        _talos("conformance", "Run conformance tests", subs=(
            _cmd("kubernetes", "Run Kubernetes conformance tests", ns),)),
        _talos("containers", "List containers", R.cmd_containers, aliases=("c",), args=C.NoArgs,
               flags=[kube, use_cri]),
        _talos("copy <src-path> -|<local-path>", "Copy data out from the node", ns, aliases=("cp",),
               args=C.ExactArgs(2)),
        _talos("crashdump", "Dump debug information about the cluster", ns, args=C.NoArgs, hidden=True),
        _talos("dashboard", "Cluster dashboard with node overview, logs and real-time metrics", R.cmd_dashboard,
               args=C.NoArgs, long=R.DASHBOARD_LONG, flags=[
                   _flag("update-interval", "duration", "3s", "interval between updates", "d")]),
        _talos("disks", "Get the list of disks from /sys/block on the machine", ns, hidden=True),
        _talos("dmesg", "Retrieve kernel logs", R.cmd_dmesg, args=C.NoArgs, flags=[
            _flag("follow", "bool", False, "specify if the kernel log should be streamed", "f"),
            _flag("tail", "bool", False, "specify if only new messages should be sent (makes sense only when "
                  "combined with --follow)")]),
        _talos("edit <type> [<id>]", "Edit a resource from the default editor.", ns, args=C.RangeArgs(1, 2)),
        etcd,
        _talos("events", "Stream runtime events", ns),
        _talos("get <type> [<id>]", "Get a specific resource or list of resources (use 'talosctl get rd' to see all "
               "available resource types).", R.cmd_get, aliases=("g",), args=C.RangeArgs(1, 2),
               long="Similar to 'kubectl get', 'talosctl get' returns a set of resources from the OS.\nTo get a list "
                    "of all available resource definitions, issue 'talosctl get rd'", flags=[
                   insecure("get resources using the insecure (encrypted with no auth) maintenance service"),
                   _flag("namespace", "string", "", "resource namespace (default is to use default namespace per "
                         "resource)"),
                   _flag("output", "string", "table", "output mode (json, table, yaml, jsonpath)", "o"),
                   _flag("watch", "bool", False, "watch resource changes", "w")]),
        _talos("health", "Check cluster health", cmd_health, args=C.NoArgs, flags=[
            _flag("control-plane-nodes", "stringSlice", [], "specify IPs of control plane nodes"),
            _flag("init-node", "string", "", "specify IPs of init node"),
            _flag("k8s-endpoint", "string", "", "use endpoint instead of kubeconfig default"),
            _flag("run-e2e", "bool", False, "run Kubernetes e2e test"),
            _flag("server", "bool", True, "run server-side check"),
            _flag("wait-timeout", "duration", "20m0s", "timeout to wait for the cluster to be ready"),
            _flag("worker-nodes", "stringSlice", [], "specify IPs of worker nodes")]),
        image,
        _talos("inspect", "Inspect internals of Talos", subs=(
            _cmd("dependencies", "Inspect controller-resource dependencies as graphviz graph.", ns),)),
        _talos("interfaces", "List network interfaces", ns, args=C.NoArgs, hidden=True),
        _talos("kubeconfig [local-path]", "Download the admin kubeconfig from the node", cmd_kubeconfig,
               args=C.MaximumNArgs(1),
               long="Download the admin kubeconfig from the node.\nIf merge flag is true, config will be merged with "
                    "~/.kube/config or [local-path] if specified.\nOtherwise, kubeconfig will be written to PWD or "
                    "[local-path] if specified.\n\nIf merge flag is false and [local-path] is \"-\", config will be "
                    "written to stdout.", flags=[
                   _flag("force", "bool", False, "Force overwrite of kubeconfig if already present, force overwrite on "
                         "kubeconfig merge", "f"),
                   _flag("force-context-name", "string", "", "Force context name for kubeconfig merge"),
                   _flag("merge", "bool", True, "Merge with existing kubeconfig", "m")]),
        _talos("list [path]", "Retrieve a directory listing", R.cmd_list, aliases=("ls",), args=C.MaximumNArgs(1),
               flags=[
                   _flag("depth", "int32", 1, "maximum recursion depth", "d"),
                   _flag("humanize", "bool", False, "humanize size and time in the output", "H"),
                   _flag("long", "bool", False, "display additional file details", "l"),
                   _flag("recurse", "bool", False, "recurse into subdirectories", "r"),
                   _flag("type", "stringSlice", [], "filter by specified types:\nf\tregular file\nd\tdirectory\nl, "
                         "L\tsymbolic link", "t")]),
        _talos("logs <service name>", "Retrieve logs for a service", R.cmd_logs, args=C.ExactArgs(1), flags=[
            _flag("follow", "bool", False, "specify if the logs should be streamed", "f"), kube,
            _flag("tail", "int32", -1, "lines of log file to display (default is to show from the beginning)"),
            use_cri]),
        _talos("memory", "Show memory usage", R.cmd_memory, aliases=("m", "free"), args=C.NoArgs, flags=[
            _flag("verbose", "bool", False, "display extended memory statistics", "v")]),
        _talos("meta", "Write and delete keys in the META partition", args=C.NoArgs, subs=(
            _cmd("write key value", "Write a key-value pair to the META partition.", ns, args=C.ExactArgs(2)),
            _cmd("delete key", "Delete a key from the META partition.", ns, args=C.ExactArgs(1)))),
        _talos("mounts", "List mounts", ns, aliases=("mount",), args=C.NoArgs),
        _talos("netstat", "Show network connections and sockets", R.cmd_netstat, aliases=("ss",),
               args=C.MaximumNArgs(1), long=R.NETSTAT_LONG, flags=[
                   _flag("all", "bool", False, "display all sockets states (default: connected)", "a"),
                   _flag("extend", "bool", False, "show detailed socket information", "x"),
                   _flag("ipv4", "bool", False, "display only ipv4 sockets", "4"),
                   _flag("ipv6", "bool", False, "display only ipv6 sockets", "6"),
                   _flag("listening", "bool", False, "display listening server sockets", "l"),
                   _flag("pods", "bool", False, "show sockets used by Kubernetes pods", "k"),
                   _flag("programs", "bool", False, "show process using socket", "p"),
                   _flag("raw", "bool", False, "display only RAW sockets", "w"),
                   _flag("tcp", "bool", False, "display only TCP sockets", "t"),
                   _flag("timers", "bool", False, "display timers", "o"),
                   _flag("udp", "bool", False, "display only UDP sockets", "u"),
                   _flag("udplite", "bool", False, "display only UDPLite sockets", "U"),
                   _flag("verbose", "bool", False, "display sockets of all supported transport protocols", "v")]),
        _talos("patch <type> [<id>]", "Update field(s) of a resource using a JSON patch.", ns, args=C.RangeArgs(1, 2)),
        _talos("pcap", "Capture the network packets from the node.", ns, aliases=("tcpdump",), args=C.NoArgs),
        _talos("processes", "List running processes", ns, aliases=("p", "ps"), args=C.NoArgs),
        _talos("read <path>", "Read a file on the machine", R.cmd_read, aliases=("cat",), args=C.ExactArgs(1)),
        _talos("reboot", "Reboot a node", cmd_reboot, args=C.NoArgs, flags=[
            *track, _flag("mode", "string", "default", 'select the reboot mode: "default", "powercycle" (skips '
                          'kexec)', "m")]),
        _talos("reset", "Reset a node", cmd_reset, args=C.NoArgs, flags=[
            *track,
            _flag("graceful", "bool", True, "if true, attempt to cordon/drain node and leave etcd (if applicable)"),
            _flag("insecure", "bool", False, "reset using the insecure (encrypted with no auth) maintenance service"),
            _flag("reboot", "bool", False, "if true, reboot the node after resetting instead of shutting down"),
            _flag("system-labels-to-wipe", "stringSlice", [], "if set, just wipe selected system disk partitions by "
                  "label but keep other partitions intact"),
            _flag("user-disks-to-wipe", "stringSlice", [], "if set, wipes defined devices in the list"),
            Flag("wipe-mode", "enum", "all", "disk reset mode", choices=("all", "system-disk", "user-disks"))]),
        _talos("restart <id>", "Restart a process", ns, args=C.ExactArgs(1)),
        _talos("rollback", "Rollback a node to the previous installation", ns),
        _talos("rotate-ca", "Rotate cluster CAs (Talos and Kubernetes APIs).", ns, args=C.NoArgs),
        _talos("routes", "List network routes", ns, aliases=("route",), args=C.NoArgs, hidden=True),
        _talos("service [<id> [start|stop|restart|status]]", "Retrieve the state of a service (or all services), "
               "control service state", R.cmd_service, aliases=("services",), args=C.MaximumNArgs(2),
               long="Service control command. If run without arguments, lists all the services and their state.\n"
                    "If service ID is specified, default action 'status' is executed which shows status of a single "
                    "list service.\nWith actions 'start', 'stop', 'restart', service state is updated respectively."),
        _talos("shutdown", "Shutdown a node", ns, args=C.NoArgs),
        _talos("stats", "Get container stats", R.cmd_stats, args=C.NoArgs, flags=[kube, use_cri]),
        _talos("support", "Dump debug information about the cluster", ns, args=C.NoArgs),
        _talos("time [--check server]", "Gets current server time", R.cmd_time, args=C.NoArgs, flags=[
            _flag("check", "string", "", "checks server time against specified ntp server", "c")]),
        _talos("upgrade", "Upgrade Talos on the target node", ns, args=C.NoArgs),
        _talos("upgrade-k8s", "Upgrade Kubernetes control plane in the Talos cluster.", ns, args=C.NoArgs),
        _talos("usage [path1] [path2] ... [pathN]", "Retrieve a disk usage", ns, aliases=("du",)),
        _talos("version", "Prints the version", cmd_version, args=C.NoArgs, flags=[
            _flag("client", "bool", False, "Print client version only"),
            insecure("use Talos maintenance mode API"),
            _flag("json", "bool", False, "", hidden=True),
            _flag("short", "bool", False, "Print the short version")]),
        _talos("wipe", "Wipe block device or volumes", args=C.NoArgs, subs=(
            _cmd("disk <device names>...", "Wipe a block device (disk or partition) which is not used as a volume",
                 cmd_wipe_disk, args=C.MinimumNArgs(1), flags=[
                     _flag("drop-partition", "bool", False, "drop partition after wipe (if applicable)"),
                     insecure("use Talos maintenance mode API"),
                     Flag("method", "enum", "FAST", "wipe method to use [FAST ZEROES]", choices=("FAST", "ZEROES")),
                     _flag("skip-secondary-check", "bool", False, "skip secondary disk check (e.g. underlying disk for "
                           "RAID or LVM), use with caution", hidden=True),
                     _flag("skip-volume-check", "bool", False, "skip volume check", hidden=True)]),)),
        # management commands (cmd/talosctl/cmd/mgmt): no talos connection flags
        _cmd("cluster", "A collection of commands for managing local docker-based or QEMU-based clusters", subs=(
            _cmd("create", "Creates a local docker-based or QEMU-based kubernetes cluster", ns),
            _cmd("destroy", "Destroys a local docker-based or firecracker-based kubernetes cluster", ns),
            _cmd("show", "Shows info about a local provisioned kubernetes cluster", ns))),
        _cmd("debug", "A collection of commands to facilitate debugging of Talos.", hidden=True),
        gen,
        _cmd("inject", "Inject Talos API resources into Kubernetes manifests", subs=(
            _cmd("serviceaccount [--roles='<ROLE_1>,<ROLE_2>'] -f <manifest.yaml>", "Inject Talos API ServiceAccount "
                 "into Kubernetes manifests", ns),)),
        _cmd("machineconfig", "Machine config related commands", aliases=("mc",), subs=(
            _cmd("patch <machineconfig-file>", "Patch a machine config", cmd_patch, args=C.ExactArgs(1), flags=[
                _flag("output", "string", "", "output destination. if not specified, output will be printed to stdout",
                      "o"),
                _flag("patch", "stringArray", [], "patch generated machineconfigs (applied to all node types), use "
                      "@file to read a patch from file", "p")]),)),
        _cmd("validate", "Validate config", ns),
        _cmd("completion SHELL", "Output shell completion code for the specified shell (bash, fish or zsh)", ns),
        _cmd("docs <output> [flags]", "Generate documentation for the CLI or config", ns, hidden=True),
    )
    return root


@functools.cache
def tree() -> C.Command:
    """The command tree, built once per process: the tools' zygote builds it before it forks (warm())."""
    return commands()


def warm() -> None:
    """What the zygote (labsim/fakes/tools/zygote.py) does once, so that no run pays for it."""
    tree()


def _print_error(err: str, cmd: C.Command) -> None:
    """cmd/talosctl/cmd/root.go Execute: the error, and for a usage mistake the command's usage."""
    print(err, file=sys.stderr)
    if "arg(s)" in err or "flag" in err or "command" in err:
        print(file=sys.stderr)
        print(cmd.usage(), file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        cmd, a = C.execute(tree(), argv)
    except C.ShowHelp as h:
        print(h.text, end="", file=sys.stderr if h.stderr else sys.stdout)
        return 0
    except C.UsageError as exc:
        _print_error(str(exc), exc.cmd)
        return 1
    try:
        return cmd.run(Talosctl(cmd, a)) or 0
    except (Failure, talosconfig.ConfigError, ControlUnavailable) as exc:
        _print_error(str(exc), cmd)
        return 1
