"""`python -m labsim.provisioners.kind verify LABFILE [--workdir DIR] [--dry-run] [--delete] [-- PYTEST ARGS]` (make kind-verify).

Where Docker (with a running engine) and kind are present: write the kind configs and Cilium values
(labsim/provisioners/kind/config.py), create one kind cluster per mesh member, install Cilium into each (the
first cluster's `cilium-ca` copied to the others first, as Cilium CI and the owners do), connect the
mesh, wait for it, and run the cluster and mesh features with `--target kind` (fabric and Proxmox stay
simulated). Without them it stops with one line saying what is missing, exit status 3: our CI machines
have the docker client but no engine, so `make kind-verify` is never part of `make test`.
The clusters are left running for inspection; `--delete` removes them at the end.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from labsim.provisioners.kind.config import cilium_values, kind_config, kind_name, mesh_clusters, problems
from labsim.provisioners.lab.load import LabFileError, load_lab

FEATURE_MARKS = "mesh or talos or ceph"


def missing_prerequisites(which=shutil.which, run=subprocess.run) -> str | None:
    """None when Docker's engine answers and kind, kubectl, cilium and helm are on PATH, else one line why not."""
    if which("docker") is None:
        return "the kind tier needs Docker: no docker client on PATH"
    try:
        info = run(["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"the kind tier needs a running Docker engine: docker info failed ({exc})"
    if info.returncode != 0:
        why = (info.stderr or info.stdout).strip().splitlines()
        return f"the kind tier needs a running Docker engine: docker info failed ({why[-1] if why else 'no output'})"
    absent = [t for t in ("kind", "kubectl", "cilium") if which(t) is None]
    if absent:
        return f"the kind tier needs {', '.join(absent)} on PATH"
    return None


def write_configs(lab, workdir: Path) -> dict[str, dict[str, Path]]:
    workdir.mkdir(parents=True, exist_ok=True)
    out = {}
    for name in mesh_clusters(lab):
        k, v = workdir / f"kind-{kind_name(lab, name)}.yaml", workdir / f"cilium-{kind_name(lab, name)}.yaml"
        k.write_text(yaml.safe_dump(kind_config(lab, name), sort_keys=False))
        v.write_text(yaml.safe_dump(cilium_values(lab, name), sort_keys=False))
        out[name] = {"kind": k, "values": v, "kubeconfig": workdir / f"{kind_name(lab, name)}.kubeconfig"}
    return out


def _sh(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    print("+ " + " ".join(cmd), flush=True)
    return subprocess.run(cmd, check=True, **kw)


def build_mesh(lab, files: dict[str, dict[str, Path]]) -> None:
    names = list(files)
    for name in names:
        _sh(["kind", "create", "cluster", "--name", kind_name(lab, name), "--config", str(files[name]["kind"]),
             "--kubeconfig", str(files[name]["kubeconfig"]), "--wait", "0s"])   # no CNI yet: nodes stay NotReady
    ctx = {n: f"kind-{kind_name(lab, n)}" for n in names}
    kube = {n: ["kubectl", "--kubeconfig", str(files[n]["kubeconfig"]), "--context", ctx[n]] for n in names}
    first = names[0]
    for i, name in enumerate(names):
        if i > 0:   # the mesh needs one CA: copy the first cluster's cilium-ca before installing
            secret = _sh(kube[first] + ["get", "secret", "-n", "kube-system", "cilium-ca", "-o", "json"],
                         capture_output=True, text=True).stdout
            data = json.loads(secret)
            data["metadata"] = {"name": "cilium-ca", "namespace": "kube-system"}
            _sh(kube[name] + ["create", "-f", "-"], input=json.dumps(data), text=True)
        version = lab.cluster(name).cilium.version
        _sh(["cilium", "install", "--kubeconfig", str(files[name]["kubeconfig"]), "--context", ctx[name],
             "--version", version, "--values", str(files[name]["values"])])
    for name in names:
        _sh(["cilium", "status", "--kubeconfig", str(files[name]["kubeconfig"]), "--context", ctx[name], "--wait"])
    merged = ":".join(str(files[n]["kubeconfig"]) for n in names)
    for other in names[1:]:
        _sh(["cilium", "clustermesh", "connect", "--context", ctx[first], "--destination-context", ctx[other]],
            env={**__import__("os").environ, "KUBECONFIG": merged})
    for name in names:
        _sh(["cilium", "clustermesh", "status", "--kubeconfig", str(files[name]["kubeconfig"]),
             "--context", ctx[name], "--wait"])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m labsim.provisioners.kind")
    sub = p.add_subparsers(dest="command", required=True)
    v = sub.add_parser("verify", help="build the mesh in kind and run the cluster and mesh features against it")
    v.add_argument("labfile")
    v.add_argument("--workdir", default="kind", help="where configs and kubeconfigs go (default ./kind)")
    v.add_argument("--dry-run", action="store_true", help="write the configs and stop")
    v.add_argument("--delete", action="store_true", help="delete the kind clusters at the end")
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = argv[argv.index("--") + 1:] if "--" in argv else []   # after --: extra pytest arguments
    args = p.parse_args(argv[: len(argv) - len(extra) - (1 if "--" in argv else 0)])
    try:
        lab = load_lab(args.labfile)
        bad = problems(lab)
    except (LabFileError, ValueError) as exc:
        print(f"kind tier: {args.labfile}: {exc}", file=sys.stderr)
        return 2
    if bad:
        print("kind tier: " + "; ".join(bad), file=sys.stderr)
        return 2
    why = None if args.dry_run else missing_prerequisites()
    if why:
        print(f"kind tier not run: {why}", file=sys.stderr)
        return 3
    files = write_configs(lab, Path(args.workdir))
    print(f"kind tier: configs for {', '.join(files)} written to {args.workdir}/", flush=True)
    if args.dry_run:
        return 0
    build_mesh(lab, files)
    rc = subprocess.run([sys.executable, "-m", "pytest", "features/", "--lab", args.labfile, "--target", "kind",
                         "--kind-dir", args.workdir, "-m", FEATURE_MARKS, *extra]).returncode
    if args.delete:
        for name in files:
            subprocess.run(["kind", "delete", "cluster", "--name", kind_name(lab, name)])
    return rc


if __name__ == "__main__":
    sys.exit(main())
