"""Waivers: a YAML list of justified, expiring exceptions (InSpec's rules).

Each entry::

    - scenario: "Feature name: Scenario name"   # or just "Scenario name"; or instead:
      tag: "@lab_only"                          # exactly one of scenario / tag
      justification: "why this is acceptable"   # required, non-empty
      expires: 2025-12-31                       # required, YYYY-MM-DD; valid through that day (UTC)
      run: false                                # optional, default true; false skips the scenario

An expired waiver counts as not there. A malformed file is an error with the file and line at fault.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

KEYS = ("scenario", "tag", "justification", "expires", "run")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class WaiverError(ValueError):
    """A malformed waiver file; the message names the file and the line."""

    def __init__(self, path: str, line: int | None, message: str) -> None:
        self.path = path
        self.line = line
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {message}")


@dataclass
class Waiver:
    justification: str
    expires: dt.date
    scenario: str | None = None
    tag: str | None = None
    run: bool = True
    line: int = 0
    matched: list[str] = field(default_factory=list)  # scenario ids it applied to

    @property
    def target(self) -> str:
        return f"scenario {self.scenario!r}" if self.scenario is not None else f"tag @{self.tag}"

    def expired(self, today: dt.date) -> bool:
        return self.expires < today

    def matches(self, names: list[str], tags: set[str]) -> bool:
        if self.scenario is not None:
            return self.scenario.strip() in names
        return self.tag in tags

    def as_dict(self) -> dict:
        d: dict = {}
        if self.scenario is not None:
            d["scenario"] = self.scenario
        if self.tag is not None:
            d["tag"] = "@" + self.tag
        d["justification"] = self.justification
        d["expires"] = self.expires.isoformat()
        d["run"] = self.run
        return d


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def load_waivers(path: str | Path) -> tuple[list[Waiver], str]:
    """Parse and validate a waiver file. Returns the waivers and the file's text (copied into the bundle)."""
    p = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise WaiverError(p, None, f"cannot read waiver file: {exc.strerror or exc}") from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise WaiverError(p, line, f"not valid YAML: {exc.problem or exc}") from None
    except yaml.YAMLError as exc:
        raise WaiverError(p, None, f"not valid YAML: {exc}") from None
    if root is None:
        return [], text
    if isinstance(root, yaml.ScalarNode) and root.value in ("", "~", "null"):
        return [], text
    if not isinstance(root, yaml.SequenceNode):
        raise WaiverError(p, _line(root), "a waiver file is a YAML list of waivers")
    waivers: list[Waiver] = []
    for item in root.value:
        waivers.append(_parse_entry(p, item))
    return waivers, text


def _scalar(p: str, node: yaml.Node, key: str) -> str:
    if not isinstance(node, yaml.ScalarNode):
        raise WaiverError(p, _line(node), f"{key!r} must be a single value")
    return node.value


def _parse_entry(p: str, node: yaml.Node) -> Waiver:
    if not isinstance(node, yaml.MappingNode):
        raise WaiverError(p, _line(node), "each waiver must be a mapping with scenario/tag, justification, expires")
    values: dict[str, tuple[yaml.Node, yaml.Node]] = {}
    for knode, vnode in node.value:
        key = knode.value if isinstance(knode, yaml.ScalarNode) else None
        if key not in KEYS:
            raise WaiverError(p, _line(knode), f"unknown key {key!r} (allowed: {', '.join(KEYS)})")
        if key in values:
            raise WaiverError(p, _line(knode), f"duplicate key {key!r}")
        values[key] = (knode, vnode)
    line = _line(node)
    has_s, has_t = "scenario" in values, "tag" in values
    if has_s == has_t:
        raise WaiverError(p, line, "a waiver needs exactly one of 'scenario' or 'tag'")
    scenario = tag = None
    if has_s:
        scenario = _scalar(p, values["scenario"][1], "scenario").strip()
        if not scenario:
            raise WaiverError(p, _line(values["scenario"][1]), "'scenario' is empty")
    else:
        tag = _scalar(p, values["tag"][1], "tag").strip().lstrip("@")
        if not tag:
            raise WaiverError(p, _line(values["tag"][1]), "'tag' is empty")
    if "justification" not in values:
        raise WaiverError(p, line, "missing 'justification'")
    jnode = values["justification"][1]
    justification = _scalar(p, jnode, "justification").strip()
    if not justification or (jnode.tag.endswith(":null") and not getattr(jnode, "style", None)):
        raise WaiverError(p, _line(jnode), "'justification' must be a non-empty text")
    if "expires" not in values:
        raise WaiverError(p, line, "missing 'expires' (YYYY-MM-DD)")
    enode = values["expires"][1]
    raw = _scalar(p, enode, "expires").strip()
    if not DATE_RE.match(raw):
        raise WaiverError(p, _line(enode), f"'expires' must be a date YYYY-MM-DD, got {raw!r}")
    try:
        expires = dt.date.fromisoformat(raw)
    except ValueError:
        raise WaiverError(p, _line(enode), f"'expires' is not a real date: {raw!r}") from None
    run = True
    if "run" in values:
        rnode = values["run"][1]
        rv = _scalar(p, rnode, "run").strip().lower()
        if rv in ("true", "yes", "on"):
            run = True
        elif rv in ("false", "no", "off"):
            run = False
        else:
            raise WaiverError(p, _line(rnode), f"'run' must be true or false, got {rv!r}")
    return Waiver(justification=justification, expires=expires, scenario=scenario, tag=tag, run=run, line=line)
