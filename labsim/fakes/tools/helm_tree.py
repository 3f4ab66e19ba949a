"""helm 3.16's command tree on the cobra model: every top-level command, the Use/Short/Long/Aliases/Args and flags of the
ones the simulated lab runs (labsim/fakes/tools/helm.py), and the others, whose help prints and whose run says they are
not simulated.

Sources: helm/helm v3.16.4 cmd/helm/*.go (each command's cobra.Command and its flags), cmd/helm/flags.go
(addValueOptionsFlags, addChartPathOptionsFlags, bindOutputFlag, bindPostRenderFlag), cmd/helm/require/args.go
(helm's own argument errors: `"helm status" requires 1 argument\\n\\nUsage:  helm status RELEASE_NAME [flags]`),
pkg/cli/environment.go (AddFlags: the root's persistent flags), pkg/helmpath (where the paths default to). The Long
texts are data: labsim/fakes/tools/helm_texts.json.
"""
from __future__ import annotations

import json
import os
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from labsim.fakes.tools import cobra as C
from labsim.fakes.tools.pflag import Flag

TEXTS = Path(__file__).with_name("helm_texts.json")
MODULE = "labsim/fakes/tools/helm.py"


@cache
def texts() -> dict[str, str]:
    return json.loads(TEXTS.read_text())


# --- helm's argument validators (cmd/helm/require/args.go) ---------------------------------------------------------
def _plural(n: int) -> str:
    return "argument" if n == 1 else "arguments"


def no_args(cmd: C.Command, args: list[str]) -> str | None:
    return f'"{cmd.path()}" accepts no arguments\n\nUsage:  {cmd.use_line()}' if args else None


def exact(n: int) -> C.Validator:
    return lambda cmd, args: (None if len(args) == n else
                              f'"{cmd.path()}" requires {n} {_plural(n)}\n\nUsage:  {cmd.use_line()}')


def minimum(n: int) -> C.Validator:
    return lambda cmd, args: (None if len(args) >= n else
                              f'"{cmd.path()}" requires at least {n} {_plural(n)}\n\nUsage:  {cmd.use_line()}')


def maximum(n: int) -> C.Validator:
    return lambda cmd, args: (None if len(args) <= n else
                              f'"{cmd.path()}" accepts at most {n} {_plural(n)}\n\nUsage:  {cmd.use_line()}')


# --- where helm keeps its files (pkg/helmpath, lazypath) ----------------------------------------------------------------
def _home(kind: str) -> Path:
    env = {"config": ("HELM_CONFIG_HOME", "XDG_CONFIG_HOME", ".config"),
           "cache": ("HELM_CACHE_HOME", "XDG_CACHE_HOME", ".cache")}[kind]
    if os.environ.get(env[0]):
        return Path(os.environ[env[0]])
    base = os.environ.get(env[1]) or str(Path.home() / env[2])
    return Path(base) / "helm"


def paths() -> dict[str, str]:
    return {"registry-config": os.environ.get("HELM_REGISTRY_CONFIG") or
            str(_home("config") / "registry" / "config.json"),
            "repository-config": os.environ.get("HELM_REPOSITORY_CONFIG") or str(_home("config") / "repositories.yaml"),
            "repository-cache": os.environ.get("HELM_REPOSITORY_CACHE") or str(_home("cache") / "repository")}


def root_flags() -> list[Flag]:
    """EnvSettings.AddFlags: persistent on the root; path defaults follow the environment of this run."""
    p = paths()
    return [
        Flag("burst-limit", "int", 100, "client-side default throttling limit"),
        Flag("debug", "bool", False, "enable verbose output"),
        Flag("kube-apiserver", "string", "", "the address and the port for the Kubernetes API server"),
        Flag("kube-as-group", "stringArray", [], "group to impersonate for the operation, this flag can be repeated "
             "to specify multiple groups."),
        Flag("kube-as-user", "string", "", "username to impersonate for the operation"),
        Flag("kube-ca-file", "string", "", "the certificate authority file for the Kubernetes API server connection"),
        Flag("kube-context", "string", os.environ.get("HELM_KUBECONTEXT", ""), "name of the kubeconfig context to use"),
        Flag("kube-insecure-skip-tls-verify", "bool", False, "if true, the Kubernetes API server's certificate will "
             "not be checked for validity. This will make your HTTPS connections insecure"),
        Flag("kube-tls-server-name", "string", "", "server name to use for Kubernetes API server certificate "
             "validation. If it is not provided, the hostname used to contact the server is used"),
        Flag("kube-token", "string", "", "bearer token used for authentication"),
        Flag("kubeconfig", "string", "", "path to the kubeconfig file"),
        Flag("namespace", "string", os.environ.get("HELM_NAMESPACE", ""), "namespace scope for this request", "n"),
        Flag("qps", "float32", 0.0, "queries per second used when communicating with the Kubernetes API, not "
             "including bursting"),
        Flag("registry-config", "string", p["registry-config"], "path to the registry config file"),
        Flag("repository-cache", "string", p["repository-cache"], "path to the directory containing cached "
             "repository indexes"),
        Flag("repository-config", "string", p["repository-config"], "path to the file containing repository names "
             "and URLs"),
    ]


