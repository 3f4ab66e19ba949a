"""Which lab file a run uses when `--lab` is not given: one rule, for the pytest plugin and the `labsim` command.

In order, the first that is set wins:
1. `--lab PATH` (relative to the current folder);
2. the environment variable `LABSIM_LAB` (relative to the current folder);
3. the ini option `labsim_lab` in pytest.ini, tox.ini, setup.cfg or pyproject.toml's `[tool.pytest.ini_options]`
   (relative to the folder of that file);
4. a file named `lab.yaml` (or `lab.yml`) in the current folder, else in pytest's rootdir;
5. the built-in example, the Aggrik8s lab that ships with labsim (said so on the console and in the sign-off).
"""
from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from configparser import ConfigParser
from dataclasses import dataclass
from pathlib import Path

from labsim.resources import DEFAULT_LAB

ENV = "LABSIM_LAB"
INI = "labsim_lab"
CONVENTIONAL = ("lab.yaml", "lab.yml")


@dataclass(frozen=True)
class LabChoice:
    path: Path
    source: str   # how it was chosen, for the console: "--lab", "LABSIM_LAB", "labsim_lab in pytest.ini", ...

    @property
    def builtin(self) -> bool:
        return self.source == "built-in example"


def find_lab(explicit: str | os.PathLike[str] | None = None, *, cwd: Path | None = None,
             rootdir: Path | None = None, ini: tuple[str, Path] | None = None,
             environ: Mapping[str, str] | None = None) -> LabChoice:
    """The lab file by the rule above. `ini` is (value, folder of the ini file) when the option is set."""
    cwd = Path.cwd() if cwd is None else cwd
    env = os.environ if environ is None else environ
    if explicit not in (None, ""):
        return LabChoice(_under(cwd, explicit), "--lab")
    if env.get(ENV):
        return LabChoice(_under(cwd, env[ENV]), ENV)
    if ini is not None and ini[0]:
        return LabChoice(_under(ini[1], ini[0]), f"ini option {INI}")
    for folder in dict.fromkeys(p for p in (cwd, rootdir) if p is not None):
        for name in CONVENTIONAL:
            if (folder / name).is_file():
                return LabChoice(folder / name, f"{name} in {'this folder' if folder == cwd else folder}")
    return LabChoice(DEFAULT_LAB, "built-in example")


def _under(base: Path, value: str | os.PathLike[str]) -> Path:
    p = Path(os.fspath(value)).expanduser()
    return p if p.is_absolute() else base / p


def ini_setting(folder: Path) -> tuple[str, Path] | None:
    """`labsim_lab` as pytest would find it from `folder` upwards (for the `labsim` command, which has no pytest
    Config yet): the first pytest.ini, pyproject.toml with [tool.pytest.ini_options], tox.ini or setup.cfg with a
    pytest section, as pytest's rootdir search takes them."""
    for d in (folder, *folder.parents):
        for name in ("pytest.ini", ".pytest.ini", "pyproject.toml", "tox.ini", "setup.cfg"):
            f = d / name
            if not f.is_file():
                continue
            if name == "pyproject.toml":
                try:
                    section = tomllib.loads(f.read_text(encoding="utf-8")).get("tool", {}).get("pytest", {})
                except (OSError, tomllib.TOMLDecodeError):
                    continue
                opts = section.get("ini_options")
                if opts is None:
                    continue
                value = opts.get(INI)
                return (str(value), d) if value else None
            cp = ConfigParser(interpolation=None)
            try:
                cp.read(f, encoding="utf-8")
            except Exception:  # noqa: BLE001 - an unreadable file is pytest's to report
                continue
            sect = "pytest" if name in ("pytest.ini", ".pytest.ini", "tox.ini") else "tool:pytest"
            if name in ("pytest.ini", ".pytest.ini") or cp.has_section(sect):
                value = cp.get(sect, INI, fallback="") if cp.has_section(sect) else ""
                return (value, d) if value else None
    return None
