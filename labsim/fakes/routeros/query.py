"""RouterOS API `print` queries (`?` words) and `.proplist`, as the MikroTik API manual defines them.

A query is evaluated per item on a stack of booleans that starts as an infinite supply of `true`;
the item is returned unless a `false` remains at the end (so plain words are ANDed, order matters):

    ?name        push: the item has property `name`
    ?-name       push: the item lacks property `name`
    ?name=x      push: value equals x      (also ?=name=x)
    ?<name=x     push: value is less than x
    ?>name=x     push: value is greater than x
    ?#ops        run ops left to right: `!` negates the top; `&` / `|` pop two and push and / or;
                 digits are a stack index (0 = top): followed by a character they push a copy of
                 that entry, at the end of the word they replace every value with it;
                 `.` does nothing right after an index, elsewhere it pushes a copy of the top.

"Has property" means the row has the key (an empty value counts). Values are compared by meaning,
because RouterOS compares typed values, not text: booleans (`yes`/`true` equal each other, likewise
`no`/`false`), numbers (decimal or 0x hex) numerically, item ids `*1A` by their hex number; anything
else, and two values of different kinds (`auto` vs `1500`, `5` vs ``), as text, which keeps the
manual's `?>comment=` ("non-empty comment") true for every non-empty value. `=`, `<` and `>` on a
missing property are false.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from labsim.fakes.routeros.api import Trap

Row = Mapping[str, str]

_BOOLS = {"yes": True, "true": True, "no": False, "false": False}
_ID = re.compile(r"\*([0-9A-Fa-f]+)")
_NUM = re.compile(r"[+-]?(?:[0-9]+|0x[0-9A-Fa-f]+)")


class QueryError(Exception):
    """A malformed query word; `.trap` is what the server answers with."""

    def __init__(self, word: str, why: str):
        # UNVERIFIED text: no public trace of RouterOS rejecting a query word was found, so this is a
        # short honest message (no category). Tests should match a substring only.
        super().__init__(f"invalid query word {word!r}: {why}")
        self.trap = Trap(message=f"invalid query word ({word}): {why}")


# ---------------------------------------------------------------- value comparison

def _typed(value: str) -> tuple[int, object]:
    """A sort key that makes RouterOS-typed values comparable: (kind, value)."""
    if value in _BOOLS:
        return 0, _BOOLS[value]
    if _ID.fullmatch(value):
        return 1, int(value[1:], 16)
    if _NUM.fullmatch(value):
        digits = value.lstrip("+-")
        number = int(digits, 16) if digits.startswith("0x") else int(digits)
        return 2, -number if value.startswith("-") else number
    return 3, value


def compare(a: str, b: str) -> int | None:
    """-1 / 0 / 1 when a and b are the same kind of value, else None (then only text equality holds)."""
    ka, kb = _typed(a), _typed(b)
    if ka[0] != kb[0]:
        return None
    return (ka[1] > kb[1]) - (ka[1] < kb[1])  # type: ignore[operator]


def equal(a: str, b: str) -> bool:
    c = compare(a, b)
    return a == b if c is None else c == 0


def less(a: str, b: str) -> bool:
    c = compare(a, b)
    return a < b if c is None else c < 0


def greater(a: str, b: str) -> bool:
    c = compare(a, b)
    return a > b if c is None else c > 0


# ---------------------------------------------------------------- the stack machine

class _Stack:
    """Explicit values on top of an infinite fill (initially true; `N` at end of word refills it)."""

    def __init__(self) -> None:
        self.values: list[bool] = []  # top is the end of the list
        self.fill = True

    def push(self, v: bool) -> None:
        self.values.append(v)

    def pop(self) -> bool:
        return self.values.pop() if self.values else self.fill

    def at(self, index: int) -> bool:
        return self.values[-1 - index] if index < len(self.values) else self.fill

    def replace_all(self, v: bool) -> None:
        self.values, self.fill = [], v

    def passed(self) -> bool:
        return self.fill and all(self.values)


Step = Callable[[_Stack, Row], None]


def _push(test: Callable[[Row], bool]) -> Step:
    return lambda stack, row: stack.push(test(row))


def _ops_step(word: str, ops: str) -> Step:
    # Pre-parse into a list of (op, index) so evaluation per row is a tight loop.
    program: list[tuple[str, int]] = []
    i = 0
    while i < len(ops):
        ch = ops[i]
        if ch.isdigit() and ch.isascii():
            j = i
            while j < len(ops) and ops[j].isdigit() and ops[j].isascii():
                j += 1
            index = int(ops[i:j])
            if j == len(ops):
                program.append(("replace", index))
            else:
                program.append(("copy", index))
                if ops[j] == ".":
                    j += 1  # `.` after an index does nothing
            i = j
            continue
        if ch not in "!&|.":
            raise QueryError(word, f"unknown operation {ch!r}")
        program.append((ch, 0))
        i += 1

    def step(stack: _Stack, row: Row) -> None:
        for op, index in program:
            if op == "copy":
                stack.push(stack.at(index))
            elif op == "replace":
                stack.replace_all(stack.at(index))
            elif op == "!":
                stack.push(not stack.pop())
            elif op == "&":
                b, a = stack.pop(), stack.pop()
                stack.push(a and b)
            elif op == "|":
                b, a = stack.pop(), stack.pop()
                stack.push(a or b)
            else:  # "." elsewhere: copy of the top
                stack.push(stack.at(0))

    return step


def _name_value(word: str, body: str) -> tuple[str, str]:
    name, sep, value = body.partition("=")
    if not sep:
        raise QueryError(word, "expected name=value")
    if not name:
        raise QueryError(word, "missing property name")
    return name, value


def _compile_word(word: str) -> Step:
    if not word.startswith("?"):
        raise QueryError(word, "query words start with '?'")
    body = word[1:]
    if body.startswith("#"):
        return _ops_step(word, body[1:])
    if body.startswith("~") or "~" in body.partition("=")[0]:
        raise QueryError(word, "regular expressions are not supported in API queries")
    if body.startswith(("<", ">")):
        name, value = _name_value(word, body[1:])
        op = less if body[0] == "<" else greater
        return _push(lambda row: name in row and op(row[name], value))
    if body.startswith("="):
        name, value = _name_value(word, body[1:])
        return _push(lambda row: name in row and equal(row[name], value))
    if body.startswith("-"):
        name = body[1:]
        if not name or "=" in name:
            raise QueryError(word, "expected ?-name")
        return _push(lambda row: name not in row)
    if not body:
        raise QueryError(word, "missing property name")
    if "=" in body:
        name, value = _name_value(word, body)
        return _push(lambda row: name in row and equal(row[name], value))
    return _push(lambda row: body in row)


@dataclass(frozen=True)
class Query:
    words: tuple[str, ...]
    steps: tuple[Step, ...]

    def matches(self, row: Row) -> bool:
        stack = _Stack()
        for step in self.steps:
            step(stack, row)
        return stack.passed()


def compile_query(words: Sequence[str]) -> Query:
    """Check and compile query words; raises QueryError on the first malformed one."""
    return Query(tuple(words), tuple(_compile_word(w) for w in words))


def filter_rows(rows: Sequence[Row], words: Sequence[str]) -> list[Row]:
    query = compile_query(words)
    return [row for row in rows if query.matches(row)]


# ---------------------------------------------------------------- .proplist

def apply_proplist(rows: Sequence[Row], proplist: str | None) -> list[dict[str, str]]:
    """Keep only the listed keys (row order kept); `.id` appears only when listed. None = all keys."""
    if proplist is None:
        return [dict(r) for r in rows]
    wanted = {k.strip() for k in proplist.split(",") if k.strip()}
    return [{k: v for k, v in r.items() if k in wanted} for r in rows]
