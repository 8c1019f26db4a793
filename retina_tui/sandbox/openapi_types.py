"""OpenAPI v3 component schemas of the served kinds, built from the schemas the sandbox decodes.

`kubectl explain` walks these (`x-kubernetes-group-version-kind` finds the kind, `$ref`s
the nested types) and client-side `kubectl apply` reads the list extensions to build
strategic merge patches. The structure comes from `protoschema` (the core/v1 messages)
and `schemas` (nodes, events, leases); kinds neither describes get their top-level fields
only. Descriptions are the Kubernetes ones, for the fields people look up most.
"""

from __future__ import annotations

import functools
from typing import Any

from retina_tui.sandbox import managedfields, protoschema, schemas
from retina_tui.sandbox.discovery import RESOURCES
from retina_tui.sandbox.patch import KIND_MERGE_KEYS, MERGE_KEYS

Obj = dict[str, Any]
CORE = "io.k8s.api.core.v1."
META = "io.k8s.apimachinery.pkg.apis.meta.v1."
INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
_META_MESSAGES = frozenset({"ObjectMeta", "OwnerReference"})
_SCALARS = {
    "string": {"type": "string"},
    "int": {"type": "integer", "format": "int32"},
    "bool": {"type": "boolean"},
    "time": {"type": "string", "format": "date-time"},
}
# Fields of objects the sandbox does not decode but kubectl users set (type only).
_EXTRA_FIELDS: dict[str, dict[str, Obj]] = {
    "Container": {
        name: {"type": "array", "items": {"type": "object"}}
        for name in ("envFrom", "resizePolicy", "restartPolicyRules", "volumeDevices")
    }
    | {
        name: {"type": "object"}
        for name in ("livenessProbe", "readinessProbe", "startupProbe", "lifecycle")
    },
}
_REQUIRED = {
    "Container": ["name"],
    "ContainerPort": ["containerPort"],
    "EnvVar": ["name"],
    "PodSpec": ["containers"],
    "ServicePort": ["port"],
    "Volume": ["name"],
    "VolumeMount": ["name", "mountPath"],
    "Toleration": [],
}
_API_VERSION = (
    "APIVersion defines the versioned schema of this representation of an object. Servers "
    "should convert recognized schemas to the latest internal value, and may reject "
    "unrecognized values. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources"
)
_KIND = (
    "Kind is a string value representing the REST resource this object represents. Servers "
    "may infer this from the endpoint the client submits requests to. Cannot be updated. In "
    "CamelCase. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds"
)
_METADATA = (
    "Standard object's metadata. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
)
_SPEC_STATUS = (
    "https://git.k8s.io/community/contributors/devel/sig-architecture/"
    "api-conventions.md#spec-and-status"
)
DESCRIPTIONS: dict[str, dict[str, str]] = {
    "Pod": {
        "": "Pod is a collection of containers that can run on a host. This resource is "
        "created by clients and scheduled onto hosts.",
        "spec": f"Specification of the desired behavior of the pod. More info: {_SPEC_STATUS}",
        "status": "Most recently observed status of the pod. This data may not be up to date. "
        f"Populated by the system. Read-only. More info: {_SPEC_STATUS}",
    },
    "PodSpec": {
        "": "PodSpec is a description of a pod.",
        "containers": "List of containers belonging to the pod. Containers cannot currently "
        "be added or removed. There must be at least one container in a Pod. Cannot be "
        "updated.",
        "initContainers": "List of initialization containers belonging to the pod. Init "
        "containers are executed in order prior to containers being started.",
        "ephemeralContainers": "List of ephemeral containers run in this pod. Ephemeral "
        "containers may be run in an existing pod to perform user-initiated actions such as "
        "debugging. This list cannot be specified when creating a pod, and it cannot be "
        "modified by updating the pod spec. In order to add an ephemeral container to an "
        "existing pod, use the pod's ephemeralcontainers subresource.",
        "nodeName": "NodeName indicates in which node this pod is scheduled. If empty, this "
        "pod is a candidate for scheduling by the scheduler defined in schedulerName.",
        "restartPolicy": "Restart policy for all containers within the pod. One of Always, "
        "OnFailure, Never. Default to Always.",
        "volumes": "List of volumes that can be mounted by containers belonging to the pod.",
        "hostNetwork": "Host networking requested for this pod. Use the host's network "
        "namespace. Default to false.",
    },
    "Container": {
        "": "A single application container that you want to run within a pod.",
        "name": "Name of the container specified as a DNS_LABEL. Each container in a pod "
        "must have a unique name (DNS_LABEL). Cannot be updated.",
        "image": "Container image name. More info: "
        "https://kubernetes.io/docs/concepts/containers/images",
        "command": "Entrypoint array. Not executed within a shell. The container image's "
        "ENTRYPOINT is used if this is not provided.",
        "args": "Arguments to the entrypoint. The container image's CMD is used if this is "
        "not provided.",
        "workingDir": "Container's working directory. If not specified, the container "
        "runtime's default will be used, which might be configured in the container image. "
        "Cannot be updated.",
        "ports": "List of ports to expose from the container. Not specifying a port here DOES "
        "NOT prevent that port from being exposed. Cannot be updated.",
        "env": "List of environment variables to set in the container. Cannot be updated.",
        "imagePullPolicy": "Image pull policy. One of Always, Never, IfNotPresent. Defaults "
        "to Always if :latest tag is specified, or IfNotPresent otherwise. Cannot be updated.",
        "resources": "Compute Resources required by this container. Cannot be updated.",
        "securityContext": "SecurityContext defines the security options the container "
        "should be run with.",
        "volumeMounts": "Pod volumes to mount into the container's filesystem. Cannot be updated.",
        "stdin": "Whether this container should allocate a buffer for stdin in the container "
        "runtime. If this is not set, reads from stdin in the container will always result "
        "in EOF. Default is false.",
        "tty": "Whether this container should allocate a TTY for itself, also requires "
        "'stdin' to be true. Default is false.",
    },
    "ContainerPort": {
        "": "ContainerPort represents a network port in a single container.",
        "containerPort": "Number of port to expose on the pod's IP address. This must be a "
        "valid port number, 0 < x < 65536.",
        "hostPort": "Number of port to expose on the host. If specified, this must be a "
        "valid port number, 0 < x < 65536.",
        "name": "If specified, this must be an IANA_SVC_NAME and unique within the pod. Each "
        "named port in a pod must have a unique name. Name for the port that can be "
        "referred to by services.",
        "protocol": 'Protocol for port. Must be UDP, TCP, or SCTP. Defaults to "TCP".',
    },
    "EnvVar": {
        "": "EnvVar represents an environment variable present in a Container.",
        "name": "Name of the environment variable.",
        "value": "Variable references $(VAR_NAME) are expanded using the previously defined "
        "environment variables in the container and any service environment variables. "
        'Defaults to "".',
    },
    "Service": {
        "": "Service is a named abstraction of software service (for example, mysql) "
        "consisting of local port (for example 3306) that the proxy listens on, and the "
        "selector that determines which pods will answer requests sent through the proxy.",
        "spec": f"Spec defines the behavior of a service. More info: {_SPEC_STATUS}",
        "status": "Most recently observed status of the service. Populated by the system. "
        f"Read-only. More info: {_SPEC_STATUS}",
    },
    "ServiceSpec": {
        "": "ServiceSpec describes the attributes that a user creates on a service.",
        "ports": "The list of ports that are exposed by this service. More info: "
        "https://kubernetes.io/docs/concepts/services-networking/service/"
        "#virtual-ips-and-service-proxies",
        "selector": "Route service traffic to pods with label keys and values matching this "
        "selector. If empty or not present, the service is assumed to have an external "
        "process managing its endpoints, which Kubernetes will not modify.",
        "clusterIP": "clusterIP is the IP address of the service and is usually assigned randomly.",
        "type": "type determines how the Service is exposed. Defaults to ClusterIP. Valid "
        "options are ExternalName, ClusterIP, NodePort, and LoadBalancer.",
    },
    "ServicePort": {
        "": "ServicePort contains information on service's port.",
        "name": "The name of this port within the service. This must be a DNS_LABEL. All "
        "ports within a ServiceSpec must have unique names.",
        "protocol": 'The IP protocol for this port. Supports "TCP", "UDP", and "SCTP". '
        "Default is TCP.",
        "port": "The port that will be exposed by this service.",
        "targetPort": "Number or name of the port to access on the pods targeted by the "
        "service. Number must be in the range 1 to 65535. Name must be an IANA_SVC_NAME. If "
        "this is a string, it will be looked up as a named port in the target Pod's "
        "container ports. If this is not specified, the value of the 'port' field is used "
        "(an identity map).",
        "nodePort": "The port on each node on which this service is exposed when type is "
        "NodePort or LoadBalancer.",
        "appProtocol": "The application protocol for this port. This is used as a hint for "
        "implementations to offer richer behavior for protocols that they understand.",
    },
    "ObjectMeta": {
        "": "ObjectMeta is metadata that all persisted resources must have, which includes "
        "all objects users must create.",
        "name": "Name must be unique within a namespace. Is required when creating "
        "resources, although some resources may allow a client to request the generation "
        "of an appropriate name automatically. Cannot be updated.",
        "namespace": "Namespace defines the space within which each name must be unique. An "
        'empty namespace is equivalent to the "default" namespace.',
        "labels": "Map of string keys and values that can be used to organize and categorize "
        "(scope and select) objects. May match selectors of replication controllers and "
        "services.",
        "annotations": "Annotations is an unstructured key value map stored with a resource "
        "that may be set by external tools to store and retrieve arbitrary metadata. They "
        "are not queryable and should be preserved when modifying objects.",
        "managedFields": "ManagedFields maps workflow-id and version to the set of fields "
        "that are managed by that workflow. This is mostly for internal housekeeping, and "
        "users typically shouldn't need to set or understand this field.",
    },
    "IntOrString": {
        "": "IntOrString is a type that can hold an int32 or a string.",
    },
}


