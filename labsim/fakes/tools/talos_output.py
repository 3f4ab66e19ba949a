"""How talosctl prints what the nodes answered (cmd/talosctl/cmd/talos/output, service.go, etcd.go,
version.go): tables through text/tabwriter, `get -o json` as a stream of indented objects (one per
resource, keys sorted, not an array), `-o yaml` documents separated by `---`."""
from __future__ import annotations

import json
from typing import Any

import yaml

from labsim.fakes.tools.gofmt import encode_json, format_duration, go_value, table

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
        cols = [c[0] for c in res["definition"]["columns"]]
        if header is None:
            header = ["NODE", "NAMESPACE", "TYPE", "ID", "VERSION"] + cols
        for item in res["items"]:
            md = item["metadata"]
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
                rows.append([a["node"], md["namespace"], res["definition"]["display"], md["id"], str(md["version"])]
                            + [go_value(_path(item["spec"], c[1])) for c in res["definition"]["columns"]])
            first = False
    if output == "table" and header is not None:
        print(table([header] + rows), end="")
    if errors:
        import sys
        text = errors[0] if len(answers) == 1 else multierror(errors).rstrip("\n")
        print(text.split(": ", 1)[1] if len(answers) == 1 else text, file=sys.stderr)
        return 1
    return 0


def print_services(rows: list[tuple[str, Any]], sid: str | None) -> None:
    if sid:   # `talosctl service ID`: the detail view
        for node, services in rows:
            for s in services:
                print(table([["NODE", node], ["ID", s["id"]], ["STATE", s["state"]], ["HEALTH", s["health"]],
                             ["EVENTS", f"[{s['state']}]: {s['event']} ({format_duration(s['ago'])} ago)"]]), end="")
        return
    out = [["NODE", "SERVICE", "STATE", "HEALTH", "LAST CHANGE", "LAST EVENT"]]
    for node, services in rows:
        for s in services:
            out.append([node, s["id"], s["state"], s["health"], f"{format_duration(s['ago'])} ago", s["event"]])
    print(table(out), end="")


def print_members(rows: list[tuple[str, Any]]) -> None:
    out = [["NODE", "ID", "HOSTNAME", "PEER URLS", "CLIENT URLS", "LEARNER"]]
    for node, members in rows:
        for m in members:
            out.append([node, m["id"], m["hostname"], ",".join(m["peer_urls"]), ",".join(m["client_urls"]),
                        "true" if m["is_learner"] else "false"])
    print(table(out), end="")


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
