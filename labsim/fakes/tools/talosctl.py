"""The fake `talosctl`: the commands a lab engineer uses to bring up and check a Talos cluster.

    talosctl gen secrets | gen config NAME ENDPOINT [--with-secrets F] [--config-patch[-control-plane|-worker] P]
    talosctl apply-config [--insecure] -n IP --file F [--config-patch P] [--dry-run]
    talosctl bootstrap -n IP -e IP
    talosctl get TYPE [ID] [-o table|json|yaml|jsonpath=...] [--insecure]
    talosctl service [ID] | etcd members | version [--client] [--short] [--json] | reboot
    talosctl kubeconfig [PATH] [--force] [--merge=false]
    talosctl health [--wait-timeout 20m] [--control-plane-nodes a,b] [--worker-nodes c] [--server]
    talosctl config endpoint|node IP... | config merge FILE | config info

Global flags as cobra takes them anywhere on the line: -n/--nodes, -e/--endpoints, --talosconfig,
--context, --cluster. Errors go to stderr as talosctl prints them, with exit code 1. Everything that needs a
node goes through the control API (`talos` service); `gen` works offline like the real one.
"""
from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from labsim.fakes.talos.texts import WRAP
from labsim.fakes.tools import client, talosconfig
from labsim.fakes.tools import talos_output as out
from labsim.fakes.tools.argv import CobraParser, FlagError, UsageError, split_globals
from labsim.fakes.tools.client import ControlUnavailable, RpcError
from labsim.fakes.tools.gofmt import parse_duration

CLIENT_VERSION = "1.11.3"
GLOBAL = {"-n": "nodes", "--nodes": "nodes", "-e": "endpoints", "--endpoints": "endpoints",
          "--talosconfig": "talosconfig", "--context": "context", "--cluster": "cluster"}


class Failure(Exception):
    pass


def _bool(text: str) -> bool:
    if text.lower() in ("true", "1", "t"):
        return True
    if text.lower() in ("false", "0", "f"):
        return False
    raise argparse.ArgumentTypeError(f'invalid argument "{text}": strconv.ParseBool: parsing "{text}": invalid syntax')


def _flag(p: argparse.ArgumentParser, *names: str, **kw: Any) -> None:
    p.add_argument(*names, nargs="?", const=True, default=kw.pop("default", False), type=_bool, **kw)


@functools.cache
def parser() -> argparse.ArgumentParser:
    """The argv parser, built once per process: the tools' zygote builds it before it forks (warm())."""
    return _build_parser()


def warm() -> None:
    """What the zygote (labsim/fakes/tools/zygote.py) does once, so that no run pays for it."""
    parser()