def ref(name: str, description: str = "") -> Obj:
    """A reference to a component schema, the way Kubernetes documents write it."""
    schema: Obj = {"allOf": [{"$ref": f"#/components/schemas/{name}"}]}
    if description:
        schema["description"] = description
    return schema


def _full_name(message: str) -> str:
    if message in _META_MESSAGES:
        return META + message
    return CORE + message


class Builder:
    """Collects the component schemas reachable from the served kinds."""

    def __init__(self) -> None:
        self.schemas: dict[str, Obj] = {
            INT_OR_STRING: {
                "oneOf": [{"type": "integer"}, {"type": "string"}],
                "format": "int-or-string",
                "description": DESCRIPTIONS["IntOrString"][""],
            },
            QUANTITY: {
                "oneOf": [{"type": "string"}, {"type": "number"}],
                "description": "Quantity is a fixed-point representation of a number.",
            },
            META + "ManagedFieldsEntry": {
                "type": "object",
                "description": "ManagedFieldsEntry is a workflow-id, a FieldSet and the group "
                "version of the resource that the fieldset applies to.",
                "properties": {
                    name: {"type": "string"}
                    for name in (
                        "apiVersion",
                        "fieldsType",
                        "manager",
                        "operation",
                        "subresource",
                        "time",
                    )
                }
                | {"fieldsV1": {"type": "object"}},
            },
        }

    def message(self, message: str, rename: str = "") -> str:
        """The component name of a protoschema message, built on first use."""
        name = _full_name(rename or message)
        if name in self.schemas:
            return name
        self.schemas[name] = {}
        short = rename or message
        properties: Obj = {}
        for field, kind in _fields(message):
            properties[field] = self._kind(kind, message, field)
        for field, schema in _EXTRA_FIELDS.get(short, {}).items():
            properties.setdefault(field, schema)
        if short == "ObjectMeta":
            properties["managedFields"] = {
                "type": "array",
                "items": ref(META + "ManagedFieldsEntry"),
            }
        self.schemas[name] = _object(short, properties)
        return name

    def _kind(self, kind: str, message: str, field: str) -> Obj:
        description = DESCRIPTIONS.get(message, {}).get(field, "") if field else ""
        optional = kind.rstrip("?")
        if optional.endswith("[]"):
            items = self._kind(optional[:-2], message, "")
            schema: Obj = {"type": "array", "items": items}
            schema.update(_list_extensions(message, field))
        elif optional.startswith("map:"):
            value = self._kind(optional[4:], message, "")
            schema = {"type": "object", "additionalProperties": value}
        elif optional in _SCALARS:
            schema = dict(_SCALARS[optional])
        elif optional == "intstr":
            return ref(INT_OR_STRING, description)
        elif optional == "quantity":
            return ref(QUANTITY, description)
        elif optional == "skip":
            schema = {"type": "object"}
        else:
            rename = _PROFILE_NAMES.get(field, "") if optional == "ProfileRef" else ""
            return ref(self.message(optional, rename), description)
        if description:
            schema["description"] = description
        return schema

    def kind(self, group: str, kind: str) -> str:
        """The component name of a served kind, tagged with its group-version-kind."""
        version = RESOURCES_BY_KIND[(group, kind)]
        prefix = f"io.k8s.api.{group.split('.')[0]}.{version['version']}." if group else CORE
        if group == "" and kind in protoschema.MESSAGES:
            name = self.message(kind)
            if kind in _STATUS:
                properties = self.schemas[name]["properties"]
                properties["status"] = self._python(_STATUS[kind], kind, "status")
        else:
            name = prefix + kind
            self.schemas[name] = self._from_python(kind, _python_schema(kind))
        schema = self.schemas[name]
        schema["properties"]["apiVersion"] = {"type": "string", "description": _API_VERSION}
        schema["properties"]["kind"] = {"type": "string", "description": _KIND}
        schema["properties"]["metadata"] = ref(self.message("ObjectMeta"), _METADATA)
        schema["x-kubernetes-group-version-kind"] = [dict(version)]
        return name

    def _from_python(self, kind: str, shape: Obj) -> Obj:
        properties = {
            field: self._python(value, kind, field)
            for field, value in shape.items()
            if field not in ("apiVersion", "kind", "metadata")
        }
        return _object(kind, properties)

    def _python(self, value: Any, owner: str, field: str) -> Obj:
        description = DESCRIPTIONS.get(owner, {}).get(field, "") if field else ""
        if isinstance(value, dict):
            schema = _object(
                "", {name: self._python(child, "", name) for name, child in value.items()}
            )
        elif isinstance(value, list):
            schema = {"type": "array", "items": self._python(value[0], "", "")}
        elif isinstance(value, schemas.MapOf):
            schema = {"type": "object", "additionalProperties": self._python(value.value, "", "")}
        elif value is dict:
            schema = {"type": "object"}
        else:
            schema = dict(_SCALARS[{str: "string", int: "int", bool: "bool"}[value]])
        if description:
            schema["description"] = description
        return schema


