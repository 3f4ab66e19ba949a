"""Rook-Ceph as one system, with the same entry points as the others (every system's `run` module):

    plan(cluster, access) -> CephPlan     apply(plan, access, clock) -> Report     verify(cluster, access) -> [Result]

They live in install.py (the charts and HEALTH_OK) and verify.py (read-only checks); this module gathers them.
"""
from labsim.provisioners.ceph.install import CephPlan, Report, apply, plan, provision
from labsim.provisioners.ceph.verify import verify

__all__ = ["CephPlan", "Report", "apply", "plan", "provision", "verify"]
