"""The fake `helm` (Helm 3.16): repositories, install / upgrade --install, list, history, status, get, show, search,
uninstall, template, against the cluster's Kubernetes API through the kubeconfig, as the real helm works.

    helm repo add cilium https://helm.cilium.io/ | repo update | repo list [-o json|yaml]
    helm search repo [KEYWORD] [--versions] [-o json|yaml]   helm show values|chart|readme|all REPO/CHART [--version V]
    helm upgrade --install cilium cilium/cilium --version 1.18.5 -n kube-system -f values.yaml --set k=v
         [--wait --timeout 5m] [--kubeconfig F] [--create-namespace]
         [--reuse-values | --reset-then-reuse-values | --reset-values]
    helm list [-n NS | -A] [-a] [-o json|yaml] | history NAME [--max N] [-o json|yaml] | status NAME
    helm get values|manifest|notes|all NAME [-a] [-o json] | uninstall NAME | template NAME CHART

The command line is parsed on the cobra model (labsim/fakes/tools/cobra.py, the tree in labsim/fakes/tools/helm_tree.py);
helm's root has SilenceUsage, so an error prints as cobra prints it: `Error: <message>` on stderr, and for an unknown
command also `Run 'helm --help' for usage.`; exit 1. Times print as Go prints them (time.Time.String() in `list`,
ANSIC in `history` and `status`). Waits (`--wait`) poll every 2 s of the lab's time through the control API
(`clock/sleep`): virtual time in CI.
"""
from __future__ import annotations

import functools
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from labsim import fastyaml
from labsim.fakes.tools import client, helm_certs, helm_charts, helm_values, kubecontexts
from labsim.fakes.tools import helm_release as R
from labsim.fakes.tools import cobra as C
from labsim.fakes.tools.gofmt import ansic, go_time_string, parse_duration, rfc3339nano
from labsim.fakes.tools.kubeapi import Kube, KubeConfigError, KubeError

VERSION = "v3.16.4"
GIT_COMMIT = "7877b45b63f95635153b29a42c0c2f4273ec45ca"
POLL = 2.0


class HelmError(Exception):
    pass


# --- lab time: virtual in a simulated lab, the wall clock elsewhere ---------------------------------------------
def _now() -> float:
    if os.environ.get("LABSIM_CONTROL_URL"):
        return client.now()
    return time.time() - R.EPOCH.timestamp()


def _sleep(seconds: float) -> None:
    if os.environ.get("LABSIM_CONTROL_URL"):
        client.sleep(seconds)
    else:
        time.sleep(seconds)


# --- repositories --------------------------------------------------------------------------------------------------
def repo_file() -> Path:
    if os.environ.get("HELM_REPOSITORY_CONFIG"):
        return Path(os.environ["HELM_REPOSITORY_CONFIG"])
    home = os.environ.get("HELM_CONFIG_HOME") or os.path.join(
        os.environ.get("XDG_CONFIG_HOME") or os.path.join(str(Path.home()), ".config"), "helm")
    return Path(home) / "repositories.yaml"


def repos() -> dict[str, str]:
    try:
        doc = yaml.safe_load(repo_file().read_text()) or {}
    except FileNotFoundError:
        return {}
    return {r["name"]: r["url"] for r in doc.get("repositories") or []}


def save_repos(entries: dict[str, str]) -> None:
    path = repo_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {"apiVersion": "", "generated": "0001-01-01T00:00:00Z", "repositories": [
        {"caFile": "", "certFile": "", "insecure_skip_tls_verify": False, "keyFile": "", "name": n,
         "pass_credentials_all": False, "password": "", "url": u, "username": ""} for n, u in entries.items()]}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def cmd_repo_add(a, g) -> int:
    entries = repos()
    if helm_charts.find(a.url) is None:
        raise HelmError(f'looks like "{a.url}" is not a valid chart repository or cannot be reached: Get '
                        f'"{a.url.rstrip("/")}/index.yaml": dial tcp: lookup: no such host')
    if a.name in entries and not a.force_update:
        if helm_charts.normalize(entries[a.name]) == helm_charts.normalize(a.url):
            print(f'"{a.name}" already exists with the same configuration, skipping')
            return 0
        raise HelmError(f"repository name ({a.name}) already exists, please specify a different name")
    entries[a.name] = a.url
    save_repos(entries)
    print(f'"{a.name}" has been added to your repositories')
    return 0


