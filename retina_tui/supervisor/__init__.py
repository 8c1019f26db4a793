"""Cleanup supervisor: no debug pod outlives the session that made it.

Each retina-tui process holds a Lease per namespace where it creates debug pods and
renews it while it runs; the reaper deletes labelled debug pods whose instance stopped
renewing. See docs/cleanup.md.
"""

from retina_tui.supervisor.ownership import (
    INSTANCE_ENV,
    INSTANCE_LABEL,
    MANAGED_BY_LABEL,
    MANAGED_BY_VALUE,
    SESSION_LABEL,
    instance_id_from_env,
    lease_name,
    new_instance_id,
)
from retina_tui.supervisor.reaper import Reaper, ReapResult
from retina_tui.supervisor.reconcile import Deletion, plan_deletions
from retina_tui.supervisor.runner import Supervisor

__all__ = [
    "INSTANCE_ENV",
    "INSTANCE_LABEL",
    "MANAGED_BY_LABEL",
    "MANAGED_BY_VALUE",
    "SESSION_LABEL",
    "Deletion",
    "ReapResult",
    "Reaper",
    "Supervisor",
    "instance_id_from_env",
    "lease_name",
    "new_instance_id",
    "plan_deletions",
]
