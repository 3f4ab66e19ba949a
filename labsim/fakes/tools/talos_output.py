"""How talosctl prints what the nodes answered: tables through text/tabwriter (minwidth 0, padding 3), `get -o json`
as a stream of indented objects (one per resource, keys sorted, not an array), `-o yaml` documents separated by `---`.

The source of each format (siderolabs/talos v1.11.3):
  get                         cmd/talosctl/cmd/talos/output/table.go (NODE NAMESPACE TYPE ID VERSION + print columns),
                              output/json.go, output/yaml.go
  service / service ID        cmd/talosctl/cmd/talos/service.go, pkg/machinery/formatters/formatters.go
                              (RenderServicesInfo: NODE, ID, STATE, HEALTH, LAST HEALTH MESSAGE, EVENTS newest first)
  etcd members / etcd status  cmd/talosctl/cmd/talos/etcd.go (NODE only when the answer names it)
  containers / stats          cmd/talosctl/cmd/talos/containers.go, stats.go (sorted by ID, `└─ ` for a pod's
                              containers, MEMORY(MB) %.2f, CPU in nanoseconds)
  memory                      cmd/talosctl/cmd/talos/memory.go (MB, USED = total - free - cached - buffers; -v: meminfo)
  time                        cmd/talosctl/cmd/talos/time.go (Go's time.Time String())
  netstat                     cmd/talosctl/cmd/talos/netstat.go (`%s:%d`, `*` for a zero remote port, no state for 7)
  image list                  cmd/talosctl/cmd/talos/image.go (humanize.Bytes, RFC3339)
  list / read / dmesg / logs  cmd/talosctl/cmd/talos/list.go (names, or NODE MODE UID GID SIZE(B) LASTMOD LABEL NAME),
                              read.go, dmesg.go (`%s: %s`), logs.go (`%s: %s\n`)
  config contexts / info      cmd/talosctl/cmd/talos/config.go (CURRENT NAME ENDPOINTS NODES; the info template)
  version                     cmd/talosctl/cmd/talos/version.go, pkg/version
"""
from __future__ import annotations

import json
from typing import Any

import yaml

from labsim.fakes.tools.gofmt import (encode_json, format_duration, go_time_string, go_value, humanize_bytes, rfc3339,
                                      table, utc)

GO_VERSION = "go1.24.9"


def multierror(errors: list[str]) -> str:
    head = "1 error occurred:" if len(errors) == 1 else f"{len(errors)} errors occurred:"
    return head + "".join(f"\n\t* {e}" for e in errors) + "\n\n"


def _path(obj: Any, path: str) -> Any:
    for part in [p for p in path.split(".") if p]:
        obj = obj.get(part) if isinstance(obj, dict) else None
    return obj


def print_resources(answers: list[dict[str, Any]], output: str) -> int:
    errors, first = [], True
    rows: list[list[str]] = []
    header: list[str] | None = None
    for a in answers:
        if "error" in a:
            errors.append(f"{a['node']}: rpc error: code = {a['error']['code']} desc = {a['error']['message']}")
            continue
        res = a["result"]
        if header is None:
            header = ["NODE", "NAMESPACE", "TYPE", "ID", "VERSION"] + [c.upper() for c in res["definition"]["columns"]]
        for full in res["items"]:
            md = full["metadata"]
            item = {"metadata": md, "spec": full["spec"]}
            if output == "json":
                print(encode_json({**item, "node": a["node"]}))
            elif output == "yaml":
                if not first:
                    print("---")
                print(yaml.safe_dump({"node": a["node"], **item}, sort_keys=False, indent=4), end="")
            elif output.startswith("jsonpath="):
                expr = output.split("=", 1)[1].strip("{}").lstrip(".")
                print(go_value(_path({**item, "node": a["node"]}, expr)))
            else:
                rows.append([a["node"], md["namespace"], res["definition"]["display"], md["id"], str(md["version"]),
                             *full["columns"]])
            first = False
    if output == "table" and header is not None:
        print(table([header] + rows), end="")
    if errors:
        import sys
        text = errors[0] if len(answers) == 1 else multierror(errors).rstrip("\n")
        print(text.split(": ", 1)[1] if len(answers) == 1 else text, file=sys.stderr)
        return 1
    return 0


