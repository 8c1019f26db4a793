"""What the API server does to a new pod before storing it: defaults and scheduling.

Defaults are the ones the real API server fills in (restartPolicy, dnsPolicy,
imagePullPolicy, termination message fields...) so that `kubectl get -o yaml` and the
strategic-merge patches kubectl computes look as they would on a real cluster. The
"scheduler" places a pod without `spec.nodeName` on the Ready node, matching its
nodeSelector, that runs the fewest pods.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from retina_tui.sandbox.store import Store, now_iso

Obj = dict[str, Any]


def _pull_policy(image: str) -> str:
    last = image.rsplit("/", 1)[-1]
    if "@" in last:
        return "IfNotPresent"
    if ":" not in last or last.endswith(":latest"):
        return "Always"
    return "IfNotPresent"


def default_container(container: Obj) -> None:
    """Fill in a container's defaults in place."""
    container.setdefault("imagePullPolicy", _pull_policy(str(container.get("image") or "")))
    container.setdefault("terminationMessagePath", "/dev/termination-log")
    container.setdefault("terminationMessagePolicy", "File")
    container.setdefault("resources", {})


def default_pod(pod: Obj) -> None:
    """Fill in a new pod's defaults in place and reset its status."""
    if not isinstance(pod.get("spec"), dict):
        pod["spec"] = {}
    spec = pod["spec"]
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("securityContext", {})
    spec.setdefault("serviceAccountName", "default")
    spec.setdefault("enableServiceLinks", True)
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
    spec.setdefault("priority", 0)
    spec.setdefault(
        "tolerations",
        [
            {
                "key": "node.kubernetes.io/not-ready",
                "operator": "Exists",
                "effect": "NoExecute",
                "tolerationSeconds": 300,
            },
            {
                "key": "node.kubernetes.io/unreachable",
                "operator": "Exists",
                "effect": "NoExecute",
                "tolerationSeconds": 300,
            },
        ],
    )
    for field in ("initContainers", "containers", "ephemeralContainers"):
        for container in spec.get(field) or []:
            if isinstance(container, dict):
                default_container(container)
    pod["status"] = {"phase": "Pending", "qosClass": "BestEffort"}
    pod["apiVersion"] = "v1"
    pod["kind"] = "Pod"


def _ready(node: Obj) -> bool:
    for condition in (node.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            return bool(condition.get("status") == "True")
    return False


def schedule(store: Store, pod: Obj) -> None:
    """Set spec.nodeName to the least loaded matching Ready node (if any and unset)."""
    spec = pod.get("spec") or {}
    if spec.get("nodeName"):
        return
    selector = spec.get("nodeSelector") or {}
    candidates = []
    for node in store.list("nodes"):
        labels = node["metadata"].get("labels") or {}
        if (node.get("spec") or {}).get("unschedulable") or not _ready(node):
            continue
        if all(labels.get(k) == v for k, v in selector.items()):
            candidates.append(node["metadata"]["name"])
    if not candidates:
        return
    load = Counter((p.get("spec") or {}).get("nodeName") for p in store.list("pods"))
    spec["nodeName"] = min(candidates, key=lambda name: (load[name], name))
    pod["status"]["conditions"] = [
        {
            "type": "PodScheduled",
            "status": "True",
            "lastProbeTime": None,
            "lastTransitionTime": now_iso(),
        }
    ]
