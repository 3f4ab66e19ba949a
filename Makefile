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
# make test spreads whole test files over this many pytest-xdist workers (0: one process, as before; default: two
# per usable CPU, as memory allows: labsim.cli.test_workers says why)
TEST_WORKERS ?= $(shell $(BIN)/python -c 'from labsim.cli import test_workers; print(test_workers())')
# make verify runs the scenarios in this many processes, one sign-off bundle for all (auto: one per usable CPU, at
# most 8; 1: a single process)
VERIFY_WORKERS ?= auto
# Compiled modules are kept, under .venv/pycache (the source tree stays clean), also where the environment says not
# to write them (PYTHONDONTWRITEBYTECODE, set on this image): every Python process the suite starts (each broken-lab
# case is a pytest process, each fake tool run a Python program) would otherwise compile labsim's ~440 modules and
# their assertion rewrites again, about 3 s of CPU per process.
unexport PYTHONDONTWRITEBYTECODE
export PYTHONPYCACHEPREFIX := $(CURDIR)/$(VENV)/pycache
# The simulated runs execute in a network namespace with only loopback where the OS allows it
# (labsim/steps/netns.py); NETNS=require refuses to run without one (CI), ISOLATE= runs without it.
ISOLATE ?= $(BIN)/python -m labsim.steps.netns $(if $(filter require,$(NETNS)),--require) --
# Optional: WAIVERS=waivers.yaml (accepted deviations with expiry), SIGNING_KEY=~/.ssh/id_ed25519 (sign the bundle)
RUN_ARGS = --signoff $(SIGNOFF) $(if $(WAIVERS),--waivers $(WAIVERS)) $(if $(SIGNING_KEY),--signing-key $(SIGNING_KEY))

# make verify-labs: the other lab files kept green (each ACCEPTED, scenarios they cannot run "not in this lab")
VERIFY_LABS ?= labs/example.yaml labs/single-router.yaml labs/one-node.yaml labs/tri-mesh.yaml labs/hub-spoke-ceph.yaml \
               labs/bouquet2.yaml labs/hetzner-trio.yaml labs/aggrik8s-hybrid.yaml

.PHONY: help install collections verify verify-labs test lab-verify lab-apply kind-verify serve bench check schema clean ceph-real

help:
	@echo "make verify      acceptance features against the simulated lab ($(LAB)), sign-off bundle in $(SIGNOFF)/"
	@echo "make verify-labs make verify for each of the other lab files CI keeps green ($(VERIFY_LABS))"
	@echo "make test        everything CI runs: unit, contract, property, fault tests and the features"
	@echo "make lab-verify LAB=labs/<lab>.yaml   the same features against the real lab (read-only)"
	@echo "make lab-apply  LAB=labs/<lab>.yaml   ... and provision it (--apply)"
	@echo "make kind-verify the mesh's clusters in kind with Cilium ClusterMesh (needs Docker and kind)"
	@echo "make serve       run the simulated lab in the foreground; endpoints in endpoints.json"
	@echo "make check       intent checks of LAB;  make schema: the lab file JSON Schema"
	@echo "make bench       speed and memory benchmarks"
	@echo "make ceph-real   the simulated Ceph against a real micro cluster (Debian's ceph packages, ~5 min)"
	@echo "make clean       remove .venv, bundles and caches"

# The set-up prints one line per phase with its time, on stderr: `make schema > x.json` stays the schema alone.
DEPS = $$($(BIN)/python -c 'import tomllib; d = tomllib.load(open("pyproject.toml", "rb"))["project"]; print(" ".join(d["dependencies"] + d["optional-dependencies"]["dev"]))')
$(STAMP): pyproject.toml dnswatch/pyproject.toml
	@echo "setup: .venv: installing labsim's dependencies from PyPI (about 2 min the first time; pip's cache helps)" >&2
	@t=$$(date +%s); { test -x $(BIN)/python || $(PYTHON) -m venv $(VENV); } && $(BIN)/python -m pip install -q --upgrade pip >&2 \
	  && echo "setup:   venv and pip ready  $$(( $$(date +%s) - t )) s" >&2
	@t=$$(date +%s); $(BIN)/python -m pip install -q $(DEPS) >&2 \
	  && echo "setup:   dependencies installed  $$(( $$(date +%s) - t )) s" >&2
	@# labsim itself, editable: the labsim command, and the pytest11 entry point that registers steps, targets, sign-off
	@t=$$(date +%s); PYTHONWARNINGS=ignore $(BIN)/python -m pip install -q --no-deps -e . >&2 \
	  && echo "setup:   labsim installed (editable)  $$(( $$(date +%s) - t )) s" >&2
	@# the round-robin DNS failover watcher (dnswatch/, its own package): the simulated lab runs its code in a pod
	@t=$$(date +%s); PYTHONWARNINGS=ignore $(BIN)/python -m pip install -q --no-deps -e dnswatch >&2 \
	  && echo "setup:   labsim-dnswatch installed (editable)  $$(( $$(date +%s) - t )) s" >&2
	@touch $(STAMP)

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

