"""Files that ship inside the package: the RouterOS hardware catalogue, the default lab files and the features.

Found with `importlib.resources`, so they are where an installed labsim has them as well as in a checkout
(`labsim/features` and `labsim/labs` are links to the repository's own `features/` and `labs/`, which the
package build copies in). Neither layer owns these files: the simulator builds its devices from the same
catalogue the lab file's intent checks read.
"""
from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def package_path(*parts: str) -> Path:
    """A file or folder inside the installed package (a real path: labsim is never imported from a zip)."""
    return Path(str(files("labsim").joinpath(*parts)))


HARDWARE_CATALOGUE = package_path("hardware", "routeros-models.yaml")
# The lab file's JSON Schema, generated from the lab file model and committed (tests/unit/test_schema_file.py keeps
# it in sync); `labsim schema` prints this file, `labsim init` copies it beside the user's lab file for editors.
LAB_SCHEMA = package_path("schema", "lab.schema.json")
# The schema's `$id`: names the format and its version (a URN: the project publishes no schema URL of its own;
# editors read the copy `labsim init` writes, named in the lab file's `# yaml-language-server: $schema=` line).
LAB_SCHEMA_ID = "urn:labsim:schema:lab-file:1"
DEFAULT_LAB = package_path("labs", "aggrik8s.yaml")
FEATURES = package_path("features")
