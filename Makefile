# The two set-up commands: `make verify` (the acceptance features against the simulated default lab,
# ending in a sign-off bundle) and `make test` (everything CI runs). Both create .venv when needed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
LAB    ?= labs/aggrik8s.yaml
SIGNOFF ?= reports
SEED   ?= 0
PYTEST_ARGS ?=
# make test spreads whole test files over this many pytest-xdist workers (0: one process, as before)
TEST_WORKERS ?= auto
# Optional: WAIVERS=waivers.yaml (accepted deviations with expiry), SIGNING_KEY=~/.ssh/id_ed25519 (sign the bundle)
SIGNOFF_ARGS = --signoff $(SIGNOFF) --signoff-strict $(if $(WAIVERS),--waivers $(WAIVERS)) $(if $(SIGNING_KEY),--signing-key $(SIGNING_KEY))

.PHONY: help install collections verify test lab-verify lab-apply kind-verify serve bench check schema clean

help:
	@echo "make verify      acceptance features against the simulated lab ($(LAB)), sign-off bundle in $(SIGNOFF)/"
	@echo "make test        everything CI runs: unit, contract, property, fault tests and the features"
	@echo "make lab-verify LAB=labs/<lab>.yaml   the same features against the real lab (read-only)"
	@echo "make lab-apply  LAB=labs/<lab>.yaml   ... and provision it (--apply)"
	@echo "make kind-verify the mesh's clusters in kind with Cilium ClusterMesh (needs Docker and kind)"
	@echo "make serve       run the simulated lab in the foreground; endpoints in endpoints.json"
	@echo "make check       intent checks of LAB;  make schema: the lab file JSON Schema"
	@echo "make bench       speed and memory benchmarks"
	@echo "make clean       remove .venv, bundles and caches"

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q $$($(BIN)/python -c 'import tomllib; d = tomllib.load(open("pyproject.toml", "rb"))["project"]; print(" ".join(repr(x) for x in d["dependencies"]))' | tr -d "'")
	# labsim itself, editable: its pytest11 entry point registers the steps, targets and sign-off plugin
	PYTHONWARNINGS=ignore $(BIN)/python -m pip install -q --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

# Ansible's community.routeros collection, for the contract test that runs api_facts against a served device: from
# PyPI's `ansible` package (which bundles it; the release that goes with the ansible-core pyproject.toml installs),
# only that collection unpacked into .venv/ansible_collections.
ANSIBLE_PACKAGE ?= ansible>=12,<13
COLLECTIONS := $(VENV)/ansible_collections/community/routeros/.unpacked
$(COLLECTIONS): $(STAMP)
	rm -rf $(VENV)/ansible-wheel $(VENV)/ansible_collections/community/routeros
	$(BIN)/python -m pip download -q --no-deps "$(ANSIBLE_PACKAGE)" -d $(VENV)/ansible-wheel
	$(BIN)/python -c 'import glob, zipfile; z = zipfile.ZipFile(sorted(glob.glob("$(VENV)/ansible-wheel/*.whl"))[-1]); z.extractall("$(VENV)", [n for n in z.namelist() if n.startswith("ansible_collections/community/routeros/")])'
	rm -rf $(VENV)/ansible-wheel
	touch $(COLLECTIONS)

collections: $(COLLECTIONS)

verify: $(STAMP)
	$(BIN)/python -m pytest features/ --lab=$(LAB) --target sim --sim-seed $(SEED) $(SIGNOFF_ARGS) $(PYTEST_ARGS)

test: $(STAMP) $(COLLECTIONS)
	$(BIN)/python -m pytest tests/ features/ -q -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# The preflight (labsim/steps/preflight.py) stops lab-verify/lab-apply before any scenario when an endpoint, a
# secret or a tool is missing (exit 2, the bundle REJECTED with the list).
lab-verify: $(STAMP)
	$(BIN)/python -m pytest features/ --lab=$(LAB) --target lab $(SIGNOFF_ARGS) $(PYTEST_ARGS)

lab-apply: $(STAMP)
	$(BIN)/python -m pytest features/ --lab=$(LAB) --target lab --apply $(SIGNOFF_ARGS) $(PYTEST_ARGS)

kind-verify: $(STAMP)
	$(BIN)/python -m labsim.provisioners.kind verify $(LAB) -- $(PYTEST_ARGS)

serve: $(STAMP)
	$(BIN)/python -m labsim.fakes serve $(LAB) --endpoints-file endpoints.json --seed $(SEED)

check: $(STAMP)
	$(BIN)/python -m labsim.provisioners check $(LAB)

schema: $(STAMP)
	$(BIN)/python -m labsim.provisioners schema

bench: $(STAMP)
	$(BIN)/python -m tests.bench

clean:
	rm -rf $(VENV) $(SIGNOFF) endpoints.json .pytest_cache .hypothesis tests/artifacts
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
