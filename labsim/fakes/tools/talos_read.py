"""The fake talosctl's day-to-day read commands: what they ask the node (control API `talos` service) and how
talosctl prints the answers (labsim/fakes/tools/talos_output.py holds the formats and their sources).

Where a command's text differs with the number of nodes, it follows talosctl: the tables that print the NODE column
only when the answer came through apid's proxy (`etcd members`, `etcd status`, `netstat`: the node is known only
when nodes were targeted) print it when nodes were given (`-n` or the talosconfig context's nodes).
"""
from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from labsim.fakes.tools import client
from labsim.fakes.tools import talos_output as out
from labsim.fakes.tools.client import RpcError

if TYPE_CHECKING:
    from labsim.fakes.tools.talosctl import Talosctl

FOLLOW_POLL = 1.0     # a follow asks again for what is new every second of the lab's time

DASHBOARD_LONG = """Provide a text-based UI to navigate node overview, logs and real-time metrics.

Keyboard shortcuts:

 - h, <Left> - switch one node to the left
 - l, <Right> - switch one node to the right
 - j, <Down> - scroll logs/process list down
 - k, <Up> - scroll logs/process list up
 - <C-d> - scroll logs/process list half page down
 - <C-u> - scroll logs/process list half page up
 - <C-f> - scroll logs/process list one page down
 - <C-b> - scroll logs/process list one page up
"""
NETSTAT_LONG = """Show network connections and sockets.

You can pass an optional argument to view a specific pod's connections.
To do this, format the argument as "namespace/pod".
Note that only pods with a pod network namespace are allowed.
If you don't pass an argument, the command will show host connections."""


def _failure(text: str):
    from labsim.fakes.tools.talosctl import Failure
    return Failure(text)


# --- resources and services ----------------------------------------------------------------------------------------
def cmd_get(t: Talosctl) -> int:
    a = t.args
    if a.watch:
        raise _failure("talosctl get --watch is not part of the simulated lab's talosctl (no stream of changes)")
    rtype = a.args[0]
    body = t.request(a.insecure, type=rtype, id=a.args[1] if len(a.args) > 1 else None,
                     namespace=a.namespace or None)
    try:
        answers = client.call("talos", "get", body)
    except RpcError as exc:
        raise _failure(str(exc)) from None
    if a.output not in ("table", "json", "yaml") and not a.output.startswith("jsonpath="):
        raise _failure(f"output writer {a.output!r} is not supported")
    return out.print_resources(answers, a.output)


def cmd_service(t: Talosctl) -> int:
    a = t.args
    sid = a.args[0] if a.args else None
    action = a.args[1] if len(a.args) > 1 else "status"
    if action != "status":
        raise _failure(f"talosctl service {sid} {action} is not part of the simulated lab's talosctl")
    rows = t.per_node("service", "service", t.request(id=sid))
    if sid is not None:
        if not any(services for _, services in rows):
            raise _failure(f'service "{sid}" is not registered on any nodes')
        out.print_service_info(rows)
    else:
        out.print_services(rows)
    return 0


# --- logs ---------------------------------------------------------------------------------------------------------
def cmd_dmesg(t: Talosctl) -> int:
    a = t.args
    body = t.request()
    seen: dict[str, tuple[int, int]] = {}      # node -> (boot, last sequence printed)
    first = True
    while True:
        for node, r in t.per_node("dmesg", "dmesg", {**body, "after": -1}):
            boot, last = seen.get(node, (r["boot"], -1))
            if boot != r["boot"]:
                last = -1
            lines = r["lines"]
            if first and a.tail:
                lines = []
                last = r["lines"][-1][0] if r["lines"] else -1
            for seq, line in lines:
                if seq > last:
                    print(f"{node}: {line}", flush=True)
                    last = seq
            seen[node] = (r["boot"], last)
        first = False
        if not a.follow:
            return 0
        client.sleep(FOLLOW_POLL)


def cmd_logs(t: Talosctl) -> int:
    a = t.args
    body = t.request(id=a.args[0], kubernetes=a.kubernetes)
    printed: dict[str, int] = {}
    while True:
        try:
            answers = client.call("talos", "logs", body)
        except RpcError as exc:
            raise _failure(f"error fetching logs: {exc}") from None
        errors = False
        for ans in answers:
            if "error" in ans:
                print(f"ERROR: {ans['node']}: {RpcError(ans['error']['code'], ans['error']['message'])}",
                      file=sys.stderr)
                errors = True
                continue
            lines = ans["result"]["lines"]
            start = printed.get(ans["node"])
            if start is None:
                start = max(0, len(lines) - a.tail) if a.tail >= 0 else 0
            for line in lines[start:]:
                print(f"{ans['node']}: {line}", flush=True)
            printed[ans["node"]] = len(lines)
        if errors:
            return 1
        if not a.follow:
            return 0
        client.sleep(FOLLOW_POLL)


