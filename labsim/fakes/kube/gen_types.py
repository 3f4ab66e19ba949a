"""Build `data/types.json`, the Go type table of the built-in Kubernetes API, from the upstream sources.

The table is data: per message (Go struct), its fields with protobuf number and type, JSON name, and what
Go's encoders do with them (pointer, omitempty, inline embedding), plus the list markers server-side apply
and strategic merge use (`+listType`, `+listMapKey`, `patchMergeKey`, `patchStrategy`). It is read from

  kubernetes/api           <group>/<version>/generated.proto   field numbers and protobuf types
                           <group>/<version>/types.go          json tags, pointers, list markers
  kubernetes/apimachinery  pkg/apis/meta/v1/generated.proto, types.go   ObjectMeta, LabelSelector, ...

(kubernetes/api 10b39a39bcee995dfe7cd5e8e7b922be5e46f1e2, kubernetes/apimachinery
eed236ceee2c19c2753a3d93ac0631dc20750454; field numbers never change between releases). Regenerate with

    python -m labsim.fakes.kube.gen_types API_CHECKOUT APIMACHINERY_CHECKOUT > labsim/fakes/kube/data/types.json

where the checkouts are git directories (bare or not) of the two repositories.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys

GROUPS = ["core/v1", "apps/v1", "batch/v1", "authentication/v1", "authorization/v1", "rbac/v1",
          "coordination/v1", "discovery/v1", "policy/v1", "storage/v1", "scheduling/v1", "networking/v1",
          "autoscaling/v1", "events/v1", "certificates/v1", "node/v1", "admissionregistration/v1",
          "flowcontrol/v1"]
PACKAGES = {"k8s.io.apimachinery.pkg.apis.meta.v1": "meta/v1", "k8s.io.apimachinery.pkg.runtime": "runtime",
            "k8s.io.apimachinery.pkg.runtime.schema": "schema", "k8s.io.apimachinery.pkg.util.intstr": "intstr",
            "k8s.io.apimachinery.pkg.api.resource": "resource"}
SCALARS = {"string", "int32", "int64", "bool", "bytes", "double", "float", "uint32", "uint64", "sint32", "sint64"}

FIELD = re.compile(r"^\s*(optional|repeated|required)\s+(\S+)\s+(\w+)\s*=\s*(\d+)\s*;")
MAPFIELD = re.compile(r"^\s*map<\s*(\S+)\s*,\s*(\S+)\s*>\s+(\w+)\s*=\s*(\d+)\s*;")
GOFIELD = re.compile(r"^\t(?:(\w+)\s+)?(\S+)\s+`([^`]*)`")
TAG = re.compile(r'(\w+):"([^"]*)"')


def _pkg_of(proto_pkg: str) -> str:
    if proto_pkg in PACKAGES:
        return PACKAGES[proto_pkg]
    m = re.fullmatch(r"k8s\.io\.api\.(\w+)\.(\w+)", proto_pkg)
    if not m:
        raise ValueError(proto_pkg)
    return f"{m.group(1)}/{m.group(2)}"


def _type(t: str, pkg: str) -> str:
    if t in SCALARS:
        return t
    t = t.lstrip(".")
    if "." in t:
        p, _, name = t.rpartition(".")
        return f"{_pkg_of(p)}.{name}"
    return f"{pkg}.{t}"


def parse_proto(text: str) -> tuple[str, dict[str, dict[int, dict]]]:
    pkg = _pkg_of(re.search(r"^package ([\w.]+);", text, re.M).group(1))
    out: dict[str, dict[int, dict]] = {}
    cur = None
    for line in text.splitlines():
        if line.startswith("message "):
            cur = out.setdefault(line.split()[1], {})
        elif line.startswith("}"):
            cur = None
        elif cur is not None:
            m = MAPFIELD.match(line)
            if m:
                cur[int(m.group(4))] = {"name": m.group(3), "t": "map", "k": _type(m.group(1), pkg),
                                        "v": _type(m.group(2), pkg)}
                continue
            m = FIELD.match(line)
            if m:
                f = {"name": m.group(3), "t": _type(m.group(2), pkg)}
                if m.group(1) == "repeated":
                    f["rep"] = True
                cur[int(m.group(4))] = f
    return pkg, out


def parse_go(text: str) -> tuple[dict[str, dict[int, dict]], set[str]]:
    """Per struct: protobuf number -> what the Go field's tags and markers say; and the named slice types."""
    structs: dict[str, dict[int, dict]] = {}
    slices = set(re.findall(r"^type (\w+) \[\]", text, re.M))
    cur = None
    markers: dict[str, list[str]] = {}
    doc: list[str] = []
    for line in text.splitlines():
        m = re.match(r"^type (\w+) struct \{", line)
        if m:
            cur, markers, doc = structs.setdefault(m.group(1), {}), {}, []
            continue
        if cur is None:
            continue
        if line.startswith("}"):
            cur = None
            continue
        s = line.strip()
        if s.startswith("//"):
            text_line = s[2:].strip()
            if not text_line.startswith("+") and not text_line.startswith("TODO"):
                doc.append(text_line)
            mm = re.match(r"//\s*\+(listType|listMapKey|patchMergeKey|patchStrategy|mapType|structType)=(\S+)", s)
            if mm:
                markers.setdefault(mm.group(1), []).append(mm.group(2))
            if s == "// +optional":
                markers["optional"] = ["true"]
            continue
        m = GOFIELD.match(line)
        if not m:
            if not s:
                markers, doc = {}, []
            continue
        name, gotype, tags = m.group(1), m.group(2), dict(TAG.findall(m.group(3)))
        pb = tags.get("protobuf")
        if not pb:
            markers, doc = {}, []
            continue
        bits = pb.split(",")
        num = int(bits[1])
        jname, _, jopts = tags.get("json", "").partition(",")
        f: dict = {"json": jname}
        if name is None and jname == "":
            f["inline"] = True
        if gotype.startswith("*"):
            f["ptr"] = True
        if "omitempty" in jopts:
            f["omit"] = True
        if "optional" in markers:
            f["optional"] = True
        for k in ("listType", "mapType", "structType", "patchStrategy"):
            if k in markers:
                f[k] = markers[k][0]
        if "listMapKey" in markers:
            f["mapKeys"] = markers["listMapKey"]
        if "patchMergeKey" in tags:
            f["mergeKey"] = tags["patchMergeKey"]
        if "patchStrategy" in tags:
            f["patchStrategy"] = tags["patchStrategy"]
        if gotype == "[]byte":
            f["go"] = "bytes"
        base = gotype.lstrip("*[]")
        if doc and base[:1].isupper() or "." in base:
            # the description openapi-gen makes of the comment (the Python models lack it for struct fields)
            f["doc"] = re.sub(r"(?<!\n) ?\n(?!\n)", " ", "\n".join(doc)).replace("\n\n", "\n\n").strip()
        cur[num] = f
        markers, doc = {}, []
    return structs, slices


