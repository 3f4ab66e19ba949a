"""The copy a lab checkpoint makes (labsim/fakes/checkpoint.py): closures follow their objects into the copy, locks
and conditions are new and free, live resources stay behind, the folders the root names come back on restore."""
from __future__ import annotations

import os
import socket
import tempfile
import threading
from pathlib import Path

import pytest

from labsim.fakes import checkpoint


class Device:
    def __init__(self) -> None:
        self.writes = 0
        self.lock = threading.RLock()
        self.ready = threading.Condition(threading.Lock())
        self.stopped = threading.Event()
        self.on_change = [lambda: self.bump()]         # a closure over the device, as the world keeps them
        self.callback = self.bump                       # a bound method

    def bump(self) -> None:
        self.writes += 1


def test_closures_and_bound_methods_act_on_the_copy_not_the_original():
    original = Device()
    copy = checkpoint.restore(checkpoint.take(original))
    copy.on_change[0]()
    copy.callback()
    assert (copy.writes, original.writes) == (2, 0)


def test_locks_and_conditions_are_new_and_free_in_the_copy():
    original = Device()
    with original.lock, original.ready:            # held by the original while it is copied
        copy = checkpoint.restore(checkpoint.take(original))
    assert copy.lock.acquire(blocking=False)
    with copy.ready:
        copy.ready.notify_all()                     # the condition's own lock: no "un-acquired lock" error
    assert not copy.stopped.is_set()


def test_threads_and_sockets_stay_behind():
    holder = Device()
    holder.thread = threading.Thread(target=lambda: None)
    holder.sock = socket.socket()
    try:
        copy = checkpoint.restore(checkpoint.take(holder))
    finally:
        holder.sock.close()
    assert copy.thread is None and copy.sock is None


def test_the_folders_the_root_names_come_back_at_their_paths_and_a_folder_still_there_refuses_the_restore():
    folder = Path(tempfile.mkdtemp(prefix=checkpoint.TEMP_PREFIX + "test-"))
    try:
        (folder / "sub").mkdir()
        (folder / "sub" / "key.pem").write_text("secret")
        os.chmod(folder / "sub" / "key.pem", 0o600)
        # named in a string, and a folder of its own named only by a Path
        root = {"kubeconfig": str(folder / "sub" / "key.pem"), "kube_dir": Path(str(folder) + "-kube")}
        root["kube_dir"].mkdir()
        cp = checkpoint.take(root)
        with pytest.raises(checkpoint.Unrestorable, match="still exists"):
            checkpoint.restore(cp)
        checkpoint.remove_files(cp)
        assert not folder.exists() and not root["kube_dir"].exists()
        assert checkpoint.restore(cp) == root
        assert (folder / "sub" / "key.pem").read_text() == "secret"
        assert (folder / "sub" / "key.pem").stat().st_mode & 0o777 == 0o600
        assert root["kube_dir"].is_dir()
    finally:
        import shutil
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(str(folder) + "-kube", ignore_errors=True)


def _bind(port: int) -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", port))
    return sock


def test_a_kept_checkpoints_ports_are_held_between_restores_and_let_go_for_one():
    lab = socket.socket()
    lab.bind(("127.0.0.1", 0))
    lab.listen()
    addr = lab.getsockname()
    cp = checkpoint.Checkpoint(b"", [], ports=[addr])
    holds = checkpoint.PortHolds()
    holds.keep(cp)
    holds.hold()
    assert holds.held() == set()           # the running lab listens there: nothing to hold
    lab.close()
    holds.hold()                           # the lab stopped
    assert holds.held() == {addr}
    with pytest.raises(OSError):           # anyone else (another worker's lab) is refused the port
        _bind(addr[1])
    holds.release(cp.ports)                # a restore
    _bind(addr[1]).close()
    holds.hold()
    holds.keep(cp)                         # a second checkpoint of the same lab: one hold for both
    holds.drop(cp)
    assert holds.held() == {addr}
    holds.drop(cp)                         # no kept checkpoint wants it any more
    assert holds.held() == set()
    _bind(addr[1]).close()
