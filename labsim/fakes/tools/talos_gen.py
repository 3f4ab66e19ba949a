"""`talosctl gen secrets` and `talosctl gen config` (offline), and `apply-config --config-patch`.

Patches are given as `@file.yaml` or inline YAML/JSON, as talosctl takes them; see labsim/fakes/talos/genconfig.py
for how they merge.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

from labsim.fakes.talos import genconfig


class GenError(Exception):
    pass


def _patch_text(spec: str) -> str:
    if spec.startswith("@"):
        try:
            return Path(spec[1:]).read_text()
        except OSError as exc:
            raise GenError(f"open {spec[1:]}: {exc.strerror.lower() if exc.strerror else exc}") from None
    return spec


def apply_patches(doc: dict[str, Any], specs: list[str], extras: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Merge the patches into the v1alpha1 document. A patch document with its own `apiVersion` and `kind`
    (ExtensionServiceConfig, ...) is a document of the config, not a patch: it goes into `extras`, replacing one of
    the same kind and name, as talosctl's multi-document configs keep them."""
    for spec in specs:
        for part in _split(_patch_text(spec)):
            patch = genconfig.load_patch(part)
            if extras is not None and isinstance(patch, dict) and "kind" in patch and "apiVersion" in patch:
                key = (patch.get("kind"), patch.get("name"))
                extras[:] = [d for d in extras if (d.get("kind"), d.get("name")) != key] + [patch]
                continue
            doc = genconfig.apply_patch(doc, patch)
    return doc


def dump_all(doc: dict[str, Any], extras: list[dict[str, Any]]) -> str:
    return genconfig.dump(doc) + "".join("---\n" + genconfig.dump(e) for e in extras)


def _split(text: str) -> list[str]:
    return [p for p in text.split("\n---\n") if p.strip()] or [text]


def patched(data: str, specs: list[str]) -> str:
    docs = [d for d in yaml.safe_load_all(data) if d is not None]
    main = next((d for d in docs if isinstance(d, dict) and "kind" not in d), docs[0] if docs else {})
    extras = [d for d in docs if d is not main]
    return dump_all(apply_patches(main, specs, extras), extras)


def patch_file(a) -> int:
    """`talosctl machineconfig patch FILE --patch P... [-o OUT]` (stdout without -o)."""
    file = a.args[0]
    try:
        data = patched(Path(file).read_text(), a.patch)
    except OSError as exc:
        print(f"open {file}: {exc.strerror.lower() if exc.strerror else exc}", file=sys.stderr)
        return 1
    except (GenError, genconfig.PatchError) as exc:
        print(str(exc), file=sys.stderr)
        return 1
    if a.output:
        Path(a.output).write_text(data)
    else:
        print(data, end="")
    return 0


def _write(path: Path, text: str, force: bool) -> None:
    if path.exists() and not force:
        raise GenError(f"{path} already exists, use --force to overwrite")
    path.write_text(text)
    path.chmod(0o600)
    print(f"Created {path}")


def run(what: str, a) -> int:
    """`gen secrets` or `gen config` (`a`: the parsed command line, labsim/fakes/tools/talosctl.py)."""
    try:
        if what == "secrets":
            out = Path(a.output_file)
            if out.exists() and not a.force:
                raise GenError(f"{out} already exists, use --force to overwrite")
            out.write_text(genconfig.dump(genconfig.gen_secrets()))
            out.chmod(0o600)
            return 0
        return _config(a)
    except (GenError, genconfig.PatchError) as exc:
        print(str(exc), file=sys.stderr)
        return 1


def _config(a) -> int:
    from labsim.fakes.tools.talosctl import CLIENT_VERSION
    cluster_name, cluster_endpoint = a.args
    talos_version = (a.talos_version or CLIENT_VERSION).lstrip("v")
    if not cluster_endpoint.startswith(("https://", "http://")):
        raise GenError(f'error validating endpoint: "{cluster_endpoint}" is not a valid URL: '
                       "please use https://host:port")
    if a.with_secrets:
        try:
            bundle = yaml.safe_load(Path(a.with_secrets).read_text())
        except OSError as exc:
            raise GenError(f"failed to load secrets bundle: {exc}") from None
    else:
        print("generating PKI and tokens")
        bundle = genconfig.gen_secrets()
    outdir = Path(a.output or a.output_dir or ".")
    outdir.mkdir(parents=True, exist_ok=True)
    for kind, extra in (("controlplane", a.config_patch_control_plane), ("worker", a.config_patch_worker)):
        doc = genconfig.machine_config(kind, cluster_name, cluster_endpoint, bundle,
                                       kubernetes_version=a.kubernetes_version, talos_version=talos_version,
                                       install_disk=a.install_disk)
        extras: list[dict[str, Any]] = []
        doc = apply_patches(doc, list(a.config_patch) + list(extra), extras)
        _write(outdir / f"{kind}.yaml", dump_all(doc, extras), a.force)
    # like talosctl, the talosconfig's endpoints stay 127.0.0.1: set them with `talosctl config endpoint`
    _write(outdir / "talosconfig", genconfig.dump(genconfig.talosconfig(cluster_name, bundle, ["127.0.0.1"])),
           a.force)
    return 0