def cmd_repo_update(a, g) -> int:
    entries = repos()
    if not entries:
        raise HelmError("no repositories found. You must add one before updating")
    for name in a.args:
        if name not in entries:
            raise HelmError(f"no repositories found matching '{name}'.  Nothing will be updated")
    print("Hang tight while we grab the latest from your chart repositories...")
    for name in (a.args or entries):
        print(f'...Successfully got an update from the "{name}" chart repository')
    print("Update Complete. ⎈Happy Helming!⎈")
    return 0


def cmd_repo_list(a, g) -> int:
    entries = repos()
    if not entries:
        raise HelmError("no repositories to show")
    rows = [{"name": n, "url": u} for n, u in entries.items()]
    _write(a.output, rows, [["NAME", "URL"]] + [[n, u] for n, u in entries.items()])
    return 0


def cmd_repo_remove(a, g) -> int:
    entries = repos()
    if not entries:
        raise HelmError("no repositories configured")
    for name in a.args:
        if name not in entries:
            raise HelmError(f"no repo named \"{name}\" found")
        del entries[name]
        save_repos(entries)
        print(f'"{name}" has been removed from your repositories')
    return 0


def _write(fmt: str, data: Any, rows: list[list[str]] | None) -> None:
    """helm's output.Write: a uitable, or the data as JSON (compact) or YAML (sigs.k8s.io/yaml)."""
    if fmt == "json":
        print(json.dumps(data, separators=(",", ":")))
    elif fmt == "yaml":
        print(yaml.safe_dump(data, sort_keys=True), end="")
    elif rows is not None:
        print(_uitable(rows))


def resolve_chart(ref: str, version: str | None, repo_url: str | None) -> tuple[helm_charts.Chart, str]:
    if repo_url:
        charts, name = helm_charts.find(repo_url) or {}, ref
    else:
        if "/" not in ref:
            raise HelmError(f"non-absolute URLs should be in form of repo_name/path_to_chart, got: {ref}")
        repo, name = ref.split("/", 1)
        url = repos().get(repo)
        if url is None:
            raise HelmError(f"repo {repo} not found")
        charts = helm_charts.find(url) or {}
    chart = charts.get(name)
    if chart is None:
        raise HelmError(f'chart "{name}" not found in {ref.split("/", 1)[0]} index. (try \'helm repo update\')')
    want = (version or chart.versions[-1]).lstrip("v")
    if want not in chart.versions:
        raise HelmError(f'chart "{name}" matching {version} not found in {ref.split("/", 1)[0]} index. '
                        f"(try 'helm repo update'): no chart version found for {name}-{version}")
    return chart, want


# --- install / upgrade -------------------------------------------------------------------------------------------
def _kube(g: dict[str, Any]) -> Kube:
    """The cluster helm talks to: `--kubeconfig`, else every file `KUBECONFIG` lists (client-go merges them: the
    first that defines the context wins), else ~/.kube/config."""
    try:
        ctx = kubecontexts.resolve(g.get("kube_context"), g.get("kubeconfig"))
        return Kube(ctx.path, ctx.name)
    except KubeConfigError as exc:
        msg = str(exc)
        raise HelmError(msg if msg.startswith("Kubernetes cluster unreachable") else
                        f"Kubernetes cluster unreachable: {msg}") from None


def _render(chart: helm_charts.Chart, version: str, user: dict[str, Any], name: str, ns: str,
            kube: Kube) -> list[dict[str, Any]]:
    existing = kube.get("Secret", "cilium-ca", ns)   # the chart's `lookup`: keep the CA across upgrades
    ca = {k: existing["data"][k] for k in ("ca.crt", "ca.key")} if existing and \
        {"ca.crt", "ca.key"} <= set(existing.get("data") or {}) else helm_certs.gen_ca()
    from labsim.fakes.cilium.chart import ChartError
    try:
        return chart.render(chart.values(user), release=name, namespace=ns, version=version, ca=ca,
                            issue=helm_certs.issuer(ca, "mesh.cilium.io"))
    except ChartError as exc:
        raise HelmError(str(exc)) from None