def print_services(rows: list[tuple[str, Any]]) -> None:
    out = [["NODE", "SERVICE", "STATE", "HEALTH", "LAST CHANGE", "LAST EVENT"]]
    for node, services in rows:
        for s in services:
            out.append([node, s["id"], s["state"], s["health"], f"{format_duration(s['ago'])} ago", s["event"]])
    print(table(out), end="")


def print_service_info(rows: list[tuple[str, Any]]) -> None:
    """RenderServicesInfo: one tabwriter for every node's service, its events newest first."""
    out = []
    for node, services in rows:
        for s in services:
            out += [["NODE", node], ["ID", s["id"]], ["STATE", s["state"]], ["HEALTH", s["health"]]]
            if s.get("health_message"):
                out.append(["LAST HEALTH MESSAGE", s["health_message"]])
            label = "EVENTS"
            for e in reversed(s["events"]):
                out.append([label, f"[{e['state']}]: {e['msg']} ({format_duration(e['ago'])} ago)"])
                label = ""
    print(table(out), end="")


def print_members(rows: list[tuple[str, Any]], proxied: bool = True) -> None:
    out = [(["NODE"] if proxied else []) + ["ID", "HOSTNAME", "PEER URLS", "CLIENT URLS", "LEARNER"]]
    for node, members in rows:
        for m in members:
            out.append(([node] if proxied else []) + [m["id"], m["hostname"], ",".join(m["peer_urls"]),
                                                      ",".join(m["client_urls"]),
                                                      "true" if m["is_learner"] else "false"])
    if len(out) > 1:
        print(table(out), end="")


def print_etcd_status(rows: list[tuple[str, Any]], proxied: bool) -> None:
    out = [(["NODE"] if proxied else []) + ["MEMBER", "DB SIZE", "IN USE", "LEADER", "RAFT INDEX", "RAFT TERM",
                                             "RAFT APPLIED INDEX", "LEARNER", "PROTOCOL", "STORAGE", "ERRORS"]]
    for node, st in rows:
        ratio = st["db_size_in_use"] / st["db_size"] * 100 if st["db_size"] else 0.0
        out.append(([node] if proxied else []) + [
            f"{st['member_id']:016x}", humanize_bytes(st["db_size"]),
            f"{humanize_bytes(st['db_size_in_use'])} ({ratio:.2f}%)", f"{st['leader']:016x}", str(st["raft_index"]),
            str(st["raft_term"]), str(st["raft_applied_index"]), "true" if st["is_learner"] else "false",
            st["protocol_version"], st["storage_version"], ", ".join(st["errors"])])
    print(table(out), end="")


def print_containers(rows: list[tuple[str, Any]]) -> None:
    out = [["NODE", "NAMESPACE", "ID", "IMAGE", "PID", "STATUS"]]
    for node, containers in rows:
        for c in sorted(containers, key=lambda c: c["id"]):
            shown = c["id"] if c["id"] == c["pod_id"] else "└─ " + c["id"]
            out.append([node, c["namespace"], shown, c["image"], str(c["pid"]), c["status"]])
    print(table(out), end="")


def print_stats(rows: list[tuple[str, Any]]) -> None:
    out = [["NODE", "NAMESPACE", "ID", "MEMORY(MB)", "CPU"]]
    for node, stats in rows:
        for s in sorted(stats, key=lambda s: s["id"]):
            shown = s["id"] if s["id"] == s["pod_id"] else "└─ " + s["id"]
            out.append([node, s["namespace"], shown, f"{s['memory_usage'] * 1e-6:.2f}", str(s["cpu_usage"])])
    print(table(out), end="")


MEMINFO_VERBOSE = ("MemTotal", "MemFree", "MemAvailable", "Buffers", "Cached", "SwapCached", "Active", "Inactive",
                   "SwapTotal", "SwapFree", "AnonPages", "Mapped", "Shmem", "Slab", "KernelStack", "PageTables")


