"""The JSON types of the fields the sandbox reads, checked before anything is stored.

A field of the wrong JSON type is refused with 400 (as Go's decoder would refuse it), so
stored objects always have the shapes the tables, the scheduler and the kubelet expect.
Fields not listed are not type-checked. `[schema]` is a list of that schema, `MapOf(s)`
an object whose values all have schema `s`, `dict` any object.
"""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]
Schema = Any


class MapOf:
    """Schema of a JSON object whose values all have one schema (labels, nodeSelector)."""

    def __init__(self, value: Schema) -> None:
        self.value = value


STRINGS = [str]
WINDOWS_OPTIONS: Obj = {
    "hostProcess": bool,
    "runAsUserName": str,
    "gmsaCredentialSpecName": str,
    "gmsaCredentialSpec": str,
}
SECURITY_CONTEXT: Obj = {
    "privileged": bool,
    "capabilities": {"add": STRINGS, "drop": STRINGS},
    "runAsUser": int,
    "runAsGroup": int,
    "runAsNonRoot": bool,
    "allowPrivilegeEscalation": bool,
    "readOnlyRootFilesystem": bool,
    "procMount": str,
    "seccompProfile": {"type": str, "localhostProfile": str},
    "appArmorProfile": {"type": str, "localhostProfile": str},
    "windowsOptions": WINDOWS_OPTIONS,
}
CONTAINER: Obj = {
    "name": str,
    "image": str,
    "command": STRINGS,
    "args": STRINGS,
    "workingDir": str,
    "ports": [{"containerPort": int, "hostPort": int, "protocol": str, "name": str}],
    "env": [{"name": str, "value": str}],
    "stdin": bool,
    "stdinOnce": bool,
    "tty": bool,
    "imagePullPolicy": str,
    "securityContext": SECURITY_CONTEXT,
    "targetContainerName": str,
    "volumeMounts": [{"name": str, "mountPath": str, "readOnly": bool}],
    "terminationMessagePath": str,
    "terminationMessagePolicy": str,
    "resources": dict,
}
METADATA: Obj = {
    "name": str,
    "generateName": str,
    "namespace": str,
    "labels": MapOf(str),
    "annotations": MapOf(str),
    "resourceVersion": str,
    "finalizers": STRINGS,
    "uid": str,
    "creationTimestamp": str,
    "deletionTimestamp": str,
    "deletionGracePeriodSeconds": int,
}
CONTAINER_STATUS: Obj = {
    "name": str,
    "image": str,
    "ready": bool,
    "started": bool,
    "restartCount": int,
    "state": {
        "waiting": {"reason": str, "message": str},
        "running": {"startedAt": str},
        "terminated": {"exitCode": int, "signal": int, "reason": str, "message": str},
    },
}
CONDITIONS = [
    {
        "type": str,
        "status": str,
        "reason": str,
        "message": str,
        "lastTransitionTime": str,
        "lastHeartbeatTime": str,
        "lastProbeTime": str,
    }
]
POD_STATUS: Obj = {
    "phase": str,
    "reason": str,
    "message": str,
    "podIP": str,
    "hostIP": str,
    "nominatedNodeName": str,
    "startTime": str,
    "conditions": CONDITIONS,
    "containerStatuses": [CONTAINER_STATUS],
    "initContainerStatuses": [CONTAINER_STATUS],
    "ephemeralContainerStatuses": [CONTAINER_STATUS],
}
POD: Obj = {
    "apiVersion": str,
    "kind": str,
    "metadata": METADATA,
    "spec": {
        "containers": [CONTAINER],
        "initContainers": [CONTAINER],
        "ephemeralContainers": [CONTAINER],
        "nodeName": str,
        "nodeSelector": MapOf(str),
        "hostNetwork": bool,
        "hostPID": bool,
        "hostIPC": bool,
        "shareProcessNamespace": bool,
        "restartPolicy": str,
        "terminationGracePeriodSeconds": int,
        "activeDeadlineSeconds": int,
        "serviceAccountName": str,
        "automountServiceAccountToken": bool,
        "dnsPolicy": str,
        "hostname": str,
        "priority": int,
        "securityContext": {
            "runAsUser": int,
            "runAsGroup": int,
            "runAsNonRoot": bool,
            "seccompProfile": {"type": str, "localhostProfile": str},
            "windowsOptions": WINDOWS_OPTIONS,
        },
        "os": {"name": str},
        "volumes": [{"name": str, "hostPath": {"path": str, "type": str}, "emptyDir": dict}],
        "tolerations": [
            {"key": str, "operator": str, "value": str, "effect": str, "tolerationSeconds": int}
        ],
    },
    "status": POD_STATUS,
}
SIMPLE: Obj = {"apiVersion": str, "kind": str, "metadata": METADATA}
NODE: Obj = {
    **SIMPLE,
    "spec": {
        "podCIDR": str,
        "podCIDRs": STRINGS,
        "unschedulable": bool,
        "taints": [{"key": str, "value": str, "effect": str}],
    },
    "status": {
        "addresses": [{"type": str, "address": str}],
        "conditions": CONDITIONS,
        "nodeInfo": MapOf(str),
        "capacity": MapOf(str),
        "allocatable": MapOf(str),
        "daemonEndpoints": dict,
    },
}
NAMESPACE: Obj = {**SIMPLE, "spec": {"finalizers": STRINGS}, "status": {"phase": str}}
EVENT: Obj = {
    **SIMPLE,
    "involvedObject": {
        "kind": str,
        "name": str,
        "namespace": str,
        "uid": str,
        "apiVersion": str,
        "fieldPath": str,
    },
    "reason": str,
    "message": str,
    "type": str,
    "count": int,
    "firstTimestamp": str,
    "lastTimestamp": str,
    "source": {"component": str, "host": str},
}
LEASE: Obj = {
    **SIMPLE,
    "spec": {
        "holderIdentity": str,
        "leaseDurationSeconds": int,
        "leaseTransitions": int,
        "acquireTime": str,
        "renewTime": str,
    },
}
SCHEMAS: dict[str, Obj] = {
    "pods": POD,
    "leases": LEASE,
    "nodes": NODE,
    "namespaces": NAMESPACE,
    "events": EVENT,
}
