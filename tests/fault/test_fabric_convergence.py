"""A connection lost at any write leaves the lab in a state the next run repairs.

For every device and every write the clean run makes on it, a fresh simulated lab hangs up on exactly
that write (the device never executes it); the run must stop with a precise message naming the device
and the command, and a second run, from whatever state the first left, must converge: its plan then
comes out empty and verification passes.
"""
from __future__ import annotations

import functools
from pathlib import Path

import pytest

from labsim.fakes.lab import SimulatedLab
from labsim.provisioners.endpoints import Endpoints
from labsim.provisioners.fabric.apply import FabricApplyError
from labsim.provisioners.fabric.client import connect
from labsim.provisioners.fabric.plan import plan
from labsim.provisioners.fabric.run import provision
from labsim.provisioners.fabric.verify import verify
from labsim.provisioners.lab import load_lab

ROOT = Path(__file__).resolve().parents[2]
LABS = {"example": ROOT / "labs" / "example.yaml", "aggrik8s": ROOT / "labs" / "aggrik8s.yaml"}


def _connections(sim):
    eps = Endpoints.from_json(sim.endpoints())
    return {ident: connect(ep) for ident, ep in eps.routeros.items()}


def _profile(labfile: Path) -> list[tuple[str, int, int]]:
    """(device, sentences before its first write, writes) from one clean run."""
    lab = load_lab(labfile)
    with SimulatedLab(labfile, secrets=_secrets(labfile)) as sim:
        conns = _connections(sim)
        p = plan(lab, conns)
        before = {d: srv.sentences_received for d, srv in sim.routeros.items()}
        from labsim.provisioners.fabric.apply import apply
        apply(p, conns)
        return [(d, before[d], len(dp.changes)) for d, dp in zip([x.device for x in p.devices], p.devices)]


@functools.cache
def _lab(labfile: Path):
    """The lab file, loaded once per module: 117 cases read the same two files (a tenth of each case's time)."""
    return load_lab(labfile)


@functools.cache
def _secrets(labfile: Path) -> dict[str, str]:
    from labsim.fakes.inventory import load_inventory
    return {ref: "convergence-test" for ref in load_inventory(labfile).secret_refs()}


def _cases():
    for name, labfile in LABS.items():
        for device, offset, writes in _profile(labfile):
            for j in range(writes):
                yield pytest.param(labfile, device, offset, j, id=f"{name}-{device}-write{j}")


@pytest.mark.parametrize("labfile,device,offset,index", list(_cases()))
def test_rerun_converges_after_connection_lost_at_write(labfile, device, offset, index):
    lab = _lab(labfile)
    with SimulatedLab(labfile, secrets=_secrets(labfile)) as sim:
        # `offset` sentences (login and reads) precede the device's first write on its connection
        sim.routeros[device].faults.close_after_sentences = offset + index
        with pytest.raises(FabricApplyError) as failed:
            provision(lab, _connections(sim).__getitem__)
        assert failed.value.device == device
        assert "connection lost" in str(failed.value) and failed.value.command in str(failed.value)

        sim.routeros[device].faults.clear()
        conns = _connections(sim)
        provision(lab, conns.__getitem__)
        again = plan(lab, conns)
        assert again.empty(), again.describe()
        bad = [str(r) for r in verify(lab, conns) if not r.ok]
        assert not bad, bad