def _build_parser() -> argparse.ArgumentParser:
    root = CobraParser(prog="talosctl", add_help=True)
    sub = root.add_subparsers(dest="cmd", required=True)
    gen = sub.add_parser("gen").add_subparsers(dest="what", required=True)
    g = gen.add_parser("secrets")
    g.add_argument("-o", "--output-file", default="secrets.yaml")
    _flag(g, "--force")
    g = gen.add_parser("config")
    g.add_argument("cluster_name")
    g.add_argument("cluster_endpoint")
    for f in ("--config-patch", "--config-patch-control-plane", "--config-patch-worker"):
        g.add_argument(f, action="append", default=[])
    g.add_argument("--with-secrets")
    g.add_argument("--install-disk", default="/dev/sda")
    g.add_argument("--kubernetes-version", default="1.34.1")
    g.add_argument("--talos-version", default=CLIENT_VERSION)
    g.add_argument("-o", "--output-dir", "--output", default=".")
    _flag(g, "--force")
    for name in ("apply-config", "apply"):
        a = sub.add_parser(name)
        a.add_argument("-f", "--file")
        a.add_argument("-p", "--config-patch", action="append", default=[])
        _flag(a, "-i", "--insecure")
        _flag(a, "--dry-run")
        a.add_argument("-m", "--mode", default="auto")
    sub.add_parser("bootstrap")
    g = sub.add_parser("get")
    g.add_argument("type")
    g.add_argument("id", nargs="?")
    g.add_argument("-o", "--output", default="table")
    g.add_argument("--namespace")
    _flag(g, "-i", "--insecure")
    for name in ("service", "services"):
        s = sub.add_parser(name)
        s.add_argument("id", nargs="?")
    e = sub.add_parser("etcd").add_subparsers(dest="what", required=True)
    e.add_parser("members")
    v = sub.add_parser("version")
    _flag(v, "--client")
    _flag(v, "--short")
    _flag(v, "--json")
    _flag(v, "-i", "--insecure")
    k = sub.add_parser("kubeconfig")
    k.add_argument("path", nargs="?")
    _flag(k, "-f", "--force")
    _flag(k, "-m", "--merge", default=True)
    h = sub.add_parser("health")
    h.add_argument("--wait-timeout", default="20m")
    h.add_argument("--control-plane-nodes", action="append", default=[])
    h.add_argument("--worker-nodes", action="append", default=[])
    h.add_argument("--init-node", default="")
    h.add_argument("--k8s-endpoint", default="")
    _flag(h, "--server", default=True)
    _flag(h, "--run-e2e")
    sub.add_parser("reboot")
    w = sub.add_parser("wipe").add_subparsers(dest="what", required=True)
    wd = w.add_parser("disk")
    wd.add_argument("devices", nargs="+")
    wd.add_argument("--method", default="FAST", choices=["FAST", "ZEROES"])
    _flag(wd, "--drop-partition")
    _flag(wd, "-i", "--insecure")
    r = sub.add_parser("reset")
    _flag(r, "--graceful", default=True)
    _flag(r, "--reboot")
    _flag(r, "--insecure")
    r.add_argument("--system-labels-to-wipe", action="append", default=[])
    r.add_argument("--user-disks-to-wipe", action="append", default=[])
    r.add_argument("--wait", default="true")
    for name in ("machineconfig", "mc"):
        mc = sub.add_parser(name).add_subparsers(dest="what", required=True)
        mp = mc.add_parser("patch")
        mp.add_argument("file")
        mp.add_argument("-p", "--patch", action="append", default=[])
        mp.add_argument("-o", "--output", default="")
    c = sub.add_parser("config").add_subparsers(dest="what", required=True)
    for name in ("endpoint", "endpoints", "node", "nodes"):
        c.add_parser(name).add_argument("values", nargs="*")
    c.add_parser("merge").add_argument("file")
    c.add_parser("info")
    return root


