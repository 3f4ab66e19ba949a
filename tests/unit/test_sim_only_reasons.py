"""Every @sim_only scenario says why it cannot run against a real lab (issue 13): a `# sim_only: <why>` comment right
above its tags, which a run against a real lab reports as the skip's reason (labsim/steps/harness.py)."""
from __future__ import annotations

import re
from pathlib import Path

from labsim.steps.harness import sim_only_comment

FEATURES = Path(__file__).resolve().parents[2] / "features"


def sim_only_scenarios():
    for feature in sorted(FEATURES.glob("*.feature")):
        lines = feature.read_text().splitlines()
        for n, line in enumerate(lines, 1):
            if re.match(r"\s*Scenario", line):
                tags, k = [], n - 2
                while k >= 0 and lines[k].strip().startswith("@"):
                    tags += lines[k].split()
                    k -= 1
                if "@sim_only" in tags:
                    yield feature, n, line.strip()


def test_every_sim_only_scenario_states_why():
    found = list(sim_only_scenarios())
    assert found, "no @sim_only scenario found: the parser is broken"
    missing = [f"{f.name}:{n} {name}" for f, n, name in found if not sim_only_comment(str(f), n)]
    assert not missing, "@sim_only without a '# sim_only: <why>' comment above its tags:\n" + "\n".join(missing)


def test_the_reason_is_read_from_the_comment(tmp_path):
    f = tmp_path / "x.feature"
    f.write_text("Feature: x\n\n  # sim_only: needs a fault only the simulator has\n  @destructive @sim_only\n"
                 "  Scenario: y\n    Then z\n")
    assert sim_only_comment(str(f), 5) == "needs a fault only the simulator has"
    assert sim_only_comment(str(f), 1) is None
