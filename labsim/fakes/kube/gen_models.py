"""Build `data/model-docs.json` from the `kubernetes` Python package's models: per built-in message of the type
table, the type's description (the model class's docstring) and per JSON field its description and whether it
is required (`model_fields`), which is what the OpenAPI documents say about each type. Generated once, so the
served API server never imports the Python client's 800-odd model modules.

    python -m labsim.fakes.kube.gen_models > labsim/fakes/kube/data/model-docs.json
"""
from __future__ import annotations

import json
import sys
from typing import Any

from labsim.fakes.kube import gotypes as G


def _model(models: Any, msg: str) -> Any:
    pkg, _, name = msg.partition(".")
    group, _, version = pkg.partition("/")
    version = version or group
    for cand in (f"{group.capitalize()}{version.capitalize()}{name}", f"{version.capitalize()}{name}"):
        cls = getattr(models, cand, None)
        if cls is not None:
            return cls
    return None


def _doc(cls: Any) -> str:
    text = (cls.__doc__ or "").split("Attributes:")[0].strip()
    return " ".join(line.strip() for line in text.splitlines()).strip()


def build() -> dict[str, Any]:
    import kubernetes
    import kubernetes.client.models as models
    out: dict[str, Any] = {"_source": f"kubernetes {kubernetes.__version__} (Python client models)"}
    for msg in sorted(G.table()):
        cls = _model(models, msg)
        if cls is None:
            continue
        fields = {}
        for attr, f in getattr(cls, "model_fields", {}).items():
            key = f.serialization_alias or f.alias or (getattr(cls, "attribute_map", {}) or {}).get(attr, attr)
            fields[key] = [f.description or "", f.is_required()]
        out[msg] = {"doc": _doc(cls), "fields": fields}
    return out


def main() -> int:
    doc = build()
    sys.stdout.write("{\n" + ",\n".join(f"{json.dumps(k)}: {json.dumps(v, separators=(',', ':'))}"
                                        for k, v in doc.items()) + "\n}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