class Talosctl:
    def __init__(self, glob: dict[str, Any], args: argparse.Namespace):
        self.glob, self.args = glob, args

    # --- connection -------------------------------------------------------------------------------------
    def request(self, insecure: bool = False, **body: Any) -> dict[str, Any]:
        nodes = list(self.glob["nodes"])
        if insecure:
            if not nodes:
                raise Failure("nodes are not set for the command: please use `--nodes` flag or configuration "
                              "file to set the nodes to run the command against")
            return {"nodes": nodes, "endpoints": list(self.glob["endpoints"]) or nodes, "insecure": True, **body}
        path = talosconfig.talosconfig_path(self.glob.get("talosconfig"))
        ctx = talosconfig.context(talosconfig.load(path), self.glob.get("context"))
        endpoints = list(self.glob["endpoints"]) or list(ctx.get("endpoints") or [])
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

    # --- commands ------------------------------------------------------------------------------------------
    def run(self) -> int:
        a = self.args
        cmd = {"apply": "apply-config", "services": "service", "etcd": "etcd members", "mc": "machineconfig",
               "wipe": "wipe disk"}.get(a.cmd, a.cmd)
        if cmd in ("gen", "machineconfig"):
            from labsim.fakes.tools import talos_gen
            return talos_gen.run(a) if cmd == "gen" else talos_gen.patch_file(a)
        if cmd == "config":
            return self.config()
        return getattr(self, "cmd_" + cmd.replace("-", "_").replace(" ", "_"))()

    def cmd_apply_config(self) -> int:
        a = self.args
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
        body = self.request(a.insecure, data=data, dry_run=a.dry_run, mode=a.mode)
        self.per_node("apply_config", "apply-config", body,
                      lambda node, r: print(r["modeDetails"]) if r.get("modeDetails") else None)
        return 0

    def cmd_bootstrap(self) -> int:
        self.per_node("bootstrap", "bootstrap", self.request())
        return 0

    def cmd_get(self) -> int:
        a = self.args
        body = self.request(a.insecure, type=a.type, id=a.id)
        try:
            answers = client.call("talos", "get", body)
        except RpcError as exc:
            raise Failure(str(exc)) from None
        return out.print_resources(answers, a.output)

    def cmd_service(self) -> int:
        rows = self.per_node("service", "service", self.request(id=self.args.id))
        out.print_services(rows, self.args.id)
        return 0

    def cmd_etcd_members(self) -> int:
        out.print_members(self.per_node("etcd_members", "etcd members", self.request()))
        return 0

    def cmd_version(self) -> int:
        a = self.args
        if not a.json:
            print("Client:")
            print(out.version_text(CLIENT_VERSION, a.short))
        if a.client:
            return 0
        rows = self.per_node("version", "version", self.request(a.insecure))
        if a.json:
            out.print_version_json(rows)
        else:
            print("Server:")
            for node, r in rows:
                print(out.server_version_text(node, r, a.short))
        return 0

    def cmd_kubeconfig(self) -> int:
        a = self.args
        rows = self.per_node("kubeconfig", "kubeconfig", self.request())
        text = rows[0][1]["kubeconfig"]
        path = Path(a.path).expanduser() if a.path else Path.home() / ".kube" / "config"
        try:
            talosconfig.merge_kubeconfig(path, text, force=a.force, merge=a.merge)
        except talosconfig.ConfigError as exc:
            raise Failure(str(exc)) from None
        return 0

    def cmd_health(self) -> int:
        a = self.args
        try:
            timeout = parse_duration(a.wait_timeout)
        except ValueError as exc:
            raise Failure(f'invalid argument "{a.wait_timeout}" for "--wait-timeout" flag: {exc}') from None
        split = lambda vals: [x for v in vals for x in v.split(",") if x]
        cps = split(a.control_plane_nodes) + ([a.init_node] if a.init_node else [])
        body = self.request(wait_timeout=timeout, control_plane_nodes=cps, worker_nodes=split(a.worker_nodes))
        if len(body["nodes"]) > 1:
            raise Failure('command "health" is not supported with multiple nodes')
        try:
            for line in client.stream("talos", "health", body):
                print(line, file=sys.stderr, flush=True)
        except RpcError as exc:
            raise Failure(WRAP["health"].format(err=exc)) from None
        return 0

    def cmd_wipe_disk(self) -> int:
        a = self.args
        body = self.request(a.insecure, devices=[d.removeprefix("/dev/") for d in a.devices], method=a.method,
                            drop_partition=a.drop_partition)
        self.per_node("wipe_disk", "wipe", body)
        return 0

    def cmd_reset(self) -> int:
        a = self.args
        labels = [x for v in a.system_labels_to_wipe for x in v.split(",") if x]
        self.per_node("reset", "reset", self.request(a.insecure, graceful=a.graceful, reboot=a.reboot,
                                                     system_labels_to_wipe=labels))
        return 0

    def cmd_reboot(self) -> int:
        self.per_node("reboot", "reboot", self.request())
        return 0

    def config(self) -> int:
        a = self.args
        path = talosconfig.talosconfig_path(self.glob.get("talosconfig"))
        doc = talosconfig.load(path)
        if a.what == "merge":
            new = talosconfig.load(Path(a.file))
            doc.setdefault("contexts", {}).update(new.get("contexts") or {})
            doc["context"] = new.get("context", doc.get("context"))
            talosconfig.save(path, doc)
            return 0
        name = self.glob.get("context") or doc.get("context")
        ctx = talosconfig.context(doc, self.glob.get("context"))
        if a.what == "info":
            print(f"Current context:     {name}\nNodes:               {ctx.get('nodes') or 'not defined'}\n"
                  f"Endpoints:           {ctx.get('endpoints') or 'not defined'}")
            return 0
        key = "endpoints" if a.what.startswith("endpoint") else "nodes"
        ctx[key] = list(a.values)
        talosconfig.save(path, doc)
        return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        glob, rest = split_globals(argv, GLOBAL, frozenset({"nodes", "endpoints"}))
        try:
            args = parser().parse_args(rest)
        except SystemExit as exc:     # --help
            return 1 if exc.code else 0
        except UsageError as exc:     # root.go: the error alone (SilenceErrors), a blank line, the usage; exit 1
            what = "[command]" if str(exc).startswith("unknown command") else "[flags]"
            prog = str(exc).split(' for "')[-1].rstrip('"') if what == "[command]" else "talosctl"
            print(f"{exc}\n\nUsage:\n  {prog} {what}", file=sys.stderr)
            return 1
        return Talosctl(glob, args).run()
    except (Failure, FlagError, talosconfig.ConfigError, ControlUnavailable) as exc:
        print(str(exc), file=sys.stderr)
        return 1
