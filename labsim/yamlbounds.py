"""Limits on a lab file's YAML, checked before anything builds or walks the document.

YAML aliases let a 519-byte file stand for a billion nodes ("billion laughs"): PyYAML builds it cheaply
(an alias is the same Python object), but every later walk of the data (line numbers, secret references,
validation) follows the aliases and runs out of memory. So a lab file is read in two passes: first its
parse events are streamed and counted (no tree is built, nothing recurses), then it is loaded if it is
within these limits:

- at most `MAX_BYTES` of text;
- collections nested at most `MAX_DEPTH` deep;
- aliases expanding the document to at most `ALIAS_FACTOR` times the nodes written in it (at least
  `ALIAS_FLOOR` nodes, so small files may use anchors freely); an alias to a collection still open (a
  recursive document) is refused outright.

Neither lab layer owns this: the lab code (labsim/provisioners/lab/load.py), the simulator's own reader
(labsim/fakes/inventory.py) and the sign-off's secret collection all read the same file with it.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from labsim import fastyaml
from labsim.plaindata import deep

MAX_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 64
ALIAS_FACTOR = 10
ALIAS_FLOOR = 10_000


class YamlLimitError(ValueError):
    """The document exceeds a limit. `line` (1-based) is where the pass stopped, when known."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message + (f" (line {line})" if line else ""))
        self.reason, self.line = message, line


def check(text: str) -> None:
    """Raise YamlLimitError when `text` is over a limit; a YAML syntax error is left to the real load."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_BYTES:
        raise YamlLimitError(f"the document is {size} bytes; lab files are limited to {MAX_BYTES} bytes")
    anchors: dict[str, int] = {}   # anchor -> the number of nodes it stands for, expanded
    stack: list[list[Any]] = []    # open collections: [anchor, expanded size so far]
    written = expanded = 0
    try:
        for event in yaml.parse(text, Loader=fastyaml.LOADER):
            if isinstance(event, (yaml.ScalarEvent, yaml.CollectionStartEvent)):
                written += 1
                expanded += 1
            if isinstance(event, yaml.ScalarEvent):
                size = 1
            elif isinstance(event, yaml.CollectionStartEvent):
                if len(stack) >= MAX_DEPTH:
                    raise YamlLimitError(f"collections nested more than {MAX_DEPTH} deep", _line(event))
                stack.append([event.anchor, 1])
                continue
            elif isinstance(event, yaml.CollectionEndEvent):
                anchor, size = stack.pop()
                if anchor is not None:
                    anchors[anchor] = size
            elif isinstance(event, yaml.AliasEvent):
                if any(open_anchor == event.anchor for open_anchor, _ in stack):
                    raise YamlLimitError(f"alias *{event.anchor} refers to a collection that contains it "
                                         "(a recursive document)", _line(event))
                size = anchors.get(event.anchor, 1)   # an undefined alias: the real load names it
                expanded += size
                limit = max(ALIAS_FACTOR * written, ALIAS_FLOOR)
                if expanded > limit:
                    raise YamlLimitError(
                        f"aliases expand the document beyond {limit} nodes ({written} written, at most "
                        f"{ALIAS_FACTOR} times that); alias *{event.anchor} alone stands for {size}", _line(event))
            else:
                continue
            if isinstance(event, yaml.ScalarEvent) and event.anchor is not None:
                anchors[event.anchor] = 1
            if stack:
                stack[-1][1] += size
    except yaml.YAMLError:
        return   # the real load reports it, with its line and column
    except RecursionError:
        raise YamlLimitError(f"collections nested more than {MAX_DEPTH} deep") from None


def _line(event: yaml.Event) -> int | None:
    mark = getattr(event, "start_mark", None)
    return mark.line + 1 if mark is not None else None


def read_text(path: str | Path) -> str:
    """A lab file's text, refusing one over `MAX_BYTES` before reading it."""
    p = Path(path)
    size = p.stat().st_size
    if size > MAX_BYTES:
        raise YamlLimitError(f"the file is {size} bytes; lab files are limited to {MAX_BYTES} bytes")
    return p.read_text()


_LOADED: dict[str, Any] = {}    # text -> its data, for the few lab files a process reads again and again


def safe_load(text: str) -> Any:
    """`yaml.safe_load`, within the limits. A text read before gives a fresh copy of what it gave then: every
    scenario reads the same lab file several times (the simulator, the sign-off's secret references)."""
    if text not in _LOADED:
        check(text)
        data = yaml.load(text, Loader=fastyaml.LOADER)
        if len(_LOADED) >= 16:
            _LOADED.clear()
        _LOADED[text] = data
    return deep(_LOADED[text])


def load_file(path: str | Path) -> Any:
    return safe_load(read_text(path))
