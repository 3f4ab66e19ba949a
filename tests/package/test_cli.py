"""The labsim command and its messages: which lab file a run finds, init's starter repository, and a bad lab file or
option as one message with the field path and a hint (a traceback only with -v)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from labsim.cli import main
from labsim.labfile import find_lab, ini_setting
from labsim.messages import did_you_mean, lab_file_error
from labsim.provisioners.lab.load import LabFileError, load_lab
from labsim.resources import DEFAULT_LAB

REPO = Path(__file__).resolve().parents[2]


def test_lab_file_rule_in_order(tmp_path: Path) -> None:
    (tmp_path / "lab.yaml").write_text("lab: {name: x}\n")
    ini = (str("sub/ini.yaml"), tmp_path)
    assert find_lab("a.yaml", cwd=tmp_path, ini=ini, environ={"LABSIM_LAB": "e.yaml"}).source == "--lab"
    assert find_lab(None, cwd=tmp_path, ini=ini, environ={"LABSIM_LAB": "e.yaml"}).path == tmp_path / "e.yaml"
    choice = find_lab(None, cwd=tmp_path, ini=ini, environ={})
    assert choice.path == tmp_path / "sub" / "ini.yaml" and choice.source == "ini option labsim_lab"
    assert find_lab(None, cwd=tmp_path, environ={}).path == tmp_path / "lab.yaml"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert find_lab(None, cwd=empty, rootdir=tmp_path, environ={}).path == tmp_path / "lab.yaml"
    fallback = find_lab(None, cwd=empty, environ={})
    assert fallback.builtin and fallback.path == DEFAULT_LAB


def test_ini_option_is_read_like_pytest(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.pytest.ini_options]\nlabsim_lab = "labs/mine.yaml"\n')
    sub = tmp_path / "deep" / "er"
    sub.mkdir(parents=True)
    assert ini_setting(sub) == ("labs/mine.yaml", tmp_path)
    (sub / "pytest.ini").write_text("[pytest]\n")   # the nearest config file wins, even without the option
    assert ini_setting(sub) is None


def test_a_bad_lab_file_is_one_message_with_the_field_path(tmp_path: Path) -> None:
    text = (REPO / "labs" / "aggrik8s.yaml").read_text().replace("    id: 1500", "    id: fifteen", 1)
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    with pytest.raises(LabFileError) as exc:
        load_lab(bad)
    msg = lab_file_error(exc.value, path="bad.yaml")
    assert msg.splitlines() == [
        "labsim: the lab file bad.yaml cannot be used (1 error)",
        "  vlans[VLAN1500].id: expected a whole number, got the text 'fifteen' (line 129)",
        "hint: `labsim check bad.yaml` checks it alone; `labsim schema` prints the format"]
    assert "Traceback" not in msg
    assert "Traceback" in lab_file_error(exc.value, path="bad.yaml", verbose=True)


def test_labsim_verify_stops_once_on_a_bad_lab_file(tmp_path: Path) -> None:
    text = (REPO / "labs" / "aggrik8s.yaml").read_text().replace("    id: 1500", "    id: fifteen", 1)
    (tmp_path / "lab.yaml").write_text(text)
    proc = subprocess.run([sys.executable, "-c", "import sys; from labsim.cli import main; sys.exit(main(['verify']))"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.splitlines() == [
        "labsim: the lab file lab.yaml cannot be used (1 error)",
        "  vlans[VLAN1500].id: expected a whole number, got the text 'fifteen' (line 129)",
        "hint: `labsim check lab.yaml` checks it alone; `labsim schema` prints the format"]
    missing = subprocess.run([sys.executable, "-c", "import sys; from labsim.cli import main; "
                              "sys.exit(main(['verify', '--lab', 'labs/nope.yaml']))"],
                             cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    assert missing.returncode == 2 and len(missing.stderr.splitlines()) == 3, missing.stderr
    assert missing.stderr.startswith("labsim: the lab file labs/nope.yaml cannot be read\n")


def test_did_you_mean() -> None:
    assert did_you_mean("rb5009ug+s", ["RB5009UG+S+IN", "CHR"]) == " (did you mean 'RB5009UG+S+IN'?)"
    assert did_you_mean("zzz", ["RB5009UG+S+IN", "CHR"]) == ""


def test_init_writes_a_starter_repo_and_never_overwrites(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    written = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()}
    features = {f"features/{p.name}" for p in (REPO / "features").glob("*.feature")}
    assert written == features | {"lab.yaml", "lab.schema.json", "Makefile", "ci/github-actions.yml", ".gitignore"}
    lab = (tmp_path / "lab.yaml").read_text()
    assert lab.startswith("# yaml-language-server: $schema=./lab.schema.json\n")
    assert load_lab(tmp_path / "lab.yaml").lab.name == "aggrik8s"
    assert (tmp_path / "lab.schema.json").read_text() == (REPO / "labsim" / "schema" / "lab.schema.json").read_text()
    assert "labsim verify" in (tmp_path / "ci" / "github-actions.yml").read_text()
    assert "labsim verify" in out
    # again: nothing is overwritten, every file in the way is named
    (tmp_path / "lab.yaml").write_text("mine\n")
    assert main(["init", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("labsim: ") and "lab.yaml" in err and "--force" in err
    assert (tmp_path / "lab.yaml").read_text() == "mine\n"


def test_init_beside_an_existing_makefile(tmp_path: Path) -> None:
    (tmp_path / "Makefile").write_text("all:\n\techo mine\n")
    (tmp_path / ".gitignore").write_text("*.tfstate")
    assert main(["init", str(tmp_path), "--example", "example"]) == 0
    assert (tmp_path / "Makefile").read_text() == "all:\n\techo mine\n"
    assert "$(LABSIM) verify --lab $(LAB)" in (tmp_path / "labsim.mk").read_text()
    assert (tmp_path / ".gitignore").read_text().startswith("*.tfstate\n# labsim")
    assert load_lab(tmp_path / "lab.yaml").lab.name == "example"


def test_unknown_arguments_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["check", "a.yaml", "--bogus"])
    assert exc.value.code == 2 and "unknown arguments: --bogus" in capsys.readouterr().err