def _ready(kube: Kube, obj: dict[str, Any]) -> bool:
    """helm 3's readiness (pkg/kube/ready.go): rollouts may still be missing maxUnavailable pods."""
    cur = kube.get(obj["kind"], obj["metadata"]["name"], obj["metadata"].get("namespace"))
    if cur is None:
        return False
    st, spec = cur.get("status") or {}, cur.get("spec") or {}
    if obj["kind"] == "DaemonSet":
        desired = int(st.get("desiredNumberScheduled", 0))
        unavailable = int(((spec.get("updateStrategy") or {}).get("rollingUpdate") or {}).get("maxUnavailable", 1))
        return int(st.get("numberReady", 0)) >= desired - unavailable
    if obj["kind"] == "Deployment":
        replicas = int(spec.get("replicas", 1))
        raw = ((spec.get("strategy") or {}).get("rollingUpdate") or {}).get("maxUnavailable", "25%")
        unavailable = int(replicas * int(raw[:-1]) / 100) if isinstance(raw, str) and raw.endswith("%") else int(raw)
        return int(st.get("readyReplicas", 0)) >= replicas - unavailable
    return True


def _wait(kube: Kube, objs: list[dict[str, Any]], timeout: float) -> bool:
    start = _now()
    while True:
        if all(_ready(kube, o) for o in objs):
            return True
        if _now() - start >= timeout:
            return False
        _sleep(POLL)