# --- containers and resources of the machine ----------------------------------------------------------------------
def cmd_containers(t: Talosctl) -> int:
    rows = t.per_node("containers", "containers", t.request(kubernetes=t.args.kubernetes))
    out.print_containers(rows)
    return 0


def cmd_stats(t: Talosctl) -> int:
    rows = t.per_node("stats", "stats", t.request(kubernetes=t.args.kubernetes))
    out.print_stats(rows)
    return 0


def cmd_memory(t: Talosctl) -> int:
    rows = t.per_node("memory", "memory", t.request())
    out.print_memory(rows, t.args.verbose)
    return 0


def cmd_time(t: Talosctl) -> int:
    rows = t.per_node("time", "time", t.request(server=t.args.check or None))
    out.print_time(rows)
    return 0


def cmd_netstat(t: Talosctl) -> int:
    a = t.args
    if a.args:
        raise _failure("talosctl netstat of a pod's network namespace is not part of the simulated lab's talosctl")
    if a.pods:
        raise _failure("talosctl netstat --pods is not part of the simulated lab's talosctl")
    protos = []
    any_proto = a.tcp or a.udp or a.udplite or a.raw or a.verbose
    for name, on in (("tcp", a.tcp or not any_proto or a.verbose), ("udp", a.udp or not any_proto or a.verbose),
                     ("udplite", a.udplite or a.verbose), ("raw", a.raw or a.verbose)):
        if on:
            if not (a.ipv6 and not a.ipv4):
                protos.append(name)
            if not (a.ipv4 and not a.ipv6):
                protos.append(name + "6")
    body = t.request(listening=a.listening and not a.all, all=a.all, protocols=protos)
    rows = t.per_node("netstat", "netstat", body)
    out.print_netstat(rows, proxied=bool(body["nodes"]), extend=a.extend, programs=a.programs, timers=a.timers)
    return 0


def cmd_image_list(t: Talosctl) -> int:
    ns = t.args.namespace
    if ns not in ("cri", "system"):
        raise _failure(f'unsupported namespace "{ns}"')
    rows = t.per_node("image_list", "image list", t.request(namespace=ns))
    out.print_images(rows)
    return 0


def cmd_image_default(t: Talosctl) -> int:
    from labsim.fakes.tools.talosctl import CLIENT_VERSION
    for image in out.default_images(CLIENT_VERSION):
        print(image)
    return 0


def cmd_etcd_members(t: Talosctl) -> int:
    body = t.request()
    out.print_members(t.per_node("etcd_members", "etcd members", body), proxied=bool(body["nodes"]))
    return 0


def cmd_etcd_status(t: Talosctl) -> int:
    body = t.request()
    out.print_etcd_status(t.per_node("etcd_status", "etcd status", body), proxied=bool(body["nodes"]))
    return 0


# --- files ----------------------------------------------------------------------------------------------------------
def cmd_read(t: Talosctl) -> int:
    t.single_node("read")
    try:
        answers = client.call("talos", "read", t.request(path=t.args.args[0]))
    except RpcError as exc:
        raise _failure(f"error reading file: {exc}") from None
    for ans in answers:
        if "error" in ans:
            raise _failure(f"error reading: {RpcError(ans['error']['code'], ans['error']['message'])}")
        sys.stdout.write(ans["result"]["data"])
    return 0


def cmd_list(t: Talosctl) -> int:
    a = t.args
    if a.recurse and a.depth != 1:
        raise _failure("only one of flags --recurse and --depth can be specified at the same time")
    types = []
    for typ in a.type:
        for ch in typ:
            if ch not in "fdlL":
                raise _failure(f"invalid file type: {ch}")
            types.append({"l": "l", "L": "l"}.get(ch, ch))
    depth = -1 if a.recurse else a.depth
    body = t.request(root=a.args[0] if a.args else "/", depth=depth, types=types)
    try:
        answers = client.call("talos", "list", body)
    except RpcError as exc:
        raise _failure(f"error fetching logs: {exc}") from None     # sic: list.go wraps it so
    out.print_listing(answers, long=a.long, humanize=a.humanize, multiple=len(answers) > 1)
    return 0


# --- dashboard ----------------------------------------------------------------------------------------------------
def cmd_dashboard(t: Talosctl) -> int:
    """The dashboard draws a full-screen terminal UI (tcell): without a terminal it cannot start, and the simulated
    lab's talosctl does not draw it at all; say so, and what to use instead."""
    if not (sys.stdout.isatty() and sys.stdin.isatty()) or os.environ.get("TERM", "dumb") == "dumb":
        raise _failure("the dashboard needs a terminal: standard input and output are not a TTY (use "
                       "`talosctl dmesg`, `talosctl service`, `talosctl memory` and `talosctl stats` instead)")
    raise _failure("talosctl dashboard is not part of the simulated lab's talosctl (its terminal UI is not drawn): "
                   "use `talosctl dmesg`, `talosctl service`, `talosctl memory` and `talosctl stats` instead")
