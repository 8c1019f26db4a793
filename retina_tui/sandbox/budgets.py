"""PodDisruptionBudgets: their status, and whether an eviction may go ahead.

The status is computed as kube-controller-manager's disruption controller does for pods
without a scalable controller: the expected pods are the pods the selector picks,
`desiredHealthy` comes from `minAvailable` or `maxUnavailable` (percentages round up),
`currentHealthy` counts those that are Ready and not being deleted, and
`disruptionsAllowed` is the difference. An eviction computes it afresh, so a pod just
evicted (now terminating) already counts as gone for the next one.
"""

from __future__ import annotations

import math
from typing import Any

from retina_tui.sandbox.controller import Controller
from retina_tui.sandbox.errors import ApiError
from retina_tui.sandbox.netpol import selector_matches
from retina_tui.sandbox.store import Obj, Store, now_iso

VIOLATION = "Cannot evict pod as it would violate the pod's disruption budget."


def _ready(pod: Obj) -> bool:
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            return bool(condition.get("status") == "True")
    return False


def _healthy(pod: Obj) -> bool:
    return _ready(pod) and not pod["metadata"].get("deletionTimestamp")


def _selects(budget: Obj, pod: Obj) -> bool:
    selector = (budget.get("spec") or {}).get("selector")
    if not isinstance(selector, dict):
        return False  # policy/v1: a missing selector selects nothing, an empty one all
    return selector_matches(selector, pod["metadata"].get("labels") or {})


def _amount(value: Any, total: int) -> int:
    """An int-or-percent of `total`, rounded up as the controller does."""
    if isinstance(value, str) and value.endswith("%") and value[:-1].isdigit():
        return math.ceil(int(value[:-1]) * total / 100)
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def compute_status(store: Store, budget: Obj) -> dict[str, Any]:
    """The status the disruption controller would write for `budget`."""
    namespace = budget["metadata"].get("namespace", "")
    pods = [p for p in store.list("pods", namespace) if _selects(budget, p)]
    spec = budget.get("spec") or {}
    expected = len(pods)
    if spec.get("maxUnavailable") is not None:
        desired = max(0, expected - _amount(spec["maxUnavailable"], expected))
    else:
        desired = _amount(spec.get("minAvailable", 0), expected)
    healthy = sum(1 for p in pods if _healthy(p))
    allowed = max(0, healthy - desired)
    previous = {c.get("type"): c for c in (budget.get("status") or {}).get("conditions") or []}.get(
        "DisruptionAllowed", {}
    )
    state = "True" if allowed > 0 else "False"
    condition = {
        "type": "DisruptionAllowed",
        "status": state,
        "reason": "SufficientPods" if allowed > 0 else "InsufficientPods",
        "message": "",
        "observedGeneration": budget["metadata"].get("generation", 1),
        "lastTransitionTime": previous.get("lastTransitionTime")
        if previous.get("status") == state
        else now_iso(),
    }
    return {
        "observedGeneration": budget["metadata"].get("generation", 1),
        "disruptionsAllowed": allowed,
        "currentHealthy": healthy,
        "desiredHealthy": desired,
        "expectedPods": expected,
        "conditions": [condition],
    }


def admit_eviction(store: Store, pod: Obj) -> None:
    """Raise the API server's refusal if the budget covering `pod` forbids evicting it."""
    namespace = pod["metadata"].get("namespace", "")
    budgets = [b for b in store.list("poddisruptionbudgets", namespace) if _selects(b, pod)]
    if len(budgets) > 1:
        raise ApiError(
            500,
            "InternalError",
            "This pod has more than one PodDisruptionBudget, which the eviction subresource "
            "does not support.",
        )
    if not budgets:
        return
    budget = budgets[0]
    status = compute_status(store, budget)
    if not _ready(pod):
        policy = (budget.get("spec") or {}).get("unhealthyPodEvictionPolicy")
        if policy == "AlwaysAllow" or (
            status["desiredHealthy"] > 0 and status["currentHealthy"] >= status["desiredHealthy"]
        ):
            return
    if status["disruptionsAllowed"] == 0:
        name = budget["metadata"]["name"]
        raise ApiError(
            429,
            "TooManyRequests",
            VIOLATION,
            causes=[
                {
                    "reason": "DisruptionBudget",
                    "message": f"The disruption budget {name} needs "
                    f"{status['desiredHealthy']} healthy pods and has "
                    f"{status['currentHealthy']} currently",
                }
            ],
        )


class DisruptionController(Controller):
    """Keeps every PodDisruptionBudget's status in step with its pods."""

    name = "disruption-controller"
    resources = ("pods", "poddisruptionbudgets")

    async def sync(self) -> None:
        for budget in self.store.list("poddisruptionbudgets"):
            status = compute_status(self.store, budget)
            if budget.get("status") == status:
                continue

            def write(target: Obj, status: dict[str, Any] = status) -> None:
                target["status"] = status

            meta = budget["metadata"]
            self.store.mutate("poddisruptionbudgets", meta.get("namespace"), meta["name"], write)
