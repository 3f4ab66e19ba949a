"""Targets: where the features run. Both hand steps the same things: clients, a clock, endpoints.

- `SimTarget` starts a fresh simulated lab from the lab file (one per scenario, so a scenario that
  breaks the lab never leaks into the next) and hands out its endpoints and virtual clock.
- `LabTarget` reaches the real endpoints the lab file names, with secrets from the environment, in
  real time.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from labsim import fastyaml
from labsim.provisioners.vocabulary import Clock, RealClock
from labsim.provisioners.endpoints import Endpoints, ProxmoxEndpoint, RouterOSEndpoint
from labsim.provisioners.fabric.client import connect
from labsim.provisioners.lab import load_lab
from labsim.provisioners.lab.secrets import SecretError, resolve
from labsim.provisioners.proxmox.client import connect as connect_proxmox
from labsim.provisioners.talos.cli import Tools


def _has_context(path: Path, cluster: str, exact: bool = False) -> bool:
    try:
        doc = fastyaml.load(path.read_text()) or {}
    except OSError:
        return False
    for ctx in doc.get("contexts") or []:
        if ctx.get("name") == cluster or (not exact and (ctx.get("context") or {}).get("cluster") == cluster):
            return True
    return False


class Target:
    name = "abstract"
    writes_allowed = False
    # Whether traffic checks may run probe pods in the lab's clusters: always in the simulator and kind (their
    # clusters exist for the run), against a real lab only with --allow-probes (labsim/steps/harness.py).
    probes_allowed = True
    # Which clock the lab's time is read from: a real lab's time passes at the wall clock's rate.
    lab_clock = "wall"

    def __init__(self, labfile: str | Path):
        self.labfile = Path(labfile)
        self.lab = load_lab(self.labfile)
        self.endpoints: Endpoints = Endpoints(self.lab.lab.name)
        self.clock: Clock = RealClock()
        self._lab_t0 = self.clock.now()
        self._routeros: dict[str, Any] = {}
        self._proxmox: dict[str, Any] = {}
        self._unreachable: dict[str, str] = {}   # Proxmox node -> why there is no endpoint (a secret missing)
        self.connections_opened = 0
        # where lab code keeps files between runs (Talos secrets, configs, talosconfig, kubeconfigs)
        self.workdir = Path(os.environ.get("LABSIM_WORKDIR") or Path(".labsim") / self.lab.lab.name)

    # --- clients ----------------------------------------------------------------------------
    def routeros(self, identity: str):
        """A logged-in librouteros connection to one device (reused within the scenario)."""
        if identity not in self._routeros:
            ep = self.endpoints.routeros.get(identity)
            if ep is None:
                raise KeyError(f"no RouterOS endpoint for {identity!r} in lab {self.endpoints.lab!r}")
            self.connections_opened += 1
            self._routeros[identity] = connect(ep)
        return self._routeros[identity]

    def routeros_all(self) -> dict[str, Any]:
        return {d.identity: self.routeros(d.identity) for d in self.lab.routeros.devices}

    def proxmox(self, node: str | None = None):
        """A `ProxmoxAPI` for one node (default: the first), token auth, TLS verified (reused per scenario)."""
        name = node or next(iter([*self.endpoints.proxmox, *self._unreachable]), None)
        ep = self.endpoints.proxmox.get(name or "")
        if name in self._unreachable:
            raise SecretError(f"Proxmox node {name}: {self._unreachable[name]}")
        if ep is None:
            raise KeyError(f"no Proxmox endpoint for {node or 'any node'!r} in lab {self.endpoints.lab!r}")
        if ep.node not in self._proxmox:
            self._proxmox[ep.node] = connect_proxmox(ep)
        return self._proxmox[ep.node]

    def kubeconfig(self, cluster: str) -> Path:
        """The kubeconfig for a cluster: one the simulated lab serves, one lab code wrote to the workdir
        (`talos/<cluster>/kubeconfig`, where the Talos provisioner's `talosctl kubeconfig` writes it, or
        `kubeconfig-<cluster>`), or a context named after the cluster in $KUBECONFIG (how an engineer keeps
        the piCluster's)."""
        served = self.endpoints.extra.get("kubernetes", {}).get(cluster)
        if served:
            return Path(served["kubeconfig"])
        candidates = [self.workdir / "talos" / cluster / "kubeconfig", self.workdir / f"kubeconfig-{cluster}"]
        written = next((p for p in candidates if p.exists()), candidates[-1])
        if written.exists():
            return written
        for path in filter(None, os.environ.get("KUBECONFIG", "").split(os.pathsep)):
            if _has_context(Path(path), cluster):
                return Path(path)
        raise KeyError(f"no kubeconfig for cluster {cluster!r}: none served, none at {' or '.join(map(str, candidates))}, "
                       f"and no context named {cluster!r} in $KUBECONFIG")

    def kubernetes(self, cluster: str):
        """A `kubernetes` ApiClient for a cluster, TLS verified against the kubeconfig's CA."""
        from kubernetes import config

        path = self.kubeconfig(cluster)
        context = cluster if _has_context(path, cluster, exact=True) else None
        return config.new_client_from_config(config_file=str(path), context=context)

    def reconnect(self) -> None:
        """Drop cached connections (after a fault closed one, the next step logs in again)."""
        for api in self._routeros.values():
            try:
                api.close()
            except Exception:  # noqa: BLE001 - already closed by the fault
                pass
        self._routeros.clear()
        self._proxmox.clear()   # HTTPS: nothing to close; a new client logs in again

    def device_writes(self) -> dict[str, int] | None:
        """Changes each device accepted, where the target can count them (the simulator); else None."""
        return None

    def tool_env(self) -> dict[str, str]:
        """Environment for the command-line tools lab code runs (talosctl, helm): this machine's."""
        return dict(os.environ)

    def tools(self) -> Tools:
        """How lab code runs the command-line tools: as subprocesses, in `tool_env()`."""
        return Tools(env=self.tool_env())

    # Whether the lab's Kubernetes clusters come ready-made from the target (kind), rather than built by the suite
    # from the lab file's Talos clusters: then the Talos, mesh and Ceph steps take them as found.
    clusters_given = False

    def cluster_kubeconfig(self, cluster: str) -> Path | None:
        """The kubeconfig the Talos, mesh and Ceph steps use for a cluster when the target hands one out (kind);
        None: the one the Talos provisioner keeps in the workdir (`talos/<cluster>/kubeconfig`)."""
        return None

    def lab_seconds(self) -> float:
        """The lab time this target has covered so far, on its `lab_clock` (virtual seconds in the simulator)."""
        return max(self.clock.now() - self._lab_t0, 0.0)

    def close(self) -> None:
        self.reconnect()


# The Go command-line tools that run against a simulated lab (the real kubectl) live a fraction of a second per run,
# some 800 runs in make test: Go's garbage collector was a seventh of test_broken_ceph.py's CPU (its toolbox polls).
# Off, with a limit for the few that run longer (port-forward, logs -f): the setting the Go GC guide gives for
# programs whose heap stays small (https://go.dev/doc/gc-guide, "Memory limit"). The lab target keeps this machine's.
GO_TOOLS = {"GOGC": "off", "GOMEMLIMIT": "512MiB"}


class SimTarget(Target):
    name = "sim"
    writes_allowed = True
    lab_clock = "virtual"

    def __init__(self, labfile: str | Path, *, seed: int = 0):
        super().__init__(labfile)
        from labsim.fakes.lab import SimulatedLab, sim_secrets  # steps may start a simulated lab
        from labsim.fakes.inventory import load_inventory

        refs = load_inventory(self.labfile).secret_refs()
        # The simulated lab's secrets go where a real lab's would be: the environment. A value an
        # engineer (or a test) already exported is kept, so known secrets can be planted.
        values = sim_secrets(refs, os.environ)
        for ref, value in values.items():
            if ref.startswith("env:"):
                os.environ.setdefault(ref[4:], value)
        self.sim = SimulatedLab(self.labfile, seed=seed, secrets=values)
        self.clock = self.sim.clock
        self._lab_t0 = self.clock.now()   # before the lab boots: booting takes lab time too
        self.sim.start()
        self.endpoints = Endpoints.from_json(self.sim.endpoints())
        self.workdir = Path(tempfile.mkdtemp(prefix="labsim-work-"))

    def device_writes(self) -> dict[str, int]:
        return self.sim.writes()

    # --- lab checkpoints (labsim/fakes/checkpoint.py, labsim/steps/checkpoints.py) ------------------------------
    def checkpoint(self, records: dict[str, Any]):
        """This target and its lab as they stand, with a scenario's run records; None: this lab cannot be copied."""
        from labsim.fakes import checkpoint

        if self.sim.unfit_for_checkpoints():
            return None
        # Our clients' connections are not part of the lab: left out of the copy, and kept open here (a re-login
        # would show in this scenario's API transcript only because a checkpoint was taken). The copy keeps the
        # devices' names, and a restore logs in to them again off the record (`restored`).
        clients = self._routeros, self._proxmox
        self._routeros, self._proxmox = dict.fromkeys(self._routeros), {}
        try:
            with self.clock.lock:
                return checkpoint.take((self, records), dirs=[self.workdir], ports=self.sim.addresses())
        finally:
            self._routeros, self._proxmox = clients

    @classmethod
    def restored(cls, cp) -> tuple[SimTarget, dict[str, Any]]:
        """A target on a restored copy of a checkpointed lab, serving on the ports the checkpointed lab had."""
        from labsim.fakes import checkpoint

        target, records = checkpoint.restore(cp)
        checkpoint.HOLDS.release(cp.ports)
        try:
            target.sim.revive()
        except Exception:
            checkpoint.remove_files(cp)
            raise
        target._reopen_routeros(list(target._routeros))
        return target, records

    def _reopen_routeros(self, identities: list[str]) -> None:
        """Log in again to the devices the checkpointed scenario had logged in to, without a transcript: the
        restored scenario's transcript already holds the first login, as a freshly built one's would."""
        from labsim.steps.transcripts import off_record

        self._routeros, self._proxmox = {}, {}
        with off_record():
            for identity in identities:
                ep = self.endpoints.routeros.get(identity)
                if ep is not None:
                    self._routeros[identity] = connect(ep)

    def tool_env(self) -> dict[str, str]:
        """The fake talosctl/helm first on PATH, reaching this lab's control API; helm's files in the workdir; the
        real kubectl without its garbage collector (GO_TOOLS), unless this machine's environment says otherwise."""
        helm = self.workdir / "helm"
        return {**GO_TOOLS, **os.environ, **self.sim.talos.tool_env(), "HELM_CONFIG_HOME": str(helm / "config"),
                "HELM_CACHE_HOME": str(helm / "cache"), "HELM_DATA_HOME": str(helm / "data")}

    def tools(self) -> Tools:
        """The fake tools' runs go straight to the lab's zygote (no launcher started: labsim/fakes/tools/handoff.py);
        the real kubectl, and a fake tool when no zygote listens, run as subprocesses."""
        from labsim.fakes.tools import handoff

        return Tools(env=self.tool_env(), spawn=handoff.run)

    def close(self) -> None:
        from labsim.fakes import checkpoint

        super().close()
        self.sim.stop()
        checkpoint.HOLDS.hold()     # the ports of kept checkpoints this lab had, or a restore of one had
        shutil.rmtree(self.workdir, ignore_errors=True)


class LabTarget(Target):
    name = "lab"

    def __init__(self, labfile: str | Path, *, apply: bool = False, allow_probes: bool = False, environ=os.environ):
        super().__init__(labfile)
        self.writes_allowed = apply
        self.probes_allowed = allow_probes
        for dev in self.lab.routeros.devices:
            login = self.lab.routeros_login(dev.identity)
            self.endpoints.routeros[dev.identity] = RouterOSEndpoint(
                identity=dev.identity, host=str(login.address), port=login.port, username=login.username,
                password=resolve(login.password, environ) if login.password else "", login=login.login,
                tls_port=login.port if login.tls else None, ca=self._ca_file(login.ca_file), verify_tls=login.verify_tls)
        pve = self.lab.proxmox
        for node in pve.nodes if pve else []:
            cred = pve.credentials
            try:   # a missing secret fails the Proxmox steps (when asked for a client), not the whole run
                token = resolve(cred.token_secret, environ) if cred.token_secret else None
                password = resolve(cred.password, environ) if cred.password and not token else None
            except SecretError as exc:
                self._unreachable[node.name] = str(exc)
                continue
            host, port = self.lab.proxmox_reach(node.name)   # management address, or its reach (a forward)
            self.endpoints.proxmox[node.name] = ProxmoxEndpoint(
                node=node.name, host=host, port=port, user=cred.user,
                token_id=cred.token_id, token_secret=token, password=password, ca=self._ca_file(pve.ca_file),
                verify_tls=pve.verify_tls)

    def _ca_file(self, ca_file: str | None) -> str | None:
        """The lab's CA bundle; a relative path is relative to the lab file."""
        if not ca_file:
            return None
        path = Path(ca_file).expanduser()
        return str(path if path.is_absolute() else self.labfile.parent / path)
