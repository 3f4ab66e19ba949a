"""Reading a lab file: YAML (with line numbers) into the typed `Lab` model.

Every problem is collected, not just the first: YAML syntax errors name the line, duplicate keys are
reported (PyYAML would silently keep the last one), and schema errors name the field in lab-file terms
(`vlans[VLAN1500].dhcp.pool[0]`) with the offending value and its line. Secret values are never echoed.
"""
from __future__ import annotations

import difflib
import json
import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from labsim import fastyaml
from labsim.provisioners.lab.checks_core import Finding
from labsim.provisioners.lab.model import Item, Lab, format_path, list_labels
from labsim.provisioners.lab.secrets import SECRET_KEYS, redacted
from labsim.yamlbounds import YamlLimitError, check as check_bounds, read_text as read_bounded

_MISSING = object()


class LabFileError(Exception):
    """The lab file cannot be read or does not match the schema. `findings` lists every problem."""

    def __init__(self, source: str, findings: list[Finding]):
        self.source = source
        self.findings = findings
        head = "; ".join(f"{f.path}: {f.message}" if f.path else f.message for f in findings[:3])
        more = f" (and {len(findings) - 3} more)" if len(findings) > 3 else ""
        super().__init__(f"{source}: {head}{more}")


class _Loader(fastyaml.LOADER):  # type: ignore[misc, valid-type]
    """SafeLoader that records duplicate keys instead of silently keeping the last one."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self.duplicates: list[tuple[int, str, int]] = []

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[str, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(key_node, yaml.ScalarNode):
                continue
            line = key_node.start_mark.line + 1
            if key_node.value in seen:
                dup = (line, key_node.value, seen[key_node.value])
                if dup not in self.duplicates:
                    self.duplicates.append(dup)
            else:
                seen[key_node.value] = line
        return super().construct_mapping(node, deep)


def _node_lines(node: yaml.Node, path: tuple[Any, ...], out: dict[tuple[Any, ...], int], depth: int = 0) -> None:
    if depth > 64:
        return
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.tag != "tag:yaml.org,2002:merge":
                p = path + (k.value,)
                out.setdefault(p, k.start_mark.line + 1)
                _node_lines(v, p, out, depth + 1)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            p = path + (i,)
            out.setdefault(p, item.start_mark.line + 1)
            _node_lines(item, p, out, depth + 1)


def _lab_parts(raw: tuple[Any, ...], data: Any, labels: dict[int, list[str]] | None = None) -> tuple[Any, ...]:
    """Raw YAML path (keys and indices) -> lab-file path parts (list items by name where keyed).

    `labels` keeps each list's item labels (by the list's id) across the calls of one pass over `data`: labelling
    an item looks at every item of its list (a name counts only if unique), so without it naming every node of a
    3,000-VLAN file took 40 s instead of a fraction of one."""
    labels = {} if labels is None else labels
    cur, key, parts = data, None, []
    for el in raw:
        if isinstance(cur, list) and isinstance(el, int) and 0 <= el < len(cur):
            named = labels.get(id(cur))
            if named is None:
                named = labels[id(cur)] = list_labels(key, cur)
            parts.append(Item(named[el]))
            cur = cur[el]
        else:
            parts.append(str(el))
            cur = cur.get(el, _MISSING) if isinstance(cur, dict) else _MISSING
            key = el
    return tuple(parts)


def _yaml_error(exc: yaml.YAMLError, source: str) -> Finding:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    if mark is None:
        return Finding("yaml-syntax", "error", source, f"YAML syntax error: {problem}")
    line, col = mark.line + 1, mark.column + 1
    msg = f"YAML syntax error: {problem} (line {line}, column {col})"
    if context:
        ctx_mark = getattr(exc, "context_mark", None)
        where = f" at line {ctx_mark.line + 1}" if ctx_mark is not None and ctx_mark.line != mark.line else ""
        msg += f", {context}{where}"
    return Finding("yaml-syntax", "error", f"line {line}", msg, {"line": line, "column": col})


def _limit_error(exc: YamlLimitError) -> Finding:
    where = f"line {exc.line}" if exc.line else "(top level)"
    return Finding("yaml-limit", "error", where, f"refused: {exc}", {"line": exc.line})


def read_yaml(text: str, source: str = "<string>") -> tuple[Any, dict[tuple[Any, ...], int], list[Finding]]:
    """Parse YAML. Returns (data, raw path -> line, findings); data is None after a syntax error or a
    document over the size, depth or alias-expansion limits (labsim/yamlbounds.py)."""
    try:
        check_bounds(text)
    except YamlLimitError as exc:
        return None, {}, [_limit_error(exc)]
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        return None, {}, [_yaml_error(exc, source)]
    finally:
        loader.dispose()
    lines: dict[tuple[Any, ...], int] = {}
    if node is not None:
        _node_lines(node, (), lines)
    findings = [
        Finding("yaml-duplicate-key", "error", f"line {line}",
                f"key '{key}' appears twice in the same mapping (lines {first} and {line}); "
                f"YAML would silently keep only the last one", {"key": key, "line": line, "first_line": first})
        for line, key, first in loader.duplicates
    ]
    return data, lines, findings


# --- schema errors ------------------------------------------------------------------------------

def _unwrap(tp: Any, cur: Any) -> Any:
    """A field annotation -> a model class, ('list', item) or ('dict', value) for the data at hand."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
            continue
        if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
            models = [a for a in typing.get_args(tp) if isinstance(a, type) and issubclass(a, BaseModel)]
            others = [a for a in typing.get_args(tp) if a is not type(None) and a not in models]
            if len(models) == 1:
                return models[0]
            if models and isinstance(cur, dict):
                for m in models:
                    f = m.model_fields.get("distribution")
                    if f is not None and cur.get("distribution") in typing.get_args(f.annotation):
                        return m
                return None
            if len(others) == 1:
                tp = others[0]
                continue
            return None
        if origin is list:
            return ("list", typing.get_args(tp)[0])
        if origin is dict:
            return ("dict", typing.get_args(tp)[1])
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            return tp
        return None


