"""What every feature's steps share: the lab file's own checks, copies of the lab file, and the one way a Then step
judges what the provisioners verified.

A Then step hands the results a provisioner's verify function returned to `holds`: they must be there (an empty
list means nothing was checked, and that is a failure, not a pass) and every one must hold. The results go to the
sign-off as evidence either way.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from pytest_bdd import given

from labsim import fastyaml, yamlbounds
from labsim.provisioners.lab.checks import run_checks
from labsim.provisioners.vocabulary import Result


def holds(evidence, name: str, results: list[Result], *, findings: bool = False) -> list[Result]:
    """Attach `results` as evidence (with `findings`, each also as a sign-off finding, shown on its own in the
    report) and assert that there are some and that every one holds."""
    evidence.attach(name, [r.__dict__ for r in results])
    if findings:
        for r in results:
            evidence.finding(r.subject, r.ok, r.message, r.evidence or None)
    assert results, f"{name}: nothing was checked (no result: the lab file gives this step no subject)"
    bad = [str(r) for r in results if not r.ok]
    assert not bad, f"{len(bad)} of {len(results)} failed:\n" + "\n".join(bad)
    return results


def lab_copy(target, tmp_path: Path, edit: Callable[[dict[str, Any]], None]) -> Path:
    """A copy of the run's lab file with `edit` applied to its data (for scenarios about a different lab file)."""
    data = yamlbounds.load_file(target.labfile)
    edit(data)
    path = tmp_path / target.labfile.name
    path.write_text(fastyaml.dump(data, sort_keys=False))
    return path


def cluster_data(data: dict[str, Any], name: str) -> dict[str, Any]:
    """One cluster's entry in a lab file's data."""
    found = next((c for c in data.get("clusters") or [] if c.get("name") == name), None)
    assert found is not None, f"the lab file has no cluster {name!r}"
    return found


@given("the lab file passes its intent checks")
def lab_checks(target, evidence):
    findings = run_checks(target.lab)
    evidence.attach("intent-checks", [f.__dict__ for f in findings])
    holds(evidence, "intent-check-errors",
          [Result("intent-checks", target.lab.lab.name, not errors, "no intent check reports an error" if not errors
                  else "; ".join(f"{f.check} {f.path}: {f.message}" for f in errors))
           for errors in [[f for f in findings if f.severity == "error"]]])