# --- shared flag sets (cmd/helm/flags.go, install.go, upgrade.go) -----------------------------------------------------------
def output_flag() -> Flag:
    return Flag("output", "enum", "table", "prints the output in the specified format. Allowed values: table, json, "
                "yaml", "o", choices=("table", "json", "yaml"), value_type="format", invalid="invalid format type")


def value_flags() -> list[Flag]:
    return [
        Flag("values", "stringSlice", [], "specify values in a YAML file or a URL (can specify multiple)", "f"),
        Flag("set", "stringArray", [], "set values on the command line (can specify multiple or separate values with "
             "commas: key1=val1,key2=val2)"),
        Flag("set-string", "stringArray", [], "set STRING values on the command line (can specify multiple or "
             "separate values with commas: key1=val1,key2=val2)"),
        Flag("set-file", "stringArray", [], "set values from respective files specified via the command line (can "
             "specify multiple or separate values with commas: key1=path1,key2=path2)"),
        Flag("set-json", "stringArray", [], "set JSON values on the command line (can specify multiple or separate "
             "values with commas: key1=jsonval1,key2=jsonval2)"),
        Flag("set-literal", "stringArray", [], "set a literal STRING value on the command line"),
    ]


def chart_path_flags() -> list[Flag]:
    keyring = str(Path(os.environ.get("GNUPGHOME") or Path.home() / ".gnupg") / "pubring.gpg")
    return [
        Flag("version", "string", "", "specify a version constraint for the chart version to use. This constraint "
             "can be a specific tag (e.g. 1.1.1) or it may reference a valid range (e.g. ^2.0.0). If this is not "
             "specified, the latest version is used"),
        Flag("verify", "bool", False, "verify the package before using it"),
        Flag("keyring", "string", keyring, "location of public keys used for verification"),
        Flag("repo", "string", "", "chart repository url where to locate the requested chart"),
        Flag("username", "string", "", "chart repository username where to locate the requested chart"),
        Flag("password", "string", "", "chart repository password where to locate the requested chart"),
        Flag("cert-file", "string", "", "identify HTTPS client using this SSL certificate file"),
        Flag("key-file", "string", "", "identify HTTPS client using this SSL key file"),
        Flag("insecure-skip-tls-verify", "bool", False, "skip tls certificate checks for the chart download"),
        Flag("plain-http", "bool", False, "use insecure HTTP connections for the chart download"),
        Flag("ca-file", "string", "", "verify certificates of HTTPS-enabled servers using this CA bundle"),
        Flag("pass-credentials", "bool", False, "pass credentials to all domains"),
    ]


WAIT = ("if set, will wait until all Pods, PVCs, Services, and minimum number of Pods of a Deployment, StatefulSet, "
        "or ReplicaSet are in a ready state before marking the release as successful. It will wait for as long as "
        "--timeout")
DRY_RUN = ("simulate an install. If --dry-run is set with no option being specified or as '--dry-run=client', it will "
           "not attempt cluster connections. Setting '--dry-run=server' allows attempting cluster connections.")
TIMEOUT = "time to wait for any individual Kubernetes operation (like Jobs for hooks)"


def post_render_flags() -> list[Flag]:
    return [Flag("post-renderer", "string", "", "the path to an executable to be used for post rendering. If it "
                 "exists in $PATH, the binary will be used, otherwise it will try to look for the executable at the "
                 "given path", value_type="postRendererString"),
            Flag("post-renderer-args", "stringArray", [], "an argument to the post-renderer (can specify multiple)",
                 value_type="postRendererArgsSlice")]


