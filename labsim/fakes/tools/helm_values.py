"""Helm's values: `-f FILE` merged in order, then `--set` and `--set-string` (pkg/strvals), as helm 3 does.

`--set a.b=c,d={x,y},e[0]=z`: dots nest, `{..}` is a list, `[i]` indexes one, `\\,` and `\\.` escape;
`true`/`false` become booleans, integers become numbers, `null` removes the key (helm's typing rules).
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml


class ValuesError(Exception):
    pass


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in (over or {}).items():
        out[k] = deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _split(text: str, sep: str) -> list[str]:
    parts, cur, depth, esc = [], "", 0, False
    for ch in text:
        if esc:
            cur += "\\" + ch
            esc = False
        elif ch == "\\":
            esc = True
        elif ch == "{":
            depth += 1
            cur += ch
        elif ch == "}":
            depth -= 1
            cur += ch
        elif ch == sep and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return parts


def _typed(value: str, as_string: bool) -> Any:
    raw = value.replace("\\,", ",").replace("\\.", ".").replace("\\=", "=")
    if as_string:
        return raw
    if raw == "true":
        return True
    if raw == "false":
        return False
    if raw == "null":
        return None
    if re.fullmatch(r"-?\d+", raw) and not (raw.startswith("0") and len(raw) > 1):
        return int(raw)
    return raw


def _value(text: str, as_string: bool) -> Any:
    if text.startswith("{") and text.endswith("}"):
        inner = text[1:-1]
        return [_typed(v, as_string) for v in _split(inner, ",")] if inner else []
    return _typed(text, as_string)


def set_value(values: dict[str, Any], key: str, value: Any) -> None:
    parts = [p.replace("\\.", ".") for p in re.split(r"(?<!\\)\.", key)]
    cur: Any = values
    for i, part in enumerate(parts):
        m = re.fullmatch(r"(.*?)\[(\d+)\]", part)
        last = i == len(parts) - 1
        if m:
            name, idx = m.group(1), int(m.group(2))
            lst = cur.setdefault(name, [])
            if not isinstance(lst, list):
                lst = cur[name] = []
            while len(lst) <= idx:
                lst.append({} if not last else None)
            if last:
                lst[idx] = value
            else:
                if not isinstance(lst[idx], dict):
                    lst[idx] = {}
                cur = lst[idx]
            continue
        if last:
            if value is None:
                cur.pop(part, None)
            else:
                cur[part] = value
        else:
            nxt = cur.get(part)
            if not isinstance(nxt, dict):
                nxt = cur[part] = {}
            cur = nxt


def parse_set(values: dict[str, Any], text: str, *, as_string: bool = False) -> None:
    for item in _split(text, ","):
        if not item:
            continue
        key, eq, val = item.partition("=")
        if not eq:
            raise ValuesError(f'failed parsing --set data: key "{key}" has no value')
        set_value(values, key, _value(val, as_string))


def user_values(files: list[str], sets: list[str], set_strings: list[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for f in files:
        try:
            loaded = yaml.safe_load(Path(f).read_text()) or {}
        except OSError:
            raise ValuesError(f"open {f}: no such file or directory") from None
        except yaml.YAMLError as exc:
            raise ValuesError(f"failed to parse {f}: {exc}") from None
        values = deep_merge(values, loaded)
    for s in sets:
        parse_set(values, s)
    for s in set_strings:
        parse_set(values, s, as_string=True)
    return values
