"""`labsim init`: a starter repository for a user's own lab.

Writes, into a folder (existing files are left alone unless `force`):
    features/*.feature          the features labsim ships, to keep, edit or add to
    lab.yaml                    a lab file to fill in: a commented guide to every section, then a working example
                                lab, under the `# yaml-language-server: $schema=./lab.schema.json` line
    lab.schema.json             the JSON Schema that line names (what `labsim schema` prints)
    Makefile                    make verify / lab-verify / lab-apply / check / schema (labsim.mk beside an existing one)
    ci/github-actions.yml       a CI example: `labsim verify` on every push, the bundle as an artifact
    .gitignore                  reports/, endpoints.json, .labsim/ (appended to an existing one, once)
`labsim verify` in that folder then finds features/ and lab.yaml by their names, and so does plain `pytest`.
"""
from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from labsim.resources import FEATURES, LAB_SCHEMA, package_path

TEMPLATES = package_path("templates", "starter")
EXAMPLES = ("aggrik8s", "example", "bouquet2")


class InitError(Exception):
    def __init__(self, message: str, details: list[str] | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.details = details or []
        self.hint = hint


@dataclass
class Written:
    root: Path
    files: list[str] = field(default_factory=list)
    makefile: str = "Makefile"

    def next_steps(self) -> str:
        where = "" if self.root.resolve() == Path.cwd().resolve() else f"cd {self.root} && "
        make = "make verify" if self.makefile == "Makefile" else "make -f labsim.mk verify"
        return (f"\nNext: {where}labsim verify   (or {make}): the features against a simulated lab built from "
                "lab.yaml,\nending in a sign-off bundle under reports/. Then make lab.yaml yours: `labsim check` "
                "after each change.\nPlain `pytest` here runs the features too (labsim's pytest plugin finds "
                "features/ and lab.yaml).")


def _version() -> str:
    from labsim import __version__

    return __version__


def _install_spec(version: str) -> str:
    """What the CI example installs: this release when it is one, else the name (set it to your source)."""
    return f"labsim=={version}" if re.fullmatch(r"\d+(\.\d+)*", version) else "labsim"


def _strip_leading_comments(text: str) -> str:
    lines = text.splitlines(keepends=True)
    i = 0
    while i < len(lines) and (lines[i].startswith("#") or not lines[i].strip()):
        i += 1
    return "".join(lines[i:])


def starter_files(example: str = "aggrik8s") -> dict[str, str | Path]:
    """Relative path -> text, or the packaged file to copy."""
    if example not in EXAMPLES:
        raise InitError(f"--example {example}: no such example lab", [f"choose one of {', '.join(EXAMPLES)}"])
    version = _version()
    header = (TEMPLATES / "lab-header.yaml").read_text(encoding="utf-8").format(version=version, example=example)
    lab = package_path("labs", f"{example}.yaml").read_text(encoding="utf-8")
    files: dict[str, str | Path] = {}
    for f in sorted(FEATURES.glob("*.feature")):
        files[f"features/{f.name}"] = f
    files["lab.yaml"] = header + _strip_leading_comments(lab)
    files["lab.schema.json"] = LAB_SCHEMA
    files["Makefile"] = TEMPLATES / "Makefile"
    files["ci/github-actions.yml"] = (TEMPLATES / "github-actions.yml").read_text(encoding="utf-8").replace(
        "{install}", _install_spec(version))
    return files


def write_starter(root: Path, example: str = "aggrik8s", force: bool = False) -> Written:
    files = starter_files(example)
    if root.exists() and not root.is_dir():
        raise InitError(f"{root} is not a folder")
    out = Written(root)
    if (root / "Makefile").exists() and not force:
        files["labsim.mk"] = files.pop("Makefile")
        out.makefile = "labsim.mk"
    existing = [rel for rel in files if (root / rel).exists()]
    if existing and not force:
        raise InitError(f"{root}: {len(existing)} file(s) labsim init would write exist already",
                        [f"{rel}" for rel in existing],
                        "nothing was written; move them away, or pass --force to overwrite them")
    for rel, src in files.items():
        dest = root / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(src, Path):
            shutil.copyfile(src, dest)
        else:
            dest.write_text(src, encoding="utf-8")
        out.files.append(rel)
    ignore = (TEMPLATES / "gitignore").read_text(encoding="utf-8")
    gi = root / ".gitignore"
    current = gi.read_text(encoding="utf-8") if gi.exists() else ""
    if "reports/" not in current.split():
        gi.write_text(current + ("\n" if current and not current.endswith("\n") else "") + ignore, encoding="utf-8")
        out.files.append(".gitignore")
    return out