def install_flags(verb: str = "install") -> list[Flag]:
    """addInstallFlags (install and template)."""
    return [
        Flag("create-namespace", "bool", False, "create the release namespace if not present"),
        Flag("dry-run", "string", "", DRY_RUN, no_opt="client"),
        Flag("force", "bool", False, "force resource updates through a replacement strategy"),
        Flag("no-hooks", "bool", False, "prevent hooks from running during install"),
        Flag("replace", "bool", False, "re-use the given name, only if that name is a deleted release which remains in "
             "the history. This is unsafe in production"),
        Flag("timeout", "duration", "5m0s", TIMEOUT),
        Flag("wait", "bool", False, WAIT),
        Flag("wait-for-jobs", "bool", False, "if set and --wait enabled, will wait until all Jobs have been completed "
             "before marking the release as successful. It will wait for as long as --timeout"),
        Flag("generate-name", "bool", False, "generate the name (and omit the NAME parameter)", "g"),
        Flag("name-template", "string", "", "specify template used to name the release"),
        Flag("description", "string", "", "add a custom description"),
        Flag("devel", "bool", False, "use development versions, too. Equivalent to version '>0.0.0-0'. If --version "
             "is set, this is ignored"),
        Flag("dependency-update", "bool", False, "update dependencies if they are missing before installing the chart"),
        Flag("disable-openapi-validation", "bool", False, "if set, the installation process will not validate "
             "rendered templates against the Kubernetes OpenAPI Schema"),
        Flag("atomic", "bool", False, "if set, the installation process deletes the installation on failure. The "
             "--wait flag will be set automatically if --atomic is used"),
        Flag("skip-crds", "bool", False, "if set, no CRDs will be installed. By default, CRDs are installed if not "
             "already present"),
        Flag("render-subchart-notes", "bool", False, "if set, render subchart notes along with the parent"),
        Flag("skip-schema-validation", "bool", False, "if set, disables JSON schema validation"),
        Flag("labels", "stringToString", {}, "Labels that would be added to release metadata. Should be divided by "
             "comma.", "l"),
        Flag("enable-dns", "bool", False, "enable DNS lookups when rendering templates"),
        Flag("hide-notes", "bool", False, "if set, do not show notes in install output. Does not affect presence in "
             "chart metadata"),
        *value_flags(), *chart_path_flags(),
    ]


def upgrade_flags() -> list[Flag]:
    return [
        Flag("create-namespace", "bool", False, "if --install is set, create the release namespace if not present"),
        Flag("install", "bool", False, "if a release by this name doesn't already exist, run an install", "i"),
        Flag("devel", "bool", False, "use development versions, too. Equivalent to version '>0.0.0-0'. If --version "
             "is set, this is ignored"),
        Flag("dry-run", "string", "", DRY_RUN, no_opt="client"),
        Flag("hide-secret", "bool", False, "hide Kubernetes Secrets when also using the --dry-run flag"),
        Flag("force", "bool", False, "force resource updates through a replacement strategy"),
        Flag("no-hooks", "bool", False, "disable pre/post upgrade hooks"),
        Flag("disable-openapi-validation", "bool", False, "if set, the upgrade process will not validate rendered "
             "templates against the Kubernetes OpenAPI Schema"),
        Flag("skip-crds", "bool", False, "if set, no CRDs will be installed when an upgrade is performed with install "
             "flag enabled. By default, CRDs are installed if not already present, when an upgrade is performed with "
             "install flag enabled"),
        Flag("timeout", "duration", "5m0s", TIMEOUT),
        Flag("reset-values", "bool", False, "when upgrading, reset the values to the ones built into the chart"),
        Flag("reuse-values", "bool", False, "when upgrading, reuse the last release's values and merge in any "
             "overrides from the command line via --set and -f. If '--reset-values' is specified, this is ignored"),
        Flag("reset-then-reuse-values", "bool", False, "when upgrading, reset the values to the ones built into the "
             "chart, apply the last release's values and merge in any overrides from the command line via --set and "
             "-f. If '--reset-values' or '--reuse-values' is specified, this is ignored"),
        Flag("wait", "bool", False, WAIT),
        Flag("wait-for-jobs", "bool", False, "if set and --wait enabled, will wait until all Jobs have been completed "
             "before marking the release as successful. It will wait for as long as --timeout"),
        Flag("atomic", "bool", False, "if set, upgrade process rolls back changes made in case of failed upgrade. The "
             "--wait flag will be set automatically if --atomic is used"),
        Flag("history-max", "int", 10, "limit the maximum number of revisions saved per release. Use 0 for no limit"),
        Flag("cleanup-on-fail", "bool", False, "allow deletion of new resources created in this upgrade when upgrade "
             "fails"),
        Flag("render-subchart-notes", "bool", False, "if set, render subchart notes along with the parent"),
        Flag("hide-notes", "bool", False, "if set, do not show notes in upgrade output. Does not affect presence in "
             "chart metadata"),
        Flag("skip-schema-validation", "bool", False, "if set, disables JSON schema validation"),
        Flag("labels", "stringToString", {}, "Labels that would be added to release metadata. Should be separated by "
             "comma. Original release labels will be merged with upgrade labels. You can unset label using null.",
             "l"),
        Flag("description", "string", "", "add a custom description"),
        Flag("dependency-update", "bool", False, "update dependencies if they are missing before installing the chart"),
        Flag("enable-dns", "bool", False, "enable DNS lookups when rendering templates"),
        *chart_path_flags(), *value_flags(), output_flag(), *post_render_flags(),
    ]


