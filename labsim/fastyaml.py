"""PyYAML through libyaml's parser and emitter, when PyYAML was built with them (about ten times faster than its
pure-Python ones, with the same data): for YAML the simulator, the fake tools and the provisioners read or write on
every tick, boot or run. Lab files keep their own loader (labsim/provisioners/lab/load.py, labsim/yamlbounds.py),
built on the same `LOADER`."""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import yaml

LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def load(text: str) -> Any:
    return yaml.load(text, Loader=LOADER)


def load_all(text: str) -> Iterator[Any]:
    return yaml.load_all(text, Loader=LOADER)


def dump(data: Any, **options: Any) -> str:
    return yaml.dump(data, Dumper=DUMPER, **options)


def dump_all(docs: Iterable[Any], **options: Any) -> str:
    return yaml.dump_all(docs, Dumper=DUMPER, **options)