# The wheels `pip install <checkout>` needs (tests/package/test_install.py: labsim's dependencies and its build
# backend), fetched here while the registry is reachable: make test runs in a network namespace with loopback only.
WHEELS := $(VENV)/wheelhouse/.complete
WHEEL_DEPS = $$($(BIN)/python -c 'import tomllib; d = tomllib.load(open("pyproject.toml", "rb")); print(" ".join(d["project"]["dependencies"] + d["build-system"]["requires"] + ["wheel"]))')
$(WHEELS): $(STAMP)
	@t=$$(date +%s); $(BIN)/python -m pip download -q -d $(VENV)/wheelhouse $(WHEEL_DEPS) >&2 \
	  && echo "setup:   wheels for the install test downloaded  $$(( $$(date +%s) - t )) s" >&2
	@touch $(WHEELS)

verify: $(STAMP)
	$(ISOLATE) $(BIN)/labsim verify --lab $(LAB) --seed $(SEED) --workers $(VERIFY_WORKERS) $(RUN_ARGS) $(PYTEST_ARGS)

verify-labs: $(STAMP)
	@set -e; for lab in $(VERIFY_LABS); do echo "== make verify LAB=$$lab"; $(MAKE) --no-print-directory verify LAB=$$lab; done

# The lint step first (a second or two: ruff, rules in pyproject.toml), then the suite.
test: $(STAMP) $(COLLECTIONS) $(WHEELS)
	$(BIN)/ruff check --quiet labsim tests
	$(ISOLATE) $(BIN)/python -m pytest tests/ features/ -q -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# The preflight (labsim/steps/preflight.py) stops lab-verify/lab-apply before any scenario when an endpoint, a
# secret or a tool is missing (exit 2, the bundle REJECTED with the list).
lab-verify: $(STAMP)
	$(BIN)/labsim lab-verify --lab $(LAB) $(RUN_ARGS) $(PYTEST_ARGS)

lab-apply: $(STAMP)
	$(BIN)/labsim lab-apply --lab $(LAB) $(RUN_ARGS) $(PYTEST_ARGS)

kind-verify: $(STAMP)
	$(BIN)/python -m labsim.provisioners.kind verify $(LAB) -- $(PYTEST_ARGS)

serve: $(STAMP)
	$(BIN)/labsim serve $(LAB) --endpoints-file endpoints.json --seed $(SEED)

check: $(STAMP)
	@$(BIN)/labsim check $(LAB)

# `make schema > lab.schema.json`: the committed schema file, nothing else on stdout
schema: $(STAMP)
	@$(BIN)/labsim schema

bench: $(STAMP)
	$(BIN)/python -m tests.bench

# The differential tier (tests/ceph_real): Debian's ceph packages run a micro cluster on 127.0.0.1 and the
# simulator, set to the same release, goes through the same timeline; every fact is compared. Installs the
# packages when it can (root, apt); without them it prints one SKIPPED line and runs nothing. Not part of
# `make test` (it takes minutes); `.ci/run` runs it. CEPH_REAL_ARGS: e.g. --record FILE, --keep.
CEPH_REAL_ARGS ?=
ceph-real: $(STAMP)
	@command -v ceph-osd >/dev/null 2>&1 || { if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "ceph-real: installing Debian's ceph packages (apt-get install ceph)"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
	   ceph >/dev/null) || echo "ceph-real: apt-get install ceph failed"; \
	  else echo "ceph-real: cannot install Debian's ceph packages here (needs root and apt-get)"; fi; }
	$(BIN)/python -m tests.ceph_real $(CEPH_REAL_ARGS)

clean:
	rm -rf $(VENV) $(SIGNOFF) endpoints.json .pytest_cache .hypothesis tests/artifacts
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