def _model_at(raw: tuple[Any, ...], data: Any) -> type[BaseModel] | None:
    cls: Any = Lab
    cur = data
    for el in raw:
        if isinstance(cls, type) and issubclass(cls, BaseModel):
            f = cls.model_fields.get(el) if isinstance(el, str) else None
            if f is None:
                return None
            cur = cur.get(el) if isinstance(cur, dict) else None
            cls = _unwrap(f.annotation, cur)
        elif isinstance(cls, tuple) and cls[0] == "list" and isinstance(el, int):
            cur = cur[el] if isinstance(cur, list) and el < len(cur) else None
            cls = _unwrap(cls[1], cur)
        elif isinstance(cls, tuple) and cls[0] == "dict":
            cur = cur.get(el) if isinstance(cur, dict) else None
            cls = _unwrap(cls[1], cur)
        else:
            return None
    return cls if isinstance(cls, type) and issubclass(cls, BaseModel) else None


def _redact_tree(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: (redacted(v) if k in SECRET_KEYS and isinstance(v, str) else _redact_tree(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_tree(v) for v in value]
    return value


def _show(value: Any, secret: bool) -> str:
    if secret:
        return redacted(value)
    if isinstance(value, (dict, list)):
        text = json.dumps(_redact_tree(value), default=str)
    else:
        text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "the number"
    if isinstance(value, str):
        return "the text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


_TYPE_WORDS = {
    "string_type": "text", "int_type": "a whole number", "int_parsing": "a whole number",
    "int_from_float": "a whole number", "float_type": "a number", "float_parsing": "a number",
    "bool_type": "true or false", "bool_parsing": "true or false", "list_type": "a list",
    "dict_type": "a mapping of keys", "model_type": "a mapping of keys", "model_attributes_type": "a mapping of keys",
    "ip_v4_address": "an IPv4 address", "ip_v4_network": "an IPv4 subnet like 10.0.0.0/24",
    "ip_v4_interface": "an IPv4 address (optionally with /prefix)", "ip_any_address": "an IP address",
}


def _error_finding(err: dict[str, Any], data: Any, lines: dict[tuple[Any, ...], int],
                   labels: dict[int, list[str]] | None = None) -> Finding:
    loc = err.get("loc", ())
    cur, raw, last_value = data, [], _MISSING
    for i, el in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(cur, dict) and el in cur or isinstance(cur, list) and isinstance(el, int) and 0 <= el < len(cur):
            raw.append(el)
            cur = cur[el]
        elif isinstance(cur, dict) and last and isinstance(el, str):
            raw.append(el)
            cur = _MISSING
        # else: a union branch or validator label, not part of the file
    last_value = cur
    raw_t = tuple(raw)
    path = format_path(_lab_parts(raw_t, data, labels))
    line = None
    for n in range(len(raw_t), -1, -1):
        if raw_t[:n] in lines:
            line = lines[raw_t[:n]]
            break
    key = raw_t[-1] if raw_t else None
    secret = isinstance(key, str) and key in SECRET_KEYS
    t = err.get("type", "")
    shown = _show(last_value, secret) if last_value is not _MISSING else ""
    ctx = err.get("ctx") or {}
    check = "invalid-value"
    if t == "missing":
        check, msg = "missing-key", f"missing required key '{key}'"
    elif t == "extra_forbidden":
        check = "unknown-key"
        model = _model_at(raw_t[:-1], data)
        allowed = sorted(model.model_fields) if model else []
        hint = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
        msg = f"unknown key '{key}'"
        if hint:
            msg += f" (did you mean '{hint[0]}'?)"
        elif allowed:
            msg += f"; allowed here: {', '.join(allowed)}"
    elif t == "union_tag_not_found":
        check, msg = "missing-key", f"missing required key '{ctx.get('discriminator', 'distribution').strip(chr(39))}' (talos or rke2)"
    elif t == "union_tag_invalid":
        msg = f"distribution {ctx.get('tag')!r} is not one of {ctx.get('expected_tags')}"
    elif t in ("value_error", "assertion_error"):
        error = ctx.get("error")
        msg = str(error) if error is not None else err.get("msg", "")
        if shown and not secret and shown.strip("'") not in msg and not isinstance(last_value, (dict, list)):
            msg += f" (got {shown})"
    elif t in _TYPE_WORDS:
        check = "wrong-type"
        msg = f"expected {_TYPE_WORDS[t]}, got {_kind(last_value)} {shown}".rstrip()
    elif t == "literal_error":
        msg = f"{shown} is not one of {ctx.get('expected')}"
    elif t == "string_pattern_mismatch":
        msg = f"{shown} does not have the expected form {ctx.get('pattern')}"
    elif t == "too_short":
        msg = f"needs at least {ctx.get('min_length')} item(s)"
    else:
        text = err.get("msg", t)
        text = text.replace("Input should be", "must be")
        msg = f"{text}, got {shown}" if shown else text
    if line is not None:
        msg += f" (line {line})"
    values: dict[str, Any] = {"line": line}
    if last_value is not _MISSING and check != "unknown-key":
        values["value"] = shown
    return Finding(check, "error", path or "(top level)", msg, values)


def validate_data(data: Any, lines: dict[tuple[Any, ...], int] | None = None, source: str = "<data>") -> Lab:
    """Validate already-parsed data into a Lab, raising LabFileError with every finding."""
    lines = lines or {}
    if data is None:
        raise LabFileError(source, [Finding("not-a-lab-file", "error", "(top level)", "the file is empty")])
    if not isinstance(data, dict):
        raise LabFileError(source, [Finding("not-a-lab-file", "error", "(top level)",
                                            f"a lab file is a mapping with lab:, routeros:, vlans:, ...; got {_kind(data)}")])
    try:
        lab = Lab.model_validate(data)
    except ValidationError as exc:
        labels: dict[int, list[str]] = {}
        findings = [_error_finding(e, data, lines, labels) for e in exc.errors(include_url=False)]
        findings.sort(key=lambda f: (f.values.get("line") or 0, f.path))
        raise LabFileError(source, findings) from None
    labels: dict[int, list[str]] = {}   # one pass over `data`, which stays alive and unchanged: list ids are stable keys
    lab._lines = {format_path(_lab_parts(p, data, labels)): line for p, line in lines.items()}
    lab._source = source
    return lab


def parse_lab(text: str, source: str = "<string>") -> Lab:
    data, lines, findings = read_yaml(text, source)
    if findings and data is None:
        raise LabFileError(source, findings)
    try:
        lab = validate_data(data, lines, source)
    except LabFileError as exc:
        raise LabFileError(source, findings + exc.findings) from None
    if findings:
        raise LabFileError(source, findings)
    return lab


def load_lab(path: str | Path) -> Lab:
    """Load and validate a lab file. Raises LabFileError listing every problem found."""
    p = Path(path)
    try:
        text = read_bounded(p)
    except YamlLimitError as exc:
        raise LabFileError(str(p), [_limit_error(exc)]) from None
    except OSError as exc:
        raise LabFileError(str(p), [Finding("file-unreadable", "error", str(p),
                                            f"cannot read the lab file: {exc.strerror or exc}")]) from None
    except UnicodeDecodeError as exc:
        raise LabFileError(str(p), [Finding("file-unreadable", "error", str(p),
                                            f"the lab file is not UTF-8 text ({exc.reason} at byte {exc.start})")]) from None
    return parse_lab(text, str(p))
