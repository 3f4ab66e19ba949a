"""How labsim words a problem for a person: one message, the field path, a hint, no traceback unless asked.

Every refusal a user can cause (a lab file that does not load, an option that makes no sense, a file that is not
there) goes through `problem()`, so the console script, the pytest plugin and the harness print them alike:

    labsim: the lab file labs/nope.yaml cannot be used (2 errors)
      routeros.devices[rb5009-01].model: RB5009UG is not in the hardware catalogue (did you mean 'RB5009UG+S+IN'?) (line 23)
      vlans[VLAN1500].id: expected a whole number, got the text 'x' (line 70)
    hint: `labsim check labs/nope.yaml` checks it alone; `labsim schema` prints the format

This module imports no lab layer: it takes any exception with `source` and `findings` (each with `path` and
`message`), as `labsim.provisioners.lab.load.LabFileError` has them.
"""
from __future__ import annotations

import difflib
import traceback
from collections.abc import Iterable, Sequence
from typing import Any

PROG = "labsim"


def did_you_mean(word: str, choices: Iterable[str], cutoff: float = 0.6) -> str:
    """`" (did you mean 'x'?)"` for the closest choice, or "" when none is close (case-insensitive)."""
    options = list(dict.fromkeys(str(c) for c in choices))
    folded = {c.lower(): c for c in options}
    hit = difflib.get_close_matches(str(word).lower(), list(folded), n=1, cutoff=cutoff)
    return f" (did you mean '{folded[hit[0]]}'?)" if hit else ""


def problem(title: str, details: Sequence[str] = (), hint: str | None = None, *,
            error: BaseException | None = None, verbose: bool = False) -> str:
    """The one shape of every message: a title line, the details indented, a hint; the traceback only if verbose."""
    lines = [f"{PROG}: {title}"]
    lines += [f"  {d}" for d in details]
    if hint:
        lines.append(f"hint: {hint}")
    if error is not None and verbose:
        lines.append("".join(traceback.format_exception(error)).rstrip())
    elif error is not None and error.__traceback__ is not None and not _is_expected(error):
        lines.append("(run with -v for the traceback)")
    return "\n".join(lines)


def _is_expected(error: BaseException) -> bool:
    return hasattr(error, "findings") or isinstance(error, (FileNotFoundError, ValueError))


def finding_line(finding: Any) -> str:
    """`path: message` of one lab-file finding (the check's name only where the path is missing)."""
    path = getattr(finding, "path", "") or ""
    message = getattr(finding, "message", str(finding))
    return f"{path}: {message}" if path else message


def lab_file_error(error: BaseException, *, verbose: bool = False, path: str | None = None) -> str:
    """A lab file that cannot be loaded: every finding with its field path, and where to look next."""
    findings = list(getattr(error, "findings", None) or [])
    source = path or getattr(error, "source", None) or "the lab file"
    unreadable = any(getattr(f, "check", "") == "file-unreadable" for f in findings)
    n = len(findings)
    if unreadable:
        title = f"the lab file {source} cannot be read"
        details = [getattr(f, "message", str(f)) for f in findings]
        hint = ("pass --lab PATH, set LABSIM_LAB, or name it lab.yaml in this folder; "
                "`labsim init` writes a lab file to fill in")
    else:
        title = f"the lab file {source} cannot be used ({n} error{'' if n == 1 else 's'})"
        details = [finding_line(f) for f in findings] or [str(error)]
        hint = f"`labsim check {source}` checks it alone; `labsim schema` prints the format"
    return problem(title, details, hint, error=error, verbose=verbose)


def usage_error(option: str, value: object, why: str, choices: Iterable[str] = (), hint: str | None = None) -> str:
    """An option with a value that cannot work: which option, the value, why, and the closest valid value."""
    suggestion = did_you_mean(str(value), choices) if choices else ""
    details = [f"{option} {value}: {why}{suggestion}"]
    return problem(f"{option}: cannot use {value!s}", details, hint)