def _show(repo: str, path: str) -> str:
    return subprocess.run(["git", "-C", repo, "show", f"HEAD:{path}"], capture_output=True, text=True,
                          check=True).stdout


def build(api: str, machinery: str) -> dict:
    """The table of GROUPS, plus every package their fields refer to (an alpha type a GA struct embeds)."""
    table: dict[str, dict] = {}
    todo = [(machinery, "pkg/apis/meta/v1")] + [(api, g) for g in GROUPS]
    done: set[str] = set()
    while todo:
        repo, d = todo.pop(0)
        if d in done:
            continue
        done.add(d)
        pkg, msgs = parse_proto(_show(repo, f"{d}/generated.proto"))
        go, slices = parse_go(_show(repo, f"{d}/types.go"))
        for mname, fields in msgs.items():
            gofields = go.get(mname, {})
            entry: dict = {"fields": []}
            if mname in slices:
                entry["slice"] = True            # Go `type X []string`: JSON is the bare list
            for num in sorted(fields):
                f = dict(fields[num])
                f["n"] = num
                f.update(gofields.get(num, {"json": f["name"]}))
                entry["fields"].append(f)
                for t in (f["t"], f.get("v", "")):
                    ref = t.partition(".")[0]
                    if "/" in ref and ref != "meta/v1" and ref not in done:
                        todo.append((api, ref))
            table[f"{pkg}.{mname}"] = entry
    return table


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    table = build(argv[1], argv[2])
    sys.stdout.write("{\n" + ",\n".join(f"{json.dumps(k)}: {json.dumps(v, separators=(',', ':'))}"
                                        for k, v in sorted(table.items())) + "\n}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
