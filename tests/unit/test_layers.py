"""ARCHITECTURE.md's import rules, read from the source: provisioners never import fakes, fakes never import
provisioners or steps, and signoff imports no lab layer (tests/signoff/test_units.py covers signoff)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "labsim"


def _imports(path: Path) -> list[str]:
    """Absolute module names a file imports (relative imports resolved against its package)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    here = path.relative_to(PACKAGE.parent).with_suffix("").parts
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - node.level]
                names.append(".".join([*base, *(node.module.split(".") if node.module else [])]))
            elif node.module:
                names.append(node.module)
    return names


@pytest.mark.parametrize("layer, forbidden", [
    ("provisioners", {"labsim.fakes", "labsim.steps", "labsim.signoff"}),
    ("fakes", {"labsim.provisioners", "labsim.steps", "labsim.signoff"}),
])
def test_layer_imports_run_one_way(layer, forbidden):
    files = sorted((PACKAGE / layer).rglob("*.py"))
    assert len(files) > 20, f"labsim/{layer} not found"
    bad = [f"{f.relative_to(PACKAGE)} imports {n}" for f in files for n in _imports(f)
           if ".".join(n.split(".")[:2]) in forbidden]
    assert not bad, "\n".join(bad)


def test_the_rule_sees_a_relative_import():
    """The check resolves `from ...fakes import x` too (it would otherwise pass on any relative import)."""
    sample = PACKAGE / "provisioners" / "lab" / "model.py"
    assert "labsim.provisioners.lab.checks" in _imports(sample) or any(
        n.startswith("labsim.provisioners") for n in _imports(sample))