_PROFILE_NAMES = {"seccompProfile": "SeccompProfile", "appArmorProfile": "AppArmorProfile"}
_STATUS = {"Pod": schemas.POD_STATUS, "Namespace": schemas.NAMESPACE["status"]}
_TOP_LEVEL: dict[str, Obj] = {
    "Endpoints": {"subsets": [dict]},
    "EndpointSlice": {"addressType": str, "endpoints": [dict], "ports": [dict]},
    "NetworkPolicy": {"spec": dict},
    "SelfSubjectAccessReview": {"spec": dict, "status": dict},
}
RESOURCES_BY_KIND = {
    (r.group, r.kind): {"group": r.group, "version": r.version, "kind": r.kind}
    for r in RESOURCES
    if "/" not in r.name
}


def _python_schema(kind: str) -> Obj:
    for resource, shape in schemas.SCHEMAS.items():
        if shape.get("kind") is str and _kind_of(resource) == kind:
            return shape
    return _TOP_LEVEL.get(kind, {})


def _kind_of(resource: str) -> str:
    return next((r.kind for r in RESOURCES if r.name == resource), "")


def _fields(message: str) -> list[tuple[str, str]]:
    """A message's (JSON name, kind) pairs, inlined messages flattened."""
    result = []
    for _, (field, kind) in sorted(protoschema.MESSAGES[message].items()):
        if kind.startswith("inline:"):
            result.extend(_fields(kind.removeprefix("inline:")))
        else:
            result.append((field, kind))
    return result