def _upgrade_values(a, old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The user values of an upgrade, as helm 3 (pkg/action/upgrade.go reuseValues) decides them:
    --reset-values: only the new ones; --reuse-values: the last release's with the new merged over them;
    --reset-then-reuse-values (3.14+): the same, over the new chart's defaults rather than the old chart's (here
    every render uses the chart's current defaults, so both merge alike); none of these and no new values at
    all: the last release's values are copied ("copying values from ... to new release")."""
    if a.reset_values:
        return new
    if a.reuse_values or a.reset_then_reuse_values:
        return helm_values.deep_merge(old, new)
    return new if (a.values or a.set or a.set_string) else dict(old)


def install(a, g: dict[str, Any], upgrade: bool) -> int:
    verb = "UPGRADE" if upgrade else "INSTALLATION"
    try:
        return _install(a, g, upgrade)
    except (HelmError, helm_values.ValuesError) as exc:
        raise HelmError(f"{verb} FAILED: {exc}") from None
    except KubeError as exc:
        raise HelmError(f"{verb} FAILED: {exc.message}") from None


def _install(a, g: dict[str, Any], upgrade: bool) -> int:
    kube = _kube(g)
    ns = g.get("namespace") or kube.namespace
    chart, version = resolve_chart(a.chart, a.version, a.repo)
    user = helm_values.user_values(a.values, a.set, a.set_string)
    last = R.latest(kube, a.name, ns)
    if last is not None and last["info"]["status"] == "uninstalled":
        last = None
    if not upgrade and last is not None:
        raise HelmError("cannot re-use a name that is still in use")
    if upgrade and last is None and not a.install:
        raise HelmError(f'"{a.name}" has no deployed releases')
    if upgrade and last is not None:
        user = _upgrade_values(a, last.get("config") or {}, user)
    if kube.get("Namespace", ns) is None:
        if not a.create_namespace:
            raise HelmError(f'create: failed to create: namespaces "{ns}" not found')
        kube.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    objs = _render(chart, version, user, a.name, ns, kube)
    if upgrade and last is None:
        print(f'Release "{a.name}" does not exist. Installing it now.')
    for obj in objs:
        kube.apply(obj)
    rev = 1 if last is None else int(last["version"]) + 1
    if last is not None:
        keep = {(o["kind"], o["metadata"]["name"]) for o in objs}
        for old in fastyaml.load_all(last.get("manifest") or ""):
            if old and (old["kind"], old["metadata"]["name"]) not in keep:
                kube.delete(old["kind"], old["metadata"]["name"], old["metadata"].get("namespace"))
        R.supersede(kube, last)
    now = R.lab_time(_now())
    release = {"name": a.name, "namespace": ns, "version": rev,
               "info": {"first_deployed": (last or {}).get("info", {}).get("first_deployed", now.isoformat()),
                        "last_deployed": now.isoformat(), "deleted": "", "status": "deployed",
                        "description": "Upgrade complete" if last else "Install complete",
                        "notes": chart.notes.format(version=version, minor=".".join(version.split(".")[:2]))},
               "chart": {"metadata": {"name": chart.name, "version": version, "appVersion": version,
                                      "description": chart.description, "apiVersion": "v2"}},
               "config": user, "manifest": R.manifest(objs)}
    if a.wait and not _wait(kube, objs, parse_duration(a.timeout)):
        release["info"]["status"] = "failed"
        release["info"]["description"] = f'Release "{a.name}" failed: context deadline exceeded'
        R.store(kube, release)
        raise HelmError("context deadline exceeded")
    R.store(kube, release)
    if upgrade and last is not None:
        print(f'Release "{a.name}" has been upgraded. Happy Helming!')
    _print_status(release)
    return 0


def _print_status(r: dict[str, Any], *, description: bool = False, values: bool = False) -> None:
    """statusPrinter.WriteTable (status.go)."""
    text = (f"NAME: {r['name']}\nLAST DEPLOYED: {ansic(_parse(r['info']['last_deployed']))}\n"
            f"NAMESPACE: {r['namespace']}\nSTATUS: {r['info']['status']}\nREVISION: {r['version']}\n")
    if values:
        meta = r["chart"]["metadata"]
        text += f"CHART: {meta['name']}\nVERSION: {meta['version']}\nAPP_VERSION: {meta['appVersion']}\n"
    if description:
        text += f"DESCRIPTION: {r['info']['description']}\n"
    text += "TEST SUITE: None\n"
    if values:
        user = r.get("config") or {}
        text += "USER-SUPPLIED VALUES:\n" + (yaml.safe_dump(user, sort_keys=True) if user else "null\n") + "\n"
        chart = _chart_of(r)
        computed = chart.values(user) if chart else user
        text += "COMPUTED VALUES:\n" + yaml.safe_dump(computed, sort_keys=True) + "\n"
        text += f"HOOKS:\nMANIFEST:\n{r['manifest']}\n"
    text += f"NOTES:\n{r['info']['notes'].strip()}"
    print(text)


def _parse(text: str):
    from datetime import datetime
    return datetime.fromisoformat(text)


def _uitable(rows: list[list[str]], max_width: int = 0) -> str:
    """gosuri/uitable as helm's output.EncodeTable writes it: cells padded to their column's width, separated by a
    tab; with MaxColWidth, longer cells cut to that width with `...`."""
    if max_width:
        rows = [[c if len(c) <= max_width else c[:max_width - 3] + "..." for c in r] for r in rows]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("\t".join(c.ljust(widths[i]) for i, c in enumerate(r)) for r in rows)


# --- queries -------------------------------------------------------------------------------------------------------
def _list_entry(r: dict[str, Any]) -> dict[str, str]:
    return {"name": r["name"], "namespace": r["namespace"], "revision": str(r["version"]),
            "updated": go_time_string(_parse(r["info"]["last_deployed"])), "status": r["info"]["status"],
            "chart": f"{r['chart']['metadata']['name']}-{r['chart']['metadata']['version']}",
            "app_version": r["chart"]["metadata"]["appVersion"]}


def cmd_list(a, g: dict[str, Any]) -> int:
    kube = _kube(g)
    ns = None if a.all_namespaces else (g.get("namespace") or kube.namespace)
    rels = [r for r in R.all_releases(kube, ns) if r["info"]["status"] == "deployed" or a.all]
    entries = [_list_entry(r) for r in rels]
    if a.short and a.output == "table":
        for e in entries:
            print(e["name"])
        return 0
    if a.output == "json":
        print(json.dumps(entries, separators=(",", ":")))
    elif a.output == "yaml":
        print(yaml.safe_dump(entries, sort_keys=False), end="")
    else:
        head = ["NAME", "NAMESPACE", "REVISION", "UPDATED", "STATUS", "CHART", "APP VERSION"]
        keys = ["name", "namespace", "revision", "updated", "status", "chart", "app_version"]
        rows = ([] if a.no_headers else [head]) + [[e[k] for k in keys] for e in entries]
        if rows:
            print(_uitable(rows))
    return 0


def _release(g: dict[str, Any], name: str, revision: int = 0) -> tuple[Kube, dict[str, Any]]:
    kube = _kube(g)
    if revision:
        r = next((x for x in R.history(kube, name, g.get("namespace") or kube.namespace)
                  if int(x["version"]) == revision), None)
        if r is None:
            raise HelmError("release: not found")
        return kube, r
    r = R.latest(kube, name, g.get("namespace") or kube.namespace)
    if r is None or r["info"]["status"] == "uninstalled":
        raise HelmError("release: not found")
    return kube, r


def cmd_status(a, g: dict[str, Any]) -> int:
    _, r = _release(g, a.name, a.revision)
    if a.output == "json":
        print(json.dumps(r, separators=(",", ":")))
    elif a.output == "yaml":
        print(yaml.safe_dump(r, sort_keys=True), end="")
    else:
        _print_status(r, description=a.show_desc)
    return 0


def cmd_get(a, g: dict[str, Any]) -> int:
    """get values|manifest|notes|all (get_values.go, get_manifest.go, get_notes.go, get_all.go)."""
    _, r = _release(g, a.name, a.get("revision") or 0)
    what = a["_what"]
    if what == "manifest":
        print(r["manifest"], end="")
        return 0
    if what == "notes":
        print(f"NOTES:\n{r['info']['notes'].strip()}")
        return 0
    values = r.get("config") or {}
    if a.get("all"):
        values = _chart_of(r).values(values) if _chart_of(r) else values
    if what == "all":
        _print_status(r, values=True)
        return 0
    if a.output == "json":
        print(json.dumps(values, separators=(",", ":")))
    elif a.output == "yaml" and values:
        print(yaml.safe_dump(values, sort_keys=True), end="")
    else:
        print("COMPUTED VALUES:" if a.get("all") else "USER-SUPPLIED VALUES:")
        print(yaml.safe_dump(values, sort_keys=True) if values else "null", end="" if values else "\n")
    return 0


def _chart_of(r: dict[str, Any]) -> helm_charts.Chart | None:
    return next((c for charts in helm_charts.REPOSITORIES.values() for n, c in charts.items()
                 if n == r["chart"]["metadata"]["name"]), None)


def cmd_history(a, g: dict[str, Any]) -> int:
    """history (history.go): the newest `--max` revisions, oldest first; UPDATED in time.ANSIC."""
    kube = _kube(g)
    hist = R.history(kube, a.name, g.get("namespace") or kube.namespace)
    if not hist:
        raise HelmError("release: not found")
    hist = hist[-a.max:] if a.max > 0 else []
    entries = [{"revision": r["version"], "updated": rfc3339nano(_parse(r["info"]["last_deployed"])),
                "status": r["info"]["status"],
                "chart": f"{r['chart']['metadata']['name']}-{r['chart']['metadata']['version']}",
                "app_version": r["chart"]["metadata"]["appVersion"], "description": r["info"]["description"]}
               for r in hist]
    rows = [["REVISION", "UPDATED", "STATUS", "CHART", "APP VERSION", "DESCRIPTION"]] + [
        [str(e["revision"]), ansic(_parse(r["info"]["last_deployed"])), e["status"], e["chart"], e["app_version"],
         e["description"]] for e, r in zip(entries, hist)]
    _write(a.output, entries, rows)
    return 0


def cmd_search_repo(a, g: dict[str, Any]) -> int:
    """search repo (search_repo.go): the charts of the repositories added, by `repo/chart`, their latest version
    (every version with --versions); a keyword matches the name or the description, case-insensitively."""
    entries = repos()
    if not entries:
        raise HelmError("no repositories configured")
    term = " ".join(a.args).lower()
    results = []
    for repo, url in sorted(entries.items()):
        for name, chart in sorted((helm_charts.find(url) or {}).items()):
            full = f"{repo}/{name}"
            if term and term not in full.lower() and term not in chart.description.lower():
                continue
            versions = list(reversed(chart.versions)) if a.versions else [chart.versions[-1]]
            if a.version:
                versions = [v for v in versions if _satisfies(v, a.version)]
            results += [{"name": full, "version": v, "app_version": v, "description": chart.description}
                        for v in versions]
    if not results and a.output == "table":
        if a.fail_on_no_result:
            raise HelmError("no results found")
        print("No results found")
        return 0
    rows = [["NAME", "CHART VERSION", "APP VERSION", "DESCRIPTION"]] + [
        [r["name"], r["version"], r["app_version"], r["description"]] for r in results]
    if a.output == "table":
        print(_uitable(rows, a.max_col_width))
    else:
        _write(a.output, results, None)
    return 0


def _satisfies(version: str, constraint: str) -> bool:
    """The semver constraints a search or show uses most: an exact version, `>=X`, `^X`, `~X` (same minor)."""
    want = constraint.strip().lstrip("=v")
    parts = lambda v: tuple(int(x) for x in v.lstrip("v").split(".")[:3])  # noqa: E731
    try:
        if want.startswith(">="):
            return parts(version) >= parts(want[2:])
        if want.startswith("^"):
            return parts(version)[0] == parts(want[1:])[0] and parts(version) >= parts(want[1:])
        if want.startswith("~"):
            return parts(version)[:2] == parts(want[1:])[:2] and parts(version) >= parts(want[1:])
        return parts(version) == parts(want)
    except ValueError:
        return False


def cmd_show(a, g: dict[str, Any]) -> int:
    """show values|chart|readme|crds|all (show.go): from the chart the repository holds."""
    chart, version = resolve_chart(a.chart, a.version or None, a.repo or None)
    what = a["_what"]
    meta = {"apiVersion": "v2", "appVersion": version, "description": chart.description, "name": chart.name,
            "version": version}
    parts = []
    if what in ("chart", "all"):
        parts.append(yaml.safe_dump(meta, sort_keys=True))
    if what in ("values", "all"):
        parts.append(yaml.safe_dump(chart.defaults, sort_keys=False))
    if what in ("readme", "all"):
        parts.append(f"# {chart.name}\n\n{chart.description}\n")
    if what == "crds":
        parts = []
    print("---\n".join(parts) if what == "all" else "".join(parts), end="")
    return 0


def cmd_uninstall(a, g: dict[str, Any]) -> int:
    kube, r = _release(g, a.name)
    for obj in reversed([o for o in fastyaml.load_all(r.get("manifest") or "") if o]):
        kube.delete(obj["kind"], obj["metadata"]["name"], obj["metadata"].get("namespace"))
    for s in kube.list("Secret", r["namespace"], f"owner=helm,name={a.name}"):
        kube.delete("Secret", s["metadata"]["name"], r["namespace"])
    print(f'release "{a.name}" uninstalled')
    return 0


def cmd_template(a, g: dict[str, Any]) -> int:
    chart, version = resolve_chart(a.chart, a.version, a.repo)
    user = helm_values.user_values(a.values, a.set, a.set_string)
    ca = helm_certs.gen_ca()
    from labsim.fakes.cilium.chart import ChartError
    try:
        objs = chart.render(chart.values(user), release=a.name, namespace=g.get("namespace") or "default",
                            version=version, ca=ca, issue=helm_certs.issuer(ca, "mesh.cilium.io"))
    except ChartError as exc:
        raise HelmError(str(exc)) from None
    print(yaml.safe_dump_all(objs, sort_keys=False, explicit_start=True), end="")
    return 0




# --- the command line ----------------------------------------------------------------------------------------------
@functools.cache
def tree() -> C.Command:
    """The command tree, built once per process: the tools' zygote builds it before it forks (warm())."""
    from labsim.fakes.tools.helm_tree import commands
    return commands()


def warm() -> None:
    """What the zygote (labsim/fakes/tools/zygote.py) does once, so that no run pays for it."""
    from labsim.fakes.cilium.chart import rbac_data
    tree()
    rbac_data()      # the Cilium chart's RBAC, read by every install and upgrade of it


def upgrade_args(argv: list[str]) -> C.Args:
    """The parsed command line of `helm upgrade NAME CHART ...` (for cilium-cli, which upgrades with helm's
    library as the real one does)."""
    _, a = C.execute(tree(), ["upgrade", *argv])
    a["name"], a["chart"] = a.args[0], a.args[1]
    return a


def cmd_version(a, g) -> int:
    print(f"{VERSION}+g{GIT_COMMIT[:7]}" if a.short else
          f'version.BuildInfo{{Version:"{VERSION}", GitCommit:"{GIT_COMMIT}", GitTreeState:"clean", '
          f'GoVersion:"go1.22.7"}}')
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    root = tree()
    from labsim.fakes.tools.helm_tree import root_flags
    root.persistent = root_flags()      # their defaults follow this run's environment (HELM_NAMESPACE, paths)
    try:
        cmd, a = C.execute(root, argv)
    except C.ShowHelp as h:
        print(h.text, end="", file=sys.stderr if h.stderr else sys.stdout)
        return 0
    except C.UsageError as exc:     # cobra prints it (helm's root has SilenceUsage, not SilenceErrors)
        print(f"Error: {exc}", file=sys.stderr)
        if exc.stage == "find":
            print(f"Run '{exc.cmd.path()} --help' for usage.", file=sys.stderr)
        return 1
    g = {"namespace": a.namespace or None, "kubeconfig": a.kubeconfig or None, "kube_context": a.kube_context or None}
    try:
        return cmd.run(a, g) or 0
    except (HelmError, KubeError, client.ControlUnavailable, client.RpcError) as exc:   # str(KubeError): its message
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    except C.NotSimulated as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