def print_memory(rows: list[tuple[str, Any]], verbose: bool) -> None:
    if verbose:     # memory.go verboseRender: /proc/meminfo's fields, in kB (the ones the node reports)
        for node, m in rows:
            print(f"NODE: {node}")
            for key in MEMINFO_VERBOSE:
                print(f"{key}: {m.get(key, 0)} kB")
        return
    out = [["NODE", "TOTAL", "USED", "FREE", "SHARED", "BUFFERS", "CACHE", "AVAILABLE"]]
    for node, m in rows:
        used = m["MemTotal"] - m["MemFree"] - m["Cached"] - m["Buffers"]
        out.append([node] + [str(v // 1024) for v in (m["MemTotal"], used, m["MemFree"], m["Shmem"], m["Buffers"],
                                                       m["Cached"], m["MemAvailable"])])
    print(table(out), end="")


def print_time(rows: list[tuple[str, Any]]) -> None:
    out = [["NODE", "NTP-SERVER", "NODE-TIME", "NTP-SERVER-TIME"]]
    for node, r in rows:
        out.append([node, r["server"], go_time_string(utc(r["localtime"])), go_time_string(utc(r["remotetime"]))])
    print(table(out), end="")


def print_netstat(rows: list[tuple[str, Any]], *, proxied: bool, extend: bool, programs: bool, timers: bool) -> None:
    labels = ["Proto", "Recv-Q", "Send-Q", "Local Address", "Foreign Address", "State"]
    labels += (["Uid", "Inode"] if extend else []) + (["PID/Program name"] if programs else []) + \
        (["Timer"] if timers else [])
    out: list[list[str]] = []
    for node, records in rows:
        for r in records:
            if not out:
                out.append((["NODE"] if proxied else []) + labels)
            row = ([node] if proxied else []) + [
                r["l4proto"], "0", "0", f"{r['localip']}:{r['localport']}",
                f"{r['remoteip']}:{r['remoteport'] or '*'}", r["state"]]
            if extend:
                row += ["0", str(100000 + r["pid"])]
            if programs:
                row.append(f"{r['pid']}/{r['name']}" if r["pid"] else "-")
            if timers:
                row.append("off (0.00/0/0)")
            out.append(row)
    if out:
        print(table(out), end="")


def print_images(rows: list[tuple[str, Any]]) -> None:
    out = [["NODE", "IMAGE", "DIGEST", "SIZE", "CREATED"]]
    for node, images in rows:
        for im in images:
            out.append([node, im["name"], im["digest"], humanize_bytes(im["size"]),
                        rfc3339(utc(_epoch_seconds(im["created"])))])
    print(table(out), end="")


def _epoch_seconds(lab_seconds: float) -> float:
    from labsim.fakes.clock import EPOCH
    return EPOCH.timestamp() + lab_seconds


def default_images(version: str) -> list[str]:
    """`image default` (pkg/images/list.go, the versions v1.11.3 pins)."""
    k8s = "v1.34.1"
    return ["ghcr.io/siderolabs/flannel:v0.27.4", "registry.k8s.io/coredns/coredns:v1.12.4",
            "gcr.io/etcd-development/etcd:v3.6.5", f"registry.k8s.io/kube-apiserver:{k8s}",
            f"registry.k8s.io/kube-controller-manager:{k8s}", f"registry.k8s.io/kube-scheduler:{k8s}",
            f"registry.k8s.io/kube-proxy:{k8s}", f"ghcr.io/siderolabs/kubelet:{k8s}",
            f"ghcr.io/siderolabs/installer:v{version}", "registry.k8s.io/pause:3.10"]


def _file_mode(mode: int) -> str:
    """os.FileMode.String() of a directory or a regular file."""
    out = "d" if mode & 0o40000 else "-"
    for shift in (6, 3, 0):
        bits = (mode >> shift) & 7
        out += ("r" if bits & 4 else "-") + ("w" if bits & 2 else "-") + ("x" if bits & 1 else "-")
    return out