def _object(short: str, properties: Obj) -> Obj:
    schema: Obj = {"type": "object", "properties": dict(sorted(properties.items()))}
    description = DESCRIPTIONS.get(short, {}).get("")
    if description:
        schema["description"] = description
    required = _REQUIRED.get(short)
    if required:
        schema["required"] = required
    return schema


def _list_extensions(message: str, field: str) -> Obj:
    """x-kubernetes list and patch extensions, matching the server's merges."""
    extensions: Obj = {}
    if message == "ServiceSpec" and field == "ports":
        keys: tuple[str, ...] | None = ("port", "protocol")
        merge_key: str | None = KIND_MERGE_KEYS["Service"]["ports"]
    elif field == "ports" and message in ("Container", "EphemeralContainer"):
        keys, merge_key = ("containerPort", "protocol"), MERGE_KEYS["ports"]
    elif field == "ports":
        keys, merge_key = None, None
    else:
        keys, merge_key = managedfields.LIST_KEYS.get(field), MERGE_KEYS.get(field)
    if keys:
        extensions["x-kubernetes-list-type"] = "map"
        extensions["x-kubernetes-list-map-keys"] = list(keys)
    elif field == "finalizers":
        extensions["x-kubernetes-list-type"] = "set"
    else:
        extensions["x-kubernetes-list-type"] = "atomic"
    if merge_key:
        extensions["x-kubernetes-patch-merge-key"] = merge_key
        strategy = "merge,retainKeys" if field == "volumes" else "merge"
        extensions["x-kubernetes-patch-strategy"] = strategy
    return extensions


@functools.cache
def components(group: str) -> dict[str, Obj]:
    """The component schemas of one group's kinds and everything they reference."""
    builder = Builder()
    for group_name, kind in RESOURCES_BY_KIND:
        if group_name == group:
            builder.kind(group, kind)
    return dict(sorted(builder.schemas.items()))
