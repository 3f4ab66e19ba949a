"""UPIDs and tasks in virtual time; tickets and CSRF tokens against the virtual clock."""
from __future__ import annotations

import pytest
from proxmoxer.tools import Tasks

from labsim.fakes.clock import EPOCH, VirtualClock
from labsim.fakes.proxmox import errors as E
from labsim.fakes.proxmox.auth import Auth, extract_auth_value
from labsim.fakes.proxmox.tasks import TaskError, TaskManager, decode_upid, encode_upid


def test_upid_format_has_nine_fields_and_a_trailing_colon() -> None:
    upid = encode_upid("pve", 0x52BC, 0x57E40, 0x6955B900, "qmcreate", "1501", "root@pam!ci")
    assert upid == "UPID:pve:000052BC:00057E40:6955B900:qmcreate:1501:root@pam!ci:"
    d = Tasks.decode_upid(upid)       # proxmoxer's own decoder asserts 9 segments
    assert (d["node"], d["pid"], d["type"], d["id"], d["user"]) == ("pve", 0x52BC, "qmcreate", "1501", "root@pam")
    assert decode_upid(upid)["user"] == "root@pam!ci"
    assert decode_upid("UPID:pve:1:2:3:x:y:z") is None


def test_task_runs_in_virtual_time() -> None:
    clock = VirtualClock()
    tm = TaskManager(clock, 0, lambda node: 100.0 + clock.now())
    done = []
    t = tm.start("pve", "qmstart", "100", "root@pam", 1.5, lambda task: done.append(task.upid))
    assert t.status_json()["status"] == "running" and "exitstatus" not in t.status_json()
    clock.sleep(1.0)
    assert t.status == "running" and not done
    clock.sleep(0.6)
    assert t.status_json()["status"] == "stopped" and t.exitstatus == "OK" and t.log[-1] == "TASK OK"
    assert done == [t.upid]


def test_failing_task_reports_its_error() -> None:
    clock = VirtualClock()
    tm = TaskManager(clock, 0, lambda node: clock.now())
    cleaned = []

    def work(task):
        task.print("doing things")
        raise TaskError("VM 100 already running")
    t = tm.start("pve", "qmstart", "100", "root@pam!ci", 1, work, on_fail=lambda task, msg: cleaned.append(msg))
    clock.sleep(1)
    assert t.exitstatus == "VM 100 already running"
    assert t.log == ["doing things", "TASK ERROR: VM 100 already running"]
    assert cleaned == ["VM 100 already running"]
    js = t.status_json()
    assert js["user"] == "root@pam" and js["tokenid"] == "ci"


def test_pids_increase_and_are_seeded() -> None:
    a = TaskManager(VirtualClock(), 3, lambda n: 0.0)
    b = TaskManager(VirtualClock(), 3, lambda n: 0.0)
    pa = [a.next_pid("pve") for _ in range(5)]
    assert pa == sorted(pa) and pa == [b.next_pid("pve") for _ in range(5)]


def test_ticket_lives_two_hours_of_virtual_time() -> None:
    clock = VirtualClock(epoch=EPOCH)       # the ticket carries the clock's instant in hex
    auth = Auth(clock, {"root@pam": "pw"}, {})
    login = auth.login("root@pam", "pw")
    ticket = login["ticket"]
    assert ticket.startswith("PVE:root@pam:6955B900::")
    clock.sleep(7199)
    assert auth.verify_ticket(ticket) == "root@pam"
    renewed = auth.login("root@pam", ticket)["ticket"]     # renewal: the ticket as the password
    clock.sleep(1)
    with pytest.raises(E.ApiError) as exc:
        auth.verify_ticket(ticket)
    assert (exc.value.status, exc.value.reason, exc.value.body()) == (401, "Authentication failed!", None)
    assert auth.verify_ticket(renewed) == "root@pam"


def test_csrf_token_is_bound_to_the_user() -> None:
    auth = Auth(VirtualClock(), {"root@pam": "pw", "ops@pve": "x"}, {})
    tok = auth.make_csrf("root@pam")
    auth.verify_csrf("root@pam", tok)
    for bad in (None, "", tok + "x"):
        with pytest.raises(E.ApiError) as exc:
            auth.verify_csrf("root@pam", bad)
        assert exc.value.reason == "Permission denied - invalid csrf token"
    with pytest.raises(E.ApiError):
        auth.verify_csrf("ops@pve", tok)


def test_token_value_splits_at_the_last_equals_sign() -> None:
    auth = Auth(VirtualClock(), {"root@pam": "pw"}, {"root@pam!ci": "abc-123"})
    assert auth.verify_token("root@pam!ci=abc-123") == "root@pam!ci"
    for bad in ("root@pam!ci:abc-123", "root@pam!ci=wrong", "root@pam=abc-123", "root@pam!other=abc-123"):
        with pytest.raises(E.ApiError) as exc:
            auth.verify_token(bad)
        assert (exc.value.status, exc.value.reason) == (401, "Authentication failed!")


def test_extract_auth_value_like_pve() -> None:
    assert extract_auth_value("PVEAPIToken=root@pam!ci=x", "PVEAPIToken") == "root@pam!ci=x"
    assert extract_auth_value("a=b; PVEAuthCookie=PVE%3Aroot%40pam%3A1::s", "PVEAuthCookie") == "PVE:root@pam:1::s"
    assert extract_auth_value("Bearer x", "PVEAPIToken") is None


def test_wrong_password_is_authentication_failure() -> None:
    auth = Auth(VirtualClock(), {"root@pam": "pw"}, {})
    for user, pw in (("root@pam", "nope"), ("nobody@pam", "pw")):
        with pytest.raises(E.ApiError) as exc:
            auth.login(user, pw)
        assert (exc.value.status, exc.value.reason) == (401, "authentication failure")
    assert auth.login("root", "pw", realm="pam")["username"] == "root@pam"