def print_listing(answers: list[dict[str, Any]], *, long: bool, humanize: bool, multiple: bool) -> None:
    import sys
    from datetime import UTC, datetime
    rows: list[list[str]] = []
    for a in answers:
        if "error" in a:
            print(f"{a['node']}: rpc error: code = {a['error']['code']} desc = {a['error']['message']}",
                  file=sys.stderr)
            continue
        for f in a["result"]:
            if not long:
                rows.append([a["node"], f["relative_name"]])
                continue
            when = datetime.fromtimestamp(f["modified"], UTC)
            size = humanize_bytes(f["size"]) if humanize else str(f["size"])
            rows.append([a["node"], _file_mode(f["mode"]), str(f["uid"]), str(f["gid"]), size,
                         when.strftime("%b ") + f"{when.day:>2}" + when.strftime(" %H:%M:%S"), "",
                         f["relative_name"]])
    if not long:
        if multiple:
            print(table([["NODE", "NAME"]] + rows), end="")
        else:
            for r in rows:
                print(r[1])
        return
    print(table([["NODE", "MODE", "UID", "GID", "SIZE(B)", "LASTMOD", "LABEL", "NAME"]] + rows), end="")


def print_contexts(doc: dict[str, Any]) -> None:
    out = [["CURRENT", "NAME", "ENDPOINTS", "NODES"]]
    for name in sorted(doc.get("contexts") or {}):
        ctx = doc["contexts"][name] or {}
        nodes = list(ctx.get("nodes") or [])
        shown = ",".join(nodes[:3]) + "..." if len(nodes) > 3 else ",".join(nodes)
        out.append(["*" if name == doc.get("context") else "", name, ",".join(ctx.get("endpoints") or []), shown])
    print(table(out), end="")


def config_info_text(info: dict[str, Any]) -> str:
    """The `config info` template (config.go configInfoCmdTemplate)."""
    text = (f"Current context:     {info['context']}\n"
            f"Nodes:               {', '.join(info['nodes']) if info['nodes'] else 'not defined'}\n"
            f"Endpoints:           {', '.join(info['endpoints']) if info['endpoints'] else 'not defined'}")
    if info["roles"]:
        text += f"\nRoles:               {', '.join(info['roles'])}"
    if info["certTTL"]:
        text += f"\nCertificate expires: {info['certTTL']} ({info['certNotAfter']})"
    return text + "\n"


def go_json_indent(obj: Any, indent: str) -> str:
    """json.Encoder with SetIndent("", indent): struct fields in order, nil slices as null."""
    return encode_json(obj, indent=indent, sort_keys=False)


def go_yaml(info: dict[str, Any]) -> str:
    """gopkg.in/yaml.v3 of talosconfigInfo (4-space indent, nil slices as [], date-like strings quoted)."""
    out = []
    for key, value in info.items():
        if isinstance(value, list) or value is None:
            out.append(f"{key}: []" if not value else f"{key}:\n" + "".join(f"    - {v}\n" for v in value).rstrip())
        elif value == "":
            out.append(f'{key}: ""')
        elif key == "certNotAfter":
            out.append(f'{key}: "{value}"')
        else:
            out.append(f"{key}: {value}")
    return "\n".join(out) + "\n"


def version_text(tag: str, short: bool) -> str:
    if short:
        return f"Talos v{tag}"
    return (f"\tTag:         v{tag}\n\tSHA:         undefined\n\tBuilt:       \n\tGo version:  {GO_VERSION}\n"
            f"\tOS/Arch:     linux/amd64")


def server_version_text(node: str, r: dict[str, Any], short: bool) -> str:
    v = r["version"]
    if short:
        return f"\tNODE:        {node}\n\tTalos {v['tag']}"
    return (f"\tNODE:        {node}\n\tTag:         {v['tag']}\n\tSHA:         {v['sha']}\n\tBuilt:       \n"
            f"\tGo version:  {v['go_version']}\n\tOS/Arch:     {v['os']}/{v['arch']}\n\tEnabled:     RBAC")


def print_version_json(rows: list[tuple[str, Any]]) -> None:
    """The hidden `--json` flag: the VersionResponse as protojson (camelCase field names)."""
    msgs = []
    for node, r in rows:
        v = r["version"]
        msgs.append({"metadata": {"hostname": node},
                     "version": {"tag": v["tag"], "sha": v["sha"], "built": v["built"], "goVersion": v["go_version"],
                                 "os": v["os"], "arch": v["arch"]},
                     "platform": r["platform"], "features": r["features"]})
    print(json.dumps({"messages": msgs}))