# --- the tree ------------------------------------------------------------------------------------------------------------------
def _h(path: str) -> str:
    return texts().get(path, "")


def _with(fn: Callable, *names: str, what: str | None = None) -> Callable:
    """A run that names its positional arguments (a.name, a.chart, ...) before calling the helm.py function."""
    def run(a: C.Args, g: dict[str, Any]) -> int:
        for name, value in zip(names, a.args):
            a[name] = value
        if what is not None:
            a["_what"] = what
        return fn(a, g)
    return run


def _not_simulated(a: C.Args, g: dict[str, Any]) -> int:
    raise C.NotSimulated(f"helm {a['_path']} is not part of the simulated lab's helm ({MODULE})")


def commands() -> C.Command:
    from labsim.fakes.tools import helm as H
    ns = _not_simulated

    def cmd(use: str, short: str, run: Callable | None = None, path: str = "", **kw: Any) -> C.Command:
        c = C.Command(use, short, run=run, long=_h(path) if path else "", **kw)
        if run is ns:
            c.run = lambda a, g, c=c: ns({**a, "_path": c.path().removeprefix("helm ")}, g)
        return c

    def install(a: C.Args, g: dict[str, Any], upgrade: bool = False) -> int:
        if not upgrade and len(a.args) > 2:
            raise H.HelmError(f"INSTALLATION FAILED: expected at most two arguments, unexpected arguments: "
                              f"{' '.join(a.args[2:])}")
        if not upgrade and len(a.args) == 1:
            raise H.HelmError("INSTALLATION FAILED: must either provide a name or specify --generate-name")
        a["name"], a["chart"] = a.args[0], a.args[1]
        return H.install(a, g, upgrade=upgrade)

    def template(a: C.Args, g: dict[str, Any]) -> int:
        a["name"], a["chart"] = (a.args[0], a.args[1]) if len(a.args) > 1 else ("release-name", a.args[0])
        return H.cmd_template(a, g)

    values_get = [Flag("all", "bool", False, "dump all (computed) values", "a"), output_flag(),
                  Flag("revision", "int", 0, "get the named release with revision")]
    show_sub = lambda use, short, what, path: cmd(  # noqa: E731
        use, short, _with(H.cmd_show, "chart", what=what), path, args=exact(1),
        flags=[Flag("devel", "bool", False, "use development versions, too. Equivalent to version '>0.0.0-0'. If "
                    "--version is set, this is ignored"), *chart_path_flags()]
        + ([Flag("jsonpath", "string", "", "supply a JSONPath expression to filter the output")]
           if what == "values" else []))
    root = C.Command("helm", "The Helm package manager for Kubernetes.", long=_h("helm"), persistent=root_flags())
    root.add(
        cmd("completion", "generate autocompletion scripts for the specified shell", path="helm completion",
            args=no_args, commands=[cmd(sh, f"generate autocompletion script for {sh}", ns, args=no_args)
                                    for sh in ("bash", "fish", "powershell", "zsh")]),
        cmd("create NAME", "create a new chart with the given name", ns, "helm create", args=exact(1)),
        cmd("dependency update|build|list", "manage a chart's dependencies", path="helm dependency",
            aliases=("dep", "dependencies"), args=no_args, commands=[
                cmd("build CHART", "rebuild the charts/ directory based on the Chart.lock file", ns, args=maximum(1)),
                cmd("list CHART", "list the dependencies for the given chart", ns, aliases=("ls",), args=maximum(1)),
                cmd("update CHART", "update charts/ based on the contents of Chart.yaml", ns, aliases=("up",),
                    args=maximum(1))]),
        cmd("env", "helm client environment information", ns, "helm env", args=maximum(1)),
        cmd("get", "download extended information of a named release", path="helm get", args=no_args, commands=[
            cmd("all RELEASE_NAME", "download all information for a named release", _with(H.cmd_get, "name",
                what="all"), "helm get all", args=exact(1), flags=[
                    Flag("revision", "int", 0, "get the named release with revision"),
                    Flag("template", "string", "", "go template for formatting the output, eg: {{.Release.Name}}")]),
            cmd("hooks RELEASE_NAME", "download all hooks for a named release", ns, args=exact(1)),
            cmd("manifest RELEASE_NAME", "download the manifest for a named release",
                _with(H.cmd_get, "name", what="manifest"), "helm get manifest", args=exact(1),
                flags=[Flag("revision", "int", 0, "get the named release with revision")]),
            cmd("metadata RELEASE_NAME", "This command fetches metadata for a given release", ns, args=exact(1)),
            cmd("notes RELEASE_NAME", "download the notes for a named release",
                _with(H.cmd_get, "name", what="notes"), "helm get notes", args=exact(1),
                flags=[Flag("revision", "int", 0, "get the named release with revision")]),
            cmd("values RELEASE_NAME", "download the values file for a named release",
                _with(H.cmd_get, "name", what="values"), "helm get values", args=exact(1), flags=values_get)]),
        cmd("history RELEASE_NAME", "fetch release history", _with(H.cmd_history, "name"), "helm history",
            aliases=("hist",), args=exact(1), flags=[
                Flag("max", "int", 256, "maximum number of revision to include in history"), output_flag()]),
        cmd("install [NAME] [CHART]", "install a chart", install, "helm install", args=minimum(1), flags=[
            *install_flags(), Flag("hide-secret", "bool", False, "hide Kubernetes Secrets when also using the "
                                   "--dry-run flag"), output_flag(), *post_render_flags()]),
        cmd("lint PATH", "examine a chart for possible issues", ns, "helm lint"),
        cmd("list", "list releases", H.cmd_list, "helm list", aliases=("ls",), args=no_args, flags=[
            Flag("short", "bool", False, "output short (quiet) listing format", "q"),
            Flag("no-headers", "bool", False, "don't print headers when using the default output format"),
            Flag("time-format", "string", "", 'format time using golang time formatter. Example: --time-format '
                 '"2006-01-02 15:04:05Z0700"'),
            Flag("date", "bool", False, "sort by release date", "d"),
            Flag("reverse", "bool", False, "reverse the sort order", "r"),
            Flag("all", "bool", False, "show all releases without any filter applied", "a"),
            Flag("uninstalled", "bool", False, "show uninstalled releases (if 'helm uninstall --keep-history' was "
                 "used)"),
            Flag("superseded", "bool", False, "show superseded releases"),
            Flag("uninstalling", "bool", False, "show releases that are currently being uninstalled"),
            Flag("deployed", "bool", False, "show deployed releases. If no other is specified, this will be "
                 "automatically enabled"),
            Flag("failed", "bool", False, "show failed releases"),
            Flag("pending", "bool", False, "show pending releases"),
            Flag("all-namespaces", "bool", False, "list releases across all namespaces", "A"),
            Flag("max", "int", 256, "maximum number of releases to fetch", "m"),
            Flag("offset", "int", 0, "next release index in the list, used to offset from start value"),
            Flag("filter", "string", "", "a regular expression (Perl compatible). Any releases that match the "
                 "expression will be included in the results", "f"),
            Flag("selector", "string", "", "Selector (label query) to filter on, supports '=', '==', and '!='.(e.g. "
                 "-l key1=value1,key2=value2). Works only for secret(default) and configmap storage backends.", "l"),
            output_flag()]),
        cmd("package [CHART_PATH] [...]", "package a chart directory into a chart archive", ns, "helm package"),
        cmd("plugin", "install, list, or uninstall Helm plugins", path="helm plugin", commands=[
            cmd("install [options] <path|url>", "install a Helm plugin", ns, aliases=("add",), args=exact(1)),
            cmd("list", "list installed Helm plugins", ns, aliases=("ls",)),
            cmd("uninstall <plugin>...", "uninstall one or more Helm plugins", ns, aliases=("rm", "remove")),
            cmd("update <plugin>...", "update one or more Helm plugins", ns, aliases=("up",))]),
        cmd("pull [chart URL | repo/chartname] [...]", "download a chart from a repository and (optionally) unpack it "
            "in local directory", ns, "helm pull", aliases=("fetch",), args=minimum(1)),
        cmd("push [chart] [remote]", "push a chart to remote", ns, "helm push", args=minimum(2)),
        cmd("registry", "login to or logout from a registry", path="helm registry", commands=[
            cmd("login [host]", "login to a registry", ns, args=minimum(1)),
            cmd("logout [host]", "logout from a registry", ns, args=minimum(1))]),
        cmd("repo add|remove|list|index|update [ARGS]", "add, list, remove, update, and index chart repositories",
            path="helm repo", args=no_args, commands=[
                cmd("add [NAME] [URL]", "add a chart repository", _with(H.cmd_repo_add, "name", "url"), args=exact(2),
                    flags=[Flag("username", "string", "", "chart repository username"),
                           Flag("password", "string", "", "chart repository password"),
                           Flag("password-stdin", "bool", False, "read chart repository password from stdin"),
                           Flag("force-update", "bool", False, "replace (overwrite) the repo if it already exists"),
                           Flag("no-update", "bool", False, "Ignored. Formerly, it would disabled forced updates. It "
                                "is deprecated by force-update."),
                           Flag("cert-file", "string", "", "identify HTTPS client using this SSL certificate file"),
                           Flag("key-file", "string", "", "identify HTTPS client using this SSL key file"),
                           Flag("ca-file", "string", "", "verify certificates of HTTPS-enabled servers using this CA "
                                "bundle"),
                           Flag("insecure-skip-tls-verify", "bool", False, "skip tls certificate checks for the "
                                "repository"),
                           Flag("allow-deprecated-repos", "bool", False, "by default, this command will not allow "
                                "adding official repos that have been permanently deleted. This disables that "
                                "behavior"),
                           Flag("pass-credentials", "bool", False, "pass credentials to all domains")]),
                cmd("index [DIR]", "generate an index file given a directory containing packaged charts", ns,
                    args=exact(1)),
                cmd("list", "list chart repositories", H.cmd_repo_list, aliases=("ls",), args=no_args,
                    flags=[output_flag()]),
                cmd("remove [REPO1 [REPO2 ...]]", "remove one or more chart repositories", H.cmd_repo_remove,
                    aliases=("rm",), args=minimum(1)),
                cmd("update [REPO1 [REPO2 ...]]", "update information of available charts locally from chart "
                    "repositories", H.cmd_repo_update, "helm repo update", aliases=("up",), args=minimum(0), flags=[
                        Flag("fail-on-repo-update-fail", "bool", False, "update fails if any of the repository updates "
                             "fail")])]),
        cmd("rollback <RELEASE> [REVISION]", "roll back a release to a previous revision", ns, "helm rollback",
            args=minimum(1)),
        cmd("search [keyword]", "search for a keyword in charts", path="helm search", commands=[
            cmd("hub [KEYWORD]", "search for charts in the Artifact Hub or your own hub instance", ns),
            cmd("repo [keyword]", "search repositories for a keyword in charts", H.cmd_search_repo,
                "helm search repo", flags=[
                    Flag("regexp", "bool", False, "use regular expressions for searching repositories you have added",
                         "r"),
                    Flag("versions", "bool", False, "show the long listing, with each version of each chart on its "
                         "own line, for repositories you have added", "l"),
                    Flag("devel", "bool", False, "use development versions (alpha, beta, and release candidate "
                         "releases), too. Equivalent to version '>0.0.0-0'. If --version is set, this is ignored"),
                    Flag("version", "string", "", "search using semantic versioning constraints on repositories you "
                         "have added"),
                    Flag("max-col-width", "int", 50, "maximum column width for output table", value_type="uint"),
                    Flag("fail-on-no-result", "bool", False, "search fails if no results are found"),
                    output_flag()])]),
        cmd("show", "show information of a chart", path="helm show", aliases=("inspect",), args=no_args, commands=[
            show_sub("all [CHART]", "show all information of the chart", "all", "helm show all"),
            show_sub("chart [CHART]", "show the chart's definition", "chart", "helm show chart"),
            show_sub("crds [CHART]", "show the chart's CRDs", "crds", "helm show crds"),
            show_sub("readme [CHART]", "show the chart's README", "readme", "helm show readme"),
            show_sub("values [CHART]", "show the chart's values", "values", "helm show values")]),
        cmd("status RELEASE_NAME", "display the status of the named release", _with(H.cmd_status, "name"),
            "helm status", args=exact(1), flags=[
                Flag("revision", "int", 0, "if set, display the status of the named release with revision"),
                output_flag(),
                Flag("show-desc", "bool", False, "if set, display the description message of the named release"),
                Flag("show-resources", "bool", False, "if set, display the resources of the named release")]),
        cmd("template [NAME] [CHART]", "locally render templates", template, "helm template", args=minimum(1), flags=[
            *install_flags(),
            Flag("show-only", "stringArray", [], "only show manifests rendered from the given templates", "s"),
            Flag("output-dir", "string", "", "writes the executed templates to files in output-dir instead of stdout"),
            Flag("validate", "bool", False, "validate your manifests against the Kubernetes cluster you are currently "
                 "pointing at. This is the same validation performed on an install"),
            Flag("include-crds", "bool", False, "include CRDs in the templated output"),
            Flag("skip-tests", "bool", False, "skip tests from templated output"),
            Flag("is-upgrade", "bool", False, "set .Release.IsUpgrade instead of .Release.IsInstall"),
            Flag("kube-version", "string", "", "Kubernetes version used for Capabilities.KubeVersion"),
            Flag("api-versions", "stringSlice", [], "Kubernetes api versions used for Capabilities.APIVersions", "a"),
            Flag("release-name", "bool", False, "use release name in the output-dir path."),
            *post_render_flags()]),
        cmd("test [RELEASE]", "run tests for a release", ns, args=exact(1)),
        cmd("uninstall RELEASE_NAME [...]", "uninstall a release", _with(H.cmd_uninstall, "name"), "helm uninstall",
            aliases=("del", "delete", "un"), args=minimum(1), flags=[
                Flag("dry-run", "bool", False, "simulate a uninstall"),
                Flag("no-hooks", "bool", False, "prevent hooks from running during uninstallation"),
                Flag("ignore-not-found", "bool", False, 'Treat "release not found" as a successful uninstall'),
                Flag("keep-history", "bool", False, "remove all associated resources and mark the release as deleted, "
                     "but retain the release history"),
                Flag("wait", "bool", False, "if set, will wait until all the resources are deleted before returning. "
                     "It will wait for as long as --timeout"),
                Flag("cascade", "string", "background", 'Must be "background", "orphan", or "foreground". Selects the '
                     "deletion cascading strategy for the dependents. Defaults to background."),
                Flag("timeout", "duration", "5m0s", TIMEOUT),
                Flag("description", "string", "", "add a custom description")]),
        cmd("upgrade [RELEASE] [CHART]", "upgrade a release", lambda a, g: install(a, g, upgrade=True),
            "helm upgrade", args=exact(2), flags=upgrade_flags()),
        cmd("verify PATH", "verify that a chart at the given path has been signed and is valid", ns, "helm verify",
            args=exact(1)),
        cmd("version", "print the client version information", H.cmd_version, "helm version", args=no_args, flags=[
            Flag("short", "bool", False, "print the version number"),
            Flag("template", "string", "", "template for version string format"),
            Flag("client", "bool", True, "display client version information", "c", hidden=True)]),
        cmd("docs", "generate documentation as markdown or man pages", ns, hidden=True, args=no_args),
    )
    return root
