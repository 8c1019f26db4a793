"""Unknown-field detection for `fieldValidation` (Strict: 400, Warn: a Warning header).

kubectl sends `fieldValidation=Strict` on create, update and patch, so a manifest with a
typo (`imagePullPolicyy`) is refused as by a real API server. Only objects whose field
lists are complete here are checked: ObjectMeta everywhere, Pod, PodSpec and containers.
"""

from __future__ import annotations

from typing import Any

from retina_tui.sandbox.errors import bad_request

META = frozenset(
    [
        "name",
        "generateName",
        "namespace",
        "selfLink",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "labels",
        "annotations",
        "ownerReferences",
        "finalizers",
        "managedFields",
    ]
)
POD = frozenset(["apiVersion", "kind", "metadata", "spec", "status"])
POD_SPEC = frozenset(
    [
        "volumes",
        "initContainers",
        "containers",
        "ephemeralContainers",
        "restartPolicy",
        "terminationGracePeriodSeconds",
        "activeDeadlineSeconds",
        "dnsPolicy",
        "nodeSelector",
        "serviceAccountName",
        "serviceAccount",
        "automountServiceAccountToken",
        "nodeName",
        "hostNetwork",
        "hostPID",
        "hostIPC",
        "shareProcessNamespace",
        "securityContext",
        "imagePullSecrets",
        "hostname",
        "subdomain",
        "affinity",
        "schedulerName",
        "tolerations",
        "hostAliases",
        "priorityClassName",
        "priority",
        "dnsConfig",
        "readinessGates",
        "runtimeClassName",
        "enableServiceLinks",
        "preemptionPolicy",
        "overhead",
        "topologySpreadConstraints",
        "setHostnameAsFQDN",
        "os",
        "hostUsers",
        "schedulingGates",
        "resourceClaims",
        "resources",
        "hostnameOverride",
    ]
)
CONTAINER = frozenset(
    [
        "name",
        "image",
        "command",
        "args",
        "workingDir",
        "ports",
        "envFrom",
        "env",
        "resources",
        "resizePolicy",
        "restartPolicy",
        "restartPolicyRules",
        "volumeMounts",
        "volumeDevices",
        "livenessProbe",
        "readinessProbe",
        "startupProbe",
        "lifecycle",
        "terminationMessagePath",
        "terminationMessagePolicy",
        "imagePullPolicy",
        "securityContext",
        "stdin",
        "stdinOnce",
        "tty",
    ]
)
EPHEMERAL = CONTAINER | {"targetContainerName"}


def _check(value: Any, allowed: frozenset[str], path: str, found: list[str]) -> None:
    if not isinstance(value, dict):
        return
    for key in value:
        if key not in allowed:
            found.append(f"{path}.{key}" if path else key)


def unknown_fields(resource: str, body: Any) -> list[str]:
    """Paths of fields a real API server would not know, e.g. `spec.containers[0].imagee`."""
    found: list[str] = []
    if not isinstance(body, dict):
        return found
    _check(body.get("metadata"), META, "metadata", found)
    if resource != "pods":
        return found
    _check(body, POD, "", found)
    spec = body.get("spec")
    _check(spec, POD_SPEC, "spec", found)
    if isinstance(spec, dict):
        for field, allowed in (
            ("initContainers", CONTAINER),
            ("containers", CONTAINER),
            ("ephemeralContainers", EPHEMERAL),
        ):
            items = spec.get(field)
            if isinstance(items, list):
                for index, container in enumerate(items):
                    _check(container, allowed, f"spec.{field}[{index}]", found)
    return found


def validate(resource: str, kind: str, body: Any, directive: str | None) -> list[str]:
    """Apply a fieldValidation directive: raise for Strict, return warnings for Warn."""
    if directive == "Ignore":
        return []
    if directive not in (None, "", "Warn", "Strict"):
        raise bad_request(
            f'fieldValidation: Unsupported value: "{directive}": supported values: '
            '"Ignore", "Strict", "Warn"'
        )
    found = unknown_fields(resource, body)
    if found and directive == "Strict":
        listed = ", ".join(f'unknown field "{path}"' for path in found)
        raise bad_request(
            f'{kind} in version "v1" cannot be handled as a {kind}: strict decoding error: {listed}'
        )
    return [f'unknown field "{path}"' for path in found]
